#!/usr/bin/env python3
"""The runner's side of the guest's requests (ci-matrix/run.sh), through QEMU's QMP.

    guest-requests.py plug-memory QMP-SOCKET SIZE
    guest-requests.py scan-memory QMP-SOCKET DUMP BLOB-ADDR BLOB-SIZE MAILBOX
                      HELD-DISK HELD-PASSPHRASE-HEX OPEN-DISK OPEN-PASSPHRASE-HEX
    guest-requests.py read-after-exit QMP-SOCKET ADDR SIZE

plug-memory: the guest asked for more memory with keys loaded: add a RAM backend of
SIZE (like 128M) and a pc-dimm on it. If that fails, the guest's wait for new memory
fails its check; the reason is printed here (the runner keeps it next to the log).

scan-memory: look for LUKS volume keys in all of a stopped guest's RAM, from the host.
The matrix's capture kernel asks for this before it restores the keys: at that point
the key of a volume that was registered but closed (HELD) must be in the guest's RAM
exactly once, inside the handed-over blob (BLOB-ADDR, BLOB-SIZE bytes), and no half of it
anywhere else; the key of a volume that was open when the kernel crashed (OPEN) is the
control, which the same scan must find. The scan covers both kernels at once (the
crashed one's memory and the capture kernel's), and it needs nothing in the guest that
would hold a key itself: the host stops the VM, has QEMU write its RAM as an ELF core
(DUMP), lets it go on, takes each key from its volume's header in the disk image with
its passphrase (cryptsetup on the host), and looks for it in the dump in every form a
kernel keeps a key in (key_forms). The answers, "memory-scan-held ok|fail WHY" and
"memory-scan-control ok|fail WHY", go to the first sector of the MAILBOX disk, which the
guest polls; on any error both say "error WHY", which the guest's checks report as
failed. The dump is deleted; no key byte is printed.

read-after-exit: the guest is about to leave its kernel (reboot, panic) with keys at
ADDR; QEMU runs it with -action shutdown=pause, so that its RAM stays. Wait until the
guest has stopped, read SIZE bytes at ADDR from QEMU (pmemsave), print "zero", "blob N"
(the crash key blob's magic first, N bytes not zero) or "nonzero N", and end QEMU.
"""
import json
import mmap
import os
import socket
import struct
import subprocess
import sys
import time

class Qmp:
    """QEMU's machine protocol: one JSON object per line; events come in between."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(30)
        self.sock.connect(path)
        self.lines = self.sock.makefile("r")
        self.read()  # the greeting
        self.execute("qmp_capabilities")

    def read(self):
        line = self.lines.readline()
        if not line:
            raise RuntimeError("QEMU closed its QMP socket")
        return json.loads(line)

    def execute(self, command, timeout=30, **arguments):
        self.sock.settimeout(timeout)
        self.sock.sendall(json.dumps({"execute": command, "arguments": arguments}).encode()
                          + b"\n")
        while True:
            reply = self.read()
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise RuntimeError("%s: %s" % (command, reply["error"].get("desc")))

    def close(self):
        self.lines.close()
        self.sock.close()


def dump_guest_ram(qmp_path, dump):
    qmp = Qmp(qmp_path)
    try:
        qmp.execute("stop")
        qmp.execute("dump-guest-memory", timeout=600, paging=False, protocol="file:" + dump)
    finally:
        qmp.execute("cont")
        qmp.close()


def volume_key(disk, passphrase):
    out = subprocess.run(
        ["cryptsetup", "luksDump", "--dump-volume-key", "--batch-mode",
         "--key-file", "-", disk],
        input=passphrase, capture_output=True, check=True).stdout.decode()
    hexdigits = "".join(out.split("MK dump:", 1)[1].split())
    key = bytes.fromhex(hexdigits)
    if len(key) < 16:
        raise RuntimeError("no volume key in the luksDump output")
    return key


def load_segments(core):
    """(file offset, size, physical address) of each PT_LOAD of an ELF64 core."""
    if core[:4] != b"\x7fELF" or core[4] != 2:
        raise RuntimeError("the dump is not an ELF64 file")
    order = "<" if core[5] == 1 else ">"
    phoff, = struct.unpack_from(order + "Q", core, 32)
    phentsize, phnum = struct.unpack_from(order + "HH", core, 54)
    segments = []
    for i in range(phnum):
        p_type, _, p_offset, _, p_paddr, p_filesz = struct.unpack_from(
            order + "IIQQQQ", core, phoff + i * phentsize)
        if p_type == 1:
            segments.append((p_offset, p_filesz, p_paddr))
    return segments


def key_forms(key):
    """The forms of a key a kernel may hold, as tests/helpers/keyscan.c --forms has
    them: the whole key, each half (an XTS key is two AES keys, kept apart), and each
    half with its 32-bit words byte-swapped (lib/crypto/aes.c loads the key as
    little-endian words: so a big-endian arch's key schedule holds it)."""
    half = len(key) // 2

    def swapped(b):
        return b"".join(b[i:i + 4][::-1] for i in range(0, len(b), 4))

    return {"whole": key, "half 1": key[:half], "half 2": key[half:],
            "half 1 swapped": swapped(key[:half]), "half 2 swapped": swapped(key[half:])}


def find_forms(dump, key):
    """Each form of key -> the physical addresses of its copies in the core DUMP."""
    found = {}
    with open(dump, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as core:
        segments = load_segments(core)
        for name, needle in key_forms(key).items():
            found[name] = []
            for offset, size, paddr in segments:
                at = core.find(needle, offset, offset + size)
                while at >= 0:
                    found[name].append(paddr + at - offset)
                    at = core.find(needle, at + 1, offset + size)
    return found


def held_verdict(found, half, blob_addr, blob_size):
    """ok: the whole key once, inside the blob; its halves only there; no swapped half."""
    whole = found["whole"]
    if len(whole) != 1:
        return "fail %d copies of the whole key, at %s" % (
            len(whole), " ".join("%#x" % a for a in whole[:6]) or "-")
    at = whole[0]
    if not blob_addr <= at <= blob_addr + blob_size - 2 * half:
        return "fail its one copy is at %#x, not in the blob (%#x, %d bytes)" % (
            at, blob_addr, blob_size)
    stray = ["%s at %#x" % (name, a) for name, want in
             (("half 1", [at]), ("half 2", [at + half]), ("half 1 swapped", []),
              ("half 2 swapped", [])) for a in found[name] if a not in want]
    if stray:
        return "fail a part of it outside the blob: " + ", ".join(stray[:6])
    return "ok once, at %#x in the blob at %#x" % (at, blob_addr)


def control_verdict(found, half):
    """ok: each half of an open volume's key apart from its whole copies, verbatim or
    swapped: the form in which this arch's cipher keeps it."""
    whole = set(found["whole"])
    counts = "whole %d, halves %d/%d, swapped %d/%d" % tuple(
        len(found[n]) for n in ("whole", "half 1", "half 2", "half 1 swapped", "half 2 swapped"))
    for name, shift in (("half 1", 0), ("half 2", half)):
        apart = [a for a in found[name] if a - shift not in whole]
        if not apart and not found[name + " swapped"]:
            return "fail no copy of its %s apart from the whole key (%s)" % (name, counts)
    return "ok " + counts


def answer(mailbox, text):
    sector = (text + "\n").encode()[:511].ljust(512, b"\0")
    fd = os.open(mailbox, os.O_WRONLY)
    try:
        os.pwrite(fd, sector, 0)
        os.fsync(fd)
    finally:
        os.close(fd)


def size_in_bytes(size):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)


def plug_memory(qmp_path, size):
    qmp = Qmp(qmp_path)
    try:
        qmp.execute("object-add", **{"qom-type": "memory-backend-ram", "id": "hotmem",
                                     "size": size_in_bytes(size)})
        qmp.execute("device_add", driver="pc-dimm", id="hotdimm", memdev="hotmem")
    finally:
        qmp.close()
    print("plugged a %s DIMM" % size)


def scan_memory(qmp_path, dump, blob_addr, blob_size, mailbox,
                held_disk, held_passphrase, open_disk, open_passphrase):
    try:
        held = volume_key(held_disk, bytes.fromhex(held_passphrase))
        control = volume_key(open_disk, bytes.fromhex(open_passphrase))
        dump_guest_ram(qmp_path, dump)
        answer(mailbox, "memory-scan-held %s\nmemory-scan-control %s" % (
            held_verdict(find_forms(dump, held), len(held) // 2, int(blob_addr, 0),
                         int(blob_size, 0)),
            control_verdict(find_forms(dump, control), len(control) // 2)))
    except Exception as e:  # the guest's checks report it
        why = str(e).replace("\n", " ")[:200]
        answer(mailbox, "memory-scan-held error %s\nmemory-scan-control error %s" % (why, why))
        raise
    finally:
        if os.path.exists(dump):
            os.unlink(dump)


STOPPED = ("shutdown", "paused", "guest-panicked", "internal-error")
# include/linux/crash_key_blob.h: CRASH_KEY_BLOB_MAGIC, little-endian, "CKEY" in memory.
BLOB_MAGIC = b"CKEY"


def read_after_exit(qmp_path, addr, size, timeout=600):
    qmp = Qmp(qmp_path)
    path = "%s.read" % qmp_path
    try:
        for _ in range(timeout):
            if qmp.execute("query-status")["status"] in STOPPED:
                break
            time.sleep(1)
        else:
            raise RuntimeError("the guest did not stop in %d s" % timeout)
        qmp.execute("pmemsave", val=int(addr, 0), size=int(size, 0), filename=path)
        with open(path, "rb") as f:
            data = f.read()
        nonzero = sum(1 for byte in data if byte)
        if not nonzero:
            print("zero")
        elif data.startswith(BLOB_MAGIC):
            print("blob %d" % nonzero)
        else:
            print("nonzero %d" % nonzero)
    finally:
        if os.path.exists(path):
            os.unlink(path)
        try:
            qmp.execute("quit")
        except (OSError, RuntimeError):
            pass  # QEMU went as asked
        qmp.close()


def main():
    requests = {"plug-memory": (plug_memory, 2), "scan-memory": (scan_memory, 9),
                "read-after-exit": (read_after_exit, 3)}
    if len(sys.argv) < 2 or sys.argv[1] not in requests or \
            len(sys.argv) != 2 + requests[sys.argv[1]][1]:
        sys.exit(__doc__.split("\n\n")[1])
    function = requests[sys.argv[1]][0]
    function(*sys.argv[2:])


if __name__ == "__main__":
    main()
