/*
 * kv_request.h - what kv_server's hook gives its filter: one request, as
 * raw memory (the hook's context, BPFVM_HOOK_CTX_MEM), and what the
 * filter's result means.  Shared by the server (C) and the filter (eBPF).
 */
#ifndef KV_REQUEST_H
#define KV_REQUEST_H

#define KV_KEY_MAX 32

enum kv_op { KV_GET = 1, KV_SET = 2, KV_DEL = 3 };

struct kv_request {
	unsigned int client_id;        /* as the client names itself */
	unsigned int op;               /* enum kv_op */
	unsigned int key_len;          /* the whole key's length */
	unsigned int value_len;        /* SET: the value's length; else 0 */
	char key[KV_KEY_MAX];          /* its first KV_KEY_MAX bytes, NUL-padded */
};

/* The hook's result: the filter's verdict, or KV_NO_FILTER when no
 * program is attached (the hook's empty_result). */
#define KV_PASS 0
#define KV_DROP 1
#define KV_NO_FILTER 2

#endif
