/*
 * appcored's HTTP side: the server (http.c, its own threads) and the API
 * it serves (api*.c).  It reads the database through each thread's own
 * SQLite connections, and everything else through the bridge (bridge.h):
 * it never sees the ingest thread's links, devices, store or blob file.
 */
#ifndef APPCORE_HTTP_H
#define APPCORE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge.h"
#include "config.h"
#include "wallclock.h"

#define HTTP_BODY_MAX		(64 * 1024)
#define HTTP_CONN_MAX		256
#define HTTP_THREADS		4	/* per listener */
#define HTTP_PARAMS_MAX		64	/* query parameters of one request */
#define HTTP_QUERIES_MAX	1	/* /query statements running at once:
					 * a core stays free for the rest */
#define HTTP_PER_IP_MAX		64
#define HTTP_TIMEOUT_S		30
#define HTTP_MEMORY		(32 * 1024)	/* per connection: headers */
#define HTTP_VALUE_MAX		(1 << 20)	/* one SQL value an HTTP read sees */

struct http;
struct sqlite3;
struct MHD_Connection;
struct json_object;

/* What the HTTP side is given: cfg is copied (a reload on the ingest
 * side does not change it), token and web_root too. */
struct http *http_start(const struct config *cfg, struct bridge *,
    const char *token, const char *web_root, char *err, size_t errlen);
/* A clean stop: the bridge stops (live reads answered), then the
 * servers. */
void http_stop(struct http *);
/* Who sent a request: the client's address and user agent. */
void http_client_name(struct MHD_Connection *, char *buf, size_t n);
/* The token's file, as 401 answers name it. */
const char *http_token_path(const struct http *);
uint16_t http_port(const struct http *);

/* ---- api.c: /api/v1 and /metrics ---- */

struct api_reply {
	int status;
	char *body;			/* malloc'd */
	size_t len;
	const char *type;
	int64_t filename_id;		/* a crash dump: download as a file */
	const char *filename_ext;
	uint64_t query;			/* not yet: the query thread's slot
					 * (query_thread.h) answers later */
};
void api_handle(struct http *, const char *method, const char *url,
    struct MHD_Connection *, const char *body, size_t len, bool authorized,
    struct api_reply *);
void api_metrics(struct http *, struct api_reply *);
/* The reply is o as JSON; o is released. */
void api_json(struct api_reply *, int status, struct json_object *o);
void api_error(struct api_reply *, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- http.c's parts the API uses ---- */

/* The configuration HTTP started with. */
const struct config *http_cfg(const struct http *);
struct bridge *http_bridge(struct http *);
/* This thread's read-only and read-write connections. */
struct sqlite3 *http_db(struct http *);
struct sqlite3 *http_db_rw(struct http *);
/* Connections the edge shut down (late heads) and refused (fairness). */
void http_edge_counts(struct http *, uint64_t *cut, uint64_t *refused);

#endif
