#!/usr/bin/env python3
"""Core-1 image update over a link as fast as a 921600-baud UART (92 160
bytes/s host to board through a rate-limiting proxy), next to 256 KiB of
plain bytes through the same proxy in the same invocation; then the time
from core 1 stopped to the new image's first heartbeat as the agent saw
it (the simulator's log).  Prints figures only.

usage: bench/update.py BUILDDIR"""
import os
import re
import socket
import sys
import tempfile
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "integration"))
import updlib  # noqa: E402
from tap import wait_for  # noqa: E402

bdir = sys.argv[1]
RATE = 92160
SIZE = 256 * 1024
mkimage = os.path.join(here, "..", "firmware-agent", "tools", "core1_image.py")


def plain_bytes():
    """SIZE bytes from a plain sender through the proxy: seconds."""
    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen(1)
    proxy = updlib.Proxy()
    proxy.target = sink.getsockname()[1]
    proxy.rate = RATE
    got = []

    def drain():
        c, _ = sink.accept()
        n = 0
        while n < SIZE:
            d = c.recv(65536)
            if not d:
                break
            n += len(d)
        got.append(time.time())
    t = threading.Thread(target=drain)
    t.start()
    host = socket.create_connection(("127.0.0.1", proxy.port))
    t0 = time.time()
    host.sendall(bytes(SIZE))
    t.join()
    host.close()
    return got[0] - t0


def update_time(tmp):
    rig = updlib.Rig(tmp, bdir + "/daemon/appcored",
                     bdir + "/firmware-agent/port/posix/appcore-sim",
                     SIZE + 4096, rate=100)
    rig.start_sim()
    rig.start_daemon()
    wait_for(lambda: rig.get("/api/v1/devices/1/core1")["slots"], 10)
    rig.proxy.rate = RATE
    img = updlib.read(updlib.sim_image(mkimage, tmp, "ok", SIZE, "img"))
    t0 = time.time()
    st, u = rig.post("/api/v1/devices/1/core1/update?confirm_after=1", img)
    ready = wait_for(lambda: [e for e in rig.get(
        "/api/v1/devices/1/events?kind=update")["events"]
        if "verified" in e["detail"]], 120, 0.02)
    t_ready = time.time() - t0
    wait_for(lambda: rig.get("/api/v1/updates/%d" % u["id"])["state"] in
             ("confirmed", "rolled-back", "failed"), 30)
    end = rig.get("/api/v1/updates/%d" % u["id"])
    beat = wait_for(lambda: re.findall(
        r"first heartbeat of slot . ([0-9.]+) ms", open(rig.sim_log).read()),
        10)
    rig.stop()
    return t_ready if ready else None, end, beat


def qemu_first_beats(tmp, n=5):
    """The emulated board (real Xtensa code under QEMU, 1 kHz): n updates
    with the demo's slot program; core 1 stopped to the new image's first
    heartbeat, as the guest's agent saw it (its stderr line)."""
    elf = bdir + "/firmware-agent/port/qemu-xtensa/appcore-core1-xtensa.elf"
    os.makedirs(tmp + "/qslots")
    d, api = updlib.start_demo(bdir + "/daemon/appcored", tmp + "/qst",
                               "--core1 xtensa --rate 1000 --slots " + tmp +
                               "/qslots", tmp + "/q.err")
    body = open(elf, "rb").read()
    for _ in range(n):
        u = wait_for(lambda: (lambda r: r[1] if r[0] == 202 else None)(
            api.post("/api/v1/devices/1/core1/update?confirm_after=1",
                     body)), 10)    # the board may not be there yet
        wait_for(lambda: api.get("/api/v1/updates/%d" % u["id"])["state"] in
                 ("confirmed", "rolled-back", "failed"), 30)
    d.terminate()
    d.wait(timeout=30)
    return [int(x) / 1000 for x in re.findall(
        r"first heartbeat (\d+) us after", open(tmp + "/q.err").read())]


with tempfile.TemporaryDirectory() as tmp:
    print("== Core-1 update of 256 KiB over a 921600-baud link (%d B/s), "
          "100 Hz x 8 counters alongside" % RATE)
    base = plain_bytes()
    t, end, beat = update_time(tmp)
    print("  plain bytes through the link (baseline)  %.3f s" % base)
    print("  update, from the request to verified      %.3f s  (%d bytes "
          "sent, %s)" % (t, end.get("sent", 0), end["state"]))
    print("  ratio                                      %.2f" % (t / base))
    print("  core 1 stopped -> new image's first heartbeat (agent's view): "
          "%s ms" % (beat[0] if beat else "not seen"))
    beats = sorted(qemu_first_beats(tmp))
    print("  the same on the emulated board (Xtensa under QEMU, 1 kHz, %d "
          "updates): median %.1f ms, %s" % (len(beats), beats[len(beats) // 2]
                                             if beats else 0,
                                             " ".join("%.1f" % b for b in beats)))
