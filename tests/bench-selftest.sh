#!/usr/bin/env bash
# make bench's own logic, tested without QEMU: the search (ci-matrix/bench.sh) against
# made-up outcomes per size (a clean boundary, windows off the mark, a flaky size at
# either end, broken boots), what a failed boot's console is taken for, and the tables
# (ci-matrix/bench-report.py) from made-up artifacts, including the check that the
# README's tables are what the data gives. Prints TAP.
set -euo pipefail	# as in ci-matrix/run.sh, which sources bench.sh
TOP=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
CRASHKEY_TOP=$TOP BENCH_OUT=$SCRATCH/out
# shellcheck source=ci-matrix/bench.sh
. "$TOP/ci-matrix/bench.sh"
n=0
failed=0

tap() {	# tap OK NAME
	n=$((n + 1))
	if [ "$1" = 1 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
	fi
}

say() { :; }

# ---- the search ----------------------------------------------------------------

# The made-up machine: fake_outcome MIB TRY (the how-many-th try of that size) prints ok,
# short or broken. The default: a dump saves from 51 MiB.
fake_outcome() { if [ "$1" -ge 51 ]; then echo ok; else echo short; fi; }
declare -A TRIES
bench_trial() {	# the real one boots QEMU
	TRIES[$2]=$((${TRIES[$2]:-0} + 1))
	BENCH_BOOTS=$((BENCH_BOOTS + 1))
	BENCH_OUTCOME=$(fake_outcome "$2" "${TRIES[$2]}")
	BENCH_REASON=made-up
	TRACE+=" $2:$BENCH_OUTCOME"
}

# search NAME LO HI WANT: the search's "failed found flaky boots", or "fails: reason"
search() {	# search NAME LO HI WANT
	local got BENCH_SEEN=() BENCH_BOOTS=0
	TRIES=() TRACE=
	if bench_search x "$2" "$3"; then
		got="$BENCH_FAILED $BENCH_FOUND $BENCH_FLAKY $BENCH_BOOTS"
	else
		got="fails: $BENCH_REASON"
	fi
	if [[ $got = $4 ]]; then
		tap 1 "bench search: $1 ($got)"
	else
		tap 0 "bench search: $1 (got '$got', want '$4'; tried$TRACE)"
	fi
}

test_search() {
	BENCH_HIGH=1536 BENCH_RESOLUTION=1
	search "a clean boundary: each end seen twice" 44 60 "50 51 - 7"
	search "a window above the boundary moves down" 60 76 "50 51 - *"
	search "a window below the boundary moves up" 20 36 "50 51 - *"
	search "the window's lower end is tried, twice" 50 52 "50 51 - 5"
	fake_outcome() {
		if [ "$1" = 51 ] && [ "$2" = 2 ]; then echo short
		elif [ "$1" -ge 51 ]; then echo ok; else echo short; fi
	}
	search "a size that saved a dump once and then failed is flaky; the end moves up" \
		44 60 "50 52 51 *"
	fake_outcome() {
		if [ "$1" = 50 ] && [ "$2" = 2 ]; then echo ok
		elif [ "$1" -ge 51 ]; then echo ok; else echo short; fi
	}
	search "a size that failed once and then saved a dump is flaky; the end moves down" \
		44 60 "49 51 50 *"
	fake_outcome() {
		if [ "$1" = 48 ] && [ "$2" = 1 ]; then echo broken
		elif [ "$1" -ge 51 ]; then echo ok; else echo short; fi
	}
	search "a broken boot is tried again and does not move the search" 44 60 "50 51 - 8"
	fake_outcome() {
		if [ "$1" = 52 ]; then echo broken
		elif [ "$1" -ge 51 ]; then echo ok; else echo short; fi
	}
	search "a size broken twice ends the search with its reason" 44 60 \
		"fails: crashkernel=52M, twice: made-up"
	fake_outcome() { echo short; }
	search "no size up to BENCH_HIGH saves a dump: no boundary" 44 60 \
		"fails: no dump saved with crashkernel=1536M"
	fake_outcome() { echo ok; }
	search "every size saves a dump: no boundary" 44 60 "fails: no size below * failed every time"
}

# ---- a failed boot's reason ---------------------------------------------------

# reason NAME CONSOLE-LINE GUEST-VERDICT QEMU-STATUS WANT-OUTCOME
reason() {
	local BENCH_LINE=$3 BENCH_STATUS=$4 BENCH_TIMEOUT=1800
	printf '[    2.000000] %s\n' 'Kernel panic - not syncing: sysrq triggered crash' \
		"$2" > "$SCRATCH/console"
	bench_failure "$SCRATCH/console"
	if [ "$BENCH_OUTCOME" = "$5" ]; then
		tap 1 "bench reason: $1: $BENCH_OUTCOME ($BENCH_REASON)"
	else
		tap 0 "bench reason: $1: got $BENCH_OUTCOME ($BENCH_REASON), want $5"
	fi
}

test_reasons() {
	reason "the kernel's deadlock on memory" \
		'Kernel panic - not syncing: System is deadlocked on memory' '' 0 short
	reason "the OOM killer" 'Out of memory: Killed process 93 (makedumpfile)' \
		'fail makedumpfile (status 137): ' 0 short
	reason "cryptsetup refusing Argon2's memory" '' \
		'fail the dump volume did not open (passphrase): Not enough available memory to open a keyslot. ... requires more than available memory' 0 short
	reason "a load that does not fit the reservation" '' \
		'fail the capture kernel did not load into crashkernel=24M' 0 short
	reason "no reservation at all is not a shortage" '' \
		'fail the capture kernel did not load into crashkernel=0M' 0 broken
	reason "a dump the volume does not give back" '' \
		'fail the volume does not give back the 100 bytes makedumpfile wrote' 0 broken
	reason "another panic" 'Kernel panic - not syncing: VFS: Unable to mount root fs' '' 0 broken
	reason "a timeout" '' '' 124 broken
}

test_search
test_reasons
echo "1..$n"
exit "$failed"
