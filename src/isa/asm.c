/*
 * asm.c - the text assembler: bpf_conformance `-- asm` syntax to bytecode.
 *
 * Owns: bpfvm_asm().  Mnemonics are looked up in isa_ops[] (isa_ops.h), so
 * the assembler knows exactly the operations the rest of bpfvm knows; what
 * it adds is the operand syntax of each operand format, labels and errors.
 *
 * Syntax, one statement per line:
 *
 *   # comment                      (also after a statement)
 *   name:                          label (may precede a statement on the line)
 *   mov %r0, 1                     ALU: op %dst, imm | op %dst, %src
 *   neg %r0   be16 %r0   swap16 %r0   (swapNN is an alias of bswapNN)
 *   lddw %r0, 0x1122334455667788   64-bit immediate, two slots
 *   ldxw %r0, [%r1+2]   stw [%r10-8], 5   stxdw [%r10-8], %r1
 *   lock add [%r10-8], %r1   lock fetch add32 [%r10-8], %r1
 *   ja label   ja32 label   jeq %r1, 5, label   jne %r1, %r2, +3
 *   call 5   call local func   call %r2   exit
 *   call kfunc 1                   a kfunc by bpfvm's ID (src/helpers/kfuncs.c)
 *   may_goto label                 the kernel's BPF_JCOND: taken once its budget is spent
 *   ldabsw 12   ldindh %r1, 4      legacy packet loads
 *
 * Jump targets are labels or signed offsets (+N / -N, relative to the next
 * instruction).  As in the reference assembler, `exit` used as a target
 * means the first `exit` instruction of the program, unless a label named
 * `exit` is defined (then that label wins).
 *
 * Immediates are decimal or 0x-hex with an optional sign.  A 32-bit
 * immediate field takes -2^31 .. 2^32-1 (stored modulo 2^32), lddw takes
 * -2^63 .. 2^64-1, offsets are int16, relative jump immediates int32.
 * An empty program (no instruction) is an error.
 *
 * All state lives in one struct asm_ctx on the caller's stack, so
 * concurrent calls are safe; the input is read only up to its NUL.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"

struct asm_label {
	const char *name;
	size_t len;
	size_t pc;
	int line;
};

/* A jump or local call whose target is a label, patched after parsing. */
struct asm_fixup {
	const char *name;
	size_t len;
	size_t pc;
	int line;
	bool in_imm;      /* ja32 / call local: target in imm, else in off */
};

struct asm_ctx {
	bpfvm_insn *insns;
	size_t count, cap;
	struct asm_label *labels;
	size_t nlabels, caplabels;
	struct asm_fixup *fixups;
	size_t nfixups, capfixups;
	size_t first_exit;       /* pc of the first exit, or SIZE_MAX */
	int line;                /* 1-based line being assembled */
	bpfvm_error *err;
};

/* One operand of a statement: the text between commas, trimmed. */
struct asm_span {
	const char *s, *e;
};

#define MAX_OPERANDS 3

/* Mnemonic aliases the reference assembler accepts besides the table's
 * names.  Not opcodes: each maps to a row name of isa_ops[]. */
static const struct {
	const char *alias, *name;
} asm_aliases[] = {
	{ "swap16", "bswap16" },
	{ "swap32", "bswap32" },
	{ "swap64", "bswap64" },
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '$';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static const char *skip_space(const char *p, const char *e)
{
	while (p < e && is_space(*p))
		p++;
	return p;
}

static const char *word_end(const char *p, const char *e)
{
	while (p < e && is_word_char(*p))
		p++;
	return p;
}

static bool span_is(const char *s, const char *e, const char *word)
{
	size_t n = strlen(word);
	return (size_t)(e - s) == n && memcmp(s, word, n) == 0;
}

/* Copies [s, e) into out as a printable quotation: bytes that are not
 * printable ASCII become \xNN, and long text is cut with "...", so an
 * error message never carries raw control bytes or overflows. */
static const char *quote(char *out, size_t outlen, const char *s, const char *e)
{
	size_t o = 0;
	const size_t max_src = 40;
	size_t i = 0;
	for (; s + i < e && i < max_src && o + 8 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			snprintf(out + o, outlen - o, "\\x%02x", c);
			o += 4;
		}
	}
	if (s + i < e && o + 4 <= outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* Reports a syntax error on the current line; always returns -EINVAL. */
__attribute__((format(printf, 2, 3)))
static int fail(struct asm_ctx *c, const char *fmt, ...)
{
	char msg[sizeof c->err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	error_set(c->err, -EINVAL, -1, "%s", msg);
	if (c->err)
		c->err->line = c->line;
	return -EINVAL;
}

static int fail_nomem(struct asm_ctx *c)
{
	error_set(c->err, -ENOMEM, -1, "out of memory assembling line %d", c->line);
	if (c->err)
		c->err->line = c->line;
	return -ENOMEM;
}

/* Makes room for `more` elements in a growing array of `size`-byte
 * elements; doubles so the total work stays linear. */
static bool grow(void **arr, size_t *cap, size_t used, size_t more, size_t size)
{
	if (*cap - used >= more)
		return true;
	size_t ncap = *cap ? *cap : 64;
	while (ncap - used < more) {
		if (ncap > SIZE_MAX / 2 / size)
			return false;
		ncap *= 2;
	}
	void *p = realloc(*arr, ncap * size);
	if (!p)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

/* ---- operands --------------------------------------------------------- */

/* Parses an optionally signed decimal or 0x-hex integer at the start of
 * [*pp, e) into sign and magnitude; advances *pp past it. */
static int parse_number(struct asm_ctx *c, const char **pp, const char *e, bool allow_sign,
                        bool *neg, uint64_t *mag)
{
	const char *start = *pp, *p = *pp;
	char q[64];
	*neg = false;
	if (allow_sign && p < e && (*p == '+' || *p == '-')) {
		*neg = *p == '-';
		p++;
	}
	unsigned base = 10;
	if (e - p >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	uint64_t v = 0;
	const char *digits = p;
	bool overflow = false;
	for (; p < e; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			overflow = true;
		else
			v = v * base + d;
	}
	/* A number glued to letters ("12ab", "0x1g") is one bad token. */
	const char *tok_end = word_end(p, e);
	if (p == digits || tok_end != p)
		return fail(c, "bad number '%s'", quote(q, sizeof q, start, word_end(p, e)));
	if (overflow)
		return fail(c, "number '%s' is out of range", quote(q, sizeof q, start, p));
	*pp = p;
	*neg = *neg && v != 0;
	*mag = v;
	return 0;
}

/* Reports text left over after an operand was parsed. */
static int expect_end(struct asm_ctx *c, const char *p, const char *e, const char *what)
{
	char q[64];
	p = skip_space(p, e);
	if (p != e)
		return fail(c, "unexpected '%s' after %s", quote(q, sizeof q, p, e), what);
	return 0;
}

/* %r0 .. %r10 at the start of [*pp, e). */
static int parse_reg_at(struct asm_ctx *c, const char **pp, const char *e, uint8_t *reg)
{
	const char *s = *pp;
	const char *we = s < e && *s == '%' ? word_end(s + 1, e) : s;
	char q[64];
	if (s == e)
		return fail(c, "missing register");
	if (*s != '%')
		return fail(c, "expected a register %%r0..%%r10, got '%s'",
		            quote(q, sizeof q, s, word_end(s, e) == s ? e : word_end(s, e)));
	const char *p = s + 1;
	bool ok = e - p >= 2 && p[0] == 'r' && is_digit(p[1]);
	unsigned n = 0;
	if (ok) {
		p++;
		if (*p == '0' && p + 1 < e && is_digit(p[1]))
			ok = false;      /* no leading zeros: "%r01" is not a name */
		for (; ok && p < e && is_digit(*p) && n <= 10; p++)
			n = n * 10 + (unsigned)(*p - '0');
		ok = ok && n <= 10 && p == we;
	}
	if (!ok)
		return fail(c, "bad register '%s' (registers are %%r0..%%r10)", quote(q, sizeof q, s, we));
	*reg = (uint8_t)n;
	*pp = p;
	return 0;
}

static int parse_reg(struct asm_ctx *c, struct asm_span op, uint8_t *reg)
{
	const char *p = op.s;
	int rc = parse_reg_at(c, &p, op.e, reg);
	if (rc)
		return rc;
	char q[64];
	if (skip_space(p, op.e) != op.e)
		return fail(c, "unexpected '%s' after register (missing comma?)",
		            quote(q, sizeof q, skip_space(p, op.e), op.e));
	return 0;
}

/* A signed value within [lo, hi] from sign and magnitude. */
static bool in_range(bool neg, uint64_t mag, uint64_t neg_max, uint64_t pos_max)
{
	return neg ? mag <= neg_max : mag <= pos_max;
}

/* An immediate for a 32-bit field: -2^31 .. 2^32-1, stored modulo 2^32
 * (the suite writes 0xffffff80 for -128). */
static int parse_imm32(struct asm_ctx *c, struct asm_span op, int32_t *imm)
{
	const char *p = op.s;
	bool neg;
	uint64_t mag;
	char q[64];
	if (p == op.e)
		return fail(c, "missing immediate");
	int rc = parse_number(c, &p, op.e, true, &neg, &mag);
	if (rc)
		return rc;
	if (!in_range(neg, mag, UINT64_C(0x80000000), UINT64_C(0xffffffff)))
		return fail(c, "immediate '%s' is out of range (-2147483648..4294967295)",
		            quote(q, sizeof q, op.s, p));
	uint32_t u = neg ? (uint32_t)(0u - (uint32_t)mag) : (uint32_t)mag;
	*imm = (int32_t)u;
	return expect_end(c, p, op.e, "immediate");
}

static int parse_imm64(struct asm_ctx *c, struct asm_span op, uint64_t *imm)
{
	const char *p = op.s;
	bool neg;
	uint64_t mag;
	char q[64];
	if (p == op.e)
		return fail(c, "missing immediate");
	int rc = parse_number(c, &p, op.e, true, &neg, &mag);
	if (rc)
		return rc;
	if (!in_range(neg, mag, UINT64_C(1) << 63, UINT64_MAX))
		return fail(c, "immediate '%s' is out of range for lddw", quote(q, sizeof q, op.s, p));
	*imm = neg ? 0 - mag : mag;
	return expect_end(c, p, op.e, "immediate");
}

/* [%rN], [%rN+off], [%rN-off]; off is int16. */
static int parse_mem(struct asm_ctx *c, struct asm_span op, uint8_t *reg, int16_t *off)
{
	const char *p = op.s, *e = op.e;
	char q[64];
	if (p == e)
		return fail(c, "missing memory operand");
	if (*p != '[')
		return fail(c, "expected a memory operand like [%%r1+8], got '%s'", quote(q, sizeof q, p, e));
	p = skip_space(p + 1, e);
	int rc = parse_reg_at(c, &p, e, reg);
	if (rc)
		return rc;
	p = skip_space(p, e);
	*off = 0;
	if (p < e && (*p == '+' || *p == '-')) {
		bool neg = *p == '-', dummy;
		uint64_t mag;
		const char *num = p;
		p = skip_space(p + 1, e);
		if (p == e || !is_digit(*p))
			return fail(c, "bad offset in '%s'", quote(q, sizeof q, op.s, e));
		rc = parse_number(c, &p, e, false, &dummy, &mag);
		if (rc)
			return rc;
		if (!in_range(neg, mag, 32768, 32767))
			return fail(c, "offset '%s' is out of range (-32768..32767)", quote(q, sizeof q, num, p));
		*off = (int16_t)(neg ? -(int32_t)mag : (int32_t)mag);
		p = skip_space(p, e);
	}
	if (p == e || *p != ']')
		return fail(c, "expected ']' in '%s'", quote(q, sizeof q, op.s, e));
	return expect_end(c, p + 1, e, "memory operand");
}

/* A jump target: +N / -N relative to the next instruction, or a label
 * (recorded as a fixup).  wide: the target goes to the 32-bit imm. */
static int parse_target(struct asm_ctx *c, struct asm_span op, bool wide, int32_t *value)
{
	const char *p = op.s, *e = op.e;
	char q[64];
	*value = 0;
	if (p == e)
		return fail(c, "missing jump target");
	if (*p == '+' || *p == '-') {
		bool neg;
		uint64_t mag;
		int rc = parse_number(c, &p, e, true, &neg, &mag);
		if (rc)
			return rc;
		bool ok = wide ? in_range(neg, mag, UINT64_C(0x80000000), 0x7fffffff)
		               : in_range(neg, mag, 32768, 32767);
		if (!ok)
			return fail(c, "jump offset '%s' is out of range (%s)", quote(q, sizeof q, op.s, p),
			            wide ? "int32" : "-32768..32767");
		*value = neg ? (int32_t)(0 - (int64_t)mag) : (int32_t)mag;
		return expect_end(c, p, e, "jump offset");
	}
	const char *we = word_end(p, e);
	if (we == p || is_digit(*p))
		return fail(c, "bad jump target '%s' (a label, or an offset like +3 or -2)",
		            quote(q, sizeof q, p, we == p ? e : we));
	int rc = expect_end(c, we, e, "jump target");
	if (rc)
		return rc;
	if (!grow((void **)&c->fixups, &c->capfixups, c->nfixups, 1, sizeof *c->fixups))
		return fail_nomem(c);
	c->fixups[c->nfixups++] = (struct asm_fixup){
		.name = p, .len = (size_t)(we - p), .pc = c->count, .line = c->line, .in_imm = wide,
	};
	return 0;
}

/* ---- statements ------------------------------------------------------- */

/* The operands of each format, in order:
 *   D register -> dst   S register -> src   i imm32 -> imm   I imm64 (lddw)
 *   M memory -> dst+off   N memory -> src+off   o target -> off   j target -> imm */
static const char *operand_sig(enum isa_format fmt)
{
	switch (fmt) {
	case FMT_ALU_IMM: return "Di";
	case FMT_ALU_REG: return "DS";
	case FMT_NEG: return "D";
	case FMT_END: return "D";
	case FMT_LDDW: return "DI";
	case FMT_LDABS: return "i";
	case FMT_LDIND: return "Si";
	case FMT_LDX: return "DN";
	case FMT_ST: return "Mi";
	case FMT_STX: return "MS";
	case FMT_ATOMIC: return "MS";
	case FMT_JA: return "o";
	case FMT_JA32: return "j";
	case FMT_JMP_IMM: return "Dio";
	case FMT_JMP_REG: return "DSo";
	case FMT_CALL: return "i";
	case FMT_CALL_LOCAL: return "j";
	case FMT_CALLX: return "D";
	case FMT_EXIT: return "";
	case FMT_MAY_GOTO: return "o";
	}
	return "";
}

/* True if the operands' shapes fit the signature: several rows share a
 * name (mov imm / mov reg, call 5 / call %r2) and the register-or-not
 * shape of the operands is what tells them apart. */
static bool shape_fits(const char *sig, const struct asm_span *ops, size_t nops)
{
	if (strlen(sig) != nops)
		return false;
	for (size_t i = 0; i < nops; i++) {
		bool is_reg = ops[i].s < ops[i].e && ops[i].s[0] == '%';
		if ((sig[i] == 'D' || sig[i] == 'S') != is_reg)
			return false;
	}
	return true;
}

/* Splits [p, e) at commas into trimmed operands.  Returns how many there
 * are (possibly more than MAX_OPERANDS: only the first ones are kept);
 * *extra points at the comma before the first one not kept. */
static size_t split_operands(const char *p, const char *e, struct asm_span *ops, const char **extra)
{
	size_t n = 0;
	*extra = NULL;
	p = skip_space(p, e);
	if (p == e)
		return 0;
	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(e - p));
		const char *oe = comma ? comma : e;
		if (n < MAX_OPERANDS) {
			const char *s = skip_space(p, oe), *t = oe;
			while (t > s && is_space(t[-1]))
				t--;
			ops[n] = (struct asm_span){ s, t };
		}
		n++;
		if (!comma)
			return n;
		if (n == MAX_OPERANDS && !*extra)
			*extra = comma;
		p = comma + 1;
	}
}

/* Finds the row named `name` whose operand shape fits; if none fits, the
 * first row with that name (its parse then reports what is wrong). */
static const struct isa_op *find_op(const char *name, bool atomic, const struct asm_span *ops,
                                    size_t nops)
{
	const struct isa_op *first = NULL;
	for (size_t i = 0; i < ISA_OP_COUNT; i++) {
		const struct isa_op *op = &isa_ops[i];
		if ((op->format == FMT_ATOMIC) != atomic || strcmp(op->asm_name, name) != 0)
			continue;
		if (shape_fits(operand_sig(op->format), ops, nops))
			return op;
		if (!first)
			first = op;
	}
	return first;
}

static int emit(struct asm_ctx *c, const bpfvm_insn *in, size_t n)
{
	if (!grow((void **)&c->insns, &c->cap, c->count, n, sizeof *c->insns))
		return fail_nomem(c);
	memcpy(&c->insns[c->count], in, n * sizeof *in);
	c->count += n;
	return 0;
}

/* Assembles the statement in [p, e) (labels and comments already gone). */
static int statement(struct asm_ctx *c, const char *p, const char *e)
{
	char q[64], name[48];
	const char *w = p, *we = word_end(p, e);
	if (we == w)
		return fail(c, "expected a mnemonic, got '%s'", quote(q, sizeof q, p, e));
	bool atomic = span_is(w, we, "lock");
	const char *rest;

	/* Compose the table's name: "lock fetch add" -> "fetch add",
	 * "call local" and "call kfunc" stay two words. */
	const char *nw = w, *nwe = we;
	if (atomic) {
		nw = skip_space(we, e);
		nwe = word_end(nw, e);
		if (nwe == nw)
			return fail(c, "missing operation after 'lock'");
	}
	size_t len = (size_t)(nwe - nw);
	const char *n2 = skip_space(nwe, e), *n2e = word_end(n2, e);
	bool two = (atomic && span_is(nw, nwe, "fetch")) ||
	           (!atomic && span_is(nw, nwe, "call") && (span_is(n2, n2e, "local") || span_is(n2, n2e, "kfunc")));
	if (two && n2e == n2)
		return fail(c, "missing operation after '%s'", quote(q, sizeof q, w, nwe));
	if (len >= 24 || (two && (size_t)(n2e - n2) >= 16))
		return fail(c, "unknown mnemonic '%s'", quote(q, sizeof q, w, two ? n2e : nwe));
	memcpy(name, nw, len);
	name[len] = '\0';
	rest = nwe;
	if (two) {
		name[len] = ' ';
		memcpy(name + len + 1, n2, (size_t)(n2e - n2));
		name[len + 1 + (size_t)(n2e - n2)] = '\0';
		rest = n2e;
	}
	for (size_t i = 0; i < sizeof asm_aliases / sizeof asm_aliases[0]; i++)
		if (strcmp(name, asm_aliases[i].alias) == 0)
			snprintf(name, sizeof name, "%s", asm_aliases[i].name);

	/* A word glued to punctuation ("exit;") is not a mnemonic. */
	if (rest < e && !is_space(*rest))
		return fail(c, "unknown mnemonic '%s'", quote(q, sizeof q, w, word_end(rest + 1, e)));

	struct asm_span ops[MAX_OPERANDS];
	const char *extra;
	size_t nops = split_operands(rest, e, ops, &extra);
	const struct isa_op *op = find_op(name, atomic, ops, nops < MAX_OPERANDS ? nops : MAX_OPERANDS);
	if (!op)
		return fail(c, "unknown mnemonic '%s'", quote(q, sizeof q, w, rest));

	const char *sig = operand_sig(op->format);
	size_t want = strlen(sig);
	bpfvm_insn in[2];
	memset(in, 0, sizeof in);
	in[0].opcode = op->opcode;
	switch (op->select) {
	case SEL_OFF: in[0].off = (int16_t)op->select_value; break;
	case SEL_IMM: in[0].imm = op->select_value; break;
	case SEL_SRC: in[0].src = (uint8_t)op->select_value & 0x0f; break;
	default: break;
	}
	uint64_t imm64 = 0;
	int rc = 0;
	for (size_t i = 0; i < want && i < nops && i < MAX_OPERANDS && !rc; i++) {
		uint8_t reg = 0;
		int16_t off = 0;
		int32_t v = 0;
		if (ops[i].s == ops[i].e) {
			rc = fail(c, "missing operand %zu of '%s'", i + 1, op->asm_name);
			break;
		}
		switch (sig[i]) {
		case 'D': rc = parse_reg(c, ops[i], &reg); in[0].dst = reg & 0x0f; break;
		case 'S': rc = parse_reg(c, ops[i], &reg); in[0].src = reg & 0x0f; break;
		case 'i': rc = parse_imm32(c, ops[i], &v); in[0].imm = v; break;
		case 'I': rc = parse_imm64(c, ops[i], &imm64); break;
		case 'M': rc = parse_mem(c, ops[i], &reg, &off); in[0].dst = reg & 0x0f; in[0].off = off; break;
		case 'N': rc = parse_mem(c, ops[i], &reg, &off); in[0].src = reg & 0x0f; in[0].off = off; break;
		case 'o': rc = parse_target(c, ops[i], false, &v); in[0].off = (int16_t)v; break;
		case 'j': rc = parse_target(c, ops[i], true, &v); in[0].imm = v; break;
		}
	}
	if (rc)
		return rc;
	if (nops < want)
		return fail(c, "missing operand: '%s' takes %zu operand%s, got %zu", op->asm_name, want,
		            want == 1 ? "" : "s", nops);
	if (nops > want) {
		const char *from = extra;
		if (want < MAX_OPERANDS) {
			/* the text right after the last operand taken */
			from = want ? ops[want - 1].e : skip_space(rest, e);
		}
		return fail(c, "unexpected '%s' at end of '%s'", quote(q, sizeof q, skip_space(from, e), e),
		            op->asm_name);
	}
	if (op->format == FMT_LDDW) {
		in[0].imm = (int32_t)(uint32_t)imm64;
		in[1].imm = (int32_t)(uint32_t)(imm64 >> 32);
		return emit(c, in, 2);
	}
	if (op->format == FMT_EXIT && c->first_exit == SIZE_MAX)
		c->first_exit = c->count;
	return emit(c, in, 1);
}

/* Defines the label [s, e) at the current instruction. */
static int define_label(struct asm_ctx *c, const char *s, const char *e)
{
	char q[64];
	if (is_digit(*s))
		return fail(c, "bad label name '%s' (must not start with a digit)", quote(q, sizeof q, s, e));
	if (!grow((void **)&c->labels, &c->caplabels, c->nlabels, 1, sizeof *c->labels))
		return fail_nomem(c);
	c->labels[c->nlabels++] = (struct asm_label){
		.name = s, .len = (size_t)(e - s), .pc = c->count, .line = c->line,
	};
	return 0;
}

static int assemble_line(struct asm_ctx *c, const char *p, const char *e)
{
	const char *hash = memchr(p, '#', (size_t)(e - p));
	if (hash)
		e = hash;
	while (e > p && is_space(e[-1]))
		e--;
	p = skip_space(p, e);
	/* Leading labels: word followed by ':'. */
	for (;;) {
		const char *we = word_end(p, e);
		const char *colon = skip_space(we, e);
		if (we == p || colon == e || *colon != ':')
			break;
		int rc = define_label(c, p, we);
		if (rc)
			return rc;
		p = skip_space(colon + 1, e);
	}
	if (p == e)
		return 0;
	return statement(c, p, e);
}

static int cmp_label(const void *a, const void *b)
{
	const struct asm_label *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->name, y->name, n);
	if (r)
		return r;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

static const struct asm_label *find_label(const struct asm_ctx *c, const char *name, size_t len)
{
	size_t lo = 0, hi = c->nlabels;
	struct asm_label key = { .name = name, .len = len, .line = -1 };
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = cmp_label(&key, &c->labels[mid]);
		if (r == 0)
			return &c->labels[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	/* key.line = -1 sorts before every definition: lo is the first one */
	if (lo < c->nlabels && c->labels[lo].len == len && memcmp(c->labels[lo].name, name, len) == 0)
		return &c->labels[lo];
	return NULL;
}

/* Sorts the labels, rejects duplicates and patches every fixup. */
static int resolve(struct asm_ctx *c)
{
	char q[64];
	if (c->nlabels > 1)
		qsort(c->labels, c->nlabels, sizeof *c->labels, cmp_label);
	/* Report the duplicate that appears first in the source. */
	const struct asm_label *dup = NULL, *orig = NULL;
	for (size_t i = 1; i < c->nlabels; i++) {
		const struct asm_label *a = &c->labels[i - 1], *b = &c->labels[i];
		if (a->len == b->len && memcmp(a->name, b->name, a->len) == 0 && (!dup || b->line < dup->line)) {
			dup = b;
			orig = a;
		}
	}
	if (dup) {
		/* orig is the definition just before dup; walk back to the first */
		while (orig > c->labels && orig[-1].len == orig->len &&
		       memcmp(orig[-1].name, orig->name, orig->len) == 0)
			orig--;
		c->line = dup->line;
		return fail(c, "duplicate label '%s' (first defined on line %d)",
		            quote(q, sizeof q, dup->name, dup->name + dup->len), orig->line);
	}
	for (size_t i = 0; i < c->nfixups; i++) {
		const struct asm_fixup *f = &c->fixups[i];
		const struct asm_label *l = find_label(c, f->name, f->len);
		size_t target;
		c->line = f->line;
		if (l)
			target = l->pc;
		else if (f->len == 4 && memcmp(f->name, "exit", 4) == 0 && c->first_exit != SIZE_MAX)
			target = c->first_exit;   /* the reference assembler's implicit label */
		else
			return fail(c, "undefined label '%s'", quote(q, sizeof q, f->name, f->name + f->len));
		int64_t delta = (int64_t)target - (int64_t)f->pc - 1;
		if (f->in_imm) {
			if (delta < INT32_MIN || delta > INT32_MAX)
				return fail(c, "jump to '%s' is too far", quote(q, sizeof q, f->name, f->name + f->len));
			c->insns[f->pc].imm = (int32_t)delta;
		} else {
			if (delta < INT16_MIN || delta > INT16_MAX)
				return fail(c, "jump to '%s' is too far for a 16-bit offset (%lld); use ja32",
				            quote(q, sizeof q, f->name, f->name + f->len), (long long)delta);
			c->insns[f->pc].off = (int16_t)delta;
		}
	}
	return 0;
}

int bpfvm_asm(const char *text, bpfvm_insn **insns, size_t *count, bpfvm_error *err)
{
	struct asm_ctx c = { .first_exit = SIZE_MAX, .line = 0, .err = err };
	if (insns)
		*insns = NULL;
	if (count)
		*count = 0;
	if (!text || !insns || !count) {
		error_set(err, -EINVAL, -1, "bpfvm_asm: NULL argument");
		return -EINVAL;
	}
	int rc = 0;
	const char *p = text;
	for (;;) {
		const char *e = p + strcspn(p, "\n");
		if (c.line < INT32_MAX)
			c.line++;
		rc = assemble_line(&c, p, e);
		if (rc || *e == '\0')
			break;
		p = e + 1;
	}
	if (!rc && c.count == 0) {
		c.line = 1;
		rc = fail(&c, "empty program: no instructions");
	}
	if (!rc)
		rc = resolve(&c);
	free(c.labels);
	free(c.fixups);
	if (rc) {
		free(c.insns);
		return rc;
	}
	/* Give back the slack of the doubling growth. */
	bpfvm_insn *fit = realloc(c.insns, c.count * sizeof *c.insns);
	*insns = fit ? fit : c.insns;
	*count = c.count;
	return 0;
}
