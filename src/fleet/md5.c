/* MD5 after RFC 1321, written from the specification's round functions and
 * constants (floor(abs(sin(i + 1)) * 2^32), step i). Not for security:
 * S3 uses it to detect damaged bodies. */
#include <string.h>

#include "fleet/md5.h"

static uint32_t md5_rol(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

/* The four rounds written out, as RFC 1321's reference does: an indexed
 * loop with a branch per step runs at half the speed, and every part of a
 * core goes through here. */
#define MD5_F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MD5_G(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define MD5_H(x, y, z) ((x) ^ (y) ^ (z))
#define MD5_I(x, y, z) ((y) ^ ((x) | ~(z)))
#define MD5_STEP(f, a, b, c, d, x, t, s) \
	do { \
		(a) += f((b), (c), (d)) + (x) + (uint32_t)(t); \
		(a) = md5_rol((a), (s)) + (b); \
	} while (0)

static void md5_block(struct md5 *m, const uint8_t *p)
{
	uint32_t w[16], a = m->a, b = m->b, c = m->c, d = m->d;

	for (unsigned i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
		       (uint32_t)p[4 * i + 3] << 24;
	MD5_STEP(MD5_F, a, b, c, d, w[0], 0xd76aa478, 7);
	MD5_STEP(MD5_F, d, a, b, c, w[1], 0xe8c7b756, 12);
	MD5_STEP(MD5_F, c, d, a, b, w[2], 0x242070db, 17);
	MD5_STEP(MD5_F, b, c, d, a, w[3], 0xc1bdceee, 22);
	MD5_STEP(MD5_F, a, b, c, d, w[4], 0xf57c0faf, 7);
	MD5_STEP(MD5_F, d, a, b, c, w[5], 0x4787c62a, 12);
	MD5_STEP(MD5_F, c, d, a, b, w[6], 0xa8304613, 17);
	MD5_STEP(MD5_F, b, c, d, a, w[7], 0xfd469501, 22);
	MD5_STEP(MD5_F, a, b, c, d, w[8], 0x698098d8, 7);
	MD5_STEP(MD5_F, d, a, b, c, w[9], 0x8b44f7af, 12);
	MD5_STEP(MD5_F, c, d, a, b, w[10], 0xffff5bb1, 17);
	MD5_STEP(MD5_F, b, c, d, a, w[11], 0x895cd7be, 22);
	MD5_STEP(MD5_F, a, b, c, d, w[12], 0x6b901122, 7);
	MD5_STEP(MD5_F, d, a, b, c, w[13], 0xfd987193, 12);
	MD5_STEP(MD5_F, c, d, a, b, w[14], 0xa679438e, 17);
	MD5_STEP(MD5_F, b, c, d, a, w[15], 0x49b40821, 22);
	MD5_STEP(MD5_G, a, b, c, d, w[1], 0xf61e2562, 5);
	MD5_STEP(MD5_G, d, a, b, c, w[6], 0xc040b340, 9);
	MD5_STEP(MD5_G, c, d, a, b, w[11], 0x265e5a51, 14);
	MD5_STEP(MD5_G, b, c, d, a, w[0], 0xe9b6c7aa, 20);
	MD5_STEP(MD5_G, a, b, c, d, w[5], 0xd62f105d, 5);
	MD5_STEP(MD5_G, d, a, b, c, w[10], 0x02441453, 9);
	MD5_STEP(MD5_G, c, d, a, b, w[15], 0xd8a1e681, 14);
	MD5_STEP(MD5_G, b, c, d, a, w[4], 0xe7d3fbc8, 20);
	MD5_STEP(MD5_G, a, b, c, d, w[9], 0x21e1cde6, 5);
	MD5_STEP(MD5_G, d, a, b, c, w[14], 0xc33707d6, 9);
	MD5_STEP(MD5_G, c, d, a, b, w[3], 0xf4d50d87, 14);
	MD5_STEP(MD5_G, b, c, d, a, w[8], 0x455a14ed, 20);
	MD5_STEP(MD5_G, a, b, c, d, w[13], 0xa9e3e905, 5);
	MD5_STEP(MD5_G, d, a, b, c, w[2], 0xfcefa3f8, 9);
	MD5_STEP(MD5_G, c, d, a, b, w[7], 0x676f02d9, 14);
	MD5_STEP(MD5_G, b, c, d, a, w[12], 0x8d2a4c8a, 20);
	MD5_STEP(MD5_H, a, b, c, d, w[5], 0xfffa3942, 4);
	MD5_STEP(MD5_H, d, a, b, c, w[8], 0x8771f681, 11);
	MD5_STEP(MD5_H, c, d, a, b, w[11], 0x6d9d6122, 16);
	MD5_STEP(MD5_H, b, c, d, a, w[14], 0xfde5380c, 23);
	MD5_STEP(MD5_H, a, b, c, d, w[1], 0xa4beea44, 4);
	MD5_STEP(MD5_H, d, a, b, c, w[4], 0x4bdecfa9, 11);
	MD5_STEP(MD5_H, c, d, a, b, w[7], 0xf6bb4b60, 16);
	MD5_STEP(MD5_H, b, c, d, a, w[10], 0xbebfbc70, 23);
	MD5_STEP(MD5_H, a, b, c, d, w[13], 0x289b7ec6, 4);
	MD5_STEP(MD5_H, d, a, b, c, w[0], 0xeaa127fa, 11);
	MD5_STEP(MD5_H, c, d, a, b, w[3], 0xd4ef3085, 16);
	MD5_STEP(MD5_H, b, c, d, a, w[6], 0x04881d05, 23);
	MD5_STEP(MD5_H, a, b, c, d, w[9], 0xd9d4d039, 4);
	MD5_STEP(MD5_H, d, a, b, c, w[12], 0xe6db99e5, 11);
	MD5_STEP(MD5_H, c, d, a, b, w[15], 0x1fa27cf8, 16);
	MD5_STEP(MD5_H, b, c, d, a, w[2], 0xc4ac5665, 23);
	MD5_STEP(MD5_I, a, b, c, d, w[0], 0xf4292244, 6);
	MD5_STEP(MD5_I, d, a, b, c, w[7], 0x432aff97, 10);
	MD5_STEP(MD5_I, c, d, a, b, w[14], 0xab9423a7, 15);
	MD5_STEP(MD5_I, b, c, d, a, w[5], 0xfc93a039, 21);
	MD5_STEP(MD5_I, a, b, c, d, w[12], 0x655b59c3, 6);
	MD5_STEP(MD5_I, d, a, b, c, w[3], 0x8f0ccc92, 10);
	MD5_STEP(MD5_I, c, d, a, b, w[10], 0xffeff47d, 15);
	MD5_STEP(MD5_I, b, c, d, a, w[1], 0x85845dd1, 21);
	MD5_STEP(MD5_I, a, b, c, d, w[8], 0x6fa87e4f, 6);
	MD5_STEP(MD5_I, d, a, b, c, w[15], 0xfe2ce6e0, 10);
	MD5_STEP(MD5_I, c, d, a, b, w[6], 0xa3014314, 15);
	MD5_STEP(MD5_I, b, c, d, a, w[13], 0x4e0811a1, 21);
	MD5_STEP(MD5_I, a, b, c, d, w[4], 0xf7537e82, 6);
	MD5_STEP(MD5_I, d, a, b, c, w[11], 0xbd3af235, 10);
	MD5_STEP(MD5_I, c, d, a, b, w[2], 0x2ad7d2bb, 15);
	MD5_STEP(MD5_I, b, c, d, a, w[9], 0xeb86d391, 21);
	m->a += a;
	m->b += b;
	m->c += c;
	m->d += d;
}

void md5_init(struct md5 *m)
{
	*m = (struct md5){ .a = 0x67452301, .b = 0xefcdab89, .c = 0x98badcfe, .d = 0x10325476 };
}

void md5_update(struct md5 *m, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t have = (size_t)(m->bytes % 64);

	m->bytes += len;
	if (have > 0) {
		size_t take = 64 - have < len ? 64 - have : len;
		memcpy(m->buf + have, p, take);
		p += take;
		len -= take;
		if (have + take < 64)
			return;
		md5_block(m, m->buf);
	}
	for (; len >= 64; p += 64, len -= 64)
		md5_block(m, p);
	memcpy(m->buf, p, len);
}

void md5_final(struct md5 *m, uint8_t out[16])
{
	static const uint8_t pad[64] = { 0x80 };
	uint64_t bits = m->bytes * 8;
	uint8_t len[8];
	size_t have = (size_t)(m->bytes % 64);

	for (unsigned i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (8 * i));
	md5_update(m, pad, have < 56 ? 56 - have : 120 - have);
	md5_update(m, len, 8);
	const uint32_t v[4] = { m->a, m->b, m->c, m->d };
	for (unsigned i = 0; i < 16; i++)
		out[i] = (uint8_t)(v[i / 4] >> (8 * (i % 4)));
}

void md5_base64(const void *buf, size_t len, char out[25])
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t d[18] = { 0 };
	struct md5 m;

	md5_init(&m);
	md5_update(&m, buf, len);
	md5_final(&m, d);
	/* 16 bytes: five full groups of three, then one byte and "==". */
	for (unsigned i = 0, o = 0; i < 18; i += 3, o += 4) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		out[o] = b64[v >> 18 & 63];
		out[o + 1] = b64[v >> 12 & 63];
		out[o + 2] = b64[v >> 6 & 63];
		out[o + 3] = b64[v & 63];
	}
	out[22] = out[23] = '=';
	out[24] = '\0';
}
