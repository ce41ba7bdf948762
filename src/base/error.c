/*
 * error.c - the one way the library writes an error: a code and a
 * message naming the instruction (or -1) into the caller's bpfvm_error,
 * and the names of the codes (bpfvm_strerror).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "base/error.h"

int error_set(bpfvm_error *err, int code, int insn, const char *fmt, ...)
{
	if (err) {
		err->code = code;
		err->insn = insn;
		err->line = 0;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *bpfvm_strerror(int code)
{
	switch (-code) {
	case 0: return "success";
	case EINVAL: return "invalid program or argument";
	case E2BIG: return "too large";
	case ENOMEM: return "out of memory";
	case EFAULT: return "memory access violation or helper failure";
	case ELOOP: return "execution budget exhausted";
	case ENOENT: return "not found";
	case EIO: return "input/output error";
	case EEXIST: return "already exists";
	case EPERM: return "not permitted";
	case EACCES: return "permission denied";
	case EBADF: return "bad reference";
	case ENOSPC: return "no space left";
	case EAGAIN: return "try again (no room now)";
	case EOPNOTSUPP: return "not supported";
	case EXDEV: return "not on the same file system";
	case 524: return "not supported (ENOTSUPP)";
	default: return "error";
	}
}
