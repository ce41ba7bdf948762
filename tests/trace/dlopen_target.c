/*
 * dlopen_target.c - a program that dlopen()s a library after `bpfvm
 * trace` attached (tests/cli_trace_dlopen.sh): `dlopen_target LIB N`
 * makes getppid N times through each of LIB's three ways (libc, a raw
 * syscall with a jump, a raw syscall served by its int3 alone; see
 * tests/unit/sud_sweep_lib.c), dlclose()s it, dlopen()s it again and
 * makes N more through its raw syscall, then prints "done".
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *open_lib(const char *path)
{
	void *lib = dlopen(path, RTLD_NOW);
	if (!lib) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		exit(1);
	}
	return lib;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: dlopen_target LIB N\n");
		return 2;
	}
	int n = atoi(argv[2]), bad = 0;
	pid_t ppid = getppid();
	void *lib = open_lib(argv[1]);
	long (*libc_way)(void) = (long (*)(void))dlsym(lib, "sweep_lib_libc_getppid");
	long (*raw_way)(void) = (long (*)(void))dlsym(lib, "sweep_lib_raw_getppid");
	long (*int3_way)(long) = (long (*)(long))dlsym(lib, "sweep_lib_raw_getppid_branch_in");
	for (int i = 0; i < n; i++)
		bad += (libc_way() != ppid) + (raw_way() != ppid) + (int3_way(i & 1) != ppid);
	dlclose(lib);
	lib = open_lib(argv[1]);
	raw_way = (long (*)(void))dlsym(lib, "sweep_lib_raw_getppid");
	for (int i = 0; i < n; i++)
		bad += raw_way() != ppid;
	dlclose(lib);
	printf("done %d bad\n", bad);
	return bad != 0;
}
