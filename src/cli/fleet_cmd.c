/* fleet_cmd.c: `mortem upload` and `mortem fleet …`. The keys come from the
 * AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the root-only
 * CredentialsFile=; the bucket and layout from [Upload] (mortem.conf(5)). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/util.h"
#include "cli/fleet_cmd.h"
#include "cli/show.h"
#include "fleet/fleet.h"
#include "fleet/upload.h"
#include "store/record.h"

#define FLEET_CMD_GROUPS_MAX 100000 /* signatures grouped by list --group */

/* The S3 client from [Upload] and the keys; errors said. */
static int fleet_cmd_s3(struct cli *c, struct s3 *s3)
{
	_cleanup_free_ char *id = NULL, *secret = NULL;
	const struct mortem_config *cfg = &c->cfg;

	if (!cfg->upload_endpoint) {
		cli_err("no object store: [Upload] Endpoint= is empty in %s", c->config_path);
		return -EINVAL;
	}
	int r = s3_creds_load(cfg->upload_credentials, true, &id, &secret);
	if (r == -EPERM) {
		cli_err("credentials file %s refused: it must be a regular file owned by root, "
			"not readable by group or others (chmod 600)", cfg->upload_credentials);
		return r;
	}
	if (r < 0) {
		cli_err("no S3 keys: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write them to %s (%s)",
			cfg->upload_credentials, strerror(-r));
		return r;
	}
	r = s3_init(s3, cfg->upload_endpoint, cfg->upload_bucket, cfg->upload_region, id, secret);
	explicit_bzero(secret, strlen(secret));
	if (r < 0)
		cli_err("cannot set up the S3 client: %s", strerror(-r));
	return r;
}

static const char *fleet_cmd_why(int r)
{
	return r == -EACCES ? " (the gateway refused the keys: check them and the bucket's policy)"
	       : r == -ENOENT ? " (no such bucket or object)" : "";
}

struct fleet_cmd_upload_ctx {
	json_object *events; /* --json */
};

static void fleet_cmd_event(void *userdata, const struct upload_event *ev)
{
	struct fleet_cmd_upload_ctx *u = userdata;
	if (u->events) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(ev->id));
		json_object_object_add(o, "status", json_object_new_string(ev->result >= 0 ? "uploaded"
									  : ev->result == -EBUSY ? "busy"
												 : "queued"));
		json_object_object_add(o, "bytes", json_object_new_int64((int64_t)ev->bytes));
		json_object_object_add(o, "parts", json_object_new_int((int)ev->parts));
		json_object_object_add(o, "core", ev->core && *ev->core ? json_object_new_string(ev->core) : NULL);
		json_object_object_add(o, "error", ev->error ? json_object_new_string(ev->error) : NULL);
		json_object_array_add(u->events, o);
		return;
	}
	char sz[16];
	format_size(ev->bytes, sz, sizeof(sz));
	if (ev->result >= 0)
		printf("%s: uploaded, %s; core: %s%s%.0u%s\n", ev->id, sz, ev->core,
		       ev->parts ? " (" : "", ev->parts, ev->parts ? " parts)" : "");
	else if (ev->result == -EBUSY)
		printf("%s: still being collected, stays queued\n", ev->id);
	else
		printf("%s: failed, stays queued: %s%s\n", ev->id, ev->error ? ev->error : strerror(-ev->result),
		       fleet_cmd_why(ev->result));
}

int fleet_cmd_upload(struct cli *c, const char *match)
{
	struct fleet_cmd_upload_ctx u = { 0 };
	struct upload_stats stats = { 0 };
	struct s3 s3 = { 0 };
	int r;

	if (!c->cfg.upload_endpoint) {
		cli_err("upload is off: [Upload] Endpoint= is empty in %s", c->config_path);
		return EXIT_FAILURE;
	}
	/* A MATCH (or --all) queues stored crashes first: those from before
	 * the upload was configured, or sent again. */
	if (match || c->all) {
		struct index_row *rows = NULL;
		size_t n = 0;
		r = cli_query(c, match, false, 0, &rows, &n);
		if (r != 0)
			return r;
		for (size_t i = 0; i < n; i++)
			if ((r = upload_enqueue(&c->cfg, &c->st, rows[i].id)) < 0) {
				cli_err("cannot queue %s: %s", rows[i].id, strerror(-r));
				index_rows_free(rows, n);
				return EXIT_FAILURE;
			}
		index_rows_free(rows, n);
	}
	if (fleet_cmd_s3(c, &s3) < 0)
		return EXIT_FAILURE;
	if (c->json && !(u.events = json_object_new_array())) {
		s3_free(&s3);
		return EXIT_FAILURE;
	}
	r = upload_run(&c->cfg, &c->st, &s3, fleet_cmd_event, &u, &stats);
	s3_free(&s3);
	if (r == -EALREADY) {
		cli_err("another mortem upload is working through the queue of %s", c->st.root);
		json_object_put(u.events);
		return EXIT_FAILURE;
	}
	if (r < 0) {
		cli_err("upload: %s", strerror(-r));
		json_object_put(u.events);
		return EXIT_FAILURE;
	}
	if (u.events) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "uploaded", json_object_new_int((int)stats.uploaded));
		json_object_object_add(o, "failed", json_object_new_int((int)stats.failed));
		json_object_object_add(o, "busy", json_object_new_int((int)stats.busy));
		json_object_object_add(o, "bytes", json_object_new_int64((int64_t)stats.bytes));
		json_object_object_add(o, "crashes", u.events);
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		char sz[16];
		format_size(stats.bytes, sz, sizeof(sz));
		printf("%u uploaded (%s), %u failed and still queued, %u busy\n", stats.uploaded, sz, stats.failed,
		       stats.busy);
	}
	return stats.failed ? EXIT_FAILURE : 0;
}

static void fleet_cmd_list_print(json_object *arr)
{
	printf("%-28s %-16s %-8s %-9s %-5s %s\n", "TIME", "HOST", "SIGNAL", "COMM", "CORE", "ID");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i), *v;
		char t[40];
		format_rfc3339(record_i64(e, "time_usec", 0), t, sizeof(t));
		bool core = json_object_object_get_ex(e, "core", &v) && json_object_get_boolean(v);
		printf("%-28s %-16s %-8s %-9s %-5s %s\n", t, record_str(e, "host", "?"),
		       record_str(e, "signal_name", "?"), record_str(e, "comm", "?"), core ? "yes" : "-",
		       record_str(e, "id", "?"));
	}
}

/* One line per signature key: count, hosts, last time, slogan. */
static json_object *fleet_cmd_group(json_object *arr)
{
	json_object *groups = json_object_new_object();
	if (!groups)
		return NULL;
	for (size_t i = 0; i < json_object_array_length(arr) && i < FLEET_CMD_GROUPS_MAX; i++) {
		json_object *e = json_object_array_get_idx(arr, i), *g, *hosts;
		const char *k = record_str(e, "sigkey", record_str(e, "exe", "?"));
		if (!json_object_object_get_ex(groups, k, &g)) {
			g = json_object_new_object();
			json_object_object_add(g, "signature", json_object_new_string(k));
			json_object_object_add(g, "slogan", json_object_new_string(record_str(e, "slogan", "")));
			json_object_object_add(g, "count", json_object_new_int(0));
			json_object_object_add(g, "hosts", json_object_new_object());
			json_object_object_add(groups, k, g);
		}
		json_object_object_add(g, "count", json_object_new_int((int)record_i64(g, "count", 0) + 1));
		json_object_object_add(g, "last_usec", json_object_new_int64(record_i64(e, "time_usec", 0)));
		json_object_object_add(g, "last_id", json_object_new_string(record_str(e, "id", "")));
		if (json_object_object_get_ex(g, "hosts", &hosts))
			json_object_object_add(hosts, record_str(e, "host", "?"), json_object_new_boolean(true));
	}
	json_object *out = json_object_new_array();
	json_object_object_foreach(groups, key, g) {
		(void)key;
		json_object *hosts = record_obj(g, "hosts");
		json_object_object_add(g, "hosts", json_object_new_int(hosts ? json_object_object_length(hosts) : 0));
		json_object_array_add(out, json_object_get(g));
	}
	json_object_put(groups);
	return out;
}

static int fleet_cmd_list(struct cli *c, struct s3 *s3)
{
	_cleanup_json_ json_object *arr = NULL, *grouped = NULL;
	struct fleet_list_stats st = { 0 };
	int64_t since = 0, until = 0;

	if (cli_time_bound(c->since, "--since", &since) < 0 || cli_time_bound(c->until, "--until", &until) < 0)
		return EXIT_USAGE;
	int r = fleet_list(&c->cfg, s3, since, until, c->host, &arr, &st);
	if (r == -EINVAL) {
		cli_err("invalid range or host name");
		return EXIT_USAGE;
	}
	if (r < 0) {
		cli_err("%s%s", s3->error[0] ? s3->error : strerror(-r), fleet_cmd_why(r));
		return EXIT_FAILURE;
	}
	if (st.capped)
		cli_err("the list is partial: more than %d days or %d hosts a day", FLEET_DAYS_MAX,
			FLEET_HOSTS_PER_DAY_MAX);
	if (st.bad_objects)
		cli_err("%u day index objects were not readable and are left out", st.bad_objects);
	if (c->group && !(grouped = fleet_cmd_group(arr)))
		return EXIT_FAILURE;
	if (c->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, c->group ? "signatures" : "crashes", json_object_get(c->group ? grouped : arr));
		json_object_object_add(o, "requests", json_object_new_int((int)st.requests));
		json_object_object_add(o, "days", json_object_new_int((int)st.days));
		json_object_object_add(o, "partial", json_object_new_boolean(st.capped));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else if (c->group) {
		printf("%6s %5s %-28s %s\n", "COUNT", "HOSTS", "LAST", "SIGNATURE");
		for (size_t i = 0; i < json_object_array_length(grouped); i++) {
			json_object *g = json_object_array_get_idx(grouped, i);
			char t[40];
			format_rfc3339(record_i64(g, "last_usec", 0), t, sizeof(t));
			printf("%6" PRId64 " %5" PRId64 " %-28s %s  %s\n", record_i64(g, "count", 0),
			       record_i64(g, "hosts", 0), t, record_str(g, "signature", ""), record_str(g, "slogan", ""));
		}
	} else {
		fleet_cmd_list_print(arr);
	}
	return json_object_array_length(arr) == 0 && !c->json ? EXIT_NOMATCH : 0;
}

static int fleet_cmd_find(struct cli *c, struct s3 *s3, const char *id, char **host)
{
	int r = fleet_find(&c->cfg, s3, id, c->host, host);
	if (r == -EINVAL) {
		cli_err("'%s' is not a crash id (YYYYMMDDTHHMMSS.uuuuuuZ-BOOT-PID)", id);
		return EXIT_USAGE;
	}
	if (r == -ENOENT) {
		cli_err("no host's index lists crash %s", id);
		return EXIT_NOMATCH;
	}
	if (r < 0) {
		cli_err("%s%s", s3->error[0] ? s3->error : strerror(-r), fleet_cmd_why(r));
		return EXIT_FAILURE;
	}
	return 0;
}

static int fleet_cmd_info(struct cli *c, struct s3 *s3, const char *id)
{
	_cleanup_free_ char *host = NULL;
	_cleanup_json_ json_object *rec = NULL;
	int r = fleet_cmd_find(c, s3, id, &host);
	if (r != 0)
		return r;
	r = fleet_record(&c->cfg, s3, host, id, &rec);
	if (r < 0) {
		cli_err("%s%s", s3->error[0] ? s3->error : strerror(-r), fleet_cmd_why(r));
		return r == -ENOENT ? EXIT_NOMATCH : EXIT_FAILURE;
	}
	if (c->json) {
		puts(json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		return 0;
	}
	json_object *up = record_obj(rec, "upload");
	printf("From host %s (bucket %s); core: %s\n", host, c->cfg.upload_bucket,
	       record_str(up, "core", "unknown"));
	show_info(stdout, rec);
	return 0;
}

static int fleet_cmd_fetch(struct cli *c, struct s3 *s3, const char *id)
{
	_cleanup_free_ char *host = NULL;
	bool core = false;
	int r = fleet_cmd_find(c, s3, id, &host);
	if (r != 0)
		return r;
	r = fleet_fetch(&c->cfg, &c->st, s3, host, id, &core);
	if (r == -EEXIST) {
		cli_err("crash %s is in the local store already", id);
		return EXIT_FAILURE;
	}
	if (r < 0) {
		cli_err("fetching %s from %s: %s%s", id, host, s3->error[0] ? s3->error : strerror(-r),
			fleet_cmd_why(r));
		return EXIT_FAILURE;
	}
	printf("fetched %s from %s into %s: record, minicore%s\n", id, host, c->st.root,
	       core ? ", core" : " (its core was not uploaded)");
	return 0;
}

int fleet_cmd_main(struct cli *c, char **argv, size_t argc)
{
	struct s3 s3 = { 0 };
	const char *sub = argc > 0 ? argv[0] : NULL;
	bool needs_id = sub && (strcmp(sub, "info") == 0 || strcmp(sub, "fetch") == 0);
	int r;

	if (!sub || (strcmp(sub, "list") != 0 && !needs_id)) {
		cli_err("fleet takes list, info ID or fetch ID");
		return EXIT_USAGE;
	}
	if ((needs_id && argc != 2) || (!needs_id && argc != 1)) {
		cli_err(needs_id ? "fleet %s takes one crash ID" : "fleet %s takes no argument", sub);
		return EXIT_USAGE;
	}
	if (c->host && !upload_host_valid(c->host)) {
		cli_err("invalid host name '%s'", c->host);
		return EXIT_USAGE;
	}
	if (fleet_cmd_s3(c, &s3) < 0)
		return EXIT_FAILURE;
	if (strcmp(sub, "list") == 0)
		r = fleet_cmd_list(c, &s3);
	else if (strcmp(sub, "info") == 0)
		r = fleet_cmd_info(c, &s3, argv[1]);
	else
		r = fleet_cmd_fetch(c, &s3, argv[1]);
	s3_free(&s3);
	return r;
}
