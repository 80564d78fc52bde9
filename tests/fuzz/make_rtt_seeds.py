#!/usr/bin/env python3
"""Seeds for fuzz_rtt: programs of its operations (see fuzz_rtt.c).
usage: make_rtt_seeds.py OUTDIR"""
import os
import struct
import sys

WRITE, WORD, BYTE, LAYOUT, TOGGLE, SEARCH, POLL = 0, 2, 3, 4, 5, 6, 7


def write(c, data):
    return bytes([WRITE, c, len(data)]) + data


def word(off, v):
    return bytes([WORD]) + struct.pack("<HI", off, v)


def poll(k=1):
    return bytes([POLL]) * k


seeds = {
    "text": write(0, b"hello, rtt\n") + poll(2) + write(1, b"\x01\x02\x03")
    + poll(2),
    "wrap": (write(0, b"abcdefghijklmnopqrstuvwxyz0123456789") + poll()) * 8,
    "full": bytes([TOGGLE]) + write(0, b"x" * 40) * 3 + write(1, b"y" * 40)
    + poll(4) + bytes([TOGGLE]) + poll(4),
    "counts": write(0, b"before\n") + poll(2) + word(0x10, 1000) + poll(2)
    + bytes([SEARCH]) * 2,
    "size": write(2, b"zz") + poll() + word(0x200 + 0x30 % 96, 0xFFFFFFF0)
    + poll(2) + bytes([LAYOUT]) + bytes([SEARCH]) + write(2, b"ok") + poll(2),
    "relayout": write(0, b"one\n") + bytes([LAYOUT]) + poll(2)
    + write(0, b"two\n") + poll(2),
}
os.makedirs(sys.argv[1], exist_ok=True)
for name, b in seeds.items():
    open(os.path.join(sys.argv[1], name), "wb").write(b)
