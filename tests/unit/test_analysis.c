/*
 * test_analysis.c - the opcode table's meaning columns and the analysis
 * layer (src/analysis): subprograms, jump targets, call sites, callback
 * entries, idioms, and the control-flow errors it reports.
 */
#include <string.h>

#include "analysis/analysis.h"
#include "support/check.h"

#define INSN(op, d, s, o, i) { .opcode = (op), .dst = (d), .src = (s), .off = (o), .imm = (i) }

static bool is_alu_format(uint8_t f)
{
	return f == FMT_ALU_IMM || f == FMT_ALU_REG || f == FMT_NEG || f == FMT_END;
}

static bool is_mem_format(uint8_t f)
{
	return f == FMT_LDX || f == FMT_ST || f == FMT_STX || f == FMT_ATOMIC || f == FMT_LDABS ||
	       f == FMT_LDIND;
}

/* Every row's meaning agrees with its format and opcode. */
static void test_every_row(void)
{
	for (int id = 0; id < ISA_OP_COUNT; id++) {
		const struct isa_op *op = &isa_ops[id];
		bool jump = op->format == FMT_JA || op->format == FMT_JA32 || op->format == FMT_JMP_IMM ||
		            op->format == FMT_JMP_REG;
		/* may_goto branches on the run's budget, not on a register */
		if (op->format == FMT_MAY_GOTO) {
			CHECK(op->branch == BRANCH_COND && op->cond == COND_NONE && op->bits == 64 && op->regs == 0,
			      "may_goto: branch %u cond %u", op->branch, op->cond);
			continue;
		}
		if (is_alu_format(op->format) || op->format == FMT_ATOMIC)
			CHECK(op->alu != ALU_NONE, "%s: no ALU operation", op->asm_name);
		if (is_alu_format(op->format) || jump)
			CHECK(op->bits == ((op->opcode & 7) == CLS_ALU64 || (op->opcode & 7) == CLS_JMP ? 64 : 32),
			      "%s: width %u", op->asm_name, op->bits);
		CHECK(jump == (op->cond != COND_NONE), "%s: condition %u", op->asm_name, op->cond);
		CHECK(jump == (op->branch == BRANCH_COND || op->branch == BRANCH_ALWAYS), "%s: branch %u",
		      op->asm_name, op->branch);
		if (is_mem_format(op->format))
			CHECK(op->size == isa_access_size(op), "%s: size %u", op->asm_name, op->size);
		bool writes_dst = is_alu_format(op->format) || op->format == FMT_LDDW || op->format == FMT_LDX;
		CHECK(writes_dst == !!(op->regs & ISA_REG_WRITES_DST), "%s: writes dst", op->asm_name);
	}
	CHECK(isa_ops[ISA_ATOMIC_CMPXCHG].regs & ISA_REG_READS_R0 && isa_ops[ISA_ATOMIC_CMPXCHG].regs & ISA_REG_WRITES_R0 &&
	      !(isa_ops[ISA_ATOMIC_CMPXCHG].regs & ISA_REG_WRITES_SRC), "cmpxchg: r0 in and out");
	CHECK(isa_ops[ISA_ATOMIC32_FETCH_OR].fetch && isa_ops[ISA_ATOMIC32_FETCH_OR].regs & ISA_REG_WRITES_SRC &&
	      !isa_ops[ISA_ATOMIC32_OR].fetch, "fetch or writes src, or does not");
	CHECK(isa_ops[ISA_LDXSB].sign_extend && !isa_ops[ISA_LDXB].sign_extend && isa_ops[ISA_MOVSX16_32].sign_extend,
	      "sign extension");
	CHECK(isa_ops[ISA_MOV_IMM].regs == ISA_REG_WRITES_DST, "mov imm reads nothing");
	CHECK(isa_ops[ISA_SDIV32_REG].alu == ALU_SDIV && isa_ops[ISA_SMOD_IMM].alu == ALU_SMOD, "signed division");
	CHECK(isa_ops[ISA_JSLT32_REG].cond == COND_SLT && isa_ops[ISA_JSLT32_REG].src_kind == SRC_REG, "jslt32");
	CHECK(isa_ops[ISA_CALL].branch == BRANCH_CALL_HELPER && isa_ops[ISA_CALL].regs & ISA_REG_READS_ARGS &&
	      isa_ops[ISA_CALL].regs & ISA_REG_CLOBBERS_ARGS, "helper call");
	CHECK(isa_ops[ISA_CALL_LOCAL].branch == BRANCH_CALL_LOCAL && isa_ops[ISA_CALLX].branch == BRANCH_CALLX &&
	      isa_ops[ISA_EXIT].branch == BRANCH_EXIT && isa_ops[ISA_EXIT].regs == ISA_REG_READS_R0, "calls, exit");
	CHECK(isa_ops[ISA_LDINDB].regs & ISA_REG_READS_R6 && isa_ops[ISA_LDINDB].size == 1, "packet load");
}

/* Two subprograms, a callback, a local call, a jump, both idioms. */
static void test_structure(void)
{
	const bpfvm_insn prog[] = {
		INSN(0xbf, 1, 2, 0, 0),           /* 0: r1 = r2            lea + load */
		INSN(0x07, 1, 0, 0, 8),           /* 1: r1 += 8 */
		INSN(0x61, 1, 1, 0, 0),           /* 2: r1 = *(u32 *)(r1 + 0) */
		INSN(0x18, 2, 4, 0, 4),           /* 3: r2 = callback at 8 */
		INSN(0, 0, 0, 0, 0),              /* 4 */
		INSN(0x85, 0, 1, 0, 2),           /* 5: call 8 */
		INSN(0x15, 0, 0, 0, 0),           /* 6: if r0 == 0 goto 7 */
		INSN(0x95, 0, 0, 0, 0),           /* 7: exit */
		INSN(0xbc, 0, 1, 0, 0),           /* 8: w0 = w1            lea (32-bit) */
		INSN(0x0c, 0, 2, 0, 0),           /* 9: w0 += w2 */
		INSN(0x95, 0, 0, 0, 0),           /* 10: exit */
	};
	size_t n = sizeof prog / sizeof prog[0];
	bpfvm_error err = { 0 };
	struct analysis *a = NULL;
	CHECK(isa_check_encoding(prog, n, 0, ISA_RULES_ALL, &err) == 0, "encoding: %s", err.msg);
	CHECK(analysis_build(prog, n, &a, &err) == 0 && a, "analysis: %s", err.msg);
	if (!a)
		return;
	CHECK(a->subprog_count == 2 && a->subprogs[0] == 0 && a->subprogs[1] == 8, "subprograms");
	CHECK(a->sub_start[0] && a->sub_start[8] && !a->sub_start[7], "subprogram starts");
	CHECK(a->callback_count == 1 && a->callbacks[0] == 8, "callbacks");
	CHECK(a->call_site_count == 1 && a->call_sites[0] == 5 && !a->entry_is_called, "call sites");
	CHECK(a->jump_target[7] && a->jump_target[8] && !a->jump_target[6] && !a->jump_target[n], "jump targets");
	CHECK(a->idiom[0] == IDIOM_LEA_LOAD && a->idiom[8] == IDIOM_LEA && a->idiom[1] == IDIOM_NONE, "idioms");
	analysis_free(a);

	/* a jump onto the add: no idiom there */
	bpfvm_insn targeted[] = {
		INSN(0x15, 1, 0, 1, 0),           /* 0: if r1 == 0 goto 2 */
		INSN(0xbf, 0, 1, 0, 0),           /* 1: r0 = r1 */
		INSN(0x07, 0, 0, 0, 1),           /* 2: r0 += 1 */
		INSN(0x95, 0, 0, 0, 0),
	};
	CHECK(analysis_build(targeted, 4, &a, &err) == 0 && a && a->idiom[1] == IDIOM_NONE, "targeted add");
	analysis_free(a);
}

static void expect_error(const bpfvm_insn *prog, size_t n, int insn, const char *msg)
{
	bpfvm_error err = { 0 };
	struct analysis *a = (struct analysis *)1;
	int rc = analysis_build(prog, n, &a, &err);
	CHECK(rc < 0 && a == NULL && err.insn == insn && !strcmp(err.msg, msg), "want %d '%s', got %d %d '%s'",
	      insn, msg, rc, err.insn, err.msg);
}

static void test_errors(void)
{
	const bpfvm_insn leaves[] = {
		INSN(0x85, 0, 1, 0, 1),           /* 0: call 2 */
		INSN(0x05, 0, 0, 1, 0),           /* 1: goto 3 */
		INSN(0x95, 0, 0, 0, 0),           /* 2: exit */
		INSN(0x95, 0, 0, 0, 0),
	};
	expect_error(leaves, 4, 1, "jump to 3 leaves its subprogram (0..1)");
	const bpfvm_insn falls[] = {
		INSN(0x85, 0, 1, 0, 1),           /* 0: call 2 */
		INSN(0xb7, 0, 0, 0, 0),           /* 1: r0 = 0, then into 2 */
		INSN(0x95, 0, 0, 0, 0),
	};
	expect_error(falls, 3, 1, "execution can fall into the next subprogram");
	const bpfvm_insn off_end[] = { INSN(0xb7, 0, 0, 0, 0) };
	expect_error(off_end, 1, 0, "execution can run off the end of the program");
	const bpfvm_insn into_lddw[] = {
		INSN(0x05, 0, 0, 1, 0),           /* 0: goto 2 */
		INSN(0x18, 0, 0, 0, 1),
		INSN(0, 0, 0, 0, 0),
		INSN(0x95, 0, 0, 0, 0),
	};
	expect_error(into_lddw, 4, 0, "jump into the second slot of the lddw at 1");
}

int main(void)
{
	test_every_row();
	test_structure();
	test_errors();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
