/*
 * prog_build.h - building small eBPF programs instruction by instruction
 * in unit tests: one instruction (insn), a program buffer (struct prog)
 * and appending to it (emit, emit_imm64: an lddw of a 64-bit value).
 */
#ifndef BPFVM_TESTS_PROG_BUILD_H
#define BPFVM_TESTS_PROG_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "bpfvm/bpfvm.h"

static inline bpfvm_insn insn(uint8_t opcode, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (bpfvm_insn){ .opcode = opcode, .dst = dst, .src = src, .off = off, .imm = imm };
}

/* A program under construction. */
struct prog {
	bpfvm_insn i[64];
	size_t n;
};

static inline void emit(struct prog *p, bpfvm_insn in)
{
	p->i[p->n++] = in;
}

/* reg = v, as the two slots of an lddw. */
static inline void emit_imm64(struct prog *p, uint8_t reg, uint64_t v)
{
	emit(p, insn(0x18, reg, 0, 0, (int32_t)(uint32_t)v));
	emit(p, insn(0x00, 0, 0, 0, (int32_t)(uint32_t)(v >> 32)));
}

#endif
