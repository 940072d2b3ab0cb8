/* Shared by index.c (schema, writes, opening) and index_query.c (the read
 * side): the row's columns in the order both read and write them, and the
 * statement cleanup. Not for other modules. */
#pragma once

#include <sqlite3.h>

#define INDEX_ROW_COLUMNS                                                                           \
	"id, time_usec, pid, uid, gid, signal, comm, exe, unit, hostname, boot_id, "                \
	"core_status, core_size, stored_size, core_path, record_path, signature, slogan, mini_size, " \
	"record_size, slice, user_unit"
#define INDEX_ROW_NCOLUMNS 22

static inline void index_finalizep(sqlite3_stmt **s)
{
	(void)sqlite3_finalize(*s); /* harmless on NULL */
}
#define _cleanup_finalize_ __attribute__((cleanup(index_finalizep)))
