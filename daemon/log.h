/*
 * Logging to stderr.  Under journald (stderr not a terminal) every line
 * starts with its syslog priority, "<3>" .. "<7>", which journald turns
 * into the entry's priority.  log_warn and fatal add strerror(errno);
 * the -x variants do not.
 */
#ifndef APPCORE_LOG_H
#define APPCORE_LOG_H

#include <stdbool.h>

#define LOG_FMT(a, b)	__attribute__((format(printf, a, b)))

void log_init(const char *name, int verbosity);
void log_warn(const char *, ...) LOG_FMT(1, 2);
void log_warnx(const char *, ...) LOG_FMT(1, 2);
void log_notice(const char *, ...) LOG_FMT(1, 2);
void log_info(const char *, ...) LOG_FMT(1, 2);
void log_debug(const char *, ...) LOG_FMT(1, 2);
__attribute__((noreturn)) void fatal(const char *, ...) LOG_FMT(1, 2);
__attribute__((noreturn)) void fatalx(const char *, ...) LOG_FMT(1, 2);

#endif
