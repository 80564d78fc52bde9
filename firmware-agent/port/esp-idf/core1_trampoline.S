/*
 * Core 1 leaves the ROM here (ets_set_appcpu_boot_addr).  It takes its
 * stack pointer and entry point from appcore_core1_boot_args, clears a0 so
 * backtraces end here, and jumps in.  The entry never returns.
 */
	.section .iram1.appcore_trampoline, "ax"
	.global appcore_core1_trampoline
	.type	appcore_core1_trampoline, @function
	.align	4
appcore_core1_trampoline:
	movi	a2, appcore_core1_boot_args
	l32i	a1, a2, 0		/* stack top: end of the shared region */
	l32i	a3, a2, 4		/* entry */
	movi	a0, 0
	jx	a3
	.size	appcore_core1_trampoline, . - appcore_core1_trampoline
