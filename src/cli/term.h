/* term.h: mortem's output on a terminal, as coredumpctl's: the pager for
 * long output (less with systemd's LESS=FRSXMK) and the width of the
 * terminal, for columns sized to it with paths shortened in the middle. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define TERM_LESS_DEFAULT "FRSXMK" /* systemd's $SYSTEMD_LESS default */

/* The terminal's width when standard output is one: $COLUMNS, else
 * TIOCGWINSZ; 0 when standard output is not a terminal. */
size_t term_columns(void);

/* Pipe standard output into a pager: $MORTEM_PAGER, else $PAGER, else less
 * (then more); "cat" or an empty string is no pager. Nothing when disabled
 * or standard output is not a terminal. Returns 1 when a pager runs. */
int term_pager_open(bool disabled);
/* Flush, close the pipe and wait for the pager (it may still be showing). */
void term_pager_close(void);

/* s escaped (base/text.h) and, when wider than width columns, shortened in
 * the middle with "…", never inside an escape or a character; *ret_cols its
 * columns. NULL when out of memory. */
char *term_ellipsize(const char *s, size_t width, size_t *ret_cols);
/* f gets s (term_ellipsize at width) left-aligned in width columns (a wider
 * s when width is 0: then it is padded to min_width, whole). */
void term_put_column(FILE *f, const char *s, size_t width, size_t min_width);
