/*
 * inject.h - loading a shared library into a running process and calling
 * a function of it, through ptrace: how `bpfvm trace --pid` puts its agent
 * into a process that did not preload it.
 *
 * Owns: stopping one thread of the target (PTRACE_SEIZE + INTERRUPT),
 * finding the target's dlopen, dlerror and the library's entry function
 * from the ELF files its mappings name, calling them in that thread on a
 * stack frame below its red zone, and putting every register (general and
 * extended state) back before detaching.  Nothing of bpfvm is left in the
 * target but the library itself.
 */
#ifndef BPFVM_HOOKS_INJECT_H
#define BPFVM_HOOKS_INJECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct inject_result {
	uint64_t entry_ret;      /* what the entry function returned */
	double elapsed_ms;       /* from seizing the thread to detaching */
};

/* Loads `lib` (an absolute path, as the target sees its file system) into
 * process `pid` with dlopen(RTLD_NOW), then calls `entry(arg)` there
 * (`entry` a function of lib taking one string; NULL: none).  The target
 * must be a dynamically linked x86-64 process this one may ptrace; a
 * static one is refused (map a library into it by hand).  On failure
 * returns a negative errno with why in err (dlerror's text when dlopen
 * failed there), and the target runs on as before. */
int inject_library(pid_t pid, const char *lib, const char *entry, const char *arg, struct inject_result *out,
                   char *err, size_t errlen);

/* The address of the dynamic symbol or symbol `name` (its default version)
 * in the ELF file `path` as mapped into `pid`, found from the mapping of
 * the file in /proc/PID/maps; 0 with why in err if there is none. */
uint64_t inject_symbol_address(pid_t pid, const char *path, const char *name, char *err, size_t errlen);

#endif
