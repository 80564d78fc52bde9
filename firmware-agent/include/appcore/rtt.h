/*
 * SEGGER RTT, read by core 0 (docs/rtt.md).  A core-1 program that logs
 * through RTT (SEGGER's RTT library, rtt-target, defmt-rtt, or the writers
 * here) lays out a control block in its RAM; the agent finds it in a
 * configured core-1 address range, streams its up-buffers to the host as
 * RTT messages and advances each buffer's read offset, as a J-Link would.
 *
 * The control block as a 32-bit core lays it out (every field a
 * little-endian u32, addresses are core-1 addresses):
 *
 *   0   char id[16]          "SEGGER RTT", NUL-padded; written last
 *   16  i32 max_up           up-buffer descriptors (core 1 to host)
 *   20  i32 max_down         down-buffer descriptors (host to core 1)
 *   24  desc up[max_up], then down[max_down], 24 bytes each:
 *       name (address of a NUL-terminated string, or 0), buffer (address),
 *       size, wr_off (the writer's), rd_off (the reader's), flags (the
 *       writer's mode in bits 1:0: 0 skip, 1 trim, 2 block when full)
 *
 * A buffer holds size - 1 bytes at most: wr_off == rd_off means empty.
 * A name outside the range (in flash, say) is not read: the channel is
 * known by its number.
 */
#ifndef APPCORE_RTT_H
#define APPCORE_RTT_H

#include <stdint.h>

#include "wire.h"

#define AC_RTT_ID		"SEGGER RTT"
#define AC_RTT_ID_LEN		16u
#define AC_RTT_HDR		24u	/* id, max_up, max_down */
#define AC_RTT_DESC		24u	/* one buffer descriptor */
#define AC_RTT_MAX_BUFFERS	16u	/* per direction; more is refused */
#define AC_RTT_NAME_MAX		31u	/* longer names are cut */
#define AC_RTT_CHUNK		256u	/* data bytes per RTT message */

/* Descriptor words. */
enum { AC_RTT_D_NAME, AC_RTT_D_BUFFER, AC_RTT_D_SIZE, AC_RTT_D_WR,
	AC_RTT_D_RD, AC_RTT_D_FLAGS };

/* The writer's mode when a write does not fit (flags bits 1:0). */
enum ac_rtt_mode {
	AC_RTT_MODE_SKIP = 0,		/* the write is dropped whole */
	AC_RTT_MODE_TRIM = 1,		/* what fits is written */
	AC_RTT_MODE_BLOCK = 2		/* the writer waits for the reader */
};

/* RTT message kinds. */
enum ac_rtt_kind {
	AC_RTT_DATA = 1,	/* bytes of one up-buffer, in order */
	AC_RTT_FOUND = 2,	/* a valid control block: addr, size = max_up */
	AC_RTT_CHANNEL = 3,	/* an up-buffer in use: name, addr, size */
	AC_RTT_REFUSED = 4,	/* a control block that lies: why, addr, size */
	AC_RTT_KIND_COUNT
};

/* ac_msg_rtt.flags */
#define AC_RTT_BINARY		0x01u	/* not text (defmt): kept as bytes */

/* Why a control block was refused. */
enum ac_rtt_why {
	AC_RTT_WHY_COUNTS = 1,	/* max_up or max_down outside 0..16 */
	AC_RTT_WHY_BLOCK = 2,	/* the descriptors run past the range */
	AC_RTT_WHY_BUFFER = 3,	/* a buffer outside the range, or its size
				 * 0 < size < 2 or overflowing */
	AC_RTT_WHY_OFFSET = 4,	/* a read or write offset >= size */
	AC_RTT_WHY_COUNT
};

/* For tables generated from this header (the Rust crate's layout test). */
#define AC_RTT_CONSTANTS(C) \
	C(AC_RTT_ID_LEN) C(AC_RTT_HDR) C(AC_RTT_DESC) C(AC_RTT_MAX_BUFFERS) \
	C(AC_RTT_MODE_SKIP) C(AC_RTT_MODE_TRIM) C(AC_RTT_MODE_BLOCK) \
	C(AC_RTT_D_NAME) C(AC_RTT_D_BUFFER) C(AC_RTT_D_SIZE) C(AC_RTT_D_WR) \
	C(AC_RTT_D_RD) C(AC_RTT_D_FLAGS)

struct ac_msg_rtt {
	uint64_t t_us;
	uint8_t kind;			/* enum ac_rtt_kind */
	uint8_t channel;		/* DATA, CHANNEL, REFUSED: up-buffer */
	uint8_t flags;			/* DATA, CHANNEL: AC_RTT_BINARY */
	uint8_t why;			/* REFUSED: enum ac_rtt_why */
	uint32_t addr;			/* FOUND: control block; CHANNEL:
					 * buffer; REFUSED: what lies */
	uint32_t size;			/* FOUND: max_up; CHANNEL, REFUSED:
					 * the buffer's size */
	char name[AC_RTT_NAME_MAX + 1];	/* CHANNEL */
	uint16_t len;			/* DATA */
	uint8_t data[AC_RTT_CHUNK];
};

int ac_rtt_encode(struct ac_wr *, const struct ac_msg_rtt *);
int ac_rtt_decode(struct ac_rd *, struct ac_msg_rtt *) AC_WIRE_WARN_UNUSED;
const char *ac_rtt_why_name(unsigned why);

#endif /* APPCORE_RTT_H */
