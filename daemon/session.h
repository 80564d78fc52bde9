/*
 * The host side of one agent link: frames in, decoded messages and
 * accounted losses out.  No I/O here; the caller feeds bytes, sends what
 * session_cmd() encodes and what cb->ask requests.  The rules (which frame
 * is accepted when, what a replay is, which boot and index a sample
 * belongs to) are written down in docs/protocol.md, "The host's session".
 */
#ifndef APPCORE_SESSION_H
#define APPCORE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "appcore/image.h"
#include "appcore/rtt.h"
#include "appcore/wire.h"

enum session_event {
	SE_CRC_ERROR,		/* a frame failed its CRC */
	SE_FRAMING_ERROR,	/* bad COBS, runt or oversize frame */
	SE_SEQ_GAP,		/* count = frames missing */
	SE_SAMPLES_LOST,	/* count = samples the decoder skipped */
	SE_MALFORMED,		/* a frame with a good CRC that did not decode */
	SE_VERSION,		/* the agent speaks a version we do not */
	SE_NEW_BOOT,		/* HELLO with a boot id not seen before */
	SE_DUPLICATE,		/* count = frames received a second time */
	SE_STALE,		/* count = frames too old to place */
	SE_ASKED,		/* the host asked for HELLO and DESC, and why */
	SE_ASKED_REF,		/* the host asked for a SAMPLES_REF */
	SE_UNATTRIBUTED,	/* count = samples before the boot was known */
	SE_LATE,		/* a frame counted in a gap arrived after all */
	SE_COUNT
};

/* Frames whose sequence numbers are remembered (replay window). */
#define SESSION_SEQ_WINDOW	1024u
/* Frames after a gap kept until their reference arrives. */
#define SESSION_STASH		16u
/* A frame is late (reordered) when at most this far behind. */
#define SESSION_LATE_MAX	64u
/* Requests unanswered this long go again: HELLO, and a reference (the
 * agent keeps the last 8 frames' references, 80 ms at 1 kHz). */
#define SESSION_ASK_RETRY_US	200000u
#define SESSION_REF_RETRY_US	30000u
/* Stashed frames are given up after this long. */
#define SESSION_STASH_US	1000000u

struct session;

struct session_cb {
	void (*hello)(void *arg, struct session *);
	void (*desc)(void *arg, struct session *);	/* set complete */
	/* One decoded sample of the current boot.  Indices arrive in order
	 * except for late samples filling an earlier gap. */
	void (*sample)(void *arg, uint64_t index, uint64_t t_us,
	    const uint32_t *vals, uint32_t ncols);
	/* The agent has produced samples up to end (exclusive). */
	void (*produced)(void *arg, uint64_t end);
	/* Samples received a second time (a replayed frame). */
	void (*duplicates)(void *arg, uint64_t n);
	void (*log)(void *arg, const struct ac_msg_log *);
	void (*state)(void *arg, const struct ac_msg_state *);
	void (*crash)(void *arg, const struct ac_msg_crash *);
	void (*mem)(void *arg, const struct ac_msg_mem *);
	void (*dump_info)(void *arg, const struct ac_msg_dump_info *);
	void (*dump_data)(void *arg, const struct ac_msg_dump_data *);
	void (*reply)(void *arg, const struct ac_msg_reply *);
	void (*stats)(void *arg, const struct ac_msg_stats *);
	void (*image_status)(void *arg, const struct ac_msg_image_status *);
	void (*rtt)(void *arg, const struct ac_msg_rtt *);
	void (*event)(void *arg, enum session_event, uint64_t count,
	    const char *detail);
	/* Send a command to the agent; returns its req_id, 0 if not sent. */
	uint32_t (*ask)(void *arg, uint8_t cmd, uint32_t arg0, uint32_t arg1);
};

struct session_stats {
	uint64_t frames;		/* accepted */
	uint64_t crc_errors;
	uint64_t framing_errors;
	uint64_t seq_gaps;		/* gap events */
	uint64_t frames_lost;		/* inside gaps, less those late */
	uint64_t frames_dup;		/* seen before: ignored */
	uint64_t frames_stale;		/* too old to place: ignored */
	uint64_t frames_late;		/* reordered, filled a gap */
	uint64_t samples;		/* delivered */
	uint64_t samples_lost;		/* skipped by the decoder, net */
	uint64_t samples_recovered;	/* late, through a SAMPLES_REF */
	uint64_t samples_dup;
	uint64_t samples_unattributed;	/* before HELLO: no boot to hold them */
	uint64_t frames_unverified;	/* before HELLO, of a boot not known */
	uint64_t malformed;
	uint64_t version_errors;
	uint64_t asked_hello;
	uint64_t asked_ref;
};

struct session_stash {
	bool used;
	uint64_t first;			/* first sample index */
	uint64_t at;			/* session time it arrived */
	uint16_t len;
	uint8_t p[AC_WIRE_MAX_PAYLOAD];
};

struct session {
	const struct session_cb *cb;
	void *arg;
	uint64_t now;			/* session_clock() */
	struct ac_deframer df;
	struct ac_samples_dec dec;
	struct ac_samples_dec side;	/* late frames, off the main line */

	/* The boot: known only after a HELLO on this connection. */
	bool have_hello;
	bool incompatible;		/* ignore all but HELLO until fixed */
	struct ac_msg_hello hello;
	bool have_last;			/* a boot seen on an earlier connection */
	struct ac_msg_hello last;
	uint64_t dead[4];		/* boots superseded: their HELLO is a replay */
	uint32_t ndead;

	struct ac_counter_info ctr[AC_MAX_COUNTERS];
	uint8_t desc_have[(AC_MAX_COUNTERS + 7) / 8];
	uint32_t desc_gen;
	uint32_t ndesc;			/* counters in the current set */
	bool desc_complete;

	bool have_seq;
	uint32_t next_seq;		/* one past the newest seen */
	uint8_t seen[SESSION_SEQ_WINDOW / 8];

	struct session_stash stash[SESSION_STASH];
	uint32_t nstash;
	bool ref_pending;
	uint64_t ref_index;
	uint64_t ref_asked;
	uint32_t ref_req;
	bool ref_unsupported;		/* the agent does not know the command */
	bool hello_pending;
	uint64_t hello_asked;

	uint32_t crc_run;		/* CRC failures in a row */
	uint32_t tx_seq;
	uint32_t next_req;
	struct session_stats st;
	char why[160];			/* last version or malformed message */
};

void session_init(struct session *, const struct session_cb *, void *arg);
/* Forget the link state (reconnect): the next HELLO starts afresh; until
 * it comes no sample belongs to any boot. */
void session_reset(struct session *);
/* The caller's clock (microseconds), for retries and the stash. */
void session_clock(struct session *, uint64_t now);
void session_feed(struct session *, const uint8_t *buf, size_t n);
/* Retries what is due; call now and then. */
void session_tick(struct session *, uint64_t now);
/* Encodes a command frame; returns its length or 0.  Sets c->req_id. */
size_t session_cmd(struct session *, struct ac_msg_cmd *c, uint8_t *out,
    size_t cap);
/* Encodes any frame to the agent (IMAGE_OFFER, IMAGE_DATA); its length,
 * or 0 when it does not fit cap. */
size_t session_frame(struct session *, uint8_t type, const uint8_t *payload,
    size_t len, uint8_t *out, size_t cap);
/* Asks for HELLO and DESC again (rate-limited); why goes in the event. */
void session_ask_hello(struct session *, const char *why);
const char *session_event_name(enum session_event);

#endif
