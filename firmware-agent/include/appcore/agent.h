/*
 * The agent's portable core: everything core 0 does for core 1 that does
 * not depend on ESP-IDF.  A port (port/esp-idf, port/posix) provides the
 * few functions of struct ac_port, calls ac_agent_poll() when the returned
 * deadline passes, feeds received bytes to ac_agent_rx(), and drains the
 * transmit queue with ac_agent_tx_peek()/ac_agent_tx_consume() without
 * blocking.  No function here blocks, allocates or takes a lock; one agent
 * is driven from one task.
 */
#ifndef APPCORE_AGENT_H
#define APPCORE_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "image.h"
#include "region.h"
#include "sha256.h"
#include "wire.h"

#define AC_AGENT_VERSION	"0.1.0"
#define AC_TXQ_SIZE		16384u	/* bytes; a power of two */

/* The platform contract: what a port must provide. */
struct ac_port {
	void *ctx;
	/* Monotonic microseconds since the agent's boot. */
	uint64_t (*now_us)(void *ctx);
	/* Reset core 1 and let it run from its entry again; 0 or -errno.
	 * NULL when the port cannot. */
	int (*core1_restart)(void *ctx);
	/* Optional: stall core 1 (its memory stops changing) and read its
	 * last PC and SP (ESP32-S3: the ASSIST_DEBUG PC/SP record of core
	 * 1); 0 or -errno.  Called once when core 1 is found hung. */
	int (*core1_stall)(void *ctx, uint32_t *pc, uint32_t *sp);
	/* Optional: the crash store, where a frozen crash waits for a host
	 * across board resets (ESP32-S3: a flash partition; the simulator:
	 * a file).  store_size bytes, 0 when there is none; it must hold
	 * AC_STORE_DATA + the region to be used.  Writes go to increasing
	 * offsets after a clear; store_clear makes it read as empty.  Each
	 * returns 0 or -errno. */
	uint32_t store_size;
	int (*store_read)(void *ctx, uint32_t off, void *buf, uint32_t n);
	int (*store_write)(void *ctx, uint32_t off, const void *buf,
	    uint32_t n);
	int (*store_clear)(void *ctx);
	/* Optional: core-1 image slots (docs/updates.md).  Two slots of
	 * slot_size bytes where images linked at image_base run (ESP32-S3:
	 * two flash partitions, mapped at 0x42400000 in turn; the
	 * simulator: files), erased in whole AC_SLOT_SECTOR sectors, and
	 * two copies of the slot record, AC_SLOT_REC_SIZE bytes each.
	 * core1_switch stops core 1, makes slot the image it runs and
	 * starts it at the image's entry.  Each returns 0 or -errno. */
	uint32_t slot_size;
	uint32_t image_base;
	int (*slot_erase)(void *ctx, uint8_t slot, uint32_t off, uint32_t n);
	int (*slot_write)(void *ctx, uint8_t slot, uint32_t off,
	    const void *buf, uint32_t n);
	int (*slot_read)(void *ctx, uint8_t slot, uint32_t off, void *buf,
	    uint32_t n);
	int (*rec_read)(void *ctx, uint8_t copy, void *buf, uint32_t n);
	int (*rec_write)(void *ctx, uint8_t copy, const void *buf,
	    uint32_t n);
	int (*core1_switch)(void *ctx, uint8_t slot,
	    const struct ac_slot_info *);
	/* Optional: every sample the agent produced, in order (the
	 * simulator's ground-truth log). */
	void (*on_sample)(void *ctx, uint64_t index, uint64_t t_us,
	    const uint32_t *vals, uint32_t ncols);
};

/* The crash store: a 16-byte header, the DUMP_INFO payload, and from
 * AC_STORE_DATA on the dump (docs/crash-dumps.md). */
#define AC_STORE_MAGIC		0x31444341u	/* "ACD1" */
#define AC_STORE_HDR		16u
#define AC_STORE_DATA		4096u

struct ac_agent_cfg {
	uint32_t rate_hz;		/* 1..1000, default 100 */
	uint32_t hang_timeout_ms;	/* heartbeat silence => hung */
	uint32_t batch_us;		/* longest a sample waits in a frame */
	uint32_t keyframe_us;		/* a key frame at least this often */
	uint32_t stats_us;		/* STATS period */
	uint32_t region_base;		/* the address core 1 sees */
	uint8_t device_id[AC_DEVICE_ID_MAX];
	uint8_t device_id_len;
	uint64_t boot_id;
	uint8_t image_hash[32];
	uint8_t restart;		/* enum ac_restart_policy */
	uint32_t restart_max;		/* AC_RESTART_LIMIT: 1..AC_RESTART_MAX */
	bool no_samples_ref;		/* answer SAMPLES_REF as unknown */
	/* SEGGER RTT (docs/rtt.md): the core-1 range searched for a control
	 * block, as the agent reads it (rtt_mem) and as core 1 addresses it
	 * (rtt_addr), rtt_size bytes, all 4-aligned; NULL or 0: off. */
	void *rtt_mem;
	uint32_t rtt_addr;
	uint32_t rtt_size;
};

void ac_agent_cfg_defaults(struct ac_agent_cfg *);

struct ac_txq {
	uint8_t buf[AC_TXQ_SIZE];
	uint32_t head;			/* free-running write position */
	uint32_t tail;			/* free-running read position */
	uint32_t high_water;
};

struct ac_xfer {
	bool active;
	uint32_t req_id;
	uint8_t kind;			/* enum ac_mem_kind */
	uint32_t start, total, done;
};

/* A frozen crash on its way to a host (agent.c, "crash dumps"). */
struct ac_dump {
	uint8_t state;			/* DUMP_* in agent.c */
	bool stored;			/* its bytes are in the crash store */
	bool current;			/* of this core-1 run, bytes in region */
	uint32_t pos;			/* SAVING: bytes frozen; else next */
	uint32_t acked;			/* bytes the host has */
	uint64_t wait_t;		/* the host last answered, or offer */
	struct ac_sha256 sha;
	struct ac_msg_dump_info info;
};

/* SEGGER RTT (agent_rtt.c). */
struct ac_rtt {
	uint8_t state;			/* RTT_* in agent_rtt.c */
	bool found_told;		/* FOUND sent to this host */
	uint16_t told;			/* channels announced to this host */
	uint16_t binary;		/* channels named as binary (defmt) */
	uint32_t cb;			/* the control block's range offset */
	uint32_t nup;			/* its up-buffers */
	uint32_t scan_pos;
	uint64_t next_scan_t;
	uint64_t next_t;		/* RTT's next turn */
	uint8_t refused_why;		/* the refusal last told */
	uint32_t refused_addr;
};

/* Core-1 image updates (agent_image.c). */
struct ac_image {
	bool usable;			/* the port has slots */
	struct ac_slot_rec rec;		/* as last written */
	uint8_t rec_copy;		/* the copy written last */
	uint8_t state;			/* enum ac_image_state */
	uint8_t error;			/* enum ac_image_error */
	uint8_t target;			/* the slot in transfer or ready */
	uint32_t xfer_id;
	uint32_t have;			/* bytes written in order */
	uint32_t erased;		/* bytes erased from the slot's start */
	uint32_t chunks;		/* since the last IMAGE_STATUS */
	uint32_t verify_pos;
	struct ac_sha256 sha;
	uint64_t trial_t;		/* the trial began */
	uint32_t trial_gen;		/* core-1 run before the switch */
	bool trial_run_seen;		/* the new run's region appeared */
	uint32_t trial_hb0;		/* its first heartbeat count */
	bool trial_beat;		/* and it moved since */
	bool status_due;
	uint8_t factory_hash[32];	/* the image the port built in */
};

#define AC_REF_RING	8	/* delta references kept: ~80 ms at 1 kHz */

struct ac_agent {
	struct ac_agent_cfg cfg;
	uint32_t interval_us;		/* between samples: 1e6 / rate_hz */
	const struct ac_port *port;
	struct ac_region *r;
	uint32_t region_size;

	struct ac_txq q;
	uint32_t tx_seq;
	uint32_t crc_seed;		/* ac_boot_seed(cfg.boot_id) */
	struct ac_deframer rx;
	struct ac_samples_enc enc;
	uint8_t frame[AC_FRAME_MAX_ENC];
	uint8_t payload[AC_WIRE_MAX_PAYLOAD];
	struct ac_wr w;

	/* What the agent last saw of core 1. */
	bool region_ok;
	bool region_seen;		/* valid at least once */
	uint32_t generation;
	uint8_t state;			/* last reported */
	uint32_t last_hb;
	uint64_t last_hb_t;
	uint32_t desc_seq;
	bool desc_valid;
	bool desc_pending;		/* DESC frames still to send */
	uint32_t desc_gen;		/* descriptor sets announced */
	uint32_t ncols;
	uint8_t rate_mode[(AC_MAX_COUNTERS + 7) / 8];
	struct ac_counter_info ctr[AC_MAX_COUNTERS];
	uint32_t log_next;
	uint32_t log_lost_pending;	/* lost since the last LOG sent */
	uint32_t panic_seq;		/* the panic record last sent */
	/* The last CRASH sent (panic or hang) of this core-1 run: sent again,
	 * as it was, to a host that says hello while core 1 is still down. */
	bool crash_valid;
	struct ac_msg_crash crash;

	/* Sampler. */
	uint64_t next_sample_t;
	uint64_t sample_index;
	uint64_t last_key_t;
	bool force_key;
	uint32_t vals[AC_MAX_COUNTERS];
	/* The reference each of the last delta frames continued, for a host
	 * that lost the frame before one (SAMPLES_REF). */
	struct ac_samples_state refs[AC_REF_RING];
	uint32_t ref_next;

	struct ac_xfer xfer;
	struct ac_rtt rtt;
	struct ac_image img;
	struct ac_dump dump;
	bool crash_dumped;		/* the kept crash has its dump */
	uint32_t dump_seq;
	bool restart_due;		/* the policy may restart core 1 now */
	uint32_t restarts;		/* by the policy, ever */
	uint64_t restart_t[AC_RESTART_MAX];	/* the last ones, a ring */
	uint8_t bounce[AC_DUMP_CHUNK];
	uint64_t next_stats_t;
	struct ac_msg_stats st;
};

/* Returns 0, or AC_ERANGE for a bad configuration or region. */
int ac_agent_init(struct ac_agent *, const struct ac_agent_cfg *,
    const struct ac_port *, void *region, uint32_t region_size)
    AC_WIRE_WARN_UNUSED;
/* Runs whatever is due and returns the time it next wants to run. */
uint64_t ac_agent_poll(struct ac_agent *);
/* Bytes received from the host, in any pieces. */
void ac_agent_rx(struct ac_agent *, const uint8_t *buf, size_t n);
/* The next contiguous bytes to send (NULL when none) and their release. */
const uint8_t *ac_agent_tx_peek(struct ac_agent *, size_t *len);
void ac_agent_tx_consume(struct ac_agent *, size_t n);
/* Sends the open samples frame and a STATS message now (before exit). */
void ac_agent_flush(struct ac_agent *);
/* The slot core 1 should run and its image (the port starts core 1 from
 * it after ac_agent_init); NULL when the port has no slots. */
const struct ac_slot_info *ac_agent_core1_slot(const struct ac_agent *,
    uint8_t *slot);
/* Changes the sample rate as the SET_RATE command does. */
int ac_agent_set_rate(struct ac_agent *, uint32_t hz) AC_WIRE_WARN_UNUSED;

#endif /* APPCORE_AGENT_H */
