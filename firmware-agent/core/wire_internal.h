/* What the codecs of wire.c and image_wire.c share. */
#ifndef APPCORE_WIRE_INTERNAL_H
#define APPCORE_WIRE_INTERNAL_H

#include "appcore/wire.h"

/* Keeps the first error's message and returns its code. */
#define RD_FAIL(r, code, msg) do {					\
	if ((r)->err == NULL)						\
		(r)->err = (msg);					\
	return (code);							\
} while (0)

#define TRY(x) do { int rc_ = (x); if (rc_ < 0) return rc_; } while (0)

static inline int
wr_done(const struct ac_wr *w)
{
	return w->overflow ? AC_EOVERFLOW : 0;
}

#endif /* APPCORE_WIRE_INTERNAL_H */
