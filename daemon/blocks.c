/*
 * Compressed blocks of raw samples: the format (docs/storage.md, "Raw
 * samples in blocks").
 *
 *   u8 version (1), varint nrows, varint ncols,
 *   ncols x svarint counter id,
 *   varint len, the times as a sequence of len bytes,
 *   ncols x { varint len, the column as a sequence of len bytes }
 *
 * A sequence of n integers: u8 mode, svarint x0, then the n - 1 residuals
 * of the mode's predictor (bit 0: 0 delta, x[i] - x[i-1]; 1 delta of
 * delta, the change of that) in its coding (bit 1: 0 dense, one svarint
 * each; 1 zero runs: varint zeros, then a non-zero svarint, until n - 1
 * residuals are told).  Arithmetic wraps at 64 bits, so every int64
 * sequence codes exactly.
 */
#include <string.h>

#include "blocks.h"

#define MODE_DOD	1u
#define MODE_RUNS	2u
#define SEQ_MAX_BYTES	(1 + 10 + (BLOCK_MAX_ROWS - 1) * 11)

/* ---- varints ---- */

static size_t
put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static uint64_t
zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t
unzigzag(uint64_t u)
{
	return (int64_t)((u >> 1) ^ (0 - (u & 1)));
}

static size_t
put_svarint(uint8_t *p, int64_t v)
{
	return put_varint(p, zigzag(v));
}

struct reader {
	const uint8_t *p, *end;
	const char *why;
};

static int
get_varint(struct reader *r, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 70; shift += 7) {
		uint8_t b;

		if (r->p == r->end) {
			r->why = "truncated";
			return -1;
		}
		b = *r->p++;
		if (shift == 63 && b > 1) {
			r->why = "varint too long";
			return -1;
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	r->why = "varint too long";
	return -1;
}

static int
get_svarint(struct reader *r, int64_t *out)
{
	uint64_t u;

	if (get_varint(r, &u) < 0)
		return -1;
	*out = unzigzag(u);
	return 0;
}

/* ---- sequences ---- */

/* The residual of x[i] under the predictor (wrapping). */
static int64_t
residual(const int64_t *x, uint32_t i, unsigned mode)
{
	uint64_t d = (uint64_t)x[i] - (uint64_t)x[i - 1];

	if ((mode & MODE_DOD) && i >= 2)
		d -= (uint64_t)x[i - 1] - (uint64_t)x[i - 2];
	return (int64_t)d;
}

static size_t
encode_seq(const int64_t *x, uint32_t n, unsigned mode,
    uint8_t *out)
{
	size_t len = 0;
	uint64_t zeros = 0;

	out[len++] = (uint8_t)mode;
	len += put_svarint(out + len, x[0]);
	for (uint32_t i = 1; i < n; i++) {
		int64_t r = residual(x, i, mode);

		if (!(mode & MODE_RUNS)) {
			len += put_svarint(out + len, r);
		} else if (r == 0) {
			zeros++;
		} else {
			len += put_varint(out + len, zeros);
			len += put_svarint(out + len, r);
			zeros = 0;
		}
	}
	if ((mode & MODE_RUNS) && zeros > 0)
		len += put_varint(out + len, zeros);
	return len;
}

/* The shortest of the four codings, into out; its length. */
static size_t
encode_best(const int64_t *x, uint32_t n, uint8_t *out)
{
	uint8_t tmp[SEQ_MAX_BYTES];
	size_t best = 0;

	for (unsigned mode = 0; mode < 4; mode++) {
		size_t len = encode_seq(x, n, mode, tmp);

		if (best == 0 || len < best) {
			memcpy(out, tmp, len);
			best = len;
		}
	}
	return best;
}

/* x[i] from its residual under the predictor; *prevd: the last delta. */
static void
undo_residual(int64_t *x, uint32_t i, int64_t res, unsigned mode,
    uint64_t *prevd)
{
	uint64_t d = (uint64_t)res;

	if (mode & MODE_DOD)
		d += *prevd;
	x[i] = (int64_t)((uint64_t)x[i - 1] + d);
	*prevd = d;
}

static int
decode_seq(const uint8_t *p, size_t len, uint32_t n, int64_t *x,
    const char **why)
{
	struct reader r = { p, p + len, NULL };
	uint64_t prevd = 0;
	unsigned mode;
	uint32_t i = 1;

	if (len < 2 || p[0] > 3) {
		*why = len < 2 ? "sequence truncated" : "unknown sequence mode";
		return -1;
	}
	mode = *r.p++;
	if (get_svarint(&r, &x[0]) < 0)
		goto bad;
	while (i < n) {
		int64_t res;

		if (mode & MODE_RUNS) {
			uint64_t zeros;

			if (get_varint(&r, &zeros) < 0)
				goto bad;
			if (zeros > n - i) {
				*why = "zero run past the end";
				return -1;
			}
			for (; zeros > 0; zeros--, i++)
				undo_residual(x, i, 0, mode, &prevd);
			if (i == n)
				break;
		}
		if (get_svarint(&r, &res) < 0)
			goto bad;
		if ((mode & MODE_RUNS) && res == 0) {
			*why = "zero as a run's value";
			return -1;
		}
		undo_residual(x, i++, res, mode, &prevd);
	}
	if (r.p != r.end) {
		*why = "bytes after a sequence";
		return -1;
	}
	return 0;
bad:
	*why = r.why;
	return -1;
}

/* ---- blocks ---- */

size_t
block_encode(const struct block_in *in, uint8_t *out)
{
	uint8_t seq[SEQ_MAX_BYTES];
	size_t len = 0, n;

	out[len++] = BLOCK_VERSION;
	len += put_varint(out + len, in->nrows);
	len += put_varint(out + len, in->ncols);
	for (uint32_t c = 0; c < in->ncols; c++)
		len += put_svarint(out + len, in->counters[c]);
	n = encode_best(in->t, in->nrows, seq);
	len += put_varint(out + len, n);
	memcpy(out + len, seq, n);
	len += n;
	for (uint32_t c = 0; c < in->ncols; c++) {
		n = encode_best(in->v + (size_t)c * in->stride, in->nrows,
		    seq);
		len += put_varint(out + len, n);
		memcpy(out + len, seq, n);
		len += n;
	}
	return len;
}

static int
get_part(struct reader *r, const uint8_t **p, size_t *len)
{
	uint64_t n;

	if (get_varint(r, &n) < 0)
		return -1;
	if (n > (uint64_t)(r->end - r->p)) {
		r->why = "a part runs past the block";
		return -1;
	}
	*p = r->p;
	*len = (size_t)n;
	r->p += n;
	return 0;
}

int
block_open(struct block_view *b, const uint8_t *p, size_t n,
    const char **why)
{
	struct reader r = { p, p + n, NULL };
	uint64_t rows, cols;

	if (n < 1 || p[0] != BLOCK_VERSION) {
		*why = n < 1 ? "empty" : "unknown block version";
		return -1;
	}
	r.p++;
	if (get_varint(&r, &rows) < 0 || get_varint(&r, &cols) < 0)
		goto bad;
	if (rows < 1 || rows > BLOCK_MAX_ROWS || cols < 1 ||
	    cols > BLOCK_MAX_COLS) {
		*why = "row or column count out of range";
		return -1;
	}
	b->nrows = (uint32_t)rows;
	b->ncols = (uint32_t)cols;
	for (uint32_t c = 0; c < b->ncols; c++)
		if (get_svarint(&r, &b->counters[c]) < 0)
			goto bad;
	if (get_part(&r, &b->times, &b->times_len) < 0)
		goto bad;
	for (uint32_t c = 0; c < b->ncols; c++)
		if (get_part(&r, &b->col[c], &b->col_len[c]) < 0)
			goto bad;
	if (r.p != r.end) {
		*why = "bytes after the last column";
		return -1;
	}
	return 0;
bad:
	*why = r.why;
	return -1;
}

int
block_times(const struct block_view *b, int64_t *t, const char **why)
{
	if (decode_seq(b->times, b->times_len, b->nrows, t, why) < 0)
		return -1;
	for (uint32_t i = 1; i < b->nrows; i++)
		if (t[i] <= t[i - 1]) {
			*why = "times not ascending";
			return -1;
		}
	return 0;
}

int
block_column(const struct block_view *b, uint32_t c, int64_t *v,
    const char **why)
{
	if (c >= b->ncols) {
		*why = "no such column";
		return -1;
	}
	return decode_seq(b->col[c], b->col_len[c], b->nrows, v, why);
}

int
block_find(const struct block_view *b, int64_t counter)
{
	for (uint32_t c = 0; c < b->ncols; c++)
		if (b->counters[c] == counter)
			return (int)c;
	return -1;
}
