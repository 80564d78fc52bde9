/*
 * Live state shared by the ingest thread (writer) and the HTTP thread
 * (readers), under one mutex: per device the latest counter values and
 * rates, core-1 state, link health; and the ring of events that the
 * live stream (SSE) serves, each client with its own cursor.
 */
#ifndef APPCORE_LIVE_H
#define APPCORE_LIVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "appcore/image.h"
#include "appcore/wire.h"

struct store_stats;

#define LIVE_MAX_DEVICES	64
#define LIVE_RING		8192	/* events kept for the stream */
#define LIVE_DISPLAY_US		20000	/* samples to the stream at 50 Hz */

struct live_counter {
	char name[AC_NAME_LEN];
	char unit[AC_UNIT_LEN];
	uint8_t kind, flags;
	int64_t id;			/* counters.id */
	int64_t value;
	/* A counter's total since boot: its 32-bit value extended past
	 * each wrap (what /metrics exports). */
	uint64_t total;
	uint32_t last_raw;
	bool have_raw;
	double rate;			/* per second, over the last second */
	int64_t rate_base;
	uint64_t rate_t;
};

struct live_device {
	int64_t id;			/* devices.id, the API's device id */
	char key[2 * AC_DEVICE_ID_MAX + 1];
	char name[AC_DEVICE_ID_MAX * 4 + 1];
	bool connected;
	char link[256];
	uint64_t boot_id;
	char agent_version[AC_VERSION_MAX];
	uint32_t rate_hz;
	uint32_t region_base, region_size;
	uint8_t state;
	uint32_t generation;
	uint32_t heartbeat;
	double heartbeat_rate;		/* per second */
	uint32_t hb_base;
	uint64_t hb_t;
	uint64_t last_sample_t;		/* wall us */
	uint64_t last_snapshot_t;	/* wall us, 0: none yet */
	uint64_t samples;
	uint32_t ncols;
	struct live_counter c[AC_MAX_COUNTERS];
	struct {
		uint64_t rx_bytes, frames, crc_errors, framing_errors;
		uint64_t seq_gaps, frames_lost, samples_lost, malformed;
		/* The current boot's accounting: produced = stored + lost. */
		uint64_t samples_produced, samples_stored, samples_dup;
		uint64_t frames_dup, frames_stale, frames_late;
		uint64_t samples_recovered, samples_unattributed;
		uint64_t asked_hello, asked_ref;
		struct ac_msg_stats agent;
	} health;
	/* Core-1 image slots (the agent's last IMAGE_STATUS) and the
	 * update in hand or last over (update.c). */
	bool have_slots;
	struct ac_msg_image_status slots;
	struct live_update {
		int64_t id;		/* 0: none since appcored started */
		char state[16];
		uint32_t have, total;	/* bytes the board has, of all */
		uint64_t sent;		/* bytes sent, resent ones too */
		uint64_t finished;	/* wall us once over, else 0 */
		char error[200];
	} update;
	uint64_t next_display;
	char *json;			/* GET /devices/{id}, cached */
	size_t json_len;
	uint64_t json_at;
};

struct live_event {
	uint64_t id;			/* SSE id, increasing */
	char type[16];
	char *data;			/* JSON, malloc'd */
};

struct MHD_Connection;

/* A live stream client (http.c). */
struct live_client {
	struct live_client *next;
	struct MHD_Connection *conn;
	uint64_t next_id;		/* next event to send */
	int64_t device;			/* 0: all devices */
	bool suspended;
	bool greet;			/* retry: and a comment, first */
	bool keepalive;			/* a ":" comment is due */
	bool dropped;			/* fell behind: close */
	uint32_t lag_max;		/* events it may trail */
};

struct live {
	pthread_mutex_t mu;
	struct live_device dev[LIVE_MAX_DEVICES];
	int ndev;
	struct live_event ring[LIVE_RING];
	uint64_t next_id;		/* id of the next event */
	struct live_client *clients;
	uint64_t clients_dropped;
	uint64_t events_published;
	/* The store's figures, copied by the ingest thread. */
	struct store_copy {
		uint64_t samples_written, commits, commit_failures;
		uint64_t samples_lost, queued, db_bytes, file_bytes;
		uint64_t raw_blocks;
		bool paused;
		uint64_t rows_lost, blobs_removed;
		uint64_t devices_tracked, devices_forgotten;
	} store;
	/* The ClickHouse forwarder's figures, copied the same way. */
	struct live_export {
		bool enabled;
		uint64_t rows_sent, rows_dropped, inserts, failures;
		uint64_t queued_bytes, queued_rows;
	} export;
	uint64_t started;		/* wall us */
	/* Called with mu held when events were added (resumes clients). */
	void (*wake)(void *arg);
	void *wake_arg;
};

void live_init(struct live *);
void live_free(struct live *);
/* With mu held: the device of that id, created if need be. */
struct live_device *live_device_get(struct live *, int64_t id);
struct live_device *live_device_find(struct live *, int64_t id);
/* A board no longer tracked; with mu held. */
void live_device_remove(struct live *, int64_t id);
/* With mu held: add an event (data is copied) and wake the stream. */
void live_publish(struct live *, const char *type, const char *json);
/* With mu held: the oldest event id still in the ring. */
uint64_t live_oldest(const struct live *);

#endif
