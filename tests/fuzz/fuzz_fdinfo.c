/* libFuzzer harness for /proc/PID/fdinfo/N: the "Pid:" field the pidfd check
 * reads (capture/proc.c, proc_fdinfo_field), and the text as the "fds" item
 * keeps it: a fake /proc/2 with fd 3 whose fdinfo is the input, read by
 * proc_capture. A field's value lies inside the input, after its "\nKEY:",
 * and holds no newline nor NUL. Bounds: the kept fdinfo is at most
 * PROC_FDINFO_MAX (4096) bytes read, 3 bytes of UTF-8 each (U+FFFD);
 * "truncated" names "fds" exactly when the input is longer; the whole result
 * serializes within 6 * 4096 + 16K. */
#include <stddef.h>
#include <stdint.h>

#include "capture/proc.h"
#include "fuzzproc.h"

#define FUZZ_FDINFO_CAP 4096 /* PROC_FDINFO_MAX in proc.c */

static void fuzz_field(const char *b, size_t size, const char *key)
{
	const char *v = NULL;
	size_t n = 0;

	if (proc_fdinfo_field(b, size, key, &v, &n) < 0)
		return;
	size_t klen = strlen(key);
	if (v < b + klen + 2 || v + n > b + size || memchr(v, '\n', n) || memchr(v, '\0', n))
		abort();
	const char *k = memmem(b, size, key, klen); /* some "\nKEY:" is before v */
	if (!k || k >= v)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *b = fuzz_proc_text(data, size);

	fuzz_field(b, size, "Pid");
	fuzz_field(b, size, "flags");
	json_object *t = proc_ctx_json_text(b, size);
	if (!t)
		abort();
	if ((size_t)json_object_get_string_len(t) > 3 * size)
		abort();
	fuzz_json_check(t, 6 * size + 2);
	json_object_put(t);
	free(b);

	static char path[512];
	if (!path[0]) {
		char fd[512];
		(void)fuzz_proc_root();
		fuzz_mkdir("proc/2");
		fuzz_mkdir("proc/2/fd");
		fuzz_mkdir("proc/2/fdinfo");
		fuzz_path(fd, sizeof(fd), "proc/2/fd", "3");
		if (symlink("/dev/null", fd) < 0)
			abort();
		fuzz_path(path, sizeof(path), "proc/2/fdinfo", "3");
	}
	fuzz_write(path, data, size);
	json_object *o = fuzz_proc_capture(2, 64 * 1024, FUZZ_FDINFO_CAP), *fds, *info, *tr;
	if (!json_object_object_get_ex(o, "fds", &fds) || json_object_array_length(fds) != 1 ||
	    !json_object_object_get_ex(json_object_array_get_idx(fds, 0), "fdinfo", &info) ||
	    !json_object_is_type(info, json_type_string))
		abort();
	size_t kept = size < FUZZ_FDINFO_CAP ? size : FUZZ_FDINFO_CAP;
	if ((size_t)json_object_get_string_len(info) > 3 * kept)
		abort();
	if (!json_object_object_get_ex(o, "truncated", &tr) || fuzz_has_str(tr, "fds") != (size > FUZZ_FDINFO_CAP))
		abort();
	json_object_put(o);
	fuzz_fd_check();
	return 0;
}
