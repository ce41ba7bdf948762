/* fsm.c - table-driven state machines over packet bytes: the table in
 * global data, in a map, and on the stack; a tokenizer; and a loop
 * nested in another (matrix product, prefix sums, counting pairs). */
#include "loops.h"

/* in .data: bpfvm's loader does not take .rodata whose BTF has no section yet */
__u8 transitions[8][4] = {
	{ 1, 0, 2, 0 }, { 1, 3, 2, 0 }, { 4, 0, 2, 5 }, { 1, 3, 6, 0 },
	{ 7, 0, 2, 0 }, { 1, 5, 2, 7 }, { 6, 6, 6, 6 }, { 7, 7, 0, 1 },
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[64]);
} fsm_table SEC(".maps");

SEC("xdp")
int fsm_global_table(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u32 state = 0;
	NO_UNROLL
	for (int i = 0; i < 48; i++) {
		if (p + i + 1 > end)
			break;
		state = transitions[state & 7][p[i] & 3];
	}
	return state == 7 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int fsm_map(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u32 k = 0;
	__u8 *t = bpf_map_lookup_elem(&fsm_table, &k);
	if (!t)
		return XDP_ABORTED;
	__u32 state = 0;
	NO_UNROLL
	for (int i = 0; i < 64; i++) {
		if (p + i + 1 > end)
			break;
		state = t[(state & 15) * 4 + (p[i] & 3)];
	}
	return state & 1 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int fsm_stack(struct xdp_md *ctx)
{
	__u8 t[16];
	NO_UNROLL
	for (int i = 0; i < 16; i++)
		t[i] = (i * 5 + 3) & 15;
	__u32 state = 0;
	NO_UNROLL
	for (int i = 0; i < 80; i++) {
		__u32 in = bpf_get_prandom_u32() & 1;
		state = t[(state + in) & 15];
	}
	return state > 7 ? XDP_PASS : XDP_DROP;
}

/* identifiers, numbers and punctuation, counted */
SEC("xdp")
int bad_tokenizer(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u32 idents = 0, numbers = 0, punct = 0, mode = 0;
	NO_UNROLL
	for (int i = 0; i < 96; i++) {
		if (p + i + 1 > end)
			break;
		__u8 c = p[i];
		__u32 cls = (c >= 'a' && c <= 'z') ? 1 : (c >= '0' && c <= '9') ? 2 : c == ' ' ? 0 : 3;
		if (cls != mode) {
			if (cls == 1)
				idents++;
			else if (cls == 2 && mode != 1)
				numbers++;
			else if (cls == 3)
				punct++;
			mode = cls;
		}
	}
	return idents > numbers + punct ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int nested_matrix(struct xdp_md *ctx)
{
	__u32 a[4][4], b[4][4], c[4][4];
	NO_UNROLL
	for (int i = 0; i < 4; i++)
		NO_UNROLL
		for (int j = 0; j < 4; j++) {
			a[i][j] = bpf_get_prandom_u32() & 255;
			b[i][j] = i + j;
		}
	NO_UNROLL
	for (int i = 0; i < 4; i++)
		NO_UNROLL
		for (int j = 0; j < 4; j++) {
			__u32 s = 0;
			NO_UNROLL
			for (int k = 0; k < 4; k++)
				s += a[i][k] * b[k][j];
			c[i][j] = s;
		}
	return c[3][3] & 1 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int bad_nested_pairs(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u32 pairs = 0;
	NO_UNROLL
	for (int i = 0; i < 12; i++) {
		if (p + i + 1 > end)
			break;
		NO_UNROLL
		for (int j = i + 1; j < 12; j++) {
			if (p + j + 1 > end)
				break;
			pairs += p[i] == p[j];
		}
	}
	return pairs ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int nested_prefix_sums(struct xdp_md *ctx)
{
	__u32 v[24];
	NO_UNROLL
	for (int i = 0; i < 24; i++)
		v[i] = bpf_get_prandom_u32() & 7;
	NO_UNROLL
	for (int round = 0; round < 3; round++)
		NO_UNROLL
		for (int i = 1; i < 24; i++)
			v[i] += v[i - 1];
	return v[23] > 100 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
