/*
 * state.c - the verifier's abstract states as values: duplicating and
 * freeing them, and printing registers and stack the way the kernel's
 * verifier log does, so that the two logs can be read side by side.
 *
 * Owns: state_dup(), state_copy(), state_free(), reg_type_name(),
 * reg_format(), state_format().
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/map_internal.h"
#include "verifier/verifier.h"

static struct vframe *frame_dup(const struct vframe *f)
{
	struct vframe *n = malloc(sizeof *n);
	if (!n)
		return NULL;
	/* only the slots in use are copied: most programs touch little stack */
	memcpy(n, f, offsetof(struct vframe, stack));
	memcpy(n->stack, f->stack, f->slots * sizeof f->stack[0]);
	return n;
}

struct vstate *state_dup(const struct vstate *st)
{
	struct vstate *n = malloc(sizeof *n);
	if (!n)
		return NULL;
	memcpy(n, st, sizeof *n);
	memset(n->frames, 0, sizeof n->frames);
	for (uint32_t i = 0; i <= st->curframe; i++) {
		n->frames[i] = frame_dup(st->frames[i]);
		if (!n->frames[i]) {
			state_free(n);
			return NULL;
		}
	}
	return n;
}

int state_copy(struct vstate *dst, const struct vstate *src)
{
	struct vframe *keep[MAX_FRAMES];
	memcpy(keep, dst->frames, sizeof keep);
	for (uint32_t i = 0; i < MAX_FRAMES; i++) {
		if (i <= src->curframe) {
			if (!keep[i]) {
				keep[i] = malloc(sizeof *keep[i]);
				if (!keep[i])
					return -1;
			}
			memcpy(keep[i], src->frames[i], offsetof(struct vframe, stack));
			memcpy(keep[i]->stack, src->frames[i]->stack, src->frames[i]->slots * sizeof keep[i]->stack[0]);
		} else if (keep[i]) {
			free(keep[i]);
			keep[i] = NULL;
		}
	}
	memcpy(dst, src, sizeof *dst);
	memcpy(dst->frames, keep, sizeof keep);
	return 0;
}

void state_free(struct vstate *st)
{
	if (!st)
		return;
	for (uint32_t i = 0; i < MAX_FRAMES; i++)
		free(st->frames[i]);
	free(st);
}

const char *reg_type_name(const struct vreg *r)
{
	static const char *const plain[REG_TYPE_COUNT] = {
		[REG_NOT_INIT] = "?", [REG_SCALAR] = "scalar", [REG_CTX] = "ctx", [REG_STACK] = "fp",
		[REG_MAP_PTR] = "map_ptr", [REG_MAP_VALUE] = "map_value", [REG_PACKET] = "pkt",
		[REG_PACKET_META] = "pkt_meta", [REG_PACKET_END] = "pkt_end", [REG_MEM] = "mem",
		[REG_FUNC] = "func",
	};
	static const char *const or_null[REG_TYPE_COUNT] = {
		[REG_MAP_VALUE] = "map_value_or_null", [REG_MEM] = "ringbuf_mem_or_null",
		[REG_MAP_PTR] = "map_ptr_or_null",
	};
	if (r->type >= REG_TYPE_COUNT)
		return "invalid";
	if (r->maybe_null && or_null[r->type])
		return or_null[r->type];
	if (r->type == REG_MEM && r->ref_id)
		return "ringbuf_mem";
	return plain[r->type];
}

/* The variable part of a pointer, if any: ",smin=...,var_off=(...)". */
static int var_format(const struct scalar *v, char *buf, size_t size)
{
	if (scalar_is_const(v) && v->var.value == 0)
		return snprintf(buf, size, "%s", "");
	char tmp[192];
	scalar_format(v, tmp, sizeof tmp);
	/* scalar_format gives "scalar(a,b)"; keep the inside */
	const char *open = strchr(tmp, '(');
	if (!open)
		return snprintf(buf, size, ",var=%s", tmp);
	size_t len = strlen(open + 1);
	if (len && open[len] == ')')
		len--;
	return snprintf(buf, size, ",%.*s", (int)len, open + 1);
}

int reg_format(const struct vreg *r, char *buf, size_t size)
{
	char var[200];
	switch (r->type) {
	case REG_NOT_INIT:
		return snprintf(buf, size, "?");
	case REG_SCALAR:
		if (r->id && !scalar_is_const(&r->v)) {
			char tmp[192];
			scalar_format(&r->v, tmp, sizeof tmp);
			if (!strncmp(tmp, "scalar(", 7))
				return snprintf(buf, size, "scalar(id=%u%s%s", r->id, tmp[7] == ')' ? "" : ",", tmp + 7);
			return snprintf(buf, size, "%s", tmp);
		}
		return scalar_format(&r->v, buf, size);
	case REG_STACK:
		var_format(&r->v, var, sizeof var);
		if (var[0])
			return snprintf(buf, size, "fp(frame=%u,off=%d%s)", r->frameno, r->off, var);
		return snprintf(buf, size, "fp%d", r->off);
	case REG_MAP_PTR:
		return snprintf(buf, size, "%s(map=%s,ks=%u,vs=%u)", reg_type_name(r), r->map ? r->map->name : "?",
		                r->map ? r->map->key_size : 0, r->map ? r->map->value_size : 0);
	case REG_MAP_VALUE: {
		char offs[24] = "";
		var_format(&r->v, var, sizeof var);
		if (r->off)
			snprintf(offs, sizeof offs, ",off=%d", r->off);
		return snprintf(buf, size, "%s(id=%u,map=%s,ks=%u,vs=%u%s%s)", reg_type_name(r), r->id,
		                r->map ? r->map->name : "?", r->map ? r->map->key_size : 0,
		                r->map ? r->map->value_size : 0, offs, var);
	}
	case REG_PACKET:
	case REG_PACKET_META:
		var_format(&r->v, var, sizeof var);
		return snprintf(buf, size, "%s(id=%u,off=%d,r=%u%s)", reg_type_name(r), r->id, r->off, r->range, var);
	case REG_MEM:
		var_format(&r->v, var, sizeof var);
		return snprintf(buf, size, "%s(id=%u,ref_obj_id=%u,off=%d,sz=%u%s)", reg_type_name(r), r->id, r->ref_id,
		                r->off, r->mem_size, var);
	case REG_FUNC:
		return snprintf(buf, size, "func(subprog=%u)", r->subprog);
	default:
		var_format(&r->v, var, sizeof var);
		if (r->off || var[0])
			return snprintf(buf, size, "%s(off=%d%s)", reg_type_name(r), r->off, var);
		return snprintf(buf, size, "%s()", reg_type_name(r));
	}
}

static char slot_char(uint8_t t)
{
	switch (t) {
	case SLOT_MISC: return 'm';
	case SLOT_ZERO: return '0';
	case SLOT_SPILL: return 'r';
	default: return '?';
	}
}

int state_format(const struct vstate *st, char *buf, size_t size)
{
	const struct vframe *f = st->frames[st->curframe];
	size_t n = 0;
#define ADD(...) do { int k_ = snprintf(buf + n, n < size ? size - n : 0, __VA_ARGS__); \
		if (k_ > 0) n += (size_t)k_; } while (0)
	buf[0] = 0;
	if (st->curframe)
		ADD("frame%u: ", st->curframe);
	for (int i = 0; i < 10; i++) {
		const struct vreg *r = &f->regs[i];
		if (r->type == REG_NOT_INIT)
			continue;
		char tmp[320];
		reg_format(r, tmp, sizeof tmp);
		ADD("%sR%d=%s", n && buf[n - 1] != ' ' ? " " : "", i, tmp);
	}
	ADD("%sR10=fp0", n ? " " : "");
	for (uint32_t s = 0; s < f->slots; s++) {
		const struct stack_slot *sl = &f->stack[s];
		bool any = false, spill = true;
		for (int b = 0; b < 8; b++) {
			any |= sl->type[b] != SLOT_INVALID;
			spill &= sl->type[b] == SLOT_SPILL;
		}
		if (!any)
			continue;
		if (spill) {
			char tmp[320];
			reg_format(&sl->spilled, tmp, sizeof tmp);
			ADD(" fp%d=%s", -8 * (int)(s + 1), tmp);
		} else {
			char t[9];
			/* the kernel prints the highest address first */
			for (int b = 0; b < 8; b++)
				t[b] = slot_char(sl->type[7 - b]);
			t[8] = 0;
			ADD(" fp%d=%s", -8 * (int)(s + 1), t);
		}
	}
	if (st->ref_count) {
		ADD(" refs=");
		for (uint32_t i = 0; i < st->ref_count; i++)
			ADD("%s%u", i ? "," : "", st->refs[i].id);
	}
#undef ADD
	return (int)n;
}
