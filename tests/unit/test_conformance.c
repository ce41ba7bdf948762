/*
 * test_conformance.c - the whole bpf_conformance suite through bpfvm's
 * assembler and interpreter, checked and unchecked: every one of the 313
 * tests must pass.  Skips (exit 77) where ../shared is absent.
 */
#include <stdio.h>
#include <stdlib.h>

#include "support/data_runner.h"

#ifndef BPFVM_SHARED_DIR
#define BPFVM_SHARED_DIR "../shared"
#endif

int main(void)
{
	const char *dir = getenv("BPFVM_CONFORMANCE_DIR");
	if (!dir)
		dir = BPFVM_SHARED_DIR "/bpf-conformance/tests";
	int passed = 0, failed = 0;
	if (dr_run_dir(dir, &passed, &failed) < 0) {
		printf("skipped: no conformance suite at %s\n", dir);
		return 77;
	}
	if (passed + failed != 313) {
		printf("FAIL expected 313 conformance tests in %s, found %d\n", dir, passed + failed);
		failed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
