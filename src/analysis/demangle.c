/* Demangling with libiberty (binutils' and GDB's own demangler): one library
 * for C++ and both Rust schemes, with entry points that write through a
 * callback and allocate nothing (cplus_demangle_v3_callback,
 * rust_demangle_callback: their working storage is on the stack, sized by the
 * input, which is why the input is capped). Policy: a name is tried as Rust
 * first, because a Rust legacy name is also a valid Itanium name (which would
 * show its hash as a path component); then as C++. The output is bounded by
 * leaving the demangler the moment it passes the cap: a hostile name that
 * expands without end (template back-references nest) costs at most
 * DEMANGLE_OUT_MAX bytes of printing. Leaving by longjmp is safe here because
 * the callback entry points hold no heap memory and no locks. */
#include <errno.h>
#include <libiberty/demangle.h>
#include <setjmp.h>
#include <stdbool.h>
#include <string.h>

#include "analysis/demangle.h"

struct demangle_out {
	char *buf;
	size_t cap;             /* bytes of name allowed, NUL not included */
	size_t n;
	jmp_buf overflow;
};

static void demangle_put(const char *s, size_t l, void *opaque)
{
	struct demangle_out *o = opaque;
	if (l == 0)
		return; /* libiberty may hand over (NULL, 0): no memcpy from NULL */
	if (l > o->cap - o->n)
		longjmp(o->overflow, 1);
	memcpy(o->buf + o->n, s, l);
	o->n += l;
}

/* DMGL_PARAMS: the argument types tell overloads apart, as eu-stack shows
 * them; the recursion limit of libiberty stays on (no DMGL_NO_RECURSE_LIMIT). */
#define DEMANGLE_OPTS (DMGL_PARAMS | DMGL_ANSI)

static int demangle_run(const char *name, struct demangle_out *o)
{
	if (setjmp(o->overflow))
		return -EOVERFLOW;
	bool rust = !strncmp(name, "_R", 2) || !strncmp(name, "_ZN", 3);
	if (rust) {
		o->n = 0;
		if (rust_demangle_callback(name, DEMANGLE_OPTS, demangle_put, o) && o->n > 0)
			return 0;
	}
	if (!strncmp(name, "_Z", 2)) {
		o->n = 0; /* a refusal may have printed part of a name */
		if (cplus_demangle_v3_callback(name, DEMANGLE_OPTS, demangle_put, o) && o->n > 0)
			return 0;
	}
	return -EBADMSG;
}

int demangle_name(const char *raw, char *buf, size_t len)
{
	char name[DEMANGLE_IN_MAX + 1];

	if (!raw || !buf || len < 2)
		return -EINVAL;
	/* Mangled names start "_Z" or "_R"; anything else is shown as it is. */
	const char *p = raw;
	if (p[0] != '_' || (p[1] != 'Z' && p[1] != 'R'))
		return -EINVAL;
	size_t rlen = strnlen(raw, DEMANGLE_IN_MAX + 1);
	if (rlen > DEMANGLE_IN_MAX)
		return -E2BIG;
	/* The symbol version is not part of the mangled name. */
	size_t mlen = strcspn(p, "@");
	memcpy(name, p, mlen);
	name[mlen] = '\0';
	const char *version = p + mlen;

	struct demangle_out o = { .buf = buf, .cap = len - 1 };
	if (o.cap > DEMANGLE_OUT_MAX)
		o.cap = DEMANGLE_OUT_MAX;
	int r = demangle_run(name, &o);
	if (r < 0)
		return r;
	size_t vlen = strlen(version);
	if (vlen > o.cap - o.n)
		return -EOVERFLOW;
	memcpy(buf + o.n, version, vlen);
	o.n += vlen;
	buf[o.n] = '\0';
	return (int)o.n;
}
