-- appcore schema, version 3: core-1 ELF images uploaded for symbols.
-- The file itself is a gdbm blob under the same SHA-256, which is what
-- the agent reports as the image hash of a boot (boots.image_hash) and
-- so of its crashes (crashes.image_hash).
CREATE TABLE images (
	sha256		TEXT PRIMARY KEY,
	name		TEXT NOT NULL,		-- file name given at upload
	size		INTEGER NOT NULL,
	uploaded	INTEGER NOT NULL,	-- wall time, us
	functions	INTEGER NOT NULL,	-- STT_FUNC symbols
	dwarf		INTEGER NOT NULL,	-- 1: file:line available
	entry		INTEGER NOT NULL
);
