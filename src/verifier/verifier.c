/*
 * verifier.c - the static verifier: walks every path of a program over
 * abstract states, in the kernel's style, and proves each instruction
 * safe on each path.
 *
 * Owns: bpfvm_verify(), the walk's loop, each instruction's dispatch,
 * exits, and the messages.  The steps: structural validation (src/isa)
 * and the control-flow checks (src/analysis, and cfg.c: reachability),
 * with the maps the program names checked against its type first, as
 * the kernel's check_map_prog_compatibility() checks them; a backward
 * liveness pass (src/analysis/liveness.c), so that pruning
 * compares only registers still to be read; then depth-first abstract execution with a
 * stack of pending branches, where a state reaching a prune point already
 * covered by a stored state is not explored again (states.c).  Memory
 * accesses are checked by mem.c, arithmetic and jumps by alu.c, calls by
 * call.c.  Register types, stack bytes, acquired references and held
 * locks follow the kernel's model; scalars are tracked by scalar.c.
 * Messages use the kernel's words.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpfvm/object.h"
#include "analysis/analysis.h"
#include "base/opts.h"
#include "helpers/helper_desc.h"
#include "helpers/helpers.h"
#include "helpers/kfunc_desc.h"
#include "maps/map_internal.h"
#include "verifier/internal.h"

#define DEFAULT_COMPLEXITY 1000000u

/* ---- messages ------------------------------------------------------------ */

void vlog(struct verifier_env *env, const char *fmt, ...)
{
	if (!env->opts->log)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(env->linebuf, sizeof env->linebuf, fmt, ap);
	va_end(ap);
	env->opts->log(env->opts->log_user, env->linebuf);
}

/* Records why the program is rejected; the caller adds where. */
int reject(struct verifier_env *env, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(env->err->msg, sizeof env->err->msg, fmt, ap);
	va_end(ap);
	env->err->code = code;
	return code;
}

static void disasm(const struct verifier_env *env, uint32_t pc, char *buf, size_t size)
{
	const bpfvm_insn *in = &env->insns[pc];
	if (isa_is_lddw(in) && in->src == PSEUDO_MAP_FD) {
		snprintf(buf, size, "r%u = map[id:%d] ll", in->dst, in->imm);
		return;
	}
	if (isa_is_lddw(in) && in->src == PSEUDO_MAP_VALUE) {
		snprintf(buf, size, "r%u = map[id:%d][0]+%d ll", in->dst, in->imm, in[1].imm);
		return;
	}
	if (isa_is_func_ref(in)) {
		snprintf(buf, size, "r%u = subprog[%+d] ll", in->dst, in->imm);
		return;
	}
	if (isa_is_kfunc_call(in)) {
		/* the kernel's log names the kfunc */
		const struct kfunc_desc *k = kfunc_desc_by_id((uint32_t)in->imm);
		snprintf(buf, size, "call %s#%d", k ? k->call.proto.name : "kernel-function", in->imm);
		return;
	}
	if (isa_disasm_insn(env->insns, env->count, pc, BPFVM_SYNTAX_LLVM, ISA_RULES_FP_WRITES_WALKED, buf, size) < 0)
		snprintf(buf, size, "(%02x)", in->opcode);
}

void insn_text(const struct verifier_env *env, uint32_t pc, char *buf, size_t size)
{
	disasm(env, pc, buf, size);
}

/* ---- registers ----------------------------------------------------------- */

int reg_read_refused(struct verifier_env *env, struct vstate *st, int regno)
{
	if (regno < 0 || regno > 10)
		return reject(env, -EINVAL, "R%d is invalid", regno);
	if (cur_frame(st)->regs[regno].type == REG_NOT_INIT)
		return reject(env, -EACCES, "R%d !read_ok", regno);
	return 0;
}

int reg_write_refused(struct verifier_env *env)
{
	return reject(env, -EACCES, "frame pointer is read only");
}

/* ---- instructions -------------------------------------------------------- */

/* exit: the end of the program, or a return to the caller (or to the
 * helper that called back). */
static int check_exit(struct verifier_env *env, struct vstate *st, uint32_t *next, bool *path_end)
{
	struct vframe *f = cur_frame(st);
	int rc;
	/* a static subprogram may return without setting r0 (the kernel
	 * passes the caller whatever r0 holds, even nothing) */
	if ((st->curframe == 0 || f->callback_helper >= 0) && (rc = check_reg_read(env, st, 0)))
		return rc;
	if (st->curframe == 0) {
		if (st->ref_count)
			return reject(env, -EINVAL, "Unreleased reference id=%u alloc_insn=%u", st->refs[0].id,
			              st->refs[0].insn);
		if (st->lock_id)
			return reject(env, -EINVAL,
			              "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region");
		if (f->subprog) {
			/* a global function's own walk (global_func.c): it
			 * returns a number, whatever the program type */
			if (f->regs[0].type != REG_SCALAR)
				return reject(env, -EINVAL,
				              "At subprogram exit the register R0 is not a scalar value (%s)",
				              reg_type_name(&f->regs[0]));
		} else if ((rc = btf_check_return(env, st))) {
			return rc;
		}
		*path_end = true;
		return 0;
	}
	struct vreg r0 = f->regs[0];
	if (f->callback_helper >= 0) {
		if ((rc = mark_precise(env, st, 0)))
			return rc;
		if (r0.type != REG_SCALAR)
			return reject(env, -EINVAL, "At callback return the register R0 is not a known value (%s)",
			              reg_type_name(&r0));
		if (r0.v.umax > 1 || r0.v.smin < 0) {
			char tn[200] = "unknown scalar value";  /* the kernel's words for no bound at all */
			if (r0.v.smin != INT64_MIN || r0.v.smax != INT64_MAX)
				scalar_format(&r0.v, tn, sizeof tn);
			return reject(env, -EINVAL, "At callback return the register R0 has %s should have been in [0, 1]",
			              tn);
		}
		if (st->ref_count) {
			/* references taken inside the callback must not leak */
			for (uint32_t i = 0; i < st->ref_count; i++)
				if (st->refs[i].insn >= cfg_subprog_start(&env->cfg, f->subprog))
					return reject(env, -EINVAL, "Unreleased reference id=%u alloc_insn=%u", st->refs[i].id,
					              st->refs[i].insn);
		}
	} else if (r0.type == REG_STACK && r0.frameno == st->curframe) {
		return reject(env, -EINVAL, "cannot return stack pointer to the caller");
	}
	uint32_t callsite = f->callsite;
	int32_t cb = f->callback_helper;
	/* what the callee read and wrote reaches its callers' chains */
	if ((rc = stack_live_update(env, st)))
		return rc;
	free(st->frames[st->curframe]);
	st->frames[st->curframe] = NULL;
	st->curframe--;
	struct vframe *cf = cur_frame(st);
	/* a pointer into the callee's stack is gone with it */
	FOR_EACH_REG(st, r, {
		if (r->type == REG_STACK && r->frameno > st->curframe)
			mark_unknown(r);
	});
	if (cb >= 0) {
		/* back at the helper's call, as the kernel goes (its
		 * prepare_func_exit): the call queues the callback again
		 * (call.c), unless a state kept there covers this one */
		widen_callback_return(env, st, callsite);
		*next = callsite;
		return 0;
	}
	for (int i = 1; i <= 5; i++)
		mark_not_init(&cf->regs[i]);
	cf->regs[0] = r0;
	*next = callsite + 1;
	return 0;
}

/* Whether the path's history since its last checkpoint goes back to the
 * start of the current frame (a callback's: its entry is the helper's
 * call, in the frame below). */
static bool tail_call_unbacktracked(const struct verifier_env *env, const struct vstate *st)
{
	for (uint32_t i = env->hist.n; i-- > 0;)
		if (env->hist.e[i].frame < st->curframe)
			return true;
	return false;
}

/* A tail call in a subprogram, as the kernel 6.18 walks it (its
 * check_helper_call): the call that fails goes on at pc + 1 (queued); the
 * one taken returns the called program's r0, unknown, from the
 * subprogram to its caller (the kernel's tail-called program returns into
 * the caller's frame), with packet pointers gone.  bpfvm's engines end
 * the whole program there instead, a path this one covers. */
static int tail_call_exit(struct verifier_env *env, struct vstate *st, uint32_t pc, bool r0_unset, uint32_t *next,
                          bool *path_end)
{
	struct vframe *f = cur_frame(st);
	int rc = push_pending(env, st, pc + 1);
	if (rc)
		return rc;
	if (f->callback_helper >= 0 && r0_unset && tail_call_unbacktracked(env, st))
		/* the kernel marks r0 precise from before the call (unset:
		 * nothing since the callback's start set it), and its
		 * backtracking meets the callback's start with it: it gives
		 * up with this message (and EFAULT) */
		return reject(env, -EINVAL, "verifier bug: callback unexpected regs 1");
	invalidate_pkt(st);
	mark_unknown(&f->regs[0]);
	return check_exit(env, st, next, path_end);
}

static int check_ld_abs(struct verifier_env *env, struct vstate *st, const bpfvm_insn *in, const struct isa_op *op)
{
	struct vframe *f = cur_frame(st);
	int rc;
	if (env->prog_type != BPF_PROG_TYPE_SOCKET_FILTER && env->prog_type != BPF_PROG_TYPE_SCHED_CLS &&
	    env->prog_type != BPF_PROG_TYPE_SCHED_ACT && !env->raw)
		return reject(env, -EINVAL, "BPF_LD_[ABS|IND] instructions not allowed for this program type");
	if (st->ref_count)
		return reject(env, -EINVAL, "BPF_LD_[ABS|IND] cannot be mixed with socket references");
	if (st->lock_id)
		return reject(env, -EINVAL, "BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region");
	/* the kernel lets a subprogram's failed load return 0 from the
	 * subprogram; bpfvm's engines end the program, so the two differ */
	if (st->curframe || cur_frame(st)->subprog)
		return reject(env, -ENOTSUP, "unsupported: BPF_LD_[ABS|IND] in a subprogram");
	if ((rc = check_reg_read(env, st, 6)))
		return rc;
	if (!env->raw && f->regs[6].type != REG_CTX)
		return reject(env, -EINVAL, "at the time of BPF_LD_ABS|IND R6 != pointer to skb");
	if ((op->regs & ISA_REG_READS_SRC) && (rc = check_reg_read(env, st, in->src)))
		return rc;
	for (int i = 1; i <= 5; i++)
		mark_not_init(&f->regs[i]);
	mark_unknown(&f->regs[0]);
	scalar_unknown_size(&f->regs[0].v, isa_access_size(op));
	return 0;
}

/* lddw: a constant, a map (or its value), or a callback. */
static int check_lddw(struct verifier_env *env, struct vstate *st, uint32_t pc, const bpfvm_insn *in)
{
	int rc;
	if ((rc = check_reg_write(env, in->dst)))
		return rc;
	struct vreg *d = &cur_frame(st)->regs[in->dst];
	switch (in->src) {
	case 0:
		mark_known(d, (uint32_t)in->imm | (uint64_t)(uint32_t)in[1].imm << 32);
		return 0;
	case PSEUDO_MAP_FD:
	case PSEUDO_MAP_VALUE: {
		if ((uint32_t)in->imm >= env->opts->map_count || !env->opts->maps[in->imm])
			return reject(env, -EINVAL, "fd %d is not pointing to valid bpf_map", in->imm);
		struct bpfvm_map *m = env->opts->maps[in->imm];
		if (in->src == PSEUDO_MAP_FD) {
			mark_ptr(d, REG_MAP_PTR);
		} else {
			if (m->type != BPF_MAP_TYPE_ARRAY || m->max_entries != 1 || (uint32_t)in[1].imm >= m->value_size)
				return reject(env, -EINVAL, "invalid access to map value pointer, value_size=%u off=%d",
				              m->value_size, in[1].imm);
			mark_ptr(d, REG_MAP_VALUE);
			d->off = in[1].imm;
		}
		d->map = m;
		return 0;
	}
	case PSEUDO_FUNC: {
		int64_t t = (int64_t)pc + 1 + in->imm;
		if (t < 0 || (size_t)t >= env->count || !env->cfg.a->sub_start[t])
			return reject(env, -EINVAL, "invalid subprog target %" PRId64, t);
		mark_ptr(d, REG_FUNC);
		d->subprog = analysis_subprog_of(env->cfg.a, (size_t)t);
		return 0;
	}
	default:
		return reject(env, -EINVAL, "unsupported lddw src %u", in->src);
	}
}

/* The instruction at pc on the path in st: *next is where the path goes
 * on, *path_end when it ends there. */
static int check_insn(struct verifier_env *env, struct vstate *st, uint32_t pc, uint32_t *next, bool *path_end)
{
	const bpfvm_insn *in = &env->insns[pc];
	const struct isa_op *op = env->cfg.ops[pc];
	int rc;
	*next = pc + 1;
	switch (op->format) {
	case FMT_ALU_IMM:
	case FMT_ALU_REG:
	case FMT_NEG:
	case FMT_END:
		return check_alu(env, st, in, op);
	case FMT_LDDW:
		*next = pc + 2;
		return check_lddw(env, st, pc, in);
	case FMT_LDABS:
	case FMT_LDIND:
		return check_ld_abs(env, st, in, op);
	case FMT_LDX:
	case FMT_ST:
	case FMT_STX:
	case FMT_ATOMIC:
		return check_mem_insn(env, st, in, op);
	case FMT_JA:
	case FMT_JA32:
		*next = (uint32_t)isa_branch_target(op, in, pc);
		return 0;
	case FMT_JMP_IMM:
	case FMT_JMP_REG:
		return check_cond_jmp(env, st, pc, in, op, next);
	case FMT_CALL: {
		if (isa_is_kfunc_call(in))
			return check_kfunc(env, st, pc, in);
		bool r0_unset = cur_frame(st)->regs[0].type == REG_NOT_INIT;
		if ((rc = check_helper(env, st, pc, in)))
			return rc;
		/* a tail call that fails goes on with the next instruction */
		if (st->curframe && helper_is_tail_call(env->opts->helpers, (uint32_t)in->imm))
			return tail_call_exit(env, st, pc, r0_unset, next, path_end);
		return 0;
	}
	case FMT_CALL_LOCAL: {
		uint32_t target = (uint32_t)isa_branch_target(op, in, pc);
		uint32_t sub = analysis_subprog_of(env->cfg.a, target);
		if (is_global_func(env, sub))
			return check_global_call(env, st, sub);
		/* the kernel allows calling subprograms with a lock held */
		if ((rc = enter_frame(env, st, pc, target, -1)))
			return rc;
		stack_live_new_chain(env);
		*next = target;
		return 0;
	}
	case FMT_CALLX:
		return reject(env, -ENOTSUP, "unsupported: callx (indirect call)");
	case FMT_EXIT:
		return check_exit(env, st, next, path_end);
	case FMT_MAY_GOTO:
		return check_may_goto(env, st, pc, in, next);
	}
	return reject(env, -EINVAL, "unknown instruction");
}

/* ---- entry --------------------------------------------------------------- */

/* The innermost loop around pc: the head with a back-edge from at or
 * after pc, nearest before it; NULL outside loops. */
static const struct loop_stats *loop_around(const struct verifier_env *env, uint32_t pc)
{
	const struct loop_stats *best = NULL;
	for (uint32_t i = 0; i < env->loop_count; i++) {
		const struct loop_stats *l = &env->loops[i];
		if (l->head <= pc && l->back_from >= pc && (!best || l->head > best->head))
			best = l;
	}
	return best;
}

/* How many times the path reaching pc passed the head of the loop
 * around it: the iteration whose state failed. */
static uint64_t iteration_on_path(const struct verifier_env *env, uint32_t head)
{
	uint64_t n = 0;
	const struct hist *h = &env->hist;
	for (const struct explored *e = env->parent;; e = e->parent) {
		for (uint32_t i = 0; i < h->n; i++)
			n += h->e[i].pc == head;
		if (!e)
			break;
		h = &e->hist;
	}
	return n;
}

/* In a loop, which iteration failed, and the values the walk had to
 * keep precise on the way (-vv shows each mark_precise step). */
static void log_iteration(struct verifier_env *env, uint32_t pc)
{
	const struct loop_stats *l = loop_around(env, pc);
	if (!l)
		return;
	uint64_t it = iteration_on_path(env, l->head) + (pc == l->head);
	vlog(env, "in the loop at insn %u (back-edge from insn %u), iteration %" PRIu64 " of this path\n", l->head,
	     l->back_from, it ? it : 1);
	char regs[256] = "";
	size_t n = 0;
	for (const struct explored *e = env->parent; e && n < sizeof regs - 40; e = e->parent) {
		if ((!e->st && !e->skel) || e->pc != l->head)
			continue;
		/* a state kept has its summary; one out of the search, only its
		 * skeleton */
		const struct skel *sk = e->st ? e->summary : e->skel;
		const struct skel_frame *k = &sk->frames[sk->curframe];
		for (uint16_t m = k->scalars & k->precise & 0x3ff; m && n < sizeof regs - 40; m &= (uint16_t)(m - 1))
			n += (size_t)snprintf(regs + n, sizeof regs - n, "%sr%d", n ? "," : "", __builtin_ctz(m));
		for (uint64_t m = k->spilled & k->spilled_precise; m && n < sizeof regs - 40; m &= m - 1)
			n += (size_t)snprintf(regs + n, sizeof regs - n, "%sfp-%u", n ? "," : "",
			                      8 * ((uint32_t)__builtin_ctzll(m) + 1));
		break;
	}
	vlog(env, "precise at the loop head: %s\n", n ? regs : "(none)");
}

/* Completes env->err's message for a rejection at pc and logs it; the
 * instruction's line is logged unless the walk logged it just before
 * (insn_logged), as the kernel's log has it once. */
static void report(struct verifier_env *env, const struct vstate *st, uint32_t pc, bool insn_logged)
{
	bpfvm_error *err = env->err;
	char dis[128], where[200] = "", reason[sizeof err->msg];
	snprintf(reason, sizeof reason, "%s", err->msg);
	disasm(env, pc, dis, sizeof dis);
	const char *file = NULL, *text = NULL;
	uint32_t line = 0;
	if (env->opts->line_info && env->opts->line_info(env->opts->line_user, pc, &file, &line, &text) == 0 && file) {
		const char *base = strrchr(file, '/');
		snprintf(where, sizeof where, " (%s:%u)", base ? base + 1 : file, line);
	}
	err->insn = (int)pc;
	snprintf(err->msg, sizeof err->msg, "insn %u: %.50s%.60s: %.120s", pc, dis, where, reason);
	if (!env->opts->log)
		return;
	if (!insn_logged)
		vlog(env, "%u: (%02x) %s\n", pc, env->insns[pc].opcode, dis);
	vlog(env, "%s\n", reason);
	log_iteration(env, pc);
	if (file)
		vlog(env, "; %s%s%s:%u\n", text ? text : "", text ? " @ " : "", file, line);
	if (st) {
		char buf[4096];
		state_format(st, buf, sizeof buf);
		vlog(env, "state: %s\n", buf);
		if (st->path_total) {
			char p[1024];
			size_t n = 0;
			uint32_t first = st->path_total > PATH_LEN ? st->path_total - PATH_LEN : 0;
			n += (size_t)snprintf(p, sizeof p, "%s", first ? "... " : "");
			for (uint32_t i = first; i < st->path_total && n < sizeof p; i++) {
				uint32_t e = st->path[i % PATH_LEN];
				n += (size_t)snprintf(p + n, sizeof p - n, "%s%u %s", i > first ? ", " : "", e >> 1,
				                      e & 1 ? "taken" : "not taken");
			}
			vlog(env, "path: branches at %s\n", p);
		}
	}
}

static void free_env(struct verifier_env *env)
{
	free_search_states(env);
	scc_free(env);
	arena_free_all(&env->arena);
	free(env->linked_slots);
	free(env->walk_touch);
	free(env->walk_flags);
	free(env->loops);
	free(env->loop_of);
	liveness_free(&env->liveness);
	stack_live_free(env);
	free(env->gfuncs);
	free(env->fastcall);
	free(env->fastcall_pattern);
	cfg_free(&env->cfg);
}

/* The verifier's liveness rule (`helpers`: the helper table): the
 * opcode table's, except that a helper call reads only the arguments of
 * its prototype (all five without one); r10 is never tracked. */
static void verifier_insn_regs(const void *helpers, const bpfvm_insn *insns, size_t pc, const struct isa_op *op,
                               uint16_t *reads, uint16_t *writes)
{
	liveness_table_regs(op, &insns[pc], reads, writes);
	if (isa_is_kfunc_call(&insns[pc])) {
		*reads = (uint16_t)(((1u << kfunc_arg_count((uint32_t)insns[pc].imm)) - 1) << 1);
	} else if (op->branch == BRANCH_CALL_HELPER) {
		const struct helper_desc *d = helpers_desc(helpers, (uint32_t)insns[pc].imm);
		unsigned nargs = 5;
		if (d && d->has_proto)
			for (nargs = 0; nargs < 5 && d->proto.args[nargs]; nargs++)
				;
		*reads = (uint16_t)(((1u << nargs) - 1) << 1);
	}
	*reads &= (uint16_t)~LIVENESS_REG(10);
	*writes &= (uint16_t)~LIVENESS_REG(10);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int init_state(struct verifier_env *env, struct vstate *st)
{
	memset(st, 0, sizeof *st);
	st->frames[0] = calloc(1, sizeof *st->frames[0]);
	if (!st->frames[0])
		return reject(env, -ENOMEM, "out of memory");
	struct vframe *f = st->frames[0];
	f->callback_helper = -1;
	mark_ptr(&f->regs[10], REG_STACK);
	if (env->raw) {
		mark_ptr(&f->regs[1], REG_MEM);
		f->regs[1].mem_size = env->opts->mem_size;
		mark_known(&f->regs[2], env->opts->mem_size);
	} else {
		mark_ptr(&f->regs[1], REG_CTX);
	}
	return 0;
}

/* The verification environment for opts; helpers are the kernel's set
 * when opts names none (*own_helpers, to free; local, the options then). */
static int init_env(struct verifier_env *env, const bpfvm_insn *insns, size_t count, const bpfvm_verify_opts *opts,
                    bpfvm_verify_opts *local, bpfvm_helpers **own_helpers, bpfvm_error *err)
{
	env->insns = insns;
	env->count = count;
	env->opts = opts;
	env->err = err;
	env->log_level = opts->log ? opts->log_level : 0;
	env->prog_type = opts->prog_type;
	env->raw = opts->prog_type == BPFVM_PROG_TYPE_RAW || opts->prog_type == 0;
	env->limit = opts->complexity_limit ? opts->complexity_limit : DEFAULT_COMPLEXITY;
	env->strict_alignment = opts->strict_alignment;
	*local = *opts;
	if (!opts->helpers) {
		*own_helpers = bpfvm_helpers_new_kernel(err);
		if (!*own_helpers)
			return err->code ? err->code : -ENOMEM;
		local->helpers = *own_helpers;
		env->opts = local;
	}
	return 0;
}

/* The same checks as loading, on plain (the program with symbolic lddw
 * sources, maps and functions, seen as plain constants), in the kernel's
 * words where they differ.  The control flow is cfg_init()'s.  A call
 * the loader poisoned for a CO-RE relocation passes here as loading lets
 * it pass: the walk refuses it only where it is reachable. */
static int check_loadable(const struct verifier_env *env, const bpfvm_insn *plain)
{
	size_t count = env->count;
	bpfvm_error *err = env->err;
	int rc = cfg_kernel_structure_words(plain, count, err);
	for (size_t pc = 0; !rc && pc < count; pc++)
		if (isa_is_helper_call(&plain[pc]) && (uint32_t)plain[pc].imm != BPFVM_CORE_POISON_HELPER &&
		    !bpfvm_helpers_find(env->opts->helpers, (uint32_t)plain[pc].imm, NULL))
			rc = error_set(err, -ENOTSUP, (int)pc, "insn %zu: unsupported: helper #%d is not implemented by bpfvm",
			               pc, plain[pc].imm);
	if (!rc)
		rc = isa_check_encoding(plain, count, 0, ISA_RULES_FP_WRITES_WALKED, err);
	return rc;
}

/* The kernel's is_tracing_prog_type(): programs that may run wherever
 * their probe fires -- for bpfvm's live hooks, in a signal handler that
 * interrupted a thread perhaps holding the very lock they would take. */
static bool is_tracing_prog_type(uint32_t type)
{
	return type == BPF_PROG_TYPE_KPROBE || type == BPF_PROG_TYPE_TRACEPOINT || type == BPF_PROG_TYPE_PERF_EVENT ||
	       type == BPF_PROG_TYPE_RAW_TRACEPOINT || type == BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE;
}

/* The map types a sleepable program may use (the kernel's list, of the
 * types bpfvm makes): those whose programs' side does not need the
 * non-sleepable RCU section. */
static bool sleepable_map_type(uint32_t type)
{
	switch (type) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
	case BPF_MAP_TYPE_HASH_OF_MAPS:
	case BPF_MAP_TYPE_RINGBUF:
	case BPF_MAP_TYPE_QUEUE:
	case BPF_MAP_TYPE_STACK:
		return true;
	default:
		return false;
	}
}

/* The kernel's check_map_prog_compatibility() (6.18), for what bpfvm's
 * maps can hold: a bpf_spin_lock, a bpf_timer or a bpf_wq in the value
 * (tracing programs may run where the lock is held or a timer's callback
 * cannot be run), and a sleepable program's map types, its inner maps'
 * included.  (Task works, graph roots, struct_ops, arena and cgroup
 * storage maps and offloaded maps bpfvm does not make.) */
static int check_map_prog_compat(struct verifier_env *env, const struct bpfvm_map *m)
{
	bool tracing = is_tracing_prog_type(env->prog_type);
	if (m->spin_lock_off >= 0 && env->prog_type == BPF_PROG_TYPE_SOCKET_FILTER)
		return reject(env, -EINVAL, "socket filter progs cannot use bpf_spin_lock yet");
	if (m->spin_lock_off >= 0 && tracing)
		return reject(env, -EINVAL, "tracing progs cannot use bpf_spin_lock yet");
	if (m->timer_off >= 0 && tracing)
		return reject(env, -EINVAL, "tracing progs cannot use bpf_timer yet");
	if (m->wq_off >= 0 && tracing)
		return reject(env, -EINVAL, "tracing progs cannot use bpf_wq yet");
	if (env->opts->sleepable && (!sleepable_map_type(m->type) ||
	                             (m->inner_template && !sleepable_map_type(m->inner_template->type))))
		return reject(env, -EINVAL, "Sleepable programs can only use array, hash, ringbuf and local storage maps, "
		              "also as inner maps");
	return 0;
}

/* The kernel's can_be_sleepable() (check_attach_btf_id, after the control
 * flow checks): BPF_F_SLEEPABLE only for the types whose hooks may sleep.
 * A sleepable fentry, fexit, fmod_ret or lsm program is the kernel's only
 * where its target may sleep (a function on the error-injection list, a
 * sleepable LSM hook), which bpfvm cannot tell: refused as unsupported. */
static int check_sleepable(struct verifier_env *env)
{
	const bpfvm_verify_opts *o = env->opts;
	if (!o->sleepable || env->raw)
		return 0;
	uint32_t at = o->expected_attach_type;
	bool tracing_ok = env->prog_type == BPF_PROG_TYPE_TRACING &&
	                  (at == BPF_TRACE_FENTRY || at == BPF_TRACE_FEXIT || at == BPF_MODIFY_RETURN || at == BPF_TRACE_ITER);
	bool lsm_ok = env->prog_type == BPF_PROG_TYPE_LSM && at != BPF_LSM_CGROUP;
	if (!tracing_ok && !lsm_ok && env->prog_type != BPF_PROG_TYPE_KPROBE)
		return error_set(env->err, -EINVAL, -1,
		                 "Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable");
	if (lsm_ok || (tracing_ok && at != BPF_TRACE_ITER))
		return error_set(env->err, -ENOTSUP, -1,
		                 "unsupported: a sleepable %s program: bpfvm cannot tell whether its target %s may sleep "
		                 "(the kernel's error-injection list and sleepable LSM hooks)",
		                 lsm_ok ? "lsm" : "fentry/fexit/fmod_ret", o->attach_name ? o->attach_name : "(none)");
	return 0;
}

/* Every lddw of a map or its value names one of opts->maps, which suits
 * the program's type, checked for every instruction before the walk, as
 * the kernel's load does (resolve_pseudo_ldimm64: a refusal processed no
 * instruction).  An index past map_count is the literal file
 * descriptor (index - map_count) of an lddw that had no relocation, as
 * the loader leaves it. */
static int check_map_refs(struct verifier_env *env)
{
	const bpfvm_verify_opts *o = env->opts;
	for (size_t pc = 0; pc + 1 < env->count; pc++) {
		const bpfvm_insn *in = &env->insns[pc];
		if (!isa_is_lddw(in))
			continue;
		uint32_t idx = (uint32_t)in->imm;
		if ((in->src == PSEUDO_MAP_FD || in->src == PSEUDO_MAP_VALUE) && (idx >= o->map_count || !o->maps[idx]))
			return error_set(env->err, -EINVAL, (int)pc, "insn %zu: fd %d is not pointing to valid bpf_map", pc,
			                 idx >= o->map_count ? (int)(idx - o->map_count) : in->imm);
		if ((in->src == PSEUDO_MAP_FD || in->src == PSEUDO_MAP_VALUE) && check_map_prog_compat(env, o->maps[idx])) {
			report(env, NULL, (uint32_t)pc, false);
			return env->err->code;
		}
		pc++;
	}
	return 0;
}

/* A copy of insns whose map references (and, unless keep_callbacks,
 * callback references) are plain constants; NULL when out of memory. */
static bpfvm_insn *plain_copy(const bpfvm_insn *insns, size_t count, bool keep_callbacks)
{
	bpfvm_insn *plain = malloc(count * sizeof *plain);
	if (!plain)
		return NULL;
	memcpy(plain, insns, count * sizeof *plain);
	for (size_t pc = 0; pc + 1 < count; pc++)
		if (isa_is_lddw(&plain[pc])) {
			if (plain[pc].src == PSEUDO_MAP_FD || plain[pc].src == PSEUDO_MAP_VALUE ||
			    (plain[pc].src == PSEUDO_FUNC && !keep_callbacks))
				plain[pc].src = 0;
			pc++;
		}
	return plain;
}

/* The loop heads: targets of jumps backwards (the back-edge kept is the
 * last one to the head), for -v's statistics and rejection messages. */
static int find_loops(struct verifier_env *env)
{
	env->loop_of = calloc(env->count, sizeof *env->loop_of);
	if (!env->loop_of)
		return error_set(env->err, -ENOMEM, -1, "out of memory");
	for (uint32_t pc = 0; pc < env->count; pc++) {
		const struct isa_op *op = env->cfg.ops[pc];
		if (!op || (op->branch != BRANCH_COND && op->branch != BRANCH_ALWAYS))
			continue;
		int64_t t = isa_branch_target(op, &env->insns[pc], pc);
		if (t < 0 || t > pc)
			continue;
		uint32_t head = (uint32_t)t;
		if (!env->loop_of[head]) {
			struct loop_stats *n = realloc(env->loops, (env->loop_count + 1) * sizeof *n);
			if (!n)
				return error_set(env->err, -ENOMEM, -1, "out of memory");
			env->loops = n;
			memset(&n[env->loop_count], 0, sizeof *n);
			n[env->loop_count].head = head;
			env->loop_of[head] = ++env->loop_count;
		}
		env->loops[env->loop_of[head] - 1].back_from = pc;
	}
	return 0;
}

/* What step() asks of an instruction at each visit, found once (bits of
 * env->walk_flags). */
enum {
	WALK_PRUNE_POINT = 1,   /* the walk may keep a state here (cfg.prune) */
	WALK_EXIT = 2,          /* an exit: its history entry may be a callback's return */
	WALK_JMP = 4,           /* of the jump classes: counted for when to keep a state */
	/* may write stack slots whole (a store, an atomic, a call): the
	 * others' writes to commit to stack liveness are none, every time,
	 * and committing none to an instruction that never wrote changes
	 * nothing (stack_live.c), so they skip the bookkeeping */
	WALK_STACK_WRITES = 8,
	/* registers alone (arithmetic, lddw, jumps): no stack liveness
	 * either, not even the chain looked up (what reads the stack looks
	 * it up itself, and these change no frame first) */
	WALK_REGS_ONLY = 16,
};

static int walk_flags_compute(struct verifier_env *env)
{
	env->walk_flags = calloc(env->count, sizeof *env->walk_flags);
	if (!env->walk_flags)
		return -1;
	for (uint32_t pc = 0; pc < env->count; pc++) {
		const struct isa_op *op = env->cfg.ops[pc];
		uint8_t fl = 0;
		if (env->cfg.prune[pc] & CFG_PRUNE_POINT)
			fl |= WALK_PRUNE_POINT;
		if (ISA_CLASS(env->insns[pc].opcode) == CLS_JMP || ISA_CLASS(env->insns[pc].opcode) == CLS_JMP32)
			fl |= WALK_JMP;
		if (op) {
			switch (op->format) {
			case FMT_EXIT:
				fl |= WALK_EXIT;
				break;
			case FMT_ST:
			case FMT_STX:
			case FMT_ATOMIC:
			case FMT_CALL:
			case FMT_CALL_LOCAL:
			case FMT_CALLX:
				fl |= WALK_STACK_WRITES;
				break;
			case FMT_ALU_IMM:
			case FMT_ALU_REG:
			case FMT_NEG:
			case FMT_END:
			case FMT_LDDW:
			case FMT_JA:
			case FMT_JA32:
			case FMT_JMP_IMM:
			case FMT_JMP_REG:
				fl |= WALK_REGS_ONLY;
				break;
			default:
				break;
			}
		}
		env->walk_flags[pc] = fl;
	}
	return 0;
}

/* Everything before the walk: the program type, the loader's checks,
 * then the structure (src/analysis: subprograms with callbacks among
 * them; reachability), liveness and prune points. */
static int prepare(struct verifier_env *env)
{
	const bpfvm_insn *insns = env->insns;
	size_t count = env->count;
	bpfvm_error *err = env->err;
	int rc;
	if (!env->raw && !ctx_known_type(env->prog_type))
		return error_set(err, -ENOTSUP, -1, "unsupported: program type %u is not known to bpfvm's verifier",
		                 env->prog_type);
	if ((rc = btf_attach_check(env)))
		return rc;
	bpfvm_insn *plain = plain_copy(insns, count, false), *linked = plain_copy(insns, count, true);
	rc = plain && linked ? check_loadable(env, plain) : error_set(err, -ENOMEM, -1, "out of memory");
	if (!rc)
		rc = check_map_refs(env);
	if (!rc && (rc = cfg_check_callback_targets(linked, count, err)))
		report(env, NULL, (uint32_t)err->insn, false);
	if (!rc)
		rc = cfg_init(&env->cfg, insns, linked, count, err);
	free(plain);
	free(linked);
	if (!rc)
		rc = check_sleepable(env);
	if (rc)
		return rc;
	env->explored = calloc(count, sizeof *env->explored);
	env->bucket_states = calloc(count, sizeof *env->bucket_states);
	env->bucket_magic = UINT64_MAX / (uint32_t)count + 1;
	env->to_clean = calloc(count, sizeof *env->to_clean);
	if (!env->explored || !env->bucket_states || !env->to_clean)
		return error_set(err, -ENOMEM, -1, "out of memory");
	if ((rc = cfg_check_structure(&env->cfg, err))) {
		if (err->insn >= 0)
			report(env, NULL, (uint32_t)err->insn, false);
		return rc;
	}
	if ((rc = liveness_compute(&env->liveness, env->cfg.a, insns, verifier_insn_regs, env->opts->helpers, err)))
		return rc;
	if (stack_live_init(env))
		return error_set(err, -ENOMEM, -1, "out of memory");
	if ((rc = global_funcs_init(env)))
		return rc;
	if (fastcall_init(env))
		return error_set(err, -ENOMEM, -1, "out of memory");
	cfg_mark_prune_points(&env->cfg, is_loop_head_insn, env->opts->helpers);
	if ((rc = scc_compute(env)))
		return rc;
	/* after the loop heads, whose history entries are all kept */
	if ((rc = find_loops(env)))
		return rc;
	if (walk_touch_compute(env) || walk_flags_compute(env))
		return error_set(err, -ENOMEM, -1, "out of memory");
	return 0;
}

/* Takes the next pending branch into *st: 1, or 0 when none is left,
 * <0 when out of memory. */
static int pop_pending(struct verifier_env *env, struct vstate **st, uint32_t *pc)
{
	if (!env->sp)
		return 0;
	struct pending p = env->stack[--env->sp];
	hist_free(env, &env->hist);
	env->hist = p.hist;
	/* queued compact: copied into the walk's own frames, which have
	 * room for the stack to grow (and need no allocating again) */
	int rc = state_copy(*st, p.st);
	state_release(env, p.st);
	*pc = p.pc;
	env->parent = p.parent;
	stack_live_new_chain(env);
	if (rc)
		return error_set(env->err, -ENOMEM, -1, "out of memory");
	if (env->log_level >= 1)
		vlog(env, "from pending to %u\n", *pc);
	return 1;
}

static void log_insn(struct verifier_env *env, const struct vstate *st, uint32_t pc)
{
	char dis[128];
	disasm(env, pc, dis, sizeof dis);
	if (env->log_level >= 2) {
		char buf[4096];
		state_format(st, buf, sizeof buf);
		vlog(env, "%u: (%02x) %s ; %s\n", pc, env->insns[pc].opcode, dis, buf);
	} else {
		vlog(env, "%u: (%02x) %s\n", pc, env->insns[pc].opcode, dis);
	}
}

/* One instruction of the path in st: 0 to go on at *next, 1 when the
 * path ends here (pruned or exited), <0 when it is rejected (reported). */
static int step(struct verifier_env *env, struct vstate *st, uint32_t pc, uint32_t *next)
{
	int rc;
	if (++env->processed > env->limit) {
		rc = reject(env, -E2BIG, "BPF program is too large. Processed %" PRIu64 " insn", env->processed);
		report(env, st, pc, false);
		return rc;
	}
	if (env->opts->walked)
		env->opts->walked[pc] = 1;
	/* the instruction's history entry, completed while it is checked */
	env->cur = (struct hist_entry){ .pc = pc, .frame = (uint8_t)st->curframe };
	uint8_t flags = env->walk_flags[pc];
	if ((flags & WALK_EXIT) && cur_frame(st)->callback_helper >= 0)
		env->cur.flags = HIST_CALLBACK;
	if (flags & WALK_PRUNE_POINT) {
		rc = visit(env, pc, st);
		if (rc < 0) {
			report(env, st, pc, false);
			return rc;
		}
		if (rc == 1) {
			if (env->log_level >= 1)
				vlog(env, "%u: safe\n", pc);
			path_done(env);
			return 1;
		}
	}
	if (env->log_level >= 1)
		log_insn(env, st, pc);
	bool path_end = false;
	if (flags & WALK_JMP)
		env->jmps++;
	bool writes = flags & WALK_STACK_WRITES;
	rc = writes ? stack_live_insn_start(env, st, pc) : (flags & WALK_REGS_ONLY) ? 0 : stack_live_chain(env, st);
	if (!rc)
		rc = check_insn(env, st, pc, next, &path_end);
	if (!rc && writes)
		rc = stack_live_insn_end(env);
	if (rc) {
		report(env, st, pc, env->log_level >= 1);
		return rc;
	}
	if (path_end) {
		path_done(env);
		return 1;
	}
	if ((rc = hist_push(env))) {
		report(env, st, pc, env->log_level >= 1);
		return rc;
	}
	return 0;
}

/* Walks every path from pc in st (taken over), depth first. */
static int walk_from(struct verifier_env *env, struct vstate *st, uint32_t pc)
{
	int rc = 0;
	while (!rc) {
		uint32_t next = pc + 1;
		rc = step(env, st, pc, &next);
		if (rc == 0) {
			pc = next;
		} else if (rc == 1) {
			/* what the path read and wrote reaches the flow before
			 * the states it passed are compared again */
			if ((rc = stack_live_update(env, st)))
				break;
			rc = pop_pending(env, &st, &pc);
			if (rc <= 0)
				break;
			rc = 0;
		}
	}
	state_free(st);
	return rc;
}

/* Walks every path from the first instruction, then the global
 * functions those paths called, each on its own (the kernel's
 * do_check_main and do_check_subprogs: by index, again until none is
 * left).  Each walk starts a new path: no history, no checkpoint. */
static int walk(struct verifier_env *env)
{
	struct vstate *st = calloc(1, sizeof *st);
	if (!st)
		return error_set(env->err, -ENOMEM, -1, "out of memory");
	int rc = init_state(env, st);
	if (rc) {
		state_free(st);
		return rc;
	}
	rc = walk_from(env, st, 0);
	for (bool again = true; !rc && again;) {
		again = false;
		for (uint32_t s = 1; !rc && s < env->cfg.a->subprog_count; s++) {
			if (!global_needs_walk(env, s))
				continue;
			hist_free(env, &env->hist);
			env->parent = NULL;
			stack_live_new_chain(env);
			if (!(st = calloc(1, sizeof *st)))
				return error_set(env->err, -ENOMEM, -1, "out of memory");
			if ((rc = global_entry_state(env, st, s))) {
				state_free(st);
				break;
			}
			if (!(rc = walk_from(env, st, cfg_subprog_start(&env->cfg, s)))) {
				global_walked(env, s);
				again = true;
			}
		}
	}
	return rc;
}

static void log_summary(struct verifier_env *env)
{
	vlog(env, "processed %" PRIu64 " insns (limit %" PRIu64 ") max_states_per_insn %u total_states %u "
	     "peak_states %u mark_read 0\n", env->processed, env->limit, env->max_states_per_insn, env->total_states,
	     env->peak_states);
	for (uint32_t i = 0; i < env->loop_count; i++) {
		const struct loop_stats *l = &env->loops[i];
		vlog(env, "loop at insn %u (back-edge from insn %u): iterations walked %" PRIu64 ", states kept %u, "
		     "pruned %u\n", l->head, l->back_from, l->visits, l->kept, l->pruned);
	}
}

int bpfvm_verify(const bpfvm_insn *insns, size_t count, const bpfvm_verify_opts *opts, bpfvm_verify_stats *stats,
                 bpfvm_error *err)
{
	bpfvm_error scratch;
	if (!err)
		err = &scratch;
	memset(err, 0, sizeof *err);
	err->insn = -1;
	bpfvm_verify_opts known;
	int opts_rc = opts_known(bpfvm_verify_opts, opts, &known, err);
	if (opts_rc)
		return opts_rc;
	opts = &known;
	if (stats)
		memset(stats, 0, sizeof *stats);
	if (!insns || !count)
		return error_set(err, -EINVAL, -1, "empty program");
	uint64_t t0 = now_ns();
	if (opts->walked)
		memset(opts->walked, 0, count);

	struct verifier_env env = { 0 };
	bpfvm_verify_opts local;
	bpfvm_helpers *own_helpers = NULL;
	int rc = init_env(&env, insns, count, opts, &local, &own_helpers, err);
	if (rc)
		return rc;
	rc = prepare(&env);
	if (!rc)
		rc = walk(&env);
	if (!rc) {
		fastcall_depths(&env);
		rc = cfg_check_stack_depth(&env.cfg, env.subprog_depth, err);
	}
	if (env.log_level >= 1 && (!rc || env.processed))
		log_summary(&env);
	if (stats) {
		stats->processed_insns = env.processed;
		stats->total_states = env.total_states;
		stats->peak_states = env.peak_states;
		stats->max_states_per_insn = env.max_states_per_insn;
		stats->nanoseconds = now_ns() - t0;
	}
	free_env(&env);
	bpfvm_helpers_free(own_helpers);
	if (rc && !err->code)
		err->code = rc;
	return rc;
}
