/*
 * The appcore wire protocol, version 1 (docs/protocol.md, byte by byte).
 * One implementation, compiled into the agent (freestanding, 32-bit) and
 * into the daemon.  Nothing here allocates; every read is bounded.
 *
 * Functions return 0 on success and a negative AC_E* code on failure; the
 * bounded reader also keeps a constant string saying what was wrong.
 */
#ifndef APPCORE_WIRE_H
#define APPCORE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "region.h"

#define AC_PROTO_VERSION	2u	/* what the agent speaks */
#define AC_PROTO_MIN		1u	/* the oldest a host still reads */

#define AC_WIRE_MAX_PAYLOAD	1024u
#define AC_FRAME_HDR		5u	/* type + seq */
#define AC_FRAME_CRC		4u
#define AC_FRAME_MAX		(AC_FRAME_HDR + AC_WIRE_MAX_PAYLOAD + AC_FRAME_CRC)
/* COBS adds one byte per 254 and one at the start; plus the delimiter. */
#define AC_FRAME_MAX_ENC	(AC_FRAME_MAX + AC_FRAME_MAX / 254 + 2)

#define AC_MEM_CHUNK		768u	/* data bytes per MEM frame */
#define AC_MEM_READ_MAX		(AC_REGION_DEFAULT_SIZE * 8u)
#define AC_DUMP_CHUNK		768u	/* data bytes per DUMP_DATA frame */
#define AC_DUMP_MAX		(AC_REGION_DEFAULT_SIZE * 8u)
#define AC_DUMP_DONE		0xffffffffu	/* DUMP_ACK: stored, verified */
#define AC_DUMP_RESEND		0x80000000u	/* DUMP_ACK: go back to offset */
#define AC_DESC_PER_FRAME	20u
#define AC_DEVICE_ID_MAX	16u
#define AC_VERSION_MAX		32u
#define AC_RATE_MIN		1u
#define AC_RATE_MAX		1000u

#define AC_WIRE_WARN_UNUSED	__attribute__((warn_unused_result))

enum ac_err {
	AC_OK = 0,
	AC_EOVERFLOW = -1,	/* output does not fit */
	AC_ETRUNC = -2,		/* input ended early */
	AC_EBADMSG = -3,	/* input is malformed */
	AC_ECRC = -4,		/* checksum mismatch */
	AC_ERANGE = -5,		/* a value is out of its allowed range */
	AC_ENOREF = -6,		/* delta frame without its reference */
	AC_EVERSION = -7	/* peer speaks a version we do not */
};

enum ac_msg_type {
	AC_MSG_HELLO = 0x01,
	AC_MSG_DESC = 0x02,
	AC_MSG_SAMPLES = 0x03,
	AC_MSG_LOG = 0x04,
	AC_MSG_STATE = 0x05,
	AC_MSG_MEM = 0x06,
	AC_MSG_CRASH = 0x07,
	AC_MSG_REPLY = 0x08,
	AC_MSG_STATS = 0x09,
	AC_MSG_DUMP_INFO = 0x0a,
	AC_MSG_DUMP_DATA = 0x0b,
	AC_MSG_SAMPLES_REF = 0x0c,	/* a delta reference, on request */
	AC_MSG_IMAGE_STATUS = 0x0d,	/* core-1 updates (appcore/image.h) */
	AC_MSG_RTT = 0x0e,		/* core 1's RTT buffers (appcore/rtt.h) */
	AC_MSG_CMD = 0x40,	/* host to agent */
	AC_MSG_IMAGE_OFFER = 0x41,	/* host to agent */
	AC_MSG_IMAGE_DATA = 0x42	/* host to agent */
};

enum ac_cmd {
	AC_CMD_PING = 1,
	AC_CMD_HELLO = 2,
	AC_CMD_SET_RATE = 3,
	AC_CMD_READ_MEM = 4,
	AC_CMD_SNAPSHOT = 5,
	AC_CMD_RESTART_CORE1 = 6,
	AC_CMD_DUMP_ACK = 7,
	AC_CMD_SET_RESTART = 8,
	AC_CMD_SAMPLES_REF = 9,
	AC_CMD_IMAGE_STATUS = 10,	/* IMAGE_STATUS now */
	AC_CMD_IMAGE_ACTIVATE = 11,	/* xfer_id, trial ms */
	AC_CMD_IMAGE_ABORT = 12,	/* xfer_id */
	AC_CMD_COUNT
};

/* What the agent does with a crashed core 1 once its crash is safe
 * (stored in the crash store, or, without one, delivered to a host);
 * the agent's configuration, and SET_RESTART's arguments. */
enum ac_restart_policy {
	AC_RESTART_NEVER = 0,		/* stay stopped until told */
	AC_RESTART_ALWAYS = 1,
	AC_RESTART_LIMIT = 2		/* at most restart_max per hour */
};
#define AC_RESTART_MAX		16u

enum ac_status {
	AC_ST_OK = 0,
	AC_ST_BAD_REQUEST = 1,
	AC_ST_UNKNOWN_CMD = 2,
	AC_ST_OUT_OF_RANGE = 3,
	AC_ST_BUSY = 4,
	AC_ST_UNSUPPORTED = 5,
	AC_ST_FAILED = 6,
	AC_ST_COUNT
};

const char *ac_strerror(int err);
const char *ac_msg_name(unsigned type);
const char *ac_cmd_name(unsigned cmd);
const char *ac_status_name(unsigned status);
const char *ac_state_name(unsigned state);
/* "exception" for AC_PANIC_EXCEPTION; "unknown" beyond the enum. */
const char *ac_panic_reason_name(unsigned reason);

uint32_t ac_crc32c(uint32_t crc, const void *buf, size_t len);

/* ---- bounded reader and writer ---- */

struct ac_rd {
	const uint8_t *p;
	size_t left;
	const char *err;	/* first error, a constant string */
};

struct ac_wr {
	uint8_t *p;
	size_t cap;
	size_t len;
	bool overflow;
};

static inline void
ac_rd_init(struct ac_rd *r, const void *p, size_t n)
{
	r->p = (const uint8_t *)p;
	r->left = n;
	r->err = NULL;
}

static inline void
ac_wr_init(struct ac_wr *w, void *p, size_t cap)
{
	w->p = (uint8_t *)p;
	w->cap = cap;
	w->len = 0;
	w->overflow = false;
}

int ac_rd_u8(struct ac_rd *, uint8_t *) AC_WIRE_WARN_UNUSED;
int ac_rd_u32(struct ac_rd *, uint32_t *) AC_WIRE_WARN_UNUSED;
int ac_rd_u64(struct ac_rd *, uint64_t *) AC_WIRE_WARN_UNUSED;
int ac_rd_varint(struct ac_rd *, uint64_t *) AC_WIRE_WARN_UNUSED;
int ac_rd_varint32(struct ac_rd *, uint32_t *) AC_WIRE_WARN_UNUSED;
int ac_rd_svarint32(struct ac_rd *, int32_t *) AC_WIRE_WARN_UNUSED;
int ac_rd_bytes(struct ac_rd *, void *, size_t) AC_WIRE_WARN_UNUSED;
/* A length-prefixed string of at most cap-1 bytes, no NUL inside;
 * always NUL-terminated on success. */
int ac_rd_str(struct ac_rd *, char *, size_t cap) AC_WIRE_WARN_UNUSED;
int ac_rd_end(struct ac_rd *) AC_WIRE_WARN_UNUSED;

void ac_wr_u8(struct ac_wr *, uint8_t);
void ac_wr_u32(struct ac_wr *, uint32_t);
void ac_wr_u64(struct ac_wr *, uint64_t);
void ac_wr_varint(struct ac_wr *, uint64_t);
void ac_wr_svarint32(struct ac_wr *, int32_t);
void ac_wr_bytes(struct ac_wr *, const void *, size_t);
void ac_wr_str(struct ac_wr *, const char *, size_t maxlen);

/* ---- framing: COBS, 0x00 delimiter, CRC-32C ---- */

struct ac_frame;

/*
 * Encodes one frame into out (delimiter included) and returns its length,
 * or 0 when it does not fit or the payload is too long.
 */
size_t ac_frame_encode(uint8_t *out, size_t cap, uint8_t type, uint32_t seq,
    const void *payload, size_t len) AC_WIRE_WARN_UNUSED;

/*
 * Protocol 2 binds every agent frame but HELLO to its boot: the frame's
 * CRC-32C runs over the boot id (8 bytes, little-endian) before the frame,
 * so a frame of another boot (replayed, or late from before a reset)
 * fails its CRC.  The seed is that CRC-32C of the boot id alone; 0 means
 * no binding (HELLO, commands, protocol 1).
 */
uint32_t ac_boot_seed(uint64_t boot_id);
size_t ac_frame_encode_seeded(uint8_t *out, size_t cap, uint8_t type,
    uint32_t seq, const void *payload, size_t len, uint32_t seed)
    AC_WIRE_WARN_UNUSED;
/* The CRC-32C a frame's bytes would carry under seed. */
uint32_t ac_frame_crc(const struct ac_frame *, uint32_t seed);

struct ac_frame {
	uint8_t type;
	uint32_t seq;
	const uint8_t *payload;	/* valid until the next ac_deframer_* call;
				 * the header is just before it */
	size_t len;
	uint32_t crc;		/* as received */
};

struct ac_deframer_stats {
	uint64_t frames;	/* good frames */
	uint64_t crc_errors;
	uint64_t cobs_errors;	/* bad COBS code, or an empty or runt frame */
	uint64_t oversize;	/* longer than AC_FRAME_MAX_ENC */
	uint64_t bytes;		/* all bytes fed */
	uint64_t discarded;	/* bytes of frames that did not decode */
};

struct ac_deframer {
	uint8_t buf[AC_FRAME_MAX_ENC];
	size_t len;
	bool skipping;		/* inside an oversize frame: wait for 0x00 */
	uint32_t seed;		/* frames but HELLO: ac_boot_seed(), or 0 */
	struct ac_deframer_stats st;
};

void ac_deframer_init(struct ac_deframer *);
/* Frames other than HELLO are checked against this seed from now on. */
void ac_deframer_set_seed(struct ac_deframer *, uint32_t seed);

/*
 * Consumes bytes from in[0..n) up to and including the end of the next
 * frame and returns how many it took.  *res is 1 when f holds a good frame,
 * 0 when more bytes are needed, or a negative AC_E* code for a frame that
 * was dropped (already counted in st).  With AC_ECRC, f holds the frame
 * all the same, for a caller that would try another seed.  Call again
 * with the rest.
 */
size_t ac_deframer_feed(struct ac_deframer *, const uint8_t *in, size_t n,
    struct ac_frame *f, int *res);

/* ---- messages ---- */

struct ac_counter_info {
	uint8_t kind;			/* enum ac_counter_kind */
	uint8_t flags;			/* AC_FLAG_* */
	char name[AC_NAME_LEN];
	char unit[AC_UNIT_LEN];
};

struct ac_msg_hello {
	uint8_t proto_version;		/* first byte, at this place forever */
	uint32_t layout_version;
	char agent_version[AC_VERSION_MAX];
	uint8_t device_id[AC_DEVICE_ID_MAX];
	uint8_t device_id_len;
	uint64_t boot_id;
	uint8_t image_hash[32];
	uint32_t region_base;
	uint32_t region_size;
	uint32_t rate_hz;
	uint32_t max_counters;
	uint32_t counters_used;		/* descriptors follow in DESC frames */
	uint32_t desc_gen;
	uint64_t uptime_us;
	uint8_t core1_state;
	uint32_t generation;
};

struct ac_msg_desc {
	uint32_t desc_gen;
	uint32_t total;			/* counters in the whole set */
	uint32_t first;
	uint32_t count;			/* <= AC_DESC_PER_FRAME */
	struct ac_counter_info c[AC_DESC_PER_FRAME];
};

struct ac_msg_log {
	uint64_t t_us;
	uint32_t record;		/* ring record number */
	uint32_t lost_before;		/* records lost before this one */
	uint8_t level;
	uint32_t stamp;
	char text[AC_LOG_TEXT_LEN + 1];
};

struct ac_msg_state {
	uint64_t t_us;
	uint8_t state;
	uint8_t prev;
	uint32_t generation;
	uint32_t heartbeat;
	uint32_t detail;		/* HUNG: ms since the last heartbeat */
};

enum ac_mem_kind { AC_MEM_READ = 0, AC_MEM_SNAPSHOT = 1 };

struct ac_msg_mem {
	uint32_t req_id;
	uint8_t kind;			/* enum ac_mem_kind */
	uint64_t t_us;
	uint32_t offset;		/* within the region */
	uint32_t total;			/* bytes in the whole transfer */
	uint32_t start;			/* first offset of the transfer */
	const uint8_t *data;		/* points into the frame */
	uint32_t len;			/* <= AC_MEM_CHUNK */
};

struct ac_msg_crash {
	uint64_t t_us;
	uint32_t generation;
	uint32_t reason;
	uint32_t pc, sp, ps, exccause, excvaddr;
	uint32_t line;
	char file[AC_PANIC_FILE_LEN];
	char msg[AC_PANIC_MSG_LEN];
	uint32_t ar[16];
	uint32_t bt_count;
	uint32_t bt[AC_BT_MAX];
};

/* A frozen crash offered by the agent (docs/protocol.md, "Crash dumps"). */
#define AC_DUMP_STORED	0x01u	/* kept in the board's crash store */

struct ac_msg_dump_info {
	uint32_t dump_id;
	uint64_t boot_id;		/* the boot the crash happened in */
	uint8_t image_hash[32];		/* that boot's core-1 image */
	uint32_t region_base;
	uint32_t total;			/* dump bytes, 1..AC_DUMP_MAX */
	uint8_t sha256[32];		/* of the whole dump */
	uint8_t flags;			/* AC_DUMP_* */
	struct ac_msg_crash crash;	/* the record, as CRASH sent it */
};

struct ac_msg_dump_data {
	uint32_t dump_id;
	uint32_t offset;
	uint32_t crc;			/* CRC-32C of data */
	const uint8_t *data;		/* points into the frame */
	uint32_t len;			/* 1..AC_DUMP_CHUNK */
};

struct ac_msg_reply {
	uint32_t req_id;
	uint8_t cmd;
	uint8_t status;			/* enum ac_status */
	uint64_t value;
};

struct ac_msg_stats {
	uint64_t t_us;
	uint64_t frames_sent;
	uint64_t frames_dropped;
	uint64_t bytes_dropped;
	uint64_t samples;		/* produced */
	uint64_t samples_dropped;
	uint64_t sampler_overruns;	/* ticks skipped because core 0 was late */
	uint64_t log_lost;
	uint64_t rx_errors;		/* frames from the host that failed */
	uint32_t txq_high_water;	/* bytes */
	uint32_t txq_size;
	uint32_t heartbeat;		/* core 1's, as last seen */
};

struct ac_msg_cmd {
	uint32_t req_id;
	uint8_t cmd;			/* enum ac_cmd */
	uint32_t arg0;	/* PING nonce, SET_RATE hz, READ_MEM off, DUMP_ACK id,
			 * SET_RESTART policy */
	uint32_t arg1;	/* READ_MEM len, DUMP_ACK offset or AC_DUMP_DONE,
			 * SET_RESTART restarts per hour, SAMPLES_REF index
			 * high 32 bits (arg0: low 32 bits) */
};

int ac_hello_encode(struct ac_wr *, const struct ac_msg_hello *);
int ac_hello_decode(struct ac_rd *, struct ac_msg_hello *) AC_WIRE_WARN_UNUSED;
int ac_desc_encode(struct ac_wr *, const struct ac_msg_desc *);
int ac_desc_decode(struct ac_rd *, struct ac_msg_desc *) AC_WIRE_WARN_UNUSED;
int ac_log_encode(struct ac_wr *, const struct ac_msg_log *);
int ac_log_decode(struct ac_rd *, struct ac_msg_log *) AC_WIRE_WARN_UNUSED;
int ac_state_encode(struct ac_wr *, const struct ac_msg_state *);
int ac_state_decode(struct ac_rd *, struct ac_msg_state *) AC_WIRE_WARN_UNUSED;
int ac_mem_encode(struct ac_wr *, const struct ac_msg_mem *);
int ac_mem_decode(struct ac_rd *, struct ac_msg_mem *) AC_WIRE_WARN_UNUSED;
int ac_crash_encode(struct ac_wr *, const struct ac_msg_crash *);
int ac_crash_decode(struct ac_rd *, struct ac_msg_crash *) AC_WIRE_WARN_UNUSED;
int ac_dump_info_encode(struct ac_wr *, const struct ac_msg_dump_info *);
int ac_dump_info_decode(struct ac_rd *, struct ac_msg_dump_info *)
    AC_WIRE_WARN_UNUSED;
int ac_dump_data_encode(struct ac_wr *, const struct ac_msg_dump_data *);
int ac_dump_data_decode(struct ac_rd *, struct ac_msg_dump_data *)
    AC_WIRE_WARN_UNUSED;
int ac_reply_encode(struct ac_wr *, const struct ac_msg_reply *);
int ac_reply_decode(struct ac_rd *, struct ac_msg_reply *) AC_WIRE_WARN_UNUSED;
int ac_stats_encode(struct ac_wr *, const struct ac_msg_stats *);
int ac_stats_decode(struct ac_rd *, struct ac_msg_stats *) AC_WIRE_WARN_UNUSED;
int ac_cmd_encode(struct ac_wr *, const struct ac_msg_cmd *);
int ac_cmd_decode(struct ac_rd *, struct ac_msg_cmd *) AC_WIRE_WARN_UNUSED;

/*
 * Reads only the protocol version byte of a HELLO, which stays the first
 * byte in every version, so a host can name a version it cannot parse.
 */
int ac_hello_peek_version(const uint8_t *payload, size_t len, uint8_t *ver)
    AC_WIRE_WARN_UNUSED;

/* ---- SAMPLES: delta-encoded counter columns ---- */

#define AC_SAMPLES_KEY	0x01u

/*
 * Both ends keep the same predictor state.  For a column in "rate" mode the
 * residual is the change of the delta (counters that tick steadily cost one
 * zero); otherwise it is the delta (gauges).  Only non-zero residuals are
 * sent.  A key frame carries absolute values and resets the state, so a
 * receiver that lost a frame recovers at the next key frame.
 */
struct ac_samples_state {
	bool have_ref;
	uint32_t ncols;
	uint32_t interval_us;
	uint64_t next_index;
	uint64_t prev_t;
	uint8_t rate_mode[(AC_MAX_COUNTERS + 7) / 8];
	uint32_t prev[AC_MAX_COUNTERS];
	uint32_t prevd[AC_MAX_COUNTERS];
};

struct ac_samples_enc {
	struct ac_samples_state s;
	struct ac_wr w;
	uint8_t buf[AC_WIRE_MAX_PAYLOAD];
	uint32_t n;			/* samples in the open frame */
	uint64_t first_t;
};

/*
 * Opens a frame.  key forces absolute values (always so when the encoder
 * has no reference or ncols/interval changed).  rate_mode is a bitmap of
 * ncols bits, used only by key frames.
 */
void ac_samples_begin(struct ac_samples_enc *, bool key, uint64_t index,
    uint32_t ncols, uint32_t interval_us, const uint8_t *rate_mode);
/* Appends one sample; AC_EOVERFLOW leaves the frame and state untouched. */
int ac_samples_add(struct ac_samples_enc *, uint64_t t_us,
    const uint32_t *vals) AC_WIRE_WARN_UNUSED;
/* Forget the reference: the next frame must be a key frame. */
void ac_samples_enc_reset(struct ac_samples_enc *);

typedef void ac_sample_cb(void *arg, uint64_t index, uint64_t t_us,
    const uint32_t *vals, uint32_t ncols);

struct ac_samples_dec {
	struct ac_samples_state s;
	struct ac_samples_state scratch;
	uint32_t vals[AC_MAX_COUNTERS];
};

void ac_samples_dec_init(struct ac_samples_dec *);
/*
 * Validates a whole SAMPLES payload first, then calls cb once per sample
 * in order.  A malformed frame changes nothing and calls cb never.
 * AC_ENOREF: a delta frame that does not continue the previous one (a
 * frame was lost); the caller counts the samples from the next key frame's
 * index.
 */
int ac_samples_decode(struct ac_samples_dec *, const uint8_t *p, size_t n,
    ac_sample_cb *cb, void *arg) AC_WIRE_WARN_UNUSED;
/* The index the decoder expects next, or 0 before the first frame. */
uint64_t ac_samples_dec_next(const struct ac_samples_dec *);

/* SAMPLES_REF: the boot and the predictor state a delta frame continues. */
int ac_samples_ref_encode(struct ac_wr *, uint64_t boot_id,
    const struct ac_samples_state *);
int ac_samples_ref_decode(struct ac_rd *, uint64_t *boot_id,
    struct ac_samples_state *) AC_WIRE_WARN_UNUSED;

/*
 * What a SAMPLES payload's header says, and how many samples it carries,
 * without its reference: the whole payload is checked as the decoder
 * would, except that values are not computed.
 */
struct ac_samples_hdr {
	bool key;
	uint64_t first_index;
	uint32_t ncols;
	uint32_t interval_us;
	uint32_t count;			/* samples in the frame */
};
int ac_samples_peek(const uint8_t *p, size_t n, struct ac_samples_hdr *)
    AC_WIRE_WARN_UNUSED;
/* The header alone (count 0): what the decoder checks first. */
int ac_samples_header(const uint8_t *p, size_t n, struct ac_samples_hdr *)
    AC_WIRE_WARN_UNUSED;

#endif /* APPCORE_WIRE_H */
