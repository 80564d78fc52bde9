/*
 * /metrics: Prometheus text (docs/api.md).
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

void
api_metrics(struct http *h, struct api_reply *a)
{
	struct live *l = bridge_live(http_bridge(h));
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
	    samples_lost, blobs_removed, LIVE_MAX_DEVICES, tracked, forgotten);
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
	    "%u\n", bridge_reads_waiting(http_bridge(h)));
	bprintf(&b, "# HELP appcored_blob_reads_waiting Snapshot, dump and "
	    "image reads waiting for the ingest thread.\n# TYPE "
	    "appcored_blob_reads_waiting gauge\nappcored_blob_reads_waiting "
	    "%u\n", bridge_blob_pending(http_bridge(h)));
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

	pthread_mutex_lock(&l->mu);
	devices = l->ndev;
	for (int i = 0; i < l->ndev; i++)
		connected += l->dev[i].connected;
	started = l->started;
	db_bytes = l->store.db_bytes;
	file_bytes = l->store.file_bytes;
	raw_blocks = l->store.raw_blocks;
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
	api_json(a, 200, o);
}
