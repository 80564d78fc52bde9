/*
 * A fake board for the core-1 update tests (test_image.c) and the fuzz
 * target (fuzz_image.c): two slots of NOR flash (erase to 0xff, writes
 * only clear bits), two copies of the slot record that a reset can tear
 * at any byte, and a core 1 that behaves as the image in its slot says
 * (byte 40 of a test image: 'o' healthy, 'p' panics, 'h' hangs after
 * beating, 'n' runs but never beats, 's' never starts).  A board reset
 * is a new agent on the same flash.  The host side reads the agent's
 * frames and keeps the last of each kind it cares about.
 */
#ifndef APPCORE_FAKEBOARD_H
#define APPCORE_FAKEBOARD_H

#include <stdbool.h>
#include <stdint.h>

#include "appcore/agent.h"
#include "appcore/image.h"

#define REGION_SIZE	(32 * 1024)
#define SLOT_SIZE	(64 * 1024)

extern _Alignas(64) uint8_t region_mem[REGION_SIZE];
extern uint8_t flash[2][SLOT_SIZE];
extern uint8_t recs[2][AC_SLOT_REC_SIZE];
extern uint64_t fake_now;
extern struct ac_agent agent;
extern struct ac_region *r;
extern const uint8_t factory_hash[32];

/* The board's side. */
struct fake_board {
	int switches;
	uint8_t running_slot;
	char behaviour;
	uint64_t run_t;			/* core 1 started */
	int tear_write;			/* this record write (0, 1, ...) */
	int tear_at;			/* stops after this many bytes */
	bool torn;			/* and the power is gone since */
	int rec_writes;
	int erases;
	uint64_t flash_writes;		/* erases and writes of the slots */
};
extern struct fake_board B;

/* What the host saw. */
struct fake_host {
	int statuses, hellos, crashes, replies;
	struct ac_msg_image_status st;
	struct ac_msg_hello hello;
	struct ac_msg_crash crash;
	struct ac_msg_reply reply;
	uint8_t dump_hash[32];
	uint32_t dump_id;
	bool dump_offered;
	bool takes_dumps;		/* acknowledges each as stored */
};
extern struct fake_host H;

struct image {
	uint8_t bytes[SLOT_SIZE + 4096];
	uint32_t len;
	uint8_t sha[32];
	uint8_t elf_hash[32];
	uint32_t entry;
};

void pump(void);
/* ms of board time: core 1 steps, the agent polls, the host reads. */
void run_ms(uint32_t ms);
void to_agent(uint8_t type, const uint8_t *payload, size_t len);
void command(uint8_t cmd, uint32_t arg0, uint32_t arg1);
/* A board boot: a new agent on the flash as it is. */
void board_boot(uint64_t boot_id);
/* Erased flash, no record, boot 1. */
void board_new(void);
void image_make(struct image *, uint32_t len, char behaviour, uint8_t tag);
void offer(const struct image *, uint32_t xfer_id);
void send_chunk(const struct image *, uint32_t xfer_id, uint32_t off,
    bool damage);
/* The host's side of a transfer (fakeboard.c says how); chunks sent. */
int transfer(const struct image *, uint32_t xfer_id, uint32_t stop_at,
    uint32_t damage_at);
/* The newer whole copy of the slot record on flash (none: slot 0). */
struct ac_slot_rec record_now(void);

#endif
