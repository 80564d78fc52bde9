/*
 * Ingest throughput: the daemon's decode + store path (session.c,
 * device.c, store.c) on a wire stream of the demo workload, next to a raw
 * SQLite baseline inserting the same rows with one prepared statement in
 * large transactions, in the same run and on the same disk.
 *
 * usage: bench_ingest DIR SECONDS_OF_STREAM
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

/* The agent on the demo workload, 1 kHz x 64 counters: its wire bytes. */
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

	sim_workload_init(&w, r, 64, 1, 1);
	ac_agent_cfg_defaults(&cfg);
	cfg.rate_hz = 1000;
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
	sqlite3_close(db);
	return (double)nrows / t0;
}

static double
ingest(const char *dir, const uint8_t *stream, size_t len, double secs)
{
	static struct daemon d;
	struct link *l;
	char path[512], err[256], note[256];
	double t0;
	uint64_t last_tick = 0, start = now_wall_us();

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
		uint64_t now = start + (uint64_t)((double)off / (double)len *
		    secs * 1e6);

		session_feed(&l->s, stream + off, len - off < 4096 ?
		    len - off : 4096);
		if (now - last_tick >= 10000) {
			(void)store_tick(d.store, now);
			last_tick = now;
		}
	}
	(void)store_commit(d.store, now_wall_us());
	t0 = now_s() - t0;
	printf("ingest: %" PRIu64 " samples stored, %" PRIu64 " commits\n",
	    store_stats(d.store)->samples_written,
	    store_stats(d.store)->commits);
	link_free(l);
	store_close(d.store, 0);
	blobs_close(d.blobs);
	return (double)store_stats(d.store)->samples_written / t0;
}

int
main(int argc, char **argv)
{
	size_t len;
	uint8_t *stream;
	struct session s;
	static const struct session_cb cb = { .sample = grab };
	double base, ing;

	if (argc != 3) {
		fprintf(stderr, "usage: bench_ingest DIR SECONDS\n");
		return 2;
	}
	stream = make_stream((uint32_t)atoi(argv[2]), &len);
	session_init(&s, &cb, NULL);
	session_feed(&s, stream, len);
	printf("stream: %s s of 1 kHz x 64 counters, %zu wire bytes, %zu "
	    "counter-samples\n", argv[2], len, nrows);
	ing = ingest(argv[1], stream, len, atof(argv[2]));
	base = baseline(argv[1]);
	printf("raw SQLite baseline: %.0f rows/s\n", base);
	printf("appcored decode + store: %.0f counter-samples/s\n", ing);
	printf("ratio: %.2f of the baseline\n", ing / base);
	free(stream);
	free(rows);
	return 0;
}
