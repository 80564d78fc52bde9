/*
 * Prometheus base units for core-1 counter units: which metric family a
 * counter of a unit goes to and what its values are multiplied by
 * ("us" -> seconds x 1e-6, "mC" -> celsius x 1e-3, "permil" -> ratio
 * x 1e-3).  Units Prometheus has no base unit for keep the generic
 * family and a unit label.  Any thread (constant data).
 */
#ifndef APPCORE_PROMUNIT_H
#define APPCORE_PROMUNIT_H

struct promunit {
	const char *unit;	/* as core 1 registers it */
	const char *base;	/* Prometheus base unit: "seconds", "bytes"... */
	double scale;		/* base units per core-1 unit */
};

/* The base unit of a core-1 unit, or NULL: none (the generic family). */
const struct promunit *promunit_find(const char *unit);
/* Every distinct base unit, in the order families are written; NULL
 * ends the list. */
const char *promunit_base(unsigned i);
/* 1 + the index of unit's base unit in that list, or 0 when it has none. */
int promunit_family(const char *unit);

#endif
