/* policy.c: [Policy] decisions over plain structs. See policy.h.
 *
 * A crash's "key" is its owner (uid, system or user unit, slice) with its
 * signature, or with its executable path while it has none (before the
 * analysis, or when the analysis failed): cores are counted and grouped per
 * key, so that the same signature or executable crashing for two owners makes
 * two keys and one owner's crashes never count against the other's. The
 * "first occurrence" of a key is its oldest core still in the store. */
#include "store/policy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/util.h"

#define POLICY_WEIGHT_MIN_AGE_SEC 3600 /* younger cores weigh as if an hour old */

static uint64_t policy_add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t policy_sec_to_usec(uint64_t sec)
{
	return sec > UINT64_MAX / 1000000 ? UINT64_MAX : sec * 1000000;
}

/* Age of t at now; a time in the future (the clock went back) is age 0. */
static uint64_t policy_age(int64_t now, int64_t t)
{
	return t >= now ? 0 : (uint64_t)now - (uint64_t)t;
}

/* percent of size, rounded up so that a non-zero share never becomes "no limit" */
static uint64_t policy_percent_of(uint64_t size, unsigned percent)
{
	uint64_t v = size / 100 * percent + (size % 100 * percent + 99) / 100;

	return v == 0 && percent > 0 && size > 0 ? 1 : v;
}

/* A percentage of an unknown file system (fs_size 0) cannot be computed: one
 * with a bound ("10% max 4G", the defaults) is then its bound, one without is
 * no limit. */
static uint64_t policy_quota_resolve(const struct config_quota *q, uint64_t fs_size)
{
	uint64_t v;

	if (q->percent == 0)
		v = q->bytes;
	else if (fs_size == 0)
		return q->cap;
	else
		v = policy_percent_of(fs_size, q->percent);
	if (q->cap > 0 && v > q->cap)
		v = q->cap;
	return v;
}

void policy_limits_resolve(const struct mortem_config *cfg, uint64_t fs_size, unsigned ncpu,
			   struct policy_limits *out)
{
	*out = (struct policy_limits){
		.max_core_size = cfg->max_core_size,
		.max_use = policy_quota_resolve(&cfg->max_use, fs_size),
		.keep_free = policy_quota_resolve(&cfg->keep_free, fs_size),
		.max_age_usec = policy_sec_to_usec(cfg->max_age_sec),
		.record_max_age_usec = policy_sec_to_usec(cfg->record_max_age_sec),
		.keep_per_signature = cfg->keep_per_signature > 0 ? (unsigned)cfg->keep_per_signature : 0,
		.rate_burst = cfg->rate_limit.interval_sec > 0 ? cfg->rate_limit.burst : 0,
		.rate_interval_usec = policy_sec_to_usec(cfg->rate_limit.interval_sec),
		.max_concurrent = cfg->max_concurrent > 0 ? (unsigned)cfg->max_concurrent
							  : ncpu > 0 ? ncpu : 1,
	};
}

static const char *policy_key(const struct policy_entry *e)
{
	return e->signature ? e->signature : e->exe ? e->exe : "";
}

/* A component "user@<digits>.service" within [p, end). */
static bool policy_path_user_manager(const char *p, const char *end)
{
	while (p < end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *ce = slash ? slash : end;
		size_t len = (size_t)(ce - p), digits = 0;

		if (len > 13 && memcmp(p, "user@", 5) == 0 && memcmp(ce - 8, ".service", 8) == 0) {
			for (const char *d = p + 5; d < ce - 8 && *d >= '0' && *d <= '9'; d++)
				digits++;
			if (digits > 0 && digits == len - 13)
				return true;
		}
		p = ce + 1;
	}
	return false;
}

/* The cgroup v2 line decides when there is one (as in cgroup_unit()); the v1
 * name=systemd line only on hosts without it. */
bool policy_cgroup_user_unit(const char *cgroup)
{
	const char *v1 = NULL, *v1_end = NULL;

	if (!cgroup)
		return false;
	for (const char *line = cgroup; *line;) {
		const char *eol = strchrnul(line, '\n');

		if (strncmp(line, "0::", 3) == 0 && line + 3 <= eol)
			return policy_path_user_manager(line + 3, eol);
		const char *hit = memmem(line, (size_t)(eol - line), ":name=systemd:", 14);
		if (!v1 && hit) {
			v1 = hit + 14;
			v1_end = eol;
		}
		line = *eol ? eol + 1 : eol;
	}
	return v1 ? policy_path_user_manager(v1, v1_end) : false;
}

static int policy_strcmp_null(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static int policy_owner_cmp(const struct policy_owner *a, const struct policy_owner *b)
{
	if (a->uid != b->uid)
		return a->uid < b->uid ? -1 : 1;
	if (a->user_unit != b->user_unit)
		return (int)a->user_unit - (int)b->user_unit;
	return policy_strcmp_null(a->slice, b->slice);
}

bool policy_owner_eq(const struct policy_owner *a, const struct policy_owner *b)
{
	return policy_owner_cmp(a, b) == 0;
}

/* Owners first; within one, signatures and executable paths are different
 * name spaces. */
static int policy_key_cmp(const struct policy_entry *a, const struct policy_entry *b)
{
	int sa = a->signature != NULL, sb = b->signature != NULL;
	int r = policy_owner_cmp(&a->owner, &b->owner);

	if (r != 0)
		return r;
	if (sa != sb)
		return sa - sb;
	return strcmp(policy_key(a), policy_key(b));
}

/* " (uid N, user unit)" for the details, "" for root's system side so that its
 * messages read as they always did. */
static void policy_owner_format(const struct policy_owner *o, char *buf, size_t len)
{
	if (o->uid == 0 && !o->user_unit)
		buf[0] = '\0';
	else if (o->uid < 0)
		(void)snprintf(buf, len, " (uid unknown%s)", o->user_unit ? ", user unit" : "");
	else
		(void)snprintf(buf, len, " (uid %" PRId64 "%s)", o->uid, o->user_unit ? ", user unit" : "");
}

static bool policy_over(const struct policy_limits *l, uint64_t used, uint64_t fs_free)
{
	return (l->max_use > 0 && used > l->max_use) || (l->keep_free > 0 && fs_free < l->keep_free);
}

/* ---- the vacuum planner, shared by policy_vacuum_plan() and policy_decide() ---- */

enum policy_class {
	POLICY_CLS_NONE,   /* no core left, already planned, or protected */
	POLICY_CLS_REPEAT, /* neither the first nor among the newest kept of its key */
	POLICY_CLS_OTHER,  /* among the newest kept of its key */
	POLICY_CLS_FIRST,  /* the first occurrence of its key */
};

struct policy_item {
	const struct policy_entry *e; /* not owned */
	enum policy_class cls;
	bool protect;
	bool gone;                    /* deleted by an earlier step */
	double weight;                /* size times age */
};

struct policy_plan {
	const struct policy_limits *l; /* not owned */
	uint64_t used, fs_free;        /* as they will be after the actions so far */
	uint64_t freed;
	struct policy_action *out;     /* NULL: only count (a dry run) */
	size_t nout;
};

static void policy_plan_add(struct policy_plan *p, struct policy_item *it, enum policy_what what,
			    const char *reason)
{
	uint64_t bytes = it->e->core_bytes;

	if (what == POLICY_DELETE_RECORD)
		bytes = policy_add_sat(bytes, it->e->record_bytes);
	p->used = p->used > bytes ? p->used - bytes : 0;
	p->fs_free = policy_add_sat(p->fs_free, bytes);
	p->freed = policy_add_sat(p->freed, bytes);
	if (p->out)
		p->out[p->nout] = (struct policy_action){ .id = it->e->id, .what = what, .reason = reason };
	p->nout++;
	it->gone = true;
	it->cls = POLICY_CLS_NONE;
}

static int policy_cmp_group(const void *a, const void *b)
{
	const struct policy_item *x = *(const struct policy_item *const *)a;
	const struct policy_item *y = *(const struct policy_item *const *)b;
	int r = policy_key_cmp(x->e, y->e);

	if (r != 0)
		return r;
	if (x->e->time_usec != y->e->time_usec)
		return x->e->time_usec < y->e->time_usec ? -1 : 1;
	return strcmp(x->e->id ? x->e->id : "", y->e->id ? y->e->id : "");
}

static int policy_cmp_oldest(const void *a, const void *b)
{
	const struct policy_item *x = *(const struct policy_item *const *)a;
	const struct policy_item *y = *(const struct policy_item *const *)b;

	if (x->e->time_usec != y->e->time_usec)
		return x->e->time_usec < y->e->time_usec ? -1 : 1;
	return strcmp(x->e->id ? x->e->id : "", y->e->id ? y->e->id : "");
}

static int policy_cmp_heaviest(const void *a, const void *b)
{
	const struct policy_item *x = *(const struct policy_item *const *)a;
	const struct policy_item *y = *(const struct policy_item *const *)b;

	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return policy_cmp_oldest(a, b);
}

/* Mark each remaining core FIRST, REPEAT or OTHER within its key. sorted is
 * scratch room for n pointers. */
static void policy_classify(const struct policy_limits *l, struct policy_item *items, size_t n,
			    struct policy_item **sorted)
{
	/* with no count limit, a key's first and newest cores are still the last of it to go */
	size_t keep_newest = l->keep_per_signature > 0 ? l->keep_per_signature - 1 : 1;
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (!items[i].gone && items[i].e->core_bytes > 0)
			sorted[m++] = &items[i];
	qsort(sorted, m, sizeof(sorted[0]), policy_cmp_group);
	for (size_t start = 0; start < m;) {
		size_t end = start + 1;

		while (end < m && policy_key_cmp(sorted[start]->e, sorted[end]->e) == 0)
			end++;
		for (size_t j = start; j < end; j++) {
			size_t pos = j - start, g = end - start;

			if (pos == 0)
				sorted[j]->cls = POLICY_CLS_FIRST;
			else if (pos + keep_newest >= g)
				sorted[j]->cls = POLICY_CLS_OTHER;
			else
				sorted[j]->cls = POLICY_CLS_REPEAT;
			/* a protected core counts in its key, but never goes */
			if (sorted[j]->protect)
				sorted[j]->cls = POLICY_CLS_NONE;
		}
		start = end;
	}
}

/* Delete cores of class cls, in the order cmp gives, while over the limits. */
static void policy_plan_quota(struct policy_plan *p, struct policy_item *items, size_t n,
			      struct policy_item **sorted, enum policy_class cls,
			      int (*cmp)(const void *, const void *), const char *reason)
{
	size_t m = 0;

	if (!policy_over(p->l, p->used, p->fs_free))
		return;
	for (size_t i = 0; i < n; i++)
		if (items[i].cls == cls)
			sorted[m++] = &items[i];
	qsort(sorted, m, sizeof(sorted[0]), cmp);
	for (size_t j = 0; j < m && policy_over(p->l, p->used, p->fs_free); j++)
		policy_plan_add(p, sorted[j], POLICY_DELETE_CORE, reason);
}

/* The vacuum order: cores past MaxAge, records past RecordMaxAge, then while
 * over MaxUse or under KeepFree: repeats oldest first, the other non-first
 * cores heaviest (size times age) first, and, only when allow_firsts, first
 * occurrences heaviest first. p->used and p->fs_free hold the usage to start
 * from. */
static int policy_plan_run(struct policy_plan *p, const struct policy_entry *entries, size_t n,
			   int64_t now, const char *protect_id, bool allow_firsts)
{
	const struct policy_limits *l = p->l;
	_cleanup_free_ struct policy_item *items = NULL;
	_cleanup_free_ struct policy_item **sorted = NULL;

	if (n == 0)
		return 0;
	items = calloc(n, sizeof(items[0]));
	sorted = calloc(n, sizeof(sorted[0]));
	if (!items || !sorted)
		return -ENOMEM;

	for (size_t i = 0; i < n; i++) {
		const struct policy_entry *e = &entries[i];
		uint64_t age_sec = policy_age(now, e->time_usec) / 1000000;

		items[i].e = e;
		items[i].protect = protect_id && e->id && strcmp(e->id, protect_id) == 0;
		if (age_sec < POLICY_WEIGHT_MIN_AGE_SEC)
			age_sec = POLICY_WEIGHT_MIN_AGE_SEC;
		items[i].weight = (double)e->core_bytes * (double)age_sec;
	}

	for (size_t i = 0; i < n; i++) {
		uint64_t age = policy_age(now, entries[i].time_usec);

		if (items[i].protect || entries[i].core_bytes == 0)
			continue;
		if (l->record_max_age_usec > 0 && age > l->record_max_age_usec)
			continue; /* goes whole in the next step */
		if (l->max_age_usec > 0 && age > l->max_age_usec)
			policy_plan_add(p, &items[i], POLICY_DELETE_CORE, "older than MaxAge");
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t age = policy_age(now, entries[i].time_usec);

		if (items[i].protect || items[i].gone)
			continue;
		if (l->record_max_age_usec > 0 && age > l->record_max_age_usec)
			policy_plan_add(p, &items[i], POLICY_DELETE_RECORD, "record older than RecordMaxAge");
	}

	policy_classify(l, items, n, sorted);
	policy_plan_quota(p, items, n, sorted, POLICY_CLS_REPEAT, policy_cmp_oldest,
			  "disk quota: a repeat of a signature with kept cores");
	policy_plan_quota(p, items, n, sorted, POLICY_CLS_OTHER, policy_cmp_heaviest,
			  "disk quota: largest and oldest");
	if (allow_firsts)
		policy_plan_quota(p, items, n, sorted, POLICY_CLS_FIRST, policy_cmp_heaviest,
				  "disk quota: first occurrence, nothing else left");
	return 0;
}

/* Vacuum policy: cores older than MaxAge go first, keeping their records and
 * minicores; then whole entries older than RecordMaxAge. Then, while the store
 * is over MaxUse or its file system under KeepFree, cores go in this order:
 * repeats of a signature (neither its first occurrence nor among its newest
 * KeepPerSignature-1; with KeepPerSignature=0, its newest one), oldest first;
 * then every other core but first occurrences, heaviest first, where a core
 * weighs its size times its age (at least an hour), so the large and old go
 * before the small and new; and only when nothing else is left, first
 * occurrences, heaviest first. protect_id (the core just written) is never
 * deleted but counts in its signature. Ages come from now_usec alone: an entry
 * in the future is age 0, so a clock that jumps back deletes nothing early. */
int policy_vacuum_plan(const struct policy_limits *l, const struct policy_usage *usage,
		       const struct policy_entry *entries, size_t n, int64_t now_usec,
		       const char *protect_id, struct policy_action *out, size_t *nout)
{
	struct policy_plan p;
	int r;

	if (!l || !usage || (n > 0 && (!entries || !out)) || !nout)
		return -EINVAL;
	p = (struct policy_plan){
		.l = l, .used = usage->store_used, .fs_free = usage->fs_free, .out = out,
	};
	r = policy_plan_run(&p, entries, n, now_usec, protect_id, true);
	if (r < 0)
		return r;
	*nout = p.nout;
	return policy_over(l, p.used, p.fs_free) ? 1 : 0;
}

static size_t policy_rate_count(const struct policy_limits *l, const struct policy_state *s,
				int64_t now)
{
	size_t count = 0;

	for (size_t i = 0; i < s->n_rate_times; i++)
		if (policy_age(now, s->rate_times[i]) < l->rate_interval_usec)
			count++;
	return count;
}

/* Collection policy, decided before the core is read: a core whose known size
 * is over MaxCoreSize is not stored ("too-large"). Then the disk quota: the
 * store's usage, plus what other collectors have reserved, plus an estimate of
 * this core, must fit MaxUse and leave KeepFree, after deleting what a vacuum
 * could delete to make room (cores past MaxAge, records past RecordMaxAge,
 * repeats and other cores; never the first occurrence of another signature: a
 * new crash does not push out an old one that is unique); else metadata only.
 * Then the crash storm: with RateLimit=N/INTERVAL, the (N+1)th full core of one
 * unit, or of one executable outside units, of one owner (the caller counts
 * rate_times per owner) within INTERVAL is not stored.
 * KeepPerSignature is not decided here, since the signature is only known
 * after the analysis (policy_after_analysis). A stored core reserves its
 * estimate: the stored size given by the caller, else a quarter of the
 * expected size, else 64M. */
int policy_decide(const struct policy_limits *l, const struct policy_state *state,
		  const struct policy_crash *crash, int64_t now_usec, struct policy_decision *out)
{
	struct policy_decision d = { .store = true, .core_status = "stored" };
	char a[16], b[16], c[16], e[16], f[16];
	uint64_t estimate, extra;
	int r;

	if (!l || !state || !crash || !out || (state->n_entries > 0 && !state->entries) ||
	    (state->n_rate_times > 0 && !state->rate_times))
		return -EINVAL;

	if (l->max_core_size > 0 && crash->expected_size > l->max_core_size) {
		format_size(crash->expected_size, a, sizeof(a));
		format_size(l->max_core_size, b, sizeof(b));
		d = (struct policy_decision){ .core_status = "too-large", .reason = "MaxCoreSize" };
		(void)snprintf(d.detail, sizeof(d.detail), "core of %s is larger than MaxCoreSize=%s",
			       a, b);
		*out = d;
		return 0;
	}

	estimate = crash->estimate;
	if (estimate == 0 && crash->expected_size > 0)
		estimate = crash->expected_size / POLICY_ESTIMATE_RATIO + 1;
	if (estimate == 0)
		estimate = POLICY_ESTIMATE_DEFAULT;
	extra = policy_add_sat(state->in_flight, estimate);

	if (policy_over(l, policy_add_sat(state->usage.store_used, extra),
			state->usage.fs_free > extra ? state->usage.fs_free - extra : 0)) {
		struct policy_plan p = {
			.l = l,
			.used = policy_add_sat(state->usage.store_used, extra),
			.fs_free = state->usage.fs_free > extra ? state->usage.fs_free - extra : 0,
		};

		r = policy_plan_run(&p, state->entries, state->n_entries, now_usec, NULL, false);
		if (r < 0)
			return r;
		if (policy_over(l, p.used, p.fs_free)) {
			bool max_use = l->max_use > 0 && p.used > l->max_use;

			format_size(max_use ? l->max_use : l->keep_free, a, sizeof(a));
			format_size(max_use ? state->usage.store_used : state->usage.fs_free, b, sizeof(b));
			format_size(state->in_flight, c, sizeof(c));
			format_size(estimate, e, sizeof(e));
			format_size(p.freed, f, sizeof(f));
			d = (struct policy_decision){ .core_status = "skipped", .reason = "disk quota" };
			(void)snprintf(d.detail, sizeof(d.detail),
				       max_use ? "disk quota: over MaxUse=%s (%s used, %s in flight, "
						 "~%s for this core, %s deletable)"
					       : "disk quota: under KeepFree=%s (%s free, %s in flight, "
						 "~%s for this core, %s deletable)",
				       a, b, c, e, f);
			*out = d;
			return 0;
		}
	}

	if (l->rate_burst > 0) {
		size_t count = policy_rate_count(l, state, now_usec);

		if (count >= l->rate_burst) {
			const char *who = crash->unit ? crash->unit : crash->exe ? crash->exe : "?";
			char o[64];

			format_duration(l->rate_interval_usec / 1000000, a, sizeof(a));
			policy_owner_format(&crash->owner, o, sizeof(o));
			d = (struct policy_decision){ .core_status = "skipped", .reason = "rate limit" };
			(void)snprintf(d.detail, sizeof(d.detail),
				       "rate limit: %zu full cores of %s%s in the last %s", count, who, o, a);
			*out = d;
			return 0;
		}
	}

	d.reserve = estimate;
	*out = d;
	return 0;
}

/* Signature policy, once the analysis has named the crash: a signature keeps
 * at most KeepPerSignature full cores per owner (policy_owner); when that
 * many are already in the store (cores past MaxAge or RecordMaxAge, which the next vacuum deletes, do not
 * count), the new core is skipped: its record and stacks stay, core.status
 * says skipped with the reason. The cores kept are therefore the first ones;
 * as the vacuum removes repeats under quota pressure, keeping the first
 * occurrence and the newest, later ones are stored again. Without a signature
 * (the analysis failed), cores are counted per executable path. */
int policy_after_analysis(const struct policy_limits *l, const struct policy_entry *entries,
			  size_t n, const struct policy_entry *crash, int64_t now_usec,
			  struct policy_decision *out)
{
	struct policy_decision d = { .store = true, .core_status = "stored" };
	size_t count = 0;

	if (!l || !crash || !out || (n > 0 && !entries))
		return -EINVAL;
	if (l->keep_per_signature == 0) {
		*out = d;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const struct policy_entry *e = &entries[i];
		uint64_t age = policy_age(now_usec, e->time_usec);

		if (e->core_bytes == 0 || (e->id && crash->id && strcmp(e->id, crash->id) == 0))
			continue;
		if ((l->max_age_usec > 0 && age > l->max_age_usec) ||
		    (l->record_max_age_usec > 0 && age > l->record_max_age_usec))
			continue;
		if (policy_key_cmp(e, crash) == 0)
			count++;
	}
	if (count >= l->keep_per_signature) {
		char o[64];

		policy_owner_format(&crash->owner, o, sizeof(o));
		d = (struct policy_decision){
			.core_status = "skipped", .reason = "KeepPerSignature",
		};
		if (crash->signature)
			(void)snprintf(d.detail, sizeof(d.detail),
				       "%zu cores of signature %s%s already kept", count, crash->signature, o);
		else
			(void)snprintf(d.detail, sizeof(d.detail),
				       "%zu cores of %s%s already kept (no signature)", count, policy_key(crash), o);
	}
	*out = d;
	return 0;
}
