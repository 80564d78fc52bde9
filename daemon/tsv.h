/*
 * ClickHouse's TabSeparated text: fields separated by tabs, rows ended by
 * newlines, and in strings a backslash, tab, newline or carriage return
 * escaped as \\, \t, \n, \r.  A growable buffer to write rows into, and
 * the reverse (for tests).  Any thread; a buffer belongs to one.
 */
#ifndef APPCORE_TSV_H
#define APPCORE_TSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tsv {
	char *data;
	size_t len, cap;
	bool failed;			/* out of memory: a row is cut short */
};

void tsv_str(struct tsv *, const char *s);
void tsv_i64(struct tsv *, int64_t);
void tsv_u64(struct tsv *, uint64_t);
void tsv_tab(struct tsv *);
void tsv_eol(struct tsv *);
void tsv_free(struct tsv *);

/* Splits one line (no newline) in place into at most max fields,
 * unescaping each; returns the number of fields, or -1 when an escape is
 * not one of the four (or the line ends in a lone backslash). */
int tsv_split(char *line, char **fields, int max);

#endif
