#!/usr/bin/python3
"""Boards per host: N simulated boards (appcore-sim processes, each on a
pty through the real libserialport path) at RATE Hz x COUNTERS counters
against one appcored, for N in BOARDS.  For each N, over SECONDS of
steady state: appcored's CPU (from /proc, in % of one core), CPU per
board, the simulators' CPU (they share this machine's cores), the
samples stored per second against what the boards produced, and the
samples lost (the link's accounting and the agents' drops).  Ratios are
against the first N of the same invocation.  Asserts nothing.

With --clickhouse, appcored also forwards everything to a
clickhouse-server this script starts (docs/fleet.md); the rows sent and
dropped are then reported too (ClickHouse's CPU is on the same cores).

usage: fleet.py BUILD_DIR [--boards 1,2,4,8,16,32] [--seconds 20]
                [--rate 1000] [--counters 64] [--clickhouse]"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("build")
ap.add_argument("--boards", default="1,2,4,8,16,32")
ap.add_argument("--seconds", type=float, default=20)
ap.add_argument("--rate", type=int, default=1000)
ap.add_argument("--counters", type=int, default=64)
ap.add_argument("--clickhouse", action="store_true")
opt = ap.parse_args()
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "integration"))
build = os.path.abspath(opt.build)
appcored = build + "/daemon/appcored"
sim = build + "/firmware-agent/port/posix/appcore-sim"
shim = build + "/tests/libsp_pty_shim.so"
tick = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    try:
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / tick


def metrics(base):
    with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for m in re.finditer(r"^(\w+)(\{[^}]*\})? (\S+)$", text, re.M):
        out[m.group(1)] = out.get(m.group(1), 0) + float(m.group(3))
    return out


def wait_for(pred, secs):
    end = time.time() + secs
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    return None


def run(n, tmp, ch):
    sims, ports = [], []
    for i in range(n):
        p = subprocess.Popen(
            [sim, "--quiet", "--link", "pty", "--rate", str(opt.rate),
             "--counters", str(opt.counters), "--device-id", "rack-%02d" % i,
             "--duration", str(opt.seconds + 60)],
            stdout=subprocess.PIPE, text=True)
        sims.append(p)
        ports.append(p.stdout.readline().split()[3])
    args = [appcored, "--state-dir", tmp, "--no-autodetect", "--user",
            "root", "--listen", "127.0.0.1:0"]
    for port in ports:
        args += ["--port", port]
    if ch is not None:
        args += ["-o", "clickhouse.url=" + ch.url, "-o",
                 "clickhouse.database=fleet%d" % n]
    env = dict(os.environ, LD_PRELOAD=shim)
    d = subprocess.Popen(args, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, env=env)
    base = None
    for line in d.stdout:
        m = re.search(r"dashboard on (http://[^/]+)/", line)
        if m:
            base = m.group(1)
            break
    try:
        ok = wait_for(lambda: metrics(base).get(
            "appcore_board_connected", 0) == n, 60)
        time.sleep(3)           # past each board's first backlog
        m0, c0, s0 = metrics(base), cpu_seconds(d.pid), \
            sum(cpu_seconds(p.pid) for p in sims)
        t0 = time.time()
        time.sleep(opt.seconds)
        m1, c1, s1 = metrics(base), cpu_seconds(d.pid), \
            sum(cpu_seconds(p.pid) for p in sims)
        dt = time.time() - t0
    finally:
        d.send_signal(signal.SIGTERM)
        d.wait(60)
        for p in sims:
            p.kill()
            p.wait()

    def delta(k):
        return m1.get(k, 0) - m0.get(k, 0)
    return {
        "connected": bool(ok),
        "cpu": (c1 - c0) / dt * 100,
        "sim_cpu": (s1 - s0) / dt * 100,
        "stored": delta("appcored_samples_stored_total") / dt,
        "produced": delta("appcore_link_samples_produced_total") * opt.counters / dt,
        "lost": delta("appcore_link_samples_lost_total"),
        "dropped": delta("appcore_link_agent_samples_dropped_total"),
        "rss": m1.get("process_resident_memory_bytes", 0) / 1e6,
        "ch_sent": delta("appcored_clickhouse_rows_sent_total") / dt,
        "ch_dropped": delta("appcored_clickhouse_rows_dropped_total"),
    }


print("== Boards per host: N boards at %d Hz x %d counters, one appcored, "
      "%.0f s each (%d cores here)" % (opt.rate, opt.counters, opt.seconds,
                                        os.cpu_count()))
print("%-6s %11s %11s %9s %10s %13s %13s %8s %8s %8s" % (
    "boards", "appcored %", "per board %", "ratio", "sims %",
    "stored/s", "produced/s", "lost", "dropped", "RSS MB"))
first = None
ch = None
if opt.clickhouse:
    from chserver import ClickHouse
    ch_dir = tempfile.mkdtemp()
    ch = ClickHouse(ch_dir + "/clickhouse")
    if not ch.start():
        sys.exit("fleet.py: clickhouse-server did not start")
for n in [int(x) for x in opt.boards.split(",")]:
    tmp = tempfile.mkdtemp()
    try:
        r = run(n, tmp, ch)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    per = r["cpu"] / n
    first = first or per
    print("%-6d %11.1f %11.2f %9.2f %10.1f %13.0f %13.0f %8d %8d %8.1f%s" % (
        n, r["cpu"], per, per / first, r["sim_cpu"], r["stored"],
        r["produced"], r["lost"], r["dropped"], r["rss"],
        "" if r["connected"] else "  (not all connected)"))
    if ch is not None:
        print("       to ClickHouse: %.0f rows/s sent, %d dropped" % (
            r["ch_sent"], r["ch_dropped"]))
    sys.stdout.flush()
if ch is not None:
    ch.stop()
    shutil.rmtree(ch_dir, ignore_errors=True)
print("(appcored %: CPU of one core; ratio: CPU per board against the "
      "first row; sims %: the simulators' CPU on the same cores; stored/s:"
      " counter values committed to SQLite; lost: samples the host never "
      "got (the link's accounting); dropped: samples the agents dropped "
      "before sending)")
