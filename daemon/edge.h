/*
 * The TCP listener's connection discipline, beside libmicrohttpd's own
 * limits (docs/security.md, "HTTP requests"):
 *  - a deadline for a request's headers: a connection that has not sent
 *    a whole request head within EDGE_HEADER_DEADLINE_US of its start (or
 *    of its previous answer) is shut down, however slowly it drips;
 *  - room for a well-behaved client: once the connections come within
 *    EDGE_RESERVE of the cap, an address that already holds EDGE_FAIR of
 *    them gets no more.
 * Connections are known by their socket, not by pointer; a thread of its
 * own enforces the deadline, under a lock that covers no I/O but the
 * shutdown(2) of a late socket.
 */
#ifndef APPCORE_EDGE_H
#define APPCORE_EDGE_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>

#define EDGE_HEADER_DEADLINE_US	10000000u
#define EDGE_RESERVE		32	/* connections kept for the fair */
#define EDGE_FAIR		4	/* connections an address may hold then */

struct edge;

struct edge *edge_start(unsigned max_connections);
void edge_stop(struct edge *);

void edge_conn_started(struct edge *, int fd, const struct sockaddr *);
void edge_conn_closed(struct edge *, int fd);
/* The request head is in (true), or an answer went and the next head is
 * awaited (false). */
void edge_headers(struct edge *, int fd, bool in);
/* libmicrohttpd's accept policy: whether this address may connect now. */
bool edge_accept(struct edge *, const struct sockaddr *, socklen_t);
/* Connections shut down for missing the deadline, refused for fairness. */
void edge_counts(struct edge *, uint64_t *cut, uint64_t *refused);

#endif
