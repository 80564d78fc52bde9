#!/usr/bin/env python3
"""Migration in place of a database the previous appcored wrote: the
fixture tests/fixtures/schema8-demo.db.xz (schema 8, the demo at 200 Hz x
16 with its crash, written by appcored at 14202c0), given 20 more minutes
of 1 kHz history in that schema's partitions (extend_history.py).  The
truth is read from the old tables with plain SQLite before appcored
touches the file: every row of the demo's partition, and per counter the
count, sums and extremes of the added ones.  appcored is killed with
SIGKILL while it converts, started again, and must then hold exactly those
samples in blocks, through the samples virtual table; every other table
as it was; no partition left; integrity_check ok.

usage: migrate_v8.py APPCORED FIXTURE"""
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import check, finish  # noqa: E402
import acdb  # noqa: E402

appcored, fixture = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="appcore-migrate-")
state = tmp + "/state"
db = state + "/appcore.db"
os.makedirs(state)
with open(db, "wb") as f:
    subprocess.run(["xz", "-dc", fixture], stdout=f, check=True)
here = os.path.dirname(os.path.abspath(__file__))
subprocess.run([sys.executable, here + "/extend_history.py", db, "0.25"],
               check=True, stdout=subprocess.DEVNULL)

TABLES = ["devices", "boots", "counters", "clock", "events", "logs", "states",
          "crashes", "snapshots", "link_stats", "rollup_1s", "rollup_1m"]
AGG = ("SELECT counter_id, count(*), sum(value), sum(t %% 1000000007), min(t), "
       "max(t), min(value), max(value) FROM %s GROUP BY counter_id")


def table_rows(con, table):
    return sorted(con.execute("SELECT * FROM %s" % table), key=repr)


def legacy_truth():
    con = sqlite3.connect(db)
    check(con.execute("PRAGMA user_version").fetchone()[0] == 8,
          "the fixture is a schema 8 database")
    parts = [r[0] for r in con.execute("SELECT name FROM partitions ORDER BY t_start")]
    rows = set(con.execute("SELECT counter_id, t, value FROM %s" % parts[-1]))
    agg = {}
    for p in parts:
        for r in con.execute(AGG % p):
            a = agg.setdefault(r[0], [0, 0, 0, None, None, None, None])
            a[0] += r[1]
            a[1] += r[2]
            a[2] += r[3]
            a[3] = r[4] if a[3] is None else min(a[3], r[4])
            a[4] = r[5] if a[4] is None else max(a[4], r[5])
            a[5] = r[6] if a[5] is None else min(a[5], r[6])
            a[6] = r[7] if a[6] is None else max(a[6], r[7])
    counts = {t: table_rows(con, t) for t in TABLES}
    sums = con.execute("SELECT total(sum), total(count) FROM rollup_1s").fetchone()
    con.close()
    return parts, rows, agg, counts, sums


def start():
    out = open(tmp + "/out", "w")
    return subprocess.Popen([appcored, "--state-dir", state, "--user", "root",
                             "--no-autodetect", "--listen", "127.0.0.1:0"],
                            stdout=out, stderr=subprocess.STDOUT)


def wait_for_line(text, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if text in open(tmp + "/out").read():
            return True
        time.sleep(0.05)
    return False


def partitions_left():
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM partitions").fetchone()[0]
    con.close()
    return n


parts, demo_rows, agg, counts, sums = legacy_truth()
check(len(parts) >= 3 and sum(a[0] for a in agg.values()) > 19000000,
      "%d partitions, %d samples, to convert" % (len(parts), sum(a[0] for a in agg.values())))

# Killed while it converts: once the first partition is done, while the
# second (9.6 million samples) is under way.
p = start()
seen = wait_for_line("converting raw partitions", 120)
p.send_signal(signal.SIGKILL)
p.wait()
left = partitions_left()
check(seen and 0 < left < len(parts),
      "SIGKILL during the conversion: %d of %d partitions left" % (left, len(parts)))

p = start()
up = wait_for_line("dashboard on", 600)
p.send_signal(signal.SIGTERM)
check(up and p.wait() == 0, "started again, it finished and stopped cleanly")

con = acdb.connect(db)
check(con.execute("PRAGMA user_version").fetchone()[0] == 9 and
      con.execute("SELECT count(*) FROM partitions").fetchone()[0] == 0 and
      con.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE 'samples\\_%' "
                  "ESCAPE '\\'").fetchone()[0] == 0,
      "schema 9, no partition left, their tables dropped")
check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check ok")
lo = min(t for _, t, _ in demo_rows)
got = set(con.execute("SELECT counter_id, t, value FROM samples WHERE t >= ?", (lo,)))
check(got == demo_rows, "the demo's %d samples, each with its time and value "
      "(%d differ)" % (len(demo_rows), len(got ^ demo_rows)))
after = {r[0]: list(r[1:]) for r in con.execute(AGG % "samples")}
bad = [c for c in agg if after.get(c) != agg[c]]
check(not bad and set(after) == set(agg),
      "every counter's count, sums and extremes as before (%d counters, %d differ)" %
      (len(agg), len(bad)))
# Events: appcored adds its own starts and stops; every old one stays.
differ = [t for t in TABLES if not (set(counts[t]) <= set(table_rows(con, t)) if t == "events"
                                    else table_rows(con, t) == counts[t])]
check(not differ, "every other table row for row as it was, events kept (%s)" %
      (", ".join(differ) or "all 12"))
check(con.execute("SELECT total(sum), total(count) FROM rollup_1s").fetchone() == sums,
      "the roll-ups untouched")
check(con.execute("SELECT max(t_max - t_min) FROM sample_blocks").fetchone()[0] <= 10000000 and
      con.execute("SELECT max(nrows) FROM sample_blocks").fetchone()[0] <= 1024,
      "no block over 1024 rows or 10 s")
con.close()
shutil.rmtree(tmp)
finish()
