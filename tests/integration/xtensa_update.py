#!/usr/bin/env python3
"""Core-1 updates of the emulated board: real Xtensa code swapped under
QEMU (docs/updates.md, docs/emulated-board.md).  appcored --demo runs the
board with slot files (--core1 xtensa --slots); the core-1 program built
as a slot image of its own is uploaded as its ELF, the daemon converts it,
the guest's agent writes it to a slot file, copies it where images run
and starts CPU 1 there.  Ground truth from outside the daemon: the log
line only that program writes, the slot record in the files, and, for the
program that takes an illegal instruction, addr2line on its own ELF for
the PC and backtrace the daemon stored.

usage: xtensa_update.py APPCORED SLOT_ELF PANIC_ELF
TAP output."""
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import updlib  # noqa: E402
from tap import check, finish, wait_for  # noqa: E402

appcored, slot_elf, panic_elf = sys.argv[1:4]
BASE = 0x64000000
tmp = tempfile.mkdtemp()
slots = tmp + "/slots"
os.mkdir(slots)
d, api = updlib.start_demo(appcored, tmp + "/st", "--core1 xtensa --rate "
                           "100 --slots " + slots, tmp + "/d.err")
get, post = api.get, api.post


def over(uid):
    u = get("/api/v1/updates/%d" % uid)
    return u if u["state"] in ("confirmed", "rolled-back", "failed") else None


def logs_since(t):
    return [x["text"] for x in get("/api/v1/devices/1/logs?limit=200")["logs"]
            if x["t"] >= t]


def newest_sample():
    return get("/api/v1/devices/1")["last_sample_us"] or 0


def addr2line(elf, addr):
    out = subprocess.run(["xtensa-lx106-elf-addr2line", "-f", "-e", elf,
                          hex(addr)], capture_output=True, text=True).stdout
    return out.split("\n")[0]


def slots_now():
    try:
        return get("/api/v1/devices/1/core1")["slots"]
    except urllib.error.HTTPError:
        return None         # no board yet


sl = wait_for(slots_now, 60)
check(sl is not None and sl["base"] == BASE and sl["active"] == "a",
      "the guest's agent reports its slots: images run at 0x%08x" %
      (sl or {}).get("base", 0))

# 1. The slot program, as its ELF: converted, sent, verified, run.
elf = open(slot_elf, "rb").read()
t0 = int(time.time() * 1e6)
st, u = post("/api/v1/devices/1/core1/update?confirm_after=3&name=core1.elf", elf)
check(st == 202, "the ELF is taken (%d): image %d bytes from %d of ELF" % (
    st, u.get("size", 0), len(elf)))
end = wait_for(lambda: over(u["id"]), 60)
rec = updlib.record(slots)
check(end is not None and end["state"] == "confirmed",
      "confirmed after 3 s of heartbeat (%s)" % (end or {}).get("state"))
check(rec is not None and rec["active"] == 1 and rec["trial"] == 0 and
      rec["slot"][1]["sha"] == end["image_sha256"],
      "the slot record in the files: slot B runs the image just sent")
check("core1 up (xtensa, slot image)" in logs_since(t0),
      "core 1 says it is the slot program: Xtensa code from the slot runs")
check(get("/api/v1/devices/1/core1")["slots"]["active_image"] ==
      hashlib.sha256(elf).hexdigest(),
      "the board reports the ELF's SHA-256 as its image hash")

# 2. A program that takes an illegal instruction 50 ms in: rolled back.
bad = open(panic_elf, "rb").read()
t1 = int(time.time() * 1e6)
st, u2 = post("/api/v1/devices/1/core1/update?confirm_after=5&name=panic.elf", bad)
end2 = wait_for(lambda: over(u2["id"]), 60)
took = ((end2 or {}).get("finished") or 0) - u2.get("requested", 0)
check(end2 is not None and end2["state"] == "rolled-back" and
      "panicked" in (end2.get("error") or "") and took < 5e6,
      "the panicking program is rolled back in %.2f s of a 5 s trial" % (took / 1e6))
c = get("/api/v1/crashes?limit=1")["crashes"][0]
c = get("/api/v1/crashes/%d" % c["id"])
check(c["exccause"] == 0 and BASE <= c["pc"] < BASE + u2["size"] and
      c["image_hash"] == hashlib.sha256(bad).hexdigest(),
      "its crash: EXCCAUSE 0 at 0x%08x, inside the slot image, with its "
      "own image hash" % c["pc"])
rep = get("/api/v1/crashes/%d/report" % c["id"])["symbols"]
names = [f.get("function") for f in rep.get("backtrace", [])]
truth = [addr2line(panic_elf, f["address"]) for f in rep.get("backtrace", [])]
check(names[:4] == ["demo_fault", "demo_mixer", "demo_process",
                    "core1_demo_main"] and names == truth,
      "named from the uploaded ELF as addr2line names them: %s" % " <- ".join(names))
check(wait_for(lambda: "core1 up (xtensa, slot image)" in logs_since(t1 + 100000),
               10) is not None and updlib.record(slots)["active"] == 1,
      "the slot program runs again, slot B as the record says")
a = newest_sample()
check(wait_for(lambda: newest_sample() > a + 1000000, 10) is not None,
      "and its counters flow")

d.terminate()
d.wait(timeout=30)
finish()
