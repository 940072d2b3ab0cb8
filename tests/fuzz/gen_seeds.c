/* Writes the seed corpora of the fuzz harnesses but the cores' (those are
 * tests/corpus/gen_corpus.c's) into DIR/fuzz-TARGET/, with the project's own
 * writers where it has them (record_write_fd, pending_write, park_write), so
 * that the seeds are what the readers meet in life. Regenerate from the
 * repository root with tests/fuzz/gen_seeds.sh (after `make`).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "store/park.h"
#include "store/pending.h"
#include "store/record.h"
#include "store/store.h"
#include "fuzzids.h"

static const char *root;

static void put(const char *target, const char *name, const void *data, size_t len)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/fuzz-%s", root, target);
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		exit(1);
	snprintf(p, sizeof(p), "%s/fuzz-%s/%s", root, target, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, data, len) < 0)
		exit(1);
	close(fd);
}

static void put_str(const char *target, const char *name, const char *s)
{
	put(target, name, s, strlen(s));
}

/* A file another writer made, copied in as a seed. */
static void put_file(const char *target, const char *name, const char *path)
{
	char *buf = NULL;
	size_t len;
	bool trunc;
	if (read_file_at(AT_FDCWD, path, 1u << 20, &buf, &len, &trunc) < 0)
		exit(1);
	put(target, name, buf, len);
	free(buf);
}

static json_object *record(void)
{
	json_object *r = json_object_new_object(), *core = json_object_new_object();
	json_object_object_add(r, "id", json_object_new_string(FUZZ_ID_PENDING));
	json_object_object_add(r, "time", json_object_new_string("2026-11-21T12:49:05.123456Z"));
	json_object_object_add(r, "time_usec", json_object_new_int64(1795272545123456LL));
	json_object_object_add(r, "pid", json_object_new_int64(4242));
	json_object_object_add(r, "uid", json_object_new_int64(1000));
	json_object_object_add(r, "gid", json_object_new_int64(1000));
	json_object_object_add(r, "signal", json_object_new_int(11));
	json_object_object_add(r, "signal_name", json_object_new_string("SIGSEGV"));
	json_object_object_add(r, "comm", json_object_new_string("segv"));
	json_object_object_add(r, "exe", json_object_new_string("/usr/bin/segv"));
	json_object_object_add(r, "cmdline", json_object_new_string("segv --crash"));
	json_object_object_add(r, "hostname", json_object_new_string("vm1"));
	json_object_object_add(r, "boot_id", json_object_new_string("0123456789abcdef0123456789abcdef"));
	json_object_object_add(r, "unit", json_object_new_string("segv.service"));
	json_object_object_add(core, "status", json_object_new_string("stored"));
	json_object_object_add(core, "size", json_object_new_int64(1 << 20));
	json_object_object_add(core, "stored_size", json_object_new_int64(4096));
	json_object_object_add(core, "path", json_object_new_string("/var/lib/mortem/store/x.core.zst"));
	json_object_object_add(r, "core", core);
	return r;
}

int main(int argc, char **argv)
{
	char tmp[512], p[1024];
	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds DIR\n");
		return 2;
	}
	root = argv[1];
	snprintf(tmp, sizeof(tmp), "%s/gen_seeds.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp))
		return 1;

	/* config: the packaged file, every kind of value, broken lines */
	put_file("config", "packaged.conf", "packaging/mortem.conf");
	put_str("config", "values.conf",
		"[Store]\nMaxUse=1G\nKeepFree=10%\nMiniCoreMax=32M\nMiniCoreStackMax=1M\n"
		"[Collect]\nMaxCoreSize=4G\nStallTimeout=30s\n# comment\n; other\n\n[Daemon]\nPoolSize=0\n");
	put_str("config", "bad.conf", "[Store\nMaxUse=\nKey without equals\n[Nope]\nX=1\n=\n");

	/* record */
	json_object *rec = record();
	snprintf(p, sizeof(p), "%s/rec.json", tmp);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || record_write_fd(rec, fd) < 0)
		return 1;
	close(fd);
	put_file("record", "record.json", p);
	put_str("record", "not-object.json", "[1,2,3]\n");
	put_str("record", "trailing.json", "{\"id\":\"x\"} junk");

	/* spool: a pending note and a parked note, as written */
	struct store st = { 0 };
	if (store_init(&st, tmp) < 0 || store_mkdirs(&st) < 0)
		return 1;
	json_object *n = json_object_new_object();
	json_object_object_add(n, "id", json_object_new_string(FUZZ_ID_PENDING));
	json_object_object_add(n, "time", json_object_new_string("2026-11-21T12:49:05.123456Z"));
	json_object_object_add(n, "time_usec", json_object_new_int64(1795272545123456LL));
	json_object_object_add(n, "pid", json_object_new_int(4242));
	json_object_object_add(n, "uid", json_object_new_int(1000));
	json_object_object_add(n, "signal", json_object_new_int(11));
	json_object_object_add(n, "signal_name", json_object_new_string("SIGSEGV"));
	json_object_object_add(n, "comm", json_object_new_string("segv"));
	json_object_object_add(n, "exe", json_object_new_string("/usr/bin/segv"));
	json_object_object_add(n, "unit", NULL);
	json_object_object_add(n, "mode", json_object_new_string("handoff"));
	if (pending_write(&st, FUZZ_ID_PENDING, n) < 0)
		return 1;
	snprintf(p, sizeof(p), "%s/%s.pending", st.spool_dir, FUZZ_ID_PENDING);
	put_file("spool", "pending.json", p);

	struct crash_args a;
	struct crash_capture cap;
	memset(&a, 0, sizeof(a));
	a.pid = 4243;
	a.uid = 1000;
	a.gid = -1;
	a.signal = 6;
	a.kernel_time = 1795272546;
	a.rlimit_core = UINT64_MAX;
	a.has_rlimit = true;
	snprintf(a.hostname, sizeof(a.hostname), "vm1");
	a.dumpable = 1;
	a.pidfd = -1;
	a.problems[a.n_problems++] = "%g: not a number";
	memset(&cap, 0, sizeof(cap));
	cap.t0 = 1795272546000001LL;
	snprintf(cap.id, sizeof(cap.id), "%s", FUZZ_ID_PARKED);
	cap.mode = "handoff";
	cap.proc = json_tokener_parse("{\"comm\":\"abrt\",\"status\":{\"VmRSS\":\"12 kB\"}}");
	cap.sys = json_tokener_parse("{\"kernel\":\"6.18\"}");
	cap.errors = json_tokener_parse("[{\"what\":\"environ\",\"error\":\"EACCES\"}]");
	cap.root_fd = cap.lock_fd = -1;
	struct park_info pi = { .held_usec = 1234, .bytes = sizeof(FUZZ_POOL_BYTES) - 1,
				.pool_bytes = sizeof(FUZZ_POOL_BYTES) - 1, .buffer = "pool" };
	struct iovec iov = { (void *)FUZZ_POOL_BYTES, sizeof(FUZZ_POOL_BYTES) - 1 };
	if (park_write(st.spool_dir, &a, &cap, &pi, &iov, 1, -1) < 0)
		return 1;
	snprintf(p, sizeof(p), "%s/%s%s", st.spool_dir, FUZZ_ID_PARKED, PARK_SUFFIX);
	put_file("spool", "parked.json", p);

	/* handoff: first byte = descriptors sent (0..3), then the message */
	static const char m1[] = "\x01mortem-handoff 1\0" "4242\0" "1000\0" "1000\0" "11\0" "1795272545\0"
				 "0\0" "vm1\0" "1";
	static const char m2[] = "\x02mortem-handoff 1\0" "4242\0" "1000\0" "1000\0" "11\0" "1795272545\0"
				 "0\0" "vm1\0" "1\0" "1";
	put("handoff", "one-fd", m1, sizeof(m1));
	put("handoff", "two-fds", m2, sizeof(m2));
	static const char m0[] = "\x00" "mortem-handoff 1\0" "4242\0" "1000\0" "1000\0" "11\0" "1795272545\0"
				 "0\0" "vm1";
	put("handoff", "no-fd", m0, sizeof(m0));

	/* cgroup: v2, v1, user services, scopes */
	put_str("cgroup", "v2-service", "0::/system.slice/foo.service\n");
	put_str("cgroup", "v2-user", "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-x.scope\n");
	put_str("cgroup", "v1", "12:pids:/system.slice/a.service\n1:name=systemd:/system.slice/a.service\n");
	put_str("cgroup", "init", "0::/init.scope\n");

	json_object_put(rec);
	json_object_put(n);
	printf("seeds written under %s/fuzz-*\n", root);
	return 0;
}
