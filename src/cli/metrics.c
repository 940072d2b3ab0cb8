/* metrics.c: `mortem metrics`, the store's crashes counted in the Prometheus
 * text exposition format 0.0.4, for a scrape or node_exporter's textfile
 * collector (--textfile DIR writes DIR/mortem.prom atomically).
 *
 * Policy: the counts come from one streamed pass over the index
 * (index_query_each), so memory stays flat whatever the store holds. Label
 * values come from crashed processes (an executable's path, a unit's name),
 * which choose them: they are escaped as the format says (backslash, double
 * quote, newline; a byte that is not UTF-8 becomes U+FFFD) and their number
 * is bounded: the METRICS_TOP_EXE executables and METRICS_TOP_UNIT units
 * with the most crashes are named, the others are counted as "other". Those
 * ranks are taken among at most METRICS_DISTINCT_MAX distinct values; past
 * that, a new value goes straight to "other", and
 * mortem_metrics_labels_capped says so.
 *
 * The crash counts are gauges: they count the crashes in the store, which
 * rm and the vacuum lower. The names keep the _total of the counts a
 * monitoring rule expects (mortem_crashes_total); rate() over them is not
 * meaningful, increase() from one scrape to the next is while nothing was
 * removed. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "base/util.h"
#include "cli/cli.h"
#include "cli/export.h"
#include "store/index.h"
#include "store/pending.h"
#include "store/policy.h"
#include "store/record.h"

#define METRICS_TOP_EXE 20            /* executables named in mortem_crashes_total; the rest "other" */
#define METRICS_TOP_UNIT 20           /* units named in mortem_crashes_by_unit_total */
#define METRICS_DISTINCT_MAX 16384    /* distinct executables (units) ranked; past it, "other" */
#define METRICS_SLOTS (2 * METRICS_DISTINCT_MAX) /* hash table size, a power of two */
#define METRICS_SIGNALS 65            /* signal numbers 1..64, 0 for unknown */
#define METRICS_FILE "mortem.prom"

static const char *const metrics_statuses[] = { "stored", "truncated", "too-large", "skipped", "deleted", "error",
						  "lost" };
/* policy_decision.reason's values (policy.h) */
static const char *const metrics_reasons[] = { "MaxCoreSize", "disk quota", "rate limit", "KeepPerSignature",
						 "RLIMIT_CORE" };

struct metrics_key {
	char *key;
	uint64_t n;
	uint64_t *by_sig; /* METRICS_SIGNALS counts, for executables */
};

struct metrics_table {
	struct metrics_key *slots; /* METRICS_SLOTS */
	size_t used;
	bool capped;
	struct metrics_key other;
	bool by_sig;
};

struct metrics {
	struct metrics_table exe, unit;
	uint64_t total;
	uint64_t status[ARRAY_SIZE(metrics_statuses) + 1]; /* + other */
	uint64_t dropped[ARRAY_SIZE(metrics_reasons) + 2]; /* + other, + record unreadable */
	int error;
};

static uint64_t metrics_hash(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

static int metrics_table_init(struct metrics_table *t, bool by_sig)
{
	t->slots = calloc(METRICS_SLOTS, sizeof(*t->slots));
	t->by_sig = by_sig;
	t->other.key = (char *)"other";
	if (by_sig)
		t->other.by_sig = calloc(METRICS_SIGNALS, sizeof(uint64_t));
	return t->slots && (!by_sig || t->other.by_sig) ? 0 : -ENOMEM;
}

static void metrics_table_free(struct metrics_table *t)
{
	for (size_t i = 0; t->slots && i < METRICS_SLOTS; i++) {
		free(t->slots[i].key);
		free(t->slots[i].by_sig);
	}
	free(t->slots);
	free(t->other.by_sig);
}

/* Count one crash of key (with signal sig) in t. */
static int metrics_count(struct metrics_table *t, const char *key, int sig)
{
	size_t i = (size_t)(metrics_hash(key) & (METRICS_SLOTS - 1));
	struct metrics_key *k = NULL;

	/* "other" is ours: a process named so is counted with the others. */
	if (strcmp(key, "other") != 0)
		for (;; i = (i + 1) & (METRICS_SLOTS - 1)) {
			if (!t->slots[i].key) {
				if (t->used >= METRICS_DISTINCT_MAX) {
					t->capped = true;
					break;
				}
				if (!(t->slots[i].key = strdup(key)))
					return -ENOMEM;
				if (t->by_sig && !(t->slots[i].by_sig = calloc(METRICS_SIGNALS, sizeof(uint64_t))))
					return -ENOMEM;
				t->used++;
				k = &t->slots[i];
				break;
			}
			if (strcmp(t->slots[i].key, key) == 0) {
				k = &t->slots[i];
				break;
			}
		}
	if (!k)
		k = &t->other;
	k->n++;
	if (t->by_sig)
		k->by_sig[sig >= 1 && sig < METRICS_SIGNALS ? sig : 0]++;
	return 0;
}

/* The core's policy.reason from the record, as one of metrics_reasons. */
static size_t metrics_reason(const char *record_path)
{
	json_object *rec = NULL;
	if (!record_path || record_load(record_path, &rec) < 0)
		return ARRAY_SIZE(metrics_reasons) + 1;
	const char *why = record_str(record_obj(rec, "policy"), "reason", "");
	size_t i = 0;
	while (i < ARRAY_SIZE(metrics_reasons) && strcmp(why, metrics_reasons[i]) != 0)
		i++;
	json_object_put(rec);
	return i;
}

static int metrics_row(const struct index_row *w, void *userdata)
{
	struct metrics *m = userdata;
	const char *exe = w->exe && *w->exe ? w->exe : w->comm && *w->comm ? w->comm : "unknown";
	const char *st = w->core_status ? w->core_status : "";
	size_t i = 0;
	int r;

	m->total++;
	if ((r = metrics_count(&m->exe, exe, w->signal)) < 0 ||
	    (r = metrics_count(&m->unit, w->unit && *w->unit ? w->unit : "none", 0)) < 0)
		return r;
	while (i < ARRAY_SIZE(metrics_statuses) && strcmp(st, metrics_statuses[i]) != 0)
		i++;
	m->status[i]++;
	/* Dropped by the policy at collection: too-large and skipped. (A
	 * deleted core was stored, then removed by the vacuum or rm.) */
	if (strcmp(st, "too-large") == 0 || strcmp(st, "skipped") == 0)
		m->dropped[metrics_reason(w->record_path)]++;
	return 0;
}

/* A label value as the format wants it. */
static void metrics_label(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		if (*p == '\\' || *p == '"') {
			fputc('\\', f);
			fputc(*p++, f);
			continue;
		}
		if (*p == '\n') {
			fputs("\\n", f);
			p++;
			continue;
		}
		if (*p < 0x80) {
			fputc(*p++, f);
			continue;
		}
		/* One UTF-8 sequence, whole and shortest, or U+FFFD for a byte. */
		size_t n = *p >= 0xc2 && *p <= 0xdf ? 2 : *p >= 0xe0 && *p <= 0xef ? 3 : *p >= 0xf0 && *p <= 0xf4 ? 4 : 0;
		bool ok = n > 0;
		for (size_t k = 1; ok && k < n; k++)
			ok = (p[k] & 0xc0) == 0x80;
		if (ok && n == 3)
			ok = !(p[0] == 0xe0 && p[1] < 0xa0) && !(p[0] == 0xed && p[1] >= 0xa0);
		if (ok && n == 4)
			ok = !(p[0] == 0xf0 && p[1] < 0x90) && !(p[0] == 0xf4 && p[1] >= 0x90);
		if (ok) {
			fwrite(p, 1, n, f);
			p += n;
		} else {
			fputs("\xef\xbf\xbd", f);
			p++;
		}
	}
}

static void metrics_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *metrics_sig_name(int sig, char *buf, size_t len)
{
	const char *s = sig > 0 ? signal_name(sig) : NULL;
	if (s)
		return s;
	if (sig <= 0)
		return "unknown";
	snprintf(buf, len, "SIG%d", sig);
	return buf;
}

static int metrics_cmp_desc(const void *a, const void *b)
{
	const struct metrics_key *x = *(struct metrics_key *const *)a, *y = *(struct metrics_key *const *)b;
	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->key, y->key);
}

/* The top entries of t (sorted, most first) named, the rest folded into
 * t->other. Returns the named entries (heap array of pointers) or NULL. */
static struct metrics_key **metrics_top(struct metrics_table *t, size_t top, size_t *ret_n)
{
	struct metrics_key **v = calloc(t->used ? t->used : 1, sizeof(*v));
	size_t n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < METRICS_SLOTS; i++)
		if (t->slots[i].key)
			v[n++] = &t->slots[i];
	qsort(v, n, sizeof(*v), metrics_cmp_desc);
	for (size_t i = top; i < n; i++) {
		t->other.n += v[i]->n;
		for (size_t s = 0; t->by_sig && s < METRICS_SIGNALS; s++)
			t->other.by_sig[s] += v[i]->by_sig[s];
	}
	*ret_n = n < top ? n : top;
	return v;
}

static void metrics_print(FILE *f, struct cli *c, struct metrics *m, uint64_t used, uint64_t pending)
{
	size_t ne = 0, nu = 0;
	char buf[16];
	_cleanup_free_ struct metrics_key **ex = metrics_top(&m->exe, METRICS_TOP_EXE, &ne);
	_cleanup_free_ struct metrics_key **un = metrics_top(&m->unit, METRICS_TOP_UNIT, &nu);

	metrics_head(f, "mortem_crashes_total", "gauge",
		     "Crashes in the store by executable (the 20 with the most crashes; the others as other) and signal.");
	for (size_t i = 0; ex && i <= ne; i++) {
		struct metrics_key *k = i < ne ? ex[i] : &m->exe.other;
		for (int s = 0; s < METRICS_SIGNALS; s++) {
			if (!k->by_sig[s])
				continue;
			fputs("mortem_crashes_total{exe=\"", f);
			metrics_label(f, k->key);
			fprintf(f, "\",signal=\"%s\"} %llu\n", metrics_sig_name(s, buf, sizeof(buf)),
				(unsigned long long)k->by_sig[s]);
		}
	}
	metrics_head(f, "mortem_crashes_by_unit_total", "gauge",
		     "Crashes in the store by systemd unit (the 20 with the most; the others as other; none: no unit).");
	for (size_t i = 0; un && i <= nu; i++) {
		struct metrics_key *k = i < nu ? un[i] : &m->unit.other;
		if (i == nu && !k->n)
			continue;
		fputs("mortem_crashes_by_unit_total{unit=\"", f);
		metrics_label(f, k->key);
		fprintf(f, "\"} %llu\n", (unsigned long long)k->n);
	}
	metrics_head(f, "mortem_crashes_by_core_status_total", "gauge", "Crashes in the store by the status of their core.");
	for (size_t i = 0; i <= ARRAY_SIZE(metrics_statuses); i++)
		fprintf(f, "mortem_crashes_by_core_status_total{status=\"%s\"} %llu\n",
			i < ARRAY_SIZE(metrics_statuses) ? metrics_statuses[i] : "other", (unsigned long long)m->status[i]);
	metrics_head(f, "mortem_cores_dropped_total", "gauge",
		     "Crashes in the store whose core the policy did not keep (too-large, skipped), by its reason.");
	for (size_t i = 0; i < ARRAY_SIZE(m->dropped); i++)
		fprintf(f, "mortem_cores_dropped_total{reason=\"%s\"} %llu\n",
			i < ARRAY_SIZE(metrics_reasons)	     ? metrics_reasons[i] :
			i == ARRAY_SIZE(metrics_reasons) ? "other" :
							   "unreadable record",
			(unsigned long long)m->dropped[i]);
	metrics_head(f, "mortem_store_crashes", "gauge", "Crashes in the store.");
	fprintf(f, "mortem_store_crashes %llu\n", (unsigned long long)m->total);
	metrics_head(f, "mortem_pending_crashes", "gauge", "Crashes still being processed (collector or mortemd at work).");
	fprintf(f, "mortem_pending_crashes %llu\n", (unsigned long long)pending);
	metrics_head(f, "mortem_store_bytes", "gauge", "Bytes the stored crashes take (cores, minicores, records).");
	fprintf(f, "mortem_store_bytes %llu\n", (unsigned long long)used);

	struct statvfs sv;
	struct policy_limits lim;
	bool have_fs = statvfs(c->st.root, &sv) == 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	policy_limits_resolve(&c->cfg, have_fs ? (uint64_t)sv.f_blocks * sv.f_frsize : 0, ncpu > 0 ? (unsigned)ncpu : 1,
			      &lim);
	metrics_head(f, "mortem_store_limit_bytes", "gauge",
		     "The store's limits (mortem.conf): max_use, the bytes it may take, keep_free, the bytes to leave free on its file system (0: none).");
	fprintf(f, "mortem_store_limit_bytes{limit=\"max_use\"} %llu\n", (unsigned long long)lim.max_use);
	fprintf(f, "mortem_store_limit_bytes{limit=\"keep_free\"} %llu\n", (unsigned long long)lim.keep_free);
	fprintf(f, "mortem_store_limit_bytes{limit=\"max_core_size\"} %llu\n", (unsigned long long)lim.max_core_size);
	if (have_fs) {
		metrics_head(f, "mortem_store_fs_free_bytes", "gauge", "Bytes free on the store's file system.");
		fprintf(f, "mortem_store_fs_free_bytes %llu\n", (unsigned long long)sv.f_bavail * sv.f_frsize);
	}
	metrics_head(f, "mortem_metrics_labels_capped", "gauge",
		     "1 when more distinct values than METRICS_DISTINCT_MAX (16384) were seen: the rest counted as other.");
	fprintf(f, "mortem_metrics_labels_capped{label=\"exe\"} %d\n", m->exe.capped);
	fprintf(f, "mortem_metrics_labels_capped{label=\"unit\"} %d\n", m->unit.capped);
}

/* DIR/mortem.prom through a temp file node_exporter does not read (its
 * name does not end in .prom), renamed over it. */
static int metrics_textfile(const char *dir, struct cli *c, struct metrics *m, uint64_t used, uint64_t pending)
{
	_cleanup_free_ char *tmp = NULL, *dst = NULL;
	if (asprintf(&tmp, "%s/." METRICS_FILE ".XXXXXX", dir) < 0 || asprintf(&dst, "%s/" METRICS_FILE, dir) < 0)
		return -ENOMEM;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		int r = -errno;
		(void)close(fd);
		(void)unlink(tmp);
		return r;
	}
	metrics_print(f, c, m, used, pending);
	int r = fflush(f) != 0 || ferror(f) ? -EIO : 0;
	/* node_exporter runs as its own user: the counts are for it to read. */
	if (r == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
		r = -errno;
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	if (r == 0 && rename(tmp, dst) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

int metrics_main(struct cli *c)
{
	struct metrics m = { 0 };
	struct index_filter f = { 0 };
	sqlite3 *db = NULL;
	json_object *notes = NULL;
	uint64_t used = 0, pending = 0;
	int r, ret = EXIT_FAILURE;

	if (metrics_table_init(&m.exe, true) < 0 || metrics_table_init(&m.unit, false) < 0) {
		cli_err("out of memory");
		goto out;
	}
	/* No store yet (nothing collected): zeros, not an error, so that a
	 * monitor set up with mortem sees a valid answer from the start. */
	bool none = access(c->st.root, F_OK) < 0 && errno == ENOENT;
	if (!none && cli_open_index(c, &db) < 0)
		goto out;
	r = db ? index_query_each(db, &f, metrics_row, &m) : 0;
	if (r < 0) {
		cli_err("cannot read the index: %s", strerror(-r));
		goto out;
	}
	if (!db || index_usage(db, &used) < 0)
		used = 0;
	if (pending_list(&c->st, &notes) >= 0)
		pending = json_object_array_length(notes);
	json_object_put(notes);
	if (c->textfile) {
		r = metrics_textfile(c->textfile, c, &m, used, pending);
		if (r < 0) {
			cli_err("cannot write %s/" METRICS_FILE ": %s", c->textfile, strerror(-r));
			goto out;
		}
	} else {
		metrics_print(stdout, c, &m, used, pending);
		if (fflush(stdout) != 0) {
			cli_err("cannot write the metrics: %m");
			goto out;
		}
	}
	ret = 0;
out:
	if (db)
		index_close(db);
	metrics_table_free(&m.exe);
	metrics_table_free(&m.unit);
	return ret;
}
