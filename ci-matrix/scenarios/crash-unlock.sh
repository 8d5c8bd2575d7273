# shellcheck shell=sh
# Scenario "crash-unlock": three LUKS2 volumes, their volume keys registered with crashkey
# and handed to the capture kernel by kexec_file_load; after a crash the capture kernel
# unlocks all three without a passphrase and saves the vmcore onto the first; a third boot
# opens them with their passphrases and checks the dump and the other volumes' data.
#
# Stages: setup (first kernel), capture (after the crash), verify (fresh boot).
# /etc/crashkey/arch.env gives CONSOLE, CAPTURE_CMDLINE and HANDOVER (setup_data, ...).

# shellcheck source=/dev/null
. /etc/crashkey/arch.env

PROBE=$DEBUG/blob_pages
VOLUMES="vda vdb vdc"		# vda receives the dump, vdb and vdc hold canary data
CANARY_BYTES=1048576

hex_of() { od -An -v -tx1 < "$1" | tr -d ' \n'; }

passphrase_file() {
	printf 'crashkey test passphrase for %s' "$1" > "/tmp/$1.pass"
	echo "/tmp/$1.pass"
}

uuid_of() { cryptsetup luksUUID "/dev/role/$1"; }
mapping_of() { echo "/dev/mapper/luks-$(uuid_of "$1")"; }
canary_hash() { head -c "$CANARY_BYTES" "$(mapping_of "$1")" | sha256sum | cut -d' ' -f1; }

open_with_passphrases() {
	for v in $VOLUMES; do
		check "open $v with its passphrase" cryptsetup open \
			--key-file "$(passphrase_file "$v")" "/dev/role/$v" "luks-$(uuid_of "$v")"
	done
}

close_volumes() {
	for v in $VOLUMES; do
		cryptsetup close "luks-$(uuid_of "$v")"
	done
}

# ---- setup: first kernel ----------------------------------------------------

create_volumes() {
	step "creating 3 LUKS2 volumes (pbkdf2, passphrases)"
	for v in $VOLUMES; do
		check "luksFormat $v" cryptsetup luksFormat --type luks2 --pbkdf pbkdf2 \
			--pbkdf-force-iterations 1000 --batch-mode \
			--key-file "$(passphrase_file "$v")" "/dev/role/$v"
	done
	open_with_passphrases
	check "mke2fs on vda" mke2fs -q "$(mapping_of vda)"
	mount "$(mapping_of vda)" /mnt
	for v in vdb vdc; do
		dd if=/dev/urandom of="$(mapping_of "$v")" bs=65536 \
			count=$((CANARY_BYTES / 65536)) 2>/dev/null
		echo "$v $(canary_hash "$v")" >> /mnt/canary.sha256
	done
	step "canary data written to vdb and vdc"
	umount /mnt
	# vdc stays registered but closed: its key must be nowhere in this kernel but the blob.
	cryptsetup close "luks-$(uuid_of vdc)"
}

check_configfs_validation() {
	step "checking configfs input validation"
	check_fails "upper-case UUID refused" "Invalid argument" \
		mkdir "$KEYS/0C6E5E1A-8A3F-4D5E-9B2C-1F2E3D4C5B6A"
	check_fails "non-UUID item name refused" "Invalid argument" mkdir "$KEYS/not-a-uuid"
	u=0c6e5e1a-8a3f-4d5e-9b2c-1f2e3d4c5b6a
	mkdir "$KEYS/$u"
	check_fails "description naming no key refused" "Required key not available" \
		write "$KEYS/$u/description" "crashkey-test:absent"
	keyctl add user crashkey-test:user secret @u > /dev/null
	check_fails "user-type key refused" "Key was rejected by service" \
		write "$KEYS/$u/description" "crashkey-test:user"
	head -c 300 /dev/urandom | keyctl padd logon crashkey-test:big @u > /dev/null
	check_fails "300-byte key refused" "Invalid argument" \
		write "$KEYS/$u/description" "crashkey-test:big"
	check_fails "empty description refused" "Invalid argument" \
		write "$KEYS/$u/description" ""
	check_fails "256-character description refused" "Invalid argument" \
		write "$KEYS/$u/description" "$(head -c 256 /dev/zero | tr '\0' x)"
	check_eq "failed writes left no description" "" "$(cat "$KEYS/$u/description")"
	rmdir "$KEYS/$u"
	keyctl unlink "$(keyctl search @u user crashkey-test:user)" @u > /dev/null
	keyctl unlink "$(keyctl search @u logon crashkey-test:big)" @u > /dev/null

	# One mkdir for all 1024: a process per item took half a minute under TCG.
	# shellcheck disable=SC2046 # 1024 paths, no blanks
	mkdir $(awk -v d="$KEYS" 'BEGIN { for (i = 0; i < 1024; i++)
		printf "%s/%08x-0000-4000-8000-000000000000\n", d, i }')
	check_eq "1024 items accepted" 1024 "$(cat "$KEYS/count")"
	check_fails "item 1025 refused" "No space left on device" \
		mkdir "$KEYS/ffffffff-0000-4000-8000-000000000000"
	rmdir "$KEYS"/*-0000-4000-8000-000000000000
	check_eq "all test items removed" 0 "$(cat "$KEYS/count")"
}

# vda and vdb; vdc comes after the first load (load_capture_kernel).
register_keys() {
	step "registering the volume keys with crashkey add"
	check "crashkey add vda --key-file" crashkey add --key-file "$(passphrase_file vda)" /dev/role/vda
	check "crashkey add vdb --stdin" sh -c "crashkey add --stdin /dev/role/vdb < $(passphrase_file vdb)"
	check_eq "2 items registered" 2 "$(cat "$KEYS/count")"
	crashkey status
}

# random, lowest or highest: where the runner wants the blob of the crash (ci-matrix/run.sh);
# "tampered" for the tamper cycle. The capture kernel is told too.
placement() { sed -n 's/.*crashkey\.place=\([a-z]*\).*/\1/p' /proc/cmdline; }

blob_state() { sed 's/ addr=.*//' "$PROBE"; }
blob_addr() { sed -n 's/.* addr=\(0x[0-9a-f]*\).*/\1/p' "$PROBE"; }

check_blob_unmapped() {
	case "$(blob_state)" in
	"pages=0 "*) fail "$1" "no key blob loaded" ;;
	*" readable=0") pass "$1" ;;
	*) fail "$1" "$(blob_state)" ;;
	esac
}

# The last blob's placement, from the test probe: "addr size window-min window-max".
last_placed() {
	sed 's/addr=\(0x[0-9a-f]*\) size=\([0-9]*\) window=\(0x[0-9a-f]*\)-\(0x[0-9a-f]*\)/\1 \2 \3 \4/' \
		"$DEBUG/last_placed"
}

# lowest or highest placement: the blob is on the first or last page of its window.
check_boundary_placement() {
	# shellcheck disable=SC2046 # four numbers
	set -- $(last_placed)
	min=$((($3 + 4095) / 4096 * 4096))
	case "$(placement)" in
	lowest) want=$min ;;
	highest) want=$((min + ($4 - min + 1 - $2) / 4096 * 4096)) ;;
	*) return 0 ;;
	esac
	check_eq "key blob on the $(placement) page of its window" "$(printf '0x%x' "$want")" "$(printf '0x%x' "$1")"
}

# The kernel's summary of the kept hand-over (configfs "handed_over"): "COUNT DIGEST",
# the digest a SHA-256 of the volumes' binary UUIDs in registration order.
expected_handover() {	# expected_handover VOLUME...
	[ $# -gt 0 ] || { echo "0 -"; return; }
	echo "$# $(for v in "$@"; do uuid_of "$v" | tr -d -; done | tr -d '\n' | xxd -r -p |
		sha256sum | cut -d' ' -f1)"
}
check_handover() {	# check_handover NAME VOLUME...
	name=$1
	shift
	check_eq "$name" "$(expected_handover "$@")" "$(cat "$KEYS/handed_over")"
}
handed_over() { cat "$KEYS/$(uuid_of "$1")/handed_over"; }

load_capture() {
	kexec -s -p /boot/kernel --initrd=/boot/capture.cpio.xz \
		--append="console=$CONSOLE $CAPTURE_CMDLINE $KERNEL_CMDLINE panic=-1 kunit.enable=0 crashkey.place=$(placement)"
}

logon_key_id() { keyctl search @u logon "kdump-cryptsetup:vk-$(uuid_of "$1")"; }

# The registered logon keys' ids, "vda:ID vdb:ID ...", for check_keys_revoked.
logon_key_ids() {
	for v in "$@"; do
		printf '%s:%s ' "$v" "$(logon_key_id "$v")"
	done
}

# check_keys_revoked NAME IDS: the load took these keys and revoked them (which frees
# their payloads): the key exists once, in the blob. (keyctl read, not describe:
# describing a revoked key still works.)
check_keys_revoked() {
	left=
	for vk in $2; do
		case "$(keyctl read "${vk#*:}" 2>&1)" in
		*"Key has been revoked"*|*"Required key not available"*) ;;
		*) left="$left ${vk%%:*}" ;;
		esac
	done
	if [ -z "$2" ]; then
		fail "$1" "no key ids"
	elif [ -z "$left" ]; then
		pass "$1"
	else
		fail "$1" "not revoked:$left"
	fi
}

# The control key of the vmcore scan (capture stage): left in root's keyring on
# purpose, never registered, so the scan must find it. 64 bytes, as a volume key.
control_key() { printf '%-64.64s' "crashkey control key on $(uname -m), left in a keyring"; }

# Pages read through /dev/mem: what a wipe left behind, not what the kernel's bookkeeping
# says. Prints "<bytes read> <non-zero bytes>"; read through a pipe, so that no copy of a
# key lands in a file. Every byte must be read (STRICT_DEVMEM would make it read nothing).
scan_pages() {	# scan_pages ADDR SIZE
	dd if=/dev/mem bs=4096 skip=$(($1 / 4096)) count=$(($2 / 4096)) 2>/dev/null |
		od -An -v -tx1 |
		awk '{ n += NF; for (i = 1; i <= NF; i++) if ($i != "00") z++ } END { print n + 0, z + 0 }'
}

check_pages_wiped() {	# check_pages_wiped NAME ADDR SIZE
	set -- "$1" "$2" "$3" "$(scan_pages "$2" "$3")"
	case "$4" in
	"0 0") fail "$1" "nothing read at $2" ;;
	"$3 0") pass "$1" ;;
	*) fail "$1" "of $3 bytes at $2: read, non-zero: $4" ;;
	esac
}

placed_addr() { last_placed | cut -d' ' -f1; }
placed_size() { last_placed | cut -d' ' -f2; }

# A control that shows a wipe check can fail: a blob left unwiped on purpose at ADDR
# must be seen by the same read. zero_leftover zeroes what the controls left, as the
# kernel would have: not while a crash image is loaded, when x86 and s390 keep the crash
# region read-only.
check_unwiped_blob_seen() {	# check_unwiped_blob_seen NAME ADDR SIZE
	set -- "$1" "$2" "$3" "$(scan_pages "$2" "$3")"
	# Every byte read, and some of them not zero.
	if [ "${4% *}" = "$3" ] && [ "${4#* }" != 0 ]; then
		pass "$1"
	else
		fail "$1" "of $3 bytes at $2: read, non-zero: $4"
	fi
	leftover="$leftover $2 $3"
}

zero_leftover() {
	# shellcheck disable=SC2086 # addresses and sizes
	set -- $leftover
	while [ $# -ge 2 ]; do
		dd if=/dev/zero of=/dev/mem bs=4096 seek=$(($1 / 4096)) count=$(($2 / 4096)) 2>/dev/null
		shift 2
	done
	leftover=
}
leftover=

# After a load: true once the blob is no longer at ADDR. A load that put it on the same
# place again overwrote the old one, and shows nothing of its wipe: reload (skipping the
# wipe again with skip-wipe) until it moves, 8 loads at most.
moved_from() {	# moved_from ADDR [skip-wipe]
	_loads=1
	while [ "$(placed_addr)" = "$1" ]; do
		[ "$_loads" -lt 8 ] || return 1
		[ -z "${2:-}" ] || write "$DEBUG/skip_next_wipe" 1
		load_capture > /dev/null 2>&1 || return 1
		_loads=$((_loads + 1))
	done
}

# The controls of the wipes, with a throwaway key: reading a blob through /dev/mem leaves
# copies of it in freed pages (read_mem()'s bounce page, the pipe's page), which the RAM
# and vmcore scans would rightly count, so no volume's key may be in a blob that is read.
# Needs no item registered and nothing kept: the first skipped wipe is then the refused
# load's own. Each wipe the scenario checks, skipped once (test knob), must be seen.
check_wipe_control() {
	item=$KEYS/00000000-0000-4000-8000-00000000c0de
	keyctl add logon crashkey-test:wipe-control "crashkey wipe control on $(uname -m)" @u >/dev/null
	mkdir "$item" && write "$item/description" crashkey-test:wipe-control
	write "$DEBUG/skip_next_wipe" 1
	write "$DEBUG/fail_next_unmap" 1
	check_fails "a refused load with its wipe skipped (test only)" "kexec_file_load failed" load_capture
	check_unwiped_blob_seen "control: a refused load's blob whose wipe was skipped is seen" \
		"$(placed_addr)" "$(placed_size)"
	check "load with a throwaway key (for the wipe controls)" load_capture
	set -- "$(placed_addr)" "$(placed_size)"
	write "$DEBUG/skip_next_wipe" 1
	check "reload with the wipe skipped (test only)" load_capture
	name="control: a reloaded blob's old place, its wipe skipped, is seen"
	if moved_from "$1" skip-wipe; then
		check_unwiped_blob_seen "$name" "$1" "$2"
	else
		fail "$name" "8 loads all put the blob at $1: nothing to observe"
	fi
	rmdir "$item"
	set -- "$(placed_addr)" "$(placed_size)"
	write "$DEBUG/skip_next_wipe" 1
	check "unload with the throwaway key removed and the wipe skipped (test only)" kexec -s -p -u
	check_unwiped_blob_seen "control: an unloaded blob whose wipe was skipped is seen" "$1" "$2"
	zero_leftover
}

# A reload moves the blob: where it was must be zero now.
check_reload_wipes() {	# check_reload_wipes NAME
	set -- "$1" "$(placed_addr)" "$(placed_size)"
	check "$1" load_capture
	if moved_from "$2"; then
		check_pages_wiped "$1: the old blob's memory is zero" "$2" "$3"
	else
		fail "$1: the old blob's memory is zero" "8 loads all put the blob at $2: nothing to observe"
	fi
}

register_all_again() {
	for v in $VOLUMES; do
		crashkey add --key-file "$(passphrase_file "$v")" "/dev/role/$v" || return
	done
}

# A key that cannot be handed over fails the load with its own error, on every arch
# (arm64 used to retry other kernel places and report "no room" instead).
# A reload whose allocation fails (the copy of the kept blob, or the new blob's buffer:
# test knobs fail_next_copy, fail_next_alloc) is refused before anything changed: the
# loaded image, its blob where it was, unmapped, and every volume still handed over.
check_reload_refused_keeps() {	# check_reload_refused_keeps copy|alloc LOG-TEXT
	before=$(blob_addr)
	write "$DEBUG/fail_next_$1" 1
	check_fails "a reload that cannot allocate ($1) fails" "kexec_file_load failed" load_capture
	check_eq "after the $1 failure the loaded crash image stays" 1 \
		"$(cat /sys/kernel/kexec_crash_loaded)"
	check_eq "after the $1 failure the key blob stays where it was" "$before" "$(blob_addr)"
	check_blob_unmapped "after the $1 failure the key blob stays unmapped"
	check_handover "after the $1 failure every volume is still handed over" vda vdb vdc
	check "after the $1 failure the kernel log says why" sh -c "dmesg | grep -q '$2'"
}

check_key_error_told() {
	u=0c6e5e1a-8a3f-4d5e-9b2c-1f2e3d4c5b6a
	mkdir "$KEYS/$u"
	keyctl add logon crashkey-test:revoked secret @u > /dev/null
	write "$KEYS/$u/description" crashkey-test:revoked
	keyctl revoke "$(keyctl search @u logon crashkey-test:revoked)"
	dmesg -c > /dev/null
	check_fails "a revoked key fails the load with its own error" "Key has been revoked" load_capture
	check_absent "and no other error is made up" "suitable kernel location
no room for" dmesg
	rmdir "$KEYS/$u"
}

# Loading, reloading and unloading, with the keys only in the blob after the first load.
load_capture_kernel() {
	step "loading the capture kernel with kexec -s -p"
	check_eq "no key blob before any load" "pages=0 readable=0" "$(blob_state)"
	ids=$(logon_key_ids vda vdb)
	check "kexec -s -p" load_capture
	check_blob_unmapped "key blob pages not present after load"
	check_keys_revoked "the load revoked the logon keys it handed over" "$ids"
	check_handover "configfs handed_over: the 2 volumes loaded, digest of their UUIDs" vda vdb
	check_eq "each loaded volume's handed_over says yes" "yes yes" "$(handed_over vda) $(handed_over vdb)"
	first=$(blob_addr)
	check_key_error_told


	# One more volume after the load: the reload takes vda's and vdb's keys from the
	# previous blob, vdc's from the keyring.
	check "crashkey add <UUID of vdc> after the load" \
		crashkey add --key-file "$(passphrase_file vdc)" "$(uuid_of vdc)"
	check_eq "a volume registered after the load is not handed over" no "$(handed_over vdc)"
	ids=$(logon_key_ids vdc)
	check_reload_wipes "reload with one more volume"
	check_handover "configfs handed_over after the reload: 3 volumes" vda vdb vdc
	check_blob_unmapped "key blob pages not present after a reload"
	check_keys_revoked "the reload revoked the new volume's logon key" "$ids"
	second=$(blob_addr)

	write "$KEYS/reuse" 1
	check "reload with reuse=1" load_capture
	check_eq "reuse consumed by the load" 0 "$(cat "$KEYS/reuse")"
	# A volume registered again after the load: the hand-over's key is stale until the
	# next load (which the failed one below is not) takes the new one.
	check "crashkey add vda again after the load" \
		crashkey add --key-file "$(passphrase_file vda)" /dev/role/vda
	check_eq "its handed_over says stale" stale "$(handed_over vda)"
	check_fails "crashkey status --check fails and names the stale volume" "$(uuid_of vda)" \
		crashkey status --check

	# Test-only fault injection: the load fails after the blob segment was added. The
	# handed-over keys are not lost.
	write "$DEBUG/fail_next_load" 1
	check_fails "injected load failure reported" "kexec_file_load failed" load_capture
	check_blob_unmapped "a failed load keeps the handed-over keys, unmapped"
	check "load after a failed load" load_capture
	check_eq "that load took vda's new key: handed_over yes for all 3" "yes yes yes" \
		"$(handed_over vda) $(handed_over vdb) $(handed_over vdc)"
	third=$(blob_addr)
	if [ "$first" != "$second" ] || [ "$second" != "$third" ]; then
		pass "key blob placed at a new random address on reload"
	else
		fail "key blob placed at a new random address on reload" "3 loads at $first"
	fi

	# Fail closed: a load whose blob cannot be unmapped fails and wipes that blob; a
	# reload that cannot map the kept blob back fails and leaves the loaded image.
	write "$DEBUG/fail_next_unmap" 1
	check_fails "a load whose blob cannot be unmapped fails" "kexec_file_load failed" load_capture
	check_pages_wiped "the refused load's blob is wiped" "$(placed_addr)" "$(placed_size)"
	check_blob_unmapped "the handed-over keys survive a refused load, unmapped"
	check "load after a refused load" load_capture
	write "$DEBUG/fail_next_map" 1
	check_fails "a reload that cannot map the kept blob back fails" "kexec_file_load failed" load_capture
	check_eq "the loaded crash image stays" 1 "$(cat /sys/kernel/kexec_crash_loaded)"
	check_blob_unmapped "its key blob stays unmapped"
	check "kernel log says why" sh -c "dmesg | grep -q 'cannot map the key blob back'"
	check_reload_refused_keeps copy "no memory to copy the key blob"
	check_reload_refused_keeps alloc "no memory for the key blob"

	# A kdump service restart: unload, load. The keys wait, unmapped, in between.
	check "unload" kexec -s -p -u
	check_eq "no crash image after the unload" 0 "$(cat /sys/kernel/kexec_crash_loaded)"
	check_blob_unmapped "unload keeps the handed-over keys, unmapped"
	check_fails "the crash region cannot shrink under the waiting keys" \
		"Device or resource busy" write /sys/kernel/kexec_crash_size 0
	check "load after an unload (kdump service restart)" load_capture
	check "legacy kexec_load() unload (kexec -c -p -u)" kexec -c -p -u
	check_blob_unmapped "legacy unload keeps the keys too"

	# Removing every volume, then unloading, leaves nothing: the memory is zero.
	check "load before removing the volumes" load_capture
	check "crashkey remove all three" sh -c \
		"crashkey remove $(uuid_of vda) && crashkey remove $(uuid_of vdb) && crashkey remove $(uuid_of vdc)"
	check "unload with no volume registered" kexec -s -p -u
	check_eq "no key blob left" "pages=0 readable=0" "$(blob_state)"
	check_pages_wiped "its memory is zero" "$(placed_addr)" "$(placed_size)"
	check_handover "configfs handed_over: nothing after that unload"
	check_wipe_control
	check "crashkey add all three again" register_all_again

	check "load with the registered keys" load_capture
	if [ "$HIBERNATION" = yes ]; then
		check_fails "hibernation refused while keys are handed over" \
			"Device or resource busy" write /sys/power/state disk
	fi
	if [ "$CPUS" -gt 1 ]; then
		check "CPU 1 offline with keys loaded" write /sys/devices/system/cpu/cpu1/online 0
		check "CPU 1 online again" write /sys/devices/system/cpu/cpu1/online 1
	fi
	[ -z "$(stress_loads_asked)" ] || stress
	check "final load, every key from the previous blob" load_capture
	ready_to_crash
}

# The last checks before the crash, and what the capture kernel reads. 2 checks, 3 with
# the blob at an end of its window; three more with MEMORY_HOTADD.
ready_to_crash() {
	check "crashkey status --check: every registered key in the loaded crash kernel" \
		crashkey status --check
	[ -z "$MEMORY_HOTADD" ] || hot_add_memory
	check_blob_unmapped "key blob pages not present before the crash"
	check_boundary_placement
	# Test only: leave the address and its offset in the crash region for the
	# capture kernel, which checks that neither is visible to it.
	mount "$(mapping_of vda)" /mnt
	blob_addr > /mnt/blob.addr
	placement > /mnt/blob.placement
	[ ! -f /tmp/hotadd.range ] || cp /tmp/hotadd.range /mnt/hotadd.range
	# Not every arch lists the crash region in /proc/iomem (ppc64 does not).
	crash_start=$(sed -n 's/^ *\([0-9a-f]*\)-.* : Crash kernel$/\1/p' /proc/iomem)
	[ -z "$crash_start" ] || printf '%x\n' $(($(blob_addr) - 0x$crash_start)) > /mnt/blob.offset
	# The capture kernel checks this: a setup that died early also ends in kdump.
	: > /mnt/setup.complete
	umount /mnt
	step "key blob loaded, $(blob_state | cut -d' ' -f1), not present in the kernel's mapping"
}

# ---- stress: debug kernels (make check-debug: crashkey.stress=N) -----------

# N loads under churn, for a debug kernel's checkers (KASAN, kmemleak, lockdep) to
# watch: an unload after every other load; a fourth configfs item that comes and goes,
# with a new logon key each time, all through the loads; CPU 1 going offline and online
# beside every 5th load; every 10th load failed on purpose; every 7th a reuse reload.
# Then kmemleak scans.
stress_loads_asked() { sed -n 's/.*crashkey\.stress=\([0-9]*\).*/\1/p' /proc/cmdline; }

# An item made, described, described again with a longer description (after a load
# handed it over, a failed load or an unload writes it back under its blob's shorter
# one), and removed, over and over: each step may meet a load half-way.
churn_configfs() {	# churn_configfs STOP: until the file STOP exists
	churn=5ce55ce5-0000-4000-8000-00000000c0de
	long=crashkey-test:churn-described-again-with-a-longer-description
	while [ ! -e "$1" ]; do
		id=$(head -c 32 /dev/urandom | keyctl padd logon crashkey-test:churn @u 2> /dev/null)
		id2=$(head -c 32 /dev/urandom | keyctl padd logon "$long" @u 2> /dev/null)
		mkdir "$KEYS/$churn" 2> /dev/null
		echo crashkey-test:churn > "$KEYS/$churn/description" 2> /dev/null
		echo "$long" > "$KEYS/$churn/description" 2> /dev/null
		rmdir "$KEYS/$churn" 2> /dev/null
		# New keys each time: a load may have revoked the last ones.
		for k in $id $id2; do keyctl unlink "$k" @u > /dev/null 2>&1; done
	done
}

# Hibernation, tried over and over against the loads: refused while keys wait in the
# crash region or a load is under way, and a load refused while it runs. With PM_DEBUG's
# pm_test at "freezer" an attempt that gets through stops after freezing the tasks.
churn_hibernation() {	# churn_hibernation STOP
	write /sys/power/pm_test freezer || return
	while [ ! -e "$1" ]; do
		echo disk > /sys/power/state 2> /dev/null
		sleep 1
	done
	write /sys/power/pm_test none
}

stress_loads() {	# stress_loads N: fails if fewer than half of the loads succeeded
	stop=/tmp/churn.stop
	rm -f "$stop"
	churn_configfs "$stop" &
	churner=$!
	hibernator=
	if [ "$HIBERNATION" = yes ] && [ -e /sys/power/pm_test ]; then
		churn_hibernation "$stop" &
		hibernator=$!
	fi
	i=0 loaded=0
	while [ "$i" -lt "$1" ]; do
		i=$((i + 1))
		[ $((i % 10)) != 0 ] || write "$DEBUG/fail_next_load" 1
		[ $((i % 7)) != 0 ] || write "$KEYS/reuse" 1
		plug=
		if [ $((i % 5)) = 0 ] && [ "$CPUS" -gt 1 ]; then
			{ write /sys/devices/system/cpu/cpu1/online 0
			  write /sys/devices/system/cpu/cpu1/online 1; } &
			plug=$!
		fi
		! load_capture > /dev/null 2>&1 || loaded=$((loaded + 1))
		[ -z "$plug" ] || wait "$plug"
		[ $((i % 2)) != 0 ] || kexec -s -p -u > /dev/null 2>&1
		[ $((i % 10)) != 0 ] || step "stress: $i of $1 loads, $loaded succeeded"
	done
	touch "$stop"
	wait "$churner" $hibernator
	rmdir "$KEYS/$churn" 2> /dev/null
	write "$KEYS/reuse" 0
	echo "$loaded of $1 loads succeeded"
	[ "$loaded" -ge $(($1 / 2)) ]
}

# kmemleak reports an object only once it is older than 5 s and unreferenced in a scan.
kmemleak_clean() {
	report=/sys/kernel/debug/kmemleak
	[ -e "$report" ] || { echo "no $report (kernel without DEBUG_KMEMLEAK?)"; return 1; }
	sleep 6
	echo scan > "$report"
	leaks=$(cat "$report")
	[ -z "$leaks" ] || { echo "$leaks" | head -n 20; return 1; }
}

stress() {
	n=$(stress_loads_asked)
	step "stress: $n loads under churn"
	check "stress: half of the loads or more with configfs churn, CPU hot-plug, hibernation attempts, failed and reuse loads succeeded" \
		stress_loads "$n"
	check "kmemleak: no leak after the stress loads" kmemleak_clean
}

# Memory hot-add with the final crash image loaded: the kernel updates that image's
# list of memory (CRASH_HOTPLUG), which goes past the key blob's unmapped segment. The
# new blocks' physical range goes to /tmp/hotadd.range for the capture kernel's check
# that its vmcore holds them.
memory_blocks() {
	for b in /sys/devices/system/memory/memory[0-9]*; do echo "${b##*/}"; done
}

# The blocks that are in the list now but not in BEFORE, all online (x86 leaves
# hot-added memory offline; a real system's udev rule onlines it); their range is
# written to /tmp/hotadd.range.
new_memory_online() {	# new_memory_online BEFORE
	added=$(memory_blocks | grep -vxF "$1") || return 1
	size=$((0x$(cat /sys/devices/system/memory/block_size_bytes)))
	first='' last=''
	for b in $added; do
		state=/sys/devices/system/memory/$b/state
		[ "$(cat "$state")" = online ] || echo online > "$state" 2>/dev/null || return 1
		n=${b#memory}
		{ [ -n "$first" ] && [ "$n" -ge "$first" ]; } || first=$n
		{ [ -n "$last" ] && [ "$n" -le "$last" ]; } || last=$n
	done
	printf '%d %d\n' $((first * size)) $(((last + 1) * size)) > /tmp/hotadd.range
}

wait_for_memory() {	# wait_for_memory BEFORE
	i=0
	while ! new_memory_online "$1"; do
		i=$((i + 1))
		[ "$i" -lt 120 ] || { echo "no new online memory block after 120 s"; return 1; }
		sleep 1
	done
}

hot_add_memory() {
	before=$(memory_blocks)
	# The last check reads only this update's lines: the stress loads of make
	# check-debug race CPU hot-plug with loads on purpose, and the core then skips an
	# update it cannot lock, as mainline does ("crash hp: kexec_trylock() failed");
	# the next load rebuilds the list.
	dmesg -c > /dev/null
	step "asking the runner for $MEMORY_HOTADD more memory"
	request memory-hot-add
	check "memory hot-added (MEMORY_HOTADD) and online with keys loaded" wait_for_memory "$before"
	check_eq "the crash image stays loaded through the memory hot-add" 1 \
		"$(cat /sys/kernel/kexec_crash_loaded)"
	# Every error of the update, in the core and in the arches, is a "crash hp: " line.
	check "kernel log: the crash image's memory list updated without error" sh -c \
		"! dmesg | grep 'crash hp: '"
}

crash() {	# crash STAGE: end the stage with a kernel crash
	stage_done "$1"
	step "crashing the kernel with sysrq-c"
	sync
	drain_console
	echo c > /proc/sysrq-trigger
}

# The MMU the machine's facts name, as the kernel reports it: a ppc64le_hash machine whose
# kernel still ran radix would prove nothing about the hash MMU.
check_mmu() {
	[ -n "$MMU" ] || return 0
	check_eq "the kernel runs the machine's MMU" "$MMU" \
		"$(sed -n 's/^MMU[[:space:]]*: //p' /proc/cpuinfo)"
}

stage_setup() {
	case "$(placement)" in
	lowest|highest) setup_blob_at_window_end; return ;;
	esac
	begin setup
	check_mmu
	create_volumes
	check_configfs_validation
	register_keys
	keyctl add logon crashkey-test:control "$(control_key)" @u > /dev/null
	load_capture_kernel
	crash setup
}

# A crash with the blob on the lowest or highest page of its window (the arch's
# CRASH_PLACEMENTS): one load with all three keys, put there. Everything else the load
# paths do was checked in this arch's random cycle, with the same kernel; this boot runs
# with one CPU (ci-matrix/run.sh), for the same reason.
setup_blob_at_window_end() {
	begin setup
	create_volumes
	register_keys
	check "crashkey add vdc --key-file" \
		crashkey add --key-file "$(passphrase_file vdc)" /dev/role/vdc
	keyctl add logon crashkey-test:control "$(control_key)" @u > /dev/null
	case "$(placement)" in
	lowest) write "$DEBUG/place_next_load" 1 ;;
	highest) write "$DEBUG/place_next_load" 2 ;;
	esac
	check "load with the key blob on the $(placement) page" load_capture
	ready_to_crash
	crash setup
}

# ---- tamper: first kernel of the tamper cycle ----------------------------------

# One volume, its key loaded in a blob that changed after its digest was computed (test
# knob), then the crash: the capture kernel must refuse the blob.
stage_tamper() {
	begin tamper
	check "luksFormat vda" cryptsetup luksFormat --type luks2 --pbkdf pbkdf2 \
		--pbkdf-force-iterations 1000 --batch-mode --key-file "$(passphrase_file vda)" /dev/role/vda
	check "crashkey add vda" crashkey add --key-file "$(passphrase_file vda)" /dev/role/vda
	write "$DEBUG/corrupt_next_load" 1
	check "load a blob changed after its digest (test only)" load_capture
	check_blob_unmapped "tampered key blob pages not present before the crash"
	crash tamper
}

# The capture kernel of the tamper cycle: no key from a damaged blob, no volume opened,
# a clear message, and nothing left to retry with.
capture_tampered() {
	begin capture
	check_fails "restore refuses the tampered blob" "Bad message" write "$KEYS/restore" 1
	check "kernel log says why" sh -c "dmesg | grep -q 'key blob rejected: digest mismatch'"
	check_fails "the rejected blob is gone (no retry)" "No such file or directory" \
		write "$KEYS/restore" 1
	check_fails "crashkey unlock fails without keys" "no volume keys to unlock" crashkey unlock
	check_absent "no volume unlocked" "luks-" ls /dev/mapper
}

# ---- exits: a capture kernel that goes down with the hand-over not restored ---

# The exit cycles (ci-matrix/run.sh, exit_cycle): a throwaway key handed over, a crash.
stage_exits() {
	begin exits
	load_throwaway_key exit-wipe 00000000-0000-4000-8000-0000000e0017 \
		"that the capture kernel never restores"
	crash exits
}

# The capture kernel leaves without restoring (exitfailed: after a failed restore), by
# a reboot or a panic (exitpanic); the runner reads the hand-over's pages once QEMU
# stopped the guest. exitskip, the control, skips the kernel's wipe first.
capture_exit() {
	begin capture
	# shellcheck disable=SC2046 # address and size
	set -- $(sed -n 's/^addr=\(0x[0-9a-f]*\) size=\([0-9]*\)$/\1 \2/p' "$DEBUG/handover")
	if [ "${2:-0}" = 0 ]; then
		fail "a hand-over waits in the capture kernel" "$(cat "$DEBUG/handover")"
		return
	fi
	pass "a hand-over waits in the capture kernel"
	case "$(placement)" in
	exitfailed) check_failed_restore 0 ;;
	exitskip) write "$DEBUG/skip_next_wipe" 1 ;;
	esac
	echo "crashkey-request: read-after-exit $1 $2"
	stage_done capture
	sync
	drain_console
	if [ "$(placement)" = exitpanic ]; then
		echo c > /proc/sysrq-trigger
	else
		reboot -f
	fi
}

# ---- capture: kdump kernel -------------------------------------------------

# The capture kernel must not show where the blob was. /mnt/blob.addr (left by the
# setup stage, test only) says where that was.
check_handover_hidden_setup_data() {
	for d in /sys/kernel/boot_params/setup_data/*; do
		[ "$(cat "$d/type")" = 0x43524b59 ] || continue
		# A payload of no bytes would be "erased" without anything read.
		if [ -s "$d/data" ]; then
			check_eq "setup_data payload erased" "" "$(od -An -tx1 "$d/data" | tr -d ' 0\n')"
		else
			fail "setup_data payload erased" "the payload has no bytes to read"
		fi
		check_blob_not_ram
		return
	done
	fail "setup_data payload erased" "no setup_data node of type 0x43524b59"
}

check_blob_not_ram() {
	addr=$(cat /mnt/blob.addr)
	sed -n 's/^ *\([0-9a-f]*\)-\([0-9a-f]*\) : System RAM$/\1 \2/p' /proc/iomem > /tmp/ram
	if [ ! -s /tmp/ram ]; then
		fail "key blob range is not RAM in the capture kernel" "no System RAM in /proc/iomem"
		return
	fi
	while read -r start end; do
		if [ $((addr)) -ge $((0x$start)) ] && [ $((addr)) -le $((0x$end)) ]; then
			fail "key blob range is not RAM in the capture kernel" "$addr in $start-$end"
			return
		fi
	done < /tmp/ram
	pass "key blob range is not RAM in the capture kernel"
}

# s390x: the location came in the parmarea, which the decompressor cleared;
# nothing of it may reach the command line (as the upstream RFC did).
check_handover_hidden_parmarea() {
	if grep -qi -e dmcryptkeys -e "$(cat /mnt/blob.offset)" /proc/cmdline; then
		fail "no key blob location on the command line" "$(cat /proc/cmdline)"
	else
		pass "no key blob location on the command line"
	fi
	[ "$(cat /mnt/blob.placement)" = lowest ] || return 0
	# The decompressed kernel went over where the blob lay: it must have been moved.
	kernel_end=$(sed -n 's/^ *[0-9a-f]*-\([0-9a-f]*\) : Kernel bss$/\1/p' /proc/iomem)
	if [ $((0x$(cat /mnt/blob.offset))) -lt $((0x${kernel_end:-0})) ]; then
		pass "blob lay under the kdump kernel's image (so the decompressor moved it)"
	else
		fail "blob lay under the kdump kernel's image (so the decompressor moved it)" \
			"offset $(cat /mnt/blob.offset), image ends at ${kernel_end:-?}"
	fi
}

check_handover_hidden_devicetree() {
	check "no linux,crash-key-handover in /proc/device-tree (its /chosen present)" \
		test -d /proc/device-tree/chosen -a ! -e /proc/device-tree/chosen/linux,crash-key-handover
	check "raw FDT still published (CRC refreshed)" test -s /sys/firmware/fdt
	hex=$(printf '%016x' $(($(cat /mnt/blob.addr))))
	if od -An -tx1 -v /sys/firmware/fdt | tr -d ' \n' | grep -q "$hex"; then
		fail "blob address absent from /sys/firmware/fdt" "found $hex"
	else
		pass "blob address absent from /sys/firmware/fdt"
	fi
}

# A volume's key from its LUKS header and passphrase, in hex: the needle of the scans.
volume_key_hex() {
	cryptsetup luksDump --dump-volume-key --batch-mode \
		--key-file "$(passphrase_file "$1")" "/dev/role/$1" |
		sed -n '/^MK dump:/,$p' | sed 's/^MK dump://' | tr -d ' \t\n'
}

# The crashed kernel's memory, searched for the key of vdc (registered, never open while
# its key was handed over) in every form a kernel keeps a key in (keyscan --forms: whole,
# by halves, by halves swapped word by word): it may be only in the blob, which the
# vmcore leaves out. Two controls show that the scan finds what is there: the control key,
# left in a keyring, and the key of vda, open when the kernel crashed, whose two halves
# its XTS cipher keeps apart, each in the form the arch's AES code keeps it.
check_vmcore_scan() {
	held=$(volume_key_hex vdc)
	open=$(volume_key_hex vda)
	if [ ${#held} != 128 ] || [ ${#open} != 128 ]; then
		fail "vmcore holds no copy of a handed-over key, whole or in part" "no 64-byte key of vdc or vda"
		fail "vmcore scan finds the control key left in a keyring" "not run"
		fail "control: the vmcore scan finds the halves of open vda's key" "not run"
		return
	fi
	# Five lines per key, "COUNT OFFSET" (or "-"): the control key's, vdc's, vda's.
	printf '%s\n%s\n%s\n' "$(control_key | od -An -v -tx1 | tr -d ' \n')" "$held" "$open" |
		keyscan --where --forms /proc/vmcore > /tmp/vmcore.scan
	check_eq "vmcore scan finds the control key left in a keyring" yes \
		"$([ "$(form_count 1)" -gt 0 ] && echo yes)"
	copies=$(awk 'NR >= 6 && NR <= 10 && $1 > 0 { print }' /tmp/vmcore.scan | head -n 1)
	if [ "$(sed -n 6,10p /tmp/vmcore.scan | cut -d' ' -f1 | tr '\n' ' ')" = "0 0 0 0 0 " ]; then
		pass "vmcore holds no copy of a handed-over key, whole or in part"
	else
		fail "vmcore holds no copy of a handed-over key, whole or in part" \
			"forms whole, halves, swapped halves: $(sed -n 6,10p /tmp/vmcore.scan | cut -d' ' -f1 | tr '\n' ' ')the first at physical address $(elfcheck --paddr /proc/vmcore "${copies#* }" 2>&1)$(where_blob_was)"
	fi
	found="whole $(form_count 11), halves $(form_count 12)/$(form_count 13), swapped $(form_count 14)/$(form_count 15)"
	step "vda's key in the vmcore: $found"
	if half_apart 12 14 && half_apart 13 15; then
		pass "control: the vmcore scan finds the halves of open vda's key"
	else
		fail "control: the vmcore scan finds the halves of open vda's key" "$found"
	fi
}

form_count() { sed -n "${1}p" /tmp/vmcore.scan | cut -d' ' -f1; }

# half_apart LINE SWAPPED-LINE: vda's half is in the vmcore apart from its whole key
# (more copies than of the whole key, line 11), or swapped word by word.
half_apart() { [ "$(form_count "$1")" -gt "$(form_count 11)" ] || [ "$(form_count "$2")" -gt 0 ]; }

# Where the crashed kernel had the blob and its crash region, to read a failure by.
where_blob_was() {
	printf '; the blob was at %s, offset 0x%s in the crash region' \
		"$(cat /mnt/blob.addr 2>/dev/null)" "$(cat /mnt/blob.offset 2>/dev/null)"
}

# Before the restore, the key of vdc (registered, closed) must be in the guest's RAM
# exactly once, in the blob, and no half of it anywhere else: the runner stops the VM,
# dumps all of its RAM (the crashed kernel's and this one's) and looks for the key there,
# in every form a kernel keeps one (ci-matrix/guest-requests.py). A second copy would be
# one the purgatory's swap or the kdump decompressor's move left (s390x), or one the
# crashed kernel kept. Where the blob is now, this kernel's test probe says (on s390x
# not where the first kernel put it). The control: the key of vda, open when the kernel
# crashed, must be found by the same scan, its halves apart as its cipher keeps them.
# Nothing here holds either key.
check_key_once_in_ram() {
	step "asking the runner to look for vdc's and vda's keys in all of the guest's RAM"
	request "memory-scan $(sed -n 's/^addr=\(0x[0-9a-f]*\) size=\([0-9]*\)$/\1 \2/p' "$DEBUG/handover") vdc:$(hex_of "$(passphrase_file vdc)") vda:$(hex_of "$(passphrase_file vda)")"
	check_answer memory-scan-held 900 \
		"before the restore, vdc's key is once in the guest's RAM: in the blob" "vdc's key"
	check_answer memory-scan-control 60 \
		"control: the same scan finds the halves of open vda's key in the guest's RAM" "vda's key"
}

# check_answer WORD TIMEOUT NAME WHAT: the runner's answer "WORD ok|fail|error WHY" as
# the check NAME; a pass shows its WHY as "WHAT: WHY" in the progress lines.
check_answer() {
	# shellcheck disable=SC2046 # "WORD ok|fail|error WHY"
	set -- "$3" "$4" $(await_answer "$1" "$2")
	_name=$1 _what=$2
	shift 3
	if [ "$1" = ok ]; then
		shift
		pass "$_name"
		step "$_what: $*"
	else
		fail "$_name" "$*"
	fi
}

# Written with O_DIRECT, as makedumpfile's small buffers keep a real capture kernel's
# page cache small: a buffered copy left up to the whole dump dirty in a 160 MiB kernel,
# to be written back through dm-crypt at umount (an s390x capture kernel once stalled
# there, RCU stall after 400 s, in kdmflush). The vmcore's size is a multiple of a page.
save_vmcore() {
	grep -q ' /mnt ' /proc/mounts || return 1
	dd if=/proc/vmcore of=/mnt/vmcore bs=1M iflag=fullblock oflag=direct conv=fsync \
		status=none || return 1
	stat -c %s /proc/vmcore > /mnt/vmcore.size
}

check_handover_hidden() {
	if command -v "check_handover_hidden_$HANDOVER" > /dev/null; then
		"check_handover_hidden_$HANDOVER"
	else
		fail "capture kernel hides the key blob's location" "no check for HANDOVER='$HANDOVER'"
	fi
	check_eq "/proc/iomem names the hand-over as docs/design.md says" \
		"$HANDOVER_IOMEM" "$(iomem_name_at "$(cat /mnt/blob.addr)")"
}

# The innermost /proc/iomem entry over ADDR, by name; "-" where none is.
iomem_name_at() {	# iomem_name_at ADDR
	name=-
	while IFS= read -r line; do
		range=$(echo "${line%% : *}" | tr -d ' ')
		if [ $(($1)) -ge $((0x${range%-*})) ] && [ $(($1)) -le $((0x${range#*-})) ]; then
			name=${line#* : }
		fi
	done < /proc/iomem
	echo "$name"
}

# A restore that cannot add every key (here: root's key quota, lowered on purpose to
# ROOM more keys, 2 by default, one fewer than the three volumes) fails, leaves no key
# behind and keeps the blob, so that the unlock that follows still works.
check_failed_restore() {	# check_failed_restore [ROOM]
	quota=/proc/sys/kernel/keys/root_maxkeys
	saved=$(cat "$quota")
	used=$(awk '$1 == "0:" { split($4, n, "/"); print n[1] }' /proc/key-users)
	write "$quota" $((${used:-0} + ${1:-2}))
	check_fails "restore over the key quota fails" "Disk quota exceeded" write "$KEYS/restore" 1
	write "$quota" "$saved"
	check_absent "a failed restore leaves no user key" "user: " keyctl show @u
}

# Restore written again by four writers at once: each refused, none takes the blob twice
# (mainline's restore leaked on repeated writes; the debug kernels' checkers watch this).
restores_refused_at_once() {
	for i in 1 2 3 4; do
		{ write "$KEYS/restore" 1 2> "/tmp/restore.$i" && echo accepted > "/tmp/restore.$i"; } &
	done
	wait
	! grep -L "No such file or directory" /tmp/restore.1 /tmp/restore.2 /tmp/restore.3 \
		/tmp/restore.4 | grep -q .
}

stage_capture() {
	case "$(placement)" in
	tampered) capture_tampered; return ;;
	exit*) capture_exit; return ;;
	esac
	begin capture
	check_mmu
	check_key_once_in_ram
	check "configfs offers only restore" test -e "$KEYS/restore" -a ! -e "$KEYS/count"
	check_failed_restore
	step "capture kernel up: crashkey unlock, no passphrase"
	if out=$(crashkey unlock 2>&1); then
		pass "crashkey unlock"
	else
		fail "crashkey unlock" "$(echo "$out" | tail -n 2 | tr '\n' ' ')"
	fi
	echo "$out"
	step "capture kernel: $(echo "$out" | tail -n 1) without a passphrase"
	for v in $VOLUMES; do
		check "$v unlocked by the capture kernel" test -b "$(mapping_of "$v")"
	done
	check_absent "no user key left behind" "user: " keyctl show @u
	check_fails "second restore refused" "No such file or directory" write "$KEYS/restore" 1
	check "restore written four times at once after it: each refused" restores_refused_at_once
	check "kernel log: restored 3 keys" sh -c "dmesg | grep -q 'crash_dm_crypt: restored 3 keys'"
	check "mount the dump volume" mount "$(mapping_of vda)" /mnt
	check "the setup stage ran to its crash" test -e /mnt/setup.complete
	check_handover_hidden
	step "saving /proc/vmcore ($(stat -c %s /proc/vmcore) bytes) onto vda"
	if [ -n "$MEMORY_HOTADD" ]; then
		# shellcheck disable=SC2046 # the range is two numbers
		check "the vmcore holds the memory hot-added after the load" \
			elfcheck --covers /proc/vmcore $(cat /mnt/hotadd.range 2>/dev/null || echo none)
	fi
	check "vmcore copied onto the encrypted volume" save_vmcore
	check_vmcore_scan
	umount /mnt
	close_volumes
}

# ---- verify: fresh boot with passphrases ------------------------------------

stage_verify() {
	begin verify
	step "fresh boot: opening the volumes with their passphrases"
	open_with_passphrases
	mount "$(mapping_of vda)" /mnt
	check "saved vmcore is a complete ELF core" elfcheck /mnt/vmcore "$(cat /mnt/vmcore.size)"
	step "saved vmcore checked: $(elfcheck /mnt/vmcore "$(cat /mnt/vmcore.size)" | tail -n 1)"
	for v in vdb vdc; do
		check_eq "canary data on $v intact" "$(sed -n "s/^$v //p" /mnt/canary.sha256)" \
			"$(canary_hash "$v")"
	done
	umount /mnt
	if [ "$(placement)" = random ]; then
		kexec_into_next_kernel
		return
	fi
	close_volumes
}

# ---- kexecskip, kexeced: the kernels that kexec -e started -------------------

# The verify boot leaves by kexec -e, as a reboot into the next kernel does, three times
# over, each next kernel reading the previous blob's pages through /dev/mem:
# - with a throwaway key's blob whose wipe is skipped, into a kernel told to keep its
#   crash region as it finds it (crash_dm_crypt.keep_crash_region): the control, which
#   must see the bytes;
# - from that kernel with the three volumes' keys, into one that keeps its region too:
#   the old kernel's own wipe must have zeroed them;
# - from that one with a throwaway key's blob whose wipe is skipped again, into a kernel
#   that wipes its crash region at boot, as every kernel does: zero again.
# Every blob starts on the lowest page of the window. The kernels in between load a
# crash kernel themselves, but boot from the same initramfs as the last one (the capture
# one, without /boot): a bigger one moves where the kernel reserves its crash region
# (s390x: 8 MiB more moved it 8 MiB down), and the last kernel would use the old blob's
# page as its own RAM before the check reads it. They take /boot from the dump volume.
# A throwaway key, its blob on the lowest page of the window.
load_throwaway_key() {	# load_throwaway_key NAME UUID WHAT
	item=$KEYS/$2
	keyctl add logon "crashkey-test:$1" "crashkey $1 on $(uname -m)" @u > /dev/null
	mkdir "$item" && write "$item/description" "crashkey-test:$1"
	write "$DEBUG/place_next_load" 1
	check "load a throwaway key ($3)" load_capture
}

kexec_into_next_kernel() {
	load_throwaway_key kexec-control 00000000-0000-4000-8000-00000000c0de \
		"for the control of kexec -e's wipe"
	check "/boot copied onto the dump volume for the next kernel" copy_boot_to_vda
	close_volumes
	leave_by_kexec verify kexecskip "skip-wipe keep-region"
}

copy_boot_to_vda() {
	mount "$(mapping_of vda)" /mnt || return
	mkdir -p /mnt/boot && cp /boot/kernel /boot/capture.cpio.xz /mnt/boot/
	set -- $?
	umount /mnt
	return "$1"
}

copy_boot_from_vda() {
	cryptsetup open --key-file "$(passphrase_file vda)" /dev/role/vda "luks-$(uuid_of vda)" &&
		mount "$(mapping_of vda)" /mnt || return
	mkdir -p /boot && cp /mnt/boot/kernel /mnt/boot/capture.cpio.xz /boot/
	set -- $?
	umount /mnt
	cryptsetup close "luks-$(uuid_of vda)"
	return "$1"
}

# leave_by_kexec STAGE NEXT-STAGE ["skip-wipe keep-region"]: skip-wipe skips this
# kernel's wipe of its blob, keep-region the next kernel's wipe of its crash region.
leave_by_kexec() {
	keep=
	case " ${3:-} " in *" keep-region "*) keep=crash_dm_crypt.keep_crash_region=1 ;; esac
	check "kexec -s -l the next kernel" kexec -s -l /boot/kernel --initrd=/boot/capture.cpio.xz \
		--append="console=$CONSOLE crashkernel=$CRASHKERNEL panic=-1 kunit.enable=0 crashkey.stage=$2 crashkey.blob=$(placed_addr),$(placed_size) $KERNEL_CMDLINE $keep"
	case " ${3:-} " in *" skip-wipe "*) write "$DEBUG/skip_next_wipe" 1 ;; esac
	stage_done "$1"
	step "leaving with kexec -e"
	sync
	drain_console
	kexec -e
	fail "kexec -e" "returned"
}

# Where the kernel before this one had its blob: "ADDR SIZE".
blob_before() { sed -n 's/.*crashkey\.blob=\(0x[0-9a-f]*\),\([0-9]*\).*/\1 \2/p' /proc/cmdline; }

stage_kexecskip() {
	begin kexecskip
	# shellcheck disable=SC2046 # address and size
	check_unwiped_blob_seen "control: kexec -e with the wipe skipped left the blob, and it is seen" \
		$(blob_before)
	zero_leftover
	check "/boot copied from the dump volume" copy_boot_from_vda
	check "crashkey add all three" register_all_again
	write "$DEBUG/place_next_load" 1
	check "load keys with the capture kernel" load_capture
	check_blob_unmapped "key blob pages not present before kexec -e"
	leave_by_kexec kexecskip kexeced keep-region
}

stage_kexeced() {
	begin kexeced
	# shellcheck disable=SC2046 # address and size
	check_pages_wiped "kexec -e wiped the key blob before leaving the kernel" $(blob_before)
	check "/boot copied from the dump volume" copy_boot_from_vda
	load_throwaway_key boot-wipe 00000000-0000-4000-8000-0000000b0075 \
		"for the next kernel's wipe of its crash region"
	leave_by_kexec kexeced bootwiped skip-wipe
}

# The kernel that booted over a blob nobody wiped: its own boot wiped its crash region.
stage_bootwiped() {
	begin bootwiped
	# shellcheck disable=SC2046 # address and size
	check_pages_wiped "the next kernel wiped its crash region at boot, the old blob with it" \
		$(blob_before)
	check "its kernel log says how long the wipe took" \
		sh -c "dmesg | grep -q 'crash_dm_crypt: crash region wiped: [0-9]* MiB in [0-9]* us'"
	race_reboot_with_load
}

# The boot ends in a reboot (init's) right after a load with a key starts: meant to race
# the reboot notifier against kexec_file_load, though no run yet showed the load inside
# the kernel before the reboot (docs/design.md). What would show trouble is the runner's:
# QEMU's exit, the kernel log, and on the debug kernels their checkers.
race_reboot_with_load() {
	race=5ce55ce5-0000-4000-8000-00000000ace5
	keyctl add logon crashkey-test:race "crashkey race on $(uname -m)" @u > /dev/null
	check "a key registered for a load that races the reboot" \
		sh -c "mkdir $KEYS/$race && echo crashkey-test:race > $KEYS/$race/description"
	load_capture > /dev/null 2>&1 &
}
