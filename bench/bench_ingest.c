/*
 * Ingest and raw history: the daemon's decode + store path (session.c,
 * device.c, store.c: sample blocks) on a wire stream of the demo
 * workload, next to the row format of schema 8 as the baseline (the same
 * rows inserted into a WITHOUT ROWID table keyed (counter_id, t) with one
 * prepared statement in large transactions), in the same run on the same
 * disk: counter-samples per second, bytes on disk per counter-sample
 * (dbstat), and with --query the time to read one counter's whole range
 * through the samples virtual table against the same query on the rows.
 *
 * usage: bench_ingest DIR SECONDS_OF_STREAM [RATE_HZ COUNTERS [--query]]
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "appcore/agent.h"
#include "appcore/core1.h"
#include "appcored.h"
#include "samples_vtab.h"
#include "sim.h"

#define REGION_SIZE	AC_REGION_DEFAULT_SIZE

static _Alignas(64) uint8_t mem[REGION_SIZE];
static uint64_t fake_us;

static uint64_t
clock_us(void *ctx)
{
	(void)ctx;
	return fake_us;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t rate_hz = 1000, ncounters = 64;

/* The agent on the demo workload: its wire bytes. */
static uint8_t *
make_stream(uint32_t secs, size_t *len)
{
	static struct ac_agent agent;
	static const struct ac_port port = { .now_us = clock_us };
	struct ac_agent_cfg cfg;
	struct sim_workload w;
	struct ac_region *r = ac_core1_init(mem, REGION_SIZE);
	size_t cap = 1 << 20, n = 0;
	uint8_t *buf = malloc(cap);
	uint64_t next = 0;

	sim_workload_init(&w, r, ncounters, 1, 1);
	ac_agent_cfg_defaults(&cfg);
	cfg.rate_hz = rate_hz;
	if (buf == NULL || ac_agent_init(&agent, &cfg, &port, mem,
	    REGION_SIZE) != 0)
		exit(1);
	for (uint64_t b = 0; b < (uint64_t)secs * 1000; b++) {
		sim_workload_step(&w, r, (double)b / 1000);
		fake_us += 1000;
		while (fake_us >= next) {
			const uint8_t *p;
			size_t k;

			next = ac_agent_poll(&agent);
			while ((p = ac_agent_tx_peek(&agent, &k)) != NULL) {
				if (n + k > cap && (buf = realloc(buf,
				    cap *= 2)) == NULL)
					exit(1);
				memcpy(buf + n, p, k);
				n += k;
				ac_agent_tx_consume(&agent, k);
			}
		}
	}
	ac_agent_flush(&agent);
	*len = n;
	return buf;
}

/* The same rows, for the baseline. */
struct row { int64_t c, t, v; };
static struct row *rows;
static size_t nrows, caprows;

static void
grab(void *arg, uint64_t index, uint64_t t, const uint32_t *v, uint32_t n)
{
	(void)arg; (void)index;
	for (uint32_t i = 0; i < n; i++) {
		if (nrows == caprows && (rows = realloc(rows, (caprows = caprows ?
		    caprows * 2 : 1 << 20) * sizeof(*rows))) == NULL)
			exit(1);
		rows[nrows++] = (struct row){ i + 1, (int64_t)t, v[i] };
	}
}

static double
baseline(const char *dir)
{
	char path[512];
	sqlite3 *db;
	sqlite3_stmt *st;
	double t0;

	snprintf(path, sizeof(path), "%s/baseline.db", dir);
	remove(path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		exit(1);
	sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = "
	    "NORMAL; CREATE TABLE s (counter_id INTEGER NOT NULL, t INTEGER "
	    "NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (counter_id, t)) "
	    "WITHOUT ROWID", NULL, NULL, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO s VALUES (?, ?, ?)", -1, &st, NULL);
	t0 = now_s();
	for (size_t i = 0; i < nrows; i++) {
		if (i % 100000 == 0)
			sqlite3_exec(db, i ? "COMMIT; BEGIN" : "BEGIN", NULL,
			    NULL, NULL);
		sqlite3_bind_int64(st, 1, rows[i].c);
		sqlite3_bind_int64(st, 2, rows[i].t);
		sqlite3_bind_int64(st, 3, rows[i].v);
		if (sqlite3_step(st) != SQLITE_DONE)
			exit(1);
		sqlite3_reset(st);
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	t0 = now_s() - t0;
	sqlite3_finalize(st);
	sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	sqlite3_close(db);
	return (double)nrows / t0;
}

static sqlite3 *
open_db(const char *dir, const char *name)
{
	char path[512];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK || samples_vtab_register(db) != SQLITE_OK)
		exit(1);
	return db;
}

static int64_t
one(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
		exit(1);
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Bytes of pages (dbstat) of the tables and indexes named. */
static int64_t
pages_of(sqlite3 *db, const char *names)
{
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT sum(pgsize) FROM dbstat WHERE "
	    "name IN (%s)", names);
	return one(db, sql);
}

/* The best of three runs of sql: seconds; *count, *sum its answer. */
static double
time_query(sqlite3 *db, const char *sql, int64_t *count, int64_t *sum)
{
	double best = 1e9;

	for (int k = 0; k < 3; k++) {
		sqlite3_stmt *st;
		double t0 = now_s();

		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
			exit(1);
		if (sqlite3_step(st) == SQLITE_ROW) {
			*count = sqlite3_column_int64(st, 0);
			*sum = sqlite3_column_int64(st, 1);
		}
		sqlite3_finalize(st);
		t0 = now_s() - t0;
		best = t0 < best ? t0 : best;
	}
	return best;
}

#define BLOCK_TABLES "'sample_blocks', 'sample_blocks_group_t', " \
	"'sample_blocks_t', 'sample_groups', 'sqlite_autoindex_sample_groups_1'," \
	" 'group_counters'"

/* Bytes per counter-sample, both formats, and what the default budget
 * holds at 1 kHz x 64 with today's roll-up windows. */
static void
disk_cost(const char *dir)
{
	sqlite3 *b = open_db(dir, "appcore.db"), *r = open_db(dir,
	    "baseline.db");
	int64_t bsamples = one(b, "SELECT count(*) FROM samples");
	double bb = (double)pages_of(b, BLOCK_TABLES) / (double)bsamples;
	double rb = (double)pages_of(r, "'s'") / (double)one(r, "SELECT "
	    "count(*) FROM s");
	double roll = (double)pages_of(b, "'rollup_1s'") / (double)one(b,
	    "SELECT count(*) FROM rollup_1s");
	double rollups = roll * 64 * (2.0 * 86400 + 90.0 * 1440);
	double hours = (2e9 - rollups) / (bb * 64 * 1000 * 3600);

	printf("bytes per counter-sample: blocks %.3f (%" PRId64 " samples, "
	    "%" PRId64 " blocks), rows %.2f; ratio %.4f\n", bb, bsamples,
	    one(b, "SELECT count(*) FROM sample_blocks"), rb, bb / rb);
	if (rate_hz == 1000 && ncounters == 64) {
		printf("roll-ups: %.1f bytes a row; 64 counters for 2 days "
		    "(1 s) and 90 days (1 min): %.0f MB\n", roll,
		    rollups / 1e6);
		printf("default budget (2 GB) holds %.1f h of 64 counters at "
		    "1 kHz (rows: %.1f h)\n", hours, (2e9 - rollups) / (rb *
		    64 * 1000 * 3600));
	}
	sqlite3_close(b);
	sqlite3_close(r);
}

/* One counter's (dsp.load, a gauge that moves every sample) whole range,
 * through the virtual table and as rows; each database's own times (the
 * rows carry device times, appcored wall times). */
static double
range_of(sqlite3 *db, const char *table, int64_t *count, int64_t *sum,
    double *minutes)
{
	char sql[256];
	int64_t lo, hi;

	snprintf(sql, sizeof(sql), "SELECT min(t) FROM %s WHERE counter_id = "
	    "5", table);
	lo = one(db, sql);
	snprintf(sql, sizeof(sql), "SELECT max(t) FROM %s WHERE counter_id = "
	    "5", table);
	hi = one(db, sql);
	*minutes = (double)(hi - lo) / 60e6;
	snprintf(sql, sizeof(sql), "SELECT count(*), sum(value) FROM %s WHERE "
	    "counter_id = 5 AND t BETWEEN %" PRId64 " AND %" PRId64, table, lo,
	    hi);
	return time_query(db, sql, count, sum);
}

static void
range_query(const char *dir)
{
	sqlite3 *b = open_db(dir, "appcore.db"), *r = open_db(dir,
	    "baseline.db");
	int64_t bn = 0, bs = 0, rn = 0, rs = 0;
	double bm, rm, tb = range_of(b, "samples", &bn, &bs, &bm);
	double tr = range_of(r, "s", &rn, &rs, &rm);

	printf("one counter, %.1f min range: blocks %.3f s, rows %.3f s; "
	    "ratio %.2f (%" PRId64 " and %" PRId64 " samples, sums %s)\n",
	    bm, tb, tr, tb / tr, bn, rn, bs == rs && bn == rn ? "equal" :
	    "DIFFER");
	sqlite3_close(b);
	sqlite3_close(r);
}

static double
ingest(const char *dir, const uint8_t *stream, size_t len, double secs)
{
	static struct daemon d;
	struct link *l;
	char path[512], err[256], note[256];
	double t0;
	uint64_t last_tick = 0, start = now_wall_us(), written;

	config_defaults(&d.cfg);
	d.cfg.snapshot_us = 0;
	if (d.bridge == NULL && (d.bridge = bridge_new()) == NULL)
		exit(1);
	d.live = bridge_live(d.bridge);
	snprintf(path, sizeof(path), "%s/appcore.db", dir);
	remove(path);
	if ((d.store = store_open(path, &d.cfg.store, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/blobs.gdbm", dir);
	remove(path);
	if ((d.blobs = blobs_open(path, err, sizeof(err), note,
	    sizeof(note))) == NULL)
		exit(1);
	l = link_add(&d, LINK_FD, ORIGIN_DEMO, "bench");
	t0 = now_s();
	/* Feed as a link would, in 4 KiB reads, ticking the store on the
	 * stream's own time: a commit per 250 ms of data, as live. */
	for (size_t off = 0; off < len; off += 4096) {
		/* The daemon's wall clock runs on the stream's time, at the
		 * end of this read: no sample arrives from the future. */
		uint64_t now = start + (uint64_t)((double)(off + 4096) /
		    (double)len * secs * 1e6);

		now_wall_set(now);
		session_feed(&l->s, stream + off, len - off < 4096 ?
		    len - off : 4096);
		if (now - last_tick >= 10000) {
			(void)store_tick(d.store, now);
			last_tick = now;
		}
	}
	(void)store_commit(d.store, now_wall_us());
	t0 = now_s() - t0;
	now_wall_set(0);
	written = store_stats(d.store)->samples_written;
	printf("ingest: %" PRIu64 " samples stored, %" PRIu64 " commits\n",
	    written, store_stats(d.store)->commits);
	link_free(l);
	store_close(d.store, 0);
	blobs_close(d.blobs);
	return (double)written / t0;
}

int
main(int argc, char **argv)
{
	size_t len;
	uint8_t *stream;
	struct session s;
	static const struct session_cb cb = { .sample = grab };
	double base, ing;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_ingest DIR SECONDS [RATE_HZ "
		    "COUNTERS [--query]]\n");
		return 2;
	}
	if (argc >= 5) {
		rate_hz = (uint32_t)atoi(argv[3]);
		ncounters = (uint32_t)atoi(argv[4]);
	}
	stream = make_stream((uint32_t)atoi(argv[2]), &len);
	session_init(&s, &cb, NULL);
	session_feed(&s, stream, len);
	printf("stream: %s s of %u Hz x %u counters, %zu wire bytes (%.3f a "
	    "counter-sample), %zu counter-samples\n", argv[2], rate_hz,
	    ncounters, len, (double)len / (double)nrows, nrows);
	ing = ingest(argv[1], stream, len, atof(argv[2]));
	free(stream);
	base = baseline(argv[1]);
	printf("raw SQLite rows (baseline): %.0f rows/s\n", base);
	printf("appcored decode + store in blocks: %.0f counter-samples/s\n",
	    ing);
	printf("ratio: %.2f of the baseline\n", ing / base);
	disk_cost(argv[1]);
	if (argc >= 6 && strcmp(argv[5], "--query") == 0)
		range_query(argv[1]);
	free(rows);
	return 0;
}
