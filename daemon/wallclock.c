#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <time.h>

#include "wallclock.h"

/* A settable clock for the fuzz targets (0: the real one); nothing in
 * appcored itself sets it. */
static _Atomic uint64_t fake_wall_us;

void
now_wall_set(uint64_t us)
{
	atomic_store_explicit(&fake_wall_us, us, memory_order_relaxed);
}

uint64_t
now_wall_us(void)
{
	uint64_t fake = atomic_load_explicit(&fake_wall_us,
	    memory_order_relaxed);
	struct timespec ts;

	if (fake != 0)
		return fake;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
