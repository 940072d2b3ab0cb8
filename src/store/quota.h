/* Applying the retention policy (policy.h decides, this file does): the store
 * lock, the state the decisions need gathered from the index and the file
 * system, reservations of cores being written, and the deletions. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/index.h"
#include "store/policy.h"
#include "store/store.h"

/* The store's quota lock (ROOT/quota.lock): every check-then-act on the quota,
 * in collectors and in `mortem vacuum`, holds it. Blocks until taken. */
int quota_lock(const struct store *st, int *ret_fd);

/* The store as the decisions see it. Strings point into rows (owned here). */
struct quota_view {
	struct index_row *rows;
	size_t n_rows;
	struct policy_entry *entries; /* one per row, same order */
	struct policy_state state;
	int64_t *rate_times;
	uint64_t fs_size;
	unsigned writing;             /* live reservations: collectors writing a core now */
};

/* Gather the view. exe/unit (may be NULL) select the rate-limit times. Abandoned
 * reservations (their collector is gone) are dropped from the index here. */
int quota_view_load(const struct store *st, sqlite3 *db, const char *exe, const char *unit, struct quota_view *v);
void quota_view_free(struct quota_view *v);

/* Carry out a vacuum plan: delete cores (the record stays, with core.status
 * "deleted" and the reason; the minicore stays) or whole entries. Returns the
 * number of actions done; *ret_freed (optional) = bytes freed. */
int quota_apply(const struct store *st, sqlite3 *db, const struct policy_action *a, size_t n, uint64_t *ret_freed);

/* Mark the record id's core as gone with status and reason (core.path null,
 * stored_size 0), rewrite the record atomically and update the index row. */
int quota_mark_core(const struct store *st, sqlite3 *db, const char *id, const char *status, const char *reason);

/* The effective limits for this store (its file system's size, the CPUs). */
void quota_limits(const struct store *st, const struct mortem_config *cfg, struct policy_limits *out);

/* Before the drain, under the lock: store the core or keep metadata only; when
 * storing, reserve out->reserve bytes for id until quota_unreserve, and run
 * hook (optional) while the lock is still held: the caller's own claim on the
 * disk is decided in the same hold. A store whose index cannot be read admits
 * the core (policy never loses a crash) without running the hook.
 * *ret_writing (optional): how many other collectors are writing a core now. */
struct quota_admit_hook {
	void (*fn)(void *userdata);
	void *userdata;
};
int quota_admit(const struct store *st, const struct mortem_config *cfg, const char *id, const char *exe,
		const char *unit, uint64_t estimate, int64_t now_usec, struct policy_decision *out,
		unsigned *ret_writing, const struct quota_admit_hook *hook);
/* The same, with the rate limit counted per owner (uid, system or user unit,
 * slice: policy.h) and the reservation marked with it. quota_admit counts
 * anyone's crashes of exe/unit, as before owners; the collector passes the
 * crash's owner (record keys uid, slice and proc.cgroup). */
int quota_admit_as(const struct store *st, const struct mortem_config *cfg, const char *id, const char *exe,
		   const char *unit, const struct policy_owner *owner, uint64_t estimate, int64_t now_usec,
		   struct policy_decision *out, unsigned *ret_writing, const struct quota_admit_hook *hook);
int quota_unreserve(const struct store *st, const char *id);

/* After the analysis, under the lock: keep the new core or skip it because
 * enough cores of its signature (or executable) are kept already. */
int quota_after_analysis(const struct store *st, const struct mortem_config *cfg, const char *id, const char *exe,
			 const char *signature, uint64_t core_bytes, int64_t now_usec, bool locked,
			 struct policy_decision *out);
/* locked: the caller holds quota_lock already (flock is per open file: taking
 * it again from the same process would wait for ever).
 * quota_after_analysis_as counts KeepPerSignature per owner; without an owner
 * (quota_after_analysis, or owner NULL) every owner's cores count. */
int quota_after_analysis_as(const struct store *st, const struct mortem_config *cfg, const char *id,
			    const char *exe, const struct policy_owner *owner, const char *signature,
			    uint64_t core_bytes, int64_t now_usec, bool locked, struct policy_decision *out);

/* Plan the vacuum (never touching protect_id) and, unless dry_run, carry it
 * out, all under the lock (a dry run goes without it when it may not take it). *ret_plan (optional, heap, ids copied) lists the
 * actions; returns policy_vacuum_plan's result (0 within limits, 1 still over). */
struct quota_planned {
	char *id;
	enum policy_what what;
	const char *reason; /* static */
	uint64_t bytes;     /* what it frees */
};
int quota_vacuum(const struct store *st, const struct mortem_config *cfg, const char *protect_id, int64_t now_usec,
		 bool dry_run, struct quota_planned **ret_plan, size_t *ret_n, uint64_t *ret_freed);
void quota_planned_free(struct quota_planned *p, size_t n);
