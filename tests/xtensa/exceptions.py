#!/usr/bin/python3
"""Real CPU exceptions on core 1 become the panic record, register for
register as QEMU saw them at the fault (issue 11).

For each of three causes (an illegal instruction, an unaligned load, a
load nothing answers) a two-CPU image is built with xtensa-lx106-elf-gcc:
CPU 0 plays core 0 (tests/xtensa/exc/core0.c), CPU 1 runs core 1 with the
core-1 runtime (firmware-agent/core1/xtensa).  The test stops QEMU at core
1's user exception vector through QEMU's gdbstub and reads EXCCAUSE, EPC1,
EXCVADDR and a0-a15 there; then lets it run: the runtime's panic record,
printed by core 0, must hold the same values, and its backtrace must name
the faulting call chain (addr2line on the ELF).  TAP output.

usage: exceptions.py SOURCE_ROOT WORK_DIR"""
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdbremote import (Gdb, free_port, REG_PC, REG_EPC1,  # noqa: E402
                       REG_EXCCAUSE, REG_PRID, REG_EXCVADDR, REG_SAR)

src, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import tap  # noqa: E402
from tap import check  # noqa: E402

def build(fault):
    elf = os.path.join(work, "exc%d.elf" % fault)
    flags = ["--specs=/usr/lib/xtensa-lx106-elf/picolibc.specs",
             "-ffreestanding", "-std=c11", "-O2", "-g", "-Wall", "-Wextra",
             "-Werror", "-mtext-section-literals",
             "-I" + src + "/firmware-agent/include",
             "-I" + src + "/firmware-agent/core1/xtensa",
             "-I" + src + "/firmware-agent/port/qemu-xtensa",
             "-DFAULT=%d" % fault, "-nostartfiles",
             "-Wl,--no-warn-rwx-segments",
             "-T", src + "/firmware-agent/port/qemu-xtensa/xtensa.ld"]
    files = ["firmware-agent/port/qemu-xtensa/start.S",
             "tests/xtensa/exc/core0.c",
             "tests/xtensa/exc/core1.c",
             "firmware-agent/core1/xtensa/vectors.S",
             "firmware-agent/core1/xtensa/exception.c",
             "firmware-agent/port/qemu-xtensa/libgcc_extra.c"]
    r = subprocess.run(["xtensa-lx106-elf-gcc"] + flags +
                       [src + "/" + f for f in files] + ["-o", elf],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.stdout.write("".join("# " + l + "\n"
                                 for l in r.stderr.splitlines()))
    return elf if r.returncode == 0 else None


def symbol(elf, name):
    out = subprocess.run(["xtensa-lx106-elf-nm", elf], capture_output=True,
                         text=True).stdout
    m = re.search(r"^([0-9a-f]+) \w %s$" % name, out, re.M)
    return int(m.group(1), 16)


def run(fault, what):
    elf = build(fault)
    check(elf is not None, "%s: the two-CPU image builds" % what)
    if elf is None:
        return
    vector = symbol(elf, "ac_rt_vector_base") + 0x50    # user exception
    port = free_port()
    out = open(os.path.join(work, "exc%d.out" % fault), "w+")
    qemu = subprocess.Popen(
        ["timeout", "60", "qemu-system-xtensa", "-M", "sim", "-cpu", "lx106",
         "-smp", "2", "-nographic", "-monitor", "none", "-semihosting",
         "-gdb", "tcp:127.0.0.1:%d" % port, "-S", "-kernel", elf],
        stdout=out, stderr=subprocess.STDOUT)
    truth = {}
    try:
        g = Gdb(port)
        g.cmd("qSupported")
        g.cmd("Z0,%x,3" % vector)
        stop = g.cmd("c")
        m = re.search(r"thread:(?:p[0-9a-f]+\.)?([0-9a-f]+);", stop)
        thread = int(m.group(1), 16) if m else 0
        check(stop.startswith("T05") and thread == 2,
              "%s: QEMU stops CPU 1 at the user exception vector (%s)" %
              (what, stop))
        g.cmd("Hg%x" % thread)
        regs = g.regs()
        truth = {"exccause": regs[REG_EXCCAUSE], "pc": regs[REG_EPC1],
                 "excvaddr": regs[REG_EXCVADDR], "sar": regs[REG_SAR]}
        for i in range(16):
            truth["a%d" % i] = regs[i]
        check(regs[REG_PRID] == 1 and regs[REG_PC] == vector,
              "%s: the stopped CPU is core 1 (PRID %d) at its vector" %
              (what, regs[REG_PRID]))
        g.cmd("z0,%x,3" % vector)
        g.cmd("D")
        g.close()
    except (OSError, EOFError, IndexError, ValueError) as e:
        check(False, "%s: gdbstub: %s" % (what, e))
    rc = qemu.wait(70)
    out.seek(0)
    text = out.read()
    record = {k: int(v, 16) for k, v in
              re.findall(r"^(\w+) (0x[0-9a-f]+)$", text, re.M)
              if k != "bt"}
    bt = [int(v, 16) for v in re.findall(r"^bt (0x[0-9a-f]+)$", text, re.M)]
    check(rc == 0 and record.get("reason") == 3,
          "%s: core 0 sees core 1 panic with reason exception (exit %d)" %
          (what, rc))
    diffs = [k for k in truth if record.get(k) != truth[k]]
    check(truth and not diffs,
          "%s: EXCCAUSE %s, EPC1 %s, EXCVADDR %s, SAR %s and a0-a15 in the "
          "panic record equal QEMU's at the fault%s" %
          (what, truth.get("exccause"), hex(truth.get("pc", 0)),
           hex(truth.get("excvaddr", 0)), truth.get("sar"),
           "" if not diffs else "; differ: " + ", ".join(
               "%s %s vs %s" % (k, hex(record.get(k, -1)), hex(truth[k]))
               for k in diffs)))
    names = []
    if bt:
        r = subprocess.run(["xtensa-lx106-elf-addr2line", "-f", "-e", elf] +
                           ["%x" % (a if i == 0 else a - 3)
                            for i, a in enumerate(bt)],
                           capture_output=True, text=True)
        names = r.stdout.splitlines()[0::2]
    want = ["fault_inner", "fault_middle", "fault_outer", "core1_main"]
    check(names[:4] == want, "%s: the backtrace names the call chain: %s" %
          (what, " <- ".join(names)))
    return truth.get("exccause")


causes = {}
for fault, what, cause in ((1, "illegal instruction", 0),
                           (2, "unaligned load", 9),
                           (3, "load nothing answers", 15)):
    got = run(fault, what)
    check(got == cause, "%s: EXCCAUSE %s (expected %d)" % (what, got, cause))
tap.finish()
