/*
 * Links to agents: serial ports through libserialport (which opens and
 * configures; the fd then goes into our poll loop, never libserialport's
 * blocking reads), TCP connections, and the in-process simulator's
 * socket.  A link that fails or hangs up is retried with backoff.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libserialport.h>

#include "appcored.h"
#include "log.h"

#define BACKOFF_MIN_MS	200u
#define BACKOFF_MAX_MS	5000u
#define BACKOFF_RECENT_MS	400u
#define BACKOFF_RECENT_US	(60ull * 1000000)
#define SCAN_US		2000000u
#define ESPRESSIF_VID	0x303a
#define USB_JTAG_PID	0x1001

static const char *
origin_name(enum link_origin o)
{
	return o == ORIGIN_CONFIG ? "configured" : o == ORIGIN_GLOB ?
	    "matched" : o == ORIGIN_AUTODETECT ? "detected" : "demo";
}

struct link *
link_add(struct daemon *d, enum link_kind kind, enum link_origin origin,
    const char *spec)
{
	struct link *l = calloc(1, sizeof(*l)), **tail;

	if (l == NULL)
		fatal("link");
	l->d = d;
	l->kind = kind;
	l->origin = origin;
	l->fd = -1;
	snprintf(l->spec, sizeof(l->spec), "%s", spec);
	session_init(&l->s, &device_session_cb, l);
	for (tail = &d->links; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = l;
	log_info("%s: %s link", l->spec, origin_name(origin));
	return l;
}

void
link_free(struct link *l)
{
	struct link **pp;

	link_close(l, now_wall_us(), NULL);
	for (pp = &l->d->links; *pp != NULL; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	free(l->xfer.buf);
	free(l);
}

/*
 * Retries back off from BACKOFF_MIN_MS to BACKOFF_MAX_MS, but a link that
 * was up in the last BACKOFF_RECENT_US is tried at least every
 * BACKOFF_RECENT_MS: a board that restarts comes back within a second,
 * and may not stay long.
 */
static void
retry_later(struct link *l, uint64_t now)
{
	uint32_t max = l->up_until != 0 && now - l->up_until <
	    BACKOFF_RECENT_US ? BACKOFF_RECENT_MS : BACKOFF_MAX_MS;

	l->backoff_ms = l->backoff_ms == 0 ? BACKOFF_MIN_MS :
	    l->backoff_ms * 2 > max ? max : l->backoff_ms * 2;
	l->next_try = now + l->backoff_ms * 1000ull;
}

static int
open_serial(struct link *l)
{
	const struct config *c = &l->d->cfg;
	struct sp_port_config *pc = NULL;
	enum sp_return r;
	char *msg;
	int fd;

	if ((r = sp_get_port_by_name(l->spec, &l->sp)) != SP_OK)
		goto fail;
	if ((r = sp_open(l->sp, SP_MODE_READ_WRITE)) != SP_OK)
		goto fail;
	if ((r = sp_new_config(&pc)) != SP_OK ||
	    (r = sp_set_config_baudrate(pc, c->baud)) != SP_OK ||
	    (r = sp_set_config_bits(pc, c->data_bits)) != SP_OK ||
	    (r = sp_set_config_parity(pc, c->parity == 'E' ? SP_PARITY_EVEN :
	    c->parity == 'O' ? SP_PARITY_ODD : SP_PARITY_NONE)) != SP_OK ||
	    (r = sp_set_config_stopbits(pc, c->stop_bits)) != SP_OK ||
	    (r = sp_set_config_flowcontrol(pc, SP_FLOWCONTROL_NONE)) != SP_OK ||
	    (r = sp_set_config(l->sp, pc)) != SP_OK ||
	    (r = sp_get_port_handle(l->sp, &fd)) != SP_OK)
		goto fail;
	sp_free_config(pc);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		sp_close(l->sp);
		sp_free_port(l->sp);
		l->sp = NULL;
		return -1;
	}
	l->fd = fd;
	return 0;
fail:
	if (pc != NULL)
		sp_free_config(pc);
	msg = sp_last_error_message();
	errno = r == SP_ERR_FAIL ? sp_last_error_code() : EINVAL;
	log_debug("%s: libserialport: %s", l->spec, msg ? msg : "error");
	sp_free_error_message(msg);
	if (l->sp != NULL) {
		sp_close(l->sp);
		sp_free_port(l->sp);
		l->sp = NULL;
	}
	if (errno == 0)
		errno = ENODEV;
	return -1;
}

static int
open_tcp(struct link *l)
{
	struct addrinfo hints, *res, *ai;
	char host[256], *port;
	int fd = -1, rc;

	snprintf(host, sizeof(host), "%s", l->spec + strlen("tcp://"));
	if ((port = strrchr(host, ':')) == NULL || port[1] == '\0') {
		errno = EINVAL;
		return -1;
	}
	*port++ = '\0';
	if (host[0] == '[' && port[-2] == ']') {	/* [::1]:7000 */
		port[-2] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		log_debug("%s: %s", l->spec, gai_strerror(rc));
		errno = EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    errno == EINPROGRESS)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return -1;
	l->fd = fd;
	l->connecting = true;
	return 0;
}

/* The link is up: ask the agent who it is. */
static void
link_up(struct link *l, uint64_t now)
{
	l->connecting = false;
	l->opened_at = now;
	/* It answered: a board that restarts is found again within
	 * BACKOFF_MIN_MS, not after the backoff of an earlier outage. */
	l->backoff_ms = 0;
	session_reset(&l->s);
	l->hello_asked = now;
	l->rate_asked = false;
	l->policy_asked = false;
	l->next_snapshot = now + 2000000;
	link_cmd(l, AC_CMD_HELLO, 0, 0);
	log_info("%s: open", l->spec);
}

int
link_open(struct link *l, uint64_t now)
{
	int rc = 0;

	if (l->fd >= 0)
		return 0;
	if (l->kind == LINK_SERIAL)
		rc = open_serial(l);
	else if (l->kind == LINK_TCP)
		rc = open_tcp(l);
	else
		return -1;	/* an fd link cannot be reopened */
	if (rc < 0) {
		if (l->backoff_ms == 0 || l->backoff_ms == BACKOFF_MAX_MS / 2)
			log_warn("%s: cannot open (retrying)", l->spec);
		retry_later(l, now);
		return -1;
	}
	if (!l->connecting)
		link_up(l, now);
	return 0;
}

void
link_close(struct link *l, uint64_t now, const char *why)
{
	if (l->dev != NULL)
		device_link_lost(l, now, why != NULL ? why : "closed");
	if (l->fd >= 0 && why != NULL)
		log_notice("%s: link down: %s", l->spec, why);
	if (l->fd >= 0 && !l->connecting)
		l->up_until = now;
	if (l->sp != NULL) {
		sp_close(l->sp);
		sp_free_port(l->sp);
		l->sp = NULL;
	} else if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	l->connecting = false;
	l->txlen = 0;
	l->xfer.active = false;
	free(l->xfer.buf);
	l->xfer.buf = NULL;
	if (l->read_id != 0) {
		bridge_read_done(l->d->bridge, l->read_id, 503);
		l->read_id = 0;
	}
	if (now != 0)
		retry_later(l, now);
}

/*
 * A TCP connect to a local port nobody listens on can pick that very port
 * as its own and connect to itself (a simultaneous open); the port then
 * stays taken from whoever would listen on it.
 */
static bool
self_connected(int fd)
{
	struct sockaddr_storage a, b;
	socklen_t la = sizeof(a), lb = sizeof(b);

	return getsockname(fd, (struct sockaddr *)&a, &la) == 0 &&
	    getpeername(fd, (struct sockaddr *)&b, &lb) == 0 && la == lb &&
	    memcmp(&a, &b, la) == 0;
}

void
link_read(struct link *l, uint64_t now)
{
	uint8_t buf[16384];
	ssize_t n;

	if (l->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
		    err != 0) {
			errno = err;
			log_debug("%s: connect: %s", l->spec, strerror(err));
			link_close(l, now, NULL);
			return;
		}
		if (self_connected(l->fd)) {
			log_debug("%s: connected to itself (nothing listens)",
			    l->spec);
			link_close(l, now, NULL);
			return;
		}
		link_up(l, now);
		return;
	}
	for (int k = 0; k < 64; k++) {
		n = read(l->fd, buf, sizeof(buf));
		if (n > 0) {
			l->rx_bytes += (uint64_t)n;
			session_clock(&l->s, now);
			session_feed(&l->s, buf, (size_t)n);
			if (l->fd < 0)
				return;	/* closed from a callback */
			continue;
		}
		/* A serial port configured with VMIN = VTIME = 0 reads 0
		 * when nothing is waiting: that is not an end.  Unplug shows
		 * as POLLHUP/POLLERR in the loop. */
		if (n == 0 && l->kind == LINK_SERIAL)
			return;
		if (n == 0) {
			link_close(l, now, "end of stream");
			return;
		}
		if (errno == EAGAIN || errno == EINTR)
			return;
		link_close(l, now, strerror(errno));
		return;
	}
}

void
link_write(struct link *l)
{
	ssize_t w;

	if (l->fd < 0 || l->connecting || l->txlen == 0)
		return;
	w = write(l->fd, l->tx, l->txlen);
	if (w > 0) {
		memmove(l->tx, l->tx + w, l->txlen - (size_t)w);
		l->txlen -= (size_t)w;
	}
}

uint32_t
link_cmd(struct link *l, uint8_t cmd, uint32_t arg0, uint32_t arg1)
{
	struct ac_msg_cmd c = { .cmd = cmd, .arg0 = arg0, .arg1 = arg1 };
	size_t n;

	if (l->fd < 0)
		return 0;
	n = session_cmd(&l->s, &c, l->tx + l->txlen, sizeof(l->tx) - l->txlen);
	if (n == 0) {
		log_warnx("%s: command queue full, %s dropped", l->spec,
		    ac_cmd_name(cmd));
		return 0;
	}
	l->txlen += n;
	link_write(l);
	return c.req_id;
}

bool
link_send_frame(struct link *l, uint8_t type, const uint8_t *payload,
    size_t len)
{
	size_t n;

	if (l->fd < 0)
		return false;
	n = session_frame(&l->s, type, payload, len, l->tx + l->txlen,
	    sizeof(l->tx) - l->txlen);
	if (n == 0)
		return false;
	l->txlen += n;
	link_write(l);
	return true;
}

size_t
link_tx_room(const struct link *l)
{
	return sizeof(l->tx) - l->txlen;
}

/* ---- scanning ---- */

static bool
same_path(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	if (strcmp(a, b) == 0)
		return true;
	return realpath(a, ra) != NULL && realpath(b, rb) != NULL &&
	    strcmp(ra, rb) == 0;
}

static struct link *
find_serial(struct daemon *d, const char *path)
{
	for (struct link *l = d->links; l != NULL; l = l->next)
		if (l->kind == LINK_SERIAL && same_path(l->spec, path))
			return l;
	return NULL;
}

static void
found(struct daemon *d, const char *path, enum link_origin origin)
{
	struct link *l = find_serial(d, path);

	if (l == NULL)
		l = link_add(d, LINK_SERIAL, origin, path);
	l->seen_in_scan = true;
}

void
link_scan(struct daemon *d, uint64_t now)
{
	struct link *l, *next;

	if (now < d->next_scan)
		return;
	d->next_scan = now + SCAN_US;
	for (l = d->links; l != NULL; l = l->next)
		l->seen_in_scan = false;
	for (int i = 0; i < d->cfg.nports; i++) {
		glob_t g;

		if (strpbrk(d->cfg.ports[i], "*?[") == NULL)
			continue;
		if (glob(d->cfg.ports[i], 0, NULL, &g) == 0)
			for (size_t k = 0; k < g.gl_pathc; k++)
				found(d, g.gl_pathv[k], ORIGIN_GLOB);
		globfree(&g);
	}
	if (d->cfg.autodetect) {
		struct sp_port **list;

		if (sp_list_ports(&list) == SP_OK) {
			for (int i = 0; list[i] != NULL; i++) {
				int vid = 0, pid = 0;

				if (sp_get_port_transport(list[i]) ==
				    SP_TRANSPORT_USB &&
				    sp_get_port_usb_vid_pid(list[i], &vid, &pid) ==
				    SP_OK && vid == ESPRESSIF_VID &&
				    pid == USB_JTAG_PID)
					found(d, sp_get_port_name(list[i]),
					    ORIGIN_AUTODETECT);
			}
			sp_free_port_list(list);
		}
	}
	/* Found ports that went away (unplugged) are forgotten. */
	for (l = d->links; l != NULL; l = next) {
		next = l->next;
		if ((l->origin == ORIGIN_GLOB ||
		    l->origin == ORIGIN_AUTODETECT) && !l->seen_in_scan &&
		    l->fd < 0) {
			log_info("%s: gone", l->spec);
			link_free(l);
		}
	}
}

/* ---- ports appcored lets go of (flashing) ---- */

uint64_t
port_held_until(const struct daemon *d, const char *spec, uint64_t now)
{
	for (int i = 0; i < PORT_HOLDS_MAX; i++)
		if (d->holds[i].until > now &&
		    strcmp(d->holds[i].spec, spec) == 0)
			return d->holds[i].until;
	return 0;
}

int
port_hold(struct daemon *d, const char *spec, uint64_t until, uint64_t now)
{
	struct port_hold *slot = NULL;

	for (int i = 0; i < PORT_HOLDS_MAX && slot == NULL; i++)
		if (strcmp(d->holds[i].spec, spec) == 0)
			slot = &d->holds[i];
	for (int i = 0; i < PORT_HOLDS_MAX && slot == NULL && until != 0; i++)
		if (d->holds[i].until <= now)
			slot = &d->holds[i];
	if (slot == NULL)
		return until == 0 ? 0 : -1;
	snprintf(slot->spec, sizeof(slot->spec), "%s", spec);
	slot->until = until;
	return 0;
}
