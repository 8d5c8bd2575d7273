#!/usr/bin/env bash
# Prepare a 6.12 kernel tree with the crashkey overlay applied; prints the tree's path.
#
#   KSRC=<tarball or directory>  (default: Debian's linux-source-6.12 tarball)
#
# KSRC may be
#   - a tarball: unpacked once (again when the tarball changes);
#   - a directory, e.g. an unpacked tarball with local edits: all its files are taken,
#     so it must hold no in-tree build output (make mrproper);
#   - a git work tree (.git at its top), e.g. a checkout with local commits: the files
#     git tracks plus the untracked ones it does not ignore, as they are in the work
#     tree (uncommitted edits included). .git and ignored build output are not taken.
# A directory is mirrored into <home>/pristine at every run, as a clean source tree;
# that mirror, or the unpacked tarball, is "the pristine tree" (.crashkey-base in the
# prepared tree), which check-unchanged.sh compares against.
#
# Every KSRC keeps its own prepared tree, so that alternating between trees loses
# neither tree (nor the build dirs made from it):
#   the default tarball   $CRASHKEY_CACHE/src/linux-source-6.12 and $CRASHKEY_CACHE/tree
#   any other KSRC        $CRASHKEY_CACHE/trees/<name>-<hash of its path>/{pristine,tree}
#
# Trees are hard links to the pristine files (copies where the cache is on another file
# system than KSRC): 1.7 GB and 87,000 files cost seconds, not a copy. Hence the one
# rule of this script: a file in a tree is never written in place, only replaced
# (written elsewhere, or unlinked first), or the write would go through to the pristine
# tree, and for a directory KSRC to the user's own files. Kbuild with O= only reads the
# tree. Do not edit files in a prepared tree: edit KSRC and run this again.
#
# Only files whose content changed are replaced, with their mtimes, so incremental
# builds stay incremental. New files come from kernel/, include/ and
# arch-backends/<arch>/; every *.patch there is applied with patch -p1, in a staging dir
# first: a patch that does not apply stops the run, with patch's report, before the tree
# is touched. A hunk applied with fuzz is reported too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# lib.sh's default KSRC: its tree keeps the place it always had.
DEFAULT_KSRC=/usr/src/linux-source-6.12.tar.xz

check_version() {	# check_version DIR
	local v p
	[ -f "$1/Makefile" ] || die "$1 is not a kernel tree (no Makefile)"
	v=$(sed -n 's/^VERSION = //p' "$1/Makefile")
	p=$(sed -n 's/^PATCHLEVEL = //p' "$1/Makefile")
	[ "$v.$p" = 6.12 ] || die "$1 is Linux $v.$p; crashkey patches are for 6.12.y"
}

# The cache's name for a KSRC: readable, and unique by its absolute path.
source_key() {
	local name hash
	name=$(basename "$1" | sed 's/\.tar\(\.[^.]*\)\{0,1\}$//; s/\.tgz$//' | tr -c 'A-Za-z0-9._+\n-' _)
	hash=$(printf '%s' "$1" | sha256sum | cut -c1-12)
	printf '%s-%s\n' "$name" "$hash"
}

# Files of a directory KSRC: for a git work tree (.git at its top), what git tracks and
# the untracked files it does not ignore; for any other directory, everything
# (sync_dir's default). The work tree may belong to another user than the one running
# this (root, for make check): it is trusted for this one command.
source_list() {	# source_list DIR OUT
	rm -f "$2"
	[ -e "$1/.git" ] || return 0
	command -v git >/dev/null || die "KSRC=$1 is a git work tree, and git is not installed"
	git -c safe.directory="$1" -C "$1" ls-files -z --cached --others --exclude-standard |
		tr '\0' '\n' > "$2" || die "git cannot list the files of KSRC=$1"
}

# Replace (never write into) FILE with a copy of SRC: a new inode and a new mtime.
replace_file() {	# replace_file SRC FILE
	mkdir -p "$(dirname "$2")"
	cp "$1" "$2.crashkey-new"
	mv -f "$2.crashkey-new" "$2"
}

# ---- the pristine tree ------------------------------------------------------

unpack_tarball() {	# unpack_tarball TARBALL DIR
	local id
	id="$1 $(stat -c '%s %Y' "$1")"
	if [ -f "$2/.unpacked" ]; then
		# An empty marker was written by an earlier version of this script.
		[ -s "$2/.unpacked" ] || printf '%s\n' "$id" > "$2/.unpacked"
		[ "$(cat "$2/.unpacked")" != "$id" ] || return 0
		note "$1 changed since it was unpacked"
	fi
	note "unpacking $1"
	rm -rf "$2" && mkdir -p "$2"
	tar -xf "$1" -C "$2" --strip-components=1
	printf '%s\n' "$id" > "$2/.unpacked"
}

# ---- the overlay ------------------------------------------------------------

# Overlay roots, each mirrored onto the tree root, with the folders taken from it: the
# core (kernel/ and include/ of this repository), then every arch backend.
overlay_roots() {
	printf '%s kernel include\n' "$CRASHKEY_TOP"
	local d
	for d in "$CRASHKEY_TOP"/arch-backends/*/; do
		printf '%s .\n' "${d%/}"
	done
}

# Files of the overlay that go into the tree as they are (not patches, not docs).
overlay_files() {
	local root=$1
	shift
	(cd "$root" && find "$@" -type f ! -name '*.patch' ! -name '*.md' | sed 's|^\./||' | sort)
}

overlay_patches() {
	local root=$1
	shift
	(cd "$root" && find "$@" -type f -name '*.patch' | sort | sed "s|^|$root/|")
}

patch_targets() {
	sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$1"
}

stage_overlay() {
	local pristine=$1 stage=$2 root f p out list=$2.list
	local -a dirs
	while read -r root; do
		read -ra dirs <<<"${root#* }"
		root=${root%% *}
		overlay_files "$root" "${dirs[@]}" > "$list"
		copy_files "$root" "$stage" "$list"
	done < <(overlay_roots)

	while read -r root; do
		read -ra dirs <<<"${root#* }"
		root=${root%% *}
		while read -r p; do
			: > "$list"
			while read -r f; do
				[ -e "$stage/$f" ] && continue
				[ -f "$pristine/$f" ] || die "$(basename "$p") patches $f, which $pristine lacks"
				printf '%s\n' "$f" >> "$list"
			done < <(patch_targets "$p")
			copy_files "$pristine" "$stage" "$list"
			if ! out=$(patch -p1 -d "$stage" --forward --batch --no-backup-if-mismatch \
				--reject-file=- --dry-run < "$p" 2>&1); then
				printf '%s\n' "$out" | sed 's/^/    /' >&2
				die "patch ${p#"$CRASHKEY_TOP"/} does not apply to $pristine (KSRC=$KSRC)"
			fi
			# Fuzz means a hunk went where its context only roughly matched: say so.
			[[ $out != *"with fuzz"* ]] ||
				note "${p#"$CRASHKEY_TOP"/}: $(grep 'with fuzz' <<<"$out" | tr '\n' ' ')"
			patch -p1 -d "$stage" --forward --batch --no-backup-if-mismatch -s < "$p"
		done < <(overlay_patches "$root" "${dirs[@]}")
	done < <(overlay_roots)
	rm -f "$list"
}

# Put the staged files into the tree where their content differs; give back the
# pristine version of any file a previous run changed and this one no longer does, as a
# new file (a link would bring back the pristine file's old mtime, older than the
# objects built from the patched one).
sync_tree() {	# sync_tree PRISTINE STAGE TREE NEW_MANIFEST
	local pristine=$1 stage=$2 tree=$3 new_manifest=$4 f work
	local manifest=$tree/.crashkey-manifest
	work=$(mktemp -d)
	if [ -f "$manifest" ]; then
		sort "$manifest" | comm -23 - <(sort "$new_manifest") > "$work/dropped"
		while read -r f; do
			if [ -f "$pristine/$f" ]; then echo "$f" >> "$work/restore"; else rm -f "$tree/$f"; fi
		done < "$work/dropped"
		[ ! -f "$work/restore" ] || copy_files "$pristine" "$tree" "$work/restore"
	fi
	# Staged files whose content is not in the tree yet.
	(cd "$stage" && tr '\n' '\0' < "$new_manifest" | xargs -0 sha256sum --) > "$work/want"
	(cd "$tree" && tr '\n' '\0' < "$new_manifest" | xargs -0 sha256sum -- 2>/dev/null) > "$work/have" || true
	awk 'FILENAME == ARGV[1] { have[$0] = 1; next } !($0 in have) { sub(/^[0-9a-f]+  /, ""); print }' \
		"$work/have" "$work/want" > "$work/update"
	copy_files "$stage" "$tree" "$work/update"
	replace_file "$new_manifest" "$manifest"
	rm -rf "$work"
	# The rule above, checked: no file the overlay writes is the pristine file.
	while read -r f; do
		! [ "$tree/$f" -ef "$pristine/$f" ] || die "internal error: $tree/$f is a link to $pristine/$f"
	done < "$new_manifest"
}

main() {
	local ksrc home pristine tree keep list
	[ -e "$KSRC" ] || die "no kernel source at $KSRC (install linux-source-6.12 or set KSRC=)"
	ksrc=$(realpath "$KSRC")
	if [ "$ksrc" = "$(realpath -m "$DEFAULT_KSRC")" ]; then
		home=$CRASHKEY_CACHE
		pristine=$CRASHKEY_CACHE/src/$(basename "$ksrc" | sed 's/\.tar\..*//')
		tree=$CRASHKEY_CACHE/tree
	else
		home=$CRASHKEY_CACHE/trees/$(source_key "$ksrc")
		pristine=$home/pristine
		tree=$home/tree
	fi
	[ -f "$ksrc" ] || [ -d "$ksrc" ] || die "KSRC=$KSRC is neither a tarball nor a directory"
	if [ -d "$ksrc" ]; then
		check_version "$ksrc"
		# Builds with O= refuse a source tree with in-tree build output; git work
		# trees are fine (ignored files are not taken).
		if [ ! -e "$ksrc/.git" ] && { [ -e "$ksrc/.config" ] || [ -d "$ksrc/include/config" ]; }; then
			die "KSRC=$KSRC holds in-tree build output (.config): run 'make mrproper' there (or build it with O=)"
		fi
	fi
	mkdir -p "$home"
	# One run at a time per tree (the matrix and the static checks may overlap).
	exec 9>"$home/.crashkey-lock"
	flock 9

	STAGE=$(mktemp -d)
	trap 'rm -rf "$STAGE"' EXIT
	if [ -f "$ksrc" ]; then
		unpack_tarball "$ksrc" "$pristine"
	else
		source_list "$ksrc" "$STAGE/list"
		list=
		[ ! -f "$STAGE/list" ] || list=$STAGE/list
		sync_dir "$ksrc" "$pristine" /dev/null "$list"
	fi
	check_version "$pristine"

	mkdir -p "$STAGE/overlay"
	stage_overlay "$pristine" "$STAGE/overlay"
	(cd "$STAGE/overlay" && find . -type f | sed 's|^\./||' | sort) > "$STAGE/manifest"

	# The tree: the pristine files, except those the overlay writes, now or last time.
	keep=$STAGE/keep
	cat "$STAGE/manifest" "$tree/.crashkey-manifest" 2>/dev/null | sort -u > "$keep" || true
	[ -d "$tree" ] || note "preparing $tree from $pristine"
	sync_dir "$pristine" "$tree" "$keep"
	sync_tree "$pristine" "$STAGE/overlay" "$tree" "$STAGE/manifest"
	if [ "$(cat "$tree/.crashkey-base" 2>/dev/null)" != "$pristine" ]; then
		printf '%s\n' "$pristine" > "$STAGE/base"
		replace_file "$STAGE/base" "$tree/.crashkey-base"
	fi
	printf '%s\n' "$tree"
}

main "$@"
