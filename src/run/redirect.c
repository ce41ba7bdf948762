/*
 * redirect.c - the calling thread's redirect record (redirect.h).
 */
#include <stddef.h>

#include "run/redirect.h"

static __thread struct run_redirect current = { .kind = RUN_REDIRECT_NONE, .xsk_fd = -1 };

struct run_redirect *run_redirect_current(void)
{
	return &current;
}

void run_redirect_clear(void)
{
	current = (struct run_redirect){ .kind = RUN_REDIRECT_NONE, .xsk_fd = -1 };
}

bool run_redirect_take(struct run_redirect *out)
{
	if (out)
		*out = current;
	bool held = current.kind != RUN_REDIRECT_NONE;
	run_redirect_clear();
	return held;
}

const char *run_redirect_kind_name(enum run_redirect_kind kind)
{
	switch (kind) {
	case RUN_REDIRECT_IFINDEX: return "ifindex";
	case RUN_REDIRECT_DEVMAP: return "devmap";
	case RUN_REDIRECT_DEVMAP_BROADCAST: return "devmap broadcast";
	case RUN_REDIRECT_XSK: return "xsk";
	case RUN_REDIRECT_CPU: return "cpu";
	default: return "none";
	}
}
