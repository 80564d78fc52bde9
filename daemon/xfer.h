/*
 * One reassembly discipline for everything the agent sends in chunks
 * (memory reads, snapshots, crash dumps): a transfer is `total` bytes from
 * `start`, taken strictly in order, and every chunk is checked against
 * the transfer it claims to belong to before a byte of it is copied.
 */
#ifndef APPCORE_XFER_H
#define APPCORE_XFER_H

#include <stdint.h>

struct xfer_span {
	uint32_t start;			/* first offset of the transfer */
	uint32_t total;			/* bytes in it */
	uint32_t got;			/* bytes here, in order from start */
};

enum xfer_place {
	XFER_NEXT,			/* the next bytes: copy at got */
	XFER_DUP,			/* already here (sent again) */
	XFER_GAP,			/* past got: a chunk before it was lost */
	XFER_FOREIGN			/* not of this transfer, or out of it */
};

/*
 * Where a chunk (claiming transfer start/total, at offset, len bytes)
 * falls in x.  Only XFER_NEXT may be copied, to offset - start ==
 * x->got, and it fits: got + len <= total.
 */
static inline enum xfer_place
xfer_place(const struct xfer_span *x, uint32_t start, uint32_t total,
    uint32_t offset, uint32_t len)
{
	uint32_t at;

	if (start != x->start || total != x->total || offset < x->start ||
	    len == 0)
		return XFER_FOREIGN;
	at = offset - x->start;
	if (at > x->total || len > x->total - at)
		return XFER_FOREIGN;
	if (at == x->got)
		return XFER_NEXT;
	if (at < x->got)
		return len <= x->got - at ? XFER_DUP : XFER_GAP;
	return XFER_GAP;
}

#endif
