#!/usr/bin/env bash
# A Debian 12 server for the end-to-end run with Debian's own kdump-tools: systemd, udev,
# kdump-tools, makedumpfile and cryptsetup-initramfs from debootstrap; the crashkey .deb
# installed with dpkg; the matrix kernel installed with dpkg from its package (make
# kernel-deb), whose postinst runs the kernel hooks: kdump-tools' builds the kdump
# initrd with mkinitramfs, crashkey's hook included. The package's second build waits
# in /root/crashkey-e2e/upgrade for the guest's upgrade. Then an ext2 image of it all.
# Everything runs in a chroot on the host, so only the host's own arch can do this.
#
#   ci-matrix/debian-guest.sh ARCH KERNEL DEB OUTDIR KERNEL_DEB UPGRADE_DEB
#
# Writes OUTDIR/root.img, OUTDIR/<volume>.key for each of its encrypted volumes
# (the key files the runner formats them with, which the image also holds) and
# OUTDIR/kdump-tools.cfg (kdump-tools' GRUB snippet, with its crashkernel=). An image whose inputs are unchanged is kept; the debootstrap
# tree is kept in $CRASHKEY_CACHE/debian-guest/ARCH until its package list changes.
set -euo pipefail
. "$(dirname "$0")/../cross-build/lib.sh"

[ $# = 6 ] || die "usage: $0 ARCH KERNEL DEB OUTDIR KERNEL_DEB UPGRADE_DEB"
ARCH_NAME=$1 KERNEL=$2 DEB=$3 OUT=$4 KERNEL_DEB=$5 UPGRADE_DEB=$6
load_arch "$ARCH_NAME"
[ "$DEB_ARCH" = "$(dpkg --print-architecture)" ] ||
	die "a $ARCH_NAME guest is assembled in a chroot: only on a $DEB_ARCH host"
GUEST_FILES=$CRASHKEY_TOP/ci-matrix/debian-guest
SCENARIO=$CRASHKEY_TOP/ci-matrix/scenarios/kdump-tools.sh
GUEST_LIB=$CRASHKEY_TOP/ci-matrix/guest/lib.sh
BUILD=${KERNEL%/"$KERNEL_IMAGE"}
KVER=$(cat "$BUILD/include/config/kernel.release")
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What a Debian 12 server with kdump-tools and an encrypted volume has; crashkey's own
# dependencies come with it, so that dpkg -i needs nothing from the network.
PACKAGES=systemd-sysv,udev,kdump-tools,makedumpfile,kexec-tools,cryptsetup-bin
PACKAGES+=,cryptsetup-initramfs,initramfs-tools,e2fsprogs,keyutils
PACKAGES+=,libcryptsetup12,libkeyutils1,libjson-c5,libblkid1,libuuid1
# What systemd's TPM2 token plugin loads (systemd only suggests them).
PACKAGES+=,libtss2-esys-3.0.2-0,libtss2-mu0,libtss2-rc0
CACHE=$CRASHKEY_CACHE/debian-guest/$DEB_ARCH
BASE=$CACHE/base
# The server's encrypted volumes, by their crypttab names: /var/crash, and one with a
# TPM2 token.
VOLUMES=$(awk '!/^#/ && NF >= 2 { print $1 }' "$GUEST_FILES/etc/crypttab")

# ---- the Debian system, as debootstrap leaves it --------------------------------
base_system() {
	local key
	key=$(printf '%s\n' "$PACKAGES" "$MIRROR" "$(dpkg-query -W -f '${Version}' debootstrap)")
	[ "$(cat "$BASE.key" 2>/dev/null)" != "$key" ] || return 0
	note "debootstrap of Debian 12 with kdump-tools into $BASE"
	rm -rf "$BASE" "$BASE.new" "$BASE.key"
	mkdir -p "$CACHE/debs"
	debootstrap --variant=minbase --cache-dir="$CACHE/debs" --include="$PACKAGES" \
		bookworm "$BASE.new" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1 || {
		tail -n 20 "$CACHE/debootstrap.log" >&2
		die "debootstrap failed (log: $CACHE/debootstrap.log)"
	}
	mv "$BASE.new" "$BASE"
	echo "$key" > "$BASE.key"
}

# ---- the server, set up as its admin would ------------------------------------
in_root() { chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

# The kernel as Debian installs one: its package (make kernel-deb), whose postinst runs
# the kernel hooks (initramfs-tools' and kdump-tools', which builds the kdump initrd
# with crashkey's hook). The package's second build waits in the image for the upgrade.
install_kernel() {
	cp "$KERNEL_DEB" "$ROOT/tmp/kernel.deb"
	in_root dpkg -i /tmp/kernel.deb > "$OUT/kernel-dpkg.log" 2>&1 || {
		cat "$OUT/kernel-dpkg.log" >&2
		die "dpkg -i of the kernel package failed"
	}
	rm "$ROOT/tmp/kernel.deb"
	[ -s "$ROOT/var/lib/kdump/initrd.img-$KVER" ] ||
		die "the kernel package's postinst built no kdump initrd (log: $OUT/kernel-dpkg.log)"
	install -D -m 0644 "$UPGRADE_DEB" "$ROOT/root/crashkey-e2e/upgrade/${UPGRADE_DEB##*/}"
	dpkg-deb -f "$UPGRADE_DEB" Version > "$ROOT/root/crashkey-e2e/upgrade/version"
}

configure_server() {
	cp -R "$GUEST_FILES/etc" "$ROOT/"
	install -m 0755 "$SCENARIO" "$ROOT/usr/local/sbin/crashkey-e2e"
	install -D -m 0644 "$GUEST_LIB" "$ROOT/usr/local/lib/crashkey-e2e/lib.sh"
	install -d -m 0700 "$ROOT/root/crashkey-e2e"
	install -m 0644 "$GUEST_FILES/disks" "$ROOT/root/crashkey-e2e/disks"
	for volume in $VOLUMES; do
		head -c 64 /dev/urandom > "$ROOT/root/crashkey-e2e/$volume.key"
		chmod 0400 "$ROOT/root/crashkey-e2e/$volume.key"
	done
	echo crashkey-e2e > "$ROOT/etc/hostname"
	in_root systemctl enable crashkey-e2e-key.service crashkey-e2e-mkfs@crashdump.service \
		crashkey-e2e-mkfs@extra.service \
		crashkey-e2e-tpm.service \
		crashkey-e2e.service
	# A login prompt on the serial console would only interleave with the log.
	in_root systemctl mask serial-getty@ttyS0.service
}

build_image() {
	ROOT=$OUT/root
	rm -rf "$ROOT" "$OUT/root.img" "$OUT/image.key"
	mkdir -p "$OUT"
	cp -a "$BASE" "$ROOT"
	cp "$DEB" "$ROOT/tmp/crashkey.deb"
	in_root dpkg -i /tmp/crashkey.deb > "$OUT/dpkg.log" 2>&1 || {
		cat "$OUT/dpkg.log" >&2
		die "dpkg -i of the crashkey package failed"
	}
	rm "$ROOT/tmp/crashkey.deb"
	configure_server
	install_kernel
	for volume in $VOLUMES; do
		cp "$ROOT/root/crashkey-e2e/$volume.key" "$OUT/$volume.key"
	done
	# The crashkernel= kdump-tools sets through GRUB: the server boots without GRUB.
	cp "$ROOT/etc/default/grub.d/kdump-tools.cfg" "$OUT/kdump-tools.cfg"
	mke2fs -q -t ext2 -L root -d "$ROOT" -F "$OUT/root.img.new" 2G
	mv "$OUT/root.img.new" "$OUT/root.img"
	rm -rf "$ROOT"
}

base_system
key=$({ cat "$BASE.key" "$KERNEL_DEB" "$UPGRADE_DEB" "$DEB" "$SCENARIO" "$GUEST_LIB" "$0"
	find "$GUEST_FILES" -type f | LC_ALL=C sort | xargs cat; } | sha256sum)
if [ -f "$OUT/root.img" ] && [ "$(cat "$OUT/image.key" 2>/dev/null)" = "$key" ]; then
	exit 0
fi
build_image
echo "$key" > "$OUT/image.key"
