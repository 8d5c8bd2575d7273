#!/usr/bin/env bash
# A kernel built without CONFIG_CRASH_KEY_HANDOVER is unchanged: every existing C file that
# the overlay patches, if this arch's minimal config builds it, compiles to the same
# object from the patched tree as from the pristine one: same code, same calls, same
# data, same symbols. The same config and the same objects in every directory the
# overlay's Makefiles or C files are in, too.
#
#   cross-build/check-unchanged.sh <arch>             prints TAP; exit 1 on any failure
#       CRASHKEY_UNCHANGED_FRESH=1: check even if the inputs match the last passing run
#   cross-build/check-unchanged.sh --compare OLD NEW  exit 1 and a diff if two objects differ
#   cross-build/check-unchanged.sh --dump OBJ         the object as compared
# (--compare and --dump use ${CROSS_COMPILE}objdump.)
#
# Which objects "this config builds" is asked of kbuild itself, not guessed from a
# trial build: building a single object (make kernel/foo.o) compiles any foo.c through
# a pattern rule, whether or not the config selects it, and with the flags of whatever
# directory the descent stopped in (arch/s390/boot/startup.o built that way gets
# arch/s390's flags, not the decompressor's). So "it builds" says nothing, and "it does
# not build" may be an error the config does hit. Instead a small makefile, read by
# every make of the build (MAKEFILES=), makes kbuild print a directory's object list as
# scripts/Makefile.build computes it (obj-y/obj-m/lib-y expanded, subdirectories to
# descend into). A file is built if kbuild descends from the top (or from the kernel
# image's directory, like arch/s390/boot, which the image rule builds) to its directory,
# and the directory lists its object. Then a build failure of that object, pristine or
# patched, is a failure; anything else is skipped with a "# skip" line saying why.
# A run that compares no object at all fails.
set -euo pipefail

# ---- comparing two objects --------------------------------------------------

# Everything of an object file that ends up in a kernel, as text: section headers (name,
# size, alignment, flags; not file offsets), the symbol table (values are offsets in
# their sections, so they are the same in identical objects), every relocation (a call
# or reference to another function or variable changes only a relocation on RELA
# arches), the disassembly with its relocations, and the contents of every other
# section. Left out: debug sections (their DWARF names the build directory, which
# differs; the checked configs have no debug info anyway) and the file's own path
# (the dump runs in the object's directory). __FILE__ strings need no care: kbuild
# builds with -fmacro-prefix-map=<srctree>/=, so both trees yield the same relative path.
# One thing legitimately differs and is normalized: the name of an initcall's pointer,
# __initcall__kmod_<file>__<counter>_<line>_<function><level>, carries __LINE__, which
# moves with any hunk above it (seen in arch/x86/kernel/setup.o). The counter, the
# function and the section stay compared.
dump_object() {	# dump_object OBJ
	raw_dump "$1" | sed -E 's/(__init(call|stub)__kmod_[A-Za-z0-9_]+__[0-9]+_)[0-9]+_/\1LINE_/g'
}

raw_dump() {	# raw_dump OBJ
	local od=${CROSS_COMPILE:-}objdump base
	base=${1##*/}
	[[ $1 != */* ]] || cd "${1%/*}/" || return
	[ -f "$base" ] || { echo "no such object: $1" >&2; return 1; }
	# Section headers ("Idx Name Size VMA LMA File-off Algn Flags..."), the symbol table,
	# the relocations of every section.
	"$od" -h -t -r -w "$base" | awk -v debug='^\\[?\\.(z?debug|gnu\\.debuglto_)' '
		/^Sections:$/ { mode = "h"; print "== sections"; next }
		/^SYMBOL TABLE:$/ { mode = "t"; print "== symbols and relocations"; next }
		/^RELOCATION RECORDS FOR \[/ { skip = ($4 ~ debug) }
		mode == "h" && $1 ~ /^[0-9]+$/ && $2 !~ debug {
			n++; f = ""; for (i = 8; i <= NF; i++) f = f " " $i; print $2, $3, $7, f }
		mode == "t" && !skip
		END { if (!n) { print "no sections" > "/dev/stderr"; exit 1 } }' || return
	# The contents of every section, then the disassembly with its relocations.
	"$od" -d -r -s -w "$base" | awk -v debug='^\\.(z?debug|gnu\\.debuglto_)' '
		/^(Contents|Disassembly) of section / { skip = ($4 ~ debug) }
		NR > 3 && !skip'
}

# Exit 0 if OLD and NEW are the same object, else print the difference and exit 1.
compare_objects() {	# compare_objects OLD NEW
	local a b status=0
	a=$(mktemp) b=$(mktemp)
	if ! (dump_object "$1") > "$a" || ! (dump_object "$2") > "$b"; then
		rm -f "$a" "$b"
		return 2
	fi
	diff -u --label "$1" --label "$2" "$a" "$b" || status=1
	rm -f "$a" "$b"
	return "$status"
}

case "${1:-}" in
--compare)
	[ $# = 3 ] || { echo "usage: $0 --compare OLD.o NEW.o" >&2; exit 2; }
	compare_objects "$2" "$3"
	exit ;;
--dump)
	[ $# = 2 ] || { echo "usage: $0 --dump OBJ" >&2; exit 2; }
	dump_object "$2"
	exit ;;
esac

# ---- the check for one arch -------------------------------------------------

. "$(dirname "$0")/lib.sh"
ARCH_NAME=${1:?usage: check-unchanged.sh <arch> | --compare OLD NEW | --dump OBJ}
load_arch "$ARCH_NAME"
TREE=$("$CRASHKEY_TOP/cross-build/prepare-tree.sh")
PRISTINE=$(cat "$TREE/.crashkey-base")
# Build dirs of another KSRC than the default are its own (prepare-tree.sh keeps a
# tree per KSRC): switching KSRC must not turn a warm build dir cold.
TAG=
[ "$TREE" = "$CRASHKEY_CACHE/tree" ] || TAG=-$(basename "$(dirname "$TREE")")
# Both sides build in one source tree and one build directory, one side after the
# other: SRC holds the pristine tree's files (hard links), and the files the overlay
# writes are swapped between their pristine and patched versions. One prepared build
# directory instead of two (a cold prepare is most of this check's time), and the
# objects of both sides come from the same paths.
SRC=$CRASHKEY_CACHE/build/$ARCH_NAME-unchanged-src$TAG
OUT=$CRASHKEY_CACHE/build/$ARCH_NAME-unchanged$TAG

# Everything the verdict depends on, hashed: this script, the config fragments, the
# compiler, the pristine source (Debian's tarball by path, size and time) and every file
# the overlay puts into the tree. A run whose inputs match the last passing run's prints
# that run's results instead of rebuilding both trees (minutes per arch). Any other KSRC
# is always checked afresh: its pristine mirror has no cheap identity.
inputs_key() {
	[ "$TREE" = "$CRASHKEY_CACHE/tree" ] && [ -f "$KSRC" ] || return 1
	{
		cat "$0" "$CRASHKEY_TOP/cross-build/lib.sh" "$CRASHKEY_TOP/cross-build/config/common.config"
		printf '%s\n' "$ARCH_NAME" "$KARCH" "$CONFIG_LINES" "$PRISTINE"
		"${CROSS_COMPILE}gcc" -v 2>&1 | tail -n 1
		stat -L -c '%n %s %Y' "$KSRC"
		(cd "$TREE" && tr '\n' '\0' < .crashkey-manifest | xargs -0 sha256sum --)
	} | sha256sum | cut -d' ' -f1
}

RESULT_CACHE=$CRASHKEY_CACHE/build/$ARCH_NAME-unchanged.passed
if [ -z "${CRASHKEY_UNCHANGED_FRESH:-}" ] && key=$(inputs_key); then
	if [ "$(head -n 1 "$RESULT_CACHE" 2>/dev/null)" = "$key" ]; then
		echo "# inputs unchanged since the passing run of $(date -r "$RESULT_CACHE" '+%F %T'): its results"
		tail -n +2 "$RESULT_CACHE"
		exit 0
	fi
	status=0
	out=$(CRASHKEY_UNCHANGED_FRESH=1 "$0" "$ARCH_NAME") || status=$?
	printf '%s\n' "$out"
	if [ "$status" = 0 ]; then
		printf '%s\n%s\n' "$key" "$out" > "$RESULT_CACHE"
	else
		rm -f "$RESULT_CACHE"
	fi
	exit "$status"
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# The two build directories of earlier versions of this check.
rm -rf "$CRASHKEY_CACHE/build/$ARCH_NAME-unchanged-pristine$TAG" \
	"$CRASHKEY_CACHE/build/$ARCH_NAME-unchanged-patched$TAG"

kmake() {
	make -s -C "$SRC" O="$OUT" ARCH="$KARCH" CROSS_COMPILE="$CROSS_COMPILE" \
		CC="ccache ${CROSS_COMPILE}gcc" "$@"
}

# The overlay's files, now and in SRC's last run (a file the overlay no longer writes
# must come back pristine).
# (Not one sort of both files: sort prints nothing when one is missing, as it is in a new
# SRC, and with nothing swapped both sides were pristine and every comparison passed.)
SWAPPED=$WORK/swapped
{ cat "$TREE/.crashkey-manifest"; cat "$SRC/.crashkey-swapped" 2>/dev/null || true; } |
	sort -u > "$SWAPPED"
[ -s "$SWAPPED" ] || die "the overlay writes no file into $TREE (empty .crashkey-manifest)"

# put_side pristine|patched: every swapped file as that side has it, or absent where
# that side has none; always a new copy, never a link, so that make takes it for newer
# than whatever was built from the other side.
put_side() {
	local from=$PRISTINE f
	[ "$1" = pristine ] || from=$TREE
	while read -r f; do
		rm -f "$SRC/$f"
		[ ! -f "$from/$f" ] || printf '%s\n' "$f"
	done < "$SWAPPED" > "$WORK/present"
	copy_files "$from" "$SRC" "$WORK/present"
	SIDE=$1
}

# The pristine side gets the same minimal config as the matrix kernels, without the
# feature and its tests. The patched side takes that .config through olddefconfig, as
# an existing config meets a new kernel: the patched Kconfig files still decide every
# select, dependency and computed symbol, and the feature's new symbols get their
# defaults. (Visible symbols keep their values either way: tinyconfig sets all of them.)
# The second tinyconfig this spares is a sixth of a cold check's time.
configure() {
	mkdir -p "$OUT"
	if [ "$SIDE" = pristine ]; then
		{ grep -v '^#' "$CRASHKEY_TOP/cross-build/config/common.config"
		  printf '%s\n' "$CONFIG_LINES"; } > "$OUT/fragment"
		kmake tinyconfig >/dev/null
		(cd "$SRC" && ARCH=$KARCH CROSS_COMPILE=$CROSS_COMPILE \
			scripts/kconfig/merge_config.sh -m -O "$OUT" "$OUT/.config" "$OUT/fragment" >/dev/null)
	else
		cp "$WORK/pristine.config" "$OUT/.config"
	fi
	kmake olddefconfig >/dev/null
	kmake -j"$(nproc)" prepare >/dev/null
	cp "$OUT/.config" "$WORK/$SIDE.config"
}

# Read by every make of a kbuild run (MAKEFILES=): "crashkey-objs/<dir>" prints what
# scripts/Makefile.build builds in <dir>; "crashkey-build/<dir> CRASHKEY_OBJ=<obj>"
# builds one object the way <dir>'s own build does (for the image's directory, which
# the top-level descent never enters).
cat > "$WORK/kbuild-query.mk" <<'EOF'
crashkey-objs/%: FORCE
	$(Q)$(MAKE) $(build)=$* need-builtin=1 need-modorder=1 crashkey-objs
crashkey-objs:
	@echo 'crashkey-objs $(obj): $(sort $(filter %.o,$(real-obj-y) $(real-obj-m) $(lib-y))) $(addsuffix /,$(subdir-ym))'
crashkey-build/%: FORCE
	$(Q)$(MAKE) $(build)=$* need-builtin=1 need-modorder=1 $(CRASHKEY_OBJ)
EOF

# kbuild_lists DIR...: "DIR: objects and subdirs/" for each DIR kbuild can read, on the
# side SRC holds; directories that do not exist or do not parse for this arch print
# nothing.
kbuild_lists() {
	MAKEFILES=$WORK/kbuild-query.mk kmake -k "${@/#/crashkey-objs/}" \
		2>"$WORK/$SIDE-query.log" | sed -n 's/^crashkey-objs //p' || true
}

# Patched files that exist in the pristine tree: the changes to existing code.
changed_files() {	# changed_files SUFFIX
	local f
	while read -r f; do
		[[ $f == *"$1" ]] || continue
		[ -f "$PRISTINE/$f" ] && printf '%s\n' "$f"
	done < "$TREE/.crashkey-manifest"
}

# Directories that kbuild may have to be asked about: those of the changed C files and
# Makefiles, with every parent that has a kbuild file.
query_dirs() {
	local f d
	{
		echo .
		for f in $(changed_files .c) $(changed_files /Makefile); do
			d=$(dirname "$f")
			while [ "$d" != . ]; do
				[ ! -f "$PRISTINE/$d/Makefile" ] && [ ! -f "$PRISTINE/$d/Kbuild" ] || echo "$d"
				d=$(dirname "$d")
			done
		done
	} | sort -u
}

# where_built DIR: the root kbuild reaches DIR from (the top, or the image's directory),
# following the subdirectories each directory on the way lists; fails if it does not.
declare -A LIST_OLD LIST_NEW
IMAGE_DIR=$(dirname "$KERNEL_IMAGE")
where_built() {
	local target=$1 root cur next e found
	for root in . "$IMAGE_DIR"; do
		[ "$root" = . ] || [ "$target" = "$root" ] || [[ $target == "$root"/* ]] || continue
		cur=$root
		while [ "$cur" != "$target" ]; do
			[ -n "${LIST_OLD[$cur]+set}" ] || { cur=; break; }
			found=
			for e in ${LIST_OLD[$cur]}; do
				[[ $e == */ ]] || continue
				next=${e%/}
				if [ "$target" = "$next" ] || [[ $target == "$next"/* ]]; then
					found=$next
					break
				fi
			done
			[ -n "$found" ] || { cur=; break; }
			cur=$found
		done
		[ -z "$cur" ] || { echo "$root"; return 0; }
	done
	return 1
}

n=0
failed=0
tap() {	# tap ok|fail NAME [DETAILS]
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n - $ARCH_NAME: $2"
	else
		failed=1
		echo "not ok $n - $ARCH_NAME: $2"
		[ -z "${3:-}" ] || printf '%s\n' "$3" | head -n 40 | sed 's/^/# /'
	fi
}

# build_object ROOT OBJ: build OBJ as the full build would, from the side SRC holds.
build_object() {
	rm -f "$OUT/$2"
	if [ "$1" = . ]; then
		kmake "$2"
	else
		MAKEFILES=$WORK/kbuild-query.mk kmake "crashkey-build/$1" CRASHKEY_OBJ="$2"
	fi
	[ -f "$OUT/$2" ] || { echo "kbuild left no $2"; return 1; }
}

# build_all: the object of every file in ROOT, from the side SRC holds. Those of the
# top-level descent in one make (a make spends seconds before it compiles anything),
# the others one by one. An object that did not build is built once more alone, for its
# errors, which go to BUILD_ERROR[file].
declare -A ROOT BUILD_ERROR
build_all() {
	local f obj out
	local -a top=()
	BUILD_ERROR=()
	for f in "${!ROOT[@]}"; do
		obj=${f%.c}.o
		rm -f "$OUT/$obj"
		[ "${ROOT[$f]}" != . ] || top+=("$obj")
	done
	[ ${#top[@]} = 0 ] || kmake -k -j"$(nproc)" "${top[@]}" >/dev/null 2>&1 || true
	for f in "${!ROOT[@]}"; do
		obj=${f%.c}.o
		[ -f "$OUT/$obj" ] && continue
		out=$(build_object "${ROOT[$f]}" "$obj" 2>&1) || BUILD_ERROR[$f]=$out
	done
}

# ---- the pristine side: config, object lists, objects ----
[ -d "$SRC" ] || note "preparing $SRC from $PRISTINE"
sync_dir "$PRISTINE" "$SRC" "$SWAPPED"
put_side pristine
configure
mapfile -t DIRS < <({ query_dirs; echo "$IMAGE_DIR"; } | sort -u)
while IFS= read -r line; do LIST_OLD[${line%%:*}]=${line#*: }; done < <(kbuild_lists "${DIRS[@]}")
[ -n "${LIST_OLD[.]+set}" ] || die "kbuild did not list the top directory: $(tail -n 5 "$WORK/pristine-query.log")"

# The changed C files this config builds, each with the root kbuild reaches it from,
# built from the pristine side and kept aside.
declare -A PRISTINE_ERROR
skipped=0
for f in $(changed_files .c); do
	obj=${f%.c}.o
	dir=$(dirname "$f")
	if ! root=$(where_built "$dir"); then
		echo "# skip $f: this config does not build $dir/"
		skipped=$((skipped + 1))
	elif [[ " ${LIST_OLD[$dir]} " != *" $obj "* ]]; then
		echo "# skip $f: this config builds $dir/ but not $obj"
		skipped=$((skipped + 1))
	else
		ROOT[$f]=$root
	fi
done
build_all
for f in "${!ROOT[@]}"; do
	obj=${f%.c}.o
	if [ -n "${BUILD_ERROR[$f]+set}" ]; then
		PRISTINE_ERROR[$f]=${BUILD_ERROR[$f]}
	else
		mkdir -p "$(dirname "$WORK/pristine/$obj")"
		mv "$OUT/$obj" "$WORK/pristine/$obj"
	fi
done

# ---- the patched side, with CRASH_KEY_HANDOVER=n ----
# The swapped files are recorded before anything is built from them: an interrupted run
# still gives every one of them back at the next.
cp "$TREE/.crashkey-manifest" "$WORK/manifest"
mv "$WORK/manifest" "$SRC/.crashkey-swapped"
put_side patched
configure
if grep -q '^CONFIG_CRASH_KEY_HANDOVER=y' "$OUT/.config"; then
	die "CRASH_KEY_HANDOVER is on in $OUT"
fi
while IFS= read -r line; do LIST_NEW[${line%%:*}]=${line#*: }; done < <(kbuild_lists "${DIRS[@]}")
build_all

# Kconfig changes: the patched tree's config differs in the feature's own symbols only.
if out=$(diff <(grep -v CRASH_KEY_HANDOVER "$WORK/pristine.config") \
	<(grep -v CRASH_KEY_HANDOVER "$WORK/patched.config")); then
	tap ok "same .config from both trees, apart from the CRASH_KEY_HANDOVER symbols"
else
	tap fail "same .config from both trees, apart from the CRASH_KEY_HANDOVER symbols" "$out"
fi

# Makefile changes: every directory on the way to a changed file or Makefile that this
# config builds has the same objects and subdirectories from both trees.
for d in "${DIRS[@]}"; do
	where_built "$d" >/dev/null || continue
	if [ -z "${LIST_OLD[$d]+set}" ]; then
		tap fail "kbuild lists what it builds in $d" "$(tail -n 20 "$WORK/pristine-query.log")"
	elif [ "${LIST_OLD[$d]}" = "${LIST_NEW[$d]:-}" ]; then
		tap ok "kbuild builds the same objects in $d/ from both trees"
	else
		tap fail "kbuild builds the same objects in $d/ from both trees" \
			"$(diff <(tr ' ' '\n' <<<"${LIST_OLD[$d]}") <(tr ' ' '\n' <<<"${LIST_NEW[$d]:-}"))"
	fi
done

compared=0
for f in $(changed_files .c); do
	[ -n "${ROOT[$f]+set}" ] || continue
	obj=${f%.c}.o
	name="$f unchanged with CRASH_KEY_HANDOVER=n"
	if cmp -s "$PRISTINE/$f" "$TREE/$f"; then
		tap fail "$name" "the patched and the pristine $f are the same file: nothing to compare (was the pristine tree written through a link?)"
	elif ! cmp -s "$TREE/$f" "$SRC/$f"; then
		tap fail "$name" "the patched side was not built from the patched $f"
	elif [ -n "${PRISTINE_ERROR[$f]+set}" ]; then
		tap fail "$f builds from the pristine tree" "${PRISTINE_ERROR[$f]}"
	elif [ -n "${BUILD_ERROR[$f]+set}" ]; then
		tap fail "$f builds with CRASH_KEY_HANDOVER=n" "${BUILD_ERROR[$f]}"
	elif out=$(compare_objects "$WORK/pristine/$obj" "$OUT/$obj" 2>&1); then
		compared=$((compared + 1))
		tap ok "$name"
	else
		[ $? = 2 ] || compared=$((compared + 1))
		tap fail "$name" "$out"
	fi
done

echo "# $compared patched C files compared, $skipped not built by this config"
if [ "$compared" = 0 ]; then
	tap fail "at least one patched C file compared"
fi
echo "1..$n"
exit "$failed"
