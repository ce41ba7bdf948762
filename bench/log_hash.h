/*
 * log_hash.h - the hash of a verifier log that bpfvm-verify-bench's
 * --fingerprint prints and test_walk_modes compares with the walks
 * recorded in tests/loops/walks.fingerprint: FNV-1a over every line,
 * with the directories of the source files the log names left out (a
 * rejection's "; line @ /path/to/file.c:N" names the file as clang
 * compiled it, which depends on where the tree is).
 *
 * Owns: struct log_hash, log_hash_init(), log_hash_line().
 */
#ifndef BPFVM_BENCH_LOG_HASH_H
#define BPFVM_BENCH_LOG_HASH_H

#include <stdint.h>
#include <string.h>

struct log_hash {
	uint64_t h;
	uint64_t lines;
};

static inline void log_hash_init(struct log_hash *lh)
{
	lh->h = 0xcbf29ce484222325ull;
	lh->lines = 0;
}

static inline void log_hash_bytes(struct log_hash *lh, const char *from, const char *to)
{
	for (const unsigned char *c = (const unsigned char *)from; c < (const unsigned char *)to; c++)
		lh->h = (lh->h ^ *c) * 0x100000001b3ull;
}

/* A log callback (bpfvm_log_fn): user is a struct log_hash. */
static inline void log_hash_line(void *user, const char *line)
{
	struct log_hash *lh = user;
	const char *at = strstr(line, " @ "), *end = line + strlen(line);
	if (at) {
		/* " @ FILE:N": FILE's directories left out */
		const char *colon = strrchr(at, ':');
		const char *base = at + 3;
		for (const char *c = base; c < (colon ? colon : end); c++)
			if (*c == '/')
				base = c + 1;
		log_hash_bytes(lh, line, at + 3);
		log_hash_bytes(lh, base, end);
	} else {
		log_hash_bytes(lh, line, end);
	}
	lh->lines++;
}

#endif
