/*
 * cpus.c - how many CPUs the machine may have: the per-CPU maps' slot
 * count and what pinned arenas record, read once.
 *
 * Owns: cpus_possible().
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/cpus.h"

static unsigned possible_cpus;
static pthread_once_t possible_once = PTHREAD_ONCE_INIT;

/* Counts the CPUs listed in /sys/devices/system/cpu/possible ("0-3,8"),
 * as libbpf_num_possible_cpus() does. */
static void read_possible_cpus(void)
{
	unsigned count = 0;
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
	if (f) {
		char buf[4096];
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		buf[n] = '\0';
		fclose(f);
		const char *p = buf;
		while (*p >= '0' && *p <= '9') {
			char *end;
			unsigned long lo = strtoul(p, &end, 10), hi = lo;
			p = end;
			if (*p == '-') {
				hi = strtoul(p + 1, &end, 10);
				p = end;
			}
			if (hi >= lo)
				count += (unsigned)(hi - lo + 1);
			if (*p == ',')
				p++;
		}
	}
	possible_cpus = count ? count : 1;
}

unsigned cpus_possible(void)
{
	pthread_once(&possible_once, read_possible_cpus);
	return possible_cpus;
}

