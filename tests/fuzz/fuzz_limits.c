/* libFuzzer harness for /proc/PID/limits (capture/proc.c, proc_limits_parse):
 * the input is the limits text. NULL is an answer (the capture keeps the text
 * as it was); an array has at most PROC_LIMITS_MAX (64) rows, each with a
 * non-empty name and soft and hard values. Bound: an input byte is at most 6
 * bytes of JSON, a row adds at most 50 of its own ({"name":"","soft":"",
 * "hard":"","units":null},), so 6 * size + 64 * 50 + 2. */
#include <stddef.h>
#include <stdint.h>

#include "fuzzproc.h"

#define FUZZ_LIMITS_ROWS 64 /* PROC_LIMITS_MAX in proc.c */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_ctx c;
	char *b = fuzz_proc_text(data, size);

	fuzz_proc_ctx(&c);
	json_object *a = proc_limits_parse(&c, b, size);
	if (a) {
		size_t n = json_object_array_length(a);
		if (n > FUZZ_LIMITS_ROWS)
			abort();
		for (size_t i = 0; i < n; i++) {
			json_object *row = json_object_array_get_idx(a, i), *v;
			if (!json_object_object_get_ex(row, "name", &v) || !json_object_get_string_len(v))
				abort();
			if (!json_object_object_get_ex(row, "soft", &v) || !json_object_get_string_len(v) ||
			    !json_object_object_get_ex(row, "hard", &v) || !json_object_get_string_len(v) ||
			    !json_object_object_get_ex(row, "units", NULL))
				abort();
		}
		fuzz_json_check(a, 6 * size + FUZZ_LIMITS_ROWS * 50 + 2);
		json_object_put(a);
	}
	free(b);
	fuzz_proc_ctx_free(&c);
	return 0;
}
