/*
 * Every offset and size of the shared-region layout, and every constant of
 * it, as a table in its own section.  tests/xtensa/check.sh compiles this
 * file for the host and for Xtensa and requires the two sections to be
 * byte-identical.  The lists come from appcore/region_layout.h.
 */
#include <stddef.h>
#include <stdint.h>

#include "appcore/region_layout.h"

#define F(t, f) { offsetof(struct t, f), sizeof(((struct t *)0)->f) },
#define S(t) { 0xffffffffu, sizeof(struct t) },
#define C(name) { 0xfffffffeu, (uint32_t)(name) },

struct ac_layout_entry {
	uint32_t off;
	uint32_t size;
};

extern const struct ac_layout_entry ac_layout[];
__attribute__((used, section(".appcore_layout")))
const struct ac_layout_entry ac_layout[] = {
	AC_REGION_LAYOUT(S, F)
	AC_REGION_CONSTANTS(C)
};
