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
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import updlib  # noqa: E402
from openapi_check import Spec  # noqa: E402
from tap import check, finish, wait_for  # noqa: E402
from updlib import BASE, Rig, read  # noqa: E402

appcored, sim_bin, ctl, mkimage, spec_path = sys.argv[1:6]
spec = Spec(spec_path)
tmp = tempfile.mkdtemp()
SLOT_SIZE = 262144
rig = Rig(tmp, appcored, sim_bin, SLOT_SIZE)
proxy = rig.proxy
rig.start_sim()
rig.start_daemon()
record, slot_bytes, core1_lines = rig.record, rig.slot_bytes, rig.core1_lines
slots = rig.slots


def sim_image(behaviour, size, name):
    return updlib.sim_image(mkimage, tmp, behaviour, size, name)


def documented():
    """Every answer of the update routes so far is as web/openapi.json
    says (a failed check for each that is not)."""
    for method, path, status, body in rig.answered:
        if "core1" in path or "updates" in path:
            problem = spec.problem(path, method, status, body)
            if problem:
                check(False, "%s %s: %s" % (method, path, problem))
    rig.answered.clear()


def get(path):
    body = rig.get(path)
    documented()
    return body


def post(path, body):
    answer = rig.post(path, body)
    documented()
    return answer


def stored():
    try:
        return get("/api/v1/devices/1")["link_health"]["samples_stored"]
    except Exception:
        return 0


def update(path, confirm=3):
    """appcorectl core1 update: its exit status and the update's id."""
    r = subprocess.run([ctl, "--json", "core1", "update", path,
                        "--confirm-after", str(confirm)], env=rig.env,
                       capture_output=True, text=True, timeout=120)
    try:
        return r.returncode, json.loads(r.stdout)
    except ValueError:
        return r.returncode, {"raw": r.stdout + r.stderr}


flowing = rig.flowing


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
                             "--confirm-after", str(confirm)], env=rig.env,
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


def slow_update(name, have, what):
    """An update through a slow link, once the board has have bytes:
    the image, the id before it, the appcorectl process."""
    img = read(sim_image("ok", 200000, name))
    proxy.rate = 20000
    last = latest()["id"]
    p = update_async(tmp + "/%s.bin" % name, 1)
    check(wait_for(lambda: live_have(last) >= have, 30) is not None, what)
    return img, last, p


# 5. kill -9 of the board during the transfer: resumed from its checkpoint.
img, last, p = slow_update("ok3", 60000, "a slow transfer is under way")
rig.kill_sim()
rig.start_sim()
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
rig.kill_sim()
rig.start_sim()
out = json.loads(p.communicate(timeout=60)[0])
rec = record()
check(out.get("state") == "rolled-back" and "reset" in (out.get("error") or ""),
      "kill -9 during the trial: rolled back (%s)" % out.get("error"))
check(rec["active"] == active and rec["trial"] == 0 and
      core1_lines()[-1].endswith("boots slot %s (ok)" % "ab"[active]),
      "the board boots the slot that ran before")
check(flowing(), "and its counters flow")

# 7. A daemon restart mid-transfer: the update goes on.
img, last, p = slow_update("ok5", 40000, "another slow transfer")
rig.kill_daemon()
p.kill()
rig.start_daemon()
check(wait_for(lambda: latest()["state"] == "confirmed", 60) is not None,
      "kill -9 of the daemon mid-transfer: the new daemon goes on and the "
      "update is confirmed")
proxy.rate = 0
at = resumed_at(last + 1)
check(len(at) == 1 and at[0] >= 40000,
      "it resumed where the board was, not at a checkpoint (%s bytes)" % at)
check(slot_bytes(record()["active"], len(img)) == img, "the slot holds the image")

rig.stop()
finish()
