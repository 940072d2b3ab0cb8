/* mortemd: takes cores from the kernel's coredump socket (core_pattern "@@DIR/
 * coredump.socket", Linux >= 6.16) and from mortem-collect's hand-off in pipe
 * mode, reads them at the kernel's speed into a pool of memory faulted in at
 * start-up, lets the process go, and then runs the collector's pipeline on
 * them in forked workers, at most MaxConcurrent at once, at a lower priority.
 *
 * One poll loop: accepting, verifying the peer, capturing /proc (milliseconds)
 * and deciding where each core goes are all quick; everything slow happens in
 * the workers. Beside it only threads that make plain system calls, so that a
 * worker forked from this process may still use every library freely: the
 * readers (reader.c, two per CPU, at most 8), which copy the cores into the pool, so
 * that a storm is read on every CPU (a bare listener is slower with one), and
 * the spill writers (spill.c).
 *
 *   mortemd [-c CONFIG]        foreground; systemd Type=notify */
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>

#include "collect/collect.h"
#include "base/config.h"
#include "core/elfcore.h"
#include "collect/handoff.h"
#include "store/index.h"
#include "store/journal.h"
#include "store/park.h"
#include "store/pending.h"
#include "daemon/pool.h"
#include "store/quota.h"
#include "store/reanalyze.h"
#include "daemon/reader.h"
#include "core/spill.h"
#include "store/store.h"
#include "base/util.h"

/* The kernel's side of the coredump socket (linux/coredump.h, linux/pidfd.h:
 * newer than this system's headers). */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#define MD_COREDUMP_KERNEL (1ULL << 0)
#define MD_COREDUMP_WAIT   (1ULL << 3)
#define MD_PIDFD_INFO_COREDUMP (1ULL << 4)
#define MD_PIDFD_INFO_COREDUMP_SIGNAL (1ULL << 6)
#define MD_PIDFD_COREDUMPED  (1U << 0)
#define MD_PIDFD_COREDUMP_USER (1U << 2)
#define MD_PIDFD_COREDUMP_ROOT (1U << 3)

struct md_pidfd_info {
	uint64_t mask, cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
	uint32_t coredump_mask, coredump_signal;
	uint64_t supported_mask;
};
#define MD_PIDFD_GET_INFO _IOWR(0xFF, 11, struct md_pidfd_info)

struct md_coredump_req { uint32_t size, size_ack; uint64_t mask; };
struct md_coredump_ack { uint32_t size, spare; uint64_t mask; };

#define MD_CONN_MAX 1024          /* cores being drained or handed off at once */
#define MD_HANDSHAKE_MS 2000      /* the kernel's request, or the hand-off message */
#define MD_PROGRESS (64u << 10)   /* bytes that count as progress against StallTimeout */
#define MD_ACCEPT_BURST 64        /* connections accepted per loop turn and socket */

enum md_state {
	MD_HANDOFF_MSG,  /* hand-off: waiting for the collector's message */
	MD_HANDOFF_GO,   /* hand-off: captured, "R" sent, waiting for "G" */
	MD_DRAIN,        /* reading the core into the pool */
};

/* A core on its way: first a connection, then (after the release) a job. */
struct md_crash {
	enum md_state state;
	int fd;             /* the coredump socket or the pipe; -1 once released */
	int ctl;            /* hand-off: the collector's connection; -1 otherwise */
	int pidfd;
	const char *mode;
	char argbuf[HANDOFF_MSG_MAX + 1];
	struct crash_args args;
	struct crash_capture cap;
	bool captured;
	int64_t t_start, t_progress, held_usec;
	uint64_t bytes, bytes_at_progress;
	bool sized;           /* its size is known (program headers) or guessed */
	uint64_t expected;    /* the size its program headers announce; 0 unknown */
	size_t reserve_left;  /* chunks of the pool promised to this core, not taken yet */
	int spill_fd;         /* the pool could not hold it: the rest goes here, raw */
	uint64_t spill_promised; /* bytes of SpillMax counted for it */
	uint64_t spill_end;   /* the core's size as promised to the spill */
	int spill_err;        /* writing the spill failed (-errno): the rest is lost */
	int stage;            /* spilling: the pool chunk bytes gather in; -1 none */
	int stage_spare;      /* the other chunk: the one being written, or free; -1 none */
	size_t stage_fill;
	uint64_t spill_len;   /* bytes handed to the writers for the spill file */
	bool spill_direct;    /* the file takes aligned writes only (O_DIRECT) */
	bool spill_busy;      /* a chunk is being written (one job at a time) */
	bool spill_eof;       /* the core ended: write what is staged, then release */
	const char *eof_why;  /* for md_released after that last write */
	struct spill_job job;
	bool reading;         /* a reader has rjob: not polled, not judged, not freed */
	struct read_job rjob;
	int *chunks;
	size_t n_chunks, cap_chunks, fill; /* fill: bytes used in the last chunk */
	struct park_crash *resumed; /* parked by a stop, taken up again (park.h) */
	bool no_park;        /* parking it failed: the stop finishes it instead */
	pid_t worker;        /* 0: queued or draining */
	bool inline_worker;  /* its worker read the rest while the process waited */
	bool kill_to_park;   /* the stop killed its worker: parked once it is reaped */
	int pool_rd;         /* EOF when the worker no longer needs the chunks */
	struct md_crash *next; /* the queue */
};

struct md {
	struct mortem_config cfg;
	struct pool pool;
	int sfd, lfd_core, lfd_handoff, lock_fd;
	char *core_path, *handoff_path;
	struct md_crash *conns[MD_CONN_MAX];
	struct md_crash *queue_head, *queue_tail;
	struct md_crash *running[MD_CONN_MAX];
	unsigned n_running, max_workers;
	size_t reserved;      /* chunks promised to cores being read, not taken yet */
	char *spool_dir;      /* st.spool_dir: where spill files are made; NULL: no store */
	int spill_efd;        /* the spill writers' "done" */
	struct jobq readers;  /* reader.h */
	size_t stage_reserve; /* chunks never promised, so that spills can stage */
	uint64_t spilling;    /* bytes promised to spill files that still exist */
	uint64_t keep_free;   /* [Policy] KeepFree= of the store's file system */
	bool stopping;
	int64_t park_at;      /* stopping: what is still queued then is parked */
	bool parked_running;  /* stopping: the running workers were dealt with */
	pid_t reanalyzer;     /* analysing again what a stop cut short; 0: none */
	struct store st;      /* spool_dir's store; st.root NULL: none */
	unsigned long parked, resumed;
	uint64_t watchdog_usec;
	int64_t last_watchdog, last_status;
	unsigned long taken, rejected, inline_fallbacks, spilled;
};

/* In a worker: the stopping daemon's SIGTERM, which cuts the analysis short
 * (collect_source.cut). The daemon sets its own copy once its stop cannot
 * wait, so that workers forked after that start cut. */
static volatile sig_atomic_t md_cut;

static void md_on_cut(int sig)
{
	(void)sig;
	md_cut = 1;
}

static void md_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void md_log(int prio, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mortemd: %s\n", buf);
	(void)journal_log(prio, buf);
}

/* The spill file is gone (its worker closed it, or it never was): SpillMax
 * has that room again. */
static void md_spill_done(struct md *d, struct md_crash *c)
{
	d->spilling -= c->spill_promised < d->spilling ? c->spill_promised : d->spilling;
	c->spill_promised = 0;
}

static void md_crash_free(struct md *d, struct md_crash *c)
{
	d->reserved -= c->reserve_left < d->reserved ? c->reserve_left : d->reserved;
	c->reserve_left = 0;
	md_spill_done(d, c);
	if (c->spill_fd >= 0)
		(void)close(c->spill_fd);
	if (c->stage >= 0)
		pool_put(&d->pool, c->stage);
	if (c->stage_spare >= 0)
		pool_put(&d->pool, c->stage_spare);
	if (c->fd >= 0)
		(void)close(c->fd);
	if (c->ctl >= 0)
		(void)close(c->ctl);
	if (c->pidfd >= 0)
		(void)close(c->pidfd);
	if (c->pool_rd >= 0)
		(void)close(c->pool_rd);
	for (size_t i = 0; i < c->n_chunks; i++)
		pool_put(&d->pool, c->chunks[i]);
	free(c->chunks);
	if (c->captured)
		crash_capture_free(&c->cap);
	if (c->resumed) {
		park_crash_free(c->resumed);
		free(c->resumed);
	}
	free(c);
}

static int md_listen(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat sb;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* A socket left by an earlier run (the instance lock says none runs). */
	if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
		(void)unlink(path);
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	/* The kernel's connect() does not wait: a full backlog loses the core. */
	if (r < 0 || chmod(path, 0600) < 0 || listen(fd, SOMAXCONN) < 0) {
		r = -errno;
		(void)close(fd);
		return r;
	}
	return fd;
}

static int md_setup(struct md *d)
{
	struct stat sb;
	int r;

	if (mkdir(d->cfg.socket_dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		md_log(3, "cannot create %s: %s", d->cfg.socket_dir, strerror(-r));
		return r;
	}
	if (lstat(d->cfg.socket_dir, &sb) < 0 || !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid()) {
		md_log(3, "%s is not a directory owned by us: refusing to listen there", d->cfg.socket_dir);
		return -EPERM;
	}
	(void)chmod(d->cfg.socket_dir, 0700);
	d->core_path = handoff_socket_path(d->cfg.socket_dir, HANDOFF_COREDUMP_SOCKET);
	d->handoff_path = handoff_socket_path(d->cfg.socket_dir, HANDOFF_SOCKET);
	_cleanup_free_ char *lock = handoff_socket_path(d->cfg.socket_dir, "mortemd.lock");
	if (!d->core_path || !d->handoff_path || !lock) {
		md_log(3, "SocketDirectory=%s: too long for a socket path", d->cfg.socket_dir);
		return -ENAMETOOLONG;
	}
	if (strchr(d->core_path, ' ')) {
		md_log(3, "SocketDirectory=%s: the kernel takes no spaces in a socket path", d->cfg.socket_dir);
		return -EINVAL;
	}
	d->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (d->lock_fd < 0 || flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		md_log(3, "another mortemd runs on %s", d->cfg.socket_dir);
		return -EBUSY;
	}
	if ((r = md_listen(d->core_path, SOCK_STREAM)) < 0) {
		md_log(3, "cannot listen on %s: %s", d->core_path, strerror(-r));
		return r;
	}
	d->lfd_core = r;
	if ((r = md_listen(d->handoff_path, SOCK_SEQPACKET)) < 0) {
		md_log(3, "cannot listen on %s: %s", d->handoff_path, strerror(-r));
		return r;
	}
	d->lfd_handoff = r;
	return 0;
}

static int md_add_conn(struct md *d, struct md_crash *c)
{
	for (size_t i = 0; i < MD_CONN_MAX; i++)
		if (!d->conns[i]) {
			d->conns[i] = c;
			return 0;
		}
	return -ENOSPC;
}

static void md_drop_conn(struct md *d, struct md_crash *c)
{
	for (size_t i = 0; i < MD_CONN_MAX; i++)
		if (d->conns[i] == c)
			d->conns[i] = NULL;
}

static bool md_is_conn(const struct md *d, const struct md_crash *c)
{
	for (size_t i = 0; i < MD_CONN_MAX; i++)
		if (d->conns[i] == c)
			return true;
	return false;
}

static bool md_room(const struct md *d)
{
	for (size_t i = 0; i < MD_CONN_MAX; i++)
		if (!d->conns[i])
			return true;
	return false;
}

/* What the pidfd says about the crashing process; -EPERM when it is not
 * dumping core (then the peer is not the kernel). */
static int md_pidfd_info(int pidfd, struct md_pidfd_info *info)
{
	*info = (struct md_pidfd_info){ .mask = MD_PIDFD_INFO_COREDUMP };
	if (ioctl(pidfd, MD_PIDFD_GET_INFO, info) < 0)
		return -errno;
	if (!(info->mask & MD_PIDFD_INFO_COREDUMP) || !(info->coredump_mask & MD_PIDFD_COREDUMPED))
		return -EPERM;
	return 0;
}

static void md_args_from_info(struct crash_args *a, const struct md_pidfd_info *info)
{
	struct utsname u;
	*a = (struct crash_args){ .uid = info->ruid, .gid = info->rgid, .dumpable = -1, .pidfd = -1 };
	a->pid = (pid_t)(info->tgid ? info->tgid : info->pid);
	if (info->mask & MD_PIDFD_INFO_COREDUMP_SIGNAL)
		a->signal = (int)info->coredump_signal;
	a->kernel_time = now_usec() / 1000000;
	if (info->coredump_mask & MD_PIDFD_COREDUMP_ROOT)
		a->dumpable = 2;
	else if (info->coredump_mask & MD_PIDFD_COREDUMP_USER)
		a->dumpable = 1;
	if (uname(&u) == 0)
		snprintf(a->hostname, sizeof(a->hostname), "%s", u.nodename);
}

/* "@@": the kernel asks first. Take the core from it and have it wait for
 * our close, so that /proc/PID stays until the pool has every byte. */
static int md_request_ack(int fd)
{
	struct md_coredump_req req = { 0 };
	unsigned char skip[256];
	ssize_t n = recv(fd, &req, sizeof(req), MSG_WAITALL);
	/* A later kernel's request may be longer; not without bound. */
	if (n != (ssize_t)sizeof(req) || req.size < sizeof(req) || req.size > 4096)
		return -EPROTO;
	for (uint32_t left = req.size - (uint32_t)sizeof(req); left > 0;) {
		size_t k = left < sizeof(skip) ? left : sizeof(skip);
		if (recv(fd, skip, k, MSG_WAITALL) != (ssize_t)k)
			return -EPROTO;
		left -= (uint32_t)k;
	}
	if (!(req.mask & MD_COREDUMP_KERNEL) || req.size_ack < sizeof(struct md_coredump_ack))
		return -EPROTO;
	struct md_coredump_ack ack = { .size = sizeof(ack), .mask = MD_COREDUMP_KERNEL };
	if (req.mask & MD_COREDUMP_WAIT)
		ack.mask |= MD_COREDUMP_WAIT;
	if (send(fd, &ack, sizeof(ack), MSG_NOSIGNAL) != (ssize_t)sizeof(ack))
		return -errno;
	uint32_t mark = UINT32_MAX;
	if (recv(fd, &mark, sizeof(mark), MSG_WAITALL) != (ssize_t)sizeof(mark) || mark != 0)
		return -EPROTO;
	return 0;
}

static struct md_crash *md_crash_new(const char *mode)
{
	struct md_crash *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = c->ctl = c->pidfd = c->pool_rd = c->spill_fd = c->stage = c->stage_spare = -1;
	c->mode = mode;
	c->held_usec = -1;
	c->t_start = c->t_progress = now_usec();
	return c;
}

/* Chunks a core will need, from the resident size /proc gave (a core is
 * about the resident memory plus headers and file pages; 1/8 and 4 MiB of
 * slack); 0 when unknown. */
static size_t md_estimate_chunks(const struct md_crash *c)
{
	json_object *status, *v;
	uint64_t kb = 0;
	if (!c->cap.proc || !json_object_object_get_ex(c->cap.proc, "status", &status) ||
	    !json_object_object_get_ex(status, "VmRSS", &v) || !json_object_is_type(v, json_type_string))
		return 0;
	if (sscanf(json_object_get_string(v), "%" SCNu64, &kb) != 1 || kb > (UINT64_C(1) << 40))
		return 0;
	uint64_t bytes = kb * 1024 + kb * 1024 / 8 + (4u << 20);
	return (size_t)((bytes + POOL_CHUNK - 1) / POOL_CHUNK);
}

/* Chunks nobody was promised, less the few kept for spills to stage in. */
static size_t md_pool_avail(const struct md *d)
{
	size_t keep = d->reserved + d->stage_reserve;
	return d->pool.n_free > keep ? d->pool.n_free - keep : 0;
}

static void md_unreserve(struct md *d, struct md_crash *c)
{
	d->reserved -= c->reserve_left < d->reserved ? c->reserve_left : d->reserved;
	c->reserve_left = 0;
}

static int md_start_worker(struct md *d, struct md_crash *c);
static void md_drop_conn(struct md *d, struct md_crash *c);

/* The collector's path for the rest of c: a worker of its own compresses it
 * as it comes, while the process waits. */
static void md_go_inline(struct md *d, struct md_crash *c)
{
	if (c->stage >= 0) /* empty: flushed before this is called */
		pool_put(&d->pool, c->stage);
	if (c->stage_spare >= 0)
		pool_put(&d->pool, c->stage_spare);
	c->stage = c->stage_spare = -1;
	d->inline_fallbacks++;
	md_unreserve(d, c);
	md_drop_conn(d, c);
	if (md_start_worker(d, c) < 0) {
		md_log(3, "pid %d: cannot start a worker: core not taken", (int)c->args.pid);
		md_crash_free(d, c);
	}
}

/* Park the rest of c, raw, in an unnamed file in the spool (O_TMPFILE: a
 * killed daemon leaves nothing behind) when SpillMax and KeepFree leave room
 * for all of it: the bytes gather in a pool chunk (the stage) and the spill
 * writers write it out directly (spill.h) while the next chunk comes into a
 * second one (the spare, while most of the stage reserve is left: else the
 * reading waits for each write), where compressing inline would hold the
 * process for the whole compression. The worker compresses from the file
 * after the release. */
static bool md_spill_begin(struct md *d, struct md_crash *c)
{
	struct statvfs sv;
	/* Before its first byte (no chunk left even for its head), the size is
	 * guessed from VmRSS until the program headers say (md_stage_size). */
	uint64_t end = c->expected ? c->expected : (uint64_t)md_estimate_chunks(c) * POOL_CHUNK;
	if (d->cfg.spill_max == 0 || !d->spool_dir || d->spill_efd < 0 || end <= c->bytes)
		return false;
	/* Over MaxCoreSize: the collector's path reads what it may and lets go. */
	if (d->cfg.max_core_size > 0 && end > d->cfg.max_core_size)
		return false;
	uint64_t rest = end - c->bytes;
	if (statvfs(d->spool_dir, &sv) < 0 ||
	    !pool_spill_fits(rest, d->spilling, d->cfg.spill_max, (uint64_t)sv.f_bavail * sv.f_frsize, d->keep_free))
		return false;
	/* A stage: any chunk nobody was promised, the spills' reserve included. */
	if (d->pool.n_free <= d->reserved)
		return false;
	int fd = spill_open(d->spool_dir, &c->spill_direct);
	if (fd < 0)
		return false;
	c->stage = pool_get(&d->pool);
	/* A quarter of the stage reserve may go to second chunks; past that,
	 * one each, so that as many cores as before can spill in a storm. */
	if (d->pool.n_free > d->reserved + d->stage_reserve * 3 / 4)
		c->stage_spare = pool_get(&d->pool);
	c->stage_fill = 0;
	c->spill_len = 0;
	c->spill_fd = fd;
	c->spill_end = end;
	c->spill_promised = rest;
	d->spilling += rest;
	d->spilled++;
	md_unreserve(d, c);
	return true;
}

/* A core spilled from its first byte: its size from the head in the stage,
 * once the program headers are in; the promise follows it. */
static void md_stage_size(struct md *d, struct md_crash *c)
{
	uint64_t size = 0;
	if (c->spill_len > 0) {
		c->sized = true; /* the head is gone to the file: the guess stays */
		return;
	}
	int r = elfcore_size_known(pool_chunk(&d->pool, c->stage), c->stage_fill, &size);
	if (r == 1 && c->stage_fill < POOL_CHUNK)
		return;
	c->sized = true;
	if (r != 0 || size == 0)
		return; /* not an ELF core we can size: the guess stays the bound */
	c->expected = size;
	d->spilling -= c->spill_promised < d->spilling ? c->spill_promised : d->spilling;
	c->spill_promised = size;
	c->spill_end = size;
	d->spilling += size;
}

/* Hand the stage to the writers and read on into the spare, if there is
 * one (else not until the write is done). One write in flight per core. */
static void md_spill_flush(struct md *d, struct md_crash *c)
{
	c->job = (struct spill_job){ .owner = c, .fd = c->spill_fd, .buf = pool_chunk(&d->pool, c->stage),
				     .len = c->stage_fill, .off = (off_t)c->spill_len, .truncate = -1 };
	if (c->spill_direct && c->stage_fill % SPILL_ALIGN) {
		/* Only the last write of a core can be short: padded, then cut. */
		c->job.len = (c->stage_fill + SPILL_ALIGN - 1) / SPILL_ALIGN * SPILL_ALIGN;
		c->job.truncate = (off_t)(c->spill_len + c->stage_fill);
	}
	c->spill_len += c->stage_fill;
	c->spill_busy = true;
	int written = c->stage;
	c->stage = c->stage_spare;
	c->stage_spare = written;
	c->stage_fill = 0;
	spill_submit(&c->job);
}

/* Reading waits: for the write in flight, when there is nowhere to read to;
 * for good, once the core has ended or is a chunk past its announced size. */
static bool md_spill_paused(const struct md_crash *c)
{
	if (c->spill_fd < 0)
		return false;
	return c->spill_eof || (c->spill_busy && (c->stage < 0 || c->stage_fill == POOL_CHUNK)) ||
	       c->bytes > c->spill_end + POOL_CHUNK;
}

static void md_released(struct md *d, struct md_crash *c, const char *why);

/* After a read or a finished write: hand a full stage (or the last bytes) to
 * the writers; at the end, once all is written, let the process go; a core
 * longer than its program headers said is not put on disk without bound: the
 * collector's path takes the rest. */
static void md_spill_step(struct md *d, struct md_crash *c)
{
	bool over = c->bytes > c->spill_end + POOL_CHUNK;
	if (c->spill_busy)
		return; /* called again when the write is done */
	if (c->stage_fill == POOL_CHUNK || ((c->spill_eof || over) && c->stage_fill > 0)) {
		md_spill_flush(d, c);
		return;
	}
	if (c->spill_eof) {
		if (c->stage >= 0)
			pool_put(&d->pool, c->stage);
		if (c->stage_spare >= 0)
			pool_put(&d->pool, c->stage_spare);
		c->stage = c->stage_spare = -1;
		md_released(d, c, c->eof_why);
	} else if (over) {
		md_go_inline(d, c);
	}
}

/* The core ended (or is cut, or could not be read): write what is staged,
 * then let the process go. */
static void md_spill_end(struct md *d, struct md_crash *c, const char *why)
{
	c->spill_eof = true;
	c->eof_why = why;
	md_spill_step(d, c);
}

/* The writers are done with some stages. */
static void md_spill_written(struct md *d)
{
	for (struct spill_job *j = spill_done(), *next; j; j = next) {
		next = j->next;
		struct md_crash *c = j->owner;
		c->spill_busy = false;
		if (c->stage < 0) { /* no spare: the chunk just written is read into next */
			c->stage = c->stage_spare;
			c->stage_spare = -1;
		}
		c->t_progress = now_usec();
		if (j->err < 0 && !c->spill_err) {
			/* The process is let go; the record says what was lost. */
			c->spill_err = j->err;
			c->stage_fill = 0;
			c->spill_eof = true;
			c->eof_why = "writing the spill file failed";
		}
		md_spill_step(d, c);
	}
}

/* The pool cannot hold (the rest of) c: spill it, else inline. Returns true
 * when c is still read here (spilling). */
static bool md_overflow(struct md *d, struct md_crash *c)
{
	if (md_spill_begin(d, c))
		return true;
	md_go_inline(d, c);
	return false;
}

/* As soon as the first bytes say how big c is, promise it the pool whole, or
 * send it elsewhere while only a chunk of it is in: shared among all the cores
 * of a storm, the pool would run out with every one of them half read. A
 * core whose program headers do not tell (not an ELF core, a head over one
 * chunk) is guessed from its VmRSS, or taken as it comes. Returns true when c
 * is still read here. */
static bool md_size(struct md *d, struct md_crash *c)
{
	uint64_t size = 0;
	size_t want;
	int r = elfcore_size_known(pool_chunk(&d->pool, c->chunks[0]), c->fill, &size);
	if (r == 1 && c->fill < POOL_CHUNK)
		return true;
	c->sized = true;
	if (r == 0 && size > 0) {
		c->expected = size;
		want = (size_t)((size + POOL_CHUNK - 1) / POOL_CHUNK);
	} else {
		want = md_estimate_chunks(c);
	}
	if (want <= c->n_chunks)
		return true;
	want -= c->n_chunks;
	if (want > md_pool_avail(d))
		return md_overflow(d, c);
	c->reserve_left = want;
	d->reserved += want;
	return true;
}

/* Start reading c (into the pool until md_size knows better). */
static void md_begin_drain(struct md *d, struct md_crash *c)
{
	c->state = MD_DRAIN;
	c->t_progress = now_usec();
}

/* The kernel connected: verify, capture, then start reading. */
static bool md_accept_core(struct md *d)
{
	struct timeval tv = { .tv_sec = MD_HANDSHAKE_MS / 1000, .tv_usec = (MD_HANDSHAKE_MS % 1000) * 1000 };
	struct md_pidfd_info info;
	struct ucred cr;
	socklen_t len;
	int fd = accept4(d->lfd_core, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return false;
	struct md_crash *c = md_crash_new("socket");
	if (!c) {
		(void)close(fd);
		return true;
	}
	c->fd = fd;
	len = sizeof(c->pidfd);
	int r = getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &c->pidfd, &len) < 0 ? -errno : 0;
	if (r >= 0)
		r = md_pidfd_info(c->pidfd, &info);
	if (r < 0) {
		len = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
			cr = (struct ucred){ .pid = 0, .uid = (uid_t)-1 };
		md_log(4, "coredump socket: peer pid %d uid %d is not a process dumping core (%s): rejected",
		       (int)cr.pid, (int)cr.uid, strerror(-r));
		d->rejected++;
		md_crash_free(d, c);
		return true;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	md_args_from_info(&c->args, &info);
	/* Capture first: the kernel holds the process while its core is unread. */
	collect_capture(&d->cfg, &c->args, c->mode, &c->cap);
	c->captured = true;
	/* "@" starts with the core itself, "@@" with the kernel's request. */
	unsigned char magic[4];
	if (recv(fd, magic, sizeof(magic), MSG_PEEK | MSG_WAITALL) == 4 && memcmp(magic, "\177ELF", 4) != 0) {
		r = md_request_ack(fd);
		if (r < 0) {
			md_log(4, "coredump socket: pid %d: request/ack failed (%s): taking what comes",
			       (int)c->args.pid, strerror(-r));
		}
	}
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (md_add_conn(d, c) < 0) {
		md_log(3, "too many cores at once: pid %d not taken", (int)c->args.pid);
		collect_capture_abandon(&d->cfg, &c->cap);
		c->captured = false;
		md_crash_free(d, c);
		return true;
	}
	md_begin_drain(d, c);
	return true;
}

static void md_handoff_msg(struct md *d, struct md_crash *c);

static bool md_accept_handoff(struct md *d)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fd = accept4(d->lfd_handoff, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != 0) {
		md_log(4, "hand-off socket: peer uid %d is not root: rejected", (int)cr.uid);
		d->rejected++;
		(void)close(fd);
		return true;
	}
	struct md_crash *c = md_crash_new("handoff");
	if (!c) {
		(void)close(fd);
		return true;
	}
	c->ctl = fd;
	c->state = MD_HANDOFF_MSG;
	if (md_add_conn(d, c) < 0) {
		md_crash_free(d, c);
		return true;
	}
	/* The message is usually there already: answer now, not a turn later. */
	md_handoff_msg(d, c);
	return true;
}

/* The collector's message: arguments, the pipe, maybe a pidfd. */
static void md_handoff_msg(struct md *d, struct md_crash *c)
{
	struct handoff_msg m;
	struct md_pidfd_info info;
	int r = handoff_recv(c->ctl, &m);
	if (r == -EAGAIN)
		return;
	if (r < 0) {
		md_log(4, "hand-off: malformed message: rejected");
		md_drop_conn(d, c);
		md_crash_free(d, c);
		return;
	}
	memcpy(c->argbuf, m.buf, sizeof(c->argbuf));
	const char *argv[HANDOFF_ARGS_MAX];
	for (int i = 0; i < m.argc; i++)
		argv[i] = c->argbuf + (m.argv[i] - m.buf);
	/* %F names a number in the collector's table, not ours: the fd came with
	 * the message. */
	crash_args_parse(m.argc > 8 ? 8 : m.argc, argv, &c->args);
	c->fd = m.core_fd;
	c->pidfd = m.pidfd;
	if (c->pidfd >= 0) {
		r = md_pidfd_info(c->pidfd, &info);
		if (r < 0 || (pid_t)(info.tgid ? info.tgid : info.pid) != c->args.pid) {
			md_log(4, "hand-off: pid %d is not the process dumping core: rejected", (int)c->args.pid);
			md_drop_conn(d, c);
			md_crash_free(d, c);
			return;
		}
	}
	collect_capture(&d->cfg, &c->args, c->mode, &c->cap);
	c->captured = true;
	if (send(c->ctl, "R", 1, MSG_NOSIGNAL) != 1) {
		collect_capture_abandon(&d->cfg, &c->cap);
		c->captured = false;
		md_drop_conn(d, c);
		md_crash_free(d, c);
		return;
	}
	c->state = MD_HANDOFF_GO;
	c->t_progress = now_usec();
}

static void md_handoff_go(struct md *d, struct md_crash *c)
{
	char g = 0;
	ssize_t n = recv(c->ctl, &g, 1, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != 1 || g != 'G') {
		/* The collector gave up waiting and reads the pipe itself. */
		collect_capture_abandon(&d->cfg, &c->cap);
		c->captured = false;
		md_drop_conn(d, c);
		md_crash_free(d, c);
		return;
	}
	(void)close(c->ctl);
	c->ctl = -1;
	(void)fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	(void)fcntl(c->fd, F_SETPIPE_SZ, 1 << 20);
	md_begin_drain(d, c);
}

static void md_queue(struct md *d, struct md_crash *c)
{
	c->next = NULL;
	if (d->queue_tail)
		d->queue_tail->next = c;
	else
		d->queue_head = c;
	d->queue_tail = c;
}

/* In the worker: another crash's capture holds its lock, its root and the
 * binaries it opened (only descriptors are closed: nothing is freed here). */
static void md_capture_close(struct crash_capture *cap)
{
	if (cap->lock_fd >= 0)
		(void)close(cap->lock_fd);
	if (cap->root_fd >= 0)
		(void)close(cap->root_fd);
	for (size_t i = 0; i < cap->n_files; i++)
		if (cap->files[i].fd >= 0)
			(void)close(cap->files[i].fd);
}

/* In the worker: drop what belongs to the daemon and the other crashes; an
 * open copy of another core's socket would keep its process held. */
static void md_worker_close_others(struct md *d, struct md_crash *self)
{
	(void)close(d->sfd);
	(void)close(d->lfd_core);
	(void)close(d->lfd_handoff);
	(void)close(d->lock_fd);
	for (size_t i = 0; i < MD_CONN_MAX; i++) {
		struct md_crash *o = d->conns[i];
		if (!o || o == self)
			continue;
		if (o->fd >= 0)
			(void)close(o->fd);
		if (o->ctl >= 0)
			(void)close(o->ctl);
		if (o->spill_fd >= 0)
			(void)close(o->spill_fd);
		if (o->captured)
			md_capture_close(&o->cap);
	}
	/* (A spill file is freed when its last descriptor is closed.) */
	for (struct md_crash *o = d->queue_head; o; o = o->next) {
		if (o == self)
			continue;
		if (o->captured)
			md_capture_close(&o->cap);
		if (o->spill_fd >= 0)
			(void)close(o->spill_fd);
		if (o->resumed && o->resumed->pool_fd >= 0)
			(void)close(o->resumed->pool_fd);
	}
	for (size_t i = 0; i < MD_CONN_MAX; i++) {
		struct md_crash *o = d->running[i];
		if (!o || o == self)
			continue;
		if (o->pool_rd >= 0)
			(void)close(o->pool_rd);
		/* (kept by the daemon while that worker may be parked) */
		if (o->spill_fd >= 0)
			(void)close(o->spill_fd);
		if (o->captured)
			md_capture_close(&o->cap);
	}
}

/* How many of c's bytes are in the pool. */
static uint64_t md_pool_bytes(const struct md_crash *c)
{
	return c->n_chunks ? (uint64_t)(c->n_chunks - 1) * POOL_CHUNK + c->fill : 0;
}

/* c's bytes in the pool, in order: every chunk full but the last (the spill
 * holds what came after). A heap array of at least one entry, or NULL;
 * *ret_len (unless NULL): their sum. */

static struct iovec *md_pool_iov(struct md *d, const struct md_crash *c, uint64_t *ret_len)
{
	struct iovec *iov = calloc(c->n_chunks ? c->n_chunks : 1, sizeof(*iov));
	uint64_t left = md_pool_bytes(c);
	if (ret_len)
		*ret_len = left;
	for (size_t i = 0; iov && i < c->n_chunks; i++) {
		iov[i].iov_base = pool_chunk(&d->pool, c->chunks[i]);
		iov[i].iov_len = left < POOL_CHUNK ? (size_t)left : POOL_CHUNK;
		left -= iov[i].iov_len;
	}
	return iov;
}

/* In a child (worker, re-analysis): the daemon decides when a stop cuts the
 * work short, and SIGTERM from it says so (md_cut; restarting what it
 * interrupts); a ^C meant for a foreground mortemd does not kill it. Then the
 * signals the daemon blocks for its signalfd are let through. */
static void md_child_signals(void)
{
	struct sigaction cut = { .sa_handler = md_on_cut, .sa_flags = SA_RESTART };
	struct sigaction ign = { .sa_handler = SIG_IGN }, dfl = { .sa_handler = SIG_DFL };
	sigset_t all;
	(void)sigaction(SIGTERM, &cut, NULL);
	(void)sigaction(SIGINT, &ign, NULL);
	(void)sigaction(SIGPIPE, &dfl, NULL);
	sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
}

/* The daemon's copies of what c's worker has: the spill file and the
 * capture (its lock too: the worker's copy holds it on). */
static void md_worker_started_free(struct md_crash *c)
{
	if (c->spill_fd >= 0)
		(void)close(c->spill_fd);
	c->spill_fd = -1;
	if (c->captured)
		crash_capture_free(&c->cap);
	c->captured = false;
}

/* Fork the worker for c: inline (c->fd still open: the process is held and
 * waits for us, full priority) or from the pool (background). */
static int md_start_worker(struct md *d, struct md_crash *c)
{
	int pp[2];
	if (pipe2(pp, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		(void)close(pp[0]);
		(void)close(pp[1]);
		return r;
	}
	if (pid == 0) {
		(void)close(pp[0]);
		(void)prctl(PR_SET_NAME, "mortemd-work");
		md_worker_close_others(d, c);
		md_child_signals();
		if (c->fd < 0)
			/* Only the CPU time nobody else wants: in a storm the
			 * kernel writing the cores and this daemon reading
			 * them come first. */
			lower_priority(true);
		else /* the collector's path reads blocking; the parent let go of it */
			(void)fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
		struct iovec *iov = md_pool_iov(d, c, NULL);
		if (!iov)
			_exit(1);
		if (c->spill_fd >= 0 && spill_readable(c->spill_fd) < 0)
			_exit(1);
		struct collect_source src = { .pre = iov, .n_pre = c->n_chunks, .spill_fd = c->spill_fd,
					      .spill_err = c->spill_err, .fd = c->fd,
					      .buffer = c->fd >= 0 ? "inline" : c->spill_fd >= 0 ? "spill" : "pool",
					      .held_usec = c->held_usec, .pool_fd = pp[1], .cut = &md_cut,
					      .pool_map = d->pool.base, .pool_map_len = d->pool.n * (size_t)POOL_CHUNK };
		if (c->resumed) {
			/* The pool's bytes are in the parked file now; the pool
			 * itself is not this crash's. */
			const struct park_crash *pk = c->resumed;
			(void)munmap(d->pool.base, d->pool.n * (size_t)POOL_CHUNK);
			size_t len = (size_t)pk->info.pool_bytes;
			void *m = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, pk->pool_fd, 0) : NULL;
			if (m == MAP_FAILED)
				_exit(1);
			iov[0] = (struct iovec){ .iov_base = m, .iov_len = len };
			src.n_pre = len ? 1 : 0;
			src.pool_map = m;
			src.pool_map_len = len;
			src.buffer = pk->info.buffer;
			src.resumed = true;
		}
		struct collect_outcome out;
		int r = collect_run(&d->cfg, &c->args, &c->cap, &src, &out);
		_exit(r < 0 ? 1 : 0);
	}
	(void)close(pp[1]);
	c->pool_rd = pp[0];
	c->worker = pid;
	/* The worker has its own copies now. While it reads the pool, the
	 * capture and the spill stay here too, so that a stop can park the
	 * crash (md_park_running); an inline worker holds the process, which
	 * no stop parks. */
	c->inline_worker = c->fd >= 0;
	if (c->fd >= 0) {
		(void)close(c->fd);
		c->fd = -1;
	}
	if (c->resumed && c->resumed->pool_fd >= 0) {
		(void)close(c->resumed->pool_fd);
		c->resumed->pool_fd = -1;
	}
	if (c->inline_worker)
		md_worker_started_free(c);
	for (size_t i = 0; i < MD_CONN_MAX; i++)
		if (!d->running[i]) {
			d->running[i] = c;
			break;
		}
	d->n_running++;
	return 0;
}

/* Released: the core is all in the pool. */
static void md_released(struct md *d, struct md_crash *c, const char *why)
{
	if (c->fd >= 0)
		(void)close(c->fd);
	c->fd = -1;
	c->held_usec = now_usec() - c->t_start;
	md_unreserve(d, c);
	md_drop_conn(d, c);
	if (why)
		md_log(4, "pid %d: %s after %llu bytes", (int)c->args.pid, why, (unsigned long long)c->bytes);
	d->taken++;
	md_queue(d, c);
}

/* Bytes came into c's pool chunk or stage (the readers' n), or the stream
 * ended (end: READ_EOF, or -errno): account, size, spill, release. */
static void md_took(struct md *d, struct md_crash *c, size_t n, int end)
{
	if (n > 0) {
		if (c->spill_fd >= 0)
			c->stage_fill += n;
		else
			c->fill += n;
		c->bytes += n;
		/* A deadline on throughput, not on the total: a big core may take
		 * long, but a trickle under MD_PROGRESS bytes per StallTimeout is
		 * treated as stalled. */
		if (c->bytes - c->bytes_at_progress >= MD_PROGRESS) {
			c->bytes_at_progress = c->bytes;
			c->t_progress = now_usec();
		}
		if (c->spill_fd >= 0) {
			if (!c->sized)
				md_stage_size(d, c);
			if (c->stage_fill == POOL_CHUNK || c->bytes > c->spill_end + POOL_CHUNK) {
				md_spill_step(d, c);
				/* (a full stage is written first; the end is seen again) */
				if (end != READ_MORE && !c->spill_eof && md_is_conn(d, c))
					md_spill_end(d, c, end < 0 ? "reading the core failed" : NULL);
				return;
			}
		} else if (!c->sized && !md_size(d, c)) {
			return; /* spilled from here on, or gone inline */
		}
	}
	if (end == READ_MORE || !md_is_conn(d, c))
		return;
	const char *why = end < 0 ? "reading the core failed" : NULL;
	if (c->spill_fd >= 0)
		md_spill_end(d, c, why);
	else
		md_released(d, c, why);
}

/* c has bytes waiting: hand the rest of its pool chunk (a new one when it is
 * full: its own promise first, past it only what nobody was promised), or of
 * its stage, to the readers. */
static void md_drain(struct md *d, struct md_crash *c)
{
	unsigned char *dst;
	size_t room;
	for (;;) {
		if (c->spill_fd >= 0) {
			if (md_spill_paused(c))
				return;
			dst = pool_chunk(&d->pool, c->stage) + c->stage_fill;
			room = POOL_CHUNK - c->stage_fill;
			break;
		}
		if (c->n_chunks == 0 || c->fill == POOL_CHUNK) {
			bool mine = c->reserve_left > 0;
			int k = mine || md_pool_avail(d) > 0 ? pool_get(&d->pool) : -1;
			if (k >= 0 && mine) {
				c->reserve_left--;
				d->reserved--;
			}
			if (k < 0) {
				if (md_overflow(d, c))
					continue;
				return;
			}
			if (c->n_chunks == c->cap_chunks) {
				size_t nc = c->cap_chunks ? c->cap_chunks * 2 : 16;
				int *m = realloc(c->chunks, nc * sizeof(*m));
				if (!m) {
					pool_put(&d->pool, k);
					return;
				}
				c->chunks = m;
				c->cap_chunks = nc;
			}
			c->chunks[c->n_chunks++] = k;
			c->fill = 0;
		}
		dst = pool_chunk(&d->pool, c->chunks[c->n_chunks - 1]) + c->fill;
		room = POOL_CHUNK - c->fill;
		break;
	}
	/* The head is read here, in pieces as it comes: the program headers
	 * decide at once whether the core fits the pool. */
	if (!c->sized) {
		ssize_t n;
		while ((n = read(c->fd, dst, room)) < 0 && errno == EINTR)
			;
		if (n < 0 && errno == EAGAIN)
			return;
		md_took(d, c, n > 0 ? (size_t)n : 0, n > 0 ? READ_MORE : n == 0 ? READ_EOF : -errno);
		return;
	}
	c->rjob = (struct read_job){ .owner = c, .queue = &d->readers, .fd = c->fd, .buf = dst, .room = room };
	c->reading = true;
	jobq_submit(&d->readers, &c->rjob.q);
}

/* The readers are done with some buffers. */
static void md_read_done(struct md *d)
{
	for (struct jobq_item *q = jobq_done(&d->readers), *next; q; q = next) {
		next = q->next;
		struct read_job *j = read_job_of(q);
		struct md_crash *c = j->owner;
		c->reading = false;
		md_took(d, c, j->got, j->end);
	}
}

/* Writing pool_bytes to the spool keeps KeepFree= on its file system (a
 * parked spill is only named: it takes no more room). */
static int md_park_room(const struct md *d, uint64_t pool_bytes)
{
	struct statvfs sv;
	if (!d->spool_dir)
		return -EINVAL;
	if (statvfs(d->spool_dir, &sv) < 0)
		return -errno;
	return (uint64_t)sv.f_bavail * sv.f_frsize < pool_bytes + d->keep_free ? -ENOSPC : 0;
}

/* Park c (park.h): the pool's bytes to a file, the spill file named, the
 * capture in a note. Only a released core (the kernel holds nobody for it),
 * and only when the store's file system keeps KeepFree= afterwards. */
static int md_park(struct md *d, struct md_crash *c)
{
	if (c->resumed)
		return 0; /* still parked: its files stay for the next start */
	if (c->fd >= 0 || !c->captured || !d->spool_dir)
		return -EINVAL;
	uint64_t pool_bytes;
	int r = md_park_room(d, md_pool_bytes(c));
	if (r < 0)
		return r;
	struct iovec *iov = md_pool_iov(d, c, &pool_bytes);
	if (!iov)
		return -ENOMEM;
	struct park_info pi = { .held_usec = c->held_usec, .bytes = c->bytes, .pool_bytes = pool_bytes,
				.spill_err = c->spill_err, .buffer = c->spill_fd >= 0 ? "spill" : "pool" };
	r = park_write(d->spool_dir, &c->args, &c->cap, &pi, iov, c->n_chunks, c->spill_fd);
	free(iov);
	return r;
}

/* The stop's ParkAfter= is over: park what is still queued, so that the stop
 * ends with the running workers; what cannot be parked is finished. */
static void md_park_queue(struct md *d)
{
	struct md_crash *c = d->queue_head, *next;
	unsigned long n = 0;
	d->queue_head = d->queue_tail = NULL;
	for (; c; c = next) {
		next = c->next;
		int r = c->no_park ? -EAGAIN : md_park(d, c);
		if (r >= 0) {
			n++;
			md_crash_free(d, c);
			continue;
		}
		if (!c->no_park)
			md_log(4, "pid %d: cannot park the crash (%s): finishing it before stopping", (int)c->args.pid,
			       strerror(-r));
		c->no_park = true;
		md_queue(d, c);
	}
	if (n) {
		d->parked += n;
		md_log(6, "stopping: parked %lu crash(es) in %s for the next start", n, d->spool_dir);
	}
}

/* The stop's ParkAfter= is over for the running workers too. One that still
 * reads the pool (compressing) is killed, and its crash parked once it is
 * reaped (md_park_reaped). The others, past the pool (analysing) or holding
 * the process (inline), are told to cut their analysis short and skip the
 * recompression (SIGTERM: md_cut): their crash is stored all the same. */
static void md_park_running(struct md *d)
{
	unsigned long killed = 0, cut = 0;
	d->parked_running = true;
	md_cut = 1; /* workers forked from now on start cut */
	for (size_t i = 0; i < MD_CONN_MAX; i++) {
		struct md_crash *c = d->running[i];
		if (!c)
			continue;
		if (!c->inline_worker && c->pool_rd >= 0 && !c->no_park && (c->captured || c->resumed) &&
		    md_park_room(d, c->resumed ? 0 : md_pool_bytes(c)) >= 0) {
			c->kill_to_park = true;
			(void)kill(c->worker, SIGKILL);
			killed++;
		} else {
			(void)kill(c->worker, SIGTERM);
			cut++;
		}
	}
	if (killed || cut)
		md_log(6, "stopping: %lu worker(s) stopped to park their crash, %lu told to cut their analysis short",
		       killed, cut);
	if (d->reanalyzer > 0)
		(void)kill(d->reanalyzer, SIGTERM);
}

static void md_start_queued(struct md *d)
{
	if (d->stopping && now_usec() >= d->park_at) {
		if (d->queue_head)
			md_park_queue(d);
		if (!d->parked_running)
			md_park_running(d);
	}
	while (d->queue_head && d->n_running < d->max_workers) {
		struct md_crash *c = d->queue_head;
		d->queue_head = c->next;
		if (!d->queue_head)
			d->queue_tail = NULL;
		if (md_start_worker(d, c) < 0) {
			/* Try again on the next turn. */
			c->next = d->queue_head;
			d->queue_head = c;
			if (!d->queue_tail)
				d->queue_tail = c;
			return;
		}
	}
}

static struct md_crash **md_running_slot(struct md *d, pid_t pid)
{
	for (size_t i = 0; i < MD_CONN_MAX; i++)
		if (d->running[i] && d->running[i]->worker == pid)
			return &d->running[i];
	return NULL;
}

/* A worker the stop killed (md_park_running) is gone: what it had begun is
 * removed, and its crash is parked, unless the worker stored it first. A park
 * that fails puts the crash back in the queue, finished from the start. */
static void md_park_reaped(struct md *d, struct md_crash *c)
{
	c->kill_to_park = false;
	c->worker = 0;
	if (c->pool_rd >= 0)
		(void)close(c->pool_rd);
	c->pool_rd = -1;
	bool stored = !d->st.root || store_discard_work(&d->st, c->cap.id);
	int r = stored ? 0 : md_park(d, c);
	if (r >= 0) {
		if (stored && c->resumed && d->spool_dir)
			park_remove(d->spool_dir, c->cap.id);
		else if (!stored)
			d->parked++;
		md_log(6, "pid %d: %s", (int)c->args.pid,
		       stored ? "its worker stored the crash before it was stopped" : "parked for the next start");
		md_crash_free(d, c);
		return;
	}
	md_log(4, "pid %d: cannot park the crash (%s): finishing it before stopping", (int)c->args.pid, strerror(-r));
	c->no_park = true;
	c->inline_worker = false;
	md_queue(d, c);
}

static void md_reap(struct md *d)
{
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == d->reanalyzer) {
			d->reanalyzer = 0;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				md_log(4, "the analysis of crashes cut short ended with status %d", st);
			continue;
		}
		struct md_crash **slot = md_running_slot(d, pid);
		if (!slot)
			continue;
		struct md_crash *c = *slot;
		*slot = NULL;
		d->n_running--;
		if (c->kill_to_park) {
			md_park_reaped(d, c);
			continue;
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			md_log(4, "worker for pid %d ended with status %d", (int)c->args.pid, st);
		/* Resumed: stored now, or its note says lost at the next start. */
		if (c->resumed && d->spool_dir)
			park_remove(d->spool_dir, c->cap.id);
		md_crash_free(d, c);
	}
}

/* The worker is done with its chunks (EOF on its pipe): reuse them now. A
 * worker killed to be parked keeps them until it is reaped (md_reap). */
static void md_pool_done(struct md *d, struct md_crash *c)
{
	(void)close(c->pool_rd);
	c->pool_rd = -1;
	if (c->kill_to_park)
		return;
	for (size_t i = 0; i < c->n_chunks; i++)
		pool_put(&d->pool, c->chunks[i]);
	c->n_chunks = 0;
	/* The worker closed the spill file before the pipe; past this point a
	 * stop no longer parks the crash. */
	md_worker_started_free(c);
	md_spill_done(d, c);
}

static void md_status(struct md *d, bool force)
{
	int64_t now = now_usec();
	if (d->watchdog_usec && now - d->last_watchdog >= (int64_t)d->watchdog_usec / 2) {
		(void)sd_notify(0, "WATCHDOG=1");
		d->last_watchdog = now;
	}
	if (!force && now - d->last_status < 1000000)
		return;
	d->last_status = now;
	unsigned draining = 0, queued = 0;
	for (size_t i = 0; i < MD_CONN_MAX; i++)
		draining += d->conns[i] != NULL;
	for (struct md_crash *c = d->queue_head; c; c = c->next)
		queued++;
	(void)sd_notifyf(0, "STATUS=%s%u receiving, %u queued, %u working; pool %zu/%zu MiB free, %" PRIu64
			 " MiB spilled; %lu taken, %lu spilled, %lu inline, %lu rejected, %lu resumed, %lu parked",
			 d->stopping ? "stopping: " : "", draining, queued, d->n_running,
			 d->pool.n_free * (POOL_CHUNK >> 20), d->pool.n * (POOL_CHUNK >> 20), d->spilling >> 20,
			 d->taken, d->spilled, d->inline_fallbacks, d->rejected, d->resumed, d->parked);
}

static void md_stop_listening(struct md *d)
{
	/* Gone first, so that collectors see no daemon and work inline. */
	if (d->handoff_path)
		(void)unlink(d->handoff_path);
	if (d->core_path)
		(void)unlink(d->core_path);
	if (d->lfd_core >= 0)
		(void)close(d->lfd_core);
	if (d->lfd_handoff >= 0)
		(void)close(d->lfd_handoff);
	d->lfd_core = d->lfd_handoff = -1;
}

static bool md_idle(const struct md *d)
{
	for (size_t i = 0; i < MD_CONN_MAX; i++)
		if (d->conns[i])
			return false;
	return !d->queue_head && d->n_running == 0 && d->reanalyzer <= 0;
}

static void md_check_stalls(struct md *d)
{
	int64_t now = now_usec();
	int64_t stall = (int64_t)d->cfg.stall_timeout_sec * 1000000;
	for (size_t i = 0; i < MD_CONN_MAX; i++) {
		struct md_crash *c = d->conns[i];
		if (!c)
			continue;
		if (c->state == MD_DRAIN && (c->spill_busy || c->reading)) {
			continue; /* the writers' or the readers' turn, not the kernel's */
		} else if (c->state == MD_DRAIN && now - c->t_progress > stall) {
			if (c->spill_fd >= 0)
				md_spill_end(d, c, "the core stalled (StallTimeout)");
			else
				md_released(d, c, "the core stalled (StallTimeout)");
		} else if (c->state != MD_DRAIN && now - c->t_progress > (int64_t)MD_HANDSHAKE_MS * 1000) {
			if (c->captured) {
				collect_capture_abandon(&d->cfg, &c->cap);
				c->captured = false;
			}
			md_drop_conn(d, c);
			md_crash_free(d, c);
		}
	}
}

static int md_loop(struct md *d)
{
	struct pollfd pfd[5 + 2 * MD_CONN_MAX];
	struct md_crash *who[5 + 2 * MD_CONN_MAX];

	for (;;) {
		md_start_queued(d);
		md_status(d, false);
		if (d->stopping && md_idle(d))
			return 0;
		size_t n = 0, busy = 0;
		for (size_t i = 0; i < MD_CONN_MAX; i++)
			busy += d->conns[i] != NULL;
		/* Every slot taken: leave new connections in the backlog (SOMAXCONN)
		 * rather than accept what could not be read. */
		bool room = busy < MD_CONN_MAX;
		pfd[n] = (struct pollfd){ .fd = d->sfd, .events = POLLIN };
		who[n++] = NULL;
		pfd[n] = (struct pollfd){ .fd = d->spill_efd, .events = POLLIN }; /* -1: ignored */
		who[n++] = NULL;
		pfd[n] = (struct pollfd){ .fd = d->readers.efd, .events = POLLIN };
		who[n++] = NULL;
		if (room && d->lfd_core >= 0) {
			pfd[n] = (struct pollfd){ .fd = d->lfd_core, .events = POLLIN };
			who[n++] = NULL;
		}
		if (room && d->lfd_handoff >= 0) {
			pfd[n] = (struct pollfd){ .fd = d->lfd_handoff, .events = POLLIN };
			who[n++] = NULL;
		}
		size_t first_conn = n;
		for (size_t i = 0; i < MD_CONN_MAX; i++) {
			struct md_crash *c = d->conns[i];
			if (!c || c->reading || md_spill_paused(c))
				continue;
			pfd[n] = (struct pollfd){ .fd = c->state == MD_DRAIN ? c->fd : c->ctl, .events = POLLIN };
			who[n++] = c;
		}
		size_t first_run = n;
		for (size_t i = 0; i < MD_CONN_MAX; i++) {
			struct md_crash *c = d->running[i];
			if (!c || c->pool_rd < 0)
				continue;
			pfd[n] = (struct pollfd){ .fd = c->pool_rd, .events = POLLIN };
			who[n++] = c;
		}
		int k = poll(pfd, n, 1000);
		if (k < 0 && errno != EINTR)
			return -errno;
		md_check_stalls(d);
		if (k <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(d->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					md_reap(d);
				} else if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && !d->stopping) {
					d->stopping = true;
					d->park_at = now_usec() + (int64_t)d->cfg.park_after_sec * 1000000;
					(void)sd_notify(0, "STOPPING=1");
					md_log(6, "stopping: finishing the crashes in flight; in %llus what is still queued or "
					       "compressing is parked, and the other workers cut their analysis short",
					       (unsigned long long)d->cfg.park_after_sec);
					md_stop_listening(d);
				}
			}
		}
		if (pfd[1].revents & POLLIN)
			md_spill_written(d);
		if (pfd[2].revents & POLLIN)
			md_read_done(d);
		for (size_t i = 3; i < first_conn; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			/* All that wait, not one per turn: a storm comes at once, and a
			 * collector waits only HandoffTimeout= for its answer. */
			for (int k2 = 0; k2 < MD_ACCEPT_BURST; k2++) {
				bool more = pfd[i].fd == d->lfd_core ? md_accept_core(d) : md_accept_handoff(d);
				if (!more || !md_room(d))
					break;
			}
		}
		for (size_t i = first_conn; i < first_run; i++) {
			struct md_crash *c = who[i];
			if (!pfd[i].revents)
				continue;
			/* Still the same connection (an earlier step may have ended it). */
			if (!md_is_conn(d, c) || c->reading)
				continue;
			if (c->state == MD_HANDOFF_MSG)
				md_handoff_msg(d, c);
			else if (c->state == MD_HANDOFF_GO)
				md_handoff_go(d, c);
			else
				md_drain(d, c);
		}
		for (size_t i = first_run; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			struct md_crash *c = who[i];
			bool live = false;
			for (size_t j = 0; j < MD_CONN_MAX && !live; j++)
				live = d->running[j] == c;
			if (live && c->pool_rd == pfd[i].fd) {
				char b;
				if (read(c->pool_rd, &b, 1) <= 0)
					md_pool_done(d, c);
			}
		}
	}
}

/* At start: queue what an earlier stop parked (park.h), before the leftovers
 * are judged: their locks are taken here. A parked crash that cannot be read
 * back loses its parked files, and its pending note then makes it "lost". */
static void md_resume(struct md *d, const struct store *st)
{
	char **ids;
	size_t n;
	unsigned long resumed = 0;
	if (park_list(st->spool_dir, &ids, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *rec = store_path(st->store_dir, ids[i], ".json");
		struct park_crash *p = calloc(1, sizeof(*p));
		struct md_crash *c = NULL;
		int r = !rec || !p ? -ENOMEM : access(rec, F_OK) == 0 ? -EEXIST : park_read(st->spool_dir, ids[i], p);
		if (r >= 0 && !(c = md_crash_new(p->cap.mode))) {
			park_crash_free(p);
			r = -ENOMEM;
		}
		if (r < 0) {
			if (r == -EEXIST) /* stored before the worker's end was seen */
				park_remove(st->spool_dir, ids[i]);
			else if (r != -EWOULDBLOCK && r != -ENOMEM) {
				md_log(3, "parked crash %s cannot be resumed (%s): it is recorded as lost", ids[i],
				       strerror(-r));
				park_remove(st->spool_dir, ids[i]);
			}
			free(p);
			free(ids[i]);
			continue;
		}
		c->args = p->args;
		c->cap = p->cap;
		c->captured = true;
		/* The capture is the crash's now; the park keeps the rest. */
		p->cap = (struct crash_capture){ .root_fd = -1, .lock_fd = -1 };
		c->spill_fd = TAKE_FD(p->spill_fd);
		/* Its spill counts against SpillMax= until its worker is done
		 * with it, as when it was made. */
		struct stat sb;
		if (c->spill_fd >= 0 && fstat(c->spill_fd, &sb) == 0 && sb.st_blocks > 0) {
			c->spill_promised = (uint64_t)sb.st_blocks * 512;
			d->spilling += c->spill_promised;
		}
		c->spill_err = p->info.spill_err;
		c->held_usec = p->info.held_usec;
		c->bytes = p->info.bytes;
		c->resumed = p;
		md_queue(d, c);
		resumed++;
		free(ids[i]);
	}
	free(ids);
	d->resumed += resumed;
	if (resumed)
		md_log(6, "resuming %lu crash(es) parked by the last stop", resumed);
}

/* At start: a child analyses again, one after the other, the crashes whose
 * analysis a stop cut short (reanalyze.h), in the background like a worker
 * and cut short again by the next stop: what is not done stays marked. */
static void md_reanalyze_start(struct md *d)
{
	char **ids = NULL;
	size_t n = 0;
	if (!d->st.root || reanalyze_list(&d->st, &ids, &n) < 0 || n == 0) {
		free(ids);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		(void)prctl(PR_SET_NAME, "mortemd-reanalyze");
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		md_worker_close_others(d, NULL);
		/* The analysis child's MaxMemory= must not count the pool. */
		(void)munmap(d->pool.base, d->pool.n * (size_t)POOL_CHUNK);
		md_child_signals();
		lower_priority(true);
		unsigned long done = 0;
		for (size_t i = 0; i < n && !md_cut; i++) {
			const char *status = NULL;
			int r = reanalyze_crash(&d->cfg, &d->st, ids[i], &md_cut, &status);
			if (r == -ENOENT || r == -ENODATA || (r >= 0 && !md_cut)) {
				reanalyze_unmark(&d->st, ids[i]);
				done += r >= 0;
			} else if (r < 0 && r != -EINTR) { /* (-EINTR: cut short again) */
				md_log(4, "crash %s: analysing it again failed (%s); left for the next start", ids[i],
				       strerror(-r));
			}
		}
		md_log(6, "analysed again %lu of %zu crash(es) a stop had cut short", done, n);
		_exit(0);
	}
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	if (pid < 0) {
		md_log(4, "cannot analyse again the crashes a stop cut short: %s", strerror(errno));
		return;
	}
	d->reanalyzer = pid;
	md_log(6, "analysing again %zu crash(es) a stop cut short", n);
}

static void md_config_warn(void *userdata, const char *msg)
{
	md_log(4, "config: %s (using the default)", msg);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mortemd [-c CONFIG]\n"
		   "Takes cores from the kernel's coredump socket and from mortem-collect;\n"
		   "runs in the foreground (systemd: mortemd.service).\n");
}

int main(int argc, char **argv)
{
	const char *config_path = CONFIG_DEFAULT_PATH;
	struct md d = { .sfd = -1, .lfd_core = -1, .lfd_handoff = -1, .lock_fd = -1 };
	int opt, r;

	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* If mortemd itself crashed into its own socket, nobody would read it. */
	(void)prctl(PR_SET_DUMPABLE, 0);
	umask(077);
	if (geteuid() != 0) {
		fprintf(stderr, "mortemd: must run as root (it reads /proc of every process)\n");
		return 1;
	}
	if (config_init(&d.cfg) < 0)
		return 1;
	r = config_load(&d.cfg, config_path, md_config_warn, NULL);
	if (r < 0 && r != -EINVAL) {
		fprintf(stderr, "mortemd: cannot read %s: %s\n", config_path, strerror(-r));
		return 1;
	}
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	d.max_workers = d.cfg.max_concurrent > 0 ? (unsigned)d.cfg.max_concurrent : (unsigned)(ncpu > 0 ? ncpu : 1);

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	(void)sigprocmask(SIG_BLOCK, &mask, NULL);
	(void)signal(SIGPIPE, SIG_IGN);
	d.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d.sfd < 0)
		return 1;

	uint64_t pool = d.cfg.pool_size ? d.cfg.pool_size : pool_default_size();
	int64_t t = now_usec();
	r = pool_init(&d.pool, pool);
	if (r < 0) {
		md_log(3, "cannot map a pool of %llu bytes: %s", (unsigned long long)pool, strerror(-r));
		return 1;
	}
	char pbuf[32];
	format_size(d.pool.n * (uint64_t)POOL_CHUNK, pbuf, sizeof(pbuf));
	md_log(6, "pool of %s faulted in in %lld ms", pbuf, (long long)((now_usec() - t) / 1000));

	/* What a killed predecessor or collector left: its leftovers go first. */
	struct store *st = &d.st;
	if (store_init(st, d.cfg.store_path) >= 0 && store_mkdirs(st) >= 0) {
		struct policy_limits lim;
		quota_limits(st, &d.cfg, &lim);
		d.keep_free = lim.keep_free;
		d.spool_dir = st->spool_dir;
		sqlite3 *db = NULL;
		md_resume(&d, st);
		if (index_open(st->index_path, &db) < 0)
			db = NULL;
		int n = pending_recover(st, db);
		if (n > 0)
			md_log(4, "%d crash(es) interrupted by an earlier stop were recorded as lost", n);
		if (db)
			index_close(db);
		(void)store_clean_spool(st, NULL, NULL);
	} else {
		store_free(st); /* (st->root NULL: no store) */
	}
	/* Spills stage in chunks that are never promised to a core; a few
	 * threads write them out (spill.h). Without them, the overflow goes
	 * inline. */
	d.spill_efd = -1;
	if (d.cfg.spill_max > 0 && (r = spill_start(4, &d.spill_efd)) < 0) {
		md_log(4, "cannot start the spill writers (%s): a core the pool cannot hold is compressed inline",
		       strerror(-r));
		d.spill_efd = -1;
	}
	/* Readers: the copying of a storm's cores on every CPU (reader.h). */
	unsigned nreaders = ncpu > 0 ? (unsigned)ncpu * 2 : 2;
	if ((r = jobq_start(&d.readers, nreaders, read_job_run, "mortemd-read")) < 0) {
		md_log(3, "cannot start the readers: %s", strerror(-r));
		return 1;
	}
	/* (No spills, no reserve: all of the pool for the cores.) */
	d.stage_reserve = d.spill_efd < 0 ? 0 : d.pool.n / 8 < 64 ? d.pool.n / 8 : 64;

	if (md_setup(&d) < 0)
		return 1;
	if (sd_watchdog_enabled(0, &d.watchdog_usec) <= 0)
		d.watchdog_usec = 0;
	md_log(6, "listening on %s and %s (%u workers)", d.core_path, d.handoff_path, d.max_workers);
	md_reanalyze_start(&d);
	(void)sd_notify(0, "READY=1");
	md_status(&d, true);
	r = md_loop(&d);
	md_stop_listening(&d);
	md_log(6, "stopped");
	jobq_stop(&d.readers);
	pool_free(&d.pool);
	if (d.spill_efd >= 0)
		spill_stop();
	store_free(&d.st);
	free(d.core_path);
	free(d.handoff_path);
	config_free(&d.cfg);
	return r < 0 ? 1 : 0;
}
