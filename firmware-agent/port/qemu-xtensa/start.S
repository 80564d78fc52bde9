/*
 * Start code for bare-metal programs on QEMU's Xtensa (-cpu lx106, call0
 * ABI).  QEMU starts every CPU at the reset vector, 0x50000000, with
 * PS.EXCM set (../shared/notes/xtensa-qemu.md).  CPU 0 (PRID 0) plays
 * core 0: a stack, a clean PS, .bss zeroed, main, and main's result to
 * the host as the exit status (semihosting SYS_exit).  CPU 1 (with
 * -smp 2) plays core 1 as the S3's ROM does for the APP CPU: it waits
 * until core 0 writes an entry into ac_boot_core1 {entry, stack top},
 * then runs it in user mode (PS.UM, so exceptions take the user vector).
 */
	.section .reset_vector, "ax"
	.global	_reset
_reset:
	j	_reset_far
	.align	4
	.literal_position
_reset_far:
	movi	a0, _start
	jx	a0

	.text
	.align	4
	.literal_position
	.global	_start
_start:
	rsr.prid a2
	extui	a2, a2, 0, 8
	bnez	a2, _start_core1
	movi	a1, __stack_top
	movi	a0, 0
	wsr.ps	a0			/* EXCM off, interrupt level 0 */
	rsync
	movi	a2, __bss_start		/* zero .bss */
	movi	a3, __bss_end
1:	bgeu	a2, a3, 2f
	s32i	a0, a2, 0
	addi	a2, a2, 4
	j	1b
2:	call0	main
	mov	a3, a2			/* exit status */
	movi	a2, 1			/* SYS_exit */
	simcall
3:	j	3b

	.align	4
	.literal_position
_start_core1:
	movi	a2, 0x20		/* PS.UM, EXCM off, level 0 */
	wsr.ps	a2
	rsync
	movi	a3, ac_boot_core1
4:	memw
	l32i	a4, a3, 0		/* the entry, once core 0 sets it */
	beqz	a4, 4b
	l32i	a1, a3, 4		/* the stack top */
	movi	a0, 0			/* backtraces end here */
	jx	a4

	.data
	.align	4
	.global	ac_boot_core1
ac_boot_core1:
	.word	0, 0
