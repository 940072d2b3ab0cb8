/* zstd streaming compression and decompression between file descriptors.
 * Memory is bounded by zstd's window and two fixed buffers, never by the input. */
#include <zstd.h>

#include "base/util.h"
#include "core/zst.h"

struct zst_writer {
	ZSTD_CCtx *cctx;
	int fd; /* not owned */
	uint64_t bytes_in, bytes_out;
	size_t out_cap;
	unsigned char *out;
};

int zst_writer_new(int out_fd, int level, int threads, struct zst_writer **ret)
{
	struct zst_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = out_fd;
	w->out_cap = ZSTD_CStreamOutSize();
	w->out = malloc(w->out_cap);
	w->cctx = ZSTD_createCCtx();
	if (!w->out || !w->cctx) {
		zst_writer_free(w);
		return -ENOMEM;
	}
	if (zst_writer_set_level(w, level) < 0 ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1))) {
		zst_writer_free(w);
		return -EINVAL;
	}
	/* Workers are optional: a libzstd built without threads refuses them. */
	if (threads > 0)
		(void)ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_nbWorkers, threads);
	*ret = w;
	return 0;
}

int zst_writer_set_level(struct zst_writer *w, int level)
{
	if (w->bytes_in > 0 || w->bytes_out > 0)
		return -EBUSY;
	if (level < ZSTD_minCLevel())
		level = ZSTD_minCLevel();
	if (level > ZSTD_maxCLevel())
		level = ZSTD_maxCLevel();
	return ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level)) ? -EINVAL : 0;
}

static int zst_writer_run(struct zst_writer *w, const void *buf, size_t len, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { buf, len, 0 };
	for (;;) {
		ZSTD_outBuffer out = { w->out, w->out_cap, 0 };
		size_t rem = ZSTD_compressStream2(w->cctx, &out, &in, mode);
		if (ZSTD_isError(rem))
			return -EIO;
		if (out.pos > 0) {
			int r = write_all(w->fd, w->out, out.pos);
			if (r < 0)
				return r;
			w->bytes_out += out.pos;
		}
		if (mode == ZSTD_e_end ? rem == 0 : in.pos == in.size)
			break;
	}
	w->bytes_in += len;
	return 0;
}

int zst_writer_write(struct zst_writer *w, const void *buf, size_t len)
{
	return zst_writer_run(w, buf, len, ZSTD_e_continue);
}

int zst_writer_finish(struct zst_writer *w)
{
	return zst_writer_run(w, NULL, 0, ZSTD_e_end);
}

uint64_t zst_writer_bytes_in(const struct zst_writer *w) { return w->bytes_in; }
uint64_t zst_writer_bytes_out(const struct zst_writer *w) { return w->bytes_out; }

void zst_writer_free(struct zst_writer *w)
{
	if (!w)
		return;
	ZSTD_freeCCtx(w->cctx);
	free(w->out);
	free(w);
}

/* Decompress in_fd; each output chunk goes to sink(). */
typedef int (*zst_sink_fn)(void *userdata, const void *buf, size_t len);

static int zst_decompress_each(int in_fd, zst_sink_fn sink, void *userdata, uint64_t *ret_bytes)
{
	size_t in_cap = ZSTD_DStreamInSize(), out_cap = ZSTD_DStreamOutSize();
	_cleanup_free_ unsigned char *inb = malloc(in_cap);
	_cleanup_free_ unsigned char *outb = malloc(out_cap);
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	uint64_t total = 0;
	size_t last = 0;
	bool any = false;
	int r = 0;

	if (!inb || !outb || !dctx) {
		ZSTD_freeDCtx(dctx);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(in_fd, inb, in_cap);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		any = true;
		ZSTD_inBuffer in = { inb, (size_t)n, 0 };
		while (in.pos < in.size) {
			ZSTD_outBuffer out = { outb, out_cap, 0 };
			last = ZSTD_decompressStream(dctx, &out, &in);
			if (ZSTD_isError(last)) {
				r = -EBADMSG;
				goto out;
			}
			if (out.pos > 0) {
				r = sink(userdata, outb, out.pos);
				if (r < 0)
					goto out;
				total += out.pos;
			}
		}
	}
	/* last != 0 means the input ended inside a frame. */
	if (!any || last != 0)
		r = -EBADMSG;
	else if (ret_bytes)
		*ret_bytes = total;
out:
	ZSTD_freeDCtx(dctx);
	return r;
}

static int zst_sink_fd(void *userdata, const void *buf, size_t len)
{
	return write_all(*(int *)userdata, buf, len);
}

int zst_decompress_fd(int in_fd, int out_fd, uint64_t *ret_bytes)
{
	return zst_decompress_each(in_fd, zst_sink_fd, &out_fd, ret_bytes);
}

struct zst_recompress {
	struct zst_writer *w;
	const volatile sig_atomic_t *cut;
};

static int zst_sink_writer(void *userdata, const void *buf, size_t len)
{
	struct zst_recompress *rc = userdata;
	if (rc->cut && *rc->cut)
		return -EINTR;
	return zst_writer_write(rc->w, buf, len);
}

int zst_recompress_fd(int in_fd, int out_fd, int level, int threads, const volatile sig_atomic_t *cut,
		      uint64_t *ret_in, uint64_t *ret_out)
{
	struct zst_writer *w = NULL;
	uint64_t n = 0;
	int r = zst_writer_new(out_fd, level, threads, &w);
	if (r < 0)
		return r;
	struct zst_recompress rc = { .w = w, .cut = cut };
	r = zst_decompress_each(in_fd, zst_sink_writer, &rc, &n);
	if (r >= 0)
		r = zst_writer_finish(w);
	if (r >= 0) {
		if (ret_in)
			*ret_in = n;
		if (ret_out)
			*ret_out = zst_writer_bytes_out(w);
	}
	zst_writer_free(w);
	return r;
}
