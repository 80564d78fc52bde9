/*
 * Immutable blobs in gdbm, keyed by the SHA-256 of their content: memory
 * snapshots, crash dumps, core-1 ELF files.  SQL rows name them by key
 * (docs/storage.md says why blobs live here and rows in SQLite).  A blob
 * is synced to disk before blobs_put returns, so a row committed after it
 * never points at a blob that is not there.
 */
#ifndef APPCORE_BLOBS_H
#define APPCORE_BLOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLOB_KEY_LEN	32
#define BLOB_HEX_LEN	(2 * BLOB_KEY_LEN + 1)

struct blobs;

/* Opens or creates path.  A damaged file is recovered with gdbm_recover,
 * or, if that fails, renamed aside and started afresh; *note says which. */
struct blobs *blobs_open(const char *path, char *err, size_t errlen,
    char *note, size_t notelen);
void blobs_close(struct blobs *);

/* Stores p (if not there yet) and gives its key; 0 or -1. */
int blobs_put(struct blobs *, const void *p, size_t n,
    uint8_t key[BLOB_KEY_LEN]);
/* *p is malloc'd, the caller frees it.  -1 when missing or when the
 * content no longer hashes to its key (errno ENOENT or EBADMSG). */
int blobs_get(struct blobs *, const uint8_t key[BLOB_KEY_LEN], void **p,
    size_t *n);
bool blobs_has(struct blobs *, const uint8_t key[BLOB_KEY_LEN]);
uint64_t blobs_count(struct blobs *);
/* The keys stored (at most max), in *keys, which the caller frees. */
int blobs_keys(struct blobs *, uint8_t (**keys)[BLOB_KEY_LEN], size_t *n,
    size_t max);
int blobs_delete(struct blobs *, const uint8_t key[BLOB_KEY_LEN]);

void blob_sha256(const void *p, size_t n, uint8_t key[BLOB_KEY_LEN]);
void blob_key_hex(const uint8_t key[BLOB_KEY_LEN], char out[BLOB_HEX_LEN]);
int blob_key_parse(const char *hex, uint8_t key[BLOB_KEY_LEN]);

#endif
