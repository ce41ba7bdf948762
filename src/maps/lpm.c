/*
 * lpm.c - BPF_MAP_TYPE_LPM_TRIE: longest-prefix match.
 *
 * Owns: the kernel's trie, node for node: a binary trie whose nodes carry a
 * prefix (length and data); intermediate nodes (flag IM, no value) have
 * exactly two children and exist only where two prefixes diverge.  The
 * insert, delete, lookup and post-order get_next_key walks follow the
 * kernel's, so the same sequence of updates gives the same trie and the
 * same iteration order (more specific prefixes first).
 *
 * Arena: state (lock, root, counts, free list), then the nodes'
 * bookkeeping (children, prefix length, flags, data), then the window with
 * one value per node.  The kernel requires BPF_F_NO_PREALLOC; nodes here
 * come from a pool of 2 * max_entries + 2 (a trie of n prefixes never
 * needs more than 2n - 1 nodes, plus the two an update allocates before
 * it frees).  Every operation, lookups included, holds the trie's lock.
 *
 * Crash safety: an insert fills its new nodes while they are private and
 * links them with one store; a delete unlinks with one store (an
 * intermediate node left with one child is still a trie lookups walk
 * right).  A node out of the trie and off the free list names its holder
 * (`owner`, for `map show`).  A process killed at any instruction thus
 * leaves a valid trie and at worst nodes that are in neither place and a
 * count one off; whoever takes the lock over from it (and an open that
 * finds a user dead) recounts and rebuilds the free list from what the
 * walk from the root does not reach.  Every walk is bounded (depth by the
 * prefix length, the reclaim by the node count): a damaged arena (a link
 * out of range, a cycle) is an error naming the map, never a hang.
 *
 * Re-entrance: an operation of a program in a signal handler that
 * interrupted its own thread inside one of the trie's finds the lock held
 * by that thread (maps/map_lock.h) and fails with -EBUSY (a lookup: not
 * found), as the kernel's do on its resilient lock; nothing on an
 * operation's path calls malloc (a reclaim's marks are mmap()ed).
 */
#include <sched.h>
#include <sys/mman.h>

#include "maps/map_internal.h"
#include "maps/map_lock.h"

#define LPM_DATA_SIZE_MAX 256u
#define LPM_DATA_SIZE_MIN 1u
#define LPM_KEY_SIZE_MIN (4u + LPM_DATA_SIZE_MIN)
#define LPM_KEY_SIZE_MAX (4u + LPM_DATA_SIZE_MAX)
#define KMALLOC_MAX_SIZE (4u << 20)
#define LPM_VAL_SIZE_MAX (KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - 48u)
#define LPM_FLAG_IM 1u

struct lpm_state {
	uint32_t lock;
	uint32_t root;        /* link = node index + 1 */
	uint32_t n_entries;   /* real (non-intermediate) nodes */
	uint32_t free_head;
	uint32_t bump;
	uint32_t pad;
};

struct lpm_node {
	uint32_t child[2];
	uint32_t prefixlen;
	uint32_t flags;
	uint32_t next_free;
	uint32_t owner;       /* atomic: the token of a process holding it out of the trie, or 0 */
	uint8_t data[];       /* data_size bytes */
};

#define OFF_STATE off[0]
#define OFF_NODES off[1]
#define N_NODES   n[0]
#define NODE_SIZE n[1]
#define DATA_SIZE n[2]

static struct lpm_state *lpm_of(const bpfvm_map *m)
{
	return (struct lpm_state *)(void *)(m->base + m->OFF_STATE);
}

static bool link_ok(const bpfvm_map *m, uint32_t link)
{
	return link != 0 && index_ok(link - 1, m->N_NODES);
}

static struct lpm_node *node_at(const bpfvm_map *m, uint32_t link)
{
	return (struct lpm_node *)(void *)(m->base + m->OFF_NODES + (size_t)(link - 1) * m->NODE_SIZE);
}

static uint8_t *node_value(const bpfvm_map *m, uint32_t link)
{
	return m->values + (size_t)(link - 1) * m->value_stride;
}

/* A child link, or 0 if absent or corrupt. */
static uint32_t child(const bpfvm_map *m, uint32_t link, unsigned bit)
{
	uint32_t c = node_at(m, link)->child[bit];
	return link_ok(m, c) ? c : 0;
}

static uint32_t max_prefixlen(const bpfvm_map *m)
{
	return m->DATA_SIZE * 8;
}

/* Prefix lengths grow strictly down a path: no valid trie is deeper. */
static uint32_t depth_limit(const bpfvm_map *m)
{
	return max_prefixlen(m) + 1;
}

static void set_owner(struct lpm_node *n, uint32_t token)
{
	__atomic_store_n(&n->owner, token, __ATOMIC_RELAXED);
}

static int lpm_damaged(const bpfvm_map *m, bpfvm_error *err)
{
	const struct lpm_state *st = lpm_of(m);
	return map_error(err, -EUCLEAN,
	                 "lpm_trie '%s': damaged arena (root %u, %u entries, bump %u, free %u, %u nodes; "
	                 "a link out of range or a cycle)",
	                 m->name, st->root, st->n_entries, st->bump, st->free_head, m->N_NODES);
}

static unsigned extract_bit(const uint8_t *data, uint32_t index)
{
	return !!(data[index / 8] & (1u << (7 - (index % 8))));
}

/* How many leading bits of the node's prefix the key matches, at most
 * min(node's prefix length, key's). */
static uint32_t longest_prefix_match(const bpfvm_map *m, uint32_t link, uint32_t key_plen, const uint8_t *key_data)
{
	const struct lpm_node *node = node_at(m, link);
	uint32_t limit = node->prefixlen < key_plen ? node->prefixlen : key_plen;
	uint32_t prefixlen = 0;
	for (uint32_t i = 0; i < m->DATA_SIZE; i++) {
		unsigned diff = node->data[i] ^ key_data[i];
		uint32_t b = diff ? (uint32_t)__builtin_clz(diff) - 24 : 8;
		prefixlen += b;
		if (prefixlen >= limit)
			return limit;
		if (b < 8)
			break;
	}
	return prefixlen;
}

static void split_key(const void *key, uint32_t *plen, const uint8_t **data)
{
	memcpy(plen, key, 4);
	*data = (const uint8_t *)key + 4;
}

/* ---- node pool (under the trie lock) ------------------------------------- */

static uint32_t node_alloc(const bpfvm_map *m)
{
	struct lpm_state *st = lpm_of(m);
	uint32_t link = 0;
	if (link_ok(m, st->free_head)) {
		link = st->free_head;
		st->free_head = node_at(m, link)->next_free;
	} else if (st->bump < m->N_NODES) {
		link = ++st->bump;
	}
	if (link) {
		struct lpm_node *n = node_at(m, link);
		set_owner(n, owner_self());
		n->child[0] = n->child[1] = 0;
		n->flags = 0;
		n->prefixlen = 0;
	}
	return link;
}

static void node_free(const bpfvm_map *m, uint32_t link)
{
	struct lpm_state *st = lpm_of(m);
	set_owner(node_at(m, link), 0);
	node_at(m, link)->next_free = st->free_head;
	st->free_head = link;
}

/* ---- reclaim (under the trie lock) -------------------------------------------- */

/* Marks every node reachable from the root (mark[link - 1]), cutting a
 * link out of range or to a node met before (only a damaged arena has
 * those); returns how many real nodes there are. */
static uint32_t mark_trie(const bpfvm_map *m, uint8_t *mark, uint32_t *stack)
{
	struct lpm_state *st = lpm_of(m);
	uint32_t real = 0, sp = 0;
	if (st->root && (!link_ok(m, st->root)))
		st->root = 0;
	if (st->root) {
		mark[st->root - 1] = 1;
		stack[sp++] = st->root;
	}
	while (sp) {
		uint32_t link = stack[--sp];
		struct lpm_node *node = node_at(m, link);
		set_owner(node, 0);
		if (!(node->flags & LPM_FLAG_IM))
			real++;
		for (unsigned bit = 0; bit < 2; bit++) {
			uint32_t c = node->child[bit];
			if (!c)
				continue;
			if (!link_ok(m, c) || mark[c - 1]) {
				node->child[bit] = 0;
				continue;
			}
			mark[c - 1] = 1;
			stack[sp++] = c;   /* each node at most once: sp <= N_NODES */
		}
	}
	return real;
}

/* With the trie lock held, so no live process holds a node: recounts the
 * entries and rebuilds the free list from every node the trie does not
 * reach (what a dead holder allocated, or unlinked and did not free).
 * Without memory for its marks it leaves things as they are. */
static void reclaim_locked(const bpfvm_map *m)
{
	struct lpm_state *st = lpm_of(m);
	/* mmap(), not malloc: a program in a signal handler may get here */
	size_t len = (size_t)m->N_NODES * (1 + sizeof(uint32_t));
	uint8_t *scratch = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (scratch != MAP_FAILED) {
		uint32_t *stack = (uint32_t *)(void *)scratch;
		uint8_t *mark = scratch + (size_t)m->N_NODES * sizeof(uint32_t);
		uint32_t real = mark_trie(m, mark, stack);
		uint32_t bump = st->bump < m->N_NODES ? st->bump : m->N_NODES;
		uint32_t free_head = 0;
		for (uint32_t link = bump; link >= 1; link--) {
			if (mark[link - 1])
				continue;
			struct lpm_node *n = node_at(m, link);
			set_owner(n, 0);
			n->next_free = free_head;
			free_head = link;
		}
		st->bump = bump;
		st->free_head = free_head;
		st->n_entries = real < m->max_entries ? real : m->max_entries;
		munmap(scratch, len);
	}
}

/* Takes the trie lock; one taken over from a dead holder is repaired.
 * False if the thread's own interrupted code holds it (-EBUSY). */
static bool lpm_lock(const bpfvm_map *m)
{
	int rc = map_lock(&lpm_of(m)->lock);
	if (__builtin_expect(rc > 0, 0))
		reclaim_locked(m);
	return rc >= 0;
}

/* ---- operations ------------------------------------------------------------- */

/* trie_lookup_elem(): the deepest non-intermediate node whose prefix the
 * key matches. */
static uint32_t lpm_find(const bpfvm_map *m, const void *key, bool *damaged)
{
	uint32_t plen;
	const uint8_t *data;
	split_key(key, &plen, &data);
	*damaged = false;
	if (plen > max_prefixlen(m))
		return 0;
	uint32_t found = 0;
	uint32_t link = link_ok(m, lpm_of(m)->root) ? lpm_of(m)->root : 0;
	uint32_t depth = 0;
	for (; link && depth < depth_limit(m); depth++) {
		const struct lpm_node *node = node_at(m, link);
		uint32_t matchlen = longest_prefix_match(m, link, plen, data);
		if (matchlen == max_prefixlen(m)) {
			found = link;
			break;
		}
		if (matchlen < node->prefixlen)
			break;
		if (!(node->flags & LPM_FLAG_IM))
			found = link;
		link = child(m, link, extract_bit(data, node->prefixlen));
	}
	*damaged = depth == depth_limit(m);
	return found;
}

/* trie_check_add_elem(). */
static long check_add(const bpfvm_map *m, uint64_t flags)
{
	struct lpm_state *st = lpm_of(m);
	if (flags == BPFVM_EXIST)
		return -ENOENT;
	if (st->n_entries == m->max_entries)
		return -ENOSPC;
	st->n_entries++;
	return 0;
}

/* trie_update_elem(). */
static long lpm_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags)
{
	uint32_t plen;
	const uint8_t *data;
	split_key(key, &plen, &data);
	if (flags > BPFVM_EXIST)
		return -EINVAL;
	if (plen > max_prefixlen(m))
		return -EINVAL;

	struct lpm_state *st = lpm_of(m);
	long rc = 0;
	uint32_t free_link = 0, im_link = 0;
	if (!lpm_lock(m))
		return -EBUSY;
	uint32_t new_link = node_alloc(m);
	if (!new_link) {
		rc = -ENOMEM;
		goto out;
	}
	struct lpm_node *new_node = node_at(m, new_link);
	new_node->prefixlen = plen;
	memcpy(new_node->data, data, m->DATA_SIZE);
	arena_store(node_value(m, new_link), value, m->value_size);

	/* Walk down as far as the prefix matches, to an empty slot or to a
	 * node that must be replaced or split. */
	uint32_t *slot = &st->root;
	uint32_t link = 0, matchlen = 0, depth = 0;
	for (; depth < depth_limit(m); depth++) {
		link = link_ok(m, *slot) ? *slot : 0;
		if (!link)
			break;
		struct lpm_node *node = node_at(m, link);
		matchlen = longest_prefix_match(m, link, plen, data);
		if (node->prefixlen != matchlen || node->prefixlen == plen || node->prefixlen == max_prefixlen(m))
			break;
		slot = &node->child[extract_bit(data, node->prefixlen)];
	}
	if (depth == depth_limit(m)) {
		rc = -EUCLEAN;
		goto out;
	}

	if (!link) {
		rc = check_add(m, flags);
		if (rc == 0)
			*slot = new_link;
		goto out;
	}
	struct lpm_node *node = node_at(m, link);
	if (node->prefixlen == matchlen) {
		/* The same prefix: replace the node (an intermediate one becomes real). */
		if (!(node->flags & LPM_FLAG_IM)) {
			if (flags == BPFVM_NOEXIST) {
				rc = -EEXIST;
				goto out;
			}
		} else {
			rc = check_add(m, flags);
			if (rc)
				goto out;
		}
		new_node->child[0] = node->child[0];
		new_node->child[1] = node->child[1];
		set_owner(node, owner_self());   /* out of the trie from the next store on */
		*slot = new_link;
		free_link = link;
		goto out;
	}
	rc = check_add(m, flags);
	if (rc)
		goto out;
	if (matchlen == plen) {
		/* The new prefix contains the node's: insert it above. */
		new_node->child[extract_bit(node->data, matchlen)] = link;
		*slot = new_link;
		goto out;
	}
	/* They diverge after matchlen bits: an intermediate node joins them. */
	im_link = node_alloc(m);
	if (!im_link) {
		st->n_entries--;
		rc = -ENOMEM;
		goto out;
	}
	struct lpm_node *im = node_at(m, im_link);
	im->prefixlen = matchlen;
	im->flags = LPM_FLAG_IM;
	memcpy(im->data, node->data, m->DATA_SIZE);
	if (extract_bit(data, matchlen)) {
		im->child[0] = link;
		im->child[1] = new_link;
	} else {
		im->child[0] = new_link;
		im->child[1] = link;
	}
	*slot = im_link;
out:
	if (rc && new_link)
		node_free(m, new_link);
	if (rc == 0) {   /* linked: no longer held */
		set_owner(new_node, 0);
		if (im_link)
			set_owner(node_at(m, im_link), 0);
	}
	if (free_link)
		node_free(m, free_link);
	map_unlock(&st->lock);
	return rc;
}

/* trie_delete_elem(): exact prefix only. */
static long lpm_delete(bpfvm_map *m, const void *key)
{
	uint32_t plen;
	const uint8_t *data;
	split_key(key, &plen, &data);
	if (plen > max_prefixlen(m))
		return -EINVAL;
	struct lpm_state *st = lpm_of(m);
	long rc = 0;
	if (!lpm_lock(m))
		return -EBUSY;
	uint32_t *trim = &st->root, *trim2 = trim;
	uint32_t parent = 0, link = 0, matchlen = 0, depth = 0;
	for (; depth < depth_limit(m); depth++) {
		link = link_ok(m, *trim) ? *trim : 0;
		if (!link)
			break;
		struct lpm_node *node = node_at(m, link);
		matchlen = longest_prefix_match(m, link, plen, data);
		if (node->prefixlen != matchlen || node->prefixlen == plen)
			break;
		parent = link;
		trim2 = trim;
		trim = &node->child[extract_bit(data, node->prefixlen)];
	}
	if (depth == depth_limit(m)) {
		rc = -EUCLEAN;
		goto out;
	}
	struct lpm_node *node = link ? node_at(m, link) : NULL;
	if (!node || node->prefixlen != plen || node->prefixlen != matchlen || (node->flags & LPM_FLAG_IM)) {
		rc = -ENOENT;
		goto out;
	}
	st->n_entries--;
	uint32_t c0 = child(m, link, 0), c1 = child(m, link, 1);
	if (c0 && c1) {
		/* Two children: it stays, as an intermediate node. */
		node->flags |= LPM_FLAG_IM;
		goto out;
	}
	if (parent && (node_at(m, parent)->flags & LPM_FLAG_IM) && !c0 && !c1) {
		/* A leaf under an intermediate node: both go, the sibling moves up. */
		set_owner(node_at(m, parent), owner_self());
		set_owner(node, owner_self());
		*trim2 = child(m, parent, 0) == link ? child(m, parent, 1) : child(m, parent, 0);
		node_free(m, parent);
		node_free(m, link);
		goto out;
	}
	set_owner(node, owner_self());
	*trim = c0 ? c0 : c1;
	node_free(m, link);
out:
	map_unlock(&st->lock);
	return rc;
}

/* trie_get_next_key(): post-order, so more specific prefixes come before
 * the prefixes containing them. */
static int lpm_get_next_key(bpfvm_map *m, const void *key, void *next_key, bpfvm_error *err)
{
	struct lpm_state *st = lpm_of(m);
	uint32_t stack[LPM_DATA_SIZE_MAX * 8 + 1];
	int rc = 0;
	if (!lpm_lock(m))
		return -EBUSY;
	uint32_t search_root = link_ok(m, st->root) ? st->root : 0;
	uint32_t next = 0;
	if (!search_root) {
		rc = -ENOENT;
		goto out;
	}
	uint32_t plen = 0;
	const uint8_t *data = NULL;
	if (key)
		split_key(key, &plen, &data);
	if (key && plen <= max_prefixlen(m)) {
		/* Find the node with exactly this key, remembering the path. */
		int sp = -1;
		uint32_t link = search_root, matchlen = 0;
		while (link && sp < (int)max_prefixlen(m)) {
			stack[++sp] = link;
			const struct lpm_node *node = node_at(m, link);
			matchlen = longest_prefix_match(m, link, plen, data);
			if (node->prefixlen != matchlen || node->prefixlen == plen)
				break;
			link = child(m, link, extract_bit(data, node->prefixlen));
		}
		if (link && node_at(m, link)->prefixlen == matchlen && !(node_at(m, link)->flags & LPM_FLAG_IM) &&
		    sp >= 0) {
			/* Found: the next node in post-order is the leftmost node of
			 * the right sibling subtree, else the nearest real ancestor. */
			link = stack[sp];
			search_root = 0;
			while (sp > 0) {
				uint32_t parent = stack[sp - 1];
				if (child(m, parent, 0) == link) {
					search_root = child(m, parent, 1);
					if (search_root)
						break;
				}
				if (!(node_at(m, parent)->flags & LPM_FLAG_IM)) {
					next = parent;
					break;
				}
				link = parent;
				sp--;
			}
			if (!next && !search_root) {
				rc = -ENOENT;
				goto out;
			}
		}
	}
	if (!next) {
		/* The leftmost real node under search_root (intermediate nodes
		 * have two children, so there is one; a reclaim that cut a
		 * damaged link may have left one). */
		uint32_t link = search_root, depth = 0;
		for (; link && depth < depth_limit(m); depth++) {
			if (node_at(m, link)->flags & LPM_FLAG_IM) {
				uint32_t c = child(m, link, 0);
				link = c ? c : child(m, link, 1);
			} else {
				next = link;
				uint32_t c = child(m, link, 0);
				link = c ? c : child(m, next, 1);
			}
		}
		if (depth == depth_limit(m)) {
			rc = lpm_damaged(m, err);
			goto out;
		}
	}
	if (!next) {
		rc = -ENOENT;
		goto out;
	}
	uint32_t out_plen = node_at(m, next)->prefixlen;
	memcpy(next_key, &out_plen, 4);
	memcpy((uint8_t *)next_key + 4, node_at(m, next)->data, m->DATA_SIZE);
out:
	map_unlock(&st->lock);
	return rc;
}

static int lpm_sys_lookup(bpfvm_map *m, const void *key, void *value, uint64_t flags, bpfvm_error *err)
{
	(void)flags;
	struct lpm_state *st = lpm_of(m);
	bool damaged;
	if (!lpm_lock(m))
		return -EBUSY;
	uint32_t link = lpm_find(m, key, &damaged);
	if (link)
		arena_load(value, node_value(m, link), m->value_size);
	map_unlock(&st->lock);
	if (damaged)
		return lpm_damaged(m, err);
	return link ? 0 : -ENOENT;
}

static void *lpm_lookup(bpfvm_map *m, const void *key)
{
	struct lpm_state *st = lpm_of(m);
	bool damaged;
	if (!lpm_lock(m))
		return NULL;
	uint32_t link = lpm_find(m, key, &damaged);
	map_unlock(&st->lock);
	return link ? node_value(m, link) : NULL;
}

static int lpm_sys_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags, bpfvm_error *err)
{
	int rc = (int)lpm_update(m, key, value, flags);
	return rc == -EUCLEAN ? lpm_damaged(m, err) : rc;
}

static int lpm_sys_delete(bpfvm_map *m, const void *key, bpfvm_error *err)
{
	int rc = (int)lpm_delete(m, key);
	return rc == -EUCLEAN ? lpm_damaged(m, err) : rc;
}

/* bpfvm_map_holders(): the lock, and the nodes a process holds out of
 * the trie (index: the node). */
static void lpm_holders(const bpfvm_map *m, map_holder_fn report, void *ctx)
{
	struct lpm_state *st = lpm_of(m);
	uint32_t t = spin_holder(&st->lock);
	if (t)
		report(ctx, "trie lock", 0, t);
	uint32_t bump = __atomic_load_n(&st->bump, __ATOMIC_RELAXED);
	if (bump > m->N_NODES)
		bump = m->N_NODES;
	for (uint32_t link = 1; link <= bump; link++)
		if ((t = __atomic_load_n(&node_at(m, link)->owner, __ATOMIC_RELAXED)) != 0)
			report(ctx, "node", link - 1, t);
}

/* bpfvm_map_reclaim(), and an open that finds a user dead. */
static void lpm_reclaim(bpfvm_map *m)
{
	if (!lpm_lock(m))
		return;
	reclaim_locked(m);
	map_unlock(&lpm_of(m)->lock);
}

/* ---- creation ------------------------------------------------------------- */

static int lpm_check(const bpfvm_map_def *def, unsigned ncpus, bpfvm_error *err)
{
	(void)ncpus;
	const uint32_t mask = BPFVM_F_NO_PREALLOC | BPFVM_F_NUMA_NODE | BPFVM_F_RDONLY | BPFVM_F_WRONLY |
	                      BPFVM_F_RDONLY_PROG | BPFVM_F_WRONLY_PROG;
	if (def->max_entries == 0)
		return map_error(err, -EINVAL, "lpm_trie: max_entries must be > 0");
	if (!(def->flags & BPFVM_F_NO_PREALLOC))
		return map_error(err, -EINVAL, "lpm_trie: BPF_F_NO_PREALLOC is required (as in the kernel)");
	if ((def->flags & ~mask) || !map_flags_access_ok(def->flags))
		return map_error(err, -EINVAL, "lpm_trie: invalid map flags 0x%x", def->flags);
	if (def->key_size < LPM_KEY_SIZE_MIN || def->key_size > LPM_KEY_SIZE_MAX)
		return map_error(err, -EINVAL, "lpm_trie: key_size must be 4 + 1..256 data bytes, got %u", def->key_size);
	if (def->value_size < 1 || def->value_size > LPM_VAL_SIZE_MAX)
		return map_error(err, -EINVAL, "lpm_trie: value_size %u out of range", def->value_size);
	return 0;
}

static int lpm_layout(bpfvm_map *m, struct arena_layout *lay, bpfvm_error *err)
{
	uint64_t nodes = 2 * (uint64_t)m->max_entries + 2;
	m->DATA_SIZE = m->key_size - 4;
	m->NODE_SIZE = (uint32_t)((sizeof(struct lpm_node) + m->DATA_SIZE + 7) & ~(size_t)7);
	if (nodes > UINT32_MAX || nodes * (m->NODE_SIZE + m->value_stride) > (uint64_t)SIZE_MAX / 4)
		return map_error(err, -ENOMEM, "lpm_trie: too large to allocate");
	m->N_NODES = (uint32_t)nodes;
	m->OFF_STATE = layout_add(lay, sizeof(struct lpm_state), 64);
	m->OFF_NODES = layout_add(lay, (size_t)nodes * m->NODE_SIZE, 64);
	lay->values_len = (size_t)nodes * m->value_stride;
	lay->values_off = layout_add(lay, lay->values_len, arena_page_size());
	return 0;
}

/* At create and open: the state's counts and links in range. */
static bool lpm_state_in_range(const bpfvm_map *m)
{
	const struct lpm_state *st = lpm_of(m);
	uint32_t root = __atomic_load_n(&st->root, __ATOMIC_RELAXED);
	uint32_t free_head = __atomic_load_n(&st->free_head, __ATOMIC_RELAXED);
	return (!root || link_ok(m, root)) && (!free_head || link_ok(m, free_head)) &&
	       __atomic_load_n(&st->bump, __ATOMIC_RELAXED) <= m->N_NODES &&
	       __atomic_load_n(&st->n_entries, __ATOMIC_RELAXED) <= m->max_entries;
}

/* An opened arena's counts and heads in range.  Read without the lock (an
 * inspecting open must not wait on a holder, alive or stopped): values
 * seen while a live process holds the lock may be passing ones, so only
 * a state that is out of range with the lock free or its holder dead,
 * three times over, is damage. */
static int lpm_attach(bpfvm_map *m, bpfvm_error *err)
{
	for (int tries = 0; tries < 3; tries++) {
		if (lpm_state_in_range(m))
			return 0;
		uint32_t holder = spin_holder(&lpm_of(m)->lock);
		if (holder && owner_alive(holder))
			return 0;   /* mid-update: the next operation takes the lock */
		sched_yield();
	}
	return lpm_damaged(m, err);
}

const struct map_ops map_lpm_trie_ops = {
	.check = lpm_check,
	.layout = lpm_layout,
	.attach = lpm_attach,
	.reclaim = lpm_reclaim,
	.holders = lpm_holders,
	.pinnable = true,
	.sys_lookup = lpm_sys_lookup,
	.sys_update = lpm_sys_update,
	.sys_delete = lpm_sys_delete,
	.sys_get_next_key = lpm_get_next_key,
	.lookup = lpm_lookup,
	.update = lpm_update,
	.delete = lpm_delete,
};
