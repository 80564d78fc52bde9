#!/bin/bash
# Compile-checks this port against an ESP-IDF tree's headers, for the
# ESP32-S3, with Debian's xtensa-lx106-elf-gcc (-fsyntax-only: no
# Espressif toolchain or ESP-IDF build here; docs/porting.md says what
# this proves and what it does not).
# usage: check_headers.sh IDF_PATH
set -eu
idf=${1:?usage: check_headers.sh IDF_PATH}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Every include directory that is not another target's or a test's, plus
# the S3's own and the non-SMP FreeRTOS for Xtensa.
others='/(esp32|esp32s2|esp32s31|esp32c[0-9]+|esp32h[0-9]+|esp32p4|linux|riscv|test|test_apps|host_test|FreeRTOS-Kernel-SMP)(/|$)'
flags="-I$work"
while read -r d; do
	flags="$flags -I$d"
done < <(find "$idf/components" -type d \( -name include -o -name platform_include \) |
    grep -vE "$others" | sort)
for d in soc/esp32s3/register esp_rom/esp32s3 \
    freertos/FreeRTOS-Kernel/portable/xtensa/include/freertos \
    freertos/config/include/freertos; do
	flags="$flags -I$idf/components/$d"
done
cat > "$work/sdkconfig.h" <<'CFG'
/* Just what the port's headers ask for: an ESP32-S3, unicore FreeRTOS,
 * the console on UART only, appcore's defaults. */
#define CONFIG_IDF_TARGET "esp32s3"
#define CONFIG_IDF_TARGET_ESP32S3 1
#define CONFIG_IDF_TARGET_ARCH_XTENSA 1
#define CONFIG_FREERTOS_UNICORE 1
#define CONFIG_FREERTOS_NUMBER_OF_CORES 1
#define CONFIG_FREERTOS_HZ 1000
#define CONFIG_FREERTOS_MAX_TASK_NAME_LEN 16
#define CONFIG_FREERTOS_TIMER_TASK_PRIORITY 1
#define CONFIG_FREERTOS_TIMER_TASK_STACK_DEPTH 2048
#define CONFIG_FREERTOS_TIMER_QUEUE_LENGTH 10
#define CONFIG_FREERTOS_QUEUE_REGISTRY_SIZE 0
#define CONFIG_FREERTOS_TASK_NOTIFICATION_ARRAY_ENTRIES 1
#define CONFIG_FREERTOS_IDLE_TASK_STACKSIZE 1536
#define CONFIG_FREERTOS_ISR_STACKSIZE 1536
#define CONFIG_FREERTOS_THREAD_LOCAL_STORAGE_POINTERS 1
#define CONFIG_FREERTOS_CHECK_STACKOVERFLOW_CANARY 1
#define CONFIG_LOG_DEFAULT_LEVEL 3
#define CONFIG_LOG_MAXIMUM_LEVEL 3
#define CONFIG_LOG_VERSION_1 1
#define CONFIG_LOG_VERSION 1
#define CONFIG_LOG_TIMESTAMP_SOURCE_RTOS 1
#define CONFIG_ESP_CONSOLE_UART_DEFAULT 1
#define CONFIG_ESP_CONSOLE_UART 1
#define CONFIG_ESP_CONSOLE_UART_NUM 0
#define CONFIG_SPI_FLASH_MMAP 1
#define CONFIG_APPCORE_REGION_BASE 0x3FCC9710
#define CONFIG_APPCORE_REGION_SIZE 0x20000
#define CONFIG_APPCORE_RTT_BASE 0x3FCCD310
#define CONFIG_APPCORE_RTT_SIZE 0x1C400
#define CONFIG_APPCORE_SAMPLE_RATE_HZ 1000
#define CONFIG_APPCORE_HANG_TIMEOUT_MS 1000
#define CONFIG_APPCORE_CRASH_PARTITION_LABEL "appcore_crash"
#define CONFIG_APPCORE_RESTART_NEVER 1
#define CONFIG_APPCORE_LINK_USB_SERIAL_JTAG 1
#define CONFIG_APPCORE_CORE1_FROM_PARTITION 1
#define CONFIG_APPCORE_CORE1_PARTITION_LABEL "core1"
#define CONFIG_APPCORE_CORE1_B_PARTITION_LABEL "core1_b"
#define CONFIG_APPCORE_SLOTS_PARTITION_LABEL "appcore_slots"
#define CONFIG_APPCORE_CORE1_VADDR 0x42400000
#define CONFIG_APPCORE_TASK_PRIORITY 10
#define CONFIG_APPCORE_TASK_STACK 4096
CFG
rc=0
for f in appcore_port.c core1_boot.c; do
	if xtensa-lx106-elf-gcc -std=gnu17 -DESP_PLATFORM -fsyntax-only -Wall \
	    -Wextra -Werror -I"$here/../../include" -I"$here/include" $flags \
	    "$here/$f"; then
		echo "ok - $f compiles against $idf"
	else
		echo "not ok - $f"
		rc=1
	fi
done
exit $rc
