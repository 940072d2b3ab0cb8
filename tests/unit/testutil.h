/* Helpers shared by the unit suites. */
#pragma once
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* An anonymous read-write temp file (deleted already), as an fd. */
static inline int testutil_tmpfd(void)
{
	FILE *f = tmpfile();
	ck_assert_ptr_nonnull(f);
	int fd = dup(fileno(f));
	fclose(f);
	return fd;
}

/* Run one suite in fork mode; exit status for main(). */
static inline int testutil_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Root for real: uid 0 and capabilities in the effective set (read from the
 * kernel: under fakeroot geteuid() says 0 and means nothing; a package
 * build runs the suites as a normal user). */
static inline int testutil_real_root(void)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return geteuid() == 0 && eff != 0;
}

/* Skip the rest of a test (it passes) unless root for real, saying why. */
#define TESTUTIL_NEED_ROOT(why)                                                                  \
	do {                                                                                     \
		if (!testutil_real_root()) {                                                      \
			printf("  SKIP    %s: %s\n", __func__, why);                                 \
			return;                                                                  \
		}                                                                                \
	} while (0)
