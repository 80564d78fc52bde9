/*
 * Lower-case hex, the one encoder every part of the daemon uses (keys,
 * hashes, tokens, memory in JSON).
 */
#ifndef APPCORE_HEX_H
#define APPCORE_HEX_H

#include <stddef.h>

/* n bytes of p as 2n hex digits and a NUL into out. */
static inline void
hex_encode(char *out, const void *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

#endif
