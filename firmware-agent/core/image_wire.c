/*
 * Core-1 image updates: the IMAGE_* messages and the slot record
 * (docs/protocol.md, docs/updates.md).  Every decoder checks each value
 * before it is used, and encodings are canonical, as in wire.c.
 */
#include <string.h>

#include "appcore/image.h"
#include "wire_internal.h"

const char *
ac_image_state_name(unsigned state)
{
	static const char *const names[] = {
		"idle", "receiving", "verifying", "ready", "trial",
		"confirmed", "rolled-back", "failed",
	};
	_Static_assert(sizeof(names) / sizeof(names[0]) == AC_IMG_STATE_COUNT,
	    "image state names");

	return state < AC_IMG_STATE_COUNT ? names[state] : "unknown";
}

static const struct {
	const char *name, *text;
} image_errors[] = {
	{ "none", "no error" },
	{ "unsupported", "this board keeps no core-1 image slots" },
	{ "busy-dump", "a crash dump is on its way to the host; the update "
	    "goes once it is stored" },
	{ "busy-trial", "the active image is still on trial; wait until it "
	    "is confirmed or rolled back" },
	{ "too-small", "the image is shorter than its 40-byte header" },
	{ "too-large", "the image is larger than the board's slot" },
	{ "bad-entry", "the image's entry address lies outside the image" },
	{ "bad-header", "the image's header does not match what was offered "
	    "(entry word, magic \"AC1I\" or ELF hash)" },
	{ "sha256", "the slot's bytes do not hash to the image's SHA-256" },
	{ "storage", "the board could not erase, write or read its slot" },
	{ "no-image", "no verified image waits to be activated" },
	{ "start", "the board could not start core 1 from the slot" },
	{ "panic", "the new image panicked during its trial" },
	{ "hang", "the new image's heartbeat stopped during its trial" },
	{ "no-heartbeat", "the new image never sent a heartbeat during its "
	    "trial" },
	{ "reset", "the board reset during the new image's trial" },
	{ "aborted", "the transfer was given up" },
};
_Static_assert(sizeof(image_errors) / sizeof(image_errors[0]) ==
    AC_IMGE_COUNT, "image error names");

const char *
ac_image_error_name(unsigned err)
{
	return err < AC_IMGE_COUNT ? image_errors[err].name : "unknown";
}

const char *
ac_image_error_text(unsigned err)
{
	return err < AC_IMGE_COUNT ? image_errors[err].text :
	    "unknown error";
}

int
ac_image_offer_encode(struct ac_wr *w, const struct ac_msg_image_offer *m)
{
	if (m->total < AC_IMAGE_HDR || m->total > AC_IMAGE_MAX)
		return AC_ERANGE;
	ac_wr_varint(w, m->xfer_id);
	ac_wr_varint(w, m->total);
	ac_wr_u32(w, m->entry);
	ac_wr_bytes(w, m->sha256, sizeof(m->sha256));
	ac_wr_bytes(w, m->image_hash, sizeof(m->image_hash));
	return wr_done(w);
}

int
ac_image_offer_decode(struct ac_rd *r, struct ac_msg_image_offer *m)
{
	memset(m, 0, sizeof(*m));
	TRY(ac_rd_varint32(r, &m->xfer_id));
	TRY(ac_rd_varint32(r, &m->total));
	if (m->total < AC_IMAGE_HDR || m->total > AC_IMAGE_MAX)
		RD_FAIL(r, AC_ERANGE, "image size");
	TRY(ac_rd_u32(r, &m->entry));
	TRY(ac_rd_bytes(r, m->sha256, sizeof(m->sha256)));
	TRY(ac_rd_bytes(r, m->image_hash, sizeof(m->image_hash)));
	return ac_rd_end(r);
}

int
ac_image_data_encode(struct ac_wr *w, const struct ac_msg_image_data *m)
{
	if (m->len == 0 || m->len > AC_IMAGE_CHUNK ||
	    (uint64_t)m->offset + m->len > AC_IMAGE_MAX)
		return AC_ERANGE;
	ac_wr_varint(w, m->xfer_id);
	ac_wr_varint(w, m->offset);
	ac_wr_u32(w, m->crc);
	ac_wr_varint(w, m->len);
	ac_wr_bytes(w, m->data, m->len);
	return wr_done(w);
}

int
ac_image_data_decode(struct ac_rd *r, struct ac_msg_image_data *m)
{
	memset(m, 0, sizeof(*m));
	TRY(ac_rd_varint32(r, &m->xfer_id));
	TRY(ac_rd_varint32(r, &m->offset));
	TRY(ac_rd_u32(r, &m->crc));
	TRY(ac_rd_varint32(r, &m->len));
	if (m->len == 0 || m->len > AC_IMAGE_CHUNK ||
	    (uint64_t)m->offset + m->len > AC_IMAGE_MAX)
		RD_FAIL(r, AC_ERANGE, "image chunk outside any image");
	if (r->left < m->len)
		RD_FAIL(r, AC_ETRUNC, "truncated image chunk");
	m->data = r->p;
	r->p += m->len;
	r->left -= m->len;
	return ac_rd_end(r);
}

static bool
slot_ok(uint8_t slot, bool none_ok)
{
	return slot < 2 || (none_ok && slot == AC_SLOT_NONE);
}

int
ac_image_status_encode(struct ac_wr *w, const struct ac_msg_image_status *m)
{
	if (m->state >= AC_IMG_STATE_COUNT || m->error >= AC_IMGE_COUNT ||
	    !slot_ok(m->active, false) || !slot_ok(m->previous, true))
		return AC_ERANGE;
	ac_wr_varint(w, m->xfer_id);
	ac_wr_u8(w, m->state);
	ac_wr_u8(w, m->error);
	ac_wr_varint(w, m->have);
	ac_wr_varint(w, m->total);
	ac_wr_varint(w, m->slot_size);
	ac_wr_u32(w, m->base);
	ac_wr_u8(w, m->active);
	ac_wr_u8(w, m->previous);
	ac_wr_u8(w, m->attempts);
	ac_wr_varint(w, m->trial_left_ms);
	ac_wr_bytes(w, m->active_hash, sizeof(m->active_hash));
	ac_wr_bytes(w, m->sha256, sizeof(m->sha256));
	return wr_done(w);
}

int
ac_image_status_decode(struct ac_rd *r, struct ac_msg_image_status *m)
{
	memset(m, 0, sizeof(*m));
	TRY(ac_rd_varint32(r, &m->xfer_id));
	TRY(ac_rd_u8(r, &m->state));
	TRY(ac_rd_u8(r, &m->error));
	if (m->state >= AC_IMG_STATE_COUNT || m->error >= AC_IMGE_COUNT)
		RD_FAIL(r, AC_ERANGE, "image state");
	TRY(ac_rd_varint32(r, &m->have));
	TRY(ac_rd_varint32(r, &m->total));
	TRY(ac_rd_varint32(r, &m->slot_size));
	if (m->have > m->total || m->total > AC_IMAGE_MAX ||
	    m->slot_size > AC_IMAGE_MAX)
		RD_FAIL(r, AC_ERANGE, "image progress");
	TRY(ac_rd_u32(r, &m->base));
	TRY(ac_rd_u8(r, &m->active));
	TRY(ac_rd_u8(r, &m->previous));
	if (!slot_ok(m->active, false) || !slot_ok(m->previous, true))
		RD_FAIL(r, AC_ERANGE, "image slot");
	TRY(ac_rd_u8(r, &m->attempts));
	TRY(ac_rd_varint32(r, &m->trial_left_ms));
	if (m->trial_left_ms > AC_TRIAL_MS_MAX)
		RD_FAIL(r, AC_ERANGE, "trial time");
	TRY(ac_rd_bytes(r, m->active_hash, sizeof(m->active_hash)));
	TRY(ac_rd_bytes(r, m->sha256, sizeof(m->sha256)));
	return ac_rd_end(r);
}

/* ---- the slot record ---- */

static void
slot_info_encode(struct ac_wr *w, const struct ac_slot_info *s)
{
	ac_wr_u8(w, s->state);
	ac_wr_u32(w, s->size);
	ac_wr_u32(w, s->entry);
	ac_wr_bytes(w, s->sha256, sizeof(s->sha256));
	ac_wr_bytes(w, s->image_hash, sizeof(s->image_hash));
}

static int
slot_info_decode(struct ac_rd *r, struct ac_slot_info *s)
{
	TRY(ac_rd_u8(r, &s->state));
	if (s->state >= AC_SLOT_STATE_COUNT)
		RD_FAIL(r, AC_ERANGE, "slot state");
	TRY(ac_rd_u32(r, &s->size));
	TRY(ac_rd_u32(r, &s->entry));
	TRY(ac_rd_bytes(r, s->sha256, sizeof(s->sha256)));
	return ac_rd_bytes(r, s->image_hash, sizeof(s->image_hash));
}

/* The fields the CRC covers end this far before the copy's end. */
#define REC_BODY	(AC_SLOT_REC_SIZE - 4u)

void
ac_slot_rec_encode(uint8_t out[AC_SLOT_REC_SIZE], const struct ac_slot_rec *m)
{
	struct ac_wr w;

	memset(out, 0, AC_SLOT_REC_SIZE);
	ac_wr_init(&w, out, REC_BODY);
	ac_wr_u32(&w, AC_SLOT_REC_MAGIC);
	ac_wr_u32(&w, m->seq);
	ac_wr_u8(&w, m->active);
	ac_wr_u8(&w, m->previous);
	ac_wr_u8(&w, m->trial);
	ac_wr_u8(&w, m->attempts);
	ac_wr_u8(&w, m->last_error);
	ac_wr_u32(&w, m->trial_ms);
	ac_wr_u32(&w, m->xfer_id);
	ac_wr_u32(&w, m->have);
	slot_info_encode(&w, &m->slot[0]);
	slot_info_encode(&w, &m->slot[1]);
	ac_wr_init(&w, out + REC_BODY, 4);
	ac_wr_u32(&w, ac_crc32c(0, out, REC_BODY));
}

int
ac_slot_rec_decode(const uint8_t in[AC_SLOT_REC_SIZE], struct ac_slot_rec *m)
{
	struct ac_rd r;
	uint32_t magic, crc;

	memset(m, 0, sizeof(*m));
	ac_rd_init(&r, in + REC_BODY, 4);
	if (ac_rd_u32(&r, &crc) < 0 || crc != ac_crc32c(0, in, REC_BODY))
		return AC_ECRC;
	ac_rd_init(&r, in, REC_BODY);
	TRY(ac_rd_u32(&r, &magic));
	if (magic != AC_SLOT_REC_MAGIC)
		RD_FAIL(&r, AC_EBADMSG, "slot record magic");
	TRY(ac_rd_u32(&r, &m->seq));
	TRY(ac_rd_u8(&r, &m->active));
	TRY(ac_rd_u8(&r, &m->previous));
	TRY(ac_rd_u8(&r, &m->trial));
	TRY(ac_rd_u8(&r, &m->attempts));
	TRY(ac_rd_u8(&r, &m->last_error));
	if (!slot_ok(m->active, false) || !slot_ok(m->previous, true) ||
	    m->previous == m->active || m->trial > 1 ||
	    m->last_error >= AC_IMGE_COUNT ||
	    (m->trial && m->previous == AC_SLOT_NONE))
		RD_FAIL(&r, AC_ERANGE, "slot record");
	TRY(ac_rd_u32(&r, &m->trial_ms));
	TRY(ac_rd_u32(&r, &m->xfer_id));
	TRY(ac_rd_u32(&r, &m->have));
	if (m->trial_ms > AC_TRIAL_MS_MAX)
		RD_FAIL(&r, AC_ERANGE, "slot record trial");
	TRY(slot_info_decode(&r, &m->slot[0]));
	TRY(slot_info_decode(&r, &m->slot[1]));
	while (r.left > 0) {		/* the pad: zeros, as written */
		uint8_t z;

		TRY(ac_rd_u8(&r, &z));
		if (z != 0)
			RD_FAIL(&r, AC_EBADMSG, "slot record pad");
	}
	return 0;
}
