/* The binaries a dying process mapped that the analysis could not open by their
 * path, found in /proc/PID/maps and opened through /proc/PID/map_files. */
#include "capture/proc_maps.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

/* One line of /proc/PID/maps: "START-END PERMS OFFSET DEV INODE   PATH". Sets
 * range (the "START-END" as map_files names it) and the path of an executable
 * mapping of a file, or returns false for any other (a binary's code is what
 * the analysis needs its file for; data files, devices and shared memory are
 * none of its business). */
static bool proc_maps_line(char *line, char **range, char **path)
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

/* Could a user with no rights of its own (the analysis user: "others")
 * open path? Its mode, and every directory above it searchable by others (a
 * 0700 home directory hides a 0755 program). ok_dir remembers the last
 * directory found searchable, since a process's files share a few. */
static bool proc_maps_others_can_read(const char *path, const struct stat *st, char *ok_dir, size_t ok_len)
{
	char dir[PATH_MAX];
	if (!(st->st_mode & S_IROTH))
		return false;
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n == 0 || n >= sizeof(dir))
		return n == 0; /* a file in "/" */
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (strcmp(dir, ok_dir) == 0)
		return true;
	for (size_t i = 1; i <= n; i++) {
		if (dir[i] != '/' && dir[i] != '\0')
			continue;
		char c = dir[i];
		struct stat ds;
		dir[i] = '\0';
		bool ok = stat(dir, &ds) == 0 && S_ISDIR(ds.st_mode) && (ds.st_mode & S_IXOTH);
		dir[i] = c;
		if (!ok)
			return false;
	}
	if (n < ok_len)
		memcpy(ok_dir, dir, n + 1);
	return true;
}

size_t proc_files_open_lost(pid_t pid, struct proc_file *out, size_t max)
{
	char ok_dir[PATH_MAX] = "";
	char name[64];
	size_t n = 0, lines = 0, cap = 0;
	char *line = NULL, *last = NULL;
	snprintf(name, sizeof(name), "/proc/%d/maps", (int)pid);
	struct rlimit rl;
	rlim_t fd_cap = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur / 2 : 512;
	FILE *f = fopen(name, "re");
	if (!f)
		return 0;
	while (n < max && lines++ < PROC_MAPS_LINES_MAX && getline(&line, &cap, f) > 0) {
		char *range, *path;
		if (!proc_maps_line(line, &range, &path))
			continue;
		bool deleted;
		path[path_undeleted_len(path, &deleted)] = '\0';
		/* Shared anonymous memory ("/dev/zero (deleted)") and memfds are
		 * regular files that were deleted, but no binary. */
		if (strncmp(path, "/dev/", 5) == 0 || strncmp(path, "/memfd:", 7) == 0)
			continue;
		/* A file's mappings come one after the other: judge each once. */
		if (last && strcmp(last, path) == 0)
			continue;
		free(last);
		last = strdup(path);
		if (!last)
			break;
		bool have = false;
		for (size_t i = 0; i < n && !have; i++)
			have = strcmp(out[i].path, path) == 0;
		if (have)
			continue;
		char mf[96];
		struct stat st;
		if (snprintf(mf, sizeof(mf), "/proc/%d/map_files/%s", (int)pid, range) >= (int)sizeof(mf))
			continue;
		/* A regular file only (never a device's open), and one the
		 * analysis would not reach by its path. */
		if (stat(mf, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (!deleted && proc_maps_others_can_read(path, &st, ok_dir, sizeof(ok_dir))))
			continue;
		int fd = open(mf, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			continue;
		/* Never the upper half of the descriptors: mortemd holds these
		 * for every crash in flight, and its accepts and the store need
		 * the rest (descriptors come lowest first). */
		if ((rlim_t)fd >= fd_cap) {
			(void)close(fd);
			break;
		}
		char *copy = strdup(path);
		if (!copy) {
			(void)close(fd);
			break;
		}
		out[n++] = (struct proc_file){ .path = copy, .fd = fd };
	}
	free(last);
	free(line);
	fclose(f);
	return n;
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
