/*
 * Fuzz target for core-1 image updates, both ends of the untrusted bytes:
 *
 *   first byte even: an upload body into core1img_parse (the daemon's
 *     check and ELF conversion).  Whatever it accepts is an image a board
 *     takes: its header names its entry, the magic and the ELF hash; the
 *     entry lies in it; it fits the slot; its SHA-256 is the one given.
 *
 *   first byte odd: a program of host and board events against the real
 *     agent on the fake board of tests/unit/fakeboard.h: offers (good,
 *     bad and made up), chunks in and out of order and damaged, whole
 *     transfers, activations, aborts, raw bytes, time, board resets and
 *     power lost in the middle of a record write.  After every step:
 *     - the slot record on flash is whole (or was never written) and
 *       consistent: a trial has a slot to go back to;
 *     - core 1 runs the slot the record names;
 *     - the bytes core 1 runs are ones the agent verified: the slot's
 *       size bytes hash to the SHA-256 the record holds for it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/fakeboard.h"
#include "appcore/sha256.h"
#include "core1img.h"
#include "digest.h"
#include "le.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_body(const uint8_t *p, size_t n)
{
	uint32_t slot_size = n > 0 ? (uint32_t)p[0] << 12 : 0;
	struct core1img im;
	const char *code;
	char why[300];
	uint8_t md[32];
	uint8_t *copy = malloc(n ? n : 1);	/* exact size: ASan sees */

	if (copy == NULL)
		return;
	memcpy(copy, p, n);
	if (core1img_parse(copy, n, AC_IMAGE_BASE, slot_size, &im, &code, why,
	    sizeof(why)) == 0) {
		sha256(im.bytes, im.size, md);
		if (im.size < AC_IMAGE_HDR || (slot_size && im.size > slot_size) ||
		    le32_get(im.bytes) != im.entry ||
		    le32_get(im.bytes + 4) != AC_IMAGE_MAGIC ||
		    memcmp(im.bytes + 8, im.elf_hash, 32) != 0 ||
		    im.entry < AC_IMAGE_BASE + AC_IMAGE_HDR ||
		    im.entry - AC_IMAGE_BASE >= im.size ||
		    memcmp(md, im.sha256, 32) != 0 ||
		    im.from_elf != (n >= 4 && memcmp(p, "\177ELF", 4) == 0))
			abort();
		core1img_free(&im);
	} else if (code == NULL || why[0] == '\0')
		abort();
	free(copy);
}

/* ---- the board ---- */

static struct image imgs[3];
static bool imgs_made;
static struct {
	uint64_t writes;
	uint8_t slot, sha[32];
} checked;

static void
check_board(void)
{
	struct ac_slot_rec rec = record_now();
	const struct ac_slot_info *s;
	uint8_t md[32];
	struct ac_sha256 h;

	if (rec.active > 1 || (rec.trial && (rec.previous > 1 ||
	    rec.previous == rec.active)))
		abort();
	if (B.running_slot != rec.active)
		abort();
	s = &rec.slot[rec.active];
	if (s->size == 0)
		return;			/* the built-in image */
	if (s->state != AC_SLOT_VALID || s->size > SLOT_SIZE)
		abort();
	/* Hashed again only when the flash or the record changed. */
	if (checked.writes == B.flash_writes && checked.slot == rec.active &&
	    memcmp(checked.sha, s->sha256, 32) == 0)
		return;
	checked.writes = B.flash_writes;
	checked.slot = rec.active;
	memcpy(checked.sha, s->sha256, 32);
	ac_sha256_init(&h);
	ac_sha256_update(&h, flash[rec.active], s->size);
	ac_sha256_final(&h, md);
	if (memcmp(md, s->sha256, 32) != 0)
		abort();
}

/* Power came back after a torn write: the board boots again. */
static void
after_power_loss(uint64_t *boot)
{
	if (!B.torn)
		return;
	B.torn = false;
	B.tear_write = -1;
	board_boot(++*boot);
}

static uint8_t
next(const uint8_t **p, size_t *n)
{
	uint8_t v = 0;

	if (*n > 0) {
		v = **p;
		(*p)++;
		(*n)--;
	}
	return v;
}

static void
made_up_offer(const uint8_t **p, size_t *n)
{
	struct ac_msg_image_offer o;
	uint8_t buf[128];
	struct ac_wr w;

	memset(&o, 0, sizeof(o));
	o.xfer_id = next(p, n);
	o.total = AC_IMAGE_HDR + ((uint32_t)next(p, n) << 8 | next(p, n)) * 4;
	o.entry = AC_IMAGE_BASE + ((uint32_t)next(p, n) << 8 | next(p, n));
	o.sha256[0] = next(p, n);
	o.image_hash[0] = next(p, n);
	ac_wr_init(&w, buf, sizeof(buf));
	if (ac_image_offer_encode(&w, &o) == 0)
		to_agent(AC_MSG_IMAGE_OFFER, buf, w.len);
}

/* A host's transfer from where the agent says it is, a few windows at
 * most, the chunk at damage_at (when below the image's end) damaged. */
static void
send_window(const struct image *im, uint8_t a)
{
	uint32_t damage_at = (uint32_t)(a & 31) * AC_IMAGE_CHUNK;

	for (int round = 0; round < 4 + (a >> 5); round++) {
		uint32_t from = H.st.have;

		if (H.st.state != AC_IMG_RECEIVING)
			break;
		for (uint32_t k = 0; k < AC_IMAGE_WINDOW; k++) {
			uint32_t off = from + k * AC_IMAGE_CHUNK;

			if (off >= im->len)
				break;
			send_chunk(im, H.st.xfer_id, off, off == damage_at &&
			    round == 0);
		}
		run_ms(2);
	}
	run_ms(10);		/* verification */
}

static void
step(uint8_t op, const uint8_t **p, size_t *n, uint64_t *boot)
{
	const struct image *im = &imgs[next(p, n) % 3];
	uint8_t a = next(p, n);

	switch (op % 10) {
	case 0:
		offer(im, a % 4);
		break;
	case 1:
		made_up_offer(p, n);
		break;
	case 2:
		if ((uint32_t)a * 97 < im->len)
			send_chunk(im, a & 3, (uint32_t)a * 97 / AC_IMAGE_CHUNK *
			    AC_IMAGE_CHUNK, a & 0x80);
		break;
	case 3:
		send_window(im, a);
		break;
	case 4:
		command(AC_CMD_IMAGE_ACTIVATE, a & 3, 1000u + (a >> 2) * 20u);
		break;
	case 5:
		command(a & 1 ? AC_CMD_IMAGE_ABORT : AC_CMD_IMAGE_STATUS, a & 3,
		    0);
		break;
	case 6:
		run_ms(1u + a * 2u);
		break;
	case 7:			/* power lost at a record write, or a reset */
		if (a & 1) {
			B.tear_write = B.rec_writes + (a >> 1) % 4;
			B.tear_at = next(p, n) % (AC_SLOT_REC_SIZE + 1);
		} else
			board_boot(++*boot);
		break;
	case 8: {		/* bytes as a broken host might send */
		uint8_t raw[64];
		size_t k = a % sizeof(raw);

		for (size_t i = 0; i < k; i++)
			raw[i] = next(p, n);
		ac_agent_rx(&agent, raw, k);
		break;
	}
	default:
		H.takes_dumps = a & 1;
		break;
	}
	after_power_loss(boot);
	check_board();
}

static void
fuzz_board(const uint8_t *p, size_t n)
{
	uint64_t boot = 1;

	if (!imgs_made) {
		image_make(&imgs[0], 3000, 'o', 1);
		image_make(&imgs[1], 2000, 'p', 2);
		image_make(&imgs[2], 5000, 'h', 3);
		imgs_made = true;
	}
	board_new();
	checked.slot = 0xff;
	for (int steps = 0; n > 0 && steps < 64; steps++)
		step(next(&p, &n), &p, &n, &boot);
	run_ms(20);
	after_power_loss(&boot);
	check_board();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_board(data + 1, size - 1);
	else
		fuzz_body(data + 1, size - 1);
	return 0;
}
