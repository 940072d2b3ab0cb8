/* libFuzzer harness for /proc/PID/maps: the line parser (capture/proc_maps.c,
 * proc_maps_line) on each line, then the whole lost-files scan
 * (proc_maps_open_lost) over a fake /proc/PID of ours: map_files/ has regular
 * files for the ranges 1000-2000 (0644), 3000-4000 (0600) and 5000-6000
 * (0644), root/ a few directories, some searchable by others and some not, so
 * that the path judgement (the " (deleted)" suffix, the seen set, the walk
 * from root/ one directory at a time, the depth cap) runs on the input's
 * paths. Checks: a line's range and path lie inside it, the path starts with
 * '/'; at most max files are handed back, each with a path from the input,
 * no newline in it, and an open descriptor (closed here, and no descriptor
 * leaks from input to input); "map_files" counts no more lines than the input
 * has and no more paths than PROC_FILES_PATHS_MAX; the summary serializes
 * within a fixed 1K, whatever the input's size. */
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "capture/proc_maps.h"
#include "fuzzproc.h"

static int fuzz_maps_dir(void)
{
	static int fd = -1;
	static const char *const dirs[] = { "maps",         "maps/map_files",  "maps/root",        "maps/root/usr",
					    "maps/root/usr/bin", "maps/root/home", "maps/root/home/u", "maps/root/a",
					    "maps/root/a/b" };
	static const char *const files[] = { "1000-2000", "3000-4000", "5000-6000" };
	char p[512];

	if (fd >= 0)
		return fd;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		fuzz_mkdir(dirs[i]);
	fuzz_path(p, sizeof(p), "", "maps/root/home");
	if (chmod(p, 0700) < 0)
		abort();
	fuzz_path(p, sizeof(p), "", "maps/root/a/b");
	if (chmod(p, 0711) < 0)
		abort();
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		fuzz_path(p, sizeof(p), "maps/map_files", files[i]);
		fuzz_write(p, "\177ELF", 4);
		if (chmod(p, i == 1 ? 0600 : 0644) < 0)
			abort();
	}
	fuzz_path(p, sizeof(p), "", "maps");
	fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		abort();
	return fd;
}

static int64_t fuzz_get_int(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		abort();
	return json_object_get_int64(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_file f[PROC_FILES_MAX];
	struct proc_ctx c;
	size_t lines = 0, n = 0;
	char *b = fuzz_proc_text(data, size);

	/* the line parser alone: a line is its bytes up to a newline or a NUL */
	for (size_t i = 0; i < size;) {
		char *line = b + i, *range = NULL, *path = NULL;
		size_t llen = strcspn(line, "\n");
		line[llen] = '\0';
		if (proc_maps_line(line, &range, &path)) {
			if (range != line || path <= line || path > line + llen || path[0] != '/')
				abort();
		}
		i += llen + 1;
	}
	free(b);
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';

	fuzz_proc_ctx(&c);
	c.dirfd = fuzz_maps_dir();
	b = fuzz_proc_text(data, size);
	proc_maps_open_lost(&c, b, size, false, f, PROC_FILES_MAX, &n);
	free(b);
	if (n > PROC_FILES_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (f[i].fd < 0 || fcntl(f[i].fd, F_GETFD) < 0 || f[i].path[0] != '/' || strchr(f[i].path, '\n') ||
		    !memmem(data, size, f[i].path, strlen(f[i].path)))
			abort();
	}
	proc_files_close(f, n);
	json_object *mf;
	if (!json_object_object_get_ex(c.obj, "map_files", &mf))
		abort();
	if (fuzz_get_int(mf, "lines") > (int64_t)lines || fuzz_get_int(mf, "paths") > PROC_FILES_PATHS_MAX ||
	    fuzz_get_int(mf, "opened") != (int64_t)n || fuzz_get_int(mf, "too_deep") > fuzz_get_int(mf, "paths"))
		abort();
	fuzz_json_check(c.obj, 1024);
	fuzz_proc_ctx_free(&c);
	fuzz_fd_check();
	return 0;
}
