#!/usr/bin/python3
"""A hang and the restart policy on the emulated board (issue 11).

appcore-sim --core1 xtensa plays core 1's RUNSTALL, RESETING and
ASSIST_DEBUG with QEMU's gdbstub: when the agent on core 0 stalls a hung
core 1, appcore-sim reads core 1's PC and SP from QEMU and logs them;
when the agent restarts it, QEMU sets core 1 going from its entry.

1. --hang-after: the hang appcored stores carries the PC and SP QEMU
   reported (appcore-sim's log), a PC in core1_demo_main's hang loop
   (addr2line); with --restart always the real program runs again from
   its entry (its start-up log line again) and hangs again.
2. --panic-after (an illegal instruction) with --restart always: core 1,
   asleep after its exception, is reset and runs again.
TAP output.

usage: xtensa_hang.py APPCORED APPCORE_SIM SHIM BOARD_ELF"""
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from tap import check, finish, wait_for  # noqa: E402

appcored, sim, shim, elf = sys.argv[1:5]


def query(db, sql):
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
        rows = con.execute(sql).fetchall()
        con.close()
        return rows
    except sqlite3.Error:
        return []


def symbol(name):
    out = subprocess.run(["xtensa-lx106-elf-nm", elf], capture_output=True,
                         text=True).stdout
    return int(re.search(r"^([0-9a-f]+) \w %s$" % name, out, re.M).group(1),
               16)


def function_at(addr):
    r = subprocess.run(["xtensa-lx106-elf-addr2line", "-f", "-e", elf,
                        "%x" % addr], capture_output=True, text=True)
    return r.stdout.splitlines()[0] if r.stdout else "?"


def board(tmp, args):
    """appcore-sim on a pty and appcored on it; returns both and the db."""
    simp = subprocess.Popen(
        [sim, "--core1", "xtensa:" + elf, "--link", "pty", "--rate", "1000",
         "--counters", "8", "--restart", "always", "--duration", "30",
         "--quiet"] + args, stdout=subprocess.PIPE,
        stderr=open(tmp + "/sim.err", "w"), text=True)
    pty = re.search(r"link pty (\S+)", simp.stdout.readline()).group(1)
    env = dict(os.environ)
    env["LD_PRELOAD"] = shim
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + \
        ":verify_asan_link_order=0"
    d = subprocess.Popen(
        [appcored, "--state-dir", tmp + "/state", "--port", pty, "--listen",
         "127.0.0.1:0", "--no-autodetect", "--user", "root"],
        stdout=subprocess.DEVNULL, stderr=open(tmp + "/d.err", "w"),
        env=env)
    return simp, d, tmp + "/state/appcore.db"


def stop(*procs):
    for p in procs:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()


def core1_starts(db):
    return query(db, "SELECT count(*) FROM logs WHERE text LIKE "
                 "'core1 up (xtensa)%'")[0][0] if os.path.exists(db) else 0


def hang(tmp):
    simp, d, db = board(tmp, ["--hang-after", "1", "--device-id", "xt-hang"])
    try:
        crashes = wait_for(lambda: len(query(
            db, "SELECT id FROM crashes WHERE kind = 'hang'")) >= 2 and
            query(db, "SELECT pc, sp FROM crashes WHERE kind = 'hang' "
                  "ORDER BY id"), 30)
        starts = wait_for(lambda: core1_starts(db) >= 2 and
                          core1_starts(db), 10) or core1_starts(db)
    finally:
        stop(d, simp)
    log = open(tmp + "/sim.err").read()
    qemu = [(int(a, 16), int(b, 16)) for a, b in re.findall(
        r"core 1 stalled at pc 0x([0-9a-f]+) sp 0x([0-9a-f]+) \(QEMU\)", log)]
    resets = [int(a, 16) for a in re.findall(
        r"core 1 reset to 0x([0-9a-f]+) \(QEMU\)", log)]
    check(bool(crashes) and bool(qemu),
          "hang: appcored stored hangs (%d), appcore-sim stalled core 1 "
          "through QEMU (%d)" % (len(crashes or []), len(qemu)))
    if not crashes or not qemu:
        return
    check(crashes[0] == qemu[0],
          "hang: the stored PC %#x and SP %#x are those QEMU reported (%s)"
          % (crashes[0][0], crashes[0][1],
             " ".join("%#x/%#x" % q for q in qemu[:2])))
    check(function_at(crashes[0][0]) == "core1_demo_main",
          "hang: the PC is in core 1's hang loop (%s)" %
          function_at(crashes[0][0]))
    entry = symbol("core1_demo_main")
    check(resets[:1] == [entry],
          "hang: the restart policy reset core 1 to its entry %#x (%s)" %
          (entry, " ".join("%#x" % r for r in resets[:2])))
    check(starts >= 2, "hang: the real program ran again from its entry "
          "(%d start-up log lines) and hung again (%d hangs)" %
          (starts, len(crashes)))


def panic(tmp):
    simp, d, db = board(tmp, ["--panic-after", "1", "--fault", "illegal",
                              "--device-id", "xt-panic"])
    try:
        panics = wait_for(lambda: len(query(
            db, "SELECT id FROM crashes WHERE kind = 'panic'")) >= 2, 30)
        starts = wait_for(lambda: core1_starts(db) >= 2 and
                          core1_starts(db), 10) or core1_starts(db)
    finally:
        stop(d, simp)
    resets = re.findall(r"core 1 reset to", open(tmp + "/sim.err").read())
    check(panics and starts >= 2 and resets,
          "panic: core 1, asleep after its exception, is reset and runs "
          "again (%d start-up lines, %d resets, a second panic: %s)" %
          (starts, len(resets), bool(panics)))


for scenario in (hang, panic):
    tmp = tempfile.mkdtemp(prefix="xtensa-hang-")
    try:
        scenario(tmp)
    finally:
        if tap.failed:
            for f in ("sim.err", "d.err"):
                p = os.path.join(tmp, f)
                if os.path.exists(p):
                    sys.stdout.write("".join("# " + l for l in
                                             open(p).readlines()[-8:]))
        shutil.rmtree(tmp, ignore_errors=True)
finish()
