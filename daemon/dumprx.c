/* Crash dump reassembly (dumprx.h). */
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "dumprx.h"
#include "xfer.h"

void
dumprx_reset(struct dumprx *x)
{
	free(x->buf);
	memset(x, 0, sizeof(*x));
}

bool
dumprx_same(const struct ac_msg_dump_info *a, const struct ac_msg_dump_info *b)
{
	return a->dump_id == b->dump_id && a->boot_id == b->boot_id &&
	    a->total == b->total && memcmp(a->sha256, b->sha256, 32) == 0;
}

static bool
verified(const struct dumprx *x)
{
	uint8_t md[32];

	sha256(x->buf, x->info.total, md);
	return memcmp(md, x->info.sha256, sizeof(md)) == 0;
}

int
dumprx_offer(struct dumprx *x, const struct ac_msg_dump_info *m,
    uint32_t *ack)
{
	if (x->active && dumprx_same(&x->info, m)) {
		x->resumes++;
		x->nak_sent = false;
		x->acked = *ack = x->got;
		return x->got == x->info.total ? DRX_COMPLETE : DRX_ACK;
	}
	if (m->total == 0 || m->total > AC_DUMP_MAX)
		return -1;
	dumprx_reset(x);
	if ((x->buf = malloc(m->total)) == NULL)
		return -1;
	x->active = true;
	x->info = *m;
	*ack = 0;
	return DRX_ACK;
}

int
dumprx_load(struct dumprx *x, const struct ac_msg_dump_info *m,
    const uint8_t *data, uint32_t n)
{
	dumprx_reset(x);
	if (m->total == 0 || m->total > AC_DUMP_MAX || n > m->total ||
	    (x->buf = malloc(m->total)) == NULL)
		return -1;
	memcpy(x->buf, data, n);
	x->active = true;
	x->info = *m;
	x->got = x->acked = x->loaded = n;
	return 0;
}

enum dumprx_res
dumprx_data(struct dumprx *x, const struct ac_msg_dump_data *m,
    uint32_t *ack)
{
	enum xfer_place at;

	if (!x->active || m->dump_id != x->info.dump_id ||
	    x->got == x->info.total)
		return DRX_NONE;
	at = xfer_place(&(struct xfer_span){ 0, x->info.total, x->got }, 0,
	    x->info.total, m->offset, m->len);
	if (at == XFER_FOREIGN || at == XFER_DUP)
		return DRX_NONE;	/* not of it, or already here */
	if (at != XFER_NEXT || ac_crc32c(0, m->data, m->len) != m->crc) {
		if (at == XFER_NEXT)
			x->crc_errors++;
		else
			x->gaps++;
		/* Once per gap: the agent goes back to got.  Should this
		 * answer be lost, it offers again after a second. */
		if (x->nak_sent)
			return DRX_NONE;
		x->nak_sent = true;
		x->acked = x->got;
		*ack = x->got | AC_DUMP_RESEND;
		return DRX_ACK;
	}
	memcpy(x->buf + x->got, m->data, m->len);
	x->got += m->len;
	x->nak_sent = false;
	if (x->got == x->info.total) {
		if (verified(x))
			return DRX_COMPLETE;
		/* Frames passed their CRCs yet the whole differs: the
		 * source changed under the agent, or the store returned
		 * other bytes.  Start over, a few times. */
		if (++x->sha_failures >= DUMPRX_MAX_RETRIES)
			return DRX_FAILED;
		x->got = 0;
		x->acked = 0;
		*ack = AC_DUMP_RESEND;
		return DRX_ACK;
	}
	if (x->got - x->acked >= DUMPRX_ACK_EVERY) {
		x->acked = *ack = x->got;
		return DRX_ACK;
	}
	return DRX_NONE;
}
