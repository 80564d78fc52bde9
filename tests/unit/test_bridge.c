/*
 * The bridge between the ingest thread and the HTTP threads (bridge.h),
 * with real threads on both sides and a real blob file: commands are
 * bounded; live reads are filled, failed, timed out and stopped by id,
 * and an id that is over is never touched again; blob reads are served
 * by the thread that owns gdbm while HTTP holds no lock, and a reader
 * that gives up loses nothing (ASan's leak check runs at exit).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "check.h"

static atomic_int woken;

static void
wake(void *waiter)
{
	atomic_fetch_add(&woken, 1);
	(void)waiter;
}

/* A chunk of a memory transfer whose bytes are all v. */
static struct ac_msg_mem
chunk(uint32_t start, uint32_t total, uint32_t off, uint32_t len, uint8_t v)
{
	static uint8_t bytes[256][AC_MEM_CHUNK];

	memset(bytes[v], v, len);
	return (struct ac_msg_mem){ .start = start, .total = total,
	    .offset = off, .len = len, .data = bytes[v] };
}

static void
commands(struct bridge *b)
{
	struct command c = { .device = 1, .cmd = AC_CMD_SNAPSHOT }, got;
	int n = 0, taken = 0;

	while (bridge_command(b, &c))
		n++;
	CHECK(n == BRIDGE_CMDS, "the queue takes %d commands, then refuses "
	    "(%d)", BRIDGE_CMDS, n);
	while (bridge_next_command(b, &got))
		taken += got.device == 1 && got.cmd == AC_CMD_SNAPSHOT;
	CHECK(taken == n, "the ingest side takes them all, in order (%d)",
	    taken);
}

static void
reads(struct bridge *b)
{
	struct read_result rr;
	struct command c;
	struct ac_msg_mem m;
	uint64_t id, id2;
	int before;

	id = bridge_read_open(b, 5, 64, 32, 1000, &woken);
	bridge_read_ask(b, id);
	CHECK(bridge_next_command(b, &c) && c.cmd == AC_CMD_READ_MEM &&
	    c.read_id == id && c.arg0 == 64 && c.arg1 == 32 && c.device == 5,
	    "a read asks the ingest thread by its id");
	CHECK(!bridge_read_result(b, id, &rr) && bridge_read_alive(b, id),
	    "it waits");
	m = chunk(64, 32, 64, 16, 0xab);
	before = atomic_load(&woken);
	CHECK(bridge_read_chunk(b, id, &m, 77) == 0 &&
	    atomic_load(&woken) == before, "half an answer wakes nobody");
	CHECK(bridge_read_chunk(b, id, &m, 78) == 0, "a repeated chunk is "
	    "ignored");
	m = chunk(64, 32, 80, 16, 0xcd);
	CHECK(bridge_read_chunk(b, id, &m, 79) == 1 &&
	    atomic_load(&woken) == before + 1, "the last chunk completes it "
	    "and wakes its waiter");
	CHECK(bridge_read_result(b, id, &rr) && rr.status == 200 &&
	    rr.len == 32 && rr.t_us == 77 && rr.data[0] == 0xab &&
	    rr.data[31] == 0xcd, "the answer is the chunks in order, timed "
	    "by the first");
	CHECK(bridge_read_chunk(b, id, &m, 80) == -1 &&
	    !bridge_read_alive(b, id), "an answered read takes no more");
	bridge_read_close(b, id);
	CHECK(!bridge_read_result(b, id, &rr) && bridge_read_chunk(b, id, &m,
	    80) == -1, "a closed id is gone for both sides");

	id = bridge_read_open(b, 5, 0, 64, 1000, &woken);
	bridge_read_ask(b, id);
	(void)bridge_next_command(b, &c);
	m = chunk(0, 64, 16, 16, 1);
	CHECK(bridge_read_chunk(b, id, &m, 1) == 1 &&
	    bridge_read_result(b, id, &rr) && rr.status == 502,
	    "a chunk out of place fails the read (502): no holes");
	bridge_read_close(b, id);

	id = bridge_read_open(b, 5, 0, 8, 1000, &woken);
	id2 = bridge_read_open(b, 6, 0, 8, 5000, &woken);
	bridge_read_ask(b, id);
	bridge_read_ask(b, id2);
	bridge_read_timeouts(b, 2000);
	CHECK(bridge_read_result(b, id, &rr) && rr.status == 504 &&
	    !bridge_read_result(b, id2, &rr) && bridge_reads_waiting(b) == 1,
	    "past its deadline a read answers 504; the other still waits");
	bridge_read_done(b, id2, 409);
	CHECK(bridge_read_result(b, id2, &rr) && rr.status == 409,
	    "the ingest side fails a read by id");
	bridge_read_close(b, id);
	bridge_read_close(b, id2);
	while (bridge_next_command(b, &c))
		;
}

static void
reads_bounded(struct bridge *b)
{
	uint64_t ids[BRIDGE_READS + 1];
	int n = 0;

	for (int i = 0; i <= BRIDGE_READS; i++)
		if ((ids[i] = bridge_read_open(b, 1, 0, 4, 1000, NULL)) != 0)
			n++;
	CHECK(n == BRIDGE_READS && ids[BRIDGE_READS] == 0, "at most %d live "
	    "reads are open (%d)", BRIDGE_READS, n);
	for (int i = 0; i < BRIDGE_READS; i++)
		bridge_read_close(b, ids[i]);
}

/* ---- blob reads, with an ingest thread ---- */

struct ingest {
	struct bridge *b;
	struct blobs *blobs;
	atomic_int quit;
	atomic_int paused;		/* it serves nothing meanwhile */
	atomic_int parked;		/* it saw paused, and serves nothing */
};

static void *
ingest_thread(void *arg)
{
	struct ingest *in = arg;

	while (!atomic_load(&in->quit)) {
		struct pollfd p = { bridge_fd(in->b), POLLIN, 0 };
		struct command c;

		if (atomic_load(&in->paused)) {
			atomic_store(&in->parked, 1);
			(void)poll(NULL, 0, 1);
			continue;
		}
		atomic_store(&in->parked, 0);
		if (poll(&p, 1, 10) <= 0)
			continue;
		while (bridge_next_command(in->b, &c))
			;
		bridge_serve_blobs(in->b, in->blobs);
	}
	return NULL;
}

/* The ingest thread stops serving, for sure, before this returns. */
static void
pause_ingest(struct ingest *in)
{
	atomic_store(&in->paused, 1);
	while (!atomic_load(&in->parked))
		sched_yield();
}

struct reader {
	struct bridge *b;
	uint8_t key[BLOB_KEY_LEN];
	int rc, err;
	size_t n;
	uint8_t first;
};

static void *
reader_thread(void *arg)
{
	struct reader *r = arg;
	void *p;

	r->rc = bridge_blob_get(r->b, r->key, &p, &r->n);
	r->err = r->rc < 0 ? errno : 0;
	if (r->rc == 0) {
		r->first = ((uint8_t *)p)[0];
		free(p);
	}
	return NULL;
}

static void
blob_reads(struct bridge *b, struct blobs *blobs)
{
	static uint8_t data[4][70000];
	uint8_t keys[4][BLOB_KEY_LEN], nokey[BLOB_KEY_LEN] = { 1, 2, 3 };
	struct ingest in = { .b = b, .blobs = blobs };
	struct reader rd[8];
	pthread_t ing, th[8];
	int ok = 0;
	void *p;
	size_t n;

	for (int i = 0; i < 4; i++) {
		memset(data[i], 0x10 + i, sizeof(data[i]));
		if (blobs_put(blobs, data[i], sizeof(data[i]) - (size_t)i,
		    keys[i]) < 0)
			CHECK(0, "blobs_put");
	}
	pthread_create(&ing, NULL, ingest_thread, &in);
	for (int i = 0; i < 8; i++) {
		rd[i] = (struct reader){ .b = b };
		memcpy(rd[i].key, i < 7 ? keys[i % 4] : nokey, BLOB_KEY_LEN);
		pthread_create(&th[i], NULL, reader_thread, &rd[i]);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 7; i++)
		ok += rd[i].rc == 0 && rd[i].n == sizeof(data[0]) -
		    (size_t)(i % 4) && rd[i].first == 0x10 + i % 4;
	CHECK(ok == 7, "7 HTTP threads at once get their blobs, byte for "
	    "byte, from the thread that owns the file (%d)", ok);
	CHECK(rd[7].rc < 0 && rd[7].err == ENOENT, "a key not stored: ENOENT "
	    "(%s)", strerror(rd[7].err));

	/* The ingest thread is busy for longer than a reader waits. */
	pause_ingest(&in);
	rd[0] = (struct reader){ .b = b };
	memcpy(rd[0].key, keys[1], BLOB_KEY_LEN);
	reader_thread(&rd[0]);
	CHECK(rd[0].rc < 0 && rd[0].err == ETIMEDOUT, "a reader gives up "
	    "after %d s when nobody serves it (%s)", BRIDGE_BLOB_WAIT_US /
	    1000000, strerror(rd[0].err));
	atomic_store(&in.paused, 0);
	/* The abandoned request is served, its bytes freed; the next is
	 * answered. */
	CHECK(bridge_blob_get(b, keys[2], &p, &n) == 0 && n == sizeof(data[0]) -
	    2, "the next read is answered");
	free(p);

	/* A stop releases a reader at once. */
	pause_ingest(&in);
	rd[0] = (struct reader){ .b = b };
	memcpy(rd[0].key, keys[3], BLOB_KEY_LEN);
	pthread_create(&th[0], NULL, reader_thread, &rd[0]);
	while (bridge_blob_pending(b) == 0)
		sched_yield();
	bridge_stop(b);
	pthread_join(th[0], NULL);
	CHECK(rd[0].rc < 0 && rd[0].err == ESHUTDOWN, "a stop answers a "
	    "waiting blob reader (%s)", strerror(rd[0].err));
	CHECK(bridge_blob_get(b, keys[3], &p, &n) < 0 && errno == ESHUTDOWN &&
	    bridge_read_open(b, 1, 0, 4, 1000, NULL) == 0, "after a stop, no "
	    "new blob or live read");
	atomic_store(&in.quit, 1);
	pthread_join(ing, NULL);
}

static void
stop_answers_reads(void)
{
	struct bridge *b = bridge_new();
	struct read_result rr;
	uint64_t asked, unasked;
	int before;

	bridge_set_waker(b, wake);
	asked = bridge_read_open(b, 1, 0, 4, 1000, NULL);
	bridge_read_ask(b, asked);
	unasked = bridge_read_open(b, 1, 0, 4, 1000, NULL);
	before = atomic_load(&woken);
	/* Nobody closes them: the stop waits its second, then returns. */
	bridge_stop(b);
	CHECK(bridge_read_result(b, asked, &rr) && rr.status == 503 &&
	    atomic_load(&woken) == before + 1, "a stop answers a waiting read "
	    "503 and wakes it");
	bridge_read_ask(b, unasked);
	CHECK(bridge_read_result(b, unasked, &rr) && rr.status == 503 &&
	    atomic_load(&woken) == before + 2, "a read opened before the stop "
	    "and asked after it is woken with 503, not left suspended");
	bridge_free(b);
}

int
main(void)
{
	char dir[] = "/tmp/appcore-bridge-XXXXXX", path[80], err[256],
	    note[256];
	struct bridge *b = bridge_new();
	struct blobs *blobs;

	if (b == NULL || mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/blobs.gdbm", dir);
	if ((blobs = blobs_open(path, err, sizeof(err), note, sizeof(note))) ==
	    NULL) {
		printf("# %s\n", err);
		return 1;
	}
	bridge_set_waker(b, wake);
	commands(b);
	reads(b);
	reads_bounded(b);
	blob_reads(b, blobs);
	bridge_free(b);
	stop_answers_reads();
	blobs_close(blobs);
	(void)unlink(path);
	(void)rmdir(dir);
	return check_done();
}
