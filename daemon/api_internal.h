/*
 * What the API's resource files share (api.c holds the route table):
 * query-string parsing, SQLite values as JSON, and each resource's
 * handlers.  HTTP threads only.
 */
#ifndef APPCORE_API_INTERNAL_H
#define APPCORE_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <sqlite3.h>

struct http;
struct api_reply;
struct MHD_Connection;

#define LIST_MAX	1000
#define POINTS_MAX	10000
#define MEM_RANGE_MAX	4096
/* Raw samples of a counter in buckets: ?1 counter, ?2 from, ?3 to,
 * ?4 step. */
#define RAW_BUCKETS_SQL "SELECT t / ?4 * ?4, min(value), max(value), " \
	"avg(value), count(*) FROM samples WHERE counter_id = ?1 AND t >= ?2 " \
	"AND t < ?3 GROUP BY 1 ORDER BY 1"

/* A strict integer query parameter in [lo, hi], or dflt when absent;
 * -1 with a answered 400. */
int query_i64(struct MHD_Connection *, const char *name, int64_t lo,
    int64_t hi, int64_t dflt, int64_t *out, struct api_reply *a);
/* Column i of st as JSON (blobs as hex); *bytes grows by its size. */
json_object *query_value(sqlite3_stmt *, int i, size_t *bytes);
void add_col(json_object *, const char *k, sqlite3_stmt *, int i);
/* [t, min, max, mean, count] rows of st, at most max. */
json_object *bucket_points(sqlite3_stmt *, int max);
const char *kind_name(uint8_t kind);
/* A blob read through the bridge failed (errno): 503 when the ingest
 * thread did not answer in time, 500 when the blob is missing. */
void blob_failed(struct api_reply *, const char *what, const char *hexkey);

/* api_devices.c */
void get_devices(struct http *, struct api_reply *);
bool device_exists(struct http *, int64_t id);
void get_device(struct http *, int64_t id, struct api_reply *);
void get_history(struct http *, struct MHD_Connection *, int64_t dev,
    int64_t idx, struct api_reply *);
void get_rows(struct http *, struct MHD_Connection *, int64_t dev,
    bool logs, struct api_reply *);
void get_snapshot(struct http *, struct MHD_Connection *, int64_t dev,
    struct api_reply *);
void get_status(struct http *, struct api_reply *);
void post_port(struct http *, struct MHD_Connection *, const char *what,
    const char *body, size_t len, struct api_reply *);
void post_control(struct http *, struct MHD_Connection *, int64_t dev,
    const char *what, const char *body, size_t len, struct api_reply *);

/* api_crashes.c */
void get_crashes(struct http *, struct MHD_Connection *, struct api_reply *);
void get_crash(struct http *, int64_t id, struct api_reply *);
void get_crash_report(struct http *, int64_t id, struct api_reply *);
void get_crash_dump(struct http *, struct MHD_Connection *, int64_t id,
    struct api_reply *);
void get_images(struct http *, struct api_reply *);
void post_image(struct http *, struct MHD_Connection *, const char *body,
    size_t len, struct api_reply *);

/* api_updates.c */
void get_update(struct http *, int64_t id, struct api_reply *);
void get_device_updates(struct http *, int64_t dev, struct api_reply *);
void get_core1(struct http *, int64_t dev, struct api_reply *);
void post_update(struct http *, struct MHD_Connection *, int64_t dev,
    const char *body, size_t len, struct api_reply *);

/* api_query.c */
void get_query(struct http *, struct MHD_Connection *, struct api_reply *);

#endif
