/*
 * Blobs nobody refers to are removed (docs/storage.md, "Retention"): a
 * blob no committed row names (snapshot, crash dump, uploaded image) in
 * two collections in a row goes, so a blob stored just before its row is
 * committed is never taken.  Runs on the ingest thread, which alone
 * touches the blob file (bridge.h).
 */
#ifndef APPCORE_BLOBGC_H
#define APPCORE_BLOBGC_H

#include <stddef.h>
#include <stdint.h>

#include "blobs.h"
#include "store.h"

#define BLOBGC_KEYS_MAX	(1u << 16)	/* blobs looked at per collection */
#define BLOBGC_INTERVAL_US	60000000u	/* between collections */

struct blobgc {
	uint8_t (*cand)[BLOB_KEY_LEN];	/* unreferenced last time, sorted */
	size_t ncand;
	uint64_t removed;		/* ever */
};

/* One collection; returns how many blobs it removed. */
size_t blobgc_run(struct blobgc *, struct blobs *, struct store *);
void blobgc_free(struct blobgc *);

#endif
