/* an_null: a NULL pointer write three calls below main, for the analysis tests.
 *
 *   an_null          main → parse_request → parse_header → read_field, which
 *                    writes through NULL
 *   an_null wait     print "ready <pid>", then block reading stdin; the first
 *                    byte read (or end of file) takes the same path to the crash
 *
 * Build with -DVARIANT=N to get a different build of the same program (another
 * build-id), as when a binary is replaced on disk while it runs.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef VARIANT
#define VARIANT 1
#endif

static volatile int sink = VARIANT;

__attribute__((noinline)) void read_field(int *field)
{
	sink++;
	*field = 42;
}

__attribute__((noinline)) void parse_header(const char *line)
{
	int *field = NULL;
	if (line && line[0] == '@')
		field = (int *)&sink;
	read_field(field);
	sink++;
}

__attribute__((noinline)) void parse_request(const char *req)
{
	parse_header(req);
	sink++;
}

int main(int argc, char **argv)
{
	char c = 0;
	if (argc > 1 && !strcmp(argv[1], "wait")) {
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		if (read(0, &c, 1) < 0)
			c = 0;
	}
	parse_request(c == '@' ? "x" : "GET / HTTP/1.0");
	return sink == VARIANT ? 3 : 2;
}
