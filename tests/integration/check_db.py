#!/usr/bin/env python3
"""Checks an appcored database against appcore-sim ground-truth logs.

usage: check_db.py DB DEVICE TRUTH... [--subset] [--no-loss-events]

Each TRUTH file is one simulator run (one boot) of DEVICE, in order.
Default: every sample of every run must be stored, exactly: value, and
wall time = device time + the boot's clock offset, in time order.
--subset: stored samples must each equal the truth (nothing wrong stored),
but some may be missing.  Prints TAP lines; exits 1 on failure."""
import sqlite3
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
subset = "--subset" in sys.argv
no_loss = "--no-loss-events" in sys.argv
db, device, truths = args[0], args[1], args[2:]
con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
n = 0
failed = 0


def check(ok, what):
    global n, failed
    n += 1
    if not ok:
        failed += 1
    print("%sok %d - %s" % ("" if ok else "not ", n, what))


row = con.execute("SELECT id FROM devices WHERE name = ?", (device,)).fetchone()
check(row is not None, "device %s is in devices" % device)
if row is None:
    print("1..%d" % n)
    sys.exit(1)
dev = row[0]
boots = con.execute("SELECT id, started FROM boots WHERE device_id = ? "
                    "ORDER BY first_seen", (dev,)).fetchall()
real_boots = [b for b in boots
              if con.execute("SELECT count(*) FROM clock WHERE boot_id = ?",
                             (b[0],)).fetchone()[0] > 0]
counters = {}
for cid, idx, name, kind, signed in con.execute(
        "SELECT id, idx, name, kind, signed FROM counters WHERE device_id = ?",
        (dev,)):
    counters[idx] = (cid, signed)

stored = {}
mine = set(c for c, _ in counters.values())
for cid, t, v in con.execute("SELECT counter_id, t, value FROM samples "
                             "ORDER BY counter_id, t"):
    if cid in mine:
        stored.setdefault(cid, []).append((t, v))

total_truth = 0
expected = {}
for run, path in enumerate(truths):
    lines = [l.split() for l in open(path)]
    total_truth += len(lines)
    # The boot of this run: runs and boots come in the same order.
    boot = None
    if len(real_boots) >= len(truths):
        boot = real_boots[len(real_boots) - len(truths) + run][0]
    anchors = con.execute("SELECT from_us, offset_us FROM clock WHERE "
                          "boot_id = ? ORDER BY from_us", (boot,)).fetchall()
    check(len(anchors) >= 1, "run %d: boot %s has a clock anchor (%d)"
          % (run + 1, boot, len(anchors)))
    if not anchors:
        continue
    ncols = len(lines[0]) - 2 if lines else 0
    check(all(i in counters for i in range(ncols)),
          "run %d: all %d counters registered" % (run + 1, ncols))
    last = None
    k = 0
    for f in lines:
        tdev = int(f[1])
        while k + 1 < len(anchors) and anchors[k + 1][0] <= tdev:
            k += 1
        t = tdev + anchors[k][1]
        if last is not None and t <= last:
            t = last + 1
        last = t
        for i in range(ncols):
            cid, signed = counters.get(i, (None, 0))
            v = int(f[2 + i])
            if signed and v >= 2 ** 31:
                v -= 2 ** 32
            expected.setdefault(cid, []).append((t, v))

if not subset:
    got = sum(len(v) for v in stored.values())
    want = sum(len(v) for v in expected.values())
    check(got == want, "stored %d counter-samples, the truth has %d "
          "(%d samples)" % (got, want, total_truth))
    bad = [c for c in expected if stored.get(c) != expected[c]]
    check(not bad, "every sample stored with its value and time, in order "
          "(%d counters differ)" % len(bad))
    if bad:
        c = bad[0]
        s, e = stored.get(c, []), expected[c]
        for j in range(min(len(s), len(e))):
            if s[j] != e[j]:
                print("# counter %s first difference at %d: stored %s, "
                      "truth %s" % (c, j, s[j], e[j]))
                break
else:
    wrong = 0
    count = 0
    for c, rows in stored.items():
        exp = dict(expected.get(c, []))
        for t, v in rows:
            count += 1
            if exp.get(t) != v:
                wrong += 1
    check(wrong == 0 and count > 0, "each of %d stored counter-samples "
          "equals the truth (%d wrong)" % (count, wrong))

for table, length in (("rollup_1s", 1000000), ("rollup_1m", 60000000)):
    diff = con.execute(
        "SELECT count(*) FROM (SELECT counter_id, t / %d * %d AS t, "
        "min(value) AS mn, max(value) AS mx, sum(value) AS sm, count(*) AS n "
        "FROM samples GROUP BY 1, 2) r FULL JOIN %s u USING (counter_id, t) "
        "WHERE u.min IS NOT r.mn OR u.max IS NOT r.mx OR u.sum IS NOT r.sm "
        "OR u.count IS NOT r.n" % (length, length, table)).fetchone()[0]
    rows = con.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
    check(diff == 0 and rows > 0, "%s agrees with the raw samples (%d rows, "
          "%d differ)" % (table, rows, diff))

if no_loss:
    losses = con.execute(
        "SELECT kind, sum(count) FROM events WHERE kind IN ('crc-error', "
        "'framing-error', 'seq-gap', 'samples-lost', 'malformed', "
        "'agent-samples-dropped') GROUP BY kind").fetchall()
    check(not losses, "no loss events (%s)" % losses)
check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok",
      "PRAGMA integrity_check is ok")
print("1..%d" % n)
sys.exit(1 if failed else 0)
