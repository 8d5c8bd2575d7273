#!/usr/bin/env bash
# The verdict on one suite's TAP output:  tests/tap-verdict.sh LOG EXIT_STATUS
# (tests/tap2junit.py gives the CI engines the same verdict, testcase by testcase.)
# Prints "PASSED FAILED" on stdout and, on stderr, a "not ok" line for every failure that
# is not a "not ok" test line of its own: a skipped test, "Bail out!", no plan, plans
# (one per TAP stream; a suite may print several) that do not add up to the number of
# test lines, or a non-zero exit with no failed test to explain it.
set -euo pipefail
LOG=${1:?usage: tap-verdict.sh LOG EXIT_STATUS}
STATUS=${2:?usage: tap-verdict.sh LOG EXIT_STATUS}

awk -v status="$STATUS" '
	function bad(why) { f++; print "not ok - " why > "/dev/stderr" }
	/^ok[ \t]+[0-9]+/ && /[ \t]#[ \t]*[Ss][Kk][Ii][Pp]/ { tests++; bad("skipped: " $0); next }
	/^ok[ \t]+[0-9]+/ { tests++; p++; next }
	/^not ok[ \t]+[0-9]+/ { tests++; f++; next }
	/^1\.\.[0-9]+/ { plans++; planned += substr($1, 4) }
	/^Bail out!/ { bad($0) }
	END {
		if (!plans) bad("no TAP plan")
		else if (planned != tests) bad("TAP plans announce " planned " tests, " tests " reported")
		if (status != 0 && f == 0) bad("exited with status " status)
		print p + 0, f + 0
	}' "$LOG"
