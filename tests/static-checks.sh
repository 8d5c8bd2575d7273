#!/usr/bin/env bash
# Static checks, as TAP:
#   - shellcheck on every shell script and on the per-arch .conf fragments they source;
#   - with the prepared 6.12 tree's own tools, on the kernel overlay: checkpatch.pl
#     --strict on every file and patch, kernel-doc -Wall, checkkconfigsymbols.py, and the
#     checks `make headers` and CONFIG_UAPI_HEADER_TEST give the uapi headers it changes;
#   - gcc -fanalyzer and cppcheck on the crashkey tool (make -C tools/crashkey analyze).
# sparse runs where the kernels are built: cross-build/build.sh, after each build.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CRASHKEY_CACHE:-/var/cache/crashkey}
# One per checkout, as in tests/run-all.sh (which sets it).
HOST_BUILD=${HOST_BUILD:-$CACHE/build/host-$(printf '%s' "$TOP" | cksum | cut -d' ' -f1)}
# shellcheck source=tests/tap.sh
. "$TOP/tests/tap.sh"

shell_scripts() {
	cd "$TOP" && git ls-files '*.sh' ci-matrix/guest/init .ci/run tools/system/crashkey-setup \
		'tools/system/initramfs-tools/*' 'tools/debian/*.post*'
}

# Bash fragments that scripts source: every variable is used elsewhere (SC2034 is
# disabled in each file's header).
shell_fragments() {
	cd "$TOP" && git ls-files 'ci-matrix/arch/*.conf' 'cross-build/arch/*.conf'
}

kernel_sources() {
	cd "$TOP" && git ls-files 'kernel/*.[ch]' 'include/*.h' 'arch-backends/*.[ch]'
}

kernel_patches() {
	cd "$TOP" && git ls-files '*.patch'
}

# Existing C files and headers of the tree that the overlay's patches change.
patched_sources() {
	local p
	for p in $(kernel_patches); do
		sed -n 's|^+++ b/\([^[:space:]]*\.[ch]\).*|\1|p' "$TOP/$p"
	done | sort -u
}

added_lines() {	# added_lines PATCH DIR: the lines PATCH adds to each file, as DIR/<path>
	local line f=
	while IFS= read -r line; do
		case "$line" in
		'+++ b/'*)
			f=$2/${line#+++ b/}
			f=${f%%[[:space:]]*}
			mkdir -p "${f%/*}"
			;;
		'+'*) [ -z "$f" ] || printf '%s\n' "${line#+}" >> "$f" ;;
		esac
	done < "$1"
}

check_shell() {
	local f out status
	for f in $(shell_scripts); do
		out=$(cd "$TOP" && shellcheck -x -P cross-build:ci-matrix:ci-matrix/guest "$f" 2>&1)
		status=$?
		tap "$status" "shellcheck $f" "$out"
	done
	for f in $(shell_fragments); do
		out=$(cd "$TOP" && shellcheck --shell=bash "$f" 2>&1)
		status=$?
		tap "$status" "shellcheck --shell=bash $f" "$out"
	done
}

check_kernel_style() {
	local f out status
	for f in $(kernel_sources); do
		out=$(cd "$TREE" && scripts/checkpatch.pl --strict --terse \
			--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f "$TOP/$f" 2>&1)
		status=$?
		tap "$status" "checkpatch --strict $f" "$out"
	done
	# The overlay's patches carry no Signed-off-by: a DCO sign-off is the person's who
	# sends the series, not the repository's.
	for f in $(kernel_patches); do
		out=$(cd "$TREE" && scripts/checkpatch.pl --strict --terse \
			--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG,MISSING_SIGN_OFF "$TOP/$f" 2>&1)
		status=$?
		tap "$status" "checkpatch --strict $f" "$out"
	done
}

kernel_doc() {	# kernel_doc ROOT FILE...: their warnings, without line numbers
	local root=$1
	shift
	(cd "$root" && scripts/kernel-doc -none -Wall "$@" 2>&1) | sed 's/:[0-9][0-9]*:/:/'
}

# Every kernel-doc comment of the overlay's files must be well-formed; the files the
# patches change may keep the warnings they have in the pristine tree, but get no new one.
check_kernel_doc() {
	local f out
	local -a patched
	for f in $(kernel_sources); do
		out=$(kernel_doc "$TREE" "$TOP/$f")
		[ -z "$out" ]
		tap "$?" "kernel-doc -Wall $f" "$out"
	done
	mapfile -t patched < <(patched_sources)
	out=$(comm -13 <(kernel_doc "$(cat "$TREE/.crashkey-base")" "${patched[@]}" | sort) \
		<(kernel_doc "$TREE" "${patched[@]}" | sort))
	[ -z "$out" ]
	tap "$?" "kernel-doc -Wall: no new warning in the ${#patched[@]} files the patches change" "$out"
}

# checkkconfigsymbols.py checks the files git lists where it runs. Its git repo here holds
# the patched tree's Kconfig files, which define the symbols (their own references are
# ignored: -i), and the overlay's files, the patches reduced to the lines they add; git add
# -N lists them without hashing anything. Any symbol it prints is undefined.
check_kconfig_symbols() {
	local repo f out status
	repo=$(mktemp -d)
	mkdir -p "$repo/tree"
	(cd "$TREE" && find . -name 'Kconfig*' -type f -print0 | xargs -0 cp --parents -t "$repo/tree")
	for f in $(kernel_sources); do
		mkdir -p "$repo/$(dirname "$f")"
		cp "$TOP/$f" "$repo/$f"
	done
	for f in $(kernel_patches); do
		added_lines "$TOP/$f" "$repo/$f"
	done
	out=$(cd "$repo" && git init -q && git add -N . &&
		python3 "$TREE/scripts/checkkconfigsymbols.py" --no-color -i '^tree/' 2>&1)
	status=$?
	rm -rf "$repo"
	[ -n "$out" ] && status=1
	tap "$status" "checkkconfigsymbols: every CONFIG_ symbol of the overlay is defined" "$out"
}

# What the kernel checks in a uapi header (usr/include/Makefile): headers_install.sh
# (SPDX syscall note, no CONFIG_ leak) at `make headers`, then, for CONFIG_UAPI_HEADER_TEST,
# the header compiled alone as C90, twice (include guard), and headers_check.pl. The
# headers are installed once per arch under CACHE; later runs redo only what changed.
check_uapi_headers() {
	local f karch hdr dir out status
	while read -r f; do
		karch=x86
		case "$f" in arch/*) karch=${f#arch/} && karch=${karch%%/*} ;; esac
		hdr=${f#*include/uapi/}
		dir=$CACHE/build/headers-$karch
		out=$(make -s -C "$TREE" O="$dir" ARCH="$karch" headers 2>&1 && cd "$dir" &&
			gcc -std=c90 -Wall -Werror=implicit-function-declaration \
				-I usr/include -I "$TREE/usr/dummy-include" -fsyntax-only -x c /dev/null \
				-include "usr/include/$hdr" -include "usr/include/$hdr" 2>&1 &&
			perl "$TREE/usr/include/headers_check.pl" usr/include "$karch" "usr/include/$hdr" 2>&1)
		status=$?
		tap "$status" "uapi header $f: headers_install, header test, headers_check.pl" "$out"
	done < <(grep '/uapi/.*\.h$' "$TREE/.crashkey-manifest")
}

check_tool() {
	local out status
	out=$(make -s -C "$TOP/tools/crashkey" analyze O="$HOST_BUILD/analyze" 2>&1)
	status=$?
	tap "$status" "tools/crashkey: make analyze (gcc -fanalyzer, cppcheck)" "$out"
}

check_shell
check_tool
if TREE=$("$TOP/cross-build/prepare-tree.sh"); then
	check_kernel_style
	check_kernel_doc
	check_kconfig_symbols
	check_uapi_headers
else
	tap 1 "prepare kernel tree" ""
fi
tap_done
