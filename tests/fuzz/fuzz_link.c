/*
 * Stateful fuzz target for the whole host path of link bytes: the real
 * agent (fake clock, 4 counters at 1 kHz) produces its frames, a channel
 * program taken from the input drops, duplicates, swaps, replays,
 * truncates, corrupts them, adds garbage, reconnects or reboots the board;
 * what reaches the host goes through the deframer, the session and the
 * device layer into a real SQLite store (a temporary file), and the host's
 * requests go back to the agent.  The daemon's state lives on from input
 * to input, as in a long-running appcored.
 *
 * After each input, from the database (docs/security.md):
 *  - every stored sample of the input's boots equals what the agent
 *    sampled at that device time (its index), value for value (a row at
 *    a time two boots' anchors share may be either boot's);
 *  - no device time is stored twice;
 *  - each boot's accounting adds up: stored equals the rows stored,
 *    produced is at least every index stored and at most what the agent
 *    produced, so lost = produced - stored is never negative;
 *  - what goes to ClickHouse (the store's tee, daemon/chtee.c, into the
 *    row batches appcored sends): every line of every table splits into
 *    that table's fields with integers where they belong, and the sample
 *    rows forwarded equal the samples written plus those counted lost.
 *
 * Input: one byte per frame the agent emits (low 4 bits the action, the
 * next byte its argument where it takes one); once the input is used up,
 * frames pass unharmed until the run ends.
 */
#define _GNU_SOURCE
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "appcore/agent.h"
#include "appcore/core1.h"
#include "../unit/agent_frames.h"
#include "appcored.h"
#include "chrows.h"
#include "chtee.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REGION_SIZE	(16 * 1024)
#define NCOLS		4
#define RUN_US		20000		/* agent time per input */
#define MAX_IDX		1024
#define MAX_BOOTS	4
#define WALL_PER_INPUT	2000000		/* agent time of an input, and more */

static _Alignas(64) uint8_t region_mem[REGION_SIZE];
static uint64_t fake_now;
static struct ac_agent agent;
static struct ac_region *r;

static struct daemon d;
static struct link *lk;
static struct chrows ch_rows;		/* what would go to ClickHouse */
static uint64_t ch_samples;		/* sample rows forwarded so far */
static int host_fd = -1, agent_fd = -1;
static uint64_t boot_seq = 1;
/* The daemon's wall clock follows the agent's: base + agent time; every
 * input gets a second of its own. */
static uint64_t wall_base = 1800000000ull * 1000000;

static void
clock_sync(void)
{
	now_wall_set(wall_base + fake_now + 200);	/* 200 us of link */
}

/* The truth of the boots of one input. */
struct truth {
	uint64_t boot_id;
	uint64_t produced;
	uint64_t t[MAX_IDX];
	uint32_t v[MAX_IDX][NCOLS];
};
static struct truth truths[MAX_BOOTS];
static int64_t counter_ids[NCOLS];
static int nboots;

static uint64_t
fake_now_us(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static void
on_truth(void *ctx, uint64_t index, uint64_t t, const uint32_t *v, uint32_t n)
{
	struct truth *tr = &truths[nboots - 1];

	(void)ctx;
	if (index < MAX_IDX && n == NCOLS) {
		tr->t[index] = t;
		memcpy(tr->v[index], v, sizeof(tr->v[index]));
	}
	tr->produced = index + 1;
}

static const struct ac_port port = {
	.now_us = fake_now_us, .on_sample = on_truth,
};

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_link: invariant broken: %s\n", what);
	abort();
}

static char work_dir[32];

/* The store's files go with the process. */
static void
remove_work_dir(void)
{
	static const char *const files[] = { "appcore.db", "appcore.db-wal",
		"appcore.db-shm", "blobs.gdbm" };
	char path[64];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", work_dir, files[i]);
		(void)unlink(path);
	}
	(void)rmdir(work_dir);
}

static void
tee_to_clickhouse_rows(void)
{
	struct store_tee tee;
	struct chtee *t = chtee_new(store_db(d.store), &ch_rows);

	if (t == NULL)
		fail("chtee");
	chtee_bind(t, &tee);
	store_set_tee(d.store, &tee);
}

static bool
integer_field(const char *s)
{
	char *end;

	if (*s == '\0')
		return false;
	(void)strtoll(s, &end, 10);
	return *end == '\0';
}

/* Every line of a batch has its table's fields; returns its lines. */
static uint64_t
check_batch(enum ch_table t, struct ch_batch *b)
{
	char *text = malloc(b->text.len + 1), *p = text, *nl, *f[16];
	int want = ch_table_fields(t);
	uint64_t lines = 0;

	if (text == NULL)
		fail("malloc");
	memcpy(text, b->text.data, b->text.len);
	text[b->text.len] = '\0';
	for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1, lines++) {
		*nl = '\0';
		if (tsv_split(p, f, 16) != want ||
		    !integer_field(f[2]) ||
		    (t == CH_SAMPLES && !integer_field(f[3])))
			fail("a ClickHouse row that does not split into its "
			    "table's fields");
	}
	if (*p != '\0' || lines != b->rows)
		fail("a ClickHouse batch whose lines are not its rows");
	free(text);
	return lines;
}

static void
check_forwarded(void)
{
	const struct store_stats *st = store_stats(d.store);

	for (int t = 0; t < CH_TABLES; t++) {
		struct ch_batch b;

		if (!chrows_take(&ch_rows, (enum ch_table)t, &b))
			continue;
		if (t == CH_SAMPLES)
			ch_samples += check_batch((enum ch_table)t, &b);
		else
			(void)check_batch((enum ch_table)t, &b);
		tsv_free(&b.text);
	}
	if (ch_samples != st->samples_written + st->samples_lost)
		fail("samples forwarded to ClickHouse are not those written "
		    "plus those lost");
}

static void
setup_daemon(void)
{
	/* A file in memory where the machine has /dev/shm: the same SQLite,
	 * without the disk. */
	char dir[] = "/dev/shm/fuzz-link-XXXXXX", path[256], err[256],
	    note[256];
	int sv[2];

	if (mkdtemp(dir) == NULL && mkdtemp(memcpy(dir, "/tmp/fuzz-link-"
	    "XXXXXX", sizeof("/tmp/fuzz-link-XXXXXX"))) == NULL)
		fail("mkdtemp");
	snprintf(work_dir, sizeof(work_dir), "%s", dir);
	atexit(remove_work_dir);
	log_init("fuzz_link", -1);
	config_defaults(&d.cfg);
	d.cfg.store.commit_ms = 1000000;	/* commits are the harness's */
	d.cfg.store.raw_window_us = 600ull * 1000000;
	d.cfg.store.partition_us = 120ull * 1000000;
	d.cfg.snapshot_us = 0;
	if ((d.bridge = bridge_new()) == NULL)
		fail("bridge");
	d.live = bridge_live(d.bridge);
	snprintf(path, sizeof(path), "%s/appcore.db", dir);
	if ((d.store = store_open(path, &d.cfg.store, err, sizeof(err))) ==
	    NULL)
		fail(err);
	tee_to_clickhouse_rows();
	/* One connection: no file locks taken and dropped per transaction. */
	(void)sqlite3_exec(store_db(d.store), "PRAGMA synchronous = OFF; "
	    "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY",
	    NULL, NULL, NULL);
	snprintf(path, sizeof(path), "%s/blobs.gdbm", dir);
	if ((d.blobs = blobs_open(path, err, sizeof(err), note,
	    sizeof(note))) == NULL)
		fail(err);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		fail("socketpair");
	host_fd = sv[0];
	agent_fd = sv[1];
	lk = link_add(&d, LINK_FD, ORIGIN_DEMO, "fuzz");
}

/* A board (re)starts: a new boot of the same device. */
static void
board_boot(void)
{
	struct ac_agent_cfg cfg;
	static const char *const names[NCOLS] = { "frames", "load", "irq",
		"level" };

	if (nboots == MAX_BOOTS)
		return;
	memset(&truths[nboots], 0, sizeof(truths[nboots]));
	truths[nboots].boot_id = boot_seq;
	nboots++;
	memset(region_mem, 0, sizeof(region_mem));
	ac_agent_cfg_defaults(&cfg);
	cfg.rate_hz = 1000;
	cfg.batch_us = 2000;		/* frames of two samples */
	memcpy(cfg.device_id, "fuzz", 4);
	cfg.device_id_len = 4;
	cfg.boot_id = boot_seq++;
	if (ac_agent_init(&agent, &cfg, &port, region_mem, REGION_SIZE) != 0)
		fail("agent init");
	r = ac_core1_init(region_mem, REGION_SIZE);
	for (uint32_t i = 0; i < NCOLS; i++)
		(void)ac_counter_register(r, i, names[i], "", i == 0 ?
		    AC_KIND_COUNTER : AC_KIND_GAUGE, 0);
	ac_set_running(r);
}

/* The link comes up: the daemon asks who is there. */
static void
link_connect(void)
{
	uint8_t junk[4096];

	while (read(agent_fd, junk, sizeof(junk)) > 0)
		;
	session_reset(&lk->s);
	lk->fd = host_fd;
	lk->txlen = 0;
	lk->hello_asked = now_wall_us();
	link_cmd(lk, AC_CMD_HELLO, 0, 0);
}

static void
link_disconnect(void)
{
	device_link_lost(lk, now_wall_us(), "fuzz");
}

/* ---- the channel ---- */

static const uint8_t *in;
static size_t in_left;
static uint8_t held[AC_FRAME_MAX_ENC];
static size_t held_len;
static uint8_t later[AC_FRAME_MAX_ENC];
static size_t later_len;
static int later_in;

static int
next_byte(void)
{
	if (in_left == 0)
		return -1;
	in_left--;
	return *in++;
}

static void
to_host(const uint8_t *p, size_t n)
{
	clock_sync();
	session_clock(&lk->s, now_wall_us());
	session_feed(&lk->s, p, n);
}

/* What the host sent the agent (its asks) reaches it: read only when the
 * session sent a command since. */
static uint32_t cmds_read;

static void
to_agent(void)
{
	uint8_t buf[1024];
	ssize_t n;

	if (lk->s.next_req == cmds_read)
		return;
	cmds_read = lk->s.next_req;
	while ((n = read(agent_fd, buf, sizeof(buf))) > 0)
		ac_agent_rx(&agent, buf, (size_t)n);
}

static void
one_frame(const uint8_t *p, size_t n)
{
	uint8_t bad[AC_FRAME_MAX_ENC + 300];
	int op = next_byte(), arg;

	if (later_len > 0 && --later_in <= 0) {
		to_host(later, later_len);
		later_len = 0;
	}
	switch (op < 0 ? 0 : op & 15) {
	case 8:				/* dropped */
		break;
	case 9:				/* twice */
		to_host(p, n);
		to_host(p, n);
		break;
	case 10:			/* after the next one */
		if (held_len == 0) {
			memcpy(held, p, n);
			held_len = n;
			return;
		}
		to_host(p, n);
		break;
	case 11:			/* a bit flipped */
		arg = next_byte();
		memcpy(bad, p, n);
		bad[(size_t)(arg < 0 ? 0 : arg) * 7 % n] ^=
		    (uint8_t)(1u << ((arg < 0 ? 0 : arg) & 7));
		to_host(bad, n);
		break;
	case 12:			/* cut short */
		arg = next_byte();
		memcpy(bad, p, n);
		n = (size_t)(arg < 0 ? 1 : arg) % n;
		bad[n++] = 0;
		to_host(bad, n);
		break;
	case 13:			/* again, some frames later */
		to_host(p, n);
		arg = next_byte();
		memcpy(later, p, n);
		later_len = n;
		later_in = 1 + (arg < 0 ? 0 : arg) % 40;
		break;
	case 14:			/* noise before it */
		arg = next_byte();
		for (int k = 0; k < (arg < 0 ? 0 : arg % 64); k++) {
			int c = next_byte();

			bad[k] = (uint8_t)(c < 0 ? k : c);
		}
		to_host(bad, (size_t)(arg < 0 ? 0 : arg % 64));
		to_host(p, n);
		break;
	case 15:			/* the link drops, or the board resets */
		arg = next_byte();
		link_disconnect();
		if (arg >= 0 && (arg & 1))
			board_boot();
		link_connect();
		return;
	default:
		to_host(p, n);
		break;
	}
	if (held_len > 0) {
		to_host(held, held_len);
		held_len = 0;
	}
}

static struct frame_buf partial;

/* Each frame through the channel; what the host asked goes back. */
static void
frame_and_answer(const uint8_t *p, size_t n)
{
	one_frame(p, n);
	to_agent();
}

static void
pump(void)
{
	to_agent();
	agent_frames(&agent, &partial, frame_and_answer);
}

static void
run(void)
{
	uint64_t until = fake_now + RUN_US;

	while (fake_now < until) {
		uint64_t next = ac_agent_poll(&agent);

		pump();
		clock_sync();
		device_tick(&d, lk, now_wall_us());
		if (next > until)
			next = until;
		while (fake_now < next) {
			fake_now += 500;
			if (fake_now % 1000 == 0) {
				uint64_t ms = fake_now / 1000;

				ac_counter_add(r, 0, 3);
				for (uint32_t i = 1; i < NCOLS; i++)
					ac_counter_set(r, i, (uint32_t)(ms *
					    (i + 7) % 1009));
				ac_heartbeat(r);
			}
		}
	}
	ac_agent_flush(&agent);
	pump();
}

/* ---- the invariants, from the database ---- */

static struct truth *
truth_of(const char *boot_key)
{
	uint64_t id = strtoull(boot_key, NULL, 16);

	for (int i = 0; i < nboots; i++)
		if (truths[i].boot_id == id)
			return &truths[i];
	return NULL;
}

#define MAX_ANCHORS	64

struct anchor {
	int64_t from_us, offset_us;
};

/* The boot's clock anchors (the clock table), by device time. */
static int
anchors_of(sqlite3 *db, int64_t boot, struct anchor *an)
{
	sqlite3_stmt *st;
	int n = 0;

	if (sqlite3_prepare_v2(db, "SELECT from_us, offset_us FROM clock "
	    "WHERE boot_id = ? ORDER BY from_us", -1, &st, NULL) != SQLITE_OK)
		fail("prepare clock");
	sqlite3_bind_int64(st, 1, boot);
	while (n < MAX_ANCHORS && sqlite3_step(st) == SQLITE_ROW)
		an[n++] = (struct anchor){ sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 1) };
	sqlite3_finalize(st);
	return n;
}

/* Whether anchor k is the one in force at device time tdev (the clock
 * table's rule: the latest anchor from at or before it; before them all,
 * the first). */
static int
in_force(const struct anchor *an, int n, int k, int64_t tdev)
{
	return (k == 0 || an[k].from_us <= tdev) &&
	    (k == n - 1 || an[k + 1].from_us > tdev);
}

/* The truth indices whose device time maps to wall time t through the
 * anchor in force at that device time, at most one per anchor; how many.
 * (Any offset at all would let a row stored after the anchor moved by a
 * whole sample period match its neighbour.  An anchor that moved back
 * makes two device times map to one wall time; the daemon stores at most
 * one of them there, and the row must be one of them.) */
static int
indices_at(const struct truth *tr, const struct anchor *an, int noff,
    int64_t t, int64_t *out)
{
	int found = 0;

	for (int k = 0; k < noff; k++) {
		int64_t tdev = t - an[k].offset_us;
		uint64_t lo = 0, hi = tr->produced < MAX_IDX ? tr->produced :
		    MAX_IDX;

		while (lo < hi) {		/* device times increase */
			uint64_t mid = (lo + hi) / 2;

			if ((int64_t)tr->t[mid] < tdev)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < MAX_IDX && lo < tr->produced &&
		    (int64_t)tr->t[lo] == tdev && in_force(an, noff, k, tdev))
			out[found++] = (int64_t)lo;
	}
	return found;
}

/* The index among the candidates whose sample has value v in column idx
 * (one not yet counted, for column 0), or -1. */
static int64_t
matching(const struct truth *tr, const int64_t *cand, int n, int idx,
    int64_t v, const uint8_t *seen)
{
	for (int i = 0; i < n; i++)
		if ((uint32_t)v == tr->v[cand[i]][idx] &&
		    (idx != 0 || !seen[cand[i]]))
			return cand[i];
	return -1;
}

/*
 * Whether another boot of this input sampled v in column idx at a device
 * time its own anchors map to wall time t.  A board's boots share its
 * counters, and rows carry no boot: when a reboot's clock estimate puts
 * the new boot's samples where the boot before it had unstored samples
 * (offsets a sample period apart), a row of one is at a time the other's
 * anchors map to a sample of its own.  Each is stored once, and each
 * boot's accounting still counts only the rows that match it.
 */
static bool
other_boot_has(sqlite3 *db, const struct truth *self, int64_t t, int idx,
    int64_t v)
{
	for (int b = 0; b < nboots; b++) {
		const struct truth *o = &truths[b];
		struct anchor an[MAX_ANCHORS];
		int64_t cand[MAX_ANCHORS], id = 0;
		sqlite3_stmt *st;
		char key[17];
		int n, nc;

		if (o == self)
			continue;
		snprintf(key, sizeof(key), "%016" PRIx64, o->boot_id);
		if (sqlite3_prepare_v2(db, "SELECT id FROM boots WHERE "
		    "boot_key = ?1", -1, &st, NULL) != SQLITE_OK)
			fail("prepare boots by key");
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			id = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (id == 0)
			continue;
		n = anchors_of(db, id, an);
		nc = indices_at(o, an, n, t, cand);
		for (int i = 0; i < nc; i++)
			if ((uint32_t)v == o->v[cand[i]][idx])
				return true;
	}
	return false;
}

static void
check_boot(sqlite3 *db, int64_t boot, const char *key, int64_t produced,
    int64_t stored)
{
	const struct truth *tr = truth_of(key);
	static sqlite3_stmt *st;
	static uint8_t seen[MAX_IDX];
	int64_t rows = 0, max_index = -1;
	struct anchor an[MAX_ANCHORS];
	int noff;

	if (tr == NULL)
		return;			/* an earlier input's boot */
	memset(seen, 0, sizeof(seen));
	noff = anchors_of(db, boot, an);
	/* Prepared once.  Column by column, through the samples virtual
	 * table: the blocks of that counter within the input's time. */
	if (st == NULL && sqlite3_prepare_v3(db, "SELECT s.t, s.value FROM "
	    "samples s WHERE s.counter_id = ?1 AND s.t BETWEEN ?2 AND ?3", -1,
	    SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		fail("prepare samples");
	for (int idx = 0; idx < NCOLS; idx++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, counter_ids[idx]);
		sqlite3_bind_int64(st, 2, (int64_t)wall_base);
		sqlite3_bind_int64(st, 3, (int64_t)(wall_base +
		    WALL_PER_INPUT));
		while (sqlite3_step(st) == SQLITE_ROW) {
			int64_t t = sqlite3_column_int64(st, 0);
			int64_t v = sqlite3_column_int64(st, 1);
			int64_t cand[MAX_ANCHORS], k;
			int nc = indices_at(tr, an, noff, t, cand);

			if (nc == 0)
				continue;	/* another boot's */
			if ((k = matching(tr, cand, nc, idx, v, seen)) < 0) {
				if (other_boot_has(db, tr, t, idx, v))
					continue;	/* that boot's row */
				fail("a stored value differs from the "
				    "agent's sample");
			}
			if (idx == 0) {
				if (seen[k])
					fail("a sample stored twice");
				seen[k] = 1;
				rows++;
				if (k > max_index)
					max_index = k;
			}
		}
	}
	sqlite3_reset(st);
	if (stored != rows) {
		fprintf(stderr, "boot %s: samples_stored %" PRId64 ", rows %"
		    PRId64 ", produced %" PRId64 " (agent %" PRIu64 ")\n", key,
		    stored, rows, produced, tr->produced);
		fail("samples_stored is not the number of samples stored");
	}
	if (produced < max_index + 1 || (uint64_t)produced > tr->produced) {
		fprintf(stderr, "boot %s: samples_produced %" PRId64 ", newest "
		    "index stored %" PRId64 ", the agent produced %" PRIu64
		    "\n", key, produced, max_index, tr->produced);
		fail("samples_produced out of what was produced and stored");
	}
}

/* The counters rows of the fuzzed device, by column. */
static void
load_counter_ids(sqlite3 *db)
{
	sqlite3_stmt *st;

	if (counter_ids[0] != 0)
		return;
	if (sqlite3_prepare_v2(db, "SELECT c.idx, c.id FROM counters c JOIN "
	    "devices d ON d.id = c.device_id WHERE d.name = 'fuzz'", -1, &st,
	    NULL) != SQLITE_OK)
		fail("prepare counters");
	while (sqlite3_step(st) == SQLITE_ROW) {
		int idx = sqlite3_column_int(st, 0);

		if (idx >= 0 && idx < NCOLS)
			counter_ids[idx] = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
}

static void
check_store(void)
{
	sqlite3 *db = store_db(d.store);
	sqlite3_stmt *st;

	clock_sync();
	if (store_commit(d.store, now_wall_us()) < 0)
		fail("commit");
	load_counter_ids(db);
	if (sqlite3_prepare_v2(db, "SELECT id, boot_key, samples_produced, "
	    "samples_stored FROM boots WHERE id > (SELECT coalesce(max(id), 0) "
	    "- 8 FROM boots)", -1, &st, NULL) != SQLITE_OK)
		fail("prepare boots");
	while (sqlite3_step(st) == SQLITE_ROW)
		check_boot(db, sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
	sqlite3_finalize(st);
}

/* Keep the database small: each input checks its own boots; retention
 * drops old sample partitions. */
static void
forget_old(void)
{
	static unsigned n;

	if (++n % 256 != 0)
		return;
	(void)store_tick(d.store, now_wall_us());
	(void)sqlite3_exec(store_db(d.store),
	    "DELETE FROM events; DELETE FROM states; DELETE FROM logs; "
	    "DELETE FROM link_stats; "
	    "DELETE FROM clock WHERE boot_id < (SELECT max(id) - 8 FROM boots);"
	    "DELETE FROM boots WHERE id < (SELECT max(id) - 8 FROM boots);",
	    NULL, NULL, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (lk == NULL)
		setup_daemon();
	in = data;
	in_left = size;
	held_len = later_len = partial.len = 0;
	nboots = 0;
	fake_now = 1000000;
	board_boot();
	link_connect();
	run();
	link_disconnect();
	check_store();
	check_forwarded();
	forget_old();
	wall_base += WALL_PER_INPUT;
	return 0;
}
