/* Retention, quotas and crash storms: the [Policy] decisions as pure functions.
 * No I/O, no clock, no allocation visible to the caller: the collector and
 * `mortem vacuum` gather the store's state into the plain structs below, pass
 * the time, and carry out what comes back. All times are microseconds since
 * the epoch (CLOCK_REALTIME, as in the records); an entry in the future (the
 * clock went backwards) has age 0, never a negative one. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mortem_config;

/* Whose crash it is. Every count that can skip a core (RateLimit,
 * KeepPerSignature) and the vacuum's grouping of cores are kept per owner, so
 * that one user's crashes never cost another user's core, nor a system
 * service's: user 1001's sshd.service under user@1001.service/app.slice is not
 * root's system.slice/sshd.service. A zeroed owner is root's system side, which
 * is what a caller that knows no owner gets (the counts of old). */
struct policy_owner {
	int64_t uid;              /* the crashed process' real uid; -1: unknown */
	bool user_unit;           /* its unit runs under a user manager (user@UID.service) */
	const char *slice;        /* the unit's slice, or NULL; not owned */
};

/* Whether a /proc/PID/cgroup text places the process under a user manager (a
 * "user@UID.service" component in its cgroup v2 path, else in the v1
 * name=systemd one): its unit is then a user unit, not a system one. */
bool policy_cgroup_user_unit(const char *cgroup);
/* Same owner: uid, system or user side, and slice all equal. */
bool policy_owner_eq(const struct policy_owner *a, const struct policy_owner *b);

#define POLICY_DETAIL_MAX 256                       /* bytes of policy_decision.detail */
#define POLICY_ESTIMATE_RATIO 4                     /* uncompressed core size / stored size, assumed */
#define POLICY_ESTIMATE_DEFAULT (UINT64_C(64) << 20) /* stored size assumed when nothing is known */

/* The [Policy] settings made absolute for one store. Every 0 means no limit. */
struct policy_limits {
	uint64_t max_core_size;       /* bytes of the uncompressed core */
	uint64_t max_use;             /* bytes the store may take */
	uint64_t keep_free;           /* bytes to leave free on its file system */
	uint64_t max_age_usec;        /* cores older than this are deleted */
	uint64_t record_max_age_usec; /* records (and minicores) older than this are deleted */
	unsigned keep_per_signature;  /* full cores kept per owner and crash signature */
	unsigned rate_burst;          /* full cores per owner and executable or unit ... */
	uint64_t rate_interval_usec;  /* ... in this window (> 0 when rate_burst > 0) */
	unsigned max_concurrent;      /* collectors past the release at once; >= 1, never 0 */
};

/* One crash in the store, as the index knows it. Strings are not owned. */
struct policy_entry {
	const char *id;
	const char *exe;          /* executable path; the key when signature is NULL */
	const char *signature;    /* NULL: not analysed (yet), or the analysis failed */
	int64_t time_usec;        /* when it crashed */
	uint64_t core_bytes;      /* bytes its core takes on disk; 0 = no core (any more) */
	uint64_t record_bytes;    /* record, minicore and the rest: freed only with the record */
	struct policy_owner owner; /* cores are counted and grouped per owner and key */
};

/* What the store takes and what its file system has left, measured now. */
struct policy_usage {
	uint64_t store_used;      /* bytes of everything in the store (cores, minicores, records) */
	uint64_t fs_free;         /* statvfs f_bavail * f_frsize of the store's file system */
};

/* Everything policy_decide() looks at besides the crash. Pointers not owned. */
struct policy_state {
	struct policy_usage usage;
	uint64_t in_flight;       /* bytes reserved by other collectors, not yet written */
	const struct policy_entry *entries; /* the store's crashes, any order */
	size_t n_entries;
	/* When each full core of this crash's owner and unit (or executable, without
	 * a unit) was stored or reserved, including the other collectors'
	 * reservations. Only those within the rate window matter; any order. */
	const int64_t *rate_times;
	size_t n_rate_times;
};

/* The crash being collected, before the drain. Strings not owned. */
struct policy_crash {
	const char *exe;          /* executable path */
	const char *unit;         /* systemd unit, or NULL: then the rate limit is per exe */
	uint64_t expected_size;   /* uncompressed core size when known (ELF head), else 0 */
	uint64_t estimate;        /* bytes it will take in the store; 0 = derive from expected_size */
	struct policy_owner owner; /* named in the rate limit's detail */
};

struct policy_decision {
	bool store;               /* false: metadata only (record, minicore, stacks) */
	const char *core_status;  /* static: "stored", or "too-large" / "skipped" when !store */
	const char *reason;       /* static: NULL when stored, else "MaxCoreSize", "disk quota",
	                           * "rate limit" or "KeepPerSignature" */
	char detail[POLICY_DETAIL_MAX]; /* one line for core.reason and the log; "" when stored */
	uint64_t reserve;         /* bytes to reserve while the core is written; 0 when !store */
};

enum policy_what {
	POLICY_DELETE_CORE,       /* the core only: record.core.status = deleted, reason */
	POLICY_DELETE_RECORD,     /* the whole entry: core, minicore, record, index row */
};

struct policy_action {
	const char *id;           /* points to the entry's id */
	enum policy_what what;
	const char *reason;       /* static */
};

/* Make the configuration absolute for a store whose file system is fs_size
 * bytes (0: unknown) on a machine with ncpu CPUs. */
void policy_limits_resolve(const struct mortem_config *cfg, uint64_t fs_size, unsigned ncpu,
			   struct policy_limits *out);

/* Before the drain: store the core or keep metadata only. 0, -EINVAL, -ENOMEM. */
int policy_decide(const struct policy_limits *l, const struct policy_state *state,
		  const struct policy_crash *crash, int64_t now_usec, struct policy_decision *out);

/* After the analysis of a stored core: keep it or skip it (delete the core,
 * keep the record and stacks). crash is the new entry itself; it may be among
 * entries (matched by id) or not. 0 or -EINVAL. */
int policy_after_analysis(const struct policy_limits *l, const struct policy_entry *entries,
			  size_t n, const struct policy_entry *crash, int64_t now_usec,
			  struct policy_decision *out);

/* What to delete. out has room for n actions; *nout is how many were planned,
 * in the order to carry them out. protect_id (or NULL) is never touched.
 * Returns 0 when the plan brings the store within MaxUse and KeepFree, 1 when
 * it stays over them with nothing left that may go, -EINVAL or -ENOMEM. */
int policy_vacuum_plan(const struct policy_limits *l, const struct policy_usage *usage,
		       const struct policy_entry *entries, size_t n, int64_t now_usec,
		       const char *protect_id, struct policy_action *out, size_t *nout);
