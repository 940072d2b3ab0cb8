/* The workers: a queue of released crashes, a forked worker each (the
 * collector's pipeline, collect_run), at most MaxConcurrent= at once and at a
 * lower priority unless the process still waits for it (inline; idle while
 * cores are read); reaping
 * them, and giving back the pool's chunks as soon as each is done with
 * them. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "collect/collect.h"
#include "core/spill.h"
#include "daemon/md.h"
#include "daemon/pool.h"
#include "store/park.h"

/* In a worker: the stopping daemon's SIGTERM, which cuts the analysis short
 * (collect_source.cut). The daemon sets its own copy once its stop cannot
 * wait, so that workers forked after that start cut. */
volatile sig_atomic_t worker_cut;

static void worker_on_cut(int sig)
{
	(void)sig;
	worker_cut = 1;
}

void worker_queue(struct md *d, struct md_crash *c)
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
static void worker_capture_close(struct crash_capture *cap)
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
void worker_close_others(struct md *d, struct md_crash *self)
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
			worker_capture_close(&o->cap);
	}
	/* (A spill file is freed when its last descriptor is closed.) */
	for (struct md_crash *o = d->queue_head; o; o = o->next) {
		if (o == self)
			continue;
		if (o->captured)
			worker_capture_close(&o->cap);
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
			worker_capture_close(&o->cap);
	}
}

/* In a child (worker, re-analysis): the daemon decides when a stop cuts the
 * work short, and SIGTERM from it says so (worker_cut; restarting what it
 * interrupts); a ^C meant for a foreground mortemd does not kill it. Then the
 * signals the daemon blocks for its signalfd are let through. */
void worker_child_signals(void)
{
	struct sigaction cut = { .sa_handler = worker_on_cut, .sa_flags = SA_RESTART };
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
static void worker_started_free(struct md_crash *c)
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
int worker_start(struct md *d, struct md_crash *c)
{
	int pp[2];
	if (pipe2(pp, O_CLOEXEC) < 0)
		return -errno;
	bool reading = false;
	for (size_t i = 0; i < MD_CONN_MAX && !reading; i++)
		reading = d->conns[i] && d->conns[i] != c;
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
		worker_close_others(d, c);
		worker_child_signals();
		if (c->fd < 0)
			/* Background, below everything interactive; and while
			 * cores are being read (a storm), only the CPU time
			 * nobody else wants: the kernel writing the cores and
			 * this daemon reading them come first. Not idle once
			 * nothing is read: on a busy machine an idle-class
			 * worker waits behind every other program while its
			 * crash stays unlisted (BENCHMARKS.md, "Storm: time
			 * to listed"). */
			lower_priority(reading);
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
					      .held_usec = c->held_usec, .pool_fd = pp[1], .cut = &worker_cut,
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
	 * crash (stop_park_running); an inline worker holds the process, which
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
		worker_started_free(c);
	for (size_t i = 0; i < MD_CONN_MAX; i++)
		if (!d->running[i]) {
			d->running[i] = c;
			break;
		}
	d->n_running++;
	return 0;
}

void worker_start_queued(struct md *d)
{
	if (d->stopping && now_usec() >= d->park_at) {
		if (d->queue_head)
			stop_park_queue(d);
		if (!d->parked_running)
			stop_park_running(d);
	}
	while (d->queue_head && d->n_running < d->max_workers) {
		struct md_crash *c = d->queue_head;
		d->queue_head = c->next;
		if (!d->queue_head)
			d->queue_tail = NULL;
		if (worker_start(d, c) < 0) {
			/* Try again on the next turn. */
			c->next = d->queue_head;
			d->queue_head = c;
			if (!d->queue_tail)
				d->queue_tail = c;
			return;
		}
	}
}

static struct md_crash **worker_running_slot(struct md *d, pid_t pid)
{
	for (size_t i = 0; i < MD_CONN_MAX; i++)
		if (d->running[i] && d->running[i]->worker == pid)
			return &d->running[i];
	return NULL;
}

void worker_reap(struct md *d)
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
		struct md_crash **slot = worker_running_slot(d, pid);
		if (!slot)
			continue;
		struct md_crash *c = *slot;
		*slot = NULL;
		d->n_running--;
		if (c->kill_to_park) {
			stop_park_reaped(d, c);
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
 * worker killed to be parked keeps them until it is reaped (worker_reap). */
void worker_pool_done(struct md *d, struct md_crash *c)
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
	worker_started_free(c);
	md_spill_done(d, c);
}
