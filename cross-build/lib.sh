# shellcheck shell=bash
# Shared settings for the cross-build scripts. Everything that must survive between runs
# (pristine source, patched tree, build dirs, ccache, downloaded .debs) lives under
# CRASHKEY_CACHE, outside the clone, so that CI on the same machine finds it warm.

CRASHKEY_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CRASHKEY_CACHE=${CRASHKEY_CACHE:-/var/cache/crashkey}
KSRC=${KSRC:-/usr/src/linux-source-6.12.tar.xz}
export CCACHE_DIR=${CCACHE_DIR:-$CRASHKEY_CACHE/ccache}
# Depend mode: a miss runs the compiler once, not the preprocessor first (an x86_64 kernel
# from an empty cache: 711 s instead of 831 s); kbuild's -Wp,-MMD gives it the headers.
export CCACHE_DEPEND=${CCACHE_DEPEND:-1}

die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }

# Kernel builds run make themselves; a make that called us must not leak its
# command-line variables (ARCH=ppc64le would reach the kernel's make).
unset MAKEFLAGS MAKEOVERRIDES MFLAGS MAKELEVEL

# Map a user-facing arch name (x86_64, arm64, ppc64le, s390x) to its build facts.
load_arch() {
	local conf=$CRASHKEY_TOP/cross-build/arch/$1.conf
	[ -f "$conf" ] || die "unknown ARCH '$1' (known: $(known_arches))"
	# shellcheck source=/dev/null
	. "$conf"
}

# make in a kernel tree as every build here runs it (load_arch first): out of tree, with
# ccache, and with a fixed build stamp (uname -v "#1 ... crashkey@crashkey"), so that the
# same sources give the same image and make kernel-deb's first package of the matrix's
# kernel (revision 1) relinks nothing.
kernel_make() {	# kernel_make TREE OUT MAKE-ARGS...
	local tree=$1 out=$2
	shift 2
	make -s -C "$tree" O="$out" ARCH="$KARCH" CROSS_COMPILE="$CROSS_COMPILE" \
		CC="ccache ${CROSS_COMPILE}gcc" KBUILD_BUILD_TIMESTAMP="2026-01-01 00:00:00" \
		KBUILD_BUILD_USER=crashkey KBUILD_BUILD_HOST=crashkey KBUILD_BUILD_VERSION=1 "$@"
}

# The arch whose kernel, tool and guest a matrix machine boots: the machine's name, or
# the KERNEL_ARCH its facts (ci-matrix/arch/<machine>.conf) give (ppc64le_hash).
machine_kernel_arch() {
	local arch
	arch=$(sed -n 's/^KERNEL_ARCH=//p' "$CRASHKEY_TOP/ci-matrix/arch/$1.conf" 2>/dev/null)
	echo "${arch:-$1}"
}

known_arches() {
	local f
	for f in "$CRASHKEY_TOP"/cross-build/arch/*.conf; do
		f=${f##*/}
		printf '%s ' "${f%.conf}"
	done
}

# ---- trees of hard links ----------------------------------------------------
# A tree made of hard links to another's files is written only by replacing a file
# (unlinking it first), never into it: that would write through to the other tree.

# Can TO hold hard links to FROM's files (same file system)?
can_link() {	# can_link FROM_FILE TO_DIR
	local probe=$2/.crashkey-link-probe
	rm -f "$probe"
	if ln "$1" "$probe" 2>/dev/null; then
		rm -f "$probe"
		return 0
	fi
	return 1
}

# Make TO hold FROM's files (every non-directory, or those LIST names), as hard links
# (or copies), leaving alone what KEEP names and TO's own .crashkey-* files. A file is
# replaced when it is not FROM's (link: another inode; copy: another size or mtime);
# mtimes go with the files, so a build sees exactly the files that changed as new.
# .git at FROM's top is never taken. Paths are one a line (kernel trees have no newlines
# in file names).
sync_dir() {	# sync_dir FROM TO KEEP [LIST]
	local from=$1 to=$2 keep=$3 list=${4:-} fmt how w
	mkdir -p "$to"
	if can_link "$from/Makefile" "$to"; then
		fmt='%P\t%y %i\n' how=-al
	else
		note "$to is on another file system than $from: copying instead of linking"
		fmt='%P\t%y %s %T@\n' how=-a
	fi
	w=$(mktemp -d)
	# "path<TAB>signature", sorted: in the C locale that is sorted by path as well.
	find "$from" -path "$from/.git" -prune -o ! -type d -printf "$fmt" | own_files "$keep" > "$w/want"
	if [ -n "$list" ]; then
		LC_ALL=C sort -u "$list" | LC_ALL=C join -t "$(printf '\t')" - "$w/want" > "$w/listed"
		mv "$w/listed" "$w/want"
	fi
	find "$to" ! -type d -printf "$fmt" | own_files "$keep" > "$w/have"
	LC_ALL=C comm -23 "$w/want" "$w/have" | cut -f1 > "$w/updates"
	LC_ALL=C comm -23 <(cut -f1 "$w/have") <(cut -f1 "$w/want") > "$w/deletions"
	if [ -s "$w/deletions" ]; then
		(cd "$to" && tr '\n' '\0' < "$w/deletions" | xargs -0 rm -f --)
		find "$to" -mindepth 1 -type d -empty -delete
	fi
	# --remove-destination: a file is unlinked before it is linked or copied anew, never
	# written into (it may be a hard link to another tree).
	if [ -s "$w/updates" ]; then
		(cd "$from" && tr '\n' '\0' < "$w/updates" |
			xargs -0 cp "$how" --remove-destination --parents -t "$to" --)
	fi
	rm -rf "$w"
}

# own_files KEEP: stdin's "path<TAB>..." lines, sorted, without the paths KEEP names and
# without the cache's own files.
own_files() {
	awk -F'\t' 'FILENAME == ARGV[1] { keep[$0] = 1; next }
		!($1 in keep) && $1 !~ /^\.crashkey-/ && $1 != ".unpacked"' "$1" - | LC_ALL=C sort
}

# copy_files FROM TO LIST: copy the files LIST names (relative to FROM) to the same
# place under TO, in one go. A file already at TO is unlinked first, never written into.
copy_files() {
	[ -s "$3" ] || return 0
	(cd "$1" && tr '\n' '\0' < "$3" | xargs -0 cp --remove-destination --parents -t "$2" --)
}

