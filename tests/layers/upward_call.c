/*
 * upward_call.c - an isa-layer file that calls a function of a layer
 * above (the API's bpfvm_program_load, declared by the public header
 * every layer may include): it compiles, but linked with the isa layer
 * and those below it under -Wl,--no-undefined it must not link
 * (tests/layers/check.sh).  With -DCONTROL it calls base's error_set
 * instead, which must link: the check itself works.
 */
#include "isa/isa.h"

int upward_call_probe(bpfvm_error *err);
int upward_call_probe(bpfvm_error *err)
{
#ifdef CONTROL
	return error_set(err, -1, -1, "a call down the layers");
#else
	bpfvm_program *prog;
	return bpfvm_program_load(NULL, 0, NULL, &prog, err);
#endif
}
