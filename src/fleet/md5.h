/* MD5 (RFC 1321), for the Content-MD5 header S3 checks on every PUT: the
 * gateway refuses a body whose digest differs (400 BadDigest), so a part
 * damaged on the way is never stored. No declared dependency exports MD5
 * (README, "Dependencies"), and radosgw 16 ignores x-amz-checksum-sha256. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct md5 {
	uint32_t a, b, c, d;
	uint64_t bytes;
	uint8_t buf[64];
};

void md5_init(struct md5 *m);
void md5_update(struct md5 *m, const void *data, size_t len);
void md5_final(struct md5 *m, uint8_t out[16]);
/* The digest of buf in base64 (24 characters and a NUL), as Content-MD5 wants. */
void md5_base64(const void *buf, size_t len, char out[25]);
