/* config.c: defaults, INI parsing, drop-ins, and what a bad value does. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/config.h"
#include "testutil.h"
#include "base/util.h"

#define WARNS_MAX 64

struct warns {
	char *msg[WARNS_MAX];
	size_t n;
};

static void collect_warn(void *userdata, const char *msg)
{
	struct warns *w = userdata;

	ck_assert_uint_lt(w->n, WARNS_MAX);
	w->msg[w->n] = strdup(msg);
	ck_assert_ptr_nonnull(w->msg[w->n]);
	w->n++;
}

static void warns_free(struct warns *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->msg[i]);
	w->n = 0;
}

static bool warns_have(const struct warns *w, const char *want)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->msg[i], want) == 0)
			return true;
	return false;
}

#define ck_assert_warned(w, ...) do { \
	char *want_; \
	ck_assert_int_ge(asprintf(&want_, __VA_ARGS__), 0); \
	ck_assert_msg(warns_have((w), want_), "no warning '%s' among %zu (first: %s)", want_, \
		      (w)->n, (w)->n ? (w)->msg[0] : "none"); \
	free(want_); \
} while (0)

static char tmpdir[64];
static char conf[128]; /* tmpdir/mortem.conf */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void setup_tmp(void)
{
	strcpy(tmpdir, "/tmp/check_config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(conf, sizeof(conf), "%s/mortem.conf", tmpdir);
}

static void teardown_tmp(void)
{
	(void)nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write text to tmpdir/rel, creating mortem.conf.d for a drop-in. */
static void put(const char *rel, const char *text)
{
	_cleanup_free_ char *path = NULL, *dir = NULL;
	_cleanup_close_ int fd = -1;

	ck_assert_int_ge(asprintf(&dir, "%s/mortem.conf.d", tmpdir), 0);
	if (strncmp(rel, "mortem.conf.d/", 14) == 0)
		(void)mkdir(dir, 0755);
	ck_assert_int_ge(asprintf(&path, "%s/%s", tmpdir, rel), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, text, strlen(text)), 0);
}

static void check_defaults(const struct mortem_config *c)
{
	static const char *const redact[] = {
		"*KEY*", "*TOKEN*", "*SECRET*", "*PASSWORD*", "*PASSWD*", "*CREDENTIAL*", "*AUTH*",
	};

	ck_assert_str_eq(c->store_path, LOCALSTATEDIR "/lib/mortem");
	ck_assert_int_eq(c->compress_level, -1);
	ck_assert_int_eq(c->compress_threads, 1);
	ck_assert_int_eq(c->recompress_level, 3);
	ck_assert(c->minicore_max == 32u << 20);
	ck_assert(c->minicore_stack_max == 1u << 20);
	ck_assert(c->max_core_size == UINT64_C(32) << 30);
	ck_assert(c->max_use.bytes == 0 && c->max_use.percent == 10);
	ck_assert(c->max_use.cap == UINT64_C(4) << 30);
	ck_assert(c->keep_free.bytes == 0 && c->keep_free.percent == 15);
	ck_assert(c->keep_free.cap == UINT64_C(4) << 30);
	ck_assert(c->max_age_sec == 14 * 86400);
	ck_assert(c->record_max_age_sec == 90 * 86400);
	ck_assert_int_eq(c->keep_per_signature, 3);
	ck_assert_uint_eq(c->rate_limit.burst, 5);
	ck_assert(c->rate_limit.interval_sec == 600);
	ck_assert_int_eq(c->max_concurrent, 0);
	ck_assert(c->proc_item_max == 256u << 10);
	ck_assert_ptr_null(c->debuginfod_urls);
	ck_assert_int_eq(c->debuginfod_timeout_sec, 30);
	ck_assert_str_eq(c->socket_dir, "/run/mortem");
	ck_assert(c->pool_size == 0);
	ck_assert(c->handoff_timeout_ms == 1000);
	ck_assert(c->stall_timeout_sec == 30);
	ck_assert(c->park_after_sec == 10);
	ck_assert(c->spill_max == 8ull << 30);
	ck_assert_uint_eq(c->n_redact, ARRAY_SIZE(redact));
	for (size_t i = 0; i < ARRAY_SIZE(redact); i++)
		ck_assert_str_eq(c->redact[i], redact[i]);
}

START_TEST(test_defaults)
{
	struct mortem_config c;

	ck_assert_int_eq(config_init(&c), 0);
	check_defaults(&c);
	config_free(&c);
	ck_assert_ptr_null(c.store_path);
	ck_assert_uint_eq(c.n_redact, 0);
	config_free(&c); /* twice is harmless */
}
END_TEST

START_TEST(test_full_file)
{
	struct mortem_config c;
	struct warns w = { 0 };

	put("mortem.conf",
	    "# mortem configuration\n"
	    "; another comment style\n"
	    "\n"
	    "[Store]\n"
	    "Path=/srv/crash\n"
	    "  CompressLevel = 19  \n"
	    "CompressThreads=\t4\n"
	    "RecompressLevel=0\r\n"
	    "MiniCoreMax=64K\n"
	    "MiniCoreStackMax=4KiB\n"
	    "   # indented comment\n"
	    "[Policy]\n"
	    "MaxCoreSize=1.5G\n"
	    "[Collect]\n"
	    "RedactEnvironment=*PASS* AWS_*   GITHUB_TOKEN\n"
	    "ProcItemMax=64M"); /* no final newline */
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_str_eq(c.store_path, "/srv/crash");
	ck_assert_int_eq(c.compress_level, 19);
	ck_assert_int_eq(c.compress_threads, 4);
	ck_assert_int_eq(c.recompress_level, 0);
	ck_assert(c.minicore_max == 64 << 10);
	ck_assert(c.minicore_stack_max == 4 << 10);
	ck_assert(c.max_core_size == UINT64_C(3) << 29);
	ck_assert_uint_eq(c.n_redact, 3);
	ck_assert_str_eq(c.redact[0], "*PASS*");
	ck_assert_str_eq(c.redact[1], "AWS_*");
	ck_assert_str_eq(c.redact[2], "GITHUB_TOKEN");
	ck_assert(c.proc_item_max == 64u << 20);
	config_free(&c);
}
END_TEST

START_TEST(test_dropins_in_order)
{
	struct mortem_config c;
	struct warns w = { 0 };
	_cleanup_free_ char *subdir = NULL;

	put("mortem.conf", "[Store]\nCompressLevel=5\nCompressThreads=2\n[Policy]\nMaxCoreSize=1G\n");
	put("mortem.conf.d/20-b.conf", "[Store]\nCompressLevel=9\n");
	put("mortem.conf.d/10-a.conf", "[Store]\nCompressLevel=7\nCompressThreads=3\n");
	put("mortem.conf.d/05-size.conf", "[Policy]\nMaxCoreSize=2G\n");
	/* not drop-ins: wrong suffix, hidden, a directory */
	put("mortem.conf.d/30-c.txt", "[Store]\nCompressLevel=11\n");
	put("mortem.conf.d/99.conf.bak", "[Store]\nCompressLevel=12\n");
	put("mortem.conf.d/.hidden.conf", "[Store]\nCompressLevel=13\n");
	put("mortem.conf.d/.conf", "[Store]\nCompressLevel=14\n");
	ck_assert_int_ge(asprintf(&subdir, "%s/mortem.conf.d/50-dir.conf", tmpdir), 0);
	ck_assert_int_eq(mkdir(subdir, 0755), 0);

	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_int_eq(c.compress_level, 9);   /* main 5, then 10-a 7, then 20-b 9 */
	ck_assert_int_eq(c.compress_threads, 3); /* 10-a, untouched by 20-b */
	ck_assert(c.max_core_size == UINT64_C(2) << 30); /* drop-ins win over the main file */
	ck_assert_str_eq(c.store_path, LOCALSTATEDIR "/lib/mortem");
	config_free(&c);
}
END_TEST

START_TEST(test_dropin_section_does_not_carry_over)
{
	struct mortem_config c;
	struct warns w = { 0 };

	/* a drop-in starts outside any section, whatever the previous file ended in */
	put("mortem.conf", "[Store]\n");
	put("mortem.conf.d/a.conf", "CompressLevel=4\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_int_eq(c.compress_level, -1);
	ck_assert_uint_eq(w.n, 1);
	ck_assert_warned(&w, "%s/mortem.conf.d/a.conf:1: key 'CompressLevel' outside of any section, ignored",
			 tmpdir);
	warns_free(&w);
	config_free(&c);
}
END_TEST

START_TEST(test_bad_value_keeps_default)
{
	struct mortem_config c;
	struct warns w = { 0 };

	put("mortem.conf",
	    "[Policy]\n"
	    "MaxCoreSize=abc\n"
	    "[Store]\n"
	    "CompressLevel=3\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), -EINVAL);
	ck_assert_uint_eq(w.n, 1);
	ck_assert_warned(&w, "%s:2: key 'MaxCoreSize': invalid size 'abc'", conf);
	ck_assert(c.max_core_size == UINT64_C(32) << 30);
	ck_assert_int_eq(c.compress_level, 3); /* lines after the bad one still apply */
	warns_free(&w);
	config_free(&c);
}
END_TEST

START_TEST(test_bad_value_in_dropin_keeps_previous)
{
	struct mortem_config c;
	struct warns w = { 0 };

	put("mortem.conf", "[Store]\nCompressThreads=8\nPath=/srv/a\n");
	put("mortem.conf.d/10.conf", "[Store]\nCompressThreads=many\nPath=relative/dir\n");
	put("mortem.conf.d/20.conf", "[Store]\nCompressLevel=2\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), -EINVAL);
	ck_assert_uint_eq(w.n, 2);
	ck_assert_warned(&w, "%s/mortem.conf.d/10.conf:2: key 'CompressThreads': invalid integer 'many'",
			 tmpdir);
	ck_assert_warned(&w, "%s/mortem.conf.d/10.conf:3: key 'Path': path 'relative/dir' is not absolute",
			 tmpdir);
	ck_assert_int_eq(c.compress_threads, 8);
	ck_assert_str_eq(c.store_path, "/srv/a");
	ck_assert_int_eq(c.compress_level, 2);
	warns_free(&w);
	config_free(&c);
}
END_TEST

START_TEST(test_ranges)
{
	struct mortem_config c;
	struct warns w = { 0 };

	put("mortem.conf",
	    "[Store]\n"
	    "CompressLevel=-8\n"            /* 2 */
	    "CompressLevel=20\n"            /* 3 */
	    "CompressLevel=99999999999\n"   /* 4 */
	    "CompressThreads=17\n"          /* 5 */
	    "CompressThreads=-1\n"          /* 6 */
	    "RecompressLevel=20\n"          /* 7 */
	    "RecompressLevel=-1\n"          /* 8 */
	    "MiniCoreMax=63K\n"             /* 9 */
	    "MiniCoreStackMax=4095\n"       /* 10 */
	    "[Collect]\n"
	    "ProcItemMax=2K\n"              /* 12 */
	    "ProcItemMax=65M\n"             /* 13 */
	    "[Policy]\n"
	    "MaxCoreSize=16384P\n"          /* 15 */
	    "MaxCoreSize=-1\n");            /* 16 */
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), -EINVAL);
	ck_assert_uint_eq(w.n, 13);
	ck_assert_warned(&w, "%s:2: key 'CompressLevel': value '-8' out of range -7..19", conf);
	ck_assert_warned(&w, "%s:3: key 'CompressLevel': value '20' out of range -7..19", conf);
	ck_assert_warned(&w, "%s:4: key 'CompressLevel': value '99999999999' out of range -7..19", conf);
	ck_assert_warned(&w, "%s:5: key 'CompressThreads': value '17' out of range 0..16", conf);
	ck_assert_warned(&w, "%s:6: key 'CompressThreads': value '-1' out of range 0..16", conf);
	ck_assert_warned(&w, "%s:7: key 'RecompressLevel': value '20' out of range 0..19", conf);
	ck_assert_warned(&w, "%s:8: key 'RecompressLevel': value '-1' out of range 0..19", conf);
	ck_assert_warned(&w, "%s:9: key 'MiniCoreMax': size '63K' below minimum 64.0K", conf);
	ck_assert_warned(&w, "%s:10: key 'MiniCoreStackMax': size '4095' below minimum 4.0K", conf);
	ck_assert_warned(&w, "%s:12: key 'ProcItemMax': size '2K' below minimum 4.0K", conf);
	ck_assert_warned(&w, "%s:13: key 'ProcItemMax': size '65M' above maximum 64.0M", conf);
	ck_assert_warned(&w, "%s:15: key 'MaxCoreSize': size '16384P' too large", conf);
	ck_assert_warned(&w, "%s:16: key 'MaxCoreSize': invalid size '-1'", conf);
	check_defaults(&c);
	warns_free(&w);
	config_free(&c);

	/* the bounds themselves are accepted */
	put("mortem.conf",
	    "[Store]\nCompressLevel=-7\nCompressThreads=0\nRecompressLevel=19\n"
	    "MiniCoreMax=65536\nMiniCoreStackMax=4K\n"
	    "[Collect]\nProcItemMax=4096\n[Policy]\nMaxCoreSize=0\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_int_eq(c.compress_level, -7);
	ck_assert_int_eq(c.compress_threads, 0);
	ck_assert_int_eq(c.recompress_level, 19);
	ck_assert(c.minicore_max == 65536);
	ck_assert(c.minicore_stack_max == 4096);
	ck_assert(c.proc_item_max == 4096);
	ck_assert(c.max_core_size == 0);
	config_free(&c);

	put("mortem.conf", "[Store]\nCompressLevel=19\nCompressThreads=16\n[Collect]\nProcItemMax=64M\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_int_eq(c.compress_level, 19);
	ck_assert_int_eq(c.compress_threads, 16);
	ck_assert(c.proc_item_max == 64u << 20);
	config_free(&c);
}
END_TEST

/* [Policy]: sizes or percentages, durations, N/INTERVAL rates; 0 is off. */
START_TEST(test_policy_keys)
{
	struct mortem_config c;
	struct warns w = { 0 };

	put("mortem.conf",
	    "[Policy]\n"
	    "MaxUse=25%\n"
	    "KeepFree=1.5G\n"
	    "MaxAge=2w\n"
	    "RecordMaxAge=365d\n"
	    "KeepPerSignature=1\n"
	    "RateLimit=20/1h\n"
	    "MaxConcurrent=4\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_uint_eq(w.n, 0);
	/* a percentage without "max" has no cap, unlike the default */
	ck_assert(c.max_use.percent == 25 && c.max_use.bytes == 0 && c.max_use.cap == 0);
	ck_assert(c.keep_free.percent == 0 && c.keep_free.bytes == UINT64_C(3) << 29);
	ck_assert(c.keep_free.cap == 0);
	ck_assert(c.max_age_sec == 14 * 86400);
	ck_assert(c.record_max_age_sec == 365 * 86400);
	ck_assert_int_eq(c.keep_per_signature, 1);
	ck_assert_uint_eq(c.rate_limit.burst, 20);
	ck_assert(c.rate_limit.interval_sec == 3600);
	ck_assert_int_eq(c.max_concurrent, 4);
	config_free(&c);

	/* 0 turns each limit off; the bounds are accepted */
	put("mortem.conf",
	    "[Policy]\n"
	    "MaxUse=0\n"
	    "KeepFree=0%\n"
	    "MaxAge=0\n"
	    "RecordMaxAge=3650d\n"
	    "KeepPerSignature=0\n"
	    "RateLimit=0\n"
	    "MaxConcurrent=4096\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_uint_eq(w.n, 0);
	ck_assert(c.max_use.percent == 0 && c.max_use.bytes == 0 && c.max_use.cap == 0);
	ck_assert(c.keep_free.percent == 0 && c.keep_free.bytes == 0 && c.keep_free.cap == 0);
	ck_assert(c.max_age_sec == 0);
	ck_assert(c.record_max_age_sec == 3650 * 86400ull);
	ck_assert_int_eq(c.keep_per_signature, 0);
	ck_assert(c.rate_limit.burst == 0 && c.rate_limit.interval_sec == 0);
	ck_assert_int_eq(c.max_concurrent, 4096);
	config_free(&c);

	put("mortem.conf", "[Policy]\nMaxUse=100% max 1T\nKeepFree=20%\tmax  2.5G\n"
	    "RateLimit=0/5min\nRateLimit=1/1s\nMaxAge=90\nRecordMaxAge=30min\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_uint_eq(w.n, 0);
	ck_assert(c.max_use.percent == 100 && c.max_use.cap == UINT64_C(1) << 40);
	ck_assert(c.keep_free.percent == 20 && c.keep_free.cap == UINT64_C(5) << 29);
	ck_assert(c.rate_limit.burst == 1 && c.rate_limit.interval_sec == 1);
	ck_assert(c.max_age_sec == 90 && c.record_max_age_sec == 1800);
	config_free(&c);

	/* the defaults, written out, are the defaults */
	put("mortem.conf", "[Policy]\nMaxUse=10% max 4G\nKeepFree=15% max 4G\nRateLimit=5/10min\n"
	    "MaxAge=14d\nRecordMaxAge=90d\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_uint_eq(w.n, 0);
	check_defaults(&c);
	config_free(&c);

	put("mortem.conf", "[Policy]\nRateLimit=0/5min\n"); /* no count is no limit */
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert(c.rate_limit.burst == 0 && c.rate_limit.interval_sec == 0);
	config_free(&c);
}
END_TEST

/* Each bad value is named with its key, and the default stays. */
START_TEST(test_policy_bad_values)
{
	struct mortem_config c;
	struct warns w = { 0 };

	put("mortem.conf",
	    "[Policy]\n"
	    "MaxUse=150%\n"           /* 2 */
	    "MaxUse=-5%\n"            /* 3 */
	    "MaxUse=ten\n"            /* 4 */
	    "KeepFree=5%%\n"          /* 5 */
	    "KeepFree=16384P\n"       /* 6 */
	    "KeepFree=\n"             /* 7 */
	    "MaxAge=-1d\n"            /* 8 */
	    "MaxAge=3651d\n"          /* 9 */
	    "MaxAge=2M\n"             /* 10: months are not a unit */
	    "RecordMaxAge=99999999999999999999\n" /* 11 */
	    "KeepPerSignature=-1\n"   /* 12 */
	    "KeepPerSignature=1001\n" /* 13 */
	    "RateLimit=5\n"           /* 14 */
	    "RateLimit=5/0\n"         /* 15 */
	    "RateLimit=5/31d\n"       /* 16 */
	    "RateLimit=x/10min\n"     /* 17 */
	    "RateLimit=100001/1h\n"   /* 18 */
	    "RateLimit=5/10min/2\n"   /* 19 */
	    "RateLimit=-5/10min\n"    /* 20 */
	    "MaxConcurrent=-1\n"      /* 21 */
	    "MaxConcurrent=4097\n"    /* 22 */
	    "MaxUse=10% max\n"        /* 23 */
	    "MaxUse=10% 4G\n"         /* 24 */
	    "MaxUse=10%max 4G\n"      /* 25 */
	    "MaxUse=4G max 10%\n"     /* 26 */
	    "MaxUse=101% max 4G\n"    /* 27 */
	    "MaxUse=10% max -4G\n");  /* 28 */
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), -EINVAL);
	ck_assert_warned(&w, "%s:2: key 'MaxUse': percent '150%%' out of range 0..100%%", conf);
	ck_assert_warned(&w, "%s:3: key 'MaxUse': invalid size or percent '-5%%'", conf);
	ck_assert_warned(&w, "%s:4: key 'MaxUse': invalid size or percent 'ten'", conf);
	ck_assert_warned(&w, "%s:5: key 'KeepFree': invalid size or percent '5%%%%'", conf);
	ck_assert_warned(&w, "%s:6: key 'KeepFree': size '16384P' too large", conf);
	ck_assert_warned(&w, "%s:7: key 'KeepFree': invalid size or percent ''", conf);
	ck_assert_warned(&w, "%s:8: key 'MaxAge': invalid duration '-1d'", conf);
	ck_assert_warned(&w, "%s:9: key 'MaxAge': duration '3651d' above maximum 3650d", conf);
	ck_assert_warned(&w, "%s:10: key 'MaxAge': invalid duration '2M'", conf);
	ck_assert_warned(&w, "%s:11: key 'RecordMaxAge': duration '99999999999999999999' above maximum 3650d",
			 conf);
	ck_assert_warned(&w, "%s:12: key 'KeepPerSignature': value '-1' out of range 0..1000", conf);
	ck_assert_warned(&w, "%s:13: key 'KeepPerSignature': value '1001' out of range 0..1000", conf);
	ck_assert_warned(&w, "%s:14: key 'RateLimit': invalid rate '5', expected N/INTERVAL or 0", conf);
	ck_assert_warned(&w, "%s:15: key 'RateLimit': duration '0' below minimum 1s", conf);
	ck_assert_warned(&w, "%s:16: key 'RateLimit': duration '31d' above maximum 30d", conf);
	ck_assert_warned(&w, "%s:17: key 'RateLimit': invalid rate 'x/10min', expected N/INTERVAL or 0",
			 conf);
	ck_assert_warned(&w, "%s:18: key 'RateLimit': count '100001' out of range 0..100000", conf);
	ck_assert_warned(&w, "%s:19: key 'RateLimit': invalid duration '10min/2'", conf);
	ck_assert_warned(&w, "%s:20: key 'RateLimit': invalid rate '-5/10min', expected N/INTERVAL or 0",
			 conf);
	ck_assert_warned(&w, "%s:21: key 'MaxConcurrent': value '-1' out of range 0..4096", conf);
	ck_assert_warned(&w, "%s:22: key 'MaxConcurrent': value '4097' out of range 0..4096", conf);
	ck_assert_warned(&w, "%s:23: key 'MaxUse': invalid size or percent '10%% max'", conf);
	ck_assert_warned(&w, "%s:24: key 'MaxUse': invalid size or percent '10%% 4G'", conf);
	ck_assert_warned(&w, "%s:25: key 'MaxUse': invalid size or percent '10%%max 4G'", conf);
	ck_assert_warned(&w, "%s:26: key 'MaxUse': invalid size or percent '4G max 10%%'", conf);
	ck_assert_warned(&w, "%s:27: key 'MaxUse': percent '101%% max 4G' out of range 0..100%%", conf);
	ck_assert_warned(&w, "%s:28: key 'MaxUse': invalid size or percent '10%% max -4G'", conf);
	ck_assert_uint_eq(w.n, 27);
	check_defaults(&c);
	warns_free(&w);
	config_free(&c);
}
END_TEST

/* [Daemon]: HandoffTimeout takes "ms" or any duration; bad values keep the
 * default and name the key. */
START_TEST(test_daemon_keys)
{
	struct mortem_config c;
	struct warns w = { 0 };

	put("mortem.conf", "[Daemon]\nSocketDirectory=/run/m2\nPoolSize=512M\nHandoffTimeout=250ms\nStallTimeout=2min\nParkAfter=0\n[Store]\nSpillMax=0\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_str_eq(c.socket_dir, "/run/m2");
	ck_assert(c.pool_size == 512u << 20);
	ck_assert(c.handoff_timeout_ms == 250);
	ck_assert(c.stall_timeout_sec == 120);
	ck_assert(c.park_after_sec == 0);
	ck_assert(c.spill_max == 0);
	config_free(&c);

	put("mortem.conf", "[Daemon]\nHandoffTimeout=2s\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert(c.handoff_timeout_ms == 2000);
	config_free(&c);

	put("mortem.conf",
	    "[Daemon]\n"
	    "HandoffTimeout=5ms\n"      /* 2: below 10ms */
	    "HandoffTimeout=2min\n"     /* 3: above 60s */
	    "HandoffTimeout=fast\n"     /* 4 */
	    "StallTimeout=0\n"          /* 5 */
	    "SocketDirectory=run\n"     /* 6 */
	    "PoolSize=2T\n"             /* 7 */
	    "[Store]\n"                 /* 8 */
	    "SpillMax=-1\n"             /* 9 */
	    "[Daemon]\n"                /* 10 */
	    "ParkAfter=2h\n");          /* 11: above 1h */
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), -EINVAL);
	ck_assert_warned(&w, "%s:2: key 'HandoffTimeout': '5ms' is not a time between 10ms and 60000ms", conf);
	ck_assert_warned(&w, "%s:3: key 'HandoffTimeout': '2min' is not a time between 10ms and 60000ms", conf);
	ck_assert_warned(&w, "%s:4: key 'HandoffTimeout': 'fast' is not a time between 10ms and 60000ms", conf);
	ck_assert_warned(&w, "%s:9: key 'SpillMax': invalid size '-1'", conf);
	ck_assert_warned(&w, "%s:11: key 'ParkAfter': duration '2h' above maximum 1h", conf);
	ck_assert_uint_eq(w.n, 8);
	check_defaults(&c);
	warns_free(&w);
	config_free(&c);
}
END_TEST

/* [Upload]: one URL without a path, names that go into keys as they are, an
 * enum; a bad value keeps the previous one, empty turns Endpoint= off. */
START_TEST(test_upload_keys)
{
	struct mortem_config c;
	struct warns w = { 0 };

	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_ptr_null(c.upload_endpoint);
	ck_assert_str_eq(c.upload_bucket, "mortem");
	ck_assert_str_eq(c.upload_region, "us-east-1");
	ck_assert_ptr_null(c.upload_prefix);
	ck_assert_int_eq(c.upload_cores, CONFIG_UPLOAD_CORES_FIRST);
	ck_assert(c.upload_max_queue == 4ull << 30);
	config_free(&c);

	put("mortem.conf", "[Upload]\nEndpoint=https://s3.example:8443/\nBucket=crash-es\nRegion=eu-1\n"
			   "Prefix=fleet/prod\nCredentialsFile=/etc/k\nCores=all\nMaxQueue=1G\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_str_eq(c.upload_endpoint, "https://s3.example:8443/");
	ck_assert_str_eq(c.upload_bucket, "crash-es");
	ck_assert_str_eq(c.upload_region, "eu-1");
	ck_assert_str_eq(c.upload_prefix, "fleet/prod");
	ck_assert_str_eq(c.upload_credentials, "/etc/k");
	ck_assert_int_eq(c.upload_cores, CONFIG_UPLOAD_CORES_ALL);
	ck_assert(c.upload_max_queue == 1u << 30);
	config_free(&c);

	put("mortem.conf",
	    "[Upload]\n"
	    "Endpoint=http://h:1\n"              /* 2 */
	    "Endpoint=ftp://h\n"                 /* 3 */
	    "Endpoint=http://h/bucket\n"         /* 4: a path */
	    "Endpoint=http://user@h\n"           /* 5 */
	    "Prefix=a/../b\n"                    /* 6 */
	    "Prefix=/a\n"                        /* 7 */
	    "Bucket=a b\n"                       /* 8 */
	    "Cores=some\n"                       /* 9 */
	    "CredentialsFile=k\n");              /* 10 */
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), -EINVAL);
	ck_assert_str_eq(c.upload_endpoint, "http://h:1");
	ck_assert_warned(&w, "%s:3: key 'Endpoint': 'ftp://h' is not an http://HOST[:PORT] or https://HOST[:PORT] URL", conf);
	ck_assert_warned(&w, "%s:4: key 'Endpoint': 'http://h/bucket' is not an http://HOST[:PORT] or https://HOST[:PORT] URL", conf);
	ck_assert_warned(&w, "%s:5: key 'Endpoint': 'http://user@h' is not an http://HOST[:PORT] or https://HOST[:PORT] URL", conf);
	ck_assert_warned(&w, "%s:6: key 'Prefix': 'a/../b' is not a name of letters, digits and . _ - /", conf);
	ck_assert_warned(&w, "%s:7: key 'Prefix': '/a' is not a name of letters, digits and . _ - /", conf);
	ck_assert_warned(&w, "%s:9: key 'Cores': 'some' is not one of none, first, all", conf);
	ck_assert_uint_eq(w.n, 8);
	ck_assert_ptr_null(c.upload_prefix);
	ck_assert_str_eq(c.upload_bucket, "mortem");
	ck_assert_int_eq(c.upload_cores, CONFIG_UPLOAD_CORES_FIRST);
	warns_free(&w);
	config_free(&c);

	put("mortem.conf", "[Upload]\nEndpoint=http://h\nEndpoint=\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_ptr_null(c.upload_endpoint);
	config_free(&c);
}
END_TEST

/* DebuginfodURLs= is normalized to single spaces; a value with any URL that is
 * not http(s) is rejected whole and the previous value stays; empty is off. */
START_TEST(test_debuginfod)
{
	struct mortem_config c;
	struct warns w = { 0 };

	put("mortem.conf",
	    "[Analysis]\n"
	    "DebuginfodURLs=  https://debuginfod.debian.net \t http://127.0.0.1:8002/  \n"
	    "DebuginfodTimeout=300\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_str_eq(c.debuginfod_urls, "https://debuginfod.debian.net http://127.0.0.1:8002/");
	ck_assert_int_eq(c.debuginfod_timeout_sec, 300);
	config_free(&c);
	ck_assert_ptr_null(c.debuginfod_urls);

	put("mortem.conf",
	    "[Analysis]\n"
	    "DebuginfodURLs=http://a.example\n"                      /* 2 */
	    "DebuginfodURLs=http://b.example ftp://c.example\n"      /* 3 */
	    "DebuginfodURLs=file:///srv/debug\n"                     /* 4 */
	    "DebuginfodURLs=https://\n"                              /* 5 */
	    "DebuginfodURLs=debuginfod.example\n"                    /* 6 */
	    "DebuginfodURLs=HTTP://d.example\n"                      /* 7 */
	    "DebuginfodTimeout=0\n"                                  /* 8 */
	    "DebuginfodTimeout=301\n"                                /* 9 */
	    "DebuginfodTimeout=1s\n");                               /* 10 */
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), -EINVAL);
	ck_assert_uint_eq(w.n, 8);
	ck_assert_warned(&w, "%s:3: key 'DebuginfodURLs': 'ftp://c.example' is not an http:// or https:// URL", conf);
	ck_assert_warned(&w, "%s:4: key 'DebuginfodURLs': 'file:///srv/debug' is not an http:// or https:// URL", conf);
	ck_assert_warned(&w, "%s:5: key 'DebuginfodURLs': 'https://' is not an http:// or https:// URL", conf);
	ck_assert_warned(&w, "%s:6: key 'DebuginfodURLs': 'debuginfod.example' is not an http:// or https:// URL",
			 conf);
	ck_assert_warned(&w, "%s:7: key 'DebuginfodURLs': 'HTTP://d.example' is not an http:// or https:// URL", conf);
	ck_assert_warned(&w, "%s:8: key 'DebuginfodTimeout': value '0' out of range 1..300", conf);
	ck_assert_warned(&w, "%s:9: key 'DebuginfodTimeout': value '301' out of range 1..300", conf);
	ck_assert_warned(&w, "%s:10: key 'DebuginfodTimeout': invalid integer '1s'", conf);
	/* every rejected value left the one of line 2 */
	ck_assert_str_eq(c.debuginfod_urls, "http://a.example");
	ck_assert_int_eq(c.debuginfod_timeout_sec, 30);
	warns_free(&w);

	/* a drop-in turns it off again with an empty value */
	put("mortem.conf.d/50-off.conf", "[Analysis]\nDebuginfodURLs=\nDebuginfodTimeout=1\n");
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), -EINVAL);
	ck_assert_ptr_null(c.debuginfod_urls);
	ck_assert_int_eq(c.debuginfod_timeout_sec, 1);
	warns_free(&w);
	config_free(&c);

	/* blanks only are empty too */
	put("mortem.conf", "[Analysis]\nDebuginfodURLs=http://x\nDebuginfodURLs= \t \n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_ptr_null(c.debuginfod_urls);
	config_free(&c);
}
END_TEST

START_TEST(test_unknown_keys_warned)
{
	struct mortem_config c;
	struct warns w = { 0 };

	put("mortem.conf",
	    "[Store]\n"
	    "Compresslevel=4\n"     /* keys are case-sensitive */
	    "[Policy]\n"
	    "MaxFuture=10%\n"
	    "[Future]\n"
	    "Anything=goes\n"
	    "[Store]\n"
	    "CompressLevel=4\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_uint_eq(w.n, 3);
	ck_assert_warned(&w, "%s:2: unknown key 'Compresslevel' in section [Store]", conf);
	ck_assert_warned(&w, "%s:4: unknown key 'MaxFuture' in section [Policy]", conf);
	ck_assert_warned(&w, "%s:6: unknown key 'Anything' in section [Future]", conf);
	ck_assert_int_eq(c.compress_level, 4);
	warns_free(&w);
	config_free(&c);
}
END_TEST

START_TEST(test_syntax_errors)
{
	struct mortem_config c;
	struct warns w = { 0 };

	put("mortem.conf",
	    "Path=/nowhere\n"        /* 1: before any section */
	    "[Store\n"               /* 2 */
	    "CompressLevel=1\n"      /* 3: not in [Store] after a broken header */
	    "[Store]\n"
	    "just some words\n"      /* 5 */
	    "=5\n"                   /* 6 */
	    "[]\n"                   /* 7 */
	    "[Store]\n"
	    "CompressThreads=5\n"    /* still applied */
	    "Path=/a=b\n");          /* the first '=' splits */
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), -EINVAL);
	ck_assert_warned(&w, "%s:1: key 'Path' outside of any section, ignored", conf);
	ck_assert_warned(&w, "%s:2: invalid section header '[Store'", conf);
	ck_assert_warned(&w, "%s:3: key 'CompressLevel' outside of any section, ignored", conf);
	ck_assert_warned(&w, "%s:5: expected 'Key=Value' or '[Section]', got 'just some words'", conf);
	ck_assert_warned(&w, "%s:6: missing key before '='", conf);
	ck_assert_warned(&w, "%s:7: invalid section header '[]'", conf);
	ck_assert_uint_eq(w.n, 6);
	ck_assert_int_eq(c.compress_level, -1);
	ck_assert_int_eq(c.compress_threads, 5);
	ck_assert_str_eq(c.store_path, "/a=b");
	warns_free(&w);
	config_free(&c);
}
END_TEST

START_TEST(test_redact_replace_clear_overflow)
{
	struct mortem_config c;
	struct warns w = { 0 };
	char *line;
	size_t off;

	put("mortem.conf", "[Collect]\nRedactEnvironment=FOO BAR\n");
	put("mortem.conf.d/a.conf", "[Collect]\nRedactEnvironment=ONLY_*\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_uint_eq(c.n_redact, 1); /* replaced, not appended */
	ck_assert_str_eq(c.redact[0], "ONLY_*");
	config_free(&c);

	put("mortem.conf.d/b.conf", "[Collect]\nRedactEnvironment=\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_uint_eq(c.n_redact, 0);
	config_free(&c);

	/* CONFIG_REDACT_MAX patterns fit; one more is rejected and the list kept */
	line = malloc(16 + (CONFIG_REDACT_MAX + 1) * 8);
	ck_assert_ptr_nonnull(line);
	off = (size_t)sprintf(line, "[Collect]\nRedactEnvironment=");
	for (int i = 0; i < CONFIG_REDACT_MAX; i++)
		off += (size_t)sprintf(line + off, "P%d ", i);
	strcpy(line + off, "\n");
	put("mortem.conf.d/b.conf", line);
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), 0);
	ck_assert_uint_eq(c.n_redact, CONFIG_REDACT_MAX);
	ck_assert_str_eq(c.redact[CONFIG_REDACT_MAX - 1], "P63");
	config_free(&c);

	strcpy(line + off, "ONE_TOO_MANY\n");
	put("mortem.conf.d/b.conf", line);
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), -EINVAL);
	ck_assert_warned(&w, "%s/mortem.conf.d/b.conf:2: key 'RedactEnvironment': more than %d patterns",
			 tmpdir, CONFIG_REDACT_MAX);
	ck_assert_uint_eq(c.n_redact, 1);
	ck_assert_str_eq(c.redact[0], "ONLY_*");
	config_free(&c);
	free(line);
	warns_free(&w);
}
END_TEST

START_TEST(test_long_lines)
{
	struct mortem_config c;
	struct warns w = { 0 };
	char *text, *p;

	/* line 2 is 4097 bytes (skipped), line 3 exactly 4096 (accepted) */
	text = malloc(3 * 4200);
	ck_assert_ptr_nonnull(text);
	p = text + sprintf(text, "[Store]\nPath=/");
	memset(p, 'a', 4097 - 6);
	p += 4097 - 6;
	p += sprintf(p, "\nPath=/");
	memset(p, 'b', 4096 - 6);
	p += 4096 - 6;
	sprintf(p, "\nCompressLevel=2\n");
	put("mortem.conf", text);
	free(text);

	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), -EINVAL);
	ck_assert_uint_eq(w.n, 1);
	ck_assert_warned(&w, "%s:2: line longer than 4096 bytes, ignored", conf);
	ck_assert_uint_eq(strlen(c.store_path), 4096 - 5);
	ck_assert_int_eq(c.store_path[1], 'b');
	ck_assert_int_eq(c.compress_level, 2);
	warns_free(&w);
	config_free(&c);
}
END_TEST

START_TEST(test_nul_byte_line)
{
	static const char text[] = "[Store]\nCompressLevel=4\0junk\nCompressThreads=6\n";
	struct mortem_config c;
	struct warns w = { 0 };
	_cleanup_close_ int fd = -1;

	fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, text, sizeof(text) - 1), 0);
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), -EINVAL);
	ck_assert_warned(&w, "%s:2: line contains a NUL byte, ignored", conf);
	ck_assert_int_eq(c.compress_level, -1);
	ck_assert_int_eq(c.compress_threads, 6);
	warns_free(&w);
	config_free(&c);
}
END_TEST

START_TEST(test_file_too_large)
{
	struct mortem_config c;
	struct warns w = { 0 };
	size_t n = (1u << 20) + 1;
	char *text = malloc(n + 1);

	ck_assert_ptr_nonnull(text);
	memset(text, '#', n);
	memcpy(text, "[Store]\nCompressLevel=3\n", 24);
	text[n] = '\0';
	put("mortem.conf", text);
	put("mortem.conf.d/a.conf", "[Store]\nCompressThreads=2\n");
	free(text);

	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), -EFBIG);
	ck_assert_warned(&w, "%s: file larger than 1048576 bytes, ignored", conf);
	ck_assert_int_eq(c.compress_level, -1);  /* nothing from the oversized file */
	ck_assert_int_eq(c.compress_threads, 2); /* drop-ins still apply */
	warns_free(&w);
	config_free(&c);
}
END_TEST

START_TEST(test_missing_files)
{
	struct mortem_config c;
	struct warns w = { 0 };
	_cleanup_free_ char *link = NULL;

	/* an explicit path that does not exist is an error */
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), -ENOENT);
	ck_assert_warned(&w, "%s: cannot read: %s", conf, strerror(ENOENT));
	check_defaults(&c);
	config_free(&c);
	warns_free(&w);

	/* the default path may be missing; only testable where it is */
	if (access(CONFIG_DEFAULT_PATH, F_OK) != 0 && access(CONFIG_DEFAULT_PATH ".d", F_OK) != 0) {
		ck_assert_int_eq(config_init(&c), 0);
		ck_assert_int_eq(config_load(&c, CONFIG_DEFAULT_PATH, collect_warn, &w), 0);
		ck_assert_uint_eq(w.n, 0);
		check_defaults(&c);
		config_free(&c);
	}

	/* a main file without a .d directory is fine; an unreadable drop-in is
	 * reported and the others still apply */
	put("mortem.conf", "[Store]\nCompressLevel=1\n");
	ck_assert_int_eq(config_init(&c), 0);
	ck_assert_int_eq(config_load(&c, conf, NULL, NULL), 0);
	ck_assert_int_eq(c.compress_level, 1);
	config_free(&c);

	put("mortem.conf.d/20.conf", "[Store]\nCompressThreads=7\nCompressLevel=bad\n");
	ck_assert_int_eq(asprintf(&link, "%s/mortem.conf.d/10-dangling.conf", tmpdir) > 0, 1);
	ck_assert_int_eq(symlink("/nonexistent/mortem-test", link), 0);
	ck_assert_int_eq(config_init(&c), 0);
	/* a file error outranks the -EINVAL of a bad value */
	ck_assert_int_eq(config_load(&c, conf, collect_warn, &w), -ENOENT);
	ck_assert_warned(&w, "%s: cannot read: %s", link, strerror(ENOENT));
	ck_assert_warned(&w, "%s/mortem.conf.d/20.conf:3: key 'CompressLevel': invalid integer 'bad'",
			 tmpdir);
	ck_assert_int_eq(c.compress_threads, 7);
	ck_assert_int_eq(c.compress_level, 1);
	warns_free(&w);
	config_free(&c);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("load");

	tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_full_file);
	tcase_add_test(tc, test_dropins_in_order);
	tcase_add_test(tc, test_dropin_section_does_not_carry_over);
	tcase_add_test(tc, test_bad_value_keeps_default);
	tcase_add_test(tc, test_bad_value_in_dropin_keeps_previous);
	tcase_add_test(tc, test_ranges);
	tcase_add_test(tc, test_debuginfod);
	tcase_add_test(tc, test_daemon_keys);
	tcase_add_test(tc, test_upload_keys);
	tcase_add_test(tc, test_policy_keys);
	tcase_add_test(tc, test_policy_bad_values);
	tcase_add_test(tc, test_unknown_keys_warned);
	tcase_add_test(tc, test_syntax_errors);
	tcase_add_test(tc, test_redact_replace_clear_overflow);
	tcase_add_test(tc, test_long_lines);
	tcase_add_test(tc, test_nul_byte_line);
	tcase_add_test(tc, test_file_too_large);
	tcase_add_test(tc, test_missing_files);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(config_suite());
}
