#include <stdlib.h>
#include <string.h>

#include "coredump.h"
#include "le.h"

#define EHDR_SIZE	52
#define PHDR_SIZE	32
#define NOTE_NAME	"CORE"
#define NT_PRSTATUS	1
#define PT_LOAD		1
#define PT_NOTE		4
#define EM_XTENSA	94
#define ET_CORE		4

_Static_assert(CORE_PRSTATUS_SIZE == 588, "xtensa_elf_reg_dump_t");

static void
phdr(uint8_t *p, uint32_t type, uint32_t off, uint32_t vaddr, uint32_t filesz,
    uint32_t memsz, uint32_t flags)
{
	le32_put(p, type);
	le32_put(p + 4, off);
	le32_put(p + 8, vaddr);
	le32_put(p + 12, vaddr);
	le32_put(p + 16, filesz);
	le32_put(p + 20, memsz);
	le32_put(p + 24, flags);
	le32_put(p + 28, 4);
}

/*
 * The note's descriptor, as ESP-IDF's xtensa_elf_reg_dump_t: a 72-byte
 * pr_status (pr_cursig at 12, pr_pid at 24), then the gregset: pc, ps,
 * lbeg, lend, lcount, sar, windowstart, windowbase, 56 reserved words,
 * ar[64] from word 64, and one more reserved word (GDB wants 129).
 */
static void
prstatus(uint8_t *d, const struct core_regs *r)
{
	uint8_t *g = d + 72;

	memset(d, 0, CORE_PRSTATUS_SIZE);
	le16_put(d + 12, r->signal);
	le32_put(d + 24, 1);			/* pr_pid: core 1 */
	le32_put(g + 0 * 4, r->pc);
	le32_put(g + 1 * 4, r->ps);
	le32_put(g + 2 * 4, r->lbeg);
	le32_put(g + 3 * 4, r->lend);
	le32_put(g + 4 * 4, r->lcount);
	le32_put(g + 5 * 4, r->sar);
	le32_put(g + 6 * 4, r->windowstart);
	le32_put(g + 7 * 4, r->windowbase);
	for (int i = 0; i < 64; i++)
		le32_put(g + (64 + i) * 4, r->ar[i]);
}

uint8_t *
coredump_elf(const struct core_regs *r, const struct core_region *rg,
    int n, size_t *len)
{
	size_t note_off = EHDR_SIZE + (size_t)(1 + n) * PHDR_SIZE;
	size_t note_len = 12 + 8 + CORE_PRSTATUS_SIZE, off, total;
	uint8_t *f, *p;

	total = note_off + note_len;
	for (int i = 0; i < n; i++)
		total += (rg[i].size + 3u) & ~3u;
	if ((f = calloc(1, total)) == NULL)
		return NULL;
	memcpy(f, "\x7f" "ELF", 4);
	f[4] = 1;				/* ELFCLASS32 */
	f[5] = 1;				/* ELFDATA2LSB */
	f[6] = 1;				/* EV_CURRENT */
	le16_put(f + 16, ET_CORE);
	le16_put(f + 18, EM_XTENSA);
	le32_put(f + 20, 1);			/* e_version */
	le32_put(f + 28, EHDR_SIZE);		/* e_phoff */
	le16_put(f + 40, EHDR_SIZE);		/* e_ehsize */
	le16_put(f + 42, PHDR_SIZE);
	le16_put(f + 44, (uint32_t)(1 + n));	/* e_phnum */
	le16_put(f + 46, 40);			/* e_shentsize */
	phdr(f + EHDR_SIZE, PT_NOTE, (uint32_t)note_off, 0,
	    (uint32_t)note_len, 0, 4);
	p = f + note_off;
	le32_put(p, sizeof(NOTE_NAME));		/* namesz, with the NUL */
	le32_put(p + 4, CORE_PRSTATUS_SIZE);
	le32_put(p + 8, NT_PRSTATUS);
	memcpy(p + 12, NOTE_NAME, sizeof(NOTE_NAME));	/* padded to 8 */
	prstatus(p + 20, r);
	off = note_off + note_len;
	for (int i = 0; i < n; i++) {
		phdr(f + EHDR_SIZE + (size_t)(1 + i) * PHDR_SIZE, PT_LOAD,
		    (uint32_t)off, rg[i].addr, rg[i].size, rg[i].size, 6);
		memcpy(f + off, rg[i].data, rg[i].size);
		off += (rg[i].size + 3u) & ~3u;
	}
	*len = total;
	return f;
}
