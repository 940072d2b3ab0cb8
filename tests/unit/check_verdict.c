/* verdict: signatures and slogans from given frames (pure, no cores). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "analysis/verdict.h"

/* One frame: module path, function (NULL: none), module offset. */
struct tf {
	const char *module, *function;
	long long module_offset;
	bool inlined;
};

static json_object *threads_of(const struct tf *f, size_t n, unsigned long long pc_base)
{
	json_object *threads = json_object_new_array(), *t = json_object_new_object(),
		    *frames = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *j = json_object_new_object();
		char pc[32];
		snprintf(pc, sizeof(pc), "0x%llx", pc_base + (unsigned long long)f[i].module_offset);
		json_object_object_add(j, "pc", json_object_new_string(pc));
		json_object_object_add(j, "module", f[i].module ? json_object_new_string(f[i].module) : NULL);
		json_object_object_add(j, "function", f[i].function ? json_object_new_string(f[i].function) : NULL);
		json_object_object_add(j, "module_offset", f[i].module ? json_object_new_int64(f[i].module_offset) : NULL);
		json_object_object_add(j, "inlined", json_object_new_boolean(f[i].inlined));
		json_object_array_add(frames, j);
	}
	/* an idle thread first, not crashed: must be ignored */
	json_object *idle = json_object_new_object(), *iframes = json_object_new_array(), *ij = json_object_new_object();
	json_object_object_add(ij, "module", json_object_new_string("/usr/lib/libc.so.6"));
	json_object_object_add(ij, "function", json_object_new_string("pause"));
	json_object_array_add(iframes, ij);
	json_object_object_add(idle, "crashed", json_object_new_boolean(false));
	json_object_object_add(idle, "frames", iframes);
	json_object_array_add(threads, idle);
	json_object_object_add(t, "crashed", json_object_new_boolean(true));
	json_object_object_add(t, "frames", frames);
	json_object_array_add(threads, t);
	return threads;
}

static void sig_of(const struct tf *f, size_t n, unsigned long long pc_base, char out[17])
{
	json_object *t = threads_of(f, n, pc_base);
	ck_assert_int_eq(verdict_signature(NULL, t, out), 0);
	ck_assert_uint_eq(strlen(out), 16);
	ck_assert_uint_eq(strspn(out, "0123456789abcdef"), 16);
	json_object_put(t);
}

START_TEST(test_signature_stable)
{
	const struct tf a[] = {
		{ "/opt/app/lib/libfoo.so.1", "parse_header", 0x1a2b, false },
		{ "/opt/app/lib/libfoo.so.1", "parse", 0x1b00, false },
		{ "/opt/app/bin/app", "main", 0x1189, false },
		{ "/usr/lib/x86_64-linux-gnu/libc.so.6", "__libc_start_call_main", 0x2724a, false },
	};
	/* Another host, another run: other paths, addresses, versioned and
	 * clone-suffixed names, the signal machinery on top, an inlined frame
	 * (debug info present here only). */
	const struct tf b[] = {
		{ "/lib/x86_64-linux-gnu/libc.so.6", "__pthread_kill_implementation", 0x8aebc, false },
		{ "/lib/x86_64-linux-gnu/libc.so.6", "__GI_raise", 0x3cfb2, false },
		{ "/lib/x86_64-linux-gnu/libc.so.6", "abort", 0x27472, false },
		{ "/srv/libfoo.so.1", "inlined_helper", 0x1a2b, true },
		{ "/srv/libfoo.so.1", "parse_header", 0x1a2b, false },
		{ "/srv/libfoo.so.1", "parse.isra.0", 0x1b00, false },
		{ "/home/x/app", "main", 0x1189, false },
		{ "/lib/libc.so.6", "__libc_start_call_main@@GLIBC_2.34", 0x2724a, false },
	};
	char sa[17], sb[17], sc[17];
	sig_of(a, 4, 0x7f0000000000ull, sa);
	sig_of(b, 8, 0x7f1234560000ull, sb);
	ck_assert_str_eq(sa, sb);
	/* the same crash twice gives the same string, byte for byte */
	sig_of(a, 4, 0x560000000000ull, sc);
	ck_assert_str_eq(sa, sc);
}
END_TEST

START_TEST(test_signature_differs)
{
	const struct tf a[] = { { "/bin/app", "parse_header", 0x10, false }, { "/bin/app", "main", 0x20, false } };
	const struct tf b[] = { { "/bin/app", "parse_body", 0x10, false }, { "/bin/app", "main", 0x20, false } };
	const struct tf c[] = { { "/bin/other", "parse_header", 0x10, false }, { "/bin/other", "main", 0x20, false } };
	/* Only the top VERDICT_SIG_FRAMES count: a difference further down does not. */
	const struct tf d[] = { { "/bin/app", "f1", 0, false }, { "/bin/app", "f2", 0, false }, { "/bin/app", "f3", 0, false },
				{ "/bin/app", "f4", 0, false }, { "/bin/app", "f5", 0, false }, { "/bin/app", "f6", 0, false } };
	const struct tf e[] = { { "/bin/app", "f1", 0, false }, { "/bin/app", "f2", 0, false }, { "/bin/app", "f3", 0, false },
				{ "/bin/app", "f4", 0, false }, { "/bin/app", "f5", 0, false }, { "/bin/app", "other", 0, false } };
	char sa[17], sb[17], sc[17], sd[17], se[17];
	sig_of(a, 2, 0, sa);
	sig_of(b, 2, 0, sb);
	sig_of(c, 2, 0, sc);
	sig_of(d, 6, 0, sd);
	sig_of(e, 6, 0, se);
	ck_assert_str_ne(sa, sb);
	ck_assert_str_ne(sa, sc);
	ck_assert_str_eq(sd, se);
}
END_TEST

START_TEST(test_signature_no_symbol)
{
	/* stripped: module + offset, which moves with the code, not with ASLR */
	const struct tf a[] = { { "/bin/stripped", NULL, 0x1a2b, false }, { "/bin/stripped", NULL, 0x1c00, false } };
	const struct tf b[] = { { "/bin/stripped", NULL, 0x1a2c, false }, { "/bin/stripped", NULL, 0x1c00, false } };
	char sa[17], sa2[17], sb[17];
	sig_of(a, 2, 0x1000, sa);
	sig_of(a, 2, 0x9000, sa2);
	sig_of(b, 2, 0x1000, sb);
	ck_assert_str_eq(sa, sa2);
	ck_assert_str_ne(sa, sb);
}
END_TEST

START_TEST(test_signature_nodata)
{
	char out[17] = "untouched";
	json_object *empty = json_object_new_array();
	ck_assert_int_eq(verdict_signature(NULL, NULL, out), -ENODATA);
	ck_assert_int_eq(verdict_signature(NULL, empty, out), -ENODATA);
	/* only machinery and frames outside any module */
	const struct tf a[] = { { "/lib/libc.so.6", "raise", 1, false }, { NULL, NULL, 0, false }, { "/lib/libc.so.6", "abort", 2, false } };
	json_object *t = threads_of(a, 3, 0);
	ck_assert_int_eq(verdict_signature(NULL, t, out), -ENODATA);
	ck_assert_str_eq(out, "untouched");
	json_object_put(t);
	json_object_put(empty);
}
END_TEST

static void slogan_is(const struct verdict_siginfo *si, const struct tf *f, size_t n, const char *want)
{
	json_object *t = f ? threads_of(f, n, 0x7f0000000000ull) : NULL;
	char buf[VERDICT_SLOGAN_MAX];
	size_t len = verdict_slogan(si, t, buf, sizeof(buf));
	ck_assert_str_eq(buf, want);
	ck_assert_uint_eq(len, strlen(want));
	json_object_put(t);
}

START_TEST(test_slogan_null)
{
	const struct tf f[] = { { "/usr/lib/libfoo.so.1", "parse_header", 0x1a2b, false }, { "/bin/app", "main", 0x10, false } };
	struct verdict_siginfo si = { .signo = SIGSEGV, .code_name = "SEGV_MAPERR", .has_addr = true, .addr = 0,
				      .access = "reading", .region_thread = -1 };
	slogan_is(&si, f, 2, "SIGSEGV (SEGV_MAPERR) reading 0x0 in parse_header() at libfoo.so.1+0x1a2b — NULL pointer dereference");
	si.access = NULL;
	si.addr = 0x18;
	si.region = "unmapped";
	slogan_is(&si, f, 2, "SIGSEGV (SEGV_MAPERR) at 0x18, unmapped, in parse_header() at libfoo.so.1+0x1a2b — NULL pointer dereference (NULL + 0x18)");
}
END_TEST

START_TEST(test_slogan_abort)
{
	const struct tf f[] = {
		{ "/lib/x86_64-linux-gnu/libc.so.6", "__pthread_kill_implementation", 0x8aebc, false },
		{ "/lib/x86_64-linux-gnu/libc.so.6", "raise", 0x3cfb2, false },
		{ "/lib/x86_64-linux-gnu/libc.so.6", "abort", 0x27472, false },
		{ "/lib/x86_64-linux-gnu/libc.so.6", "__assert_fail_base", 0x27395, false },
		{ "/lib/x86_64-linux-gnu/libc.so.6", "__assert_fail", 0x35eb2, false },
		{ "/bin/app", "check_invariants", 0x1200, false },
		{ "/bin/app", "main", 0x1300, false },
	};
	struct verdict_siginfo si = { .signo = SIGABRT, .code_name = "SI_TKILL", .region_thread = -1 };
	slogan_is(&si, f, 7, "SIGABRT in abort() ← __assert_fail() ← check_invariants()");
	/* abort() called directly */
	const struct tf g[] = { { "/lib/libc.so.6", "raise", 1, false }, { "/lib/libc.so.6", "abort", 2, false },
				{ "/bin/app", "give_up", 3, false } };
	slogan_is(&si, g, 3, "SIGABRT in abort() ← give_up()");
	/* SIGABRT sent from outside: no abort() on the stack */
	const struct tf h[] = { { "/lib/libc.so.6", "pause", 0x10, false }, { "/bin/app", "wait_here", 0x20, false } };
	si.code_name = "SI_USER";
	slogan_is(&si, h, 2, "SIGABRT in pause() at libc.so.6+0x10 ← wait_here()");
}
END_TEST

START_TEST(test_slogan_stack_overflow)
{
	const struct tf f[] = { { "/bin/app", "recurse", 0x1189, false }, { "/bin/app", "recurse", 0x11a0, false } };
	struct verdict_siginfo si = { .signo = SIGSEGV, .code_name = "SEGV_MAPERR", .has_addr = true,
				      .addr = 0x7ffd12345ff8ull, .region = "below-stack", .region_thread = 3 };
	slogan_is(&si, f, 2, "SIGSEGV (SEGV_MAPERR) at 0x7ffd12345ff8, just below thread 3's stack, in recurse() at app+0x1189 — stack overflow");
	slogan_is(&si, NULL, 0, "SIGSEGV (SEGV_MAPERR) at 0x7ffd12345ff8, just below thread 3's stack — stack overflow");
}
END_TEST

START_TEST(test_slogan_misc)
{
	const struct tf f[] = { { "/bin/app", "compute", 0x40, false } };
	struct verdict_siginfo si = { .signo = SIGFPE, .code_name = "FPE_INTDIV", .has_addr = true,
				      .addr = 0x555555555140ull, .region = "app", .region_thread = -1 };
	slogan_is(&si, f, 1, "SIGFPE (FPE_INTDIV) at 0x555555555140, in app, in compute() at app+0x40 — integer division by zero");
	/* no symbol, no module */
	const struct tf g[] = { { NULL, NULL, 0, false }, { "/bin/app", NULL, 0x99, false } };
	struct verdict_siginfo q = { .signo = SIGQUIT, .code_name = "SI_USER", .region_thread = -1 };
	slogan_is(&q, g, 2, "SIGQUIT (SI_USER) in 0x7f0000000000 — sent by another process");
	/* unknown signal, given name wins, nothing else known */
	struct verdict_siginfo u = { .signo = 99, .region_thread = -1 };
	slogan_is(&u, NULL, 0, "signal 99");
	u.signal_name = "SIGRT99";
	slogan_is(&u, NULL, 0, "SIGRT99");
	/* a died-in-libc crash names the caller */
	const struct tf h[] = { { "/lib/libc.so.6", "__strlen_avx2", 0x15c9d, false }, { "/lib/libc.so.6", "__GI_strdup", 0x80, false },
				{ "/bin/app", "copy_name", 0x77, false } };
	struct verdict_siginfo s = { .signo = SIGSEGV, .code_name = "SEGV_MAPERR", .has_addr = true, .addr = 0x10,
				     .region_thread = -1 };
	slogan_is(&s, h, 3, "SIGSEGV (SEGV_MAPERR) at 0x10 in __strlen_avx2() at libc.so.6+0x15c9d ← copy_name() — NULL pointer dereference (NULL + 0x10)");
}
END_TEST

/* Who sent the signal: the process itself (`bash -c 'kill -SEGV $$'`, also in
 * a pid namespace, where the core gives both pids as the namespace sees them)
 * or someone else (another pid, or the same pid number under another uid). */
START_TEST(test_slogan_sender)
{
	const struct tf g[] = { { "/bin/bash", "kill_builtin", 0x99, false } };
	struct verdict_siginfo q = { .signo = SIGSEGV, .code_name = "SI_USER", .region_thread = -1,
				     .has_sender = true, .sender_pid = 4242, .sender_uid = 1000,
				     .has_self = true, .self_pid = 4242, .self_uid = 1000 };
	ck_assert(verdict_sent_by_self(&q));
	slogan_is(&q, g, 1, "SIGSEGV (SI_USER) in kill_builtin() at bash+0x99 — sent by itself (kill)");
	/* in its own pid namespace: pid 1 sends to pid 1 */
	q.sender_pid = q.self_pid = 1;
	slogan_is(&q, g, 1, "SIGSEGV (SI_USER) in kill_builtin() at bash+0x99 — sent by itself (kill)");
	q.code_name = "SI_QUEUE";
	slogan_is(&q, g, 1, "SIGSEGV (SI_QUEUE) in kill_builtin() at bash+0x99 — sent by itself (sigqueue)");
	q.code_name = "SI_TKILL";
	slogan_is(&q, g, 1, "SIGSEGV (SI_TKILL) in kill_builtin() at bash+0x99 — sent by itself (raise or tgkill)");
	/* another process */
	q.code_name = "SI_USER";
	q.sender_pid = 77;
	ck_assert(!verdict_sent_by_self(&q));
	slogan_is(&q, g, 1, "SIGSEGV (SI_USER) in kill_builtin() at bash+0x99 — sent by another process");
	/* the same pid number, another uid: not itself */
	q.sender_pid = 1;
	q.sender_uid = 0;
	slogan_is(&q, g, 1, "SIGSEGV (SI_USER) in kill_builtin() at bash+0x99 — sent by another process");
	/* the crashed pid unknown (no NT_PRPSINFO): nothing claimed */
	q.sender_uid = 1000;
	q.has_self = false;
	slogan_is(&q, g, 1, "SIGSEGV (SI_USER) in kill_builtin() at bash+0x99 — sent by another process");
	/* a tgkill from elsewhere says nothing */
	q.code_name = "SI_TKILL";
	slogan_is(&q, g, 1, "SIGSEGV (SI_TKILL) in kill_builtin() at bash+0x99");
	/* abort(): its stack speaks, never a sender verdict */
	q.signo = SIGABRT;
	q.has_self = true;
	slogan_is(&q, NULL, 0, "SIGABRT");
}
END_TEST

START_TEST(test_slogan_truncates)
{
	const struct tf f[] = { { "/bin/app", "a_rather_long_function_name", 0x40, false } };
	struct verdict_siginfo si = { .signo = SIGSEGV, .code_name = "SEGV_MAPERR", .has_addr = true, .addr = 0,
				      .region_thread = -1 };
	json_object *t = threads_of(f, 1, 0);
	char buf[20];
	memset(buf, 'x', sizeof(buf));
	size_t n = verdict_slogan(&si, t, buf, sizeof(buf));
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_uint_le(n, sizeof(buf) - 1);
	ck_assert_int_eq(strncmp(buf, "SIGSEGV (SEGV_MAPER", n), 0);
	ck_assert_uint_eq(verdict_slogan(&si, t, buf, 0), 0);
	json_object_put(t);
}
END_TEST

static void sig_kind(const struct verdict_siginfo *si, json_object *t, char out[17])
{
	ck_assert_int_eq(verdict_signature(si, t, out), 0);
	ck_assert_uint_eq(strlen(out), 16);
}

/* The kind of failure is part of the signature: the same frames make two
 * groups for an abort() and a NULL dereference, and for a NULL dereference
 * and a stack overflow; the same kind twice makes one. */
START_TEST(test_signature_kind)
{
	const struct tf f[] = {
		{ "/opt/app/bin/app", "_ZN2ns3FooIiE3barEv", 0x1333, false },
		{ "/opt/app/bin/app", "main", 0x1189, false },
	};
	json_object *t = threads_of(f, 2, 0x555555554000ull);
	struct verdict_siginfo abrt = { .signo = SIGABRT, .code_name = "SI_TKILL", .region_thread = -1 };
	struct verdict_siginfo null = { .signo = SIGSEGV, .code_name = "SEGV_MAPERR", .has_addr = true, .addr = 0x8,
					.region = "unmapped", .region_thread = -1 };
	struct verdict_siginfo null2 = null;
	null2.addr = 0x10;
	struct verdict_siginfo wild = null;
	wild.addr = 0xdeadbeef000;
	struct verdict_siginfo so = { .signo = SIGSEGV, .code_name = "SEGV_MAPERR", .has_addr = true,
				      .addr = 0x7ffd12345ff8, .region = "below-stack", .region_thread = 1 };
	struct verdict_siginfo gp = { .signo = SIGSEGV, .code_name = "SI_KERNEL", .has_addr = true, .addr = 0,
				      .region_thread = -1 };
	char a[17], n[17], n2[17], w[17], s[17], g[17], kind[64];
	sig_kind(&abrt, t, a);
	sig_kind(&null, t, n);
	sig_kind(&null2, t, n2);
	sig_kind(&wild, t, w);
	sig_kind(&so, t, s);
	sig_kind(&gp, t, g);
	ck_assert_str_ne(a, n);
	ck_assert_str_eq(n, n2);
	ck_assert_str_ne(n, w);
	ck_assert_str_ne(n, s);
	ck_assert_str_ne(w, s);
	ck_assert_str_eq(g, w); /* a general-protection fault is not a NULL page */
	verdict_kind(&abrt, kind, sizeof(kind));
	ck_assert_str_eq(kind, "SIGABRT");
	verdict_kind(&null, kind, sizeof(kind));
	ck_assert_str_eq(kind, "SIGSEGV/null");
	verdict_kind(&so, kind, sizeof(kind));
	ck_assert_str_eq(kind, "SIGSEGV/stack-overflow");
	verdict_kind(&wild, kind, sizeof(kind));
	ck_assert_str_eq(kind, "SIGSEGV/other");
	json_object_put(t);
}
END_TEST

/* Demangled frames: the signature hashes the name in the binary (so it does
 * not move with the demangler), the slogan shows the demangled one, and the
 * machinery is known by either name. */
static json_object *threads_demangled(void)
{
	json_object *t = threads_of((const struct tf[]){
					    { "/usr/lib/libc.so.6", "abort", 0x10, false },
					    { "/usr/lib/libstdc++.so.6", "_ZSt9terminatev", 0x20, false },
					    { "/opt/app/bin/app", "_ZN2ns7throwerEi", 0x30, false },
					    { "/opt/app/bin/app", "main", 0x40, false },
				    },
				    4, 0);
	json_object *frames = json_object_object_get(json_object_array_get_idx(t, 1), "frames");
	const char *dem[] = { "abort", "std::terminate()", "ns::thrower(int)", "main" };
	for (size_t i = 0; i < 4; i++) {
		json_object *f = json_object_array_get_idx(frames, i);
		json_object_object_add(f, "function_raw", json_object_get(json_object_object_get(f, "function")));
		json_object_object_add(f, "function", json_object_new_string(dem[i]));
	}
	return t;
}

START_TEST(test_signature_demangled)
{
	struct verdict_siginfo abrt = { .signo = SIGABRT, .region_thread = -1 };
	json_object *dm = threads_demangled();
	json_object *raw = threads_of((const struct tf[]){
					      { "/usr/lib/libc.so.6", "abort", 0x10, false },
					      { "/usr/lib/libstdc++.so.6", "_ZSt9terminatev", 0x20, false },
					      { "/opt/app/bin/app", "_ZN2ns7throwerEi", 0x30, false },
					      { "/opt/app/bin/app", "main", 0x40, false },
				      },
				      4, 0);
	char a[17], b[17], buf[256];
	sig_kind(&abrt, dm, a);
	sig_kind(&abrt, raw, b);
	ck_assert_str_eq(a, b); /* a record from before demangling groups alike */
	verdict_slogan(&abrt, dm, buf, sizeof(buf));
	ck_assert_str_eq(buf, "SIGABRT in abort() ← std::terminate() ← ns::thrower(int)");
	json_object_put(dm);
	json_object_put(raw);
}
END_TEST

/* Rust: the build hash of a legacy name and a v0 name's disambiguators are
 * left out (the demangled name is hashed), and the panic machinery is not
 * counted, so two panics in one program at different places differ. */
START_TEST(test_signature_rust)
{
	struct verdict_siginfo abrt = { .signo = SIGABRT, .region_thread = -1 };
	const char *raw1[] = { "_ZN3std9panicking15panic_with_hook17h0123456789abcdefE",
			       "_ZN7an_rust6shapes4take17h1111111111111111E", "_ZN7an_rust4main17h2222222222222222E" };
	const char *raw2[] = { "_ZN3std9panicking15panic_with_hook17hfedcba9876543210E",
			       "_ZN7an_rust6shapes4take17h3333333333333333E", "_ZN7an_rust4main17h4444444444444444E" };
	const char *raw3[] = { "_ZN3std9panicking15panic_with_hook17h0123456789abcdefE",
			       "_ZN7an_rust6shapes4poke17h1111111111111111E", "_ZN7an_rust4main17h2222222222222222E" };
	const char *dem1[] = { "std::panicking::panic_with_hook", "an_rust::shapes::take", "an_rust::main" };
	const char *dem3[] = { "std::panicking::panic_with_hook", "an_rust::shapes::poke", "an_rust::main" };
	const char **raws[] = { raw1, raw2, raw3 }, **dems[] = { dem1, dem1, dem3 };
	char sig[3][17];
	for (int k = 0; k < 3; k++) {
		json_object *t = threads_of((const struct tf[]){ { "/bin/an_rust", "x", 0x10, false },
								 { "/bin/an_rust", "x", 0x20, false },
								 { "/bin/an_rust", "x", 0x30, false } },
					    3, 0);
		json_object *frames = json_object_object_get(json_object_array_get_idx(t, 1), "frames");
		for (size_t i = 0; i < 3; i++) {
			json_object *f = json_object_array_get_idx(frames, i);
			json_object_object_add(f, "function_raw", json_object_new_string(raws[k][i]));
			json_object_object_add(f, "function", json_object_new_string(dems[k][i]));
		}
		sig_kind(&abrt, t, sig[k]);
		if (k == 0) {
			char buf[256];
			verdict_slogan(&abrt, t, buf, sizeof(buf));
			ck_assert_str_eq(buf, "SIGABRT in an_rust::shapes::take() at an_rust+0x20");
		}
		json_object_put(t);
	}
	ck_assert_str_eq(sig[0], sig[1]);
	ck_assert_str_ne(sig[0], sig[2]);
}
END_TEST

static Suite *verdict_suite(void)
{
	Suite *s = suite_create("verdict");
	TCase *tc = tcase_create("verdict");
	tcase_add_test(tc, test_signature_stable);
	tcase_add_test(tc, test_signature_differs);
	tcase_add_test(tc, test_signature_no_symbol);
	tcase_add_test(tc, test_signature_nodata);
	tcase_add_test(tc, test_signature_kind);
	tcase_add_test(tc, test_signature_demangled);
	tcase_add_test(tc, test_signature_rust);
	tcase_add_test(tc, test_slogan_null);
	tcase_add_test(tc, test_slogan_abort);
	tcase_add_test(tc, test_slogan_stack_overflow);
	tcase_add_test(tc, test_slogan_misc);
	tcase_add_test(tc, test_slogan_truncates);
	tcase_add_test(tc, test_slogan_sender);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(verdict_suite());
}
