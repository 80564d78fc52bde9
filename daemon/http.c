/*
 * The HTTP server: libmicrohttpd with one internal polling thread.
 * /api/v1/... and /metrics come from api.c; /api/v1/stream is the live
 * stream (server-sent events) served here from the live ring; everything
 * else is a static file of the web root.  The thread reads live state
 * under its mutex and history through its own read-only SQLite
 * connection; it never writes, and asks the ingest thread for control
 * commands through a queue.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>
#include <sqlite3.h>

#include "http.h"
#include "query_thread.h"
#include "samples_vtab.h"
#include "sqlprintf.h"
#include "edge.h"
#include "hex.h"
#include "jsonv.h"
#include "log.h"
#include "symbols.h"

#define SSE_BLOCK	(32 * 1024)
#define STREAM_STUCK_S	5
#define STREAM_SNDBUF	(32 * 1024)



struct http {
	struct bridge *b;
	/* The configuration as HTTP started with it: a reload replaces the
	 * daemon's on the ingest thread while these threads run. */
	struct config cfg;
	char token[65];
	char token_path[PATH_MAX + 16];	/* where it is kept, for 401s */
	bool reads_need_token;		/* listening beyond loopback */
	struct MHD_Daemon *mhd;
	struct MHD_Daemon *mhd_unix;	/* [http] socket, for appcorectl */
	struct edge *edge;		/* the TCP listener's deadlines */
	char socket_path[108];
	uint16_t port;
	char root[PATH_MAX];		/* realpath of the web root */
};

const char *
http_token_path(const struct http *h)
{
	return h->token_path;
}

struct req {
	char *body;
	size_t len, cap;
	size_t max;			/* body bytes this request may send */
	bool too_big;
	bool headers_seen;		/* the handler's first call is over */
	int reject;			/* an edge status decided early, or 0 */
	uint64_t read;			/* suspended for this live read */
	uint64_t query;			/* suspended for this query */
};

#define READ_TIMEOUT_US	3000000

static void edge_note(struct http *, struct MHD_Connection *, bool head_in);

struct bridge *
http_bridge(struct http *h)
{
	return h->b;
}

const struct config *
http_cfg(const struct http *h)
{
	return &h->cfg;
}

/*
 * Each HTTP thread owns its connections, opened on its first request and
 * closed when the thread ends: one request's authorizer, progress handler
 * or limits never touch another thread's.
 */
struct thread_db {
	sqlite3 *ro, *rw;
};

static int open_db(const struct config *, bool rw, int busy_ms, sqlite3 **,
    char *err, size_t errlen);
static pthread_key_t thread_db_key;
static pthread_once_t thread_db_once = PTHREAD_ONCE_INIT;

static void
thread_db_free(void *p)
{
	struct thread_db *t = p;

	sqlite3_close_v2(t->ro);
	sqlite3_close_v2(t->rw);
	free(t);
}

static void
thread_db_key_make(void)
{
	if (pthread_key_create(&thread_db_key, thread_db_free) != 0)
		fatal("pthread_key_create");
}

static struct thread_db *
thread_db(void)
{
	struct thread_db *t;

	(void)pthread_once(&thread_db_once, thread_db_key_make);
	if ((t = pthread_getspecific(thread_db_key)) == NULL &&
	    (t = calloc(1, sizeof(*t))) != NULL &&
	    pthread_setspecific(thread_db_key, t) != 0) {
		free(t);
		t = NULL;
	}
	return t;
}

/* Reads are bounded per value and per statement (docs/security.md). */
static void
limit_reader(sqlite3 *db)
{
	sqlite3_limit(db, SQLITE_LIMIT_LENGTH, HTTP_VALUE_MAX);
	sqlite3_limit(db, SQLITE_LIMIT_COLUMN, 256);
	sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, 64 * 1024);
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_limit(db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 1000);
	/* Sorts and temporary results in memory, where the statement's
	 * memory bound sees them, not in files. */
	(void)sqlite3_exec(db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
}

struct sqlite3 *
http_db(struct http *h)
{
	struct thread_db *t = thread_db();
	char err[700];

	if (t == NULL)
		return NULL;
	if (t->ro == NULL) {
		if (open_db(&h->cfg, false, 2000, &t->ro, err, sizeof(err)) < 0) {
			log_warnx("http: %s", err);
			sqlite3_close_v2(t->ro);
			t->ro = NULL;
			return NULL;
		}
		limit_reader(t->ro);
	}
	return t->ro;
}

struct sqlite3 *
http_db_rw(struct http *h)
{
	struct thread_db *t = thread_db();
	char err[700];

	if (t == NULL)
		return NULL;
	if (t->rw == NULL &&
	    open_db(&h->cfg, true, 5000, &t->rw, err, sizeof(err)) < 0) {
		log_warnx("http: %s", err);
		sqlite3_close_v2(t->rw);
		t->rw = NULL;
	}
	return t->rw;
}

uint16_t
http_port(const struct http *h)
{
	return h->port;
}

void
http_edge_counts(struct http *h, uint64_t *cut, uint64_t *refused)
{
	*cut = *refused = 0;
	if (h->edge != NULL)
		edge_counts(h->edge, cut, refused);
}

/* ---- responses ---- */

static void
common_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Content-Security-Policy",
	    "default-src 'self'; img-src 'self' data:; "
	    "style-src 'self' 'unsafe-inline'");
}

static enum MHD_Result
send_reply(struct MHD_Connection *c, struct api_reply *a)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(a->len,
	    a->body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (r == NULL) {
		free(a->body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", a->type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (a->filename_id > 0) {
		char cd[80];

		snprintf(cd, sizeof(cd), "attachment; filename=\"crash-%lld-"
		    "%s\"", (long long)a->filename_id, a->filename_ext);
		MHD_add_response_header(r, "Content-Disposition", cd);
	}
	if (a->status == 401)
		MHD_add_response_header(r, "WWW-Authenticate",
		    "Bearer realm=\"appcore\"");
	common_headers(r);
	ret = MHD_queue_response(c, (unsigned)a->status, r);
	MHD_destroy_response(r);
	return ret;
}

void
api_error(struct api_reply *a, int status, const char *code,
    const char *fmt, ...)
{
	char msg[512];
	json_object *o, *e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The message is ours but may quote input: well-formed UTF-8, and
	 * json-c escapes what JSON must. */
	o = json_object_new_object();
	e = json_object_new_object();
	json_object_object_add(e, "code", jv_string(code));
	json_object_object_add(e, "message", jv_string(msg));
	json_object_object_add(o, "error", e);
	api_json(a, status, o);
}

/* ---- static files ---- */

static const char *
content_type(const char *path)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".map", "application/json" },
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]);
	    i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* The URL arrives %-decoded.  No ".." segment, no backslash, no NUL, and
 * the resolved file must lie inside the root (symbolic links included). */
static int
resolve_static(struct http *h, const char *url, char *out, size_t outlen)
{
	char want[PATH_MAX + 1024];

	if (url[0] != '/' || strstr(url, "/..") != NULL ||
	    strchr(url, '\\') != NULL || strlen(url) > 512)
		return -1;
	snprintf(want, sizeof(want), "%s%s%s", h->root, url,
	    url[strlen(url) - 1] == '/' ? "index.html" : "");
	if (realpath(want, out) == NULL)
		return -1;
	if (strncmp(out, h->root, strlen(h->root)) != 0 ||
	    out[strlen(h->root)] != '/')
		return -1;
	(void)outlen;
	return 0;
}

static enum MHD_Result
serve_static(struct http *h, struct MHD_Connection *c, const char *url,
    bool head)
{
	char path[PATH_MAX], etag[64];
	const char *inm;
	struct MHD_Response *r;
	struct api_reply a = { 0 };
	struct stat st;
	enum MHD_Result ret;
	int fd;

	if (resolve_static(h, url, path, sizeof(path)) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		api_error(&a, 404, "not_found", "no such file: %s", url);
		return send_reply(c, &a);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		api_error(&a, 404, "not_found", "no such file: %s", url);
		return send_reply(c, &a);
	}
	snprintf(etag, sizeof(etag), "\"%llx-%llx\"",
	    (unsigned long long)st.st_mtime, (unsigned long long)st.st_size);
	inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_NONE_MATCH);
	if (inm != NULL && strcmp(inm, etag) == 0) {
		close(fd);
		r = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, "ETag", etag);
		ret = MHD_queue_response(c, 304, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (head) {
		close(fd);
		r = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT);
	} else
		r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", content_type(path));
	MHD_add_response_header(r, "ETag", etag);
	/* HTML names the other files: always revalidate it. */
	MHD_add_response_header(r, "Cache-Control", strstr(path, ".html") ?
	    "no-cache" : "public, max-age=300");
	common_headers(r);
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- the live stream ---- */

/* The live state, as each connection was given it when it started. */
static struct live *
conn_live(struct MHD_Connection *c)
{
	return MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT)->
	    socket_context;
}

/* live.wake: with the live lock held, from any thread. */
static void
wake_clients(void *arg)
{
	struct live *l = arg;

	for (struct live_client *cl = l->clients; cl != NULL; cl = cl->next)
		if (cl->suspended) {
			cl->suspended = false;
			MHD_resume_connection(cl->conn);
		}
}

static bool
wants(const struct live_client *cl, const struct live_event *e)
{
	char needle[48];

	if (cl->device == 0)
		return true;
	snprintf(needle, sizeof(needle), "\"device\":%lld,",
	    (long long)cl->device);
	return strstr(e->data, needle) != NULL;
}

static ssize_t
sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct live_client *cl = cls;
	struct live *l;
	size_t n = 0;

	(void)pos;
	l = conn_live(cl->conn);
	pthread_mutex_lock(&l->mu);
	/* Too far behind (or behind the ring): it will not catch up. */
	if (cl->next_id < live_oldest(l) ||
	    l->next_id - cl->next_id > cl->lag_max)
		cl->dropped = true;
	if (cl->dropped) {
		l->clients_dropped++;
		pthread_mutex_unlock(&l->mu);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (cl->greet) {
		n += (size_t)snprintf(buf, max, "retry: 2000\n: appcore\n\n");
		cl->greet = false;
	}
	while (cl->next_id < l->next_id) {
		const struct live_event *e = &l->ring[cl->next_id % LIVE_RING];
		size_t need;

		if (!wants(cl, e)) {
			cl->next_id++;
			continue;
		}
		need = strlen(e->data) + strlen(e->type) + 48;
		if (n + need > max)
			break;
		n += (size_t)snprintf(buf + n, max - n, "id: %llu\nevent: %s\n"
		    "data: %s\n\n", (unsigned long long)e->id, e->type,
		    e->data);
		cl->next_id++;
	}
	if (cl->keepalive && n + 3 <= max) {
		n += (size_t)snprintf(buf + n, max - n, ":\n\n");
		cl->keepalive = false;
	}
	/*
	 * Suspend only when a call finds nothing new: what a call returns is
	 * sent only after the connection runs again, so suspending right
	 * after handing over an event would hold it until the next one.  A
	 * reader may not return 0 here, hence a comment.
	 */
	if (n == 0) {
		n = (size_t)snprintf(buf, max, ":\n\n");
		if (!cl->suspended) {
			cl->suspended = true;
			MHD_suspend_connection(cl->conn);
		}
	}
	pthread_mutex_unlock(&l->mu);
	return (ssize_t)n;
}

static void
sse_free(void *cls)
{
	struct live_client *cl = cls, **pp;
	struct live *l;

	l = conn_live(cl->conn);
	pthread_mutex_lock(&l->mu);
	for (pp = &l->clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	/* Closed with events still owed and not by our own drop: stuck. */
	if (!cl->dropped && cl->next_id + 16 < l->next_id)
		l->clients_dropped++;
	pthread_mutex_unlock(&l->mu);
	free(cl);
}

static enum MHD_Result
serve_stream(struct http *h, struct MHD_Connection *c)
{
	struct live *l = bridge_live(h->b);
	struct live_client *cl = calloc(1, sizeof(*cl));
	const char *last = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "Last-Event-ID");
	const char *dev = MHD_lookup_connection_value(c,
	    MHD_GET_ARGUMENT_KIND, "device");
	struct MHD_Response *r;
	struct api_reply a = { 0 };
	enum MHD_Result ret;
	char *end;

	if (cl == NULL)
		return MHD_NO;
	cl->conn = c;
	cl->greet = true;
	cl->lag_max = h->cfg.stream_lag;
	if (dev != NULL) {
		cl->device = strtoll(dev, &end, 10);
		if (*dev == '\0' || *end != '\0' || cl->device <= 0) {
			free(cl);
			api_error(&a, 400, "bad_parameter", "device: '%.40s' "
			    "is not a device id", dev);
			return send_reply(c, &a);
		}
	}
	pthread_mutex_lock(&l->mu);
	cl->next_id = l->next_id;
	if (last != NULL) {
		unsigned long long v = strtoull(last, &end, 10);

		/* Resume after the last event seen, reaching back at most
		 * half the lag a client may have. */
		uint64_t floor = l->next_id > cl->lag_max / 2 ?
		    l->next_id - cl->lag_max / 2 : 1;

		if (floor < live_oldest(l))
			floor = live_oldest(l);
		if (*last != '\0' && *end == '\0' && v < l->next_id)
			cl->next_id = v + 1 < floor ? floor : v + 1;
	}
	cl->next = l->clients;
	l->clients = cl;
	pthread_mutex_unlock(&l->mu);
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SSE_BLOCK,
	    sse_read, cl, sse_free);
	if (r == NULL) {
		sse_free(cl);
		return MHD_NO;
	}
	/*
	 * A client that stops reading must show as lag in our cursor, not
	 * vanish into a kernel send buffer that grows to megabytes: cap the
	 * buffer.  Once nothing can be written for 5 s the connection is
	 * closed; idle clients are suspended, which never times out.
	 */
	{
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		int sz = STREAM_SNDBUF;

		if (ci != NULL)
			(void)setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF,
			    &sz, sizeof(sz));
	}
	MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
	    (unsigned)STREAM_STUCK_S);
	MHD_add_response_header(r, "Content-Type", "text/event-stream");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	common_headers(r);
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

/* GET /api/v1/devices/{id}/memory?offset=&length=: the agent reads the
 * region now.  The connection waits (suspended) for the answer. */

/* What a live read that did not complete answers. */
static void
read_failed(struct api_reply *a, int status)
{
	switch (status) {
	case 504:
		api_error(a, 504, "timeout", "the agent did not answer within "
		    "3 s");
		break;
	case 409:
		api_error(a, 409, "busy", "the agent is sending a snapshot or "
		    "a crash dump; try again");
		break;
	case 503:
		api_error(a, 503, "not_connected", "the link went down");
		break;
	case 502:
		api_error(a, 502, "incomplete", "a chunk of the answer was "
		    "lost on the link; try again");
		break;
	default:
		api_error(a, status, "bad_parameter", "the agent refused the "
		    "range");
		break;
	}
}

/* The answer of a live read that is over. */
static void
read_answer(const struct read_result *rr, struct api_reply *a)
{
	char *hex;

	if (rr->status != 200) {
		read_failed(a, rr->status);
		return;
	}
	if ((hex = malloc((size_t)rr->len * 2 + 1)) == NULL)
		return;
	hex_encode(hex, rr->data, rr->len);
	if ((a->body = malloc((size_t)rr->len * 2 + 160)) != NULL) {
		a->len = (size_t)sprintf(a->body, "{\"device\":%lld,\"t\":%llu,"
		    "\"offset\":%u,\"length\":%u,\"bytes_hex\":\"%s\"}",
		    (long long)rr->device, (unsigned long long)rr->t_us,
		    rr->offset, rr->len, hex);
		a->status = 200;
		a->type = "application/json";
	}
	free(hex);
}

static enum MHD_Result
serve_memory(struct http *h, struct MHD_Connection *c, const char *url,
    struct req *r)
{
	struct api_reply a = { 0 };
	struct read_result rr;
	struct live *l = bridge_live(h->b);
	struct live_device *d;
	uint32_t size = 0;
	bool connected = false;
	long long id, off, len;
	char *end;
	const char *v;

	if (r->read != 0) {		/* resumed: the answer is here */
		if (bridge_read_result(h->b, r->read, &rr))
			read_answer(&rr, &a);
		/* Closed when the answer has gone (completed), which a
		 * clean stop waits for. */
		if (a.body == NULL)
			return MHD_NO;
		return send_reply(c, &a);
	}
	id = strtoll(url + 16, &end, 10);
	if (url[16] < '1' || url[16] > '9' || strcmp(end, "/memory") != 0 ||
	    id <= 0) {
		api_error(&a, 404, "not_found", "no such resource");
		return send_reply(c, &a);
	}
	v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "offset");
	off = v ? strtoll(v, &end, 10) : 0;
	if (v != NULL && (*v == '\0' || *end != '\0' || off < 0)) {
		api_error(&a, 400, "bad_parameter", "offset: '%.40s' is not "
		    "an integer of 0 or more", v);
		return send_reply(c, &a);
	}
	v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "length");
	len = v ? strtoll(v, &end, 10) : 256;
	if (v != NULL && (*v == '\0' || *end != '\0' || len < 1 ||
	    len > 4096)) {
		api_error(&a, 400, "bad_parameter", "length: '%.40s' is not an "
		    "integer in [1, 4096]", v);
		return send_reply(c, &a);
	}
	pthread_mutex_lock(&l->mu);
	if ((d = live_device_find(l, id)) != NULL) {
		connected = d->connected;
		size = d->region_size;
	}
	pthread_mutex_unlock(&l->mu);
	if (!connected) {
		api_error(&a, d == NULL ? 404 : 409, d == NULL ? "not_found" :
		    "not_connected", "device %lld is not connected", id);
		return send_reply(c, &a);
	}
	if ((uint64_t)off + (uint64_t)len > size) {
		api_error(&a, 400, "bad_parameter", "offset + length must be "
		    "within the %u-byte region", size);
		return send_reply(c, &a);
	}
	r->read = bridge_read_open(h->b, id, (uint32_t)off, (uint32_t)len,
	    now_wall_us() + READ_TIMEOUT_US, c);
	if (r->read == 0) {
		api_error(&a, 503, "stopping", "appcored is stopping, or %d "
		    "live reads are waiting already", BRIDGE_READS);
		return send_reply(c, &a);
	}
	MHD_suspend_connection(c);
	bridge_read_ask(h->b, r->read);
	return MHD_YES;
}

/* ---- requests ---- */

static bool is_unix_connection(struct MHD_Connection *);

static bool
token_matches(const struct http *h, const char *v)
{
	unsigned char diff = 0;
	size_t n = strlen(h->token);

	if (v == NULL || strlen(v) != n || n == 0)
		return false;
	for (size_t i = 0; i < n; i++)	/* constant time */
		diff |= (unsigned char)(v[i] ^ h->token[i]);
	return diff == 0;
}

/* The token in an Authorization header: what control (POST) needs. */
static bool
authorized(struct http *h, struct MHD_Connection *c)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);

	return v != NULL && strncmp(v, "Bearer ", 7) == 0 &&
	    token_matches(h, v + 7);
}

/* Reads, when they need the token: the header, or the dashboard's cookie
 * (which a browser also sends with the stream and with downloads; never
 * enough for a POST, so another site's form cannot use it). */
static bool
authorized_read(struct http *h, struct MHD_Connection *c)
{
	return authorized(h, c) || token_matches(h,
	    MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "appcore_token"));
}

/* What a read beyond loopback needs the token for: the API and the
 * metrics; not /healthz, not the dashboard's files. */
static bool
read_needs_token(const struct http *h, struct MHD_Connection *c,
    const char *url)
{
	return h->reads_need_token && !is_unix_connection(c) &&
	    (strncmp(url, "/api/", 5) == 0 || strcmp(url, "/metrics") == 0);
}

/* ---- the edge: what a request must be before it is served ---- */

/*
 * The request line is in: its per-request state starts here.
 * libmicrohttpd 0.9.75 stalls a connection whose query has more
 * parameters than its memory pool holds (it queues a 431 and carries on
 * parsing), so parameters past HTTP_PARAMS_MAX are cut off here, in its
 * buffer, before it parses them, and the request is answered 414.
 */
static void *
uri_seen(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct req *r = calloc(1, sizeof(*r));
	char *q = strchr(uri, '?');
	int params = 1;

	(void)cls; (void)c;
	if (r == NULL || q == NULL)
		return r;
	for (char *p = q + 1; *p != '\0'; p++)
		if (*p == '&' && ++params > HTTP_PARAMS_MAX) {
			*p = '\0';
			r->reject = 414;
			break;
		}
	return r;
}

/* Whether a Host header names this daemon: a loopback name or address,
 * or one of [http] hosts, with any port.  DNS rebinding gives a page
 * the daemon's address under the page's own name. */
static bool
host_allowed(const struct config *cfg, const char *host)
{
	static const char *const loopback[] = { "localhost", "127.0.0.1",
		"[::1]" };
	char name[256];
	const char *end;
	size_t n;

	if (host == NULL)
		return false;
	/* "[::1]:8080", "localhost:8080", "localhost" */
	if (host[0] == '[')
		end = (end = strchr(host, ']')) != NULL ? end + 1 : NULL;
	else
		end = host + strcspn(host, ":");
	if (end == NULL || (*end != '\0' && *end != ':'))
		return false;
	n = (size_t)(end - host);
	if (n == 0 || n >= sizeof(name))
		return false;
	memcpy(name, host, n);
	name[n] = '\0';
	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++)
		if (strcasecmp(name, loopback[i]) == 0)
			return true;
	for (int i = 0; i < cfg->nhosts; i++)
		if (strcasecmp(name, cfg->hosts[i]) == 0)
			return true;
	return false;
}

/* Whether c came through the unix socket, which no web page reaches. */
static bool
is_unix_connection(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	return ci != NULL && ci->client_addr != NULL &&
	    ci->client_addr->sa_family == AF_UNIX;
}

/* What the edge refuses once the headers are in; a's answer if so. */
static bool
edge_refuses(struct http *h, struct MHD_Connection *c, const char *url,
    const char *method, struct req *r, struct api_reply *a)
{
	const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_TRANSFER_ENCODING);
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	bool post = strcmp(method, "POST") == 0;

	if (r->reject == 414)
		api_error(a, 414, "uri_too_long", "at most %d query parameters",
		    HTTP_PARAMS_MAX);
	else if (!is_unix_connection(c) && !host_allowed(&h->cfg,
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_HOST)))
		api_error(a, 421, "wrong_host", "this server answers to "
		    "localhost, 127.0.0.1, [::1] and [http] hosts");
	else if (te != NULL && strcasecmp(te, "chunked") == 0)
		api_error(a, 411, "length_required", "send a Content-Length, "
		    "not a chunked body");
	else if (te != NULL)
		api_error(a, 501, "not_implemented", "transfer coding not "
		    "supported; send a Content-Length");
	else if (!post && strcmp(method, "GET") != 0 &&
	    strcmp(method, "HEAD") != 0)
		api_error(a, 405, "method_not_allowed", "%s is not allowed here",
		    method);
	else if (post && !authorized(h, c))
		api_error(a, 401, "unauthorized", "this needs the API token "
		    "(Authorization: Bearer ...): the file %s on appcored's "
		    "host", h->token_path);
	else if (!post && read_needs_token(h, c, url) &&
	    !authorized_read(h, c))
		api_error(a, 401, "unauthorized", "appcored listens beyond "
		    "loopback: reads need the API token too (Authorization: "
		    "Bearer ..., or the dashboard's appcore_token cookie): the "
		    "file %s on appcored's host", h->token_path);
	else if (cl != NULL && strtoull(cl, NULL, 10) > r->max)
		api_error(a, 413, "too_large", "request bodies are limited to "
		    "%zu bytes", r->max);
	else
		return false;
	r->reject = a->status;
	return true;
}

/* POST /api/v1/devices/{id}/core1/update: an image or an ELF. */
static bool
is_update_path(const char *url)
{
	static const char pre[] = "/api/v1/devices/", post[] = "/core1/update";
	size_t n = strlen(url), digits;

	if (strncmp(url, pre, sizeof(pre) - 1) != 0)
		return false;
	digits = strspn(url + sizeof(pre) - 1, "0123456789");
	return digits > 0 && n == sizeof(pre) - 1 + digits + sizeof(post) - 1 &&
	    strcmp(url + sizeof(pre) - 1 + digits, post) == 0;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct http *h = cls;
	struct req *r = *con_cls;
	struct api_reply a = { 0 };
	bool get = strcmp(method, "GET") == 0, head = !strcmp(method, "HEAD");

	(void)version;
	if (r == NULL)			/* uri_seen had no memory */
		return MHD_NO;
	if (!r->headers_seen) {
		/* First call: headers only.  Answering on the next call keeps
		 * the connection alive; what the edge refuses is answered now,
		 * before any body (and before a 100 Continue). */
		r->headers_seen = true;
		edge_note(h, c, true);
		/* Core-1 ELF images are large; only the token holder may
		 * send that much. */
		r->max = strcmp(method, "POST") == 0 &&
		    (strcmp(url, "/api/v1/images") == 0 ||
		    is_update_path(url)) && authorized(h, c) ?
		    SYM_ELF_MAX : HTTP_BODY_MAX;
		if (edge_refuses(h, c, url, method, r, &a))
			return send_reply(c, &a);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!r->too_big && *upload_size <= r->max - r->len) {
			if (r->len + *upload_size + 1 > r->cap) {
				size_t nc = r->cap ? r->cap : 4096;
				char *nb;

				while (nc < r->len + *upload_size + 1)
					nc *= 2;
				if ((nb = realloc(r->body, nc)) == NULL)
					return MHD_NO;
				r->body = nb;
				r->cap = nc;
			}
			memcpy(r->body + r->len, upload, *upload_size);
			r->len += *upload_size;
			r->body[r->len] = '\0';
		} else
			r->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->too_big) {
		api_error(&a, 413, "too_large", "request bodies are limited "
		    "to %zu bytes", r->max);
		return send_reply(c, &a);
	}
	if (r->query != 0) {		/* resumed: the query is done */
		if (!query_take(r->query, &a))
			api_error(&a, 500, "internal", "the query's answer is "
			    "lost");
		r->query = 0;
		return send_reply(c, &a);
	}
	if (strcmp(url, "/healthz") == 0 && (get || head)) {
		a.status = 200;
		a.body = strdup("ok\n");
		a.len = 3;
		a.type = "text/plain; charset=utf-8";
		return send_reply(c, &a);
	}
	if (strcmp(url, "/metrics") == 0 && get) {
		api_metrics(h, &a);
		return send_reply(c, &a);
	}
	if (strcmp(url, "/api/v1/stream") == 0 && get)
		return serve_stream(h, c);
	if (r->read != 0 || (get && strncmp(url, "/api/v1/devices/", 16) == 0 &&
	    strstr(url + 16, "/memory") != NULL &&
	    strcmp(strstr(url + 16, "/memory"), "/memory") == 0))
		return serve_memory(h, c, url, r);
	if (strncmp(url, "/api/", 5) == 0) {
		api_handle(h, method, url, c, r->body, r->len,
		    authorized(h, c), &a);
		if (a.query != 0) {	/* the query thread answers */
			r->query = a.query;
			MHD_suspend_connection(c);
			query_go(r->query);
			return MHD_YES;
		}
		return send_reply(c, &a);
	}
	if (get || head)
		return serve_static(h, c, url, head);
	api_error(&a, 405, "method_not_allowed", "%s is not allowed here",
	    method);
	return send_reply(c, &a);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	(void)toe;
	edge_note(cls, c, false);
	if (r != NULL) {
		if (r->read != 0)
			bridge_read_close(((struct http *)cls)->b, r->read);
		if (r->query != 0)
			query_forget(r->query);
		free(r->body);
		free(r);
		*con_cls = NULL;
	}
}

/*
 * Who sent a request, for control events: "127.0.0.1 (curl/8.1)",
 * "[::1] (Mozilla/5.0)", "the unix socket (appcorectl/0.1.0)".  The user
 * agent's first word only, printable ASCII.
 */
void
http_client_name(struct MHD_Connection *c, char *buf, size_t n)
{
	const union MHD_ConnectionInfo *a = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const char *ua = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_USER_AGENT);
	char host[INET6_ADDRSTRLEN + 2] = "an unknown address", agent[40];
	size_t k = 0;

	if (a != NULL && a->client_addr != NULL) {
		const struct sockaddr *sa = a->client_addr;

		if (sa->sa_family == AF_UNIX)
			snprintf(host, sizeof(host), "the unix socket");
		else if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)
			    (const void *)sa)->sin_addr, host, sizeof(host));
		else if (sa->sa_family == AF_INET6) {
			host[0] = '[';
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
			    (const void *)sa)->sin6_addr, host + 1,
			    sizeof(host) - 2);
			strcat(host, "]");
		}
	}
	for (; ua != NULL && ua[k] > ' ' && ua[k] < 127 &&
	    k < sizeof(agent) - 1; k++)
		agent[k] = ua[k];
	agent[k] = '\0';
	snprintf(buf, n, "%s%s%s%s", host, k ? " (" : "", agent, k ? ")" : "");
}

/* A TCP connection's socket, or -1 (the unix socket's are not
 * watched: no web page reaches them). */
static int
tcp_fd(struct MHD_Connection *c, const struct sockaddr **addr)
{
	const union MHD_ConnectionInfo *a = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const union MHD_ConnectionInfo *f = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CONNECTION_FD);

	if (a == NULL || a->client_addr == NULL || f == NULL ||
	    a->client_addr->sa_family == AF_UNIX)
		return -1;
	if (addr != NULL)
		*addr = a->client_addr;
	return f->connect_fd;
}

/* Each connection's socket context is the daemon, for sse_read; TCP
 * connections are known to the edge from start to close. */
static void
notify_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http *h = cls;
	const struct sockaddr *addr = NULL;
	int fd = tcp_fd(c, &addr);

	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		*socket_ctx = bridge_live(h->b);
	if (fd < 0 || h->edge == NULL)
		return;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		edge_conn_started(h->edge, fd, addr);
	else
		edge_conn_closed(h->edge, fd);
}

static enum MHD_Result
accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct http *h = cls;

	return h->edge == NULL || edge_accept(h->edge, addr, len) ? MHD_YES :
	    MHD_NO;
}

/* The edge's view of a request: its head is in, or it was answered. */
static void
edge_note(struct http *h, struct MHD_Connection *c, bool head_in)
{
	int fd = tcp_fd(c, NULL);

	if (fd >= 0 && h->edge != NULL)
		edge_headers(h->edge, fd, head_in);
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/*
 * %-decoding of the path and the query, as libmicrohttpd's, except that
 * "%00" stays as it is: a NUL would cut the string short and turn
 * "/%00/etc/passwd" into "/".
 */
static size_t
unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *w = s;

	(void)cls;
	(void)c;
	for (const char *r = s; *r != '\0'; r++) {
		int hi, lo;

		if (*r == '%' && (hi = hexval(r[1])) >= 0 &&
		    (lo = hexval(r[2])) >= 0 && (hi | lo) != 0) {
			*w++ = (char)(hi << 4 | lo);
			r += 2;
		} else
			*w++ = *r;
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void mhd_log(void *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("http: %s", msg);
}

static int
listen_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128], *port;
	struct addrinfo hints, *res;

	snprintf(host, sizeof(host), "%s", spec);
	if ((port = strrchr(host, ':')) == NULL)
		return -1;
	*port++ = '\0';
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host[0] ? host : NULL, port, &hints, &res) != 0)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static bool
is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	return ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

/* One daemon of libmicrohttpd on the socket `where` says, with the limits
 * and callbacks both listeners share. */
static struct MHD_Daemon *
start_mhd(struct http *h, unsigned flags, enum MHD_OPTION where,
    intptr_t value, void *ptr, unsigned per_ip, MHD_AcceptPolicyCallback apc)
{
	struct MHD_OptionItem opts[] = {
		{ where, value, ptr },
		/* A slow request holds one thread; the others answer. */
		{ MHD_OPTION_THREAD_POOL_SIZE, HTTP_THREADS, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, HTTP_CONN_MAX, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, HTTP_TIMEOUT_S, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_MEMORY, NULL },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, h },
		{ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)notify_connection, h },
		{ MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape, h },
		{ MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)uri_seen, h },
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, h },
		/* per_ip == 0 ends the list here (unix sockets have none) */
		{ per_ip ? MHD_OPTION_PER_IP_CONNECTION_LIMIT : MHD_OPTION_END,
		    per_ip, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};

	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
	    MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
	    flags, 0, apc, h, handler, h, MHD_OPTION_ARRAY, opts,
	    MHD_OPTION_END);
}

/* The same service on a unix socket (mode 0660): the local CLI's way in,
 * needing no TCP port. */
static int
open_unix(struct http *h, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", h->cfg.socket);
	snprintf(h->socket_path, sizeof(h->socket_path), "%s",
	    h->cfg.socket);
	(void)unlink(sun.sun_path);	/* a stale one from a crash */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(sun.sun_path, 0660) < 0 || listen(fd, 64) < 0) {
		snprintf(err, errlen, "%s: %s", sun.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	h->mhd_unix = start_mhd(h, 0, MHD_OPTION_LISTEN_SOCKET, fd, NULL, 0,
	    NULL);
	if (h->mhd_unix == NULL) {
		snprintf(err, errlen, "%s: cannot serve: %s", sun.sun_path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return 0;
}

/* The database, read-only or read-write, for one thread. */
static int
open_db(const struct config *cfg, bool rw, int busy_ms, sqlite3 **db,
    char *err, size_t errlen)
{
	char path[600];

	snprintf(path, sizeof(path), "file:%s/appcore.db?mode=%s",
	    cfg->state_dir, rw ? "rw" : "ro");
	if (sqlite3_open_v2(path, db, (rw ? SQLITE_OPEN_READWRITE :
	    SQLITE_OPEN_READONLY) | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(*db));
		return -1;
	}
	sqlite3_busy_timeout(*db, busy_ms);
	if (sqlprintf_register(*db) != SQLITE_OK ||
	    samples_vtab_register(*db) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(*db));
		return -1;
	}
	return 0;
}

/* bridge_set_waker's: a live read's answer is ready. */
static void
wake_read(void *waiter)
{
	MHD_resume_connection(waiter);
}

struct http *
http_start(const struct config *cfg, struct bridge *b, const char *token,
    const char *web_root, char *err, size_t errlen)
{
	struct http *h = calloc(1, sizeof(*h));
	struct live *l = bridge_live(b);
	struct sockaddr_storage ss;
	socklen_t sslen;
	const union MHD_DaemonInfo *info;

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->b = b;
	h->cfg = *cfg;
	h->cfg.nports = 0;		/* the daemon's to free */
	snprintf(h->token, sizeof(h->token), "%s", token);
	snprintf(h->token_path, sizeof(h->token_path), "%.*s/api-token",
	    PATH_MAX, cfg->state_dir);
	if (realpath(web_root, h->root) == NULL) {
		snprintf(err, errlen, "web root %s: %s", web_root,
		    strerror(errno));
		goto fail;
	}
	/* The database opens for reading and writing (an uploaded image's
	 * row, through each thread's own connection; WAL lets it wait its
	 * turn): said now rather than on the first request. */
	{
		sqlite3 *probe = NULL;
		int rc = open_db(&h->cfg, true, 5000, &probe, err, errlen);

		sqlite3_close_v2(probe);
		if (rc < 0)
			goto fail;
	}
	if (query_threads_start(h, query_run) < 0) {
		snprintf(err, errlen, "cannot start the query thread");
		goto fail;
	}
	if (listen_addr(h->cfg.listen, &ss, &sslen) < 0) {
		snprintf(err, errlen, "listen: '%s' is not ADDR:PORT",
		    h->cfg.listen);
		goto fail;
	}
	h->reads_need_token = !is_loopback(&ss);
	bridge_set_waker(b, wake_read);
	pthread_mutex_lock(&l->mu);
	l->wake = wake_clients;
	l->wake_arg = l;
	pthread_mutex_unlock(&l->mu);
	if ((h->edge = edge_start(HTTP_CONN_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	h->mhd = start_mhd(h, MHD_USE_TURBO, MHD_OPTION_SOCK_ADDR, 0, &ss,
	    HTTP_PER_IP_MAX, accept_policy);
	if (h->mhd == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", h->cfg.listen,
		    strerror(errno));
		goto fail;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info != NULL ? info->port : 0;
	if (h->cfg.socket[0] != '\0' && open_unix(h, err, errlen) < 0)
		goto fail;
	return h;
fail:
	http_stop(h);
	return NULL;
}

/* Streams end: they are resumed and told they are dropped. */
static void
end_streams(struct live *l)
{
	pthread_mutex_lock(&l->mu);
	for (struct live_client *cl = l->clients; cl != NULL; cl = cl->next)
		cl->dropped = true;
	wake_clients(l);
	l->wake = NULL;
	pthread_mutex_unlock(&l->mu);
}

void
http_stop(struct http *h)
{
	if (h == NULL)
		return;
	/* A clean stop: no new connection; the bridge answers every live
	 * read still waiting 503 (libmicrohttpd aborts when stopped with a
	 * suspended connection) and waits for the answers to go; every
	 * stream ends; then the servers stop, and main flushes the store. */
	if (h->mhd != NULL)
		(void)MHD_quiesce_daemon(h->mhd);
	if (h->mhd_unix != NULL)
		(void)MHD_quiesce_daemon(h->mhd_unix);
	bridge_stop(h->b);
	end_streams(bridge_live(h->b));
	/* A query under way ends by its deadline and is answered. */
	query_threads_stop((uint32_t)(h->cfg.query_timeout_us / 1000) + 3000);
	if (h->mhd != NULL)
		MHD_stop_daemon(h->mhd);
	if (h->mhd_unix != NULL) {
		MHD_stop_daemon(h->mhd_unix);
		(void)unlink(h->socket_path);
	}
	edge_stop(h->edge);
	free(h);
}
