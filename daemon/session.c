/*
 * One agent session: HELLO and descriptors, sequence and sample-index
 * accounting, and dispatch of decoded messages.  Every loss is counted
 * and reported through cb->event; nothing is guessed.
 */
#include <stdio.h>
#include <string.h>

#include "session.h"

const char *
session_event_name(enum session_event e)
{
	static const char *const names[SE_COUNT] = {
		"crc-error", "framing-error", "seq-gap", "samples-lost",
		"malformed", "version", "new-boot",
	};

	return (unsigned)e < SE_COUNT ? names[e] : "unknown";
}

static void
event(struct session *s, enum session_event e, uint64_t n, const char *why)
{
	if (s->cb->event != NULL)
		s->cb->event(s->arg, e, n, why);
}

void
session_init(struct session *s, const struct session_cb *cb, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->cb = cb;
	s->arg = arg;
	ac_deframer_init(&s->df);
	ac_samples_dec_init(&s->dec);
	s->next_req = 1;
}

void
session_reset(struct session *s)
{
	const struct session_cb *cb = s->cb;
	void *arg = s->arg;
	struct session_stats st = s->st;
	struct ac_msg_hello h = s->hello;
	bool had = s->have_hello;

	session_init(s, cb, arg);
	s->st = st;
	s->hello = h;		/* kept to recognise the same boot */
	s->have_hello = had;
}

static void
malformed(struct session *s, const struct ac_frame *f, const char *why)
{
	s->st.malformed++;
	snprintf(s->why, sizeof(s->why), "%s frame %u: %s",
	    ac_msg_name(f->type), f->seq, why != NULL ? why : "malformed");
	event(s, SE_MALFORMED, 1, s->why);
}

static void
on_hello(struct session *s, const struct ac_frame *f)
{
	struct ac_msg_hello h;
	struct ac_rd r;
	uint8_t ver;
	int rc;

	ac_rd_init(&r, f->payload, f->len);
	if ((rc = ac_hello_decode(&r, &h)) < 0) {
		if (rc == AC_EVERSION &&
		    ac_hello_peek_version(f->payload, f->len, &ver) == 0) {
			s->incompatible = true;
			s->st.version_errors++;
			snprintf(s->why, sizeof(s->why), "the agent speaks "
			    "protocol version %u; this host understands "
			    "version %u: upgrade appcore on the host", ver,
			    AC_PROTO_VERSION);
			event(s, SE_VERSION, 1, s->why);
			return;
		}
		malformed(s, f, r.err);
		return;
	}
	if (h.layout_version != AC_LAYOUT_VERSION) {
		s->incompatible = true;
		s->st.version_errors++;
		snprintf(s->why, sizeof(s->why), "the agent uses shared-region "
		    "layout %u; this host understands layout %u: %s",
		    h.layout_version, AC_LAYOUT_VERSION,
		    h.layout_version > AC_LAYOUT_VERSION ?
		    "upgrade appcore on the host" : "upgrade the agent");
		event(s, SE_VERSION, 1, s->why);
		return;
	}
	s->incompatible = false;
	if (!s->have_hello || h.boot_id != s->hello.boot_id ||
	    h.device_id_len != s->hello.device_id_len ||
	    memcmp(h.device_id, s->hello.device_id, h.device_id_len) != 0) {
		/* A new boot: sequence and sample indices start over. */
		s->have_index = false;
		s->have_seq = false;
		ac_samples_dec_init(&s->dec);
		event(s, SE_NEW_BOOT, 1, "new boot id");
	}
	if (!s->have_hello || h.desc_gen != s->desc_gen ||
	    h.counters_used != s->ndesc) {
		memset(s->desc_have, 0, sizeof(s->desc_have));
		s->desc_complete = false;
	}
	s->hello = h;
	s->have_hello = true;
	s->desc_gen = h.desc_gen;
	s->ndesc = h.counters_used;
	if (s->cb->hello != NULL)
		s->cb->hello(s->arg, s);
	if (s->ndesc == 0 && !s->desc_complete) {
		s->desc_complete = true;
		if (s->cb->desc != NULL)
			s->cb->desc(s->arg, s);
	}
}

static void
on_desc(struct session *s, const struct ac_frame *f)
{
	struct ac_msg_desc d;
	struct ac_rd r;

	ac_rd_init(&r, f->payload, f->len);
	if (ac_desc_decode(&r, &d) < 0) {
		malformed(s, f, r.err);
		return;
	}
	if (!s->have_hello)
		return;		/* a HELLO will announce the set again */
	if (d.desc_gen != s->desc_gen || d.total != s->ndesc) {
		s->desc_gen = d.desc_gen;
		s->ndesc = d.total;
		memset(s->desc_have, 0, sizeof(s->desc_have));
		s->desc_complete = false;
	}
	for (uint32_t i = 0; i < d.count; i++) {
		uint32_t k = d.first + i;

		s->ctr[k] = d.c[i];
		s->desc_have[k >> 3] |= (uint8_t)(1u << (k & 7));
	}
	if (s->desc_complete)
		return;
	for (uint32_t k = 0; k < s->ndesc; k++)
		if (!(s->desc_have[k >> 3] & (1u << (k & 7))))
			return;
	s->desc_complete = true;
	if (s->cb->desc != NULL)
		s->cb->desc(s->arg, s);
}

static void
sample_cb(void *arg, uint64_t index, uint64_t t_us, const uint32_t *vals,
    uint32_t ncols)
{
	struct session *s = arg;

	s->st.samples++;
	if (s->cb->sample != NULL)
		s->cb->sample(s->arg, index, t_us, vals, ncols);
}

static void
on_samples(struct session *s, const struct ac_frame *f)
{
	struct ac_rd r;
	uint8_t flags;
	uint64_t index;
	int rc;

	ac_rd_init(&r, f->payload, f->len);
	if (ac_rd_u8(&r, &flags) < 0 || ac_rd_varint(&r, &index) < 0) {
		malformed(s, f, r.err);
		return;
	}
	rc = ac_samples_decode(&s->dec, f->payload, f->len, sample_cb, s);
	if (rc == AC_ENOREF)
		return;		/* counted when the next key frame lands */
	if (rc < 0) {
		malformed(s, f, ac_strerror(rc));
		return;
	}
	if (s->have_index && index > s->next_index) {
		s->st.samples_lost += index - s->next_index;
		snprintf(s->why, sizeof(s->why), "samples %llu..%llu lost",
		    (unsigned long long)s->next_index,
		    (unsigned long long)index - 1);
		event(s, SE_SAMPLES_LOST, index - s->next_index, s->why);
	}
	s->have_index = true;
	s->next_index = ac_samples_dec_next(&s->dec);
}

#define DECODE_AND_CALL(s, f, type, decode, fn) do {			\
	type m_;							\
	struct ac_rd r_;						\
									\
	ac_rd_init(&r_, (f)->payload, (f)->len);			\
	if (decode(&r_, &m_) < 0)					\
		malformed((s), (f), r_.err);				\
	else if ((s)->cb->fn != NULL)					\
		(s)->cb->fn((s)->arg, &m_);				\
} while (0)

static void
dispatch(struct session *s, const struct ac_frame *f)
{
	if (s->have_seq && f->seq != s->next_seq) {
		uint32_t gap = f->seq - s->next_seq;

		/* Older frames (a replayed buffer) are not losses. */
		if (gap < 0x80000000u) {
			s->st.seq_gaps++;
			s->st.frames_lost += gap;
			snprintf(s->why, sizeof(s->why), "frames %u..%u lost",
			    s->next_seq, f->seq - 1);
			event(s, SE_SEQ_GAP, gap, s->why);
		}
	}
	s->have_seq = true;
	s->next_seq = f->seq + 1;
	s->st.frames++;
	if (f->type == AC_MSG_HELLO) {
		on_hello(s, f);
		return;
	}
	if (s->incompatible)
		return;
	switch (f->type) {
	case AC_MSG_DESC:
		on_desc(s, f);
		break;
	case AC_MSG_SAMPLES:
		on_samples(s, f);
		break;
	case AC_MSG_LOG:
		DECODE_AND_CALL(s, f, struct ac_msg_log, ac_log_decode, log);
		break;
	case AC_MSG_STATE:
		DECODE_AND_CALL(s, f, struct ac_msg_state, ac_state_decode,
		    state);
		break;
	case AC_MSG_MEM:
		DECODE_AND_CALL(s, f, struct ac_msg_mem, ac_mem_decode, mem);
		break;
	case AC_MSG_CRASH:
		DECODE_AND_CALL(s, f, struct ac_msg_crash, ac_crash_decode,
		    crash);
		break;
	case AC_MSG_DUMP_INFO:
		DECODE_AND_CALL(s, f, struct ac_msg_dump_info,
		    ac_dump_info_decode, dump_info);
		break;
	case AC_MSG_DUMP_DATA:
		DECODE_AND_CALL(s, f, struct ac_msg_dump_data,
		    ac_dump_data_decode, dump_data);
		break;
	case AC_MSG_REPLY:
		DECODE_AND_CALL(s, f, struct ac_msg_reply, ac_reply_decode,
		    reply);
		break;
	case AC_MSG_STATS:
		DECODE_AND_CALL(s, f, struct ac_msg_stats, ac_stats_decode,
		    stats);
		break;
	default:
		malformed(s, f, "unknown message type");
		break;
	}
}

void
session_feed(struct session *s, const uint8_t *buf, size_t n)
{
	while (n > 0) {
		struct ac_frame f;
		int res;
		size_t used = ac_deframer_feed(&s->df, buf, n, &f, &res);

		buf += used;
		n -= used;
		if (res == 1)
			dispatch(s, &f);
		else if (res == AC_ECRC) {
			s->st.crc_errors++;
			event(s, SE_CRC_ERROR, 1, "frame failed its CRC-32C");
		} else if (res < 0) {
			s->st.framing_errors++;
			event(s, SE_FRAMING_ERROR, 1, ac_strerror(res));
		}
	}
}

size_t
session_cmd(struct session *s, struct ac_msg_cmd *c, uint8_t *out, size_t cap)
{
	uint8_t payload[32];
	struct ac_wr w;

	c->req_id = s->next_req++;
	ac_wr_init(&w, payload, sizeof(payload));
	if (ac_cmd_encode(&w, c) < 0)
		return 0;
	return ac_frame_encode(out, cap, AC_MSG_CMD, s->tx_seq++, payload,
	    w.len);
}
