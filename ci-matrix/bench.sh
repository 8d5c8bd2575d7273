# shellcheck shell=bash
# make bench, sourced by ci-matrix/run.sh for "-s bench". Per arch:
# - the smallest crashkernel= (in MiB, by bisection) with which the capture kernel saves
#   a complete dump onto its dump volume, reached three ways (ci-matrix/scenarios/
#   bench.sh): crashkey's hand-over, the passphrase (LUKS2 with cryptsetup's defaults:
#   Argon2id, 1 GiB), and an unencrypted disk; and the time each took to open the volume;
# - scale: a crash per count of synthetic keys (BENCH_SCALE_KEYS), with the blob's bytes,
#   the load's and the restore's time, and one with BENCH_VOLUMES real LUKS2 volumes,
#   all unlocked by crashkey unlock.
# Lines appended to $BENCH_OUT/<arch>.tsv:
#   way FAILED MIB open_ms dump_bytes trials RUN
#   scale MODE N blob_bytes load_us keys_us restore_us unlock_us unlock_kib RUN
# MIB is the smallest size that saved a dump; FAILED the largest below it that did not,
# or the search's lower end, taken to fail; RUN names the run (commit@time); - where a
# figure is none. ci-matrix/bench-report.py makes the tables: a later line of a way or
# scale count replaces an earlier one, so that a run with BENCH_FROM and BENCH_TO into
# the same BENCH_OUT refines what an earlier one found. make bench starts from empty
# files unless it is given BENCH_FROM or BENCH_TO.
#
#   BENCH_RESOLUTION=1   MiB; a coarser one makes fewer boots (8: about 3 fewer per way)
#   BENCH_WAYS=...       some of "crashkey passphrase plain" (the passphrase's search
#                        starts at the hand-over's result in BENCH_OUT, if one is)
#   BENCH_FROM=, BENCH_TO= MiB: search (FROM, TO] instead of the arch's (BENCH_LOW,
#                        BENCH_HIGH], to refine an earlier coarse run (TO is tried first
#                        and must save a dump; FROM is taken to fail, as BENCH_LOW is)
#   BENCH_SCALE_KEYS="1 64 1024", BENCH_VOLUMES=64
#                        (any of the three empty: that part is not run)

BENCH_WAYS=${BENCH_WAYS-crashkey passphrase plain}
BENCH_RESOLUTION=${BENCH_RESOLUTION:-1}
BENCH_OUT=${BENCH_OUT:-$CRASHKEY_CACHE/bench}
BENCH_SCALE_KEYS=${BENCH_SCALE_KEYS-1 64 1024}
BENCH_VOLUMES=${BENCH_VOLUMES-64}
# One name for every arch of this run: the report compares open times within a run.
BENCH_RUN=$(git -C "$CRASHKEY_TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
BENCH_RUN+=@$(date -u +%FT%TZ)

# The volume's passphrase, volume key (hex) and LUKS UUID, made once per run.
bench_secrets() {
	local dir=$WORK/bench
	mkdir -p "$dir"
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/passphrase"
	head -c 64 /dev/urandom > "$dir/volume.key"
}

# The secrets a real server would have: the passphrase in sector 0 of disk1, the volume
# key in hex in sector 1. Blank disks for the rest of the guest's four.
bench_secrets_disk() {
	local dir=$WORK/bench
	truncate -s 1M "$WORK/disk1.img" "$WORK/disk2.img" "$WORK/mailbox.img"
	dd if="$dir/passphrase" of="$WORK/disk1.img" conv=notrunc status=none &&
		od -An -v -tx1 "$dir/volume.key" | tr -d ' \n' |
		dd of="$WORK/disk1.img" bs=512 seek=1 conv=notrunc status=none
}

# disk0: the dump volume for WAY (for the scale modes, a blank disk).
bench_disks() {	# bench_disks WAY
	local dir=$WORK/bench
	rm -f "$WORK"/disk*.img "$WORK/mailbox.img"
	truncate -s "$DUMP_DISK_SIZE" "$WORK/disk0.img"
	if [ "$1" = crashkey ] || [ "$1" = passphrase ]; then
		# What cryptsetup's defaults give a server: Argon2id at its 1 GiB maximum and
		# at least 4 iterations, 4 lanes (capped at this host's CPUs). Its benchmark
		# would lower the memory on a host busy with builds: the cost is forced.
		cryptsetup luksFormat -q --type luks2 --pbkdf argon2id --pbkdf-memory 1048576 \
			--pbkdf-force-iterations 4 --pbkdf-parallel 4 \
			--key-file "$dir/passphrase" --volume-key-file "$dir/volume.key" \
			"$WORK/disk0.img" || return
	fi
	bench_secrets_disk
}

# The volumes mode's N LUKS2 volumes: 2 MiB GPT partitions, half on disk0 (vda), half on
# disk2 (vdc), all with the passphrase of disk1. PBKDF2 at 1000 iterations and small
# headers (16 KiB of metadata, 512 KiB of key slots): what is measured is the capture
# kernel's unlock, which derives no key; 64 Argon2 registrations would take an hour of TCG.
bench_volume_disks() {	# bench_volume_disks N
	local dir=$WORK/bench disk count start
	bench_disks volumes || return
	for disk in 0 2; do
		count=$(($1 / 2 + (disk == 0 ? $1 % 2 : 0)))
		rm -f "$WORK/disk$disk.img"
		truncate -s $((2 * count + 2))M "$WORK/disk$disk.img"
		{ echo 'label: gpt'; for ((i = 0; i < count; i++)); do echo 'size=2MiB'; done; } |
			sfdisk -q "$WORK/disk$disk.img" || return
		for start in $(sfdisk -d "$WORK/disk$disk.img" |
			sed -n 's/.* start= *\([0-9]*\),.*/\1/p'); do
			rm -f "$dir/volume.img"
			truncate -s 2M "$dir/volume.img"
			if ! cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 \
				--pbkdf-force-iterations 1000 --luks2-metadata-size 16k \
				--luks2-keyslots-size 512k --key-file "$dir/passphrase" \
				"$dir/volume.img" > "$dir/format.log" 2>&1; then
				cat "$dir/format.log" >&2
				return 1
			fi
			dd if="$dir/volume.img" of="$WORK/disk$disk.img" bs=512 seek="$start" \
				conv=notrunc status=none
		done
	done
	rm -f "$dir/volume.img"
}

# What the guest wrote onto the unencrypted disk0, as a file: the flattened dump turned
# back into ELF. (The encrypted ways are read back in the guest: this host has no
# device-mapper.)
bench_read_dump() {	# bench_read_dump OUT
	rm -f "$1"
	makedumpfile -R "$1" < "$WORK/disk0.img" > /dev/null 2>&1
}

# A complete ELF core dump: type CORE, every PT_LOAD's bytes inside the file. (Not
# tests/helpers/elfcheck: it takes only its own machine's cores and a known size, and
# makedumpfile -d 31 leaves out pages, so the size is not /proc/vmcore's.)
elf_core_complete() {	# elf_core_complete FILE
	local size type off filesz end=0
	size=$(stat -c %s "$1") || return
	readelf -hW "$1" 2>/dev/null | grep -q 'Type: *CORE' || return
	while read -r type off _ _ filesz _; do
		[ "$type" = LOAD ] || continue
		[ $((off + filesz)) -le "$end" ] || end=$((off + filesz))
	done < <(readelf -lW "$1")
	[ "$end" -gt 0 ] && [ "$end" -le "$size" ]
}

# One crash with crashkernel=SIZE and the guest's ARGS (crashkey.bench=...): 0 if the
# capture kernel's verdict is ok. BENCH_LINE keeps it ("ok ..."), BENCH_LOADED the first
# kernel's "loaded ..." line of the scale modes.
bench_crash() {	# bench_crash NAME SIZE ARGS
	local log=$WORK/bench/$1.log status=0
	# nokaslr: where KASLR put the first kernel decided whether a large reservation fit.
	CRASHKERNEL=$2 EXTRA_CMDLINE="nokaslr printk.time=1 $3" \
		boot "$log" "$BENCH_TIMEOUT" setup || status=$?
	BENCH_LINE=$(tr -d '\r' < "$log" | sed -n 's/^crashkey-bench: //p' | tail -n 1)
	BENCH_LOADED=$(tr -d '\r' < "$log" | sed -n 's/^crashkey-bench: loaded //p' | tail -n 1)
	[[ $BENCH_LINE != ok* ]] || return 0
	[[ $BENCH_LINE != loaded* ]] || BENCH_LINE="no verdict from the capture kernel"
	say "bench $3 crashkernel=$2: ${BENCH_LINE:-no result (QEMU status $status)}"
	return 1
}

bench_field() {	# bench_field NAME LINE: the number after NAME= in LINE, or -
	local value
	value=$(sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" <<<"$2")
	echo "${value:--}"
}

# One crash of the bisection with crashkernel=MIB M: 0 if the guest saved a dump and it
# is complete.
bench_trial() {	# bench_trial WAY MIB
	local way=$1 mib=$2
	BENCH_TRIALS=$((BENCH_TRIALS + 1))
	bench_crash "$way-$mib" "${mib}M" "crashkey.bench=$way" || return
	if [ "$way" = plain ] && { ! bench_read_dump "$WORK/bench/dump.elf" ||
		! elf_core_complete "$WORK/bench/dump.elf"; }; then
		say "bench $way crashkernel=${mib}M: the guest said ok, the dump is not complete"
		return 1
	fi
	say "bench $way crashkernel=${mib}M: ok ($BENCH_LINE)"
}

# The smallest MiB in (LO, HI] that saves a dump, to BENCH_RESOLUTION; HI must. Sets
# BENCH_FOUND to "FAILED MIB open_ms dump_bytes": the largest MiB that failed (or LO),
# the smallest that did not and its figures (empty: HI did not).
bench_smallest() {	# bench_smallest WAY LO HI
	local way=$1 lo=$2 hi=$3 mid best
	BENCH_FOUND=
	bench_trial "$way" "$hi" || return 0
	best=$BENCH_LINE
	while [ $((hi - lo)) -gt "$BENCH_RESOLUTION" ]; do
		mid=$(((lo + hi) / 2))
		if bench_trial "$way" "$mid"; then
			hi=$mid best=$BENCH_LINE
		else
			lo=$mid
		fi
	done
	BENCH_FOUND="$lo $hi $(bench_field open_ms "$best") $(bench_field dump_bytes "$best")"
}

# Each way's bisection over (BENCH_LOW, BENCH_HIGH] MiB in a guest of BENCH_MEMORY (the
# arch's facts); the passphrase's from the hand-over's result up, since it needs at least
# that.
bench_ways() {	# bench_ways TSV
	local way low failed mib tsv=$1
	# shellcheck disable=SC2034 # read by boot (ci-matrix/run.sh)
	local MEMORY=${BENCH_MEMORY:-}
	if [ -n "$BENCH_WAYS" ] && [ -z "$MEMORY" ]; then
		result fail "bench: this arch's facts give BENCH_MEMORY, BENCH_LOW, BENCH_HIGH"
		return
	fi
	local from=${BENCH_FROM:-$BENCH_LOW} high=${BENCH_TO:-$BENCH_HIGH}
	for way in $BENCH_WAYS; do
		low=
		[ "$way" != passphrase ] || [ ! -f "$tsv" ] ||
			low=$(awk '$1 == "crashkey" { mib = $3 } END { print mib }' "$tsv")
		[ "${low:-0}" -gt "$from" ] && [ "$low" -lt "$high" ] || low=$from
		BENCH_TRIALS=0
		say "bench: $way, crashkernel= in (${low}M, ${high}M]"
		if ! bench_disks "$way"; then
			result fail "bench: the $way dump volume was made"
			continue
		fi
		bench_smallest "$way" "$low" "$high"
		if [ -z "$BENCH_FOUND" ]; then
			result fail "bench: $way: a dump saved with crashkernel=${high}M"
			continue
		fi
		read -r failed mib _ <<<"$BENCH_FOUND"
		result ok "bench: $way: smallest crashkernel= $mib MiB (to $((mib - failed)) MiB)"
		printf '%s\t%s\t%s\t%s\n' "$way" "${BENCH_FOUND// /$'\t'}" "$BENCH_TRIALS" \
			"$BENCH_RUN" >> "$tsv"
	done
}

# One scale crash in the arch's usual guest (RAM, crashkernel=): N keys or volumes.
bench_scale_crash() {	# bench_scale_crash TSV MODE N
	local tsv=$1 mode=$2 n=$3 line field
	case $mode in
	volumes) bench_volume_disks "$n" ;;
	*) bench_disks "$mode" ;;
	esac || { result fail "bench: the disks for $n $mode were made"; return; }
	if ! bench_crash "$mode-$n" "$CRASHKERNEL" "crashkey.bench=$mode crashkey.bench_count=$n"
	then
		result fail "bench: $n $mode handed over and restored"
		return
	fi
	line="scale $mode $n"
	for field in blob_bytes load_us keys_us restore_us unlock_us unlock_kib; do
		line+=" $(bench_field "$field" "$BENCH_LOADED $BENCH_LINE")"
	done
	result ok "bench: $n $mode handed over and restored ($BENCH_LOADED $BENCH_LINE)"
	echo "${line// /$'\t'}"$'\t'"$BENCH_RUN" >> "$tsv"
}

# boot_arch for -s bench.
bench_arch() {
	local n tsv=$BENCH_OUT/$ARCH_NAME.tsv
	# For boot: one CPU (not the random placement), no KUnit (not the first crash), no
	# DIMM to plug.
	# shellcheck disable=SC2034 # read by boot (ci-matrix/run.sh)
	local PLACEMENT=bench T_CRASH=bench MEMORY_HOTADD="" RESULT_GROUP=bench
	# The arch's facts may give none: registering 1024 keys takes minutes under TCG.
	local BENCH_TIMEOUT=${BENCH_TIMEOUT:-1800}
	mkdir -p "$BENCH_OUT"
	bench_secrets
	bench_ways "$tsv"
	for n in $BENCH_SCALE_KEYS; do
		bench_scale_crash "$tsv" keys "$n"
	done
	[ -z "$BENCH_VOLUMES" ] || bench_scale_crash "$tsv" volumes "$BENCH_VOLUMES"
}
