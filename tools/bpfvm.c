/*
 * bpfvm.c - the `bpfvm` command: thin subcommands over libbpfvm, in the
 * style of bpftool (`bpfvm OBJECT COMMAND` or `bpfvm COMMAND`).
 *
 * Owns: argument parsing, reading program files in their several forms
 * (assembly text, raw bytecode, conformance-suite .data files), and
 * printing.  Everything it does, the library can do.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <capstone/capstone.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/verifier.h"
#include "cli.h"
#include "common/datafile.h"

#define DEFAULT_MAX_BACK_EDGES (1ull << 32)


static void usage_main(FILE *f)
{
	fprintf(f,
	        "usage: bpfvm [--max-input SIZE] COMMAND [ARGS]\n"
	        "\n"
	        "Commands:\n"
	        "  asm IN.s [-o OUT]            assemble text into raw bytecode\n"
	        "  disasm FILE [--syntax llvm] [--jited]\n"
	        "                               disassemble a program (or its machine code)\n"
	        "  run FILE [--mem HEX | --mem-file F] [--jit] [--unchecked]\n"
	        "                               run a program and print r0\n"
	        "  run OBJ [--prog NAME] [--data-in F] [--data-out F] [--ctx-in F]\n"
	        "          [--ctx-out F] [--repeat N] [--interp | --jit] [--no-verify [--unchecked]]\n"
	        "          [--pcap IN.pcap [--pcap-out OUT.pcap]] [--pin-dir DIR] [--dump-maps] [-j]\n"
	        "          " OBJECT_ARGS_USAGE " [-v]\n"
	        "                               test-run a program of a clang-built object: verified,\n"
	        "                               then run unchecked (--no-verify: checked); a\n"
	        "                               redirect verdict names its target (devmap, ...)\n"
	        "  verify OBJ [--prog NAME] [-v|-vv] " OBJECT_ARGS_USAGE "\n"
	        "                               the verifier's verdict on each program\n"
	        "  prog show OBJ [-j] [--btf FILE] [-v]\n"
	        "                               the programs and maps of an object\n"
	        "  map {show|dump|lookup|update|delete} pinned PATH ...\n"
	        "                               pinned maps, as bpftool does\n"
	        "  trace OBJ [--prog NAME]... [-j] [--duration S] [--dump-maps] [--interval S]\n"
	        "            [--hist MAP] [--no-follow] -- COMMAND [ARGS] | --pid PID...\n"
	        "                               attach an object's programs in live processes\n"
	        "  hook {list|attach|detach|replace|pin} --socket PATH | --pid PID ...\n"
	        "                               a running host's hooks and their programs\n"
	        "  xdp {attach IFACE OBJ [--prog NAME] [--queues N] [--duration S] [-j] | detach IFACE}\n"
	        "                               an XDP program on a live interface, run in user space\n"
	        "                               (AF_XDP), and its removal\n"
	        "  help                         this text\n"
	        "\n"
	        "FILE is assembly text (.s, .asm), a bpf_conformance test (.data: its\n"
	        "asm and mem sections), or raw bytecode (8 bytes an instruction).\n"
	        "OBJ is an ELF object built by clang -O2 -g -target bpf.  Its CO-RE\n"
	        "relocations are applied against the kernel's BTF, or --btf FILE (run,\n"
	        "verify, prog show); -v logs each one.\n"
	        "Run `bpfvm COMMAND --help` for a command's options.\n"
	        "\n"
	        "Every input (program, memory, data, context, capture, object) is read\n"
	        "up to a cap, 64 MiB unless --max-input SIZE (anywhere on the line) or\n"
	        "the environment's BPFVM_MAX_INPUT says otherwise (SIZE: bytes, or with\n"
	        "K, M or G).  Output files appear only when the command succeeds.\n");
}

struct loaded_input {
	bpfvm_insn *insns;
	size_t count;
	uint8_t *mem;          /* from a .data file's -- mem section, if any */
	size_t mem_len;
	bool has_mem;
};

static void free_input(struct loaded_input *in)
{
	free(in->insns);
	free(in->mem);
	memset(in, 0, sizeof *in);
}

static int assemble(const char *path, const char *text, struct loaded_input *in)
{
	bpfvm_error err = { 0 };
	if (bpfvm_asm(text, &in->insns, &in->count, &err))
		return fail("%s:%d: %s", path, err.line, err.msg);
	return 0;
}

/* Reads FILE in whichever form it has. */
static int load_input(const char *path, struct loaded_input *in)
{
	memset(in, 0, sizeof *in);
	char *data;
	size_t len;
	if (read_file(path, &data, &len))
		return 1;
	int rc = 0;
	if (len >= 4 && !memcmp(data, "\x7f" "ELF", 4)) {
		rc = fail("%s: an ELF object: use 'bpfvm run' or 'bpfvm prog show' on it", path);
	} else if (has_suffix(path, ".data")) {
		char *asm_text = datafile_section(data, "asm");
		if (!asm_text) {
			rc = fail("%s: no '-- asm' section", path);
		} else {
			rc = assemble(path, asm_text, in);
			free(asm_text);
			char *mem_text = rc ? NULL : datafile_section(data, "mem");
			if (mem_text) {
				rc = parse_hex_bytes(path, mem_text, &in->mem, &in->mem_len);
				in->has_mem = rc == 0;
				free(mem_text);
			}
		}
	} else if (has_suffix(path, ".s") || has_suffix(path, ".asm")) {
		if (strlen(data) != len)
			rc = fail("%s: assembly text contains a NUL byte", path);
		else
			rc = assemble(path, data, in);
	} else {
		if (len == 0 || len % sizeof(bpfvm_insn)) {
			rc = fail("%s: %zu bytes is not a whole number of 8-byte instructions "
			          "(assembly files must end in .s or .asm)", path, len);
		} else {
			in->count = len / sizeof(bpfvm_insn);
			in->insns = malloc(len);
			if (!in->insns)
				rc = fail("%s: out of memory", path);
			else
				memcpy(in->insns, data, len);
		}
	}
	free(data);
	if (rc)
		free_input(in);
	return rc;
}

static int cmd_asm(int argc, char **argv)
{
	const char *in_path = NULL, *out_path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: bpfvm asm IN.s [-o OUT]\n"
			       "Assembles IN.s (the bpf_conformance syntax). With -o, writes raw\n"
			       "bytecode to OUT; without, prints each instruction's bytes in hex.\n");
			return 0;
		} else if (!strcmp(argv[i], "-o")) {
			if (++i == argc)
				return fail("asm: -o needs a file name");
			out_path = argv[i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return fail("asm: unknown option '%s'", argv[i]);
		} else if (!in_path) {
			in_path = argv[i];
		} else {
			return fail("asm: more than one input file");
		}
	}
	if (!in_path)
		return fail("asm: no input file (see 'bpfvm asm --help')");
	char *text;
	size_t len;
	if (read_file(in_path, &text, &len))
		return 1;
	struct loaded_input in = { 0 };
	int rc = strlen(text) != len ? fail("%s: contains a NUL byte", in_path)
	                             : assemble(in_path, text, &in);
	free(text);
	if (rc)
		return rc;
	if (out_path) {
		rc = write_file(out_path, in.insns, in.count * sizeof(bpfvm_insn));
	} else {
		for (size_t i = 0; i < in.count; i++) {
			const uint8_t *b = (const uint8_t *)&in.insns[i];
			for (int k = 0; k < 8; k++)
				printf("%02x%s", b[k], k < 7 ? " " : "\n");
		}
	}
	free_input(&in);
	return rc;
}

/* Prints the x86-64 code the JIT makes of the program. */
static int disasm_jited(const char *path, const struct loaded_input *in, bpfvm_mode mode)
{
	bpfvm_program *prog = NULL;
	bpfvm_error err = { 0 };
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = true);
	if (bpfvm_program_load(in->insns, in->count, &lo, &prog, &err))
		return fail("%s: %s%s", path, at_insn(err.insn), err.msg);
	const void *code;
	size_t len;
	int rc = 0;
	csh cs;
	if (bpfvm_program_jited(prog, mode, &code, &len)) {
		rc = fail("%s: no machine code", path);
	} else if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
		rc = fail("capstone: cannot open an x86-64 decoder");
	} else {
		cs_insn *insn;
		size_t n = cs_disasm(cs, code, len, 0, 0, &insn);
		printf("; %zu bytes of x86-64 for %zu eBPF instructions (%s)\n", len, in->count,
		       mode == BPFVM_CHECKED ? "checked" : "unchecked");
		for (size_t i = 0; i < n; i++)
			printf("%6" PRIx64 ":  %-8s %s\n", insn[i].address, insn[i].mnemonic, insn[i].op_str);
		if (n)
			cs_free(insn, n);
		cs_close(&cs);
	}
	bpfvm_program_free(prog);
	return rc;
}

static int cmd_disasm(int argc, char **argv)
{
	const char *path = NULL;
	bpfvm_syntax syntax = BPFVM_SYNTAX_ASM;
	bool show_bytes = false, jited = false;
	bpfvm_mode jit_mode = BPFVM_CHECKED;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: bpfvm disasm FILE [--syntax asm|llvm] [--bytes]\n"
			       "       bpfvm disasm FILE --jited [--unchecked]\n"
			       "Prints each instruction with its index.  --syntax llvm prints\n"
			       "llvm-objdump's form (r0 = 1); --bytes adds the encoded bytes.\n"
			       "--jited prints the x86-64 code the JIT makes (checked mode unless\n"
			       "--unchecked).\n");
			return 0;
		} else if (!strcmp(argv[i], "--jited")) {
			jited = true;
		} else if (!strcmp(argv[i], "--unchecked")) {
			jit_mode = BPFVM_UNCHECKED;
		} else if (!strcmp(argv[i], "--syntax")) {
			if (++i == argc)
				return fail("disasm: --syntax needs 'asm' or 'llvm'");
			if (!strcmp(argv[i], "llvm"))
				syntax = BPFVM_SYNTAX_LLVM;
			else if (!strcmp(argv[i], "asm"))
				syntax = BPFVM_SYNTAX_ASM;
			else
				return fail("disasm: unknown syntax '%s' (asm or llvm)", argv[i]);
		} else if (!strcmp(argv[i], "--bytes")) {
			show_bytes = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return fail("disasm: unknown option '%s'", argv[i]);
		} else if (!path) {
			path = argv[i];
		} else {
			return fail("disasm: more than one input file");
		}
	}
	if (!path)
		return fail("disasm: no input file (see 'bpfvm disasm --help')");
	struct loaded_input in;
	if (load_input(path, &in))
		return 1;
	if (jited) {
		int jrc = disasm_jited(path, &in, jit_mode);
		free_input(&in);
		return jrc;
	}
	int rc = 0;
	char line[256];
	for (size_t pc = 0; pc < in.count;) {
		int used = bpfvm_disasm_insn(in.insns, in.count, pc, syntax, line, sizeof line);
		printf("%5zu: ", pc);
		if (show_bytes) {
			const uint8_t *b = (const uint8_t *)&in.insns[pc];
			for (int k = 0; k < 8; k++)
				printf("%02x ", b[k]);
			printf(" ");
		}
		printf("%s\n", line);
		if (used < 0) {
			rc = 1;   /* still list the rest: a disassembler shows what is there */
			used = 1;
		}
		for (int extra = 1; extra < used && show_bytes; extra++) {
			const uint8_t *b = (const uint8_t *)&in.insns[pc + (size_t)extra];
			printf("%5zu: ", pc + (size_t)extra);
			for (int k = 0; k < 8; k++)
				printf("%02x ", b[k]);
			printf("\n");
		}
		pc += (size_t)used;
	}
	if (rc)
		fprintf(stderr, "%s: %s: contains invalid instructions\n", prog_name, path);
	free_input(&in);
	return rc;
}

/* Only a regular file is looked at: peeking into a pipe (/dev/stdin) would
 * eat the bytes the program is read from, and the library opens objects
 * only from regular files anyway. */
static bool is_elf(const char *path)
{
	struct stat st;
	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return false;
	FILE *f = fopen(path, "rb");
	char magic[4] = { 0 };
	bool elf = f && fread(magic, 1, 4, f) == 4 && !memcmp(magic, "\x7f" "ELF", 4);
	if (f)
		fclose(f);
	return elf;
}

static int cmd_run(int argc, char **argv)
{
	const char *path = NULL, *mem_hex = NULL, *mem_file = NULL;
	bpfvm_mode mode = BPFVM_CHECKED;
	uint64_t max_back_edges = DEFAULT_MAX_BACK_EDGES;
	bool print_mem = false, jit = false, no_verify = false, unchecked = false;
	/* an ELF object: the object runner takes every option */
	for (int i = 1; i < argc; i++)
		if (argv[i][0] != '-' && is_elf(argv[i]))
			return cmd_run_object(NULL, argc, argv);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: bpfvm run FILE [--mem HEX | --mem-file F] [--interp | --jit]\n"
			       "                [--no-verify [--unchecked]] [--max-back-edges N] [--print-mem]\n"
			       "Runs the program with r1 = a writable copy of the input memory and\n"
			       "r2 = its length, and prints r0.  The program is verified first (for\n"
			       "memory of that length) and then runs unchecked.  With --no-verify\n"
			       "every memory access is checked instead, unless --unchecked is given\n"
			       "(only for programs known to be safe).\n"
			       "  --mem HEX           input memory as hex bytes ('01 02 ff')\n"
			       "  --mem-file F        input memory read from file F\n"
			       "  --interp, --jit     the interpreter (default) or the x86-64 JIT\n"
			       "  --max-back-edges N  checked mode: stop after N backward jumps and\n"
			       "                      calls (default %llu; 0: no limit)\n"
			       "  --print-mem         print the memory afterwards, in hex\n",
			       (unsigned long long)DEFAULT_MAX_BACK_EDGES);
			return 0;
		} else if (!strcmp(argv[i], "--mem") || !strcmp(argv[i], "--mem-file") ||
		           !strcmp(argv[i], "--max-back-edges")) {
			if (i + 1 == argc)
				return fail("run: %s needs a value", argv[i]);
			if (!strcmp(argv[i], "--mem"))
				mem_hex = argv[++i];
			else if (!strcmp(argv[i], "--mem-file"))
				mem_file = argv[++i];
			else {
				char *end;
				errno = 0;
				max_back_edges = strtoull(argv[++i], &end, 0);
				if (errno || *end || argv[i][0] == '-')
					return fail("run: --max-back-edges: '%s' is not a count", argv[i]);
			}
		} else if (!strcmp(argv[i], "--unchecked")) {
			unchecked = true;
		} else if (!strcmp(argv[i], "--no-verify")) {
			no_verify = true;
		} else if (!strcmp(argv[i], "--print-mem")) {
			print_mem = true;
		} else if (!strcmp(argv[i], "--jit")) {
			jit = true;
		} else if (!strcmp(argv[i], "--interp")) {
			jit = false;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return fail("run: unknown option '%s'", argv[i]);
		} else if (!path) {
			path = argv[i];
		} else {
			return fail("run: more than one input file");
		}
	}
	if (!path)
		return fail("run: no input file (see 'bpfvm run --help')");
	if (mem_hex && mem_file)
		return fail("run: give --mem or --mem-file, not both");
	struct loaded_input in;
	if (load_input(path, &in))
		return 1;
	int rc = 0;
	if (mem_hex || mem_file) {
		free(in.mem);
		in.mem = NULL;
		if (mem_hex) {
			rc = parse_hex_bytes("--mem", mem_hex, &in.mem, &in.mem_len);
		} else {
			char *data;
			rc = read_file(mem_file, &data, &in.mem_len);
			in.mem = (uint8_t *)data;
		}
		in.has_mem = rc == 0;
	}
	bpfvm_program *prog = NULL;
	bpfvm_error err = { 0 };
	/* the instructions the verification walked: a write to r10 elsewhere
	 * is dead code, a no-op once loaded */
	uint8_t *walked = NULL;
	if (!rc && !no_verify && !(walked = calloc(in.count ? in.count : 1, 1)))
		rc = fail("run: out of memory");
	if (!rc && !no_verify) {
		/* proved safe for this memory: no run-time checks needed */
		BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = BPFVM_PROG_TYPE_RAW, .mem_size = (uint32_t)in.mem_len,
		           .walked = walked);
		if (bpfvm_verify(in.insns, in.count, &vo, NULL, &err))
			rc = fail("%s: rejected by the verifier: %s (--no-verify runs it with checks)", path, err.msg);
		unchecked = true;
	}
	if (unchecked)
		mode = BPFVM_UNCHECKED;
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = jit, .name = path, .walked = walked);
	if (!rc && bpfvm_program_load(in.insns, in.count, &lo, &prog, &err))
		rc = fail("%s: %s%s", path, at_insn(err.insn), err.msg);
	free(walked);
	if (!rc) {
		bpfvm_region region = { .base = in.mem, .len = in.mem_len, .writable = true };
		BPFVM_OPTS(bpfvm_run_opts, opts,
			.args = { (uint64_t)(uintptr_t)in.mem, in.mem_len },
			.mode = mode,
			.engine = jit ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP,
			.regions = &region,
			.region_count = in.has_mem ? 1 : 0,
			.packet = in.mem,
			.packet_len = in.mem_len,
			.max_back_edges = max_back_edges
		);
		uint64_t r0;
		if (bpfvm_program_run(prog, &opts, &r0, &err)) {
			rc = fail("%s: %s%s", path, at_insn(err.insn), err.msg);
		} else {
			printf("Return value: %" PRIu64 " (0x%" PRIx64 ")\n", r0, r0);
			if (print_mem) {
				printf("Memory:");
				for (size_t i = 0; i < in.mem_len; i++)
					printf("%s%02x", i % 16 ? " " : "\n  ", in.mem[i]);
				printf("\n");
			}
		}
	}
	bpfvm_program_free(prog);
	free_input(&in);
	return rc;
}

/* The input cap: BPFVM_MAX_INPUT, then --max-input SIZE wherever it
 * appears (removed from argv, so no subcommand sees it). */
static int take_max_input(int *argc, char **argv)
{
	const char *env = getenv("BPFVM_MAX_INPUT");
	if (env && *env && set_max_input("BPFVM_MAX_INPUT", env))
		return 1;
	int kept = 1;
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--max-input")) {
			argv[kept++] = argv[i];
			continue;
		}
		if (i + 1 == *argc)
			return fail("--max-input needs a size");
		if (set_max_input("--max-input", argv[++i]))
			return 1;
	}
	argv[kept] = NULL;
	*argc = kept;
	return 0;
}

int main(int argc, char **argv)
{
	if (take_max_input(&argc, argv))
		return 1;
	if (argc < 2) {
		usage_main(stderr);
		return 1;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage_main(stdout);
		return 0;
	}
	if (!strcmp(cmd, "asm"))
		return cmd_asm(argc - 1, argv + 1);
	if (!strcmp(cmd, "disasm"))
		return cmd_disasm(argc - 1, argv + 1);
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "prog"))
		return cmd_prog(argc - 1, argv + 1);
	if (!strcmp(cmd, "map"))
		return cmd_map(argc - 1, argv + 1);
	if (!strcmp(cmd, "verify"))
		return cmd_verify(argc - 1, argv + 1);
	if (!strcmp(cmd, "trace"))
		return cmd_trace(argc - 1, argv + 1);
	if (!strcmp(cmd, "hook"))
		return cmd_hook(argc - 1, argv + 1);
	if (!strcmp(cmd, "xdp"))
		return cmd_xdp(argc - 1, argv + 1);
	fail("unknown command '%s'", cmd);
	usage_main(stderr);
	return 1;
}
