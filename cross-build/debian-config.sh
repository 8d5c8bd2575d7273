#!/usr/bin/env bash
# Debian's own kernel config for an arch, uncompressed:
#
#   cross-build/debian-config.sh <arch>     prints its path ($CRASHKEY_CACHE/debian-config/)
#
# Which package and which file in it: DEBIAN_CONFIG_PACKAGE and DEBIAN_CONFIG_FILE in
# cross-build/arch/<arch>.conf. Debian 12's linux-config-6.12 has the configs of Debian's
# 6.12 kernels for amd64, arm64 and ppc64el; s390x has none in Debian 12, and Debian 13's
# cannot be downloaded here (docs/design.md, "Debian's configs"), so s390x starts from
# Debian 12's own s390x kernel (6.1), whose /boot/config olddefconfig brings to 6.12.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ARCH_NAME=${1:?usage: debian-config.sh <arch>}
load_arch "$ARCH_NAME"
[ -n "${DEBIAN_CONFIG_PACKAGE:-}" ] ||
	die "cross-build/arch/$ARCH_NAME.conf names no DEBIAN_CONFIG_PACKAGE"
DIR=$CRASHKEY_CACHE/debian-config/$ARCH_NAME
CONFIG=$DIR/config

# A metapackage (linux-image-s390x) stands for the kernel package it depends on.
package=$(apt-cache depends "$DEBIAN_CONFIG_PACKAGE:$DEB_ARCH" 2>/dev/null |
	sed -n 's/^  Depends: \(linux-image-[^:]*\).*/\1/p' | head -n 1)
package=${package:-$DEBIAN_CONFIG_PACKAGE}
version=$(apt-cache policy "$package:$DEB_ARCH" | awk '$1 == "Candidate:" { print $2 }')
case "$version" in
'' | '(none)')
	die "no $package for $DEB_ARCH in apt's lists (apt-get update; dpkg --add-architecture $DEB_ARCH)" ;;
esac
stamp="$package $version $DEBIAN_CONFIG_FILE"
if [ -f "$CONFIG" ] && [ "$(cat "$DIR/source" 2>/dev/null)" = "$stamp" ]; then
	echo "$CONFIG"
	exit 0
fi
rm -rf "$DIR"
mkdir -p "$DIR/unpacked"
(cd "$DIR" && apt-get download -q "$package:$DEB_ARCH=$version" >/dev/null 2>&1) ||
	die "cannot download $package:$DEB_ARCH=$version"
dpkg-deb --fsys-tarfile "$DIR"/*.deb |
	tar -x -C "$DIR/unpacked" --wildcards "./$DEBIAN_CONFIG_FILE"
found=$(compgen -G "$DIR/unpacked/$DEBIAN_CONFIG_FILE" | head -n 1) ||
	die "$package has no $DEBIAN_CONFIG_FILE"
case "$found" in
*.xz) xz -dc "$found" > "$CONFIG" ;;
*) cp "$found" "$CONFIG" ;;
esac
rm -rf "$DIR/unpacked" "$DIR"/*.deb
echo "$stamp" > "$DIR/source"
echo "$CONFIG"
