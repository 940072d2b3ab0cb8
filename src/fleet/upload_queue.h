/* The upload queue (ROOT/upload/<id>): what the collector and mortemd touch
 * once a crash is stored. Kept apart from the transfer (upload.c, s3.c) so
 * that the collector, which the kernel starts while a process is held, links
 * no HTTP client. Private to src/fleet. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "store/store.h"

/* ROOT/upload/NAME locked (flock; wait or -EWOULDBLOCK), its fd in *ret_fd. */
int upload_lock(const struct store *st, const char *name, bool wait, int *ret_fd);
/* One entry's JSON (-ENOENT when not queued). */
int upload_entry_read(const struct store *st, const char *id, json_object **ret);
/* Replace an entry atomically. */
int upload_entry_write(const struct store *st, const char *id, json_object *e);
/* The entry leaves the queue. */
void upload_entry_remove(const struct store *st, const char *id);
/* Free upload_queue_list's result. */
void upload_ids_free(char **ids, size_t n);
