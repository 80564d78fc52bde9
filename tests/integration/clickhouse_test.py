#!/usr/bin/python3
"""appcored forwarding raw history to a real clickhouse-server (Debian's,
started here on loopback from a config this test writes).

1. Restart: while the simulated board runs, ClickHouse is stopped and
   started again.  Afterwards the samples in ClickHouse are, counter by
   counter, exactly the simulator's ground truth (its truth log and
   clock), at times within [-1 ms, +100 ms] of the simulator's wall
   clock, and the same rows as the SQLite database; events, logs and the
   crash are there too; nothing was dropped.
2. Bound: ClickHouse is down for a whole run and the queue is 1 MiB:
   rows are dropped and counted, what was held is sent once ClickHouse is
   back, and sent + dropped equals everything appcored stored.
TAP output.

0. Escaping: rows whose strings hold every byte 1..255, written by
   appcored's row writer (tests/tools/chrows_hostile), go into ClickHouse
   and come back byte for byte: ClickHouse's own parser is the judge.

usage: clickhouse_test.py APPCORED CHROWS_HOSTILE"""
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import acdb  # noqa: E402
from chserver import ClickHouse  # noqa: E402
from tap import check, finish, wait_for  # noqa: E402

appcored, chrows_hostile = sys.argv[1:3]
tmp = tempfile.mkdtemp()
procs = []
ch = ClickHouse(tmp + "/clickhouse")


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    ch.stop()
    shutil.rmtree(tmp, ignore_errors=True)


atexit.register(cleanup)   # also when a check raises


def start_appcored(name, sim_args, *opts):
    state = tmp + "/" + name
    args = [appcored, "--demo", "--state-dir", state, "--user", "root",
            "--listen", "127.0.0.1:0", "-o", "clickhouse.url=" + ch.url,
            "-o", "clickhouse.database=" + name, "--sim-args", sim_args]
    for o in opts:
        args += ["-o", o]
    p = subprocess.Popen(args, stdout=subprocess.PIPE,
                         stderr=open(state + ".err", "w"), text=True)
    procs.append(p)
    for line in p.stdout:
        m = re.search(r"dashboard on (http://[^/]+)/", line)
        if m:
            return p, m.group(1), state + "/appcore.db"
    return p, None, None


def metrics(base):
    try:
        with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return {}
    return {m.group(1): float(m.group(2)) for m in re.finditer(
        r"^(appcored_clickhouse_\w+|appcore_board_connected\{[^}]*\}) "
        r"(\S+)$", text, re.M)}


def metric_at_least(base, name, value):
    return lambda: metrics(base).get(name, -1) >= value


def stop(p):
    p.send_signal(signal.SIGTERM)
    return p.wait(60)


# ---- ground truth ----

def read_truth(path):
    wall0 = int(open(path + ".clock").read().split()[0])
    rows = [line.split() for line in open(path)]
    return [(wall0 + int(f[1]), [int(x) for x in f[2:]]) for f in rows]


def counters_of(db):
    """name -> (index, signed): the board's counter table."""
    con = acdb.connect(db, ro=True)
    out = {name: (idx, signed) for idx, name, signed in con.execute(
        "SELECT idx, name, signed FROM counters WHERE kind != 'unused'")}
    con.close()
    return out


def compare_with_truth(series, truth, counters):
    """Per counter: the values in order equal the truth's column, each
    time within [-1 ms, +100 ms] of the simulator's clock.  Returns the
    problems (empty: none)."""
    problems = []
    for name, (idx, signed) in sorted(counters.items()):
        want = [(t, (v - (1 << 32) if signed and v >= 1 << 31 else v))
                for t, v in ((t, vals[idx]) for t, vals in truth)]
        got = series.get(name, [])
        if len(got) != len(want):
            problems.append("%s: %d rows, truth %d" % (name, len(got),
                                                       len(want)))
            continue
        for (gt, gv), (wt, wv) in zip(got, want):
            if gv != wv or not -1000 <= gt - wt <= 100000:
                problems.append("%s: (%d, %d) where the truth has (%d, %d)"
                                % (name, gt, gv, wt, wv))
                break
    return problems


def clickhouse_series(db, board):
    series = {}
    for counter, t, v in ch.query(
            "SELECT counter, t_us, value FROM %s.samples FINAL WHERE "
            "board = '%s' ORDER BY counter, t_us" % (db, board)):
        series.setdefault(counter, []).append((int(t), int(v)))
    return series


def sqlite_rows(db, sql):
    con = acdb.connect(db, ro=True)
    rows = sorted(tuple(r) for r in con.execute(sql))
    con.close()
    return rows


started = ch.start()
check(started, "clickhouse-server %s starts on loopback"
      % (ch.query("SELECT version()")[0][0] if started else "?"))
if not started:
    cleanup()
    finish()

# ---- 0. the escaping, judged by ClickHouse's parser ----
hexfile = tmp + "/hostile.hex"
tsv = subprocess.run([chrows_hostile, "2000", hexfile], check=True,
                     capture_output=True).stdout
ch.query("CREATE DATABASE hostile")
ch.query("CREATE TABLE hostile.events (board String, boot String, t_us "
         "Int64, kind String, count UInt64, detail String) ENGINE = "
         "MergeTree() ORDER BY t_us")
req = urllib.request.Request(
    ch.url + "?query=" + urllib.parse.quote(
        "INSERT INTO hostile.events FORMAT TabSeparated"), data=tsv)
with urllib.request.urlopen(req, timeout=60) as r:
    r.read()
want = [line.rstrip("\n").split("\t") for line in open(hexfile)]
got = ch.query("SELECT hex(board), hex(kind), hex(detail) FROM "
               "hostile.events ORDER BY t_us")
check(len(want) == 2000 and got == want,
      "2000 rows of strings with tabs, newlines, CRs, backslashes, quotes "
      "and bytes 1..255 come back from ClickHouse byte for byte (%d rows, "
      "first difference %s)" % (len(got), next(
          (i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)))

# ---- 1. a ClickHouse restart in the middle of a run ----
truth_path = tmp + "/truth1"
d, base, db = start_appcored(
    "restart", "--rate 500 --counters 32 --duration 30 --panic-after 24 "
    "--truth " + truth_path, "clickhouse.batch_interval=500ms")
check(base is not None, "appcored forwards to %s" % ch.url)
check(wait_for(metric_at_least(base, "appcored_clickhouse_rows_sent_total",
                               50000), 30) is not None,
      "ClickHouse takes rows while the board runs")
ch.stop()
check(wait_for(metric_at_least(
    base, "appcored_clickhouse_insert_failures_total", 3), 30) is not None,
    "ClickHouse stopped: inserts fail and are retried (3 failures)")
held = metrics(base).get("appcored_clickhouse_queued_rows", 0)
check(held > 0, "appcored holds %d rows while ClickHouse is down" % held)
check(ch.start(), "ClickHouse started again on the same data")
gone = wait_for(lambda: metrics(base).get(
    'appcore_board_connected{board="sim-0"}') == 0, 60, 0.2)
drained = wait_for(lambda: (lambda m: m.get(
    "appcored_clickhouse_queued_rows") == 0 and m)(metrics(base)), 60, 0.2)
check(gone and drained, "the run ended and appcored's queue drained")
m = drained or {}
check(m.get("appcored_clickhouse_rows_dropped_total") == 0,
      "nothing dropped (%s)" % m.get("appcored_clickhouse_rows_dropped_total"))
with urllib.request.urlopen(base + "/api/v1/status", timeout=5) as r:
    status = json.loads(r.read()).get("clickhouse") or {}
check(status.get("url") == ch.url and status.get("database") == "restart"
      and status.get("rows_sent") == m.get(
          "appcored_clickhouse_rows_sent_total") and
      status.get("rows_queued") == 0 and status.get("insert_failures") >= 3,
      "GET /api/v1/status reports the forwarder: %s" % status)
check(stop(d) == 0, "appcored stopped cleanly")

truth = read_truth(truth_path)
counters = counters_of(db)
series = clickhouse_series("restart", "sim-0")
problems = compare_with_truth(series, truth, counters)
check(len(truth) > 10000 and not problems,
      "ClickHouse holds exactly the %d samples x %d counters of the "
      "simulator's truth, at its times (%s)"
      % (len(truth), len(counters), problems[:3]))
dups = int(ch.query("SELECT count() FROM restart.samples")[0][0]) - \
    sum(len(v) for v in series.values())
print("# rows inserted twice (an answer lost in the restart; FINAL hides "
      "them): %d" % dups)
in_sqlite = sqlite_rows(
    db, "SELECT c.name, s.t, s.value FROM samples s JOIN counters c ON "
    "c.id = s.counter_id")
in_ch = sorted((c, t, v) for c, pts in series.items() for t, v in pts)
check(in_sqlite == in_ch, "the same %d rows as appcored's SQLite database"
      % len(in_sqlite))
ev_sqlite = sqlite_rows(
    db, "SELECT e.t, e.kind, e.count, e.detail FROM events e JOIN devices "
    "d ON d.id = e.device_id WHERE d.name = 'sim-0'")
ev_ch = sorted((int(t), k, int(n), dt.replace("\\'", "'")) for t, k, n, dt in
               ch.query("SELECT t_us, kind, count, detail FROM "
                        "restart.events FINAL WHERE board = 'sim-0'"))
check(ev_sqlite and ev_sqlite == ev_ch,
      "the board's %d events, as in SQLite (%s)"
      % (len(ev_sqlite), sorted(set(ev_sqlite) ^ set(ev_ch))[:3]))
lg_sqlite = sqlite_rows(
    db, "SELECT l.t, l.text FROM logs l JOIN devices d ON d.id = "
    "l.device_id WHERE d.name = 'sim-0'")
lg_ch = sorted((int(t), x) for t, x in ch.query(
    "SELECT t_us, text FROM restart.logs FINAL WHERE board = 'sim-0'"))
check(lg_sqlite == lg_ch, "the board's %d log lines, as in SQLite"
      % len(lg_sqlite))
cr_sqlite = sqlite_rows(
    db, "SELECT c.t, c.reason, c.pc FROM crashes c JOIN devices d ON "
    "d.id = c.device_id WHERE d.name = 'sim-0'")
cr_ch = sorted((int(t), r, int(pc)) for t, r, pc in ch.query(
    "SELECT t_us, reason, pc FROM restart.crashes FINAL WHERE board = "
    "'sim-0'"))
check(len(cr_sqlite) == 1 and cr_sqlite == cr_ch,
      "core 1's panic is in crashes, as in SQLite (%s)" % cr_ch)

# ---- 2. ClickHouse down for a whole run: the bound ----
ch.stop()
truth_path = tmp + "/truth2"
d, base, db = start_appcored(
    "bound", "--rate 200 --counters 64 --duration 12 --truth " + truth_path,
    "clickhouse.queue=1M")
came = wait_for(lambda: metrics(base).get(
    'appcore_board_connected{board="sim-0"}') == 1, 30, 0.2)
gone = came and wait_for(lambda: metrics(base).get(
    'appcore_board_connected{board="sim-0"}') == 0, 60, 0.2)
m = metrics(base)
dropped, held = (m.get("appcored_clickhouse_rows_dropped_total", 0),
                 m.get("appcored_clickhouse_queued_rows", 0))
check(gone and dropped > 0 and 0 < held,
      "with ClickHouse down, a 1 MiB queue holds %d rows and drops (and "
      "counts) %d" % (held, dropped))
check(m.get("appcored_clickhouse_queued_bytes", 1 << 30) <= 1 << 20,
      "the queue stays within its 1 MiB (%d bytes)"
      % m.get("appcored_clickhouse_queued_bytes", -1))
check(ch.start(), "ClickHouse back")
drained = wait_for(lambda: (lambda m: m.get(
    "appcored_clickhouse_queued_rows") == 0 and m)(metrics(base)), 90, 0.2)
m = drained or {}
sent = m.get("appcored_clickhouse_rows_sent_total", -1)
dropped = m.get("appcored_clickhouse_rows_dropped_total", -1)
in_ch = sum(int(ch.query("SELECT count() FROM bound.%s FINAL" % t)[0][0])
            for t in ("samples", "events", "logs", "crashes"))
check(stop(d) == 0, "appcored stopped cleanly")
stored = sum(sqlite_rows(db, sql)[0][0] for sql in (
    "SELECT count(*) FROM samples", "SELECT count(*) FROM events",
    "SELECT count(*) FROM logs", "SELECT count(*) FROM crashes"))
# The daemon-stop event came after the figures were read.
check(in_ch == sent and sent + dropped == stored - 1,
      "in ClickHouse: %d rows = sent; sent + dropped = %d = the %d rows "
      "stored before the stop" % (in_ch, sent + dropped, stored - 1))

cleanup()
finish()
