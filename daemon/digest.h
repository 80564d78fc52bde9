/*
 * SHA-256 on the host, the one digest the daemon computes (blob keys,
 * crash dumps), through OpenSSL.  The agent has its own portable one
 * (appcore/sha256.h), checked against this in tests/unit/test_dump.c.
 */
#ifndef APPCORE_DIGEST_H
#define APPCORE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

static inline void
sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 32;

	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

#endif
