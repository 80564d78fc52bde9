-- appcore schema, version 9: raw samples in compressed blocks
-- (docs/storage.md, "Raw samples in blocks").  A block holds up to 1024
-- rows of one column set (the counters a board samples together) within
-- 10 s; `samples` is now a virtual table (module appcore_samples, built
-- into appcored and the loadable extension for the sqlite3 shell) with
-- the same columns as the view it replaces.  The time partitions of the
-- previous versions are converted into blocks when appcored opens the
-- database, one partition per transaction, and dropped.
CREATE TABLE sample_groups (
	id		INTEGER PRIMARY KEY,
	counters	TEXT NOT NULL UNIQUE	-- counter ids, comma-separated
);

CREATE TABLE group_counters (
	counter_id	INTEGER NOT NULL,
	group_id	INTEGER NOT NULL REFERENCES sample_groups(id),
	col		INTEGER NOT NULL,	-- its column in the group's blocks
	PRIMARY KEY (counter_id, group_id)
) WITHOUT ROWID;

CREATE TABLE sample_blocks (
	id		INTEGER PRIMARY KEY,
	group_id	INTEGER NOT NULL REFERENCES sample_groups(id),
	t_min		INTEGER NOT NULL,	-- first row's time
	t_max		INTEGER NOT NULL,	-- last row's time, <= t_min + 10 s
	nrows		INTEGER NOT NULL,
	data		BLOB NOT NULL		-- daemon/blocks.c
);
CREATE INDEX sample_blocks_group_t ON sample_blocks (group_id, t_min);
CREATE INDEX sample_blocks_t ON sample_blocks (t_min);

DROP VIEW samples;
CREATE VIRTUAL TABLE samples USING appcore_samples;
