/*
 * A bounded printf for SQL: the conversions of SQLite's printf that only
 * format a value (d i u x X o c f e E g G s z %, the flags - + space # 0
 * and ',', widths and precisions up to SQLPRINTF_WIDTH_MAX), each done
 * by the C library's snprintf on one argument.  '*' widths, %q/%Q/%w
 * (SQL quoting) and anything else are errors, said as such.  One
 * difference: a real of more than 16 significant digits prints them all
 * (the C library's), where SQLite's own rounds past the 16th.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "sqlprintf.h"

/* One conversion spec, parsed. */
struct spec {
	char flags[8];
	int width, precision;		/* -1: none */
	char conv;
};

/* Parses the spec after '%' at *p; the error, or NULL. */
static const char *
spec_parse(const char **p, struct spec *s)
{
	const char *q = *p;
	size_t nf = 0;

	s->width = s->precision = -1;
	while (*q != '\0' && strchr("-+ #0,!", *q) != NULL) {
		if (nf < sizeof(s->flags) - 1 && *q != ',' && *q != '!')
			s->flags[nf++] = *q;
		q++;
	}
	s->flags[nf] = '\0';
	if (*q == '*')
		return "printf: a width from an argument ('*') is not allowed "
		    "here";
	for (; *q >= '0' && *q <= '9'; q++)
		if ((s->width = (s->width < 0 ? 0 : s->width) * 10 + (*q - '0')) >
		    SQLPRINTF_WIDTH_MAX)
			return "printf: widths above 100 are not allowed here";
	if (*q == '.') {
		q++;
		if (*q == '*')
			return "printf: a precision from an argument ('*') is "
			    "not allowed here";
		s->precision = 0;
		for (; *q >= '0' && *q <= '9'; q++)
			if ((s->precision = s->precision * 10 + (*q - '0')) >
			    SQLPRINTF_WIDTH_MAX)
				return "printf: precisions above 100 are not "
				    "allowed here";
	}
	while (*q == 'l')
		q++;
	if (*q == '\0' || strchr("diuxXocfeEgGsz%", *q) == NULL)
		return "printf: only the conversions d i u x X o c f e E g G s "
		    "z and %% are allowed here";
	s->conv = *q;
	*p = q + 1;
	return NULL;
}

/* The C format for one spec with the given length modifier. */
static void
spec_format(const struct spec *s, const char *len, char *out, size_t n)
{
	int k = snprintf(out, n, "%%%s", s->flags);

	if (s->width >= 0)
		k += snprintf(out + k, n - (size_t)k, "%d", s->width);
	if (s->precision >= 0)
		k += snprintf(out + k, n - (size_t)k, ".%d", s->precision);
	snprintf(out + k, n - (size_t)k, "%s%c", len,
	    s->conv == 'z' ? 's' : s->conv == 'i' ? 'd' : s->conv);
}

/* One conversion of argument v into buf (512 bytes: 411 at most).  The
 * format is spec_format's, from a spec spec_parse checked: not a literal,
 * but nothing in it comes unchecked from the query. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void
spec_apply(const struct spec *s, sqlite3_value *v, char *buf, size_t n)
{
	char f[32];
	const unsigned char *t;

	switch (s->conv) {
	case 'd': case 'i':
		spec_format(s, "ll", f, sizeof(f));
		snprintf(buf, n, f, (long long)(v ? sqlite3_value_int64(v) : 0));
		break;
	case 'u': case 'x': case 'X': case 'o':
		spec_format(s, "ll", f, sizeof(f));
		snprintf(buf, n, f, (unsigned long long)(v ?
		    sqlite3_value_int64(v) : 0));
		break;
	case 'c':			/* nothing for NULL or '', as SQLite */
		t = v ? sqlite3_value_text(v) : NULL;
		spec_format(s, "", f, sizeof(f));
		if (t != NULL && t[0] != '\0')
			snprintf(buf, n, f, t[0]);
		else
			buf[0] = '\0';
		break;
	default:			/* f e E g G: at most 411 bytes */
		spec_format(s, "", f, sizeof(f));
		snprintf(buf, n, f, v ? sqlite3_value_double(v) : 0.0);
	}
}
#pragma GCC diagnostic pop

/* %s and %z: the text (cut at the precision), padded to the width;
 * appended whole, however long. */
static void
spec_text(const struct spec *s, sqlite3_value *v, sqlite3_str *out)
{
	const char *t = v ? (const char *)sqlite3_value_text(v) : NULL;
	size_t len = t != NULL ? strlen(t) : 0;
	int pad;

	if (s->precision >= 0 && len > (size_t)s->precision)
		len = (size_t)s->precision;
	pad = s->width > (int)len ? s->width - (int)len : 0;
	if (strchr(s->flags, '-') == NULL)
		sqlite3_str_appendchar(out, pad, ' ');
	if (len > 0)
		sqlite3_str_append(out, t, (int)len);
	if (strchr(s->flags, '-') != NULL)
		sqlite3_str_appendchar(out, pad, ' ');
}

static void
bounded_printf(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *p = argc > 0 ? (const char *)sqlite3_value_text(argv[0]) :
	    NULL, *err;
	sqlite3_str *out;
	char buf[512];
	int next = 1;

	if (p == NULL)
		return;			/* NULL, as SQLite's */
	out = sqlite3_str_new(sqlite3_context_db_handle(ctx));
	while (*p != '\0') {
		struct spec s;

		if (*p != '%') {
			sqlite3_str_appendchar(out, 1, *p++);
			continue;
		}
		p++;
		if ((err = spec_parse(&p, &s)) != NULL) {
			sqlite3_free(sqlite3_str_finish(out));
			sqlite3_result_error(ctx, err, -1);
			return;
		}
		if (s.conv == '%') {
			sqlite3_str_appendchar(out, 1, '%');
			continue;
		}
		if (s.conv == 's' || s.conv == 'z')
			spec_text(&s, next < argc ? argv[next] : NULL, out);
		else {
			spec_apply(&s, next < argc ? argv[next] : NULL, buf,
			    sizeof(buf));
			sqlite3_str_appendall(out, buf);
		}
		next++;
	}
	if (sqlite3_str_errcode(out) != SQLITE_OK) {
		sqlite3_free(sqlite3_str_finish(out));
		sqlite3_result_error_toobig(ctx);
		return;
	}
	sqlite3_result_text(ctx, sqlite3_str_value(out) ?
	    sqlite3_str_value(out) : "", sqlite3_str_length(out),
	    SQLITE_TRANSIENT);
	sqlite3_free(sqlite3_str_finish(out));
}

int
sqlprintf_register(sqlite3 *db)
{
	int rc = sqlite3_create_function(db, "printf", -1, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC, NULL, bounded_printf, NULL, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "format", -1, SQLITE_UTF8 |
		    SQLITE_DETERMINISTIC, NULL, bounded_printf, NULL, NULL);
	return rc;
}
