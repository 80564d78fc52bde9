/*
 * The JSON API, v1 (docs/api.md, web/openapi.json), and /metrics.
 * Runs on the HTTP thread: live state under the live mutex, history from
 * the thread's read-only SQLite connection, blobs under their mutex.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <microhttpd.h>
#include <sqlite3.h>

#include "appcored.h"
#include "coredump.h"
#include "hex.h"
#include "jsonv.h"
#include "le.h"
#include "log.h"
#include "symbols.h"

#define LIST_MAX	1000
#define POINTS_MAX	10000
#define MEM_RANGE_MAX	4096

void
api_json(struct api_reply *a, int status, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);

	a->status = status;
	a->body = strdup(s);
	a->len = strlen(s);
	a->type = "application/json";
	json_object_put(o);
}

/* Strict integers from the query: all digits, in range. */
static int
query_i64(struct MHD_Connection *c, const char *name, int64_t lo, int64_t hi,
    int64_t dflt, int64_t *out, struct api_reply *a)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    name);
	char *end;
	long long x;

	if (v == NULL) {
		*out = dflt;
		return 0;
	}
	errno = 0;
	x = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || x < lo || x > hi) {
		api_error(a, 400, "bad_parameter", "%s: '%.40s' is not an "
		    "integer in [%" PRId64 ", %" PRId64 "]", name, v, lo, hi);
		return -1;
	}
	*out = x;
	return 0;
}

static json_object *
query_value(sqlite3_stmt *st, int i, size_t *bytes)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		*bytes += 20;
		return json_object_new_int64(sqlite3_column_int64(st, i));
	case SQLITE_FLOAT:
		*bytes += 24;
		return jv_double(sqlite3_column_double(st, i));
	case SQLITE_TEXT:
		*bytes += (size_t)sqlite3_column_bytes(st, i) + 2;
		return jv_string_len((const char *)
		    sqlite3_column_text(st, i), sqlite3_column_bytes(st, i));
	case SQLITE_BLOB: {	/* as hex */
		const uint8_t *b = sqlite3_column_blob(st, i);
		int n = sqlite3_column_bytes(st, i);
		char *hex = malloc((size_t)n * 2 + 1);
		json_object *o;

		if (hex == NULL)
			return NULL;
		hex_encode(hex, b, (size_t)n);
		*bytes += (size_t)n * 2 + 2;
		o = jv_string_len(hex, 2 * n);
		free(hex);
		return o;
	}
	default:
		*bytes += 4;
		return NULL;
	}
}

/* A column as a JSON member, typed as SQLite stored it. */
static void
add_col(json_object *o, const char *k, sqlite3_stmt *st, int i)
{
	size_t n = 0;

	json_object_object_add(o, k, query_value(st, i, &n));
}

/* Buckets of step ?4 us of counter ?1's raw samples in [?2, ?3). */
#define RAW_BUCKETS_SQL "SELECT t / ?4 * ?4, min(value), max(value), " \
	"avg(value), count(*) FROM samples WHERE counter_id = ?1 AND t >= ?2 " \
	"AND t < ?3 GROUP BY 1 ORDER BY 1"

/* The rows of a bucket query (t, min, max, mean, count) as points
 * [t, min, max, mean, count]; at most max of them. */
static json_object *
bucket_points(sqlite3_stmt *st, int max)
{
	json_object *pts = json_object_new_array();
	int n = 0;

	while (n++ < max && sqlite3_step(st) == SQLITE_ROW) {
		json_object *p = json_object_new_array_ext(5);

		json_object_array_add(p, json_object_new_int64(
		    sqlite3_column_int64(st, 0)));
		json_object_array_add(p, json_object_new_int64(
		    sqlite3_column_int64(st, 1)));
		json_object_array_add(p, json_object_new_int64(
		    sqlite3_column_int64(st, 2)));
		json_object_array_add(p, jv_double(
		    sqlite3_column_double(st, 3)));
		json_object_array_add(p, json_object_new_int64(
		    sqlite3_column_int64(st, 4)));
		json_object_array_add(pts, p);
	}
	return pts;
}

static const char *
kind_name(uint8_t k)
{
	return k == AC_KIND_COUNTER ? "counter" : k == AC_KIND_GAUGE ?
	    "gauge" : "unused";
}

static json_object *
device_live_json(const struct live_device *d, bool full)
{
	json_object *o = json_object_new_object(), *h, *ctrs;
	char boot[17];

	snprintf(boot, sizeof(boot), "%016" PRIx64, d->boot_id);
	json_object_object_add(o, "id", json_object_new_int64(d->id));
	json_object_object_add(o, "name", jv_string(d->name));
	json_object_object_add(o, "key", jv_string(d->key));
	json_object_object_add(o, "connected",
	    json_object_new_boolean(d->connected));
	json_object_object_add(o, "link", jv_string(d->link));
	json_object_object_add(o, "state",
	    jv_string(ac_state_name(d->state)));
	json_object_object_add(o, "boot", jv_string(boot));
	json_object_object_add(o, "agent_version",
	    jv_string(d->agent_version));
	json_object_object_add(o, "rate_hz", json_object_new_int64(d->rate_hz));
	json_object_object_add(o, "counters_count",
	    json_object_new_int64(d->ncols));
	json_object_object_add(o, "last_sample_us",
	    json_object_new_int64((int64_t)d->last_sample_t));
	json_object_object_add(o, "last_snapshot_us",
	    json_object_new_int64((int64_t)d->last_snapshot_t));
	if (!full)
		return o;
	json_object_object_add(o, "generation",
	    json_object_new_int64(d->generation));
	json_object_object_add(o, "heartbeat",
	    json_object_new_int64(d->heartbeat));
	json_object_object_add(o, "heartbeat_rate",
	    jv_double(d->heartbeat_rate));
	json_object_object_add(o, "region_base",
	    json_object_new_int64(d->region_base));
	json_object_object_add(o, "region_size",
	    json_object_new_int64(d->region_size));
	ctrs = json_object_new_array();
	for (uint32_t i = 0; i < d->ncols; i++) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "index", json_object_new_int64(i));
		json_object_object_add(c, "name",
		    jv_string(d->c[i].name));
		json_object_object_add(c, "unit",
		    jv_string(d->c[i].unit));
		json_object_object_add(c, "kind",
		    jv_string(kind_name(d->c[i].kind)));
		json_object_object_add(c, "value",
		    json_object_new_int64(d->c[i].value));
		/* Counters: change per second (modulo 2^32); gauges: none. */
		json_object_object_add(c, "rate", d->c[i].kind ==
		    AC_KIND_COUNTER ? jv_double(d->c[i].rate) :
		    NULL);
		json_object_array_add(ctrs, c);
	}
	json_object_object_add(o, "counters", ctrs);
	h = json_object_new_object();
#define H(name, v) json_object_object_add(h, name, \
	json_object_new_int64((int64_t)(v)))
	H("rx_bytes", d->health.rx_bytes);
	H("frames", d->health.frames);
	H("crc_errors", d->health.crc_errors);
	H("framing_errors", d->health.framing_errors);
	H("seq_gaps", d->health.seq_gaps);
	H("frames_lost", d->health.frames_lost);
	H("samples_lost", d->health.samples_lost);
	H("malformed", d->health.malformed);
	H("samples_produced", d->health.samples_produced);
	H("samples_stored", d->health.samples_stored);
	H("samples_dup", d->health.samples_dup);
	H("frames_dup", d->health.frames_dup);
	H("frames_stale", d->health.frames_stale);
	H("frames_late", d->health.frames_late);
	H("samples_recovered", d->health.samples_recovered);
	H("samples_unattributed", d->health.samples_unattributed);
	H("asked_hello", d->health.asked_hello);
	H("asked_ref", d->health.asked_ref);
	H("agent_samples", d->health.agent.samples);
	H("agent_samples_dropped", d->health.agent.samples_dropped);
	H("agent_frames_dropped", d->health.agent.frames_dropped);
	H("agent_sampler_overruns", d->health.agent.sampler_overruns);
	H("agent_log_lost", d->health.agent.log_lost);
#undef H
	json_object_object_add(o, "link_health", h);
	return o;
}

/* ---- endpoints ---- */

static void
get_devices(struct http *h, struct api_reply *a)
{
	struct live *l = &http_daemon(h)->live;
	json_object *arr = json_object_new_array(), *o;
	sqlite3_stmt *st;

	/* Every device ever seen; live fields when this daemon knows it. */
	if (sqlite3_prepare_v2(http_db(h), "SELECT id, name, device_key, "
	    "last_seen, coalesce(link, '') FROM devices ORDER BY id", -1, &st,
	    NULL) != SQLITE_OK) {
		json_object_put(arr);
		api_error(a, 500, "database", "%s", sqlite3_errmsg(http_db(h)));
		return;
	}
	/* The rows first, then the live state under its lock, which is
	 * never held while SQLite steps. */
	while (sqlite3_step(st) == SQLITE_ROW) {
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(
		    sqlite3_column_int64(st, 0)));
		json_object_object_add(o, "name", jv_string((const char *)
		    sqlite3_column_text(st, 1)));
		json_object_object_add(o, "key", jv_string((const char *)
		    sqlite3_column_text(st, 2)));
		json_object_object_add(o, "connected",
		    json_object_new_boolean(0));
		json_object_object_add(o, "link", jv_string((const char *)
		    sqlite3_column_text(st, 4)));
		json_object_object_add(o, "state", jv_string("off"));
		json_object_object_add(o, "last_seen_us",
		    json_object_new_int64(sqlite3_column_int64(st, 3)));
		json_object_array_add(arr, o);
	}
	sqlite3_finalize(st);
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *row = json_object_array_get_idx(arr, i), *v;
		struct live_device *d = live_device_find(l, json_object_get_int64(
		    json_object_object_get(row, "id")));

		if (d == NULL)
			continue;
		o = device_live_json(d, false);
		if (json_object_object_get_ex(row, "last_seen_us", &v))
			json_object_object_add(o, "last_seen_us",
			    json_object_get(v));
		json_object_array_put_idx(arr, i, o);
	}
	pthread_mutex_unlock(&l->mu);
	o = json_object_new_object();
	json_object_object_add(o, "devices", arr);
	api_json(a, 200, o);
}

static bool
device_exists(struct http *h, int64_t id)
{
	sqlite3_stmt *st;
	bool found = false;

	if (sqlite3_prepare_v2(http_db(h), "SELECT 1 FROM devices WHERE id = ?",
	    -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_int64(st, 1, id);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* The live state changes with every sample; serving it 10 ms old at most
 * spares building the same JSON for every request of a busy poller. */
#define LIVE_JSON_US	10000

static void
get_device(struct http *h, int64_t id, struct api_reply *a)
{
	struct live *l = &http_daemon(h)->live;
	struct live_device *d;
	uint64_t now = now_wall_us();
	char *copy = NULL;
	size_t len = 0;

	pthread_mutex_lock(&l->mu);
	if ((d = live_device_find(l, id)) != NULL) {
		if (d->json == NULL || now - d->json_at >= LIVE_JSON_US) {
			json_object *o = device_live_json(d, true);
			const char *s = json_object_to_json_string_ext(o,
			    JSON_C_TO_STRING_PLAIN |
			    JSON_C_TO_STRING_NOSLASHESCAPE);

			free(d->json);
			d->json = strdup(s);
			d->json_len = strlen(s);
			d->json_at = now;
			json_object_put(o);
		}
		if (d->json != NULL && (copy = malloc(d->json_len)) != NULL) {
			memcpy(copy, d->json, d->json_len);
			len = d->json_len;
		}
	}
	pthread_mutex_unlock(&l->mu);
	if (copy != NULL) {
		a->status = 200;
		a->body = copy;
		a->len = len;
		a->type = "application/json";
	} else if (d != NULL)
		api_error(a, 500, "out_of_memory", "no memory for the answer");
	else if (device_exists(h, id))
		api_error(a, 404, "not_connected", "device %" PRId64 " has not "
		    "been connected since appcored started", id);
	else
		api_error(a, 404, "not_found", "no device %" PRId64, id);
}

static void
get_history(struct http *h, struct MHD_Connection *c, int64_t dev,
    int64_t idx, struct api_reply *a)
{
	int64_t from, to, step, counter = 0, now = (int64_t)now_wall_us();
	const char *src, *table;
	json_object *o, *pts;
	sqlite3_stmt *st;
	char sql[512];

	if (query_i64(c, "to", 0, INT64_MAX / 2, now, &to, a) < 0 ||
	    query_i64(c, "from", 0, INT64_MAX / 2, to - 600000000, &from,
	    a) < 0)
		return;
	if (from >= to) {
		api_error(a, 400, "bad_parameter", "from must be before to");
		return;
	}
	if (query_i64(c, "step", 1000, INT64_MAX / 2, (to - from) / 500 > 1000 ?
	    (to - from) / 500 : 1000, &step, a) < 0)
		return;
	if ((to - from) / step > POINTS_MAX) {
		api_error(a, 400, "bad_parameter", "(to - from) / step is %"
		    PRId64 " points; at most %d", (to - from) / step,
		    POINTS_MAX);
		return;
	}
	if (sqlite3_prepare_v2(http_db(h), "SELECT max(id) FROM counters "
	    "WHERE device_id = ? AND idx = ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, dev);
		sqlite3_bind_int64(st, 2, idx);
		if (sqlite3_step(st) == SQLITE_ROW)
			counter = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (counter <= 0) {
		api_error(a, 404, "not_found", "device %" PRId64 " has no "
		    "counter %" PRId64, dev, idx);
		return;
	}
	/* Raw data for fine steps, roll-ups for coarse ones. */
	if (step < 1000000) {
		src = "raw";
		snprintf(sql, sizeof(sql), "%s", RAW_BUCKETS_SQL);
	} else {
		src = step < 60000000 ? "1s" : "1m";
		table = step < 60000000 ? "rollup_1s" : "rollup_1m";
		snprintf(sql, sizeof(sql), "SELECT t / ?4 * ?4, min(min), "
		    "max(max), CAST(sum(sum) AS REAL) / sum(count), sum(count) "
		    "FROM %s WHERE counter_id = ?1 AND t >= ?2 AND t < ?3 "
		    "GROUP BY 1 ORDER BY 1", table);
	}
	if (sqlite3_prepare_v2(http_db(h), sql, -1, &st, NULL) != SQLITE_OK) {
		api_error(a, 500, "database", "%s", sqlite3_errmsg(http_db(h)));
		return;
	}
	sqlite3_bind_int64(st, 1, counter);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	sqlite3_bind_int64(st, 4, step);
	pts = bucket_points(st, POINTS_MAX + 1);
	sqlite3_finalize(st);
	o = json_object_new_object();
	json_object_object_add(o, "device", json_object_new_int64(dev));
	json_object_object_add(o, "index", json_object_new_int64(idx));
	json_object_object_add(o, "from", json_object_new_int64(from));
	json_object_object_add(o, "to", json_object_new_int64(to));
	json_object_object_add(o, "step", json_object_new_int64(step));
	json_object_object_add(o, "source", jv_string(src));
	json_object_object_add(o, "columns", jv_string(
	    "t,min,max,mean,count"));
	json_object_object_add(o, "points", pts);
	api_json(a, 200, o);
}

/* events and logs share their shape: rows between from and to. */
static void
get_rows(struct http *h, struct MHD_Connection *c, int64_t dev,
    bool logs, struct api_reply *a)
{
	int64_t from, to, limit;
	json_object *o, *arr;
	sqlite3_stmt *st;
	const char *sql = logs ?
	    "SELECT id, t, level, text, generation, record FROM logs WHERE "
	    "device_id = ?1 AND t >= ?2 AND t < ?3 ORDER BY t DESC, id DESC "
	    "LIMIT ?4" :
	    "SELECT id, t, kind, detail, count FROM events WHERE device_id = "
	    "?1 AND t >= ?2 AND t < ?3 ORDER BY t DESC, id DESC LIMIT ?4";

	if (query_i64(c, "from", 0, INT64_MAX / 2, 0, &from, a) < 0 ||
	    query_i64(c, "to", 0, INT64_MAX / 2, INT64_MAX / 2, &to, a) < 0 ||
	    query_i64(c, "limit", 1, LIST_MAX, 100, &limit, a) < 0)
		return;
	if (!device_exists(h, dev)) {
		api_error(a, 404, "not_found", "no device %" PRId64, dev);
		return;
	}
	if (sqlite3_prepare_v2(http_db(h), sql, -1, &st, NULL) != SQLITE_OK) {
		api_error(a, 500, "database", "%s", sqlite3_errmsg(http_db(h)));
		return;
	}
	sqlite3_bind_int64(st, 1, dev);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	sqlite3_bind_int64(st, 4, limit);
	arr = json_object_new_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_object *r = json_object_new_object();

		json_object_object_add(r, "id",
		    json_object_new_int64(sqlite3_column_int64(st, 0)));
		json_object_object_add(r, "t",
		    json_object_new_int64(sqlite3_column_int64(st, 1)));
		json_object_object_add(r, logs ? "level" : "kind",
		    jv_string((const char *)
		    sqlite3_column_text(st, 2)));
		json_object_object_add(r, logs ? "text" : "detail",
		    jv_string((const char *)
		    sqlite3_column_text(st, 3)));
		json_object_object_add(r, logs ? "generation" : "count",
		    json_object_new_int64(sqlite3_column_int64(st, 4)));
		if (logs)
			json_object_object_add(r, "record",
			    json_object_new_int64(sqlite3_column_int64(st, 5)));
		json_object_array_add(arr, r);
	}
	sqlite3_finalize(st);
	o = json_object_new_object();
	json_object_object_add(o, logs ? "logs" : "events", arr);
	api_json(a, 200, o);
}

static void
get_snapshot(struct http *h, struct MHD_Connection *c, int64_t dev,
    struct api_reply *a)
{
	struct daemon *d = http_daemon(h);
	int64_t off, len, t = 0, base = 0;
	uint8_t key[BLOB_KEY_LEN], *p = NULL;
	char hexkey[BLOB_HEX_LEN] = "", *hex;
	size_t n = 0;
	sqlite3_stmt *st;
	json_object *o, *hd;
	int rc;

	if (query_i64(c, "offset", 0, 1 << 24, 0, &off, a) < 0 ||
	    query_i64(c, "length", 1, MEM_RANGE_MAX, 256, &len, a) < 0)
		return;
	if (sqlite3_prepare_v2(http_db(h), "SELECT t, blob_key, region_base "
	    "FROM snapshots WHERE device_id = ? ORDER BY t DESC LIMIT 1", -1,
	    &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, dev);
		if (sqlite3_step(st) == SQLITE_ROW) {
			t = sqlite3_column_int64(st, 0);
			snprintf(hexkey, sizeof(hexkey), "%s",
			    (const char *)sqlite3_column_text(st, 1));
			base = sqlite3_column_int64(st, 2);
		}
		sqlite3_finalize(st);
	}
	if (hexkey[0] == '\0' || blob_key_parse(hexkey, key) < 0) {
		api_error(a, 404, "not_found", "no snapshot of device %" PRId64
		    " yet", dev);
		return;
	}
	pthread_mutex_lock(&d->blobs_mu);
	rc = blobs_get(d->blobs, key, (void **)&p, &n);
	pthread_mutex_unlock(&d->blobs_mu);
	if (rc < 0) {
		api_error(a, 500, "blob_missing", "snapshot %s is not in the "
		    "blob store: %s", hexkey, strerror(errno));
		return;
	}
	if ((uint64_t)off >= n || (uint64_t)(off + len) > n) {
		free(p);
		api_error(a, 400, "bad_parameter", "offset + length must be "
		    "within the %zu-byte snapshot", n);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "device", json_object_new_int64(dev));
	json_object_object_add(o, "t", json_object_new_int64(t));
	json_object_object_add(o, "blob_key", jv_string(hexkey));
	json_object_object_add(o, "region_base", json_object_new_int64(base));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)n));
	hd = json_object_new_object();
	if (n >= sizeof(struct ac_region)) {
		static const char *const names[] = { "magic", "layout_version",
		    "region_size", "generation", "core1_off", "counters_off",
		    "desc_off", "panic_off", "log_off", "user_off",
		    "user_size" };
		static const size_t offs[] = { 0, 4, 8, 12, 16, 20, 24, 28, 32,
		    36, 40 };

		for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
			json_object_object_add(hd, names[i],
			    json_object_new_int64(i == 1 ?
			    (int64_t)(p[4] | p[5] << 8) :
			    (int64_t)le32_get(p + offs[i])));
		json_object_object_add(hd, "magic_ok", json_object_new_boolean(
		    le32_get(p) == AC_REGION_MAGIC));
		json_object_object_add(hd, "core1_state", jv_string(
		    ac_state_name(le32_get(p + 64))));
		json_object_object_add(hd, "heartbeat",
		    json_object_new_int64(le32_get(p + 68)));
		json_object_object_add(hd, "counters_used",
		    json_object_new_int64(le32_get(p + 72)));
		json_object_object_add(hd, "log_head",
		    json_object_new_int64(le32_get(p + 80)));
	}
	json_object_object_add(o, "header", hd);
	json_object_object_add(o, "offset", json_object_new_int64(off));
	json_object_object_add(o, "length", json_object_new_int64(len));
	if ((hex = malloc((size_t)len * 2 + 1)) != NULL) {
		hex_encode(hex, p + off, (size_t)len);
		json_object_object_add(o, "bytes_hex",
		    jv_string(hex));
		free(hex);
	}
	free(p);
	api_json(a, 200, o);
}

static json_object *
crash_json(sqlite3_stmt *st, bool full)
{
	json_object *o = json_object_new_object();

	add_col(o, "id", st, 0);
	add_col(o, "device", st, 1);
	add_col(o, "t", st, 2);
	add_col(o, "kind", st, 3);
	add_col(o, "reason", st, 4);
	add_col(o, "message", st, 5);
	add_col(o, "file", st, 6);
	add_col(o, "line", st, 7);
	add_col(o, "pc", st, 8);
	add_col(o, "sp", st, 9);
	add_col(o, "dump_sha256", st, 13);	/* null until it is here */
	add_col(o, "dump_size", st, 14);
	if (full) {
		json_object *bt = json_object_new_array();
		const char *s = (const char *)sqlite3_column_text(st, 10);
		char *copy = strdup(s != NULL ? s : ""), *tok, *save = NULL;

		for (tok = strtok_r(copy, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save))
			json_object_array_add(bt, json_object_new_int64(
			    strtoll(tok, NULL, 16)));
		free(copy);
		json_object_object_add(o, "backtrace", bt);
		add_col(o, "generation", st, 11);
		add_col(o, "image_hash", st, 12);
	}
	return o;
}

#define CRASH_COLUMNS "id, device_id, t, kind, reason, message, file, " \
	"line, pc, sp, backtrace, generation, image_hash, dump_key, dump_size"

static void
get_crashes(struct http *h, struct MHD_Connection *c, struct api_reply *a)
{
	int64_t dev, limit;
	json_object *o, *arr;
	sqlite3_stmt *st;

	if (query_i64(c, "device", 0, INT64_MAX, 0, &dev, a) < 0 ||
	    query_i64(c, "limit", 1, LIST_MAX, 100, &limit, a) < 0)
		return;
	if (sqlite3_prepare_v2(http_db(h), "SELECT " CRASH_COLUMNS " FROM "
	    "crashes WHERE ?1 = 0 OR device_id = ?1 ORDER BY t DESC LIMIT ?2",
	    -1, &st, NULL) != SQLITE_OK) {
		api_error(a, 500, "database", "%s", sqlite3_errmsg(http_db(h)));
		return;
	}
	sqlite3_bind_int64(st, 1, dev);
	sqlite3_bind_int64(st, 2, limit);
	arr = json_object_new_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_object_array_add(arr, crash_json(st, false));
	sqlite3_finalize(st);
	o = json_object_new_object();
	json_object_object_add(o, "crashes", arr);
	api_json(a, 200, o);
}

/* One crash row as JSON (with its device and time); NULL after answering
 * 404 or 500. */
static json_object *
load_crash(struct http *h, int64_t id, int64_t *dev, int64_t *t,
    struct api_reply *a)
{
	json_object *o = NULL;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(http_db(h), "SELECT " CRASH_COLUMNS " FROM "
	    "crashes WHERE id = ?", -1, &st, NULL) != SQLITE_OK) {
		api_error(a, 500, "database", "%s", sqlite3_errmsg(http_db(h)));
		return NULL;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		o = crash_json(st, true);
		*dev = sqlite3_column_int64(st, 1);
		*t = sqlite3_column_int64(st, 2);
	} else
		api_error(a, 404, "not_found", "no crash %" PRId64, id);
	sqlite3_finalize(st);
	return o;
}

static void
get_crash(struct http *h, int64_t id, struct api_reply *a)
{
	int64_t dev, t;
	json_object *o = load_crash(h, id, &dev, &t, a);

	if (o != NULL)
		api_json(a, 200, o);
}

/*
 * GET /api/v1/crashes/{id}/report: the crash with what led to it - core
 * 1's state changes in the minute before, every counter over the 10 s
 * before (100 ms buckets from the raw samples) and the shared region's
 * bytes that differ between the last snapshot before the crash and the
 * dump.
 */
#define REPORT_WINDOW_US	10000000
#define REPORT_STEP_US		100000
#define REPORT_STATES_US	60000000
#define DIFF_RANGES_MAX		64
#define DIFF_SHOW_MAX		64	/* bytes of each side per range */
#define DIFF_JOIN		8	/* ranges closer than this merge */

static void
add_hex(json_object *o, const char *k, const uint8_t *p, size_t n)
{
	char hex[2 * DIFF_SHOW_MAX + 1];

	if (n > DIFF_SHOW_MAX)
		n = DIFF_SHOW_MAX;
	hex_encode(hex, p, n);
	json_object_object_add(o, k, jv_string(hex));
}

/* The blob of a snapshot row (key in column col); NULL when none. */
static void *
snapshot_blob(struct http *h, sqlite3_stmt *st, int col, size_t *n)
{
	struct daemon *d = http_daemon(h);
	uint8_t key[BLOB_KEY_LEN];
	const char *hex = (const char *)sqlite3_column_text(st, col);
	void *p = NULL;
	int rc;

	if (hex == NULL || blob_key_parse(hex, key) < 0)
		return NULL;
	pthread_mutex_lock(&d->blobs_mu);
	rc = blobs_get(d->blobs, key, &p, n);
	pthread_mutex_unlock(&d->blobs_mu);
	return rc < 0 ? NULL : p;
}

static json_object *
region_diff(struct http *h, int64_t id, int64_t dev, int64_t t)
{
	json_object *o = json_object_new_object(), *ranges;
	sqlite3_stmt *st;
	uint8_t *before = NULL, *after = NULL;
	size_t nb = 0, na = 0, changed = 0, nr = 0;
	int64_t tb = 0, ta = 0, base = 0;

	if (sqlite3_prepare_v2(http_db(h), "SELECT "
	    "(SELECT blob_key FROM snapshots WHERE device_id = ?1 AND t < ?2 "
	    "ORDER BY t DESC LIMIT 1), "
	    "(SELECT t FROM snapshots WHERE device_id = ?1 AND t < ?2 "
	    "ORDER BY t DESC LIMIT 1), c.dump_key, c.t, b.region_base "
	    "FROM crashes c JOIN boots b ON b.id = c.boot_id WHERE c.id = ?3",
	    -1, &st, NULL) != SQLITE_OK)
		return o;
	sqlite3_bind_int64(st, 1, dev);
	sqlite3_bind_int64(st, 2, t);
	sqlite3_bind_int64(st, 3, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		before = snapshot_blob(h, st, 0, &nb);
		tb = sqlite3_column_int64(st, 1);
		after = snapshot_blob(h, st, 2, &na);
		ta = sqlite3_column_int64(st, 3);
		base = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	if (before == NULL || after == NULL || nb != na) {
		json_object_object_add(o, "available",
		    json_object_new_boolean(false));
		json_object_object_add(o, "why", jv_string(
		    after == NULL ? "the crash dump is not here (yet)" :
		    before == NULL ?
		    "no snapshot before the crash" : "the region changed size"));
		free(before);
		free(after);
		return o;
	}
	ranges = json_object_new_array();
	for (size_t i = 0; i < na;) {
		size_t start, end, same = 0;

		if (before[i] == after[i]) {
			i++;
			continue;
		}
		start = end = i;
		while (i < na && same < DIFF_JOIN) {
			if (before[i] != after[i]) {
				changed++;
				end = i + 1;
				same = 0;
			} else
				same++;
			i++;
		}
		if (++nr <= DIFF_RANGES_MAX) {
			json_object *r = json_object_new_object();

			json_object_object_add(r, "offset",
			    json_object_new_int64((int64_t)start));
			json_object_object_add(r, "address",
			    json_object_new_int64(base + (int64_t)start));
			json_object_object_add(r, "length",
			    json_object_new_int64((int64_t)(end - start)));
			add_hex(r, "before", before + start, end - start);
			add_hex(r, "after", after + start, end - start);
			json_object_array_add(ranges, r);
		}
	}
	json_object_object_add(o, "available", json_object_new_boolean(true));
	json_object_object_add(o, "before_t", json_object_new_int64(tb));
	json_object_object_add(o, "after_t", json_object_new_int64(ta));
	json_object_object_add(o, "region_base", json_object_new_int64(base));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)na));
	json_object_object_add(o, "changed_bytes",
	    json_object_new_int64((int64_t)changed));
	json_object_object_add(o, "range_count",
	    json_object_new_int64((int64_t)nr));
	json_object_object_add(o, "ranges", ranges);
	free(before);
	free(after);
	return o;
}

static json_object *
report_counters(struct http *h, int64_t dev, int64_t t)
{
	json_object *arr = json_object_new_array();
	sqlite3_stmt *st, *sm;

	if (sqlite3_prepare_v2(http_db(h), "SELECT id, idx, name, unit, kind "
	    "FROM counters c WHERE device_id = ?1 AND id = (SELECT max(id) "
	    "FROM counters WHERE device_id = ?1 AND idx = c.idx AND "
	    "first_seen <= ?2) ORDER BY idx", -1, &st, NULL) != SQLITE_OK)
		return arr;
	if (sqlite3_prepare_v2(http_db(h), RAW_BUCKETS_SQL, -1, &sm,
	    NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return arr;
	}
	sqlite3_bind_int64(st, 1, dev);
	sqlite3_bind_int64(st, 2, t);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_object *k = json_object_new_object(), *pts;

		add_col(k, "index", st, 1);
		add_col(k, "name", st, 2);
		add_col(k, "unit", st, 3);
		add_col(k, "kind", st, 4);
		sqlite3_reset(sm);
		sqlite3_bind_int64(sm, 1, sqlite3_column_int64(st, 0));
		sqlite3_bind_int64(sm, 2, t - REPORT_WINDOW_US);
		sqlite3_bind_int64(sm, 3, t + 1);	/* the crash's own t too */
		sqlite3_bind_int64(sm, 4, REPORT_STEP_US);
		pts = bucket_points(sm, INT_MAX);
		json_object_object_add(k, "points", pts);
		json_object_array_add(arr, k);
	}
	sqlite3_finalize(sm);
	sqlite3_finalize(st);
	return arr;
}

/* ---- core-1 ELF images: /api/v1/images ---- */

static json_object *
image_json(sqlite3_stmt *st)
{
	json_object *o = json_object_new_object();

	add_col(o, "sha256", st, 0);
	add_col(o, "name", st, 1);
	add_col(o, "size", st, 2);
	add_col(o, "uploaded", st, 3);
	add_col(o, "functions", st, 4);
	json_object_object_add(o, "dwarf",
	    json_object_new_boolean(sqlite3_column_int(st, 5) != 0));
	add_col(o, "entry", st, 6);
	add_col(o, "crashes", st, 7);
	return o;
}

#define IMAGE_COLUMNS "sha256, name, size, uploaded, functions, dwarf, " \
	"entry, (SELECT count(*) FROM crashes WHERE image_hash = sha256)"

static void
get_images(struct http *h, struct api_reply *a)
{
	json_object *o = json_object_new_object(), *arr;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(http_db(h), "SELECT " IMAGE_COLUMNS " FROM "
	    "images ORDER BY uploaded DESC", -1, &st, NULL) != SQLITE_OK) {
		json_object_put(o);
		api_error(a, 500, "database", "%s", sqlite3_errmsg(http_db(h)));
		return;
	}
	arr = json_object_new_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_object_array_add(arr, image_json(st));
	sqlite3_finalize(st);
	json_object_object_add(o, "images", arr);
	api_json(a, 200, o);
}

/*
 * POST /api/v1/images?name=FILE[&crash=ID]: a core-1 ELF.  It must be a
 * 32-bit little-endian Xtensa executable with a symbol table; with crash,
 * it must also be the very image that crash ran (its SHA-256 is the image
 * hash the agent reported), or it is refused.  Stored in gdbm under its
 * SHA-256, listed in the images table.
 */
static void
post_image(struct http *h, struct MHD_Connection *c, const char *body,
    size_t len, struct api_reply *a)
{
	struct daemon *d = http_daemon(h);
	const char *name = MHD_lookup_connection_value(c,
	    MHD_GET_ARGUMENT_KIND, "name");
	struct sym_info info;
	struct symtab *sym;
	uint8_t key[BLOB_KEY_LEN];
	char hex[BLOB_HEX_LEN], why[200];
	int64_t crash = 0;
	sqlite3_stmt *st;
	int rc;

	if (query_i64(c, "crash", 1, INT64_MAX, 0, &crash, a) < 0)
		return;
	if (name == NULL || name[0] == '\0')
		name = "core1.elf";
	if (strlen(name) > 200) {
		api_error(a, 400, "bad_parameter", "name: at most 200 bytes");
		return;
	}
	if (len == 0) {
		api_error(a, 400, "empty_body", "send the ELF file as the "
		    "request body");
		return;
	}
	if ((sym = sym_open(body, len, &info, why, sizeof(why))) == NULL) {
		api_error(a, 422, "bad_elf", "not a usable core-1 ELF: %s", why);
		return;
	}
	sym_close(sym);
	blob_sha256(body, len, key);
	blob_key_hex(key, hex);
	if (crash != 0) {
		int64_t cdev, ct;
		json_object *cr = load_crash(h, crash, &cdev, &ct, a), *ih;
		const char *want = NULL;
		bool same;

		if (cr == NULL)
			return;		/* answered: 404, or 500 */
		if (json_object_object_get_ex(cr, "image_hash", &ih))
			want = json_object_get_string(ih);
		same = want != NULL && strcmp(want, hex) == 0;
		if (!same)
			api_error(a, 409, "image_mismatch", "this ELF (SHA-256 "
			    "%.16s...) is not the image crash %" PRId64 " ran "
			    "(%.16s...); refused", hex, crash,
			    want != NULL ? want : "none");
		json_object_put(cr);
		if (!same)
			return;
	}
	pthread_mutex_lock(&d->blobs_mu);
	rc = blobs_put(d->blobs, body, len, key);
	pthread_mutex_unlock(&d->blobs_mu);
	if (rc < 0) {
		api_error(a, 507, "storage", "the blob store refused it: %s",
		    strerror(errno));
		return;
	}
	if (http_db_rw(h) == NULL) {
		api_error(a, 503, "database", "the database cannot be written "
		    "now");
		return;
	}
	if (sqlite3_prepare_v2(http_db_rw(h), "INSERT INTO images VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (sha256) DO UPDATE SET "
	    "name = excluded.name", -1, &st, NULL) != SQLITE_OK) {
		api_error(a, 500, "database", "%s",
		    sqlite3_errmsg(http_db_rw(h)));
		return;
	}
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)len);
	sqlite3_bind_int64(st, 4, (int64_t)now_wall_us());
	sqlite3_bind_int64(st, 5, info.functions);
	sqlite3_bind_int(st, 6, info.dwarf);
	sqlite3_bind_int64(st, 7, info.entry);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		api_error(a, 503, "database", "%s",
		    sqlite3_errmsg(http_db_rw(h)));
		return;
	}
	log_notice("api: core-1 image %s (%s, %zu bytes, %u functions%s)",
	    hex, name, len, info.functions, info.dwarf ? ", DWARF" : "");
	if (sqlite3_prepare_v2(http_db(h), "SELECT " IMAGE_COLUMNS " FROM "
	    "images WHERE sha256 = ?", -1, &st, NULL) != SQLITE_OK) {
		api_error(a, 500, "database", "%s", sqlite3_errmsg(http_db(h)));
		return;
	}
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		api_json(a, 201, image_json(st));
	else
		api_error(a, 500, "database", "the image row is not there");
	sqlite3_finalize(st);
}

/*
 * A windowed-ABI return address, as a stack walk finds it in a caller's
 * a0, carries the call size in bits 31:30 where ESP32-S3 code addresses
 * have 01; the call instruction ends 3 bytes before it.  Such a
 * backtrace entry is named at its call (ESP-IDF's
 * esp_cpu_process_stack_pc); plain code addresses are named as they are.
 */
static uint32_t
call_site(uint32_t addr)
{
	return (addr & 0x80000000u) ?
	    ((addr & 0x3fffffffu) | 0x40000000u) - 3 : addr;
}

static json_object *
frame_json(struct symtab *sym, uint32_t addr, bool return_addr)
{
	json_object *o = json_object_new_object();
	struct sym_loc loc;

	json_object_object_add(o, "address", json_object_new_int64(addr));
	if (return_addr && call_site(addr) != addr) {
		addr = call_site(addr);
		json_object_object_add(o, "call", json_object_new_int64(addr));
	}
	if (sym == NULL)
		return o;
	sym_lookup(sym, addr, &loc);
	if (loc.found) {
		json_object_object_add(o, "function",
		    jv_string(loc.function));
		json_object_object_add(o, "offset",
		    json_object_new_int64(loc.offset));
	}
	if (loc.have_line) {
		json_object_object_add(o, "file",
		    jv_string(loc.file));
		json_object_object_add(o, "line", json_object_new_int(loc.line));
	}
	return o;
}

/*
 * The crash's PC and backtrace named with the uploaded ELF whose SHA-256
 * is the crash's image hash - that one only; without it, addresses.
 */
static json_object *
report_symbols(struct http *h, json_object *crash)
{
	struct daemon *d = http_daemon(h);
	json_object *o = json_object_new_object(), *jv, *bt, *frames;
	const char *hash = NULL;
	struct symtab *sym = NULL;
	struct sym_info info;
	uint8_t key[BLOB_KEY_LEN];
	char why[200] = "", name[256] = "";
	void *elf = NULL;
	size_t n = 0;
	sqlite3_stmt *st;

	if (json_object_object_get_ex(crash, "image_hash", &jv))
		hash = json_object_get_string(jv);
	if (hash == NULL || blob_key_parse(hash, key) < 0)
		snprintf(why, sizeof(why), "the crash names no image hash");
	else if (sqlite3_prepare_v2(http_db(h), "SELECT name FROM images "
	    "WHERE sha256 = ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			snprintf(name, sizeof(name), "%s",
			    (const char *)sqlite3_column_text(st, 0));
		else
			snprintf(why, sizeof(why), "no core-1 ELF with SHA-256 "
			    "%.16s... was uploaded (appcorectl elf add FILE)",
			    hash);
		sqlite3_finalize(st);
	}
	if (why[0] == '\0') {
		int rc;

		pthread_mutex_lock(&d->blobs_mu);
		rc = blobs_get(d->blobs, key, &elf, &n);
		pthread_mutex_unlock(&d->blobs_mu);
		if (rc < 0)
			snprintf(why, sizeof(why), "the image is not in the "
			    "blob store");
		else	/* NULL with why set when it will not do */
			sym = sym_open(elf, n, &info, why, sizeof(why));
	}
	json_object_object_add(o, "available",
	    json_object_new_boolean(sym != NULL));
	if (sym == NULL)
		json_object_object_add(o, "why", jv_string(why));
	else {
		json_object_object_add(o, "image", jv_string(name));
		json_object_object_add(o, "dwarf",
		    json_object_new_boolean(info.dwarf));
	}
	if (json_object_object_get_ex(crash, "pc", &jv))
		json_object_object_add(o, "pc", frame_json(sym,
		    (uint32_t)json_object_get_int64(jv), false));
	frames = json_object_new_array();
	if (json_object_object_get_ex(crash, "backtrace", &bt))
		for (size_t i = 0; i < json_object_array_length(bt); i++)
			json_object_array_add(frames, frame_json(sym, (uint32_t)
			    json_object_get_int64(json_object_array_get_idx(bt,
			    i)), true));
	json_object_object_add(o, "backtrace", frames);
	sym_close(sym);
	free(elf);
	return o;
}

static void
get_crash_report(struct http *h, int64_t id, struct api_reply *a)
{
	json_object *o, *crash, *states;
	sqlite3_stmt *st;
	int64_t dev, t;

	if ((crash = load_crash(h, id, &dev, &t, a)) == NULL)
		return;
	states = json_object_new_array();
	if (sqlite3_prepare_v2(http_db(h), "SELECT t, state, prev, heartbeat "
	    "FROM states WHERE device_id = ?1 AND t >= ?2 AND t <= ?3 ORDER BY "
	    "t LIMIT 100", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, dev);
		sqlite3_bind_int64(st, 2, t - REPORT_STATES_US);
		sqlite3_bind_int64(st, 3, t + 1000000);
		while (sqlite3_step(st) == SQLITE_ROW) {
			json_object *r = json_object_new_object();

			add_col(r, "t", st, 0);
			add_col(r, "state", st, 1);
			add_col(r, "prev", st, 2);
			add_col(r, "heartbeat", st, 3);
			json_object_array_add(states, r);
		}
		sqlite3_finalize(st);
	}
	o = json_object_new_object();
	json_object_object_add(o, "crash", crash);
	json_object_object_add(o, "states", states);
	json_object_object_add(o, "window_us",
	    json_object_new_int64(REPORT_WINDOW_US));
	json_object_object_add(o, "step_us", json_object_new_int64(REPORT_STEP_US));
	json_object_object_add(o, "counters", report_counters(h, dev, t));
	json_object_object_add(o, "region_diff", region_diff(h, id, dev, t));
	json_object_object_add(o, "symbols", report_symbols(h, crash));
	api_json(a, 200, o);
}

/*
 * The dump of a crash: the shared region (which holds core 1's stack) as
 * the agent froze it and sent it (verified by its SHA-256).  format=raw (the bytes), elf (an
 * ELF core file for Xtensa GDB) or json (a report of registers and
 * regions).
 */
static void
get_crash_dump(struct http *h, struct MHD_Connection *c, int64_t id,
    struct api_reply *a)
{
	struct daemon *d = http_daemon(h);
	const char *fmt = MHD_lookup_connection_value(c,
	    MHD_GET_ARGUMENT_KIND, "format");
	struct core_regs regs;
	struct core_region rg;
	uint8_t key[BLOB_KEY_LEN];
	char hexkey[BLOB_HEX_LEN] = "";
	sqlite3_stmt *st;
	uint32_t base = 0, sp = 0;
	void *p;
	size_t n;
	int rc;
	bool crash = false;

	if (fmt == NULL)
		fmt = "raw";
	if (strcmp(fmt, "raw") && strcmp(fmt, "elf") && strcmp(fmt, "json")) {
		api_error(a, 400, "bad_parameter", "format: '%.20s' is not raw, "
		    "elf or json", fmt);
		return;
	}
	memset(&regs, 0, sizeof(regs));
	if (sqlite3_prepare_v2(http_db(h), "SELECT c.pc, c.sp, c.ps, c.ar, "
	    "c.dump_key, b.region_base FROM crashes c JOIN boots b ON "
	    "b.id = c.boot_id WHERE c.id = ?", -1, &st, NULL) != SQLITE_OK) {
		api_error(a, 500, "database", "%s", sqlite3_errmsg(http_db(h)));
		return;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const uint8_t *ar = sqlite3_column_blob(st, 3);

		crash = true;
		regs.pc = (uint32_t)sqlite3_column_int64(st, 0);
		sp = (uint32_t)sqlite3_column_int64(st, 1);
		regs.ps = (uint32_t)sqlite3_column_int64(st, 2);
		if (ar != NULL && sqlite3_column_bytes(st, 3) == 64)
			for (int i = 0; i < 16; i++)
				regs.ar[i] = le32_get(ar + 4 * i);
		if (sqlite3_column_text(st, 4) != NULL)
			snprintf(hexkey, sizeof(hexkey), "%s",
			    (const char *)sqlite3_column_text(st, 4));
		base = (uint32_t)sqlite3_column_int64(st, 5);
	}
	sqlite3_finalize(st);
	if (!crash) {
		api_error(a, 404, "not_found", "no crash %" PRId64, id);
		return;
	}
	if (blob_key_parse(hexkey, key) < 0) {
		api_error(a, 404, "not_found", "the dump of crash %" PRId64
		    " is not here (yet)", id);
		return;
	}
	pthread_mutex_lock(&d->blobs_mu);
	rc = blobs_get(d->blobs, key, &p, &n);
	pthread_mutex_unlock(&d->blobs_mu);
	if (rc < 0) {
		api_error(a, 500, "blob_missing", "dump %s is not in the blob "
		    "store: %s", hexkey, strerror(errno));
		return;
	}
	/* The faulting window is window 0: a0..a15 are ar[0..15]. */
	regs.ar[1] = sp != 0 ? sp : regs.ar[1];
	regs.windowstart = 1;
	regs.signal = 6;			/* SIGABRT: a panic */
	a->status = 200;
	a->filename_id = id;
	if (strcmp(fmt, "raw") == 0) {
		a->body = p;
		a->len = n;
		a->type = "application/octet-stream";
		a->filename_ext = "region.bin";
	} else if (strcmp(fmt, "elf") == 0) {
		rg = (struct core_region){ base, p, (uint32_t)n };
		a->body = (char *)coredump_elf(&regs, &rg, 1, &a->len);
		free(p);
		a->type = "application/x-elf";	/* an ELF core file */
		a->filename_ext = "core.elf";
		if (a->body == NULL)
			api_error(a, 500, "out_of_memory", "no memory");
	} else {
		json_object *o = json_object_new_object(), *arr, *rgo, *rga;
		char *sha = hexkey;

		json_object_object_add(o, "crash", json_object_new_int64(id));
		json_object_object_add(o, "pc", json_object_new_int64(regs.pc));
		json_object_object_add(o, "ps", json_object_new_int64(regs.ps));
		json_object_object_add(o, "sp", json_object_new_int64(sp));
		arr = json_object_new_array();
		for (int i = 0; i < 16; i++)
			json_object_array_add(arr,
			    json_object_new_int64(regs.ar[i]));
		json_object_object_add(o, "a", arr);
		rga = json_object_new_array();
		rgo = json_object_new_object();
		json_object_object_add(rgo, "address",
		    json_object_new_int64(base));
		json_object_object_add(rgo, "size",
		    json_object_new_int64((int64_t)n));
		json_object_object_add(rgo, "sha256",
		    jv_string(sha));
		json_object_array_add(rga, rgo);
		json_object_object_add(o, "regions", rga);
		free(p);
		a->filename_id = 0;
		api_json(a, 200, o);
	}
}

static void
post_control(struct http *h, int64_t dev, const char *what,
    const char *body, size_t len, struct api_reply *a)
{
	struct live *l = &http_daemon(h)->live;
	struct command cmd = { .device = dev };
	struct live_device *d;
	bool connected;
	json_object *o;

	if (!strcmp(what, "restart"))
		cmd.cmd = AC_CMD_RESTART_CORE1;
	else if (!strcmp(what, "snapshot"))
		cmd.cmd = AC_CMD_SNAPSHOT;
	else if (!strcmp(what, "rate")) {
		enum json_tokener_error jerr;
		json_object *j = len ? json_tokener_parse_verbose(body, &jerr) :
		    NULL, *hz;

		if (j == NULL) {
			api_error(a, 400, "bad_json", "the body must be JSON "
			    "like {\"hz\": 1000}%s%s", len ? ": " : "",
			    len ? json_tokener_error_desc(jerr) : "");
			return;
		}
		if (!json_object_is_type(j, json_type_object) ||
		    !json_object_object_get_ex(j, "hz", &hz) ||
		    !json_object_is_type(hz, json_type_int) ||
		    json_object_get_int64(hz) < AC_RATE_MIN ||
		    json_object_get_int64(hz) > AC_RATE_MAX) {
			json_object_put(j);
			api_error(a, 400, "bad_parameter", "hz must be an "
			    "integer from %u to %u", AC_RATE_MIN, AC_RATE_MAX);
			return;
		}
		cmd.cmd = AC_CMD_SET_RATE;
		cmd.arg0 = (uint32_t)json_object_get_int64(hz);
		json_object_put(j);
	} else if (!strcmp(what, "restart-policy")) {
		enum json_tokener_error jerr;
		json_object *j = len ? json_tokener_parse_verbose(body, &jerr) :
		    NULL, *pol, *max;
		const char *p = NULL;
		int64_t n = 0;

		if (j != NULL && json_object_is_type(j, json_type_object) &&
		    json_object_object_get_ex(j, "policy", &pol) &&
		    json_object_is_type(pol, json_type_string))
			p = json_object_get_string(pol);
		if (j != NULL && json_object_object_get_ex(j, "max", &max) &&
		    json_object_is_type(max, json_type_int))
			n = json_object_get_int64(max);
		if (p != NULL && !strcmp(p, "never"))
			cmd.arg0 = AC_RESTART_NEVER;
		else if (p != NULL && !strcmp(p, "always"))
			cmd.arg0 = AC_RESTART_ALWAYS;
		else if (p != NULL && !strcmp(p, "limit") && n >= 1 &&
		    n <= AC_RESTART_MAX) {
			cmd.arg0 = AC_RESTART_LIMIT;
			cmd.arg1 = (uint32_t)n;
		} else {
			json_object_put(j);
			api_error(a, 400, j == NULL && len ? "bad_json" :
			    "bad_parameter", "the body must be {\"policy\": "
			    "\"never\"}, {\"policy\": \"always\"} or "
			    "{\"policy\": \"limit\", \"max\": 1..%u}",
			    AC_RESTART_MAX);
			return;
		}
		json_object_put(j);
		cmd.cmd = AC_CMD_SET_RESTART;
	} else {
		api_error(a, 404, "not_found", "no action '%.40s'", what);
		return;
	}
	pthread_mutex_lock(&l->mu);
	d = live_device_find(l, dev);
	connected = d != NULL && d->connected;
	pthread_mutex_unlock(&l->mu);
	if (!connected) {
		if (!device_exists(h, dev))
			api_error(a, 404, "not_found", "no device %" PRId64, dev);
		else
			api_error(a, 409, "not_connected", "device %" PRId64
			    " is not connected", dev);
		return;
	}
	if (!http_queue_command(h, &cmd)) {
		api_error(a, 503, "busy", "too many commands queued");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "device", json_object_new_int64(dev));
	json_object_object_add(o, "command",
	    jv_string(ac_cmd_name(cmd.cmd)));
	json_object_object_add(o, "queued", json_object_new_boolean(1));
	api_json(a, 202, o);
}

/* "/api/v1/devices/12/logs" -> 12, "logs"; strict digits. */
static int
parse_id(const char *p, int64_t *id, const char **rest)
{
	char *end;
	long long v;

	if (*p < '1' || *p > '9')
		return -1;
	errno = 0;
	v = strtoll(p, &end, 10);
	if (errno != 0 || v <= 0 || (*end != '/' && *end != '\0'))
		return -1;
	*id = v;
	*rest = end;
	return 0;
}

/*
 * GET /api/v1/query?sql=: one read-only SQL statement on the HTTP
 * thread's own read-only connection (values at most HTTP_VALUE_MAX, sorts
 * in memory).  An authorizer admits reading and an allow-list of
 * functions (nothing that returns pointers, touches files or makes big
 * values on purpose); a progress handler ends the statement when it has
 * run [http] query_timeout or grown SQLite's memory by [http]
 * query_memory; the answer is capped in rows and in bytes as it is built.
 */
#define QUERY_ROWS_MAX		10000
#define QUERY_BYTES_MAX		(8 << 20)
#define QUERY_VALUE_COST	48	/* a JSON value's own memory */

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* SQLite's core, date, math, JSON and window functions that only compute
 * (sorted, for bsearch).  Values are bounded by HTTP_VALUE_MAX; printf
 * and format are left out: a width of 2^31 runs for seconds inside one
 * call, where no deadline reaches. */
static bool
query_function_allowed(const char *name)
{
	static const char *const allowed[] = {
		"abs", "acos", "acosh", "asin", "asinh", "atan", "atan2",
		"atanh", "avg", "ceil", "ceiling", "char", "coalesce", "cos",
		"cosh", "count", "cume_dist", "date", "datetime", "degrees",
		"dense_rank", "exp", "first_value", "floor", "glob",
		"group_concat", "hex", "ifnull", "iif", "instr", "json",
		"json_array", "json_array_length", "json_extract",
		"json_group_array", "json_group_object", "json_object",
		"json_quote", "json_type", "json_valid", "julianday", "lag",
		"last_value", "lead", "length", "like", "likelihood", "likely",
		"ln", "log", "log10", "log2", "lower", "ltrim", "max", "min",
		"mod", "nth_value", "ntile", "nullif", "percent_rank", "pi",
		"pow", "power", "quote", "radians", "random", "randomblob",
		"rank", "replace", "round", "row_number", "rtrim", "sign", "sin",
		"sinh", "sqrt", "strftime", "string_agg", "substr",
		"substring", "sum", "tan", "tanh", "time", "total", "trim",
		"trunc", "typeof", "unhex", "unicode", "unixepoch", "unlikely",
		"upper", "zeroblob",
	};
	char lower[32];
	size_t n = strlen(name);

	if (n >= sizeof(lower))
		return false;
	for (size_t i = 0; i <= n; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	name = lower;
	return bsearch(&name, allowed, sizeof(allowed) / sizeof(allowed[0]),
	    sizeof(allowed[0]), name_cmp) != NULL;
}

static int
query_authorize(void *arg, int action, const char *a1, const char *a2,
    const char *a3, const char *a4)
{
	(void)arg; (void)a1; (void)a3; (void)a4;
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_FUNCTION:
		return a2 != NULL && query_function_allowed(a2) ? SQLITE_OK :
		    SQLITE_DENY;
	default:
		return SQLITE_DENY;
	}
}

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One statement's bounds, checked every few virtual-machine steps. */
struct query_guard {
	int64_t deadline;		/* monotonic us */
	int64_t mem_limit;		/* sqlite3_memory_used() at most */
	enum { Q_RUNNING, Q_TIMEOUT, Q_MEMORY } why;
};

static int
query_progress(void *arg)
{
	struct query_guard *g = arg;

	if (mono_us() > g->deadline)
		g->why = Q_TIMEOUT;
	else if (sqlite3_memory_used() > g->mem_limit)
		g->why = Q_MEMORY;
	return g->why != Q_RUNNING;
}

/* Prepares sql as one reading statement, or answers why not. */
static sqlite3_stmt *
query_prepare(sqlite3 *db, const char *sql, struct api_reply *a)
{
	sqlite3_stmt *st = NULL;
	const char *tail;
	int rc;

	sqlite3_set_authorizer(db, query_authorize, NULL);
	rc = sqlite3_prepare_v2(db, sql, -1, &st, &tail);
	sqlite3_set_authorizer(db, NULL, NULL);
	if (rc != SQLITE_OK || st == NULL) {
		api_error(a, 400, "bad_query", "%s", rc == SQLITE_AUTH ?
		    "only reading, with SQLite's computing functions, is "
		    "allowed (docs/queries.md)" : rc != SQLITE_OK ?
		    sqlite3_errmsg(db) : "sql: no statement");
		sqlite3_finalize(st);
		return NULL;
	}
	tail += strspn(tail, " \t\r\n;");
	if (*tail != '\0' || !sqlite3_stmt_readonly(st)) {
		api_error(a, 400, "bad_query", *tail != '\0' ? "one statement "
		    "at a time" : "only reading is allowed (SELECT, WITH)");
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

/* The rows of st, bounded by limit, the byte cap and the guard; false
 * (and the error answered) when the statement failed or was stopped. */
static bool
query_rows(sqlite3 *db, sqlite3_stmt *st, int64_t limit, json_object *rows,
    bool *truncated, struct query_guard *g, const struct config *cfg,
    struct api_reply *a)
{
	int ncol = sqlite3_column_count(st), rc;
	size_t bytes = 0;

	sqlite3_progress_handler(db, 16, query_progress, g);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_object *r;

		if ((int64_t)json_object_array_length(rows) >= limit) {
			*truncated = true;
			break;
		}
		r = json_object_new_array_ext(ncol);
		json_object_array_add(rows, r);
		for (int i = 0; i < ncol && !*truncated; i++) {
			json_object_array_add(r, query_value(st, i, &bytes));
			bytes += QUERY_VALUE_COST;
			*truncated = bytes > QUERY_BYTES_MAX;
		}
		if (*truncated) {
			/* The row cut short goes. */
			json_object_array_del_idx(rows,
			    json_object_array_length(rows) - 1, 1);
			break;
		}
	}
	sqlite3_progress_handler(db, 0, NULL, NULL);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return true;
	if (g->why == Q_TIMEOUT)
		api_error(a, 400, "query_timeout", "the query ran past %.1f s; "
		    "narrow it (WHERE t > ..., LIMIT)",
		    (double)cfg->query_timeout_us / 1e6);
	else if (g->why == Q_MEMORY)
		api_error(a, 400, "query_memory", "the query needed more than "
		    "%llu MiB; narrow it (WHERE t > ..., LIMIT)",
		    (unsigned long long)(cfg->query_memory >> 20));
	else
		api_error(a, 400, "bad_query", "%s", sqlite3_errmsg(db));
	return false;
}

static atomic_int queries_running;

static void get_query_run(sqlite3 *, const char *sql, int64_t limit,
    const struct config *, struct api_reply *);

static void
get_query(struct http *h, struct MHD_Connection *c, struct api_reply *a)
{
	const char *sql = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "sql");
	const struct config *cfg = http_cfg(h);
	sqlite3 *db = http_db(h);
	int64_t limit;

	if (query_i64(c, "limit", 1, QUERY_ROWS_MAX, 1000, &limit, a) < 0)
		return;
	if (sql == NULL || sql[strspn(sql, " \t\r\n")] == '\0') {
		api_error(a, 400, "bad_parameter", "sql: one SELECT statement");
		return;
	}
	/* At most HTTP_QUERIES_MAX run at once, so threads stay free for
	 * everything else. */
	if (atomic_fetch_add(&queries_running, 1) >= HTTP_QUERIES_MAX) {
		atomic_fetch_sub(&queries_running, 1);
		api_error(a, 503, "busy", "%d queries are running; try again "
		    "in a moment", HTTP_QUERIES_MAX);
		return;
	}
	get_query_run(db, sql, limit, cfg, a);
	atomic_fetch_sub(&queries_running, 1);
}

static void
get_query_run(sqlite3 *db, const char *sql, int64_t limit,
    const struct config *cfg, struct api_reply *a)
{
	sqlite3_stmt *st;
	json_object *o, *cols, *rows;
	struct query_guard g = { 0 };
	bool truncated = false;

	if ((st = query_prepare(db, sql, a)) == NULL)
		return;
	cols = json_object_new_array();
	for (int i = 0; i < sqlite3_column_count(st); i++)
		json_object_array_add(cols, jv_string(
		    sqlite3_column_name(st, i)));
	rows = json_object_new_array();
	g.deadline = mono_us() + (int64_t)cfg->query_timeout_us;
	g.mem_limit = sqlite3_memory_used() + (int64_t)cfg->query_memory;
	if (!query_rows(db, st, limit, rows, &truncated, &g, cfg, a)) {
		json_object_put(cols);
		json_object_put(rows);
		sqlite3_finalize(st);
		return;
	}
	sqlite3_finalize(st);
	o = json_object_new_object();
	json_object_object_add(o, "columns", cols);
	json_object_object_add(o, "rows", rows);
	json_object_object_add(o, "truncated", json_object_new_boolean(
	    truncated));
	api_json(a, 200, o);
}

void
api_handle(struct http *h, const char *method, const char *url,
    struct MHD_Connection *c, const char *body, size_t len,
    bool authorized, struct api_reply *a)
{
	bool get = strcmp(method, "GET") == 0, post = !strcmp(method, "POST");
	const char *rest;
	int64_t id, idx;

	if (strncmp(url, "/api/v1/", 8) != 0) {
		api_error(a, 404, "not_found", "the API lives under /api/v1/");
		return;
	}
	url += 7;
	if (http_db(h) == NULL) {
		api_error(a, 503, "unavailable", "the database cannot be read "
		    "now");
		return;
	}
	if (strcmp(url, "/devices") == 0) {
		if (!get)
			goto method;
		get_devices(h, a);
		return;
	}
	if (strcmp(url, "/query") == 0) {
		if (!get)
			goto method;
		get_query(h, c, a);
		return;
	}
	if (strcmp(url, "/crashes") == 0) {
		if (!get)
			goto method;
		get_crashes(h, c, a);
		return;
	}
	if (strcmp(url, "/images") == 0) {
		if (get)
			get_images(h, a);
		else if (!post)
			goto method;
		else if (!authorized)
			goto unauthorized;
		else
			post_image(h, c, body, len, a);
		return;
	}
	if (strncmp(url, "/crashes/", 9) == 0) {
		if (parse_id(url + 9, &id, &rest) < 0 ||
		    (*rest != '\0' && strcmp(rest, "/dump") != 0 &&
		    strcmp(rest, "/report") != 0))
			goto notfound;
		if (!get)
			goto method;
		if (*rest == '\0')
			get_crash(h, id, a);
		else if (strcmp(rest, "/report") == 0)
			get_crash_report(h, id, a);
		else
			get_crash_dump(h, c, id, a);
		return;
	}
	if (strncmp(url, "/devices/", 9) != 0 ||
	    parse_id(url + 9, &id, &rest) < 0)
		goto notfound;
	if (*rest == '\0') {
		if (!get)
			goto method;
		get_device(h, id, a);
		return;
	}
	if (post) {
		if (!authorized)
			goto unauthorized;
		if (strcmp(rest, "/restart") && strcmp(rest, "/rate") &&
		    strcmp(rest, "/snapshot") && strcmp(rest, "/restart-policy"))
			goto notfound;
		post_control(h, id, rest + 1, body, len, a);
		return;
	}
	if (!get)
		goto method;
	if (strcmp(rest, "/events") == 0)
		get_rows(h, c, id, false, a);
	else if (strcmp(rest, "/logs") == 0)
		get_rows(h, c, id, true, a);
	else if (strcmp(rest, "/snapshot") == 0)
		get_snapshot(h, c, id, a);
	else if (strncmp(rest, "/counters/", 10) == 0) {
		char *end;

		errno = 0;
		idx = strtoll(rest + 10, &end, 10);
		if (rest[10] < '0' || rest[10] > '9' || errno != 0 ||
		    idx >= AC_MAX_COUNTERS || strcmp(end, "/history") != 0)
			goto notfound;
		get_history(h, c, id, idx, a);
	} else
		goto notfound;
	return;
notfound:
	api_error(a, 404, "not_found", "no such resource");
	return;
unauthorized:
	api_error(a, 401, "unauthorized", "control needs 'Authorization: "
	    "Bearer <token>'; the token is in the daemon's state directory, "
	    "file api-token");
	return;
method:
	api_error(a, 405, "method_not_allowed", "%s is not allowed here",
	    method);
}

/* ---- /metrics ---- */

struct buf {
	char *p;
	size_t len, cap;
	bool failed;			/* out of memory: the rest is lost */
};

static void
bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf,
    2, 3)));

static void
bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = b->cap * 2 + (size_t)n;
			char *grown = b->failed ? NULL : realloc(b->p, cap);

			if (grown == NULL) {	/* out of memory: said later */
				b->failed = true;
				return;
			}
			b->p = grown;
			b->cap = cap;
		}
	}
}

/* Label values: backslash, quote and newline escaped. */
static const char *
esc(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	for (; *s != '\0' && n + 3 < cap; s++) {
		if (*s == '\\' || *s == '"')
			out[n++] = '\\', out[n++] = *s;
		else if (*s == '\n')
			out[n++] = '\\', out[n++] = 'n';
		else
			out[n++] = *s;
	}
	out[n] = '\0';
	return out;
}

void
api_metrics(struct http *h, struct api_reply *a)
{
	struct daemon *d = http_daemon(h);
	struct live *l = &d->live;
	struct buf b = { malloc(16384), 0, 16384, false };
	char dn[160], cn[96], un[32];
	unsigned clients = 0;
	uint64_t rows_lost, samples_lost, blobs_removed, tracked, forgotten;

	if (b.p == NULL) {
		api_error(a, 503, "unavailable", "out of memory");
		return;
	}
	pthread_mutex_lock(&l->mu);
	bprintf(&b, "# HELP appcore_counter_value Latest value of a core-1 "
	    "counter.\n# TYPE appcore_counter_value gauge\n");
	for (int i = 0; i < l->ndev; i++)
		for (uint32_t k = 0; k < l->dev[i].ncols; k++)
			bprintf(&b, "appcore_counter_value{device=\"%s\","
			    "counter=\"%s\",unit=\"%s\"} %" PRId64 "\n",
			    esc(l->dev[i].name, dn, sizeof(dn)),
			    esc(l->dev[i].c[k].name, cn, sizeof(cn)),
			    esc(l->dev[i].c[k].unit, un, sizeof(un)),
			    l->dev[i].c[k].value);
	bprintf(&b, "# HELP appcore_counter_rate Change of a counter per "
	    "second, over the last second.\n# TYPE appcore_counter_rate "
	    "gauge\n");
	for (int i = 0; i < l->ndev; i++)
		for (uint32_t k = 0; k < l->dev[i].ncols; k++)
			if (l->dev[i].c[k].kind == AC_KIND_COUNTER)
				bprintf(&b, "appcore_counter_rate{device=\"%s\","
				    "counter=\"%s\"} %.3f\n",
				    esc(l->dev[i].name, dn, sizeof(dn)),
				    esc(l->dev[i].c[k].name, cn, sizeof(cn)),
				    l->dev[i].c[k].rate);
	bprintf(&b, "# HELP appcore_device_connected Whether the board's "
	    "link is up.\n# TYPE appcore_device_connected gauge\n");
	for (int i = 0; i < l->ndev; i++)
		bprintf(&b, "appcore_device_connected{device=\"%s\"} %d\n",
		    esc(l->dev[i].name, dn, sizeof(dn)), l->dev[i].connected);
	bprintf(&b, "# HELP appcore_core1_state Core 1's state (1 for the "
	    "current one).\n# TYPE appcore_core1_state gauge\n");
	for (int i = 0; i < l->ndev; i++)
		for (unsigned s = 0; s < AC_STATE_COUNT; s++)
			bprintf(&b, "appcore_core1_state{device=\"%s\",state="
			    "\"%s\"} %d\n", esc(l->dev[i].name, dn, sizeof(dn)),
			    ac_state_name(s), l->dev[i].state == s);
	bprintf(&b, "# HELP appcore_core1_heartbeats_total Core 1's heartbeat "
	    "count.\n# TYPE appcore_core1_heartbeats_total counter\n");
	for (int i = 0; i < l->ndev; i++)
		bprintf(&b, "appcore_core1_heartbeats_total{device=\"%s\"} %u\n",
		    esc(l->dev[i].name, dn, sizeof(dn)), l->dev[i].heartbeat);
#define LINK(metric, help, field)					\
	bprintf(&b, "# HELP appcore_link_" metric " " help "\n# TYPE "	\
	    "appcore_link_" metric " counter\n");			\
	for (int i = 0; i < l->ndev; i++)				\
		bprintf(&b, "appcore_link_" metric "{device=\"%s\"} %" PRIu64 \
		    "\n", esc(l->dev[i].name, dn, sizeof(dn)),		\
		    (uint64_t)l->dev[i].field);
	LINK("rx_bytes_total", "Bytes received from the agent.",
	    health.rx_bytes)
	LINK("frames_total", "Good frames received.", health.frames)
	LINK("crc_errors_total", "Frames that failed their CRC.",
	    health.crc_errors)
	LINK("framing_errors_total", "Frames that did not decode.",
	    health.framing_errors)
	LINK("frames_lost_total", "Frames missing from the sequence.",
	    health.frames_lost)
	LINK("samples_lost_total", "Samples of the current boot produced "
	    "and not stored.", health.samples_lost)
	LINK("samples_produced_total", "Samples of the current boot the "
	    "agent produced, as far as the host knows.",
	    health.samples_produced)
	LINK("samples_stored_total", "Samples of the current boot stored.",
	    health.samples_stored)
	LINK("samples_duplicate_total", "Samples received a second time "
	    "(replayed frames), not stored again.", health.samples_dup)
	LINK("frames_duplicate_total", "Frames received a second time.",
	    health.frames_dup)
	LINK("frames_stale_total", "Frames too old to place, ignored.",
	    health.frames_stale)
	LINK("samples_unattributed_total", "Samples that arrived before "
	    "their boot's HELLO.", health.samples_unattributed)
	LINK("agent_samples_dropped_total", "Samples the agent had to drop.",
	    health.agent.samples_dropped)
#undef LINK
	for (struct live_client *cl = l->clients; cl != NULL; cl = cl->next)
		clients++;
	bprintf(&b, "# HELP appcored_samples_stored_total Samples committed to "
	    "the database.\n# TYPE appcored_samples_stored_total counter\n"
	    "appcored_samples_stored_total %" PRIu64 "\n"
	    "# HELP appcored_commit_failures_total Database commits that "
	    "failed.\n# TYPE appcored_commit_failures_total counter\n"
	    "appcored_commit_failures_total %" PRIu64 "\n"
	    "# HELP appcored_writes_paused Whether database writes are "
	    "failing now.\n# TYPE appcored_writes_paused gauge\n"
	    "appcored_writes_paused %d\n"
	    "# HELP appcored_queued_rows Rows waiting to be written.\n"
	    "# TYPE appcored_queued_rows gauge\nappcored_queued_rows %" PRIu64
	    "\n# HELP appcored_database_bytes Used bytes of the database.\n"
	    "# TYPE appcored_database_bytes gauge\nappcored_database_bytes %"
	    PRIu64 "\n# HELP appcored_stream_clients Live stream clients.\n"
	    "# TYPE appcored_stream_clients gauge\nappcored_stream_clients %u\n"
	    "# HELP appcored_stream_clients_dropped_total Stream clients "
	    "dropped for falling behind.\n# TYPE "
	    "appcored_stream_clients_dropped_total counter\n"
	    "appcored_stream_clients_dropped_total %" PRIu64 "\n"
	    "# HELP appcored_uptime_seconds Seconds since appcored started.\n"
	    "# TYPE appcored_uptime_seconds gauge\nappcored_uptime_seconds "
	    "%.1f\n", l->store.samples_written, l->store.commit_failures,
	    l->store.paused, l->store.queued, l->store.db_bytes, clients,
	    l->clients_dropped, (double)(now_wall_us() - l->started) / 1e6);
	rows_lost = l->store.rows_lost;
	samples_lost = l->store.samples_lost;
	blobs_removed = l->store.blobs_removed;
	tracked = l->store.devices_tracked;
	forgotten = l->store.devices_forgotten;
	pthread_mutex_unlock(&l->mu);
	bprintf(&b, "# HELP appcored_rows_lost_total History rows (events, "
	    "logs, states, roll-ups) dropped because the write queue was full "
	    "while database writes failed.\n# TYPE appcored_rows_lost_total "
	    "counter\nappcored_rows_lost_total %" PRIu64 "\n# HELP "
	    "appcored_samples_lost_total Samples dropped the same way.\n"
	    "# TYPE appcored_samples_lost_total counter\n"
	    "appcored_samples_lost_total %" PRIu64 "\n# HELP "
	    "appcored_blobs_removed_total Blobs no row referred to any more, "
	    "removed.\n# TYPE appcored_blobs_removed_total counter\n"
	    "appcored_blobs_removed_total %" PRIu64 "\n# HELP "
	    "appcored_devices_tracked Boards held in memory (at most %d).\n"
	    "# TYPE appcored_devices_tracked gauge\nappcored_devices_tracked %"
	    PRIu64 "\n# HELP appcored_devices_forgotten_total Unlinked boards "
	    "dropped from memory to make room.\n# TYPE "
	    "appcored_devices_forgotten_total counter\n"
	    "appcored_devices_forgotten_total %" PRIu64 "\n", rows_lost,
	    samples_lost, blobs_removed, DEVICES_MAX, tracked, forgotten);
	{
		uint64_t cut, refused;

		http_edge_counts(h, &cut, &refused);
		bprintf(&b, "# HELP appcored_http_late_heads_total Connections "
		    "shut down for not sending a request head within 10 s.\n"
		    "# TYPE appcored_http_late_heads_total counter\n"
		    "appcored_http_late_heads_total %" PRIu64 "\n# HELP "
		    "appcored_http_refused_total Connections refused to keep "
		    "room for other clients.\n# TYPE appcored_http_refused_total "
		    "counter\nappcored_http_refused_total %" PRIu64 "\n", cut,
		    refused);
	}
	bprintf(&b, "# HELP appcored_live_reads_waiting Live memory reads "
	    "waiting for the agent's answer.\n# TYPE "
	    "appcored_live_reads_waiting gauge\nappcored_live_reads_waiting "
	    "%u\n", http_reads_waiting(h));
	if (b.failed) {
		free(b.p);
		api_error(a, 503, "unavailable", "out of memory");
		return;
	}
	a->status = 200;
	a->body = b.p;
	a->len = b.len;
	a->type = "text/plain; version=0.0.4; charset=utf-8";
}
