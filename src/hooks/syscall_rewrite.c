/*
 * syscall_rewrite.c - the interceptor's fast path: a syscall site that
 * trapped is rewritten, if it can be proven safe, into a jump to a stub
 * that reports and performs the syscall without a signal.
 *
 * A site is a `syscall` instruction (0f 05) and the instructions before
 * it in its basic block: the jump (jmp rel32, 5 bytes) replaces one whole
 * instruction I1 of 5 bytes or more, the nearest such before the syscall
 * with only plain instructions (no branch, call, return, interrupt) from
 * I1 to it.  The stub runs I1..Ik (the instructions up to the syscall)
 * relocated (x86_relocate.c: RIP-relative operands), then enters the
 * interceptor, which takes the syscall's number from rax at run time (so
 * glibc's `mov $NR, %eax`, futex's `xor $N, %sil`, syscall()'s and the
 * cancellable wrappers' number in a register are all one form), and comes
 * back after the syscall.  The bytes after I1's first five stay as they
 * were: a thread already past I1 runs the original syscall, which Syscall
 * User Dispatch traps.  Proven before patching:
 * - the enclosing function's bounds: its FDE in .eh_frame_hdr
 *   (syscall_sites.c), else its dynamic symbol (dladdr1); it decodes with
 *   capstone from start to end, instructions starting at I1 and at the
 *   syscall, and holds no indirect jump (a jump table could land anywhere);
 * - no direct branch anywhere in the object (any FDE: .cold parts branch
 *   back into their function; syscall_sites.c decodes those whose bytes
 *   could) nor in the function lands on a byte after I1's start up to the
 *   syscall's end.  Both in one pass over the function (plan_one_pass).
 * The patch: when the 5 bytes lie in one aligned 8-byte word, one atomic
 * store; otherwise breakpoint-first (int3 at I1's first byte, every core
 * serialised with membarrier's SYNC_CORE, the other 4 bytes, serialised,
 * the first byte, serialised), a thread hitting the int3 meanwhile being
 * sent to the stub by the SIGTRAP handler (probe_trap.c asks
 * sud_rewrite_trap_target()).  Restoring is the same sequence with the
 * original bytes.
 * A site whose function uses no vector register and no std, and whose
 * status flags are dead after the syscall (overwritten, or a call or ret
 * reached, before any is read) gets the lean entry, which keeps neither
 * the vector registers nor the flags.
 *
 * Runs inside the SIGSYS handler: it waits for another thread's rewrite
 * at most 250 ms (then leaves the site for its next trap) and never calls malloc
 * (capstone allocates, while the rewriter runs, from an arena of this
 * file's own).  Stubs are never unmapped: a thread may still be returning
 * through one after a restore.
 *
 * Forgetting code (sud_rewrite_forget: an munmap of swept code, a dlclose)
 * gives its table slots and stubs back, so that a process loading and
 * unloading libraries for ever keeps finding room.  The site table, read
 * only by the rewriter's holder, deletes by shifting the rest of a probe
 * run back (no tombstones, which would lengthen every search for ever);
 * the patch record too, read without a lock from the SIGTRAP handler,
 * which looks again when records moved meanwhile (a sequence count, odd
 * while they move).  A forgotten stub is quarantined
 * and reused only after a grace: a request round (syscall_trace.c's
 * switch_off_locked) begun after it was forgotten, in which every thread
 * answered, none from a context inside a stub forgotten before the
 * round (the request handler notes an interrupted rip in the pools).
 * That is enough because
 * (1) once its object is forgotten no thread can enter the stub again
 * (its jump was in the unmapped code, and its patch record, which sends
 * a thread meeting the breakpoint-first int3 there, is gone); (2) a stub
 * holds no call and no syscall: its address is never a return address,
 * and a thread blocked in a syscall made through it returns to the site
 * (`after`, in the object), not to the stub; so (3) the only thread that
 * could still run it is one whose context is in it, the innermost one
 * (which the round sees: the request handler's interrupted rip) or one
 * under a signal handler that interrupted it: a thread half way through
 * the unmapped object's own instructions (I1..Ik, relocated), which will
 * go on into the object's code at `after` and has nowhere to go, traced
 * or not: a program unmapping code a thread is running.
 *
 * The sweep (syscall_sweep.c, SYSCALL_TRACE_DISPATCH_OFF) decides every
 * site of an object at once, outside any signal handler, and notes each
 * syscall for an int3 over its first byte (a one-byte write: atomic),
 * written once the sweep proved every site covered and taken out before
 * dispatch goes back on; the SIGTRAP handler serves a thread that meets
 * one (syscall_trace.c's sud_serve_int3).  A site with a jump keeps its
 * int3 too: a thread between I1 and the syscall, or sent back to the
 * syscall by the stub (the fallback tests set, sud_fast_set_fallback),
 * meets it.
 *
 * Owns: the site table, the patch record (breakpoint redirects, original
 * bytes), the int3 list, stub pools and the stubs given back (their
 * grace), capstone's arena, sud_rewrite_*.
 */
#define _GNU_SOURCE
#include "hooks/syscall_sud.h"
#include "hooks/probe_internal.h"
#include "hooks/syscall_sites.h"
#include "hooks/x86_relocate.h"

#include <capstone/capstone.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SITE_SLOTS 4096            /* open addressing, power of two */
#define POOL_SIZE 65536
#define POOL_MAX 32
#define STUB_SIZE 128
#define STUB_CODE_MAX 64           /* the relocated instructions */
#define NEAR_LIMIT (1ul << 31)
#define JUMP_LEN 5                 /* e9 rel32 */
#define SYSCALL_LEN 2              /* 0f 05 */
#define WINDOW_MAX 32              /* I1 to the syscall: what x86_relocate decodes */
#define RING 16                    /* instructions remembered before the syscall */
#define REWRITER_WAIT_NS 250000000l

enum site_state { SITE_EMPTY, SITE_REFUSED, SITE_PATCHED };

struct site {
	uintptr_t after;       /* address after the syscall instruction */
	uintptr_t patch_at;    /* I1, where the jump is */
	uint8_t original[JUMP_LEN];
	enum site_state state;
};

#define SLOT_MASK (SITE_SLOTS - 1)
#define SLOT_SHIFT 52              /* 64 - log2(SITE_SLOTS) */

static struct site sites[SITE_SLOTS];
static atomic_flag rewriter_busy = ATOMIC_FLAG_INIT;
static uint64_t count_rewritten, count_lean, count_refused;
static struct { uintptr_t base; size_t used; } pools[POOL_MAX];
static bool sync_core_ok;

/* Every I1 patched, with its stub and original bytes, kept until its
 * code is forgotten (unmapped): not at a restore, since a thread that hit
 * the breakpoint may take its SIGTRAP after the patch (or its undoing) is
 * complete, and decoding reads the original bytes back from here.  Any
 * stub of an address does the same.  Read without a lock by the SIGTRAP
 * handler (patch_read). */
static struct {
	_Atomic uintptr_t at;        /* 0: empty */
	_Atomic uintptr_t stub;      /* 0 for an int3 over a syscall */
	uint8_t original[JUMP_LEN];
	uint8_t len;                 /* JUMP_LEN, or 1: an int3 over a syscall's first byte */
	bool listed;                 /* in the int3 list */
} patches[SITE_SLOTS];

static size_t slot_home(uintptr_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> SLOT_SHIFT);
}

static inline uintptr_t thread_pointer(void)
{
	uintptr_t tp;
	__asm__("mov %%fs:0, %0" : "=r"(tp));
	return tp;
}

/* ---- capstone's arena: a bump allocator reset after each analysis,
 * used only by the thread holding the rewriter (the probe engine's
 * capstone, in other threads, gets the C library's malloc) ---- */

#define ARENA_SIZE (4u << 20)
static _Alignas(16) unsigned char arena[ARENA_SIZE];
static size_t arena_used, arena_mark;
static _Atomic uintptr_t arena_owner;

static bool in_arena(const void *p)
{
	return (const unsigned char *)p >= arena && (const unsigned char *)p < arena + ARENA_SIZE;
}
static bool arena_mine(void)
{
	return atomic_load_explicit(&arena_owner, memory_order_relaxed) == thread_pointer();
}
static void *arena_malloc(size_t n)
{
	if (!arena_mine())
		return malloc(n);
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
	if (!arena_mine())
		return calloc(count, n);
	void *p = arena_malloc(count * n);
	return p ? memset(p, 0, count * n) : NULL;
}
static void *arena_realloc(void *old, size_t n)
{
	if (!arena_mine() && !in_arena(old))
		return realloc(old, n);
	void *p = arena_malloc(n);
	if (p && old && in_arena(old)) {
		size_t had;
		memcpy(&had, (unsigned char *)old - 16, sizeof had);
		memcpy(p, old, had < n ? had : n);
	}
	return p;
}
static void arena_free(void *p)
{
	if (!in_arena(p))
		free(p);
}

static csh capstone, capstone_plain;   /* with details; without (the object-wide pass) */

/* Called with the rewriter held and the arena owned. */
static bool capstone_ready(void)
{
	static bool opened;
	if (opened)
		return capstone != 0;
	opened = true;
	cs_opt_mem mem = {arena_malloc, arena_calloc, arena_realloc, arena_free, vsnprintf};
	if (cs_option(0, CS_OPT_MEM, (size_t)&mem) != CS_ERR_OK || cs_open(CS_ARCH_X86, CS_MODE_64, &capstone) != CS_ERR_OK ||
	    cs_option(capstone, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK ||
	    cs_open(CS_ARCH_X86, CS_MODE_64, &capstone_plain) != CS_ERR_OK)
		capstone = 0;
	/* capstone makes a handle's instruction-id cache at its first decode:
	 * that must happen now, below the mark the arena is reset to */
	static const uint8_t nop = 0x90;
	cs_insn *insn;
	if (capstone && cs_disasm(capstone, &nop, 1, 0, 1, &insn) == 1)
		cs_free(insn, 1);
	if (capstone && cs_disasm(capstone_plain, &nop, 1, 0, 1, &insn) == 1)
		cs_free(insn, 1);
	arena_mark = arena_used;
	return capstone != 0;
}

/* sud_rewrite_hold(): the holding thread's takes nest inside its hold,
 * and its sites are planned without the dynamic symbol table (dladdr
 * takes the loader's lock, which a thread trapping meanwhile may wait for
 * while holding... the rewriter). */
static int hold_depth;

static bool rewriter_take(bool wait)
{
	if (hold_depth && atomic_load_explicit(&arena_owner, memory_order_relaxed) == thread_pointer()) {
		hold_depth++;
		return true;
	}
	while (atomic_flag_test_and_set_explicit(&rewriter_busy, memory_order_acquire)) {
		if (!wait)
			return false;
		sched_yield();
	}
	atomic_store_explicit(&arena_owner, thread_pointer(), memory_order_relaxed);
	return true;
}

static void rewriter_give(void)
{
	if (hold_depth > 1) {
		hold_depth--;
		return;
	}
	atomic_store_explicit(&arena_owner, 0, memory_order_relaxed);
	atomic_flag_clear_explicit(&rewriter_busy, memory_order_release);
}

/* ---- the patch record ---- */

/* The patches slot of at, or the empty one where it would go
 * (SITE_SLOTS: full).  Its caller holds the rewriter, or reads through
 * patch_read(). */
static size_t patch_index(uintptr_t at, bool *found)
{
	size_t i = slot_home(at);
	for (size_t probes = 0; probes < SITE_SLOTS; probes++, i = (i + 1) & SLOT_MASK) {
		uintptr_t was = atomic_load(&patches[i].at);
		if (was == at || was == 0) {
			*found = was == at;
			return i;
		}
	}
	*found = false;
	return SITE_SLOTS;
}

/* Odd while a forget moves records (backward-shift deletion): a reader
 * without the rewriter (the SIGTRAP handler) may then miss one, and looks
 * again once it is even. */
static _Atomic unsigned patches_moving;

struct patch_copy {
	uintptr_t stub;
	uint8_t original[JUMP_LEN];
	uint8_t len;
};

/* A copy of at's record, read with or without the rewriter; false when
 * there is none (or this thread, interrupted while it moves records,
 * cannot know: no patch of its own can be met there, the int3s being out). */
static bool patch_read(uintptr_t at, struct patch_copy *out)
{
	for (;;) {
		unsigned moving = atomic_load(&patches_moving);
		if (moving & 1) {
			if (arena_mine())
				return false;
			__builtin_ia32_pause();
			continue;
		}
		bool found;
		size_t i = patch_index(at, &found);
		if (found) {
			out->stub = atomic_load(&patches[i].stub);
			memcpy(out->original, patches[i].original, JUMP_LEN);
			out->len = patches[i].len;
		}
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load(&patches_moving) == moving)
			return found;
	}
}

/* Empties record i (the rewriter held, patches_moving odd), moving each
 * later record of the probe run back into the hole when the hole lies on
 * its way from its home: no record is cut off from its home by an empty
 * slot, and no tombstone is left to lengthen searches. */
static void patch_delete(size_t i)
{
	size_t hole = i;
	for (size_t j = (i + 1) & SLOT_MASK, n = 1; n < SITE_SLOTS && atomic_load(&patches[j].at);
	     j = (j + 1) & SLOT_MASK, n++) {
		size_t home = slot_home(atomic_load(&patches[j].at));
		if (((j - home) & SLOT_MASK) >= ((j - hole) & SLOT_MASK)) {
			atomic_store(&patches[hole].stub, atomic_load(&patches[j].stub));
			memcpy(patches[hole].original, patches[j].original, JUMP_LEN);
			patches[hole].len = patches[j].len, patches[hole].listed = patches[j].listed;
			atomic_store(&patches[hole].at, atomic_load(&patches[j].at));
			hole = j;
		}
	}
	atomic_store(&patches[hole].at, 0);
	atomic_store(&patches[hole].stub, 0);
	patches[hole].len = 0, patches[hole].listed = false;
}

/* Notes a patch's stub (0: an int3 over a syscall) and its len original
 * bytes before it is written. */
static bool patch_record(uintptr_t at, uintptr_t stub, uint8_t len)
{
	bool found;
	size_t i = patch_index(at, &found);
	if (i == SITE_SLOTS)
		return false;
	atomic_store(&patches[i].stub, stub);
	if (!found || patches[i].len != len) {
		memcpy(patches[i].original, (const void *)at, len);
		patches[i].len = len;
		atomic_store(&patches[i].at, at);
	}
	return true;
}

size_t sud_rewrite_original_at(uintptr_t at, uint8_t original[SUD_PATCH_LEN])
{
	_Static_assert(SUD_PATCH_LEN == JUMP_LEN && SUD_PATCH_LEN == PROBE_JUMP_LEN, "one patch length");
	struct patch_copy rec;
	bool found = patch_read(at, &rec);
	size_t len = found ? rec.len : SUD_PATCH_LEN;
	const uint8_t *was = found ? rec.original : NULL;
	struct probe_site *probe = was ? NULL : probe_site_find(at);
	if (probe)
		was = probe->orig;
	if (!was || memcmp((const void *)at, was, len) == 0)
		return 0;
	memcpy(original, was, len);
	return len;
}

uintptr_t sud_rewrite_trap_target(uintptr_t at)
{
	struct patch_copy rec;
	return patch_read(at, &rec) ? rec.stub : 0;
}

int sud_rewrite_int3_at(uintptr_t at)
{
	struct patch_copy rec;
	if (!patch_read(at, &rec) || rec.len != 1)
		return -1;
	return *(const volatile uint8_t *)at == 0xcc;
}

/* Whether a patch of this process's covers a byte of [lo, hi). */
static bool window_patched(uintptr_t lo, uintptr_t hi)
{
	uint8_t ignored[SUD_PATCH_LEN];
	for (uintptr_t at = lo - (SUD_PATCH_LEN - 1); at < hi; at++) {
		size_t len = sud_rewrite_original_at(at, ignored);
		if (len && at + len > lo)
			return true;
	}
	return false;
}

/* ---- proving a site safe ---- */

/* A branch instruction's verdict: false if it may land in (lo, hi). */
static bool branch_avoids(const cs_insn *insn, uintptr_t lo, uintptr_t hi)
{
	bool jump = cs_insn_group(capstone, insn, CS_GRP_JUMP), call = cs_insn_group(capstone, insn, CS_GRP_CALL);
	if (!jump && !call)
		return true;
	const cs_x86 *x = &insn->detail->x86;
	if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM) {
		uint64_t target = (uint64_t)x->operands[0].imm;
		return target <= lo || target >= hi;
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
	struct sud_decoder d;
	sud_decoder_init(&d, capstone, after, end - after);
	unsigned pending = 0x3f;
	while (sud_decode(&d, insn)) {
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

/* An instruction that may run in the stub, relocated: it neither
 * branches nor traps nor makes a system call. */
static bool plain(const cs_insn *insn)
{
	static const int groups[] = {CS_GRP_JUMP, CS_GRP_CALL, CS_GRP_RET, CS_GRP_INT, CS_GRP_IRET,
				     CS_GRP_BRANCH_RELATIVE, CS_GRP_PRIVILEGE};
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
		if (cs_insn_group(capstone, insn, (uint8_t)groups[i]))
			return false;
	switch (insn->id) {
	case X86_INS_SYSCALL: case X86_INS_SYSENTER: case X86_INS_UD2: case X86_INS_HLT: case X86_INS_INT3:
	case X86_INS_INVALID:
		return false;
	default:
		return true;
	}
}

/* A site's plan: the function and the instruction the jump replaces. */
struct site_plan {
	uintptr_t start, end;       /* the enclosing function */
	uintptr_t patch_at;         /* I1 */
	bool lean;
};

/* First pass, up to the syscall: I1, the nearest instruction of at least
 * JUMP_LEN bytes before it with only plain instructions between. */
static bool find_patch_point(struct site_plan *p, uintptr_t syscall_at, cs_insn *insn)
{
	struct { uintptr_t at; uint16_t size; bool plain; } ring[RING];
	unsigned n = 0;
	struct sud_decoder d;
	sud_decoder_init(&d, capstone, p->start, syscall_at + SYSCALL_LEN - p->start);
	insn->address = 0;
	while (sud_decode(&d, insn) && insn->address < syscall_at) {
		ring[n % RING].at = insn->address, ring[n % RING].size = insn->size, ring[n % RING].plain = plain(insn);
		n++;
	}
	if (insn->address != syscall_at || insn->id != X86_INS_SYSCALL)
		return false;
	for (unsigned back = 1; back <= n && back <= RING; back++) {
		unsigned i = (n - back) % RING;
		if (!ring[i].plain || syscall_at - ring[i].at > WINDOW_MAX)
			return false;
		if (ring[i].size >= JUMP_LEN) {
			p->patch_at = ring[i].at;
			return true;
		}
	}
	return false;
}

/* Second pass, the whole function: it decodes to its end, no branch of
 * its own lands in the window and it has no indirect jump; whether the
 * site may use the lean entry. */
static bool function_allows(struct site_plan *p, uintptr_t after, cs_insn *insn)
{
	struct sud_decoder d;
	sud_decoder_init(&d, capstone, p->start, p->end - p->start);
	bool safe = true, needs_full = false;
	while (safe && sud_decode(&d, insn)) {
		safe = branch_avoids(insn, p->patch_at, after);
		/* std: the direction flag may be set at the syscall, and only
		 * the full entry puts the flags back after its cld */
		needs_full = needs_full || uses_vector_register(insn) || insn->id == X86_INS_STD;
	}
	safe = safe && d.size == 0;
	p->lean = safe && !needs_full && status_flags_dead(after, p->end, insn);
	return safe;
}

/* The function holding the syscall: its FDE, else its dynamic symbol. */
static bool function_bounds(uintptr_t syscall_at, struct site_plan *p)
{
	size_t size;
	if (sud_code_function(syscall_at, &p->start, &size)) {
		p->end = p->start + size;
		return true;
	}
	Dl_info info;
	const ElfW(Sym) *sym = NULL;
	if (hold_depth || !dladdr1((void *)syscall_at, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym || !info.dli_saddr || !sym->st_size)
		return false;
	p->start = (uintptr_t)info.dli_saddr;
	p->end = p->start + sym->st_size;
	return syscall_at >= p->start && syscall_at + SYSCALL_LEN <= p->end;
}

/* I1 chosen from the ring of instructions before the syscall (n of
 * them), as find_patch_point() does. */
static bool patch_point_of(struct site_plan *p, uintptr_t syscall_at, const uintptr_t *ring_at,
			   const uint16_t *ring_size, const bool *ring_plain, unsigned n)
{
	for (unsigned back = 1; back <= n && back <= RING; back++) {
		unsigned i = (n - back) % RING;
		if (!ring_plain[i] || syscall_at - ring_at[i] > WINDOW_MAX)
			return false;
		if (ring_size[i] >= JUMP_LEN) {
			p->patch_at = ring_at[i];
			return true;
		}
	}
	return false;
}

#define EARLY_BRANCHES_MAX 512

/* find_patch_point() and function_allows() in one pass over the function
 * (the sweep plans every site: decoding it twice was most of the sweep's
 * time): the direct targets of branches before the syscall are kept
 * until I1 is known.  1: allowed, 0: refused, -1: too many branches
 * before the syscall to keep (the two passes decide). */
static int plan_one_pass(struct site_plan *p, uintptr_t syscall_at, uintptr_t after, cs_insn *insn)
{
	uintptr_t ring_at[RING], early[EARLY_BRANCHES_MAX];
	uint16_t ring_size[RING];
	bool ring_plain[RING], found = false, safe = true, needs_full = false;
	unsigned n = 0, nearly = 0;
	struct sud_decoder d;
	sud_decoder_init(&d, capstone, p->start, p->end - p->start);
	while (safe && sud_decode(&d, insn)) {
		if (!found && insn->address < syscall_at) {
			ring_at[n % RING] = insn->address, ring_size[n % RING] = insn->size, ring_plain[n % RING] = plain(insn);
			n++;
		} else if (!found) {
			if (insn->address != syscall_at || insn->id != X86_INS_SYSCALL ||
			    !patch_point_of(p, syscall_at, ring_at, ring_size, ring_plain, n) || p->patch_at < p->start ||
			    window_patched(p->patch_at, after))
				return 0;
			found = true;
			for (unsigned i = 0; i < nearly && safe; i++)
				safe = early[i] <= p->patch_at || early[i] >= after;
		}
		bool jump = cs_insn_group(capstone, insn, CS_GRP_JUMP), call = cs_insn_group(capstone, insn, CS_GRP_CALL);
		const cs_x86 *x = &insn->detail->x86;
		if (found) {
			safe = safe && branch_avoids(insn, p->patch_at, after);
		} else if ((jump || call) && x->op_count == 1 && x->operands[0].type == X86_OP_IMM) {
			if (nearly == EARLY_BRANCHES_MAX)
				return -1;
			early[nearly++] = (uintptr_t)x->operands[0].imm;
		} else if (jump) {
			return 0;   /* an indirect jump may land anywhere */
		}
		needs_full = needs_full || uses_vector_register(insn) || insn->id == X86_INS_STD;
	}
	safe = found && safe && d.size == 0;
	p->lean = safe && !needs_full && status_flags_dead(after, p->end, insn);
	return safe;
}

static bool plan_site(uintptr_t after, struct site_plan *p)
{
	uintptr_t syscall_at = after - SYSCALL_LEN;
	const unsigned char *b = (const unsigned char *)syscall_at;
	if (b[0] != 0x0f || b[1] != 0x05 || !capstone_ready() || !function_bounds(syscall_at, p))
		return false;
	cs_insn *insn = cs_malloc(capstone);
	int one_pass = insn ? plan_one_pass(p, syscall_at, after, insn) : 0;
	bool ok = one_pass > 0 || (one_pass < 0 && find_patch_point(p, syscall_at, insn) && p->patch_at >= p->start &&
				   !window_patched(p->patch_at, after) && function_allows(p, after, insn));
	ok = ok && !sud_code_branch_into(capstone_plain, p->patch_at, after);
	if (insn)
		cs_free(insn, 1);
	return ok;
}

/* ---- code memory: written with the page RWX, so no thread running it
 * ever loses execute permission ---- */

/* While the sweep covers an object or writes its int3s (the rewriter
 * held, its writes one after another), pages made writable stay so until
 * it ends: one mprotect per run of pages, not two per write. */
#define OPEN_RUNS 16
static struct { uintptr_t lo, hi; } open_runs[OPEN_RUNS];
static size_t open_run_count;
static bool batching;

static void batch_close(void)
{
	for (size_t i = 0; i < open_run_count; i++)
		mprotect((void *)open_runs[i].lo, open_runs[i].hi - open_runs[i].lo, PROT_READ | PROT_EXEC);
	open_run_count = 0;
}

static void batch_begin(void)
{
	batching = true;
}

static void batch_end(void)
{
	batch_close();
	batching = false;
}

/* [first, end) writable until the batch ends: inside an open run, or
 * made so and kept as one (a run grown where it ends). */
static bool batch_writable(uintptr_t first, uintptr_t end)
{
	for (size_t i = 0; i < open_run_count; i++)
		if (first >= open_runs[i].lo && end <= open_runs[i].hi)
			return true;
	if (mprotect((void *)first, end - first, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
		return false;
	for (size_t i = 0; i < open_run_count; i++)
		if (first <= open_runs[i].hi && end >= open_runs[i].lo) {
			open_runs[i].lo = first < open_runs[i].lo ? first : open_runs[i].lo;
			open_runs[i].hi = end > open_runs[i].hi ? end : open_runs[i].hi;
			return true;
		}
	if (open_run_count == OPEN_RUNS) {
		batch_close();   /* their writes are done */
		mprotect((void *)first, end - first, PROT_READ | PROT_WRITE | PROT_EXEC);
	}
	open_runs[open_run_count].lo = first, open_runs[open_run_count].hi = end;
	open_run_count++;
	return true;
}

static bool code_writable(uintptr_t at, size_t n, bool writable)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t first = at & ~(uintptr_t)(page - 1), end = (at + n + page - 1) & ~(uintptr_t)(page - 1);
	if (batching)
		return writable ? batch_writable(first, end) : true;
	return mprotect((void *)first, end - first, PROT_READ | PROT_EXEC | (writable ? PROT_WRITE : 0)) == 0;
}

static bool write_code(uintptr_t at, const void *bytes, size_t n)
{
	if (!code_writable(at, n, true))
		return false;
	memcpy((void *)at, bytes, n);
	code_writable(at, n, false);
	return true;
}

static void sync_cores(void)
{
	syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0);
}

/* Replaces the JUMP_LEN bytes at `at` with `bytes`, safely against threads
 * running them: one atomic store when they lie in one aligned word, else
 * breakpoint-first (a thread meeting the int3 is sent to the stub
 * patch_record() noted). */
static bool replace_bytes(uintptr_t at, const uint8_t bytes[JUMP_LEN])
{
	uintptr_t word_at = at & ~(uintptr_t)7;
	if (at - word_at <= 8 - JUMP_LEN) {
		if (!code_writable(word_at, 8, true))
			return false;
		uint64_t word = *(const volatile uint64_t *)word_at;
		memcpy((unsigned char *)&word + (at - word_at), bytes, JUMP_LEN);
		__atomic_store_n((uint64_t *)word_at, word, __ATOMIC_SEQ_CST);
		code_writable(word_at, 8, false);
		return true;
	}
	if (!sync_core_ok || !code_writable(at, JUMP_LEN, true))
		return false;
	volatile uint8_t *p = (volatile uint8_t *)at;
	*p = 0xcc;
	sync_cores();
	for (int k = 1; k < JUMP_LEN; k++)
		p[k] = bytes[k];
	sync_cores();
	*p = bytes[0];
	sync_cores();
	code_writable(at, JUMP_LEN, false);
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

/* Stubs given back by forgotten code, each with the epoch it was given
 * back in: reusable once a grace round begun after it (stub_epoch at the
 * round's start) ended with no thread inside one of them, i.e. when its
 * epoch is below released_epoch.  Every stub ever made fits. */
#define STUBS_MAX (POOL_MAX * (POOL_SIZE / STUB_SIZE))
static struct { uintptr_t at; uint64_t epoch; } spare_stubs[STUBS_MAX];
static size_t spare_count;
static uint64_t stub_epoch = 1, released_epoch = 1;   /* epoch 0: never jumped to, reusable at once */
static uint64_t count_stubs_made;

static void stub_give_back(uintptr_t stub, uint64_t epoch)
{
	if (spare_count < STUBS_MAX)
		spare_stubs[spare_count].at = stub, spare_stubs[spare_count++].epoch = epoch;
}

/* A spare stub past its grace within reach of site, taken; else 0. */
static uintptr_t stub_reuse_near(uintptr_t site)
{
	for (size_t i = spare_count; i-- > 0;)
		if (spare_stubs[i].epoch < released_epoch && near(spare_stubs[i].at, site)) {
			uintptr_t stub = spare_stubs[i].at;
			spare_stubs[i] = spare_stubs[--spare_count];
			return stub;
		}
	return 0;
}

uint64_t sud_rewrite_grace_begin(void)
{
	rewriter_take(true);
	uint64_t round = stub_epoch++;
	rewriter_give();
	return round;
}

void sud_rewrite_grace_end(uint64_t round, const uintptr_t *in_pools, size_t n)
{
	rewriter_take(true);
	bool inside = false;
	for (size_t i = 0; i < spare_count && !inside; i++)
		for (size_t k = 0; k < n && !inside; k++)
			inside = spare_stubs[i].epoch <= round && in_pools[k] - spare_stubs[i].at < STUB_SIZE;
	if (!inside && round + 1 > released_epoch)
		released_epoch = round + 1;
	rewriter_give();
}

static uintptr_t stub_alloc_near(uintptr_t site)
{
	int i;
	for (i = 0; i < POOL_MAX && pools[i].base; i++)
		if (pools[i].used + STUB_SIZE <= POOL_SIZE && near(pools[i].base, site)) {
			pools[i].used += STUB_SIZE;
			count_stubs_made++;
			return pools[i].base + pools[i].used - STUB_SIZE;
		}
	if (i == POOL_MAX || !(pools[i].base = map_pool_near(site)))
		return 0;
	pools[i].used = STUB_SIZE;
	count_stubs_made++;
	return pools[i].base;
}

/* The stub at `stub`, made in code[STUB_SIZE]: I1..Ik relocated;
 * lea -128(%rsp),%rsp (past the red zone); pushq after(%rip);
 * jmp *entry(%rip); int3 padding; .quad after, entry.  Its length, 0 if
 * the instructions cannot be relocated. */
static size_t make_stub(uint8_t code[STUB_SIZE], uintptr_t stub, const struct site_plan *p, uintptr_t after)
{
	static const uint8_t tail[] = {0x48, 0x8d, 0x64, 0x24, 0x80, 0xff, 0x35, 0, 0, 0, 0, 0xff, 0x25, 0, 0, 0, 0};
	memset(code, 0xcc, STUB_SIZE);
	struct x86_reloc r;
	char reason[X86_RELOC_REASON_SIZE];
	if (x86_relocate((const uint8_t *)p->patch_at, after - SYSCALL_LEN - p->patch_at, p->end - p->patch_at, code,
			 stub, STUB_CODE_MAX, &r, reason) != 0 ||
	    r.src_len != after - SYSCALL_LEN - p->patch_at)
		return 0;
	size_t at = r.out_len, data = (at + sizeof tail + 7) & ~(size_t)7;
	memcpy(code + at, tail, sizeof tail);
	int32_t to_after = (int32_t)(data - (at + 11)), to_entry = (int32_t)(data + 8 - (at + 17));
	memcpy(code + at + 7, &to_after, 4);
	memcpy(code + at + 13, &to_entry, 4);
	uint64_t words[2] = {after, (uint64_t)(uintptr_t)(p->lean ? sud_fast_entry_lean : sud_fast_entry)};
	memcpy(code + data, words, sizeof words);
	return data + sizeof words;
}

/* A stub for the site: the one an earlier start made for the same I1 when
 * it holds the same code (a stop keeps its stubs, and every start
 * rewrites every site again: a process attached and detached over and
 * over would use up the pools), else one given back by forgotten code
 * and past its grace, else a new one. */
static uintptr_t stub_for(const struct site_plan *p, uintptr_t after)
{
	uint8_t code[STUB_SIZE];
	bool found;
	size_t i = patch_index(p->patch_at, &found);
	uintptr_t old = found ? atomic_load(&patches[i].stub) : 0;
	size_t old_len = old ? make_stub(code, old, p, after) : 0;
	if (old_len && memcmp((const void *)old, code, old_len) == 0)
		return old;
	uintptr_t stub = stub_reuse_near(p->patch_at);
	bool reused = stub != 0;
	stub = reused ? stub : stub_alloc_near(p->patch_at);
	size_t len = stub && near(stub, p->patch_at) ? make_stub(code, stub, p, after) : 0;
	if (len && write_code(stub, code, len)) {
		/* a core may still hold the stub's old instructions, decoded:
		 * every core serialised before a jump leads there */
		if (reused && sync_core_ok)
			sync_cores();
		return stub;
	}
	if (stub)
		stub_give_back(stub, 0);   /* never jumped to: no grace */
	return 0;
}

static bool patch_site(struct site *s, const struct site_plan *p)
{
	uintptr_t stub = stub_for(p, s->after);
	if (!stub)
		return false;
	uint8_t jump[JUMP_LEN] = {0xe9};
	int32_t rel = (int32_t)((intptr_t)stub - (intptr_t)(p->patch_at + JUMP_LEN));
	memcpy(jump + 1, &rel, sizeof rel);
	s->patch_at = p->patch_at;
	memcpy(s->original, (const void *)p->patch_at, JUMP_LEN);
	return patch_record(p->patch_at, stub, JUMP_LEN) && replace_bytes(p->patch_at, jump);
}

/* ---- int3s over syscalls: the sweep's cover for every site, also
 * those with a jump (a thread between I1 and the syscall, or sent back to
 * the syscall by the stub, meets it), while dispatch is off ---- */

#define INT3_MAX 16384
static uintptr_t int3_sites[INT3_MAX];   /* the last sweep's syscalls */
static size_t int3_count;
static bool int3_written;

/* One byte: a single store, atomic for any thread running it.  Where
 * the page cannot be made writable (the vDSO: mprotect refuses a special
 * mapping), written through /proc/self/mem, as a debugger's breakpoint
 * is (the kernel copies the page, the byte changed, and maps the copy). */
static bool write_byte(uintptr_t at, uint8_t byte)
{
	if (!code_writable(at, 1, true)) {
		int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
		bool ok = fd >= 0 && pwrite(fd, &byte, 1, (off_t)at) == 1;
		if (fd >= 0)
			close(fd);
		return ok;
	}
	__atomic_store_n((uint8_t *)at, byte, __ATOMIC_SEQ_CST);
	code_writable(at, 1, false);
	return true;
}

/* Writes (or takes out) the int3 over every syscall the last sweep
 * noted; false if a page could not be made writable (the int3s written
 * so far stay: each is served). */
static bool int3_write_all(bool on)
{
	bool ok = true;
	if (!on && !int3_written)
		return true;
	for (size_t i = 0; i < int3_count; i++) {
		uintptr_t at = int3_sites[i];
		if (*(const uint8_t *)at == (on ? 0x0f : 0xcc))
			ok = write_byte(at, on ? 0xcc : 0x0f) && ok;
	}
	int3_written = on;
	if (sync_core_ok)
		sync_cores();
	return ok;
}

static void int3_list_clear(void)
{
	for (size_t i = 0; i < int3_count; i++) {
		bool found;
		size_t slot = patch_index(int3_sites[i], &found);
		if (found)
			patches[slot].listed = false;
	}
	int3_count = 0;
}

bool sud_rewrite_int3_write(bool on)
{
	rewriter_take(true);
	batch_begin();
	bool ok = int3_write_all(on);
	batch_end();
	rewriter_give();
	return ok;
}

/* ---- the site table ---- */

static struct site *site_slot(uintptr_t after)
{
	size_t i = slot_home(after);
	for (size_t probes = 0; probes < SITE_SLOTS; probes++, i = (i + 1) & SLOT_MASK)
		if (sites[i].state == SITE_EMPTY || sites[i].after == after)
			return &sites[i];
	return NULL;
}

/* Empties slot i (the rewriter held: only its holder reads this table),
 * moving each later site of the probe run back into the hole when the
 * hole lies on its way from its home, so that none is cut off from its
 * home by an empty slot. */
static void site_delete(size_t i)
{
	size_t hole = i;
	for (size_t j = (i + 1) & SLOT_MASK, n = 1; n < SITE_SLOTS && sites[j].state != SITE_EMPTY;
	     j = (j + 1) & SLOT_MASK, n++) {
		size_t home = slot_home(sites[j].after);
		if (((j - home) & SLOT_MASK) >= ((j - hole) & SLOT_MASK)) {
			sites[hole] = sites[j];
			hole = j;
		}
	}
	sites[hole] = (struct site){0};
}

void sud_rewrite_prepare(void)
{
	if (!sync_core_ok)
		sync_core_ok = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0) == 0;
}

/* Waits for another thread's rewrite, which may be decoding part of an
 * object, so that the waiting thread's site is rewritten too; but
 * only so long: the holder may be this thread itself, interrupted by a
 * signal whose handler's syscall trapped. */
static bool rewriter_take_soon(void)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!rewriter_take(false)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000000000l + (now.tv_nsec - start.tv_nsec) > REWRITER_WAIT_NS)
			return false;
		sched_yield();
	}
	return true;
}

/* The site ending at `after`, decided (planned and patched, or refused)
 * if it was not yet; the rewriter held.  Resets the arena to `mark`. */
static struct site *decide_site(uintptr_t after, size_t mark)
{
	struct site *s = site_slot(after);
	if (s && s->state == SITE_EMPTY) {
		s->after = after;
		struct site_plan plan = {0};
		bool ok = plan_site(after, &plan) && patch_site(s, &plan);
		arena_used = mark;
		s->state = ok ? SITE_PATCHED : SITE_REFUSED;
		ok ? count_rewritten++ : count_refused++;
		count_lean += ok && plan.lean;
	}
	return s;
}

bool sud_rewrite_hold(void)
{
	if (!rewriter_take_soon())
		return false;
	hold_depth = 1;
	return true;
}

void sud_rewrite_unhold(void)
{
	hold_depth = 0;
	rewriter_give();
}

bool sud_rewrite_site(uintptr_t after)
{
	if (!rewriter_take_soon())
		return false;
	capstone_ready();   /* its handles below arena_mark before the mark is read */
	struct site *s = decide_site(after, arena_mark);
	bool patched = s && s->state == SITE_PATCHED;
	rewriter_give();
	return patched;
}

void sud_rewrite_after_fork(void)
{
	if (atomic_load_explicit(&arena_owner, memory_order_relaxed) == thread_pointer())
		return;   /* this thread's own rewrite, under way: it finishes it */
	if (atomic_load_explicit(&arena_owner, memory_order_relaxed) != 0) {
		arena_used = arena_mark;
		sud_code_after_fork();
		/* a forget moving records stopped half way: each record is still
		 * found (a move copies before it clears), one maybe twice */
		if (atomic_load(&patches_moving) & 1)
			atomic_fetch_add(&patches_moving, 1);
		struct site *s = NULL;
		for (size_t i = 0; i < SITE_SLOTS && !s; i++)
			if (sites[i].state == SITE_EMPTY && sites[i].after)
				s = &sites[i];   /* the site being analysed: claimed, not yet decided */
		if (s)
			*s = (struct site){0};
	}
	atomic_store_explicit(&arena_owner, 0, memory_order_relaxed);
	atomic_flag_clear_explicit(&rewriter_busy, memory_order_release);
}

void sud_rewrite_restore_all(void)
{
	rewriter_take(true);
	int3_write_all(false);
	int3_list_clear();
	for (size_t i = 0; i < SITE_SLOTS; i++) {
		struct site *s = &sites[i];
		if (s->state == SITE_PATCHED)
			replace_bytes(s->patch_at, s->original);
		*s = (struct site){0};
	}
	count_rewritten = count_lean = count_refused = 0;
	rewriter_give();
}

void sud_rewrite_counts(uint64_t *rewritten, uint64_t *lean, uint64_t *refused)
{
	*rewritten = count_rewritten;
	*lean = count_lean;
	*refused = count_refused;
}

/* ---- surveying an object: which of its syscall sites would qualify ---- */

static void survey_function(uintptr_t begin, size_t size, struct sud_rewrite_survey *out, cs_insn *insn)
{
	struct sud_decoder d;
	sud_decoder_init(&d, capstone_plain, begin, size);
	while (sud_decode(&d, insn)) {
		if (insn->id != X86_INS_SYSCALL)
			continue;
		struct site_plan plan = {0};
		out->syscalls++;
		size_t mark = arena_used;
		if (plan_site(insn->address + SYSCALL_LEN, &plan)) {
			out->rewritable++;
			out->lean += plan.lean;
		} else if (!out->first_refused) {
			out->first_refused = insn->address;
		}
		arena_used = mark;
	}
}

struct survey_walk {
	struct sud_rewrite_survey *out;
	cs_insn *insn;
};

static void survey_each(uintptr_t begin, size_t size, void *arg)
{
	struct survey_walk *w = arg;
	survey_function(begin, size, w->out, w->insn);
}

bool sud_rewrite_survey(uintptr_t pc, struct sud_rewrite_survey *out)
{
	*out = (struct sud_rewrite_survey){0};
	rewriter_take(true);
	struct survey_walk w = {out, capstone_ready() ? cs_malloc(capstone_plain) : NULL};
	bool ok = w.insn && sud_code_each_function(pc, survey_each, &w);
	if (w.insn)
		cs_free(w.insn, 1);
	arena_used = arena_mark;
	rewriter_give();
	return ok;
}

/* ---- covering an object at once (the sweep, syscall_sweep.c): every
 * syscall instruction decided now, off any signal handler, and noted for
 * an int3 ---- */

struct cover_walk {
	struct sud_cover *out;
	cs_insn *insn;
};

static void cover_bad(struct sud_cover *out, uintptr_t at, const char *why)
{
	if (!out->bad)
		out->bad = at, out->why = why;
}

/* The syscall at syscall_at: its jump if it can have one, and a place in
 * the int3 list. */
static void cover_syscall(uintptr_t syscall_at, struct sud_cover *out)
{
	const volatile uint8_t *b = (const volatile uint8_t *)syscall_at;
	bool ours = b[0] == 0xcc && sud_rewrite_int3_at(syscall_at) >= 0;
	if (!ours && (b[0] != 0x0f || b[1] != 0x05))
		return cover_bad(out, syscall_at, "a syscall under another patch (a function probe's)");
	if (int3_count == INT3_MAX || !patch_record(syscall_at, 0, 1))
		return cover_bad(out, syscall_at, "more syscall sites than the int3 table holds");
	bool found;
	size_t slot = patch_index(syscall_at, &found);
	out->syscalls++;
	struct site *s = ours ? site_slot(syscall_at + SYSCALL_LEN) : decide_site(syscall_at + SYSCALL_LEN, arena_used);
	if (s && s->state == SITE_PATCHED)
		out->jumps++;
	else
		out->int3_only++;
	if (!patches[slot].listed)   /* an object swept again (code made executable anew) */
		int3_sites[int3_count++] = syscall_at, patches[slot].listed = true;
}

static void cover_function(uintptr_t begin, size_t size, void *arg)
{
	struct cover_walk *w = arg;
	struct sud_decoder d;
	sud_decoder_init(&d, capstone_plain, begin, size);
	while (d.size && !w->out->bad) {
		if (!sud_decode(&d, w->insn)) {
			size_t skip = sud_vex_length(d.code, d.size);
			if (!skip)
				return cover_bad(w->out, (uintptr_t)d.address, "an instruction capstone cannot decode");
			d.code += skip, d.size -= skip, d.address += skip;
			continue;
		}
		const uint8_t *b = w->insn->bytes;
		if (w->insn->id == X86_INS_SYSCALL)
			cover_syscall((uintptr_t)w->insn->address, w->out);
		else if (w->insn->id == X86_INS_SYSENTER)
			cover_bad(w->out, (uintptr_t)w->insn->address, "a sysenter");
		else if (w->insn->size == 2 && b[0] == 0xcd && b[1] == 0x80)
			cover_bad(w->out, (uintptr_t)w->insn->address, "an int $0x80");
	}
}

void sud_rewrite_cover_begin(void)
{
	rewriter_take(true);
	int3_write_all(false);
	int3_list_clear();
	rewriter_give();
}

/* Code about to be unmapped or replaced: its int3s leave the list, its
 * sites and patch records are forgotten (their slots free again), its
 * stubs given back to wait for their grace, so that new code mapped
 * there later is decoded and patched as what it is.  Its int3s are out
 * already (dispatch went back on). */
void sud_rewrite_forget(uintptr_t lo, uintptr_t hi)
{
	rewriter_take(true);
	size_t kept = 0;
	for (size_t i = 0; i < int3_count; i++)
		if (int3_sites[i] < lo || int3_sites[i] >= hi)
			int3_sites[kept++] = int3_sites[i];
	int3_count = kept;
	for (size_t i = 0; i < SITE_SLOTS;) {
		if (sites[i].state != SITE_EMPTY && sites[i].after > lo && sites[i].after <= hi + SYSCALL_LEN)
			site_delete(i);   /* slot i may hold a later site now: looked at again */
		else
			i++;
	}
	atomic_fetch_add(&patches_moving, 1);
	for (size_t i = 0; i < SITE_SLOTS;) {
		uintptr_t at = atomic_load(&patches[i].at);
		if (!at || at < lo || at >= hi) {
			i++;
			continue;
		}
		uintptr_t stub = atomic_load(&patches[i].stub);
		if (stub)
			stub_give_back(stub, stub_epoch);
		patch_delete(i);   /* slot i may hold a later record now: looked at again */
	}
	atomic_fetch_add(&patches_moving, 1);
	sud_code_forget(lo, hi);
	rewriter_give();
}

void sud_rewrite_use(struct sud_rewrite_use *out)
{
	rewriter_take(true);
	*out = (struct sud_rewrite_use){.stubs_made = count_stubs_made};
	for (size_t i = 0; i < SITE_SLOTS; i++) {
		uintptr_t at = atomic_load(&patches[i].at);
		bool found = false;
		out->sites += sites[i].state != SITE_EMPTY;
		out->patches += at != 0;
		out->misplaced += (sites[i].state != SITE_EMPTY && site_slot(sites[i].after) != &sites[i]) ||
				  (at && (patch_index(at, &found) != i || !found));
	}
	for (size_t i = 0; i < spare_count; i++)
		spare_stubs[i].epoch < released_epoch ? out->stubs_spare++ : out->stubs_waiting++;
	rewriter_give();
}

/* The object's system call instructions come from the pass that found
 * its branch targets (syscall_sites.c), made once per object. */
bool sud_rewrite_cover_object(uintptr_t pc, struct sud_cover *out)
{
	rewriter_take(true);
	struct sud_code_finds f = {0};
	bool whole = capstone_ready() && sud_code_system_calls(capstone_plain, pc, &f);
	batch_begin();
	for (size_t i = 0; whole && i < f.count && !out->bad; i++) {
		uintptr_t at = SUD_FIND_ADDRESS(f.at[i]);
		switch (SUD_FIND_KIND(f.at[i])) {
		case SUD_FIND_SYSCALL: cover_syscall(at, out); break;
		case SUD_FIND_SYSENTER: cover_bad(out, at, "a sysenter"); break;
		default: cover_bad(out, at, "an int $0x80"); break;
		}
		arena_used = arena_mark;
	}
	batch_end();
	if (!whole && f.undecodable)
		cover_bad(out, f.undecodable, "an instruction capstone cannot decode");
	arena_used = arena_mark;
	rewriter_give();
	return whole && !out->bad;
}

bool sud_rewrite_cover_range(uintptr_t begin, size_t size, struct sud_cover *out)
{
	rewriter_take(true);
	struct cover_walk w = {out, capstone_ready() ? cs_malloc(capstone_plain) : NULL};
	if (w.insn) {
		cover_function(begin, size, &w);
		cs_free(w.insn, 1);
	}
	arena_used = arena_mark;
	rewriter_give();
	return w.insn && !out->bad;
}

bool sud_rewrite_owns(uintptr_t lo, uintptr_t hi)
{
	for (int i = 0; i < POOL_MAX && pools[i].base; i++)
		if (lo >= pools[i].base && hi <= pools[i].base + POOL_SIZE)
			return true;
	return false;
}
