/* The core-1 image hash, as the ESP-IDF port takes it of the partition. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>

#include <openssl/evp.h>

#include "sim_sha256.h"

void
sim_sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
	unsigned int len = 32;

	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

int
sim_sha256_file(const char *path, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[65536];
	unsigned int len = 32;
	size_t n;
	FILE *f;
	int rc = -1;

	if (ctx == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if ((f = fopen(path, "rb")) == NULL)
		goto out;
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		EVP_DigestUpdate(ctx, buf, n);
	if (!ferror(f)) {
		EVP_DigestFinal_ex(ctx, out, &len);
		rc = 0;
	} else
		errno = EIO;
	fclose(f);
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}
