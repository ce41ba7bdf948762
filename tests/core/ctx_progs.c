/*
 * ctx_progs.c - programs that read and write their contexts (struct
 * xdp_md, struct __sk_buff, struct pt_regs), built twice by the tests:
 * with -DCTX_VMLINUX against a vmlinux.h dumped from the running kernel's
 * BTF (every context access becomes a CO-RE relocation), and against the
 * uapi headers (plain offsets).  test_ctx_vmlinux checks that bpfvm
 * relocates the first into exactly the second's instructions, and that
 * both run with the kernel's results.
 */
#ifdef CTX_VMLINUX
#include "vmlinux.h"
#else
#include <linux/bpf.h>
#include <linux/ptrace.h>
#endif
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("xdp")
int xdp_ctx(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	unsigned char *end = (void *)(long)ctx->data_end;
	unsigned char *meta = (void *)(long)ctx->data_meta;
	if (data + 14 > end)
		return XDP_DROP;
	/* The interface and queue the kernel reports, folded into the packet. */
	data[0] ^= (unsigned char)(ctx->ingress_ifindex + ctx->rx_queue_index);
	data[1] = (unsigned char)(data - meta);
	data[2] = (unsigned char)(end - data);
	return data[12] == 0x08 ? XDP_PASS : XDP_TX;
}

SEC("tc")
int tc_ctx(struct __sk_buff *skb)
{
	unsigned char *data = (void *)(long)skb->data;
	unsigned char *end = (void *)(long)skb->data_end;
	__u32 sum = skb->len * 3 + skb->pkt_type + skb->queue_mapping + skb->protocol + skb->vlan_present +
	            skb->vlan_tci + skb->ingress_ifindex + skb->ifindex + skb->tc_index + skb->hash;
	/* Each cb[] word by a constant index: in a loop clang computes
	 * &skb->cb with one relocation and adds to it, a modified context
	 * pointer the kernel refuses to dereference (bpfvm too). */
	sum = sum * 31 + skb->cb[0];
	sum = sum * 31 + skb->cb[1];
	sum = sum * 31 + skb->cb[2];
	sum = sum * 31 + skb->cb[3];
	sum = sum * 31 + skb->cb[4];
	sum += skb->priority * 7 + skb->mark * 13 + skb->wire_len + skb->gso_segs + skb->gso_size;
	skb->mark = sum;
	skb->priority = skb->len;
	skb->cb[2] = skb->protocol;
	skb->tc_index = 7;
	skb->tc_classid = 0x10002;
	skb->tstamp = skb->tstamp + 1000;
	if (data + 6 <= end)
		data[5] = (unsigned char)sum;
	return sum & 1;
}

SEC("socket")
int socket_ctx(struct __sk_buff *skb)
{
	__u32 v = skb->len + skb->protocol + skb->pkt_type + skb->ifindex + skb->cb[0] + skb->cb[4];
	skb->cb[1] = v;
	return skb->len > 60 ? 60 : skb->len;
}

SEC("kprobe/ctx")
int kprobe_ctx(struct pt_regs *regs)
{
	__u64 v = PT_REGS_PARM1(regs) + 2 * PT_REGS_PARM2(regs) + 3 * PT_REGS_PARM3(regs) +
	          5 * PT_REGS_PARM4(regs) + 7 * PT_REGS_PARM5(regs) + 11 * PT_REGS_RC(regs) +
	          13 * PT_REGS_IP(regs) + 17 * PT_REGS_SP(regs) + 19 * PT_REGS_FP(regs);
	return v ^ (v >> 32);
}

/* Not loaded (bpfvm has no cgroup/sock program type to run it): here for
 * its struct bpf_sock relocations, which test_ctx_vmlinux checks against
 * the uapi build's BTF, where a pointer parameter alone would leave the
 * struct a forward declaration: this read-only variable keeps it whole. */
#ifndef CTX_VMLINUX
const volatile struct bpf_sock uapi_bpf_sock_layout = {};
#endif
SEC("?cgroup/sock_create")
int sock_ctx(struct bpf_sock *sk)
{
	return sk->family + sk->type + sk->protocol + sk->mark + sk->priority + sk->bound_dev_if +
	       sk->src_port + sk->dst_port + sk->state + sk->rx_queue_mapping;
}

char LICENSE[] SEC("license") = "GPL";
