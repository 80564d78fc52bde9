/*
 * Core 1 under core 0's control on the ESP32-S3: reserve the shared region,
 * map the core-1 image, start, stall and reset the second core.
 * Written against ESP-IDF v5.1+; see docs/porting.md for what was verified.
 */
#include <string.h>

#include "esp_attr.h"
#include "esp_cpu.h"
#include "esp_err.h"
#include "esp_log.h"
#include "esp_partition.h"
#include "heap_memory_layout.h"
#include "hal/mmu_hal.h"
#include "hal/mmu_types.h"
#include "esp32s3/rom/cache.h"
#include "esp32s3/rom/ets_sys.h"
#include "soc/assist_debug_reg.h"
#include "soc/system_reg.h"
#include "soc/soc.h"
#include "sdkconfig.h"

#include "appcore/region.h"
#include "appcore_esp.h"

#define REGION_END	(CONFIG_APPCORE_REGION_BASE + CONFIG_APPCORE_REGION_SIZE)

_Static_assert(CONFIG_APPCORE_REGION_SIZE >= sizeof(struct ac_region),
    "the shared region is smaller than layout 1's fixed part");
_Static_assert(CONFIG_APPCORE_REGION_BASE % 16 == 0, "region alignment");

/* Keep the heap off the shared region. */
SOC_RESERVE_MEMORY_REGION(CONFIG_APPCORE_REGION_BASE, REGION_END,
    appcore_region);

static const char *TAG = "appcore";

/* Read by core1_trampoline.S: {stack top, entry}. */
DRAM_ATTR uint32_t appcore_core1_boot_args[2];
static uint32_t s_entry;

extern void appcore_core1_trampoline(void);

/* CLKGATE on, RUNSTALL off, pulse RESETING: core 1 starts in the ROM,
 * which jumps to the boot address. */
static void
core1_release(void)
{
	appcore_core1_boot_args[0] = REGION_END;
	appcore_core1_boot_args[1] = s_entry;
	ets_set_appcpu_boot_addr((uint32_t)appcore_core1_trampoline);
	/* ASSIST_DEBUG records core 1's PC and SP as it runs: read when it
	 * hangs (appcore_core1_stall_pcsp). */
	REG_WRITE(ASSIST_DEBUG_CORE_1_RCD_EN_REG,
	    ASSIST_DEBUG_CORE_1_RCD_RECORDEN | ASSIST_DEBUG_CORE_1_RCD_PDEBUGEN);
	esp_cpu_unstall(1);
	SET_PERI_REG_MASK(SYSTEM_CORE_1_CONTROL_0_REG,
	    SYSTEM_CONTROL_CORE_1_CLKGATE_EN);
	CLEAR_PERI_REG_MASK(SYSTEM_CORE_1_CONTROL_0_REG,
	    SYSTEM_CONTROL_CORE_1_RUNSTALL);
	SET_PERI_REG_MASK(SYSTEM_CORE_1_CONTROL_0_REG,
	    SYSTEM_CONTROL_CORE_1_RESETING);
	CLEAR_PERI_REG_MASK(SYSTEM_CORE_1_CONTROL_0_REG,
	    SYSTEM_CONTROL_CORE_1_RESETING);
}

esp_err_t
appcore_core1_boot(uint32_t entry)
{
	if (entry == 0)
		return ESP_ERR_INVALID_ARG;
	s_entry = entry;
	core1_release();
	ESP_LOGI(TAG, "core 1 started at 0x%08lx, stack top 0x%08lx",
	    (unsigned long)entry, (unsigned long)REGION_END);
	return ESP_OK;
}

esp_err_t
appcore_core1_stall(bool stall)
{
	if (stall)
		esp_cpu_stall(1);
	else
		esp_cpu_unstall(1);
	return ESP_OK;
}

/* Stall a hung core 1 so its memory stops changing, and read the last PC
 * and SP the ASSIST_DEBUG record holds. */
esp_err_t
appcore_core1_stall_pcsp(uint32_t *pc, uint32_t *sp)
{
	if (s_entry == 0)
		return ESP_ERR_INVALID_STATE;
	esp_cpu_stall(1);
	*pc = REG_READ(ASSIST_DEBUG_CORE_1_RCD_PDEBUGPC_REG);
	*sp = REG_READ(ASSIST_DEBUG_CORE_1_RCD_PDEBUGSP_REG);
	return ESP_OK;
}

/* Hold core 1 in reset, then start it from its entry again.  The shared
 * region is left as it is: core 1's ac_core1_init() starts a new
 * generation. */
esp_err_t
appcore_core1_restart(void)
{
	if (s_entry == 0)
		return ESP_ERR_INVALID_STATE;
	SET_PERI_REG_MASK(SYSTEM_CORE_1_CONTROL_0_REG,
	    SYSTEM_CONTROL_CORE_1_RUNSTALL);
	SET_PERI_REG_MASK(SYSTEM_CORE_1_CONTROL_0_REG,
	    SYSTEM_CONTROL_CORE_1_RESETING);
	core1_release();
	return ESP_OK;
}

#if CONFIG_APPCORE_CORE1_FROM_PARTITION
esp_err_t
appcore_core1_load(uint32_t *entry, uint8_t sha256[32])
{
	const esp_partition_t *p;
	uint32_t vaddr = CONFIG_APPCORE_CORE1_VADDR, mapped = 0, paddr;
	mmu_target_t target;
	esp_err_t err;

	p = esp_partition_find_first(ESP_PARTITION_TYPE_ANY,
	    ESP_PARTITION_SUBTYPE_ANY, CONFIG_APPCORE_CORE1_PARTITION_LABEL);
	if (p == NULL) {
		ESP_LOGE(TAG, "no partition labelled \"%s\"",
		    CONFIG_APPCORE_CORE1_PARTITION_LABEL);
		return ESP_ERR_NOT_FOUND;
	}
	if (p->address % 0x10000 != 0 || vaddr % 0x10000 != 0)
		return ESP_ERR_INVALID_ARG;
	/* The range must not already hold a mapping of core 0's. */
	if (mmu_hal_vaddr_to_paddr(0, vaddr, &paddr, &target)) {
		ESP_LOGE(TAG, "0x%08lx is already mapped: the core-0 image "
		    "reaches it", (unsigned long)vaddr);
		return ESP_ERR_INVALID_STATE;
	}
	if ((err = esp_partition_get_sha256(p, sha256)) != ESP_OK)
		memset(sha256, 0, 32);
	mmu_hal_map_region(0, MMU_TARGET_FLASH0, vaddr, p->address, p->size,
	    &mapped);
	Cache_Invalidate_Addr(vaddr, mapped);
	{
		const volatile struct appcore_core1_header *h =
		    (const volatile struct appcore_core1_header *)vaddr;

		*entry = h->entry;
		if (h->magic == APPCORE_CORE1_MAGIC)	/* the ELF's hash */
			for (int i = 0; i < 32; i++)
				sha256[i] = h->elf_sha256[i];
	}
	if (*entry < vaddr || *entry >= vaddr + p->size) {
		ESP_LOGE(TAG, "core-1 entry 0x%08lx is outside its image",
		    (unsigned long)*entry);
		return ESP_ERR_INVALID_RESPONSE;
	}
	ESP_LOGI(TAG, "core-1 image: %lu bytes at flash 0x%08lx -> 0x%08lx",
	    (unsigned long)p->size, (unsigned long)p->address,
	    (unsigned long)vaddr);
	return ESP_OK;
}
#else
esp_err_t
appcore_core1_load(uint32_t *entry, uint8_t sha256[32])
{
	(void)entry;
	(void)sha256;
	return ESP_ERR_NOT_SUPPORTED;
}
#endif
