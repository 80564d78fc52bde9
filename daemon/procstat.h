/*
 * The daemon's own process figures, as Prometheus's process_* metrics
 * name them: CPU seconds, memory, file descriptors, start time.  Read
 * from /proc/self; any thread.
 */
#ifndef APPCORE_PROCSTAT_H
#define APPCORE_PROCSTAT_H

#include <stdint.h>

struct procstat {
	double cpu_seconds;		/* user + system */
	uint64_t resident_bytes;
	uint64_t virtual_bytes;
	uint64_t open_fds;
	uint64_t max_fds;		/* RLIMIT_NOFILE, soft */
	double start_time;		/* seconds since the epoch */
	uint64_t threads;
};

/* 0, or -1 when /proc could not be read (the fields are then 0). */
int procstat_read(struct procstat *);

#endif
