/*
 * Core-1 image updates (docs/updates.md): the messages that carry an
 * image over the link into one of the board's two slots, the status the
 * agent reports, and the slot record the agent keeps in its own storage.
 * One implementation (core/image_wire.c) for the agent and the host.
 */
#ifndef APPCORE_IMAGE_H
#define APPCORE_IMAGE_H

#include <stdint.h>

#include "wire.h"

/* The image: a flat binary linked at the slot's address (AC_IMAGE_BASE on
 * the ESP32-S3: the partition's MMU mapping), starting with this header. */
#define AC_IMAGE_MAGIC		0x49314341u	/* "AC1I" */
#define AC_IMAGE_HDR		40u	/* entry u32, magic u32, elf sha256 */
#define AC_IMAGE_BASE		0x42400000u
#define AC_IMAGE_CHUNK		768u	/* data bytes per IMAGE_DATA frame */
#define AC_IMAGE_MAX		(16u << 20)	/* the largest slot a host knows */
#define AC_IMAGE_WINDOW		8u	/* chunks a host sends past an ack */
#define AC_IMAGE_ACK_EVERY	4u	/* chunks per IMAGE_STATUS */
#define AC_SLOT_SECTOR		4096u	/* erase unit */
#define AC_TRIAL_MS_DEFAULT	10000u
#define AC_TRIAL_MS_MAX		3600000u
#define AC_SLOT_NONE		0xffu

/* Where a slot's image stands. */
enum ac_slot_state {
	AC_SLOT_EMPTY = 0,
	AC_SLOT_RECEIVING = 1,		/* a transfer writes it */
	AC_SLOT_VALID = 2,		/* verified against its SHA-256 */
	AC_SLOT_BAD = 3,		/* rolled back from, or failed */
	AC_SLOT_STATE_COUNT
};

/* What the update machinery is doing (IMAGE_STATUS). */
enum ac_image_state {
	AC_IMG_IDLE = 0,
	AC_IMG_RECEIVING = 1,
	AC_IMG_VERIFYING = 2,
	AC_IMG_READY = 3,		/* verified, not active */
	AC_IMG_TRIAL = 4,		/* active, waiting for its heartbeat */
	AC_IMG_CONFIRMED = 5,
	AC_IMG_ROLLED_BACK = 6,
	AC_IMG_FAILED = 7,		/* see error */
	AC_IMG_STATE_COUNT
};

/* Why an offer, a transfer or an activation failed, or why a trial was
 * rolled back. */
enum ac_image_error {
	AC_IMGE_NONE = 0,
	AC_IMGE_UNSUPPORTED = 1,	/* the port has no slots */
	AC_IMGE_BUSY_DUMP = 2,		/* a crash dump is on its way */
	AC_IMGE_BUSY_TRIAL = 3,		/* a trial is running */
	AC_IMGE_TOO_SMALL = 4,		/* shorter than its header */
	AC_IMGE_TOO_LARGE = 5,		/* larger than a slot */
	AC_IMGE_BAD_ENTRY = 6,		/* entry outside the image */
	AC_IMGE_BAD_HEADER = 7,		/* header words disagree */
	AC_IMGE_SHA256 = 8,		/* the slot's bytes do not hash */
	AC_IMGE_STORAGE = 9,		/* erase, write or read failed */
	AC_IMGE_NO_IMAGE = 10,		/* nothing verified to activate */
	AC_IMGE_START = 11,		/* the port could not start it */
	AC_IMGE_PANIC = 12,		/* rolled back: the image panicked */
	AC_IMGE_HANG = 13,		/* rolled back: its heartbeat stopped */
	AC_IMGE_NO_HEARTBEAT = 14,	/* rolled back: it never beat */
	AC_IMGE_RESET = 15,		/* rolled back: the board reset */
	AC_IMGE_ABORTED = 16,		/* the host gave the transfer up */
	AC_IMGE_COUNT
};

const char *ac_image_state_name(unsigned state);
const char *ac_image_error_name(unsigned err);
/* A sentence for people: what went wrong and what to do. */
const char *ac_image_error_text(unsigned err);

/* IMAGE_OFFER (host to agent): the image that follows. */
struct ac_msg_image_offer {
	uint32_t xfer_id;		/* names the transfer in IMAGE_DATA */
	uint32_t total;			/* image bytes, AC_IMAGE_HDR.. */
	uint32_t entry;			/* the header's first word */
	uint8_t sha256[32];		/* of the whole image */
	uint8_t image_hash[32];		/* the ELF's, as HELLO will say */
};

/* IMAGE_DATA (host to agent): one chunk. */
struct ac_msg_image_data {
	uint32_t xfer_id;
	uint32_t offset;
	uint32_t crc;			/* CRC-32C of data */
	const uint8_t *data;		/* points into the frame */
	uint32_t len;			/* 1..AC_IMAGE_CHUNK */
};

/* IMAGE_STATUS (agent to host): after each step, every
 * AC_IMAGE_ACK_EVERY chunks, and on the image-status command. */
struct ac_msg_image_status {
	uint32_t xfer_id;		/* the transfer in hand, or the last */
	uint8_t state;			/* enum ac_image_state */
	uint8_t error;			/* enum ac_image_error */
	uint32_t have;			/* bytes written in order */
	uint32_t total;
	uint32_t slot_size;		/* 0: the port has no slots */
	uint32_t base;			/* where images run (AC_IMAGE_BASE) */
	uint8_t active;			/* slot core 1 runs */
	uint8_t previous;		/* slot to roll back to, AC_SLOT_NONE */
	uint8_t attempts;		/* trial starts of the active image */
	uint32_t trial_left_ms;		/* TRIAL: until it is confirmed */
	uint8_t active_hash[32];	/* image hash core 1 runs */
	uint8_t sha256[32];		/* of the image in transfer or ready */
};

int ac_image_offer_encode(struct ac_wr *, const struct ac_msg_image_offer *);
int ac_image_offer_decode(struct ac_rd *, struct ac_msg_image_offer *)
    AC_WIRE_WARN_UNUSED;
int ac_image_data_encode(struct ac_wr *, const struct ac_msg_image_data *);
int ac_image_data_decode(struct ac_rd *, struct ac_msg_image_data *)
    AC_WIRE_WARN_UNUSED;
int ac_image_status_encode(struct ac_wr *,
    const struct ac_msg_image_status *);
int ac_image_status_decode(struct ac_rd *, struct ac_msg_image_status *)
    AC_WIRE_WARN_UNUSED;

/*
 * The slot record: which slot runs, which to fall back to, and whether
 * the active image is on trial.  The agent keeps two copies and writes
 * the older one, each with a sequence number and a CRC-32C, so a reset
 * in the middle of a write leaves the other copy whole.
 */
#define AC_SLOT_REC_MAGIC	0x31534341u	/* "ACS1" */
#define AC_SLOT_REC_SIZE	200u		/* encoded bytes per copy */

struct ac_slot_info {
	uint8_t state;			/* enum ac_slot_state */
	uint32_t size;			/* image bytes; 0: built in */
	uint32_t entry;
	uint8_t sha256[32];		/* of the slot's bytes */
	uint8_t image_hash[32];		/* the ELF's */
};

struct ac_slot_rec {
	uint32_t seq;			/* the newer copy wins */
	uint8_t active;
	uint8_t previous;		/* AC_SLOT_NONE: nothing to go back to */
	uint8_t trial;			/* 1: the active image is on trial */
	uint8_t attempts;		/* trial starts of the active image */
	uint8_t last_error;		/* enum ac_image_error of the last end */
	uint32_t trial_ms;		/* confirm after this much health */
	uint32_t xfer_id;		/* the transfer into a RECEIVING slot */
	uint32_t have;			/* its bytes written, a checkpoint */
	struct ac_slot_info slot[2];
};

/* Encodes exactly AC_SLOT_REC_SIZE bytes; decode checks magic and CRC. */
void ac_slot_rec_encode(uint8_t out[AC_SLOT_REC_SIZE],
    const struct ac_slot_rec *);
int ac_slot_rec_decode(const uint8_t in[AC_SLOT_REC_SIZE],
    struct ac_slot_rec *) AC_WIRE_WARN_UNUSED;

#endif /* APPCORE_IMAGE_H */
