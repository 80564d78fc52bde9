/*
 * Retention of every table and of blobs, in accelerated time: a simulated
 * week of samples, events, logs, states, link statistics and snapshots
 * (each with a blob of its own) through the real store and blob store,
 * with a budget smaller than what the week would take.  The database must
 * end within its budget, each table within its window, and every blob be
 * named by a row and every row's blob be there.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "blobgc.h"
#include "blobs.h"
#include "check.h"
#include "store.h"

#define MINUTE		60000000ull
#define HOUR		(60 * MINUTE)
#define DAY		(24 * HOUR)
#define STEP		(5 * MINUTE)	/* what one step of the loop stores */
#define BUDGET		(8u << 20)
#define TIGHT		(1u << 20)

static int64_t
q1(struct store *s, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK) {
		printf("# %s: %s\n", sql, sqlite3_errmsg(store_db(s)));
		return v;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Five minutes of a board's life at time t, in brief. */
static void
one_minute(struct store *s, struct blobs *b, int64_t dev, int64_t boot,
    const int64_t *ctr, uint64_t t, uint64_t minute)
{
	struct ac_msg_log log = { 0 };
	struct ac_msg_state state = { 0 };
	struct ac_msg_stats stats = { 0 };

	for (int i = 0; i < 4; i++)
		for (uint64_t k = 0; k < 60; k += 10)
			store_sample(s, ctr[i], t + k * 1000000, (int64_t)(minute *
			    60 + k));
	store_event(s, dev, boot, t, "crc-error", 3, "link trouble");
	store_event(s, dev, boot, t + 1, "link-up", 1, "tcp://sim");
	for (uint32_t k = 0; k < 3; k++) {
		log.record = (uint32_t)(minute * 3 + k);
		log.level = 2;
		snprintf(log.text, sizeof(log.text), "minute %" PRIu64 " line %u "
		    "of the log", minute, k);
		store_log(s, dev, boot, t + k, 1, &log);
	}
	state.state = AC_STATE_RUNNING;
	state.heartbeat = (uint32_t)minute;
	store_state(s, dev, boot, t, &state);
	stats.samples = minute * 60000;
	store_link_stats(s, dev, boot, t, &stats);
	{				/* a snapshot every step */
		uint8_t region[4096], key[BLOB_KEY_LEN];
		char hex[BLOB_HEX_LEN];

		memset(region, (int)(minute & 0xff), sizeof(region));
		memcpy(region, &minute, sizeof(minute));
		if (blobs_put(b, region, sizeof(region), key) == 0) {
			blob_key_hex(key, hex);
			store_snapshot(s, dev, boot, t, 0x3fc88000, sizeof(region),
			    hex);
		}
	}
}

/* Every blob named by a row, every row's blob there. */
static void
check_blobs(struct store *s, struct blobs *b)
{
	uint8_t (*keys)[BLOB_KEY_LEN] = NULL;
	size_t n = 0, orphans = 0, missing = 0;
	sqlite3_stmt *st;

	(void)blobs_keys(b, &keys, &n, 1u << 20);
	for (size_t i = 0; i < n; i++) {
		char hex[BLOB_HEX_LEN];

		blob_key_hex(keys[i], hex);
		orphans += !store_blob_referenced(s, hex);
	}
	free(keys);
	if (sqlite3_prepare_v2(store_db(s), "SELECT blob_key FROM snapshots",
	    -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			uint8_t key[BLOB_KEY_LEN];

			if (blob_key_parse((const char *)sqlite3_column_text(st,
			    0), key) < 0 || !blobs_has(b, key))
				missing++;
		}
		sqlite3_finalize(st);
	}
	CHECK(n > 0 && orphans == 0 && missing == 0, "%zu blobs: %zu that no "
	    "row names, %zu rows whose blob is gone", n, orphans, missing);
	CHECK((int64_t)n == q1(s, "SELECT count(*) FROM (SELECT blob_key FROM "
	    "snapshots UNION SELECT image_key FROM updates)"), "as many blobs "
	    "as snapshots and core-1 updates name (%zu)", n);
}

/* A core-1 update over at t, its image a blob of its own. */
static void
add_update(struct store *s, struct blobs *b, int64_t dev, uint64_t t, int i)
{
	uint8_t img[64], key[BLOB_KEY_LEN];
	char hex[BLOB_HEX_LEN], sql[512];

	memset(img, i, sizeof(img));
	if (blobs_put(b, img, sizeof(img), key) < 0)
		return;
	blob_key_hex(key, hex);
	snprintf(sql, sizeof(sql), "INSERT INTO updates (device_id, image_key, "
	    "elf_hash, name, size, entry, trial_ms, requested, state, "
	    "finished) VALUES (%" PRId64 ", '%s', '%s', 'u%d', 64, 0, 10000, "
	    "%" PRIu64 ", 'confirmed', %" PRIu64 ")", dev, hex, hex, i, t, t);
	(void)sqlite3_exec(store_db(s), sql, NULL, NULL, NULL);
}

int
main(void)
{
	char dir[64], path[160], err[256], note[256];
	struct store_cfg cfg;
	struct store *s;
	struct blobs *b;
	struct blobgc gc = { 0 };
	struct ac_msg_hello h = { .boot_id = 7, .rate_hz = 1000,
	    .proto_version = 2, .layout_version = 1 };
	struct ac_counter_info ci = { AC_KIND_COUNTER, 0, "c", "" };
	const uint64_t t0 = 1700000000000000ull;
	uint64_t t = t0, removed = 0;
	int64_t dev, boot, ctr[4];
	int64_t oldest;

	snprintf(dir, sizeof(dir), "/tmp/appcore-retention-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	store_cfg_defaults(&cfg);
	cfg.partition_us = 6 * HOUR;
	cfg.raw_window_us = 2 * DAY;
	cfg.rollup_1s_window_us = DAY;
	cfg.rollup_1m_window_us = 7 * DAY;
	cfg.history_window_us = 3 * DAY;
	cfg.snapshot_window_us = DAY;
	cfg.budget_bytes = BUDGET;
	snprintf(path, sizeof(path), "%s/appcore.db", dir);
	s = store_open(path, &cfg, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/blobs.gdbm", dir);
	b = blobs_open(path, err, sizeof(err), note, sizeof(note));
	CHECK(s != NULL && b != NULL, "a store and a blob store");
	if (s == NULL || b == NULL)
		return check_done();
	strcpy(h.agent_version, "0.1.0");
	dev = store_device(s, "aa", "board", "sim", t);
	boot = store_boot(s, dev, &h, t, t);
	for (uint32_t i = 0; i < 4; i++) {
		snprintf(ci.name, sizeof(ci.name), "counter%u", i);
		ctr[i] = store_counter(s, dev, i, &ci, t);
	}
	/* 30 core-1 updates, over before the week began. */
	for (int i = 0; i < 30; i++)
		add_update(s, b, dev, t + (uint64_t)i, i);
	for (uint64_t step = 0; step < 7 * DAY / STEP; step++) {
		t = t0 + step * STEP;
		one_minute(s, b, dev, boot, ctr, t, step);
		(void)store_tick(s, t + STEP - 1000000);
		if (step % 6 == 0)
			removed += blobgc_run(&gc, b, s);
	}
	(void)store_commit(s, t + MINUTE);
	(void)store_tick(s, t + MINUTE + 20000000);
	/* Two collections: a blob is removed the second time nobody names
	 * it. */
	removed += blobgc_run(&gc, b, s);
	removed += blobgc_run(&gc, b, s);

	CHECK(store_stats(s)->db_bytes <= BUDGET, "a week in an %u MiB budget: "
	    "%" PRIu64 " bytes used", BUDGET >> 20, store_stats(s)->db_bytes);
	oldest = q1(s, "SELECT min(t) FROM events");
	CHECK(oldest >= (int64_t)(t - cfg.history_window_us) && oldest <=
	    (int64_t)(t - cfg.history_window_us + DAY), "events: the newest "
	    "%.1f days kept (window 3)", (double)(t - (uint64_t)oldest) / DAY);
	oldest = q1(s, "SELECT min(t) FROM logs");
	CHECK(oldest >= (int64_t)(t - cfg.history_window_us) &&
	    q1(s, "SELECT count(*) FROM logs") > 0, "logs: the newest %.1f "
	    "days kept", (double)(t - (uint64_t)oldest) / DAY);
	oldest = q1(s, "SELECT min(t) FROM states");
	CHECK(oldest >= (int64_t)(t - cfg.history_window_us),
	    "states: the newest %.1f days kept",
	    (double)(t - (uint64_t)oldest) / DAY);
	oldest = q1(s, "SELECT min(t) FROM link_stats");
	CHECK(oldest >= (int64_t)(t - cfg.history_window_us),
	    "link statistics: the newest %.1f days kept",
	    (double)(t - (uint64_t)oldest) / DAY);
	oldest = q1(s, "SELECT min(t) FROM snapshots");
	CHECK(oldest >= (int64_t)(t - cfg.snapshot_window_us) && oldest <=
	    (int64_t)(t - cfg.snapshot_window_us + HOUR), "snapshots: the "
	    "newest %.2f days kept (window 1)",
	    (double)(t - (uint64_t)oldest) / DAY);
	oldest = q1(s, "SELECT min(t) FROM rollup_1m");
	CHECK(q1(s, "SELECT count(*) FROM rollup_1m") > 0, "1 min roll-ups "
	    "kept from %.1f days back", (double)(t - (uint64_t)oldest) / DAY);
	CHECK(q1(s, "SELECT count(*) FROM updates") == 20 &&
	    q1(s, "SELECT min(requested) FROM updates") == (int64_t)t0 + 10,
	    "core-1 updates older than the window: the newest 20 of the "
	    "board stay, the 10 oldest go");
	CHECK(removed >= 7 * DAY / STEP - DAY / STEP - 12 + 10, "%" PRIu64
	    " blobs of expired snapshots and updates removed", removed);
	check_blobs(s, b);

	/* The budget cut to 1 MiB: history goes oldest first until the
	 * database fits; the newest rows of each table stay. */
	cfg.budget_bytes = TIGHT;
	store_set_cfg(s, &cfg);
	(void)store_tick(s, t + 2 * MINUTE);
	removed += blobgc_run(&gc, b, s);
	removed += blobgc_run(&gc, b, s);
	CHECK(store_stats(s)->db_bytes <= TIGHT, "the budget cut to 1 MiB: "
	    "%" PRIu64 " bytes used", store_stats(s)->db_bytes);
	CHECK(q1(s, "SELECT max(t) FROM events") == (int64_t)t + 1 &&
	    q1(s, "SELECT max(t) FROM logs") == (int64_t)t + 2 &&
	    q1(s, "SELECT max(t) FROM snapshots") == (int64_t)t,
	    "the newest event, log line and snapshot stay");
	check_blobs(s, b);
	blobgc_free(&gc);
	store_close(s, 0);
	blobs_close(b);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		(void)system(cmd);
	}
	return check_done();
}
