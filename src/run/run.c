/*
 * run.c - the run ABI: the calls a helper makes back into the run it
 * serves (its user pointer, stopping or failing the run, checking an
 * access in checked mode).
 *
 * Owns: bpfvm_run_user, bpfvm_run_stop, bpfvm_run_fail,
 * bpfvm_run_check_access.
 */
#include <stdio.h>
#include <string.h>

#include "run/run.h"

void *bpfvm_run_user(const bpfvm_run *run)
{
	return run->opts->user;
}

void bpfvm_run_stop(bpfvm_run *run, uint64_t value)
{
	if (run->status == RUN_OK) {
		run->status = RUN_STOPPED;
		run->stop_value = value;
	}
}

void bpfvm_run_fail(bpfvm_run *run, const char *msg)
{
	if (run->status == RUN_FAILED)
		return;
	run->status = RUN_FAILED;
	snprintf(run->fail_msg, sizeof run->fail_msg, "%s", msg ? msg : "(no message)");
}

bool bpfvm_run_check_access(const bpfvm_run *run, uint64_t addr, uint64_t len, bool write)
{
	return run_access_ok(run, addr, len, write);
}
