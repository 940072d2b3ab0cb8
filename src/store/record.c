/* The crash record: one JSON object per crash. Outside tools read these files, so
 * the key names and types below are a contract; record_validate() enforces it on
 * every load, which is also what decides whether index_rebuild() trusts a file. */
#include "store/record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

/* What became of the core (mortem-collect(8) documents each). "lost" is written
 * by pending_recover() for a crash whose collector or mortemd stopped before
 * storing it. "pending" is what `mortem list` shows for a crash still being
 * processed: it only exists in the spool, never in a stored record. */
static const char *const core_statuses[] = {
	"stored", "truncated", "too-large", "skipped", "deleted", "error", "lost",
};

int record_core_status_valid(const char *s)
{
	if (!s)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(core_statuses); i++)
		if (strcmp(s, core_statuses[i]) == 0)
			return 1;
	return 0;
}

/* Ids become file names (store/<id>.json): a conservative alphabet, no leading
 * dot (hidden and temp files start with one), no separators. */
bool record_id_valid(const char *id)
{
	size_t n;

	if (!id || id[0] == '\0' || id[0] == '.')
		return false;
	for (n = 0; id[n]; n++) {
		char c = id[n];
		if (n >= RECORD_ID_MAX)
			return false;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* RFC 3339 in UTC as format_rfc3339() writes it: YYYY-MM-DDTHH:MM:SS[.frac]Z. */
static bool time_valid(const char *s)
{
	size_t len = strlen(s), i = 19;

	if (len < 20 || !is_digits(s, 4) || s[4] != '-' || !is_digits(s + 5, 2) || s[7] != '-' ||
	    !is_digits(s + 8, 2) || s[10] != 'T' || !is_digits(s + 11, 2) || s[13] != ':' ||
	    !is_digits(s + 14, 2) || s[16] != ':' || !is_digits(s + 17, 2))
		return false;
	if (s[i] == '.') {
		size_t start = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return false;
	}
	return i == len - 1 && s[i] == 'Z';
}

static json_object *get_key(json_object *o, const char *key, bool *present)
{
	json_object *v = NULL;

	*present = json_object_object_get_ex(o, key, &v);
	return v;
}

static bool is_type(json_object *o, const char *key, json_type t)
{
	bool present;
	json_object *v = get_key(o, key, &present);

	return present && json_object_is_type(v, t);
}

/* Integers in the contract are counts, ids and sizes: never below min (0, or -1
 * for a uid or gid the kernel's arguments did not give us). */
static bool is_int_min(json_object *o, const char *key, int64_t min)
{
	bool present;
	json_object *v = get_key(o, key, &present);

	return present && json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= min;
}

static bool is_uint(json_object *o, const char *key)
{
	return is_int_min(o, key, 0);
}

static bool is_str_or_null(json_object *o, const char *key)
{
	bool present;
	json_object *v = get_key(o, key, &present);

	return present && (v == NULL || json_object_is_type(v, json_type_string));
}

int record_validate(json_object *rec, const char **why)
{
	static const char *const strings[] = {
		"signal_name", "comm", "exe", "cmdline", "hostname", "boot_id",
	};
	static const char *const string_why[] = {
		"\"signal_name\" missing or not a string", "\"comm\" missing or not a string",
		"\"exe\" missing or not a string",         "\"cmdline\" missing or not a string",
		"\"hostname\" missing or not a string",    "\"boot_id\" missing or not a string",
	};
	static const char *const uints[] = { "time_usec", "pid", "uid", "gid", "signal" };
	static const char *const uint_why[] = {
		"\"time_usec\" missing or not a non-negative integer",
		"\"pid\" missing or not a non-negative integer",
		"\"uid\" missing or not an integer >= -1 (-1: unknown)",
		"\"gid\" missing or not an integer >= -1 (-1: unknown)",
		"\"signal\" missing or not a non-negative integer",
	};
	const char *w = NULL;
	json_object *core;

	if (!rec || !json_object_is_type(rec, json_type_object)) {
		w = "record is not a JSON object";
		goto bad;
	}
	if (!is_type(rec, "id", json_type_string)) {
		w = "\"id\" missing or not a string";
		goto bad;
	}
	if (!record_id_valid(record_str(rec, "id", NULL))) {
		w = "\"id\" is not a safe file name ([A-Za-z0-9._-], at most 128, no leading '.')";
		goto bad;
	}
	if (!is_type(rec, "time", json_type_string)) {
		w = "\"time\" missing or not a string";
		goto bad;
	}
	if (!time_valid(record_str(rec, "time", ""))) {
		w = "\"time\" is not an RFC 3339 UTC time";
		goto bad;
	}
	for (size_t i = 0; i < ARRAY_SIZE(uints); i++)
		if (!is_int_min(rec, uints[i], strcmp(uints[i], "uid") == 0 || strcmp(uints[i], "gid") == 0 ? -1 : 0)) {
			w = uint_why[i];
			goto bad;
		}
	for (size_t i = 0; i < ARRAY_SIZE(strings); i++)
		if (!is_type(rec, strings[i], json_type_string)) {
			w = string_why[i];
			goto bad;
		}
	if (!is_str_or_null(rec, "unit")) {
		w = "\"unit\" missing or not a string or null";
		goto bad;
	}
	core = record_obj(rec, "core");
	if (!core) {
		w = "\"core\" missing or not an object";
		goto bad;
	}
	if (!is_type(core, "status", json_type_string)) {
		w = "\"core.status\" missing or not a string";
		goto bad;
	}
	if (!record_core_status_valid(record_str(core, "status", NULL))) {
		w = "\"core.status\" is not one of stored, truncated, too-large, skipped, deleted, error, lost";
		goto bad;
	}
	if (!is_uint(core, "size")) {
		w = "\"core.size\" missing or not a non-negative integer";
		goto bad;
	}
	if (!is_uint(core, "stored_size")) {
		w = "\"core.stored_size\" missing or not a non-negative integer";
		goto bad;
	}
	if (!is_str_or_null(core, "path")) {
		w = "\"core.path\" missing or not a string or null";
		goto bad;
	}
	return 0;
bad:
	if (why)
		*why = w;
	return -EBADMSG;
}

static bool only_space(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			return false;
	return true;
}

int record_read_object(const char *path, size_t max, json_object **ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;
	size_t len = 0, end;
	bool truncated = false;
	struct stat st;
	int r;

	/* O_NONBLOCK so that a FIFO planted in the store or the spool cannot
	 * hang a rebuild or a listing; O_NOFOLLOW: no link to elsewhere. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	r = read_fd_capped(fd, max, &buf, &len, &truncated);
	if (r < 0)
		return r;
	if (truncated)
		return -EFBIG;
	if (len == 0 || memchr(buf, '\0', len))
		return -EBADMSG;

	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success || !obj || !json_object_is_type(obj, json_type_object) || end > len ||
	    !only_space(buf + end, len - end)) {
		json_object_put(obj);
		return -EBADMSG;
	}
	*ret = obj;
	return 0;
}

int record_load(const char *path, json_object **ret)
{
	json_object *obj = NULL;
	int r = record_read_object(path, RECORD_FILE_MAX, &obj);
	if (r < 0)
		return r;
	r = record_validate(obj, NULL);
	if (r < 0) {
		json_object_put(obj);
		return r;
	}
	*ret = obj;
	return 0;
}

int record_write_fd(json_object *rec, int fd)
{
	const char *s;

	if (!rec)
		return -EINVAL;
	s = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		return -ENOMEM;
	int r = write_all(fd, s, strlen(s));
	if (r < 0)
		return r;
	r = write_all(fd, "\n", 1);
	if (r < 0)
		return r;
	if (fsync(fd) < 0)
		return -errno;
	return 0;
}

const char *record_str(json_object *o, const char *key, const char *fallback)
{
	json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return fallback;
	return json_object_get_string(v);
}

int64_t record_i64(json_object *o, const char *key, int64_t fallback)
{
	json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return fallback;
	return json_object_get_int64(v);
}

json_object *record_obj(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}
