#!/usr/bin/env python3
"""Checks an appcored database against appcore-sim's ground truth.

usage: check_db.py DB DEVICE TRUTH... [--subset] [--no-loss-events]
                   [--accounting] [--bound-ms N] [--lossless-after-first]

Each TRUTH file is one simulator run (one boot) of DEVICE, in order, with
TRUTH.clock beside it: the simulator's own wall time of its device time 0.
Nothing here comes from the daemon's clock table: a stored row is matched
to the truth sample with the same values whose wall time (the simulator's
clock) lies within [-1 ms, +BOUND] of the stored time, preferring the
device-time offset of the row before (offsets change only when the
daemon re-anchors).  Then:
- every stored row matches a truth sample (nothing wrong is stored) and no
  truth sample is stored twice;
- default: every truth sample is stored;
- --subset: some may be missing;
- --lossless-after-first: none may be missing after the first stored one
  (a board that ran before the host came loses only what came before);
- --accounting: for each run's boot, boots.samples_produced equals the
  samples the simulator produced and samples_stored the samples stored.
Prints TAP lines; exits 1 on failure."""
import bisect
import sys

import acdb

args = [a for a in sys.argv[1:] if not a.startswith("--")]
opts = [a for a in sys.argv[1:] if a.startswith("--")]
subset = "--subset" in opts
no_loss = "--no-loss-events" in opts
accounting = "--accounting" in opts
lossless_after_first = "--lossless-after-first" in opts
bound_us = 100000
max_gap_us = None
for o in opts:
    if o.startswith("--bound-ms="):
        bound_us = int(o.split("=", 1)[1]) * 1000
    if o.startswith("--max-gap-ms="):
        max_gap_us = int(o.split("=", 1)[1]) * 1000
db, device, truths = args[0], args[1], args[2:]
con = acdb.connect(db, ro=True)
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

# Columns: the counter ids of each index (a boot may register them anew).
counters = {}
for cid, idx, signed in con.execute(
        "SELECT id, idx, signed FROM counters WHERE device_id = ? AND "
        "kind != 'unused'", (dev,)):
    counters[cid] = (idx, signed)

# Stored rows, as one vector of values per stored time.
stored = {}
for cid, t, v in con.execute("SELECT counter_id, t, value FROM samples"):
    if cid in counters:
        idx, signed = counters[cid]
        stored.setdefault(t, {})[idx] = v & 0xffffffff if signed else v

# The truth: by value vector, every (run, index, device time).
by_values = {}
runs = []
for run, path in enumerate(truths):
    wall0 = int(open(path + ".clock").read().split()[0])
    lines = [l.split() for l in open(path)]
    runs.append((wall0, len(lines), [int(f[1]) for f in lines]))
    for f in lines:
        idx, tdev = int(f[0]), int(f[1])
        key = tuple(int(x) for x in f[2:])
        by_values.setdefault(key, []).append((wall0 + tdev, run, idx, tdev))
for v in by_values.values():
    v.sort()

# Pass 1: the candidates of each stored row.  Rows with one candidate
# fix the offset (stored time - device time) around them; rows whose
# values repeat (core 1 idle or stopped) take the offset of the nearest
# such row before, else after.
rows = []
wrong = 0
first_wrong = None
for t in sorted(stored):
    cols = stored[t]
    key = tuple(cols.get(i) for i in range(len(cols)))
    lst = by_values.get(key, ())
    lo = bisect.bisect_left(lst, (t - bound_us,))
    hi = bisect.bisect_right(lst, (t + 1001,))
    cands = [(c[1], c[2], c[3], c[0] - c[3]) for c in lst[lo:hi]
             if -1000 <= t - c[0] <= bound_us]
    if not cands:
        wrong += 1
        if first_wrong is None:
            first_wrong = (t, key[:6])
        continue
    rows.append((t, cands))
anchor_before = []
last = None
for t, cands in rows:
    if len(cands) == 1:
        last = (cands[0][0], t - cands[0][2])
    anchor_before.append(last)
anchor_after = [None] * len(rows)
last = None
for k in range(len(rows) - 1, -1, -1):
    t, cands = rows[k]
    if len(cands) == 1:
        last = (cands[0][0], t - cands[0][2])
    anchor_after[k] = last

matched = {}
offset = {}
changes = {}
for k, (t, cands) in enumerate(rows):
    pick = None
    for a in (anchor_before[k], anchor_after[k]):
        if a is not None and pick is None:
            same = [c for c in cands if c[0] == a[0] and t - c[2] == a[1]]
            pick = same[0] if same else None
    c = pick or min(cands, key=lambda c: t - (c[3] + c[2]))
    if offset.get(c[0]) != t - c[2]:
        changes[c[0]] = changes.get(c[0], 0) + 1
        offset[c[0]] = t - c[2]
    matched[(c[0], c[1])] = matched.get((c[0], c[1]), 0) + 1

total = sum(r[1] for r in runs)
check(wrong == 0 and (matched or subset), "each of %d stored samples equals "
      "a truth sample within %d ms of the simulator's clock (%d wrong%s)"
      % (len(stored), bound_us // 1000, wrong,
         ", first at %d: %s" % first_wrong if first_wrong else ""))
twice = sum(1 for v in matched.values() if v > 1)
check(twice == 0, "no truth sample stored twice (%d)" % twice)
# The rows themselves: the vectors above keep one value per time.
rows, distinct = con.execute(
    "SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT counter_id, t "
    "FROM samples)) FROM samples").fetchone()
check(rows == distinct, "no counter has two samples at one time (%d rows, "
      "%d distinct)" % (rows, distinct))
if not subset:
    check(len(matched) == total, "stored %d of the %d samples the simulator "
          "produced" % (len(matched), total))
for run in range(len(runs)):
    check(changes.get(run, 0) <= 20, "run %d: stored times are device times "
          "plus an offset that changed %d time(s)"
          % (run + 1, changes.get(run, 0)))

# Samples lost once storing had begun (before it: the host was not there).
for run in range(len(runs)):
    have = sorted(i for (r, i) in matched if r == run)
    if have:
        lost = runs[run][1] - have[0] - len(have)
        if lossless_after_first:
            check(lost == 0, "run %d: no sample lost after the first "
                  "stored one (index %d; %d lost)" % (run + 1, have[0], lost))
        else:
            print("# run %d: lost after the first stored sample: %d"
                  % (run + 1, lost))

if max_gap_us is not None:
    for run, (_, _, tdevs) in enumerate(runs):
        have = sorted(i for (r, i) in matched if r == run)
        gap = 0
        for a, b in zip(have, have[1:]):
            if b - a > 1:
                gap = max(gap, tdevs[b] - tdevs[a])
        check(have and gap <= max_gap_us, "run %d: once storing, the "
              "longest stretch without a stored sample is %.3f s (at most "
              "%.3f s)" % (run + 1, gap / 1e6, max_gap_us / 1e6))

if accounting:
    boots = con.execute(
        "SELECT b.id, b.samples_produced, b.samples_stored, b.samples_dup "
        "FROM boots b WHERE device_id = ? AND EXISTS (SELECT 1 FROM clock "
        "WHERE boot_id = b.id) ORDER BY first_seen", (dev,)).fetchall()
    boots = boots[len(boots) - len(runs):] if len(boots) >= len(runs) else []
    check(len(boots) == len(runs), "one boot per run (%d boots, %d runs)"
          % (len(boots), len(runs)))
    for run, b in enumerate(boots):
        mine = sum(1 for (r, _) in matched if r == run)
        check(b[1] == runs[run][1] and b[2] == mine,
              "run %d: produced %d (simulator %d) = stored %d (in the "
              "database %d) + lost %d; %d duplicates apart"
              % (run + 1, b[1], runs[run][1], b[2], mine, b[1] - b[2], b[3]))

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
        "'duplicate', 'stale', 'agent-samples-dropped') AND "
        "coalesce(device_id, ?1) = ?1 GROUP BY kind", (dev,)).fetchall()
    check(not losses, "no loss events (%s)" % losses)
check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok",
      "PRAGMA integrity_check is ok")
print("1..%d" % n)
sys.exit(1 if failed else 0)
