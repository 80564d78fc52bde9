/*
 * Core 0 of the exception test (exceptions.sh): starts core 1 (CPU 1) on
 * core1_main with its stack at the end of the shared region, waits until
 * core 1's state is PANICKED, and prints the panic record for the test to
 * compare with what QEMU saw at the fault.  Exit 0, or 1 if core 1 never
 * panicked.
 */
#include <stdint.h>
#include <string.h>

#include "appcore/region.h"
#include "semihost.h"

#define REGION_SIZE	0x8000u

extern uint32_t ac_boot_core1[2];
void core1_main(void);
_Alignas(64) uint8_t shared_region[REGION_SIZE];

static char *
put_hex(char *s, uint32_t v)
{
	static const char digits[] = "0123456789abcdef";

	*s++ = '0';
	*s++ = 'x';
	for (int i = 28; i >= 0; i -= 4)
		*s++ = digits[(v >> i) & 15];
	return s;
}

static char *
put_str(char *s, const char *t)
{
	size_t n = strlen(t);

	memcpy(s, t, n);
	return s + n;
}

static char *
field(char *s, const char *name, uint32_t v)
{
	s = put_str(s, name);
	*s++ = ' ';
	s = put_hex(s, v);
	*s++ = '\n';
	return s;
}

int main(void);

int
main(void)
{
	const struct ac_region *r = (const struct ac_region *)(void *)
	    shared_region;
	const volatile struct ac_panic_record *p = &r->panic;
	static char out[2048];
	char *s = out, name[8] = "a";

	ac_boot_core1[1] = (uint32_t)(uintptr_t)(shared_region + REGION_SIZE);
	__asm__ volatile ("memw" : : : "memory");
	ac_boot_core1[0] = (uint32_t)(uintptr_t)core1_main;
	for (uint32_t spins = 0; ; spins++) {
		__asm__ volatile ("memw" : : : "memory");
		if (*(const volatile uint32_t *)&r->core1.state ==
		    AC_STATE_PANICKED && (p->seq & 1u) == 0)
			break;
		if (spins > 200000000u)
			return 1;
	}
	s = field(s, "reason", p->reason);
	s = field(s, "exccause", p->exccause);
	s = field(s, "pc", p->pc);
	s = field(s, "excvaddr", p->excvaddr);
	s = field(s, "ps", p->ps);
	s = field(s, "sp", p->sp);
	s = field(s, "sar", p->sar);
	for (int i = 0; i < 16; i++) {
		name[1] = (char)(i < 10 ? '0' + i : '1');
		name[2] = (char)(i < 10 ? '\0' : '0' + i - 10);
		name[3] = '\0';
		s = field(s, name, p->ar[i]);
	}
	for (uint32_t i = 0; i < p->bt_count && i < AC_BT_MAX; i++)
		s = field(s, "bt", p->bt[i]);
	s = put_str(s, "msg ");
	for (uint32_t i = 0; i < AC_PANIC_MSG_LEN && p->msg[i] != '\0'; i++)
		*s++ = p->msg[i];
	*s++ = '\n';
	return sh_write_all(1, out, (size_t)(s - out)) < 0;
}
