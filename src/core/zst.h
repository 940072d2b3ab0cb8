/* zstd streaming compression into an fd, and decompression between fds. Memory
 * is bounded by zstd's window, never by the input size. */
#pragma once

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct zst_writer;

/* level: zstd level (negative = fast levels); threads: 0 = single-threaded. */
int zst_writer_new(int out_fd, int level, int threads, struct zst_writer **ret);
/* Change the level before the first byte (-EBUSY after it): the level can
 * depend on how the bytes came (read while the process waits, or after its
 * release), known only once the writer exists. */
int zst_writer_set_level(struct zst_writer *w, int level);
int zst_writer_write(struct zst_writer *w, const void *buf, size_t len);
/* End the frame and flush everything to out_fd. */
int zst_writer_finish(struct zst_writer *w);
uint64_t zst_writer_bytes_in(const struct zst_writer *w);
uint64_t zst_writer_bytes_out(const struct zst_writer *w);
void zst_writer_free(struct zst_writer *w);

/* Decompress all frames of in_fd into out_fd; *ret_bytes (optional) = bytes written.
 * Returns -EBADMSG on corrupt input. */
int zst_decompress_fd(int in_fd, int out_fd, uint64_t *ret_bytes);
/* Decompress in_fd and compress again at level into out_fd (after release).
 * -EINTR as soon as *cut is set (NULL: never): a stopping mortemd does not
 * wait for it, and out_fd holds a partial frame then. */
int zst_recompress_fd(int in_fd, int out_fd, int level, int threads, const volatile sig_atomic_t *cut,
		      uint64_t *ret_in, uint64_t *ret_out);
