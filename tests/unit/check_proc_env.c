/* Unit tests for src/capture/proc_env.c: the redaction of a command line and
 * the secrets kept for the minicore's scrub. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "capture/proc.h"
#include "testutil.h"

/* argv as the kernel gives it: NUL-separated, a final NUL. */
static void args_eq(const char *const *argv, size_t argc, const char *const *pats, size_t npats, const char *want,
		    struct proc_secrets *sec)
{
	char buf[1024];
	size_t len = 0;
	for (size_t i = 0; i < argc; i++) {
		size_t l = strlen(argv[i]) + 1;
		memcpy(buf + len, argv[i], l);
		len += l;
	}
	char *out = NULL;
	size_t n = 0;
	ck_assert_int_eq(proc_args_redact(buf, len, pats, npats, NULL, 0, sec, &out, &n), 0);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(n, strlen(want));
	free(out);
}

START_TEST(test_args_default)
{
	struct proc_secrets sec = { 0 };
	const char *a1[] = { "psql", "--password=hunter2", "--host", "db" };
	args_eq(a1, 4, NULL, 0, "psql --password=<redacted> --host db", &sec);
	const char *a2[] = { "tool", "--api-token", "abc123", "--verbose" };
	args_eq(a2, 4, NULL, 0, "tool --api-token <redacted> --verbose", &sec);
	const char *a3[] = { "app", "postgres://user:pa55@db:5432/x" };
	args_eq(a3, 2, NULL, 0, "app postgres://user:<redacted>@db:5432/x", &sec);
	const char *a4[] = { "env", "DB_PASS=s3cret", "PATH=/bin" };
	args_eq(a4, 3, NULL, 0, "env DB_PASS=<redacted> PATH=/bin", &sec);
	/* mkdir -p is not a password: the built-in list has no "-p". */
	const char *a5[] = { "mkdir", "-p", "/tmp/x" };
	args_eq(a5, 3, NULL, 0, "mkdir -p /tmp/x", &sec);
	/* The --opt=VALUE ones are kept for the minicore, whole. */
	ck_assert_uint_eq(sec.n, 2);
	ck_assert_str_eq(sec.buf, "--password=hunter2");
	ck_assert_str_eq(sec.buf + strlen(sec.buf) + 1, "DB_PASS=s3cret");
	struct iovec *v;
	size_t nv;
	ck_assert_int_eq(proc_secrets_iov(&sec, &v, &nv), 0);
	ck_assert_uint_eq(nv, 2);
	ck_assert_uint_eq(v[1].iov_len, strlen("DB_PASS=s3cret"));
	free(v);
	proc_secrets_free(&sec);
}
END_TEST

START_TEST(test_args_configured)
{
	/* mysql -pSECRET: a two-character pattern takes the attached form. */
	const char *pats[] = { "-p", "--password" };
	const char *a1[] = { "mysql", "-pSECRET", "-u", "root" };
	args_eq(a1, 4, pats, 2, "mysql -p<redacted> -u root", NULL);
	const char *a2[] = { "mysql", "-p", "SECRET" };
	args_eq(a2, 3, pats, 2, "mysql -p <redacted>", NULL);
	/* An explicit list replaces the built-in one (a separate value is then
	 * only redacted after a listed option; "--x=V" still is when x is a
	 * secret environment key). */
	const char *a3[] = { "tool", "--api-token", "abc", "--token=x" };
	args_eq(a3, 4, pats, 2, "tool --api-token abc --token=<redacted>", NULL);
	/* The last option wants a value that is not there: nothing breaks. */
	const char *a4[] = { "tool", "--password" };
	args_eq(a4, 2, pats, 2, "tool --password", NULL);
	args_eq(NULL, 0, pats, 2, "", NULL);
}
END_TEST

START_TEST(test_secrets_caps)
{
	struct proc_secrets sec = { 0 };
	const char *a[] = { "x", "--password=0123456789" };
	for (int i = 0; i < PROC_SECRETS_MAX + 5; i++)
		args_eq(a, 2, NULL, 0, "x --password=<redacted>", &sec);
	ck_assert_uint_eq(sec.n, PROC_SECRETS_MAX);
	ck_assert(sec.capped);
	proc_secrets_free(&sec);
}
END_TEST

START_TEST(test_default_keys)
{
	const char *secret[] = { "DB_PASS", "MYSQL_PWD", "PGPASSWORD", "GITHUB_PAT", "SSH_PRIVATE_KEY",
				 "SESSION_COOKIE", "MY_API_TOKEN", "AWS_SECRET_ACCESS_KEY", "PGPASS" };
	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		ck_assert_msg(proc_env_key_is_secret(secret[i], NULL, 0) == 1, "%s not secret", secret[i]);
	const char *plain[] = { "HOME", "LANG", "PATH", "TERM", "SHELL" };
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		ck_assert_msg(proc_env_key_is_secret(plain[i], NULL, 0) == 0, "%s secret", plain[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("proc_env");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_args_default);
	tcase_add_test(tc, test_args_configured);
	tcase_add_test(tc, test_secrets_caps);
	tcase_add_test(tc, test_default_keys);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
