# shellcheck shell=bash
# make bench, sourced by ci-matrix/run.sh for "-s bench": per arch, the smallest
# crashkernel= (in MiB, by bisection) with which the capture kernel saves a complete dump
# onto its dump volume, reached three ways (ci-matrix/scenarios/bench.sh): crashkey's
# hand-over, the passphrase (LUKS2 with cryptsetup's defaults: Argon2id, 1 GiB), and an
# unencrypted disk; and the time each took to open the volume. One line per way in
# $BENCH_OUT/<arch>.tsv: "way MiB open_ms dump_bytes trials"; ci-matrix/bench-report.py
# makes the tables.
#
#   BENCH_RESOLUTION=1   MiB; a coarser one makes fewer boots (8: about 3 fewer per way)
#   BENCH_WAYS=...       some of "crashkey passphrase plain" (the passphrase's search
#                        starts at the hand-over's result if that ran first)

BENCH_WAYS=${BENCH_WAYS:-crashkey passphrase plain}
BENCH_RESOLUTION=${BENCH_RESOLUTION:-1}
BENCH_OUT=${BENCH_OUT:-$CRASHKEY_CACHE/bench}

# The volume's passphrase, volume key (hex) and LUKS UUID, made once per run.
bench_secrets() {
	local dir=$WORK/bench
	mkdir -p "$dir"
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/passphrase"
	head -c 64 /dev/urandom > "$dir/volume.key"
}

# disk0: the dump volume for WAY; disk1: the secrets a real server would have (the
# passphrase in sector 0, the volume key in hex in sector 1); disk2: unused.
bench_disks() {	# bench_disks WAY
	local dir=$WORK/bench
	rm -f "$WORK"/disk*.img "$WORK/mailbox.img"
	truncate -s "$DUMP_DISK_SIZE" "$WORK/disk0.img"
	if [ "$1" != plain ]; then
		# What cryptsetup's defaults give a server: Argon2id at its 1 GiB maximum and
		# at least 4 iterations, 4 lanes (capped at this host's CPUs). Its benchmark
		# would lower the memory on a host busy with builds: the cost is forced.
		cryptsetup luksFormat -q --type luks2 --pbkdf argon2id --pbkdf-memory 1048576 \
			--pbkdf-force-iterations 4 --pbkdf-parallel 4 \
			--key-file "$dir/passphrase" --volume-key-file "$dir/volume.key" \
			"$WORK/disk0.img" || return
	fi
	truncate -s 1M "$WORK/disk1.img" "$WORK/disk2.img" "$WORK/mailbox.img"
	dd if="$dir/passphrase" of="$WORK/disk1.img" conv=notrunc status=none &&
		od -An -v -tx1 "$dir/volume.key" | tr -d ' \n' |
		dd of="$WORK/disk1.img" bs=512 seek=1 conv=notrunc status=none
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

# One crash with crashkernel=MIB M: 0 if the guest saved a dump and it is complete.
# BENCH_LINE keeps the guest's "ok ..." line.
bench_trial() {	# bench_trial WAY MIB
	local way=$1 mib=$2 log=$WORK/bench/$1-$2.log status=0
	BENCH_TRIALS=$((BENCH_TRIALS + 1))
	# nokaslr: where KASLR put the first kernel decided whether a large reservation fit.
	CRASHKERNEL=${mib}M EXTRA_CMDLINE="nokaslr crashkey.bench=$way" \
		boot "$log" "$BENCH_TIMEOUT" setup || status=$?
	BENCH_LINE=$(tr -d '\r' < "$log" | sed -n 's/^crashkey-bench: //p' | tail -n 1)
	if [[ $BENCH_LINE != ok* ]]; then
		say "bench $way crashkernel=${mib}M: ${BENCH_LINE:-no result (QEMU status $status)}"
		return 1
	fi
	if [ "$way" = plain ] && { ! bench_read_dump "$WORK/bench/dump.elf" ||
		! elf_core_complete "$WORK/bench/dump.elf"; }; then
		say "bench $way crashkernel=${mib}M: the guest said ok, the dump is not complete"
		return 1
	fi
	say "bench $way crashkernel=${mib}M: ok ($BENCH_LINE)"
}

# The smallest MiB in (LO, HI] that saves a dump, to BENCH_RESOLUTION; HI must. Sets
# BENCH_FOUND to "MIB open_ms dump_bytes" of the smallest that did (empty: HI did not).
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
	BENCH_FOUND="$hi $(sed -n 's/.*open_ms=\([0-9]*\).*/\1/p' <<<"$best")"
	BENCH_FOUND+=" $(sed -n 's/.*dump_bytes=\([0-9]*\).*/\1/p' <<<"$best")"
}

# boot_arch for -s bench: each way's bisection over (BENCH_LOW, BENCH_HIGH] MiB in a
# guest of BENCH_MEMORY (the arch's facts); the passphrase's from the hand-over's
# result up, since it needs at least that.
bench_arch() {
	local way low tsv=$BENCH_OUT/$ARCH_NAME.tsv
	# For boot: one CPU (not the random placement), no KUnit (not the first crash), the
	# bench's RAM.
	# shellcheck disable=SC2034 # read by boot (ci-matrix/run.sh)
	local PLACEMENT=bench T_CRASH=bench MEMORY=${BENCH_MEMORY:-} MEMORY_HOTADD=
	if [ -z "$MEMORY" ]; then
		result fail "bench: this arch's facts give BENCH_MEMORY, BENCH_LOW, BENCH_HIGH"
		return
	fi
	mkdir -p "$BENCH_OUT"
	printf 'resolution\t%s\n' "$BENCH_RESOLUTION" > "$tsv"
	bench_secrets
	for way in $BENCH_WAYS; do
		low=$BENCH_LOW
		[ "$way" != passphrase ] || low=$(awk '$1 == "crashkey" { print $2 }' "$tsv")
		low=${low:-$BENCH_LOW}
		BENCH_TRIALS=0
		say "bench: $way, crashkernel= in (${low}M, ${BENCH_HIGH}M]"
		if ! bench_disks "$way"; then
			result fail "bench: the $way dump volume was made"
			continue
		fi
		bench_smallest "$way" "$low" "$BENCH_HIGH"
		if [ -z "$BENCH_FOUND" ]; then
			result fail "bench: $way: a dump saved with crashkernel=${BENCH_HIGH}M"
			continue
		fi
		result ok "bench: $way: smallest crashkernel= ${BENCH_FOUND%% *} MiB"
		printf '%s\t%s\t%s\n' "$way" "${BENCH_FOUND// /$'\t'}" "$BENCH_TRIALS" >> "$tsv"
	done
}
