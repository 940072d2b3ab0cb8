/* Writes the elfcore corpus (see README) into the directory given. */
#include <stdio.h>

#include "corecorpus.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	int n = cc_corpus_write(argv[1]);
	if (n < 0) {
		fprintf(stderr, "gen_corpus: cannot write into '%s'\n", argv[1]);
		return 1;
	}
	printf("%d files\n", n);
	return 0;
}
