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
 * This file: start-up, the loop and what it dispatches to; md.h lists the
 * other files (accept.c, intake.c, worker.c, stop.c, status.c, md.c) and who
 * owns which part of the daemon's state.
 *
 *   mortemd [-c CONFIG]        foreground; systemd Type=notify */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "base/config.h"
#include "base/jobq.h"
#include "base/util.h"
#include "collect/collect.h"
#include "collect/handoff.h"
#include "core/spill.h"
#include "daemon/md.h"
#include "daemon/pool.h"
#include "daemon/reader.h"
#include "store/index.h"
#include "store/pending.h"
#include "store/quota.h"
#include "store/store.h"

#define MD_ACCEPT_BURST 64        /* connections accepted per loop turn and socket */

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
				intake_spill_end(d, c, "the core stalled (StallTimeout)");
			else
				intake_released(d, c, "the core stalled (StallTimeout)");
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
		worker_start_queued(d);
		status_update(d, false);
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
			if (!c || c->reading || intake_spill_paused(c))
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
					worker_reap(d);
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
			intake_spill_written(d);
		if (pfd[2].revents & POLLIN)
			intake_read_done(d);
		for (size_t i = 3; i < first_conn; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			/* All that wait, not one per turn: a storm comes at once, and a
			 * collector waits only HandoffTimeout= for its answer. */
			for (int k2 = 0; k2 < MD_ACCEPT_BURST; k2++) {
				bool more = pfd[i].fd == d->lfd_core ? accept_core(d) : accept_handoff(d);
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
				accept_handoff_msg(d, c);
			else if (c->state == MD_HANDOFF_GO)
				accept_handoff_go(d, c);
			else
				intake_drain(d, c);
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
					worker_pool_done(d, c);
			}
		}
	}
}

/* Run by hand (no systemd to run ExecStop='s `mortem handover pipe`),
 * mortemd would leave the kernel pointing at its dead socket, and the next
 * crash would be lost. So at its exit, when core_pattern still names its own
 * coredump socket, it runs that same handover: `mortem handover pipe` alone
 * knows the saved state (cli/enable.c, which the daemon may not include) and
 * puts back only the fallback it saved, checked, or nothing. Under
 * mortemd.service ExecStop= has done it before the SIGTERM (and /proc/sys is
 * read-only here), so this finds nothing to do. Waits at most
 * MD_HANDBACK_TIMEOUT_MS; any failure is logged, never fatal. */
#define MD_HANDBACK_TIMEOUT_MS 10000
#define MD_PROC_PATTERN "/proc/sys/kernel/core_pattern"
#define MD_PATTERN_MAX 256 /* core_pattern bytes read (the kernel's is 128) */

/* core_pattern into buf, without its newline; false when unreadable. */
static bool md_read_pattern(char *buf, size_t len)
{
	_cleanup_close_ int fd = open(MD_PROC_PATTERN, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	if (fd < 0 || (n = read(fd, buf, len - 1)) < 0)
		return false;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

/* "@PATH" or "@@PATH" naming path. */
static bool md_pattern_is(const char *pat, const char *path)
{
	const char *p = pat + (pat[0] == '@') + (pat[0] == '@' && pat[1] == '@');
	return p != pat && strcmp(p, path) == 0;
}

static void md_handback(const struct md *d, const char *config_path)
{
	char pat[MD_PATTERN_MAX];
	const char *mortem = getenv("MORTEM_BIN"); /* for tests */
	int st = 0;

	if (!d->core_path || !md_read_pattern(pat, sizeof(pat)) || !md_pattern_is(pat, d->core_path))
		return; /* not our socket: somebody else's business */
	if (!mortem || !*mortem)
		mortem = BINDIR "/mortem";
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0)
			(void)dup2(null, STDIN_FILENO);
		(void)dup2(STDERR_FILENO, STDOUT_FILENO); /* its words go to our log */
		execl(mortem, "mortem", "-c", config_path, "handover", "pipe", (char *)NULL);
		_exit(127);
	}
	if (pid < 0) {
		md_log(3, "core_pattern still names %s, and '%s handover pipe' cannot be run: %s", d->core_path, mortem,
		       strerror(errno));
		return;
	}
	/* SIGCHLD is blocked (signalfd): wait for it with a deadline by polling. */
	int64_t end = now_usec() + (int64_t)MD_HANDBACK_TIMEOUT_MS * 1000;
	pid_t w;
	while ((w = waitpid(pid, &st, WNOHANG)) == 0 && now_usec() < end)
		(void)usleep(20000);
	if (w == 0) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, &st, 0);
	}
	if (md_read_pattern(pat, sizeof(pat)) && !md_pattern_is(pat, d->core_path))
		md_log(6, "core_pattern handed back: '%s'", pat);
	else
		md_log(3, "core_pattern still names %s ('%s handover pipe' %s %d): crashes are lost until "
		       "mortemd runs again or core_pattern is set", d->core_path, mortem,
		       w == 0 ? "timed out, status" : WIFEXITED(st) ? "exited" : "killed by signal",
		       WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? WTERMSIG(st) : st);
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
	char pbuf[32], cbuf[32] = "unset: min(10% of RAM, 2G)";
	format_size(d.pool.n * (uint64_t)POOL_CHUNK, pbuf, sizeof(pbuf));
	if (d.cfg.pool_size)
		format_size(d.cfg.pool_size, cbuf, sizeof(cbuf));
	/* Said at start: the pool is resident memory for as long as mortemd runs. */
	md_log(6, "pool %s faulted in in %lld ms (PoolSize=%s)", pbuf, (long long)((now_usec() - t) / 1000), cbuf);

	/* What a killed predecessor or collector left: its leftovers go first. */
	struct store *st = &d.st;
	if (store_init(st, d.cfg.store_path) >= 0 && store_mkdirs(st) >= 0) {
		struct policy_limits lim;
		quota_limits(st, &d.cfg, &lim);
		d.keep_free = lim.keep_free;
		d.spool_dir = st->spool_dir;
		sqlite3 *db = NULL;
		stop_resume(&d, st);
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
	stop_reanalyze_start(&d);
	(void)sd_notify(0, "READY=1");
	status_update(&d, true);
	r = md_loop(&d);
	md_stop_listening(&d);
	md_handback(&d, config_path);
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
