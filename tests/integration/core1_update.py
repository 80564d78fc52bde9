#!/usr/bin/env python3
"""Core-1 image updates through the real daemon into a simulated board
whose slots and slot record are files (appcore-sim --slots): what is
checked comes from outside the daemon, namely the slot files as bytes,
the slot record decoded here from its documented layout (docs/updates.md)
and the simulator's own word on which slot core 1 runs.

A proxy between daemon and board can slow the host-to-board direction,
corrupt it, and follow the board to a new port after a kill -9.

Every JSON answer of the update routes is checked against
web/openapi.json.

usage: core1_update.py APPCORED APPCORE_SIM APPCORECTL CORE1_IMAGE_PY
       OPENAPI_JSON
TAP output."""
import hashlib
import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from openapi_check import Spec  # noqa: E402
from tap import check, finish, wait_for  # noqa: E402

appcored, sim_bin, ctl, mkimage, spec_path = sys.argv[1:6]
spec = Spec(spec_path)
tmp = tempfile.mkdtemp()
slots = tmp + "/slots"
os.mkdir(slots)
SLOT_SIZE = 262144
BASE = 0x42400000
procs = []


# ---- the slot record, decoded from its layout, not by the agent's code --

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def record_copy(path):
    try:
        b = open(path, "rb").read(200)
    except FileNotFoundError:
        return None
    if len(b) != 200 or struct.unpack_from("<I", b, 196)[0] != crc32c(b[:196]):
        return None
    magic, seq, active, prev, trial, attempts, err, trial_ms, xfer, have = \
        struct.unpack_from("<IIBBBBBIII", b, 0)
    if magic != 0x31534341:
        return None
    slot = []
    for i in range(2):
        st, size, entry = struct.unpack_from("<BII", b, 25 + 73 * i)
        sha = b[25 + 73 * i + 9:25 + 73 * i + 41]
        slot.append({"state": st, "size": size, "entry": entry,
                     "sha": sha.hex()})
    return {"seq": seq, "active": active, "previous": prev, "trial": trial,
            "attempts": attempts, "error": err, "have": have, "slot": slot}


def record():
    """The newer of the two copies (the rule the agent follows)."""
    c = [record_copy(slots + "/record-%d" % i) for i in range(2)]
    c = [x for x in c if x is not None]
    if not c:
        return None
    if len(c) == 2 and ((c[1]["seq"] - c[0]["seq"]) & 0xFFFFFFFF) < 2**31:
        return c[1]
    return c[-1] if len(c) == 1 else c[0]


def slot_bytes(i, n):
    with open(slots + "/slot-%s.bin" % "ab"[i], "rb") as f:
        return f.read(n)


# ---- images ----

def sim_image(behaviour, size, name):
    path = "%s/%s.bin" % (tmp, name)
    subprocess.run([sys.executable, mkimage, "--sim", behaviour, path,
                    "--size", str(size)], check=True, stdout=subprocess.DEVNULL)
    return path


def read(path):
    return open(path, "rb").read()


# ---- the proxy: daemon <-> board ----

class Proxy:
    def __init__(self):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.port = self.srv.getsockname()[1]
        self.target = None
        self.rate = 0            # host -> board bytes/s, 0: as fast as it comes
        self.corrupt = 0.0       # chance per forwarded piece of a flipped byte
        self.flipped = 0
        self.rng = random.Random(7)
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            host, _ = self.srv.accept()
            if self.target is None:
                host.close()
                continue
            try:
                up = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                host.close()
                continue
            self.pipe(host, up)

    def pipe(self, host, up):
        sent_t, budget = time.time(), 0.0
        try:
            while True:
                r, _, _ = select.select([host, up], [], [], 0.05)
                if up in r:
                    d = up.recv(65536)
                    if not d:
                        break
                    host.sendall(d)
                if host in r:
                    d = host.recv(1024 if self.rate else 65536)
                    if not d:
                        break
                    d = bytearray(d)
                    if self.corrupt and self.rng.random() < self.corrupt:
                        d[self.rng.randrange(len(d))] ^= 1 << self.rng.randrange(8)
                        self.flipped += 1
                    if self.rate:
                        budget -= len(d)
                        while budget < 0:
                            time.sleep(0.01)
                            now = time.time()
                            budget += (now - sent_t) * self.rate
                            sent_t = now
                    up.sendall(bytes(d))
        except OSError:
            pass
        host.close()
        up.close()


proxy = Proxy()


# ---- the board and the daemon ----

sim_log = tmp + "/sim.err"


def start_sim():
    out = tmp + "/sim.out"
    p = subprocess.Popen([sim_bin, "--link", "tcp:0", "--rate", "200",
                          "--counters", "8", "--device-id", "upd-board",
                          "--slots", slots, "--slot-size", str(SLOT_SIZE)],
                         stdout=open(out, "w"), stderr=open(sim_log, "a"))
    procs.append(p)
    line = wait_for(lambda: [x for x in open(out).read().split("\n")
                             if "link tcp" in x], 10)
    proxy.target = int(line[0].rsplit(":", 1)[1])
    return p


def start_daemon():
    out = tmp + "/d.out"
    p = subprocess.Popen([appcored, "--state-dir", tmp + "/state", "--user",
                          "root", "--no-autodetect", "--listen", "127.0.0.1:0",
                          "--socket", tmp + "/d.sock", "--port",
                          "tcp://127.0.0.1:%d" % proxy.port],
                         stdout=open(out, "w"), stderr=open(tmp + "/d.err", "a"))
    procs.append(p)
    line = wait_for(lambda: [x for x in open(out).read().split("\n")
                             if "dashboard on" in x], 10)
    return p, line[-1].split("dashboard on ")[1].rstrip("/")


def core1_lines():
    """What the simulator says about core 1's slots, in order."""
    return [x for x in open(sim_log).read().split("\n") if "slot" in x]


board = start_sim()
daemon, url = start_daemon()
token = open(tmp + "/state/api-token").read().strip()
env = dict(os.environ, APPCORE_SOCKET=tmp + "/d.sock",
           APPCORE_TOKEN_FILE=tmp + "/state/api-token")


def documented(method, path, status, body):
    """The answer is as web/openapi.json says (a failed check if not)."""
    if "core1" in path or "updates" in path:
        problem = spec.problem(path, method, status, body)
        if problem:
            check(False, "%s %s: %s" % (method, path, problem))


def get(path):
    with urllib.request.urlopen(url + path, timeout=10) as r:
        body = json.loads(r.read())
    documented("GET", path, 200, body)
    return body


def post(path, body):
    req = urllib.request.Request(url + path, data=body, method="POST",
                                 headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            st, answer = r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        st, answer = e.code, json.loads(e.read())
    documented("POST", path, st, answer)
    return st, answer


def stored():
    try:
        d = get("/api/v1/devices/1")
        return d["link_health"]["samples_stored"]
    except Exception:
        return 0


def update(path, confirm=3):
    """appcorectl core1 update: its exit status and the update's id."""
    r = subprocess.run([ctl, "--json", "core1", "update", path,
                        "--confirm-after", str(confirm)], env=env,
                       capture_output=True, text=True, timeout=120)
    try:
        return r.returncode, json.loads(r.stdout)
    except ValueError:
        return r.returncode, {"raw": r.stdout + r.stderr}


def newest_sample():
    try:
        return get("/api/v1/devices/1")["last_sample_us"] or 0
    except Exception:
        return 0


def flowing():
    """Samples of core 1's counters are stored again: the newest stored
    sample's time moves on by a second (across boots too)."""
    a = newest_sample()
    return wait_for(lambda: newest_sample() > a + 1000000, 10) is not None


check(wait_for(lambda: get("/api/v1/devices/1/core1")["slots"], 10) is not None,
      "the board reports its slots (%d bytes each)" % SLOT_SIZE)

# 1. Bad input: refused before anything on the board changes.
rec0 = [read(slots + "/record-%d" % i) for i in range(2)]
lines0 = len(core1_lines())
ok_img = read(sim_image("ok", 120000, "ok"))
bad = {
    "truncated": ok_img[:20],
    "not_an_image": bytes(random.Random(1).randrange(256) for _ in range(1000)),
    "wrong_architecture": read("/bin/true"),
    "oversized": read(sim_image("ok", SLOT_SIZE + 4096, "big")),
}
entry_out = bytearray(ok_img)
struct.pack_into("<I", entry_out, 0, BASE + len(ok_img) + 64)
bad["bad_entry"] = bytes(entry_out)
for code, body in bad.items():
    st, b = post("/api/v1/devices/1/core1/update", body)
    check(st == 422 and b["error"]["code"] == code,
          "%s: %d %s: %s" % (code, st, b["error"]["code"], b["error"]["message"]))
st, b = post("/api/v1/devices/1/core1/update?sha256=" + "00" * 32, ok_img)
check(st == 400 and b["error"]["code"] == "sha256_mismatch",
      "a body that does not hash to ?sha256=: 400 sha256_mismatch")
time.sleep(0.5)
check([read(slots + "/record-%d" % i) for i in range(2)] == rec0 and
      len(core1_lines()) == lines0 and get("/api/v1/devices/1/updates")["updates"] == [],
      "none of them reached the board: slot record bytes unchanged, core 1 "
      "not switched, no update row")

# 2. A good update, confirmed.
before = stored()
t0 = time.time()
rc, u = update(tmp + "/ok.bin", confirm=2)
rec = record()
check(rc == 0 and u.get("state") == "confirmed",
      "a good update is confirmed (%.1f s, appcorectl exit %d)" % (time.time() - t0, rc))
check(rec is not None and rec["active"] == 1 and rec["trial"] == 0 and
      rec["previous"] == 0 and rec["slot"][1]["state"] == 2,
      "the slot record says: slot b active and confirmed, a to go back to")
check(slot_bytes(1, len(ok_img)) == ok_img and
      rec["slot"][1]["sha"] == hashlib.sha256(ok_img).hexdigest(),
      "slot b holds the image byte for byte")
check(core1_lines()[-1].endswith("runs slot b (ok)"),
      "the simulator says core 1 runs slot b")
check(flowing() and stored() > before, "its counters are stored")
kinds = [e["detail"] for e in get("/api/v1/devices/1/events?kind=update")["events"]]
check(any("verified" in k for k in kinds) and any("on trial" in k for k in kinds) and
      any("confirmed" in k for k in kinds),
      "every step is an event (%d)" % len(kinds))

# 3. Images that fail are rolled back to the one that ran.
for behaviour in ("panic", "hang", "no-heartbeat", "silent"):
    img = read(sim_image(behaviour, 40000, behaviour))
    rc, u = update(tmp + "/%s.bin" % behaviour, confirm=3)
    rec = record()
    took = (u.get("finished", 0) - u.get("requested", 0)) / 1e6
    check(rc == 1 and u.get("state") == "rolled-back" and took < 3 + 2,
          "%s: rolled back in %.1f s of a 3 s trial: %s" % (behaviour, took,
                                                             u.get("error")))
    check(rec["active"] == 1 and rec["trial"] == 0 and rec["slot"][0]["state"] == 3 and
          core1_lines()[-1].endswith("runs slot b (ok)"),
          "%s: slot b runs again, slot a is marked bad" % behaviour)
    check(flowing(), "%s: the old image's counters flow" % behaviour)
    if behaviour == "panic":
        c = get("/api/v1/crashes?limit=1")["crashes"][0]
        c = get("/api/v1/crashes/%d" % c["id"])
        check(c["image_hash"] == hashlib.sha256(img[40:]).hexdigest() ==
              u["elf_sha256"],
              "the trial image's crash is stored with its own image hash")

# 4. Corrupted chunks are sent again.
img = read(sim_image("ok", 150000, "ok2"))
proxy.corrupt = 0.05
rc, u = update(tmp + "/ok2.bin", confirm=1)
proxy.corrupt = 0.0
rec = record()
check(rc == 0 and proxy.flipped > 0 and u.get("sent", 0) > len(img),
      "a link that flips bits: confirmed after %d damaged pieces, %d bytes "
      "sent for %d" % (proxy.flipped, u.get("sent", 0), len(img)))
check(slot_bytes(rec["active"], len(img)) == img, "the slot holds the image")


def update_async(path, confirm):
    return subprocess.Popen([ctl, "--json", "core1", "update", path,
                             "--confirm-after", str(confirm)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)


def latest():
    return get("/api/v1/devices/1/updates")["updates"][0]


def live_have(after):
    """Bytes the board has of the update newer than id after."""
    try:
        u = get("/api/v1/devices/1/core1")["update"]
        return u["have"] if u["id"] > after else 0
    except (TypeError, KeyError):
        return 0


def resumed_at(uid):
    """Where the update's transfer resumed, as its events say."""
    ev = get("/api/v1/devices/1/events?kind=update&limit=1000")["events"]
    asked = [e["t"] for e in ev if e["detail"].startswith("update %d asked" % uid)]
    return [int(e["detail"].split("resumes at ")[1].split()[0]) for e in ev
            if "resumes at" in e["detail"] and asked and e["t"] >= asked[0]]


# 5. kill -9 of the board during the transfer: resumed from its checkpoint.
img = read(sim_image("ok", 200000, "ok3"))
proxy.rate = 20000
last = latest()["id"]
p = update_async(tmp + "/ok3.bin", 1)
check(wait_for(lambda: live_have(last) >= 60000, 30) is not None,
      "a slow transfer is under way")
board.send_signal(signal.SIGKILL)
board.wait()
board = start_sim()
out = json.loads(p.communicate(timeout=60)[0])
proxy.rate = 0
at = resumed_at(last + 1)
check(out.get("state") == "confirmed" and len(at) == 1 and at[0] >= 16384,
      "kill -9 of the board mid-transfer: resumed at %s bytes, confirmed, "
      "%d bytes sent for %d" % (at, out.get("sent", 0), len(img)))
check(slot_bytes(record()["active"], len(img)) == img, "and the slot holds the image")

# 6. kill -9 of the board during the trial: rolled back when it boots.
sim_image("ok", 30000, "ok4")
active = record()["active"]
p = update_async(tmp + "/ok4.bin", 30)
check(wait_for(lambda: record()["trial"] == 1, 10) is not None,
      "on trial for 30 s")
board.send_signal(signal.SIGKILL)
board.wait()
board = start_sim()
out = json.loads(p.communicate(timeout=60)[0])
rec = record()
check(out.get("state") == "rolled-back" and "reset" in (out.get("error") or ""),
      "kill -9 during the trial: rolled back (%s)" % out.get("error"))
check(rec["active"] == active and rec["trial"] == 0 and
      core1_lines()[-1].endswith("boots slot %s (ok)" % "ab"[active]),
      "the board boots the slot that ran before")
check(flowing(), "and its counters flow")

# 7. A daemon restart mid-transfer: the update goes on.
img = read(sim_image("ok", 200000, "ok5"))
proxy.rate = 20000
last = latest()["id"]
p = update_async(tmp + "/ok5.bin", 1)
check(wait_for(lambda: live_have(last) >= 40000, 30) is not None,
      "another slow transfer")
daemon.send_signal(signal.SIGKILL)
daemon.wait()
p.kill()
daemon, url = start_daemon()
check(wait_for(lambda: latest()["state"] == "confirmed", 60) is not None,
      "kill -9 of the daemon mid-transfer: the new daemon goes on and the "
      "update is confirmed")
proxy.rate = 0
at = resumed_at(last + 1)
check(len(at) == 1 and at[0] >= 40000,
      "it resumed where the board was, not at a checkpoint (%s bytes)" % at)
check(slot_bytes(record()["active"], len(img)) == img, "the slot holds the image")

for p in procs:
    if p.poll() is None:
        p.kill()
finish()
