/*
 * The TCP listener's connection discipline (edge.h).
 */
#define _GNU_SOURCE
#include <netinet/in.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edge.h"

struct slot {
	int fd;
	struct sockaddr_storage addr;
	uint64_t since;			/* the head awaited since, monotonic */
	bool head_in;
	bool cut;
};

struct edge {
	pthread_mutex_t mu;
	pthread_cond_t wake;
	pthread_t th;
	bool stop;
	unsigned max;
	struct slot *slots;
	unsigned n;
	uint64_t cut, refused;
};

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static bool
same_host(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)a)->
		    sin_addr.s_addr == ((const struct sockaddr_in *)
		    (const void *)b)->sin_addr.s_addr;
	if (b->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->
		    sin6_addr, &((const struct sockaddr_in6 *)(const void *)b)->
		    sin6_addr, sizeof(struct in6_addr)) == 0;
	return false;
}

static struct slot *
slot_of(struct edge *e, int fd)
{
	for (unsigned i = 0; i < e->n; i++)
		if (e->slots[i].fd == fd)
			return &e->slots[i];
	return NULL;
}

/* Late heads: their sockets are shut down, and libmicrohttpd, reading
 * nothing more, closes them. */
static void *
deadline_main(void *arg)
{
	struct edge *e = arg;

	pthread_mutex_lock(&e->mu);
	while (!e->stop) {
		struct timespec until;
		uint64_t now = mono_us();

		for (unsigned i = 0; i < e->n; i++) {
			struct slot *s = &e->slots[i];

			if (!s->head_in && !s->cut &&
			    now - s->since > EDGE_HEADER_DEADLINE_US) {
				(void)shutdown(s->fd, SHUT_RDWR);
				s->cut = true;
				e->cut++;
			}
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		(void)pthread_cond_timedwait(&e->wake, &e->mu, &until);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

struct edge *
edge_start(unsigned max_connections)
{
	struct edge *e = calloc(1, sizeof(*e));

	if (e == NULL || (e->slots = calloc(max_connections + 16,
	    sizeof(*e->slots))) == NULL) {
		free(e);
		return NULL;
	}
	e->max = max_connections + 16;
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->wake, NULL);
	if (pthread_create(&e->th, NULL, deadline_main, e) != 0) {
		free(e->slots);
		free(e);
		return NULL;
	}
	return e;
}

void
edge_stop(struct edge *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&e->mu);
	e->stop = true;
	pthread_cond_signal(&e->wake);
	pthread_mutex_unlock(&e->mu);
	pthread_join(e->th, NULL);
	pthread_cond_destroy(&e->wake);
	pthread_mutex_destroy(&e->mu);
	free(e->slots);
	free(e);
}

void
edge_conn_started(struct edge *e, int fd, const struct sockaddr *addr)
{
	pthread_mutex_lock(&e->mu);
	if (e->n < e->max) {
		struct slot *s = &e->slots[e->n++];

		memset(s, 0, sizeof(*s));
		s->fd = fd;
		if (addr != NULL && (addr->sa_family == AF_INET ||
		    addr->sa_family == AF_INET6))
			memcpy(&s->addr, addr, addr->sa_family == AF_INET ?
			    sizeof(struct sockaddr_in) :
			    sizeof(struct sockaddr_in6));
		s->since = mono_us();
	}
	pthread_mutex_unlock(&e->mu);
}

void
edge_conn_closed(struct edge *e, int fd)
{
	struct slot *s;

	pthread_mutex_lock(&e->mu);
	if ((s = slot_of(e, fd)) != NULL)
		*s = e->slots[--e->n];
	pthread_mutex_unlock(&e->mu);
}

void
edge_headers(struct edge *e, int fd, bool in)
{
	struct slot *s;

	pthread_mutex_lock(&e->mu);
	if ((s = slot_of(e, fd)) != NULL) {
		s->head_in = in;
		s->since = mono_us();
	}
	pthread_mutex_unlock(&e->mu);
}

bool
edge_accept(struct edge *e, const struct sockaddr *addr, socklen_t len)
{
	unsigned mine = 0;
	bool ok;

	(void)len;
	pthread_mutex_lock(&e->mu);
	for (unsigned i = 0; i < e->n; i++)
		mine += same_host(&e->slots[i].addr, addr);
	ok = e->n + EDGE_RESERVE < e->max - 16 || mine < EDGE_FAIR;
	if (!ok)
		e->refused++;
	pthread_mutex_unlock(&e->mu);
	return ok;
}

void
edge_counts(struct edge *e, uint64_t *cut, uint64_t *refused)
{
	pthread_mutex_lock(&e->mu);
	*cut = e->cut;
	*refused = e->refused;
	pthread_mutex_unlock(&e->mu);
}
