/*
 * SHA-256 (FIPS 180-4), portable and freestanding: the agent hashes a
 * frozen crash with it, a piece per poll.
 */
#ifndef APPCORE_SHA256_H
#define APPCORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct ac_sha256 {
	uint32_t h[8];
	uint64_t len;			/* bytes hashed */
	uint8_t buf[64];
	uint32_t fill;
};

void ac_sha256_init(struct ac_sha256 *);
void ac_sha256_update(struct ac_sha256 *, const void *, size_t);
void ac_sha256_final(struct ac_sha256 *, uint8_t out[32]);

#endif /* APPCORE_SHA256_H */
