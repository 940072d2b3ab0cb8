/* policy.c: the [Policy] decisions over a fake clock and fake store states. */
/* The entry tables below name the fields each case is about, positionally;
 * the owner left out is zero: root's system side, one owner for all. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "store/index.h"
#include "store/policy.h"
#include "store/quota.h"
#include "store/store.h"
#include "testutil.h"
#include "base/util.h"

#define SEC INT64_C(1000000)
#define MIN (60 * SEC)
#define HOUR (3600 * SEC)
#define DAY (86400 * SEC)
#define NOW (INT64_C(1800000000) * SEC) /* the fake clock */
#define K ((uint64_t)1 << 10)
#define M ((uint64_t)1 << 20)
#define G ((uint64_t)1 << 30)

/* Quota limits only: ages, counts and rates off. */
static struct policy_limits quota(uint64_t max_use, uint64_t keep_free, unsigned keep)
{
	return (struct policy_limits){
		.max_use = max_use, .keep_free = keep_free, .keep_per_signature = keep,
		.max_concurrent = 1,
	};
}

static uint64_t total(const struct policy_entry *e, size_t n)
{
	uint64_t t = 0;

	for (size_t i = 0; i < n; i++)
		t += e[i].core_bytes + e[i].record_bytes;
	return t;
}

/* The plan as "c:ID r:ID ...", and the return value. */
static char plan_buf[4096];
static int plan_ret;

static const char *plan(const struct policy_limits *l, uint64_t used, uint64_t fs_free,
			const struct policy_entry *e, size_t n, int64_t now, const char *protect)
{
	struct policy_action out[64];
	struct policy_usage u = { .store_used = used, .fs_free = fs_free };
	size_t nout = 999, off = 0;

	ck_assert_uint_le(n, ARRAY_SIZE(out));
	plan_ret = policy_vacuum_plan(l, &u, e, n, now, protect, out, &nout);
	ck_assert_int_ge(plan_ret, 0);
	ck_assert_uint_le(nout, n);
	plan_buf[0] = '\0';
	for (size_t i = 0; i < nout; i++) {
		off += (size_t)snprintf(plan_buf + off, sizeof(plan_buf) - off, "%s%c:%s",
					i ? " " : "", out[i].what == POLICY_DELETE_CORE ? 'c' : 'r',
					out[i].id);
		ck_assert_ptr_nonnull(out[i].reason);
	}
	return plan_buf;
}

static const char *plan_reason(const struct policy_limits *l, uint64_t used, uint64_t fs_free,
			       const struct policy_entry *e, size_t n, int64_t now, const char *id)
{
	struct policy_action out[64];
	struct policy_usage u = { .store_used = used, .fs_free = fs_free };
	size_t nout;

	ck_assert_int_ge(policy_vacuum_plan(l, &u, e, n, now, NULL, out, &nout), 0);
	for (size_t i = 0; i < nout; i++)
		if (strcmp(out[i].id, id) == 0)
			return out[i].reason;
	return NULL;
}

/* ---- limits ---- */

START_TEST(test_resolve_defaults)
{
	struct mortem_config c;
	struct policy_limits l;

	ck_assert_int_eq(config_init(&c), 0);

	policy_limits_resolve(&c, 100 * G, 8, &l);
	ck_assert(l.max_use == 4 * G);    /* 10 % = 10G, capped */
	ck_assert(l.keep_free == 4 * G);  /* 15 % = 15G, capped */
	ck_assert(l.max_core_size == 32 * G);
	ck_assert(l.max_age_usec == (uint64_t)(14 * DAY));
	ck_assert(l.record_max_age_usec == (uint64_t)(90 * DAY));
	ck_assert_uint_eq(l.keep_per_signature, 3);
	ck_assert_uint_eq(l.rate_burst, 5);
	ck_assert(l.rate_interval_usec == (uint64_t)(10 * MIN));
	ck_assert_uint_eq(l.max_concurrent, 8); /* 0 = the CPUs */

	policy_limits_resolve(&c, 10 * G, 0, &l);
	ck_assert(l.max_use == G);                 /* 10 % of 10G, under the cap */
	ck_assert(l.keep_free == 3 * G / 2);       /* 15 % */
	ck_assert_uint_eq(l.max_concurrent, 1);    /* CPUs unknown: one */

	policy_limits_resolve(&c, 0, 4, &l);       /* file system unknown: the caps */
	ck_assert(l.max_use == 4 * G);
	ck_assert(l.keep_free == 4 * G);
	config_free(&c);
}
END_TEST

START_TEST(test_resolve_explicit)
{
	struct mortem_config c;
	struct policy_limits l;

	ck_assert_int_eq(config_init(&c), 0);
	c.max_use = (struct config_quota){ .percent = 50 };       /* "50%": no bound */
	c.keep_free = (struct config_quota){ .bytes = 123 * M };
	c.max_age_sec = 0;
	c.record_max_age_sec = 0;
	c.keep_per_signature = 0;
	c.rate_limit = (struct config_rate){ 0 };
	c.max_concurrent = 2;
	policy_limits_resolve(&c, 100 * G, 8, &l);
	ck_assert(l.max_use == 50 * G);
	ck_assert(l.keep_free == 123 * M);
	ck_assert(l.max_age_usec == 0 && l.record_max_age_usec == 0);
	ck_assert_uint_eq(l.keep_per_signature, 0);
	ck_assert_uint_eq(l.rate_burst, 0);
	ck_assert_uint_eq(l.max_concurrent, 2);

	policy_limits_resolve(&c, 0, 8, &l); /* unbounded percent of an unknown file system: no limit */
	ck_assert(l.max_use == 0);

	c.max_use = (struct config_quota){ .percent = 1 };
	policy_limits_resolve(&c, 50, 8, &l); /* 0.5 byte rounds up, never to "no limit" */
	ck_assert(l.max_use == 1);
	c.max_use = (struct config_quota){ .percent = 100 };
	policy_limits_resolve(&c, UINT64_MAX, 8, &l); /* no overflow */
	ck_assert(l.max_use == UINT64_MAX);
	c.max_use = (struct config_quota){ 0 };
	policy_limits_resolve(&c, 100 * G, 8, &l);
	ck_assert(l.max_use == 0);
	config_free(&c);
}
END_TEST

/* ---- vacuum ---- */

START_TEST(test_vacuum_ages)
{
	struct policy_limits l = quota(0, 0, 3);
	const struct policy_entry e[] = {
		{ "fresh",   "/bin/a", "A", NOW - HOUR,       100, 10 },
		{ "old",     "/bin/a", "A", NOW - 15 * DAY,   100, 10 },
		{ "ancient", "/bin/b", "B", NOW - 91 * DAY,   100, 10 },
		{ "gone",    "/bin/c", "C", NOW - 20 * DAY,     0, 10 }, /* core already gone */
		{ "oldrec",  "/bin/c", "C", NOW - 100 * DAY,    0, 10 },
		{ "edge",    "/bin/d", "D", NOW - 14 * DAY,   100, 10 }, /* exactly MaxAge: not older */
		{ "old2",    "/bin/d", "D", NOW - 14 * DAY - 1, 100, 10 },
	};

	l.max_age_usec = 14 * DAY;
	l.record_max_age_usec = 90 * DAY;
	/* cores past MaxAge first (keeping their records), then whole records;
	 * one past both goes once, as a record */
	ck_assert_str_eq(plan(&l, total(e, 7), 100 * G, e, 7, NOW, NULL),
			 "c:old c:old2 r:ancient r:oldrec");
	ck_assert_int_eq(plan_ret, 0);
	ck_assert_str_eq(plan_reason(&l, 0, 0, e, 7, NOW, "old"), "older than MaxAge");
	ck_assert_str_eq(plan_reason(&l, 0, 0, e, 7, NOW, "ancient"), "record older than RecordMaxAge");

	/* the first occurrence of a signature is no exception to MaxAge */
	l.max_age_usec = 30 * MIN;
	ck_assert_str_eq(plan(&l, 0, 100 * G, e, 7, NOW, NULL),
			 "c:fresh c:old c:edge c:old2 r:ancient r:oldrec");

	/* 0 = off */
	l.max_age_usec = 0;
	l.record_max_age_usec = 0;
	ck_assert_str_eq(plan(&l, total(e, 7), 100 * G, e, 7, NOW, NULL), "");
	ck_assert_int_eq(plan_ret, 0);
}
END_TEST

START_TEST(test_vacuum_clock_backwards)
{
	struct policy_limits l = quota(0, 0, 3);
	const struct policy_entry e[] = {
		{ "future", "/bin/a", "A", NOW + 365 * DAY, 100, 10 },
		{ "far",    "/bin/a", "A", INT64_MAX,       100, 10 },
		{ "past",   "/bin/a", "A", NOW - 20 * DAY,  100, 10 },
	};

	l.max_age_usec = 14 * DAY;
	l.record_max_age_usec = 90 * DAY;
	/* the clock jumped a year back: the "future" ones are age 0, not deleted */
	ck_assert_str_eq(plan(&l, 0, 0, e, 3, NOW, NULL), "c:past");
	/* and now is before everything, even at the extremes */
	ck_assert_str_eq(plan(&l, 0, 0, e, 3, INT64_MIN, NULL), "");
	ck_assert_str_eq(plan(&l, 0, 0, e, 3, 0, NULL), "");
}
END_TEST

/* KeepPerSignature=3: A1 is the first occurrence, A4 and A5 the newest two;
 * A2 and A3 are repeats, and go first, oldest first, before anything larger
 * or older elsewhere; only as much as needed goes. */
START_TEST(test_vacuum_repeats_first)
{
	struct policy_limits l = quota(1000, 0, 3);
	const struct policy_entry e[] = {
		{ "A5", "/bin/a", "A", NOW - 1 * HOUR, 100, 0 },
		{ "B1", "/bin/b", "B", NOW - 9 * DAY,  900, 0 }, /* larger and older, but unique */
		{ "A3", "/bin/a", "A", NOW - 3 * HOUR, 100, 0 },
		{ "A1", "/bin/a", "A", NOW - 5 * HOUR, 100, 0 },
		{ "A2", "/bin/a", "A", NOW - 4 * HOUR, 100, 0 },
		{ "A4", "/bin/a", "A", NOW - 2 * HOUR, 100, 0 },
	};

	ck_assert_str_eq(plan(&l, 1000, 0, e, 6, NOW, NULL), "");      /* at the limit: fine */
	ck_assert_str_eq(plan(&l, 1001, 0, e, 6, NOW, NULL), "c:A2");   /* oldest repeat */
	ck_assert_int_eq(plan_ret, 0);
	ck_assert_str_eq(plan(&l, 1150, 0, e, 6, NOW, NULL), "c:A2 c:A3");
	ck_assert_str_eq(plan_reason(&l, 1150, 0, e, 6, NOW, "A3"),
			 "disk quota: a repeat of a signature with kept cores");
	/* then largest-and-oldest among the non-first: A4 (200 byte-hours) before A5 */
	ck_assert_str_eq(plan(&l, 1250, 0, e, 6, NOW, NULL), "c:A2 c:A3 c:A4");
	ck_assert_str_eq(plan(&l, 1350, 0, e, 6, NOW, NULL), "c:A2 c:A3 c:A4 c:A5");
	/* then, nothing else left: first occurrences, heaviest (B1) first */
	ck_assert_str_eq(plan(&l, 1450, 0, e, 6, NOW, NULL), "c:A2 c:A3 c:A4 c:A5 c:B1");
	ck_assert_int_eq(plan_ret, 0);
	ck_assert_str_eq(plan_reason(&l, 1450, 0, e, 6, NOW, "B1"),
			 "disk quota: first occurrence, nothing else left");
	ck_assert_str_eq(plan(&l, 1550, 0, e, 6, NOW, NULL), "c:A2 c:A3 c:A4 c:A5 c:B1");
	ck_assert_int_eq(plan_ret, 0);
	/* everything gone and still over: says so */
	ck_assert_str_eq(plan(&l, 5000, 0, e, 6, NOW, NULL), "c:A2 c:A3 c:A4 c:A5 c:B1 c:A1");
	ck_assert_int_eq(plan_ret, 1);

	/* KeepPerSignature=1: every core but the first is a repeat */
	l.keep_per_signature = 1;
	ck_assert_str_eq(plan(&l, 1350, 0, e, 6, NOW, NULL), "c:A2 c:A3 c:A4 c:A5");
	/* KeepPerSignature=0 (no count limit): the first and the newest go last */
	l.keep_per_signature = 0;
	ck_assert_str_eq(plan(&l, 1250, 0, e, 6, NOW, NULL), "c:A2 c:A3 c:A4");
	ck_assert_str_eq(plan(&l, 1350, 0, e, 6, NOW, NULL), "c:A2 c:A3 c:A4 c:A5");
}
END_TEST

/* Size times age, an hour at least: the big old core goes before the small
 * old and the big new one; first occurrences survive while others are left. */
START_TEST(test_vacuum_largest_oldest)
{
	struct policy_limits l = quota(10 * G, 0, 3);
	const struct policy_entry e[] = {
		{ "X1",    "/bin/x", "X", NOW - 30 * DAY, 100 * M, 0 }, /* first: kept */
		{ "bigold", "/bin/x", "X", NOW - 10 * DAY, 2 * G, 0 },
		{ "bignew", "/bin/x", "X", NOW - 1 * DAY,  2 * G, 0 },
		{ "Y1",    "/bin/y", "Y", NOW - 20 * DAY, 5 * G, 0 }, /* first, the heaviest of all */
		{ "small", "/bin/y", "Y", NOW - 19 * DAY, 1 * M, 0 },
		{ "now1",  "/bin/z", "Z", NOW - 30 * MIN, 1 * G, 0 },
		{ "Z1",    "/bin/z", "Z", NOW - 40 * MIN, 1 * M, 0 },
		{ "now2",  "/bin/z", "Z", NOW - 20 * MIN, 2 * G, 0 },
	};
	uint64_t used = 10 * G;

	ck_assert_str_eq(plan(&l, used + 1, 0, e, 8, NOW, NULL), "c:bigold");
	ck_assert_str_eq(plan(&l, used + 2 * G + 1, 0, e, 8, NOW, NULL), "c:bigold c:bignew");
	/* under an hour old both weigh as an hour: the larger goes first */
	ck_assert_str_eq(plan(&l, used + 4 * G + 1, 0, e, 8, NOW, NULL),
			 "c:bigold c:bignew c:now2");
	ck_assert_str_eq(plan(&l, used + 7 * G + 1, 0, e, 8, NOW, NULL),
			 "c:bigold c:bignew c:now2 c:now1 c:small");
	ck_assert_str_eq(plan_reason(&l, used + 1, 0, e, 8, NOW, "bigold"),
			 "disk quota: largest and oldest");
	ck_assert_str_eq(plan(&l, used + 7 * G + 2 * M, 0, e, 8, NOW, NULL),
			 "c:bigold c:bignew c:now2 c:now1 c:small c:Y1");
}
END_TEST

START_TEST(test_vacuum_protect)
{
	struct policy_limits l = quota(100, 0, 3);
	const struct policy_entry e[] = {
		{ "A1",  "/bin/a", "A", NOW - 2 * DAY, 500, 0 },
		{ "new", "/bin/b", NULL, NOW,          900, 0 }, /* just written, not analysed */
		{ "A2",  "/bin/a", "A", NOW - DAY,      50, 0 },
	};

	/* the new core is the heaviest non-first, yet stays; first occurrences follow */
	ck_assert_str_eq(plan(&l, 1450, 0, e, 3, NOW, "new"), "c:A2 c:A1");
	ck_assert_int_eq(plan_ret, 1);
	/* even past MaxAge (a clock that jumped forward) */
	l.max_age_usec = HOUR;
	l.record_max_age_usec = HOUR;
	ck_assert_str_eq(plan(&l, 0, 0, e, 3, NOW + DAY, "new"), "r:A1 r:A2");
	/* without protection it would have gone */
	ck_assert_str_eq(plan(&l, 0, 0, e, 3, NOW + DAY, NULL), "r:A1 r:new r:A2");

	/* a protected core counts in its signature: here it is the newest of A,
	 * so A2 is the repeat, not A3 */
	{
		const struct policy_entry f[] = {
			{ "A1", "/bin/a", "A", NOW - 4 * HOUR, 100, 0 },
			{ "A2", "/bin/a", "A", NOW - 3 * HOUR, 100, 0 },
			{ "A3", "/bin/a", "A", NOW - 2 * HOUR, 100, 0 },
			{ "A4", "/bin/a", "A", NOW - 1 * HOUR, 100, 0 },
		};

		l = quota(350, 0, 3);
		ck_assert_str_eq(plan(&l, 400, 0, f, 4, NOW, "A4"), "c:A2");
		ck_assert_str_eq(plan(&l, 400, 0, f, 4, NOW, "A2"), "c:A3"); /* A3 a non-first, not a repeat */
	}
}
END_TEST

START_TEST(test_vacuum_keep_free)
{
	struct policy_limits l = quota(0, G, 3);
	const struct policy_entry e[] = {
		{ "A1", "/bin/a", "A", NOW - 3 * DAY, 300 * M, 0 },
		{ "A2", "/bin/a", "A", NOW - 2 * DAY, 300 * M, 0 },
		{ "A3", "/bin/a", "A", NOW - 1 * DAY, 300 * M, 0 },
		{ "A4", "/bin/a", "A", NOW - 1 * HOUR, 300 * M, 0 },
	};

	/* MaxUse off; the file system has 500M free, 1G wanted */
	ck_assert_str_eq(plan(&l, 0, G, e, 4, NOW, NULL), "");
	ck_assert_str_eq(plan(&l, 0, 500 * M, e, 4, NOW, NULL), "c:A2 c:A3");
	ck_assert_int_eq(plan_ret, 0);
	ck_assert_str_eq(plan(&l, 0, 0, e, 4, NOW, NULL), "c:A2 c:A3 c:A4 c:A1");
	ck_assert_int_eq(plan_ret, 0); /* 1.2G freed */
	l.keep_free = 2 * G;
	ck_assert_str_eq(plan(&l, 0, 0, e, 4, NOW, NULL), "c:A2 c:A3 c:A4 c:A1");
	ck_assert_int_eq(plan_ret, 1);
	l.keep_free = G;
	/* both limits: deleting goes on until both hold */
	l.max_use = 2 * G;
	ck_assert_str_eq(plan(&l, 2 * G + 1, 2 * G, e, 4, NOW, NULL), "c:A2");
	ck_assert_str_eq(plan(&l, 100, 500 * M, e, 4, NOW, NULL), "c:A2 c:A3");
}
END_TEST

START_TEST(test_vacuum_disabled)
{
	struct policy_limits l = quota(0, 0, 0);
	const struct policy_entry e[] = {
		{ "A1", "/bin/a", "A", NOW - 1000 * DAY, 10 * G, 10 },
		{ "A2", "/bin/a", "A", NOW - 999 * DAY,  10 * G, 10 },
	};

	ck_assert_str_eq(plan(&l, UINT64_MAX, 0, e, 2, NOW, NULL), "");
	ck_assert_int_eq(plan_ret, 0);
	ck_assert_str_eq(plan(&l, 0, 0, NULL, 0, NOW, NULL), "");
}
END_TEST

/* Without a signature, cores group by executable path, which is never
 * mistaken for a signature of the same spelling. */
START_TEST(test_vacuum_no_signature)
{
	struct policy_limits l = quota(100, 0, 2);
	const struct policy_entry e[] = {
		{ "s1", "/bin/x", "/bin/a", NOW - 5 * HOUR, 100, 0 }, /* signature "/bin/a" */
		{ "e1", "/bin/a", NULL,     NOW - 4 * HOUR, 100, 0 },
		{ "e2", "/bin/a", NULL,     NOW - 3 * HOUR, 100, 0 },
		{ "e3", "/bin/a", NULL,     NOW - 2 * HOUR, 100, 0 },
		{ "s2", "/bin/x", "/bin/a", NOW - 1 * HOUR, 100, 0 },
	};

	/* /bin/a by exe: e1 first, e3 newest, e2 the repeat; s1 s2 a kept pair */
	ck_assert_str_eq(plan(&l, 101, 0, e, 5, NOW, NULL), "c:e2");
}
END_TEST

START_TEST(test_vacuum_bad_args)
{
	struct policy_limits l = quota(0, 0, 0);
	struct policy_usage u = { 0 };
	struct policy_entry e = { "a", "/bin/a", NULL, NOW, 1, 1 };
	struct policy_action out[1];
	size_t n;

	ck_assert_int_eq(policy_vacuum_plan(NULL, &u, &e, 1, NOW, NULL, out, &n), -EINVAL);
	ck_assert_int_eq(policy_vacuum_plan(&l, NULL, &e, 1, NOW, NULL, out, &n), -EINVAL);
	ck_assert_int_eq(policy_vacuum_plan(&l, &u, NULL, 1, NOW, NULL, out, &n), -EINVAL);
	ck_assert_int_eq(policy_vacuum_plan(&l, &u, &e, 1, NOW, NULL, NULL, &n), -EINVAL);
	ck_assert_int_eq(policy_vacuum_plan(&l, &u, &e, 1, NOW, NULL, out, NULL), -EINVAL);
}
END_TEST

/* ---- decide ---- */

static struct policy_decision decide(const struct policy_limits *l, const struct policy_state *s,
				     const struct policy_crash *c, int64_t now)
{
	struct policy_decision d;

	memset(&d, 0xa5, sizeof(d));
	ck_assert_int_eq(policy_decide(l, s, c, now, &d), 0);
	ck_assert_ptr_nonnull(d.core_status);
	if (d.store) {
		ck_assert_str_eq(d.core_status, "stored");
		ck_assert_ptr_null(d.reason);
		ck_assert_str_eq(d.detail, "");
		ck_assert_uint_gt(d.reserve, 0);
	} else {
		ck_assert_ptr_nonnull(d.reason);
		ck_assert_uint_eq(d.reserve, 0);
	}
	return d;
}

START_TEST(test_decide_too_large)
{
	struct policy_limits l = quota(0, 0, 3);
	struct policy_state s = { .usage = { 0, 100 * G } };
	struct policy_crash c = { .exe = "/bin/a", .expected_size = 33 * G };
	struct policy_decision d;

	l.max_core_size = 32 * G;
	d = decide(&l, &s, &c, NOW);
	ck_assert(!d.store);
	ck_assert_str_eq(d.core_status, "too-large");
	ck_assert_str_eq(d.reason, "MaxCoreSize");
	ck_assert_str_eq(d.detail, "core of 33.0G is larger than MaxCoreSize=32.0G");

	c.expected_size = 32 * G; /* at the limit */
	ck_assert(decide(&l, &s, &c, NOW).store);
	c.expected_size = 0;      /* unknown yet: the drain will see */
	ck_assert(decide(&l, &s, &c, NOW).store);
	c.expected_size = 1000 * G;
	l.max_core_size = 0;      /* off */
	ck_assert(decide(&l, &s, &c, NOW).store);
}
END_TEST

START_TEST(test_decide_estimate)
{
	struct policy_limits l = quota(0, 0, 3);
	struct policy_state s = { .usage = { 0, 100 * G } };
	struct policy_crash c = { .exe = "/bin/a" };

	ck_assert(decide(&l, &s, &c, NOW).reserve == POLICY_ESTIMATE_DEFAULT);
	c.expected_size = 4 * G;
	ck_assert(decide(&l, &s, &c, NOW).reserve == G + 1);
	c.estimate = 123;
	ck_assert(decide(&l, &s, &c, NOW).reserve == 123);
}
END_TEST

START_TEST(test_decide_quota)
{
	struct policy_limits l = quota(4 * G, 0, 3);
	const struct policy_entry e[] = {
		{ "A1", "/bin/a", "A", NOW - 3 * DAY, G, 0 },
		{ "A2", "/bin/a", "A", NOW - 2 * DAY, G, 0 },
		{ "B1", "/bin/b", "B", NOW - 1 * DAY, G, 0 },
	};
	struct policy_state s = {
		.usage = { .store_used = 3 * G, .fs_free = 100 * G },
		.entries = e, .n_entries = 3,
	};
	struct policy_crash c = { .exe = "/bin/c", .estimate = G };
	struct policy_decision d;

	/* 3G + 1G fits 4G exactly */
	ck_assert(decide(&l, &s, &c, NOW).store);
	/* 3G + 2G: A2 may go (not a first occurrence), so store */
	c.estimate = 2 * G;
	ck_assert(decide(&l, &s, &c, NOW).store);
	/* 3G + 3G: only first occurrences would be left to delete: metadata only */
	c.estimate = 3 * G;
	d = decide(&l, &s, &c, NOW);
	ck_assert(!d.store);
	ck_assert_str_eq(d.core_status, "skipped");
	ck_assert_str_eq(d.reason, "disk quota");
	ck_assert_str_eq(d.detail, "disk quota: over MaxUse=4.0G (3.0G used, 0B in flight, "
				   "~3.0G for this core, 1.0G deletable)");

	/* in-flight reservations count: 3G + 0.5G others + 1G */
	c.estimate = G;
	s.in_flight = G / 2;
	ck_assert(decide(&l, &s, &c, NOW).store); /* A2 makes room */
	s.in_flight = G + 1;
	d = decide(&l, &s, &c, NOW);
	ck_assert(!d.store);
	ck_assert_str_eq(d.reason, "disk quota");

	/* cores past MaxAge count as free room: A1 too, then */
	s.in_flight = 2 * G;
	ck_assert(!decide(&l, &s, &c, NOW).store);
	l.max_age_usec = 36 * HOUR;
	ck_assert(decide(&l, &s, &c, NOW).store);
	/* a clock gone back a week makes nothing old */
	ck_assert(!decide(&l, &s, &c, NOW - 7 * DAY).store);
	l.max_age_usec = 0;

	/* KeepFree */
	l = quota(0, 10 * G, 3);
	s.in_flight = 0;
	s.usage.fs_free = 11 * G;
	ck_assert(decide(&l, &s, &c, NOW).store);       /* 11G - 1G leaves 10G */
	s.usage.fs_free = 10 * G;
	ck_assert(decide(&l, &s, &c, NOW).store);       /* A2 makes room */
	s.usage.fs_free = 9 * G;
	d = decide(&l, &s, &c, NOW);
	ck_assert(!d.store);
	ck_assert_str_eq(d.detail, "disk quota: under KeepFree=10.0G (9.0G free, 0B in flight, "
				   "~1.0G for this core, 1.0G deletable)");
	/* in flight larger than what is free: no wrap-around */
	s.in_flight = UINT64_MAX;
	ck_assert(!decide(&l, &s, &c, NOW).store);

	/* limits off */
	l = quota(0, 0, 3);
	s.usage.fs_free = 0;
	ck_assert(decide(&l, &s, &c, NOW).store);
}
END_TEST

START_TEST(test_decide_percent_limits)
{
	struct mortem_config cfg;
	struct policy_limits l;
	struct policy_state s = { .usage = { .store_used = 900 * M, .fs_free = 5 * G } };
	struct policy_crash c = { .exe = "/bin/a", .estimate = 100 * M };

	ck_assert_int_eq(config_init(&cfg), 0);
	policy_limits_resolve(&cfg, 10 * G, 1, &l);   /* MaxUse 1G, KeepFree 1.5G */
	ck_assert(decide(&l, &s, &c, NOW).store);
	s.usage.store_used = 924 * M + 1;
	ck_assert_str_eq(decide(&l, &s, &c, NOW).reason, "disk quota");
	s.usage.store_used = 0;
	s.usage.fs_free = 1536 * M + 100 * M;
	ck_assert(decide(&l, &s, &c, NOW).store);
	s.usage.fs_free--;
	ck_assert_str_eq(decide(&l, &s, &c, NOW).reason, "disk quota");
	config_free(&cfg);
}
END_TEST

START_TEST(test_decide_rate_limit)
{
	struct policy_limits l = quota(0, 0, 3);
	int64_t times[] = {
		NOW - 10 * MIN,      /* exactly the interval ago: outside */
		NOW - 10 * MIN + 1,  /* just inside */
		NOW - 5 * MIN, NOW - MIN, NOW,
		NOW - DAY,           /* long ago */
	};
	struct policy_state s = { .usage = { 0, 100 * G }, .rate_times = times, .n_rate_times = 6 };
	struct policy_crash c = { .exe = "/usr/bin/foo" };
	struct policy_decision d;

	l.rate_burst = 5;
	l.rate_interval_usec = 10 * MIN;
	ck_assert(decide(&l, &s, &c, NOW).store);   /* 4 in the window */
	times[0] = NOW + HOUR;                      /* clock went back: age 0, inside */
	d = decide(&l, &s, &c, NOW);
	ck_assert(!d.store);
	ck_assert_str_eq(d.core_status, "skipped");
	ck_assert_str_eq(d.reason, "rate limit");
	ck_assert_str_eq(d.detail, "rate limit: 5 full cores of /usr/bin/foo in the last 10min");
	c.unit = "foo.service";
	ck_assert_str_eq(decide(&l, &s, &c, NOW).detail,
			 "rate limit: 5 full cores of foo.service in the last 10min");
	/* a minute later the oldest in-window one has left */
	ck_assert(decide(&l, &s, &c, NOW + MIN).store);
	l.rate_interval_usec = 90 * SEC;
	l.rate_burst = 2;
	ck_assert_str_eq(decide(&l, &s, &c, NOW).detail,
			 "rate limit: 3 full cores of foo.service in the last 90s");
	l.rate_burst = 0; /* off */
	ck_assert(decide(&l, &s, &c, NOW).store);
	l.rate_burst = 1;
	s.n_rate_times = 0;
	ck_assert(decide(&l, &s, &c, NOW).store);
}
END_TEST

/* MaxCoreSize, then the quota, then the rate limit. */
START_TEST(test_decide_order)
{
	struct policy_limits l = quota(G, 0, 3);
	int64_t times[] = { NOW };
	struct policy_state s = {
		.usage = { .store_used = G, .fs_free = 100 * G }, .rate_times = times, .n_rate_times = 1,
	};
	struct policy_crash c = { .exe = "/bin/a", .expected_size = 64 * G };

	l.max_core_size = 32 * G;
	l.rate_burst = 1;
	l.rate_interval_usec = MIN;
	ck_assert_str_eq(decide(&l, &s, &c, NOW).reason, "MaxCoreSize");
	c.expected_size = 16 * G;
	c.estimate = 1;
	ck_assert_str_eq(decide(&l, &s, &c, NOW).reason, "disk quota");
	s.usage.store_used = 0;
	ck_assert_str_eq(decide(&l, &s, &c, NOW).reason, "rate limit");
	s.n_rate_times = 0;
	ck_assert(decide(&l, &s, &c, NOW).store);
}
END_TEST

START_TEST(test_decide_bad_args)
{
	struct policy_limits l = quota(0, 0, 0);
	struct policy_state s = { .n_entries = 1 };
	struct policy_crash c = { 0 };
	struct policy_decision d;

	ck_assert_int_eq(policy_decide(&l, &s, &c, NOW, &d), -EINVAL);
	s = (struct policy_state){ .n_rate_times = 1 };
	ck_assert_int_eq(policy_decide(&l, &s, &c, NOW, &d), -EINVAL);
	s = (struct policy_state){ 0 };
	ck_assert_int_eq(policy_decide(NULL, &s, &c, NOW, &d), -EINVAL);
	ck_assert_int_eq(policy_decide(&l, &s, &c, NOW, NULL), -EINVAL);
	ck_assert_int_eq(policy_decide(&l, &s, &c, NOW, &d), 0);
}
END_TEST

/* ---- after the analysis ---- */

static struct policy_decision after(const struct policy_limits *l, const struct policy_entry *e,
				    size_t n, const struct policy_entry *crash, int64_t now)
{
	struct policy_decision d;

	ck_assert_int_eq(policy_after_analysis(l, e, n, crash, now, &d), 0);
	if (d.store)
		ck_assert_str_eq(d.core_status, "stored");
	else
		ck_assert_str_eq(d.core_status, "skipped");
	return d;
}

START_TEST(test_after_analysis)
{
	struct policy_limits l = quota(0, 0, 3);
	struct policy_entry e[] = {
		{ "new", "/bin/a", "S", NOW,            100, 0 }, /* itself: not counted */
		{ "a1",  "/bin/a", "S", NOW - 3 * HOUR, 100, 0 },
		{ "a2",  "/bin/a", "S", NOW - 2 * HOUR, 100, 0 },
		{ "nc",  "/bin/a", "S", NOW - 1 * HOUR,   0, 0 }, /* skipped earlier: no core */
		{ "t1",  "/bin/a", "T", NOW - 1 * HOUR, 100, 0 }, /* other signature */
		{ "a3",  "/bin/a", "S", NOW - 20 * DAY, 100, 0 },
	};
	struct policy_entry crash = e[0];
	struct policy_decision d;

	ck_assert(after(&l, e, 3, &crash, NOW).store);      /* 2 kept */
	d = after(&l, e, 6, &crash, NOW);                   /* 3 kept */
	ck_assert(!d.store);
	ck_assert_str_eq(d.reason, "KeepPerSignature");
	ck_assert_str_eq(d.detail, "3 cores of signature S already kept");

	/* one past MaxAge is about to go: it does not count */
	l.max_age_usec = 14 * DAY;
	ck_assert(after(&l, e, 6, &crash, NOW).store);
	l.max_age_usec = 0;
	l.record_max_age_usec = 14 * DAY;
	ck_assert(after(&l, e, 6, &crash, NOW).store);
	l.record_max_age_usec = 0;
	/* ... unless the clock went back: then it is age 0 */
	e[5].time_usec = NOW + DAY;
	l.max_age_usec = 14 * DAY;
	ck_assert(!after(&l, e, 6, &crash, NOW).store);
	l.max_age_usec = 0;

	/* KeepPerSignature=1: the first only */
	l.keep_per_signature = 1;
	ck_assert_str_eq(after(&l, e, 2, &crash, NOW).detail, "1 cores of signature S already kept");
	/* 0 = off */
	l.keep_per_signature = 0;
	ck_assert(after(&l, e, 6, &crash, NOW).store);
	ck_assert(after(&l, NULL, 0, &crash, NOW).store);
}
END_TEST

/* A failed analysis leaves no signature: cores count per executable path,
 * never against a signature spelled like it. */
START_TEST(test_after_analysis_no_signature)
{
	struct policy_limits l = quota(0, 0, 2);
	const struct policy_entry e[] = {
		{ "x1", "/bin/a", "/bin/a", NOW - 3 * HOUR, 100, 0 },
		{ "x2", "/bin/a", "/bin/a", NOW - 2 * HOUR, 100, 0 },
		{ "e1", "/bin/a", NULL,     NOW - 2 * HOUR, 100, 0 },
		{ "e2", "/bin/a", NULL,     NOW - 1 * HOUR, 100, 0 },
		{ "o1", "/bin/b", NULL,     NOW - 1 * HOUR, 100, 0 },
	};
	struct policy_entry crash = { "new", "/bin/a", NULL, NOW, 100, 0 };
	struct policy_decision d;

	ck_assert(after(&l, e, 3, &crash, NOW).store);
	d = after(&l, e, 5, &crash, NOW);
	ck_assert(!d.store);
	ck_assert_str_eq(d.detail, "2 cores of /bin/a already kept (no signature)");
	ck_assert_int_eq(policy_after_analysis(&l, e, 5, NULL, NOW, &d), -EINVAL);
	ck_assert_int_eq(policy_after_analysis(&l, NULL, 5, &crash, NOW, &d), -EINVAL);
}
END_TEST


/* ---- owners: one user's crashes never cost another's core ---- */

#define CG_USER_SSHD "0::/user.slice/user-1001.slice/user@1001.service/app.slice/sshd.service\n"
#define CG_ROOT_SSHD "0::/system.slice/sshd.service\n"

START_TEST(test_owner_cgroup)
{
	ck_assert(policy_cgroup_user_unit(CG_USER_SSHD));
	ck_assert(!policy_cgroup_user_unit(CG_ROOT_SSHD));
	ck_assert(!policy_cgroup_user_unit(NULL));
	ck_assert(!policy_cgroup_user_unit(""));
	/* a session scope is under user-1001.slice but no user manager */
	ck_assert(!policy_cgroup_user_unit("0::/user.slice/user-1001.slice/session-3.scope\n"));
	/* names that only look like it */
	ck_assert(!policy_cgroup_user_unit("0::/system.slice/user@.service\n"));
	ck_assert(!policy_cgroup_user_unit("0::/system.slice/user@1x.service\n"));
	ck_assert(!policy_cgroup_user_unit("0::/system.slice/myuser@1001.service\n"));
	ck_assert(policy_cgroup_user_unit("0::/user.slice/user-0.slice/user@0.service/app.slice/x.service"));
	/* v2 decides when present; v1 name=systemd otherwise */
	ck_assert(!policy_cgroup_user_unit("1:name=systemd:/user.slice/user-5.slice/user@5.service/a.service\n"
					   "0::/system.slice/a.service\n"));
	ck_assert(policy_cgroup_user_unit("12:cpu:/\n1:name=systemd:/user.slice/user-5.slice/user@5.service/a.service\n"));
}
END_TEST

START_TEST(test_owner_keep_per_signature)
{
	struct policy_limits l = quota(0, 0, 3);
	struct policy_owner user = { .uid = 1001, .user_unit = true, .slice = "app.slice" };
	struct policy_owner root = { .uid = 0, .slice = "system.slice" };
	struct policy_entry e[] = {
		{ "u1", "/usr/sbin/sshd", "S", NOW - 3 * MIN, 100, 10, user },
		{ "u2", "/usr/sbin/sshd", "S", NOW - 2 * MIN, 100, 10, user },
		{ "u3", "/usr/sbin/sshd", "S", NOW - 1 * MIN, 100, 10, user },
	};
	struct policy_entry crash = { "new", "/usr/sbin/sshd", "S", NOW, 100, 0, root };
	struct policy_decision d;

	/* user 1001 has 3 cores of S: root's S is its own first */
	ck_assert_int_eq(policy_after_analysis(&l, e, 3, &crash, NOW, &d), 0);
	ck_assert(d.store);
	/* the same signature from the same user is a repeat too many */
	crash.owner = user;
	ck_assert_int_eq(policy_after_analysis(&l, e, 3, &crash, NOW, &d), 0);
	ck_assert(!d.store);
	ck_assert_str_eq(d.detail, "3 cores of signature S (uid 1001, user unit) already kept");
	/* another uid, or the same uid's system service, is another owner */
	crash.owner = (struct policy_owner){ .uid = 1002, .user_unit = true, .slice = "app.slice" };
	ck_assert_int_eq(policy_after_analysis(&l, e, 3, &crash, NOW, &d), 0);
	ck_assert(d.store);
	crash.owner = (struct policy_owner){ .uid = 1001, .slice = "app.slice" };
	ck_assert_int_eq(policy_after_analysis(&l, e, 3, &crash, NOW, &d), 0);
	ck_assert(d.store);
	crash.owner = (struct policy_owner){ .uid = 1001, .user_unit = true, .slice = "session.slice" };
	ck_assert_int_eq(policy_after_analysis(&l, e, 3, &crash, NOW, &d), 0);
	ck_assert(d.store);

	/* the vacuum groups per owner too: root's single core of S is a first
	 * occurrence, so under pressure the user's repeats go before it */
	struct policy_entry v[] = {
		{ "r1", "/usr/sbin/sshd", "S", NOW - 9 * DAY, 100, 10, root },
		e[0], e[1], e[2],
		{ "u4", "/usr/sbin/sshd", "S", NOW, 100, 10, user },
	};
	l.keep_per_signature = 2;
	l.keep_free = G;
	/* all must go: the user's repeats, its newest, then the firsts, heaviest
	 * (root's, 9 days old) first; one key for both would have made u1 a repeat */
	ck_assert_str_eq(plan(&l, total(v, 5), 0, v, 5, NOW, NULL), "c:u2 c:u3 c:u4 c:r1 c:u1");
	l.keep_free = 0;
	l.max_use = total(v, 5) - 200;
	ck_assert_str_eq(plan(&l, total(v, 5), 100 * G, v, 5, NOW, NULL), "c:u2 c:u3");
}
END_TEST

/* The same through the real store: records indexed in SQLite, the counts read
 * back by quota_admit_as / quota_after_analysis_as as the collector does. */
static char odir[256];

static json_object *owner_record(const char *id, int64_t t, int64_t uid, const char *exe, const char *unit,
				 const char *slice, const char *cgroup, const char *signature)
{
	json_object *r = json_object_new_object(), *core = json_object_new_object(), *proc = json_object_new_object();

	json_object_object_add(r, "id", json_object_new_string(id));
	json_object_object_add(r, "time", json_object_new_string("2027-01-15T08:00:00.000000Z"));
	json_object_object_add(r, "time_usec", json_object_new_int64(t));
	json_object_object_add(r, "pid", json_object_new_int64(4242));
	json_object_object_add(r, "uid", json_object_new_int64(uid));
	json_object_object_add(r, "gid", json_object_new_int64(uid));
	json_object_object_add(r, "signal", json_object_new_int(11));
	json_object_object_add(r, "signal_name", json_object_new_string("SIGSEGV"));
	json_object_object_add(r, "comm", json_object_new_string("x"));
	json_object_object_add(r, "exe", json_object_new_string(exe));
	json_object_object_add(r, "cmdline", json_object_new_string("x"));
	json_object_object_add(r, "hostname", json_object_new_string("h"));
	json_object_object_add(r, "boot_id", json_object_new_string("b"));
	json_object_object_add(r, "unit", unit ? json_object_new_string(unit) : NULL);
	json_object_object_add(r, "slice", slice ? json_object_new_string(slice) : NULL);
	if (signature)
		json_object_object_add(r, "signature", json_object_new_string(signature));
	json_object_object_add(proc, "cgroup", cgroup ? json_object_new_string(cgroup) : NULL);
	json_object_object_add(r, "proc", proc);
	json_object_object_add(core, "status", json_object_new_string("stored"));
	json_object_object_add(core, "size", json_object_new_int64(4096));
	json_object_object_add(core, "stored_size", json_object_new_int64(1024));
	json_object_object_add(core, "path", json_object_new_string("/nonexistent.core.zst"));
	json_object_object_add(r, "core", core);
	return r;
}

static void owner_insert(sqlite3 *db, json_object *r)
{
	ck_assert_int_eq(index_insert(db, r, "/nonexistent.json"), 0);
	json_object_put(r);
}

static void owner_setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(odir, sizeof(odir), "%s/check_policy.XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(odir));
}

static void owner_teardown(void)
{
	char cmd[320];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", odir);
	(void)!system(cmd);
}

START_TEST(test_owner_real_store)
{
	struct mortem_config cfg;
	struct store st;
	sqlite3 *db = NULL;
	struct policy_decision d;
	int64_t now = (int64_t)time(NULL) * SEC;
	const struct policy_owner root = { .uid = 0, .slice = "system.slice" };
	const struct policy_owner user = { .uid = 1001, .user_unit = true, .slice = "app.slice" };
	char id[32];

	ck_assert_int_eq(config_init(&cfg), 0);
	cfg.max_use = (struct config_quota){ 0 };
	cfg.keep_free = (struct config_quota){ 0 };
	cfg.rate_limit.burst = 5;
	cfg.rate_limit.interval_sec = 600;
	cfg.keep_per_signature = 3;
	ck_assert_int_eq(store_init(&st, odir), 0);
	ck_assert_int_eq(store_mkdirs(&st), 0);
	ck_assert_int_eq(index_open(st.index_path, &db), 0);
	/* user 1001 crashes 5 times in its own user@1001.service/app.slice/sshd.service */
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "u%d", i);
		owner_insert(db, owner_record(id, now - (i + 1) * MIN, 1001, "/usr/sbin/sshd", "sshd.service",
					      "app.slice", CG_USER_SSHD, NULL));
	}
	/* uid 1002 crashes 5 times in a shared executable, outside units */
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		owner_insert(db, owner_record(id, now - (i + 1) * MIN, 1002, "/usr/bin/shared", NULL, NULL,
					      "0::/user.slice/user-1002.slice/session-1.scope\n", NULL));
	}
	/* and user 1001 has 3 cores of signature SIG */
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "k%d", i);
		owner_insert(db, owner_record(id, now - DAY + i, 1001, "/usr/bin/tool", NULL, NULL, NULL, "SIG"));
	}
	index_close(db);

	/* root's system.slice/sshd.service is not limited by the user's five */
	ck_assert_int_eq(quota_admit_as(&st, &cfg, "r1", "/usr/sbin/sshd", "sshd.service", &root, 0, now, &d, NULL,
					NULL), 0);
	ck_assert_msg(d.store, "root's core skipped: %s", d.detail);
	ck_assert_int_eq(quota_unreserve(&st, "r1"), 0);
	/* the user's own sixth is */
	ck_assert_int_eq(quota_admit_as(&st, &cfg, "u5", "/usr/sbin/sshd", "sshd.service", &user, 0, now, &d, NULL,
					NULL), 0);
	ck_assert(!d.store);
	ck_assert_str_eq(d.reason, "rate limit");
	ck_assert_str_eq(d.detail, "rate limit: 5 full cores of sshd.service (uid 1001, user unit) in the last 10min");
	/* a system service running as uid 1001 is not the user's own unit */
	const struct policy_owner sys1001 = { .uid = 1001, .slice = "app.slice" };
	ck_assert_int_eq(quota_admit_as(&st, &cfg, "y1", "/usr/sbin/sshd", "sshd.service", &sys1001, 0, now, &d,
					NULL, NULL), 0);
	ck_assert(d.store);
	ck_assert_int_eq(quota_unreserve(&st, "y1"), 0);
	/* the owner-less call counts everyone's, as before owners */
	ck_assert_int_eq(quota_admit(&st, &cfg, "r2", "/usr/sbin/sshd", "sshd.service", 0, now, &d, NULL, NULL), 0);
	ck_assert(!d.store);

	/* the same executable for two uids counts separately */
	const struct policy_owner u1002 = { .uid = 1002 }, u1003 = { .uid = 1003 }, u1004 = { .uid = 1004 };
	ck_assert_int_eq(quota_admit_as(&st, &cfg, "t1", "/usr/bin/shared", NULL, &u1003, 0, now, &d, NULL, NULL), 0);
	ck_assert(d.store);
	ck_assert_int_eq(quota_unreserve(&st, "t1"), 0);
	ck_assert_int_eq(quota_admit_as(&st, &cfg, "t2", "/usr/bin/shared", NULL, &u1002, 0, now, &d, NULL, NULL), 0);
	ck_assert(!d.store);
	ck_assert_str_eq(d.detail, "rate limit: 5 full cores of /usr/bin/shared (uid 1002) in the last 10min");

	/* reservations of collectors still writing count for their owner only:
	 * four of uid 1003 in flight (this process is their live collector) */
	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "w%d", i);
		ck_assert_int_eq(quota_admit_as(&st, &cfg, id, "/usr/bin/shared", NULL, &u1003, 0, now, &d, NULL, NULL),
				 0);
		ck_assert(d.store);
	}
	ck_assert_int_eq(quota_admit_as(&st, &cfg, "w4", "/usr/bin/shared", NULL, &u1003, 0, now, &d, NULL, NULL), 0);
	ck_assert(d.store); /* four in flight: a fifth fits */
	ck_assert_int_eq(quota_admit_as(&st, &cfg, "w5", "/usr/bin/shared", NULL, &u1003, 0, now, &d, NULL, NULL), 0);
	ck_assert(!d.store); /* five in flight */
	ck_assert_int_eq(quota_admit_as(&st, &cfg, "w6", "/usr/bin/shared", NULL, &u1004, 0, now, &d, NULL, NULL), 0);
	ck_assert(d.store); /* uid 1004 pays nothing for 1003's */

	/* KeepPerSignature per uid: user 1001 keeps 3 of SIG; root's first is kept */
	ck_assert_int_eq(quota_after_analysis_as(&st, &cfg, "r3", "/usr/bin/tool", &root, "SIG", 1024, now, false, &d),
			 0);
	ck_assert_msg(d.store, "root's core skipped: %s", d.detail);
	const struct policy_owner u1001 = { .uid = 1001 };
	ck_assert_int_eq(quota_after_analysis_as(&st, &cfg, "k3", "/usr/bin/tool", &u1001, "SIG", 1024, now, false, &d),
			 0);
	ck_assert(!d.store);
	ck_assert_str_eq(d.reason, "KeepPerSignature");
	ck_assert_int_eq(quota_after_analysis(&st, &cfg, "r4", "/usr/bin/tool", "SIG", 1024, now, false, &d), 0);
	ck_assert(!d.store); /* the owner-less call: everyone's count */

	store_free(&st);
	config_free(&cfg);
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_resolve_defaults);
	tcase_add_test(tc, test_resolve_explicit);
	tcase_add_test(tc, test_vacuum_ages);
	tcase_add_test(tc, test_vacuum_clock_backwards);
	tcase_add_test(tc, test_vacuum_repeats_first);
	tcase_add_test(tc, test_vacuum_largest_oldest);
	tcase_add_test(tc, test_vacuum_protect);
	tcase_add_test(tc, test_vacuum_keep_free);
	tcase_add_test(tc, test_vacuum_disabled);
	tcase_add_test(tc, test_vacuum_no_signature);
	tcase_add_test(tc, test_vacuum_bad_args);
	tcase_add_test(tc, test_decide_too_large);
	tcase_add_test(tc, test_decide_estimate);
	tcase_add_test(tc, test_decide_quota);
	tcase_add_test(tc, test_decide_percent_limits);
	tcase_add_test(tc, test_decide_rate_limit);
	tcase_add_test(tc, test_decide_order);
	tcase_add_test(tc, test_decide_bad_args);
	tcase_add_test(tc, test_after_analysis);
	tcase_add_test(tc, test_after_analysis_no_signature);
	tcase_add_test(tc, test_owner_cgroup);
	tcase_add_test(tc, test_owner_keep_per_signature);
	suite_add_tcase(s, tc);
	TCase *to = tcase_create("owners");
	tcase_add_checked_fixture(to, owner_setup, owner_teardown);
	tcase_set_timeout(to, 60);
	tcase_add_test(to, test_owner_real_store);
	suite_add_tcase(s, to);
	return s;
}

int main(void)
{
	return testutil_run(policy_suite());
}
