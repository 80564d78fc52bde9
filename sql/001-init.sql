-- appcore schema, version 1.  Applied by appcored in one transaction when
-- PRAGMA user_version is 0; see docs/storage.md.
-- Times are INTEGER microseconds since the Unix epoch (UTC) unless a
-- column says otherwise.

CREATE TABLE devices (
	id		INTEGER PRIMARY KEY,
	device_key	TEXT NOT NULL UNIQUE,	-- hex of the agent's device id
	name		TEXT NOT NULL,		-- the id as text when printable
	first_seen	INTEGER NOT NULL,
	last_seen	INTEGER NOT NULL,
	link		TEXT			-- where it was last seen
);

CREATE TABLE boots (
	id		INTEGER PRIMARY KEY,
	device_id	INTEGER NOT NULL REFERENCES devices(id),
	boot_key	TEXT NOT NULL,		-- hex of the agent's boot id
	started		INTEGER NOT NULL,	-- wall time of device time 0
	first_seen	INTEGER NOT NULL,
	last_seen	INTEGER NOT NULL,
	agent_version	TEXT NOT NULL,
	proto_version	INTEGER NOT NULL,
	layout_version	INTEGER NOT NULL,
	image_hash	TEXT NOT NULL,		-- hex SHA-256 of the core-1 image
	region_base	INTEGER NOT NULL,
	region_size	INTEGER NOT NULL,
	rate_hz		INTEGER NOT NULL,
	UNIQUE (device_id, boot_key)
);

-- Device time to wall time, per boot: wall = device_us + offset_us from
-- device time from_us on (docs/storage.md, "Clock").
CREATE TABLE clock (
	boot_id		INTEGER NOT NULL REFERENCES boots(id),
	from_us		INTEGER NOT NULL,	-- device microseconds
	offset_us	INTEGER NOT NULL,
	PRIMARY KEY (boot_id, from_us)
) WITHOUT ROWID;

CREATE TABLE counters (
	id		INTEGER PRIMARY KEY,
	device_id	INTEGER NOT NULL REFERENCES devices(id),
	idx		INTEGER NOT NULL,	-- column in the agent's table
	name		TEXT NOT NULL,
	unit		TEXT NOT NULL,
	kind		TEXT NOT NULL CHECK (kind IN ('counter', 'gauge', 'unused')),
	signed		INTEGER NOT NULL DEFAULT 0,
	first_seen	INTEGER NOT NULL,
	UNIQUE (device_id, idx, name, unit, kind, signed)
);

-- Raw samples live in time partitions samples_<start seconds>, each
-- created as
--   CREATE TABLE samples_<s> (counter_id INTEGER NOT NULL, t INTEGER NOT
--   NULL, value INTEGER NOT NULL, PRIMARY KEY (counter_id, t)) WITHOUT ROWID
-- and dropped whole when it expires.  The view `samples` is their union,
-- rebuilt whenever one is created or dropped.
CREATE TABLE partitions (
	name		TEXT PRIMARY KEY,
	t_start		INTEGER NOT NULL,
	t_end		INTEGER NOT NULL
);
CREATE VIEW samples (counter_id, t, value) AS
	SELECT 0, 0, 0 WHERE 0;

CREATE TABLE rollup_1s (
	counter_id	INTEGER NOT NULL,
	t		INTEGER NOT NULL,	-- start of the second
	min		INTEGER NOT NULL,
	max		INTEGER NOT NULL,
	sum		INTEGER NOT NULL,
	last		INTEGER NOT NULL,
	count		INTEGER NOT NULL,
	PRIMARY KEY (counter_id, t)
) WITHOUT ROWID;

CREATE TABLE rollup_1m (
	counter_id	INTEGER NOT NULL,
	t		INTEGER NOT NULL,	-- start of the minute
	min		INTEGER NOT NULL,
	max		INTEGER NOT NULL,
	sum		INTEGER NOT NULL,
	last		INTEGER NOT NULL,
	count		INTEGER NOT NULL,
	PRIMARY KEY (counter_id, t)
) WITHOUT ROWID;

CREATE TABLE events (
	id		INTEGER PRIMARY KEY,
	device_id	INTEGER REFERENCES devices(id),
	boot_id		INTEGER REFERENCES boots(id),
	t		INTEGER NOT NULL,
	kind		TEXT NOT NULL,
	count		INTEGER NOT NULL DEFAULT 1,
	detail		TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_t ON events (t);
CREATE INDEX events_device_t ON events (device_id, t);

CREATE TABLE logs (
	id		INTEGER PRIMARY KEY,
	device_id	INTEGER NOT NULL REFERENCES devices(id),
	boot_id		INTEGER NOT NULL REFERENCES boots(id),
	t		INTEGER NOT NULL,
	generation	INTEGER NOT NULL,
	record		INTEGER NOT NULL,
	level		TEXT NOT NULL,
	stamp		INTEGER NOT NULL,
	text		TEXT NOT NULL
);
CREATE INDEX logs_device_t ON logs (device_id, t);

CREATE TABLE states (
	id		INTEGER PRIMARY KEY,
	device_id	INTEGER NOT NULL REFERENCES devices(id),
	boot_id		INTEGER NOT NULL REFERENCES boots(id),
	t		INTEGER NOT NULL,
	state		TEXT NOT NULL,
	prev		TEXT NOT NULL,
	generation	INTEGER NOT NULL,
	heartbeat	INTEGER NOT NULL,
	detail		INTEGER NOT NULL
);
CREATE INDEX states_device_t ON states (device_id, t);

CREATE TABLE crashes (
	id		INTEGER PRIMARY KEY,
	device_id	INTEGER NOT NULL REFERENCES devices(id),
	boot_id		INTEGER NOT NULL REFERENCES boots(id),
	t		INTEGER NOT NULL,
	generation	INTEGER NOT NULL,
	kind		TEXT NOT NULL,		-- panic | hang
	reason		TEXT NOT NULL,
	message		TEXT NOT NULL,
	file		TEXT NOT NULL,
	line		INTEGER NOT NULL,
	pc		INTEGER NOT NULL,
	sp		INTEGER NOT NULL,
	backtrace	TEXT NOT NULL,		-- space-separated hex addresses
	image_hash	TEXT NOT NULL,
	dump_key	TEXT,			-- gdbm blob, hex SHA-256
	dump_size	INTEGER
);
CREATE INDEX crashes_device_t ON crashes (device_id, t);

CREATE TABLE snapshots (
	id		INTEGER PRIMARY KEY,
	device_id	INTEGER NOT NULL REFERENCES devices(id),
	boot_id		INTEGER NOT NULL REFERENCES boots(id),
	t		INTEGER NOT NULL,
	region_base	INTEGER NOT NULL,
	size		INTEGER NOT NULL,
	blob_key	TEXT NOT NULL		-- gdbm blob, hex SHA-256
);
CREATE INDEX snapshots_device_t ON snapshots (device_id, t);

CREATE TABLE link_stats (
	device_id	INTEGER NOT NULL REFERENCES devices(id),
	boot_id		INTEGER NOT NULL REFERENCES boots(id),
	t		INTEGER NOT NULL,
	frames_sent	INTEGER NOT NULL,	-- the agent's own STATS
	frames_dropped	INTEGER NOT NULL,
	samples		INTEGER NOT NULL,
	samples_dropped	INTEGER NOT NULL,
	sampler_overruns INTEGER NOT NULL,
	log_lost	INTEGER NOT NULL,
	PRIMARY KEY (boot_id, t)
) WITHOUT ROWID;

-- Views for common questions (docs/queries.md).
CREATE VIEW counter_names AS
	SELECT c.id AS counter_id, d.name AS device, c.name AS counter,
	    c.unit, c.kind, c.idx
	FROM counters c JOIN devices d ON d.id = c.device_id;

CREATE VIEW rollup_1s_named AS
	SELECT n.device, n.counter, n.unit,
	    datetime(r.t / 1000000, 'unixepoch') AS utc, r.t, r.min, r.max,
	    CAST(r.sum AS REAL) / r.count AS mean, r.last, r.count
	FROM rollup_1s r JOIN counter_names n USING (counter_id);

CREATE VIEW rollup_1m_named AS
	SELECT n.device, n.counter, n.unit,
	    datetime(r.t / 1000000, 'unixepoch') AS utc, r.t, r.min, r.max,
	    CAST(r.sum AS REAL) / r.count AS mean, r.last, r.count
	FROM rollup_1m r JOIN counter_names n USING (counter_id);

CREATE VIEW events_named AS
	SELECT e.id, d.name AS device,
	    strftime('%Y-%m-%d %H:%M:%f', e.t / 1e6, 'unixepoch') AS utc,
	    e.t, e.kind, e.count, e.detail
	FROM events e LEFT JOIN devices d ON d.id = e.device_id;

CREATE VIEW logs_named AS
	SELECT l.id, d.name AS device,
	    strftime('%Y-%m-%d %H:%M:%f', l.t / 1e6, 'unixepoch') AS utc,
	    l.t, l.level, l.text
	FROM logs l JOIN devices d ON d.id = l.device_id;

CREATE VIEW boots_named AS
	SELECT b.id, d.name AS device, b.boot_key,
	    datetime(b.started / 1000000, 'unixepoch') AS started_utc,
	    datetime(b.last_seen / 1000000, 'unixepoch') AS last_seen_utc,
	    b.agent_version, b.image_hash, b.rate_hz
	FROM boots b JOIN devices d ON d.id = b.device_id;
