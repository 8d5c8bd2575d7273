# shellcheck shell=bash
# Shared settings for the cross-build scripts. Everything that must survive between runs
# (pristine source, patched tree, build dirs, ccache, downloaded .debs) lives under
# CRASHKEY_CACHE, outside the clone, so that CI on the same machine finds it warm.

CRASHKEY_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CRASHKEY_CACHE=${CRASHKEY_CACHE:-/var/cache/crashkey}
KSRC=${KSRC:-/usr/src/linux-source-6.12.tar.xz}
export CCACHE_DIR=${CCACHE_DIR:-$CRASHKEY_CACHE/ccache}

die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }

# Kernel builds run make themselves; a make that called us must not leak its
# command-line variables (ARCH=ppc64le would reach the kernel's make).
unset MAKEFLAGS MAKEOVERRIDES MFLAGS MAKELEVEL

# Map a user-facing arch name (x86_64, arm64, ppc64le, s390x) to its build facts.
load_arch() {
	local conf=$CRASHKEY_TOP/cross-build/arch/$1.conf
	[ -f "$conf" ] || die "unknown ARCH '$1' (known: $(known_arches))"
	# shellcheck source=/dev/null
	. "$conf"
}

known_arches() {
	local f
	for f in "$CRASHKEY_TOP"/cross-build/arch/*.conf; do
		f=${f##*/}
		printf '%s ' "${f%.conf}"
	done
}
