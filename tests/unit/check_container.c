/* Unit tests for src/capture/container.c: the rule per runtime from cgroup
 * paths (as each runtime writes them), hostile and unmatched paths, and the
 * container-name filter. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/container.h"
#include "testutil.h"

#define ID "4f3c2b1a0f9e8d7c6b5a493827161504f3e2d1c0b9a8978685746352413f2e1d"

struct want {
	const char *cgroup, *runtime, *name, *id, *pod;
};

static void check(const struct want *w)
{
	struct container_match m = { .runtime = "stale" };
	int r = container_from_cgroup(w->cgroup, &m);

	ck_assert_msg(r == (w->runtime ? 1 : 0), "%s: %d", w->cgroup, r);
	if (!w->runtime) {
		ck_assert_ptr_null(m.runtime);
		ck_assert_ptr_null(m.name);
		ck_assert_ptr_null(m.id);
		ck_assert_ptr_null(m.pod);
		return;
	}
	ck_assert_str_eq(m.runtime, w->runtime);
#define EQ(f)                                                    \
	if (w->f)                                                \
		ck_assert_msg(m.f && strcmp(m.f, w->f) == 0, "%s: " #f " %s", w->cgroup, m.f ? m.f : "NULL"); \
	else                                                     \
		ck_assert_msg(!m.f, "%s: " #f " %s", w->cgroup, m.f);
	EQ(name);
	EQ(id);
	EQ(pod);
	container_match_clear(&m);
}

START_TEST(test_rules)
{
	static const struct want cases[] = {
		/* systemd-nspawn: machinectl start / nspawn's unit, and a
		 * machine registered with machined (name \x2d-escaped) */
		{ "0::/machine.slice/systemd-nspawn@web.service/payload/system.slice/nginx.service\n",
		  "systemd-nspawn", "web", NULL, NULL },
		{ "0::/machine.slice/machine-my\\x2dbox.scope/payload/init.scope\n", "machined", "my-box", NULL, NULL },
		/* docker: the systemd driver's scope, and cgroupfs' /docker/ID */
		{ "0::/system.slice/docker-" ID ".scope\n", "docker", NULL, ID, NULL },
		{ "0::/docker/" ID "\n", "docker", NULL, ID, NULL },
		/* podman: rootful and rootless scopes, and cgroupfs */
		{ "0::/machine.slice/libpod-" ID ".scope/container\n", "podman", NULL, ID, NULL },
		{ "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope/container\n",
		  "podman", NULL, ID, NULL },
		{ "0::/libpod_parent/libpod-" ID "\n", "podman", NULL, ID, NULL },
		/* conmon is podman's monitor, on the host side */
		{ "0::/machine.slice/libpod-conmon-" ID ".scope\n", NULL, NULL, NULL, NULL },
		/* kubernetes: containerd and cri-o with the systemd driver,
		 * the pod UID's '-' written '_'; cgroupfs driver */
		{ "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8a1b2c3d_1111_2222_3333_444455556666.slice/cri-containerd-" ID ".scope\n",
		  "containerd", NULL, ID, "8a1b2c3d-1111-2222-3333-444455556666" },
		{ "0::/kubepods.slice/kubepods-pod8a1b2c3d_1111_2222_3333_444455556666.slice/crio-" ID ".scope\n",
		  "cri-o", NULL, ID, "8a1b2c3d-1111-2222-3333-444455556666" },
		{ "0::/kubepods/besteffort/pod8a1b2c3d-1111-2222-3333-444455556666/" ID "\n", "kubernetes", NULL, ID,
		  "8a1b2c3d-1111-2222-3333-444455556666" },
		/* containerd without kubernetes, systemd driver */
		{ "0::/system.slice/cri-containerd-" ID ".scope\n", "containerd", NULL, ID, NULL },
		/* LXC */
		{ "0::/lxc.payload.db1/system.slice/cron.service\n", "lxc", "db1", NULL, NULL },
		{ "0::/lxc/db2\n", "lxc", "db2", NULL, NULL },
		/* cgroup v1 (hybrid): the v2 line names nothing, name=systemd does */
		{ "12:pids:/\n1:name=systemd:/machine.slice/systemd-nspawn@old.service/payload\n0::/\n",
		  "systemd-nspawn", "old", NULL, NULL },
		/* the host, and no match */
		{ "0::/system.slice/nginx.service\n", NULL, NULL, NULL, NULL },
		{ "0::/\n", NULL, NULL, NULL, NULL },
		{ "0::/user.slice/user-1000.slice/session-2.scope\n", NULL, NULL, NULL, NULL },
		{ "", NULL, NULL, NULL, NULL },
		/* an id that is not 64 hex digits, a name with a space or quote */
		{ "0::/system.slice/docker-" "abc" ".scope\n", NULL, NULL, NULL, NULL },
		{ "0::/system.slice/docker-" ID "0.scope\n", NULL, NULL, NULL, NULL },
		{ "0::/machine.slice/systemd-nspawn@a b.service\n", NULL, NULL, NULL, NULL },
		{ "0::/machine.slice/machine-a\\x22b.scope\n", "machined", "a\"b", NULL, NULL },
		{ "0::/machine.slice/machine-a\\x0ab.scope\n", NULL, NULL, NULL, NULL },
		/* the innermost match wins */
		{ "0::/machine.slice/systemd-nspawn@outer.service/payload/system.slice/docker-" ID ".scope\n", "docker",
		  "outer", ID, NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&cases[i]);
	struct container_match m;
	ck_assert_int_eq(container_from_cgroup(NULL, &m), -EINVAL);
}
END_TEST

/* A name too long to be one is not taken. */
START_TEST(test_long_name)
{
	size_t n = CONTAINER_NAME_MAX + 1;
	char *cg = malloc(n + 64), *p = cg;
	struct container_match m;

	p += sprintf(p, "0::/machine.slice/systemd-nspawn@");
	memset(p, 'a', n);
	strcpy(p + n, ".service\n");
	ck_assert_int_eq(container_from_cgroup(cg, &m), 0);
	ck_assert_ptr_null(m.name);
	free(cg);
}
END_TEST

START_TEST(test_is)
{
	json_object *c = json_tokener_parse("{\"runtime\":\"docker\",\"name\":\"web\",\"hostname\":\"4f3c2b1a0f9e\","
					    "\"id\":\"" ID "\",\"pod\":null}");
	ck_assert_ptr_nonnull(c);
	ck_assert(container_is(c, "web"));
	ck_assert(container_is(c, "4f3c2b1a0f9e"));  /* hostname, and a 12-digit id prefix */
	ck_assert(container_is(c, ID));
	ck_assert(!container_is(c, "4f3c"));         /* a short prefix names nothing */
	ck_assert(!container_is(c, "we"));
	ck_assert(!container_is(c, ""));
	ck_assert(!container_is(NULL, "web"));
	json_object_put(c);
	c = json_object_new_boolean(1); /* an old record's "container": true */
	ck_assert(!container_is(c, "web"));
	json_object_put(c);
}
END_TEST

static Suite *container_suite(void)
{
	Suite *s = suite_create("container");
	TCase *tc = tcase_create("container");

	tcase_add_test(tc, test_rules);
	tcase_add_test(tc, test_long_name);
	tcase_add_test(tc, test_is);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(container_suite());
}
