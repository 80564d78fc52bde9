/*
 * The appcore wire protocol: one implementation for agent and daemon.
 * docs/protocol.md describes every byte; docs/security.md the invariants
 * the fuzz target checks.
 */
#include <string.h>

#include "appcore/wire.h"
#include "wire_internal.h"


static const uint32_t crc32c_table[256] = {
	0x00000000u, 0xf26b8303u, 0xe13b70f7u, 0x1350f3f4u,
	0xc79a971fu, 0x35f1141cu, 0x26a1e7e8u, 0xd4ca64ebu,
	0x8ad958cfu, 0x78b2dbccu, 0x6be22838u, 0x9989ab3bu,
	0x4d43cfd0u, 0xbf284cd3u, 0xac78bf27u, 0x5e133c24u,
	0x105ec76fu, 0xe235446cu, 0xf165b798u, 0x030e349bu,
	0xd7c45070u, 0x25afd373u, 0x36ff2087u, 0xc494a384u,
	0x9a879fa0u, 0x68ec1ca3u, 0x7bbcef57u, 0x89d76c54u,
	0x5d1d08bfu, 0xaf768bbcu, 0xbc267848u, 0x4e4dfb4bu,
	0x20bd8edeu, 0xd2d60dddu, 0xc186fe29u, 0x33ed7d2au,
	0xe72719c1u, 0x154c9ac2u, 0x061c6936u, 0xf477ea35u,
	0xaa64d611u, 0x580f5512u, 0x4b5fa6e6u, 0xb93425e5u,
	0x6dfe410eu, 0x9f95c20du, 0x8cc531f9u, 0x7eaeb2fau,
	0x30e349b1u, 0xc288cab2u, 0xd1d83946u, 0x23b3ba45u,
	0xf779deaeu, 0x05125dadu, 0x1642ae59u, 0xe4292d5au,
	0xba3a117eu, 0x4851927du, 0x5b016189u, 0xa96ae28au,
	0x7da08661u, 0x8fcb0562u, 0x9c9bf696u, 0x6ef07595u,
	0x417b1dbcu, 0xb3109ebfu, 0xa0406d4bu, 0x522bee48u,
	0x86e18aa3u, 0x748a09a0u, 0x67dafa54u, 0x95b17957u,
	0xcba24573u, 0x39c9c670u, 0x2a993584u, 0xd8f2b687u,
	0x0c38d26cu, 0xfe53516fu, 0xed03a29bu, 0x1f682198u,
	0x5125dad3u, 0xa34e59d0u, 0xb01eaa24u, 0x42752927u,
	0x96bf4dccu, 0x64d4cecfu, 0x77843d3bu, 0x85efbe38u,
	0xdbfc821cu, 0x2997011fu, 0x3ac7f2ebu, 0xc8ac71e8u,
	0x1c661503u, 0xee0d9600u, 0xfd5d65f4u, 0x0f36e6f7u,
	0x61c69362u, 0x93ad1061u, 0x80fde395u, 0x72966096u,
	0xa65c047du, 0x5437877eu, 0x4767748au, 0xb50cf789u,
	0xeb1fcbadu, 0x197448aeu, 0x0a24bb5au, 0xf84f3859u,
	0x2c855cb2u, 0xdeeedfb1u, 0xcdbe2c45u, 0x3fd5af46u,
	0x7198540du, 0x83f3d70eu, 0x90a324fau, 0x62c8a7f9u,
	0xb602c312u, 0x44694011u, 0x5739b3e5u, 0xa55230e6u,
	0xfb410cc2u, 0x092a8fc1u, 0x1a7a7c35u, 0xe811ff36u,
	0x3cdb9bddu, 0xceb018deu, 0xdde0eb2au, 0x2f8b6829u,
	0x82f63b78u, 0x709db87bu, 0x63cd4b8fu, 0x91a6c88cu,
	0x456cac67u, 0xb7072f64u, 0xa457dc90u, 0x563c5f93u,
	0x082f63b7u, 0xfa44e0b4u, 0xe9141340u, 0x1b7f9043u,
	0xcfb5f4a8u, 0x3dde77abu, 0x2e8e845fu, 0xdce5075cu,
	0x92a8fc17u, 0x60c37f14u, 0x73938ce0u, 0x81f80fe3u,
	0x55326b08u, 0xa759e80bu, 0xb4091bffu, 0x466298fcu,
	0x1871a4d8u, 0xea1a27dbu, 0xf94ad42fu, 0x0b21572cu,
	0xdfeb33c7u, 0x2d80b0c4u, 0x3ed04330u, 0xccbbc033u,
	0xa24bb5a6u, 0x502036a5u, 0x4370c551u, 0xb11b4652u,
	0x65d122b9u, 0x97baa1bau, 0x84ea524eu, 0x7681d14du,
	0x2892ed69u, 0xdaf96e6au, 0xc9a99d9eu, 0x3bc21e9du,
	0xef087a76u, 0x1d63f975u, 0x0e330a81u, 0xfc588982u,
	0xb21572c9u, 0x407ef1cau, 0x532e023eu, 0xa145813du,
	0x758fe5d6u, 0x87e466d5u, 0x94b49521u, 0x66df1622u,
	0x38cc2a06u, 0xcaa7a905u, 0xd9f75af1u, 0x2b9cd9f2u,
	0xff56bd19u, 0x0d3d3e1au, 0x1e6dcdeeu, 0xec064eedu,
	0xc38d26c4u, 0x31e6a5c7u, 0x22b65633u, 0xd0ddd530u,
	0x0417b1dbu, 0xf67c32d8u, 0xe52cc12cu, 0x1747422fu,
	0x49547e0bu, 0xbb3ffd08u, 0xa86f0efcu, 0x5a048dffu,
	0x8ecee914u, 0x7ca56a17u, 0x6ff599e3u, 0x9d9e1ae0u,
	0xd3d3e1abu, 0x21b862a8u, 0x32e8915cu, 0xc083125fu,
	0x144976b4u, 0xe622f5b7u, 0xf5720643u, 0x07198540u,
	0x590ab964u, 0xab613a67u, 0xb831c993u, 0x4a5a4a90u,
	0x9e902e7bu, 0x6cfbad78u, 0x7fab5e8cu, 0x8dc0dd8fu,
	0xe330a81au, 0x115b2b19u, 0x020bd8edu, 0xf0605beeu,
	0x24aa3f05u, 0xd6c1bc06u, 0xc5914ff2u, 0x37faccf1u,
	0x69e9f0d5u, 0x9b8273d6u, 0x88d28022u, 0x7ab90321u,
	0xae7367cau, 0x5c18e4c9u, 0x4f48173du, 0xbd23943eu,
	0xf36e6f75u, 0x0105ec76u, 0x12551f82u, 0xe03e9c81u,
	0x34f4f86au, 0xc69f7b69u, 0xd5cf889du, 0x27a40b9eu,
	0x79b737bau, 0x8bdcb4b9u, 0x988c474du, 0x6ae7c44eu,
	0xbe2da0a5u, 0x4c4623a6u, 0x5f16d052u, 0xad7d5351u,
};

uint32_t
ac_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

const char *
ac_strerror(int err)
{
	switch (err) {
	case AC_OK:		return "ok";
	case AC_EOVERFLOW:	return "does not fit";
	case AC_ETRUNC:		return "truncated";
	case AC_EBADMSG:	return "malformed";
	case AC_ECRC:		return "CRC mismatch";
	case AC_ERANGE:		return "value out of range";
	case AC_ENOREF:		return "delta frame without reference";
	case AC_EVERSION:	return "unsupported protocol version";
	default:		return "unknown error";
	}
}

const char *
ac_msg_name(unsigned type)
{
	switch (type) {
	case AC_MSG_HELLO:	return "HELLO";
	case AC_MSG_DESC:	return "DESC";
	case AC_MSG_SAMPLES:	return "SAMPLES";
	case AC_MSG_LOG:	return "LOG";
	case AC_MSG_STATE:	return "STATE";
	case AC_MSG_MEM:	return "MEM";
	case AC_MSG_CRASH:	return "CRASH";
	case AC_MSG_REPLY:	return "REPLY";
	case AC_MSG_STATS:	return "STATS";
	case AC_MSG_DUMP_INFO:	return "DUMP_INFO";
	case AC_MSG_DUMP_DATA:	return "DUMP_DATA";
	case AC_MSG_SAMPLES_REF: return "SAMPLES_REF";
	case AC_MSG_IMAGE_STATUS: return "IMAGE_STATUS";
	case AC_MSG_RTT:	return "RTT";
	case AC_MSG_CMD:	return "CMD";
	case AC_MSG_IMAGE_OFFER: return "IMAGE_OFFER";
	case AC_MSG_IMAGE_DATA:	return "IMAGE_DATA";
	default:		return "unknown";
	}
}

const char *
ac_cmd_name(unsigned cmd)
{
	static const char *const names[AC_CMD_COUNT] = {
		[AC_CMD_PING] = "ping", [AC_CMD_HELLO] = "hello",
		[AC_CMD_SET_RATE] = "set-rate", [AC_CMD_READ_MEM] = "read-mem",
		[AC_CMD_SNAPSHOT] = "snapshot",
		[AC_CMD_RESTART_CORE1] = "restart-core1",
		[AC_CMD_DUMP_ACK] = "dump-ack",
		[AC_CMD_SET_RESTART] = "set-restart",
		[AC_CMD_SAMPLES_REF] = "samples-ref",
		[AC_CMD_IMAGE_STATUS] = "image-status",
		[AC_CMD_IMAGE_ACTIVATE] = "image-activate",
		[AC_CMD_IMAGE_ABORT] = "image-abort",
	};

	return cmd < AC_CMD_COUNT && names[cmd] ? names[cmd] : "unknown";
}

const char *
ac_status_name(unsigned status)
{
	static const char *const names[] = {
		"ok", "bad-request", "unknown-command", "out-of-range",
		"busy", "unsupported", "failed",
	};
	_Static_assert(sizeof(names) / sizeof(names[0]) == AC_ST_COUNT,
	    "status names");

	return status < AC_ST_COUNT ? names[status] : "unknown";
}

const char *
ac_state_name(unsigned state)
{
	static const char *const names[] = {
		"off", "booting", "running", "panicked", "hung", "stopped",
		"corrupt",
	};
	_Static_assert(sizeof(names) / sizeof(names[0]) == AC_STATE_COUNT,
	    "state names");

	return state < AC_STATE_COUNT ? names[state] : "unknown";
}

const char *
ac_panic_reason_name(unsigned reason)
{
	static const char *const names[] = {
		"none", "explicit", "assert", "exception", "stack-overflow",
		"hang",
	};
	_Static_assert(sizeof(names) / sizeof(names[0]) == AC_PANIC_COUNT,
	    "panic reason names");

	return reason < AC_PANIC_COUNT ? names[reason] : "unknown";
}

/* ---- bounded reader ---- */

int
ac_rd_u8(struct ac_rd *r, uint8_t *v)
{
	if (r->left < 1)
		RD_FAIL(r, AC_ETRUNC, "truncated u8");
	*v = *r->p++;
	r->left--;
	return 0;
}

int
ac_rd_u32(struct ac_rd *r, uint32_t *v)
{
	if (r->left < 4)
		RD_FAIL(r, AC_ETRUNC, "truncated u32");
	*v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 |
	    (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
	r->p += 4;
	r->left -= 4;
	return 0;
}

int
ac_rd_u64(struct ac_rd *r, uint64_t *v)
{
	uint32_t lo, hi;

	TRY(ac_rd_u32(r, &lo));
	TRY(ac_rd_u32(r, &hi));
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int
ac_rd_varint(struct ac_rd *r, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned i = 0; i < 10; i++) {
		uint8_t b;

		if (r->left < 1)
			RD_FAIL(r, AC_ETRUNC, "truncated varint");
		b = *r->p++;
		r->left--;
		if (i == 9 && b > 1)
			RD_FAIL(r, AC_EBADMSG, "varint overflow");
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if ((b & 0x80) == 0) {
			if (b == 0 && i > 0)
				RD_FAIL(r, AC_EBADMSG, "varint not minimal");
			*v = x;
			return 0;
		}
	}
	RD_FAIL(r, AC_EBADMSG, "varint too long");
}

int
ac_rd_varint32(struct ac_rd *r, uint32_t *v)
{
	uint64_t x;

	TRY(ac_rd_varint(r, &x));
	if (x > UINT32_MAX)
		RD_FAIL(r, AC_ERANGE, "varint exceeds 32 bits");
	*v = (uint32_t)x;
	return 0;
}

int
ac_rd_svarint32(struct ac_rd *r, int32_t *v)
{
	uint32_t z;

	TRY(ac_rd_varint32(r, &z));
	*v = (int32_t)(z >> 1) ^ -(int32_t)(z & 1);
	return 0;
}

int
ac_rd_bytes(struct ac_rd *r, void *dst, size_t n)
{
	if (r->left < n)
		RD_FAIL(r, AC_ETRUNC, "truncated bytes");
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
	return 0;
}

int
ac_rd_str(struct ac_rd *r, char *dst, size_t cap)
{
	uint64_t len;

	TRY(ac_rd_varint(r, &len));
	if (len >= cap)
		RD_FAIL(r, AC_ERANGE, "string too long");
	if (r->left < len)
		RD_FAIL(r, AC_ETRUNC, "truncated string");
	if (memchr(r->p, 0, (size_t)len) != NULL)
		RD_FAIL(r, AC_EBADMSG, "NUL inside string");
	memcpy(dst, r->p, (size_t)len);
	dst[len] = '\0';
	r->p += len;
	r->left -= (size_t)len;
	return 0;
}

int
ac_rd_end(struct ac_rd *r)
{
	if (r->left != 0)
		RD_FAIL(r, AC_EBADMSG, "trailing bytes");
	return 0;
}

/* ---- bounded writer: overflow is sticky, checked once at the end ---- */

void
ac_wr_u8(struct ac_wr *w, uint8_t v)
{
	if (w->len >= w->cap) {
		w->overflow = true;
		return;
	}
	w->p[w->len++] = v;
}

void
ac_wr_u32(struct ac_wr *w, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		ac_wr_u8(w, (uint8_t)(v >> (8 * i)));
}

void
ac_wr_u64(struct ac_wr *w, uint64_t v)
{
	ac_wr_u32(w, (uint32_t)v);
	ac_wr_u32(w, (uint32_t)(v >> 32));
}

void
ac_wr_varint(struct ac_wr *w, uint64_t v)
{
	while (v >= 0x80) {
		ac_wr_u8(w, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	ac_wr_u8(w, (uint8_t)v);
}

void
ac_wr_svarint32(struct ac_wr *w, int32_t v)
{
	ac_wr_varint(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void
ac_wr_bytes(struct ac_wr *w, const void *src, size_t n)
{
	if (n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

void
ac_wr_str(struct ac_wr *w, const char *s, size_t maxlen)
{
	size_t n = 0;

	while (n < maxlen && s[n] != '\0')
		n++;
	ac_wr_varint(w, n);
	ac_wr_bytes(w, s, n);
}

/* ---- framing ---- */

struct cobs_enc {
	uint8_t *out;
	size_t cap, w, code_pos;
	uint8_t code;
	bool overflow;
};

static void
cobs_put(struct cobs_enc *c, uint8_t b)
{
	if (c->overflow)
		return;
	if (b != 0) {
		if (c->w >= c->cap) {
			c->overflow = true;
			return;
		}
		c->out[c->w++] = b;
		if (++c->code != 0xff)
			return;
	}
	c->out[c->code_pos] = c->code;
	if (c->w >= c->cap) {
		c->overflow = true;
		return;
	}
	c->code_pos = c->w++;
	c->code = 1;
}

static void
cobs_put_buf(struct cobs_enc *c, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < n; i++)
		cobs_put(c, p[i]);
}

uint32_t
ac_boot_seed(uint64_t boot_id)
{
	uint8_t le[8];

	for (unsigned i = 0; i < 8; i++)
		le[i] = (uint8_t)(boot_id >> (8 * i));
	return ac_crc32c(0, le, sizeof(le));
}

size_t
ac_frame_encode_seeded(uint8_t *out, size_t cap, uint8_t type, uint32_t seq,
    const void *payload, size_t len, uint32_t seed)
{
	struct cobs_enc c = { out, cap, 1, 0, 1, false };
	uint8_t hdr[AC_FRAME_HDR], tail[AC_FRAME_CRC];
	uint32_t crc;

	if (cap < 2 || len > AC_WIRE_MAX_PAYLOAD || (len > 0 && !payload))
		return 0;
	hdr[0] = type;
	for (unsigned i = 0; i < 4; i++)
		hdr[1 + i] = (uint8_t)(seq >> (8 * i));
	crc = ac_crc32c(type == AC_MSG_HELLO ? 0 : seed, hdr, sizeof(hdr));
	crc = ac_crc32c(crc, payload, len);
	for (unsigned i = 0; i < 4; i++)
		tail[i] = (uint8_t)(crc >> (8 * i));
	cobs_put_buf(&c, hdr, sizeof(hdr));
	cobs_put_buf(&c, payload, len);
	cobs_put_buf(&c, tail, sizeof(tail));
	if (c.overflow || c.w >= c.cap)
		return 0;
	out[c.code_pos] = c.code;
	out[c.w++] = 0;
	return c.w;
}

size_t
ac_frame_encode(uint8_t *out, size_t cap, uint8_t type, uint32_t seq,
    const void *payload, size_t len)
{
	return ac_frame_encode_seeded(out, cap, type, seq, payload, len, 0);
}

uint32_t
ac_frame_crc(const struct ac_frame *f, uint32_t seed)
{
	return ac_crc32c(f->type == AC_MSG_HELLO ? 0 : seed,
	    f->payload - AC_FRAME_HDR, f->len + AC_FRAME_HDR);
}

/* In place: the decoded bytes never overtake the encoded ones. */
static int
cobs_decode(uint8_t *buf, size_t len, size_t *outlen)
{
	size_t r = 0, w = 0;

	while (r < len) {
		uint8_t code = buf[r++];
		size_t run = (size_t)code - 1;

		if (code == 0 || run > len - r)
			return AC_EBADMSG;
		memmove(buf + w, buf + r, run);
		w += run;
		r += run;
		if (code != 0xff && r < len)
			buf[w++] = 0;
	}
	*outlen = w;
	return 0;
}

void
ac_deframer_init(struct ac_deframer *d)
{
	memset(d, 0, sizeof(*d));
}

void
ac_deframer_set_seed(struct ac_deframer *d, uint32_t seed)
{
	d->seed = seed;
}

static int
deframer_finish(struct ac_deframer *d, struct ac_frame *f)
{
	size_t enc = d->len, n;
	uint32_t crc, got;
	const uint8_t *b = d->buf;

	d->len = 0;
	if (cobs_decode(d->buf, enc, &n) < 0 ||
	    n < AC_FRAME_HDR + AC_FRAME_CRC) {
		d->st.cobs_errors++;
		d->st.discarded += enc + 1;
		return AC_EBADMSG;
	}
	if (n > AC_FRAME_MAX) {
		d->st.oversize++;
		d->st.discarded += enc + 1;
		return AC_EOVERFLOW;
	}
	got = (uint32_t)b[n - 4] | (uint32_t)b[n - 3] << 8 |
	    (uint32_t)b[n - 2] << 16 | (uint32_t)b[n - 1] << 24;
	f->type = b[0];
	f->seq = (uint32_t)b[1] | (uint32_t)b[2] << 8 |
	    (uint32_t)b[3] << 16 | (uint32_t)b[4] << 24;
	f->payload = b + AC_FRAME_HDR;
	f->len = n - AC_FRAME_HDR - AC_FRAME_CRC;
	f->crc = got;
	crc = ac_frame_crc(f, d->seed);
	if (crc != got) {
		d->st.crc_errors++;
		d->st.discarded += enc + 1;
		return AC_ECRC;
	}
	d->st.frames++;
	return 1;
}

size_t
ac_deframer_feed(struct ac_deframer *d, const uint8_t *in, size_t n,
    struct ac_frame *f, int *res)
{
	size_t i = 0;

	*res = 0;
	while (i < n) {
		const uint8_t *z = memchr(in + i, 0, n - i);
		size_t run = (z != NULL ? (size_t)(z - in) : n) - i;

		if (!d->skipping && run > sizeof(d->buf) - d->len) {
			d->st.oversize++;
			d->st.discarded += d->len;
			d->len = 0;
			d->skipping = true;
		}
		if (d->skipping)
			d->st.discarded += run;
		else {
			memcpy(d->buf + d->len, in + i, run);
			d->len += run;
		}
		i += run;
		if (z == NULL)
			break;
		i++;			/* the delimiter */
		if (d->skipping) {
			d->skipping = false;
			d->st.discarded++;
			*res = AC_EOVERFLOW;
			break;
		}
		if (d->len == 0)
			continue;	/* idle delimiters are allowed */
		*res = deframer_finish(d, f);
		break;
	}
	d->st.bytes += i;
	return i;
}

/* ---- messages ---- */

int
ac_hello_encode(struct ac_wr *w, const struct ac_msg_hello *m)
{
	ac_wr_u8(w, m->proto_version);
	ac_wr_varint(w, m->layout_version);
	ac_wr_str(w, m->agent_version, AC_VERSION_MAX - 1);
	ac_wr_varint(w, m->device_id_len);
	ac_wr_bytes(w, m->device_id,
	    m->device_id_len <= AC_DEVICE_ID_MAX ? m->device_id_len : 0);
	ac_wr_u64(w, m->boot_id);
	ac_wr_bytes(w, m->image_hash, sizeof(m->image_hash));
	ac_wr_u32(w, m->region_base);
	ac_wr_u32(w, m->region_size);
	ac_wr_varint(w, m->rate_hz);
	ac_wr_varint(w, m->max_counters);
	ac_wr_varint(w, m->counters_used);
	ac_wr_varint(w, m->desc_gen);
	ac_wr_varint(w, m->uptime_us);
	ac_wr_u8(w, m->core1_state);
	ac_wr_varint(w, m->generation);
	return wr_done(w);
}

int
ac_hello_peek_version(const uint8_t *payload, size_t len, uint8_t *ver)
{
	if (len < 1)
		return AC_ETRUNC;
	*ver = payload[0];
	return 0;
}

int
ac_hello_decode(struct ac_rd *r, struct ac_msg_hello *m)
{
	uint32_t idlen;

	memset(m, 0, sizeof(*m));
	TRY(ac_rd_u8(r, &m->proto_version));
	if (m->proto_version < AC_PROTO_MIN ||
	    m->proto_version > AC_PROTO_VERSION)
		RD_FAIL(r, AC_EVERSION, "unsupported protocol version");
	TRY(ac_rd_varint32(r, &m->layout_version));
	TRY(ac_rd_str(r, m->agent_version, sizeof(m->agent_version)));
	TRY(ac_rd_varint32(r, &idlen));
	if (idlen < 1 || idlen > AC_DEVICE_ID_MAX)
		RD_FAIL(r, AC_ERANGE, "device id length");
	m->device_id_len = (uint8_t)idlen;
	TRY(ac_rd_bytes(r, m->device_id, idlen));
	TRY(ac_rd_u64(r, &m->boot_id));
	TRY(ac_rd_bytes(r, m->image_hash, sizeof(m->image_hash)));
	TRY(ac_rd_u32(r, &m->region_base));
	TRY(ac_rd_u32(r, &m->region_size));
	TRY(ac_rd_varint32(r, &m->rate_hz));
	TRY(ac_rd_varint32(r, &m->max_counters));
	TRY(ac_rd_varint32(r, &m->counters_used));
	TRY(ac_rd_varint32(r, &m->desc_gen));
	TRY(ac_rd_varint(r, &m->uptime_us));
	TRY(ac_rd_u8(r, &m->core1_state));
	TRY(ac_rd_varint32(r, &m->generation));
	if (m->rate_hz < AC_RATE_MIN || m->rate_hz > AC_RATE_MAX)
		RD_FAIL(r, AC_ERANGE, "sample rate");
	if (m->max_counters > AC_MAX_COUNTERS ||
	    m->counters_used > m->max_counters)
		RD_FAIL(r, AC_ERANGE, "counter count");
	if (m->core1_state >= AC_STATE_COUNT)
		RD_FAIL(r, AC_ERANGE, "core-1 state");
	return ac_rd_end(r);
}

int
ac_desc_encode(struct ac_wr *w, const struct ac_msg_desc *m)
{
	if (m->count > AC_DESC_PER_FRAME)
		return AC_ERANGE;
	ac_wr_varint(w, m->desc_gen);
	ac_wr_varint(w, m->total);
	ac_wr_varint(w, m->first);
	ac_wr_varint(w, m->count);
	for (uint32_t i = 0; i < m->count; i++) {
		ac_wr_u8(w, m->c[i].kind);
		ac_wr_u8(w, m->c[i].flags);
		ac_wr_str(w, m->c[i].name, AC_NAME_LEN - 1);
		ac_wr_str(w, m->c[i].unit, AC_UNIT_LEN - 1);
	}
	return wr_done(w);
}

int
ac_desc_decode(struct ac_rd *r, struct ac_msg_desc *m)
{
	memset(m, 0, sizeof(*m));
	TRY(ac_rd_varint32(r, &m->desc_gen));
	TRY(ac_rd_varint32(r, &m->total));
	TRY(ac_rd_varint32(r, &m->first));
	TRY(ac_rd_varint32(r, &m->count));
	if (m->total > AC_MAX_COUNTERS || m->count < 1 ||
	    m->count > AC_DESC_PER_FRAME || m->first >= m->total ||
	    m->count > m->total - m->first)
		RD_FAIL(r, AC_ERANGE, "descriptor range");
	for (uint32_t i = 0; i < m->count; i++) {
		TRY(ac_rd_u8(r, &m->c[i].kind));
		if (m->c[i].kind >= AC_KIND_COUNT)
			RD_FAIL(r, AC_ERANGE, "counter kind");
		TRY(ac_rd_u8(r, &m->c[i].flags));
		if (m->c[i].flags & ~AC_FLAGS_KNOWN)
			RD_FAIL(r, AC_ERANGE, "counter flags");
		TRY(ac_rd_str(r, m->c[i].name, sizeof(m->c[i].name)));
		TRY(ac_rd_str(r, m->c[i].unit, sizeof(m->c[i].unit)));
	}
	return ac_rd_end(r);
}

int
ac_log_encode(struct ac_wr *w, const struct ac_msg_log *m)
{
	ac_wr_varint(w, m->t_us);
	ac_wr_varint(w, m->record);
	ac_wr_varint(w, m->lost_before);
	ac_wr_u8(w, m->level);
	ac_wr_varint(w, m->stamp);
	ac_wr_str(w, m->text, AC_LOG_TEXT_LEN);
	return wr_done(w);
}

int
ac_log_decode(struct ac_rd *r, struct ac_msg_log *m)
{
	memset(m, 0, sizeof(*m));
	TRY(ac_rd_varint(r, &m->t_us));
	TRY(ac_rd_varint32(r, &m->record));
	TRY(ac_rd_varint32(r, &m->lost_before));
	TRY(ac_rd_u8(r, &m->level));
	if (m->level < AC_LOG_ERROR || m->level > AC_LOG_DEBUG)
		RD_FAIL(r, AC_ERANGE, "log level");
	TRY(ac_rd_varint32(r, &m->stamp));
	TRY(ac_rd_str(r, m->text, sizeof(m->text)));
	return ac_rd_end(r);
}

int
ac_state_encode(struct ac_wr *w, const struct ac_msg_state *m)
{
	ac_wr_varint(w, m->t_us);
	ac_wr_u8(w, m->state);
	ac_wr_u8(w, m->prev);
	ac_wr_varint(w, m->generation);
	ac_wr_varint(w, m->heartbeat);
	ac_wr_varint(w, m->detail);
	return wr_done(w);
}

int
ac_state_decode(struct ac_rd *r, struct ac_msg_state *m)
{
	memset(m, 0, sizeof(*m));
	TRY(ac_rd_varint(r, &m->t_us));
	TRY(ac_rd_u8(r, &m->state));
	TRY(ac_rd_u8(r, &m->prev));
	if (m->state >= AC_STATE_COUNT || m->prev >= AC_STATE_COUNT)
		RD_FAIL(r, AC_ERANGE, "core-1 state");
	TRY(ac_rd_varint32(r, &m->generation));
	TRY(ac_rd_varint32(r, &m->heartbeat));
	TRY(ac_rd_varint32(r, &m->detail));
	return ac_rd_end(r);
}

int
ac_mem_encode(struct ac_wr *w, const struct ac_msg_mem *m)
{
	if (m->len > AC_MEM_CHUNK)
		return AC_ERANGE;
	ac_wr_varint(w, m->req_id);
	ac_wr_u8(w, m->kind);
	ac_wr_varint(w, m->t_us);
	ac_wr_varint(w, m->start);
	ac_wr_varint(w, m->total);
	ac_wr_varint(w, m->offset);
	ac_wr_varint(w, m->len);
	ac_wr_bytes(w, m->data, m->len);
	return wr_done(w);
}

int
ac_mem_decode(struct ac_rd *r, struct ac_msg_mem *m)
{
	memset(m, 0, sizeof(*m));
	TRY(ac_rd_varint32(r, &m->req_id));
	TRY(ac_rd_u8(r, &m->kind));
	if (m->kind > AC_MEM_SNAPSHOT)
		RD_FAIL(r, AC_ERANGE, "memory transfer kind");
	TRY(ac_rd_varint(r, &m->t_us));
	TRY(ac_rd_varint32(r, &m->start));
	TRY(ac_rd_varint32(r, &m->total));
	TRY(ac_rd_varint32(r, &m->offset));
	TRY(ac_rd_varint32(r, &m->len));
	if (m->total > AC_MEM_READ_MAX || m->len > AC_MEM_CHUNK ||
	    m->offset < m->start ||
	    (uint64_t)m->offset + m->len > (uint64_t)m->start + m->total)
		RD_FAIL(r, AC_ERANGE, "memory chunk outside its transfer");
	if (r->left < m->len)
		RD_FAIL(r, AC_ETRUNC, "truncated memory chunk");
	m->data = r->p;
	r->p += m->len;
	r->left -= m->len;
	return ac_rd_end(r);
}

int
ac_crash_encode(struct ac_wr *w, const struct ac_msg_crash *m)
{
	uint32_t nbt = m->bt_count <= AC_BT_MAX ? m->bt_count : AC_BT_MAX;

	ac_wr_varint(w, m->t_us);
	ac_wr_varint(w, m->generation);
	ac_wr_varint(w, m->reason);
	ac_wr_u32(w, m->pc);
	ac_wr_u32(w, m->sp);
	ac_wr_u32(w, m->ps);
	ac_wr_u32(w, m->exccause);
	ac_wr_u32(w, m->excvaddr);
	ac_wr_varint(w, m->line);
	ac_wr_str(w, m->file, AC_PANIC_FILE_LEN - 1);
	ac_wr_str(w, m->msg, AC_PANIC_MSG_LEN - 1);
	for (unsigned i = 0; i < 16; i++)
		ac_wr_u32(w, m->ar[i]);
	ac_wr_varint(w, nbt);
	for (uint32_t i = 0; i < nbt; i++)
		ac_wr_u32(w, m->bt[i]);
	return wr_done(w);
}

int
ac_crash_decode(struct ac_rd *r, struct ac_msg_crash *m)
{
	memset(m, 0, sizeof(*m));
	TRY(ac_rd_varint(r, &m->t_us));
	TRY(ac_rd_varint32(r, &m->generation));
	TRY(ac_rd_varint32(r, &m->reason));
	if (m->reason >= AC_PANIC_COUNT)
		RD_FAIL(r, AC_ERANGE, "panic reason");
	TRY(ac_rd_u32(r, &m->pc));
	TRY(ac_rd_u32(r, &m->sp));
	TRY(ac_rd_u32(r, &m->ps));
	TRY(ac_rd_u32(r, &m->exccause));
	TRY(ac_rd_u32(r, &m->excvaddr));
	TRY(ac_rd_varint32(r, &m->line));
	TRY(ac_rd_str(r, m->file, sizeof(m->file)));
	TRY(ac_rd_str(r, m->msg, sizeof(m->msg)));
	for (unsigned i = 0; i < 16; i++)
		TRY(ac_rd_u32(r, &m->ar[i]));
	TRY(ac_rd_varint32(r, &m->bt_count));
	if (m->bt_count > AC_BT_MAX)
		RD_FAIL(r, AC_ERANGE, "backtrace length");
	for (uint32_t i = 0; i < m->bt_count; i++)
		TRY(ac_rd_u32(r, &m->bt[i]));
	return ac_rd_end(r);
}

int
ac_dump_info_encode(struct ac_wr *w, const struct ac_msg_dump_info *m)
{
	if (m->total == 0 || m->total > AC_DUMP_MAX)
		return AC_ERANGE;
	ac_wr_varint(w, m->dump_id);
	ac_wr_u64(w, m->boot_id);
	ac_wr_bytes(w, m->image_hash, sizeof(m->image_hash));
	ac_wr_u32(w, m->region_base);
	ac_wr_varint(w, m->total);
	ac_wr_bytes(w, m->sha256, sizeof(m->sha256));
	ac_wr_u8(w, m->flags);
	return ac_crash_encode(w, &m->crash);	/* last: it ends the message */
}

int
ac_dump_info_decode(struct ac_rd *r, struct ac_msg_dump_info *m)
{
	memset(m, 0, sizeof(*m));
	TRY(ac_rd_varint32(r, &m->dump_id));
	TRY(ac_rd_u64(r, &m->boot_id));
	TRY(ac_rd_bytes(r, m->image_hash, sizeof(m->image_hash)));
	TRY(ac_rd_u32(r, &m->region_base));
	TRY(ac_rd_varint32(r, &m->total));
	if (m->total == 0 || m->total > AC_DUMP_MAX)
		RD_FAIL(r, AC_ERANGE, "dump size");
	TRY(ac_rd_bytes(r, m->sha256, sizeof(m->sha256)));
	TRY(ac_rd_u8(r, &m->flags));
	if (m->flags & ~AC_DUMP_STORED)
		RD_FAIL(r, AC_ERANGE, "dump flags");
	return ac_crash_decode(r, &m->crash);
}

int
ac_dump_data_encode(struct ac_wr *w, const struct ac_msg_dump_data *m)
{
	if (m->len == 0 || m->len > AC_DUMP_CHUNK)
		return AC_ERANGE;
	ac_wr_varint(w, m->dump_id);
	ac_wr_varint(w, m->offset);
	ac_wr_u32(w, m->crc);
	ac_wr_varint(w, m->len);
	ac_wr_bytes(w, m->data, m->len);
	return wr_done(w);
}

int
ac_dump_data_decode(struct ac_rd *r, struct ac_msg_dump_data *m)
{
	memset(m, 0, sizeof(*m));
	TRY(ac_rd_varint32(r, &m->dump_id));
	TRY(ac_rd_varint32(r, &m->offset));
	TRY(ac_rd_u32(r, &m->crc));
	TRY(ac_rd_varint32(r, &m->len));
	if (m->len == 0 || m->len > AC_DUMP_CHUNK ||
	    (uint64_t)m->offset + m->len > AC_DUMP_MAX)
		RD_FAIL(r, AC_ERANGE, "dump chunk outside any dump");
	if (r->left < m->len)
		RD_FAIL(r, AC_ETRUNC, "truncated dump chunk");
	m->data = r->p;
	r->p += m->len;
	r->left -= m->len;
	return ac_rd_end(r);
}

int
ac_reply_encode(struct ac_wr *w, const struct ac_msg_reply *m)
{
	ac_wr_varint(w, m->req_id);
	ac_wr_u8(w, m->cmd);
	ac_wr_u8(w, m->status);
	ac_wr_varint(w, m->value);
	return wr_done(w);
}

int
ac_reply_decode(struct ac_rd *r, struct ac_msg_reply *m)
{
	memset(m, 0, sizeof(*m));
	TRY(ac_rd_varint32(r, &m->req_id));
	TRY(ac_rd_u8(r, &m->cmd));
	TRY(ac_rd_u8(r, &m->status));
	if (m->status >= AC_ST_COUNT)
		RD_FAIL(r, AC_ERANGE, "reply status");
	TRY(ac_rd_varint(r, &m->value));
	return ac_rd_end(r);
}

int
ac_stats_encode(struct ac_wr *w, const struct ac_msg_stats *m)
{
	ac_wr_varint(w, m->t_us);
	ac_wr_varint(w, m->frames_sent);
	ac_wr_varint(w, m->frames_dropped);
	ac_wr_varint(w, m->bytes_dropped);
	ac_wr_varint(w, m->samples);
	ac_wr_varint(w, m->samples_dropped);
	ac_wr_varint(w, m->sampler_overruns);
	ac_wr_varint(w, m->log_lost);
	ac_wr_varint(w, m->rx_errors);
	ac_wr_varint(w, m->txq_high_water);
	ac_wr_varint(w, m->txq_size);
	ac_wr_varint(w, m->heartbeat);
	return wr_done(w);
}

int
ac_stats_decode(struct ac_rd *r, struct ac_msg_stats *m)
{
	memset(m, 0, sizeof(*m));
	TRY(ac_rd_varint(r, &m->t_us));
	TRY(ac_rd_varint(r, &m->frames_sent));
	TRY(ac_rd_varint(r, &m->frames_dropped));
	TRY(ac_rd_varint(r, &m->bytes_dropped));
	TRY(ac_rd_varint(r, &m->samples));
	TRY(ac_rd_varint(r, &m->samples_dropped));
	TRY(ac_rd_varint(r, &m->sampler_overruns));
	TRY(ac_rd_varint(r, &m->log_lost));
	TRY(ac_rd_varint(r, &m->rx_errors));
	TRY(ac_rd_varint32(r, &m->txq_high_water));
	TRY(ac_rd_varint32(r, &m->txq_size));
	TRY(ac_rd_varint32(r, &m->heartbeat));
	return ac_rd_end(r);
}

int
ac_cmd_encode(struct ac_wr *w, const struct ac_msg_cmd *m)
{
	ac_wr_varint(w, m->req_id);
	ac_wr_u8(w, m->cmd);
	switch (m->cmd) {
	case AC_CMD_PING:
	case AC_CMD_SET_RATE:
		ac_wr_varint(w, m->arg0);
		break;
	case AC_CMD_READ_MEM:
	case AC_CMD_DUMP_ACK:
	case AC_CMD_SET_RESTART:
	case AC_CMD_SAMPLES_REF:
	case AC_CMD_IMAGE_ACTIVATE:
		ac_wr_varint(w, m->arg0);
		ac_wr_varint(w, m->arg1);
		break;
	case AC_CMD_IMAGE_ABORT:
		ac_wr_varint(w, m->arg0);
		break;
	default:
		break;
	}
	return wr_done(w);
}

/* Unknown commands fail with AC_ERANGE after req_id and cmd are filled in,
 * so the agent can answer them. */
int
ac_cmd_decode(struct ac_rd *r, struct ac_msg_cmd *m)
{
	memset(m, 0, sizeof(*m));
	TRY(ac_rd_varint32(r, &m->req_id));
	TRY(ac_rd_u8(r, &m->cmd));
	switch (m->cmd) {
	case AC_CMD_PING:
	case AC_CMD_SET_RATE:
	case AC_CMD_IMAGE_ABORT:
		TRY(ac_rd_varint32(r, &m->arg0));
		break;
	case AC_CMD_READ_MEM:
	case AC_CMD_DUMP_ACK:
	case AC_CMD_SET_RESTART:
	case AC_CMD_SAMPLES_REF:
	case AC_CMD_IMAGE_ACTIVATE:
		TRY(ac_rd_varint32(r, &m->arg0));
		TRY(ac_rd_varint32(r, &m->arg1));
		break;
	case AC_CMD_HELLO:
	case AC_CMD_SNAPSHOT:
	case AC_CMD_RESTART_CORE1:
	case AC_CMD_IMAGE_STATUS:
		break;
	default:
		RD_FAIL(r, AC_ERANGE, "unknown command");
	}
	return ac_rd_end(r);
}

/* ---- SAMPLES ---- */

static int samples_run(struct ac_samples_state *, uint32_t *, const uint8_t *,
    size_t, ac_sample_cb *, void *);

static bool
bit_get(const uint8_t *map, uint32_t i)
{
	return (map[i >> 3] >> (i & 7)) & 1u;
}

void
ac_samples_enc_reset(struct ac_samples_enc *e)
{
	e->s.have_ref = false;
}

void
ac_samples_begin(struct ac_samples_enc *e, bool key, uint64_t index,
    uint32_t ncols, uint32_t interval_us, const uint8_t *rate_mode)
{
	struct ac_samples_state *s = &e->s;

	if (ncols > AC_MAX_COUNTERS)
		ncols = AC_MAX_COUNTERS;
	if (!s->have_ref || ncols != s->ncols ||
	    interval_us != s->interval_us || index != s->next_index)
		key = true;
	ac_wr_init(&e->w, e->buf, sizeof(e->buf));
	e->n = 0;
	ac_wr_u8(&e->w, key ? AC_SAMPLES_KEY : 0);
	ac_wr_varint(&e->w, index);
	ac_wr_varint(&e->w, ncols);
	ac_wr_varint(&e->w, interval_us);
	if (key) {
		s->have_ref = false;
		memset(s->rate_mode, 0, sizeof(s->rate_mode));
		for (uint32_t i = 0; i < ncols; i++)
			if (rate_mode != NULL && bit_get(rate_mode, i))
				s->rate_mode[i >> 3] |= (uint8_t)(1u << (i & 7));
	}
	s->ncols = ncols;
	s->interval_us = interval_us;
	s->next_index = index;
}

/* Residual of column i: change of the delta in rate mode, else the delta. */
static uint32_t
residual(const struct ac_samples_state *s, uint32_t i, uint32_t v,
    uint32_t *delta)
{
	*delta = v - s->prev[i];
	return bit_get(s->rate_mode, i) ? *delta - s->prevd[i] : *delta;
}

int
ac_samples_add(struct ac_samples_enc *e, uint64_t t_us, const uint32_t *vals)
{
	struct ac_samples_state *s = &e->s;
	struct ac_wr w = e->w;
	uint32_t res[AC_MAX_COUNTERS], d[AC_MAX_COUNTERS];
	uint32_t k = 0, ncols = s->ncols, nbytes = (ncols + 7) / 8;
	bool first_key = !s->have_ref && e->n == 0;

	if (first_key) {
		ac_wr_varint(&w, t_us);
		ac_wr_bytes(&w, s->rate_mode, nbytes);
		for (uint32_t i = 0; i < ncols; i++) {
			ac_wr_varint(&w, vals[i]);
			d[i] = 0;
		}
	} else {
		uint64_t dt;
		int64_t adj;

		/* The step the decoder accepts: interval + an int32. */
		if (!s->have_ref || t_us < s->prev_t)
			return AC_ERANGE;
		dt = t_us - s->prev_t;
		if (dt > (uint64_t)INT32_MAX + s->interval_us)
			return AC_ERANGE;
		adj = (int64_t)dt - (int64_t)s->interval_us;
		if (adj < INT32_MIN)
			return AC_ERANGE;
		for (uint32_t i = 0; i < ncols; i++)
			if ((res[i] = residual(s, i, vals[i], &d[i])) != 0)
				k++;
		ac_wr_svarint32(&w, (int32_t)adj);
		ac_wr_varint(&w, k);
		if (k * 8 > ncols) {
			uint8_t map[(AC_MAX_COUNTERS + 7) / 8] = { 0 };

			for (uint32_t i = 0; i < ncols; i++)
				if (res[i] != 0)
					map[i >> 3] |= (uint8_t)(1u << (i & 7));
			ac_wr_bytes(&w, map, nbytes);
			for (uint32_t i = 0; i < ncols; i++)
				if (res[i] != 0)
					ac_wr_svarint32(&w, (int32_t)res[i]);
		} else {
			uint32_t next = 0;

			for (uint32_t i = 0; i < ncols; i++) {
				if (res[i] == 0)
					continue;
				ac_wr_varint(&w, i - next);
				ac_wr_svarint32(&w, (int32_t)res[i]);
				next = i + 1;
			}
		}
	}
	if (w.overflow)
		return AC_EOVERFLOW;
	e->w = w;
	if (e->n++ == 0)
		e->first_t = t_us;
	for (uint32_t i = 0; i < ncols; i++) {
		s->prev[i] = vals[i];
		s->prevd[i] = d[i];
	}
	s->prev_t = t_us;
	s->next_index++;
	s->have_ref = true;
	return 0;
}

void
ac_samples_dec_init(struct ac_samples_dec *dec)
{
	memset(dec, 0, sizeof(*dec));
}

uint64_t
ac_samples_dec_next(const struct ac_samples_dec *dec)
{
	return dec->s.next_index;
}

/* Applies one non-first sample to s and vals. */
static int
dec_sample(struct ac_rd *r, struct ac_samples_state *s, uint32_t *vals)
{
	uint32_t ncols = s->ncols, k, nbytes = (ncols + 7) / 8;
	uint32_t res[AC_MAX_COUNTERS] = { 0 };
	int32_t adj, v;
	int64_t dt;

	TRY(ac_rd_svarint32(r, &adj));
	dt = (int64_t)s->interval_us + adj;
	if (dt < 0 || s->prev_t > UINT64_MAX - (uint64_t)dt)
		RD_FAIL(r, AC_ERANGE, "sample time out of range");
	TRY(ac_rd_varint32(r, &k));
	if (k > ncols)
		RD_FAIL(r, AC_ERANGE, "more changes than columns");
	if (k * 8 > ncols) {
		uint8_t map[(AC_MAX_COUNTERS + 7) / 8];
		uint32_t set = 0;

		TRY(ac_rd_bytes(r, map, nbytes));
		for (uint32_t i = 0; i < nbytes * 8; i++) {
			if (!bit_get(map, i))
				continue;
			if (i >= ncols)
				RD_FAIL(r, AC_EBADMSG, "change bit past last column");
			set++;
		}
		if (set != k)
			RD_FAIL(r, AC_EBADMSG, "change bitmap disagrees with count");
		for (uint32_t i = 0; i < ncols; i++) {
			if (!bit_get(map, i))
				continue;
			TRY(ac_rd_svarint32(r, &v));
			if (v == 0)
				RD_FAIL(r, AC_EBADMSG, "zero residual sent");
			res[i] = (uint32_t)v;
		}
	} else {
		uint32_t next = 0, gap;

		for (uint32_t j = 0; j < k; j++) {
			TRY(ac_rd_varint32(r, &gap));
			if (gap >= ncols - next)
				RD_FAIL(r, AC_ERANGE, "column index out of range");
			next += gap;
			TRY(ac_rd_svarint32(r, &v));
			if (v == 0)
				RD_FAIL(r, AC_EBADMSG, "zero residual sent");
			res[next++] = (uint32_t)v;
		}
	}
	for (uint32_t i = 0; i < ncols; i++) {
		uint32_t d = bit_get(s->rate_mode, i) ? s->prevd[i] + res[i] :
		    res[i];

		vals[i] = s->prev[i] + d;
		s->prevd[i] = d;
		s->prev[i] = vals[i];
	}
	s->prev_t += (uint64_t)dt;
	return 0;
}

/* One pass over a payload; cb may be NULL (validation only). */
static int
samples_run(struct ac_samples_state *s, uint32_t *vals, const uint8_t *p,
    size_t n, ac_sample_cb *cb, void *arg)
{
	struct ac_rd r;
	uint8_t flags;
	uint64_t index;
	uint32_t ncols, interval;
	bool key;

	ac_rd_init(&r, p, n);
	TRY(ac_rd_u8(&r, &flags));
	if (flags & ~AC_SAMPLES_KEY)
		return AC_EBADMSG;
	key = flags & AC_SAMPLES_KEY;
	TRY(ac_rd_varint(&r, &index));
	TRY(ac_rd_varint32(&r, &ncols));
	TRY(ac_rd_varint32(&r, &interval));
	if (ncols > AC_MAX_COUNTERS)
		return AC_ERANGE;
	if (interval < 1000000u / AC_RATE_MAX ||
	    interval > 1000000u / AC_RATE_MIN)
		return AC_ERANGE;
	if (key) {
		uint32_t nbytes = (ncols + 7) / 8;

		memset(s->rate_mode, 0, sizeof(s->rate_mode));
		TRY(ac_rd_varint(&r, &s->prev_t));
		TRY(ac_rd_bytes(&r, s->rate_mode, nbytes));
		for (uint32_t i = ncols; i < nbytes * 8; i++)
			if (bit_get(s->rate_mode, i))
				return AC_EBADMSG;
		for (uint32_t i = 0; i < ncols; i++) {
			TRY(ac_rd_varint32(&r, &vals[i]));
			s->prev[i] = vals[i];
			s->prevd[i] = 0;
		}
		s->ncols = ncols;
		s->interval_us = interval;
		s->next_index = index;
		s->have_ref = true;
		if (cb != NULL)
			cb(arg, s->next_index, s->prev_t, vals, ncols);
		s->next_index++;
	} else {
		if (!s->have_ref || index != s->next_index)
			return AC_ENOREF;
		if (ncols != s->ncols || interval != s->interval_us)
			return AC_EBADMSG;
		if (r.left == 0)
			return AC_EBADMSG;	/* an empty delta frame */
	}
	while (r.left > 0) {
		TRY(dec_sample(&r, s, vals));
		if (cb != NULL)
			cb(arg, s->next_index, s->prev_t, vals, ncols);
		s->next_index++;
	}
	return 0;
}

int
ac_samples_decode(struct ac_samples_dec *dec, const uint8_t *p, size_t n,
    ac_sample_cb *cb, void *arg)
{
	int rc;

	dec->scratch = dec->s;
	rc = samples_run(&dec->scratch, dec->vals, p, n, NULL, NULL);
	if (rc < 0) {
		if (rc == AC_ENOREF)
			dec->s.have_ref = false;
		return rc;
	}
	rc = samples_run(&dec->s, dec->vals, p, n, cb, arg);
	return rc;
}

int
ac_samples_header(const uint8_t *p, size_t n, struct ac_samples_hdr *h)
{
	struct ac_rd r;
	uint8_t flags;

	memset(h, 0, sizeof(*h));
	ac_rd_init(&r, p, n);
	TRY(ac_rd_u8(&r, &flags));
	TRY(ac_rd_varint(&r, &h->first_index));
	TRY(ac_rd_varint32(&r, &h->ncols));
	TRY(ac_rd_varint32(&r, &h->interval_us));
	if (flags & ~AC_SAMPLES_KEY)
		return AC_EBADMSG;
	h->key = flags & AC_SAMPLES_KEY;
	return 0;
}

int
ac_samples_peek(const uint8_t *p, size_t n, struct ac_samples_hdr *h)
{
	struct ac_samples_state s;
	uint32_t vals[AC_MAX_COUNTERS];
	struct ac_rd r;
	uint8_t flags;

	memset(h, 0, sizeof(*h));
	memset(&s, 0, sizeof(s));
	ac_rd_init(&r, p, n);
	TRY(ac_rd_u8(&r, &flags));
	TRY(ac_rd_varint(&r, &h->first_index));
	TRY(ac_rd_varint32(&r, &h->ncols));
	TRY(ac_rd_varint32(&r, &h->interval_us));
	h->key = flags & AC_SAMPLES_KEY;
	/* A delta frame is checked against a reference of zeros: its
	 * structure does not depend on the reference's values. */
	s.have_ref = true;
	s.ncols = h->ncols;
	s.interval_us = h->interval_us;
	s.next_index = h->first_index;
	TRY(samples_run(&s, vals, p, n, NULL, NULL));
	h->count = (uint32_t)(s.next_index - h->first_index);
	return 0;
}

/* ---- SAMPLES_REF: the predictor state a delta frame continues ---- */

int
ac_samples_ref_encode(struct ac_wr *w, uint64_t boot_id,
    const struct ac_samples_state *s)
{
	if (!s->have_ref || s->ncols > AC_MAX_COUNTERS)
		return AC_ERANGE;
	ac_wr_u64(w, boot_id);
	ac_wr_varint(w, s->next_index);
	ac_wr_varint(w, s->ncols);
	ac_wr_varint(w, s->interval_us);
	ac_wr_varint(w, s->prev_t);
	ac_wr_bytes(w, s->rate_mode, (s->ncols + 7) / 8);
	for (uint32_t i = 0; i < s->ncols; i++)
		ac_wr_varint(w, s->prev[i]);
	for (uint32_t i = 0; i < s->ncols; i++)
		ac_wr_svarint32(w, (int32_t)s->prevd[i]);
	return wr_done(w);
}

int
ac_samples_ref_decode(struct ac_rd *r, uint64_t *boot_id,
    struct ac_samples_state *s)
{
	uint32_t nbytes;
	int32_t d;

	memset(s, 0, sizeof(*s));
	TRY(ac_rd_u64(r, boot_id));
	TRY(ac_rd_varint(r, &s->next_index));
	TRY(ac_rd_varint32(r, &s->ncols));
	if (s->ncols > AC_MAX_COUNTERS)
		RD_FAIL(r, AC_ERANGE, "too many columns");
	TRY(ac_rd_varint32(r, &s->interval_us));
	if (s->interval_us < 1000000u / AC_RATE_MAX ||
	    s->interval_us > 1000000u / AC_RATE_MIN)
		RD_FAIL(r, AC_ERANGE, "sample interval");
	TRY(ac_rd_varint(r, &s->prev_t));
	nbytes = (s->ncols + 7) / 8;
	TRY(ac_rd_bytes(r, s->rate_mode, nbytes));
	for (uint32_t i = s->ncols; i < nbytes * 8; i++)
		if (bit_get(s->rate_mode, i))
			RD_FAIL(r, AC_EBADMSG, "rate bit past last column");
	for (uint32_t i = 0; i < s->ncols; i++)
		TRY(ac_rd_varint32(r, &s->prev[i]));
	for (uint32_t i = 0; i < s->ncols; i++) {
		TRY(ac_rd_svarint32(r, &d));
		s->prevd[i] = (uint32_t)d;
	}
	s->have_ref = true;
	return ac_rd_end(r);
}
