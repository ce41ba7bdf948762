/* sort.c - sorting fixed-size arrays on the stack: insertion, selection
 * and bubble sort, over numbers from bpf_get_prandom_u32() or the packet. */
#include "loops.h"

#define N 16

static __always_inline void fill_random(__u32 *a, int n)
{
	NO_UNROLL
	for (int i = 0; i < n; i++)
		a[i] = bpf_get_prandom_u32() & 0xffff;
}

SEC("xdp")
int insertion_sort(struct xdp_md *ctx)
{
	__u32 a[N];
	fill_random(a, N);
	NO_UNROLL
	for (int i = 1; i < N; i++) {
		__u32 key = a[i];
		int j = i - 1;
		NO_UNROLL
		while (j >= 0 && a[j] > key) {
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = key;
	}
	return a[0] < a[N - 1] ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int selection_sort(struct xdp_md *ctx)
{
	__u32 a[N];
	fill_random(a, N);
	NO_UNROLL
	for (int i = 0; i < N - 1; i++) {
		int min = i;
		NO_UNROLL
		for (int j = i + 1; j < N; j++)
			if (a[j] < a[min])
				min = j;
		__u32 t = a[i];
		a[i] = a[min];
		a[min] = t;
	}
	return a[0] <= a[1] ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int bad_bubble_sort(struct xdp_md *ctx)
{
	__u32 a[N];
	fill_random(a, N);
	NO_UNROLL
	for (int i = 0; i < N - 1; i++) {
		NO_UNROLL
		for (int j = 0; j < N - 1 - i; j++) {
			if (a[j] > a[j + 1]) {
				__u32 t = a[j];
				a[j] = a[j + 1];
				a[j + 1] = t;
			}
		}
	}
	return a[0] <= a[N - 1] ? XDP_PASS : XDP_DROP;
}

/* bubble sort with the early exit when a pass swapped nothing */
SEC("xdp")
int bubble_sort_early_exit(struct xdp_md *ctx)
{
	__u32 a[12];
	fill_random(a, 12);
	NO_UNROLL
	for (int i = 0; i < 11; i++) {
		int swapped = 0;
		NO_UNROLL
		for (int j = 0; j < 11 - i; j++) {
			if (a[j] > a[j + 1]) {
				__u32 t = a[j];
				a[j] = a[j + 1];
				a[j + 1] = t;
				swapped = 1;
			}
		}
		if (!swapped)
			break;
	}
	return a[0] & 1 ? XDP_PASS : XDP_DROP;
}

/* sorts the first 8 bytes of the packet, each access checked */
SEC("xdp")
int sort_packet_bytes(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u8 a[8] = {};
	NO_UNROLL
	for (int i = 0; i < 8; i++) {
		if (p + i + 1 > end)
			break;
		a[i] = p[i];
	}
	NO_UNROLL
	for (int i = 1; i < 8; i++) {
		__u8 key = a[i];
		int j = i - 1;
		NO_UNROLL
		while (j >= 0 && a[j] > key) {
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = key;
	}
	return a[0] <= a[7] ? XDP_PASS : XDP_DROP;
}

/* insertion sort of 70 numbers: the kernel walks it only with pruning
 * of the states the data-dependent exits leave behind */
SEC("xdp")
int bad_insertion_sort_long(struct xdp_md *ctx)
{
	__u32 a[40];
	fill_random(a, 40);
	NO_UNROLL
	for (int i = 1; i < 40; i++) {
		__u32 key = a[i];
		int j = i - 1;
		NO_UNROLL
		while (j >= 0 && a[j] > key) {
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = key;
	}
	return a[0] < a[39] ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
