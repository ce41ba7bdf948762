/*
 * kernel.c - the kernel's helper functions that need no map, by the
 * kernel's IDs and with its semantics and return values: time, identity,
 * random numbers, printing, strings, checksums, fault-safe reads (and
 * bpf_copy_from_user, which only sleepable programs may call), and the
 * packet helpers of XDP and skb programs.
 *
 * Owns: these helpers' descriptors (helper_descs_kernel) and helper_check(),
 * the argument check every helper makes in checked mode.
 *
 * Every pointer a program hands a helper is checked against the run's
 * regions in checked mode (the verifier proves them in unchecked mode);
 * a bad one fails the run with the helper's name and the address.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "base/thread_block.h"
#include "helpers/helper_desc.h"
#include "helpers/helpers.h"
#include "progtypes/progtypes.h"

/* Fails the run unless [addr, addr+len) may be accessed (checked mode). */
bool helper_check(bpfvm_run *run, const char *helper, uint64_t addr, uint64_t len, bool write)
{
	if (run->opts->mode != BPFVM_CHECKED || len == 0 || bpfvm_run_check_access(run, addr, len, write))
		return true;
	char msg[160];
	snprintf(msg, sizeof msg, "%s: %s of %llu bytes at 0x%llx is outside the program's memory", helper,
	         write ? "write" : "read", (unsigned long long)len, (unsigned long long)addr);
	bpfvm_run_fail(run, msg);
	return false;
}

#define UNUSED5(a, b, c, d, e) ((void)(a), (void)(b), (void)(c), (void)(d), (void)(e))

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t h_ktime_get_ns(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	UNUSED5(a, b, c, d, e);
	(void)run;
	return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t h_ktime_get_boot_ns(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	UNUSED5(a, b, c, d, e);
	(void)run;
	return clock_ns(CLOCK_BOOTTIME);
}

static uint64_t h_ktime_get_coarse_ns(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	UNUSED5(a, b, c, d, e);
	(void)run;
	return clock_ns(CLOCK_MONOTONIC_COARSE);
}

static uint64_t h_ktime_get_tai_ns(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	UNUSED5(a, b, c, d, e);
	(void)run;
	return clock_ns(CLOCK_TAI);
}

/* Jiffies at Debian's CONFIG_HZ=250, counted from the monotonic clock. */
static uint64_t h_jiffies64(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	UNUSED5(a, b, c, d, e);
	(void)run;
	return clock_ns(CLOCK_MONOTONIC_COARSE) / 4000000u;
}

static uint64_t h_get_prandom_u32(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	UNUSED5(a, b, c, d, e);
	(void)run;
	/* the state is the thread's (base/thread_block.h); a thread without
	 * a block (out of memory) draws from a local one */
	struct thread_block *block = thread_block_self();
	uint64_t fallback = 0, *state = block ? &block->prandom_state : &fallback;
	if (!*state && getrandom(state, sizeof *state, 0) != sizeof *state)
		*state = clock_ns(CLOCK_MONOTONIC) | 1;
	if (!*state)
		*state = 1;
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return (uint32_t)(*state >> 16);
}

static uint64_t h_get_smp_processor_id(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	UNUSED5(a, b, c, d, e);
	(void)run;
	int cpu = sched_getcpu();
	return cpu < 0 ? 0 : (uint64_t)cpu;
}

static uint64_t h_get_current_pid_tgid(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	UNUSED5(a, b, c, d, e);
	(void)run;
	return (uint64_t)(uint32_t)getpid() << 32 | (uint32_t)gettid();
}

static uint64_t h_get_current_uid_gid(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	UNUSED5(a, b, c, d, e);
	(void)run;
	return (uint64_t)getgid() << 32 | getuid();
}

static uint64_t h_get_current_comm(uint64_t buf, uint64_t size, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)c; (void)d; (void)e;
	if (size == 0)
		return (uint64_t)-EINVAL;
	if (!helper_check(run, "bpf_get_current_comm", buf, size, true))
		return 0;
	char comm[16] = { 0 };
	prctl(PR_GET_NAME, comm);
	char *dst = (char *)(uintptr_t)buf;
	size_t n = strnlen(comm, sizeof comm - 1);
	if (n > size - 1)
		n = size - 1;
	memcpy(dst, comm, n);
	memset(dst + n, 0, size - n);     /* strscpy_pad */
	return 0;
}

/* Copies from any address without faulting: the kernel's
 * copy_from_*_nofault, done with process_vm_readv on ourselves. */
static bool read_nofault(void *dst, uint64_t src, size_t len)
{
	if (len == 0)
		return true;
	struct iovec local = { dst, len }, remote = { (void *)(uintptr_t)src, len };
	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len;
}

bool helper_read_nofault(void *dst, uint64_t src, size_t len)
{
	return read_nofault(dst, src, len);
}

static uint64_t probe_read(const char *name, uint64_t dst, uint64_t size, uint64_t src, bpfvm_run *run)
{
	if (!helper_check(run, name, dst, size, true))
		return 0;
	if (!read_nofault((void *)(uintptr_t)dst, src, size)) {
		memset((void *)(uintptr_t)dst, 0, size);
		return (uint64_t)-EFAULT;
	}
	return 0;
}

static uint64_t h_probe_read(uint64_t dst, uint64_t size, uint64_t src, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)d; (void)e;
	return probe_read("bpf_probe_read", dst, size, src, run);
}

static uint64_t h_probe_read_user(uint64_t dst, uint64_t size, uint64_t src, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)d; (void)e;
	return probe_read("bpf_probe_read_user", dst, size, src, run);
}

static uint64_t h_probe_read_kernel(uint64_t dst, uint64_t size, uint64_t src, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)d; (void)e;
	return probe_read("bpf_probe_read_kernel", dst, size, src, run);
}

/* The kernel's copy_from_user may take a page fault (so only sleepable
 * programs may call it); a process's own memory needs none here.  As the
 * kernel's: all of size bytes or -EFAULT with dst zeroed. */
static uint64_t h_copy_from_user(uint64_t dst, uint64_t size, uint64_t src, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)d; (void)e;
	return probe_read("bpf_copy_from_user", dst, size, src, run);
}

long helper_read_str_nofault(char *out, uint64_t src, size_t max)
{
	for (size_t i = 0; i < max; i++) {
		char ch;
		if (!read_nofault(&ch, src + i, 1))
			return -1;
		out[i] = ch;
		if (ch == 0)
			return (long)i;
	}
	return (long)max;
}

/* The _str variants: up to size-1 bytes and a NUL; the length with the
 * NUL, or -EFAULT with dst[0] = 0. */
static uint64_t probe_read_str(const char *name, uint64_t dst, uint64_t size, uint64_t src, bpfvm_run *run)
{
	if (size == 0)
		return 0;
	if (!helper_check(run, name, dst, size, true))
		return 0;
	char *out = (char *)(uintptr_t)dst;
	long len = helper_read_str_nofault(out, src, size - 1);
	if (len < 0) {
		out[0] = 0;
		return (uint64_t)-EFAULT;
	}
	out[len] = 0;
	return (uint64_t)len + 1;
}

static uint64_t h_probe_read_str(uint64_t dst, uint64_t size, uint64_t src, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)d; (void)e;
	return probe_read_str("bpf_probe_read_str", dst, size, src, run);
}

static uint64_t h_probe_read_user_str(uint64_t dst, uint64_t size, uint64_t src, uint64_t d, uint64_t e,
                                      bpfvm_run *run)
{
	(void)d; (void)e;
	return probe_read_str("bpf_probe_read_user_str", dst, size, src, run);
}

static uint64_t h_probe_read_kernel_str(uint64_t dst, uint64_t size, uint64_t src, uint64_t d, uint64_t e,
                                        bpfvm_run *run)
{
	(void)d; (void)e;
	return probe_read_str("bpf_probe_read_kernel_str", dst, size, src, run);
}

static uint64_t h_strncmp(uint64_t s1, uint64_t s1_sz, uint64_t s2, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)d; (void)e;
	if (!helper_check(run, "bpf_strncmp", s1, s1_sz, false))
		return 0;
	const char *a = (const char *)(uintptr_t)s1, *b = (const char *)(uintptr_t)s2;
	for (uint64_t i = 0; i < s1_sz; i++) {
		if (!helper_check(run, "bpf_strncmp", s2 + i, 1, false))
			return 0;
		unsigned char ca = (unsigned char)a[i], cb = (unsigned char)b[i];
		if (ca != cb)
			return ca < cb ? (uint64_t)-1 : 1;
		if (!ca)
			return 0;
	}
	return 0;
}

/* One's complement addition with the end-around carry. */
static uint32_t add32_carry(uint32_t a, uint32_t b)
{
	uint64_t s = (uint64_t)a + b;
	return (uint32_t)(s + (s >> 32));
}

static uint32_t csum_partial32(const uint8_t *p, uint64_t len, uint32_t seed)
{
	uint32_t sum = seed;
	for (uint64_t i = 0; i < len; i += 4) {
		uint32_t w;
		memcpy(&w, p + i, 4);
		sum = add32_carry(sum, w);
	}
	return sum;
}

/* bpf_csum_diff as the kernel computes it since it was made the same on
 * every architecture: the sums of `to` and `from` combined with the seed,
 * then folded to 16 bits (not complemented). */
static uint64_t h_csum_diff(uint64_t from, uint64_t from_size, uint64_t to, uint64_t to_size, uint64_t seed,
                            bpfvm_run *run)
{
	if ((from_size | to_size) & 3 || from_size + to_size > 512 || (from_size && !from) || (to_size && !to))
		return (uint64_t)-EINVAL;
	if (!helper_check(run, "bpf_csum_diff", from, from_size, false) ||
	    !helper_check(run, "bpf_csum_diff", to, to_size, false))
		return 0;
	const uint8_t *f = (const uint8_t *)(uintptr_t)from, *t = (const uint8_t *)(uintptr_t)to;
	uint32_t ret;
	if (from_size && to_size)
		ret = add32_carry(csum_partial32(t, to_size, (uint32_t)seed), ~csum_partial32(f, from_size, 0));
	else if (to_size)
		ret = csum_partial32(t, to_size, (uint32_t)seed);
	else if (from_size)
		ret = ~csum_partial32(f, from_size, ~(uint32_t)seed);
	else
		ret = (uint32_t)seed;
	ret = (ret & 0xffff) + (ret >> 16);
	ret = (ret & 0xffff) + (ret >> 16);
	return ret;
}

/* ---- printing --------------------------------------------------------- */

/* Formats like the kernel's bstr/trace_printk subset: %d %i %u %x %X %c
 * %s %p %% with l/ll/h/hh modifiers.  args are the raw u64 values; %s
 * reads a string fault-safely.  Returns the length it would have. */
static int format_kernel(char *out, size_t cap, const char *fmt, size_t fmt_len, const uint64_t *args,
                         int nargs, const char **bad)
{
	size_t n = 0;
	int next = 0;
#define PUT(ch) do { if (n + 1 < cap) out[n] = (ch); n++; } while (0)
	for (size_t i = 0; i < fmt_len && fmt[i]; i++) {
		if (fmt[i] != '%') {
			PUT(fmt[i]);
			continue;
		}
		if (++i >= fmt_len) {
			*bad = "format ends in '%'";
			return -EINVAL;
		}
		if (fmt[i] == '%') {
			PUT('%');
			continue;
		}
		char spec[16] = "%";
		size_t sl = 1;
		while (i < fmt_len && strchr("-+ #0123456789.", fmt[i]) && sl < 8)
			spec[sl++] = fmt[i++];
		int longs = 0;
		while (i < fmt_len && (fmt[i] == 'l' || fmt[i] == 'h')) {
			if (fmt[i] == 'l')
				longs++;
			i++;
		}
		if (i >= fmt_len) {
			*bad = "format ends inside a conversion";
			return -EINVAL;
		}
		char conv = fmt[i];
		if (!strchr("diuxXcsp", conv)) {
			*bad = "unsupported conversion in format";
			return -EINVAL;
		}
		if (next >= nargs) {
			*bad = "more conversions than arguments";
			return -EINVAL;
		}
		uint64_t v = args[next++];
		char tmp[128];
		int len;
		if (conv == 's') {
			char str[128];
			size_t k = 0;
			while (k + 1 < sizeof str) {
				char ch;
				if (!read_nofault(&ch, v + k, 1) || !ch)
					break;
				str[k++] = ch;
			}
			str[k] = 0;
			spec[sl++] = 's';
			spec[sl] = 0;
			len = snprintf(tmp, sizeof tmp, spec, str);
		} else if (conv == 'p') {
			len = snprintf(tmp, sizeof tmp, "0x%llx", (unsigned long long)v);
		} else if (conv == 'c') {
			spec[sl++] = 'c';
			spec[sl] = 0;
			len = snprintf(tmp, sizeof tmp, spec, (int)(unsigned char)v);
		} else {
			spec[sl++] = 'l';
			spec[sl++] = 'l';
			spec[sl++] = conv;
			spec[sl] = 0;
			bool is_signed = conv == 'd' || conv == 'i';
			if (longs == 0)
				v = is_signed ? (uint64_t)(int64_t)(int32_t)v : (uint32_t)v;
			if (is_signed)
				len = snprintf(tmp, sizeof tmp, spec, (long long)v);
			else
				len = snprintf(tmp, sizeof tmp, spec, (unsigned long long)v);
		}
		for (int k = 0; k < len && k < (int)sizeof tmp - 1; k++)
			PUT(tmp[k]);
	}
	if (cap)
		out[n < cap ? n : cap - 1] = 0;
#undef PUT
	return (int)n;
}

static uint64_t h_trace_printk(uint64_t fmt, uint64_t fmt_size, uint64_t a1, uint64_t a2, uint64_t a3,
                               bpfvm_run *run)
{
	if (!helper_check(run, "bpf_trace_printk", fmt, fmt_size, false))
		return 0;
	uint64_t args[3] = { a1, a2, a3 };
	char line[512];
	const char *bad = NULL;
	int n = format_kernel(line, sizeof line, (const char *)(uintptr_t)fmt, fmt_size, args, 3, &bad);
	if (n < 0)
		return (uint64_t)-EINVAL;
	helpers_trace(run, line);
	return (uint64_t)n;
}

static uint64_t h_snprintf(uint64_t str, uint64_t str_size, uint64_t fmt, uint64_t data, uint64_t data_len,
                           bpfvm_run *run)
{
	if (data_len % 8 || data_len > 8 * 12)
		return (uint64_t)-EINVAL;
	if (!helper_check(run, "bpf_snprintf", str, str_size, true) ||
	    !helper_check(run, "bpf_snprintf", data, data_len, false))
		return 0;
	size_t fmt_len = 0;
	while (fmt_len < 1024) {
		char ch;
		if (!read_nofault(&ch, fmt + fmt_len, 1))
			return (uint64_t)-EINVAL;
		if (!ch)
			break;
		fmt_len++;
	}
	uint64_t args[12];
	memcpy(args, (const void *)(uintptr_t)data, data_len);
	const char *bad = NULL;
	int n = format_kernel((char *)(uintptr_t)str, str_size, (const char *)(uintptr_t)fmt, fmt_len, args,
	                      (int)(data_len / 8), &bad);
	if (n < 0)
		return (uint64_t)-EINVAL;
	return (uint64_t)n + 1;    /* the size needed, with the NUL */
}

/* ---- packets ----------------------------------------------------------- */

static struct xdp_md *xdp_of(bpfvm_run *run, const char *helper, uint64_t ctx)
{
	struct hook_state *h = run->hook;
	if (!h || h->prog_type != BPF_PROG_TYPE_XDP || (uint64_t)(uintptr_t)h->ctx != ctx) {
		char msg[128];
		snprintf(msg, sizeof msg, "%s: r1 is not the XDP context of this run", helper);
		bpfvm_run_fail(run, msg);
		return NULL;
	}
	return h->ctx;
}

struct xdp_md *helper_xdp_ctx(bpfvm_run *run, const char *helper, uint64_t ctx)
{
	return xdp_of(run, helper, ctx);
}

static uint64_t h_xdp_adjust_head(uint64_t ctx, uint64_t delta, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)c; (void)d; (void)e;
	struct xdp_md *md = xdp_of(run, "bpf_xdp_adjust_head", ctx);
	if (!md)
		return 0;
	struct hook_state *h = run->hook;
	uint8_t *meta = xdp_ptr(md->data_meta), *data = xdp_ptr(md->data), *end = xdp_ptr(md->data_end);
	uint64_t metalen = (uint64_t)(data - meta);
	uint8_t *new_data = data + (int32_t)delta;
	if (new_data < h->frame + XDP_FRAME_STRUCT + metalen || new_data > end - ETH_HEADER_LEN)
		return (uint64_t)-EINVAL;
	if (metalen)
		memmove(new_data - metalen, meta, metalen);
	md->data_meta = (uint32_t)(uintptr_t)(new_data - metalen);
	md->data = (uint32_t)(uintptr_t)new_data;
	return 0;
}

static uint64_t h_xdp_adjust_tail(uint64_t ctx, uint64_t delta, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)c; (void)d; (void)e;
	struct xdp_md *md = xdp_of(run, "bpf_xdp_adjust_tail", ctx);
	if (!md)
		return 0;
	struct hook_state *h = run->hook;
	uint8_t *data = xdp_ptr(md->data), *end = xdp_ptr(md->data_end);
	uint8_t *new_end = end + (int32_t)delta;
	if (new_end > h->frame + h->frame_len - XDP_TAILROOM || new_end < data + ETH_HEADER_LEN)
		return (uint64_t)-EINVAL;
	if (new_end > end)
		memset(end, 0, (size_t)(new_end - end));
	md->data_end = (uint32_t)(uintptr_t)new_end;
	return 0;
}

static uint64_t h_xdp_adjust_meta(uint64_t ctx, uint64_t delta, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)c; (void)d; (void)e;
	struct xdp_md *md = xdp_of(run, "bpf_xdp_adjust_meta", ctx);
	if (!md)
		return 0;
	struct hook_state *h = run->hook;
	uint8_t *data = xdp_ptr(md->data), *meta = xdp_ptr(md->data_meta) + (int32_t)delta;
	if (meta < h->frame + XDP_FRAME_STRUCT || meta > data)
		return (uint64_t)-EINVAL;
	/* xdp_metalen_invalid(): 4-aligned and within skb_shared_info's
	 * u8 meta_len (the headroom allows less anyway) */
	if (data - meta > 255 || (data - meta) % 4)
		return (uint64_t)-EACCES;
	md->data_meta = (uint32_t)(uintptr_t)meta;
	return 0;
}

static uint64_t h_skb_load_bytes(uint64_t ctx, uint64_t offset, uint64_t to, uint64_t len, uint64_t e,
                                 bpfvm_run *run)
{
	(void)e;
	struct hook_state *h = run->hook;
	if (!h || !h->pkt || (uint64_t)(uintptr_t)h->ctx != ctx) {
		bpfvm_run_fail(run, "bpf_skb_load_bytes: r1 is not the packet context of this run");
		return 0;
	}
	if (!helper_check(run, "bpf_skb_load_bytes", to, len, true))
		return 0;
	if ((uint32_t)offset > 0xffff || len == 0 || offset + len > h->pkt_len) {
		memset((void *)(uintptr_t)to, 0, len);
		return (uint64_t)-EFAULT;
	}
	memcpy((void *)(uintptr_t)to, h->pkt + offset, len);
	return 0;
}

/* ---- the descriptors ------------------------------------------------------ */

#define A(...) { __VA_ARGS__ }
/* The prototypes are the kernel's for a privileged loader; GPL-only are
 * those the running kernel refuses under license "Proprietary"; the
 * program types are those whose loads of `call N` the kernel accepts
 * (tests/kernel/test_helper_types.c asks it again on every run). */
#define DESC(ID, FN, RET, ARGS, TYPES, GPL, ...) \
	{ .proto = { .id = BPF_FUNC_##ID, .name = "bpf_" #ID, .ret = RET, .args = ARGS, .gpl_only = GPL }, \
	  .fn = FN, .has_proto = true, .prog_types = TYPES, __VA_ARGS__ }
#define NET (PROGS_SOCKET_FILTER | PROGS_TC | PROGS_XDP)
#define PROBE_READ A(ARG_MEM_UNINIT, ARG_SIZE_OR_ZERO, ARG_ANYTHING)
#define NONE {0}

const struct helper_desc helper_descs_kernel[] = {
	DESC(probe_read, h_probe_read, RET_INTEGER, PROBE_READ, PROGS_TRACING, true),
	DESC(ktime_get_ns, h_ktime_get_ns, RET_INTEGER, NONE, PROGS_ALL, false),
	/* the format's arguments (r3..r5) are not checked, as in the kernel */
	DESC(trace_printk, h_trace_printk, RET_INTEGER, A(ARG_MEM, ARG_SIZE), PROGS_ALL, true),
	DESC(get_prandom_u32, h_get_prandom_u32, RET_INTEGER, NONE, PROGS_ALL, false),
	DESC(get_smp_processor_id, h_get_smp_processor_id, RET_INTEGER, NONE, PROGS_ALL, false, .fastcall = true),
	DESC(get_current_pid_tgid, h_get_current_pid_tgid, RET_INTEGER, NONE, PROGS_ALL, false),
	DESC(get_current_uid_gid, h_get_current_uid_gid, RET_INTEGER, NONE, PROGS_ALL, false),
	DESC(get_current_comm, h_get_current_comm, RET_INTEGER, A(ARG_MEM_UNINIT, ARG_SIZE), PROGS_ALL, false),
	DESC(skb_load_bytes, h_skb_load_bytes, RET_INTEGER, A(ARG_CTX, ARG_ANYTHING, ARG_MEM_UNINIT, ARG_SIZE),
	     PROGS_SOCKET_FILTER | PROGS_TC, false),
	DESC(csum_diff, h_csum_diff, RET_INTEGER,
	     A(ARG_MEM_MAYBE_NULL, ARG_SIZE_OR_ZERO, ARG_MEM_MAYBE_NULL, ARG_SIZE_OR_ZERO, ARG_ANYTHING),
	     PROGS_TC | PROGS_XDP, false, .pkt_access = true),
	DESC(xdp_adjust_head, h_xdp_adjust_head, RET_INTEGER, A(ARG_CTX, ARG_ANYTHING), PROGS_XDP, false,
	     .proto.changes_pkt = true),
	DESC(probe_read_str, h_probe_read_str, RET_INTEGER_UPTO_SIZE, PROBE_READ, PROGS_TRACING, true),
	DESC(xdp_adjust_meta, h_xdp_adjust_meta, RET_INTEGER, A(ARG_CTX, ARG_ANYTHING), PROGS_XDP, false,
	     .proto.changes_pkt = true),
	DESC(xdp_adjust_tail, h_xdp_adjust_tail, RET_INTEGER, A(ARG_CTX, ARG_ANYTHING), PROGS_XDP, false,
	     .proto.changes_pkt = true),
	DESC(probe_read_user, h_probe_read_user, RET_INTEGER, PROBE_READ, PROGS_ALL, true),
	DESC(probe_read_kernel, h_probe_read_kernel, RET_INTEGER, PROBE_READ, PROGS_ALL, true),
	DESC(probe_read_user_str, h_probe_read_user_str, RET_INTEGER_UPTO_SIZE, PROBE_READ, PROGS_ALL, true),
	DESC(probe_read_kernel_str, h_probe_read_kernel_str, RET_INTEGER_UPTO_SIZE, PROBE_READ, PROGS_ALL, true),
	DESC(copy_from_user, h_copy_from_user, RET_INTEGER, PROBE_READ, PROGS_ALL, false, .might_sleep = true),
	DESC(jiffies64, h_jiffies64, RET_INTEGER, NONE, PROGS_ALL, false),
	DESC(ktime_get_boot_ns, h_ktime_get_boot_ns, RET_INTEGER, NONE, PROGS_ALL, false),
	/* not in tracing programs: the kernel keeps coarse time out of NMI context */
	DESC(ktime_get_coarse_ns, h_ktime_get_coarse_ns, RET_INTEGER, NONE, NET, false),
	DESC(snprintf, h_snprintf, RET_INTEGER,
	     A(ARG_MEM_MAYBE_NULL_OUT, ARG_SIZE_OR_ZERO, ARG_CONST_STR, ARG_MEM_MAYBE_NULL, ARG_SIZE_OR_ZERO),
	     PROGS_ALL, true),
	DESC(strncmp, h_strncmp, RET_INTEGER, A(ARG_MEM, ARG_SIZE, ARG_CONST_STR), PROGS_ALL, false),
	DESC(ktime_get_tai_ns, h_ktime_get_tai_ns, RET_INTEGER, NONE, PROGS_ALL, false),
};
const size_t helper_descs_kernel_count = sizeof helper_descs_kernel / sizeof helper_descs_kernel[0];
