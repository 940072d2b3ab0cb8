/* an_abort: an assert() that fails in check_invariants (main → run_checks →
 * check_invariants → __assert_fail → abort), for the analysis tests. */
#include <assert.h>
#include <stdio.h>

static volatile int balance = -1;

__attribute__((noinline)) void check_invariants(void)
{
	assert(balance >= 0);
	balance++;
}

__attribute__((noinline)) void run_checks(void)
{
	check_invariants();
	balance++;
}

int main(void)
{
	run_checks();
	return 2;
}
