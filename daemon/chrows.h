/*
 * Rows for ClickHouse's tables (docs/fleet.md), built as TabSeparated
 * text, one batch per table.  The ingest thread's (chexport.c hands
 * finished batches to its sender; the fuzz target reads them back).
 */
#ifndef APPCORE_CHROWS_H
#define APPCORE_CHROWS_H

#include <stdbool.h>
#include <stdint.h>

#include "tsv.h"

enum ch_table { CH_SAMPLES, CH_EVENTS, CH_LOGS, CH_CRASHES, CH_TABLES };

/* The table's name and how many fields each of its rows has. */
const char *ch_table_name(enum ch_table);
int ch_table_fields(enum ch_table);

struct ch_batch {
	enum ch_table table;
	struct tsv text;
	uint64_t rows;
	uint64_t started;		/* wall us of its first row */
};

struct chrows {
	struct ch_batch cur[CH_TABLES];
};

/* One row each; times are wall microseconds, now the wall clock. */
void chrows_sample(struct chrows *, const char *board, const char *counter,
    int64_t t, int64_t value, uint64_t now);
void chrows_event(struct chrows *, const char *board, const char *boot,
    int64_t t, const char *kind, uint64_t count, const char *detail,
    uint64_t now);
void chrows_log(struct chrows *, const char *board, const char *boot,
    int64_t t, uint64_t record, const char *level, const char *channel,
    const char *text, uint64_t now);
struct ch_crash {
	const char *kind, *reason, *message, *file, *backtrace, *image;
	uint32_t line, pc, exccause, excvaddr;
};
void chrows_crash(struct chrows *, const char *board, const char *boot,
    int64_t t, const struct ch_crash *, uint64_t now);

/* Moves table t's batch out (*out owns its text); false when empty. */
bool chrows_take(struct chrows *, enum ch_table t, struct ch_batch *out);
void chrows_free(struct chrows *);

#endif
