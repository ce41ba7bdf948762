/*
 * test_programs.c - bpfvm's own test programs (tests/programs/, one .data file each):
 * edge values of every instruction class, validation errors and
 * checked-mode violations, each pinned with its expected result or error.
 */
#include <stdio.h>
#include <stdlib.h>

#include "support/data_runner.h"

int main(void)
{
	int passed = 0, failed = 0;
	if (dr_run_dir(BPFVM_TESTS_DIR "/programs", &passed, &failed) < 0) {
		printf("FAIL cannot open %s/programs\n", BPFVM_TESTS_DIR);
		return 1;
	}
	if (passed + failed < 20) {
		printf("FAIL only %d test programs found\n", passed + failed);
		failed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
