/*
 * kload.h - asks the running kernel for its verdict on one program.
 *
 * Owns: loading one program of a clang object alone (libbpf opens the
 * object, only that program is autoloaded, every map is created) or a bare
 * instruction array (bpf(BPF_PROG_LOAD)), as root, with a verifier log at
 * BPF_LOG_STATS level, and sorting the outcome into: accepted (with the
 * "processed N insns" figure), rejected by the kernel (with the verifier's
 * message), or not judged (libbpf or the object failed before the verifier
 * saw the program: a map it cannot create, an attach target, a section
 * libbpf does not know, a CO-RE relocation it poisoned, or a refusal by the
 * kernel that carries no verifier message, such as EPERM for an attach
 * point this kernel does not allow).
 *
 * Shared by tests/verifier/kernel_verdict.c (the selftests measurement) and
 * tests/kernel/test_verifier_kernel_suite.c (the negative suite's labels).
 * The loading itself is in kload.c.
 */
#ifndef BPFVM_TESTS_KLOAD_H
#define BPFVM_TESTS_KLOAD_H

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum kload_verdict {
	KLOAD_ACCEPT = 0,
	KLOAD_REJECT = 1,
	KLOAD_ERROR = 2,  /* never reached the verifier */
};

extern const char *const kload_verdict_names[]; /* by enum kload_verdict */

/* libbpf's warnings of the current load, kept to tell a verifier
 * rejection from a failure before the program reached the kernel. */
extern char kload_libbpf_text[16384];
extern size_t kload_libbpf_len;

struct kload_result {
	enum kload_verdict verdict;
	int err;              /* negative errno of the failed load, 0 on success */
	long processed;       /* "processed N insns", -1 if the log has none */
	char msg[400];        /* reject: the verifier's last message line;
	                         error: what libbpf said */
	const char *log;      /* the whole verifier log (the loader's buffer) */
};

#define KLOAD_LOG_SIZE (4u << 20)

/* Routes libbpf's messages into kload_libbpf_text (call once first). */
void kload_init(void);

/* Whether the kernel offers bpf() to this process: a trivial socket
 * filter loads. */
bool kload_available(void);

/* The first line of libbpf's text that names the failure, for KLOAD_ERROR. */
void kload_libbpf_msg(struct kload_result *r);

/* Gives a program of a section this libbpf does not know (but later
 * ones do) its program and expected attach types. */
void kload_fix_type(struct bpf_program *prog);

/* Programs loaded along with the one judged (the selftests' auxiliary
 * programs, which a prog_array of the object may name). */
typedef bool (*kload_also_fn)(const char *name, void *user);

/* Loads program `prog_name` of the object at `path`, alone but for the
 * programs `also` names; extra_flags are OR-ed into its prog_flags. */
void kload_object_prog(const char *path, const char *prog_name, uint32_t extra_flags,
                       kload_also_fn also, void *also_user, struct kload_result *r);

/* Loads a bare instruction array as `type` (license GPL). */
void kload_insns(uint32_t type, const struct bpf_insn *insns, size_t count, struct kload_result *r);
/* The same with prog_flags (BPF_F_SLEEPABLE, ...). */
void kload_insns_flags(uint32_t type, uint32_t prog_flags, const struct bpf_insn *insns, size_t count,
                       struct kload_result *r);

#endif
