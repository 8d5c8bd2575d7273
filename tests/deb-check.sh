#!/usr/bin/env bash
# The crashkey Debian package: it builds with dpkg-buildpackage, lintian finds no error,
# it holds what the Debian integration needs, and its boot-time script registers the
# volumes /etc/default/crashkey names, from /etc/crypttab's entries, with the packaged
# crashkey (a directory stands in for the kernel's configfs, as in tests/tool).
#
#   tests/deb-check.sh      prints TAP; needs root, cryptsetup, keyctl
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/tap.sh
. "$TOP/tests/tap.sh"
TMP=$(mktemp -d /tmp/crashkey-deb.XXXXXX)
OUT=$TMP/deb
REGISTERED=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local uuid
	for uuid in "${REGISTERED[@]}"; do
		CRASHKEY_CONFIGFS=$TMP/configfs "$TMP/root/usr/sbin/crashkey" -q remove "$uuid" \
			>/dev/null 2>&1
	done
	[ -z "${KEYDEV:-}" ] || losetup -d "$KEYDEV"
	rm -rf "$TMP"
}
trap cleanup EXIT

# ---- the package ----

out=$("$TOP/tools/build-deb.sh" "$OUT" 2>&1)
tap $? "dpkg-buildpackage builds the package, lintian reports no error" "$out"
DEB=$(tail -n 1 <<<"$out")
if [ ! -f "$DEB" ]; then
	echo "Bail out! no package to check"
	exit 1
fi
! grep -E '^(E|W): ' "$OUT/lintian.log"
tap $? "lintian: no E: or W: line" "$(grep -E '^(E|W): ' "$OUT/lintian.log")"

# Debian 13: built in a trixie chroot, against its libraries, checked by its lintian.
TRIXIE=$TMP/deb-trixie
out=$(DEB_SUITE=trixie "$TOP/tools/build-deb.sh" "$TRIXIE" 2>&1)
tap $? "the package builds for Debian 13 in a trixie chroot, its lintian reports no error" \
	"$out"
! grep -E '^(E|W): ' "$TRIXIE/lintian.log" 2>/dev/null && [ -f "$(tail -n 1 <<<"$out")" ]
tap $? "trixie's lintian: no E: or W: line" "$(grep -E '^(E|W): ' "$TRIXIE/lintian.log")"
# shellcheck disable=SC2016 # a dpkg-query format
libs=$(chroot "${CRASHKEY_CACHE:-/var/cache/crashkey}/deb-chroot/trixie" \
	dpkg-query -W -f '${Version}' libcryptsetup-dev 2>&1)
[[ $libs == 2:2.7.* ]]
tap $? "the trixie build used trixie's libcryptsetup (2.7)" "$libs"

dpkg-deb -x "$DEB" "$TMP/root"
dpkg-deb -e "$DEB" "$TMP/control"
for f in usr/sbin/crashkey usr/share/man/man8/crashkey.8.gz usr/lib/crashkey/crashkey-setup \
	lib/systemd/system/crashkey.service lib/systemd/system/kdump-tools.service.d/crashkey.conf \
	usr/share/initramfs-tools/hooks/crashkey \
	usr/share/initramfs-tools/scripts/init-premount/crashkey etc/default/crashkey \
	usr/lib/udev/rules.d/49-crashkey-kdump-tools.rules; do
	[ -f "$TMP/root/$f" ]
	tap $? "the package holds /$f"
done
grep -qx /etc/default/crashkey "$TMP/control/conffiles"
tap $? "/etc/default/crashkey is a conffile"
grep -q "deb-systemd-helper enable 'crashkey.service'" "$TMP/control/postinst"
tap $? "the postinst enables crashkey.service"
grep -q '^Environment=KDUMP_KEXEC_ARGS=-s$' \
	"$TMP/root/lib/systemd/system/kdump-tools.service.d/crashkey.conf"
tap $? "kdump-tools loads with kexec -s (its unit's drop-in)"
# Before kdump-tools' own rules, which reload at every CPU and memory event.
rules=$TMP/root/usr/lib/udev/rules.d/49-crashkey-kdump-tools.rules
grep -qx 'SUBSYSTEM=="cpu|memory", ENV{KDUMP_KEXEC_ARGS}="-s"' "$rules" &&
	[[ ${rules##*/} < 50-kdump-tools.rules ]]
tap $? "hot-plug reloads load with kexec -s too (a udev rule before kdump-tools')"
depends=$(dpkg-deb -f "$DEB" Depends)
[[ $depends == *kexec-tools* && $depends == *libcryptsetup12* && $depends == *libjson-c5* ]]
tap $? "Depends: kexec-tools and the libraries crashkey links" "$depends"
out=$(systemd-analyze verify --man=no --root="$TMP/root" crashkey.service 2>&1) && [ -z "$out" ]
tap $? "systemd-analyze verify crashkey.service" "$out"

# ---- crashkey-setup ----

CK=$TMP/root/usr/sbin/crashkey
export CRASHKEY=$CK CRASHKEY_CONFIGFS=$TMP/configfs CRASHKEY_CRYPTTAB=$TMP/crypttab
export CRASHKEY_CONFIG=$TMP/default ASK_PASSWORD=$TMP/ask-password
mkdir -p "$CRASHKEY_CONFIGFS"
FAST_KDF=(--type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --batch-mode)
PASS=crashkey-deb-$RANDOM$RANDOM
printf '#!/bin/sh\necho %s\n' "$PASS" > "$ASK_PASSWORD"
chmod +x "$ASK_PASSWORD"
head -c 64 /dev/urandom > "$TMP/keyfile"
# The same key at offset 16, between other bytes (keyfile-offset=16,keyfile-size=64).
{ head -c 16 /dev/urandom; cat "$TMP/keyfile"; head -c 40 /dev/urandom; } > "$TMP/keyfile.padded"
volume() {	# volume NAME [cryptsetup option...]: a LUKS2 image keyed by keyfile and PASS
	local img=$TMP/$1.img
	shift
	truncate -s 20M "$img"
	cryptsetup luksFormat "${FAST_KDF[@]}" "$@" "$img" "$TMP/keyfile" >/dev/null &&
		printf '%s' "$PASS" | cryptsetup luksAddKey "${FAST_KDF[@]}" "$@" \
			--key-file "$TMP/keyfile" "$img" - >/dev/null
}
if ! { volume keyed && volume padded && volume asked && volume broken &&
	volume hdr --header "$TMP/hdr.luks"; }; then
	echo "Bail out! cannot make LUKS2 images"
	exit 1
fi
truncate -s 4M "$TMP/plain.img"
# A key file on another device (crypttab's FILE:DEVICE): an ext2 image on a loop device,
# named by its UUID.
KEYDEV_UUID=$(cat /proc/sys/kernel/random/uuid)
if ! { mkdir -p "$TMP/keydev/keys" && cp "$TMP/keyfile" "$TMP/keydev/keys/ondev.key" &&
	mke2fs -q -t ext2 -U "$KEYDEV_UUID" -d "$TMP/keydev" "$TMP/keydev.img" 4M >/dev/null &&
	KEYDEV=$(losetup -f --show "$TMP/keydev.img") && volume ondev; }; then
	echo "Bail out! cannot make the key device"
	exit 1
fi
uuid() { cryptsetup luksUUID "$1"; }
cat > "$CRASHKEY_CRYPTTAB" <<CRYPTTAB
# name	source	key file	options
keyed	$TMP/keyed.img	$TMP/keyfile	luks,discard
padded	$TMP/padded.img	$TMP/keyfile.padded	luks,keyfile-offset=16,keyfile-size=64
asked	$TMP/asked.img	none	luks
hdr	$TMP/hdr.img	$TMP/keyfile	luks,header=$TMP/hdr.luks
broken	$TMP/broken.img	$TMP/keyfile.padded
swap	$TMP/plain.img	/dev/urandom	swap,cipher=aes-xts-plain64
ondev	$TMP/ondev.img	/keys/ondev.key:UUID=$KEYDEV_UUID	luks
nodev	$TMP/ondev.img	/keys/ondev.key:UUID=$(cat /proc/sys/kernel/random/uuid)	luks
scripted	$TMP/keyed.img	/key	luks,keyscript=/lib/cryptsetup/scripts/passdev
CRYPTTAB

# setup VOLUMES: run crashkey-setup with CRASHKEY_VOLUMES=VOLUMES; its output in OUT.
setup() {
	echo "CRASHKEY_VOLUMES=\"$1\"" > "$CRASHKEY_CONFIG"
	OUT=$("$TMP/root/usr/lib/crashkey/crashkey-setup" 2>&1)
}
registered() {	# registered IMAGE|HEADER: its UUID has an item with the default description
	local u
	u=$(uuid "$1")
	REGISTERED+=("$u")
	[ "$(cat "$CRASHKEY_CONFIGFS/$u/description" 2>/dev/null)" = "kdump-cryptsetup:vk-$u" ]
}

setup "" && [[ $OUT == *"nothing to register"* ]] && [ -z "$(ls "$CRASHKEY_CONFIGFS")" ]
tap $? "no volumes named: nothing registered, says so, exit 0" "$OUT"
setup keyed && registered "$TMP/keyed.img"
tap $? "a key file from crypttab" "$OUT"
setup padded && registered "$TMP/padded.img"
tap $? "a key file with keyfile-offset= and keyfile-size=" "$OUT"
setup asked && registered "$TMP/asked.img"
tap $? "no key file: the passphrase is asked (systemd-ask-password)" "$OUT"
# A LUKS2 token (libcryptsetup's built-in keyring type, through the same token API
# as systemd's TPM2 and FIDO2 tokens): registered without asking.
TOKEN_DESC=crashkey-deb-token:$RANDOM$RANDOM
printf '#!/bin/sh\necho asked >> %s\necho %s\n' "$TMP/asked.log" "$PASS" > "$ASK_PASSWORD"
cryptsetup token add --key-description "$TOKEN_DESC" --key-slot 1 "$TMP/asked.img" &&
	printf '%s' "$PASS" | keyctl padd user "$TOKEN_DESC" @u >/dev/null &&
	setup asked && registered "$TMP/asked.img" && [ ! -e "$TMP/asked.log" ] &&
	[[ $OUT == *"(LUKS2 token)"* ]]
tap $? "no key file, a LUKS2 token: registered through it, nothing asked" "$OUT"
keyctl unlink "$(keyctl search @u user "$TOKEN_DESC")" @u >/dev/null 2>&1
setup asked && registered "$TMP/asked.img" && [ -e "$TMP/asked.log" ]
tap $? "no key file, a token that cannot open it: the passphrase is asked" "$OUT"
setup hdr && registered "$TMP/hdr.luks"
tap $? "a detached header (header=): registered under the header's UUID" "$OUT"
export TMPDIR=$TMP
setup ondev && registered "$TMP/ondev.img" && ! grep -q "^$KEYDEV " /proc/mounts &&
	[ -z "$(find "$TMP" -maxdepth 1 -name 'crashkey-keydev.*')" ]
tap $? "a key file on another device (FILE:UUID=): read, then unmounted" "$OUT"
setup nodev
status=$?
[ "$status" = 1 ] && [[ $OUT == *"nodev: its key file's device UUID="*" is not there"* ]]
tap $? "a key file on a device that is not there: said so, exit 1" "status $status: $OUT"
rm -rf "${CRASHKEY_CONFIGFS:?}"/*
setup scripted
status=$?
[ "$status" = 1 ] && [[ $OUT == *"scripted: keyscript= is not supported"* ]] &&
	[[ $OUT == *"/lib/cryptsetup/scripts/passdev /key | crashkey add --key-file - "* ]] &&
	[[ $OUT != *mount* ]] && [ -z "$(ls "$CRASHKEY_CONFIGFS")" ]
tap $? "keyscript=: named as unsupported with what to do instead, nothing registered, exit 1" \
	"status $status: $OUT"
setup "broken nosuch keyed"
status=$?
[ "$status" = 1 ] && [[ $OUT == *"broken: crashkey add failed"* ]] &&
	[[ $OUT == *"nosuch: no such entry"* ]] && registered "$TMP/keyed.img"
tap $? "a wrong key and an unknown name fail (exit 1) and the others are still registered" \
	"status $status: $OUT"
rm -rf "${CRASHKEY_CONFIGFS:?}"/*
setup all
status=$?
items=$(find "$CRASHKEY_CONFIGFS" -mindepth 1 -maxdepth 1 | wc -l)
[ "$status" = 1 ] && [ "$items" = 5 ] && [[ $OUT != *swap* ]] && registered "$TMP/hdr.luks"
tap $? "all: every LUKS entry but the broken one and nodev (5), not the swap; exit 1" \
	"status $status, $items items: $OUT"
# A stale kdump initrd (older than the config, the crypttab or a header) is rebuilt
# through kdump-tools' kernel hook; a fresh one is left alone.
export KDUMP_INITRD=$TMP/initrd.img KDUMP_HOOK=$TMP/kdump-hook
# shellcheck disable=SC2016 # the hook's own $1
printf '#!/bin/sh\necho "$1" >> %s\ntouch %s\n' "$TMP/hook.log" "$KDUMP_INITRD" > "$KDUMP_HOOK"
chmod +x "$KDUMP_HOOK"
rm -rf "${CRASHKEY_CONFIGFS:?}"/*
touch "$KDUMP_INITRD"
setup keyed && [ ! -e "$TMP/hook.log" ]
tap $? "a kdump initrd newer than its inputs is left alone" "$OUT"
touch -d '-1 hour' "$KDUMP_INITRD"
setup keyed && [ "$(cat "$TMP/hook.log" 2>/dev/null)" = "$(uname -r)" ] &&
	[[ $OUT == *"changed since $KDUMP_INITRD was built: rebuilding it"* ]]
tap $? "a stale kdump initrd is rebuilt by kdump-tools' hook for the running kernel" "$OUT"
rm -f "$TMP/hook.log"
touch -d '+30 min' "$KDUMP_INITRD"
touch -d '+1 hour' "$TMP/hdr.luks"
setup keyed && [ -e "$TMP/hook.log" ] && [[ $OUT == *"$TMP/hdr.luks changed since"* ]]
tap $? "a detached header newer than the kdump initrd makes it stale too" "$OUT"
touch "$TMP/hdr.luks"
printf '#!/bin/sh\nexit 1\n' > "$KDUMP_HOOK"
touch -d '-1 hour' "$KDUMP_INITRD"
setup keyed
status=$?
[ "$status" = 1 ] && [[ $OUT == *"could not rebuild $KDUMP_INITRD"* ]]
tap $? "a rebuild that fails is said, exit 1" "status $status: $OUT"
unset KDUMP_INITRD KDUMP_HOOK
# ---- crashkey-kdump-generator ----

# In a kdump boot, the crypttab volumes crashkey did not open stay closed: their
# systemd-cryptsetup units masked, the filesystems recorded on them left unmounted.
GEN=$TMP/root/lib/systemd/system-generators/crashkey-kdump-generator
G=$TMP/gen
mkdir -p "$G/sys/dm-0/dm" "$G/early" "$G/normal" "$G/late"
echo opened > "$G/sys/dm-0/dm/name"
printf 'opened UUID=1 none luks\n# a comment\nmy-data UUID=2 /k luks\nextra UUID=3 none luks\n' \
	> "$G/crypttab"
printf 'my-data\t/srv/data\nopened\t/var/crash\n' > "$G/mounts"
printf '/dev/mapper/extra /srv/extra ext4 defaults 0 2\n/dev/mapper/opened /o ext4 defaults\n' \
	> "$G/fstab"
gen() {	# gen: run the generator as systemd would in a kdump boot
	CRASHKEY_VMCORE=${VMCORE:-$G/crypttab} CRASHKEY_CRYPTTAB=$G/crypttab \
		CRASHKEY_MOUNTS=$G/mounts CRASHKEY_FSTAB=$G/fstab CRASHKEY_SYS_BLOCK=$G/sys \
		CRASHKEY_KMSG=/dev/stderr \
		"$GEN" "$G/normal" "$G/early" "$G/late" 2>&1
}
out=$(gen)
[ "$(readlink "$G/early/systemd-cryptsetup@my\x2ddata.service")" = /dev/null ] &&
	[ "$(readlink "$G/early/systemd-cryptsetup@extra.service")" = /dev/null ] &&
	[ ! -e "$G/early/systemd-cryptsetup@opened.service" ]
tap $? "kdump boot: the volumes crashkey did not open have their cryptsetup units masked" \
	"$(ls "$G/early"): $out"
grep -qx 'ConditionPathExists=/crashkey-kdump-boot/my-data/is-closed' "$G/early/srv-data.mount" &&
	grep -qx 'Where=/srv/data' "$G/early/srv-data.mount" && [ ! -e "$G/early/var-crash.mount" ] &&
	grep -qx 'Where=/srv/extra' "$G/early/srv-extra.mount" && [ ! -e "$G/early/o.mount" ]
tap $? "kdump boot: their filesystems (recorded, or in fstab) get a skipped mount unit" \
	"$(cat "$G/early/srv-data.mount" 2>&1)"
[[ $out == *"left closed in the kdump boot: my-data"* ]]
tap $? "kdump boot: the generator says which volumes it left closed" "$out"
rm -rf "${G:?}/early"/*
out=$(VMCORE=$G/none gen)
[ -z "$(ls "$G/early")" ]
tap $? "a normal boot: the generator does nothing" "$(ls "$G/early") $out"

! grep -rqi "$(od -An -tx1 "$TMP/keyfile" | tr -d ' \n' | head -c 16)" <<<"$OUT"
tap $? "no key bytes in what it prints"
tap_done
