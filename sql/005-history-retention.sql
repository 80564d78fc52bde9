-- appcore schema, version 5: every table of history is kept by age and
-- within the disk budget (docs/storage.md, "Retention"); these indexes
-- let retention find the oldest rows without reading the tables.
CREATE INDEX logs_t ON logs (t);
CREATE INDEX states_t ON states (t);
CREATE INDEX snapshots_t ON snapshots (t);
CREATE INDEX link_stats_t ON link_stats (t);
-- Blob collection asks whether any row still names a blob.
CREATE INDEX snapshots_blob ON snapshots (blob_key);
CREATE INDEX crashes_dump ON crashes (dump_key);
