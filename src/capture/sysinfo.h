/* Facts about this machine for the crash record. */
#pragma once

#include <json-c/json.h>

/* {"boot_id" (32 hex, no dashes), "kernel" (uname -r), "os" (os-release
 * PRETTY_NAME), "machine_id", "errors" {item: message}}: an item that cannot be
 * read is null with its error recorded. Returns 0 or -ENOMEM. */
int sysinfo_capture(json_object **ret);
