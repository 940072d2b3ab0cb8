/* The kernel's arguments for one crash, and the capture's lifetime. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "base/parse.h"
#include "base/util.h"
#include "capture/crash.h"

void crash_args_parse(int argc, const char *const *argv, struct crash_args *a)
{
	uint64_t u;
	int64_t i;

	*a = (struct crash_args){ .uid = -1, .gid = -1, .dumpable = -1, .pidfd = -1 };
#define PROBLEM(s) do { if (a->n_problems < CRASH_PROBLEMS_MAX) a->problems[a->n_problems++] = (s); } while (0)
	if (argc < 7)
		PROBLEM("too few arguments: expected %P %u %g %s %t %c %h [%d [%F]]");
	if (argc > 9)
		PROBLEM("too many arguments: expected %P %u %g %s %t %c %h [%d [%F]]");
	if (argc > 0 && parse_pid(argv[0], &a->pid) < 0)
		PROBLEM("argument 1 (%P): not a pid");
	if (argc > 1) {
		if (parse_u64(argv[1], &u) < 0 || u > UINT32_MAX)
			PROBLEM("argument 2 (%u): not a uid");
		else
			a->uid = (int64_t)u;
	}
	if (argc > 2) {
		if (parse_u64(argv[2], &u) < 0 || u > UINT32_MAX)
			PROBLEM("argument 3 (%g): not a gid");
		else
			a->gid = (int64_t)u;
	}
	if (argc > 3) {
		if (parse_u64(argv[3], &u) < 0 || u < 1 || u > 64)
			PROBLEM("argument 4 (%s): not a signal number");
		else
			a->signal = (int)u;
	}
	if (argc > 4) {
		if (parse_i64(argv[4], &i) < 0 || i < 0)
			PROBLEM("argument 5 (%t): not an epoch time");
		else
			a->kernel_time = i;
	}
	if (argc > 5) {
		if (parse_u64(argv[5], &a->rlimit_core) < 0)
			PROBLEM("argument 6 (%c): not a size");
		else
			a->has_rlimit = true;
	}
	if (argc > 6)
		snprintf(a->hostname, sizeof(a->hostname), "%s", argv[6]);
	if (argc > 7) {
		if (parse_u64(argv[7], &u) < 0 || u > 2)
			PROBLEM("argument 8 (%d): not a dumpable mode");
		else
			a->dumpable = (int)u;
	}
	if (argc > 8) {
		if (parse_u64(argv[8], &u) < 0 || u > INT32_MAX || fcntl((int)u, F_GETFD) < 0)
			PROBLEM("argument 9 (%F): not an open pidfd");
		else
			a->pidfd = (int)u;
	}
#undef PROBLEM
}

void crash_capture_free(struct crash_capture *cap)
{
	json_object_put(cap->proc);
	json_object_put(cap->sys);
	json_object_put(cap->errors);
	cap->proc = cap->sys = cap->errors = NULL;
	if (cap->root_fd >= 0)
		(void)close(cap->root_fd);
	proc_files_close(cap->files, cap->n_files);
	proc_secrets_free(&cap->secrets);
	cap->n_files = 0;
	if (cap->lock_fd >= 0)
		(void)close(cap->lock_fd);
	cap->root_fd = cap->lock_fd = -1;
}

