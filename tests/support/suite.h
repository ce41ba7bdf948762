/*
 * suite.h - the verifier's negative suite as data: every program of
 * tests/verifier/negative/ with its expected verdict and message.
 *
 * Owns: finding the suite's files, reading their annotations (the syntax
 * is documented in tests/verifier/README.md) and the program type of the
 * assembly cases.  Shared by test_verifier_kernel_suite.c (the kernel must
 * give each annotated verdict) and test_verifier_suite.c (bpfvm must).
 *
 *   C file  (NAME.c, built to NAME.bpf.o):   // expect PROG: reject "text"
 *                                            // expect PROG: accept
 *   asm file (NAME.s, one program NAME):     # type: socket_filter | xdp
 *                                            # expect NAME: reject "text"
 */
#ifndef BPFVM_TESTS_SUITE_H
#define BPFVM_TESTS_SUITE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct suite_case {
	char file[64];       /* e.g. "maps.c", "r10_write.s" */
	char prog[64];       /* program (function) name; the file's stem for asm */
	bool is_asm;
	uint32_t prog_type;  /* asm: from "# type:"; C: 0 (the section says) */
	bool expect_reject;
	char msg[160];       /* expected substring of the verifier's message ("" for accept) */
	int line;            /* of the annotation */
};

struct suite {
	struct suite_case *cases;
	size_t count;
	char error[1024];     /* a malformed annotation or file */
};

/* Reads every annotation of the suite; returns 0, or -1 with s->error. */
int suite_load(struct suite *s);

/* The assembly source of an asm case (malloc'd), or NULL. */
char *suite_asm_text(const struct suite_case *c);

/* The object built from a C case. */
void suite_obj_path(const struct suite_case *c, char *buf, size_t len);

void suite_free(struct suite *s);

#endif
