/*
 * Core-1 ELF images: checked on upload, then used to name addresses of a
 * crash - function+offset from the symbol table (libelf), file:line from
 * DWARF (libdw) when the image has it.  Only an image whose SHA-256 is
 * the image hash the agent reported for the crash is ever used.
 */
#ifndef APPCORE_SYMBOLS_H
#define APPCORE_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYM_ELF_MAX		(64u << 20)	/* uploads, bytes */
#define SYM_NAME_MAX		128

struct sym_info {
	uint32_t functions;		/* STT_FUNC symbols */
	bool dwarf;			/* has .debug_info and .debug_line */
	uint32_t entry;
	bool call0;			/* .xtensa.info: ABI=1, no windows */
};

struct sym_loc {
	bool found;			/* a function covers the address */
	char function[SYM_NAME_MAX];
	uint32_t offset;
	bool have_line;
	char file[256];
	int line;
};

struct symtab;

/*
 * Opens an image from memory (which must outlive it): a 32-bit
 * little-endian Xtensa executable with a symbol table.  NULL with why set
 * otherwise.
 */
struct symtab *sym_open(const void *elf, size_t n, struct sym_info *,
    char *why, size_t whylen);
void sym_lookup(struct symtab *, uint32_t addr, struct sym_loc *);
void sym_close(struct symtab *);

#endif
