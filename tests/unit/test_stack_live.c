/*
 * test_stack_live.c - tests of the verifier's stack-slot liveness
 * (src/verifier/stack_live.c).
 *
 * Owns the checks that
 *   1. the slots live before each instruction, and those written whole on
 *      every way on, are what the kernel 6.18 logs for the same programs
 *      at log level 2 (its selftests' verifier_live_stack.c: "(0) frame 0
 *      insn 1 +live -24"), reads through a pointer given to a subprogram
 *      included;
 *   2. a kept state's slot no path reads again does not keep a path from
 *      being pruned at a join, and one read later (by the program itself
 *      or by a subprogram through a pointer) does: the second path is
 *      walked and its unsafe access found.
 *
 * A plain program: one line per failure, then "N passed, M failed".
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/verifier.h"
#include "support/check.h"
#include "support/verifier_testlib.h"

/* Verifies the assembly `text` as a socket filter (or raw memory of 16
 * bytes when raw) at log level 2 into *log: the verifier's return code. */
static int verify_logged(const char *name, const char *text, bool raw, struct logbuf *log)
{
	bpfvm_insn *insns;
	size_t count;
	bpfvm_error err;
	if (bpfvm_asm(text, &insns, &count, &err)) {
		CHECK(0, "%s does not assemble: %s", name, err.msg);
		return -EINVAL;
	}
	log_clear(log);
	BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = raw ? BPFVM_PROG_TYPE_RAW : BPF_PROG_TYPE_SOCKET_FILTER,
	           .mem_size = raw ? 16 : 0, .log = log_append, .log_user = log, .log_level = 2);
	int rc = bpfvm_verify(insns, count, &vo, NULL, &err);
	free(insns);
	return rc;
}

/* Each of lines (NULL-terminated) must be in log, in this order. */
static void check_lines_in_order(const char *name, const char *log, const char *const *lines)
{
	const char *at = log ? log : "";
	for (; *lines; lines++) {
		const char *found = strstr(at, *lines);
		if (!CHECK(found, "%s: no \"%s\" in order in the log:\n%s", name, *lines, log ? log : ""))
			return;
		at = found + strlen(*lines);
	}
}

struct log_case {
	const char *name;
	const char *text;
	const char *lines[16];
};

/* The kernel's verifier_live_stack.c programs, with the lines its
 * selftests expect (the same numbering: bpfvm's assembler has no
 * instruction the kernel's lacks). */
static const struct log_case log_cases[] = {
	{ "simple_read_simple_write",
	  "ldxdw %r1, [%r10-8]\nldxdw %r2, [%r10-24]\nstxdw [%r10-8], %r1\nmov %r0, 0\nexit",
	  { "(0) frame 0 insn 2 +written -8", "(0) frame 0 insn 1 +live -24", "(0) frame 0 insn 1 +written -8",
	    "(0) frame 0 insn 0 +live -8,-24", "(0) frame 0 insn 0 +written -8",
	    "(0) live stack update done in 2 iterations", NULL } },
	/* two paths: what each reads joins, only what both write is written */
	{ "read_write_join",
	  "call 7\njgt %r0, 42, l1\nldxdw %r0, [%r10-8]\nstxdw [%r10-32], %r0\nstxdw [%r10-40], %r0\nexit\n"
	  "l1:\nldxdw %r0, [%r10-16]\nstxdw [%r10-32], %r0\nexit",
	  { "(0) frame 0 insn 1 +live -8", "(0) live stack update done in 2 iterations",
	    "(0) frame 0 insn 1 +live -16", "(0) frame 0 insn 1 +written -32",
	    "(0) live stack update done in 2 iterations", NULL } },
	/* one store, to a different slot on each path: written on neither */
	{ "must_write_not_same_slot",
	  "call 7\nmov %r1, -8\njgt %r0, 42, l1\nmov %r1, -16\nl1:\nmov %r2, %r10\nadd %r2, %r1\n"
	  "stxdw [%r2+0], %r0\nexit",
	  { "(0) frame 0 insn 2 +written -16", "(0) live stack update done in 2 iterations", "7: (95) exit",
	    "(0) live stack update done in 1 iterations", NULL } },
	/* a loop: the flow visits the instructions in the kernel's order
	 * (its compute_postorder), so the lines and the rounds are its own
	 * (the kernel 6.18's log for the same instructions) */
	{ "loop_live",
	  "mov %r1, 0\nstxdw [%r10-8], %r1\nstxdw [%r10-16], %r1\nl:\nldxdw %r2, [%r10-8]\nadd %r2, 1\n"
	  "stxdw [%r10-8], %r2\njlt %r2, 4, l\nldxdw %r0, [%r10-16]\nexit",
	  { "(0) frame 0 insn 7 +live -16", "(0) frame 0 insn 6 +live -16", "(0) frame 0 insn 5 +live -16",
	    "(0) frame 0 insn 5 +written -8", "(0) frame 0 insn 3 +live -8,-16", "(0) frame 0 insn 3 +written -8",
	    "(0) frame 0 insn 2 +live -8", "(0) frame 0 insn 2 +written -8,-16",
	    "(0) frame 0 insn 1 +written -8,-16", "(0) frame 0 insn 0 +written -8,-16",
	    "(0) frame 0 insn 6 +live -8", "(0) live stack update done in 3 iterations", NULL } },
	/* a subprogram's writes to its caller's stack are the call's */
	{ "caller_stack_write",
	  "mov %r1, %r10\nadd %r1, -8\ncall local f\nexit\nf:\nstdw [%r1+0], 7\nmov %r0, 0\nexit",
	  { "(2,4) frame 0 insn 4 +written -8", "(2,4) live stack update done in 2 iterations",
	    "(0) frame 0 insn 2 +written -8", "(0) live stack update done in 2 iterations", NULL } },
	/* and its reads, per call site: each call reads its own slot */
	{ "caller_stack_read",
	  "mov %r1, %r10\nadd %r1, -8\ncall local f\nmov %r1, %r10\nadd %r1, -16\ncall local f\nexit\n"
	  "f:\nldxdw %r0, [%r1+0]\nexit",
	  { "(2,7) frame 0 insn 7 +live -8", "(2,7) live stack update done in 2 iterations",
	    "(0) frame 0 insn 2 +live -8", "(0) live stack update done in 2 iterations",
	    "(5,7) frame 0 insn 7 +live -16", "(5,7) live stack update done in 2 iterations",
	    "(0) frame 0 insn 5 +live -16", "(0) live stack update done in 2 iterations", NULL } },
};

static void check_log_cases(void)
{
	struct logbuf log = { 0 };
	for (size_t i = 0; i < sizeof log_cases / sizeof log_cases[0]; i++) {
		const struct log_case *c = &log_cases[i];
		int rc = verify_logged(c->name, c->text, false, &log);
		if (CHECK(rc == 0, "%s: rejected (%d):\n%s", c->name, rc, log.text ? log.text : ""))
			check_lines_in_order(c->name, log.text, c->lines);
	}
	free(log.text);
}

/* Two paths to the join at `join` (instruction 15): the first, walked
 * first and kept there, spills the memory pointer r7 to fp-8, the second
 * the number 8: a spilled pointer covers no number, unless the slot is
 * dead.  Then the case's instructions, which decide whether it is. */
#define TWO_PATHS                                                                                \
	"mov %r7, %r1\ncall 7\nmov %r6, 8\njeq %r0, 0, second\nmov %r6, 0\n"                      \
	"mov %r2, 1\nmov %r3, 2\nmov %r4, 3\nmov %r5, 4\nmov %r2, 5\nmov %r3, 6\nmov %r4, 7\n"   \
	"stxdw [%r10-8], %r7\nja join\n"                                                         \
	"second:\nstxdw [%r10-8], %r6\n"                                                         \
	"join:\nmov %r6, 0\n"

struct prune_case {
	const char *name;
	const char *after;
	const char *expect;   /* NULL: accepted, with the second path pruned at the join */
};

static const struct prune_case prune_cases[] = {
	/* overwritten before any read: dead at the join, the paths equal */
	{ "slot dead at the join", "stxdw [%r10-8], %r7\nldxdw %r1, [%r10-8]\nldxdw %r0, [%r1+8]\nexit", NULL },
	/* read and dereferenced: the second path's number is no pointer */
	{ "slot read after the join", "ldxdw %r1, [%r10-8]\nldxdw %r0, [%r1+8]\nexit", "invalid mem access" },
	/* read by a subprogram through a pointer: live at the call */
	{ "slot read by a subprogram",
	  "mov %r1, %r10\nadd %r1, -8\nmov %r2, 0\nmov %r3, 0\nmov %r4, 0\nmov %r5, 0\ncall local f\nexit\n"
	  "f:\nldxdw %r3, [%r1+0]\nldxdw %r0, [%r3+8]\nexit", "invalid mem access" },
};

static void check_prune_cases(void)
{
	struct logbuf log = { 0 };
	for (size_t i = 0; i < sizeof prune_cases / sizeof prune_cases[0]; i++) {
		const struct prune_case *c = &prune_cases[i];
		char text[1024];
		snprintf(text, sizeof text, "%s%s", TWO_PATHS, c->after);
		int rc = verify_logged(c->name, text, true, &log);
		const char *l = log.text ? log.text : "";
		if (!c->expect) {
			CHECK(rc == 0, "%s: rejected (%d):\n%s", c->name, rc, l);
			CHECK(strstr(l, "15: safe"), "%s: the second path not pruned at the join:\n%s", c->name, l);
		} else {
			CHECK(rc != 0 && strstr(l, c->expect), "%s: not rejected for \"%s\" (%d):\n%s", c->name,
			      c->expect, rc, l);
		}
	}
	free(log.text);
}

int main(void)
{
	check_log_cases();
	check_prune_cases();
	return check_summary();
}
