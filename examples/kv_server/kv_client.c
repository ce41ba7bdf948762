/*
 * kv_client.c - a load client for kv_server: one connection, one request
 * at a time (SET, then GET of the same key; every Nth key "secret-..."),
 * until SIGTERM/SIGINT or --requests or --seconds, then one line of counts:
 *
 *   client ID sent N filtered F dropped D unfiltered U errors E attaches A detaches T rate R
 *
 * filtered, dropped and unfiltered count the answers by what the hook said
 * (F, D, U: kv_server.c); attaches and detaches count the changes from
 * unfiltered to filtered and back that this client saw, each also said
 * as it happens ("client ID started", "... saw attach", "... saw detach",
 * flushed: a test waits for them).  A request is
 * always finished (its answer read) before a signal ends the loop, so the
 * counts are exact.
 *
 *   kv_client PORT ID [--requests N] [--seconds S] [--secret-every N]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct counts {
	unsigned long long sent, filtered, dropped, unfiltered, errors, attaches, detaches;
	char last;   /* the last verdict: 'F', 'D', 'U' or 0 */
	unsigned id;
};

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1;
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		perror("kv_client: connect");
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* Sends one line and reads its one-line answer (retrying reads a signal
 * interrupts: the server has the request, so its answer is counted). */
static bool exchange(int fd, const char *line, char *answer, size_t cap)
{
	size_t n = strlen(line), off = 0;
	while (off < n) {
		ssize_t w = send(fd, line + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		off += (size_t)w;
	}
	size_t got = 0;
	while (got == 0 || answer[got - 1] != '\n') {
		ssize_t r = recv(fd, answer + got, cap - 1 - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || got + (size_t)r >= cap - 1)
			return false;
		got += (size_t)r;
	}
	answer[got] = '\0';
	return true;
}

static void count_answer(struct counts *c, const char *answer)
{
	char v = answer[0];
	c->filtered += v == 'F';
	c->dropped += v == 'D';
	c->unfiltered += v == 'U';
	c->errors += v != 'F' && v != 'D' && v != 'U';
	bool was_filtered = c->last == 'F' || c->last == 'D', is_filtered = v == 'F' || v == 'D';
	bool attach = c->last == 'U' && is_filtered, detach = was_filtered && v == 'U';
	c->attaches += attach;
	c->detaches += detach;
	if (!c->last || attach || detach) {
		printf("client %u %s\n", c->id, !c->last ? "started" : attach ? "saw attach" : "saw detach");
		fflush(stdout);
	}
	c->last = v;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: kv_client PORT ID [--requests N] [--seconds S] [--secret-every N]\n");
		return 2;
	}
	int port = atoi(argv[1]);
	unsigned id = (unsigned)strtoul(argv[2], NULL, 10);
	unsigned long long max_requests = 0, secret_every = 10;
	double seconds = 0;
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--requests"))
			max_requests = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--secret-every"))
			secret_every = strtoull(argv[i + 1], NULL, 10);
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	int fd = connect_to(port);
	if (fd < 0)
		return 1;
	struct counts c = { .id = id };
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	double elapsed = 0;
	char line[128], answer[512];
	while (!stop && (!max_requests || c.sent < max_requests) && (!seconds || elapsed < seconds)) {
		unsigned long long k = c.sent / 2;
		bool secret = secret_every && k % secret_every == secret_every - 1;
		if (c.sent % 2 == 0)
			snprintf(line, sizeof line, "%u SET %s%u-%llu v%llu\n", id, secret ? "secret-" : "k", id, k % 100, k);
		else
			snprintf(line, sizeof line, "%u GET %s%u-%llu\n", id, secret ? "secret-" : "k", id, k % 100);
		if (!exchange(fd, line, answer, sizeof answer)) {
			fprintf(stderr, "kv_client %u: the server hung up\n", id);
			return 1;
		}
		c.sent++;
		count_answer(&c, answer);
		clock_gettime(CLOCK_MONOTONIC, &t);
		elapsed = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
	}
	printf("client %u sent %llu filtered %llu dropped %llu unfiltered %llu errors %llu attaches %llu "
	       "detaches %llu rate %.0f\n", id, c.sent, c.filtered, c.dropped, c.unfiltered, c.errors, c.attaches,
	       c.detaches, elapsed > 0 ? (double)c.sent / elapsed : 0.0);
	close(fd);
	return c.errors != 0;
}
