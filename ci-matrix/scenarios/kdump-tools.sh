#!/bin/bash
# The guest side of the end-to-end run with Debian's kdump-tools (ci-matrix/debian-guest.sh
# installs it as /usr/local/sbin/crashkey-e2e; crashkey-e2e.service runs it when the
# system is up, in a normal boot only).
#
# First boot, stage kdump-tools-load: what the boot did by itself, with the units as the
# crashkey and kdump-tools packages ship them: crashkey.service registered the volumes
# named in /etc/default/crashkey from their crypttab entries, kdump-tools loaded the
# capture kernel with kexec_file_load and the kdump initrd holds crashkey. Stage
# kdump-tools-upgrade: the kernel package's second build installed over the first (a
# kernel upgrade: its postinst runs the kernel hooks again), then a reboot. The boot
# after it, stage kdump-tools-upgraded: the same checks, CPU and memory hot-plug under
# kdump-tools' udev rules, a reload without -s and one with, then a crash. The capture boot
# is Debian's own (kdump-tools-dump.service); the runner checks its console. The next
# boot (the one before it crashed), stage kdump-tools-verify: the dump is on the
# encrypted volume and makedumpfile reads the crashed kernel's log out of it; then the
# package is removed and purged. Then power off.
#
# "crashkey-e2e enroll-tpm" (crashkey-e2e-tpm.service, before crashkey.service): gives
# tpmdata a TPM2 token with systemd-cryptenroll, once.
#
# Lines in the matrix's format (ci-matrix/guest/lib.sh), read by ci-matrix/run.sh.
set -u
# shellcheck source=ci-matrix/guest/lib.sh
. /usr/local/lib/crashkey-e2e/lib.sh

# The volumes' LUKS UUIDs, from the crypttab the runner formats them by.
crypttab_uuid() { awk -v name="$1" '$1 == name { sub(/^UUID=/, "", $2); print $2 }' /etc/crypttab; }
UUID=$(crypttab_uuid crashdump)
TPM_UUID=$(crypttab_uuid tpmdata)
CONFIGFS=/sys/kernel/config/crash_key_handover
# The crashed boot's id, on the root filesystem: the next normal boot verifies, whether
# or not the dump and its volume made it.
MARK=/var/lib/crashkey-e2e/crashed-boot-id

check() {	# check NAME COMMAND...: passes when COMMAND succeeds
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "$(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
	fi
}

on_encrypted_volume() { [ "$(df --output=source "$1" | tail -n 1)" = /dev/mapper/crashdump ]; }
loaded_with_file_load() { grep -q -- ' -s ' /var/crash/kexec_cmd; }
initrd_has() { lsinitramfs "/var/lib/kdump/initrd.img-$(uname -r)" | grep -q "$1"; }
handed_over() { [ "$(cat "$CONFIGFS/$1/handed_over")" = yes ]; }
has_tpm2_token() { cryptsetup luksDump "$(blkid -U "$TPM_UUID")" | grep -q systemd-tpm2; }
registered_by_token() {
	journalctl -b -u crashkey.service |
		grep -q 'tpmdata: key registered for the kdump kernel (LUKS2 token)'
}

# A volume whose cipher the build host's kernel lacks is formatted here, at the first
# boot (ci-matrix/debian-guest/disks): its raw disk carries its name as serial.
DISKS=/root/crashkey-e2e/disks
format_here() {	# format_here NAME UUID
	local cipher
	cipher=$(awk -v n="$1" '$1 == n && $4 == "server" { print $3 }' "$DISKS")
	[ -n "$cipher" ] && ! blkid -U "$2" >/dev/null || return 0
	step "formatting $1 with $cipher"
	cryptsetup luksFormat -q --type luks2 --uuid "$2" --pbkdf pbkdf2 \
		--pbkdf-force-iterations 1000 --cipher "$cipher" --key-size 512 \
		--key-file "/root/crashkey-e2e/$1.key" "$(ls /dev/disk/by-id/*-"$1")" &&
		udevadm settle
}

enroll_tpm() {
	local dev
	format_here tpmdata "$TPM_UUID" || return
	dev=$(blkid -U "$TPM_UUID") || return
	! has_tpm2_token || return 0
	step "enrolling a TPM2 token for tpmdata (systemd-cryptenroll)"
	systemd-cryptenroll --unlock-key-file=/root/crashkey-e2e/tpmdata.key \
		--tpm2-device=auto "$dev"
}

# What a boot did with the packaged units: registered, loaded with the keys.
load_checks() {
	check "crashkey.service ran at boot and succeeded" systemctl is-active crashkey.service
	check "kdump-tools.service loaded the capture kernel" \
		grep -qx 1 /sys/kernel/kexec_crash_loaded
	check "kdump-tools loaded with kexec -s (crashkey's drop-in)" loaded_with_file_load
	check "the crypttab volume crashdump is registered by its LUKS UUID" \
		test -d "$CONFIGFS/$UUID"
	check "the loaded crash image carries crashdump's key" handed_over "$UUID"
	check "tpmdata has a TPM2 token (systemd-cryptenroll, QEMU's swtpm)" has_tpm2_token
	check "crashkey.service registered tpmdata through its TPM2 token" registered_by_token
	check "the loaded crash image carries tpmdata's key" handed_over "$TPM_UUID"
	check "crashkey status --check finds nothing to mend" crashkey status --check
	check "kdump-tools' initrd holds crashkey and the crypttab (crashkey's hook)" \
		initrd_has 'etc/crashkey/crypttab'
	check "kdump-tools' initrd holds crashdump's SCSI driver, a module root does not need" \
		initrd_has '/virtio_scsi\.ko'
	check "kdump-tools' initrd holds tpmdata's cipher, serpent, a module" \
		initrd_has '/serpent_generic\.ko'
	check "/var/crash is on the encrypted volume" on_encrypted_volume /var/crash
}

load_stage() {
	step "kdump-tools-load: what the boot did with the packaged units"
	begin kdump-tools-load
	load_checks
	stage_done kdump-tools-load
	upgrade_stage
}

# The kernel package's second build (ci-matrix/run.sh, make kernel-deb) installed over
# the first, as an upgrade: its postinst runs the kernel hooks again.
UPGRADE=/root/crashkey-e2e/upgrade
UPGRADED=/var/lib/crashkey-e2e/upgraded
kdump_initrd() { echo "/var/lib/kdump/initrd.img-$(uname -r)"; }
installed_version() { dpkg-query -W -f '${Version}' "linux-image-$(uname -r)"; }
UPGRADE_REVISION=$(sed -n 's/.*-//p' "$UPGRADE/version" 2>/dev/null)

upgrade_stage() {
	local before
	step "kdump-tools-upgrade: installing the kernel package's second build"
	begin kdump-tools-upgrade
	before=$(stat -c %Y "$(kdump_initrd)")
	sleep 1
	check "dpkg -i of the kernel package's second build" dpkg -i "$UPGRADE"/linux-image-*.deb
	check_eq "the installed kernel package is the second build" "$(cat "$UPGRADE/version")" \
		"$(installed_version)"
	check "its postinst rebuilt kdump-tools' initrd" \
		test "$(stat -c %Y "$(kdump_initrd)")" -gt "$before"
	check "kdump-tools' new initrd holds crashkey and the crypttab" \
		initrd_has 'etc/crashkey/crypttab'
	check "kexec -s -l of the upgraded kernel" kexec -s -l "/boot/vmlinuz-$(uname -r)" \
		--reuse-cmdline
	mkdir -p "${UPGRADED%/*}"
	touch "$UPGRADED"
	sync
	stage_done kdump-tools-upgrade
	# QEMU's next boot would start its -kernel again, the first build's image: the
	# upgraded one comes through kexec, as systemd reboots into a loaded kernel.
	step "rebooting into the upgraded kernel (systemctl kexec)"
	systemctl kexec
}

# kdump-tools' udev rules reload the crash kernel at every CPU and memory event, outside
# its unit; crashkey's rule gives those reloads kexec -s. The memory comes from the runner
# (a DIMM through QMP); its blocks are onlined here, as a hot-plug rule would.
reloaded_since() { [ "$(stat -c %Y /var/crash/kexec_cmd)" -gt "$1" ]; }
memory_blocks() { printf '%s\n' /sys/devices/system/memory/memory*; }
online_new_memory() {	# online_new_memory BLOCKS-BEFORE
	local block
	for _ in $(seq 120); do
		for block in $(memory_blocks | grep -vxF "$1"); do
			[ "$(cat "$block/state")" = online ] || echo online > "$block/state" || return
			return 0
		done
		sleep 1
	done
	echo "no new memory block after 120 s"
	return 1
}
set_cpu1() { echo "$1" > /sys/devices/system/cpu/cpu1/online; }

hotplug_checks() {
	local since blocks
	since=$(stat -c %Y /var/crash/kexec_cmd)
	blocks=$(memory_blocks)
	sleep 1
	check "CPU 1 offline" set_cpu1 0
	check "CPU 1 online again" set_cpu1 1
	step "asking the runner for more memory"
	request memory-hot-add
	check "memory hot-added and online" online_new_memory "$blocks"
	udevadm settle
	check "kdump-tools' udev rules reloaded the crash kernel" reloaded_since "$since"
	check "the hot-plug reloads loaded with kexec -s (crashkey's udev rule)" \
		loaded_with_file_load
	check "after hot-plug the crash image carries crashdump's key" handed_over "$UUID"
	check "after hot-plug the crash image carries tpmdata's key" handed_over "$TPM_UUID"
	check "crashkey status --check finds nothing to mend after hot-plug" crashkey status --check
}

# A reload without kexec -s (a kexec_load()): the self-test must say so. The keys left
# the keyring at the first load, and that load's image, the only copy, is gone: the
# admin guide's remedy registers them again and loads.
status_fails_naming() {	# status_fails_naming TEXT
	local out
	! out=$(crashkey status --check) && grep -qF -- "$1" <<<"$out"
}
reload_without_s() { KDUMP_KEXEC_ARGS='' kdump-config reload; }
legacy_load_checks() {
	check "kdump-config reload without -s" reload_without_s
	check "a reload without -s is a kexec_load()" not loaded_with_file_load
	check "crashkey status --check fails after it, naming kexec -s" \
		status_fails_naming "loaded without kexec -s"
	check "systemctl restart crashkey kdump-tools registers and loads the keys again" \
		systemctl restart crashkey kdump-tools
	check "crashkey status --check finds nothing to mend after that" crashkey status --check
}
not() { ! "$@"; }

upgraded_stage() {
	step "kdump-tools-upgraded: the boot after the upgrade"
	begin kdump-tools-upgraded
	check_eq "the kernel package installed is the second build" "$(cat "$UPGRADE/version")" \
		"$(installed_version)"
	# Each package's kernel carries its revision as its build number (uname -v "#N").
	check_eq "the running kernel is the second build's" "#${UPGRADE_REVISION:-?}" \
		"$(uname -v | cut -d' ' -f1)"
	load_checks
	hotplug_checks
	legacy_load_checks
	mkdir -p "${MARK%/*}"
	cat /proc/sys/kernel/random/boot_id > "$MARK"
	echo "crashkey-e2e: crashing boot $(cat "$MARK")" > /dev/kmsg
	sync
	stage_done kdump-tools-upgraded
	step "crashing: kdump-tools' capture kernel takes over"
	echo c > /proc/sysrq-trigger
}

# The dump kdump-tools saved: /var/crash/<stamp>/dump.<stamp>.
dump_file() { find /var/crash -mindepth 2 -maxdepth 2 -name 'dump.*' | head -n 1; }

# kdump-tools saves makedumpfile's flattened format (-F, for its pipe): makedumpfile -R
# turns it back into a dump file, which --dump-dmesg then reads.
dump_has_crashed_log() {
	local out=/run/crashkey-e2e
	makedumpfile -R "$out.dump" < "$1" >/dev/null &&
		makedumpfile --dump-dmesg "$out.dump" "$out.dmesg" >/dev/null || return
	grep -q "crashkey-e2e: crashing boot $(cat "$MARK")" "$out.dmesg" &&
		grep -q 'sysrq: Trigger a crash' "$out.dmesg"
}

# Removing the package ends the hand-over at once; purging it leaves no file of it
# (the test's own crashkey-e2e files aside).
crashkey_logon_keys() { keyctl list @u | grep -c 'logon: kdump-cryptsetup:vk-'; }
loaded_without_keys() {
	[ "$(cat /sys/kernel/kexec_crash_loaded)" = 1 ] &&
		[ "$(cat "$CONFIGFS/handed_over")" = "0 -" ]
}
crashkey_files_left() {
	find / -xdev -name '*crashkey*' ! -name '*crashkey-e2e*' ! -path '*/crashkey-e2e/*' \
		! -path '/var/crash/*' 2>/dev/null
}
removal_checks() {
	check "dpkg -r crashkey" dpkg -r crashkey
	check_eq "removing crashkey unregistered every volume" 0 "$(cat "$CONFIGFS/count")"
	check_eq "removing crashkey revoked its logon keys" 0 "$(crashkey_logon_keys)"
	check "removing crashkey reloaded kdump-tools, without keys" loaded_without_keys
	check "kdump-tools' initrd no longer holds crashkey" not initrd_has 'sbin/crashkey'
	check "dpkg --purge crashkey" dpkg --purge crashkey
	check_eq "no crashkey file is left after the purge" "" "$(crashkey_files_left)"
}

verify_stage() {
	local dump
	dump=$(dump_file)
	step "kdump-tools-verify: the dump kdump-tools saved"
	begin kdump-tools-verify
	check "kdump-tools saved one dump" test "$(find /var/crash -mindepth 2 -maxdepth 2 \
		-name 'dump.*' | wc -l)" = 1
	check "the dump is on the encrypted volume" on_encrypted_volume "$dump"
	check "makedumpfile --dump-dmesg reads the crashed boot's log from it" \
		dump_has_crashed_log "$dump"
	check "kdump-tools saved that log beside it too" \
		grep -q "crashkey-e2e: crashing boot $(cat "$MARK")" "${dump%/*}"/dmesg.*
	removal_checks
	stage_done kdump-tools-verify
	step "powering off"
	systemctl poweroff
}

# Through the kernel's log, which reaches the console at once (and the dump): the
# journal's copy would still be on its way when the kernel crashes.
exec >/dev/kmsg 2>&1
if [ "${1:-}" = enroll-tpm ]; then
	enroll_tpm
elif [ -e "$MARK" ]; then
	verify_stage
elif [ -e "$UPGRADED" ]; then
	upgraded_stage
else
	load_stage
fi
