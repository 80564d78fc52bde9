/*
 * Core-1 image updates on the agent (docs/updates.md): an image arrives
 * in chunks into the slot core 1 does not run, is verified against its
 * SHA-256 by reading the slot back, and is activated on trial; a healthy
 * heartbeat for the trial time confirms it, and a panic, a hang, a silent
 * core 1 or a board reset during the trial rolls back to the previous
 * slot.  Every change of the slot record is written to the older of its
 * two copies, so a reset at any instant leaves a whole record.
 */
#include <string.h>

#include "agent_internal.h"

#define VERIFY_PER_POLL	16u		/* chunks read back per poll */
#define CHECKPOINT	(16u * 1024u)	/* bytes between record writes */
#define MAX_ATTEMPTS	1u		/* trial boots before a rollback */

static const struct ac_port *
P(const struct ac_agent *a)
{
	return a->port;
}

static bool
slots_usable(const struct ac_port *p)
{
	return p->slot_size >= AC_IMAGE_HDR && p->slot_size <= AC_IMAGE_MAX &&
	    p->slot_erase != NULL && p->slot_write != NULL &&
	    p->slot_read != NULL && p->rec_read != NULL &&
	    p->rec_write != NULL && p->core1_switch != NULL;
}

static uint32_t
image_base(const struct ac_agent *a)
{
	return P(a)->image_base != 0 ? P(a)->image_base : AC_IMAGE_BASE;
}

/* ---- the record ---- */

/* Whether seq x is newer than y, across a wrap. */
static bool
seq_newer(uint32_t x, uint32_t y)
{
	return (int32_t)(x - y) > 0;
}

static bool
rec_load_copy(struct ac_agent *a, uint8_t copy, struct ac_slot_rec *out)
{
	uint8_t buf[AC_SLOT_REC_SIZE];

	return P(a)->rec_read(P(a)->ctx, copy, buf, sizeof(buf)) == 0 &&
	    ac_slot_rec_decode(buf, out) == 0;
}

/* The record a board without one has: the built-in image in slot 0. */
static void
rec_fresh(struct ac_agent *a)
{
	struct ac_slot_rec *rec = &a->img.rec;

	memset(rec, 0, sizeof(*rec));
	rec->previous = AC_SLOT_NONE;
	rec->slot[0].state = AC_SLOT_VALID;
	memcpy(rec->slot[0].image_hash, a->img.factory_hash, 32);
	a->img.rec_copy = 1;		/* the first write goes to copy 0 */
}

static void
rec_load(struct ac_agent *a)
{
	struct ac_slot_rec c[2];
	bool ok0 = rec_load_copy(a, 0, &c[0]);
	bool ok1 = rec_load_copy(a, 1, &c[1]);

	if (!ok0 && !ok1) {
		rec_fresh(a);
		return;
	}
	a->img.rec_copy = ok1 && (!ok0 || seq_newer(c[1].seq, c[0].seq));
	a->img.rec = c[a->img.rec_copy];
}

/* Writes the record to the older copy; the newer stays whole. */
static int
rec_save(struct ac_agent *a)
{
	uint8_t buf[AC_SLOT_REC_SIZE];
	uint8_t copy = (uint8_t)(a->img.rec_copy ^ 1u);

	a->img.rec.seq++;
	ac_slot_rec_encode(buf, &a->img.rec);
	if (P(a)->rec_write(P(a)->ctx, copy, buf, sizeof(buf)) < 0)
		return AC_EOVERFLOW;
	a->img.rec_copy = copy;
	return 0;
}

/* ---- status ---- */

static void
send_status(struct ac_agent *a, uint64_t now)
{
	struct ac_image *im = &a->img;
	struct ac_msg_image_status m;
	const struct ac_slot_rec *rec = &im->rec;
	uint64_t end;

	memset(&m, 0, sizeof(m));
	m.xfer_id = im->xfer_id;
	m.state = im->state;
	m.error = im->error;
	m.have = im->have;
	m.total = im->state == AC_IMG_IDLE ? 0 : rec->slot[im->target].size;
	if (m.have > m.total)
		m.have = m.total;
	m.slot_size = im->usable ? P(a)->slot_size : 0;
	m.base = image_base(a);
	m.active = rec->active;
	m.previous = rec->previous;
	m.attempts = rec->attempts;
	if (im->state == AC_IMG_TRIAL) {
		end = im->trial_t + (uint64_t)rec->trial_ms * 1000u;
		m.trial_left_ms = now < end ? (uint32_t)((end - now) / 1000u) :
		    0;
	}
	memcpy(m.active_hash, rec->slot[rec->active].image_hash, 32);
	memcpy(m.sha256, rec->slot[im->target].sha256, 32);
	if (agent_msg_send(a, AC_MSG_IMAGE_STATUS,
	    ac_image_status_encode(agent_msg_begin(a), &m)) == 0) {
		im->status_due = false;
		im->chunks = 0;
	}
}

static void
set_state(struct ac_agent *a, uint8_t state, uint8_t err)
{
	a->img.state = state;
	a->img.error = err;
	a->img.status_due = true;
}

/* ---- transfer ---- */

static uint8_t
check_offer(const struct ac_agent *a, const struct ac_msg_image_offer *o)
{
	uint32_t base = image_base(a);

	if (!a->img.usable)
		return AC_IMGE_UNSUPPORTED;
	if (a->img.state == AC_IMG_TRIAL)
		return AC_IMGE_BUSY_TRIAL;
	if (agent_dump_busy(a))
		return AC_IMGE_BUSY_DUMP;
	if (o->total > P(a)->slot_size)
		return AC_IMGE_TOO_LARGE;
	if (o->entry < base + AC_IMAGE_HDR || o->entry - base >= o->total)
		return AC_IMGE_BAD_ENTRY;
	return AC_IMGE_NONE;
}

/* The offer continues the transfer the record names (after a reset of
 * either side), or the one that waits verified. */
static bool
offer_resumes(const struct ac_agent *a, const struct ac_msg_image_offer *o)
{
	const struct ac_image *im = &a->img;
	const struct ac_slot_info *s = &im->rec.slot[im->target];

	return (im->state == AC_IMG_RECEIVING ||
	    im->state == AC_IMG_VERIFYING || im->state == AC_IMG_READY) &&
	    s->size == o->total && s->entry == o->entry &&
	    memcmp(s->sha256, o->sha256, 32) == 0 &&
	    memcmp(s->image_hash, o->image_hash, 32) == 0;
}

static void
take_offer(struct ac_agent *a, const struct ac_msg_image_offer *o)
{
	struct ac_image *im = &a->img;
	uint8_t err = check_offer(a, o);
	struct ac_slot_info *s;

	if (err == AC_IMGE_NONE && offer_resumes(a, o)) {
		im->xfer_id = o->xfer_id;	/* the host's new name for it */
		im->status_due = true;
		return;
	}
	if (err != AC_IMGE_NONE) {
		im->xfer_id = o->xfer_id;
		if (im->state != AC_IMG_TRIAL)
			im->state = AC_IMG_FAILED;
		im->error = err;
		im->status_due = true;
		return;
	}
	im->target = (uint8_t)(im->rec.active ^ 1u);
	s = &im->rec.slot[im->target];
	memset(s, 0, sizeof(*s));
	s->state = AC_SLOT_RECEIVING;
	s->size = o->total;
	s->entry = o->entry;
	memcpy(s->sha256, o->sha256, 32);
	memcpy(s->image_hash, o->image_hash, 32);
	if (im->rec.previous == im->target)
		im->rec.previous = AC_SLOT_NONE;	/* overwritten now */
	im->rec.xfer_id = im->xfer_id = o->xfer_id;
	im->rec.have = im->have = im->erased = 0;
	set_state(a, AC_IMG_RECEIVING, rec_save(a) < 0 ? AC_IMGE_STORAGE :
	    AC_IMGE_NONE);
	if (im->error != AC_IMGE_NONE)
		im->state = AC_IMG_FAILED;
}

static int
write_chunk(struct ac_agent *a, const struct ac_msg_image_data *d)
{
	struct ac_image *im = &a->img;
	const struct ac_port *p = P(a);

	while (im->erased < d->offset + d->len) {
		uint32_t n = p->slot_size - im->erased;

		if (n > AC_SLOT_SECTOR)
			n = AC_SLOT_SECTOR;
		if (p->slot_erase(p->ctx, im->target, im->erased, n) < 0)
			return AC_EOVERFLOW;
		im->erased += n;
	}
	return p->slot_write(p->ctx, im->target, d->offset, d->data, d->len);
}

static void
begin_verify(struct ac_agent *a)
{
	a->img.verify_pos = 0;
	ac_sha256_init(&a->img.sha);
	set_state(a, AC_IMG_VERIFYING, AC_IMGE_NONE);
}

static void
take_data(struct ac_agent *a, const struct ac_msg_image_data *d)
{
	struct ac_image *im = &a->img;
	uint32_t total = im->rec.slot[im->target].size;

	if (im->state != AC_IMG_RECEIVING || d->xfer_id != im->xfer_id)
		return;
	if (d->offset != im->have || d->offset + d->len > total ||
	    ac_crc32c(0, d->data, d->len) != d->crc) {
		/* A chunk lost or damaged before this one: say where to go
		 * on from, once per window, not per chunk. */
		if (d->offset > im->have && d->offset <= im->have +
		    AC_IMAGE_CHUNK)
			im->status_due = true;
		if (d->offset == im->have)
			im->status_due = true;	/* bad CRC: again */
		return;
	}
	if (agent_dump_busy(a)) {
		im->error = AC_IMGE_BUSY_DUMP;	/* the dump goes first */
		im->status_due = true;
		return;
	}
	if (write_chunk(a, d) < 0) {
		im->rec.slot[im->target].state = AC_SLOT_EMPTY;
		(void)rec_save(a);
		set_state(a, AC_IMG_FAILED, AC_IMGE_STORAGE);
		return;
	}
	im->error = AC_IMGE_NONE;
	im->have += d->len;
	if (im->have / CHECKPOINT != (im->have - d->len) / CHECKPOINT) {
		im->rec.have = im->have;
		(void)rec_save(a);	/* a lost checkpoint costs a resend */
	}
	if (++im->chunks >= AC_IMAGE_ACK_EVERY)
		im->status_due = true;
	if (im->have == total)
		begin_verify(a);
}

void
agent_image_rx(struct ac_agent *a, const struct ac_frame *f)
{
	struct ac_rd r;

	ac_rd_init(&r, f->payload, f->len);
	if (f->type == AC_MSG_IMAGE_OFFER) {
		struct ac_msg_image_offer o;

		if (ac_image_offer_decode(&r, &o) < 0)
			a->st.rx_errors++;
		else
			take_offer(a, &o);
	} else {
		struct ac_msg_image_data d;

		if (ac_image_data_decode(&r, &d) < 0)
			a->st.rx_errors++;
		else if (a->img.usable)
			take_data(a, &d);
	}
}

/* ---- verification ---- */

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* The header words agree with the offer: entry, magic, ELF hash. */
static bool
header_ok(const uint8_t *hdr, const struct ac_slot_info *s)
{
	return get32(hdr) == s->entry && get32(hdr + 4) == AC_IMAGE_MAGIC &&
	    memcmp(hdr + 8, s->image_hash, 32) == 0;
}

static void
finish_verify(struct ac_agent *a)
{
	struct ac_image *im = &a->img;
	struct ac_slot_info *s = &im->rec.slot[im->target];
	uint8_t sha[32];

	ac_sha256_final(&im->sha, sha);
	if (memcmp(sha, s->sha256, 32) != 0) {
		s->state = AC_SLOT_EMPTY;
		(void)rec_save(a);
		set_state(a, AC_IMG_FAILED, AC_IMGE_SHA256);
		return;
	}
	s->state = AC_SLOT_VALID;
	im->rec.have = s->size;
	set_state(a, AC_IMG_READY, rec_save(a) < 0 ? AC_IMGE_STORAGE :
	    AC_IMGE_NONE);
	if (im->error != AC_IMGE_NONE)
		im->state = AC_IMG_FAILED;
}

static void
verify_some(struct ac_agent *a)
{
	struct ac_image *im = &a->img;
	struct ac_slot_info *s = &im->rec.slot[im->target];

	for (unsigned k = 0; k < VERIFY_PER_POLL && im->verify_pos < s->size;
	    k++) {
		uint32_t n = s->size - im->verify_pos;

		if (n > sizeof(a->bounce))
			n = sizeof(a->bounce);
		if (P(a)->slot_read(P(a)->ctx, im->target, im->verify_pos,
		    a->bounce, n) < 0) {
			s->state = AC_SLOT_EMPTY;
			(void)rec_save(a);
			set_state(a, AC_IMG_FAILED, AC_IMGE_STORAGE);
			return;
		}
		if (im->verify_pos == 0 && !header_ok(a->bounce, s)) {
			s->state = AC_SLOT_EMPTY;
			(void)rec_save(a);
			set_state(a, AC_IMG_FAILED, AC_IMGE_BAD_HEADER);
			return;
		}
		ac_sha256_update(&im->sha, a->bounce, n);
		im->verify_pos += n;
	}
	if (im->verify_pos == s->size)
		finish_verify(a);
}

/* ---- activation, trial, confirmation, rollback ---- */

/* Core 1 runs slot's image from now on: its hash is the boot's. */
static int
switch_to(struct ac_agent *a, uint8_t slot, uint64_t now)
{
	const struct ac_slot_info *s = &a->img.rec.slot[slot];
	int rc;

	agent_flush_samples(a);
	rc = P(a)->core1_switch(P(a)->ctx, slot, s);
	memcpy(a->cfg.image_hash, s->image_hash, 32);
	agent_send_hello(a, now);	/* the host learns the new hash */
	return rc;
}

/* The record says: the previous slot runs, the trial's is bad. */
static void
record_rollback(struct ac_agent *a, uint8_t why)
{
	struct ac_image *im = &a->img;
	struct ac_slot_rec *rec = &im->rec;
	uint8_t bad = rec->active;

	rec->slot[bad].state = AC_SLOT_BAD;
	rec->active = rec->previous;
	rec->previous = AC_SLOT_NONE;
	rec->trial = 0;
	rec->last_error = why;
	(void)rec_save(a);
	im->target = bad;
	set_state(a, AC_IMG_ROLLED_BACK, why);
}

static void
rollback(struct ac_agent *a, uint8_t why, uint64_t now)
{
	record_rollback(a, why);
	(void)switch_to(a, a->img.rec.active, now);
}

static uint8_t
activate(struct ac_agent *a, uint32_t xfer_id, uint32_t trial_ms,
    uint64_t now)
{
	struct ac_image *im = &a->img;
	struct ac_slot_rec *rec = &im->rec;

	if (!im->usable)
		return AC_IMGE_UNSUPPORTED;
	if (im->state == AC_IMG_TRIAL)
		return AC_IMGE_BUSY_TRIAL;
	if (agent_dump_busy(a))
		return AC_IMGE_BUSY_DUMP;
	if (im->state != AC_IMG_READY || xfer_id != im->xfer_id ||
	    rec->slot[im->target].state != AC_SLOT_VALID)
		return AC_IMGE_NO_IMAGE;
	rec->previous = rec->active;
	rec->active = im->target;
	rec->trial = 1;
	rec->attempts = 1;
	rec->trial_ms = trial_ms;
	rec->last_error = AC_IMGE_NONE;
	if (rec_save(a) < 0)
		return AC_IMGE_STORAGE;
	im->trial_t = now;
	im->trial_gen = a->generation;
	im->trial_run_seen = im->trial_beat = false;
	set_state(a, AC_IMG_TRIAL, AC_IMGE_NONE);
	if (switch_to(a, rec->active, now) < 0)
		rollback(a, AC_IMGE_START, now);
	return AC_IMGE_NONE;
}

static void
confirm(struct ac_agent *a)
{
	a->img.rec.trial = 0;
	(void)rec_save(a);
	set_state(a, AC_IMG_CONFIRMED, AC_IMGE_NONE);
}

static void
watch_trial(struct ac_agent *a, uint64_t now)
{
	struct ac_image *im = &a->img;
	bool over = now - im->trial_t >= (uint64_t)im->rec.trial_ms * 1000u;

	if (a->region_ok && a->generation != im->trial_gen) {
		if (!im->trial_run_seen) {
			im->trial_run_seen = true;
			im->trial_hb0 = a->last_hb;
		} else if (a->last_hb != im->trial_hb0)
			im->trial_beat = true;
	}
	if (im->trial_run_seen && (a->state == AC_STATE_PANICKED ||
	    a->state == AC_STATE_HUNG)) {
		/* After its crash is safe, or at the trial's end at the
		 * latest: the old image matters more than the dump. */
		if (a->crash_valid && (agent_crash_safe(a) || over))
			rollback(a, a->state == AC_STATE_HUNG ?
			    (im->trial_beat ? AC_IMGE_HANG :
			    AC_IMGE_NO_HEARTBEAT) : AC_IMGE_PANIC, now);
		else if (over && !a->crash_valid)
			rollback(a, AC_IMGE_PANIC, now);
		return;
	}
	if (!over)
		return;
	if (im->trial_beat && a->state == AC_STATE_RUNNING)
		confirm(a);
	else
		rollback(a, AC_IMGE_NO_HEARTBEAT, now);
}

bool
agent_image_on_trial(const struct ac_agent *a)
{
	return a->img.state == AC_IMG_TRIAL;
}

uint64_t
agent_image_poll(struct ac_agent *a, uint64_t now)
{
	struct ac_image *im = &a->img;

	if (im->state == AC_IMG_VERIFYING)
		verify_some(a);
	else if (im->state == AC_IMG_TRIAL)
		watch_trial(a, now);
	if (im->status_due)
		send_status(a, now);
	if (im->state == AC_IMG_VERIFYING || im->status_due)
		return now + 1000;
	if (im->state == AC_IMG_TRIAL)
		return now + 10000;
	return UINT64_MAX;
}

static void
abort_xfer(struct ac_agent *a, uint32_t xfer_id)
{
	struct ac_image *im = &a->img;

	if (xfer_id != im->xfer_id || (im->state != AC_IMG_RECEIVING &&
	    im->state != AC_IMG_VERIFYING && im->state != AC_IMG_READY))
		return;
	im->rec.slot[im->target].state = AC_SLOT_EMPTY;
	(void)rec_save(a);
	set_state(a, AC_IMG_IDLE, AC_IMGE_ABORTED);
}

void
agent_image_cmd(struct ac_agent *a, const struct ac_msg_cmd *c, uint64_t now)
{
	uint8_t err;

	switch (c->cmd) {
	case AC_CMD_IMAGE_ACTIVATE:
		if (c->arg1 < 1000 || c->arg1 > AC_TRIAL_MS_MAX) {
			agent_reply(a, c->req_id, c->cmd, AC_ST_OUT_OF_RANGE,
			    0);
			return;
		}
		err = activate(a, c->arg0, c->arg1, now);
		agent_reply(a, c->req_id, c->cmd, err == AC_IMGE_NONE ?
		    AC_ST_OK : err == AC_IMGE_UNSUPPORTED ? AC_ST_UNSUPPORTED :
		    err == AC_IMGE_BUSY_DUMP || err == AC_IMGE_BUSY_TRIAL ?
		    AC_ST_BUSY : AC_ST_FAILED, err);
		break;
	case AC_CMD_IMAGE_ABORT:
		abort_xfer(a, c->arg0);
		agent_reply(a, c->req_id, c->cmd, AC_ST_OK, 0);
		break;
	default:		/* AC_CMD_IMAGE_STATUS */
		agent_reply(a, c->req_id, c->cmd, a->img.usable ? AC_ST_OK :
		    AC_ST_UNSUPPORTED, 0);
		break;
	}
	a->img.status_due = true;
	send_status(a, now);
}

/* ---- boot ---- */

/* What the record says about the slot that is not active. */
static void
resume_state(struct ac_agent *a)
{
	struct ac_image *im = &a->img;
	const struct ac_slot_rec *rec = &im->rec;
	uint8_t other = (uint8_t)(rec->active ^ 1u);

	im->target = other;
	im->xfer_id = rec->xfer_id;
	if (rec->slot[other].state == AC_SLOT_RECEIVING) {
		im->have = rec->have;
		/* The sector the checkpoint lies in was erased before it
		 * was written; its tail holds this image's bytes or none. */
		im->erased = (rec->have + AC_SLOT_SECTOR - 1) /
		    AC_SLOT_SECTOR * AC_SLOT_SECTOR;
		im->state = AC_IMG_RECEIVING;
	} else if (rec->slot[other].state == AC_SLOT_VALID &&
	    rec->slot[other].size != 0 && rec->previous != other)
		im->state = AC_IMG_READY;
	else {
		im->target = rec->active;
		im->state = rec->last_error != AC_IMGE_NONE ?
		    AC_IMG_ROLLED_BACK : AC_IMG_IDLE;
		im->error = rec->last_error;
	}
}

void
agent_image_init(struct ac_agent *a)
{
	struct ac_image *im = &a->img;
	struct ac_slot_rec *rec = &im->rec;

	memset(im, 0, sizeof(*im));
	memcpy(im->factory_hash, a->cfg.image_hash, 32);
	im->usable = slots_usable(P(a));
	if (!im->usable) {
		rec_fresh(a);
		return;
	}
	rec_load(a);
	resume_state(a);
	/* The board reset while the image was on trial: the port starts
	 * the previous slot (ac_agent_core1_slot). */
	if (rec->trial && rec->attempts >= MAX_ATTEMPTS)
		record_rollback(a, AC_IMGE_RESET);
	if (rec->slot[rec->active].size != 0)
		memcpy(a->cfg.image_hash, rec->slot[rec->active].image_hash,
		    32);
	im->status_due = true;
}

const struct ac_slot_info *
ac_agent_core1_slot(const struct ac_agent *a, uint8_t *slot)
{
	if (!a->img.usable)
		return NULL;
	*slot = a->img.rec.active;
	return &a->img.rec.slot[a->img.rec.active];
}
