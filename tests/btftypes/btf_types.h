/*
 * btf_types.h - the structs of tests/btftypes: the target BTF
 * (btf_target.c) declares its functions with them, and the programs
 * (btf_progs.c, btf_run.c) read them, so their layouts agree by
 * construction.
 */
#ifndef BPFVM_TESTS_BTF_TYPES_H
#define BPFVM_TESTS_BTF_TYPES_H

struct inner { int a; unsigned short b[4]; };
struct cred { unsigned int uid; unsigned int gid; };
struct task {
	int pid;
	unsigned int flags : 4, state : 4;
	struct inner in;
	char comm[16];
	const struct cred *cred;
	struct task *parent;
	void *opaque;
	long *counter;
};
struct file { unsigned int f_flags; struct task *owner; };

#endif
