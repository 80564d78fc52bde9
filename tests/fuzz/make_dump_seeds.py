#!/usr/bin/env python3
"""Seeds the dump and ELF fuzz corpora.

usage: make_dump_seeds.py SIM_PORT DUMP_OUTDIR ELF_OUTDIR CORE1_ELF

Talks to an appcore-sim on TCP port SIM_PORT whose core 1 panics (say
--panic-after 0.3) as a host would: HELLO, then DUMP_ACK 0 to its offer,
and keeps the DUMP_INFO and the first DUMP_DATA payloads.  Writes records
[op][len lo][len hi][payload] for fuzz_dump.c, and CORE1_ELF with some
truncations and corruptions of it for fuzz_elf.c.
"""
import hashlib
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from make_seeds import cobs_decode, crc32c, frame, varint  # noqa: E402


def rd_varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def write(outdir, data):
    with open(os.path.join(outdir, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def rec(op, payload):
    return bytes([op, len(payload) & 0xFF, len(payload) >> 8]) + payload


def with_total(info, total):
    """The DUMP_INFO payload with another total."""
    _, i = rd_varint(info, 0)
    i += 8 + 32 + 4
    _, j = rd_varint(info, i)
    return info[:i] + varint(total) + info[j:]


def main():
    port, dump_out, elf_out, elf = sys.argv[1:5]
    os.makedirs(dump_out, exist_ok=True)
    os.makedirs(elf_out, exist_ok=True)
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.settimeout(0.2)
    s.sendall(frame(0x40, 0, varint(1) + bytes([2])))      # HELLO
    info, data, buf, seq = None, [], b"", 1
    end = time.time() + 10
    while time.time() < end and len(data) < 8:
        try:
            buf += s.recv(65536)
        except socket.timeout:
            continue
        *frames, buf = buf.split(b"\0")
        for enc in frames:
            dec = cobs_decode(enc)
            if len(dec) < 9 or crc32c(dec[:-4]) != int.from_bytes(dec[-4:], "little"):
                continue
            payload = dec[5:-4]
            if dec[0] == 0x0A and info is None:
                info = payload
                dump_id, _ = rd_varint(payload, 0)
                s.sendall(frame(0x40, seq, varint(seq) + bytes([7]) +
                                varint(dump_id) + varint(0)))
                seq += 1
            elif dec[0] == 0x0B:
                data.append(payload)
    if info is None or len(data) < 2:
        sys.exit("make_dump_seeds.py: no dump came")
    write(dump_out, rec(0, info) + b"".join(rec(1, d) for d in data))
    small = with_total(info, 1536)      # two chunks, then verified
    write(dump_out, rec(0, small) + rec(1, data[0]) + rec(1, data[1]) + rec(3, b""))
    write(dump_out, rec(0, small) + rec(1, data[1]) + rec(1, data[0]) +
          rec(1, data[1]) + rec(3, b""))
    write(dump_out, rec(0, small) + rec(2, data[0]) + rec(2, data[1]) + rec(0, small))
    bad = bytearray(data[0])
    bad[-1] ^= 1
    write(dump_out, rec(0, small) + rec(1, bytes(bad)) + rec(2, bytes(bad)))
    img = open(elf, "rb").read()
    write(elf_out, img)
    for cut in (4, 52, 200, len(img) // 2, len(img) - 1):
        write(elf_out, img[:cut])
    for off in (0x10, 0x12, 0x18, 0x20, 0x2E, 0x30):   # e_type .. e_shstrndx
        b = bytearray(img)
        b[off] ^= 0xFF
        write(elf_out, bytes(b))


if __name__ == "__main__":
    main()
