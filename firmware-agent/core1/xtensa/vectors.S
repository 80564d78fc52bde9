/*
 * Core 1's vector table (ac_rt.h): each vector saves a0 in EXCSAVE1 and
 * jumps to its entry.  A level-1 interrupt (the CCOMPARE0 timer that
 * ac_rt_sleep_until sets) is acknowledged and returned from; anything
 * else is a fault: the entry saves every address register, PC, PS, SAR,
 * EXCCAUSE and EXCVADDR in ac_rt_frame (struct ac_rt_frame), moves to an
 * exception stack and calls ac_rt_exception.  Nothing returns: core 1
 * halts with its state in the panic record.
 */
#define F_KIND		0
#define F_A(n)		(4 + 4 * (n))
#define F_PC		68
#define F_PS		72
#define F_SAR		76
#define F_EXCCAUSE	80
#define F_EXCVADDR	84

	.section .ac_rt_vectors, "ax"
	.balign	1024
	.global	ac_rt_vector_base
ac_rt_vector_base:
	.org	ac_rt_vector_base + 0x30	/* kernel exception */
	wsr.excsave1 a0
	j	ac_rt_kernel_entry
	.org	ac_rt_vector_base + 0x50	/* user exception */
	wsr.excsave1 a0
	j	ac_rt_user_entry
	.org	ac_rt_vector_base + 0x70	/* double exception */
	wsr.excsave1 a0
	j	ac_rt_double_entry

	.balign	4
	.literal_position
ac_rt_user_entry:
	rsr.exccause a0
	beqi	a0, 4, ac_rt_level1	/* the timer: not a fault */
	movi	a0, ac_rt_frame
	s32i	a2, a0, F_A(2)
	movi	a2, 1			/* AC_RT_USER */
	j	ac_rt_save
ac_rt_kernel_entry:
	rsr.exccause a0
	beqi	a0, 4, ac_rt_level1
	movi	a0, ac_rt_frame
	s32i	a2, a0, F_A(2)
	movi	a2, 2			/* AC_RT_KERNEL */
	j	ac_rt_save
ac_rt_double_entry:
	movi	a0, ac_rt_frame
	s32i	a2, a0, F_A(2)
	movi	a2, 3			/* AC_RT_DOUBLE */
	j	ac_rt_save

/* A level-1 interrupt: only CCOMPARE0 is enabled (ac_rt_sleep_until);
 * writing CCOMPARE0 acknowledges it.  Back to where it came. */
ac_rt_level1:
	rsr.ccompare0 a0
	wsr.ccompare0 a0
	rsr.excsave1 a0
	rfe

/* a0: the frame, a2: the kind; a2 itself saved already. */
ac_rt_save:
	s32i	a2, a0, F_KIND
	s32i	a1, a0, F_A(1)
	s32i	a3, a0, F_A(3)
	s32i	a4, a0, F_A(4)
	s32i	a5, a0, F_A(5)
	s32i	a6, a0, F_A(6)
	s32i	a7, a0, F_A(7)
	s32i	a8, a0, F_A(8)
	s32i	a9, a0, F_A(9)
	s32i	a10, a0, F_A(10)
	s32i	a11, a0, F_A(11)
	s32i	a12, a0, F_A(12)
	s32i	a13, a0, F_A(13)
	s32i	a14, a0, F_A(14)
	s32i	a15, a0, F_A(15)
	rsr.excsave1 a3
	s32i	a3, a0, F_A(0)
	rsr.epc1 a3
	bnei	a2, 3, 1f
	rsr.depc a3			/* a double exception's PC */
1:	s32i	a3, a0, F_PC
	rsr.ps	a3
	s32i	a3, a0, F_PS
	rsr.sar	a3
	s32i	a3, a0, F_SAR
	rsr.exccause a3
	s32i	a3, a0, F_EXCCAUSE
	rsr.excvaddr a3
	s32i	a3, a0, F_EXCVADDR
	movi	a1, ac_rt_exc_stack_top
	mov	a2, a0
	call0	ac_rt_exception
2:	j	2b

	.section .bss.ac_rt, "aw", @nobits
	.balign	16
	.global	ac_rt_frame
ac_rt_frame:
	.space	88
ac_rt_exc_stack:
	.space	2048
ac_rt_exc_stack_top:
