/* libFuzzer harness for the cgroup name parser (capture/cgroup.c): the input is
 * a /proc/PID/cgroup text. A unit found ends in .service or .scope, a slice in
 * .slice. */
#include <stddef.h>
#include <stdint.h>

#include "capture/cgroup.h"
#include "fuzzutil.h"

static int fuzz_ends(const char *s, const char *sfx)
{
	size_t n = strlen(s), k = strlen(sfx);
	return n >= k && strcmp(s + n - k, sfx) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *unit = NULL, *slice = NULL;
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	if (cgroup_unit(text, &unit, &slice) == 0) {
		if (unit && !fuzz_ends(unit, ".service") && !fuzz_ends(unit, ".scope"))
			abort();
		if (slice && !fuzz_ends(slice, ".slice"))
			abort();
	}
	free(unit);
	free(slice);
	free(text);
	return 0;
}
