/* Helpers shared by the unit suites. */
#pragma once
#include <check.h>
#include <stdlib.h>

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
