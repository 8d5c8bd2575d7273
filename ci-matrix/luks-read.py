#!/usr/bin/env python3
"""The plaintext of a LUKS2 volume's data segment, from its image and volume key.

    ci-matrix/luks-read.py IMAGE VOLUME-KEY-FILE > PLAINTEXT

make bench reads back what the capture kernel wrote onto an encrypted dump volume on a
host whose kernel has no device-mapper (ci-matrix/bench.sh). The key is used only after
it matches the header's digest (cryptsetup luksDump --dump-json-metadata); only
aes-xts-plain64, the cipher the bench formats with, is read.
"""
import base64
import hashlib
import json
import os
import subprocess
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

CHUNK_SECTORS = 256


def metadata(image):
    out = subprocess.run(["cryptsetup", "luksDump", "--dump-json-metadata", image],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def key_matches(meta, key):
    """The key against the digest of segment 0: LUKS2's PBKDF2 of the volume key."""
    for digest in meta["digests"].values():
        if "0" not in digest["segments"] or digest["type"] != "pbkdf2":
            continue
        want = base64.b64decode(digest["digest"])
        got = hashlib.pbkdf2_hmac(digest["hash"], key, base64.b64decode(digest["salt"]),
                                  digest["iterations"], len(want))
        return got == want
    return False


def plaintext(image, segment, key, out):
    """dm-crypt's plain64: the IV is the 512-byte sector's number from the segment's
    start plus iv_tweak, whatever the encryption sector size."""
    sector = int(segment["sector_size"])
    iv = int(segment["iv_tweak"])
    with open(image, "rb") as f:
        f.seek(int(segment["offset"]))
        while True:
            data = f.read(sector * CHUNK_SECTORS)
            if len(data) < sector:
                return
            for at in range(0, len(data) - len(data) % sector, sector):
                tweak = iv.to_bytes(16, "little")
                dec = Cipher(algorithms.AES(key), modes.XTS(tweak)).decryptor()
                out.write(dec.update(data[at:at + sector]) + dec.finalize())
                iv += sector // 512


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    image, key_file = sys.argv[1:]
    with open(key_file, "rb") as f:
        key = f.read()
    meta = metadata(image)
    segment = meta["segments"]["0"]
    if segment["encryption"] != "aes-xts-plain64":
        sys.exit(f"luks-read: {image}: {segment['encryption']}, not aes-xts-plain64")
    if not key_matches(meta, key):
        sys.exit(f"luks-read: {image}: the key does not match the header's digest")
    try:
        plaintext(image, segment, key, sys.stdout.buffer)
    except BrokenPipeError:
        # The reader (makedumpfile -R) stops at the dump's end: the rest is not needed.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    main()
