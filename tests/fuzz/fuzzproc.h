/* Shared by the /proc text harnesses (fuzz_status, fuzz_limits, fuzz_maps,
 * fuzz_mountinfo, fuzz_fdinfo): a capture context of their own, the input as
 * the capture's read hands it over (a heap copy, NUL at len, so that a parser
 * reading or writing past len shows under ASan), and the checks every result
 * must pass: it serializes, parses back, and its size is bounded by the
 * input's. */
#pragma once

#include <json-c/json.h>

#include "capture/proc_ctx.h"
#include "fuzzutil.h"

static inline void fuzz_proc_ctx(struct proc_ctx *c)
{
	*c = (struct proc_ctx){ .dirfd = -1, .item_max = 256 * 1024 };
	c->obj = json_object_new_object();
	c->errors = json_object_new_object();
	c->truncated = json_object_new_array();
	if (!c->obj || !c->errors || !c->truncated)
		abort();
}

static inline void fuzz_proc_ctx_free(struct proc_ctx *c)
{
	json_object_put(c->obj);
	json_object_put(c->errors);
	json_object_put(c->truncated);
	if (c->oom) /* libFuzzer's malloc does not fail below -rss_limit_mb */
		abort();
}

static inline char *fuzz_proc_text(const uint8_t *data, size_t size)
{
	char *b = malloc(size + 1);
	if (!b)
		abort();
	memcpy(b, data, size);
	b[size] = '\0';
	return b;
}

/* o serialized (plain), parsed back, and no longer than max bytes; returns the
 * length. */
static inline size_t fuzz_json_check(json_object *o, size_t max)
{
	size_t n;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);
	if (!s || strlen(s) != n)
		abort(); /* a NUL inside a string would cut the record */
	json_object *back = json_tokener_parse(s);
	if (!back)
		abort();
	json_object_put(back);
	if (n > max) {
		fprintf(stderr, "fuzz: %zu bytes of JSON, over the bound %zu\n", n, max);
		abort();
	}
	return n;
}

/* A fake /proc under the harness's directory: DIR/proc/PID/, an item file in
 * it written from the input, and proc_capture over it (proc_root), as the
 * capture reads a real one: the item's cap and the whole result checked. */
static inline const char *fuzz_proc_root(void)
{
	static char root[512];
	if (!root[0]) {
		fuzz_mkdir("proc");
		fuzz_path(root, sizeof(root), "", "proc");
	}
	return root;
}

static inline int fuzz_has_str(json_object *arr, const char *s)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), s) == 0)
			return 1;
	return 0;
}

/* proc_capture(pid) over the fake /proc with item_max; the result, checked to
 * serialize within 6 * max_text + 16K (the item's text, plus what the other,
 * missing, items and "errors" add, which the input does not change). */
static inline json_object *fuzz_proc_capture(int pid, size_t item_max, size_t max_text)
{
	struct proc_capture_opts opts = { .item_max = item_max, .proc_root = fuzz_proc_root() };
	json_object *o = NULL;

	int r = proc_capture(pid, &opts, &o);
	if (r != 0 || !o) {
		fprintf(stderr, "fuzz: proc_capture: %s\n", strerror(-r));
		abort();
	}
	fuzz_json_check(o, 6 * max_text + 16384);
	return o;
}
