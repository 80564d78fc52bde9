/*
 * Fuzz target for raw sample blocks (daemon/blocks.c), the bytes a
 * database file holds and the samples table and the sqlite3 extension
 * decode.  First input byte even: the rest is a block as stored, however
 * damaged; it must be refused or decode within bounds, and what decodes
 * must encode again into a block that decodes to the same rows.  Odd:
 * the rest makes rows (times and values as deltas of every width, so
 * every shape and extreme of int64 occurs), which must come back exactly
 * from their encoding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t t[BLOCK_MAX_ROWS], ctr[BLOCK_MAX_COLS];
static int64_t v[BLOCK_MAX_COLS * BLOCK_MAX_ROWS];
static int64_t t2[BLOCK_MAX_ROWS], col2[BLOCK_MAX_ROWS];
static uint8_t enc[BLOCK_MAX_BYTES];

/* The encoding of in decodes to in, exactly. */
static void
round_trip(const struct block_in *in)
{
	size_t len = block_encode(in, enc);
	struct block_view bv;
	const char *why;

	if (len > BLOCK_MAX_BYTES || block_open(&bv, enc, len, &why) < 0 ||
	    bv.nrows != in->nrows || bv.ncols != in->ncols ||
	    block_times(&bv, t2, &why) < 0 ||
	    memcmp(t2, in->t, in->nrows * sizeof(*t2)) != 0)
		abort();
	for (uint32_t c = 0; c < in->ncols; c++)
		if (bv.counters[c] != in->counters[c] ||
		    block_column(&bv, c, col2, &why) < 0 ||
		    memcmp(col2, in->v + (size_t)c * in->stride,
		    in->nrows * sizeof(*col2)) != 0)
			abort();
}

static void
stored_bytes(const uint8_t *p, size_t n)
{
	struct block_view bv;
	struct block_in in;
	const char *why;

	if (block_open(&bv, p, n, &why) < 0 || block_times(&bv, t, &why) < 0)
		return;
	for (uint32_t c = 0; c < bv.ncols; c++) {
		ctr[c] = bv.counters[c];
		if (block_column(&bv, c, v + (size_t)c * BLOCK_MAX_ROWS,
		    &why) < 0)
			return;
	}
	in = (struct block_in){ bv.nrows, bv.ncols, t, ctr, v, BLOCK_MAX_ROWS };
	round_trip(&in);
}

/* A signed delta of 0 to 8 bytes from the input. */
static int64_t
delta(const uint8_t **p, const uint8_t *end)
{
	uint8_t w;
	uint64_t x = 0;

	if (*p >= end)
		return 0;
	w = *(*p)++ % 9;
	for (uint8_t i = 0; i < w && *p < end; i++)
		x = x << 8 | *(*p)++;
	return (int64_t)x;
}

static void
made_rows(const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n;
	struct block_in in;
	uint32_t nrows, ncols;
	int64_t now;

	if (n < 2)
		return;
	nrows = 1 + (uint32_t)(p[0] | (p[1] & 3) << 8);
	ncols = 1 + (p[1] >> 2) % BLOCK_MAX_COLS;
	p += 2;
	now = delta(&p, end);
	for (uint32_t r = 0; r < nrows; r++) {
		uint64_t step = (uint64_t)delta(&p, end) % 100000 + 1;

		/* Ascending and distinct: stop before wrapping. */
		if ((uint64_t)INT64_MAX - (uint64_t)now < step) {
			nrows = r;
			break;
		}
		t[r] = now;
		now += (int64_t)step;
	}
	if (nrows == 0)
		return;
	for (uint32_t c = 0; c < ncols; c++) {
		int64_t x = delta(&p, end);
		uint8_t kind = p < end ? *p++ : 0;

		ctr[c] = delta(&p, end);
		for (uint32_t r = 0; r < nrows; r++) {
			v[(size_t)c * BLOCK_MAX_ROWS + r] = x;
			if (kind & 1)
				x = (int64_t)((uint64_t)x + (uint64_t)delta(&p,
				    end));
		}
	}
	in = (struct block_in){ nrows, ncols, t, ctr, v, BLOCK_MAX_ROWS };
	round_trip(&in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		made_rows(data + 1, size - 1);
	else
		stored_bytes(data + 1, size - 1);
	return 0;
}
