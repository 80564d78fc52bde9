/*
 * The host session against the real agent over a hostile link: a channel
 * that drops, duplicates, replays, reorders and corrupts chosen whole
 * frames.  Ground truth is what the agent sampled (its port's on_sample),
 * index by index: every sample the session delivers must equal it, none
 * twice as new, and the samples never delivered must be exactly those of
 * frames the channel destroyed.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "appcore/agent.h"
#include "appcore/core1.h"
#include "agent_frames.h"
#include "check.h"
#include "session.h"

#define REGION_SIZE	(32 * 1024)
#define NCOLS		8
#define MAX_SAMPLES	40000

static _Alignas(64) uint8_t region_mem[REGION_SIZE];
static uint64_t fake_now;
static struct ac_agent agent;
static struct ac_region *r;
static struct session host;

/* Ground truth, by index. */
static uint32_t truth[MAX_SAMPLES][NCOLS];
static uint64_t truth_t[MAX_SAMPLES];
static uint64_t produced;

/* What the host side made of it (the daemon's rule: new indices stored,
 * the rest counted as duplicates). */
static uint8_t stored[MAX_SAMPLES];
static uint64_t n_stored, n_dup, n_wrong, n_desc_missing;
static uint8_t destroyed[MAX_SAMPLES];
static int events[SE_COUNT];

static uint64_t
fake_now_us(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static void
on_truth(void *ctx, uint64_t index, uint64_t t, const uint32_t *v, uint32_t n)
{
	(void)ctx;
	if (index < MAX_SAMPLES && n == NCOLS) {
		memcpy(truth[index], v, sizeof(truth[index]));
		truth_t[index] = t;
	}
	produced = index + 1;
}

static const struct ac_port port = {
	.now_us = fake_now_us, .on_sample = on_truth,
};

static void
on_sample(void *a, uint64_t index, uint64_t t, const uint32_t *v, uint32_t n)
{
	(void)a;
	if (index >= MAX_SAMPLES || n != NCOLS ||
	    memcmp(v, truth[index], sizeof(truth[index])) != 0 ||
	    t != truth_t[index]) {
		n_wrong++;
		return;
	}
	if (!host.desc_complete || host.ndesc != n) {
		n_desc_missing++;
		return;
	}
	if (stored[index]) {
		n_dup++;
		return;
	}
	stored[index] = 1;
	n_stored++;
}

static void
on_dups(void *a, uint64_t n)
{
	(void)a;
	n_dup += n;
}

static void
on_event(void *a, enum session_event e, uint64_t n, const char *why)
{
	(void)a; (void)n;
	events[e]++;
	if (getenv("DEBUG_SESSION"))
		printf("# event %s %" PRIu64 " %s\n", session_event_name(e), n, why);
}

/* Commands from the host, delivered to the agent after each frame. */
static uint8_t to_agent[4096];
static size_t to_agent_len;

static uint32_t
on_ask(void *a, uint8_t cmd, uint32_t arg0, uint32_t arg1)
{
	struct ac_msg_cmd c = { .cmd = cmd, .arg0 = arg0, .arg1 = arg1 };
	size_t n;

	(void)a;
	n = session_cmd(&host, &c, to_agent + to_agent_len,
	    sizeof(to_agent) - to_agent_len);
	to_agent_len += n;
	return n ? c.req_id : 0;
}

static const struct session_cb cbs = {
	.sample = on_sample, .duplicates = on_dups, .event = on_event,
	.ask = on_ask,
};

/* ---- the hostile channel ---- */

enum act { PASS, DROP, DUP, REPLAY, SWAP, CORRUPT };

struct frame_info {
	uint8_t type;
	uint32_t seq;
	bool key;
	uint64_t first;
	uint32_t count;
};

typedef enum act policy_fn(const struct frame_info *, uint64_t nframe);

static policy_fn *policy;
static uint64_t nframes;
static struct frame_buf partial;
static uint8_t held[AC_FRAME_MAX_ENC];	/* SWAP: goes after the next */
static size_t held_len;
static uint8_t replay_buf[AC_FRAME_MAX_ENC];
static size_t replay_len;
static uint64_t replay_at;
static uint64_t damaged_samples;
static uint8_t last_key[AC_FRAME_MAX_ENC];	/* the newest key frame */
static size_t last_key_len;

static void
frame_info(const uint8_t *p, size_t n, struct frame_info *fi)
{
	struct ac_deframer df;
	struct ac_frame f;
	struct ac_samples_hdr h;
	int res;

	memset(fi, 0, sizeof(*fi));
	ac_deframer_init(&df);
	ac_deframer_set_seed(&df, agent.crc_seed);
	(void)ac_deframer_feed(&df, p, n, &f, &res);
	if (res != 1)
		return;
	fi->type = f.type;
	fi->seq = f.seq;
	if (f.type == AC_MSG_DESC) {
		struct ac_msg_desc d;
		struct ac_rd rd;

		ac_rd_init(&rd, f.payload, f.len);
		if (ac_desc_decode(&rd, &d) == 0)
			fi->count = d.total;
	}
	if (f.type == AC_MSG_SAMPLES &&
	    ac_samples_peek(f.payload, f.len, &h) == 0) {
		fi->key = h.key;
		fi->first = h.first_index;
		fi->count = h.count;
	}
}

static void
host_feed(const uint8_t *p, size_t n)
{
	session_clock(&host, fake_now);
	session_feed(&host, p, n);
	if (to_agent_len > 0) {
		ac_agent_rx(&agent, to_agent, to_agent_len);
		to_agent_len = 0;
	}
}

static void
destroy(const struct frame_info *fi)
{
	for (uint32_t i = 0; i < fi->count && fi->first + i < MAX_SAMPLES; i++)
		destroyed[fi->first + i] = 1;
	damaged_samples += fi->count;
}

static void
one_frame(const uint8_t *p, size_t n)
{
	struct frame_info fi;
	uint8_t bad[AC_FRAME_MAX_ENC];
	enum act a;

	frame_info(p, n, &fi);
	if (fi.type == AC_MSG_SAMPLES && fi.key && n <= sizeof(last_key)) {
		memcpy(last_key, p, n);
		last_key_len = n;
	}
	a = policy != NULL ? policy(&fi, nframes) : PASS;
	nframes++;
	switch (a) {
	case PASS:
		host_feed(p, n);
		break;
	case DROP:
		destroy(&fi);
		break;
	case DUP:
		host_feed(p, n);
		host_feed(p, n);
		break;
	case REPLAY:
		host_feed(p, n);
		memcpy(replay_buf, p, n);
		replay_len = n;
		replay_at = nframes + 10;
		break;
	case SWAP:
		memcpy(held, p, n);
		held_len = n;
		return;
	case CORRUPT:
		memcpy(bad, p, n);
		bad[n / 2] ^= 0x10;
		if (bad[n / 2] == 0)
			bad[n / 2] = 0x55;
		destroy(&fi);
		host_feed(bad, n);
		break;
	}
	if (held_len > 0 && a != SWAP) {
		host_feed(held, held_len);
		held_len = 0;
	}
	if (replay_len > 0 && nframes >= replay_at) {
		host_feed(replay_buf, replay_len);
		replay_len = 0;
	}
}

/* Moves what the agent queued through the channel, frame by frame. */
static void
pump(void)
{
	agent_frames(&agent, &partial, one_frame);
}

static void
run_for(uint64_t us)
{
	uint64_t until = fake_now + us;

	while (fake_now < until) {
		uint64_t next = ac_agent_poll(&agent);

		pump();
		session_tick(&host, fake_now);
		if (to_agent_len > 0) {
			ac_agent_rx(&agent, to_agent, to_agent_len);
			to_agent_len = 0;
		}
		if (next > until)
			next = until;
		while (fake_now < next) {
			fake_now += 250;
			if (fake_now % 1000 == 0) {
				uint64_t ms = fake_now / 1000;

				ac_counter_add(r, 0, 48);
				ac_counter_set(r, 1, (uint32_t)(ms * 7919 % 1013));
				ac_counter_add(r, 2, (uint32_t)(ms % 3));
				for (uint32_t i = 3; i < NCOLS; i++)
					ac_counter_set(r, i, (uint32_t)((ms *
					    (i + 1)) % 257));
				ac_heartbeat(r);
			}
		}
	}
	ac_agent_flush(&agent);
	pump();
}

static void
setup(policy_fn *p, uint64_t boot)
{
	struct ac_agent_cfg cfg;
	static const char *const names[NCOLS] = { "frames", "load", "irq",
		"g3", "g4", "g5", "g6", "g7" };

	memset(region_mem, 0, sizeof(region_mem));
	memset(stored, 0, sizeof(stored));
	memset(destroyed, 0, sizeof(destroyed));
	memset(events, 0, sizeof(events));
	n_stored = n_dup = n_wrong = n_desc_missing = produced = 0;
	nframes = 0;
	partial.len = held_len = replay_len = to_agent_len = 0;
	damaged_samples = 0;
	policy = p;
	fake_now = 1000000;
	ac_agent_cfg_defaults(&cfg);
	cfg.rate_hz = 1000;
	memcpy(cfg.device_id, "sess", 4);
	cfg.device_id_len = 4;
	cfg.boot_id = boot;
	session_init(&host, &cbs, NULL);
	if (ac_agent_init(&agent, &cfg, &port, region_mem, REGION_SIZE) != 0)
		abort();
	r = ac_core1_init(region_mem, REGION_SIZE);
	for (uint32_t i = 0; i < NCOLS; i++)
		(void)ac_counter_register(r, i, names[i], "", i == 0 || i == 2 ?
		    AC_KIND_COUNTER : AC_KIND_GAUGE, 0);
	ac_set_running(r);
	pump();
}

static uint64_t
first_stored(void)
{
	for (uint64_t i = 0; i < produced && i < MAX_SAMPLES; i++)
		if (stored[i])
			return i;
	return produced;
}

static uint64_t
undelivered_not_destroyed(void)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < produced && i < MAX_SAMPLES; i++)
		if (!stored[i] && !destroyed[i])
			n++;
	return n;
}

/* ---- policies ---- */

static uint64_t target_frame;

static enum act
drop_one_delta(const struct frame_info *fi, uint64_t n)
{
	(void)n;
	if (fi->type == AC_MSG_SAMPLES && !fi->key && fi->first > 2000 &&
	    target_frame == 0) {
		target_frame = fi->first;
		return DROP;
	}
	return PASS;
}

static enum act
dup_every_samples(const struct frame_info *fi, uint64_t n)
{
	return fi->type == AC_MSG_SAMPLES && n % 3 == 0 ? DUP : PASS;
}

static enum act
replay_key(const struct frame_info *fi, uint64_t n)
{
	(void)n;
	return fi->type == AC_MSG_SAMPLES && fi->key ? REPLAY : PASS;
}

static enum act
swap_some(const struct frame_info *fi, uint64_t n)
{
	return fi->type == AC_MSG_SAMPLES && n % 7 == 0 ? SWAP : PASS;
}

static enum act
drop_first_desc(const struct frame_info *fi, uint64_t n)
{
	(void)n;
	/* Every full DESC until the host notices and asks. */
	if (fi->type == AC_MSG_DESC && fi->count == NCOLS &&
	    host.st.asked_hello == 0) {
		target_frame++;
		return DROP;
	}
	return PASS;
}

static enum act
drop_hellos(const struct frame_info *fi, uint64_t n)
{
	(void)n;
	return fi->type == AC_MSG_HELLO && target_frame++ < 2 ? DROP : PASS;
}

static uint64_t rng = 88172645463325252ull;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static enum act
mixed(const struct frame_info *fi, uint64_t n)
{
	uint32_t x = rnd(1000);

	(void)n;
	(void)fi;
	if (x < 10)
		return DROP;
	if (x < 20)
		return DUP;
	if (x < 30)
		return REPLAY;
	if (x < 40)
		return SWAP;
	if (x < 50)
		return CORRUPT;
	return PASS;
}

/* ---- tests ---- */

static void
test_clean(void)
{
	setup(NULL, 1);
	run_for(3000000);
	CHECK(n_wrong == 0 && n_stored == produced && n_dup == 0 &&
	    host.st.samples_lost == 0 && host.st.frames_lost == 0,
	    "clean link: all %" PRIu64 " samples, exact, once", produced);
}

static void
test_drop_delta(void)
{
	target_frame = 0;
	setup(drop_one_delta, 2);
	run_for(4000000);
	CHECK(target_frame != 0 && n_wrong == 0 && n_dup == 0,
	    "a lost delta frame: nothing wrong delivered");
	CHECK(produced - n_stored == damaged_samples &&
	    undelivered_not_destroyed() == 0,
	    "it costs exactly its own %" PRIu64 " samples (lost %" PRIu64
	    "): the next frames are decoded through SAMPLES_REF",
	    damaged_samples, produced - n_stored);
	CHECK(host.st.asked_ref == 1 && events[SE_ASKED_REF] == 1,
	    "one SAMPLES_REF asked for, with an event");
}

static void
test_duplicates(void)
{
	setup(dup_every_samples, 3);
	run_for(3000000);
	CHECK(n_wrong == 0 && n_stored == produced,
	    "duplicated frames: every sample exact, none lost");
	CHECK(host.st.frames_dup > 0 && host.st.frames_lost == 0 &&
	    host.st.seq_gaps == 0 && n_dup == host.st.samples_dup &&
	    n_dup > 0, "counted as %" PRIu64 " duplicate frames (%" PRIu64
	    " samples), never as losses", host.st.frames_dup, n_dup);
}

static void
test_replayed_key(void)
{
	setup(replay_key, 4);
	run_for(3000000);
	CHECK(n_wrong == 0 && n_stored == produced &&
	    host.st.samples_lost == 0 && host.st.seq_gaps == 0,
	    "key frames replayed 10 frames later: nothing wrong or lost "
	    "(%" PRIu64 " samples)", produced);
	CHECK(host.st.frames_dup >= 3 && n_dup == host.st.samples_dup,
	    "the replays are %" PRIu64 " duplicates", host.st.frames_dup);
}

static void
test_reorder(void)
{
	setup(swap_some, 5);
	run_for(3000000);
	CHECK(n_wrong == 0 && n_stored == produced && n_dup == 0,
	    "frames swapped with the next: all %" PRIu64 " samples, exact, "
	    "once (%" PRIu64 " late frames)", produced, host.st.frames_late);
	CHECK(host.st.frames_lost == 0 && host.st.samples_lost == 0,
	    "reordering is not counted as loss");
}

static void
test_lost_desc(void)
{
	target_frame = 0;
	setup(drop_first_desc, 6);
	run_for(2000000);
	CHECK(host.desc_complete && host.st.asked_hello >= 1,
	    "the first DESC lost: the host asked for HELLO and DESC");
	CHECK(n_wrong == 0 && n_stored > 0 && n_stored + n_desc_missing ==
	    produced, "samples stored from the answer on (%" PRIu64 " of %"
	    PRIu64 ")", n_stored, produced);
}

static void
test_lost_hello(void)
{
	target_frame = 0;
	setup(drop_hellos, 7);
	run_for(2000000);
	CHECK(host.have_hello && host.st.frames_unverified > 0 &&
	    events[SE_UNATTRIBUTED] > 0 && host.st.asked_hello > 0,
	    "HELLO lost twice: the %" PRIu64 " frames before it (their boot "
	    "unknown, their CRC unverifiable) are counted, HELLO asked for",
	    host.st.frames_unverified);
	CHECK(n_wrong == 0 && n_stored > 0 && first_stored() + n_stored ==
	    produced, "from the first sample stored on, every one is (%"
	    PRIu64 " of %" PRIu64 ", from index %" PRIu64 ")", n_stored,
	    produced, first_stored());
}

static void
test_reboot_desc_first(void)
{
	struct ac_agent_cfg cfg;
	uint8_t first[4096];
	size_t n = 0;
	const uint8_t *p;
	size_t k;

	setup(NULL, 8);
	run_for(1000000);
	/* The board restarts and the link comes back: its DESC frames and
	 * samples arrive before its HELLO. */
	session_reset(&host);
	ac_agent_cfg_defaults(&cfg);
	cfg.rate_hz = 1000;
	memcpy(cfg.device_id, "sess", 4);
	cfg.device_id_len = 4;
	cfg.boot_id = 9;
	memset(stored, 0, sizeof(stored));
	n_stored = 0;
	produced = 0;
	if (ac_agent_init(&agent, &cfg, &port, region_mem, REGION_SIZE) != 0)
		abort();
	/* Hold the new HELLO back: take it out of the queue. */
	while ((p = ac_agent_tx_peek(&agent, &k)) != NULL && n + k <=
	    sizeof(first)) {
		memcpy(first + n, p, k);
		n += k;
		ac_agent_tx_consume(&agent, k);
	}
	policy = NULL;
	run_for(200000);
	CHECK(host.have_hello && host.hello.boot_id == 9 &&
	    host.st.asked_hello >= 1 && n_wrong == 0 && n_stored > 100,
	    "DESC before HELLO after a restart: the host asked for HELLO at "
	    "once and stores the new boot (%" PRIu64 " samples in 200 ms)",
	    n_stored);
	/* The HELLO held back arrives late: an old frame of this boot. */
	host_feed(first, n);
	run_for(1000000);
	CHECK(host.have_hello && host.hello.boot_id == 9 && host.desc_complete &&
	    n_wrong == 0 && first_stored() + n_stored + n_desc_missing ==
	    produced && first_stored() + n_desc_missing <= 30 && n_dup == 0,
	    "the late HELLO changes nothing: %" PRIu64 " of %" PRIu64
	    " samples stored, all from index %" PRIu64 " but %" PRIu64
	    " that came before the DESC asked for", n_stored, produced,
	    first_stored(), n_desc_missing);
}

static void
test_other_boot(void)
{
	struct ac_agent_cfg cfg;
	uint8_t old[AC_FRAME_MAX_ENC];
	size_t n;
	uint64_t before;

	setup(NULL, 11);
	run_for(1500000);
	memcpy(old, last_key, last_key_len);
	n = last_key_len;
	/* The board restarts on the same link (no reconnect: a UART). */
	ac_agent_cfg_defaults(&cfg);
	cfg.rate_hz = 1000;
	memcpy(cfg.device_id, "sess", 4);
	cfg.device_id_len = 4;
	cfg.boot_id = 12;
	memset(stored, 0, sizeof(stored));
	n_stored = produced = 0;
	if (ac_agent_init(&agent, &cfg, &port, region_mem, REGION_SIZE) != 0)
		abort();
	run_for(300000);
	before = host.st.frames_stale;
	/* A key frame of the ended boot, sent again: its index is ahead of
	 * the new boot's, its CRC is of the old boot. */
	host_feed(old, n);
	run_for(300000);
	CHECK(host.hello.boot_id == 12 && host.st.frames_stale == before + 1 &&
	    n_wrong == 0 && stored[0] && n_stored == produced,
	    "a key frame of the ended boot, replayed after the new HELLO: "
	    "ignored as stale, the new boot's %" PRIu64 " samples exact",
	    n_stored);
}

static void
test_mixed(void)
{
	setup(mixed, 10);
	run_for(20000000);
	CHECK(n_wrong == 0, "20 s at 1 kHz with 5 %% of frames dropped, "
	    "duplicated, replayed, swapped or corrupted: nothing wrong");
	CHECK((produced - n_stored) * 2 <= damaged_samples * 3,
	    "samples lost: %" PRIu64 ", at most 1.5 times the %" PRIu64
	    " the destroyed SAMPLES frames carried (a destroyed reference "
	    "or command costs more)", produced - n_stored, damaged_samples);
	CHECK(host.st.asked_ref > 0 && host.st.samples_recovered + n_stored
	    > 0, "%" PRIu64 " references asked for", host.st.asked_ref);
}

int
main(void)
{
	test_clean();
	test_drop_delta();
	test_duplicates();
	test_replayed_key();
	test_reorder();
	test_lost_desc();
	test_lost_hello();
	test_reboot_desc_first();
	test_other_boot();
	test_mixed();
	return check_done();
}
