# shellcheck shell=sh
# Scenario "bench" (make bench, ci-matrix/bench.sh): one crash, with the capture kernel's
# memory as the runner chose it (crashkernel=), and one way to reach the dump volume,
# crashkey.bench=MODE:
#   crashkey    LUKS2, its volume key handed over by crashkey; crashkey unlock
#   passphrase  LUKS2, opened with its passphrase (the header's Argon2id, 1 GiB)
#   plain       no encryption: the dump disk as it is
# The disks come from the runner: vda the dump volume (LUKS2 formatted with cryptsetup's
# defaults on the host, or blank for plain), vdb the secrets a real server would have
# (the passphrase in its first sector, the volume key in its second). The capture
# kernel saves the dump as kdump-tools does (makedumpfile -d 31, here as ELF in
# makedumpfile's flattened format, straight onto the volume), reads it back, and says
#   crashkey-bench: ok open_ms=N dump_bytes=N   or   crashkey-bench: fail WHY

# shellcheck source=/dev/null
. /etc/crashkey/arch.env

bench_mode() { sed -n 's/.*crashkey\.bench=\([a-z]*\).*/\1/p' /proc/cmdline; }
bench() { echo "crashkey-bench: $*"; }
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

secret() {	# secret SECTOR: the NUL-padded secret in that sector of vdb
	dd if=/dev/role/vdb bs=512 skip="$1" count=1 2>/dev/null | tr -d '\0'
}

# The first kernel registers the volume key as cryptsetup 2.7's --link-vk-to-keyring
# would leave it (a user key), so that no Argon2 runs here, and loads the capture kernel.
stage_setup() {
	mode=$(bench_mode)
	if [ "$mode" = crashkey ]; then
		secret 1 | xxd -r -p | keyctl padd user crashkey-bench:vk @u > /dev/null
		out=$(crashkey --quiet add --volume-key-keyring %user:crashkey-bench:vk \
			/dev/role/vda 2>&1)
		status=$?
		keyctl unlink "$(keyctl search @u user crashkey-bench:vk)" @u > /dev/null
		if [ "$status" != 0 ]; then
			bench "fail crashkey add: $out"
			return
		fi
	fi
	if ! kexec -s -p /boot/kernel --initrd=/boot/capture.cpio.xz \
		--append="console=$CONSOLE $CAPTURE_CMDLINE panic=-1 kunit.enable=0 crashkey.bench=$mode"; then
		bench "fail the capture kernel did not load into crashkernel=$(crash_size_mib)M"
		return
	fi
	step "capture kernel loaded ($mode, crashkernel=$(crash_size_mib)M); crashing"
	stage_done setup
	sync
	drain_console
	echo c > /proc/sysrq-trigger
}

crash_size_mib() { echo $(($(cat /sys/kernel/kexec_crash_size) / 1048576)); }

open_dump_volume() {	# open_dump_volume MODE: the device to write the dump to, on stdout
	case "$1" in
	crashkey)
		crashkey unlock > /tmp/open.log 2>&1 || return
		echo "/dev/mapper/luks-$(cryptsetup luksUUID /dev/role/vda)" ;;
	passphrase)
		secret 0 > /tmp/passphrase
		cryptsetup open --key-file /tmp/passphrase /dev/role/vda dump > /tmp/open.log 2>&1 ||
			return
		echo /dev/mapper/dump ;;
	plain) echo /dev/role/vda ;;
	*) return 1 ;;
	esac
}

# makedumpfile's stream goes onto the volume and, through FIFOs, into sha256sum and wc;
# read back from the volume after the page cache is dropped, it must hash the same.
save_dump() {	# save_dump DEVICE: "BYTES" on stdout, or "fail WHY"
	mkfifo /tmp/stream /tmp/count
	wc -c < /tmp/count > /tmp/stream.bytes &
	tee /tmp/count < /tmp/stream | sha256sum > /tmp/stream.sum &
	{ makedumpfile -E -F -d 31 /proc/vmcore 2> /tmp/makedumpfile.log
	  echo $? > /tmp/makedumpfile.status; } |
		tee /tmp/stream | dd of="$1" bs=1M conv=fsync 2> /tmp/dd.log
	wait
	if [ "$(cat /tmp/makedumpfile.status)" != 0 ]; then
		echo "fail makedumpfile: $(tail -n 1 /tmp/makedumpfile.log)"
		return
	fi
	bytes=$(tr -d ' ' < /tmp/stream.bytes)
	sync
	echo 3 > /proc/sys/vm/drop_caches
	if [ -z "$bytes" ] || [ "$(head -c "$bytes" "$1" | sha256sum | cut -d' ' -f1)" != \
		"$(cut -d' ' -f1 /tmp/stream.sum)" ]; then
		echo "fail the volume does not give back the ${bytes:-?} bytes makedumpfile wrote"
		return
	fi
	echo "$bytes"
}

stage_capture() {
	mode=$(bench_mode)
	t0=$(now_ms)
	if ! dev=$(open_dump_volume "$mode"); then
		bench "fail the dump volume did not open ($mode): $(tail -n 1 /tmp/open.log 2>/dev/null)"
		return
	fi
	open_ms=$(($(now_ms) - t0))
	step "dump volume open ($mode) in ${open_ms} ms; makedumpfile -d 31"
	saved=$(save_dump "$dev")
	case "$saved" in
	fail*) bench "$saved" ;;
	*) bench "ok open_ms=$open_ms dump_bytes=$saved" ;;
	esac
}
