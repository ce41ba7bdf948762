/*
 * asm_prog.c - programs from assembly text for unit tests (asm_prog.h).
 */
#include "asm_prog.h"

#include <stdio.h>
#include <stdlib.h>

bpfvm_program *asm_prog_load(const char *text, const bpfvm_load_opts *lo)
{
	bpfvm_insn *insns = NULL;
	size_t count = 0;
	bpfvm_error err;
	if (bpfvm_asm(text, &insns, &count, &err)) {
		printf("asm: %s\n", err.msg);
		exit(1);
	}
	bpfvm_program *p = NULL;
	if (bpfvm_program_load(insns, count, lo, &p, &err)) {
		printf("load: %s\n", err.msg);
		exit(1);
	}
	free(insns);
	return p;
}
