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

#ifdef __cplusplus
}
#endif
