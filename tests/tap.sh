# shellcheck shell=bash
# TAP for the test scripts here: source it, call tap for each test, tap_done at the end.
n=0
failed=0

tap() {	# tap STATUS NAME [OUTPUT]: STATUS 0 passes; OUTPUT (30 lines) explains a failure
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		failed=1
		echo "not ok $n - $2"
		[ -z "${3:-}" ] || printf '%s\n' "$3" | head -n 30 | sed 's/^/# /'
	fi
}

tap_done() {	# the plan, and the exit status
	echo "1..$n"
	exit "$failed"
}
