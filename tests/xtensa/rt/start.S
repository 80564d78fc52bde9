/*
 * Start code for bare-metal programs on QEMU's Xtensa (-cpu lx106, call0
 * ABI).  QEMU starts the CPU at the reset vector, 0x50000000, with
 * PS.EXCM set (../shared/notes/xtensa-qemu.md): jump to _start, give it
 * a stack and a clean PS, zero .bss, run main, and hand main's result to
 * the host as the exit status (semihosting SYS_exit).
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
