/*
 * syscall_entry.S - the interceptor's code range: the only code Syscall
 * User Dispatch lets make system calls without a SIGSYS (sud_code_start to
 * sud_code_end, one section, so one contiguous range).  It holds the raw
 * syscall, the signal restorer, the child path of an intercepted clone,
 * and the entry of the rewritten sites' stubs.  Offsets into struct
 * pt_regs (uapi asm/ptrace.h): r15 0, r14 8, r13 16, r12 24, rbp 32,
 * rbx 40, r11 48, r10 56, r9 64, r8 72, rax 80, rcx 88, rdx 96, rsi 104,
 * rdi 112, orig_rax 120, rip 128, cs 136, eflags 144, rsp 152, ss 160.
 *
 * Owns: sud_raw_syscall, sud_restore_rt, sud_raw_clone, sud_fast_entry(_lean),
 * sud_fast_sigreturn.
 */
#define BLOCK_REGS 512
#define PT_REGS_SIZE 168
#define SUD_FRAME_ARGS 168           /* as syscall_sud.h */
#define SUD_FRAME_XMM 224
#define FAST_FRAME 232               /* SUD_FRAME_SIZE: struct sud_fast_frame (syscall_sud.h) */

	.section .text.bpfvm_sud, "ax", @progbits
	.globl sud_code_start, sud_code_end
	.hidden sud_code_start, sud_code_end
sud_code_start:

/* rax = the number in rdi; the six arguments from the array at rsi into
 * the system call's registers (r11 is free: syscall clobbers it). */
.macro LOAD_SYSCALL nr_reg=%rdi, args_reg=%rsi
	mov \nr_reg, %rax
	mov \args_reg, %r11
	mov 0(%r11), %rdi
	mov 8(%r11), %rsi
	mov 16(%r11), %rdx
	mov 24(%r11), %r10
	mov 32(%r11), %r8
	mov 40(%r11), %r9
.endm

/* long sud_raw_syscall(long nr, const unsigned long args[6]) */
	.globl sud_raw_syscall
	.hidden sud_raw_syscall
	.type sud_raw_syscall, @function
sud_raw_syscall:
	LOAD_SYSCALL
	syscall
	ret
	.size sud_raw_syscall, . - sud_raw_syscall

/* The SIGSYS handler's restorer, and where a trapped rt_sigreturn is sent
 * to be performed from inside the range, on the frame it was meant for. */
	.globl sud_restore_rt
	.hidden sud_restore_rt
	.type sud_restore_rt, @function
sud_restore_rt:
	mov $15, %eax
	syscall
	hlt
	.size sud_restore_rt, . - sud_restore_rt

/* long sud_raw_clone(long nr, const unsigned long args[6], block): the
 * parent returns the result; the child, on its new stack, calls
 * sud_child_entry(block) below the block, then becomes the parent's
 * interrupted context with rax 0, as a child leaving clone does. */
	.globl sud_raw_clone
	.hidden sud_raw_clone
	.type sud_raw_clone, @function
sud_raw_clone:
	push %rbx
	mov %rdx, %rbx
	LOAD_SYSCALL
	syscall
	test %rax, %rax
	jz 1f
	pop %rbx
	ret
1:	mov %rbx, %rsp
	and $-16, %rsp
	mov %rbx, %rdi
	call sud_child_entry
	fxrstor64 (%rbx)
	xor %eax, %eax
	pushq BLOCK_REGS+144(%rbx)
	popfq
	mov BLOCK_REGS+0(%rbx), %r15
	mov BLOCK_REGS+8(%rbx), %r14
	mov BLOCK_REGS+16(%rbx), %r13
	mov BLOCK_REGS+24(%rbx), %r12
	mov BLOCK_REGS+32(%rbx), %rbp
	mov BLOCK_REGS+56(%rbx), %r10
	mov BLOCK_REGS+64(%rbx), %r9
	mov BLOCK_REGS+72(%rbx), %r8
	mov BLOCK_REGS+96(%rbx), %rdx
	mov BLOCK_REGS+104(%rbx), %rsi
	mov BLOCK_REGS+112(%rbx), %rdi
	mov BLOCK_REGS+144(%rbx), %r11
	mov BLOCK_REGS+128(%rbx), %rcx
	/* rbx read before rsp moves up past the block: a signal delivered
	 * there would write its frame over the block (mov keeps the flags) */
	mov BLOCK_REGS+152(%rbx), %rax
	mov BLOCK_REGS+40(%rbx), %rbx
	mov %rax, %rsp
	mov $0, %eax
	jmp *%rcx
	.size sud_raw_clone, . - sud_raw_clone

/* The rewritten sites' entries.  A site's stub did
 *     lea -128(%rsp), %rsp        (past the red zone)
 *     pushq after(%rip)           (the address after the site's syscall)
 *     mov $nr, %eax               (the site's own mov, moved into the stub)
 *     jmp *entry(%rip)            (here)
 * Both ways are jumps: a call answered by a ret to another address than
 * its own is a return misprediction every time.  This saves the registers
 * as sys_enter's pt_regs, calls sud_fast_enter, makes the system call
 * itself (a return into C code called before it would be mispredicted:
 * the kernel's return-stack mitigations leave user return predictions
 * stale), calls sud_fast_exit if the call was reported, and jumps back to
 * the site with rax the result, rcx and r11 as a syscall leaves them (the
 * return rip, the flags).  Registers the C code preserves itself (rbp,
 * r13-r15) are not reloaded: the handlers cannot change pt_regs.  The
 * frame is a struct sud_fast_frame (syscall_sud.h): the six arguments are
 * also stored in order after the pt_regs, the handlers' args[6] (C
 * gathering them from pt_regs read pairs of fields just stored one by one
 * as 16-byte loads, which store forwarding cannot serve).
 *
 * sud_fast_entry_lean serves sites whose function uses no vector register
 * and no std, and whose status flags are dead after the syscall (proven
 * by the rewriter): it neither saves xmm0-15 nor restores the flags
 * (popfq).  sud_fast_entry saves and restores both, for every other site. */
#define SUD_FAST_REPORTED 1        /* sud_fast_enter's result bits, as syscall_sud.h */
#define SUD_FAST_DONE 2
#define SUD_FAST_SIGRETURN 4

.macro FAST_SAVE_REGS
	mov (%rsp), %rcx             /* rcx: return rip, as syscall sets it */
	pushfq
	pop %r11                     /* r11: rflags, as syscall sets it */
	sub $FAST_FRAME, %rsp
	mov %r15, 0(%rsp)
	mov %r14, 8(%rsp)
	mov %r13, 16(%rsp)
	mov %r12, 24(%rsp)
	mov %rbp, 32(%rsp)
	mov %rbx, 40(%rsp)
	mov %r11, 48(%rsp)
	mov %r10, 56(%rsp)
	mov %r9, 64(%rsp)
	mov %r8, 72(%rsp)
	movq $-38, 80(%rsp)          /* rax: -ENOSYS at sys_enter */
	mov %rcx, 88(%rsp)
	mov %rdx, 96(%rsp)
	mov %rsi, 104(%rsp)
	mov %rdi, 112(%rsp)
	mov %rax, 120(%rsp)
	mov %rcx, 128(%rsp)
	movq $0x33, 136(%rsp)
	mov %r11, 144(%rsp)
	lea FAST_FRAME+8+128(%rsp), %rax
	mov %rax, 152(%rsp)
	movq $0x2b, 160(%rsp)
	mov %rdi, SUD_FRAME_ARGS+0(%rsp)
	mov %rsi, SUD_FRAME_ARGS+8(%rsp)
	mov %rdx, SUD_FRAME_ARGS+16(%rsp)
	mov %r10, SUD_FRAME_ARGS+24(%rsp)
	mov %r8, SUD_FRAME_ARGS+32(%rsp)
	mov %r9, SUD_FRAME_ARGS+40(%rsp)
	mov %rsp, %rbx
	and $-16, %rsp
.endm

/* sud_fast_enter, the system call unless it was made already, then
 * sud_fast_exit if reported; r12 keeps sud_fast_enter's result.
 * rt_sigreturn goes to sud_fast_sigreturn. */
.macro FAST_CALL
	cld
	mov %rbx, %rdi
	call sud_fast_enter
	mov %eax, %r12d
	test $SUD_FAST_SIGRETURN, %eax
	jnz sud_fast_sigreturn
	test $SUD_FAST_DONE, %eax
	jnz 1f
	mov 120(%rbx), %rax
	mov 112(%rbx), %rdi
	mov 104(%rbx), %rsi
	mov 96(%rbx), %rdx
	mov 56(%rbx), %r10
	mov 72(%rbx), %r8
	mov 64(%rbx), %r9
	syscall
	mov %rax, 80(%rbx)
1:	test $SUD_FAST_REPORTED, %r12d
	jz 2f
	mov %rbx, %rdi
	call sud_fast_exit
2:
.endm

/* From pt_regs at rbx: the result, the registers C or the system call
 * may have changed, then back to the site (rcx: the return rip). */
.macro FAST_RETURN
	mov %rbx, %rsp
	mov 80(%rsp), %rax
	mov 24(%rsp), %r12
	mov 40(%rsp), %rbx
	mov 48(%rsp), %r11
	mov 56(%rsp), %r10
	mov 64(%rsp), %r9
	mov 72(%rsp), %r8
	mov 96(%rsp), %rdx
	mov 104(%rsp), %rsi
	mov 112(%rsp), %rdi
	mov 128(%rsp), %rcx
	lea FAST_FRAME+8+128(%rsp), %rsp
	jmp *%rcx
.endm

	.globl sud_fast_entry_lean
	.hidden sud_fast_entry_lean
	.type sud_fast_entry_lean, @function
	.p2align 4
sud_fast_entry_lean:
	FAST_SAVE_REGS
	movq $0, SUD_FRAME_XMM(%rbx)
	FAST_CALL
	FAST_RETURN
	.size sud_fast_entry_lean, . - sud_fast_entry_lean

	.globl sud_fast_entry
	.hidden sud_fast_entry
	.type sud_fast_entry, @function
	.p2align 4
sud_fast_entry:
	FAST_SAVE_REGS
	sub $256, %rsp
	movaps %xmm0, 0(%rsp)
	movaps %xmm1, 16(%rsp)
	movaps %xmm2, 32(%rsp)
	movaps %xmm3, 48(%rsp)
	movaps %xmm4, 64(%rsp)
	movaps %xmm5, 80(%rsp)
	movaps %xmm6, 96(%rsp)
	movaps %xmm7, 112(%rsp)
	movaps %xmm8, 128(%rsp)
	movaps %xmm9, 144(%rsp)
	movaps %xmm10, 160(%rsp)
	movaps %xmm11, 176(%rsp)
	movaps %xmm12, 192(%rsp)
	movaps %xmm13, 208(%rsp)
	movaps %xmm14, 224(%rsp)
	movaps %xmm15, 240(%rsp)
	mov %rsp, SUD_FRAME_XMM(%rbx)
	FAST_CALL
	movaps 0(%rsp), %xmm0
	movaps 16(%rsp), %xmm1
	movaps 32(%rsp), %xmm2
	movaps 48(%rsp), %xmm3
	movaps 64(%rsp), %xmm4
	movaps 80(%rsp), %xmm5
	movaps 96(%rsp), %xmm6
	movaps 112(%rsp), %xmm7
	movaps 128(%rsp), %xmm8
	movaps 144(%rsp), %xmm9
	movaps 160(%rsp), %xmm10
	movaps 176(%rsp), %xmm11
	movaps 192(%rsp), %xmm12
	movaps 208(%rsp), %xmm13
	movaps 224(%rsp), %xmm14
	movaps 240(%rsp), %xmm15
	pushq 144(%rbx)
	popfq
	FAST_RETURN
	.size sud_fast_entry, . - sud_fast_entry

/* rt_sigreturn from a rewritten site (libc's restorer): the kernel takes
 * the signal frame at the stack pointer, so it is made with the caller's
 * own rsp (pt_regs' at rbx), from inside the range; it does not return. */
	.type sud_fast_sigreturn, @function
sud_fast_sigreturn:
	mov 152(%rbx), %rsp
	mov $15, %eax
	syscall
	hlt
	.size sud_fast_sigreturn, . - sud_fast_sigreturn

sud_code_end:
	.section .note.GNU-stack, "", @progbits
