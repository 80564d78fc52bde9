/* Every core-1 API function, compiled as bare-metal core-1 code would be. */
#include "appcore/core1.h"

void core1_example(void *base);

void
core1_example(void *base)
{
	static const uint32_t bt[2] = { 0x42000010u, 0x42000020u };
	struct ac_region *r = ac_core1_init(base, AC_REGION_DEFAULT_SIZE);
	struct ac_panic_info pi = { .reason = AC_PANIC_ASSERT, .file = "a.c",
	    .line = 1, .msg = "m", .bt = bt, .bt_count = 2 };

	if (r == NULL)
		return;
	(void)ac_counter_register(r, 0, "frames", "frames", AC_KIND_COUNTER, 0);
	(void)ac_counter_register(r, 1, "level", "cB", AC_KIND_GAUGE,
	    AC_FLAG_SIGNED);
	ac_set_running(r);
	ac_counter_add(r, 0, 48);
	ac_counter_set(r, 1, (uint32_t)-200);
	ac_heartbeat(r);
	ac_log(r, AC_LOG_INFO, 0, "hello from core 1");
	ac_panic_record(r, &pi);
}
