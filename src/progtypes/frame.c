/*
 * frame.c - the packet frames of XDP and skb test runs: zeroed memory
 * mapped below 4 GiB (see progtypes.h for why), one kept per thread and
 * reused, since mapping costs far more than running a small program.
 *
 * Owns: frame_map(), frame_unmap(), and all_zero() for the ctx_in checks.
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>

#include "progtypes/progtypes.h"

/* Each thread keeps one low frame and reuses it: mapping memory costs far
 * more than the run of a small program on a packet. */
static __thread uint8_t *cached_frame;
static __thread size_t cached_len;

/* A zeroed low mapping of at least h->frame_len bytes into h->frame. */
void *frame_map(struct hook_state *h)
{
	size_t len = (h->frame_len + 65535) & ~(size_t)65535;
	if (cached_frame && cached_len >= len) {
		h->frame = cached_frame;
		h->alloc_len = cached_len;
		cached_frame = NULL;
		memset(h->frame, 0, h->frame_len);
		return h->frame;
	}
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	h->frame = p;
	h->alloc_len = len;
	return p;
}

void frame_unmap(uint8_t *p, size_t len)
{
	if (!cached_frame) {
		cached_frame = p;
		cached_len = len;
		return;
	}
	if (cached_len < len) {
		munmap(cached_frame, cached_len);
		cached_frame = p;
		cached_len = len;
		return;
	}
	munmap(p, len);
}

bool all_zero(const void *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (((const uint8_t *)p)[i])
			return false;
	return true;
}

