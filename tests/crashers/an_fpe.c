/* an_fpe: an integer division by zero in compute_ratio (main → compute_ratio),
 * for the analysis tests. The operands are volatile so that the idiv stays. */
#include <stdio.h>

static volatile int numerator = 7, denominator;
static volatile int sink;

__attribute__((noinline)) int compute_ratio(void)
{
	int n = numerator, d = denominator;
	return n / d;
}

int main(void)
{
	sink = compute_ratio();
	return 2;
}
