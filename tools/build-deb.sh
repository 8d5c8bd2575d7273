#!/usr/bin/env bash
# Build the crashkey Debian package (tools/debian) for the host's architecture with
# dpkg-buildpackage, out of the source tree, and check it with lintian.
#
#   tools/build-deb.sh [OUTDIR]     default OUTDIR: $CRASHKEY_CACHE/build/deb
#
# Prints lintian's findings; exits non-zero if the build fails or lintian reports an
# error. The .deb's path is the last line of output.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-${CRASHKEY_CACHE:-/var/cache/crashkey}/build/deb}
VERSION=$(dpkg-parsechangelog -l "$TOP/tools/debian/changelog" -S Version)
SRC=$OUT/crashkey-$VERSION

# A fresh copy each time: dpkg-buildpackage writes into debian/ and next to the source.
rm -rf "$OUT"
mkdir -p "$SRC"
cp -R "$TOP/tools/crashkey" "$TOP/tools/debian" "$TOP/tools/system" "$SRC/"
(cd "$SRC" && dpkg-buildpackage -b -us -uc -j"$(nproc)" > "$OUT/build.log" 2>&1) || {
	tail -n 30 "$OUT/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed (log: $OUT/build.log)" >&2
	exit 1
}
changes=$(echo "$OUT"/crashkey_"$VERSION"_*.changes)
# --fail-on error: warnings are shown, errors fail. Run as root here (CI), which lintian
# only warns about.
status=0
lintian --fail-on error --display-info "$changes" > "$OUT/lintian.log" 2>&1 || status=$?
grep -v 'running with root privileges' "$OUT/lintian.log" || true
[ "$status" = 0 ] || { echo "build-deb: lintian reports errors" >&2; exit 1; }
echo "$OUT"/crashkey_"$VERSION"_"$(dpkg --print-architecture)".deb
