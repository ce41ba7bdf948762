/*
 * test_verifier.c - tests of the static verifier (src/verifier).
 *
 * Owns: the checks that
 *   1. small assembly programs get the verdict the kernel gives them, and
 *      a rejection names the right instruction and the kernel's reason;
 *   2. programs using maps (built instruction by instruction, since the
 *      assembler has no map syntax) are checked against their maps: null
 *      checks, value bounds, helper arguments, ringbuf references, locks;
 *   3. every example object is accepted (the kernel accepts them all:
 *      test_objects loads them into it);
 *   4. every conformance program the verifier accepts runs without a
 *      fault in checked mode and gives the same r0 unchecked;
 *   5. the log has the kernel's summary line, and rejections carry the
 *      register state and the path;
 *   6. a program walked to the 1M-instruction limit keeps the verifier's
 *      memory bounded (a fuzz input once took it past 2 GB);
 *   7. a write to r10 no path reaches loads as a no-op given the walk
 *      (bpfvm_load_opts.walked), and is refused at load without it.
 *
 * A plain program: one line per failure, then "N passed, M failed".
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/instance.h"
#include "bpfvm/maps.h"
#include "bpfvm/verifier.h"
#include "support/check.h"
#include "support/verifier_testlib.h"
#include "common/datafile.h"

struct asm_case {
	const char *name;
	uint32_t type;
	uint32_t mem_size;
	const char *text;
	const char *expect;     /* NULL: accepted; else a part of the reason */
	int insn;               /* the instruction named, when rejected (-1: any) */
};

#define RAW BPFVM_PROG_TYPE_RAW
#define XDP BPF_PROG_TYPE_XDP
#define SKF BPF_PROG_TYPE_SOCKET_FILTER
#define TC BPF_PROG_TYPE_SCHED_CLS

static const struct asm_case asm_cases[] = {
	{ "return 0", RAW, 0, "mov %r0, 0\nexit", NULL, 0 },
	{ "memory in bounds", RAW, 8, "ldxdw %r0, [%r1+0]\nexit", NULL, 0 },
	{ "stack written then read", RAW, 0, "stdw [%r10-8], 1\nldxdw %r0, [%r10-8]\nexit", NULL, 0 },
	{ "bounded loop", RAW, 0,
	  "mov %r0, 0\nmov %r1, 10\nloop:\nadd %r0, 1\nsub %r1, 1\njne %r1, 0, loop\nexit", NULL, 0 },
	{ "index masked", RAW, 16, "ldxb %r2, [%r1+0]\nand %r2, 7\nadd %r1, %r2\nldxdw %r0, [%r1+0]\nexit", NULL, 0 },
	{ "index checked", RAW, 16,
	  "ldxb %r2, [%r1+0]\njgt %r2, 8, out\nadd %r1, %r2\nldxdw %r0, [%r1+0]\nexit\nout:\nmov %r0, 0\nexit", NULL, 0 },
	{ "index checked on a copy", RAW, 16,
	  "ldxb %r2, [%r1+0]\nmov %r3, %r2\njgt %r3, 8, out\nadd %r1, %r2\nldxdw %r0, [%r1+0]\nexit\nout:\nmov %r0, 0\nexit",
	  NULL, 0 },
	{ "index checked too loosely", RAW, 16,
	  "ldxb %r2, [%r1+0]\njgt %r2, 9, out\nadd %r1, %r2\nldxdw %r0, [%r1+0]\nexit\nout:\nmov %r0, 0\nexit",
	  "invalid access to memory", 3 },
	{ "helper", RAW, 0, "call 5\nexit", NULL, 0 },
	{ "local call", RAW, 0, "mov %r1, 7\ncall local f\nexit\nf:\nmov %r0, %r1\nexit", NULL, 0 },
	{ "spill and fill keep a pointer", RAW, 8,
	  "stxdw [%r10-8], %r1\nldxdw %r2, [%r10-8]\nldxdw %r0, [%r2+0]\nexit", NULL, 0 },
	{ "constant through the stack", RAW, 16,
	  "stdw [%r10-8], 8\nldxdw %r2, [%r10-8]\nadd %r1, %r2\nldxdw %r0, [%r1+0]\nexit", NULL, 0 },
	{ "branch never taken is not explored", RAW, 0,
	  "mov %r1, 5\njgt %r1, 10, bad\nmov %r0, 0\nexit\nbad:\nldxdw %r0, [%r1+0]\nexit", NULL, 0 },
	{ "xdp packet checked", XDP, 0,
	  "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 14\njgt %r4, %r3, out\n"
	  "ldxb %r0, [%r2+13]\nexit\nout:\nmov %r0, 2\nexit", NULL, 0 },
	{ "xdp packet checked with <", XDP, 0,
	  "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 14\njlt %r3, %r4, out\n"
	  "ldxh %r0, [%r2+12]\nexit\nout:\nmov %r0, 2\nexit", NULL, 0 },
	{ "xdp ctx field", XDP, 0, "ldxw %r0, [%r1+12]\nexit", NULL, 0 },
	{ "socket filter ctx field", SKF, 0, "ldxw %r0, [%r1+0]\nexit", NULL, 0 },
	{ "ld_abs in a socket filter", SKF, 0, "mov %r6, %r1\nldabsb 12\nexit", NULL, 1 },

	{ "uninitialised register", RAW, 0, "mov %r0, %r5\nexit", "R5 !read_ok", 0 },
	{ "r0 never set", RAW, 0, "exit", "R0 !read_ok", 0 },
	{ "memory out of bounds", RAW, 8, "ldxdw %r0, [%r1+4]\nexit", "invalid access to memory", 0 },
	{ "stack out of bounds", RAW, 0, "stdw [%r10-520], 1\nmov %r0, 0\nexit", "invalid write to stack", 0 },
	{ "stack above the frame", RAW, 0, "stdw [%r10+0], 1\nmov %r0, 0\nexit", "invalid write to stack", 0 },
	/* a privileged loader may read stack never written (so does the kernel) */
	{ "uninitialised stack", RAW, 0, "ldxdw %r0, [%r10-8]\nexit", NULL, 0 },
	{ "partly initialised stack", RAW, 0, "stw [%r10-8], 1\nldxdw %r0, [%r10-8]\nexit", NULL, 1 },
	{ "write to r10", RAW, 0, "mov %r10, 0\nmov %r0, 0\nexit", "frame pointer is read only", 0 },
	{ "jump out of the program", RAW, 0, "mov %r0, 0\nja +5\nexit", "jump out of range from insn 1 to 7", 1 },
	{ "misaligned stack", RAW, 0, "stdw [%r10-4], 1\nmov %r0, 0\nexit", "misaligned stack access", 0 },
	{ "unbounded index", RAW, 8, "ldxdw %r2, [%r1+0]\nadd %r1, %r2\nldxb %r0, [%r1+0]\nexit",
	  "min value is negative", 2 },
	{ "unsigned unbounded index", RAW, 8, "ldxw %r2, [%r1+0]\nadd %r1, %r2\nldxb %r0, [%r1+0]\nexit",
	  "R1 unbounded memory access", 2 },
	{ "scalar dereference", RAW, 0, "mov %r2, 100\nldxdw %r0, [%r2+0]\nexit", "invalid mem access 'scalar'", 1 },
	{ "endless loop", RAW, 0, "mov %r0, 0\nloop:\nja loop", "infinite loop detected", -1 },
	/* each turn narrows r1 a little: never the same state, never done */
	{ "loop on an unknown", RAW, 8, "ldxdw %r1, [%r1+0]\nloop:\nsub %r1, 1\njne %r1, 0, loop\nmov %r0, 0\nexit",
	  "BPF program is too large", -1 },
	{ "loop that never changes", RAW, 8, "ldxdw %r1, [%r1+0]\nloop:\njne %r1, 0, loop\nmov %r0, 0\nexit",
	  "infinite loop detected", 1 },
	{ "too many instructions", RAW, 0,
	  "mov %r0, 0\nmov %r1, 0\nloop:\nadd %r1, 1\njne %r1, 2000000, loop\nexit", "BPF program is too large", -1 },
	{ "pointer multiplied", RAW, 0, "mov %r0, %r1\nmul %r0, 2\nexit", "pointer arithmetic with *= operator prohibited",
	  1 },
	{ "pointer masked", RAW, 0, "mov %r0, %r1\nand %r0, 2\nexit", "bitwise operator &= on pointer prohibited", 1 },
	{ "32-bit pointer arithmetic", RAW, 0, "add32 %r1, 1\nmov %r0, 0\nexit", "32-bit pointer arithmetic prohibited",
	  0 },
	/* a constant out of range is refused before it is added: no overflow */
	{ "pointer plus the largest constant", RAW, 0,
	  "mov %r3, %r10\nlddw %r2, 0x7fffffffffffffff\nadd %r3, %r2\nmov %r0, 0\nexit",
	  "math between fp pointer and 9223372036854775807 is not allowed", 3 },
	{ "pointer minus the smallest constant", RAW, 8,
	  "lddw %r2, 0x8000000000000000\nsub %r1, %r2\nmov %r0, 0\nexit",
	  "math between mem pointer and -9223372036854775808 is not allowed", 2 },
	{ "pointer offset out of range", RAW, 0,
	  "mov %r3, %r10\nlddw %r2, 0x1fffffff\nadd %r3, %r2\nadd %r3, %r2\nmov %r0, 0\nexit",
	  "R3 pointer offset 1073741822 is not allowed", 4 },
	{ "pointer minus pointer is a number", RAW, 0, "mov %r0, %r10\nsub %r0, %r1\nexit", NULL, 0 },
	{ "scalar minus pointer", RAW, 0, "mov %r0, 1\nsub %r0, %r1\nexit", "tried to subtract pointer from scalar", 1 },
	{ "division by constant zero", RAW, 0, "mov %r0, 1\ndiv %r0, 0\nexit", "div by zero", 1 },
	{ "division by a register that may be zero", RAW, 8, "ldxdw %r2, [%r1+0]\nmov %r0, 1\ndiv %r0, %r2\nexit",
	  NULL, 0 },
	{ "packet without a check", XDP, 0, "ldxw %r2, [%r1+0]\nldxb %r0, [%r2+0]\nexit", "invalid access to packet", 1 },
	{ "packet beyond the check", XDP, 0,
	  "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 14\njgt %r4, %r3, out\n"
	  "ldxb %r0, [%r2+14]\nexit\nout:\nmov %r0, 2\nexit", "invalid access to packet", 5 },
	{ "packet end dereferenced", XDP, 0, "ldxw %r3, [%r1+4]\nldxb %r0, [%r3+0]\nexit",
	  "invalid mem access 'pkt_end'", 1 },
	{ "xdp ctx egress_ifindex", XDP, 0, "ldxw %r0, [%r1+20]\nexit", "invalid bpf_context access off=20 size=4", 0 },
	{ "xdp ctx wide load", XDP, 0, "ldxdw %r0, [%r1+0]\nexit", "invalid bpf_context access off=0 size=8", 0 },
	{ "xdp ctx out of range", XDP, 0, "ldxw %r0, [%r1+24]\nexit", "invalid bpf_context access", 0 },
	{ "xdp ctx write", XDP, 0, "mov %r2, 0\nstxw [%r1+0], %r2\nmov %r0, 0\nexit", "invalid bpf_context access", 1 },
	{ "ctx store of an immediate", TC, 0, "stw [%r1+8], 1\nmov %r0, 0\nexit", NULL, 0 },
	{ "ctx store of an immediate to a read-only field", TC, 0, "stw [%r1+0], 1\nmov %r0, 0\nexit",
	  "invalid bpf_context access off=0 size=4", 0 },
	{ "socket filter reads data", SKF, 0, "ldxw %r0, [%r1+76]\nexit", "invalid bpf_context access", 0 },
	{ "socket filter writes mark", SKF, 0, "mov %r2, 1\nstxw [%r1+8], %r2\nmov %r0, 0\nexit",
	  "invalid bpf_context access", 1 },
	{ "modified ctx", XDP, 0, "add %r1, 4\nldxw %r0, [%r1+0]\nexit", "dereference of modified ctx ptr", 1 },
	{ "helper not for xdp", XDP, 0, "mov %r2, 0\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 8\ncall 26\nmov %r0, 0\nexit",
	  "program of this type cannot use helper", 4 },
	{ "ld_abs in xdp", XDP, 0, "mov %r6, %r1\nldabsb 12\nexit", "not allowed for this program type", 1 },
	{ "call stack too deep", RAW, 0, "call local f\nexit\nf:\ncall local f\nexit", "is too deep", -1 },
	{ "unreachable code", RAW, 0, "mov %r0, 0\nexit\nmov %r0, 1\nexit", "unreachable insn 2", 2 },
	{ "helper memory uninitialised", RAW, 0, "mov %r1, %r10\nadd %r1, -8\nmov %r2, 8\ncall 6\nexit", NULL, 3 },
	{ "helper writes past the frame", RAW, 0, "mov %r1, %r10\nadd %r1, -8\nmov %r2, 16\nmov %r3, 0\ncall 113\nexit",
	  "invalid write to stack R1 off=-8 size=16", 4 },
	{ "helper memory initialised", RAW, 0, "stdw [%r10-8], 0\nmov %r1, %r10\nadd %r1, -8\nmov %r2, 8\ncall 6\nexit",
	  NULL, 0 },
	{ "helper size unbounded", RAW, 8,
	  "ldxdw %r2, [%r1+0]\nstdw [%r10-8], 0\nmov %r1, %r10\nadd %r1, -8\ncall 6\nexit", "R2", 4 },
	{ "helper writes uninitialised stack", RAW, 0,
	  "mov %r1, %r10\nadd %r1, -16\nmov %r2, 16\ncall 16\nldxdw %r0, [%r10-16]\nexit", NULL, 0 },
	{ "return a stack pointer to the caller", RAW, 0,
	  "call local f\nmov %r0, 0\nexit\nf:\nmov %r0, %r10\nexit", "cannot return stack pointer", 4 },
};

static void check_asm_cases(void)
{
	for (size_t i = 0; i < sizeof asm_cases / sizeof asm_cases[0]; i++) {
		const struct asm_case *c = &asm_cases[i];
		bpfvm_insn *insns = NULL;
		size_t count = 0;
		bpfvm_error err = { 0 };
		int rc = bpfvm_asm(c->text, &insns, &count, &err);
		CHECK(rc == 0, "%s: does not assemble: %s", c->name, err.msg);
		if (rc)
			continue;
		BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = c->type, .mem_size = c->mem_size);
		bpfvm_verify_stats st;
		rc = bpfvm_verify(insns, count, &vo, &st, &err);
		if (!c->expect) {
			CHECK(rc == 0, "%s: rejected: %s", c->name, err.msg);
		} else {
			CHECK(rc != 0, "%s: accepted, expected \"%s\"", c->name, c->expect);
			CHECK(rc == 0 || strstr(err.msg, c->expect), "%s: message \"%s\", expected \"%s\"", c->name, err.msg,
			      c->expect);
			CHECK(rc == 0 || c->insn < 0 || err.insn == c->insn, "%s: names insn %d, expected %d", c->name, err.insn,
			      c->insn);
			char where[32];
			snprintf(where, sizeof where, "insn %d:", err.insn);
			CHECK(rc == 0 || err.insn < 0 || strstr(err.msg, where), "%s: message does not start with the insn: %s",
			      c->name, err.msg);
		}
		free(insns);
	}
}

/* ---- programs with maps, instruction by instruction ----------------------- */

#define I(op, d, s, o, i) { .opcode = (op), .dst = (d), .src = (s), .off = (o), .imm = (i) }
#define LD_MAP(d, idx) I(0x18, d, 1, 0, idx), I(0, 0, 0, 0, 0)
#define MOV_IMM(d, i) I(0xb7, d, 0, 0, i)
#define MOV_REG(d, s) I(0xbf, d, s, 0, 0)
#define ADD_IMM(d, i) I(0x07, d, 0, 0, i)
#define ST_DW(d, o, i) I(0x7a, d, 0, o, i)
#define ST_W(d, o, i) I(0x62, d, 0, o, i)
#define LDX_DW(d, s, o) I(0x79, d, s, o, 0)
#define LDX_W(d, s, o) I(0x61, d, s, o, 0)
#define STX_DW(d, s, o) I(0x7b, d, s, o, 0)
#define JEQ_IMM(d, i, o) I(0x15, d, 0, o, i)
#define JNE_IMM(d, i, o) I(0x55, d, 0, o, i)
#define JGT_IMM(d, i, o) I(0x25, d, 0, o, i)
#define CALL(id) I(0x85, 0, 0, 0, id)
/* r = the subprogram `rel` instructions after this lddw's first slot + 1 */
#define LD_FUNC(d, rel) I(0x18, d, 4, 0, rel), I(0, 0, 0, 0, 0)
#define EXIT I(0x95, 0, 0, 0, 0)
/* r2 = fp - 4 holding key 0 */
#define KEY_ON_STACK ST_W(10, -4, 0), MOV_REG(2, 10), ADD_IMM(2, -4)

struct map_case {
	const char *name;
	uint32_t type;
	bpfvm_insn insns[24];
	size_t count;
	const char *expect;
	int insn;
};

#define N(...) { __VA_ARGS__ }, sizeof((bpfvm_insn[]){ __VA_ARGS__ }) / sizeof(bpfvm_insn)

/* maps[0]: array, 4-byte key, 16-byte value, 4 entries;
 * maps[1]: ringbuf of 4096 bytes; maps[2]: hash with a spin lock at 0. */
static const struct map_case map_cases[] = {
	{ "lookup, check, read", XDP,
	  N(KEY_ON_STACK, LD_MAP(1, 0), CALL(1), JEQ_IMM(0, 0, 2), LDX_DW(0, 0, 8), EXIT, MOV_IMM(0, 0), EXIT), NULL, 0 },
	/* key 4 spilled at fp-8: past the array's end, the lookup may fail */
	{ "lookup without a null check", XDP,
	  N(ST_W(10, -8, 4), MOV_REG(2, 10), ADD_IMM(2, -8), LD_MAP(1, 0), CALL(1), LDX_DW(0, 0, 0), EXIT),
	  "invalid mem access 'map_value_or_null'", 6 },
	/* key 0 in an array: the lookup cannot fail (the kernel's
	 * can_elide_value_nullness, Linux 6.14+) */
	{ "lookup of a key known in range without a null check", XDP,
	  N(KEY_ON_STACK, LD_MAP(1, 0), CALL(1), LDX_DW(0, 0, 0), EXIT), NULL, 0 },
	{ "null check on a copy", XDP,
	  N(KEY_ON_STACK, LD_MAP(1, 0), CALL(1), MOV_REG(6, 0), JEQ_IMM(6, 0, 2), LDX_DW(0, 0, 0), EXIT, MOV_IMM(0, 0),
	    EXIT), NULL, 0 },
	{ "value read past its end", XDP,
	  N(KEY_ON_STACK, LD_MAP(1, 0), CALL(1), JEQ_IMM(0, 0, 2), LDX_DW(0, 0, 12), EXIT, MOV_IMM(0, 0), EXIT),
	  "invalid access to map value, value_size=16 off=12 size=8", 7 },
	{ "value at a checked variable offset", XDP,
	  N(KEY_ON_STACK, LD_MAP(1, 0), CALL(1), JEQ_IMM(0, 0, 6), LDX_W(1, 0, 0), JGT_IMM(1, 8, 3),
	    I(0x0f, 0, 1, 0, 0), LDX_DW(0, 0, 0), EXIT, MOV_IMM(0, 0), EXIT), NULL, 0 },
	{ "value at an unchecked variable offset", XDP,
	  N(KEY_ON_STACK, LD_MAP(1, 0), CALL(1), JEQ_IMM(0, 0, 5), LDX_W(1, 0, 0), JGT_IMM(1, 9, 3),
	    I(0x0f, 0, 1, 0, 0), LDX_DW(0, 0, 0), EXIT, MOV_IMM(0, 0), EXIT), "invalid access to map value", 10 },
	{ "key never written (allowed to root)", XDP,
	  N(MOV_REG(2, 10), ADD_IMM(2, -4), LD_MAP(1, 0), CALL(1), MOV_IMM(0, 0), EXIT), NULL, 4 },
	{ "key past the frame", XDP, N(MOV_REG(2, 10), ADD_IMM(2, -2), LD_MAP(1, 0), CALL(1), MOV_IMM(0, 0), EXIT),
	  "invalid read from stack R2 off=-2 size=4", 4 },
	{ "key is a number", XDP, N(MOV_IMM(2, 0), LD_MAP(1, 0), CALL(1), MOV_IMM(0, 0), EXIT), "R2 type=scalar", 3 },
	{ "map argument is a number", XDP, N(KEY_ON_STACK, MOV_IMM(1, 0), CALL(1), MOV_IMM(0, 0), EXIT),
	  "R1 type=scalar expected=map_ptr", 4 },
	{ "ringbuf reserve and submit", XDP,
	  N(LD_MAP(1, 1), MOV_IMM(2, 8), MOV_IMM(3, 0), CALL(131), JEQ_IMM(0, 0, 4), ST_DW(0, 0, 1), MOV_REG(1, 0),
	    MOV_IMM(2, 0), CALL(132), MOV_IMM(0, 0), EXIT), NULL, 0 },
	{ "ringbuf reservation leaked", XDP,
	  N(LD_MAP(1, 1), MOV_IMM(2, 8), MOV_IMM(3, 0), CALL(131), MOV_IMM(0, 0), EXIT), "Unreleased reference", 6 },
	{ "ringbuf reservation leaked on one path", XDP,
	  N(LD_MAP(1, 1), MOV_IMM(2, 8), MOV_IMM(3, 0), CALL(131), JEQ_IMM(0, 0, 6), LDX_W(1, 0, 0), JEQ_IMM(1, 0, 3),
	    MOV_REG(1, 0), MOV_IMM(2, 0), CALL(133), MOV_IMM(0, 0), EXIT), "Unreleased reference", 12 },
	{ "ringbuf record written past its end", XDP,
	  N(LD_MAP(1, 1), MOV_IMM(2, 8), MOV_IMM(3, 0), CALL(131), JEQ_IMM(0, 0, 4), ST_DW(0, 4, 1), MOV_REG(1, 0),
	    MOV_IMM(2, 0), CALL(132), MOV_IMM(0, 0), EXIT), "invalid access to memory", 6 },
	{ "ringbuf record used after submit", XDP,
	  N(LD_MAP(1, 1), MOV_IMM(2, 8), MOV_IMM(3, 0), CALL(131), JEQ_IMM(0, 0, 5), MOV_REG(6, 0), MOV_REG(1, 0),
	    MOV_IMM(2, 0), CALL(132), ST_DW(6, 0, 1), MOV_IMM(0, 0), EXIT), "invalid mem access 'scalar'", 10 },
	{ "ringbuf size not constant", XDP,
	  N(LDX_W(2, 1, 12), LD_MAP(1, 1), MOV_IMM(3, 0), CALL(131), MOV_IMM(0, 0), EXIT), "is not a known constant", 4 },
	{ "wrong map type for the ringbuf", XDP,
	  N(LD_MAP(1, 0), MOV_IMM(2, 8), MOV_IMM(3, 0), CALL(131), MOV_IMM(0, 0), EXIT), "cannot pass map_type 2", 4 },
	{ "lock and unlock", XDP,
	  N(KEY_ON_STACK, LD_MAP(1, 2), CALL(1), JEQ_IMM(0, 0, 7), MOV_REG(6, 0), MOV_REG(1, 0), CALL(93),
	    MOV_REG(1, 6), CALL(94), MOV_IMM(0, 0), EXIT, MOV_IMM(0, 0), EXIT), NULL, 0 },
	{ "lock not released", XDP,
	  N(KEY_ON_STACK, LD_MAP(1, 2), CALL(1), JEQ_IMM(0, 0, 4), MOV_REG(1, 0), CALL(93), MOV_IMM(0, 0), EXIT,
	    MOV_IMM(0, 0), EXIT), "cannot be used inside bpf_spin_lock-ed region", 10 },
	{ "helper call under a lock", XDP,
	  N(KEY_ON_STACK, LD_MAP(1, 2), CALL(1), JEQ_IMM(0, 0, 5), MOV_REG(1, 0), CALL(93), CALL(5), MOV_IMM(0, 0),
	    EXIT, MOV_IMM(0, 0), EXIT), "function calls are not allowed while holding a lock", 9 },
	{ "lock read directly", XDP,
	  N(KEY_ON_STACK, LD_MAP(1, 2), CALL(1), JEQ_IMM(0, 0, 2), LDX_W(0, 0, 0), EXIT, MOV_IMM(0, 0), EXIT),
	  "bpf_spin_lock cannot be accessed directly", 7 },
	{ "map pointer arithmetic", XDP, N(LD_MAP(1, 0), ADD_IMM(1, 8), MOV_IMM(0, 0), EXIT),
	  "pointer arithmetic on map_ptr prohibited", 2 },
	/* bpf_loop(3, callback at insn 8, ctx, 0) */
	{ "bpf_loop callback", XDP,
	  N(MOV_IMM(1, 3), LD_FUNC(2, 6), MOV_IMM(3, 0), MOV_IMM(4, 0), CALL(181), MOV_IMM(0, 0), EXIT, MOV_IMM(0, 0),
	    EXIT), NULL, 0 },
	{ "bpf_loop callback returning 2", XDP,
	  N(MOV_IMM(1, 3), LD_FUNC(2, 6), MOV_IMM(3, 0), MOV_IMM(4, 0), CALL(181), MOV_IMM(0, 0), EXIT, MOV_IMM(0, 2),
	    EXIT), "At callback return the register R0 has 2 should have been in [0, 1]", 9 },
	{ "bpf_loop callback using a NULL context", XDP,
	  N(MOV_IMM(1, 3), LD_FUNC(2, 6), MOV_IMM(3, 0), MOV_IMM(4, 0), CALL(181), MOV_IMM(0, 0), EXIT, LDX_DW(0, 2, 0),
	    EXIT), "R2 invalid mem access 'scalar'", 8 },
	/* the callback counts in the caller's stack: 8 bytes at fp-8 */
	{ "bpf_loop callback writing the caller's stack", XDP,
	  N(ST_DW(10, -8, 0), MOV_IMM(1, 3), LD_FUNC(2, 7), MOV_REG(3, 10), ADD_IMM(3, -8), MOV_IMM(4, 0), CALL(181),
	    LDX_DW(0, 10, -8), EXIT, LDX_DW(1, 2, 0), ADD_IMM(1, 1), STX_DW(2, 1, 0), MOV_IMM(0, 0), EXIT), NULL, 0 },
	{ "bpf_loop callback writing past the caller's slot", XDP,
	  N(ST_DW(10, -8, 0), MOV_IMM(1, 3), LD_FUNC(2, 7), MOV_REG(3, 10), ADD_IMM(3, -8), MOV_IMM(4, 0), CALL(181),
	    LDX_DW(0, 10, -8), EXIT, LDX_DW(1, 2, 8), MOV_IMM(0, 0), EXIT), "invalid read from stack", 10 },
};

static void check_map_cases(void)
{
	bpfvm_error err = { 0 };
	bpfvm_map *maps[3] = { 0 };
	bpfvm_map_def a = BPFVM_MAP_DEF_INIT, r = BPFVM_MAP_DEF_INIT, h = BPFVM_MAP_DEF_INIT;
	a.type = BPF_MAP_TYPE_ARRAY, a.key_size = 4, a.value_size = 16, a.max_entries = 4, a.name = "arr";
	r.type = BPF_MAP_TYPE_RINGBUF, r.max_entries = 4096, r.name = "rb";
	h.type = BPF_MAP_TYPE_HASH, h.key_size = 4, h.value_size = 16, h.max_entries = 4, h.name = "locked";
	h.spin_lock_off = 0;
	int rc = bpfvm_map_create(&a, &maps[0], &err);
	if (!rc)
		rc = bpfvm_map_create(&r, &maps[1], &err);
	if (!rc)
		rc = bpfvm_map_create(&h, &maps[2], &err);
	CHECK(rc == 0, "creating the maps: %s", err.msg);
	if (rc)
		goto out;
	for (size_t i = 0; i < sizeof map_cases / sizeof map_cases[0]; i++) {
		const struct map_case *c = &map_cases[i];
		BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = c->type, .maps = maps, .map_count = 3);
		rc = bpfvm_verify(c->insns, c->count, &vo, NULL, &err);
		if (!c->expect) {
			CHECK(rc == 0, "%s: rejected: %s", c->name, err.msg);
		} else {
			CHECK(rc != 0, "%s: accepted, expected \"%s\"", c->name, c->expect);
			CHECK(rc == 0 || strstr(err.msg, c->expect), "%s: message \"%s\", expected \"%s\"", c->name, err.msg,
			      c->expect);
			CHECK(rc == 0 || err.insn == c->insn, "%s: names insn %d, expected %d", c->name, err.insn, c->insn);
		}
	}
out:
	for (int i = 0; i < 3; i++)
		bpfvm_map_put(maps[i]);
}

/* ---- which maps each helper takes ------------------------------------------ */

/* The map types bpfvm models, one map of each (map-in-map with an array
 * inside), for the kernel's check_map_func_compatibility below. */
static int create_each_map_type(bpfvm_map **maps, size_t *count, bpfvm_error *err)
{
	static const struct { uint32_t type, key, value, max, flags, extra; } defs[] = {
		{ BPF_MAP_TYPE_HASH, 4, 8, 4, 0, 0 },           { BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, 0 },
		{ BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0, 0 },     { BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 4, 0, 0 },
		{ BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 4, 0, 0 },    { BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4, 0, 0 },
		{ BPF_MAP_TYPE_LRU_HASH, 4, 8, 4, 0, 0 },       { BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 4, 0, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, BPF_F_NO_PREALLOC, 0 },
		{ BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 4, 0, 0 },  { BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 4, 0, 0 },
		{ BPF_MAP_TYPE_QUEUE, 0, 8, 4, 0, 0 },          { BPF_MAP_TYPE_STACK, 0, 8, 4, 0, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, 0 },     { BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 4, 0, 1 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 64, 4, 0, 0 },
	};
	bpfvm_map *inner = NULL;
	bpfvm_map_def in = BPFVM_MAP_DEF_INIT;
	in.type = BPF_MAP_TYPE_ARRAY, in.key_size = 4, in.value_size = 8, in.max_entries = 4, in.name = "inner";
	int rc = bpfvm_map_create(&in, &inner, err);
	for (size_t i = 0; !rc && i < sizeof defs / sizeof defs[0]; i++) {
		bpfvm_map_def d = BPFVM_MAP_DEF_INIT;
		d.type = defs[i].type, d.key_size = defs[i].key, d.value_size = defs[i].value;
		d.max_entries = defs[i].max, d.flags = defs[i].flags, d.map_extra = defs[i].extra, d.name = "m";
		if (d.type == BPF_MAP_TYPE_ARRAY_OF_MAPS || d.type == BPF_MAP_TYPE_HASH_OF_MAPS)
			d.inner = inner;
		rc = bpfvm_map_create(&d, &maps[i], err);
		*count = i + (rc == 0);
	}
	bpfvm_map_put(inner);
	return rc;
}

#define BIT(type) (1ull << BPF_MAP_TYPE_##type)
#define RESTRICTED (BIT(PROG_ARRAY) | BIT(PERF_EVENT_ARRAY) | BIT(RINGBUF) | BIT(QUEUE) | BIT(STACK) | \
                    BIT(BLOOM_FILTER) | BIT(STACK_TRACE))
#define PERCPU (BIT(PERCPU_ARRAY) | BIT(PERCPU_HASH) | BIT(LRU_PERCPU_HASH))

/* Each helper taking a map, against a map of each type: refused with the
 * kernel's "cannot pass map_type" exactly when the kernel refuses it (a
 * ringbuf only to the ringbuf helpers, a prog_array only to tail_call,
 * an outer map only to lookups, ...). */
static void check_map_helper_pairs(void)
{
	static const struct { uint32_t id; int map_reg; uint64_t takes; } helpers[] = {
		{ BPF_FUNC_map_lookup_elem, 1, ~RESTRICTED },
		{ BPF_FUNC_map_update_elem, 1, ~(RESTRICTED | BIT(ARRAY_OF_MAPS) | BIT(HASH_OF_MAPS)) },
		{ BPF_FUNC_map_delete_elem, 1, ~(RESTRICTED | BIT(ARRAY_OF_MAPS) | BIT(HASH_OF_MAPS)) },
		{ BPF_FUNC_tail_call, 2, BIT(PROG_ARRAY) },
		{ BPF_FUNC_perf_event_output, 2, BIT(PERF_EVENT_ARRAY) },
		{ BPF_FUNC_map_push_elem, 1, BIT(QUEUE) | BIT(STACK) | BIT(BLOOM_FILTER) },
		{ BPF_FUNC_map_pop_elem, 1, BIT(QUEUE) | BIT(STACK) },
		{ BPF_FUNC_map_peek_elem, 1, BIT(QUEUE) | BIT(STACK) | BIT(BLOOM_FILTER) },
		{ BPF_FUNC_ringbuf_output, 1, BIT(RINGBUF) },
		{ BPF_FUNC_ringbuf_reserve, 1, BIT(RINGBUF) },
		{ BPF_FUNC_ringbuf_query, 1, BIT(RINGBUF) },
		{ BPF_FUNC_for_each_map_elem, 1,
		  BIT(HASH) | BIT(LRU_HASH) | BIT(ARRAY) | BIT(PERCPU_HASH) | BIT(PERCPU_ARRAY) | BIT(LRU_PERCPU_HASH) },
		{ BPF_FUNC_map_lookup_percpu_elem, 1, PERCPU },
		{ BPF_FUNC_get_stackid, 2, BIT(STACK_TRACE) },   /* a tracing helper: checked in a kprobe program */
	};
	bpfvm_error err = { 0 };
	bpfvm_map *maps[16] = { 0 };
	size_t count = 0;
	int rc = create_each_map_type(maps, &count, &err);
	CHECK(rc == 0, "creating a map of each type: %s", err.msg);
	for (size_t h = 0; !rc && h < sizeof helpers / sizeof helpers[0]; h++) {
		for (size_t m = 0; m < count; m++) {
			bpfvm_insn prog[] = { LD_MAP(helpers[h].map_reg, (int32_t)m), CALL((int32_t)helpers[h].id), MOV_IMM(0, 0),
			                      EXIT };
			uint32_t type = helpers[h].id == BPF_FUNC_get_stackid ? BPF_PROG_TYPE_KPROBE : XDP;
			BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = type, .maps = maps, .map_count = count);
			rc = bpfvm_verify(prog, sizeof prog / sizeof prog[0], &vo, NULL, &err);
			bpfvm_map_info info;
			bpfvm_map_info_get(maps[m], &info);
			bool refused = rc != 0 && strstr(err.msg, "cannot pass map_type") && err.insn == 2;
			bool takes = helpers[h].takes >> info.type & 1;
			CHECK(refused != takes, "helper %u with map type %u: %s", helpers[h].id, info.type,
			      rc ? err.msg : "accepted");
			rc = 0;
		}
	}
	for (size_t m = 0; m < count; m++)
		bpfvm_map_put(maps[m]);
}

/* ---- logs --------------------------------------------------------------- */

static void check_logs(void)
{
	struct logbuf b = { 0 };
	bpfvm_insn *insns;
	size_t count;
	bpfvm_error err;
	const char *text = "ldxb %r2, [%r1+0]\njgt %r2, 9, out\nadd %r1, %r2\nldxdw %r0, [%r1+0]\nexit\nout:\nmov %r0, 0\nexit";
	if (bpfvm_asm(text, &insns, &count, &err)) {
		CHECK(0, "log program does not assemble: %s", err.msg);
		return;
	}
	log_clear(&b);
	BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = RAW, .mem_size = 16, .log = log_append, .log_user = &b, .log_level = 1);
	int rc = bpfvm_verify(insns, count, &vo, NULL, &err);
	CHECK(rc == -EACCES, "log program: rc %d", rc);
	CHECK(strstr(b.text, "processed ") && strstr(b.text, " insns (limit 1000000) max_states_per_insn"),
	      "no kernel summary line in the log:\n%s", b.text);
	CHECK(strstr(b.text, "R2=scalar(") || strstr(b.text, "R1=mem("), "no register state in the log:\n%s", b.text);
	CHECK(strstr(b.text, "path: branches at 1 not taken"), "no path in the log:\n%s", b.text);
	CHECK(strstr(err.msg, "r0 = *(u64 *)(r1 + 0x0)") || strstr(err.msg, "insn 3:"), "no disassembly: %s", err.msg);

	/* level 0 still reports the reason and state of a rejection */
	log_clear(&b);
	vo.log_level = 0;
	rc = bpfvm_verify(insns, count, &vo, NULL, &err);
	CHECK(rc == -EACCES && strstr(b.text, "state: ") && !strstr(b.text, "processed "),
	      "level 0 log:\n%s", b.text);
	free(insns);
	free(b.text);
}

/* ---- objects ------------------------------------------------------------ */

/* Every program of every *.bpf.o in dir must be accepted; returns how
 * many objects were checked. */
static int check_objects_in(const char *dir)
{
	DIR *d = dir ? opendir(dir) : NULL;
	if (!d)
		return 0;
	int objects = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 6 || strcmp(e->d_name + n - 6, ".bpf.o"))
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		bpfvm_object *obj;
		bpfvm_error err = { 0 };
		if (bpfvm_object_open(path, &obj, &err)) {
			CHECK(0, "%s: %s", path, err.msg);
			continue;
		}
		bpfvm_verify_stats st = { 0 };
		BPFVM_OPTS(bpfvm_instance_opts, io, .verify = true, .verify_stats = &st);
		bpfvm_instance *inst = NULL;
		int rc = bpfvm_instance_new(obj, &io, &inst, &err);
		CHECK(rc == 0, "%s: %s", e->d_name, err.msg);
		bpfvm_instance_free(inst);
		bpfvm_object_free(obj);
		objects++;
	}
	closedir(d);
	return objects;
}

/* The examples and the objects test_objects runs: the kernel accepts all
 * of them (test_objects loads them into it), so must bpfvm. */
static void check_examples(void)
{
	const char *dir = getenv("BPFVM_EXAMPLES_DIR");
#ifdef BPFVM_EXAMPLES_DIR
	if (!dir)
		dir = BPFVM_EXAMPLES_DIR;
#endif
	if (!dir) {
		printf("note: no examples directory (BPFVM_EXAMPLES_DIR), skipped the object checks\n");
		return;
	}
	int n = check_objects_in(dir);
	CHECK(n >= 6, "only %d example objects found in %s", n, dir);
	char tests[1024];
	snprintf(tests, sizeof tests, "%s/../tests/objects", dir);
	n = check_objects_in(tests);
	CHECK(n >= 2, "only %d test objects found in %s", n, tests);
}

/* ---- the conformance suite ---------------------------------------------- */

static void check_conformance(void)
{
	const char *shared = getenv("BPFVM_SHARED_DIR");
#ifdef BPFVM_SHARED_DIR
	if (!shared)
		shared = BPFVM_SHARED_DIR;
#endif
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/bpf-conformance/tests", shared ? shared : "../shared");
	DIR *d = opendir(dir);
	if (!d) {
		printf("note: no conformance suite at %s, skipped\n", dir);
		return;
	}
	int accepted = 0, rejected = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 5, ".data"))
			continue;
		char path[2048];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		char *text = datafile_read(path);
		char *asm_text = text ? datafile_section(text, "asm") : NULL;
		char *mem_text = text ? datafile_section(text, "mem") : NULL;
		bpfvm_insn *insns = NULL;
		size_t count = 0;
		bpfvm_error err = { 0 };
		uint8_t mem[4096] = { 0 };
		size_t mem_len = 0;
		if (mem_text)
			for (char *p = mem_text; *p && mem_len < sizeof mem;) {
				char *end;
				unsigned long v = strtoul(p, &end, 16);
				if (end == p) {
					p++;
					continue;
				}
				mem[mem_len++] = (uint8_t)v;
				p = end;
			}
		if (asm_text && bpfvm_asm(asm_text, &insns, &count, &err) == 0) {
			bpfvm_helpers *h = bpfvm_helpers_new_kernel(&err);
			BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = RAW, .mem_size = (uint32_t)mem_len, .helpers = h);
			int rc = bpfvm_verify(insns, count, &vo, NULL, &err);
			if (rc == 0) {
				accepted++;
				bpfvm_program *prog = NULL;
				BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = h);
				if (bpfvm_program_load(insns, count, &lo, &prog, &err) == 0) {
					uint8_t m1[4096], m2[4096];
					memcpy(m1, mem, sizeof m1);
					memcpy(m2, mem, sizeof m2);
					uint64_t r_checked = 0, r_unchecked = 0;
					bpfvm_error e1 = { 0 }, e2 = { 0 };
					int c1 = bpfvm_program_run_mem(prog, m1, mem_len, BPFVM_CHECKED, &r_checked, &e1);
					CHECK(c1 == 0, "%s: accepted by the verifier but the checked run failed: %s", e->d_name,
					      e1.msg);
					if (c1 == 0) {
						int c2 = bpfvm_program_run_mem(prog, m2, mem_len, BPFVM_UNCHECKED, &r_unchecked, &e2);
						CHECK(c2 == 0 && r_checked == r_unchecked, "%s: unchecked run differs", e->d_name);
					}
					bpfvm_program_free(prog);
				}
			} else {
				rejected++;
			}
			bpfvm_helpers_free(h);
		}
		free(insns);
		free(asm_text);
		free(mem_text);
		free(text);
	}
	closedir(d);
	printf("conformance suite: %d programs accepted, %d rejected by the verifier\n", accepted, rejected);
	CHECK(accepted > 100, "only %d conformance programs accepted", accepted);
}

static long peak_rss_kb(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}

/* Nested loops whose counter never meets its bound: one path walked to
 * the 1M-instruction limit, with a checkpoint every few iterations (the
 * shape of tests/fuzz/regressions/fuzz_exec/verifier-nested-back-jumps-
 * unbounded-memory.bin).  Its states once took 600 MB (that input's,
 * 2 GB); bounded, they take under 100 MB.  Run first, while the
 * process's peak is still low, so that the peak's growth is the walk's.
 * The limit leaves room for a sanitizer's quarantine. */
static void check_complexity_memory(void)
{
	const char *text = "mov %r0, 0\nouter:\nadd %r0, 1\ninner:\nadd %r2, 0x921d00b7\n"
	                   "jne32 %r2, 0x92929292, inner\nstdw [%r10-8], 0\njne %r0, 0, outer\nexit";
	bpfvm_insn *insns;
	size_t count;
	bpfvm_error err;
	if (bpfvm_asm(text, &insns, &count, &err)) {
		CHECK(0, "nested loop program does not assemble: %s", err.msg);
		return;
	}
	long before = peak_rss_kb();
	bpfvm_verify_stats stats;
	BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = RAW, .mem_size = 0);
	int rc = bpfvm_verify(insns, count, &vo, &stats, &err);
	long grown_mb = (peak_rss_kb() - before) / 1024;
	CHECK(rc == -E2BIG && strstr(err.msg, "BPF program is too large. Processed 1000001 insn"),
	      "nested loops: rc %d: %s", rc, err.msg);
	CHECK(stats.processed_insns == 1000001, "nested loops: processed %" PRIu64, stats.processed_insns);
#if defined(__SANITIZE_ADDRESS__)
	const long limit_mb = 600;
#else
	const long limit_mb = 300;
#endif
	CHECK(grown_mb < limit_mb, "nested loops: the verifier's peak memory grew by %ld MB (limit %ld)", grown_mb,
	      limit_mb);
	printf("nested loops to the 1M limit: peak memory +%ld MB, %" PRIu64 " ms, %u states kept\n", grown_mb,
	       stats.nanoseconds / 1000000, stats.total_states);
	free(insns);
}

/* A write to r10 behind a jump the walk never takes (r0 is known 0): the
 * verifier accepts it, as the kernel does (it removes the dead code);
 * loaded with the walk, both the plain write and an lddw into r10 become
 * jumps to the next instruction and the program runs; loaded without
 * it, the write is refused. */
static void check_dead_fp_writes(void)
{
	const char *text = "mov %r0, 0\njeq %r0, 1, +1\nexit\nmov %r10, 5\nlddw %r10, 0x1122334455667788\nexit";
	bpfvm_insn *insns;
	size_t count;
	bpfvm_error err;
	if (bpfvm_asm(text, &insns, &count, &err)) {
		CHECK(0, "dead r10 writes: does not assemble: %s", err.msg);
		return;
	}
	uint8_t walked[8];
	memset(walked, 0xee, sizeof walked);
	BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = RAW, .mem_size = 0, .walked = walked);
	int rc = bpfvm_verify(insns, count, &vo, NULL, &err);
	CHECK(rc == 0, "dead r10 writes: rejected: %s", err.msg);
	CHECK(count == 7 && walked[0] == 1 && walked[1] == 1 && walked[2] == 1 && !walked[3] && !walked[4] && !walked[5] &&
	      !walked[6], "dead r10 writes: walked map %u%u%u%u%u%u%u", walked[0], walked[1], walked[2], walked[3],
	      walked[4], walked[5], walked[6]);
	bpfvm_program *prog = NULL;
	BPFVM_OPTS(bpfvm_load_opts, plain);
	rc = bpfvm_program_load(insns, count, &plain, &prog, &err);
	CHECK(rc != 0 && err.insn == 3 && strstr(err.msg, "r10 (the frame pointer) is read-only"),
	      "dead r10 writes without the walk: rc %d at %d: %s", rc, err.insn, err.msg);
	bpfvm_program_free(prog);
	prog = NULL;
	BPFVM_OPTS(bpfvm_load_opts, lo, .walked = walked);
	rc = bpfvm_program_load(insns, count, &lo, &prog, &err);
	CHECK(rc == 0, "dead r10 writes with the walk: %s", err.msg);
	if (!rc) {
		const bpfvm_insn *loaded = bpfvm_program_insns(prog);
		bool jumps = true;
		for (size_t pc = 3; pc < 6; pc++)
			jumps &= loaded[pc].opcode == (BPF_JMP | BPF_JA) && !loaded[pc].off && !loaded[pc].imm &&
			         !loaded[pc].dst && !loaded[pc].src;
		CHECK(jumps, "dead r10 writes: instructions 3..5 are not jumps to the next once loaded");
		CHECK(insns[3].dst == 10, "dead r10 writes: the caller's instructions were changed");
		uint64_t r0 = 1;
		BPFVM_OPTS(bpfvm_run_opts, ro, .mode = BPFVM_UNCHECKED);
		rc = bpfvm_program_run(prog, &ro, &r0, &err);
		CHECK(rc == 0 && r0 == 0, "dead r10 writes: run rc %d r0 %" PRIu64 ": %s", rc, r0, err.msg);
	}
	bpfvm_program_free(prog);
	/* a write the walk reaches stays refused */
	walked[3] = 1;
	prog = NULL;
	rc = bpfvm_program_load(insns, count, &lo, &prog, &err);
	CHECK(rc != 0 && err.insn == 3, "a walked r10 write loads: rc %d at %d", rc, err.insn);
	bpfvm_program_free(prog);
	free(insns);
}

int main(void)
{
	check_complexity_memory();
	check_dead_fp_writes();
	check_asm_cases();
	check_map_cases();
	check_map_helper_pairs();
	check_logs();
	check_examples();
	check_conformance();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
