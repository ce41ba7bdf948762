/*
 * btf_target.c - a target BTF for tests/btftypes (given with --btf): the
 * kernel functions, LSM hooks, tracepoint and iterator the programs of
 * btf_progs.c attach to, with struct layouts of their own, so the tests
 * do not depend on the running kernel's BTF.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "btf_types.h"

__attribute__((noinline)) int target_fn(int a, struct task *t) { return a + (t ? 1 : 0); }
__attribute__((noinline)) struct task *target_ret_ptr(struct task *t) { return t; }
__attribute__((noinline)) long target_ret_long(struct task *t) { return (long)t; }
__attribute__((noinline)) int bpf_lsm_file_open(struct file *f) { return f ? 0 : 1; }
__attribute__((noinline)) void bpf_lsm_file_free_security(struct file *f) { (void)f; }
__attribute__((noinline)) int bpf_lsm_audit_rule_known(struct file *f) { return f ? 1 : 0; }
__attribute__((noinline)) int bpf_lsm_ismaclabel(const char *name) { return name ? 0 : 1; }
struct bpf_iter__task_x { struct bpf_iter_meta *meta; struct task *task; };
__attribute__((noinline)) int bpf_iter_task_x(struct bpf_iter_meta *meta, struct task *task)
{ return meta ? 0 : (task ? 1 : 2); }
typedef void (*btf_trace_task_event)(void *__data, struct task *t, int code);
btf_trace_task_event keep_trace_typedef;
struct cred keep_cred;   /* the whole struct, not a forward declaration */

SEC("xdp") int keep(struct xdp_md *ctx)
{
	return target_fn(0, 0) + (target_ret_ptr(0) ? 1 : 0) + (int)target_ret_long(0) + bpf_lsm_file_open(0) +
	       bpf_lsm_audit_rule_known(0) + bpf_lsm_ismaclabel(0) + bpf_iter_task_x(0, 0) + (ctx ? 0 : 1) +
	       (bpf_lsm_file_free_security(0), 0);
}
char LICENSE[] SEC("license") = "GPL";
