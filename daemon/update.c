/*
 * Core-1 image updates on the ingest thread (docs/updates.md).  HTTP
 * wrote the updates row and the image as a file; here the image goes
 * into gdbm under its SHA-256, is offered to the board, sent in chunks a
 * window at a time from where the agent says it is, activated once the
 * agent verified it, and followed through its trial.  Every step is an
 * event, the row says where the update is, and the live state carries
 * its progress to the API and the stream.  A link that drops, a board
 * that resets or a daemon that restarts all end in the same place: a
 * new offer, which the agent answers with the bytes it already has.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "appcored.h"
#include "hex.h"
#include "imagefile.h"
#include "jsonv.h"
#include "log.h"

#define OFFER_WAIT_US	1000000u	/* an offer unanswered: again */
#define STALL_US	400000u		/* no progress: back to have */
#define LOST_US		10000000u	/* nothing at all: offer again */
#define STATUS_EVERY_US	1000000u	/* asked while verifying or on trial */
#define PUBLISH_US	200000u		/* progress to the stream */
#define STORE_EVERY	(64u * 1024u)	/* bytes between row updates */
#define RESTARTS_MAX	3u		/* transfers begun again (sha256) */

static const char *const phase_names[UPD_COUNT] = {
	[UPD_WAITING] = "waiting", [UPD_OFFERED] = "offered",
	[UPD_SENDING] = "sending", [UPD_VERIFYING] = "verifying",
	[UPD_ACTIVATING] = "activating", [UPD_TRIAL] = "trial",
};

void
update_free(struct update *u)
{
	if (u == NULL)
		return;
	free(u->img);
	free(u);
}

/* ---- what others see: the live state, the stream, the row ---- */

static void
publish(struct device *dev, const char *state, const char *error,
    uint64_t now, bool over)
{
	struct update *u = dev->upd;
	json_object *o = json_object_new_object();
	struct live_device *ld;

	pthread_mutex_lock(&dev->d->live->mu);
	if ((ld = device_live(dev)) != NULL) {
		ld->update.id = u->id;
		snprintf(ld->update.state, sizeof(ld->update.state), "%s",
		    state);
		ld->update.have = u->have;
		ld->update.total = u->size;
		ld->update.sent = u->sent_bytes;
		ld->update.finished = over ? now : 0;
		snprintf(ld->update.error, sizeof(ld->update.error), "%s",
		    error != NULL ? error : "");
	}
	pthread_mutex_unlock(&dev->d->live->mu);
	json_object_object_add(o, "update", json_object_new_int64(u->id));
	json_object_object_add(o, "state", jv_string(state));
	json_object_object_add(o, "have", json_object_new_int64(u->have));
	json_object_object_add(o, "total", json_object_new_int64(u->size));
	if (error != NULL)
		json_object_object_add(o, "error", jv_string(error));
	device_publish(dev, "update", now, o);
	u->published_t = now;
}

static void
set_phase(struct device *dev, uint8_t phase, uint64_t now)
{
	struct update *u = dev->upd;

	u->phase = phase;
	u->phase_t = now;
	u->next_try = now;
	store_update_state(dev->d->store, u->id, phase_names[phase], u->have,
	    NULL, 0);
	u->stored_have = u->have;
	publish(dev, phase_names[phase], NULL, now, false);
}

static void
say(struct device *dev, uint64_t now, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(struct device *dev, uint64_t now, const char *fmt, ...)
{
	char detail[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	device_event(dev, now, "update", 1, detail);
	log_notice("%s: update %" PRId64 ": %s", dev->name, dev->upd->id,
	    detail);
}

/* The update is over: confirmed, rolled back or failed. */
static void
finish(struct device *dev, const char *state, const char *error,
    uint64_t now)
{
	struct update *u = dev->upd;

	store_update_state(dev->d->store, u->id, state, u->have, error,
	    (int64_t)now);
	publish(dev, state, error, now, true);
	dev->upd = NULL;
	update_free(u);
}

/* ---- loading ---- */

/* The image from gdbm, or from the file HTTP left, which then moves
 * into gdbm.  NULL when neither has it (or it no longer hashes). */
static uint8_t *
load_image(struct daemon *d, const struct update_row *r, uint8_t key[32])
{
	void *p = NULL;
	size_t n = 0;
	uint8_t md[32];

	if (blob_key_parse(r->image_key, key) < 0)
		return NULL;
	if (blobs_get(d->blobs, key, &p, &n) < 0) {
		if (image_file_get_as(d->cfg.state_dir, r->image_key, ".img", &p,
		    &n) < 0)
			return NULL;
		if (blobs_put(d->blobs, p, n, md) < 0) {
			log_warnx("update: image %.16s: the blob store refused "
			    "it", r->image_key);
			free(p);
			return NULL;
		}
		image_file_remove(d->cfg.state_dir, r->image_key, ".img");
	}
	blob_sha256(p, n, md);
	if (n != r->size || memcmp(md, key, 32) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

static struct device *
device_by_id(struct daemon *d, int64_t id)
{
	for (struct device *dev = d->devices; dev != NULL; dev = dev->next)
		if (dev->id == id)
			return dev;
	return NULL;
}

/* Takes update id into dev (which has none): false when it cannot go. */
static bool
attach(struct device *dev, int64_t id, uint64_t now)
{
	struct daemon *d = dev->d;
	struct update_row r;
	struct update *u;

	if (!store_update_row(d->store, id, &r) || r.device != dev->id)
		return false;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return false;
	u->id = id;
	u->size = r.size;
	u->entry = r.entry;
	u->trial_ms = r.trial_ms;
	u->xfer_id = (uint32_t)id;
	(void)blob_key_parse(r.elf_hash, u->elf_hash);
	dev->upd = u;
	if ((u->img = load_image(d, &r, u->key)) == NULL) {
		say(dev, now, "update %" PRId64 " failed: its image is not in "
		    "the blob store", id);
		finish(dev, "failed", "the image is missing from the blob "
		    "store", now);
		return false;
	}
	set_phase(dev, UPD_WAITING, now);
	return true;
}

void
update_begin(struct daemon *d, int64_t id, const char *who)
{
	uint64_t now = now_wall_us();
	struct update_row r;
	struct device *dev;

	if (!store_update_row(d->store, id, &r))
		return;
	if ((dev = device_by_id(d, r.device)) == NULL)
		return;		/* goes on when the board says hello */
	if (dev->upd != NULL && dev->upd->id != id) {
		say(dev, now, "update %" PRId64 " superseded by update %" PRId64,
		    dev->upd->id, id);
		finish(dev, "failed", "superseded by a newer update", now);
	}
	if (dev->upd != NULL || !attach(dev, id, now))
		return;
	say(dev, now, "update %" PRId64 " asked for by %s: image %.16s, %u "
	    "bytes, confirmed after %u ms", id, who, r.image_key, r.size,
	    r.trial_ms);
}

void
update_hello(struct device *dev, bool new_boot, uint64_t now)
{
	struct update *u = dev->upd;
	int64_t id;

	/* What the board's slots hold (an agent without them answers
	 * unsupported; one that predates them, unknown-command). */
	if ((new_boot || !dev->have_slots) && dev->link != NULL)
		(void)link_cmd(dev->link, AC_CMD_IMAGE_STATUS, 0, 0);
	if (u == NULL) {
		if ((id = store_update_pending(dev->d->store, dev->id)) != 0 &&
		    attach(dev, id, now))
			say(dev, now, "update %" PRId64 " goes on", id);
		return;
	}
	if (!new_boot)
		return;
	/* A new boot: before activation the transfer is offered again (the
	 * agent has the bytes it checkpointed); after it, the agent's
	 * status says whether the reset rolled the image back. */
	if (u->phase < UPD_ACTIVATING)
		set_phase(dev, UPD_WAITING, now);
	else
		u->next_try = now;
}

/* ---- the board's answers ---- */

static void
failed(struct device *dev, const struct ac_msg_image_status *m, uint64_t now)
{
	struct update *u = dev->upd;

	switch (m->error) {
	case AC_IMGE_BUSY_DUMP:
	case AC_IMGE_BUSY_TRIAL:
		if (!u->waited_dump)
			say(dev, now, "waits: %s", ac_image_error_text(m->error));
		u->waited_dump = true;
		set_phase(dev, UPD_WAITING, now);
		u->next_try = now + OFFER_WAIT_US;
		return;
	case AC_IMGE_SHA256:
	case AC_IMGE_STORAGE:
		if (u->restarts++ < RESTARTS_MAX) {
			say(dev, now, "the board refused the transfer (%s); "
			    "sending it again", ac_image_error_name(m->error));
			u->have = 0;
			set_phase(dev, UPD_WAITING, now);
			return;
		}
		break;
	default:
		break;
	}
	say(dev, now, "update %" PRId64 " failed: %s", u->id,
	    ac_image_error_text(m->error));
	finish(dev, "failed", ac_image_error_text(m->error), now);
}

/* Sends again from what the board has.  Chunks of the window already on
 * their way still arrive and ask the same; once per STALL_US is enough. */
static void
go_back(struct update *u, uint64_t now)
{
	u->next = u->have;
	u->back_t = now;
}

static void
receiving(struct device *dev, const struct ac_msg_image_status *m,
    uint64_t now)
{
	struct update *u = dev->upd;

	if (m->error == AC_IMGE_BUSY_DUMP) {
		failed(dev, m, now);
		return;
	}
	if (u->phase == UPD_OFFERED || u->phase == UPD_WAITING) {
		if (m->have > 0)
			say(dev, now, "the transfer resumes at %u of %u bytes",
			    m->have, u->size);
		u->next = m->have;
		u->progress_t = now;
		u->status_have = m->have;
		u->have = m->have;
		set_phase(dev, UPD_SENDING, now);
		return;
	}
	if (m->have > u->have)
		u->progress_t = now;
	else if (m->have == u->status_have && u->next > m->have &&
	    now - u->back_t >= STALL_US)
		go_back(u, now);	/* a chunk was lost: from there */
	u->have = m->have;
	u->status_have = m->have;
}

void
update_status(struct link *l, const struct ac_msg_image_status *m)
{
	struct device *dev = l->dev;
	uint64_t now = now_wall_us();
	struct update *u;

	if (dev == NULL)
		return;
	dev->slots = *m;
	dev->have_slots = true;
	pthread_mutex_lock(&dev->d->live->mu);
	{
		struct live_device *ld = device_live(dev);

		if (ld != NULL) {
			ld->slots = *m;
			ld->have_slots = true;
		}
	}
	pthread_mutex_unlock(&dev->d->live->mu);
	if ((u = dev->upd) == NULL || m->xfer_id != u->xfer_id ||
	    u->phase == UPD_WAITING)
		return;
	switch (m->state) {
	case AC_IMG_RECEIVING:
		receiving(dev, m, now);
		break;
	case AC_IMG_VERIFYING:
		u->have = m->have;
		if (u->phase < UPD_VERIFYING)
			set_phase(dev, UPD_VERIFYING, now);
		break;
	case AC_IMG_READY:
		u->have = u->size;
		if (u->phase == UPD_ACTIVATING && now - u->phase_t >=
		    STATUS_EVERY_US) {
			/* Still ready: the command or its answer was lost. */
			u->phase_t = now;
			(void)link_cmd(l, AC_CMD_IMAGE_ACTIVATE, u->xfer_id,
			    u->trial_ms);
		}
		if (u->phase >= UPD_ACTIVATING)
			break;
		say(dev, now, "the board verified the image (%u bytes, %" PRIu64
		    " sent); activating it on trial", u->size, u->sent_bytes);
		set_phase(dev, UPD_ACTIVATING, now);
		(void)link_cmd(l, AC_CMD_IMAGE_ACTIVATE, u->xfer_id,
		    u->trial_ms);
		break;
	case AC_IMG_TRIAL:
		if (u->phase != UPD_TRIAL) {
			say(dev, now, "core 1 runs the new image on trial for "
			    "%u ms", u->trial_ms);
			set_phase(dev, UPD_TRIAL, now);
		}
		break;
	case AC_IMG_CONFIRMED: {
		char hex[65];

		hex_encode(hex, u->elf_hash, 32);
		say(dev, now, "update %" PRId64 " confirmed: core 1 runs image "
		    "%.16s...", u->id, hex);
		finish(dev, "confirmed", NULL, now);
		break;
	}
	case AC_IMG_ROLLED_BACK:
		if (u->phase < UPD_ACTIVATING)
			break;
		say(dev, now, "update %" PRId64 " rolled back: %s", u->id,
		    ac_image_error_text(m->error));
		finish(dev, "rolled-back", ac_image_error_text(m->error), now);
		break;
	case AC_IMG_FAILED:
		failed(dev, m, now);
		break;
	default:
		break;
	}
}

/* ---- sending ---- */

static bool
send_offer(struct link *l, struct update *u)
{
	struct ac_msg_image_offer o = { u->xfer_id, u->size, u->entry, {0},
	    {0} };
	uint8_t buf[128];
	struct ac_wr w;

	memcpy(o.sha256, u->key, 32);
	memcpy(o.image_hash, u->elf_hash, 32);
	ac_wr_init(&w, buf, sizeof(buf));
	return ac_image_offer_encode(&w, &o) == 0 &&
	    link_send_frame(l, AC_MSG_IMAGE_OFFER, buf, w.len);
}

static bool
send_chunk(struct link *l, struct update *u)
{
	struct ac_msg_image_data c = { u->xfer_id, u->next, 0,
	    u->img + u->next, 0 };
	uint8_t buf[AC_WIRE_MAX_PAYLOAD];
	struct ac_wr w;

	c.len = u->size - u->next < AC_IMAGE_CHUNK ? u->size - u->next :
	    AC_IMAGE_CHUNK;
	c.crc = ac_crc32c(0, c.data, c.len);
	ac_wr_init(&w, buf, sizeof(buf));
	if (link_tx_room(l) < AC_FRAME_MAX_ENC ||
	    ac_image_data_encode(&w, &c) != 0 ||
	    !link_send_frame(l, AC_MSG_IMAGE_DATA, buf, w.len))
		return false;
	u->next += c.len;
	u->sent_bytes += c.len;
	return true;
}

static void
pump_chunks(struct link *l, struct update *u, uint64_t now)
{
	if (now - u->progress_t > LOST_US) {
		set_phase(l->dev, UPD_WAITING, now);	/* offer again */
		return;
	}
	if (u->next > u->have && now - u->progress_t > STALL_US &&
	    now - u->back_t >= STALL_US) {
		go_back(u, now);	/* the window or its acks were lost */
		/* The board may have it all and be verifying: ask. */
		(void)link_cmd(l, AC_CMD_IMAGE_STATUS, 0, 0);
	}
	while (u->next < u->size &&
	    u->next - u->have < AC_IMAGE_WINDOW * AC_IMAGE_CHUNK &&
	    send_chunk(l, u))
		;
}

void
update_tick(struct link *l, uint64_t now)
{
	struct device *dev = l->dev;
	struct update *u;

	if (dev == NULL || (u = dev->upd) == NULL || !dev->have_boot)
		return;
	switch (u->phase) {
	case UPD_WAITING:
		if (now >= u->next_try && send_offer(l, u)) {
			u->phase = UPD_OFFERED;
			u->next_try = now + OFFER_WAIT_US;
		}
		break;
	case UPD_OFFERED:
		if (now >= u->next_try)
			u->phase = UPD_WAITING;
		break;
	case UPD_SENDING:
		pump_chunks(l, u, now);
		break;
	default:		/* verifying, activating, trial: ask */
		if (now >= u->next_try) {
			(void)link_cmd(l, AC_CMD_IMAGE_STATUS, 0, 0);
			u->next_try = now + STATUS_EVERY_US;
		}
		break;
	}
	if (dev->upd == u && now - u->published_t >= PUBLISH_US &&
	    u->phase == UPD_SENDING)
		publish(dev, phase_names[u->phase], NULL, now, false);
	if (dev->upd == u && u->have - u->stored_have >= STORE_EVERY) {
		store_update_state(dev->d->store, u->id,
		    phase_names[u->phase], u->have, NULL, 0);
		u->stored_have = u->have;
	}
}
