/*
 * interp.c - the interpreter engine, built twice from interp_body.h:
 * interp_run_checked() for untrusted programs and interp_run_unchecked()
 * for programs a verifier has proved safe.
 *
 * Owns: the signed division helpers whose edge cases C leaves undefined.
 */
#include <errno.h>
#include <string.h>

#include "interp/interp.h"

/* RFC 9669: x / 0 = 0, and INT_MIN / -1 = INT_MIN (C would trap). */
static inline uint64_t sdiv64(uint64_t a, uint64_t b)
{
	if (b == 0)
		return 0;
	if ((int64_t)b == -1)
		return -a;
	return (uint64_t)((int64_t)a / (int64_t)b);
}

/* RFC 9669: x % 0 = x, and INT_MIN % -1 = 0; the sign follows x. */
static inline uint64_t smod64(uint64_t a, uint64_t b)
{
	if (b == 0)
		return a;
	if ((int64_t)b == -1)
		return 0;
	return (uint64_t)((int64_t)a % (int64_t)b);
}

static inline uint32_t sdiv32(uint32_t a, uint32_t b)
{
	if (b == 0)
		return 0;
	if ((int32_t)b == -1)
		return -a;
	return (uint32_t)((int32_t)a / (int32_t)b);
}

static inline uint32_t smod32(uint32_t a, uint32_t b)
{
	if (b == 0)
		return a;
	if ((int32_t)b == -1)
		return 0;
	return (uint32_t)((int32_t)a % (int32_t)b);
}

#define INTERP_CHECKED 1
#define INTERP_FN interp_run_checked
#include "interp_body.h"
#undef INTERP_CHECKED
#undef INTERP_FN

#define INTERP_CHECKED 0
#define INTERP_FN interp_run_unchecked
#include "interp_body.h"
#undef INTERP_CHECKED
#undef INTERP_FN
