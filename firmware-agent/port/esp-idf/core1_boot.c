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
#include "esp_idf_version.h"
#include "esp_mmu_map.h"
#include "hal/mmu_types.h"
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

/*
 * Core 1 leaves reset in the ROM, which runs on the APP CPU's ROM stack
 * (SOC_ROM_STACK_START, 8 KiB below 0x3FCED710) before it jumps to the
 * boot address.  ESP-IDF gives that stack to the heap once app_main runs
 * ("startup stacks", heap/port/esp32s3/memory_layout.c), and core 1 is
 * started (and restarted) long after: the ROM would write into heap
 * blocks.  So it stays out of the heap.
 */
SOC_RESERVE_MEMORY_REGION(SOC_ROM_STACK_START, SOC_ROM_STACK_START +
    SOC_ROM_STACK_SIZE, appcore_app_rom_stack);
_Static_assert(REGION_END <= SOC_ROM_STACK_START - SOC_ROM_STACK_SIZE ||
    CONFIG_APPCORE_REGION_BASE >= SOC_ROM_STACK_START + SOC_ROM_STACK_SIZE,
    "the shared region overlaps the ROM stacks");

static const char *TAG = "appcore";

/* Read by core1_trampoline.S: {stack top, entry}. */
DRAM_ATTR uint32_t appcore_core1_boot_args[2];
static uint32_t s_entry;

extern void appcore_core1_trampoline(void);

/* ASSIST_DEBUG records core 1's PC and SP as it runs, read when it hangs
 * (appcore_core1_stall_pcsp).  Its clock is off and the block held in
 * reset until someone enables them (ESP-IDF does it only for the
 * bootloader's reset-reason record of core 0). */
static void
core1_record_pcsp(void)
{
	SET_PERI_REG_MASK(SYSTEM_CPU_PERI_CLK_EN_REG,
	    SYSTEM_CLK_EN_ASSIST_DEBUG);
	CLEAR_PERI_REG_MASK(SYSTEM_CPU_PERI_RST_EN_REG,
	    SYSTEM_RST_EN_ASSIST_DEBUG);
	REG_WRITE(ASSIST_DEBUG_CORE_1_RCD_PDEBUGENABLE_REG,
	    ASSIST_DEBUG_CORE_1_RCD_PDEBUGENABLE);
	REG_WRITE(ASSIST_DEBUG_CORE_1_RCD_RECORDING_REG,
	    ASSIST_DEBUG_CORE_1_RCD_RECORDING);
}

/* CLKGATE on, RUNSTALL off, pulse RESETING: core 1 starts in the ROM,
 * which jumps to the boot address. */
static void
core1_release(void)
{
	appcore_core1_boot_args[0] = REGION_END;
	appcore_core1_boot_args[1] = s_entry;
	ets_set_appcpu_boot_addr((uint32_t)appcore_core1_trampoline);
	core1_record_pcsp();
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
	*sp = REG_READ(ASSIST_DEBUG_CORE_1_RCD_SP_REG);
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
/*
 * The core-1 image is mapped through ESP-IDF's MMU driver, which then
 * owns the entries: a later esp_partition_mmap() or esp_mmu_map() cannot
 * be given the same pages.  From ESP-IDF 6.1 the driver maps at the
 * address the image is linked for; before, it picks the first free range,
 * which must be that address (map the image before anything else, as
 * appcore_start does; the log says where to link otherwise).
 */
static esp_err_t
map_image(const esp_partition_t *p, const void **out)
{
	const mmu_mem_caps_t caps = MMU_MEM_CAP_EXEC | MMU_MEM_CAP_READ |
	    MMU_MEM_CAP_32BIT;
	void *ptr = NULL;
	esp_err_t err;

#if ESP_IDF_VERSION >= ESP_IDF_VERSION_VAL(6, 1, 0)
	err = esp_mmu_map_virt(CONFIG_APPCORE_CORE1_VADDR, p->address, p->size,
	    MMU_TARGET_FLASH0, caps, 0, &ptr);
#else
	err = esp_mmu_map(p->address, p->size, MMU_TARGET_FLASH0, caps, 0,
	    &ptr);
#endif
	if (err == ESP_OK && (uint32_t)ptr != CONFIG_APPCORE_CORE1_VADDR) {
		ESP_LOGE(TAG, "the core-1 partition mapped at %p, not at "
		    "0x%08x: link the core-1 program for %p and set "
		    "APPCORE_CORE1_VADDR to it", ptr,
		    (unsigned)CONFIG_APPCORE_CORE1_VADDR, ptr);
		(void)esp_mmu_unmap(ptr);
		return ESP_ERR_INVALID_STATE;
	}
	if (err != ESP_OK)
		ESP_LOGE(TAG, "cannot map the core-1 partition (%lu bytes) at "
		    "0x%08x: %s", (unsigned long)p->size,
		    (unsigned)CONFIG_APPCORE_CORE1_VADDR, esp_err_to_name(err));
	*out = ptr;
	return err;
}

static const void *s_map;	/* the slot mapped now, or NULL */

/*
 * Maps a core-1 partition at APPCORE_CORE1_VADDR, in place of the one
 * mapped before (a slot switch: core 1 is stalled by then, and its old
 * mapping is given back first so that the MMU driver can hand out the
 * same range again before ESP-IDF 6.1).
 */
esp_err_t
appcore_core1_map(const void *part, uint32_t *entry, uint8_t sha256[32])
{
	const esp_partition_t *p = part;
	const volatile struct appcore_core1_header *h;
	const void *map;
	esp_err_t err;

	if (p->address % 0x10000 != 0 || CONFIG_APPCORE_CORE1_VADDR % 0x10000 !=
	    0)
		return ESP_ERR_INVALID_ARG;
	if (s_map != NULL) {
		(void)esp_mmu_unmap((void *)s_map);
		s_map = NULL;
	}
	if ((err = esp_partition_get_sha256(p, sha256)) != ESP_OK)
		memset(sha256, 0, 32);
	if ((err = map_image(p, &map)) != ESP_OK)
		return err;
	s_map = map;
	h = (const volatile struct appcore_core1_header *)map;
	*entry = h->entry;
	if (h->magic == APPCORE_CORE1_MAGIC)	/* the ELF's hash */
		for (int i = 0; i < 32; i++)
			sha256[i] = h->elf_sha256[i];
	if (*entry < (uint32_t)map || *entry >= (uint32_t)map + p->size) {
		ESP_LOGE(TAG, "core-1 entry 0x%08lx is outside its image",
		    (unsigned long)*entry);
		return ESP_ERR_INVALID_RESPONSE;
	}
	ESP_LOGI(TAG, "core-1 image %s: %lu bytes at flash 0x%08lx -> %p",
	    p->label, (unsigned long)p->size, (unsigned long)p->address, map);
	return ESP_OK;
}

esp_err_t
appcore_core1_load(uint32_t *entry, uint8_t sha256[32])
{
	const esp_partition_t *p;

	p = esp_partition_find_first(ESP_PARTITION_TYPE_ANY,
	    ESP_PARTITION_SUBTYPE_ANY, CONFIG_APPCORE_CORE1_PARTITION_LABEL);
	if (p == NULL) {
		ESP_LOGE(TAG, "no partition labelled \"%s\"",
		    CONFIG_APPCORE_CORE1_PARTITION_LABEL);
		return ESP_ERR_NOT_FOUND;
	}
	return appcore_core1_map(p, entry, sha256);
}
#else
esp_err_t
appcore_core1_load(uint32_t *entry, uint8_t sha256[32])
{
	(void)entry;
	(void)sha256;
	return ESP_ERR_NOT_SUPPORTED;
}

esp_err_t
appcore_core1_map(const void *p, uint32_t *entry, uint8_t sha256[32])
{
	(void)p;
	(void)entry;
	(void)sha256;
	return ESP_ERR_NOT_SUPPORTED;
}
#endif
