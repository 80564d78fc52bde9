/*
 * Core-1 units and Prometheus base units (promunit.h).
 */
#include <stddef.h>
#include <string.h>

#include "promunit.h"

static const struct promunit units[] = {
	{ "s", "seconds", 1 },
	{ "sec", "seconds", 1 },
	{ "seconds", "seconds", 1 },
	{ "ms", "seconds", 1e-3 },
	{ "us", "seconds", 1e-6 },
	{ "ns", "seconds", 1e-9 },
	{ "B", "bytes", 1 },
	{ "byte", "bytes", 1 },
	{ "bytes", "bytes", 1 },
	{ "KiB", "bytes", 1024 },
	{ "MiB", "bytes", 1048576 },
	{ "C", "celsius", 1 },
	{ "degC", "celsius", 1 },
	{ "celsius", "celsius", 1 },
	{ "mC", "celsius", 1e-3 },
	{ "ratio", "ratio", 1 },
	{ "%", "ratio", 1e-2 },
	{ "percent", "ratio", 1e-2 },
	{ "permil", "ratio", 1e-3 },
	{ "V", "volts", 1 },
	{ "mV", "volts", 1e-3 },
	{ "A", "amperes", 1 },
	{ "mA", "amperes", 1e-3 },
	{ "uA", "amperes", 1e-6 },
	{ "W", "watts", 1 },
	{ "mW", "watts", 1e-3 },
	{ "J", "joules", 1 },
	{ "Hz", "hertz", 1 },
	{ "kHz", "hertz", 1e3 },
	{ "m", "meters", 1 },
	{ "mm", "meters", 1e-3 },
	{ "g", "grams", 1 },
};

static const char *const bases[] = {
	"seconds", "bytes", "celsius", "ratio", "volts", "amperes", "watts",
	"joules", "hertz", "meters", "grams", NULL
};

const struct promunit *
promunit_find(const char *unit)
{
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(units[i].unit, unit) == 0)
			return &units[i];
	return NULL;
}

const char *
promunit_base(unsigned i)
{
	return i < sizeof(bases) / sizeof(bases[0]) ? bases[i] : NULL;
}

int
promunit_family(const char *unit)
{
	const struct promunit *u = promunit_find(unit);

	for (unsigned i = 0; u != NULL && bases[i] != NULL; i++)
		if (strcmp(bases[i], u->base) == 0)
			return (int)i + 1;
	return 0;
}
