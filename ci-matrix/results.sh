# shellcheck shell=bash
# How the matrix turns what a run printed into results. Sourced by ci-matrix/run.sh, and
# by tests/matrix-selftest.sh, which feeds it broken logs to show that each way a run
# can go wrong ends in a failed result.
#
# Every result is one line "arch<TAB>ok|fail<TAB>name" in $RESULTS. The rule throughout:
# whatever was announced (a TAP or KTAP plan, a guest stage's plan, an arch) and did not
# report counts as failed, never as absent.

result() {	# result ok|fail NAME
	printf '%s\t%s\t%s%s\n' "$ARCH_NAME" "$1" "${RESULT_TAG:-}" "$2" >> "$RESULTS"
}

# Serial console lines with the kernel's timestamp, without it.
kernel_lines() {
	sed -n 's/^\[ *[0-9]*\.[0-9]*\] //p' "$1" | tr -d '\r'
}

# KUnit's KTAP from the first kernel (up to the crash): one result per test case, then
# the plans and totals. A skipped case fails: the matrix kernels run every case.
collect_kunit() {	# collect_kunit LOG
	local status name
	while IFS=$'\t' read -r status name; do
		result "$status" "$name"
	done < <(sed -n '1,/Starting crashdump kernel/p' "$1" | kernel_lines /dev/stdin | awk '
		function res(s, n) { printf "%s\tkunit %s\n", s, n }
		/^KTAP version/ && !top { top = 1; next }
		/^1\.\.[0-9]+$/ && top && !suites_planned { suites_planned = substr($0, 4) + 0; next }
		/^    1\.\.[0-9]+$/ { plan[suite] = substr($0, 8) + 0; next }
		/^    # Subtest: / { suite = substr($0, 16); next }
		/^    (not )?ok [0-9]+ / {
			n = $0; sub(/^    (not )?ok [0-9]+ /, "", n)
			cases[suite]++
			if ($1 == "ok" && n !~ /# SKIP/) res("ok", n)
			else res("fail", n)
			next
		}
		/^(not )?ok [0-9]+ / { suites_seen++; if ($1 != "ok" || $0 ~ /# SKIP/) res("fail", "suite " $0); next }
		/^# Totals: / { totals = $0 }
		END {
			if (!suites_planned) { res("fail", "KTAP plan of suites present"); exit }
			if (suites_seen != suites_planned)
				res("fail", "all " suites_planned " KUnit suites reported (" suites_seen + 0 " did)")
			else
				res("ok", "all " suites_planned " KUnit suites reported")
			for (s in plan)
				if (cases[s] != plan[s])
					res("fail", s ": " plan[s] " planned cases reported (" cases[s] + 0 " were)")
			# The totals count parameterised cases one by one: at least the cases.
			total = 0
			for (s in cases) total += cases[s]
			split(totals, t, /[: ]+/)
			if (t[4] != t[10] || t[6] != 0 || t[8] != 0 || t[10] < total)
				res("fail", "KUnit totals: every one of at least " total " cases passed (" (totals ? totals : "no totals line") ")")
		}')
}

# The guest's checks ("crashkey-check: ok|FAIL ...") of one log, stage by stage: each
# stage announces "crashkey-plan: STAGE N" and ends with "crashkey-stage-done: STAGE".
# A stage that is missing, has no plan, reports fewer or more checks than it planned
# (a check line split by kernel output, a stage that died), or does not finish fails.
collect_checks() {	# collect_checks LOG STAGE...
	local log=$1 status name
	shift
	while IFS=$'\t' read -r status name; do
		result "$status" "$name"
	done < <(tr -d '\r' < "$log" | awk -v stages="$*" '
		function res(s, n) { printf "%s\t%s\n", s, n }
		/crashkey-plan: / {
			s = $0; sub(/.*crashkey-plan: /, "", s); split(s, f, " ")
			stage = f[1]; planned[stage] = f[2]; got[stage] = 0; next
		}
		/crashkey-check: / {
			got[stage]++
			s = $0; sub(/.*crashkey-check: /, "", s)
			if (s ~ /^ok /) res("ok", substr(s, 4))
			else if (s ~ /^FAIL /) res("fail", substr(s, 6))
			else res("fail", "unreadable check line: " s)
			next
		}
		/crashkey-stage-done: / { s = $0; sub(/.*crashkey-stage-done: /, "", s); done[s] = 1 }
		END {
			n = split(stages, want, " ")
			for (i = 1; i <= n; i++) {
				st = want[i]
				if (!(st in planned)) { res("fail", "stage " st " announced its plan"); continue }
				if (got[st] != planned[st])
					res("fail", "stage " st ": " planned[st] " planned checks reported (" got[st] + 0 " were)")
				if (!(st in done)) res("fail", "stage " st " ran to its end")
				else res("ok", "stage " st " ran to its end with all " planned[st] " checks")
			}
		}')
}

# TAP from a helper script: "ok N - <arch>: name" lines become results; the plan must
# match the number of test lines, and a run that tests nothing fails.
collect_tap() {	# collect_tap NAME < TAP
	local what=$1 status name
	while IFS=$'\t' read -r status name; do
		result "$status" "$name"
	done < <(awk -v what="$what" '
		function res(s, n) { printf "%s\t%s\n", s, n }
		/^(not )?ok [0-9]+/ {
			n = $0; sub(/^(not )?ok [0-9]+ (- )?/, "", n); sub(/^[a-z0-9_]+: /, "", n)
			tests++
			if ($1 == "ok" && n !~ /# SKIP/) res("ok", n); else res("fail", n)
			next
		}
		/^1\.\.[0-9]+/ { plans++; planned += substr($1, 4) }
		/^Bail out!/ { res("fail", what ": " $0) }
		END {
			if (!plans) res("fail", what ": TAP plan present")
			else if (planned != tests) res("fail", what ": " planned " planned tests reported (" tests " were)")
			else if (!tests) res("fail", what ": ran at least one test")
		}')
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
		result fail "no kernel WARN/BUG/Oops/stall in $(basename "$1"): $bad"
	else
		result ok "no kernel WARN/BUG/Oops/stall in $(basename "$1")"
	fi
}

# An arch's boots run in a background subshell; if it dies before writing its line of
# $TIMINGS, the arch did not finish, whatever results it left.
finish_boots() {	# finish_boots ARCH PID
	local status=0
	wait "$2" || status=$?
	local ARCH_NAME=$1
	if [ "$status" = 0 ] && grep -q "^$1	" "$TIMINGS" 2>/dev/null; then
		result ok "every boot ran to its end"
	else
		result fail "every boot ran to its end (boot steps exited with status $status)"
	fi
}
