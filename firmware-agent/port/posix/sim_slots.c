/*
 * appcore-sim --slots DIR: the board's two core-1 image slots and its
 * slot record as files (docs/updates.md), so that they survive the
 * simulator's exit or kill -9 as flash survives a reset.  DIR/slot-a.bin
 * and DIR/slot-b.bin hold the images, DIR/record-0 and DIR/record-1 the
 * two copies of the slot record.
 *
 * The in-process core 1 stands for an image by its behaviour: a
 * simulator image (firmware-agent/tools/core1_image.py --sim) says after
 * its header "appcore-sim image behaviour=NAME" with NAME one of ok,
 * panic, hang, no-heartbeat, silent; any other image runs as ok.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

static const char *const behaviour_names[SIM_BEHAVIOUR_COUNT] = {
	[SIM_OK] = "ok", [SIM_PANIC] = "panic", [SIM_HANG] = "hang",
	[SIM_NO_HEARTBEAT] = "no-heartbeat", [SIM_SILENT] = "silent",
};

const char *
sim_behaviour_name(int b)
{
	return b >= 0 && b < SIM_BEHAVIOUR_COUNT ? behaviour_names[b] : "?";
}

/* What a slot's image does when it runs. */
static int
slot_behaviour(int fd, const struct ac_slot_info *s)
{
	static const char tag[] = "appcore-sim image behaviour=";
	char text[64];
	ssize_t n;

	if (s->size == 0)
		return SIM_OK;		/* the built-in workload */
	n = pread(fd, text, sizeof(text) - 1, AC_IMAGE_HDR);
	if (n <= (ssize_t)sizeof(tag) - 1)
		return SIM_OK;
	text[n] = '\0';
	if (strncmp(text, tag, sizeof(tag) - 1) != 0)
		return SIM_OK;
	for (int b = 0; b < SIM_BEHAVIOUR_COUNT; b++)
		if (strcmp(text + sizeof(tag) - 1, behaviour_names[b]) == 0)
			return b;
	return SIM_OK;
}

static int
full_pwrite(int fd, const void *buf, uint32_t n, off_t off)
{
	ssize_t w = pwrite(fd, buf, n, off);

	if (w != (ssize_t)n)
		return w < 0 ? -errno : -ENOSPC;
	return 0;
}

static int
full_pread(int fd, void *buf, uint32_t n, off_t off)
{
	ssize_t r = pread(fd, buf, n, off);

	if (r == (ssize_t)n)
		return 0;
	if (r >= 0) {			/* past the file's end: erased flash */
		memset((uint8_t *)buf + r, 0xff, n - (uint32_t)r);
		return 0;
	}
	return -errno;
}

static int
port_slot_erase(void *ctx, uint8_t slot, uint32_t off, uint32_t n)
{
	struct sim_board *b = ctx;
	uint8_t ff[AC_SLOT_SECTOR];

	if (slot > 1 || off % AC_SLOT_SECTOR || n % AC_SLOT_SECTOR ||
	    off + n > b->opts.slot_size)
		return -EINVAL;
	memset(ff, 0xff, sizeof(ff));
	for (uint32_t k = 0; k < n; k += AC_SLOT_SECTOR)
		if (full_pwrite(b->slots.slot_fd[slot], ff, AC_SLOT_SECTOR,
		    off + k) < 0)
			return -EIO;
	return 0;
}

static int
port_slot_write(void *ctx, uint8_t slot, uint32_t off, const void *buf,
    uint32_t n)
{
	struct sim_board *b = ctx;

	if (slot > 1 || off + n > b->opts.slot_size)
		return -EINVAL;
	return full_pwrite(b->slots.slot_fd[slot], buf, n, off);
}

static int
port_slot_read(void *ctx, uint8_t slot, uint32_t off, void *buf, uint32_t n)
{
	struct sim_board *b = ctx;

	if (slot > 1 || off + n > b->opts.slot_size)
		return -EINVAL;
	return full_pread(b->slots.slot_fd[slot], buf, n, off);
}

static int
port_rec_read(void *ctx, uint8_t copy, void *buf, uint32_t n)
{
	struct sim_board *b = ctx;

	return copy > 1 ? -EINVAL : full_pread(b->slots.rec_fd[copy], buf, n,
	    0);
}

/* On the platter before the agent goes on: the record is what survives. */
static int
port_rec_write(void *ctx, uint8_t copy, const void *buf, uint32_t n)
{
	struct sim_board *b = ctx;
	int rc;

	if (copy > 1)
		return -EINVAL;
	if ((rc = full_pwrite(b->slots.rec_fd[copy], buf, n, 0)) < 0)
		return rc;
	return fdatasync(b->slots.rec_fd[copy]) < 0 ? -errno : 0;
}

/* Stop core 1, run the slot's image, start it: what core1_boot.c does
 * with the MMU mapping on the S3. */
static int
port_core1_switch(void *ctx, uint8_t slot, const struct ac_slot_info *s)
{
	struct sim_board *b = ctx;

	sim_core1_stop(&b->core1);
	b->slots.stopped_ns = sim_now_ns();
	b->slots.switch_gen = b->agent.generation;
	b->slots.switch_slot = slot;
	b->core1.behaviour = slot_behaviour(b->slots.slot_fd[slot], s);
	if (!b->opts.quiet)
		fprintf(stderr, "appcore-sim: core 1 runs slot %c (%s)\n",
		    'a' + slot, sim_behaviour_name(b->core1.behaviour));
	return sim_core1_start(&b->core1);
}

static int
open_in(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
}

int
sim_slots_open(struct sim_board *b)
{
	static const char *const names[4] = { "slot-a.bin", "slot-b.bin",
	    "record-0", "record-1" };
	int *fds[4] = { &b->slots.slot_fd[0], &b->slots.slot_fd[1],
	    &b->slots.rec_fd[0], &b->slots.rec_fd[1] };

	for (int i = 0; i < 4; i++)
		if ((*fds[i] = open_in(b->opts.slots_dir, names[i])) < 0)
			return -1;
	b->port.slot_size = b->opts.slot_size;
	b->port.image_base = AC_IMAGE_BASE;
	b->port.slot_erase = port_slot_erase;
	b->port.slot_write = port_slot_write;
	b->port.slot_read = port_slot_read;
	b->port.rec_read = port_rec_read;
	b->port.rec_write = port_rec_write;
	b->port.core1_switch = port_core1_switch;
	return 0;
}

/* After the agent read the record: the image core 1 boots. */
void
sim_slots_boot(struct sim_board *b)
{
	uint8_t slot;
	const struct ac_slot_info *s = ac_agent_core1_slot(&b->agent, &slot);

	if (s == NULL)
		return;
	b->core1.behaviour = slot_behaviour(b->slots.slot_fd[slot], s);
	if (!b->opts.quiet)
		fprintf(stderr, "appcore-sim: core 1 boots slot %c (%s)\n",
		    'a' + slot, sim_behaviour_name(b->core1.behaviour));
}

/*
 * After a switch: the first heartbeat of the new run, as the agent sees
 * it, said with the time since core 1 was stopped (docs/benchmarks.md).
 */
void
sim_slots_watch(struct sim_board *b)
{
	struct sim_slots *s = &b->slots;
	const struct ac_agent *a = &b->agent;

	if (s->stopped_ns == 0 || !a->region_ok ||
	    a->generation == s->switch_gen)
		return;
	if (!s->hb_seen) {
		s->hb_seen = true;
		s->hb0 = a->last_hb;
		return;
	}
	if (a->last_hb == s->hb0)
		return;
	if (!b->opts.quiet)
		fprintf(stderr, "appcore-sim: first heartbeat of slot %c %.3f ms "
		    "after core 1 was stopped\n", 'a' + s->switch_slot,
		    (double)(sim_now_ns() - s->stopped_ns) / 1e6);
	s->stopped_ns = 0;
	s->hb_seen = false;
}

void
sim_slots_close(struct sim_board *b)
{
	for (int i = 0; i < 2; i++) {
		if (b->slots.slot_fd[i] >= 0)
			close(b->slots.slot_fd[i]);
		if (b->slots.rec_fd[i] >= 0)
			close(b->slots.rec_fd[i]);
		b->slots.slot_fd[i] = b->slots.rec_fd[i] = -1;
	}
}
