/*
 * btf_run.c - a BTF-typed program for a test run (tests/cli_btftypes.sh):
 * `bpfvm run` loads every program of an object, so the run has its own.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "btf_types.h"


/* run by the test with --ctx-in (a, t, ret) and t pointing into --data-in */
SEC("fmod_ret/target_fn")
int BPF_PROG(run_fmod_ret_pid, int a, struct task *t, int ret)
{
	return a + ret + t->pid + t->in.b[1];
}

/* follows a pointer member the test's data makes garbage: the run must
 * fail on the access, not crash (test runs of BTF-typed programs are
 * always checked) */
SEC("fmod_ret/target_fn")
int BPF_PROG(run_follow_cred, int a, struct task *t, int ret)
{
	return a + ret + t->cred->uid;
}

char LICENSE[] SEC("license") = "GPL";
