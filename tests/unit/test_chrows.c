/*
 * ClickHouse rows (daemon/chrows.c, daemon/tsv.c): strings with every
 * byte ClickHouse's TabSeparated format treats specially (tab, newline,
 * carriage return, backslash) and any other byte come back field for
 * field; each table's rows have its number of fields; integers at their
 * limits print exactly; batches are taken once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "chrows.h"

static uint64_t rng = 88172645463325252ull;

static uint32_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 32);
}

/* A string of up to max bytes 1..255, the special ones often. */
static void
hostile(char *s, size_t max)
{
	static const char special[] = "\t\n\r\\";
	size_t n = next() % max;

	for (size_t i = 0; i < n; i++)
		s[i] = next() % 3 == 0 ? special[next() % 4] :
		    (char)(1 + next() % 255);
	s[n] = '\0';
}

/* The batch's text as a string (the batch's buffer, which is freed
 * with the result). */
static char *
text_of(struct ch_batch *b)
{
	char *s = malloc(b->text.len + 1);

	if (s == NULL)
		abort();
	memcpy(s, b->text.data, b->text.len);
	s[b->text.len] = '\0';
	free(b->text.data);
	b->text.data = s;
	return s;
}

/* The next line of text at *p (its newline replaced by NUL). */
static char *
line(char **p)
{
	char *l = *p, *nl = strchr(l, '\n');

	if (nl == NULL)
		return NULL;
	*nl = '\0';
	*p = nl + 1;
	return l;
}

/* Takes table t's batch, which must hold one row, and splits that row
 * into f: the number of fields, or -1 (no batch, not one row, or a line
 * that does not split).  *text is the batch's text, to free. */
static int
one_row(struct chrows *r, enum ch_table t, char **f, char **text)
{
	struct ch_batch b;
	char *p, *l;

	*text = NULL;
	if (!chrows_take(r, t, &b))
		return -1;
	*text = p = text_of(&b);
	l = line(&p);
	if (l == NULL || *p != '\0' || b.rows != 1)
		return -1;
	return tsv_split(l, f, 16);
}

static void
round_trip(void)
{
	char board[40], counter[32], kind[40], detail[200], text[200];
	int bad = 0;

	for (int i = 0; i < 5000; i++) {
		struct chrows r = { 0 };
		struct ch_batch b;
		char *f[16], *txt;
		int64_t t = (int64_t)next() << 20, v = -(int64_t)next();
		int nf;

		hostile(board, sizeof(board));
		hostile(counter, sizeof(counter));
		hostile(kind, sizeof(kind));
		hostile(detail, sizeof(detail));
		hostile(text, sizeof(text));
		chrows_sample(&r, board, counter, t, v, 1);
		chrows_event(&r, board, kind, t, kind, 7, detail, 1);
		chrows_log(&r, board, kind, t, 3, "info", counter, text, 1);
		nf = one_row(&r, CH_SAMPLES, f, &txt);
		CHECK_QUIET(nf == ch_table_fields(CH_SAMPLES) &&
		    !strcmp(f[0], board) && !strcmp(f[1], counter) &&
		    strtoll(f[2], NULL, 10) == t && strtoll(f[3], NULL, 10) ==
		    v, bad, "sample %d", i);
		free(txt);
		nf = one_row(&r, CH_EVENTS, f, &txt);
		CHECK_QUIET(nf == ch_table_fields(CH_EVENTS) &&
		    !strcmp(f[0], board) && !strcmp(f[1], kind) &&
		    !strcmp(f[3], kind) && !strcmp(f[4], "7") &&
		    !strcmp(f[5], detail), bad, "event %d", i);
		free(txt);
		nf = one_row(&r, CH_LOGS, f, &txt);
		CHECK_QUIET(nf == ch_table_fields(CH_LOGS) &&
		    !strcmp(f[5], counter) && !strcmp(f[6], text), bad,
		    "log %d", i);
		free(txt);
		CHECK_QUIET(!chrows_take(&r, CH_SAMPLES, &b), bad,
		    "a batch taken twice");
		chrows_free(&r);
	}
	CHECK(bad == 0, "5000 rows of hostile strings (tab, newline, CR, "
	    "backslash, bytes 1..255) split back into their fields (%d bad)",
	    bad);
}

static void
crash_fields(void)
{
	struct chrows r = { 0 };
	struct ch_crash c = { "panic", "assert", "x\ty", "a\\b.c", "0x1 0x2",
	    "ab12", 4294967295u, 0x400d1234, 29, 0 };
	char *f[16], *txt;
	int nf;

	chrows_crash(&r, "b\n1", "k", INT64_MIN, &c, 5);
	CHECK(r.cur[CH_CRASHES].started == 5,
	    "a batch starts at its first row's time");
	nf = one_row(&r, CH_CRASHES, f, &txt);
	CHECK(nf == 13 && !strcmp(f[0], "b\n1") && !strcmp(f[2],
	    "-9223372036854775808") && !strcmp(f[5], "x\ty") &&
	    !strcmp(f[6], "a\\b.c") && !strcmp(f[7], "4294967295") &&
	    !strcmp(f[8], "1074598452") && !strcmp(f[12], "ab12"),
	    "a crash row: its 13 fields, INT64_MIN and UINT32_MAX exact (%d "
	    "fields)", nf);
	free(txt);
}

static void
split_refuses(void)
{
	char a[] = "x\\q", b2[] = "x\\", c[] = "a\tb\tc", d[] = "";
	char *f[2];

	CHECK(tsv_split(a, f, 2) == -1, "an unknown escape is refused");
	CHECK(tsv_split(b2, f, 2) == -1, "a lone backslash at the end too");
	CHECK(tsv_split(c, f, 2) == -1, "more fields than asked for too");
	CHECK(tsv_split(d, f, 2) == 1 && f[0][0] == '\0',
	    "an empty line is one empty field");
}

int
main(void)
{
	round_trip();
	crash_fields();
	split_refuses();
	return check_done();
}
