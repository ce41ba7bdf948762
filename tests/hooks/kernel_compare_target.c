/*
 * kernel_compare_target.c - the deterministic target of the kernel
 * comparison (tests/hooks/kernel_compare.sh, built without sanitizers as
 * any traced program): between a call of kc_marker_start() and one of
 * kc_marker_stop() it makes N calls of kc_work() and N write()s to
 * /dev/null, both with arguments from a pseudo-random sequence of a fixed
 * seed spread over many log2 buckets, and nothing else; then exits.  Its
 * spin mode is the running process tests/hooks/attach_stress_agent.sh
 * attaches to and detaches from again and again.
 *
 *   kernel_compare_target [N]    N defaults to 10000
 *   kernel_compare_target spin   prints "ready PID"; 4 threads call
 *                                kc_spin(thread, seq) in a tight loop
 *                                (seq 1, 2, ...) while it reads commands:
 *                                "bytes" (kc_spin's first 16 bytes in
 *                                hex), "quit" (prints "calls N wrong W":
 *                                the calls made, those whose result was
 *                                not thread << 48 | seq; exits)
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WRITE_BUCKETS 20   /* write lengths below 2^20: the buffer's size */

static char buffer[1 << WRITE_BUCKETS];
volatile uint64_t sink;

/* The probes' targets: never inlined, and not empty, so each has a body
 * of its own to patch. */
__attribute__((noinline)) void kc_marker_start(void)
{
	sink++;
}

__attribute__((noinline)) void kc_marker_stop(void)
{
	sink--;
}

__attribute__((noinline)) uint64_t kc_work(uint64_t size, uint64_t salt)
{
	uint64_t r = (size >> (salt & 15)) * 3 + (salt & 0xff);
	sink += r;
	return r;
}

__attribute__((noinline)) uint64_t kc_spin(uint64_t thread, uint64_t seq)
{
	uint64_t r = thread << 48 | seq;
	sink = r;
	return r;
}

#define SPIN_THREADS 4

static atomic_int spin_stop;

struct spinner {
	pthread_t id;
	uint64_t thread, calls, wrong;
};

static void *spin_calls(void *arg)
{
	struct spinner *s = arg;
	while (!atomic_load_explicit(&spin_stop, memory_order_relaxed)) {
		uint64_t seq = ++s->calls;
		s->wrong += kc_spin(s->thread, seq) != (s->thread << 48 | seq);
	}
	return NULL;
}

static int spin(void)
{
	struct spinner s[SPIN_THREADS] = { 0 };
	for (int i = 0; i < SPIN_THREADS; i++) {
		s[i].thread = (uint64_t)i;
		if (pthread_create(&s[i].id, NULL, spin_calls, &s[i]))
			return 5;
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	char line[64];
	while (fgets(line, sizeof line, stdin) && strcmp(line, "quit\n")) {
		if (strcmp(line, "bytes\n"))
			continue;
		const uint8_t *code = (const uint8_t *)(uintptr_t)kc_spin;
		for (int i = 0; i < 16; i++)
			printf("%02x", code[i]);
		printf("\n");
		fflush(stdout);
	}
	atomic_store(&spin_stop, 1);
	uint64_t calls = 0, wrong = 0;
	for (int i = 0; i < SPIN_THREADS; i++) {
		pthread_join(s[i].id, NULL);
		calls += s[i].calls;
		wrong += s[i].wrong;
	}
	printf("calls %llu wrong %llu\n", (unsigned long long)calls, (unsigned long long)wrong);
	return 0;
}

static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;   /* xorshift64 */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

/* A value of a random log2 bucket below 2^bits, anywhere in that bucket. */
static uint64_t spread(uint64_t *state, unsigned bits)
{
	uint64_t x = next_random(state);
	unsigned bucket = x % bits;
	return (1ull << bucket) | (x >> 8 & ((1ull << bucket) - 1));
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "spin"))
		return spin();
	long n = argc > 1 ? atol(argv[1]) : 10000;
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (n <= 0 || null < 0) {
		fprintf(stderr, "usage: kernel_compare_target [N]; /dev/null must open\n");
		return 2;
	}
	uint64_t state = 0x9e3779b97f4a7c15ull;
	kc_marker_start();
	for (long i = 0; i < n; i++)
		kc_work(spread(&state, 48), next_random(&state));
	for (long i = 0; i < n; i++)
		if (write(null, buffer, spread(&state, WRITE_BUCKETS)) < 0)
			return 3;
	kc_marker_stop();
	close(null);
	return 0;
}
