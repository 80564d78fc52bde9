/*
 * appcored's ingest side: a section per file.  One thread owns the links,
 * the sessions, the live state's writing, the store and the blob file; it
 * runs the poll loop in appcored.c.  The HTTP side (http.h) sees none of
 * this: what crosses goes through the bridge (bridge.h).
 */
#ifndef APPCORED_H
#define APPCORED_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "appcore/wire.h"
#include "blobgc.h"
#include "blobs.h"
#include "bridge.h"
#include "config.h"
#include "dumprx.h"
#include "live.h"
#include "session.h"
#include "store.h"
#include "wallclock.h"

struct sp_port;
struct daemon;
struct chx;
struct chtee;

/* ---- device.c: one board, across links and boots ---- */

#define DEV_IDX_WINDOW	8192	/* sample indices remembered as stored */
#define DEV_ANCHORS	8	/* clock anchors kept for late samples */

#define DEV_SETTLE_US	3000000		/* at most */
#define DEV_SETTLE_AFTER_US 300000	/* after the answer to our HELLO */
#define DEV_PENDING_MAX	4096

struct pending_sample {
	uint64_t index, t_us;
	uint32_t ncols;
};

struct clock_anchor {
	uint64_t from_us;		/* device time */
	int64_t offset_us;		/* wall = device + offset from there */
};

/* Link trouble of one kind, told once a second as one event. */
struct link_trouble {
	uint64_t count;
	uint64_t since;			/* wall us the count became non-zero */
	char detail[160];
};

struct device {
	struct device *next;
	struct daemon *d;
	char key[2 * AC_DEVICE_ID_MAX + 1];	/* hex device id */
	char name[AC_DEVICE_ID_MAX * 4 + 1];
	int64_t id;				/* devices.id */
	struct link *link;			/* NULL while disconnected */

	struct ac_msg_hello hello;		/* the current boot */
	bool have_boot;
	int64_t boot;				/* boots.id */
	int64_t offset_us;			/* wall = device + offset */
	struct clock_anchor anchor[DEV_ANCHORS];	/* a ring, newest last */
	uint32_t nanchor;
	int64_t min_est_us;			/* drift estimate this window */
	uint64_t est_window_end;
	int64_t last_t;				/* newest wall time stored, this boot */
	int64_t newest_t;			/* of any boot (gap events) */
	uint32_t anchor_moves;			/* since the last event */
	int64_t anchor_moved_us;
	uint64_t next_clock_event;

	/* Sample accounting of the current boot (docs/protocol.md):
	 * produced = stored + lost, duplicates apart. */
	uint64_t produced;			/* made by the agent, as known */
	uint64_t stored;
	uint64_t dup;
	uint64_t lost_told;			/* lost already in events */
	uint64_t next_index;			/* one past the newest stored */
	uint8_t idx_stored[DEV_IDX_WINDOW / 8];
	bool account_dirty;

	/* A new boot's clock settles before its first samples are stored:
	 * they may be a backlog read long after they were taken.  It settles
	 * DEV_SETTLE_AFTER_US after the agent answered this host's HELLO
	 * (the answer comes after any backlog on the link), at most
	 * DEV_SETTLE_US after the boot appeared. */
	bool settling;
	uint64_t settle_until;
	int64_t settle_est;			/* least arrival - device time */
	struct pending_sample *pending;		/* grows to DEV_PENDING_MAX */
	uint32_t *pending_vals;			/* AC_MAX_COUNTERS each */
	uint32_t npending, cappending;

	bool gap_check;				/* next sample: gap? */
	uint32_t ncols;				/* counters mapped */
	bool counters_pending;			/* retry registering them */
	int64_t counter_id[AC_MAX_COUNTERS];
	struct ac_counter_info reg[AC_MAX_COUNTERS];	/* registered last */
	int64_t reg_id[AC_MAX_COUNTERS];
	bool is_signed[AC_MAX_COUNTERS];

	/* Live state. */
	uint32_t vals[AC_MAX_COUNTERS];
	uint64_t samples;
	uint8_t state;
	uint32_t generation;
	uint32_t heartbeat;
	struct ac_msg_stats agent;		/* the agent's last STATS */
	uint32_t agent_hb;			/* heartbeat, from STATS */
	uint64_t last_seen;
	uint64_t next_seen_update;

	/* The crash dump coming in (kept across link losses). */
	struct dumprx dump;
	int64_t dump_boot;			/* boots.id of its crash */
	uint64_t dump_t;			/* wall time of its crash */
	uint64_t dump_started;			/* wall time of the offer */
	int part_fd;				/* its partial file, or -1 */

	/* Core-1 images: the agent's slots as last told, the update in
	 * hand (update.c). */
	bool have_slots;
	struct ac_msg_image_status slots;
	struct update *upd;

	struct dev_rtt *rtt;			/* device_rtt.c, or NULL */
};

/* ---- device_rtt.c: core 1's RTT up-buffers as log lines ---- */
void device_rtt(struct device *, const struct ac_msg_rtt *);
/* Stores partial lines idle for idle_us (0: all of them). */
void device_rtt_flush(struct device *, uint64_t now, uint64_t idle_us);
void device_rtt_tick(struct device *, uint64_t now);
void device_rtt_free(struct device *);

/* Session callbacks for link l (arg is the link). */
extern const struct session_cb device_session_cb;
void device_tick(struct daemon *, struct link *, uint64_t now);
/* An event of the device: stored and on the live stream. */
void device_event(struct device *, uint64_t t, const char *kind,
    uint64_t count, const char *detail);
struct device *device_find(struct daemon *, const char *key);
void device_link_lost(struct link *, uint64_t now, const char *why);
/* Removes partial crash dumps untouched for 30 days (at start). */
void device_prune_partial_dumps(struct daemon *);
int64_t device_wall(const struct device *, uint64_t device_us);
/* The device's live entry, with the live mutex held. */
struct live_device *device_live(struct device *);
/* To the live stream as {"device": id, "t": t, ...o}; o is consumed. */
struct json_object;
void device_publish(struct device *, const char *type, uint64_t t,
    struct json_object *o);

/* ---- update.c: core-1 image updates (docs/updates.md) ---- */

enum update_phase {
	UPD_WAITING,		/* for the board, or for its crash dump */
	UPD_OFFERED,		/* IMAGE_OFFER sent, no answer yet */
	UPD_SENDING,
	UPD_VERIFYING,		/* the agent reads its slot back */
	UPD_ACTIVATING,		/* image-activate sent */
	UPD_TRIAL,
	UPD_COUNT
};

struct update {
	int64_t id;				/* updates.id */
	uint8_t *img;				/* the image, from gdbm */
	uint32_t size, entry, trial_ms;
	uint8_t key[32];			/* its SHA-256, its blob key */
	uint8_t elf_hash[32];
	uint8_t phase;				/* enum update_phase */
	uint32_t xfer_id;
	uint32_t have;				/* the board has, in order */
	uint32_t next;				/* next offset to send */
	uint32_t status_have;			/* have at the last status */
	uint64_t phase_t;			/* wall us the phase began */
	uint64_t progress_t;			/* have last moved */
	uint64_t back_t;			/* sent again from have */
	uint64_t next_try;			/* offer, status asked */
	uint64_t sent_bytes;			/* chunk bytes sent, resent too */
	uint32_t restarts;			/* transfers begun again */
	uint64_t published_t;
	uint32_t stored_have;			/* as the row has it */
	bool waited_dump;			/* told it waits for a dump */
};

/* The update HTTP asked for (its updates row exists): loads it and, when
 * the board is here, begins. */
void update_begin(struct daemon *, int64_t update_id, const char *who);
/* A board said hello: an update of its that was not over goes on. */
void update_hello(struct device *, bool new_boot, uint64_t now);
void update_status(struct link *, const struct ac_msg_image_status *);
/* Offers, sends chunks, retries; from device_tick. */
void update_tick(struct link *, uint64_t now);
void update_free(struct update *);

/* ---- link.c: serial ports, TCP, the in-process simulator ---- */

enum link_kind { LINK_SERIAL, LINK_TCP, LINK_FD };
enum link_origin { ORIGIN_CONFIG, ORIGIN_GLOB, ORIGIN_AUTODETECT,
    ORIGIN_DEMO };

struct mem_xfer {
	bool active;
	uint32_t req_id;
	uint8_t kind;
	uint32_t start, total, got;
	uint64_t t_us;			/* device time of the first chunk */
	uint8_t *buf;
};

struct link {
	struct link *next;
	struct daemon *d;
	enum link_kind kind;
	enum link_origin origin;
	char spec[256];			/* as configured or found */
	struct sp_port *sp;
	int fd;				/* -1 while closed */
	bool connecting;		/* TCP connect in progress */
	bool seen_in_scan;
	uint64_t next_try;		/* while closed */
	uint32_t backoff_ms;
	uint64_t opened_at;
	uint64_t up_until;		/* when it last went down */
	uint64_t hello_asked;		/* 0 once HELLO arrived */
	bool rate_asked;
	bool policy_asked;
	uint64_t next_snapshot;
	struct session s;
	struct device *dev;
	struct mem_xfer xfer;
	uint64_t rx_bytes;
	struct link_trouble trouble[SE_COUNT];	/* not yet told */
	uint64_t next_trouble;
	uint8_t tx[16384];		/* commands and image chunks */
	size_t txlen;
	uint64_t read_id;		/* a live read in flight, or 0 */
	uint32_t read_req;		/* its command's req_id */
};

struct link *link_add(struct daemon *, enum link_kind, enum link_origin,
    const char *spec);
void link_free(struct link *);
int link_open(struct link *, uint64_t now);
void link_close(struct link *, uint64_t now, const char *why);
void link_read(struct link *, uint64_t now);
void link_write(struct link *);
/* Queues a command to the agent; returns its req_id, 0 if not sent. */
uint32_t link_cmd(struct link *, uint8_t cmd, uint32_t arg0, uint32_t arg1);
/* Queues any frame to the agent: false when the queue has no room. */
bool link_send_frame(struct link *, uint8_t type, const uint8_t *payload,
    size_t len);
/* Bytes free in the queue to the agent. */
size_t link_tx_room(const struct link *);
/* Globs and USB auto-detection: open what appeared. */
void link_scan(struct daemon *, uint64_t now);
/* Until when the port is not to be opened (0: it may be). */
uint64_t port_held_until(const struct daemon *, const char *spec,
    uint64_t now);
/* Holds the port until then (0: lets it be opened again); -1 when
 * PORT_HOLDS_MAX ports are held already. */
int port_hold(struct daemon *, const char *spec, uint64_t until,
    uint64_t now);

/* ---- appcored.c ---- */

/* A port appcored was told to let go of (flashing), until a time. */
struct port_hold {
	char spec[256];
	uint64_t until;			/* wall us; 0: a free slot */
};
#define PORT_HOLDS_MAX	16

struct daemon {
	struct config cfg;
	const char *config_path;
	bool demo;
	struct store *store;
	struct blobs *blobs;
	struct link *links;
	struct device *devices;
	uint64_t next_scan;
	atomic_int *quit;
	uint64_t started;
	uint64_t samples_total;
	struct bridge *bridge;		/* all the HTTP side sees */
	struct live *live;		/* the bridge's */
	struct http *http;		/* started and stopped here */
	struct blobgc gc;		/* unreferenced blobs removed */
	uint64_t devices_forgotten;	/* boards evicted from memory */
	char token[65];			/* the API's bearer token */
	struct port_hold holds[PORT_HOLDS_MAX];
	char web_root[512];
	struct chx *chx;		/* NULL: no ClickHouse forwarding */
	struct chtee *chtee;		/* the store's names for it */
};

/* Boards tracked in memory at once (device.c). */
#define DEVICES_MAX		LIVE_MAX_DEVICES
void device_free(struct device *);

#endif
