#!/usr/bin/env bash
# Run the crashkey test suites and print one final "N passed, N failed" line.
#   tests/run-all.sh [--host | --matrix] [arch...]
#       (default: every suite; the QEMU matrix for the given arches, default x86_64)
#       --host    only the suites that need no QEMU (CI's host job)
#       --matrix  only the QEMU matrix (CI's per-arch jobs)
# Each suite prints TAP. A suite passes only if its TAP plan matches its test lines; a
# skipped test, a "Bail out!", a missing plan or a non-zero exit counts as a failure.
# Logs, JUnit XML (junit/) and the summary table go to $CRASHKEY_CACHE/test-logs, or to
# $CRASHKEY_TEST_LOGS: the ci-local suite's make check-host runs this script inside this
# one, and must not clear this run's logs.
# CRASHKEY_SKIP_CI_LOCAL=1 leaves out the ci-local suite (the host job of .gitlab-ci.yml
# run by gitlab-ci-local, which runs make check-host, the host suites, a second time).
set -uo pipefail
unset MAKEFLAGS MAKEOVERRIDES MFLAGS MAKELEVEL
TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CRASHKEY_CACHE:-/var/cache/crashkey}
# Host build output, one directory per checkout: make's dependency files name the sources
# by absolute path, and those of another clone (CI's, say) stop make when it is gone.
HOST_BUILD=$CACHE/build/host-$(printf '%s' "$TOP" | cksum | cut -d' ' -f1)
export HOST_BUILD
LOGDIR=${CRASHKEY_TEST_LOGS:-$CACHE/test-logs}
HOST=1 MATRIX=1
case "${1:-}" in
--host) MATRIX=0; shift ;;
--matrix) HOST=0; shift ;;
esac
ARCHES=("${@:-x86_64}")
mkdir -p "$LOGDIR/junit"
rm -f "$LOGDIR"/*.log "$LOGDIR"/junit/*.xml

# run_suite NAME COMMAND...: the suite's TAP goes to its log (and to the terminal unless
# QUIET=1); its verdict, "PASSED FAILED SECONDS", to NAME.counts.
run_suite() {
	local name=$1 log=$LOGDIR/$1.log t0 status counts
	shift
	t0=$(date +%s)
	if [ "${QUIET:-0}" = 1 ]; then
		"$@" > "$log" 2>&1
		status=$?
	else
		printf '\n=== %s\n' "$name"
		"$@" 2>&1 | tee "$log"
		status=${PIPESTATUS[0]}
	fi
	counts=$("$TOP/tests/tap-verdict.sh" "$log" "$status" 2> "$log.verdict")
	cat "$log.verdict" >> "$log"
	rm -f "$log.verdict"
	"$TOP/tests/tap2junit.py" "$name" "$status" < "$log" > "$LOGDIR/junit/$name.xml" 2>/dev/null ||
		rm -f "$LOGDIR/junit/$name.xml"
	echo "$counts $(($(date +%s) - t0))" > "$LOGDIR/$name.counts"
	if [ "${QUIET:-0}" = 1 ]; then
		printf '=== %s: %s passed, %s failed (%ss; log: %s)\n' "$name" "${counts% *}" \
			"${counts#* }" $(($(date +%s) - t0)) "$log"
		grep '^not ok' "$log" || true
	else
		grep '^not ok - ' "$log" || true
	fi
}

tool_suite() {
	make -s -C "$TOP/tools/crashkey" O="$HOST_BUILD/tool" &&
		"$TOP/tests/tool/run.sh" "$HOST_BUILD/tool/crashkey"
}

host_suites() {
	run_suite static "$TOP/tests/static-checks.sh"
	run_suite matrix-selftest "$TOP/tests/matrix-selftest.sh"
	run_suite bench-selftest "$TOP/tests/bench-selftest.sh"
	run_suite helpers-selftest "$TOP/tests/helpers-selftest.sh"
	run_suite ci-engines "$TOP/tests/ci-engines-check.sh"
	run_suite unchanged-selftest "$TOP/tests/unchanged-selftest.sh"
	run_suite ksrc-selftest "$TOP/tests/ksrc-selftest.sh"
	run_suite host-unit make -s -C "$TOP/tests/host" check O="$HOST_BUILD/unit"
	run_suite tool tool_suite
	run_suite deb "$TOP/tests/deb-check.sh"
	[ "$CI_LOCAL" = 0 ] || run_suite ci-local "$TOP/ci-matrix/ci-local.sh" --tap host-tests
}

rm -f "$LOGDIR"/*.counts
CI_LOCAL=1
[ "${CRASHKEY_SKIP_CI_LOCAL:-0}" != 1 ] || CI_LOCAL=0
suites=()
[ "$HOST" = 0 ] || suites+=(static matrix-selftest bench-selftest helpers-selftest ci-engines unchanged-selftest
	ksrc-selftest host-unit tool deb)
[ "$HOST" = 0 ] || [ "$CI_LOCAL" = 0 ] || suites+=(ci-local)
[ "$MATRIX" = 0 ] || suites+=(matrix)
if [ "$MATRIX" = 1 ]; then
	# The matrix starts at once (its first kernel build is the longest wait); the host
	# suites run meanwhile, quietly, each reporting one line and its failures.
	run_suite matrix "$TOP/ci-matrix/run.sh" "${ARCHES[@]}" &
	matrix=$!
	[ "$HOST" = 0 ] || QUIET=1 host_suites
	wait "$matrix"
else
	host_suites
fi

printf '\n=== summary\n'
passed=0
failed=0
summary=()
for name in "${suites[@]}"; do
	# A suite that died before its verdict counts as a failure.
	read -r p f secs < "$LOGDIR/$name.counts" || { p=0 f=1 secs=-; }
	passed=$((passed + p))
	failed=$((failed + f))
	summary+=("$(printf '%-16s %4d passed %4d failed %5ss' "$name" "$p" "$f" "$secs")")
done
printf '%s\n' "${summary[@]}" "$passed passed, $failed failed" | tee "$LOGDIR/summary.txt"
[ "$failed" = 0 ]
