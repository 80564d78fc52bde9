/*
 * TabSeparated rows (tsv.h).
 */
#include <stdlib.h>
#include <string.h>

#include "tsv.h"

static bool
reserve(struct tsv *t, size_t more)
{
	size_t cap;
	char *p;

	if (t->len + more <= t->cap)
		return true;
	cap = t->cap ? t->cap : 65536;
	while (cap < t->len + more)
		cap *= 2;
	if ((p = realloc(t->data, cap)) == NULL) {
		t->failed = true;
		return false;
	}
	t->data = p;
	t->cap = cap;
	return true;
}

static char
escape_of(char c)
{
	return c == '\\' ? '\\' : c == '\t' ? 't' : c == '\n' ? 'n' :
	    c == '\r' ? 'r' : 0;
}

static void
put(struct tsv *t, const char *s, size_t n)
{
	if (n > 0 && reserve(t, n)) {
		memcpy(t->data + t->len, s, n);
		t->len += n;
	}
}

void
tsv_str(struct tsv *t, const char *s)
{
	size_t n = strlen(s);

	if (strpbrk(s, "\\\t\n\r") == NULL) {	/* the usual case */
		put(t, s, n);
		return;
	}
	if (!reserve(t, 2 * n))
		return;
	for (; *s != '\0'; s++) {
		char e = escape_of(*s);

		if (e != 0) {
			t->data[t->len++] = '\\';
			t->data[t->len++] = e;
		} else
			t->data[t->len++] = *s;
	}
}

/* The decimal digits of v, written backwards to end; returns the first. */
static char *
digits(uint64_t v, char *end)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

void
tsv_u64(struct tsv *t, uint64_t v)
{
	char s[24], *p = digits(v, s + sizeof(s));

	put(t, p, (size_t)(s + sizeof(s) - p));
}

void
tsv_i64(struct tsv *t, int64_t v)
{
	char s[24], *p;

	/* The magnitude as unsigned: INT64_MIN has no positive twin. */
	p = digits(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, s + sizeof(s));
	if (v < 0)
		*--p = '-';
	put(t, p, (size_t)(s + sizeof(s) - p));
}

void
tsv_tab(struct tsv *t)
{
	put(t, "\t", 1);
}

void
tsv_eol(struct tsv *t)
{
	put(t, "\n", 1);
}

void
tsv_free(struct tsv *t)
{
	free(t->data);
	memset(t, 0, sizeof(*t));
}

static char
unescape_of(char c)
{
	return c == '\\' ? '\\' : c == 't' ? '\t' : c == 'n' ? '\n' :
	    c == 'r' ? '\r' : 0;
}

int
tsv_split(char *line, char **fields, int max)
{
	int n = 0;
	char *out = line;

	if (max <= 0)
		return -1;
	fields[n++] = out;
	for (char *p = line; *p != '\0'; p++) {
		if (*p == '\t') {
			*out++ = '\0';
			if (n == max)
				return -1;
			fields[n++] = out;
		} else if (*p == '\\') {
			char c = unescape_of(p[1]);

			if (c == 0)
				return -1;
			*out++ = c;
			p++;
		} else
			*out++ = *p;
	}
	*out = '\0';
	return n;
}
