#!/usr/bin/env python3
"""Seeds for fuzz_link: channel programs over the frames of the real
agent, one byte per frame (low 4 bits: 0-7 pass, 8 drop, 9 twice,
10 after the next, 11 bit flip ARG, 12 cut at ARG, 13 again ARG frames
later, 14 ARG%64 bytes of noise before it, 15 link drop (ARG odd: and a
board reset)).  usage: make_link_seeds.py DIR"""
import os
import random
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
seeds = {
    "clean": b"",
    "drop-hello": bytes([8]),
    "drop-desc": bytes([0, 8]),
    "drop-early-samples": bytes([0] * 6 + [8]),
    "drop-mid": bytes([0] * 12 + [8]),
    "drop-two": bytes([0] * 12 + [8, 8]),
    "twice": bytes([9] * 30),
    "swap": bytes([0] * 10 + [10, 0, 10, 0]),
    "replay-later": bytes([0] * 8 + [13, 5] + [0] * 6 + [13, 30]),
    "flip": bytes([0] * 10 + [11, 77]),
    "cut": bytes([0] * 10 + [12, 9]),
    "noise": bytes([0] * 5 + [14, 40] + list(range(40))),
    "reconnect": bytes([0] * 10 + [15, 0]),
    "reboot": bytes([0] * 10 + [15, 1]),
    "reboot-drop-hello": bytes([0] * 10 + [15, 1, 8]),
    "reboot-desc-first": bytes([0] * 10 + [15, 1, 10]),
}
rng = random.Random(7)
for k in range(16):
    prog = bytearray()
    for _ in range(40):
        x = rng.randrange(100)
        if x < 75:
            prog.append(0)
        else:
            op = rng.randrange(8, 16)
            prog.append(op)
            if op in (11, 12, 13, 14, 15):
                prog.append(rng.randrange(256) if op != 14 else 3)
    seeds["mixed-%02d" % k] = bytes(prog)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
