/*
 * SQLite storage (docs/storage.md).  One connection, owned by the ingest
 * thread.  Rows are queued in memory and written in one transaction per
 * commit; a failed commit leaves the queue as it was, to be retried.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "blocks.h"
#include "hex.h"
#include "le.h"
#include "partconv.h"
#include "samples_vtab.h"
#include "sblocks.h"
#include "sql_schema.h"
#include "store.h"

#define RETENTION_US	10000000u	/* run retention every 10 s */
#define RETRY_US	1000000u	/* retry a failed commit after 1 s */
#define BUDGET_PASSES	32		/* trims of history per retention run */
#define UPDATES_KEPT	20		/* per board, however old */

enum qkind {
	Q_ROLLUP_1S, Q_ROLLUP_1M, Q_EVENT, Q_LOG, Q_STATE, Q_CRASH,
	Q_SNAPSHOT, Q_STATS, Q_SEEN, Q_CRASH_DUMP, Q_BOOT_ACCOUNT, Q_UPDATE,
	Q_COUNT
};

struct qrow {
	enum qkind kind;
	int64_t a[12];
	char *s[6];
	uint8_t ar[64];			/* Q_CRASH: a0..a15 */
};

struct bucket {
	bool have;
	int64_t t, min, max, sum, last, count;
};

struct agg {
	struct bucket b[2];		/* 1 s, 1 min, since the last commit */
};

/* BLOCK_SPAN_US written into SQL. */
#define SPAN_SQL_(x)	#x
#define SPAN_SQL_OF(x)	SPAN_SQL_(x)
#define SPAN_SQL	SPAN_SQL_OF(BLOCK_SPAN_US)

/* Lookups on the ingest thread, prepared once. */
enum lookup {
	L_LAST_SNAPSHOT, L_CRASH_KNOWN, L_DUMP_KNOWN, L_CLOCK_ANCHORS,
	L_BOOT_ACCOUNT, L_BOOT_FIRST_SEEN, L_BOOT_STARTED, L_BLOB_REFERENCED,
	L_UPDATE_ROW, L_UPDATE_PENDING, L_LAST_SAMPLE, L_COUNT
};

static const char *const l_sql[L_COUNT] = {
	[L_LAST_SNAPSHOT] = "SELECT max(t) FROM snapshots WHERE device_id = ?1",
	/* The identity Q_CRASH_DUMP updates. */
	[L_CRASH_KNOWN] = "SELECT 1 FROM crashes WHERE device_id = ?1 AND "
	    "boot_id = ?2 AND generation = ?3 AND kind = ?4 AND "
	    "(?4 = 'panic' OR abs(t - ?5) < 1000000)",
	[L_DUMP_KNOWN] = "SELECT 1 FROM crashes WHERE device_id = ?1 AND "
	    "dump_key = ?2",
	[L_CLOCK_ANCHORS] = "SELECT from_us, offset_us FROM clock WHERE "
	    "boot_id = ?1 ORDER BY from_us DESC LIMIT ?2",
	[L_BOOT_ACCOUNT] = "SELECT samples_produced, samples_stored, "
	    "samples_dup FROM boots WHERE id = ?1",
	[L_BOOT_FIRST_SEEN] = "SELECT first_seen FROM boots WHERE id = ?1",
	[L_BOOT_STARTED] = "UPDATE boots SET started = ?2 WHERE id = ?1",
	[L_BLOB_REFERENCED] = "SELECT 1 FROM snapshots WHERE blob_key = ?1 "
	    "UNION ALL SELECT 1 FROM crashes WHERE dump_key = ?1 UNION ALL "
	    "SELECT 1 FROM images WHERE sha256 = ?1 UNION ALL "
	    "SELECT 1 FROM updates WHERE image_key = ?1 LIMIT 1",
	[L_UPDATE_ROW] = "SELECT device_id, image_key, elf_hash, size, entry, "
	    "trial_ms, have, state FROM updates WHERE id = ?1",
	[L_UPDATE_PENDING] = "SELECT max(id) FROM updates WHERE device_id = ?1 "
	    "AND finished IS NULL",
	/* A block's last row holds every counter of its column set; the
	 * newest block of each set, and any begun within a span of it. */
	[L_LAST_SAMPLE] = "SELECT max(b.t_max) FROM group_counters g JOIN "
	    "sample_blocks b ON b.group_id = g.group_id WHERE g.counter_id = "
	    "?1 AND b.t_min >= (SELECT max(b2.t_min) FROM sample_blocks b2 "
	    "WHERE b2.group_id = g.group_id) - " SPAN_SQL,
};

struct store {
	sqlite3 *db;
	struct store_cfg cfg;
	struct store_stats st;
	sqlite3_stmt *q[Q_COUNT];
	sqlite3_stmt *dev_ins, *boot_ins, *ctr_ins, *clock_ins;
	sqlite3_stmt *l[L_COUNT];

	struct sblocks *sb;		/* raw samples, in blocks */
	struct qrow *rows;
	size_t nrows, caprows;

	struct agg *agg;		/* indexed by counter id */
	size_t nagg;

	uint64_t batch_start;		/* 0: nothing queued */
	uint64_t next_retry;
	uint64_t next_retention;

	struct store_tee tee;		/* all NULL: none */
};

static const char *const q_sql[Q_COUNT] = {
	[Q_ROLLUP_1S] = "INSERT INTO rollup_1s VALUES (?1,?2,?3,?4,?5,?6,?7) "
	    "ON CONFLICT (counter_id, t) DO UPDATE SET "
	    "min = min(min, excluded.min), max = max(max, excluded.max), "
	    "sum = sum + excluded.sum, last = excluded.last, "
	    "count = count + excluded.count",
	[Q_ROLLUP_1M] = "INSERT INTO rollup_1m VALUES (?1,?2,?3,?4,?5,?6,?7) "
	    "ON CONFLICT (counter_id, t) DO UPDATE SET "
	    "min = min(min, excluded.min), max = max(max, excluded.max), "
	    "sum = sum + excluded.sum, last = excluded.last, "
	    "count = count + excluded.count",
	[Q_EVENT] = "INSERT INTO events (device_id, boot_id, t, kind, count, "
	    "detail) VALUES (nullif(?1, 0), nullif(?2, 0), ?3, ?4, ?5, ?6)",
	[Q_LOG] = "INSERT INTO logs (device_id, boot_id, t, generation, record, "
	    "level, stamp, text, channel, data) VALUES (?1, ?2, ?3, ?4, ?5, "
	    "?6, ?7, ?8, ?9, ?10)",
	[Q_STATE] = "INSERT INTO states (device_id, boot_id, t, state, prev, "
	    "generation, heartbeat, detail) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
	[Q_CRASH] = "INSERT INTO crashes (device_id, boot_id, t, generation, "
	    "kind, reason, message, file, line, pc, sp, backtrace, image_hash, "
	    "ps, exccause, excvaddr, ar) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,"
	    "?10,?11,?12,?13,?14,?15,?16,?17)",
	[Q_SNAPSHOT] = "INSERT INTO snapshots (device_id, boot_id, t, "
	    "region_base, size, blob_key) VALUES (?1,?2,?3,?4,?5,?6)",
	[Q_STATS] = "INSERT OR REPLACE INTO link_stats VALUES "
	    "(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
	/* The crash of store_crash's identity (crash_known in device.c). */
	[Q_CRASH_DUMP] = "UPDATE crashes SET dump_key = ?5, dump_size = ?6 "
	    "WHERE device_id = ?1 AND boot_id = ?2 AND generation = ?3 AND "
	    "kind = ?7 AND (?7 = 'panic' OR abs(t - ?4) < 1000000)",
	[Q_SEEN] = "UPDATE devices SET last_seen = max(last_seen, ?3), "
	    "link = coalesce(?4, link) WHERE id = ?1",
	[Q_BOOT_ACCOUNT] = "UPDATE boots SET samples_produced = ?2, "
	    "samples_stored = ?3, samples_dup = ?4 WHERE id = ?1",
	[Q_UPDATE] = "UPDATE updates SET state = ?2, have = ?3, "
	    "error = coalesce(?4, error), finished = ?5 WHERE id = ?1",
};

void
store_cfg_defaults(struct store_cfg *c)
{
	c->raw_window_us = 24ull * 3600 * 1000000;
	c->budget_bytes = 2000ull * 1000 * 1000;
	c->partition_us = 600ull * 1000000;
	c->rollup_1s_window_us = 2ull * 86400 * 1000000;
	c->rollup_1m_window_us = 90ull * 86400 * 1000000;
	c->commit_ms = 250;
	c->backlog_rows = 2000000;
	c->history_window_us = 30ull * 86400 * 1000000;
	c->snapshot_window_us = 7ull * 86400 * 1000000;
}

static void
set_error(struct store *s, const char *what)
{
	snprintf(s->st.last_error, sizeof(s->st.last_error), "%s: %s", what,
	    sqlite3_errmsg(s->db));
}

static int
exec(struct store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(s->st.last_error, sizeof(s->st.last_error), "%s",
		    msg != NULL ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int64_t
query_int(struct store *s, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* ---- schema ---- */

static int
migrate(struct store *s, char *err, size_t errlen)
{
	int64_t v = query_int(s, "PRAGMA user_version");
	char sql[64];

	if (v < 0) {
		snprintf(err, errlen, "cannot read the schema version: %s",
		    sqlite3_errmsg(s->db));
		return -1;
	}
	if (v > SQL_SCHEMA_VERSION) {
		snprintf(err, errlen, "the database has schema version %" PRId64
		    "; this appcored knows up to %d: upgrade appcored", v,
		    SQL_SCHEMA_VERSION);
		return -1;
	}
	for (; v < SQL_SCHEMA_VERSION; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %" PRId64,
		    v + 1);
		if (exec(s, "BEGIN IMMEDIATE") < 0 ||
		    exec(s, sql_migrations[v]) < 0 || exec(s, sql) < 0 ||
		    exec(s, "COMMIT") < 0) {
			snprintf(err, errlen, "migration to schema %" PRId64
			    " failed: %s", v + 1, s->st.last_error);
			(void)exec(s, "ROLLBACK");
			return -1;
		}
	}
	return 0;
}

static int
prepare_all(struct store *s)
{
	for (int k = 0; k < Q_COUNT; k++)
		if (sqlite3_prepare_v3(s->db, q_sql[k], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->q[k], NULL) != SQLITE_OK)
			return -1;
	for (int k = 0; k < L_COUNT; k++)
		if (sqlite3_prepare_v3(s->db, l_sql[k], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->l[k], NULL) != SQLITE_OK)
			return -1;
	return sqlite3_prepare_v3(s->db, "INSERT INTO devices (device_key, "
	    "name, first_seen, last_seen, link) VALUES (?1, ?2, ?3, ?3, ?4) "
	    "ON CONFLICT (device_key) DO UPDATE SET last_seen = excluded."
	    "last_seen, link = excluded.link RETURNING id", -1,
	    SQLITE_PREPARE_PERSISTENT, &s->dev_ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, "INSERT INTO boots (device_id, boot_key, "
	    "started, first_seen, last_seen, agent_version, proto_version, "
	    "layout_version, image_hash, region_base, region_size, rate_hz) "
	    "VALUES (?1,?2,?3,?4,?4,?5,?6,?7,?8,?9,?10,?11) ON CONFLICT "
	    "(device_id, boot_key) DO UPDATE SET last_seen = excluded."
	    "last_seen, rate_hz = excluded.rate_hz RETURNING id", -1,
	    SQLITE_PREPARE_PERSISTENT, &s->boot_ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, "INSERT INTO counters (device_id, idx, "
	    "name, unit, kind, signed, first_seen) VALUES (?1,?2,?3,?4,?5,?6,"
	    "?7) ON CONFLICT (device_id, idx, name, unit, kind, signed) DO "
	    "UPDATE SET idx = excluded.idx RETURNING id", -1,
	    SQLITE_PREPARE_PERSISTENT, &s->ctr_ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, "INSERT OR REPLACE INTO clock VALUES "
	    "(?1, ?2, ?3)", -1, SQLITE_PREPARE_PERSISTENT, &s->clock_ins,
	    NULL) != SQLITE_OK ? -1 : 0;
}

struct store *
store_open(const char *path, const struct store_cfg *cfg, char *err,
    size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->cfg = *cfg;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, s->db != NULL ?
		    sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	/* auto_vacuum only takes effect before the first table exists. */
	if (exec(s, "PRAGMA auto_vacuum = INCREMENTAL") < 0 ||
	    exec(s, "PRAGMA journal_mode = WAL") < 0 ||
	    exec(s, "PRAGMA synchronous = NORMAL") < 0 ||
	    exec(s, "PRAGMA foreign_keys = ON") < 0 ||
	    exec(s, "PRAGMA journal_size_limit = 67108864") < 0) {
		snprintf(err, errlen, "%s: %s", path, s->st.last_error);
		goto fail;
	}
	if (samples_vtab_register(s->db) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot register the samples table: "
		    "%s", path, sqlite3_errmsg(s->db));
		goto fail;
	}
	if (migrate(s, err, errlen) < 0)
		goto fail;
	if ((s->sb = sblocks_new(s->db)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		goto fail;
	}
	if (partconv_run(s->db, s->sb, err, errlen) < 0)
		goto fail;
	s->st.raw_blocks = (uint64_t)query_int(s, "SELECT count(*) FROM "
	    "sample_blocks");
	if (prepare_all(s) < 0) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		goto fail;
	}
	return s;
fail:
	store_close(s, 0);
	return NULL;
}

void
store_set_cfg(struct store *s, const struct store_cfg *cfg)
{
	s->cfg = *cfg;
	s->next_retention = 0;
}

/* ---- identity rows ---- */

static int64_t
step_returning_id(struct store *s, sqlite3_stmt *st, const char *what)
{
	int64_t id = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else
		set_error(s, what);
	while (sqlite3_step(st) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return id;
}

int64_t
store_device(struct store *s, const char *key, const char *name,
    const char *link, uint64_t now)
{
	sqlite3_stmt *st = s->dev_ins;

	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (int64_t)now);
	sqlite3_bind_text(st, 4, link, -1, SQLITE_TRANSIENT);
	return step_returning_id(s, st, "device");
}

static void
hex(char *out, const uint8_t *p, size_t n)
{
	hex_encode(out, p, n);
}

int64_t
store_boot(struct store *s, int64_t device, const struct ac_msg_hello *h,
    uint64_t started, uint64_t now)
{
	sqlite3_stmt *st = s->boot_ins;
	char key[17], hash[65];

	snprintf(key, sizeof(key), "%016" PRIx64, h->boot_id);
	hex(hash, h->image_hash, sizeof(h->image_hash));
	sqlite3_bind_int64(st, 1, device);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (int64_t)started);
	sqlite3_bind_int64(st, 4, (int64_t)now);
	sqlite3_bind_text(st, 5, h->agent_version, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 6, h->proto_version);
	sqlite3_bind_int64(st, 7, h->layout_version);
	sqlite3_bind_text(st, 8, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 9, h->region_base);
	sqlite3_bind_int64(st, 10, h->region_size);
	sqlite3_bind_int64(st, 11, h->rate_hz);
	return step_returning_id(s, st, "boot");
}

static const char *
kind_name(uint8_t kind)
{
	return kind == AC_KIND_COUNTER ? "counter" :
	    kind == AC_KIND_GAUGE ? "gauge" : "unused";
}

int64_t
store_counter(struct store *s, int64_t device, uint32_t idx,
    const struct ac_counter_info *c, uint64_t now)
{
	sqlite3_stmt *st = s->ctr_ins;

	sqlite3_bind_int64(st, 1, device);
	sqlite3_bind_int64(st, 2, idx);
	sqlite3_bind_text(st, 3, c->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, c->unit, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, kind_name(c->kind), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, (c->flags & AC_FLAG_SIGNED) != 0);
	sqlite3_bind_int64(st, 7, (int64_t)now);
	return step_returning_id(s, st, "counter");
}

int
store_clock(struct store *s, int64_t boot, uint64_t from_us,
    int64_t offset_us)
{
	sqlite3_stmt *st = s->clock_ins;
	int rc;

	sqlite3_bind_int64(st, 1, boot);
	sqlite3_bind_int64(st, 2, (int64_t)from_us);
	sqlite3_bind_int64(st, 3, offset_us);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		set_error(s, "clock");
		return -1;
	}
	return 0;
}

/* ---- queueing ---- */

static void
queued(struct store *s)
{
	if (s->batch_start == 0)
		s->batch_start = 1;	/* set to "now" by the next tick */
	s->st.queued = sblocks_queued(s->sb) + s->nrows;
}

/* Rows that may be lost when the queue is full (the disk has been failing
 * for long): history that is counted, not a crash or an accounting. */
static bool
row_expendable(enum qkind kind)
{
	return kind == Q_ROLLUP_1S || kind == Q_ROLLUP_1M || kind == Q_EVENT ||
	    kind == Q_LOG || kind == Q_STATE || kind == Q_STATS ||
	    kind == Q_SEEN;
}

static struct qrow *
row(struct store *s, enum qkind kind)
{
	struct qrow *r;

	if (s->nrows >= s->cfg.backlog_rows / 8 && row_expendable(kind)) {
		s->st.rows_lost++;
		return NULL;
	}
	if (s->nrows == s->caprows) {
		size_t cap = s->caprows ? s->caprows * 2 : 256;
		struct qrow *n = realloc(s->rows, cap * sizeof(*n));

		if (n == NULL)
			return NULL;
		s->rows = n;
		s->caprows = cap;
	}
	r = &s->rows[s->nrows++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	queued(s);
	return r;
}

static char *
dup(const char *p)
{
	return p != NULL ? strdup(p) : NULL;
}

static void
emit_bucket(struct store *s, int64_t counter, int which)
{
	struct bucket *b = &s->agg[counter].b[which];
	struct qrow *r;

	if (!b->have)
		return;
	if ((r = row(s, which == 0 ? Q_ROLLUP_1S : Q_ROLLUP_1M)) != NULL) {
		r->a[0] = counter;
		r->a[1] = b->t;
		r->a[2] = b->min;
		r->a[3] = b->max;
		r->a[4] = b->sum;
		r->a[5] = b->last;
		r->a[6] = b->count;
	}
	b->have = false;
}

static void
aggregate(struct store *s, int64_t counter, int64_t t, int64_t v)
{
	static const int64_t len[2] = { 1000000, 60000000 };

	if ((size_t)counter >= s->nagg) {
		size_t n = (size_t)counter * 2 + 64;
		struct agg *a = realloc(s->agg, n * sizeof(*a));

		if (a == NULL)
			return;
		memset(a + s->nagg, 0, (n - s->nagg) * sizeof(*a));
		s->agg = a;
		s->nagg = n;
	}
	for (int k = 0; k < 2; k++) {
		struct bucket *b = &s->agg[counter].b[k];
		int64_t bt = t - t % len[k];

		if (b->have && b->t != bt)
			emit_bucket(s, counter, k);
		if (!b->have) {
			*b = (struct bucket){ true, bt, v, v, 0, v, 0 };
		}
		b->min = v < b->min ? v : b->min;
		b->max = v > b->max ? v : b->max;
		/* Device values are 32-bit, so a minute's sum stays far below
		 * 2^63; saturate rather than overflow whatever comes in. */
		if (__builtin_add_overflow(b->sum, v, &b->sum))
			b->sum = v > 0 ? INT64_MAX : INT64_MIN;
		b->last = v;
		b->count++;
	}
}

void
store_row(struct store *s, uint64_t t, const int64_t *counters,
    const int64_t *values, uint32_t n, uint64_t now)
{
	uint64_t waiting;
	int added;

	if (n == 0)
		return;
	added = sblocks_add(s->sb, (int64_t)t, counters, values, n, now);
	if (added == 0)
		return;		/* a replay: stored once */
	if (s->tee.row != NULL)	/* held or not, the tee gets it */
		s->tee.row(s->tee.arg, t, counters, values, n);
	if (added < 0) {
		s->st.samples_lost += n;
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		aggregate(s, counters[i], (int64_t)t, values[i]);
	queued(s);
	if ((waiting = s->st.queued - s->nrows) > s->cfg.backlog_rows) {
		/* The disk has been failing for long: lose the oldest
		 * half, and say so. */
		s->st.samples_lost += sblocks_trim(s->sb, waiting / 2);
		queued(s);
	}
}

void
store_sample(struct store *s, int64_t counter, uint64_t t, int64_t value)
{
	if (counter > 0)
		store_row(s, t, &counter, &value, 1, t);
}

void
store_event(struct store *s, int64_t device, int64_t boot, uint64_t t,
    const char *kind, uint64_t count, const char *detail)
{
	struct qrow *r;

	if (s->tee.event != NULL)
		s->tee.event(s->tee.arg, device, boot, t, kind, count,
		    detail != NULL ? detail : "");
	if ((r = row(s, Q_EVENT)) == NULL)
		return;
	r->a[0] = device;
	r->a[1] = boot;
	r->a[2] = (int64_t)t;
	r->a[3] = (int64_t)count;
	r->s[0] = dup(kind);
	r->s[1] = dup(detail != NULL ? detail : "");
}

/* A logs row with what every line has: board, boot, time, generation. */
static struct qrow *
log_row(struct store *s, int64_t device, int64_t boot, uint64_t t,
    uint32_t generation)
{
	struct qrow *r = row(s, Q_LOG);

	if (r != NULL) {
		r->a[0] = device;
		r->a[1] = boot;
		r->a[2] = (int64_t)t;
		r->a[3] = generation;
	}
	return r;
}

void
store_log(struct store *s, int64_t device, int64_t boot, uint64_t t,
    uint32_t generation, const struct ac_msg_log *m)
{
	static const char *const lv[] = { "?", "error", "warn", "info",
	    "debug" };
	struct qrow *r;

	if (s->tee.log != NULL)
		s->tee.log(s->tee.arg, device, boot, t, m->record,
		    m->level <= 4 ? lv[m->level] : "?", "", m->text);
	if ((r = log_row(s, device, boot, t, generation)) == NULL)
		return;
	r->a[4] = m->record;
	r->a[5] = m->stamp;
	r->s[0] = dup(m->level <= 4 ? lv[m->level] : "?");
	r->s[1] = dup(m->text);
}

void
store_rtt_line(struct store *s, int64_t device, int64_t boot, uint64_t t,
    uint32_t generation, const char *channel, const char *text,
    const uint8_t *data, size_t len)
{
	struct qrow *r;

	if (s->tee.log != NULL)
		s->tee.log(s->tee.arg, device, boot, t, 0, "info", channel,
		    text);
	if ((r = log_row(s, device, boot, t, generation)) == NULL)
		return;
	r->a[4] = 0;
	r->a[5] = 0;
	r->s[0] = dup("info");
	r->s[1] = dup(text);
	r->s[2] = dup(channel);
	if (data != NULL && (r->s[3] = malloc(len > 0 ? len : 1)) != NULL) {
		memcpy(r->s[3], data, len);
		r->a[6] = (int64_t)len;
	}
}

void
store_state(struct store *s, int64_t device, int64_t boot, uint64_t t,
    const struct ac_msg_state *m)
{
	struct qrow *r = row(s, Q_STATE);

	if (r == NULL)
		return;
	r->a[0] = device;
	r->a[1] = boot;
	r->a[2] = (int64_t)t;
	r->a[3] = m->generation;
	r->a[4] = m->heartbeat;
	r->a[5] = m->detail;
	r->s[0] = dup(ac_state_name(m->state));
	r->s[1] = dup(ac_state_name(m->prev));
}

void
store_backtrace_text(const struct ac_msg_crash *m, char *out, size_t cap)
{
	out[0] = '\0';
	for (uint32_t i = 0; i < m->bt_count && i < AC_BT_MAX; i++)
		snprintf(out + strlen(out), cap - strlen(out), "%s0x%08x",
		    i ? " " : "", m->bt[i]);
}

void
store_crash(struct store *s, int64_t device, int64_t boot, uint64_t t,
    const struct ac_msg_crash *m, const char *image_hash)
{
	struct qrow *r;
	char bt[STORE_BT_TEXT];

	if (s->tee.crash != NULL)
		s->tee.crash(s->tee.arg, device, boot, t, m, image_hash);
	if ((r = row(s, Q_CRASH)) == NULL)
		return;
	store_backtrace_text(m, bt, sizeof(bt));
	r->a[0] = device;
	r->a[1] = boot;
	r->a[2] = (int64_t)t;
	r->a[3] = m->generation;
	r->a[4] = m->line;
	r->a[5] = m->pc;
	r->a[6] = m->sp;
	r->a[7] = m->ps;
	r->a[8] = m->exccause;
	r->a[9] = m->excvaddr;
	for (int i = 0; i < 16; i++)	/* a0..a15, little-endian */
		le32_put(r->ar + 4 * i, m->ar[i]);
	r->s[0] = dup(m->reason == AC_PANIC_HANG ? "hang" : "panic");
	r->s[1] = dup(ac_panic_reason_name(m->reason));
	r->s[2] = dup(m->msg);
	r->s[3] = dup(m->file);
	r->s[4] = dup(bt);
	r->s[5] = dup(image_hash);
}

void
store_crash_dump(struct store *s, int64_t device, int64_t boot, uint64_t t,
    const struct ac_msg_crash *m, const char *blob_key, uint32_t size)
{
	struct qrow *r = row(s, Q_CRASH_DUMP);

	if (r == NULL)
		return;
	r->a[0] = device;
	r->a[1] = boot;
	r->a[2] = m->generation;
	r->a[3] = (int64_t)t;
	r->a[4] = size;
	r->s[0] = dup(blob_key);
	r->s[1] = dup(m->reason == AC_PANIC_HANG ? "hang" : "panic");
}

void
store_snapshot(struct store *s, int64_t device, int64_t boot, uint64_t t,
    uint32_t base, uint32_t size, const char *blob_key)
{
	struct qrow *r = row(s, Q_SNAPSHOT);

	if (r == NULL)
		return;
	r->a[0] = device;
	r->a[1] = boot;
	r->a[2] = (int64_t)t;
	r->a[3] = base;
	r->a[4] = size;
	r->s[0] = dup(blob_key);
}

void
store_link_stats(struct store *s, int64_t device, int64_t boot, uint64_t t,
    const struct ac_msg_stats *m)
{
	struct qrow *r = row(s, Q_STATS);

	if (r == NULL)
		return;
	r->a[0] = device;
	r->a[1] = boot;
	r->a[2] = (int64_t)t;
	r->a[3] = (int64_t)m->frames_sent;
	r->a[4] = (int64_t)m->frames_dropped;
	r->a[5] = (int64_t)m->samples;
	r->a[6] = (int64_t)m->samples_dropped;
	r->a[7] = (int64_t)m->sampler_overruns;
	r->a[8] = (int64_t)m->log_lost;
}

void
store_seen(struct store *s, int64_t device, int64_t boot, uint64_t now,
    const char *link)
{
	struct qrow *r = row(s, Q_SEEN);

	(void)boot;
	if (r == NULL)
		return;
	r->a[0] = device;
	r->a[2] = (int64_t)now;
	r->s[0] = dup(link);
}

/* A lookup statement, ready for its bindings. */
static sqlite3_stmt *
lookup(struct store *s, enum lookup k)
{
	sqlite3_reset(s->l[k]);
	sqlite3_clear_bindings(s->l[k]);
	return s->l[k];
}

/* Steps a lookup once: whether it found a row (left to be read). */
static bool
lookup_row(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		set_error(s, what);
	return rc == SQLITE_ROW;
}

/* A lookup of one integer by one id; 0 when there is no row. */
static int64_t
lookup_int64(struct store *s, enum lookup k, int64_t id, const char *what)
{
	sqlite3_stmt *st = lookup(s, k);
	int64_t v = 0;

	sqlite3_bind_int64(st, 1, id);
	if (lookup_row(s, st, what))
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

int64_t
store_last_sample(struct store *s, int64_t counter)
{
	return lookup_int64(s, L_LAST_SAMPLE, counter, "last sample");
}

void
store_boot_started(struct store *s, int64_t boot, int64_t started)
{
	sqlite3_stmt *st = lookup(s, L_BOOT_STARTED);

	sqlite3_bind_int64(st, 1, boot);
	sqlite3_bind_int64(st, 2, started);
	(void)lookup_row(s, st, "boot started");
	sqlite3_reset(st);
}

int64_t
store_last_snapshot(struct store *s, int64_t device)
{
	return lookup_int64(s, L_LAST_SNAPSHOT, device, "last snapshot");
}

bool
store_crash_known(struct store *s, int64_t device, int64_t boot,
    uint32_t generation, const char *kind, int64_t t)
{
	sqlite3_stmt *st = lookup(s, L_CRASH_KNOWN);
	bool known;

	sqlite3_bind_int64(st, 1, device);
	sqlite3_bind_int64(st, 2, boot);
	sqlite3_bind_int64(st, 3, generation);
	sqlite3_bind_text(st, 4, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, t);
	known = lookup_row(s, st, "crash known");
	sqlite3_reset(st);
	return known;
}

bool
store_dump_known(struct store *s, int64_t device, const char *dump_key)
{
	sqlite3_stmt *st = lookup(s, L_DUMP_KNOWN);
	bool known;

	sqlite3_bind_int64(st, 1, device);
	sqlite3_bind_text(st, 2, dump_key, -1, SQLITE_STATIC);
	known = lookup_row(s, st, "dump known");
	sqlite3_reset(st);
	return known;
}

int
store_clock_anchors(struct store *s, int64_t boot, struct store_anchor *a,
    int max)
{
	sqlite3_stmt *st = lookup(s, L_CLOCK_ANCHORS);
	int n = 0;

	sqlite3_bind_int64(st, 1, boot);
	sqlite3_bind_int(st, 2, max);
	while (n < max && lookup_row(s, st, "clock anchors")) {
		a[n].from_us = (uint64_t)sqlite3_column_int64(st, 0);
		a[n].offset_us = sqlite3_column_int64(st, 1);
		n++;
	}
	sqlite3_reset(st);
	return n;
}

bool
store_boot_account_get(struct store *s, int64_t boot, uint64_t *produced,
    uint64_t *stored, uint64_t *dup)
{
	sqlite3_stmt *st = lookup(s, L_BOOT_ACCOUNT);
	bool found;

	sqlite3_bind_int64(st, 1, boot);
	if ((found = lookup_row(s, st, "boot accounting"))) {
		*produced = (uint64_t)sqlite3_column_int64(st, 0);
		*stored = (uint64_t)sqlite3_column_int64(st, 1);
		*dup = (uint64_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	return found;
}

bool
store_blob_referenced(struct store *s, const char *blob_key)
{
	sqlite3_stmt *st = lookup(s, L_BLOB_REFERENCED);
	int rc;

	sqlite3_bind_text(st, 1, blob_key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		set_error(s, "blob referenced");
	/* A lookup that failed keeps the blob. */
	return rc != SQLITE_DONE;
}

void
store_update_state(struct store *s, int64_t id, const char *state,
    uint32_t have, const char *error, int64_t finished)
{
	struct qrow *r = row(s, Q_UPDATE);

	if (r == NULL)
		return;
	r->a[0] = id;
	r->a[1] = have;
	r->a[2] = finished;
	r->s[0] = dup(state);
	r->s[1] = error != NULL ? dup(error) : NULL;
}

static void
column_text(sqlite3_stmt *st, int col, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(out, cap, "%s", t != NULL ? (const char *)t : "");
}

bool
store_update_row(struct store *s, int64_t id, struct update_row *u)
{
	sqlite3_stmt *st = lookup(s, L_UPDATE_ROW);
	bool found;

	memset(u, 0, sizeof(*u));
	sqlite3_bind_int64(st, 1, id);
	if ((found = lookup_row(s, st, "update row"))) {
		u->device = sqlite3_column_int64(st, 0);
		column_text(st, 1, u->image_key, sizeof(u->image_key));
		column_text(st, 2, u->elf_hash, sizeof(u->elf_hash));
		u->size = (uint32_t)sqlite3_column_int64(st, 3);
		u->entry = (uint32_t)sqlite3_column_int64(st, 4);
		u->trial_ms = (uint32_t)sqlite3_column_int64(st, 5);
		u->have = (uint32_t)sqlite3_column_int64(st, 6);
		column_text(st, 7, u->state, sizeof(u->state));
	}
	sqlite3_reset(st);
	return found;
}

int64_t
store_update_pending(struct store *s, int64_t device)
{
	return lookup_int64(s, L_UPDATE_PENDING, device, "update pending");
}

int64_t
store_boot_first_seen(struct store *s, int64_t boot)
{
	return lookup_int64(s, L_BOOT_FIRST_SEEN, boot, "boot first seen");
}

void
store_boot_account(struct store *s, int64_t boot, uint64_t produced,
    uint64_t stored, uint64_t dup)
{
	struct qrow *r = row(s, Q_BOOT_ACCOUNT);

	if (r == NULL)
		return;
	r->a[0] = boot;
	r->a[1] = (int64_t)produced;
	r->a[2] = (int64_t)stored;
	r->a[3] = (int64_t)dup;
}

/* ---- commit ---- */

static int
write_rows(struct store *s)
{
	for (size_t i = 0; i < s->nrows; i++) {
		struct qrow *r = &s->rows[i];
		sqlite3_stmt *st = s->q[r->kind];
		int rc;

		switch (r->kind) {
		case Q_ROLLUP_1S:
		case Q_ROLLUP_1M:
			for (int k = 0; k < 7; k++)
				sqlite3_bind_int64(st, k + 1, r->a[k]);
			break;
		case Q_EVENT:
			for (int k = 0; k < 3; k++)
				sqlite3_bind_int64(st, k + 1, r->a[k]);
			sqlite3_bind_text(st, 4, r->s[0], -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 5, r->a[3]);
			sqlite3_bind_text(st, 6, r->s[1], -1, SQLITE_STATIC);
			break;
		case Q_LOG:
			for (int k = 0; k < 5; k++)
				sqlite3_bind_int64(st, k + 1, r->a[k]);
			sqlite3_bind_text(st, 6, r->s[0], -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 7, r->a[5]);
			sqlite3_bind_text(st, 8, r->s[1], -1, SQLITE_STATIC);
			/* RTT: the channel, and a binary channel's bytes. */
			sqlite3_bind_text(st, 9, r->s[2], -1, SQLITE_STATIC);
			if (r->s[3] != NULL)
				sqlite3_bind_blob(st, 10, r->s[3], (int)r->a[6],
				    SQLITE_STATIC);
			else
				sqlite3_bind_null(st, 10);
			break;
		case Q_STATE:
			for (int k = 0; k < 3; k++)
				sqlite3_bind_int64(st, k + 1, r->a[k]);
			sqlite3_bind_text(st, 4, r->s[0], -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 5, r->s[1], -1, SQLITE_STATIC);
			for (int k = 3; k < 6; k++)
				sqlite3_bind_int64(st, k + 3, r->a[k]);
			break;
		case Q_CRASH:
			for (int k = 0; k < 4; k++)
				sqlite3_bind_int64(st, k + 1, r->a[k]);
			sqlite3_bind_text(st, 5, r->s[0], -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 6, r->s[1], -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 7, r->s[2], -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 8, r->s[3], -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 9, r->a[4]);
			sqlite3_bind_int64(st, 10, r->a[5]);
			sqlite3_bind_int64(st, 11, r->a[6]);
			sqlite3_bind_text(st, 12, r->s[4], -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 13, r->s[5], -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 14, r->a[7]);
			sqlite3_bind_int64(st, 15, r->a[8]);
			sqlite3_bind_int64(st, 16, r->a[9]);
			sqlite3_bind_blob(st, 17, r->ar, sizeof(r->ar),
			    SQLITE_STATIC);
			break;
		case Q_SNAPSHOT:
			for (int k = 0; k < 5; k++)
				sqlite3_bind_int64(st, k + 1, r->a[k]);
			sqlite3_bind_text(st, 6, r->s[0], -1, SQLITE_STATIC);
			break;
		case Q_STATS:
			for (int k = 0; k < 9; k++)
				sqlite3_bind_int64(st, k + 1, r->a[k]);
			break;
		case Q_CRASH_DUMP:
			for (int k = 0; k < 4; k++)
				sqlite3_bind_int64(st, k + 1, r->a[k]);
			sqlite3_bind_text(st, 5, r->s[0], -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 6, r->a[4]);
			sqlite3_bind_text(st, 7, r->s[1], -1, SQLITE_STATIC);
			break;
		case Q_SEEN:
			sqlite3_bind_int64(st, 1, r->a[0]);
			sqlite3_bind_int64(st, 3, r->a[2]);
			sqlite3_bind_text(st, 4, r->s[0], -1, SQLITE_STATIC);
			break;
		case Q_BOOT_ACCOUNT:
			for (int k = 0; k < 4; k++)
				sqlite3_bind_int64(st, k + 1, r->a[k]);
			break;
		case Q_UPDATE:
			sqlite3_bind_int64(st, 1, r->a[0]);
			sqlite3_bind_text(st, 2, r->s[0], -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, r->a[1]);
			if (r->s[1] != NULL)
				sqlite3_bind_text(st, 4, r->s[1], -1,
				    SQLITE_STATIC);
			if (r->a[2] != 0)
				sqlite3_bind_int64(st, 5, r->a[2]);
			break;
		case Q_COUNT:
			break;
		}
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_DONE) {
			set_error(s, "insert");
			return -1;
		}
	}
	return 0;
}

static int
write_blocks(struct store *s, uint64_t now)
{
	const char *why = "";

	if (sblocks_write(s->sb, now, &why) < 0) {
		snprintf(s->st.last_error, sizeof(s->st.last_error),
		    "insert samples: %s", why);
		return -1;
	}
	return 0;
}

static void
clear_queue(struct store *s)
{
	for (size_t i = 0; i < s->nrows; i++)
		for (int k = 0; k < 6; k++)
			free(s->rows[i].s[k]);
	s->nrows = 0;
	s->batch_start = 0;
	s->st.queued = 0;
}

/*
 * Open buckets go out with every commit as partial aggregates, which the
 * upsert merges: committed roll-ups always cover exactly the committed raw
 * samples, even after a crash.
 */
static void
flush_buckets(struct store *s)
{
	for (size_t c = 0; c < s->nagg; c++) {
		emit_bucket(s, (int64_t)c, 0);
		emit_bucket(s, (int64_t)c, 1);
	}
}

int
store_commit(struct store *s, uint64_t now)
{
	flush_buckets(s);
	if (!sblocks_dirty(s->sb) && s->nrows == 0) {
		s->batch_start = 0;
		return 0;
	}
	if (exec(s, "BEGIN IMMEDIATE") < 0)
		goto fail;
	if (write_blocks(s, now) < 0 || write_rows(s) < 0 ||
	    exec(s, "COMMIT") < 0) {
		char keep[sizeof(s->st.last_error)];

		memcpy(keep, s->st.last_error, sizeof(keep));
		(void)exec(s, "ROLLBACK");
		memcpy(s->st.last_error, keep, sizeof(keep));
		(void)sblocks_done(s->sb, false);
		goto fail;
	}
	s->st.commits++;
	s->st.samples_written += sblocks_done(s->sb, true);
	s->st.paused = false;
	clear_queue(s);
	return 0;
fail:
	s->st.commit_failures++;
	s->st.paused = true;
	s->next_retry = now + RETRY_US;
	return -1;
}

/* ---- retention ---- */

static void
measure(struct store *s)
{
	int64_t pages = query_int(s, "PRAGMA page_count");
	int64_t freel = query_int(s, "PRAGMA freelist_count");
	int64_t psize = query_int(s, "PRAGMA page_size");

	if (pages >= 0 && freel >= 0 && psize > 0) {
		s->st.db_bytes = (uint64_t)((pages - freel) * psize);
		s->st.file_bytes = (uint64_t)(pages * psize);
	}
}

/* The tables of history besides samples, oldest rows first when the
 * budget is short; snapshots first (their blobs go with them). */
static const char *const history_tables[] = {
	"snapshots", "logs", "events", "states", "link_stats",
};

static int
history_by_age(struct store *s, uint64_t now)
{
	char sql[512];
	int64_t hist = (int64_t)(now - s->cfg.history_window_us);

	snprintf(sql, sizeof(sql), "DELETE FROM snapshots WHERE t < %" PRId64
	    "; DELETE FROM logs WHERE t < %" PRId64 "; DELETE FROM events "
	    "WHERE t < %" PRId64 "; DELETE FROM states WHERE t < %" PRId64
	    "; DELETE FROM link_stats WHERE t < %" PRId64 "; DELETE FROM "
	    "clock WHERE boot_id IN (SELECT id FROM boots WHERE last_seen < %"
	    PRId64 ")", (int64_t)(now - s->cfg.snapshot_window_us), hist, hist,
	    hist, hist, (int64_t)(now - s->cfg.rollup_1m_window_us));
	if (exec(s, sql) < 0)
		return -1;
	/* Core-1 updates: the last UPDATES_KEPT of each board, and any
	 * newer than the history window; their images go with the rest. */
	snprintf(sql, sizeof(sql), "DELETE FROM updates WHERE finished < %"
	    PRId64 " AND id NOT IN (SELECT u.id FROM updates u WHERE "
	    "u.device_id = updates.device_id ORDER BY u.id DESC LIMIT %d)",
	    hist, UPDATES_KEPT);
	return exec(s, sql);
}

/* Raw blocks that ended before the window (the index on t_min finds
 * them; those that began in the last span before it are looked at). */
static int
raw_by_age(struct store *s, int64_t raw_cut)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "DELETE FROM sample_blocks WHERE t_min < %"
	    PRId64 " AND t_max < %" PRId64, raw_cut, raw_cut);
	if (exec(s, sql) < 0)
		return -1;
	s->st.blocks_dropped += (uint64_t)sqlite3_changes(s->db);
	return 0;
}

/* Over the budget: the oldest `partition` of raw blocks at a time, while
 * more than that much is left. */
static int
raw_within_budget(struct store *s)
{
	int64_t step = (int64_t)s->cfg.partition_us;
	char sql[160];

	while (s->st.db_bytes > s->cfg.budget_bytes) {
		int64_t oldest = query_int(s, "SELECT coalesce(min(t_min), 0) "
		    "FROM sample_blocks");
		int64_t newest = query_int(s, "SELECT coalesce(max(t_min), 0) "
		    "FROM sample_blocks");

		if (oldest < 0 || newest < 0 || newest - oldest < step)
			break;
		snprintf(sql, sizeof(sql), "DELETE FROM sample_blocks WHERE "
		    "t_min < %" PRId64, oldest + step);
		if (exec(s, sql) < 0)
			return -1;
		s->st.blocks_dropped += (uint64_t)sqlite3_changes(s->db);
		measure(s);
	}
	return 0;
}

/* Over the budget with one raw partition left: the oldest tenth of each
 * history table, a pass at a time, then the 1 s roll-ups. */
static int
history_within_budget(struct store *s)
{
	char sql[256];

	for (int pass = 0; pass < BUDGET_PASSES &&
	    s->st.db_bytes > s->cfg.budget_bytes; pass++) {
		for (size_t i = 0; i < sizeof(history_tables) /
		    sizeof(history_tables[0]); i++) {
			snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE t <= "
			    "(SELECT t FROM %s ORDER BY t LIMIT 1 OFFSET (SELECT "
			    "count(*) / 10 FROM %s))", history_tables[i],
			    history_tables[i], history_tables[i]);
			if (exec(s, sql) < 0)
				return -1;
		}
		if (pass >= BUDGET_PASSES / 2 && exec(s, "DELETE FROM rollup_1s "
		    "WHERE t < (SELECT min(t) + (max(t) - min(t)) / 10 FROM "
		    "rollup_1s)") < 0)
			return -1;
		measure(s);
	}
	return 0;
}

static int
retention(struct store *s, uint64_t now)
{
	char sql[256];
	int64_t raw_cut = (int64_t)(now - s->cfg.raw_window_us);

	if (exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (raw_by_age(s, raw_cut) < 0)
		goto fail;
	measure(s);
	if (raw_within_budget(s) < 0)
		goto fail;
	snprintf(sql, sizeof(sql), "DELETE FROM rollup_1s WHERE t < %" PRId64
	    "; DELETE FROM rollup_1m WHERE t < %" PRId64, (int64_t)(now -
	    s->cfg.rollup_1s_window_us), (int64_t)(now -
	    s->cfg.rollup_1m_window_us));
	if (exec(s, sql) < 0 || history_by_age(s, now) < 0 ||
	    history_within_budget(s) < 0)
		goto fail;
	if (exec(s, "COMMIT") < 0)
		goto fail;
	s->st.raw_blocks = (uint64_t)query_int(s, "SELECT count(*) FROM "
	    "sample_blocks");
	/* Give the freed pages back to the file system. */
	(void)exec(s, "PRAGMA incremental_vacuum");
	measure(s);
	return 0;
fail:
	(void)exec(s, "ROLLBACK");
	return -1;
}

/* ---- the clock of the store ---- */

uint64_t
store_tick(struct store *s, uint64_t now)
{
	uint64_t next = now + 1000000;

	if (s->batch_start == 1)
		s->batch_start = now;
	if (s->batch_start != 0) {
		uint64_t due = s->st.paused ? s->next_retry :
		    s->batch_start + s->cfg.commit_ms * 1000ull;

		if (now >= due) {
			/* After a failure (a full disk), give the WAL's space
			 * back before trying again. */
			if (s->st.paused)
				(void)exec(s, "PRAGMA wal_checkpoint(TRUNCATE)");
			(void)store_commit(s, now);
			if (s->batch_start == 1)
				s->batch_start = now;
		}
		due = s->st.paused ? s->next_retry :
		    s->batch_start + s->cfg.commit_ms * 1000ull;
		next = due < next ? due : next;
	}
	if (!s->st.paused && now >= s->next_retention) {
		(void)retention(s, now);
		s->next_retention = now + RETENTION_US;
	}
	return next < s->next_retention ? next : s->next_retention;
}

void
store_set_tee(struct store *s, const struct store_tee *tee)
{
	if (tee != NULL)
		s->tee = *tee;
	else
		memset(&s->tee, 0, sizeof(s->tee));
}

const struct store_stats *
store_stats(struct store *s)
{
	return &s->st;
}

sqlite3 *
store_db(struct store *s)
{
	return s->db;
}

void
store_close(struct store *s, uint32_t wait_ms)
{
	if (s == NULL)
		return;
	if (s->db != NULL) {
		uint64_t tries = wait_ms / 100 + 1;

		if (s->sb != NULL)
			sblocks_close_all(s->sb);
		while (tries-- > 0 && s->sb != NULL &&
		    (sblocks_dirty(s->sb) || s->nrows > 0))
			if (store_commit(s, 0) < 0 && tries > 0) {
				struct timespec ts = { 0, 100000000 };

				nanosleep(&ts, NULL);
			}
		for (int k = 0; k < Q_COUNT; k++)
			sqlite3_finalize(s->q[k]);
		for (int k = 0; k < L_COUNT; k++)
			sqlite3_finalize(s->l[k]);
		sqlite3_finalize(s->dev_ins);
		sqlite3_finalize(s->boot_ins);
		sqlite3_finalize(s->ctr_ins);
		sqlite3_finalize(s->clock_ins);
		sblocks_free(s->sb);
		sqlite3_close(s->db);
	}
	clear_queue(s);
	free(s->rows);
	free(s->agg);
	free(s);
}
