/* What systemd hears from mortemd while it runs: WATCHDOG=1 at half the
 * watchdog's period, and a STATUS= line (receiving, queued, working; the
 * pool; the counts) at most once a second. */
#include <inttypes.h>
#include <systemd/sd-daemon.h>

#include "base/util.h"
#include "daemon/md.h"
#include "daemon/pool.h"

void status_update(struct md *d, bool force)
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
