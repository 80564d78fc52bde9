/*
 * The query API's printf (daemon/sqlprintf.c) against SQLite's own, the
 * ground truth: every format it admits, over integers, negative numbers,
 * reals (to 16 significant digits: beyond, the C library prints the
 * exact binary value where SQLite rounds), text and NULL, must give
 * SQLite's answer
 * byte for byte; widths
 * and precisions past 100, '*' and the SQL-quoting conversions are
 * refused with a message, and a width that made SQLite's printf run for
 * seconds is refused at once.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "check.h"
#include "sqlprintf.h"

/* printf(fmt, value) on db as text ("NULL", or "error: ..."). */
static void
ask(sqlite3 *db, const char *fmt, const char *value, char *out, size_t n)
{
	char sql[256];
	sqlite3_stmt *st;

	snprintf(sql, sizeof(sql), "SELECT printf('%s', %s)", fmt, value);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(out, n, "error: %s", sqlite3_errmsg(db));
		return;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, n, "%s", sqlite3_column_type(st, 0) == SQLITE_NULL ?
		    "NULL" : (const char *)sqlite3_column_text(st, 0));
	else
		snprintf(out, n, "error: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
}

int
main(void)
{
	static const char *const formats[] = { "%d", "%5d", "%-5d|", "%05d",
		"%+d", "% d", "%x", "%08x", "%#x", "%X", "%o", "%u", "%i",
		"%.3f", "%10.2f", "%-10.2f|", "%e", "%.2E", "%g", "%G", "%s",
		"%10s", "%-10s|", "%.2s", "%c", "%%", "pc 0x%08x at %s:%d",
		"%lld", "%lx", "%.0f", "%100d", "%.6f" };
	static const char *const values[] = { "0", "42", "-42",
		"1107307057", "4294967295", "-1", "3.14159", "-2.5e-3",
		"'dsp/mixer.c'", "'x'", "NULL", "123456.789" };
	static const char *const refused[] = { "%101d", "%.101f",
		"%2147483647d", "%*d", "%.*f", "%q", "%Q", "%w", "%n", "%p" };
	sqlite3 *ours, *theirs;
	char a[1024], b[1024];
	int fails = 0, cases = 0;

	CHECK(sqlite3_open(":memory:", &ours) == SQLITE_OK &&
	    sqlite3_open(":memory:", &theirs) == SQLITE_OK &&
	    sqlprintf_register(ours) == SQLITE_OK, "two connections, ours "
	    "with the bounded printf");
	for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++)
		for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
			char value[96];

			/* pc 0x%08x at %s:%d takes three arguments. */
			snprintf(value, sizeof(value), "%s%s", values[v],
			    strstr(formats[f], "%s:%d") ? ", 'core1.c', 217" :
			    "");
			ask(ours, formats[f], value, a, sizeof(a));
			ask(theirs, formats[f], value, b, sizeof(b));
			cases++;
			CHECK_QUIET(strcmp(a, b) == 0, fails, "printf('%s', %s): "
			    "ours '%s', SQLite's '%s'", formats[f], value, a, b);
		}
	CHECK(fails == 0, "%d formats x values give SQLite's own answer "
	    "(%d differ)", cases, fails);
	for (size_t f = 0; f < sizeof(refused) / sizeof(refused[0]); f++) {
		ask(ours, refused[f], "7", a, sizeof(a));
		CHECK(strncmp(a, "error: printf: ", 15) == 0, "printf('%s') is "
		    "refused, saying why: %s", refused[f], a);
	}
	ask(ours, "%.100f", "1e300", a, sizeof(a));
	CHECK(strlen(a) == 402, "the longest real it can print: 1e300 to 100 "
	    "places, %zu bytes", strlen(a));
	ask(ours, "%.3000s", "'x'", b, sizeof(b));
	CHECK(strcmp(b, "error: printf: precisions above 100 are not allowed "
	    "here") == 0, "a long precision on text is refused too");
	ask(ours, "[%s]", "printf('%100s', 'x') || printf('%100s', 'y')", a,
	    sizeof(a));
	CHECK(strlen(a) == 202, "text longer than any one buffer comes whole "
	    "(%zu bytes)", strlen(a));
	ask(ours, "%s", "NULL", a, sizeof(a));
	CHECK(strcmp(a, "") == 0, "a NULL argument prints as nothing, as "
	    "SQLite's");
	ask(ours, "%d", "NULL", a, sizeof(a));
	CHECK(strcmp(a, "0") == 0, "a NULL number prints as 0");
	sqlite3_close(ours);
	sqlite3_close(theirs);
	return check_done();
}
