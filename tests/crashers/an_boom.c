/* an_boom: a crash inside a shared library, for the analysis tests.
 *
 * One file, three builds:
 *   -DBOOM_LIB   (with -shared -fPIC): libboom.so, whose boom_crash() writes
 *                through NULL
 *   -DBOOM_MAIN  the program: main → call_into_lib → boom_crash in libboom.so
 *   neither      (make all) the same program with boom_crash linked in, so
 *                that the file builds on its own
 */
#include <stddef.h>

#ifndef BOOM_MAIN
static volatile int boom_sink;

__attribute__((noinline)) void boom_crash(int *where)
{
	boom_sink++;
	*where = boom_sink;
}
#else
void boom_crash(int *where);
#endif

#ifndef BOOM_LIB
__attribute__((noinline)) void call_into_lib(void)
{
	boom_crash(NULL);
}

int main(void)
{
	call_into_lib();
	return 2;
}
#endif
