/*
 * appcore on ESP-IDF: core 0 runs the agent task, core 1 runs a bare-metal
 * program that publishes into the shared region through appcore/core1.h.
 * Build with CONFIG_FREERTOS_UNICORE=y so FreeRTOS stays off core 1.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The first bytes of a core-1 image in its partition: its entry address,
 * then, once firmware-agent/tools/core1_image.py has stamped the binary,
 * a magic and the SHA-256 of the ELF it was made from.  That hash is the
 * image hash the agent reports, so the host matches the ELF a user
 * uploads to crashes (docs/crash-dumps.md).  Unstamped images report the
 * partition's SHA-256 instead.
 */
#define APPCORE_CORE1_MAGIC	0x49314341u	/* "AC1I" */

struct appcore_core1_header {
	uint32_t entry;
	uint32_t magic;
	uint8_t elf_sha256[32];
};

/*
 * Starts core 1 and the agent task.  With
 * CONFIG_APPCORE_CORE1_FROM_PARTITION, entry is ignored and the image is
 * mapped from its partition; otherwise entry is a linked-in core-1 entry
 * point (a function that never returns).
 */
esp_err_t appcore_start(uint32_t entry);

/* Core-1 control, also used by the agent for host commands. */
esp_err_t appcore_core1_boot(uint32_t entry);
esp_err_t appcore_core1_stall(bool stall);
/* Stall core 1 and read its last PC/SP (ASSIST_DEBUG record). */
esp_err_t appcore_core1_stall_pcsp(uint32_t *pc, uint32_t *sp);
esp_err_t appcore_core1_restart(void);
/* Maps the core-1 partition and returns its entry address. */
esp_err_t appcore_core1_load(uint32_t *entry, uint8_t sha256[32]);
/* Maps partition p (const esp_partition_t *) at APPCORE_CORE1_VADDR in
 * place of the one mapped before, and returns its entry and image hash
 * (docs/updates.md: the slot switch). */
esp_err_t appcore_core1_map(const void *p, uint32_t *entry,
    uint8_t sha256[32]);

#ifdef __cplusplus
}
#endif
