#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tests of the crashkey tool on the host: argument handling, error paths,
# and add/list/remove/unlock against a real LUKS2 image, with a plain
# directory standing in for configfs (CRASHKEY_CONFIGFS).
#
#   tests/tool/run.sh path/to/crashkey
#
# Needs root, cryptsetup, keyctl, readelf and nm. Prints TAP; exits non-zero
# if any test failed. Uses loop devices for the UUID lookup and unlock tests
# when it can, and skips those tests otherwise. A UUID lookup reads (never
# writes) every block device of the host, through libblkid; md arrays and
# multipath maps are stood in for by a directory (CRASHKEY_SYSFS_BLOCK) with
# the holders sysfs would show; /sys/kernel/kexec_crash_* and kdump-tools'
# configuration by a directory put in front of their paths (CRASHKEY_SYSROOT).
# Builds nothing.

set -u

CK=${1:-}
if [ -z "$CK" ] || [ ! -x "$CK" ]; then
	echo "usage: $0 path/to/crashkey" >&2
	exit 2
fi
CK=$(realpath "$CK")
if [ "$(id -u)" != 0 ]; then
	echo "$0: must run as root" >&2
	exit 2
fi
for tool in cryptsetup keyctl readelf nm; do
	if ! command -v "$tool" >/dev/null; then
		echo "$0: $tool is needed" >&2
		exit 2
	fi
done

TMP=$(mktemp -d /tmp/crashkey-test.XXXXXX)
LOG=$TMP/log		# every output crashkey printed, for the leak check
mkdir -p "$LOG"
LOOP=""
LOOP2=""		# a second loop device, on a changed copy of the image
LATE_LOOP=""		# attached while unlock --wait runs
DATA_LOOP=""		# the data device of a volume with a detached header
LATE_DESC=""
HDR_DESC=""
UUID=""
MAPPER=""
DESC=""
CUSTOM_DESC=""
VK_DESC=""
TOKEN_DESC=""
NODEV_UUID=""
NODEV_DESC=""
BAD_DESC=""

# ---- TAP ----

TESTS=0
FAILED=0
CUR_NAME=""
CUR_OK=1

# begin NAME: starts a test; the expect_* calls that follow decide it.
begin() {
	CUR_NAME=$1
	CUR_OK=1
}

fail() {
	CUR_OK=0
	echo "# $CUR_NAME: $*"
}

end() {
	TESTS=$((TESTS + 1))
	if [ "$CUR_OK" = 1 ]; then
		echo "ok $TESTS - $CUR_NAME"
	else
		echo "not ok $TESTS - $CUR_NAME"
		FAILED=$((FAILED + 1))
		# Show what crashkey said, as TAP comments.
		sed 's/^/#   stdout: /' "$OUT" 2>/dev/null
		sed 's/^/#   stderr: /' "$ERR" 2>/dev/null
	fi
}

skip() {
	TESTS=$((TESTS + 1))
	echo "ok $TESTS - $1 # SKIP $2"
}

# ---- running crashkey ----

RUNS=0
OUT=/dev/null
ERR=/dev/null
RC=0

# ck_in INPUT ARGS...: runs crashkey with INPUT as stdin, keeps its output.
ck_in() {
	local input=$1
	shift
	RUNS=$((RUNS + 1))
	OUT=$LOG/$RUNS.out
	ERR=$LOG/$RUNS.err
	timeout 120 "${RUN_AS[@]}" "$CK" "$@" <"$input" >"$OUT" 2>"$ERR"
	RC=$?
}
RUN_AS=()	# a command that runs crashkey as another user

ck() {
	ck_in /dev/null "$@"
}

# expect_check VERDICT NAME TEXT: status printed check NAME as VERDICT (ok,
# failed, n/a), its detail holding TEXT.
expect_check() {
	grep -F -- "$3" "$OUT" | grep -qE "^  $1 +$2: " ||
		fail "no check line '$1 $2: ...$3...'"
}

expect_rc() {
	[ "$RC" = "$1" ] || fail "exit code $RC, expected $1"
}

expect_out() {
	grep -qF -- "$1" "$OUT" || fail "stdout lacks '$1'"
}

expect_err() {
	grep -qF -- "$1" "$ERR" || fail "stderr lacks '$1'"
}

# ---- keys and the stand-in configfs ----

# Serial of the key of TYPE with DESC in @u, empty if there is none.
key_id() {
	keyctl search @u "$1" "$2" 2>/dev/null
}

expect_key() {
	[ -n "$(key_id "$1" "$2")" ] || fail "no $1 key '$2' in @u"
}

expect_no_key() {
	[ -z "$(key_id "$1" "$2")" ] || fail "$1 key '$2' left in @u"
}

# shellcheck disable=SC2317  # only called from the EXIT trap
drop_key() {
	local id
	while id=$(key_id "$1" "$2") && [ -n "$id" ]; do
		keyctl unlink "$id" @u >/dev/null 2>&1 || break
	done
}

# User keys in @u that name a volume and that these tests did not make:
# unlock would drop them, so the unlock tests are skipped if there are any.
foreign_volume_keys() {
	local id desc
	for id in $(keyctl rlist @u 2>/dev/null); do
		desc=$(keyctl rdescribe "$id" 2>/dev/null) || continue
		case $desc in
		"user;"*vk-*) ;;
		*) continue ;;
		esac
		case $desc in
		*"$UUID"|*"$NODEV_UUID") ;;
		*) echo "$desc" ;;
		esac
	done
}

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	local name
	for name in "$MAPPER" ck-test-uuid ck-test-path ck-test-hdr; do
		if [ -n "$name" ] && [ -e "/dev/mapper/$name" ]; then
			cryptsetup close "$name" >/dev/null 2>&1
		fi
	done
	if [ -z "$LATE_LOOP" ] && [ -s "$TMP/late.loop" ]; then
		LATE_LOOP=$(cat "$TMP/late.loop")
	fi
	for name in "$LATE_LOOP" "$DATA_LOOP"; do
		[ -z "$name" ] || losetup -d "$name" >/dev/null 2>&1
	done
	if [ -n "$LOOP2" ]; then
		losetup -d "$LOOP2" >/dev/null 2>&1
	fi
	if [ -n "$LOOP" ]; then
		losetup -d "$LOOP" >/dev/null 2>&1
	fi
	if [ -n "$UUID" ]; then
		drop_key logon "$DESC"
		drop_key logon "$CUSTOM_DESC"
		drop_key user "$DESC"
		drop_key user "$VK_DESC"
		drop_key user "$TOKEN_DESC"
		drop_key logon "crashkey-test:logon-$UUID"
	fi
	if [ -n "$NODEV_DESC" ]; then
		drop_key user "$NODEV_DESC"
	fi
	if [ -n "$BAD_DESC" ]; then
		drop_key user "$BAD_DESC"
	fi
	for name in "$LATE_DESC" "$HDR_DESC"; do
		[ -z "$name" ] || drop_key user "$name"
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

json_valid() {
	if command -v python3 >/dev/null; then
		python3 -m json.tool "$1" >/dev/null 2>&1
	elif command -v jq >/dev/null; then
		jq . "$1" >/dev/null 2>&1
	else
		return 0
	fi
}

expect_json() {
	json_valid "$OUT" || fail "stdout is not valid JSON"
}

# ---- the LUKS image ----

IMG=$TMP/luks.img
KEYFILE=$TMP/keyfile		# random bytes, key slot 0
WRONGFILE=$TMP/wrongfile
PASSFILE=$TMP/passphrase	# one text line, key slot 1
PASS="crashkey-test-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$PASS" >"$PASSFILE"
printf '%s\n' "wrong-$PASS" >"$TMP/wrongpass"
head -c 64 /dev/urandom >"$KEYFILE"
head -c 64 /dev/urandom >"$WRONGFILE"
truncate -s 32M "$IMG"
FAST_KDF=(--pbkdf pbkdf2 --pbkdf-force-iterations 1000 --batch-mode)
if ! cryptsetup luksFormat --type luks2 "${FAST_KDF[@]}" "$IMG" "$KEYFILE" \
	>"$TMP/format.log" 2>&1 ||
   ! printf '%s' "$PASS" | cryptsetup luksAddKey "${FAST_KDF[@]}" \
	--key-file "$KEYFILE" "$IMG" - >>"$TMP/format.log" 2>&1; then
	echo "Bail out! cannot make a LUKS2 image"
	sed 's/^/# /' "$TMP/format.log"
	exit 1
fi
UUID=$(cryptsetup luksUUID "$IMG")
DESC="kdump-cryptsetup:vk-$UUID"
CUSTOM_DESC="test-crashkey:for-vk-$UUID"
VK_DESC="crashkey-test:volume-key-$UUID"
TOKEN_DESC="crashkey-test:token-$UUID"
NODEV_UUID=$(cat /proc/sys/kernel/random/uuid)
NODEV_DESC="kdump-cryptsetup:vk-$NODEV_UUID"
MAPPER="luks-$UUID"

# The real volume key, in hex, to make sure crashkey never shows it.
DUMP=$(cryptsetup luksDump --dump-volume-key --batch-mode \
	--key-file "$KEYFILE" "$IMG" 2>/dev/null)
KEY_BITS=$(printf '%s\n' "$DUMP" | sed -n 's/^MK bits:[[:space:]]*//p')
KEY_HEX=$(printf '%s\n' "$DUMP" | sed -n '/^MK dump:/,$p' |
	sed 's/^MK dump://' | tr -d ' \t\n' | head -c $((KEY_BITS / 4)))
if [ "${#KEY_HEX}" != $((KEY_BITS / 4)) ] || [ "$KEY_BITS" = 0 ]; then
	echo "Bail out! cannot read the volume key with luksDump"
	exit 1
fi
KEY_BIN=$TMP/volume.key
printf '%s' "$KEY_HEX" | xxd -r -p >"$KEY_BIN"

CFG=$TMP/configfs		# stand-in for crash_key_handover
ITEM=$CFG/$UUID
mkdir -p "$CFG"
export CRASHKEY_CONFIGFS=$CFG
SYSFS=$TMP/sysfs-block		# stand-in for /sys/class/block, for holders
# In front of /sys/kernel/kexec_crash_*, kdump-config and its configuration;
# empty: no crash kernel known to be loaded, no kdump-tools.
SYSROOT=$TMP/sysroot
mkdir -p "$SYSROOT"
export CRASHKEY_SYSROOT=$SYSROOT
if ! LOOP=$(losetup -f --show "$IMG" 2>/dev/null) || [ -z "$LOOP" ]; then
	LOOP=""
fi

echo "# crashkey: $CK"
echo "# volume: $IMG UUID $UUID loop ${LOOP:-none}"

# ---- the binary ----

# A symbol of ours exported under a library's name takes that name's place
# inside the library: libcryptsetup called our uuid_parse() with a 16-byte
# uuid_t, which wrote 37 bytes into it. The libraries are all that ldd
# loads: the DT_NEEDED ones, theirs (libcryptsetup's libdevmapper, ...) and
# the dynamic loader.
LIBS=$(ldd "$CK" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
# Objects the binary holds by copy relocation (stdout, optind) are defined in
# it and in their library, as in every program: they are the library's own.
COPIED=$(readelf -rW "$CK" | awk '$3 ~ /_COPY$/ { sub(/@.*/, "", $5); print $5 }' |
	sort -u)
# What crashkey itself exports.
OURS=$(nm -D --defined-only "$CK" | awk '{ sub(/@.*/, "", $NF); print $NF }' |
	sort -u | comm -23 - <(printf '%s\n' "$COPIED"))

begin "ldd finds every library crashkey needs"
for needed in $(readelf -dW "$CK" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
	grep -qF "/$needed" <<<"$LIBS" || fail "ldd does not resolve $needed"
done
[ -n "$LIBS" ] || fail "ldd found no library"
end

begin "crashkey exports no symbol that a library it loads defines"
for lib in $LIBS; do
	CLASH=$(nm -D --defined-only "$lib" | awk '{ sub(/@.*/, "", $NF); print $NF }' |
		sort -u | comm -12 - <(printf '%s\n' "$OURS") | tr '\n' ' ')
	[ -z "$CLASH" ] || fail "defined by crashkey and $lib: $CLASH"
done
end

# Linked with -rdynamic (--export-dynamic) it would export every global of its
# own, and any of them could take a library's name.
begin "crashkey exports nothing of its own (not linked with -rdynamic)"
[ -z "$OURS" ] || fail "exports $(tr '\n' ' ' <<<"$OURS")"
end

# ---- command line ----

begin "--help exits 0 and shows the commands"
ck --help
expect_rc 0
expect_out "Usage: crashkey"
expect_out "unlock"
end

begin "--version exits 0"
ck --version
expect_rc 0
expect_out "crashkey "
end

for cmd in add remove list status unlock; do
	begin "$cmd --help exits 0"
	ck "$cmd" --help
	expect_rc 0
	expect_out "Usage: crashkey"
	expect_out "$cmd"
	end
done

begin "status --help documents --check and its exit code 5"
ck status --help
expect_rc 0
expect_out "--check"
expect_out "exit 5 if a check failed"
ck --help
expect_out "5 status --check: a check failed"
end

begin "status with an unknown option: exit 2"
ck status --checks
expect_rc 2
expect_err "unknown option '--checks'"
end

begin "an empty argument is a usage error, not a missing device"
for cmd in add remove; do
	ck "$cmd" ""
	expect_rc 2
	expect_err "argument 2 is empty"
done
ck add --key-file "" /dev/null
expect_rc 2
expect_err "argument 3 is empty"
end

begin "add, remove and unlock as another user: exit 1, must be run as root"
RUN_AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
ck add /dev/null
expect_rc 1
expect_err "crashkey add: must be run as root"
ck remove "$(cat /proc/sys/kernel/random/uuid)"
expect_rc 1
expect_err "crashkey remove: must be run as root"
ck unlock --dry-run
expect_rc 1
expect_err "crashkey unlock: must be run as root"
ck status
expect_rc 0
RUN_AS=()
end

begin "no command: exit 2"
ck
expect_rc 2
expect_err "missing command"
end

begin "unknown command: exit 2 with a message"
ck frobnicate
expect_rc 2
expect_err "unknown command 'frobnicate'"
end

begin "unknown global option: exit 2 with a message"
ck --frobnicate list
expect_rc 2
expect_err "unknown option '--frobnicate'"
end

begin "unknown add option: exit 2 with a message"
ck add --frobnicate "$IMG"
expect_rc 2
expect_err "unknown option '--frobnicate'"
end

begin "unknown short option: exit 2"
ck unlock -x
expect_rc 2
expect_err "unknown option '-x'"
end

begin "--key-file without its argument: exit 2"
ck add --key-file
expect_rc 2
expect_err "needs an argument"
end

begin "add without a device: exit 2"
ck add
expect_rc 2
expect_err "missing DEVICE or UUID"
end

begin "add with --key-file and --stdin: exit 2"
ck add --stdin --key-file "$KEYFILE" "$IMG"
expect_rc 2
expect_err "exclude each other"
end

begin "remove with two arguments: exit 2"
ck remove "$IMG" "$IMG"
expect_rc 2
expect_err "too many arguments"
end

begin "list with an argument: exit 2"
ck list extra
expect_rc 2
end

for bad in abc -1 " 5" 5s 86401 99999999999999999999; do
	begin "unlock --wait '$bad': exit 2"
	ck unlock --wait "$bad"
	expect_rc 2
	expect_err "invalid --wait '$bad'"
	end
done

begin "unlock --crypttab without its argument: exit 2"
ck unlock --crypttab
expect_rc 2
expect_err "needs an argument"
end

# ---- add: errors ----

begin "add on a nonexistent path: exit 1, clear message"
ck add --key-file "$KEYFILE" "$TMP/no-such-device"
expect_rc 1
expect_err "no-such-device: no such file or device"
end

head -c 1M /dev/zero >"$TMP/zeros.img"
begin "add on a non-LUKS file: exit 1"
ck add --key-file "$KEYFILE" "$TMP/zeros.img"
expect_rc 1
expect_err "not a LUKS device"
end

echo "hello" >"$TMP/tiny"
begin "add on a tiny non-LUKS file: exit 1"
ck add --key-file "$KEYFILE" "$TMP/tiny"
expect_rc 1
expect_err "not a LUKS device"
end

begin "add on a directory: exit 1"
ck add --key-file "$KEYFILE" "$TMP"
expect_rc 1
expect_err "not a block device or an image file"
end

begin "add with an unknown UUID: exit 1"
ck add --key-file "$KEYFILE" "$NODEV_UUID"
expect_rc 1
expect_err "no block device holds a LUKS volume with UUID $NODEV_UUID"
end

begin "add with a wrong key file: exit 1, no key added"
ck add --key-file "$WRONGFILE" "$IMG"
expect_rc 1
expect_err "no key slot matches this passphrase"
expect_no_key logon "$DESC"
[ ! -e "$ITEM" ] || fail "item created"
end

begin "add with a wrong --stdin passphrase: exit 1, no key added"
ck_in "$TMP/wrongpass" add --stdin "$IMG"
expect_rc 1
expect_err "no key slot matches this passphrase"
expect_no_key logon "$DESC"
[ ! -e "$ITEM" ] || fail "item created"
end

begin "add with an empty key file: exit 1"
: >"$TMP/empty"
ck add --key-file "$TMP/empty" "$IMG"
expect_rc 1
expect_err "is empty"
end

begin "add with empty stdin: exit 1"
ck add --stdin "$IMG"
expect_rc 1
expect_err "standard input is empty"
end

begin "add with a description not ending in vk-UUID: exit 1"
ck add --key-file "$KEYFILE" --description "x:vk-$NODEV_UUID" "$IMG"
expect_rc 1
expect_err "invalid description"
expect_no_key logon "x:vk-$NODEV_UUID"
end

begin "add with a description without prefix: exit 1"
ck add --key-file "$KEYFILE" --description "vk-$UUID" "$IMG"
expect_rc 1
expect_err "prefix:"
end

begin "add without configfs dir: exit 1, kernel support message, no key"
CRASHKEY_CONFIGFS=$TMP/missing ck add --key-file "$KEYFILE" "$IMG"
expect_rc 1
expect_err "kernel has no crash_key_handover support (CONFIG_CRASH_KEY_HANDOVER)"
expect_no_key logon "$DESC"
end

# A file where the item should be: the configfs step fails after the logon
# key was added, so add must take the key back.
begin "add whose configfs step fails: exit 1, logon key taken back"
touch "$ITEM"
ck add --key-file "$KEYFILE" "$IMG"
expect_rc 1
expect_err "cannot write the description"
expect_no_key logon "$DESC"
[ -f "$ITEM" ] || fail "add removed what it did not create"
rm -f "$ITEM"
end

begin "add with the configfs path a file: exit 1, no key"
touch "$TMP/notadir"
CRASHKEY_CONFIGFS=$TMP/notadir ck add --key-file "$KEYFILE" "$IMG"
expect_rc 1
expect_no_key logon "$DESC"
end

# ---- add, list, status, remove ----

begin "add with the right key file: item, description and logon key"
ck add --key-file "$KEYFILE" "$IMG"
expect_rc 0
expect_out "added $UUID"
[ -d "$ITEM" ] || fail "no item $ITEM"
[ "$(cat "$ITEM/description" 2>/dev/null)" = "$DESC" ] ||
	fail "description is '$(cat "$ITEM/description" 2>/dev/null)'"
expect_key logon "$DESC"
end

begin "list shows the volume and its key"
ck list
expect_rc 0
expect_out "$UUID"
expect_out "present"
expect_out "$DESC"
end

begin "list --json shows the volume"
ck --json list
expect_rc 0
expect_json
expect_out "\"uuid\":\"$UUID\""
expect_out "\"description\":\"$DESC\""
expect_out "\"key_present\":true"
end

begin "status --json reports kernel support and the volume"
ck status --json
expect_rc 0
expect_json
expect_out "\"supported\":true"
expect_out "\"kernel\":\"running\""
expect_out "\"uuid\":\"$UUID\""
end

begin "status without kernel support: exit 0, supported false; --check fails"
CRASHKEY_CONFIGFS=$TMP/missing ck --json status
expect_rc 0
expect_json
expect_out "\"supported\":false"
CRASHKEY_CONFIGFS=$TMP/missing ck status --check
expect_rc 5
expect_check failed handover "the kernel has no crash_key_handover support"
end

begin "add on a kernel with mainline's interface: exit 1, says what crashkey cannot do"
mkdir -p "$TMP/mainline/crash_dm_crypt_keys"
CRASHKEY_CONFIGFS=$TMP/mainline/crash_key_handover ck add --key-file "$KEYFILE" "$IMG"
expect_rc 1
expect_err "mainline's crash_dm_crypt_keys does: this kernel has Linux's own CONFIG_CRASH_DM_CRYPT"
end

begin "status on a kernel with mainline's interface names it; --check fails"
CRASHKEY_CONFIGFS=$TMP/mainline/crash_key_handover ck status
expect_rc 0
expect_out "kernel support:      no: the kernel has mainline's CONFIG_CRASH_DM_CRYPT, which crashkey does not drive"
CRASHKEY_CONFIGFS=$TMP/mainline/crash_key_handover ck status --check
expect_rc 5
expect_check failed handover "mainline's CONFIG_CRASH_DM_CRYPT, not crashkey's hand-over"
end

begin "list without kernel support: exit 1"
CRASHKEY_CONFIGFS=$TMP/missing ck list
expect_rc 1
expect_err "CONFIG_CRASH_KEY_HANDOVER"
end

begin "add again with a --stdin passphrase rewrites the item"
ck_in "$PASSFILE" --verbose add --stdin "$IMG"
expect_rc 0
[ "$(find "$CFG" -mindepth 1 -maxdepth 1 | wc -l)" = 1 ] ||
	fail "not exactly one item"
expect_key logon "$DESC"
end

# The terminal path: script(1) gives crashkey a pty; the passphrase is typed
# after the prompt is up and must not be echoed.
if command -v script >/dev/null; then
	begin "add from a terminal reads the passphrase with echo off"
	RUNS=$((RUNS + 1))
	OUT=$LOG/$RUNS.out
	ERR=$LOG/$RUNS.err
	{ sleep 2; printf '%s\n' "$PASS"; sleep 1; } |
		timeout 60 script -qec "'$CK' add '$IMG'" /dev/null >"$OUT" 2>"$ERR"
	RC=$?
	expect_rc 0
	expect_out "Enter passphrase for $IMG"
	expect_out "added $UUID"
	grep -qF "$PASS" "$OUT" && fail "the passphrase was echoed"
	expect_key logon "$DESC"
	end
else
	skip "add from a terminal reads the passphrase with echo off" "no script(1)"
fi

begin "add with --key-file - reads all of stdin"
ck_in "$KEYFILE" add --key-file - "$IMG"
expect_rc 0
expect_key logon "$DESC"
end

begin "remove by path: item and logon key gone"
ck remove "$IMG"
expect_rc 0
expect_out "removed $UUID"
[ ! -e "$ITEM" ] || fail "item still there"
expect_no_key logon "$DESC"
end

begin "remove of an unregistered volume: exit 1"
ck remove "$UUID"
expect_rc 1
expect_err "is not registered"
end

begin "add with a custom description, remove by uppercase UUID"
ck add --key-file "$KEYFILE" --description "$CUSTOM_DESC" "$IMG"
expect_rc 0
[ "$(cat "$ITEM/description" 2>/dev/null)" = "$CUSTOM_DESC" ] ||
	fail "description not the custom one"
expect_key logon "$CUSTOM_DESC"
ck --json remove "$(printf '%s' "$UUID" | tr a-f A-F)"
expect_rc 0
expect_json
expect_out "\"action\":\"removed\""
[ ! -e "$ITEM" ] || fail "item still there"
expect_no_key logon "$CUSTOM_DESC"
end

# ---- add --volume-key-keyring: a volume key already in the kernel keyring ----
# As cryptsetup 2.7's --link-vk-to-keyring leaves it (Debian 12 has 2.6): a user
# key, here added by keyctl.

begin "add --volume-key-keyring %user:DESC: registered with no passphrase"
keyctl padd user "$VK_DESC" @u <"$KEY_BIN" >/dev/null
ck add --volume-key-keyring "%user:$VK_DESC" "$IMG"
expect_rc 0
expect_out "added $UUID"
expect_key logon "$DESC"
expect_err "still holds the volume key"
expect_key user "$VK_DESC"
ck remove "$UUID"
expect_rc 0
end

begin "add --volume-key-keyring with a serial number, and with a bare DESC"
ck add --volume-key-keyring "$(key_id user "$VK_DESC")" "$IMG"
expect_rc 0
expect_key logon "$DESC"
ck remove "$UUID"
ck add -K "$VK_DESC" "$IMG"
expect_rc 0
expect_key logon "$DESC"
ck remove "$UUID"
expect_rc 0
end

begin "add --volume-key-keyring with another volume's key: exit 1, nothing registered"
keyctl padd user "$VK_DESC" @u <"$WRONGFILE" >/dev/null
ck add --volume-key-keyring "%user:$VK_DESC" "$IMG"
expect_rc 1
expect_err "is not this volume's volume key"
[ ! -e "$ITEM" ] || fail "item created"
expect_no_key logon "$DESC"
end

begin "add --volume-key-keyring with a logon key: exit 1, it cannot be checked"
keyctl padd logon "crashkey-test:logon-$UUID" @u <"$KEY_BIN" >/dev/null
ck add --volume-key-keyring "%logon:crashkey-test:logon-$UUID" "$IMG"
expect_rc 1
expect_err "must be a user key"
[ ! -e "$ITEM" ] || fail "item created"
drop_key logon "crashkey-test:logon-$UUID"
end

begin "add --volume-key-keyring with no such key, or a malformed one: exit 1"
drop_key user "$VK_DESC"
ck add --volume-key-keyring "%user:$VK_DESC" "$IMG"
expect_rc 1
expect_err "no key \"%user:$VK_DESC\""
ck add --volume-key-keyring "%user" "$IMG"
expect_rc 1
expect_err "invalid --volume-key-keyring"
ck add --volume-key-keyring "--key-file" "$IMG"
expect_rc 1
[ ! -e "$ITEM" ] || fail "item created"
end

begin "add --volume-key-keyring with --key-file: exit 2"
ck add --volume-key-keyring "$VK_DESC" --key-file "$KEYFILE" "$IMG"
expect_rc 2
expect_err "exclude each other"
end

# ---- add --token-only: the volume key through a LUKS2 token ----
# libcryptsetup's token API, as for systemd's TPM2 and FIDO2 tokens; here the
# token type libcryptsetup has built in: the passphrase of key slot 1 in a user key.

if cryptsetup token add --key-description "$TOKEN_DESC" --key-slot 1 "$IMG" \
	>"$TMP/token.log" 2>&1; then
	begin "add --token-only through a LUKS2 token: no passphrase asked"
	printf '%s' "$PASS" | keyctl padd user "$TOKEN_DESC" @u >/dev/null
	ck add --token-only "$IMG"
	expect_rc 0
	expect_out "added $UUID"
	expect_key logon "$DESC"
	ck remove "$UUID"
	ck add --token-id 0 --token-type luks2-keyring "$IMG"
	expect_rc 0
	expect_key logon "$DESC"
	ck remove "$UUID"
	expect_rc 0
	end

	begin "add with a token ID or type that no token has: exit 1, nothing registered"
	ck add --token-id 5 "$IMG"
	expect_rc 1
	expect_err "no usable LUKS2 token"
	ck add --token-type systemd-tpm2 "$IMG"
	expect_rc 1
	expect_err "no usable LUKS2 token"
	[ ! -e "$ITEM" ] || fail "item created"
	end

	begin "add --token-only with the token's secret wrong or missing: exit 1"
	drop_key user "$TOKEN_DESC"
	printf 'wrong-%s' "$PASS" | keyctl padd user "$TOKEN_DESC" @u >/dev/null
	ck add --token-only "$IMG"
	expect_rc 1
	expect_err "no token opened a key slot"
	drop_key user "$TOKEN_DESC"
	ck add --token-only "$IMG"
	expect_rc 1
	expect_err "no token opened a key slot"
	[ ! -e "$ITEM" ] || fail "item created"
	expect_no_key logon "$DESC"
	end
	cryptsetup token remove --token-id 0 "$IMG" >/dev/null 2>&1
else
	skip "add --token-only through a LUKS2 token" "cannot add a token: $(head -n 1 "$TMP/token.log")"
fi

begin "add --token-id out of range, or with --volume-key-keyring: exit 2"
ck add --token-id 32 "$IMG"
expect_rc 2
expect_err "invalid --token-id"
ck add --token-only --volume-key-keyring "$VK_DESC" "$IMG"
expect_rc 2
expect_err "exclude each other"
end

if [ -n "$LOOP" ]; then
	begin "add by UUID finds the block device"
	ck add --key-file "$KEYFILE" "UUID=$UUID"
	expect_rc 0
	expect_out "$LOOP"
	expect_key logon "$DESC"
	ck --json list
	expect_out "\"device\":\"$LOOP\""
	ck remove "$UUID"
	expect_rc 0
	expect_no_key logon "$DESC"
	end
else
	skip "add by UUID finds the block device" "no loop device"
fi

# ---- what the loaded crash kernel carries: list, status, checks ----

TOP=$(cd "$(dirname "$0")/../.." && pwd)
SHIPPED_DROPIN=$TOP/tools/system/kdump-tools.service.d/crashkey.conf
U_YES=$(cat /proc/sys/kernel/random/uuid)
U_YES2=$(cat /proc/sys/kernel/random/uuid)
U_STALE=$(cat /proc/sys/kernel/random/uuid)
U_NO=$(cat /proc/sys/kernel/random/uuid)
U_OLD=$(cat /proc/sys/kernel/random/uuid)	# a kernel without handed_over
DIGEST=$(printf 'crashkey-test' | sha256sum | cut -c1-64)
DEFAULT_KDUMP=$SYSROOT/etc/default/kdump-tools
LIB_DROPINS=$SYSROOT/usr/lib/systemd/system/kdump-tools.service.d
ETC_DROPINS=$SYSROOT/etc/systemd/system/kdump-tools.service.d

no_items() {
	rm -rf "${CFG:?}"/*
}

# fake_item UUID [STATE]: an item as configfs shows it, its handed_over
# saying STATE; without STATE it has none, as before the kernel had it.
fake_item() {
	mkdir -p "$CFG/$1"
	printf 'kdump-cryptsetup:vk-%s\n' "$1" >"$CFG/$1/description"
	if [ $# -gt 1 ]; then
		printf '%s\n' "$2" >"$CFG/$1/handed_over"
	fi
}

# handover COUNT: the kernel's summary of a kept blob of COUNT keys;
# without COUNT there is none, as before the kernel had it.
handover() {
	if [ $# = 0 ]; then
		rm -f "$CFG/handed_over"
	elif [ "$1" = 0 ]; then
		echo "0 -" >"$CFG/handed_over"
	else
		echo "$1 $DIGEST" >"$CFG/handed_over"
	fi
}

crash_loaded() {
	mkdir -p "$SYSROOT/sys/kernel"
	echo "$1" >"$SYSROOT/sys/kernel/kexec_crash_loaded"
}

crash_size_mib() {
	mkdir -p "$SYSROOT/sys/kernel"
	echo $(($1 << 20)) >"$SYSROOT/sys/kernel/kexec_crash_size"
}

# kdump_tools [yes]: kdump-tools installed, with no configuration; or not.
KDUMP_INITRD=/var/lib/kdump/initrd.img-$(uname -r)
kdump_tools() {
	rm -rf "${SYSROOT:?}/usr" "${SYSROOT:?}/etc" "${SYSROOT:?}/lib" "${SYSROOT:?}/var"
	if [ $# -gt 0 ]; then
		mkdir -p "$SYSROOT/usr/sbin" "$(dirname "$DEFAULT_KDUMP")" \
			"$LIB_DROPINS" "$ETC_DROPINS" "$SYSROOT${KDUMP_INITRD%/*}"
		touch "$SYSROOT/usr/sbin/kdump-config" "$SYSROOT$KDUMP_INITRD"
		# As kdump-tools ships it.
		printf '%s\n' '# KDUMP_KEXEC_ARGS - Additional arguments to kexec' \
			'#KDUMP_KEXEC_ARGS=""' >"$DEFAULT_KDUMP"
	fi
}

# The HANDOVER column of list's line for UUID.
list_state() {
	awk -v u="$1" '$1 == u { print $3 }' "$OUT"
}

expect_list_state() {
	[ "$(list_state "$1")" = "$2" ] ||
		fail "list shows $1 as '$(list_state "$1")', not $2"
}

# expect_item_json UUID VALUE: the JSON item of UUID has handed_over VALUE.
expect_item_json() {
	grep -qE "\"uuid\":\"$1\"[^}]*\"handed_over\":$2[,}]" "$OUT" ||
		fail "the item of $1 has no \"handed_over\":$2"
}

# expect_json_check NAME OK: status --json has check NAME with "ok": OK.
expect_json_check() {
	grep -qF "{\"name\":\"$1\",\"ok\":$2," "$OUT" ||
		fail "no check $1 with \"ok\":$2"
}

expect_no_err() {
	! grep -qF -- "$1" "$ERR" || fail "stderr has '$1'"
}

RELOAD_NOTE="the loaded crash kernel does not carry this change yet; reload it (with kdump-tools: systemctl restart kdump-tools)"

# Only the handover check can fail until the reservation tests.
crash_size_mib 256
kdump_tools

begin "list shows whether the crash kernel carries each key: yes, stale, no, unknown"
no_items
fake_item "$U_YES" yes
fake_item "$U_STALE" stale
fake_item "$U_NO" no
fake_item "$U_OLD"
ck list
expect_rc 0
expect_out "HANDOVER"
expect_list_state "$U_YES" yes
expect_list_state "$U_STALE" stale
expect_list_state "$U_NO" no
expect_list_state "$U_OLD" unknown
end

begin "list --json: handed_over yes, stale, no, and null without the attribute"
ck --json list
expect_rc 0
expect_json
expect_item_json "$U_YES" '"yes"'
expect_item_json "$U_STALE" '"stale"'
expect_item_json "$U_NO" '"no"'
expect_item_json "$U_OLD" null
end

begin "status shows each key's hand-over state too"
ck --json status
expect_rc 0
expect_json
expect_item_json "$U_STALE" '"stale"'
expect_item_json "$U_OLD" null
ck status
expect_list_state "$U_NO" no
end

begin "status --json: the hand-over summary, count and digest"
handover 2
ck --json status
expect_rc 0
expect_json
expect_out "\"handover\":{\"count\":2,\"digest\":\"$DIGEST\"}"
ck status
expect_out "handed over:         2 keys, digest $DIGEST"
end

begin "status: no kept blob is count 0, digest null"
handover 0
ck --json status
expect_rc 0
expect_json
expect_out "\"handover\":{\"count\":0,\"digest\":null}"
ck status
expect_out "handed over:         none"
end

begin "status on a kernel without handed_over: unknown, and --check fails"
no_items
fake_item "$U_OLD"
handover
crash_loaded 1
ck --json status
expect_rc 0
expect_json
expect_out "\"handover\":null"
expect_json_check handover false
ck status --check
expect_rc 5
expect_out "handed over:         unknown"
expect_check failed handover "no handed_over attribute"
end

begin "check handover: ok when the crash kernel carries every registered key"
no_items
fake_item "$U_YES" yes
fake_item "$U_YES2" yes
handover 2
crash_loaded 1
ck status --check
expect_rc 0
expect_check ok handover "carries the keys of all 2 registered volumes"
ck --json status
expect_json_check handover true
end

begin "check handover: failed when it carries no key (loaded without kexec -s?)"
no_items
fake_item "$U_NO" no
handover 0
ck status
expect_rc 0
expect_check failed handover "carries none of the 1 registered keys: loaded without kexec -s"
ck status --check
expect_rc 5
ck --json status
expect_rc 0
expect_json_check handover false
end

begin "check handover: failed, naming a volume registered after the load"
no_items
fake_item "$U_YES" yes
fake_item "$U_NO" no
handover 1
ck status --check
expect_rc 5
expect_check failed handover "registered after the load, reload needed: $U_NO"
end

begin "check handover: failed, naming a volume registered again since the load"
no_items
fake_item "$U_YES" yes
fake_item "$U_STALE" stale
handover 2
ck status --check
expect_rc 5
expect_check failed handover "registered again since the load, reload needed: $U_STALE"
end

begin "check handover: names three volumes and counts the others"
no_items
for _ in 1 2 3 4 5; do
	fake_item "$(cat /proc/sys/kernel/random/uuid)" no
done
fake_item "$U_YES" yes
handover 1
ck status --check
expect_rc 5
expect_check failed handover " and 2 more"
end

begin "check handover: failed while keys of removed volumes stay in the crash region"
no_items
fake_item "$U_YES" yes
handover 3
ck status --check
expect_rc 5
expect_check failed handover "still holds 2 keys of removed volumes, until the next load or unload"
end

begin "check handover: failed when volumes are registered and no crash kernel is loaded"
no_items
fake_item "$U_NO" no
handover 0
crash_loaded 0
ck status --check
expect_rc 5
expect_check failed handover "no crash kernel is loaded: a crash now saves no dump"
ck --json status
expect_json_check handover false
end

begin "check handover: n/a when nothing is registered and no crash kernel is loaded"
no_items
handover 0
crash_loaded 0
ck status --check
expect_rc 0
expect_check n/a handover "no crash kernel is loaded and no volume is registered"
ck --json status
expect_json_check handover null
end

begin "check reservation: failed with no crashkernel= (size 0)"
crash_size_mib 0
ck status --check
expect_rc 5
expect_check failed reservation "no memory is reserved for a crash kernel: boot with crashkernel="
ck --json status
expect_json_check reservation false
end

# What make bench measured on this arch (tools/crashkey/sizing.h), and the
# smallest crashkernel= in MiB it allows for N volumes.
sizing() {
	${CC:-cc} -E -dM -include "$TOP/tools/crashkey/sizing.h" - </dev/null |
		awk -v m="SIZING_$1" '$2 == m { print $3 }'
}
BASE_MIB=$(sizing BASE_MIB)
VOLUME_KIB=$(sizing VOLUME_KIB)
needed_mib() { echo $((BASE_MIB + (($1 - 1) * VOLUME_KIB + 1023) / 1024)); }

begin "check reservation: failed below what make bench measured for one volume"
crash_size_mib $((BASE_MIB - 1))
ck status --check
expect_rc 5
expect_check failed reservation "$((BASE_MIB - 1)) MiB reserved (crashkernel=), less than the $BASE_MIB MiB make bench measured for 0 volumes"
end

begin "check reservation: ok at what make bench measured"
crash_size_mib "$BASE_MIB"
ck status --check
expect_rc 0
expect_check ok reservation "$BASE_MIB MiB reserved (crashkernel=); make bench measured $BASE_MIB MiB"
ck --json status
expect_json_check reservation true
end

begin "check reservation: each volume past the first adds what make bench measured"
no_items
for u in "$U_YES" "$U_YES2" "$U_NO"; do fake_item "$u" yes; done
crash_size_mib $(($(needed_mib 3) - 1))
ck status
expect_check failed reservation "less than the $(needed_mib 3) MiB make bench measured for 3 volumes"
crash_size_mib "$(needed_mib 3)"
ck status
expect_check ok reservation "make bench measured $(needed_mib 3) MiB for 3 volumes"
no_items
crash_size_mib 256
end

# kdump-tools' capture boot opens the crypttab volumes as any boot does: one asked
# for at boot and not handed over would keep the dump waiting for its passphrase.
if [ -n "$LOOP" ]; then
	begin "check kdump-boot: a passphrase volume fails until registered or noauto; one with a key file is left closed"
	no_items
	mkdir -p "$SYSROOT/etc"
	printf '# test\nvol\t%s\tnone\tluks,discard\n' "$LOOP" >"$SYSROOT/etc/crypttab"
	ck status --check
	expect_rc 5
	expect_check failed kdump-boot "vol (/etc/crypttab:2) asks for a passphrase at boot and is not handed over: the kdump boot leaves it closed"
	ck --json status
	expect_json_check kdump-boot false
	fake_item "$UUID" yes
	ck status
	expect_check ok kdump-boot "the kdump boot opens every LUKS volume"
	no_items
	printf 'vol UUID=%s - luks,noauto\n' "$UUID" >"$SYSROOT/etc/crypttab"
	ck status --check
	expect_rc 0
	expect_check ok kdump-boot "the kdump boot opens every LUKS volume"
	printf 'vol UUID=%s %s luks\n' "$UUID" "$KEYFILE" >"$SYSROOT/etc/crypttab"
	ck status --check
	expect_rc 0
	expect_check ok kdump-boot "leaves closed 1 not handed over: vol"
	long=$(printf 'v%.0s' $(seq 120))
	for i in 1 2 3 4; do printf '%s%s UUID=%s %s luks\n' "$long" "$i" "$UUID" "$KEYFILE"; done \
		>"$SYSROOT/etc/crypttab"
	ck status --check
	expect_rc 0
	expect_check ok kdump-boot "leaves closed 4 not handed over: ${long}1, "
	printf 'vol UUID=%s\n' "$UUID" >"$SYSROOT/etc/crypttab"
	ck status --check
	expect_rc 5
	expect_check failed kdump-boot "vol (/etc/crypttab:1) asks for a passphrase"
	rm -f "$SYSROOT/etc/crypttab"
	end
else
	skip "check kdump-boot: a passphrase volume fails until registered or noauto; one with a key file is left closed" "no loop device"
fi

begin "check kdump-initrd: n/a without kdump-tools, ok with an initrd newer than its inputs"
kdump_tools
ck status
expect_check n/a kdump-initrd "kdump-tools is not installed"
kdump_tools yes
mkdir -p "$SYSROOT/etc"
touch -d '-1 min' "$SYSROOT/etc/crypttab" "$SYSROOT/etc/default/kdump-tools"
ck status
expect_check ok kdump-initrd "$KDUMP_INITRD is newer than crashkey's configuration"
end

begin "check kdump-initrd: failed when crypttab, the config or a header changed since"
printf 'vol /dev/nonexistent none luks,header=/etc/vol.hdr\n' > "$SYSROOT/etc/crypttab"
touch -d '+1 min' "$SYSROOT/etc/crypttab"
ck status --check
expect_rc 5
expect_check failed kdump-initrd "/etc/crypttab changed after $KDUMP_INITRD was built: systemctl restart crashkey kdump-tools"
touch -d '-1 min' "$SYSROOT/etc/crypttab"
mkdir -p "$SYSROOT/etc/default"
touch -d '+1 min' "$SYSROOT/etc/vol.hdr" "$SYSROOT/etc/default/crashkey"
ck status
expect_check failed kdump-initrd "/etc/default/crashkey changed after"
expect_check failed kdump-initrd "/etc/vol.hdr changed after"
ck --json status
expect_json_check kdump-initrd false
rm "$SYSROOT$KDUMP_INITRD"
ck status
expect_check failed kdump-initrd "$KDUMP_INITRD does not exist"
kdump_tools
end

begin "check kdump-tools: n/a when it is not installed"
ck status --check
expect_rc 0
expect_check n/a kdump-tools "kdump-tools is not installed"
ck --json status
expect_json_check kdump-tools null
end

begin "check kdump-tools: failed when nothing sets KDUMP_KEXEC_ARGS"
kdump_tools yes
ck status --check
expect_rc 5
expect_check failed kdump-tools "nothing sets KDUMP_KEXEC_ARGS"
expect_check failed kdump-tools "set KDUMP_KEXEC_ARGS=\"-s\" in /etc/default/kdump-tools"
ck --json status
expect_rc 0
expect_json_check kdump-tools false
end

begin "check kdump-tools: ok with crashkey's drop-in"
cp "$SHIPPED_DROPIN" "$LIB_DROPINS/crashkey.conf"
ck status --check
expect_rc 0
expect_check ok kdump-tools "$LIB_DROPINS/crashkey.conf sets KDUMP_KEXEC_ARGS=\"-s\""
ck --json status
expect_json_check kdump-tools true
end

begin "check kdump-tools: /etc/default/kdump-tools without -s wins over the drop-in"
printf '%s\n' 'KDUMP_KEXEC_ARGS="-d"' >>"$DEFAULT_KDUMP"
ck status --check
expect_rc 5
expect_check failed kdump-tools "$DEFAULT_KDUMP sets KDUMP_KEXEC_ARGS=\"-d\", without -s"
end

begin "check kdump-tools: ok with -s in /etc/default/kdump-tools"
rm -f "$LIB_DROPINS/crashkey.conf"
printf '%s\n' '  export KDUMP_KEXEC_ARGS="-d -s"' >>"$DEFAULT_KDUMP"
ck status --check
expect_rc 0
expect_check ok kdump-tools "$DEFAULT_KDUMP sets KDUMP_KEXEC_ARGS=\"-d -s\""
end

# secure_boot SB SM: EFI variables SecureBoot and SetupMode as efivarfs shows them
# (4 attribute bytes, then the value); no arguments: none.
secure_boot() {
	local efi=$SYSROOT/sys/firmware/efi/efivars
	rm -rf "$efi"
	[ $# -gt 0 ] || return 0
	mkdir -p "$efi"
	printf '06000000%02x' "$1" | xxd -r -p >"$efi/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
	printf '06000000%02x' "$2" | xxd -r -p >"$efi/SetupMode-8be4df61-93ca-11d2-aa0d-00e098032b8c"
}

begin "check kdump-tools: ok under Secure Boot, where kdump-tools adds -s itself"
kdump_tools yes
rm -f "$LIB_DROPINS/crashkey.conf"
secure_boot 1 0
ck status --check
expect_rc 0
expect_check ok kdump-tools "Secure Boot is on"
secure_boot 1 1
ck status --check
expect_rc 5
expect_check failed kdump-tools "nothing sets KDUMP_KEXEC_ARGS"
secure_boot
end

begin "check kdump-tools: a drop-in of the same name in /etc masks crashkey's"
kdump_tools yes
cp "$SHIPPED_DROPIN" "$LIB_DROPINS/crashkey.conf"
ln -s /dev/null "$ETC_DROPINS/crashkey.conf"
ck status --check
expect_rc 5
expect_check failed kdump-tools "nothing sets KDUMP_KEXEC_ARGS"
end

# systemd reads the drop-ins by file name, whatever their directory.
begin "check kdump-tools: a drop-in later by name wins, whatever its directory"
rm -f "$ETC_DROPINS/crashkey.conf"
printf '%s\n' '[Service]' 'Environment=KDUMP_KEXEC_ARGS=-d' >"$ETC_DROPINS/00-local.conf"
ck status --check
expect_rc 0
expect_check ok kdump-tools "$LIB_DROPINS/crashkey.conf sets KDUMP_KEXEC_ARGS=\"-s\""
end

begin "check kdump-tools: a drop-in later by name without -s wins"
printf '%s\n' '[Service]' 'Environment="KDUMP_KEXEC_ARGS=-d" OTHER=-s' \
	>"$LIB_DROPINS/zz-local.conf"
ck status --check
expect_rc 5
expect_check failed kdump-tools "$LIB_DROPINS/zz-local.conf sets KDUMP_KEXEC_ARGS=\"-d\", without -s"
end

begin "check kdump-tools: an empty Environment= later by name unsets it"
rm -f "$LIB_DROPINS/zz-local.conf"
printf '%s\n' '[Service]' 'Environment=' >"$ETC_DROPINS/zz-reset.conf"
ck status --check
expect_rc 5
expect_check failed kdump-tools "nothing sets KDUMP_KEXEC_ARGS"
end
kdump_tools

# The reload notes, with a real registration.
no_items

begin "add with a crash kernel loaded: a note to reload it"
crash_loaded 1
ck add --key-file "$KEYFILE" "$IMG"
expect_rc 0
expect_err "$RELOAD_NOTE"
end

begin "remove --json with a crash kernel loaded: the note, reload_needed true"
echo yes >"$ITEM/handed_over"
ck --json remove "$UUID"
expect_rc 0
expect_json
expect_out "\"reload_needed\":true"
expect_err "$RELOAD_NOTE"
[ ! -e "$ITEM" ] || fail "item still there"
end

begin "add and remove with no crash kernel loaded: no note, reload_needed false"
crash_loaded 0
ck --json add --key-file "$KEYFILE" "$IMG"
expect_rc 0
expect_json
expect_out "\"reload_needed\":false"
expect_no_err "reload"
ck remove "$UUID"
expect_rc 0
expect_no_err "reload"
end

begin "add and remove --quiet with a crash kernel loaded: no note"
crash_loaded 1
ck --quiet --json add --key-file "$KEYFILE" "$IMG"
expect_rc 0
expect_out "\"reload_needed\":true"
expect_no_err "reload"
ck --quiet remove "$UUID"
expect_rc 0
expect_no_err "reload"
expect_no_key logon "$DESC"
end

rm -rf "${SYSROOT:?}"/*
no_items

# ---- which device a UUID names ----

# A changed copy of the image, same LUKS UUID, on LOOP2. Every lookup below
# tries the wrong key file: "$LOOP: no key slot matches" says the lookup
# chose LOOP, and found no second device with the UUID.
copy_image() {
	cp "$IMG" "$TMP/$1.img"
	printf '%s' "$TMP/$1.img"
}

attach_copy() {
	LOOP2=$(losetup -f --show "$1") || fail "cannot attach $1"
}

detach_copy() {
	[ -z "$LOOP2" ] || losetup -d "$LOOP2" || fail "cannot detach $LOOP2"
	LOOP2=""
}

# write_hex FILE OFFSET HEX: writes the bytes HEX at OFFSET of FILE.
write_hex() {
	printf '%s' "$3" | xxd -r -p | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# N as 8 bytes, little-endian, in hex.
le64_hex() {
	printf '%016x' "$1" | sed 's/../& /g' | awk '{ for (i = NF; i > 0; i--) printf "%s", $i }'
}

# What each member of an md RAID1 with 1.0 metadata shows: the array's data
# (here its LUKS header) from its start, and an md superblock 8 KiB before its
# 4 KiB-aligned end: magic, major version 1, and its own sector at byte 144.
md_superblock_1_0() {
	local off
	off=$(( ($(stat -c %s "$1") & ~0xfff) - 0x2000 ))
	write_hex "$1" "$off" fc4e2ba901000000
	write_hex "$1" $((off + 144)) "$(le64_hex $((off / 512)))"
}

# A bcache superblock at 4 KiB (its sector, 8, then its magic): blkid finds it
# before the LUKS header, and calls the device ambiguous.
bcache_superblock() {
	write_hex "$1" $((0x1008)) 0800000000000000
	write_hex "$1" $((0x1018)) c68573f64e1a45ca8265f57f48ba6d81
}

expect_chose_loop() {
	expect_rc 1
	expect_err "$LOOP: no key slot matches this passphrase"
	! grep -qF "is on both" "$ERR" || fail "a second device was taken for the volume"
}

# fake_holder HOLDER [DM_UUID]: a stand-in for /sys/class/block in which
# LOOP is held by HOLDER, a dm device with DM_UUID if one is given.
fake_holder() {
	rm -rf "$SYSFS"
	mkdir -p "$SYSFS/${LOOP#/dev/}/holders/$1"
	if [ $# -gt 1 ]; then
		mkdir -p "$SYSFS/$1/dm"
		printf '%s\n' "$2" >"$SYSFS/$1/dm/uuid"
	fi
}

if [ -n "$LOOP" ]; then
	begin "add by uuid= with an uppercase UUID finds the block device"
	ck add --key-file "$WRONGFILE" "uuid=$(printf '%s' "$UUID" | tr a-f A-F)"
	expect_chose_loop
	end

	begin "add with a UUID one digit short: neither a UUID nor a file"
	ck add --key-file "$KEYFILE" "${UUID%?}"
	expect_rc 1
	expect_err "${UUID%?}: no such file or device"
	end

	begin "add by UUID refuses a UUID on two devices and names both"
	attach_copy "$(copy_image copy)"
	ck add --key-file "$KEYFILE" "$UUID"
	expect_rc 1
	grep -qF -e "UUID $UUID is on both $LOOP and $LOOP2;" \
		-e "UUID $UUID is on both $LOOP2 and $LOOP;" "$ERR" ||
		fail "the error does not name $LOOP and $LOOP2"
	expect_no_key logon "$DESC"
	end

	begin "list shows no device for a UUID on two devices, and warns"
	mkdir -p "$ITEM"
	printf '%s' "$DESC" >"$ITEM/description"
	ck --json list
	expect_rc 0
	expect_json
	expect_out "\"device\":null"
	expect_err "warning: LUKS UUID $UUID is on both"
	rm -rf "$ITEM"
	detach_copy
	end

	begin "a RAID1 member with its metadata at the end is not the volume"
	IMG2=$(copy_image raid-member)
	md_superblock_1_0 "$IMG2"
	attach_copy "$IMG2"
	ck add --key-file "$WRONGFILE" "$UUID"
	expect_chose_loop
	detach_copy
	end

	# LUKS1 with the same UUID: libcryptsetup still opens it, bcache's
	# superblock lands in the key material of slot 0.
	begin "a device whose signatures are ambiguous to blkid is not used"
	IMG2=$TMP/ambiguous.img
	truncate -s 8M "$IMG2"
	cryptsetup luksFormat --type luks1 --uuid "$UUID" "${FAST_KDF[@]}" "$IMG2" \
		"$WRONGFILE" >/dev/null 2>&1 || fail "cannot make a LUKS1 image"
	bcache_superblock "$IMG2"
	attach_copy "$IMG2"
	ck add --key-file "$WRONGFILE" "$UUID"
	expect_chose_loop
	detach_copy
	end

	# Another UUID in the primary LUKS2 header alone (at byte 168): blkid
	# reads it there, libcryptsetup finds that copy's checksum wrong and
	# reads the secondary header.
	begin "add by UUID checks that the header holds the UUID blkid reported"
	IMG2=$(copy_image stale)
	printf '%s' "$NODEV_UUID" | dd of="$IMG2" bs=1 seek=168 conv=notrunc status=none
	attach_copy "$IMG2"
	ck add --key-file "$KEYFILE" "$NODEV_UUID"
	expect_rc 1
	expect_err "$LOOP2: blkid reported LUKS UUID $NODEV_UUID but the header holds $UUID"
	expect_no_key logon "$DESC"
	detach_copy
	end

	begin "a device held by an md array is skipped"
	fake_holder md127
	CRASHKEY_SYSFS_BLOCK=$SYSFS ck --verbose add --key-file "$WRONGFILE" "$UUID"
	expect_rc 1
	expect_err "$LOOP: LUKS UUID $UUID, skipped: md127 holds it"
	expect_err "no block device holds a LUKS volume with UUID $UUID"
	end

	begin "a path of a multipath map is skipped"
	fake_holder dm-90 "mpath-3600508b400105e210000900000490000"
	CRASHKEY_SYSFS_BLOCK=$SYSFS ck --verbose add --key-file "$WRONGFILE" "$UUID"
	expect_rc 1
	expect_err "$LOOP: LUKS UUID $UUID, skipped: dm-90 holds it"
	expect_err "no block device holds a LUKS volume with UUID $UUID"
	end

	begin "an open volume (a dm-crypt holder) is still found"
	fake_holder dm-91 "CRYPT-LUKS2-${UUID//-/}-$MAPPER"
	CRASHKEY_SYSFS_BLOCK=$SYSFS ck add --key-file "$WRONGFILE" "$UUID"
	expect_chose_loop
	end

else
	skip "which device a UUID names" "no loop device"
fi

# ---- unlock (capture kernel side) ----

CAP=$TMP/capture		# stand-in for the capture kernel's directory
mkdir -p "$CAP"

if [ -n "$(foreign_volume_keys)" ]; then
	skip "unlock tests" "@u holds volume keys these tests did not add"
else
	begin "unlock with no user keys: exit 4"
	CRASHKEY_CONFIGFS=$CAP ck unlock
	expect_rc 4
	expect_err "no volume keys"
	end

	begin "unlock writes 1 to restore"
	touch "$CAP/restore"
	CRASHKEY_CONFIGFS=$CAP ck unlock
	expect_rc 4
	[ "$(cat "$CAP/restore")" = 1 ] || fail "restore not written"
	rm -f "$CAP/restore"
	end

	begin "unlock --json with no keys: exit 4, empty volume list"
	CRASHKEY_CONFIGFS=$CAP ck --json unlock --no-restore
	expect_rc 4
	expect_json
	expect_out "\"restore\":\"skipped\""
	expect_out "\"total\":0"
	end

	begin "unlock drops a key with no device"
	keyctl padd user "$NODEV_DESC" @u <"$WRONGFILE" >/dev/null
	CRASHKEY_CONFIGFS=$CAP ck unlock --no-restore
	expect_rc 3
	expect_out "failed $NODEV_UUID -: no block device with this LUKS UUID; key dropped"
	expect_out "unlocked 0 of 1 volumes"
	expect_no_key user "$NODEV_DESC"
	end

	# Key descriptions are bytes anyone chose; JSON must be UTF-8.
	begin "unlock --json is valid JSON for a key description that is not UTF-8"
	BAD_DESC=$(printf 'crashkey-test\377:vk-%s' "$NODEV_UUID")
	keyctl padd user "$BAD_DESC" @u <"$WRONGFILE" >/dev/null
	CRASHKEY_CONFIGFS=$CAP ck --json unlock --no-restore
	expect_rc 3
	expect_json
	expect_out "$(printf 'crashkey-test\357\277\275:vk-')"
	expect_no_key user "$BAD_DESC"
	end

	if [ -n "$LOOP" ]; then
		begin "unlock refuses a UUID on two devices and drops the key"
		attach_copy "$(copy_image copy)"
		keyctl padd user "$DESC" @u <"$KEY_BIN" >/dev/null
		CRASHKEY_CONFIGFS=$CAP ck unlock --no-restore
		expect_rc 3
		expect_out "failed $UUID -: this LUKS UUID is on both"
		expect_no_key user "$DESC"
		detach_copy
		end

		begin "unlock refuses a key that does not match the header"
		head -c "$(stat -c %s "$KEY_BIN")" /dev/urandom |
			keyctl padd user "$DESC" @u >/dev/null
		CRASHKEY_CONFIGFS=$CAP ck unlock --no-restore
		expect_rc 3
		expect_out "failed $UUID $LOOP: key does not match the LUKS header, not used"
		expect_no_key user "$DESC"
		end

		begin "unlock --dry-run checks the key and keeps it"
		keyctl padd user "$DESC" @u <"$KEY_BIN" >/dev/null
		CRASHKEY_CONFIGFS=$CAP ck unlock --no-restore --dry-run
		expect_rc 0
		expect_out "would-unlock $UUID $LOOP -> /dev/mapper/$MAPPER"
		expect_out "would unlock 1 of 1 volumes"
		expect_key user "$DESC"
		end

		# Without device-mapper on the host, activation fails; the key
		# check before it passed, and the key is dropped either way.
		begin "unlock with the right key opens the volume or tries to"
		CRASHKEY_CONFIGFS=$CAP ck --json unlock --no-restore
		expect_json
		if [ "$RC" = 0 ]; then
			expect_out "\"status\":\"unlocked\""
			[ -e "/dev/mapper/$MAPPER" ] || fail "no /dev/mapper/$MAPPER"
		else
			expect_rc 3
			expect_out "activation failed"
		fi
		expect_out "\"total\":1"
		expect_no_key user "$DESC"
		end

		if [ -e "/dev/mapper/$MAPPER" ]; then
			begin "unlock of an open volume reports already-active"
			keyctl padd user "$DESC" @u <"$KEY_BIN" >/dev/null
			CRASHKEY_CONFIGFS=$CAP ck unlock --no-restore
			expect_rc 0
			expect_out "already-active $UUID"
			expect_no_key user "$DESC"
			end

			begin "an open volume (dm-crypt on it) is still found by UUID"
			ck add --key-file "$WRONGFILE" "$UUID"
			expect_chose_loop
			end
		fi
	else
		skip "unlock with a device" "no loop device"
	fi
fi

# ---- unlock: crypttab names, detached headers, slow devices ----

CT=$TMP/crypttab		# written anew by each test
LATE_UUID=$(cat /proc/sys/kernel/random/uuid)
LATE_DESC="kdump-cryptsetup:vk-$LATE_UUID"

# Milliseconds since some point, to time unlock --wait.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# unlock_with_key DESC ARGS...: puts the volume key in @u under DESC and
# runs unlock --no-restore ARGS in the capture stand-in.
unlock_with_key() {
	local desc=$1
	shift
	keyctl padd user "$desc" @u <"$KEY_BIN" >/dev/null
	CRASHKEY_CONFIGFS=$CAP ck unlock --no-restore "$@"
}

# expect_opened UUID DEVICE NAME: unlock without --dry-run opened the volume
# as NAME, or, without device-mapper on the host, got as far as activating
# it under NAME; the key is gone either way.
expect_opened() {
	if [ "$RC" = 0 ]; then
		expect_out "unlocked $1 $2 -> /dev/mapper/$3"
		[ -e "/dev/mapper/$3" ] || fail "no /dev/mapper/$3"
	else
		expect_rc 3
		expect_out "failed $1 $2: activation failed"
		expect_out "(/dev/mapper/$3 not set up)"
	fi
}

crypttab_tests() {
	begin "unlock opens a volume under its crypttab name (UUID=)"
	printf '%s\n' "# the system's volumes" "" \
		"ck-test-other	UUID=$NODEV_UUID	none	luks" \
		"  ck-test-uuid UUID=$UUID /etc/keys/x luks,discard" >"$CT"
	unlock_with_key "$DESC" --dry-run --crypttab "$CT"
	expect_rc 0
	expect_out "would-unlock $UUID $LOOP -> /dev/mapper/ck-test-uuid"
	[ ! -s "$ERR" ] || fail "unexpected messages on stderr"
	CRASHKEY_CONFIGFS=$CAP ck unlock --no-restore --crypttab "$CT"
	expect_opened "$UUID" "$LOOP" ck-test-uuid
	expect_no_key user "$DESC"
	end

	begin "unlock --json names the crypttab name in name and mapper"
	unlock_with_key "$DESC" --json --dry-run --crypttab "$CT"
	expect_rc 0
	expect_json
	expect_out "\"mapper\":\"/dev/mapper/ck-test-uuid\""
	expect_out "\"name\":\"ck-test-uuid\""
	expect_out "\"header\":null"
	drop_key user "$DESC"
	end

	begin "unlock opens a volume under its crypttab name (device path)"
	printf '%s\n' "ck-test-path $LOOP none luks" >"$CT"
	unlock_with_key "$DESC" --dry-run --crypttab "$CT"
	expect_rc 0
	expect_out "would-unlock $UUID $LOOP -> /dev/mapper/ck-test-path"
	drop_key user "$DESC"
	end

	begin "a volume without a crypttab entry is luks-UUID"
	printf '%s\n' "ck-test-other UUID=$NODEV_UUID none luks" \
		"ck-test-label LABEL=ck-no-such-label" \
		"ck-test-partuuid PARTUUID=$NODEV_UUID" \
		"ck-test-gone $TMP/no-such-device none luks" >"$CT"
	unlock_with_key "$DESC" --json --dry-run --crypttab "$CT"
	expect_rc 0
	expect_out "\"mapper\":\"/dev/mapper/$MAPPER\""
	expect_out "\"name\":\"$MAPPER\""
	drop_key user "$DESC"
	end

	begin "a malformed crypttab line is warned about and skipped"
	printf '%s\n' "ck-test-short" \
		"ck-test-five $LOOP none luks extra" \
		"ck-test/slash $LOOP" \
		'ck-test\040esc '"$LOOP" \
		"ck-test-hdr $LOOP none luks,header=" \
		"ck-test-path $LOOP" >"$CT"
	unlock_with_key "$DESC" --dry-run --crypttab "$CT"
	expect_rc 0
	expect_out "would-unlock $UUID $LOOP -> /dev/mapper/ck-test-path"
	expect_err "warning: $CT:1: no source device; line skipped"
	expect_err "warning: $CT:2: more than four fields; line skipped"
	expect_err "warning: $CT:3: the name must be a plain file name"
	expect_err "warning: $CT:4: backslash escapes are not supported"
	expect_err "warning: $CT:5: header= without a file"
	drop_key user "$DESC"
	end

	# The first entry wins; the second is through a symlink to the device.
	begin "two crypttab entries for one volume: the first is used, with a warning"
	ln -sf "$LOOP" "$TMP/disk-link"
	printf '%s\n' "ck-test-path $TMP/disk-link" "ck-test-uuid UUID=$UUID" >"$CT"
	unlock_with_key "$DESC" --dry-run --crypttab "$CT"
	expect_rc 0
	expect_out "would-unlock $UUID $LOOP -> /dev/mapper/ck-test-path"
	expect_err "warning: $CT: lines 1 and 2 are both for volume $UUID; using the first, ck-test-path"
	drop_key user "$DESC"
	end

	begin "unlock --crypttab with a missing file: exit 1, nothing restored"
	printf '' >"$CAP/restore"
	keyctl padd user "$DESC" @u <"$KEY_BIN" >/dev/null
	CRASHKEY_CONFIGFS=$CAP ck unlock --crypttab "$TMP/no-such-crypttab"
	expect_rc 1
	expect_err "cannot read crypttab $TMP/no-such-crypttab: No such file or directory"
	[ ! -s "$CAP/restore" ] || fail "restore was written"
	grep -qF "$UUID" "$OUT" && fail "a volume was tried"
	rm -f "$CAP/restore"
	drop_key user "$DESC"
	end

	# A copy of the image with another UUID, attached 2 s after unlock starts.
	begin "unlock --wait 5 unlocks a device that shows up 2 s late"
	cp "$IMG" "$TMP/late.img"
	cryptsetup luksUUID --batch-mode --uuid "$LATE_UUID" "$TMP/late.img" ||
		fail "cannot set the UUID of the copy"
	: >"$TMP/late.loop"
	{ sleep 2; losetup -f --show "$TMP/late.img" >"$TMP/late.loop"; } &
	local bg=$! t0
	t0=$(now_ms)
	unlock_with_key "$LATE_DESC" --wait 5 --crypttab /dev/null
	local took=$(($(now_ms) - t0))
	wait "$bg"
	LATE_LOOP=$(cat "$TMP/late.loop")
	[ -n "$LATE_LOOP" ] || fail "losetup failed"
	expect_opened "$LATE_UUID" "$LATE_LOOP" "luks-$LATE_UUID"
	expect_err "waiting up to 5 s for the device of 1 volume"
	expect_no_key user "$LATE_DESC"
	[ "$took" -ge 1500 ] || fail "returned after $took ms, before the device was there"
	[ -e "/dev/mapper/luks-$LATE_UUID" ] && cryptsetup close "luks-$LATE_UUID"
	[ -z "$LATE_LOOP" ] || losetup -d "$LATE_LOOP" || fail "cannot detach $LATE_LOOP"
	LATE_LOOP=""
	end

	begin "unlock --wait 1 for a device that never shows up: exit 3, key dropped"
	t0=$(now_ms)
	unlock_with_key "$NODEV_DESC" --wait 1
	took=$(($(now_ms) - t0))
	expect_rc 3
	expect_out "failed $NODEV_UUID -: no block device with this LUKS UUID, after waiting 1 s; key dropped (/dev/mapper/luks-$NODEV_UUID not set up)"
	expect_out "unlocked 0 of 1 volumes"
	expect_no_key user "$NODEV_DESC"
	[ "$took" -ge 1000 ] || fail "gave up after $took ms"
	end

	begin "SIGTERM ends unlock --wait early, and the key is dropped"
	keyctl padd user "$NODEV_DESC" @u <"$KEY_BIN" >/dev/null
	RUNS=$((RUNS + 1))
	OUT=$LOG/$RUNS.out
	ERR=$LOG/$RUNS.err
	t0=$(now_ms)
	CRASHKEY_CONFIGFS=$CAP "$CK" unlock --no-restore --wait 60 >"$OUT" 2>"$ERR" &
	bg=$!
	sleep 1
	kill -TERM "$bg"
	wait "$bg"
	RC=$?
	took=$(($(now_ms) - t0))
	expect_rc 3
	expect_err "interrupted: not waiting for devices any longer"
	expect_out "failed $NODEV_UUID -: no block device with this LUKS UUID"
	expect_no_key user "$NODEV_DESC"
	[ "$took" -lt 10000 ] || fail "took $took ms after SIGTERM"
	end

	# The same volume key, its header in a file, its data on a loop device.
	local hdr=$TMP/detached.hdr data=$TMP/detached.data hdr_uuid
	truncate -s 16M "$data"
	if ! cryptsetup luksFormat --type luks2 "${FAST_KDF[@]}" --header "$hdr" \
		--volume-key-file "$KEY_BIN" --key-size "$KEY_BITS" "$data" "$KEYFILE" \
		>"$TMP/format-detached.log" 2>&1 ||
	   ! DATA_LOOP=$(losetup -f --show "$data"); then
		begin "a LUKS volume with a detached header can be made"
		fail "$(tr '\n' ' ' <"$TMP/format-detached.log")"
		end
		return
	fi
	hdr_uuid=$(cryptsetup luksUUID "$hdr")
	HDR_DESC="kdump-cryptsetup:vk-$hdr_uuid"

	begin "unlock opens a volume with a detached header (crypttab header=)"
	printf '%s\n' "ck-test-hdr $DATA_LOOP none luks,header=$hdr,discard" >"$CT"
	unlock_with_key "$HDR_DESC" --dry-run --crypttab "$CT"
	expect_rc 0
	expect_out "would-unlock $hdr_uuid $DATA_LOOP -> /dev/mapper/ck-test-hdr"
	CRASHKEY_CONFIGFS=$CAP ck --json unlock --no-restore --crypttab "$CT"
	expect_json
	expect_out "\"header\":\"$hdr\""
	expect_out "\"name\":\"ck-test-hdr\""
	if [ "$RC" = 0 ]; then
		expect_out "\"status\":\"unlocked\""
		[ -e /dev/mapper/ck-test-hdr ] || fail "no /dev/mapper/ck-test-hdr"
	else
		expect_rc 3
		expect_out "activation failed"
	fi
	expect_no_key user "$HDR_DESC"
	end

	begin "a detached header whose data device is missing: exit 3"
	printf '%s\n' "ck-test-hdr $TMP/no-such-data none header=$hdr" >"$CT"
	unlock_with_key "$HDR_DESC" --crypttab "$CT"
	expect_rc 3
	expect_out "failed $hdr_uuid -: data device $TMP/no-such-data of $CT:1 not found; key dropped (/dev/mapper/ck-test-hdr not set up)"
	expect_no_key user "$HDR_DESC"
	end

	begin "a detached header that cannot be read is reported"
	printf '%s\n' "ck-test-hdr $DATA_LOOP none header=$TMP/no-such-header" >"$CT"
	unlock_with_key "$HDR_DESC" --crypttab "$CT"
	expect_rc 3
	expect_out "failed $hdr_uuid -: no block device with this LUKS UUID; key dropped"
	expect_err "warning: $CT:1: cannot read the detached header $TMP/no-such-header of ck-test-hdr: No such file or directory"
	expect_no_key user "$HDR_DESC"
	end
}

if [ -z "$LOOP" ]; then
	skip "unlock with crypttab and --wait" "no loop device"
elif [ -n "$(foreign_volume_keys)" ]; then
	skip "unlock with crypttab and --wait" "@u holds volume keys these tests did not add"
else
	crypttab_tests
fi

# ---- never show a secret ----

begin "no output ever held the volume key, hex or raw"
OUT=/dev/null
ERR=/dev/null
KEY_HEX_SPACED=$(printf '%s' "$KEY_HEX" | head -c 32 | sed 's/../& /g; s/ $//')
for f in "$LOG"/*; do
	if grep -qiF -e "$KEY_HEX" -e "$KEY_HEX_SPACED" "$f"; then
		fail "$f shows the key in hex"
	fi
	if od -An -v -tx1 "$f" | tr -d ' \n' | grep -qF "$KEY_HEX"; then
		fail "$f holds the raw key bytes"
	fi
	if grep -qF "$PASS" "$f"; then
		fail "$f shows the passphrase"
	fi
done
end

echo "1..$TESTS"
echo "# $((TESTS - FAILED)) passed, $FAILED failed"
[ "$FAILED" = 0 ]
