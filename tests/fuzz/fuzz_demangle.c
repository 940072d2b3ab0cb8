/* libFuzzer harness for the demangling path (analysis/demangle.c): any bytes
 * as a symbol name, "_Z" or "_R" put in front half of the time so that the
 * demanglers see most inputs. Checks the result's contract. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/demangle.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char name[DEMANGLE_IN_MAX + 16], out[DEMANGLE_OUT_MAX + 1];
	size_t off = 0;
	if (n > 0 && (d[0] & 1)) {
		memcpy(name, (d[0] & 2) ? "_R" : "_Z", 2);
		off = 2;
		d++, n--;
	}
	if (n > sizeof(name) - off - 1)
		n = sizeof(name) - off - 1;
	memcpy(name + off, d, n);
	name[off + n] = '\0';
	int r = demangle_name(name, out, sizeof(out));
	if (r > 0 && (size_t)r != strlen(out))
		abort();
	if (r > DEMANGLE_OUT_MAX)
		abort();
	return 0;
}
