/*
 * input.c - reading whole inputs up to a cap (input.h), and the sizes
 * the cap is given in.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"

/* Grows *buf to hold `want` bytes plus a NUL; 0, or -1 (out of memory). */
static int grow(char **buf, size_t *room, size_t want)
{
	if (want <= *room)
		return 0;
	size_t bigger = *room ? *room * 2 : 4096;
	if (bigger < want)
		bigger = want;
	char *p = realloc(*buf, bigger + 1);
	if (!p)
		return -1;
	*buf = p;
	*room = bigger;
	return 0;
}

int input_read(const char *path, size_t cap, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	char *buf = NULL;
	size_t room = 0, n = 0, got;
	int error = 0;
	for (;;) {
		/* room for at most one byte past the cap: that byte says "too big" */
		size_t limit = cap < SIZE_MAX ? cap + 1 : cap;
		size_t chunk = limit - n < 65536 ? limit - n : 65536;
		if (grow(&buf, &room, n + chunk)) {
			error = ENOMEM;
			break;
		}
		got = fread(buf + n, 1, chunk, f);
		n += got;
		if (n > cap) {
			error = EFBIG;
			break;
		}
		if (got < chunk) {
			if (ferror(f))
				error = errno ? errno : EIO;
			break;
		}
	}
	fclose(f);
	if (!error && grow(&buf, &room, n))
		error = ENOMEM;
	if (error) {
		free(buf);
		errno = error;
		return -1;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

int input_parse_size(const char *text, size_t *size)
{
	char *end;
	if (!*text || *text == '-' || *text == '+')
		return -1;
	errno = 0;
	unsigned long long n = strtoull(text, &end, 10);
	if (errno || end == text)
		return -1;
	unsigned shift = 0;
	if (*end) {
		const char *units = "KMG";
		const char *unit = strchr(units, *end >= 'a' ? *end - 'a' + 'A' : *end);
		if (!unit || !*unit || end[1])
			return -1;
		shift = 10 * (unsigned)(unit - units + 1);
	}
	if (n > (SIZE_MAX >> shift))
		return -1;
	*size = (size_t)n << shift;
	return 0;
}

const char *input_size_text(size_t size, char *buf, size_t buf_len)
{
	static const char *const units[] = { "GiB", "MiB", "KiB" };
	for (int i = 0; i < 3; i++) {
		unsigned shift = 30 - 10 * (unsigned)i;
		if (size && size % ((size_t)1 << shift) == 0) {
			snprintf(buf, buf_len, "%zu %s", size >> shift, units[i]);
			return buf;
		}
	}
	snprintf(buf, buf_len, "%zu bytes", size);
	return buf;
}
