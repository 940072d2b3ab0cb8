/* The record of one crash and what is taken while the kernel holds the
 * process (collect_capture, the pending note); collect.c runs the steps. Was
 * part of collect.c: one crash, in a fixed order: everything that needs the process held happens
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

void collect_error_to(json_object *errors, const char *what, int err)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s: %s", what, strerror(err < 0 ? -err : err));
	json_object_array_add(errors, json_object_new_string(buf));
}

void collect_error(struct collect_ctx *c, const char *what, int err)
{
	collect_error_to(c->errors, what, err);
}

json_object *collect_str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : json_object_new_null();
}

/* The real uid or gid from the captured status ("Uid:\t1000\t1000\t..."), for
 * when the kernel's arguments did not give one; -1 when unknown. */
int64_t collect_proc_id(struct collect_ctx *c, const char *key, int64_t given)
{
	json_object *status = c->proc ? record_obj(c->proc, "status") : NULL;
	const char *s = status ? record_str(status, key, NULL) : NULL;
	char buf[24];
	uint64_t v;
	if (given >= 0 || !s)
		return given;
	size_t n = strcspn(s, " \t");
	if (n == 0 || n >= sizeof(buf))
		return given;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return parse_u64(buf, &v) >= 0 && v <= UINT32_MAX ? (int64_t)v : given;
}

/* Drop a field from the capture into the top level of the record. */
const char *collect_proc_str(struct collect_ctx *c, const char *key)
{
	json_object *v;
	if (c->proc && json_object_object_get_ex(c->proc, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

json_object *collect_record(struct collect_ctx *c, const struct stream_result *sr, const char *status,
				   const char *reason, uint64_t stored, bool have_core, bool have_mini,
				   int64_t held_usec)
{
	const struct crash_args *a = c->a;
	json_object *rec = json_object_new_object(), *core = json_object_new_object(), *v;
	char tbuf[40];
	int signo = a->signal;
	/* The coredump socket gives no signal number on every kernel: the core's
	 * own siginfo note does. */
	json_object *si = c->analysis ? record_obj(c->analysis, "siginfo") : NULL;
	if (signo <= 0 && si && json_object_object_get_ex(si, "signo", &v)) {
		int64_t n = json_object_get_int64(v);
		if (n >= 1 && n <= 64)
			signo = (int)n;
	}
	if (signo <= 0 && sr->signo > 0)
		signo = sr->signo;
	const char *sig = signal_name(signo);

	format_rfc3339(c->t0, tbuf, sizeof(tbuf));
	json_object_object_add(rec, "id", json_object_new_string(c->id));
	json_object_object_add(rec, "time", json_object_new_string(tbuf));
	json_object_object_add(rec, "time_usec", json_object_new_int64(c->t0));
	json_object_object_add(rec, "pid", json_object_new_int64(a->pid));
	json_object_object_add(rec, "uid", json_object_new_int64(collect_proc_id(c, "Uid", a->uid)));
	json_object_object_add(rec, "gid", json_object_new_int64(collect_proc_id(c, "Gid", a->gid)));
	json_object_object_add(rec, "signal", json_object_new_int(signo));
	json_object_object_add(rec, "signal_name", json_object_new_string(sig ? sig : "unknown"));
	json_object_object_add(rec, "comm", json_object_new_string(collect_proc_str(c, "comm") ?: ""));
	json_object_object_add(rec, "exe", json_object_new_string(collect_proc_str(c, "exe") ?: ""));
	json_object_object_add(rec, "cmdline", json_object_new_string(collect_proc_str(c, "cmdline") ?: ""));
	json_object_object_add(rec, "hostname", json_object_new_string(a->hostname));
	json_object_object_add(rec, "boot_id", json_object_new_string(record_str(c->sys, "boot_id", "")));
	json_object_object_add(rec, "unit", collect_str_or_null(collect_proc_str(c, "unit")));
	json_object_object_add(rec, "slice", collect_str_or_null(collect_proc_str(c, "slice")));
	json_object_object_add(rec, "kernel_time", json_object_new_int64(a->kernel_time));
	if (a->has_rlimit)
		json_object_object_add(rec, "rlimit_core", json_object_new_uint64(a->rlimit_core));
	if (a->dumpable >= 0)
		json_object_object_add(rec, "dumpable", json_object_new_int(a->dumpable));

	json_object_object_add(core, "status", json_object_new_string(status));
	json_object_object_add(core, "size", json_object_new_uint64(sr->bytes));
	if (sr->expected)
		json_object_object_add(core, "expected_size", json_object_new_uint64(sr->expected));
	json_object_object_add(core, "stored_size", json_object_new_uint64(stored));
	if (have_core) {
		_cleanup_free_ char *p = store_path(c->st.store_dir, c->id, ".core.zst");
		json_object_object_add(core, "path", collect_str_or_null(p));
		json_object_object_add(core, "compression", json_object_new_string("zstd"));
		json_object_object_add(core, "level", json_object_new_int(c->level));
	} else {
		json_object_object_add(core, "path", json_object_new_null());
	}
	if (reason)
		json_object_object_add(core, "reason", json_object_new_string(reason));
	json_object_object_add(core, "held_usec", json_object_new_int64(held_usec));
	json_object_object_add(rec, "core", core);

	json_object *mini = json_object_new_object();
	if (have_mini) {
		_cleanup_free_ char *p = store_path(c->st.store_dir, c->id, ".mini");
		const struct minicore_info *mi = &sr->mini_info;
		json_object_object_add(mini, "path", collect_str_or_null(p));
		json_object_object_add(mini, "size", json_object_new_uint64(mi->size));
		json_object_object_add(mini, "memory", json_object_new_uint64(mi->kept));
		json_object_object_add(mini, "threads", json_object_new_int((int)mi->threads));
		json_object_object_add(mini, "stacks", json_object_new_int((int)mi->stacks));
		json_object_object_add(mini, "ranges", json_object_new_int((int)mi->ranges));
		json_object_object_add(mini, "missing_ranges", json_object_new_int((int)mi->missing));
		json_object_object_add(mini, "capped", collect_str_or_null(mi->capped ? mi->cap_reason : NULL));
		/* Redacted values blanked in its memory; not all of them when the
		 * caps were reached (the minicore then may hold some). */
		json_object_object_add(mini, "scrubbed", json_object_new_int((int)mi->scrubbed));
		if (mi->scrub_dropped || c->secrets.capped)
			json_object_object_add(mini, "scrub_incomplete", json_object_new_boolean(true));
	} else {
		json_object_object_add(mini, "path", json_object_new_null());
		json_object_object_add(mini, "error", json_object_new_string(sr->mini_error ?: "not written"));
	}
	json_object_object_add(rec, "minicore", mini);

	/* Analysis: slogan, signature, siginfo, threads, modules, analysis{status}. */
	reanalyze_put_analysis(rec, c->analysis, sig);
	if (c->proc) {
		/* The top-level fields came from here; the rest is the context. */
		json_object_object_del(c->proc, "comm");
		json_object_object_del(c->proc, "exe");
		json_object_object_del(c->proc, "cmdline");
		json_object_object_add(rec, "proc", json_object_get(c->proc));
	}
	if (json_object_object_get_ex(c->sys, "errors", &v) && json_object_object_length(v) == 0)
		json_object_object_del(c->sys, "errors");
	json_object_object_add(rec, "system", json_object_get(c->sys));
	if (c->journal)
		json_object_object_add(rec, "journal", json_object_get(c->journal));
	json_object *pol = json_object_new_object();
	json_object_object_add(pol, "decision", json_object_new_string(c->pd.store ? "store" : "metadata-only"));
	json_object_object_add(pol, "reason", collect_str_or_null(c->pd.reason));
	json_object_object_add(pol, "detail", collect_str_or_null(c->pd.detail[0] ? c->pd.detail : NULL));
	json_object_object_add(rec, "policy", pol);
	json_object *coll = json_object_new_object();
	json_object_object_add(coll, "version", json_object_new_string(COLLECT_VERSION));
	json_object_object_add(coll, "mode", json_object_new_string(c->mode ? c->mode : "pipe"));
	json_object_object_add(coll, "buffer", json_object_new_string(c->buffer ? c->buffer : "inline"));
	if (c->resumed)
		json_object_object_add(coll, "resumed", json_object_new_boolean(true));
	if (c->handoff)
		json_object_object_add(coll, "handoff", json_object_new_string(c->handoff));
	if (c->spawn_usec >= 0)
		json_object_object_add(coll, "spawn_usec", json_object_new_int64(c->spawn_usec));
	json_object_object_add(rec, "collector", coll);
	json_object *probs = json_object_new_array();
	for (unsigned i = 0; i < a->n_problems; i++)
		json_object_array_add(probs, json_object_new_string(a->problems[i]));
	if (a->n_problems)
		json_object_object_add(rec, "argv_problems", probs);
	else
		json_object_put(probs);
	json_object_object_add(rec, "errors", json_object_get(c->errors));
	return rec;
}


/* The pending note: what `mortem list` shows until the record exists. */
static void collect_pending(const struct crash_args *a, struct crash_capture *cap, const struct store *st)
{
	json_object *n = json_object_new_object();
	const char *sig = signal_name(a->signal);
	char tbuf[40];
	format_rfc3339(cap->t0, tbuf, sizeof(tbuf));
	json_object_object_add(n, "id", json_object_new_string(cap->id));
	json_object_object_add(n, "time", json_object_new_string(tbuf));
	json_object_object_add(n, "time_usec", json_object_new_int64(cap->t0));
	/* The record's contract keys known now, as collect_record() will
	 * write them (the same fallbacks), so a pending crash has them too. */
	struct collect_ctx known = { .proc = cap->proc };
	json_object_object_add(n, "pid", json_object_new_int64(a->pid));
	json_object_object_add(n, "uid", json_object_new_int64(collect_proc_id(&known, "Uid", a->uid)));
	json_object_object_add(n, "gid", json_object_new_int64(collect_proc_id(&known, "Gid", a->gid)));
	json_object_object_add(n, "signal", json_object_new_int(a->signal));
	json_object_object_add(n, "signal_name", json_object_new_string(sig ? sig : "unknown"));
	static const char *const strs[] = { "comm", "exe", "cmdline" };
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
		json_object_object_add(n, strs[i], json_object_new_string(collect_proc_str(&known, strs[i]) ?: ""));
	json_object_object_add(n, "unit", collect_str_or_null(collect_proc_str(&known, "unit")));
	json_object_object_add(n, "hostname", json_object_new_string(a->hostname));
	json_object_object_add(n, "boot_id", json_object_new_string(record_str(cap->sys, "boot_id", "")));
	json_object_object_add(n, "mode", json_object_new_string(cap->mode));
	int r = pending_write(st, cap->id, n);
	if (r < 0)
		collect_error_to(cap->errors, "pending note", r);
	json_object_put(n);
}

void collect_capture(const struct mortem_config *cfg, const struct crash_args *a, const char *mode,
		     struct crash_capture *cap)
{
	struct store st = { 0 };
	int r;

	*cap = (struct crash_capture){ .root_fd = -1, .lock_fd = -1, .mode = mode };
	cap->t0 = now_usec();
	/* CaptureBudget= counts from here: the process is held from before we
	 * started until the core is drained. */
	int64_t start = proc_now_usec();
	cap->errors = json_object_new_array();
	(void)sysinfo_capture(&cap->sys);
	if (!cap->sys)
		cap->sys = json_object_new_object();
	r = store_make_id(cap->t0, record_str(cap->sys, "boot_id", ""), a->pid, cap->id, sizeof(cap->id));
	if (r < 0)
		snprintf(cap->id, sizeof(cap->id), "%lld-%d", (long long)cap->t0, (int)a->pid);
	if (a->pid > 0) {
		/* With the kernel's pidfd (%F, pipe mode; mortemd checks the
		 * hand-off's own), /proc/PID is read only if it is that process.
		 * The binaries it ran that the analysis could not open by their
		 * paths (deleted by an upgrade, hidden from others) are opened
		 * in the same pass. */
		struct proc_capture_opts po = {
			.redact = (const char *const *)cfg->redact, .n_redact = cfg->n_redact,
			.redact_args = (const char *const *)cfg->redact_args, .n_redact_args = cfg->n_redact_args,
			.secrets = &cap->secrets, .item_max = cfg->proc_item_max, .budget_usec = cfg->capture_budget_ms * 1000,
			.start_usec = start, .use_pidfd = a->pidfd >= 0 && strcmp(mode, "pipe") == 0,
			.pidfd = a->pidfd, .files = cap->files, .files_max = PROC_FILES_MAX, .n_files = &cap->n_files,
		};
		r = proc_capture(a->pid, &po, &cap->proc);
		if (r < 0)
			collect_error_to(cap->errors, "proc capture", r);
		/* Its root, while it exists: a container's binaries are found
		 * through it after the process is gone. Not when /proc/PID was
		 * not that process's. */
		if (r >= 0 || r == -ENOMEM) {
			char rp[64];
			snprintf(rp, sizeof(rp), "/proc/%d/root", (int)a->pid);
			cap->root_fd = open(rp, O_PATH | O_DIRECTORY | O_CLOEXEC);
		}
	}
	r = store_init(&st, cfg->store_path);
	if (r >= 0 && (r = store_mkdirs(&st)) >= 0 && (r = store_lock(&st, cap->id, &cap->lock_fd)) >= 0)
		collect_pending(a, cap, &st);
	else
		cap->store_err = r;
	store_free(&st);
}

void collect_capture_abandon(const struct mortem_config *cfg, struct crash_capture *cap)
{
	struct store st = { 0 };
	if (cap->lock_fd >= 0 && store_init(&st, cfg->store_path) >= 0)
		store_discard(&st, cap->id);
	store_free(&st);
	crash_capture_free(cap);
}
