/* Xtensa exception causes by name (the ISA's EXCCAUSE codes). */
#ifndef APPCORE_EXCCAUSE_H
#define APPCORE_EXCCAUSE_H

#include <stdbool.h>
#include <stdint.h>

/* "LoadProhibitedCause" for 28; "reserved" or "unknown" otherwise. */
const char *exccause_name(uint32_t cause);
/* Whether the cause loads EXCVADDR (a faulting address); otherwise the
 * register holds whatever an earlier exception left. */
bool exccause_has_vaddr(uint32_t cause);

#endif
