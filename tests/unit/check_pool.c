/* pool: fixed chunks of one shared mapping; never more than it was given, and
 * a forked child sees what the parent wrote (the worker reads the parent's
 * chunks). */
#include <string.h>
#include <sys/wait.h>

#include "daemon/pool.h"
#include "testutil.h"

START_TEST(test_chunks_are_bounded_and_reused)
{
	struct pool p;
	ck_assert_int_eq(pool_init(&p, 4 * (uint64_t)POOL_CHUNK + 100), 0);
	ck_assert_uint_eq(p.n, 4);
	int got[4];
	for (int i = 0; i < 4; i++) {
		got[i] = pool_get(&p);
		ck_assert_int_ge(got[i], 0);
		ck_assert_int_lt(got[i], 4);
		for (int j = 0; j < i; j++)
			ck_assert_int_ne(got[i], got[j]);
	}
	/* full: no fifth chunk, the pool does not grow */
	ck_assert_int_eq(pool_get(&p), -1);
	pool_put(&p, got[2]);
	ck_assert_int_eq(pool_get(&p), got[2]);
	/* nonsense is ignored, not stored */
	pool_put(&p, -1);
	pool_put(&p, 4);
	ck_assert_int_eq(pool_get(&p), -1);
	for (int i = 0; i < 4; i++)
		pool_put(&p, got[i]);
	ck_assert_uint_eq(p.n_free, 4);
	pool_put(&p, got[0]); /* more puts than chunks: still bounded */
	ck_assert_uint_eq(p.n_free, 4);
	pool_free(&p);
}
END_TEST

START_TEST(test_shared_with_a_forked_worker)
{
	struct pool p;
	ck_assert_int_eq(pool_init(&p, 2 * (uint64_t)POOL_CHUNK), 0);
	int k = pool_get(&p);
	unsigned char *c = pool_chunk(&p, k);
	memset(c, 0xab, POOL_CHUNK);
	c[POOL_CHUNK - 1] = 0x5a;
	pid_t pid = fork();
	if (pid == 0)
		_exit(c[0] == 0xab && c[POOL_CHUNK - 1] == 0x5a ? 0 : 1);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	pool_free(&p);
}
END_TEST

/* The spill rule, over a fake file system: SpillMax bounds the bytes promised
 * at once, KeepFree is never eaten into, the other spills count in full. */
START_TEST(test_spill_fits)
{
	const uint64_t M = 1u << 20, G = 1u << 30;
	ck_assert(pool_spill_fits(100 * M, 0, 8 * G, 10 * G, 4 * G));
	ck_assert(!pool_spill_fits(100 * M, 0, 0, 10 * G, 4 * G));           /* SpillMax=0 */
	ck_assert(!pool_spill_fits(0, 0, 8 * G, 10 * G, 4 * G));             /* nothing to spill */
	ck_assert(pool_spill_fits(8 * G, 0, 8 * G, 20 * G, 4 * G));          /* exactly SpillMax */
	ck_assert(!pool_spill_fits(8 * G + 1, 0, 8 * G, 20 * G, 4 * G));
	ck_assert(!pool_spill_fits(1 * G, 7 * G + 1, 8 * G, 20 * G, 4 * G)); /* others promised */
	ck_assert(pool_spill_fits(1 * G, 7 * G, 8 * G, 20 * G, 4 * G));
	ck_assert(pool_spill_fits(6 * G, 0, 8 * G, 10 * G, 4 * G));          /* up to KeepFree */
	ck_assert(!pool_spill_fits(6 * G + 1, 0, 8 * G, 10 * G, 4 * G));
	ck_assert(!pool_spill_fits(1 * G, 5 * G + 1, 8 * G, 10 * G, 4 * G)); /* others count */
	ck_assert(!pool_spill_fits(1, 0, 8 * G, 3 * G, 4 * G));              /* already under KeepFree */
	ck_assert(!pool_spill_fits(1, 9 * G, 8 * G, 100 * G, 0));           /* more promised than allowed */
	ck_assert(!pool_spill_fits(UINT64_MAX, 1, UINT64_MAX, UINT64_MAX, 0)); /* no wrap-around */
	ck_assert(pool_spill_fits(UINT64_MAX - 1, 1, UINT64_MAX, UINT64_MAX, 0));
}
END_TEST

START_TEST(test_default_size)
{
	uint64_t s = pool_default_size();
	ck_assert_uint_ge(s, POOL_CHUNK);
	ck_assert_uint_le(s, POOL_DEFAULT_MAX);
	struct pool p;
	ck_assert_int_eq(pool_init(&p, 0), 0); /* at least one chunk */
	ck_assert_uint_eq(p.n, 1);
	pool_free(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_chunks_are_bounded_and_reused);
	tcase_add_test(tc, test_shared_with_a_forked_worker);
	tcase_add_test(tc, test_default_size);
	tcase_add_test(tc, test_spill_fits);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
