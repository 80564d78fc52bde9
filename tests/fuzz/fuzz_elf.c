/*
 * Fuzz target for core-1 ELF uploads (daemon/symbols.c): whatever bytes
 * are uploaded are opened as an image and, when accepted, addresses from
 * its entry on, the extremes and the simulator's panic PC are looked up.
 * Nothing may crash or read out of bounds; a refusal says why; names and
 * files come back terminated.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symbols.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
look(struct symtab *s, uint32_t addr)
{
	struct sym_loc loc;

	sym_lookup(s, addr, &loc);
	if (strnlen(loc.function, sizeof(loc.function)) == sizeof(loc.function) ||
	    strnlen(loc.file, sizeof(loc.file)) == sizeof(loc.file) ||
	    (!loc.found && loc.function[0] != '\0'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct sym_info info;
	struct symtab *s;
	char why[200];
	uint8_t *copy = malloc(n ? n : 1);	/* exact size: ASan sees */

	if (copy == NULL)
		return 0;
	memcpy(copy, p, n);
	s = sym_open(copy, n, &info, why, sizeof(why));
	if (s == NULL) {
		if (why[0] == '\0' || strnlen(why, sizeof(why)) == sizeof(why))
			abort();
	} else {
		look(s, info.entry);
		for (uint32_t a = 0; a < 64; a++)
			look(s, info.entry + a * 7);
		look(s, 0);
		look(s, UINT32_MAX);
		look(s, 0x42002a31);
		sym_close(s);
	}
	free(copy);
	return 0;
}
