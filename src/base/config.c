/* mortem.conf: an INI file and its drop-ins.
 *
 * Policy: configuration mistakes never stop a crash from being collected. A bad
 * value is reported with file, line and key, the key keeps what it had (the
 * default, or an earlier file's value), everything else is still applied, and
 * config_load() says -EINVAL at the end. Unknown sections and keys are only
 * warned about, so that an older collector can read a newer file. Comments are
 * whole lines starting with '#' or ';'; there are no inline comments, so
 * "Path=/a#b" is the path "/a#b". */
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

#include "base/config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/parse.h"
#include "base/util.h"

const char *const config_redact_args_default[CONFIG_REDACT_ARGS_DEFAULT_N] = {
	"--*pass*", "--*pwd*", "--*token*", "--*secret*", "--*key", "--*credential*", "--*auth*", "--*cookie*",
	"--*session*", "--*private*",
};

const char *const config_redact_default[CONFIG_REDACT_DEFAULT_N] = {
	"*KEY*", "*TOKEN*", "*SECRET*", "*PASS*", "*PWD*", "*PAT", "*CREDENTIAL*", "*AUTH*", "*PRIVATE*", "*COOKIE*", "*SESSION*",
};

#define CONFIG_FILE_MAX (1u << 20) /* bytes per configuration file */
#define CONFIG_LINE_MAX 4096       /* bytes per line, newline excluded */
#define CONFIG_DROPIN_SUFFIX ".conf"
#define CONFIG_AGE_MAX_SEC (UINT64_C(3650) * 86400) /* MaxAge=, RecordMaxAge=: ten years */
#define CONFIG_RATE_BURST_MAX 100000                /* RateLimit= N */


enum config_type {
	CONFIG_ABS_PATH,
	CONFIG_INT,
	CONFIG_SIZE,
	CONFIG_GLOBS,
	CONFIG_URLS,
	CONFIG_SIZE_OR_PERCENT, /* struct config_quota */
	CONFIG_DURATION,        /* uint64_t seconds, bounds in size_min/size_max */
	CONFIG_RATE,            /* struct config_rate, interval bounds in size_min/size_max */
	CONFIG_MSEC,            /* uint64_t milliseconds ("500ms" or a duration), bounds in size_min/size_max */
	CONFIG_URL,             /* one http:// or https:// URL; empty = NULL */
	CONFIG_NAME,            /* [A-Za-z0-9._/-] (object keys, bucket, region); empty = NULL */
	CONFIG_CORES,           /* enum config_upload_cores */
	CONFIG_BOOL,            /* bool: yes/no, true/false, on/off, 1/0 */
};

struct config_key {
	const char *section;
	const char *key;
	enum config_type type;
	size_t offset;              /* into struct mortem_config */
	int64_t min, max;           /* CONFIG_INT */
	uint64_t size_min, size_max; /* CONFIG_SIZE; seconds for CONFIG_DURATION, CONFIG_RATE */
};

#define CONFIG_OFF(f) offsetof(struct mortem_config, f)

static const struct config_key config_keys[] = {
	{ "Store", "Path", CONFIG_ABS_PATH, CONFIG_OFF(store_path), 0, 0, 0, 0 },
	{ "Store", "CompressLevel", CONFIG_INT, CONFIG_OFF(compress_level), -7, 19, 0, 0 },
	{ "Store", "CompressThreads", CONFIG_INT, CONFIG_OFF(compress_threads), 0, 16, 0, 0 },
	{ "Store", "RecompressLevel", CONFIG_INT, CONFIG_OFF(recompress_level), 0, 19, 0, 0 },
	{ "Store", "RecompressInline", CONFIG_INT, CONFIG_OFF(recompress_inline), 0, 1, 0, 0 },
	{ "Store", "MiniCoreMax", CONFIG_SIZE, CONFIG_OFF(minicore_max), 0, 0, 64u << 10, 256u << 20 },
	{ "Store", "SpillMax", CONFIG_SIZE, CONFIG_OFF(spill_max), 0, 0, 0, 1ull << 50 },
	{ "Store", "MiniCoreStackMax", CONFIG_SIZE, CONFIG_OFF(minicore_stack_max), 0, 0, 4u << 10, UINT64_MAX },
	{ "Policy", "MaxCoreSize", CONFIG_SIZE, CONFIG_OFF(max_core_size), 0, 0, 0, UINT64_MAX },
	{ "Policy", "MaxUse", CONFIG_SIZE_OR_PERCENT, CONFIG_OFF(max_use), 0, 0, 0, 0 },
	{ "Policy", "KeepFree", CONFIG_SIZE_OR_PERCENT, CONFIG_OFF(keep_free), 0, 0, 0, 0 },
	{ "Policy", "MaxAge", CONFIG_DURATION, CONFIG_OFF(max_age_sec), 0, 0, 0, CONFIG_AGE_MAX_SEC },
	{ "Policy", "RecordMaxAge", CONFIG_DURATION, CONFIG_OFF(record_max_age_sec), 0, 0, 0, CONFIG_AGE_MAX_SEC },
	{ "Policy", "KeepPerSignature", CONFIG_INT, CONFIG_OFF(keep_per_signature), 0, 1000, 0, 0 },
	{ "Policy", "RateLimit", CONFIG_RATE, CONFIG_OFF(rate_limit), 0, 0, 1, 30 * 86400 },
	{ "Policy", "MaxConcurrent", CONFIG_INT, CONFIG_OFF(max_concurrent), 0, 4096, 0, 0 },
	{ "Policy", "HonorCoreLimit", CONFIG_BOOL, CONFIG_OFF(honor_core_limit), 0, 0, 0, 0 },
	{ "Collect", "RedactEnvironment", CONFIG_GLOBS, CONFIG_OFF(redact), 0, 0, 0, 0 },
	{ "Collect", "RedactArguments", CONFIG_GLOBS, CONFIG_OFF(redact_args), 0, 0, 0, 0 },
	{ "Collect", "ProcItemMax", CONFIG_SIZE, CONFIG_OFF(proc_item_max), 0, 0, 4u << 10, 64u << 20 },
	{ "Collect", "JournalLines", CONFIG_INT, CONFIG_OFF(journal_lines), 0, 1000, 0, 0 },
	{ "Collect", "CaptureBudget", CONFIG_MSEC, CONFIG_OFF(capture_budget_ms), 0, 0, 0, 60000 },
	{ "Analysis", "Timeout", CONFIG_INT, CONFIG_OFF(analysis_timeout_sec), 1, 3600, 0, 0 },
	{ "Analysis", "MaxMemory", CONFIG_SIZE, CONFIG_OFF(analysis_max_memory), 0, 0, 64u << 20, 64ull << 30 },
	{ "Analysis", "DebuginfodURLs", CONFIG_URLS, CONFIG_OFF(debuginfod_urls), 0, 0, 0, 0 },
	{ "Analysis", "DebuginfodTimeout", CONFIG_INT, CONFIG_OFF(debuginfod_timeout_sec), 1, 300, 0, 0 },
	{ "Daemon", "SocketDirectory", CONFIG_ABS_PATH, CONFIG_OFF(socket_dir), 0, 0, 0, 0 },
	{ "Daemon", "PoolSize", CONFIG_SIZE, CONFIG_OFF(pool_size), 0, 0, 0, 1ull << 40 },
	{ "Daemon", "HandoffTimeout", CONFIG_MSEC, CONFIG_OFF(handoff_timeout_ms), 0, 0, 10, 60000 },
	{ "Daemon", "StallTimeout", CONFIG_DURATION, CONFIG_OFF(stall_timeout_sec), 0, 0, 1, 3600 },
	{ "Daemon", "ParkAfter", CONFIG_DURATION, CONFIG_OFF(park_after_sec), 0, 0, 0, 3600 },
	{ "Upload", "Endpoint", CONFIG_URL, CONFIG_OFF(upload_endpoint), 0, 0, 0, 0 },
	{ "Upload", "Bucket", CONFIG_NAME, CONFIG_OFF(upload_bucket), 0, 0, 0, 0 },
	{ "Upload", "Region", CONFIG_NAME, CONFIG_OFF(upload_region), 0, 0, 0, 0 },
	{ "Upload", "Prefix", CONFIG_NAME, CONFIG_OFF(upload_prefix), 0, 0, 0, 0 },
	{ "Upload", "CredentialsFile", CONFIG_ABS_PATH, CONFIG_OFF(upload_credentials), 0, 0, 0, 0 },
	{ "Upload", "Cores", CONFIG_CORES, CONFIG_OFF(upload_cores), 0, 0, 0, 0 },
	{ "Upload", "MaxQueue", CONFIG_SIZE, CONFIG_OFF(upload_max_queue), 0, 0, 0, 1ull << 50 },
};

/* State while one file is parsed. */
struct config_ctx {
	struct mortem_config *c;
	const char *file;  /* not owned */
	unsigned line;
	char *section;     /* points into the file buffer; NULL before the first header */
	config_warn_fn warn;
	void *userdata;
	bool bad_value;
};

/* A list of globs is an array of CONFIG_REDACT_MAX strings followed by its
 * count (redact and n_redact, redact_args and n_redact_args). */
_Static_assert(offsetof(struct mortem_config, n_redact) ==
		       offsetof(struct mortem_config, redact) + CONFIG_REDACT_MAX * sizeof(char *),
	       "n_redact follows redact");
_Static_assert(offsetof(struct mortem_config, n_redact_args) ==
		       offsetof(struct mortem_config, redact_args) + CONFIG_REDACT_MAX * sizeof(char *),
	       "n_redact_args follows redact_args");

static void config_free_globs(char **pats, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free(pats[i]);
		pats[i] = NULL;
	}
	*n = 0;
}

static void config_free_redact(struct mortem_config *c)
{
	config_free_globs(c->redact, &c->n_redact);
	config_free_globs(c->redact_args, &c->n_redact_args);
}

void config_free(struct mortem_config *c)
{
	if (!c)
		return;
	free(c->store_path);
	c->store_path = NULL;
	free(c->debuginfod_urls);
	c->debuginfod_urls = NULL;
	free(c->socket_dir);
	c->socket_dir = NULL;
	free(c->upload_endpoint);
	free(c->upload_bucket);
	free(c->upload_region);
	free(c->upload_prefix);
	free(c->upload_credentials);
	c->upload_endpoint = c->upload_bucket = c->upload_region = c->upload_prefix = NULL;
	c->upload_credentials = NULL;
	config_free_redact(c);
}

int config_init(struct mortem_config *c)
{
	*c = (struct mortem_config){
		.compress_level = -1,
		.compress_threads = 1,
		.recompress_level = 3,
		.recompress_inline = 1,
		.minicore_max = 32u << 20,
		.minicore_stack_max = 1u << 20,
		.max_core_size = UINT64_C(32) << 30,
		.max_use = { .percent = 10, .cap = CONFIG_DEFAULT_QUOTA_CAP },
		.keep_free = { .percent = 15, .cap = CONFIG_DEFAULT_QUOTA_CAP },
		.max_age_sec = 14 * 86400,
		.record_max_age_sec = 90 * 86400,
		.keep_per_signature = 3,
		.rate_limit = { .burst = 5, .interval_sec = 600 },
		.max_concurrent = 0,
		.honor_core_limit = true,
		.proc_item_max = 256u << 10,
		.journal_lines = 50,
		.capture_budget_ms = 50,
		.analysis_timeout_sec = 60,
		.analysis_max_memory = 1ull << 30,
		.debuginfod_timeout_sec = 30,
		.pool_size = 0,
		.handoff_timeout_ms = 1000,
		.stall_timeout_sec = 30,
		.park_after_sec = 10,
		.spill_max = 8ull << 30,
		.upload_cores = CONFIG_UPLOAD_CORES_FIRST,
		.upload_max_queue = 4ull << 30,
	};
	c->store_path = strdup(LOCALSTATEDIR "/lib/mortem");
	if (!c->store_path)
		goto oom;
	c->socket_dir = strdup(CONFIG_DEFAULT_SOCKET_DIR);
	if (!c->socket_dir)
		goto oom;
	c->upload_bucket = strdup("mortem");
	c->upload_region = strdup("us-east-1");
	c->upload_credentials = strdup(SYSCONFDIR "/mortem/upload-credentials");
	if (!c->upload_bucket || !c->upload_region || !c->upload_credentials)
		goto oom;
	for (size_t i = 0; i < ARRAY_SIZE(config_redact_default); i++) {
		c->redact[i] = strdup(config_redact_default[i]);
		if (!c->redact[i])
			goto oom;
		c->n_redact++;
	}
	for (size_t i = 0; i < ARRAY_SIZE(config_redact_args_default); i++) {
		c->redact_args[i] = strdup(config_redact_args_default[i]);
		if (!c->redact_args[i])
			goto oom;
		c->n_redact_args++;
	}
	return 0;
oom:
	config_free(c);
	return -ENOMEM;
}

/* "FILE:LINE: message", or "FILE: message" when line is 0. */
__attribute__((format(printf, 3, 4)))
static void config_warnf(const struct config_ctx *ctx, unsigned line, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL, *full = NULL;
	va_list ap;
	int r;

	if (!ctx->warn)
		return;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		msg = NULL;
		return;
	}
	if (line > 0)
		r = asprintf(&full, "%s:%u: %s", ctx->file, line, msg);
	else
		r = asprintf(&full, "%s: %s", ctx->file, msg);
	if (r < 0) {
		full = NULL;
		return;
	}
	ctx->warn(ctx->userdata, full);
}

static int config_set_path(struct config_ctx *ctx, const struct config_key *k, const char *value)
{
	char **dst = (char **)((char *)ctx->c + k->offset);
	char *s;

	if (value[0] != '/') {
		config_warnf(ctx, ctx->line, "key '%s': path '%s' is not absolute", k->key, value);
		return -EINVAL;
	}
	s = strdup(value);
	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int config_set_int(struct config_ctx *ctx, const struct config_key *k, const char *value)
{
	int *dst = (int *)(void *)((char *)ctx->c + k->offset);
	int v, r;

	r = parse_int(value, &v);
	if (r == -EINVAL) {
		config_warnf(ctx, ctx->line, "key '%s': invalid integer '%s'", k->key, value);
		return -EINVAL;
	}
	/* parse_int's -ERANGE is reported as out of range too */
	if (r < 0 || v < k->min || v > k->max) {
		config_warnf(ctx, ctx->line, "key '%s': value '%s' out of range %lld..%lld",
			     k->key, value, (long long)k->min, (long long)k->max);
		return -EINVAL;
	}
	*dst = v;
	return 0;
}

static int config_set_bool(struct config_ctx *ctx, const struct config_key *k, const char *value)
{
	bool *dst = (bool *)(void *)((char *)ctx->c + k->offset);
	int v;

	if (parse_bool(value, &v) < 0) {
		config_warnf(ctx, ctx->line, "key '%s': invalid boolean '%s' (yes or no)", k->key, value);
		return -EINVAL;
	}
	*dst = v != 0;
	return 0;
}

static int config_set_size(struct config_ctx *ctx, const struct config_key *k, const char *value)
{
	uint64_t *dst = (uint64_t *)(void *)((char *)ctx->c + k->offset);
	char lim[32];
	uint64_t v;
	int r;

	r = parse_size(value, &v);
	if (r == -ERANGE) {
		config_warnf(ctx, ctx->line, "key '%s': size '%s' too large", k->key, value);
		return -EINVAL;
	}
	if (r < 0) {
		config_warnf(ctx, ctx->line, "key '%s': invalid size '%s'", k->key, value);
		return -EINVAL;
	}
	if (v < k->size_min) {
		format_size(k->size_min, lim, sizeof(lim));
		config_warnf(ctx, ctx->line, "key '%s': size '%s' below minimum %s", k->key, value, lim);
		return -EINVAL;
	}
	if (v > k->size_max) {
		format_size(k->size_max, lim, sizeof(lim));
		config_warnf(ctx, ctx->line, "key '%s': size '%s' above maximum %s", k->key, value, lim);
		return -EINVAL;
	}
	*dst = v;
	return 0;
}

/* A size; or "10%" (0..100), optionally "10% max 4G": a share of the store's
 * file system with an upper bound. "0" and "0%" both mean no limit. */
static int config_set_quota(struct config_ctx *ctx, const struct config_key *k, const char *value)
{
	struct config_quota *dst = (struct config_quota *)(void *)((char *)ctx->c + k->offset);
	_cleanup_free_ char *head = NULL;
	const char *pct = strchr(value, '%'), *cap_s = NULL;
	uint64_t bytes = 0, cap = 0;
	unsigned percent = 0;
	int r;

	if (pct && pct[1] != '\0') {
		const char *p = pct + 1;
		size_t sp = strspn(p, " \t");

		if (sp > 0 && strncmp(p + sp, "max", 3) == 0 && strspn(p + sp + 3, " \t") > 0)
			cap_s = p + sp + 3 + strspn(p + sp + 3, " \t");
		if (!cap_s || parse_size(cap_s, &cap) < 0) {
			config_warnf(ctx, ctx->line, "key '%s': invalid size or percent '%s'", k->key, value);
			return -EINVAL;
		}
		head = strndup(value, (size_t)(pct + 1 - value));
		if (!head)
			return -ENOMEM;
	}
	r = parse_size_or_percent(head ? head : value, &bytes, &percent);
	if (r == -ERANGE && pct) {
		config_warnf(ctx, ctx->line, "key '%s': percent '%s' out of range 0..100%%", k->key, value);
		return -EINVAL;
	}
	if (r == -ERANGE) {
		config_warnf(ctx, ctx->line, "key '%s': size '%s' too large", k->key, value);
		return -EINVAL;
	}
	if (r < 0) {
		config_warnf(ctx, ctx->line, "key '%s': invalid size or percent '%s'", k->key, value);
		return -EINVAL;
	}
	*dst = r == 1 ? (struct config_quota){ .percent = percent, .cap = percent > 0 ? cap : 0 }
		      : (struct config_quota){ .bytes = bytes };
	return 0;
}

/* A duration within the key's bounds; warns naming the key. */
static int config_parse_duration(struct config_ctx *ctx, const struct config_key *k,
				 const char *value, uint64_t *ret)
{
	char lim[32];
	uint64_t v;
	int r;

	r = parse_duration(value, &v);
	if (r == -EINVAL) {
		config_warnf(ctx, ctx->line, "key '%s': invalid duration '%s'", k->key, value);
		return -EINVAL;
	}
	if (r < 0 || v > k->size_max) {
		format_duration(k->size_max, lim, sizeof(lim));
		config_warnf(ctx, ctx->line, "key '%s': duration '%s' above maximum %s", k->key, value, lim);
		return -EINVAL;
	}
	if (v < k->size_min) {
		format_duration(k->size_min, lim, sizeof(lim));
		config_warnf(ctx, ctx->line, "key '%s': duration '%s' below minimum %s", k->key, value, lim);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int config_set_duration(struct config_ctx *ctx, const struct config_key *k, const char *value)
{
	uint64_t *dst = (uint64_t *)(void *)((char *)ctx->c + k->offset);
	uint64_t v;
	int r;

	r = config_parse_duration(ctx, k, value, &v);
	if (r < 0)
		return r;
	*dst = v;
	return 0;
}

/* "250ms", or a duration in seconds and up ("1s", "2min"). */
static int config_set_msec(struct config_ctx *ctx, const struct config_key *k, const char *value)
{
	uint64_t *dst = (uint64_t *)(void *)((char *)ctx->c + k->offset);
	size_t n = strlen(value);
	uint64_t v;
	int r;

	if (n > 2 && strcmp(value + n - 2, "ms") == 0) {
		_cleanup_free_ char *num = strndup(value, n - 2);
		if (!num)
			return -ENOMEM;
		r = parse_u64(num, &v);
	} else {
		r = parse_duration(value, &v);
		if (r >= 0 && v > UINT64_MAX / 1000)
			r = -ERANGE;
		if (r >= 0)
			v *= 1000;
	}
	if (r < 0 || v < k->size_min || v > k->size_max) {
		config_warnf(ctx, ctx->line, "key '%s': '%s' is not a time between %llums and %llums", k->key, value,
			     (unsigned long long)k->size_min, (unsigned long long)k->size_max);
		return -EINVAL;
	}
	*dst = v;
	return 0;
}

/* "N/INTERVAL" (5/10min: five per ten minutes), or "0" for no limit; N = 0 with
 * an interval is no limit too. */
static int config_set_rate(struct config_ctx *ctx, const struct config_key *k, const char *value)
{
	struct config_rate *dst = (struct config_rate *)(void *)((char *)ctx->c + k->offset);
	_cleanup_free_ char *burst_s = NULL;
	const char *slash = strchr(value, '/');
	uint64_t interval;
	uint32_t burst;
	int r;

	if (strcmp(value, "0") == 0) {
		*dst = (struct config_rate){ 0 };
		return 0;
	}
	if (!slash) {
		config_warnf(ctx, ctx->line, "key '%s': invalid rate '%s', expected N/INTERVAL or 0",
			     k->key, value);
		return -EINVAL;
	}
	burst_s = strndup(value, (size_t)(slash - value));
	if (!burst_s)
		return -ENOMEM;
	r = parse_u32(burst_s, &burst);
	if (r == -EINVAL) {
		config_warnf(ctx, ctx->line, "key '%s': invalid rate '%s', expected N/INTERVAL or 0",
			     k->key, value);
		return -EINVAL;
	}
	if (r < 0 || burst > CONFIG_RATE_BURST_MAX) {
		config_warnf(ctx, ctx->line, "key '%s': count '%s' out of range 0..%d", k->key, burst_s,
			     CONFIG_RATE_BURST_MAX);
		return -EINVAL;
	}
	r = config_parse_duration(ctx, k, slash + 1, &interval);
	if (r < 0)
		return r;
	*dst = burst == 0 ? (struct config_rate){ 0 }
			  : (struct config_rate){ .burst = burst, .interval_sec = interval };
	return 0;
}

/* Space-separated patterns replace the list; an empty value clears it. The new
 * list is built aside so that a rejected value leaves the old one whole. */
static int config_set_globs(struct config_ctx *ctx, const struct config_key *k, const char *value)
{
	char *pats[CONFIG_REDACT_MAX];
	size_t n = 0;
	const char *p = value;

	for (;;) {
		size_t len;

		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		len = strcspn(p, " \t");
		if (n == CONFIG_REDACT_MAX) {
			for (size_t i = 0; i < n; i++)
				free(pats[i]);
			config_warnf(ctx, ctx->line, "key '%s': more than %d patterns",
				     k->key, CONFIG_REDACT_MAX);
			return -EINVAL;
		}
		pats[n] = strndup(p, len);
		if (!pats[n]) {
			for (size_t i = 0; i < n; i++)
				free(pats[i]);
			return -ENOMEM;
		}
		n++;
		p += len;
	}

	char **list = (char **)(void *)((char *)ctx->c + k->offset);
	size_t *count = (size_t *)(list + CONFIG_REDACT_MAX);
	config_free_globs(list, count);
	memcpy(list, pats, n * sizeof(pats[0]));
	*count = n;
	return 0;
}

/* Space-separated http:// or https:// URLs, kept as one string with single
 * spaces (the form DEBUGINFOD_URLS takes); an empty value means none (NULL).
 * Any other scheme rejects the whole value: libcurl would also speak file://,
 * ftp:// and more, and the sandbox only opens what debuginfod needs. */
static int config_set_urls(struct config_ctx *ctx, const struct config_key *k, const char *value)
{
	char **dst = (char **)((char *)ctx->c + k->offset);
	_cleanup_free_ char *s = malloc(strlen(value) + 1);
	const char *p = value;
	size_t n = 0;

	if (!s)
		return -ENOMEM;
	for (;;) {
		size_t len, scheme;

		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		len = strcspn(p, " \t");
		scheme = strncmp(p, "http://", 7) == 0 ? 7 : strncmp(p, "https://", 8) == 0 ? 8 : 0;
		if (scheme == 0 || len == scheme) {
			config_warnf(ctx, ctx->line, "key '%s': '%.*s' is not an http:// or https:// URL",
				     k->key, (int)len, p);
			return -EINVAL;
		}
		if (n > 0)
			s[n++] = ' ';
		memcpy(s + n, p, len);
		n += len;
		p += len;
	}
	s[n] = '\0';
	free(*dst);
	*dst = n > 0 ? TAKE_PTR(s) : NULL;
	return 0;
}

/* One http:// or https:// URL without white space or a path beyond "/" (the
 * bucket and the keys are added to it); empty = none (NULL). */
static int config_set_url(struct config_ctx *ctx, const struct config_key *k, const char *value)
{
	char **dst = (char **)((char *)ctx->c + k->offset);
	size_t scheme = strncmp(value, "http://", 7) == 0 ? 7 : strncmp(value, "https://", 8) == 0 ? 8 : 0;
	char *s;

	if (!*value) {
		free(*dst);
		*dst = NULL;
		return 0;
	}
	const char *slash = scheme ? strchr(value + scheme, '/') : NULL;
	if (scheme == 0 || value[scheme] == '\0' || value[scheme] == '/' || strpbrk(value, " \t?#@") ||
	    (slash && slash[1] != '\0')) {
		config_warnf(ctx, ctx->line, "key '%s': '%s' is not an http://HOST[:PORT] or https://HOST[:PORT] URL",
			     k->key, value);
		return -EINVAL;
	}
	if (!(s = strdup(value)))
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

/* A name that goes into object keys or the URL as is: [A-Za-z0-9._/-], no
 * leading or trailing '/', no "//" or ".."; empty = none (NULL). */
static int config_set_name(struct config_ctx *ctx, const struct config_key *k, const char *value)
{
	char **dst = (char **)((char *)ctx->c + k->offset);
	size_t n = strlen(value);
	char *s;

	if (n == 0) {
		free(*dst);
		*dst = NULL;
		return 0;
	}
	if (n > CONFIG_UPLOAD_NAME_MAX ||
	    strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-") != n ||
	    value[0] == '/' || value[n - 1] == '/' || strstr(value, "//") || strstr(value, "..")) {
		config_warnf(ctx, ctx->line, "key '%s': '%s' is not a name of letters, digits and . _ - /", k->key,
			     value);
		return -EINVAL;
	}
	if (!(s = strdup(value)))
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int config_set_cores(struct config_ctx *ctx, const struct config_key *k, const char *value)
{
	int *dst = (int *)(void *)((char *)ctx->c + k->offset);

	if (strcmp(value, "none") == 0)
		*dst = CONFIG_UPLOAD_CORES_NONE;
	else if (strcmp(value, "first") == 0)
		*dst = CONFIG_UPLOAD_CORES_FIRST;
	else if (strcmp(value, "all") == 0)
		*dst = CONFIG_UPLOAD_CORES_ALL;
	else {
		config_warnf(ctx, ctx->line, "key '%s': '%s' is not one of none, first, all", k->key, value);
		return -EINVAL;
	}
	return 0;
}

static int config_apply(struct config_ctx *ctx, const char *key, const char *value)
{
	const struct config_key *k = NULL;

	if (!ctx->section) {
		config_warnf(ctx, ctx->line, "key '%s' outside of any section, ignored", key);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
		if (strcmp(config_keys[i].section, ctx->section) == 0 &&
		    strcmp(config_keys[i].key, key) == 0) {
			k = &config_keys[i];
			break;
		}
	}
	if (!k) {
		config_warnf(ctx, ctx->line, "unknown key '%s' in section [%s]", key, ctx->section);
		return 0;
	}
	switch (k->type) {
	case CONFIG_ABS_PATH:
		return config_set_path(ctx, k, value);
	case CONFIG_INT:
		return config_set_int(ctx, k, value);
	case CONFIG_SIZE:
		return config_set_size(ctx, k, value);
	case CONFIG_GLOBS:
		return config_set_globs(ctx, k, value);
	case CONFIG_URLS:
		return config_set_urls(ctx, k, value);
	case CONFIG_SIZE_OR_PERCENT:
		return config_set_quota(ctx, k, value);
	case CONFIG_DURATION:
		return config_set_duration(ctx, k, value);
	case CONFIG_RATE:
		return config_set_rate(ctx, k, value);
	case CONFIG_MSEC:
		return config_set_msec(ctx, k, value);
	case CONFIG_URL:
		return config_set_url(ctx, k, value);
	case CONFIG_NAME:
		return config_set_name(ctx, k, value);
	case CONFIG_CORES:
		return config_set_cores(ctx, k, value);
	case CONFIG_BOOL:
		return config_set_bool(ctx, k, value);
	}
	return -EINVAL;
}

static bool config_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Trim in place; returns the start of the trimmed string. */
static char *config_strip(char *s)
{
	size_t len;

	while (config_is_space(*s))
		s++;
	len = strlen(s);
	while (len > 0 && config_is_space(s[len - 1]))
		s[--len] = '\0';
	return s;
}

/* One line, already NUL-terminated. Returns 0, -EINVAL for a rejected line or
 * value (already warned about), or -ENOMEM. */
static int config_parse_line(struct config_ctx *ctx, char *line)
{
	char *eq, *key, *value;

	line = config_strip(line);
	if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
		return 0;

	if (line[0] == '[') {
		size_t len = strlen(line);
		if (len < 3 || line[len - 1] != ']' || strpbrk(line + 1, "[") ||
		    strchr(line, ']') != line + len - 1) {
			config_warnf(ctx, ctx->line, "invalid section header '%s'", line);
			/* keys that follow must not land in the previous section */
			ctx->section = NULL;
			return -EINVAL;
		}
		line[len - 1] = '\0';
		ctx->section = line + 1;
		return 0;
	}

	eq = strchr(line, '=');
	if (!eq) {
		config_warnf(ctx, ctx->line, "expected 'Key=Value' or '[Section]', got '%s'", line);
		return -EINVAL;
	}
	*eq = '\0';
	key = config_strip(line);
	value = config_strip(eq + 1);
	if (key[0] == '\0') {
		config_warnf(ctx, ctx->line, "missing key before '='");
		return -EINVAL;
	}
	return config_apply(ctx, key, value);
}

/* Parse a whole file held in buf (len bytes, NUL-terminated). The buffer is
 * modified: lines and section names are cut out of it in place. */
static int config_parse_buffer(struct config_ctx *ctx, char *buf, size_t len)
{
	char *p = buf, *end = buf + len;
	int r;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t line_len = (nl ? nl : end) - p;
		char *next = nl ? nl + 1 : end;

		ctx->line++;
		if (line_len > CONFIG_LINE_MAX) {
			config_warnf(ctx, ctx->line, "line longer than %d bytes, ignored", CONFIG_LINE_MAX);
			ctx->bad_value = true;
		} else if (memchr(p, '\0', line_len)) {
			config_warnf(ctx, ctx->line, "line contains a NUL byte, ignored");
			ctx->bad_value = true;
		} else {
			p[line_len] = '\0';
			r = config_parse_line(ctx, p);
			if (r == -ENOMEM)
				return r;
			if (r < 0)
				ctx->bad_value = true;
		}
		p = next;
	}
	return 0;
}

/* Returns 0, -EINVAL when a line or value was rejected, or the errno of reading
 * the file (not warned about here: the caller decides whether it matters). */
static int config_load_file(struct mortem_config *c, const char *file,
			    config_warn_fn warn, void *userdata)
{
	_cleanup_free_ char *buf = NULL;
	struct config_ctx ctx = {
		.c = c, .file = file, .warn = warn, .userdata = userdata,
	};
	size_t len;
	bool truncated;
	int r;

	r = read_file_at(AT_FDCWD, file, CONFIG_FILE_MAX, &buf, &len, &truncated);
	if (r < 0)
		return r;
	if (truncated) {
		config_warnf(&ctx, 0, "file larger than %u bytes, ignored", CONFIG_FILE_MAX);
		return -EFBIG;
	}
	r = config_parse_buffer(&ctx, buf, len);
	if (r < 0)
		return r;
	return ctx.bad_value ? -EINVAL : 0;
}

static int config_dropin_filter(const struct dirent *de)
{
	size_t len = strlen(de->d_name), sfx = strlen(CONFIG_DROPIN_SUFFIX);

	if (de->d_name[0] == '.' || de->d_type == DT_DIR)
		return 0;
	return len > sfx && strcmp(de->d_name + len - sfx, CONFIG_DROPIN_SUFFIX) == 0;
}

/* Keep the first hard (file) error; -EINVAL only when nothing worse happened. */
static void config_merge_result(int *ret, int r)
{
	if (r >= 0)
		return;
	if (*ret == 0 || (*ret == -EINVAL && r != -EINVAL))
		*ret = r;
}

static void config_warn_file(const char *file, int err, config_warn_fn warn, void *userdata)
{
	struct config_ctx ctx = { .file = file, .warn = warn, .userdata = userdata };

	config_warnf(&ctx, 0, "cannot read: %s", strerror(-err));
}

int config_load(struct mortem_config *c, const char *path, config_warn_fn warn, void *userdata)
{
	_cleanup_free_ char *dir = NULL;
	struct dirent **list = NULL;
	int ret = 0, r, n;

	if (!c || !path)
		return -EINVAL;

	r = config_load_file(c, path, warn, userdata);
	if (r == -ENOENT) {
		if (strcmp(path, CONFIG_DEFAULT_PATH) != 0) {
			config_warn_file(path, r, warn, userdata);
			return r;
		}
	} else if (r == -ENOMEM) {
		return r;
	} else if (r < 0) {
		if (r != -EINVAL && r != -EFBIG)
			config_warn_file(path, r, warn, userdata);
		config_merge_result(&ret, r);
	}

	if (asprintf(&dir, "%s.d", path) < 0) {
		dir = NULL;
		return -ENOMEM;
	}
	n = scandir(dir, &list, config_dropin_filter, alphasort);
	if (n < 0) {
		r = -errno;
		if (r == -ENOENT || r == -ENOTDIR)
			return ret;
		config_warn_file(dir, r, warn, userdata);
		config_merge_result(&ret, r);
		return ret;
	}

	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *file = NULL;

		if (ret != -ENOMEM) {
			if (asprintf(&file, "%s/%s", dir, list[i]->d_name) < 0) {
				file = NULL;
				ret = -ENOMEM;
			} else {
				r = config_load_file(c, file, warn, userdata);
				if (r < 0 && r != -EINVAL && r != -EFBIG && r != -ENOMEM)
					config_warn_file(file, r, warn, userdata);
				if (r == -ENOMEM)
					ret = r;
				else
					config_merge_result(&ret, r);
			}
		}
		free(list[i]);
	}
	free(list);
	return ret;
}
