/*
 * sud_dlopen_lib.c - a library test_syscall_dispatch_off dlopen()s after
 * tracing started: its one function makes getppid with a raw `syscall`
 * of its own, which no sweep at start saw.
 */
long sud_lib_getppid(void);
__asm__(".pushsection .text\n"
	".globl sud_lib_getppid\n.type sud_lib_getppid, @function\n"
	"sud_lib_getppid: .cfi_startproc\n mov $110, %eax\n syscall\n ret\n .cfi_endproc\n"
	".size sud_lib_getppid, . - sud_lib_getppid\n"
	".popsection\n");
