/* parse.c: strict numbers, sizes, durations, times, booleans. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/parse.h"
#include "base/util.h" /* ARRAY_SIZE */
#include "testutil.h"

#define SENTINEL UINT64_C(0xdeadbeef)

/* Each rejected input must fail with the given errno and leave *ret alone. */
static void reject_u64(const char *s, int err)
{
	uint64_t v = SENTINEL;
	int r = parse_u64(s, &v);

	ck_assert_msg(r == err, "parse_u64(\"%s\") = %d, want %d", s, r, err);
	ck_assert_msg(v == SENTINEL, "parse_u64(\"%s\") wrote its out-parameter", s);
}

START_TEST(test_u64)
{
	uint64_t v;

	ck_assert_int_eq(parse_u64("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(parse_u64("42", &v), 0);
	ck_assert_uint_eq(v, 42);
	ck_assert_int_eq(parse_u64("007", &v), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(parse_u64("18446744073709551615", &v), 0);
	ck_assert(v == UINT64_MAX);

	reject_u64("18446744073709551616", -ERANGE);
	reject_u64("99999999999999999999999", -ERANGE);
	reject_u64("", -EINVAL);
	reject_u64(" 1", -EINVAL);
	reject_u64("\t1", -EINVAL);
	reject_u64("1 ", -EINVAL);
	reject_u64("1\n", -EINVAL);
	reject_u64("-1", -EINVAL);
	reject_u64("-0", -EINVAL);
	reject_u64("+1", -EINVAL);
	reject_u64("1x", -EINVAL);
	reject_u64("0x10", -EINVAL);
	reject_u64("1.0", -EINVAL);
	reject_u64("abc", -EINVAL);
	reject_u64(NULL, -EINVAL);
}
END_TEST

START_TEST(test_i64)
{
	int64_t v = 5;

	ck_assert_int_eq(parse_i64("-1", &v), 0);
	ck_assert_int_eq(v, -1);
	ck_assert_int_eq(parse_i64("0", &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(parse_i64("9223372036854775807", &v), 0);
	ck_assert(v == INT64_MAX);
	ck_assert_int_eq(parse_i64("-9223372036854775808", &v), 0);
	ck_assert(v == INT64_MIN);

	v = 5;
	ck_assert_int_eq(parse_i64("9223372036854775808", &v), -ERANGE);
	ck_assert_int_eq(parse_i64("-9223372036854775809", &v), -ERANGE);
	ck_assert_int_eq(parse_i64("+1", &v), -EINVAL);
	ck_assert_int_eq(parse_i64("-", &v), -EINVAL);
	ck_assert_int_eq(parse_i64("--1", &v), -EINVAL);
	ck_assert_int_eq(parse_i64("- 1", &v), -EINVAL);
	ck_assert_int_eq(parse_i64(" -1", &v), -EINVAL);
	ck_assert_int_eq(parse_i64("-1x", &v), -EINVAL);
	ck_assert_int_eq(parse_i64("", &v), -EINVAL);
	ck_assert_int_eq(v, 5);
}
END_TEST

START_TEST(test_u32_int)
{
	uint32_t u = 9;
	int i = 9;

	ck_assert_int_eq(parse_u32("4294967295", &u), 0);
	ck_assert_uint_eq(u, UINT32_MAX);
	ck_assert_int_eq(parse_u32("4294967296", &u), -ERANGE);
	ck_assert_int_eq(parse_u32("-1", &u), -EINVAL);
	ck_assert_uint_eq(u, UINT32_MAX);

	ck_assert_int_eq(parse_int("2147483647", &i), 0);
	ck_assert_int_eq(i, INT_MAX);
	ck_assert_int_eq(parse_int("-2147483648", &i), 0);
	ck_assert_int_eq(i, INT_MIN);
	ck_assert_int_eq(parse_int("2147483648", &i), -ERANGE);
	ck_assert_int_eq(parse_int("-2147483649", &i), -ERANGE);
	ck_assert_int_eq(parse_int("-7", &i), 0);
	ck_assert_int_eq(i, -7);
	ck_assert_int_eq(parse_int("1e3", &i), -EINVAL);
	ck_assert_int_eq(i, -7);
}
END_TEST

START_TEST(test_pid)
{
	pid_t p = 77;

	ck_assert_int_eq(parse_pid("1", &p), 0);
	ck_assert_int_eq(p, 1);
	ck_assert_int_eq(parse_pid("4194304", &p), 0);
	ck_assert_int_eq(p, 4194304);
	ck_assert_int_eq(parse_pid("4194305", &p), -ERANGE);
	ck_assert_int_eq(parse_pid("0", &p), -ERANGE);
	ck_assert_int_eq(parse_pid("-1", &p), -EINVAL);
	ck_assert_int_eq(parse_pid("12a", &p), -EINVAL);
	ck_assert_int_eq(parse_pid("", &p), -EINVAL);
	ck_assert_int_eq(parse_pid("18446744073709551617", &p), -ERANGE);
	ck_assert_int_eq(p, 4194304);
}
END_TEST

START_TEST(test_size)
{
	static const struct {
		const char *s;
		uint64_t want;
	} ok[] = {
		{ "0", 0 },
		{ "1234", 1234 },
		{ "1234B", 1234 },
		{ "12b", 12 },
		{ "64K", 64 << 10 },
		{ "64k", 64 << 10 },
		{ "64KB", 64 << 10 },
		{ "64KiB", 64 << 10 },
		{ "64kib", 64 << 10 },
		{ "10M", 10 << 20 },
		{ "32G", UINT64_C(32) << 30 },
		{ "2T", UINT64_C(2) << 40 },
		{ "3P", UINT64_C(3) << 50 },
		{ "1.5G", UINT64_C(3) << 29 },
		{ "0.5K", 512 },
		{ "1.25M", 1310720 },
		{ "1.1K", 1126 },        /* 1126.4, rounded down */
		{ "0.0009765625K", 1 },  /* exactly one byte */
		{ "0.000976562K", 0 },   /* just under one byte */
		{ "1.999999999999999999999999K", 2047 },
		{ "16383P", UINT64_C(16383) << 50 },
		{ "15.999P", UINT64_C(18013272609575141) },
		{ "18446744073709551615", UINT64_MAX },
		{ "18446744073709551615B", UINT64_MAX },
	};
	static const struct {
		const char *s;
		int err;
	} bad[] = {
		{ "", -EINVAL },       { "K", -EINVAL },       { ".5K", -EINVAL },
		{ "1.K", -EINVAL },    { "1.5", -EINVAL },     { "1.5B", -EINVAL },
		{ "-1K", -EINVAL },    { "+1K", -EINVAL },     { " 1K", -EINVAL },
		{ "1K ", -EINVAL },    { "1 K", -EINVAL },     { "1X", -EINVAL },
		{ "1E", -EINVAL },     { "1KK", -EINVAL },     { "1KiBB", -EINVAL },
		{ "1iB", -EINVAL },    { "1Ki", -EINVAL },     { "1,5K", -EINVAL },
		{ "1.5.5K", -EINVAL }, { "0x10", -EINVAL },
		{ "16384P", -ERANGE }, { "16777216T", -ERANGE },
		{ "18446744073709551616", -ERANGE },
		{ "18446744073709551615K", -ERANGE },
		{ "17179869184G", -ERANGE },
		{ "17179869183.9999999999999999999G", 0 }, /* fits: checked below */
	};
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		v = SENTINEL;
		int r = parse_size(ok[i].s, &v);
		ck_assert_msg(r == 0, "parse_size(\"%s\") = %d", ok[i].s, r);
		ck_assert_msg(v == ok[i].want, "parse_size(\"%s\") = %llu, want %llu", ok[i].s,
			      (unsigned long long)v, (unsigned long long)ok[i].want);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (bad[i].err == 0)
			continue;
		v = SENTINEL;
		int r = parse_size(bad[i].s, &v);
		ck_assert_msg(r == bad[i].err, "parse_size(\"%s\") = %d, want %d", bad[i].s, r, bad[i].err);
		ck_assert_msg(v == SENTINEL, "parse_size(\"%s\") wrote its out-parameter", bad[i].s);
	}
	/* the largest G value: whole part fills 2^64 - 2^30, the fraction the rest */
	ck_assert_int_eq(parse_size("17179869183.9999999999999999999G", &v), 0);
	ck_assert(v == UINT64_MAX);
	ck_assert_int_eq(parse_size(NULL, &v), -EINVAL);
}
END_TEST

START_TEST(test_size_or_percent)
{
	uint64_t size = SENTINEL;
	unsigned pct = 999;

	ck_assert_int_eq(parse_size_or_percent("10%", &size, &pct), 1);
	ck_assert_uint_eq(pct, 10);
	ck_assert(size == SENTINEL);
	ck_assert_int_eq(parse_size_or_percent("0%", &size, &pct), 1);
	ck_assert_uint_eq(pct, 0);
	ck_assert_int_eq(parse_size_or_percent("100%", &size, &pct), 1);
	ck_assert_uint_eq(pct, 100);

	ck_assert_int_eq(parse_size_or_percent("4G", &size, &pct), 0);
	ck_assert(size == UINT64_C(4) << 30);
	ck_assert_uint_eq(pct, 100);

	pct = 999;
	size = SENTINEL;
	ck_assert_int_eq(parse_size_or_percent("101%", &size, &pct), -ERANGE);
	ck_assert_int_eq(parse_size_or_percent("99999999999999999999999%", &size, &pct), -ERANGE);
	ck_assert_int_eq(parse_size_or_percent("%", &size, &pct), -EINVAL);
	ck_assert_int_eq(parse_size_or_percent("-5%", &size, &pct), -EINVAL);
	ck_assert_int_eq(parse_size_or_percent("5.5%", &size, &pct), -EINVAL);
	ck_assert_int_eq(parse_size_or_percent("5 %", &size, &pct), -EINVAL);
	ck_assert_int_eq(parse_size_or_percent("5%%", &size, &pct), -EINVAL);
	ck_assert_int_eq(parse_size_or_percent("5K%", &size, &pct), -EINVAL);
	ck_assert_int_eq(parse_size_or_percent("", &size, &pct), -EINVAL);
	ck_assert_int_eq(parse_size_or_percent("4X", &size, &pct), -EINVAL);
	ck_assert_uint_eq(pct, 999);
	ck_assert(size == SENTINEL);
}
END_TEST

START_TEST(test_duration)
{
	static const struct {
		const char *s;
		uint64_t want;
	} ok[] = {
		{ "0", 0 },       { "90", 90 },        { "30s", 30 },    { "30sec", 30 },
		{ "10m", 600 },   { "10min", 600 },    { "2h", 7200 },   { "14d", 1209600 },
		{ "1w", 604800 }, { "18446744073709551615", UINT64_MAX },
		{ "18446744073709551615s", UINT64_MAX },
		{ "30500568904943w", UINT64_C(30500568904943) * 604800 },
		{ "213503982334601d", UINT64_C(213503982334601) * 86400 },
	};
	static const struct {
		const char *s;
		int err;
	} bad[] = {
		{ "", -EINVAL },    { "s", -EINVAL },     { "-1s", -EINVAL },  { "+1s", -EINVAL },
		{ " 1s", -EINVAL }, { "1s ", -EINVAL },   { "1 s", -EINVAL },  { "1S", -EINVAL },
		{ "1M", -EINVAL },  { "1H", -EINVAL },    { "1y", -EINVAL },   { "1month", -EINVAL },
		{ "1ms", -EINVAL }, { "1h30m", -EINVAL }, { "1.5h", -EINVAL }, { "1mins", -EINVAL },
		{ "30500568904944w", -ERANGE },
		{ "213503982334602d", -ERANGE },
		{ "18446744073709551616", -ERANGE },
	};
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		v = SENTINEL;
		int r = parse_duration(ok[i].s, &v);
		ck_assert_msg(r == 0, "parse_duration(\"%s\") = %d", ok[i].s, r);
		ck_assert_msg(v == ok[i].want, "parse_duration(\"%s\") = %llu", ok[i].s,
			      (unsigned long long)v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = SENTINEL;
		int r = parse_duration(bad[i].s, &v);
		ck_assert_msg(r == bad[i].err, "parse_duration(\"%s\") = %d, want %d", bad[i].s, r,
			      bad[i].err);
		ck_assert(v == SENTINEL);
	}
}
END_TEST

/* Expected local time, the way the parser should compute it. */
static int64_t local_usec(int year, int mon, int mday, int hour, int min, int sec)
{
	struct tm tm = {
		.tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = mday,
		.tm_hour = hour, .tm_min = min, .tm_sec = sec, .tm_isdst = -1,
	};
	time_t t = mktime(&tm);

	ck_assert(t != (time_t)-1);
	return (int64_t)t * 1000000;
}

static void check_time(const char *s, int64_t now, int64_t want)
{
	int64_t v = 12345;
	int r = parse_time_spec(s, now, &v);

	ck_assert_msg(r == 0, "parse_time_spec(\"%s\") = %d", s, r);
	ck_assert_msg(v == want, "parse_time_spec(\"%s\") = %lld, want %lld", s, (long long)v,
		      (long long)want);
}

static void reject_time(const char *s, int err)
{
	int64_t v = 12345;
	int r = parse_time_spec(s, 0, &v);

	ck_assert_msg(r == err, "parse_time_spec(\"%s\") = %d, want %d", s, r, err);
	ck_assert_msg(v == 12345, "parse_time_spec(\"%s\") wrote its out-parameter", s);
}

/* now = 2023-11-14T22:13:20.123456Z */
#define NOW (INT64_C(1700000000) * 1000000 + 123456)

/* Local-time tests run once per zone: the zone the suite was started in, then
 * zones with DST, half-hour DST shifts, and large offsets either way. */
static const char *const test_zones[] = {
	NULL, "UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe",
	"Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata",
};

static void use_zone(int i)
{
	if (test_zones[i]) {
		if (access("/usr/share/zoneinfo/Australia/Lord_Howe", R_OK) != 0)
			return; /* no tzdata: the inherited zone is all we can test */
		setenv("TZ", test_zones[i], 1);
	}
	tzset();
}

START_TEST(test_time_absolute)
{
	use_zone(_i);
	check_time("2024-03-05", NOW, local_usec(2024, 3, 5, 0, 0, 0));
	check_time("2024-03-05 07:08", NOW, local_usec(2024, 3, 5, 7, 8, 0));
	check_time("2024-03-05T07:08", NOW, local_usec(2024, 3, 5, 7, 8, 0));
	check_time("2024-03-05 07:08:09", NOW, local_usec(2024, 3, 5, 7, 8, 9));
	check_time("2024-03-05T07:08:09", NOW, local_usec(2024, 3, 5, 7, 8, 9));
	check_time("2024-02-29", NOW, local_usec(2024, 2, 29, 0, 0, 0));
	check_time("2000-02-29 23:59:59", NOW, local_usec(2000, 2, 29, 23, 59, 59));
	check_time("2038-01-19 03:14:08", NOW, local_usec(2038, 1, 19, 3, 14, 8));
	check_time("1999-12-31 23:59:59", NOW, local_usec(1999, 12, 31, 23, 59, 59));
}
END_TEST

START_TEST(test_time_absolute_utc)
{
	/* in UTC the answers are known without mktime */
	setenv("TZ", "UTC", 1);
	tzset();
	check_time("2026-11-21 12:49:05", 0, INT64_C(1795265345) * 1000000);
	check_time("2026-11-21T12:49", 0, INT64_C(1795265340) * 1000000);
	check_time("1970-01-01", 0, 0);
	check_time("1969-12-31 23:59:59", 0, -1000000);
}
END_TEST

START_TEST(test_time_dst_gap)
{
	/* 2024-03-31 02:30 does not exist in Berlin: clocks went from 02:00 to 03:00 */
	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0)
		return;
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	reject_time("2024-03-31 02:30", -EINVAL);
	check_time("2024-03-31 01:59:59", 0, INT64_C(1711846799) * 1000000);
	check_time("2024-03-31 03:00", 0, INT64_C(1711846800) * 1000000);
	/* the repeated hour in autumn is accepted (either reading is a real time) */
	int64_t v;
	ck_assert_int_eq(parse_time_spec("2024-10-27 02:30", 0, &v), 0);
	ck_assert(v == INT64_C(1729989000) * 1000000 || v == INT64_C(1729992600) * 1000000);
	check_time("2024-07-01 12:00", 0, INT64_C(1719828000) * 1000000);
}
END_TEST

START_TEST(test_time_relative)
{
	use_zone(_i);
	check_time("now", NOW, NOW);
	check_time("-1h", NOW, NOW - INT64_C(3600) * 1000000);
	check_time("-2d", NOW, NOW - INT64_C(2) * 86400 * 1000000);
	check_time("-30min", NOW, NOW - INT64_C(1800) * 1000000);
	check_time("-30m", NOW, NOW - INT64_C(1800) * 1000000);
	check_time("-90s", NOW, NOW - INT64_C(90) * 1000000);
	check_time("-90", NOW, NOW - INT64_C(90) * 1000000);
	check_time("-1w", NOW, NOW - INT64_C(604800) * 1000000);
	check_time("-0s", NOW, NOW);
	check_time("+1h", NOW, NOW + INT64_C(3600) * 1000000);

	check_time("@0", NOW, 0);
	check_time("@1700000000", NOW, INT64_C(1700000000) * 1000000);
	check_time("@9223372036854", NOW, INT64_C(9223372036854) * 1000000);

	int64_t v = 1;
	ck_assert_int_eq(parse_time_spec("@9223372036855", NOW, &v), -ERANGE);
	ck_assert_int_eq(parse_time_spec("-9223372036855s", NOW, &v), -ERANGE);
	ck_assert_int_eq(parse_time_spec("-9223372036854s", INT64_MIN + 1, &v), -ERANGE);
	ck_assert_int_eq(parse_time_spec("+1s", INT64_MAX, &v), -ERANGE);
	ck_assert_int_eq(v, 1);
}
END_TEST

START_TEST(test_time_today_yesterday)
{
	time_t t = (time_t)(NOW / 1000000);
	struct tm tm;

	use_zone(_i);

	ck_assert_ptr_nonnull(localtime_r(&t, &tm));
	int64_t today = local_usec(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, 0, 0, 0);
	check_time("today", NOW, today);

	/* yesterday's midnight: one calendar day back, whatever the day's length */
	struct tm y = tm;
	y.tm_mday -= 1;
	y.tm_hour = y.tm_min = y.tm_sec = 0;
	y.tm_isdst = -1;
	time_t yt = mktime(&y);
	check_time("yesterday", NOW, (int64_t)yt * 1000000);
	int64_t v;
	ck_assert_int_eq(parse_time_spec("yesterday", NOW, &v), 0);
	ck_assert(today - v >= INT64_C(23) * 3600 * 1000000);
	ck_assert(today - v <= INT64_C(25) * 3600 * 1000000);

	/* over a month boundary, in UTC */
	setenv("TZ", "UTC", 1);
	tzset();
	check_time("today", INT64_C(1709251200) * 1000000 + 5, INT64_C(1709251200) * 1000000);
	check_time("yesterday", INT64_C(1709251200) * 1000000 + 5, INT64_C(1709164800) * 1000000);
	check_time("today", INT64_C(1709337599) * 1000000, INT64_C(1709251200) * 1000000);
	/* before 1970, seconds are floored, not truncated towards zero */
	check_time("today", -1, INT64_C(-86400) * 1000000);
}
END_TEST

START_TEST(test_time_reject)
{
	use_zone(_i);
	static const char *const bad[] = {
		"", " ", "yesterday ", " now", "Now", "tomorrow ", "2024", "2024-03",
		"2024-3-5", "2024/03/05", "2024-03-05 ", " 2024-03-05",
		"2024-03-05 7:08", "2024-03-05 07", "2024-03-05 07:08:", "2024-03-05 07:08:09.",
		"2024-03-05  07:08", "2024-03-05t07:08", "2024-03-05 07:08Z", "2024-03-05x",
		"2024-00-10", "2024-13-10", "2024-01-00", "2024-01-32", "2023-02-29",
		"2024-02-30", "2024-04-31", "2024-01-01 24:00", "2024-01-01 23:60",
		"2024-01-01 23:59:60", "@", "@-1", "@+1", "@1.", "@ 1", "@1x", "@1h", "-", "-1x",
		"--1h", "-1H", "-h", "+-1h", "1h", "90", "ago", " ago", "1h agoo", "h ago",
		"1 hour ago ", "-1h ago", "1 hours", "1.h ago", "-1.5.2h", "25:00", "12:60",
		"7:30", "22:30:", "Fri", "Fri ", "Fri2024-03-05", "Mon 2024-03-05",
		"2024-03-05 07:08 XYZ", "2024-03-05 07:08 utc", "22:30 UTC ", "-1 lightyear",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		reject_time(bad[i], -EINVAL);
	reject_time(NULL, -EINVAL);
}
END_TEST


/* systemd.time(7): relative forms with words, spans with several components
 * and fractions, tomorrow, time of today, weekdays, UTC, fractions. */
START_TEST(test_time_systemd)
{
	int64_t h = INT64_C(3600) * 1000000, v;
	time_t t = (time_t)(NOW / 1000000);
	struct tm tm;

	use_zone(_i);
	check_time("1 hour ago", NOW, NOW - h);
	check_time("1h ago", NOW, NOW - h);
	check_time("2 hours ago", NOW, NOW - 2 * h);
	check_time("3h left", NOW, NOW + 3 * h);
	check_time("-1h 30min", NOW, NOW - h - h / 2);
	check_time("-1h30min", NOW, NOW - h - h / 2);
	check_time("-1 h", NOW, NOW - h);
	check_time("+2h", NOW, NOW + 2 * h);
	check_time("-1.5h", NOW, NOW - h - h / 2);
	check_time("-2 days", NOW, NOW - 48 * h);
	check_time("-1 week", NOW, NOW - 168 * h);
	check_time("-1M", NOW, NOW - INT64_C(2629800) * 1000000);
	check_time("-1y", NOW, NOW - INT64_C(31557600) * 1000000);
	check_time("-500ms", NOW, NOW - 500000);
	check_time("-5us", NOW, NOW - 5);
	check_time("-5\xce\xbcs", NOW, NOW - 5);
	check_time("30min ago", NOW, NOW - h / 2);
	check_time("epoch", NOW, 0);
	check_time("@1700000000.5", NOW, INT64_C(1700000000) * 1000000 + 500000);
	check_time("@1700000000.1234567", NOW, INT64_C(1700000000) * 1000000 + 123456);

	ck_assert_ptr_nonnull(localtime_r(&t, &tm));
	int y = tm.tm_year + 1900, m = tm.tm_mon + 1, d = tm.tm_mday;
	check_time("22:30", NOW, local_usec(y, m, d, 22, 30, 0));
	check_time("00:00:01", NOW, local_usec(y, m, d, 0, 0, 1));
	check_time("09:30:15.25", NOW, local_usec(y, m, d, 9, 30, 15) + 250000);
	struct tm tt = tm;
	tt.tm_mday += 1;
	tt.tm_hour = tt.tm_min = tt.tm_sec = 0;
	tt.tm_isdst = -1;
	check_time("tomorrow", NOW, (int64_t)mktime(&tt) * 1000000);

	check_time("2025-01-14 09:30", NOW, local_usec(2025, 1, 14, 9, 30, 0));
	check_time("2025-01-14 09:30:05", NOW, local_usec(2025, 1, 14, 9, 30, 5));
	check_time("2025-01-14 09:30:05.000001", NOW, local_usec(2025, 1, 14, 9, 30, 5) + 1);
	check_time("Tue 2025-01-14 09:30", NOW, local_usec(2025, 1, 14, 9, 30, 0));
	check_time("Tuesday 2025-01-14", NOW, local_usec(2025, 1, 14, 0, 0, 0));
	check_time("25-01-14 09:30", NOW, local_usec(2025, 1, 14, 9, 30, 0));
	check_time("99-01-14", NOW, local_usec(1999, 1, 14, 0, 0, 0));
	check_time("2025-01-14 09:30:00 UTC", NOW, INT64_C(1736847000) * 1000000);
	check_time("2025-01-14 UTC", NOW, INT64_C(1736812800) * 1000000);
	check_time("Tue 2025-01-14 09:30:00 UTC", NOW, INT64_C(1736847000) * 1000000);
	/* NOW is 22:13:20 UTC on 2023-11-14 */
	check_time("22:30 UTC", NOW, INT64_C(1700001000) * 1000000);
	/* the weekday must be the date's */
	reject_time("Wed 2025-01-14", -EINVAL);
	/* the local zone's own name, as systemd prints it */
	tzset();
	if (tzname[0] && tzname[0][0] && strcmp(tzname[0], "UTC") != 0 && !strchr(tzname[0], ' ')) {
		char buf[64];
		snprintf(buf, sizeof(buf), "2025-01-14 09:30 %s", tzname[0]);
		ck_assert_int_eq(parse_time_spec(buf, NOW, &v), 0);
	}
	ck_assert_int_eq(parse_timespan("1h 30min", &v), 0);
	ck_assert(v == h + h / 2);
	ck_assert_int_eq(parse_timespan("", &v), -EINVAL);
	ck_assert_int_eq(parse_timespan("9999999999999y", &v), -ERANGE);
}
END_TEST

START_TEST(test_bool)
{
	static const char *const yes[] = { "1", "yes", "YES", "true", "True", "on", "ON" };
	static const char *const no[] = { "0", "no", "No", "false", "FALSE", "off", "Off" };
	static const char *const bad[] = { "", "2", "y", "n", "yes ", " no", "enable", "onn", "-1" };
	int v;

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		v = -1;
		ck_assert_int_eq(parse_bool(yes[i], &v), 0);
		ck_assert_int_eq(v, 1);
	}
	for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
		v = -1;
		ck_assert_int_eq(parse_bool(no[i], &v), 0);
		ck_assert_int_eq(v, 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = -1;
		ck_assert_msg(parse_bool(bad[i], &v) == -EINVAL, "parse_bool(\"%s\")", bad[i]);
		ck_assert_int_eq(v, -1);
	}
}
END_TEST

static Suite *parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *num = tcase_create("numbers");
	TCase *tc_time = tcase_create("time");
	int nz = (int)ARRAY_SIZE(test_zones);

	tcase_add_test(num, test_u64);
	tcase_add_test(num, test_i64);
	tcase_add_test(num, test_u32_int);
	tcase_add_test(num, test_pid);
	tcase_add_test(num, test_size);
	tcase_add_test(num, test_size_or_percent);
	tcase_add_test(num, test_duration);
	tcase_add_test(num, test_bool);
	suite_add_tcase(s, num);

	tcase_add_loop_test(tc_time, test_time_absolute, 0, nz);
	tcase_add_loop_test(tc_time, test_time_relative, 0, nz);
	tcase_add_loop_test(tc_time, test_time_today_yesterday, 0, nz);
	tcase_add_loop_test(tc_time, test_time_reject, 0, nz);
	tcase_add_loop_test(tc_time, test_time_systemd, 0, nz);
	tcase_add_test(tc_time, test_time_absolute_utc);
	tcase_add_test(tc_time, test_time_dst_gap);
	suite_add_tcase(s, tc_time);
	return s;
}

int main(void)
{
	return testutil_run(parse_suite());
}
