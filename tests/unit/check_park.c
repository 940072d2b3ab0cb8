/* park: a crash mortemd parks at a stop is read back exactly (the capture, the
 * arguments, the pool's bytes and the spill file), malformed parks are refused,
 * a failed park leaves nothing, and while a crash is parked neither the pending
 * recovery nor the spool clean-up takes it for a leftover. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <utime.h>

#include "store/park.h"
#include "store/pending.h"
#include "store/store.h"
#include "testutil.h"
#include "base/util.h"

static char root[64];
static struct store st;
static char id[STORE_ID_MAX + 1];
static unsigned char zeros[8192], data[5000];
static const char spill_bytes[] = "the rest of the core, after the pool's bytes";

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/check_park.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_int_eq(store_init(&st, root), 0);
	ck_assert_int_eq(store_mkdirs(&st), 0);
	ck_assert_int_eq(store_make_id(INT64_C(1800000000) * 1000000, "0123456789abcdef", 4242, id, sizeof(id)), 0);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 1);
}

static void teardown(void)
{
	store_free(&st);
	(void)nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static bool exists(const char *sfx)
{
	char *p = store_path(st.spool_dir, id, sfx);
	bool r = access(p, F_OK) == 0;
	free(p);
	return r;
}

static void put(const char *sfx, const char *text)
{
	char *p = store_path(st.spool_dir, id, sfx);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static void age(const char *sfx)
{
	char *p = store_path(st.spool_dir, id, sfx);
	struct utimbuf t = { time(NULL) - 60, time(NULL) - 60 };
	ck_assert_int_eq(utime(p, &t), 0);
	free(p);
}

/* A crash as mortemd holds it: 13192 bytes in the pool, the rest spilled. */
static void make_crash(struct crash_args *a, struct crash_capture *cap, struct park_info *pi)
{
	memset(a, 0, sizeof(*a));
	a->pid = 4242;
	a->uid = 1000;
	a->gid = -1;
	a->signal = 11;
	a->kernel_time = 1800000000;
	a->rlimit_core = UINT64_MAX;
	a->has_rlimit = true;
	snprintf(a->hostname, sizeof(a->hostname), "host-a");
	a->dumpable = 1;
	a->pidfd = -1;
	a->problems[a->n_problems++] = "%g: not a number";
	memset(cap, 0, sizeof(*cap));
	cap->t0 = INT64_C(1800000000) * 1000000 + 17;
	snprintf(cap->id, sizeof(cap->id), "%s", id);
	cap->mode = "handoff";
	cap->proc = json_tokener_parse("{\"comm\":\"sleeper\",\"status\":{\"VmRSS\":\"12 kB\"}}");
	cap->sys = json_tokener_parse("{\"kernel\":\"6.18\"}");
	cap->errors = json_tokener_parse("[{\"what\":\"environ\",\"error\":\"EACCES\"}]");
	cap->store_err = 0;
	cap->root_fd = cap->lock_fd = -1;
	*pi = (struct park_info){ .held_usec = 123456, .bytes = sizeof(zeros) + sizeof(data) + sizeof(spill_bytes),
				  .pool_bytes = sizeof(zeros) + sizeof(data), .spill_err = 0, .buffer = "spill" };
}

static int make_spill(void)
{
	int fd = open(st.spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, spill_bytes, sizeof(spill_bytes)), 0);
	return fd;
}

static void park_one(void)
{
	struct crash_args a;
	struct crash_capture cap;
	struct park_info pi;
	struct iovec iov[2] = { { zeros, sizeof(zeros) }, { data, sizeof(data) } };
	int sfd = make_spill();
	make_crash(&a, &cap, &pi);
	ck_assert_int_eq(park_write(st.spool_dir, &a, &cap, &pi, iov, 2, sfd), 0);
	close(sfd);
	crash_capture_free(&cap);
}

START_TEST(test_round_trip)
{
	struct park_crash p;
	char **ids;
	size_t n;
	unsigned char buf[sizeof(zeros) + sizeof(data) + 1];

	park_one();
	ck_assert(park_exists(st.spool_dir, id));
	ck_assert(exists(PARK_POOL_SUFFIX) && exists(PARK_SPILL_SUFFIX) && !exists(PARK_SUFFIX ".tmp"));
	ck_assert_int_eq(park_list(st.spool_dir, &ids, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ids[0], id);
	free(ids[0]);
	free(ids);

	ck_assert_int_eq(park_read(st.spool_dir, id, &p), 0);
	ck_assert_int_eq(p.args.pid, 4242);
	ck_assert_int_eq(p.args.uid, 1000);
	ck_assert_int_eq(p.args.gid, -1);
	ck_assert_int_eq(p.args.signal, 11);
	ck_assert_int_eq(p.args.kernel_time, 1800000000);
	ck_assert(p.args.rlimit_core == UINT64_MAX && p.args.has_rlimit);
	ck_assert_str_eq(p.args.hostname, "host-a");
	ck_assert_int_eq(p.args.dumpable, 1);
	ck_assert_int_eq(p.args.pidfd, -1);
	ck_assert_uint_eq(p.args.n_problems, 1);
	ck_assert_str_eq(p.args.problems[0], "%g: not a number");
	ck_assert(p.cap.t0 == INT64_C(1800000000) * 1000000 + 17);
	ck_assert_str_eq(p.cap.id, id);
	ck_assert_str_eq(p.cap.mode, "handoff");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(p.cap.proc, "comm")), "sleeper");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(p.cap.sys, "kernel")), "6.18");
	ck_assert_uint_eq(json_object_array_length(p.cap.errors), 1);
	ck_assert_int_eq(p.cap.root_fd, -1);
	ck_assert_uint_eq(p.cap.n_files, 0);
	ck_assert(p.info.held_usec == 123456);
	ck_assert(p.info.bytes == sizeof(zeros) + sizeof(data) + sizeof(spill_bytes));
	ck_assert(p.info.pool_bytes == sizeof(zeros) + sizeof(data));
	ck_assert_str_eq(p.info.buffer, "spill");
	/* the bytes, exactly: the zeros (a hole) and the data, then the spill */
	ck_assert_int_eq(pread(p.pool_fd, buf, sizeof(buf), 0), (ssize_t)(sizeof(zeros) + sizeof(data)));
	ck_assert_mem_eq(buf, zeros, sizeof(zeros));
	ck_assert_mem_eq(buf + sizeof(zeros), data, sizeof(data));
	ck_assert_int_eq(pread(p.spill_fd, buf, sizeof(buf), 0), (ssize_t)sizeof(spill_bytes));
	ck_assert_mem_eq(buf, spill_bytes, sizeof(spill_bytes));
	/* the lock is taken: a second reader (another mortemd) is refused */
	struct park_crash q;
	ck_assert_int_eq(park_read(st.spool_dir, id, &q), -EWOULDBLOCK);
	park_crash_free(&p);
	crash_capture_free(&p.cap);

	park_remove(st.spool_dir, id);
	ck_assert(!park_exists(st.spool_dir, id) && !exists(PARK_POOL_SUFFIX) && !exists(PARK_SPILL_SUFFIX));
	ck_assert_int_eq(park_read(st.spool_dir, id, &p), -ENOENT);
}
END_TEST

/* A park that cannot be completed leaves nothing: here the pool's bytes do not
 * add up to what the crash says. */
START_TEST(test_failed_write_leaves_nothing)
{
	struct crash_args a;
	struct crash_capture cap;
	struct park_info pi;
	struct iovec iov[1] = { { data, sizeof(data) } };
	int sfd = make_spill();
	make_crash(&a, &cap, &pi);
	ck_assert_int_eq(park_write(st.spool_dir, &a, &cap, &pi, iov, 1, sfd), -EINVAL);
	ck_assert(!park_exists(st.spool_dir, id) && !exists(PARK_POOL_SUFFIX) && !exists(PARK_SPILL_SUFFIX) &&
		  !exists(PARK_SUFFIX ".tmp"));
	close(sfd);
	crash_capture_free(&cap);
}
END_TEST

/* What is refused: each damage on a good park. */
START_TEST(test_malformed)
{
	static const struct {
		const char *from, *to;
	} damage[] = {
		{ "\"version\":1", "\"version\":2" },
		{ "\"pid\":4242", "\"pid\":\"4242\"" },
		{ "\"signal\":11", "\"signal\":99" },
		{ "\"mode\":\"handoff\"", "\"mode\":\"ftp\"" },
		{ "\"pool_bytes\":13192", "\"pool_bytes\":13191" },      /* the file is longer */
		{ "\"pool_bytes\":13192", "\"pool_bytes\":999999999" },  /* more than bytes */
		{ "\"spill\":true", "\"spill\":false" },                 /* bytes nowhere */
		{ "\"buffer\":\"spill\"", "\"buffer\":7" },
		{ "\"held_usec\":123456,", "" },
		{ "{", "[" },
	};
	char *np = store_path(st.spool_dir, id, PARK_SUFFIX);
	char *good = NULL;
	size_t len;
	bool trunc;
	struct park_crash p;

	park_one();
	ck_assert_int_eq(read_file_at(AT_FDCWD, np, 1 << 20, &good, &len, &trunc), 0);
	for (size_t i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
		char *at = strstr(good, damage[i].from), bad[8192];
		ck_assert_msg(at, "damage %zu: '%s' not in the note", i, damage[i].from);
		snprintf(bad, sizeof(bad), "%.*s%s%s", (int)(at - good), good, damage[i].to, at + strlen(damage[i].from));
		put(PARK_SUFFIX, bad);
		ck_assert_msg(park_read(st.spool_dir, id, &p) == -EBADMSG, "damage %zu accepted: %s", i, bad);
	}
	/* the note is fine, a file it names is gone */
	put(PARK_SUFFIX, good);
	ck_assert_int_eq(park_read(st.spool_dir, id, &p), 0);
	park_crash_free(&p);
	crash_capture_free(&p.cap);
	char *sp = store_path(st.spool_dir, id, PARK_SPILL_SUFFIX);
	ck_assert_int_eq(unlink(sp), 0);
	ck_assert_int_eq(park_read(st.spool_dir, id, &p), -EBADMSG);
	free(sp);
	free(good);
	free(np);
}
END_TEST

/* While parked (its lock held by nobody, old), the crash is pending for
 * `mortem list`, is not recorded as lost, and its files survive the clean-up;
 * once the note is gone, the files are leftovers and go. */
START_TEST(test_parked_is_not_a_leftover)
{
	json_object *arr;
	char *rec = store_path(st.store_dir, id, ".json");

	park_one();
	char note_text[256];
	snprintf(note_text, sizeof(note_text), "{\"id\":\"%s\",\"time_usec\":1,\"pid\":4242,\"comm\":\"sleeper\"}", id);
	put(".pending", note_text);
	put(".lock", "");
	age(".pending");
	age(".lock");
	age(PARK_SUFFIX);
	ck_assert(!store_lock_abandoned(&st, id));
	ck_assert_int_eq(pending_list(&st, &arr), 0);
	ck_assert_uint_eq(json_object_array_length(arr), 1);
	ck_assert(json_object_get_boolean(json_object_object_get(json_object_array_get_idx(arr, 0), "parked")));
	json_object_put(arr);
	ck_assert_int_eq(pending_recover(&st, NULL), 0);
	ck_assert_int_eq(store_clean_spool(&st, NULL, NULL), 0);
	ck_assert(access(rec, F_OK) < 0);
	ck_assert(park_exists(st.spool_dir, id) && exists(PARK_POOL_SUFFIX) && exists(PARK_SPILL_SUFFIX));
	ck_assert(exists(".pending") && exists(".lock"));

	/* no lock file at all: still not lost */
	char *lock = store_path(st.spool_dir, id, ".lock");
	ck_assert_int_eq(unlink(lock), 0);
	ck_assert_int_eq(pending_recover(&st, NULL), 0);
	ck_assert(access(rec, F_OK) < 0);

	/* the note removed first (park_remove interrupted): the rest are leftovers */
	put(".lock", "");
	age(".lock");
	char *note = store_path(st.spool_dir, id, PARK_SUFFIX);
	ck_assert_int_eq(unlink(note), 0);
	ck_assert_int_eq(pending_recover(&st, NULL), 1);
	ck_assert(access(rec, F_OK) == 0);
	ck_assert(!exists(PARK_POOL_SUFFIX) && !exists(PARK_SPILL_SUFFIX));
	free(note);
	free(lock);
	free(rec);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("park");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_failed_write_leaves_nothing);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_parked_is_not_a_leftover);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
