-- appcore schema, version 4: exact sample accounting per boot
-- (docs/protocol.md, "The host's session").  For every boot:
--   samples_produced = samples_stored + samples lost, exactly;
-- samples_dup counts samples received a second time (replayed frames),
-- never stored twice and never counted lost.  Written in the same
-- transaction as the samples they count.
ALTER TABLE boots ADD COLUMN samples_produced INTEGER NOT NULL DEFAULT 0;
ALTER TABLE boots ADD COLUMN samples_stored INTEGER NOT NULL DEFAULT 0;
ALTER TABLE boots ADD COLUMN samples_dup INTEGER NOT NULL DEFAULT 0;
CREATE VIEW boot_accounting AS
	SELECT b.id AS boot_id, d.name AS device, b.boot_key,
	    b.samples_produced AS produced, b.samples_stored AS stored,
	    b.samples_produced - b.samples_stored AS lost,
	    b.samples_dup AS duplicates
	FROM boots b JOIN devices d ON d.id = b.device_id;
