/*
 * isa_ops.h - the one list of every eBPF operation bpfvm knows (RFC 9669).
 *
 * Owns: the X-macro ISA_OPS.  Each row is one operation:
 *
 *   X(ID, opcode, select, select_value, format, group, asm_name, llvm_sym, meaning)
 *
 *   ID            internal name; becomes ISA_<ID> in enum isa_op_id, and the
 *                 interpreter's label op_<ID> (a missing label fails to build)
 *   opcode        the 8-bit opcode byte
 *   select        which other field tells operations with one opcode apart:
 *                 SEL_NONE, SEL_OFF (sdiv/smod/movsx), SEL_IMM (byte swaps,
 *                 atomics), SEL_SRC (call kinds: helper, local, kfunc;
 *                 may_goto, the kernel's only BPF_JCOND kind)
 *   select_value  the value that field must hold
 *   format        operand layout; fixes which fields are reserved (isa.h)
 *   group         RFC 9669 conformance group
 *   asm_name      mnemonic in the bpf_conformance assembler syntax
 *   llvm_sym      operator in llvm-objdump's syntax ("+=", "s>", ...)
 *   meaning       what it computes: ALU(op) for arithmetic, byte swaps and
 *                 atomics (enum isa_alu), COND(c) for jumps (enum
 *                 isa_cond), NO_SEM for the rest.  Width, operand kind,
 *                 registers read and written and the kind of branch
 *                 follow from the opcode and format (opcodes.c).
 *
 * Opcode layout (RFC 9669 section 3):
 *
 *   ALU/JMP:  +--------+----+-------+   LD/ST:  +------+------+-------+
 *             | code:4 |s:1 |class:3|           |mode:3|size:2|class:3|
 *             +--------+----+-------+           +------+------+-------+
 *
 * Decoding, validation, names, assembly, disassembly, the interpreter's
 * dispatch and the meaning the JIT and the analysis read all derive from
 * this list, so they cannot disagree.
 */
#ifndef BPFVM_ISA_OPS_H
#define BPFVM_ISA_OPS_H

#define ISA_ALU_OPS(X, SUF, CLS, GRP, DMGRP)                                                            \
	X(ADD##SUF##_IMM,  0x00 | CLS, SEL_NONE, 0, FMT_ALU_IMM, GRP,   "add" #SUF,  "+=", ALU(ADD))           \
	X(ADD##SUF##_REG,  0x08 | CLS, SEL_NONE, 0, FMT_ALU_REG, GRP,   "add" #SUF,  "+=", ALU(ADD))           \
	X(SUB##SUF##_IMM,  0x10 | CLS, SEL_NONE, 0, FMT_ALU_IMM, GRP,   "sub" #SUF,  "-=", ALU(SUB))           \
	X(SUB##SUF##_REG,  0x18 | CLS, SEL_NONE, 0, FMT_ALU_REG, GRP,   "sub" #SUF,  "-=", ALU(SUB))           \
	X(MUL##SUF##_IMM,  0x20 | CLS, SEL_NONE, 0, FMT_ALU_IMM, DMGRP, "mul" #SUF,  "*=", ALU(MUL))           \
	X(MUL##SUF##_REG,  0x28 | CLS, SEL_NONE, 0, FMT_ALU_REG, DMGRP, "mul" #SUF,  "*=", ALU(MUL))           \
	X(DIV##SUF##_IMM,  0x30 | CLS, SEL_OFF,  0, FMT_ALU_IMM, DMGRP, "div" #SUF,  "/=", ALU(DIV))           \
	X(DIV##SUF##_REG,  0x38 | CLS, SEL_OFF,  0, FMT_ALU_REG, DMGRP, "div" #SUF,  "/=", ALU(DIV))           \
	X(SDIV##SUF##_IMM, 0x30 | CLS, SEL_OFF,  1, FMT_ALU_IMM, DMGRP, "sdiv" #SUF, "s/=", ALU(SDIV))         \
	X(SDIV##SUF##_REG, 0x38 | CLS, SEL_OFF,  1, FMT_ALU_REG, DMGRP, "sdiv" #SUF, "s/=", ALU(SDIV))         \
	X(OR##SUF##_IMM,   0x40 | CLS, SEL_NONE, 0, FMT_ALU_IMM, GRP,   "or" #SUF,   "|=", ALU(OR))            \
	X(OR##SUF##_REG,   0x48 | CLS, SEL_NONE, 0, FMT_ALU_REG, GRP,   "or" #SUF,   "|=", ALU(OR))            \
	X(AND##SUF##_IMM,  0x50 | CLS, SEL_NONE, 0, FMT_ALU_IMM, GRP,   "and" #SUF,  "&=", ALU(AND))           \
	X(AND##SUF##_REG,  0x58 | CLS, SEL_NONE, 0, FMT_ALU_REG, GRP,   "and" #SUF,  "&=", ALU(AND))           \
	X(LSH##SUF##_IMM,  0x60 | CLS, SEL_NONE, 0, FMT_ALU_IMM, GRP,   "lsh" #SUF,  "<<=", ALU(LSH))          \
	X(LSH##SUF##_REG,  0x68 | CLS, SEL_NONE, 0, FMT_ALU_REG, GRP,   "lsh" #SUF,  "<<=", ALU(LSH))          \
	X(RSH##SUF##_IMM,  0x70 | CLS, SEL_NONE, 0, FMT_ALU_IMM, GRP,   "rsh" #SUF,  ">>=", ALU(RSH))          \
	X(RSH##SUF##_REG,  0x78 | CLS, SEL_NONE, 0, FMT_ALU_REG, GRP,   "rsh" #SUF,  ">>=", ALU(RSH))          \
	X(NEG##SUF,        0x80 | CLS, SEL_NONE, 0, FMT_NEG,     GRP,   "neg" #SUF,  "-", ALU(NEG))            \
	X(MOD##SUF##_IMM,  0x90 | CLS, SEL_OFF,  0, FMT_ALU_IMM, DMGRP, "mod" #SUF,  "%=", ALU(MOD))           \
	X(MOD##SUF##_REG,  0x98 | CLS, SEL_OFF,  0, FMT_ALU_REG, DMGRP, "mod" #SUF,  "%=", ALU(MOD))           \
	X(SMOD##SUF##_IMM, 0x90 | CLS, SEL_OFF,  1, FMT_ALU_IMM, DMGRP, "smod" #SUF, "s%=", ALU(SMOD))         \
	X(SMOD##SUF##_REG, 0x98 | CLS, SEL_OFF,  1, FMT_ALU_REG, DMGRP, "smod" #SUF, "s%=", ALU(SMOD))         \
	X(XOR##SUF##_IMM,  0xa0 | CLS, SEL_NONE, 0, FMT_ALU_IMM, GRP,   "xor" #SUF,  "^=", ALU(XOR))           \
	X(XOR##SUF##_REG,  0xa8 | CLS, SEL_NONE, 0, FMT_ALU_REG, GRP,   "xor" #SUF,  "^=", ALU(XOR))           \
	X(MOV##SUF##_IMM,  0xb0 | CLS, SEL_OFF,  0, FMT_ALU_IMM, GRP,   "mov" #SUF,  "=", ALU(MOV))            \
	X(MOV##SUF##_REG,  0xb8 | CLS, SEL_OFF,  0, FMT_ALU_REG, GRP,   "mov" #SUF,  "=", ALU(MOV))            \
	X(ARSH##SUF##_IMM, 0xc0 | CLS, SEL_NONE, 0, FMT_ALU_IMM, GRP,   "arsh" #SUF, "s>>=", ALU(ARSH))        \
	X(ARSH##SUF##_REG, 0xc8 | CLS, SEL_NONE, 0, FMT_ALU_REG, GRP,   "arsh" #SUF, "s>>=", ALU(ARSH))

#define ISA_JMP_OPS(X, SUF, CLS, GRP)                                                                   \
	X(JEQ##SUF##_IMM,  0x10 | CLS, SEL_NONE, 0, FMT_JMP_IMM, GRP, "jeq" #SUF,  "==", COND(EQ))             \
	X(JEQ##SUF##_REG,  0x18 | CLS, SEL_NONE, 0, FMT_JMP_REG, GRP, "jeq" #SUF,  "==", COND(EQ))             \
	X(JGT##SUF##_IMM,  0x20 | CLS, SEL_NONE, 0, FMT_JMP_IMM, GRP, "jgt" #SUF,  ">", COND(GT))              \
	X(JGT##SUF##_REG,  0x28 | CLS, SEL_NONE, 0, FMT_JMP_REG, GRP, "jgt" #SUF,  ">", COND(GT))              \
	X(JGE##SUF##_IMM,  0x30 | CLS, SEL_NONE, 0, FMT_JMP_IMM, GRP, "jge" #SUF,  ">=", COND(GE))             \
	X(JGE##SUF##_REG,  0x38 | CLS, SEL_NONE, 0, FMT_JMP_REG, GRP, "jge" #SUF,  ">=", COND(GE))             \
	X(JSET##SUF##_IMM, 0x40 | CLS, SEL_NONE, 0, FMT_JMP_IMM, GRP, "jset" #SUF, "&", COND(SET))             \
	X(JSET##SUF##_REG, 0x48 | CLS, SEL_NONE, 0, FMT_JMP_REG, GRP, "jset" #SUF, "&", COND(SET))             \
	X(JNE##SUF##_IMM,  0x50 | CLS, SEL_NONE, 0, FMT_JMP_IMM, GRP, "jne" #SUF,  "!=", COND(NE))             \
	X(JNE##SUF##_REG,  0x58 | CLS, SEL_NONE, 0, FMT_JMP_REG, GRP, "jne" #SUF,  "!=", COND(NE))             \
	X(JSGT##SUF##_IMM, 0x60 | CLS, SEL_NONE, 0, FMT_JMP_IMM, GRP, "jsgt" #SUF, "s>", COND(SGT))            \
	X(JSGT##SUF##_REG, 0x68 | CLS, SEL_NONE, 0, FMT_JMP_REG, GRP, "jsgt" #SUF, "s>", COND(SGT))            \
	X(JSGE##SUF##_IMM, 0x70 | CLS, SEL_NONE, 0, FMT_JMP_IMM, GRP, "jsge" #SUF, "s>=", COND(SGE))           \
	X(JSGE##SUF##_REG, 0x78 | CLS, SEL_NONE, 0, FMT_JMP_REG, GRP, "jsge" #SUF, "s>=", COND(SGE))           \
	X(JLT##SUF##_IMM,  0xa0 | CLS, SEL_NONE, 0, FMT_JMP_IMM, GRP, "jlt" #SUF,  "<", COND(LT))              \
	X(JLT##SUF##_REG,  0xa8 | CLS, SEL_NONE, 0, FMT_JMP_REG, GRP, "jlt" #SUF,  "<", COND(LT))              \
	X(JLE##SUF##_IMM,  0xb0 | CLS, SEL_NONE, 0, FMT_JMP_IMM, GRP, "jle" #SUF,  "<=", COND(LE))             \
	X(JLE##SUF##_REG,  0xb8 | CLS, SEL_NONE, 0, FMT_JMP_REG, GRP, "jle" #SUF,  "<=", COND(LE))             \
	X(JSLT##SUF##_IMM, 0xc0 | CLS, SEL_NONE, 0, FMT_JMP_IMM, GRP, "jslt" #SUF, "s<", COND(SLT))            \
	X(JSLT##SUF##_REG, 0xc8 | CLS, SEL_NONE, 0, FMT_JMP_REG, GRP, "jslt" #SUF, "s<", COND(SLT))            \
	X(JSLE##SUF##_IMM, 0xd0 | CLS, SEL_NONE, 0, FMT_JMP_IMM, GRP, "jsle" #SUF, "s<=", COND(SLE))           \
	X(JSLE##SUF##_REG, 0xd8 | CLS, SEL_NONE, 0, FMT_JMP_REG, GRP, "jsle" #SUF, "s<=", COND(SLE))

#define ISA_ATOMIC_OPS(X, SUF, OPC, GRP)                                                                \
	X(ATOMIC##SUF##_ADD,       OPC, SEL_IMM, 0x00, FMT_ATOMIC, GRP, "add" #SUF,     "+=", ALU(ADD))        \
	X(ATOMIC##SUF##_FETCH_ADD, OPC, SEL_IMM, 0x01, FMT_ATOMIC, GRP, "fetch add" #SUF, "add", ALU(ADD))     \
	X(ATOMIC##SUF##_OR,        OPC, SEL_IMM, 0x40, FMT_ATOMIC, GRP, "or" #SUF,      "|=", ALU(OR))         \
	X(ATOMIC##SUF##_FETCH_OR,  OPC, SEL_IMM, 0x41, FMT_ATOMIC, GRP, "fetch or" #SUF, "or", ALU(OR))        \
	X(ATOMIC##SUF##_AND,       OPC, SEL_IMM, 0x50, FMT_ATOMIC, GRP, "and" #SUF,     "&=", ALU(AND))        \
	X(ATOMIC##SUF##_FETCH_AND, OPC, SEL_IMM, 0x51, FMT_ATOMIC, GRP, "fetch and" #SUF, "and", ALU(AND))     \
	X(ATOMIC##SUF##_XOR,       OPC, SEL_IMM, 0xa0, FMT_ATOMIC, GRP, "xor" #SUF,     "^=", ALU(XOR))        \
	X(ATOMIC##SUF##_FETCH_XOR, OPC, SEL_IMM, 0xa1, FMT_ATOMIC, GRP, "fetch xor" #SUF, "xor", ALU(XOR))     \
	X(ATOMIC##SUF##_XCHG,      OPC, SEL_IMM, 0xe1, FMT_ATOMIC, GRP, "xchg" #SUF,    "xchg", ALU(XCHG))     \
	X(ATOMIC##SUF##_CMPXCHG,   OPC, SEL_IMM, 0xf1, FMT_ATOMIC, GRP, "cmpxchg" #SUF, "cmpxchg", ALU(CMPXCHG))

#define ISA_OPS(X)                                                                                      \
	ISA_ALU_OPS(X, , 0x07, GROUP_BASE64, GROUP_DIVMUL64)                                                   \
	ISA_ALU_OPS(X, 32, 0x04, GROUP_BASE32, GROUP_DIVMUL32)                                                 \
	X(MOVSX8,    0xbf, SEL_OFF, 8,  FMT_ALU_REG, GROUP_BASE64, "movsx864",  "(s8)", ALU(MOVSX))            \
	X(MOVSX16,   0xbf, SEL_OFF, 16, FMT_ALU_REG, GROUP_BASE64, "movsx1664", "(s16)", ALU(MOVSX))           \
	X(MOVSX32,   0xbf, SEL_OFF, 32, FMT_ALU_REG, GROUP_BASE64, "movsx3264", "(s32)", ALU(MOVSX))           \
	X(MOVSX8_32, 0xbc, SEL_OFF, 8,  FMT_ALU_REG, GROUP_BASE32, "movsx832",  "(s8)", ALU(MOVSX))            \
	X(MOVSX16_32,0xbc, SEL_OFF, 16, FMT_ALU_REG, GROUP_BASE32, "movsx1632", "(s16)", ALU(MOVSX))           \
	X(LE16,      0xd4, SEL_IMM, 16, FMT_END,     GROUP_BASE32, "le16",      "le16", ALU(END_LE))           \
	X(LE32,      0xd4, SEL_IMM, 32, FMT_END,     GROUP_BASE32, "le32",      "le32", ALU(END_LE))           \
	X(LE64,      0xd4, SEL_IMM, 64, FMT_END,     GROUP_BASE64, "le64",      "le64", ALU(END_LE))           \
	X(BE16,      0xdc, SEL_IMM, 16, FMT_END,     GROUP_BASE32, "be16",      "be16", ALU(END_BE))           \
	X(BE32,      0xdc, SEL_IMM, 32, FMT_END,     GROUP_BASE32, "be32",      "be32", ALU(END_BE))           \
	X(BE64,      0xdc, SEL_IMM, 64, FMT_END,     GROUP_BASE64, "be64",      "be64", ALU(END_BE))           \
	X(BSWAP16,   0xd7, SEL_IMM, 16, FMT_END,     GROUP_BASE64, "bswap16",   "bswap16", ALU(BSWAP))         \
	X(BSWAP32,   0xd7, SEL_IMM, 32, FMT_END,     GROUP_BASE64, "bswap32",   "bswap32", ALU(BSWAP))         \
	X(BSWAP64,   0xd7, SEL_IMM, 64, FMT_END,     GROUP_BASE64, "bswap64",   "bswap64", ALU(BSWAP))         \
	X(LDDW,      0x18, SEL_SRC, 0,  FMT_LDDW,    GROUP_BASE64, "lddw",      "ll", NO_SEM)                  \
	X(LDABSW,    0x20, SEL_NONE, 0, FMT_LDABS,   GROUP_PACKET, "ldabsw",    "u32", NO_SEM)                 \
	X(LDABSH,    0x28, SEL_NONE, 0, FMT_LDABS,   GROUP_PACKET, "ldabsh",    "u16", NO_SEM)                 \
	X(LDABSB,    0x30, SEL_NONE, 0, FMT_LDABS,   GROUP_PACKET, "ldabsb",    "u8", NO_SEM)                  \
	X(LDINDW,    0x40, SEL_NONE, 0, FMT_LDIND,   GROUP_PACKET, "ldindw",    "u32", NO_SEM)                 \
	X(LDINDH,    0x48, SEL_NONE, 0, FMT_LDIND,   GROUP_PACKET, "ldindh",    "u16", NO_SEM)                 \
	X(LDINDB,    0x50, SEL_NONE, 0, FMT_LDIND,   GROUP_PACKET, "ldindb",    "u8", NO_SEM)                  \
	X(LDXW,      0x61, SEL_NONE, 0, FMT_LDX,     GROUP_BASE32, "ldxw",      "u32", NO_SEM)                 \
	X(LDXH,      0x69, SEL_NONE, 0, FMT_LDX,     GROUP_BASE32, "ldxh",      "u16", NO_SEM)                 \
	X(LDXB,      0x71, SEL_NONE, 0, FMT_LDX,     GROUP_BASE32, "ldxb",      "u8", NO_SEM)                  \
	X(LDXDW,     0x79, SEL_NONE, 0, FMT_LDX,     GROUP_BASE64, "ldxdw",     "u64", NO_SEM)                 \
	X(LDXSW,     0x81, SEL_NONE, 0, FMT_LDX,     GROUP_BASE64, "ldxsw",     "s32", NO_SEM)                 \
	X(LDXSH,     0x89, SEL_NONE, 0, FMT_LDX,     GROUP_BASE64, "ldxsh",     "s16", NO_SEM)                 \
	X(LDXSB,     0x91, SEL_NONE, 0, FMT_LDX,     GROUP_BASE64, "ldxsb",     "s8", NO_SEM)                  \
	X(STW,       0x62, SEL_NONE, 0, FMT_ST,      GROUP_BASE32, "stw",       "u32", NO_SEM)                 \
	X(STH,       0x6a, SEL_NONE, 0, FMT_ST,      GROUP_BASE32, "sth",       "u16", NO_SEM)                 \
	X(STB,       0x72, SEL_NONE, 0, FMT_ST,      GROUP_BASE32, "stb",       "u8", NO_SEM)                  \
	X(STDW,      0x7a, SEL_NONE, 0, FMT_ST,      GROUP_BASE64, "stdw",      "u64", NO_SEM)                 \
	X(STXW,      0x63, SEL_NONE, 0, FMT_STX,     GROUP_BASE32, "stxw",      "u32", NO_SEM)                 \
	X(STXH,      0x6b, SEL_NONE, 0, FMT_STX,     GROUP_BASE32, "stxh",      "u16", NO_SEM)                 \
	X(STXB,      0x73, SEL_NONE, 0, FMT_STX,     GROUP_BASE32, "stxb",      "u8", NO_SEM)                  \
	X(STXDW,     0x7b, SEL_NONE, 0, FMT_STX,     GROUP_BASE64, "stxdw",     "u64", NO_SEM)                 \
	ISA_ATOMIC_OPS(X, , 0xdb, GROUP_ATOMIC64)                                                              \
	ISA_ATOMIC_OPS(X, 32, 0xc3, GROUP_ATOMIC32)                                                            \
	X(JA,        0x05, SEL_NONE, 0, FMT_JA,      GROUP_BASE32, "ja",        "goto", COND(ALWAYS))          \
	X(JA32,      0x06, SEL_NONE, 0, FMT_JA32,    GROUP_BASE32, "ja32",      "gotol", COND(ALWAYS))         \
	ISA_JMP_OPS(X, , 0x05, GROUP_BASE64)                                                                   \
	ISA_JMP_OPS(X, 32, 0x06, GROUP_BASE32)                                                                 \
	X(CALL,      0x85, SEL_SRC, 0,  FMT_CALL,    GROUP_BASE32, "call",      "call", NO_SEM)                \
	X(CALL_LOCAL,0x85, SEL_SRC, 1,  FMT_CALL_LOCAL, GROUP_BASE32, "call local", "call", NO_SEM)            \
	X(CALL_KFUNC,0x85, SEL_SRC, 2,  FMT_CALL,    GROUP_KFUNC,  "call kfunc", "call", NO_SEM)                \
	X(MAY_GOTO,  0xe5, SEL_SRC, 0,  FMT_MAY_GOTO, GROUP_MAY_GOTO, "may_goto", "may_goto", NO_SEM)         \
	X(CALLX,     0x8d, SEL_NONE, 0, FMT_CALLX,   GROUP_CALLX,  "call",      "callx", NO_SEM)               \
	X(EXIT,      0x95, SEL_NONE, 0, FMT_EXIT,    GROUP_BASE32, "exit",      "exit", NO_SEM)

#endif
