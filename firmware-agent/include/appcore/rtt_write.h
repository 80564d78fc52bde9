/*
 * A small SEGGER RTT writer for core-1 C code and the tests (the Rust
 * crate has its own, appcore_core1::rtt): lays out a control block, its
 * names and its up-buffers in an area of core-1 RAM, and writes to a
 * buffer in the buffer's mode (appcore/rtt.h).  Header only, freestanding,
 * one writer per buffer; the reader (the agent, or a probe) moves rd_off.
 *
 * `area_addr` is the address core 1 and core 0 know the area by: on the
 * board `(uint32_t)area`; in the simulator the emulated address.  The
 * control block holds such addresses only.
 */
#ifndef APPCORE_RTT_WRITE_H
#define APPCORE_RTT_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "region.h"		/* AC_LOAD, AC_STORE, fences */
#include "rtt.h"

struct ac_rtt_chan {
	const char *name;
	uint32_t size;			/* buffer bytes (holds size - 1) */
	uint8_t mode;			/* enum ac_rtt_mode */
};

struct ac_rtt_writer {
	uint8_t *area;
	uint32_t addr;			/* area's core-1 address */
	uint32_t size;			/* area's bytes */
	uint32_t nup;
};

static inline uint32_t *
ac_rtt__desc(const struct ac_rtt_writer *w, uint32_t ch)
{
	return (uint32_t *)(void *)(w->area + AC_RTT_HDR + ch * AC_RTT_DESC);
}

/*
 * Lays out a control block with nup up-buffers and one unused down-buffer
 * at the start of area (4-aligned), names and buffers after it.  Returns 0,
 * or -1 when it does not fit in area_size or nup is 0 or above 16.  The
 * id is written last, so a reader never sees half a control block.
 */
static inline int
ac_rtt_init(struct ac_rtt_writer *w, void *area, uint32_t area_addr,
    uint32_t area_size, const struct ac_rtt_chan *up, uint32_t nup)
{
	static const char id[AC_RTT_ID_LEN] = AC_RTT_ID;
	uint32_t pos = AC_RTT_HDR + (nup + 1) * AC_RTT_DESC;

	if (nup == 0 || nup > AC_RTT_MAX_BUFFERS || ((uintptr_t)area & 3u))
		return -1;
	w->area = area;
	w->addr = area_addr;
	w->size = area_size;
	w->nup = nup;
	for (uint32_t i = 0; i < AC_RTT_ID_LEN; i++)
		AC_STORE(&w->area[i], (uint8_t)0);
	for (uint32_t ch = 0; ch < nup; ch++) {
		uint32_t *d = ac_rtt__desc(w, ch), n = 0;

		while (up[ch].name != NULL && up[ch].name[n] != '\0')
			n++;
		if ((uint64_t)((pos + n + 1 + 3) & ~3u) + up[ch].size >
		    area_size)
			return -1;
		for (uint32_t i = 0; i <= n; i++)
			AC_STORE(&w->area[pos + i],
			    (uint8_t)(i < n ? up[ch].name[i] : 0));
		AC_STORE(&d[AC_RTT_D_NAME], area_addr + pos);
		pos = (pos + n + 1 + 3) & ~3u;
		AC_STORE(&d[AC_RTT_D_BUFFER], area_addr + pos);
		AC_STORE(&d[AC_RTT_D_SIZE], up[ch].size);
		AC_STORE(&d[AC_RTT_D_WR], 0u);
		AC_STORE(&d[AC_RTT_D_RD], 0u);
		AC_STORE(&d[AC_RTT_D_FLAGS], (uint32_t)up[ch].mode);
		pos = (pos + up[ch].size + 3) & ~3u;
	}
	for (uint32_t i = 0; i < 6; i++)	/* the down-buffer: unused */
		AC_STORE(&ac_rtt__desc(w, nup)[i], 0u);
	AC_STORE((uint32_t *)(void *)(w->area + 16), nup);
	AC_STORE((uint32_t *)(void *)(w->area + 20), 1u);
	AC_FENCE_REL();
	for (uint32_t i = AC_RTT_ID_LEN; i-- > 0;)
		AC_STORE(&w->area[i], (uint8_t)id[i]);
	return 0;
}

/* Free bytes in up-buffer ch (one stays empty). */
static inline uint32_t
ac_rtt__free(const uint32_t *d, uint32_t size, uint32_t wr)
{
	uint32_t rd = AC_LOAD(&d[AC_RTT_D_RD]);

	return rd > wr ? rd - wr - 1 : size - 1 - wr + rd;
}

/*
 * Writes n bytes to up-buffer ch as its mode says: skip drops a write that
 * does not fit whole, trim writes what fits, block waits for the reader.
 * Returns the bytes written; 0 when the descriptor no longer describes a
 * buffer inside the area (something scribbled over it).
 */
static inline uint32_t
ac_rtt_write(struct ac_rtt_writer *w, uint32_t ch, const void *p, uint32_t n)
{
	const uint8_t *src = p;
	uint32_t *d, size, wr, done = 0, mode, off;

	if (ch >= w->nup)
		return 0;
	d = ac_rtt__desc(w, ch);
	size = AC_LOAD(&d[AC_RTT_D_SIZE]);
	wr = AC_LOAD(&d[AC_RTT_D_WR]);
	mode = AC_LOAD(&d[AC_RTT_D_FLAGS]) & 3u;
	off = AC_LOAD(&d[AC_RTT_D_BUFFER]) - w->addr;
	if (size < 2 || wr >= size || off > w->size || size > w->size - off)
		return 0;
	if (mode == AC_RTT_MODE_SKIP && ac_rtt__free(d, size, wr) < n)
		return 0;
	while (done < n) {
		uint32_t room = ac_rtt__free(d, size, wr);

		if (room == 0) {
			if (mode != AC_RTT_MODE_BLOCK)
				break;
			continue;	/* the reader will make room */
		}
		AC_FENCE_ACQ();		/* the reader is done with the bytes */
		for (; room > 0 && done < n; room--, done++) {
			AC_STORE(&w->area[off + wr], src[done]);
			wr = wr + 1 == size ? 0 : wr + 1;
		}
		AC_FENCE_REL();
		AC_STORE(&d[AC_RTT_D_WR], wr);
	}
	return done;
}

#endif /* APPCORE_RTT_WRITE_H */
