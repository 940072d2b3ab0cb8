/* match.h: coredumpctl's FIELD=VALUE matches for mortem: coredumpctl's
 * journal field names where they map (COREDUMP_PID=...) and mortem's own
 * record keys (pid=...). Several values of one field are alternatives (OR),
 * different fields must all hold (AND), as in coredumpctl and journalctl.
 * Values are compared exactly (numbers as numbers, a signal by number or
 * name). The same field names are what -F prints. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/index.h"

enum match_field {
	MATCH_F_ID,
	MATCH_F_PID,
	MATCH_F_UID,
	MATCH_F_GID,
	MATCH_F_SIGNAL,
	MATCH_F_SIGNAL_NAME,
	MATCH_F_COMM,
	MATCH_F_EXE,
	MATCH_F_UNIT,
	MATCH_F_HOSTNAME,
	MATCH_F_BOOT_ID,
	MATCH_F_SIGNATURE,
	MATCH_F_TIME,      /* -F only: microseconds since the epoch */
	MATCH_F_CORE_STATUS,
	MATCH_F_MAX,
};

#define MATCH_VALUE_MAX 64 /* bytes of a formatted number value (buf of match_row_value) */

struct match_term {
	enum match_field field;
	const char *value; /* normalised: a number's digits, a signal's number (points into argv or str) */
	char buf[MATCH_VALUE_MAX];
};

/* Does arg look like FIELD=VALUE (a field name of letters, digits and '_'
 * before the '=')? */
bool match_is_term(const char *arg);
/* Parses FIELD=VALUE into *t: -EINVAL for an unknown field (message in
 * *ret_why, static), -ERANGE for a value that cannot be the field's. */
int match_parse(const char *arg, struct match_term *t, const char **ret_why);
/* The field named name (either spelling), -EINVAL when none. */
int match_field_lookup(const char *name);
/* The field names, for messages and the help: "COREDUMP_PID|pid, ...". */
const char *match_field_names(void);

/* A field's value for a stored crash's index row, a formatted number in buf;
 * NULL when the row has none. */
const char *match_row_value(const struct index_row *w, enum match_field f, char *buf, size_t len);
/* The same for a pending crash's note (store/pending.h). */
const char *match_note_value(json_object *o, enum match_field f, char *buf, size_t len);

/* Every field among terms has one of its values in the row (note). */
bool match_row(const struct index_row *w, const struct match_term *terms, size_t n);
bool match_note(json_object *o, const struct match_term *terms, size_t n);
/* The terms the index can select on put into f (store/index.h): a single
 * exe, signature or uid value as its columns, and, when f has no MATCH, a
 * single id or pid as the MATCH (a superset of the rows: the terms are
 * still checked on each row). Fields with several values (OR) and the
 * others are left to match_row. */
void match_index_filter(const struct match_term *terms, size_t n, struct index_filter *f);
