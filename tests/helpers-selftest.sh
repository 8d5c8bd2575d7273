#!/usr/bin/env bash
# The matrix's guest helpers, tested on the host: keyscan (how often a key occurs in a
# file, and where) and elfcheck (is a vmcore complete, does it hold a physical range,
# which physical address a file offset holds). A synthetic ELF64 core of this machine
# is written with two PT_LOAD segments and a key planted at known places, one of them
# across the scanner's 1 MiB read boundary. Each verdict must be able to go both ways,
# so every check has a case that must fail. Prints TAP.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/tap.sh
. "$TOP/tests/tap.sh"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

for helper in elfcheck keyscan; do
	if ! out=$(cc -O2 -Wall -Wextra -Werror -o "$SCRATCH/$helper" \
		"$TOP/tests/helpers/$helper.c" 2>&1); then
		tap 1 "$helper builds" "$out"
		tap_done
	fi
done
tap 0 "elfcheck and keyscan build with -Wall -Wextra -Werror"

KEY=$(od -An -v -tx1 -N64 /dev/urandom | tr -d ' \n')
OTHER=$(od -An -v -tx1 -N32 /dev/urandom | tr -d ' \n')
# Segment 1: paddr 0x100000, 2 MiB at file offset 0x1000; segment 2: paddr 0x800000,
# 64 KiB right after it. The key sits at file offsets 0x1010 and 1 MiB - 20 (across the
# scanner's first read boundary) in segment 1, and at 0x200 into segment 2.
python3 - "$SCRATCH/core" "$KEY" <<'PY'
import struct, sys
path, key = sys.argv[1], bytes.fromhex(sys.argv[2])
machine = {'x86_64': 62, 'aarch64': 183, 'ppc64le': 21, 's390x': 22}[
    __import__('platform').machine()]
order = '>' if sys.byteorder == 'big' else '<'
segs = [(0x1000, 0x100000, 2 << 20), (0x1000 + (2 << 20), 0x800000, 64 << 10)]
ehdr = struct.pack(order + '16sHHIQQQIHHHHHH',
                   b'\x7fELF\x02' + (b'\x02' if order == '>' else b'\x01') + b'\x01' + bytes(9),
                   4, machine, 1, 0, 64, 0, 0, 64, 56, len(segs), 0, 0, 0)
phdrs = b''.join(struct.pack(order + 'IIQQQQQQ', 1, 7, off, pa, pa, size, size, 4096)
                 for off, pa, size in segs)
data = bytearray(segs[-1][0] + segs[-1][2])
data[:len(ehdr + phdrs)] = ehdr + phdrs
for at in (0x1010, (1 << 20) - 20, segs[1][0] + 0x200):
    data[at:at + len(key)] = key
open(path, 'wb').write(data)
PY
CORE=$SCRATCH/core
SIZE=$(stat -c %s "$CORE")

out=$(printf '%s\n%s\n' "$KEY" "$OTHER" | "$SCRATCH/keyscan" "$CORE" 2>&1)
tap "$([ "$out" = "3
0" ]; echo $?)" "keyscan counts 3 copies (one across a read boundary), 0 of an absent key" "$out"
out=$(printf '%s\n%s\n' "$OTHER" "$KEY" | "$SCRATCH/keyscan" --where "$CORE" 2>&1)
tap "$([ "$out" = "0 -
3 0x1010" ]; echo $?)" "keyscan --where gives the first copy's file offset" "$out"
printf '%s' "$KEY" | sed 's/../& /g' > "$SCRATCH/spaced"
out=$("$SCRATCH/keyscan" "$CORE" < "$SCRATCH/spaced" 2>&1)
tap "$([ "$out" = 3 ]; echo $?)" "keyscan reads keys in cryptsetup's spaced hex" "$out"
# --forms: a file with KEY's first half alone, and its second half swapped word by word
# (as a big-endian arch's AES key schedule holds it): whole 0, half 1 once, half 2 0,
# swapped half 1 0, swapped half 2 once; a key that is no whole words, its whole form only.
{ head -c 100 /dev/zero; printf '%s' "${KEY:0:64}" | xxd -r -p; head -c 100 /dev/zero
  printf '%s' "${KEY:64}" | sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/g' | xxd -r -p; } > "$SCRATCH/forms"
out=$(printf '%s\n%s\n' "$KEY" abcdef | "$SCRATCH/keyscan" --forms "$SCRATCH/forms" 2>&1 | tr '\n' ' ')
tap "$([ "$out" = "0 1 0 0 1 0 " ]; echo $?)" "keyscan --forms counts a key whole, by halves and by word-swapped halves" "$out"
out=$(printf '%s\n' "$KEY" | "$SCRATCH/keyscan" --where --forms "$CORE" 2>&1 | tr '\n' ' ')
tap "$([ "$out" = "3 0x1010 3 0x1010 3 0x1030 0 - 0 - " ]; echo $?)" "keyscan --where --forms: each form's first copy" "$out"
echo "${KEY}zz" > "$SCRATCH/bad"
"$SCRATCH/keyscan" "$CORE" < "$SCRATCH/bad" > /dev/null 2>&1
tap "$([ $? = 2 ]; echo $?)" "keyscan refuses a key that is not hex"
echo "$KEY" | "$SCRATCH/keyscan" "$SCRATCH/missing" > /dev/null 2>&1
tap "$([ $? = 1 ]; echo $?)" "keyscan fails on a file it cannot read"

# The runner's RAM scan (ci-matrix/guest-requests.py scan-memory), its verdicts on cores
# with the keys planted: the held key once in the blob passes, and each way of being
# elsewhere fails; the control passes only with each half found apart from the whole.
# Its forms are keyscan --forms's: both count the same in the same core.
out=$(python3 - "$TOP/ci-matrix/guest-requests.py" "$SCRATCH" "$SCRATCH/keyscan" <<'PY' 2>&1
import importlib.util, os, struct, subprocess, sys
spec = importlib.util.spec_from_file_location("requests", sys.argv[1])
gr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gr)
key, other = os.urandom(64), os.urandom(64)
forms = gr.key_forms(key)
BLOB, SIZE = 0x10000, 8192

def core(plants):
    """An ELF64 core of one PT_LOAD at paddr 0 (64 KiB after the headers), planted."""
    data = bytearray(0x1000 + (256 << 10))
    data[:64] = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + bytes(9),
                            4, 62, 1, 0, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    data[64:120] = struct.pack("<IIQQQQQQ", 1, 7, 0x1000, 0, 0, 256 << 10, 256 << 10, 0)
    for paddr, b in plants:
        data[0x1000 + paddr:0x1000 + paddr + len(b)] = b
    path = os.path.join(sys.argv[2], "scan.core")
    open(path, "wb").write(data)
    return path

def held(plants):
    return gr.held_verdict(gr.find_forms(core(plants), key), 32, BLOB, SIZE).split()[0]

def control(plants):
    return gr.control_verdict(gr.find_forms(core(plants), key), 32).split()[0]

in_blob = (BLOB + 100, key)
cases = [
    ("held: once in the blob", held([in_blob]), "ok"),
    ("held: not at all", held([]), "fail"),
    ("held: twice", held([in_blob, (0x100, key)]), "fail"),
    ("held: once, outside the blob", held([(0x100, key)]), "fail"),
    ("held: and half 2 elsewhere", held([in_blob, (0x100, forms["half 2"])]), "fail"),
    ("held: and half 1 swapped elsewhere", held([in_blob, (0x100, forms["half 1 swapped"])]), "fail"),
    ("control: whole key only", control([(0x100, key)]), "fail"),
    ("control: halves verbatim apart", control([(0x100, key), (0x200, forms["half 1"]),
                                                (0x300, forms["half 2"])]), "ok"),
    ("control: halves swapped", control([(0x200, forms["half 1 swapped"]),
                                         (0x300, forms["half 2 swapped"])]), "ok"),
    ("control: half 2 missing", control([(0x100, key), (0x200, forms["half 1"])]), "fail"),
]
bad = ["%s: %s, want %s" % c for c in cases if c[1] != c[2]]
path = core([in_blob, (0x200, forms["half 1 swapped"]), (0x300, forms["half 2"]),
             (0x400, other)])
py = [len(v) for v in gr.find_forms(path, key).values()]
c = subprocess.run([sys.argv[3], "--forms", path], input=key.hex() + "\n", text=True,
                   capture_output=True).stdout.split()
if [int(n) for n in c] != py:
    bad.append("keyscan --forms counts %s, the runner's scan %s" % (c, py))
print("\n".join(bad) or "all %d verdicts right, counts agree" % len(cases))
sys.exit(1 if bad else 0)
PY
)
tap $? "the runner's RAM scan: the held key once in the blob passes, elsewhere or in part fails; the control needs both halves" "$out"

out=$("$SCRATCH/elfcheck" --paddr "$CORE" 0x1010 2>&1)
tap "$([ "$out" = 0x100010 ]; echo $?)" "elfcheck --paddr maps an offset in the first segment" "$out"
out=$("$SCRATCH/elfcheck" --paddr "$CORE" $((0x1000 + (2 << 20) + 0x200)) 2>&1)
tap "$([ "$out" = 0x800200 ]; echo $?)" "elfcheck --paddr maps an offset in the second segment" "$out"
"$SCRATCH/elfcheck" --paddr "$CORE" 0x10 > /dev/null 2>&1
tap "$([ $? = 1 ]; echo $?)" "elfcheck --paddr fails for an offset in the headers"

"$SCRATCH/elfcheck" --covers "$CORE" 0x100000 0x300000 > /dev/null 2>&1
tap $? "elfcheck --covers: a range inside a segment is held"
"$SCRATCH/elfcheck" --covers "$CORE" 0x2ff000 0x801000 > /dev/null 2>&1
tap "$([ $? = 1 ]; echo $?)" "elfcheck --covers: a range across the gap between segments is not"

"$SCRATCH/elfcheck" "$CORE" "$SIZE" > /dev/null 2>&1
tap $? "elfcheck: the complete core passes"
head -c $((SIZE - 4096)) "$CORE" > "$SCRATCH/short"
"$SCRATCH/elfcheck" "$SCRATCH/short" $((SIZE - 4096)) > /dev/null 2>&1
tap "$([ $? = 1 ]; echo $?)" "elfcheck: a core cut short fails"
"$SCRATCH/elfcheck" "$CORE" $((SIZE + 1)) > /dev/null 2>&1
tap "$([ $? = 1 ]; echo $?)" "elfcheck: a size other than /proc/vmcore's fails"
tap_done
