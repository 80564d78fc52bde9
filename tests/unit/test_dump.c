/*
 * Crash dumps end to end in one process: the agent core against a fake
 * platform with a crash store in RAM, the real host session and the
 * daemon's reassembler (dumprx) between them, losses and resets injected.
 * Also the agent's portable SHA-256 against OpenSSL.
 */
#include <string.h>

#include <openssl/sha.h>

#include "appcore/agent.h"
#include "appcore/core1.h"
#include "appcore/sha256.h"
#include "check.h"
#include "dumprx.h"
#include "session.h"

#define REGION_SIZE	(32 * 1024)
#define STORE_SIZE	(AC_STORE_DATA + REGION_SIZE)

static _Alignas(64) uint8_t region_mem[REGION_SIZE];
static uint8_t store[STORE_SIZE];
static bool store_broken;
static uint64_t fake_now;
static int restarts;

static uint64_t
fake_now_us(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static int
fake_restart(void *ctx)
{
	(void)ctx;
	restarts++;
	/* A new core-1 run: it starts over in its region. */
	(void)ac_core1_init(region_mem, REGION_SIZE);
	return 0;
}

static int
st_read(void *ctx, uint32_t off, void *buf, uint32_t n)
{
	(void)ctx;
	if (off > STORE_SIZE || n > STORE_SIZE - off)
		return -1;
	memcpy(buf, store + off, n);
	return 0;
}

static int
st_write(void *ctx, uint32_t off, const void *buf, uint32_t n)
{
	(void)ctx;
	if (store_broken || off > STORE_SIZE || n > STORE_SIZE - off)
		return -1;
	memcpy(store + off, buf, n);
	return 0;
}

static int
st_clear(void *ctx)
{
	(void)ctx;
	memset(store, 0xff, AC_STORE_HDR);
	return 0;
}

static struct ac_port port = {
	.now_us = fake_now_us, .core1_restart = fake_restart,
	.store_size = STORE_SIZE, .store_read = st_read,
	.store_write = st_write, .store_clear = st_clear,
};

/* ---- the host ---- */

static struct session host;
static struct ac_agent agent;
static struct ac_region *r;
static struct dumprx rx;
static int offers, completes, crashes;
static struct ac_msg_dump_info offered;
static uint8_t got[REGION_SIZE];
static uint32_t acks[64], nacks;
static int drop_chunk = -1;	/* DUMP_DATA frames to lose: this index */
static int chunks_seen;
static bool host_silent;

static void
cb_crash(void *a, const struct ac_msg_crash *m)
{
	(void)a; (void)m;
	crashes++;
}

static void
queue_ack(uint32_t off)
{
	if (nacks < 64)
		acks[nacks++] = off;
}

static void
cb_dump_info(void *a, const struct ac_msg_dump_info *m)
{
	uint32_t ack;
	int rc;

	(void)a;
	offers++;
	offered = *m;
	if (host_silent)
		return;
	rc = dumprx_offer(&rx, m, &ack);
	if (rc == DRX_COMPLETE)
		queue_ack(AC_DUMP_DONE);
	else if (rc == DRX_ACK)
		queue_ack(ack);
}

static void
cb_dump_data(void *a, const struct ac_msg_dump_data *m)
{
	uint32_t ack;

	(void)a;
	if (chunks_seen++ == drop_chunk || host_silent)
		return;
	switch (dumprx_data(&rx, m, &ack)) {
	case DRX_ACK:
		queue_ack(ack);
		break;
	case DRX_COMPLETE:
		completes++;
		memcpy(got, rx.buf, rx.info.total);
		queue_ack(AC_DUMP_DONE);
		break;
	case DRX_FAILED:
		queue_ack(AC_DUMP_DONE);
		break;
	case DRX_NONE:
		break;
	}
}

static struct ac_msg_reply last_reply;

static void
cb_reply(void *a, const struct ac_msg_reply *m)
{
	(void)a;
	last_reply = *m;
}

static const struct session_cb cbs = {
	.crash = cb_crash, .dump_info = cb_dump_info,
	.dump_data = cb_dump_data, .reply = cb_reply,
};

static void
send_cmd(uint8_t cmd, uint32_t arg0, uint32_t arg1)
{
	struct ac_msg_cmd c = { .cmd = cmd, .arg0 = arg0, .arg1 = arg1 };
	uint8_t buf[64];
	size_t n = session_cmd(&host, &c, buf, sizeof(buf));

	ac_agent_rx(&agent, buf, n);
}

/* Agent output to the host, the host's acknowledgements back. */
static void
exchange(void)
{
	const uint8_t *p;
	size_t n;

	while ((p = ac_agent_tx_peek(&agent, &n)) != NULL) {
		session_feed(&host, p, n);
		ac_agent_tx_consume(&agent, n);
		for (uint32_t i = 0; i < nacks; i++)
			send_cmd(AC_CMD_DUMP_ACK, offered.dump_id, acks[i]);
		nacks = 0;
	}
}

static void
run_for(uint64_t us, bool heartbeat)
{
	uint64_t until = fake_now + us;

	while (fake_now < until) {
		uint64_t next = ac_agent_poll(&agent);

		exchange();
		if (next > until)
			next = until;
		while (fake_now < next) {
			fake_now += 1000;
			if (heartbeat)
				ac_heartbeat(r);
		}
	}
	(void)ac_agent_poll(&agent);
	exchange();
}

static void
boot(uint64_t boot_id, uint8_t policy, uint32_t max)
{
	struct ac_agent_cfg cfg;

	ac_agent_cfg_defaults(&cfg);
	memcpy(cfg.device_id, "dump", 4);
	cfg.device_id_len = 4;
	cfg.boot_id = boot_id;
	cfg.restart = policy;
	cfg.restart_max = max;
	memset(cfg.image_hash, 0xab, 32);
	session_init(&host, &cbs, NULL);
	dumprx_reset(&rx);
	offers = completes = crashes = chunks_seen = 0;
	nacks = 0;
	drop_chunk = -1;
	host_silent = false;
	if (ac_agent_init(&agent, &cfg, &port, region_mem, REGION_SIZE) != 0)
		abort();
	exchange();
}

static void
start_core1(void)
{
	r = ac_core1_init(region_mem, REGION_SIZE);
	(void)ac_counter_register(r, 0, "frames", "", AC_KIND_COUNTER, 0);
	ac_set_running(r);
	for (uint32_t i = 0; i < 4096; i++)	/* a stack to look at */
		region_mem[REGION_SIZE - 4096 + i] = (uint8_t)(i * 7 + 1);
}

static void
panic_now(uint32_t pc)
{
	struct ac_panic_info pi = {
		.reason = AC_PANIC_ASSERT, .file = "a.c", .line = 1,
		.msg = "boom", .pc = pc, .sp = 0x3fce0000,
	};

	ac_panic_record(r, &pi);
}

static bool
sha_of_region(const uint8_t sha[32])
{
	uint8_t md[32];

	SHA256(region_mem, REGION_SIZE, md);
	return memcmp(md, sha, 32) == 0;
}

static void
test_sha256(void)
{
	static const struct { const char *in; const char *hex; } kat[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	uint8_t buf[1000], md[32], ref[32];
	char hex[65];
	int fails = 0;

	for (size_t k = 0; k < sizeof(kat) / sizeof(kat[0]); k++) {
		struct ac_sha256 s;

		ac_sha256_init(&s);
		ac_sha256_update(&s, kat[k].in, strlen(kat[k].in));
		ac_sha256_final(&s, md);
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		CHECK(strcmp(hex, kat[k].hex) == 0, "SHA-256 of '%.8s...' "
		    "(FIPS 180-4 example)", kat[k].in);
	}
	/* Every length 0..999, fed in uneven pieces, against OpenSSL. */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (size_t n = 0; n < sizeof(buf); n++) {
		struct ac_sha256 s;
		size_t off = 0, step = 1 + n % 67;

		ac_sha256_init(&s);
		while (off < n) {
			size_t k = n - off < step ? n - off : step;

			ac_sha256_update(&s, buf + off, k);
			off += k;
		}
		ac_sha256_final(&s, md);
		SHA256(buf, n, ref);
		CHECK_QUIET(memcmp(md, ref, 32) == 0, fails, "length %zu", n);
	}
	CHECK(fails == 0, "SHA-256 equals OpenSSL's for lengths 0..999 fed "
	    "in pieces");
}

static void
test_dump_delivered(void)
{
	memset(store, 0xff, sizeof(store));
	fake_now = 1000000;
	boot(1, AC_RESTART_NEVER, 0);
	start_core1();
	run_for(200000, true);
	panic_now(0x42000100);
	drop_chunk = 5;		/* one chunk lost on the way */
	run_for(300000, false);
	CHECK(crashes == 1 && offers >= 1, "a panic: CRASH, then DUMP_INFO");
	CHECK(offered.total == REGION_SIZE &&
	    offered.crash.pc == 0x42000100 && offered.boot_id == 1 &&
	    offered.flags == AC_DUMP_STORED && offered.region_base ==
	    AC_REGION_DEFAULT_BASE, "the offer names the crash, its boot and "
	    "a stored dump of the whole region");
	CHECK(sha_of_region(offered.sha256), "its SHA-256 is the region's");
	CHECK(completes == 1 && memcmp(got, region_mem, REGION_SIZE) == 0,
	    "the host has every byte after a lost chunk (go back to the gap)");
	CHECK(rx.gaps >= 1, "the gap was seen (%llu)",
	    (unsigned long long)rx.gaps);
	CHECK(store[0] == 0xff && agent.dump.state == 0,
	    "acknowledged: the store is empty, the agent holds no dump");
	CHECK(restarts == 0, "policy never: core 1 stays stopped");
}

static void
test_dump_resume_and_reset(void)
{
	uint32_t half;

	memset(store, 0xff, sizeof(store));
	fake_now = 1000000;
	boot(7, AC_RESTART_NEVER, 0);
	start_core1();
	run_for(200000, true);
	panic_now(0x42000200);
	/* The host takes about half, then the link dies. */
	run_for(2000, false);
	for (int i = 0; i < 2000 && rx.got < REGION_SIZE / 2; i++) {
		(void)ac_agent_poll(&agent);
		exchange();
		fake_now += 100;
	}
	half = rx.got;
	host_silent = true;
	run_for(3000000, false);
	CHECK(half >= REGION_SIZE / 2 && half < REGION_SIZE && completes == 0,
	    "cut after %u of %u bytes", half, REGION_SIZE);
	CHECK(offers >= 3, "a silent host is offered the dump again every "
	    "second (%d offers)", offers);
	/* The link is back: the host says hello, the agent offers again and
	 * goes on from what the host has. */
	host_silent = false;
	chunks_seen = 0;
	send_cmd(AC_CMD_HELLO, 0, 0);
	run_for(300000, false);
	CHECK(completes == 1 && memcmp(got, region_mem, REGION_SIZE) == 0 &&
	    rx.resumes >= 1, "resumed and complete after the link is back");
	CHECK(chunks_seen <= (int)((REGION_SIZE - half) / AC_DUMP_CHUNK) + 12,
	    "only the missing part was sent again (%d chunks)", chunks_seen);

	/* A crash, no host, a board reset: the new boot offers it. */
	memset(store, 0xff, sizeof(store));
	fake_now = 1000000;
	boot(8, AC_RESTART_NEVER, 0);
	host_silent = true;
	start_core1();
	run_for(200000, true);
	panic_now(0x42000300);
	run_for(300000, false);
	{
		uint8_t frozen[REGION_SIZE];

		memcpy(frozen, region_mem, REGION_SIZE);
		CHECK(memcmp(store, "ACD1", 4) == 0, "the crash is in the store");
		memset(region_mem, 0, sizeof(region_mem));	/* reset */
		fake_now = 1000000;
		boot(9, AC_RESTART_NEVER, 0);
		CHECK(offers == 1 && offered.boot_id == 8 &&
		    offered.crash.pc == 0x42000300,
		    "the next boot offers the stored crash of boot 8 at once");
		start_core1();
		run_for(500000, true);
		CHECK(completes == 1 && memcmp(got, frozen, REGION_SIZE) == 0,
		    "the host gets the region as it was before the reset");
		CHECK(store[0] == 0xff, "then the store is empty");
	}
	/* A store that fails: the dump is sent from the (still) region. */
	memset(store, 0xff, sizeof(store));
	boot(10, AC_RESTART_NEVER, 0);
	store_broken = true;
	start_core1();
	run_for(200000, true);
	panic_now(0x42000400);
	run_for(300000, false);
	store_broken = false;
	CHECK(completes == 1 && offered.flags == 0 &&
	    memcmp(got, region_mem, REGION_SIZE) == 0,
	    "a failing store: the dump comes from the region, not stored");
	/* A stored header that does not check out is not offered. */
	memset(store, 0xff, sizeof(store));
	memcpy(store, "ACD1\x01\0\0\0\x10\0\0\0\0\0\0\0", 16);
	boot(11, AC_RESTART_NEVER, 0);
	CHECK(offers == 0 && agent.dump.state == 0,
	    "a corrupt crash store is ignored");
}

static void
test_policy(void)
{
	memset(store, 0xff, sizeof(store));
	fake_now = 1000000;
	boot(20, AC_RESTART_LIMIT, 2);
	start_core1();
	for (int i = 0; i < 3; i++) {
		run_for(200000, true);
		panic_now(0x42000500 + (uint32_t)i);
		run_for(300000, false);
	}
	run_for(2000000, false);
	CHECK(completes == 3 && restarts == 2 &&
	    agent.state == AC_STATE_PANICKED, "at most 2 restarts an hour: "
	    "%d restarts, %d dumps, then stopped", restarts, completes);
	fake_now += 3600ull * 1000000;
	{
		int before = restarts;

		/* An hour later the oldest restart has aged out. */
		send_cmd(AC_CMD_RESTART_CORE1, 0, 0);
		run_for(200000, true);
		panic_now(0x42000600);
		run_for(300000, false);
		CHECK(restarts == before + 2,
		    "an hour later the policy restarts again");
		/* The second hour holds the limit too: one more restart
		 * (two in this hour), then stopped. */
		before = restarts;
		for (int i = 0; i < 3; i++) {
			run_for(200000, true);
			panic_now(0x42000610 + (uint32_t)i);
			run_for(300000, false);
		}
		CHECK(restarts == before + 1 &&
		    agent.state == AC_STATE_PANICKED, "the second hour: at "
		    "most 2 restarts again, then stopped (%d more)",
		    restarts - before);
	}
	memset(store, 0xff, sizeof(store));
	boot(21, AC_RESTART_ALWAYS, 0);
	start_core1();
	run_for(200000, true);
	panic_now(0x42000700);
	/* Restarted as soon as the crash is safe in the store, before the
	 * host has it. */
	host_silent = true;
	run_for(300000, false);
	CHECK(restarts >= 1 && completes == 0 && agent.dump.stored,
	    "policy always: restarted once the dump is in the store");
	host_silent = false;
	send_cmd(AC_CMD_HELLO, 0, 0);
	run_for(300000, true);
	CHECK(completes == 1 && offered.crash.pc == 0x42000700,
	    "and the stored dump still reaches the host");
	/* The policy set by a host: a crash already safe restarts now. */
	memset(store, 0xff, sizeof(store));
	restarts = 0;
	boot(23, AC_RESTART_NEVER, 0);
	start_core1();
	run_for(200000, true);
	panic_now(0x42000900);
	run_for(500000, false);
	CHECK(completes == 1 && restarts == 0, "policy never: delivered, stopped");
	send_cmd(AC_CMD_SET_RESTART, 3, 0);
	exchange();
	CHECK(last_reply.cmd == AC_CMD_SET_RESTART &&
	    last_reply.status == AC_ST_OUT_OF_RANGE, "SET_RESTART 3: out of range");
	send_cmd(AC_CMD_SET_RESTART, AC_RESTART_LIMIT, 17);
	exchange();
	CHECK(last_reply.status == AC_ST_OUT_OF_RANGE,
	    "SET_RESTART limit 17: out of range");
	run_for(100000, false);
	CHECK(restarts == 0, "and nothing changed");
	send_cmd(AC_CMD_SET_RESTART, AC_RESTART_LIMIT, 5);
	run_for(100000, true);
	CHECK(last_reply.status == AC_ST_OK && last_reply.value == (2u | 5u << 8)
	    && restarts == 1 && agent.state != AC_STATE_PANICKED,
	    "SET_RESTART limit 5: the stopped core 1 restarts at once");
	/* Without a store core 1 waits until the host has the dump. */
	port.store_size = 0;
	restarts = 0;
	boot(22, AC_RESTART_ALWAYS, 0);
	host_silent = true;
	start_core1();
	run_for(200000, true);
	panic_now(0x42000800);
	run_for(500000, false);
	CHECK(restarts == 0, "no store: not restarted before delivery");
	{
		struct ac_msg_cmd c = { .cmd = AC_CMD_SNAPSHOT };
		uint8_t buf[64];
		size_t n = session_cmd(&host, &c, buf, sizeof(buf));

		ac_agent_rx(&agent, buf, n);
		CHECK(!agent.xfer.active, "a snapshot waits while a dump is in "
		    "flight (busy)");
	}
	host_silent = false;
	send_cmd(AC_CMD_HELLO, 0, 0);
	run_for(300000, false);
	CHECK(completes == 1 && restarts == 1,
	    "delivered: then restarted");
	port.store_size = STORE_SIZE;
}

int
main(void)
{
	test_sha256();
	test_dump_delivered();
	test_dump_resume_and_reset();
	test_policy();
	dumprx_reset(&rx);
	return check_done();
}
