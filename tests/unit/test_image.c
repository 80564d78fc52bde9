/*
 * Core-1 image updates on the agent (docs/updates.md) against the fake
 * board of fakeboard.h.  What is checked comes from the fake board (which
 * slot core 1 runs, what the flash holds) and from the agent's own
 * frames.
 */
#include <string.h>

#include "appcore/agent.h"
#include "appcore/core1.h"
#include "appcore/image.h"
#include "appcore/sha256.h"
#include "check.h"
#include "fakeboard.h"

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
