/*
 * core_types.h - the LOCAL types of the CO-RE test programs (tests/core):
 * what the programs were compiled against.  core_target.c declares the
 * same names with another layout (fields moved, resized, renamed, missing)
 * so that every relocation has a target value to find.
 */
#ifndef BPFVM_TESTS_CORE_TYPES_H
#define BPFVM_TESTS_CORE_TYPES_H

#define CORE __attribute__((preserve_access_index))

struct core_inner {
	int x;
	char tag[4];
} CORE;

struct core_sample {
	int a;
	long b;
	struct core_inner in;
	int arr[4];
	union {
		int u1;
		short u2;
	};
	unsigned int bf1 : 3, bf2 : 9;
	int bf3 : 5;
	unsigned short grows;      /* unsigned int in the target: loads widen */
	int missing;               /* absent from the target */
	struct core_inner *next;
} CORE;

/* A flavor: relocated against the target's struct core_flav. */
struct core_flav___v2 {
	int y;
	int z;
} CORE;

enum core_color { CORE_RED = 1, CORE_GREEN = 2, CORE_BLUE = 4, CORE_NEG = -3 };

typedef struct core_sample core_sample_t;

/* Types the target lacks. */
struct core_absent {
	int nothing;
} CORE;
enum core_gone { CORE_GONE_A = 7 };

#endif
