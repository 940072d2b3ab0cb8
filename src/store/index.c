/* The SQLite index: a cache of the JSON records, rebuilt from them at will.
 * Schema, migrations, the three ways to open it (writers, readers, deleters on
 * a full disk: index.h says which verb uses which) and the writes; the read
 * side is index_query.c.
 *
 * Many kernel-spawned collectors may insert at once (a crash storm), so every
 * write is a short BEGIN IMMEDIATE transaction: the write lock is taken up front,
 * SQLite's busy handler waits up to INDEX_BUSY_TIMEOUT_MS for it, and a bounded
 * retry loop covers the cases where SQLite reports SQLITE_BUSY without waiting
 * (WAL recovery, a journal-mode change by a concurrent first open). */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "store/index.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/index_sql.h"
#include "store/record.h"
#include "base/util.h"

#define INDEX_BUSY_TIMEOUT_MS 10000 /* SQLite's own wait for a lock */
#define INDEX_BUSY_RETRIES    50    /* further attempts when SQLite gives up early ... */
#define INDEX_RETRY_WINDOW_MS 20000 /* ... but never past this, so a stuck lock holder
				     * cannot hold a collector for minutes */

/* The bytes one row accounts for: its core while it has one, its minicore and
 * its record. P is "", "NEW." or "OLD.". */
#define INDEX_ROW_BYTES(P) \
	"(CASE WHEN " P "core_path IS NULL THEN 0 ELSE coalesce(" P "stored_size, 0) END" \
	" + coalesce(" P "mini_size, 0) + coalesce(" P "record_size, 0))"

/* Migrations: migrations[i] takes the schema from version i to i + 1. Add a
 * version by appending an entry and bumping INDEX_SCHEMA_VERSION. */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE crashes ("
	"  id TEXT PRIMARY KEY,"
	"  time_usec INTEGER NOT NULL,"
	"  pid INTEGER, uid INTEGER, gid INTEGER, signal INTEGER,"
	"  comm TEXT, exe TEXT, unit TEXT, hostname TEXT, boot_id TEXT,"
	"  core_status TEXT, core_size INTEGER, stored_size INTEGER,"
	"  core_path TEXT, record_path TEXT);"
	"CREATE INDEX crashes_time ON crashes(time_usec);"
	"CREATE INDEX crashes_pid ON crashes(pid);"
	"CREATE INDEX crashes_comm ON crashes(comm);"
	"CREATE INDEX crashes_exe ON crashes(exe);",
	/* 1 -> 2: the analysis' crash signature and one-line slogan */
	"ALTER TABLE crashes ADD COLUMN signature TEXT;"
	"ALTER TABLE crashes ADD COLUMN slogan TEXT;"
	"CREATE INDEX crashes_signature ON crashes(signature);",
	/* 2 -> 3: sizes for the quota accounting, and the bytes other collectors
	 * have reserved for cores they are still writing */
	"ALTER TABLE crashes ADD COLUMN mini_size INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE crashes ADD COLUMN record_size INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE reservations ("
	"  id TEXT PRIMARY KEY, exe TEXT, unit TEXT, bytes INTEGER NOT NULL,"
	"  time_usec INTEGER NOT NULL, pid INTEGER NOT NULL);"
	"CREATE INDEX crashes_unit ON crashes(unit);",
	/* 3 -> 4: a running total of the bytes the rows account for, kept by
	 * triggers, so that an admission reads one row instead of summing the
	 * table. REPLACE fires the delete trigger because index_open turns on
	 * recursive_triggers. */
	"CREATE TABLE totals (id INTEGER PRIMARY KEY CHECK (id = 1), bytes INTEGER NOT NULL, n INTEGER NOT NULL);"
	"INSERT INTO totals SELECT 1, coalesce(sum(" INDEX_ROW_BYTES("") "), 0), count(*) FROM crashes;"
	"CREATE TRIGGER crashes_total_ins AFTER INSERT ON crashes BEGIN"
	"  UPDATE totals SET bytes = bytes + " INDEX_ROW_BYTES("NEW.") ", n = n + 1 WHERE id = 1; END;"
	"CREATE TRIGGER crashes_total_del AFTER DELETE ON crashes BEGIN"
	"  UPDATE totals SET bytes = bytes - " INDEX_ROW_BYTES("OLD.") ", n = n - 1 WHERE id = 1; END;"
	"CREATE TRIGGER crashes_total_upd AFTER UPDATE ON crashes BEGIN"
	"  UPDATE totals SET bytes = bytes - " INDEX_ROW_BYTES("OLD.") " + " INDEX_ROW_BYTES("NEW.") " WHERE id = 1; END;",
	/* 4 -> 5: whose crash it is, so that the counts that can skip a core are
	 * kept per owner (uid, system or user unit, slice): the owner columns of
	 * crashes and reservations, and indexes that lead with the keys the
	 * rate limit, KeepPerSignature and listings look up, each ending in the
	 * column they range or sort on. Rows indexed before have slice NULL and
	 * user_unit 0 until `mortem reindex` reads them again from the records. */
	"ALTER TABLE crashes ADD COLUMN slice TEXT;"
	"ALTER TABLE crashes ADD COLUMN user_unit INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE reservations ADD COLUMN uid INTEGER NOT NULL DEFAULT -1;"
	"ALTER TABLE reservations ADD COLUMN slice TEXT;"
	"ALTER TABLE reservations ADD COLUMN user_unit INTEGER NOT NULL DEFAULT 0;"
	"DROP INDEX IF EXISTS crashes_time;"
	"CREATE INDEX crashes_time ON crashes(time_usec, id);"
	"DROP INDEX IF EXISTS crashes_exe;"
	"CREATE INDEX crashes_exe ON crashes(exe, uid, time_usec);"
	"DROP INDEX IF EXISTS crashes_unit;"
	"CREATE INDEX crashes_unit ON crashes(unit, uid, time_usec);"
	"DROP INDEX IF EXISTS crashes_signature;"
	"CREATE INDEX crashes_signature ON crashes(signature, uid);"
	"CREATE INDEX crashes_uid ON crashes(uid, time_usec, id);",
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == INDEX_SCHEMA_VERSION,
	       "one migration step per schema version");

#define errno_from_sqlite index_errno

int index_errno(sqlite3 *db, int rc)
{
	int e;

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_MISUSE:
		return -EINVAL;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
		e = db ? sqlite3_system_errno(db) : 0;
		return e > 0 ? -e : -EIO;
	default:
		return -EIO;
	}
}

static bool is_busy(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/* A few ms, growing, with jitter so that a storm of collectors does not retry in
 * lock step. */
static void backoff(unsigned attempt)
{
	unsigned ms = 1 + (attempt < 10 ? attempt : 10) * 5;
	struct timespec ts = {
		.tv_sec = 0,
		.tv_nsec = (long)(ms * 1000000L + (long)(((unsigned)getpid() * 7919u + attempt * 104729u) % 1000000u)),
	};

	(void)nanosleep(&ts, NULL);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether to try a busy statement again; start is mono_ms() of the first try. */
static bool retry_busy(int rc, unsigned attempt, int64_t start)
{
	if (!is_busy(rc) || attempt >= INDEX_BUSY_RETRIES || mono_ms() - start > INDEX_RETRY_WINDOW_MS)
		return false;
	backoff(attempt);
	return true;
}

/* sqlite3_exec with the retry loop; for statements that return no rows we need. */
static int exec_retry(sqlite3 *db, const char *sql)
{
	int64_t start = mono_ms();
	int rc;

	for (unsigned attempt = 0;; attempt++) {
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		if (!retry_busy(rc, attempt, start))
			break;
	}
	return errno_from_sqlite(db, rc);
}

static int tx_begin(sqlite3 *db)
{
	return exec_retry(db, "BEGIN IMMEDIATE");
}

/* In WAL mode a COMMIT rarely reports BUSY; when it does the transaction stays
 * open and retrying is right. On any other failure, roll back. */
static int tx_commit(sqlite3 *db)
{
	int r = exec_retry(db, "COMMIT");

	if (r < 0 && !sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static void tx_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* Run a pragma that returns one row (or none) and retry while busy. When ret is
 * given it receives column 0 as integer. */
static int pragma_int(sqlite3 *db, const char *sql, int64_t *ret)
{
	int64_t start = mono_ms();
	int rc;

	for (unsigned attempt = 0;; attempt++) {
		_cleanup_finalize_ sqlite3_stmt *st = NULL;

		rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
		if (rc == SQLITE_OK) {
			rc = sqlite3_step(st);
			if (rc == SQLITE_ROW) {
				if (ret)
					*ret = sqlite3_column_int64(st, 0);
				rc = SQLITE_OK;
			} else if (rc == SQLITE_DONE) {
				if (ret)
					*ret = 0;
				rc = SQLITE_OK;
			}
		}
		if (!retry_busy(rc, attempt, start))
			break;
	}
	return errno_from_sqlite(db, rc);
}

static int index_migrate(sqlite3 *db)
{
	int64_t version;
	char sql[64];
	int r;

	r = pragma_int(db, "PRAGMA user_version", &version);
	if (r < 0)
		return r;
	if (version == INDEX_SCHEMA_VERSION)
		return 0;
	if (version > INDEX_SCHEMA_VERSION || version < 0)
		return -ENOTSUP;

	r = tx_begin(db);
	if (r < 0)
		return r;
	/* Another process may have migrated between our read and our lock. */
	r = pragma_int(db, "PRAGMA user_version", &version);
	if (r < 0)
		goto fail;
	if (version > INDEX_SCHEMA_VERSION || version < 0) {
		r = -ENOTSUP;
		goto fail;
	}
	for (int64_t v = version; v < INDEX_SCHEMA_VERSION; v++) {
		r = errno_from_sqlite(db, sqlite3_exec(db, migrations[v], NULL, NULL, NULL));
		if (r < 0)
			goto fail;
	}
	/* PRAGMA takes no parameters; the value is our own constant. */
	(void)snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", INDEX_SCHEMA_VERSION);
	r = errno_from_sqlite(db, sqlite3_exec(db, sql, NULL, NULL, NULL));
	if (r < 0)
		goto fail;
	return tx_commit(db);
fail:
	tx_rollback(db);
	return r;
}

int index_open(const char *path, sqlite3 **ret)
{
	sqlite3 *db = NULL;
	int rc, r;

	if (!path || !ret)
		return -EINVAL;
	/* SQLite opens its files with O_CLOEXEC on Linux. */
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = errno_from_sqlite(db, rc);
		(void)sqlite3_close(db);
		return r < 0 ? r : -EIO;
	}
	(void)sqlite3_busy_timeout(db, INDEX_BUSY_TIMEOUT_MS);

	/* The first statement reads the header: a garbage file fails here with
	 * SQLITE_NOTADB, which we return as -EBADMSG. */
	r = exec_retry(db, "PRAGMA journal_mode = WAL");
	if (r < 0)
		goto fail;
	r = exec_retry(db, "PRAGMA synchronous = NORMAL");
	if (r < 0)
		goto fail;
	/* INSERT OR REPLACE must run the delete trigger of the running total. */
	r = exec_retry(db, "PRAGMA recursive_triggers = ON");
	if (r < 0)
		goto fail;
	r = index_migrate(db);
	if (r < 0)
		goto fail;
	*ret = db;
	return 0;
fail:
	(void)sqlite3_close(db);
	return r;
}

/* A "file:" URI for path, %-escaping the characters a URI gives a meaning. */
static char *index_uri(const char *path, const char *query)
{
	size_t n = strlen(path);
	char *u = malloc(sizeof("file:") + n * 3 + 1 + strlen(query)), *p;

	if (!u)
		return NULL;
	p = stpcpy(u, "file:");
	for (const char *c = path; *c; c++) {
		if (*c == '%' || *c == '?' || *c == '#')
			p += sprintf(p, "%%%02X", (unsigned char)*c);
		else
			*p++ = *c;
	}
	*p++ = '?';
	strcpy(p, query);
	return u;
}

/* The schema must be ours as it is: the read-only and in-place opens cannot
 * migrate (that needs room and a writable file). */
static int index_check_version(sqlite3 *db)
{
	int64_t v;
	int r = pragma_int(db, "PRAGMA user_version", &v);

	if (r < 0)
		return r;
	return v == INDEX_SCHEMA_VERSION ? 0 : -ENOTSUP;
}

/* The file system of path is read-only or has less than
 * INDEX_CLEANUP_FREE_MIN free: a new -shm or WAL frames may not fit. */
static bool index_fs_full(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	struct statvfs sv;
	char *slash;

	if (!dir)
		return false;
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (statvfs(dir, &sv) < 0)
		return false;
	return (sv.f_flag & ST_RDONLY) || (uint64_t)sv.f_bavail * sv.f_frsize < INDEX_CLEANUP_FREE_MIN;
}

enum index_ro_mode {
	INDEX_RO_SHARED,    /* the -shm, shared with writers */
	INDEX_RO_HEAP,      /* no -shm: no locks, the wal-index built on the heap from the -wal */
	INDEX_RO_IMMUTABLE, /* the main file alone */
};

static int index_open_ro_mode(const char *path, enum index_ro_mode mode, sqlite3 **ret)
{
	static const char *const query[] = {
		[INDEX_RO_SHARED] = "mode=ro",
		[INDEX_RO_HEAP] = "mode=ro&vfs=unix-none",
		[INDEX_RO_IMMUTABLE] = "mode=ro&immutable=1",
	};
	_cleanup_free_ char *uri = index_uri(path, query[mode]);
	sqlite3 *db = NULL;
	int rc, r = 0;

	if (!uri)
		return -ENOMEM;
	rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = errno_from_sqlite(db, rc);
		(void)sqlite3_close(db);
		return r < 0 ? r : -EIO;
	}
	(void)sqlite3_busy_timeout(db, INDEX_BUSY_TIMEOUT_MS);
	/* Exclusive locking mode before the first read: SQLite then keeps the
	 * wal-index on the heap and never opens a -shm (with nolock=1 the
	 * "exclusive" lock is not taken, so writers are not stopped either). */
	if (mode == INDEX_RO_HEAP)
		r = exec_retry(db, "PRAGMA locking_mode = EXCLUSIVE");
	/* The first read: in the shared mode a WAL database needs its -shm here. */
	if (r >= 0)
		r = index_check_version(db);
	if (r >= 0)
		r = exec_retry(db, "PRAGMA query_only = ON");
	if (r < 0) {
		(void)sqlite3_close(db);
		return r;
	}
	*ret = db;
	return 0;
}

/* Readers. SQLite reads a WAL-mode database through its -shm (the wal-index):
 * a read-only connection opens the existing one, or creates it when it may
 * (SQLite's "Read-Only WAL databases": since 3.22 the -shm and -wal must exist
 * or be creatable, or the database be opened immutable). On a read-only file
 * system without them, and on a full one where a new -shm cannot get its
 * 32 KiB, that fails (ENOENT, ENOSPC). Then, when a -wal with frames is there
 * (a copy taken while a writer was open), the wal-index is built on the heap
 * from it (no lock, no -shm): the whole content. Without a -wal, or when that
 * fails too, ?immutable=1 reads the main file alone, which is exact when the
 * -wal is absent or empty, as after the last writer closed (its close
 * checkpoints and removes both): the usual state of an idle store and of a
 * copy. index_is_immutable() tells a caller that frames may be missing. The
 * two fallbacks take no lock: a writer working at the same time could show
 * them a torn read, but one that cannot make a -shm cannot write either. */
int index_open_ro(const char *path, sqlite3 **ret)
{
	_cleanup_free_ char *wal = NULL, *shm = NULL;
	struct stat sb;
	int r, r2 = -ENOENT;

	if (!path || !ret)
		return -EINVAL;
	/* never create it: a missing index is ENOENT for the caller to report */
	if (stat(path, &sb) < 0)
		return -errno;
	if (asprintf(&wal, "%s-wal", path) < 0 || asprintf(&shm, "%s-shm", path) < 0)
		return -ENOMEM;
	/* No -shm means no connection is open; on a full or read-only file
	 * system the shared open would only fail making one (and on a full one
	 * leave it behind, empty), so go straight to the fallbacks there. */
	if (stat(shm, &sb) == 0 || !index_fs_full(path)) {
		r = index_open_ro_mode(path, INDEX_RO_SHARED, ret);
		if (r >= 0 || r == -EBADMSG || r == -ENOTSUP || r == -ENOMEM || r == -EACCES)
			return r;
	} else {
		r = -ENOSPC;
	}
	if (stat(wal, &sb) == 0 && sb.st_size > 0)
		r2 = index_open_ro_mode(path, INDEX_RO_HEAP, ret);
	if (r2 < 0)
		r2 = index_open_ro_mode(path, INDEX_RO_IMMUTABLE, ret);
	return r2 >= 0 ? r2 : r;
}

bool index_is_immutable(sqlite3 *db)
{
	const char *f = db ? sqlite3_db_filename(db, "main") : NULL;

	return f && sqlite3_uri_boolean(f, "immutable", 0);
}

/* Run a pragma that answers one text row; ret gets a copy of it. */
static int pragma_text(sqlite3 *db, const char *sql, char *ret, size_t len)
{
	_cleanup_finalize_ sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return errno_from_sqlite(db, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
	(void)snprintf(ret, len, "%s", (const char *)sqlite3_column_text(st, 0) ?: "");
	return 0;
}

/* Deleting on a full file system. A WAL write appends frames to the -wal and
 * needs the -shm: new blocks. Instead: exclusive locking mode, set before the
 * first read, keeps the wal-index on the heap (no -shm); journal_mode=MEMORY
 * then checkpoints what a -wal holds into the main file and removes it, and
 * from there a transaction writes changed pages in place, its rollback
 * journal in memory. A DELETE only rewrites pages the file has (freed pages
 * go to its freelist), so it needs no new block; it can fail with ENOSPC only
 * when a -wal holds pages past the end of the main file (the checkpoint grows
 * it) or a b-tree rebalance finds the freelist empty. The price: the lock is
 * exclusive while the connection lives (collectors wait, as for any write),
 * and a crash in the middle of a commit can leave a torn page, which the next
 * open reports as -EBADMSG and `mortem reindex` rebuilds: the index is a
 * cache of the records. The next index_open puts the file back in WAL mode. */
static int index_open_inplace(const char *path, sqlite3 **ret)
{
	sqlite3 *db = NULL;
	char mode[16];
	int rc, r;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = errno_from_sqlite(db, rc);
		(void)sqlite3_close(db);
		return r < 0 ? r : -EIO;
	}
	(void)sqlite3_busy_timeout(db, INDEX_BUSY_TIMEOUT_MS);
	r = exec_retry(db, "PRAGMA locking_mode = EXCLUSIVE");
	if (r >= 0)
		r = pragma_text(db, "PRAGMA journal_mode = MEMORY", mode, sizeof(mode));
	if (r >= 0 && strcmp(mode, "memory") != 0)
		r = -EBUSY; /* SQLite kept the WAL: someone else has the file open */
	if (r >= 0)
		r = exec_retry(db, "PRAGMA recursive_triggers = ON");
	if (r >= 0)
		r = index_check_version(db);
	if (r < 0) {
		(void)sqlite3_close(db);
		return r;
	}
	*ret = db;
	return 0;
}

int index_open_cleanup(const char *path, sqlite3 **ret)
{
	struct stat sb;
	int r;

	if (!path || !ret)
		return -EINVAL;
	if (stat(path, &sb) < 0)
		return -errno;
	if (!index_fs_full(path)) {
		r = index_open(path, ret);
		if (r != -ENOSPC)
			return r;
	}
	return index_open_inplace(path, ret);
}

void index_close(sqlite3 *db)
{
	(void)sqlite3_close_v2(db);
}

int index_reset(const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	int r = 0;

	if (!path)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		_cleanup_free_ char *p = NULL;

		if (asprintf(&p, "%s%s", path, suffixes[i]) < 0)
			return -ENOMEM;
		if (unlink(p) < 0 && errno != ENOENT && r == 0)
			r = -errno;
	}
	return r;
}

/* Bytes a file takes, for the quota accounting; 0 when it cannot be seen. */
static int64_t index_file_size(const char *path)
{
	struct stat sb;
	return path && stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

static int bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* Insert without a transaction of its own; the caller holds one. */
static int insert_locked(sqlite3 *db, json_object *rec, const char *record_path)
{
	_cleanup_finalize_ sqlite3_stmt *st = NULL;
	json_object *core;
	int rc, i = 0;

	if (record_validate(rec, NULL) < 0)
		return -EBADMSG;
	core = record_obj(rec, "core");

	rc = sqlite3_prepare_v2(db,
				"INSERT OR REPLACE INTO crashes (" INDEX_ROW_COLUMNS ") "
				"VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return errno_from_sqlite(db, rc);
	rc = bind_text_or_null(st, ++i, record_str(rec, "id", NULL));
	rc = rc ?: sqlite3_bind_int64(st, ++i, record_i64(rec, "time_usec", 0));
	rc = rc ?: sqlite3_bind_int64(st, ++i, record_i64(rec, "pid", 0));
	rc = rc ?: sqlite3_bind_int64(st, ++i, record_i64(rec, "uid", 0));
	rc = rc ?: sqlite3_bind_int64(st, ++i, record_i64(rec, "gid", 0));
	rc = rc ?: sqlite3_bind_int64(st, ++i, record_i64(rec, "signal", 0));
	rc = rc ?: bind_text_or_null(st, ++i, record_str(rec, "comm", NULL));
	rc = rc ?: bind_text_or_null(st, ++i, record_str(rec, "exe", NULL));
	rc = rc ?: bind_text_or_null(st, ++i, record_str(rec, "unit", NULL));
	rc = rc ?: bind_text_or_null(st, ++i, record_str(rec, "hostname", NULL));
	rc = rc ?: bind_text_or_null(st, ++i, record_str(rec, "boot_id", NULL));
	rc = rc ?: bind_text_or_null(st, ++i, record_str(core, "status", NULL));
	rc = rc ?: sqlite3_bind_int64(st, ++i, record_i64(core, "size", 0));
	rc = rc ?: sqlite3_bind_int64(st, ++i, record_i64(core, "stored_size", 0));
	rc = rc ?: bind_text_or_null(st, ++i, record_str(core, "path", NULL));
	rc = rc ?: bind_text_or_null(st, ++i, record_path);
	rc = rc ?: bind_text_or_null(st, ++i, record_str(rec, "signature", NULL));
	rc = rc ?: bind_text_or_null(st, ++i, record_str(rec, "slogan", NULL));
	rc = rc ?: sqlite3_bind_int64(st, ++i, record_i64(record_obj(rec, "minicore"), "size", 0));
	rc = rc ?: sqlite3_bind_int64(st, ++i, index_file_size(record_path));
	rc = rc ?: bind_text_or_null(st, ++i, record_str(rec, "slice", NULL));
	rc = rc ?: sqlite3_bind_int(st, ++i, policy_cgroup_user_unit(record_str(record_obj(rec, "proc"), "cgroup", NULL)));
	if (rc != SQLITE_OK)
		return errno_from_sqlite(db, rc);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return errno_from_sqlite(db, rc);
	return 0;
}

int index_insert(sqlite3 *db, json_object *record, const char *record_path)
{
	int r;

	if (!db || !record)
		return -EINVAL;
	if (record_validate(record, NULL) < 0)
		return -EBADMSG;
	r = tx_begin(db);
	if (r < 0)
		return r;
	r = insert_locked(db, record, record_path);
	if (r < 0) {
		tx_rollback(db);
		return r;
	}
	return tx_commit(db);
}

int index_delete(sqlite3 *db, const char *id)
{
	_cleanup_finalize_ sqlite3_stmt *st = NULL;
	int rc, r;

	if (!db || !id)
		return -EINVAL;
	r = tx_begin(db);
	if (r < 0)
		return r;
	rc = sqlite3_prepare_v2(db, "DELETE FROM crashes WHERE id = ?", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		tx_rollback(db);
		return errno_from_sqlite(db, rc);
	}
	r = sqlite3_changes(db) > 0;
	rc = tx_commit(db);
	return rc < 0 ? rc : r;
}

int index_usage(sqlite3 *db, uint64_t *ret_bytes)
{
	_cleanup_finalize_ sqlite3_stmt *st = NULL;
	int rc;

	if (!db || !ret_bytes)
		return -EINVAL;
	rc = sqlite3_prepare_v2(db, "SELECT bytes FROM totals WHERE id = 1", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return errno_from_sqlite(db, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc);
	int64_t v = sqlite3_column_int64(st, 0);
	*ret_bytes = v > 0 ? (uint64_t)v : 0;
	return 0;
}

int index_core_times_owner(sqlite3 *db, const char *exe, const char *unit, const struct policy_owner *owner,
			   int64_t since_usec, int64_t **ret, size_t *ret_n)
{
	_cleanup_finalize_ sqlite3_stmt *st = NULL;
	int64_t *v = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (!db || !ret || !ret_n || (!exe && !unit))
		return -EINVAL;
	/* Equality on the key and the uid, a range on the time: one range of the
	 * crashes_unit or crashes_exe index (schema 5). The rest of the owner is
	 * checked on those rows. */
	rc = sqlite3_prepare_v2(db,
				unit ? (owner ? "SELECT time_usec FROM crashes WHERE unit = ?1 AND uid = ?3"
						" AND user_unit = ?4 AND slice IS ?5"
						" AND core_path IS NOT NULL AND time_usec >= ?2"
					      : "SELECT time_usec FROM crashes WHERE unit = ?1 AND core_path IS NOT NULL"
						" AND time_usec >= ?2")
				     : (owner ? "SELECT time_usec FROM crashes WHERE exe = ?1 AND uid = ?3"
						" AND user_unit = ?4 AND slice IS ?5"
						" AND core_path IS NOT NULL AND time_usec >= ?2"
					      : "SELECT time_usec FROM crashes WHERE exe = ?1 AND core_path IS NOT NULL"
						" AND time_usec >= ?2"),
				-1, &st, NULL);
	rc = rc ?: sqlite3_bind_text(st, 1, unit ? unit : exe, -1, SQLITE_TRANSIENT);
	rc = rc ?: sqlite3_bind_int64(st, 2, since_usec);
	if (owner) {
		rc = rc ?: sqlite3_bind_int64(st, 3, owner->uid);
		rc = rc ?: sqlite3_bind_int(st, 4, owner->user_unit);
		rc = rc ?: bind_text_or_null(st, 5, owner->slice);
	}
	if (rc != SQLITE_OK)
		return errno_from_sqlite(db, rc);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			int64_t *nv = reallocarray(v, ncap, sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE) {
		free(v);
		return errno_from_sqlite(db, rc);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int index_core_times(sqlite3 *db, const char *exe, const char *unit, int64_t since_usec, int64_t **ret,
		     size_t *ret_n)
{
	return index_core_times_owner(db, exe, unit, NULL, since_usec, ret, ret_n);
}

int index_reserve(sqlite3 *db, const struct index_reservation *res)
{
	_cleanup_finalize_ sqlite3_stmt *st = NULL;
	int rc, i = 0;

	if (!db || !res || !res->id)
		return -EINVAL;
	rc = sqlite3_prepare_v2(db,
				"INSERT OR REPLACE INTO reservations (id, exe, unit, bytes, time_usec, pid,"
				" uid, user_unit, slice) VALUES (?,?,?,?,?,?,?,?,?)",
				-1, &st, NULL);
	rc = rc ?: bind_text_or_null(st, ++i, res->id);
	rc = rc ?: bind_text_or_null(st, ++i, res->exe);
	rc = rc ?: bind_text_or_null(st, ++i, res->unit);
	rc = rc ?: sqlite3_bind_int64(st, ++i, (int64_t)res->bytes);
	rc = rc ?: sqlite3_bind_int64(st, ++i, res->time_usec);
	rc = rc ?: sqlite3_bind_int64(st, ++i, res->pid);
	rc = rc ?: sqlite3_bind_int64(st, ++i, res->has_owner ? res->owner.uid : -1);
	rc = rc ?: sqlite3_bind_int(st, ++i, res->has_owner && res->owner.user_unit);
	rc = rc ?: bind_text_or_null(st, ++i, res->has_owner ? res->owner.slice : NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? 0 : errno_from_sqlite(db, rc);
}

int index_unreserve(sqlite3 *db, const char *id)
{
	_cleanup_finalize_ sqlite3_stmt *st = NULL;
	int rc;

	if (!db || !id)
		return -EINVAL;
	rc = sqlite3_prepare_v2(db, "DELETE FROM reservations WHERE id = ?", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? 0 : errno_from_sqlite(db, rc);
}

int index_reservations(sqlite3 *db, struct index_reservation **ret, size_t *ret_n)
{
	_cleanup_finalize_ sqlite3_stmt *st = NULL;
	struct index_reservation *v = NULL;
	size_t n = 0;
	int rc;

	if (!db || !ret || !ret_n)
		return -EINVAL;
	rc = sqlite3_prepare_v2(db, "SELECT id, exe, unit, bytes, time_usec, pid, uid, user_unit, slice FROM reservations"
				" WHERE id NOT IN (SELECT id FROM crashes)", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return errno_from_sqlite(db, rc);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct index_reservation *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			index_reservations_free(v, n);
			return -ENOMEM;
		}
		v = nv;
		const unsigned char *t[4] = { sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
					      sqlite3_column_text(st, 2), sqlite3_column_text(st, 8) };
		v[n] = (struct index_reservation){
			.id = t[0] ? strdup((const char *)t[0]) : NULL,
			.exe = t[1] ? strdup((const char *)t[1]) : NULL,
			.unit = t[2] ? strdup((const char *)t[2]) : NULL,
			.bytes = (uint64_t)sqlite3_column_int64(st, 3),
			.time_usec = sqlite3_column_int64(st, 4),
			.pid = (pid_t)sqlite3_column_int64(st, 5),
			.has_owner = sqlite3_column_int64(st, 6) >= 0,
			.owner = { .uid = sqlite3_column_int64(st, 6), .user_unit = sqlite3_column_int(st, 7) != 0,
				   .slice = t[3] ? strdup((const char *)t[3]) : NULL },
		};
		n++;
	}
	if (rc != SQLITE_DONE) {
		index_reservations_free(v, n);
		return errno_from_sqlite(db, rc);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

void index_reservations_free(struct index_reservation *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)v[i].id);
		free((char *)v[i].exe);
		free((char *)v[i].unit);
		free((char *)v[i].owner.slice);
	}
	free(v);
}

static inline void closedirp(DIR **d)
{
	if (*d)
		(void)closedir(*d);
}

/* A record file is <id>.json; anything else in the store (cores, minicores,
 * dot-named temp files) is not ours to read here. */
static bool record_name(const char *name, size_t *stem_len)
{
	size_t len = strlen(name);

	if (name[0] == '.' || len <= 5 || strcmp(name + len - 5, ".json") != 0)
		return false;
	*stem_len = len - 5;
	return true;
}

int index_rebuild(sqlite3 *db, const char *store_dir, size_t *ret_ok, size_t *ret_bad)
{
	__attribute__((cleanup(closedirp))) DIR *d = NULL;
	_cleanup_close_ int dfd = -1;
	size_t ok = 0, bad = 0;
	struct dirent *de;
	int r;

	if (!db || !store_dir)
		return -EINVAL;
	dfd = open(store_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d)
		return -errno;
	dfd = -1; /* owned by d now */

	r = tx_begin(db);
	if (r < 0)
		return r;
	r = errno_from_sqlite(db, sqlite3_exec(db, "DELETE FROM crashes", NULL, NULL, NULL));
	if (r < 0)
		goto fail;
	for (;;) {
		_cleanup_free_ char *path = NULL;
		json_object *rec = NULL;
		size_t stem;
		const char *id;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno) {
				r = -errno;
				goto fail;
			}
			break;
		}
		if (!record_name(de->d_name, &stem))
			continue;
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN) {
			bad++;
			continue;
		}
		if (asprintf(&path, "%s/%s", store_dir, de->d_name) < 0) {
			r = -ENOMEM;
			goto fail;
		}
		r = record_load(path, &rec);
		if (r == -ENOMEM)
			goto fail;
		if (r < 0) {
			bad++;
			continue;
		}
		/* The file name is the id; a mismatch is a copied or renamed record
		 * that would shadow the real one. */
		id = record_str(rec, "id", "");
		if (strlen(id) != stem || strncmp(id, de->d_name, stem) != 0) {
			json_object_put(rec);
			bad++;
			continue;
		}
		r = insert_locked(db, rec, path);
		json_object_put(rec);
		if (r == -EBADMSG) {
			bad++;
			continue;
		}
		if (r < 0)
			goto fail;
		ok++;
	}
	r = tx_commit(db);
	if (r < 0)
		return r;
	if (ret_ok)
		*ret_ok = ok;
	if (ret_bad)
		*ret_bad = bad;
	return 0;
fail:
	tx_rollback(db);
	return r;
}
