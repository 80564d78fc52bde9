#!/usr/bin/python3
"""The boundary between appcored's HTTP threads and its ingest thread
(issue 10): endless queries on the TCP and the unix listener at once, and
a live memory read whose answer the link loses (frame_proxy.py drops the
first MEM frame), so it times out.  Meanwhile ingest keeps storing and
/healthz answers; afterwards the next read works.  TAP output.

usage: threads_test.py APPCORED APPCORE_SIM"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

appcored, sim = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from tap import check, wait_for  # noqa: E402
import acdb  # noqa: E402

def line_of(proc, pattern, secs):
    """The first line of proc's stdout matching pattern, within secs."""
    found = []

    def read():
        for line in proc.stdout:
            if re.search(pattern, line):
                found.append(line)
                return
    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(secs)
    return found[0] if found else None


def http(path, unix=None, timeout=10):
    """GET path over TCP or the unix socket: (status, parsed JSON)."""
    if unix:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(unix)
    else:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: localhost\r\n"
              b"Connection: close\r\n\r\n")
    out = b""
    try:
        while True:
            c = s.recv(65536)
            if not c:
                break
            out += c
    except socket.timeout:
        pass
    s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d+)", head)
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = body
    return (int(m.group(1)) if m else 0), parsed


def samples():
    st, b = http("/api/v1/query?sql=" + urllib.parse.quote(
        "SELECT count(*) FROM samples"))
    return b["rows"][0][0] if st == 200 else -1


tmp = tempfile.mkdtemp(prefix="threads-")
procs = []
try:
    s = subprocess.Popen([sim, "--quiet", "--link", "tcp:0", "--rate", "500",
                          "--counters", "8", "--duration", "120"],
                         stdout=subprocess.PIPE, text=True)
    procs.append(s)
    sport = int(re.search(r":(\d+)", line_of(s, r"link tcp", 10)).group(1))
    px = subprocess.Popen([sys.executable, here + "/frame_proxy.py", "0",
                           str(sport), "drop:MEM:1"],
                          stdout=subprocess.PIPE, text=True)
    procs.append(px)
    pport = int(line_of(px, r"listening", 10).split()[2])
    unix = tmp + "/appcored.sock"
    d = subprocess.Popen([appcored, "--state-dir", tmp + "/state",
                          "--no-autodetect", "--listen", "127.0.0.1:0",
                          "--socket", unix, "--user", "root", "--port",
                          "tcp://127.0.0.1:%d" % pport],
                         stdout=subprocess.PIPE,
                         stderr=open(tmp + "/d.err", "w"), text=True)
    procs.append(d)
    port = int(re.search(r"127\.0\.0\.1:(\d+)", line_of(
        d, r"http://127\.0\.0\.1:\d+", 10)).group(1))
    check(wait_for(lambda: samples() > 0, 15), "the board stores samples")
    st, b = http("/api/v1/devices")
    dev = b["devices"][0]["id"] if st == 200 and b["devices"] else 1

    # Endless queries on both listeners, back to back, for 8 s.
    endless = urllib.parse.quote("WITH RECURSIVE c(x) AS (SELECT 1 UNION "
                                 "ALL SELECT x + 1 FROM c) SELECT count(*) "
                                 "FROM c")
    stop = time.time() + 8
    outcomes = []

    def hammer(sock):
        while time.time() < stop:
            outcomes.append(http("/api/v1/query?sql=" + endless,
                                 unix=sock)[1])
            if "busy" in str(outcomes[-1]):
                time.sleep(0.05)        # one query at a time: ask again
    hammers = [threading.Thread(target=hammer, args=(sock,))
               for sock in (None, unix)]
    before = samples()
    for t in hammers:
        t.start()
    time.sleep(0.5)
    t0 = time.time()
    st, b = http("/api/v1/devices/%d/memory?offset=0&length=64" % dev)
    took = time.time() - t0
    check(st == 504, "a live read whose answer the link lost: 504 after "
          "%.1f s (%d)" % (took, st))
    worst = 0.0
    while time.time() < stop:
        t1 = time.time()
        hst, _ = http("/healthz", timeout=2)
        worst = max(worst, time.time() - t1 if hst == 200 else 99)
        time.sleep(0.05)
    for t in hammers:
        t.join()
    codes = [o["error"]["code"] if isinstance(o, dict) and "error" in o
             else o for o in outcomes]
    check(codes.count("query_timeout") >= 3 and
          all(c in ("query_timeout", "busy") for c in codes),
          "endless queries on TCP and unix: each stopped or told to wait "
          "(%d stopped, %d busy)" % (codes.count("query_timeout"),
                                      codes.count("busy")))
    check(worst < 0.1, "/healthz within 100 ms throughout (worst %.0f ms)" %
          (worst * 1000))
    check(samples() > before, "ingest kept storing (%d -> %d rows)" %
          (before, samples()))
    st, b = http("/api/v1/devices/%d/memory?offset=0&length=64" % dev)
    check(st == 200 and len(b.get("bytes_hex", "")) == 128,
          "the next live read works (%d)" % st)
    st, b = http("/api/v1/devices/%d/memory?offset=64&length=32" % dev,
                 unix=unix)
    check(st == 200, "and one over the unix socket (%d)" % st)
    # A clean stop while a live read waits (the link stalls: its answer
    # never comes): the read is answered 503, appcored exits 0, and what
    # it had queued is in the database.
    os.kill(px.pid, signal.SIGSTOP)
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    got = b""
    while b"ok\n" not in got:          # accepted and served: the same
        got += conn.recv(4096)          # connection asks next
    conn.sendall(b"GET /api/v1/devices/%d/memory?length=64 HTTP/1.1\r\n"
                 b"Host: localhost\r\nConnection: close\r\n\r\n" % dev)
    def waiting():
        st, body = http("/metrics")
        m = re.search(rb"appcored_live_reads_waiting (\d+)", body
                      if isinstance(body, bytes) else b"")
        return m is not None and int(m.group(1)) == 1
    check(wait_for(waiting, 2), "/metrics shows the read waiting")
    seen = samples()
    d.send_signal(signal.SIGTERM)
    rc = d.wait(15)
    answer = b""
    try:
        while True:
            c = conn.recv(65536)
            if not c:
                break
            answer += c
    except OSError:
        pass
    conn.close()
    os.kill(px.pid, signal.SIGCONT)
    m = re.match(rb"HTTP/1\.1 (\d+)", answer)
    check(rc == 0, "appcored stopped cleanly with a live read waiting "
          "(exit %s)" % rc)
    check(m is not None and m.group(1) == b"503",
          "the waiting read was answered 503 (%s)" % answer[:40])
    db = acdb.connect(tmp + "/state/appcore.db")
    stored = db.execute("SELECT count(*) FROM samples").fetchone()[0]
    stop_event = db.execute("SELECT count(*) FROM events WHERE kind = "
                            "'daemon-stop'").fetchone()[0]
    check(stored >= seen and stop_event == 1, "the store was flushed after "
          "HTTP stopped: %d rows (%d seen before), the stop event written" %
          (stored, seen))
finally:
    if tap.failed and os.path.exists(tmp + "/d.err"):
        lines = open(tmp + "/d.err").readlines()
        first = next((i for i, l in enumerate(lines) if "Sanitizer" in l),
                     max(0, len(lines) - 20))
        sys.stdout.write("".join("# " + l for l in lines[first:first + 40]))
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(tmp, ignore_errors=True)
tap.finish()
