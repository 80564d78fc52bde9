#!/usr/bin/env python3
"""Seeds the wire fuzz corpus from a real capture of appcore-sim.

usage: make_seeds.py CAPTURE OUTDIR

CAPTURE is what `appcore-decode --raw` recorded.  Writes, with the fuzz
target's selector byte in front:
  0x00 + pieces of the stream          (host session)
  0x01 + one payload of each type      (message decoders)
  0x02 + command frames                (agent)
"""
import hashlib
import os
import sys


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def cobs_decode(enc):
    out, i = bytearray(), 0
    while i < len(enc):
        code = enc[i]
        i += 1
        out += enc[i:i + code - 1]
        i += code - 1
        if code != 0xFF and i < len(enc):
            out.append(0)
    return bytes(out)


def cobs_encode(data):
    out, block = bytearray(), bytearray()
    for b in data:
        if b == 0:
            out.append(len(block) + 1)
            out += block
            block = bytearray()
        else:
            block.append(b)
            if len(block) == 254:
                out.append(255)
                out += block
                block = bytearray()
    out.append(len(block) + 1)
    out += block
    return bytes(out) + b"\0"


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def frame(mtype, seq, payload):
    body = bytes([mtype]) + seq.to_bytes(4, "little") + payload
    return cobs_encode(body + crc32c(body).to_bytes(4, "little"))


def write(outdir, data):
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(data)


def main():
    capture, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    raw = open(capture, "rb").read()
    for off in range(0, min(len(raw), 64 * 1024), 3000):
        write(outdir, b"\0" + raw[off:off + 3000])
    seen = {}
    for enc in raw.split(b"\0"):
        dec = cobs_decode(enc)
        if len(dec) < 9 or crc32c(dec[:-4]) != int.from_bytes(dec[-4:], "little"):
            continue
        mtype = dec[0]
        kind = (mtype, dec[5] & 1) if mtype == 3 else (mtype,)
        if seen.get(kind, 0) < 3:
            seen[kind] = seen.get(kind, 0) + 1
            write(outdir, b"\1" + dec[5:-4])
    cmds = [
        varint(1) + bytes([1]) + varint(12345),      # ping
        varint(2) + bytes([2]),                       # hello
        varint(3) + bytes([3]) + varint(1000),        # set rate
        varint(4) + bytes([4]) + varint(64) + varint(2000),  # read mem
        varint(5) + bytes([5]),                       # snapshot
        varint(6) + bytes([6]),                       # restart core 1
        varint(7) + bytes([99]),                      # unknown
        varint(8) + bytes([7]) + varint(5) + varint(3072),        # dump-ack
        varint(9) + bytes([7]) + varint(5) + varint(0x80000300),  # go back
        varint(10) + bytes([8]) + varint(2) + varint(3),          # set-restart
    ]
    stream = b"".join(frame(0x40, i, c) for i, c in enumerate(cmds))
    write(outdir, b"\2" + stream)
    for i, c in enumerate(cmds):
        write(outdir, b"\2" + frame(0x40, i, c))
        write(outdir, b"\1" + c)


if __name__ == "__main__":
    main()
