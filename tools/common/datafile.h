/*
 * datafile.h - the one parser of .data test files: bpf_conformance's
 * format, with bpfvm's additions.  Used by `bpfvm run FILE.data`, `bpfvm
 * verify FILE.data` and the tests (tests/support/data_runner.c).
 *
 * A file is a list of sections, each starting with a line "-- NAME":
 *   asm         the program, in the conformance assembler's syntax
 *   raw         or the program as 64-bit words in hex, one a line
 *               (0x<imm:32><off:16><src:4><dst:4><opcode:8>, little-endian)
 *   mem         input memory, hex bytes
 *   result      expected r0
 *   load-error  "INSN TEXT": loading must fail at instruction INSN (-1:
 *               none) with TEXT in the message
 *   run-error   "INSN TEXT": the checked run must fail so
 * A section runs to the next line starting with "-- ".
 *
 * Text only: it needs nothing of libbpfvm, so it sits beside the tools and
 * the tests, above the library.
 */
#ifndef BPFVM_TOOLS_DATAFILE_H
#define BPFVM_TOOLS_DATAFILE_H

#include <stddef.h>
#include <stdint.h>

/* The whole file, NUL-terminated and malloc'd; NULL (errno set) if it
 * cannot be read or holds more than INPUT_DEFAULT_CAP (input.h). */
char *datafile_read(const char *path);

/* The body of section `name` ("asm", "mem", ...), malloc'd; NULL if the
 * text has no such section.  The header line may carry words after the
 * name ("-- asm  # comment"). */
char *datafile_section(const char *text, const char *name);

/* Hex bytes ("01 02 ff", "0x01,0x02"): *out (malloc'd) and *out_len.
 * Returns 0, or -1 with *bad_offset the offset of the first bad byte (or
 * of nothing: out of memory, *bad_offset = (size_t)-1). */
int datafile_hex_bytes(const char *text, uint8_t **out, size_t *out_len, size_t *bad_offset);

/* A "raw" section's words, in order: malloc'd, *count of them; NULL if
 * out of memory. */
uint64_t *datafile_raw_words(const char *section, size_t *count);

/* A "load-error" or "run-error" section: "INSN TEXT" into *insn and text
 * (TEXT up to the end of its line).  Returns -1, *insn = -2, if the
 * section does not start with a number. */
int datafile_expected_error(const char *section, int *insn, char *text, size_t text_len);

#endif
