/*
 * cmd_xdp.c - `bpfvm xdp attach IFACE[,IFACE...] OBJ` (an object's XDP
 * program run in user space on every frame live interfaces receive,
 * through AF_XDP: <bpfvm/xdp.h>; one program and its maps for them all,
 * so that it can redirect between them) and `bpfvm xdp detach IFACE`.
 *
 * Owns: the command's options, loading and verifying the program for an
 * XDP hook, serving until a signal or --duration, and the counters'
 * output (at exit, and every --interval).  Everything attach installs is
 * removed on every exit path the process controls; what a kill -9 leaves
 * the next attach or `bpfvm xdp detach` removes (src/hooks/xdp_steer.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/hook.h"
#include "bpfvm/instance.h"
#include "bpfvm/maps.h"
#include "bpfvm/object.h"
#include "bpfvm/xdp.h"
#include "cli.h"
#include "trace.h"

#define BPF_PROG_TYPE_XDP_ 6
#define BPF_MAP_TYPE_XSKMAP_ 17

#define MAX_IFACES 8

struct xdp_args {
	const char *ifnames[MAX_IFACES];
	size_t iface_count;
	char *iface_list;
	const char *obj_path, *prog, *tap;
	uint32_t queues;
	double duration, interval;
	int32_t coalesce_us;             /* 0: the library's default; -1: none */
	bool json, dump_maps, skb_mode, pin_maps;
	struct object_args oa;
};

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bpfvm xdp attach IFACE[,IFACE...] OBJ [--prog NAME] [--queues N] [--duration S]\n"
	           "                        [--interval S] [--skb-mode] [--tap NAME] [--coalesce-us N] [--dump-maps]\n"
	           "                        [--pin-maps] [-j]\n"
	           "                        " OBJECT_ARGS_USAGE "\n"
	           "       bpfvm xdp detach IFACE\n"
	           "attach runs OBJ's XDP program (verified first) in user space on every frame IFACE receives,\n"
	           "steered into AF_XDP sockets by a kernel program of bpfvm's (" BPFVM_XDP_STEER_NAME "), until\n"
	           "Ctrl-C, SIGTERM or --duration; then it removes everything it installed.  Verdicts: DROP\n"
	           "frees the frame, TX sends it back out of IFACE, PASS delivers it to the host's stack\n"
	           "through a TAP device standing in for IFACE (same MAC; give it IFACE's addresses: what\n"
	           "the stack sends on it goes out of IFACE), REDIRECT follows bpf_redirect(_map) (a device:\n"
	           "out of it, through its AF_XDP socket if it is one of the IFACEs, else AF_PACKET; a devmap\n"
	           "broadcast: a copy out of each of its devices; a cpumap: another queue's thread, which\n"
	           "passes it; an xskmap: nothing here fills one, as attach notes), ABORTED is counted.  Several IFACEs share the program\n"
	           "and its maps.\n"
	           "  --prog NAME    the program (default: the object's first XDP program)\n"
	           "  --queues N     receive queues 0..N-1, a socket and thread each (default: all)\n"
	           "  --duration S   stop after S seconds\n"
	           "  --interval S   print the counters each S seconds\n"
	           "  --skb-mode     the generic XDP hook even where the driver has one\n"
	           "  --tap NAME     the TAP device's name (default xdp-IFACE)\n"
	           "  --coalesce-us N  while frames come closer together than N us, take them in one wake-up\n"
	           "                 after sleeping N us (a frame waits at most N us more); default 100, at most\n"
	           "                 1000, 0: a wake-up for every frame\n"
	           "  --dump-maps    print the object's maps at exit\n"
	           "  --pin-maps     pin every map (but an xskmap) by its name in the pin directory while attached, for\n"
	           "                 `bpfvm map ... pinned NAME` (a devmap's ports, counters); unpinned at exit\n"
	           "  -j             counters as JSON\n"
	           "detach removes what attach installed on IFACE: it stops a running attach, or removes the\n"
	           "steering program one that was killed left behind; it never removes another program.\n"
	           OBJECT_OPTIONS_HELP);
}

static int parse_seconds(const char *opt, const char *text, double *out)
{
	char *end;
	*out = strtod(text, &end);
	if (*end || !(*out > 0) || *out > 1e7)
		return fail("xdp: %s: '%s' is not a number of seconds", opt, text);
	return 0;
}

/* An option with a value; 1 taken, 0 not one of these, -1 error. */
static int value_option(struct xdp_args *a, const char *o, const char *v)
{
	if (!strcmp(o, "--prog"))
		a->prog = v;
	else if (!strcmp(o, "--tap"))
		a->tap = v;
	else if (!strcmp(o, "--duration"))
		return parse_seconds(o, v, &a->duration) ? -1 : 1;
	else if (!strcmp(o, "--interval"))
		return parse_seconds(o, v, &a->interval) ? -1 : 1;
	else if (!strcmp(o, "--coalesce-us")) {
		char *end;
		unsigned long us = strtoul(v, &end, 10);
		if (*end || !*v || us > 1000)
			return fail("xdp: --coalesce-us: '%s' is not a number of microseconds (0 to 1000)", v), -1;
		a->coalesce_us = us ? (int32_t)us : -1;
	} else if (!strcmp(o, "--queues")) {
		char *end;
		unsigned long n = strtoul(v, &end, 10);
		if (*end || n == 0 || n > 64)
			return fail("xdp: --queues: '%s' is not a number of queues (1 to 64)", v), -1;
		a->queues = (uint32_t)n;
	} else
		return 0;
	return 1;
}

static int parse_attach(int argc, char **argv, struct xdp_args *a)
{
	const struct cli_flag flags[] = {
		{ "-j", &a->json }, { "--json", &a->json }, { "--dump-maps", &a->dump_maps }, { "--skb-mode", &a->skb_mode },
		{ "--pin-maps", &a->pin_maps }, { "-v", &a->oa.verbose }, { NULL, NULL },
	};
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		int taken = object_arg(&a->oa, argc, argv, &i, "xdp");
		if (taken < 0)
			return 1;
		if (taken || flag_arg(flags, o))
			continue;
		if (!strcmp(o, "--help") || !strcmp(o, "-h"))
			return usage(stdout), -1;
		else if (o[0] == '-' && i + 1 < argc && (taken = value_option(a, o, argv[i + 1])) != 0) {
			if (taken < 0)
				return 1;
			i++;
		} else if (o[0] != '-' && !a->iface_list)
			a->iface_list = argv[i];
		else if (o[0] != '-' && !a->obj_path)
			a->obj_path = o;
		else
			return fail("xdp: unknown option '%s' (see 'bpfvm xdp --help')", o);
	}
	if (!a->obj_path)
		return usage(stderr), 1;
	for (char *save = NULL, *name = strtok_r(a->iface_list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (a->iface_count == MAX_IFACES)
			return fail("xdp: at most %d interfaces", MAX_IFACES);
		a->ifnames[a->iface_count++] = name;
	}
	if (!a->iface_count)
		return fail("xdp: which interface?");
	if (a->tap && a->iface_count > 1)
		return fail("xdp: --tap names the TAP of one interface; each of several gets xdp-IFACE");
	return 0;
}

/* ---- the program ------------------------------------------------------------ */

struct xdp_session {
	const struct xdp_args *a;
	bpfvm_object *obj;
	bpfvm_instance *inst;
	bpfvm_hook *hook;
	uint64_t link;
	bpfvm_xdp_host *hosts[MAX_IFACES];
	bool pinned[64];
};

/* The program named, or the object's first XDP program. */
static int pick_prog(const struct xdp_session *s, const char **name)
{
	const struct xdp_args *a = s->a;
	for (size_t i = 0; i < bpfvm_object_prog_count(s->obj); i++) {
		const bpfvm_object_prog *p = bpfvm_object_prog_at(s->obj, i);
		if (a->prog ? !strcmp(p->name, a->prog) : p->type == BPF_PROG_TYPE_XDP_) {
			if (p->type != BPF_PROG_TYPE_XDP_)
				return fail("xdp: %s: program '%s' is not an XDP program (SEC(\"xdp\"))", a->obj_path, p->name);
			*name = p->name;
			return 0;
		}
	}
	if (a->prog)
		return fail("%s: no program named '%s' (see 'bpfvm prog show %s')", a->obj_path, a->prog, a->obj_path);
	return fail("xdp: %s has no XDP program (SEC(\"xdp\"))", a->obj_path);
}

/* Loaded, verified for XDP (refused with the verifier's message), compiled,
 * and attached to an XDP hook. */
static int load(struct xdp_session *s)
{
	const char *name = NULL;
	if (object_open(s->a->obj_path, &s->a->oa, &s->obj) || pick_prog(s, &name))
		return 1;
	bpfvm_error err = { 0 };
	BPFVM_OPTS(bpfvm_instance_opts, io, .only_prog = name, .verify = true, .jit = true);
	if (bpfvm_instance_new(s->obj, &io, &s->inst, &err))
		return fail("%s: %s", s->a->obj_path, err.msg);
	BPFVM_OPTS(bpfvm_hook_opts, ho, .name = "xdp", .ctx_kind = BPFVM_HOOK_CTX_PROG_TYPE,
	           .prog_type = BPF_PROG_TYPE_XDP_, .empty_result = 2 /* XDP_PASS */);
	if (bpfvm_hook_new(&ho, &s->hook, &err))
		return fail("xdp: %s", err.msg);
	bpfvm_program *prog = bpfvm_instance_prog(s->inst, (size_t)bpfvm_object_find_prog(s->obj, name));
	if (bpfvm_hook_attach(s->hook, prog, &s->link, &err))
		return fail("%s: %s", s->a->obj_path, err.msg);
	return 0;
}

static bool is_xskmap(const struct xdp_session *s, size_t i)
{
	return bpfvm_object_map_at(s->obj, i)->attrs.type == BPF_MAP_TYPE_XSKMAP_;
}

/* What becomes of frames a program redirects into an xskmap here: the
 * command has no AF_XDP consumer, and nothing fills the map from outside
 * (its values are a process's own socket descriptors). */
static void note_xskmaps(const struct xdp_session *s)
{
	for (size_t i = 0; i < bpfvm_object_map_count(s->obj); i++)
		if (is_xskmap(s, i))
			fprintf(stderr, "%s: xdp: map '%s' is an xskmap: `bpfvm xdp attach` has no AF_XDP consumer, and "
			        "its entries are a process's own socket descriptors (it cannot be pinned), so it stays "
			        "empty: bpf_redirect_map into it returns the action in its flags; a program embedding "
			        "<bpfvm/xdp.h> takes such frames with an xsk_consumer\n",
			        prog_name, bpfvm_object_map_at(s->obj, i)->name);
}

/* Every map pinned by its name, so that `bpfvm map` reaches it live (but
 * an xskmap, which cannot be: note_xskmaps says why). */
static int pin_maps(struct xdp_session *s)
{
	size_t n = bpfvm_object_map_count(s->obj);
	for (size_t i = 0; i < n && i < sizeof s->pinned; i++) {
		bpfvm_error err = { 0 };
		const char *name = bpfvm_object_map_at(s->obj, i)->name;
		if (is_xskmap(s, i))
			continue;
		if (bpfvm_map_pin(bpfvm_instance_map(s->inst, i), name, &err))
			return fail("xdp: --pin-maps: %s: %s", name, err.msg);
		s->pinned[i] = true;
	}
	return 0;
}

static void unpin_maps(struct xdp_session *s)
{
	for (size_t i = 0; i < sizeof s->pinned; i++) {
		if (!s->pinned[i])
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", bpfvm_map_pin_dir(), bpfvm_object_map_at(s->obj, i)->name);
		unlink(path);
		s->pinned[i] = false;
	}
}

/* ---- the counters --------------------------------------------------------------- */

static void print_host_stats(const struct xdp_session *s, const bpfvm_xdp_host *host, const char *ifn, bool final)
{
	bpfvm_xdp_stats st;
	bpfvm_xdp_stats_get(host, &st);
	if (s->a->json) {
		printf("{\"ifname\":\"%s\",\"mode\":\"%s\",\"tap\":\"%s\",\"final\":%s,\"rx\":%llu,\"pass\":%llu,"
		       "\"drop\":%llu,\"tx\":%llu,\"redirect\":%llu,\"redirect_errors\":%llu,\"aborted\":%llu,"
		       "\"run_errors\":%llu,"
		       "\"stack_tx\":%llu,\"tx_ring_full\":%llu,\"no_frame\":%llu,\"tap_errors\":%llu,"
		       "\"rx_dropped\":%llu,\"rx_ring_full\":%llu,\"fill_ring_empty\":%llu,\"tx_invalid\":%llu}\n",
		       ifn, bpfvm_xdp_mode(host), bpfvm_xdp_tap_name(host), final ? "true" : "false",
		       (unsigned long long)st.rx, (unsigned long long)st.pass, (unsigned long long)st.drop,
		       (unsigned long long)st.tx, (unsigned long long)st.redirect, (unsigned long long)st.redirect_errors,
		       (unsigned long long)st.aborted,
		       (unsigned long long)st.run_errors, (unsigned long long)st.stack_tx,
		       (unsigned long long)st.tx_ring_full, (unsigned long long)st.no_frame,
		       (unsigned long long)st.tap_errors, (unsigned long long)st.rx_dropped,
		       (unsigned long long)st.rx_ring_full, (unsigned long long)st.fill_ring_empty,
		       (unsigned long long)st.tx_invalid);
	} else {
		printf("xdp %s: rx %llu: pass %llu drop %llu tx %llu redirect %llu aborted %llu (run errors %llu)\n"
		       "  stack -> %s %llu; lost: tx ring full %llu, no free frame %llu, TAP refused %llu, redirect "
		       "failed %llu (inbox full %llu); kernel: rx dropped %llu, rx ring full %llu, fill ring empty %llu, "
		       "tx invalid %llu\n",
		       ifn, (unsigned long long)st.rx, (unsigned long long)st.pass, (unsigned long long)st.drop,
		       (unsigned long long)st.tx, (unsigned long long)st.redirect, (unsigned long long)st.aborted,
		       (unsigned long long)st.run_errors, ifn, (unsigned long long)st.stack_tx,
		       (unsigned long long)st.tx_ring_full, (unsigned long long)st.no_frame,
		       (unsigned long long)st.tap_errors, (unsigned long long)st.redirect_errors,
		       (unsigned long long)st.inbox_full, (unsigned long long)st.rx_dropped,
		       (unsigned long long)st.rx_ring_full, (unsigned long long)st.fill_ring_empty,
		       (unsigned long long)st.tx_invalid);
	}
}

static void print_stats(const struct xdp_session *s, bool final)
{
	for (size_t i = 0; i < s->a->iface_count; i++)
		if (s->hosts[i])
			print_host_stats(s, s->hosts[i], s->a->ifnames[i], final);
	fflush(stdout);
}

static void detach_all(struct xdp_session *s)
{
	for (size_t i = 0; i < s->a->iface_count; i++) {
		bpfvm_xdp_detach(s->hosts[i]);
		s->hosts[i] = NULL;
	}
}

/* Each interface attached, or none. */
static int attach_all(struct xdp_session *s)
{
	const struct xdp_args *a = s->a;
	for (size_t i = 0; i < a->iface_count; i++) {
		bpfvm_error err = { 0 };
		BPFVM_OPTS(bpfvm_xdp_opts, xo, .ifname = a->ifnames[i], .hook = s->hook, .queues = a->queues,
		           .skb_mode = a->skb_mode, .tap_name = a->tap, .rx_coalesce_us = a->coalesce_us);
		if (bpfvm_xdp_attach(&xo, &s->hosts[i], &err)) {
			detach_all(s);
			return fail("%s", err.msg);
		}
		fprintf(stderr, "%s: xdp: %s attached to %s (%s mode, %u queue%s); XDP_PASS goes to %s\n", prog_name,
		        a->obj_path, a->ifnames[i], bpfvm_xdp_mode(s->hosts[i]), bpfvm_xdp_queue_count(s->hosts[i]),
		        bpfvm_xdp_queue_count(s->hosts[i]) > 1 ? "s" : "", bpfvm_xdp_tap_name(s->hosts[i]));
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void serve(const struct xdp_session *s)
{
	double start = now_s(), next_print = start + s->a->interval;
	while (!stop_signal) {
		struct timespec nap = { 0, 20 * 1000 * 1000 };
		nanosleep(&nap, NULL);
		double now = now_s();
		if (s->a->duration && now - start >= s->a->duration)
			break;
		if (s->a->interval && now >= next_print) {
			print_stats(s, false);
			next_print += s->a->interval;
		}
	}
}

static void cleanup(struct xdp_session *s)
{
	detach_all(s);
	if (s->obj)
		unpin_maps(s);
	bpfvm_hook_free(s->hook);
	bpfvm_instance_free(s->inst);
	bpfvm_object_free(s->obj);
}

static int cmd_attach(int argc, char **argv)
{
	struct xdp_args a = { 0 };
	int rc = parse_attach(argc, argv, &a);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	struct xdp_session s = { .a = &a };
	rc = load(&s);
	if (!rc)
		note_xskmaps(&s);
	if (!rc && a.pin_maps)
		rc = pin_maps(&s);
	if (!rc)
		rc = attach_all(&s);
	if (!rc) {
		serve(&s);
		print_stats(&s, true);
		detach_all(&s);
		if (a.dump_maps)
			trace_print_maps(s.inst, a.json);
	}
	cleanup(&s);
	return rc;
}

static int cmd_detach(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-')
		return usage(argc == 2 ? stdout : stderr), argc != 2;
	int pid = 0;
	bpfvm_error err = { 0 };
	int rc = bpfvm_xdp_remove(argv[1], &pid, &err);
	if (rc)
		return fail("%s", err.msg);
	if (pid)
		fprintf(stderr, "%s: xdp: stopped bpfvm process %d, which served %s\n", prog_name, pid, argv[1]);
	else
		fprintf(stderr, "%s: xdp: removed the steering program left on %s\n", prog_name, argv[1]);
	return 0;
}

int cmd_xdp(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "attach"))
		return cmd_attach(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "detach"))
		return cmd_detach(argc - 1, argv + 1);
	bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
	usage(help ? stdout : stderr);
	return !help;
}
