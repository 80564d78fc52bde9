/*
 * Raw history forwarded to ClickHouse over its HTTP interface
 * (docs/fleet.md): samples, events, logs and crashes, as TabSeparated
 * inserts of at most one batch per table per batch interval.
 *
 * Threads: the ingest thread adds rows (chrows.h, through chx_rows) to
 * batches only it touches, and chx_tick hands each finished batch to the
 * sender thread through a bounded queue: the batch's bytes move with it
 * (nothing is shared but the queue, under its mutex, never held across
 * I/O).  The sender POSTs the oldest batch; a failed insert is retried
 * (1 s, doubling to 30 s) and the queue keeps what it holds, up to
 * queue_bytes; beyond that the oldest batches waiting are dropped and
 * their rows counted.
 */
#ifndef APPCORE_CHEXPORT_H
#define APPCORE_CHEXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct chx_cfg {
	char url[256];			/* "": forwarding off */
	char database[64];
	char user[64];			/* "": ClickHouse's default user */
	char password[128];
	uint32_t batch_ms;		/* a batch goes out this often */
	uint64_t queue_bytes;		/* batches held while inserts fail */
	bool create_tables;		/* CREATE ... IF NOT EXISTS first */
};

void chx_cfg_defaults(struct chx_cfg *);

struct chx_stats {
	uint64_t rows_sent, rows_dropped, inserts, failures;
	uint64_t queued_bytes, queued_rows;	/* waiting and in flight */
	char last_error[160];
};

struct chx;
struct chrows;

/* Starts the sender thread; NULL with err on failure. */
struct chx *chx_start(const struct chx_cfg *, char *err, size_t errlen);
/* Sends what is queued (for at most wait_ms), counts the rest dropped,
 * stops the thread and frees everything. */
void chx_stop(struct chx *, uint32_t wait_ms);

/* Ingest thread: where rows go (chrows.h); chx_tick sends them. */
struct chrows *chx_rows(struct chx *);
/* Ingest thread: hands batches older than batch_ms to the sender.
 * Returns when it wants to be called next (wall us). */
uint64_t chx_tick(struct chx *, uint64_t now);

/* Any thread. */
void chx_get_stats(struct chx *, struct chx_stats *);

#endif
