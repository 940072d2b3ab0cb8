/* bench/records.c: the store at scale, through the library's real writer and
 * reader (see bench/records.sh, which drives it and times it).
 *
 *   records build ROOT N       N records published as the collector does
 *                              (spool temp file, record_write_fd, rename into
 *                              store/) and indexed one index_insert each
 *   records reindex ROOT       index_reset + index_rebuild from the records
 *   records list ROOT          a streamed `list --json`: index_open_ro +
 *                              index_query_each, one JSON object per row
 *                              written as it comes, to stdout
 *   records lookup ROOT ID     index_open_ro + index_lookup of one id
 *
 * Prints the seconds taken by the step (without the process start) on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "store/index.h"
#include "store/record.h"
#include "store/store.h"

#define T0 INT64_C(1795272545000000)

static double now_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, int r)
{
	fprintf(stderr, "records: %s: %s\n", what, strerror(-r));
	return 1;
}

static void bench_id(long i, char *buf, size_t len)
{
	(void)store_make_id(T0 + i * 1000, "0123456789abcdef", (pid_t)(1000 + i % 30000), buf, len);
}

/* A record shaped like the collector's: the contract's keys, a proc object
 * with the cgroup and some status text, an analysis signature. ~2 KiB. */
static json_object *bench_record(long i, const char *id)
{
	json_object *r = json_object_new_object(), *core = json_object_new_object();
	json_object *proc = json_object_new_object(), *mini = json_object_new_object();
	char exe[64], tbuf[40], sig[32], cg[160], unit[64], status[1200];
	bool user = i % 4 == 0;

	if (!r || !core || !proc || !mini)
		abort();
	snprintf(exe, sizeof(exe), "/usr/bin/prog%ld", i % 50);
	snprintf(sig, sizeof(sig), "%016lx", (unsigned long)(i % 500) * 2654435761u);
	snprintf(cg, sizeof(cg), user ? "0::/user.slice/user-1000.slice/user@1000.service/app.slice/prog%ld.service\n"
				       : "0::/system.slice/prog%ld.service\n", i % 50);
	memset(status, 'x', sizeof(status) - 1);
	status[sizeof(status) - 1] = '\0';
	format_rfc3339(T0 + i * 1000, tbuf, sizeof(tbuf));
	json_object_object_add(r, "id", json_object_new_string(id));
	json_object_object_add(r, "time", json_object_new_string(tbuf));
	json_object_object_add(r, "time_usec", json_object_new_int64(T0 + i * 1000));
	json_object_object_add(r, "pid", json_object_new_int64(1000 + i % 30000));
	json_object_object_add(r, "uid", json_object_new_int64(user ? 1000 : 0));
	json_object_object_add(r, "gid", json_object_new_int64(user ? 1000 : 0));
	json_object_object_add(r, "signal", json_object_new_int(11));
	json_object_object_add(r, "signal_name", json_object_new_string("SIGSEGV"));
	json_object_object_add(r, "comm", json_object_new_string(exe + 9));
	json_object_object_add(r, "exe", json_object_new_string(exe));
	json_object_object_add(r, "cmdline", json_object_new_string(exe));
	json_object_object_add(r, "hostname", json_object_new_string("bench"));
	json_object_object_add(r, "boot_id", json_object_new_string("0123456789abcdef0123456789abcdef"));
	snprintf(unit, sizeof(unit), "prog%ld.service", i % 50);
	json_object_object_add(r, "unit", json_object_new_string(unit));
	json_object_object_add(r, "slice", json_object_new_string(user ? "app.slice" : "system.slice"));
	json_object_object_add(r, "signature", json_object_new_string(sig));
	json_object_object_add(r, "slogan", json_object_new_string("SIGSEGV in frob() at frob.c:42"));
	json_object_object_add(proc, "cgroup", json_object_new_string(cg));
	json_object_object_add(proc, "status", json_object_new_string(status));
	json_object_object_add(r, "proc", proc);
	json_object_object_add(mini, "size", json_object_new_int64(65536));
	json_object_object_add(r, "minicore", mini);
	json_object_object_add(core, "status", json_object_new_string("skipped"));
	json_object_object_add(core, "size", json_object_new_int64(1 << 20));
	json_object_object_add(core, "stored_size", json_object_new_int64(0));
	json_object_object_add(core, "path", NULL);
	json_object_object_add(r, "core", core);
	return r;
}

static int bench_build(struct store *st, long n)
{
	sqlite3 *db = NULL;
	double t = now_s();
	int r = store_mkdirs(st);

	if (r < 0)
		return fail("mkdirs", r);
	r = index_open(st->index_path, &db);
	if (r < 0)
		return fail("index_open", r);
	for (long i = 0; i < n; i++) {
		char id[STORE_ID_MAX];
		_cleanup_close_ int fd = -1;
		_cleanup_free_ char *rp = NULL;
		json_object *rec;

		bench_id(i, id, sizeof(id));
		rec = bench_record(i, id);
		r = store_tmp_open(st, id, ".json", &fd);
		if (r >= 0)
			r = record_write_fd(rec, fd);
		if (r >= 0)
			r = store_publish(st, id, ".json");
		rp = store_path(st->store_dir, id, ".json");
		if (r >= 0)
			r = rp ? index_insert(db, rec, rp) : -ENOMEM;
		json_object_put(rec);
		if (r < 0)
			return fail(id, r);
	}
	index_close(db);
	fprintf(stderr, "build %.3f\n", now_s() - t);
	return 0;
}

static int bench_reindex(struct store *st)
{
	sqlite3 *db = NULL;
	size_t ok = 0, bad = 0;
	double t = now_s();
	int r = index_reset(st->index_path);

	if (r >= 0)
		r = index_open(st->index_path, &db);
	if (r >= 0)
		r = index_rebuild(db, st->store_dir, &ok, &bad);
	if (db)
		index_close(db);
	if (r < 0)
		return fail("reindex", r);
	fprintf(stderr, "reindex %.3f ok %zu bad %zu\n", now_s() - t, ok, bad);
	return 0;
}

struct bench_list {
	FILE *out;
	size_t n;
};

/* One row as `list --json` would print it; every json-c result is checked. */
static int bench_list_row(const struct index_row *w, void *userdata)
{
	struct bench_list *b = userdata;
	json_object *o = json_object_new_object();
	const char *s;
	int r = 0;

	if (!o)
		return -ENOMEM;
#define ADD(k, v)                                                   \
	do {                                                        \
		json_object *_v = (v);                              \
		if (!_v || json_object_object_add(o, k, _v) < 0) {  \
			json_object_put(_v);                        \
			r = -ENOMEM;                                \
			goto out;                                   \
		}                                                   \
	} while (0)
	ADD("id", json_object_new_string(w->id));
	ADD("time_usec", json_object_new_int64(w->time_usec));
	ADD("pid", json_object_new_int64(w->pid));
	ADD("uid", json_object_new_int64(w->uid));
	ADD("signal", json_object_new_int(w->signal));
	ADD("comm", json_object_new_string(w->comm));
	ADD("exe", json_object_new_string(w->exe));
	ADD("unit", json_object_new_string(w->unit ? w->unit : ""));
	ADD("core_status", json_object_new_string(w->core_status));
	ADD("signature", json_object_new_string(w->signature ? w->signature : ""));
	ADD("slogan", json_object_new_string(w->slogan ? w->slogan : ""));
#undef ADD
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (!s) {
		r = -ENOMEM;
		goto out;
	}
	if (fprintf(b->out, "%s%s\n", b->n ? "," : "", s) < 0)
		r = -EIO;
	b->n++;
out:
	json_object_put(o);
	return r;
}

static int bench_list(struct store *st)
{
	struct bench_list b = { .out = stdout };
	sqlite3 *db = NULL;
	double t = now_s();
	int r = index_open_ro(st->index_path, &db);

	if (r < 0)
		return fail("index_open_ro", r);
	fputs("[\n", stdout);
	r = index_query_each(db, NULL, bench_list_row, &b);
	fputs("]\n", stdout);
	index_close(db);
	if (r < 0)
		return fail("list", r);
	if (fflush(stdout) != 0)
		return fail("stdout", -errno);
	fprintf(stderr, "list %.3f rows %zu\n", now_s() - t, b.n);
	return 0;
}

static int bench_lookup(struct store *st, const char *id)
{
	struct index_row row;
	sqlite3 *db = NULL;
	double t = now_s();
	int r = index_open_ro(st->index_path, &db);

	if (r >= 0)
		r = index_lookup(db, id, &row);
	if (db)
		index_close(db);
	if (r < 0)
		return fail(id, r);
	fprintf(stderr, "lookup %.6f %s pid %lld\n", now_s() - t, row.id, (long long)row.pid);
	index_row_clear(&row);
	return 0;
}

int main(int argc, char **argv)
{
	struct store st;
	long n;
	int r;

	if (argc < 3)
		goto usage;
	r = store_init(&st, argv[2]);
	if (r < 0)
		return fail("store_init", r);
	if (strcmp(argv[1], "build") == 0 && argc == 4) {
		char *end;
		errno = 0;
		n = strtol(argv[3], &end, 10);
		if (errno || *end || n <= 0)
			goto usage;
		r = bench_build(&st, n);
	} else if (strcmp(argv[1], "reindex") == 0 && argc == 3) {
		r = bench_reindex(&st);
	} else if (strcmp(argv[1], "list") == 0 && argc == 3) {
		r = bench_list(&st);
	} else if (strcmp(argv[1], "lookup") == 0 && argc == 4) {
		r = bench_lookup(&st, argv[3]);
	} else if (strcmp(argv[1], "id") == 0 && argc == 4) {
		char id[STORE_ID_MAX];
		bench_id(strtol(argv[3], NULL, 10), id, sizeof(id));
		puts(id);
		r = 0;
	} else {
		goto usage;
	}
	store_free(&st);
	return r;
usage:
	fprintf(stderr, "usage: records build ROOT N | reindex ROOT | list ROOT | lookup ROOT ID | id ROOT I\n");
	return 2;
}
