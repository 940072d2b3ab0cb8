/* A stop, and the start after it. SIGTERM first lets the crashes in flight
 * finish; after ParkAfter= what is still queued, or still compressing from
 * the pool, is parked in the spool (store/park.h) and the other workers cut
 * their analysis short. The next start queues the parked crashes again and
 * analyses again, in a child, what was cut short (store/reanalyze.h). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/util.h"
#include "daemon/md.h"
#include "daemon/pool.h"
#include "store/park.h"
#include "store/reanalyze.h"
#include "store/store.h"

/* Writing pool_bytes to the spool keeps KeepFree= on its file system (a
 * parked spill is only named: it takes no more room). */
static int stop_park_room(const struct md *d, uint64_t pool_bytes)
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
static int stop_park(struct md *d, struct md_crash *c)
{
	if (c->resumed)
		return 0; /* still parked: its files stay for the next start */
	if (c->fd >= 0 || !c->captured || !d->spool_dir)
		return -EINVAL;
	uint64_t pool_bytes;
	int r = stop_park_room(d, md_pool_bytes(c));
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
void stop_park_queue(struct md *d)
{
	struct md_crash *c = d->queue_head, *next;
	unsigned long n = 0;
	d->queue_head = d->queue_tail = NULL;
	for (; c; c = next) {
		next = c->next;
		int r = c->no_park ? -EAGAIN : stop_park(d, c);
		if (r >= 0) {
			n++;
			md_crash_free(d, c);
			continue;
		}
		if (!c->no_park)
			md_log(4, "pid %d: cannot park the crash (%s): finishing it before stopping", (int)c->args.pid,
			       strerror(-r));
		c->no_park = true;
		worker_queue(d, c);
	}
	if (n) {
		d->parked += n;
		md_log(6, "stopping: parked %lu crash(es) in %s for the next start", n, d->spool_dir);
	}
}

/* The stop's ParkAfter= is over for the running workers too. One that still
 * reads the pool (compressing) is killed, and its crash parked once it is
 * reaped (stop_park_reaped). The others, past the pool (analysing) or holding
 * the process (inline), are told to cut their analysis short and skip the
 * recompression (SIGTERM: worker_cut): their crash is stored all the same. */
void stop_park_running(struct md *d)
{
	unsigned long killed = 0, cut = 0;
	d->parked_running = true;
	worker_cut = 1; /* workers forked from now on start cut */
	for (size_t i = 0; i < MD_CONN_MAX; i++) {
		struct md_crash *c = d->running[i];
		if (!c)
			continue;
		if (!c->inline_worker && c->pool_rd >= 0 && !c->no_park && (c->captured || c->resumed) &&
		    stop_park_room(d, c->resumed ? 0 : md_pool_bytes(c)) >= 0) {
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

/* A worker the stop killed (stop_park_running) is gone: what it had begun is
 * removed, and its crash is parked, unless the worker stored it first. A park
 * that fails puts the crash back in the queue, finished from the start. */
void stop_park_reaped(struct md *d, struct md_crash *c)
{
	c->kill_to_park = false;
	c->worker = 0;
	if (c->pool_rd >= 0)
		(void)close(c->pool_rd);
	c->pool_rd = -1;
	bool stored = !d->st.root || store_discard_work(&d->st, c->cap.id);
	int r = stored ? 0 : stop_park(d, c);
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
	worker_queue(d, c);
}

/* At start: queue what an earlier stop parked (park.h), before the leftovers
 * are judged: their locks are taken here. A parked crash that cannot be read
 * back loses its parked files, and its pending note then makes it "lost". */
void stop_resume(struct md *d, const struct store *st)
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
		worker_queue(d, c);
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
void stop_reanalyze_start(struct md *d)
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
		worker_close_others(d, NULL);
		/* The analysis child's MaxMemory= must not count the pool. */
		(void)munmap(d->pool.base, d->pool.n * (size_t)POOL_CHUNK);
		worker_child_signals();
		lower_priority(true);
		unsigned long done = 0;
		for (size_t i = 0; i < n && !worker_cut; i++) {
			const char *status = NULL;
			int r = reanalyze_crash(&d->cfg, &d->st, ids[i], &worker_cut, &status);
			if (r == -ENOENT || r == -ENODATA || (r >= 0 && !worker_cut)) {
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
