#!/usr/bin/env bash
# Run every crashkey test suite and print one final "N passed, N failed" line.
#   tests/run-all.sh [arch...]      arches for the QEMU matrix (default: x86_64)
# Each suite prints TAP ("ok N - ..." / "not ok N - ..."); the counts are summed here.
set -uo pipefail
unset MAKEFLAGS MAKEOVERRIDES MFLAGS MAKELEVEL
TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CRASHKEY_CACHE:-/var/cache/crashkey}
ARCHES=("${@:-x86_64}")
LOGDIR=$CACHE/test-logs
mkdir -p "$LOGDIR"
passed=0
failed=0
summary=()

run_suite() {	# run_suite NAME COMMAND...
	local name=$1 log=$LOGDIR/$1.log t0 status=0 p f
	shift
	printf '\n=== %s\n' "$name"
	t0=$(date +%s)
	"$@" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$status" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $name exited with status $status"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	summary+=("$(printf '%-14s %4d passed %4d failed %5ds' "$name" "$p" "$f" $(($(date +%s) - t0)))")
}

run_suite static "$TOP/tests/static-checks.sh"
run_suite host-unit make -s -C "$TOP/tests/host" check O="$CACHE/build/host"
tool_suite() {
	make -s -C "$TOP/tools/crashkey" O="$CACHE/build/host/tool" &&
		"$TOP/tests/tool/run.sh" "$CACHE/build/host/tool/crashkey"
}

run_suite tool tool_suite
run_suite matrix "$TOP/ci-matrix/run.sh" "${ARCHES[@]}"

printf '\n=== summary\n'
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
