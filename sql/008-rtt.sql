-- appcore schema, version 8: core 1's SEGGER RTT up-buffers (docs/rtt.md).
-- A log line from RTT names its channel ("rtt0 Terminal"); appcore's own
-- log ring leaves it NULL.  A channel that is not text (defmt) keeps its
-- bytes in data, and text shows them as hex.
ALTER TABLE logs ADD COLUMN channel TEXT;
ALTER TABLE logs ADD COLUMN data BLOB;
DROP VIEW logs_named;
CREATE VIEW logs_named AS
	SELECT l.id, d.name AS device,
	    strftime('%Y-%m-%d %H:%M:%f', l.t / 1e6, 'unixepoch') AS utc,
	    l.t, l.level, l.text, l.channel
	FROM logs l JOIN devices d ON d.id = l.device_id;
