/*
 * cmd_hook.c - `bpfvm hook list|attach|detach|replace --socket PATH`: the
 * hooks a running host exposes (<bpfvm/hook_host.h>), and programs loaded
 * into them, replaced and removed while it runs.  Speaks the host's text
 * protocol; prints its answers as bpftool does (JSON with -j).  An object
 * goes to the host as a sealed memfd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bpfvm/maps.h"
#include "btf_print.h"
#include "cli.h"

#define ANSWER_MAX (64u << 10)

struct hook_args {
	const char *sub;
	const char *socket;
	char socket_found[108];   /* --pid: the host's socket where it makes it by default */
	const char *pid;
	const char *positional[2];
	size_t positional_count;
	const char *prog;
	const char *pin_dir;
	bool json;
};

static void usage_hook(FILE *f)
{
	fprintf(f, "Usage: %s hook list --socket PATH [-j]\n"
	           "       %s hook attach --socket PATH HOOK OBJ [--prog NAME] [--pin-dir DIR] [-j]\n"
	           "       %s hook replace --socket PATH LINK OBJ [--prog NAME] [--pin-dir DIR] [-j]\n"
	           "       %s hook detach --socket PATH LINK [-j]\n"
	           "       %s hook pin --socket PATH LINK DIR [-j]\n"
	           "  PATH is the socket a host opened with bpfvm_hook_host_new (--pid PID: the\n"
	           "  host's default, bpfvm-hooks-PID.sock in $XDG_RUNTIME_DIR, /run/user/UID or\n"
	           "  /tmp/bpfvm-UID, UID the host's); OBJ an object\n"
	           "  (clang -target bpf) whose program (--prog, or its only one) the host\n"
	           "  verifies for the hook's context; its pinned maps go to DIR (default: the\n"
	           "  host's pin directory), where `bpfvm map dump pinned` reads them.  pin\n"
	           "  receives a link's maps as descriptors and pins them in DIR (a pin\n"
	           "  directory's file system), shared live with the host, pinned there or not.\n",
	        prog_name, prog_name, prog_name, prog_name, prog_name);
}

/* The socket a host of pid makes by default (src/hooks/hook_host.c): in
 * our $XDG_RUNTIME_DIR, else the host's user's /run/user/UID or
 * /tmp/bpfvm-UID, whichever holds it. */
static int find_socket(struct hook_args *a)
{
	char status[64];
	snprintf(status, sizeof status, "/proc/%s/status", a->pid);
	FILE *f = fopen(status, "r");
	unsigned uid = 0;
	bool found_uid = false;
	char line[256];
	while (f && !found_uid && fgets(line, sizeof line, f))
		found_uid = sscanf(line, "Uid: %*u %u", &uid) == 1;   /* the effective uid */
	if (f)
		fclose(f);
	if (!found_uid)
		return fail("hook: no process %s", a->pid);
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char dirs[3][128];
	snprintf(dirs[0], sizeof dirs[0], "%s", xdg && xdg[0] == '/' ? xdg : "/nonexistent");
	snprintf(dirs[1], sizeof dirs[1], "/run/user/%u", uid);
	snprintf(dirs[2], sizeof dirs[2], "/tmp/bpfvm-%u", uid);
	for (int i = 0; i < 3; i++) {
		snprintf(a->socket_found, sizeof a->socket_found, "%.80s/bpfvm-hooks-%s.sock", dirs[i], a->pid);
		if (access(a->socket_found, F_OK) == 0) {
			a->socket = a->socket_found;
			return 0;
		}
	}
	return fail("hook: process %s has no hook socket where a host makes one by default; name it (--socket)",
	            a->pid);
}

static int parse_args(int argc, char **argv, struct hook_args *a)
{
	*a = (struct hook_args){ .sub = argc > 1 ? argv[1] : NULL };
	for (int i = 2; i < argc; i++) {
		const char **value = !strcmp(argv[i], "--socket") ? &a->socket : !strcmp(argv[i], "--prog") ? &a->prog :
		                     !strcmp(argv[i], "--pin-dir") ? &a->pin_dir : !strcmp(argv[i], "--pid") ? &a->pid :
		                     NULL;
		if (value) {
			if (i + 1 == argc)
				return fail("hook: %s needs a value", argv[i]);
			*value = argv[++i];
		} else if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			a->json = true;
		} else if (argv[i][0] == '-' || a->positional_count == 2) {
			return fail("hook: unexpected argument '%s'", argv[i]);
		} else {
			a->positional[a->positional_count++] = argv[i];
		}
	}
	if (!a->socket && a->pid)
		return find_socket(a);
	if (!a->socket)
		return fail("hook: --socket PATH (or --pid PID) is required");
	return 0;
}

/* ---- talking to the host ----------------------------------------------- */

/* Sends the request (with the descriptor if fd >= 0), reads the answer
 * (NUL-terminated) into answer; *keep (if not NULL) gets the connection
 * for what follows the answer. */
static int exchange(const char *socket_path, const char *request, int fd, char *answer, int *keep)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(socket_path) >= sizeof sa.sun_path)
		return fail("hook: socket path too long: %s", socket_path);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", socket_path);
	int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof sa)) {
		int e = errno;
		if (sock >= 0)
			close(sock);
		return fail("hook: cannot connect to %s: %s", socket_path, strerror(e));
	}
	ssize_t n = send_with_fd(sock, request, strlen(request), fd);
	if (n >= 0)
		n = recv(sock, answer, ANSWER_MAX - 1, 0);
	int e = errno;
	if (keep && n > 0)
		*keep = sock;
	else
		close(sock);
	if (n <= 0)
		return fail("hook: no answer from %s: %s", socket_path, n < 0 ? strerror(e) : "it hung up");
	answer[n] = '\0';
	return 0;
}

/* The value of the answer's first line "KEY=...", or NULL. */
static const char *answer_field(const char *answer, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);
	for (const char *line = answer; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (!strncmp(line, key, klen) && line[klen] == '=') {
			size_t n = strcspn(line + klen + 1, "\n");
			snprintf(out, cap, "%.*s", (int)n, line + klen + 1);
			return out;
		}
	}
	return NULL;
}

/* A refusal: the host's message, as text or bpftool's JSON error. */
static int answer_failed(const struct hook_args *a, const char *answer)
{
	if (!strncmp(answer, "ok\n", 3))
		return 0;
	char message[1024];
	if (!answer_field(answer, "message", message, sizeof message))
		snprintf(message, sizeof message, "malformed answer from the host");
	if (a->json) {
		printf("{\"error\":");
		json_print_string(message);
		printf("}\n");
		return 1;
	}
	return fail("hook %s: %s", a->sub, message);
}

/* ---- printing ------------------------------------------------------------ */

/* One record line "KIND k=v k=v ...": each pair through print(key, value). */
static void record_fields(const char *line, void (*print)(const char *key, const char *value, bool first))
{
	char buf[1024];
	snprintf(buf, sizeof buf, "%.*s", (int)strcspn(line, "\n"), line);
	bool first = true;
	char *save;
	for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq)
			continue;
		*eq = '\0';
		print(tok, eq + 1, first);
		first = false;
	}
}

static void json_field(const char *key, const char *value, bool first)
{
	printf("%s", first ? "" : ",");
	json_print_string(key);
	putchar(':');
	if (value[0] && strspn(value, "0123456789") == strlen(value) && strlen(value) < 20)
		printf("%s", value);
	else
		json_print_string(value);
}

static bool text_started;   /* a field of this record printed already */

static void text_field(const char *key, const char *value, bool first)
{
	(void)first;
	if (!strcmp(key, "hook") || !strcmp(key, "link"))
		return;   /* said by the record it belongs to */
	printf("%s", text_started ? "  " : "");
	if (strcmp(key, "name") && strcmp(key, "id"))
		printf("%s ", key);
	printf("%s", value);
	text_started = true;
}

/* JSON: hooks, each with its links, each with its maps. */
static void list_json(const char *answer)
{
	int depth = 0;   /* 0: no hook open, 1: a hook's links open, 2: a link's maps open */
	printf("[");
	bool first_hook = true, first_link = true, first_map = true;
	for (const char *line = answer + 3; *line; line += strcspn(line, "\n") + (line[strcspn(line, "\n")] != 0)) {
		bool hook = !strncmp(line, "hook ", 5), link = !strncmp(line, "link ", 5), map = !strncmp(line, "map ", 4);
		if ((hook || link) && depth == 2)
			printf("]}"), depth = 1;
		if (hook && depth == 1)
			printf("]}"), depth = 0;
		if (hook) {
			printf("%s{", first_hook ? "" : ",");
			record_fields(line + 5, json_field);
			printf(",\"links\":[");
			first_hook = false, first_link = true, depth = 1;
		} else if (link && depth == 1) {
			printf("%s{", first_link ? "" : ",");
			record_fields(line + 5, json_field);
			printf(",\"maps\":[");
			first_link = false, first_map = true, depth = 2;
		} else if (map && depth == 2) {
			printf("%s{", first_map ? "" : ",");
			record_fields(line + 4, json_field);
			printf("}");
			first_map = false;
		}
	}
	for (; depth > 0; depth--)
		printf("]}");
	printf("]\n");
}

/* Text: one line per hook, its links indented under it, their maps under them. */
static void list_text(const char *answer)
{
	for (const char *line = answer + 3; *line; line += strcspn(line, "\n") + (line[strcspn(line, "\n")] != 0)) {
		text_started = false;
		if (!strncmp(line, "hook ", 5)) {
			printf("hook ");
			record_fields(line + 5, text_field);
		} else if (!strncmp(line, "link ", 5)) {
			printf("\tlink ");
			record_fields(line + 5, text_field);
		} else if (!strncmp(line, "map ", 4)) {
			printf("\t\tmap ");
			record_fields(line + 4, text_field);
		} else {
			continue;
		}
		printf("\n");
	}
}

/* attach, replace, detach: the answer's fields on one line, or as one object. */
static void print_result(const struct hook_args *a, const char *answer)
{
	if (a->json)
		printf("{");
	bool first = true;
	for (const char *line = answer + 3; *line; line += strcspn(line, "\n") + (line[strcspn(line, "\n")] != 0)) {
		char pair[512];
		snprintf(pair, sizeof pair, "%.*s", (int)strcspn(line, "\n"), line);
		char *eq = strchr(pair, '=');
		if (!eq)
			continue;
		*eq = '\0';
		if (a->json)
			json_field(pair, eq + 1, first);
		else
			printf("%s%s %s", first ? "" : "  ", pair, eq + 1);
		first = false;
	}
	printf(a->json ? "}\n" : first ? "" : "\n");
}

/* pin: the maps=N maps following the answer, each pinned as DIR/NAME. */
static int pin_received(const struct hook_args *a, const char *answer, int conn)
{
	char count_text[32];
	unsigned long count = answer_field(answer, "maps", count_text, sizeof count_text) ?
	                      strtoul(count_text, NULL, 10) : 0;
	int rc = 0;
	printf("%s", a->json ? "[" : "");
	for (unsigned long i = 0; i < count && !rc; i++) {
		bpfvm_map *map;
		bpfvm_error err;
		if (bpfvm_map_receive(conn, &map, &err))
			return fail("hook pin: %s", err.msg);
		bpfvm_map_info info;
		bpfvm_map_info_get(map, &info);
		char path[4096];
		snprintf(path, sizeof path, "%s/%.16s", a->positional[1], info.name);
		if (bpfvm_map_pin(map, path, &err))
			rc = fail("hook pin: %s: %s", path, err.msg);
		else if (a->json)
			printf("%s{\"map\":\"%.16s\",\"pinned\":", i ? "," : "", info.name), json_print_string(path),
			        printf("}");
		else
			printf("map %.16s  pinned %s\n", info.name, path);
		bpfvm_map_put(map);
	}
	printf("%s", a->json ? "]\n" : "");
	return rc;
}

/* ---- the subcommands ----------------------------------------------------- */

/* The request's lines for attach and replace, and the object as a memfd. */
static int program_request(const struct hook_args *a, const char *op, const char *target_key, char *request,
                           size_t cap, int *fd)
{
	if (a->positional_count != 2)
		return fail("hook %s: needs %s and OBJ", op, !strcmp(op, "attach") ? "HOOK" : "LINK");
	const char *obj = a->positional[1];
	const char *base = strrchr(obj, '/') ? strrchr(obj, '/') + 1 : obj;
	int n = snprintf(request, cap, "op=%s\n%s=%s\nname=%.*s\n", op, target_key, a->positional[0],
	                 (int)strcspn(base, "."), base);
	if (a->prog)
		n += snprintf(request + n, cap - (size_t)n, "prog=%s\n", a->prog);
	if (a->pin_dir)
		snprintf(request + n, cap - (size_t)n, "pin_dir=%s\n", a->pin_dir);
	if (check_object_size(obj))
		return 1;
	*fd = file_memfd(obj, "bpfvm-hook-object", F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL, "hook");
	return *fd < 0;
}

static int build_request(const struct hook_args *a, char *request, size_t cap, int *fd)
{
	*fd = -1;
	if (!strcmp(a->sub, "list")) {
		if (a->positional_count)
			return fail("hook list: unexpected argument '%s'", a->positional[0]);
		snprintf(request, cap, "op=list\n");
		return 0;
	}
	if (!strcmp(a->sub, "attach"))
		return program_request(a, "attach", "hook", request, cap, fd);
	if (!strcmp(a->sub, "replace"))
		return program_request(a, "replace", "link", request, cap, fd);
	if (!strcmp(a->sub, "pin")) {
		if (a->positional_count != 2)
			return fail("hook pin: needs LINK and DIR");
		snprintf(request, cap, "op=maps\nlink=%s\n", a->positional[0]);
		return 0;
	}
	if (!strcmp(a->sub, "detach")) {
		if (a->positional_count != 1)
			return fail("hook detach: needs LINK");
		snprintf(request, cap, "op=detach\nlink=%s\n", a->positional[0]);
		return 0;
	}
	fail("hook: unknown subcommand '%s'", a->sub);
	usage_hook(stderr);
	return 1;
}

int cmd_hook(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help")) {
		usage_hook(argc < 2 ? stderr : stdout);
		return argc < 2;
	}
	struct hook_args a;
	char request[4096];
	int fd;
	if (parse_args(argc, argv, &a) || build_request(&a, request, sizeof request, &fd))
		return 1;
	char *answer = malloc(ANSWER_MAX);
	int conn = -1;
	int rc = answer ? exchange(a.socket, request, fd, answer, !strcmp(a.sub, "pin") ? &conn : NULL)
	                : fail("hook: out of memory");
	if (fd >= 0)
		close(fd);
	if (!rc)
		rc = answer_failed(&a, answer);
	if (!rc && !strcmp(a.sub, "list"))
		a.json ? list_json(answer) : list_text(answer);
	else if (!rc && !strcmp(a.sub, "pin"))
		rc = pin_received(&a, answer, conn);
	else if (!rc)
		print_result(&a, answer);
	if (conn >= 0)
		close(conn);
	free(answer);
	return rc;
}
