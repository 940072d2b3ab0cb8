/* s3: MD5 against RFC 1321's test suite (Content-MD5 is what the gateway
 * checks every body against), key and credentials-file rules, and the retry
 * policy against a small HTTP server in a child: 5xx and refused connections
 * are retried a bounded number of times, 403 and 404 are answers, and a
 * multipart upload sends one part per S3_PART_SIZE with its own Content-MD5. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "fleet/md5.h"
#include "fleet/s3.h"
#include "testutil.h"

static void md5_hex(const void *buf, size_t len, char out[33])
{
	uint8_t d[16];
	struct md5 m;
	md5_init(&m);
	md5_update(&m, buf, len);
	md5_final(&m, d);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

START_TEST(test_md5_rfc1321)
{
	static const struct { const char *in, *hex; } v[] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a", "0cc175b9c0f1b6a831c399e269772661" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f" },
		{ "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
		  "57edf4a22be3c955ac49da2e2107b67a" },
	};
	char hex[33];
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		md5_hex(v[i].in, strlen(v[i].in), hex);
		ck_assert_str_eq(hex, v[i].hex);
	}
	/* A million 'a's, fed in uneven pieces: the block buffering. */
	char *a = malloc(1000000);
	ck_assert_ptr_nonnull(a);
	memset(a, 'a', 1000000);
	struct md5 m;
	uint8_t d[16];
	md5_init(&m);
	for (size_t off = 0, step = 1; off < 1000000; off += step, step = step * 7 % 997 + 1)
		md5_update(&m, a + off, off + step > 1000000 ? 1000000 - off : step);
	md5_final(&m, d);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	ck_assert_str_eq(hex, "7707d6ae4e027c70eea2a935c2296f21");
	free(a);
	char b64[25];
	md5_base64("", 0, b64);
	ck_assert_str_eq(b64, "1B2M2Y8AsgTpgAmY7PhCfg==");
	md5_base64("hello", 5, b64);
	ck_assert_str_eq(b64, "XUFAKrxLKna5cZ2REBfFkg==");
}
END_TEST

START_TEST(test_key_valid)
{
	ck_assert(s3_key_valid("p/crashes/host-1/20261208T001709.360886Z-865050dd-4000001/core.zst"));
	ck_assert(s3_key_valid("index/2026-12-08/h.json"));
	ck_assert(!s3_key_valid(""));
	ck_assert(!s3_key_valid("/abs"));
	ck_assert(!s3_key_valid("a//b"));
	ck_assert(!s3_key_valid("a/../b"));
	ck_assert(!s3_key_valid("a b"));
	ck_assert(!s3_key_valid("a?uploads="));
	ck_assert(!s3_key_valid("a%2F"));
}
END_TEST

static char dir[] = "/tmp/check_s3.XXXXXX";

START_TEST(test_creds)
{
	char path[256], *id = NULL, *sec = NULL;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/creds", dir);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	ck_assert_int_eq(s3_creds_load(path, true, &id, &sec), -ENOKEY);

	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("# keys\n[default]\naws_access_key_id = AKID\n ; old\naws_secret_access_key=SEC RET \n", f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0600), 0);
	if (geteuid() == 0) {
		ck_assert_int_eq(s3_creds_load(path, true, &id, &sec), 0);
		ck_assert_str_eq(id, "AKID");
		ck_assert_str_eq(sec, "SEC RET");
		free(id);
		free(sec);
		/* Readable by others, or owned by another user: refused. */
		ck_assert_int_eq(chmod(path, 0640), 0);
		ck_assert_int_eq(s3_creds_load(path, true, &id, &sec), -EPERM);
		ck_assert_int_eq(chmod(path, 0604), 0);
		ck_assert_int_eq(s3_creds_load(path, true, &id, &sec), -EPERM);
		ck_assert_int_eq(chmod(path, 0600), 0);
		ck_assert_int_eq(chown(path, 65534, 65534), 0);
		ck_assert_int_eq(s3_creds_load(path, true, &id, &sec), -EPERM);
		ck_assert_int_eq(chown(path, 0, 0), 0);
		/* A symlink is not followed. */
		char link[300];
		snprintf(link, sizeof(link), "%s/link", dir);
		ck_assert_int_eq(symlink(path, link), 0);
		ck_assert_int_lt(s3_creds_load(link, true, &id, &sec), 0);
	}
	/* Only the id: no keys. */
	f = fopen(path, "w");
	fputs("aws_access_key_id=AKID\n", f);
	fclose(f);
	ck_assert_int_eq(s3_creds_load(path, true, &id, &sec), geteuid() == 0 ? -ENOKEY : -EPERM);
	/* The environment wins, both or nothing. */
	setenv("AWS_ACCESS_KEY_ID", "ENVID", 1);
	ck_assert_int_eq(s3_creds_load("/nonexistent", true, &id, &sec), -ENOKEY);
	setenv("AWS_SECRET_ACCESS_KEY", "ENVSEC", 1);
	ck_assert_int_eq(s3_creds_load("/nonexistent", true, &id, &sec), 0);
	ck_assert_str_eq(id, "ENVID");
	ck_assert_str_eq(sec, "ENVSEC");
	free(id);
	free(sec);
	ck_assert_int_eq(s3_creds_load("/nonexistent", false, &id, &sec), -ENOKEY);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* ---- a scripted HTTP server in a child ---- */

struct srv {
	pid_t pid;
	int port;
	int log_fd; /* the child writes "METHOD PATH md5=HEADER len=N\n" per request */
	char log_path[64];
};

/* Answers each request with the next status of script (the last repeats). */
static void srv_start(struct srv *s, const int *script, size_t n, const char *body)
{
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	ck_assert_int_ge(ls, 0);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(ls, 16), 0);
	ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
	snprintf(s->log_path, sizeof(s->log_path), "/tmp/check_s3.log.%d", (int)getpid());
	s->log_fd = open(s->log_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(s->log_fd, 0);
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid > 0) {
		close(ls);
		return;
	}
	static char req[(16u << 20) + 65536];
	for (size_t k = 0;; k++) {
		int c = accept(ls, NULL, NULL);
		if (c < 0)
			_exit(0);
		for (;;) { /* requests on a kept-alive connection */
			size_t got = 0;
			char *end = NULL;
			while (!(end = memmem(req, got, "\r\n\r\n", 4))) {
				ssize_t r = read(c, req + got, sizeof(req) - got - 1);
				if (r <= 0)
					goto next_conn;
				got += (size_t)r;
			}
			req[got] = '\0';
			size_t head = (size_t)(end + 4 - req), clen = 0;
			char *cl = strcasestr(req, "\r\nContent-Length:");
			if (cl && cl < end)
				clen = strtoul(cl + 17, NULL, 10);
			while (got < head + clen) {
				ssize_t r = read(c, req + got, sizeof(req) - got - 1);
				if (r <= 0)
					goto next_conn;
				got += (size_t)r;
			}
			char line[512], md5[40] = "-";
			char *m = strcasestr(req, "\r\nContent-MD5: ");
			if (m && m < end)
				snprintf(md5, sizeof(md5), "%.24s", m + 15);
			char want[25];
			md5_base64(req + head, clen, want);
			int ln = snprintf(line, sizeof(line), "%.*s md5=%s ok=%s len=%zu\n",
					  (int)strcspn(req, " ") + 1 + (int)strcspn(req + strcspn(req, " ") + 1, " "),
					  req, md5, m && m < end ? strcmp(md5, want) == 0 ? "1" : "0" : "-", clen);
			(void)write_all(s->log_fd, line, (size_t)ln);
			int st = script[k < n ? k : n - 1];
			if (st == 0) { /* a hung gateway: the request is read, never answered */
				(void)write_all(s->log_fd, "hang\n", 5);
				pause();
			}
			char resp[1024];
			const char *b = st == 200 ? body : "<Error><Code>Scripted</Code></Error>";
			int rn = snprintf(resp, sizeof(resp),
					  "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nETag: \"e%zu\"\r\n\r\n%s", st,
					  strlen(b), k, b);
			(void)write_all(c, resp, (size_t)rn);
			k++;
		}
	next_conn:
		close(c);
		k--; /* the loop's k++ counts requests, not connections */
	}
}

static int srv_stop(struct srv *s, char **log)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	size_t len;
	bool t;
	ck_assert_int_eq(read_file_at(AT_FDCWD, s->log_path, 1 << 20, log, &len, &t), 0);
	close(s->log_fd);
	unlink(s->log_path);
	int lines = 0;
	for (char *p = *log; *p; p++)
		lines += *p == '\n';
	return lines;
}

static void s3_local(struct s3 *s, int port)
{
	char ep[64];
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
	ck_assert_int_eq(s3_init(s, ep, "bkt", "r1", "id", "secret"), 0);
	s->backoff_ms = 1;
}

START_TEST(test_retry_5xx_then_ok)
{
	static const int script[] = { 500, 503, 200 };
	struct srv v;
	struct s3 s;
	char *log = NULL;
	srv_start(&v, script, ARRAY_SIZE(script), "");
	s3_local(&s, v.port);
	ck_assert_int_eq(s3_put(&s, "a/b", "hello", 5), 0);
	ck_assert_uint_eq(s.retries, 2);
	ck_assert_int_eq(srv_stop(&v, &log), 3);
	ck_assert_ptr_nonnull(strstr(log, "PUT /bkt/a/b md5=XUFAKrxLKna5cZ2REBfFkg== ok=1 len=5"));
	free(log);
	s3_free(&s);
}
END_TEST

START_TEST(test_5xx_bounded)
{
	static const int script[] = { 500 };
	struct srv v;
	struct s3 s;
	char *log = NULL;
	srv_start(&v, script, 1, "");
	s3_local(&s, v.port);
	ck_assert_int_eq(s3_put(&s, "k", "x", 1), -EIO);
	ck_assert_ptr_nonnull(strstr(s.error, "HTTP 500 Scripted"));
	ck_assert_int_eq(srv_stop(&v, &log), S3_TRIES);
	free(log);
	s3_free(&s);
}
END_TEST

START_TEST(test_403_404_not_retried)
{
	static const int script[] = { 403, 404 };
	struct srv v;
	struct s3 s;
	char *log = NULL, *body = NULL;
	srv_start(&v, script, 2, "");
	s3_local(&s, v.port);
	ck_assert_int_eq(s3_put(&s, "k", "x", 1), -EACCES);
	ck_assert_int_eq(s3_get(&s, "k", 100, &body, NULL), -ENOENT);
	ck_assert_uint_eq(s.retries, 0);
	ck_assert_int_eq(srv_stop(&v, &log), 2);
	free(log);
	s3_free(&s);
}
END_TEST

START_TEST(test_refused)
{
	struct srv v;
	struct s3 s;
	static const int script[] = { 200 };
	char *log = NULL;
	srv_start(&v, script, 1, "");
	int port = v.port;
	srv_stop(&v, &log); /* nobody listens there any more */
	free(log);
	s3_local(&s, port);
	ck_assert_int_eq(s3_put(&s, "k", "x", 1), -ECONNREFUSED);
	ck_assert_uint_eq(s.retries, S3_TRIES - 1);
	s3_free(&s);
}
END_TEST

START_TEST(test_multipart_parts)
{
	static const int script[] = { 200 };
	static const char body[] = "<InitiateMultipartUploadResult><UploadId>2~abc/+=</UploadId></InitiateMultipartUploadResult>";
	struct srv v;
	struct s3 s;
	char *log = NULL;
	unsigned parts = 0;
	int fd = testutil_tmpfd();
	uint64_t size = 2ull * S3_PART_SIZE + 12345;
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	ck_assert_int_eq(pwrite_all(fd, "tail", 4, (off_t)size - 4), 0);
	srv_start(&v, script, 1, body);
	s3_local(&s, v.port);
	ck_assert_int_eq(s3_put_fd(&s, "big", fd, size, &parts), 0);
	ck_assert_uint_eq(parts, 3);
	ck_assert_int_eq(srv_stop(&v, &log), 5);
	/* Initiate, three parts with their MD5 and the upload id encoded as
	 * SigV4 canonicalises it, then complete. */
	ck_assert_ptr_nonnull(strstr(log, "POST /bkt/big?uploads= "));
	ck_assert_ptr_nonnull(strstr(log, "PUT /bkt/big?partNumber=1&uploadId=2~abc%2F%2B%3D md5="));
	ck_assert_ptr_nonnull(strstr(log, "ok=1 len=16777216\nPUT /bkt/big?partNumber=2"));
	ck_assert_ptr_nonnull(strstr(log, "PUT /bkt/big?partNumber=3&uploadId=2~abc%2F%2B%3D"));
	ck_assert_ptr_nonnull(strstr(log, "ok=1 len=12345\nPOST /bkt/big?uploadId=2~abc%2F%2B%3D"));
	ck_assert_ptr_null(strstr(log, "ok=0"));
	free(log);
	s3_free(&s);
	close(fd);
}
END_TEST

START_TEST(test_multipart_abort)
{
	/* Initiate ok, the first part refused: the upload is aborted (DELETE). */
	static const int script[] = { 200, 403, 204 };
	static const char body[] = "<UploadId>U1</UploadId>";
	struct srv v;
	struct s3 s;
	char *log = NULL;
	int fd = testutil_tmpfd();
	uint64_t size = S3_PART_SIZE + 1;
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	srv_start(&v, script, ARRAY_SIZE(script), body);
	s3_local(&s, v.port);
	ck_assert_int_eq(s3_put_fd(&s, "big", fd, size, NULL), -EACCES);
	ck_assert_ptr_nonnull(strstr(s.error, "403"));
	ck_assert_int_eq(srv_stop(&v, &log), 3);
	ck_assert_ptr_nonnull(strstr(log, "DELETE /bkt/big?uploadId=U1 "));
	free(log);
	s3_free(&s);
	close(fd);
}
END_TEST

/* A gateway that takes the request and never answers: each attempt is cut
 * after low_speed_sec, the attempts are bounded, the error is a timeout. */
START_TEST(test_hung_gateway)
{
	static const int script[] = { 0 };
	struct srv v;
	struct s3 s;
	char *log = NULL;
	srv_start(&v, script, 1, "");
	s3_local(&s, v.port);
	s.low_speed_sec = 1;
	int64_t t0 = now_usec();
	ck_assert_int_eq(s3_put(&s, "k", "x", 1), -ETIMEDOUT);
	int64_t dt = now_usec() - t0;
	ck_assert_uint_eq(s.retries, S3_TRIES - 1);
	ck_assert_int_ge(dt, (int64_t)S3_TRIES * 1000000 - 200000);
	ck_assert_int_lt(dt, (int64_t)S3_TRIES * 4000000);
	ck_assert_ptr_nonnull(strstr(s.error, "curl 28"));
	free(log);
	kill(v.pid, SIGKILL);
	waitpid(v.pid, NULL, 0);
	close(v.log_fd);
	unlink(v.log_path);
	s3_free(&s);
}
END_TEST

static Suite *s3_suite(void)
{
	Suite *s = suite_create("s3");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_md5_rfc1321);
	tcase_add_test(tc, test_key_valid);
	tcase_add_test(tc, test_creds);
	tcase_add_test(tc, test_retry_5xx_then_ok);
	tcase_add_test(tc, test_5xx_bounded);
	tcase_add_test(tc, test_403_404_not_retried);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_hung_gateway);
	tcase_add_test(tc, test_multipart_parts);
	tcase_add_test(tc, test_multipart_abort);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(s3_suite());
}
