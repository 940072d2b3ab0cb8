/* Shared by the libFuzzer harnesses: a private directory per process, files
 * written into it, and a check that no descriptor leaks between inputs. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A directory of this process's own, made once (removed by nobody: it is
 * small and under TMPDIR). */
static inline const char *fuzz_dir(void)
{
	static char dir[256];
	if (!dir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/mortem-fuzz.XXXXXX", t && t[0] ? t : "/tmp");
		if (!mkdtemp(dir))
			abort();
	}
	return dir;
}

/* DIR/SUB/NAME (DIR/NAME when SUB is "") into out; aborts when it does not fit. */
static inline void fuzz_path(char *out, size_t outlen, const char *sub, const char *name)
{
	if ((size_t)snprintf(out, outlen, "%s%s%s/%s", fuzz_dir(), sub[0] ? "/" : "", sub, name) >= outlen)
		abort();
}

static inline void fuzz_mkdir(const char *sub)
{
	char p[512];
	fuzz_path(p, sizeof(p), "", sub);
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		abort();
}

/* Write the input into path (replacing it); any failure is the harness's. */
static inline void fuzz_write(const char *path, const void *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const unsigned char *p = data;
	if (fd < 0)
		abort();
	while (size > 0) {
		ssize_t n = write(fd, p, size);
		if (n <= 0)
			abort();
		p += n;
		size -= (size_t)n;
	}
	close(fd);
}

/* The lowest free descriptor: when it creeps up from input to input, the code
 * under test leaks descriptors. Call once per input; aborts past a slack. */
static inline void fuzz_fd_check(void)
{
	static int base = -1;
	int fd = dup(0);
	if (fd < 0)
		abort();
	close(fd);
	if (base < 0)
		base = fd;
	else if (fd > base + 16)
		abort();
}
