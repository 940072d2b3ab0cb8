/* One crash, in a fixed order: everything that needs the process held happens
 * first and fast (capture, drain); everything slow comes after the release,
 * where failing cannot lose the core. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/analyze.h"
#include "collect/collect.h"
#include "collect/collect_held.h"
#include "collect/collect_ctx.h"
#include "collect/collect_spill.h"
#include "store/index.h"
#include "store/journal.h"
#include "base/parse.h"
#include "store/pending.h"
#include "capture/proc.h"
#include "store/quota.h"
#include "store/access.h"
#include "store/reanalyze.h"
#include "store/record.h"
#include "store/store.h"
#include "capture/sysinfo.h"
#include "capture/unitlog.h"
#include "core/stream.h"
#include "base/util.h"
#include "core/zst.h"
#include "fleet/upload.h"


/* Close the kernel's end: the process is let go. What follows is background
 * work: in a storm the collectors still draining come first. Not SCHED_IDLE:
 * the quota lock taken later must not wait for CPU time nobody else wants
 * while a drain waits for it. */
static void collect_release(int core_fd)
{
	(void)close(core_fd);
	lower_priority(false);
	if (core_fd <= STDERR_FILENO) {
		/* Keep the standard fds taken: the next open() must not become
		 * "stdin" for a child (the analysis) that treats 0-2 specially. */
		int nfd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nfd >= 0 && nfd != core_fd) {
			(void)dup2(nfd, core_fd);
			(void)close(nfd);
		}
	}
}

/* In the policy's hold of the quota lock: the spill file, when wanted. */
static void collect_admit_spill(void *userdata)
{
	struct collect_ctx *c = userdata;
	collect_spill_reserve(&c->st, c->cfg, c->id, &c->cs);
}

/* RLIMIT_CORE (HonorCoreLimit=, policy_core_limit): true when it keeps no
 * core of size bytes (0: not known yet); c->pd then says why. quota_admit
 * does not see the limit, so it is asked here, before it and after the drain. */
static bool collect_core_limit(struct collect_ctx *c, uint64_t size)
{
	struct policy_limits lim = { .honor_core_limit = c->cfg->honor_core_limit };
	struct policy_crash pc = { .rlimit_core = c->a->rlimit_core, .has_rlimit = c->a->has_rlimit };
	return policy_core_limit(&lim, &pc, size, &c->pd) > 0;
}

/* Whose crash this is, for every count that can skip a core (RateLimit,
 * KeepPerSignature): its real uid, whether its unit is a user manager's, and
 * its slice, so that one user's crashes never cost another's or a system
 * service's core (policy.h). */
static struct policy_owner collect_owner(struct collect_ctx *c)
{
	return (struct policy_owner){ .uid = collect_proc_id(c, "Uid", c->a->uid),
				      .user_unit = policy_cgroup_user_unit(collect_proc_str(c, "cgroup")),
				      .slice = collect_proc_str(c, "slice") };
}

/* Store the core or keep metadata only, decided before the drain from the
 * limits, the free space, the other collectors' reservations and the rate of
 * full cores of this executable (policy.c); when storing, the spill's budget
 * in the same hold of the lock. A policy that cannot be consulted stores the
 * core (inline): policy never loses a crash. */
static void collect_admit(struct collect_ctx *c)
{
	const char *exe = collect_proc_str(c, "exe"), *unit = collect_proc_str(c, "unit");
	json_object *status = c->proc ? record_obj(c->proc, "status") : NULL;
	uint64_t estimate = 0, kb;
	char buf[32];
	const char *rss = status ? record_str(status, "VmRSS", NULL) : NULL;
	size_t n = rss ? strcspn(rss, " ") : 0;

	/* A compressed core is about a third of the resident memory (mixed
	 * content, see BENCHMARKS.md); the policy falls back to its own guess. */
	if (n > 0 && n < sizeof(buf)) {
		memcpy(buf, rss, n);
		buf[n] = '\0';
		if (parse_u64(buf, &kb) >= 0 && kb < UINT64_MAX / 1024)
			estimate = kb * 1024 / 3 + 65536;
	}
	c->compress_threads = c->cfg->compress_threads;
	if (collect_core_limit(c, c->cs.size))
		return;
	unsigned writing = 0;
	struct quota_admit_hook hook = { .fn = collect_admit_spill, .userdata = c };
	struct policy_owner owner = collect_owner(c);
	int r = quota_admit_as(&c->st, c->cfg, c->id, exe ? exe : "", unit, &owner, estimate, c->t0, &c->pd, &writing,
			       c->cs.want ? &hook : NULL);
	/* A storm: with as many collectors writing as there are CPUs, zstd worker
	 * threads only cost memory (each brings its own buffers), so compress on
	 * this thread alone. */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	c->storm = writing >= (unsigned)(ncpu > 0 ? ncpu : 1);
	c->compress_threads = c->storm ? 0 : c->cfg->compress_threads;
	if (r < 0) {
		collect_error(c, "retention policy (core stored regardless)", r);
		c->pd = (struct policy_decision){ .store = true, .core_status = "stored" };
	}
	c->reserved = c->pd.store && c->pd.reserve > 0;
}

/* After the analysis: is this core one repeat too many of its signature? */
static bool collect_repeat(struct collect_ctx *c, uint64_t stored, bool locked)
{
	const char *exe = collect_proc_str(c, "exe");
	const char *sig = c->analysis ? record_str(c->analysis, "signature", NULL) : NULL;
	struct policy_decision d;
	struct policy_owner owner = collect_owner(c);
	int r = quota_after_analysis_as(&c->st, c->cfg, c->id, exe ? exe : "", &owner, sig, stored, now_usec(), locked,
					&d);
	if (r < 0 || d.store)
		return false;
	c->pd = d;
	return true;
}

/* A core we will not keep gives its space back at once (a full disk is the
 * usual reason), so that the record still fits. */
static void collect_drop_core(struct collect_ctx *c)
{
	if (c->core_tmp < 0)
		return;
	_cleanup_free_ char *p = store_path(c->st.spool_dir, c->id, ".core.zst.tmp");
	if (p)
		(void)unlink(p);
	(void)close(c->core_tmp);
	c->core_tmp = -1;
}

/* MaxConcurrent: one of N slot locks (ROOT/slot.I) for each heavy step after
 * the release (analysis, recompression); the others wait their turn, their
 * process already released. Waiting polls every slot, so that no slot stays
 * idle while someone waits on a busy one. */
#define COLLECT_SLOT_POLL_USEC 20000
static void collect_slot_take(struct collect_ctx *c, bool wait)
{
	struct policy_limits lim;
	char name[32];
	if (!c->store_ok || c->slot_fd >= 0)
		return;
	quota_limits(&c->st, c->cfg, &lim);
	unsigned n = lim.max_concurrent ? lim.max_concurrent : 1;
	int fds[64];
	if (n > ARRAY_SIZE(fds))
		n = ARRAY_SIZE(fds);
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "slot.%u", i);
		_cleanup_free_ char *p = store_path(c->st.root, name, "");
		fds[i] = p ? open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
	}
	for (;;) {
		bool any = false;
		for (unsigned i = 0; i < n && c->slot_fd < 0; i++) {
			if (fds[i] < 0)
				continue;
			any = true;
			if (flock(fds[i], LOCK_EX | LOCK_NB) == 0)
				c->slot_fd = TAKE_FD(fds[i]);
		}
		/* No slot file at all: go on rather than wait for ever. */
		if (c->slot_fd >= 0 || !any || !wait)
			break;
		(void)usleep(COLLECT_SLOT_POLL_USEC);
	}
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			(void)close(fds[i]);
}

static void collect_slot(struct collect_ctx *c)
{
	collect_slot_take(c, true);
}

static void collect_slot_release(struct collect_ctx *c)
{
	if (c->slot_fd >= 0)
		(void)close(c->slot_fd);
	c->slot_fd = -1;
}

/* Unwind the minicore in the sandbox (analyze.c). The process was released
 * before this: analysis never holds it. */
static void collect_analyze(struct collect_ctx *c, bool have_mini)
{
	_cleanup_free_ char *mini = have_mini ? store_path(c->st.spool_dir, c->id, ".mini.tmp") : NULL;
	/* ROOT/debuginfod, beside store/ and spool/: a cache that outlives each
	 * crash and goes with the store (analyze_run hands it to the analysis user) */
	_cleanup_free_ char *cache = c->cfg->debuginfod_urls ? store_path(c->st.root, "debuginfod", "") : NULL;
	json_object *names = c->proc ? json_object_object_get(c->proc, "threads") : NULL;
	if (names && !json_object_is_type(names, json_type_array))
		names = NULL;
	struct analyze_opts ao = {
		.timeout_ms = (unsigned)c->cfg->analysis_timeout_sec * 1000u, .max_as = c->cfg->analysis_max_memory,
		.sysroot_fd = c->root_fd, .files = c->files, .n_files = c->n_files, .thread_names = names,
		.debuginfod_urls = c->cfg->debuginfod_urls, .debuginfod_cache = cache,
		.debuginfod_timeout = (unsigned)c->cfg->debuginfod_timeout_sec, .cut = c->cut,
	};
	int r;

	if (!have_mini) {
		c->analysis = json_object_new_object();
		json_object *an = json_object_new_object();
		json_object_object_add(an, "status", json_object_new_string("skipped"));
		json_object_object_add(an, "error", json_object_new_string("no minicore to analyze"));
		json_object_object_add(c->analysis, "analysis", an);
		return;
	}
	r = analyze_run(mini, &ao, &c->analysis);
	if (r < 0) {
		collect_error(c, "analysis", r);
		c->analysis = NULL;
	}
	json_object *an = c->analysis ? record_obj(c->analysis, "analysis") : NULL;
	c->analysis_cut = c->cut && *c->cut && strcmp(an ? record_str(an, "status", "") : "", "ok") != 0;
}

/* The level every core ends at: RecompressLevel=, or CompressLevel= when that
 * is 0 (keep the inline frame). */
static int collect_final_level(const struct mortem_config *cfg)
{
	return cfg->recompress_level ? cfg->recompress_level : cfg->compress_level;
}

/* Recompress the published inline (fast) frame at the configured level. This
 * runs after the crash is listed, so that neither the dying process nor `mortem
 * list` waits for it; the smaller file replaces the first atomically and the
 * record and index row are updated. Returns the level now on disk or 0. */
static int collect_recompress(struct collect_ctx *c, json_object *rec, uint64_t stored)
{
	const struct mortem_config *cfg = c->cfg;
	_cleanup_close_ int out = -1, jfd = -1;
	_cleanup_free_ char *re = NULL;
	uint64_t in_b = 0, out_b = 0;
	int r;

	if (cfg->recompress_level == 0 || cfg->recompress_level == c->level)
		return 0;
	r = store_tmp_open(&c->st, c->id, ".core.zst.re", &out);
	if (r < 0) {
		collect_error(c, "recompress: create", r);
		return 0;
	}
	re = store_path(c->st.spool_dir, c->id, ".core.zst.re.tmp");
	if (!re || lseek(c->core_tmp, 0, SEEK_SET) < 0)
		goto fail;
	r = zst_recompress_fd(c->core_tmp, out, cfg->recompress_level, c->compress_threads, c->cut, &in_b, &out_b);
	if (r < 0) {
		if (r != -EINTR) /* (cut: the fast frame stays, as when skipped) */
			collect_error(c, "recompress", r);
		goto fail;
	}
	if (out_b >= stored || fsync(out) < 0)
		goto fail;
	/* The new record is written first, so that the two renames follow each
	 * other at once: readers may see the new core with the old record for
	 * microseconds, never a missing file. */
	json_object *core = record_obj(rec, "core");
	json_object_object_add(core, "stored_size", json_object_new_uint64(out_b));
	json_object_object_add(core, "level", json_object_new_int(cfg->recompress_level));
	c->level = cfg->recompress_level;
	bool rec_ok = store_tmp_open(&c->st, c->id, ".json", &jfd) >= 0 && record_write_fd(rec, jfd) >= 0;
	if (store_replace(&c->st, c->id, ".core.zst.re", ".core.zst") < 0)
		goto fail;
	if (rec_ok)
		(void)store_replace(&c->st, c->id, ".json", ".json");
	(void)fsync_dir(c->st.store_dir);
	return cfg->recompress_level;
fail:
	if (re)
		(void)unlink(re);
	return 0;
}

static void collect_index(struct collect_ctx *c, json_object *rec, struct collect_outcome *out)
{
	sqlite3 *db = NULL;
	_cleanup_free_ char *rp = store_path(c->st.store_dir, c->id, ".json");
	int r = index_open(c->st.index_path, &db);
	if (r >= 0 && rp)
		r = index_insert(db, rec, rp);
	if (r >= 0)
		out->indexed = true;
	else
		journal_log(3, "cannot update the index (the record is kept; run mortem reindex)");
	if (db)
		index_close(db);
}

/* Index the records whose collector died between publishing and indexing. */
static void collect_clean_spool(struct collect_ctx *c)
{
	char **pub = NULL;
	size_t n = 0;
	sqlite3 *db = NULL;
	/* A crash whose collector (or mortemd) died is recorded as lost first:
	 * cleaning the spool would take its pending note away. */
	if (index_open(c->st.index_path, &db) >= 0) {
		(void)pending_recover(&c->st, db);
		index_close(db);
		db = NULL;
	}
	if (store_clean_spool(&c->st, &pub, &n) <= 0 || n == 0)
		return;
	if (index_open(c->st.index_path, &db) >= 0) {
		for (size_t i = 0; i < n; i++) {
			_cleanup_free_ char *p = store_path(c->st.store_dir, pub[i], ".json");
			json_object *rec = NULL;
			if (p && record_load(p, &rec) >= 0)
				(void)index_insert(db, rec, p);
			json_object_put(rec);
		}
		index_close(db);
	}
	for (size_t i = 0; i < n; i++)
		free(pub[i]);
	free(pub);
}


/* The kernel spawned this collector for the crash (core_pattern's pipe): its
 * usermode helper is a child of kthreadd. The hold counts from that spawn,
 * not from our own start: the exec and the dynamic linking are the process's
 * time held too, and in a storm the wait for a CPU before main(). */
static void collect_held_from_spawn(struct collect_ctx *c)
{
	int64_t since = collect_held_since_fork_usec();
	c->spawn_usec = -1;
	c->held_from = c->t0;
	if (since < 0)
		return;
	int64_t at = now_usec() - since;
	if (at < c->t0) {
		c->spawn_usec = c->t0 - at;
		c->held_from = at;
	}
}

/* 1. Capture while the kernel holds the process (mortemd took it already):
 * first, because /proc/PID describes the process only while it is held. */
static void collect_step_take(struct collect_ctx *c, struct crash_capture *cap)
{
	struct crash_capture own;

	if (!cap) {
		collect_capture(c->cfg, c->a, "pipe", &own);
		cap = &own;
	}
	c->t0 = cap->t0;
	c->held_from = c->t0;
	c->spawn_usec = -1;
	if (cap == &own)
		collect_held_from_spawn(c);
	snprintf(c->id, sizeof(c->id), "%s", cap->id);
	c->proc = TAKE_PTR(cap->proc);
	c->sys = TAKE_PTR(cap->sys);
	c->errors = TAKE_PTR(cap->errors);
	c->root_fd = TAKE_FD(cap->root_fd);
	memcpy(c->files, cap->files, sizeof(c->files));
	c->n_files = cap->n_files;
	cap->n_files = 0;
	c->lock_fd = TAKE_FD(cap->lock_fd);
	c->secrets = cap->secrets;
	cap->secrets = (struct proc_secrets){ 0 };
	c->mode = cap->mode;
	c->store_err = cap->store_err;
	if (!c->errors)
		c->errors = json_object_new_array();
	if (!c->sys)
		c->sys = json_object_new_object();
}

static void collect_store_unusable(struct collect_ctx *c, int r)
{
	snprintf(c->reason_buf, sizeof(c->reason_buf), "store unusable: %s", strerror(-r));
	c->reason = c->reason_buf;
}

/* 2. Decide before writing (policy.c through quota.c), then the spool files:
 * before the drain, since the decision says where the bytes go. When the
 * store is unusable the core is still drained, so the process is released,
 * and the crash is announced. */
static void collect_step_admit(struct collect_ctx *c)
{
	const struct mortem_config *cfg = c->cfg;
	int r = c->store_err;

	c->pd = (struct policy_decision){ .store = true, .core_status = "stored" };
	if (c->lock_fd >= 0 && (r = store_init(&c->st, cfg->store_path)) >= 0) {
		c->store_ok = true;
		/* The core's head first: its size decides the spill, asked
		 * for in the policy's hold of the lock. */
		if (c->src->spill_min > 0 && c->core_fd >= 0 &&
		    (r = collect_spill_head(cfg, c->core_fd, c->src->spill_min, &c->cs)) < 0)
			collect_error(c, "reading the core", r);
		collect_admit(c);
		if (store_tmp_open(&c->st, c->id, ".mini", &c->mini_tmp) < 0)
			c->mini_tmp = -1;
		/* mortemd read the core already (its pool, its spill, parked):
		 * nobody waits for this compression, so it is the only one, at
		 * the final level, from the raw bytes (collect_step_drain does
		 * the same for our own spill). */
		c->level = c->src->held_usec >= 0 ? collect_final_level(cfg) : cfg->compress_level;
		if (c->pd.store && ((r = store_tmp_open(&c->st, c->id, ".core.zst", &c->core_tmp)) < 0 ||
				    (r = zst_writer_new(c->core_tmp, c->level, c->compress_threads, &c->zw)) < 0)) {
			collect_error(c, "store", r);
			collect_store_unusable(c, r);
			c->store_write_failed = true;
		}
	} else {
		if (r >= 0)
			r = -EIO;
		collect_error(c, "store", r);
		collect_store_unusable(c, r);
	}
}

/* The kernel spawned us: watch the process end after the release, which
 * its parent waits for too (collect_held.h). */
static void collect_watch(struct collect_ctx *c)
{
	if (c->spawn_usec >= 0)
		collect_held_watch_start(&c->watch, c->a->pidfd);
}

/* The hold up to the process's end when it was seen (collect_watch), else up
 * to the release: at the record, long after the release. */
static int64_t collect_held_total(struct collect_ctx *c, const char **until)
{
	int64_t end = collect_held_watch_end(&c->watch);
	*until = "release";
	if (end < 0 || c->held < 0 || end - c->held_from < c->held)
		return c->out->held_usec;
	*until = "exit";
	return end - c->held_from;
}

/* 3. Drain, then let go: as soon as the bytes are taken, since every step
 * after this one is slow. A big core goes through the spool at the disk's
 * speed when the budget allows (collect_spill.c), compressed after the
 * release; else it is compressed while the process waits. */
static void collect_step_drain(struct collect_ctx *c)
{
	const struct collect_source *src = c->src;
	struct collect_spill *cs = &c->cs;

	c->held = src->held_usec;
	if (cs->fd >= 0 && c->zw) {
		collect_spill_drain(cs, c->core_fd);
		if (cs->err < 0)
			collect_error(c, cs->lost ? "spill" : "spill (the rest compressed inline)", cs->err);
		if (cs->whole && cs->written > 0 && !cs->lost) {
			collect_release(c->core_fd);
			collect_watch(c);
			c->core_fd = -1;
			c->held = now_usec() - c->held_from;
			c->buffer = "spill";
			/* Read from the file after the release: one pass, at
			 * the final level. */
			if (zst_writer_set_level(c->zw, collect_final_level(c->cfg)) >= 0)
				c->level = collect_final_level(c->cfg);
			/* Compressing is heavy work after the release, too. */
			collect_slot(c);
		}
	}
	struct stream_opts so = {
		.pre = src->pre, .n_pre = src->n_pre,
		.mid_fd = cs->written > 0 && !cs->lost ? cs->fd : src->spill_fd,
		.post = cs->lost ? NULL : cs->rest, .n_post = cs->lost ? 0 : cs->n_rest,
		.in_fd = c->core_fd, .zw = c->zw, .mini_fd = c->mini_tmp,
		.max_core_size = c->cfg->max_core_size, .mini_max = c->cfg->minicore_max,
		.mini_stack_max = c->cfg->minicore_stack_max,
	};
	/* What the record redacts is blanked in the minicore too (it is kept
	 * long and meant to travel); the full core stays the kernel's bytes. */
	_cleanup_free_ struct iovec *scrub = NULL;
	if (proc_secrets_iov(&c->secrets, &scrub, &so.n_mini_scrub) >= 0)
		so.mini_scrub = scrub;
	/* The spilled bytes could not be used: the rest is only drained. */
	if (cs->lost)
		so.zw = NULL;
	c->stream_r = stream_core(&so, &c->sr);
	if (c->core_fd >= 0) {
		collect_release(c->core_fd);
		collect_watch(c);
		c->core_fd = -1;
		c->held = c->held >= 0 ? c->held : now_usec() - c->held_from;
	}
	c->spill_err = cs->lost ? cs->err : src->spill_err;
	collect_spill_free(cs);
	if (src->spill_fd >= 0)
		(void)close(src->spill_fd);
	/* The pool's bytes are compressed: mortemd may reuse them. */
	if (src->pool_fd >= 0)
		(void)close(src->pool_fd);
	if (src->pool_map)
		(void)munmap(src->pool_map, src->pool_map_len);
	c->out->held_usec = c->held >= 0 ? c->held : now_usec() - c->held_from;
}

/* 4. Finish the core's frame and name its status: first after the release,
 * since the analysis and the record need to know what was kept. */
static void collect_step_judge(struct collect_ctx *c)
{
	const struct mortem_config *cfg = c->cfg;
	const struct stream_result *sr = &c->sr;

	if (c->zw && c->stream_r >= 0 && !sr->too_large && sr->bytes > 0) {
		int r = zst_writer_finish(c->zw);
		if (r < 0) {
			c->stream_r = r;
		} else {
			c->stored = zst_writer_bytes_out(c->zw);
			c->have_core = true;
		}
	}
	zst_writer_free(c->zw);
	c->zw = NULL;
	/* RLIMIT_CORE against the size now known. */
	if (c->have_core && c->pd.store &&
	    collect_core_limit(c, sr->expected > sr->bytes ? sr->expected : sr->bytes))
		c->have_core = false;

	if (!c->store_ok || c->store_write_failed) {
		c->status = "error";
	} else if (c->spill_err < 0 && c->pd.store) {
		/* What is stored would be a core with a hole: not kept. */
		c->status = "error";
		snprintf(c->reason_buf, sizeof(c->reason_buf),
			 "%s could not spill the core to disk: %s (%llu bytes taken)",
			 c->cs.lost ? "the collector" : "mortemd", strerror(-c->spill_err),
			 (unsigned long long)sr->bytes);
		c->reason = c->reason_buf;
		collect_error(c, "spill", c->spill_err);
		c->have_core = false;
	} else if (c->stream_r < 0) {
		c->status = "error";
		snprintf(c->reason_buf, sizeof(c->reason_buf), "%s: %s",
			 sr->bytes > 0 ? "writing the core failed" : "reading the core failed", strerror(-c->stream_r));
		c->reason = c->reason_buf;
		collect_error(c, "stream", c->stream_r);
		c->have_core = false;
	} else if (!c->pd.store) {
		/* Decided before the drain: the record, minicore and stacks only. */
		c->status = c->pd.core_status;
		c->reason = c->pd.detail;
	} else if (sr->too_large) {
		c->status = "too-large";
		snprintf(c->reason_buf, sizeof(c->reason_buf), "core larger than MaxCoreSize=%llu%s",
			 (unsigned long long)cfg->max_core_size,
			 sr->expected > cfg->max_core_size ? " (by its program headers): not read" : ": reading stopped");
		c->reason = c->reason_buf;
	} else if (sr->bytes == 0) {
		c->status = "error";
		c->reason = sr->not_core;
	} else if (sr->not_core) {
		/* Not an ELF core: the bytes are kept all the same, nothing is lost. */
		c->status = "error";
		snprintf(c->reason_buf, sizeof(c->reason_buf), "not an ELF core: %s", sr->not_core);
		c->reason = c->reason_buf;
	} else if (sr->bytes < sr->expected) {
		c->status = "truncated";
		snprintf(c->reason_buf, sizeof(c->reason_buf), "the kernel sent %llu of %llu bytes",
			 (unsigned long long)sr->bytes, (unsigned long long)sr->expected);
		c->reason = c->reason_buf;
	} else {
		c->status = "stored";
	}
	c->have_mini = c->store_ok && sr->mini && c->mini_tmp >= 0;
	if (!c->have_core)
		collect_drop_core(c);
}

/* 5. Unwind the minicore: the heavy part, after the release and before the
 * record (which carries its result and signature), at most MaxConcurrent
 * collectors at once. */
static void collect_step_analyze(struct collect_ctx *c)
{
	collect_slot(c);
	collect_analyze(c, c->have_mini);
	collect_slot_release(c);
}

/* 5b. The unit's last journal lines (JournalLines=): what it said before it
 * crashed. After the release (the journal outlives the process) and the
 * analysis, before the record that carries them. A journal that cannot be
 * read costs only this item. */
static void collect_step_journal(struct collect_ctx *c)
{
	const char *unit = collect_proc_str(c, "unit");
	if (c->cfg->journal_lines == 0 || !unit)
		return;
	struct policy_owner owner = collect_owner(c);
	struct unitlog_opts o = { .unit = unit, .user_unit = owner.user_unit, .uid = (uid_t)owner.uid,
				  .lines = c->cfg->journal_lines, .until_usec = c->t0 + 1000000,
				  .redact = (const char *const *)c->cfg->redact, .n_redact = c->cfg->n_redact };
	int r = unitlog_read(&o, &c->journal);
	if (r < 0)
		collect_error(c, "journal", r);
}

/* 6. Make the data durable, then, under the quota lock, the KeepPerSignature
 * check and the record: the check needs the analysis's signature, and the
 * lock is held on through the publication and the index row, so that two
 * collectors of the same bug cannot both count the other's core as missing. */
static void collect_step_record(struct collect_ctx *c)
{
	/* The data is made durable first, outside the quota lock. */
	int r = 0;
	if (c->have_core && fsync(c->core_tmp) < 0)
		r = -errno;
	if (r >= 0 && c->have_mini && fsync(c->mini_tmp) < 0)
		r = -errno;
	c->durable_r = r;

	if (c->store_ok && r >= 0 && quota_lock(&c->st, &c->qlock) < 0)
		c->qlock = -1;
	if (c->have_core && collect_repeat(c, c->stored, c->qlock >= 0)) {
		/* KeepPerSignature: enough cores of this bug are kept already. */
		c->status = c->pd.core_status;
		c->reason = c->pd.detail;
		c->have_core = false;
		collect_drop_core(c);
	}
	const char *until;
	c->out->held_usec = collect_held_total(c, &until);
	c->rec = collect_record(c, &c->sr, c->status, c->reason, c->stored, c->have_core, c->have_mini,
				c->out->held_usec);
	json_object_object_add(record_obj(c->rec, "core"), "held_until", json_object_new_string(until));
	snprintf(c->out->id, sizeof(c->out->id), "%s", c->id);
	c->out->status = c->status;
}

/* 7. Publish: the core and minicore, then the record last, since from the
 * record on the crash exists; nothing half-published stays visible. */
static void collect_step_publish(struct collect_ctx *c)
{
	_cleanup_close_ int jfd = -1;
	int r = c->durable_r;

	if (!c->store_ok)
		return;
	if (r >= 0)
		r = store_tmp_open(&c->st, c->id, ".json", &jfd);
	if (r >= 0)
		r = record_write_fd(c->rec, jfd);
	if (r >= 0 && c->have_core)
		r = store_publish(&c->st, c->id, ".core.zst");
	if (r >= 0 && c->have_mini)
		r = store_publish(&c->st, c->id, ".mini");
	if (r >= 0)
		r = store_publish(&c->st, c->id, ".json");
	if (r >= 0) {
		(void)fsync_dir(c->st.store_dir);
		c->out->published = true;
		/* Its user may read it now, when the rule allows (access.h). */
		(void)access_publish(&c->st, c->rec);
		return;
	}
	char msg[256];
	snprintf(msg, sizeof(msg), "cannot store crash %s: %s", c->id, strerror(-r));
	journal_log(3, msg);
	_cleanup_free_ char *pc = store_path(c->st.store_dir, c->id, ".core.zst");
	_cleanup_free_ char *pm = store_path(c->st.store_dir, c->id, ".mini");
	if (pc)
		(void)unlink(pc);
	if (pm)
		(void)unlink(pm);
}

/* 8. The index row, still in the quota lock's hold (step 6), where the
 * reservation ends too, as the core now counts through its row; then the
 * lock goes. */
static void collect_step_index(struct collect_ctx *c)
{
	if (c->store_ok) {
		if (c->out->published) {
			collect_index(c, c->rec, c->out);
			/* Cut short by a stop: mortemd's next start analyses it
			 * again (reanalyze.h). */
			if (c->analysis_cut && c->have_mini && reanalyze_mark(&c->st, c->id) < 0)
				journal_log(4, "cannot mark the crash for analysis at mortemd's next start");
		}
		if (c->reserved)
			(void)quota_unreserve(&c->st, c->id);
		c->reserved = false;
	}
	if (c->qlock >= 0)
		(void)close(c->qlock);
	c->qlock = -1;
	/* Queued for the fleet ([Upload]; nothing when Endpoint= is empty) once
	 * listed here: `mortem upload` sends it; the record says how it went. */
	if (c->store_ok && c->out->published && upload_enqueue(c->cfg, &c->st, c->id) < 0)
		journal_log(4, "cannot queue the crash for upload");
}

/* 9. Announce to the journal: once listed, so that a reader of the message
 * finds the crash with `mortem`. */
static void collect_step_announce(struct collect_ctx *c)
{
	(void)journal_announce(c->rec, c->out->published ? NULL : "the crash could not be stored");
}

/* 10. Recompress a core compressed fast while its process waited (the only
 * one not at the final level already): listed and announced first, since it
 * decompresses and compresses the whole core again and nobody needs to wait
 * for it. Only when it pays: RecompressInline= on, no storm at admission, and
 * a MaxConcurrent slot free at once (none free: other crashes wait for the
 * CPU, and their listing matters more than a third off this core). Still under
 * our spool lock, and not when a stop is waiting (the fast frame stays). */
static void collect_step_recompress(struct collect_ctx *c)
{
	if (!c->out->published || !c->have_core || (c->cut && *c->cut) || c->level == collect_final_level(c->cfg))
		return;
	if (!c->cfg->recompress_inline || c->storm)
		return;
	collect_slot_take(c, false);
	if (c->slot_fd < 0)
		return;
	if (collect_recompress(c, c->rec, c->stored) > 0 && c->out->indexed)
		collect_index(c, c->rec, c->out);
	collect_slot_release(c);
}

/* 11. Clean up: last, so that the vacuum never deletes what was just
 * written and the spool lock covers the whole run. */
static void collect_step_clean(struct collect_ctx *c)
{
	if (c->reserved)
		(void)quota_unreserve(&c->st, c->id);
	/* Keep the store inside its limits, never deleting what was just written. */
	if (c->out->published && quota_vacuum(&c->st, c->cfg, c->id, now_usec(), false, NULL, NULL, NULL) < 0)
		journal_log(4, "retention: vacuum after the crash failed");
	if (c->lock_fd >= 0)
		store_discard(&c->st, c->id);
	if (c->store_ok)
		collect_clean_spool(c);
}

static void collect_ctx_free(struct collect_ctx *c)
{
	collect_held_watch_stop(&c->watch);
	json_object_put(c->rec);
	json_object_put(c->analysis);
	json_object_put(c->journal);
	proc_secrets_free(&c->secrets);
	if (c->root_fd >= 0)
		(void)close(c->root_fd);
	proc_files_close(c->files, c->n_files);
	json_object_put(c->proc);
	json_object_put(c->sys);
	json_object_put(c->errors);
	if (c->core_tmp >= 0)
		(void)close(c->core_tmp);
	if (c->mini_tmp >= 0)
		(void)close(c->mini_tmp);
	if (c->lock_fd >= 0)
		(void)close(c->lock_fd);
	collect_slot_release(c);
	store_free(&c->st);
}

int collect_run(const struct mortem_config *cfg, const struct crash_args *a, struct crash_capture *cap,
		const struct collect_source *src, struct collect_outcome *out)
{
	struct collect_ctx c = { .cfg = cfg, .a = a, .lock_fd = -1, .core_tmp = -1, .mini_tmp = -1, .root_fd = -1,
				 .slot_fd = -1, .cs = { .fd = -1 }, .src = src, .out = out, .core_fd = src->fd,
				 .held = -1, .qlock = -1, .buffer = src->buffer, .resumed = src->resumed,
				 .handoff = src->handoff,
				 .cut = src->cut };

	memset(out, 0, sizeof(*out));
	collect_step_take(&c, cap);
	collect_step_admit(&c);
	collect_step_drain(&c);
	collect_step_judge(&c);
	collect_step_analyze(&c);
	collect_step_journal(&c);
	collect_step_record(&c);
	collect_step_publish(&c);
	collect_step_index(&c);
	collect_step_announce(&c);
	collect_step_recompress(&c);
	collect_step_clean(&c);
	collect_ctx_free(&c);
	return out->published ? 0 : -EIO;
}
