/*
 * A core-1 image as a host receives it for an update (docs/updates.md):
 * the flat image core1_image.py makes, or the core-1 ELF, converted here
 * as objcopy -O binary would and stamped as core1_image.py does.  Every
 * check is made before anything reaches a board; each failure has a
 * short code (the API's "error") and a sentence saying what is wrong.
 */
#ifndef APPCORE_CORE1IMG_H
#define APPCORE_CORE1IMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct core1img {
	uint8_t *bytes;			/* the image, malloc'd */
	uint32_t size;
	uint32_t entry;
	uint8_t sha256[32];		/* of the image */
	uint8_t elf_hash[32];		/* its header's: the ELF's SHA-256 */
	bool from_elf;			/* body was the ELF */
};

/*
 * Takes body (an image or an ELF) for a board whose images run at base
 * and whose slots hold slot_size bytes (0: not known yet).  0, or -1
 * with *code one of "truncated", "not_an_image", "wrong_architecture",
 * "bad_elf", "bad_entry", "oversized" and why filled.
 */
int core1img_parse(const uint8_t *body, size_t len, uint32_t base,
    uint32_t slot_size, struct core1img *, const char **code, char *why,
    size_t whylen);
void core1img_free(struct core1img *);

#endif
