/* Who may read a stored crash (store/access.c): the rule over a record, and
 * the ACLs on real files in a temp directory (skipped, saying why, where the
 * file system has no ACLs; the checks that read as another uid need root). */
#include <check.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "store/access.h"
#include "store/record.h"
#include "store/store.h"
#include "base/util.h"
#include "testutil.h"

#define OTHER_UID 61234 /* a uid no one has, to read as */
#define OTHER_GID 61235

/* A record of uid/gid with the status lines and dumpable given (NULL / -1:
 * left out). */
static json_object *rec_make(int64_t uid, int64_t gid, const char *status_uid, const char *status_gid,
			     int dumpable)
{
	json_object *rec = json_object_new_object(), *proc = json_object_new_object(),
		    *st = json_object_new_object();
	json_object_object_add(rec, "id", json_object_new_string("20250101T000000.000000Z-00000000-1"));
	json_object_object_add(rec, "uid", json_object_new_int64(uid));
	json_object_object_add(rec, "gid", json_object_new_int64(gid));
	if (dumpable >= 0)
		json_object_object_add(rec, "dumpable", json_object_new_int(dumpable));
	if (status_uid)
		json_object_object_add(st, "Uid", json_object_new_string(status_uid));
	if (status_gid)
		json_object_object_add(st, "Gid", json_object_new_string(status_gid));
	json_object_object_add(proc, "status", st);
	json_object_object_add(rec, "proc", proc);
	return rec;
}

static int rule(json_object *rec, uid_t *uid)
{
	const char *why = NULL;
	int r = access_owner_may_read(rec, uid, &why);
	ck_assert(r == 1 || (r == 0 && why && *why));
	json_object_put(rec);
	return r;
}

START_TEST(test_rule_own_crash)
{
	uid_t uid = 0;
	ck_assert_int_eq(rule(rec_make(1000, 1000, "1000\t1000\t1000\t1000", "1000\t1000\t1000\t1000", 1), &uid), 1);
	ck_assert_int_eq(uid, 1000);
}
END_TEST

START_TEST(test_rule_privileged_denied)
{
	uid_t uid;
	/* setuid: effective and saved uid 0 */
	ck_assert_int_eq(rule(rec_make(1000, 1000, "1000\t0\t0\t0", "1000\t1000\t1000\t1000", 1), &uid), 0);
	/* only the saved uid differs (a dropped setuid) */
	ck_assert_int_eq(rule(rec_make(1000, 1000, "1000\t1000\t0\t1000", "1000\t1000\t1000\t1000", 1), &uid), 0);
	/* setgid */
	ck_assert_int_eq(rule(rec_make(1000, 1000, "1000\t1000\t1000\t1000", "1000\t42\t42\t42", 1), &uid), 0);
	/* dumpable 0 and 2 (suid_dumpable: capabilities, changed credentials) */
	ck_assert_int_eq(rule(rec_make(1000, 1000, "1000\t1000\t1000\t1000", "1000\t1000\t1000\t1000", 0), &uid), 0);
	ck_assert_int_eq(rule(rec_make(1000, 1000, "1000\t1000\t1000\t1000", "1000\t1000\t1000\t1000", 2), &uid), 0);
	/* the record's uid is not the process's */
	ck_assert_int_eq(rule(rec_make(1001, 1000, "1000\t1000\t1000\t1000", "1000\t1000\t1000\t1000", 1), &uid), 0);
}
END_TEST

START_TEST(test_rule_missing_or_bad_fields_denied)
{
	uid_t uid;
	ck_assert_int_eq(rule(rec_make(1000, 1000, "1000\t1000\t1000\t1000", "1000\t1000\t1000\t1000", -1), &uid), 0);
	ck_assert_int_eq(rule(rec_make(1000, 1000, NULL, "1000\t1000\t1000\t1000", 1), &uid), 0);
	ck_assert_int_eq(rule(rec_make(1000, 1000, "1000\t1000\t1000\t1000", NULL, 1), &uid), 0);
	/* three values, five values, garbage, a negative, empty */
	ck_assert_int_eq(rule(rec_make(1000, 1000, "1000\t1000\t1000", "1000\t1000\t1000\t1000", 1), &uid), 0);
	ck_assert_int_eq(rule(rec_make(1000, 1000, "1000\t1000\t1000\t1000\t1000", "1000\t1000\t1000\t1000", 1), &uid), 0);
	ck_assert_int_eq(rule(rec_make(1000, 1000, "1000\t1000\t1000\t10x0", "1000\t1000\t1000\t1000", 1), &uid), 0);
	ck_assert_int_eq(rule(rec_make(1000, 1000, "-1\t-1\t-1\t-1", "1000\t1000\t1000\t1000", 1), &uid), 0);
	ck_assert_int_eq(rule(rec_make(1000, 1000, "", "1000\t1000\t1000\t1000", 1), &uid), 0);
	/* dumpable of the wrong type */
	json_object *rec = rec_make(1000, 1000, "1000\t1000\t1000\t1000", "1000\t1000\t1000\t1000", -1);
	json_object_object_add(rec, "dumpable", json_object_new_string("1"));
	ck_assert_int_eq(rule(rec, &uid), 0);
	/* no proc at all */
	rec = json_object_new_object();
	json_object_object_add(rec, "uid", json_object_new_int64(1000));
	json_object_object_add(rec, "dumpable", json_object_new_int(1));
	ck_assert_int_eq(rule(rec, &uid), 0);
}
END_TEST

START_TEST(test_grants)
{
	struct access_grant r, c;
	json_object *own = rec_make(1000, 1000, "1000\t1000\t1000\t1000", "1000\t1000\t1000\t1000", 1);
	access_grants(own, 4, &r, &c);
	ck_assert(r.user == 1000 && r.group == 4 && c.user == 1000 && c.group == 4);
	json_object_put(own);

	/* setuid: the group reads the record, nobody else anything */
	json_object *suid = rec_make(1000, 1000, "1000\t0\t0\t0", "1000\t1000\t1000\t1000", 2);
	access_grants(suid, 4, &r, &c);
	ck_assert(r.user == ACCESS_NOBODY && r.group == 4 && c.user == ACCESS_NOBODY && c.group == ACCESS_NOBODY);
	json_object_put(suid);

	/* root's own crash: no entries for root, and not its core for the group */
	json_object *root = rec_make(0, 0, "0\t0\t0\t0", "0\t0\t0\t0", 1);
	access_grants(root, 4, &r, &c);
	ck_assert(r.user == ACCESS_NOBODY && r.group == 4 && c.user == ACCESS_NOBODY && c.group == ACCESS_NOBODY);
	json_object_put(root);
}
END_TEST

START_TEST(test_acl_encoding)
{
	uint8_t buf[128];
	struct access_grant g = { .user = 1000, .group = 4 };
	int n = access_acl_encode(0600, &g, false, buf, sizeof(buf));
	/* version, then user_obj rw, user 1000 r, group_obj -, group 4 r, mask r, other - */
	static const uint8_t want[] = { 2, 0, 0, 0,
					0x01, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
					0x02, 0, 4, 0, 0xe8, 0x03, 0, 0,
					0x04, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
					0x08, 0, 4, 0, 4, 0, 0, 0,
					0x10, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
					0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
	ck_assert_int_eq(n, (int)sizeof(want));
	ck_assert(memcmp(buf, want, sizeof(want)) == 0);
	ck_assert_int_eq(access_acl_encode(0600, &g, false, buf, 8), -ENOBUFS);
}
END_TEST

static char tmpdir[64];

/* A temp directory on a file system with ACLs, or the test is skipped. */
static bool acl_dir(void)
{
	strcpy(tmpdir, "/var/tmp/check_access.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	char probe[128];
	snprintf(probe, sizeof(probe), "%s/probe", tmpdir);
	int fd = open(probe, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	struct access_grant g = { .user = OTHER_UID, .group = ACCESS_NOBODY };
	int r = access_apply_fd(fd, &g, false);
	close(fd);
	unlink(probe);
	if (r == -EOPNOTSUPP) {
		fprintf(stderr, "check_access: SKIP ACL checks: %s has no POSIX ACLs\n", tmpdir);
		rmdir(tmpdir);
		return false;
	}
	ck_assert_int_eq(r, 0);
	return true;
}

/* Can uid/gid (no supplementary groups but extra_gid) open path for reading?
 * -1 when we cannot tell (not root). */
static int readable_as(const char *path, uid_t uid, gid_t gid, gid_t extra_gid)
{
	if (geteuid() != 0)
		return -1;
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0) {
		gid_t groups[1] = { extra_gid };
		if (setgroups(extra_gid == ACCESS_NOBODY ? 0 : 1, groups) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(3);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		_exit(fd >= 0 ? 0 : 1);
	}
	int st;
	ck_assert_int_eq(waitpid(p, &st, 0), p);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) != 3);
	return WEXITSTATUS(st) == 0;
}

static void rm_rf(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_acl_on_real_files)
{
	if (!acl_dir())
		return;
	char p[128];
	snprintf(p, sizeof(p), "%s/f", tmpdir);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(chmod(tmpdir, 0711), 0);

	ck_assert_int_eq(readable_as(p, OTHER_UID, OTHER_GID, ACCESS_NOBODY) == 1, 0);
	struct access_grant g = { .user = OTHER_UID, .group = OTHER_GID + 1 };
	ck_assert_int_eq(access_apply_fd(fd, &g, false), 0);
	struct stat sb;
	ck_assert_int_eq(fstat(fd, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0640); /* the mask shows as the group bits */
	if (geteuid() == 0) {
		ck_assert_int_eq(readable_as(p, OTHER_UID, OTHER_GID, ACCESS_NOBODY), 1);
		ck_assert_int_eq(readable_as(p, OTHER_UID + 1, OTHER_GID, ACCESS_NOBODY), 0);
		ck_assert_int_eq(readable_as(p, OTHER_UID + 1, OTHER_GID, OTHER_GID + 1), 1);
	}
	/* Applying again (a publish after a replace) gives the same ACL. */
	ck_assert_int_eq(access_apply_fd(fd, &g, false), 0);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0640);

	/* Copied to a new file (store_replace's hook). */
	char q[128];
	snprintf(q, sizeof(q), "%s/g", tmpdir);
	int fd2 = open(q, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd2, 0);
	ck_assert_int_eq(access_copy_to_fd(p, fd2), 0);
	if (geteuid() == 0)
		ck_assert_int_eq(readable_as(q, OTHER_UID, OTHER_GID, ACCESS_NOBODY), 1);

	/* A grant of nobody takes the ACL away. */
	struct access_grant none = { .user = ACCESS_NOBODY, .group = ACCESS_NOBODY };
	ck_assert_int_eq(access_apply_fd(fd, &none, false), 0);
	char x[64];
	ck_assert_int_lt(fgetxattr(fd, "system.posix_acl_access", x, sizeof(x)), 0);
	if (geteuid() == 0)
		ck_assert_int_eq(readable_as(p, OTHER_UID, OTHER_GID, ACCESS_NOBODY), 0);
	close(fd);
	close(fd2);
	rm_rf(tmpdir);
}
END_TEST

/* access_publish on a store: the files of a crash, the view, the directories;
 * and store_replace keeps the readers. */
START_TEST(test_publish_and_replace)
{
	if (!acl_dir())
		return;
	char root[128];
	struct store st;
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	ck_assert_int_eq(store_init(&st, root), 0);
	ck_assert_int_eq(mkdir(root, 0700), 0);
	ck_assert_int_eq(store_mkdirs(&st), 0);
	ck_assert_int_eq(chmod(tmpdir, 0711), 0);

	const char *id = "20250101T000000.000000Z-00000000-1", *sid = "20250101T000000.000000Z-00000000-2";
	json_object *own = rec_make(OTHER_UID, OTHER_GID, "61234\t61234\t61234\t61234", "61235\t61235\t61235\t61235", 1);
	json_object *suid = rec_make(OTHER_UID, OTHER_GID, "61234\t0\t0\t0", "61235\t61235\t61235\t61235", 2);
	json_object_object_add(suid, "id", json_object_new_string(sid));
	const char *sfx[] = { ".json", ".core.zst" };
	for (size_t i = 0; i < 2; i++) {
		_cleanup_free_ char *a = store_path(st.store_dir, id, sfx[i]), *b = store_path(st.store_dir, sid, sfx[i]);
		ck_assert_int_ge(close(open(a, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
		ck_assert_int_ge(close(open(b, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
	}
	ck_assert_int_eq(access_publish(&st, own), 0);
	ck_assert_int_eq(access_publish(&st, suid), 0);

	struct stat sb;
	ck_assert_int_eq(stat(root, &sb), 0);
	ck_assert(sb.st_mode & S_IXOTH);
	ck_assert_int_eq(stat(st.store_dir, &sb), 0);
	ck_assert(sb.st_mode & S_IXOTH);
	ck_assert(!(sb.st_mode & S_IROTH)); /* searchable, not listable */
	_cleanup_free_ char *udir = access_user_dir(&st, OTHER_UID), *link = NULL, *slink = NULL;
	ck_assert_int_ge(asprintf(&link, "%s/%s.json", udir, id), 0);
	ck_assert_int_ge(asprintf(&slink, "%s/%s.json", udir, sid), 0);
	ck_assert_int_eq(lstat(link, &sb), 0);
	ck_assert(S_ISLNK(sb.st_mode));
	ck_assert_int_eq(stat(link, &sb), 0); /* it leads to the record */
	ck_assert_int_lt(lstat(slink, &sb), 0);   /* no view of the setuid crash */
	ck_assert_int_eq(stat(udir, &sb), 0);
	ck_assert_int_eq(sb.st_uid, 0 == geteuid() ? 0 : geteuid());
	ck_assert(!(sb.st_mode & S_IROTH));

	_cleanup_free_ char *rp = store_path(st.store_dir, id, ".json"), *cp = store_path(st.store_dir, id, ".core.zst");
	_cleanup_free_ char *srp = store_path(st.store_dir, sid, ".json"), *scp = store_path(st.store_dir, sid, ".core.zst");
	if (geteuid() == 0) {
		ck_assert_int_eq(readable_as(rp, OTHER_UID, OTHER_GID, ACCESS_NOBODY), 1);
		ck_assert_int_eq(readable_as(cp, OTHER_UID, OTHER_GID, ACCESS_NOBODY), 1);
		ck_assert_int_eq(readable_as(link, OTHER_UID, OTHER_GID, ACCESS_NOBODY), 1);
		ck_assert_int_eq(readable_as(srp, OTHER_UID, OTHER_GID, ACCESS_NOBODY), 0);
		ck_assert_int_eq(readable_as(scp, OTHER_UID, OTHER_GID, ACCESS_NOBODY), 0);
		ck_assert_int_eq(readable_as(rp, OTHER_UID + 1, OTHER_GID, ACCESS_NOBODY), 0);
		ck_assert_int_eq(readable_as(udir, OTHER_UID + 1, OTHER_GID, ACCESS_NOBODY), 0);
		gid_t adm = access_group_gid();
		if (adm != ACCESS_NOBODY) {
			ck_assert_int_eq(readable_as(srp, OTHER_UID + 1, OTHER_GID, adm), 1);
			ck_assert_int_eq(readable_as(scp, OTHER_UID + 1, OTHER_GID, adm), 0);
			ck_assert_int_eq(readable_as(st.store_dir, OTHER_UID + 1, OTHER_GID, adm), 1);
		}
	}

	/* A rewrite through the spool keeps the readers. */
	int fd = -1;
	ck_assert_int_eq(store_tmp_open(&st, id, ".json", &fd), 0);
	ck_assert_int_eq(write(fd, "{}\n", 3), 3);
	close(fd);
	ck_assert_int_eq(store_replace(&st, id, ".json", ".json"), 0);
	char x[64];
	ck_assert_int_gt(getxattr(rp, "system.posix_acl_access", x, sizeof(x)), 0);
	if (geteuid() == 0)
		ck_assert_int_eq(readable_as(rp, OTHER_UID, OTHER_GID, ACCESS_NOBODY), 1);
	/* ... and the setuid crash's rewrite stays unreadable. */
	ck_assert_int_eq(store_tmp_open(&st, sid, ".core.zst", &fd), 0);
	close(fd);
	ck_assert_int_eq(store_replace(&st, sid, ".core.zst", ".core.zst"), 0);
	if (geteuid() == 0)
		ck_assert_int_eq(readable_as(scp, OTHER_UID, OTHER_GID, ACCESS_NOBODY), 0);

	/* The view's link of a removed crash goes at the next publish for its user. */
	ck_assert_int_eq(unlink(rp), 0);
	json_object *own2 = rec_make(OTHER_UID, OTHER_GID, "61234\t61234\t61234\t61234", "61235\t61235\t61235\t61235", 1);
	json_object_object_add(own2, "id", json_object_new_string("20250101T000000.000000Z-00000000-3"));
	ck_assert_int_eq(access_publish(&st, own2), 0);
	ck_assert_int_lt(lstat(link, &sb), 0);

	json_object_put(own);
	json_object_put(own2);
	json_object_put(suid);
	store_free(&st);
	rm_rf(tmpdir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("access");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_rule_own_crash);
	tcase_add_test(tc, test_rule_privileged_denied);
	tcase_add_test(tc, test_rule_missing_or_bad_fields_denied);
	tcase_add_test(tc, test_grants);
	tcase_add_test(tc, test_acl_encoding);
	tcase_add_test(tc, test_acl_on_real_files);
	tcase_add_test(tc, test_publish_and_replace);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
