/*
 * Fuzz target for everything that decodes untrusted bytes of the wire
 * protocol.  The first input byte picks the entry point:
 *   0: a byte stream into the host session (deframer, every message
 *      decoder, sample columns, loss accounting), in uneven pieces;
 *   1: a bare payload into every message decoder; whatever decodes must
 *      re-encode to the very same bytes (encodings are canonical);
 *   2: a byte stream into the agent, as commands from a host.
 * docs/security.md lists the invariants checked here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "appcore/agent.h"
#include "appcore/core1.h"
#include "appcore/image.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REGION_SIZE	(AC_REGION_MIN_SIZE + 1024)

static void
sink_sample(void *a, uint64_t i, uint64_t t, const uint32_t *v, uint32_t n)
{
	(void)a; (void)i; (void)t;
	if (n > AC_MAX_COUNTERS)
		abort();
	for (uint32_t k = 0; k < n; k++)	/* every value is readable */
		if (v[k] == 0xdeadbeefu && k > AC_MAX_COUNTERS)
			abort();
}

static void
sink_mem(void *a, const struct ac_msg_mem *m)
{
	volatile uint8_t x = 0;

	(void)a;
	if (m->len > AC_MEM_CHUNK)
		abort();
	for (uint32_t i = 0; i < m->len; i++)
		x ^= m->data[i];
	(void)x;
}

static void
sink_desc(void *a, struct session *s)
{
	(void)a;
	if (s->ndesc > AC_MAX_COUNTERS)
		abort();
	for (uint32_t i = 0; i < s->ndesc; i++)
		if (strlen(s->ctr[i].name) >= AC_NAME_LEN ||
		    strlen(s->ctr[i].unit) >= AC_UNIT_LEN)
			abort();
}

static void
fuzz_session(const uint8_t *p, size_t n)
{
	static struct session s;
	static const struct session_cb cb = { .sample = sink_sample,
	    .mem = sink_mem, .desc = sink_desc };
	size_t step = 1;

	session_init(&s, &cb, NULL);
	while (n > 0) {
		size_t k = step < n ? step : n;

		session_feed(&s, p, k);
		p += k;
		n -= k;
		step = step * 3 % 1031 + 1;
	}
	if (s.st.samples_lost > (uint64_t)1 << 63)
		abort();
}

/* decode, encode, compare: the canonical-form invariant. */
#define ROUND_TRIP(type, dec, enc) do {					\
	type m_;							\
	struct ac_rd r_;						\
	struct ac_wr w_;						\
									\
	ac_rd_init(&r_, p, n);						\
	if (dec(&r_, &m_) == 0) {					\
		ac_wr_init(&w_, out, sizeof(out));			\
		if (enc(&w_, &m_) != 0 || w_.len != n ||		\
		    memcmp(out, p, n) != 0)				\
			abort();					\
	}								\
} while (0)

static int reenc_rc;

static void
reencode(void *arg, uint64_t i, uint64_t t, const uint32_t *v, uint32_t n)
{
	(void)i; (void)n;
	if (ac_samples_add(arg, t, v) != 0)
		reenc_rc = -1;
}

/* SAMPLES_REF: canonical too. */
static void
fuzz_samples_ref(const uint8_t *p, size_t n, uint8_t *out, size_t cap)
{
	struct ac_samples_state st;
	struct ac_rd r;
	struct ac_wr w;
	uint64_t boot;

	ac_rd_init(&r, p, n);
	if (ac_samples_ref_decode(&r, &boot, &st) != 0)
		return;
	ac_wr_init(&w, out, cap);
	if (ac_samples_ref_encode(&w, boot, &st) != 0 || w.len != n ||
	    memcmp(out, p, n) != 0)
		abort();
}

/* A frame the peek accepts has the header the header-only read gives,
 * and a decoder with no reference refuses or accepts it as a key frame
 * only, delivering exactly the samples the peek counted. */
static uint32_t peek_seen;

static void
count_sample(void *arg, uint64_t i, uint64_t t, const uint32_t *v,
    uint32_t n)
{
	(void)arg; (void)i; (void)t; (void)v; (void)n;
	peek_seen++;
}

static void
fuzz_samples_peek(const uint8_t *p, size_t n)
{
	static struct ac_samples_dec dec;
	struct ac_samples_hdr h, hh;

	if (ac_samples_peek(p, n, &h) != 0)
		return;
	if (ac_samples_header(p, n, &hh) != 0 || hh.key != h.key ||
	    hh.first_index != h.first_index || hh.ncols != h.ncols ||
	    hh.interval_us != h.interval_us || h.count == 0)
		abort();
	ac_samples_dec_init(&dec);
	peek_seen = 0;
	if (ac_samples_decode(&dec, p, n, count_sample, NULL) == 0 &&
	    (!h.key || peek_seen != h.count))
		abort();
}

static void
fuzz_payload(const uint8_t *p, size_t n)
{
	static uint8_t out[AC_WIRE_MAX_PAYLOAD * 4];
	static struct ac_samples_dec dec;
	static struct ac_samples_enc enc;
	uint8_t ver;

	if (n > AC_WIRE_MAX_PAYLOAD)
		n = AC_WIRE_MAX_PAYLOAD;
	ROUND_TRIP(struct ac_msg_hello, ac_hello_decode, ac_hello_encode);
	ROUND_TRIP(struct ac_msg_desc, ac_desc_decode, ac_desc_encode);
	ROUND_TRIP(struct ac_msg_log, ac_log_decode, ac_log_encode);
	ROUND_TRIP(struct ac_msg_state, ac_state_decode, ac_state_encode);
	ROUND_TRIP(struct ac_msg_mem, ac_mem_decode, ac_mem_encode);
	ROUND_TRIP(struct ac_msg_crash, ac_crash_decode, ac_crash_encode);
	ROUND_TRIP(struct ac_msg_reply, ac_reply_decode, ac_reply_encode);
	ROUND_TRIP(struct ac_msg_stats, ac_stats_decode, ac_stats_encode);
	ROUND_TRIP(struct ac_msg_cmd, ac_cmd_decode, ac_cmd_encode);
	ROUND_TRIP(struct ac_msg_dump_info, ac_dump_info_decode,
	    ac_dump_info_encode);
	ROUND_TRIP(struct ac_msg_dump_data, ac_dump_data_decode,
	    ac_dump_data_encode);
	ROUND_TRIP(struct ac_msg_image_offer, ac_image_offer_decode,
	    ac_image_offer_encode);
	ROUND_TRIP(struct ac_msg_image_data, ac_image_data_decode,
	    ac_image_data_encode);
	ROUND_TRIP(struct ac_msg_image_status, ac_image_status_decode,
	    ac_image_status_encode);
	if (n >= AC_SLOT_REC_SIZE) {
		struct ac_slot_rec rec;
		uint8_t again[AC_SLOT_REC_SIZE];

		/* A slot record that reads re-encodes to its own bytes. */
		if (ac_slot_rec_decode(p, &rec) == 0) {
			ac_slot_rec_encode(again, &rec);
			if (memcmp(again, p, AC_SLOT_REC_SIZE) != 0)
				abort();
		}
	}
	if (ac_hello_peek_version(p, n, &ver) == 0 && (n == 0 || ver != p[0]))
		abort();
	fuzz_samples_ref(p, n, out, sizeof(out));
	fuzz_samples_peek(p, n);

	/* A key frame that decodes re-encodes to the same bytes. */
	ac_samples_dec_init(&dec);
	if (n > 0 && (p[0] & AC_SAMPLES_KEY) &&
	    ac_samples_decode(&dec, p, n, NULL, NULL) == 0) {
		struct ac_rd r;
		uint8_t flags, rate[(AC_MAX_COUNTERS + 7) / 8];
		uint64_t index, t0;
		uint32_t ncols, iv;

		ac_rd_init(&r, p, n);
		if (ac_rd_u8(&r, &flags) || ac_rd_varint(&r, &index) ||
		    ac_rd_varint32(&r, &ncols) || ac_rd_varint32(&r, &iv) ||
		    ac_rd_varint(&r, &t0) ||
		    ac_rd_bytes(&r, rate, (ncols + 7) / 8))
			abort();
		memset(&enc, 0, sizeof(enc));
		ac_samples_begin(&enc, true, index, ncols, iv, rate);
		reenc_rc = 0;
		ac_samples_dec_init(&dec);
		if (ac_samples_decode(&dec, p, n, reencode, &enc) != 0 ||
		    reenc_rc != 0 || enc.w.len != n ||
		    memcmp(enc.buf, p, n) != 0)
			abort();
	}
}

static uint64_t
fuzz_clock(void *ctx)
{
	static uint64_t t;

	(void)ctx;
	return t += 997;
}

static void
fuzz_agent(const uint8_t *p, size_t n)
{
	static _Alignas(64) uint8_t region[REGION_SIZE];
	static struct ac_agent agent;
	static const struct ac_port port = { .now_us = fuzz_clock };
	struct ac_agent_cfg cfg;
	struct ac_region *r;
	size_t len;

	memset(region, 0, sizeof(region));
	r = ac_core1_init(region, REGION_SIZE);
	(void)ac_counter_register(r, 0, "c", "u", AC_KIND_COUNTER, 0);
	ac_agent_cfg_defaults(&cfg);
	if (ac_agent_init(&agent, &cfg, &port, region, REGION_SIZE) != 0)
		abort();
	while (n > 0) {
		size_t k = n < 64 ? n : 64;

		ac_agent_rx(&agent, p, k);
		(void)ac_agent_poll(&agent);
		while (ac_agent_tx_peek(&agent, &len) != NULL)
			ac_agent_tx_consume(&agent, len);
		p += k;
		n -= k;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0: fuzz_session(data + 1, size - 1); break;
	case 1: fuzz_payload(data + 1, size - 1); break;
	default: fuzz_agent(data + 1, size - 1); break;
	}
	return 0;
}
