/* Text forms of a crash record. Strings in the record came from the crashed
 * process (names, paths, arguments): every one is escaped (base/text.h) before
 * it reaches a terminal, those mortem formatted itself too. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "store/record.h"
#include "cli/show.h"
#include "base/text.h"
#include "base/util.h"

/* Print s escaped, so a hostile comm cannot drive the terminal. */
static void show_str(FILE *f, const char *s)
{
	text_fputs(s, f);
}

/* s escaped in a column of width (right-aligned; left when width < 0). */
static void show_col(FILE *f, int width, const char *s)
{
	_cleanup_free_ char *e = text_escape(s);
	fprintf(f, "%*s", width, e ? e : "?");
}

static void show_field(FILE *f, const char *k, const char *v)
{
	if (!v || !*v)
		return;
	fprintf(f, "%14s: ", k);
	show_str(f, v);
	fputc('\n', f);
}

static const char *show_basename(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s ? s + 1 : p;
}

static void show_local_time(int64_t usec, char *buf, size_t len)
{
	time_t t = (time_t)(usec / 1000000);
	struct tm tm;
	if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm))
		snprintf(buf, len, "@%lld", (long long)(usec / 1000000));
}

static bool show_is_null(json_object *o, const char *key)
{
	json_object *v = NULL;
	return !json_object_object_get_ex(o, key, &v) || v == NULL;
}

void show_frame(FILE *f, size_t n, json_object *fr)
{
	const char *fn = record_str(fr, "function", NULL), *mod = record_str(fr, "module", NULL);
	const char *file = record_str(fr, "file", NULL);
	fprintf(f, "    #%-2zu ", n);
	show_col(f, 18, record_str(fr, "pc", "?"));
	fputc(' ', f);
	if (fn) {
		show_str(f, fn);
		if (!show_is_null(fr, "offset"))
			fprintf(f, "+0x%" PRIx64, (uint64_t)record_i64(fr, "offset", 0));
	} else {
		fputs("??", f);
	}
	if (mod) {
		fputs(" (", f);
		show_str(f, show_basename(mod));
		fprintf(f, "+0x%" PRIx64 ")", (uint64_t)record_i64(fr, "module_offset", 0));
	}
	if (file) {
		fputs(" at ", f);
		show_str(f, file);
		if (!show_is_null(fr, "line"))
			fprintf(f, ":%lld", (long long)record_i64(fr, "line", 0));
	}
	if (json_object_get_boolean(json_object_object_get(fr, "inlined")))
		fputs(" [inlined]", f);
	fputc('\n', f);
}

/* The crashed process's pid and user namespaces as the capture saw them
 * (proc.pid_ns, proc.threads' ns_tid, proc.uid_map): the core numbers threads
 * and a signal's sender as the process's namespace does, and those numbers
 * are shown in ours where the capture knows them, marked where it does not. */
struct show_ns {
	json_object *pid_ns, *threads, *uid_map; /* not owned; NULL: none */
	int64_t host_pid;
};

static void show_ns_init(json_object *rec, struct show_ns *ns)
{
	json_object *proc = record_obj(rec, "proc"), *v = NULL;
	*ns = (struct show_ns){ .host_pid = record_i64(rec, "pid", 0) };
	if (!proc)
		return;
	ns->pid_ns = record_obj(proc, "pid_ns");
	if (ns->pid_ns && json_object_object_get_ex(proc, "threads", &v) && json_object_is_type(v, json_type_array))
		ns->threads = v;
	if (json_object_object_get_ex(proc, "uid_map", &v) && json_object_is_type(v, json_type_array))
		ns->uid_map = v;
}

/* id, a pid or tid of the process's pid namespace, in ours: true with *host
 * (and *who: "itself", "its init" or NULL) when known. Without a namespace
 * of its own, every id is ours already. */
static bool show_ns_pid(const struct show_ns *ns, int64_t id, int64_t *host, const char **who)
{
	*who = NULL;
	if (!ns->pid_ns) {
		*host = id;
		return true;
	}
	if (id == record_i64(ns->pid_ns, "pid", -1) && ns->host_pid > 0) {
		*host = ns->host_pid;
		*who = "itself";
		return true;
	}
	size_t n = ns->threads ? json_object_array_length(ns->threads) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(ns->threads, i);
		if (record_i64(t, "ns_tid", -1) == id && record_i64(t, "tid", -1) > 0) {
			*host = record_i64(t, "tid", -1);
			return true;
		}
	}
	if (id == 1 && record_i64(ns->pid_ns, "init_pid", -1) > 0) {
		*host = record_i64(ns->pid_ns, "init_pid", -1);
		*who = "its pid namespace's init";
		return true;
	}
	return false;
}

/* The captured name of the thread the namespace numbers id: the analysis
 * names threads by the host's tids, which the core does not give there. */
static const char *show_ns_comm(const struct show_ns *ns, int64_t id)
{
	size_t n = ns->pid_ns && ns->threads ? json_object_array_length(ns->threads) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(ns->threads, i);
		if (record_i64(t, "ns_tid", -1) == id)
			return record_str(t, "comm", NULL);
	}
	return NULL;
}

/* A uid of the process's user namespace in ours, through its uid_map. */
static bool show_ns_uid(const struct show_ns *ns, int64_t uid, int64_t *host)
{
	size_t n = ns->uid_map ? json_object_array_length(ns->uid_map) : 0;
	if (!ns->uid_map) {
		*host = uid;
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(ns->uid_map, i);
		int64_t in = json_object_get_int64(json_object_array_get_idx(e, 0));
		int64_t out = json_object_get_int64(json_object_array_get_idx(e, 1));
		int64_t cnt = json_object_get_int64(json_object_array_get_idx(e, 2));
		if (uid >= in && uid - in < cnt) {
			*host = out + (uid - in);
			return true;
		}
	}
	return false;
}

/* A thread's id as shown: ours in num, and in note what the namespace calls
 * it, or that the number is the namespace's (empty without a namespace). */
static void show_ns_tid(const struct show_ns *ns, int64_t tid, char *num, size_t nlen, char *note, size_t len)
{
	int64_t host;
	const char *who;
	note[0] = '\0';
	snprintf(num, nlen, "%lld", (long long)tid);
	if (!show_ns_pid(ns, tid, &host, &who))
		snprintf(note, len, " [in the process's pid namespace]");
	else if (ns->pid_ns) {
		snprintf(num, nlen, "%lld", (long long)host);
		snprintf(note, len, " [%lld in its pid namespace]", (long long)tid);
	}
}

static void show_thread_head(FILE *f, const struct show_ns *ns, json_object *t, const char *extra)
{
	char id[24], note[64];
	show_ns_tid(ns, record_i64(t, "tid", 0), id, sizeof(id), note, sizeof(note));
	fprintf(f, "  Thread %s", id);
	const char *name = record_str(t, "name", NULL);
	if (!name)
		name = show_ns_comm(ns, record_i64(t, "tid", 0));
	if (name) {
		fputs(" (", f);
		show_str(f, name);
		fputc(')', f);
	}
	fputs(note, f);
	if (json_object_get_boolean(json_object_object_get(t, "crashed")))
		fputs(" — crashed", f);
	if (extra)
		fputs(extra, f);
	fputs(":\n", f);
}

static void show_thread_frames(FILE *f, json_object *t)
{
	json_object *frames = json_object_object_get(t, "frames");
	size_t n = json_object_is_type(frames, json_type_array) ? json_object_array_length(frames) : 0;
	for (size_t i = 0; i < n; i++)
		show_frame(f, i, json_object_array_get_idx(frames, i));
	if (n == 0)
		fputs("    (no frames)\n", f);
	if (json_object_get_boolean(json_object_object_get(t, "truncated")))
		fputs("    … more frames not unwound (cap reached)\n", f);
	const char *err = record_str(t, "error", NULL);
	if (err && n > 0) {
		fputs("    (unwinding stopped: ", f);
		show_str(f, err);
		fputs(")\n", f);
	}
}

static void show_signal(FILE *f, json_object *rec)
{
	json_object *si = record_obj(rec, "siginfo");
	char buf[320];

	snprintf(buf, sizeof(buf), "%lld (%s)", (long long)record_i64(rec, "signal", 0), record_str(rec, "signal_name", "?"));
	show_field(f, "Signal", buf);
	if (!si)
		return;
	if (record_str(si, "code_name", NULL)) {
		snprintf(buf, sizeof(buf), "%s (%lld)", record_str(si, "code_name", ""), (long long)record_i64(si, "code", 0));
		show_field(f, "Code", buf);
	}
	if (record_str(si, "addr", NULL)) {
		const char *region = record_str(si, "fault_region", NULL);
		if (record_str(si, "fault_module", NULL))
			snprintf(buf, sizeof(buf), "%s (%s: %s+%s)", record_str(si, "addr", ""), region ? region : "?",
				 show_basename(record_str(si, "fault_module", "")), record_str(si, "fault_offset", "?"));
		else if (!show_is_null(si, "fault_thread"))
			snprintf(buf, sizeof(buf), "%s (%s of thread %lld)", record_str(si, "addr", ""), region ? region : "?",
				 (long long)record_i64(si, "fault_thread", 0));
		else
			snprintf(buf, sizeof(buf), "%s (%s)", record_str(si, "addr", ""), region ? region : "?");
		show_field(f, "Fault Address", buf);
	}
	if (!show_is_null(si, "sender_pid")) {
		struct show_ns ns;
		int64_t pid = record_i64(si, "sender_pid", 0), uid = record_i64(si, "sender_uid", 0), hpid, huid;
		const char *who = NULL;
		char p[160], u[96];
		bool self = json_object_get_boolean(json_object_object_get(si, "sender_self"));
		show_ns_init(rec, &ns);
		if (self && ns.host_pid > 0) {
			hpid = ns.host_pid;
			who = "itself";
		} else if (!show_ns_pid(&ns, pid, &hpid, &who)) {
			hpid = -1;
		}
		/* The kernel gives 0 for a sender the namespace cannot see. */
		if (hpid < 0 && pid == 0)
			snprintf(p, sizeof(p), "a process outside its pid namespace (pid 0 there)");
		else if (hpid < 0)
			snprintf(p, sizeof(p), "pid %lld (in the process's pid namespace)", (long long)pid);
		else if (ns.pid_ns && hpid != pid)
			snprintf(p, sizeof(p), "pid %lld (%s%spid %lld in its pid namespace)", (long long)hpid,
				 who ? who : "", who ? ": " : "", (long long)pid);
		else
			snprintf(p, sizeof(p), "pid %lld%s%s%s", (long long)hpid, who ? " (" : "", who ? who : "", who ? ")" : "");
		/* Itself: its uid is the record's, seen from here. */
		if (self && record_i64(rec, "uid", -1) >= 0)
			huid = record_i64(rec, "uid", -1);
		else if (!show_ns_uid(&ns, uid, &huid))
			huid = -1;
		if (huid < 0)
			snprintf(u, sizeof(u), "uid %lld (in the process's user namespace)", (long long)uid);
		else if (huid != uid)
			snprintf(u, sizeof(u), "uid %lld (%lld in its user namespace)", (long long)huid, (long long)uid);
		else
			snprintf(u, sizeof(u), "uid %lld", (long long)uid);
		snprintf(buf, sizeof(buf), "%s, %s", p, u);
		show_field(f, "Sent By", buf);
	}
}

/* A file the record names is there unless show_mark_present said otherwise. */
static bool show_present(json_object *o)
{
	json_object *v = NULL;
	return !json_object_object_get_ex(o, "present", &v) || !json_object_is_type(v, json_type_boolean) ||
	       json_object_get_boolean(v);
}

/* The core was kept in the store (stored, truncated, or an error whose bytes
 * were kept all the same): the record names its file. */
static bool show_core_kept(json_object *core)
{
	return record_str(core, "path", NULL) != NULL;
}

/* Gone, as opposed to unreadable to us: only ENOENT and ENOTDIR say missing
 * (a user without access to the store sees EACCES and is told nothing). */
static bool show_path_missing(const char *path)
{
	struct stat sb;
	return path && *path == '/' && stat(path, &sb) < 0 && (errno == ENOENT || errno == ENOTDIR);
}

/* The record is this machine's when its own file lies beside its core
 * (STORE/<id>.json next to STORE/<id>.core.zst): a record fetched from
 * another host (mortem fleet info) names paths of that host, which say
 * nothing here. */
static bool show_record_local(json_object *rec, const char *path)
{
	const char *id = record_str(rec, "id", NULL), *slash = path ? strrchr(path, '/') : NULL;
	char rp[4096];
	struct stat sb;
	if (!id || !slash || !record_id_valid(id))
		return false;
	int n = snprintf(rp, sizeof(rp), "%.*s/%s.json", (int)(slash - path), path, id);
	return n > 0 && (size_t)n < sizeof(rp) && stat(rp, &sb) == 0;
}

void show_mark_present(json_object *rec)
{
	static const char *const keys[] = { "core", "minicore" };
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		json_object *o = record_obj(rec, keys[i]);
		const char *path = o ? record_str(o, "path", NULL) : NULL;
		if (!path || json_object_object_get_ex(o, "present", NULL))
			continue;
		if (show_path_missing(path) && show_record_local(rec, path))
			json_object_object_add(o, "present", json_object_new_boolean(false));
	}
}

/* The Core line says what is true of the file: its stored and received sizes
 * while it is kept, "missing" once it is gone from the disk, and for a core
 * that was not kept (skipped, too large, an error) the reason and the size
 * received, never a "stored" size of bytes that are not there. */
static void show_core_line(json_object *core, char *buf, size_t len)
{
	const char *st = record_str(core, "status", "?"), *reason = record_str(core, "reason", NULL);
	uint64_t size = (uint64_t)record_i64(core, "size", 0), stored = (uint64_t)record_i64(core, "stored_size", 0);
	uint64_t expected = (uint64_t)record_i64(core, "expected_size", 0);
	char a[16], b[16], c[16];
	format_size(stored, a, sizeof(a));
	format_size(size, b, sizeof(b));
	format_size(expected, c, sizeof(c));
	if (show_core_kept(core) && !show_present(core)) {
		snprintf(buf, len, "missing (recorded %s, %s stored of %s; the file is gone)", st, a, b);
		return;
	}
	if (show_core_kept(core)) {
		snprintf(buf, len, "%s, %s stored of %s", st, a, b);
		return;
	}
	int n = snprintf(buf, len, "%s%s%s%s", st, reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
	if (n < 0 || (size_t)n >= len)
		return;
	if (strcmp(st, "error") == 0 || strcmp(st, "too-large") == 0 || expected > size)
		snprintf(buf + n, len - (size_t)n, ", %s received%s%s", b, expected > size ? " of " : "",
			 expected > size ? c : "");
	else if (size > 0)
		snprintf(buf + n, len - (size_t)n, ", %s", b);
}

static void show_process(FILE *f, json_object *rec)
{
	json_object *core = record_obj(rec, "core"), *mini = record_obj(rec, "minicore");
	json_object *sys = record_obj(rec, "system"), *proc = record_obj(rec, "proc");
	char buf[512], a[16];

	snprintf(buf, sizeof(buf), "%lld (%s)", (long long)record_i64(rec, "pid", 0), record_str(rec, "comm", "?"));
	show_field(f, "PID", buf);
	snprintf(buf, sizeof(buf), "%lld", (long long)record_i64(rec, "uid", -1));
	show_field(f, "UID", buf);
	snprintf(buf, sizeof(buf), "%lld", (long long)record_i64(rec, "gid", -1));
	show_field(f, "GID", buf);
	show_local_time(record_i64(rec, "time_usec", 0), buf, sizeof(buf));
	show_field(f, "Timestamp", buf);
	show_field(f, "Command Line", record_str(rec, "cmdline", NULL));
	show_field(f, "Executable", record_str(rec, "exe", NULL));
	show_field(f, "Unit", record_str(rec, "unit", NULL));
	show_field(f, "Slice", record_str(rec, "slice", NULL));
	if (proc) {
		show_field(f, "Working Dir", record_str(proc, "cwd", NULL));
		json_object *ct = record_obj(proc, "container");
		if (ct) {
			char cbuf[600];
			const char *cid = record_str(ct, "id", NULL);
			snprintf(cbuf, sizeof(cbuf), "%s %s%s%.12s%s", record_str(ct, "runtime", "unknown runtime"),
				 record_str(ct, "name", "(no name)"), cid ? " (id " : "", cid ? cid : "", cid ? ")" : "");
			show_field(f, "Container", cbuf);
		}
	}
	show_field(f, "Hostname", record_str(rec, "hostname", NULL));
	show_field(f, "Boot ID", record_str(rec, "boot_id", NULL));
	if (sys) {
		show_field(f, "Kernel", record_str(sys, "kernel", NULL));
		show_field(f, "OS", record_str(sys, "os", NULL));
	}
	show_field(f, "ID", record_str(rec, "id", NULL));
	show_field(f, "Signature", record_str(rec, "signature", NULL));
	if (core) {
		show_core_line(core, buf, sizeof(buf));
		show_field(f, "Core", buf);
		/* The other statuses carry their reason on the Core line. */
		if (show_core_kept(core))
			show_field(f, "Core Reason", record_str(core, "reason", NULL));
		show_field(f, "Core File", record_str(core, "path", NULL));
		/* A lost crash's record (pending_recover) never knew. */
		if (!show_is_null(core, "held_usec")) {
			snprintf(buf, sizeof(buf), "%.3f s", (double)record_i64(core, "held_usec", 0) / 1e6);
			show_field(f, "Process Held", buf);
		}
	}
	if (mini && record_str(mini, "path", NULL) && !show_present(mini)) {
		format_size((uint64_t)record_i64(mini, "size", 0), a, sizeof(a));
		snprintf(buf, sizeof(buf), "missing (%s written, the file is gone)", a);
		show_field(f, "Minicore", buf);
		show_field(f, "Minicore File", record_str(mini, "path", NULL));
	} else if (mini && record_str(mini, "path", NULL)) {
		format_size((uint64_t)record_i64(mini, "size", 0), a, sizeof(a));
		snprintf(buf, sizeof(buf), "%s, %lld threads, %lld stacks kept%s%s", a,
			 (long long)record_i64(mini, "threads", 0), (long long)record_i64(mini, "stacks", 0),
			 record_str(mini, "capped", NULL) ? ", capped: " : "", record_str(mini, "capped", ""));
		show_field(f, "Minicore", buf);
		show_field(f, "Minicore File", record_str(mini, "path", NULL));
	} else if (mini) {
		snprintf(buf, sizeof(buf), "none (%s)", record_str(mini, "error", "?"));
		show_field(f, "Minicore", buf);
	}
}

void show_info(FILE *f, json_object *rec)
{
	json_object *an = record_obj(rec, "analysis"), *v;
	const char *slogan = record_str(rec, "slogan", NULL);

	if (slogan) {
		show_str(f, slogan);
		fputs("\n\n", f);
	}
	show_mark_present(rec);
	show_signal(f, rec);
	show_process(f, rec);
	if (an && strcmp(record_str(an, "status", ""), "ok") != 0) {
		char buf[512];
		snprintf(buf, sizeof(buf), "%s%s%s", record_str(an, "status", "?"), record_str(an, "error", NULL) ? ": " : "",
			 record_str(an, "error", ""));
		show_field(f, "Analysis", buf);
	}
	int64_t again = an ? record_i64(an, "reanalyzed_usec", 0) : 0;
	if (again > 0) {
		char when[64];
		show_local_time(again, when, sizeof(when));
		show_field(f, "Re-analysed", when);
	}
	if (json_object_object_get_ex(rec, "argv_problems", &v) && json_object_is_type(v, json_type_array))
		for (size_t i = 0; i < json_object_array_length(v); i++)
			show_field(f, "Argument", json_object_get_string(json_object_array_get_idx(v, i)));
	if (json_object_object_get_ex(rec, "errors", &v) && json_object_is_type(v, json_type_array))
		for (size_t i = 0; i < json_object_array_length(v); i++)
			show_field(f, "Problem", json_object_get_string(json_object_array_get_idx(v, i)));

	json_object *threads = json_object_object_get(rec, "threads");
	size_t nt = json_object_is_type(threads, json_type_array) ? json_object_array_length(threads) : 0;
	if (nt > 0) {
		struct show_ns ns;
		show_ns_init(rec, &ns);
		fprintf(f, "\nStacks (%zu thread%s):\n", nt, nt == 1 ? "" : "s");
		for (size_t i = 0; i < nt; i++) {
			json_object *t = json_object_array_get_idx(threads, i);
			show_thread_head(f, &ns, t, NULL);
			show_thread_frames(f, t);
		}
		if (json_object_get_boolean(json_object_object_get(rec, "threads_truncated")))
			fputs("  … more threads not unwound (cap reached)\n", f);
	}
	json_object *mods = json_object_object_get(rec, "modules");
	size_t nm = json_object_is_type(mods, json_type_array) ? json_object_array_length(mods) : 0;
	if (nm > 0) {
		fprintf(f, "\nModules (%zu):\n", nm);
		for (size_t i = 0; i < nm; i++) {
			json_object *m = json_object_array_get_idx(mods, i);
			fputs("  ", f);
			show_col(f, 18, record_str(m, "start", "?"));
			fputc('-', f);
			show_col(f, -18, record_str(m, "end", "?"));
			fputc(' ', f);
			show_col(f, -40, record_str(m, "build_id", "-"));
			fputc(' ', f);
			show_str(f, record_str(m, "path", "?"));
			const char *od = record_str(m, "on_disk", NULL);
			if (od && strcmp(od, "match") != 0) {
				fputs(" [on disk: ", f);
				show_str(f, od);
				fputc(']', f);
			}
			fputc('\n', f);
		}
	}
}

/* A stack's identity for folding: its frames' module and function (or module
 * offset), which do not change between threads running the same code. */
static char *show_stack_key(json_object *t)
{
	json_object *frames = json_object_object_get(t, "frames");
	size_t n = json_object_is_type(frames, json_type_array) ? json_object_array_length(frames) : 0;
	size_t cap = 64, len = 0;
	char *key = malloc(cap);
	if (!key)
		return NULL;
	key[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		json_object *fr = json_object_array_get_idx(frames, i);
		char part[600];
		int k = snprintf(part, sizeof(part), "%s|%s|%lld;", record_str(fr, "module", ""),
				 record_str(fr, "function", ""),
				 record_str(fr, "function", NULL) ? 0LL : (long long)record_i64(fr, "module_offset", 0));
		if (k < 0)
			continue;
		if ((size_t)k >= sizeof(part))
			k = sizeof(part) - 1;
		while (len + (size_t)k + 1 > cap) {
			char *nk = realloc(key, cap *= 2);
			if (!nk) {
				free(key);
				return NULL;
			}
			key = nk;
		}
		memcpy(key + len, part, (size_t)k + 1);
		len += (size_t)k;
	}
	return key;
}

struct show_group {
	char *key;
	json_object *first; /* not owned */
	size_t count;
	int64_t tids[8];
};

static int show_group_cmp(const void *a, const void *b)
{
	const struct show_group *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

size_t show_stacks(FILE *f, json_object *rec, bool all)
{
	json_object *threads = json_object_object_get(rec, "threads");
	size_t nt = json_object_is_type(threads, json_type_array) ? json_object_array_length(threads) : 0;
	struct show_group *g = calloc(nt ? nt : 1, sizeof(*g));
	size_t ng = 0, printed = 0;
	struct show_ns ns;

	if (!g)
		return 0;
	show_ns_init(rec, &ns);
	const char *slogan = record_str(rec, "slogan", NULL);
	if (slogan) {
		show_str(f, slogan);
		fputs("\n\n", f);
	}
	for (size_t i = 0; i < nt; i++) {
		json_object *t = json_object_array_get_idx(threads, i);
		if (all || json_object_get_boolean(json_object_object_get(t, "crashed"))) {
			show_thread_head(f, &ns, t, NULL);
			show_thread_frames(f, t);
			printed++;
			continue;
		}
		char *key = show_stack_key(t);
		size_t j;
		for (j = 0; j < ng; j++)
			if (key && g[j].key && strcmp(key, g[j].key) == 0)
				break;
		if (j == ng) {
			g[ng].key = key;
			g[ng].first = t;
			ng++;
		} else {
			free(key);
		}
		if (g[j].count < ARRAY_SIZE(g[j].tids))
			g[j].tids[g[j].count] = record_i64(t, "tid", 0);
		g[j].count++;
	}
	qsort(g, ng, sizeof(*g), show_group_cmp);
	for (size_t j = 0; j < ng; j++) {
		fputc('\n', f);
		fprintf(f, "  %zu thread%s:", g[j].count, g[j].count == 1 ? "" : "s");
		for (size_t k = 0; k < g[j].count && k < ARRAY_SIZE(g[j].tids); k++) {
			int64_t host;
			const char *who;
			if (show_ns_pid(&ns, g[j].tids[k], &host, &who))
				fprintf(f, " %lld", (long long)host);
			else /* as its pid namespace numbers it: no host tid known */
				fprintf(f, " ns:%lld", (long long)g[j].tids[k]);
		}
		if (g[j].count > ARRAY_SIZE(g[j].tids))
			fputs(" …", f);
		fputc('\n', f);
		show_thread_frames(f, g[j].first);
		free(g[j].key);
		printed++;
	}
	if (nt == 0) {
		json_object *an = record_obj(rec, "analysis");
		fputs("no stacks: analysis ", f);
		show_str(f, an ? record_str(an, "status", "?") : "missing");
		fputs(an && record_str(an, "error", NULL) ? ": " : "", f);
		show_str(f, an ? record_str(an, "error", "") : "");
		/* A failed analysis is not final (debug packages come later, a
		 * stop cut it short): say how to run it again. */
		fputs("\n'mortem analyze ", f);
		show_str(f, record_str(rec, "id", "?"));
		fputs("' runs the analysis again\n", f);
	}
	free(g);
	return printed;
}

void show_analysis(FILE *f, json_object *rec)
{
	json_object *an = record_obj(rec, "analysis");
	json_object *threads = json_object_object_get(rec, "threads");
	const char *status = an ? record_str(an, "status", "?") : "missing";
	const char *error = an ? record_str(an, "error", NULL) : NULL;

	fputs("analysed ", f);
	show_str(f, record_str(rec, "id", "?"));
	fputs(": ", f);
	show_str(f, status);
	if (strcmp(status, "ok") == 0) {
		size_t nt = json_object_is_type(threads, json_type_array) ? json_object_array_length(threads) : 0;
		fprintf(f, " (%zu thread%s)", nt, nt == 1 ? "" : "s");
	} else if (error) {
		fputs(" (", f);
		show_str(f, error);
		fputc(')', f);
	}
	fputc('\n', f);
	/* What the analysis could not read from: a container's binaries once it
	 * is gone, a binary removed or replaced since the crash. */
	json_object *mods = json_object_object_get(rec, "modules");
	size_t nm = json_object_is_type(mods, json_type_array) ? json_object_array_length(mods) : 0;
	for (size_t i = 0; i < nm; i++) {
		json_object *m = json_object_array_get_idx(mods, i);
		const char *od = record_str(m, "on_disk", NULL), *what = NULL;
		if (!od)
			continue;
		if (strcmp(od, "missing") == 0)
			what = "not found";
		else if (strcmp(od, "unreadable") == 0)
			what = "not readable";
		else if (strcmp(od, "mismatch") == 0)
			what = "not the file that ran (build-id differs)";
		if (!what)
			continue;
		fputs("  ", f);
		show_str(f, record_str(m, "path", "?"));
		fprintf(f, ": %s (its frames may go unnamed)\n", what);
	}
}
