#!/usr/bin/python3
"""A real CPU exception on the emulated board, through appcored (issue 11).

appcore-sim --core1 xtensa runs the board's Xtensa program under QEMU with
its gdbstub; appcored reads the board on a pty through libserialport.  For
each of three faults (--fault illegal, unaligned, bus) the test stops QEMU
at core 1's user exception vector and reads, from QEMU, the registers and
64 bytes of the stack; then lets the guest run.  The crash appcored stores
must hold the same EXCCAUSE, PC, EXCVADDR and a0-a15, its dump the same
stack bytes, and its backtrace, once `appcorectl elf add` has the board's
ELF, must name the faulting call chain.  TAP output.

usage: xtensa_crash.py APPCORED APPCORE_SIM APPCORECTL SHIM BOARD_ELF"""
import json
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from tap import check, finish, wait_for  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "xtensa"))
from gdbremote import (Gdb, free_port, mem, REG_EPC1,  # noqa: E402
                       REG_EXCCAUSE, REG_EXCSAVE1, REG_EXCVADDR, REG_SAR)

appcored, sim, ctl, shim, elf = sys.argv[1:6]


def symbol(name):
    out = subprocess.run(["xtensa-lx106-elf-nm", elf], capture_output=True,
                         text=True).stdout
    return int(re.search(r"^([0-9a-f]+) \w %s$" % name, out, re.M).group(1),
               16)


def crash_row(db):
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
        row = con.execute(
            "SELECT id, pc, sp, exccause, excvaddr, ar, dump_key, dump_size, "
            "backtrace FROM crashes WHERE dump_key IS NOT NULL").fetchone()
        con.close()
        return row
    except sqlite3.Error:
        return None


def one_fault(fault, cause, tmp):
    # Past the runtime's check for its timer interrupt (rsr.exccause,
    # beqi: 6 bytes), where only faults arrive; a0 is in EXCSAVE1 there.
    vector = symbol("ac_rt_user_entry") + 6
    region = symbol("board_region")
    port = free_port()
    env = dict(os.environ)
    env["APPCORE_QEMU_EXTRA_ARGS"] = "-gdb tcp:127.0.0.1:%d -S" % port
    simp = subprocess.Popen(
        [sim, "--core1", "xtensa:" + elf, "--link", "pty", "--rate", "1000",
         "--counters", "16", "--panic-after", "1", "--fault", fault,
         "--device-id", "xt-" + fault, "--duration", "30", "--quiet"],
        stdout=subprocess.PIPE, stderr=open(tmp + "/sim.err", "w"),
        text=True, env=env)
    pty = re.search(r"link pty (\S+)", simp.stdout.readline()).group(1)
    denv = dict(os.environ)
    denv["LD_PRELOAD"] = shim
    denv["ASAN_OPTIONS"] = denv.get("ASAN_OPTIONS", "") + \
        ":verify_asan_link_order=0"
    sock = tmp + "/appcored.sock"
    d = subprocess.Popen(
        [appcored, "--state-dir", tmp + "/state", "--port", pty, "--listen",
         "127.0.0.1:0", "--socket", sock, "--no-autodetect", "--user",
         "root"], stdout=subprocess.DEVNULL,
        stderr=open(tmp + "/d.err", "w"), env=denv)
    truth = None
    try:
        g = Gdb(port)
        g.cmd("qSupported")
        g.cmd("Z0,%x,3" % vector)
        stop = g.cmd("c")
        g.cmd("Hg2")
        regs = g.regs()
        truth = {"exccause": regs[REG_EXCCAUSE], "pc": regs[REG_EPC1],
                 "excvaddr": regs[REG_EXCVADDR], "sar": regs[REG_SAR],
                 "ar": [regs[REG_EXCSAVE1]] + regs[1:16],
                 "stack": mem(g, regs[1], 64)}
        check(stop.startswith("T05") and truth["exccause"] == cause,
              "%s: QEMU stops core 1 in its exception handler with EXCCAUSE "
              "%d (%s)" % (fault, truth["exccause"], stop))
        g.cmd("z0,%x,3" % vector)
        g.cmd("D")
        g.close()
    except (OSError, EOFError, IndexError, ValueError) as e:
        check(False, "%s: gdbstub: %s" % (fault, e))
    row = wait_for(lambda: crash_row(tmp + "/state/appcore.db"), 20)
    check(row is not None, "%s: appcored stored the crash with its dump" %
          fault)
    if row is None or truth is None:
        return
    cid, pc, sp, exccause, excvaddr, ar, dump_key, dump_size, bt = row
    ar = list(struct.unpack("<16I", ar)) if ar and len(ar) == 64 else []
    check(exccause == truth["exccause"] and pc == truth["pc"] and
          excvaddr == truth["excvaddr"] and ar == truth["ar"] and
          sp == truth["ar"][1],
          "%s: the stored EXCCAUSE %d, PC %#x, EXCVADDR %#x and a0-a15 are "
          "QEMU's at the fault" % (fault, exccause, pc, excvaddr))
    base = ["--socket", sock, "--token-file", tmp + "/state/api-token"]
    r = subprocess.run([ctl] + base + ["crash", "get", str(cid), "--format",
                                       "raw", "-o", tmp + "/dump.bin"],
                       capture_output=True, text=True)
    dump = open(tmp + "/dump.bin", "rb").read() if r.returncode == 0 else b""
    off = truth["ar"][1] - region
    check(len(dump) == dump_size and dump[off:off + 64] == truth["stack"],
          "%s: the dump holds core 1's real stack (64 bytes at SP, offset "
          "%#x of %d)" % (fault, off, len(dump)))
    r = subprocess.run([ctl] + base + ["crash", "get", str(cid), "--format",
                                       "json", "-o", tmp + "/dump.json"],
                       capture_output=True, text=True)
    try:
        sar = json.load(open(tmp + "/dump.json"))["sar"]
    except (OSError, ValueError, KeyError):
        sar = None
    check(sar == truth["sar"] and sar == 11,
          "%s: SAR %s in the dump's panic record is QEMU's (%s)" %
          (fault, sar, truth["sar"]))
    r = subprocess.run([ctl] + base + ["elf", "add", elf, "--crash",
                                       str(cid)], capture_output=True,
                       text=True)
    check(r.returncode == 0, "%s: appcorectl elf add takes the board's ELF "
          "(%s)" % (fault, (r.stdout + r.stderr).strip()[:100]))
    r = subprocess.run([ctl] + base + ["--json", "crash", "show", str(cid)],
                       capture_output=True, text=True)
    try:
        frames = json.loads(r.stdout)["symbols"]["backtrace"]
        names = [f.get("function", "?") for f in frames]
    except (ValueError, KeyError, TypeError):
        frames, names = [], [r.stdout[:200]]
    want = ["demo_fault", "demo_mixer", "demo_process", "core1_demo_main"]
    check(names[:4] == want, "%s: the backtrace names the faulting call "
          "chain: %s" % (fault, " <- ".join(map(str, names))))
    # Its lines, against addr2line on the same ELF at the same addresses
    # (for a caller, the return address its call left).
    lines = ["%s:%s" % (os.path.basename(str(f.get("file"))), f.get("line"))
             for f in frames[:4]]
    addrs = ["%x" % (f.get("call", f.get("address", 0))) for f in frames[:4]]
    a2l = subprocess.run(["xtensa-lx106-elf-addr2line", "-e", elf] + addrs,
                         capture_output=True, text=True).stdout.splitlines()
    # One line per address; "(discriminator N)" may follow the line.
    a2l = [os.path.basename(x.split(" ")[0]) for x in a2l]
    check(len(lines) == 4 and lines == a2l and
          all(x.startswith("core1_demo.c:") for x in lines),
          "%s: and its lines, as addr2line gives them: %s" %
          (fault, " <- ".join(lines)))
    # A caller is named at its call (call0: 3 bytes before the return
    # address, as the ELF's .xtensa.info says ABI=1): each caller's line
    # calls the function of the frame inside it.
    src = open(os.path.join(here, "..", "..", "firmware-agent", "port",
                            "qemu-xtensa", "core1_demo.c")).read().split("\n")
    calls = []
    for i in range(1, min(4, len(frames))):
        ln = frames[i].get("line", 0)
        calls.append(0 < ln <= len(src) and names[i - 1] + "(" in
                     src[ln - 1])
    check(len(calls) == 3 and all(calls), "%s: each caller's line is its "
          "call of the frame above it (%s)" % (fault, calls))
    for p in (d, simp):
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()


for fault, cause in (("illegal", 0), ("unaligned", 9), ("bus", 15)):
    tmp = tempfile.mkdtemp(prefix="xtensa-crash-")
    try:
        one_fault(fault, cause, tmp)
    finally:
        if tap.failed:
            for f in ("sim.err", "d.err"):
                p = os.path.join(tmp, f)
                if os.path.exists(p):
                    sys.stdout.write("".join("# " + l for l in
                                             open(p).readlines()[-8:]))
        shutil.rmtree(tmp, ignore_errors=True)
finish()
