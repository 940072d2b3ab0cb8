/* mortem doctor: will crashes be caught, and if not, why not. One check per
 * line, each ok, warn or fail; --json prints {ok, checks: [{name, status,
 * message}]}. A fail means crashes are (or may be) lost: exit status 1. A warn
 * is printed but leaves the exit status 0. --json also says the "mode" in
 * force. The checks that look at a value
 * (a sysctl, a limit, the pattern) are separate so the unit suite can feed them. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#define DOCTOR_CHECKS_MAX 24
#define DOCTOR_PIPE_LIMIT_SMALL 1024   /* below this many dumps at once, warn about storms */
#define DOCTOR_FREE_LOW (256ull << 20) /* free space below which the store is warned about */
#define DOCTOR_CRON_DAILY "/etc/cron.daily/mortem" /* the vacuum without systemd (packaging/debian) */
#define DOCTOR_SPOOL_AGE_SEC 60        /* spool files older than this, but a parked crash's, are leftovers */

enum doctor_status { DOCTOR_OK, DOCTOR_WARN, DOCTOR_FAIL };

struct doctor_check {
	const char *name; /* a string literal */
	enum doctor_status status;
	char *message;
};

struct doctor {
	struct doctor_check checks[DOCTOR_CHECKS_MAX];
	size_t n;
	const char *mode; /* "pipe", "pipe+handoff", "socket" or "none" (--json "mode"); a literal; NULL: not checked */
};

void doctor_add(struct doctor *d, const char *name, enum doctor_status status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void doctor_free(struct doctor *d);
/* The worst status of all checks. */
enum doctor_status doctor_worst(const struct doctor *d);
const char *doctor_status_name(enum doctor_status s);
json_object *doctor_json(const struct doctor *d);
void doctor_print(const struct doctor *d, FILE *f);

/* A check that could not be made (err, a negative errno, reading what): a
 * warning that says so, and to run as root when err is a refusal to a user;
 * never a verdict doctor could not reach. */
void doctor_unchecked(struct doctor *d, const char *name, const char *what, int err);

/* The pure checks. value: the sysctl as read; release: uname -r; config_path:
 * the config this mortem read; store_path and socket_dir: its store root and
 * SocketDirectory= (NULL: not compared). A pipe to a collector whose -c config
 * names another store, or a socket outside socket_dir, warns naming both. */
void doctor_check_core_pattern(struct doctor *d, const char *pattern, const char *release, const char *config_path,
			       const char *store_path, const char *socket_dir);
/* The mode in force, from the pattern and whether mortemd listens (1, 0 or a
 * negative errno of enable_socket_listening): on the pattern's socket
 * (coredump_listening) or on SOCKET_DIR/handoff.socket (handoff_listening).
 * socket_enabled: the socket pattern mortem enable chose when the kernel pipes
 * to its fallback instead (mortemd down), else NULL. */
void doctor_check_mode(struct doctor *d, const char *pattern, const char *socket_dir, int coredump_listening,
		       int handoff_listening, const char *socket_enabled);
void doctor_check_pipe_limit(struct doctor *d, const char *value);
void doctor_check_suid_dumpable(struct doctor *d, const char *value);
/* RLIMIT_CORE soft limit: `what` says whose ("systemd services"). */
void doctor_check_rlimit_core(struct doctor *d, const char *name, const char *what, uint64_t soft, bool infinity);
/* DefaultLimitCORESoft= (else DefaultLimitCORE=) from `systemctl show`
 * output: 0 with *soft / *infinity set, -ENOENT when absent, -EINVAL when bad. */
int doctor_parse_systemd_limit(const char *text, uint64_t *soft, bool *infinity);

/* Crashes parked by a stop of mortemd (park.h), which only a start of mortemd
 * takes up: no line when there are none; with mortemd listening on either
 * socket (1, 0 or a negative errno each, as for doctor_check_mode) ok, else
 * (or when that cannot be told) a warning that they wait for its start. */
void doctor_check_parked(struct doctor *d, size_t parked, int coredump_listening, int handoff_listening);
/* The spool at time now: *ret_old, files older than DOCTOR_SPOOL_AGE_SEC that
 * belong to no parked crash (any <id>.* of an id park_exists knows); *ret_parked,
 * the parked crashes (<id>.parked), whatever their age. 0, or a negative
 * errno when spool_dir cannot be opened. */
int doctor_spool_scan(const char *spool_dir, time_t now, size_t *ret_old, size_t *ret_parked);

/* SocketDirectory= against handoff_dir_check: a directory others could write
 * (or, missing, make first) is a warning with the reason. */
void doctor_check_socket_dir(struct doctor *d, const char *dir);

/* What runs: mortemd (how many root processes of that name, the first's pid),
 * and what runs `mortem vacuum`: with systemd (PID 1) mortem-vacuum.timer
 * (timer: 1 active, 0 not, negative errno), else the cron.daily script
 * (cron_script: DOCTOR_CRON_DAILY exists; cron: cron daemons running). A
 * vacuum that nothing runs is a warning. */
void doctor_check_running(struct doctor *d, bool systemd, size_t mortemd, pid_t mortemd_pid, int timer,
			  bool cron_script, size_t cron);

/* The checks of the store (root, free space, MaxUse=/KeepFree=), its index
 * (quick_check; read-only for a user) and spool, on the real files. What this
 * user may not read is "could not check", not a verdict. */
struct store;
struct mortem_config;
void doctor_check_store(struct doctor *d, const struct store *s, const struct mortem_config *cfg);
void doctor_check_index(struct doctor *d, const struct store *s);
void doctor_check_spool(struct doctor *d, const struct store *s, int coredump_listening, int handoff_listening);

/* The verb: every check, printed; returns the exit status. */
int doctor_main(const char *config_path, bool json);
