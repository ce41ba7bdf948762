/*
 * inject.c - loading a shared library into a running process through
 * ptrace and calling a function of it (inject.h).
 *
 * The call is the one a debugger makes for `call f(x)`: seize and
 * interrupt the process's main thread, save its general registers and its
 * whole extended state (xsave: SSE/AVX registers dlopen may clobber), put
 * the argument string and a return address of 0 on its stack below the
 * 128-byte red zone, point rip at the function and continue.  The return
 * to address 0 faults: that stop is the call's end, rax its result.  Then
 * every register goes back and the thread is released with the fault
 * suppressed.  orig_rax is -1 during the call so that a system call the
 * thread was interrupted in is not restarted into our call; with the
 * saved registers back, the kernel restarts it as after any stop.
 *
 * A thread stopped inside malloc or the dynamic loader holds their locks
 * and dlopen would wait on itself: every call has a deadline, and past it
 * the injection fails saying so (the thread is then left running the
 * call, which cannot be undone safely).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hooks/inject.h"

#define CALL_DEADLINE_MS 5000
#define RED_ZONE 128
#define XSTATE_MAX 16384

static int fail(char *err, size_t len, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t len, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return code;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- where things are in the target ---------------------------------- */

/* The start of the mapping at file offset 0 of the file whose path
 * satisfies `match`, and that path; false if none is mapped. */
static bool find_mapping(pid_t pid, bool (*match)(const char *path, const void *want), const void *want,
                         uint64_t *base, char *path, size_t pathlen)
{
	char name[64];
	snprintf(name, sizeof name, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(name, "r");
	if (!f)
		return false;
	char line[PATH_MAX + 128];
	bool found = false;
	while (!found && fgets(line, sizeof line, f)) {
		unsigned long start, end, off;
		int pos = 0;
		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s%n", &start, &end, &off, &pos) < 3 || off != 0)
			continue;
		char *p = line + pos;
		while (*p == ' ')
			p++;
		p[strcspn(p, "\n")] = 0;
		if (*p == '/' && match(p, want)) {
			*base = start;
			snprintf(path, pathlen, "%s", p);
			found = true;
		}
	}
	fclose(f);
	return found;
}

static bool is_libc(const char *path, const void *want)
{
	(void)want;
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	return !strncmp(b, "libc.so", 7) || !strncmp(b, "libc-2.", 7);
}

static bool is_path(const char *path, const void *want)
{
	return !strcmp(path, (const char *)want);
}

/* st_value of `name` in the ELF's dynamic or static symbol table (the
 * default version where several are), and the vaddr of its first
 * PT_LOAD: the symbol is at mapping base - that + st_value. */
static bool elf_symbol(Elf *e, const char *name, uint64_t *value, uint64_t *first_load)
{
	size_t nph;
	*first_load = UINT64_MAX;
	if (elf_getphdrnum(e, &nph) == 0)
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_offset == 0) {
				*first_load = ph.p_vaddr & ~(uint64_t)0xfff;
				break;
			}
		}
	if (*first_load == UINT64_MAX)
		return false;
	Elf_Scn *scn = NULL;
	Elf_Data *versym = NULL;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_versym)
			versym = elf_getdata(scn, NULL);
	}
	bool found = false;
	for (int pass = 0; pass < 2 && !found; pass++) {
		scn = NULL;
		while ((scn = elf_nextscn(e, scn)) != NULL && !found) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != (pass == 0 ? SHT_DYNSYM : SHT_SYMTAB) || !sh.sh_entsize)
				continue;
			Elf_Data *d = elf_getdata(scn, NULL);
			size_t n = d ? sh.sh_size / sh.sh_entsize : 0;
			for (size_t i = 0; i < n; i++) {
				GElf_Sym sym;
				if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF || !sym.st_value)
					continue;
				const char *s = elf_strptr(e, sh.sh_link, sym.st_name);
				if (!s || strcmp(s, name))
					continue;
				GElf_Versym v;
				/* a hidden (non-default) version: an older ABI's symbol */
				if (pass == 0 && versym && gelf_getversym(versym, (int)i, &v) && (v & 0x8000))
					continue;
				*value = sym.st_value;
				found = true;
				break;
			}
		}
	}
	return found;
}

uint64_t inject_symbol_address(pid_t pid, const char *path, const char *name, char *err, size_t errlen)
{
	uint64_t base;
	char mapped[PATH_MAX];
	if (!find_mapping(pid, is_path, path, &base, mapped, sizeof mapped)) {
		fail(err, errlen, 0, "process %d has no mapping of %s", (int)pid, path);
		return 0;
	}
	/* the file as the target sees it (its mount namespace) */
	char file[PATH_MAX + 32];
	snprintf(file, sizeof file, "/proc/%d/root%s", (int)pid, path);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail(err, errlen, 0, "cannot open %s: %s", file, strerror(errno));
		return 0;
	}
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	uint64_t value = 0, first_load = 0, addr = 0;
	if (!e)
		fail(err, errlen, 0, "%s: not an ELF file: %s", path, elf_errmsg(-1));
	else if (!elf_symbol(e, name, &value, &first_load))
		fail(err, errlen, 0, "%s has no symbol %s", path, name);
	else
		addr = base - first_load + value;
	if (e)
		elf_end(e);
	close(fd);
	return addr;
}

/* ---- one call in the stopped thread ---------------------------------- */

struct stopped {
	pid_t pid;
	int mem;                           /* /proc/PID/mem, read-write */
	struct user_regs_struct regs;      /* as it was stopped */
	uint8_t xstate[XSTATE_MAX];
	size_t xstate_len;
	bool attached, have_regs;
};

/* Waits for the thread's next stop; passes signals meant for the target
 * through to it.  0 at a stop by `want_sig` (0: a ptrace event stop). */
static int wait_stop(struct stopped *s, int want_sig, double deadline, char *err, size_t errlen)
{
	for (;;) {
		int st;
		pid_t r = waitpid(s->pid, &st, __WALL | WNOHANG);
		if (r < 0)
			return fail(err, errlen, -errno, "waiting for process %d: %s", (int)s->pid, strerror(errno));
		if (r == 0) {
			if (now_ms() > deadline)
				return fail(err, errlen, -ETIMEDOUT, "process %d did not stop within %d ms", (int)s->pid,
				            CALL_DEADLINE_MS);
			usleep(20);
			continue;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return fail(err, errlen, -ESRCH, "process %d ended (%s %d)", (int)s->pid,
			            WIFEXITED(st) ? "exit status" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		if (!WIFSTOPPED(st))
			continue;
		int sig = WSTOPSIG(st), event = st >> 16;
		if (event == PTRACE_EVENT_STOP) {
			if (want_sig == 0)
				return 0;
			ptrace(PTRACE_CONT, s->pid, 0, 0);   /* a group stop: go on */
			continue;
		}
		if (sig == want_sig)
			return 0;
		ptrace(PTRACE_CONT, s->pid, 0, (void *)(long)sig);   /* the target's own signal */
	}
}

static int write_mem(struct stopped *s, uint64_t addr, const void *buf, size_t len, char *err, size_t errlen)
{
	if (pwrite(s->mem, buf, len, (off_t)addr) != (ssize_t)len)
		return fail(err, errlen, -EIO, "cannot write process %d's stack at %#llx: %s", (int)s->pid,
		            (unsigned long long)addr, strerror(errno));
	return 0;
}

/* Calls fn(a0 or the string `str`'s address, a1) in the stopped thread;
 * *ret = rax.  The registers are left as the call left them. */
static int remote_call(struct stopped *s, uint64_t fn, const char *str, uint64_t a0, uint64_t a1, uint64_t *ret,
                       char *err, size_t errlen)
{
	struct user_regs_struct r = s->regs;
	uint64_t top = (s->regs.rsp - RED_ZONE) & ~(uint64_t)0xf;
	uint64_t str_addr = top;
	if (str) {
		size_t len = strlen(str) + 1;
		str_addr = (top - len) & ~(uint64_t)0xf;
		int rc = write_mem(s, str_addr, str, len, err, errlen);
		if (rc)
			return rc;
		a0 = str_addr;
	}
	/* at a function's entry rsp + 8 is 16-byte aligned */
	uint64_t ret_slot = str_addr - 8, zero = 0;
	int rc = write_mem(s, ret_slot, &zero, sizeof zero, err, errlen);
	if (rc)
		return rc;
	r.rip = fn;
	r.rdi = a0;
	r.rsi = a1;
	r.rsp = ret_slot;
	r.rax = 0;
	r.orig_rax = (uint64_t)-1;   /* no system call restart into the call */
	if (ptrace(PTRACE_SETREGS, s->pid, 0, &r))
		return fail(err, errlen, -errno, "cannot set process %d's registers: %s", (int)s->pid, strerror(errno));
	if (ptrace(PTRACE_CONT, s->pid, 0, 0))
		return fail(err, errlen, -errno, "cannot resume process %d: %s", (int)s->pid, strerror(errno));
	rc = wait_stop(s, SIGSEGV, now_ms() + CALL_DEADLINE_MS, err, errlen);
	if (rc == -ETIMEDOUT) {
		/* stuck (a lock its own thread held?); stop it to say where */
		return fail(err, errlen, rc, "the call at %#llx in process %d did not return within %d ms (the thread "
		            "may have been stopped holding a lock the call needs); the process is left running it",
		            (unsigned long long)fn, (int)s->pid, CALL_DEADLINE_MS);
	}
	if (rc)
		return rc;
	if (ptrace(PTRACE_GETREGS, s->pid, 0, &r))
		return fail(err, errlen, -errno, "cannot read process %d's registers: %s", (int)s->pid, strerror(errno));
	if (r.rip != 0)
		return fail(err, errlen, -EFAULT, "the call at %#llx in process %d faulted at %#llx", (unsigned long long)fn,
		            (int)s->pid, (unsigned long long)r.rip);
	*ret = r.rax;
	return 0;
}

/* Reads a NUL-terminated string of the target's memory. */
static void read_string(struct stopped *s, uint64_t addr, char *buf, size_t len)
{
	ssize_t n = pread(s->mem, buf, len - 1, (off_t)addr);
	buf[n > 0 ? n : 0] = 0;
}

/* ---- the whole injection --------------------------------------------- */

static int seize(struct stopped *s, char *err, size_t errlen)
{
	if (ptrace(PTRACE_SEIZE, s->pid, 0, 0))
		return fail(err, errlen, -errno, "cannot trace process %d: %s%s", (int)s->pid, strerror(errno),
		            errno == EPERM ? " (another tracer, or ptrace_scope forbids it: see "
		                             "/proc/sys/kernel/yama/ptrace_scope)" : "");
	s->attached = true;
	if (ptrace(PTRACE_INTERRUPT, s->pid, 0, 0))
		return fail(err, errlen, -errno, "cannot stop process %d: %s", (int)s->pid, strerror(errno));
	int rc = wait_stop(s, 0, now_ms() + CALL_DEADLINE_MS, err, errlen);
	if (rc)
		return rc;
	struct iovec iov = { s->xstate, sizeof s->xstate };
	if (ptrace(PTRACE_GETREGS, s->pid, 0, &s->regs) || ptrace(PTRACE_GETREGSET, s->pid, NT_X86_XSTATE, &iov))
		return fail(err, errlen, -errno, "cannot read process %d's registers: %s", (int)s->pid, strerror(errno));
	s->xstate_len = iov.iov_len;
	s->have_regs = true;
	return 0;
}

/* Puts the registers back (unless the thread is still running a call
 * that timed out) and lets the thread go. */
static void release(struct stopped *s, bool restore)
{
	if (!s->attached)
		return;
	if (restore && s->have_regs) {
		struct iovec iov = { s->xstate, s->xstate_len };
		ptrace(PTRACE_SETREGS, s->pid, 0, &s->regs);
		ptrace(PTRACE_SETREGSET, s->pid, NT_X86_XSTATE, &iov);
	}
	ptrace(PTRACE_DETACH, s->pid, 0, 0);
}

/* What must hold before the target is touched: x86-64, dynamically
 * linked (a libc mapped), the library readable; libc's base and path. */
static int check_target(pid_t pid, const char *lib, uint64_t *libc_base, char *libc, size_t libclen, char *err,
                        size_t errlen)
{
	if (lib[0] != '/')
		return fail(err, errlen, -EINVAL, "the library to load must be an absolute path: %s", lib);
	char exe[64];
	snprintf(exe, sizeof exe, "/proc/%d/exe", (int)pid);
	int fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, -errno, "process %d: %s", (int)pid, strerror(errno));
	unsigned char ident[EI_NIDENT + 4];
	ssize_t n = read(fd, ident, sizeof ident);
	close(fd);
	if (n < (ssize_t)sizeof ident || memcmp(ident, ELFMAG, SELFMAG) || ident[EI_CLASS] != ELFCLASS64 ||
	    (ident[EI_NIDENT] | ident[EI_NIDENT + 1] << 8) == 0)
		return fail(err, errlen, -ENOEXEC, "process %d is not a 64-bit ELF program", (int)pid);
	if (!find_mapping(pid, is_libc, NULL, libc_base, libc, libclen))
		return fail(err, errlen, -ENOEXEC, "process %d has no C library mapped (a static program): bpfvm cannot "
		            "load its agent into it; map the agent into it by hand", (int)pid);
	return 0;
}

int inject_library(pid_t pid, const char *lib, const char *entry, const char *arg, struct inject_result *out,
                   char *err, size_t errlen)
{
	double t0 = now_ms();
	uint64_t libc_base;
	char libc[PATH_MAX];
	int rc = check_target(pid, lib, &libc_base, libc, sizeof libc, err, errlen);
	if (rc)
		return rc;
	uint64_t dlopen_at = inject_symbol_address(pid, libc, "dlopen", err, errlen);
	uint64_t dlerror_at = dlopen_at ? inject_symbol_address(pid, libc, "dlerror", err, errlen) : 0;
	if (!dlopen_at || !dlerror_at)
		return -ENOENT;
	static struct stopped s;   /* the extended state is large */
	memset(&s, 0, sizeof s);
	s.pid = pid;
	char mem[64];
	snprintf(mem, sizeof mem, "/proc/%d/mem", (int)pid);
	rc = seize(&s, err, errlen);
	if (!rc && (s.mem = open(mem, O_RDWR | O_CLOEXEC)) < 0)
		rc = fail(err, errlen, -errno, "cannot open %s: %s", mem, strerror(errno));
	uint64_t handle = 0, ret = 0;
	if (!rc)
		rc = remote_call(&s, dlopen_at, lib, 0, 2 /* RTLD_NOW */, &handle, err, errlen);
	if (!rc && !handle) {
		uint64_t msg_at = 0;
		char msg[512] = "(no message)";
		if (!remote_call(&s, dlerror_at, NULL, 0, 0, &msg_at, err, errlen) && msg_at)
			read_string(&s, msg_at, msg, sizeof msg);
		rc = fail(err, errlen, -ENOENT, "dlopen(%s) in process %d failed: %s", lib, (int)pid, msg);
	}
	if (!rc && entry) {
		char real[PATH_MAX];
		uint64_t entry_at = inject_symbol_address(pid, realpath(lib, real) ? real : lib, entry, err, errlen);
		rc = entry_at ? remote_call(&s, entry_at, arg ? arg : "", 0, 0, &ret, err, errlen) : -ENOENT;
	}
	release(&s, rc != -ETIMEDOUT);
	if (s.mem > 0)
		close(s.mem);
	if (out) {
		out->entry_ret = ret;
		out->elapsed_ms = now_ms() - t0;
	}
	return rc;
}
