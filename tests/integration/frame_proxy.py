#!/usr/bin/env python3
"""A hostile link that knows the frames: forwards TCP from appcore-sim to
a host frame by frame (COBS, 0x00 delimiters) and can drop, duplicate,
replay, reorder or damage chosen whole frames, or mix every fault at
random; host-to-agent bytes pass untouched.

usage: frame_proxy.py LISTEN_PORT TARGET_PORT [rules...] [--seed N]
  drop:TYPE:N        drop the Nth frame of TYPE (1 = the first), each
                     connection counting from 1; TYPE is HELLO, DESC,
                     SAMPLES, KEY (a SAMPLES key frame), ... or ANY;
                     N-M drops the Nth to the Mth
  dropfull:DESC:N    the Nth DESC that announces counters (total > 0)
  dropset:N-M        every DESC of the Nth to Mth descriptor set of the
                     connection (a set starts at the DESC of counter 0)
  dup:TYPE:EVERY     send every EVERYth frame of TYPE twice
  replay:TYPE:EVERY  send it again 100 ms later
  swap:TYPE:EVERY    hold it back until the frame after it has gone
  mixed:PERMIL       each frame: PERMIL/1000 chance of a fault, chosen
                     among drop, dup, replay, swap, bit flip, garbage and
                     a stray delimiter
  ber:RATE           flip each bit with probability RATE (a noisy line)
  cut:SECONDS        close both sides once, SECONDS after the start
Prints "proxy: listening PORT" once ready and a summary line per
connection when it ends:
  proxy: frames F dropped D duplicated U replayed R swapped W damaged X
  damaged_samples S
(S: samples carried by SAMPLES frames dropped or damaged).  Accepts host
connections one after another until the target goes away."""
import random
import select
import socket
import sys
import time

TYPES = {1: "HELLO", 2: "DESC", 3: "SAMPLES", 4: "LOG", 5: "STATE",
         6: "MEM", 7: "CRASH", 8: "REPLY", 9: "STATS", 10: "DUMP_INFO",
         11: "DUMP_DATA", 12: "SAMPLES_REF"}


def cobs_decode(b):
    out = bytearray()
    i = 0
    while i < len(b):
        code = b[i]
        if code == 0 or i + code > len(b):
            return None
        out += b[i + 1:i + code]
        i += code
        if code < 255 and i < len(b):
            out.append(0)
    return bytes(out)


def varint(p, i):
    v = s = 0
    while True:
        if i >= len(p):
            raise ValueError
        c = p[i]
        i += 1
        v |= (c & 0x7f) << s
        s += 7
        if not c & 0x80:
            return v, i


def samples_count(payload):
    """Samples in a SAMPLES payload (the layout of docs/protocol.md)."""
    try:
        flags = payload[0]
        _, i = varint(payload, 1)
        ncols, i = varint(payload, i)
        _, i = varint(payload, i)
        nbytes = (ncols + 7) // 8
        count = 0
        if flags & 1:
            _, i = varint(payload, i)
            i += nbytes
            for _ in range(ncols):
                _, i = varint(payload, i)
            count = 1
        while i < len(payload):
            _, i = varint(payload, i)
            k, i = varint(payload, i)
            if k * 8 > ncols:
                i += nbytes
                for _ in range(k):
                    _, i = varint(payload, i)
            else:
                for _ in range(2 * k):
                    _, i = varint(payload, i)
            count += 1
        return count
    except (ValueError, IndexError):
        return 0


def desc_first(raw):
    """The first counter a DESC frame describes, or -1."""
    d = cobs_decode(raw[:-1])
    if d is None or len(d) < 9 or TYPES.get(d[0]) != "DESC":
        return -1
    try:
        i = 5
        for _ in range(2):          # desc_gen, total
            _, i = varint(d, i)
        first, _ = varint(d, i)
        return first
    except (ValueError, IndexError):
        return -1


def frame_info(raw):
    """(type name, is key frame, samples) of one encoded frame."""
    d = cobs_decode(raw[:-1])
    if d is None or len(d) < 9:
        return ("?", False, 0)
    name = TYPES.get(d[0], "?")
    payload = d[5:-4]
    if name == "SAMPLES":
        return (name, bool(payload[:1] and payload[0] & 1),
                samples_count(payload))
    if name == "DESC":
        try:
            _, i = varint(payload, 0)
            total, _ = varint(payload, i)
            return (name, total > 0, 0)
        except ValueError:
            return (name, False, 0)
    return (name, False, 0)


class Link:
    def __init__(self, rules, rng):
        self.rules, self.rng = rules, rng
        self.buf = b""
        self.nth = {}
        self.desc_sets = 0      # descriptor sets begun on this connection
        self.held = None
        self.later = []        # (due time, frame)
        self.st = dict(frames=0, dropped=0, duplicated=0, replayed=0,
                       swapped=0, damaged=0, damaged_samples=0)

    def matches(self, typ, info):
        name, key, _ = info
        return (typ == "ANY" or typ == name or
                (typ == "KEY" and name == "SAMPLES" and key) or
                (typ == "FULLDESC" and name == "DESC" and key))

    def count(self, typ, info):
        if not self.matches(typ, info):
            return 0
        self.nth[typ] = self.nth.get(typ, 0) + 1
        return self.nth[typ]

    def damage(self, frame, info):
        self.st["damaged"] += 1
        self.st["damaged_samples"] += info[2]

    def decide(self, info):
        for kind, typ, arg in self.rules:
            if kind == "dropset":
                if info[0] == "DESC" and info[1] and \
                        arg[0] <= self.desc_sets <= arg[1]:
                    return "drop"
            elif kind in ("drop", "dropfull"):
                if arg[0] <= self.count(typ, info) <= arg[1]:
                    return "drop"
            elif kind in ("dup", "replay", "swap"):
                k = self.count(typ, info)
                if k and k % arg == 0:
                    return kind
            elif kind == "mixed":
                if self.rng.random() * 1000 < arg:
                    return self.rng.choice(["drop", "dup", "replay", "swap",
                                            "flip", "garbage", "delim"])
        return "pass"

    def noisy(self, frame):
        out = bytearray(frame)
        hit = False
        for kind, _, arg in self.rules:
            if kind != "ber":
                continue
            # Bit errors as a Bernoulli process, drawn per frame.
            nbits = len(out) * 8
            pos = int(self.rng.expovariate(arg)) if arg > 0 else nbits
            while pos < nbits:
                out[pos // 8] ^= 1 << (pos % 8)
                hit = True
                pos += 1 + int(self.rng.expovariate(arg))
        return bytes(out), hit

    def frames(self, data):
        """Frames to send now for the bytes received."""
        self.buf += data
        out = []
        while True:
            j = self.buf.find(b"\0")
            if j < 0:
                break
            frame, self.buf = self.buf[:j + 1], self.buf[j + 1:]
            if frame == b"\0":
                out.append(frame)
                continue
            out += self.one(frame)
        return out

    def one(self, frame):
        info = frame_info(frame)
        if info[0] == "DESC" and info[1] and desc_first(frame) == 0:
            self.desc_sets += 1
        self.st["frames"] += 1
        act = self.decide(info)
        out = []
        if act == "drop":
            self.st["dropped"] += 1
            self.damage(frame, info)
        elif act == "dup":
            self.st["duplicated"] += 1
            out += [frame, frame]
        elif act == "replay":
            out.append(frame)
            self.later.append((time.monotonic() + 0.1, frame))
        elif act == "swap" and self.held is None:
            self.st["swapped"] += 1
            self.held = frame
            return out
        elif act == "flip":
            b = bytearray(frame)
            b[self.rng.randrange(len(b) - 1)] ^= 1 << self.rng.randrange(8)
            self.damage(frame, info)
            out.append(bytes(b))
        elif act == "garbage":
            # Noise, then a delimiter: the frame after it arrives whole.
            out += [bytes(self.rng.randrange(256) for _ in
                          range(self.rng.randrange(1, 64))) + b"\0", frame]
        elif act == "delim":
            cut = self.rng.randrange(1, len(frame))
            self.damage(frame, info)
            out += [frame[:cut] + b"\0" + frame[cut:]]
        else:
            noisy, hit = self.noisy(frame)
            if hit:
                self.damage(frame, info)
            out.append(noisy)
        if self.held is not None:
            out.append(self.held)
            self.held = None
        return out

    def due(self):
        now = time.monotonic()
        out = [f for t, f in self.later if t <= now]
        self.later = [(t, f) for t, f in self.later if t > now]
        self.st["replayed"] += len(out)
        return out

    def summary(self):
        return ("proxy: frames %(frames)d dropped %(dropped)d duplicated "
                "%(duplicated)d replayed %(replayed)d swapped %(swapped)d "
                "damaged %(damaged)d damaged_samples %(damaged_samples)d"
                % self.st)


def nth_range(text):
    """'N' or 'N-M' as (first, last), counting from 1."""
    lo, _, hi = text.partition("-")
    return (int(lo), int(hi or lo))


def parse(argv):
    rules, seed = [], 1
    it = iter(argv)
    for a in it:
        if a == "--seed":
            seed = int(next(it))
            continue
        parts = a.split(":")
        kind = parts[0]
        if kind in ("mixed", "ber", "cut"):
            rules.append((kind, None, float(parts[1])))
        elif kind == "drop":
            rules.append((kind, parts[1], nth_range(parts[2])))
        elif kind == "dropfull":
            rules.append((kind, "FULLDESC", nth_range(parts[2])))
        elif kind == "dropset":
            rules.append((kind, "DESC", nth_range(parts[1])))
        else:
            rules.append((kind, parts[1], int(parts[2])))
    return rules, seed


def recv(sock):
    """What the socket has, or b"" when its peer is gone."""
    try:
        return sock.recv(65536)
    except ConnectionResetError:
        return b""


def main():
    listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
    rules, seed = parse(sys.argv[3:])
    rng = random.Random(seed)
    cut_at = [r[2] for r in rules if r[0] == "cut"]
    start = time.monotonic()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", listen_port))
    srv.listen(1)
    print("proxy: listening %d" % srv.getsockname()[1], flush=True)
    up = None
    while True:
        host, _ = srv.accept()
        if up is None:
            try:
                up = socket.create_connection(("127.0.0.1", target_port))
            except OSError:
                host.close()
                break
        link = Link(rules, rng)
        target_gone = False
        while True:
            r, _, _ = select.select([host, up], [], [], 0.01)
            out = link.due()
            if up in r:
                data = recv(up)
                if not data:
                    target_gone = True
                    out += link.frames(b"")
                else:
                    out += link.frames(data)
            try:
                for f in out:
                    host.sendall(f)
            except OSError:
                break
            if target_gone:
                break
            if host in r:
                data = recv(host)
                if not data:
                    break
                up.sendall(data)
            if cut_at and time.monotonic() - start >= cut_at[0]:
                cut_at.pop(0)
                print("proxy: cut", flush=True)
                break
        print(link.summary(), flush=True)
        host.close()
        if target_gone:
            break
    srv.close()


if __name__ == "__main__":
    main()
