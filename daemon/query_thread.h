/*
 * /api/v1/query statements run on their own threads, never on an HTTP
 * thread (docs/threads.md): the HTTP thread hands the statement over by
 * slot id, suspends the connection and serves others; the query thread
 * runs it on its own read-only connection (no lock held meanwhile) and
 * resumes the connection, whose next call takes the answer by the id.
 */
#ifndef APPCORE_QUERY_THREAD_H
#define APPCORE_QUERY_THREAD_H

#include <stdbool.h>
#include <stdint.h>

struct http;
struct api_reply;
struct MHD_Connection;

/* The statement runner (api_query.c): on db, the answer into *a. */
struct sqlite3;
typedef void query_run_fn(struct sqlite3 *db, const char *sql, int64_t limit,
    const struct http *h, struct api_reply *a);

int query_threads_start(struct http *, query_run_fn *);
/* api_query.c's runner. */
query_run_fn query_run;
/* Answers what is under way, waits for the answers to be taken (at most
 * wait_ms), then ends the threads. */
void query_threads_stop(uint32_t wait_ms);

/* A slot for sql (copied), waking c when done: its id, or 0 when every
 * slot is taken (*stopping: because appcored is stopping). */
uint64_t query_submit(const char *sql, int64_t limit,
    struct MHD_Connection *c, bool *stopping);
/* The connection is suspended: the query may run. */
void query_go(uint64_t id);
/* The answer of a query that is done, moved into *a; false if none. */
bool query_take(uint64_t id, struct api_reply *a);
/* The request ended (closed): its slot is freed once the query is done. */
void query_forget(uint64_t id);

#endif
