/*
 * /metrics: Prometheus text (docs/api.md).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stddef.h>
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
#include "procstat.h"
#include "promunit.h"
#include "symbols.h"
#include "wallclock.h"

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

/* A metric family's HELP and TYPE lines. */
static void
family_head(struct buf *b, const char *name, const char *type,
    const char *help)
{
	bprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* ---- core-1 counters ---- */

/*
 * A core-1 counter's family: appcore_core1_<base unit>[_total] when its
 * unit has a Prometheus base unit, else appcore_core1_total (counters) or
 * appcore_core1_value (gauges) with a unit label.  A counter's value is
 * its total since boot, extended past core 1's 32-bit wrap (live.h).
 *
 * Families are numbered: 0 the unit-labelled one, 1 + k the one of
 * promunit_base(k); each counter's number is looked up once per scrape.
 */
struct core1_families {
	int8_t of[LIVE_MAX_DEVICES][AC_MAX_COUNTERS];	/* -1: not exported */
};

static int8_t
family_of(const struct live_counter *c)
{
	if (c->kind != AC_KIND_COUNTER && c->kind != AC_KIND_GAUGE)
		return -1;
	return (int8_t)promunit_family(c->unit);
}

static void
number_families(struct core1_families *f, const struct live *l)
{
	for (int i = 0; i < l->ndev; i++)
		for (uint32_t k = 0; k < l->dev[i].ncols; k++)
			f->of[i][k] = family_of(&l->dev[i].c[k]);
}

static bool
in_family(const struct core1_families *f, const struct live *l, int i,
    uint32_t k, bool counter, int fam)
{
	return f->of[i][k] == fam &&
	    (l->dev[i].c[k].kind == AC_KIND_COUNTER) == counter;
}

/* "} value\n": integers exactly, scaled values to 15 digits. */
static void
core1_value(struct buf *b, const struct live_counter *c, double scale)
{
	bool counter = c->kind == AC_KIND_COUNTER;

	if (scale != 1)
		bprintf(b, "} %.15g\n", scale * (counter ? (double)c->total :
		    (double)c->value));
	else if (counter)
		bprintf(b, "} %" PRIu64 "\n", c->total);
	else
		bprintf(b, "} %" PRId64 "\n", c->value);
}

static bool
family_used(const struct core1_families *f, const struct live *l,
    bool counter, int fam)
{
	for (int i = 0; i < l->ndev; i++)
		for (uint32_t k = 0; k < l->dev[i].ncols; k++)
			if (in_family(f, l, i, k, counter, fam))
				return true;
	return false;
}

static void
core1_family(struct buf *b, const struct live *l,
    const struct core1_families *f, bool counter, int fam)
{
	const char *base = fam > 0 ? promunit_base((unsigned)fam - 1) : NULL;
	char name[64], help[128], dn[160], cn[96], un[32];

	if (!family_used(f, l, counter, fam))
		return;
	if (base != NULL)
		snprintf(name, sizeof(name), "appcore_core1_%s%s", base,
		    counter ? "_total" : "");
	else
		snprintf(name, sizeof(name), "appcore_core1_%s", counter ?
		    "total" : "value");
	snprintf(help, sizeof(help), "%s%s%s.", counter ? "A core-1 counter: "
	    "its total since the board booted, past 32-bit wraps" :
	    "A core-1 gauge", base ? ", in " : " (unit in the unit label)",
	    base ? base : "");
	family_head(b, name, counter ? "counter" : "gauge", help);
	for (int i = 0; i < l->ndev; i++)
		for (uint32_t k = 0; k < l->dev[i].ncols; k++) {
			const struct live_counter *c = &l->dev[i].c[k];

			if (!in_family(f, l, i, k, counter, fam))
				continue;
			bprintf(b, "%s{board=\"%s\",name=\"%s\"", name,
			    esc(l->dev[i].name, dn, sizeof(dn)),
			    esc(c->name, cn, sizeof(cn)));
			if (base == NULL)
				bprintf(b, ",unit=\"%s\"", esc(c->unit, un,
				    sizeof(un)));
			core1_value(b, c, base != NULL ?
			    promunit_find(c->unit)->scale : 1);
		}
}

static void
core1_metrics(struct buf *b, const struct live *l)
{
	struct core1_families f;

	number_families(&f, l);
	/* Counters first, gauges next; family 0, then one per base unit. */
	for (int counter = 1; counter >= 0; counter--)
		for (int fam = 0; fam == 0 || promunit_base((unsigned)fam - 1) !=
		    NULL; fam++)
			core1_family(b, l, &f, counter, fam);
}

/* ---- boards ---- */

static void
board_metrics(struct buf *b, const struct live *l)
{
	char dn[160];

	family_head(b, "appcore_board_connected", "gauge",
	    "Whether the board's link is up.");
	for (int i = 0; i < l->ndev; i++)
		bprintf(b, "appcore_board_connected{board=\"%s\"} %d\n",
		    esc(l->dev[i].name, dn, sizeof(dn)), l->dev[i].connected);
	family_head(b, "appcore_core1_state", "gauge",
	    "Core 1's state (1 for the current one).");
	for (int i = 0; i < l->ndev; i++)
		for (unsigned s = 0; s < AC_STATE_COUNT; s++)
			bprintf(b, "appcore_core1_state{board=\"%s\",state="
			    "\"%s\"} %d\n", esc(l->dev[i].name, dn, sizeof(dn)),
			    ac_state_name(s), l->dev[i].state == s);
	family_head(b, "appcore_core1_heartbeats_total", "counter",
	    "Core 1's heartbeat count.");
	for (int i = 0; i < l->ndev; i++)
		bprintf(b, "appcore_core1_heartbeats_total{board=\"%s\"} %u\n",
		    esc(l->dev[i].name, dn, sizeof(dn)), l->dev[i].heartbeat);
}

#define LINK_FIELD(f)	offsetof(struct live_device, f)

static const struct {
	const char *metric, *help;
	size_t off;
} link_metrics[] = {
	{ "rx_bytes_total", "Bytes received from the agent.",
	    LINK_FIELD(health.rx_bytes) },
	{ "frames_total", "Good frames received.", LINK_FIELD(health.frames) },
	{ "crc_errors_total", "Frames that failed their CRC.",
	    LINK_FIELD(health.crc_errors) },
	{ "framing_errors_total", "Frames that did not decode.",
	    LINK_FIELD(health.framing_errors) },
	{ "frames_lost_total", "Frames missing from the sequence.",
	    LINK_FIELD(health.frames_lost) },
	{ "samples_lost_total", "Samples of the current boot produced and "
	    "not stored.", LINK_FIELD(health.samples_lost) },
	{ "samples_produced_total", "Samples of the current boot the agent "
	    "produced, as far as the host knows.",
	    LINK_FIELD(health.samples_produced) },
	{ "samples_stored_total", "Samples of the current boot stored.",
	    LINK_FIELD(health.samples_stored) },
	{ "samples_duplicate_total", "Samples received a second time "
	    "(replayed frames), not stored again.",
	    LINK_FIELD(health.samples_dup) },
	{ "frames_duplicate_total", "Frames received a second time.",
	    LINK_FIELD(health.frames_dup) },
	{ "frames_stale_total", "Frames too old to place, ignored.",
	    LINK_FIELD(health.frames_stale) },
	{ "samples_unattributed_total", "Samples that arrived before their "
	    "boot's HELLO.", LINK_FIELD(health.samples_unattributed) },
	{ "agent_samples_dropped_total", "Samples the agent had to drop.",
	    LINK_FIELD(health.agent.samples_dropped) },
};

static void
link_metrics_all(struct buf *b, const struct live *l)
{
	char dn[160], fam[80];

	for (size_t m = 0; m < sizeof(link_metrics) / sizeof(link_metrics[0]);
	    m++) {
		snprintf(fam, sizeof(fam), "appcore_link_%s",
		    link_metrics[m].metric);
		family_head(b, fam, "counter", link_metrics[m].help);
		for (int i = 0; i < l->ndev; i++) {
			uint64_t v;

			memcpy(&v, (const char *)&l->dev[i] +
			    link_metrics[m].off, sizeof(v));
			bprintf(b, "%s{board=\"%s\"} %" PRIu64 "\n", fam,
			    esc(l->dev[i].name, dn, sizeof(dn)), v);
		}
	}
}

/* ---- the daemon ---- */

static void
daemon_metric(struct buf *b, const char *name, const char *type,
    const char *help, double v)
{
	family_head(b, name, type, help);
	bprintf(b, "%s %.15g\n", name, v);
}

static void
store_metrics(struct buf *b, const struct store_copy *st)
{
	daemon_metric(b, "appcored_samples_stored_total", "counter",
	    "Samples committed to the database.", (double)st->samples_written);
	daemon_metric(b, "appcored_commit_failures_total", "counter",
	    "Database commits that failed.", (double)st->commit_failures);
	daemon_metric(b, "appcored_writes_paused", "gauge",
	    "Whether database writes are failing now.", st->paused);
	daemon_metric(b, "appcored_queued_rows", "gauge",
	    "Rows waiting to be written.", (double)st->queued);
	daemon_metric(b, "appcored_database_bytes", "gauge",
	    "Used bytes of the database.", (double)st->db_bytes);
	daemon_metric(b, "appcored_rows_lost_total", "counter", "History rows "
	    "(events, logs, states, roll-ups) dropped because the write queue "
	    "was full while database writes failed.", (double)st->rows_lost);
	daemon_metric(b, "appcored_samples_lost_total", "counter",
	    "Samples dropped the same way.", (double)st->samples_lost);
	daemon_metric(b, "appcored_blobs_removed_total", "counter", "Blobs no "
	    "row referred to any more, removed.", (double)st->blobs_removed);
	daemon_metric(b, "appcored_devices_tracked", "gauge", "Boards held in "
	    "memory.",
	    (double)st->devices_tracked);
	daemon_metric(b, "appcored_devices_forgotten_total", "counter",
	    "Unlinked boards dropped from memory to make room.",
	    (double)st->devices_forgotten);
}

static void
export_metrics(struct buf *b, const struct live_export *x)
{
	daemon_metric(b, "appcored_clickhouse_enabled", "gauge", "Whether raw "
	    "history is forwarded to ClickHouse.", x->enabled);
	daemon_metric(b, "appcored_clickhouse_rows_sent_total", "counter",
	    "Rows ClickHouse accepted.", (double)x->rows_sent);
	daemon_metric(b, "appcored_clickhouse_rows_dropped_total", "counter",
	    "Rows dropped because the forwarding queue was full.",
	    (double)x->rows_dropped);
	daemon_metric(b, "appcored_clickhouse_inserts_total", "counter",
	    "Inserts ClickHouse accepted.", (double)x->inserts);
	daemon_metric(b, "appcored_clickhouse_insert_failures_total", "counter",
	    "Inserts that failed (retried).", (double)x->failures);
	daemon_metric(b, "appcored_clickhouse_queued_bytes", "gauge",
	    "Bytes waiting to be sent to ClickHouse.", (double)x->queued_bytes);
	daemon_metric(b, "appcored_clickhouse_queued_rows", "gauge",
	    "Rows waiting to be sent to ClickHouse.", (double)x->queued_rows);
}

static void
http_metrics(struct buf *b, struct http *h, unsigned clients,
    uint64_t dropped)
{
	uint64_t cut, refused;

	http_edge_counts(h, &cut, &refused);
	daemon_metric(b, "appcored_stream_clients", "gauge",
	    "Live stream clients.", clients);
	daemon_metric(b, "appcored_stream_clients_dropped_total", "counter",
	    "Stream clients dropped for falling behind.", (double)dropped);
	daemon_metric(b, "appcored_http_late_heads_total", "counter",
	    "Connections shut down for not sending a request head within "
	    "10 s.", (double)cut);
	daemon_metric(b, "appcored_http_refused_total", "counter",
	    "Connections refused to keep room for other clients.",
	    (double)refused);
	daemon_metric(b, "appcored_live_reads_waiting", "gauge", "Live memory "
	    "reads waiting for the agent's answer.",
	    bridge_reads_waiting(http_bridge(h)));
	daemon_metric(b, "appcored_blob_reads_waiting", "gauge", "Snapshot, "
	    "dump and image reads waiting for the ingest thread.",
	    bridge_blob_pending(http_bridge(h)));
}

/* The standard process_* metrics of Prometheus's client libraries. */
static void
process_metrics(struct buf *b)
{
	struct procstat p;

	if (procstat_read(&p) < 0)
		return;
	daemon_metric(b, "process_cpu_seconds_total", "counter",
	    "Total user and system CPU time spent in seconds.", p.cpu_seconds);
	daemon_metric(b, "process_resident_memory_bytes", "gauge",
	    "Resident memory size in bytes.", (double)p.resident_bytes);
	daemon_metric(b, "process_virtual_memory_bytes", "gauge",
	    "Virtual memory size in bytes.", (double)p.virtual_bytes);
	daemon_metric(b, "process_open_fds", "gauge",
	    "Number of open file descriptors.", (double)p.open_fds);
	daemon_metric(b, "process_max_fds", "gauge",
	    "Maximum number of open file descriptors.", (double)p.max_fds);
	daemon_metric(b, "process_start_time_seconds", "gauge", "Start time "
	    "of the process since unix epoch in seconds.", p.start_time);
	daemon_metric(b, "process_threads", "gauge",
	    "Number of OS threads in the process.", (double)p.threads);
}

void
api_metrics(struct http *h, struct api_reply *a)
{
	struct live *l = bridge_live(http_bridge(h));
	struct buf b = { malloc(16384), 0, 16384, false };
	struct store_copy st;
	struct live_export x;
	unsigned clients = 0;
	uint64_t dropped, started;

	if (b.p == NULL) {
		api_error(a, 503, "unavailable", "out of memory");
		return;
	}
	pthread_mutex_lock(&l->mu);
	core1_metrics(&b, l);
	board_metrics(&b, l);
	link_metrics_all(&b, l);
	for (struct live_client *cl = l->clients; cl != NULL; cl = cl->next)
		clients++;
	st = l->store;
	x = l->export;
	dropped = l->clients_dropped;
	started = l->started;
	pthread_mutex_unlock(&l->mu);
	store_metrics(&b, &st);
	export_metrics(&b, &x);
	http_metrics(&b, h, clients, dropped);
	daemon_metric(&b, "appcored_uptime_seconds", "gauge",
	    "Seconds since appcored started.",
	    (double)(now_wall_us() - started) / 1e6);
	process_metrics(&b);
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

/* The forwarder's figures; its URL without user or password. */
static json_object *
clickhouse_status(const struct chx_cfg *c, const struct live_export *x)
{
	json_object *o = json_object_new_object();
	const char *at = strchr(c->url, '@');
	char url[sizeof(c->url)];

	if (at != NULL)
		snprintf(url, sizeof(url), "%.*s%s", (int)(strstr(c->url,
		    "://") != NULL ? strstr(c->url, "://") + 3 - c->url : 0),
		    c->url, at + 1);
	else
		snprintf(url, sizeof(url), "%s", c->url);
	json_object_object_add(o, "url", jv_string(url));
	json_object_object_add(o, "database", jv_string(c->database));
	json_object_object_add(o, "rows_sent",
	    json_object_new_int64((int64_t)x->rows_sent));
	json_object_object_add(o, "rows_dropped",
	    json_object_new_int64((int64_t)x->rows_dropped));
	json_object_object_add(o, "rows_queued",
	    json_object_new_int64((int64_t)x->queued_rows));
	json_object_object_add(o, "insert_failures",
	    json_object_new_int64((int64_t)x->failures));
	return o;
}

/* The daemon's own facts: what `appcorectl status` prints. */
void
get_status(struct http *h, struct api_reply *a)
{
	struct live *l = bridge_live(http_bridge(h));
	const struct config *cfg = http_cfg(h);
	json_object *o = json_object_new_object();
	char db[300], host[128], url[200];
	int devices, connected = 0;
	uint64_t started, db_bytes, file_bytes, raw_blocks;
	struct live_export x;

	pthread_mutex_lock(&l->mu);
	devices = l->ndev;
	for (int i = 0; i < l->ndev; i++)
		connected += l->dev[i].connected;
	started = l->started;
	db_bytes = l->store.db_bytes;
	file_bytes = l->store.file_bytes;
	raw_blocks = l->store.raw_blocks;
	x = l->export;
	pthread_mutex_unlock(&l->mu);
	snprintf(db, sizeof(db), "%s/appcore.db", cfg->state_dir);
	snprintf(host, sizeof(host), "%s", cfg->listen);
	if (strrchr(host, ':') != NULL)
		*strrchr(host, ':') = '\0';
	snprintf(url, sizeof(url), "http://%s:%u/", host[0] ? host :
	    "127.0.0.1", http_port(h));
	json_object_object_add(o, "version", jv_string(APPCORE_VERSION));
	json_object_object_add(o, "started_us",
	    json_object_new_int64((int64_t)started));
	json_object_object_add(o, "uptime_s", json_object_new_double(
	    (double)(now_wall_us() - started) / 1e6));
	json_object_object_add(o, "state_dir", jv_string(cfg->state_dir));
	json_object_object_add(o, "database", jv_string(db));
	json_object_object_add(o, "database_bytes",
	    json_object_new_int64((int64_t)db_bytes));
	json_object_object_add(o, "files_bytes",
	    json_object_new_int64((int64_t)file_bytes));
	json_object_object_add(o, "raw_blocks",
	    json_object_new_int64((int64_t)raw_blocks));
	json_object_object_add(o, "url", jv_string(url));
	json_object_object_add(o, "socket", cfg->socket[0] ?
	    jv_string(cfg->socket) : NULL);
	json_object_object_add(o, "devices", json_object_new_int64(devices));
	json_object_object_add(o, "connected",
	    json_object_new_int64(connected));
	json_object_object_add(o, "clickhouse", cfg->clickhouse.url[0] ?
	    clickhouse_status(&cfg->clickhouse, &x) : NULL);
	api_json(a, 200, o);
}
