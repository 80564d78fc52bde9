-- appcore schema, version 2: the registers of a crash, for ELF core files.
ALTER TABLE crashes ADD COLUMN ps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE crashes ADD COLUMN exccause INTEGER NOT NULL DEFAULT 0;
ALTER TABLE crashes ADD COLUMN excvaddr INTEGER NOT NULL DEFAULT 0;
-- a0..a15 of the faulting window, 64 bytes little-endian
ALTER TABLE crashes ADD COLUMN ar BLOB;
