/*
 * The ESP-IDF port of the appcore agent: the platform functions of
 * struct ac_port, the link (USB-Serial-JTAG or UART, never blocking) and
 * the agent task, woken by a 1 ms esp_timer.
 */
#include <errno.h>
#include <string.h>

#include "esp_err.h"
#include "esp_log.h"
#include "esp_mac.h"
#include "esp_ota_ops.h"
#include "esp_partition.h"
#include "esp_random.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "sdkconfig.h"
#if CONFIG_APPCORE_LINK_UART
#include "driver/uart.h"
#else
#include "driver/usb_serial_jtag.h"
#endif

#include "appcore/agent.h"
#include "appcore_esp.h"

/*
 * ESP-IDF's console on USB-Serial-JTAG (primary, or the secondary console
 * that is on by default on the S3) writes log text into the same USB
 * endpoint as the agent's frames: the host would drop them as damaged.
 */
#if CONFIG_APPCORE_LINK_USB_SERIAL_JTAG && \
    (CONFIG_ESP_CONSOLE_USB_SERIAL_JTAG || \
    CONFIG_ESP_CONSOLE_SECONDARY_USB_SERIAL_JTAG)
#error "appcore's link is USB-Serial-JTAG: set the console to UART only (CONFIG_ESP_CONSOLE_UART_DEFAULT=y, CONFIG_ESP_CONSOLE_SECONDARY_NONE=y), or use APPCORE_LINK_UART"
#endif

static const char *TAG = "appcore";
static struct ac_agent s_agent;
static TaskHandle_t s_task;
static esp_timer_handle_t s_tick;

static uint64_t
port_now_us(void *ctx)
{
	(void)ctx;
	return (uint64_t)esp_timer_get_time();
}

static bool s_core1_stalled;	/* by a hang, until a restart */

static int
port_core1_restart(void *ctx)
{
	(void)ctx;
	s_core1_stalled = false;
	return appcore_core1_restart() == ESP_OK ? 0 : -EIO;
}

static int
port_core1_stall(void *ctx, uint32_t *pc, uint32_t *sp)
{
	(void)ctx;
	s_core1_stalled = true;
	return appcore_core1_stall_pcsp(pc, sp) == ESP_OK ? 0 : -EIO;
}

/*
 * Writing or erasing flash turns the cache off, and the ESP32-S3's cache
 * serves both cores; core 1 may be running from flash (its image is
 * mapped from a partition), and with CONFIG_FREERTOS_UNICORE ESP-IDF does
 * not hold it.  So core 1 is stalled around every flash operation on the
 * crash store (they happen only around a crash: freezing, and the clear
 * after delivery, which a restarted core 1 feels as one pause of about
 * one sector erase).
 */
static bool
core1_hold(void)
{
	if (s_core1_stalled)
		return false;
	(void)appcore_core1_stall(true);
	return true;
}

static void
core1_unhold(bool held)
{
	if (held)
		(void)appcore_core1_stall(false);
}

/*
 * The crash store: a data partition.  The agent writes to increasing
 * offsets after a clear, so each 4 KiB sector is erased when a write
 * first reaches it; a clear erases sector 0, which holds the header.
 */
#define STORE_SECTOR	4096u

static const esp_partition_t *s_store;
static const uint8_t *s_store_map;	/* the store through the cache */
static esp_partition_mmap_handle_t s_store_mh;
static uint32_t s_erased_to;	/* bytes from 0 erased since the clear */

static bool core1_hold(void);
static void core1_unhold(bool);

/* Reads go through the mapping, which keeps the cache on (ESP-IDF flushes
 * mapped ranges after a write or erase); without one, core 1 is held. */
static int
port_store_read(void *ctx, uint32_t off, void *buf, uint32_t n)
{
	bool held;
	esp_err_t err;

	(void)ctx;
	if (s_store_map != NULL) {
		memcpy(buf, s_store_map + off, n);
		return 0;
	}
	held = core1_hold();
	err = esp_partition_read(s_store, off, buf, n);
	core1_unhold(held);
	return err == ESP_OK ? 0 : -EIO;
}

static int
port_store_write(void *ctx, uint32_t off, const void *buf, uint32_t n)
{
	bool held = core1_hold();
	esp_err_t err = ESP_OK;

	(void)ctx;
	while (err == ESP_OK && s_erased_to < off + n) {
		err = esp_partition_erase_range(s_store, s_erased_to,
		    STORE_SECTOR);
		if (err == ESP_OK)
			s_erased_to += STORE_SECTOR;
	}
	if (err == ESP_OK)
		err = esp_partition_write(s_store, off, buf, n);
	core1_unhold(held);
	return err == ESP_OK ? 0 : -EIO;
}

static int
port_store_clear(void *ctx)
{
	bool held = core1_hold();
	esp_err_t err = esp_partition_erase_range(s_store, 0, STORE_SECTOR);

	(void)ctx;
	core1_unhold(held);
	if (err != ESP_OK)
		return -EIO;
	s_erased_to = STORE_SECTOR;
	return 0;
}

static struct ac_port s_port = {
	.now_us = port_now_us,
	.core1_restart = port_core1_restart,
	.core1_stall = port_core1_stall,
};

#if CONFIG_APPCORE_CORE1_FROM_PARTITION
/*
 * Core-1 image slots (docs/updates.md): two partitions of the same size,
 * mapped at APPCORE_CORE1_VADDR in turn, and the slot record's partition
 * (copy k in sector k).  Every erase, write and read of flash happens
 * with core 1 stalled: the cache is off meanwhile, and core 1 runs from
 * flash through it.  A 4 KiB sector's erase takes tens to hundreds of ms,
 * which core 1 feels as a pause once per sector of a transfer.
 */
static const esp_partition_t *s_slot[2], *s_slots_rec;

static int
flash_op(esp_err_t (*op)(const esp_partition_t *, size_t, void *, size_t),
    const esp_partition_t *p, uint32_t off, void *buf, uint32_t n)
{
	bool held = core1_hold();
	esp_err_t err = op(p, off, buf, n);

	core1_unhold(held);
	return err == ESP_OK ? 0 : -EIO;
}

static esp_err_t
part_read(const esp_partition_t *p, size_t off, void *buf, size_t n)
{
	return esp_partition_read(p, off, buf, n);
}

static esp_err_t
part_write(const esp_partition_t *p, size_t off, void *buf, size_t n)
{
	return esp_partition_write(p, off, buf, n);
}

static esp_err_t
part_erase(const esp_partition_t *p, size_t off, void *buf, size_t n)
{
	(void)buf;
	return esp_partition_erase_range(p, off, n);
}

static int
port_slot_erase(void *ctx, uint8_t slot, uint32_t off, uint32_t n)
{
	(void)ctx;
	return slot > 1 ? -EINVAL : flash_op(part_erase, s_slot[slot], off,
	    NULL, n);
}

static int
port_slot_write(void *ctx, uint8_t slot, uint32_t off, const void *buf,
    uint32_t n)
{
	(void)ctx;
	return slot > 1 ? -EINVAL : flash_op(part_write, s_slot[slot], off,
	    (void *)(uintptr_t)buf, n);
}

static int
port_slot_read(void *ctx, uint8_t slot, uint32_t off, void *buf, uint32_t n)
{
	(void)ctx;
	return slot > 1 ? -EINVAL : flash_op(part_read, s_slot[slot], off,
	    buf, n);
}

static int
port_rec_read(void *ctx, uint8_t copy, void *buf, uint32_t n)
{
	(void)ctx;
	return copy > 1 ? -EINVAL : flash_op(part_read, s_slots_rec,
	    copy * STORE_SECTOR, buf, n);
}

/* Erase the copy's sector, then write it: the other copy stays whole. */
static int
port_rec_write(void *ctx, uint8_t copy, const void *buf, uint32_t n)
{
	(void)ctx;
	if (copy > 1 || flash_op(part_erase, s_slots_rec, copy * STORE_SECTOR,
	    NULL, STORE_SECTOR) < 0)
		return -EIO;
	return flash_op(part_write, s_slots_rec, copy * STORE_SECTOR,
	    (void *)(uintptr_t)buf, n);
}

/* Core 1 stops, the slot's partition takes the mapping, core 1 starts
 * at the entry its header gives (the agent checked it against the
 * slot record's). */
static int
port_core1_switch(void *ctx, uint8_t slot, const struct ac_slot_info *info)
{
	uint8_t sha[32];
	uint32_t entry;

	(void)ctx;
	if (slot > 1)
		return -EINVAL;
	(void)appcore_core1_stall(true);
	s_core1_stalled = false;
	if (appcore_core1_map(s_slot[slot], &entry, sha) != ESP_OK ||
	    (info->size != 0 && entry != info->entry))
		return -EIO;
	return appcore_core1_boot(entry) == ESP_OK ? 0 : -EIO;
}

/* The slots when both partitions and the record's are there. */
static void
slots_init(void)
{
	static const char *const label[2] = {
		CONFIG_APPCORE_CORE1_PARTITION_LABEL,
		CONFIG_APPCORE_CORE1_B_PARTITION_LABEL,
	};

	if (CONFIG_APPCORE_CORE1_B_PARTITION_LABEL[0] == '\0' ||
	    CONFIG_APPCORE_SLOTS_PARTITION_LABEL[0] == '\0')
		return;
	for (int i = 0; i < 2; i++)
		s_slot[i] = esp_partition_find_first(ESP_PARTITION_TYPE_ANY,
		    ESP_PARTITION_SUBTYPE_ANY, label[i]);
	s_slots_rec = esp_partition_find_first(ESP_PARTITION_TYPE_DATA,
	    ESP_PARTITION_SUBTYPE_ANY, CONFIG_APPCORE_SLOTS_PARTITION_LABEL);
	if (s_slot[0] == NULL || s_slot[1] == NULL || s_slots_rec == NULL ||
	    s_slots_rec->size < 2 * STORE_SECTOR) {
		ESP_LOGW(TAG, "no core-1 image slots (partitions \"%s\", \"%s\" "
		    "and \"%s\" of 8 KiB): updates are off", label[0], label[1],
		    CONFIG_APPCORE_SLOTS_PARTITION_LABEL);
		return;
	}
	s_port.slot_size = s_slot[0]->size < s_slot[1]->size ?
	    s_slot[0]->size : s_slot[1]->size;
	s_port.image_base = CONFIG_APPCORE_CORE1_VADDR;
	s_port.slot_erase = port_slot_erase;
	s_port.slot_write = port_slot_write;
	s_port.slot_read = port_slot_read;
	s_port.rec_read = port_rec_read;
	s_port.rec_write = port_rec_write;
	s_port.core1_switch = port_core1_switch;
}

/* After the agent read the slot record: the slot core 1 boots (the
 * agent reports that slot's image hash itself). */
static esp_err_t
slots_boot(uint32_t *entry)
{
	const struct ac_slot_info *info;
	uint8_t slot, sha[32];
	esp_err_t err;

	if ((info = ac_agent_core1_slot(&s_agent, &slot)) == NULL ||
	    slot == 0)
		return ESP_OK;	/* slot A, mapped already */
	if ((err = appcore_core1_map(s_slot[slot], entry, sha)) != ESP_OK)
		return err;
	return info->size != 0 && *entry != info->entry ?
	    ESP_ERR_INVALID_RESPONSE : ESP_OK;
}
#endif

/* ---- the link: both directions non-blocking ---- */

#if CONFIG_APPCORE_LINK_UART
static esp_err_t
link_init(void)
{
	const uart_config_t cfg = {
		.baud_rate = CONFIG_APPCORE_UART_BAUD,
		.data_bits = UART_DATA_8_BITS,
		.parity = UART_PARITY_DISABLE,
		.stop_bits = UART_STOP_BITS_1,
		.flow_ctrl = UART_HW_FLOWCTRL_DISABLE,
		.source_clk = UART_SCLK_DEFAULT,
	};
	esp_err_t err;

	if ((err = uart_driver_install(CONFIG_APPCORE_UART_NUM, 1024, 8192, 0,
	    NULL, 0)) != ESP_OK ||
	    (err = uart_param_config(CONFIG_APPCORE_UART_NUM, &cfg)) != ESP_OK)
		return err;
	return uart_set_pin(CONFIG_APPCORE_UART_NUM, CONFIG_APPCORE_UART_TX_PIN,
	    CONFIG_APPCORE_UART_RX_PIN, UART_PIN_NO_CHANGE, UART_PIN_NO_CHANGE);
}

static size_t
link_write(const uint8_t *p, size_t n)
{
	size_t room = 0;
	int w;

	if (uart_get_tx_buffer_free_size(CONFIG_APPCORE_UART_NUM, &room) !=
	    ESP_OK || room == 0)
		return 0;
	w = uart_write_bytes(CONFIG_APPCORE_UART_NUM, p, n < room ? n : room);
	return w > 0 ? (size_t)w : 0;
}

static size_t
link_read(uint8_t *p, size_t cap)
{
	int n = uart_read_bytes(CONFIG_APPCORE_UART_NUM, p, cap, 0);

	return n > 0 ? (size_t)n : 0;
}
#else
static esp_err_t
link_init(void)
{
	usb_serial_jtag_driver_config_t cfg = {
		.tx_buffer_size = 8192,
		.rx_buffer_size = 512,
	};

	return usb_serial_jtag_driver_install(&cfg);
}

/* With no host attached the driver keeps nothing: bytes are lost there,
 * not in the agent, which is what a UART does too. */
static size_t
link_write(const uint8_t *p, size_t n)
{
	int w = usb_serial_jtag_write_bytes(p, n, 0);

	return w > 0 ? (size_t)w : 0;
}

static size_t
link_read(uint8_t *p, size_t cap)
{
	int n = usb_serial_jtag_read_bytes(p, cap, 0);

	return n > 0 ? (size_t)n : 0;
}
#endif

/* ---- the task ---- */

static void
tick(void *arg)
{
	(void)arg;
	xTaskNotifyGive(s_task);
}

static void
agent_task(void *arg)
{
	uint8_t rx[128];

	(void)arg;
	for (;;) {
		const uint8_t *p;
		size_t n, got;
		uint64_t next = ac_agent_poll(&s_agent);

		while ((p = ac_agent_tx_peek(&s_agent, &n)) != NULL) {
			size_t w = link_write(p, n);

			ac_agent_tx_consume(&s_agent, w);
			if (w < n)
				break;	/* the link is full: next tick */
		}
		while ((got = link_read(rx, sizeof(rx))) > 0)
			ac_agent_rx(&s_agent, rx, got);
		/* The 1 ms tick wakes us; sleep longer when nothing is due. */
		if (next > (uint64_t)esp_timer_get_time() + 1000)
			ulTaskNotifyTake(pdTRUE, pdMS_TO_TICKS(
			    (next - (uint64_t)esp_timer_get_time()) / 1000) + 1);
		else
			ulTaskNotifyTake(pdTRUE, 1);
	}
}

esp_err_t
appcore_start(uint32_t entry)
{
	struct ac_agent_cfg cfg;
	const esp_timer_create_args_t targs = { .callback = tick,
	    .name = "appcore" };
	esp_err_t err;
	uint32_t boot[2];

	ac_agent_cfg_defaults(&cfg);
	cfg.rate_hz = CONFIG_APPCORE_SAMPLE_RATE_HZ;
	cfg.hang_timeout_ms = CONFIG_APPCORE_HANG_TIMEOUT_MS;
	cfg.region_base = CONFIG_APPCORE_REGION_BASE;
	/* SEGGER RTT: the same address for the agent and for core 1. */
	cfg.rtt_mem = (void *)CONFIG_APPCORE_RTT_BASE;
	cfg.rtt_addr = CONFIG_APPCORE_RTT_BASE;
	cfg.rtt_size = CONFIG_APPCORE_RTT_BASE != 0 ? CONFIG_APPCORE_RTT_SIZE :
	    0;
#if CONFIG_APPCORE_RESTART_ALWAYS
	cfg.restart = AC_RESTART_ALWAYS;
#elif CONFIG_APPCORE_RESTART_LIMIT
	cfg.restart = AC_RESTART_LIMIT;
	cfg.restart_max = CONFIG_APPCORE_RESTART_MAX_PER_HOUR;
#endif
	/* The core-1 image is mapped first: before ESP-IDF 6.1 the MMU
	 * driver gives it the first free range (core1_boot.c). */
#if CONFIG_APPCORE_CORE1_FROM_PARTITION
	if ((err = appcore_core1_load(&entry, cfg.image_hash)) != ESP_OK)
		return err;
#else
	/* A linked-in core-1 program is part of the running application. */
	esp_partition_get_sha256(esp_ota_get_running_partition(),
	    cfg.image_hash);
#endif
	/* A crash store outlives resets; without one, dumps are sent from
	 * the region and core 1 restarts only once a host has its dump. */
	if (CONFIG_APPCORE_CRASH_PARTITION_LABEL[0] != '\0' &&
	    (s_store = esp_partition_find_first(ESP_PARTITION_TYPE_DATA,
	    ESP_PARTITION_SUBTYPE_ANY,
	    CONFIG_APPCORE_CRASH_PARTITION_LABEL)) != NULL) {
		const void *map;

		if (esp_partition_mmap(s_store, 0, s_store->size,
		    ESP_PARTITION_MMAP_DATA, &map, &s_store_mh) == ESP_OK)
			s_store_map = map;
		s_port.store_size = s_store->size;
		s_port.store_read = port_store_read;
		s_port.store_write = port_store_write;
		s_port.store_clear = port_store_clear;
	} else if (CONFIG_APPCORE_CRASH_PARTITION_LABEL[0] != '\0')
		ESP_LOGW(TAG, "no data partition \"%s\": crashes are not kept "
		    "across resets", CONFIG_APPCORE_CRASH_PARTITION_LABEL);
#if CONFIG_APPCORE_CORE1_FROM_PARTITION
	slots_init();
#endif
	if ((err = esp_efuse_mac_get_default(cfg.device_id)) != ESP_OK)
		return err;
	cfg.device_id_len = 6;
	boot[0] = esp_random();
	boot[1] = esp_random();
	memcpy(&cfg.boot_id, boot, sizeof(boot));
	/* Core 1 lays the region out itself (ac_core1_init); the agent
	 * reports OFF until it does. */
	memset((void *)CONFIG_APPCORE_REGION_BASE, 0, sizeof(struct ac_header));
	if (ac_agent_init(&s_agent, &cfg, &s_port,
	    (void *)CONFIG_APPCORE_REGION_BASE, CONFIG_APPCORE_REGION_SIZE) != 0)
		return ESP_ERR_INVALID_ARG;
#if CONFIG_APPCORE_CORE1_FROM_PARTITION
	/* The slot record may name slot B (or have rolled back from it). */
	if (s_port.core1_switch != NULL &&
	    (err = slots_boot(&entry)) != ESP_OK)
		return err;
#endif
	if ((err = link_init()) != ESP_OK)
		return err;
	if (xTaskCreatePinnedToCore(agent_task, "appcore",
	    CONFIG_APPCORE_TASK_STACK, NULL, CONFIG_APPCORE_TASK_PRIORITY,
	    &s_task, 0) != pdPASS)
		return ESP_ERR_NO_MEM;
	if ((err = esp_timer_create(&targs, &s_tick)) != ESP_OK ||
	    (err = esp_timer_start_periodic(s_tick, 1000)) != ESP_OK)
		return err;
	if ((err = appcore_core1_boot(entry)) != ESP_OK)
		return err;
	ESP_LOGI(TAG, "agent %s: %u Hz, region 0x%08x + %u", AC_AGENT_VERSION,
	    (unsigned)cfg.rate_hz, (unsigned)CONFIG_APPCORE_REGION_BASE,
	    (unsigned)CONFIG_APPCORE_REGION_SIZE);
	return ESP_OK;
}
