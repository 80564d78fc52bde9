/*
 * Converting the raw time partitions of schema 8 and before into sample
 * blocks (docs/storage.md, "Migration"): one partition per transaction,
 * its blocks written and its table dropped together, so an interrupted
 * conversion resumes where it stopped and loses nothing.
 */
#ifndef APPCORE_PARTCONV_H
#define APPCORE_PARTCONV_H

#include <stddef.h>

struct sqlite3;
struct sblocks;

/* 0 when no partition is left, or -1 with *err saying why. */
int partconv_run(struct sqlite3 *db, struct sblocks *sb, char *err,
    size_t errlen);

#endif
