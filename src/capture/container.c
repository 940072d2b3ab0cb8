/* Which container a crashed process ran in.
 *
 * Policy: a process is in a container when its pid namespace is not the
 * collector's own (every runtime below gives its containers one; a systemd
 * service's private mounts or network do not make it a container), or when its
 * cgroup path matches a runtime's rule (docker --pid=host still has its
 * scope). The collector's own namespaces are the reference, not PID 1's: the
 * kernel starts the collector in the initial namespaces, and /proc/1/ns may be
 * unreadable (a PID 1 with more capabilities than us). The runtime and the
 * container's identity come from the cgroup path first (written by the
 * runtime, outside the container's reach), then from the environment of the
 * init of the container's pid namespace ("container=", "container_uuid=", set
 * by nspawn, podman, LXC), and the container's hostname (its uts namespace),
 * which is what names an nspawn machine started with --keep-unit and no
 * registration: nspawn sets it to the machine name. Those two are written by
 * the container itself: they describe what it says it is. */
#include "capture/container.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/json.h"
#include "base/util.h"
#include "capture/proc_ctx.h"

/* nsfs pid translation (Linux 6.9, linux/nsfs.h): the pid, in our pid
 * namespace, of pid N of the namespace the fd names. */
#ifndef NS_GET_TGID_FROM_PIDNS
#define NS_GET_TGID_FROM_PIDNS _IOR(0xb7, 0x7, int)
#endif

#define CONTAINER_HEX_ID 64 /* docker, podman, containerd and cri-o ids: sha256 in hex */

void container_match_clear(struct container_match *m)
{
	free(m->name);
	free(m->id);
	free(m->pod);
	*m = (struct container_match){ 0 };
}

static bool container_has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t pl = strlen(prefix);
	return len >= pl && memcmp(s, prefix, pl) == 0;
}

static bool container_has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t sl = strlen(suffix);
	return len >= sl && memcmp(s + len - sl, suffix, sl) == 0;
}

static bool container_is_hex_id(const char *s, size_t len)
{
	if (len != CONTAINER_HEX_ID)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

/* A name from a path component: unit-name characters only, systemd's "\xNN"
 * escapes undone (machined writes "machine-foo\x2dbar.scope" for foo-bar). */
static int container_name(const char *s, size_t len, char **ret)
{
	_cleanup_free_ char *out = NULL;
	size_t o = 0;

	if (len == 0 || len > CONTAINER_NAME_MAX)
		return 0;
	out = malloc(len + 1);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\\' && i + 3 < len && s[i + 1] == 'x' && isxdigit((unsigned char)s[i + 2]) &&
		    isxdigit((unsigned char)s[i + 3])) {
			char hex[3] = { s[i + 2], s[i + 3], 0 };
			ch = (unsigned char)strtoul(hex, NULL, 16);
			i += 3;
			if (ch < 0x21 || ch > 0x7e)
				return 0;
		} else if (!isalnum(ch) && !strchr(":-_.@", ch)) {
			return 0;
		}
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	*ret = TAKE_PTR(out);
	return 1;
}

static int container_set(char **field, const char *s, size_t len)
{
	char *v = NULL;
	int r = container_name(s, len, &v);
	if (r <= 0)
		return r;
	free(*field);
	*field = v;
	return 1;
}

/* A container id after prefix and before suffix in comp, or nothing. */
static int container_scope_id(const char *comp, size_t clen, const char *prefix, const char *suffix, char **id)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);
	if (!container_has_prefix(comp, clen, prefix) || !container_has_suffix(comp, clen, suffix) || clen < pl + sl)
		return 0;
	if (!container_is_hex_id(comp + pl, clen - pl - sl))
		return 0;
	return container_set(id, comp + pl, clen - pl - sl);
}

/* The rules of one cgroup path, outermost component first, so that an inner
 * match overrides an outer one. Returns 1 when one matched. */
static int container_path(const char *path, size_t len, struct container_match *m)
{
	const char *prev = NULL;
	size_t prev_len = 0;
	bool in_pods = false;
	int matched = 0, r;

	for (size_t i = 0; i < len;) {
		while (i < len && path[i] == '/')
			i++;
		const char *comp = path + i;
		while (i < len && path[i] != '/')
			i++;
		size_t clen = (size_t)(path + i - comp);
		if (clen == 0)
			break;
		r = 0;
		if (container_has_prefix(comp, clen, "systemd-nspawn@") && container_has_suffix(comp, clen, ".service")) {
			/* systemd-nspawn@NAME.service: machinectl start, nspawn's unit */
			r = container_set(&m->name, comp + 15, clen - 15 - 8);
			if (r > 0)
				m->runtime = "systemd-nspawn";
		} else if (container_has_prefix(comp, clen, "machine-") && container_has_suffix(comp, clen, ".scope")) {
			/* machine-NAME.scope: a machine registered with machined
			 * (nspawn without --keep-unit, LXC through libvirt) */
			r = container_set(&m->name, comp + 8, clen - 8 - 6);
			if (r > 0)
				m->runtime = "machined";
		} else if ((r = container_scope_id(comp, clen, "docker-", ".scope", &m->id)) != 0) {
			if (r > 0)
				m->runtime = "docker";
		} else if ((r = container_scope_id(comp, clen, "libpod-", ".scope", &m->id)) != 0) {
			if (r > 0)
				m->runtime = "podman";
		} else if ((r = container_scope_id(comp, clen, "cri-containerd-", ".scope", &m->id)) != 0) {
			if (r > 0)
				m->runtime = "containerd";
		} else if ((r = container_scope_id(comp, clen, "crio-", ".scope", &m->id)) != 0) {
			if (r > 0)
				m->runtime = "cri-o";
		} else if (prev && container_is_hex_id(comp, clen)) {
			/* the cgroupfs drivers: /docker/ID, /libpod_parent/libpod-ID
			 * (above), /kubepods/CLASS/podUID/ID */
			if (prev_len == 6 && memcmp(prev, "docker", 6) == 0)
				r = container_set(&m->id, comp, clen), m->runtime = r > 0 ? "docker" : m->runtime;
			else if (in_pods && m->pod)
				r = container_set(&m->id, comp, clen), m->runtime = r > 0 ? "kubernetes" : m->runtime;
		} else if (prev && prev_len == 13 && memcmp(prev, "libpod_parent", 13) == 0 &&
			   (r = container_scope_id(comp, clen, "libpod-", "", &m->id)) != 0) {
			if (r > 0)
				m->runtime = "podman";
		} else if (container_has_prefix(comp, clen, "kubepods")) {
			/* kubepods[-CLASS]-podUID.slice (systemd driver, '-' of the
			 * UID written '_'), or kubepods/CLASS/podUID (cgroupfs) */
			in_pods = true;
			const char *p = memmem(comp, clen, "-pod", 4);
			if (p && container_has_suffix(comp, clen, ".slice")) {
				size_t off = (size_t)(p + 4 - comp);
				r = container_set(&m->pod, p + 4, clen - off - 6);
				for (char *q = r > 0 ? m->pod : NULL; q && *q; q++)
					if (*q == '_')
						*q = '-';
			}
		} else if (in_pods && container_has_prefix(comp, clen, "pod") && clen > 3) {
			r = container_set(&m->pod, comp + 3, clen - 3);
		} else if (container_has_prefix(comp, clen, "lxc.payload.")) {
			r = container_set(&m->name, comp + 12, clen - 12);
			if (r > 0)
				m->runtime = "lxc";
		} else if (prev && prev_len == 3 && memcmp(prev, "lxc", 3) == 0 && prev == path + 1) {
			r = container_set(&m->name, comp, clen);
			if (r > 0)
				m->runtime = "lxc";
		}
		if (r < 0)
			return r;
		if (r > 0)
			matched = 1;
		prev = comp;
		prev_len = clen;
	}
	/* A pod with no container scope under it: the pod's own cgroup. */
	if (m->pod && !m->runtime)
		m->runtime = "kubernetes";
	return matched && m->runtime ? 1 : 0;
}

int container_from_cgroup(const char *cgroup, struct container_match *ret)
{
	struct container_match m = { 0 };
	int r;

	if (!cgroup || !ret)
		return -EINVAL;
	/* two passes: the v2 line, then the others */
	for (int pass = 0; pass < 2; pass++) {
		for (const char *line = cgroup; *line;) {
			const char *eol = strchrnul(line, '\n');
			const char *c1 = memchr(line, ':', (size_t)(eol - line));
			const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
			bool v2 = c2 && c1 - line == 1 && line[0] == '0' && c2 == c1 + 1;
			if (c2 && v2 == (pass == 0)) {
				r = container_path(c2 + 1, (size_t)(eol - c2 - 1), &m);
				if (r < 0) {
					container_match_clear(&m);
					return r;
				}
				if (r > 0) {
					*ret = m;
					return 1;
				}
				container_match_clear(&m);
			}
			line = *eol ? eol + 1 : eol;
		}
	}
	*ret = m;
	return 0;
}

bool container_is(json_object *container, const char *name)
{
	static const char *const keys[] = { "name", "hostname", "pod" };
	json_object *v;

	if (!container || !json_object_is_type(container, json_type_object) || !name || !name[0])
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (json_object_object_get_ex(container, keys[i], &v) && json_object_is_type(v, json_type_string) &&
		    strcmp(json_object_get_string(v), name) == 0)
			return true;
	if (strlen(name) >= 12 && json_object_object_get_ex(container, "id", &v) &&
	    json_object_is_type(v, json_type_string) && strncmp(json_object_get_string(v), name, strlen(name)) == 0)
		return true;
	return false;
}

/* The namespaces compared, in the record's order. */
static const char *const container_ns_names[] = { "pid", "mnt", "user", "uts", "net", "cgroup" };

/* The inode of our own namespace of type name. */
static int container_self_ns(const char *name, uint64_t *ret)
{
	char path[64], t[64];
	size_t nlen = strlen(name);

	(void)snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
	ssize_t len = readlink(path, t, sizeof(t) - 1);
	if (len < 0)
		return -errno;
	if ((size_t)len < nlen + 3 || memcmp(t, name, nlen) != 0 || t[nlen] != ':' || t[nlen + 1] != '[' ||
	    t[len - 1] != ']')
		return -EINVAL;
	return proc_ctx_parse_u64(t + nlen + 2, (size_t)len - nlen - 3, ret);
}

/* The hostname of the process's uts namespace: only a process inside it can
 * ask (uname), so a child joins it and writes the name back. */
static int container_uts_hostname(int dirfd, char *buf, size_t size)
{
	_cleanup_close_ int nsfd = -1, rd = -1, wr = -1;
	int p[2], st;
	size_t len = 0;

	nsfd = openat(dirfd, "ns/uts", O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return -errno;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	rd = p[0];
	wr = p[1];
	pid_t k = fork();
	if (k < 0)
		return -errno;
	if (k == 0) {
		struct utsname u;
		if (setns(nsfd, CLONE_NEWUTS) < 0 || uname(&u) < 0)
			_exit(errno > 0 && errno < 126 ? errno : EIO);
		(void)!write(wr, u.nodename, strnlen(u.nodename, sizeof(u.nodename)));
		_exit(0);
	}
	(void)close(TAKE_FD(wr));
	while (len < size - 1) {
		ssize_t n = read(rd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	while (waitpid(k, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(st))
		return -EIO;
	if (WEXITSTATUS(st) != 0)
		return -WEXITSTATUS(st);
	buf[len] = '\0';
	return len > 0 ? 0 : -ENODATA;
}

/* "KEY=" in a NUL-separated environment, as a JSON string, or NULL. */
static json_object *container_env(const char *env, size_t len, const char *key)
{
	size_t kl = strlen(key);

	for (size_t i = 0; i < len;) {
		const char *e = env + i;
		size_t el = strnlen(e, len - i);
		if (el > kl && memcmp(e, key, kl) == 0 && e[kl] == '=' && el - kl - 1 <= CONTAINER_NAME_MAX)
			return proc_ctx_json_text(e + kl + 1, el - kl - 1);
		i += el + 1;
	}
	return NULL;
}

static void container_add_str(struct proc_ctx *c, json_object *o, const char *key, const char *v)
{
	proc_ctx_add(c, o, key, strlen(key), v ? proc_ctx_json_str(v) : NULL, !v);
}

void container_capture(struct proc_ctx *c, const char *item)
{
	_cleanup_free_ char *cg = NULL, *env = NULL, *init_cg = NULL;
	_cleanup_close_ int pidns = -1, initfd = -1;
	struct container_match m = { 0 };
	json_object *ns = NULL, *o, *diff, *runtime_env = NULL;
	int pid_differs = -1, matched = 0, r;
	size_t len;
	char err[160];

	(void)json_object_object_get_ex(c->obj, "namespaces", &ns);
	diff = json_object_new_object();
	if (!diff) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(container_ns_names); i++) {
		const char *name = container_ns_names[i];
		json_object *v = NULL;
		uint64_t self;
		if (!ns || !json_object_object_get_ex(ns, name, &v) || !v ||
		    (r = container_self_ns(name, &self)) < 0) {
			proc_ctx_add(c, diff, name, strlen(name), NULL, true);
			continue;
		}
		bool d = (uint64_t)json_object_get_int64(v) != self;
		proc_ctx_add(c, diff, name, strlen(name), json_object_new_boolean(d), false);
		if (strcmp(name, "pid") == 0)
			pid_differs = d;
	}

	if (proc_ctx_read(c, item, "cgroup", c->item_max, &cg, &len, NULL) == 0) {
		matched = container_from_cgroup(cg, &m);
		if (matched == -ENOMEM)
			c->oom = true;
	}
	if (matched <= 0 && pid_differs <= 0) {
		/* the host, or (pid namespace not known) not known to be in one */
		if (pid_differs < 0)
			proc_ctx_error_msg(c, item, "the pid namespace could not be compared with the collector's");
		json_object_put(diff);
		proc_ctx_set_null(c, item);
		container_match_clear(&m);
		return;
	}

	o = json_object_new_object();
	if (!o) {
		json_object_put(diff);
		container_match_clear(&m);
		c->oom = true;
		return;
	}
	proc_ctx_set(c, item, o);

	/* The init of its pid namespace, as we see it: its environment says
	 * which runtime made the container, and its cgroup names the container
	 * when the crashed process's does not (one nsenter'ed from the host). */
	if (pid_differs > 0) {
		int init = -1;
		pidns = openat(c->dirfd, "ns/pid", O_RDONLY | O_CLOEXEC);
		if (pidns >= 0)
			init = ioctl(pidns, NS_GET_TGID_FROM_PIDNS, 1);
		if (pidns < 0 || init < 0) {
			proc_ctx_error(c, "container/init", -errno);
		} else if (init == 0) {
			proc_ctx_error(c, "container/init", -ESRCH);
		} else {
			char path[PATH_MAX];
			proc_ctx_add(c, o, "init_pid", 8, json_object_new_int(init), false);
			(void)snprintf(path, sizeof(path), "%s/%d", c->proc_root, init);
			initfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (initfd < 0) {
				proc_ctx_error(c, "container/init", -errno);
			} else {
				r = read_file_at(initfd, "environ", CONTAINER_ENV_MAX, &env, &len, NULL);
				if (r < 0)
					proc_ctx_error(c, "container/init environ", r);
				else {
					runtime_env = container_env(env, len, "container");
					json_object *uuid = container_env(env, len, "container_uuid");
					proc_ctx_add(c, o, "uuid", 4, uuid, !uuid);
				}
				if (matched <= 0 && read_file_at(initfd, "cgroup", c->item_max, &init_cg, &len, NULL) == 0)
					matched = container_from_cgroup(init_cg, &m);
			}
		}
	}
	if (matched == -ENOMEM)
		c->oom = true;
	/* The cgroup's runtime is the container manager's word; machined's
	 * scope (or none) says less than the init's "container=". */
	if (runtime_env && (!m.runtime || strcmp(m.runtime, "machined") == 0))
		proc_ctx_add(c, o, "runtime", 7, json_object_get(runtime_env), false);
	else
		container_add_str(c, o, "runtime", m.runtime);
	json_object_put(runtime_env);

	char host[CONTAINER_HOST_MAX + 2] = "";
	json_object *v = NULL;
	if (json_object_object_get_ex(diff, "uts", &v) && json_object_get_boolean(v)) {
		r = container_uts_hostname(c->dirfd, host, sizeof(host));
		if (r < 0) {
			(void)snprintf(err, sizeof(err), "hostname of its uts namespace: %s", strerror(-r));
			proc_ctx_error_msg(c, "container/hostname", err);
			host[0] = '\0';
		}
	}
	proc_ctx_add(c, o, "hostname", 8, host[0] ? proc_ctx_json_text(host, strlen(host)) : NULL, !host[0]);
	if (m.name)
		container_add_str(c, o, "name", m.name);
	else
		proc_ctx_add(c, o, "name", 4, host[0] ? proc_ctx_json_text(host, strlen(host)) : NULL, !host[0]);
	container_add_str(c, o, "id", m.id);
	container_add_str(c, o, "pod", m.pod);
	proc_ctx_add(c, o, "namespaces", 10, diff, false);
	container_match_clear(&m);
}
