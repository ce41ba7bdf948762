/*
 * inject_lib.c - the library test_inject loads into inject_target: its
 * constructor counts, and inject_test_entry(path) writes "pid N ctor C"
 * into the file `path` and returns 4242.
 */
#include <stdio.h>
#include <unistd.h>

static int constructed;

__attribute__((constructor)) static void count_load(void)
{
	constructed++;
}

int inject_test_entry(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "pid %d ctor %d\n", (int)getpid(), constructed);
	fclose(f);
	return 4242;
}
