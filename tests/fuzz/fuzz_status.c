/* libFuzzer harness for /proc/PID/status (capture/proc.c, proc_status_parse):
 * the input is the status text, parsed whole and as cut at the item's cap.
 * Bound: an input byte is at most 6 bytes of JSON (a control byte as \u00XX,
 * an invalid one as U+FFFD), each line kept adds at most 6 of punctuation
 * ("":"",), and a line kept has at least 2 bytes ("k:"), its newline a 3rd:
 * so at most 8 * size + 2 bytes. Every key is a line's text before its first
 * ':', and no key is there twice. */
#include <stddef.h>
#include <stdint.h>

#include "fuzzproc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_ctx c;

	fuzz_proc_ctx(&c);
	for (int cut = 0; cut < 2; cut++) {
		char *b = fuzz_proc_text(data, size);
		json_object *st = proc_status_parse(&c, b, size, cut);
		if (!st)
			abort();
		size_t lines = 1;
		for (size_t i = 0; i < size; i++)
			lines += data[i] == '\n';
		if ((size_t)json_object_object_length(st) > lines)
			abort();
		fuzz_json_check(st, 8 * size + 2);
		json_object_put(st);
		free(b);
	}
	fuzz_proc_ctx_free(&c);
	return 0;
}
