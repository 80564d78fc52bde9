/*
 * The host side of one agent link: frames in, decoded messages and
 * accounted losses out.  No I/O here; the caller feeds bytes and sends
 * what session_cmd() encodes.
 */
#ifndef APPCORE_SESSION_H
#define APPCORE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "appcore/wire.h"

enum session_event {
	SE_CRC_ERROR,		/* a frame failed its CRC */
	SE_FRAMING_ERROR,	/* bad COBS, runt or oversize frame */
	SE_SEQ_GAP,		/* count = frames missing */
	SE_SAMPLES_LOST,	/* count = samples missing */
	SE_MALFORMED,		/* a frame with a good CRC that did not decode */
	SE_VERSION,		/* the agent speaks a version we do not */
	SE_NEW_BOOT,		/* HELLO with a boot id not seen before */
	SE_COUNT
};

struct session;

struct session_cb {
	void (*hello)(void *arg, struct session *);
	void (*desc)(void *arg, struct session *);	/* set complete */
	void (*sample)(void *arg, uint64_t index, uint64_t t_us,
	    const uint32_t *vals, uint32_t ncols);
	void (*log)(void *arg, const struct ac_msg_log *);
	void (*state)(void *arg, const struct ac_msg_state *);
	void (*crash)(void *arg, const struct ac_msg_crash *);
	void (*mem)(void *arg, const struct ac_msg_mem *);
	void (*dump_info)(void *arg, const struct ac_msg_dump_info *);
	void (*dump_data)(void *arg, const struct ac_msg_dump_data *);
	void (*reply)(void *arg, const struct ac_msg_reply *);
	void (*stats)(void *arg, const struct ac_msg_stats *);
	void (*event)(void *arg, enum session_event, uint64_t count,
	    const char *detail);
};

struct session_stats {
	uint64_t frames;
	uint64_t crc_errors;
	uint64_t framing_errors;
	uint64_t seq_gaps;		/* gap events */
	uint64_t frames_lost;		/* frames inside those gaps */
	uint64_t samples;
	uint64_t samples_lost;
	uint64_t malformed;
	uint64_t version_errors;
};

struct session {
	const struct session_cb *cb;
	void *arg;
	struct ac_deframer df;
	struct ac_samples_dec dec;
	bool have_hello;
	bool incompatible;		/* ignore all but HELLO until fixed */
	struct ac_msg_hello hello;
	struct ac_counter_info ctr[AC_MAX_COUNTERS];
	uint8_t desc_have[(AC_MAX_COUNTERS + 7) / 8];
	uint32_t desc_gen;
	uint32_t ndesc;			/* counters in the current set */
	bool desc_complete;
	bool have_seq;
	uint32_t next_seq;
	bool have_index;
	uint64_t next_index;
	uint32_t tx_seq;
	uint32_t next_req;
	struct session_stats st;
	char why[160];			/* last version or malformed message */
};

void session_init(struct session *, const struct session_cb *, void *arg);
/* Forget the link state (reconnect): the next HELLO starts afresh. */
void session_reset(struct session *);
void session_feed(struct session *, const uint8_t *buf, size_t n);
/* Encodes a command frame; returns its length or 0.  Sets c->req_id. */
size_t session_cmd(struct session *, struct ac_msg_cmd *c, uint8_t *out,
    size_t cap);
const char *session_event_name(enum session_event);

#endif
