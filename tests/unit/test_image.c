/*
 * Core-1 image updates on the agent (docs/updates.md) against a fake
 * board: two slots of NOR flash (erase to 0xff, writes only clear bits),
 * two copies of the slot record that a reset can tear at any byte, and a
 * core 1 that behaves as the image in its slot says (byte 40 of a test
 * image: 'o' healthy, 'p' panics, 'h' hangs after beating, 'n' runs but
 * never beats, 's' never starts).  A board reset is a new agent on the
 * same flash.  What is checked comes from the fake board (which slot
 * core 1 runs, what the flash holds) and from the agent's own frames.
 */
#include <string.h>

#include "appcore/agent.h"
#include "appcore/core1.h"
#include "appcore/image.h"
#include "appcore/sha256.h"
#include "check.h"

#define REGION_SIZE	(32 * 1024)
#define SLOT_SIZE	(64 * 1024)

static _Alignas(64) uint8_t region_mem[REGION_SIZE];
static uint8_t flash[2][SLOT_SIZE];
static uint8_t recs[2][AC_SLOT_REC_SIZE];
static uint64_t fake_now;
static struct ac_agent agent;
static struct ac_region *r;

/* The board's side. */
static struct {
	int switches;
	uint8_t running_slot;
	char behaviour;
	uint64_t run_t;			/* core 1 started */
	int tear_write;			/* this record write (0, 1, ...) */
	int tear_at;			/* stops after this many bytes */
	bool torn;			/* and the power is gone since */
	int rec_writes;
	int erases;
} B;

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

static struct {
	int statuses, hellos, crashes, replies;
	struct ac_msg_image_status st;
	struct ac_msg_hello hello;
	struct ac_msg_crash crash;
	struct ac_msg_reply reply;
	uint8_t dump_hash[32];
	uint32_t dump_id;
	bool dump_offered;
	bool takes_dumps;		/* acknowledges each as stored */
} H;

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

static void
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

static void command(uint8_t cmd, uint32_t arg0, uint32_t arg1);

static void
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

static void
to_agent(uint8_t type, const uint8_t *payload, size_t len)
{
	uint8_t enc[AC_FRAME_MAX_ENC];
	size_t n = ac_frame_encode(enc, sizeof(enc), type, 0, payload, len);

	ac_agent_rx(&agent, enc, n);
}

static void
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

static const uint8_t factory_hash[32] = { 0xfa, 0xc7 };

/* A board boot: a new agent on the flash as it is. */
static void
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

static void
board_new(void)
{
	memset(flash, 0xff, sizeof(flash));
	memset(recs, 0xff, sizeof(recs));
	memset(&B, 0, sizeof(B));
	B.tear_write = -1;
	board_boot(1);
}

/* ---- images and the host's sender ---- */

struct image {
	uint8_t bytes[SLOT_SIZE + 4096];
	uint32_t len;
	uint8_t sha[32];
	uint8_t elf_hash[32];
	uint32_t entry;
};

static void
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

static void
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

static void
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
static int
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

static struct ac_slot_rec
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

/* ---- tests ---- */

static void
test_codecs(void)
{
	struct ac_msg_image_status st = { 9, AC_IMG_TRIAL, AC_IMGE_NONE, 100,
	    200, SLOT_SIZE, AC_IMAGE_BASE, 1, 0, 1, 4321, {1}, {2} }, st2;
	struct ac_slot_rec rec, rec2;
	uint8_t buf[AC_SLOT_REC_SIZE], pay[256];
	struct ac_wr w;
	struct ac_rd rd;
	int fails = 0;

	ac_wr_init(&w, pay, sizeof(pay));
	CHECK(ac_image_status_encode(&w, &st) == 0, "IMAGE_STATUS encodes");
	ac_rd_init(&rd, pay, w.len);
	CHECK(ac_image_status_decode(&rd, &st2) == 0 && st2.xfer_id == 9 &&
	    st2.state == AC_IMG_TRIAL && st2.have == 100 && st2.total == 200 &&
	    st2.active == 1 && st2.previous == 0 &&
	    st2.trial_left_ms == 4321 && st2.active_hash[0] == 1 &&
	    st2.sha256[0] == 2, "and decodes to itself");
	ac_rd_init(&rd, pay, w.len - 1);
	CHECK(ac_image_status_decode(&rd, &st2) < 0, "a truncated one fails");
	memset(&rec, 0, sizeof(rec));
	rec.seq = 77;
	rec.active = 1;
	rec.previous = 0;
	rec.trial = 1;
	rec.attempts = 1;
	rec.trial_ms = 10000;
	rec.slot[1].state = AC_SLOT_VALID;
	rec.slot[1].size = 4096;
	memset(rec.slot[1].sha256, 0x5a, 32);
	ac_slot_rec_encode(buf, &rec);
	CHECK(ac_slot_rec_decode(buf, &rec2) == 0 &&
	    memcmp(&rec, &rec2, sizeof(rec)) == 0,
	    "the slot record reads back as written");
	for (unsigned i = 0; i < AC_SLOT_REC_SIZE * 8; i++) {
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		CHECK_QUIET(ac_slot_rec_decode(buf, &rec2) < 0, fails,
		    "bit %u flipped and still read", i);
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	CHECK(fails == 0, "every one of the %u single-bit flips of a record "
	    "is refused", AC_SLOT_REC_SIZE * 8);
}

static void
test_fresh_board(void)
{
	board_new();
	command(AC_CMD_IMAGE_STATUS, 0, 0);
	CHECK(H.statuses >= 1 && H.st.state == AC_IMG_IDLE &&
	    H.st.active == 0 && H.st.slot_size == SLOT_SIZE &&
	    H.st.base == AC_IMAGE_BASE &&
	    memcmp(H.st.active_hash, factory_hash, 32) == 0,
	    "a fresh board: idle, slot 0 active with the built-in image");
	CHECK(H.reply.status == AC_ST_OK, "image-status answers ok");
}

static struct image img;

static void
test_good_update(void)
{
	struct ac_slot_rec rec;
	int sent;

	board_new();
	image_make(&img, 40000, 'o', 0x11);
	offer(&img, 5);
	CHECK(H.st.state == AC_IMG_RECEIVING && H.st.xfer_id == 5 &&
	    H.st.have == 0 && H.st.total == 40000,
	    "an offer is taken: receiving from 0");
	sent = transfer(&img, 5, 0, 0);
	CHECK(H.st.state == AC_IMG_READY && H.st.have == 40000,
	    "the image arrives and is verified (%d chunks)", sent);
	CHECK(memcmp(flash[1], img.bytes, img.len) == 0,
	    "slot 1's flash holds the image byte for byte");
	CHECK(B.running_slot == 0 && B.switches == 0,
	    "core 1 still runs slot 0: nothing activated yet");
	command(AC_CMD_IMAGE_ACTIVATE, 5, 2000);
	CHECK(H.reply.status == AC_ST_OK && H.st.state == AC_IMG_TRIAL &&
	    B.running_slot == 1 && B.switches == 1,
	    "activation switches core 1 to slot 1, on trial");
	CHECK(memcmp(H.hello.image_hash, img.elf_hash, 32) == 0,
	    "HELLO names the new image's hash");
	rec = record_now();
	CHECK(rec.active == 1 && rec.previous == 0 && rec.trial == 1,
	    "the record says: slot 1 on trial, slot 0 to go back to");
	run_ms(1500);
	CHECK(H.st.state == AC_IMG_TRIAL, "not confirmed before 2 s");
	run_ms(600);
	rec = record_now();
	CHECK(H.st.state == AC_IMG_CONFIRMED && rec.active == 1 &&
	    rec.trial == 0 && B.running_slot == 1,
	    "after 2 s of heartbeat the image is confirmed");
	board_boot(2);
	CHECK(B.running_slot == 1 &&
	    memcmp(H.hello.image_hash, img.elf_hash, 32) == 0,
	    "after a board reset core 1 runs the confirmed image");
}

/* Transfers a bad image into slot 1, activates it and waits. */
static void
trial_of(char behaviour, uint32_t trial_ms, uint32_t wait_ms)
{
	board_new();
	image_make(&img, 8000, behaviour, (uint8_t)behaviour);
	offer(&img, 6);
	(void)transfer(&img, 6, 0, 0);
	command(AC_CMD_IMAGE_ACTIVATE, 6, trial_ms);
	run_ms(wait_ms);
}

static void
check_rolled_back(uint8_t why, const char *what)
{
	struct ac_slot_rec rec = record_now();

	CHECK(H.st.state == AC_IMG_ROLLED_BACK && H.st.error == why &&
	    B.running_slot == 0 && rec.active == 0 && rec.trial == 0 &&
	    rec.slot[1].state == AC_SLOT_BAD && rec.last_error == why,
	    "%s: rolled back to slot 0 (%s)", what, ac_image_error_name(why));
	CHECK(memcmp(H.hello.image_hash, factory_hash, 32) == 0,
	    "%s: HELLO names the old image again", what);
}

static void
test_rollbacks(void)
{
	uint64_t t0;

	trial_of('p', 3000, 200);
	CHECK(H.crashes == 1 && H.dump_offered &&
	    memcmp(H.dump_hash, img.elf_hash, 32) == 0,
	    "a panicking image: its crash is offered with its own hash");
	CHECK(H.st.state == AC_IMG_TRIAL, "its dump waits for the host");
	command(AC_CMD_DUMP_ACK, H.dump_id, AC_DUMP_DONE);
	run_ms(20);
	check_rolled_back(AC_IMGE_PANIC, "panic at start");
	run_ms(200);
	CHECK(B.behaviour == 'o' && H.st.state == AC_IMG_ROLLED_BACK,
	    "the old image runs and stays");

	trial_of('p', 3000, 200);
	t0 = fake_now;
	run_ms(3000);
	check_rolled_back(AC_IMGE_PANIC, "panic, dump never taken");
	(void)t0;

	/* A host that takes the hang's dump: rolled back at once. */
	trial_of('h', 5000, 0);
	H.takes_dumps = true;
	run_ms(2000);
	check_rolled_back(AC_IMGE_HANG, "hang after 300 ms");
	trial_of('n', 5000, 0);
	H.takes_dumps = true;
	run_ms(2000);
	check_rolled_back(AC_IMGE_NO_HEARTBEAT, "running, never beats");
	/* No host for the dump: at the trial's end. */
	trial_of('h', 5000, 4900);
	CHECK(H.st.state == AC_IMG_TRIAL, "hang, dump not taken: the trial "
	    "waits for it");
	run_ms(200);
	check_rolled_back(AC_IMGE_HANG, "hang, dump never taken");

	trial_of('s', 3000, 2900);
	CHECK(H.st.state == AC_IMG_TRIAL, "a silent core 1: trial runs on");
	run_ms(200);
	check_rolled_back(AC_IMGE_NO_HEARTBEAT, "never starts");
}

static void
test_reset_during_trial(void)
{
	struct ac_slot_rec rec;

	trial_of('o', 10000, 500);
	CHECK(B.running_slot == 1 && H.st.state == AC_IMG_TRIAL,
	    "on trial in slot 1");
	board_boot(3);
	rec = record_now();
	CHECK(B.running_slot == 0 && rec.active == 0 && rec.trial == 0 &&
	    rec.slot[1].state == AC_SLOT_BAD,
	    "a reset during the trial boots slot 0 again");
	run_ms(20);
	CHECK(H.st.state == AC_IMG_ROLLED_BACK && H.st.error == AC_IMGE_RESET,
	    "and the agent says why (reset)");
}

static void
test_resume(void)
{
	int first, second;

	board_new();
	image_make(&img, 60000, 'o', 0x22);
	offer(&img, 8);
	first = transfer(&img, 8, 30000, 0);
	CHECK(H.st.have >= 30000 && H.st.state == AC_IMG_RECEIVING,
	    "half the image is there (%u bytes)", H.st.have);
	board_boot(4);		/* the board resets mid-transfer */
	offer(&img, 9);		/* a host offers the same image again */
	CHECK(H.st.state == AC_IMG_RECEIVING && H.st.xfer_id == 9 &&
	    H.st.have >= 16384 && H.st.have <= 30000,
	    "the agent resumes from its checkpoint (%u bytes)", H.st.have);
	second = transfer(&img, 9, 0, 0);
	CHECK(H.st.state == AC_IMG_READY &&
	    memcmp(flash[1], img.bytes, img.len) == 0,
	    "the resumed transfer completes and verifies (%d + %d chunks, "
	    "%u in the image)", first, second,
	    (60000 + AC_IMAGE_CHUNK - 1) / AC_IMAGE_CHUNK);
	/* The daemon restarts instead: same boot, a new offer. */
	board_new();
	offer(&img, 10);
	(void)transfer(&img, 10, 20000, 0);
	offer(&img, 11);
	CHECK(H.st.xfer_id == 11 && H.st.have >= 20000,
	    "a host that restarted resumes where the agent is (%u)",
	    H.st.have);
	(void)transfer(&img, 11, 0, 0);
	CHECK(H.st.state == AC_IMG_READY, "and completes");
}

static void
test_damage(void)
{
	board_new();
	image_make(&img, 20000, 'o', 0x33);
	offer(&img, 12);
	(void)transfer(&img, 12, 0, 7 * AC_IMAGE_CHUNK);
	CHECK(H.st.state == AC_IMG_READY &&
	    memcmp(flash[1], img.bytes, img.len) == 0,
	    "a chunk with a bad CRC is sent again; the image verifies");
}

static void
test_bad_offers(void)
{
	struct ac_slot_rec before, after;
	struct image *big = &img;

	board_new();
	command(AC_CMD_IMAGE_STATUS, 0, 0);
	before = record_now();
	image_make(big, SLOT_SIZE + 1, 'o', 0x44);
	offer(big, 20);
	CHECK(H.st.state == AC_IMG_FAILED && H.st.error == AC_IMGE_TOO_LARGE,
	    "an image larger than a slot is refused (too-large)");
	image_make(&img, 4000, 'o', 0x45);
	img.entry = AC_IMAGE_BASE + 4000;
	offer(&img, 21);
	CHECK(H.st.error == AC_IMGE_BAD_ENTRY,
	    "an entry past the image's end is refused (bad-entry)");
	img.entry = AC_IMAGE_BASE + 8;
	offer(&img, 22);
	CHECK(H.st.error == AC_IMGE_BAD_ENTRY,
	    "an entry inside the header is refused (bad-entry)");
	after = record_now();
	CHECK(B.switches == 0 && B.erases == 0 && B.running_slot == 0,
	    "none of them erased a sector or touched core 1");
	(void)before; (void)after;

	/* Offered with one hash, sent with other bytes. */
	image_make(&img, 5000, 'o', 0x46);
	offer(&img, 23);
	img.bytes[3000] ^= 0xff;
	(void)transfer(&img, 23, 0, 0);
	CHECK(H.st.state == AC_IMG_FAILED && H.st.error == AC_IMGE_SHA256 &&
	    record_now().slot[1].state == AC_SLOT_EMPTY,
	    "bytes that do not hash to the offer fail (sha256)");
	command(AC_CMD_IMAGE_ACTIVATE, 23, 2000);
	CHECK(H.reply.status == AC_ST_FAILED && B.running_slot == 0 &&
	    H.reply.value == AC_IMGE_NO_IMAGE,
	    "and cannot be activated (no-image)");

	/* A good hash over a header that is not an image's. */
	image_make(&img, 5000, 'o', 0x47);
	img.bytes[5] ^= 0x01;		/* the magic */
	{
		struct ac_sha256 h;

		ac_sha256_init(&h);
		ac_sha256_update(&h, img.bytes, img.len);
		ac_sha256_final(&h, img.sha);
	}
	offer(&img, 24);
	(void)transfer(&img, 24, 0, 0);
	CHECK(H.st.state == AC_IMG_FAILED && H.st.error == AC_IMGE_BAD_HEADER,
	    "a header without the magic fails (bad-header)");
	CHECK(B.running_slot == 0 && record_now().active == 0,
	    "core 1 runs slot 0 throughout");
}

/*
 * A reset at each byte of each record write during an update: the board
 * always comes up with a whole record, running an image it verified.
 */
static void
test_torn_records(void)
{
	int writes, fails = 0, old = 0, new = 0;

	/* How many record writes a whole update makes. */
	board_new();
	image_make(&img, 20000, 'o', 0x55);
	offer(&img, 30);
	(void)transfer(&img, 30, 0, 0);
	command(AC_CMD_IMAGE_ACTIVATE, 30, 1000);
	run_ms(1200);
	writes = B.rec_writes;
	CHECK(H.st.state == AC_IMG_CONFIRMED, "an update makes %d record "
	    "writes", writes);
	for (int w = 0; w < writes; w++)
		for (int at = 0; at <= (int)AC_SLOT_REC_SIZE; at += 7) {
			struct ac_slot_rec rec;

			board_new();
			B.rec_writes = 0;
			B.tear_write = w;
			B.tear_at = at;
			offer(&img, 30);
			for (int round = 0; round < 50 && !B.torn; round++) {
				if (H.st.state == AC_IMG_RECEIVING)
					(void)transfer(&img, 30, 0, 0);
				if (H.st.state == AC_IMG_READY)
					command(AC_CMD_IMAGE_ACTIVATE, 30,
					    1000);
				run_ms(100);
			}
			B.torn = false;
			B.tear_write = -1;
			board_boot(100 + (uint64_t)w);
			rec = record_now();
			CHECK_QUIET(rec.active < 2 && (rec.active == 0 ||
			    rec.slot[rec.active].state == AC_SLOT_VALID) &&
			    B.running_slot == rec.active && !rec.trial, fails,
			    "write %d torn at %d: active %u trial %u", w, at,
			    rec.active, rec.trial);
			if (rec.active == 0)
				old++;
			else
				new++;
		}
	CHECK(fails == 0, "a reset inside any record write leaves a whole "
	    "record and a verified image running (%d on the old image, %d "
	    "on the new)", old, new);
}

static void
test_busy_dump(void)
{
	static const uint32_t bt[1] = { 1 };
	struct ac_panic_info pi = { .reason = AC_PANIC_EXPLICIT, .msg = "x",
	    .bt = bt, .bt_count = 1 };

	board_new();
	ac_panic_record(r, &pi);
	B.behaviour = 'n';
	run_ms(50);
	image_make(&img, 4000, 'o', 0x66);
	offer(&img, 40);
	CHECK(H.st.state == AC_IMG_FAILED && H.st.error == AC_IMGE_BUSY_DUMP &&
	    B.erases == 0, "an offer while a crash dump is on its way waits "
	    "(busy-dump)");
	command(AC_CMD_DUMP_ACK, H.dump_id, AC_DUMP_DONE);
	run_ms(20);
	offer(&img, 41);
	CHECK(H.st.state == AC_IMG_RECEIVING, "and is taken once the dump is "
	    "stored");
}

int
main(void)
{
	test_codecs();
	test_fresh_board();
	test_good_update();
	test_rollbacks();
	test_reset_during_trial();
	test_resume();
	test_damage();
	test_bad_offers();
	test_torn_records();
	test_busy_dump();
	return check_done();
}
