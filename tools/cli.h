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
/* Reads a whole file (NUL-terminated); prints the error and returns 1. */
int read_file(const char *path, char **data, size_t *len);
bool has_suffix(const char *s, const char *suffix);
/* Hex bytes ("01 02 ff", "0x01,0x02"); prints the error and returns 1. */
int parse_hex_bytes(const char *what, const char *text, uint8_t **out, size_t *out_len);

/* "instruction N: " for an error about one instruction, else "". */
const char *at_insn(int insn);

/* Object and map subcommands (tools/cmd_object.c, tools/cmd_map.c). */
int cmd_prog(int argc, char **argv);
int cmd_run_object(const char *path, int argc, char **argv);
int cmd_map(int argc, char **argv);
/* The verifier's verdicts (tools/cmd_verify.c). */
int cmd_verify(int argc, char **argv);

#endif
