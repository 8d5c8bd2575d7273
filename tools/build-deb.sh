#!/usr/bin/env bash
# Build the crashkey Debian package (tools/debian) for the host's architecture with
# dpkg-buildpackage, out of the source tree, and check it with lintian.
#
#   tools/build-deb.sh [OUTDIR]     default OUTDIR: $CRASHKEY_CACHE/build/deb
#   DEB_SUITE=trixie tools/build-deb.sh [OUTDIR]
#                                   the same in a chroot of that Debian release, against
#                                   its own libraries, checked by its own lintian
#
# Prints lintian's findings; exits non-zero if the build fails or lintian reports an
# error. The .deb's path is the last line of output. The chroot (debootstrap, then the
# package's build dependencies through apt-get build-dep) is kept in
# $CRASHKEY_CACHE/deb-chroot/<suite> until tools/debian/control changes.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CRASHKEY_CACHE:-/var/cache/crashkey}
OUT=${1:-$CACHE/build/deb${DEB_SUITE:+-$DEB_SUITE}}
VERSION=$(dpkg-parsechangelog -l "$TOP/tools/debian/changelog" -S Version)
SRC=crashkey-$VERSION
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

die() { echo "build-deb: $*" >&2; exit 1; }

# The package's maintainer is whoever builds it: DEBFULLNAME and DEBEMAIL, else their git
# identity, else their local account, user@host (debian/control and debian/changelog
# carry placeholders, not a made-up person). A local account is no mail address
# lintian accepts (root, a host without a domain): its mail checks are skipped then.
LOCAL_IDENTITY_TAGS=
if [ -z "${DEBEMAIL:-}" ] && ! DEBEMAIL=$(git -C "$TOP" config user.email); then
	DEBEMAIL=$(id -nu)@$(hostname -f 2>/dev/null || hostname)
	LOCAL_IDENTITY_TAGS=bogus-mail-host,bogus-mail-host-in-debian-changelog,root-in-contact
	echo "build-deb: no DEBEMAIL or git identity: the maintainer is $DEBEMAIL" >&2
fi
DEBFULLNAME=${DEBFULLNAME:-$(git -C "$TOP" config user.name || id -nu)}

# A fresh copy each time: dpkg-buildpackage writes into debian/ and next to the source.
copy_source() {	# copy_source DIR
	rm -rf "$1"
	mkdir -p "$1/$SRC"
	cp -R "$TOP/tools/crashkey" "$TOP/tools/debian" "$TOP/tools/system" "$1/$SRC/"
	sed -i -e "s|@DEBFULLNAME@|$DEBFULLNAME|" -e "s|@DEBEMAIL@|$DEBEMAIL|" \
		"$1/$SRC/debian/control" "$1/$SRC/debian/changelog"
	# Objects of a build in the checkout are not this build's (another release's).
	make -s -C "$1/$SRC/crashkey" clean
}

# run_in DIR COMMAND...: in DIR, on the host or (with DEB_SUITE) in the chroot.
run_in() {
	local dir=$1
	shift
	if [ -z "${DEB_SUITE:-}" ]; then
		(cd "$dir" && "$@")
	else
		# shellcheck disable=SC2016 # expanded by the chroot's shell
		in_chroot sh -c 'cd "$1" && shift && exec "$@"' - "${dir#"$CHROOT"}" "$@"
	fi
}

# --fail-on error: warnings are shown, errors fail. Run as root here (CI), which lintian
# only warns about.
build_and_check() {	# build_and_check DIR: the source is DIR/$SRC
	local status=0
	run_in "$1/$SRC" dpkg-buildpackage -b -us -uc -j"$(nproc)" > "$OUT/build.log" 2>&1 || {
		tail -n 30 "$OUT/build.log" >&2
		die "dpkg-buildpackage failed (log: $OUT/build.log)"
	}
	run_in "$1" lintian --fail-on error --display-info \
		${LOCAL_IDENTITY_TAGS:+--suppress-tags "$LOCAL_IDENTITY_TAGS"} \
		"crashkey_${VERSION}_$(dpkg --print-architecture).changes" \
		> "$OUT/lintian.log" 2>&1 || status=$?
	grep -v 'running with root privileges' "$OUT/lintian.log" || true
	[ "$status" = 0 ] || die "lintian reports errors"
}

# ---- in a chroot of another release ---------------------------------------------
CHROOT=$CACHE/deb-chroot/${DEB_SUITE:-}

in_chroot() { chroot "$CHROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

# The release with the package's build dependencies and lintian, made once per
# control file (its Build-Depends) and mirror.
make_chroot() {
	local key
	key=$(cat "$TOP/tools/debian/control" <(echo "$MIRROR"))
	[ "$(cat "$CHROOT.key" 2>/dev/null)" != "$key" ] || return 0
	echo "build-deb: debootstrap of $DEB_SUITE into $CHROOT" >&2
	rm -rf "$CHROOT" "$CHROOT.key"
	mkdir -p "${CHROOT%/*}"
	debootstrap --variant=buildd "$DEB_SUITE" "$CHROOT" "$MIRROR" \
		> "$CHROOT.log" 2>&1 || { tail -n 20 "$CHROOT.log" >&2; die "debootstrap failed"; }
	copy_source "$CHROOT/build"
	{ in_chroot apt-get -q update && in_chroot apt-get -q -y --no-install-recommends \
		install lintian && in_chroot apt-get -q -y --no-install-recommends \
		build-dep "/build/$SRC"; } >> "$CHROOT.log" 2>&1 ||
		{ tail -n 20 "$CHROOT.log" >&2; die "cannot install the build dependencies"; }
	echo "$key" > "$CHROOT.key"
}

build_in_chroot() {
	make_chroot
	copy_source "$CHROOT/build"
	mountpoint -q "$CHROOT/proc" || mount -t proc proc "$CHROOT/proc"
	trap 'umount "$CHROOT/proc"' EXIT
	build_and_check "$CHROOT/build"
	cp "$CHROOT/build/crashkey_${VERSION}"_* "$OUT/"
}

rm -rf "$OUT"
mkdir -p "$OUT"
if [ -n "${DEB_SUITE:-}" ]; then
	build_in_chroot
else
	copy_source "$OUT"
	build_and_check "$OUT"
fi
echo "$OUT"/crashkey_"$VERSION"_"$(dpkg --print-architecture)".deb
