/*
 * The fake board of tests/unit/fakeboard.h: two slots of NOR flash, the
 * slot record's two copies, a core 1 that behaves as its image says, and
 * a host that reads the agent's frames.
 */
#include <stdlib.h>
#include <string.h>

#include "appcore/core1.h"
#include "appcore/sha256.h"
#include "fakeboard.h"


_Alignas(64) uint8_t region_mem[REGION_SIZE];
uint8_t flash[2][SLOT_SIZE];
uint8_t recs[2][AC_SLOT_REC_SIZE];
uint64_t fake_now;
struct ac_agent agent;
struct ac_region *r;

struct fake_board B;

static uint64_t
fake_now_us(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static int
slot_erase(void *ctx, uint8_t slot, uint32_t off, uint32_t n)
{
	(void)ctx;
	if (slot > 1 || off % AC_SLOT_SECTOR || n % AC_SLOT_SECTOR ||
	    off + n > SLOT_SIZE)
		return -22;
	if (B.torn)
		return 0;		/* no power: nothing changes */
	memset(flash[slot] + off, 0xff, n);
	B.erases++;
	B.flash_writes++;
	return 0;
}

/* NOR flash: a write only clears bits; unerased bytes come out wrong. */
static int
slot_write(void *ctx, uint8_t slot, uint32_t off, const void *buf, uint32_t n)
{
	const uint8_t *p = buf;

	(void)ctx;
	if (slot > 1 || off + n > SLOT_SIZE)
		return -22;
	if (B.torn)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		flash[slot][off + i] &= p[i];
	B.flash_writes++;
	return 0;
}

static int
slot_read(void *ctx, uint8_t slot, uint32_t off, void *buf, uint32_t n)
{
	(void)ctx;
	if (slot > 1 || off + n > SLOT_SIZE)
		return -22;
	memcpy(buf, flash[slot] + off, n);
	return 0;
}

static int
rec_read(void *ctx, uint8_t copy, void *buf, uint32_t n)
{
	(void)ctx;
	if (copy > 1 || n != AC_SLOT_REC_SIZE)
		return -22;
	memcpy(buf, recs[copy], n);
	return 0;
}

static int
rec_write(void *ctx, uint8_t copy, const void *buf, uint32_t n)
{
	(void)ctx;
	if (copy > 1 || n != AC_SLOT_REC_SIZE)
		return -22;
	if (B.torn)
		return 0;
	if (B.rec_writes++ == B.tear_write) {	/* power lost in the middle */
		memset(recs[copy], 0xff, n);
		memcpy(recs[copy], buf, (size_t)B.tear_at);
		B.torn = true;
		return 0;
	}
	memcpy(recs[copy], buf, n);
	return 0;
}

static void
core1_start(uint8_t slot, const struct ac_slot_info *s)
{
	B.running_slot = slot;
	B.behaviour = s->size == 0 ? 'o' : (char)flash[slot][AC_IMAGE_HDR];
	B.run_t = fake_now;
	if (B.behaviour == 's')
		return;			/* never gets as far as its region */
	r = ac_core1_init(region_mem, REGION_SIZE);
	(void)ac_counter_register(r, 0, "frames", "frames", AC_KIND_COUNTER,
	    0);
	ac_set_running(r);
}

static int
core1_switch(void *ctx, uint8_t slot, const struct ac_slot_info *s)
{
	(void)ctx;
	B.switches++;
	core1_start(slot, s);
	return 0;
}

static const struct ac_port port = {
	.now_us = fake_now_us, .slot_size = SLOT_SIZE,
	.slot_erase = slot_erase, .slot_write = slot_write,
	.slot_read = slot_read, .rec_read = rec_read, .rec_write = rec_write,
	.core1_switch = core1_switch,
};

/* One ms of core 1, as its image behaves. */
static void
core1_step(void)
{
	uint64_t ms = (fake_now - B.run_t) / 1000u;
	static const uint32_t bt[1] = { 0x42400100 };
	struct ac_panic_info pi = {
		.reason = AC_PANIC_EXPLICIT, .file = "main.c", .line = 7,
		.msg = "bad image", .pc = 0x42400100, .bt = bt, .bt_count = 1,
	};

	switch (B.behaviour) {
	case 'o':
		ac_counter_add(r, 0, 48);
		ac_heartbeat(r);
		break;
	case 'h':
		if (ms < 300)
			ac_heartbeat(r);
		break;
	case 'p':
		ac_heartbeat(r);
		if (ms == 50)
			ac_panic_record(r, &pi);
		break;
	default:			/* 'n' and 's': silence */
		break;
	}
}

/* ---- what the host saw ---- */

struct fake_host H;

static struct ac_deframer dfr;

static void
host_frame(const struct ac_frame *f)
{
	struct ac_rd rd;

	ac_rd_init(&rd, f->payload, f->len);
	switch (f->type) {
	case AC_MSG_IMAGE_STATUS:
		if (ac_image_status_decode(&rd, &H.st) == 0)
			H.statuses++;
		break;
	case AC_MSG_HELLO:
		if (ac_hello_decode(&rd, &H.hello) == 0)
			H.hellos++;
		break;
	case AC_MSG_CRASH:
		if (ac_crash_decode(&rd, &H.crash) == 0)
			H.crashes++;
		break;
	case AC_MSG_REPLY:
		if (ac_reply_decode(&rd, &H.reply) == 0)
			H.replies++;
		break;
	case AC_MSG_DUMP_INFO: {
		struct ac_msg_dump_info di;

		if (ac_dump_info_decode(&rd, &di) == 0) {
			memcpy(H.dump_hash, di.image_hash, 32);
			H.dump_id = di.dump_id;
			H.dump_offered = true;
		}
		break;
	}
	default:
		break;
	}
}

void
pump(void)
{
	const uint8_t *p;
	size_t n;

	while ((p = ac_agent_tx_peek(&agent, &n)) != NULL) {
		size_t off = 0;

		while (off < n) {
			struct ac_frame f;
			int res;

			off += ac_deframer_feed(&dfr, p + off, n - off, &f,
			    &res);
			if (res == 1)
				host_frame(&f);
		}
		ac_agent_tx_consume(&agent, n);
	}
}


void
run_ms(uint32_t ms)
{
	for (uint32_t i = 0; i < ms; i++) {
		fake_now += 1000;
		if (B.behaviour != 's')
			core1_step();
		(void)ac_agent_poll(&agent);
		pump();
		if (H.takes_dumps && H.dump_offered) {
			H.dump_offered = false;
			command(AC_CMD_DUMP_ACK, H.dump_id, AC_DUMP_DONE);
		}
	}
}

void
to_agent(uint8_t type, const uint8_t *payload, size_t len)
{
	uint8_t enc[AC_FRAME_MAX_ENC];
	size_t n = ac_frame_encode(enc, sizeof(enc), type, 0, payload, len);

	ac_agent_rx(&agent, enc, n);
}

void
command(uint8_t cmd, uint32_t arg0, uint32_t arg1)
{
	struct ac_msg_cmd c = { 7, cmd, arg0, arg1 };
	uint8_t buf[64];
	struct ac_wr w;

	ac_wr_init(&w, buf, sizeof(buf));
	if (ac_cmd_encode(&w, &c) == 0)
		to_agent(AC_MSG_CMD, buf, w.len);
	pump();
}

const uint8_t factory_hash[32] = { 0xfa, 0xc7 };

/* A board boot: a new agent on the flash as it is. */
void
board_boot(uint64_t boot_id)
{
	struct ac_agent_cfg cfg;
	const struct ac_slot_info *s;
	uint8_t slot;

	ac_agent_cfg_defaults(&cfg);
	memcpy(cfg.device_id, "unit", 4);
	cfg.device_id_len = 4;
	cfg.boot_id = boot_id;
	memcpy(cfg.image_hash, factory_hash, 32);
	memset(region_mem, 0, sizeof(region_mem));
	memset(&H, 0, sizeof(H));
	ac_deframer_init(&dfr);
	ac_deframer_set_seed(&dfr, ac_boot_seed(boot_id));
	if (ac_agent_init(&agent, &cfg, &port, region_mem, REGION_SIZE) != 0)
		abort();
	/* The port starts core 1 from the slot the record names. */
	if ((s = ac_agent_core1_slot(&agent, &slot)) == NULL)
		abort();
	core1_start(slot, s);
	pump();
	run_ms(20);
}

void
board_new(void)
{
	memset(flash, 0xff, sizeof(flash));
	memset(recs, 0xff, sizeof(recs));
	memset(&B, 0, sizeof(B));
	B.tear_write = -1;
	board_boot(1);
}

/* ---- images and the host's sender ---- */


void
image_make(struct image *im, uint32_t len, char behaviour, uint8_t tag)
{
	struct ac_sha256 h;

	memset(im, 0, sizeof(*im));
	im->len = len;
	im->entry = AC_IMAGE_BASE + 64;
	memset(im->elf_hash, tag, 32);
	for (uint32_t i = 0; i < len; i++)
		im->bytes[i] = (uint8_t)(i * 7 + tag);
	for (int i = 0; i < 4; i++) {
		im->bytes[i] = (uint8_t)(im->entry >> (8 * i));
		im->bytes[4 + i] = (uint8_t)(AC_IMAGE_MAGIC >> (8 * i));
	}
	memcpy(im->bytes + 8, im->elf_hash, 32);
	im->bytes[AC_IMAGE_HDR] = (uint8_t)behaviour;
	ac_sha256_init(&h);
	ac_sha256_update(&h, im->bytes, len);
	ac_sha256_final(&h, im->sha);
}

void
offer(const struct image *im, uint32_t xfer_id)
{
	struct ac_msg_image_offer o = { xfer_id, im->len, im->entry, {0},
	    {0} };
	uint8_t buf[128];
	struct ac_wr w;

	memcpy(o.sha256, im->sha, 32);
	memcpy(o.image_hash, im->elf_hash, 32);
	ac_wr_init(&w, buf, sizeof(buf));
	if (ac_image_offer_encode(&w, &o) != 0)
		abort();
	to_agent(AC_MSG_IMAGE_OFFER, buf, w.len);
	run_ms(2);
}

void
send_chunk(const struct image *im, uint32_t xfer_id, uint32_t off,
    bool damage)
{
	struct ac_msg_image_data d = { xfer_id, off, 0, im->bytes + off, 0 };
	uint8_t buf[AC_WIRE_MAX_PAYLOAD];
	struct ac_wr w;

	d.len = im->len - off < AC_IMAGE_CHUNK ? im->len - off :
	    AC_IMAGE_CHUNK;
	d.crc = ac_crc32c(0, d.data, d.len) ^ (damage ? 1u : 0u);
	ac_wr_init(&w, buf, sizeof(buf));
	if (ac_image_data_encode(&w, &d) != 0)
		abort();
	to_agent(AC_MSG_IMAGE_DATA, buf, w.len);
}

/*
 * The host's side of a transfer: a window of chunks past what the agent
 * acknowledged, from where it says it is.  Stops when the agent has
 * `stop_at` bytes (0: never) or leaves RECEIVING; damages one chunk at
 * `damage_at` once.  Returns the chunks sent.
 */
int
transfer(const struct image *im, uint32_t xfer_id, uint32_t stop_at,
    uint32_t damage_at)
{
	int sent = 0;
	bool damaged = false;

	for (int rounds = 0; rounds < 10000; rounds++) {
		uint32_t from = H.st.have;

		if (H.st.state != AC_IMG_RECEIVING || H.st.xfer_id != xfer_id)
			break;
		if (stop_at != 0 && from >= stop_at)
			break;
		for (uint32_t k = 0; k < AC_IMAGE_WINDOW; k++) {
			uint32_t off = from + k * AC_IMAGE_CHUNK;
			bool bad = !damaged && off == damage_at;

			if (off >= im->len)
				break;
			damaged |= bad;
			send_chunk(im, xfer_id, off, bad);
			sent++;
		}
		run_ms(2);
	}
	run_ms(20);		/* verification */
	return sent;
}

struct ac_slot_rec
record_now(void)
{
	struct ac_slot_rec c[2];
	bool ok0 = ac_slot_rec_decode(recs[0], &c[0]) == 0;
	bool ok1 = ac_slot_rec_decode(recs[1], &c[1]) == 0;

	if (ok1 && (!ok0 || (int32_t)(c[1].seq - c[0].seq) > 0))
		return c[1];
	if (!ok0) {		/* none yet: the built-in image in slot 0 */
		memset(&c[0], 0, sizeof(c[0]));
		c[0].previous = AC_SLOT_NONE;
	}
	return c[0];
}

