/*
 * upward_include.c - an isa-layer file that includes a header of a layer
 * above (the helpers): compiled with the isa layer's include root, it
 * must not compile (tests/layers/check.sh).
 */
#include "helpers/helpers.h"

int upward_include_probe(void);
int upward_include_probe(void)
{
	return 0;
}
