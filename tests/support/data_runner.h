/*
 * data_runner.h - runs test programs kept as data: files in the
 * bpf_conformance format, extended with expected errors.
 *
 * The format (sections asm or raw, mem, result, load-error, run-error) is
 * read by tools/common/datafile.c, the parser the command uses too.  A
 * run-error case is not run unchecked: the program is unsafe by design.
 * Every case runs in every engine (interpreter, JIT) and mode (checked,
 * unchecked); all must agree.  The programs may call helper 5 (the
 * conformance suite's "unwind": stops the run when r1 is 0, else returns
 * r1) and 181, the kernel's bpf_loop; a checked run gives up after
 * 1000000 backward jumps and calls.
 */
#ifndef BPFVM_TESTS_DATA_RUNNER_H
#define BPFVM_TESTS_DATA_RUNNER_H

/* Runs one file; returns 0 if it passed, else prints why and returns 1. */
int dr_run_file(const char *path);

/* Runs every .data file of dir, in name order; adds to *passed / *failed.
 * Returns -1 if the directory cannot be opened. */
int dr_run_dir(const char *dir, int *passed, int *failed);

#endif
