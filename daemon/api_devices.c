/*
 * /api/v1/devices and below: the boards, their live state, history,
 * events, logs, snapshots and control (docs/api.md).  HTTP threads.
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

#include "api_internal.h"
#include "http.h"
#include "coredump.h"
#include "hex.h"
#include "exccause.h"
#include "jsonv.h"
#include "le.h"
#include "log.h"
#include "symbols.h"

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

void
get_devices(struct http *h, struct api_reply *a)
{
	struct live *l = bridge_live(http_bridge(h));
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

bool
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

void
get_device(struct http *h, int64_t id, struct api_reply *a)
{
	struct live *l = bridge_live(http_bridge(h));
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

void
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

/*
 * The kind= filter of events: up to EVENT_KINDS_MAX kinds, comma-separated,
 * each of lower-case letters and dashes.  "" for none; NULL after
 * answering 400.
 */
#define EVENT_KINDS_MAX	8

static const char *
event_kinds(struct MHD_Connection *c, struct api_reply *a)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "kind");
	size_t len, kinds = 1;
	bool ok;

	if (v == NULL)
		return "";
	len = strlen(v);
	ok = len > 0 && len <= 32 * EVENT_KINDS_MAX && v[0] != ',' &&
	    v[len - 1] != ',';
	for (size_t i = 0; ok && i < len; i++) {
		if (v[i] == ',') {
			kinds++;
			ok = v[i + 1] != ',';
		} else
			ok = (v[i] >= 'a' && v[i] <= 'z') || v[i] == '-';
	}
	if (!ok || kinds > EVENT_KINDS_MAX) {
		api_error(a, 400, "bad_parameter", "kind must be up to %d event "
		    "kinds, comma-separated, like kind=boot,link-down",
		    EVENT_KINDS_MAX);
		return NULL;
	}
	return v;
}

/* events and logs share their shape: rows between from and to. */
/* A log row's record, and its RTT channel (docs/rtt.md). */
static void
log_extra(json_object *r, sqlite3_stmt *st)
{
	const char *ch = (const char *)sqlite3_column_text(st, 6);
	bool binary = sqlite3_column_type(st, 7) == SQLITE_BLOB;

	json_object_object_add(r, "record",
	    json_object_new_int64(sqlite3_column_int64(st, 5)));
	json_object_object_add(r, "channel", ch != NULL ? jv_string(ch) : NULL);
	json_object_object_add(r, "binary", json_object_new_boolean(binary));
}

void
get_rows(struct http *h, struct MHD_Connection *c, int64_t dev,
    bool logs, struct api_reply *a)
{
	int64_t from, to, limit;
	json_object *o, *arr;
	sqlite3_stmt *st;
	const char *kinds = "";
	const char *sql = logs ?
	    "SELECT id, t, level, text, generation, record, channel, data "
	    "FROM logs WHERE "
	    "device_id = ?1 AND t >= ?2 AND t < ?3 ORDER BY t DESC, id DESC "
	    "LIMIT ?4" :
	    "SELECT id, t, kind, detail, count FROM events WHERE device_id = "
	    "?1 AND t >= ?2 AND t < ?3 AND (?5 = '' OR instr(',' || ?5 || ',', "
	    "',' || kind || ',') > 0) ORDER BY t DESC, id DESC LIMIT ?4";

	if (query_i64(c, "from", 0, INT64_MAX / 2, 0, &from, a) < 0 ||
	    query_i64(c, "to", 0, INT64_MAX / 2, INT64_MAX / 2, &to, a) < 0 ||
	    query_i64(c, "limit", 1, LIST_MAX, 100, &limit, a) < 0 ||
	    (!logs && (kinds = event_kinds(c, a)) == NULL))
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
	if (!logs)
		sqlite3_bind_text(st, 5, kinds, -1, SQLITE_STATIC);
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
			log_extra(r, st);
		json_object_array_add(arr, r);
	}
	sqlite3_finalize(st);
	o = json_object_new_object();
	json_object_object_add(o, logs ? "logs" : "events", arr);
	api_json(a, 200, o);
}

/* A string field of the region: core 1 may have left it unterminated. */
static json_object *
region_string(const char *p, size_t cap)
{
	char buf[256];
	size_t n = strnlen(p, cap < sizeof(buf) ? cap : sizeof(buf) - 1);

	memcpy(buf, p, n);
	buf[n] = '\0';
	return jv_string(buf);
}

/* The panic record as the snapshot holds it, decoded; null when the
 * snapshot is too short.  'complete' is false while core 1 was writing
 * it (an odd seq) and for a record never written (seq 0). */
static json_object *
panic_json(const uint8_t *p, size_t n)
{
	struct ac_panic_record r;
	json_object *o;

	if (n < sizeof(struct ac_region))
		return NULL;
	memcpy(&r, p + offsetof(struct ac_region, panic), sizeof(r));
	o = json_object_new_object();
	json_object_object_add(o, "seq", json_object_new_int64(r.seq));
	json_object_object_add(o, "complete", json_object_new_boolean(
	    r.seq != 0 && r.seq % 2 == 0));
	json_object_object_add(o, "reason",
	    jv_string(ac_panic_reason_name(r.reason)));
	json_object_object_add(o, "pc", json_object_new_int64(r.pc));
	json_object_object_add(o, "sp", json_object_new_int64(r.sp));
	json_object_object_add(o, "ps", json_object_new_int64(r.ps));
	json_object_object_add(o, "exccause",
	    json_object_new_int64(r.exccause));
	json_object_object_add(o, "exccause_name",
	    jv_string(exccause_name(r.exccause)));
	json_object_object_add(o, "excvaddr",
	    json_object_new_int64(r.excvaddr));
	json_object_object_add(o, "sar", json_object_new_int64(r.sar));
	json_object_object_add(o, "line", json_object_new_int64(r.line));
	json_object_object_add(o, "bt_count",
	    json_object_new_int64(r.bt_count));
	json_object_object_add(o, "file", region_string(r.file,
	    sizeof(r.file)));
	json_object_object_add(o, "message", region_string(r.msg,
	    sizeof(r.msg)));
	return o;
}

void
get_snapshot(struct http *h, struct MHD_Connection *c, int64_t dev,
    struct api_reply *a)
{
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
	rc = bridge_blob_get(http_bridge(h), key, (void **)&p, &n);
	if (rc < 0) {
		blob_failed(a, "snapshot", hexkey);
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
	json_object_object_add(o, "panic", panic_json(p, n));
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



void
post_control(struct http *h, struct MHD_Connection *c, int64_t dev,
    const char *what, const char *body, size_t len, struct api_reply *a)
{
	struct live *l = bridge_live(http_bridge(h));
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
	http_client_name(c, cmd.who, sizeof(cmd.who));
	if (!bridge_command(http_bridge(h), &cmd)) {
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

/*
 * POST /ports/release {"port": SPEC, "seconds": 1..3600}: appcored lets
 * go of the port (to flash the board through it) and leaves it alone for
 * that long (default 120 s); POST /ports/reclaim {"port": SPEC} ends it.
 */
void
post_port(struct http *h, struct MHD_Connection *c, const char *what,
    const char *body, size_t len, struct api_reply *a)
{
	struct command cmd = { .cmd = 0 };
	bool release = strcmp(what, "release") == 0;
	json_object *j = len ? json_tokener_parse(body) : NULL, *port, *secs;
	int64_t seconds = 120;
	json_object *o;

	if (j == NULL || !json_object_is_type(j, json_type_object) ||
	    !json_object_object_get_ex(j, "port", &port) ||
	    !json_object_is_type(port, json_type_string) ||
	    json_object_get_string_len(port) == 0 ||
	    json_object_get_string_len(port) >= (int)sizeof(cmd.port)) {
		json_object_put(j);
		api_error(a, 400, "bad_parameter", "the body must be JSON like "
		    "{\"port\": \"/dev/ttyACM0\"%s}", release ?
		    ", \"seconds\": 120" : "");
		return;
	}
	if (release && json_object_object_get_ex(j, "seconds", &secs)) {
		seconds = json_object_is_type(secs, json_type_int) ?
		    json_object_get_int64(secs) : 0;
		if (seconds < 1 || seconds > 3600) {
			json_object_put(j);
			api_error(a, 400, "bad_parameter", "seconds: 1 to 3600");
			return;
		}
	}
	snprintf(cmd.port, sizeof(cmd.port), "%s", json_object_get_string(port));
	json_object_put(j);
	cmd.arg0 = release ? (uint32_t)seconds : 0;
	http_client_name(c, cmd.who, sizeof(cmd.who));
	if (!bridge_command(http_bridge(h), &cmd)) {
		api_error(a, 503, "busy", "too many commands queued");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "port", jv_string(cmd.port));
	json_object_object_add(o, "command", jv_string(release ?
	    "release" : "reclaim"));
	json_object_object_add(o, "seconds",
	    json_object_new_int64(release ? seconds : 0));
	json_object_object_add(o, "queued", json_object_new_boolean(1));
	api_json(a, 202, o);
}
