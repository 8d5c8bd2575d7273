#!/usr/bin/env bash
# Static checks, as TAP: shellcheck on every shell script, checkpatch.pl --strict on every
# kernel file and patch of the overlay (using the prepared 6.12 tree's checkpatch).
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
n=0
failed=0

tap() {	# tap STATUS NAME [OUTPUT]
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		failed=1
		echo "not ok $n - $2"
		printf '%s\n' "$3" | sed 's/^/# /'
	fi
}

shell_scripts() {
	cd "$TOP" && git ls-files '*.sh' ci-matrix/guest/init .ci/run
}

kernel_sources() {
	cd "$TOP" && git ls-files 'kernel/*.[ch]' 'include/*.h' 'arch-backends/*.[ch]'
}

kernel_patches() {
	cd "$TOP" && git ls-files '*.patch'
}

check_shell() {
	local f out status
	for f in $(shell_scripts); do
		out=$(cd "$TOP" && shellcheck -x -P cross-build:ci-matrix:ci-matrix/guest "$f" 2>&1)
		status=$?
		tap "$status" "shellcheck $f" "$out"
	done
}

check_kernel_style() {
	local tree f out status
	tree=$("$TOP/cross-build/prepare-tree.sh") || { tap 1 "prepare kernel tree" ""; return; }
	for f in $(kernel_sources); do
		out=$(cd "$tree" && scripts/checkpatch.pl --strict --terse \
			--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f "$TOP/$f" 2>&1)
		status=$?
		tap "$status" "checkpatch --strict $f" "$out"
	done
	for f in $(kernel_patches); do
		out=$(cd "$tree" && scripts/checkpatch.pl --strict --terse \
			--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG "$TOP/$f" 2>&1)
		status=$?
		tap "$status" "checkpatch --strict $f" "$out"
	done
}

check_shell
check_kernel_style
echo "1..$n"
exit "$failed"
