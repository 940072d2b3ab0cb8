/* match.c: FIELD=VALUE matches (match.h). The index query takes an exe, a
 * signature and a uid as columns and one MATCH (store/index.h): those that
 * fit are handed to it to narrow the rows, and all terms are then checked on
 * each row here. */
#include "cli/match.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/parse.h"
#include "base/util.h"
#include "store/record.h"

static const struct {
	const char *journal, *key; /* coredumpctl's name, mortem's record key */
	bool number;
} match_fields[MATCH_F_MAX] = {
	[MATCH_F_ID] = { "COREDUMP_ID", "id", false },
	[MATCH_F_PID] = { "COREDUMP_PID", "pid", true },
	[MATCH_F_UID] = { "COREDUMP_UID", "uid", true },
	[MATCH_F_GID] = { "COREDUMP_GID", "gid", true },
	[MATCH_F_SIGNAL] = { "COREDUMP_SIGNAL", "signal", true },
	[MATCH_F_SIGNAL_NAME] = { "COREDUMP_SIGNAL_NAME", "signal_name", false },
	[MATCH_F_COMM] = { "COREDUMP_COMM", "comm", false },
	[MATCH_F_EXE] = { "COREDUMP_EXE", "exe", false },
	[MATCH_F_UNIT] = { "COREDUMP_UNIT", "unit", false },
	[MATCH_F_HOSTNAME] = { "COREDUMP_HOSTNAME", "hostname", false },
	[MATCH_F_BOOT_ID] = { "_BOOT_ID", "boot_id", false },
	[MATCH_F_SIGNATURE] = { "COREDUMP_SIGNATURE", "signature", false },
	[MATCH_F_TIME] = { "COREDUMP_TIMESTAMP", "time_usec", true },
	[MATCH_F_CORE_STATUS] = { "COREDUMP_STATUS", "core_status", false },
};

bool match_is_term(const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg)
		return false;
	for (const char *p = arg; p < eq; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

int match_field_lookup(const char *name)
{
	for (int i = 0; i < MATCH_F_MAX; i++)
		if (strcmp(name, match_fields[i].journal) == 0 || strcmp(name, match_fields[i].key) == 0)
			return i;
	return -EINVAL;
}

const char *match_field_names(void)
{
	return "id, pid, uid, gid, signal, signal_name, comm, exe, unit, hostname, boot_id, signature, "
	       "time_usec, core_status, or coredumpctl's COREDUMP_PID, COREDUMP_UID, COREDUMP_GID, "
	       "COREDUMP_SIGNAL, COREDUMP_SIGNAL_NAME, COREDUMP_COMM, COREDUMP_EXE, COREDUMP_UNIT, "
	       "COREDUMP_HOSTNAME, _BOOT_ID, COREDUMP_TIMESTAMP";
}

/* "SIGSEGV", "SEGV" or "11" into the signal's number. */
static int match_signal(const char *v, int *ret)
{
	int n;
	if (parse_int(v, &n) == 0) {
		*ret = n;
		return 0;
	}
	for (int i = 1; i < 65; i++) {
		const char *name = signal_name(i);
		if (name && (strcasecmp(v, name) == 0 || strcasecmp(v, name + 3) == 0)) {
			*ret = i;
			return 0;
		}
	}
	return -EINVAL;
}

int match_parse(const char *arg, struct match_term *t, const char **ret_why)
{
	const char *eq = strchr(arg, '=');
	char name[64];
	int f;

	*ret_why = NULL;
	if (!eq || (size_t)(eq - arg) >= sizeof(name)) {
		*ret_why = "not FIELD=VALUE";
		return -EINVAL;
	}
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	f = match_field_lookup(name);
	if (f < 0) {
		*ret_why = "unknown field";
		return -EINVAL;
	}
	t->field = (enum match_field)f;
	t->value = eq + 1;
	if (f == MATCH_F_SIGNAL || f == MATCH_F_SIGNAL_NAME) {
		int sig;
		if (match_signal(eq + 1, &sig) < 0) {
			*ret_why = "not a signal";
			return -ERANGE;
		}
		/* One field for both spellings: a name is its number. */
		t->field = MATCH_F_SIGNAL;
		snprintf(t->buf, sizeof(t->buf), "%d", sig);
		t->value = t->buf;
	} else if (match_fields[f].number) {
		int64_t v;
		if (parse_i64(eq + 1, &v) < 0) {
			*ret_why = "not a number";
			return -ERANGE;
		}
		snprintf(t->buf, sizeof(t->buf), "%lld", (long long)v);
		t->value = t->buf;
	}
	return 0;
}

const char *match_row_value(const struct index_row *w, enum match_field f, char *buf, size_t len)
{
	int64_t num;
	switch (f) {
	case MATCH_F_ID: return w->id;
	case MATCH_F_PID: num = w->pid; break;
	case MATCH_F_UID: num = w->uid; break;
	case MATCH_F_GID: num = w->gid; break;
	case MATCH_F_SIGNAL: num = w->signal; break;
	case MATCH_F_SIGNAL_NAME: return signal_name(w->signal);
	case MATCH_F_COMM: return w->comm;
	case MATCH_F_EXE: return w->exe && *w->exe ? w->exe : NULL;
	case MATCH_F_UNIT: return w->unit && *w->unit ? w->unit : NULL;
	case MATCH_F_HOSTNAME: return w->hostname;
	case MATCH_F_BOOT_ID: return w->boot_id;
	case MATCH_F_SIGNATURE: return w->signature;
	case MATCH_F_TIME: num = w->time_usec; break;
	case MATCH_F_CORE_STATUS: return w->core_status;
	default: return NULL;
	}
	snprintf(buf, len, "%lld", (long long)num);
	return buf;
}

const char *match_note_value(json_object *o, enum match_field f, char *buf, size_t len)
{
	if (f == MATCH_F_CORE_STATUS)
		return "pending";
	if (f == MATCH_F_SIGNAL_NAME && !json_object_object_get_ex(o, "signal_name", NULL)) {
		json_object *v;
		return json_object_object_get_ex(o, "signal", &v) ? signal_name(json_object_get_int(v)) : NULL;
	}
	if (f < 0 || f >= MATCH_F_MAX || !json_object_object_get_ex(o, match_fields[f].key, NULL))
		return NULL;
	if (match_fields[f].number) {
		snprintf(buf, len, "%lld", (long long)record_i64(o, match_fields[f].key, 0));
		return buf;
	}
	const char *s = record_str(o, match_fields[f].key, NULL);
	return s && *s ? s : NULL;
}

/* The terms hold for a crash whose values get returns. */
static bool match_all(const struct match_term *terms, size_t n,
		      const char *(*get)(const void *, enum match_field, char *, size_t), const void *obj)
{
	for (size_t i = 0; i < n; i++) {
		bool first = true, any = false;
		for (size_t j = 0; j < i; j++)
			first &= terms[j].field != terms[i].field;
		if (!first)
			continue; /* this field was decided at its first term */
		char buf[MATCH_VALUE_MAX];
		const char *v = get(obj, terms[i].field, buf, sizeof(buf));
		for (size_t j = i; v && !any && j < n; j++)
			any = terms[j].field == terms[i].field && strcmp(terms[j].value, v) == 0;
		if (!any)
			return false;
	}
	return true;
}

static const char *match_get_row(const void *obj, enum match_field f, char *buf, size_t len)
{
	return match_row_value(obj, f, buf, len);
}

static const char *match_get_note(const void *obj, enum match_field f, char *buf, size_t len)
{
	return match_note_value((json_object *)obj, f, buf, len);
}

bool match_row(const struct index_row *w, const struct match_term *terms, size_t n)
{
	return match_all(terms, n, match_get_row, w);
}

bool match_note(json_object *o, const struct match_term *terms, size_t n)
{
	return match_all(terms, n, match_get_note, o);
}

/* The value of field when exactly one term names it, else NULL. */
static const char *match_single(const struct match_term *terms, size_t n, enum match_field field)
{
	const char *v = NULL;
	for (size_t i = 0; i < n; i++)
		if (terms[i].field == field) {
			if (v)
				return NULL;
			v = terms[i].value;
		}
	return v;
}

void match_index_filter(const struct match_term *terms, size_t n, struct index_filter *f)
{
	const char *v;
	int64_t uid;

	if ((v = match_single(terms, n, MATCH_F_EXE)))
		f->exe = v;
	if ((v = match_single(terms, n, MATCH_F_SIGNATURE)))
		f->signature = v;
	if ((v = match_single(terms, n, MATCH_F_UID)) && parse_i64(v, &uid) == 0) {
		f->by_uid = true;
		f->uid = uid;
	}
	if (!f->match && ((v = match_single(terms, n, MATCH_F_ID)) || (v = match_single(terms, n, MATCH_F_PID))))
		f->match = v;
}
