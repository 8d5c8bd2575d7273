#!/usr/bin/env bash
# A kernel built without CONFIG_CRASH_DM_CRYPT is unchanged: every existing C file that
# the overlay patches, if this arch's minimal config builds it, compiles to the same
# machine code from the patched tree as from the pristine one.
#   cross-build/check-unchanged.sh <arch>        prints TAP
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ARCH_NAME=${1:?usage: check-unchanged.sh <arch>}
load_arch "$ARCH_NAME"
TREE=$("$CRASHKEY_TOP/cross-build/prepare-tree.sh")
PRISTINE=$(cat "$TREE/.crashkey-base")

kmake() {	# kmake SRC OUT TARGET...
	local src=$1 out=$2
	shift 2
	make -s -C "$src" O="$out" ARCH="$KARCH" CROSS_COMPILE="$CROSS_COMPILE" \
		CC="ccache ${CROSS_COMPILE}gcc" "$@"
}

# The same minimal config as the matrix kernels, without the feature and its tests.
configure() {	# configure SRC OUT
	mkdir -p "$2"
	{ grep -v '^#' "$CRASHKEY_TOP/cross-build/config/common.config"; printf '%s\n' "$CONFIG_LINES"; } \
		> "$2/fragment"
	kmake "$1" "$2" tinyconfig >/dev/null
	(cd "$1" && ARCH=$KARCH CROSS_COMPILE=$CROSS_COMPILE \
		scripts/kconfig/merge_config.sh -m -O "$2" "$2/.config" "$2/fragment" >/dev/null)
	kmake "$1" "$2" olddefconfig >/dev/null
	kmake "$1" "$2" -j"$(nproc)" prepare >/dev/null
}

# Patched files that exist in the pristine tree: the changes to existing code.
changed_sources() {
	local f
	while read -r f; do
		case "$f" in *.c) ;; *) continue ;; esac
		[ -f "$PRISTINE/$f" ] && printf '%s\n' "$f"
	done < "$TREE/.crashkey-manifest"
}

disassemble() {
	"${CROSS_COMPILE}objdump" -d --no-show-raw-insn "$1" | tail -n +4
}

OLD=$CRASHKEY_CACHE/build/$ARCH_NAME-unchanged-pristine
NEW=$CRASHKEY_CACHE/build/$ARCH_NAME-unchanged-patched
configure "$PRISTINE" "$OLD"
configure "$TREE" "$NEW"
grep -q '^CONFIG_CRASH_DM_CRYPT=y' "$NEW/.config" && die "CRASH_DM_CRYPT is on in $NEW"

n=0
failed=0
for f in $(changed_sources); do
	obj=${f%.c}.o
	# Only what this config builds: the kernel's own Makefiles decide.
	kmake "$PRISTINE" "$OLD" "$obj" >/dev/null 2>&1 || continue
	n=$((n + 1))
	if ! kmake "$TREE" "$NEW" "$obj" >/dev/null 2>&1; then
		echo "not ok $n - $ARCH_NAME: $f builds with CRASH_DM_CRYPT=n"
		failed=1
	elif cmp -s <(disassemble "$OLD/$obj") <(disassemble "$NEW/$obj"); then
		echo "ok $n - $ARCH_NAME: $f unchanged with CRASH_DM_CRYPT=n"
	else
		echo "not ok $n - $ARCH_NAME: $f unchanged with CRASH_DM_CRYPT=n"
		diff <(disassemble "$OLD/$obj") <(disassemble "$NEW/$obj") | head -n 20 | sed 's/^/# /'
		failed=1
	fi
done
echo "1..$n"
exit "$failed"
