/*
 * Core-1 images for updates (core1img.h).  The ELF is read by hand, each
 * offset and size checked against the body before use: this runs on the
 * HTTP thread on bytes from a client, and tests/fuzz/fuzz_image.c feeds
 * it everything.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appcore/image.h"
#include "core1img.h"
#include "digest.h"
#include "le.h"

#define EM_XTENSA	94u
#define PT_LOAD		1u
#define PHDR_MAX	64u

static int
fail(const char **code, const char *c, char *why, size_t whylen,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
fail(const char **code, const char *c, char *why, size_t whylen,
    const char *fmt, ...)
{
	va_list ap;

	*code = c;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static const char *
machine_name(unsigned m)
{
	switch (m) {
	case 3: return "x86";
	case 40: return "ARM";
	case 62: return "x86-64";
	case 183: return "AArch64";
	case 243: return "RISC-V";
	case EM_XTENSA: return "Xtensa";
	default: return "another machine";
	}
}

struct seg {
	uint32_t addr, off, filesz;
};

/* The loaded segments with bytes: their span [lo, hi). */
static int
elf_segments(const uint8_t *e, size_t len, struct seg *segs, unsigned *nseg,
    uint32_t *lo, uint32_t *hi, const char **code, char *why, size_t wl)
{
	uint32_t phoff = le32_get(e + 28);
	unsigned phentsize = le16(e + 42), phnum = le16(e + 44);

	if (phentsize != 32 || phnum == 0 || phnum > PHDR_MAX ||
	    phoff > len || (size_t)phnum * 32 > len - phoff)
		return fail(code, "bad_elf", why, wl, "the ELF's program "
		    "headers lie outside the file (%u of %u bytes at %u)",
		    phnum, phentsize, phoff);
	*nseg = 0;
	*lo = UINT32_MAX;
	*hi = 0;
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = e + phoff + (size_t)i * 32;
		struct seg s = { le32_get(ph + 12), le32_get(ph + 4),
		    le32_get(ph + 16) };

		if (le32_get(ph) != PT_LOAD || s.filesz == 0)
			continue;
		if (s.off > len || s.filesz > len - s.off ||
		    s.addr > UINT32_MAX - s.filesz)
			return fail(code, "bad_elf", why, wl, "segment %u "
			    "lies outside the file", i);
		segs[(*nseg)++] = s;
		*lo = s.addr < *lo ? s.addr : *lo;
		*hi = s.addr + s.filesz > *hi ? s.addr + s.filesz : *hi;
	}
	if (*nseg == 0)
		return fail(code, "bad_elf", why, wl, "the ELF loads no bytes");
	return 0;
}

/* objcopy -O binary of the ELF, then stamped as core1_image.py does. */
static int
from_elf(const uint8_t *e, size_t len, uint32_t base, struct core1img *im,
    const char **code, char *why, size_t wl)
{
	struct seg segs[PHDR_MAX];
	unsigned nseg = 0;
	uint32_t lo = 0, hi = 0, entry;

	if (len < 52)
		return fail(code, "bad_elf", why, wl, "%zu bytes: shorter than "
		    "an ELF header", len);
	if (le16(e + 18) != EM_XTENSA || e[4] != 1 || e[5] != 1)
		return fail(code, "wrong_architecture", why, wl, "the ELF is "
		    "%s-bit %s for machine %u (%s); core 1 runs 32-bit "
		    "little-endian Xtensa (94)", e[4] == 2 ? "64" : "32",
		    e[5] == 2 ? "big-endian" : "little-endian", le16(e + 18),
		    machine_name(le16(e + 18)));
	if (le16(e + 18) != EM_XTENSA)
		return fail(code, "wrong_architecture", why, wl, "the ELF is "
		    "for machine %u (%s), not Xtensa (94)", le16(e + 18),
		    machine_name(le16(e + 18)));
	if (le16(e + 16) != 2)
		return fail(code, "bad_elf", why, wl, "not an executable ELF "
		    "(type %u)", le16(e + 16));
	if (elf_segments(e, len, segs, &nseg, &lo, &hi, code, why, wl) < 0)
		return -1;
	entry = le32_get(e + 24);
	if (lo != base)
		return fail(code, "bad_entry", why, wl, "the ELF's first byte "
		    "loads at 0x%08x, not at the slot's 0x%08x: link core 1's "
		    "program to run from its partition", lo, base);
	if (hi - lo > AC_IMAGE_MAX)
		return fail(code, "oversized", why, wl, "the ELF spans %u "
		    "bytes; no slot holds more than %u", hi - lo,
		    AC_IMAGE_MAX);
	if (hi - lo < AC_IMAGE_HDR)
		return fail(code, "truncated", why, wl, "the ELF loads %u "
		    "bytes, fewer than the 40-byte image header", hi - lo);
	if ((im->bytes = calloc(1, hi - lo)) == NULL)
		return fail(code, "oversized", why, wl, "out of memory");
	im->size = hi - lo;
	for (unsigned i = 0; i < nseg; i++)
		memcpy(im->bytes + (segs[i].addr - lo), e + segs[i].off,
		    segs[i].filesz);
	if (le32_get(im->bytes) != entry)
		return fail(code, "bad_entry", why, wl, "the image's first word "
		    "(0x%08x) is not the ELF's entry (0x%08x): the linker "
		    "script must put struct appcore_core1_header first",
		    le32_get(im->bytes), entry);
	sha256(e, len, im->elf_hash);
	le32_put(im->bytes + 4, AC_IMAGE_MAGIC);
	memcpy(im->bytes + 8, im->elf_hash, 32);
	im->from_elf = true;
	return 0;
}

static int
from_image(const uint8_t *b, size_t len, struct core1img *im,
    const char **code, char *why, size_t wl)
{
	if (len < AC_IMAGE_HDR)
		return fail(code, "truncated", why, wl, "%zu bytes: shorter "
		    "than the 40-byte image header", len);
	if (le32_get(b + 4) != AC_IMAGE_MAGIC)
		return fail(code, "not_an_image", why, wl, "no \"AC1I\" magic "
		    "at offset 4: not a core-1 image (make one with "
		    "firmware-agent/tools/core1_image.py, or send the ELF)");
	if (len > AC_IMAGE_MAX)
		return fail(code, "oversized", why, wl, "%zu bytes; no slot "
		    "holds more than %u", len, AC_IMAGE_MAX);
	if ((im->bytes = malloc(len)) == NULL)
		return fail(code, "oversized", why, wl, "out of memory");
	memcpy(im->bytes, b, len);
	im->size = (uint32_t)len;
	memcpy(im->elf_hash, b + 8, 32);
	return 0;
}

int
core1img_parse(const uint8_t *body, size_t len, uint32_t base,
    uint32_t slot_size, struct core1img *im, const char **code, char *why,
    size_t whylen)
{
	int rc;

	memset(im, 0, sizeof(*im));
	if (len >= 4 && memcmp(body, "\177ELF", 4) == 0)
		rc = from_elf(body, len, base, im, code, why, whylen);
	else
		rc = from_image(body, len, im, code, why, whylen);
	if (rc < 0) {
		core1img_free(im);
		return -1;
	}
	im->entry = le32_get(im->bytes);
	if (slot_size != 0 && im->size > slot_size) {
		uint32_t size = im->size;

		core1img_free(im);
		return fail(code, "oversized", why, whylen, "the image is %u "
		    "bytes; the board's slots hold %u", size, slot_size);
	}
	if (im->entry < base + AC_IMAGE_HDR || im->entry - base >= im->size) {
		uint32_t entry = im->entry, size = im->size;

		core1img_free(im);
		return fail(code, "bad_entry", why, whylen, "the entry "
		    "0x%08x lies outside the image's code (0x%08x..0x%08x)",
		    entry, base + AC_IMAGE_HDR, base + size);
	}
	sha256(im->bytes, im->size, im->sha256);
	return 0;
}

void
core1img_free(struct core1img *im)
{
	free(im->bytes);
	im->bytes = NULL;
	im->size = 0;
}
