/*
 * interp_body.h - the body of the threaded interpreter, included twice by
 * interp.c: once with INTERP_CHECKED 1 (every access checked, a budget on
 * backward jumps) and once with 0 (for verified programs).
 *
 * Owns: the semantics of every operation of isa_ops.h, as RFC 9669 states
 * them: 32-bit results zero-extended, shift counts masked, division by
 * zero giving 0, modulo by zero leaving the dividend, INT_MIN / -1 giving
 * INT_MIN and INT_MIN % -1 giving 0, local calls with a 512-byte frame
 * each and r6..r9 preserved.  A callback runs as a run of its own that
 * starts at the callback's first instruction and frame and returns at its
 * exit; the budget on back edges lives in the run while helpers (and so
 * callbacks) run, so every level spends from the one budget.
 *
 * Dispatch is direct threading: each pre-decoded slot holds the address of
 * its handler (a label here), and every handler ends by jumping straight
 * to the next slot's handler.  The label table is built from the same
 * ISA_OPS list as the decoder, so a missing handler is a build error.
 */

int INTERP_FN(const bpfvm_program *prog, struct bpfvm_run *run, size_t entry, const uint64_t args[5],
              uint64_t frame, uint64_t *r0_out, bpfvm_error *err, const void *const **labels_out)
{
#define LABEL_ADDR(id, ...) [ISA_##id] = &&op_##id,
	static const void *const labels[INTERP_HANDLER_COUNT] = {
		ISA_OPS(LABEL_ADDR)
		[FUSED_LEA_REG] = &&fused_lea_reg, [FUSED_LEA_IMM] = &&fused_lea_imm,
		[FUSED_LDX_REG_B] = &&fused_ldx_reg_b, [FUSED_LDX_REG_H] = &&fused_ldx_reg_h,
		[FUSED_LDX_REG_W] = &&fused_ldx_reg_w, [FUSED_LDX_REG_DW] = &&fused_ldx_reg_dw,
		[FUSED_LDX_REG_SB] = &&fused_ldx_reg_sb, [FUSED_LDX_REG_SH] = &&fused_ldx_reg_sh,
		[FUSED_LDX_REG_SW] = &&fused_ldx_reg_sw,
		[FUSED_LDX_IMM_B] = &&fused_ldx_imm_b, [FUSED_LDX_IMM_H] = &&fused_ldx_imm_h,
		[FUSED_LDX_IMM_W] = &&fused_ldx_imm_w, [FUSED_LDX_IMM_DW] = &&fused_ldx_imm_dw,
		[FUSED_LDX_IMM_SB] = &&fused_ldx_imm_sb, [FUSED_LDX_IMM_SH] = &&fused_ldx_imm_sh,
		[FUSED_LDX_IMM_SW] = &&fused_ldx_imm_sw,
	};
#undef LABEL_ADDR
	if (!prog) {
		*labels_out = labels;
		return 0;
	}

	const struct interp_code *const prepared = run->engine_state;
	const struct interp_slot *const code = prepared->slots;
	const struct interp_slot *ip = code + entry;
	const bpfvm_run_opts *opts = run->opts;
	uint64_t r[11];
	struct { const struct interp_slot *ret; uint64_t saved[4]; } frames[BPFVM_MAX_CALL_DEPTH];
	unsigned depth = 0;
	/* frames the callers of a callback hold */
	unsigned depth_limit = BPFVM_MAX_CALL_DEPTH -
		(unsigned)(((uint64_t)(uintptr_t)(run->stack + RUN_STACK_BYTES) - frame) / BPFVM_STACK_SIZE);
#if INTERP_CHECKED
	uint64_t budget = run->jit_budget;
	uint64_t fault_addr = 0;
	unsigned fault_size = 0;
	bool fault_write = false;
#endif
	r[0] = 0;
	for (int i = 0; i < 5; i++)
		r[i + 1] = args[i];
	r[6] = r[7] = r[8] = r[9] = 0;
	r[10] = frame;

#define NEXT() goto *(++ip)->handler
#define DST r[ip->dst]
#define SRC r[ip->src]
#define IMM ((int64_t)ip->imm)        /* sign-extended to 64 bits */
#define UIMM32 ((uint32_t)ip->imm)
#define ADDR(reg) ((reg) + (uint64_t)(int64_t)ip->off)

#if INTERP_CHECKED
#define CHECK_ACCESS(addr, size, write)                                  \
	do {                                                             \
		if (__builtin_expect(!run_access_ok(run, (addr), (size), (write)), 0)) { \
			fault_addr = (addr); fault_size = (size); fault_write = (write); \
			goto fault_access;                               \
		}                                                        \
	} while (0)
#define CHECK_ATOMIC(addr, size)                                         \
	do {                                                             \
		CHECK_ACCESS(addr, size, true);                          \
		if ((addr) & ((size) - 1)) {                             \
			fault_addr = (addr); fault_size = (size); fault_write = true; \
			goto fault_misaligned;                           \
		}                                                        \
	} while (0)
#define BACK_EDGE()                                                      \
	do {                                                             \
		if (__builtin_expect(--budget == 0, 0))                  \
			goto fault_budget;                               \
	} while (0)
#else
#define CHECK_ACCESS(addr, size, write) do { } while (0)
#define CHECK_ATOMIC(addr, size) do { } while (0)
#define BACK_EDGE() do { } while (0)
#endif

	/* Loads and stores go through memcpy: unaligned and aliasing-safe,
	 * and compiled to single moves. */
#define LOAD(type, addr) ({ type v_; __builtin_memcpy(&v_, (const void *)(uintptr_t)(addr), sizeof v_); v_; })
#define STORE(type, addr, val) do { type v_ = (type)(val); __builtin_memcpy((void *)(uintptr_t)(addr), &v_, sizeof v_); } while (0)

#define ALU64(name, expr_imm, expr_reg)                                  \
	op_##name##_IMM: { uint64_t a = DST, b = (uint64_t)IMM; (void)a; (void)b; DST = (expr_imm); NEXT(); } \
	op_##name##_REG: { uint64_t a = DST, b = SRC; (void)a; (void)b; DST = (expr_reg); NEXT(); }
#define ALU32(name, expr)                                                \
	op_##name##_IMM: { uint32_t a = (uint32_t)DST, b = UIMM32; (void)a; (void)b; DST = (uint32_t)(expr); NEXT(); } \
	op_##name##_REG: { uint32_t a = (uint32_t)DST, b = (uint32_t)SRC; (void)a; (void)b; DST = (uint32_t)(expr); NEXT(); }

	goto *ip->handler;

	ALU64(ADD, a + b, a + b)
	ALU64(SUB, a - b, a - b)
	ALU64(MUL, a * b, a * b)
	ALU64(DIV, b ? a / b : 0, b ? a / b : 0)
	ALU64(SDIV, sdiv64(a, b), sdiv64(a, b))
	ALU64(OR, a | b, a | b)
	ALU64(AND, a & b, a & b)
	ALU64(LSH, a << (b & 63), a << (b & 63))
	ALU64(RSH, a >> (b & 63), a >> (b & 63))
	ALU64(MOD, b ? a % b : a, b ? a % b : a)
	ALU64(SMOD, smod64(a, b), smod64(a, b))
	ALU64(XOR, a ^ b, a ^ b)
	ALU64(MOV, b, b)
	ALU64(ARSH, (uint64_t)((int64_t)a >> (b & 63)), (uint64_t)((int64_t)a >> (b & 63)))
	op_NEG: DST = -DST; NEXT();

	ALU32(ADD32, a + b)
	ALU32(SUB32, a - b)
	ALU32(MUL32, a * b)
	ALU32(DIV32, b ? a / b : 0)
	ALU32(SDIV32, sdiv32(a, b))
	ALU32(OR32, a | b)
	ALU32(AND32, a & b)
	ALU32(LSH32, a << (b & 31))
	ALU32(RSH32, a >> (b & 31))
	ALU32(MOD32, b ? a % b : a)
	ALU32(SMOD32, smod32(a, b))
	ALU32(XOR32, a ^ b)
	ALU32(MOV32, b)
	ALU32(ARSH32, (uint32_t)((int32_t)a >> (b & 31)))
	op_NEG32: DST = (uint32_t)-(uint32_t)DST; NEXT();

	op_MOVSX8: DST = (uint64_t)(int64_t)(int8_t)SRC; NEXT();
	op_MOVSX16: DST = (uint64_t)(int64_t)(int16_t)SRC; NEXT();
	op_MOVSX32: DST = (uint64_t)(int64_t)(int32_t)SRC; NEXT();
	op_MOVSX8_32: DST = (uint32_t)(int32_t)(int8_t)SRC; NEXT();
	op_MOVSX16_32: DST = (uint32_t)(int32_t)(int16_t)SRC; NEXT();

	/* The host is little-endian: le* truncate, be* and bswap* swap. */
	op_LE16: DST = (uint16_t)DST; NEXT();
	op_LE32: DST = (uint32_t)DST; NEXT();
	op_LE64: NEXT();
	op_BE16: op_BSWAP16: DST = __builtin_bswap16((uint16_t)DST); NEXT();
	op_BE32: op_BSWAP32: DST = __builtin_bswap32((uint32_t)DST); NEXT();
	op_BE64: op_BSWAP64: DST = __builtin_bswap64(DST); NEXT();

	op_LDDW: DST = ip[1].imm64; ip++; NEXT();

	/* Superinstructions (enum interp_fused): the slots they cover stay
	 * as they were; a fault is reported at the load, as unfused. */
	fused_lea_reg: DST = SRC + r[ip[1].src]; ip++; NEXT();
	fused_lea_imm: DST = SRC + (uint64_t)(int64_t)ip[1].imm; ip++; NEXT();
#define FUSED_LDX(label, type, ext, index_expr)                                  \
	label: {                                                                 \
		const struct interp_slot *m_ = ip;                               \
		ip += 2;                                                         \
		uint64_t addr_ = r[m_->src] + (index_expr) + (uint64_t)(int64_t)ip->off; \
		CHECK_ACCESS(addr_, sizeof(type), false);                        \
		r[m_->dst] = (uint64_t)(ext)LOAD(type, addr_);                   \
		NEXT();                                                          \
	}
	FUSED_LDX(fused_ldx_reg_b, uint8_t, uint64_t, r[m_[1].src])
	FUSED_LDX(fused_ldx_reg_h, uint16_t, uint64_t, r[m_[1].src])
	FUSED_LDX(fused_ldx_reg_w, uint32_t, uint64_t, r[m_[1].src])
	FUSED_LDX(fused_ldx_reg_dw, uint64_t, uint64_t, r[m_[1].src])
	FUSED_LDX(fused_ldx_reg_sb, int8_t, int64_t, r[m_[1].src])
	FUSED_LDX(fused_ldx_reg_sh, int16_t, int64_t, r[m_[1].src])
	FUSED_LDX(fused_ldx_reg_sw, int32_t, int64_t, r[m_[1].src])
	FUSED_LDX(fused_ldx_imm_b, uint8_t, uint64_t, (uint64_t)(int64_t)m_[1].imm)
	FUSED_LDX(fused_ldx_imm_h, uint16_t, uint64_t, (uint64_t)(int64_t)m_[1].imm)
	FUSED_LDX(fused_ldx_imm_w, uint32_t, uint64_t, (uint64_t)(int64_t)m_[1].imm)
	FUSED_LDX(fused_ldx_imm_dw, uint64_t, uint64_t, (uint64_t)(int64_t)m_[1].imm)
	FUSED_LDX(fused_ldx_imm_sb, int8_t, int64_t, (uint64_t)(int64_t)m_[1].imm)
	FUSED_LDX(fused_ldx_imm_sh, int16_t, int64_t, (uint64_t)(int64_t)m_[1].imm)
	FUSED_LDX(fused_ldx_imm_sw, int32_t, int64_t, (uint64_t)(int64_t)m_[1].imm)
#undef FUSED_LDX

	/* Legacy packet loads: big-endian, bounds-checked in every mode, and
	 * out of bounds they end the program with r0 = 0 like the kernel (the
	 * whole run, also from inside a callback: it stops). */
#define PACKET_LOAD(name, type, swap, offset_expr)                               \
	op_##name: {                                                             \
		int64_t off_ = (offset_expr);                                    \
		if (off_ < 0 || (uint64_t)off_ + sizeof(type) > opts->packet_len || !opts->packet) { \
			bpfvm_run_stop(run, 0);                                  \
			*r0_out = 0;                                             \
			return 0;                                                \
		}                                                                \
		r[0] = swap(LOAD(type, (uintptr_t)opts->packet + (uint64_t)off_)); \
		NEXT();                                                          \
	}
	PACKET_LOAD(LDABSW, uint32_t, __builtin_bswap32, (int64_t)ip->imm)
	PACKET_LOAD(LDABSH, uint16_t, __builtin_bswap16, (int64_t)ip->imm)
	PACKET_LOAD(LDABSB, uint8_t, , (int64_t)ip->imm)
	PACKET_LOAD(LDINDW, uint32_t, __builtin_bswap32, (int64_t)(int32_t)((uint32_t)SRC + (uint32_t)ip->imm))
	PACKET_LOAD(LDINDH, uint16_t, __builtin_bswap16, (int64_t)(int32_t)((uint32_t)SRC + (uint32_t)ip->imm))
	PACKET_LOAD(LDINDB, uint8_t, , (int64_t)(int32_t)((uint32_t)SRC + (uint32_t)ip->imm))
#undef PACKET_LOAD

#define LDX(name, type, ext)                                                     \
	op_##name: { uint64_t addr_ = ADDR(SRC); CHECK_ACCESS(addr_, sizeof(type), false); \
		DST = (uint64_t)(ext)LOAD(type, addr_); NEXT(); }
	LDX(LDXW, uint32_t, uint64_t)
	LDX(LDXH, uint16_t, uint64_t)
	LDX(LDXB, uint8_t, uint64_t)
	LDX(LDXDW, uint64_t, uint64_t)
	LDX(LDXSW, int32_t, int64_t)
	LDX(LDXSH, int16_t, int64_t)
	LDX(LDXSB, int8_t, int64_t)
#undef LDX

#define ST(name, type, value)                                                    \
	op_##name: { uint64_t addr_ = ADDR(DST); CHECK_ACCESS(addr_, sizeof(type), true); \
		STORE(type, addr_, value); NEXT(); }
	ST(STW, uint32_t, ip->imm)
	ST(STH, uint16_t, ip->imm)
	ST(STB, uint8_t, ip->imm)
	ST(STDW, uint64_t, IMM)
	ST(STXW, uint32_t, SRC)
	ST(STXH, uint16_t, SRC)
	ST(STXB, uint8_t, SRC)
	ST(STXDW, uint64_t, SRC)
#undef ST

	/* Atomics are truly atomic: maps are shared between threads. */
#define ATOMIC(name, type, builtin, fetch)                                       \
	op_##name: { uint64_t addr_ = ADDR(DST); CHECK_ATOMIC(addr_, sizeof(type)); \
		type old_ = builtin((type *)(uintptr_t)addr_, (type)SRC, __ATOMIC_SEQ_CST); \
		if (fetch) SRC = (uint64_t)old_; else (void)old_; NEXT(); }
	ATOMIC(ATOMIC_ADD, uint64_t, __atomic_fetch_add, 0)
	ATOMIC(ATOMIC_FETCH_ADD, uint64_t, __atomic_fetch_add, 1)
	ATOMIC(ATOMIC_OR, uint64_t, __atomic_fetch_or, 0)
	ATOMIC(ATOMIC_FETCH_OR, uint64_t, __atomic_fetch_or, 1)
	ATOMIC(ATOMIC_AND, uint64_t, __atomic_fetch_and, 0)
	ATOMIC(ATOMIC_FETCH_AND, uint64_t, __atomic_fetch_and, 1)
	ATOMIC(ATOMIC_XOR, uint64_t, __atomic_fetch_xor, 0)
	ATOMIC(ATOMIC_FETCH_XOR, uint64_t, __atomic_fetch_xor, 1)
	ATOMIC(ATOMIC_XCHG, uint64_t, __atomic_exchange_n, 1)
	ATOMIC(ATOMIC32_ADD, uint32_t, __atomic_fetch_add, 0)
	ATOMIC(ATOMIC32_FETCH_ADD, uint32_t, __atomic_fetch_add, 1)
	ATOMIC(ATOMIC32_OR, uint32_t, __atomic_fetch_or, 0)
	ATOMIC(ATOMIC32_FETCH_OR, uint32_t, __atomic_fetch_or, 1)
	ATOMIC(ATOMIC32_AND, uint32_t, __atomic_fetch_and, 0)
	ATOMIC(ATOMIC32_FETCH_AND, uint32_t, __atomic_fetch_and, 1)
	ATOMIC(ATOMIC32_XOR, uint32_t, __atomic_fetch_xor, 0)
	ATOMIC(ATOMIC32_FETCH_XOR, uint32_t, __atomic_fetch_xor, 1)
	ATOMIC(ATOMIC32_XCHG, uint32_t, __atomic_exchange_n, 1)
#undef ATOMIC
	op_ATOMIC_CMPXCHG: {
		uint64_t addr_ = ADDR(DST);
		CHECK_ATOMIC(addr_, 8);
		uint64_t expected = r[0];
		__atomic_compare_exchange_n((uint64_t *)(uintptr_t)addr_, &expected, SRC, false,
		                            __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		r[0] = expected;   /* the old value, whether or not it matched */
		NEXT();
	}
	op_ATOMIC32_CMPXCHG: {
		uint64_t addr_ = ADDR(DST);
		CHECK_ATOMIC(addr_, 4);
		uint32_t expected = (uint32_t)r[0];
		__atomic_compare_exchange_n((uint32_t *)(uintptr_t)addr_, &expected, (uint32_t)SRC, false,
		                            __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		r[0] = expected;
		NEXT();
	}

	/* Jumps: off is relative to the next slot. */
#define TAKE(delta)                                                              \
	do {                                                                     \
		int32_t d_ = (delta);                                            \
		if (d_ < 0) BACK_EDGE();                                         \
		ip += d_;                                                        \
		NEXT();                                                          \
	} while (0)
	op_JA: TAKE(ip->off);
	op_JA32: TAKE(ip->imm);
	/* falls through while the program's budget lasts, then jumps */
	op_MAY_GOTO:
		if (run->may_goto_left == 0)
			TAKE(ip->off);
		run->may_goto_left--;
		NEXT();

#define JMP64(name, cond)                                                        \
	op_##name##_IMM: { uint64_t a = DST, b = (uint64_t)IMM; if (cond) TAKE(ip->off); NEXT(); } \
	op_##name##_REG: { uint64_t a = DST, b = SRC; if (cond) TAKE(ip->off); NEXT(); }
#define JMP32(name, cond)                                                        \
	op_##name##_IMM: { uint32_t a = (uint32_t)DST, b = UIMM32; if (cond) TAKE(ip->off); NEXT(); } \
	op_##name##_REG: { uint32_t a = (uint32_t)DST, b = (uint32_t)SRC; if (cond) TAKE(ip->off); NEXT(); }
	JMP64(JEQ, a == b)   JMP32(JEQ32, a == b)
	JMP64(JNE, a != b)   JMP32(JNE32, a != b)
	JMP64(JGT, a > b)    JMP32(JGT32, a > b)
	JMP64(JGE, a >= b)   JMP32(JGE32, a >= b)
	JMP64(JLT, a < b)    JMP32(JLT32, a < b)
	JMP64(JLE, a <= b)   JMP32(JLE32, a <= b)
	JMP64(JSET, (a & b) != 0) JMP32(JSET32, (a & b) != 0)
	JMP64(JSGT, (int64_t)a > (int64_t)b)   JMP32(JSGT32, (int32_t)a > (int32_t)b)
	JMP64(JSGE, (int64_t)a >= (int64_t)b)  JMP32(JSGE32, (int32_t)a >= (int32_t)b)
	JMP64(JSLT, (int64_t)a < (int64_t)b)   JMP32(JSLT32, (int32_t)a < (int32_t)b)
	JMP64(JSLE, (int64_t)a <= (int64_t)b)  JMP32(JSLE32, (int32_t)a <= (int32_t)b)
#undef JMP64
#undef JMP32

	{
		bpfvm_helper_fn fn;
	op_CALL:
	op_CALL_KFUNC:
		fn = prepared->call_fns[ip->imm];
		goto call_helper;
	op_CALLX:
		/* helper IDs are 32-bit: a wider value names no helper (as in
		 * the JIT), it is not truncated */
		fn = DST > UINT32_MAX ? NULL : bpfvm_helpers_find(prog->helpers, (uint32_t)DST, NULL);
		if (!fn) {
			error_set(err, -EINVAL, (int)(ip - code), "callx to unknown helper %llu",
			          (unsigned long long)DST);
			return -EINVAL;
		}
	call_helper:
		run->helper_frame = r[10];
#if INTERP_CHECKED
		run->jit_budget = budget;
#endif
		r[0] = fn(r[1], r[2], r[3], r[4], r[5], run);
#if INTERP_CHECKED
		budget = run->jit_budget;
#endif
		if (__builtin_expect(run->status != RUN_OK, 0)) {
			if (run->status == RUN_STOPPED || run->status == RUN_TAIL_CALL) {
				*r0_out = run->stop_value;
				return 0;
			}
			if (run->status == RUN_ERROR) {
				if (err->insn < 0)
					err->insn = (int)(ip - code);
				return run->error_code;
			}
			error_set(err, -EFAULT, (int)(ip - code), "helper failed: %s", run->fail_msg);
			return -EFAULT;
		}
		NEXT();
	}

	op_CALL_LOCAL:
		if (depth + 1 >= depth_limit) {
			error_set(err, -E2BIG, (int)(ip - code), "local call nesting deeper than %u frames",
			          BPFVM_MAX_CALL_DEPTH);
			return -E2BIG;
		}
		BACK_EDGE();
		frames[depth].ret = ip;
		memcpy(frames[depth].saved, &r[6], sizeof frames[depth].saved);
		depth++;
		r[10] -= BPFVM_STACK_SIZE;
		ip += ip->imm;
		NEXT();

	op_EXIT:
		if (depth == 0) {
#if INTERP_CHECKED
			run->jit_budget = budget;
#endif
			*r0_out = r[0];
			return 0;
		}
		depth--;
		memcpy(&r[6], frames[depth].saved, sizeof frames[depth].saved);
		r[10] += BPFVM_STACK_SIZE;
		ip = frames[depth].ret;
		NEXT();

#if INTERP_CHECKED
fault_access:
	error_set(err, -EFAULT, (int)(ip - code), "out-of-bounds %s of %u bytes at 0x%llx",
	          fault_write ? "write" : "read", fault_size, (unsigned long long)fault_addr);
	return -EFAULT;
fault_misaligned:
	error_set(err, -EFAULT, (int)(ip - code), "misaligned atomic access of %u bytes at 0x%llx",
	          fault_size, (unsigned long long)fault_addr);
	return -EFAULT;
fault_budget:
	error_set(err, -ELOOP, (int)(ip - code), "gave up after %llu backward jumps and calls (endless loop?)",
	          (unsigned long long)opts->max_back_edges);
	return -ELOOP;
#endif

#undef NEXT
#undef DST
#undef SRC
#undef IMM
#undef UIMM32
#undef ADDR
#undef CHECK_ACCESS
#undef CHECK_ATOMIC
#undef BACK_EDGE
#undef LOAD
#undef STORE
#undef ALU64
#undef ALU32
#undef TAKE
}
