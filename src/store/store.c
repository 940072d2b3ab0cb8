/* Store layout, ids and atomic publication. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "store/access.h"
#include "store/park.h"
#include "store/store.h"
#include "base/util.h"

int store_init(struct store *st, const char *root)
{
	memset(st, 0, sizeof(*st));
	if (!root || root[0] != '/')
		return -EINVAL;
	st->root = strdup(root);
	if (asprintf(&st->store_dir, "%s/store", root) < 0)
		st->store_dir = NULL;
	if (asprintf(&st->spool_dir, "%s/spool", root) < 0)
		st->spool_dir = NULL;
	if (asprintf(&st->index_path, "%s/index.sqlite", root) < 0)
		st->index_path = NULL;
	if (!st->root || !st->store_dir || !st->spool_dir || !st->index_path) {
		store_free(st);
		return -ENOMEM;
	}
	return 0;
}

void store_free(struct store *st)
{
	free(st->root);
	free(st->store_dir);
	free(st->spool_dir);
	free(st->index_path);
	memset(st, 0, sizeof(*st));
}

int store_mkdirs(const struct store *st)
{
	int r = mkdir_p(st->store_dir, 0750);
	if (r >= 0)
		r = mkdir_p(st->spool_dir, 0750);
	return r;
}

int store_make_id(int64_t time_usec, const char *boot_id, pid_t pid, char *buf, size_t len)
{
	struct tm tm;
	time_t t = (time_t)(time_usec / 1000000);
	char bid[9] = "00000000";
	size_t j = 0;

	if (!gmtime_r(&t, &tm))
		return -EINVAL;
	/* Keep only hex digits of the boot id: it comes from a file, not from us. */
	for (size_t i = 0; boot_id && boot_id[i] && j < 8; i++)
		if (strchr("0123456789abcdef", boot_id[i]))
			bid[j++] = boot_id[i];
	int n = snprintf(buf, len, "%04d%02d%02dT%02d%02d%02d.%06dZ-%s-%d", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(time_usec % 1000000), bid, (int)pid);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

bool store_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > STORE_ID_MAX || id[0] == '.')
		return false;
	return strspn(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-") == n;
}

char *store_path(const char *dir, const char *id, const char *suffix)
{
	char *p;
	if (asprintf(&p, "%s/%s%s", dir, id, suffix) < 0)
		return NULL;
	return p;
}

int store_lock(const struct store *st, const char *id, int *ret_fd)
{
	_cleanup_free_ char *p = store_path(st->spool_dir, id, ".lock");
	if (!p)
		return -ENOMEM;
	int fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = -errno;
		(void)close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int store_tmp_open(const struct store *st, const char *id, const char *suffix, int *ret_fd)
{
	_cleanup_free_ char *name = NULL, *p = NULL;
	if (asprintf(&name, "%s.tmp", suffix) < 0)
		return -ENOMEM;
	p = store_path(st->spool_dir, id, name);
	if (!p)
		return -ENOMEM;
	int fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

int store_publish(const struct store *st, const char *id, const char *suffix)
{
	_cleanup_free_ char *name = NULL, *from = NULL, *to = NULL;
	if (asprintf(&name, "%s.tmp", suffix) < 0)
		return -ENOMEM;
	from = store_path(st->spool_dir, id, name);
	to = store_path(st->store_dir, id, suffix);
	if (!from || !to)
		return -ENOMEM;
	/* No overwrite: an id is never reused. */
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0)
		return -errno;
	return 0;
}

int store_replace(const struct store *st, const char *id, const char *tmp_suffix, const char *suffix)
{
	_cleanup_free_ char *name = NULL, *from = NULL, *to = NULL;
	if (asprintf(&name, "%s.tmp", tmp_suffix) < 0)
		return -ENOMEM;
	from = store_path(st->spool_dir, id, name);
	to = store_path(st->store_dir, id, suffix);
	if (!from || !to)
		return -ENOMEM;
	/* The replacement is read by whom the old file was (access.h): a
	 * rewritten record or a recompressed core keeps its readers. Failing
	 * that, it stays root's: the safe side, and the replacement still
	 * happens. */
	_cleanup_close_ int fd = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0)
		(void)access_copy_to_fd(to, fd);
	if (rename(from, to) < 0)
		return -errno;
	return 0;
}

static const char *const store_suffixes[] = { ".core.zst", ".mini", ".json" };

bool store_discard_work(const struct store *st, const char *id)
{
	for (size_t i = 0; i < ARRAY_SIZE(store_suffixes); i++) {
		_cleanup_free_ char *name = NULL, *p = NULL;
		if (asprintf(&name, "%s.tmp", store_suffixes[i]) < 0)
			continue;
		if ((p = store_path(st->spool_dir, id, name)))
			(void)unlink(p);
		free(name);
		name = NULL;
		if (asprintf(&name, "%s.re.tmp", store_suffixes[i]) < 0)
			continue;
		free(p);
		if ((p = store_path(st->spool_dir, id, name)))
			(void)unlink(p);
	}
	_cleanup_free_ char *json = store_path(st->store_dir, id, ".json");
	if (!json || access(json, F_OK) == 0 || errno != ENOENT)
		return true;
	/* The core and minicore are published before the record. */
	for (size_t i = 0; i < ARRAY_SIZE(store_suffixes); i++) {
		_cleanup_free_ char *p = store_path(st->store_dir, id, store_suffixes[i]);
		if (p)
			(void)unlink(p);
	}
	return false;
}

void store_discard(const struct store *st, const char *id)
{
	(void)store_discard_work(st, id);
	/* The pending note (pending.c) and a collector's spill go with the lock. */
	static const char *const extra[] = { ".pending", ".pending.tmp", ".raw.tmp" /* collect_spill.h */,
					     /* what a park that did not finish wrote (park.h) */
					     PARK_SUFFIX ".tmp", PARK_POOL_SUFFIX, PARK_SPILL_SUFFIX };
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++) {
		_cleanup_free_ char *p = store_path(st->spool_dir, id, extra[i]);
		if (p)
			(void)unlink(p);
	}
	_cleanup_free_ char *lock = store_path(st->spool_dir, id, ".lock");
	if (lock)
		(void)unlink(lock);
}

bool store_lock_abandoned(const struct store *st, const char *id)
{
	_cleanup_free_ char *p = store_path(st->spool_dir, id, ".lock");
	_cleanup_close_ int fd = -1;
	struct stat sb;

	if (!p)
		return false;
	/* A parked crash waits for mortemd's next start (park.h). */
	if (park_exists(st->spool_dir, id))
		return false;
	fd = open(p, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &sb) < 0)
		return false;
	if (time(NULL) - sb.st_mtime < STORE_STALE_LOCK_SEC)
		return false;
	return flock(fd, LOCK_EX | LOCK_NB) == 0;
}

int store_clean_spool(const struct store *st, char ***ret_published, size_t *ret_n)
{
	DIR *d = opendir(st->spool_dir);
	char **pub = NULL;
	size_t npub = 0;
	int cleaned = 0;
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n <= 5 || strcmp(de->d_name + n - 5, ".lock") != 0)
			continue;
		char id[STORE_ID_MAX + 1];
		if (n - 5 > STORE_ID_MAX)
			continue;
		memcpy(id, de->d_name, n - 5);
		id[n - 5] = '\0';
		if (!store_id_valid(id) || !store_lock_abandoned(st, id))
			continue;
		if (store_discard_work(st, id)) {
			/* Published; maybe not indexed yet. */
			char **np = realloc(pub, (npub + 1) * sizeof(*pub));
			if (np) {
				pub = np;
				if ((pub[npub] = strdup(id)))
					npub++;
			}
		}
		store_discard(st, id);
		cleaned++;
	}
	closedir(d);
	if (ret_published) {
		*ret_published = pub;
		*ret_n = npub;
	} else {
		for (size_t i = 0; i < npub; i++)
			free(pub[i]);
		free(pub);
	}
	return cleaned;
}

static int store_id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void store_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; ids && i < n; i++)
		free(ids[i]);
	free(ids);
}

int store_list_ids(const char *dir, size_t max, char ***ret_ids, size_t *ret_n)
{
	char **ids = NULL;
	size_t n = 0;
	struct dirent *de;
	int r = 0;

	if (!dir || !ret_ids || !ret_n)
		return -EINVAL;
	DIR *d = opendir(dir);
	if (!d && errno != ENOENT)
		return -errno;
	while (d && (errno = 0, de = readdir(d))) {
		/* ids never start with '.', the locks and temp files do or end so */
		size_t len = strlen(de->d_name);
		if (!store_id_valid(de->d_name) || (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0))
			continue;
		if (n >= max)
			break;
		char **grown = realloc(ids, (n + 1) * sizeof(*ids));
		if (!grown) {
			r = -ENOMEM;
			break;
		}
		ids = grown;
		if (!(ids[n] = strdup(de->d_name))) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	if (d && r == 0 && errno != 0)
		r = -errno;
	if (d)
		(void)closedir(d);
	if (r < 0) {
		store_ids_free(ids, n);
		return r;
	}
	if (n > 1)
		qsort(ids, n, sizeof(*ids), store_id_cmp);
	*ret_ids = ids;
	*ret_n = n;
	return 0;
}
