/* text.c: the one escaping rule for what a person reads. Every class the
 * rule names (C0, DEL, raw C1, UTF-8 C1, invalid UTF-8: stray continuation
 * bytes, truncated sequences, overlong forms, surrogates, past U+10FFFF; the
 * separators and bidi controls), the boundaries either side of each, the
 * bound on growth, and the cut forms (buffer, columns). The output is checked
 * with glibc's own UTF-8 decoder, not text.c's. */
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "testutil.h"
#include "base/text.h"

/* out is valid UTF-8 (by glibc's decoder), holds no C0 control but '\n', no
 * DEL, no C1 control, no separator or bidi control, and has lines newlines.
 * The offset of the first offence, else -1 (no ck_assert in here: check
 * reports each one to its parent, too slow for the exhaustive loops). */
static long terminal_unsafe_at(const char *out, size_t lines)
{
	static locale_t loc;
	mbstate_t st;
	size_t nl = 0, len = strlen(out);
	long bad = -1;

	if (!loc)
		loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (!loc)
		return 0;
	locale_t old = uselocale(loc);
	memset(&st, 0, sizeof(st));
	for (size_t i = 0; i < len && bad < 0;) {
		wchar_t wc;
		size_t k = mbrtowc(&wc, out + i, len - i, &st);
		uint32_t c = (uint32_t)wc;
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0 ||
		    !(c == '\n' || (c >= 0x20 && c != 0x7f && !(c >= 0x80 && c <= 0x9f) && c != 0x061c && c != 0x200e &&
				    c != 0x200f && !(c >= 0x2028 && c <= 0x202e) && !(c >= 0x2066 && c <= 0x2069)))) {
			bad = (long)i;
			break;
		}
		nl += c == '\n';
		i += k;
	}
	uselocale(old);
	if (bad < 0 && nl != lines)
		bad = (long)len;
	return bad;
}

static void assert_terminal_safe(const char *out, size_t lines)
{
	long at = terminal_unsafe_at(out, lines);
	ck_assert_msg(at < 0, "not terminal-safe at byte %ld (or not %zu lines): \"%s\"", at, lines, out);
}

static void expect(const char *in, const char *want)
{
	char *got = text_escape(in);
	ck_assert_ptr_nonnull(got);
	ck_assert_msg(strcmp(got, want) == 0, "escape: got \"%s\", expected \"%s\"", got, want);
	ck_assert_uint_le(strlen(got), TEXT_ESCAPE_GROWTH * strlen(in));
	ck_assert_uint_le(text_width(in), strlen(want)); /* a passed character is one column */
	free(got);
}

START_TEST(test_ascii)
{
	char in[2] = { 0 }, want[8];
	for (int c = 0x20; c < 0x7f; c++) {
		in[0] = (char)c;
		expect(in, in);
	}
	for (int c = 0x01; c < 0x20; c++) {
		in[0] = (char)c;
		snprintf(want, sizeof(want), "\\x%02x", c);
		expect(in, want);
	}
	expect("\x7f", "\\x7f");
	expect("a\nb", "a\\x0ab");
	expect("\r\t\033\a", "\\x0d\\x09\\x1b\\x07");
	expect("", "");
	char *none = text_escape(NULL);
	ck_assert_ptr_nonnull(none);
	ck_assert_str_eq(none, "");
	free(none);
}
END_TEST

/* Every byte 0x80-0xff alone is invalid UTF-8: escaped, C1 included. */
START_TEST(test_raw_high_bytes)
{
	char in[4] = { 0 }, want[16];
	for (int c = 0x80; c <= 0xff; c++) {
		in[0] = (char)c;
		snprintf(want, sizeof(want), "\\x%02x", c);
		expect(in, want);
		/* and a lead byte before a NUL or ASCII never eats what follows */
		in[1] = 'A';
		snprintf(want, sizeof(want), "\\x%02xA", c);
		expect(in, want);
		in[1] = '\0';
	}
}
END_TEST

START_TEST(test_utf8_c1)
{
	char in[3] = { (char)0xc2, 0, 0 }, want[16];
	for (int c = 0x80; c <= 0x9f; c++) {
		in[1] = (char)c;
		snprintf(want, sizeof(want), "\\xc2\\x%02x", c);
		expect(in, want);
	}
	expect("\xc2\xa0", "\xc2\xa0"); /* U+00A0, the first after C1 */
	expect("\xc2\xbf", "\xc2\xbf");
	expect("é ← 日本 😀", "é ← 日本 😀");
}
END_TEST

/* The edges of the well-formed table: the first and last of each range pass,
 * one step outside is escaped byte by byte. */
START_TEST(test_boundaries)
{
	expect("\xdf\xbf", "\xdf\xbf");             /* U+07FF */
	expect("\xe0\xa0\x80", "\xe0\xa0\x80");     /* U+0800 */
	expect("\xe0\x9f\xbf", "\\xe0\\x9f\\xbf");  /* overlong U+07FF */
	expect("\xc0\x80", "\\xc0\\x80");           /* overlong NUL */
	expect("\xc1\xbf", "\\xc1\\xbf");           /* overlong U+007F */
	expect("\xc0\xaf", "\\xc0\\xaf");           /* overlong '/' */
	expect("\xed\x9f\xbf", "\xed\x9f\xbf");     /* U+D7FF */
	expect("\xed\xa0\x80", "\\xed\\xa0\\x80");  /* surrogate U+D800 */
	expect("\xed\xbf\xbf", "\\xed\\xbf\\xbf");  /* surrogate U+DFFF */
	expect("\xee\x80\x80", "\xee\x80\x80");     /* U+E000 */
	expect("\xef\xbf\xbf", "\xef\xbf\xbf");     /* U+FFFF */
	expect("\xf0\x90\x80\x80", "\xf0\x90\x80\x80");        /* U+10000 */
	expect("\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf");    /* overlong U+FFFF */
	expect("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");        /* U+10FFFF */
	expect("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");    /* U+110000 */
	expect("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
	expect("\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80"); /* 5-byte form */
	expect("\xfe\xff", "\\xfe\\xff");
}
END_TEST

START_TEST(test_truncated_sequences)
{
	expect("truncated \xe2\x86", "truncated \\xe2\\x86");
	expect("\xe2\x86" "A", "\\xe2\\x86A");
	expect("\xf0\x9f\x98", "\\xf0\\x9f\\x98");
	expect("\xf0\x9f\x98" "\xe2\x86\x90", "\\xf0\\x9f\\x98←");  /* the next whole character survives */
	expect("\xc2", "\\xc2");
	expect("\xc2\xc2\xa0", "\\xc2\xc2\xa0");
	expect("\x80\xbf", "\\x80\\xbf"); /* continuations alone */
}
END_TEST

START_TEST(test_separators_and_bidi)
{
	static const char *const bad[] = {
		"\xe2\x80\xa8", "\xe2\x80\xa9",                                 /* U+2028, U+2029 */
		"\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac", "\xe2\x80\xad", "\xe2\x80\xae", /* U+202A-E */
		"\xe2\x81\xa6", "\xe2\x81\xa7", "\xe2\x81\xa8", "\xe2\x81\xa9", /* U+2066-9 */
		"\xe2\x80\x8e", "\xe2\x80\x8f", "\xd8\x9c",                     /* LRM, RLM, ALM */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[32] = "";
		for (const char *p = bad[i]; *p; p++)
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "\\x%02x", (unsigned char)*p);
		expect(bad[i], want);
	}
	/* their neighbours pass */
	expect("\xe2\x80\xa7", "\xe2\x80\xa7"); /* U+2027 */
	expect("\xe2\x80\xaf", "\xe2\x80\xaf"); /* U+202F */
	expect("\xe2\x81\xa5", "\xe2\x81\xa5"); /* U+2065 */
	expect("\xe2\x81\xaa", "\xe2\x81\xaa"); /* U+206A */
	expect("\xe2\x80\x8d", "\xe2\x80\x8d"); /* U+200D */
}
END_TEST

/* Every one- and two-byte string, and every three-byte string led by
 * E0-EF or a C1/ASCII byte, escapes to terminal-safe text no more than 4x
 * as long. */
START_TEST(test_exhaustive_short)
{
	char in[4] = { 0 }, out[64];
	size_t worst = 0, unsafe = 0;
	for (int a = 1; a < 256; a++)
		for (int b = 0; b < 256; b++) {
			in[0] = (char)a;
			in[1] = (char)b;
			in[2] = 0;
			size_t n = text_escape_buf(in, out, sizeof(out));
			worst = n > worst ? n : worst;
			unsafe += terminal_unsafe_at(out, 0) >= 0;
		}
	ck_assert_uint_eq(unsafe, 0);
	ck_assert_uint_le(worst, TEXT_ESCAPE_GROWTH * 2);
	worst = 0;
	for (int a = 0xe0; a <= 0xef; a++)
		for (int b = 0x80; b < 0xc0; b++)
			for (int c = 1; c < 256; c++) {
				in[0] = (char)a;
				in[1] = (char)b;
				in[2] = (char)c;
				size_t n = text_escape_buf(in, out, sizeof(out));
				worst = n > worst ? n : worst;
				unsafe += terminal_unsafe_at(out, 0) >= 0;
			}
	ck_assert_uint_eq(unsafe, 0);
	ck_assert_uint_le(worst, TEXT_ESCAPE_GROWTH * 3);
}
END_TEST

#define HOSTILE "\033[2J\033]0;owned\a\033[1;31mFAKE\033[0m\nTIME x\xc2\x9b" "31m\xe2\x80\xae" "gpj.exe\r\x9b\x7f"

START_TEST(test_hostile_forms)
{
	char buf[512], small[12];
	char *e = text_escape(HOSTILE);

	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e, "\\x1b[2J\\x1b]0;owned\\x07\\x1b[1;31mFAKE\\x1b[0m\\x0aTIME x\\xc2\\x9b31m\\xe2\\x80\\xae"
			    "gpj.exe\\x0d\\x9b\\x7f");
	assert_terminal_safe(e, 0);
	/* the buffer form says how long the whole is, and never cuts "\xHH" */
	ck_assert_uint_eq(text_escape_buf(HOSTILE, buf, sizeof(buf)), strlen(e));
	ck_assert_str_eq(buf, e);
	ck_assert_uint_eq(text_escape_buf(HOSTILE, small, sizeof(small)), strlen(e));
	ck_assert_str_eq(small, "\\x1b[2J\\x1b");
	ck_assert_uint_eq(text_escape_buf("ab", small, 1), 2);
	ck_assert_str_eq(small, "");
	ck_assert_uint_eq(text_escape_buf("ab", NULL, 0), 2);
	/* the FILE form writes the same bytes */
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	text_fputs(HOSTILE, f);
	text_fputs(NULL, f);
	fclose(f);
	ck_assert_str_eq(mem, e);
	ck_assert_uint_eq(text_width(HOSTILE), strlen(e));
	ck_assert_uint_eq(text_width("a ← b"), 5);
	free(mem);
	free(e);
}
END_TEST

START_TEST(test_truncate)
{
	char b[64];

	text_truncate("short", 60, b, sizeof(b));
	ck_assert_str_eq(b, "short");
	text_truncate("exactly ten", 11, b, sizeof(b));
	ck_assert_str_eq(b, "exactly ten");
	text_truncate("exactly ten", 10, b, sizeof(b));
	ck_assert_str_eq(b, "exactly...");
	/* UTF-8: "←" is one column of three bytes, never split */
	text_truncate("a ← b ← c", 9, b, sizeof(b));
	ck_assert_str_eq(b, "a ← b ← c");
	text_truncate("a ← b ← c", 7, b, sizeof(b));
	ck_assert_str_eq(b, "a ← ...");
	text_truncate("←←←←←←", 5, b, sizeof(b));
	ck_assert_str_eq(b, "←←...");
	/* control characters and stray bytes are escaped, then cut: an escape
	 * is four columns and never split */
	text_truncate("a\033[2Jb\tc\xff", 60, b, sizeof(b));
	ck_assert_str_eq(b, "a\\x1b[2Jb\\x09c\\xff");
	text_truncate("a\033[2Jb", 7, b, sizeof(b));
	ck_assert_str_eq(b, "a...");
	text_truncate("a\033[2Jb", 8, b, sizeof(b));
	ck_assert_str_eq(b, "a\\x1b...");
	text_truncate("truncated \xe2\x86", 60, b, sizeof(b));
	ck_assert_str_eq(b, "truncated \\xe2\\x86");
	/* tiny widths and buffers */
	text_truncate("abcdef", 2, b, sizeof(b));
	ck_assert_str_eq(b, "..");
	text_truncate("abcdef", 0, b, sizeof(b));
	ck_assert_str_eq(b, "");
	text_truncate("abcdef", 60, b, 4);
	ck_assert_str_eq(b, "abc");
	text_truncate("\033abc", 60, b, 4);
	ck_assert_str_eq(b, "...");
	text_truncate(NULL, 60, b, sizeof(b));
	ck_assert_str_eq(b, "");
	text_truncate(HOSTILE, 30, b, sizeof(b));
	assert_terminal_safe(b, 0);
	ck_assert_uint_le(strlen(b), 30);
}
END_TEST

static Suite *text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_ascii);
	tcase_add_test(tc, test_raw_high_bytes);
	tcase_add_test(tc, test_utf8_c1);
	tcase_add_test(tc, test_boundaries);
	tcase_add_test(tc, test_truncated_sequences);
	tcase_add_test(tc, test_separators_and_bidi);
	tcase_add_test(tc, test_exhaustive_short);
	tcase_add_test(tc, test_hostile_forms);
	tcase_add_test(tc, test_truncate);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(text_suite());
}
