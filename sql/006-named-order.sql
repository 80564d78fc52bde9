-- appcore schema, version 6: the named roll-up views carry the counter's
-- column in the agent's table (idx), so answers can list counters in the
-- order the board registered them (ch2 before ch10), not by name.
DROP VIEW rollup_1s_named;
DROP VIEW rollup_1m_named;
CREATE VIEW rollup_1s_named AS
	SELECT n.device, n.counter, n.unit, n.idx,
	    datetime(r.t / 1000000, 'unixepoch') AS utc, r.t, r.min, r.max,
	    CAST(r.sum AS REAL) / r.count AS mean, r.last, r.count
	FROM rollup_1s r JOIN counter_names n USING (counter_id);
CREATE VIEW rollup_1m_named AS
	SELECT n.device, n.counter, n.unit, n.idx,
	    datetime(r.t / 1000000, 'unixepoch') AS utc, r.t, r.min, r.max,
	    CAST(r.sum AS REAL) / r.count AS mean, r.last, r.count
	FROM rollup_1m r JOIN counter_names n USING (counter_id);
