/* Core-1 ELF symbolization with libelf and libdw (symbols.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elfutils/libdw.h>
#include <gelf.h>
#include <libelf.h>

#include "symbols.h"

#define EM_XTENSA_	94

struct func {
	uint32_t addr, size;
	const char *name;		/* in the image's string table */
};

struct symtab {
	Elf *elf;
	Dwarf *dw;			/* NULL without DWARF */
	struct func *f;			/* sorted by addr */
	size_t nf;
};

static int
by_addr(const void *a, const void *b)
{
	const struct func *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The functions of the symbol table (.symtab, else .dynsym). */
static int
load_funcs(struct symtab *s, char *why, size_t whylen)
{
	Elf_Scn *scn = NULL, *sym = NULL;
	GElf_Shdr sh, symsh = { 0 };
	Elf_Data *data;
	size_t cap = 0;

	while ((scn = elf_nextscn(s->elf, scn)) != NULL) {
		if (gelf_getshdr(scn, &sh) == NULL)
			break;
		if (sh.sh_type == SHT_SYMTAB ||
		    (sh.sh_type == SHT_DYNSYM && sym == NULL)) {
			sym = scn;
			symsh = sh;
		}
	}
	if (sym == NULL || (data = elf_getdata(sym, NULL)) == NULL ||
	    symsh.sh_entsize == 0) {
		snprintf(why, whylen, "it has no symbol table (stripped?)");
		return -1;
	}
	for (size_t i = 0; i < symsh.sh_size / symsh.sh_entsize; i++) {
		GElf_Sym st;
		const char *name;

		if (gelf_getsym(data, (int)i, &st) == NULL)
			break;
		if (GELF_ST_TYPE(st.st_info) != STT_FUNC ||
		    st.st_shndx == SHN_UNDEF || st.st_value > UINT32_MAX ||
		    (name = elf_strptr(s->elf, symsh.sh_link, st.st_name)) ==
		    NULL || name[0] == '\0')
			continue;
		if (s->nf == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct func *nf = realloc(s->f, nc * sizeof(*nf));

			if (nf == NULL) {
				snprintf(why, whylen, "out of memory");
				return -1;
			}
			s->f = nf;
			cap = nc;
		}
		s->f[s->nf++] = (struct func){ (uint32_t)st.st_value,
		    st.st_size > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)st.st_size, name };
	}
	if (s->nf == 0) {
		snprintf(why, whylen, "its symbol table names no function");
		return -1;
	}
	qsort(s->f, s->nf, sizeof(*s->f), by_addr);
	return 0;
}

/* Whether the toolchain said so in .xtensa.info ("ABI=1": the call0 ABI,
 * whose return addresses carry no window bits). */
static bool
abi_call0(Elf *e)
{
	Elf_Scn *scn = NULL;
	size_t shstr;

	if (elf_getshdrstrndx(e, &shstr) != 0)
		return false;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *d;

		if (gelf_getshdr(scn, &sh) == NULL || (name = elf_strptr(e,
		    shstr, sh.sh_name)) == NULL ||
		    strcmp(name, ".xtensa.info") != 0 ||
		    (d = elf_getdata(scn, NULL)) == NULL || d->d_buf == NULL)
			continue;
		for (size_t i = 0; i + 5 <= d->d_size; i++)
			if (memcmp((const char *)d->d_buf + i, "ABI=1", 5) == 0)
				return true;
		return false;
	}
	return false;
}

struct symtab *
sym_open(const void *elf, size_t n, struct sym_info *info, char *why,
    size_t whylen)
{
	struct symtab *s;
	GElf_Ehdr eh;
	const unsigned char *id;

	memset(info, 0, sizeof(*info));
	if (n > SYM_ELF_MAX) {
		snprintf(why, whylen, "larger than %u bytes", SYM_ELF_MAX);
		return NULL;
	}
	if (n < 4 || memcmp(elf, ELFMAG, SELFMAG) != 0) {
		snprintf(why, whylen, "not an ELF file");
		return NULL;
	}
	(void)elf_version(EV_CURRENT);
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	if ((s->elf = elf_memory((char *)(uintptr_t)elf, n)) == NULL ||
	    elf_kind(s->elf) != ELF_K_ELF || gelf_getehdr(s->elf, &eh) ==
	    NULL || (id = (const unsigned char *)elf_getident(s->elf, NULL)) ==
	    NULL) {
		snprintf(why, whylen, "not a readable ELF file: %s",
		    elf_errmsg(-1));
		goto fail;
	}
	if (id[EI_CLASS] != ELFCLASS32 || id[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_XTENSA_) {
		snprintf(why, whylen, "not a 32-bit little-endian Xtensa ELF "
		    "(class %u, data %u, machine %u)", id[EI_CLASS],
		    id[EI_DATA], eh.e_machine);
		goto fail;
	}
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
		snprintf(why, whylen, "not an executable (ELF type %u)",
		    eh.e_type);
		goto fail;
	}
	if (load_funcs(s, why, whylen) < 0)
		goto fail;
	info->call0 = abi_call0(s->elf);
	info->functions = (uint32_t)s->nf;
	info->entry = (uint32_t)eh.e_entry;
	/* DWARF is optional; a broken one is the same as none. */
	s->dw = dwarf_begin_elf(s->elf, DWARF_C_READ, NULL);
	info->dwarf = s->dw != NULL;
	return s;
fail:
	sym_close(s);
	return NULL;
}

/* The compilation unit covering addr, through .debug_aranges or else
 * every unit's ranges. */
static bool
cu_of(Dwarf *dw, Dwarf_Addr addr, Dwarf_Die *cu)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	if (dwarf_addrdie(dw, addr, cu) != NULL)
		return true;
	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		if (dwarf_offdie(dw, off + hsize, cu) != NULL &&
		    dwarf_haspc(cu, addr) == 1)
			return true;
		off = next;
	}
	return false;
}

void
sym_lookup(struct symtab *s, uint32_t addr, struct sym_loc *out)
{
	size_t lo = 0, hi = s->nf;
	Dwarf_Die cu;

	memset(out, 0, sizeof(*out));
	while (lo < hi) {		/* the last function at or before addr */
		size_t mid = lo + (hi - lo) / 2;

		if (s->f[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0) {
		const struct func *f = &s->f[lo - 1];

		/* Inside it, or just past one of unknown size. */
		if (addr - f->addr < f->size ||
		    (f->size == 0 && addr - f->addr < 0x10000)) {
			out->found = true;
			snprintf(out->function, sizeof(out->function), "%s",
			    f->name);
			out->offset = addr - f->addr;
		}
	}
	if (s->dw != NULL && cu_of(s->dw, addr, &cu)) {
		Dwarf_Line *l = dwarf_getsrc_die(&cu, addr);
		const char *src;

		if (l != NULL && (src = dwarf_linesrc(l, NULL, NULL)) != NULL &&
		    dwarf_lineno(l, &out->line) == 0) {
			out->have_line = true;
			snprintf(out->file, sizeof(out->file), "%s", src);
		}
	}
}

void
sym_close(struct symtab *s)
{
	if (s == NULL)
		return;
	if (s->dw != NULL)
		dwarf_end(s->dw);
	if (s->elf != NULL)
		elf_end(s->elf);
	free(s->f);
	free(s);
}
