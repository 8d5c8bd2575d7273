#!/usr/bin/env bash
# Prepare a 6.12 kernel tree with the crashkey overlay applied.
#
#   KSRC=<tarball or directory>  (default: Debian's linux-source-6.12 tarball)
#
# The pristine source is unpacked once; the patched tree persists under CRASHKEY_CACHE and
# only files whose content changed are rewritten, so incremental builds stay incremental.
# New files come from kernel/, include/ and arch-backends/<arch>/; every *.patch there is
# applied with patch -p1 and any patch that does not apply stops the build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pristine_dir() {
	if [ -d "$KSRC" ]; then
		[ -f "$KSRC/Makefile" ] || die "KSRC=$KSRC is not a kernel tree"
		printf '%s\n' "$KSRC"
		return
	fi
	[ -f "$KSRC" ] || die "no kernel source at $KSRC (install linux-source-6.12 or set KSRC=)"
	local dir
	dir=$CRASHKEY_CACHE/src/$(basename "$KSRC" | sed 's/\.tar\..*//')
	if [ ! -f "$dir/.unpacked" ]; then
		note "unpacking $KSRC"
		rm -rf "$dir" && mkdir -p "$dir"
		tar -xf "$KSRC" -C "$dir" --strip-components=1
		touch "$dir/.unpacked"
	fi
	printf '%s\n' "$dir"
}

check_version() {
	local v p
	v=$(sed -n 's/^VERSION = //p' "$1/Makefile")
	p=$(sed -n 's/^PATCHLEVEL = //p' "$1/Makefile")
	[ "$v.$p" = 6.12 ] || die "$1 is Linux $v.$p; crashkey patches are for 6.12.y"
}

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
	local pristine=$1 stage=$2 root f p
	local -a dirs
	while read -r root; do
		read -ra dirs <<<"${root#* }"
		root=${root%% *}
		while read -r f; do
			mkdir -p "$stage/$(dirname "$f")"
			cp "$root/$f" "$stage/$f"
		done < <(overlay_files "$root" "${dirs[@]}")
	done < <(overlay_roots)

	while read -r root; do
		read -ra dirs <<<"${root#* }"
		root=${root%% *}
		while read -r p; do
			while read -r f; do
				[ -e "$stage/$f" ] && continue
				[ -f "$pristine/$f" ] || die "$(basename "$p") patches $f, which $pristine lacks"
				mkdir -p "$stage/$(dirname "$f")"
				cp "$pristine/$f" "$stage/$f"
			done < <(patch_targets "$p")
			if ! patch -p1 -d "$stage" --forward --batch --no-backup-if-mismatch \
				--reject-file=- --dry-run -s < "$p" >/dev/null; then
				die "patch ${p#"$CRASHKEY_TOP"/} does not apply to $pristine"
			fi
			patch -p1 -d "$stage" --forward --batch --no-backup-if-mismatch -s < "$p"
		done < <(overlay_patches "$root" "${dirs[@]}")
	done < <(overlay_roots)
}

# Copy staged files whose content differs; put back the pristine version of any file a
# previous run changed and this one no longer does.
sync_tree() {
	local pristine=$1 stage=$2 tree=$3 f
	local manifest=$tree/.crashkey-manifest new_manifest
	new_manifest=$(cd "$stage" && find . -type f | sed 's|^\./||' | sort)
	if [ -f "$manifest" ]; then
		while read -r f; do
			[ -n "$f" ] || continue
			grep -qxF "$f" <<<"$new_manifest" && continue
			if [ -f "$pristine/$f" ]; then cp "$pristine/$f" "$tree/$f"; else rm -f "$tree/$f"; fi
		done < "$manifest"
	fi
	while read -r f; do
		[ -n "$f" ] || continue
		cmp -s "$stage/$f" "$tree/$f" && continue
		mkdir -p "$tree/$(dirname "$f")"
		cp "$stage/$f" "$tree/$f"
	done <<<"$new_manifest"
	printf '%s\n' "$new_manifest" > "$manifest"
}

main() {
	local pristine tree
	pristine=$(pristine_dir)
	check_version "$pristine"
	tree=$CRASHKEY_CACHE/tree
	if [ "$(cat "$tree/.crashkey-base" 2>/dev/null)" != "$pristine" ]; then
		note "copying $pristine to $tree"
		rm -rf "$tree" && mkdir -p "$tree"
		cp -a "$pristine/." "$tree/"
		rm -f "$tree/.unpacked"
		printf '%s\n' "$pristine" > "$tree/.crashkey-base"
	fi
	STAGE=$(mktemp -d)
	trap 'rm -rf "$STAGE"' EXIT
	stage_overlay "$pristine" "$STAGE"
	sync_tree "$pristine" "$STAGE" "$tree"
	printf '%s\n' "$tree"
}

main "$@"
