/*
 * The raw partitions of schema 8 and before, converted into sample blocks.
 * A partition's rows are read counter by counter in (counter_id, t) order,
 * its primary key, and merged by time per board: the counters of one board
 * that have a sample at t make a row, as the daemon writes them.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "blocks.h"
#include "log.h"
#include "partconv.h"
#include "sblocks.h"

/* One counter's rows, read in time order. */
struct head {
	int64_t counter, device;
	sqlite3_stmt *st;
	bool done;
	int64_t t, v;
};

static void
next_row(struct head *h)
{
	if (sqlite3_step(h->st) == SQLITE_ROW) {
		h->t = sqlite3_column_int64(h->st, 0);
		h->v = sqlite3_column_int64(h->st, 1);
	} else {
		h->done = true;
	}
}

/* The counters that have rows in table, each with its board (0 for a
 * counter the counters table does not know), ordered by board. */
static int
list_counters(sqlite3 *db, const char *table, struct head **out, size_t *n)
{
	char *sql = sqlite3_mprintf("SELECT c.counter_id, coalesce((SELECT "
	    "device_id FROM counters WHERE id = c.counter_id), 0) AS dev FROM "
	    "(SELECT DISTINCT counter_id FROM \"%w\") c ORDER BY dev, "
	    "c.counter_id", table);
	sqlite3_stmt *st;
	size_t cap = 0;
	bool oom = false;

	*out = NULL;
	*n = 0;
	if (sql == NULL || sqlite3_prepare_v2(db, sql, -1, &st, NULL) !=
	    SQLITE_OK) {
		sqlite3_free(sql);
		return -1;
	}
	sqlite3_free(sql);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (*n == cap) {
			struct head *h;

			cap = cap ? cap * 2 : 64;
			if ((h = realloc(*out, cap * sizeof(*h))) == NULL) {
				oom = true;
				break;
			}
			*out = h;
		}
		memset(&(*out)[*n], 0, sizeof(**out));
		(*out)[*n].counter = sqlite3_column_int64(st, 0);
		(*out)[*n].device = sqlite3_column_int64(st, 1);
		(*n)++;
	}
	return sqlite3_finalize(st) == SQLITE_OK && !oom ? 0 : -1;
}

/* Merges heads[0..n-1] (one board) by time into rows of at most
 * BLOCK_MAX_COLS counters. */
static int
merge_board(struct sblocks *sb, struct head *h, size_t n)
{
	int64_t ctr[BLOCK_MAX_COLS], val[BLOCK_MAX_COLS];

	for (;;) {
		int64_t t = INT64_MAX;
		uint32_t k = 0;
		bool any = false;

		for (size_t i = 0; i < n; i++)
			if (!h[i].done && (!any || h[i].t < t)) {
				t = h[i].t;
				any = true;
			}
		if (!any)
			return 0;
		for (size_t i = 0; i < n; i++) {
			if (h[i].done || h[i].t != t)
				continue;
			ctr[k] = h[i].counter;
			val[k++] = h[i].v;
			next_row(&h[i]);
			if (k == BLOCK_MAX_COLS) {
				if (sblocks_add(sb, t, ctr, val, k, 0) < 0)
					return -1;
				k = 0;
			}
		}
		if (k > 0 && sblocks_add(sb, t, ctr, val, k, 0) < 0)
			return -1;
	}
}

static int
convert_table(sqlite3 *db, struct sblocks *sb, const char *table)
{
	struct head *h;
	size_t n, start = 0;
	int rc = 0;

	if (list_counters(db, table, &h, &n) < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *sql = sqlite3_mprintf("SELECT t, value FROM \"%w\" WHERE "
		    "counter_id = ?1 ORDER BY t", table);

		if (sql == NULL || sqlite3_prepare_v2(db, sql, -1, &h[i].st,
		    NULL) != SQLITE_OK)
			rc = -1;
		sqlite3_free(sql);
		if (rc == 0) {
			sqlite3_bind_int64(h[i].st, 1, h[i].counter);
			next_row(&h[i]);
		}
	}
	for (size_t i = 1; i <= n && rc == 0; i++)
		if (i == n || h[i].device != h[start].device) {
			rc = merge_board(sb, h + start, i - start);
			start = i;
		}
	for (size_t i = 0; i < n; i++)
		sqlite3_finalize(h[i].st);
	free(h);
	return rc;
}

static int
exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* One partition, in one transaction. */
static int
convert_one(sqlite3 *db, struct sblocks *sb, const char *table)
{
	const char *why = "";
	char *sql = sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\"; DELETE FROM "
	    "partitions WHERE name = %Q", table, table);
	int rc = sql == NULL || exec(db, "BEGIN IMMEDIATE") < 0 ? -1 : 0;

	if (rc == 0 && (convert_table(db, sb, table) < 0 ||
	    (sblocks_close_all(sb), sblocks_write(sb, 0, &why)) < 0 ||
	    exec(db, sql) < 0 || exec(db, "COMMIT") < 0)) {
		(void)exec(db, "ROLLBACK");
		rc = -1;
	}
	(void)sblocks_done(sb, rc == 0);
	sqlite3_free(sql);
	return rc;
}

int
partconv_run(sqlite3 *db, struct sblocks *sb, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	char name[64];
	int done = 0;

	for (;;) {
		if (sqlite3_prepare_v2(db, "SELECT name FROM partitions ORDER BY "
		    "t_start LIMIT 1", -1, &st, NULL) != SQLITE_OK)
			goto fail;
		name[0] = '\0';
		if (sqlite3_step(st) == SQLITE_ROW)
			snprintf(name, sizeof(name), "%s",
			    (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		if (name[0] == '\0')
			break;
		if (convert_one(db, sb, name) < 0)
			goto fail;
		if (++done == 1)
			log_notice("converting raw partitions into sample "
			    "blocks (schema 9)");
	}
	if (done > 0)
		log_notice("converted %d raw partitions into sample blocks",
		    done);
	return 0;
fail:
	snprintf(err, errlen, "converting the raw partitions into sample "
	    "blocks failed: %s", sqlite3_errmsg(db));
	return -1;
}
