#!/usr/bin/env bash
# Self-test of cross-build/prepare-tree.sh with KSRC= a directory of one's own: the
# Debian 6.12 tree unpacked in the cache, as "the user's tree" (hard links, so it costs
# seconds), first as a plain directory with local edits, then as a git work tree with a
# local commit, an uncommitted edit, an untracked file and ignored build output. Checks
# that the overlay is applied on top of the local changes, that changes are picked up
# incrementally, that a tree that is not 6.12 and a patch that does not apply fail
# loudly, and that nothing is written through the links into the cache's pristine tree.
# Prints TAP. No kernel build.
#
# The scratch files stay in $CRASHKEY_CACHE/ksrc-selftest between runs (removing 5,800
# directories takes longer than the whole test); KSRC_SELFTEST_DIR= moves them.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CRASHKEY_CACHE:-/var/cache/crashkey}
BASE=$CACHE/src/linux-source-6.12
SCRATCH=${KSRC_SELFTEST_DIR:-$CACHE/ksrc-selftest}
U=$SCRATCH/linux		# the user's tree
TEST_CACHE=$SCRATCH/cache	# CRASHKEY_CACHE of the runs under test
MARK=crashkey-ksrc-selftest
T0=$(date +%s)
# shellcheck source=tests/tap.sh
. "$TOP/tests/tap.sh"
check() {	# check NAME COMMAND...: one TAP line from a command's status
	local name=$1 out
	shift
	out=$("$@" 2>&1)
	tap $? "$name" "$out"
}
bail() {
	echo "not ok $((n + 1)) - $*"
	echo "1..$((n + 1))"
	exit 1
}

# Files of U are hard links to the cache's pristine tree: change them only by replacing.
edit() {	# edit FILE SED-SCRIPT
	sed "$2" "$U/$1" > "$U/$1.new" && mv -f "$U/$1.new" "$U/$1"
}
put() {		# put FILE CONTENT
	mkdir -p "$(dirname "$U/$1")"
	rm -f "$U/$1"
	printf '%s\n' "$2" > "$U/$1"
}
# Everything this test changes in U, so that the next run starts from the pristine files.
TOUCHED=(Makefile CREDITS .gitignore init/main.c init/version.c kernel/kexec.c
	kernel/crashkey_selftest_new.c kernel/crashkey_selftest.o .config)
reset_user_tree() {
	local f
	rm -rf "$U/.git"
	for f in "${TOUCHED[@]}"; do
		rm -f "$U/$f" "$U/$f.new"
		[ ! -e "$BASE/$f" ] || ln "$BASE/$f" "$U/$f"
	done
}

prepare() {	# prepare: run prepare-tree.sh on U; stdout to $SCRATCH/out, stderr to .../err
	local t=$EPOCHREALTIME status=0
	KSRC=$U CRASHKEY_CACHE=$TEST_CACHE "$TOP/cross-build/prepare-tree.sh" \
		>"$SCRATCH/out" 2>"$SCRATCH/err" || status=$?
	echo "# prepare-tree.sh took $(((${EPOCHREALTIME/./} - ${t/./}) / 1000)) ms"
	return "$status"
}
# shellcheck disable=SC2317 # called through check
in_tree() { grep -q "$1" "$TREE/$2"; }

# ---- the user's tree: the Debian tree, linked ----------------------------------------

if [ ! -f "$BASE/.unpacked" ]; then
	echo "# unpacking the Debian tree first (cross-build/prepare-tree.sh)"
	KSRC=/usr/src/linux-source-6.12.tar.xz CRASHKEY_CACHE=$CACHE \
		"$TOP/cross-build/prepare-tree.sh" >/dev/null ||
		bail "the Debian 6.12 tree is unpacked in $BASE"
fi
mkdir -p "$SCRATCH"
if [ -d "$U" ] && ! [ "$U/COPYING" -ef "$BASE/COPYING" ]; then
	echo "# $BASE was unpacked anew: linking the user's tree again"
	rm -rf "$U"
fi
if [ ! -d "$U" ]; then
	rm -rf "$U.tmp"
	if ! { cp -al "$BASE/." "$U.tmp" && rm -f "$U.tmp/.unpacked" && mv "$U.tmp" "$U"; }; then
		bail "hard links from $SCRATCH to $BASE (same file system)"
	fi
fi
reset_user_tree

# ---- a plain directory with local edits ----------------------------------------------

edit init/main.c "1i /* $MARK: local edit */"
edit kernel/kexec.c "1i /* $MARK: local edit of a file the overlay patches */"
if prepare; then
	TREE=$(cat "$SCRATCH/out")
	tap 0 "KSRC=<directory with local edits>: prepare-tree.sh prints the tree"
else
	tap 1 "KSRC=<directory with local edits>: prepare-tree.sh prints the tree" "$(cat "$SCRATCH/err")"
	bail "cannot go on without a tree"
fi
PRISTINE=$(cat "$TREE/.crashkey-base")
check "the tree is kept for this KSRC, under trees/" \
	test "$(dirname "$TREE")" = "$(dirname "$PRISTINE")" -a "${TREE#"$TEST_CACHE"/trees/}" != "$TREE"
check "the overlay's new files are in the tree" \
	cmp "$TOP/kernel/crash_dm_crypt.c" "$TREE/kernel/crash_dm_crypt.c"
check "the overlay's patches are applied" in_tree crash_dm_crypt_begin_load kernel/kexec.c
check "the local edit is in the tree" in_tree "$MARK: local edit" init/main.c
check "a file both edited locally and patched has both changes" \
	in_tree "$MARK: local edit of a file" kernel/kexec.c
check "the pristine tree (check-unchanged's baseline) is the user's tree, unpatched" \
	bash -c "grep -q '$MARK' '$PRISTINE/init/main.c' && ! grep -q crash_dm_crypt '$PRISTINE/kernel/kexec.c'"
check "no file the overlay writes is a link to the user's file" \
	bash -c "! [ '$TREE/kernel/kexec.c' -ef '$U/kernel/kexec.c' ] && ! grep -q crash_dm_crypt '$U/kernel/kexec.c'"
check "the tree's other files are links, not copies" test "$TREE/COPYING" -ef "$BASE/COPYING"

# ---- a git work tree with a local commit ---------------------------------------------

# Only a few files are tracked (adding 87,000 would take minutes); the others are
# untracked and not ignored, which prepare-tree.sh takes as well. Debian's tarball
# ignores everything at its top level (its own packaging rule, at the end of
# .gitignore); a kernel.org checkout does not, and neither does this one.
edit .gitignore '/^\/\*$/d; /^!\/debian\/$/d'
# The commit's author is whoever runs the test (git's identity, else user@host).
GIT_NAME=$(git config user.name || id -nu)
GIT_EMAIL=$(git config user.email || echo "$(id -nu)@$(hostname)")
git_u() { git -C "$U" -c user.name="$GIT_NAME" -c user.email="$GIT_EMAIL" "$@"; }
if ! { git_u init -q && git_u add Makefile init/main.c kernel/kexec.c &&
	git_u commit -q -m base; }; then
	bail "git init and commit in $U"
fi
edit init/main.c "1i /* $MARK: committed edit */"
git_u commit -q -a -m "local commit" || bail "git commit in $U"
edit Makefile "s/^EXTRAVERSION =.*/EXTRAVERSION = -$MARK/"
put kernel/crashkey_selftest_new.c "/* $MARK: untracked new file */"
put kernel/crashkey_selftest.o "ignored build output"
put .config "# ignored build output"
# And what any second run must see: a later edit, a deletion, and files left alone.
edit init/version.c "1i /* $MARK: a later edit */"
rm -f "$U/CREDITS"
inode=$(stat -c %i "$TREE/COPYING")
if prepare; then
	tap 0 "KSRC=<git work tree>: prepare-tree.sh succeeds"
	check "the same KSRC path keeps the same tree" test "$(cat "$SCRATCH/out")" = "$TREE"
else
	tap 1 "KSRC=<git work tree>: prepare-tree.sh succeeds" "$(cat "$SCRATCH/err")"
fi
check "a later edit is picked up" in_tree "$MARK: a later edit" init/version.c
check "a file deleted from KSRC leaves the tree" test ! -e "$TREE/CREDITS"
check "unchanged files are left alone" test "$(stat -c %i "$TREE/COPYING")" = "$inode"
check "the local commit is in the tree" in_tree "$MARK: committed edit" init/main.c
check "the uncommitted edit is in the tree" in_tree "^EXTRAVERSION = -$MARK" Makefile
check "an untracked file git does not ignore is in the tree" \
	in_tree "$MARK: untracked" kernel/crashkey_selftest_new.c
check "ignored build output is not in the tree" \
	test ! -e "$TREE/kernel/crashkey_selftest.o" -a ! -e "$TREE/.config" -a ! -e "$PRISTINE/.config"
check ".git is not copied" test ! -e "$TREE/.git" -a ! -e "$PRISTINE/.git"
check "the overlay is still applied" in_tree crash_dm_crypt_begin_load kernel/kexec.c

# ---- failures ------------------------------------------------------------------------

edit Makefile 's/^PATCHLEVEL = .*/PATCHLEVEL = 11/'
if prepare; then
	tap 1 "a KSRC that is Linux 6.11 fails" "prepare-tree.sh succeeded"
else
	check "a KSRC that is Linux 6.11 fails, saying why" \
		grep -q "is Linux 6.11; crashkey patches are for 6.12.y" "$SCRATCH/err"
fi
rm -f "$U/Makefile" && ln "$BASE/Makefile" "$U/Makefile"

edit kernel/kexec.c 's/^out_unlock:$/out_unlock_elsewhere:/'
if prepare; then
	tap 1 "a patch that does not apply fails" "prepare-tree.sh succeeded"
else
	check "a patch that does not apply fails, naming the patch and the hunk" \
		grep -q "patch kernel/crash_dm_crypt.patch does not apply" "$SCRATCH/err"
	check "the failed hunk is shown" grep -q "FAILED" "$SCRATCH/err"
	check "a failed run leaves the prepared tree as it was" \
		bash -c "grep -q crash_dm_crypt_begin_load '$TREE/kernel/kexec.c' && grep -q '^out_unlock:' '$TREE/kernel/kexec.c'"
fi

# ---- nothing went through the links ---------------------------------------------------

reset_user_tree
check "the cache's pristine tree is untouched" \
	bash -c "! grep -l -e '$MARK' -e crash_dm_crypt $(printf "'$BASE/%s' " Makefile init/main.c init/version.c kernel/kexec.c kernel/Kconfig.kexec)"
echo "# $(($(date +%s) - T0)) s"
tap_done
