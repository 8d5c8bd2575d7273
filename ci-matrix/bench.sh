# shellcheck shell=bash
# make bench, sourced by ci-matrix/run.sh for "-s bench". Per arch:
# - the smallest crashkernel= (in MiB) with which the capture kernel saves a complete
#   dump onto its dump volume, reached three ways (ci-matrix/scenarios/bench.sh):
#   crashkey's hand-over, the passphrase (LUKS2 with cryptsetup's defaults: Argon2id,
#   1 GiB), and an unencrypted disk; and the time each took to open the volume;
# - scale: a crash per count of synthetic keys (BENCH_SCALE_KEYS), with the blob's bytes,
#   the load's and the restore's time, and one with BENCH_VOLUMES real LUKS2 volumes,
#   all unlocked by crashkey unlock.
#
# Every run writes its own artifacts into BENCH_OUT (docs/bench/runs/<start time>/ of
# the checkout): per arch, <arch>.tsv with a line per boot, per way's verdict and per
# scale crash, and <arch>/<boot>.log.xz, each boot's console as QEMU wrote it. Each
# line is "KIND<TAB>field=value<TAB>...", and every line carries the run's facts
# (bench_facts). ci-matrix/bench-report.py makes every table from those files alone.
#
# A size's outcome is one of: ok (the guest saved a dump and the host read back a
# complete ELF core from the volume), short (the capture kernel, or a program in it,
# ran out of memory: BENCH_MEMORY_SIGNS), broken (anything else, with its reason). Only
# ok and short move the search; a broken boot is tried again, and a second one ends the
# way's search with that reason. The search (bench_search) finds the boundary, then sees
# both its ends again: a size that gave both outcomes is flaky, and the boundary widens
# past it.
#
#   BENCH_RESOLUTION=1   MiB; a coarser one makes fewer boots
#   BENCH_WAYS=...       some of "crashkey passphrase plain"
#   BENCH_FROM=, BENCH_TO= MiB: where every way's search starts, (FROM, TO], instead of
#                        the arch's BENCH_WINDOW / BENCH_WINDOW_PASSPHRASE
#   BENCH_SCALE_KEYS="1 64 1024", BENCH_VOLUMES=64
#                        (any of the three empty: that part is not run)

BENCH_WAYS=${BENCH_WAYS-crashkey passphrase plain}
BENCH_RESOLUTION=${BENCH_RESOLUTION:-1}
BENCH_SCALE_KEYS=${BENCH_SCALE_KEYS-1 64 1024}
BENCH_VOLUMES=${BENCH_VOLUMES-64}
# One name for every arch of this run: the report pairs open times within a run.
BENCH_RUN=${BENCH_RUN:-$(date -u +%Y-%m-%dT%H%M%SZ)}
BENCH_OUT=${BENCH_OUT:-$CRASHKEY_TOP/docs/bench/runs/$BENCH_RUN}
# What a capture kernel short of memory prints, as grep -E: the kernel's OOM paths,
# cryptsetup refusing Argon2's memory, the initramfs not fitting, a load that does not
# fit the reservation (the guest's own words, ci-matrix/scenarios/bench.sh).
BENCH_MEMORY_SIGNS='Out of memory|invoked oom-killer|System is deadlocked on memory'
BENCH_MEMORY_SIGNS+='|requires more than available memory|Cannot allocate memory'
BENCH_MEMORY_SIGNS+='|Initramfs unpacking failed: write error'
BENCH_MEMORY_SIGNS+='|did not load into crashkernel=[1-9][0-9]*M'

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

# What the guest wrote onto disk0 for WAY, as a file: the flattened dump turned back into
# ELF. An encrypted volume is read with its volume key, checked against the header's
# digest first (ci-matrix/luks-read.py: this host's kernel has no device-mapper).
bench_read_dump() {	# bench_read_dump WAY OUT
	rm -f "$2"
	if [ "$1" = plain ]; then
		makedumpfile -R "$2" < "$WORK/disk0.img" > /dev/null 2>&1
	else
		"$CRASHKEY_TOP/ci-matrix/luks-read.py" "$WORK/disk0.img" "$WORK/bench/volume.key" |
			makedumpfile -R "$2" > /dev/null 2>&1
	fi
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

# ---- the artifacts --------------------------------------------------------

# The version of one of the guest's Debian packages (apt's file names escape the
# epoch's colon).
guest_package_version() {	# guest_package_version PACKAGE
	local deb
	deb=$(grep -m1 "^$1_" "$CRASHKEY_CACHE/unpacked/$DEB_ARCH/.debs") || { echo -; return; }
	deb=${deb#*_}
	deb=${deb%_*}
	echo "${deb//%3a/:}"
}

# The release of the kernel image at PATH, from the build directory it lies in (x86's
# and s390x's images are in arch/*/boot/, ppc64le's vmlinux at the top).
kernel_release() {	# kernel_release PATH
	local dir=${1%/*}
	while [ "$dir" != / ] && [ -n "$dir" ] && [ ! -f "$dir/include/config/kernel.release" ]; do
		dir=${dir%/*}
	done
	cat "$dir/include/config/kernel.release" 2>/dev/null || echo -
}

# The facts every line of this arch carries: the run, the code, and what ran it.
bench_facts() {
	local commit dirty=no qemu_version
	commit=$(git -C "$CRASHKEY_TOP" rev-parse --short=12 HEAD 2>/dev/null) || commit=-
	[ -z "$(git -C "$CRASHKEY_TOP" status --porcelain --untracked-files=no 2>/dev/null)" ] ||
		dirty=yes
	qemu_version=$("$QEMU" --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')
	BENCH_FACTS=$(printf '%s\t' "run=$BENCH_RUN" "arch=$ARCH_NAME" "commit=$commit" \
		"dirty=$dirty" "kernel=$(kernel_release "$KERNEL")" \
		"cryptsetup=$(guest_package_version cryptsetup-bin)" \
		"makedumpfile=$(guest_package_version makedumpfile)" "qemu=${qemu_version:--}" \
		"host_cpus=$(nproc)" "boot_slots=$BOOT_SLOTS")
	BENCH_FACTS=${BENCH_FACTS%$'\t'}
}

# One line of <arch>.tsv. A value never holds a tab or a line break.
bench_record() {	# bench_record KIND FIELD=VALUE...
	local kind=$1 field line
	shift
	line="$kind"$'\t'"$BENCH_FACTS"
	for field; do
		field=${field//[$'\t\r\n']/ }
		line+=$'\t'${field:-}
	done
	echo "$line" >> "$BENCH_OUT/$ARCH_NAME.tsv"
}

# The boot's console, as it was, next to the lines that name it.
bench_keep_log() {	# bench_keep_log LOG NAME: the artifact's path in BENCH_OUT
	mkdir -p "$BENCH_OUT/$ARCH_NAME"
	xz -9 -c "$1" > "$BENCH_OUT/$ARCH_NAME/$2.log.xz"
	echo "$ARCH_NAME/$2.log.xz"
}

# ---- one crash ----------------------------------------------------------

# One crash with crashkernel=SIZE and the guest's ARGS (crashkey.bench=...). BENCH_LINE
# keeps the guest's last verdict ("ok ...", "fail ..."), BENCH_LOADED the first kernel's
# "loaded ..." line of the scale modes, BENCH_STATUS QEMU's exit status, BENCH_LOG the
# console's artifact.
bench_crash() {	# bench_crash NAME SIZE ARGS
	local log=$WORK/bench/$1.log
	BENCH_STATUS=0
	# nokaslr: where KASLR put the first kernel decided whether a large reservation fit.
	CRASHKERNEL=$2 EXTRA_CMDLINE="nokaslr printk.time=1 $3" \
		boot "$log" "$BENCH_TIMEOUT" setup || BENCH_STATUS=$?
	BENCH_LINE=$(tr -d '\r' < "$log" | sed -n 's/^crashkey-bench: //p' | tail -n 1)
	BENCH_LOADED=$(tr -d '\r' < "$log" | sed -n 's/^crashkey-bench: loaded //p' | tail -n 1)
	[[ $BENCH_LINE != loaded* ]] || BENCH_LINE=
	BENCH_LOG=$(bench_keep_log "$log" "$1")
}

bench_field() {	# bench_field NAME LINE: the number after NAME= in LINE, or -
	local value
	value=$(sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" <<<"$2")
	echo "${value:--}"
}

# What the console says of a crash that saved no dump: BENCH_OUTCOME short or broken,
# BENCH_REASON the memory sign, the guest's verdict, the kernel's panic or QEMU's end.
bench_failure() {	# bench_failure LOG
	local sign panic
	sign=$({ tr -d '\r' < "$1"; echo "$BENCH_LINE"; } |
		grep -m1 -o -E "$BENCH_MEMORY_SIGNS" || true)
	panic=$(tr -d '\r' < "$1" | grep -o 'Kernel panic - not syncing: .*' | tail -n 1 || true)
	[ "$panic" != "Kernel panic - not syncing: sysrq triggered crash" ] || panic=
	if [ -n "$sign" ]; then
		BENCH_OUTCOME=short BENCH_REASON="$sign${BENCH_LINE:+; $BENCH_LINE}"
	elif [ "$BENCH_STATUS" = 124 ]; then
		BENCH_OUTCOME=broken BENCH_REASON="timed out after ${BENCH_TIMEOUT}s"
	else
		BENCH_OUTCOME=broken
		BENCH_REASON=${BENCH_LINE:-${panic:-no verdict (QEMU status $BENCH_STATUS)}}
	fi
}

# One crash of the search with crashkernel=MIB M, its outcome (BENCH_OUTCOME, with
# BENCH_REASON) and its line in the artifacts.
bench_trial() {	# bench_trial WAY MIB
	local way=$1 mib=$2 t0
	BENCH_BOOTS=$((BENCH_BOOTS + 1))
	t0=$(now)
	bench_crash "$way-${mib}M-$BENCH_BOOTS" "${mib}M" "crashkey.bench=$way"
	if [[ $BENCH_LINE != ok* ]]; then
		bench_failure "$WORK/bench/$way-${mib}M-$BENCH_BOOTS.log"
	elif ! bench_read_dump "$way" "$WORK/bench/dump.elf" ||
		! elf_core_complete "$WORK/bench/dump.elf"; then
		BENCH_OUTCOME=broken
		BENCH_REASON="the guest said ok, the volume holds no complete ELF core"
	else
		BENCH_OUTCOME=ok BENCH_REASON=
	fi
	rm -f "$WORK/bench/dump.elf"
	say "bench $way crashkernel=${mib}M: $BENCH_OUTCOME${BENCH_REASON:+ ($BENCH_REASON)}"
	bench_record boot "way=$way" "mib=$mib" "outcome=$BENCH_OUTCOME" \
		"reason=${BENCH_REASON:--}" "qemu_status=$BENCH_STATUS" \
		"seconds=$(($(now) - t0))" "open_ms=$(bench_field open_ms "$BENCH_LINE")" \
		"dump_bytes=$(bench_field dump_bytes "$BENCH_LINE")" "log=$BENCH_LOG"
	[ "$BENCH_OUTCOME" != ok ] || BENCH_OK_LINE[mib]=$BENCH_LINE
}

# ---- the search -----------------------------------------------------------

# A size's outcome, ok or short, added to BENCH_SEEN[MIB]. A broken boot is tried once
# more; a second one fails (BENCH_REASON says why).
bench_try() {	# bench_try WAY MIB
	local _
	for _ in 1 2; do
		bench_trial "$1" "$2"
		if [ "$BENCH_OUTCOME" != broken ]; then
			BENCH_SEEN[$2]+=" $BENCH_OUTCOME"
			return 0
		fi
	done
	BENCH_REASON="crashkernel=$2M, twice: $BENCH_REASON"
	return 1
}

bench_seen() {	# bench_seen WAY MIB: MIB tried until it gave two outcomes
	local -a seen
	while read -ra seen <<<"${BENCH_SEEN[$2]:-}" && [ "${#seen[@]}" -lt 2 ]; do
		bench_try "$1" "$2" || return 1
	done
}

bench_kind() {	# bench_kind MIB: ok, short, or flaky (both)
	case "${BENCH_SEEN[$1]:-}" in
	*ok*short* | *short*ok*) echo flaky ;;
	*ok*) echo ok ;;
	*) echo short ;;
	esac
}

# Narrows the caller's (lo, hi] to BENCH_RESOLUTION.
bench_bisect() {	# bench_bisect WAY
	local mid
	while [ $((hi - lo)) -gt "$BENCH_RESOLUTION" ]; do
		mid=$(((lo + hi) / 2))
		bench_try "$1" "$mid" || return 1
		if [ "$BENCH_OUTCOME" = ok ]; then hi=$mid; else lo=$mid; fi
	done
}

# The smallest crashkernel= (MiB) up to BENCH_HIGH that saves a dump, to
# BENCH_RESOLUTION, starting in (LO, HI]:
# 1. HI must save a dump; if it does not, the window moves up by its width, doubling.
# 2. Bisection. Then the lower end must fail twice (LO itself is tried only now): if it
#    only saved dumps, the window moves down and bisects again; if it did both, it is
#    flaky and the end moves down a step, doubling.
# 3. The upper end must save a dump twice; if not, it is flaky and the end moves up a
#    step, doubling.
# Sets BENCH_FAILED (the largest size that only failed), BENCH_FOUND (the smallest that
# only saved dumps above it), BENCH_FLAKY (the sizes between them that did not keep to
# the boundary, comma-separated, or -); 1 with BENCH_REASON if there is no boundary.
bench_search() {	# bench_search WAY LO HI
	local way=$1 lo=$2 hi=$3 width=$(($3 - $2)) step=$BENCH_RESOLUTION flaky=
	while bench_try "$way" "$hi" || return 1; [ "$BENCH_OUTCOME" = short ]; do
		if [ "$hi" -ge "$BENCH_HIGH" ]; then
			BENCH_REASON="no dump saved with crashkernel=${hi}M"
			return 1
		fi
		lo=$hi hi=$((hi + width > BENCH_HIGH ? BENCH_HIGH : hi + width)) width=$((width * 2))
	done
	bench_bisect "$way" || return 1
	while :; do
		if [ "$lo" -lt 1 ]; then
			BENCH_REASON="no size below ${hi}M failed every time"
			return 1
		fi
		bench_seen "$way" "$lo" || return 1
		case $(bench_kind "$lo") in
		short) break ;;
		flaky) flaky+=" $lo" lo=$((lo - step)) step=$((step * 2)) ;;
		ok)
			hi=$lo lo=$((lo - width)) width=$((width * 2))
			[ "$lo" -lt 1 ] || bench_bisect "$way" || return 1 ;;
		esac
	done
	step=$BENCH_RESOLUTION
	while bench_seen "$way" "$hi" || return 1; [ "$(bench_kind "$hi")" != ok ]; do
		flaky+=" $hi"
		if [ "$hi" -ge "$BENCH_HIGH" ]; then
			BENCH_REASON="crashkernel=${hi}M did not save a dump every time"
			return 1
		fi
		hi=$((hi + step > BENCH_HIGH ? BENCH_HIGH : hi + step)) step=$((step * 2))
	done
	BENCH_FAILED=$lo BENCH_FOUND=$hi
	BENCH_FLAKY=$(tr ' ' '\n' <<<"$flaky" | sed '/^$/d' | sort -nu | paste -sd, -)
	BENCH_FLAKY=${BENCH_FLAKY:--}
}

# Each way's search in a guest of BENCH_MEMORY (the arch's facts), from the arch's
# window (BENCH_WINDOW; the passphrase's BENCH_WINDOW_PASSPHRASE) or BENCH_FROM/TO.
bench_ways() {
	local way window line BENCH_BOOTS
	local -a BENCH_SEEN BENCH_OK_LINE
	# shellcheck disable=SC2034 # read by boot (ci-matrix/run.sh)
	local MEMORY=${BENCH_MEMORY:-}
	if [ -n "$BENCH_WAYS" ] && [ -z "$MEMORY" ]; then
		result fail "bench: this arch's facts give BENCH_MEMORY, BENCH_WINDOW, BENCH_HIGH"
		return
	fi
	for way in $BENCH_WAYS; do
		window=$BENCH_WINDOW
		[ "$way" != passphrase ] || window=$BENCH_WINDOW_PASSPHRASE
		[ -z "${BENCH_FROM:-}${BENCH_TO:-}" ] ||
			window="${BENCH_FROM:-${window% *}} ${BENCH_TO:-${window#* }}"
		BENCH_BOOTS=0 BENCH_SEEN=() BENCH_OK_LINE=()
		say "bench: $way, crashkernel= from (${window% *}M, ${window#* }M]"
		if ! bench_disks "$way"; then
			result fail "bench: the $way dump volume was made"
			continue
		fi
		# shellcheck disable=SC2086 # two numbers
		if ! bench_search "$way" $window; then
			result fail "bench: $way: a boundary of crashkernel=" "$BENCH_REASON"
			bench_record way "way=$way" "verdict=none" "reason=$BENCH_REASON" \
				"boots=$BENCH_BOOTS"
			continue
		fi
		line=${BENCH_OK_LINE[$BENCH_FOUND]}
		result ok "bench: $way: a boundary of crashkernel=" \
			"($BENCH_FAILED, $BENCH_FOUND] MiB, flaky: $BENCH_FLAKY"
		bench_record way "way=$way" "verdict=found" "failed_mib=$BENCH_FAILED" \
			"mib=$BENCH_FOUND" "flaky=$BENCH_FLAKY" "boots=$BENCH_BOOTS" \
			"open_ms=$(bench_field open_ms "$line")" \
			"dump_bytes=$(bench_field dump_bytes "$line")"
	done
}

# One scale crash in the arch's usual guest (RAM, crashkernel=): N keys or volumes.
bench_scale_crash() {	# bench_scale_crash MODE N
	local mode=$1 n=$2 field t0
	local -a fields=()
	case $mode in
	volumes) bench_volume_disks "$n" ;;
	*) bench_disks "$mode" ;;
	esac || { result fail "bench: the disks for $n $mode were made"; return; }
	t0=$(now)
	bench_crash "$mode-$n" "$CRASHKERNEL" "crashkey.bench=$mode crashkey.bench_count=$n"
	if [[ $BENCH_LINE != ok* ]]; then
		bench_failure "$WORK/bench/$mode-$n.log"
		result fail "bench: $n $mode handed over and restored" "$BENCH_REASON"
		bench_record scale "mode=$mode" "n=$n" "outcome=$BENCH_OUTCOME" \
			"reason=$BENCH_REASON" "seconds=$(($(now) - t0))" "log=$BENCH_LOG"
		return
	fi
	for field in blob_bytes load_us keys_us restore_us unlock_us unlock_kib; do
		fields+=("$field=$(bench_field "$field" "$BENCH_LOADED $BENCH_LINE")")
	done
	result ok "bench: $n $mode handed over and restored" "$BENCH_LOADED $BENCH_LINE"
	bench_record scale "mode=$mode" "n=$n" "outcome=ok" "${fields[@]}" \
		"seconds=$(($(now) - t0))" "log=$BENCH_LOG"
}

# boot_arch for -s bench.
bench_arch() {
	local n
	# For boot: one CPU (not the random placement), no KUnit (not the first crash), no
	# DIMM to plug.
	# shellcheck disable=SC2034 # read by boot (ci-matrix/run.sh)
	local PLACEMENT=bench T_CRASH=bench MEMORY_HOTADD="" RESULT_GROUP=bench
	# The arch's facts may give none: registering 1024 keys takes minutes under TCG.
	local BENCH_TIMEOUT=${BENCH_TIMEOUT:-1800}
	mkdir -p "$BENCH_OUT"
	bench_facts
	bench_secrets
	bench_ways
	for n in $BENCH_SCALE_KEYS; do
		bench_scale_crash keys "$n"
	done
	[ -z "$BENCH_VOLUMES" ] || bench_scale_crash volumes "$BENCH_VOLUMES"
}
