/*
 * ClickHouse rows as TabSeparated batches (chrows.h).  The column order
 * is the tables' (chexport.c has the schema).
 */
#include <string.h>

#include "chrows.h"

static const struct {
	const char *name;
	int fields;
} tables[CH_TABLES] = {
	[CH_SAMPLES] = { "samples", 4 },
	[CH_EVENTS] = { "events", 6 },
	[CH_LOGS] = { "logs", 7 },
	[CH_CRASHES] = { "crashes", 13 },
};

const char *
ch_table_name(enum ch_table t)
{
	return tables[t].name;
}

int
ch_table_fields(enum ch_table t)
{
	return tables[t].fields;
}

/* Starts a row of table t with its board and boot (boot NULL: the
 * table has none). */
static struct tsv *
row_begin(struct chrows *r, enum ch_table t, const char *board,
    const char *boot, uint64_t now)
{
	struct ch_batch *b = &r->cur[t];

	if (b->rows == 0)
		b->started = now;
	b->table = t;
	tsv_str(&b->text, board);
	if (boot != NULL) {
		tsv_tab(&b->text);
		tsv_str(&b->text, boot);
	}
	return &b->text;
}

static void
row_end(struct chrows *r, enum ch_table t)
{
	tsv_eol(&r->cur[t].text);
	r->cur[t].rows++;
}

/* Tab, then the string. */
static void
field(struct tsv *x, const char *s)
{
	tsv_tab(x);
	tsv_str(x, s);
}

static void
field_i64(struct tsv *x, int64_t v)
{
	tsv_tab(x);
	tsv_i64(x, v);
}

static void
field_u64(struct tsv *x, uint64_t v)
{
	tsv_tab(x);
	tsv_u64(x, v);
}

void
chrows_sample(struct chrows *r, const char *board, const char *counter,
    int64_t t, int64_t value, uint64_t now)
{
	struct tsv *x = row_begin(r, CH_SAMPLES, board, NULL, now);

	field(x, counter);
	field_i64(x, t);
	field_i64(x, value);
	row_end(r, CH_SAMPLES);
}

void
chrows_event(struct chrows *r, const char *board, const char *boot,
    int64_t t, const char *kind, uint64_t count, const char *detail,
    uint64_t now)
{
	struct tsv *x = row_begin(r, CH_EVENTS, board, boot, now);

	field_i64(x, t);
	field(x, kind);
	field_u64(x, count);
	field(x, detail);
	row_end(r, CH_EVENTS);
}

void
chrows_log(struct chrows *r, const char *board, const char *boot, int64_t t,
    uint64_t record, const char *level, const char *channel,
    const char *text, uint64_t now)
{
	struct tsv *x = row_begin(r, CH_LOGS, board, boot, now);

	field_i64(x, t);
	field_u64(x, record);
	field(x, level);
	field(x, channel);
	field(x, text);
	row_end(r, CH_LOGS);
}

void
chrows_crash(struct chrows *r, const char *board, const char *boot,
    int64_t t, const struct ch_crash *c, uint64_t now)
{
	struct tsv *x = row_begin(r, CH_CRASHES, board, boot, now);

	field_i64(x, t);
	field(x, c->kind);
	field(x, c->reason);
	field(x, c->message);
	field(x, c->file);
	field_u64(x, c->line);
	field_u64(x, c->pc);
	field_u64(x, c->exccause);
	field_u64(x, c->excvaddr);
	field(x, c->backtrace);
	field(x, c->image);
	row_end(r, CH_CRASHES);
}

bool
chrows_take(struct chrows *r, enum ch_table t, struct ch_batch *out)
{
	if (r->cur[t].rows == 0)
		return false;
	*out = r->cur[t];
	memset(&r->cur[t], 0, sizeof(r->cur[t]));
	return true;
}

void
chrows_free(struct chrows *r)
{
	for (int t = 0; t < CH_TABLES; t++)
		tsv_free(&r->cur[t].text);
}
