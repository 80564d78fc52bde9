/*
 * /api/v1/query: read-only SQL, bounded per statement (docs/api.md).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <microhttpd.h>
#include <sqlite3.h>

#include "api_internal.h"
#include "http.h"
#include "query_thread.h"
#include "coredump.h"
#include "hex.h"
#include "jsonv.h"
#include "le.h"
#include "log.h"
#include "symbols.h"

/*
 * GET /api/v1/query?sql=: one read-only SQL statement on the HTTP
 * thread's own read-only connection (values at most HTTP_VALUE_MAX, sorts
 * in memory).  An authorizer admits reading, the pragmas that measure
 * the database, and an allow-list of functions (nothing that returns
 * pointers, touches files or makes big values on purpose; printf and
 * format are daemon/sqlprintf.c's, with bounded widths); a progress
 * handler ends the statement when it has
 * run [http] query_timeout or grown SQLite's memory by [http]
 * query_memory; the answer is capped in rows and in bytes as it is built.
 */
#define QUERY_ROWS_MAX		10000
#define QUERY_BYTES_MAX		(8 << 20)
#define QUERY_VALUE_COST	48	/* a JSON value's own memory */

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* SQLite's core, date, math, JSON and window functions that only compute
 * (sorted, for bsearch).  Values are bounded by HTTP_VALUE_MAX.  SQLite's
 * own printf and format are replaced on these connections
 * (sqlprintf_register): a width of 2^31 ran for seconds inside one call,
 * where no deadline reaches. */
static bool
query_function_allowed(const char *name)
{
	static const char *const allowed[] = {
		"abs", "acos", "acosh", "asin", "asinh", "atan", "atan2",
		"atanh", "avg", "ceil", "ceiling", "char", "coalesce", "cos",
		"cosh", "count", "cume_dist", "date", "datetime", "degrees",
		"dense_rank", "exp", "first_value", "floor", "format", "glob",
		"group_concat", "hex", "ifnull", "iif", "instr", "json",
		"json_array", "json_array_length", "json_extract",
		"json_group_array", "json_group_object", "json_object",
		"json_quote", "json_type", "json_valid", "julianday", "lag",
		"last_value", "lead", "length", "like", "likelihood", "likely",
		"ln", "log", "log10", "log2", "lower", "ltrim", "max", "min",
		"mod", "nth_value", "ntile", "nullif", "percent_rank", "pi",
		"pow", "power", "printf", "quote", "radians", "random",
		"randomblob",
		"rank", "replace", "round", "row_number", "rtrim", "sign", "sin",
		"sinh", "sqrt", "strftime", "string_agg", "substr",
		"substring", "sum", "tan", "tanh", "time", "total", "trim",
		"trunc", "typeof", "unhex", "unicode", "unixepoch", "unlikely",
		"upper", "zeroblob",
	};
	char lower[32];
	size_t n = strlen(name);

	if (n >= sizeof(lower))
		return false;
	for (size_t i = 0; i <= n; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	name = lower;
	return bsearch(&name, allowed, sizeof(allowed) / sizeof(allowed[0]),
	    sizeof(allowed[0]), name_cmp) != NULL;
}

static int
query_authorize(void *arg, int action, const char *a1, const char *a2,
    const char *a3, const char *a4)
{
	(void)arg; (void)a1; (void)a3; (void)a4;
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_FUNCTION:
		return a2 != NULL && query_function_allowed(a2) ? SQLITE_OK :
		    SQLITE_DENY;
	case SQLITE_UPDATE:
		/* Asked of sqlite_master's columns when SQLite makes the
		 * eponymous table pragma_page_count is; no write gets through:
		 * the connection is read-only and the statement must be too
		 * (query_prepare). */
		return a1 != NULL && !strcmp(a1, "sqlite_master") ? SQLITE_OK :
		    SQLITE_DENY;
	case SQLITE_PRAGMA:		/* reading the database's size */
		return a1 != NULL && a2 == NULL && (!strcmp(a1, "page_count") ||
		    !strcmp(a1, "page_size") || !strcmp(a1,
		    "freelist_count")) ? SQLITE_OK : SQLITE_DENY;
	default:
		return SQLITE_DENY;
	}
}

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One statement's bounds, checked every few virtual-machine steps. */
struct query_guard {
	int64_t deadline;		/* monotonic us */
	int64_t mem_limit;		/* sqlite3_memory_used() at most */
	enum { Q_RUNNING, Q_TIMEOUT, Q_MEMORY } why;
};

static int
query_progress(void *arg)
{
	struct query_guard *g = arg;

	if (mono_us() > g->deadline)
		g->why = Q_TIMEOUT;
	else if (sqlite3_memory_used() > g->mem_limit)
		g->why = Q_MEMORY;
	return g->why != Q_RUNNING;
}

/* Prepares sql as one reading statement, or answers why not. */
static sqlite3_stmt *
query_prepare(sqlite3 *db, const char *sql, struct api_reply *a)
{
	sqlite3_stmt *st = NULL;
	const char *tail;
	int rc;

	sqlite3_set_authorizer(db, query_authorize, NULL);
	rc = sqlite3_prepare_v2(db, sql, -1, &st, &tail);
	sqlite3_set_authorizer(db, NULL, NULL);
	if (rc != SQLITE_OK || st == NULL) {
		api_error(a, 400, "bad_query", "%s", rc == SQLITE_AUTH ?
		    "only reading, with SQLite's computing functions, is "
		    "allowed (docs/queries.md)" : rc != SQLITE_OK ?
		    sqlite3_errmsg(db) : "sql: no statement");
		sqlite3_finalize(st);
		return NULL;
	}
	tail += strspn(tail, " \t\r\n;");
	if (*tail != '\0' || !sqlite3_stmt_readonly(st)) {
		api_error(a, 400, "bad_query", *tail != '\0' ? "one statement "
		    "at a time" : "only reading is allowed (SELECT, WITH)");
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

/* The rows of st, bounded by limit, the byte cap and the guard; false
 * (and the error answered) when the statement failed or was stopped. */
static bool
query_rows(sqlite3 *db, sqlite3_stmt *st, int64_t limit, json_object *rows,
    bool *truncated, struct query_guard *g, const struct config *cfg,
    struct api_reply *a)
{
	int ncol = sqlite3_column_count(st), rc;
	size_t bytes = 0;

	sqlite3_progress_handler(db, 16, query_progress, g);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_object *r;

		if ((int64_t)json_object_array_length(rows) >= limit) {
			*truncated = true;
			break;
		}
		r = json_object_new_array_ext(ncol);
		json_object_array_add(rows, r);
		for (int i = 0; i < ncol && !*truncated; i++) {
			json_object_array_add(r, query_value(st, i, &bytes));
			bytes += QUERY_VALUE_COST;
			*truncated = bytes > QUERY_BYTES_MAX;
		}
		if (*truncated) {
			/* The row cut short goes. */
			json_object_array_del_idx(rows,
			    json_object_array_length(rows) - 1, 1);
			break;
		}
	}
	sqlite3_progress_handler(db, 0, NULL, NULL);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return true;
	if (g->why == Q_TIMEOUT)
		api_error(a, 400, "query_timeout", "the query ran past %.1f s; "
		    "narrow it (WHERE t > ..., LIMIT)",
		    (double)cfg->query_timeout_us / 1e6);
	else if (g->why == Q_MEMORY)
		api_error(a, 400, "query_memory", "the query needed more than "
		    "%llu MiB; narrow it (WHERE t > ..., LIMIT)",
		    (unsigned long long)(cfg->query_memory >> 20));
	else
		api_error(a, 400, "bad_query", "%s", sqlite3_errmsg(db));
	return false;
}


static void get_query_run(sqlite3 *, const char *sql, int64_t limit,
    const struct config *, struct api_reply *);

/* query_thread.c's runner: on the query thread's own connection. */
void
query_run(sqlite3 *db, const char *sql, int64_t limit, const struct http *h,
    struct api_reply *a)
{
	get_query_run(db, sql, limit, http_cfg(h), a);
}

void
get_query(struct http *h, struct MHD_Connection *c, struct api_reply *a)
{
	const char *sql = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "sql");
	int64_t limit;
	bool stopping;

	if (query_i64(c, "limit", 1, QUERY_ROWS_MAX, 1000, &limit, a) < 0)
		return;
	if (sql == NULL || sql[strspn(sql, " \t\r\n")] == '\0') {
		api_error(a, 400, "bad_parameter", "sql: one SELECT statement");
		return;
	}
	/* At most HTTP_QUERIES_MAX run at once, each on a query thread, so
	 * the HTTP threads stay free for everything else. */
	(void)h;
	if ((a->query = query_submit(sql, limit, c, &stopping)) != 0)
		return;
	if (stopping)
		api_error(a, 503, "stopping", "appcored is stopping");
	else
		api_error(a, 503, "busy", "another query is running (at most "
		    "%d at once); try again in a moment", HTTP_QUERIES_MAX);
}

static void
get_query_run(sqlite3 *db, const char *sql, int64_t limit,
    const struct config *cfg, struct api_reply *a)
{
	sqlite3_stmt *st;
	json_object *o, *cols, *rows;
	struct query_guard g = { 0 };
	bool truncated = false;

	if ((st = query_prepare(db, sql, a)) == NULL)
		return;
	cols = json_object_new_array();
	for (int i = 0; i < sqlite3_column_count(st); i++)
		json_object_array_add(cols, jv_string(
		    sqlite3_column_name(st, i)));
	rows = json_object_new_array();
	g.deadline = mono_us() + (int64_t)cfg->query_timeout_us;
	g.mem_limit = sqlite3_memory_used() + (int64_t)cfg->query_memory;
	if (!query_rows(db, st, limit, rows, &truncated, &g, cfg, a)) {
		json_object_put(cols);
		json_object_put(rows);
		sqlite3_finalize(st);
		return;
	}
	sqlite3_finalize(st);
	o = json_object_new_object();
	json_object_object_add(o, "columns", cols);
	json_object_object_add(o, "rows", rows);
	json_object_object_add(o, "truncated", json_object_new_boolean(
	    truncated));
	api_json(a, 200, o);
}
