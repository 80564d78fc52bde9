/*
 * Compressed blocks of raw samples (docs/storage.md, "Raw samples in
 * blocks").  A block holds the rows of one column set (the counter ids a
 * board samples together), sorted by time: the times once, then each
 * column, each as a sequence coded with the predictor (delta or delta of
 * delta) and the coding (dense or zero runs) that is shortest for it.
 * Exact: every value and every time comes back as it went in.
 *
 * Pure C, no SQLite: used by the store (writing), the `samples` virtual
 * table (reading) and the loadable extension for the sqlite3 shell.
 */
#ifndef APPCORE_BLOCKS_H
#define APPCORE_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#define BLOCK_VERSION	1
#define BLOCK_SPAN_US	10000000	/* t_max - t_min of any block, at most */
#define BLOCK_MAX_ROWS	1024
#define BLOCK_MAX_COLS	128
/* Worst case of one encoded block: every number a 10-byte varint. */
#define BLOCK_MAX_BYTES	(16 + BLOCK_MAX_COLS * 10 + \
	(BLOCK_MAX_COLS + 1) * (6 + BLOCK_MAX_ROWS * 10))

/* Rows to encode: t[nrows] sorted ascending and distinct, counters[ncols],
 * v column-major (v[c * stride + r], stride >= nrows). */
struct block_in {
	uint32_t nrows, ncols;
	const int64_t *t;
	const int64_t *counters;
	const int64_t *v;
	uint32_t stride;
};

/* Encodes into out (BLOCK_MAX_BYTES is always enough); the length. */
size_t block_encode(const struct block_in *, uint8_t *out);

/* A block being read: header parsed, columns located. */
struct block_view {
	uint32_t nrows, ncols;
	int64_t counters[BLOCK_MAX_COLS];
	const uint8_t *times;
	size_t times_len;
	const uint8_t *col[BLOCK_MAX_COLS];
	size_t col_len[BLOCK_MAX_COLS];
};

/* 0, or -1 with *why saying what is wrong with the bytes. */
int block_open(struct block_view *, const uint8_t *p, size_t n,
    const char **why);
/* Decodes the times (nrows) or column c (nrows values); 0 or -1. */
int block_times(const struct block_view *, int64_t *t, const char **why);
int block_column(const struct block_view *, uint32_t c, int64_t *v,
    const char **why);
/* The column of counter id, or -1. */
int block_find(const struct block_view *, int64_t counter);

#endif
