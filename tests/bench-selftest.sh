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
# shellcheck source=tests/tap.sh
. "$TOP/tests/tap.sh"

# shellcheck disable=SC2317 # called by bench.sh
say() { :; }

# ---- the search ----------------------------------------------------------------

# The made-up machine: from FAKE_FROM MiB a crash saves a dump, below it runs short;
# FAKE_EXCEPT lists "MIB:TRY:OUTCOME", the how-many-th try (or any) of a size that does otherwise.
fake_outcome() {	# fake_outcome MIB TRY
	local except
	for except in $FAKE_EXCEPT; do
		[[ $except != "$1:$2:"* && $except != "$1:any:"* ]] || { echo "${except##*:}"; return; }
	done
	if [ "$1" -ge "$FAKE_FROM" ]; then echo ok; else echo short; fi
}
declare -A TRIES
bench_trial() {	# the real one boots QEMU
	TRIES[$2]=$((${TRIES[$2]:-0} + 1))
	BENCH_BOOTS=$((BENCH_BOOTS + 1))
	BENCH_OUTCOME=$(fake_outcome "$2" "${TRIES[$2]}")
	BENCH_REASON=made-up
	TRACE+=" $2:$BENCH_OUTCOME"
}

# search NAME LO HI WANT: the search's "failed found flaky boots", or "fails: reason",
# matched against the pattern WANT
search() {	# search NAME LO HI WANT
	local got BENCH_SEEN=() BENCH_BOOTS=0
	TRIES=() TRACE=
	if bench_search x "$2" "$3"; then
		got="$BENCH_FAILED $BENCH_FOUND $BENCH_FLAKY $BENCH_BOOTS"
	else
		got="fails: $BENCH_REASON"
	fi
	# shellcheck disable=SC2053 # WANT is a pattern
	if [[ $got = $4 ]]; then
		tap 0 "bench search: $1 ($got)"
	else
		tap 1 "bench search: $1 (got '$got', want '$4'; tried$TRACE)"
	fi
}

test_search() {
	BENCH_HIGH=1536 BENCH_RESOLUTION=1 FAKE_FROM=51 FAKE_EXCEPT=
	search "a clean boundary: each end seen twice" 44 60 "50 51 - 7"
	search "a window above the boundary moves down" 60 76 "50 51 - *"
	search "a window below the boundary moves up" 20 36 "50 51 - *"
	search "the window's lower end is tried, twice" 50 52 "50 51 - 5"
	FAKE_EXCEPT=51:2:short
	search "a size that saved a dump once and then failed is flaky; the end moves up" \
		44 60 "50 52 51 *"
	FAKE_EXCEPT=50:2:ok
	search "a size that failed once and then saved a dump is flaky; the end moves down" \
		44 60 "49 51 50 *"
	FAKE_EXCEPT=48:1:broken
	search "a broken boot is tried again and does not move the search" 44 60 "50 51 - 8"
	FAKE_EXCEPT=52:any:broken
	search "a size broken twice ends the search with its reason" 44 60 \
		"fails: crashkernel=52M, twice: made-up"
	FAKE_EXCEPT="" FAKE_FROM=2000
	search "no size up to BENCH_HIGH saves a dump: no boundary" 44 60 \
		"fails: no dump saved with crashkernel=1536M"
	FAKE_FROM=0
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
		tap 0 "bench reason: $1: $BENCH_OUTCOME ($BENCH_REASON)"
	else
		tap 1 "bench reason: $1: got $BENCH_OUTCOME ($BENCH_REASON), want $5"
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

# ---- the tables ------------------------------------------------------------

# fact_line KIND RUN FIELD=VALUE...: a line as bench_record writes it, for arch testarch
fact_line() {
	local kind=$1 run=$2
	shift 2
	printf '%s' "$kind" "	run=$run	arch=testarch	commit=abc	dirty=no	kernel=${KERNEL_FACT-6.12.1}" \
		"	cryptsetup=2:2.6.1	makedumpfile=1:1.7.2	qemu=7.2.0	host_cpus=2	boot_slots=2"
	printf '\t%s' "$@"
	echo
}

# Two runs: the older found all three ways, the newer refined crashkey and plain and
# tried the passphrase without a boundary; the open times must come from the older,
# the only one that found both encrypted ways.
made_up_runs() {	# made_up_runs DIR
	mkdir -p "$1/runs/a" "$1/runs/b"
	{ fact_line boot a way=crashkey mib=79 outcome=ok reason=- qemu_status=0 seconds=60 \
		open_ms=800 dump_bytes=3000 log=testarch/crashkey-79M-1.log.xz
	  fact_line boot a way=crashkey mib=32 outcome=short "reason=Out of memory" \
		qemu_status=0 seconds=30 open_ms=- dump_bytes=- log=testarch/crashkey-32M-2.log.xz
	  fact_line way a way=crashkey verdict=found failed_mib=32 mib=79 flaky=- boots=6 \
		open_ms=800 dump_bytes=3000
	  fact_line way a way=passphrase verdict=found failed_mib=1080 mib=1125 flaky=- \
		boots=6 open_ms=52000 dump_bytes=3000
	  fact_line way a way=plain verdict=found failed_mib=32 mib=79 flaky=- boots=6 \
		open_ms=0 dump_bytes=3000
	  fact_line scale a mode=keys n=1024 outcome=ok blob_bytes=147512 load_us=3300000 \
		keys_us=9000 restore_us=25000 unlock_us=- unlock_kib=- seconds=90 log=x
	  fact_line scale a mode=volumes n=64 outcome=ok blob_bytes=9272 load_us=3100000 \
		keys_us=1500 restore_us=2000 unlock_us=6400000 unlock_kib=99328 seconds=90 \
		log=x; } > "$1/runs/a/testarch.tsv"
	{ fact_line boot b way=crashkey mib=140 outcome=ok reason=- qemu_status=0 \
		seconds=60 open_ms=700 dump_bytes=3000 log=testarch/crashkey-140M-1.log.xz
	  fact_line boot b way=crashkey mib=139 outcome=broken "reason=timed out after 1800s" \
		qemu_status=124 seconds=1800 open_ms=- dump_bytes=- log=testarch/crashkey-139M-2.log.xz
	  fact_line boot b way=crashkey mib=139 outcome=short "reason=Out of memory" \
		qemu_status=0 seconds=30 open_ms=- dump_bytes=- log=testarch/crashkey-139M-3.log.xz
	  fact_line way b way=crashkey verdict=found failed_mib=139 mib=140 flaky=- boots=7 \
		open_ms=700 dump_bytes=3000
	  fact_line way b way=plain verdict=found failed_mib=118 mib=121 flaky=119,120 \
		boots=9 open_ms=0 dump_bytes=3000
	  fact_line way b way=passphrase verdict=none "reason=crashkernel=1125M, twice: x" \
		boots=2; } > "$1/runs/b/testarch.tsv"
	# A run that wrote no kernel release: the report takes it from the run's consoles.
	mkdir -p "$1/runs/c/testarch"
	echo '[    0.000000] Linux version 6.12.9 (builder) #1' | xz > "$1/runs/c/testarch/x.log.xz"
	KERNEL_FACT='' fact_line scale c mode=keys n=64 outcome=ok blob_bytes=9272 \
		load_us=1 keys_us=1 restore_us=1 unlock_us=- unlock_kib=- seconds=1 \
		log=testarch/x.log.xz > "$1/runs/c/testarch.tsv"
	printf '%s\n' '# x' '<!-- bench:ways -->' '<!-- /bench:ways -->' \
		'<!-- bench:scale -->' 'old' '<!-- /bench:scale -->' > "$1/README.md"
}

# tables_show NAME FILE LINE: FILE (made by the report) has LINE, whole
tables_show() {
	if grep -qxF "$3" "$2" 2>/dev/null; then
		tap 0 "bench report: $1"
	else
		tap 1 "bench report: $1 (want: $3)"
		grep -F testarch "$2" | sed 's/^/# got: /'
	fi
}

test_report() {
	local dir=$SCRATCH/report report=$TOP/ci-matrix/bench-report.py
	mkdir -p "$dir"
	printf '%s\n' '<!-- bench:ways -->' '<!-- /bench:ways -->' > "$dir/README.md"
	if "$report" "$dir" "$dir/README.md" > /dev/null 2>&1; then
		tap 1 "bench report: no runs is an error"
	else
		tap 0 "bench report: no runs is an error"
	fi
	made_up_runs "$dir"
	"$report" "$dir" "$dir/README.md" > /dev/null 2>&1 || true
	tables_show "the newest boundary of each way, a flaky one as its range, the ratio" \
		"$dir/bench.md" "| testarch | 140 MiB | 1081 to 1125 MiB | 119 to 121 MiB (flaky: 119, 120) | 7.72 to 8.04 | 19 to 21 MiB | 800 ms | 52.0 s | 65.0 |"
	tables_show "the scale row of the volumes" "$dir/bench.md" \
		"| testarch | 64 volumes | 9272 B | 145 B | 24836 B | 3100.0 ms | 1.5 ms | 2.0 ms | 6400.0 ms | 100.0 ms | 1552 KiB |"
	tables_show "mainline cannot hand over 1024 keys" "$dir/bench.md" \
		"| testarch | 1024 | 147512 B | 144 B | cannot (at most 128 keys) | 3300.0 ms | 9.0 ms | 25.0 ms | - | - | - |"
	tables_show "every crash of the shown search, in order" "$dir/bench.md" \
		"| testarch | crashkey | 140 ok, 139 broken, 139 short |"
	tables_show "a broken boot's reason" "$dir/bench.md" \
		"| testarch | crashkey | broken | timed out after Ns | 139 |"
	tables_show "a search without a boundary, and why" "$dir/bench.md" \
		"No boundary: testarch, passphrase, run b: crashkernel=1125M, twice: x"
	tables_show "the README's block, replaced" "$dir/README.md" \
		"| testarch | 147512 B | 9.0 ms | 25.0 ms | 64 | 6400.0 ms | 100.0 ms | 1552 KiB |"
	tables_show "the runs and their facts, from the lines" "$dir/README.md" \
		"Measured by run a (testarch): commit abc, Linux 6.12.1, cryptsetup 2:2.6.1, makedumpfile 1:1.7.2, QEMU 7.2.0 (TCG) on 2 CPUs, 2 guests at a time; run c (testarch): commit abc, Linux 6.12.9, cryptsetup 2:2.6.1, makedumpfile 1:1.7.2, QEMU 7.2.0 (TCG) on 2 CPUs, 2 guests at a time."
	tables_show "a kernel release the run did not write, from its consoles" "$dir/bench.md" \
		"| c | testarch | 1 | 0 min | abc | 6.12.9 | 2:2.6.1 | 1:1.7.2 | 7.2.0 | 2 | 2 |"
	if "$report" --check "$dir" "$dir/README.md" > /dev/null 2>&1; then
		tap 0 "bench report: --check passes on the tables it made"
	else
		tap 1 "bench report: --check passes on the tables it made"
	fi
	sed -i 's/| 140 MiB |/| 139 MiB |/' "$dir/README.md"
	if "$report" --check "$dir" "$dir/README.md" > /dev/null 2>&1; then
		tap 1 "bench report: --check fails on a figure changed by hand"
	else
		tap 0 "bench report: --check fails on a figure changed by hand"
	fi
	echo 'way	run=c' >> "$dir/runs/b/testarch.tsv"
	if "$report" "$dir" "$dir/README.md" > /dev/null 2>&1; then
		tap 1 "bench report: a line without the run's facts is an error"
	else
		tap 0 "bench report: a line without the run's facts is an error"
	fi
}

# The committed tables are what the committed runs give.
test_committed_tables() {
	if "$TOP/ci-matrix/bench-report.py" --check "$TOP/docs/bench" "$TOP/README.md" \
		> "$SCRATCH/check.out" 2>&1; then
		tap 0 "bench report: docs/bench, README.md and tools/crashkey/sizing.h are what docs/bench/runs gives"
	else
		sed 's/^/# /' "$SCRATCH/check.out" | head -n 40
		tap 1 "bench report: docs/bench, README.md and tools/crashkey/sizing.h are what docs/bench/runs gives"
	fi
}

test_search
test_reasons
test_report
test_committed_tables
tap_done
