#!/usr/bin/env python3
"""A Rust core 1 end to end: appcore-sim --core1 rust (the workload written
against the appcore-core1 crate, linked in as a static library) at 1 kHz x
64 into appcored over a pty (libserialport through the test shim).  Its
samples equal the simulator's ground truth in SQLite (check_db.py: none
wrong, none lost once storing began, the boot's accounting exact); its
counters, log lines, RTT channels and its Rust panic (the message and
file:line of the panic! in src/workload.rs, found in the source, not in
the daemon) come out of the API and appcorectl as the C workload's do.

usage: rust_core1.py APPCORED APPCORE_SIM SHIM APPCORECTL"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from tap import check, finish, wait_for  # noqa: E402
import acdb  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
appcored, sim, shim, ctl = sys.argv[1:5]
workload_rs = os.path.join(here, "../../firmware-agent/rust/"
                           "appcore-core1-host/src/workload.rs")


def panic_line():
    """The line of the workload's panic!, from its source."""
    for i, line in enumerate(open(workload_rs), 1):
        if "appcore-test: rust panic line" in line:
            return i
    return None


def lines_with(path, text):
    try:
        return [x for x in open(path).read().split("\n") if text in x]
    except FileNotFoundError:
        return []


def get(url, path):
    with urllib.request.urlopen(url + path, timeout=10) as r:
        return json.loads(r.read())


tmp = tempfile.mkdtemp(prefix="rust-core1-")
truth = tmp + "/truth"
procs = []
try:
    s = subprocess.Popen(
        [sim, "--core1", "rust", "--link", "pty", "--rate", "1000",
         "--counters", "64", "--device-id", "rust-board", "--truth", truth,
         "--panic-after", "4", "--duration", "7", "--quiet"],
        stdout=open(tmp + "/sim.out", "w"), stderr=open(tmp + "/sim.err", "w"))
    procs.append(s)
    link = wait_for(lambda: lines_with(tmp + "/sim.out", "link pty"), 10)
    pty = link[0].split()[3]
    d = subprocess.Popen(
        [appcored, "--state-dir", tmp + "/state", "--user", "root",
         "--no-autodetect", "--listen", "127.0.0.1:0", "--port", pty,
         "--socket", tmp + "/d.sock"],
        env=dict(os.environ, LD_PRELOAD=shim, ASAN_OPTIONS=os.environ.get(
            "ASAN_OPTIONS", "") + ":verify_asan_link_order=0"),
        stdout=open(tmp + "/d.out", "w"), stderr=open(tmp + "/d.err", "w"))
    procs.append(d)
    line = wait_for(lambda: lines_with(tmp + "/d.out", "dashboard on"), 10)
    url = line[-1].split("dashboard on ")[1].rstrip("/")

    crash = wait_for(lambda: get(url, "/api/v1/crashes")["crashes"], 20)
    check(crash and len(crash) == 1, "the Rust panic is one crash in the API")
    c = crash[0] if crash else {}
    want = r"^buffer overrun: fill \d+ > 240 frames at block \d+$"
    check(re.match(want, c.get("message") or "") is not None,
          "its message is the panic!'s, formatted by core::fmt: %r"
          % c.get("message"))
    check(c.get("file") == "src/workload.rs" and c.get("line") == panic_line(),
          "its file:line is the panic!'s in the source: %s:%s (source: %s)"
          % (c.get("file"), c.get("line"), panic_line()))
    check(c.get("reason") == "explicit", "reason explicit: %s" % c.get("reason"))

    dev = get(url, "/api/v1/devices/1")
    names = [x["name"] for x in dev.get("counters", [])]
    check(len(names) == 64 and names[0] == "audio.frames" and
          names[14] == "ch0.peak" and names[63] == "ch24.clips",
          "the 64 counters the Rust workload registered: %s ... %s"
          % (names[:2], names[-1:]))

    def logs():
        return [x["text"] for x in
                get(url, "/api/v1/devices/1/logs?limit=500")["logs"]]

    logs = wait_for(lambda: [x for x in logs() if "panicked" in x] and
                    logs(), 10) or logs()
    check(any(x == "core1 up (rust): run 1, 64 counters" for x in logs),
          "the Rust workload's first log line, formatted by core::fmt")
    check(any(re.match(r"^panicked at src/workload\.rs:%d$" % panic_line(), x)
              for x in logs),
          "the panic handler's log line names file:line")

    # RTT: the workload logs once a second through its own SEGGER RTT
    # control block, a text line on "Terminal" and the same block and
    # load as a binary frame on "defmt"; the agent finds and streams it.
    rows = get(url, "/api/v1/devices/1/logs?limit=500")["logs"]
    text = {}
    for x in rows:
        m = re.match(r"^rtt: block (\d+) dsp\.load (\d+) permil$", x["text"])
        if x["channel"] == "rtt0 Terminal" and m and not x["binary"]:
            text[int(m.group(1))] = int(m.group(2))
    # RTT is a byte stream: the rows of a binary channel, oldest first,
    # are one stream of 7-byte frames however the agent cut it.
    stream = b"".join(bytes.fromhex(x["text"].replace(" ", ""))
                      for x in reversed(rows)
                      if x["channel"] == "rtt1 defmt" and x["binary"])
    frames = {}
    for i in range(0, len(stream) - 6, 7):
        b = stream[i:i + 7]
        if b[0] == 1:
            frames[int.from_bytes(b[1:5], "little")] = \
                int.from_bytes(b[5:7], "little")
    m = re.search(r"at block (\d+)$", c.get("message") or "")
    last = int(m.group(1)) if m else 0
    want = list(range(0, last, 1000))
    check(len(want) >= 2 and sorted(text) == want,
          "RTT text lines of every 1000th block before the panic's (%d), "
          "each whole, tagged with their channel: %s" % (last, sorted(text)))
    check(frames == text and len(stream) == 7 * len(frames),
          "the defmt channel's bytes, kept as bytes (shown as hex), are one "
          "stream of frames that say the same blocks and loads: %s" % frames)
    out = subprocess.run([ctl, "--socket", tmp + "/d.sock", "logs",
                          "--limit", "200"], capture_output=True,
                         text=True).stdout
    check(re.search(r"\[rtt0 Terminal\] rtt: block \d+ dsp\.load", out) and
          re.search(r"\[rtt1 defmt, hex\] 01( [0-9a-f]{2}){6}\n", out),
          "appcorectl logs tags both RTT channels")
    ev = get(url, "/api/v1/devices/1/events?limit=500")["events"]
    check(any(e["kind"] == "rtt-found" for e in ev) and
          not any(e["kind"] == "rtt-refused" for e in ev),
          "an rtt-found event, no refusal")

    check(s.wait(timeout=30) == 0, "the simulator finished")
    wait_for(lambda: lines_with(tmp + "/d.out", "link down") or
             lines_with(tmp + "/d.err", "link down"), 10)
    d.send_signal(signal.SIGTERM)
    check(d.wait(timeout=30) == 0, "appcored stopped cleanly")
    r = subprocess.run([sys.executable, here + "/check_db.py",
                        tmp + "/state/appcore.db", "rust-board", truth,
                        "--subset", "--lossless-after-first",
                        "--accounting"],
                       capture_output=True, text=True)
    for x in (r.stdout + r.stderr).strip().split("\n"):
        print("# " + x)
    check(r.returncode == 0, "every sample in SQLite equals the ground truth, "
          "none lost once storing began, the boot's accounting exact "
          "(check_db.py above)")
    db = acdb.connect(tmp + "/state/appcore.db")
    n = db.execute("SELECT count(*) FROM samples").fetchone()[0]
    check(n > 64 * 5000, "%d raw samples stored" % n)
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
    subprocess.run(["rm", "-rf", tmp])
finish()
