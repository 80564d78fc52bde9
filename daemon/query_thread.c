/*
 * The query threads: HTTP_QUERIES_MAX slots, a thread each.  Slots are
 * named across threads by id; the connection pointer is the waker's
 * argument, as for the bridge's live reads, and only MHD_resume_connection
 * is called on it from here.  qt.mu guards the slots and is never held
 * across SQLite or a call into libmicrohttpd.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "http.h"
#include "log.h"
#include "query_thread.h"

enum qstate { Q_FREE, Q_SUBMITTED, Q_READY, Q_RUNNING, Q_DONE };

struct qslot {
	enum qstate state;
	uint64_t id;
	bool forgotten;			/* the request is gone */
	char *sql;
	int64_t limit;
	struct MHD_Connection *c;
	struct api_reply reply;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct qslot slot[HTTP_QUERIES_MAX];
	pthread_t thr[HTTP_QUERIES_MAX];
	size_t nthr;
	uint64_t next_id;
	bool stopping;
	struct http *h;
	query_run_fn *run;
} qt = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static struct qslot *
slot_of(uint64_t id)
{
	for (size_t i = 0; i < HTTP_QUERIES_MAX; i++)
		if (qt.slot[i].state != Q_FREE && qt.slot[i].id == id)
			return &qt.slot[i];
	return NULL;
}

static void
free_slot(struct qslot *s)
{
	free(s->sql);
	free(s->reply.body);
	memset(s, 0, sizeof(*s));
	pthread_cond_broadcast(&qt.cv);
}

/* Runs slot i's statement; called and returns with qt.mu held. */
static void
run_slot(struct qslot *s)
{
	struct api_reply a = { 0 };
	struct MHD_Connection *c = s->c;
	char *sql = s->sql;
	int64_t limit = s->limit;
	struct sqlite3 *db;

	s->state = Q_RUNNING;
	pthread_mutex_unlock(&qt.mu);
	if ((db = http_db(qt.h)) == NULL)
		api_error(&a, 503, "unavailable", "the database cannot be read "
		    "now");
	else
		qt.run(db, sql, limit, qt.h, &a);
	pthread_mutex_lock(&qt.mu);
	s->reply = a;
	s->state = Q_DONE;
	if (s->forgotten) {
		free_slot(s);
		return;
	}
	pthread_mutex_unlock(&qt.mu);
	MHD_resume_connection(c);
	pthread_mutex_lock(&qt.mu);
}

static void *
query_thread(void *arg)
{
	struct qslot *s = &qt.slot[(size_t)(uintptr_t)arg];

	pthread_mutex_lock(&qt.mu);
	for (;;) {
		while (s->state != Q_READY && !qt.stopping)
			pthread_cond_wait(&qt.cv, &qt.mu);
		if (s->state == Q_READY)
			run_slot(s);
		else
			break;
	}
	pthread_mutex_unlock(&qt.mu);
	return NULL;
}

int
query_threads_start(struct http *h, query_run_fn *run)
{
	pthread_mutex_lock(&qt.mu);
	qt.h = h;
	qt.run = run;
	qt.stopping = false;
	pthread_mutex_unlock(&qt.mu);
	for (qt.nthr = 0; qt.nthr < HTTP_QUERIES_MAX; qt.nthr++)
		if (pthread_create(&qt.thr[qt.nthr], NULL, query_thread,
		    (void *)(uintptr_t)qt.nthr) != 0)
			return -1;
	return 0;
}

static bool
all_free(void)
{
	for (size_t i = 0; i < HTTP_QUERIES_MAX; i++)
		if (qt.slot[i].state != Q_FREE)
			return false;
	return true;
}

void
query_threads_stop(uint32_t wait_ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&qt.mu);
	qt.stopping = true;
	pthread_cond_broadcast(&qt.cv);
	/* A query under way ends by its deadline; its connection takes the
	 * answer on its next call. */
	while (!all_free() && pthread_cond_timedwait(&qt.cv, &qt.mu,
	    &until) == 0)
		;
	if (!all_free())
		log_warnx("a query's answer was not taken before the stop");
	pthread_mutex_unlock(&qt.mu);
	for (size_t i = 0; i < qt.nthr; i++)
		pthread_join(qt.thr[i], NULL);
	qt.nthr = 0;
}

uint64_t
query_submit(const char *sql, int64_t limit, struct MHD_Connection *c,
    bool *stopping)
{
	uint64_t id = 0;

	pthread_mutex_lock(&qt.mu);
	*stopping = qt.stopping || qt.nthr == 0;
	for (size_t i = 0; i < HTTP_QUERIES_MAX && !*stopping; i++) {
		struct qslot *s = &qt.slot[i];

		if (s->state != Q_FREE)
			continue;
		if ((s->sql = strdup(sql)) == NULL)
			break;
		s->state = Q_SUBMITTED;
		s->id = id = ++qt.next_id;
		s->limit = limit;
		s->c = c;
		break;
	}
	pthread_mutex_unlock(&qt.mu);
	return id;
}

void
query_go(uint64_t id)
{
	struct qslot *s;

	pthread_mutex_lock(&qt.mu);
	if ((s = slot_of(id)) != NULL && s->state == Q_SUBMITTED) {
		s->state = Q_READY;
		pthread_cond_broadcast(&qt.cv);
	}
	pthread_mutex_unlock(&qt.mu);
}

bool
query_take(uint64_t id, struct api_reply *a)
{
	struct qslot *s;
	bool done = false;

	pthread_mutex_lock(&qt.mu);
	if ((s = slot_of(id)) != NULL && s->state == Q_DONE) {
		*a = s->reply;
		s->reply.body = NULL;
		free_slot(s);
		done = true;
	}
	pthread_mutex_unlock(&qt.mu);
	return done;
}

void
query_forget(uint64_t id)
{
	struct qslot *s;

	pthread_mutex_lock(&qt.mu);
	if ((s = slot_of(id)) != NULL) {
		if (s->state == Q_RUNNING || s->state == Q_READY)
			s->forgotten = true;
		else
			free_slot(s);
	}
	pthread_mutex_unlock(&qt.mu);
}
