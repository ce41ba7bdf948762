/*
 * hook_host.h - a host's hook points reachable from outside: the host
 * exposes some of its hooks (<bpfvm/hook.h>) on a Unix socket, and an
 * operator (`bpfvm hook list|attach|detach|replace --socket PATH`) lists
 * them and attaches, replaces and detaches programs while the host runs.
 *
 * Owns: bpfvm_hook_host (the socket, its server thread, the hooks it
 * exposes) and the links made through it with the object and instance
 * behind each.
 *
 * Who may talk to it: a peer (SO_PEERCRED) of the host's own effective
 * user or root, or whoever the host's policy admits.  Every program
 * received is verified for the hook's context, with its maps, before it
 * is attached (bpfvm_hook_verify_prog); a refusal is answered with the
 * verifier's message.  Maps the object declares with pinning
 * LIBBPF_PIN_BY_NAME are pinned by name in the pin directory (the
 * request's, else the host's, else bpfvm_map_pin_dir()), where the next
 * program loaded reuses them and `bpfvm map dump pinned PATH` reads them
 * live; any link's maps can also be sent as descriptors (op=maps,
 * `bpfvm hook pin`).  A BTF hook's objects are opened with the host's BTF as their
 * target (btf_path of bpfvm_hook_host_add), so that `fmod_ret/HOOK`
 * resolves to the hook's function type.
 *
 * Several clients may hold connections at once (up to 16; more wait to
 * be accepted); their requests are served one at a time, each whole, so
 * that an attach, replace or detach never interleaves with another.
 *
 * The protocol (SOCK_SEQPACKET, one message per request and per answer)
 * is text: lines "key=value"; a request may end with an empty line and
 * the object's bytes inline, or carry them as a descriptor (SCM_RIGHTS,
 * a memfd).  Requests: op=list; op=attach hook= [prog=] [pin_dir=];
 * op=detach link=; op=replace link= [prog=] [pin_dir=]; op=maps link=
 * (answered "maps=N" and a "map=NAME" line each, then the N maps, one
 * message each as bpfvm_map_send sends them: the receiver shares them
 * live, pinned or not, whoever it is).  An answer is
 * "ok" then the request's lines, or "error=-ERRNO" and "message=...".
 * attach and replace answer link=, prog=, load_ns= (opening, loading and
 * verifying the object) and swap_ns= (bpfvm_hook_attach or _replace: the
 * new list published and the old program out of every run; detach
 * answers link= and swap_ns= too); list answers
 * a line "hook name= ctx=..." per hook, "link id= ..." per link under it
 * and "map link= name= [pinned=PATH]" per map of a link made here.
 */
#ifndef BPFVM_HOOK_HOST_H
#define BPFVM_HOOK_HOST_H

#include "bpfvm/api.h"
#include "bpfvm/bpfvm.h"
#include "bpfvm/hook.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bpfvm_hook_host bpfvm_hook_host;

/* Admits (true) or refuses a peer that is neither the host's user nor root. */
typedef bool (*bpfvm_hook_host_policy_fn)(void *user, int32_t pid, uint32_t uid, uint32_t gid);

typedef struct bpfvm_hook_host_opts {
	/* sizeof this struct as the caller was built: set by BPFVM_OPTS. */
	size_t sz;
	/* The socket's path; NULL: bpfvm-hooks-PID.sock in $XDG_RUNTIME_DIR,
	 * else /run/user/UID, else /tmp/bpfvm-UID (made 0700).  A socket
	 * left there by a process that is gone is replaced. */
	const char *path;
	bpfvm_hook_host_policy_fn policy;
	void *policy_user;
	bool jit;                 /* compile the programs received */
	const char *pin_dir;      /* NULL: bpfvm_map_pin_dir() */
} bpfvm_hook_host_opts;

/* Binds the socket and starts the server thread. */
BPFVM_API int bpfvm_hook_host_new(const bpfvm_hook_host_opts *opts, bpfvm_hook_host **out, bpfvm_error *err);
/* Exposes hook under its name (bpfvm_hook_name, unique in the host); it
 * must outlive the host.  btf_path: for a BPFVM_HOOK_CTX_BTF hook, the
 * file its BTF came from (raw BTF, or an ELF with .BTF such as the host
 * built with gcc -gbtf or pahole -J), else NULL. */
BPFVM_API int bpfvm_hook_host_add(bpfvm_hook_host *host, bpfvm_hook *hook, const char *btf_path, bpfvm_error *err);
BPFVM_API const char *bpfvm_hook_host_path(const bpfvm_hook_host *host);
/* Stops the server, detaches every link made through the socket, frees
 * their programs and removes the socket (pins stay). */
BPFVM_API void bpfvm_hook_host_free(bpfvm_hook_host *host);

#ifdef __cplusplus
}
#endif
#endif
