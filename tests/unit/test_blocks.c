/*
 * Raw samples in blocks: the codec round-trips every shape of sequence
 * exactly and refuses damaged blocks; and the store's blocks, read back
 * through the `samples` virtual table, return the same rows as the row
 * format of schema 8 (a WITHOUT ROWID table, INSERT OR IGNORE) fed the
 * same input, for whole scans and for every kind of condition the table
 * pushes down.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "blocks.h"
#include "check.h"
#include "sblocks.h"
#include "store.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ---- the codec ---- */

enum shape { CONSTANT, LINEAR, NOISE, SMALL, EXTREME, SPARSE, NSHAPES };

static int64_t
value(enum shape sh, uint32_t r, int64_t seed)
{
	switch (sh) {
	case CONSTANT:
		return seed;
	case LINEAR:
		return seed + (int64_t)r * 48;
	case NOISE:
		return (int64_t)rnd();
	case SMALL:
		return (int64_t)(rnd() % 7) - 3;
	case EXTREME:
		return (rnd() & 1) ? INT64_MAX : INT64_MIN;
	default:
		return rnd() % 50 == 0 ? (int64_t)(rnd() % 1000) : 0;
	}
}

static int64_t tv[BLOCK_MAX_ROWS], ctr[BLOCK_MAX_COLS];
static int64_t vals[BLOCK_MAX_COLS * BLOCK_MAX_ROWS];
static int64_t out[BLOCK_MAX_ROWS];
static uint8_t enc[BLOCK_MAX_BYTES];

/* A block of nrows x ncols of random shapes; its encoded length. */
static size_t
make_block(uint32_t nrows, uint32_t ncols, struct block_in *in)
{
	int64_t t = (int64_t)(rnd() % 2000000000000000ull) - 1000000000000000;

	for (uint32_t r = 0; r < nrows; r++) {
		t += rnd() % 4 == 0 ? 1 + (int64_t)(rnd() % 3000) : 1000;
		tv[r] = t;
	}
	for (uint32_t c = 0; c < ncols; c++) {
		enum shape sh = (enum shape)(rnd() % NSHAPES);
		int64_t seed = (int64_t)rnd();

		ctr[c] = (int64_t)(c * 3 + 1);
		for (uint32_t r = 0; r < nrows; r++)
			vals[(size_t)c * BLOCK_MAX_ROWS + r] = value(sh, r, seed);
	}
	*in = (struct block_in){ nrows, ncols, tv, ctr, vals, BLOCK_MAX_ROWS };
	return block_encode(in, enc);
}

static bool
round_trips(const struct block_in *in, size_t len)
{
	struct block_view bv;
	const char *why = "";

	if (block_open(&bv, enc, len, &why) < 0 || bv.nrows != in->nrows ||
	    bv.ncols != in->ncols || block_times(&bv, out, &why) < 0 ||
	    memcmp(out, in->t, in->nrows * sizeof(*out)) != 0) {
		printf("# times: %s\n", why);
		return false;
	}
	for (uint32_t c = 0; c < in->ncols; c++)
		if (bv.counters[c] != in->counters[c] ||
		    block_column(&bv, c, out, &why) < 0 ||
		    memcmp(out, in->v + (size_t)c * in->stride,
		    in->nrows * sizeof(*out)) != 0) {
			printf("# column %u: %s\n", c, why);
			return false;
		}
	return true;
}

static void
codec(void)
{
	static const uint32_t sizes[][2] = { { 1, 1 }, { 2, 1 }, { 3, 64 },
	    { 1000, 64 }, { BLOCK_MAX_ROWS, BLOCK_MAX_COLS }, { 17, 5 } };
	struct block_in in;
	int bad = 0, refused = 0, tries = 0;
	size_t len;

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		for (int rep = 0; rep < 20; rep++) {
			len = make_block(sizes[k][0], sizes[k][1], &in);
			bad += !round_trips(&in, len);
		}
	CHECK(bad == 0, "120 blocks of every shape (constant, linear, noise, "
	    "small, INT64 extremes, sparse; 1x1 to 1024x128) round-trip "
	    "exactly");

	len = make_block(300, 8, &in);
	for (size_t cut = 0; cut < len; cut++) {
		struct block_view bv;
		const char *why = "";

		refused += block_open(&bv, enc, cut, &why) < 0;
	}
	CHECK(refused == (int)len, "every one of the %zu truncations of a "
	    "block is refused", len);
	/* Damage anywhere: refused, or decoded within bounds (ASan). */
	for (int i = 0; i < 20000; i++) {
		struct block_view bv;
		const char *why = "";
		size_t at = rnd() % len;
		uint8_t was = enc[at];

		enc[at] ^= (uint8_t)(1u << (rnd() % 8));
		if (block_open(&bv, enc, len, &why) == 0 &&
		    block_times(&bv, out, &why) == 0) {
			for (uint32_t c = 0; c < bv.ncols; c++)
				(void)block_column(&bv, c, out, &why);
			tries++;
		}
		enc[at] = was;
	}
	CHECK(round_trips(&in, len), "20000 one-bit damages read safely (%d "
	    "still parsed), the block intact after", tries);
}

/* ---- blocks against rows ---- */

static char dir[64];

static int64_t
q1(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		printf("# %s: %s\n", sql, sqlite3_errmsg(db));
		return v;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Both answers to one query, compared row by row: the rows of `samples`
 * (the store's blocks) and of `rows` (the row format, attached). */
static bool
same_rows(sqlite3 *db, const char *where, int64_t *n)
{
	char a[512], b[512];
	int64_t diff;

	snprintf(a, sizeof(a), "SELECT count(*) FROM (SELECT counter_id, t, "
	    "value FROM samples %s EXCEPT SELECT counter_id, t, value FROM "
	    "r.rows %s)", where, where);
	snprintf(b, sizeof(b), "SELECT count(*) FROM (SELECT counter_id, t, "
	    "value FROM r.rows %s EXCEPT SELECT counter_id, t, value FROM "
	    "samples %s)", where, where);
	diff = q1(db, a) + q1(db, b);
	snprintf(a, sizeof(a), "SELECT (SELECT count(*) FROM samples %s) - "
	    "(SELECT count(*) FROM r.rows %s)", where, where);
	diff += q1(db, a) != 0;
	snprintf(a, sizeof(a), "SELECT count(*) FROM r.rows %s", where);
	*n = q1(db, a);
	if (diff != 0)
		printf("# %s: %" PRId64 " differences\n", where, diff);
	return diff == 0;
}

/* The input: two boards (16 and 3 counters) at 1 kHz with jitter, a
 * clock step back, replayed rows, late rows filling a gap, a column set
 * change, and a counter written alone. */
static void
feed(struct store *s, sqlite3 *rows, uint64_t t0)
{
	sqlite3_stmt *ins;
	int64_t c16[16], c3[3], c1[1] = { 50 }, v[16];
	uint64_t t = t0, late_from = 0;

	sqlite3_prepare_v2(rows, "INSERT OR IGNORE INTO rows VALUES (?, ?, ?)",
	    -1, &ins, NULL);
	for (int i = 0; i < 16; i++)
		c16[i] = 10 + i;
	for (int i = 0; i < 3; i++)
		c3[i] = 40 + i;
#define ROW(tt, cs, n) do { \
	store_row(s, (tt), (cs), v, (n), (tt)); \
	for (uint32_t k_ = 0; k_ < (n); k_++) { \
		sqlite3_bind_int64(ins, 1, (cs)[k_]); \
		sqlite3_bind_int64(ins, 2, (int64_t)(tt)); \
		sqlite3_bind_int64(ins, 3, v[k_]); \
		sqlite3_step(ins); \
		sqlite3_reset(ins); \
	} } while (0)
	for (int i = 0; i < 40000; i++) {
		for (int k = 0; k < 16; k++)
			v[k] = k < 4 ? i * (k + 1) : k < 8 ? (int64_t)(rnd() %
			    100) : k == 8 ? -(int64_t)(rnd() % 1000) :
			    (int64_t)(rnd() % 3 == 0);
		/* Even times before the step back, odd after: no time of a
		 * counter twice, as appcored guarantees (late_time_taken). */
		t += 1000 + (rnd() % 10 == 0 ? rnd() % 100 * 2 : 0);
		if (i == 20000)
			t -= 2999999;	/* the clock steps back 3 s */
		if (i >= 25000 && i < 25050) {	/* a gap, filled later */
			if (i == 25000)
				late_from = t;
			continue;
		}
		ROW(t, c16, i >= 30000 ? 15u : 16u);
		if (i % 97 == 0)	/* a replayed row */
			ROW(t, c16, i >= 30000 ? 15u : 16u);
		if (i % 10 == 0)
			ROW(t + 1, c3, 3u);
		if (i == 25100)
			for (int k = 0; k < 50; k++)
				ROW(late_from + (uint64_t)k * 1000, c16, 16u);
		if (i % 1000 == 0) {
			v[0] = i;
			ROW(t + 2, c1, 1u);
			(void)store_commit(s, t);
		}
	}
#undef ROW
	sqlite3_finalize(ins);
}

static void
against_rows(void)
{
	struct store_cfg cfg;
	struct store *s;
	sqlite3 *rows, *db;
	char err[256], path[128], rpath[128], sql[300];
	const uint64_t t0 = 1800000000000000ull;
	int64_t n = 0, total = 0;
	bool all = true;
	static const char *const wheres[] = {
		"", "WHERE counter_id = 12", "WHERE counter_id IN (10, 41, 99)",
		"WHERE t BETWEEN 1800000010000000 AND 1800000010500000",
		"WHERE t > 1800000017000000 AND t < 1800000017002500",
		"WHERE t >= 1800000020000000 AND t <= 1800000020010000 AND "
		"counter_id = 25",
		"WHERE counter_id = 11 AND t = (SELECT max(t) FROM r.rows "
		"WHERE counter_id = 11)",
		"WHERE counter_id = 12.0 AND t < 1.8000000005e15",
		"WHERE counter_id = '12'", "WHERE t > 'x'",
		"WHERE counter_id = 14 AND t > 9223372036854775807",
		"WHERE counter_id IN (SELECT id FROM (SELECT 13 AS id UNION "
		"SELECT 42))",
		"WHERE t >= 1800000010000000.5 AND t < 1800000010100000.5",
		"WHERE t > 1800000010000000.0 AND t <= 1800000010100000.9 AND "
		"counter_id = 41.0",
		"WHERE counter_id = 12.5", "WHERE t > NULL", "WHERE t < 'x' AND "
		"counter_id = '13'", "WHERE t < -9223372036854775808",
		"WHERE t BETWEEN -1e300 AND 1e300 AND counter_id = 50",
		"WHERE t = 1.8e15 + 0.5",
	};

	snprintf(dir, sizeof(dir), "/tmp/appcore-blocks-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/appcore.db", dir);
	snprintf(rpath, sizeof(rpath), "%s/rows.db", dir);
	store_cfg_defaults(&cfg);
	s = store_open(path, &cfg, err, sizeof(err));
	sqlite3_open(rpath, &rows);
	sqlite3_exec(rows, "PRAGMA journal_mode = WAL; CREATE TABLE rows "
	    "(counter_id INTEGER NOT NULL, t INTEGER NOT NULL, value INTEGER "
	    "NOT NULL, PRIMARY KEY (counter_id, t)) WITHOUT ROWID; BEGIN",
	    NULL, NULL, NULL);
	CHECK(s != NULL, "a store: %s", s != NULL ? path : err);
	if (s == NULL)
		return;
	feed(s, rows, t0);
	sqlite3_exec(rows, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(rows);
	store_close(s, 1000);

	s = store_open(path, &cfg, err, sizeof(err));
	db = s != NULL ? store_db(s) : NULL;
	snprintf(sql, sizeof(sql), "ATTACH '%s' AS r", rpath);
	CHECK(db != NULL && sqlite3_exec(db, sql, NULL, NULL, NULL) ==
	    SQLITE_OK, "reopened, the row format attached");
	if (db == NULL)
		return;
	for (size_t i = 0; i < sizeof(wheres) / sizeof(wheres[0]); i++) {
		bool ok = same_rows(db, wheres[i], &n);

		all = all && ok;
		if (i == 0)
			total = n;
		CHECK(ok, "the same %" PRId64 " rows %s", n, wheres[i][0] ?
		    wheres[i] : "in all");
	}
	CHECK(all && total > 600000 && q1(db, "SELECT count(*) FROM "
	    "sample_blocks") > 40 && q1(db, "SELECT max(t_max - t_min) FROM "
	    "sample_blocks") <= BLOCK_SPAN_US && q1(db, "SELECT max(nrows) "
	    "FROM sample_blocks") <= BLOCK_MAX_ROWS, "%" PRId64 " samples in "
	    "%" PRId64 " blocks, none over 1024 rows or 10 s", total,
	    q1(db, "SELECT count(*) FROM sample_blocks"));
	CHECK(q1(db, "SELECT count(*) FROM samples s JOIN r.rows w USING "
	    "(counter_id, t) WHERE w.counter_id = 13 AND s.value = w.value")
	    == q1(db, "SELECT count(*) FROM r.rows WHERE counter_id = 13"),
	    "a join pushes the counter and time in and matches every row");
	/* A damaged block: a clear error, nothing else touched. */
	sqlite3_exec(db, "UPDATE sample_blocks SET data = substr(data, 1, "
	    "length(data) - 1) WHERE id = (SELECT min(id) FROM sample_blocks)",
	    NULL, NULL, NULL);
	{
		sqlite3_stmt *st;
		int rc = SQLITE_OK;

		if (sqlite3_prepare_v2(db, "SELECT count(*) FROM samples", -1,
		    &st, NULL) == SQLITE_OK) {
			rc = sqlite3_step(st);
			sqlite3_finalize(st);
		}
		CHECK(rc == SQLITE_CORRUPT && strstr(sqlite3_errmsg(db),
		    "is malformed") != NULL, "a damaged block is an error that "
		    "names it: %s", sqlite3_errmsg(db));
	}
	store_close(s, 0);
	unlink(rpath);
	unlink(path);
}

/* Memory: 5 000 column sets at once (a board whose descriptors change
 * and change): 4 096 blocks held, then rows refused, until a commit
 * writes and frees the closed ones. */
static void
bounded(void)
{
	struct store_cfg cfg;
	struct store *s;
	struct sblocks *sb;
	char err[256], path[160];
	const char *why = "";
	int kept = 0, refused = 0, after = 0;

	snprintf(path, sizeof(path), "%s/bounded.db", dir);
	store_cfg_defaults(&cfg);
	if ((s = store_open(path, &cfg, err, sizeof(err))) == NULL ||
	    (sb = sblocks_new(store_db(s))) == NULL) {
		CHECK(false, "a store for the bound: %s", err);
		return;
	}
	for (int64_t c = 1; c <= 5000; c++) {
		int64_t v = c;
		int rc = sblocks_add(sb, 1000, &c, &v, 1, (uint64_t)c);

		kept += rc == 1;
		refused += rc < 0;
	}
	CHECK(kept == 4096 && refused == 904 && sblocks_queued(sb) == 4096,
	    "5000 column sets: %d blocks held, %d rows refused", kept,
	    refused);
	sqlite3_exec(store_db(s), "BEGIN", NULL, NULL, NULL);
	CHECK(sblocks_write(sb, 2000, &why) == 0 && sqlite3_exec(store_db(s),
	    "COMMIT", NULL, NULL, NULL) == SQLITE_OK && sblocks_done(sb,
	    true) == 4096 && sblocks_queued(sb) == 0, "a commit writes them all "
	    "(%s)", why);
	for (int64_t c = 5001; c <= 5300; c++) {
		int64_t v = c;

		after += sblocks_add(sb, 1000, &c, &v, 1, 3000) == 1;
	}
	CHECK(after == 300, "and frees the closed ones: 300 more column sets "
	    "taken (%d)", after);
	sblocks_free(sb);
	store_close(s, 0);
	unlink(path);
}

int
main(void)
{
	codec();
	against_rows();
	bounded();
	return check_done();
}
