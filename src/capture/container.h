/* Which container a crashed process ran in: the runtime and the container's
 * name or id, from its cgroup path (a rule per runtime, container_from_cgroup)
 * and from comparing its namespaces with the collector's own. */
#pragma once

#include <stdbool.h>

#define CONTAINER_NAME_MAX 256       /* bytes of a name, id or pod taken from a cgroup path */
#define CONTAINER_ENV_MAX  (64 * 1024) /* bytes of the container init's environ looked at */
#define CONTAINER_HOST_MAX 64        /* a hostname (the kernel's __NEW_UTS_LEN) */

/* What a cgroup path says. runtime is a static string ("systemd-nspawn",
 * "machined", "docker", "podman", "containerd", "cri-o", "kubernetes", "lxc")
 * or NULL when no rule matched; name, id, pod are heap strings or NULL. */
struct container_match {
	const char *runtime;
	char *name; /* nspawn machine or lxc container name */
	char *id;   /* docker/podman/containerd/cri-o container id (64 hex digits) */
	char *pod;  /* kubernetes pod UID */
};

/* Apply the rules (mortem-collect(8), "CONTAINERS") to a /proc/PID/cgroup
 * text: the cgroup v2 line ("0::PATH") first, then the others in order; the
 * first line a rule matches wins, and within a path the innermost match.
 * Returns 1 when a rule matched, 0 when none did (*ret cleared), -ENOMEM,
 * -EINVAL. */
int container_from_cgroup(const char *cgroup, struct container_match *ret);
void container_match_clear(struct container_match *m);

/* The container-name filter of `mortem list`: whether a record's "container"
 * object is the container called name (its name, its hostname, its pod UID,
 * or a prefix of 12 or more characters of its id, as docker accepts). */
struct json_object;
bool container_is(struct json_object *container, const char *name);

/* The "container" item of a /proc capture (proc.c): null on the host, else
 * {"runtime","name","id","pod","hostname","init_pid","uuid","namespaces"};
 * see proc.h. Reads the "cgroup" and "namespaces" the capture already holds. */
struct proc_ctx;
void container_capture(struct proc_ctx *c, const char *item);
