#!/usr/bin/env bash
# Debian packages of the crashkey kernel, built the kernel's own way (make bindeb-pkg) from
# Debian's linux-source-6.12 with the crashkey overlay:
#
#   cross-build/kernel-deb.sh <arch>      prints the paths of the packages it built
#
#   KERNEL_CONFIG=<file>   the config to start from; default: the running kernel's
#                          /boot/config-$(uname -r) when building for this machine's arch,
#                          else "debian"
#   KERNEL_CONFIG=debian   Debian's own config for the arch (cross-build/debian-config.sh)
#   KERNEL_CONFIG=matrix   the matrix's own kernel (cross-build/build.sh's build, packaged
#                          as it is: what the Debian end-to-end guest installs)
#   LOCALVERSION=-crashkey the release suffix (uname -r: 6.12.118-crashkey; the matrix's
#                          kernel keeps its own release, none)
#   KDEB_PKGVERSION        the packages' version (default: the kernel's version, then -1)
#   KERNEL_DEBUG_INFO=1    keep the starting config's debug info (default: off, see
#                          cross-build/config/no-debug-info.config)
#
# On top of a starting config (not the matrix's) it turns on exactly what crashkey needs,
# cross-build/config/distro.config, and writes what that changed (olddefconfig with and
# without it) next to the packages, in $CRASHKEY_CACHE/kernel-deb/<arch>/: config.diff.
# linux-headers comes with a config that has modules (not the matrix's), and only from a
# native build: a cross build's headers package compiles its host programs for the
# target, against the target's libssl, which the build host does not install.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ARCH_NAME=${1:?usage: kernel-deb.sh <arch>}
load_arch "$ARCH_NAME"
PKGS=$CRASHKEY_CACHE/kernel-deb/$ARCH_NAME
# The packages' maintainer: whoever builds them (their git identity, else user@host).
DEBFULLNAME=${DEBFULLNAME:-$(git config user.name || id -nu)}
DEBEMAIL=${DEBEMAIL:-$(git config user.email || echo "$(id -nu)@$(hostname -f 2>/dev/null || hostname)")}
export DEBFULLNAME DEBEMAIL

native() { [ "$DEB_ARCH" = "$(dpkg --print-architecture)" ]; }

if [ -z "${KERNEL_CONFIG:-}" ]; then
	KERNEL_CONFIG=debian
	running=/boot/config-$(uname -r)
	! native || [ ! -f "$running" ] || KERNEL_CONFIG=$running
fi
case "$KERNEL_CONFIG" in
matrix)
	unset BASE_CONFIG BUILD_TAG
	config_name=matrix LOCALVERSION=${LOCALVERSION:-} ;;
debian)
	BASE_CONFIG=$("$CRASHKEY_TOP/cross-build/debian-config.sh" "$ARCH_NAME")
	config_name=debian BUILD_TAG=deb-debian ;;
*)
	[ -f "$KERNEL_CONFIG" ] || die "KERNEL_CONFIG=$KERNEL_CONFIG: no such file"
	BASE_CONFIG=$KERNEL_CONFIG config_name=file BUILD_TAG=deb-file ;;
esac
if [ -n "${BASE_CONFIG:-}" ]; then
	FRAGMENTS=distro
	[ "${KERNEL_DEBUG_INFO:-0}" = 1 ] || FRAGMENTS+=" no-debug-info"
fi
LOCALVERSION=${LOCALVERSION-"-crashkey"}
export BASE_CONFIG FRAGMENTS BUILD_TAG
TREE=$("$CRASHKEY_TOP/cross-build/prepare-tree.sh")
OUT=$CRASHKEY_CACHE/build/$ARCH_NAME${BUILD_TAG:+-$BUILD_TAG}

kmake() { kernel_make "$TREE" "$OUT" LOCALVERSION="$LOCALVERSION" "$@"; }

# What distro.config changes in the starting config: olddefconfig of it alone, in a
# directory of its own, against the configured one.
config_diff() {
	local plain=$OUT-plain
	mkdir -p "$plain"
	cp "$BASE_CONFIG" "$plain/.config"
	kernel_make "$TREE" "$plain" olddefconfig
	diff -U0 "$plain/.config" "$OUT/.config" | grep '^[-+]\(CONFIG\|# CONFIG\)' || true
}

mkdir -p "$PKGS"
rm -f "$PKGS"/*.deb "$PKGS/config.diff"
# Configure (and check every line of the fragments landed) without building.
SKIP_W1=1 "$CRASHKEY_TOP/cross-build/build.sh" "$ARCH_NAME" olddefconfig >/dev/null
[ -z "${BASE_CONFIG:-}" ] || config_diff > "$PKGS/config.diff"

release=$(kmake kernelrelease)
version=${KDEB_PKGVERSION:-$(kmake kernelversion)-1}
note "building linux-image-$release ($version) for $ARCH_NAME from the $config_name config in $OUT"
profiles=
native || profiles=pkg.linux-upstream.nokernelheaders
# bindeb-pkg writes its packages into the build directory's parent.
stamp=$OUT/.crashkey-deb-stamp
touch "$stamp"
DEB_BUILD_PROFILES=$profiles kmake -j"$(nproc)" KDEB_PKGVERSION="$version" \
	DPKG_FLAGS=-d bindeb-pkg >&2
find "$(dirname "$OUT")" -maxdepth 1 -name "*_${version}_*.deb" -newer "$stamp" \
	-exec mv -t "$PKGS" {} +
rm -f "$(dirname "$OUT")"/linux-upstream_"${version}"_*.buildinfo \
	"$(dirname "$OUT")"/linux-upstream_"${version}"_*.changes
ls "$PKGS"/*.deb
