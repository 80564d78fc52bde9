/*
 * SQLite storage: schema and migrations (sql/), batched writes, raw
 * samples in compressed blocks (blocks.h), 1 s / 1 min roll-ups, retention by age and by
 * a byte budget.  Single-threaded: the ingest thread owns the store.
 * Writes are queued in memory and committed in one transaction at least
 * every commit_ms; when a commit fails (the disk is full) the queue is kept
 * and retried, bounded by backlog_rows.
 */
#ifndef APPCORE_STORE_H
#define APPCORE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "appcore/wire.h"

struct store_cfg {
	uint64_t raw_window_us;		/* raw samples kept this long */
	uint64_t budget_bytes;		/* the whole database file */
	uint64_t partition_us;		/* raw history trimmed this much at
					 * a time when over budget */
	uint64_t rollup_1s_window_us;
	uint64_t rollup_1m_window_us;
	uint32_t commit_ms;
	uint64_t backlog_rows;		/* queued samples kept while writes
					 * fail; other rows: an eighth */
	uint64_t history_window_us;	/* events, logs, states, link stats */
	uint64_t snapshot_window_us;	/* snapshots (and their blobs) */
};

void store_cfg_defaults(struct store_cfg *);

struct store_stats {
	uint64_t commits;
	uint64_t commit_failures;
	uint64_t samples_written;
	uint64_t samples_lost;		/* backlog overflow while writes failed */
	uint64_t rows_lost;		/* history rows lost the same way */
	uint64_t queued;		/* rows waiting now */
	uint64_t db_bytes;		/* used pages */
	uint64_t file_bytes;
	uint64_t raw_blocks;		/* rows of sample_blocks */
	uint64_t blocks_dropped;	/* by retention */
	bool paused;			/* last commit failed; retrying */
	char last_error[160];
};

struct store;

/* Opens or creates path and migrates it.  On failure *err says why. */
struct store *store_open(const char *path, const struct store_cfg *,
    char *err, size_t errlen);
void store_set_cfg(struct store *, const struct store_cfg *);

/*
 * A second destination for what is stored (the ClickHouse forwarder):
 * called from the store_* functions below, in the ingest thread, with
 * the same ids; a replayed sample is not passed on.  Each may be NULL.
 */
struct ac_msg_crash;
struct store_tee {
	void *arg;
	void (*row)(void *arg, uint64_t t, const int64_t *counters,
	    const int64_t *values, uint32_t n);
	void (*event)(void *arg, int64_t device, int64_t boot, uint64_t t,
	    const char *kind, uint64_t count, const char *detail);
	void (*log)(void *arg, int64_t device, int64_t boot, uint64_t t,
	    uint64_t record, const char *level, const char *channel,
	    const char *text);
	void (*crash)(void *arg, int64_t device, int64_t boot, uint64_t t,
	    const struct ac_msg_crash *, const char *image_hash);
};
/* tee NULL: none.  The store keeps a copy of *tee. */
void store_set_tee(struct store *, const struct store_tee *tee);
/* Commits everything queued (retrying for up to wait_ms) and closes. */
void store_close(struct store *, uint32_t wait_ms);

/* Identity rows, written at once; return the row id or -1. */
int64_t store_device(struct store *, const char *key, const char *name,
    const char *link, uint64_t now);
int64_t store_boot(struct store *, int64_t device,
    const struct ac_msg_hello *, uint64_t started, uint64_t now);
int64_t store_counter(struct store *, int64_t device, uint32_t idx,
    const struct ac_counter_info *, uint64_t now);
int store_clock(struct store *, int64_t boot, uint64_t from_us,
    int64_t offset_us);
void store_seen(struct store *, int64_t device, int64_t boot, uint64_t now,
    const char *link);

/* Queued rows. */
/* One row of a board: counters[i] had values[i] at t (wall time, us);
 * now: the daemon's clock, which closes idle blocks. */
void store_row(struct store *, uint64_t t, const int64_t *counters,
    const int64_t *values, uint32_t n, uint64_t now);
/* A row of one counter. */
void store_sample(struct store *, int64_t counter, uint64_t t,
    int64_t value);
void store_event(struct store *, int64_t device, int64_t boot, uint64_t t,
    const char *kind, uint64_t count, const char *detail);
void store_log(struct store *, int64_t device, int64_t boot, uint64_t t,
    uint32_t generation, const struct ac_msg_log *);
/* A line of a core-1 RTT channel; data: a binary channel's bytes. */
void store_rtt_line(struct store *, int64_t device, int64_t boot, uint64_t t,
    uint32_t generation, const char *channel, const char *text,
    const uint8_t *data, size_t len);
void store_state(struct store *, int64_t device, int64_t boot, uint64_t t,
    const struct ac_msg_state *);
void store_crash(struct store *, int64_t device, int64_t boot, uint64_t t,
    const struct ac_msg_crash *, const char *image_hash);
/* A crash's backtrace as stored: "0x400d1234 0x400d5678 ..." */
#define STORE_BT_TEXT	(AC_BT_MAX * 11 + 1)
void store_backtrace_text(const struct ac_msg_crash *, char *out,
    size_t cap);
/* The dump of a crash stored with store_crash (same device, boot, t). */
void store_crash_dump(struct store *, int64_t device, int64_t boot,
    uint64_t t, const struct ac_msg_crash *, const char *blob_key,
    uint32_t size);
void store_snapshot(struct store *, int64_t device, int64_t boot,
    uint64_t t, uint32_t base, uint32_t size, const char *blob_key);
/* The newest committed sample time of a counter, or 0. */
int64_t store_last_sample(struct store *, int64_t counter);
/* The wall time of a boot's device time 0, once its clock settled. */
void store_boot_started(struct store *, int64_t boot, int64_t started);
/* A boot's sample accounting, committed with the samples queued before. */
void store_boot_account(struct store *, int64_t boot, uint64_t produced,
    uint64_t stored, uint64_t dup);
void store_link_stats(struct store *, int64_t device, int64_t boot,
    uint64_t t, const struct ac_msg_stats *);

/* A core-1 update's progress (docs/updates.md, "States"); finished 0
 * while it is not over; error NULL keeps the row's. */
void store_update_state(struct store *, int64_t id, const char *state,
    uint32_t have, const char *error, int64_t finished);

/* Lookups of committed rows (prepared once). */
struct update_row {
	int64_t device;
	char image_key[65], elf_hash[65];
	uint32_t size, entry, trial_ms, have;
	char state[16];
};
/* An updates row; false when there is none. */
bool store_update_row(struct store *, int64_t id, struct update_row *);
/* The newest update of a device that is not over, or 0. */
int64_t store_update_pending(struct store *, int64_t device);
/* The newest snapshot time of a device, or 0. */
int64_t store_last_snapshot(struct store *, int64_t device);
/* Whether a crash is stored: a panic by generation, a hang by kind and a
 * time within a second of t (the identity store_crash_dump updates). */
bool store_crash_known(struct store *, int64_t device, int64_t boot,
    uint32_t generation, const char *kind, int64_t t);
bool store_dump_known(struct store *, int64_t device, const char *dump_key);
struct store_anchor {
	uint64_t from_us;
	int64_t offset_us;
};
/* A boot's newest clock anchors, newest first; how many. */
int store_clock_anchors(struct store *, int64_t boot, struct store_anchor *,
    int max);
/* A boot's sample accounting as committed; false if the boot is unknown. */
bool store_boot_account_get(struct store *, int64_t boot,
    uint64_t *produced, uint64_t *stored, uint64_t *dup);
/* Whether a committed row names this blob (hex key): a snapshot, a
 * crash's dump, an uploaded image; true when the lookup fails. */
bool store_blob_referenced(struct store *, const char *blob_key);
/* When this daemon first heard of a boot, or 0. */
int64_t store_boot_first_seen(struct store *, int64_t boot);

/* Runs what is due (commit, roll-up flush, retention); returns the time
 * (wall us) it next needs to run. */
uint64_t store_tick(struct store *, uint64_t now);
/* Commits now; 0 or -1. */
int store_commit(struct store *, uint64_t now);
const struct store_stats *store_stats(struct store *);
/* The connection, for tests and read-only queries on the ingest thread. */
struct sqlite3;
struct sqlite3 *store_db(struct store *);

#endif
