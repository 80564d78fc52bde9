/*
 * The emulated board's core-1 image slots (docs/updates.md): slot A, slot
 * B and the slot record's two copies are host files the launcher opens
 * (appcore-sim --slots DIR), read and written through semihosting as the
 * S3 reads and writes its partitions.  A slot's image runs at
 * BOARD_IMAGE_BASE: core 0 copies it there with core 1 stopped, as the
 * S3 maps the slot's partition, and starts core 1 at its entry.
 */
#include <stdint.h>
#include <string.h>

#include "appcore/agent.h"
#include "board.h"
#include "semihost.h"

#define SH_SYS_LSEEK	19

static int fds[4] = { -1, -1, -1, -1 };	/* slot A, slot B, record 0, 1 */
static uint8_t erased[AC_SLOT_SECTOR];

static int
seek(int fd, uint32_t off)
{
	return sh_call(SH_SYS_LSEEK, fd, (int32_t)off, 0) == (int32_t)off ?
	    0 : -1;
}

/* Bytes past the file's end read as erased flash. */
static int
file_read(int fd, uint32_t off, void *buf, uint32_t n)
{
	uint8_t *p = buf;
	size_t got = 0, r;

	if (fd < 0 || seek(fd, off) < 0)
		return -1;
	while (got < n && (r = sh_read(fd, p + got, n - got)) > 0)
		got += r;
	memset(p + got, 0xff, n - got);
	return 0;
}

static int
file_write(int fd, uint32_t off, const void *buf, uint32_t n)
{
	if (fd < 0 || seek(fd, off) < 0)
		return -1;
	return sh_write_all(fd, buf, n);
}

static int
slot_erase(void *ctx, uint8_t slot, uint32_t off, uint32_t n)
{
	(void)ctx;
	if (slot > 1)
		return -1;
	for (uint32_t k = 0; k < n; k += AC_SLOT_SECTOR)
		if (file_write(fds[slot], off + k, erased, AC_SLOT_SECTOR) < 0)
			return -1;
	return 0;
}

static int
slot_write(void *ctx, uint8_t slot, uint32_t off, const void *buf,
    uint32_t n)
{
	(void)ctx;
	return slot > 1 ? -1 : file_write(fds[slot], off, buf, n);
}

static int
slot_read(void *ctx, uint8_t slot, uint32_t off, void *buf, uint32_t n)
{
	(void)ctx;
	return slot > 1 ? -1 : file_read(fds[slot], off, buf, n);
}

static int
rec_read(void *ctx, uint8_t copy, void *buf, uint32_t n)
{
	(void)ctx;
	return copy > 1 ? -1 : file_read(fds[2 + copy], 0, buf, n);
}

static int
rec_write(void *ctx, uint8_t copy, const void *buf, uint32_t n)
{
	(void)ctx;
	return copy > 1 ? -1 : file_write(fds[2 + copy], 0, buf, n);
}

uint32_t
board_slot_load(uint8_t slot, const struct ac_slot_info *s)
{
	uint32_t entry;

	if (slot > 1 || s->size < AC_IMAGE_HDR || s->size > BOARD_IMAGE_MAX ||
	    file_read(fds[slot], 0, (void *)(uintptr_t)BOARD_IMAGE_BASE,
	    s->size) < 0)
		return 0;
	memcpy(&entry, (const void *)(uintptr_t)BOARD_IMAGE_BASE, 4);
	__asm__ volatile ("memw" : : : "memory");
	return entry == s->entry ? entry : 0;
}

void
board_slots_init(struct ac_port *port, const int f[4], uint32_t size)
{
	for (int i = 0; i < 4; i++)
		if (f[i] < 0)
			return;
	memcpy(fds, f, sizeof(fds));
	memset(erased, 0xff, sizeof(erased));
	port->slot_size = size < BOARD_IMAGE_MAX ? size : BOARD_IMAGE_MAX;
	port->image_base = BOARD_IMAGE_BASE;
	port->slot_erase = slot_erase;
	port->slot_write = slot_write;
	port->slot_read = slot_read;
	port->rec_read = rec_read;
	port->rec_write = rec_write;
}
