/*
 * appcorectl: the command line of appcore, over appcored's HTTP API (the
 * daemon's unix socket by default, or --url).  See appcorectl(1).
 *
 * Exit status: 0 done; 1 the daemon refused or could not be reached;
 * 2 usage.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#define DEFAULT_SOCKET	"/run/appcored/appcored.sock"
#define DEFAULT_TOKEN	"/var/lib/appcored/api-token"

struct ctx {
	const char *socket;
	const char *url;
	const char *token_file;
	bool json;
	const char *device;		/* --device: an id or a name */
	const char *filter;		/* watch --filter */
};

/* A board as the commands name it. */
struct board {
	int64_t id;
	char name[128];
};

struct buf {
	char *p;
	size_t len;
};

/*
 * An error, as the user asked for output: with --json a JSON object on
 * stdout ({"error": {"code", "message"}}, as the API's), else a line on
 * stderr.
 */
static void __attribute__((format(printf, 3, 4)))
cli_error(const struct ctx *c, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c != NULL && c->json) {
		json_object *o = json_object_new_object(), *e;

		e = json_object_new_object();
		json_object_object_add(e, "code", json_object_new_string(code));
		json_object_object_add(e, "message",
		    json_object_new_string(msg));
		json_object_object_add(o, "error", e);
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else
		fprintf(stderr, "appcorectl: %s\n", msg);
}

static size_t
collect(void *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t add = size * n;
	char *np = realloc(b->p, b->len + add + 1);

	if (np == NULL)
		return 0;
	b->p = np;
	memcpy(b->p + b->len, data, add);
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

static int
usage(FILE *f)
{
	fprintf(f,
"usage: appcorectl [--socket PATH | --url http://HOST:PORT] [--json] COMMAND\n"
"  status                          the daemon (version, uptime, database,\n"
"                                  URL) and its boards\n"
"  devices                         every board seen\n"
"  counters [--device B]           a board's counters, live\n"
"  watch [--device B] [--filter TEXT] [--count N]\n"
"                                  the counters whose name has TEXT, on one\n"
"                                  screen, redrawn every second\n"
"  events [--device B] [--limit N]\n"
"  logs [--device B] [--limit N] [-f]\n"
"                                  core 1's log, newest first; -f: oldest\n"
"                                  first, then follow it live\n"
"  crash list [--device B]\n"
"  crash show ID\n"
"  crash get ID --format elf|raw|json -o FILE\n"
"  elf add FILE [--crash ID]       a core-1 ELF for symbols (needs the token);\n"
"                                  with --crash, refused unless that crash ran it\n"
"  elf list                        the core-1 ELFs uploaded\n"
"  core1 restart [--device B]      (needs the API token)\n"
"  core1 update FILE [--device B] [--confirm-after S]\n"
"                                  put a core-1 image (or its ELF) on the\n"
"                                  board: sent, verified, run on trial and\n"
"                                  confirmed after S s of heartbeat (10), or\n"
"                                  rolled back (token); exit 0 once confirmed\n"
"  core1 status [--device B]       the board's image slots and last update\n"
"  core1 policy never|always|N [--device B]\n"
"                                  restart core 1 after a crash: never,\n"
"                                  always, at most N (1..16) an hour (token)\n"
"  rate set HZ [--device B]        (needs the API token)\n"
"  port release PORT [SECONDS]     appcored lets go of PORT (to flash the\n"
"                                  board through it) for SECONDS (120)\n"
"  port reclaim PORT               appcored may open PORT again (token)\n"
"  query SQL [--limit N]           one read-only SQL statement\n"
"B: a board's id or name (as `devices` lists them); without --device,\n"
"  the first board.  Every command names the board it shows.\n"
"options: --socket PATH (default " DEFAULT_SOCKET ", or $APPCORE_SOCKET),\n"
"  --url URL, --token-file FILE (default " DEFAULT_TOKEN ",\n"
"  or $APPCORE_TOKEN_FILE), --json: the API's JSON (errors too),\n"
"  --version\n"
"exit status: 0 done, 1 the daemon refused or is unreachable, 2 usage\n");
	return 2;
}

/* A handle for path on the daemon: its unix socket, or --url. */
static CURL *
handle(const struct ctx *c, const char *path)
{
	CURL *h = curl_easy_init();
	char url[1024];

	if (h == NULL)
		return NULL;
	snprintf(url, sizeof(url), "%s%s", c->url ? c->url : "http://localhost",
	    path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (c->url == NULL)
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket);
	return h;
}

/* One request.  Returns the HTTP status (0: no answer) and the body. */
/* The API token from --token-file into tok; -1 (said unless quiet) when
 * it cannot be read. */
/* One token file: 0 and the token, or -1 (errno, or ENOENT for an
 * empty one). */
static int
token_file_read(const char *path, char *tok, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok = f != NULL && fgets(tok, (int)len, f) != NULL;

	if (ok) {
		tok[strcspn(tok, " \t\r\n")] = '\0';
		ok = tok[0] != '\0';
	}
	if (f != NULL) {
		fclose(f);
		errno = ok ? 0 : ENOENT;
	}
	return ok ? 0 : -1;
}

static int
token_read(const struct ctx *c, char *tok, size_t len, bool quiet)
{
	char beside[600];
	const char *slash;

	if (c->token_file != NULL) {
		if (token_file_read(c->token_file, tok, len) == 0)
			return 0;
		if (!quiet)
			cli_error(c, "token", "%s: %s (the API token; "
			    "--token-file)", c->token_file, strerror(errno));
		return -1;
	}
	/* Beside the socket (the demo keeps both in its state directory),
	 * then where the system's appcored keeps it. */
	slash = strrchr(c->socket, '/');
	snprintf(beside, sizeof(beside), "%.*s/api-token",
	    slash != NULL ? (int)(slash - c->socket) : 1,
	    slash != NULL ? c->socket : ".");
	if (c->url == NULL && token_file_read(beside, tok, len) == 0)
		return 0;
	if (token_file_read(DEFAULT_TOKEN, tok, len) == 0)
		return 0;
	if (!quiet)
		cli_error(c, "token", "no API token readable at %s%s%s (%s); "
		    "--token-file FILE", c->url == NULL ? beside : "",
		    c->url == NULL ? " or " : "", DEFAULT_TOKEN, strerror(errno));
	return -1;
}

static long
request(const struct ctx *c, const char *method, const char *path,
    const char *body, size_t blen, bool auth, struct buf *out)
{
	CURL *h = handle(c, path);
	struct curl_slist *hdr = NULL;
	char line[128], err[CURL_ERROR_SIZE] = "";
	long status = 0;

	if (h == NULL)
		return 0;
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 15L);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL && blen > 0) {	/* a file, as it is */
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)blen);
		curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
		hdr = curl_slist_append(hdr,
		    "Content-Type: application/octet-stream");
	} else if (body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
	} else if (strcmp(method, "POST") == 0)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	/* Control needs the token; over TCP (--url) reads may too (appcored
	 * listening beyond loopback), so it goes along when it can be read. */
	if (auth || c->url != NULL) {
		char tok[80];

		if (token_read(c, tok, sizeof(tok), !auth) == 0) {
			snprintf(line, sizeof(line), "Authorization: Bearer %s",
			    tok);
			hdr = curl_slist_append(hdr, line);
		} else if (auth) {
			curl_slist_free_all(hdr);
			curl_easy_cleanup(h);
			return 0;
		}
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	if (curl_easy_perform(h) != CURLE_OK) {
		long oserr = 0;

		curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
		cli_error(c, "unreachable", "cannot reach appcored at %s: %s "
		    "(is it running? --socket, --url)", c->url ? c->url :
		    c->socket, oserr != 0 ? strerror((int)oserr) : err);
	} else
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return status;
}

/* GET or POST a resource; on error, say what the daemon said. */
static json_object *
call_body(const struct ctx *c, const char *method, const char *path,
    const char *body, size_t blen, bool auth, int *rc)
{
	struct buf b = { NULL, 0 };
	long st = request(c, method, path, body, blen, auth, &b);
	json_object *o = b.p ? json_tokener_parse(b.p) : NULL, *e, *m;

	if (st >= 200 && st < 300 && o != NULL) {
		free(b.p);
		*rc = 0;
		return o;
	}
	if (st != 0) {
		if (o != NULL && json_object_object_get_ex(o, "error", &e) &&
		    json_object_object_get_ex(e, "message", &m))
			cli_error(c, json_object_get_string(
			    json_object_object_get(e, "code")), "%s",
			    json_object_get_string(m));
		else
			cli_error(c, "http", "%s %s: HTTP %ld", method, path, st);
	}
	json_object_put(o);
	free(b.p);
	*rc = 1;
	return NULL;
}

static json_object *
call(const struct ctx *c, const char *method, const char *path,
    const char *body, bool auth, int *rc)
{
	return call_body(c, method, path, body, 0, auth, rc);
}

static const char *
str(json_object *o, const char *k)
{
	json_object *v;

	const char *s;

	if (!json_object_object_get_ex(o, k, &v) || v == NULL ||
	    (s = json_object_get_string(v)) == NULL)
		return "";		/* missing or null */
	return s;
}

static int64_t
num(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) :
	    0;
}

static const char *
when(int64_t us, char *out, size_t len)
{
	time_t s = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(out + strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm),
	    len - 19, ".%03d", (int)(us / 1000 % 1000));
	return out;
}

static void
print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* GET a JSON resource; with --json, print it and answer NULL, rc 0. */
static json_object *
fetch(const struct ctx *c, const char *path, int *rc)
{
	json_object *o = call(c, "GET", path, NULL, false, rc);

	if (o != NULL && c->json) {
		print_json(o);
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Whether text is a board id (digits only). */
static bool
is_id(const char *text)
{
	if (*text == '\0')
		return false;
	for (; *text != '\0'; text++)
		if (!isdigit((unsigned char)*text))
			return false;
	return true;
}

/* The board --device names (an id or a name), else the first one; false
 * (*rc set, the reason told) when there is none. */
static bool
board_of(const struct ctx *c, struct board *b, int *rc)
{
	json_object *o, *arr, *d = NULL;
	char names[512] = "";
	size_t n;

	if ((o = call(c, "GET", "/api/v1/devices", NULL, false, rc)) == NULL)
		return false;
	json_object_object_get_ex(o, "devices", &arr);
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n && d == NULL; i++) {
		json_object *x = json_object_array_get_idx(arr, i);
		char id[24];

		snprintf(id, sizeof(id), "%" PRId64, num(x, "id"));
		if (c->device == NULL || (is_id(c->device) ?
		    strcmp(c->device, id) == 0 :
		    strcmp(c->device, str(x, "name")) == 0))
			d = x;
		snprintf(names + strlen(names), sizeof(names) - strlen(names),
		    "%s%s (%s)", i ? ", " : "", str(x, "name"), id);
	}
	if (d == NULL) {
		if (n == 0)
			cli_error(c, "not_found", "no board yet");
		else
			cli_error(c, "not_found", "no board %s; the boards: %s",
			    c->device, names);
		*rc = 1;
		json_object_put(o);
		return false;
	}
	b->id = num(d, "id");
	snprintf(b->name, sizeof(b->name), "%s", str(d, "name"));
	json_object_put(o);
	return true;
}

/* The line that names the board a command shows (not with --json). */
static void
board_header(const struct ctx *c, const struct board *b)
{
	if (!c->json)
		printf("board %s (id %" PRId64 ")\n", b->name, b->id);
}

/* "3 d 4 h", "12 min", "40 s": how long appcored has run. */
static void
duration(double s, char *out, size_t len)
{
	if (s >= 86400)
		snprintf(out, len, "%d d %d h", (int)(s / 86400),
		    (int)(s / 3600) % 24);
	else if (s >= 3600)
		snprintf(out, len, "%d h %d min", (int)(s / 3600),
		    (int)(s / 60) % 60);
	else if (s >= 60)
		snprintf(out, len, "%d min", (int)(s / 60));
	else
		snprintf(out, len, "%.0f s", s);
}

/* Each board, a line: id, name, core 1's state, its link. */
static int
status_boards(const struct ctx *c)
{
	json_object *o, *arr;
	int rc;

	if ((o = call(c, "GET", "/api/v1/devices", NULL, false, &rc)) == NULL)
		return rc;
	json_object_object_get_ex(o, "devices", &arr);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *d = json_object_array_get_idx(arr, i);

		printf("    %-4" PRId64 " %-18s core 1 %-10s link %s\n",
		    num(d, "id"), str(d, "name"), str(d, "state"),
		    json_object_get_boolean(json_object_object_get(d,
		    "connected")) ? "up" : "down");
	}
	json_object_put(o);
	return 0;
}

/* status: the daemon's facts, then its boards. */
static void
status_clickhouse(json_object *o)
{
	json_object *x;

	if (!json_object_object_get_ex(o, "clickhouse", &x) || x == NULL)
		return;
	printf("  clickhouse %s database %s: %" PRId64 " rows sent, %" PRId64
	    " queued, %" PRId64 " dropped, %" PRId64 " failed inserts\n",
	    str(x, "url"), str(x, "database"), num(x, "rows_sent"),
	    num(x, "rows_queued"), num(x, "rows_dropped"),
	    num(x, "insert_failures"));
}

static int
cmd_status(const struct ctx *c)
{
	json_object *o;
	char up[32], t[40];
	int rc;

	if ((o = fetch(c, "/api/v1/status", &rc)) == NULL)
		return rc;		/* or printed with --json */
	duration(json_object_get_double(json_object_object_get(o,
	    "uptime_s")), up, sizeof(up));
	printf("appcored %s, up %s (since %s UTC)\n", str(o, "version"), up,
	    when(num(o, "started_us"), t, sizeof(t)));
	printf("  dashboard  %s\n", str(o, "url"));
	if (*str(o, "socket") != '\0')
		printf("  socket     %s\n", str(o, "socket"));
	printf("  database   %s (%.1f MB in use, %" PRId64 " raw blocks)\n",
	    str(o, "database"), (double)num(o, "database_bytes") / 1e6,
	    num(o, "raw_blocks"));
	printf("  boards     %" PRId64 ", %" PRId64 " connected\n",
	    num(o, "devices"), num(o, "connected"));
	status_clickhouse(o);
	json_object_put(o);
	return status_boards(c);
}

static int
cmd_devices(const struct ctx *c)
{
	json_object *o, *arr;
	char t[40];
	int rc;

	if ((o = fetch(c, "/api/v1/devices", &rc)) == NULL)
		return rc;
	json_object_object_get_ex(o, "devices", &arr);
	printf("%-4s %-18s %-10s %-5s %6s %8s  %s\n", "ID", "NAME", "STATE",
	    "LINK", "RATE", "COUNTERS", "LAST SEEN (UTC)");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *d = json_object_array_get_idx(arr, i);

		printf("%-4" PRId64 " %-18s %-10s %-5s %6" PRId64 " %8" PRId64
		    "  %s\n", num(d, "id"), str(d, "name"), str(d, "state"),
		    json_object_get_boolean(json_object_object_get(d,
		    "connected")) ? "up" : "down", num(d, "rate_hz"),
		    num(d, "counters_count"), when(num(d, "last_seen_us"), t,
		    sizeof(t)));
	}
	json_object_put(o);
	return 0;
}

static int
cmd_counters(const struct ctx *c)
{
	json_object *o, *arr;
	struct board b;
	char path[64];
	int rc = 0;

	if (!board_of(c, &b, &rc))
		return rc;
	snprintf(path, sizeof(path), "/api/v1/devices/%" PRId64, b.id);
	if ((o = fetch(c, path, &rc)) == NULL)
		return rc;
	printf("board %s (id %" PRId64 "): core 1 %s, heartbeat %.0f/s, %"
	    PRId64 " Hz\n", str(o, "name"), b.id, str(o, "state"),
	    json_object_get_double(json_object_object_get(o,
	    "heartbeat_rate")), num(o, "rate_hz"));
	printf("%-24s %14s %-8s %12s\n", "COUNTER", "VALUE", "UNIT", "PER S");
	json_object_object_get_ex(o, "counters", &arr);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *k = json_object_array_get_idx(arr, i);

		json_object *rate = json_object_object_get(k, "rate");
		char per_s[32] = "-";

		/* A gauge has no rate (null). */
		if (rate != NULL)
			snprintf(per_s, sizeof(per_s), "%.1f",
			    json_object_get_double(rate));
		printf("%-24s %14" PRId64 " %-8s %12s\n", str(k, "name"),
		    num(k, "value"), str(k, "unit"), per_s);
	}
	json_object_put(o);
	return 0;
}

static void
print_row(const struct ctx *c, json_object *r, bool logs)
{
	char t[40];

	if (c->json)
		printf("%s\n", json_object_to_json_string_ext(r,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	else if (logs && str(r, "channel")[0] != '\0')
		/* A core-1 RTT line (docs/rtt.md): its channel, hex if bytes. */
		printf("%s  %-7s [%s%s] %s\n", when(num(r, "t"), t, sizeof(t)),
		    str(r, "level"), str(r, "channel"), json_object_get_boolean(
		    json_object_object_get(r, "binary")) ? ", hex" : "",
		    str(r, "text"));
	else
		printf("%s  %-7s %s\n", when(num(r, "t"), t, sizeof(t)),
		    str(r, logs ? "level" : "kind"), str(r, logs ? "text" :
		    "detail"));
}

static int follow_logs(const struct ctx *c, const struct board *b,
    int64_t count);

/* events, logs: newest first; logs -f: oldest first, then live (count
 * new lines, or until the stream ends). */
static int
cmd_rows(const struct ctx *c, int64_t limit, bool logs, bool follow,
    int64_t count)
{
	json_object *o, *arr;
	struct board b;
	char path[128];
	int rc = 0;
	size_t n;

	if (!board_of(c, &b, &rc))
		return rc;
	snprintf(path, sizeof(path), "/api/v1/devices/%" PRId64 "/%s?limit=%"
	    PRId64, b.id, logs ? "logs" : "events", limit);
	if ((o = (follow ? call(c, "GET", path, NULL, false, &rc) :
	    fetch(c, path, &rc))) == NULL)
		return rc;
	board_header(c, &b);
	json_object_object_get_ex(o, logs ? "logs" : "events", &arr);
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++)
		print_row(c, json_object_array_get_idx(arr, follow ? n - 1 - i :
		    i), logs);
	json_object_put(o);
	fflush(stdout);
	return follow ? follow_logs(c, &b, count) : 0;
}

/* "0x42002a31  mixer_process+0x2d  (dsp/mixer.c:217)" */
static void
print_frame(json_object *f)
{
	printf("0x%08" PRIx64, num(f, "address"));
	if (json_object_object_get_ex(f, "call", NULL))	/* a return address */
		printf(" (call 0x%08" PRIx64 ")", num(f, "call"));
	if (*str(f, "function") != '\0')
		printf("  %s+0x%" PRIx64, str(f, "function"), num(f, "offset"));
	if (*str(f, "file") != '\0')
		printf("  (%s:%" PRId64 ")", str(f, "file"), num(f, "line"));
	putchar('\n');
}

/* crash show: the report (GET /api/v1/crashes/{id}/report). */
static void
print_report(json_object *r)
{
	json_object *o = json_object_object_get(r, "crash"), *arr, *d, *sym;
	char t[40];

	printf("crash %" PRId64 " of device %" PRId64 " at %s\n  %s (%s): %s\n",
	    num(o, "id"), num(o, "device"), when(num(o, "t"), t, sizeof(t)),
	    str(o, "kind"), str(o, "reason"), str(o, "message"));
	if (*str(o, "file") != '\0')
		printf("  at %s:%" PRId64 "\n", str(o, "file"), num(o, "line"));
	sym = json_object_object_get(r, "symbols");
	printf("  pc ");
	print_frame(json_object_object_get(sym, "pc"));
	printf("  sp 0x%08" PRIx64 "\n  backtrace:\n", num(o, "sp"));
	json_object_object_get_ex(sym, "backtrace", &arr);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		printf("    #%-2zu ", i);
		print_frame(json_object_array_get_idx(arr, i));
	}
	printf("  core-1 image %s\n", str(o, "image_hash"));
	if (*str(o, "dump_sha256") != '\0')
		printf("  dump: %" PRId64 " bytes, sha256 %s (crash get %" PRId64
		    " -o FILE)\n", num(o, "dump_size"), str(o, "dump_sha256"),
		    num(o, "id"));
	else
		printf("  dump: on its way from the board\n");
	if (json_object_get_boolean(json_object_object_get(sym, "available")))
		printf("  symbols from %s%s\n", str(sym, "image"),
		    json_object_get_boolean(json_object_object_get(sym,
		    "dwarf")) ? " (DWARF)" : "");
	else
		printf("  no symbols: %s\n", str(sym, "why"));
	printf("\ncore 1 before the crash:\n");
	json_object_object_get_ex(r, "states", &arr);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *s = json_object_array_get_idx(arr, i);

		printf("  %s  %s -> %s (heartbeat %" PRId64 ")\n",
		    when(num(s, "t"), t, sizeof(t)), str(s, "prev"),
		    str(s, "state"), num(s, "heartbeat"));
	}
	printf("\ncounters over the %" PRId64 " s before the crash:\n"
	    "  %-24s %14s %14s %14s %14s  %s\n", num(r, "window_us") / 1000000,
	    "COUNTER", "FIRST", "LAST", "MIN", "MAX", "UNIT");
	json_object_object_get_ex(r, "counters", &arr);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *k = json_object_array_get_idx(arr, i), *pts;
		int64_t lo = INT64_MAX, hi = INT64_MIN;
		size_t n;

		json_object_object_get_ex(k, "points", &pts);
		if ((n = json_object_array_length(pts)) == 0) {
			printf("  %-24s %14s\n", str(k, "name"), "(no samples)");
			continue;
		}
		for (size_t j = 0; j < n; j++) {
			json_object *p = json_object_array_get_idx(pts, j);
			int64_t mn = json_object_get_int64(
			    json_object_array_get_idx(p, 1));
			int64_t mx = json_object_get_int64(
			    json_object_array_get_idx(p, 2));

			lo = mn < lo ? mn : lo;
			hi = mx > hi ? mx : hi;
		}
		printf("  %-24s %14.0f %14.0f %14" PRId64 " %14" PRId64 "  %s\n",
		    str(k, "name"), json_object_get_double(
		    json_object_array_get_idx(json_object_array_get_idx(pts, 0),
		    3)), json_object_get_double(json_object_array_get_idx(
		    json_object_array_get_idx(pts, n - 1), 3)), lo, hi,
		    str(k, "unit"));
	}
	d = json_object_object_get(r, "region_diff");
	if (!json_object_get_boolean(json_object_object_get(d, "available"))) {
		printf("\nshared region: no diff (%s)\n", str(d, "why"));
		return;
	}
	printf("\nshared region, the dump against the snapshot of %s: %" PRId64
	    " of %" PRId64 " bytes changed, in %" PRId64 " ranges\n",
	    when(num(d, "before_t"), t, sizeof(t)), num(d, "changed_bytes"),
	    num(d, "size"), num(d, "range_count"));
	json_object_object_get_ex(d, "ranges", &arr);
	for (size_t i = 0; i < json_object_array_length(arr) && i < 16; i++) {
		json_object *g = json_object_array_get_idx(arr, i);

		printf("  0x%08" PRIx64 " +%-5" PRId64 " %s\n  %*s -> %s\n",
		    num(g, "address"), num(g, "length"), str(g, "before"), 17, "",
		    str(g, "after"));
	}
	if (num(d, "range_count") > 16)
		printf("  ... (appcorectl --json crash show has up to 64)\n");
}

static int
cmd_crash(const struct ctx *c, int argc, char **argv, const char *format,
    const char *outfile)
{
	json_object *o, *arr;
	char path[128], t[40];
	struct board bd;
	int rc = 0;

	if (argc >= 1 && strcmp(argv[0], "list") == 0 && argc == 1) {
		if (c->device != NULL && !board_of(c, &bd, &rc))
			return rc;
		if (c->device != NULL)
			snprintf(path, sizeof(path), "/api/v1/crashes?device=%"
			    PRId64, bd.id);
		else
			snprintf(path, sizeof(path), "/api/v1/crashes");
		if ((o = fetch(c, path, &rc)) == NULL)
			return rc;
		if (c->device != NULL)
			board_header(c, &bd);
		json_object_object_get_ex(o, "crashes", &arr);
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *r = json_object_array_get_idx(arr, i);

			char where[80] = "";

			if (*str(r, "file") != '\0')
				snprintf(where, sizeof(where), "%s:%" PRId64 ", ",
				    str(r, "file"), num(r, "line"));
			printf("%-4" PRId64 " %s  board %" PRId64 "  %s %s: %s "
			    "(%spc 0x%08" PRIx64 ")%s\n", num(r, "id"),
			    when(num(r, "t"), t, sizeof(t)), num(r, "device"),
			    str(r, "kind"), str(r, "reason"), str(r, "message"),
			    where, num(r, "pc"), *str(r, "dump_sha256") ? "" :
			    "  [dump on its way]");
		}
		json_object_put(o);
		return 0;
	}
	if (argc == 2 && strcmp(argv[0], "show") == 0) {
		snprintf(path, sizeof(path), "/api/v1/crashes/%s/report",
		    argv[1]);
		if ((o = fetch(c, path, &rc)) == NULL)
			return rc;
		print_report(o);
		json_object_put(o);
		return 0;
	}
	if (argc == 2 && strcmp(argv[0], "get") == 0 && outfile != NULL &&
	    (!strcmp(format, "elf") || !strcmp(format, "raw") ||
	    !strcmp(format, "json"))) {
		struct buf b = { NULL, 0 };
		long st;
		bool wrote;
		FILE *f;

		snprintf(path, sizeof(path), "/api/v1/crashes/%s/dump?format=%s",
		    argv[1], format);
		st = request(c, "GET", path, NULL, 0, false, &b);
		if (st != 200) {
			if (st != 0)
				cli_error(c, "not_found", "crash %s: %s",
				    argv[1], b.p ? b.p : "no dump");
			free(b.p);
			return 1;
		}
		if ((f = fopen(outfile, "wb")) == NULL) {
			cli_error(c, "file", "%s: %s", outfile,
			    strerror(errno));
			free(b.p);
			return 1;
		}
		wrote = fwrite(b.p, 1, b.len, f) == b.len;
		if (fclose(f) != 0 || !wrote) {
			cli_error(c, "file", "%s: %s", outfile,
			    strerror(errno));
			unlink(outfile);	/* no half-written dump */
			free(b.p);
			return 1;
		}
		free(b.p);
		if (!c->json)
			printf("%s: %zu bytes (%s)\n", outfile, b.len, format);
		return 0;
	}
	return usage(stderr);
}

/* elf add FILE [--crash ID], elf list */
static int
cmd_elf(const struct ctx *c, int argc, char **argv, int64_t crash)
{
	json_object *o, *arr;
	char path[512], *p = NULL, name[201];
	const char *base;
	int rc = 0;
	long n;
	FILE *f;

	if (argc == 1 && strcmp(argv[0], "list") == 0 && crash == 0) {
		if ((o = fetch(c, "/api/v1/images", &rc)) == NULL)
			return rc;	/* or printed with --json */
		json_object_object_get_ex(o, "images", &arr);
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *m = json_object_array_get_idx(arr, i);

			printf("%s  %-24s %9" PRId64 " bytes  %6" PRId64
			    " functions  %s  %" PRId64 " crash(es)\n",
			    str(m, "sha256"), str(m, "name"), num(m, "size"),
			    num(m, "functions"), json_object_get_boolean(
			    json_object_object_get(m, "dwarf")) ? "DWARF" :
			    "no DWARF", num(m, "crashes"));
		}
		json_object_put(o);
		return 0;
	}
	if (argc != 2 || strcmp(argv[0], "add") != 0)
		return usage(stderr);
	if ((f = fopen(argv[1], "rb")) == NULL || fseek(f, 0, SEEK_END) < 0 ||
	    (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0 ||
	    (p = malloc((size_t)n + 1)) == NULL ||
	    fread(p, 1, (size_t)n, f) != (size_t)n) {
		cli_error(c, "file", "%s: %s", argv[1],
		    strerror(errno ? errno : EIO));
		if (f != NULL)
			fclose(f);
		free(p);
		return 1;
	}
	fclose(f);
	if (n == 0) {
		cli_error(c, "file", "%s: empty file", argv[1]);
		free(p);
		return 1;
	}
	base = strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1 : argv[1];
	snprintf(name, sizeof(name), "%s", base);
	for (char *q = name; *q; q++)	/* a query value: keep it plain */
		if (!isalnum((unsigned char)*q) && !strchr("._-+", *q))
			*q = '_';
	if (crash > 0)
		snprintf(path, sizeof(path), "/api/v1/images?name=%s&crash=%"
		    PRId64, name, crash);
	else
		snprintf(path, sizeof(path), "/api/v1/images?name=%s", name);
	o = call_body(c, "POST", path, p, (size_t)n, true, &rc);
	free(p);
	if (o == NULL)
		return rc;
	if (c->json)
		print_json(o);
	else
		printf("%s: core-1 image %s, %" PRId64 " functions, %s; ran %"
		    PRId64 " crash(es) stored\n", argv[1], str(o, "sha256"),
		    num(o, "functions"), json_object_get_boolean(
		    json_object_object_get(o, "dwarf")) ? "with DWARF" :
		    "no DWARF (no file:line)", num(o, "crashes"));
	json_object_put(o);
	return 0;
}

static void
sha256_of(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 32;

	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

/* The whole file into *p (malloc'd); its size, or -1 (told). */
static long
read_file(const struct ctx *c, const char *path, char **p)
{
	FILE *f;
	long n = -1;

	*p = NULL;
	errno = 0;
	if ((f = fopen(path, "rb")) != NULL && fseek(f, 0, SEEK_END) == 0 &&
	    (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (*p = malloc((size_t)n + 1)) != NULL &&
	    fread(*p, 1, (size_t)n, f) == (size_t)n) {
		fclose(f);
		return n;
	}
	cli_error(c, "file", "%s: %s", path, strerror(errno ? errno : EIO));
	if (f != NULL)
		fclose(f);
	free(*p);
	*p = NULL;
	return -1;
}

/* A progress line on a terminal: the state and a bar of what the board
 * has; one line per state otherwise. */
static void
show_progress(json_object *u, char *last, size_t lastcap)
{
	const char *state = str(u, "state");
	int64_t have = num(u, "have"), total = num(u, "size");
	int width = 30, fill = total > 0 ? (int)(have * width / total) : 0;

	if (isatty(STDERR_FILENO)) {
		fprintf(stderr, "\r%-10s [%.*s%*s] %3d%% %" PRId64 "/%" PRId64
		    " bytes ", state, fill, "##############################",
		    width - fill, "", total > 0 ? (int)(have * 100 / total) :
		    0, have, total);
		fflush(stderr);
	} else if (strcmp(state, last) != 0)
		fprintf(stderr, "%s: %" PRId64 " of %" PRId64 " bytes\n", state,
		    have, total);
	snprintf(last, lastcap, "%s", state);
}

static bool
update_over(const char *state)
{
	return !strcmp(state, "confirmed") || !strcmp(state, "rolled-back") ||
	    !strcmp(state, "failed");
}

/* Follows update id until it is over: 0 confirmed, 1 otherwise. */
static int
follow_update(const struct ctx *c, const struct board *b, int64_t id)
{
	char path[64], last[32] = "";
	json_object *u = NULL;
	int rc = 0;

	snprintf(path, sizeof(path), "/api/v1/updates/%" PRId64, id);
	for (;;) {
		json_object_put(u);
		if ((u = call(c, "GET", path, NULL, false, &rc)) == NULL)
			return rc ? rc : 1;
		if (!c->json)
			show_progress(u, last, sizeof(last));
		if (update_over(str(u, "state")))
			break;
		usleep(200000);
	}
	if (c->json)
		print_json(u);
	else {
		if (isatty(STDERR_FILENO))
			fputc('\n', stderr);
		if (!strcmp(str(u, "state"), "confirmed"))
			printf("board %s (id %" PRId64 "): core 1 runs image "
			    "%.16s... (update %" PRId64 ", confirmed)\n",
			    b->name, b->id, str(u, "elf_sha256"), id);
		else
			printf("board %s (id %" PRId64 "): update %" PRId64
			    " %s: %s\n", b->name, b->id, id, str(u, "state"),
			    str(u, "error"));
	}
	rc = strcmp(str(u, "state"), "confirmed") == 0 ? 0 : 1;
	json_object_put(u);
	return rc;
}

/* core1 update FILE [--confirm-after S] */
static int
cmd_update(const struct ctx *c, const char *file, int64_t confirm_after)
{
	char path[512], name[201], *p;
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	json_object *o;
	struct board b;
	int rc = 0;
	long n;

	if (!board_of(c, &b, &rc))
		return rc;
	if ((n = read_file(c, file, &p)) < 0)
		return 1;
	snprintf(name, sizeof(name), "%s", base);
	for (char *q = name; *q; q++)	/* a query value: keep it plain */
		if (!isalnum((unsigned char)*q) && !strchr("._-+", *q))
			*q = '_';
	{
		uint8_t md[32];
		char hex[65];

		sha256_of(p, (size_t)n, md);
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		snprintf(path, sizeof(path), "/api/v1/devices/%" PRId64
		    "/core1/update?confirm_after=%" PRId64 "&name=%s&sha256=%s",
		    b.id, confirm_after, name, hex);
	}
	o = call_body(c, "POST", path, p, (size_t)n, true, &rc);
	free(p);
	if (o == NULL)
		return rc;
	n = (long)num(o, "id");
	json_object_put(o);
	if (!c->json)
		fprintf(stderr, "update %ld of board %s (id %" PRId64 "): %s\n",
		    n, b.name, b.id, file);
	return follow_update(c, &b, n);
}

/* core1 status */
static int
cmd_core1_status(const struct ctx *c)
{
	json_object *o, *s, *u;
	struct board b;
	char path[64];
	int rc = 0;

	if (!board_of(c, &b, &rc))
		return rc;
	snprintf(path, sizeof(path), "/api/v1/devices/%" PRId64 "/core1",
	    b.id);
	if ((o = fetch(c, path, &rc)) == NULL)
		return rc;
	printf("board %s (id %" PRId64 ")\n", b.name, b.id);
	if (json_object_object_get_ex(o, "slots", &s) && s != NULL)
		printf("  slots      %s active (image %.16s...), %" PRId64
		    " bytes each; last: %s%s%s\n", str(s, "active"),
		    str(s, "active_image"), num(s, "slot_size"),
		    str(s, "state"), *str(s, "error") ? ", " : "",
		    str(s, "error"));
	else
		printf("  slots      not reported (an agent without image "
		    "slots, or not connected)\n");
	if (json_object_object_get_ex(o, "update", &u) && u != NULL)
		printf("  update     %" PRId64 " %s, %" PRId64 " of %" PRId64
		    " bytes%s%s\n", num(u, "id"), str(u, "state"),
		    num(u, "have"), num(u, "size"), *str(u, "error") ? ": " :
		    "", str(u, "error"));
	json_object_put(o);
	return 0;
}

static int
cmd_control(const struct ctx *c, const char *action, const char *body)
{
	json_object *o;
	struct board b;
	char path[96];
	int rc = 0;

	if (!board_of(c, &b, &rc))
		return rc;
	snprintf(path, sizeof(path), "/api/v1/devices/%" PRId64 "/%s", b.id,
	    action);
	if ((o = call(c, "POST", path, body, true, &rc)) == NULL)
		return rc;
	if (c->json)
		print_json(o);
	else
		printf("%s: sent to board %s (id %" PRId64 ")\n",
		    str(o, "command"), b.name, b.id);
	json_object_put(o);
	return 0;
}

/* query SQL: the daemon runs it read-only; printed as sqlite3 does. */
static int
cmd_query(const struct ctx *c, const char *sql, int64_t limit)
{
	CURL *h = curl_easy_init();
	json_object *o, *cols, *rows;
	char *esc, *path;
	int rc = 0;

	if (h == NULL || (esc = curl_easy_escape(h, sql, 0)) == NULL) {
		curl_easy_cleanup(h);
		return 1;
	}
	if (asprintf(&path, "/api/v1/query?limit=%" PRId64 "&sql=%s", limit,
	    esc) < 0)
		path = NULL;
	curl_free(esc);
	curl_easy_cleanup(h);
	if (path == NULL)
		return 1;
	o = call(c, "GET", path, NULL, false, &rc);
	free(path);
	if (o == NULL)
		return rc;
	if (c->json) {
		print_json(o);
		json_object_put(o);
		return 0;
	}
	json_object_object_get_ex(o, "columns", &cols);
	json_object_object_get_ex(o, "rows", &rows);
	for (size_t i = 0; i < json_object_array_length(cols); i++)
		printf("%s%s", i ? "|" : "", json_object_get_string(
		    json_object_array_get_idx(cols, i)));
	printf("\n");
	for (size_t r = 0; r < json_object_array_length(rows); r++) {
		json_object *row = json_object_array_get_idx(rows, r);

		for (size_t i = 0; i < json_object_array_length(row); i++) {
			json_object *v = json_object_array_get_idx(row, i);

			printf("%s%s", i ? "|" : "", v == NULL ? "" :
			    json_object_get_string(v));
		}
		printf("\n");
	}
	if (json_object_get_boolean(json_object_object_get(o, "truncated")))
		fprintf(stderr, "appcorectl: more rows than --limit %" PRId64
		    "\n", limit);
	json_object_put(o);
	return 0;
}

/*
 * watch: one board's live stream (server-sent events), as a screen
 * redrawn every second on a terminal (as many counters as fit, those
 * whose name has --filter's text), or appended once a second otherwise.
 * logs -f reads the same stream for the board's log.
 */
struct watch {
	const struct ctx *c;
	struct board b;
	json_object *dev;		/* names and units */
	char state[32];			/* core 1, as last told */
	char line[65536];
	size_t len;
	char event[32];
	bool logs;			/* logs -f: only the log */
	int64_t count, shown;
	int64_t prev_t, next_t;
	int64_t prev[256];
	size_t nprev;
	bool tty;
};

/* Rows a screen has for counters: the terminal's height less the
 * header and the line that says how many more there are. */
static size_t
screen_rows(const struct watch *w)
{
	struct winsize ws;

	if (!w->tty || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 ||
	    ws.ws_row < 6)
		return SIZE_MAX;
	return (size_t)ws.ws_row - 4;
}

static bool
wanted(const struct watch *w, json_object *k)
{
	return w->c->filter == NULL || (k != NULL &&
	    strstr(str(k, "name"), w->c->filter) != NULL);
}

static void
watch_screen(struct watch *w, json_object *vals, int64_t t, double dt)
{
	json_object *ctrs;
	size_t n = json_object_array_length(vals), rows = screen_rows(w);
	size_t shown = 0, more = 0;
	char ts[40];

	json_object_object_get_ex(w->dev, "counters", &ctrs);
	if (w->tty)
		printf("\033[H\033[J");
	printf("board %s (id %" PRId64 ")  core 1 %s  %s UTC%s%s\n",
	    w->b.name, w->b.id, w->state, when(t, ts, sizeof(ts)),
	    w->c->filter ? "  filter: " : "", w->c->filter ? w->c->filter :
	    "");
	printf("%-24s %14s %-8s %12s\n", "COUNTER", "VALUE", "UNIT", "PER S");
	for (size_t i = 0; i < n; i++) {
		json_object *k = json_object_array_get_idx(ctrs, i);
		int64_t v = json_object_get_int64(json_object_array_get_idx(vals,
		    i));

		if (!wanted(w, k))
			continue;
		if (shown >= rows) {
			more++;
			continue;
		}
		shown++;
		printf("%-24s %14" PRId64 " %-8s ", k ? str(k, "name") : "?", v,
		    k ? str(k, "unit") : "");
		if (i < w->nprev && dt > 0)
			printf("%12.1f\n", (double)(v - w->prev[i]) / dt);
		else
			printf("%12s\n", "-");
	}
	if (more > 0)
		printf("... %zu more: --filter TEXT shows fewer\n", more);
	if (!w->tty)
		printf("\n");
}

static void
watch_sample(struct watch *w, json_object *d)
{
	json_object *vals;
	int64_t t = num(d, "t");
	double dt = (double)(t - w->prev_t) / 1e6;
	size_t n;

	if (t < w->next_t)
		return;
	w->next_t = t + 1000000;
	json_object_object_get_ex(d, "values", &vals);
	n = json_object_array_length(vals);
	if (w->c->json)
		printf("%s\n", json_object_to_json_string_ext(d,
		    JSON_C_TO_STRING_PLAIN));
	else
		watch_screen(w, vals, t, dt);
	fflush(stdout);
	w->nprev = n < 256 ? n : 256;
	for (size_t i = 0; i < w->nprev; i++)
		w->prev[i] = json_object_get_int64(json_object_array_get_idx(vals,
		    i));
	w->prev_t = t;
	w->shown++;
}

/* A state change or a crash, as a line (not on a redrawn screen). */
static void
watch_line(struct watch *w, json_object *d)
{
	char ts[40];

	if (w->c->json)
		printf("%s\n", json_object_to_json_string_ext(d,
		    JSON_C_TO_STRING_PLAIN));
	else if (!strcmp(w->event, "state"))
		printf("%s  core 1: %s -> %s %s\n", when(num(d, "t"), ts,
		    sizeof(ts)), str(d, "prev"), str(d, "state"),
		    str(d, "detail"));
	else if (!strcmp(w->event, "crash"))
		printf("%s  CRASH %s: %s (%s:%" PRId64 ", pc 0x%08" PRIx64 ")\n",
		    when(num(d, "t"), ts, sizeof(ts)), str(d, "reason"),
		    str(d, "message"), str(d, "file"), num(d, "line"),
		    num(d, "pc"));
}

static void
watch_event(struct watch *w, const char *data)
{
	json_object *d = json_tokener_parse(data), *dev;

	if (d == NULL)
		return;
	if (json_object_object_get_ex(d, "device", &dev) &&
	    json_object_get_int64(dev) != w->b.id) {
		json_object_put(d);	/* another board's */
		return;
	}
	if (w->logs) {
		if (!strcmp(w->event, "log")) {
			print_row(w->c, d, true);
			w->shown++;
		}
	} else if (!strcmp(w->event, "sample"))
		watch_sample(w, d);
	else {
		if (!strcmp(w->event, "state"))
			snprintf(w->state, sizeof(w->state), "%s",
			    str(d, "state"));
		if (!w->tty)
			watch_line(w, d);
	}
	fflush(stdout);
	json_object_put(d);
}

static size_t
watch_data(void *data, size_t size, size_t n, void *arg)
{
	struct watch *w = arg;
	const char *p = data;

	for (size_t i = 0; i < size * n; i++) {
		if (p[i] != '\n') {
			if (w->len < sizeof(w->line) - 1)
				w->line[w->len++] = p[i];
			continue;
		}
		w->line[w->len] = '\0';
		if (!strncmp(w->line, "event: ", 7))
			snprintf(w->event, sizeof(w->event), "%s", w->line + 7);
		else if (!strncmp(w->line, "data: ", 6))
			watch_event(w, w->line + 6);
		else if (w->len == 0)
			w->event[0] = '\0';
		w->len = 0;
		if (w->count > 0 && w->shown >= w->count)
			return 0;	/* done: ends the transfer */
	}
	return size * n;
}

/* Reads the board's stream until count updates (0: until it ends). */
static int
stream_board(struct watch *w)
{
	char path[96];
	CURLcode res;
	CURL *h;
	int rc = 0;

	snprintf(path, sizeof(path), "/api/v1/stream?device=%" PRId64,
	    w->b.id);
	if ((h = handle(w->c, path)) == NULL)
		return 1;
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, watch_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	res = curl_easy_perform(h);
	if (res != CURLE_OK && !(res == CURLE_WRITE_ERROR && w->count > 0 &&
	    w->shown >= w->count)) {
		cli_error(w->c, "stream", "the live stream: %s",
		    curl_easy_strerror(res));
		rc = 1;
	}
	curl_easy_cleanup(h);
	return rc;
}

static int
cmd_watch(const struct ctx *c, int64_t count)
{
	struct watch *w;
	char path[96];
	int rc = 0;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return 1;
	w->c = c;
	w->count = count;
	w->tty = isatty(STDOUT_FILENO) && !c->json;
	if (!board_of(c, &w->b, &rc)) {
		free(w);
		return rc;
	}
	snprintf(path, sizeof(path), "/api/v1/devices/%" PRId64, w->b.id);
	if ((w->dev = call(c, "GET", path, NULL, false, &rc)) == NULL) {
		free(w);
		return rc;
	}
	snprintf(w->state, sizeof(w->state), "%s", str(w->dev, "state"));
	rc = stream_board(w);
	json_object_put(w->dev);
	free(w);
	return rc;
}

/* logs -f: the board's log as it comes, until the stream ends. */
static int
follow_logs(const struct ctx *c, const struct board *b, int64_t count)
{
	struct watch *w = calloc(1, sizeof(*w));
	int rc;

	if (w == NULL)
		return 1;
	w->c = c;
	w->b = *b;
	w->logs = true;
	w->count = count;
	rc = stream_board(w);
	free(w);
	return rc;
}

static int
parse_pos(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static const struct option longopts[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "url", required_argument, NULL, 'u' },
	{ "token-file", required_argument, NULL, 't' },
	{ "json", no_argument, NULL, 'j' },
	{ "device", required_argument, NULL, 'd' },
	{ "limit", required_argument, NULL, 'l' },
	{ "format", required_argument, NULL, 'F' },
	{ "output", required_argument, NULL, 'o' },
	{ "count", required_argument, NULL, 'n' },
	{ "crash", required_argument, NULL, 'c' },
	{ "filter", required_argument, NULL, 'w' },
	{ "follow", no_argument, NULL, 'f' },
	{ "confirm-after", required_argument, NULL, 'C' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};
#define SHORTOPTS	"+d:o:l:n:c:fjhV"

/* What the options set, beside the context. */
struct opts {
	const char *format, *outfile;
	int64_t limit, count, crash;
	bool limit_set, follow;
	int64_t confirm_after;		/* core1 update, seconds */
};

static const char *const commands[] = { "status", "devices", "counters",
	"watch", "events", "logs", "crash", "elf", "core1", "rate", "query",
	"port", NULL };

/* Options may come before or after the command's words: getopt with '+'
 * stops at each word, which is skipped.  2 on a usage error (told), -1
 * for --help or --version (done), else 0. */
static int
parse_opts(int argc, char **argv, struct ctx *c, struct opts *o)
{
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, SHORTOPTS, longopts, NULL)) !=
	    -1 || optind < argc) {
		if (ch == -1) {		/* a command word: keep it, go on */
			optind++;
			continue;
		}
		switch (ch) {
		case 's': c->socket = optarg; break;
		case 'u':
			if (strncmp(optarg, "http://", 7) != 0) {
				cli_error(c, "usage", "--url: '%s' is not "
				    "http://HOST:PORT", optarg);
				return 2;
			}
			c->url = optarg;
			break;
		case 't': c->token_file = optarg; break;
		case 'j': c->json = true; break;
		case 'F': o->format = optarg; break;
		case 'o': o->outfile = optarg; break;
		case 'd': c->device = optarg; break;
		case 'w': c->filter = optarg; break;
		case 'f': o->follow = true; break;
		case 'l':
			if (parse_pos(optarg, 1, 10000, &o->limit) < 0) {
				cli_error(c, "usage", "--limit: 1 to 1000 "
				    "(query: 10000)");
				return 2;
			}
			o->limit_set = true;
			break;
		case 'c':
			if (parse_pos(optarg, 1, INT64_MAX, &o->crash) < 0) {
				cli_error(c, "usage", "--crash: '%s' is not a "
				    "crash id", optarg);
				return 2;
			}
			break;
		case 'n':
			if (parse_pos(optarg, 1, INT64_MAX, &o->count) < 0) {
				cli_error(c, "usage", "--count: a number of "
				    "updates");
				return 2;
			}
			break;
		case 'C':
			if (parse_pos(optarg, 1, 3600, &o->confirm_after) < 0) {
				cli_error(c, "usage", "--confirm-after: 1 to "
				    "3600 seconds");
				return 2;
			}
			break;
		case 'h': usage(stdout); return -1;
		case 'V': printf("appcorectl %s\n", APPCORE_VERSION); return -1;
		default: return usage(stderr);
		}
	}
	return 0;
}

/* The command's words, in order, without the options and their
 * arguments. */
static int
command_words(int argc, char **argv, char **words, int max)
{
	int nw = 0;

	for (int i = 1; i < argc && nw < max; i++) {
		bool takes = false;

		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			for (const struct option *o = longopts; o->name; o++)
				if (argv[i][1] == '-' &&
				    strcmp(argv[i] + 2, o->name) == 0)
					takes = o->has_arg;
			if (argv[i][1] != '-' && strchr("dolnc", argv[i][1]) !=
			    NULL && argv[i][2] == '\0')
				takes = true;
			i += takes;
			continue;
		}
		words[nw++] = argv[i];
	}
	return nw;
}

static bool
known_command(const char *w)
{
	for (const char *const *k = commands; *k != NULL; k++)
		if (strcmp(*k, w) == 0)
			return true;
	return false;
}

static int
cmd_policy(const struct ctx *c, const char *what)
{
	char body[64];
	int64_t n;

	if (!strcmp(what, "never") || !strcmp(what, "always"))
		snprintf(body, sizeof(body), "{\"policy\": \"%s\"}", what);
	else if (parse_pos(what, 1, 16, &n) == 0)
		snprintf(body, sizeof(body), "{\"policy\": \"limit\", "
		    "\"max\": %" PRId64 "}", n);
	else {
		cli_error(c, "usage", "core1 policy: '%s' is not never, always "
		    "or 1..16 (restarts an hour)", what);
		return 2;
	}
	return cmd_control(c, "restart-policy", body);
}

static int
cmd_rate(const struct ctx *c, const char *what)
{
	char body[64];
	int64_t hz;

	if (parse_pos(what, 1, 1000, &hz) < 0) {
		cli_error(c, "usage", "rate set: '%s' is not 1..1000 Hz", what);
		return 2;
	}
	snprintf(body, sizeof(body), "{\"hz\": %" PRId64 "}", hz);
	return cmd_control(c, "rate", body);
}

/* port release PORT [SECONDS], port reclaim PORT */
static int
cmd_port(const struct ctx *c, const char *what, const char *port,
    const char *secs)
{
	json_object *body = json_object_new_object(), *o;
	char path[64];
	int64_t n = 120;
	int rc = 0;

	if (secs != NULL && parse_pos(secs, 1, 3600, &n) < 0) {
		cli_error(c, "usage", "port release: '%s' is not 1..3600 "
		    "seconds", secs);
		json_object_put(body);
		return 2;
	}
	json_object_object_add(body, "port", json_object_new_string(port));
	if (!strcmp(what, "release"))
		json_object_object_add(body, "seconds",
		    json_object_new_int64(n));
	snprintf(path, sizeof(path), "/api/v1/ports/%s", what);
	o = call(c, "POST", path, json_object_to_json_string(body), true, &rc);
	json_object_put(body);
	if (o == NULL)
		return rc;
	if (c->json)
		print_json(o);
	else if (!strcmp(what, "release"))
		printf("%s: appcored lets go of it for %" PRId64 " s (port "
		    "reclaim %s ends that sooner)\n", port, n, port);
	else
		printf("%s: appcored may open it again\n", port);
	json_object_put(o);
	return 0;
}

static int
dispatch(const struct ctx *c, const struct opts *o, char **w, int nw)
{
	if (!known_command(w[0])) {
		cli_error(c, "usage", "unknown command '%s' (appcorectl --help "
		    "lists them)", w[0]);
		return 2;
	}
	if (!strcmp(w[0], "query") && nw == 2)
		return cmd_query(c, w[1], o->limit_set ? o->limit : 1000);
	if (o->limit > 1000) {
		cli_error(c, "usage", "--limit: 1 to 1000");
		return 2;
	}
	if (nw == 1 && !strcmp(w[0], "status"))
		return cmd_status(c);
	if (nw == 1 && !strcmp(w[0], "devices"))
		return cmd_devices(c);
	if (nw == 1 && !strcmp(w[0], "counters"))
		return cmd_counters(c);
	if (nw == 1 && !strcmp(w[0], "watch"))
		return cmd_watch(c, o->count);
	if (nw == 1 && !strcmp(w[0], "events") && !o->follow)
		return cmd_rows(c, o->limit, false, false, 0);
	if (nw == 1 && !strcmp(w[0], "logs"))
		return cmd_rows(c, o->limit, true, o->follow, o->count);
	if (nw >= 2 && !strcmp(w[0], "crash"))
		return cmd_crash(c, nw - 1, w + 1, o->format, o->outfile);
	if (nw >= 2 && !strcmp(w[0], "elf"))
		return cmd_elf(c, nw - 1, w + 1, o->crash);
	if (nw == 2 && !strcmp(w[0], "core1") && !strcmp(w[1], "restart"))
		return cmd_control(c, "restart", NULL);
	if (nw == 3 && !strcmp(w[0], "core1") && !strcmp(w[1], "policy"))
		return cmd_policy(c, w[2]);
	if (nw == 3 && !strcmp(w[0], "core1") && !strcmp(w[1], "update"))
		return cmd_update(c, w[2], o->confirm_after);
	if (nw == 2 && !strcmp(w[0], "core1") && !strcmp(w[1], "status"))
		return cmd_core1_status(c);
	if (nw == 3 && !strcmp(w[0], "rate") && !strcmp(w[1], "set"))
		return cmd_rate(c, w[2]);
	if ((nw == 3 || nw == 4) && !strcmp(w[0], "port") &&
	    !strcmp(w[1], "release"))
		return cmd_port(c, "release", w[2], nw == 4 ? w[3] : NULL);
	if (nw == 3 && !strcmp(w[0], "port") && !strcmp(w[1], "reclaim"))
		return cmd_port(c, "reclaim", w[2], NULL);
	if (c->json)
		cli_error(c, "usage", "%s: not so (appcorectl --help)", w[0]);
	else
		usage(stderr);
	return 2;
}

int
main(int argc, char **argv)
{
	struct ctx c = { getenv("APPCORE_SOCKET"), NULL,
	    getenv("APPCORE_TOKEN_FILE"), false, NULL, NULL };
	struct opts o = { "elf", NULL, 50, 0, 0, false, false, 10 };
	char *words[8];
	int nw, rc;

	if (c.socket == NULL)
		c.socket = DEFAULT_SOCKET;
	/* --json first, so that even option errors come as JSON. */
	for (int i = 1; i < argc; i++)
		c.json |= strcmp(argv[i], "--json") == 0;
	if ((rc = parse_opts(argc, argv, &c, &o)) != 0)
		return rc < 0 ? 0 : rc;
	if ((nw = command_words(argc, argv, words, 8)) == 0)
		return usage(stderr);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = dispatch(&c, &o, words, nw);
	curl_global_cleanup();
	return rc;
}
