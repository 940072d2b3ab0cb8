/* text.c: the escaping of strings a person reads (the rule is in text.h).
 *
 * The decoder is strict UTF-8 (RFC 3629, the Unicode table of well-formed
 * sequences): a lead byte says how many continuation bytes follow and the
 * first of them has a narrower range after E0 (no overlong), ED (no
 * surrogates), F0 (no overlong) and F4 (nothing past U+10FFFF). Anything else
 * is one byte to escape, so a bad sequence can never swallow the byte after
 * it, however it is cut. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"

/* Valid UTF-8 for a character that must not reach a terminal as it is: the
 * C1 controls (a terminal may take U+009B as CSI), the separators that start
 * a line of their own, and the bidi controls that reorder what is read. */
static bool text_forbidden(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f || cp == 0x2028 ||
	       cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

static bool text_cont(unsigned char c, unsigned char lo, unsigned char hi)
{
	return c >= lo && c <= hi;
}

size_t text_char(const char *s, bool *printable)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char c = u[0];
	uint32_t cp;

	if (c < 0x80) {
		*printable = c >= 0x20 && c != 0x7f;
		return 1;
	}
	*printable = false;
	if (c >= 0xc2 && c <= 0xdf) {
		if (!text_cont(u[1], 0x80, 0xbf))
			return 1;
		cp = (uint32_t)(c & 0x1f) << 6 | (u[1] & 0x3f);
		*printable = !text_forbidden(cp);
		return 2;
	}
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		/* u[2] is read only when u[1] was a continuation, not the NUL. */
		if (!text_cont(u[1], lo, hi) || !text_cont(u[2], 0x80, 0xbf))
			return 1;
		cp = (uint32_t)(c & 0x0f) << 12 | (uint32_t)(u[1] & 0x3f) << 6 | (u[2] & 0x3f);
		*printable = !text_forbidden(cp);
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		if (!text_cont(u[1], lo, hi) || !text_cont(u[2], 0x80, 0xbf) || !text_cont(u[3], 0x80, 0xbf))
			return 1;
		*printable = true;
		return 4;
	}
	return 1; /* a continuation byte alone, C0, C1, F5-FF */
}

/* The next character of s as it is printed: into piece (>= 17 bytes), its
 * length returned; *cols, its columns. */
static size_t text_piece(const char *s, size_t *n, char *piece, size_t *cols)
{
	static const char hex[] = "0123456789abcdef";
	bool ok;
	size_t k = text_char(s, &ok), len = 0;

	*n = k;
	if (ok) {
		memcpy(piece, s, k);
		*cols = 1;
		return k;
	}
	for (size_t i = 0; i < k; i++) {
		unsigned char c = (unsigned char)s[i];
		piece[len++] = '\\';
		piece[len++] = 'x';
		piece[len++] = hex[c >> 4];
		piece[len++] = hex[c & 0xf];
	}
	*cols = len;
	return len;
}

size_t text_escape_buf(const char *s, char *buf, size_t len)
{
	size_t out = 0, total = 0, n, cols;
	bool full = false;
	char piece[4 * TEXT_ESCAPE_GROWTH + 1];

	if (len > 0)
		buf[0] = '\0';
	for (; s && *s; s += n) {
		size_t k = text_piece(s, &n, piece, &cols);
		total += k;
		if (full || out + k >= len) {
			full = true;
			continue;
		}
		memcpy(buf + out, piece, k);
		out += k;
		buf[out] = '\0';
	}
	return total;
}

char *text_escape(const char *s)
{
	size_t need = text_escape_buf(s, NULL, 0) + 1;
	char *buf = malloc(need);
	if (buf)
		(void)text_escape_buf(s, buf, need);
	return buf;
}

void text_fputs(const char *s, FILE *f)
{
	char piece[4 * TEXT_ESCAPE_GROWTH + 1];
	size_t n, cols;

	for (; s && *s; s += n) {
		size_t k = text_piece(s, &n, piece, &cols);
		(void)fwrite(piece, 1, k, f);
	}
}

size_t text_width(const char *s)
{
	char piece[4 * TEXT_ESCAPE_GROWTH + 1];
	size_t n, cols, w = 0;

	for (; s && *s; s += n) {
		(void)text_piece(s, &n, piece, &cols);
		w += cols;
	}
	return w;
}

void text_truncate(const char *s, size_t width, char *buf, size_t len)
{
	char piece[4 * TEXT_ESCAPE_GROWTH + 1];
	size_t out = 0, used = 0, n, cols;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (!s)
		return;
	size_t all = text_width(s);
	size_t keep = all <= width ? all : width > 3 ? width - 3 : 0;
	for (; *s; s += n) {
		size_t k = text_piece(s, &n, piece, &cols);
		if (used + cols > keep || out + k >= len)
			break;
		memcpy(buf + out, piece, k);
		out += k;
		used += cols;
	}
	for (size_t d = 0; *s && d < 3 && d < width && out + 1 < len; d++)
		buf[out++] = '.';
	buf[out] = '\0';
}
