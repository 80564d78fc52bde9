/*
 * One agent session: which frames are accepted (a replay window over
 * sequence numbers), which boot they belong to (HELLO on this connection),
 * the descriptor set, and the samples: decoded in order, or, after a lost
 * frame, kept until the agent sends the reference they continue
 * (SAMPLES_REF).  What the session lacks it asks for at once.  Every loss
 * is counted and reported through cb->event; nothing is guessed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "session.h"

const char *
session_event_name(enum session_event e)
{
	static const char *const names[SE_COUNT] = {
		"crc-error", "framing-error", "seq-gap", "samples-lost",
		"malformed", "version", "new-boot", "duplicate", "stale",
		"asked", "asked-ref", "unattributed", "late",
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
	ac_samples_dec_init(&s->side);
	s->next_req = 1;
}

static uint32_t
boot_seed(const struct ac_msg_hello *h)
{
	return h->proto_version >= 2 ? ac_boot_seed(h->boot_id) : 0;
}

void
session_reset(struct session *s)
{
	const struct session_cb *cb = s->cb;
	void *arg = s->arg;
	struct session_stats st = s->st;
	struct ac_msg_hello last = s->have_hello ? s->hello : s->last;
	bool have_last = s->have_hello || s->have_last;
	uint64_t dead[4];
	uint32_t ndead = s->ndead;
	uint32_t tx_seq = s->tx_seq, next_req = s->next_req;
	bool ref_unsupported = s->ref_unsupported;

	memcpy(dead, s->dead, sizeof(dead));
	session_init(s, cb, arg);
	s->st = st;
	s->last = last;
	s->have_last = have_last;
	memcpy(s->dead, dead, sizeof(dead));
	s->ndead = ndead;
	s->tx_seq = tx_seq;
	s->next_req = next_req;
	s->ref_unsupported = ref_unsupported;
	/* Frames of the boot seen last verify; another's wait for HELLO. */
	if (have_last)
		ac_deframer_set_seed(&s->df, boot_seed(&last));
}

void
session_clock(struct session *s, uint64_t now)
{
	s->now = now;
}

static void
malformed(struct session *s, const struct ac_frame *f, const char *why)
{
	s->st.malformed++;
	snprintf(s->why, sizeof(s->why), "%s frame %u: %s",
	    ac_msg_name(f->type), f->seq, why != NULL ? why : "malformed");
	event(s, SE_MALFORMED, 1, s->why);
}

/* ---- asking the agent ---- */

static bool
ask_due(const struct session *s, bool pending, uint64_t asked, uint64_t retry)
{
	return !pending || s->now - asked >= retry;
}

void
session_ask_hello(struct session *s, const char *why)
{
	char detail[160];

	if (s->cb->ask == NULL || !ask_due(s, s->hello_pending,
	    s->hello_asked, SESSION_ASK_RETRY_US))
		return;
	if (s->cb->ask(s->arg, AC_CMD_HELLO, 0, 0) == 0)
		return;
	s->hello_pending = true;
	s->hello_asked = s->now;
	s->st.asked_hello++;
	snprintf(detail, sizeof(detail), "asked for HELLO and DESC: %s", why);
	event(s, SE_ASKED, 1, detail);
}

static void
ask_ref(struct session *s, uint64_t index)
{
	char detail[160];
	uint32_t req;

	if (s->cb->ask == NULL || s->ref_unsupported)
		return;
	if (!ask_due(s, s->ref_pending, s->ref_asked, SESSION_REF_RETRY_US))
		return;		/* one at a time */
	req = s->cb->ask(s->arg, AC_CMD_SAMPLES_REF, (uint32_t)index,
	    (uint32_t)(index >> 32));
	if (req == 0)
		return;
	s->ref_pending = true;
	s->ref_index = index;
	s->ref_asked = s->now;
	s->ref_req = req;
	s->st.asked_ref++;
	snprintf(detail, sizeof(detail), "asked for the reference of sample "
	    "%" PRIu64 ": the frame before it was lost", index);
	event(s, SE_ASKED_REF, 1, detail);
}

/* ---- the stash: frames waiting for their reference ---- */

static struct session_stash *
stash_first(struct session *s)
{
	struct session_stash *best = NULL;

	for (uint32_t i = 0; i < SESSION_STASH; i++)
		if (s->stash[i].used && (best == NULL ||
		    s->stash[i].first < best->first))
			best = &s->stash[i];
	return best;
}

static void
stash_drop(struct session *s, struct session_stash *e)
{
	e->used = false;
	s->nstash--;
}

static struct session_stash *
stash_find(struct session *s, uint64_t first)
{
	for (uint32_t i = 0; i < SESSION_STASH; i++)
		if (s->stash[i].used && s->stash[i].first == first)
			return &s->stash[i];
	return NULL;
}

static void
stash_put(struct session *s, const struct ac_frame *f,
    const struct ac_samples_hdr *h)
{
	struct session_stash *slot = NULL, *oldest;

	if (stash_find(s, h->first_index) != NULL)
		return;
	for (uint32_t i = 0; i < SESSION_STASH && slot == NULL; i++)
		if (!s->stash[i].used)
			slot = &s->stash[i];
	if (slot == NULL) {
		oldest = stash_first(s);
		if (oldest->first > h->first_index)
			return;		/* older than all we keep */
		slot = oldest;		/* its samples stay lost */
	}
	if (!slot->used)
		s->nstash++;
	slot->used = true;
	slot->first = h->first_index;
	slot->at = s->now;
	slot->len = (uint16_t)f->len;
	memcpy(slot->p, f->payload, f->len);
}

/* Drops stashed frames that wait too long or that the main line passed
 * (their samples stay counted lost), then asks for the next reference. */
static void
stash_expire(struct session *s)
{
	struct session_stash *first;

	for (uint32_t i = 0; i < SESSION_STASH; i++) {
		struct session_stash *e = &s->stash[i];

		if (e->used && s->now - e->at >= SESSION_STASH_US)
			stash_drop(s, e);
	}
	if ((first = stash_first(s)) != NULL)
		ask_ref(s, first->first);
	else
		s->ref_pending = false;
}

/* ---- samples ---- */

struct deliver {
	struct session *s;
	uint64_t below;			/* samples under this index are late */
	uint64_t late;
};

static void
sample_cb(void *arg, uint64_t index, uint64_t t_us, const uint32_t *vals,
    uint32_t ncols)
{
	struct deliver *d = arg;
	struct session *s = d->s;

	s->st.samples++;
	if (index < d->below)
		d->late++;
	if (s->cb->sample != NULL)
		s->cb->sample(s->arg, index, t_us, vals, ncols);
}

/* Decodes stashed frames that continue dec, in order; returns how many
 * of their samples lie below `below` (late ones, filling a gap). */
static uint64_t
stash_drain(struct session *s, struct ac_samples_dec *dec, uint64_t below)
{
	struct session_stash *e;
	struct deliver d = { s, below, 0 };

	while (dec->s.have_ref &&
	    (e = stash_find(s, ac_samples_dec_next(dec))) != NULL) {
		stash_drop(s, e);
		if (ac_samples_decode(dec, e->p, e->len, sample_cb, &d) < 0)
			break;
	}
	return d.late;
}

static void
samples_lost(struct session *s, uint64_t from, uint64_t to)
{
	s->st.samples_lost += to - from;
	snprintf(s->why, sizeof(s->why), "samples %" PRIu64 "..%" PRIu64
	    " skipped", from, to - 1);
	event(s, SE_SAMPLES_LOST, to - from, s->why);
}

static void
recovered(struct session *s, uint64_t late)
{
	if (late == 0)
		return;
	s->st.samples_recovered += late;
	s->st.samples_lost -= late < s->st.samples_lost ? late :
	    s->st.samples_lost;
}

/* A frame on the main line: it continues dec, or it is a key frame. */
static int
samples_main(struct session *s, const struct ac_frame *f,
    const struct ac_samples_hdr *h)
{
	struct deliver d = { s, 0, 0 };
	uint64_t next = ac_samples_dec_next(&s->dec);
	bool had = s->dec.s.have_ref;
	int rc;

	if ((rc = ac_samples_decode(&s->dec, f->payload, f->len, sample_cb,
	    &d)) < 0)
		return rc;
	if (s->cb->produced != NULL)
		s->cb->produced(s->arg, ac_samples_dec_next(&s->dec));
	if (h->key && had && h->first_index > next)
		samples_lost(s, next, h->first_index);
	(void)stash_drain(s, &s->dec, 0);
	return 0;
}

/* A frame off the main line: an earlier key frame (reordered) is decoded
 * beside it; a delta frame after a gap waits for its reference. */
static void
samples_aside(struct session *s, const struct ac_frame *f,
    const struct ac_samples_hdr *h)
{
	struct deliver d = { s, ac_samples_dec_next(&s->dec), 0 };

	if (s->cb->produced != NULL)
		s->cb->produced(s->arg, h->first_index + h->count);
	if (!h->key) {
		stash_put(s, f, h);
		return;
	}
	if (ac_samples_decode(&s->side, f->payload, f->len, sample_cb,
	    &d) == 0)
		d.late += stash_drain(s, &s->side, d.below);
	recovered(s, d.late);
}

static void
desc_check(struct session *s, const struct ac_samples_hdr *h)
{
	if (!s->desc_complete)
		session_ask_hello(s, "samples arrived before the whole "
		    "descriptor set");
	else if (h->ncols != s->ndesc)
		session_ask_hello(s, "samples have other columns than the "
		    "descriptor set: a DESC was lost");
}

/*
 * In the common case (the frame continues the main line) the frame is
 * read once to check and once to decode; frames off the line are also
 * counted (ac_samples_peek) before they are kept or decoded aside.
 */
static void
on_samples(struct session *s, const struct ac_frame *f)
{
	struct ac_samples_hdr h;
	uint64_t next = ac_samples_dec_next(&s->dec);
	int rc;

	if ((rc = ac_samples_header(f->payload, f->len, &h)) < 0) {
		malformed(s, f, ac_strerror(rc));
		return;
	}
	if (!s->have_hello) {
		if (ac_samples_peek(f->payload, f->len, &h) == 0) {
			s->st.samples_unattributed += h.count;
			event(s, SE_UNATTRIBUTED, h.count, "samples before "
			    "the boot's HELLO: no boot to hold them");
		}
		session_ask_hello(s, "samples arrived before HELLO");
		return;
	}
	desc_check(s, &h);
	if ((h.key && (!s->dec.s.have_ref || h.first_index >= next)) ||
	    (!h.key && s->dec.s.have_ref && h.first_index == next))
		rc = samples_main(s, f, &h);
	else if ((rc = ac_samples_peek(f->payload, f->len, &h)) == 0)
		samples_aside(s, f, &h);
	if (rc < 0)
		malformed(s, f, ac_strerror(rc));
	if (s->nstash > 0 || s->ref_pending)
		stash_expire(s);
}

static void
on_samples_ref(struct session *s, const struct ac_frame *f)
{
	struct ac_samples_state ref;
	uint64_t boot, next = ac_samples_dec_next(&s->dec);
	struct ac_rd r;

	ac_rd_init(&r, f->payload, f->len);
	if (ac_samples_ref_decode(&r, &boot, &ref) < 0) {
		malformed(s, f, r.err);
		return;
	}
	if (!s->have_hello || boot != s->hello.boot_id)
		return;		/* another boot's: of no use */
	if (s->ref_pending && ref.next_index == s->ref_index)
		s->ref_pending = false;
	if (stash_find(s, ref.next_index) == NULL)
		return;
	s->side.s = ref;
	recovered(s, stash_drain(s, &s->side, next));
	if (!s->dec.s.have_ref ||
	    ac_samples_dec_next(&s->side) > ac_samples_dec_next(&s->dec)) {
		/* The recovered line reaches past the main one: it is the
		 * main line now. */
		s->dec.s = s->side.s;
		(void)stash_drain(s, &s->dec, 0);
	}
	stash_expire(s);
}

static void
on_reply(struct session *s, const struct ac_msg_reply *m)
{
	struct session_stash *e;

	if (m->cmd == AC_CMD_HELLO)
		s->hello_pending = false;
	if (m->cmd == AC_CMD_SAMPLES_REF) {
		if (m->status == AC_ST_UNKNOWN_CMD)
			s->ref_unsupported = true;
		/* The reference is gone: the frames waiting for it are lost,
		 * and the agent's next frame is a key frame. */
		while ((e = stash_first(s)) != NULL &&
		    e->first <= m->value)
			stash_drop(s, e);
		s->ref_pending = false;
		stash_expire(s);
	}
	if (s->cb->reply != NULL)
		s->cb->reply(s->arg, m);
}

/* ---- HELLO and DESC ---- */

static bool
same_boot(const struct ac_msg_hello *a, const struct ac_msg_hello *b)
{
	return a->boot_id == b->boot_id &&
	    a->device_id_len == b->device_id_len &&
	    memcmp(a->device_id, b->device_id, a->device_id_len) == 0;
}

static bool
dead_boot(const struct session *s, uint64_t boot)
{
	for (uint32_t i = 0; i < s->ndead && i < 4; i++)
		if (s->dead[i] == boot)
			return true;
	return false;
}

static void
bury(struct session *s, uint64_t boot)
{
	s->dead[s->ndead++ % 4] = boot;
}

static int
hello_version(struct session *s, const struct ac_frame *f,
    const struct ac_msg_hello *h, struct ac_rd *r, int rc)
{
	uint8_t ver;

	if (rc == AC_EVERSION &&
	    ac_hello_peek_version(f->payload, f->len, &ver) == 0) {
		s->incompatible = true;
		s->st.version_errors++;
		snprintf(s->why, sizeof(s->why), "the agent speaks protocol "
		    "version %u; this host understands version %u: upgrade "
		    "appcore on the host", ver, AC_PROTO_VERSION);
		event(s, SE_VERSION, 1, s->why);
		return -1;
	}
	if (rc < 0) {
		malformed(s, f, r->err);
		return -1;
	}
	if (h->layout_version != AC_LAYOUT_VERSION) {
		s->incompatible = true;
		s->st.version_errors++;
		snprintf(s->why, sizeof(s->why), "the agent uses shared-region "
		    "layout %u; this host understands layout %u: %s",
		    h->layout_version, AC_LAYOUT_VERSION,
		    h->layout_version > AC_LAYOUT_VERSION ?
		    "upgrade appcore on the host" : "upgrade the agent");
		event(s, SE_VERSION, 1, s->why);
		return -1;
	}
	s->incompatible = false;
	return 0;
}

static void
forget_samples(struct session *s)
{
	ac_samples_dec_init(&s->dec);
	ac_samples_dec_init(&s->side);
	memset(s->stash, 0, sizeof(s->stash));
	s->nstash = 0;
	s->ref_pending = false;
}

static void
forget_desc(struct session *s)
{
	memset(s->desc_have, 0, sizeof(s->desc_have));
	s->desc_complete = false;
}

static void
on_hello(struct session *s, const struct ac_msg_hello *h)
{
	const struct ac_msg_hello *known = s->have_hello ? &s->hello :
	    s->have_last ? &s->last : NULL;

	if (known == NULL || !same_boot(h, known)) {
		/* A new boot: indices, descriptors and the reference start
		 * over; the old boot can never speak again. */
		if (known != NULL)
			bury(s, known->boot_id);
		forget_samples(s);
		forget_desc(s);
		s->desc_gen = h->desc_gen;
		s->ndesc = h->counters_used;
		event(s, SE_NEW_BOOT, 1, "new boot id");
	}
	if (h->desc_gen != s->desc_gen || h->counters_used != s->ndesc) {
		forget_desc(s);
		s->desc_gen = h->desc_gen;
		s->ndesc = h->counters_used;
	}
	s->hello = *h;
	s->have_hello = true;
	s->hello_pending = false;
	ac_deframer_set_seed(&s->df, boot_seed(h));
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
	if (!s->have_hello) {
		/* Whose descriptors these are is unknown until HELLO. */
		session_ask_hello(s, "descriptors arrived before HELLO");
		return;
	}
	if (d.desc_gen != s->desc_gen || d.total != s->ndesc) {
		/* A set HELLO did not announce: core 1 registered a
		 * counter since.  Take it from here. */
		s->desc_gen = d.desc_gen;
		s->ndesc = d.total;
		forget_desc(s);
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

/* ---- sequence numbers: the replay window ---- */

static bool
seen_get(const struct session *s, uint32_t seq)
{
	uint32_t k = seq % SESSION_SEQ_WINDOW;

	return (s->seen[k >> 3] >> (k & 7)) & 1u;
}

static void
seen_put(struct session *s, uint32_t seq, bool on)
{
	uint32_t k = seq % SESSION_SEQ_WINDOW;

	if (on)
		s->seen[k >> 3] |= (uint8_t)(1u << (k & 7));
	else
		s->seen[k >> 3] &= (uint8_t)~(1u << (k & 7));
}

static void
seq_restart(struct session *s, uint32_t seq)
{
	memset(s->seen, 0, sizeof(s->seen));
	s->have_seq = true;
	s->next_seq = seq + 1;
	seen_put(s, seq, true);
}

enum seq_verdict { SEQ_NEW, SEQ_LATE, SEQ_DUP, SEQ_STALE };

static enum seq_verdict
seq_place(struct session *s, uint32_t seq)
{
	uint32_t ahead = seq - s->next_seq, behind;

	if (!s->have_seq) {
		seq_restart(s, seq);
		return SEQ_NEW;
	}
	if (ahead < 0x80000000u) {
		if (ahead > 0) {
			s->st.seq_gaps++;
			s->st.frames_lost += ahead;
			snprintf(s->why, sizeof(s->why), "frames %u..%u lost",
			    s->next_seq, seq - 1);
			event(s, SE_SEQ_GAP, ahead, s->why);
		}
		for (uint32_t k = 0; k < ahead && k < SESSION_SEQ_WINDOW; k++)
			seen_put(s, s->next_seq + k, false);
		seen_put(s, seq, true);
		s->next_seq = seq + 1;
		return SEQ_NEW;
	}
	behind = s->next_seq - 1 - seq;
	if (behind >= SESSION_LATE_MAX)
		return SEQ_STALE;
	if (seen_get(s, seq))
		return SEQ_DUP;
	seen_put(s, seq, true);
	if (s->st.frames_lost > 0)
		s->st.frames_lost--;
	return SEQ_LATE;
}

/* The samples a frame ignored as a duplicate carried. */
static void
count_dup_samples(struct session *s, const struct ac_frame *f)
{
	struct ac_samples_hdr h;

	if (f->type != AC_MSG_SAMPLES || !s->have_hello ||
	    ac_samples_peek(f->payload, f->len, &h) < 0)
		return;
	s->st.samples_dup += h.count;
	if (s->cb->duplicates != NULL)
		s->cb->duplicates(s->arg, h.count);
}

/* Whether a frame goes on to its handler. */
static bool
seq_accept(struct session *s, const struct ac_frame *f)
{
	switch (seq_place(s, f->seq)) {
	case SEQ_NEW:
		return true;
	case SEQ_LATE:
		s->st.frames_late++;
		event(s, SE_LATE, 1, "a frame counted lost arrived late");
		return true;
	case SEQ_DUP:
		s->st.frames_dup++;
		count_dup_samples(s, f);
		snprintf(s->why, sizeof(s->why), "%s frame %u received again",
		    ac_msg_name(f->type), f->seq);
		event(s, SE_DUPLICATE, 1, s->why);
		return false;
	case SEQ_STALE:
	default:
		s->st.frames_stale++;
		snprintf(s->why, sizeof(s->why), "%s frame %u is %u frames "
		    "old", ac_msg_name(f->type), f->seq, s->next_seq - f->seq);
		event(s, SE_STALE, 1, s->why);
		/* A board that restarted without a HELLO reaching us looks
		 * like this too: ask which boot speaks. */
		session_ask_hello(s, "frames far behind the sequence");
		return false;
	}
}

/* ---- dispatch ---- */

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

/*
 * HELLO decides the boot before the replay window is asked: a new boot
 * numbers its frames from 0 again, a superseded boot's HELLO is a replay.
 */
static void
dispatch_hello(struct session *s, const struct ac_frame *f)
{
	const struct ac_msg_hello *known;
	struct ac_msg_hello h;
	struct ac_rd r;
	int rc;

	ac_rd_init(&r, f->payload, f->len);
	rc = ac_hello_decode(&r, &h);
	if (hello_version(s, f, &h, &r, rc) < 0) {
		(void)seq_place(s, f->seq);
		return;
	}
	if (dead_boot(s, h.boot_id)) {
		s->st.frames_stale++;
		event(s, SE_STALE, 1, "HELLO of a boot that has ended");
		return;
	}
	known = s->have_hello ? &s->hello : s->have_last ? &s->last : NULL;
	if (known == NULL || !same_boot(&h, known) || !s->have_seq)
		seq_restart(s, f->seq);
	else if (!seq_accept(s, f))
		return;
	s->st.frames++;
	on_hello(s, &h);
}

static void
dispatch(struct session *s, const struct ac_frame *f)
{
	if (f->type == AC_MSG_HELLO) {
		dispatch_hello(s, f);
		return;
	}
	if (!seq_accept(s, f))
		return;
	s->st.frames++;
	if (s->incompatible)
		return;
	switch (f->type) {
	case AC_MSG_DESC:
		on_desc(s, f);
		break;
	case AC_MSG_SAMPLES:
		on_samples(s, f);
		break;
	case AC_MSG_SAMPLES_REF:
		on_samples_ref(s, f);
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
	case AC_MSG_REPLY: {
		struct ac_msg_reply m;
		struct ac_rd r;

		ac_rd_init(&r, f->payload, f->len);
		if (ac_reply_decode(&r, &m) < 0)
			malformed(s, f, r.err);
		else
			on_reply(s, &m);
		break;
	}
	case AC_MSG_STATS:
		DECODE_AND_CALL(s, f, struct ac_msg_stats, ac_stats_decode,
		    stats);
		break;
	case AC_MSG_RTT:
		DECODE_AND_CALL(s, f, struct ac_msg_rtt, ac_rtt_decode, rtt);
		break;
	case AC_MSG_IMAGE_STATUS:
		DECODE_AND_CALL(s, f, struct ac_msg_image_status,
		    ac_image_status_decode, image_status);
		break;
	default:
		malformed(s, f, "unknown message type");
		break;
	}
}

/*
 * A frame whose CRC-32C does not hold for this boot: one of a boot that
 * has ended (a replay, or late from before a reset), one of a boot not
 * yet known (before its HELLO), or damaged.
 */
static void
crc_failed(struct session *s, const struct ac_frame *f)
{
	for (uint32_t i = 0; i < s->ndead && i < 4; i++) {
		if (ac_frame_crc(f, ac_boot_seed(s->dead[i])) != f->crc)
			continue;
		s->st.frames_stale++;
		snprintf(s->why, sizeof(s->why), "%s frame %u of a boot that "
		    "has ended", ac_msg_name(f->type), f->seq);
		event(s, SE_STALE, 1, s->why);
		return;
	}
	if (!s->have_hello) {
		s->st.frames_unverified++;
		event(s, SE_UNATTRIBUTED, 0, "a frame before its boot's HELLO");
		session_ask_hello(s, "frames arrived before HELLO");
		return;
	}
	s->st.crc_errors++;
	event(s, SE_CRC_ERROR, 1, "frame failed its CRC-32C");
	/* A board that restarted without a HELLO reaching us looks so. */
	if (++s->crc_run >= 3)
		session_ask_hello(s, "frames fail their CRC one after another");
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
		if (res == 1) {
			s->crc_run = 0;
			dispatch(s, &f);
		} else if (res == AC_ECRC) {
			crc_failed(s, &f);
		} else if (res < 0) {
			s->st.framing_errors++;
			event(s, SE_FRAMING_ERROR, 1, ac_strerror(res));
		}
	}
}

void
session_tick(struct session *s, uint64_t now)
{
	s->now = now;
	if (s->ref_pending || s->nstash > 0)
		stash_expire(s);
	if (s->hello_pending && ask_due(s, true, s->hello_asked,
	    SESSION_ASK_RETRY_US) &&
	    (!s->have_hello || !s->desc_complete))
		session_ask_hello(s, !s->have_hello ? "no HELLO yet" :
		    "no answer yet and the descriptor set is incomplete");
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
	return session_frame(s, AC_MSG_CMD, payload, w.len, out, cap);
}

size_t
session_frame(struct session *s, uint8_t type, const uint8_t *payload,
    size_t len, uint8_t *out, size_t cap)
{
	size_t n = ac_frame_encode(out, cap, type, s->tx_seq, payload, len);

	if (n > 0)
		s->tx_seq++;
	return n;
}
