/*
 * x86_relocate.c - moving the first instructions of an x86-64 function
 * elsewhere (see x86_relocate.h), with capstone decoding them.
 */
#include <capstone/capstone.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hooks/x86_relocate.h"

#define SCAN_LIMIT 4096

static int open_decoder(csh *cs, cs_insn **insn)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, cs) != CS_ERR_OK)
		return -1;
	cs_option(*cs, CS_OPT_DETAIL, CS_OPT_ON);
	*insn = cs_malloc(*cs);
	if (!*insn) {
		cs_close(cs);
		return -1;
	}
	return 0;
}

static void close_decoder(csh *cs, cs_insn *insn)
{
	cs_free(insn, 1);
	cs_close(cs);
}

/* The target of a relative branch, or 0 when insn is not one. */
static uintptr_t branch_target(csh cs, const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	if (!cs_insn_group(cs, insn, CS_GRP_BRANCH_RELATIVE) || x->op_count < 1 || x->operands[0].type != X86_OP_IMM)
		return 0;
	return (uintptr_t)x->operands[0].imm;
}

static int ends_flow(const cs_insn *insn)
{
	switch (insn->id) {
	case X86_INS_RET: case X86_INS_RETF: case X86_INS_RETFQ: case X86_INS_JMP:
	case X86_INS_UD2: case X86_INS_HLT:
		return 1;
	default:
		return 0;
	}
}

/* The condition nibble of a jcc, from its opcode (short 7x or near 0F 8x),
 * after any prefixes (branch hints, REX). */
static int jcc_condition(const cs_insn *insn)
{
	size_t i = 0;
	while (i < insn->size && (insn->bytes[i] == 0x2e || insn->bytes[i] == 0x3e || insn->bytes[i] == 0xf2 ||
				  insn->bytes[i] == 0xf3 || insn->bytes[i] == 0x66 || insn->bytes[i] == 0x67 ||
				  (insn->bytes[i] & 0xf0) == 0x40))
		i++;
	if (i < insn->size && (insn->bytes[i] & 0xf0) == 0x70)
		return insn->bytes[i] & 0x0f;
	if (i + 1 < insn->size && insn->bytes[i] == 0x0f && (insn->bytes[i + 1] & 0xf0) == 0x80)
		return insn->bytes[i + 1] & 0x0f;
	return -1;
}

static int fits_rel32(intptr_t delta)
{
	return delta >= INT32_MIN && delta <= INT32_MAX;
}

static void put_rel32(uint8_t *at, intptr_t rel)
{
	int32_t v = (int32_t)rel;
	memcpy(at, &v, 4);
}

/* One relative branch rewritten as its rel32 form aimed at the same
 * target from out + pos.  Returns the bytes written or -1. */
static int emit_branch(const cs_insn *insn, uintptr_t target, uint8_t *out, uintptr_t at, char *reason)
{
	size_t len;
	if (insn->id == X86_INS_JMP || insn->id == X86_INS_CALL) {
		out[0] = insn->id == X86_INS_JMP ? 0xe9 : 0xe8;
		len = 5;
	} else {
		int cc = jcc_condition(insn);
		if (cc < 0) {
			snprintf(reason, X86_RELOC_REASON_SIZE, "'%.16s %.60s' at %#" PRIx64 " cannot be relocated",
				 insn->mnemonic, insn->op_str, insn->address);
			return -1;
		}
		out[0] = 0x0f;
		out[1] = (uint8_t)(0x80 | cc);
		len = 6;
	}
	intptr_t rel = (intptr_t)(target - (at + len));
	if (!fits_rel32(rel)) {
		snprintf(reason, X86_RELOC_REASON_SIZE, "branch target %#" PRIxPTR " out of reach of the trampoline", target);
		return -1;
	}
	put_rel32(out + len - 4, rel);
	return (int)len;
}

/* One instruction with a RIP-relative memory operand, copied with its
 * displacement aimed at the same address from its new place. */
static int emit_rip_relative(const cs_insn *insn, const cs_x86_op *mem, uint8_t *out, uintptr_t at, char *reason)
{
	const cs_x86_encoding *enc = &insn->detail->x86.encoding;
	if (enc->disp_offset == 0 || enc->disp_size != 4) {
		snprintf(reason, X86_RELOC_REASON_SIZE, "'%.16s %.60s': no 32-bit displacement to rewrite", insn->mnemonic,
			 insn->op_str);
		return -1;
	}
	uintptr_t target = (uintptr_t)(insn->address + insn->size + mem->mem.disp);
	intptr_t disp = (intptr_t)(target - (at + insn->size));
	if (!fits_rel32(disp)) {
		snprintf(reason, X86_RELOC_REASON_SIZE, "RIP-relative operand %#" PRIxPTR " out of reach of the trampoline",
			 target);
		return -1;
	}
	memcpy(out, insn->bytes, insn->size);
	put_rel32(out + enc->disp_offset, disp);
	return insn->size;
}

static const cs_x86_op *rip_operand(const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	for (unsigned i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_MEM && x->operands[i].mem.base == X86_REG_RIP)
			return &x->operands[i];
	return NULL;
}

/* One instruction written at out (which runs at address at).  Returns its
 * new length or -1 with the reason. */
static int emit_one(csh cs, const cs_insn *insn, uint8_t *out, uintptr_t at, char *reason)
{
	switch (insn->id) {
	case X86_INS_JCXZ: case X86_INS_JECXZ: case X86_INS_JRCXZ:
	case X86_INS_LOOP: case X86_INS_LOOPE: case X86_INS_LOOPNE: case X86_INS_INT3:
		snprintf(reason, X86_RELOC_REASON_SIZE, "'%s' at %#" PRIx64 " cannot be relocated", insn->mnemonic,
			 insn->address);
		return -1;
	}
	uintptr_t target = branch_target(cs, insn);
	if (target)
		return emit_branch(insn, target, out, at, reason);
	const cs_x86_op *mem = rip_operand(insn);
	if (mem)
		return emit_rip_relative(insn, mem, out, at, reason);
	memcpy(out, insn->bytes, insn->size);
	return insn->size;
}

int x86_relocate(const uint8_t *src, size_t min_len, size_t fn_size, uint8_t *out, uintptr_t out_at,
		 size_t out_cap, struct x86_reloc *r, char reason[X86_RELOC_REASON_SIZE])
{
	csh cs;
	cs_insn *insn;
	if (open_decoder(&cs, &insn) < 0) {
		snprintf(reason, X86_RELOC_REASON_SIZE, "capstone cannot be opened");
		return -1;
	}
	memset(r, 0, sizeof *r);
	uintptr_t targets[X86_RELOC_MAX_INSNS];
	const uint8_t *code = src;
	size_t avail = 32;
	uint64_t addr = (uintptr_t)src;
	int err = 0;
	while (!err && r->src_len < min_len) {
		if (r->count == X86_RELOC_MAX_INSNS || out_cap - r->out_len < 16 ||
		    !cs_disasm_iter(cs, &code, &avail, &addr, insn)) {
			snprintf(reason, X86_RELOC_REASON_SIZE, "undecodable instruction at %p", (void *)(src + r->src_len));
			err = -1;
			break;
		}
		targets[r->count] = branch_target(cs, insn);
		int n = emit_one(cs, insn, out + r->out_len, out_at + r->out_len, reason);
		if (n < 0) {
			err = -1;
			break;
		}
		r->src_off[r->count] = (uint8_t)r->src_len;
		r->out_off[r->count] = (uint16_t)r->out_len;
		r->count++;
		r->src_len += insn->size;
		r->out_len += (size_t)n;
		if (ends_flow(insn) && r->src_len < min_len && fn_size < min_len) {
			snprintf(reason, X86_RELOC_REASON_SIZE, "function too short: it ends after %zu bytes", r->src_len);
			err = -1;
		}
	}
	for (unsigned i = 0; !err && i < r->count; i++)
		if (targets[i] > (uintptr_t)src && targets[i] < (uintptr_t)src + r->src_len) {
			snprintf(reason, X86_RELOC_REASON_SIZE, "a displaced branch lands inside the displaced bytes");
			err = -1;
		}
	close_decoder(&cs, insn);
	return err;
}

/* The end of the readable mapping holding p, from /proc/self/maps (0 when
 * none holds it). */
static uintptr_t readable_end(uintptr_t p)
{
	FILE *f = fopen("/proc/self/maps", "re");
	uintptr_t end = 0;
	if (!f)
		return 0;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		uintptr_t lo, hi;
		char perms[5];
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s", &lo, &hi, perms) == 3 && lo <= p && p < hi) {
			end = perms[0] == 'r' ? hi : 0;
			break;
		}
	}
	fclose(f);
	return end;
}

size_t x86_function_extent(const uint8_t *fn, size_t fn_size)
{
	if (fn_size)
		return fn_size;
	uintptr_t end = readable_end((uintptr_t)fn);
	size_t limit = end ? end - (uintptr_t)fn : 0;
	if (limit > SCAN_LIMIT)
		limit = SCAN_LIMIT;
	csh cs;
	cs_insn *insn;
	if (!limit || open_decoder(&cs, &insn) < 0)
		return limit;
	const uint8_t *code = fn;
	size_t avail = limit;
	uint64_t addr = (uintptr_t)fn;
	size_t extent = limit;
	while (avail) {
		if (!cs_disasm_iter(cs, &code, &avail, &addr, insn)) {
			code++, avail--, addr++;
			continue;
		}
		if (insn->id == X86_INS_INT3 && insn->address != (uintptr_t)fn) {
			extent = (size_t)(insn->address - (uintptr_t)fn);
			break;
		}
	}
	close_decoder(&cs, insn);
	return extent;
}

int x86_jump_into(const uint8_t *fn, size_t extent, size_t len, uintptr_t *where)
{
	csh cs;
	cs_insn *insn;
	if (open_decoder(&cs, &insn) < 0)
		return 1;
	const uint8_t *code = fn;
	size_t avail = extent;
	uint64_t addr = (uintptr_t)fn;
	int found = 0;
	while (avail && !found) {
		if (!cs_disasm_iter(cs, &code, &avail, &addr, insn)) {
			code++, avail--, addr++;
			continue;
		}
		uintptr_t target = branch_target(cs, insn);
		if (target > (uintptr_t)fn && target < (uintptr_t)fn + len) {
			*where = (uintptr_t)insn->address;
			found = 1;
		}
	}
	close_decoder(&cs, insn);
	return found;
}
