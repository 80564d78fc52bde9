/*
 * Little-endian fields in byte buffers (the shared region as stored,
 * crash registers, the partial-dump header, ELF core files): the one
 * reader and writer the daemon uses.
 */
#ifndef APPCORE_LE_H
#define APPCORE_LE_H

#include <stdint.h>

static inline uint32_t
le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline void
le32_put(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void
le16_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

#endif
