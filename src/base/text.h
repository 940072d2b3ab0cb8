/* text.h: the one rule for strings a person reads on a terminal.
 *
 * mortem runs as root over strings a crashed process chose (its name, command
 * line, executable path, unit, cgroup, thread names, function and file names
 * from its debug info). Printed raw, such a string could clear root's
 * terminal, set its title, move the cursor or start a line of its own (a
 * forged row); bidi overrides could reorder what the eye reads ("Trojan
 * Source"). Every such string goes through text_ before it is printed.
 *
 * The rule: valid, printable UTF-8 passes unchanged; these become \xHH, one
 * per byte (two lower-case hex digits), so nothing is lost and the width
 * stays bounded (at most TEXT_ESCAPE_GROWTH times the input):
 *   - C0 controls 0x00-0x1f (newline, tab and escape too) and DEL 0x7f;
 *   - any byte that is not part of valid UTF-8 (raw 0x80-0xff, C1 included;
 *     truncated sequences, overlong forms such as C0 80, surrogates such as
 *     ED A0 80, code points past U+10FFFF): the byte alone, decoding goes on
 *     at the next one;
 *   - valid UTF-8 for the C1 controls U+0080-U+009F (C2 80 .. C2 9F), the
 *     line and paragraph separators U+2028, U+2029, the bidi controls
 *     U+061C, U+200E, U+200F, U+202A-U+202E and U+2066-U+2069: each byte of
 *     the character.
 * A backslash stands for itself: "\x1b" in the output may be four characters
 * of the name; --json gives the exact string.
 *
 * JSON output does not go through here: json-c escapes control characters
 * itself, and a second escaping would change the string. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define TEXT_ESCAPE_GROWTH 4 /* an input byte is at most this many output bytes ("\xHH") */

/* The length of the next character of s (1 to 4 bytes; s not at its NUL)
 * and, in *printable, whether it passes unchanged (else each of its bytes is
 * escaped). */
size_t text_char(const char *s, bool *printable);

/* The escaped form of s into buf (len bytes), NUL-terminated when len > 0;
 * never cuts an escape or a character in two. Returns the length of the
 * whole escaped form (as snprintf does): the output was cut when it is >= len.
 * s NULL is the empty string. */
size_t text_escape_buf(const char *s, char *buf, size_t len);

/* The escaped form of s on the heap (NULL when out of memory). */
char *text_escape(const char *s);

/* fputs of the escaped form of s (nothing when s is NULL). */
void text_fputs(const char *s, FILE *f);

/* Columns of the escaped form: one per character passed, four per byte
 * escaped (double-width characters are counted as one). */
size_t text_width(const char *s);

/* The escaped form of s cut to at most width columns, ending in "..." when
 * cut (width < 3: dots only); never cuts an escape or a character in two. buf
 * is always NUL-terminated (len > 0); a buf too small cuts sooner. */
void text_truncate(const char *s, size_t width, char *buf, size_t len);
