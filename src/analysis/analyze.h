/* Sandboxed analysis: unwind a minicore (unwind.h) in a forked child that has
 * dropped its uid, gid and groups, may not gain privileges, may not dump core,
 * runs under rlimits and a seccomp allowlist, and answers through a pipe with a
 * byte cap within a wall-clock deadline. Whatever the core does to the child,
 * the parent gets a result object saying what happened. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/proc.h"

#define ANALYZE_RESULT_MAX      (16u << 20)   /* bytes of JSON the child may send */
#define ANALYZE_TIMEOUT_DEFAULT 60000         /* ms of wall clock */
#define ANALYZE_AS_DEFAULT      (1ull << 30)  /* RLIMIT_AS of the child */
#define ANALYZE_NOFILE          8448          /* RLIMIT_NOFILE: modules and their debug files */
#define ANALYZE_DEBUGINFOD_TIMEOUT_DEFAULT 30 /* s: DEBUGINFOD_TIMEOUT */
#define ANALYZE_DEBUGINFOD_FILE_MAX (2ull << 30) /* bytes of one download: DEBUGINFOD_MAXSIZE, RLIMIT_FSIZE */

struct analyze_opts {
	unsigned timeout_ms;      /* 0 = ANALYZE_TIMEOUT_DEFAULT */
	uint64_t max_as;          /* RLIMIT_AS bytes; 0 = ANALYZE_AS_DEFAULT */
	unsigned max_cpu_sec;     /* RLIMIT_CPU; 0 = the timeout, rounded up, plus 1 */
	const char *user;         /* run as; NULL = "mortem" if it exists, else "nobody" */
	/* The crashed process's root, as an O_PATH directory fd opened while it
	 * was alive (not owned), or -1 and a path, or -1 and NULL for "/". */
	int sysroot_fd;
	const char *sysroot;
	/* Files the process had mapped, opened while it lived (proc.h: deleted or
	 * unreadable binaries), used before their paths; not owned. */
	const struct proc_file *files;
	size_t n_files;
	pid_t crashed_tid;        /* see unwind_opts */
	json_object *thread_names; /* see unwind_opts; not owned */
	/* debuginfod: space-separated http(s) URLs, NULL or "" = none. Only with
	 * them does the child get the network (sockets, resolver threads) and
	 * file writes, and frames of modules without local debug information get
	 * source lines from the servers. Downloads are cached in debuginfod_cache,
	 * a directory that is created (or taken over) here, before the fork, mode
	 * 0700 and owned by the analysis user; without it there is no debuginfod. */
	const char *debuginfod_urls;
	unsigned debuginfod_timeout;  /* seconds of DEBUGINFOD_TIMEOUT; 0 = the default */
	const char *debuginfod_cache;
	/* Set (by a signal handler) when the analysis must end now, as at its
	 * deadline: a stopping mortemd cuts its workers' analyses short. NULL:
	 * never. */
	const volatile sig_atomic_t *cut;
	/* Tests only: the child makes this syscall once its filter is loaded
	 * (0 = none), to show how a refusal is recorded. */
	long probe_syscall;
};

/* Unwind minicore_path in the sandbox. Returns 0 and a new object in *ret:
 *   "analysis": {status: "ok"|"failed"|"skipped", error: string or null,
 *                duration_ms, max_rss_kib,
 *                sandbox: "uid U, gid G" (dropped to them) or, when the
 *                  caller is not root, "unprivileged: uid unchanged",
 *                sandbox_state: what the child measured of itself once
 *                  confined, when it answered: {uid, gid, any_uid_root,
 *                  pdeathsig, dumpable, no_new_privs},
 *                debuginfod: "on", or why not ("cache: …"); absent when off}
 * plus, when ok, the keys of unwind_core's output. A core that crashes, hangs
 * or floods the child is status "failed" with the reason ("refused by
 * seccomp: syscall 41 (socket)", "killed by SIGSEGV", "timed out after 60 s",
 * "result over 16 MiB"); minicore_path NULL or "" is "skipped". Negative errno only when the parent itself could not
 * run the analysis (no memory, no pipe, no fork). */
int analyze_run(const char *minicore_path, const struct analyze_opts *o, json_object **ret);
