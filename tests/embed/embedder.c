/*
 * embedder.c - the smallest program built against an installed bpfvm:
 * loads `r0 = 7; r0 += 35; exit` and checks that running it gives 42.
 * install_embed.sh builds it with pkg-config and with find_package(bpfvm).
 */
#include <stdio.h>

#include <bpfvm/bpfvm.h>

int main(void)
{
	static const bpfvm_insn prog[] = {
		{ .opcode = 0xb7, .dst = 0, .imm = 7 },   /* r0 = 7 */
		{ .opcode = 0x07, .dst = 0, .imm = 35 },  /* r0 += 35 */
		{ .opcode = 0x95 },                       /* exit */
	};
	bpfvm_error err = { 0 };
	bpfvm_program *p = NULL;
	BPFVM_OPTS(bpfvm_load_opts, lo, .name = "embedder");
	if (bpfvm_program_load(prog, 3, &lo, &p, &err) != 0) {
		fprintf(stderr, "embedder: load: %s\n", err.msg);
		return 1;
	}
	BPFVM_OPTS(bpfvm_run_opts, ro, .mode = BPFVM_CHECKED);
	uint64_t r0 = 0;
	int rc = bpfvm_program_run(p, &ro, &r0, &err);
	bpfvm_program_free(p);
	if (rc != 0 || r0 != 42) {
		fprintf(stderr, "embedder: run: rc %d, r0 %llu: %s\n", rc, (unsigned long long)r0, err.msg);
		return 1;
	}
	printf("embedder: r0 = %llu\n", (unsigned long long)r0);
	return 0;
}
