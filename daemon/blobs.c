#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <gdbm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blobs.h"
#include "digest.h"
#include "hex.h"

struct blobs {
	GDBM_FILE db;
};

void
blob_sha256(const void *p, size_t n, uint8_t key[BLOB_KEY_LEN])
{
	sha256(p, n, key);
}

void
blob_key_hex(const uint8_t key[BLOB_KEY_LEN], char out[BLOB_HEX_LEN])
{
	hex_encode(out, key, BLOB_KEY_LEN);
}

int
blob_key_parse(const char *hex, uint8_t key[BLOB_KEY_LEN])
{
	for (int i = 0; i < BLOB_KEY_LEN; i++) {
		unsigned v = 0;

		for (int k = 0; k < 2; k++) {
			char c = hex[2 * i + k];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v |= (unsigned)(c - 'A' + 10);
			else
				return -1;
		}
		key[i] = (uint8_t)v;
	}
	return hex[2 * BLOB_KEY_LEN] == '\0' ? 0 : -1;
}

static GDBM_FILE
try_open(const char *path, int flags)
{
	return gdbm_open(path, 0, flags | GDBM_CLOEXEC, 0600, NULL);
}

static int
recover(GDBM_FILE db, char *note, size_t notelen, const char *path)
{
	gdbm_recovery r;

	memset(&r, 0, sizeof(r));
	if (gdbm_recover(db, &r, GDBM_RCVR_BACKUP | GDBM_RCVR_FORCE) != 0)
		return -1;
	snprintf(note, notelen, "%s was damaged and has been recovered: %zu "
	    "blobs kept, %zu lost; the damaged file is %s", path,
	    r.recovered_keys, r.failed_keys, r.backup_name ? r.backup_name :
	    "(not kept)");
	free(r.backup_name);
	return 0;
}

struct blobs *
blobs_open(const char *path, char *err, size_t errlen, char *note,
    size_t notelen)
{
	struct blobs *b = calloc(1, sizeof(*b));
	GDBM_FILE db;
	int e;

	note[0] = '\0';
	if (b == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db = try_open(path, GDBM_WRCREAT | GDBM_XVERIFY);
	if (db != NULL && gdbm_needs_recovery(db) &&
	    recover(db, note, notelen, path) < 0) {
		gdbm_close(db);
		db = NULL;
	}
	if (db == NULL) {
		e = gdbm_errno;
		if (e == GDBM_FILE_OPEN_ERROR || e == GDBM_CANT_BE_WRITER ||
		    e == GDBM_CANT_BE_READER) {
			snprintf(err, errlen, "%s: %s: %s", path,
			    gdbm_strerror(e), strerror(errno));
			free(b);
			return NULL;
		}
		/* Structurally damaged: try recovery, else set it aside. */
		if ((db = try_open(path, GDBM_WRITER)) != NULL &&
		    recover(db, note, notelen, path) == 0)
			goto done;
		if (db != NULL)
			gdbm_close(db);
		{
			char aside[4096];

			snprintf(aside, sizeof(aside), "%s.damaged-%lld", path,
			    (long long)time(NULL));
			if (rename(path, aside) < 0) {
				snprintf(err, errlen, "%s is damaged (%s) and "
				    "cannot be moved aside: %s", path,
				    gdbm_strerror(e), strerror(errno));
				free(b);
				return NULL;
			}
			snprintf(note, notelen, "%s was damaged (%s) beyond "
			    "recovery; moved to %s, starting a new one", path,
			    gdbm_strerror(e), aside);
		}
		if ((db = try_open(path, GDBM_NEWDB)) == NULL) {
			snprintf(err, errlen, "%s: %s", path,
			    gdbm_strerror(gdbm_errno));
			free(b);
			return NULL;
		}
	}
done:
	b->db = db;
	return b;
}

void
blobs_close(struct blobs *b)
{
	if (b == NULL)
		return;
	if (b->db != NULL)
		gdbm_close(b->db);
	free(b);
}

int
blobs_put(struct blobs *b, const void *p, size_t n, uint8_t key[BLOB_KEY_LEN])
{
	datum k, v;
	int rc;

	blob_sha256(p, n, key);
	k.dptr = (char *)key;
	k.dsize = BLOB_KEY_LEN;
	if (gdbm_exists(b->db, k))
		return 0;
	v.dptr = (char *)(uintptr_t)p;
	v.dsize = (int)n;
	if (n > (size_t)INT32_MAX) {
		errno = EFBIG;
		return -1;
	}
	rc = gdbm_store(b->db, k, v, GDBM_INSERT);
	if (rc < 0 || gdbm_sync(b->db) != 0) {
		errno = gdbm_syserr[gdbm_errno] ? errno : EIO;
		return -1;
	}
	return 0;
}

int
blobs_get(struct blobs *b, const uint8_t key[BLOB_KEY_LEN], void **p,
    size_t *n)
{
	datum k = { (char *)(uintptr_t)key, BLOB_KEY_LEN }, v;
	uint8_t check[BLOB_KEY_LEN];

	v = gdbm_fetch(b->db, k);
	if (v.dptr == NULL) {
		errno = ENOENT;
		return -1;
	}
	blob_sha256(v.dptr, (size_t)v.dsize, check);
	if (memcmp(check, key, BLOB_KEY_LEN) != 0) {
		free(v.dptr);
		errno = EBADMSG;
		return -1;
	}
	*p = v.dptr;
	*n = (size_t)v.dsize;
	return 0;
}

bool
blobs_has(struct blobs *b, const uint8_t key[BLOB_KEY_LEN])
{
	datum k = { (char *)(uintptr_t)key, BLOB_KEY_LEN };

	return gdbm_exists(b->db, k) != 0;
}

uint64_t
blobs_count(struct blobs *b)
{
	gdbm_count_t c = 0;

	return gdbm_count(b->db, &c) == 0 ? (uint64_t)c : 0;
}

int
blobs_keys(struct blobs *b, uint8_t (**keys)[BLOB_KEY_LEN], size_t *n,
    size_t max)
{
	uint8_t (*out)[BLOB_KEY_LEN] = NULL;
	size_t cap = 0;
	datum k = gdbm_firstkey(b->db);

	*n = 0;
	while (k.dptr != NULL && *n < max) {
		datum next;

		if (k.dsize == BLOB_KEY_LEN) {
			if (*n == cap) {
				size_t nc = cap ? 2 * cap : 256;
				void *grown = realloc(out, nc * sizeof(*out));

				if (grown == NULL)
					break;	/* k is freed below */
				out = grown;
				cap = nc;
			}
			memcpy(out[(*n)++], k.dptr, BLOB_KEY_LEN);
		}
		next = gdbm_nextkey(b->db, k);
		free(k.dptr);
		k = next;
	}
	free(k.dptr);
	*keys = out;
	return 0;
}

int
blobs_delete(struct blobs *b, const uint8_t key[BLOB_KEY_LEN])
{
	datum k = { (char *)(uintptr_t)key, BLOB_KEY_LEN };

	return gdbm_delete(b->db, k) == 0 ? 0 : -1;
}
