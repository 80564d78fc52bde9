/*
 * The JSON API, v1 (docs/api.md, web/openapi.json): one route table and
 * the helpers every resource uses; the resources are in api_devices.c,
 * api_crashes.c, api_query.c and api_metrics.c.  HTTP threads: live state
 * under the live mutex, history from the thread's own read-only SQLite
 * connection, blobs under their mutex.
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
#include "jsonv.h"
#include "le.h"
#include "log.h"
#include "symbols.h"

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
int
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

json_object *
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
void
add_col(json_object *o, const char *k, sqlite3_stmt *st, int i)
{
	size_t n = 0;

	json_object_object_add(o, k, query_value(st, i, &n));
}

/* Buckets of step ?4 us of counter ?1's raw samples in [?2, ?3). */
/* The rows of a bucket query (t, min, max, mean, count) as points
 * [t, min, max, mean, count]; at most max of them. */
json_object *
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

const char *
kind_name(uint8_t k)
{
	return k == AC_KIND_COUNTER ? "counter" : k == AC_KIND_GAUGE ?
	    "gauge" : "unused";
}

void
blob_failed(struct api_reply *a, const char *what, const char *hexkey)
{
	int err = errno;

	if (err == ETIMEDOUT || err == EAGAIN || err == ESHUTDOWN)
		api_error(a, 503, "busy", "the blob store did not answer in "
		    "time (%s); try again", strerror(err));
	else
		api_error(a, 500, "blob_missing", "%s %s is not in the blob "
		    "store: %s", what, hexkey, strerror(err));
}

/* ---- the route table ---- */

/* One request as the handlers see it: the ids its path names. */
struct call {
	struct http *h;
	struct MHD_Connection *c;
	const char *body;
	size_t len;
	int64_t id, idx;
	const char *action;		/* the last segment of a control path */
	struct api_reply *a;
};

static void r_status(struct call *q) { get_status(q->h, q->a); }
static void r_port(struct call *q)
    { post_port(q->h, q->c, q->action, q->body, q->len, q->a); }
static void r_devices(struct call *q) { get_devices(q->h, q->a); }
static void r_device(struct call *q) { get_device(q->h, q->id, q->a); }
static void r_events(struct call *q)
    { get_rows(q->h, q->c, q->id, false, q->a); }
static void r_logs(struct call *q) { get_rows(q->h, q->c, q->id, true, q->a); }
static void r_snapshot(struct call *q)
    { get_snapshot(q->h, q->c, q->id, q->a); }
static void r_history(struct call *q)
    { get_history(q->h, q->c, q->id, q->idx, q->a); }
static void r_control(struct call *q)
    { post_control(q->h, q->c, q->id, q->action, q->body, q->len, q->a); }
static void r_crashes(struct call *q) { get_crashes(q->h, q->c, q->a); }
static void r_crash(struct call *q) { get_crash(q->h, q->id, q->a); }
static void r_report(struct call *q) { get_crash_report(q->h, q->id, q->a); }
static void r_dump(struct call *q) { get_crash_dump(q->h, q->c, q->id, q->a); }
static void r_images(struct call *q) { get_images(q->h, q->a); }
static void r_upload(struct call *q)
    { post_image(q->h, q->c, q->body, q->len, q->a); }
static void r_query(struct call *q) { get_query(q->h, q->c, q->a); }
static void r_core1(struct call *q) { get_core1(q->h, q->id, q->a); }
static void r_updates(struct call *q)
    { get_device_updates(q->h, q->id, q->a); }
static void r_update(struct call *q) { get_update(q->h, q->id, q->a); }
static void r_post_update(struct call *q)
    { post_update(q->h, q->c, q->id, q->body, q->len, q->a); }

/* Paths under /api/v1; "{id}" is a row id (digits, > 0), "{idx}" a
 * counter index. */
static const struct route {
	const char *method, *path;
	bool token;
	void (*fn)(struct call *);
} routes[] = {
	{ "GET", "/status", false, r_status },
	{ "POST", "/ports/release", true, r_port },
	{ "POST", "/ports/reclaim", true, r_port },
	{ "GET", "/devices", false, r_devices },
	{ "GET", "/devices/{id}", false, r_device },
	{ "GET", "/devices/{id}/events", false, r_events },
	{ "GET", "/devices/{id}/logs", false, r_logs },
	{ "GET", "/devices/{id}/snapshot", false, r_snapshot },
	{ "GET", "/devices/{id}/counters/{idx}/history", false, r_history },
	{ "POST", "/devices/{id}/restart", true, r_control },
	{ "POST", "/devices/{id}/rate", true, r_control },
	{ "POST", "/devices/{id}/snapshot", true, r_control },
	{ "POST", "/devices/{id}/restart-policy", true, r_control },
	{ "GET", "/devices/{id}/core1", false, r_core1 },
	{ "POST", "/devices/{id}/core1/update", true, r_post_update },
	{ "GET", "/devices/{id}/updates", false, r_updates },
	{ "GET", "/updates/{id}", false, r_update },
	{ "GET", "/crashes", false, r_crashes },
	{ "GET", "/crashes/{id}", false, r_crash },
	{ "GET", "/crashes/{id}/report", false, r_report },
	{ "GET", "/crashes/{id}/dump", false, r_dump },
	{ "GET", "/images", false, r_images },
	{ "POST", "/images", true, r_upload },
	{ "GET", "/query", false, r_query },
};

/* One path segment as a number: strict digits, no leading zero, at most
 * max; its length, or 0. */
static size_t
segment_number(const char *p, int64_t max, int64_t *out)
{
	size_t n = strspn(p, "0123456789");
	int64_t v = 0;

	if (n == 0 || (n > 1 && p[0] == '0') || n > 18 ||
	    (p[n] != '\0' && p[n] != '/'))
		return 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (p[i] - '0');
	if (v > max)
		return 0;
	*out = v;
	return n;
}

/* Whether path fits pattern, segment by segment, filling q's ids and
 * the last literal segment (the action of a control path). */
static bool
route_match(const char *pattern, const char *path, struct call *q)
{
	while (*pattern == '/' && *path == '/') {
		size_t pl, n;

		pattern++;
		path++;
		pl = strcspn(pattern, "/");
		if (pl == 4 && strncmp(pattern, "{id}", 4) == 0) {
			if ((n = segment_number(path, INT64_MAX / 2, &q->id)) ==
			    0 || q->id == 0)
				return false;
		} else if (pl == 5 && strncmp(pattern, "{idx}", 5) == 0) {
			if ((n = segment_number(path, AC_MAX_COUNTERS - 1,
			    &q->idx)) == 0)
				return false;
		} else {
			n = strcspn(path, "/");
			if (n != pl || strncmp(pattern, path, n) != 0)
				return false;
			q->action = path;
		}
		pattern += pl;
		path += n;
	}
	return *pattern == '\0' && *path == '\0';
}

void
api_handle(struct http *h, const char *method, const char *url,
    struct MHD_Connection *c, const char *body, size_t len,
    bool authorized, struct api_reply *a)
{
	struct call q = { h, c, body, len, 0, 0, NULL, a };
	bool path_known = false;

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
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!route_match(routes[i].path, url, &q))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, method) != 0)
			continue;
		if (routes[i].token && !authorized) {
			api_error(a, 401, "unauthorized", "control needs "
			    "'Authorization: Bearer <token>': the file %s on "
			    "appcored's host", http_token_path(q.h));
			return;
		}
		routes[i].fn(&q);
		return;
	}
	if (path_known)
		api_error(a, 405, "method_not_allowed", "%s is not allowed "
		    "here", method);
	else
		api_error(a, 404, "not_found", "no such resource");
}
