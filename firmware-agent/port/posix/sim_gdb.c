/*
 * Just enough of the GDB remote protocol to play core 1's hardware
 * controls on QEMU's gdbstub (sim_qemu.c): stop the guest, read and write
 * one CPU's registers, and let the guest run with that CPU held or not.
 * QEMU answers 'p' only to a GDB that read a target description, which
 * its Xtensa stub has none of, so registers go whole ('g', 'G'), in the
 * order of its core-lx106/gdb-config.c.inc.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

int
sim_gdb_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
send_packet(int fd, const char *body)
{
	size_t n = strlen(body);
	unsigned sum = 0;
	char *pkt = malloc(n + 5);
	int rc;

	if (pkt == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		sum += (unsigned char)body[i];
	snprintf(pkt, n + 5, "$%s#%02x", body, sum & 0xff);
	rc = send_all(fd, pkt, n + 4);
	free(pkt);
	return rc;
}

/* The next packet's body into out (acknowledged); -1 on a timeout. */
static int
read_packet(int fd, char *out, size_t cap, int timeout_ms)
{
	size_t n = 0;
	int state = 0;		/* 0: before '$', 1: body, 2-3: checksum */

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		char c;

		if (poll(&p, 1, timeout_ms) <= 0 || read(fd, &c, 1) != 1)
			return -1;
		if (state == 0) {
			state = c == '$';
			continue;
		}
		if (state == 1) {
			if (c == '#')
				state = 2;
			else if (n + 1 < cap)
				out[n++] = c;
			continue;
		}
		if (++state == 4)
			break;
	}
	out[n] = '\0';
	return send_all(fd, "+", 1);
}

/* A command and its reply. */
static int
command(int fd, const char *body, char *out, size_t cap)
{
	return send_packet(fd, body) < 0 ? -1 :
	    read_packet(fd, out, cap, 5000);
}

int
sim_gdb_stop(int fd)
{
	char reply[256];

	if (send_all(fd, "\x03", 1) < 0)
		return -1;
	/* The stop reply (a CPU already stopped still makes one). */
	while (read_packet(fd, reply, sizeof(reply), 5000) == 0)
		if (reply[0] == 'T' || reply[0] == 'S')
			return 0;
	return -1;
}

static uint32_t
hex_le32(const char *h)
{
	char b[3] = { 0, 0, 0 };
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--) {
		b[0] = h[2 * i];
		b[1] = h[2 * i + 1];
		v = v << 8 | (uint32_t)strtoul(b, NULL, 16);
	}
	return v;
}

int
sim_gdb_regs(int fd, int thread, uint32_t *regs, int max)
{
	char cmd[32], *reply = malloc(8192);
	int n = 0;

	if (reply == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "Hg%x", thread);
	if (command(fd, cmd, reply, 8192) == 0 &&
	    command(fd, "g", reply, 8192) == 0)
		for (; n < max && strlen(reply) >= (size_t)(n + 1) * 8; n++)
			regs[n] = hex_le32(reply + 8 * n);
	free(reply);
	return n;
}

int
sim_gdb_set_regs(int fd, int thread, const uint32_t *regs, int n)
{
	char cmd[32], *body = malloc((size_t)n * 8 + 2), reply[64];
	int rc = -1;

	if (body == NULL)
		return -1;
	body[0] = 'G';
	for (int i = 0; i < n; i++)
		for (int k = 0; k < 4; k++)
			snprintf(body + 1 + 8 * i + 2 * k, 3, "%02x",
			    (regs[i] >> (8 * k)) & 0xff);
	snprintf(cmd, sizeof(cmd), "Hg%x", thread);
	if (command(fd, cmd, reply, sizeof(reply)) == 0 &&
	    command(fd, body, reply, sizeof(reply)) == 0 &&
	    strcmp(reply, "OK") == 0)
		rc = 0;
	free(body);
	return rc;
}

int
sim_gdb_run(int fd, int only_thread)
{
	char body[32];

	/* A thread vCont names no action for stays stopped. */
	if (only_thread > 0)
		snprintf(body, sizeof(body), "vCont;c:%x", only_thread);
	else
		snprintf(body, sizeof(body), "vCont;c");
	return send_packet(fd, body);
}
