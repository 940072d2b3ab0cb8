/* systemd unit and slice from a /proc/PID/cgroup text. */
#pragma once

/* "0::/system.slice/foo.service" -> unit "foo.service", slice "system.slice".
 * The unit is the innermost .service or .scope, the slice the innermost .slice
 * above it; cgroup v2 first, then v1 "name=systemd". *unit / *slice are heap
 * strings or NULL. Returns 0, or -ENOMEM. */
int cgroup_unit(const char *cgroup, char **unit, char **slice);
