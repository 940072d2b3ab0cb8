/* libFuzzer harness for /proc/PID/mountinfo: the capture keeps it as text
 * (capture/proc.c), made valid UTF-8 without NULs (proc_ctx_json_text) and
 * held to item_max. The input is the text of a fake /proc/1/mountinfo read by
 * proc_capture with an item_max of FUZZ_MOUNTINFO_CAP: the kept text is at
 * most 3 bytes of UTF-8 per byte read (U+FFFD), "truncated" names
 * "mountinfo" exactly when the input is longer than the cap, and the whole
 * result serializes within 6 * FUZZ_MOUNTINFO_CAP + 16K. */
#include <stddef.h>
#include <stdint.h>

#include "capture/proc.h"
#include "fuzzproc.h"

#define FUZZ_MOUNTINFO_CAP 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[512];
	json_object *v, *o;

	if (!path[0]) {
		(void)fuzz_proc_root();
		fuzz_mkdir("proc/1");
		fuzz_path(path, sizeof(path), "proc/1", "mountinfo");
	}
	fuzz_write(path, data, size);
	o = fuzz_proc_capture(1, FUZZ_MOUNTINFO_CAP, FUZZ_MOUNTINFO_CAP);
	if (!json_object_object_get_ex(o, "mountinfo", &v) || !json_object_is_type(v, json_type_string))
		abort();
	size_t kept = size < FUZZ_MOUNTINFO_CAP ? size : FUZZ_MOUNTINFO_CAP;
	if ((size_t)json_object_get_string_len(v) > 3 * kept || (kept > 0) != (json_object_get_string_len(v) > 0))
		abort();
	json_object *tr = NULL;
	if (!json_object_object_get_ex(o, "truncated", &tr) ||
	    fuzz_has_str(tr, "mountinfo") != (size > FUZZ_MOUNTINFO_CAP))
		abort();
	json_object_put(o);
	fuzz_fd_check();
	return 0;
}
