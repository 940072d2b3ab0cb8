/* What every file of mortemd shares (md.h): its log, a crash's birth and
 * end, the table of connections, and a crash's bytes in the pool. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/util.h"
#include "daemon/md.h"
#include "daemon/pool.h"
#include "store/journal.h"
#include "store/park.h"

void md_log(int prio, const char *fmt, ...)
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
void md_spill_done(struct md *d, struct md_crash *c)
{
	d->spilling -= c->spill_promised < d->spilling ? c->spill_promised : d->spilling;
	c->spill_promised = 0;
}

void md_crash_free(struct md *d, struct md_crash *c)
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

int md_add_conn(struct md *d, struct md_crash *c)
{
	for (size_t i = 0; i < MD_CONN_MAX; i++)
		if (!d->conns[i]) {
			d->conns[i] = c;
			return 0;
		}
	return -ENOSPC;
}

void md_drop_conn(struct md *d, struct md_crash *c)
{
	for (size_t i = 0; i < MD_CONN_MAX; i++)
		if (d->conns[i] == c)
			d->conns[i] = NULL;
}

bool md_is_conn(const struct md *d, const struct md_crash *c)
{
	for (size_t i = 0; i < MD_CONN_MAX; i++)
		if (d->conns[i] == c)
			return true;
	return false;
}

bool md_room(const struct md *d)
{
	for (size_t i = 0; i < MD_CONN_MAX; i++)
		if (!d->conns[i])
			return true;
	return false;
}

struct md_crash *md_crash_new(const char *mode)
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

/* How many of c's bytes are in the pool. */
uint64_t md_pool_bytes(const struct md_crash *c)
{
	return c->n_chunks ? (uint64_t)(c->n_chunks - 1) * POOL_CHUNK + c->fill : 0;
}

/* c's bytes in the pool, in order: every chunk full but the last (the spill
 * holds what came after). A heap array of at least one entry, or NULL;
 * *ret_len (unless NULL): their sum. */
struct iovec *md_pool_iov(struct md *d, const struct md_crash *c, uint64_t *ret_len)
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
