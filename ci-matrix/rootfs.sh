#!/usr/bin/env bash
# The guest's userland, from the target arch's Debian packages (downloaded and unpacked,
# never installed, so foreign arches need no matching host packages):
#
#   ci-matrix/rootfs.sh fetch <arch>
#       download and unpack; print the unpacked tree, against which the tool is built
#   ci-matrix/rootfs.sh assemble <arch> <dir> <binary>...
#       fill <dir> with busybox, cryptsetup, keyctl, kexec, the given binaries (crashkey,
#       test helpers, into /usr/bin) and exactly the shared libraries they need, found by
#       following DT_NEEDED through the unpacked packages
set -euo pipefail
. "$(dirname "$0")/../cross-build/lib.sh"

usage() { die "usage: rootfs.sh fetch <arch> | assemble <arch> <dir> [binary...]"; }
COMMAND=${1:-}
ARCH_NAME=${2:-}
[ -n "$ARCH_NAME" ] || usage
load_arch "$ARCH_NAME"

# Guest programs, with everything they depend on (makedumpfile only in the bench's
# guest); headers and link-time .so files of the libraries crashkey is built against,
# without their closure (the runtime libraries are in cryptsetup-bin's closure);
# libssl-dev for the libcrypto.a that the blob unit tests link statically to run under
# qemu-user.
PACKAGES="busybox-static cryptsetup-bin keyutils kexec-tools makedumpfile"
DEV_PACKAGES="libcryptsetup-dev libkeyutils-dev uuid-dev libblkid-dev libjson-c-dev libssl-dev"
DEBS=$CRASHKEY_CACHE/debs/$DEB_ARCH
UNPACKED=$CRASHKEY_CACHE/unpacked/$DEB_ARCH

# Every package the guest programs depend on, recursively, for DEB_ARCH.
package_closure() {
	local p
	for p in $PACKAGES; do
		apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
			--no-breaks --no-replaces --no-enhances "$p:$DEB_ARCH"
	done | grep -v '^[[:space:]<]' | sed 's/:.*//' | sort -u
}

# A package downloaded for another arch (say, before dpkg knew DEB_ARCH) would pass
# for the real one and link nothing.
drop_foreign_debs() {
	local deb
	for deb in "$DEBS"/*.deb; do
		case "$deb" in
		*_"$DEB_ARCH".deb|*_all.deb|"$DEBS/*.deb") ;;
		*) note "dropping $(basename "$deb"): not for $DEB_ARCH"; rm -f "$deb" ;;
		esac
	done
}

# What the closure depends on: the package lists apt knows, the arches dpkg knows, and
# the names asked for. The same state gives the same closure, which then needs no
# apt-cache (seconds per arch, twice per matrix run).
closure_state() {
	{
		echo "$PACKAGES $DEV_PACKAGES"
		dpkg --print-foreign-architectures
		find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -printf '%f %s %T@\n' |
			LC_ALL=C sort
	} | sha256sum | cut -d' ' -f1
}

fetch_packages() {
	local p state stamp=$DEBS/.closure
	local -a missing=()
	mkdir -p "$DEBS"
	drop_foreign_debs
	state=$(closure_state)
	if [ ! -f "$stamp" ] || [ "$(head -n 1 "$stamp")" != "$state" ]; then
		# shellcheck disable=SC2086 # one name per line
		{ echo "$state"; package_closure; printf '%s\n' $DEV_PACKAGES; } > "$stamp.new"
		mv "$stamp.new" "$stamp"
	fi
	for p in $(tail -n +2 "$stamp"); do
		compgen -G "$DEBS/${p}_*.deb" >/dev/null || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	# One call for all (fast); one by one only if that fails.
	download "${missing[@]/%/:$DEB_ARCH}" && return
	for p in "${missing[@]}"; do
		compgen -G "$DEBS/${p}_*.deb" >/dev/null && continue
		download "$p:$DEB_ARCH" || download "$p" ||
			note "could not download $p for $DEB_ARCH (needed only if a library is missing below)"
	done
	drop_foreign_debs
}

# apt-get download PKG:ARCH... in one call. An Architecture: all package has no
# candidate under its "PKG:ARCH" name: apt names those, and they are asked for again
# by their plain name, in one more call.
download() {
	local out name
	local -a again=()
	out=$(cd "$DEBS" && apt-get download -q "$@" 2>&1) && return
	for name in "$@"; do
		if grep -qxF "E: Can't select candidate version from package $name as it has no candidate" <<<"$out"; then
			again+=("${name%:*}")
		else
			again+=("$name")
		fi
	done
	[ "${again[*]}" != "$*" ] || return 1
	(cd "$DEBS" && apt-get download -q "${again[@]}" >/dev/null 2>&1)
}

unpack_packages() {
	local deb stamp=$UNPACKED/.debs
	if [ -f "$stamp" ] && [ "$(ls "$DEBS")" = "$(cat "$stamp")" ]; then
		return
	fi
	rm -rf "$UNPACKED" && mkdir -p "$UNPACKED"
	for deb in "$DEBS"/*.deb; do
		dpkg-deb -x "$deb" "$UNPACKED"
	done
	# Absolute links (libkeyutils.so -> /lib/...) must point into the tree.
	find "$UNPACKED" -type l -lname '/*' | while read -r link; do
		ln -sfn "$UNPACKED$(readlink "$link")" "$link"
	done
	ls "$DEBS" > "$stamp"
}

find_library() {
	local d
	for d in lib/$GNU_TRIPLET usr/lib/$GNU_TRIPLET lib usr/lib lib64 usr/lib64; do
		if [ -e "$UNPACKED/$d/$1" ]; then
			printf '%s\n' "$d/$1"
			return
		fi
	done
	return 1
}

# Copy an ELF file into ROOT at path $2 together with its interpreter and libraries.
install_elf() {
	local src=$1 dst=$2 interp lib path
	[ -e "$ROOT/$dst" ] && return
	mkdir -p "$ROOT/$(dirname "$dst")"
	cp -L "$src" "$ROOT/$dst"
	interp=$(readelf -lW "$src" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	if [ -n "$interp" ] && [ ! -e "$ROOT/$interp" ]; then
		install_elf "$UNPACKED/$interp" "$interp"
	fi
	for lib in $(readelf -dW "$src" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		path=$(find_library "$lib") || die "$lib (needed by $dst) is in none of the $DEB_ARCH packages"
		install_elf "$UNPACKED/$path" "$path"
	done
}

assemble() {
	local bin
	ROOT=${1:-}
	[ -n "$ROOT" ] || usage
	shift
	rm -rf "$ROOT" && mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,mnt,run,boot}
	cp "$UNPACKED/bin/busybox" "$ROOT/bin/busybox"
	install_elf "$UNPACKED/sbin/cryptsetup" sbin/cryptsetup
	install_elf "$UNPACKED/bin/keyctl" bin/keyctl
	install_elf "$UNPACKED/sbin/kexec" sbin/kexec
	# Not in any DT_NEEDED: glibc loads it for pthread_exit, which libargon2's threads
	# call. Without it, cryptsetup aborted opening an Argon2 keyslot (make bench).
	# Debian's cryptsetup initramfs hook copies it for the same reason.
	install_elf "$UNPACKED/$(find_library libgcc_s.so.1)" "$(find_library libgcc_s.so.1)"
	for bin in "$@"; do
		install_elf "$bin" "usr/bin/$(basename "$bin")"
	done
}

case "$COMMAND" in
fetch)
	# The matrix prefetches every arch's packages while a kernel builds; the tool
	# build then asks again for the same arch.
	mkdir -p "$CRASHKEY_CACHE/debs"
	exec 9> "$CRASHKEY_CACHE/debs/.lock-$DEB_ARCH"
	flock 9
	fetch_packages
	unpack_packages
	printf '%s\n' "$UNPACKED"
	;;
assemble)
	shift 2
	assemble "$@"
	;;
*) usage ;;
esac
