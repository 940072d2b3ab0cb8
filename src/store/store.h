/* The store on disk: ids, directories, spool temp files and their atomic
 * publication, and the clean-up of what a killed collector left behind.
 *
 *   ROOT/store/<id>.core.zst   the core (standard zstd frames)
 *   ROOT/store/<id>.mini       the minicore
 *   ROOT/store/<id>.json       the record: written last, it makes the crash exist
 *   ROOT/index.sqlite          the index (a cache of the records)
 *   ROOT/spool/<id>.lock       held (flock) by the collector working on <id>
 *   ROOT/spool/<id>.*.tmp      its temp files
 *   ROOT/users/<uid>/<id>.json a user's view of its own crashes (access.h)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STORE_ID_MAX 96
#define STORE_STALE_LOCK_SEC 5 /* a lock file younger than this is never judged abandoned */

struct store {
	char *root, *store_dir, *spool_dir, *index_path;
};

int store_init(struct store *st, const char *root);
/* Create the directories when missing: 0750, narrowed to 0700 by the
 * collector's umask 077. */
int store_mkdirs(const struct store *st);
void store_free(struct store *st);

/* Sortable, unique across boots and hosts:
 *   YYYYMMDDTHHMMSS.uuuuuuZ-<first 8 hex of boot id>-<pid> */
int store_make_id(int64_t time_usec, const char *boot_id, pid_t pid, char *buf, size_t len);
/* An id is safe as a file-name stem. */
bool store_id_valid(const char *id);
/* The names in dir that are valid ids (not "*.tmp"), sorted (oldest first:
 * ids sort by time), at most max (the rest wait for another call); heap, free
 * with store_ids_free. A missing dir is empty. */
int store_list_ids(const char *dir, size_t max, char ***ret_ids, size_t *ret_n);
void store_ids_free(char **ids, size_t n);

/* "<dir>/<id><suffix>" in a heap string. */
char *store_path(const char *dir, const char *id, const char *suffix);

/* Create and flock spool/<id>.lock; *ret_fd keeps the lock until closed. */
int store_lock(const struct store *st, const char *id, int *ret_fd);
/* Create spool/<id><suffix>.tmp for writing (O_EXCL). */
int store_tmp_open(const struct store *st, const char *id, const char *suffix, int *ret_fd);
/* fsync'ed temp spool/<id><suffix>.tmp -> store/<id><suffix>. */
int store_publish(const struct store *st, const char *id, const char *suffix);
/* Replace store/<id><suffix> by spool/<id><tmp_suffix>.tmp (atomic: a reader
 * sees the old file or the new one). The replacement gets the old file's
 * access ACL first (access.h), so whoever could read it still can. */
int store_replace(const struct store *st, const char *id, const char *tmp_suffix, const char *suffix);
/* What a collector killed mid-way left of id's work: spool/<id>*.tmp, and
 * unless store/<id>.json exists, the core and minicore it published ahead of
 * the record. Returns whether the record exists (true also when that cannot
 * be told: nothing published is removed then). The lock, the pending note
 * and a park stay. */
bool store_discard_work(const struct store *st, const char *id);
/* store_discard_work, then the pending note, a spill and an unfinished
 * park's files, and the lock file. */
void store_discard(const struct store *st, const char *id);

/* The lock of id is abandoned: the file exists, nobody holds it and it is
 * older than STORE_STALE_LOCK_SEC (a collector creates it, then flocks it). */
bool store_lock_abandoned(const struct store *st, const char *id);

/* Remove what killed collectors left: for every lock file that nobody holds (and
 * older than STORE_STALE_LOCK_SEC), its temp files, and store files of that id
 * when the record was never published. Ids whose record was published but maybe
 * not indexed are returned in *ret_published (heap array of heap strings) so the
 * caller can index them. Returns the number of ids cleaned. */
int store_clean_spool(const struct store *st, char ***ret_published, size_t *ret_n);
