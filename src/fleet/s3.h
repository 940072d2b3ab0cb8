/* A small S3 client over libcurl: path-style requests signed with libcurl's
 * own SigV4 (CURLOPT_AWS_SIGV4; no signing code here), Content-MD5 on every
 * body, bounded retries with backoff, and multipart uploads streamed from a
 * file through one part-sized buffer (memory never grows with the object).
 *
 * Errors: -ENOENT 404, -EACCES 401/403, -EIO other HTTP errors (5xx after the
 * retries), -ETIMEDOUT, -ECONNREFUSED / -EHOSTUNREACH for transport errors,
 * -EFBIG over a cap; s3->error says what, for the caller's one log line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define S3_PART_SIZE (16u << 20)      /* multipart part size, and the one upload buffer */
#define S3_PARTS_MAX 10000            /* S3's limit: objects up to 156 GiB at 16 MiB parts */
#define S3_TRIES 4                    /* attempts per request on transport errors, 5xx, 408, 429 */
#define S3_BACKOFF_MS 500             /* before the 2nd attempt; doubled each time (0.5, 1, 2 s) */
#define S3_CONNECT_TIMEOUT_SEC 10
#define S3_LOW_SPEED_BYTES 1024       /* a transfer slower than this ... */
#define S3_LOW_SPEED_SEC 30           /* ... for this long is cut (a hung gateway) */
#define S3_RESPONSE_MAX (1u << 20)    /* bytes of an error or XML answer kept */
#define S3_KEY_MAX 1024
#define S3_CREDS_FILE_MAX 4096
#define S3_LIST_MAX 100000            /* keys one s3_list returns at most */

struct s3 {
	char *endpoint, *bucket, *region, *key_id, *secret;
	void *curl;          /* CURL *, reused so that connections are */
	long status;         /* HTTP status of the last request (0: none) */
	unsigned retries;    /* attempts beyond the first, over the object's life */
	unsigned backoff_ms; /* S3_BACKOFF_MS; tests shorten it */
	unsigned low_speed_sec; /* S3_LOW_SPEED_SEC; likewise */
	char error[256];     /* the last failure, for messages */
};

/* AWS-style keys: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when both are
 * set (allow_env), else the file at path ("aws_access_key_id = ..." and
 * "aws_secret_access_key = ..." lines, an optional [default] header,
 * '#'/';' comments). The file must be a regular file owned by root and not
 * readable by group or others: -EPERM otherwise (the keys give write access
 * to every crash of the fleet). -ENOKEY when neither gives both keys. */
int s3_creds_load(const char *path, bool allow_env, char **ret_id, char **ret_secret);

/* endpoint: http(s)://host[:port] (a trailing '/' is dropped). */
int s3_init(struct s3 *s, const char *endpoint, const char *bucket, const char *region, const char *key_id,
	    const char *secret);
void s3_free(struct s3 *s);

/* Keys are [A-Za-z0-9._/-], no leading '/', no "//", no "..", at most S3_KEY_MAX. */
bool s3_key_valid(const char *key);

int s3_put(struct s3 *s, const char *key, const void *buf, size_t len);
/* Upload size bytes of fd from offset 0: one PUT up to S3_PART_SIZE, else a
 * multipart upload (aborted on failure). *ret_parts (optional): parts sent,
 * 0 for a single PUT. */
int s3_put_fd(struct s3 *s, const char *key, int fd, uint64_t size, unsigned *ret_parts);
/* The object into a heap buffer (NUL-terminated) of at most cap bytes. */
int s3_get(struct s3 *s, const char *key, size_t cap, char **ret, size_t *ret_len);
/* The object written to fd, at most cap bytes (-EFBIG beyond). */
int s3_get_fd(struct s3 *s, const char *key, int fd, uint64_t cap, uint64_t *ret_bytes);
/* Keys under prefix, in the gateway's (lexical) order; pages followed up to
 * max keys (*ret_capped then). */
int s3_list(struct s3 *s, const char *prefix, size_t max, char ***ret_keys, size_t *ret_n, bool *ret_capped);
void s3_keys_free(char **keys, size_t n);
