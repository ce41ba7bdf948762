/*
 * core_target.c - the TARGET BTF of the CO-RE test programs: compiled with
 * -g, its .BTF (read by bpfvm and by libbpf through btf_custom_path) holds
 * the types of core_types.h with another layout.  Nothing here runs.
 */
struct core_inner {
	long pad;
	char tag[8];
	int x;
};

struct core_sample {
	char pad0[12];
	int arr[6];
	struct {
		long b;
		int a;
	};
	unsigned int grows;
	union {
		short u2;
		int u1;
	};
	int bf3 : 7;
	unsigned long bf1 : 5, pad_bits : 20, bf2 : 9;
	struct core_inner *next;
	struct core_inner in;
};

struct core_flav {
	int x;
	int z;
	int y;
};

enum core_color { CORE_BLUE = 40, CORE_RED = 10, CORE_GREEN = 20, CORE_NEG = -30 };

typedef struct core_sample core_sample_t;

struct core_sample sample_var;
struct core_flav flav_var;
enum core_color color_var;
core_sample_t *typedef_var;
