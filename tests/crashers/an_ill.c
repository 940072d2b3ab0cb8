/* an_ill: an illegal instruction (__builtin_trap, ud2) in unreachable_state
 * (main → dispatch → unreachable_state), for the analysis tests. */
static volatile int state = 3;

__attribute__((noinline)) void unreachable_state(void)
{
	if (state == 3)
		__builtin_trap();
	state++;
}

__attribute__((noinline)) void dispatch(void)
{
	unreachable_state();
	state++;
}

int main(void)
{
	dispatch();
	return 2;
}
