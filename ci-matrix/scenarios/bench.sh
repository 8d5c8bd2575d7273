# shellcheck shell=sh
# Scenario "bench" (make bench, ci-matrix/bench.sh): one crash, with the capture kernel's
# memory as the runner chose it (crashkernel=), and what to measure, crashkey.bench=MODE:
#   crashkey    LUKS2, its volume key handed over by crashkey; crashkey unlock
#   passphrase  LUKS2, opened with its passphrase (the header's Argon2id, 1 GiB)
#   plain       no encryption: the dump disk as it is
#   keys        scale: crashkey.bench_count=N synthetic volume keys, registered through
#               configfs; the load, and the capture kernel's restore, timed
#   volumes     scale: every LUKS2 partition of vda and vdc (N of them) registered with
#               crashkey add; the load, restore and crashkey unlock timed
# The disks come from the runner: for the first three, vda the dump volume (LUKS2
# formatted with cryptsetup's defaults on the host, or blank for plain), vdb the secrets
# a real server would have (the passphrase in its first sector, the volume key in its
# second). The capture kernel saves the dump as kdump-tools does (makedumpfile -d 31,
# here as ELF in makedumpfile's flattened format, straight onto the volume), reads it
# back, and says
#   crashkey-bench: ok open_ms=N dump_bytes=N   or   crashkey-bench: fail WHY
# The scale modes say "crashkey-bench: loaded load_us=N keys_us=N" before the crash
# (all of kexec -s -p; the kernel's work on the keys within it) and, in the capture kernel,
#   crashkey-bench: ok keys=N blob_bytes=N restore_us=N [unlock_us=N unlock_kib=N]
# (unlock_kib: how much less memory the capture kernel had available after the unlock.)
# The kernel's own times come from the test probe; the others, in microseconds, from the
# kernel log's timestamps (printk.time=1) of marks written to /dev/kmsg: busybox's clocks
# count in 10 ms steps.

# shellcheck source=/dev/null
. /etc/crashkey/arch.env

bench_mode() { sed -n 's/.*crashkey\.bench=\([a-z]*\).*/\1/p' /proc/cmdline; }
bench_count() { sed -n 's/.*crashkey\.bench_count=\([0-9]*\).*/\1/p' /proc/cmdline; }
bench() { echo "crashkey-bench: $*"; }

mark() { echo "crashkey-mark: $1" > /dev/kmsg; }

# The kernel log's timestamp, in microseconds, of the last line that contains TEXT.
log_us() {	# log_us TEXT
	dmesg | awk -v text="$1" 'index($0, text) { line = $0 }
		END {	if (!line) exit 1
			sub(/^\[ */, "", line); split(line, t, "]"); split(t[1], s, ".")
			printf "%d\n", s[1] * 1000000 + s[2] }'
}

us_between() {	# us_between TEXT TEXT: from the first's log line to the second's
	_from=$(log_us "$1") && _to=$(log_us "$2") && echo $((_to - _from))
}

secret() {	# secret SECTOR: the NUL-padded secret in that sector of vdb
	dd if=/dev/role/vdb bs=512 skip="$1" count=1 2>/dev/null | tr -d '\0'
}

# The volume key as cryptsetup 2.7's --link-vk-to-keyring would leave it (a user key),
# so that no Argon2 runs in the first kernel.
register_volume_key() {
	secret 1 | xxd -r -p | keyctl padd user crashkey-bench:vk @u > /dev/null
	out=$(crashkey --quiet add --volume-key-keyring %user:crashkey-bench:vk \
		/dev/role/vda 2>&1)
	status=$?
	keyctl unlink "$(keyctl search @u user crashkey-bench:vk)" @u > /dev/null
	[ "$status" = 0 ] || echo "crashkey add: $out"
}

# N synthetic volume keys of 64 bytes (aes-xts-plain64's 512 bits) under the descriptions
# kdump-utils gives (kdump-cryptsetup:vk-UUID), registered through configfs directly:
# what the kernel does with N keys, without N volumes. One keyctl per key, no other
# process: 1024 processes take half a minute under TCG.
register_keys() {	# register_keys N
	od -An -v -tx1 -N $(($1 * 32)) /dev/urandom | tr -d ' \n' |
		awk -v n="$1" '{ for (i = 0; i < n; i++)
			printf "%08x-0000-4000-8000-000000000000 %s\n", i, substr($0, i * 64 + 1, 64) }' \
		> /tmp/keys
	# shellcheck disable=SC2046 # N paths, no blanks
	mkdir $(awk -v d="$KEYS" '{ print d "/" $1 }' /tmp/keys)
	while read -r uuid key; do
		keyctl add logon "kdump-cryptsetup:vk-$uuid" "$key" @u > /dev/null || break
		echo "kdump-cryptsetup:vk-$uuid" > "$KEYS/$uuid/description" || break
	done < /tmp/keys
	rm -f /tmp/keys
	[ "$(cat "$KEYS/count")" = "$1" ] || echo "$(cat "$KEYS/count") of $1 keys registered"
}

# The LUKS2 partitions of vda and vdc (the runner made them, ci-matrix/bench.sh).
volume_partitions() {
	for role in vda vdc; do
		disk=$(readlink -f "/dev/role/$role")
		for part in "/sys/class/block/${disk##*/}/${disk##*/}"*; do
			[ ! -e "$part/partition" ] || echo "/dev/${part##*/}"
		done
	done
}

# Each with crashkey add and the one passphrase the runner gave them all (vdb).
register_volumes() {	# register_volumes N
	secret 0 > /tmp/passphrase
	n=0
	for part in $(volume_partitions); do
		out=$(crashkey --quiet add --key-file /tmp/passphrase "$part" 2>&1) || break
		n=$((n + 1))
	done
	rm -f /tmp/passphrase
	[ "$n" = "$1" ] || echo "$n of $1 volumes registered; crashkey add $part: $out"
}

load_capture_kernel() {	# load_capture_kernel MODE
	kexec -s -p /boot/kernel --initrd=/boot/capture.cpio.xz \
		--append="console=$CONSOLE $CAPTURE_CMDLINE panic=-1 kunit.enable=0 printk.time=1 crashkey.bench=$1 crashkey.bench_count=$(bench_count)"
}

# The test probe's time of the last load's key work or restore, in microseconds.
probe_us() {	# probe_us last_load_keys_ns|last_restore_ns
	echo $(($(cat "$DEBUG/$1") / 1000))
}

# The scale modes register their keys, then time the load: all of kexec -s -p, and the
# kernel's work on the keys within it.
timed_load() {	# timed_load MODE: "load_us=N keys_us=N", or fails
	why=$(register_"$1" "$(bench_count)")
	[ -z "$why" ] || { echo "$why"; return 1; }
	mark load-start
	load_capture_kernel "$1" || return
	mark load-end
	echo "load_us=$(us_between "crashkey-mark: load-start" "crashkey-mark: load-end")" \
		"keys_us=$(probe_us last_load_keys_ns)"
}

mem_available_kib() { sed -n 's/^MemAvailable: *\([0-9]*\) kB$/\1/p' /proc/meminfo; }

crash_size_mib() { echo $(($(cat /sys/kernel/kexec_crash_size) / 1048576)); }

# makedumpfile refuses a dump whose vmcoreinfo says CRASHTIME=0. A guest without an RTC
# driver (arm64's virt here) starts its clock at 0, and the passphrase way crashes within
# the first second; a real server's clock never reads 0.
wait_for_clock() {
	while [ "$(date +%s)" -lt 2 ]; do sleep 1; done
}

stage_setup() {
	mode=$(bench_mode)
	case "$mode" in
	keys | volumes)
		if ! loaded=$(timed_load "$mode"); then
			bench "fail ${loaded:-the capture kernel did not load}"
			return
		fi
		bench "loaded $loaded" ;;
	*)
		if [ "$mode" = crashkey ] && why=$(register_volume_key) && [ -n "$why" ]; then
			bench "fail $why"
			return
		fi
		if ! load_capture_kernel "$mode"; then
			bench "fail the capture kernel did not load into crashkernel=$(crash_size_mib)M"
			return
		fi ;;
	esac
	wait_for_clock
	step "capture kernel loaded ($mode, crashkernel=$(crash_size_mib)M); crashing"
	stage_done setup
	sync
	drain_console
	echo c > /proc/sysrq-trigger
}

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
	status=$(cat /tmp/makedumpfile.status)
	if [ "$status" != 0 ]; then
		# Its last line is always "makedumpfile Failed."; the reason is above it
		# (one killed by a signal leaves none; its status is then 128 + the signal).
		echo "fail makedumpfile (status $status): $(grep -v '^$' /tmp/makedumpfile.log |
			tail -n 4 | tr '\n' ' ')"
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

capture_dump() {	# capture_dump MODE
	mark open-start
	if ! dev=$(open_dump_volume "$1"); then
		bench "fail the dump volume did not open ($1): $(tail -n 1 /tmp/open.log 2>/dev/null)"
		return
	fi
	mark open-end
	open_ms=$(($(us_between "crashkey-mark: open-start" "crashkey-mark: open-end") / 1000))
	step "dump volume open ($1) in ${open_ms} ms; makedumpfile -d 31"
	saved=$(save_dump "$dev")
	case "$saved" in
	fail*) bench "$saved" ;;
	*) bench "ok open_ms=$open_ms dump_bytes=$saved" ;;
	esac
}

# "N BYTES" from the kernel's line after a restore.
restored() {
	dmesg | sed -n 's/.*crash_dm_crypt: restored \([0-9]*\) keys from a \([0-9]*\)-byte blob.*/\1 \2/p' |
		tail -n 1
}

# keys: the restore alone, and the keys it made in the user keyring. volumes: crashkey
# unlock, which restores first, and a mapping per volume.
capture_scale() {	# capture_scale MODE
	n=$(bench_count)
	unlocked=
	if [ "$1" = keys ]; then
		if ! echo 1 > "$KEYS/restore"; then
			bench "fail the restore"
			return
		fi
		found=$(grep -c 'user *kdump-cryptsetup:vk-' /proc/keys)
	else
		before=$(mem_available_kib)
		mark unlock-start
		crashkey unlock > /tmp/unlock.log 2>&1
		status=$?
		mark unlock-end
		after=$(mem_available_kib)
		found=$(find /dev/mapper -name 'luks-*' | wc -l)
		if [ "$status" != 0 ]; then
			bench "fail crashkey unlock (exit $status): $(tail -n 1 /tmp/unlock.log)"
			return
		fi
		unlocked="unlock_us=$(us_between "crashkey-mark: unlock-start" "crashkey-mark: unlock-end")"
		# No MemAvailable: no figure ("-"), not a made-up 0.
		[ -z "$before" ] || [ -z "$after" ] ||
			unlocked="$unlocked unlock_kib=$((before - after))"
	fi
	# shellcheck disable=SC2046 # two numbers
	set -- $(restored)
	if [ "${1:-0}" != "$n" ] || [ "$found" != "$n" ]; then
		bench "fail $n keys handed over; restored ${1:-none}, $found in use"
		return
	fi
	bench "ok keys=$1 blob_bytes=$2 restore_us=$(probe_us last_restore_ns) $unlocked"
}

stage_capture() {
	mode=$(bench_mode)
	case "$mode" in
	keys | volumes) capture_scale "$mode" ;;
	*) capture_dump "$mode" ;;
	esac
}
