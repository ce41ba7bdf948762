/*
 * kv_filter_v2.c - the same filter as kv_filter.c, counting itself as
 * version 2: the one a test swaps in and out.
 */
#define FILTER_VERSION 2
#include "kv_filter.c"
