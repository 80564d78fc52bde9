-- appcore schema, version 7: core-1 image updates (docs/updates.md).
-- One row per update asked for; the image itself is a gdbm blob keyed
-- by its SHA-256 (image_key), and elf_hash is the image hash the board
-- reports while it runs it: the SHA-256 of its ELF, an images row when
-- the ELF was uploaded, so crashes of the new image are symbolized.
CREATE TABLE updates (
	id		INTEGER PRIMARY KEY,
	device_id	INTEGER NOT NULL REFERENCES devices(id),
	image_key	TEXT NOT NULL,		-- hex SHA-256 of the image
	elf_hash	TEXT NOT NULL,		-- hex, from the image's header
	name		TEXT NOT NULL,		-- as uploaded
	size		INTEGER NOT NULL,	-- image bytes
	entry		INTEGER NOT NULL,
	trial_ms	INTEGER NOT NULL,	-- confirmed after this much health
	requested	INTEGER NOT NULL,	-- wall us
	state		TEXT NOT NULL,		-- docs/updates.md, "States"
	have		INTEGER NOT NULL DEFAULT 0,	-- bytes the board has
	error		TEXT,			-- why it failed or rolled back
	finished	INTEGER			-- wall us, once over
);
CREATE INDEX updates_device ON updates (device_id, id);
CREATE INDEX updates_image ON updates (image_key);
