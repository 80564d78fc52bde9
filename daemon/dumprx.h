/*
 * Reassembly of a crash dump the agent sends in DUMP_DATA chunks: in
 * order, each chunk's CRC-32C checked, the whole checked against the
 * SHA-256 the agent computed when it froze the crash.  A transfer cut
 * off resumes from the bytes already here when the agent offers the same
 * dump again.  Pure: no I/O, fuzzed by tests/fuzz/fuzz_dump.c.
 */
#ifndef APPCORE_DUMPRX_H
#define APPCORE_DUMPRX_H

#include <stdbool.h>
#include <stdint.h>

#include "appcore/wire.h"

#define DUMPRX_ACK_EVERY	(4u * AC_DUMP_CHUNK)
#define DUMPRX_MAX_RETRIES	3u	/* whole-dump SHA-256 mismatches */

enum dumprx_res {
	DRX_NONE,		/* nothing to answer */
	DRX_ACK,		/* answer DUMP_ACK *ack: bytes here, or
				 * AC_DUMP_RESEND | where to go back to */
	DRX_COMPLETE,		/* all bytes here, SHA-256 verified */
	DRX_FAILED		/* gave up (retries); answer AC_DUMP_DONE */
};

struct dumprx {
	bool active;
	struct ac_msg_dump_info info;
	uint8_t *buf;
	uint32_t got;			/* bytes in order from 0 */
	uint32_t acked;			/* last acknowledged */
	bool nak_sent;			/* a gap was reported at got */
	uint32_t sha_failures;
	uint64_t crc_errors;		/* chunks that failed their CRC */
	uint64_t gaps;			/* chunks out of order (lost before) */
	uint64_t resumes;		/* offers of a dump partly here */
	uint32_t loaded;		/* bytes an earlier daemon run had */
};

/* Whether two offers name the same dump. */
bool dumprx_same(const struct ac_msg_dump_info *, const struct ac_msg_dump_info *);
/*
 * Starts from the first n bytes of a dump that an earlier run of the
 * daemon received (its partial file); 0, or -1 when n is more than the
 * dump or memory is short.
 */
int dumprx_load(struct dumprx *, const struct ac_msg_dump_info *,
    const uint8_t *data, uint32_t n);

/*
 * The agent offers a dump: the same one again resumes (DRX_ACK with what
 * is here, or DRX_COMPLETE when all of it is); another one starts from 0.
 * -1 when the buffer cannot be allocated.
 */
int dumprx_offer(struct dumprx *, const struct ac_msg_dump_info *,
    uint32_t *ack);
enum dumprx_res dumprx_data(struct dumprx *, const struct ac_msg_dump_data *,
    uint32_t *ack);
/* Forget the dump and free its buffer. */
void dumprx_reset(struct dumprx *);

#endif
