/*
 * The open blocks of raw samples (docs/storage.md, "Raw samples in
 * blocks"): rows gather in memory per column set, and every commit
 * writes the blocks that grew, the open ones again in place, so a block
 * in the database is always whole and never more than a commit behind.
 * Owned by the store, on the ingest thread.
 */
#ifndef APPCORE_SBLOCKS_H
#define APPCORE_SBLOCKS_H

#include <stdbool.h>
#include <stdint.h>

struct sqlite3;
struct sblocks;

struct sblocks *sblocks_new(struct sqlite3 *db);
void sblocks_free(struct sblocks *);

/* One row: the values of counters ctr[0..n-1] at time t.  1 when kept;
 * 0 for a time those counters already have in their open block (a
 * replay: the first stays, as INSERT OR IGNORE did); -1 when it could not
 * be kept (no memory, more than BLOCK_MAX_COLS, a counter twice). */
int sblocks_add(struct sblocks *, int64_t t, const int64_t *ctr,
    const int64_t *v, uint32_t n, uint64_t now);

/* Inside the caller's transaction: writes every block that grew; blocks
 * idle since before now - BLOCK_SPAN_US are closed.  0, or -1 with the
 * reason in *why. */
int sblocks_write(struct sblocks *, uint64_t now, const char **why);
/* After the transaction: COMMIT (ok) or ROLLBACK; returns the samples
 * the committed transaction stored for the first time. */
uint64_t sblocks_done(struct sblocks *, bool ok);
/* Closes every open block (the next write is the last of each). */
void sblocks_close_all(struct sblocks *);

/* Samples added and not yet committed, and whether anything is to write. */
uint64_t sblocks_queued(const struct sblocks *);
bool sblocks_dirty(const struct sblocks *);
/* Drops the oldest uncommitted rows until at most keep samples wait;
 * the samples dropped. */
uint64_t sblocks_trim(struct sblocks *, uint64_t keep);

#endif
