#!/usr/bin/env python3
"""The runner's side of the guest's requests (ci-matrix/run.sh), through QEMU's QMP.

    guest-requests.py plug-memory QMP-SOCKET SIZE
    guest-requests.py scan-memory QMP-SOCKET DUMP DISK PASSPHRASE MAILBOX

plug-memory: the guest asked for more memory with keys loaded: add a RAM backend of
SIZE (like 128M) and a pc-dimm on it. If that fails, the guest's wait for new memory
fails its check; the reason is printed here (the runner keeps it next to the log).

scan-memory: count a LUKS volume key in all of a stopped guest's RAM, from the host.
The matrix's capture kernel asks for this before it restores the keys: at that point
the key of a volume that was registered but closed must be in the guest's RAM exactly
once, in the handed-over blob. The scan covers both kernels at once (the crashed one's
memory and the capture kernel's), and it needs nothing in the guest that would hold the
key itself: the host stops the VM, has QEMU write its RAM as an ELF core (DUMP), lets it
go on, takes the key from the volume's header in the disk image DISK with PASSPHRASE
(cryptsetup on the host), and counts it in the dump. The answer, "memory-scan COUNT
PADDR...", goes to the first sector of the MAILBOX disk, which the guest polls; on any
error the answer is "memory-scan error WHY", which the guest's check reports as failed.
The dump is deleted; no key byte is printed.
"""
import json
import mmap
import os
import socket
import struct
import subprocess
import sys

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
        input=passphrase.encode(), capture_output=True, check=True).stdout.decode()
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


def find_key(dump, key):
    with open(dump, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as core:
        paddrs = []
        for offset, size, paddr in load_segments(core):
            at = core.find(key, offset, offset + size)
            while at >= 0:
                paddrs.append(paddr + at - offset)
                at = core.find(key, at + 1, offset + size)
        return paddrs


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


def scan_memory(qmp_path, dump, disk, passphrase, mailbox):
    try:
        dump_guest_ram(qmp_path, dump)
        paddrs = find_key(dump, volume_key(disk, passphrase))
        answer(mailbox, "memory-scan %d %s" % (len(paddrs),
                                              " ".join("%#x" % a for a in paddrs[:8])))
    except Exception as e:  # the guest's check reports it
        answer(mailbox, "memory-scan error %s" % str(e).replace("\n", " ")[:200])
        raise
    finally:
        if os.path.exists(dump):
            os.unlink(dump)


def main():
    requests = {"plug-memory": (plug_memory, 2), "scan-memory": (scan_memory, 5)}
    if len(sys.argv) < 2 or sys.argv[1] not in requests or \
            len(sys.argv) != 2 + requests[sys.argv[1]][1]:
        sys.exit(__doc__.split("\n\n")[1])
    function = requests[sys.argv[1]][0]
    function(*sys.argv[2:])


if __name__ == "__main__":
    main()
