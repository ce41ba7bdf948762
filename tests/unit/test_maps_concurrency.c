/*
 * test_maps_concurrency.c - maps under many threads and across processes.
 *
 * Owns: atomic counters in looked-up values updated by many threads while
 * user space reads and iterates (no increment may be lost), concurrent
 * update/delete churn on hash and LRU maps (values read whole, every key
 * once in an iteration, LRU updates never failing), program lookups
 * (lock-free in hash maps) of keys that stay while keys sharing their
 * buckets come and go (always found, the right element; absent keys
 * never found), a multi-producer
 * multi-consumer queue, a ring buffer with many producers (reserve/submit,
 * discard, output) and a polling consumer (every record exactly once, in
 * each producer's order), pinning: a forked child opens the pinned
 * maps and works on them while the parent does too, and the spare
 * elements threads keep for replacing in plain hash maps (never lost,
 * never shared: with threads replacing in a full map, exiting, holding
 * them while the map object is destroyed, and across fork()).
 *
 * Build by hand with -fsanitize=thread to check for data races.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/maps_test.h"
#include "maps/map_internal.h"

#define THREADS 6
#define ROUNDS 20000

static unsigned ncpus;

/* ---- atomic counters -------------------------------------------------------- */

struct counter_job {
	bpfvm_map *map;
	uint32_t keys;
	int rounds;
	int failures;
	uint32_t key_size;
	long *reader_passes;   /* start only once user space is reading */
};

static void make_key(uint8_t *key, uint32_t key_size, uint32_t i)
{
	memset(key, 0, key_size);
	if (key_size == 8) {   /* an lpm_trie key: /32 prefix */
		uint32_t plen = 32;
		memcpy(key, &plen, 4);
		memcpy(key + 4, &i, 4);
	} else {
		memcpy(key, &i, 4);
	}
}

static void *counter_worker(void *arg)
{
	struct counter_job *job = arg;
	uint8_t key[16];
	uint64_t zero = 0;
	while (__atomic_load_n(job->reader_passes, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	for (int r = 0; r < job->rounds; r++) {
		make_key(key, job->key_size, (uint32_t)r % job->keys);
		uint64_t *p = bpfvm_map_lookup_elem(job->map, key);
		if (!p) {
			/* First use: create it (a racing creator wins, we retry). */
			bpfvm_map_update_elem(job->map, key, &zero, BPFVM_NOEXIST);
			p = bpfvm_map_lookup_elem(job->map, key);
		}
		if (!p) {
			job->failures++;
			continue;
		}
		__atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

struct reader_job {
	bpfvm_map *map;
	volatile int *stop;
	long reads;            /* atomic */
	uint32_t key_size;
	uint32_t value_size;
	long passes;           /* atomic: full iterations done */
};

/* User space reading and iterating while the workers count. */
static void *reader_worker(void *arg)
{
	struct reader_job *job = arg;
	uint8_t key[16], next[16], *value = malloc(job->value_size);
	while (!__atomic_load_n(job->stop, __ATOMIC_ACQUIRE)) {
		const void *cur = NULL;
		while (bpfvm_map_get_next_key(job->map, cur, next, NULL) == 0) {
			memcpy(key, next, job->key_size);
			bpfvm_map_lookup(job->map, key, value, 0, NULL);
			cur = key;
			__atomic_add_fetch(&job->reads, 1, __ATOMIC_RELAXED);
		}
		__atomic_add_fetch(&job->passes, 1, __ATOMIC_RELEASE);
		sched_yield();
	}
	free(value);
	return NULL;
}

static uint64_t sum_values(bpfvm_map *m, uint32_t key_size, bool percpu)
{
	bpfvm_map_info info;
	bpfvm_map_info_get(m, &info);
	uint8_t key[16], next[16], *value = malloc(info.user_value_size);
	uint64_t sum = 0;
	const void *cur = NULL;
	while (bpfvm_map_get_next_key(m, cur, next, NULL) == 0) {
		memcpy(key, next, key_size);
		if (bpfvm_map_lookup(m, key, value, 0, NULL) == 0) {
			for (unsigned c = 0; c < (percpu ? ncpus : 1); c++) {
				uint64_t x;
				memcpy(&x, value + c * 8, 8);
				sum += x;
			}
		}
		cur = key;
	}
	free(value);
	return sum;
}

static void test_counters(uint32_t type, uint32_t key_size, uint32_t max_entries, uint32_t flags)
{
	const char *t = bpfvm_map_type_name(type);
	bool percpu = type == BPFVM_MAP_TYPE_PERCPU_HASH || type == BPFVM_MAP_TYPE_PERCPU_ARRAY ||
	              type == BPFVM_MAP_TYPE_LRU_PERCPU_HASH;
	bpfvm_map *m = mt_map(type, key_size, 8, max_entries, flags);
	if (!m)
		return;
	pthread_t th[THREADS], rd;
	struct counter_job jobs[THREADS];
	volatile int stop = 0;
	struct reader_job rjob = { m, &stop, 0, key_size, percpu ? ncpus * 8 : 8, 0 };
	pthread_create(&rd, NULL, reader_worker, &rjob);
	for (int i = 0; i < THREADS; i++) {
		jobs[i] = (struct counter_job){ m, 16, ROUNDS, 0, key_size, &rjob.passes };
		pthread_create(&th[i], NULL, counter_worker, &jobs[i]);
	}
	int failures = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		failures += jobs[i].failures;
	}
	/* Let the reader see the counters at least once. */
	for (int spins = 0; __atomic_load_n(&rjob.reads, __ATOMIC_RELAXED) == 0 && spins < 100000; spins++)
		sched_yield();
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(rd, NULL);
	uint64_t sum = sum_values(m, key_size, percpu);
	CHECK(failures == 0, "%s: %d lookups failed", t, failures);
	CHECK(sum == (uint64_t)THREADS * ROUNDS, "%s: counters sum to %" PRIu64 ", want %d (lost updates)", t, sum,
	      THREADS * ROUNDS);
	CHECK(__atomic_load_n(&rjob.reads, __ATOMIC_RELAXED) > 0, "%s: the reader read", t);
	bpfvm_map_put(m);
}

/* ---- churn: updates and deletes racing ------------------------------------ */

struct churn_job {
	bpfvm_map *map;
	uint32_t seed;
	int rounds;
	int bad_values;
	int update_failures;
	bool lru;
};

/* Values are 4 copies of one word derived from the key and a version, so
 * a torn read shows. */
static void *churn_worker(void *arg)
{
	struct churn_job *job = arg;
	uint32_t s = job->seed;
	for (int r = 0; r < job->rounds; r++) {
		s = s * 1103515245u + 12345u;
		uint32_t key = (s >> 8) % 64;
		uint64_t v[4], w[4];
		for (int i = 0; i < 4; i++)
			v[i] = ((uint64_t)key << 32) | (s & 0xffff);
		switch ((s >> 20) % 4) {
		case 0:
		case 1: {
			long rc = bpfvm_map_update_elem(job->map, &key, v, 0);
			if (rc != 0 && !(rc == -E2BIG && !job->lru))
				job->update_failures++;
			break;
		}
		case 2:
			/* Programs and user space both delete. */
			if (s & 1)
				bpfvm_map_delete_elem(job->map, &key);
			else
				bpfvm_map_delete(job->map, &key, NULL);
			break;
		default:
			if (s & 2) {
				/* A program's view: the element may be recycled under it,
				 * but the memory stays valid (and LRU marks it used).  The
				 * read is atomic only to tell ThreadSanitizer this race is
				 * intended, as it is in the kernel. */
				uint64_t *pv = bpfvm_map_lookup_elem(job->map, &key);
				if (pv)
					(void)__atomic_load_n(&pv[3], __ATOMIC_RELAXED);
			} else if (bpfvm_map_lookup(job->map, &key, w, 0, NULL) == 0) {
				bool ok = (w[0] >> 32) == key;
				for (int i = 1; i < 4; i++)
					ok = ok && w[i] == w[0];
				job->bad_values += !ok;
			}
			break;
		}
	}
	return NULL;
}

static void test_churn(uint32_t type, uint32_t max_entries)
{
	const char *t = bpfvm_map_type_name(type);
	bool lru = type == BPFVM_MAP_TYPE_LRU_HASH;
	bpfvm_map *m = mt_map(type, 4, 32, max_entries, 0);
	if (!m)
		return;
	pthread_t th[THREADS], rd;
	struct churn_job jobs[THREADS];
	volatile int stop = 0;
	struct reader_job rjob = { m, &stop, 0, 4, 32, 0 };
	pthread_create(&rd, NULL, reader_worker, &rjob);
	for (int i = 0; i < THREADS; i++) {
		jobs[i] = (struct churn_job){ m, 1234u + (uint32_t)i * 7919u, ROUNDS, 0, 0, lru };
		pthread_create(&th[i], NULL, churn_worker, &jobs[i]);
	}
	int bad = 0, failed = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		bad += jobs[i].bad_values;
		failed += jobs[i].update_failures;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(rd, NULL);
	CHECK(bad == 0, "%s: %d torn or foreign values", t, bad);
	CHECK(failed == 0, "%s: %d updates failed", t, failed);
	int seen[64] = { 0 }, n = 0;
	uint32_t key, next;
	const void *cur = NULL;
	while (bpfvm_map_get_next_key(m, cur, &next, NULL) == 0 && n < 1000) {
		if (next < 64)
			seen[next]++;
		n++;
		key = next;
		cur = &key;
	}
	bool once = true;
	for (int i = 0; i < 64; i++)
		once = once && seen[i] <= 1;
	CHECK(once && (uint32_t)n <= max_entries, "%s: after churn each key once, %d <= %u keys", t, n, max_entries);
	bpfvm_map_put(m);
}

/* ---- lookups while the same buckets churn ----------------------------------- */

#define STABLE_KEYS 16        /* inserted once, never changed */
#define CHURN_KEYS 32         /* keys 1000.. inserted, replaced and deleted */

struct stable_job {
	bpfvm_map *map;
	volatile int *stop;
	uint32_t seed;
	long lookups, missing, foreign, phantom;
};

static uint64_t stable_value(uint32_t key) { return 0x5eed000000000000ull | key; }

static void *stable_reader(void *arg)
{
	struct stable_job *job = arg;
	uint32_t s = job->seed;
	while (!__atomic_load_n(job->stop, __ATOMIC_ACQUIRE)) {
		s = s * 1103515245u + 12345u;
		uint32_t key = (s >> 8) % STABLE_KEYS;
		uint64_t *v = bpfvm_map_lookup_elem(job->map, &key);
		job->lookups++;
		if (!v)
			job->missing++;
		else if (__atomic_load_n(&v[0], __ATOMIC_RELAXED) != stable_value(key))
			job->foreign++;
		uint32_t absent = 5000 + (s >> 16) % 64;   /* never inserted */
		job->phantom += bpfvm_map_lookup_elem(job->map, &absent) != NULL;
	}
	return NULL;
}

static void *stable_churner(void *arg)
{
	struct stable_job *job = arg;
	uint32_t s = job->seed;
	for (int r = 0; r < ROUNDS; r++) {
		s = s * 1103515245u + 12345u;
		uint32_t key = 1000 + (s >> 8) % CHURN_KEYS;
		uint64_t v[2] = { stable_value(key) ^ 1, r };
		if ((s >> 20) & 1)
			bpfvm_map_update_elem(job->map, &key, v, 0);   /* insert or replace */
		else
			bpfvm_map_delete_elem(job->map, &key);
	}
	return NULL;
}

static void test_lookup_under_churn(uint32_t type)
{
	const char *t = bpfvm_map_type_name(type);
	bpfvm_map *m = mt_map(type, 4, 16, 64, 0);
	if (!m)
		return;
	/* from user space, so that a per-CPU map has the value on every CPU */
	uint64_t *v = calloc(2 * (size_t)ncpus, sizeof *v);
	for (uint32_t k = 0; v && k < STABLE_KEYS; k++) {
		for (unsigned c = 0; c < ncpus; c++)
			v[2 * c] = stable_value(k);
		bpfvm_error err;
		CHECK(bpfvm_map_update(m, &k, v, 0, &err) == 0, "%s: insert stable key %u: %s", t, k, err.msg);
	}
	free(v);
	volatile int stop = 0;
	enum { READERS = 3, CHURNERS = 3 };
	pthread_t rd[READERS], ch[CHURNERS];
	struct stable_job rj[READERS], cj[CHURNERS];
	for (int i = 0; i < READERS; i++) {
		rj[i] = (struct stable_job){ m, &stop, 77u + (uint32_t)i, 0, 0, 0, 0 };
		pthread_create(&rd[i], NULL, stable_reader, &rj[i]);
	}
	for (int i = 0; i < CHURNERS; i++) {
		cj[i] = (struct stable_job){ m, &stop, 991u * (uint32_t)(i + 1), 0, 0, 0, 0 };
		pthread_create(&ch[i], NULL, stable_churner, &cj[i]);
	}
	for (int i = 0; i < CHURNERS; i++)
		pthread_join(ch[i], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	long lookups = 0, missing = 0, foreign = 0, phantom = 0;
	for (int i = 0; i < READERS; i++) {
		pthread_join(rd[i], NULL);
		lookups += rj[i].lookups;
		missing += rj[i].missing;
		foreign += rj[i].foreign;
		phantom += rj[i].phantom;
	}
	CHECK(lookups > 0 && missing == 0 && foreign == 0 && phantom == 0,
	      "%s: %ld lookups under churn: %ld stable keys missed, %ld wrong elements, %ld absent keys found", t,
	      lookups, missing, foreign, phantom);
	bpfvm_map_put(m);
}

/* ---- queue: many producers, many consumers ------------------------------ */

struct queue_job {
	bpfvm_map *map;
	int id;
	int count;
	uint8_t *seen;           /* consumers: [producer * count + seq] */
	int *remaining;          /* values still to be consumed */
	int dup;
};

static void *queue_producer(void *arg)
{
	struct queue_job *job = arg;
	for (int i = 0; i < job->count; i++) {
		uint64_t v = ((uint64_t)job->id << 32) | (uint32_t)i;
		while (bpfvm_map_push_elem(job->map, &v, 0) == -E2BIG)
			sched_yield();
	}
	return NULL;
}

static void *queue_consumer(void *arg)
{
	struct queue_job *job = arg;
	while (__atomic_load_n(job->remaining, __ATOMIC_ACQUIRE) > 0) {
		uint64_t v;
		if (bpfvm_map_pop_elem(job->map, &v) != 0) {
			sched_yield();
			continue;
		}
		uint32_t p = (uint32_t)(v >> 32), seq = (uint32_t)v;
		size_t idx = (size_t)p * (size_t)job->count + seq;
		if (__atomic_fetch_add(&job->seen[idx], 1, __ATOMIC_RELAXED) != 0)
			job->dup++;
		__atomic_sub_fetch(job->remaining, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_queue_mpmc(void)
{
	bpfvm_map *m = mt_map(BPFVM_MAP_TYPE_QUEUE, 0, 8, 64, 0);
	if (!m)
		return;
	enum { P = 3, C = 3, N = 20000 };
	uint8_t *seen = calloc(P * N, 1);
	int remaining = P * N;
	pthread_t th[P + C];
	struct queue_job jobs[P + C];
	for (int i = 0; i < P + C; i++) {
		jobs[i] = (struct queue_job){ m, i, N, seen, &remaining, 0 };
		pthread_create(&th[i], NULL, i < P ? queue_producer : queue_consumer, &jobs[i]);
	}
	int dup = 0;
	for (int i = 0; i < P + C; i++) {
		pthread_join(th[i], NULL);
		dup += jobs[i].dup;
	}
	int missing = 0;
	for (int i = 0; i < P * N; i++)
		missing += seen[i] == 0;
	CHECK(dup == 0 && missing == 0, "queue MPMC: %d duplicates, %d missing", dup, missing);
	free(seen);
	bpfvm_map_put(m);
}

/* ---- ring buffer: many producers, one consumer ------------------------------- */

#define RB_PRODUCERS 4
#define RB_RECORDS 20000

struct rb_record {
	uint32_t producer;
	uint32_t seq;
	uint64_t check;
};

struct rb_consumer_state {
	uint32_t next_seq[RB_PRODUCERS];
	int out_of_order;
	int corrupt;
	long received;
};

static int rb_sample(void *ctx, void *data, size_t size)
{
	struct rb_consumer_state *st = ctx;
	struct rb_record r;
	if (size < sizeof r) {
		st->corrupt++;
		return 0;
	}
	memcpy(&r, data, sizeof r);
	if (r.producer >= RB_PRODUCERS || r.check != ((uint64_t)r.producer * 1000003u ^ r.seq)) {
		st->corrupt++;
		return 0;
	}
	if (r.seq < st->next_seq[r.producer])
		st->out_of_order++;
	st->next_seq[r.producer] = r.seq + 1;
	st->received++;
	return 0;
}

struct rb_producer_job {
	bpfvm_map *map;
	uint32_t id;
	long delivered;   /* records not discarded */
};

static void *rb_producer(void *arg)
{
	struct rb_producer_job *job = arg;
	for (uint32_t seq = 0; seq < RB_RECORDS; seq++) {
		struct rb_record r = { job->id, seq, (uint64_t)job->id * 1000003u ^ seq };
		size_t extra = seq % 37;   /* records of varying sizes */
		for (;;) {
			if (seq % 3 == 0) {
				uint8_t buf[sizeof r + 40];
				memset(buf, 0x5a, sizeof buf);
				memcpy(buf, &r, sizeof r);
				if (bpfvm_map_ringbuf_output(job->map, buf, sizeof r + extra, 0) == 0) {
					job->delivered++;
					break;
				}
			} else {
				uint8_t *rec = bpfvm_map_ringbuf_reserve(job->map, sizeof r + extra, 0);
				if (rec) {
					memcpy(rec, &r, sizeof r);
					if (seq % 10 == 1) {
						/* Discarded records must never reach the consumer, so
						 * the delivered ones still come in order. */
						memset(rec, 0xff, sizeof r);
						bpfvm_map_ringbuf_discard(rec, 0);
					} else {
						bpfvm_map_ringbuf_submit(rec, 0);
						job->delivered++;
					}
					break;
				}
			}
			sched_yield();   /* full: let the consumer catch up */
		}
	}
	return NULL;
}

struct rb_consumer_job {
	bpfvm_map *map;
	long expected;
	struct rb_consumer_state st;
	int errors;
};

static void *rb_consumer(void *arg)
{
	struct rb_consumer_job *job = arg;
	int idle = 0;
	while (job->st.received < job->expected && idle < 2000) {
		int n = bpfvm_map_ringbuf_poll(job->map, rb_sample, &job->st, 50, NULL);
		if (n < 0)
			job->errors++;
		idle = n > 0 ? 0 : idle + 1;
	}
	return NULL;
}

static void test_ringbuf_mpsc(void)
{
	bpfvm_map *m = mt_map(BPFVM_MAP_TYPE_RINGBUF, 0, 0, 16384, 0);
	if (!m)
		return;
	pthread_t prod[RB_PRODUCERS], cons;
	struct rb_producer_job pj[RB_PRODUCERS];
	long expected = 0;
	for (uint32_t s = 0; s < RB_RECORDS; s++)
		expected += !(s % 3 != 0 && s % 10 == 1);
	expected *= RB_PRODUCERS;
	struct rb_consumer_job cj = { m, expected, { { 0 }, 0, 0, 0 }, 0 };
	pthread_create(&cons, NULL, rb_consumer, &cj);
	for (uint32_t i = 0; i < RB_PRODUCERS; i++) {
		pj[i] = (struct rb_producer_job){ m, i, 0 };
		pthread_create(&prod[i], NULL, rb_producer, &pj[i]);
	}
	long delivered = 0;
	for (int i = 0; i < RB_PRODUCERS; i++) {
		pthread_join(prod[i], NULL);
		delivered += pj[i].delivered;
	}
	pthread_join(cons, NULL);
	CHECK(delivered == expected, "ringbuf: producers delivered %ld, want %ld", delivered, expected);
	CHECK(cj.st.received == expected, "ringbuf: consumer received %ld of %ld", cj.st.received, expected);
	CHECK(cj.st.corrupt == 0 && cj.st.out_of_order == 0 && cj.errors == 0,
	      "ringbuf: %d corrupt, %d out of order, %d errors", cj.st.corrupt, cj.st.out_of_order, cj.errors);
	CHECK(bpfvm_map_ringbuf_query(m, BPFVM_RB_AVAIL_DATA) == 0, "ringbuf drained");
	bpfvm_map_put(m);
}

/* ---- pinning across processes ---------------------------------------------- */

#define PIN_KEYS 100
#define PIN_ADDS 20000
#define PIN_RECORDS 300

static int child_count;

static int child_rb_cb(void *ctx, void *data, size_t size)
{
	(void)ctx;
	uint32_t v;
	if (size == 4) {
		memcpy(&v, data, 4);
		if (v == (uint32_t)child_count)
			child_count++;
	}
	return 0;
}

/* The child: opens what the parent pinned, checks what it wrote, adds to a
 * shared counter while the parent does too, and consumes the parent's
 * ring buffer records as they come.  Exit status 0 = all good. */
static int pin_child(const char *hash_name, const char *array_name, const char *rb_name)
{
	bpfvm_map *h = NULL, *a = NULL, *rb = NULL;
	bpfvm_error err;
	if (bpfvm_map_open_pinned(hash_name, &h, &err) || bpfvm_map_open_pinned(array_name, &a, &err) ||
	    bpfvm_map_open_pinned(rb_name, &rb, &err)) {
		printf("FAIL child: open_pinned: %s\n", err.msg);
		return 1;
	}
	int bad = 0;
	uint32_t zero = 0, one = 1;
	uint64_t *ready = bpfvm_map_lookup_elem(a, &zero);
	uint64_t *shared = bpfvm_map_lookup_elem(a, &one);
	while (__atomic_load_n(ready, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	for (uint32_t k = 0; k < PIN_KEYS; k++) {
		uint64_t v = 0;
		if (bpfvm_map_lookup(h, &k, &v, 0, NULL) != 0 || v != k * 3)
			bad++;
	}
	for (int i = 0; i < PIN_ADDS; i++)
		__atomic_fetch_add(shared, 1, __ATOMIC_RELAXED);
	/* The parent's records arrive while it is still producing. */
	for (int tries = 0; child_count < PIN_RECORDS && tries < 400; tries++)
		bpfvm_map_ringbuf_poll(rb, child_rb_cb, NULL, 25, NULL);
	uint32_t k = 7;
	uint64_t v = 777;
	if (bpfvm_map_update(h, &k, &v, 0, NULL) != 0)
		bad++;
	if (bad)
		printf("FAIL child: %d wrong values\n", bad);
	if (child_count != PIN_RECORDS)
		printf("FAIL child: received %d of %d ring buffer records\n", child_count, PIN_RECORDS);
	bpfvm_map_put(h);
	bpfvm_map_put(a);
	bpfvm_map_put(rb);
	return bad || child_count != PIN_RECORDS;
}

static void test_pin_fork(void)
{
	bpfvm_error err;
	char names[3][64];
	snprintf(names[0], 64, "mt_conc_hash_%d", (int)getpid());
	snprintf(names[1], 64, "mt_conc_array_%d", (int)getpid());
	snprintf(names[2], 64, "mt_conc_rb_%d", (int)getpid());
	bpfvm_map *h = mt_map(BPFVM_MAP_TYPE_HASH, 4, 8, 256, 0);
	bpfvm_map *a = mt_map(BPFVM_MAP_TYPE_ARRAY, 4, 8, 4, 0);
	bpfvm_map *rb = mt_map(BPFVM_MAP_TYPE_RINGBUF, 0, 0, 4096, 0);
	if (!h || !a || !rb)
		return;
	int rc = bpfvm_map_pin(h, names[0], &err);
	if (rc == -EOPNOTSUPP) {
		printf("note: pinning unavailable here, fork test skipped: %s\n", err.msg);
		goto out;
	}
	CHECK_RC(rc, 0, "pin hash");
	CHECK_RC(bpfvm_map_pin(a, names[1], &err), 0, "pin array");
	CHECK_RC(bpfvm_map_pin(rb, names[2], &err), 0, "pin ringbuf");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int status = pin_child(names[0], names[1], names[2]);
		fflush(stdout);
		_exit(status);
	}
	CHECK(pid > 0, "fork");
	if (pid < 0)
		goto out;
	for (uint32_t k = 0; k < PIN_KEYS; k++) {
		uint64_t v = k * 3;
		bpfvm_map_update(h, &k, &v, 0, NULL);
	}
	uint32_t zero = 0, one = 1;
	uint64_t *ready = bpfvm_map_lookup_elem(a, &zero);
	uint64_t *shared = bpfvm_map_lookup_elem(a, &one);
	__atomic_store_n(ready, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < PIN_ADDS; i++)
		__atomic_fetch_add(shared, 1, __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < PIN_RECORDS; i++) {
		while (bpfvm_map_ringbuf_output(rb, &i, 4, 0) == -EAGAIN)
			sched_yield();
		if (i % 50 == 0)
			usleep(1000);   /* let the child sleep in poll and be woken */
	}
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child process failed (status 0x%x)", status);
	uint64_t total = 0, seven = 0;
	bpfvm_map_lookup(a, &one, &total, 0, NULL);
	CHECK(total == 2 * PIN_ADDS, "counter shared across processes: %" PRIu64 ", want %d", total, 2 * PIN_ADDS);
	uint32_t k = 7;
	CHECK(bpfvm_map_lookup(h, &k, &seven, 0, NULL) == 0 && seven == 777, "parent sees the child's update");
out:
	for (int i = 0; i < 3; i++) {
		char path[256];
		snprintf(path, sizeof path, "%s/%s", bpfvm_map_pin_dir(), names[i]);
		unlink(path);
	}
	bpfvm_map_put(h);
	bpfvm_map_put(a);
	bpfvm_map_put(rb);
}

/* ---- spare elements of plain hash maps ---------------------------------------- */

#define SP_MAX 64

/* With no update in flight every element is free, in the table or a
 * spare: none lost, none counted twice. */
static void check_pool(bpfvm_map *m, const char *when)
{
	struct map_hash_pool_stats ps;
	map_hash_pool_stats(m, &ps);
	CHECK(ps.free + ps.count + ps.spares == ps.elems, "%s: free %u + count %u + spares %u != %u elements", when,
	      ps.free, ps.count, ps.spares, ps.elems);
	CHECK(ps.spares <= ps.spare_cap, "%s: %u spares, cap %u", when, ps.spares, ps.spare_cap);
}

static uint32_t spares_of(bpfvm_map *m)
{
	struct map_hash_pool_stats ps;
	map_hash_pool_stats(m, &ps);
	return ps.spares;
}

static uint32_t iter_count(bpfvm_map *m)
{
	uint32_t key, next, n = 0;
	const void *cur = NULL;
	while (bpfvm_map_get_next_key(m, cur, &next, NULL) == 0 && n <= 4 * SP_MAX) {
		key = next;
		cur = &key;
		n++;
	}
	return n;
}

static bpfvm_map *sp_filled_map(void)
{
	bpfvm_map *m = mt_map(BPFVM_MAP_TYPE_HASH, 4, 8, SP_MAX, 0);
	for (uint32_t k = 0; m && k < SP_MAX; k++) {
		uint64_t v = k;
		CHECK_RC(bpfvm_map_update(m, &k, &v, BPFVM_NOEXIST, NULL), 0, "fill");
	}
	return m;
}

struct spare_job {
	bpfvm_map *map;
	uint32_t first, n;      /* the keys this thread replaces */
	int rounds;
	int failures;
	pthread_barrier_t *hold;   /* if set: wait twice after the rounds, holding the spare */
};

/* Replaces its keys (BPF_ANY and BPF_EXIST), and now and then deletes one
 * and inserts it again: in a full map nothing may fail. */
static void *spare_replacer(void *arg)
{
	struct spare_job *job = arg;
	for (int r = 0; r < job->rounds; r++) {
		uint32_t k = job->first + (uint32_t)r % job->n;
		uint64_t v = (uint64_t)k * 1000000 + (uint64_t)r;
		if (r % 32 == 31) {
			if (bpfvm_map_delete(job->map, &k, NULL) != 0 ||
			    bpfvm_map_update(job->map, &k, &v, BPFVM_NOEXIST, NULL) != 0)
				job->failures++;
		} else if (bpfvm_map_update(job->map, &k, &v, r & 1 ? BPFVM_EXIST : BPFVM_ANY, NULL) != 0) {
			job->failures++;
		}
	}
	if (job->hold) {
		pthread_barrier_wait(job->hold);
		pthread_barrier_wait(job->hold);
	}
	return NULL;
}

/* The last value each thread wrote to each of its keys must be there. */
static void check_last_values(bpfvm_map *m, const struct spare_job *jobs, int njobs)
{
	int bad = 0;
	for (int j = 0; j < njobs; j++) {
		for (uint32_t i = 0; i < jobs[j].n && (int)i < jobs[j].rounds; i++) {
			uint32_t k = jobs[j].first + i;
			int last = (jobs[j].rounds - 1 - (int)i) / (int)jobs[j].n * (int)jobs[j].n + (int)i;
			uint64_t v = 0, want = (uint64_t)k * 1000000 + (uint64_t)last;
			if (bpfvm_map_lookup(m, &k, &v, 0, NULL) != 0 || v != want)
				bad++;
		}
	}
	CHECK(bad == 0, "%d keys without their last value", bad);
}

/* Many threads replacing in a full map; then the map must still take
 * exactly max_entries keys. */
static void test_spares_full(void)
{
	bpfvm_map *m = sp_filled_map();
	if (!m)
		return;
	pthread_t th[THREADS];
	struct spare_job jobs[THREADS];
	for (int i = 0; i < THREADS; i++) {
		jobs[i] = (struct spare_job){ .map = m, .first = (uint32_t)i * (SP_MAX / THREADS),
		                              .n = SP_MAX / THREADS, .rounds = ROUNDS / 2 };
		pthread_create(&th[i], NULL, spare_replacer, &jobs[i]);
	}
	int failures = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		failures += jobs[i].failures;
	}
	CHECK(failures == 0, "spares: %d replacements failed in a full map", failures);
	CHECK(spares_of(m) == 0, "spares: %u still held after every thread exited", spares_of(m));
	check_pool(m, "spares after replacing");
	check_last_values(m, jobs, THREADS);
	CHECK(iter_count(m) == SP_MAX, "spares: iteration found %u keys, want %d", iter_count(m), SP_MAX);
	for (uint32_t k = 0; k < SP_MAX; k++)
		CHECK_RC(bpfvm_map_delete(m, &k, NULL), 0, "spares: delete");
	check_pool(m, "spares after deleting all");
	int inserted = 0;
	for (uint32_t k = 1000; k < 1000 + SP_MAX; k++) {
		uint64_t v = k;
		inserted += bpfvm_map_update(m, &k, &v, BPFVM_NOEXIST, NULL) == 0;
	}
	CHECK(inserted == SP_MAX, "spares: %d of %d inserts into the emptied map", inserted, SP_MAX);
	uint32_t k = 5000;
	uint64_t v = 0;
	CHECK_RC(bpfvm_map_update(m, &k, &v, BPFVM_NOEXIST, NULL), -E2BIG, "spares: insert beyond max_entries");
	CHECK(iter_count(m) == SP_MAX, "spares: %u keys after refilling", iter_count(m));
	bpfvm_map_put(m);
}

/* Rounds of more threads than the cap, all holding their spares at once,
 * then exiting: the cap holds, and exiting gives every spare back. */
static void test_spares_thread_exit(void)
{
	bpfvm_map *m = sp_filled_map();
	if (!m)
		return;
	struct map_hash_pool_stats ps;
	map_hash_pool_stats(m, &ps);
	int n = (int)ps.spare_cap + 4;
	if (n > SP_MAX)
		n = SP_MAX;
	pthread_t *th = calloc((size_t)n, sizeof *th);
	struct spare_job *jobs = calloc((size_t)n, sizeof *jobs);
	pthread_barrier_t hold;
	int failures = 0;
	for (int round = 0; round < 20; round++) {
		pthread_barrier_init(&hold, NULL, (unsigned)n + 1);
		for (int i = 0; i < n; i++) {
			jobs[i] = (struct spare_job){ .map = m, .first = (uint32_t)i, .n = 1, .rounds = 40, .hold = &hold };
			pthread_create(&th[i], NULL, spare_replacer, &jobs[i]);
		}
		pthread_barrier_wait(&hold);
		uint32_t held = spares_of(m);
		CHECK(held == ps.spare_cap, "round %d: %u spares held by %d threads, want the cap %u", round, held, n,
		      ps.spare_cap);
		pthread_barrier_wait(&hold);
		for (int i = 0; i < n; i++) {
			pthread_join(th[i], NULL);
			failures += jobs[i].failures;
		}
		pthread_barrier_destroy(&hold);
		CHECK(spares_of(m) == 0, "round %d: %u spares left after the threads exited", round, spares_of(m));
	}
	CHECK(failures == 0, "spares: %d replacements failed", failures);
	check_pool(m, "spares after threads exited");
	CHECK(iter_count(m) == SP_MAX, "spares: %u keys, want %d", iter_count(m), SP_MAX);
	free(th);
	free(jobs);
	bpfvm_map_put(m);
}

/* A map object destroyed while threads hold spares for it: they go back
 * at once (seen through a second object on the same pinned arena), and
 * the threads' exit must not give them back again. */
static void test_spares_destroy(void)
{
	bpfvm_map *m = sp_filled_map();
	if (!m)
		return;
	bpfvm_error err;
	char name[64];
	snprintf(name, sizeof name, "mt_spares_%d", (int)getpid());
	int rc = bpfvm_map_pin(m, name, &err);
	if (rc == -EOPNOTSUPP) {
		printf("note: pinning unavailable here, spare destroy test skipped: %s\n", err.msg);
		bpfvm_map_put(m);
		return;
	}
	CHECK_RC(rc, 0, "pin");
	bpfvm_map *m2 = NULL;
	CHECK_RC(bpfvm_map_open_pinned(name, &m2, &err), 0, "open pinned");
	if (m2) {
		enum { N = 4 };
		pthread_t th[N];
		struct spare_job jobs[N];
		pthread_barrier_t hold;
		pthread_barrier_init(&hold, NULL, N + 1);
		for (int i = 0; i < N; i++) {
			jobs[i] = (struct spare_job){ .map = m2, .first = (uint32_t)i * 8, .n = 8, .rounds = 200,
			                              .hold = &hold };
			pthread_create(&th[i], NULL, spare_replacer, &jobs[i]);
		}
		pthread_barrier_wait(&hold);
		CHECK(spares_of(m) == N, "destroy: %u spares held, want %d", spares_of(m), N);
		bpfvm_map_put(m2);
		CHECK(spares_of(m) == 0, "destroy: %u spares left after the map object went", spares_of(m));
		check_pool(m, "spares after destroy");
		pthread_barrier_wait(&hold);
		int failures = 0;
		for (int i = 0; i < N; i++) {
			pthread_join(th[i], NULL);
			failures += jobs[i].failures;
		}
		pthread_barrier_destroy(&hold);
		CHECK(failures == 0, "destroy: %d replacements failed", failures);
		CHECK(spares_of(m) == 0, "destroy: %u spares after the threads exited", spares_of(m));
		check_pool(m, "spares after destroy and exit");
		check_last_values(m, jobs, N);
		CHECK(iter_count(m) == SP_MAX, "destroy: %u keys, want %d", iter_count(m), SP_MAX);
	}
	char path[256];
	snprintf(path, sizeof path, "%s/%s", bpfvm_map_pin_dir(), name);
	unlink(path);
	bpfvm_map_put(m);
}

/* fork(): the child shares the arena but not the parent's spare. */
static void test_spares_fork(void)
{
	bpfvm_map *m = sp_filled_map();
	if (!m)
		return;
	uint32_t k = 1;
	uint64_t v = 1;
	bpfvm_map_update(m, &k, &v, BPFVM_ANY, NULL);   /* through the pool; takes a spare */
	bpfvm_map_update(m, &k, &v, BPFVM_ANY, NULL);   /* through the spare */
	CHECK(spares_of(m) == 1, "fork: parent holds %u spares, want 1", spares_of(m));
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int bad = 0;
		for (uint32_t c = 2; c < 10; c++) {
			uint64_t cv = 2000 + c;
			bad += bpfvm_map_update(m, &c, &cv, BPFVM_ANY, NULL) != 0;
		}
		exit(bad != 0);   /* exit(): gives the child's own spare back */
	}
	CHECK(pid > 0, "fork");
	int status = 0;
	if (pid > 0)
		waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork: child failed (status 0x%x)", status);
	for (uint32_t c = 10; c < 18; c++) {
		uint64_t pv = 3000 + c;
		CHECK_RC(bpfvm_map_update(m, &c, &pv, BPFVM_ANY, NULL), 0, "fork: parent replaces");
	}
	int bad = 0;
	for (uint32_t c = 0; c < SP_MAX; c++) {
		uint64_t got = 0, want = c == 1 ? 1 : c >= 2 && c < 10 ? 2000 + c : c >= 10 && c < 18 ? 3000 + c : c;
		if (bpfvm_map_lookup(m, &c, &got, 0, NULL) != 0 || got != want)
			bad++;
	}
	CHECK(bad == 0, "fork: %d keys with the wrong value", bad);
	CHECK(iter_count(m) == SP_MAX, "fork: %u keys, want %d", iter_count(m), SP_MAX);
	CHECK(spares_of(m) == 1, "fork: %u spares, want the parent's 1", spares_of(m));
	check_pool(m, "spares after fork");
	bpfvm_map_put(m);
}

int main(void)
{
	ncpus = bpfvm_map_possible_cpus();
	test_pin_fork();   /* first, while the process has a single thread */
	test_spares_fork();
	test_spares_full();
	test_spares_thread_exit();
	test_spares_destroy();
	test_counters(BPFVM_MAP_TYPE_HASH, 4, 64, 0);
	test_counters(BPFVM_MAP_TYPE_ARRAY, 4, 16, 0);
	test_counters(BPFVM_MAP_TYPE_PERCPU_HASH, 4, 64, 0);
	test_counters(BPFVM_MAP_TYPE_PERCPU_ARRAY, 4, 16, 0);
	test_counters(BPFVM_MAP_TYPE_LRU_HASH, 4, 64, 0);
	test_counters(BPFVM_MAP_TYPE_LRU_PERCPU_HASH, 4, 64, 0);
	test_counters(BPFVM_MAP_TYPE_LPM_TRIE, 8, 64, BPFVM_F_NO_PREALLOC);
	test_churn(BPFVM_MAP_TYPE_HASH, 48);
	test_churn(BPFVM_MAP_TYPE_LRU_HASH, 32);
	test_lookup_under_churn(BPFVM_MAP_TYPE_HASH);
	test_lookup_under_churn(BPFVM_MAP_TYPE_PERCPU_HASH);
	test_queue_mpmc();
	test_ringbuf_mpsc();
	return check_summary();
}
