/*
 * /proc/self figures for process_* metrics (procstat.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "procstat.h"

/* The boot time, seconds since the epoch: /proc/stat's btime. */
static long long
boot_time(void)
{
	FILE *f = fopen("/proc/stat", "re");
	char line[256];
	long long bt = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "btime %lld", &bt) == 1)
			break;
	fclose(f);
	return bt;
}

static uint64_t
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	uint64_t n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0;	/* not the directory's own */
}

/* utime, stime, num_threads, starttime, vsize, rss: fields 14, 15, 20,
 * 22, 23 and 24 of /proc/self/stat, counted after the command name. */
static int
read_stat(struct procstat *p)
{
	FILE *f = fopen("/proc/self/stat", "re");
	char buf[1024], *s;
	unsigned long utime, stime, vsize;
	long threads, rss;
	unsigned long long start;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((s = strrchr(buf, ')')) == NULL || tick <= 0 || page <= 0)
		return -1;
	if (sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu "
	    "%*d %*d %*d %*d %ld %*d %llu %lu %ld", &utime, &stime, &threads,
	    &start, &vsize, &rss) != 6)
		return -1;
	p->cpu_seconds = (double)(utime + stime) / (double)tick;
	p->threads = (uint64_t)threads;
	p->start_time = (double)boot_time() + (double)start / (double)tick;
	p->virtual_bytes = vsize;
	p->resident_bytes = (uint64_t)rss * (uint64_t)page;
	return 0;
}

int
procstat_read(struct procstat *p)
{
	struct rlimit rl;

	memset(p, 0, sizeof(*p));
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		p->max_fds = rl.rlim_cur;
	p->open_fds = count_fds();
	return read_stat(p);
}
