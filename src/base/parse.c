/* Strict parsers for numbers, sizes, durations and times.
 *
 * Policy: a string is accepted only when all of it is understood. No leading or
 * trailing whitespace, no sign where none belongs, no overflow. Malformed input is
 * -EINVAL, a well-formed number outside the type's range is -ERANGE. */
#include "base/parse.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PARSE_PID_MAX 4194304 /* PID_MAX_LIMIT on 64-bit kernels */
#define USEC_PER_SEC INT64_C(1000000)

static bool parse_is_digit(char c)
{
	return c >= '0' && c <= '9'; /* isdigit() is locale-dependent */
}

/* Leading decimal digits of s; *end points past them. strtoull alone would
 * accept leading whitespace, a sign and "-1" as UINT64_MAX, so the first
 * character is checked by hand. */
static int parse_u64_prefix(const char *s, const char **end, uint64_t *ret)
{
	char *e;
	unsigned long long v;

	if (!s || !parse_is_digit(*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno != 0 || e == s)
		return -EINVAL;
	*end = e;
	*ret = (uint64_t)v;
	return 0;
}

int parse_u64(const char *s, uint64_t *ret)
{
	const char *end;
	uint64_t v;
	int r;

	r = parse_u64_prefix(s, &end, &v);
	if (r < 0)
		return r;
	if (*end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_i64(const char *s, int64_t *ret)
{
	char *e;
	long long v;

	/* '-' is the only sign: "+5" is not something a program writes */
	if (!s || !(parse_is_digit(s[0]) || (s[0] == '-' && parse_is_digit(s[1]))))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &e, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno != 0 || *e != '\0')
		return -EINVAL;
	*ret = (int64_t)v;
	return 0;
}

int parse_u32(const char *s, uint32_t *ret)
{
	uint64_t v;
	int r;

	r = parse_u64(s, &v);
	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -ERANGE;
	*ret = (uint32_t)v;
	return 0;
}

int parse_int(const char *s, int *ret)
{
	int64_t v;
	int r;

	r = parse_i64(s, &v);
	if (r < 0)
		return r;
	if (v < INT_MIN || v > INT_MAX)
		return -ERANGE;
	*ret = (int)v;
	return 0;
}

int parse_pid(const char *s, pid_t *ret)
{
	uint64_t v;
	int r;

	r = parse_u64(s, &v);
	if (r < 0)
		return r;
	if (v < 1 || v > PARSE_PID_MAX)
		return -ERANGE;
	*ret = (pid_t)v;
	return 0;
}

/* Suffix of a size: "", "B", or K/M/G/T/P optionally followed by "B" or "iB", any
 * case. Returns the multiplier, or 0 when the suffix is not one of these. */
static uint64_t parse_size_suffix(const char *p)
{
	static const char units[] = "KMGTP";
	const char *u;
	char c = *p;

	if (*p == '\0' || strcasecmp(p, "B") == 0)
		return 1;
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	u = memchr(units, c, sizeof(units) - 1);
	if (!u)
		return 0;
	p++;
	if (*p == '\0' || strcasecmp(p, "B") == 0 || strcasecmp(p, "iB") == 0)
		return UINT64_C(1) << (10 * (u - units + 1));
	return 0;
}

/* "1.5G" is computed exactly: floor(mult * 0.d1..dn) by Horner's rule from the
 * last digit, acc = (mult * d + acc) / 10. Nested floors are exact here, and acc
 * stays below mult <= 2^50, so nothing overflows however many digits there are.
 * A fraction of a byte ("1.5", "1.5B") is rejected rather than rounded. */
int parse_size(const char *s, uint64_t *ret)
{
	const char *p, *frac = NULL;
	size_t n_frac = 0;
	uint64_t whole, mult, acc = 0;
	int r;

	r = parse_u64_prefix(s, &p, &whole);
	if (r < 0)
		return r;
	if (*p == '.') {
		frac = ++p;
		while (parse_is_digit(*p))
			p++;
		n_frac = (size_t)(p - frac);
		if (n_frac == 0)
			return -EINVAL;
	}
	mult = parse_size_suffix(p);
	if (mult == 0)
		return -EINVAL;
	if (frac && mult == 1)
		return -EINVAL;

	for (size_t i = n_frac; i > 0; i--)
		acc = (mult * (uint64_t)(frac[i - 1] - '0') + acc) / 10;

	if (whole > UINT64_MAX / mult)
		return -ERANGE;
	whole *= mult;
	if (acc > UINT64_MAX - whole)
		return -ERANGE;
	*ret = whole + acc;
	return 0;
}

int parse_size_or_percent(const char *s, uint64_t *ret_size, unsigned *ret_percent)
{
	const char *end;
	uint64_t v;
	int r;

	if (!s)
		return -EINVAL;
	if (*s != '\0' && s[strlen(s) - 1] == '%') {
		r = parse_u64_prefix(s, &end, &v);
		if (r < 0)
			return r;
		if (end[0] != '%' || end[1] != '\0')
			return -EINVAL;
		if (v > 100)
			return -ERANGE;
		*ret_percent = (unsigned)v;
		return 1;
	}
	r = parse_size(s, &v);
	if (r < 0)
		return r;
	*ret_size = v;
	return 0;
}

/* Units are lower case only, so that "M" cannot be read as months. "m" and "min"
 * are both minutes, as in systemd; there is no unit longer than weeks because
 * months and years have no fixed length. */
static const struct {
	const char *name;
	uint64_t sec;
} parse_duration_units[] = {
	{ "",    1 },
	{ "s",   1 },
	{ "sec", 1 },
	{ "m",   60 },
	{ "min", 60 },
	{ "h",   3600 },
	{ "d",   86400 },
	{ "w",   604800 },
};

int parse_duration(const char *s, uint64_t *ret_sec)
{
	const char *unit;
	uint64_t v;
	int r;

	r = parse_u64_prefix(s, &unit, &v);
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(parse_duration_units) / sizeof(parse_duration_units[0]); i++) {
		uint64_t mult = parse_duration_units[i].sec;
		if (strcmp(unit, parse_duration_units[i].name) != 0)
			continue;
		if (v > UINT64_MAX / mult)
			return -ERANGE;
		*ret_sec = v * mult;
		return 0;
	}
	return -EINVAL;
}

/* Exactly n digits at *p, advancing it. */
static int parse_fixed_digits(const char **p, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!parse_is_digit((*p)[i]))
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return 0;
}

/* Local midnight of the day of t, shifted by day_offset days. */
static int parse_local_midnight(time_t t, int day_offset, int64_t *ret_usec)
{
	struct tm tm;
	time_t r;

	if (!localtime_r(&t, &tm))
		return -ERANGE;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday += day_offset;
	tm.tm_isdst = -1;
	tm.tm_wday = -1;
	r = mktime(&tm);
	if (r == (time_t)-1 && tm.tm_wday == -1)
		return -ERANGE;
	*ret_usec = (int64_t)r * USEC_PER_SEC;
	return 0;
}

/* "YYYY-MM-DD[( |T)HH:MM[:SS]]" in local time. mktime() normalises Feb 30 into
 * March and 02:30 on a spring-forward day into 03:30, so the broken-down time is
 * compared after the call and a date or time that does not exist is rejected. */
static int parse_local_datetime(const char *s, int64_t *ret_usec)
{
	const char *p = s;
	int year, mon, mday, hour = 0, min = 0, sec = 0;
	struct tm tm = { 0 };
	time_t t;

	if (parse_fixed_digits(&p, 4, &year) < 0 || *p++ != '-' ||
	    parse_fixed_digits(&p, 2, &mon) < 0 || *p++ != '-' ||
	    parse_fixed_digits(&p, 2, &mday) < 0)
		return -EINVAL;
	if (*p == ' ' || *p == 'T') {
		p++;
		if (parse_fixed_digits(&p, 2, &hour) < 0 || *p++ != ':' ||
		    parse_fixed_digits(&p, 2, &min) < 0)
			return -EINVAL;
		if (*p == ':') {
			p++;
			if (parse_fixed_digits(&p, 2, &sec) < 0)
				return -EINVAL;
		}
	}
	if (*p != '\0')
		return -EINVAL;
	if (mon < 1 || mon > 12 || mday < 1 || mday > 31 || hour > 23 || min > 59 || sec > 59)
		return -EINVAL;

	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = mday;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	tm.tm_wday = -1;
	t = mktime(&tm);
	if (t == (time_t)-1 && tm.tm_wday == -1)
		return -ERANGE;
	if (tm.tm_year != year - 1900 || tm.tm_mon != mon - 1 || tm.tm_mday != mday ||
	    tm.tm_hour != hour || tm.tm_min != min || tm.tm_sec != sec)
		return -EINVAL;
	*ret_usec = (int64_t)t * USEC_PER_SEC; /* |t| < 2^38 for 4-digit years */
	return 0;
}

int parse_time(const char *s, int64_t now, int64_t *ret_usec)
{
	int64_t v;
	int r;

	if (!s)
		return -EINVAL;

	if (strcmp(s, "now") == 0) {
		*ret_usec = now;
		return 0;
	}
	if (strcmp(s, "today") == 0 || strcmp(s, "yesterday") == 0) {
		/* floor to whole seconds, also before 1970 */
		time_t t = (time_t)(now / USEC_PER_SEC - (now % USEC_PER_SEC < 0));
		return parse_local_midnight(t, s[0] == 't' ? 0 : -1, ret_usec);
	}

	if (s[0] == '@') {
		uint64_t sec;
		r = parse_u64(s + 1, &sec);
		if (r < 0)
			return r;
		if (sec > (uint64_t)(INT64_MAX / USEC_PER_SEC))
			return -ERANGE;
		*ret_usec = (int64_t)sec * USEC_PER_SEC;
		return 0;
	}

	if (s[0] == '-' || s[0] == '+') {
		uint64_t sec;
		r = parse_duration(s + 1, &sec);
		if (r < 0)
			return r;
		if (sec > (uint64_t)(INT64_MAX / USEC_PER_SEC))
			return -ERANGE;
		v = (int64_t)sec * USEC_PER_SEC;
		if (s[0] == '-' ? now < INT64_MIN + v : now > INT64_MAX - v)
			return -ERANGE;
		*ret_usec = s[0] == '-' ? now - v : now + v;
		return 0;
	}

	return parse_local_datetime(s, ret_usec);
}

int parse_bool(const char *s, int *ret)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = 0;
			return 0;
		}
	}
	return -EINVAL;
}
