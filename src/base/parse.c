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

/* systemd.time(7) time span units, in microseconds. "m" is minutes and "M"
 * months, as in systemd; months and years are systemd's averages (30.44 and
 * 365.25 days). */
#define PARSE_USEC_PER_MIN (60 * USEC_PER_SEC)
#define PARSE_USEC_PER_HOUR (3600 * USEC_PER_SEC)
#define PARSE_USEC_PER_DAY (86400 * USEC_PER_SEC)
static const struct {
	const char *name;
	int64_t usec;
} parse_span_units[] = {
	{ "usec", 1 }, { "us", 1 }, { "\xce\xbcs", 1 }, { "\xc2\xb5s", 1 },
	{ "msec", 1000 }, { "ms", 1000 },
	{ "seconds", USEC_PER_SEC }, { "second", USEC_PER_SEC }, { "sec", USEC_PER_SEC }, { "s", USEC_PER_SEC },
	{ "minutes", PARSE_USEC_PER_MIN }, { "minute", PARSE_USEC_PER_MIN }, { "min", PARSE_USEC_PER_MIN },
	{ "m", PARSE_USEC_PER_MIN },
	{ "hours", PARSE_USEC_PER_HOUR }, { "hour", PARSE_USEC_PER_HOUR }, { "hr", PARSE_USEC_PER_HOUR },
	{ "h", PARSE_USEC_PER_HOUR },
	{ "days", PARSE_USEC_PER_DAY }, { "day", PARSE_USEC_PER_DAY }, { "d", PARSE_USEC_PER_DAY },
	{ "weeks", 7 * PARSE_USEC_PER_DAY }, { "week", 7 * PARSE_USEC_PER_DAY }, { "w", 7 * PARSE_USEC_PER_DAY },
	{ "months", 2629800 * USEC_PER_SEC }, { "month", 2629800 * USEC_PER_SEC }, { "M", 2629800 * USEC_PER_SEC },
	{ "years", 31557600 * USEC_PER_SEC }, { "year", 31557600 * USEC_PER_SEC }, { "y", 31557600 * USEC_PER_SEC },
};

#define PARSE_FRACTION_DIGITS_MAX 9 /* digits after the point that count; more are read and dropped */

/* "123" or "1.5" at *p: the integer part in *ret_int, the fraction as
 * *ret_frac / 10^*ret_nd. */
static int parse_decimal(const char **p, uint64_t *ret_int, uint64_t *ret_frac, int *ret_nd)
{
	const char *end;
	uint64_t frac = 0;
	int nd = 0, r;

	r = parse_u64_prefix(*p, &end, ret_int);
	if (r < 0)
		return r;
	if (*end == '.') {
		end++;
		if (!parse_is_digit(*end))
			return -EINVAL;
		for (; parse_is_digit(*end); end++)
			if (nd < PARSE_FRACTION_DIGITS_MAX) {
				frac = frac * 10 + (uint64_t)(*end - '0');
				nd++;
			}
	}
	*p = end;
	*ret_frac = frac;
	*ret_nd = nd;
	return 0;
}

static bool parse_is_unit_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (unsigned char)c >= 0x80;
}

/* A systemd.time(7) span: "5min", "1h 30min", "2.5h", "1 hour", "90" (no unit:
 * seconds). Components add up; spaces may separate a number from its unit and
 * components from each other. */
int parse_timespan(const char *s, int64_t *ret_usec)
{
	const char *p = s;
	int64_t total = 0;
	bool any = false;

	if (!s)
		return -EINVAL;
	for (;;) {
		uint64_t iv, frac;
		int nd, r;

		if (any)
			while (*p == ' ')
				p++;
		if (*p == '\0')
			break;
		r = parse_decimal(&p, &iv, &frac, &nd);
		if (r < 0)
			return r;
		while (*p == ' ')
			p++;
		const char *u = p;
		while (parse_is_unit_char(*p))
			p++;
		size_t ul = (size_t)(p - u);
		int64_t mult = -1;
		if (ul == 0)
			mult = USEC_PER_SEC;
		for (size_t i = 0; ul > 0 && i < sizeof(parse_span_units) / sizeof(parse_span_units[0]); i++)
			if (strlen(parse_span_units[i].name) == ul && memcmp(u, parse_span_units[i].name, ul) == 0)
				mult = parse_span_units[i].usec;
		if (mult < 0)
			return -EINVAL;
		unsigned __int128 v = (unsigned __int128)iv * (uint64_t)mult, div = 1;
		for (int i = 0; i < nd; i++)
			div *= 10;
		v += (unsigned __int128)frac * (uint64_t)mult / div;
		if (v > (unsigned __int128)(INT64_MAX - total))
			return -ERANGE;
		total += (int64_t)v;
		any = true;
	}
	if (!any)
		return -EINVAL;
	*ret_usec = total;
	return 0;
}

static const char *const parse_weekdays[7][2] = {
	{ "Sun", "Sunday" }, { "Mon", "Monday" }, { "Tue", "Tuesday" }, { "Wed", "Wednesday" },
	{ "Thu", "Thursday" }, { "Fri", "Friday" }, { "Sat", "Saturday" },
};

/* "Fri " or "Friday " at *p: the day (0 = Sunday), or -1 when there is none. */
static int parse_weekday(const char **p)
{
	for (int d = 0; d < 7; d++)
		for (int k = 0; k < 2; k++) {
			size_t n = strlen(parse_weekdays[d][k]);
			if (strncasecmp(*p, parse_weekdays[d][k], n) == 0 && (*p)[n] == ' ') {
				*p += n + 1;
				return d;
			}
		}
	return -1;
}

/* "[WEEKDAY ][YYYY-MM-DD|YY-MM-DD][( |T)HH:MM[:SS[.FRAC]]][ UTC|ZONE]", a date,
 * a time of today or both, in local time unless UTC (or the local zone's own
 * abbreviation) ends it. mktime() normalises Feb 30 into March and 02:30 on a
 * spring-forward day into 03:30, so the broken-down time is compared after
 * the call and a date or time that does not exist is rejected; a weekday that
 * is not the date's is rejected too, as systemd does. */
static int parse_datetime(const char *s, int64_t now, int64_t *ret_usec)
{
	const char *p = s;
	int year = 0, mon = 0, mday = 0, hour = 0, min = 0, sec = 0, wday;
	uint64_t frac = 0;
	int nd = 0;
	bool have_date = false, have_time = false, utc = false;
	struct tm tm = { 0 };
	time_t t;

	wday = parse_weekday(&p);
	/* A date: four digits and '-', or two digits and '-' (systemd's %y). */
	if (parse_is_digit(p[0]) && parse_is_digit(p[1]) &&
	    (p[2] == '-' || (parse_is_digit(p[2]) && parse_is_digit(p[3]) && p[4] == '-'))) {
		int width = p[2] == '-' ? 2 : 4;
		if (parse_fixed_digits(&p, width, &year) < 0 || *p++ != '-' ||
		    parse_fixed_digits(&p, 2, &mon) < 0 || *p++ != '-' ||
		    parse_fixed_digits(&p, 2, &mday) < 0)
			return -EINVAL;
		if (width == 2)
			year += year < 69 ? 2000 : 1900;
		have_date = true;
		if (*p == ' ' || *p == 'T') {
			if (!parse_is_digit(p[1]))
				goto zone; /* "DATE UTC" */
			p++;
		} else if (*p != '\0')
			return -EINVAL;
	}
	if (parse_is_digit(*p)) {
		uint64_t s64;
		if (parse_fixed_digits(&p, 2, &hour) < 0 || *p++ != ':' || parse_fixed_digits(&p, 2, &min) < 0)
			return -EINVAL;
		if (*p == ':') {
			p++;
			if (parse_fixed_digits(&p, 2, &sec) < 0)
				return -EINVAL;
			if (*p == '.') {
				const char *q = p - 2;
				if (parse_decimal(&q, &s64, &frac, &nd) < 0)
					return -EINVAL;
				p = q;
			}
		}
		have_time = true;
	}
zone:
	if (!have_date && !have_time)
		return -EINVAL;
	if (*p == ' ') {
		p++;
		tzset();
		if (strcmp(p, "UTC") == 0)
			utc = true;
		else if (!((tzname[0] && *tzname[0] && strcmp(p, tzname[0]) == 0) ||
			   (tzname[1] && *tzname[1] && strcmp(p, tzname[1]) == 0)))
			return -EINVAL;
		p += strlen(p);
	}
	if (*p != '\0')
		return -EINVAL;
	if (!have_date) {
		time_t n = (time_t)(now / USEC_PER_SEC - (now % USEC_PER_SEC < 0));
		struct tm today;
		if (!(utc ? gmtime_r(&n, &today) : localtime_r(&n, &today)))
			return -ERANGE;
		year = today.tm_year + 1900;
		mon = today.tm_mon + 1;
		mday = today.tm_mday;
	}
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
	t = utc ? timegm(&tm) : mktime(&tm);
	if (t == (time_t)-1 && tm.tm_wday == -1)
		return -ERANGE;
	if (tm.tm_year != year - 1900 || tm.tm_mon != mon - 1 || tm.tm_mday != mday ||
	    tm.tm_hour != hour || tm.tm_min != min || tm.tm_sec != sec)
		return -EINVAL;
	if (wday >= 0 && wday != tm.tm_wday)
		return -EINVAL;
	int64_t f = (int64_t)frac;
	for (int i = nd; i < 6; i++)
		f *= 10;
	for (int i = 6; i < nd; i++)
		f /= 10;
	*ret_usec = (int64_t)t * USEC_PER_SEC + f; /* |t| < 2^38 for 4-digit years */
	return 0;
}

/* now +/- a span, -ERANGE past int64. */
static int parse_time_shift(int64_t now, const char *span, int sign, int64_t *ret_usec)
{
	int64_t v;
	int r = parse_timespan(span, &v);
	if (r < 0)
		return r;
	if (sign < 0 ? now < INT64_MIN + v : now > INT64_MAX - v)
		return -ERANGE;
	*ret_usec = sign < 0 ? now - v : now + v;
	return 0;
}

int parse_time_spec(const char *s, int64_t now, int64_t *ret_usec)
{
	size_t len;

	if (!s || !*s || s[0] == ' ' || s[strlen(s) - 1] == ' ')
		return -EINVAL;
	len = strlen(s);

	if (strcmp(s, "now") == 0) {
		*ret_usec = now;
		return 0;
	}
	if (strcmp(s, "epoch") == 0) {
		*ret_usec = 0;
		return 0;
	}
	if (strcmp(s, "today") == 0 || strcmp(s, "yesterday") == 0 || strcmp(s, "tomorrow") == 0) {
		/* floor to whole seconds, also before 1970 */
		time_t t = (time_t)(now / USEC_PER_SEC - (now % USEC_PER_SEC < 0));
		return parse_local_midnight(t, s[0] == 'y' ? -1 : s[2] == 'd' ? 0 : 1, ret_usec);
	}

	if (s[0] == '@') {
		const char *p = s + 1;
		uint64_t sec, frac;
		int nd, r;
		r = parse_decimal(&p, &sec, &frac, &nd);
		if (r < 0)
			return r;
		if (*p != '\0')
			return -EINVAL;
		for (int i = nd; i < 6; i++)
			frac *= 10;
		for (int i = 6; i < nd; i++)
			frac /= 10;
		if (sec > (uint64_t)(INT64_MAX / USEC_PER_SEC) ||
		    (int64_t)sec * USEC_PER_SEC > INT64_MAX - (int64_t)frac)
			return -ERANGE;
		*ret_usec = (int64_t)sec * USEC_PER_SEC + (int64_t)frac;
		return 0;
	}

	/* A span must start with its number: "--1h", "+-1h", "-h" are not times. */
	if ((s[0] == '-' || s[0] == '+') && parse_is_digit(s[1]))
		return parse_time_shift(now, s + 1, s[0] == '-' ? -1 : 1, ret_usec);
	if (s[0] == '-' || s[0] == '+')
		return -EINVAL;

	/* "1 hour ago", "3h left": the span before the word. */
	static const struct {
		const char *suffix;
		int sign;
	} words[] = { { " ago", -1 }, { " left", 1 } };
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i].suffix);
		if (len > n && strcmp(s + len - n, words[i].suffix) == 0 && parse_is_digit(s[0])) {
			char *span = strndup(s, len - n);
			if (!span)
				return -ENOMEM;
			int r = parse_time_shift(now, span, words[i].sign, ret_usec);
			free(span);
			return r;
		}
	}

	return parse_datetime(s, now, ret_usec);
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
