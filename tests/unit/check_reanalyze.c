/* reanalyze: a stored crash whose analysis was cut short is analysed again
 * from its minicore; the record keeps everything but the analysis, which now
 * looks as a collection-time one does, and the index row follows. A missing
 * record, no minicore, a malformed record, a busy collector or a cut leave the
 * record as it was; a crash removed while it was analysed is not brought
 * back. Crashes are stored by the collector's own pipeline (collect_run) into
 * a temp store, from real cores (targetcore.h, gdb's gcore) or the synthetic
 * one (fakecore.h). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/analyze.h"
#include "collect/collect.h"
#include "fakecore.h"
#include "store/index.h"
#include "store/quota.h"
#include "store/reanalyze.h"
#include "store/record.h"
#include "store/store.h"
#include "targetcore.h"

static char root[] = "/tmp/check_reanalyze.XXXXXX";

static void setup(struct mortem_config *cfg, struct store *st)
{
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_int_eq(config_init(cfg), 0);
	free(cfg->store_path);
	cfg->store_path = strdup(root);
	ck_assert_int_eq(store_init(st, root), 0);
	ck_assert_int_eq(store_mkdirs(st), 0);
}

static void teardown(struct mortem_config *cfg, struct store *st)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	ck_assert_int_eq(system(cmd), 0);
	store_free(st);
	config_free(cfg);
}

/* Store the core in fd (consumed) as the collector does, with the analysis cut
 * short when cut. */
static void collect_fd(const struct mortem_config *cfg, int fd, bool cut, char *id, size_t len)
{
	static volatile sig_atomic_t cut_on = 1;
	struct crash_args a;
	struct collect_outcome out;
	const char *v[] = { "0", "0", "0", "11", "1795000000", "18446744073709551615", "host", NULL };

	ck_assert_int_ge(fd, 0);
	crash_args_parse(7, v, &a);
	struct collect_source src = { .fd = fd, .spill_fd = -1, .held_usec = -1, .pool_fd = -1,
				      .cut = cut ? &cut_on : NULL };
	ck_assert_int_eq(collect_run(cfg, &a, NULL, &src, &out), 0);
	ck_assert(out.published);
	ck_assert(out.indexed);
	snprintf(id, len, "%s", out.id);
}

static void collect_file(const struct mortem_config *cfg, const char *core, bool cut, char *id, size_t len)
{
	collect_fd(cfg, open(core, O_RDONLY | O_CLOEXEC), cut, id, len);
}

static void collect_fake(const struct mortem_config *cfg, char *id, size_t len)
{
	struct fakecore fc;
	fakecore_make(&fc);
	int fd = testutil_tmpfd();
	ck_assert_int_eq(write_all(fd, fc.buf, fc.len), 0);
	ck_assert_int_eq((int)lseek(fd, 0, SEEK_SET), 0);
	free(fc.buf);
	collect_fd(cfg, fd, false, id, len);
}

static char *path_of(const struct store *st, const char *id, const char *sfx)
{
	char *p = store_path(st->store_dir, id, sfx);
	ck_assert_ptr_nonnull(p);
	return p;
}

static json_object *load(const struct store *st, const char *id)
{
	_cleanup_free_ char *p = path_of(st, id, ".json");
	json_object *rec = NULL;
	ck_assert_int_eq(record_load(p, &rec), 0);
	return rec;
}

/* Replace the record file (as a test set-up: no lock, no index). */
static void save(const struct store *st, const char *id, json_object *rec)
{
	_cleanup_free_ char *p = path_of(st, id, ".json");
	char tmp[600];
	snprintf(tmp, sizeof(tmp), "%s.new", p);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(record_write_fd(rec, fd), 0);
	close(fd);
	ck_assert_int_eq(rename(tmp, p), 0);
}

static void write_raw(const struct store *st, const char *id, const char *text)
{
	_cleanup_free_ char *p = path_of(st, id, ".json");
	int fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, text, strlen(text)), 0);
	close(fd);
}

/* The record file's bytes and inode, to tell that it was not touched. */
struct snap {
	char *buf;
	size_t len;
	ino_t ino;
};

static void snap_take(const struct store *st, const char *id, struct snap *s)
{
	_cleanup_free_ char *p = path_of(st, id, ".json");
	struct stat sb;
	bool trunc;
	ck_assert_int_eq(stat(p, &sb), 0);
	s->ino = sb.st_ino;
	ck_assert_int_eq(read_file_at(AT_FDCWD, p, 64u << 20, &s->buf, &s->len, &trunc), 0);
}

static void snap_same(const struct store *st, const char *id, struct snap *s)
{
	struct snap now;
	snap_take(st, id, &now);
	ck_assert_msg(now.ino == s->ino, "the record of %s was replaced", id);
	ck_assert_msg(now.len == s->len && memcmp(now.buf, s->buf, s->len) == 0, "the record of %s changed", id);
	free(now.buf);
	free(s->buf);
	s->buf = NULL;
}

/* The index row of id (NULL when there is none), for *w. */
static bool row_of(const struct store *st, const char *id, struct index_row **rows, size_t *n)
{
	sqlite3 *db = NULL;
	struct index_filter f = { .match = id };
	ck_assert_int_eq(index_open(st->index_path, &db), 0);
	ck_assert_int_eq(index_query(db, &f, rows, n), 0);
	index_close(db);
	return *n == 1 && strcmp((*rows)[0].id, id) == 0;
}

static const char *analysis_status(json_object *rec)
{
	return record_str(record_obj(rec, "analysis"), "status", "?");
}

static const char *plain(json_object *o)
{
	return o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : "null";
}

static bool spool_has(const struct store *st, const char *id, const char *sfx)
{
	_cleanup_free_ char *p = store_path(st->spool_dir, id, sfx);
	return access(p, F_OK) == 0;
}

static bool marked(const struct store *st, const char *id)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/reanalyze/%s", st->root, id);
	return access(p, F_OK) == 0;
}

/* The top-level keys of o in their order, but skip. */
static void keys_of(json_object *o, const char *skip, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (strcmp(key, skip) == 0)
			continue;
		int w = snprintf(buf + n, len - n, "%s ", key);
		ck_assert(w > 0 && (size_t)w < len - n);
		n += (size_t)w;
	}
}

/* The motivating case: an analysis a stop of mortemd cut short. */
START_TEST(test_failed_becomes_ok)
{
	struct mortem_config cfg;
	struct store st;
	struct targetcore tc;
	char id_cut[128], id_ref[128], fns[2048];
	const char *status = NULL;

	TARGETCORE_SKIP_IF_NO_SANDBOX();
	setup(&cfg, &st);
	/* analysed again long after the process is gone: the binary by its path */
	targetcore_make_reachable(&tc, "wait", 2);
	collect_file(&cfg, tc.core, true, id_cut, sizeof(id_cut));
	collect_file(&cfg, tc.core, false, id_ref, sizeof(id_ref));
	json_object *ref = load(&st, id_ref);
	ck_assert_str_eq(analysis_status(ref), "ok");

	/* What analyze_run returns is all analysis keys: a new key there must
	 * be taught to reanalyze (and what the collector adds is not one). */
	{
		_cleanup_free_ char *mini = path_of(&st, id_ref, ".mini");
		struct analyze_opts o = { .sysroot_fd = -1 };
		json_object *res = NULL;
		ck_assert_int_eq(analyze_run(mini, &o, &res), 0);
		ck_assert_str_eq(analysis_status(res), "ok");
		json_object_object_foreach(res, key, val) {
			(void)val;
			ck_assert_msg(reanalyze_is_analysis_key(key), "analyze_run returns '%s', unknown to reanalyze", key);
		}
		json_object_put(res);
		static const char *const not_analysis[] = { "id", "core", "minicore", "proc", "system", "policy",
							    "collector", "errors", "signal", "exe", "time_usec" };
		for (size_t i = 0; i < ARRAY_SIZE(not_analysis); i++)
			ck_assert(!reanalyze_is_analysis_key(not_analysis[i]));
	}

	/* The cut one, as collected: failed, no stacks, no signature; give it
	 * the thread names a /proc capture would have taken. */
	json_object *old = load(&st, id_cut);
	ck_assert_str_eq(analysis_status(old), "failed");
	ck_assert_ptr_nonnull(strstr(record_str(record_obj(old, "analysis"), "error", ""), "cut short"));
	ck_assert(!json_object_object_get_ex(old, "threads", NULL));
	json_object *proc = json_object_new_object(), *names = json_object_new_array(), *nm = json_object_new_object();
	json_object_object_add(nm, "tid", json_object_new_int(tc.tids[1]));
	json_object_object_add(nm, "comm", json_object_new_string("named-by-proc"));
	json_object_array_add(names, nm);
	json_object_object_add(proc, "threads", names);
	json_object_object_add(proc, "status", json_object_new_string("kept as it is"));
	json_object_object_add(old, "proc", proc);
	save(&st, id_cut, old);
	struct index_row *rows;
	size_t n;
	ck_assert(row_of(&st, id_cut, &rows, &n));
	ck_assert_ptr_null(rows[0].signature);
	index_rows_free(rows, n);
	_cleanup_free_ char *rp = path_of(&st, id_cut, ".json");
	struct stat before;
	ck_assert_int_eq(chmod(rp, 0600), 0); /* the collector's umask 077 */
	ck_assert_int_eq(stat(rp, &before), 0);

	int64_t t0 = now_usec();
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, id_cut, NULL, &status), 0);
	int64_t t1 = now_usec();
	ck_assert_str_eq(status, "ok");
	json_object *rec = load(&st, id_cut), *an = record_obj(rec, "analysis"), *v;
	ck_assert_str_eq(analysis_status(rec), "ok");
	ck_assert(json_object_object_get_ex(an, "error", &v) && v == NULL);
	int64_t when = record_i64(an, "reanalyzed_usec", 0);
	ck_assert_int_ge(when, t0);
	ck_assert_int_le(when, t1);

	/* everything but the analysis is kept, byte for byte */
	json_object_object_foreach(old, key, val) {
		if (reanalyze_is_analysis_key(key))
			continue;
		json_object *now;
		ck_assert_msg(json_object_object_get_ex(rec, key, &now), "%s lost", key);
		char *was = strdup(plain(val));
		ck_assert_msg(strcmp(was, plain(now)) == 0, "%s changed: %s -> %s", key, was, plain(now));
		free(was);
	}
	json_object_object_foreach(rec, key2, val2) {
		(void)val2;
		ck_assert_msg(reanalyze_is_analysis_key(key2) || json_object_object_get_ex(old, key2, NULL),
			      "%s appeared", key2);
	}
	/* and it looks like a record analysed when collected: the same keys in
	 * the same order, the same verdict */
	char keys_now[1024], keys_ref[1024];
	keys_of(rec, "proc", keys_now, sizeof(keys_now));
	keys_of(ref, "proc", keys_ref, sizeof(keys_ref));
	ck_assert_str_eq(keys_now, keys_ref);
	ck_assert_str_eq(record_str(rec, "signature", "?"), record_str(ref, "signature", "!"));
	ck_assert_str_eq(record_str(rec, "slogan", "?"), record_str(ref, "slogan", "!"));
	ck_assert_str_eq(plain(json_object_object_get(rec, "siginfo")), plain(json_object_object_get(ref, "siginfo")));

	/* the stacks, with the names the record's proc.threads gives */
	json_object *threads = json_object_object_get(rec, "threads");
	ck_assert_uint_eq(json_object_array_length(threads), 3);
	bool named = false, main_stack = false;
	for (size_t i = 0; i < 3; i++) {
		json_object *t = json_object_array_get_idx(threads, i);
		if (record_i64(t, "tid", 0) == tc.tids[1])
			named = strcmp(record_str(t, "name", ""), "named-by-proc") == 0;
		targetcore_fns(t, fns, sizeof(fns));
		main_stack |= strstr(fns, "at_level_three at_level_two at_level_one main") != NULL;
	}
	ck_assert(named);
	ck_assert(main_stack);

	/* the index row follows; the file kept its mode; nothing left in the spool */
	ck_assert(row_of(&st, id_cut, &rows, &n));
	ck_assert_ptr_nonnull(rows[0].signature);
	ck_assert_str_eq(rows[0].signature, record_str(rec, "signature", ""));
	ck_assert_str_eq(rows[0].slogan, record_str(rec, "slogan", ""));
	ck_assert_str_eq(rows[0].core_status, "stored");
	index_rows_free(rows, n);
	struct stat after;
	ck_assert_int_eq(stat(rp, &after), 0);
	ck_assert_uint_eq(after.st_mode & 0777, 0600);
	ck_assert(!spool_has(&st, id_cut, ".json.tmp"));

	/* once more: replaced again, still whole */
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, id_cut, NULL, &status), 0);
	json_object *again = load(&st, id_cut);
	ck_assert_str_eq(plain(json_object_object_get(again, "threads")), plain(json_object_object_get(rec, "threads")));
	ck_assert_str_eq(plain(json_object_object_get(again, "proc")), plain(json_object_object_get(old, "proc")));
	/* the signal the kernel gave (11 here) stays, whatever the core's
	 * siginfo says (gcore's: SIGSTOP); one it did not give (the coredump
	 * socket on some kernels) comes from the siginfo, as when collected */
	ck_assert_int_eq(record_i64(again, "signal", 0), 11);
	ck_assert_int_eq(record_i64(record_obj(again, "siginfo"), "signo", 0), SIGSTOP);
	json_object_object_add(again, "signal", json_object_new_int(0));
	json_object_object_add(again, "signal_name", json_object_new_string("unknown"));
	save(&st, id_cut, again);
	json_object_put(again);
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, id_cut, NULL, &status), 0);
	again = load(&st, id_cut);
	ck_assert_int_eq(record_i64(again, "signal", 0), SIGSTOP);
	ck_assert_str_eq(record_str(again, "signal_name", ""), "SIGSTOP");
	ck_assert(row_of(&st, id_cut, &rows, &n));
	ck_assert_int_eq(rows[0].signal, SIGSTOP);
	index_rows_free(rows, n);
	json_object_put(again);

	json_object_put(rec);
	json_object_put(old);
	json_object_put(ref);
	targetcore_remove(&tc);
	teardown(&cfg, &st);
}
END_TEST

START_TEST(test_missing_and_invalid)
{
	struct mortem_config cfg;
	struct store st;
	const char *status = "untouched";

	setup(&cfg, &st);
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, "20250101T000000.000000Z-00000000-1", NULL, &status), -ENOENT);
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, "../../etc/passwd", NULL, &status), -EINVAL);
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, "", NULL, &status), -EINVAL);
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, NULL, NULL, &status), -EINVAL);
	ck_assert_str_eq(status, "untouched");
	teardown(&cfg, &st);
}
END_TEST

/* The record says there is no minicore, or the file is gone or not a file. */
START_TEST(test_no_minicore)
{
	struct mortem_config cfg;
	struct store st;
	struct snap s;
	char id[128];
	const char *status = "untouched";

	setup(&cfg, &st);
	collect_fake(&cfg, id, sizeof(id));
	_cleanup_free_ char *mini = path_of(&st, id, ".mini");
	char moved[600];
	snprintf(moved, sizeof(moved), "%s.elsewhere", mini);

	/* the file is gone */
	ck_assert_int_eq(rename(mini, moved), 0);
	ck_assert_int_eq(reanalyze_mark(&st, id), 0);
	snap_take(&st, id, &s);
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, id, NULL, &status), -ENODATA);
	snap_same(&st, id, &s);
	ck_assert(marked(&st, id)); /* the caller decides */
	/* a symlink in its place */
	ck_assert_int_eq(symlink(moved, mini), 0);
	snap_take(&st, id, &s);
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, id, NULL, &status), -ENODATA);
	snap_same(&st, id, &s);
	ck_assert_int_eq(unlink(mini), 0);
	ck_assert_int_eq(rename(moved, mini), 0);

	/* the record says none (the file is there all the same) */
	json_object *rec = load(&st, id), *m = json_object_new_object();
	json_object_object_add(m, "path", NULL);
	json_object_object_add(m, "error", json_object_new_string("not written"));
	json_object_object_add(rec, "minicore", m);
	save(&st, id, rec);
	snap_take(&st, id, &s);
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, id, NULL, &status), -ENODATA);
	snap_same(&st, id, &s);
	/* no minicore object at all */
	json_object_object_del(rec, "minicore");
	save(&st, id, rec);
	snap_take(&st, id, &s);
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, id, NULL, &status), -ENODATA);
	snap_same(&st, id, &s);
	ck_assert_str_eq(status, "untouched");
	json_object_put(rec);
	teardown(&cfg, &st);
}
END_TEST

/* Records that are not what they claim are refused, and left as they are. */
START_TEST(test_malformed)
{
	struct mortem_config cfg;
	struct store st;
	struct snap s;
	char id[128], other[128];
	const char *status = "untouched";

	setup(&cfg, &st);
	collect_fake(&cfg, id, sizeof(id));
	collect_fake(&cfg, other, sizeof(other));
	json_object *good = load(&st, id);

	static const char *const bad[] = {
		"{not json",
		"{\"id\": \"x\"} trailing",
		"[1, 2, 3]",
		"",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		write_raw(&st, id, bad[i]);
		snap_take(&st, id, &s);
		ck_assert_int_eq(reanalyze_crash(&cfg, &st, id, NULL, &status), -EBADMSG);
		snap_same(&st, id, &s);
	}
	/* valid JSON, but not the contract: no core */
	json_object *rec = json_object_get(good);
	json_object *copy = NULL;
	ck_assert_int_eq(json_object_deep_copy(rec, &copy, NULL), 0);
	json_object_object_del(copy, "core");
	save(&st, id, copy);
	snap_take(&st, id, &s);
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, id, NULL, &status), -EBADMSG);
	snap_same(&st, id, &s);
	json_object_put(copy);
	/* a valid record of another crash under this id */
	json_object *theirs = load(&st, other);
	save(&st, id, theirs);
	snap_take(&st, id, &s);
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, id, NULL, &status), -EBADMSG);
	snap_same(&st, id, &s);
	json_object_put(theirs);
	ck_assert_str_eq(status, "untouched");

	/* hostile thread names only lose the names */
	copy = NULL;
	ck_assert_int_eq(json_object_deep_copy(rec, &copy, NULL), 0);
	json_object *proc = json_object_new_object();
	json_object_object_add(proc, "threads", json_tokener_parse("[1, \"x\", {\"tid\": \"a\"}, {\"tid\": 1, \"comm\": 7}]"));
	json_object_object_add(copy, "proc", proc);
	save(&st, id, copy);
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, id, NULL, &status), 0);
	ck_assert(strcmp(status, "ok") == 0 || strcmp(status, "failed") == 0);
	json_object *now = load(&st, id);
	ck_assert_str_eq(plain(json_object_object_get(now, "proc")), plain(proc));
	ck_assert_int_gt(record_i64(record_obj(now, "analysis"), "reanalyzed_usec", 0), 0);
	json_object_put(now);
	json_object_put(copy);
	json_object_put(rec);
	json_object_put(good);
	teardown(&cfg, &st);
}
END_TEST

/* Cut before the call: the analysis ends at once, and a result that says
 * only that our own stop came is not written over the record. */
START_TEST(test_cut)
{
	struct mortem_config cfg;
	struct store st;
	struct snap s;
	char id[128];
	const char *status = "untouched";
	static volatile sig_atomic_t cut = 1;
	struct index_row *rows;
	size_t n;

	setup(&cfg, &st);
	collect_fake(&cfg, id, sizeof(id));
	ck_assert_int_eq(reanalyze_mark(&st, id), 0);
	ck_assert(row_of(&st, id, &rows, &n));
	uint64_t rec_size = rows[0].record_size;
	index_rows_free(rows, n);
	snap_take(&st, id, &s);
	int64_t t0 = now_usec();
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, id, &cut, &status), -EINTR);
	ck_assert_int_lt(now_usec() - t0, 5000000);
	snap_same(&st, id, &s);
	ck_assert_str_eq(status, "untouched");
	ck_assert(row_of(&st, id, &rows, &n));
	ck_assert_uint_eq(rows[0].record_size, rec_size);
	index_rows_free(rows, n);
	ck_assert(!spool_has(&st, id, ".json.tmp"));
	ck_assert(marked(&st, id)); /* still to do at mortemd's next start */
	/* not cut: it runs, and the mark goes */
	cut = 0;
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, id, &cut, &status), 0);
	ck_assert(!marked(&st, id));
	json_object *rec = load(&st, id);
	ck_assert_int_gt(record_i64(record_obj(rec, "analysis"), "reanalyzed_usec", 0), 0);
	json_object_put(rec);
	teardown(&cfg, &st);
}
END_TEST

/* A collector that still holds the crash's spool lock (recompressing) would
 * write its own copy of the record back: refused while it does. */
START_TEST(test_busy)
{
	struct mortem_config cfg;
	struct store st;
	struct snap s;
	char id[128];
	const char *status = "untouched";
	int lock = -1;

	setup(&cfg, &st);
	collect_fake(&cfg, id, sizeof(id));
	ck_assert_int_eq(store_lock(&st, id, &lock), 0);
	snap_take(&st, id, &s);
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, id, NULL, &status), -EBUSY);
	snap_same(&st, id, &s);
	close(lock);
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, id, NULL, &status), 0);
	/* a temp file a re-analysis that died left behind is no obstacle */
	int fd = -1;
	ck_assert_int_eq(store_tmp_open(&st, id, ".json", &fd), 0);
	close(fd);
	ck_assert_int_eq(reanalyze_crash(&cfg, &st, id, NULL, &status), 0);
	ck_assert(!spool_has(&st, id, ".json.tmp"));
	teardown(&cfg, &st);
}
END_TEST

/* The marks mortemd's next start works through: ROOT/reanalyze/<id>. */
START_TEST(test_marks)
{
	struct mortem_config cfg;
	struct store st;
	char **ids = (char **)1, p[600];
	size_t n = 99;
	struct stat sb;

	setup(&cfg, &st);
	ck_assert_int_eq(reanalyze_list(&st, &ids, &n), 0); /* no directory yet */
	ck_assert_uint_eq(n, 0);
	free(ids);
	/* marked out of order (and, on ext4, listed by the directory out of
	 * order whichever order they were made in) */
	ck_assert_int_eq(reanalyze_mark(&st, "20250101T000000.000000Z-00000000-1"), 0);
	ck_assert_int_eq(reanalyze_mark(&st, "20250105T101010.123456Z-0000bbbb-4242"), 0);
	ck_assert_int_eq(reanalyze_mark(&st, "20250103T000000.000000Z-00000000-3"), 0);
	ck_assert_int_eq(reanalyze_mark(&st, "20250102T000000.000000Z-00000000-2"), 0);
	ck_assert_int_eq(reanalyze_mark(&st, "20250104T050505.555555Z-cafe0000-99"), 0);
	ck_assert_int_eq(reanalyze_mark(&st, "20250101T000000.000000Z-00000000-1"), 0); /* twice is once */
	ck_assert_int_eq(reanalyze_mark(&st, "../escape"), -EINVAL);
	snprintf(p, sizeof(p), "%s/reanalyze", root);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0700);
	snprintf(p, sizeof(p), "%s/reanalyze/.hidden", root);
	ck_assert_int_eq(close(open(p, O_WRONLY | O_CREAT, 0600)), 0);
	snprintf(p, sizeof(p), "%s/reanalyze/not an id", root);
	ck_assert_int_eq(close(open(p, O_WRONLY | O_CREAT, 0600)), 0);
	ck_assert_int_eq(reanalyze_list(&st, &ids, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(ids[0], "20250101T000000.000000Z-00000000-1");
	ck_assert_str_eq(ids[1], "20250102T000000.000000Z-00000000-2");
	ck_assert_str_eq(ids[2], "20250103T000000.000000Z-00000000-3");
	ck_assert_str_eq(ids[3], "20250104T050505.555555Z-cafe0000-99");
	ck_assert_str_eq(ids[4], "20250105T101010.123456Z-0000bbbb-4242");
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	reanalyze_unmark(&st, "20250101T000000.000000Z-00000000-1");
	reanalyze_unmark(&st, "20250101T000000.000000Z-00000000-1");
	reanalyze_unmark(&st, "../reanalyze");
	ck_assert_int_eq(reanalyze_list(&st, &ids, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(ids[0], "20250102T000000.000000Z-00000000-2");
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	teardown(&cfg, &st);
}
END_TEST

/* Until pid waits for a flock (the quota lock the test holds). */
static void wait_blocked(pid_t pid)
{
	for (int i = 0; i < 3000; i++) {
		FILE *f = fopen("/proc/locks", "r");
		char line[256];
		ck_assert_ptr_nonnull(f);
		while (fgets(line, sizeof(line), f)) {
			char *arrow = strstr(line, "-> FLOCK");
			int p = 0;
			if (arrow && sscanf(arrow, "-> FLOCK %*s %*s %d", &p) == 1 && p == pid) {
				fclose(f);
				return;
			}
		}
		fclose(f);
		(void)usleep(10000);
	}
	ck_abort_msg("pid %d never waited for the quota lock", (int)pid);
}

/* Run reanalyze_crash in a child; its result through a pipe. The child lets
 * go of the test's hold of the quota lock (lock_fd): a flock lasts while any
 * copy of its fd is open. */
static pid_t spawn(const struct mortem_config *cfg, const struct store *st, const char *id, int lock_fd, int *rfd)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *status = "none";
		char out[64];
		close(lock_fd);
		close(p[0]);
		int r = reanalyze_crash(cfg, st, id, NULL, &status);
		snprintf(out, sizeof(out), "%d %s", r, status);
		(void)write_all(p[1], out, strlen(out));
		_exit(0);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

static void reap(pid_t pid, int rfd, char *out, size_t len)
{
	ssize_t k = read(rfd, out, len - 1);
	ck_assert_int_gt(k, 0);
	out[k] = '\0';
	close(rfd);
	int ws;
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	ck_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
}

/* While the analysis runs, `mortem rm` removes one crash and the vacuum
 * deletes the core of another, each under the quota lock: the first is not
 * brought back, the second keeps its core deleted. */
START_TEST(test_changed_meanwhile)
{
	struct mortem_config cfg;
	struct store st;
	struct targetcore tc;
	char gone[128], thin[128], out[64];
	int lock = -1, rfd;
	sqlite3 *db = NULL;
	struct index_row *rows;
	size_t n;

	TARGETCORE_SKIP_IF_NO_SANDBOX();
	setup(&cfg, &st);
	targetcore_make(&tc, "wait", 1);
	collect_file(&cfg, tc.core, true, gone, sizeof(gone));
	collect_file(&cfg, tc.core, true, thin, sizeof(thin));

	/* removed */
	ck_assert_int_eq(quota_lock(&st, &lock), 0);
	pid_t pid = spawn(&cfg, &st, gone, lock, &rfd);
	wait_blocked(pid);
	static const char *const sfx[] = { ".json", ".mini", ".core.zst" };
	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
		_cleanup_free_ char *p = path_of(&st, gone, sfx[i]);
		ck_assert_int_eq(unlink(p), 0);
	}
	ck_assert_int_eq(index_open(st.index_path, &db), 0);
	ck_assert_int_eq(index_delete(db, gone), 1);
	close(lock);
	reap(pid, rfd, out, sizeof(out));
	ck_assert_str_eq(out, "-2 none"); /* -ENOENT, status untouched */
	_cleanup_free_ char *rp = path_of(&st, gone, ".json");
	ck_assert_int_ne(access(rp, F_OK), 0);
	ck_assert(!row_of(&st, gone, &rows, &n));
	index_rows_free(rows, n);
	ck_assert(!spool_has(&st, gone, ".json.tmp"));

	/* its core deleted */
	ck_assert_int_eq(quota_lock(&st, &lock), 0);
	pid = spawn(&cfg, &st, thin, lock, &rfd);
	wait_blocked(pid);
	_cleanup_free_ char *cp = path_of(&st, thin, ".core.zst");
	ck_assert_int_eq(unlink(cp), 0);
	ck_assert_int_eq(quota_mark_core(&st, db, thin, "deleted", "deleted by the test"), 0);
	close(lock);
	reap(pid, rfd, out, sizeof(out));
	ck_assert_str_eq(out, "0 ok");
	json_object *rec = load(&st, thin);
	ck_assert_str_eq(analysis_status(rec), "ok");
	ck_assert_str_eq(record_str(record_obj(rec, "core"), "status", ""), "deleted");
	ck_assert_str_eq(record_str(record_obj(rec, "core"), "reason", ""), "deleted by the test");
	ck_assert(row_of(&st, thin, &rows, &n));
	ck_assert_str_eq(rows[0].core_status, "deleted");
	ck_assert_ptr_null(rows[0].core_path);
	ck_assert_ptr_nonnull(rows[0].signature);
	index_rows_free(rows, n);
	json_object_put(rec);
	index_close(db);
	targetcore_remove(&tc);
	teardown(&cfg, &st);
}
END_TEST

static Suite *reanalyze_suite(void)
{
	Suite *s = suite_create("reanalyze");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_failed_becomes_ok);
	tcase_add_test(tc, test_missing_and_invalid);
	tcase_add_test(tc, test_no_minicore);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_cut);
	tcase_add_test(tc, test_busy);
	tcase_add_test(tc, test_marks);
	tcase_add_test(tc, test_changed_meanwhile);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(reanalyze_suite());
}
