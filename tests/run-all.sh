#!/usr/bin/env bash
# Run the crashkey test suites and print one final "N passed, N failed" line.
#   tests/run-all.sh [--host | --matrix] [arch...]
#       (default: every suite; the QEMU matrix for the given arches, default x86_64)
#       --host    only the suites that need no QEMU (CI's host job)
#       --matrix  only the QEMU matrix (CI's per-arch jobs)
# Each suite prints TAP. A suite passes only if its TAP plan matches its test lines; a
# skipped test, a "Bail out!", a missing plan or a non-zero exit counts as a failure.
# Logs, JUnit XML (junit/) and the summary table go to $CRASHKEY_CACHE/test-logs.
set -uo pipefail
unset MAKEFLAGS MAKEOVERRIDES MFLAGS MAKELEVEL
TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CRASHKEY_CACHE:-/var/cache/crashkey}
LOGDIR=$CACHE/test-logs
HOST=1 MATRIX=1
case "${1:-}" in
--host) MATRIX=0; shift ;;
--matrix) HOST=0; shift ;;
esac
ARCHES=("${@:-x86_64}")
mkdir -p "$LOGDIR/junit"
rm -f "$LOGDIR"/*.log "$LOGDIR"/junit/*.xml
passed=0
failed=0
summary=()

run_suite() {	# run_suite NAME COMMAND...
	local name=$1 log=$LOGDIR/$1.log t0 status counts
	shift
	printf '\n=== %s\n' "$name"
	t0=$(date +%s)
	"$@" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	counts=$("$TOP/tests/tap-verdict.sh" "$log" "$status" 2> "$log.verdict")
	tee -a "$log" < "$log.verdict"
	rm -f "$log.verdict"
	passed=$((passed + ${counts% *}))
	failed=$((failed + ${counts#* }))
	"$TOP/tests/tap2junit.py" "$name" < "$log" > "$LOGDIR/junit/$name.xml" 2>/dev/null ||
		rm -f "$LOGDIR/junit/$name.xml"
	summary+=("$(printf '%-16s %4d passed %4d failed %5ds' "$name" "${counts% *}" \
		"${counts#* }" $(($(date +%s) - t0)))")
}

tool_suite() {
	make -s -C "$TOP/tools/crashkey" O="$CACHE/build/host/tool" &&
		"$TOP/tests/tool/run.sh" "$CACHE/build/host/tool/crashkey"
}

if [ "$HOST" = 1 ]; then
	run_suite static "$TOP/tests/static-checks.sh"
	run_suite matrix-selftest "$TOP/tests/matrix-selftest.sh"
	run_suite ci-engines "$TOP/tests/ci-engines-check.sh"
	run_suite host-unit make -s -C "$TOP/tests/host" check O="$CACHE/build/host"
	run_suite tool tool_suite
fi
[ "$MATRIX" = 0 ] || run_suite matrix "$TOP/ci-matrix/run.sh" "${ARCHES[@]}"

printf '\n=== summary\n'
printf '%s\n' "${summary[@]}" | tee "$LOGDIR/summary.txt"
echo "$passed passed, $failed failed" | tee -a "$LOGDIR/summary.txt"
[ "$failed" = 0 ]
