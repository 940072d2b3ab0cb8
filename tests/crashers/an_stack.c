/* an_stack: unbounded recursion in recurse_forever until the stack guard,
 * for the analysis tests. */
static volatile int sink;
static volatile int limit = 0x7fffffff; /* never reached: the stack ends first */

__attribute__((noinline)) int recurse_forever(int depth)
{
	volatile char pad[256];
	pad[depth & 255] = (char)depth;
	sink += pad[(depth * 7) & 255];
	if (depth < limit)
		return recurse_forever(depth + 1) + 1;
	return 0;
}

int main(void)
{
	return recurse_forever(0) ? 2 : 3;
}
