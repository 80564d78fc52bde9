#!/usr/bin/env python3
"""Core-1 updates under random faults (docs/updates.md, "Soak"): N updates
of random images into a simulated board with slot files, each with one
fault picked at random: none, an image that panics, hangs, never beats or
never starts, a body the daemon must refuse, a board reset (kill -9) at a
random instant, a link cut at a random instant, or a link that flips
bits.  After every one, from outside the daemon (the slot files, the
slot record decoded in updlib, the simulator's log):

  - the update is over (confirmed, rolled back or failed), or was refused;
  - the record is whole, no trial is left open, and core 1 runs the slot
    the record names (the simulator says so);
  - the bytes of that slot hash to the SHA-256 the record holds;
  - confirmed means the new image runs; anything else, the one before.

usage: update_soak.py APPCORED APPCORE_SIM CORE1_IMAGE_PY N [SEED]
TAP output: one line per update, then a summary line."""
import hashlib
import os
import random
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import updlib  # noqa: E402
from tap import check, finish, wait_for  # noqa: E402

appcored, sim_bin, mkimage, count = sys.argv[1:5]
count = int(count)
seed = int(sys.argv[5]) if len(sys.argv) > 5 else 1
rng = random.Random(seed)
tmp = tempfile.mkdtemp()
rig = updlib.Rig(tmp, appcored, sim_bin, 131072, rate=100)
rig.start_sim()
rig.start_daemon()
FAULTS = ["none", "panic", "hang", "no-heartbeat", "silent", "refused",
          "reset", "cut", "corrupt"]
OVER = ("confirmed", "rolled-back", "failed")
tally = {}


def update_of(uid):
    try:
        return rig.get("/api/v1/updates/%d" % uid)
    except Exception:
        return None


def running_slot():
    """The slot the simulator last said core 1 runs."""
    line = rig.core1_lines()[-1]
    return "ab".index(line.split("slot ")[1][0])


def refused_body(img):
    kind = rng.choice(["truncated", "magic", "entry", "oversized"])
    if kind == "truncated":
        return img[:rng.randrange(40)]
    if kind == "magic":
        return img[:4] + b"XXXX" + img[8:]
    if kind == "entry":
        return (updlib.BASE + len(img) + 4).to_bytes(4, "little") + img[4:]
    return img + bytes(131072)


def fault_later(fault, uid, size):
    """A reset or a cut at a random instant of the update's life."""
    def go():
        time.sleep(rng.uniform(0, 0.3 + size / 400000 + 2.2))
        if fault == "cut":
            rig.proxy.cut()
        else:
            rig.kill_sim()
            rig.start_sim()
    t = threading.Thread(target=go)
    t.start()
    return t


def one(i):
    fault = rng.choice(FAULTS)
    behaviour = fault if fault in ("panic", "hang", "no-heartbeat",
                                   "silent") else "ok"
    size = rng.randrange(1000, 100000)
    img = updlib.read(updlib.sim_image(mkimage, tmp, behaviour, size,
                                       "img%d" % (i % 4)))
    before = rig.record()
    before_active = before["active"] if before else 0
    rig.proxy.corrupt = 0.05 if fault == "corrupt" else 0.0
    body = refused_body(img) if fault == "refused" else img
    st, u = rig.post("/api/v1/devices/1/core1/update?confirm_after=2", body)
    if fault == "refused":
        outcome = "refused" if st in (400, 422) else "accepted:%d" % st
        ok_outcome = st in (400, 422)
        end = None
    else:
        t = fault_later(fault, u["id"], size) if fault in ("reset", "cut") \
            else None
        end = wait_for(lambda: (lambda x: x if x and x["state"] in OVER
                                else None)(update_of(u["id"])), 90, 0.1)
        if t is not None:
            t.join()
        outcome = end["state"] if end else "not over"
        want = {"none": "confirmed", "corrupt": "confirmed",
                "cut": "confirmed"}.get(fault)
        if fault in ("panic", "hang", "no-heartbeat", "silent"):
            want = "rolled-back"
        ok_outcome = end is not None and (want is None or outcome == want)
    rig.proxy.corrupt = 0.0
    # The board after it: settled (a reset may still be booting).
    rec = wait_for(lambda: (lambda r: r if r and not r["trial"] else None)(
        rig.record()), 10)
    problems = []
    if rec is None:
        problems.append("no whole record without a trial")
    else:
        a = rec["active"]
        s = rec["slot"][a]
        if wait_for(lambda: running_slot() == a, 5) is None:
            problems.append("core 1 runs slot %d, the record says %d" %
                            (running_slot(), a))
        if s["size"] and hashlib.sha256(rig.slot_bytes(a, s["size"])) \
                .hexdigest() != s["sha"]:
            problems.append("slot %d does not hash to its record" % a)
        new = s["sha"] == hashlib.sha256(img).hexdigest()
        if outcome == "confirmed" and not new:
            problems.append("confirmed, but the new image does not run")
        if outcome != "confirmed" and new:
            problems.append("%s, but the new image runs" % outcome)
        if outcome != "confirmed" and a != before_active:
            problems.append("%s, but slot %d runs, not %d as before" %
                            (outcome, a, before_active))
    if i % 10 == 9 and not rig.flowing():
        problems.append("core 1's counters do not flow")
    tally[(fault, outcome)] = tally.get((fault, outcome), 0) + 1
    check(ok_outcome and not problems, "update %d: %s -> %s%s" % (
        i + 1, fault, outcome, "; " + "; ".join(problems) if problems else ""))


t0 = time.time()
for i in range(count):
    one(i)
rig.stop()
print("# %d updates in %.0f s (seed %d): %s" % (
    count, time.time() - t0, seed, ", ".join(
        "%s->%s %d" % (f, o, n) for (f, o), n in sorted(tally.items()))))
finish()
