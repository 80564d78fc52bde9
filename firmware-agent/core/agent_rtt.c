/*
 * SEGGER RTT, read by core 0 (appcore/rtt.h, docs/rtt.md): the agent looks
 * for a control block in the configured core-1 range, checks everything it
 * says before following it, streams its up-buffers as RTT messages and
 * advances their read offsets as a J-Link does.  A control block that lies
 * (counts, descriptors or buffers outside the range, sizes that overflow,
 * offsets past a buffer) is refused with an RTT REFUSED message, never
 * followed; the agent looks again a second later.
 *
 * Core 1 writes the control block and the buffers; the agent reads them
 * with single-word loads and writes only rd_off, after the bytes it read
 * are in its queue.  A byte the agent could not queue stays in core 1's
 * buffer, so the writer's own mode (skip, trim, block) decides what a full
 * buffer does, as with a probe.
 */
#include <string.h>

#include "agent_internal.h"
#include "appcore/rtt.h"

#define RTT_SCAN_PER_POLL	16384u	/* bytes searched per poll */
#define RTT_SCAN_EVERY_US	1000000u	/* a full search at most this often */
#define RTT_BYTES_PER_POLL	4096u	/* streamed per visit, all channels */
#define RTT_EVERY_US		10000u	/* RTT's turn comes this often */
#define RTT_ID_WORD0		0x47474553u	/* "SEGG" */

enum { RTT_OFF, RTT_SEARCH, RTT_FOLLOW };

/* ---- the range: core-1 addresses, checked before every access ---- */

static uint32_t
range_word(const struct ac_agent *a, uint32_t off)
{
	/* 4-aligned: the range (agent_rtt_init) and every word offset. */
	return AC_LOAD((const uint32_t *)(const void *)
	    ((const uint8_t *)a->cfg.rtt_mem + off));
}

static uint8_t
range_byte(const struct ac_agent *a, uint32_t off)
{
	return AC_LOAD((const uint8_t *)a->cfg.rtt_mem + off);
}

/* True, with *off the offset in the range, when [addr, addr + len) lies
 * inside the range (in 64 bits: nothing wraps). */
static bool
in_range(const struct ac_agent *a, uint32_t addr, uint32_t len, uint32_t *off)
{
	uint64_t lo = a->cfg.rtt_addr, hi = lo + a->cfg.rtt_size;

	if (addr < lo || (uint64_t)addr + len > hi)
		return false;
	*off = addr - (uint32_t)lo;
	return true;
}

static bool
id_at(const struct ac_agent *a, uint32_t off)
{
	static const char id[AC_RTT_ID_LEN] = AC_RTT_ID;

	if (range_word(a, off) != RTT_ID_WORD0)
		return false;
	for (uint32_t i = 4; i < AC_RTT_ID_LEN; i++)
		if (range_byte(a, off + i) != (uint8_t)id[i])
			return false;
	return true;
}

/* ---- the control block ---- */

struct rtt_buf {
	uint32_t desc;			/* the descriptor's offset */
	uint32_t buf, size;		/* offset of the bytes in the range */
};

static uint32_t
desc_word(const struct ac_agent *a, uint32_t ch, uint32_t w)
{
	return range_word(a, a->rtt.cb + AC_RTT_HDR + ch * AC_RTT_DESC + 4 * w);
}

static void
refuse(struct ac_agent *a, uint64_t now, uint8_t why, uint32_t ch,
    uint32_t addr, uint32_t size)
{
	struct ac_msg_rtt m;

	/* The same lie is told once, not at every search. */
	if (a->rtt.refused_why == why && a->rtt.refused_addr == addr)
		return;
	memset(&m, 0, sizeof(m));
	m.t_us = now;
	m.kind = AC_RTT_REFUSED;
	m.why = why;
	m.channel = (uint8_t)ch;
	m.addr = addr;
	m.size = size;
	if (agent_msg_send(a, AC_MSG_RTT, ac_rtt_encode(agent_msg_begin(a),
	    &m)) == 0) {
		a->rtt.refused_why = why;
		a->rtt.refused_addr = addr;
	}
}

/* Up-buffer ch as its descriptor says now; 0 when unused, else why not. */
static uint8_t
up_buffer(const struct ac_agent *a, uint32_t ch, struct rtt_buf *b,
    uint32_t *bad, uint32_t *bad_size)
{
	uint32_t addr = desc_word(a, ch, AC_RTT_D_BUFFER);
	uint32_t size = desc_word(a, ch, AC_RTT_D_SIZE);

	memset(b, 0, sizeof(*b));
	*bad = addr;
	*bad_size = size;
	if (size == 0)
		return 0;			/* not in use */
	if (size < 2 || !in_range(a, addr, size, &b->buf))
		return AC_RTT_WHY_BUFFER;
	if (desc_word(a, ch, AC_RTT_D_WR) >= size ||
	    desc_word(a, ch, AC_RTT_D_RD) >= size)
		return AC_RTT_WHY_OFFSET;
	b->size = size;
	return 0;
}

/* Checks the whole control block at the range offset cb; 0 or why not.
 * Sets a->rtt.cb and nup on success. */
static uint8_t
check_block(struct ac_agent *a, uint32_t cb, uint32_t *bad, uint32_t *bsize,
    uint32_t *bad_ch)
{
	int32_t up = (int32_t)range_word(a, cb + 16);
	int32_t down = (int32_t)range_word(a, cb + 20);
	struct rtt_buf b;
	uint64_t end;

	*bad = a->cfg.rtt_addr + cb;
	*bsize = 0;
	*bad_ch = 0;
	if (up < 0 || up > (int32_t)AC_RTT_MAX_BUFFERS || down < 0 ||
	    down > (int32_t)AC_RTT_MAX_BUFFERS)
		return AC_RTT_WHY_COUNTS;
	end = (uint64_t)cb + AC_RTT_HDR + (uint64_t)(up + down) * AC_RTT_DESC;
	if (end > a->cfg.rtt_size)
		return AC_RTT_WHY_BLOCK;
	a->rtt.cb = cb;
	a->rtt.nup = (uint32_t)up;
	for (uint32_t ch = 0; ch < (uint32_t)up; ch++) {
		uint8_t why = up_buffer(a, ch, &b, bad, bsize);

		if (why != 0) {
			*bad_ch = ch;
			return why;
		}
	}
	return 0;
}

/* ---- announcing ---- */

static void
channel_name(const struct ac_agent *a, uint32_t ch, char *name)
{
	uint32_t addr = desc_word(a, ch, AC_RTT_D_NAME), off, i;

	name[0] = '\0';
	if (addr == 0 || !in_range(a, addr, 1, &off))
		return;			/* in flash, say: not followed */
	for (i = 0; i < AC_RTT_NAME_MAX && off + i < a->cfg.rtt_size; i++) {
		uint8_t c = range_byte(a, off + i);

		if (c == 0)
			break;
		name[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	name[i] = '\0';
}

/* defmt-rtt names its channel "defmt". */
static bool
named_binary(const char *name)
{
	static const char defmt[] = "defmt";

	for (size_t i = 0; i < sizeof(defmt) - 1; i++)
		if (name[i] != defmt[i])
			return false;
	return true;
}

/* FOUND, then a CHANNEL for each buffer in use, each once per host. */
static void
announce(struct ac_agent *a, uint64_t now)
{
	struct ac_msg_rtt m;

	memset(&m, 0, sizeof(m));
	m.t_us = now;
	if (!a->rtt.found_told) {
		m.kind = AC_RTT_FOUND;
		m.addr = a->cfg.rtt_addr + a->rtt.cb;
		m.size = a->rtt.nup;
		if (agent_msg_send(a, AC_MSG_RTT, ac_rtt_encode(
		    agent_msg_begin(a), &m)) < 0)
			return;
		a->rtt.found_told = true;
	}
	for (uint32_t ch = 0; ch < a->rtt.nup; ch++) {
		uint32_t bit = 1u << ch;

		if ((a->rtt.told & bit) != 0 ||
		    desc_word(a, ch, AC_RTT_D_SIZE) == 0)
			continue;
		m.kind = AC_RTT_CHANNEL;
		m.channel = (uint8_t)ch;
		m.addr = desc_word(a, ch, AC_RTT_D_BUFFER);
		m.size = desc_word(a, ch, AC_RTT_D_SIZE);
		channel_name(a, ch, m.name);
		a->rtt.binary = (uint16_t)((a->rtt.binary & ~bit) |
		    (named_binary(m.name) ? bit : 0));
		m.flags = (a->rtt.binary & bit) ? AC_RTT_BINARY : 0;
		if (agent_msg_send(a, AC_MSG_RTT, ac_rtt_encode(
		    agent_msg_begin(a), &m)) < 0)
			return;
		a->rtt.told |= (uint16_t)bit;
	}
}

/* ---- searching ---- */

static void
search(struct ac_agent *a, uint64_t now)
{
	uint32_t end, bad, bsize, ch;
	uint8_t why;

	if (now < a->rtt.next_scan_t)
		return;
	end = a->rtt.scan_pos + RTT_SCAN_PER_POLL;
	if (end > a->cfg.rtt_size - AC_RTT_HDR + 4)
		end = a->cfg.rtt_size - AC_RTT_HDR + 4;
	for (uint32_t off = a->rtt.scan_pos; off < end; off += 4) {
		if (!id_at(a, off))
			continue;
		why = check_block(a, off, &bad, &bsize, &ch);
		if (why == 0 && a->rtt.nup > 0) {
			a->rtt.state = RTT_FOLLOW;
			a->rtt.found_told = false;
			a->rtt.told = 0;
			a->rtt.refused_why = 0;
			announce(a, now);
			return;
		}
		if (why != 0)
			refuse(a, now, why, ch, bad, bsize);
	}
	a->rtt.scan_pos = end;
	if (end >= a->cfg.rtt_size - AC_RTT_HDR + 4) {
		a->rtt.scan_pos = 0;
		a->rtt.next_scan_t = now + RTT_SCAN_EVERY_US;
	}
}

static void
lose_block(struct ac_agent *a, uint64_t now)
{
	a->rtt.state = RTT_SEARCH;
	a->rtt.scan_pos = 0;
	a->rtt.next_scan_t = now + RTT_SCAN_EVERY_US;
}

/* ---- streaming ---- */

static bool
is_text(const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' &&
		    p[i] != '\t') || p[i] == 0x7f)
			return false;
	return true;
}

/* Sends what channel ch holds, up to *budget bytes; false when the queue
 * is full.  rd_off moves only past bytes that are queued. */
static bool
drain_channel(struct ac_agent *a, uint64_t now, uint32_t ch,
    const struct rtt_buf *b, uint32_t *budget)
{
	uint32_t wr = desc_word(a, ch, AC_RTT_D_WR);
	uint32_t rd = desc_word(a, ch, AC_RTT_D_RD);
	uint32_t rd_off = a->rtt.cb + AC_RTT_HDR + ch * AC_RTT_DESC +
	    4 * AC_RTT_D_RD;
	struct ac_msg_rtt m;

	AC_FENCE_ACQ();
	while (rd != wr && *budget > 0) {
		uint32_t n = wr > rd ? wr - rd : b->size - rd;

		if (n > AC_RTT_CHUNK)
			n = AC_RTT_CHUNK;
		if (n > *budget)
			n = *budget;
		memset(&m, 0, sizeof(m));
		m.t_us = now;
		m.kind = AC_RTT_DATA;
		m.channel = (uint8_t)ch;
		for (uint32_t i = 0; i < n; i++)
			m.data[i] = range_byte(a, b->buf + rd + i);
		m.len = (uint16_t)n;
		if ((a->rtt.binary & (1u << ch)) != 0 || !is_text(m.data, n))
			m.flags = AC_RTT_BINARY;
		if (agent_msg_send(a, AC_MSG_RTT, ac_rtt_encode(
		    agent_msg_begin(a), &m)) < 0)
			return false;
		rd = rd + n == b->size ? 0 : rd + n;
		AC_FENCE_REL();
		AC_STORE((uint32_t *)(void *)((uint8_t *)a->cfg.rtt_mem +
		    rd_off), rd);
		*budget -= n;
	}
	return true;
}

static void
follow(struct ac_agent *a, uint64_t now)
{
	uint32_t budget = RTT_BYTES_PER_POLL, bad, bsize, ch;
	struct rtt_buf b;
	uint8_t why;

	if (!id_at(a, a->rtt.cb)) {
		lose_block(a, now);	/* core 1 started over: look again */
		return;
	}
	/* Everything is checked again: core 1 may have scribbled on it. */
	why = check_block(a, a->rtt.cb, &bad, &bsize, &ch);
	if (why != 0) {
		refuse(a, now, why, ch, bad, bsize);
		lose_block(a, now);
		return;
	}
	announce(a, now);
	for (ch = 0; ch < a->rtt.nup; ch++) {
		/* A channel's bytes go only after its CHANNEL (the host names
		 * and types them by it); until then they wait in core 1. */
		if ((a->rtt.told & (1u << ch)) == 0)
			continue;
		(void)up_buffer(a, ch, &b, &bad, &bsize);
		if (b.size != 0 && !drain_channel(a, now, ch, &b, &budget))
			return;
	}
}

void
agent_rtt_init(struct ac_agent *a)
{
	memset(&a->rtt, 0, sizeof(a->rtt));
	if (a->cfg.rtt_mem == NULL || a->cfg.rtt_size < AC_RTT_HDR +
	    AC_RTT_DESC || ((uintptr_t)a->cfg.rtt_mem & 3u) != 0 ||
	    (a->cfg.rtt_addr & 3u) != 0 || (a->cfg.rtt_size & 3u) != 0 ||
	    (uint64_t)a->cfg.rtt_addr + a->cfg.rtt_size > UINT32_MAX + 1ull)
		return;			/* no range: RTT off */
	a->rtt.state = RTT_SEARCH;
}

void
agent_rtt_hello(struct ac_agent *a)
{
	a->rtt.found_told = false;
	a->rtt.told = 0;
	a->rtt.refused_why = 0;
}

/* Every RTT_EVERY_US, not every poll: at 1 kHz sampling the agent's
 * polls stay the sampler's (a J-Link reads RTT every few ms too); 4 KiB
 * per visit is 400 KB/s. */
void
agent_rtt_poll(struct ac_agent *a, uint64_t now)
{
	if (a->rtt.state == RTT_OFF || now < a->rtt.next_t)
		return;
	/* A crash dump is being frozen or sent from the region: the agent
	 * writes nothing there (rd_off) until the host has it.  What core 1
	 * wrote to RTT before it stopped comes after the dump. */
	if (agent_dump_busy(a))
		return;
	a->rtt.next_t = now + RTT_EVERY_US;
	if (a->rtt.state == RTT_SEARCH)
		search(a, now);
	else if (a->rtt.state == RTT_FOLLOW)
		follow(a, now);
}
