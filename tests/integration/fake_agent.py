#!/usr/bin/env python3
"""A hostile agent written apart from the C code: it speaks the wire
protocol (version 1, docs/protocol.md) from its own encoder, over TCP, and
plays one scenario against appcored, then checks what appcored made of it
through its HTTP API.  Prints TAP lines.

usage: fake_agent.py APPCORED SCENARIO
  mem-overflow  a snapshot whose second chunk claims a larger transfer
                than the first (it would be copied past the buffer)
  rates         a counter that wraps at 2^32 and a gauge that goes down:
                the counter's rate is right, the gauge has none
  many-ids      200 device ids on one link: at most 64 boards in memory
  hostile-names a board and counters named with quotes, backslashes,
                newlines and braces: /metrics still passes promtool, and
                its label values read back to the names the API shows"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

appcored, scenario = sys.argv[1], sys.argv[2]
n = failed = 0


def check(ok, what):
    global n, failed
    n += 1
    failed += 0 if ok else 1
    print("%sok %d - %s" % ("" if ok else "not ", n, what), flush=True)


# ---- the wire, from the document ----

def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def cobs(data):
    out, block = bytearray(), bytearray()
    for b in data:
        if b == 0:
            out += bytes([len(block) + 1]) + block
            block = bytearray()
        else:
            block.append(b)
            if len(block) == 254:
                out += bytes([255]) + block
                block = bytearray()
    out += bytes([len(block) + 1]) + block
    return bytes(out) + b"\0"


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def u32(v):
    return v.to_bytes(4, "little")


def u64(v):
    return v.to_bytes(8, "little")


def string(s):
    return varint(len(s)) + s


seq = 0


def frame(mtype, payload):
    global seq
    body = bytes([mtype]) + u32(seq) + payload
    seq += 1
    return cobs(body + u32(crc32c(body)))


def hello(counters, device_id=b"fake", boot=0x1234):
    return frame(0x01, bytes([1]) + varint(1) + string(b"fake-0.1") +
                 varint(len(device_id)) + device_id + u64(boot) + bytes(32) +
                 u32(0x3FCC9710) + u32(32768) + varint(1) + varint(128) +
                 varint(counters) + varint(1) + varint(1000) + bytes([2]) +
                 varint(1))


def desc(cols):
    p = varint(1) + varint(len(cols)) + varint(0) + varint(len(cols))
    for kind, name in cols:
        p += bytes([kind, 0]) + string(name) + string(b"")
    return frame(0x02, p)


def key_sample(index, t_us, values):
    p = bytes([1]) + varint(index) + varint(len(values)) + varint(1000000)
    p += varint(t_us) + bytes([1]) + b"".join(varint(v) for v in values)
    return frame(0x03, p)


def mem(start, total, offset, data, req=7):
    return frame(0x06, varint(req) + bytes([1]) + varint(5000) +
                 varint(start) + varint(total) + varint(offset) +
                 varint(len(data)) + data)


# ---- the daemon ----

tmp = tempfile.mkdtemp()
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]
log = open(os.path.join(tmp, "d.out"), "w+")
d = subprocess.Popen([appcored, "--state-dir", os.path.join(tmp, "state"),
                      "--no-autodetect", "--listen", "127.0.0.1:0",
                      "--user", "root", "--snapshot-interval", "0", "-v",
                      "--port", "tcp://127.0.0.1:%d" % port],
                     stdout=log, stderr=subprocess.STDOUT)
srv.settimeout(20)
conn, _ = srv.accept()
base = None
for _ in range(100):
    log.seek(0)
    m = re.search(r"dashboard on (http://[^/]+)/", log.read())
    if m:
        base = m.group(1)
        break
    time.sleep(0.1)
check(base is not None, "appcored serves its API")


def get(path):
    with urllib.request.urlopen(base + path, timeout=5) as r:
        return json.load(r)


def wait_for(pred, what, secs=10):
    end = time.time() + secs
    while time.time() < end:
        try:
            v = pred()
            if v:
                return v
        except (OSError, ValueError, KeyError, IndexError):
            pass
        time.sleep(0.05)
    check(False, "waited for " + what)
    return None


def device():
    return get("/api/v1/devices/1")


def events():
    e = get("/api/v1/devices/1/events?limit=100")
    return e["events"] if isinstance(e, dict) else e


if scenario == "mem-overflow":
    conn.sendall(hello(1) + desc([(1, b"c0")]) + key_sample(0, 1000, [1]))
    wait_for(lambda: device()["counters"], "the fake board's counter")
    # A snapshot of 16 bytes, then a chunk that says the transfer is 4096
    # bytes long and continues at byte 16 with 700 more.
    conn.sendall(mem(0, 32, 0, b"A" * 16) +
                 mem(0, 4096, 16, b"B" * 700))
    ev = wait_for(lambda: [e for e in events()
                           if e["kind"] == "snapshot-incomplete"],
                  "the refusal as an event")
    check(bool(ev), "the foreign chunk is refused: %s"
          % (ev[0]["detail"] if ev else None))
    check(d.poll() is None, "appcored is still running")
    try:
        get("/api/v1/devices/1/snapshot")
        status = 200
    except urllib.error.HTTPError as e:
        status = e.code
    check(status == 404, "no snapshot stored from it (%d)" % status)
elif scenario == "rates":
    conn.sendall(hello(2) + desc([(1, b"wraps"), (2, b"falls")]))
    conn.sendall(key_sample(0, 1000000, [4294967000, 1000]))
    time.sleep(0.05)
    conn.sendall(key_sample(1, 2000000, [200, 10]))
    conn.sendall(key_sample(2, 2500000, [300, 5]))
    dev = wait_for(lambda: (lambda x: x if x["counters"][0]["rate"] else
                            None)(device()), "a rate")
    if dev:
        c, g = dev["counters"][0], dev["counters"][1]
        check(abs(c["rate"] - 496.0) < 1e-6, "a counter that wrapped: %r "
              "a second (4294967000 -> 200 in 1 s is 496)" % c["rate"])
        check(g["rate"] is None, "a gauge that fell has no rate (%r)"
              % g["rate"])
        check(c["value"] == 300 and g["value"] == 5, "values as sent")
    with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
        metrics = r.read().decode()
    # 4294967000, then 200 (a wrap: +496), then 300 (+100).
    check('appcore_core1_total{board="fake",name="wraps",unit=""} '
          '4294967596\n' in metrics,
          "/metrics: the counter's total goes on past the 32-bit wrap")
    check('appcore_core1_value{board="fake",name="falls",unit=""} 5\n'
          in metrics and 'name="falls"' not in
          metrics.split("# TYPE appcore_core1_value ")[0],
          "/metrics: the gauge as a gauge, its value as sent")
elif scenario == "hostile-names":
    names = [b'a"b', b"c\\d", b"e\nf", b"g}h{i=", b'j\\"\n', b"k,l"]
    conn.sendall(hello(len(names), b'rack "7"\\') +
                 desc([(1 + i % 2, nm) for i, nm in enumerate(names)]) +
                 key_sample(0, 1000000, list(range(len(names)))))
    dev = wait_for(lambda: (lambda x: x if len(x["counters"]) == len(names)
                            and x["counters"][0]["value"] is not None
                            else None)(device()), "the hostile names")
    with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
        metrics = r.read().decode()
    lint = subprocess.run(["promtool", "check", "metrics"], input=metrics,
                          capture_output=True, text=True)
    check(lint.returncode == 0 and "error" not in lint.stderr.lower(),
          "promtool check metrics is clean with hostile names (%s)"
          % (lint.stdout + lint.stderr).strip()[:200])

    def unescape(v):
        return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n"
                      else m.group(1), v)
    seen = set()
    for m in re.finditer(r'^appcore_core1_(?:total|value)\{board="((?:[^"\\]|'
                         r'\\.)*)",name="((?:[^"\\]|\\.)*)"', metrics, re.M):
        seen.add((unescape(m.group(1)), unescape(m.group(2))))
    want = {(dev["name"], c["name"]) for c in dev["counters"]} if dev else {}
    check(dev is not None and seen == want, "each core-1 series' board and "
          "name labels read back to the API's names (%d of %d): %r"
          % (len(seen & want), len(want), sorted(want)[:3]))
elif scenario == "many-ids":
    # 200 boards, one after another on one link: at most 64 held in
    # memory, the unlinked ones forgotten, every one in the database.
    for i in range(200):
        conn.sendall(hello(1, b"b%03d" % i, 0x5000 + i))
    listed = wait_for(lambda: (lambda b: b if len(b["devices"]) == 200 and
                               b["devices"][-1]["connected"] else None)(
        get("/api/v1/devices")), "200 boards listed, the last connected")
    with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
        metrics = r.read().decode()
    tracked = re.search(r"appcored_devices_tracked (\d+)", metrics)
    forgotten = re.search(r"appcored_devices_forgotten_total (\d+)",
                          metrics)
    check(listed is not None and listed["devices"][-1]["name"] == "b199",
          "the database lists all 200, b199 connected")
    check(tracked is not None and int(tracked.group(1)) <= 64 and
          forgotten is not None and int(forgotten.group(1)) >= 136,
          "at most 64 boards in memory (%s), the others forgotten (%s)" %
          (tracked and tracked.group(1), forgotten and forgotten.group(1)))
    check(d.poll() is None, "appcored is still running")
else:
    print("unknown scenario", scenario, file=sys.stderr)
    sys.exit(2)

conn.close()
d.terminate()
check(d.wait(timeout=20) == 0, "appcored stopped cleanly")
print("1..%d" % n)
sys.exit(1 if failed else 0)
