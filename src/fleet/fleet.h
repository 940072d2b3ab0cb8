/* The fleet view: queries over the bucket that `mortem upload` fills, from
 * any machine with the keys. Reads the day index objects (upload.h) rather
 * than listing crashes/: a range of D days costs D LIST requests and one GET
 * per host and day that had crashes (D GETs with a host given). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/config.h"
#include "fleet/s3.h"
#include "store/store.h"

#define FLEET_DAYS_MAX 366          /* days one list reads */
#define FLEET_HOSTS_PER_DAY_MAX 10000 /* index objects of one day read */
#define FLEET_RECORD_MAX (64u << 20)  /* as RECORD_FILE_MAX */

struct fleet_list_stats {
	unsigned requests, days, index_objects, bad_objects;
	bool capped; /* a cap above was reached: the list is partial */
};

/* The crashes of the range (since..until, microseconds, 0 = the last 24 h /
 * now), of host when not NULL: a JSON array of the index entries, each with
 * "host" added, oldest first. */
int fleet_list(const struct mortem_config *cfg, struct s3 *s3, int64_t since_usec, int64_t until_usec,
	       const char *host, json_object **ret, struct fleet_list_stats *stats);

/* The host that uploaded id (heap): id's day is in the id itself
 * (YYYYMMDDT…), so the day's index objects are searched; with host given,
 * only that one. -ENOENT when no index lists it. */
int fleet_find(const struct mortem_config *cfg, struct s3 *s3, const char *id, const char *host, char **ret_host);

/* The record as uploaded. */
int fleet_record(const struct mortem_config *cfg, struct s3 *s3, const char *host, const char *id, json_object **ret);

/* Download record, minicore and (when it is up) core into the local store,
 * keeping the other host's id and hostname, through spool temp files,
 * store_publish (no overwrite: -EEXIST when the id is here already) and
 * index_insert, as a collector publishes. The record's paths are made this
 * store's; "fleet" {fetched_usec, from} says where it came from, and a core
 * that did not go up is recorded as deleted with that reason. */
int fleet_fetch(const struct mortem_config *cfg, const struct store *st, struct s3 *s3, const char *host,
		const char *id, bool *ret_core);
