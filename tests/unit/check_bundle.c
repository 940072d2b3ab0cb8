/* Unit tests for src/store/bundle.c: the bundle's archive (ustar in zstd),
 * the reader's confinement and caps against hand-made hostile archives, and
 * the import into a store. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "core/zst.h"
#include "store/bundle.h"
#include "store/record.h"
#include "store/store.h"
#include "testutil.h"

static char tmpdir[256];

static void setup(void)
{
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/check_bundle.XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)!system(cmd);
}

static int memfd(void)
{
	int fd = memfd_create("bundle", MFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return fd;
}

/* ---- names ---- */

static const char *const good_names[] = {
	"record.json", "mini", "sysroot/usr/lib/x86_64-linux-gnu/libc.so.6", "sysroot/a b/c~d+e@f,g=h",
	"sysroot/usr/lib/debug/.build-id/ab/cdef.debug", "..a", "a..", ".hidden",
};
static const char *const bad_names[] = {
	"", "/etc/passwd", "../x", "sysroot/../../x", "sysroot/./x", "sysroot//x", "sysroot/x/", "sysroot/..",
	".", "a\\b", "a\nb", "a\x7f", "caf\xc3\xa9", "a\tb",
};

START_TEST(test_names)
{
	const char *why;
	for (size_t i = 0; i < ARRAY_SIZE(good_names); i++)
		ck_assert_msg(bundle_name_check(good_names[i], &why) == 0, "refused %s", good_names[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
		why = NULL;
		ck_assert_msg(bundle_name_check(bad_names[i], &why) == -EPERM, "took bad name %zu", i);
		ck_assert_ptr_nonnull(why);
	}
	char deep[BUNDLE_NAME_MAX + 2];
	memset(deep, 'a', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	ck_assert_int_eq(bundle_name_check(deep, &why), -EPERM); /* one byte over BUNDLE_NAME_MAX */
	deep[BUNDLE_NAME_MAX] = '\0';
	ck_assert_int_eq(bundle_name_check(deep, &why), 0);
	char many[2 * (BUNDLE_DEPTH_MAX + 1) + 1] = "";
	for (int i = 0; i <= BUNDLE_DEPTH_MAX; i++)
		strcat(many, i ? "/a" : "a");
	ck_assert_int_eq(bundle_name_check(many, &why), -EPERM);
}
END_TEST

/* ---- round trip ---- */

START_TEST(test_roundtrip)
{
	int out = memfd(), src = memfd();
	struct bundle_writer *w = NULL;
	static char big[300000];
	char longname[220];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + i / 1000);
	ck_assert_int_eq(write_all(src, big, sizeof(big)), 0);
	ck_assert_int_eq(lseek(src, 0, SEEK_SET), 0);
	/* longer than ustar's 100-byte name: split into prefix and name */
	snprintf(longname, sizeof(longname), "sysroot/%0140d/libx.so", 7);
	ck_assert_int_eq(bundle_writer_new(out, 3, &w), 0);
	ck_assert_int_eq(bundle_add_buf(w, "record.json", "{}", 2, 0644), 0);
	ck_assert_int_eq(bundle_add_fd(w, longname, src, sizeof(big), 0644), 0);
	ck_assert_int_eq(bundle_add_buf(w, "empty", "", 0, 0644), 0);
	/* a name ustar cannot split (a last component over 100 bytes) */
	char unsplit[160];
	snprintf(unsplit, sizeof(unsplit), "sysroot/%0120d", 7);
	ck_assert_int_eq(bundle_add_buf(w, unsplit, "x", 1, 0644), -ENAMETOOLONG);
	/* a name the reader would refuse is not written either */
	ck_assert_int_eq(bundle_add_buf(w, "../x", "x", 1, 0644), -EINVAL);
	/* a file shorter than it claims: refused */
	ck_assert_int_eq(lseek(src, 0, SEEK_SET), 0);
	ck_assert_int_eq(bundle_add_fd(w, "short", src, sizeof(big) + 1, 0644), -EIO);
	bundle_writer_free(w);

	/* again, cleanly */
	ck_assert_int_eq(ftruncate(out, 0), 0);
	ck_assert_int_eq(lseek(out, 0, SEEK_SET), 0);
	ck_assert_int_eq(lseek(src, 0, SEEK_SET), 0);
	ck_assert_int_eq(bundle_writer_new(out, 3, &w), 0);
	ck_assert_int_eq(bundle_add_buf(w, "record.json", "{}", 2, 0644), 0);
	ck_assert_int_eq(bundle_add_fd(w, longname, src, sizeof(big), 0644), 0);
	ck_assert_int_eq(bundle_add_buf(w, "empty", "", 0, 0644), 0);
	ck_assert_int_eq(bundle_writer_finish(w), 0);
	bundle_writer_free(w);

	ck_assert_int_eq(lseek(out, 0, SEEK_SET), 0);
	struct bundle_reader *r = NULL;
	struct bundle_member m;
	const char *why = NULL;
	char buf[8];
	ck_assert_int_eq(bundle_reader_new(out, NULL, &r), 0);
	ck_assert_int_eq(bundle_next(r, &m, &why), 1);
	ck_assert_str_eq(m.name, "record.json");
	ck_assert_int_eq(bundle_read(r, buf, sizeof(buf)), 2);
	ck_assert_int_eq(memcmp(buf, "{}", 2), 0);
	ck_assert_int_eq(bundle_read(r, buf, sizeof(buf)), 0);
	ck_assert_int_eq(bundle_next(r, &m, &why), 1);
	ck_assert_str_eq(m.name, longname);
	ck_assert_uint_eq(m.size, sizeof(big));
	int copy = memfd();
	ck_assert_int_eq(bundle_copy(r, copy, sizeof(big) - 1), -EFBIG); /* over its cap: nothing written */
	ck_assert_int_eq(lseek(copy, 0, SEEK_END), 0);
	ck_assert_int_eq(bundle_copy(r, copy, sizeof(big)), 0);
	char *back = mmap(NULL, sizeof(big), PROT_READ, MAP_SHARED, copy, 0);
	ck_assert_ptr_ne(back, MAP_FAILED);
	ck_assert_int_eq(memcmp(back, big, sizeof(big)), 0);
	munmap(back, sizeof(big));
	ck_assert_int_eq(bundle_next(r, &m, &why), 1);
	ck_assert_str_eq(m.name, "empty");
	ck_assert_uint_eq(m.size, 0);
	ck_assert_int_eq(bundle_next(r, &m, &why), 0);
	ck_assert_int_eq(bundle_reader_end(r, &why), 0);
	bundle_reader_free(r);

	/* GNU tar reads it (the format is plain ustar) */
	char cmd[1024], path[300];
	snprintf(path, sizeof(path), "%s/rt.tar.zst", tmpdir);
	int f = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(f, 0);
	ck_assert_int_eq(lseek(out, 0, SEEK_SET), 0);
	ssize_t n;
	char cp[65536];
	while ((n = read(out, cp, sizeof(cp))) > 0)
		ck_assert_int_eq(write_all(f, cp, (size_t)n), 0);
	close(f);
	snprintf(cmd, sizeof(cmd), "command -v zstd >/dev/null || exit 0; zstd -q -d -c '%s' | tar -tf - | grep -qx '%s'",
		 path, longname);
	ck_assert_int_eq(system(cmd), 0);
	close(copy);
	close(src);
	close(out);
}
END_TEST

/* ---- hostile archives, made by hand ---- */

static void hdr(unsigned char *h, const char *name, char type, const char *size_field, bool bad_sum)
{
	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	snprintf((char *)h + 124, 12, "%.11s", size_field);
	memcpy(h + 136, "00000000000", 12);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += i >= 148 && i < 156 ? ' ' : h[i];
	snprintf((char *)h + 148, 8, "%06o", sum + (bad_sum ? 1 : 0));
	h[155] = ' ';
}

struct raw {
	const char *name;
	char type;
	uint64_t size;
	const char *size_field; /* NULL: the octal of size */
	bool bad_sum;
};

/* An archive of raw members (data: zeros), compressed; cut_at > 0 cuts
 * the compressed file. Returns its fd at offset 0. */
static int raw_bundle(const struct raw *m, size_t n, bool end, off_t cut_at)
{
	int fd = memfd();
	struct zst_writer *z = NULL;
	unsigned char h[512];
	static const unsigned char zeros[65536];

	ck_assert_int_eq(zst_writer_new(fd, 3, 0, &z), 0);
	for (size_t i = 0; i < n; i++) {
		char sf[16];
		snprintf(sf, sizeof(sf), "%011llo", (unsigned long long)m[i].size);
		hdr(h, m[i].name, m[i].type, m[i].size_field ? m[i].size_field : sf, m[i].bad_sum);
		ck_assert_int_eq(zst_writer_write(z, h, 512), 0);
		uint64_t left = m[i].size + (512 - m[i].size % 512) % 512;
		while (left) {
			size_t k = left < sizeof(zeros) ? (size_t)left : sizeof(zeros);
			ck_assert_int_eq(zst_writer_write(z, zeros, k), 0);
			left -= k;
		}
	}
	if (end)
		ck_assert_int_eq(zst_writer_write(z, zeros, 1024), 0);
	ck_assert_int_eq(zst_writer_finish(z), 0);
	zst_writer_free(z);
	if (cut_at > 0)
		ck_assert_int_eq(ftruncate(fd, cut_at), 0);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Read every member: 0 when the reader took the whole archive, else -EBADMSG
 * and *why. */
static int read_all(int fd, const struct bundle_caps *caps, const char **why)
{
	struct bundle_reader *r = NULL;
	struct bundle_member m;
	int k;
	ck_assert_int_eq(bundle_reader_new(fd, caps, &r), 0);
	while ((k = bundle_next(r, &m, why)) > 0)
		;
	if (k == 0)
		k = bundle_reader_end(r, why);
	bundle_reader_free(r);
	return k;
}

struct hostile {
	struct raw m[3];
	size_t n;
	const char *why_part;
};

static const struct hostile hostile[] = {
	{ .m = { { .name = "sysroot/../../etc/cron.d/x", .type = '0', .size = 1 } }, .n = 1, .why_part = "'..'" },
	{ .m = { { .name = "/etc/passwd", .type = '0', .size = 1 } }, .n = 1, .why_part = "absolute" },
	{ .m = { { .name = "sysroot/x", .type = '2', .size = 0 } }, .n = 1, .why_part = "not a regular file" },   /* symlink */
	{ .m = { { .name = "sysroot/x", .type = '1', .size = 0 } }, .n = 1, .why_part = "not a regular file" },   /* hard link */
	{ .m = { { .name = "sysroot/x", .type = '3', .size = 0 } }, .n = 1, .why_part = "not a regular file" },   /* character device */
	{ .m = { { .name = "sysroot/x", .type = '5', .size = 0 } }, .n = 1, .why_part = "not a regular file" },   /* directory */
	{ .m = { { .name = "sysroot/x", .type = '6', .size = 0 } }, .n = 1, .why_part = "not a regular file" },   /* fifo */
	{ .m = { { .name = "PaxHeader", .type = 'x', .size = 0 } }, .n = 1, .why_part = "not a regular file" },   /* pax: could rename the next member */
	{ .m = { { .name = "././@LongLink", .type = 'L', .size = 0 } }, .n = 1, .why_part = "not a regular file" }, /* GNU long name */
	{ .m = { { .name = "mini", .type = '0', .size = 1, .size_field = NULL, .bad_sum = true } }, .n = 1, .why_part = "checksum" },
	{ .m = { { .name = "mini", .type = '0', .size = 1, .size_field = "12x", .bad_sum = false } }, .n = 1, .why_part = "size" },
	{ .m = { { .name = "mini", .type = '0', .size = 1, .size_field = "", .bad_sum = false } }, .n = 1, .why_part = "size" },
};

START_TEST(test_hostile)
{
	const struct hostile *h = &hostile[_i];
	const char *why = NULL;
	int fd = raw_bundle(h->m, h->n, true, 0);
	ck_assert_int_eq(read_all(fd, NULL, &why), -EBADMSG);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, h->why_part), "case %d: why '%s' lacks '%s'", _i, why, h->why_part);
	close(fd);
}
END_TEST

START_TEST(test_caps)
{
	const char *why = NULL;
	struct bundle_caps caps = { .member_max = 4096, .total_max = 10000, .members_max = 3 };
	int fd;

	/* one member over member_max (and one at it, fine) */
	struct raw one[] = { { .name = "a", .type = '0', .size = 4096 }, { .name = "b", .type = '0', .size = 4097 } };
	fd = raw_bundle(one, 2, true, 0);
	ck_assert_int_eq(read_all(fd, &caps, &why), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "larger than BUNDLE_MODULE_MAX"));
	close(fd);
	/* all together over total_max */
	struct raw tot[] = { { .name = "a", .type = '0', .size = 4000 }, { .name = "b", .type = '0', .size = 4000 }, { .name = "c", .type = '0', .size = 4000 } };
	fd = raw_bundle(tot, 3, true, 0);
	ck_assert_int_eq(read_all(fd, &caps, &why), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "BUNDLE_TOTAL_MAX"));
	close(fd);
	/* more than members_max */
	struct raw many[] = { { .name = "a", .type = '0', .size = 1 }, { .name = "b", .type = '0', .size = 1 }, { .name = "c", .type = '0', .size = 1 }, { .name = "d", .type = '0', .size = 1 } };
	fd = raw_bundle(many, 4, true, 0);
	ck_assert_int_eq(read_all(fd, &caps, &why), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "BUNDLE_MEMBERS_MAX"));
	close(fd);
	/* three small ones: fine */
	fd = raw_bundle(many, 3, true, 0);
	ck_assert_int_eq(read_all(fd, &caps, &why), 0);
	close(fd);
	/* a size that claims far more than the data (8 GiB): the default caps
	 * refuse it before a byte is read */
	struct raw huge[] = { { .name = "a", .type = '0', .size = 0, .size_field = "77777777777" } };
	fd = raw_bundle(huge, 1, false, 0);
	caps = BUNDLE_CAPS_DEFAULT;
	ck_assert_int_eq(read_all(fd, &caps, &why), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "BUNDLE_MODULE_MAX"));
	close(fd);
}
END_TEST

START_TEST(test_cut_and_garbage)
{
	const char *why = NULL;
	struct raw one[] = { { .name = "mini", .type = '0', .size = 100000 } };
	/* no end-of-archive blocks */
	int fd = raw_bundle(one, 1, false, 0);
	ck_assert_int_eq(read_all(fd, NULL, &why), -EBADMSG);
	close(fd);
	/* the compressed file cut short */
	fd = raw_bundle(one, 1, true, 40);
	ck_assert_int_eq(read_all(fd, NULL, &why), -EBADMSG);
	close(fd);
	/* not zstd */
	fd = memfd();
	ck_assert_int_eq(write_all(fd, "hello, this is not zstd at all", 30), 0);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_eq(read_all(fd, NULL, &why), -EBADMSG);
	close(fd);
	/* empty */
	fd = memfd();
	ck_assert_int_eq(read_all(fd, NULL, &why), -EBADMSG);
	close(fd);
}
END_TEST

/* ---- import ---- */

static const char *const rec_fmt =
	"{\"id\":\"%s\",\"time\":\"2026-11-21T12:49:05.123456Z\",\"time_usec\":1795272545123456,"
	"\"pid\":4242,\"uid\":0,\"gid\":0,\"signal\":11,\"signal_name\":\"SIGSEGV\",\"comm\":\"segv\","
	"\"exe\":\"/usr/bin/segv\",\"cmdline\":\"segv\",\"hostname\":\"elsewhere\","
	"\"boot_id\":\"0123456789abcdef0123456789abcdef\",\"unit\":null,"
	"\"core\":{\"status\":\"stored\",\"size\":8192,\"stored_size\":%d,\"path\":\"/x/y.core.zst\"},"
	"\"minicore\":{\"path\":\"/x/y.mini\"}}";

/* A bundle with the record of id, a minicore, a core of core_size bytes (the
 * record says 100), a module and extra (name, NULL for none). */
static int make_bundle_status(const char *id, size_t core_size, const char *extra, const char *status)
{
	int out = memfd();
	struct bundle_writer *w = NULL;
	char rec[2048], *st;
	static char core[(2 << 20)];

	snprintf(rec, sizeof(rec), rec_fmt, id, 100);
	if (status && (st = strstr(rec, "\"stored\""))) {
		char tail[2048];
		snprintf(tail, sizeof(tail), "%s", st + strlen("\"stored\""));
		snprintf(st, sizeof(rec) - (size_t)(st - rec), "\"%s\"%s", status, tail);
	}
	ck_assert_int_eq(bundle_writer_new(out, 3, &w), 0);
	ck_assert_int_eq(bundle_add_buf(w, "record.json", rec, strlen(rec), 0644), 0);
	ck_assert_int_eq(bundle_add_buf(w, "mini", "MINI", 4, 0644), 0);
	ck_assert_int_eq(bundle_add_buf(w, "core.zst", core, core_size, 0644), 0);
	ck_assert_int_eq(bundle_add_buf(w, "sysroot/usr/bin/segv", "ELF", 3, 0644), 0);
	ck_assert_int_eq(bundle_add_buf(w, "README.txt", "hi", 2, 0644), 0);
	if (extra)
		ck_assert_int_eq(bundle_add_buf(w, extra, "x", 1, 0644), 0);
	ck_assert_int_eq(bundle_writer_finish(w), 0);
	bundle_writer_free(w);
	ck_assert_int_eq(lseek(out, 0, SEEK_SET), 0);
	return out;
}

static int make_bundle(const char *id, size_t core_size, const char *extra)
{
	return make_bundle_status(id, core_size, extra, NULL);
}

static int count_entries(const char *dir) /* at most 255 */
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "exit $(ls -A '%s' 2>/dev/null | wc -l)", dir);
	return WEXITSTATUS(system(cmd));
}

START_TEST(test_import)
{
	struct store st;
	struct bundle_import_info info;
	const char *why = NULL, *id = "20261121T124905.123456Z-ab12cd34-4242";
	char root[300], p[600];

	snprintf(root, sizeof(root), "%s/root", tmpdir);
	ck_assert_int_eq(store_init(&st, root), 0);

	/* refused: a core over what the record's stored_size allows */
	int fd = make_bundle(id, 100 + BUNDLE_CORE_SLACK + 1, NULL);
	ck_assert_int_eq(bundle_import(&st, fd, "b", NULL, &info, &why), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "core.stored_size"));
	close(fd);
	/* refused: an unexpected member, after everything else was written */
	fd = make_bundle(id, 100, "etc/passwd");
	ck_assert_int_eq(bundle_import(&st, fd, "b", NULL, &info, &why), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "unexpected member"));
	close(fd);
	/* a core for a record that says none was kept */
	fd = make_bundle_status(id, 100, NULL, "skipped");
	ck_assert_int_eq(bundle_import(&st, fd, "b", NULL, &info, &why), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "not stored"));
	close(fd);
	/* a member twice in the sysroot */
	fd = make_bundle(id, 100, "sysroot/usr/bin/segv");
	ck_assert_int_eq(bundle_import(&st, fd, "b", NULL, &info, &why), -EBADMSG);
	close(fd);
	/* nothing of them stayed */
	ck_assert_int_eq(count_entries(st.store_dir), 0);
	ck_assert_int_eq(count_entries(st.spool_dir), 0);
	snprintf(p, sizeof(p), "%s/sysroot", root);
	ck_assert_int_eq(count_entries(p), 0);

	fd = make_bundle(id, 100, NULL);
	ck_assert_int_eq(bundle_import(&st, fd, "b.mortem", NULL, &info, &why), 0);
	close(fd);
	ck_assert_str_eq(info.id, id);
	ck_assert(info.core && info.mini);
	ck_assert_uint_eq(info.files, 1);
	json_object *rec = NULL;
	snprintf(p, sizeof(p), "%s/%s.json", st.store_dir, id);
	ck_assert_int_eq(record_load(p, &rec), 0);
	ck_assert_str_eq(record_str(rec, "hostname", ""), "elsewhere");
	ck_assert_str_eq(record_str(record_obj(rec, "import"), "from", ""), "elsewhere/20261121T124905.123456Z-ab12cd34-4242");
	snprintf(p, sizeof(p), "%s/%s.core.zst", st.store_dir, id);
	ck_assert_str_eq(record_str(record_obj(rec, "core"), "path", ""), p);
	json_object_put(rec);
	snprintf(p, sizeof(p), "%s/sysroot/%s/usr/bin/segv", root, id);
	struct stat sb;
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0644);
	int sfd = bundle_sysroot_open(&st, id);
	ck_assert_int_ge(sfd, 0);
	close(sfd);

	/* the same again: -EEXIST, id said */
	fd = make_bundle(id, 100, NULL);
	memset(&info, 0, sizeof(info));
	ck_assert_int_eq(bundle_import(&st, fd, "b.mortem", NULL, &info, &why), -EEXIST);
	ck_assert_str_eq(info.id, id);
	close(fd);

	/* the record removed (rm): its sysroot goes at the next prune, but not
	 * while an import of that id holds its lock (it renames the sysroot
	 * into place before it publishes the record) */
	int lk = -1;
	ck_assert_int_eq(store_lock(&st, id, &lk), 0);
	snprintf(p, sizeof(p), "%s/%s.json", st.store_dir, id);
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(bundle_sysroot_prune(&st), 0);
	close(lk);
	snprintf(p, sizeof(p), "%s/%s.lock", st.spool_dir, id);
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(bundle_sysroot_prune(&st), 1);
	ck_assert_int_eq(bundle_sysroot_open(&st, id), -ENOENT);
	store_free(&st);
}
END_TEST

static Suite *bundle_suite(void)
{
	Suite *s = suite_create("bundle");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_loop_test(tc, test_hostile, 0, (int)ARRAY_SIZE(hostile));
	tcase_add_test(tc, test_caps);
	tcase_add_test(tc, test_cut_and_garbage);
	tcase_add_test(tc, test_import);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(bundle_suite());
}
