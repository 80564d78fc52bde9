/* A minimal TAP producer for the unit tests: one "ok"/"not ok" line per
 * CHECK, a plan at the end, exit status 1 on any failure. */
#ifndef APPCORE_CHECK_H
#define APPCORE_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_n, check_failed;

#define CHECK(cond, ...) do {						\
	check_n++;							\
	if (cond) {							\
		printf("ok %d - ", check_n);				\
	} else {							\
		check_failed++;						\
		printf("not ok %d - %s:%d: ", check_n, __FILE__, __LINE__); \
	}								\
	printf(__VA_ARGS__);						\
	putchar('\n');							\
} while (0)

/* For loops of thousands of cases: report only failures, then one line. */
#define CHECK_QUIET(cond, fails, ...) do {				\
	if (!(cond)) {							\
		if ((fails)++ < 5) {					\
			printf("# %s:%d: ", __FILE__, __LINE__);	\
			printf(__VA_ARGS__);				\
			putchar('\n');					\
		}							\
	}								\
} while (0)

static inline int
check_done(void)
{
	printf("1..%d\n", check_n);
	return check_failed != 0;
}

#endif
