/*
 * Store ids to names for the ClickHouse forwarder (chtee.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <appcore/wire.h>

#include "chrows.h"
#include "wallclock.h"
#include "chtee.h"
#include "store.h"

#define SLOTS		4096	/* per kind: a direct-mapped cache */
#define NAME_MAX_LEN	160

enum kind { K_COUNTER, K_DEVICE, K_BOOT, K_COUNT };

static const char *const lookup_sql[K_COUNT] = {
	[K_COUNTER] = ("SELECT d.name, c.name FROM counters c JOIN devices "
	    "d ON d.id = c.device_id WHERE c.id = ?"),
	[K_DEVICE] = "SELECT name, '' FROM devices WHERE id = ?",
	[K_BOOT] = "SELECT boot_key, '' FROM boots WHERE id = ?",
};

struct slot {
	int64_t id;			/* 0: empty */
	char a[NAME_MAX_LEN];		/* board, or the boot's key */
	char b[AC_NAME_LEN];		/* the counter's name */
};

struct chtee {
	struct chrows *rows;
	sqlite3_stmt *st[K_COUNT];
	struct slot *slot[K_COUNT];
};

struct chtee *
chtee_new(sqlite3 *db, struct chrows *rows)
{
	struct chtee *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->rows = rows;
	for (int k = 0; k < K_COUNT; k++)
		if ((c->slot[k] = calloc(SLOTS, sizeof(struct slot))) == NULL ||
		    sqlite3_prepare_v2(db, lookup_sql[k], -1, &c->st[k],
		    NULL) != SQLITE_OK) {
			chtee_free(c);
			return NULL;
		}
	return c;
}

void
chtee_free(struct chtee *c)
{
	if (c == NULL)
		return;
	for (int k = 0; k < K_COUNT; k++) {
		sqlite3_finalize(c->st[k]);
		free(c->slot[k]);
	}
	free(c);
}

/* The names of id, cached; NULL when the database has no such row. */
static const struct slot *
names(struct chtee *c, enum kind k, int64_t id)
{
	struct slot *s = &c->slot[k][(uint64_t)id % SLOTS];
	sqlite3_stmt *st = c->st[k];

	if (id <= 0)
		return NULL;
	if (s->id == id)
		return s;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return NULL;
	}
	s->id = id;
	snprintf(s->a, sizeof(s->a), "%s",
	    (const char *)sqlite3_column_text(st, 0));
	snprintf(s->b, sizeof(s->b), "%s",
	    (const char *)sqlite3_column_text(st, 1));
	sqlite3_reset(st);
	return s;
}

static const char *
board(struct chtee *c, int64_t device)
{
	const struct slot *s = names(c, K_DEVICE, device);

	return s != NULL ? s->a : "";
}

static const char *
boot_key(struct chtee *c, int64_t boot)
{
	const struct slot *s = names(c, K_BOOT, boot);

	return s != NULL ? s->a : "";
}

static void
tee_row(void *arg, uint64_t t, const int64_t *counters,
    const int64_t *values, uint32_t n)
{
	struct chtee *c = arg;
	uint64_t now = now_wall_us();

	for (uint32_t i = 0; i < n; i++) {
		const struct slot *s = names(c, K_COUNTER, counters[i]);

		if (s != NULL)
			chrows_sample(c->rows, s->a, s->b, (int64_t)t, values[i],
			    now);
	}
}

static void
tee_event(void *arg, int64_t device, int64_t boot, uint64_t t,
    const char *kind, uint64_t count, const char *detail)
{
	struct chtee *c = arg;

	chrows_event(c->rows, board(c, device), boot_key(c, boot), (int64_t)t,
	    kind, count, detail, now_wall_us());
}

static void
tee_log(void *arg, int64_t device, int64_t boot, uint64_t t,
    uint64_t record, const char *level, const char *channel,
    const char *text)
{
	struct chtee *c = arg;

	chrows_log(c->rows, board(c, device), boot_key(c, boot), (int64_t)t,
	    record, level, channel, text, now_wall_us());
}

static void
tee_crash(void *arg, int64_t device, int64_t boot, uint64_t t,
    const struct ac_msg_crash *m, const char *image_hash)
{
	struct chtee *c = arg;
	char bt[STORE_BT_TEXT];
	struct ch_crash x = {
		.kind = m->reason == AC_PANIC_HANG ? "hang" : "panic",
		.reason = ac_panic_reason_name(m->reason),
		.message = m->msg, .file = m->file, .backtrace = bt,
		.image = image_hash != NULL ? image_hash : "",
		.line = m->line, .pc = m->pc, .exccause = m->exccause,
		.excvaddr = m->excvaddr,
	};

	store_backtrace_text(m, bt, sizeof(bt));
	chrows_crash(c->rows, board(c, device), boot_key(c, boot),
	    (int64_t)t, &x, now_wall_us());
}

void
chtee_bind(struct chtee *c, struct store_tee *tee)
{
	tee->arg = c;
	tee->row = tee_row;
	tee->event = tee_event;
	tee->log = tee_log;
	tee->crash = tee_crash;
}
