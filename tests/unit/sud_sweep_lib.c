/*
 * sud_sweep_lib.c - a library test_syscall_dlopen dlopen()s after tracing
 * started, built twice (two files, two objects): getppid through libc,
 * through a raw `syscall` of its own that takes a jump, and through one
 * with a branch into its window, served by its int3 alone.
 */
#include <unistd.h>

long sweep_lib_libc_getppid(void);
long sweep_lib_raw_getppid(void);
long sweep_lib_raw_getppid_branch_in(long jump);

long sweep_lib_libc_getppid(void)
{
	return getppid();
}

__asm__(".pushsection .text\n"
	".globl sweep_lib_raw_getppid\n.type sweep_lib_raw_getppid, @function\n"
	"sweep_lib_raw_getppid: .cfi_startproc\n mov $110, %eax\n syscall\n ret\n .cfi_endproc\n"
	".size sweep_lib_raw_getppid, . - sweep_lib_raw_getppid\n"
	".globl sweep_lib_raw_getppid_branch_in\n.type sweep_lib_raw_getppid_branch_in, @function\n"
	"sweep_lib_raw_getppid_branch_in: .cfi_startproc\n test %rdi, %rdi\n jnz 2f\n mov $110, %eax\n1: nop\n"
	" syscall\n ret\n2: mov $110, %eax\n jmp 1b\n .cfi_endproc\n"
	".size sweep_lib_raw_getppid_branch_in, . - sweep_lib_raw_getppid_branch_in\n"
	".popsection\n");
