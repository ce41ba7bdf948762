/*
 * kv_types.c - a host's function whose type is a hook's context, built
 * with `gcc -gbtf -c` so that its object carries the BTF a host would have
 * in its own debug info (test_hook_host: the BTF hook kv_check).
 */
struct kv_req {
	unsigned int client;
	unsigned int op;
};

int kv_check(struct kv_req *req);

int kv_check(struct kv_req *req)
{
	return (int)req->client;
}
