/*
 * btf_progs.c - BTF-typed programs verified against btf_target.c's BTF
 * (tests/cli_btftypes.sh): each program's name says what bpfvm must
 * answer (accept_*, reject_*), and the test checks the reason too.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "btf_types.h"

/* what the programs read goes here, so that clang keeps the reads */
__u64 sink;

/* fentry: a scalar argument, a struct's fields, nested struct and array,
 * a pointer member walked to another struct. */
SEC("fentry/target_fn")
int BPF_PROG(accept_fentry_fields, int a, struct task *t)
{
	sink = a + t->pid + t->in.b[2] + t->comm[3] + t->parent->pid + t->cred->gid + t->state;
	return 0;
}

/* the return value: fexit sees it after the arguments */
SEC("fexit/target_fn")
int BPF_PROG(accept_fexit_ret, int a, struct task *t, int ret)
{
	sink = ret + a;
	return 0;
}

SEC("fentry/target_fn")
int reject_ctx_write(__u64 *ctx)
{
	ctx[0] = 1;
	return 0;
}

SEC("fentry/target_fn")
int BPF_PROG(reject_field_write, int a, struct task *t)
{
	t->pid = a;
	return 0;
}

SEC("fentry/target_fn")
int reject_beyond_struct(__u64 *ctx)
{
	struct task *t = (void *)ctx[1];
	return *(int *)((char *)t + sizeof(struct task));
}

SEC("fentry/target_fn")
int reject_ptr_member_half(__u64 *ctx)
{
	struct task *t = (void *)ctx[1];
	return *(int *)&t->parent;
}

SEC("fentry/target_fn")
int reject_no_such_arg(__u64 *ctx)
{
	return ctx[2];
}

SEC("fentry/target_fn")
int reject_ptr_arg_narrow(__u64 *ctx)
{
	return *(__u32 *)&ctx[1];
}

SEC("fentry/target_fn")
int reject_fentry_return_1(__u64 *ctx)
{
	return 1;
}

/* void *: a number, no walk */
SEC("fentry/target_fn")
int BPF_PROG(reject_deref_void_member, int a, struct task *t)
{
	return *(int *)t->opaque;
}

SEC("fentry/target_fn")
int BPF_PROG(accept_probe_read_void, int a, struct task *t)
{
	int v = 0;
	bpf_probe_read_kernel(&v, sizeof v, t->opaque);
	sink = v;
	return 0;
}

SEC("fmod_ret/target_fn")
int BPF_PROG(accept_fmod_ret, int a, struct task *t, int ret)
{
	return a + ret;
}

SEC("fmod_ret/target_ret_ptr")
int reject_fmod_ret_ptr(__u64 *ctx)
{
	return ctx[1] != 0;
}

SEC("fexit/target_ret_ptr")
int BPF_PROG(accept_fexit_ret_ptr, struct task *t, struct task *ret)
{
	sink = ret->pid;
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(accept_lsm_errno, struct file *f)
{
	return f->f_flags & 1 ? -1 : 0;
}

SEC("lsm/file_open")
int BPF_PROG(reject_lsm_positive, struct file *f)
{
	return f->owner->pid & 1;
}

SEC("lsm/audit_rule_known")
int BPF_PROG(accept_lsm_bool, struct file *f)
{
	return 1;
}

SEC("lsm/file_free_security")
int BPF_PROG(accept_lsm_void, struct file *f)
{
	return 42;
}

SEC("lsm/ismaclabel")
int BPF_PROG(reject_lsm_disabled, const char *name)
{
	return 0;
}

SEC("tp_btf/task_event")
int BPF_PROG(accept_tp_btf, struct task *t, int code)
{
	sink = t->flags + code;
	return 0;
}

SEC("tp_btf/task_event")
int reject_tp_btf_third(__u64 *ctx)
{
	return ctx[2];
}

SEC("iter/task_x")
int accept_iter(__u64 *ctx)
{
	struct task *t = (void *)ctx[1];
	if (t)
		sink = t->pid;
	return 0;
}

SEC("iter/task_x")
int reject_iter_no_null_check(__u64 *ctx)
{
	struct task *t = (void *)ctx[1];
	sink = t->pid;
	return 0;
}

SEC("iter/task_x")
int reject_iter_return_2(__u64 *ctx)
{
	return 2;
}

SEC("fentry/no_such_function")
int reject_missing_target(__u64 *ctx)
{
	return 0;
}



char LICENSE[] SEC("license") = "GPL";
