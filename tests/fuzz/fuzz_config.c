/* libFuzzer harness for the configuration parser (base/config.c): the input is
 * a mortem.conf, loaded from a file of this process's own directory. Every
 * warning must be a string; the result 0, -EINVAL (a value rejected) or
 * -EFBIG (file over the limit). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "fuzzutil.h"

static void fuzz_warn(void *userdata, const char *msg)
{
	(void)userdata;
	if (!msg)
		abort();
	(void)strlen(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[512];
	struct mortem_config c;

	if (!path[0])
		fuzz_path(path, sizeof(path), "", "mortem.conf");
	fuzz_write(path, data, size);
	if (config_init(&c) < 0)
		abort();
	int r = config_load(&c, path, fuzz_warn, NULL);
	if (r < 0 && r != -EINVAL && r != -EFBIG && r != -ENOMEM)
		abort();
	config_free(&c);
	fuzz_fd_check();
	return 0;
}
