/*
 * The wall clock both sides of appcored read (microseconds since the
 * epoch), settable by the fuzz targets.
 */
#ifndef APPCORE_WALLCLOCK_H
#define APPCORE_WALLCLOCK_H

#include <stdint.h>

uint64_t now_wall_us(void);
/* Tests: the wall clock reads us from now on (0: the real clock again). */
void now_wall_set(uint64_t us);

#endif
