/*
 * Blob collection (blobgc.h).
 */
#include <stdlib.h>
#include <string.h>

#include "blobgc.h"

static int
key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, BLOB_KEY_LEN);
}

static bool
was_candidate(const struct blobgc *g, const uint8_t key[BLOB_KEY_LEN])
{
	return g->ncand > 0 && bsearch(key, g->cand, g->ncand,
	    sizeof(g->cand[0]), key_cmp) != NULL;
}

size_t
blobgc_run(struct blobgc *g, struct blobs *b, struct store *s)
{
	uint8_t (*keys)[BLOB_KEY_LEN] = NULL;
	size_t n = 0, nnext = 0, removed = 0;

	(void)blobs_keys(b, &keys, &n, BLOBGC_KEYS_MAX);
	/* Unreferenced keys move to the front of keys: the next
	 * candidates. */
	for (size_t i = 0; i < n; i++) {
		char hex[BLOB_HEX_LEN];

		blob_key_hex(keys[i], hex);
		if (store_blob_referenced(s, hex))
			continue;
		if (was_candidate(g, keys[i]))
			removed += blobs_delete(b, keys[i]) == 0;
		else
			memmove(keys[nnext++], keys[i], BLOB_KEY_LEN);
	}
	free(g->cand);
	g->cand = keys;
	g->ncand = nnext;
	if (nnext > 0)
		qsort(g->cand, nnext, sizeof(g->cand[0]), key_cmp);
	g->removed += removed;
	return removed;
}

void
blobgc_free(struct blobgc *g)
{
	free(g->cand);
	g->cand = NULL;
	g->ncand = 0;
}
