/*
 * The agent's portable core.  Reads the shared region without ever
 * stopping core 1, turns it into frames, and answers host commands.
 */
#include <string.h>

#include "appcore/agent.h"
#include "agent_internal.h"

#define LOG_PER_POLL	16u
#define SEQ_TRIES	4u
/* Room a memory transfer leaves in the queue for samples and events. */
#define XFER_RESERVE	(AC_TXQ_SIZE / 4)

_Static_assert((AC_TXQ_SIZE & (AC_TXQ_SIZE - 1)) == 0, "txq power of two");

void
ac_agent_cfg_defaults(struct ac_agent_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->rate_hz = 100;
	c->hang_timeout_ms = 1000;
	c->batch_us = 10000;
	c->keyframe_us = 1000000;
	c->stats_us = 1000000;
	c->region_base = AC_REGION_DEFAULT_BASE;
	c->device_id_len = 1;
}

/* ---- transmit queue ---- */

static uint32_t
txq_used(const struct ac_txq *q)
{
	return q->head - q->tail;
}

static bool
txq_put(struct ac_txq *q, const uint8_t *p, uint32_t n)
{
	uint32_t off, first;

	if (n > AC_TXQ_SIZE - txq_used(q))
		return false;
	off = q->head & (AC_TXQ_SIZE - 1);
	first = AC_TXQ_SIZE - off < n ? AC_TXQ_SIZE - off : n;
	memcpy(q->buf + off, p, first);
	memcpy(q->buf, p + first, n - first);
	q->head += n;
	if (txq_used(q) > q->high_water)
		q->high_water = txq_used(q);
	return true;
}

/* Whether a bulk transfer (memory, crash dump) may queue one more
 * frame: it leaves XFER_RESERVE for samples and events. */
static bool
xfer_room(const struct ac_agent *a)
{
	return AC_TXQ_SIZE - txq_used(&a->q) >= AC_FRAME_MAX_ENC + XFER_RESERVE;
}

const uint8_t *
ac_agent_tx_peek(struct ac_agent *a, size_t *len)
{
	struct ac_txq *q = &a->q;
	uint32_t off = q->tail & (AC_TXQ_SIZE - 1), used = txq_used(q);

	*len = used < AC_TXQ_SIZE - off ? used : AC_TXQ_SIZE - off;
	return *len > 0 ? q->buf + off : NULL;
}

void
ac_agent_tx_consume(struct ac_agent *a, size_t n)
{
	if (n > txq_used(&a->q))
		n = txq_used(&a->q);
	a->q.tail += (uint32_t)n;
}

/*
 * Frames one message and queues it whole, or drops it whole and counts it.
 * A dropped frame still uses its sequence number so the host sees the gap.
 */
static int
emit(struct ac_agent *a, uint8_t type, const uint8_t *p, size_t len)
{
	size_t n = ac_frame_encode_seeded(a->frame, sizeof(a->frame), type,
	    a->tx_seq++, p, len, a->crc_seed);

	if (n == 0)
		return AC_EOVERFLOW;
	if (!txq_put(&a->q, a->frame, (uint32_t)n)) {
		a->st.frames_dropped++;
		a->st.bytes_dropped += n;
		return AC_EOVERFLOW;
	}
	a->st.frames_sent++;
	return 0;
}

/* Usage: agent_msg_send(a, TYPE, ac_x_encode(agent_msg_begin(a), &m)). */
struct ac_wr *
agent_msg_begin(struct ac_agent *a)
{
	ac_wr_init(&a->w, a->payload, sizeof(a->payload));
	return &a->w;
}

int
agent_msg_send(struct ac_agent *a, uint8_t type, int encoded)
{
	if (encoded < 0)
		return encoded;
	return emit(a, type, a->payload, a->w.len);
}

/* ---- reading the region ---- */

static void
region_copy(const struct ac_agent *a, uint8_t *dst, uint32_t off, uint32_t n)
{
	const uint8_t *src = (const uint8_t *)a->r + off;

	for (uint32_t i = 0; i < n; i++)
		dst[i] = AC_LOAD(&src[i]);
}

static void
copy_str(char *dst, const char *src, size_t cap)
{
	size_t i;

	for (i = 0; i + 1 < cap; i++) {
		char c = AC_LOAD(&src[i]);

		if (c == '\0')
			break;
		dst[i] = c;
	}
	dst[i] = '\0';
}

static bool
region_valid(const struct ac_agent *a)
{
	const struct ac_header *h = &a->r->hdr;

	if (AC_LOAD(&h->magic) != AC_REGION_MAGIC)
		return false;
	AC_FENCE_ACQ();
	return AC_LOAD(&h->layout_version) == AC_LAYOUT_VERSION &&
	    AC_LOAD(&h->header_size) == sizeof(struct ac_header) &&
	    AC_LOAD(&h->region_size) == a->region_size &&
	    AC_LOAD(&h->core1_off) == offsetof(struct ac_region, core1) &&
	    AC_LOAD(&h->counters_off) == offsetof(struct ac_region, counters) &&
	    AC_LOAD(&h->desc_off) == offsetof(struct ac_region, desc) &&
	    AC_LOAD(&h->panic_off) == offsetof(struct ac_region, panic) &&
	    AC_LOAD(&h->log_off) == offsetof(struct ac_region, log) &&
	    AC_LOAD(&h->user_off) == AC_REGION_MIN_SIZE &&
	    AC_LOAD(&h->max_counters) == AC_MAX_COUNTERS &&
	    AC_LOAD(&h->log_slots) == AC_LOG_SLOTS &&
	    AC_LOAD(&a->r->core1.counters_used) <= AC_MAX_COUNTERS;
}

/* ---- messages the agent sends ---- */

static void
send_desc(struct ac_agent *a)
{
	struct ac_msg_desc m;
	uint32_t first = 0;

	do {
		memset(&m, 0, sizeof(m));
		m.desc_gen = a->desc_gen;
		m.total = a->ncols;
		m.first = first;
		m.count = a->ncols - first;
		if (m.count > AC_DESC_PER_FRAME)
			m.count = AC_DESC_PER_FRAME;
		if (m.count == 0)
			break;
		memcpy(m.c, &a->ctr[first], m.count * sizeof(m.c[0]));
		if (agent_msg_send(a, AC_MSG_DESC, ac_desc_encode(agent_msg_begin(a), &m)) < 0) {
			a->desc_pending = true;
			return;
		}
		first += m.count;
	} while (first < a->ncols);
	a->desc_pending = false;
}

void
agent_send_hello(struct ac_agent *a, uint64_t now)
{
	struct ac_msg_hello h;

	memset(&h, 0, sizeof(h));
	h.proto_version = AC_PROTO_VERSION;
	h.layout_version = AC_LAYOUT_VERSION;
	memcpy(h.agent_version, AC_AGENT_VERSION, sizeof(AC_AGENT_VERSION));
	memcpy(h.device_id, a->cfg.device_id, a->cfg.device_id_len);
	h.device_id_len = a->cfg.device_id_len;
	h.boot_id = a->cfg.boot_id;
	memcpy(h.image_hash, a->cfg.image_hash, sizeof(h.image_hash));
	h.region_base = a->cfg.region_base;
	h.region_size = a->region_size;
	h.rate_hz = a->cfg.rate_hz;
	h.max_counters = AC_MAX_COUNTERS;
	h.counters_used = a->desc_valid ? a->ncols : 0;
	h.desc_gen = a->desc_gen;
	h.uptime_us = now;
	h.core1_state = a->state;
	h.generation = a->generation;
	(void)agent_msg_send(a, AC_MSG_HELLO, ac_hello_encode(agent_msg_begin(a), &h));
	if (a->desc_valid)
		send_desc(a);
	a->force_key = true;
	agent_rtt_hello(a);
}

void
agent_flush_samples(struct ac_agent *a)
{
	if (a->enc.n == 0)
		return;
	if (emit(a, AC_MSG_SAMPLES, a->enc.buf, a->enc.w.len) < 0) {
		a->st.samples_dropped += a->enc.n;
		ac_samples_enc_reset(&a->enc);
	}
	a->enc.n = 0;
}

static void
set_state(struct ac_agent *a, uint8_t state, uint64_t now, uint32_t detail)
{
	struct ac_msg_state m;

	if (state == a->state)
		return;
	agent_flush_samples(a);
	memset(&m, 0, sizeof(m));
	m.t_us = now;
	m.state = state;
	m.prev = a->state;
	m.generation = a->generation;
	m.heartbeat = a->last_hb;
	m.detail = detail;
	a->state = state;
	(void)agent_msg_send(a, AC_MSG_STATE, ac_state_encode(agent_msg_begin(a), &m));
}

/* ---- watching core 1 ---- */

/* Re-reads the descriptor table under its sequence lock. */
static void
read_desc(struct ac_agent *a)
{
	struct ac_core1_block *c = &a->r->core1;
	uint32_t s1 = AC_LOAD(&c->desc_seq), s2, used;

	if (a->desc_valid && s1 == a->desc_seq)
		return;
	if (s1 & 1u)
		return;			/* core 1 is registering: next poll */
	AC_FENCE_ACQ();
	used = AC_LOAD(&c->counters_used);
	if (used > AC_MAX_COUNTERS)
		return;
	for (uint32_t i = 0; i < used; i++) {
		const struct ac_counter_desc *d = &a->r->desc[i];

		a->ctr[i].kind = AC_LOAD(&d->kind);
		if (a->ctr[i].kind >= AC_KIND_COUNT)
			a->ctr[i].kind = AC_KIND_UNUSED;
		a->ctr[i].flags = AC_LOAD(&d->flags) & AC_FLAGS_KNOWN;
		copy_str(a->ctr[i].name, d->name, AC_NAME_LEN);
		copy_str(a->ctr[i].unit, d->unit, AC_UNIT_LEN);
	}
	AC_FENCE_ACQ();
	s2 = AC_LOAD(&c->desc_seq);
	if (s1 != s2)
		return;
	agent_flush_samples(a);
	a->desc_seq = s1;
	a->desc_valid = true;
	a->ncols = used;
	a->desc_gen++;
	memset(a->rate_mode, 0, sizeof(a->rate_mode));
	for (uint32_t i = 0; i < used; i++)
		if (a->ctr[i].kind == AC_KIND_COUNTER)
			a->rate_mode[i >> 3] |= (uint8_t)(1u << (i & 7));
	a->force_key = true;
	send_desc(a);
}

/* Records lost are counted once in STATS and told with the next record. */
static void
log_lost(struct ac_agent *a, uint32_t n)
{
	a->st.log_lost += n;
	a->log_lost_pending += n;
}

static void
drain_log(struct ac_agent *a, uint64_t now)
{
	uint32_t head = AC_LOAD(&a->r->core1.log_head);

	AC_FENCE_ACQ();
	if (head - a->log_next > AC_LOG_SLOTS) {
		log_lost(a, head - a->log_next - AC_LOG_SLOTS);
		a->log_next = head - AC_LOG_SLOTS;
	}
	for (unsigned k = 0; k < LOG_PER_POLL && a->log_next != head; k++) {
		uint32_t n = a->log_next++;
		const struct ac_log_slot *s = &a->r->log[n & (AC_LOG_SLOTS - 1)];
		uint32_t want = 2 * n + 2, s1, s2;
		struct ac_msg_log m;

		s1 = AC_LOAD(&s->seq);
		AC_FENCE_ACQ();
		memset(&m, 0, sizeof(m));
		m.stamp = AC_LOAD(&s->stamp);
		m.level = AC_LOAD(&s->level);
		copy_str(m.text, s->text, sizeof(m.text));
		AC_FENCE_ACQ();
		s2 = AC_LOAD(&s->seq);
		if (s1 != want || s2 != want || m.level < AC_LOG_ERROR ||
		    m.level > AC_LOG_DEBUG) {
			log_lost(a, 1);	/* overwritten while we looked */
			continue;
		}
		m.t_us = now;
		m.record = n;
		m.lost_before = a->log_lost_pending;
		if (agent_msg_send(a, AC_MSG_LOG, ac_log_encode(agent_msg_begin(a), &m)) < 0)
			log_lost(a, 1);
		else
			a->log_lost_pending = 0;
	}
}

/* ---- crash dumps ---- */

/*
 * A crash is frozen (the region copied into the crash store a piece per
 * poll, hashed as it goes), then offered with DUMP_INFO.  The host answers
 * DUMP_ACK with the offset to go on from; the agent sends DUMP_DATA at
 * most DUMP_WINDOW bytes past the host's last acknowledgement, offers
 * again after DUMP_WAIT_US of silence, and forgets the dump when the host
 * says AC_DUMP_DONE.  One dump at a time; a stored one outlives resets.
 */
enum { DUMP_NONE, DUMP_SAVING, DUMP_OFFER, DUMP_SENDING };

#define DUMP_SAVE_PER_POLL	16u		/* chunks frozen per poll */
#define DUMP_WINDOW		(8u * AC_DUMP_CHUNK)
#define DUMP_WAIT_US		1000000u

static bool
store_usable(const struct ac_agent *a)
{
	const struct ac_port *p = a->port;

	return p->store_read != NULL && p->store_write != NULL &&
	    p->store_clear != NULL && p->store_size >= AC_STORE_DATA &&
	    p->store_size - AC_STORE_DATA >= a->region_size;
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
dump_offer(struct ac_agent *a, uint64_t now)
{
	struct ac_dump *d = &a->dump;

	d->state = DUMP_OFFER;
	d->wait_t = now;
	(void)agent_msg_send(a, AC_MSG_DUMP_INFO,
	    ac_dump_info_encode(agent_msg_begin(a), &d->info));
}

/* Starts freezing the kept crash (a->crash); the region is still. */
static void
dump_begin(struct ac_agent *a)
{
	struct ac_dump *d = &a->dump;

	if (d->state != DUMP_NONE)
		return;		/* after the one in flight (dump_done) */
	memset(d, 0, sizeof(*d));
	d->state = DUMP_SAVING;
	d->stored = store_usable(a) && a->port->store_clear(a->port->ctx) == 0;
	d->current = true;
	d->info.dump_id = ++a->dump_seq;
	d->info.boot_id = a->cfg.boot_id;
	memcpy(d->info.image_hash, a->cfg.image_hash, 32);
	d->info.region_base = a->cfg.region_base;
	d->info.total = a->region_size;
	d->info.crash = a->crash;
	ac_sha256_init(&d->sha);
	a->crash_dumped = true;
}

/* Writes the header and DUMP_INFO: the stored crash is complete. */
static int
dump_commit(struct ac_agent *a)
{
	struct ac_wr *w = agent_msg_begin(a);
	uint8_t hdr[AC_STORE_HDR];
	int rc;

	if ((rc = ac_dump_info_encode(w, &a->dump.info)) < 0)
		return rc;
	put32(hdr, AC_STORE_MAGIC);
	put32(hdr + 4, 1);
	put32(hdr + 8, (uint32_t)w->len);
	put32(hdr + 12, ac_crc32c(ac_crc32c(0, hdr, 12), w->p, w->len));
	if (a->port->store_write(a->port->ctx, 0, hdr, sizeof(hdr)) < 0 ||
	    a->port->store_write(a->port->ctx, AC_STORE_HDR, w->p,
	    (uint32_t)w->len) < 0)
		return AC_EOVERFLOW;
	return 0;
}

static void
dump_save(struct ac_agent *a, uint64_t now)
{
	struct ac_dump *d = &a->dump;

	for (unsigned k = 0; k < DUMP_SAVE_PER_POLL && d->pos < d->info.total;
	    k++) {
		uint32_t n = d->info.total - d->pos;

		if (n > AC_DUMP_CHUNK)
			n = AC_DUMP_CHUNK;
		region_copy(a, a->bounce, d->pos, n);
		ac_sha256_update(&d->sha, a->bounce, n);
		if (d->stored && a->port->store_write(a->port->ctx,
		    AC_STORE_DATA + d->pos, a->bounce, n) < 0)
			d->stored = false;	/* sent from the region */
		d->pos += n;
	}
	if (d->pos < d->info.total)
		return;
	ac_sha256_final(&d->sha, d->info.sha256);
	if (d->stored) {
		d->info.flags = AC_DUMP_STORED;
		if (dump_commit(a) < 0) {
			d->info.flags = 0;
			d->stored = false;
		}
	}
	/* Safe in the store: core 1 may go on (its region with it). */
	if (d->stored)
		a->restart_due = true;
	d->pos = 0;
	dump_offer(a, now);
}

/* Reads a crash the store kept across a reset; it is offered on HELLO. */
static void
dump_load(struct ac_agent *a)
{
	struct ac_dump *d = &a->dump;
	uint8_t hdr[AC_STORE_HDR];
	uint32_t len;
	struct ac_rd r;

	if (!store_usable(a) || a->port->store_read(a->port->ctx, 0, hdr,
	    sizeof(hdr)) < 0 || get32(hdr) != AC_STORE_MAGIC ||
	    get32(hdr + 4) != 1 || (len = get32(hdr + 8)) == 0 ||
	    len > sizeof(a->payload) || a->port->store_read(a->port->ctx,
	    AC_STORE_HDR, a->payload, len) < 0 ||
	    ac_crc32c(ac_crc32c(0, hdr, 12), a->payload, len) !=
	    get32(hdr + 12))
		return;
	memset(d, 0, sizeof(*d));
	ac_rd_init(&r, a->payload, len);
	if (ac_dump_info_decode(&r, &d->info) < 0 ||
	    d->info.total > a->port->store_size - AC_STORE_DATA) {
		memset(d, 0, sizeof(*d));
		(void)a->port->store_clear(a->port->ctx);
		return;
	}
	d->stored = true;
	d->state = DUMP_OFFER;
	a->dump_seq = d->info.dump_id;
}

/* The host has it: forget it, and freeze a newer crash if one waits. */
static void
dump_done(struct ac_agent *a)
{
	struct ac_dump *d = &a->dump;

	if (d->stored)
		(void)a->port->store_clear(a->port->ctx);
	if (d->current && !d->stored)
		a->restart_due = true;	/* delivered: core 1 may go on */
	d->state = DUMP_NONE;
	if (a->crash_valid && !a->crash_dumped &&
	    (a->state == AC_STATE_PANICKED || a->state == AC_STATE_HUNG))
		dump_begin(a);
}

static void
dump_ack(struct ac_agent *a, uint32_t id, uint32_t off, uint64_t now)
{
	struct ac_dump *d = &a->dump;

	if (d->state < DUMP_OFFER || id != d->info.dump_id)
		return;
	if (off == AC_DUMP_DONE) {
		dump_done(a);
		return;
	}
	if ((off & ~AC_DUMP_RESEND) > d->info.total)
		return;
	d->wait_t = now;
	/* An answer to an offer, or a request to go back (the host lost a
	 * chunk, or starts over): go on from where the host is. */
	if (d->state == DUMP_OFFER || (off & AC_DUMP_RESEND)) {
		off &= ~AC_DUMP_RESEND;
		d->state = DUMP_SENDING;
		d->pos = off;
		d->acked = off;
	} else if (off > d->acked && off <= d->pos)
		d->acked = off;
}

static void
dump_pump(struct ac_agent *a, uint64_t now)
{
	struct ac_dump *d = &a->dump;
	struct ac_msg_dump_data m;

	if (d->state == DUMP_SAVING) {
		dump_save(a, now);
		return;
	}
	if (d->state != DUMP_NONE && now - d->wait_t >= DUMP_WAIT_US) {
		dump_offer(a, now);	/* the host is silent: ask again */
		return;
	}
	while (d->state == DUMP_SENDING && d->pos < d->info.total &&
	    d->pos - d->acked < DUMP_WINDOW && xfer_room(a)) {
		memset(&m, 0, sizeof(m));
		m.dump_id = d->info.dump_id;
		m.offset = d->pos;
		m.len = d->info.total - d->pos;
		if (m.len > AC_DUMP_CHUNK)
			m.len = AC_DUMP_CHUNK;
		if (d->stored) {
			if (a->port->store_read(a->port->ctx,
			    AC_STORE_DATA + m.offset, a->bounce, m.len) < 0)
				return;	/* offered again after the wait */
		} else
			region_copy(a, a->bounce, m.offset, m.len);
		m.data = a->bounce;
		m.crc = ac_crc32c(0, a->bounce, m.len);
		if (agent_msg_send(a, AC_MSG_DUMP_DATA,
		    ac_dump_data_encode(agent_msg_begin(a), &m)) < 0)
			return;
		d->pos += m.len;
	}
}

bool
agent_dump_busy(const struct ac_agent *a)
{
	return a->dump.state != DUMP_NONE;
}

/* Whether the crash of this run is safe: in the store, or delivered. */
bool
agent_crash_safe(const struct ac_agent *a)
{
	const struct ac_dump *d = &a->dump;

	if (!a->crash_valid || !a->crash_dumped ||
	    (a->state != AC_STATE_PANICKED && a->state != AC_STATE_HUNG))
		return false;
	if (d->state == DUMP_NONE)
		return true;		/* delivered (or dropped) */
	return d->current && d->stored && d->state != DUMP_SAVING;
}

/* The restart policy, once the crash of this run is safe. */
static void
policy_restart(struct ac_agent *a, uint64_t now)
{
	uint32_t recent = 0, max = a->cfg.restart_max;

	a->restart_due = false;
	if (agent_image_on_trial(a))
		return;		/* a crash on trial rolls back instead */
	if (a->cfg.restart == AC_RESTART_NEVER ||
	    a->port->core1_restart == NULL || !a->crash_valid ||
	    (a->state != AC_STATE_PANICKED && a->state != AC_STATE_HUNG))
		return;
	if (a->cfg.restart == AC_RESTART_LIMIT) {
		if (max > AC_RESTART_MAX)
			max = AC_RESTART_MAX;
		/* The last max restarts, newest first, in the ring. */
		for (uint32_t k = 0; k < max && k < a->restarts; k++)
			if (now - a->restart_t[(a->restarts - 1 - k) %
			    AC_RESTART_MAX] < 3600ull * 1000000u)
				recent++;
		if (recent >= max)
			return;		/* stays stopped; a host may restart */
	}
	if (a->port->core1_restart(a->port->ctx) == 0)
		a->restart_t[a->restarts++ % AC_RESTART_MAX] = now;
}

/* A CRASH, kept to be sent again to a host that says hello; its dump is
 * frozen now, or after the one in flight. */
static void
send_crash(struct ac_agent *a, const struct ac_msg_crash *m)
{
	a->crash = *m;
	a->crash_valid = true;
	a->crash_dumped = false;
	agent_flush_samples(a);
	(void)agent_msg_send(a, AC_MSG_CRASH, ac_crash_encode(agent_msg_begin(a), m));
	dump_begin(a);
}

static void
check_panic(struct ac_agent *a, uint64_t now)
{
	const struct ac_panic_record *p = &a->r->panic;
	struct ac_msg_crash m;

	for (unsigned t = 0; t < SEQ_TRIES; t++) {
		uint32_t s1 = AC_LOAD(&p->seq), s2;

		if ((s1 & 1u) || s1 == 0 || s1 == a->panic_seq)
			return;
		AC_FENCE_ACQ();
		memset(&m, 0, sizeof(m));
		m.t_us = now;
		m.generation = a->generation;
		m.reason = AC_LOAD(&p->reason);
		m.pc = AC_LOAD(&p->pc);
		m.sp = AC_LOAD(&p->sp);
		m.ps = AC_LOAD(&p->ps);
		m.exccause = AC_LOAD(&p->exccause);
		m.excvaddr = AC_LOAD(&p->excvaddr);
		m.line = AC_LOAD(&p->line);
		m.bt_count = AC_LOAD(&p->bt_count);
		for (unsigned i = 0; i < 16; i++)
			m.ar[i] = AC_LOAD(&p->ar[i]);
		for (unsigned i = 0; i < AC_BT_MAX; i++)
			m.bt[i] = AC_LOAD(&p->bt[i]);
		copy_str(m.file, p->file, sizeof(m.file));
		copy_str(m.msg, p->msg, sizeof(m.msg));
		AC_FENCE_ACQ();
		s2 = AC_LOAD(&p->seq);
		if (s1 != s2)
			continue;
		if (m.reason >= AC_PANIC_COUNT)
			m.reason = AC_PANIC_EXPLICIT;
		if (m.bt_count > AC_BT_MAX)
			m.bt_count = AC_BT_MAX;
		a->panic_seq = s1;
		send_crash(a, &m);
		return;
	}
}

/*
 * Core 1 hung: stall it where the port can, so the region stops changing
 * and its last PC/SP can be read, and report a crash of reason hang.
 */
static void
report_hang(struct ac_agent *a, uint64_t now, uint32_t silent_ms)
{
	struct ac_msg_crash m;
	uint32_t pc = 0, sp = 0;
	int rc = -1;

	if (a->port->core1_stall != NULL)
		rc = a->port->core1_stall(a->port->ctx, &pc, &sp);
	memset(&m, 0, sizeof(m));
	m.t_us = now;
	m.generation = a->generation;
	m.reason = AC_PANIC_HANG;
	m.pc = rc == 0 ? pc : 0;
	m.sp = rc == 0 ? sp : 0;
	{	/* "heartbeat silent N ms[; core 1 stalled]", freestanding */
		static const char pre[] = "heartbeat silent ";
		const char *post = rc == 0 ? " ms; core 1 stalled" : " ms";
		char digits[10];
		size_t n = 0, k = 0;

		do {
			digits[k++] = (char)('0' + silent_ms % 10);
			silent_ms /= 10;
		} while (silent_ms != 0 && k < sizeof(digits));
		for (size_t i = 0; pre[i] != '\0'; i++)
			m.msg[n++] = pre[i];
		while (k > 0)
			m.msg[n++] = digits[--k];
		for (size_t i = 0; post[i] != '\0'; i++)
			m.msg[n++] = post[i];
		m.msg[n] = '\0';
	}
	send_crash(a, &m);
}

static void
watch_core1(struct ac_agent *a, uint64_t now)
{
	struct ac_core1_block *c = &a->r->core1;
	uint32_t gen, hb, st;

	if (!region_valid(a)) {
		if (a->region_ok || (!a->region_seen && a->state != AC_STATE_OFF))
			agent_flush_samples(a);
		a->region_ok = false;
		set_state(a, a->region_seen ? AC_STATE_CORRUPT : AC_STATE_OFF,
		    now, 0);
		return;
	}
	gen = AC_LOAD(&a->r->hdr.generation);
	if (!a->region_ok || gen != a->generation) {
		/* A new core-1 run: its ring, counters and records start over. */
		a->region_ok = true;
		a->region_seen = true;
		a->generation = gen;
		a->desc_valid = false;
		a->log_next = 0;
		a->panic_seq = 0;
		a->crash_valid = false;
		a->restart_due = false;
		/* A dump not in the store was read from the region, which
		 * the new run overwrites: it is lost (docs/crash-dumps.md). */
		if (a->dump.state != DUMP_NONE && a->dump.current &&
		    !a->dump.stored)
			a->dump.state = DUMP_NONE;
		a->dump.current = false;
		a->last_hb = AC_LOAD(&c->heartbeat);
		a->last_hb_t = now;
	}
	read_desc(a);
	hb = AC_LOAD(&c->heartbeat);
	if (hb != a->last_hb) {
		a->last_hb = hb;
		a->last_hb_t = now;
	}
	st = AC_LOAD(&c->state);
	if (st == AC_STATE_RUNNING &&
	    now - a->last_hb_t > (uint64_t)a->cfg.hang_timeout_ms * 1000) {
		if (a->state != AC_STATE_HUNG) {
			uint32_t ms = (uint32_t)((now - a->last_hb_t) / 1000);

			set_state(a, AC_STATE_HUNG, now, ms);
			report_hang(a, now, ms);
		}
	} else if (st == AC_STATE_BOOTING || st == AC_STATE_RUNNING ||
	    st == AC_STATE_PANICKED)
		set_state(a, (uint8_t)st, now, 0);
	else
		set_state(a, AC_STATE_CORRUPT, now, st);
	if (st == AC_STATE_PANICKED)
		check_panic(a, now);
	drain_log(a, now);
}

/* ---- sampling ---- */

/* Kept with the rate: a division per poll costs hundreds of
 * instructions on a core without a divider (tests/xtensa/agent_qemu.sh). */
static uint32_t
interval_us(const struct ac_agent *a)
{
	return a->interval_us;
}

static void
take_sample(struct ac_agent *a, uint64_t now)
{
	uint32_t iv = interval_us(a);

	for (uint32_t i = 0; i < a->ncols; i++)
		a->vals[i] = AC_LOAD(&a->r->counters[i]);
	if (a->port->on_sample != NULL)
		a->port->on_sample(a->port->ctx, a->sample_index, now, a->vals,
		    a->ncols);
	a->st.samples++;
	for (int tries = 0; tries < 2; tries++) {
		int rc;

		if (a->enc.n == 0) {
			bool key = a->force_key ||
			    now - a->last_key_t >= a->cfg.keyframe_us;

			ac_samples_begin(&a->enc, key, a->sample_index, a->ncols,
			    iv, a->rate_mode);
			if (!a->enc.s.have_ref) {
				a->last_key_t = now;
				a->force_key = false;
			} else {
				a->refs[a->ref_next++ % AC_REF_RING] =
				    a->enc.s;
			}
		}
		rc = ac_samples_add(&a->enc, now, a->vals);
		if (rc == 0)
			break;
		/* Full, or a time step a delta cannot carry: new frame. */
		agent_flush_samples(a);
		if (rc == AC_ERANGE)
			ac_samples_enc_reset(&a->enc);
		if (tries == 1)
			a->st.samples_dropped++;
	}
	a->sample_index++;
	if (a->enc.n > 0 && now - a->enc.first_t + iv >= a->cfg.batch_us)
		agent_flush_samples(a);
}

static void
run_sampler(struct ac_agent *a, uint64_t now)
{
	uint64_t iv = interval_us(a);

	if (now < a->next_sample_t)
		return;
	if (now - a->next_sample_t >= iv) {
		uint64_t missed = (now - a->next_sample_t) / iv;

		a->st.sampler_overruns += missed;
		a->next_sample_t += missed * iv;
	}
	a->next_sample_t += iv;
	if (a->region_ok && a->desc_valid)
		take_sample(a, now);
}

/* ---- memory transfers ---- */

static void
pump_xfer(struct ac_agent *a, uint64_t now)
{
	struct ac_xfer *x = &a->xfer;
	struct ac_msg_mem m;
	uint8_t chunk[AC_MEM_CHUNK];

	while (x->active && xfer_room(a)) {
		memset(&m, 0, sizeof(m));
		m.req_id = x->req_id;
		m.kind = x->kind;
		m.t_us = now;
		m.start = x->start;
		m.total = x->total;
		m.offset = x->start + x->done;
		m.len = x->total - x->done;
		if (m.len > AC_MEM_CHUNK)
			m.len = AC_MEM_CHUNK;
		region_copy(a, chunk, m.offset, m.len);
		m.data = chunk;
		if (agent_msg_send(a, AC_MSG_MEM, ac_mem_encode(agent_msg_begin(a), &m)) < 0)
			return;
		x->done += m.len;
		if (x->done == x->total)
			x->active = false;
	}
}

/* ---- commands ---- */

void
agent_reply(struct ac_agent *a, uint32_t req_id, uint8_t cmd, uint8_t status,
    uint64_t value)
{
	struct ac_msg_reply m = { req_id, cmd, status, value };

	(void)agent_msg_send(a, AC_MSG_REPLY, ac_reply_encode(agent_msg_begin(a), &m));
}

int
ac_agent_set_rate(struct ac_agent *a, uint32_t hz)
{
	if (hz < AC_RATE_MIN || hz > AC_RATE_MAX)
		return AC_ERANGE;
	agent_flush_samples(a);
	a->cfg.rate_hz = hz;
	a->interval_us = 1000000u / hz;
	a->next_sample_t = a->port->now_us(a->port->ctx);
	a->force_key = true;
	return 0;
}

static uint8_t
start_xfer(struct ac_agent *a, uint32_t req_id, uint8_t kind, uint32_t off,
    uint32_t len)
{
	/* A crash dump on its way goes first: on a slow link a snapshot
	 * would hold its chunks back for seconds. */
	if (a->xfer.active || a->dump.state != DUMP_NONE)
		return AC_ST_BUSY;
	if (len == 0 || off > a->region_size || len > a->region_size - off)
		return AC_ST_OUT_OF_RANGE;
	a->xfer = (struct ac_xfer){ true, req_id, kind, off, len, 0 };
	return AC_ST_OK;
}

/*
 * A host that lost a frame and kept the ones after it asks for the
 * reference the first of those continues.  The answer is SAMPLES_REF, or,
 * when the reference is gone or does not fit a frame, the next frame is a
 * key frame and the REPLY says so.
 */
static void
send_ref(struct ac_agent *a, const struct ac_msg_cmd *c)
{
	uint64_t index = c->arg0 | (uint64_t)c->arg1 << 32;

	for (uint32_t i = 0; i < AC_REF_RING; i++) {
		const struct ac_samples_state *s = &a->refs[i];

		if (!s->have_ref || s->next_index != index)
			continue;
		if (agent_msg_send(a, AC_MSG_SAMPLES_REF, ac_samples_ref_encode(
		    agent_msg_begin(a), a->cfg.boot_id, s)) == 0)
			return;
		break;
	}
	a->force_key = true;
	agent_reply(a, c->req_id, c->cmd, AC_ST_OUT_OF_RANGE, index);
}

static void
handle_cmd(struct ac_agent *a, const struct ac_frame *f)
{
	struct ac_msg_cmd c;
	struct ac_rd r;
	uint64_t now = a->port->now_us(a->port->ctx);
	uint8_t st;
	int rc;

	ac_rd_init(&r, f->payload, f->len);
	if ((rc = ac_cmd_decode(&r, &c)) < 0) {
		a->st.rx_errors++;
		if (r.err != NULL && c.cmd != 0)
			agent_reply(a, c.req_id, c.cmd, c.cmd >= AC_CMD_COUNT ||
			    c.cmd == 0 ? AC_ST_UNKNOWN_CMD : AC_ST_BAD_REQUEST,
			    0);
		return;
	}
	switch (c.cmd) {
	case AC_CMD_PING:
		agent_reply(a, c.req_id, c.cmd, AC_ST_OK, c.arg0);
		break;
	case AC_CMD_HELLO:
		agent_flush_samples(a);
		agent_send_hello(a, now);
		/*
		 * A host that says hello may have missed a crash (it was not
		 * there, or the link dropped it): the last CRASH of a core 1
		 * still panicked or hung goes again, as it was, first time
		 * included; hosts keep one per crash.
		 */
		if (a->crash_valid && (a->state == AC_STATE_PANICKED ||
		    a->state == AC_STATE_HUNG))
			(void)agent_msg_send(a, AC_MSG_CRASH, ac_crash_encode(
			    agent_msg_begin(a), &a->crash));
		if (a->dump.state >= DUMP_OFFER)
			dump_offer(a, now);
		agent_reply(a, c.req_id, c.cmd, AC_ST_OK, 0);
		break;
	case AC_CMD_SAMPLES_REF:	/* no reply when the reference goes */
		if (a->cfg.no_samples_ref)
			agent_reply(a, c.req_id, c.cmd, AC_ST_UNKNOWN_CMD, 0);
		else
			send_ref(a, &c);
		break;
	case AC_CMD_DUMP_ACK:	/* no reply: the dump answers */
		dump_ack(a, c.arg0, c.arg1, now);
		break;
	case AC_CMD_SET_RESTART:
		if (c.arg0 > AC_RESTART_LIMIT || (c.arg0 == AC_RESTART_LIMIT &&
		    (c.arg1 < 1 || c.arg1 > AC_RESTART_MAX))) {
			st = AC_ST_OUT_OF_RANGE;
		} else {
			a->cfg.restart = (uint8_t)c.arg0;
			a->cfg.restart_max = c.arg0 == AC_RESTART_LIMIT ?
			    c.arg1 : 0;
			/* A crash already safe gets the new policy now. */
			if (agent_crash_safe(a))
				a->restart_due = true;
			st = AC_ST_OK;
		}
		agent_reply(a, c.req_id, c.cmd, st,
		    a->cfg.restart | (uint64_t)a->cfg.restart_max << 8);
		break;
	case AC_CMD_SET_RATE:
		rc = ac_agent_set_rate(a, c.arg0);
		agent_reply(a, c.req_id, c.cmd, rc < 0 ? AC_ST_OUT_OF_RANGE : AC_ST_OK,
		    a->cfg.rate_hz);
		break;
	case AC_CMD_READ_MEM:
		st = start_xfer(a, c.req_id, AC_MEM_READ, c.arg0, c.arg1);
		agent_reply(a, c.req_id, c.cmd, st, c.arg1);
		break;
	case AC_CMD_SNAPSHOT:
		st = start_xfer(a, c.req_id, AC_MEM_SNAPSHOT, 0, a->region_size);
		agent_reply(a, c.req_id, c.cmd, st, a->region_size);
		break;
	case AC_CMD_IMAGE_STATUS:
	case AC_CMD_IMAGE_ACTIVATE:
	case AC_CMD_IMAGE_ABORT:
		agent_image_cmd(a, &c, now);
		break;
	case AC_CMD_RESTART_CORE1:
		if (a->port->core1_restart == NULL)
			st = AC_ST_UNSUPPORTED;
		else
			st = a->port->core1_restart(a->port->ctx) == 0 ?
			    AC_ST_OK : AC_ST_FAILED;
		agent_reply(a, c.req_id, c.cmd, st, 0);
		break;
	default:
		agent_reply(a, c.req_id, c.cmd, AC_ST_UNKNOWN_CMD, 0);
		break;
	}
}

void
ac_agent_rx(struct ac_agent *a, const uint8_t *buf, size_t n)
{
	while (n > 0) {
		struct ac_frame f;
		int res;
		size_t used = ac_deframer_feed(&a->rx, buf, n, &f, &res);

		buf += used;
		n -= used;
		if (res < 0)
			a->st.rx_errors++;
		else if (res == 1 && f.type == AC_MSG_CMD)
			handle_cmd(a, &f);
		else if (res == 1 && (f.type == AC_MSG_IMAGE_OFFER ||
		    f.type == AC_MSG_IMAGE_DATA))
			agent_image_rx(a, &f);
		else if (res == 1)
			a->st.rx_errors++;
	}
}

/* ---- the loop ---- */

static void
send_stats(struct ac_agent *a, uint64_t now)
{
	a->st.t_us = now;
	a->st.txq_high_water = a->q.high_water;
	a->st.txq_size = AC_TXQ_SIZE;
	a->st.heartbeat = a->last_hb;
	(void)agent_msg_send(a, AC_MSG_STATS, ac_stats_encode(agent_msg_begin(a), &a->st));
}

void
ac_agent_flush(struct ac_agent *a)
{
	agent_flush_samples(a);
	send_stats(a, a->port->now_us(a->port->ctx));
}

static uint64_t
min_t(uint64_t x, uint64_t y)
{
	return x < y ? x : y;
}

uint64_t
ac_agent_poll(struct ac_agent *a)
{
	uint64_t now = a->port->now_us(a->port->ctx), next;

	watch_core1(a, now);
	if (a->desc_pending)
		send_desc(a);
	run_sampler(a, now);
	if (a->enc.n > 0 && now - a->enc.first_t >= a->cfg.batch_us)
		agent_flush_samples(a);
	pump_xfer(a, now);
	/* A restart the last poll made due: the port saw the frozen crash
	 * complete before core 1 runs again (the simulator's truth). */
	if (a->restart_due)
		policy_restart(a, now);
	dump_pump(a, now);
	agent_rtt_poll(a, now);
	next = agent_image_poll(a, now);
	if (now >= a->next_stats_t) {
		send_stats(a, now);
		a->next_stats_t = now + a->cfg.stats_us;
	}
	next = min_t(next, min_t(a->next_sample_t, a->next_stats_t));
	if (a->enc.n > 0)
		next = min_t(next, a->enc.first_t + a->cfg.batch_us);
	if (a->state == AC_STATE_RUNNING)
		next = min_t(next, a->last_hb_t +
		    (uint64_t)a->cfg.hang_timeout_ms * 1000 + 1);
	if (a->xfer.active || a->desc_pending ||
	    a->dump.state == DUMP_SAVING || a->dump.state == DUMP_SENDING)
		next = min_t(next, now + 1000);
	/* The region is watched at least every 10 ms whatever the rate. */
	return min_t(next, now + 10000);
}

int
ac_agent_init(struct ac_agent *a, const struct ac_agent_cfg *cfg,
    const struct ac_port *port, void *region, uint32_t region_size)
{
	uint64_t now;

	if (cfg->rate_hz < AC_RATE_MIN || cfg->rate_hz > AC_RATE_MAX ||
	    cfg->device_id_len < 1 || cfg->device_id_len > AC_DEVICE_ID_MAX ||
	    region == NULL || ((uintptr_t)region & 3u) != 0 ||
	    region_size < AC_REGION_MIN_SIZE || port == NULL ||
	    port->now_us == NULL || cfg->batch_us == 0 ||
	    cfg->hang_timeout_ms == 0 || cfg->restart > AC_RESTART_LIMIT ||
	    (cfg->restart == AC_RESTART_LIMIT && (cfg->restart_max < 1 ||
	    cfg->restart_max > AC_RESTART_MAX)))
		return AC_ERANGE;
	memset(a, 0, sizeof(*a));
	a->cfg = *cfg;
	a->interval_us = 1000000u / cfg->rate_hz;
	a->crc_seed = ac_boot_seed(cfg->boot_id);
	a->port = port;
	a->r = region;
	a->region_size = region_size;
	ac_deframer_init(&a->rx);
	now = port->now_us(port->ctx);
	a->next_sample_t = now;
	a->next_stats_t = now + cfg->stats_us;
	a->force_key = true;
	a->state = AC_STATE_OFF;
	a->dump_seq = (uint32_t)cfg->boot_id;
	dump_load(a);
	agent_image_init(a);
	agent_rtt_init(a);
	agent_send_hello(a, now);
	if (a->dump.state == DUMP_OFFER)
		dump_offer(a, now);
	return 0;
}
