/*
 * The simulator's side of the serial link: a pty whose slave path a host
 * opens like a USB serial device, or a TCP listen socket (one host at a
 * time; while none is connected the bytes fall on the floor, as they do on
 * a UART with nothing attached).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "sim.h"

static int
link_open_pty(struct sim_link *l)
{
	struct termios tio;
	const char *name;
	int fd;

	if ((fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return -1;
	if (grantpt(fd) < 0 || unlockpt(fd) < 0 ||
	    (name = ptsname(fd)) == NULL)
		goto fail;
	snprintf(l->name, sizeof(l->name), "%s", name);
	/* Holding the slave open keeps the master from seeing a hang-up
	 * while no host is attached; raw mode so nothing is echoed. */
	if ((l->slave_fd = open(l->name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		goto fail;
	if (tcgetattr(l->slave_fd, &tio) < 0)
		goto fail;
	cfmakeraw(&tio);
	if (tcsetattr(l->slave_fd, TCSANOW, &tio) < 0)
		goto fail;
	l->fd = fd;
	l->kind = SIM_LINK_PTY;
	return 0;
fail:
	if (l->slave_fd >= 0)
		close(l->slave_fd);
	l->slave_fd = -1;
	close(fd);
	return -1;
}

static int
link_open_tcp(struct sim_link *l, const char *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char *end;
	long p = strtol(port, &end, 10);
	int one = 1, fd;

	if (*port == '\0' || *end != '\0' || p < 0 || p > 65535) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)p);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		close(fd);
		return -1;
	}
	snprintf(l->name, sizeof(l->name), "127.0.0.1:%u",
	    (unsigned)ntohs(sin.sin_port));
	l->listen_fd = fd;
	l->fd = -1;
	l->kind = SIM_LINK_TCP;
	return 0;
}

int
sim_link_open(struct sim_link *l, const char *spec)
{
	memset(l, 0, sizeof(*l));
	l->fd = l->listen_fd = l->slave_fd = -1;
	if (strcmp(spec, "pty") == 0)
		return link_open_pty(l);
	if (strncmp(spec, "tcp:", 4) == 0)
		return link_open_tcp(l, spec + 4);
	if (strncmp(spec, "fd:", 3) == 0) {
		/* A connected socket handed over by an embedding program
		 * (appcored --demo); it becomes ours to close. */
		char *end;
		long fd = strtol(spec + 3, &end, 10);

		if (*end != '\0' || fd < 0 || fd > 65535) {
			errno = EINVAL;
			return -1;
		}
		l->fd = (int)fd;
		l->kind = SIM_LINK_FD;
		snprintf(l->name, sizeof(l->name), "fd %ld", fd);
		return 0;
	}
	errno = EINVAL;
	return -1;
}

void
sim_link_close(struct sim_link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	if (l->listen_fd >= 0)
		close(l->listen_fd);
	if (l->slave_fd >= 0)
		close(l->slave_fd);
	l->fd = l->listen_fd = l->slave_fd = -1;
}
