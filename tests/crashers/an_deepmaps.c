/* A hostile crash for the /proc capture: two world-readable files at the bottom
 * of two DEPTH-deep directory chains under DIR, each mapped executable COUNT
 * times, alternating (so that no "same path as the line before" shortcut
 * helps), then a SIGSEGV. Without bounds the capture judged every mapping's
 * path by stat()ing each directory above it while the process was held.
 *
 *   an_deepmaps DEPTH COUNT [DIR]     (DIR defaults to the current directory)
 *
 * Exits 2 on a bad argument or a failed set-up (the chains stay for the
 * caller's cleanup). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static long arg(const char *s, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > max) {
		fprintf(stderr, "an_deepmaps: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

/* DIR/<name>/d/d/.../d/f (depth directories below DIR/<name>); returns an fd of f. */
static int chain(int base, const char *name, long depth)
{
	int fd = -1, dir;
	if (mkdirat(base, name, 0755) < 0 && errno != EEXIST)
		return -1;
	dir = openat(base, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (long i = 0; dir >= 0 && i < depth; i++) {
		if (mkdirat(dir, "d", 0755) < 0 && errno != EEXIST)
			break;
		int next = openat(dir, "d", O_PATH | O_DIRECTORY | O_CLOEXEC);
		close(dir);
		dir = next;
	}
	if (dir < 0)
		return -1;
	fd = openat(dir, "f", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	close(dir);
	if (fd < 0 || fchmod(fd, 0644) < 0 || ftruncate(fd, 4096) < 0)
		return -1;
	return fd;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: an_deepmaps DEPTH COUNT [DIR]\n");
		return 2;
	}
	long depth = arg(argv[1], 2000), count = arg(argv[2], 30000);
	int base = open(argc > 3 ? argv[3] : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fa = base >= 0 ? chain(base, "a", depth) : -1;
	int fb = base >= 0 ? chain(base, "b", depth) : -1;
	if (fa < 0 || fb < 0) {
		perror("an_deepmaps: set-up");
		return 2;
	}
	for (long i = 0; i < count; i++)
		for (int k = 0; k < 2; k++)
			if (mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, k ? fb : fa, 0) == MAP_FAILED) {
				perror("an_deepmaps: mmap");
				return 2;
			}
	*(volatile int *)0 = 1;
	return 0;
}
