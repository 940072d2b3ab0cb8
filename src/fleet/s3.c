/* S3 over libcurl. Policy: a request is retried (S3_TRIES, doubling backoff)
 * only when another attempt can succeed: transport errors, timeouts, 5xx, 408
 * and 429; a 403 or 404 is an answer. Bodies always come from memory (a whole
 * small object, or one part), so a retry re-sends the same bytes with the
 * same Content-MD5. Every request carries x-amz-content-sha256:
 * UNSIGNED-PAYLOAD (curl 7.88's SigV4 needs the header, and the payload is
 * protected by Content-MD5 instead), and query strings are written sorted and
 * encoded as SigV4 canonicalises them ("?uploads=", "%2F"), since libcurl signs
 * them as written. */
#include <curl/curl.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/util.h"
#include "fleet/md5.h"
#include "fleet/s3.h"

static void s3_seterr(struct s3 *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s3_seterr(struct s3 *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
}

/* ---- credentials ---- */

static char *s3_trim(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		p[--n] = '\0';
	return p;
}

int s3_creds_load(const char *path, bool allow_env, char **ret_id, char **ret_secret)
{
	_cleanup_free_ char *buf = NULL, *id = NULL, *secret = NULL;
	_cleanup_close_ int fd = -1;
	const char *eid = allow_env ? getenv("AWS_ACCESS_KEY_ID") : NULL;
	const char *esec = allow_env ? getenv("AWS_SECRET_ACCESS_KEY") : NULL;
	struct stat sb;
	size_t len;
	bool trunc;
	int r;

	if (eid && *eid && esec && *esec) {
		id = strdup(eid);
		secret = strdup(esec);
		if (!id || !secret)
			return -ENOMEM;
		*ret_id = TAKE_PTR(id);
		*ret_secret = TAKE_PTR(secret);
		return 0;
	}
	if (!path || !*path)
		return -ENOKEY;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? -ENOKEY : -errno;
	if (fstat(fd, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode) || sb.st_uid != 0 || (sb.st_mode & 077) != 0)
		return -EPERM;
	r = read_fd_capped(fd, S3_CREDS_FILE_MAX, &buf, &len, &trunc);
	if (r < 0)
		return r;
	if (trunc)
		return -EFBIG;
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = s3_trim(line), *eq;
		if (*p == '#' || *p == ';' || *p == '[' || !(eq = strchr(p, '=')))
			continue;
		*eq = '\0';
		char *k = s3_trim(p), *v = s3_trim(eq + 1);
		char **dst = strcmp(k, "aws_access_key_id") == 0 ? &id
			     : strcmp(k, "aws_secret_access_key") == 0 ? &secret : NULL;
		if (!dst || !*v)
			continue;
		free(*dst);
		if (!(*dst = strdup(v)))
			return -ENOMEM;
	}
	if (!id || !secret)
		return -ENOKEY;
	*ret_id = TAKE_PTR(id);
	*ret_secret = TAKE_PTR(secret);
	return 0;
}

/* ---- set-up ---- */

int s3_init(struct s3 *s, const char *endpoint, const char *bucket, const char *region, const char *key_id,
	    const char *secret)
{
	*s = (struct s3){ .backoff_ms = S3_BACKOFF_MS, .low_speed_sec = S3_LOW_SPEED_SEC };
	if (!endpoint || (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0) ||
	    !bucket || !*bucket || !key_id || !secret)
		return -EINVAL;
	static bool global;
	if (!global) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -ENOMEM;
		global = true;
	}
	s->endpoint = strdup(endpoint);
	s->bucket = strdup(bucket);
	s->region = strdup(region && *region ? region : "us-east-1");
	s->key_id = strdup(key_id);
	s->secret = strdup(secret);
	s->curl = curl_easy_init();
	if (!s->endpoint || !s->bucket || !s->region || !s->key_id || !s->secret || !s->curl) {
		s3_free(s);
		return -ENOMEM;
	}
	size_t n = strlen(s->endpoint);
	while (n > 0 && s->endpoint[n - 1] == '/')
		s->endpoint[--n] = '\0';
	return 0;
}

void s3_free(struct s3 *s)
{
	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	free(s->endpoint);
	free(s->bucket);
	free(s->region);
	free(s->key_id);
	if (s->secret)
		explicit_bzero(s->secret, strlen(s->secret));
	free(s->secret);
	*s = (struct s3){ 0 };
}

bool s3_key_valid(const char *key)
{
	size_t n = key ? strlen(key) : 0;
	if (n == 0 || n > S3_KEY_MAX || key[0] == '/' || strstr(key, "//") || strstr(key, ".."))
		return false;
	return strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-") == n;
}

/* A query value as SigV4 canonicalises it: all but unreserved characters
 * percent-encoded ('/' too). */
static char *s3_qenc(const char *v)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(3 * strlen(v) + 1), *o = out;
	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

/* ---- one request ---- */

struct s3_req {
	const char *method; /* GET PUT POST DELETE */
	const char *key;    /* NULL: the bucket */
	const char *query;  /* already sorted and encoded, without '?'; may be NULL */
	const uint8_t *body;
	size_t body_len;
	bool md5;           /* send Content-MD5 of the body */
	int out_fd;         /* >= 0: a 2xx answer's body goes there (from offset 0, retries restart it) */
	uint64_t out_cap;
	/* results */
	char *resp;         /* answer body (not with out_fd), NUL-terminated, capped */
	size_t resp_len;
	uint64_t out_bytes;
	bool out_over;
	char etag[128];
};

struct s3_io {
	struct s3_req *q;
	size_t off;         /* of the body sent */
	long status;
};

static size_t s3_read_cb(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct s3_io *io = ud;
	size_t want = size * nmemb, left = io->q->body_len - io->off;
	size_t n = want < left ? want : left;
	memcpy(buf, io->q->body + io->off, n);
	io->off += n;
	return n;
}

static size_t s3_write_cb(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct s3_io *io = ud;
	struct s3_req *q = io->q;
	size_t n = size * nmemb;

	if (q->out_fd >= 0 && io->status >= 200 && io->status < 300) {
		if (q->out_bytes + n > q->out_cap) {
			q->out_over = true;
			return 0;
		}
		if (write_all(q->out_fd, buf, n) < 0)
			return 0;
		q->out_bytes += n;
		return n;
	}
	size_t room = S3_RESPONSE_MAX - q->resp_len;
	size_t take = n < room ? n : room;
	if (take > 0) {
		char *grown = realloc(q->resp, q->resp_len + take + 1);
		if (!grown)
			return 0;
		q->resp = grown;
		memcpy(q->resp + q->resp_len, buf, take);
		q->resp_len += take;
		q->resp[q->resp_len] = '\0';
	}
	return n;
}

static size_t s3_header_cb(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct s3_io *io = ud;
	size_t n = size * nmemb;

	/* A new status line (100 Continue, then the answer) starts over. */
	if (n > 5 && strncmp(buf, "HTTP/", 5) == 0) {
		const char *sp = memchr(buf, ' ', n);
		io->status = sp ? strtol(sp + 1, NULL, 10) : 0;
	} else if (n > 5 && strncasecmp(buf, "etag:", 5) == 0) {
		size_t i = 5, j = n;
		while (i < n && (buf[i] == ' ' || buf[i] == '\t'))
			i++;
		while (j > i && (buf[j - 1] == '\r' || buf[j - 1] == '\n' || buf[j - 1] == ' '))
			j--;
		if (j - i < sizeof(io->q->etag)) {
			memcpy(io->q->etag, buf + i, j - i);
			io->q->etag[j - i] = '\0';
		}
	}
	return n;
}

/* "<Code>X</Code>" of an S3 error answer, into buf. */
static const char *s3_error_code(const char *resp, char *buf, size_t len)
{
	const char *a = resp ? strstr(resp, "<Code>") : NULL, *b = a ? strstr(a, "</Code>") : NULL;
	if (!a || !b || (size_t)(b - a - 6) >= len)
		return "";
	memcpy(buf, a + 6, (size_t)(b - a - 6));
	buf[b - a - 6] = '\0';
	return buf;
}

static int s3_status_errno(long st)
{
	return st == 404 ? -ENOENT : st == 401 || st == 403 ? -EACCES : -EIO;
}

static bool s3_retryable(CURLcode cc, long st)
{
	if (cc != CURLE_OK)
		return true;
	return st >= 500 || st == 408 || st == 429;
}

static int s3_curl_errno(CURLcode cc)
{
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST: return -EHOSTUNREACH;
	case CURLE_OUT_OF_MEMORY: return -ENOMEM;
	default: return -EIO;
	}
}

static int s3_attempt(struct s3 *s, struct s3_req *q, const char *url, struct curl_slist *hdrs, long *ret_status,
		      CURLcode *ret_cc)
{
	CURL *c = s->curl;
	struct s3_io io = { .q = q };
	char sigv4[128];

	free(q->resp);
	q->resp = NULL;
	q->resp_len = 0;
	q->etag[0] = '\0';
	q->out_bytes = 0;
	q->out_over = false;
	if (q->out_fd >= 0 && (ftruncate(q->out_fd, 0) < 0 || lseek(q->out_fd, 0, SEEK_SET) < 0))
		return -errno;
	snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", s->region);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4);
	curl_easy_setopt(c, CURLOPT_USERNAME, s->key_id);
	curl_easy_setopt(c, CURLOPT_PASSWORD, s->secret);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)S3_CONNECT_TIMEOUT_SEC);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, (long)S3_LOW_SPEED_BYTES);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)s->low_speed_sec);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s3_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &io);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s3_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &io);
	if (strcmp(q->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, s3_read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, &io);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body_len);
	} else if (strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body ? (const char *)q->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
	} else if (strcmp(q->method, "DELETE") == 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
	CURLcode cc = curl_easy_perform(c);
	long st = 0;
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	*ret_status = st;
	*ret_cc = cc;
	if (q->out_over)
		return -EFBIG;
	return 0;
}

static int s3_request(struct s3 *s, struct s3_req *q)
{
	_cleanup_free_ char *url = NULL;
	struct curl_slist *hdrs = NULL, *h;
	char md5h[64];
	int r = 0;

	if (q->key && !s3_key_valid(q->key)) {
		s3_seterr(s, "invalid object key '%s'", q->key);
		return -EINVAL;
	}
	if (asprintf(&url, "%s/%s%s%s%s%s", s->endpoint, s->bucket, q->key ? "/" : "", q->key ? q->key : "",
		     q->query ? "?" : "", q->query ? q->query : "") < 0) {
		url = NULL;
		return -ENOMEM;
	}
	h = curl_slist_append(hdrs, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	if (h)
		hdrs = h;
	/* No "Expect:" line to suppress libcurl's 100-continue: libcurl's SigV4
	 * would sign it, and the gateway (which never sees it) then computes
	 * another signature. */
	if (h && q->md5) {
		char b64[25];
		md5_base64(q->body ? q->body : (const uint8_t *)"", q->body_len, b64);
		snprintf(md5h, sizeof(md5h), "Content-MD5: %s", b64);
		if ((h = curl_slist_append(hdrs, md5h)))
			hdrs = h;
	}
	if (!h) {
		curl_slist_free_all(hdrs);
		return -ENOMEM;
	}
	unsigned wait_ms = s->backoff_ms;
	for (unsigned attempt = 1;; attempt++) {
		CURLcode cc = CURLE_OK;
		long st = 0;
		r = s3_attempt(s, q, url, hdrs, &st, &cc);
		s->status = st;
		if (r < 0) {
			s3_seterr(s, "%s %s: %s", q->method, q->key ? q->key : s->bucket,
				  r == -EFBIG ? "answer larger than allowed" : strerror(-r));
			break;
		}
		if (cc == CURLE_OK && st >= 200 && st < 300) {
			/* CompleteMultipartUpload may fail after its 200 has gone out. */
			if (q->resp && strstr(q->resp, "<Error>")) {
				char code[64];
				s3_seterr(s, "%s %s: %s", q->method, q->key ? q->key : s->bucket,
					  s3_error_code(q->resp, code, sizeof(code)));
				r = -EIO;
			}
			break;
		}
		if (cc != CURLE_OK) {
			s3_seterr(s, "%s %s: %s (curl %d)", q->method, q->key ? q->key : s->bucket,
				  curl_easy_strerror(cc), (int)cc);
			r = s3_curl_errno(cc);
		} else {
			char code[64];
			s3_seterr(s, "%s %s: HTTP %ld %s", q->method, q->key ? q->key : s->bucket, st,
				  s3_error_code(q->resp, code, sizeof(code)));
			r = s3_status_errno(st);
		}
		if (attempt >= S3_TRIES || !s3_retryable(cc, st))
			break;
		s->retries++;
		struct timespec ts = { .tv_sec = wait_ms / 1000, .tv_nsec = (long)(wait_ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		wait_ms *= 2;
	}
	curl_slist_free_all(hdrs);
	return r;
}

/* ---- objects ---- */

int s3_put(struct s3 *s, const char *key, const void *buf, size_t len)
{
	struct s3_req q = { .method = "PUT", .key = key, .body = buf, .body_len = len, .md5 = true, .out_fd = -1 };
	int r = s3_request(s, &q);
	free(q.resp);
	return r;
}

/* Read exactly len bytes at off (the file does not change under us: stored
 * cores are immutable). */
static int s3_pread_full(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		got += (size_t)n;
	}
	return 0;
}

/* "<Tag>value</Tag>" of an XML answer, heap. */
static char *s3_xml_value(const char *xml, const char *tag, const char **after)
{
	char open[64], close[64];
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	const char *a = xml ? strstr(xml, open) : NULL, *b;
	if (!a)
		return NULL;
	a += strlen(open);
	if (!(b = strstr(a, close)))
		return NULL;
	if (after)
		*after = b + strlen(close);
	return strndup(a, (size_t)(b - a));
}

static int s3_multipart(struct s3 *s, const char *key, int fd, uint64_t size, unsigned *ret_parts)
{
	_cleanup_free_ char *upload_id = NULL, *id_enc = NULL, *xml = NULL, *buf = NULL;
	uint64_t nparts = (size + S3_PART_SIZE - 1) / S3_PART_SIZE;
	size_t xml_len = 0, xml_cap;
	char query[512];
	int r;

	if (nparts > S3_PARTS_MAX) {
		s3_seterr(s, "PUT %s: %llu bytes need more than %u parts", key, (unsigned long long)size,
			  S3_PARTS_MAX);
		return -EFBIG;
	}
	struct s3_req q = { .method = "POST", .key = key, .query = "uploads=", .out_fd = -1 };
	r = s3_request(s, &q);
	if (r >= 0 && !(upload_id = s3_xml_value(q.resp, "UploadId", NULL))) {
		s3_seterr(s, "POST %s?uploads=: no UploadId in the answer", key);
		r = -EIO;
	}
	free(q.resp);
	if (r < 0)
		return r;
	if (!(id_enc = s3_qenc(upload_id)) || !(buf = malloc(S3_PART_SIZE)))
		return -ENOMEM;
	/* The completion list: ~100 bytes per part. */
	xml_cap = 128 + (size_t)nparts * 160;
	if (!(xml = malloc(xml_cap)))
		return -ENOMEM;
	xml_len = (size_t)snprintf(xml, xml_cap, "<CompleteMultipartUpload>");
	for (uint64_t part = 1, off = 0; r >= 0 && off < size; part++, off += S3_PART_SIZE) {
		size_t n = size - off < S3_PART_SIZE ? (size_t)(size - off) : S3_PART_SIZE;
		r = s3_pread_full(fd, (uint8_t *)buf, n, off);
		if (r < 0) {
			s3_seterr(s, "reading part %llu of %s: %s", (unsigned long long)part, key, strerror(-r));
			break;
		}
		snprintf(query, sizeof(query), "partNumber=%llu&uploadId=%s", (unsigned long long)part, id_enc);
		struct s3_req p = { .method = "PUT", .key = key, .query = query, .body = (uint8_t *)buf,
				    .body_len = n, .md5 = true, .out_fd = -1 };
		r = s3_request(s, &p);
		free(p.resp);
		if (r >= 0 && !p.etag[0]) {
			s3_seterr(s, "PUT %s part %llu: no ETag in the answer", key, (unsigned long long)part);
			r = -EIO;
		}
		if (r >= 0)
			xml_len += (size_t)snprintf(xml + xml_len, xml_cap - xml_len,
						    "<Part><PartNumber>%llu</PartNumber><ETag>%s</ETag></Part>",
						    (unsigned long long)part, p.etag);
	}
	if (r >= 0) {
		xml_len += (size_t)snprintf(xml + xml_len, xml_cap - xml_len, "</CompleteMultipartUpload>");
		snprintf(query, sizeof(query), "uploadId=%s", id_enc);
		struct s3_req c = { .method = "POST", .key = key, .query = query, .body = (uint8_t *)xml,
				    .body_len = xml_len, .md5 = true, .out_fd = -1 };
		r = s3_request(s, &c);
		free(c.resp);
	}
	if (r < 0) {
		/* Best effort: the parts would otherwise wait for the bucket's
		 * lifecycle rules. The first error is the one kept. */
		char saved[sizeof(s->error)];
		long st = s->status;
		memcpy(saved, s->error, sizeof(saved));
		snprintf(query, sizeof(query), "uploadId=%s", id_enc);
		struct s3_req d = { .method = "DELETE", .key = key, .query = query, .out_fd = -1 };
		(void)s3_request(s, &d);
		free(d.resp);
		memcpy(s->error, saved, sizeof(saved));
		s->status = st;
		return r;
	}
	if (ret_parts)
		*ret_parts = (unsigned)nparts;
	return 0;
}

int s3_put_fd(struct s3 *s, const char *key, int fd, uint64_t size, unsigned *ret_parts)
{
	if (size > S3_PART_SIZE)
		return s3_multipart(s, key, fd, size, ret_parts);
	_cleanup_free_ uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	int r = s3_pread_full(fd, buf, (size_t)size, 0);
	if (r < 0) {
		s3_seterr(s, "reading %s: %s", key, strerror(-r));
		return r;
	}
	r = s3_put(s, key, buf, (size_t)size);
	if (r >= 0 && ret_parts)
		*ret_parts = 0;
	return r;
}

int s3_get(struct s3 *s, const char *key, size_t cap, char **ret, size_t *ret_len)
{
	struct s3_req q = { .method = "GET", .key = key, .out_fd = -1 };
	int r = s3_request(s, &q);
	if (r >= 0 && q.resp_len > cap) {
		s3_seterr(s, "GET %s: larger than %zu bytes", key, cap);
		r = -EFBIG;
	}
	if (r < 0) {
		free(q.resp);
		return r;
	}
	if (!q.resp && !(q.resp = strdup("")))
		return -ENOMEM;
	*ret = q.resp;
	if (ret_len)
		*ret_len = q.resp_len;
	return 0;
}

int s3_get_fd(struct s3 *s, const char *key, int fd, uint64_t cap, uint64_t *ret_bytes)
{
	struct s3_req q = { .method = "GET", .key = key, .out_fd = fd, .out_cap = cap };
	int r = s3_request(s, &q);
	free(q.resp);
	if (r >= 0 && ret_bytes)
		*ret_bytes = q.out_bytes;
	return r;
}

void s3_keys_free(char **keys, size_t n)
{
	for (size_t i = 0; keys && i < n; i++)
		free(keys[i]);
	free(keys);
}

int s3_list(struct s3 *s, const char *prefix, size_t max, char ***ret_keys, size_t *ret_n, bool *ret_capped)
{
	_cleanup_free_ char *penc = s3_qenc(prefix ? prefix : ""), *token = NULL;
	char **keys = NULL;
	size_t n = 0;
	bool capped = false;
	int r = 0;

	if (!penc)
		return -ENOMEM;
	for (;;) {
		_cleanup_free_ char *query = NULL, *tenc = token ? s3_qenc(token) : NULL;
		if (token && !tenc)
			return s3_keys_free(keys, n), -ENOMEM;
		if (asprintf(&query, "%s%s%slist-type=2&prefix=%s", tenc ? "continuation-token=" : "",
			     tenc ? tenc : "", tenc ? "&" : "", penc) < 0) {
			query = NULL;
			r = -ENOMEM;
			break;
		}
		struct s3_req q = { .method = "GET", .query = query, .out_fd = -1 };
		r = s3_request(s, &q);
		const char *p = q.resp;
		char *k;
		while (r >= 0 && p && (k = s3_xml_value(p, "Key", &p))) {
			if (n >= max) {
				free(k);
				capped = true;
				break;
			}
			char **grown = realloc(keys, (n + 1) * sizeof(*keys));
			if (!grown) {
				free(k);
				r = -ENOMEM;
				break;
			}
			keys = grown;
			keys[n++] = k;
		}
		free(token);
		token = NULL;
		char *trunc = r >= 0 && !capped ? s3_xml_value(q.resp, "IsTruncated", NULL) : NULL;
		if (trunc && strcmp(trunc, "true") == 0)
			token = s3_xml_value(q.resp, "NextContinuationToken", NULL);
		free(trunc);
		free(q.resp);
		if (r < 0 || !token)
			break;
	}
	if (r < 0) {
		s3_keys_free(keys, n);
		return r;
	}
	*ret_keys = keys;
	*ret_n = n;
	if (ret_capped)
		*ret_capped = capped;
	return 0;
}
