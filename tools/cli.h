/*
 * cli.h - shared pieces of the bpfvm command (tools/cli.c) and its
 * subcommands (tools/cmd_*.c).
 */
#ifndef BPFVM_TOOLS_CLI_H
#define BPFVM_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern const char *prog_name;

/* Prints "bpfvm: message" on stderr; returns 1 (the exit status). */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdio.h>

/* The cap on each input, in bytes: --max-input, BPFVM_MAX_INPUT, or
 * 64 MiB (common/input.h). */
extern size_t max_input;
/* Sets max_input from a size such as "64M"; prints the error (naming
 * `what`) and returns 1 if it is not one. */
int set_max_input(const char *what, const char *text);
/* "PATH: larger than the N MiB input cap ..."; returns 1. */
int fail_input_cap(const char *path);
/* Reads a whole file (NUL-terminated), at most max_input bytes; prints the
 * error and returns 1 (*data NULL, *len 0). */
int read_file(const char *path, char **data, size_t *len);
/* Refuses (prints, returns 1) a regular file larger than max_input before
 * the library reads an ELF object from it.  The library itself refuses
 * anything but a regular file, and reads only st_size bytes of one. */
int check_object_size(const char *path);
/* A file's bytes (read_file) in a new memfd named name, to hand to
 * another process as a descriptor; seals (F_SEAL_*, 0 for none) added
 * after the write.  The descriptor, or -1 with the error printed as
 * cmd's. */
int file_memfd(const char *path, const char *name, unsigned seals, const char *cmd);
/* One message of len bytes on the socket sock, with the descriptor fd
 * (SCM_RIGHTS) if fd >= 0: sendmsg's result (-1 and errno). */
long send_with_fd(int sock, const void *data, size_t len, int fd);

/* An output written under a temporary name beside it and renamed into
 * place only when complete, so a failure leaves any earlier file at
 * `path` untouched and no temporary behind. */
struct output_file {
	const char *path;
	char *tmp_path;
	FILE *f;        /* NULL once someone else (pcap) has closed it */
};
/* Creates the temporary (mode 0666 less the umask); prints, returns 1. */
int output_open(const char *path, struct output_file *out);
/* keep: closes and renames into place (prints, returns 1 on failure, then
 * removes the temporary); !keep: closes and removes the temporary. */
int output_finish(struct output_file *out, bool keep);
/* The whole of `data` to `path`, atomically; prints, returns 1. */
int write_file(const char *path, const void *data, size_t len);
bool has_suffix(const char *s, const char *suffix);
/* Hex bytes ("01 02 ff", "0x01,0x02"); prints the error and returns 1. */
int parse_hex_bytes(const char *what, const char *text, uint8_t **out, size_t *out_len);

/* "instruction N: " for an error about one instruction, else "". */
const char *at_insn(int insn);

/* The options of every command that loads an object: --kconfig FILE
 * (Kconfig lines __kconfig externs take first), --map NAME.FIELD=N
 * (max_entries, key_size or value_size, as bpf_map__set_*; NAME.inner
 * for a map-in-map's inner map), --btf FILE (the target BTF of CO-RE
 * relocations, else the kernel's); and -v, set by the command (log each
 * CO-RE relocation on stderr). */
#define OBJECT_MAX_MAP_SETS 64
struct object_args {
	const char *kconfig;
	const char *map_sets[OBJECT_MAX_MAP_SETS];
	size_t map_set_count;
	const char *btf_path;
	bool verbose;
};
#define OBJECT_ARGS_USAGE "[--btf FILE] [--kconfig FILE] [--map NAME.max_entries=N ...]"
#define OBJECT_OPTIONS_HELP "  --btf FILE   target BTF for CO-RE relocations (raw BTF or ELF with .BTF;\n" \
                            "               default /sys/kernel/btf/vmlinux)\n" \
                            "  --kconfig FILE  Kconfig lines the object's __kconfig externs take first\n" \
                            "  --map NAME.FIELD=N  set a map's max_entries, key_size or value_size\n"
/* Takes argv[*i] (and its value, advancing *i) if it is one of them:
 * 1 taken, 0 not one, -1 an error (printed). */
int object_arg(struct object_args *a, int argc, char **argv, int *i, const char *cmd);
/* An option of a command's that takes no value: the bool it sets. */
struct cli_flag {
	const char *name;
	bool *set;
};
/* Sets the flag named `option` in flags (a list ending in a NULL name):
 * whether it was one. */
bool flag_arg(const struct cli_flag *flags, const char *option);
struct bpfvm_object;
/* Opens `path` with the options (with verbose, logging the CO-RE
 * relocations); prints the error and returns 1. */
int object_open(const char *path, const struct object_args *a, struct bpfvm_object **out);

/* Object and map subcommands (tools/cmd_object.c, tools/cmd_map.c). */
int cmd_prog(int argc, char **argv);
int cmd_run_object(const char *path, int argc, char **argv);
int cmd_map(int argc, char **argv);
/* The verifier's verdicts (tools/cmd_verify.c). */
int cmd_verify(int argc, char **argv);
/* Programs attached in live processes (tools/cmd_trace.c). */
int cmd_trace(int argc, char **argv);

/* Printers of `run` that `trace` shares (tools/cmd_object.c): every map's
 * entries BTF-typed; ring buffer and perf records as they are consumed. */
struct bpfvm_instance;
void dump_maps(const struct bpfvm_object *obj, struct bpfvm_instance *inst);
void drain_ringbufs(struct bpfvm_instance *inst, int (*record)(void *map_name, void *data, size_t size));

/* A running host's hooks (tools/cmd_hook.c). */
int cmd_hook(int argc, char **argv);

/* XDP programs on live interfaces through AF_XDP (tools/cmd_xdp.c). */
int cmd_xdp(int argc, char **argv);

#endif
