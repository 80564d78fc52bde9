#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static const char *log_name = "appcored";
static int log_verbosity;		/* 0 notice, 1 info, 2 debug */
static bool log_prefix;

void
log_init(const char *name, int verbosity)
{
	log_name = name;
	log_verbosity = verbosity;
	log_prefix = !isatty(STDERR_FILENO);
}

static void vlog(int, const char *, const char *, va_list, int)
    __attribute__((format(printf, 3, 0)));

static void
vlog(int pri, const char *what, const char *fmt, va_list ap, int err)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_prefix)
		fprintf(stderr, "<%d>", pri);
	else
		fprintf(stderr, "%s: %s", log_name, what);
	if (err != 0)
		fprintf(stderr, "%s: %s\n", msg, strerror(err));
	else
		fprintf(stderr, "%s\n", msg);
}

#define LOGFN(fn, pri, what, level, with_errno)				\
void									\
fn(const char *fmt, ...)						\
{									\
	int e = errno;							\
	va_list ap;							\
									\
	if (log_verbosity < (level))					\
		return;							\
	va_start(ap, fmt);						\
	vlog(pri, what, fmt, ap, (with_errno) ? e : 0);			\
	va_end(ap);							\
	errno = e;							\
}

LOGFN(log_warn, 4, "warning: ", 0, 1)
LOGFN(log_warnx, 4, "warning: ", 0, 0)
LOGFN(log_notice, 5, "", 0, 0)
LOGFN(log_info, 6, "", 1, 0)
LOGFN(log_debug, 7, "debug: ", 2, 0)

void
fatal(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(2, "fatal: ", fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(2, "fatal: ", fmt, ap, 0);
	va_end(ap);
	exit(1);
}
