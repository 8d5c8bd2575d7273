#!/usr/bin/env bash
# Build the crashkey kernel for one arch:  cross-build/build.sh <arch> [extra make args]
#
# Config = tinyconfig + config/common.config + config/crashkey.config + config/test.config
# + the arch's CONFIG_LINES; every requested line must be in the final .config.
# Output: $CRASHKEY_CACHE/build/<arch>/<KERNEL_IMAGE> (build/<arch>-<tree> for another
# KSRC); prints that path on stdout.
#   FRAGMENTS="common crashkey test"  which config/*.config fragments to use
#   BUILD_TAG=<name>                  build dir suffix, to keep variant configs apart
#   BASE_CONFIG=<file>                start from this config instead of tinyconfig (a
#                                     distribution's: kernel-deb.sh, tests/distro-config.sh)
#   OVERLAY_OBJECTS=1                 build the objects of the overlay's C files that the
#                                     config builds, not the kernel
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ARCH_NAME=${1:?usage: build.sh <arch> [make args]}
shift
load_arch "$ARCH_NAME"
FRAGMENTS=${FRAGMENTS:-common crashkey test}

kmake() { kernel_make "$TREE" "$OUT" "$@"; }

write_fragment() {
	local f
	for f in $FRAGMENTS; do
		grep -v '^#' "$CRASHKEY_TOP/cross-build/config/$f.config"
	done
	# The arch's lines make the matrix's small kernel, not a distribution's.
	[ -n "${BASE_CONFIG:-}" ] || printf '%s\n' "$CONFIG_LINES"
	printf '%s\n' "${EXTRA_CONFIG_LINES:-}"
}

check_config() {
	local line missing=0
	while read -r line; do
		case "$line" in ''|'#'*) continue ;; esac
		if [[ $line == *=n ]]; then
			grep -qx "# ${line%=n} is not set" "$OUT/.config" && continue
		fi
		grep -qxF "$line" "$OUT/.config" && continue
		note "config line did not land: $line (got: $(grep "^${line%%=*}=\|${line%%=*} is not set" "$OUT/.config" || echo absent))"
		missing=1
	done < "$OUT/crashkey.fragment"
	[ "$missing" = 0 ] || die "requested config lines missing from $OUT/.config"
}

# Everything the config comes from: the fragment, the compiler (Kconfig asks it what it
# can do), the pristine tree, and the Kconfig files and config fragments the overlay
# changes.
config_key() {
	{
		cat "$OUT/crashkey.fragment"
		"${CROSS_COMPILE}gcc" --version | head -n 1
		cat "$TREE/.crashkey-base"
		[ -z "${BASE_CONFIG:-}" ] || sha256sum < "$BASE_CONFIG"
		stat -L -c '%n %s %Y' "$KSRC"
		(cd "$TREE" && grep -E '(^|/)Kconfig|\.config$' .crashkey-manifest | tr '\n' '\0' |
			xargs -0 -r sha256sum --)
	} | sha256sum | cut -d' ' -f1
}

# A configure costs 20 s and more (every make *config runs the compiler dozens of times
# for Kconfig's tests); it is skipped when nothing it reads changed since the last one.
# A Kconfig file newer than the config (an edited directory KSRC) counts as a change.
configure() {
	local key
	mkdir -p "$OUT"
	write_fragment > "$OUT/crashkey.fragment"
	key=$(config_key)
	if [ -f "$OUT/.config" ] && [ "$(cat "$OUT/crashkey.config-key" 2>/dev/null)" = "$key" ] &&
		[ -z "$(find "$TREE" -name 'Kconfig*' -newer "$OUT/.config" -print -quit)" ]; then
		return
	fi
	rm -f "$OUT/crashkey.config-key"
	if [ -n "${BASE_CONFIG:-}" ]; then
		cp "$BASE_CONFIG" "$OUT/.config"
	else
		kmake tinyconfig >/dev/null
	fi
	(cd "$TREE" && ARCH=$KARCH CROSS_COMPILE=$CROSS_COMPILE \
		scripts/kconfig/merge_config.sh -m -O "$OUT" "$OUT/.config" "$OUT/crashkey.fragment" >/dev/null)
	kmake olddefconfig >/dev/null
	check_config
	printf '%s\n' "$key" > "$OUT/crashkey.config-key"
}

# Every C file the overlay adds or changes, if this config built it, must also build
# without warnings under W=1, and pass sparse (C=2 runs it on each named object, built or
# not) without a warning or an error; sparse's exit status does not tell, its output does.
# A prepare step compiles and checks files of its own (arm64's vDSO: sparse warns in
# vgetrandom.c): warnings located in a file the overlay does not touch do not count.
# Is line N of FILE one the overlay adds or changes? A warning on a line the pristine
# tree has as it is, in a file the overlay patches, is the tree's own: s390's syscall
# wrappers make sparse warn at every SYSCALL_DEFINE of kexec.c and kexec_file.c with
# Debian's config. (A line number that is none, a warning without one: ours.)
overlay_line() {	# overlay_line FILE N
	local pristine
	pristine=$(cat "$TREE/.crashkey-base")/$1
	[ -f "$pristine" ] && [[ $2 =~ ^[0-9]+$ ]] || return 0
	diff --unchanged-line-format= --old-line-format= --new-line-format='%dn
' "$pristine" "$TREE/$1" | grep -qx "$2"
}

check_w1() {
	local f out line status key bad=
	local -a objs=()
	while read -r f; do
		case "$f" in *.c) [ -f "$OUT/${f%.c}.o" ] && objs+=("${f%.c}.o") ;; esac
	done < "$TREE/.crashkey-manifest"
	[ ${#objs[@]} -gt 0 ] || return 0
	# Passed before for these very sources and config: sparse is not cached by ccache.
	key=$({ config_key; cd "$TREE" && tr '\n' '\0' < .crashkey-manifest | xargs -0 sha256sum --; } |
		sha256sum | cut -d' ' -f1)
	[ "$(cat "$OUT/crashkey-w1.passed" 2>/dev/null)" != "$key" ] || return 0
	rm -f "$OUT/crashkey-w1.passed"
	# W=1 changes the objects' command lines: the next build would compile them again
	# and relink the kernel (25 s of a build with nothing to do). The objects of the
	# real build and their command files go back as they were, mtimes included.
	for f in "${objs[@]}"; do
		printf '%s\n' "$f" "$(dirname "$f")/.$(basename "$f").cmd"
	done > "$OUT/crashkey-w1.list"
	tar -C "$OUT" -cf "$OUT/crashkey-w1.tar" -T "$OUT/crashkey-w1.list"
	status=0
	out=$(kmake -j"$(nproc)" W=1 C=2 "${objs[@]}" 2>&1) || status=$?
	tar -C "$OUT" -xf "$OUT/crashkey-w1.tar"
	rm -f "$OUT/crashkey-w1.tar" "$OUT/crashkey-w1.list"
	[ "$status" = 0 ] || die "W=1 C=2 build failed: $out"
	while IFS= read -r line; do
		case "$line" in *warning:*|*error:*) ;; *) continue ;; esac
		f=${line%%:*}
		f=${f#"$TREE"/}
		# Elsewhere (a prepare step's own C files, genksyms' grammar under a
		# distribution's MODVERSIONS): not the overlay's.
		grep -qxF "$f" "$TREE/.crashkey-manifest" || continue
		overlay_line "$f" "$(cut -d: -f2 <<<"$line")" || continue
		bad+="$line"$'\n'
	done <<<"$out"
	if [ -n "$bad" ]; then
		printf '%s\n' "$out" >&2
		die "W=1 or sparse warnings in files the crashkey overlay touches: $bad"
	fi
	printf '%s\n' "$key" > "$OUT/crashkey-w1.passed"
}

command -v "${CROSS_COMPILE}gcc" >/dev/null || die "${CROSS_COMPILE}gcc not found (package $GCC_PACKAGE)"
TREE=$("$CRASHKEY_TOP/cross-build/prepare-tree.sh")
# A tree of another KSRC than Debian's tarball builds in its own dir: objects record
# their source path, so sharing one would turn it cold at every switch.
KSRC_TAG=
[ "$TREE" = "$CRASHKEY_CACHE/tree" ] || KSRC_TAG=-$(basename "$(dirname "$TREE")")
OUT=$CRASHKEY_CACHE/build/$ARCH_NAME${BUILD_TAG:+-$BUILD_TAG}$KSRC_TAG
# The overlay's C files for this arch, as objects: the arch-neutral ones and this arch's.
overlay_objects() {
	local f
	while read -r f; do
		case "$f" in
		arch/"$KARCH"/*.c) ;;
		arch/*) continue ;;
		*.c) ;;
		*) continue ;;
		esac
		echo "${f%.c}.o"
	done < "$TREE/.crashkey-manifest"
}

# Of the overlay's objects, those the config builds. kbuild compiles any object it is
# named, configured or not; a dry run of their directories, with them removed, names
# those the config would build.
build_overlay_objects() {
	local -a objs dirs built
	mapfile -t objs < <(overlay_objects)
	kmake -j"$(nproc)" prepare
	(cd "$OUT" && rm -f "${objs[@]}")
	mapfile -t dirs < <(for f in "${objs[@]}"; do echo "$(dirname "$f")/"; done | sort -u)
	mapfile -t built < <({ kmake -n "${dirs[@]}" 2>/dev/null || true; } |
		grep -o ' -o [^ ]*\.o ' | sed 's/^ -o //; s/ $//' | sort -u |
		grep -Fx -f <(printf '%s\n' "${objs[@]}"))
	[ ${#built[@]} -gt 0 ] || die "the config builds none of the overlay's objects"
	note "the config builds ${#built[@]} of the overlay's ${#objs[@]} $ARCH_NAME objects: ${built[*]}"
	kmake -j"$(nproc)" "${built[@]}"
}

configure
if [ -n "${OVERLAY_OBJECTS:-}" ]; then
	note "building the overlay's $ARCH_NAME objects in $OUT"
	build_overlay_objects
else
	note "building $ARCH_NAME kernel in $OUT"
	kmake -j"$(nproc)" "$@"
fi
[ -n "${SKIP_W1:-}" ] || check_w1
[ -n "${OVERLAY_OBJECTS:-}" ] || printf '%s\n' "$OUT/$KERNEL_IMAGE"
