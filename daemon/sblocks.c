/*
 * The open blocks of raw samples: rows gathered per column set, written
 * as whole blocks (daemon/blocks.c) in the store's transactions.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "blocks.h"
#include "sblocks.h"

/* Memory: a block's arrays grow with its rows (16, 32, ... 1 024), at
 * most SBLOCKS_OPEN blocks take rows at once (the least recently used
 * closes first), and at most SBLOCKS_MAX are held, closed ones waiting to
 * be written included (only while writes fail); past it a row is refused
 * and counted by the store. */
#define SBLOCKS_OPEN	256
#define SBLOCKS_MAX	4096
#define FIRST_ROWS	16

struct oblock {
	int64_t id;			/* its sample_blocks row; 0: none yet */
	int64_t group;			/* its sample_groups row; 0: unknown */
	bool id_new, group_new;		/* given in the open transaction */
	bool closed, dirty;
	uint32_t ncols, nrows, nstored, cap;
	uint64_t last_add;
	int64_t *ctr;			/* ncols */
	int64_t *t;			/* cap, ascending */
	uint8_t *stored;		/* cap: the row is committed */
	int64_t *v;			/* ncols x cap, column-major */
};

enum { S_INS, S_UPD, S_GROUP, S_GROUP_INS, S_GROUP_CTR, S_COUNT };

static const char *const s_sql[S_COUNT] = {
	[S_INS] = "INSERT INTO sample_blocks (group_id, t_min, t_max, nrows, "
	    "data) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_UPD] = "UPDATE sample_blocks SET t_min = ?2, t_max = ?3, "
	    "nrows = ?4, data = ?5 WHERE id = ?1",
	[S_GROUP] = "SELECT id FROM sample_groups WHERE counters = ?1",
	[S_GROUP_INS] = "INSERT INTO sample_groups (counters) VALUES (?1)",
	[S_GROUP_CTR] = "INSERT INTO group_counters (counter_id, group_id, "
	    "col) VALUES (?1, ?2, ?3)",
};

struct sblocks {
	sqlite3 *db;
	sqlite3_stmt *st[S_COUNT];
	struct oblock **b;		/* oldest first */
	size_t n, cap;
	uint8_t *enc;			/* BLOCK_MAX_BYTES */
};

struct sblocks *
sblocks_new(sqlite3 *db)
{
	struct sblocks *sb = calloc(1, sizeof(*sb));

	if (sb == NULL || (sb->enc = malloc(BLOCK_MAX_BYTES)) == NULL) {
		free(sb);
		return NULL;
	}
	sb->db = db;
	for (int k = 0; k < S_COUNT; k++)
		if (sqlite3_prepare_v3(db, s_sql[k], -1,
		    SQLITE_PREPARE_PERSISTENT, &sb->st[k], NULL) != SQLITE_OK) {
			sblocks_free(sb);
			return NULL;
		}
	return sb;
}

static void
free_block(struct oblock *b)
{
	if (b != NULL) {
		free(b->ctr);
		free(b->t);
		free(b->stored);
		free(b->v);
	}
	free(b);
}

/* Room for cap rows, the rows kept; -1 without memory (b unchanged). */
static int
set_cap(struct oblock *b, uint32_t cap)
{
	int64_t *t = malloc(cap * sizeof(*t));
	uint8_t *st = malloc(cap);
	int64_t *v = malloc((size_t)b->ncols * cap * sizeof(*v));

	if (t == NULL || st == NULL || v == NULL) {
		free(t);
		free(st);
		free(v);
		return -1;
	}
	if (b->nrows > 0) {
		memcpy(t, b->t, b->nrows * sizeof(*t));
		memcpy(st, b->stored, b->nrows);
		for (uint32_t c = 0; c < b->ncols; c++)
			memcpy(v + (size_t)c * cap, b->v + (size_t)c * b->cap,
			    b->nrows * sizeof(*v));
	}
	free(b->t);
	free(b->stored);
	free(b->v);
	b->t = t;
	b->stored = st;
	b->v = v;
	b->cap = cap;
	return 0;
}

void
sblocks_free(struct sblocks *sb)
{
	if (sb == NULL)
		return;
	for (int k = 0; k < S_COUNT; k++)
		sqlite3_finalize(sb->st[k]);
	for (size_t i = 0; i < sb->n; i++)
		free_block(sb->b[i]);
	free(sb->b);
	free(sb->enc);
	free(sb);
}

/* ---- gathering rows ---- */

static bool
distinct(const int64_t *ctr, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = i + 1; j < n; j++)
			if (ctr[i] == ctr[j])
				return false;
	return true;
}

/* Closes the open block least recently added to when SBLOCKS_OPEN are. */
static void
close_lru(struct sblocks *sb)
{
	struct oblock *lru = NULL;
	size_t open = 0;

	for (size_t i = 0; i < sb->n; i++) {
		struct oblock *b = sb->b[i];

		if (b->closed)
			continue;
		open++;
		if (lru == NULL || b->last_add < lru->last_add)
			lru = b;
	}
	if (open >= SBLOCKS_OPEN)
		lru->closed = true;
}

static struct oblock *
open_block(struct sblocks *sb, const int64_t *ctr, uint32_t n)
{
	struct oblock *b;

	if (sb->n >= SBLOCKS_MAX)
		return NULL;
	close_lru(sb);
	if (sb->n == sb->cap) {
		size_t cap = sb->cap ? sb->cap * 2 : 16;
		struct oblock **nb = realloc(sb->b, cap * sizeof(*nb));

		if (nb == NULL)
			return NULL;
		sb->b = nb;
		sb->cap = cap;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->ctr = malloc(n * sizeof(*ctr))) == NULL ||
	    (b->ncols = n, set_cap(b, FIRST_ROWS)) < 0) {
		free_block(b);
		return NULL;
	}
	memcpy(b->ctr, ctr, n * sizeof(*ctr));
	sb->b[sb->n++] = b;
	return b;
}

static struct oblock *
find_open(struct sblocks *sb, const int64_t *ctr, uint32_t n)
{
	for (size_t i = sb->n; i-- > 0;) {
		struct oblock *b = sb->b[i];

		if (!b->closed && b->ncols == n &&
		    memcmp(b->ctr, ctr, n * sizeof(*ctr)) == 0)
			return b;
	}
	return NULL;
}

/* Where t goes among the rows; -1 when a row has it already. */
static int
slot_for(const struct oblock *b, int64_t t)
{
	uint32_t lo = 0, hi = b->nrows;

	if (b->nrows == 0 || t > b->t[b->nrows - 1])
		return (int)b->nrows;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (b->t[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < b->nrows && b->t[lo] == t ? -1 : (int)lo;
}

static bool
fits(const struct oblock *b, int64_t t)
{
	int64_t lo, hi;

	if (b->nrows == 0)
		return true;
	if (b->nrows == BLOCK_MAX_ROWS)
		return false;
	lo = t < b->t[0] ? t : b->t[0];
	hi = t > b->t[b->nrows - 1] ? t : b->t[b->nrows - 1];
	return (uint64_t)hi - (uint64_t)lo <= BLOCK_SPAN_US;
}

static int
put_row(struct oblock *b, uint32_t at, int64_t t, const int64_t *v)
{
	uint32_t move = b->nrows - at;

	if (b->nrows == b->cap && set_cap(b, b->cap * 2) < 0)
		return -1;
	memmove(&b->t[at + 1], &b->t[at], move * sizeof(*b->t));
	memmove(&b->stored[at + 1], &b->stored[at], move);
	b->t[at] = t;
	b->stored[at] = 0;
	for (uint32_t c = 0; c < b->ncols; c++) {
		int64_t *col = b->v + (size_t)c * b->cap;

		memmove(&col[at + 1], &col[at], move * sizeof(*col));
		col[at] = v[c];
	}
	b->nrows++;
	b->dirty = true;
	return 0;
}

int
sblocks_add(struct sblocks *sb, int64_t t, const int64_t *ctr,
    const int64_t *v, uint32_t n, uint64_t now)
{
	struct oblock *b;
	int at;

	if (n == 0 || n > BLOCK_MAX_COLS)
		return -1;
	if ((b = find_open(sb, ctr, n)) != NULL && slot_for(b, t) < 0)
		return 0;
	if (b != NULL && !fits(b, t)) {
		b->closed = true;
		b = NULL;
	}
	if (b == NULL && (!distinct(ctr, n) ||
	    (b = open_block(sb, ctr, n)) == NULL))
		return -1;
	if ((at = slot_for(b, t)) < 0)
		return 0;
	if (put_row(b, (uint32_t)at, t, v) < 0)
		return -1;
	b->last_add = now;
	return 1;
}

void
sblocks_close_all(struct sblocks *sb)
{
	for (size_t i = 0; i < sb->n; i++)
		sb->b[i]->closed = true;
}

/* ---- writing ---- */

static int
step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static char *
counters_text(const struct oblock *b)
{
	size_t cap = (size_t)b->ncols * 21 + 1, off = 0;
	char *s = malloc(cap);

	if (s == NULL)
		return NULL;
	s[0] = '\0';
	for (uint32_t c = 0; c < b->ncols; c++)
		off += (size_t)snprintf(s + off, cap - off, "%s%" PRId64,
		    c ? "," : "", b->ctr[c]);
	return s;
}

static int
new_group(struct sblocks *sb, struct oblock *b, const char *text)
{
	sqlite3_stmt *st = sb->st[S_GROUP_INS];

	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	if (step_done(st) < 0)
		return -1;
	b->group = sqlite3_last_insert_rowid(sb->db);
	b->group_new = true;
	st = sb->st[S_GROUP_CTR];
	for (uint32_t c = 0; c < b->ncols; c++) {
		sqlite3_bind_int64(st, 1, b->ctr[c]);
		sqlite3_bind_int64(st, 2, b->group);
		sqlite3_bind_int64(st, 3, c);
		if (step_done(st) < 0)
			return -1;
	}
	return 0;
}

/* The group of the block's column set, found or made. */
static int
ensure_group(struct sblocks *sb, struct oblock *b)
{
	sqlite3_stmt *st = sb->st[S_GROUP];
	char *text;
	int rc = 0;

	if (b->group != 0)
		return 0;
	if ((text = counters_text(b)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		b->group = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (b->group == 0)
		rc = new_group(sb, b, text);
	free(text);
	return rc;
}

static void
bind_block(sqlite3_stmt *st, const struct oblock *b, const uint8_t *enc,
    size_t len)
{
	sqlite3_bind_int64(st, 2, b->t[0]);
	sqlite3_bind_int64(st, 3, b->t[b->nrows - 1]);
	sqlite3_bind_int64(st, 4, b->nrows);
	sqlite3_bind_blob(st, 5, enc, (int)len, SQLITE_STATIC);
}

static int
write_block(struct sblocks *sb, struct oblock *b)
{
	struct block_in in = { b->nrows, b->ncols, b->t, b->ctr, b->v,
	    b->cap };
	size_t len = block_encode(&in, sb->enc);
	sqlite3_stmt *st;

	if (b->id != 0) {
		st = sb->st[S_UPD];
		sqlite3_bind_int64(st, 1, b->id);
		bind_block(st, b, sb->enc, len);
		if (step_done(st) < 0)
			return -1;
		if (sqlite3_changes(sb->db) == 0)
			b->id = 0;	/* retention took it: write it anew */
	}
	if (b->id == 0) {
		if (ensure_group(sb, b) < 0)
			return -1;
		st = sb->st[S_INS];
		sqlite3_bind_int64(st, 1, b->group);
		bind_block(st, b, sb->enc, len);
		if (step_done(st) < 0)
			return -1;
		b->id = sqlite3_last_insert_rowid(sb->db);
		b->id_new = true;
	}
	return 0;
}

int
sblocks_write(struct sblocks *sb, uint64_t now, const char **why)
{
	for (size_t i = 0; i < sb->n; i++) {
		struct oblock *b = sb->b[i];

		if (!b->closed && now > b->last_add + BLOCK_SPAN_US)
			b->closed = true;
		if (b->dirty && b->nrows > 0 && write_block(sb, b) < 0) {
			*why = sqlite3_errmsg(sb->db);
			return -1;
		}
	}
	return 0;
}

static void
remove_block(struct sblocks *sb, size_t i)
{
	free_block(sb->b[i]);
	memmove(&sb->b[i], &sb->b[i + 1], (sb->n - i - 1) * sizeof(*sb->b));
	sb->n--;
}

uint64_t
sblocks_done(struct sblocks *sb, bool ok)
{
	uint64_t stored = 0;

	for (size_t i = sb->n; i-- > 0;) {
		struct oblock *b = sb->b[i];

		if (!ok) {
			if (b->id_new)
				b->id = 0;
			if (b->group_new)
				b->group = 0;
			b->id_new = b->group_new = false;
			continue;
		}
		if (b->dirty) {
			stored += (uint64_t)(b->nrows - b->nstored) * b->ncols;
			memset(b->stored, 1, b->nrows);
			b->nstored = b->nrows;
			b->dirty = false;
		}
		b->id_new = b->group_new = false;
		if (b->closed)
			remove_block(sb, i);
	}
	return stored;
}

/* ---- accounting ---- */

uint64_t
sblocks_queued(const struct sblocks *sb)
{
	uint64_t q = 0;

	for (size_t i = 0; i < sb->n; i++)
		q += (uint64_t)(sb->b[i]->nrows - sb->b[i]->nstored) *
		    sb->b[i]->ncols;
	return q;
}

bool
sblocks_dirty(const struct sblocks *sb)
{
	for (size_t i = 0; i < sb->n; i++)
		if (sb->b[i]->dirty)
			return true;
	return false;
}

/* Keeps only the committed rows of b; the samples dropped. */
static uint64_t
drop_unstored(struct oblock *b)
{
	uint32_t keep = 0, was = b->nrows;

	for (uint32_t r = 0; r < b->nrows; r++) {
		if (!b->stored[r])
			continue;
		b->t[keep] = b->t[r];
		b->stored[keep] = 1;
		for (uint32_t c = 0; c < b->ncols; c++)
			b->v[(size_t)c * b->cap + keep] =
			    b->v[(size_t)c * b->cap + r];
		keep++;
	}
	b->nrows = keep;
	b->dirty = false;
	return (uint64_t)(was - keep) * b->ncols;
}

uint64_t
sblocks_trim(struct sblocks *sb, uint64_t keep)
{
	uint64_t dropped = 0, queued = sblocks_queued(sb);

	for (size_t i = 0; i < sb->n && queued > keep;) {
		uint64_t d = drop_unstored(sb->b[i]);

		dropped += d;
		queued -= d;
		if (sb->b[i]->nrows == 0)
			remove_block(sb, i);
		else
			i++;
	}
	return dropped;
}
