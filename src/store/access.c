/* Who may read a stored crash besides root (the policy is atop access.h),
 * and the ACLs that carry it on the store's files. */
#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "store/access.h"
#include "store/record.h"
#include "base/parse.h"
#include "base/util.h"

/* linux/posix_acl_xattr.h and linux/posix_acl.h, which are not in every
 * distribution's headers in this form. */
#define ACCESS_XATTR "system.posix_acl_access"
#define ACCESS_XATTR_VERSION 2
#define ACCESS_TAG_USER_OBJ 0x01
#define ACCESS_TAG_USER 0x02
#define ACCESS_TAG_GROUP_OBJ 0x04
#define ACCESS_TAG_GROUP 0x08
#define ACCESS_TAG_MASK 0x10
#define ACCESS_TAG_OTHER 0x20
#define ACCESS_UNDEFINED_ID 0xffffffffu
#define ACCESS_XATTR_MAX (4 + 8 * ACCESS_ACL_ENTRIES_MAX)

/* "a\tb\tc\td" of proc.status: four ids, all equal; the value in *ret. */
static bool access_ids_equal(const char *s, uint64_t *ret)
{
	uint64_t v[4];
	size_t n = 0;

	while (s && *s && n < 4) {
		char buf[24];
		size_t k = strcspn(s, " \t");
		if (k == 0 || k >= sizeof(buf))
			return false;
		memcpy(buf, s, k);
		buf[k] = '\0';
		if (parse_u64(buf, &v[n]) < 0 || v[n] > UINT32_MAX - 1)
			return false;
		n++;
		s += k;
		s += strspn(s, " \t");
	}
	if (n != 4 || (s && *s))
		return false;
	if (v[1] != v[0] || v[2] != v[0] || v[3] != v[0])
		return false;
	*ret = v[0];
	return true;
}

int access_owner_may_read(json_object *rec, uid_t *ret_uid, const char **ret_why)
{
	json_object *status = record_obj(record_obj(rec, "proc"), "status"), *v;
	uint64_t uid, gid;
	const char *why = NULL;

	if (!json_object_object_get_ex(rec, "dumpable", &v) || !json_object_is_type(v, json_type_int))
		why = "dumpable unknown";
	else if (json_object_get_int64(v) != 1)
		why = "not dumpable by its user (setuid, setgid, capabilities or changed credentials)";
	else if (!status)
		why = "no process status";
	else if (!access_ids_equal(record_str(status, "Uid", NULL), &uid))
		why = "real, effective and saved uids differ or are unknown";
	else if (!access_ids_equal(record_str(status, "Gid", NULL), &gid))
		why = "real, effective and saved gids differ or are unknown";
	else if (record_i64(rec, "uid", -1) != (int64_t)uid || record_i64(rec, "gid", -1) != (int64_t)gid)
		why = "the record's uid or gid is not the process's";
	if (why) {
		if (ret_why)
			*ret_why = why;
		return 0;
	}
	*ret_uid = (uid_t)uid;
	return 1;
}

gid_t access_group_gid(void)
{
	struct group gr, *res = NULL;
	char buf[4096];
	if (getgrnam_r(ACCESS_GROUP, &gr, buf, sizeof(buf), &res) != 0 || !res)
		return ACCESS_NOBODY;
	return res->gr_gid;
}

void access_grants(json_object *rec, gid_t group, struct access_grant *ret_record, struct access_grant *ret_core)
{
	uid_t uid = ACCESS_NOBODY;
	bool owner = access_owner_may_read(rec, &uid, NULL) == 1;

	/* Root reads everything anyway: no entry for uid 0. */
	if (owner && uid == 0)
		uid = ACCESS_NOBODY;
	*ret_record = (struct access_grant){ .user = owner ? uid : ACCESS_NOBODY, .group = group };
	/* A core is the process's memory: the group gets it only when its owner
	 * may read it, and never root's. */
	*ret_core = (struct access_grant){ .user = ret_record->user,
					   .group = owner && uid != ACCESS_NOBODY ? group : ACCESS_NOBODY };
}

static uint8_t *access_put(uint8_t *p, uint16_t tag, uint16_t perm, uint32_t id)
{
	uint16_t t = htole16(tag), m = htole16(perm);
	uint32_t i = htole32(id);
	memcpy(p, &t, 2);
	memcpy(p + 2, &m, 2);
	memcpy(p + 4, &i, 4);
	return p + 8;
}

int access_acl_encode(mode_t mode, const struct access_grant *g, bool dir, void *buf, size_t len)
{
	uint16_t extra = dir ? 05 : 04; /* r-x for a directory, r-- for a file */
	uint16_t gobj = (mode >> 3) & 7, mask = gobj;
	uint32_t v = htole32(ACCESS_XATTR_VERSION);
	uint8_t *p = buf;

	if (len < ACCESS_XATTR_MAX)
		return -ENOBUFS;
	memcpy(p, &v, 4);
	p += 4;
	/* In the kernel's order: tags ascending, ids ascending within a tag. */
	p = access_put(p, ACCESS_TAG_USER_OBJ, (mode >> 6) & 7, ACCESS_UNDEFINED_ID);
	if (g->user != ACCESS_NOBODY) {
		p = access_put(p, ACCESS_TAG_USER, extra, (uint32_t)g->user);
		mask |= extra;
	}
	p = access_put(p, ACCESS_TAG_GROUP_OBJ, gobj, ACCESS_UNDEFINED_ID);
	if (g->group != ACCESS_NOBODY) {
		p = access_put(p, ACCESS_TAG_GROUP, extra, (uint32_t)g->group);
		mask |= extra;
	}
	p = access_put(p, ACCESS_TAG_MASK, mask, ACCESS_UNDEFINED_ID);
	p = access_put(p, ACCESS_TAG_OTHER, mode & 7, ACCESS_UNDEFINED_ID);
	return (int)(p - (uint8_t *)buf);
}

int access_apply_fd(int fd, const struct access_grant *g, bool dir)
{
	uint8_t buf[ACCESS_XATTR_MAX];
	struct stat sb;
	int n;

	if (fstat(fd, &sb) < 0)
		return -errno;
	if (g->user == ACCESS_NOBODY && g->group == ACCESS_NOBODY) {
		if (fremovexattr(fd, ACCESS_XATTR) < 0 && errno != ENODATA && errno != EOPNOTSUPP)
			return -errno;
		return 0;
	}
	/* The group class of the mode becomes the mask: the owning group's own
	 * bits come from the mode as it was before any ACL (0 for our files). */
	mode_t mode = sb.st_mode;
	char cur[ACCESS_XATTR_MAX];
	if (fgetxattr(fd, ACCESS_XATTR, cur, sizeof(cur)) >= 0)
		mode &= ~(mode_t)070; /* an ACL of ours is there: its mask is not the owning group's */
	if ((n = access_acl_encode(mode, g, dir, buf, sizeof(buf))) < 0)
		return n;
	if (fsetxattr(fd, ACCESS_XATTR, buf, (size_t)n, 0) < 0)
		return -errno;
	return 0;
}

int access_copy_to_fd(const char *path, int fd)
{
	char buf[ACCESS_XATTR_MAX];
	ssize_t n = getxattr(path, ACCESS_XATTR, buf, sizeof(buf));

	if (n < 0) {
		if (errno == ENODATA || errno == ENOENT || errno == EOPNOTSUPP)
			return 0;
		return -errno;
	}
	if (fsetxattr(fd, ACCESS_XATTR, buf, (size_t)n, 0) < 0)
		return -errno;
	return 0;
}

char *access_user_dir(const struct store *st, uid_t uid)
{
	char *p;
	if (asprintf(&p, "%s/" ACCESS_USERS_DIR "/%u", st->root, (unsigned)uid) < 0)
		return NULL;
	return p;
}

/* Others may search dir (o+x) but, unless the grant says so, not list it. */
static int access_dir(const char *dir, const struct access_grant *g)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;

	if (fd < 0 || fstat(fd, &sb) < 0)
		return -errno;
	if (!(sb.st_mode & S_IXOTH) && fchmod(fd, (sb.st_mode & 07777) | S_IXOTH) < 0)
		return -errno;
	if (g && g->group != ACCESS_NOBODY) {
		int r = access_apply_fd(fd, g, true);
		if (r < 0 && r != -EOPNOTSUPP)
			return r;
	}
	return 0;
}

/* Remove the links of udir whose crash is gone (the vacuum and `mortem rm`
 * delete store files without knowing of the views). */
static void access_prune(int dfd)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (!d) {
		(void)close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (faccessat(dirfd(d), de->d_name, F_OK, 0) < 0 && errno == ENOENT)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

/* users/<uid>/<id>.json -> ../../store/<id>.json, in a directory only uid
 * (and root) may list. */
static int access_link(const struct store *st, uid_t uid, const char *id)
{
	_cleanup_free_ char *users = NULL, *udir = access_user_dir(st, uid), *name = NULL, *target = NULL;
	struct access_grant g = { .user = uid, .group = ACCESS_NOBODY };
	int r;

	if (!udir || asprintf(&users, "%s/" ACCESS_USERS_DIR, st->root) < 0 || asprintf(&name, "%s.json", id) < 0 ||
	    asprintf(&target, "../../store/%s.json", id) < 0)
		return -ENOMEM;
	if (mkdir(users, 0711) < 0 && errno != EEXIST)
		return -errno;
	if ((r = access_dir(users, NULL)) < 0)
		return r;
	if (mkdir(udir, 0700) < 0 && errno != EEXIST)
		return -errno;
	_cleanup_close_ int fd = open(udir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0)
		return -errno;
	/* Ours alone, or someone has been at it: leave it. */
	if (sb.st_uid != 0 && sb.st_uid != geteuid())
		return -EPERM;
	if ((r = access_apply_fd(fd, &g, true)) < 0)
		return r;
	if (symlinkat(target, fd, name) < 0 && errno != EEXIST)
		return -errno;
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dfd >= 0)
		access_prune(dfd);
	return 0;
}

int access_publish(const struct store *st, json_object *rec)
{
	static const char *const core_suffixes[] = { ".core.zst", ".mini" };
	const char *id = record_str(rec, "id", NULL);
	struct access_grant grec, gcore, gdir;
	int r, first = 0;

	if (!id || !store_id_valid(id))
		return -EINVAL;
	access_grants(rec, access_group_gid(), &grec, &gcore);
	/* The directories first: a user who can read a file must reach it. */
	gdir = (struct access_grant){ .user = ACCESS_NOBODY, .group = grec.group };
	if ((r = access_dir(st->root, NULL)) < 0 || (r = access_dir(st->store_dir, &gdir)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(core_suffixes) + 1; i++) {
		bool is_rec = i == ARRAY_SIZE(core_suffixes);
		_cleanup_free_ char *p = store_path(st->store_dir, id, is_rec ? ".json" : core_suffixes[i]);
		if (!p)
			return -ENOMEM;
		_cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			if (errno != ENOENT && !first)
				first = -errno;
			continue;
		}
		r = access_apply_fd(fd, is_rec ? &grec : &gcore, false);
		if (r < 0 && !first)
			first = r;
	}
	if (grec.user != ACCESS_NOBODY && (r = access_link(st, grec.user, id)) < 0 && !first)
		first = r;
	return first;
}
