/* The codec: round trips, corruption, truncation, resync, hostile input. */
#include <stdint.h>
#include <string.h>

#include "appcore/wire.h"
#include "check.h"

static uint64_t rng = 0x1234567887654321ull;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Feeds a whole buffer; returns the number of good frames, the last in *f
 * copied to out/outlen. */
static int
deframe_all(const uint8_t *p, size_t n, uint8_t *type, uint8_t *out,
    size_t *outlen, struct ac_deframer_stats *st)
{
	static struct ac_deframer d;
	int good = 0;

	ac_deframer_init(&d);
	while (n > 0) {
		struct ac_frame f;
		int res;
		size_t used = ac_deframer_feed(&d, p, n, &f, &res);

		p += used;
		n -= used;
		if (res == 1) {
			good++;
			if (type != NULL)
				*type = f.type;
			if (out != NULL) {
				memcpy(out, f.payload, f.len);
				*outlen = f.len;
			}
		}
	}
	if (st != NULL)
		*st = d.st;
	return good;
}

static void
test_crc(void)
{
	CHECK(ac_crc32c(0, "123456789", 9) == 0xE3069283u,
	    "CRC-32C check value of \"123456789\"");
	CHECK(ac_crc32c(ac_crc32c(0, "1234", 4), "56789", 5) == 0xE3069283u,
	    "CRC-32C is incremental");
}

static void
test_varint(void)
{
	static const uint64_t vals[] = { 0, 1, 127, 128, 300, 16383, 16384,
	    UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX };
	uint8_t buf[16];
	int fails = 0;

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		struct ac_wr w;
		struct ac_rd r;
		uint64_t v = 0;

		ac_wr_init(&w, buf, sizeof(buf));
		ac_wr_varint(&w, vals[i]);
		ac_rd_init(&r, buf, w.len);
		CHECK_QUIET(ac_rd_varint(&r, &v) == 0 && v == vals[i] &&
		    r.left == 0, fails, "varint %llu",
		    (unsigned long long)vals[i]);
	}
	CHECK(fails == 0, "varint round trip of edge values");
	for (int32_t s = -70000; s <= 70000; s += 7) {
		struct ac_wr w;
		struct ac_rd r;
		int32_t v = 0;

		ac_wr_init(&w, buf, sizeof(buf));
		ac_wr_svarint32(&w, s);
		ac_rd_init(&r, buf, w.len);
		CHECK_QUIET(ac_rd_svarint32(&r, &v) == 0 && v == s, fails,
		    "svarint %d", s);
	}
	CHECK(fails == 0, "zigzag round trip");
	{
		static const uint8_t overlong[] = { 0x80, 0x00 };
		static const uint8_t eleven[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
		    0xff, 0xff, 0xff, 0xff, 0x81, 0x00 };
		static const uint8_t big32[] = { 0x80, 0x80, 0x80, 0x80, 0x10 };
		struct ac_rd r;
		uint64_t v;
		uint32_t v32;

		ac_rd_init(&r, overlong, sizeof(overlong));
		CHECK(ac_rd_varint(&r, &v) == AC_EBADMSG && r.err != NULL,
		    "non-minimal varint refused: %s", r.err);
		ac_rd_init(&r, eleven, sizeof(eleven));
		CHECK(ac_rd_varint(&r, &v) == AC_EBADMSG,
		    "varint past 64 bits refused: %s", r.err);
		ac_rd_init(&r, big32, sizeof(big32));
		CHECK(ac_rd_varint32(&r, &v32) == AC_ERANGE,
		    "varint32 above 2^32-1 refused: %s", r.err);
		ac_rd_init(&r, overlong, 1);
		CHECK(ac_rd_varint(&r, &v) == AC_ETRUNC,
		    "truncated varint refused: %s", r.err);
	}
}

/* ---- one example of every message, encoded as a frame ---- */

struct sample_msgs {
	struct ac_msg_hello hello;
	struct ac_msg_desc desc;
	struct ac_msg_log log;
	struct ac_msg_state state;
	struct ac_msg_mem mem;
	struct ac_msg_crash crash;
	struct ac_msg_reply reply;
	struct ac_msg_stats stats;
	struct ac_msg_cmd cmd[AC_CMD_COUNT];
	uint8_t memdata[AC_MEM_CHUNK];
};

static struct sample_msgs M;

static void
make_msgs(void)
{
	memset(&M, 0, sizeof(M));
	M.hello.proto_version = AC_PROTO_VERSION;
	M.hello.layout_version = AC_LAYOUT_VERSION;
	strcpy(M.hello.agent_version, "0.1.0-test");
	memcpy(M.hello.device_id, "board-7", 7);
	M.hello.device_id_len = 7;
	M.hello.boot_id = 0xdeadbeefcafef00dull;
	for (int i = 0; i < 32; i++)
		M.hello.image_hash[i] = (uint8_t)(i * 7 + 1);
	M.hello.region_base = AC_REGION_DEFAULT_BASE;
	M.hello.region_size = AC_REGION_DEFAULT_SIZE;
	M.hello.rate_hz = 1000;
	M.hello.max_counters = AC_MAX_COUNTERS;
	M.hello.counters_used = 64;
	M.hello.desc_gen = 3;
	M.hello.uptime_us = 123456789012ull;
	M.hello.core1_state = AC_STATE_RUNNING;
	M.hello.generation = 2;

	M.desc.desc_gen = 3;
	M.desc.total = 64;
	M.desc.first = 40;
	M.desc.count = AC_DESC_PER_FRAME;
	for (uint32_t i = 0; i < M.desc.count; i++) {
		M.desc.c[i].kind = i % 2 ? AC_KIND_COUNTER : AC_KIND_GAUGE;
		M.desc.c[i].flags = i % 3 == 0 ? AC_FLAG_SIGNED : 0;
		snprintf(M.desc.c[i].name, AC_NAME_LEN,
		    "counter.number_%02u_long_name", i % 100);
		snprintf(M.desc.c[i].unit, AC_UNIT_LEN, "u%u", i % 100);
	}
	M.log = (struct ac_msg_log){ .t_us = 99, .record = 70000,
	    .lost_before = 3, .level = AC_LOG_WARN, .stamp = 4242 };
	strcpy(M.log.text, "underrun at block 12345, fill 0 of 256 frames!");
	M.state = (struct ac_msg_state){ 5000000, AC_STATE_HUNG,
	    AC_STATE_RUNNING, 4, 77777, 1500 };
	for (unsigned i = 0; i < sizeof(M.memdata); i++)
		M.memdata[i] = (uint8_t)(i * 31);	/* zeros included */
	M.mem = (struct ac_msg_mem){ .req_id = 9, .kind = AC_MEM_SNAPSHOT,
	    .t_us = 777, .offset = 1536, .total = AC_REGION_DEFAULT_SIZE,
	    .start = 0, .data = M.memdata, .len = AC_MEM_CHUNK };
	M.crash.t_us = 4000123;
	M.crash.generation = 1;
	M.crash.reason = AC_PANIC_ASSERT;
	M.crash.pc = 0x42002a31;
	M.crash.sp = 0x3fce9570;
	M.crash.ps = 0x60f30;
	M.crash.exccause = 28;
	M.crash.excvaddr = 0xdead;
	M.crash.line = 217;
	strcpy(M.crash.file, "dsp/mixer.c");
	strcpy(M.crash.msg, "assert failed: fill <= BUF_FRAMES");
	for (int i = 0; i < 16; i++)
		M.crash.ar[i] = 0x3fcc0000u + (uint32_t)i;
	M.crash.bt_count = AC_BT_MAX;
	for (uint32_t i = 0; i < AC_BT_MAX; i++)
		M.crash.bt[i] = 0x42000000u + i * 0x40;
	M.reply = (struct ac_msg_reply){ 17, AC_CMD_SET_RATE,
	    AC_ST_OUT_OF_RANGE, 1000 };
	M.stats = (struct ac_msg_stats){ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16384,
	    4000000000u };
	for (unsigned c = 1; c < AC_CMD_COUNT; c++)
		M.cmd[c] = (struct ac_msg_cmd){ 100 + c, (uint8_t)c,
		    c == AC_CMD_PING || c == AC_CMD_SET_RATE ||
		    c == AC_CMD_READ_MEM ? 0x10000u + c : 0,
		    c == AC_CMD_READ_MEM ? 4096 : 0 };
}

/* Encodes message k (0..N_MSGS-1) into a payload; returns its type. */
#define N_MSGS (8 + AC_CMD_COUNT - 1)

static uint8_t
encode_msg(int k, uint8_t *buf, size_t *len)
{
	struct ac_wr w;
	uint8_t type;
	int rc;

	ac_wr_init(&w, buf, AC_WIRE_MAX_PAYLOAD);
	switch (k) {
	case 0: rc = ac_hello_encode(&w, &M.hello); type = AC_MSG_HELLO; break;
	case 1: rc = ac_desc_encode(&w, &M.desc); type = AC_MSG_DESC; break;
	case 2: rc = ac_log_encode(&w, &M.log); type = AC_MSG_LOG; break;
	case 3: rc = ac_state_encode(&w, &M.state); type = AC_MSG_STATE; break;
	case 4: rc = ac_mem_encode(&w, &M.mem); type = AC_MSG_MEM; break;
	case 5: rc = ac_crash_encode(&w, &M.crash); type = AC_MSG_CRASH; break;
	case 6: rc = ac_reply_encode(&w, &M.reply); type = AC_MSG_REPLY; break;
	case 7: rc = ac_stats_encode(&w, &M.stats); type = AC_MSG_STATS; break;
	default:
		rc = ac_cmd_encode(&w, &M.cmd[k - 7]);
		type = AC_MSG_CMD;
		break;
	}
	*len = rc == 0 ? w.len : 0;
	return type;
}

/* Decodes payload as message k and compares with the original. */
static bool
decode_matches(int k, const uint8_t *p, size_t n)
{
	struct ac_rd r;
	union {
		struct ac_msg_hello hello;
		struct ac_msg_desc desc;
		struct ac_msg_log log;
		struct ac_msg_state state;
		struct ac_msg_mem mem;
		struct ac_msg_crash crash;
		struct ac_msg_reply reply;
		struct ac_msg_stats stats;
		struct ac_msg_cmd cmd;
	} u;

	memset(&u, 0, sizeof(u));
	ac_rd_init(&r, p, n);
	switch (k) {
	case 0:
		return ac_hello_decode(&r, &u.hello) == 0 &&
		    memcmp(&u.hello, &M.hello, sizeof(u.hello)) == 0;
	case 1:
		return ac_desc_decode(&r, &u.desc) == 0 &&
		    memcmp(&u.desc, &M.desc, sizeof(u.desc)) == 0;
	case 2:
		return ac_log_decode(&r, &u.log) == 0 &&
		    memcmp(&u.log, &M.log, sizeof(u.log)) == 0;
	case 3:
		return ac_state_decode(&r, &u.state) == 0 &&
		    memcmp(&u.state, &M.state, sizeof(u.state)) == 0;
	case 4:
		return ac_mem_decode(&r, &u.mem) == 0 &&
		    u.mem.req_id == M.mem.req_id && u.mem.kind == M.mem.kind &&
		    u.mem.t_us == M.mem.t_us && u.mem.offset == M.mem.offset &&
		    u.mem.total == M.mem.total && u.mem.start == M.mem.start &&
		    u.mem.len == M.mem.len &&
		    memcmp(u.mem.data, M.memdata, M.mem.len) == 0;
	case 5:
		return ac_crash_decode(&r, &u.crash) == 0 &&
		    memcmp(&u.crash, &M.crash, sizeof(u.crash)) == 0;
	case 6:
		return ac_reply_decode(&r, &u.reply) == 0 &&
		    memcmp(&u.reply, &M.reply, sizeof(u.reply)) == 0;
	case 7:
		return ac_stats_decode(&r, &u.stats) == 0 &&
		    memcmp(&u.stats, &M.stats, sizeof(u.stats)) == 0;
	default:
		return ac_cmd_decode(&r, &u.cmd) == 0 &&
		    memcmp(&u.cmd, &M.cmd[k - 7], sizeof(u.cmd)) == 0;
	}
}

static size_t
make_frame(int k, uint8_t *frame, size_t cap)
{
	uint8_t payload[AC_WIRE_MAX_PAYLOAD];
	size_t len;
	uint8_t type = encode_msg(k, payload, &len);

	return ac_frame_encode(frame, cap, type, 0x01020304u + (uint32_t)k,
	    payload, len);
}

static void
test_round_trip(void)
{
	for (int k = 0; k < N_MSGS; k++) {
		uint8_t frame[AC_FRAME_MAX_ENC], out[AC_FRAME_MAX], type = 0;
		size_t n = make_frame(k, frame, sizeof(frame)), outlen = 0;
		uint8_t payload[AC_WIRE_MAX_PAYLOAD];
		size_t plen;
		uint8_t want = encode_msg(k, payload, &plen);
		int good = deframe_all(frame, n, &type, out, &outlen, NULL);

		CHECK(n > 0 && memchr(frame, 0, n - 1) == NULL &&
		    frame[n - 1] == 0 && good == 1 && type == want &&
		    outlen == plen && decode_matches(k, out, outlen),
		    "round trip of %s%s%s (%zu bytes framed)",
		    ac_msg_name(want), want == AC_MSG_CMD ? " " : "",
		    want == AC_MSG_CMD ? ac_cmd_name(M.cmd[k - 7].cmd) : "", n);
	}
}

static void
test_bit_flips(void)
{
	int frames = 0, fails = 0;
	long flips = 0;

	for (int k = 0; k < N_MSGS; k++) {
		uint8_t frame[AC_FRAME_MAX_ENC + 1];
		size_t n = make_frame(k, frame, sizeof(frame) - 1);

		frame[n] = 0;	/* a later delimiter, so every flip finishes */
		for (size_t bit = 0; bit < n * 8; bit++) {
			frame[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			CHECK_QUIET(deframe_all(frame, n + 1, NULL, NULL, NULL,
			    NULL) == 0, fails, "msg %d bit %zu accepted", k,
			    bit);
			frame[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			flips++;
		}
		frames++;
	}
	CHECK(fails == 0, "all %ld single-bit corruptions of %d frames "
	    "detected", flips, frames);
}

static void
test_truncation(void)
{
	int fails = 0;
	long cases = 0;

	for (int k = 0; k < N_MSGS; k++) {
		uint8_t frame[AC_FRAME_MAX_ENC];
		size_t n = make_frame(k, frame, sizeof(frame));

		for (size_t len = 0; len + 1 < n; len++) {
			uint8_t cut[AC_FRAME_MAX_ENC];

			memcpy(cut, frame, len);
			cut[len] = 0;
			CHECK_QUIET(deframe_all(cut, len + 1, NULL, NULL, NULL,
			    NULL) == 0, fails, "msg %d cut at %zu accepted",
			    k, len);
			cases++;
		}
		/* And a truncated payload handed straight to the decoder. */
		{
			uint8_t payload[AC_WIRE_MAX_PAYLOAD];
			size_t plen;

			(void)encode_msg(k, payload, &plen);
			for (size_t len = 0; len < plen; len++)
				CHECK_QUIET(!decode_matches(k, payload, len),
				    fails, "msg %d payload cut at %zu", k, len);
			CHECK_QUIET(decode_matches(k, payload, plen), fails,
			    "msg %d whole", k);
		}
	}
	CHECK(fails == 0, "all %ld truncated frames and every truncated "
	    "payload refused", cases);
}

static void
test_resync(void)
{
	static uint8_t stream[1 << 16];
	int fails = 0;

	for (int trial = 0; trial < 200; trial++) {
		size_t n = 0, garbage = rnd() % 3000;
		int sent = 0, got;

		for (size_t i = 0; i < garbage; i++)
			stream[n++] = (uint8_t)rnd();
		for (int k = 0; k < 20; k++) {
			uint8_t f[AC_FRAME_MAX_ENC];
			size_t len = make_frame(k % N_MSGS, f, sizeof(f));

			memcpy(stream + n, f, len);
			n += len;
			sent++;
			if (rnd() % 4 == 0) {	/* garbage between frames */
				size_t g = rnd() % 64;

				for (size_t i = 0; i < g; i++)
					stream[n++] = (uint8_t)rnd();
				stream[n++] = 0;
			}
		}
		got = deframe_all(stream, n, NULL, NULL, NULL, NULL);
		/* Garbage without a delimiter may swallow the first frame. */
		CHECK_QUIET(got == sent || got == sent - 1, fails,
		    "trial %d: %d of %d frames", trial, got, sent);
	}
	CHECK(fails == 0, "decoder resynchronises after random garbage "
	    "(200 trials)");
	{
		struct ac_deframer_stats st;
		static uint8_t big[AC_FRAME_MAX_ENC * 3];
		uint8_t f[AC_FRAME_MAX_ENC];
		size_t len, n = 0;

		memset(big, 0x55, AC_FRAME_MAX_ENC * 2);
		n = AC_FRAME_MAX_ENC * 2;
		big[n++] = 0;
		len = make_frame(2, f, sizeof(f));
		memcpy(big + n, f, len);
		n += len;
		CHECK(deframe_all(big, n, NULL, NULL, NULL, &st) == 1 &&
		    st.oversize == 1, "an oversize run is dropped and counted, "
		    "the next frame decodes");
	}
}

static void
test_hostile(void)
{
	uint8_t buf[64];
	struct ac_wr w;
	struct ac_rd r;
	struct ac_msg_desc d;
	struct ac_msg_log lg;
	struct ac_msg_crash cr;
	struct ac_msg_mem mm;
	struct ac_msg_hello h;

	/* A string whose length points far past the payload. */
	ac_wr_init(&w, buf, sizeof(buf));
	ac_wr_varint(&w, 1);
	ac_wr_varint(&w, 2);
	ac_wr_varint(&w, 0);
	ac_wr_u8(&w, AC_LOG_INFO);
	ac_wr_varint(&w, 0);
	ac_wr_varint(&w, 40);
	ac_wr_bytes(&w, "short", 5);
	ac_rd_init(&r, buf, w.len);
	CHECK(ac_log_decode(&r, &lg) == AC_ETRUNC, "string length past the "
	    "end refused: %s", r.err);
	ac_wr_init(&w, buf, sizeof(buf));
	ac_wr_varint(&w, 1);
	ac_wr_varint(&w, 2);
	ac_wr_varint(&w, 0);
	ac_wr_u8(&w, AC_LOG_INFO);
	ac_wr_varint(&w, 0);
	ac_wr_varint(&w, UINT64_MAX);
	ac_rd_init(&r, buf, w.len);
	CHECK(ac_log_decode(&r, &lg) == AC_ERANGE, "2^64-1 string length "
	    "refused: %s", r.err);
	/* Descriptor ranges. */
	ac_wr_init(&w, buf, sizeof(buf));
	ac_wr_varint(&w, 1);
	ac_wr_varint(&w, 64);
	ac_wr_varint(&w, 60);
	ac_wr_varint(&w, 10);
	ac_rd_init(&r, buf, w.len);
	CHECK(ac_desc_decode(&r, &d) == AC_ERANGE, "descriptor slice past "
	    "its set refused: %s", r.err);
	ac_wr_init(&w, buf, sizeof(buf));
	ac_wr_varint(&w, 1);
	ac_wr_varint(&w, 100000);
	ac_wr_varint(&w, 0);
	ac_wr_varint(&w, 1);
	ac_rd_init(&r, buf, w.len);
	CHECK(ac_desc_decode(&r, &d) == AC_ERANGE, "descriptor set larger "
	    "than the layout allows refused");
	/* Backtrace longer than AC_BT_MAX. */
	{
		uint8_t big[512];

		M.crash.bt_count = AC_BT_MAX;
		ac_wr_init(&w, big, sizeof(big));
		(void)ac_crash_encode(&w, &M.crash);
		/* bt_count is the varint just before the 32 words. */
		big[w.len - AC_BT_MAX * 4 - 1] = AC_BT_MAX + 1;
		ac_rd_init(&r, big, w.len);
		CHECK(ac_crash_decode(&r, &cr) == AC_ERANGE, "backtrace of %u "
		    "entries refused: %s", AC_BT_MAX + 1, r.err);
	}
	/* A memory chunk that claims more than its transfer. */
	ac_wr_init(&w, buf, sizeof(buf));
	ac_wr_varint(&w, 1);
	ac_wr_u8(&w, AC_MEM_READ);
	ac_wr_varint(&w, 0);
	ac_wr_varint(&w, 100);
	ac_wr_varint(&w, 10);
	ac_wr_varint(&w, 105);
	ac_wr_varint(&w, 8);
	ac_wr_bytes(&w, "01234567", 8);
	ac_rd_init(&r, buf, w.len);
	CHECK(ac_mem_decode(&r, &mm) == AC_ERANGE, "memory chunk outside "
	    "its transfer refused: %s", r.err);
	/* Trailing bytes. */
	{
		uint8_t p[AC_WIRE_MAX_PAYLOAD];
		size_t n;

		(void)encode_msg(3, p, &n);
		p[n++] = 0;
		ac_rd_init(&r, p, n);
		CHECK(!decode_matches(3, p, n), "trailing bytes refused");
	}
	/* A newer protocol. */
	{
		uint8_t p[AC_WIRE_MAX_PAYLOAD], ver = 0;
		size_t n;

		(void)encode_msg(0, p, &n);
		p[0] = AC_PROTO_VERSION + 1;
		ac_rd_init(&r, p, n);
		CHECK(ac_hello_decode(&r, &h) == AC_EVERSION &&
		    ac_hello_peek_version(p, n, &ver) == 0 &&
		    ver == AC_PROTO_VERSION + 1,
		    "HELLO of protocol %u refused, version readable: %s",
		    AC_PROTO_VERSION + 1, r.err);
		p[0] = AC_PROTO_MIN;
		ac_rd_init(&r, p, n);
		CHECK(ac_hello_decode(&r, &h) == 0 &&
		    h.proto_version == AC_PROTO_MIN,
		    "HELLO of protocol %u, the oldest, still read",
		    AC_PROTO_MIN);
	}
	/* Payload larger than the protocol allows is never framed. */
	{
		static uint8_t p[AC_WIRE_MAX_PAYLOAD + 1];
		static uint8_t f[AC_FRAME_MAX_ENC * 2];

		CHECK(ac_frame_encode(f, sizeof(f), AC_MSG_LOG, 0, p,
		    sizeof(p)) == 0, "oversize payload not framed");
	}
}

/* ---- SAMPLES ---- */

struct collect {
	uint64_t n;
	uint64_t first, last;
	uint64_t t[4096];
	uint32_t v[4096][AC_MAX_COUNTERS];
	uint32_t ncols;
};

static void
collect_cb(void *arg, uint64_t index, uint64_t t_us, const uint32_t *vals,
    uint32_t ncols)
{
	struct collect *c = arg;

	if (c->n == 0)
		c->first = index;
	c->last = index;
	if (c->n < 4096) {
		c->t[c->n] = t_us;
		memcpy(c->v[c->n], vals, ncols * 4);
	}
	c->ncols = ncols;
	c->n++;
}

static struct collect C;
static uint32_t truth[4096][AC_MAX_COUNTERS];
static uint64_t truth_t[4096];

/* Generates nsamples of a workload mixing steady counters, noisy gauges,
 * rare events and full-range random words. */
static void
gen_truth(int nsamples, uint32_t ncols, int mode)
{
	for (int s = 0; s < nsamples; s++) {
		truth_t[s] = 1000000ull + (uint64_t)s * 1000 + (rnd() % 50);
		for (uint32_t i = 0; i < ncols; i++) {
			uint32_t prev = s > 0 ? truth[s - 1][i] : rnd();

			switch (mode == 3 ? 3 : (int)(i % 4)) {
			case 0: truth[s][i] = prev + 48; break;
			case 1: truth[s][i] = prev + rnd() % 7 - 3; break;
			case 2: truth[s][i] = prev + (rnd() % 500 == 0); break;
			default: truth[s][i] = rnd() ^ (rnd() << 16); break;
			}
		}
	}
}

static size_t
encode_samples(int nsamples, uint32_t ncols, uint8_t frames[][AC_WIRE_MAX_PAYLOAD],
    size_t *lens, size_t maxframes)
{
	static struct ac_samples_enc e;
	uint8_t rate[(AC_MAX_COUNTERS + 7) / 8] = { 0 };
	size_t nf = 0;

	memset(&e, 0, sizeof(e));
	for (uint32_t i = 0; i < ncols; i += 4)
		rate[i >> 3] |= (uint8_t)(1u << (i & 7));
	for (int s = 0; s < nsamples && nf < maxframes;) {
		if (e.n == 0)
			ac_samples_begin(&e, nf % 8 == 0, (uint64_t)s, ncols,
			    1000, rate);
		int rc = ac_samples_add(&e, truth_t[s], truth[s]);

		if (rc == 0)
			s++;
		if (rc == 0 && e.n < 17 && s < nsamples)
			continue;
		memcpy(frames[nf], e.buf, e.w.len);
		lens[nf++] = e.w.len;
		e.n = 0;
	}
	return nf;
}

static void
test_samples(void)
{
	static uint8_t frames[2048][AC_WIRE_MAX_PAYLOAD];
	static size_t lens[2048];
	static struct ac_samples_dec dec;
	const uint32_t cols[] = { 1, 7, 8, 9, 64, 128 };

	for (int mode = 0; mode < 4; mode += 3)
		for (size_t ci = 0; ci < sizeof(cols) / sizeof(cols[0]); ci++) {
			uint32_t ncols = cols[ci];
			int ns = 2000, bad = 0;
			size_t nf, bytes = 0;

			gen_truth(ns, ncols, mode);
			nf = encode_samples(ns, ncols, frames, lens, 2048);
			memset(&C, 0, sizeof(C));
			ac_samples_dec_init(&dec);
			for (size_t f = 0; f < nf; f++) {
				CHECK_QUIET(ac_samples_decode(&dec, frames[f],
				    lens[f], collect_cb, &C) == 0, bad,
				    "frame %zu", f);
				bytes += lens[f];
			}
			for (int s = 0; s < ns && s < (int)C.n; s++)
				CHECK_QUIET(C.t[s] == truth_t[s] &&
				    memcmp(C.v[s], truth[s], ncols * 4) == 0,
				    bad, "sample %d differs", s);
			CHECK(bad == 0 && C.n == (uint64_t)ns && C.first == 0,
			    "samples round trip: %u columns, %s values, %zu "
			    "frames, %.2f bytes per counter-sample", ncols,
			    mode == 3 ? "random 32-bit" : "mixed", nf,
			    (double)bytes / ((double)ns * ncols));
		}

	/* A lost delta frame: ENOREF until the next key frame, then exact. */
	{
		uint32_t ncols = 64;
		size_t nf;
		int rc, bad = 0, norefs = 0;

		gen_truth(2000, ncols, 0);
		nf = encode_samples(2000, ncols, frames, lens, 2048);
		memset(&C, 0, sizeof(C));
		ac_samples_dec_init(&dec);
		for (size_t f = 0; f < nf; f++) {
			if (f == 3)
				continue;	/* lost on the wire */
			rc = ac_samples_decode(&dec, frames[f], lens[f],
			    collect_cb, &C);
			if (rc == AC_ENOREF)
				norefs++;
			else
				CHECK_QUIET(rc == 0, bad, "frame %zu rc %d", f,
				    rc);
		}
		CHECK(bad == 0 && norefs == 4,
		    "after a lost frame the decoder refuses %d delta frames "
		    "and recovers at the key frame", norefs);
		CHECK(C.last == 1999 && C.v[C.n - 1][0] == truth[1999][0] &&
		    memcmp(C.v[C.n - 1], truth[1999], ncols * 4) == 0,
		    "values after recovery are exact");
	}

	/* Malformed frames change nothing and emit nothing. */
	{
		uint8_t p[AC_WIRE_MAX_PAYLOAD];
		size_t n;
		struct ac_samples_dec before;
		int bad = 0;

		gen_truth(20, 16, 0);
		(void)encode_samples(20, 16, frames, lens, 1);
		memcpy(p, frames[0], lens[0]);
		n = lens[0];
		ac_samples_dec_init(&dec);
		for (size_t cut = 1; cut < n; cut++) {
			uint64_t before_n = C.n;
			int rc;

			before = dec;
			rc = ac_samples_decode(&dec, p, cut, collect_cb, &C);
			/* A cut on a sample boundary is a valid shorter frame. */
			if (rc == 0) {
				ac_samples_dec_init(&dec);
				continue;
			}
			CHECK_QUIET(C.n == before_n &&
			    memcmp(&dec.s, &before.s, sizeof(dec.s)) == 0, bad,
			    "cut %zu changed state", cut);
		}
		CHECK(bad == 0, "truncated SAMPLES frames leave the decoder "
		    "untouched");
		p[0] = 0x80 | AC_SAMPLES_KEY;
		CHECK(ac_samples_decode(&dec, p, n, collect_cb, &C) ==
		    AC_EBADMSG, "unknown SAMPLES flags refused");
	}
	{
		uint8_t p[16];
		struct ac_wr w;

		ac_wr_init(&w, p, sizeof(p));
		ac_wr_u8(&w, AC_SAMPLES_KEY);
		ac_wr_varint(&w, 0);
		ac_wr_varint(&w, AC_MAX_COUNTERS + 1);
		ac_wr_varint(&w, 1000);
		ac_samples_dec_init(&dec);
		CHECK(ac_samples_decode(&dec, p, w.len, NULL, NULL) ==
		    AC_ERANGE, "more columns than the layout allows refused");
	}
}

int
main(void)
{
	make_msgs();
	test_crc();
	test_varint();
	test_round_trip();
	test_bit_flips();
	test_truncation();
	test_resync();
	test_hostile();
	test_samples();
	return check_done();
}
