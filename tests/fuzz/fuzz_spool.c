/* libFuzzer harness for the spool's notes: the input is written as a pending
 * note (store/pending.c, read by pending_list with its lock held, so the note
 * is live) and as a parked note (store/park.c, park_read, with a 16-byte pool
 * file beside it). What is read must be released without leaks. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/file.h>

#include "store/park.h"
#include "store/pending.h"
#include "store/store.h"
#include "fuzzutil.h"

#include "fuzzids.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char spool[512], pending[512], parked[512];
	static struct store st;
	static int lock = -1;

	if (!spool[0]) {
		char p[512];
		fuzz_mkdir("spool");
		fuzz_path(spool, sizeof(spool), "", "spool");
		fuzz_path(pending, sizeof(pending), "spool", FUZZ_ID_PENDING ".pending");
		fuzz_path(parked, sizeof(parked), "spool", FUZZ_ID_PARKED PARK_SUFFIX);
		fuzz_path(p, sizeof(p), "spool", FUZZ_ID_PARKED PARK_POOL_SUFFIX);
		fuzz_write(p, FUZZ_POOL_BYTES, sizeof(FUZZ_POOL_BYTES) - 1);
		fuzz_path(p, sizeof(p), "spool", FUZZ_ID_PENDING ".lock");
		/* held by this descriptor: pending_list's own open sees it taken */
		if ((lock = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0)
			abort();
		st.spool_dir = spool;
	}
	fuzz_write(pending, data, size);
	json_object *arr = NULL;
	if (pending_list(&st, &arr) < 0)
		abort();
	struct index_filter f = { .match = "4242" };
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		(void)pending_match(json_object_array_get_idx(arr, i), &f, true);
	(void)pending_has_pid(arr, "4242");
	json_object_put(arr);
	if (unlink(pending) < 0)
		abort();

	struct park_crash pc;
	fuzz_write(parked, data, size);
	if (park_read(spool, FUZZ_ID_PARKED, &pc) == 0) {
		for (unsigned i = 0; i < pc.args.n_problems; i++)
			(void)strlen(pc.args.problems[i]);
		park_crash_free(&pc);
	}
	if (unlink(parked) < 0)
		abort();
	fuzz_fd_check();
	return 0;
}
