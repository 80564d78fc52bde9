/*
 * The contract: core-1 API behaviour, and a two-thread stress of the
 * sequence locks: a writer that never stops and a reader (the real agent)
 * that must never deliver a torn log line, panic record or descriptor.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "appcore/agent.h"
#include "appcore/core1.h"
#include "check.h"
#include "session.h"

#ifdef AC_TEST_RUST
/* The same tests with the region written by the Rust crate appcore-core1
 * (its C ABI in libappcore_core1_host.a): meson test rust-region. */
#include "appcore_core1_host.h"
#define ac_core1_init(b, s)	((struct ac_region *)acr_core1_init((b), (s)))
#define ac_counter_register(r, i, n, u, k, f) \
	acr_counter_register((r), (i), (n), (u), (uint32_t)(k), (f))
#define ac_counter_add(r, i, d)	acr_counter_add((r), (i), (d))
#define ac_heartbeat(r)		acr_heartbeat(r)
#define ac_set_running(r)	acr_set_running(r)
#define ac_log(r, l, s, t)	acr_log((r), (uint32_t)(l), (s), (t))
#define ac_panic_record(r, p)	acr_panic_record((r), (p))
#endif

#define SIZE	(64 * 1024)

static _Alignas(64) uint8_t mem[SIZE];

static void
test_api(void)
{
	struct ac_region *r;
	char longname[64];

	CHECK(ac_core1_init(mem, AC_REGION_MIN_SIZE - 4) == NULL,
	    "a region below %u bytes is refused", AC_REGION_MIN_SIZE);
	CHECK(ac_core1_init(mem + 2, SIZE - 4) == NULL,
	    "a misaligned region is refused");
	r = ac_core1_init(mem, SIZE);
	CHECK(r != NULL && r->hdr.magic == AC_REGION_MAGIC &&
	    r->hdr.generation == 1 && r->hdr.user_off == AC_REGION_MIN_SIZE &&
	    r->hdr.user_size == SIZE - AC_REGION_MIN_SIZE &&
	    r->core1.state == AC_STATE_BOOTING, "fresh region laid out");
	r = ac_core1_init(mem, SIZE);
	CHECK(r->hdr.generation == 2, "re-init bumps the generation");
	CHECK(ac_counter_register(r, AC_MAX_COUNTERS, "x", "", AC_KIND_GAUGE,
	    0) < 0 && ac_counter_register(r, 0, "x", "", AC_KIND_UNUSED, 0) < 0
	    && ac_counter_register(r, 0, "", "", AC_KIND_GAUGE, 0) < 0 &&
	    ac_counter_register(r, 0, "x", "", AC_KIND_GAUGE, 0x80) < 0,
	    "bad index, kind, name or flags refused");
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(ac_counter_register(r, 9, longname, "toolongunit",
	    AC_KIND_COUNTER, 0) == 0 &&
	    strlen(r->desc[9].name) == AC_NAME_LEN - 1 &&
	    strlen(r->desc[9].unit) == AC_UNIT_LEN - 1 &&
	    r->core1.counters_used == 10 && r->core1.desc_seq == 2,
	    "names cut to fit, counters_used is the high-water mark");
	ac_counter_add(r, 9, UINT32_MAX);
	ac_counter_add(r, 9, 2);
	CHECK(r->counters[9] == 1, "counters wrap at 2^32");
	ac_counter_add(r, AC_MAX_COUNTERS + 5, 1);
	CHECK(r->counters[0] == 0, "out-of-range index ignored");
}

/* ---- the stress ---- */

static atomic_bool stop;
static struct ac_region *R;

static void *
writer(void *arg)
{
	uint32_t k = 0, n = 0;
	char text[AC_LOG_TEXT_LEN + 1];
	uint32_t ar[16], bt[AC_BT_MAX];

	(void)arg;
	while (!atomic_load(&stop)) {
		struct ac_panic_info pi;

		snprintf(text, sizeof(text), "record %u end", n++);
		ac_log(R, AC_LOG_INFO, n - 1, text);
		if ((n & 15) == 0) {
			k++;
			for (int i = 0; i < 16; i++)
				ar[i] = k;
			for (unsigned i = 0; i < AC_BT_MAX; i++)
				bt[i] = k;
			snprintf(text, sizeof(text), "panic %u", k);
			pi = (struct ac_panic_info){ .reason = AC_PANIC_EXPLICIT,
			    .file = text, .line = k, .msg = text, .pc = k,
			    .sp = k, .ps = k, .exccause = k, .excvaddr = k,
			    .ar = ar, .bt = bt, .bt_count = AC_BT_MAX };
			ac_panic_record(R, &pi);
		}
		if ((n & 255) == 0) {
			char name[24], unit[8];

			snprintf(name, sizeof(name), "name.%u", k);
			snprintf(unit, sizeof(unit), "u%u", k % 100000);
			(void)ac_counter_register(R, 0, name, unit,
			    AC_KIND_GAUGE, 0);
		}
		ac_heartbeat(R);
	}
	return NULL;
}

static int torn_logs, torn_crashes, logs, crashes, descs, torn_descs;

static void
on_log(void *a, const struct ac_msg_log *m)
{
	char want[64];

	(void)a;
	snprintf(want, sizeof(want), "record %u end", m->record);
	logs++;
	if (strcmp(m->text, want) != 0 || m->stamp != m->record)
		torn_logs++;
}

static void
on_crash(void *a, const struct ac_msg_crash *m)
{
	char want[64];
	bool ok;

	(void)a;
	snprintf(want, sizeof(want), "panic %u", m->pc);
	ok = m->sp == m->pc && m->line == m->pc && m->ps == m->pc &&
	    strcmp(m->msg, want) == 0 && strcmp(m->file, want) == 0 &&
	    m->bt_count == AC_BT_MAX;
	for (int i = 0; i < 16; i++)
		ok = ok && m->ar[i] == m->pc;
	for (unsigned i = 0; i < AC_BT_MAX; i++)
		ok = ok && m->bt[i] == m->pc;
	crashes++;
	torn_crashes += !ok;
}

static void
on_desc(void *a, struct session *s)
{
	unsigned k;
	char unit[8];

	(void)a;
	descs++;
	if (s->ndesc == 0)
		return;
	if (sscanf(s->ctr[0].name, "name.%u", &k) != 1) {
		torn_descs++;
		return;
	}
	snprintf(unit, sizeof(unit), "u%u", k % 100000);
	torn_descs += strcmp(unit, s->ctr[0].unit) != 0;
}

static uint64_t
clock_us(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
test_stress(void)
{
	static struct ac_agent agent;
	static struct session host;
	static const struct session_cb cb = { .log = on_log,
	    .crash = on_crash, .desc = on_desc };
	static const struct ac_port port = { .now_us = clock_us };
	struct ac_agent_cfg cfg;
	pthread_t th;
	uint64_t end;

	R = ac_core1_init(mem, SIZE);
	ac_set_running(R);
	ac_agent_cfg_defaults(&cfg);
	cfg.rate_hz = 1000;
	session_init(&host, &cb, NULL);
	if (ac_agent_init(&agent, &cfg, &port, mem, SIZE) != 0)
		abort();
	pthread_create(&th, NULL, writer, NULL);
	end = clock_us(NULL) + 1500000;
	while (clock_us(NULL) < end) {
		const uint8_t *p;
		size_t n;

		(void)ac_agent_poll(&agent);
		while ((p = ac_agent_tx_peek(&agent, &n)) != NULL) {
			session_feed(&host, p, n);
			ac_agent_tx_consume(&agent, n);
		}
	}
	atomic_store(&stop, true);
	pthread_join(th, NULL);
	CHECK(logs > 1000 && torn_logs == 0, "%d log records read while "
	    "written, %d torn", logs, torn_logs);
	CHECK(crashes > 100 && torn_crashes == 0, "%d panic records read "
	    "while rewritten, %d torn", crashes, torn_crashes);
	CHECK(descs > 10 && torn_descs == 0, "%d descriptor sets read while "
	    "re-registered, %d torn", descs, torn_descs);
	CHECK(agent.st.log_lost > 0, "the writer outran the reader: %"
	    PRIu64 " log records counted lost, none delivered torn",
	    agent.st.log_lost);
}

int
main(void)
{
	test_api();
	test_stress();
	return check_done();
}
