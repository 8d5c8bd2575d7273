#!/usr/bin/env bash
# The crashkey matrix: for each arch, build the kernel and the tool, assemble the guest,
# and run a scenario in QEMU (TCG) from volume creation through crash, capture-kernel
# unlock and a verifying boot. Prints progress, TAP lines, a table of timings and a
# final "N passed, N failed" line.
#
#   ci-matrix/run.sh [-s scenario] [arch...]        (default: crash-unlock x86_64)
#
# Scenario crash-unlock runs the matrix's own guest, and on the arches that have it the
# kdump-tools end-to-end run after it; kdump-tools runs only the latter.
#
# Per-arch facts: cross-build/arch/<arch>.conf (build), ci-matrix/arch/<arch>.conf (QEMU).
set -euo pipefail
. "$(dirname "$0")/../cross-build/lib.sh"
. "$(dirname "$0")/results.sh"
. "$(dirname "$0")/bench.sh"

SCENARIO=crash-unlock
if [ "${1:-}" = -s ]; then
	SCENARIO=$2
	shift 2
fi
ARCHES=("${@:-x86_64}")
RESULTS=$(mktemp)
TIMINGS=$CRASHKEY_CACHE/run/timings.$$	# one line per arch whose boots all ran
trap 'rm -f "$RESULTS" "$RESULTS".*.expected' EXIT

now() { date +%s; }
say() { printf '[%s] %s\n' "$ARCH_NAME" "$*"; }

# ---- build --------------------------------------------------------------

# Userspace build output of this checkout's own, as tests/run-all.sh keeps the host's:
# make's timestamps compare only within one checkout, and another clone's objects, newer
# than these sources, would be taken as up to date (and its binary booted).
CHECKOUT_ID=$(printf '%s' "$CRASHKEY_TOP" | cksum | cut -d' ' -f1)

# crashkey is built against the target's own libcryptsetup, libkeyutils, libuuid,
# libblkid and json-c, taken from the unpacked packages: only their headers (at their
# paths under usr/include, for <blkid/blkid.h>), their .so files and the runtime
# libraries they pull in. (Called in an if: errexit is off, so every step returns.)
build_userspace() {
	local out=$1 target inc lib h
	target=$("$CRASHKEY_TOP/ci-matrix/rootfs.sh" fetch "$KERNEL_ARCH") || return
	inc=$out/include
	for h in libcryptsetup.h keyutils.h uuid/uuid.h blkid/blkid.h json-c; do
		mkdir -p "$inc/$(dirname "$h")" &&
			cp -R "$target/usr/include/$h" "$inc/$(dirname "$h")/" || return
	done
	lib="-L$target/usr/lib/$GNU_TRIPLET -L$target/lib/$GNU_TRIPLET"
	lib+=" -Wl,-rpath-link,$target/usr/lib/$GNU_TRIPLET -Wl,-rpath-link,$target/lib/$GNU_TRIPLET"
	make -s -C "$CRASHKEY_TOP/tools/crashkey" O="$out" CROSS_COMPILE="$CROSS_COMPILE" \
		PKG_CONFIG=false CPPFLAGS="-I$inc" LDFLAGS="$lib" >&2 || return
	local helper
	for helper in elfcheck keyscan; do
		"${CROSS_COMPILE}gcc" -O2 -Wall -Wextra -Werror -o "$out/$helper" \
			"$CRASHKEY_TOP/tests/helpers/$helper.c" || return
	done
}

make_cpio() {	# make_cpio DIR OUT COMPRESSOR...
	local dir=$1 out=$2
	shift 2
	(cd "$dir" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | "$@" > "$out"
}

# The blob unit tests (tests/host) built for the target and run under qemu-user: the
# byte order is fixed on big-endian s390x too. Natively built and run by tests/host.
run_blob_tests_on_target() {
	local out=$WORK/blob-test-$CHECKOUT_ID tap status RESULT_GROUP="blob unit tests"
	# Once per arch: not again for a second machine of it (KERNEL_ARCH).
	[ -n "$QEMU_USER" ] && [ "$KERNEL_ARCH" = "$ARCH_NAME" ] || return 0
	if ! make -s -C "$CRASHKEY_TOP/tests/host" O="$out" CROSS_COMPILE="$CROSS_COMPILE" \
		TARGET_ROOT="$CRASHKEY_CACHE/unpacked/$DEB_ARCH" cross >&2; then
		result fail "blob unit tests built for $ARCH_NAME"
		return
	fi
	status=0
	tap=$("$QEMU_USER" "$out/cross/blob_test" --vectors "$CRASHKEY_TOP/tests/host/vectors") ||
		status=$?
	collect_tap "blob unit tests" <<<"$tap"
	if [ "$status" = 0 ]; then
		result ok "blob unit tests exit 0 under qemu-user"
	else
		result fail "blob unit tests exit 0 under qemu-user" "$QEMU_USER: status $status"
	fi
}

# The capture kernel's initramfs is the same tree without /boot; the first kernel's
# initramfs carries it and the kernel image in /boot for kexec. A guest whose inputs
# are unchanged (a warm run) is kept: assembling and compressing costs a minute per arch.
assemble_guest() {
	local root=$WORK/root bin=$GUEST_BIN env key
	local -a binaries=("$bin/crashkey" "$bin/elfcheck" "$bin/keyscan")
	# The bench's capture kernel saves the dump as kdump-tools does.
	[ "$SCENARIO" != bench ] ||
		binaries+=("$CRASHKEY_CACHE/unpacked/$DEB_ARCH/usr/bin/makedumpfile")
	env=$(printf '%s\n' "CONSOLE=$CONSOLE" "CAPTURE_CMDLINE=\"$CAPTURE_CMDLINE\"" \
		"HANDOVER=$HANDOVER" "HANDOVER_IOMEM=\"$HANDOVER_IOMEM\"" "HIBERNATION=$HIBERNATION" "CRASHKERNEL=$CRASHKERNEL" \
		"CPUS=$SMP" "MEMORY_HOTADD=$MEMORY_HOTADD" \
		"KERNEL_CMDLINE=\"${KERNEL_CMDLINE:-}\"" "MMU=${MMU:-}")
	key=$({ echo "$env"; cat "$KERNEL" "${binaries[@]}" \
		"$CRASHKEY_CACHE/unpacked/$DEB_ARCH/.debs" "$CRASHKEY_TOP/ci-matrix/rootfs.sh" \
		"$CRASHKEY_TOP/ci-matrix/guest/init" "$CRASHKEY_TOP/ci-matrix/guest/lib.sh" \
		"$CRASHKEY_TOP/ci-matrix/scenarios/$SCENARIO.sh"; } | sha256sum) || return
	if [ -f "$WORK/initramfs.cpio.gz" ] && [ "$(cat "$WORK/guest.key" 2>/dev/null)" = "$key" ]; then
		return
	fi
	rm -f "$WORK/guest.key"
	"$CRASHKEY_TOP/ci-matrix/rootfs.sh" assemble "$KERNEL_ARCH" "$root" "${binaries[@]}" ||
		return
	install -m 0755 "$CRASHKEY_TOP/ci-matrix/guest/init" "$root/init"
	mkdir -p "$root/etc/crashkey"
	cp "$CRASHKEY_TOP/ci-matrix/guest/lib.sh" "$root/etc/crashkey/lib.sh"
	cp "$CRASHKEY_TOP/ci-matrix/scenarios/$SCENARIO.sh" "$root/etc/crashkey/scenario.sh" || return
	echo "$env" > "$root/etc/crashkey/arch.env"
	# xz keeps the capture initrd small, as a real kdump initrd is kept: on s390x the key
	# blob's lowest page then lies under the kdump kernel's decompressed image.
	make_cpio "$root" "$WORK/capture.cpio.xz" xz -6 --check=crc32 || return
	cp "$WORK/capture.cpio.xz" "$root/boot/capture.cpio.xz"
	cp "$KERNEL" "$root/boot/kernel"
	make_cpio "$root" "$WORK/initramfs.cpio.gz" gzip -1 || return
	echo "$key" > "$WORK/guest.key"
}

# ---- boot ---------------------------------------------------------------

# diskN.img is the guest's disk of role DISK_ROLES[N], its virtio serial; the guest
# names disks by role only (link_disk_roles in ci-matrix/guest/lib.sh).
DISK_ROLES=(vda vdb vdc)

make_disks() {
	local i
	rm -f "$WORK"/disk*.img
	truncate -s "$DUMP_DISK_SIZE" "$WORK/disk0.img"
	for i in 1 2; do
		truncate -s 64M "$WORK/disk$i.img"
	done
	# The mailbox disk: the host answers the guest's requests in its first sector.
	rm -f "$WORK/mailbox.img"
	truncate -s 1M "$WORK/mailbox.img"
}

# Print the guest's progress lines as they arrive, stamped with seconds since start.
follow_log() {
	local log=$1 pid=$2 t0=$3 line
	tail -n +1 -F --pid="$pid" "$log" 2>/dev/null | while IFS= read -r line; do
		line=${line//$'\r'/}
		case "$line" in
		*crashkey-step:*)
			say "$(($(now) - t0))s ${line#*crashkey-step: }"
			echo "step $(now)" >> "$log.events" ;;
		*"crashkey-check: FAIL"*) say "$(($(now) - t0))s FAIL ${line#*crashkey-check: FAIL }" ;;
		*"Kernel panic"*|*"Starting crashdump kernel"*) say "$(($(now) - t0))s ${line#*] }" ;;
		*"crashkey-request: memory-hot-add"*)
			say "$(($(now) - t0))s plugging a $MEMORY_HOTADD DIMM"
			plug_memory "$log" ;;
		*"crashkey-request: memory-scan "*)
			say "$(($(now) - t0))s scanning the guest's RAM for two volume keys"
			scan_guest_memory "$log" "${line#*crashkey-request: memory-scan }" ;;
		*"crashkey-request: read-after-exit "*)
			say "$(($(now) - t0))s reading the hand-over once the capture kernel is down"
			read_after_exit "$log" "${line#*crashkey-request: read-after-exit }" ;;
		*"Linux version"*) echo "linux $(now)" >> "$log.events" ;;
		esac
	done
}

# The guest's requests, answered through QEMU's QMP socket (ci-matrix/guest-requests.py);
# what the script says goes next to the log. A request that fails shows in the guest's
# own check of its outcome.
guest_request() {	# guest_request LOG REQUEST ARG...
	local log=$1
	shift
	"$CRASHKEY_TOP/ci-matrix/guest-requests.py" "$1" "$log.qmp" "${@:2}" \
		>> "$log.requests" 2>&1
}

# The guest asked for MEMORY_HOTADD more memory, with keys loaded: a DIMM.
plug_memory() { guest_request "$1" plug-memory "$MEMORY_HOTADD" || true; }

# The disk image of the guest's disk of role ROLE.
role_disk() {
	local i
	for i in "${!DISK_ROLES[@]}"; do
		[ "${DISK_ROLES[i]}" != "$1" ] || { echo "$WORK/disk$i.img"; return; }
	done
	echo "$WORK/no-disk-of-role-$1"
}

# The guest asked where in its RAM the keys of two of its volumes are: "ADDR SIZE
# HELD:PASS OPEN:PASS", where its blob lies now, then roles and their passphrases in hex.
# The answers go to the mailbox disk.
scan_guest_memory() {	# scan_guest_memory LOG REQUEST
	local blob held open
	read -r blob held open <<<"${2#* }"
	blob="${2%% *} $blob"
	# shellcheck disable=SC2086 # address and size
	guest_request "$1" scan-memory "$WORK/ram.dump" $blob "$WORK/mailbox.img" \
		"$(role_disk "${held%%:*}")" "${held#*:}" "$(role_disk "${open%%:*}")" "${open#*:}" &&
		return
	# It answers its own errors; this is for one that kept it from starting.
	grep -q '^memory-scan' "$WORK/mailbox.img" ||
		printf 'memory-scan-%s error the runner'"'"'s scan failed: %s\n' \
			held "$(tail -n 1 "$1.requests")" control "$(tail -n 1 "$1.requests")" |
		dd of="$WORK/mailbox.img" conv=notrunc 2>/dev/null
}

# The capture kernel leaves with its hand-over at "ADDR SIZE" not restored: once QEMU
# has stopped it, its pages must be zero (the kernel's exit wiped them), or, in the
# control cycle, where that wipe was skipped, still the blob (its magic first).
read_after_exit() {	# read_after_exit LOG "ADDR SIZE"
	local out
	# shellcheck disable=SC2086 # address and size
	out=$(guest_request "$1" read-after-exit $2 && tail -n 1 "$1.requests") ||
		out="no read: $(tail -n 1 "$1.requests")"
	local want=zero
	[ "$PLACEMENT" != exitskip ] || want=blob
	if [ "${out%% *}" = "$want" ]; then
		result ok "$(exit_check_name)" "$out"
	else
		result fail "$(exit_check_name)" "$out"
	fi
}

# QEMU's -m for SIZE: with MEMORY_HOTADD, one slot and room for it (sizes in M or G).
memory_args() {	# memory_args SIZE
	local base=${1%[MG]} add=${MEMORY_HOTADD%[MG]}
	if [ -z "$MEMORY_HOTADD" ]; then
		echo "$1"
		return
	fi
	[[ $1 != *G ]] || base=$((base * 1024))
	[[ $MEMORY_HOTADD != *G ]] || add=$((add * 1024))
	echo "$1,slots=1,maxmem=$((base + add))M"
}

# The kexec transition: seconds from the guest's last progress line before the crash
# (not every arch's console shows the panic line) to the capture kernel's first line.
transition_seconds() {
	awk '$1 == "step" { s = $2 } $1 == "linux" && ++n == 2 { print $2 - s; exit }' "$1.events"
}

# boot LOG TIMEOUT STAGE: one QEMU run; returns QEMU's (or timeout's) status.
boot() {
	local log=$1 limit=$2 stage=$3 i pid status=0 t0 kunit=kunit.enable=0 cpus=1
	# KUnit runs at the first boot of an arch; once is enough.
	[ -n "$T_CRASH" ] || kunit=
	# The arch's SMP CPUs only where the scenario takes one offline: the random cycle's
	# setup. A second CPU makes a TCG guest a third slower (s390x).
	[ "$stage:$PLACEMENT" != setup:random ] || cpus=$SMP
	local -a disks=()
	for i in "${!DISK_ROLES[@]}"; do
		disks+=(-drive "file=$WORK/disk$i.img,if=none,format=raw,id=d$i"
			-device "$DISK_DEVICE,drive=d$i,serial=${DISK_ROLES[i]}")
	done
	disks+=(-drive "file=$WORK/mailbox.img,if=none,format=raw,id=mailbox"
		-device "$DISK_DEVICE,drive=mailbox,serial=mailbox")
	: > "$log"
	: > "$log.events"
	t0=$(now)
	rm -f "$log.qmp" "$log.requests"
	# shellcheck disable=SC2086 # QEMU_ARGS is a list of arguments
	timeout "$limit" "$QEMU" $QEMU_ARGS ${QEMU_EXIT_ARGS:-} -m "$(memory_args "$MEMORY")" -smp "$cpus" \
		-nodefaults -no-reboot \
		-display none -serial "file:$log" "${disks[@]}" \
		-qmp "unix:$log.qmp,server=on,wait=off" \
		-kernel "$KERNEL" -initrd "$WORK/initramfs.cpio.gz" \
		-append "console=$CONSOLE crashkernel=$CRASHKERNEL panic=-1 crashkey.stage=$stage crashkey.place=$PLACEMENT $kunit ${KERNEL_CMDLINE:-} $EXTRA_CMDLINE" &
	pid=$!
	follow_log "$log" "$pid" "$t0" &
	wait "$pid" || status=$?
	wait || true
	return "$status"
}

# ---- results (the rest is in ci-matrix/results.sh) ---------------------

expect_line() {	# expect_line LOG PATTERN NAME
	if grep -q "$2" "$1"; then result ok "$3"; else result fail "$3"; fi
}

# ---- one arch -----------------------------------------------------------

# The machine's QEMU facts. Whatever any machine's file sets is unset first, so that a
# fact one file leaves out is not the previous machine's: s390x's CRASH_PLACEMENTS once
# gave every arch after it three crash cycles. A machine is an arch (ppc64le) or a second
# machine of one (ppc64le_hash), whose KERNEL_ARCH says whose kernel, tool and guest
# it boots.
load_matrix_facts() {
	local name
	while read -r name; do
		unset "$name"
	done < <(sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' "$CRASHKEY_TOP"/ci-matrix/arch/*.conf | sort -u)
	# shellcheck source=/dev/null
	. "$CRASHKEY_TOP/ci-matrix/arch/$ARCH_NAME.conf"
	KERNEL_ARCH=${KERNEL_ARCH:-$ARCH_NAME}
}

# Everything up to the first boot: kernel, the checks that need no guest, tool and guest
# image. Fails if there is nothing to boot.
prepare_arch() {
	local t out RESULT_GROUP=build
	load_matrix_facts
	load_arch "$KERNEL_ARCH"
	WORK=$CRASHKEY_CACHE/run/$ARCH_NAME${BUILD_TAG:+-$BUILD_TAG}
	# The bench's guest is another image (makedumpfile in its capture initrd).
	[ "$SCENARIO" != bench ] || WORK+=-bench
	GUEST_BIN=$WORK/bin-$CHECKOUT_ID
	mkdir -p "$WORK"

	say "building the kernel"
	t=$(now)
	if ! KERNEL=$("$CRASHKEY_TOP/cross-build/build.sh" "$KERNEL_ARCH"); then
		result fail "kernel build"
		return 1
	fi
	if [ -n "${DEBIAN_GUEST_MEMORY:-}" ] && [ -z "$KERNEL_VARIANT" ] &&
		[ "$SCENARIO" != bench ] && ! package_kernel; then
		result fail "the kernel packaged twice (make kernel-deb)"
		return 1
	fi
	T_KERNEL=$(($(now) - t))
	say "building crashkey and assembling the guest"
	t=$(now)
	if [ "$SCENARIO" = kdump-tools ]; then
		T_GUEST=0
		return
	fi
	if ! build_userspace "$GUEST_BIN" || ! assemble_guest; then
		result fail "tool build and guest assembly"
		return 1
	fi
	run_blob_tests_on_target
	T_GUEST=$(($(now) - t))
}

# The Debian server's kernel as packages (make kernel-deb): a second build (revision 2)
# for its upgrade, then the first, so that the build directory ends as build.sh left it
# (revision 1 is its build stamp): the image QEMU boots is the first package's. Here,
# while no other kernel builds. Into $WORK/kernel-deb/<revision>/.
package_kernel() {
	local n release
	release=$(cat "${KERNEL%/"$KERNEL_IMAGE"}/include/config/kernel.release")
	say "packaging the kernel twice for the Debian server (make kernel-deb)"
	for n in 2 1; do
		rm -rf "$WORK/kernel-deb/$n"
		mkdir -p "$WORK/kernel-deb/$n"
		if ! KERNEL_CONFIG=matrix KDEB_PKGVERSION="$release-$n" \
			"$CRASHKEY_TOP/cross-build/kernel-deb.sh" "$KERNEL_ARCH" \
			> "$WORK/kernel-deb/$n.list" 2> "$WORK/kernel-deb/$n.log"; then
			tail -n 5 "$WORK/kernel-deb/$n.log" >&2
			return 1
		fi
		cp "$(grep '/linux-image-' "$WORK/kernel-deb/$n.list")" "$WORK/kernel-deb/$n/" ||
			return
	done
}

# CRASH_KEY_HANDOVER=n compiles the patched files to the pristine objects. It builds kernel
# objects, so it waits until every arch's kernel is built, and runs while the last
# arch boots: off the critical path.
check_unchanged() {
	local out t RESULT_GROUP=unchanged
	# Once per arch: not again for a second machine of it.
	[ "$(machine_kernel_arch "$ARCH_NAME")" = "$ARCH_NAME" ] || return 0
	t=$(now)
	# Its TAP says what failed; its exit status must not end this script (set -e).
	out=$("$CRASHKEY_TOP/cross-build/check-unchanged.sh" "$ARCH_NAME" 2>&1) || true
	collect_tap "CRASH_KEY_HANDOVER=n check" <<<"$out"
	grep '^# ' <<<"$out" >&2 || true
	say "CRASH_KEY_HANDOVER=n check done in $(($(now) - t))s"
}

# Debian's own config for the arch (cross-build/debian-config.sh) with what crashkey needs
# on top (cross-build/config/distro.config): olddefconfig keeps those options, and the
# overlay's objects that config builds compile W=1 and sparse clean. Like the check above,
# it builds kernel objects, so it waits until every arch's kernel is built.
check_distro_config() {
	local out config status=0 t RESULT_GROUP=distro-config
	local name="Debian's config takes crashkey (distro.config kept, the overlay's objects W=1 and sparse clean)"
	[ "$(machine_kernel_arch "$ARCH_NAME")" = "$ARCH_NAME" ] || return 0
	t=$(now)
	if ! config=$("$CRASHKEY_TOP/cross-build/debian-config.sh" "$ARCH_NAME" 2>&1); then
		result fail "$name" "$config"
		return
	fi
	out=$(BASE_CONFIG=$config FRAGMENTS=distro BUILD_TAG=distro OVERLAY_OBJECTS=1 \
		"$CRASHKEY_TOP/cross-build/build.sh" "$ARCH_NAME" 2>&1) || status=$?
	if [ "$status" = 0 ]; then
		result ok "$name"
	else
		result fail "$name" "$(grep -E 'error|warning|did not land' <<<"$out" | head -n 5 | tr '\n' ' ')"
	fi
	say "Debian config check done in $(($(now) - t))s"
}

# The QEMU boots of a prepared arch, then its line of timings: a crash cycle for each of
# the arch's placements, then the tamper cycle (a blob changed after its digest).
boot_arch() {
	T_CRASH='' T_KEXEC='' T_VERIFY=''
	case "$SCENARIO" in
	bench) bench_arch ;;
	kdump-tools)
		if [ -n "${DEBIAN_GUEST_MEMORY:-}" ]; then
			kdump_tools_cycle
		else
			result fail "this arch has the kdump-tools end-to-end run (DEBIAN_GUEST_MEMORY)"
		fi ;;
	*)
		for PLACEMENT in ${CRASH_PLACEMENTS:-random} tampered; do
			crash_cycle
		done
		for PLACEMENT in $EXIT_CYCLES; do
			exit_cycle
		done
		# Debug kernels run the crash-unlock scenario only: their checkers watch the
		# kernel code, which the kdump-tools run drives no differently.
		if [ -n "${DEBIAN_GUEST_MEMORY:-}" ] && [ -z "$KERNEL_VARIANT" ]; then
			kdump_tools_cycle
		fi ;;
	esac
	# "-" for what did not run (-s kdump-tools): read splits at runs of tabs.
	local tc=${T_CRASH#/} tx=${T_KEXEC#/} tv=${T_VERIFY#/}
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$ARCH_NAME" "${T_KERNEL:--}" "${T_GUEST:--}" \
		"${tc:--}" "${tx:--}" "${tv:--}" >> "$TIMINGS"
}

# One crash with the key blob at PLACEMENT (random, or lowest/highest page of the arch's
# window), then the verify boot. Its results are in groups named after PLACEMENT.
crash_cycle() {
	local t status tx crash_log=$WORK/crash-$PLACEMENT.log verify_log=$WORK/verify-$PLACEMENT.log
	local stage=setup limit RESULT_GROUP=$PLACEMENT
	[ "$PLACEMENT" != tampered ] || stage=tamper
	make_disks
	say "boot 1: $stage stage (blob: $PLACEMENT), crash"
	t=$(now)
	status=0
	limit=$((TIMEOUT_CRASH * TIMEOUT_SCALE + TIMEOUT_STRESS))
	boot "$crash_log" "$limit" "$stage" || status=$?
	T_CRASH+=/$(($(now) - t))
	tx=$(transition_seconds "$crash_log")
	T_KEXEC+=/${tx:--}
	[ "$status" != 124 ] || say "timed out after ${limit}s"
	check_qemu_exit "crash boot" "$status" "$limit"
	[ -n "$T_VERIFY" ] || collect_kunit "$crash_log"
	if [ "$stage" = tamper ]; then
		collect_checks "$crash_log" "$PLACEMENT" tamper capture
		check_kernel_log "$crash_log"
		return
	fi

	say "boot 2: open the volumes with passphrases, check the dump"
	t=$(now)
	status=0
	limit=$((TIMEOUT_VERIFY * TIMEOUT_SCALE))
	boot "$verify_log" "$limit" verify || status=$?
	T_VERIFY+=/$(($(now) - t))
	[ "$status" != 124 ] || say "timed out after ${limit}s"
	check_qemu_exit "verify boot" "$status" "$limit"
	collect_checks "$crash_log" "$PLACEMENT" setup capture
	# The random cycle's verify boot ends in kexec -e into three more stages.
	if [ "$PLACEMENT" = random ]; then
		collect_checks "$verify_log" "$PLACEMENT" verify kexecskip kexeced bootwiped
	else
		collect_checks "$verify_log" "$PLACEMENT" verify
	fi
	check_kernel_log "$crash_log"
	check_kernel_log "$verify_log"
	say "logs: $crash_log $verify_log"
}

# A capture kernel that goes down with its hand-over not restored, one way per cycle:
# exitreboot (no restore, reboot), exitfailed (a failed restore, reboot), exitpanic (no
# restore, panic), and exitskip, the control (no restore, the wipe skipped, reboot).
# One boot: the setup hands over a throwaway key and crashes; the capture kernel asks
# the runner to read the hand-over's pages once QEMU, which pauses instead of ending,
# has stopped it (read_after_exit).
EXIT_CYCLES="exitskip exitreboot exitfailed exitpanic"

exit_check_name() {
	case $PLACEMENT in
	exitskip) echo "control: the hand-over, its wipe skipped, is seen after the capture kernel's reboot" ;;
	exitreboot) echo "the unrestored hand-over is zero after the capture kernel's reboot" ;;
	exitfailed) echo "the hand-over of a failed restore is zero after the capture kernel's reboot" ;;
	exitpanic) echo "the unrestored hand-over is zero after the capture kernel's panic" ;;
	esac
}

exit_cycle() {
	local log=$WORK/crash-$PLACEMENT.log status=0 t limit RESULT_GROUP=$PLACEMENT
	local QEMU_EXIT_ARGS="-action shutdown=pause -action panic=pause"
	make_disks
	say "exit cycle $PLACEMENT: hand over, crash, leave the capture kernel"
	t=$(now)
	limit=$((TIMEOUT_CRASH * TIMEOUT_SCALE))
	boot "$log" "$limit" exits || status=$?
	T_CRASH+=/$(($(now) - t))
	check_qemu_exit "crash boot" "$status" "$limit"
	collect_checks "$log" "$PLACEMENT" exits capture
	check_kernel_log "$log"
}

# The end-to-end run with Debian's own kdump-tools, on the arches whose facts give
# DEBIAN_GUEST_MEMORY: the crashkey package and a Debian 12 server with it
# (ci-matrix/debian-guest.sh), then one QEMU run through four boots. The server's own
# boot registers and loads with the packaged units, upgrades its kernel package and
# kexecs into it; that boot loads again and crashes; kdump-tools' capture boot opens the
# volumes in its initrd, saves the dump with makedumpfile and reboots; the next boot
# reads the dump back and powers off.
kdump_tools_cycle() {
	local dir=$WORK/debian deb t status=0 RESULT_GROUP=kdump-tools
	local first=("$WORK"/kernel-deb/1/linux-image-*.deb) second=("$WORK"/kernel-deb/2/linux-image-*.deb)
	mkdir -p "$dir"
	# The server boots the first package's image (QEMU's -kernel); its upgrade kexecs
	# into the second's.
	if dpkg-deb --fsys-tarfile "${first[0]}" 2>/dev/null |
		tar -xO --wildcards './boot/vmlinu*' 2>/dev/null | cmp -s - "$KERNEL"; then
		result ok "the kernel package holds the image QEMU boots"
	else
		result fail "the kernel package holds the image QEMU boots" "${first[0]} against $KERNEL"
	fi
	say "kdump-tools: building the crashkey package and a Debian 12 server with it"
	t=$(now)
	if ! deb=$("$CRASHKEY_TOP/tools/build-deb.sh" "$dir/deb" 2>"$dir/deb.log" | tail -n 1) ||
		! "$CRASHKEY_TOP/ci-matrix/debian-guest.sh" "$KERNEL_ARCH" "$KERNEL" "$deb" "$dir" \
			"${first[0]}" "${second[0]}" > "$dir/guest.log" 2>&1; then
		tail -n 5 "$dir/deb.log" "$dir/guest.log" >&2
		result fail "the crashkey package and the Debian server were built"
	elif ! make_server_disks "$dir"; then
		result fail "the server's disks were made"
	else
		say "kdump-tools: server ready in $(($(now) - t))s; boot, load, crash, kdump, verify"
		t=$(now)
		boot_server "$dir" || status=$?
		say "kdump-tools: QEMU ended with status $status after $(($(now) - t))s"
		say "kdump-tools: crashkernel=$(server_crashkernel "$dir") reserved" \
			"$(grep -m1 -o 'crashkernel reserved: .*' "$dir/kdump-tools.log" | sed 's/.*(//; s/)//')"
		check_qemu_exit "the server's four boots" "$status" "$TIMEOUT_DEBIAN"
		check_server_log "$dir/kdump-tools.log"
	fi
}

# The server's encrypted volumes, "name uuid bus cipher formatter": crypttab's names and
# UUIDs, and how each is attached and formatted (ci-matrix/debian-guest/disks).
server_volumes() {
	awk 'FNR == NR { if (!/^#/ && NF >= 4) disk[$1] = $2 " " $3 " " $4; next }
		!/^#/ && NF >= 2 { sub(/^UUID=/, "", $2); print $1, $2, disk[$1] }' \
		"$CRASHKEY_TOP/ci-matrix/debian-guest/disks" \
		"$CRASHKEY_TOP/ci-matrix/debian-guest/etc/crypttab"
}

# A copy of the server's root image, and each encrypted volume formatted with its key
# file (unless the server formats it: ci-matrix/debian-guest/disks). PBKDF2 at its minimum: the server's own boot unlocks with key files under TCG;
# what this run proves is that the capture boot needs no key at all.
make_server_disks() {
	local dir=$1 name uuid cipher formatter
	rm -f "$dir"/*.disk
	cp --sparse=always "$dir/root.img" "$dir/root.disk" || return
	while read -r name uuid _ cipher formatter; do
		truncate -s "$DUMP_DISK_SIZE" "$dir/$name.disk" || return
		[ "$formatter" = runner ] || continue
		cryptsetup luksFormat -q --type luks2 --uuid "$uuid" --pbkdf pbkdf2 \
			--pbkdf-force-iterations 1000 --cipher "$cipher" --key-size 512 \
			--key-file "$dir/$name.key" "$dir/$name.disk" || return
	done < <(server_volumes)
}

# The server's crashkernel=: kdump-tools' own default (its GRUB snippet in the server's
# image, which debian-guest.sh copies out), unless the arch's facts set one.
server_crashkernel() {	# server_crashkernel DIR
	[ -z "${DEBIAN_GUEST_CRASHKERNEL:-}" ] || { echo "$DEBIAN_GUEST_CRASHKERNEL"; return; }
	sed -n 's/.*crashkernel=\([^ "]*\).*/\1/p' "$1/kdump-tools.cfg"
}

# One QEMU run through the four boots, with a software TPM (swtpm) for tpmdata's
# TPM2 token. The disks in crypttab order after the root disk.
boot_server() {
	local dir=$1 name status=0 swtpm pid follow log=$1/kdump-tools.log
	local -a disks=(-drive "file=$dir/root.disk,if=none,format=raw,id=root"
		-device "$DISK_DEVICE,drive=root")
	disks+=(-device "$DEBIAN_GUEST_SCSI,id=scsi")
	while read -r name _ bus _; do
		disks+=(-drive "file=$dir/$name.disk,if=none,format=raw,id=$name")
		case "$bus" in
		scsi) disks+=(-device "scsi-hd,drive=$name,bus=scsi.0,serial=$name") ;;
		*) disks+=(-device "$DISK_DEVICE,drive=$name,serial=$name") ;;
		esac
	done < <(server_volumes)
	rm -rf "$dir/tpm" "$dir/swtpm.sock"
	mkdir -p "$dir/tpm"
	swtpm socket --tpm2 --tpmstate "dir=$dir/tpm" --terminate \
		--ctrl "type=unixio,path=$dir/swtpm.sock" --log "file=$dir/swtpm.log" &
	swtpm=$!
	: > "$log"
	rm -f "$log.qmp" "$log.requests"
	# Two CPUs and a DIMM slot: the server takes CPU 1 offline and asks for memory.
	# shellcheck disable=SC2086 # QEMU_ARGS is a list of arguments
	timeout "$TIMEOUT_DEBIAN" "$QEMU" $QEMU_ARGS -m "$(memory_args "$DEBIAN_GUEST_MEMORY")" \
		-smp 2 -nodefaults -display none -serial "file:$log" "${disks[@]}" \
		-qmp "unix:$log.qmp,server=on,wait=off" \
		-chardev "socket,id=swtpm,path=$dir/swtpm.sock" \
		-tpmdev emulator,id=tpm,chardev=swtpm -device "$DEBIAN_GUEST_TPM,tpmdev=tpm" \
		-kernel "$KERNEL" \
		-append "console=$CONSOLE root=/dev/vda rw crashkernel=$(server_crashkernel "$dir")" &
	pid=$!
	follow_log "$log" "$pid" "$(now)" &
	follow=$!
	wait "$pid" || status=$?
	wait "$follow" || true
	kill "$swtpm" 2>/dev/null
	wait "$swtpm" 2>/dev/null
	return "$status"
}

# The names the server hands over (CRASHKEY_VOLUMES of its /etc/default/crashkey).
handed_over_volumes() {
	# shellcheck source=ci-matrix/debian-guest/etc/default/crashkey disable=SC2086 # a list
	(. "$CRASHKEY_TOP/ci-matrix/debian-guest/etc/default/crashkey" &&
		printf '%s\n' $CRASHKEY_VOLUMES)
}

# The capture boot's console: from the crash to its reboot.
capture_boot() { sed -n '/Kernel panic - not syncing/,/reboot: Restarting system/p' "$1"; }

# What the server's boots reported, and what its capture boot's console shows: each
# handed-over volume opened by crashkey, each other one left closed, not opened by systemd.
check_server_log() {
	local log=$1 name uuid capture handed
	collect_checks "$log" kdump-tools kdump-tools-load kdump-tools-upgrade \
		kdump-tools-upgraded kdump-tools-verify
	# Once, into a variable: grep -q ending a pipe early fails it (pipefail).
	capture=$(capture_boot "$log")
	handed=$(handed_over_volumes)
	while read -r name uuid _; do
		if grep -qxF "$name" <<<"$handed"; then
			expect_line "$log" "unlocked $uuid .* -> /dev/mapper/$name" \
				"the kdump initrd opened $name under its crypttab name"
		elif grep -q "left closed in the kdump boot: $name " <<<"$capture" &&
			! grep -q "Cryptography Setup for $name" <<<"$capture"; then
			result ok "the kdump boot left $name closed (not handed over)"
		else
			result fail "the kdump boot left $name closed (not handed over)"
		fi
	done < <(server_volumes)
	expect_line "$log" "saved vmcore in /var/crash/" \
		"kdump-tools saved the vmcore with makedumpfile"
	# systemd-cryptsetup's prompt, and cryptroot's in the initrd.
	if grep -Eq 'Please enter passphrase|Please unlock disk' "$log"; then
		result fail "nothing asked for a passphrase"
	else
		result ok "nothing asked for a passphrase"
	fi
	check_kernel_log "$log"
}

# The TAP plan comes first: every arch's expected results (ci-matrix/expected/), so
# that a result that never reports is one the plan announced. The bench has none: its
# results are measurements, its plan comes at the end. Each arch's list is kept for
# the report in $RESULTS.<arch>.expected.
announce_plan() {
	local arch n=0
	[ "$SCENARIO" != bench ] || return 0
	for arch in "${ARCHES[@]}"; do
		expected_checks "$arch" > "$RESULTS.$arch.expected" ||
			die "the expected checks of $arch (ci-matrix/expected/) cannot be read"
		n=$((n + $(wc -l < "$RESULTS.$arch.expected")))
	done
	PLANNED=$n
	[ "${STORY:-0}" = 1 ] || echo "1..$n"
}

# Each arch's results against its expected ones; what it reported is kept in the
# expected lists' format beside its logs, to compare with them after a change.
compare_results() {
	local arch dir
	[ "$SCENARIO" != bench ] || return 0
	for arch in "${ARCHES[@]}"; do
		dir=$CRASHKEY_CACHE/run/$arch${BUILD_TAG:+-$BUILD_TAG}
		mkdir -p "$dir"
		reported_checks "$arch" > "$dir/reported.checks"
		compare_with_expected "$arch" "$RESULTS.$arch.expected"
	done
}

seconds() { case "$1" in *[0-9]) echo "$1s" ;; *) echo "$1" ;; esac; }

# STORY=1 (make demo): the progress lines tell the story; list failed checks only.
report() {
	local n=0 passed=0 failed=0 arch status group name detail
	compare_results
	while IFS=$'\t' read -r arch status group name detail; do
		n=$((n + 1))
		if [ "$status" = ok ]; then
			passed=$((passed + 1))
			[ "${STORY:-0}" = 1 ] || echo "ok $n - $arch: $group: $name"
		else
			failed=$((failed + 1))
			echo "not ok $n - $arch: $group: $name"
			[ -z "$detail" ] || echo "# $detail"
		fi
	done < "$RESULTS"
	[ "${STORY:-0}" = 1 ] || [ -n "${PLANNED:-}" ] || echo "1..$n"
	[ -z "${PLANNED:-}" ] || [ "$n" = "$PLANNED" ] ||
		echo "# $n results against a plan of $PLANNED: the unexpected ones failed above"
	echo
	printf '%-8s %-12s %6s %6s %-12s %-9s %-9s %6s %6s\n' arch scenario kernel guest \
		crash+cap kexec verify passed failed
	for arch in "${ARCHES[@]}"; do
		local tk=- tg=- tc=- tx=- tv=-
		if [ -f "$TIMINGS" ]; then
			read -r _ tk tg tc tx tv < <(grep "^$arch	" "$TIMINGS" ||
				echo "- - - - - -")
		fi
		printf '%-8s %-12s %6s %6s %-12s %-9s %-9s %6s %6s\n' "$arch" "$SCENARIO" \
			"$(seconds "$tk")" "$(seconds "$tg")" \
			"$(seconds "$tc")" "$(seconds "$tx")" "$(seconds "$tv")" \
			"$(grep -c "^$arch	ok	" "$RESULTS" || true)" \
			"$(grep -c "^$arch	fail	" "$RESULTS" || true)"
	done
	rm -f "$TIMINGS"
	echo
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
}

# Every arch's Debian packages, downloaded while the first kernel builds (the network,
# not the CPU, is what this waits for); rootfs.sh's lock makes the tool build of an arch
# wait for its download if it is still running.
prefetch_packages() {
	local arch
	mkdir -p "$CRASHKEY_CACHE/run"
	for arch in "${ARCHES[@]}"; do
		"$CRASHKEY_TOP/ci-matrix/rootfs.sh" fetch "$(machine_kernel_arch "$arch")" \
			>/dev/null 2>&1 || true
	done
}

EXTRA_CMDLINE=${EXTRA_CMDLINE:-}
# KERNEL_VARIANT=debug (make check-debug): kernels with KASAN, kmemleak and lockdep
# (cross-build/config/debug.config), in build and run directories of their own, whose
# setup stage first runs STRESS_LOADS loads under churn (the scenario's stress_loads).
# Their boots get TIMEOUT_SCALE times the arch's timeouts (KASAN under TCG is slow), and
# the crash boots 40 s more per stress load: a load took 25 s with both debug guests
# (-smp 2 each) on two cores.
KERNEL_VARIANT=${KERNEL_VARIANT:-}
TIMEOUT_SCALE=1
TIMEOUT_STRESS=0
case "$KERNEL_VARIANT" in
'') ;;
debug)
	export FRAGMENTS="common crashkey test debug" BUILD_TAG=debug
	STRESS_LOADS=${STRESS_LOADS:-200}
	EXTRA_CMDLINE+=" crashkey.stress=$STRESS_LOADS"
	TIMEOUT_SCALE=6
	TIMEOUT_STRESS=$((STRESS_LOADS * 40)) ;;
*) die "unknown KERNEL_VARIANT=$KERNEL_VARIANT (known: debug)" ;;
esac
expect_groups_of "$KERNEL_VARIANT" "$SCENARIO"
announce_plan
prefetch_packages &
# Builds run one after another (never two kernel builds at once); an arch's boots (QEMU
# TCG, one thread each) run in the background, overlapping the next arch's build, at
# most BOOT_SLOTS arches at a time (default 2: on two cores that keeps both busy in a
# warm run that builds nothing, and slows a cold run's builds while two arches boot).
BOOT_SLOTS=${BOOT_SLOTS:-2}
boot_pids=() boot_arches=()
# finish_boots_while_at N: until fewer than N arches are booting, finish whichever arch's
# boots end first (not the oldest: s390x's long boots would hold a slot that x86_64's
# shorter ones had freed long before).
finish_boots_while_at() {
	local ended i
	while [ "${#boot_pids[@]}" -gt 0 ] && [ "${#boot_pids[@]}" -ge "$1" ]; do
		ended=
		wait -n -p ended "${boot_pids[@]}" || true
		# Nothing left to reap (it cannot happen, but must not spin): the oldest.
		[ -n "$ended" ] || ended=${boot_pids[0]}
		for i in "${!boot_pids[@]}"; do
			[ "${boot_pids[i]}" = "$ended" ] || continue
			# bash keeps the status of what wait -n reaped: finish_boots waits again.
			finish_boots "${boot_arches[i]}" "$ended"
			unset 'boot_pids[i]' 'boot_arches[i]'
		done
		boot_pids=("${boot_pids[@]}") boot_arches=("${boot_arches[@]}")
	done
}
for ARCH_NAME in "${ARCHES[@]}"; do
	prepare_arch || continue
	finish_boots_while_at "$BOOT_SLOTS"
	boot_arch &
	boot_pids+=($!) boot_arches+=("$ARCH_NAME")
done
# The unchanged and Debian config checks are about the kernel's sources; a debug run does
# not repeat them, nor does a run of the kdump-tools scenario alone.
[ -n "$KERNEL_VARIANT" ] || [ "$SCENARIO" != crash-unlock ] || for ARCH_NAME in "${ARCHES[@]}"; do
	check_unchanged
	check_distro_config
done
finish_boots_while_at 1
report
