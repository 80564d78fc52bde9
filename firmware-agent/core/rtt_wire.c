/*
 * The RTT message (appcore/rtt.h, docs/protocol.md "RTT"): one codec for
 * the agent and the host.
 */
#include <string.h>

#include "appcore/rtt.h"
#include "wire_internal.h"

static const char *const why_names[AC_RTT_WHY_COUNT] = {
	[AC_RTT_WHY_COUNTS] = "buffer counts outside 0..16",
	[AC_RTT_WHY_BLOCK] = "descriptors past the range",
	[AC_RTT_WHY_BUFFER] = "buffer outside the range",
	[AC_RTT_WHY_OFFSET] = "offset past the buffer",
};

const char *
ac_rtt_why_name(unsigned why)
{
	return why > 0 && why < AC_RTT_WHY_COUNT ? why_names[why] : "?";
}

int
ac_rtt_encode(struct ac_wr *w, const struct ac_msg_rtt *m)
{
	ac_wr_varint(w, m->t_us);
	ac_wr_u8(w, m->kind);
	ac_wr_u8(w, m->channel);
	ac_wr_u8(w, m->flags);
	ac_wr_u8(w, m->why);
	ac_wr_varint(w, m->addr);
	ac_wr_varint(w, m->size);
	if (m->kind == AC_RTT_CHANNEL)
		ac_wr_str(w, m->name, AC_RTT_NAME_MAX);
	if (m->kind == AC_RTT_DATA) {
		ac_wr_varint(w, m->len);
		ac_wr_bytes(w, m->data, m->len <= AC_RTT_CHUNK ? m->len :
		    AC_RTT_CHUNK);
	}
	return wr_done(w);
}

static int
rtt_check(struct ac_rd *r, const struct ac_msg_rtt *m)
{
	if (m->kind < AC_RTT_DATA || m->kind >= AC_RTT_KIND_COUNT)
		RD_FAIL(r, AC_ERANGE, "rtt kind");
	if (m->kind != AC_RTT_FOUND && m->channel >= AC_RTT_MAX_BUFFERS)
		RD_FAIL(r, AC_ERANGE, "rtt channel");
	if ((m->flags & ~AC_RTT_BINARY) != 0)
		RD_FAIL(r, AC_ERANGE, "rtt flags");
	if (m->kind == AC_RTT_REFUSED &&
	    (m->why == 0 || m->why >= AC_RTT_WHY_COUNT))
		RD_FAIL(r, AC_ERANGE, "rtt refusal reason");
	if (m->kind == AC_RTT_FOUND && m->size > AC_RTT_MAX_BUFFERS)
		RD_FAIL(r, AC_ERANGE, "rtt buffer count");
	return 0;
}

int
ac_rtt_decode(struct ac_rd *r, struct ac_msg_rtt *m)
{
	uint32_t len;

	memset(m, 0, sizeof(*m));
	TRY(ac_rd_varint(r, &m->t_us));
	TRY(ac_rd_u8(r, &m->kind));
	TRY(ac_rd_u8(r, &m->channel));
	TRY(ac_rd_u8(r, &m->flags));
	TRY(ac_rd_u8(r, &m->why));
	TRY(ac_rd_varint32(r, &m->addr));
	TRY(ac_rd_varint32(r, &m->size));
	TRY(rtt_check(r, m));
	if (m->kind == AC_RTT_CHANNEL)
		TRY(ac_rd_str(r, m->name, sizeof(m->name)));
	if (m->kind == AC_RTT_DATA) {
		TRY(ac_rd_varint32(r, &len));
		if (len == 0 || len > AC_RTT_CHUNK)
			RD_FAIL(r, AC_ERANGE, "rtt data length");
		TRY(ac_rd_bytes(r, m->data, len));
		m->len = (uint16_t)len;
	}
	return ac_rd_end(r);
}
