/*
 * Stateful fuzz target for the HTTP request path: appcored's real HTTP
 * server (libmicrohttpd, the edge checks, the API handler) on loopback,
 * over a real SQLite store holding a board, its samples, events, logs, a
 * crash with its dump and a snapshot.  Each input is one request, built
 * structure-aware: method, a route from the API's own table with
 * fuzzed segments, a query, headers (a valid token or Host or not) and a
 * body; it goes over a socket, and this thread plays the ingest thread
 * (commands taken, live reads answered).
 *
 * After each input (docs/security.md):
 *  - an answer came, within the server's bounds, with a status line and
 *    a status the API documents;
 *  - a JSON answer is well-formed JSON in well-formed UTF-8;
 *  - nothing stored changed, except images an authorised upload adds;
 *  - every 256 inputs, /healthz still answers.
 */
#define _GNU_SOURCE
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "appcored.h"
#include "http.h"
#include "jsonv.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct daemon d;
static uint16_t port;
static int64_t stored_before, writes_before;

static void
fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_api: invariant broken: %s\n%.2000s\n", what,
	    detail != NULL ? detail : "");
	abort();
}

/* What nobody but an upload may change: rows of every table but images. */
static int64_t
stored_rows(void)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	if (sqlite3_prepare_v2(store_db(d.store), "SELECT (SELECT count(*) "
	    "FROM samples) + (SELECT count(*) FROM events) + (SELECT count(*) "
	    "FROM logs) + (SELECT count(*) FROM crashes) + (SELECT count(*) "
	    "FROM snapshots) + (SELECT count(*) FROM devices) + (SELECT "
	    "count(*) FROM boots) + (SELECT count(*) FROM counters)", -1, &st,
	    NULL) != SQLITE_OK)
		fail("prepare", sqlite3_errmsg(store_db(d.store)));
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * A mark that moves whenever anything is written to the store: by the
 * fuzzing thread's own connection (total changes) or by any other
 * (PRAGMA data_version).  Both only grow, so the sum moves when either
 * does.  While it stands still nothing stored can have changed, and the
 * row counts (a scan of an hour of samples) need not be taken.
 */
static int64_t
write_mark(void)
{
	sqlite3 *db = store_db(d.store);
	sqlite3_stmt *st;
	int64_t version = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &st, NULL) !=
	    SQLITE_OK)
		fail("prepare", sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return version * 1000003 + sqlite3_total_changes64(db);
}

/* A board with an hour of history, a crash and its dump, a snapshot. */
static void
populate(void)
{
	struct ac_msg_hello h = { .boot_id = 0x77, .rate_hz = 100,
	    .proto_version = 2, .layout_version = 1, .region_size = 4096 };
	struct ac_counter_info ci = { AC_KIND_COUNTER, 0, "frames", "f" };
	struct ac_msg_crash cr = { .reason = AC_PANIC_ASSERT, .pc = 0x42001234,
	    .bt_count = 2, .bt = { 0x42001234, 0x42005678 } };
	struct ac_msg_log log = { .level = 2 };
	uint8_t region[4096], key[BLOB_KEY_LEN];
	char hex[BLOB_HEX_LEN];
	uint64_t t0 = now_wall_us() - 3600ull * 1000000;
	int64_t dev, boot, ctr[3];

	strcpy(h.agent_version, "0.1.0");
	dev = store_device(d.store, "616263", "abc", "fuzz", t0);
	boot = store_boot(d.store, dev, &h, t0, t0);
	for (uint32_t i = 0; i < 3; i++) {
		snprintf(ci.name, sizeof(ci.name), "c%u", i);
		ci.kind = i == 2 ? AC_KIND_GAUGE : AC_KIND_COUNTER;
		ctr[i] = store_counter(d.store, dev, i, &ci, t0);
	}
	for (uint64_t k = 0; k < 3600; k++)
		for (int i = 0; i < 3; i++)
			store_sample(d.store, ctr[i], t0 + k * 1000000,
			    (int64_t)(k * (uint64_t)(i + 1)));
	store_event(d.store, dev, boot, t0, "boot", 1, "caf\xc3\xa9");
	strcpy(log.text, "core1 up \xff\xfe");
	store_log(d.store, dev, boot, t0 + 5, 1, &log);
	strcpy(cr.msg, "assert failed");
	strcpy(cr.file, "main.c");
	store_crash(d.store, dev, boot, t0 + 1800ull * 1000000, &cr, "");
	for (size_t i = 0; i < sizeof(region); i++)
		region[i] = (uint8_t)(i * 7);
	if (blobs_put(d.blobs, region, sizeof(region), key) == 0) {
		blob_key_hex(key, hex);
		store_snapshot(d.store, dev, boot, t0 + 60000000, 0x3fc88000,
		    sizeof(region), hex);
		store_crash_dump(d.store, dev, boot, t0 + 1800ull * 1000000, &cr,
		    hex, sizeof(region));
	}
	if (store_commit(d.store, now_wall_us()) < 0)
		fail("commit", store_stats(d.store)->last_error);
}

static void
setup(void)
{
	char dir[] = "/tmp/fuzz-api-XXXXXX", path[300], err[700], note[256];

	if (mkdtemp(dir) == NULL)
		fail("mkdtemp", NULL);
	log_init("fuzz_api", -1);
	config_defaults(&d.cfg);
	snprintf(d.cfg.state_dir, sizeof(d.cfg.state_dir), "%s", dir);
	snprintf(d.cfg.listen, sizeof(d.cfg.listen), "127.0.0.1:0");
	d.cfg.socket[0] = '\0';
	if ((d.bridge = bridge_new()) == NULL)
		fail("bridge", NULL);
	d.live = bridge_live(d.bridge);
	snprintf(path, sizeof(path), "%s/appcore.db", dir);
	if ((d.store = store_open(path, &d.cfg.store, err, sizeof(err))) ==
	    NULL)
		fail("store", err);
	snprintf(path, sizeof(path), "%s/blobs.gdbm", dir);
	if ((d.blobs = blobs_open(path, err, sizeof(err), note,
	    sizeof(note))) == NULL)
		fail("blobs", err);
	memset(d.token, 'a', 64);
	d.token[64] = '\0';
	snprintf(d.web_root, sizeof(d.web_root), "%s", APPCORE_WEB_SOURCE);
	populate();
	if ((d.http = http_start(&d.cfg, d.bridge, d.token, d.web_root, err,
	    sizeof(err))) == NULL)
		fail("http_start", err);
	port = http_port(d.http);
	stored_before = stored_rows();
	writes_before = write_mark();
}

/* ---- the request, from the input ---- */

struct cursor {
	const uint8_t *p;
	size_t n;
};

static int
take(struct cursor *c)
{
	if (c->n == 0)
		return -1;
	c->n--;
	return *c->p++;
}

/* Up to max bytes of the input, as they are. */
static size_t
take_bytes(struct cursor *c, char *out, size_t max)
{
	int len = take(c);
	size_t n = len < 0 ? 0 : (size_t)len % (max + 1);

	if (n > c->n)
		n = c->n;
	memcpy(out, c->p, n);
	c->p += n;
	c->n -= n;
	return n;
}

static const char *const methods[] = { "GET", "POST", "HEAD", "PUT",
	"DELETE", "OPTIONS", "G\x01T", "" };
static const char *const routes[] = {
	"/api/v1/devices", "/api/v1/devices/1",
	"/api/v1/devices/1/counters/0/history",
	"/api/v1/devices/1/events", "/api/v1/devices/1/logs",
	"/api/v1/devices/1/snapshot", "/api/v1/devices/1/memory",
	"/api/v1/crashes", "/api/v1/crashes/1", "/api/v1/crashes/1/report",
	"/api/v1/crashes/1/dump", "/api/v1/images", "/api/v1/query",
	"/api/v1/devices/1/restart", "/api/v1/devices/1/snapshot",
	"/metrics", "/healthz", "/", "/index.html",
	"/openapi.json", "/api/v1/", "/../etc/passwd", "/api/v1/devices/%",
	"/api/v1/status", "/api/v1/ports/release", "/api/v1/ports/reclaim",
	"/api/v1/devices/1/rate", "/format.js",
	"/api/v1/devices/1/core1/update", "/api/v1/devices/1/core1",
	"/api/v1/devices/1/updates", "/api/v1/updates/1",
};
static const char *const params[] = { "from", "to", "step", "limit",
	"offset", "length", "sql", "device", "crash", "format", "name",
	"kind", "confirm_after", "sha256" };

/* method, path (a route and a fuzzed tail), query, headers, body; *whole
 * is false when Content-Length promises more than the body. */
static size_t
build_request(struct cursor *c, char *req, size_t cap, bool *whole)
{
	char chunk[256];
	int m = take(c), r = take(c), flags = take(c), nq;
	size_t n = 0, k, body, path;

	m = m < 0 ? 0 : m;
	r = r < 0 ? 0 : r;
	flags = flags < 0 ? 0 : flags;
	n += (size_t)snprintf(req + n, cap - n, "%s ", methods[m %
	    (int)(sizeof(methods) / sizeof(methods[0]))]);
	path = n;
	n += (size_t)snprintf(req + n, cap - n, "%s", routes[r %
	    (int)(sizeof(routes) / sizeof(routes[0]))]);
	k = take_bytes(c, chunk, 32);		/* a tail of the path */
	memcpy(req + n, chunk, k);
	n += k;
	nq = take(c);
	for (int i = 0; i < (nq < 0 ? 0 : nq % 6); i++) {
		int pi = take(c);

		n += (size_t)snprintf(req + n, cap - n, "%c%s=", i ? '&' : '?',
		    params[(pi < 0 ? 0 : pi) % (int)(sizeof(params) /
		    sizeof(params[0]))]);
		k = take_bytes(c, chunk, 200);
		memcpy(req + n, chunk, k);
		n += k;
	}
	/* Bytes the request line cannot hold in its target. */
	for (size_t i = path; i < n; i++)
		if (req[i] == '\r' || req[i] == '\n' || req[i] == ' ')
			req[i] = '+';
	/* No live stream: a client that goes away holds its slot until the
	 * next keep-alive (15 s), and the server's per-address limit would
	 * fill up; api_test.py covers streams. */
	req[n] = '\0';
	for (char *st = strstr(req + path, "stream"); st != NULL;
	    st = strstr(st, "stream"))
		st[5] = 'n';
	n += (size_t)snprintf(req + n, cap - n, " HTTP/1.1\r\n");
	if (!(flags & 1))
		n += (size_t)snprintf(req + n, cap - n, "Host: %s\r\n",
		    flags & 2 ? "evil.example" : "127.0.0.1");
	if (flags & 4)
		n += (size_t)snprintf(req + n, cap - n, "Authorization: Bearer "
		    "%s\r\n", d.token);
	if (flags & 8) {			/* a header of its own */
		k = take_bytes(c, chunk, 120);
		for (size_t i = 0; i < k; i++)
			if (chunk[i] == '\r' || chunk[i] == '\n')
				chunk[i] = ' ';
		n += (size_t)snprintf(req + n, cap - n, "X-Fuzz: %.*s\r\n",
		    (int)k, chunk);
	}
	if (flags & 16)
		n += (size_t)snprintf(req + n, cap - n, "Transfer-Encoding: "
		    "%s\r\n", flags & 32 ? "chunked" : "gzip");
	body = c->n > 4096 ? 4096 : c->n;
	*whole = !(flags & 64) || (flags & 16);
	n += (size_t)snprintf(req + n, cap - n, "Content-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", flags & 64 ? body + 1000 : body);
	memcpy(req + n, c->p, body);
	return n + body;
}

/* ---- the exchange: this thread is the ingest thread meanwhile ---- */

static void
play_ingest(void)
{
	struct command cmd;

	while (bridge_next_command(d.bridge, &cmd))
		if (cmd.cmd == AC_CMD_READ_MEM)
			bridge_read_done(d.bridge, cmd.read_id, 503);
	bridge_serve_blobs(d.bridge, d.blobs);
}

/* A request that promised more body than it sent gets no answer: the
 * server waits for the rest until its timeout.  The connection is reset,
 * so its slot is free at once. */
static void
abandon(int fd)
{
	struct linger l = { 1, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/*
 * Whether the headers are in and say a live stream.  Only the headers: a
 * body may name the type too (openapi.json documents the stream), and
 * stopping there would cut the body short.
 */
static bool
stream_headers(const char *resp)
{
	const char *end = strstr(resp, "\r\n\r\n");
	const char *ct = strstr(resp, "Content-Type: text/event-stream");

	return end != NULL && ct != NULL && ct < end;
}

static size_t
exchange(const char *req, size_t len, char *resp, size_t cap, bool whole)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t got = 0, sent = 0;
	int idle = 0;

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail("connect", strerror(errno));
	while (sent < len) {
		ssize_t w = send(fd, req + sent, len - sent, MSG_NOSIGNAL);

		if (w <= 0)
			break;		/* refused early: the answer is in */
		sent += (size_t)w;
	}
	if (!whole) {
		abandon(fd);
		resp[0] = '\0';
		return 0;
	}
	(void)shutdown(fd, SHUT_WR);
	/* Every request is answered or closed within the server's bounds:
	 * 5 s here (a live read waits for this thread, which answers it). */
	while (idle < 5000) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		play_ingest();
		if (poll(&p, 1, 1) <= 0) {
			idle++;
			continue;
		}
		if ((r = recv(fd, resp + got, cap - 1 - got, 0)) <= 0)
			break;
		got += (size_t)r;
		resp[got] = '\0';
		/* A stream never ends: its headers are the answer. */
		if (got == cap - 1 || stream_headers(resp))
			break;
	}
	close(fd);
	if (idle >= 5000)
		fail("no answer within 5 s", req);
	resp[got] = '\0';
	return got;
}

/* ---- the invariants ---- */

static bool
status_documented(int st)
{
	static const int ok[] = { 200, 201, 202, 204, 304, 400, 401, 404, 405,
		409, 411, 413, 414, 421, 422, 431, 500, 501, 502, 503, 504,
		507 };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (ok[i] == st)
			return true;
	return false;
}

/* Whether the headers (up to body) say JSON. */
static bool
json_answer(const char *resp, const char *body)
{
	const char *ct = strstr(resp, "Content-Type: application/json");

	return ct != NULL && ct < body;
}

static void
check_answer(const char *req, const char *resp, size_t len)
{
	const char *body = strstr(resp, "\r\n\r\n");
	int st;

	if (len == 0)
		return;			/* closed unanswered: a broken request */
	if (sscanf(resp, "HTTP/1.%*d %d", &st) != 1)
		fail("no status line", resp);
	if (getenv("FUZZ_API_VERBOSE") != NULL)		/* what seeds reach */
		fprintf(stderr, "%d %.*s\n", st, (int)strcspn(req, "\r"), req);
	if (!status_documented(st))
		fail("an undocumented status", resp);
	if (body != NULL && json_answer(resp, body) && len < 65535 &&
	    strncmp(req, "HEAD", 4) != 0) {
		const char *b = body + 4;
		size_t n = len - (size_t)(b - resp);
		json_object *o;

		for (size_t i = 0; i < n;) {
			size_t l = utf8_seq_len((const unsigned char *)b + i,
			    n - i);

			if (l == 0)
				fail("a JSON answer that is not UTF-8", req);
			i += l;
		}
		if ((o = json_tokener_parse(b)) == NULL)
			fail("a JSON answer that does not parse", resp);
		json_object_put(o);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char req[16384], resp[65536];
	static unsigned runs;
	struct cursor c = { data, size };
	size_t len, got;
	int64_t now_writes;
	bool whole;

	if (d.http == NULL)
		setup();
	len = build_request(&c, req, sizeof(req) - 4200, &whole);
	got = exchange(req, len, resp, sizeof(resp), whole);
	check_answer(req, resp, got);
	if ((now_writes = write_mark()) != writes_before) {
		/* Something was written (an upload may add an image): the
		 * rest must be as it was. */
		if (stored_rows() != stored_before)
			fail("a request changed what is stored", req);
		writes_before = now_writes;
	}
	if (++runs % 256 == 0) {
		static const char hz[] = "GET /healthz HTTP/1.1\r\nHost: "
		    "localhost\r\nConnection: close\r\n\r\n";

		got = exchange(hz, sizeof(hz) - 1, resp, sizeof(resp), true);
		if (strstr(resp, "200 OK") == NULL)
			fail("/healthz does not answer", resp);
	}
	return 0;
}
