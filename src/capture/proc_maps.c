/* The binaries a dying process mapped that the analysis could not open by their
 * path, found in /proc/PID/maps and opened through /proc/PID/map_files.
 *
 * All of it runs while the process is held, over lines the process chose (how
 * many mappings, of which files, how deep): the cost is bounded by what is
 * read (the maps text, at most item_max bytes), the distinct paths judged
 * (each once, PROC_FILES_PATHS_MAX at most), the directories walked for one
 * judgement (PROC_FILES_DEPTH_MAX, a walk of openat() steps, not a stat() of
 * every prefix) and the capture's time budget, checked on every line. */
#include "capture/proc_maps.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

#define PROC_FILES_SET_SLOTS (2 * PROC_FILES_PATHS_MAX) /* open addressing, at most half full */

/* One scan: the paths judged already (a hash set) and the last directories
 * judged (a directory's files share its answer). */
struct proc_maps_scan {
	char *seen[PROC_FILES_SET_SLOTS];
	size_t n_seen;
	struct {
		char *path;
		bool ok;
	} dirs[PROC_FILES_DIRS_MAX];
	size_t n_dirs, next_dir;
	uint64_t lines, too_deep;
};

static void proc_maps_scan_free(struct proc_maps_scan *s)
{
	for (size_t i = 0; i < PROC_FILES_SET_SLOTS; i++)
		free(s->seen[i]);
	for (size_t i = 0; i < s->n_dirs; i++)
		free(s->dirs[i].path);
	free(s);
}

static uint64_t proc_maps_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* 1 when path is new (and now remembered), 0 when it was judged already,
 * -ENOSPC when PROC_FILES_PATHS_MAX paths are remembered, -ENOMEM. */
static int proc_maps_seen_add(struct proc_maps_scan *s, const char *path)
{
	size_t i = proc_maps_hash(path) % PROC_FILES_SET_SLOTS;

	for (; s->seen[i]; i = (i + 1) % PROC_FILES_SET_SLOTS)
		if (strcmp(s->seen[i], path) == 0)
			return 0;
	if (s->n_seen == PROC_FILES_PATHS_MAX)
		return -ENOSPC;
	s->seen[i] = strdup(path);
	if (!s->seen[i])
		return -ENOMEM;
	s->n_seen++;
	return 1;
}

/* One line of /proc/PID/maps: "START-END PERMS OFFSET DEV INODE   PATH". Sets
 * range (the "START-END" as map_files names it) and the path of an executable
 * mapping of a file, or returns false for any other (a binary's code is what
 * the analysis needs its file for; data files, devices and shared memory are
 * none of its business). */
bool proc_maps_line(char *line, char **range, char **path)
{
	char *sp = strchr(line, ' ');
	if (!sp || strlen(sp) < 5 || sp[3] != 'x')
		return false;
	*sp = '\0';
	*range = line;
	/* perms, offset, dev, inode: four fields, then spaces, then the path */
	char *p = sp + 1;
	for (int i = 0; i < 4; i++) {
		p = strchr(p, ' ');
		if (!p)
			return false;
		p++;
	}
	p += strspn(p, " ");
	p[strcspn(p, "\n")] = '\0';
	if (p[0] != '/')
		return false; /* anonymous, [heap], [stack], [vdso]... */
	*path = p;
	return true;
}

/* Is every directory of dir (absolute, not "/") searchable by others? Walked
 * from the process's own root (/proc/PID/root: a container's, where the
 * analysis looks the file up too; the host's "/" would judge another file of
 * the same name) one openat() at a time, so a deep path costs one lookup per
 * level rather than a full lookup per prefix. A symbolic link on the way is
 * not followed (it would resolve against our root): counted as hidden, the
 * file is opened through map_files, which is never wrong. */
static bool proc_maps_dir_searchable(int procfd, char *dir)
{
	_cleanup_close_ int fd = openat(procfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *save = NULL;

	if (fd < 0)
		return false;
	for (char *comp = strtok_r(dir, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		struct stat ds;
		int next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return false;
		(void)close(fd);
		fd = next;
		if (fstat(fd, &ds) < 0 || !S_ISDIR(ds.st_mode) || !(ds.st_mode & S_IXOTH))
			return false;
	}
	return true;
}

/* Could a user with no rights of its own (the analysis user: "others") open
 * path? Its mode, and every directory above it searchable by others (a 0700
 * home directory hides a 0755 program). A path deeper than
 * PROC_FILES_DEPTH_MAX is not judged and counts as hidden: opening it through
 * map_files costs one descriptor and is never wrong. */
static bool proc_maps_others_can_read(struct proc_maps_scan *s, int procfd, const char *path, const struct stat *st)
{
	char dir[PATH_MAX];
	size_t depth = 0;

	if (!(st->st_mode & S_IROTH))
		return false;
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n == 0 || n >= sizeof(dir))
		return n == 0; /* a file in "/" */
	memcpy(dir, path, n);
	dir[n] = '\0';
	for (size_t i = 0; i < s->n_dirs; i++)
		if (strcmp(s->dirs[i].path, dir) == 0)
			return s->dirs[i].ok;
	for (size_t i = 0; i < n; i++)
		depth += dir[i] == '/';
	if (depth > PROC_FILES_DEPTH_MAX) {
		s->too_deep++;
		return false;
	}
	char *key = strdup(dir);
	bool ok = proc_maps_dir_searchable(procfd, dir);
	if (key) {
		/* the oldest answer makes room */
		size_t slot;
		if (s->n_dirs < PROC_FILES_DIRS_MAX) {
			slot = s->n_dirs++;
		} else {
			slot = s->next_dir++ % PROC_FILES_DIRS_MAX;
			free(s->dirs[slot].path);
		}
		s->dirs[slot].path = key;
		s->dirs[slot].ok = ok;
	}
	return ok;
}

static void proc_maps_summary(struct proc_ctx *c, const struct proc_maps_scan *s, size_t opened)
{
	json_object *o = json_object_new_object();

	if (!o) {
		c->oom = true;
		return;
	}
	proc_ctx_set(c, "map_files", o);
	proc_ctx_add(c, o, "lines", 5, json_object_new_int64((int64_t)s->lines), false);
	proc_ctx_add(c, o, "paths", 5, json_object_new_int64((int64_t)s->n_seen), false);
	proc_ctx_add(c, o, "opened", 6, json_object_new_int64((int64_t)opened), false);
	proc_ctx_add(c, o, "too_deep", 8, json_object_new_int64((int64_t)s->too_deep), false);
}

void proc_maps_open_lost(struct proc_ctx *c, char *maps, size_t len, bool maps_cut, struct proc_file *out,
			 size_t max, size_t *ret_n)
{
	struct proc_maps_scan *s = calloc(1, sizeof(*s));
	struct rlimit rl;
	rlim_t fd_cap = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur / 2 : 512;
	size_t n = 0, i = 0;
	bool cut = false;

	*ret_n = 0;
	if (!s) {
		c->oom = true;
		return;
	}
	while (i < len) {
		char *line = maps + i, *nl = memchr(line, '\n', len - i);
		if (!nl)
			break;
		*nl = '\0';
		i = (size_t)(nl - maps) + 1;
		if (n == max) {
			cut = true; /* PROC_FILES_MAX kept, lines left */
			break;
		}
		if (proc_ctx_over_budget(c, "map_files"))
			break;
		s->lines++;

		char *range, *path;
		if (!proc_maps_line(line, &range, &path))
			continue;
		bool deleted;
		path[path_undeleted_len(path, &deleted)] = '\0';
		/* Shared anonymous memory ("/dev/zero (deleted)") and memfds are
		 * regular files that were deleted, but no binary. */
		if (strncmp(path, "/dev/", 5) == 0 || strncmp(path, "/memfd:", 7) == 0)
			continue;
		/* Each path is judged once, however often it is mapped. */
		int r = proc_maps_seen_add(s, path);
		if (r == 0)
			continue;
		if (r < 0) {
			if (r == -ENOMEM)
				c->oom = true;
			cut = true;
			break;
		}
		char mf[96];
		struct stat st;
		if ((size_t)snprintf(mf, sizeof(mf), "map_files/%s", range) >= sizeof(mf))
			continue;
		/* A regular file only (never a device's open), and one the
		 * analysis would not reach by its path. */
		if (fstatat(c->dirfd, mf, &st, 0) < 0 || !S_ISREG(st.st_mode) ||
		    (!deleted && proc_maps_others_can_read(s, c->dirfd, path, &st)))
			continue;
		int fd = openat(c->dirfd, mf, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			continue;
		/* Never the upper half of the descriptors: mortemd holds these
		 * for every crash in flight, and its accepts and the store need
		 * the rest (descriptors come lowest first). */
		if ((rlim_t)fd >= fd_cap) {
			(void)close(fd);
			cut = true;
			break;
		}
		char *copy = strdup(path);
		if (!copy) {
			(void)close(fd);
			c->oom = true;
			break;
		}
		out[n++] = (struct proc_file){ .path = copy, .fd = fd };
	}
	if (cut || maps_cut)
		proc_ctx_truncated(c, "map_files");
	proc_maps_summary(c, s, n);
	proc_maps_scan_free(s);
	*ret_n = n;
}

void proc_files_close(struct proc_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].path);
		f[i].path = NULL;
		if (f[i].fd >= 0)
			(void)close(f[i].fd);
		f[i].fd = -1;
	}
}
