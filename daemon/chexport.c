/*
 * ClickHouse forwarding (chexport.h): batches built by the ingest thread,
 * a bounded queue, and a sender thread that POSTs them with libcurl.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "chexport.h"
#include "chrows.h"
#include "log.h"
#include "wallclock.h"

/*
 * The schema: ClickHouse 18.16 (Debian's) and current releases alike.
 * Times are Int64 microseconds (18.16 has no DateTime64); a materialized
 * DateTime beside them partitions by month and serves time filters.
 * ReplacingMergeTree on a key that identifies a row: an insert retried
 * after its answer was lost leaves a duplicate only until parts merge,
 * and SELECT ... FINAL never shows it.  Each statement takes the
 * database name.
 */
static const struct {
	const char *head, *tail;	/* around the database name */
} schema[] = {
	{ "CREATE DATABASE IF NOT EXISTS ",
	  "" },
	{ "CREATE TABLE IF NOT EXISTS ",
	  ".samples (\n"
	  "    board String,\n"
	  "    counter String,\n"
	  "    t_us Int64,\n"
	  "    value Int64,\n"
	  "    time DateTime MATERIALIZED toDateTime(intDiv(t_us, 1000000))\n"
	  ") ENGINE = ReplacingMergeTree()\n"
	  "PARTITION BY toYYYYMM(time)\n"
	  "ORDER BY (board, counter, t_us)" },
	{ "CREATE TABLE IF NOT EXISTS ",
	  ".events (\n"
	  "    board String,\n"
	  "    boot String,\n"
	  "    t_us Int64,\n"
	  "    kind String,\n"
	  "    count UInt64,\n"
	  "    detail String,\n"
	  "    time DateTime MATERIALIZED toDateTime(intDiv(t_us, 1000000))\n"
	  ") ENGINE = ReplacingMergeTree()\n"
	  "PARTITION BY toYYYYMM(time)\n"
	  "ORDER BY (board, t_us, kind, detail)" },
	{ "CREATE TABLE IF NOT EXISTS ",
	  ".logs (\n"
	  "    board String,\n"
	  "    boot String,\n"
	  "    t_us Int64,\n"
	  "    record UInt64,\n"
	  "    level String,\n"
	  "    channel String,\n"
	  "    text String,\n"
	  "    time DateTime MATERIALIZED toDateTime(intDiv(t_us, 1000000))\n"
	  ") ENGINE = ReplacingMergeTree()\n"
	  "PARTITION BY toYYYYMM(time)\n"
	  "ORDER BY (board, t_us, boot, record, channel, text)" },
	{ "CREATE TABLE IF NOT EXISTS ",
	  ".crashes (\n"
	  "    board String,\n"
	  "    boot String,\n"
	  "    t_us Int64,\n"
	  "    kind String,\n"
	  "    reason String,\n"
	  "    message String,\n"
	  "    file String,\n"
	  "    line UInt32,\n"
	  "    pc UInt32,\n"
	  "    exccause UInt32,\n"
	  "    excvaddr UInt32,\n"
	  "    backtrace String,\n"
	  "    image String,\n"
	  "    time DateTime MATERIALIZED toDateTime(intDiv(t_us, 1000000))\n"
	  ") ENGINE = ReplacingMergeTree()\n"
	  "PARTITION BY toYYYYMM(time)\n"
	  "ORDER BY (board, t_us, boot)" },
};

#define NSCHEMA		(sizeof(schema) / sizeof(schema[0]))
#define QUEUE_MAX	4096		/* batches waiting, whatever their size */
#define BATCH_CAP	(8u << 20)	/* at most, see batch_cap() */
#define RETRY_MIN_US	1000000u
#define RETRY_MAX_US	30000000u

struct chx {
	struct chx_cfg cfg;
	/* The ingest thread's: the batches being filled. */
	struct chrows rows;
	/* Shared, under mu: the queue (a ring of batches) and figures. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ch_batch q[QUEUE_MAX];
	size_t qhead, qlen;
	uint64_t q_bytes, q_rows;	/* queued, not in flight */
	uint64_t f_bytes, f_rows;	/* in flight */
	uint64_t b_bytes, b_rows;	/* being built, as of the last tick */
	bool stopping;
	uint64_t stop_deadline;
	struct chx_stats st;
	/* The sender thread's. */
	pthread_t thr;
	CURL *curl;
	bool tables_made;
	uint64_t retry_us;		/* 0: the last insert worked */
	char last_err[160];
};

void
chx_cfg_defaults(struct chx_cfg *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->database, sizeof(c->database), "appcore");
	c->batch_ms = 1000;
	c->queue_bytes = 256ull << 20;
	c->create_tables = true;
}

/* ---- the queue (under mu) ---- */

static void
drop_oldest(struct chx *x)
{
	struct ch_batch *b = &x->q[x->qhead];

	x->st.rows_dropped += b->rows;
	x->q_bytes -= b->text.len;
	x->q_rows -= b->rows;
	tsv_free(&b->text);
	x->qhead = (x->qhead + 1) % QUEUE_MAX;
	x->qlen--;
}

/* Whether len more bytes keep everything held within the bound. */
static bool
fits(const struct chx *x, size_t len)
{
	return x->q_bytes + x->f_bytes + x->b_bytes + len <=
	    x->cfg.queue_bytes;
}

/* Makes room for len more bytes and one more batch: the oldest waiting
 * go (the one in flight and those being built stay). */
static void
make_room(struct chx *x, size_t len)
{
	while (x->qlen > 0 && (x->qlen == QUEUE_MAX || !fits(x, len)))
		drop_oldest(x);
}

static void
enqueue_tail(struct chx *x, struct ch_batch *b)
{
	make_room(x, b->text.len);
	if (!fits(x, b->text.len)) {
		x->st.rows_dropped += b->rows;	/* larger than the bound */
		tsv_free(&b->text);
		return;
	}
	x->q[(x->qhead + x->qlen) % QUEUE_MAX] = *b;
	x->qlen++;
	x->q_bytes += b->text.len;
	x->q_rows += b->rows;
}

/* A batch whose insert failed goes back to the front, if it still fits. */
static void
requeue_head(struct chx *x, struct ch_batch *b)
{
	x->f_bytes -= b->text.len;
	x->f_rows -= b->rows;
	if (x->qlen == QUEUE_MAX || !fits(x, b->text.len)) {	/* the oldest */
		x->st.rows_dropped += b->rows;
		tsv_free(&b->text);
		return;
	}
	x->qhead = (x->qhead + QUEUE_MAX - 1) % QUEUE_MAX;
	x->q[x->qhead] = *b;
	x->qlen++;
	x->q_bytes += b->text.len;
	x->q_rows += b->rows;
}

static void
set_stats_queued(struct chx *x)
{
	x->st.queued_bytes = x->q_bytes + x->f_bytes + x->b_bytes;
	x->st.queued_rows = x->q_rows + x->f_rows + x->b_rows;
}

/* Table t's batch moves to the queue; one cut short by a failed
 * allocation is dropped instead (ClickHouse would refuse it). */
static void
hand_over(struct chx *x, enum ch_table t)
{
	struct ch_batch moved;

	if (!chrows_take(&x->rows, t, &moved))
		return;
	pthread_mutex_lock(&x->mu);
	x->b_bytes -= moved.text.len < x->b_bytes ? moved.text.len : x->b_bytes;
	x->b_rows -= moved.rows < x->b_rows ? moved.rows : x->b_rows;
	if (moved.text.failed) {
		x->st.rows_dropped += moved.rows;
		tsv_free(&moved.text);
		pthread_mutex_unlock(&x->mu);
		log_warnx("clickhouse: out of memory building a batch of %s",
		    ch_table_name(t));
		return;
	}
	enqueue_tail(x, &moved);
	set_stats_queued(x);
	pthread_cond_signal(&x->cv);
	pthread_mutex_unlock(&x->mu);
}

/* A batch goes out early at this size: 8 MiB, or an eighth of the
 * queue's bound when that is less. */
static size_t
batch_cap(const struct chx *x)
{
	return x->cfg.queue_bytes / 8 < BATCH_CAP ?
	    (size_t)(x->cfg.queue_bytes / 8) : BATCH_CAP;
}

/* The rows not handed over yet count as queued too, and within the
 * bound. */
static void
note_building(struct chx *x)
{
	uint64_t bytes = 0, rows = 0;

	for (int t = 0; t < CH_TABLES; t++) {
		bytes += x->rows.cur[t].text.len;
		rows += x->rows.cur[t].rows;
	}
	pthread_mutex_lock(&x->mu);
	x->b_bytes = bytes;
	x->b_rows = rows;
	make_room(x, 0);
	set_stats_queued(x);
	pthread_mutex_unlock(&x->mu);
}

uint64_t
chx_tick(struct chx *x, uint64_t now)
{
	uint64_t period = (uint64_t)x->cfg.batch_ms * 1000, next = now + period;

	for (int t = 0; t < CH_TABLES; t++) {
		const struct ch_batch *b = &x->rows.cur[t];

		if (b->rows == 0)
			continue;
		if (now >= b->started + period || b->text.len >= batch_cap(x))
			hand_over(x, (enum ch_table)t);
		else if (b->started + period < next)
			next = b->started + period;
	}
	note_building(x);
	return next;
}

/* ---- the sender thread ---- */

static size_t
keep_answer(char *data, size_t size, size_t n, void *arg)
{
	char *err = arg;
	size_t have = strlen(err), room = 159 - have, len = size * n;

	memcpy(err + have, data, len < room ? len : room);
	err[have + (len < room ? len : room)] = '\0';
	return len;
}

/* POSTs body to ClickHouse with query as the statement; 0 when it
 * answered 200, else -1 with err. */
static int
post(struct chx *x, const char *query, const char *body, size_t len,
    char *err)
{
	char *q = curl_easy_escape(x->curl, query, 0), url[1024];
	long code = 0;
	CURLcode rc;

	err[0] = '\0';
	if (q == NULL) {
		snprintf(err, 160, "out of memory");
		return -1;
	}
	snprintf(url, sizeof(url), "%s%s?query=%s", x->cfg.url,
	    x->cfg.url[strlen(x->cfg.url) - 1] == '/' ? "" : "/", q);
	curl_free(q);
	curl_easy_reset(x->curl);
	curl_easy_setopt(x->curl, CURLOPT_URL, url);
	curl_easy_setopt(x->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(x->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(x->curl, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len);
	curl_easy_setopt(x->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(x->curl, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_setopt(x->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->curl, CURLOPT_WRITEFUNCTION, keep_answer);
	curl_easy_setopt(x->curl, CURLOPT_WRITEDATA, err);
	if (x->cfg.user[0] != '\0') {
		curl_easy_setopt(x->curl, CURLOPT_USERNAME, x->cfg.user);
		curl_easy_setopt(x->curl, CURLOPT_PASSWORD, x->cfg.password);
	}
	rc = curl_easy_perform(x->curl);
	if (rc != CURLE_OK) {
		snprintf(err, 160, "%s", curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		char answer[160];

		snprintf(answer, sizeof(answer), "%s", err);
		snprintf(err, 160, "HTTP %ld: %.140s", code, answer);
		return -1;
	}
	return 0;
}

static int
make_tables(struct chx *x, char *err)
{
	char stmt[1024];

	for (size_t i = 0; i < NSCHEMA; i++) {
		snprintf(stmt, sizeof(stmt), "%s%s%s", schema[i].head,
		    x->cfg.database, schema[i].tail);
		if (post(x, stmt, "", 0, err) < 0)
			return -1;
	}
	return 0;
}

static int
insert(struct chx *x, const struct ch_batch *b, char *err)
{
	char stmt[160];

	if (x->cfg.create_tables && !x->tables_made) {
		if (make_tables(x, err) < 0)
			return -1;
		x->tables_made = true;
	}
	snprintf(stmt, sizeof(stmt), "INSERT INTO %s.%s FORMAT TabSeparated",
	    x->cfg.database, ch_table_name(b->table));
	return post(x, stmt, b->text.data, b->text.len, err);
}

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

/* With mu held: wait until there is a batch, or stopping and done. */
static bool
take(struct chx *x, struct ch_batch *b)
{
	while (x->qlen == 0 && !x->stopping)
		pthread_cond_wait(&x->cv, &x->mu);
	if (x->qlen == 0 || (x->stopping && mono_us() >= x->stop_deadline))
		return false;
	*b = x->q[x->qhead];
	x->qhead = (x->qhead + 1) % QUEUE_MAX;
	x->qlen--;
	x->q_bytes -= b->text.len;
	x->q_rows -= b->rows;
	x->f_bytes += b->text.len;
	x->f_rows += b->rows;
	return true;
}


/* With mu held: wait until mono_us() reaches until, or a broadcast. */
static void
wait_until(struct chx *x, uint64_t until)
{
	struct timespec ts = { (time_t)(until / 1000000),
	    (long)(until % 1000000) * 1000 };

	(void)pthread_cond_timedwait(&x->cv, &x->mu, &ts);
}

/* With mu held: wait us before retrying; when stopping, retry every
 * 200 ms until the deadline instead. */
static void
back_off(struct chx *x, uint64_t us)
{
	uint64_t until = mono_us() + us;

	while (!x->stopping && mono_us() < until)
		wait_until(x, until);
	if (x->stopping) {
		until = mono_us() + 200000;
		if (until > x->stop_deadline)
			until = x->stop_deadline;
		while (mono_us() < until)
			wait_until(x, until);
	}
}

static void
sent(struct chx *x, struct ch_batch *b)
{
	x->f_bytes -= b->text.len;
	x->f_rows -= b->rows;
	x->st.rows_sent += b->rows;
	x->st.inserts++;
	tsv_free(&b->text);
}

/* Sender thread, no lock held: says when inserts start failing (or fail
 * differently) and when they work again. */
static void
log_outcome(struct chx *x, const struct ch_batch *b, int rc, const char *err)
{
	if (rc == 0) {
		if (x->retry_us != 0)
			log_notice("clickhouse: inserts resumed");
		return;
	}
	if (x->retry_us == 0 || strcmp(err, x->last_err) != 0)
		log_warnx("clickhouse: insert of %" PRIu64 " rows into %s "
		    "failed (%s); holding them and retrying", b->rows,
		    ch_table_name(b->table), err);
	snprintf(x->last_err, sizeof(x->last_err), "%s", err);
}

static void *
sender(void *arg)
{
	struct chx *x = arg;
	struct ch_batch b;
	char err[160];

	pthread_mutex_lock(&x->mu);
	while (take(x, &b)) {
		int rc;

		pthread_mutex_unlock(&x->mu);
		rc = insert(x, &b, err);
		log_outcome(x, &b, rc, err);
		pthread_mutex_lock(&x->mu);
		if (rc == 0) {
			sent(x, &b);
			x->retry_us = 0;
			set_stats_queued(x);
			continue;
		}
		x->st.failures++;
		snprintf(x->st.last_error, sizeof(x->st.last_error), "%s", err);
		requeue_head(x, &b);
		set_stats_queued(x);
		x->retry_us = x->retry_us == 0 ? RETRY_MIN_US :
		    x->retry_us * 2 > RETRY_MAX_US ? RETRY_MAX_US :
		    x->retry_us * 2;
		back_off(x, x->retry_us);
	}
	pthread_mutex_unlock(&x->mu);
	return NULL;
}

struct chx *
chx_start(const struct chx_cfg *cfg, char *err, size_t errlen)
{
	struct chx *x = calloc(1, sizeof(*x));

	if (x == NULL || (x->curl = curl_easy_init()) == NULL) {
		free(x);
		snprintf(err, errlen, "clickhouse: cannot start libcurl");
		return NULL;
	}
	x->cfg = *cfg;
	pthread_mutex_init(&x->mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&x->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (pthread_create(&x->thr, NULL, sender, x) != 0) {
		snprintf(err, errlen, "clickhouse: cannot start a thread");
		curl_easy_cleanup(x->curl);
		free(x);
		return NULL;
	}
	return x;
}

void
chx_stop(struct chx *x, uint32_t wait_ms)
{
	if (x == NULL)
		return;
	for (int t = 0; t < CH_TABLES; t++)
		hand_over(x, (enum ch_table)t);
	pthread_mutex_lock(&x->mu);
	x->stopping = true;
	x->stop_deadline = mono_us() + (uint64_t)wait_ms * 1000;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
	pthread_join(x->thr, NULL);
	if (x->qlen > 0)
		log_warnx("clickhouse: %" PRIu64 " rows not sent at exit",
		    x->q_rows);
	while (x->qlen > 0)
		drop_oldest(x);
	chrows_free(&x->rows);
	curl_easy_cleanup(x->curl);
	pthread_cond_destroy(&x->cv);
	pthread_mutex_destroy(&x->mu);
	free(x);
}

struct chrows *
chx_rows(struct chx *x)
{
	return &x->rows;
}

void
chx_get_stats(struct chx *x, struct chx_stats *st)
{
	pthread_mutex_lock(&x->mu);
	*st = x->st;
	pthread_mutex_unlock(&x->mu);
}
