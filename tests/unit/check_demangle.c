/* demangle: C++ and both Rust schemes through libiberty, and its caps on
 * hostile names (pure, no cores). */
#include <errno.h>
#include <string.h>

#include "testutil.h"
#include "analysis/demangle.h"

static void dm_is(const char *raw, const char *want)
{
	char buf[DEMANGLE_OUT_MAX + 1];
	int r = demangle_name(raw, buf, sizeof(buf));
	ck_assert_msg(r > 0, "%s: %d", raw, r);
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(r, (int)strlen(want));
}

START_TEST(test_cxx)
{
	dm_is("_ZN2ns3FooIiE3barEv", "ns::Foo<int>::bar()");
	dm_is("_ZZ4mainENKUliE_clEi", "main::{lambda(int)#1}::operator()(int) const");
	dm_is("_ZSt9terminatev", "std::terminate()");
	dm_is("_ZN2ns7throwerEi.cold", "ns::thrower(int) [clone .cold]");
	/* a symbol version is kept as it was */
	dm_is("_ZNSt6chrono3_V212system_clock3nowEv@@GLIBCXX_3.4.19",
	      "std::chrono::_V2::system_clock::now()@@GLIBCXX_3.4.19");
}
END_TEST

START_TEST(test_rust)
{
	/* legacy: the hash is left out, as rustc's own demangler does */
	dm_is("_ZN7an_rust6shapes4poke17h0123456789abcdefE", "an_rust::shapes::poke");
	dm_is("_ZN4core3ptr13drop_in_place17h7d9c2f3a1b2c3d4eE", "core::ptr::drop_in_place");
	/* v0 */
	dm_is("_RNvNtCsec8IDqJw7PX_7an_rust6shapes4poke", "an_rust::shapes::poke");
	dm_is("_RNvMNtCsec8IDqJw7PX_7an_rust6shapesINtB2_6HolderyE4takeB4_", "<an_rust::shapes::Holder<u64>>::take");
}
END_TEST

START_TEST(test_not_mangled)
{
	char buf[64];
	ck_assert_int_eq(demangle_name("main", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(demangle_name("__libc_start_main@@GLIBC_2.34", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(demangle_name("", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(demangle_name(NULL, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(demangle_name("_Z", buf, sizeof(buf)), -EBADMSG);
	ck_assert_int_eq(demangle_name("_ZN3foo", buf, sizeof(buf)), -EBADMSG);
	ck_assert_int_eq(demangle_name("_R", buf, sizeof(buf)), -EBADMSG);
	ck_assert_int_eq(demangle_name("_Zzzzzzz\xff\xfe", buf, sizeof(buf)), -EBADMSG);
}
END_TEST

/* Input over DEMANGLE_IN_MAX is not tried; output over DEMANGLE_OUT_MAX (or
 * the buffer) is refused, never truncated into a wrong name. */
START_TEST(test_caps)
{
	static char big[DEMANGLE_IN_MAX + 64];
	char buf[DEMANGLE_OUT_MAX + 1];
	/* _ZN + "3abc" × k + "E": "abc::abc::…" */
	strcpy(big, "_ZN");
	size_t n = 3;
	while (n + 5 < DEMANGLE_IN_MAX + 32) {
		memcpy(big + n, "3abc", 4);
		n += 4;
	}
	strcpy(big + n, "Ev");
	ck_assert_int_eq(demangle_name(big, buf, sizeof(buf)), -E2BIG);
	/* about 1,000 bytes in, 5 bytes out per 4 in: over the output cap */
	big[3 + 4 * 250] = '\0';
	strcat(big, "Ev");
	ck_assert_int_eq(demangle_name(big, buf, sizeof(buf)), -EOVERFLOW);
	/* a small buffer is a cap too */
	char small[8];
	ck_assert_int_eq(demangle_name("_ZN2ns3FooIiE3barEv", small, sizeof(small)), -EOVERFLOW);
	/* back-references that expand: S_ repeats the type so far */
	char exp[DEMANGLE_IN_MAX];
	strcpy(exp, "_Z1fIJ");
	for (int i = 0; i < 200; i++)
		strcat(exp, "S_");
	strcat(exp, "EEvv");
	int r = demangle_name(exp, buf, sizeof(buf));
	ck_assert(r == -EOVERFLOW || r == -EBADMSG || (r > 0 && r <= DEMANGLE_OUT_MAX));
}
END_TEST

/* Nesting deep enough to recurse without end if unchecked: libiberty's
 * recursion limit refuses it; the process survives. */
START_TEST(test_deep)
{
	static char deep[DEMANGLE_IN_MAX + 1];
	char buf[DEMANGLE_OUT_MAX + 1];
	strcpy(deep, "_Z1f");
	size_t n = strlen(deep);
	while (n < DEMANGLE_IN_MAX - 2)
		deep[n++] = 'P';
	deep[n++] = 'i';
	deep[n] = '\0';
	int r = demangle_name(deep, buf, sizeof(buf));
	ck_assert(r == -EOVERFLOW || r == -EBADMSG);
}
END_TEST

static Suite *demangle_suite(void)
{
	Suite *s = suite_create("demangle");
	TCase *tc = tcase_create("demangle");
	tcase_add_test(tc, test_cxx);
	tcase_add_test(tc, test_rust);
	tcase_add_test(tc, test_not_mangled);
	tcase_add_test(tc, test_caps);
	tcase_add_test(tc, test_deep);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(demangle_suite());
}
