/* libFuzzer harness for the streaming head and the minicore writer: the input
 * is a core, fed through stream_core in two pieces (cut where its last bytes
 * say) with scrub strings, into a memfd minicore. Checks: the stream takes every
 * byte and never fails on memory input; the minicore never exceeds its bound
 * (MiniCoreMax bounds the whole file: no header allowance); a minicore that was
 * written parses as a core. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include "core/elfcore.h"
#include "core/minicore.h"
#include "core/stream.h"
#include "fuzzutil.h"

/* The bound: anywhere from the headers alone up to 1 MiB, as the input says,
 * so that every rounding of the layout meets it. */
static uint64_t fuzz_bound(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 65536;
	uint32_t x = (uint32_t)data[size / 2] << 16 | (uint32_t)data[size / 3] << 8 | data[size / 4];
	return 100 + x % (1u << 20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int mini = -1;
	static unsigned char *back;
	static const char *const secrets[] = { "MY_API_TOKEN=hunter2", "A=B", "PATH=/usr/bin:/bin", "X==" };
	struct iovec sc[4];

	if (mini < 0 && (mini = memfd_create("fuzz-mini", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(mini, 0) < 0)
		abort();
	for (size_t i = 0; i < 4; i++)
		sc[i] = (struct iovec){ (void *)secrets[i], strlen(secrets[i]) };
	size_t cut = size >= 2 ? ((size_t)data[size - 1] << 8 | data[size - 2]) % (size + 1) : 0;
	uint64_t bound = fuzz_bound(data, size);
	struct iovec pre[2] = { { (void *)data, cut }, { (void *)(data + cut), size - cut } };
	struct stream_opts o = { .pre = pre, .n_pre = 2, .mid_fd = -1, .in_fd = -1, .mini_fd = mini,
				 .mini_max = bound, .mini_stack_max = 16384, .mini_scrub = sc,
				 .n_mini_scrub = size ? data[0] % 5 : 0 };
	struct stream_result res;
	if (stream_core(&o, &res) < 0 || res.bytes != size)
		abort();
	struct stat st;
	if (fstat(mini, &st) < 0 || (uint64_t)st.st_size > bound)
		abort();
	if (res.mini) {
		if (res.mini_info.size > bound || (uint64_t)st.st_size != res.mini_info.size)
			abort();
		if (!back && !(back = malloc((1u << 20) + 1)))
			abort();
		if (pread(mini, back, (size_t)st.st_size, 0) != st.st_size)
			abort();
		struct elfcore_info *info = NULL;
		if (elfcore_parse(back, (size_t)st.st_size, &info) < 0)
			abort();
		elfcore_info_free(info);
	} else if (!res.mini_error) {
		abort();
	}
	fuzz_fd_check();
	return 0;
}
