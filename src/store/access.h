/* Who may read a stored crash besides root, and the POSIX ACLs that say so.
 *
 * The policy is systemd-coredump's: the crashing uid reads its own crash
 * (record, core, minicore) only when the process was an ordinary one of
 * that user: dumpable 1 (the kernel's %d), and real, effective and saved
 * uid all equal, and the same for the gids (the record's proc.status
 * Uid:/Gid: lines, four values each). A setuid, setgid or file-capability
 * program, or one that changed credentials, fails the rule (the kernel sets
 * such a process's dumpable to suid_dumpable, never 1), and so does a
 * record that lacks any of these fields: unknown is no. The reading group
 * (ACCESS_GROUP, "adm") reads every record and lists store/, and reads the
 * cores and minicores of the crashes whose owner may read them, but not of
 * uid 0's: root's memory holds what adm, a group for reading logs, must not
 * get. The index stays root's: it holds every user's rows.
 *
 * On disk (every directory root's):
 *   ROOT, ROOT/users           o+x: a user opens a file by name, lists nothing
 *   ROOT/store                 o+x, group ACCESS_GROUP r-x (by an ACL)
 *   ROOT/users/<uid>/          0700 + ACL u:<uid>:r-x: the user's view
 *   ROOT/users/<uid>/<id>.json -> ../../store/<id>.json
 *   ROOT/store/<id>.*          0600 + ACL u:<uid>:r--, g:ACCESS_GROUP:r--
 *
 * ACLs are written as the system.posix_acl_access extended attribute (the
 * kernel's format, linux/posix_acl_xattr.h), which needs no libacl. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/store.h"

#define ACCESS_GROUP "adm"        /* reads every record: Debian's group for the system's logs */
#define ACCESS_USERS_DIR "users"  /* ROOT/users/<uid>/: each user's view of the store */
#define ACCESS_ACL_ENTRIES_MAX 8  /* entries in an ACL we write (we write at most 6) */
#define ACCESS_NOBODY ((uid_t)-1) /* no user entry / no group entry */

/* The rule above, a pure function of the record: 1 when the crash's uid may
 * read it (*ret_uid set), 0 when not (*ret_why, a static string, says why). */
int access_owner_may_read(json_object *rec, uid_t *ret_uid, const char **ret_why);

/* What one stored file grants: user (ACCESS_NOBODY: none) reads it, group
 * (ACCESS_NOBODY: none) reads it. */
struct access_grant {
	uid_t user;
	gid_t group;
};
/* The grants of a crash's record and of its core and minicore; group is the
 * reading group's gid (ACCESS_NOBODY when the system has none). */
void access_grants(json_object *rec, gid_t group, struct access_grant *ret_record,
		   struct access_grant *ret_core);
/* The reading group's gid; ACCESS_NOBODY when it does not exist. */
gid_t access_group_gid(void);

/* Encode the access ACL of a file of mode `mode` with the grant's entries
 * (read, and search for a directory) into buf: the bytes of
 * system.posix_acl_access. Returns its size, or -ENOBUFS. */
int access_acl_encode(mode_t mode, const struct access_grant *g, bool dir, void *buf, size_t len);
/* Set the grant on fd (a file we own) as its access ACL; a grant of nobody
 * removes the ACL, leaving the mode. -EOPNOTSUPP when the file system has no
 * ACLs. */
int access_apply_fd(int fd, const struct access_grant *g, bool dir);
/* Copy the access ACL of the file at path to fd (none there: none on fd).
 * store_replace carries a file's readers to its replacement with this. */
int access_copy_to_fd(const char *path, int fd);

/* After a crash's record is published: its files' ACLs, the directories'
 * search bits and the owner's view (symlink users/<uid>/<id>.json, and the
 * owner's links whose crash is gone are removed). Files not there (no core)
 * are skipped. Returns 0 or the first error (the crash stays root's: the
 * safe side). */
int access_publish(const struct store *st, json_object *rec);

/* "ROOT/users/<uid>" in a heap string. */
char *access_user_dir(const struct store *st, uid_t uid);
