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
# after it, stage kdump-tools-upgraded: the same checks, then a crash. The capture boot
# is Debian's own (kdump-tools-dump.service); the runner checks its console. The next
# boot (the one before it crashed), stage kdump-tools-verify: the dump is on the
# encrypted volume and makedumpfile reads the crashed kernel's log out of it. Then power
# off.
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

enroll_tpm() {
	local dev
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

upgraded_stage() {
	step "kdump-tools-upgraded: the boot after the upgrade"
	begin kdump-tools-upgraded
	check_eq "the kernel package installed is the second build" "$(cat "$UPGRADE/version")" \
		"$(installed_version)"
	# Each package's kernel carries its revision as its build number (uname -v "#N").
	check_eq "the running kernel is the second build's" "#${UPGRADE_REVISION:-?}" \
		"$(uname -v | cut -d' ' -f1)"
	load_checks
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
