/*
 * syscall_rewrite.c - the interceptor's fast path: a syscall site that
 * trapped is rewritten, if it can be proven safe, into a jump to a stub
 * that reports and performs the syscall without a signal.
 *
 * A site qualifies when the 7 bytes before the return address are glibc's
 * `mov $NR, %eax` (b8 imm32, NR the syscall made) and `syscall` (0f 05);
 * the function enclosing them (its bounds from the dynamic symbol table,
 * dladdr1) decodes with capstone from start to end with instructions
 * starting at the mov and at the syscall, and no direct jump or call
 * targets a byte inside them and no indirect jump exists (a jump table
 * could); and the mov's 5 bytes lie in one aligned 8-byte word, so the
 * patch is one atomic store another thread sees whole or not at all.  The
 * mov becomes `jmp rel32` to the site's stub, allocated within +-2 GB;
 * the syscall's two bytes stay, skipped (the entry jumps back after them).
 * A site whose function uses no vector register and no std, and whose
 * status flags are dead after the syscall (overwritten, or a call or ret
 * reached, before any is read) gets the lean entry, which keeps neither
 * the vector registers nor the flags.
 *
 * Runs inside the SIGSYS handler: it never waits for a lock (a busy
 * rewriter leaves the site for its next trap) and never calls malloc
 * (capstone allocates from an arena of this file's own).  Stubs are never
 * unmapped: a thread may still be returning through one after a restore.
 *
 * Owns: the site table, stub pools, capstone's arena, sud_rewrite_*.
 */
#define _GNU_SOURCE
#include "hooks/syscall_sud.h"

#include <capstone/capstone.h>
#include <dlfcn.h>
#include <link.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SITE_SLOTS 4096            /* open addressing, power of two */
#define POOL_SIZE 65536
#define POOL_MAX 32
#define STUB_SIZE 48
#define NEAR_LIMIT (1ul << 31)
#define MOV_LEN 5                  /* b8 imm32 */
#define SITE_LEN 7                 /* ... 0f 05 */

enum site_state { SITE_EMPTY, SITE_REFUSED, SITE_PATCHED };

struct site {
	uintptr_t after;       /* address after the syscall instruction */
	uint64_t original;     /* the aligned word holding the mov, as it was */
	enum site_state state;
};

static struct site sites[SITE_SLOTS];
static atomic_flag rewriter_busy = ATOMIC_FLAG_INIT;
static uint64_t count_rewritten, count_lean, count_refused;
static struct { uintptr_t base; size_t used; } pools[POOL_MAX];

/* ---- capstone's arena: a bump allocator reset after each analysis ---- */

#define ARENA_SIZE (4u << 20)
static _Alignas(16) unsigned char arena[ARENA_SIZE];
static size_t arena_used, arena_mark;

static void *arena_malloc(size_t n)
{
	size_t need = 16 + ((n + 15) & ~(size_t)15);
	if (arena_used + need > ARENA_SIZE)
		return NULL;
	unsigned char *p = arena + arena_used;
	arena_used += need;
	memcpy(p, &n, sizeof n);
	return p + 16;
}
static void *arena_calloc(size_t count, size_t n)
{
	void *p = arena_malloc(count * n);
	return p ? memset(p, 0, count * n) : NULL;
}
static void *arena_realloc(void *old, size_t n)
{
	void *p = arena_malloc(n);
	if (p && old) {
		size_t had;
		memcpy(&had, (unsigned char *)old - 16, sizeof had);
		memcpy(p, old, had < n ? had : n);
	}
	return p;
}
static void arena_free(void *p) { (void)p; }

static csh capstone;

static bool capstone_ready(void)
{
	static bool opened;
	if (opened)
		return capstone != 0;
	opened = true;
	cs_opt_mem mem = {arena_malloc, arena_calloc, arena_realloc, arena_free, vsnprintf};
	if (cs_option(0, CS_OPT_MEM, (size_t)&mem) != CS_ERR_OK || cs_open(CS_ARCH_X86, CS_MODE_64, &capstone) != CS_ERR_OK ||
	    cs_option(capstone, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK)
		capstone = 0;
	arena_mark = arena_used;
	return capstone != 0;
}

/* ---- proving a site safe ---- */

/* A branch instruction's verdict: false if it may land inside the site. */
static bool branch_avoids(const cs_insn *insn, uintptr_t mov_at)
{
	bool jump = cs_insn_group(capstone, insn, CS_GRP_JUMP), call = cs_insn_group(capstone, insn, CS_GRP_CALL);
	if (!jump && !call)
		return true;
	const cs_x86 *x = &insn->detail->x86;
	if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM) {
		uint64_t target = (uint64_t)x->operands[0].imm;
		return target <= mov_at || target >= mov_at + SITE_LEN;
	}
	return call;  /* an indirect call lands on a function; an indirect jump may land anywhere */
}

/* Any register named xmm*, ymm* or zmm* read or written, explicitly or
 * not (true when capstone cannot tell). */
static bool uses_vector_register(const cs_insn *insn)
{
	cs_regs read, written;
	uint8_t nread = 0, nwritten = 0;
	if (cs_regs_access(capstone, insn, read, &nread, written, &nwritten) != CS_ERR_OK)
		return true;
	for (unsigned i = 0; i < (unsigned)nread + nwritten; i++) {
		const char *name = cs_reg_name(capstone, i < nread ? read[i] : written[i - nread]);
		if (name && strchr("xyz", name[0]) && strncmp(name + 1, "mm", 2) == 0)
			return true;
	}
	return false;
}

#define FLAGS_READ                                                                                       \
	(X86_EFLAGS_TEST_OF | X86_EFLAGS_TEST_SF | X86_EFLAGS_TEST_ZF | X86_EFLAGS_TEST_PF | X86_EFLAGS_TEST_CF | \
	 X86_EFLAGS_PRIOR_OF | X86_EFLAGS_PRIOR_SF | X86_EFLAGS_PRIOR_ZF | X86_EFLAGS_PRIOR_AF |            \
	 X86_EFLAGS_PRIOR_PF | X86_EFLAGS_PRIOR_CF)

/* Which of the six status flags (bits CF ZF SF OF PF AF) insn overwrites. */
static unsigned status_flags_written(uint64_t ef)
{
	return (ef & (X86_EFLAGS_MODIFY_CF | X86_EFLAGS_RESET_CF | X86_EFLAGS_SET_CF | X86_EFLAGS_UNDEFINED_CF) ? 1u : 0) |
	       (ef & (X86_EFLAGS_MODIFY_ZF | X86_EFLAGS_UNDEFINED_ZF) ? 2u : 0) |
	       (ef & (X86_EFLAGS_MODIFY_SF | X86_EFLAGS_RESET_SF | X86_EFLAGS_UNDEFINED_SF) ? 4u : 0) |
	       (ef & (X86_EFLAGS_MODIFY_OF | X86_EFLAGS_RESET_OF | X86_EFLAGS_UNDEFINED_OF) ? 8u : 0) |
	       (ef & (X86_EFLAGS_MODIFY_PF | X86_EFLAGS_RESET_PF | X86_EFLAGS_UNDEFINED_PF) ? 16u : 0) |
	       (ef & (X86_EFLAGS_MODIFY_AF | X86_EFLAGS_RESET_AF | X86_EFLAGS_UNDEFINED_AF) ? 32u : 0);
}

/* True when the straight-line code from `after` overwrites every status
 * flag before reading any, or reaches a call or a ret first (the SysV ABI
 * keeps no flag across either).  A branch, or the function's end, first:
 * false.  Then the site's flags need not be restored. */
static bool status_flags_dead(uintptr_t after, uintptr_t end, cs_insn *insn)
{
	const uint8_t *code = (const uint8_t *)after;
	size_t left = end - after;
	uint64_t address = after;
	unsigned pending = 0x3f;
	while (cs_disasm_iter(capstone, &code, &left, &address, insn)) {
		uint64_t ef = insn->detail->x86.eflags;
		if ((ef & FLAGS_READ) || insn->id == X86_INS_PUSHF || insn->id == X86_INS_PUSHFQ || insn->id == X86_INS_LAHF)
			return false;
		pending &= ~status_flags_written(ef);
		if (!pending || cs_insn_group(capstone, insn, CS_GRP_CALL) || cs_insn_group(capstone, insn, CS_GRP_RET))
			return true;
		if (cs_insn_group(capstone, insn, CS_GRP_JUMP) || cs_insn_group(capstone, insn, CS_GRP_INT) ||
		    cs_insn_group(capstone, insn, CS_GRP_IRET))
			return false;
	}
	return false;
}

/* Whether the site at mov_at in the function [start, start + size) may be
 * rewritten (*lean: whether it may use the lean entry as well). */
static bool function_allows(uintptr_t start, size_t size, uintptr_t mov_at, bool *lean)
{
	if (!capstone_ready())
		return false;
	cs_insn *insn = cs_malloc(capstone);
	const uint8_t *code = (const uint8_t *)start;
	size_t left = size;
	uint64_t address = start;
	bool mov_found = false, syscall_found = false, safe = insn != NULL, needs_full = false;
	while (safe && cs_disasm_iter(capstone, &code, &left, &address, insn)) {
		if (insn->address == mov_at)
			mov_found = insn->id == X86_INS_MOV && insn->size == MOV_LEN;
		else if (insn->address == mov_at + MOV_LEN)
			syscall_found = insn->id == X86_INS_SYSCALL;
		safe = branch_avoids(insn, mov_at);
		/* std: the direction flag may be set at the syscall, and only
		 * the full entry puts the flags back after its cld */
		needs_full = needs_full || uses_vector_register(insn) || insn->id == X86_INS_STD;
	}
	safe = safe && left == 0 && mov_found && syscall_found;
	*lean = safe && !needs_full && status_flags_dead(mov_at + SITE_LEN, start + size, insn);
	if (insn)
		cs_free(insn, 1);
	arena_used = arena_mark;
	return safe;
}

static bool site_qualifies(uintptr_t after, long nr, bool *lean)
{
	uintptr_t mov_at = after - SITE_LEN;
	if ((mov_at & 7) > 8 - MOV_LEN)
		return false;  /* not one aligned word: no single-store patch */
	Dl_info info;
	const ElfW(Sym) *sym = NULL;
	if (!dladdr1((void *)(after - 2), &info, (void **)&sym, RTLD_DL_SYMENT) || !sym || !info.dli_saddr || !sym->st_size)
		return false;
	uintptr_t start = (uintptr_t)info.dli_saddr;
	if (mov_at < start || after > start + sym->st_size)
		return false;
	const unsigned char *p = (const unsigned char *)mov_at;
	int32_t imm;
	memcpy(&imm, p + 1, sizeof imm);
	if (p[0] != 0xb8 || imm != nr || p[5] != 0x0f || p[6] != 0x05)
		return false;
	return function_allows(start, sym->st_size, mov_at, lean);
}

/* ---- code memory: written with the page RWX, so no thread running it
 * ever loses execute permission ---- */

static bool write_code(uintptr_t at, const void *bytes, size_t n, bool atomic_word)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t first = at & ~(uintptr_t)(page - 1), end = (at + n + page - 1) & ~(uintptr_t)(page - 1);
	if (mprotect((void *)first, end - first, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
		return false;
	if (atomic_word)
		__atomic_store_n((uint64_t *)at, *(const uint64_t *)bytes, __ATOMIC_SEQ_CST);
	else
		memcpy((void *)at, bytes, n);
	mprotect((void *)first, end - first, PROT_READ | PROT_EXEC);
	return true;
}

static bool near(uintptr_t a, uintptr_t b)
{
	return (a > b ? a - b : b - a) < NEAR_LIMIT - POOL_SIZE;
}

static uintptr_t map_pool_near(uintptr_t site)
{
	for (uintptr_t delta = 1ul << 20; delta < (1ul << 30); delta += 1ul << 20) {
		uintptr_t hints[2] = {(site & ~0xffffful) - delta, (site & ~0xffffful) + delta};
		for (int i = 0; i < 2; i++) {
			void *p = mmap((void *)hints[i], POOL_SIZE, PROT_READ | PROT_EXEC,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (p != MAP_FAILED && (uintptr_t)p == hints[i])
				return (uintptr_t)p;
			if (p != MAP_FAILED)
				munmap(p, POOL_SIZE);
		}
	}
	return 0;
}

static uintptr_t stub_alloc_near(uintptr_t site)
{
	int i;
	for (i = 0; i < POOL_MAX && pools[i].base; i++)
		if (pools[i].used + STUB_SIZE <= POOL_SIZE && near(pools[i].base, site)) {
			pools[i].used += STUB_SIZE;
			return pools[i].base + pools[i].used - STUB_SIZE;
		}
	if (i == POOL_MAX || !(pools[i].base = map_pool_near(site)))
		return 0;
	pools[i].used = STUB_SIZE;
	return pools[i].base;
}

/* The stub: lea -128(%rsp),%rsp; pushq 13(%rip) (after); mov $nr,%eax;
 * jmp *10(%rip) (entry); two int3 of padding; .quad after, entry. */
static bool write_stub(uintptr_t stub, uintptr_t after, long nr, bool lean)
{
	unsigned char code[STUB_SIZE] = {0x48, 0x8d, 0x64, 0x24, 0x80, 0xff, 0x35, 13, 0, 0, 0, 0xb8, 0, 0, 0, 0,
					 0xff, 0x25, 10,   0,    0,    0,    0xcc, 0xcc};
	int32_t imm = (int32_t)nr;
	memcpy(code + 12, &imm, sizeof imm);
	uint64_t data[2] = {after, (uint64_t)(uintptr_t)(lean ? sud_fast_entry_lean : sud_fast_entry)};
	memcpy(code + 24, data, sizeof data);
	return write_code(stub, code, 24 + sizeof data, false);
}

static bool patch_site(struct site *s, long nr, bool lean)
{
	uintptr_t mov_at = s->after - SITE_LEN, word_at = mov_at & ~(uintptr_t)7;
	uintptr_t stub = stub_alloc_near(mov_at);
	if (!stub || !write_stub(stub, s->after, nr, lean))
		return false;
	int32_t rel = (int32_t)((intptr_t)stub - (intptr_t)(mov_at + MOV_LEN));
	uint64_t word = *(const volatile uint64_t *)word_at;
	unsigned char *bytes = (unsigned char *)&word + (mov_at - word_at);
	s->original = word;
	bytes[0] = 0xe9;
	memcpy(bytes + 1, &rel, sizeof rel);
	return write_code(word_at, &word, sizeof word, true);
}

/* ---- the site table ---- */

static struct site *site_slot(uintptr_t after)
{
	size_t i = (after * 0x9e3779b97f4a7c15ull) >> 52;
	for (size_t probes = 0; probes < SITE_SLOTS; probes++, i = (i + 1) & (SITE_SLOTS - 1))
		if (sites[i].state == SITE_EMPTY || sites[i].after == after)
			return &sites[i];
	return NULL;
}

bool sud_rewrite_site(uintptr_t after, long nr)
{
	if (atomic_flag_test_and_set_explicit(&rewriter_busy, memory_order_acquire))
		return false;
	struct site *s = site_slot(after);
	if (s && s->state == SITE_EMPTY) {
		s->after = after;
		bool lean = false;
		bool ok = site_qualifies(after, nr, &lean) && patch_site(s, nr, lean);
		s->state = ok ? SITE_PATCHED : SITE_REFUSED;
		ok ? count_rewritten++ : count_refused++;
		count_lean += ok && lean;
	}
	bool patched = s && s->state == SITE_PATCHED;
	atomic_flag_clear_explicit(&rewriter_busy, memory_order_release);
	return patched;
}

void sud_rewrite_restore_all(void)
{
	while (atomic_flag_test_and_set_explicit(&rewriter_busy, memory_order_acquire))
		sched_yield();
	for (size_t i = 0; i < SITE_SLOTS; i++) {
		struct site *s = &sites[i];
		if (s->state == SITE_PATCHED)
			write_code((s->after - SITE_LEN) & ~(uintptr_t)7, &s->original, sizeof s->original, true);
		*s = (struct site){0};
	}
	count_rewritten = count_lean = count_refused = 0;
	atomic_flag_clear_explicit(&rewriter_busy, memory_order_release);
}

void sud_rewrite_counts(uint64_t *rewritten, uint64_t *lean, uint64_t *refused)
{
	*rewritten = count_rewritten;
	*lean = count_lean;
	*refused = count_refused;
}
