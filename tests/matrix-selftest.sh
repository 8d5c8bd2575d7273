#!/usr/bin/env bash
# The matrix's own verdicts, tested: ci-matrix/results.sh and tests/tap-verdict.sh get
# logs of runs that went wrong in every way an audit found (a stage that dies, a check
# line split by kernel output, a missing plan, a skipped test, an arch whose boots die,
# kernel trouble the old grep missed) and must fail each one; clean logs must pass.
# Prints TAP.
set -euo pipefail	# as in ci-matrix/run.sh, whose errexit the collectors must survive
TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=cross-build/lib.sh
. "$TOP/cross-build/lib.sh"
# shellcheck source=ci-matrix/results.sh
. "$TOP/ci-matrix/results.sh"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
RESULTS=$SCRATCH/results
TIMINGS=$SCRATCH/timings
ARCH_NAME=testarch
n=0
failed=0

tap() {	# tap OK NAME
	n=$((n + 1))
	if [ "$1" = 1 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		sed 's/^/# /' "$RESULTS" 2>/dev/null
		failed=1
	fi
}

fails() { grep -c "	fail	" "$RESULTS"; }

# expect_verdict NAME FAILS [RESULT-TEXT]: the collector just run reported FAILS failed
# results (and one containing RESULT-TEXT, if given).
expect_verdict() {
	local ok=1
	[ "$(fails)" = "$2" ] || ok=0
	[ -z "${3:-}" ] || grep -qF "$3" "$RESULTS" || ok=0
	tap "$ok" "$1"
	: > "$RESULTS"
}

# ---- guest stages ----------------------------------------------------------

stamp() { sed 's/^/[    1.000000] /'; }

good_stage_log() {
	printf '%s\n' 'crashkey-stage: setup' 'crashkey-check: ok luksFormat vda' \
		'crashkey-check: ok kexec -s -p' 'crashkey-stage-done: setup' \
		'crashkey-stage: capture' 'crashkey-check: ok crashkey unlock' \
		'crashkey-stage-done: capture'
}

# What good_stage_log must report, as an arch's expected list gives it.
good_stage_expected() {
	printf 'random/%s\t%s\n' setup 'luksFormat vda' setup 'kexec -s -p' \
		setup 'stage setup ran to its end' capture 'crashkey unlock' \
		capture 'stage capture ran to its end'
}

# collect_stages LOG: the collector, then the comparison with good_stage_expected.
collect_stages() {
	collect_checks "$1" random setup capture
	good_stage_expected > "$SCRATCH/expected"
	compare_with_expected testarch "$SCRATCH/expected"
}

test_stages() {
	good_stage_log > "$SCRATCH/log"
	collect_stages "$SCRATCH/log"
	expect_verdict "complete stages pass" 0

	good_stage_log | sed 's/^crashkey-check: ok kexec/crashkey-che[    2.1] random: crng init done\nck: ok kexec/' \
		> "$SCRATCH/log"
	collect_stages "$SCRATCH/log"
	expect_verdict "a check line split by kernel output fails" 1 "kexec -s -p	expected (ci-matrix/expected/), never reported"

	good_stage_log | sed 's/crashkey-check: ok kexec/crashkey-check: okkexec/' > "$SCRATCH/log"
	collect_stages "$SCRATCH/log"
	expect_verdict "an unreadable check line fails, and so does the check it was" 2 "unreadable check line"

	good_stage_log | sed '/kexec -s -p/,$d' > "$SCRATCH/log"
	collect_stages "$SCRATCH/log"
	expect_verdict "a stage that dies early fails each check it did not report" 4 \
		"capture	crashkey unlock	expected (ci-matrix/expected/), never reported"

	good_stage_log | sed 's/ok crashkey unlock/FAIL crashkey unlock\texit 2/' > "$SCRATCH/log"
	collect_stages "$SCRATCH/log"
	expect_verdict "a failed check fails, with its reason" 1 "crashkey unlock	exit 2"

	good_stage_log | sed 's/ok kexec -s -p/ok kexec -s -p (renamed)/' > "$SCRATCH/log"
	collect_stages "$SCRATCH/log"
	expect_verdict "a renamed check fails twice: new name unexpected, old one missing" 2 \
		"kexec -s -p (renamed)	not an expected check of testarch"

	good_stage_log | sed '/ok luksFormat vda/p' > "$SCRATCH/log"
	collect_stages "$SCRATCH/log"
	expect_verdict "a check reported twice where one is expected fails" 1 \
		"luksFormat vda	not an expected check"

	good_stage_log | sed '/crashkey-stage: capture/d' > "$SCRATCH/log"
	collect_stages "$SCRATCH/log"
	expect_verdict "a check reported in another stage fails" 2 "setup	crashkey unlock	not an expected check"

	good_stage_log > "$SCRATCH/log"
	collect_checks "$SCRATCH/log" random setup capture
	ARCH_NAME=otherarch result ok "not this arch's"
	: > "$SCRATCH/expected"
	compare_with_expected otherarch "$SCRATCH/expected"
	expect_verdict "the comparison touches only its own arch's results" 1 "not this arch's	not an expected check of otherarch"
}

# ---- the expected lists themselves, and a guest that left QEMU badly --------------

# Every arch's list parses; a conf's feature switched off (x86_64 without hibernation:
# the guest then leaves that check out) fails the run, however the rest went.
test_expected_lists() {
	local conf arch ok=1
	for conf in "$TOP"/ci-matrix/arch/*.conf; do
		arch=$(basename "$conf" .conf)
		if ! CRASHKEY_TOP=$TOP expected_checks "$arch" > "$SCRATCH/expected" 2> "$SCRATCH/err" ||
			[ ! -s "$SCRATCH/expected" ]; then
			ok=0
			cat "$SCRATCH/err" >&2
		fi
	done
	tap "$ok" "every arch's expected checks parse, and none is empty"

	mkdir -p "$SCRATCH/top/ci-matrix/expected"
	printf 'no group\n' > "$SCRATCH/top/ci-matrix/expected/common.checks"
	: > "$SCRATCH/top/ci-matrix/expected/testarch.checks"
	if CRASHKEY_TOP=$SCRATCH/top expected_checks testarch > /dev/null 2>&1; then
		tap 0 "a check outside any [group] is an error"
	else
		tap 1 "a check outside any [group] is an error"
	fi

	# Every expected result of x86_64 reported and passed, but the one the guest leaves
	# out with HIBERNATION=no.
	CRASHKEY_TOP=$TOP expected_checks x86_64 > "$SCRATCH/expected"
	awk -F'\t' -v OFS='\t' '{ print "testarch", "ok", $1, $2, "" }' "$SCRATCH/expected" |
		grep -v 'hibernation refused' > "$RESULTS"
	compare_with_expected testarch "$SCRATCH/expected"
	expect_verdict "x86_64 run as with HIBERNATION=no in its conf: its missing check fails" 1 \
		"random/setup	hibernation refused while keys are handed over	expected"
	# What a run reported, in the lists' format (reported.checks), reads back as the
	# same results: a list made from it expects exactly what reported.
	: > "$RESULTS"
	collect_checks "$SCRATCH/log" random setup capture
	mkdir -p "$SCRATCH/round/ci-matrix/expected"
	: > "$SCRATCH/round/ci-matrix/expected/common.checks"
	reported_checks testarch > "$SCRATCH/round/ci-matrix/expected/testarch.checks"
	ok=0
	CRASHKEY_TOP=$SCRATCH/round expected_checks testarch > "$SCRATCH/round/list" &&
		[ "$(cut -f3,4 "$RESULTS" | sort)" = "$(sort "$SCRATCH/round/list")" ] && ok=1
	tap "$ok" "reported.checks reads back as the list of what reported"
	: > "$RESULTS"
	# What a variant or scenario leaves out, and adds: x86_64 has every group.
	expect_groups_of debug crash-unlock
	CRASHKEY_TOP=$TOP expected_checks x86_64 | cut -f1 | sort | uniq -c > "$SCRATCH/groups"
	ok=0
	! grep -qE ' (kdump-tools|unchanged|distro-config)' "$SCRATCH/groups" &&
		CRASHKEY_TOP=$TOP expected_checks x86_64 | grep -q '^random/setup	kmemleak: ' && ok=1
	tap "$ok" "a debug kernel's run: no kdump-tools, unchanged or distro-config groups, the stress checks added" \
		"$(cat "$SCRATCH/groups")"
	expect_groups_of '' kdump-tools
	CRASHKEY_TOP=$TOP expected_checks x86_64 | cut -f1 | sort -u > "$SCRATCH/groups"
	ok=0
	[ "$(tr '\n' ' ' < "$SCRATCH/groups")" = "arch kdump-tools kdump-tools/kdump-tools-load kdump-tools/kdump-tools-upgrade kdump-tools/kdump-tools-upgraded kdump-tools/kdump-tools-verify " ] && ok=1
	tap "$ok" "the kdump-tools scenario's run: its own groups and arch, no other" \
		"$(cat "$SCRATCH/groups")"
	expect_groups_of '' crash-unlock
	# A second machine of an arch (KERNEL_ARCH in its conf): its arch's list without
	# what runs once per arch.
	CRASHKEY_TOP=$TOP expected_checks ppc64le | grep -vE '^(unchanged|distro-config|blob unit tests)	' \
		> "$SCRATCH/arch"
	CRASHKEY_TOP=$TOP expected_checks ppc64le_hash > "$SCRATCH/machine"
	ok=0
	[ "$(machine_kernel_arch ppc64le_hash)" = ppc64le ] &&
		[ "$(machine_kernel_arch ppc64le)" = ppc64le ] &&
		grep -q '^unchanged	' <(CRASHKEY_TOP=$TOP expected_checks ppc64le) &&
		cmp -s "$SCRATCH/arch" "$SCRATCH/machine" && ok=1
	tap "$ok" "ppc64le_hash expects ppc64le's checks but those run once per arch" \
		"$(diff "$SCRATCH/arch" "$SCRATCH/machine" | head -n 5)"
}

# A guest that reported every check and ended its stage, then did not leave QEMU by
# itself: killed (here, a stand-in for QEMU killed after its last check) or timed out.
test_qemu_exit() {
	local status=0
	RESULT_GROUP=random
	check_qemu_exit "crash boot" 0 600
	expect_verdict "QEMU that ended by itself passes" 0
	{ (good_stage_log > "$SCRATCH/log"; kill -KILL "$BASHPID") || status=$?; } 2> /dev/null
	collect_stages "$SCRATCH/log"
	check_qemu_exit "crash boot" "$status" 600
	expect_verdict "a guest killed after its last check fails (status $status)" 1 "QEMU exited with status 137"
	status=0
	timeout 1 sleep 5 || status=$?
	check_qemu_exit "crash boot" "$status" 1
	expect_verdict "a guest that hangs until its timeout fails" 1 "timed out after 1 s"
	RESULT_GROUP=
}

# ---- KUnit -------------------------------------------------------------------

good_ktap() {
	cat <<-'EOF'
	KTAP version 1
	1..1
	    KTAP version 1
	    # Subtest: crash_dm_crypt
	    # module: crash_dm_crypt_kunit
	    1..2
	    ok 1 blob_roundtrip
	    ok 2 arch_unmaps_page
	# crash_dm_crypt: pass:2 fail:0 skip:0 total:2
	# Totals: pass:2 fail:0 skip:0 total:2
	ok 1 crash_dm_crypt
	EOF
}

test_kunit() {
	good_ktap | stamp > "$SCRATCH/log"
	collect_kunit "$SCRATCH/log"
	expect_verdict "a complete KUnit run passes" 0 "kunit arch_unmaps_page"

	good_ktap | sed 's/ok 2 arch_unmaps_page/ok 2 arch_unmaps_page # SKIP no arch hook/;
		s/pass:2 fail:0 skip:0/pass:1 fail:0 skip:1/' | stamp > "$SCRATCH/log"
	collect_kunit "$SCRATCH/log"
	expect_verdict "a skipped KUnit case fails" 2 "arch_unmaps_page # SKIP"

	good_ktap | sed '/ok 2 arch_unmaps_page/d' | stamp > "$SCRATCH/log"
	collect_kunit "$SCRATCH/log"
	expect_verdict "a KUnit case that never reported fails" 1 "crash_dm_crypt: every planned case reported	2 planned, 1 reported"

	good_ktap | sed 's/# Totals: pass:2 fail:0/# Totals: pass:1 fail:1/' | stamp > "$SCRATCH/log"
	collect_kunit "$SCRATCH/log"
	expect_verdict "KUnit totals with a failure fail" 1 "KUnit totals"

	good_ktap | sed '/^ok 1 crash_dm_crypt/d' | stamp > "$SCRATCH/log"
	collect_kunit "$SCRATCH/log"
	expect_verdict "a suite without its result line fails" 1 "every planned KUnit suite reported	1 planned, 0 reported"

	echo "no KUnit here" | stamp > "$SCRATCH/log"
	collect_kunit "$SCRATCH/log"
	expect_verdict "a boot without KUnit output fails" 1 "KTAP plan of suites present"
}

# ---- TAP of helper scripts, and of whole suites ----------------------------------

test_tap() {
	printf 'ok 1 - testarch: a\nok 2 - testarch: b\n1..2\n' | collect_tap unchanged
	expect_verdict "helper TAP with a matching plan passes" 0
	printf 'ok 1 - testarch: a\n' | collect_tap unchanged
	expect_verdict "helper TAP without a plan fails" 1 "unchanged: TAP plan present"
	printf 'ok 1 - testarch: a\n1..3\n' | collect_tap unchanged
	expect_verdict "helper TAP short of its plan fails" 1 "unchanged: every planned test reported	3 planned, 1 reported"
	printf '1..0\n' | collect_tap unchanged
	expect_verdict "helper TAP that tests nothing fails" 1 "ran at least one test"
	printf 'ok 1 - a # SKIP no loop\n1..1\n' | collect_tap blob
	expect_verdict "a skipped helper test fails" 1
}

verdict() {	# verdict STATUS < TAP: prints "PASSED FAILED"
	cat > "$SCRATCH/tap"
	"$TOP/tests/tap-verdict.sh" "$SCRATCH/tap" "$1" 2>/dev/null
}

test_suite_verdicts() {
	local v
	v=$(printf 'ok 1 - a\nnot ok 2 - b\n1..2\n' | verdict 1)
	tap "$([ "$v" = "1 1" ] && echo 1)" "suite verdict: one failed test is one failure ($v)"
	v=$(printf 'ok 1 - a\nok 2 - b # SKIP no tty\n1..2\n' | verdict 0)
	tap "$([ "$v" = "1 1" ] && echo 1)" "suite verdict: a skipped test fails ($v)"
	v=$(printf 'ok 1 - a\n' | verdict 0)
	tap "$([ "$v" = "1 1" ] && echo 1)" "suite verdict: no plan fails ($v)"
	v=$(printf 'ok 1 - a\n1..2\n' | verdict 0)
	tap "$([ "$v" = "1 1" ] && echo 1)" "suite verdict: fewer tests than planned fails ($v)"
	v=$(printf '1..2\nok 1 - a\nok 2 - b\n1..1\nok 1 - c\n' | verdict 0)
	tap "$([ "$v" = "3 0" ] && echo 1)" "suite verdict: two TAP streams add up ($v)"
	v=$(printf 'ok 1 - a\nBail out! no disk\n1..1\n' | verdict 1)
	tap "$([ "$v" = "1 1" ] && echo 1)" "suite verdict: Bail out! fails ($v)"
	v=$(printf 'ok 1 - a\n1..1\n' | verdict 2)
	tap "$([ "$v" = "1 1" ] && echo 1)" "suite verdict: a non-zero exit fails ($v)"
}

# ---- kernel trouble and vanished arches ------------------------------------------

test_kernel_trouble() {
	local line
	printf 'Kernel panic - not syncing: sysrq triggered crash\nWARNING: nvram corruption detected: 0-length partition\n' |
		stamp > "$SCRATCH/log"
	echo "WARNING: Device /dev/vda already contains a 'crypto_LUKS' superblock" >> "$SCRATCH/log"
	check_kernel_log "$SCRATCH/log"
	expect_verdict "sysrq's panic, pseries' NVRAM note and cryptsetup's WARNING are no kernel trouble" 0
	for line in 'WARNING: CPU: 0 PID: 1 at kernel/crash_dm_crypt.c:10 f+0x1/0x2' \
		'kernel BUG at arch/s390/mm/pageattr.c:300!' 'BUG: unable to handle page fault' \
		'INFO: task kexec:77 blocked for more than 120 seconds.' \
		'rcu: INFO: rcu_sched detected stalls on CPUs/tasks:' \
		'WARNING: possible circular locking dependency detected' \
		'Unable to handle kernel paging request at virtual address 0' \
		'Kernel panic - not syncing: Attempted to kill init!'; do
		echo "$line" | stamp > "$SCRATCH/log"
		check_kernel_log "$SCRATCH/log"
		expect_verdict "kernel trouble fails: ${line%% at *}" 1
	done
}

test_finish_boots() {
	: > "$TIMINGS"
	(exit 3) &
	finish_boots testarch $!
	expect_verdict "an arch whose boot steps die fails" 1 "exited with status 3"
	true &
	finish_boots testarch $!
	expect_verdict "an arch without its line of timings fails" 1
	printf 'testarch\t1\t2\t3\t4\t5\n' > "$TIMINGS"
	true &
	finish_boots testarch $!
	expect_verdict "an arch whose boots all ran passes" 0
}

test_stages
test_expected_lists
test_qemu_exit
test_kunit
test_tap
test_suite_verdicts
test_kernel_trouble
test_finish_boots
echo "1..$n"
exit "$failed"
