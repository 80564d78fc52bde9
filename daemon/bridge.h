/*
 * The one contract between appcored's two sides (docs/threads.md):
 *
 *  - the ingest thread (appcored.c, link.c, device.c) owns the links, the
 *    sessions, the store's writer and the blob file (gdbm);
 *  - the HTTP threads (http.c, api*.c) own their requests, their
 *    connections and their own read-only SQLite connections.
 *
 * Nothing else crosses.  What does, crosses here, keyed by ids:
 *
 *  live state   the latest values, health and the event ring (live.h),
 *               written by ingest, copied out by HTTP under live.mu; the
 *               lock is never held across SQLite, gdbm or socket I/O;
 *  commands     HTTP -> ingest, a bounded queue (BRIDGE_CMDS) that wakes
 *               the ingest thread's poll through bridge_fd();
 *  live reads   a read of core-1 memory by read id: HTTP opens it and
 *               waits (its connection suspended); ingest fills it from
 *               the agent's chunks, or fails it, by id;
 *  blob reads   HTTP asks for a blob by key and waits at most
 *               BRIDGE_BLOB_WAIT_US; ingest reads gdbm (it alone touches
 *               the file) and hands the bytes over by request id.
 *
 * A clean stop (bridge_stop): new reads are refused, waiting ones are
 * answered 503, and it returns once their answers have gone (at most a
 * second); then HTTP stops and the store is flushed.
 */
#ifndef APPCORE_BRIDGE_H
#define APPCORE_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "appcore/wire.h"
#include "blobs.h"
#include "live.h"

#define BRIDGE_CMDS		64		/* commands queued at most */
#define BRIDGE_READS		64		/* live reads open at most */
#define BRIDGE_BLOB_REQS	16		/* blob reads waiting at most */
#define BRIDGE_BLOB_WAIT_US	5000000		/* a blob read waits this long */

/* A control command from the API for a device's agent. */
struct command {
	int64_t device;
	uint8_t cmd;
	uint32_t arg0, arg1;
	uint64_t read_id;		/* READ_MEM only: its live read */
	char who[96];			/* control: who asked, for its event */
	/* Not an agent command: the core-1 update of this updates.id
	 * begins (its row and image file are written). */
	int64_t update;
	/* Not for a board but for a port: appcored lets go of it (and does
	 * not open it) for arg0 seconds, or takes it back (arg0 0). */
	char port[256];
};

/* A live read as HTTP sees it once it is over. */
struct read_result {
	int status;			/* HTTP status: 200 or why not */
	int64_t device;
	uint32_t offset, len;
	uint64_t t_us;			/* wall time of the first chunk */
	const uint8_t *data;		/* len bytes with 200; the bridge's
					 * until bridge_read_close */
};

struct bridge;

struct bridge *bridge_new(void);
void bridge_free(struct bridge *);
/* The live state (live.h says what its lock guards). */
struct live *bridge_live(struct bridge *);

/* ---- HTTP threads ---- */

/* Called (from any thread, with the bridge's lock held) when a read's
 * answer is ready: waiter is what bridge_read_open was given.  Set once,
 * before the first read. */
void bridge_set_waker(struct bridge *, void (*wake)(void *waiter));
bool bridge_command(struct bridge *, const struct command *);
/* A live read of len bytes at offset of the device's region: its id, or
 * 0 when the bridge is stopping or full. */
uint64_t bridge_read_open(struct bridge *, int64_t device, uint32_t offset,
    uint32_t len, uint64_t deadline, void *waiter);
/* Sends the read's command to the ingest thread (the waiter is ready to
 * be woken); a full queue answers it 503 at once. */
void bridge_read_ask(struct bridge *, uint64_t id);
/* The read's outcome once woken: false while it still waits. */
bool bridge_read_result(struct bridge *, uint64_t id, struct read_result *);
/* The read is over for HTTP (its answer has gone, or its client). */
void bridge_read_close(struct bridge *, uint64_t id);
unsigned bridge_reads_waiting(struct bridge *);
/* Blob reads asked and not yet answered. */
unsigned bridge_blob_pending(struct bridge *);
/* A blob by key, read by the ingest thread: 0 with *p malloc'd, or -1
 * with errno ENOENT (no such blob), ETIMEDOUT, EAGAIN (too many waiting),
 * ESHUTDOWN (stopping) or ENOMEM. */
int bridge_blob_get(struct bridge *, const uint8_t key[BLOB_KEY_LEN],
    void **p, size_t *n);

/* ---- the ingest thread ---- */

/* Readable when commands or blob reads wait. */
int bridge_fd(const struct bridge *);
bool bridge_next_command(struct bridge *, struct command *);
/* Reads the blobs asked for, without the bridge's lock held. */
void bridge_serve_blobs(struct bridge *, struct blobs *);
/* Whether the read still waits for its answer. */
bool bridge_read_alive(struct bridge *, uint64_t id);
/* The read is answered with status (not 200). */
void bridge_read_done(struct bridge *, uint64_t id, int status);
/* A chunk of the read's answer: -1 the read is gone, 0 more to come,
 * 1 over (complete, or failed on a chunk that does not fit). */
int bridge_read_chunk(struct bridge *, uint64_t id,
    const struct ac_msg_mem *, uint64_t t);
void bridge_read_timeouts(struct bridge *, uint64_t now);
/* Every ~15 s: keep-alive comments to idle streams. */
void bridge_keepalive(struct bridge *);

/* ---- stopping (main thread) ---- */

void bridge_stop(struct bridge *);

#endif
