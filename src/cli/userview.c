/* userview.c: the store as a user other than root sees it. The index is
 * root's (it holds every user's rows), so for such a user mortem builds an
 * index in memory from the records that user may read (store/access.h):
 * its own crashes, found through ROOT/users/<uid>/, or, for a member of the
 * reading group, every record in store/. Every verb that reads the index
 * (list, info, stacks, dump, debug, disk-usage) then works unchanged; the
 * kernel's permission checks on each file remain the real guard. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "store/access.h"
#include "store/record.h"
#include "base/util.h"

#define USERVIEW_RECORDS_MAX 100000 /* records read into one view; reaching it is said */

/* A member of the reading group (primary or supplementary). */
static bool userview_in_group(void)
{
	gid_t g = access_group_gid();
	int n;

	if (g == ACCESS_NOBODY)
		return false;
	if (getegid() == g)
		return true;
	if ((n = getgroups(0, NULL)) <= 0)
		return false;
	_cleanup_free_ gid_t *groups = calloc((size_t)n, sizeof(*groups));
	if (!groups || (n = getgroups(n, groups)) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == g)
			return true;
	return false;
}

/* The record of id, when we can read it (and, own_only, when it is ours:
 * a record is listed for whom it was granted, never for whom it names). */
static int userview_add(sqlite3 *db, const struct store *st, const char *id, bool own_only)
{
	_cleanup_free_ char *p = store_path(st->store_dir, id, ".json");
	json_object *rec = NULL;
	int r;

	if (!p)
		return -ENOMEM;
	if (record_load(p, &rec) < 0)
		return 0; /* not ours to read, gone meanwhile, or bad: not listed */
	if (own_only && record_i64(rec, "uid", -1) != (int64_t)getuid()) {
		json_object_put(rec);
		return 0;
	}
	r = index_insert(db, rec, p);
	json_object_put(rec);
	return r < 0 ? r : 1;
}

/* Each "<id>.json" of dir, an id of the store. */
static int userview_scan(sqlite3 *db, const struct store *st, const char *dir, bool own_only, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)) && r >= 0) {
		char id[STORE_ID_MAX + 1];
		size_t n = strlen(de->d_name);
		if (n <= 5 || n - 5 > STORE_ID_MAX || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		memcpy(id, de->d_name, n - 5);
		id[n - 5] = '\0';
		if (!store_id_valid(id))
			continue;
		if (*count >= USERVIEW_RECORDS_MAX) {
			cli_err("only the first %d crashes readable by you are shown", USERVIEW_RECORDS_MAX);
			break;
		}
		if ((r = userview_add(db, st, id, own_only)) > 0)
			(*count)++;
	}
	closedir(d);
	return r < 0 ? r : 0;
}

int userview_open(struct cli *c, sqlite3 **ret)
{
	_cleanup_free_ char *udir = access_user_dir(&c->st, getuid());
	sqlite3 *db = NULL;
	size_t count = 0;
	int r;

	if (!udir)
		return -ENOMEM;
	if ((r = index_open(":memory:", &db)) < 0) {
		cli_err("cannot make an index in memory: %s", strerror(-r));
		return r;
	}
	r = -EACCES;
	if (userview_in_group())
		r = userview_scan(db, &c->st, c->st.store_dir, false, &count);
	if (r < 0)
		r = userview_scan(db, &c->st, udir, true, &count);
	/* No view yet: this user has no readable crash. */
	if (r == -ENOENT)
		r = 0;
	if (r < 0) {
		cli_err("cannot read the crash store %s: %s (only root, group " ACCESS_GROUP
			" and a crash's own user read it)",
			c->st.root, strerror(-r));
		index_close(db);
		return r;
	}
	c->userview = true;
	*ret = db;
	return 0;
}

bool userview_foreign(const struct cli *c, const char *match)
{
	_cleanup_free_ char *p = NULL;

	if (!c->userview || !match || !store_id_valid(match) || !(p = store_path(c->st.store_dir, match, ".json")))
		return false;
	/* store/ can be searched but not listed: a name can be tested, no more. */
	if (faccessat(AT_FDCWD, p, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	cli_err("crash %s belongs to another user, or to a setuid, setgid or otherwise privileged process; "
		"root or group " ACCESS_GROUP " can read it",
		match);
	return true;
}
