/*
 * input.h - the one reader of whole input files, for the bpfvm command and
 * the .data parser (datafile.c): every input is read in chunks up to a
 * cap, so pipes and /dev/stdin work while /dev/zero or a huge file fails
 * as soon as the cap is passed, before it can eat the machine's memory.
 *
 * Text only, like datafile.c: it needs nothing of libbpfvm.
 */
#ifndef BPFVM_TOOLS_INPUT_H
#define BPFVM_TOOLS_INPUT_H

#include <stddef.h>

/* The default cap on one input: 64 MiB. */
#define INPUT_DEFAULT_CAP ((size_t)64 << 20)

/* Reads all of `path` (at most `cap` bytes) into *data, malloc'd and
 * NUL-terminated, and its length into *len.  Returns 0, or -1 with errno
 * set: EFBIG when the file holds more than `cap` bytes, ENOMEM, or the
 * error of opening or reading it. */
int input_read(const char *path, size_t cap, char **data, size_t *len);

/* A size such as "65536", "64K", "64M" or "1G" (binary units); returns 0,
 * or -1 if `text` is not one. */
int input_parse_size(const char *text, size_t *size);

/* `size` for messages: "64 MiB" when a whole number of MiB (or KiB, GiB),
 * else "N bytes"; written into buf. */
const char *input_size_text(size_t size, char *buf, size_t buf_len);

#endif
