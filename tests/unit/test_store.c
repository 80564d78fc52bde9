/* The SQLite store: identity rows, raw sample blocks, roll-ups,
 * retention, migrations, and a full database. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "sql_schema.h"
#include "store.h"

static char dir[64], path[128];

static int64_t
q1(struct store *s, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -12345;

	if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK) {
		printf("# %s: %s\n", sql, sqlite3_errmsg(store_db(s)));
		return v;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static struct ac_msg_hello
hello(uint64_t boot)
{
	struct ac_msg_hello h;

	memset(&h, 0, sizeof(h));
	h.proto_version = 1;
	h.layout_version = 1;
	strcpy(h.agent_version, "0.1.0");
	h.boot_id = boot;
	h.rate_hz = 1000;
	h.region_size = 0x20000;
	return h;
}

int
main(void)
{
	struct store_cfg cfg;
	struct store *s;
	char err[256];
	const uint64_t t0 = 1700000000000000ull;	/* a round 10 s */
	struct ac_counter_info ci = { AC_KIND_COUNTER, 0, "frames", "frames" };
	struct ac_counter_info gi = { AC_KIND_GAUGE, AC_FLAG_SIGNED, "level",
	    "cB" };
	struct ac_msg_hello h = hello(0xabc);
	int64_t dev, boot, c1, c2;
	uint64_t n = 0;

	snprintf(dir, sizeof(dir), "/tmp/appcore-store-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/appcore.db", dir);
	store_cfg_defaults(&cfg);
	cfg.partition_us = 10000000;	/* trim 10 s at a time */
	s = store_open(path, &cfg, err, sizeof(err));
	CHECK(s != NULL, "create and migrate %s", path);
	if (s == NULL)
		return check_done();
	CHECK(q1(s, "PRAGMA user_version") == SQL_SCHEMA_VERSION &&
	    q1(s, "PRAGMA auto_vacuum") == 2, "schema %d, incremental vacuum",
	    SQL_SCHEMA_VERSION);

	dev = store_device(s, "73696d2d30", "sim-0", "/dev/pts/1", t0);
	boot = store_boot(s, dev, &h, t0 - 5000000, t0);
	c1 = store_counter(s, dev, 0, &ci, t0);
	c2 = store_counter(s, dev, 1, &gi, t0);
	CHECK(dev > 0 && boot > 0 && c1 > 0 && c2 > 0 && c1 != c2,
	    "device, boot and counter rows");
	CHECK(store_device(s, "73696d2d30", "sim-0", "tcp", t0 + 1) == dev &&
	    store_boot(s, dev, &h, t0, t0 + 1) == boot &&
	    store_counter(s, dev, 0, &ci, t0) == c1,
	    "the same identity gives the same rows");
	CHECK(store_clock(s, boot, 0, (int64_t)t0) == 0, "clock anchor");

	/* 35 s of 100 Hz samples on two counters, each its own column set:
	 * four blocks each (a block spans at most 10 s). */
	for (uint64_t t = t0; t < t0 + 35000000; t += 10000, n++) {
		store_sample(s, c1, t, (int64_t)(n * 48));
		store_sample(s, c2, t, -(int64_t)(n % 300));
	}
	store_event(s, dev, boot, t0, "seq-gap", 3, "frames 1..3 lost");
	CHECK(store_commit(s, t0 + 35000000) == 0, "commit %" PRIu64
	    " samples", 2 * n);
	CHECK(q1(s, "SELECT count(*) FROM samples") == (int64_t)(2 * n) &&
	    q1(s, "SELECT count(*) FROM sample_blocks") == 8 &&
	    q1(s, "SELECT max(t_max - t_min) FROM sample_blocks") <= 10000000,
	    "all samples visible through the table, 8 blocks of at most 10 s "
	    "(%" PRId64 ")", q1(s, "SELECT count(*) FROM sample_blocks"));
	CHECK(q1(s, "SELECT count(*) FROM samples WHERE counter_id = 1 AND t "
	    "BETWEEN 1700000009995000 AND 1700000010025000") == 3 &&
	    q1(s, "SELECT count(*) FROM samples WHERE t > 1700000034980000") ==
	    2 && q1(s, "SELECT sum(value) FROM samples WHERE counter_id IN "
	    "(1, 2) AND t = 1700000020000000") == 2000 * 48 - 2000 % 300,
	    "time ranges and counters pushed down return exactly their rows");
	CHECK(q1(s, "SELECT min(value) FROM samples WHERE counter_id = 2") ==
	    -299, "signed values stored signed");
	/* Close the open buckets, then compare roll-ups with raw data. */
	(void)store_tick(s, t0 + 40000000);
	CHECK(store_commit(s, t0 + 40000000) == 0, "roll-ups committed");
	CHECK(q1(s, "SELECT count(*) FROM (SELECT counter_id, t / 1000000 * "
	    "1000000 AS t, min(value) AS mn, max(value) AS mx, sum(value) AS "
	    "sm, count(*) AS n FROM samples GROUP BY 1, 2) r FULL JOIN "
	    "rollup_1s u USING (counter_id, t) WHERE u.min IS NOT r.mn OR "
	    "u.max IS NOT r.mx OR u.sum IS NOT r.sm OR u.count IS NOT r.n") == 0
	    && q1(s, "SELECT count(*) FROM rollup_1s") == 70,
	    "1 s roll-ups equal the raw data (70 buckets)");
	CHECK(q1(s, "SELECT count(*) FROM (SELECT counter_id, t / 60000000 * "
	    "60000000 AS t, min(value) AS mn, max(value) AS mx, sum(value) AS "
	    "sm, count(*) AS n FROM samples GROUP BY 1, 2) r FULL JOIN "
	    "rollup_1m u USING (counter_id, t) WHERE u.min IS NOT r.mn OR "
	    "u.max IS NOT r.mx OR u.sum IS NOT r.sm OR u.count IS NOT r.n") == 0,
	    "1 min roll-ups equal the raw data");
	/* A bucket written in two commits merges. */
	store_sample(s, c1, t0 + 35000000, 5);
	(void)store_tick(s, t0 + 99000000);
	(void)store_commit(s, t0 + 99000000);
	store_sample(s, c1, t0 + 35500000, 7);
	(void)store_tick(s, t0 + 199000000);
	(void)store_commit(s, t0 + 199000000);
	CHECK(q1(s, "SELECT count || ' ' || sum || ' ' || last FROM rollup_1s "
	    "WHERE counter_id = 1 AND t = 1700000035000000") == 2 &&
	    q1(s, "SELECT sum FROM rollup_1s WHERE counter_id = 1 AND t = "
	    "1700000035000000") == 12, "a bucket split over commits merges");

	/* Retention by age: a 20 s window at t0 + 45 s keeps the last two. */
	cfg.raw_window_us = 20000000;
	store_set_cfg(s, &cfg);
	(void)store_tick(s, t0 + 45000000);
	CHECK(q1(s, "SELECT count(*) FROM sample_blocks WHERE t_max < "
	    "1700000025000000") == 0 && q1(s, "SELECT min(t) FROM samples") ==
	    (int64_t)t0 + 20020000 && q1(s, "SELECT count(*) FROM samples") ==
	    2 * 1498 + 2,
	    "blocks that ended before the window dropped whole, the rest "
	    "kept");

	/* Retention by budget: add data, squeeze the budget. */
	{
		int64_t before;

		cfg.raw_window_us = 86400000000ull;
		uint32_t noise = 7;

		/* Noise: raw blocks are most of the file. */
		for (uint64_t t = t0 + 40000000; t < t0 + 100000000;
		    t += 1000) {
			noise = noise * 1103515245u + 12345u;
			store_sample(s, c1, t, noise >> 8);
		}
		(void)store_commit(s, t0 + 100000000);
		store_set_cfg(s, &cfg);
		(void)store_tick(s, t0 + 100000000);
		before = (int64_t)store_stats(s)->file_bytes;
		cfg.budget_bytes = store_stats(s)->db_bytes / 2;
		store_set_cfg(s, &cfg);
		(void)store_tick(s, t0 + 100000001);
		printf("# budget %" PRIu64 ", used %" PRIu64 ", blocks %"
		    PRIu64 " (%" PRIu64 " dropped)\n", cfg.budget_bytes,
		    store_stats(s)->db_bytes, store_stats(s)->raw_blocks,
		    store_stats(s)->blocks_dropped);
		CHECK(store_stats(s)->db_bytes <= cfg.budget_bytes &&
		    store_stats(s)->raw_blocks >= 1 &&
		    store_stats(s)->blocks_dropped > 2 &&
		    (int64_t)store_stats(s)->file_bytes < before,
		    "over budget: oldest blocks dropped, file shrank "
		    "%" PRId64 " -> %" PRIu64 " bytes", before,
		    store_stats(s)->file_bytes);
		cfg.budget_bytes = 2000000000;
		store_set_cfg(s, &cfg);
	}

	/* A full database: commits fail, nothing queued is lost. */
	{
		int64_t rows = q1(s, "SELECT count(*) FROM samples");
		char sql[96];


		snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %" PRId64,
		    q1(s, "PRAGMA page_count"));
		sqlite3_exec(store_db(s), sql, NULL, NULL, NULL);
		uint32_t noise = 1;

		/* Noise, so that the blocks need pages the file lacks. */
		for (int i = 0; i < 20000; i++) {
			noise = noise * 1103515245u + 12345u;
			store_sample(s, c2, t0 + 100000000 + (uint64_t)i * 100,
			    noise >> 1);
		}
		CHECK(store_commit(s, t0 + 101000000) < 0 &&
		    store_stats(s)->paused && store_stats(s)->queued >= 20000,
		    "full: commit fails (%s), 20000 rows stay queued",
		    store_stats(s)->last_error);
		CHECK(q1(s, "SELECT count(*) FROM samples") == rows &&
		    q1(s, "PRAGMA integrity_check") == 0,
		    "nothing half-written");
		sqlite3_exec(store_db(s), "PRAGMA max_page_count = 1000000000",
		    NULL, NULL, NULL);
		(void)store_tick(s, t0 + 103000000);
		CHECK(!store_stats(s)->paused &&
		    q1(s, "SELECT count(*) FROM samples") == rows + 20000,
		    "space back: the queue is written, nothing lost");
	}
	store_close(s, 1000);

	s = store_open(path, &cfg, err, sizeof(err));
	CHECK(s != NULL && q1(s, "SELECT count(*) FROM sample_blocks") ==
	    (int64_t)store_stats(s)->raw_blocks && store_stats(s)->raw_blocks
	    > 0 && q1(s, "SELECT count(*) FROM samples") > 0,
	    "reopened: blocks and data found again");
	sqlite3_exec(store_db(s), "PRAGMA user_version = 99", NULL, NULL,
	    NULL);
	store_close(s, 0);
	s = store_open(path, &cfg, err, sizeof(err));
	CHECK(s == NULL && strstr(err, "schema version 99") != NULL,
	    "a newer schema is refused: %s", err);
	/* A database of schema 1 is migrated in place, its rows kept. */
	{
		char old[160], cmd[512];
		sqlite3 *db;

		snprintf(old, sizeof(old), "%s/v1.db", dir);
		if (sqlite3_open(old, &db) != SQLITE_OK)
			return 1;
		{
			FILE *f;
			char *sql;
			long size;

			snprintf(cmd, sizeof(cmd), "%s/001-init.sql", SQL_DIR);
			if ((f = fopen(cmd, "r")) == NULL)
				return 1;
			fseek(f, 0, SEEK_END);
			size = ftell(f);
			rewind(f);
			sql = calloc(1, (size_t)size + 1);
			if (sql == NULL ||
			    fread(sql, 1, (size_t)size, f) != (size_t)size)
				return 1;
			fclose(f);
			sqlite3_exec(db, sql, NULL, NULL, NULL);
			free(sql);
		}
		sqlite3_exec(db, "INSERT INTO devices VALUES (1, 'k', 'old', 0, 0, "
		    "NULL); INSERT INTO boots VALUES (1, 1, 'b', 0, 0, 0, 'v', 1, "
		    "1, 'h', 0, 0, 100); INSERT INTO crashes (device_id, boot_id, "
		    "t, generation, kind, reason, message, file, line, pc, sp, "
		    "backtrace, image_hash) VALUES (1, 1, 5, 1, 'panic', 'assert', "
		    "'m', 'f', 1, 2, 3, '', 'h'); INSERT INTO logs (device_id, "
		    "boot_id, t, generation, record, level, stamp, text) VALUES "
		    "(1, 1, 6, 1, 0, 'info', 0, 'old line'); "
		    "PRAGMA user_version = 1", NULL, NULL, NULL);
		sqlite3_close(db);
		s = store_open(old, &cfg, err, sizeof(err));
		CHECK(s != NULL && q1(s, "PRAGMA user_version") ==
		    SQL_SCHEMA_VERSION &&
		    q1(s, "SELECT count(*) FROM crashes WHERE message = 'm' AND "
		    "ps = 0 AND ar IS NULL AND dump_key IS NULL") == 1 &&
		    q1(s, "SELECT count(*) FROM images") == 0,
		    "schema 1 migrated to %d, the crash row kept, images there",
		    SQL_SCHEMA_VERSION);
		CHECK(q1(s, "SELECT count(*) FROM logs_named WHERE text = "
		    "'old line' AND channel IS NULL") == 1,
		    "its log line kept, with no RTT channel (schema 8)");
		/* An RTT line of a binary channel: its bytes as a BLOB. */
		store_rtt_line(s, 1, 1, 7, 1, "rtt1 defmt", "01 00 ff",
		    (const uint8_t *)"\x01\x00\xff", 3);
		store_rtt_line(s, 1, 1, 8, 1, "rtt0 Terminal", "a line", NULL,
		    0);
		(void)store_commit(s, 9);
		CHECK(q1(s, "SELECT count(*) FROM logs WHERE channel = 'rtt1 "
		    "defmt' AND data = x'0100ff' AND text = '01 00 ff'") == 1 &&
		    q1(s, "SELECT count(*) FROM logs WHERE channel = 'rtt0 "
		    "Terminal' AND data IS NULL AND text = 'a line'") == 1,
		    "RTT lines stored with their channel, a binary one's bytes "
		    "in data");
		store_close(s, 0);
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return check_done();
}
