#!/usr/bin/env python3
"""Gives a database the demo wrote HOURS more of raw history before its
first sample, as appcored before schema 9 stored it: ten-minute
partitions of 1 kHz samples for every counter of every board (counters
climbing, gauges moving), registered in `partitions`, and their 1 s and
1 min roll-ups.  appcored converts such partitions into sample blocks
when it next opens the database (docs/storage.md, "Migration"), so this
is also an hour of history to migrate.  Generated inside SQLite, so an
hour at 1 kHz x 16 (57.6 million samples) takes seconds, not the hour.

usage: extend_history.py DB HOURS"""
import sqlite3
import sys

PART_US = 600 * 1000000
STEP_US = 1000                  # 1 kHz

db, hours = sys.argv[1], float(sys.argv[2])
con = sqlite3.connect(db, isolation_level=None)
con.execute("PRAGMA journal_mode=WAL")
# The first raw sample: in blocks (schema 9) or partitions (before).
has_blocks = con.execute("SELECT count(*) FROM sqlite_master WHERE name = "
                         "'sample_blocks'").fetchone()[0]
first = con.execute("SELECT min(t) FROM (SELECT min(t_start) AS t FROM partitions%s)" %
                    (" UNION ALL SELECT min(t_min) FROM sample_blocks" if has_blocks
                     else "")).fetchone()[0]
end = first - first % PART_US           # whole partitions before the demo's
start = end - int(hours * 3600e6)
start -= start % PART_US
counters = con.execute("SELECT id, idx, kind FROM counters WHERE kind != 'unused'").fetchall()

# A counter climbs by idx + 1 a sample; a gauge saws between 0 and 999.
VALUE = ("CASE c.kind WHEN 'counter' THEN (k.t - %d) / %d * (c.idx + 1) "
         "ELSE (k.t / %d + c.idx * 37) %% 1000 END" % (start, STEP_US, STEP_US))


def partition(p0):
    name = "samples_%d" % (p0 // 1000000)
    con.execute("CREATE TABLE %s (counter_id INTEGER NOT NULL, t INTEGER NOT NULL, "
                "value INTEGER NOT NULL, PRIMARY KEY (counter_id, t)) WITHOUT ROWID" % name)
    con.execute("INSERT INTO %s (counter_id, t, value) "
                "WITH RECURSIVE k(t) AS (SELECT ?1 UNION ALL SELECT t + ?3 FROM k WHERE t + ?3 < ?2) "
                "SELECT c.id, k.t, %s FROM counters c, k WHERE c.kind != 'unused' "
                "ORDER BY c.id, k.t" % (name, VALUE), (p0, p0 + PART_US, STEP_US))
    con.execute("INSERT INTO partitions VALUES (?, ?, ?)", (name, p0, p0 + PART_US))
    return name


def rollups(name, table, width):
    # last: the value at the bucket's latest sample (SQLite's bare column
    # beside max()).
    con.execute("INSERT INTO %s (counter_id, t, min, max, sum, last, count) "
                "SELECT counter_id, b, mn, mx, sm, last, n FROM ("
                "SELECT counter_id, t - t %% %d AS b, min(value) AS mn, max(value) AS mx, "
                "sum(value) AS sm, count(*) AS n, max(t), value AS last "
                "FROM %s GROUP BY counter_id, t / %d)" % (table, width, name, width))


con.execute("BEGIN")
names = []
for p0 in range(start, end, PART_US):
    names.append(partition(p0))
    rollups(names[-1], "rollup_1s", 1000000)
    rollups(names[-1], "rollup_1m", 60000000)
con.execute("COMMIT")
print("# %d samples added in %d partitions (%d counters, %.1f h)" %
      (len(counters) * (end - start) // STEP_US, len(names), len(counters),
       (end - start) / 3600e6))
