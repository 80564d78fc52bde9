/*
 * The contract between the ingest thread and the HTTP threads (bridge.h).
 * One mutex guards the command queue, the live reads and the blob
 * requests; it is held only to copy in and out, never across I/O.
 */
#define _GNU_SOURCE
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bridge.h"
#include "log.h"
#include "wallclock.h"
#include "xfer.h"

struct live_read {
	uint64_t id;
	void *waiter;			/* HTTP's, handed back to wake */
	int64_t device;
	uint32_t offset, len, got;
	uint64_t deadline;		/* wall us */
	uint64_t t_us;
	bool asked, done;
	int status;
	uint8_t *data;			/* len bytes */
};

struct blob_req {
	uint64_t id;			/* 0: a free slot */
	uint8_t key[BLOB_KEY_LEN];
	bool taken;			/* the ingest thread is reading it */
	bool done;
	int err;			/* errno when it failed, 0 */
	void *p;
	size_t n;
};

struct bridge {
	struct live live;
	int fd;				/* eventfd: work for the ingest thread */
	pthread_mutex_t mu;
	pthread_cond_t changed;		/* a read closed, a blob answered */
	bool stopping;
	void (*wake)(void *waiter);

	struct command cmds[BRIDGE_CMDS];
	int ncmds;

	struct live_read reads[BRIDGE_READS];	/* id 0: a free slot */
	uint64_t next_read_id;

	struct blob_req blobs[BRIDGE_BLOB_REQS];
	uint64_t next_blob_id;
};

struct bridge *
bridge_new(void)
{
	struct bridge *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	if ((b->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		free(b);
		return NULL;
	}
	live_init(&b->live);
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->changed, NULL);
	return b;
}

void
bridge_free(struct bridge *b)
{
	if (b == NULL)
		return;
	for (int i = 0; i < BRIDGE_READS; i++)
		free(b->reads[i].data);
	for (int i = 0; i < BRIDGE_BLOB_REQS; i++)
		free(b->blobs[i].p);
	close(b->fd);
	live_free(&b->live);
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->changed);
	free(b);
}

struct live *
bridge_live(struct bridge *b)
{
	return &b->live;
}

static void
poke(struct bridge *b)
{
	uint64_t one = 1;

	if (write(b->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("bridge: eventfd");
}

int
bridge_fd(const struct bridge *b)
{
	return b->fd;
}

/* ---- commands ---- */

/* With mu held. */
static bool
queue_command(struct bridge *b, const struct command *c)
{
	if (b->ncmds == BRIDGE_CMDS)
		return false;
	b->cmds[b->ncmds++] = *c;
	return true;
}

bool
bridge_command(struct bridge *b, const struct command *c)
{
	bool ok;

	pthread_mutex_lock(&b->mu);
	ok = queue_command(b, c);
	pthread_mutex_unlock(&b->mu);
	if (ok)
		poke(b);
	return ok;
}

bool
bridge_next_command(struct bridge *b, struct command *c)
{
	uint64_t v;
	bool ok = false;

	(void)!read(b->fd, &v, sizeof(v));
	pthread_mutex_lock(&b->mu);
	if (b->ncmds > 0) {
		*c = b->cmds[0];
		memmove(b->cmds, b->cmds + 1, (size_t)--b->ncmds *
		    sizeof(b->cmds[0]));
		ok = true;
	}
	pthread_mutex_unlock(&b->mu);
	return ok;
}

/* ---- live reads ---- */

void
bridge_set_waker(struct bridge *b, void (*wake)(void *waiter))
{
	pthread_mutex_lock(&b->mu);
	b->wake = wake;
	pthread_mutex_unlock(&b->mu);
}

/* The read of this id, or NULL; with mu held. */
static struct live_read *
read_find(struct bridge *b, uint64_t id)
{
	if (id == 0)
		return NULL;
	for (int i = 0; i < BRIDGE_READS; i++)
		if (b->reads[i].id == id)
			return &b->reads[i];
	return NULL;
}

/* The read of this id still waiting for its answer; with mu held. */
static struct live_read *
read_waiting(struct bridge *b, uint64_t id)
{
	struct live_read *r = read_find(b, id);

	return r != NULL && !r->done ? r : NULL;
}

/* With mu held. */
static void
read_finish(struct bridge *b, struct live_read *r, int status)
{
	r->done = true;
	r->status = status;
	if (r->asked && b->wake != NULL)
		b->wake(r->waiter);
}

uint64_t
bridge_read_open(struct bridge *b, int64_t device, uint32_t offset,
    uint32_t len, uint64_t deadline, void *waiter)
{
	struct live_read *r = NULL;
	uint8_t *data = malloc(len > 0 ? len : 1);
	uint64_t id = 0;

	if (data == NULL)
		return 0;
	pthread_mutex_lock(&b->mu);
	for (int i = 0; !b->stopping && r == NULL && i < BRIDGE_READS; i++)
		if (b->reads[i].id == 0)
			r = &b->reads[i];
	if (r != NULL) {
		*r = (struct live_read){ .id = ++b->next_read_id,
		    .waiter = waiter, .device = device, .offset = offset,
		    .len = len, .deadline = deadline, .data = data };
		id = r->id;
		data = NULL;
	}
	pthread_mutex_unlock(&b->mu);
	free(data);
	return id;
}

void
bridge_read_ask(struct bridge *b, uint64_t id)
{
	struct live_read *r;
	bool queued = false;

	pthread_mutex_lock(&b->mu);
	if ((r = read_find(b, id)) != NULL) {
		r->asked = true;
		if (r->done)		/* answered meanwhile (a stop) */
			read_finish(b, r, r->status);
		else if (!(queued = queue_command(b, &(struct command){
		    .device = r->device, .cmd = AC_CMD_READ_MEM,
		    .arg0 = r->offset, .arg1 = r->len, .read_id = r->id })))
			read_finish(b, r, 503);
	}
	pthread_mutex_unlock(&b->mu);
	if (queued)
		poke(b);
}

bool
bridge_read_result(struct bridge *b, uint64_t id, struct read_result *out)
{
	struct live_read *r;
	bool done = false;

	pthread_mutex_lock(&b->mu);
	if ((r = read_find(b, id)) != NULL && r->done) {
		*out = (struct read_result){ r->status, r->device, r->offset,
		    r->len, r->t_us, r->data };
		done = true;
	}
	pthread_mutex_unlock(&b->mu);
	return done;
}

void
bridge_read_close(struct bridge *b, uint64_t id)
{
	struct live_read *r;
	uint8_t *data = NULL;

	pthread_mutex_lock(&b->mu);
	if ((r = read_find(b, id)) != NULL) {
		data = r->data;
		memset(r, 0, sizeof(*r));
		pthread_cond_broadcast(&b->changed);
	}
	pthread_mutex_unlock(&b->mu);
	free(data);
}

unsigned
bridge_reads_waiting(struct bridge *b)
{
	unsigned n = 0;

	pthread_mutex_lock(&b->mu);
	for (int i = 0; i < BRIDGE_READS; i++)
		n += b->reads[i].id != 0 && !b->reads[i].done;
	pthread_mutex_unlock(&b->mu);
	return n;
}

bool
bridge_read_alive(struct bridge *b, uint64_t id)
{
	bool alive;

	pthread_mutex_lock(&b->mu);
	alive = read_waiting(b, id) != NULL;
	pthread_mutex_unlock(&b->mu);
	return alive;
}

void
bridge_read_done(struct bridge *b, uint64_t id, int status)
{
	struct live_read *r;

	pthread_mutex_lock(&b->mu);
	if ((r = read_waiting(b, id)) != NULL)
		read_finish(b, r, status);
	pthread_mutex_unlock(&b->mu);
}

int
bridge_read_chunk(struct bridge *b, uint64_t id, const struct ac_msg_mem *m,
    uint64_t t)
{
	struct live_read *r;
	int rc = -1;

	pthread_mutex_lock(&b->mu);
	if ((r = read_waiting(b, id)) != NULL) {
		rc = 0;
		switch (xfer_place(&(struct xfer_span){ r->offset, r->len,
		    r->got }, m->start, m->total, m->offset, m->len)) {
		case XFER_NEXT:
			if (r->got == 0)
				r->t_us = t;
			memcpy(r->data + r->got, m->data, m->len);
			r->got += m->len;
			break;
		case XFER_DUP:
			break;
		default:
			/* A chunk lost or foreign: the answer would have a
			 * hole.  The client may ask again. */
			read_finish(b, r, 502);
			rc = 1;
			break;
		}
		if (rc == 0 && r->got >= r->len) {
			read_finish(b, r, 200);
			rc = 1;
		}
	}
	pthread_mutex_unlock(&b->mu);
	return rc;
}

void
bridge_read_timeouts(struct bridge *b, uint64_t now)
{
	pthread_mutex_lock(&b->mu);
	for (int i = 0; i < BRIDGE_READS; i++) {
		struct live_read *r = &b->reads[i];

		if (r->id != 0 && !r->done && now >= r->deadline)
			read_finish(b, r, 504);
	}
	pthread_mutex_unlock(&b->mu);
}

/* ---- blob reads ---- */

/* With mu held: a free slot for a new request, or NULL. */
static struct blob_req *
blob_slot(struct bridge *b)
{
	for (int i = 0; i < BRIDGE_BLOB_REQS; i++)
		if (b->blobs[i].id == 0)
			return &b->blobs[i];
	return NULL;
}

static struct blob_req *
blob_find(struct bridge *b, uint64_t id)
{
	for (int i = 0; i < BRIDGE_BLOB_REQS; i++)
		if (b->blobs[i].id == id)
			return &b->blobs[i];
	return NULL;
}

/* Waits for request id's answer until the deadline; with mu held. */
static void
blob_wait(struct bridge *b, uint64_t id)
{
	struct timespec until;
	struct blob_req *q;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += BRIDGE_BLOB_WAIT_US / 1000000;
	until.tv_nsec += BRIDGE_BLOB_WAIT_US % 1000000 * 1000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	while ((q = blob_find(b, id)) != NULL && !q->done && !b->stopping)
		if (pthread_cond_timedwait(&b->changed, &b->mu, &until) ==
		    ETIMEDOUT)
			break;
}

int
bridge_blob_get(struct bridge *b, const uint8_t key[BLOB_KEY_LEN], void **p,
    size_t *n)
{
	struct blob_req *q;
	uint64_t id;
	int err;

	*p = NULL;
	*n = 0;
	pthread_mutex_lock(&b->mu);
	if (b->stopping || (q = blob_slot(b)) == NULL) {
		err = b->stopping ? ESHUTDOWN : EAGAIN;
		pthread_mutex_unlock(&b->mu);
		errno = err;
		return -1;
	}
	*q = (struct blob_req){ .id = ++b->next_blob_id };
	memcpy(q->key, key, BLOB_KEY_LEN);
	id = q->id;
	pthread_mutex_unlock(&b->mu);
	poke(b);
	pthread_mutex_lock(&b->mu);
	blob_wait(b, id);
	q = blob_find(b, id);
	if (q->done) {
		err = q->err;
		*p = q->p;
		*n = q->n;
	} else
		err = b->stopping ? ESHUTDOWN : ETIMEDOUT;
	/* Given up while the ingest thread reads it: it frees what it got
	 * when it finds the request gone. */
	memset(q, 0, sizeof(*q));
	pthread_mutex_unlock(&b->mu);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

unsigned
bridge_blob_pending(struct bridge *b)
{
	unsigned n = 0;

	pthread_mutex_lock(&b->mu);
	for (int i = 0; i < BRIDGE_BLOB_REQS; i++)
		n += b->blobs[i].id != 0 && !b->blobs[i].done;
	pthread_mutex_unlock(&b->mu);
	return n;
}

/* The next request nobody reads yet, marked taken; with mu held. */
static struct blob_req *
blob_next(struct bridge *b)
{
	for (int i = 0; i < BRIDGE_BLOB_REQS; i++)
		if (b->blobs[i].id != 0 && !b->blobs[i].taken)
			return &b->blobs[i];
	return NULL;
}

void
bridge_serve_blobs(struct bridge *b, struct blobs *blobs)
{
	for (;;) {
		struct blob_req *q;
		uint8_t key[BLOB_KEY_LEN];
		uint64_t id;
		void *p = NULL;
		size_t n = 0;
		int err = 0;

		pthread_mutex_lock(&b->mu);
		if ((q = blob_next(b)) != NULL) {
			q->taken = true;
			id = q->id;
			memcpy(key, q->key, sizeof(key));
		}
		pthread_mutex_unlock(&b->mu);
		if (q == NULL)
			return;
		if (blobs_get(blobs, key, &p, &n) < 0)
			err = errno != 0 ? errno : EIO;
		pthread_mutex_lock(&b->mu);
		if ((q = blob_find(b, id)) != NULL) {
			q->done = true;
			q->err = err;
			q->p = p;
			q->n = n;
			p = NULL;
			pthread_cond_broadcast(&b->changed);
		}
		pthread_mutex_unlock(&b->mu);
		free(p);			/* its reader gave up */
	}
}

/* ---- the stream ---- */

void
bridge_keepalive(struct bridge *b)
{
	struct live *l = &b->live;

	pthread_mutex_lock(&l->mu);
	for (struct live_client *cl = l->clients; cl != NULL; cl = cl->next)
		cl->keepalive = true;
	if (l->wake != NULL)
		l->wake(l->wake_arg);
	pthread_mutex_unlock(&l->mu);
}

/* ---- stopping ---- */

static bool
reads_open(const struct bridge *b)
{
	for (int i = 0; i < BRIDGE_READS; i++)
		if (b->reads[i].id != 0)
			return true;
	return false;
}

void
bridge_stop(struct bridge *b)
{
	struct timespec until;

	pthread_mutex_lock(&b->mu);
	b->stopping = true;
	for (int i = 0; i < BRIDGE_READS; i++)
		if (b->reads[i].id != 0 && !b->reads[i].done)
			read_finish(b, &b->reads[i], 503);
	pthread_cond_broadcast(&b->changed);	/* blob readers: give up */
	/* Their threads answer them, and the answers go; at most a
	 * second. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	while (reads_open(b) && pthread_cond_timedwait(&b->changed, &b->mu,
	    &until) == 0)
		;
	pthread_mutex_unlock(&b->mu);
}
