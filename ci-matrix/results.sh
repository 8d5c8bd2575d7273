# shellcheck shell=bash
# How the matrix turns what a run printed into results. Sourced by ci-matrix/run.sh, and
# by tests/matrix-selftest.sh, which feeds it broken logs to show that each way a run
# can go wrong ends in a failed result.
#
# Every result is one line "arch<TAB>ok|fail<TAB>group<TAB>name<TAB>detail" in $RESULTS.
# What a run must report is not decided by the run: each arch's expected results are
# committed data (ci-matrix/expected/), compared with what reported once the arch is done
# (compare_with_expected). Whatever was expected and did not report counts as failed,
# never as absent; whatever reported and was not expected fails too.

result() {	# result ok|fail NAME [DETAIL]: one result in RESULT_GROUP
	printf '%s\t%s\t%s\t%s\t%s\n' "$ARCH_NAME" "$1" "${RESULT_GROUP:-?}" "$2" "${3:-}" \
		>> "$RESULTS"
}

# Results from a collector's lines "group<TAB>ok|fail<TAB>name<TAB>detail".
results_from() {
	local RESULT_GROUP status name detail
	while IFS=$'\t' read -r RESULT_GROUP status name detail; do
		result "$status" "$name" "$detail"
	done
}

# Serial console lines with the kernel's timestamp, without it.
kernel_lines() {
	sed -n 's/^\[ *[0-9]*\.[0-9]*\] //p' "$1" | tr -d '\r'
}

# KUnit's KTAP from the first kernel (up to the crash): one result per test case, then
# the plans and totals. A skipped case fails: the matrix kernels run every case.
collect_kunit() {	# collect_kunit LOG
	sed -n '1,/Starting crashdump kernel/p' "$1" | kernel_lines /dev/stdin | awk '
		function res(s, n, d) { printf "kunit\t%s\t%s\t%s\n", s, n, d }
		/^KTAP version/ && !top { top = 1; next }
		/^1\.\.[0-9]+$/ && top && !suites_planned { suites_planned = substr($0, 4) + 0; next }
		/^    1\.\.[0-9]+$/ { plan[suite] = substr($0, 8) + 0; next }
		/^    # Subtest: / { suite = substr($0, 16); next }
		/^    (not )?ok [0-9]+ / {
			n = $0; sub(/^    (not )?ok [0-9]+ /, "", n)
			cases[suite]++
			if ($1 == "ok" && n !~ /# SKIP/) res("ok", "kunit " n)
			else if (n ~ /# SKIP/) res("fail", "kunit " substr(n, 1, index(n, " # SKIP") - 1), "skipped: " n)
			else res("fail", "kunit " n)
			next
		}
		/^(not )?ok [0-9]+ / {
			suites_seen++
			if ($1 != "ok" || $0 ~ /# SKIP/) res("fail", "KUnit suite " $3 " passed", $0)
			next
		}
		/^# Totals: / { totals = $0 }
		END {
			if (!suites_planned) { res("fail", "KTAP plan of suites present"); exit }
			if (suites_seen != suites_planned)
				res("fail", "every planned KUnit suite reported", suites_planned " planned, " suites_seen + 0 " reported")
			else
				res("ok", "every planned KUnit suite reported")
			for (s in plan)
				if (cases[s] != plan[s])
					res("fail", s ": every planned case reported", plan[s] " planned, " cases[s] + 0 " reported")
			# The totals count parameterised cases one by one: at least the cases.
			total = 0
			for (s in cases) total += cases[s]
			split(totals, t, /[: ]+/)
			if (t[4] != t[10] || t[6] != 0 || t[8] != 0 || t[10] < total)
				res("fail", "KUnit totals: every case passed", "at least " total " cases; " (totals ? totals : "no totals line"))
		}' | results_from
}

# The guest's checks of one log, in group CYCLE/STAGE: a stage begins with
# "crashkey-stage: STAGE", reports "crashkey-check: ok NAME" or "crashkey-check: FAIL
# NAME<TAB>DETAIL" lines and ends with "crashkey-stage-done: STAGE". Which checks a stage
# must report is the expected list's business; here, each STAGE given must run to its end.
collect_checks() {	# collect_checks LOG CYCLE STAGE...
	local log=$1 cycle=$2
	shift 2
	tr -d '\r' < "$log" | awk -v cycle="$cycle" -v stages="$*" '
		function res(g, s, n, d) { printf "%s\t%s\t%s\t%s\n", g, s, n, d }
		/crashkey-stage: / { stage = $0; sub(/.*crashkey-stage: /, "", stage); next }
		/crashkey-check: / {
			s = $0; sub(/.*crashkey-check: /, "", s)
			g = cycle "/" (stage == "" ? "(before any stage)" : stage)
			if (s ~ /^ok [^\t]+$/) res(g, "ok", substr(s, 4))
			else if (s ~ /^FAIL /) {
				s = substr(s, 6); t = index(s, "\t")
				if (t) res(g, "fail", substr(s, 1, t - 1), substr(s, t + 1))
				else res(g, "fail", s)
			} else res(g, "fail", "unreadable check line", s)
			next
		}
		/crashkey-stage-done: / { s = $0; sub(/.*crashkey-stage-done: /, "", s); done[s] = 1 }
		END {
			n = split(stages, want, " ")
			for (i = 1; i <= n; i++)
				res(cycle "/" want[i], want[i] in done ? "ok" : "fail", "stage " want[i] " ran to its end")
		}' | results_from
}

# TAP from a helper script: "ok N - <arch>: name" lines become results in RESULT_GROUP;
# the plan must match the number of test lines, and a run that tests nothing fails.
collect_tap() {	# collect_tap NAME < TAP
	awk -v what="$1" -v group="${RESULT_GROUP:-?}" '
		function res(s, n, d) { printf "%s\t%s\t%s\t%s\n", group, s, n, d }
		/^(not )?ok [0-9]+/ {
			n = $0; sub(/^(not )?ok [0-9]+ (- )?/, "", n); sub(/^[a-z0-9_]+: /, "", n)
			tests++
			if (n ~ /# SKIP/) res("fail", substr(n, 1, index(n, " # SKIP") - 1), "skipped: " n)
			else res($1 == "ok" ? "ok" : "fail", n)
			next
		}
		/^1\.\.[0-9]+/ { plans++; planned += substr($1, 4) }
		/^Bail out!/ { res("fail", what ": no Bail out!", $0) }
		END {
			if (!plans) res("fail", what ": TAP plan present")
			else if (planned != tests) res("fail", what ": every planned test reported", planned " planned, " tests + 0 " reported")
			else if (!tests) res("fail", what ": ran at least one test")
		}' | results_from
}
# Kernel trouble on the console: WARN and lockdep's warnings (not every "WARNING:" line:
# pseries says "WARNING: nvram corruption detected" of QEMU's empty NVRAM at every boot),
# BUG (s390's "kernel BUG at" too), oopses, hung tasks, RCU stalls, lockups, sanitizers,
# and any panic but the one sysrq-c asks for.
# Only kernel-stamped lines count: cryptsetup's own "WARNING:" lines are not the kernel's.
KERNEL_TROUBLE='^(WARNING: (CPU: |possible |suspicious |inconsistent |bad unlock|held lock|lock held|nested lock)|BUG: |kernel BUG at |Kernel BUG at |Oops|Unable to handle kernel|general protection fault|INFO: task .* blocked for more than|rcu: INFO: .*detected stall|rcu: .*self-detected stall|watchdog: (BUG|Watchdog detected)|UBSAN: |KASAN: |kmemleak: .* new suspected|Kernel panic - not syncing: )'

kernel_trouble() {	# kernel_trouble LOG: prints the offending lines
	kernel_lines "$1" | grep -E "$KERNEL_TROUBLE" | grep -v 'Kernel panic - not syncing: sysrq triggered crash'
}

check_kernel_log() {	# check_kernel_log LOG
	local bad
	bad=$(kernel_trouble "$1" | head -n 1) || true
	if [ -n "$bad" ]; then
		result fail "no kernel WARN/BUG/Oops/stall in $(basename "$1")" "$bad"
	else
		result ok "no kernel WARN/BUG/Oops/stall in $(basename "$1")"
	fi
}

# Every guest leaves QEMU by itself: its init ends in "reboot -f" (the matrix's guests;
# a crash's panic=-1 is a reboot too), or the server powers off, and QEMU runs with
# -no-reboot, so it exits 0. timeout's 124 is a hang; any other status a QEMU that died or
# was killed, after its last check or not.
check_qemu_exit() {	# check_qemu_exit BOOT STATUS LIMIT
	case "$2" in
	0) result ok "$1: QEMU ended by itself" ;;
	124) result fail "$1: QEMU ended by itself" "timed out after $3 s" ;;
	*) result fail "$1: QEMU ended by itself" "QEMU exited with status $2" ;;
	esac
}

# An arch's boots run in a background subshell; if it dies before writing its line of
# $TIMINGS, the arch did not finish, whatever results it left.
finish_boots() {	# finish_boots ARCH PID
	local status=0
	wait "$2" || status=$?
	local ARCH_NAME=$1 RESULT_GROUP=arch
	if [ "$status" = 0 ] && grep -q "^$1	" "$TIMINGS" 2>/dev/null; then
		result ok "every boot ran to its end"
	else
		result fail "every boot ran to its end" "boot steps exited with status $status"
	fi
}

# ---- the expected results ------------------------------------------------------

# An arch's expected results, "group<TAB>name" lines, from ci-matrix/expected/: the
# checks every arch reports (common.checks), then the arch's own (ARCH.checks), then
# those it includes and of each list in EXPECT_EXTRA (a variant's, as debug). Groups
# are [sections];
# lines starting with # are comments. A run that does not run some groups at all (a
# debug kernel has no kdump-tools run) keeps only the groups matching EXPECT_ONLY and not
# EXPECT_SKIP (regular expressions).
expected_checks() {	# expected_checks ARCH
	local dir=$CRASHKEY_TOP/ci-matrix/expected extra once=
	# A second machine of an arch does not repeat the checks of its kernel's sources (run.sh).
	[ "$(machine_kernel_arch "$1")" = "$1" ] || once='^(unchanged|distro-config)$'
	[ -f "$dir/$1.checks" ] || { echo "no $dir/$1.checks" >&2; return 1; }
	local -a files=("$dir/common.checks" "$dir/$1.checks")
	# An arch's list may take in a list that several arches share: "include NAME".
	for extra in $(sed -n 's/^include \([a-z0-9_-]*\)$/\1/p' "$dir/$1.checks") \
		${EXPECT_EXTRA:-}; do
		files+=("$dir/$extra.checks")
	done
	awk -v only="${EXPECT_ONLY:-}" -v skip="${EXPECT_SKIP:-}" -v once="$once" '
		/^[ \t]*(#|$)/ || /^include / { next }
		/^\[[^]]+\]$/ { group = substr($0, 2, length($0) - 2); next }
		{ sub(/[ \t]+$/, "") }
		group == "" { printf "%s:%d: a check outside any [group]\n", FILENAME, FNR > "/dev/stderr"; bad = 1; next }
		once != "" && group ~ once { next }
		(only == "" || group ~ only) && (skip == "" || group !~ skip) { print group "\t" $0 }
		END { exit bad }' "${files[@]}"
}

# The groups of the expected results a run has at all, for expected_checks: a debug
# kernel runs the crash-unlock cycles only, with the stress loads' checks added; the
# kdump-tools scenario runs only its own cycle.
expect_groups_of() {	# expect_groups_of KERNEL_VARIANT SCENARIO
	EXPECT_ONLY='' EXPECT_SKIP='' EXPECT_EXTRA=''
	case "$1:$2" in
	debug:*) EXPECT_SKIP='^(kdump-tools|unchanged|distro-config)' EXPECT_EXTRA=debug ;;
	*:kdump-tools) EXPECT_ONLY='^(kdump-tools(/.*)?|arch)$' ;;
	esac
}

# Matches ARCH's results against EXPECTED ("group<TAB>name" lines, each the number of
# times it must report): a result nobody expected fails (a new or renamed check, a
# check in another stage, a line split by kernel output), and every expected result
# that did not report is added as failed. Results of other arches pass through.
compare_with_expected() {	# compare_with_expected ARCH EXPECTED
	local merged
	merged=$(awk -F'\t' -v OFS='\t' -v arch="$1" '
		FILENAME == ARGV[1] { want[$1 FS $2]++; order[++n] = $1 FS $2; next }
		$1 != arch { print; next }
		{
			k = $3 FS $4
			if (want[k] > 0) want[k]--
			else { $2 = "fail"; $5 = ($5 == "" ? "" : $5 "; ") "not an expected check of " arch " (ci-matrix/expected/)" }
			print
		}
		END {
			for (i = 1; i <= n; i++) {
				if (want[order[i]] <= 0) continue
				want[order[i]]--
				split(order[i], f, FS)
				print arch, "fail", f[1], f[2], "expected (ci-matrix/expected/), never reported"
			}
		}' "$2" "$RESULTS") || return
	[ -z "$merged" ] || printf '%s\n' "$merged" > "$RESULTS"
}

# What ARCH reported, in the expected lists' format: to compare with them when a check
# is added or renamed on purpose (docs/design.md, "The expected checks").
reported_checks() {	# reported_checks ARCH
	awk -F'\t' -v arch="$1" '
		$1 != arch { next }
		!($3 in names) { groups[++n] = $3 }
		{ names[$3] = names[$3] $4 "\n" }
		END { for (i = 1; i <= n; i++) printf "%s[%s]\n%s", (i > 1 ? "\n" : ""), groups[i], names[groups[i]] }' \
		"$RESULTS"
}
