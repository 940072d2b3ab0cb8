/* The verdict line and the crash signature. Policy: a person wants the signal,
 * the faulting address and what lies there, and the first frame that is not
 * the abort or signal machinery; grouping wants the same few frames, with
 * nothing in them that changes between runs (addresses, pids, paths). */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "analysis/verdict.h"

#define VERDICT_NAME_MAX  256      /* bytes of a function name used */
#define VERDICT_NULL_PAGE 0x10000  /* addresses below this are NULL + offset */
#define VERDICT_CHAIN_MAX 3        /* system frames shown after abort() */

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME  0x100000001b3ull

/* The machinery between a fault or abort() and the code that caused it. */
static const char *const verdict_noise_names[] = {
	"abort", "raise", "gsignal", "pthread_kill", "__pthread_kill", "__pthread_kill_implementation",
	"__pthread_kill_internal", "__assert_fail", "__assert_fail_base", "__assert_perror_fail",
	"__libc_message", "__restore_rt", "__kernel_rt_sigreturn", "__libc_fatal",
};

/* Frames shown between abort() and the caller, because they say why. */
static const char *const verdict_reason_names[] = {
	"__assert_fail", "__assert_perror_fail", "__stack_chk_fail", "__fortify_fail", "__chk_fail",
	"malloc_printerr", "__libc_fatal", "_ZSt9terminatev", "__cxa_throw",
};

static const char *verdict_str(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool verdict_bool(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

static bool verdict_int(json_object *o, const char *key, int64_t *ret)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*ret = json_object_get_int64(v);
	return true;
}

/* The name in the binary (a mangled one for C++ and Rust): what the lists
 * above and the signature match. Records from before demangling have only
 * "function", which was the raw name then. */
static const char *verdict_raw(json_object *f)
{
	const char *raw = verdict_str(f, "function_raw");
	return raw ? raw : verdict_str(f, "function");
}

static const char *verdict_basename(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* The function name without a symbol version ("memcpy@@GLIBC_2.14"). */
static void verdict_fn(const char *fn, char *buf, size_t len)
{
	size_t n = strcspn(fn, "@");
	if (n >= len)
		n = len - 1;
	memcpy(buf, fn, n);
	buf[n] = '\0';
}

static bool verdict_in(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, list[i]))
			return true;
	return false;
}

/* Rust's panic path (panic=abort or a panic in a no-unwind frame), by the
 * demangled names of both manglings: linked into every Rust executable, so
 * counting it would put every panic of a program in one group. */
static const char *const verdict_rust_noise[] = {
	"std::panicking::", "core::panicking::", "std::process::abort", "std::sys::pal::unix::abort_internal",
	"std::sys::backtrace::__rust_end_short_backtrace", "__rustc::", "panic_abort::", "std::rt::__rust_abort",
	"core::option::unwrap_failed", "core::option::expect_failed", "core::result::unwrap_failed",
	"rust_panic", "rust_begin_unwind", "__rust_start_panic",
};

static bool verdict_noise(const char *fn)
{
	return !strncmp(fn, "__GI_", 5) || verdict_in(fn, verdict_noise_names, ARRAY_SIZE(verdict_noise_names));
}

/* fn is the displayed (demangled) name. */
static bool verdict_noise_rust(const char *fn)
{
	for (size_t i = 0; fn && i < ARRAY_SIZE(verdict_rust_noise); i++)
		if (!strncmp(fn, verdict_rust_noise[i], strlen(verdict_rust_noise[i])))
			return true;
	return false;
}

/* Machinery by either name of frame f: raw (C, C++) or demangled (Rust). */
static bool verdict_frame_noise(json_object *f, const char *raw_clean)
{
	return verdict_noise(raw_clean) || verdict_noise_rust(verdict_str(f, "function"));
}

/* libc, the dynamic loader and the language runtimes: where a crash shows
 * itself, rarely where it is caused. */
static bool verdict_system_module(const char *base)
{
	static const char *const prefixes[] = { "libc.so", "libc-", "ld-linux", "ld-", "libpthread", "libstdc++",
						"libgcc_s", "linux-vdso" };
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (!strncmp(base, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/* The crashing thread's frames: the one marked crashed, else the first. */
static json_object *verdict_frames(json_object *threads)
{
	json_object *frames, *t = NULL;

	if (!threads || !json_object_is_type(threads, json_type_array) || json_object_array_length(threads) == 0)
		return NULL;
	for (size_t i = 0; i < json_object_array_length(threads) && !t; i++)
		if (verdict_bool(json_object_array_get_idx(threads, i), "crashed"))
			t = json_object_array_get_idx(threads, i);
	if (!t)
		t = json_object_array_get_idx(threads, 0);
	if (!json_object_object_get_ex(t, "frames", &frames) || !json_object_is_type(frames, json_type_array))
		return NULL;
	return frames;
}

static uint64_t verdict_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* A Rust name carries a hash of its crate's build (legacy: a last component
 * "17h" + 16 hex digits; v0: crate disambiguators) that changes with the
 * compiler and the dependencies: the demangled name, which leaves them out,
 * is the stable one. */
static bool verdict_rust(const char *raw)
{
	if (!strncmp(raw, "_R", 2))
		return true;
	if (strncmp(raw, "_ZN", 3))
		return false;
	size_t n = strcspn(raw, ".@");
	return n >= 21 && raw[n - 1] == 'E' && !strncmp(raw + n - 20, "17h", 3) &&
	       strspn(raw + n - 17, "0123456789abcdef") == 16;
}

size_t verdict_kind(const struct verdict_siginfo *si, char *buf, size_t len)
{
	const char *sig = si ? si->signal_name ? si->signal_name : signal_name(si->signo) : NULL;
	const char *cls = NULL;
	char num[24];

	if (!sig) {
		snprintf(num, sizeof(num), "signal %d", si ? si->signo : 0);
		sig = num;
	}
	if (si && (si->signo == SIGSEGV || si->signo == SIGBUS)) {
		/* The kernel's general-protection faults (SI_KERNEL) report
		 * address 0 for any non-canonical address: not a NULL page. */
		bool kernel = si->code_name && !strcmp(si->code_name, "SI_KERNEL");
		if (si->region && !strcmp(si->region, "below-stack"))
			cls = "stack-overflow";
		else if (si->has_addr && si->addr < VERDICT_NULL_PAGE && !kernel)
			cls = "null";
		else
			cls = "other";
	}
	int r = snprintf(buf, len, "%s%s%s", sig, cls ? "/" : "", cls ? cls : "");
	return r < 0 ? 0 : (size_t)r < len ? (size_t)r : len ? len - 1 : 0;
}

int verdict_signature(const struct verdict_siginfo *si, json_object *threads, char out[17])
{
	json_object *frames = verdict_frames(threads);
	uint64_t h = FNV_OFFSET;
	char kind[64];
	int used = 0;

	if (!frames)
		return -ENODATA;
	verdict_kind(si, kind, sizeof(kind));
	h = verdict_fnv(h, kind, strlen(kind) + 1);
	/* Physical frames only: inlined ones exist only where DWARF is there. */
	for (size_t i = 0; i < json_object_array_length(frames) && used < VERDICT_SIG_FRAMES; i++) {
		json_object *f = json_object_array_get_idx(frames, i);
		const char *mod = verdict_str(f, "module"), *fn = verdict_raw(f);
		char name[VERDICT_NAME_MAX];
		int64_t off;

		if (!mod || verdict_bool(f, "inlined"))
			continue;
		if (fn) {
			verdict_fn(fn, name, sizeof(name));
			if (verdict_frame_noise(f, name))
				continue;
			if (verdict_rust(name) && verdict_str(f, "function")) {
				verdict_fn(verdict_str(f, "function"), name, sizeof(name));
			} else {
				/* Compiler clone suffixes (.isra.0, .constprop.1,
				 * .part.0) vary between builds of the same code. */
				char *dot = strchr(name + 1, '.');
				if (dot)
					*dot = '\0';
			}
		} else if (verdict_int(f, "module_offset", &off)) {
			snprintf(name, sizeof(name), "+0x%" PRIx64, (uint64_t)off);
		} else {
			continue;
		}
		const char *base = verdict_basename(mod);
		h = verdict_fnv(h, base, strlen(base) + 1);
		h = verdict_fnv(h, name, strlen(name) + 1);
		used++;
	}
	if (used == 0)
		return -ENODATA;
	snprintf(out, 17, "%016" PRIx64, h);
	return 0;
}

/* ---- the slogan ---- */

struct verdict_buf {
	char *p;
	size_t len, n;
};

__attribute__((format(printf, 2, 3))) static void verdict_add(struct verdict_buf *b, const char *fmt, ...)
{
	va_list ap;

	if (b->n + 1 >= b->len)
		return;
	va_start(ap, fmt);
	int r = vsnprintf(b->p + b->n, b->len - b->n, fmt, ap);
	va_end(ap);
	if (r > 0)
		b->n += (size_t)r < b->len - b->n ? (size_t)r : b->len - b->n - 1;
}

/* "parse_header()", "libfoo.so.1+0x1a2b" or "0x7f…" for one frame. */
static void verdict_add_frame(struct verdict_buf *b, json_object *f, bool where)
{
	const char *mod = verdict_str(f, "module"), *fn = verdict_str(f, "function");
	char name[VERDICT_NAME_MAX];
	int64_t off;

	bool has_off = mod && verdict_int(f, "module_offset", &off);

	if (fn) {
		verdict_fn(fn, name, sizeof(name));
		/* A demangled C++ name has its parameter list already. */
		size_t l = strlen(name);
		verdict_add(b, "%s%s", name, l && name[l - 1] == ')' ? "" : "()");
		if (where && has_off)
			verdict_add(b, " at %s+0x%" PRIx64, verdict_basename(mod), (uint64_t)off);
	} else if (has_off) {
		verdict_add(b, "%s+0x%" PRIx64, verdict_basename(mod), (uint64_t)off);
	} else {
		verdict_add(b, "%s", verdict_str(f, "pc") ? verdict_str(f, "pc") : "??");
	}
}

/* Index of the first frame that is not the abort or signal machinery. */
static size_t verdict_first_meaningful(json_object *frames, size_t from)
{
	size_t n = json_object_array_length(frames);
	for (size_t i = from; i < n; i++) {
		json_object *f = json_object_array_get_idx(frames, i);
		const char *fn = verdict_raw(f);
		char name[VERDICT_NAME_MAX];
		if (!fn)
			return i;
		verdict_fn(fn, name, sizeof(name));
		if (!verdict_frame_noise(f, name))
			return i;
	}
	return n;
}

static bool verdict_frame_system(json_object *f)
{
	const char *mod = verdict_str(f, "module");
	return mod && verdict_system_module(verdict_basename(mod));
}

/* SIGABRT: abort() ← the frames that say why ← the caller. Returns false when
 * abort() is not on the stack. */
static bool verdict_add_abort(struct verdict_buf *b, json_object *frames)
{
	size_t n = json_object_array_length(frames), i, shown = 0;
	char name[VERDICT_NAME_MAX];

	for (i = 0; i < n; i++) {
		const char *fn = verdict_raw(json_object_array_get_idx(frames, i));
		if (fn) {
			verdict_fn(fn, name, sizeof(name));
			if (!strcmp(name, "abort") || !strcmp(name, "__GI_abort"))
				break;
		}
	}
	if (i == n)
		return false;
	verdict_add(b, " in abort()");
	for (i++; i < n; i++) {
		json_object *f = json_object_array_get_idx(frames, i);
		const char *fn = verdict_raw(f);
		if (fn) {
			verdict_fn(fn, name, sizeof(name));
			if (verdict_frame_noise(f, name) && !verdict_in(name, verdict_reason_names, ARRAY_SIZE(verdict_reason_names)))
				continue;
		}
		if (verdict_frame_system(f) && i + 1 < n) {
			if (shown++ < VERDICT_CHAIN_MAX) {
				verdict_add(b, " ← ");
				verdict_add_frame(b, f, false);
			} else if (shown == VERDICT_CHAIN_MAX + 1) {
				verdict_add(b, " ← …");
			}
			continue;
		}
		verdict_add(b, " ← ");
		verdict_add_frame(b, f, false);
		break;
	}
	return true;
}

bool verdict_sent_by_self(const struct verdict_siginfo *si)
{
	return si->has_sender && si->has_self && si->sender_pid == si->self_pid && si->sender_uid == si->self_uid;
}

static const char *verdict_classify(const struct verdict_siginfo *si)
{
	const char *code = si->code_name ? si->code_name : "";
	bool fault = si->signo == SIGSEGV || si->signo == SIGBUS;

	if (si->region && !strcmp(si->region, "below-stack"))
		return "stack overflow";
	if (fault && si->has_addr && si->addr < VERDICT_NULL_PAGE)
		return "NULL pointer dereference";
	if (si->signo == SIGSEGV && !strcmp(code, "SEGV_ACCERR"))
		return "access not allowed by the mapping's protection";
	if (si->signo == SIGBUS && !strcmp(code, "BUS_ADRERR"))
		return "access past the end of a mapped file";
	if (si->signo == SIGBUS && !strcmp(code, "BUS_ADRALN"))
		return "misaligned access";
	if (si->signo == SIGFPE && !strcmp(code, "FPE_INTDIV"))
		return "integer division by zero";
	if (si->signo == SIGFPE && !strcmp(code, "FPE_INTOVF"))
		return "integer overflow";
	/* abort() raises SIGABRT itself: the stack says so better. */
	if (si->signo == SIGABRT)
		return NULL;
	if (verdict_sent_by_self(si) && !strcmp(code, "SI_USER"))
		return "sent by itself (kill)";
	if (verdict_sent_by_self(si) && !strcmp(code, "SI_QUEUE"))
		return "sent by itself (sigqueue)";
	if (verdict_sent_by_self(si) && !strcmp(code, "SI_TKILL"))
		return "sent by itself (raise or tgkill)";
	if (!strcmp(code, "SI_USER") || !strcmp(code, "SI_QUEUE"))
		return "sent by another process";
	return NULL;
}

size_t verdict_slogan(const struct verdict_siginfo *si, json_object *threads, char *buf, size_t len)
{
	struct verdict_buf b = { buf, len, 0 };
	const char *sig = si->signal_name ? si->signal_name : signal_name(si->signo);
	json_object *frames = verdict_frames(threads);

	if (len == 0)
		return 0;
	buf[0] = '\0';
	if (sig)
		verdict_add(&b, "%s", sig);
	else
		verdict_add(&b, "signal %d", si->signo);
	/* abort() raises SIGABRT with SI_TKILL: the code says nothing then. */
	if (si->code_name && si->signo != SIGABRT)
		verdict_add(&b, " (%s)", si->code_name);
	if (si->has_addr) {
		verdict_add(&b, " %s 0x%" PRIx64, si->access ? si->access : "at", si->addr);
		const char *r = si->region ? si->region : "";
		size_t before = b.n;
		if (!strcmp(r, "below-stack") && si->region_thread >= 0)
			verdict_add(&b, ", just below thread %d's stack", si->region_thread);
		else if (!strcmp(r, "below-stack"))
			verdict_add(&b, ", just below a thread's stack");
		else if (!strcmp(r, "stack") && si->region_thread >= 0)
			verdict_add(&b, ", in thread %d's stack", si->region_thread);
		else if (!strcmp(r, "heap"))
			verdict_add(&b, ", in the heap");
		else if (!strcmp(r, "unmapped"))
			verdict_add(&b, ", unmapped");
		else if (r[0])
			verdict_add(&b, ", in %s", r);
		if (b.n > before)
			verdict_add(&b, ",");
	}

	bool done = false;
	if (frames && si->signo == SIGABRT)
		done = verdict_add_abort(&b, frames);
	if (frames && !done) {
		size_t i = verdict_first_meaningful(frames, 0), n = json_object_array_length(frames);
		if (i < n) {
			json_object *f = json_object_array_get_idx(frames, i);
			verdict_add(&b, " in ");
			verdict_add_frame(&b, f, true);
			/* Died inside libc: name the caller too. */
			if (verdict_frame_system(f))
				for (size_t j = i + 1; j < n; j++) {
					json_object *c = json_object_array_get_idx(frames, j);
					if (!verdict_frame_system(c) && verdict_str(c, "module")) {
						verdict_add(&b, " ← ");
						verdict_add_frame(&b, c, false);
						break;
					}
				}
		}
	}
	/* A trailing comma from the address part, when no frame followed. */
	if (b.n > 0 && buf[b.n - 1] == ',')
		buf[--b.n] = '\0';

	const char *what = verdict_classify(si);
	if (what) {
		if (si->has_addr && si->addr != 0 && !strcmp(what, "NULL pointer dereference"))
			verdict_add(&b, " — NULL pointer dereference (NULL + 0x%" PRIx64 ")", si->addr);
		else
			verdict_add(&b, " — %s", what);
	}
	return b.n;
}
