/* bundle.c: the bundle's archive, a ustar stream inside one zstd frame.
 *
 * Policy for reading: a bundle comes from another machine and another
 * person, so nothing in it is believed. Each header's checksum and magic are
 * checked, only regular files are taken (the reader has no notion of a link,
 * a directory or a device: they are refused, not skipped), names are checked
 * before anyone sees them, and every size is held against a named cap before
 * a byte of the member is read. Extraction itself is the caller's (import
 * creates each file itself, O_EXCL, under a directory it made). */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>

#include "base/util.h"
#include "core/zst.h"
#include "store/bundle.h"
#include "store/index.h"
#include "store/record.h"
#include "store/store.h"

#define BUNDLE_BLOCK 512
#define BUNDLE_IO_CHUNK (128u << 10) /* bytes read from a file or the bundle at once */

/* ---- names ---- */

int bundle_name_check(const char *name, const char **why)
{
	const char *w = NULL;
	size_t len = name ? strnlen(name, BUNDLE_NAME_MAX + 1) : 0, depth = 0;

	if (!name || len == 0)
		w = "an empty member name";
	else if (len > BUNDLE_NAME_MAX)
		w = "a member name longer than BUNDLE_NAME_MAX";
	else if (name[0] == '/')
		w = "an absolute member name";
	for (const char *p = name; !w && p && *p;) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 0)
			w = "an empty component in a member name";
		else if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			w = "a '.' or '..' component in a member name";
		else if (++depth > BUNDLE_DEPTH_MAX)
			w = "a member name deeper than BUNDLE_DEPTH_MAX";
		for (size_t i = 0; !w && i < n; i++)
			if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7f || p[i] == '\\')
				w = "a control, non-ASCII or backslash byte in a member name";
		p = *e ? e + 1 : e;
		if (!w && *e && !*p)
			w = "a member name ending in '/'";
	}
	if (w) {
		if (why)
			*why = w;
		return -EPERM;
	}
	return 0;
}

/* ---- writer ---- */

struct bundle_writer {
	struct zst_writer *z;
	char *buf; /* BUNDLE_IO_CHUNK */
};

int bundle_writer_new(int out_fd, int level, struct bundle_writer **ret)
{
	struct bundle_writer *w = calloc(1, sizeof(*w));
	int r;

	if (!w || !(w->buf = malloc(BUNDLE_IO_CHUNK))) {
		free(w);
		return -ENOMEM;
	}
	r = zst_writer_new(out_fd, level, 0, &w->z);
	if (r < 0) {
		free(w->buf);
		free(w);
		return r;
	}
	*ret = w;
	return 0;
}

void bundle_writer_free(struct bundle_writer *w)
{
	if (!w)
		return;
	zst_writer_free(w->z);
	free(w->buf);
	free(w);
}

/* An octal field of len bytes (len - 1 digits and a NUL), or for a size that
 * does not fit, GNU's base-256 form (first byte 0x80, big-endian). */
static void bundle_put_num(char *field, size_t len, uint64_t v)
{
	if (3 * (len - 1) >= 64 || v < (UINT64_C(1) << (3 * (len - 1)))) {
		snprintf(field, len, "%0*llo", (int)(len - 1), (unsigned long long)v);
		return;
	}
	memset(field, 0, len);
	field[0] = (char)0x80;
	for (size_t i = len - 1; i > 0 && v; i--, v >>= 8)
		field[i] = (char)(v & 0xff);
}

/* Split name for ustar: the part after the last '/' that leaves at most 100
 * bytes goes in name, the rest (at most 155) in prefix. */
static int bundle_split(const char *name, size_t *ret_prefix)
{
	size_t len = strlen(name);
	if (len <= 100) {
		*ret_prefix = 0;
		return 0;
	}
	for (size_t i = len - 1; i > 0; i--)
		if (name[i] == '/' && len - i - 1 <= 100 && len - i - 1 > 0 && i <= 155) {
			*ret_prefix = i;
			return 0;
		}
	return -ENAMETOOLONG;
}

static unsigned bundle_checksum(const unsigned char *h)
{
	unsigned sum = 0;
	for (size_t i = 0; i < BUNDLE_BLOCK; i++)
		sum += i >= 148 && i < 156 ? ' ' : h[i];
	return sum;
}

static int bundle_header(struct bundle_writer *w, const char *name, uint64_t size, unsigned mode)
{
	unsigned char h[BUNDLE_BLOCK] = { 0 };
	size_t pre;
	const char *why;

	if (bundle_name_check(name, &why) < 0)
		return -EINVAL;
	if (bundle_split(name, &pre) < 0)
		return -ENAMETOOLONG;
	if (pre) {
		memcpy(h + 345, name, pre);
		memcpy(h, name + pre + 1, strlen(name) - pre - 1);
	} else {
		memcpy(h, name, strlen(name));
	}
	bundle_put_num((char *)h + 100, 8, mode & 07777);
	bundle_put_num((char *)h + 108, 8, 0);
	bundle_put_num((char *)h + 116, 8, 0);
	bundle_put_num((char *)h + 124, 12, size);
	bundle_put_num((char *)h + 136, 12, (uint64_t)(now_usec() / 1000000));
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	snprintf((char *)h + 148, 8, "%06o", bundle_checksum(h));
	h[155] = ' ';
	return zst_writer_write(w->z, h, sizeof(h));
}

static int bundle_pad(struct bundle_writer *w, uint64_t size)
{
	static const char zeros[BUNDLE_BLOCK];
	size_t rest = (size_t)(size % BUNDLE_BLOCK);
	return rest ? zst_writer_write(w->z, zeros, BUNDLE_BLOCK - rest) : 0;
}

int bundle_add_fd(struct bundle_writer *w, const char *name, int fd, uint64_t size, unsigned mode)
{
	uint64_t done = 0;
	int r = bundle_header(w, name, size, mode);

	while (r >= 0 && done < size) {
		size_t want = size - done < BUNDLE_IO_CHUNK ? (size_t)(size - done) : BUNDLE_IO_CHUNK;
		ssize_t n = read(fd, w->buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* shrank under us: the header's size would lie */
		r = zst_writer_write(w->z, w->buf, (size_t)n);
		done += (uint64_t)n;
	}
	return r < 0 ? r : bundle_pad(w, size);
}

int bundle_add_buf(struct bundle_writer *w, const char *name, const void *buf, size_t len, unsigned mode)
{
	int r = bundle_header(w, name, len, mode);
	if (r >= 0 && len)
		r = zst_writer_write(w->z, buf, len);
	return r < 0 ? r : bundle_pad(w, len);
}

int bundle_writer_finish(struct bundle_writer *w)
{
	static const char zeros[2 * BUNDLE_BLOCK];
	int r = zst_writer_write(w->z, zeros, sizeof(zeros));
	return r < 0 ? r : zst_writer_finish(w->z);
}

/* ---- reader ---- */

struct bundle_reader {
	int fd;
	struct bundle_caps caps;
	ZSTD_DCtx *dctx;
	ZSTD_inBuffer in;
	char *inbuf, *outbuf;
	size_t in_cap, out_cap, out_pos, out_len;
	bool eof;          /* in_fd read to its end */
	bool frame_done;   /* the zstd frame ended */
	uint64_t left;     /* data bytes of the current member not read yet */
	uint64_t pad;      /* padding after them */
	uint64_t total;
	size_t members;
	bool ended;
};

int bundle_reader_new(int in_fd, const struct bundle_caps *caps, struct bundle_reader **ret)
{
	struct bundle_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = in_fd;
	r->caps = caps ? *caps : BUNDLE_CAPS_DEFAULT;
	r->in_cap = ZSTD_DStreamInSize();
	r->out_cap = ZSTD_DStreamOutSize();
	r->inbuf = malloc(r->in_cap);
	r->outbuf = malloc(r->out_cap);
	r->dctx = ZSTD_createDCtx();
	if (!r->inbuf || !r->outbuf || !r->dctx ||
	    ZSTD_isError(ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax, BUNDLE_WINDOW_LOG_MAX))) {
		bundle_reader_free(r);
		return -ENOMEM;
	}
	r->in.src = r->inbuf;
	*ret = r;
	return 0;
}

void bundle_reader_free(struct bundle_reader *r)
{
	if (!r)
		return;
	ZSTD_freeDCtx(r->dctx);
	free(r->inbuf);
	free(r->outbuf);
	free(r);
}

/* More decompressed bytes into outbuf: > 0 some, 0 the end of the data (the
 * frame ended and the file too), -EBADMSG corrupt or cut. */
static int bundle_fill(struct bundle_reader *r)
{
	r->out_pos = r->out_len = 0;
	for (;;) {
		if (r->in.pos == r->in.size && !r->eof) {
			ssize_t n = read(r->fd, r->inbuf, r->in_cap);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			r->in.size = (size_t)n;
			r->in.pos = 0;
			r->eof = n == 0;
		}
		if (r->in.pos == r->in.size && r->eof)
			return r->frame_done ? 0 : -EBADMSG; /* cut inside a frame */
		ZSTD_outBuffer out = { r->outbuf, r->out_cap, 0 };
		size_t z = ZSTD_decompressStream(r->dctx, &out, &r->in);
		if (ZSTD_isError(z))
			return -EBADMSG;
		r->frame_done = z == 0;
		if (out.pos > 0) {
			r->out_len = out.pos;
			return 1;
		}
	}
}

/* Exactly len bytes (or -EBADMSG when the data ends first). */
static int bundle_take(struct bundle_reader *r, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		if (r->out_pos == r->out_len) {
			int k = bundle_fill(r);
			if (k <= 0)
				return k < 0 ? k : -EBADMSG;
		}
		size_t n = r->out_len - r->out_pos < len ? r->out_len - r->out_pos : len;
		if (p)
			memcpy(p, r->outbuf + r->out_pos, n);
		r->out_pos += n;
		if (p)
			p += n;
		len -= n;
	}
	return 0;
}

static int bundle_skip(struct bundle_reader *r, uint64_t n)
{
	while (n > 0) {
		size_t k = n < BUNDLE_IO_CHUNK ? (size_t)n : BUNDLE_IO_CHUNK;
		int e = bundle_take(r, NULL, k);
		if (e < 0)
			return e;
		n -= k;
	}
	return 0;
}

/* An octal field (digits, then NULs or spaces), or base-256. */
static int bundle_get_num(const unsigned char *f, size_t len, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		if (f[0] != 0x80)
			return -EBADMSG; /* negative, or more than 64 bits */
		for (i = 1; i < len; i++) {
			if (v >> 56)
				return -EBADMSG;
			v = v << 8 | f[i];
		}
		*ret = v;
		return 0;
	}
	while (i < len && f[i] == ' ')
		i++;
	size_t digits = 0;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
		if (v >> 61)
			return -EBADMSG;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	if (digits == 0)
		return -EBADMSG;
	for (; i < len; i++)
		if (f[i] != '\0' && f[i] != ' ')
			return -EBADMSG;
	*ret = v;
	return 0;
}

#define BUNDLE_FAIL(w)                 \
	do {                           \
		if (why)               \
			*why = (w);    \
		return -EBADMSG;       \
	} while (0)

int bundle_next(struct bundle_reader *r, struct bundle_member *m, const char **why)
{
	unsigned char h[BUNDLE_BLOCK];
	uint64_t size, sum;
	int k;

	if (r->ended)
		return 0;
	k = bundle_skip(r, r->left + r->pad);
	r->left = r->pad = 0;
	if (k < 0)
		BUNDLE_FAIL("the bundle ends inside a member, or its zstd data is corrupt");
	k = bundle_take(r, h, sizeof(h));
	if (k < 0)
		BUNDLE_FAIL("the bundle ends without the end-of-archive blocks, or its zstd data is corrupt");
	bool zero = true;
	for (size_t i = 0; i < sizeof(h) && zero; i++)
		zero = h[i] == 0;
	if (zero) {
		if (bundle_take(r, h, sizeof(h)) < 0)
			BUNDLE_FAIL("the bundle ends after one end-of-archive block");
		for (size_t i = 0; i < sizeof(h); i++)
			if (h[i])
				BUNDLE_FAIL("a zero block followed by a header");
		r->ended = true;
		return 0;
	}
	if (bundle_get_num(h + 148, 8, &sum) < 0 || sum != bundle_checksum(h))
		BUNDLE_FAIL("a member header with a bad checksum");
	if (memcmp(h + 257, "ustar", 5) != 0)
		BUNDLE_FAIL("a member header without the ustar magic");
	if (h[156] != '0' && h[156] != '\0')
		BUNDLE_FAIL("a member that is not a regular file (link, directory, device, fifo or extension header)");
	if (++r->members > r->caps.members_max)
		BUNDLE_FAIL("more members than BUNDLE_MEMBERS_MAX");
	if (bundle_get_num(h + 124, 12, &size) < 0)
		BUNDLE_FAIL("a member with a malformed size");
	if (size > r->caps.member_max)
		BUNDLE_FAIL("a member larger than BUNDLE_MODULE_MAX");
	if (size > r->caps.total_max - r->total)
		BUNDLE_FAIL("members larger together than BUNDLE_TOTAL_MAX");
	r->total += size;
	/* name: prefix '/' name, each NUL-terminated or full; a NUL inside a
	 * full field cannot happen then, and bytes after a NUL are ignored. */
	size_t pl = strnlen((const char *)h + 345, 155), nl = strnlen((const char *)h, 100), o = 0;
	if (pl) {
		memcpy(m->name, h + 345, pl);
		m->name[pl] = '/';
		o = pl + 1;
	}
	memcpy(m->name + o, h, nl);
	m->name[o + nl] = '\0';
	const char *nw = NULL;
	if (bundle_name_check(m->name, &nw) < 0)
		BUNDLE_FAIL(nw);
	m->size = size;
	r->left = size;
	r->pad = (BUNDLE_BLOCK - size % BUNDLE_BLOCK) % BUNDLE_BLOCK;
	return 1;
}

ssize_t bundle_read(struct bundle_reader *r, void *buf, size_t len)
{
	if (r->left == 0 || len == 0)
		return 0;
	if (r->out_pos == r->out_len) {
		int k = bundle_fill(r);
		if (k <= 0)
			return k < 0 ? k : -EBADMSG;
	}
	size_t n = r->out_len - r->out_pos;
	if (n > len)
		n = len;
	if (n > r->left)
		n = (size_t)r->left;
	memcpy(buf, r->outbuf + r->out_pos, n);
	r->out_pos += n;
	r->left -= n;
	return (ssize_t)n;
}

int bundle_copy(struct bundle_reader *r, int out_fd, uint64_t cap)
{
	if (r->left > cap)
		return -EFBIG;
	while (r->left > 0) {
		if (r->out_pos == r->out_len) {
			int k = bundle_fill(r);
			if (k <= 0)
				return k < 0 ? k : -EBADMSG;
		}
		size_t n = r->out_len - r->out_pos;
		if (n > r->left)
			n = (size_t)r->left;
		int k = write_all(out_fd, r->outbuf + r->out_pos, n);
		if (k < 0)
			return k;
		r->out_pos += n;
		r->left -= n;
	}
	return 0;
}

int bundle_reader_end(struct bundle_reader *r, const char **why)
{
	if (!r->ended)
		BUNDLE_FAIL("the archive has not ended");
	/* tar pads to its record size with zeros; anything else is not ours. */
	for (uint64_t seen = 0;;) {
		while (r->out_pos < r->out_len) {
			if (r->outbuf[r->out_pos++] != 0)
				BUNDLE_FAIL("data after the end of the archive");
			if (++seen > BUNDLE_TEXT_MAX)
				BUNDLE_FAIL("more than BUNDLE_TEXT_MAX bytes of padding after the archive");
		}
		int k = bundle_fill(r);
		if (k == 0)
			return 0;
		if (k < 0)
			BUNDLE_FAIL("corrupt or cut zstd data after the archive");
	}
}

/* ---- into a store ---- */

char *bundle_sysroot_path(const struct store *st, const char *id)
{
	_cleanup_free_ char *dir = store_path(st->root, BUNDLE_SYSROOT_DIR, "");
	return dir ? store_path(dir, id, "") : NULL;
}

int bundle_sysroot_open(const struct store *st, const char *id)
{
	if (!store_id_valid(id))
		return -EINVAL;
	_cleanup_free_ char *p = bundle_sysroot_path(st, id);
	if (!p)
		return -ENOMEM;
	int fd = open(p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int bundle_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* rm -rf of a directory we made (no symlink is followed: FTW_PHYS). */
static void bundle_rm_tree(const char *path)
{
	(void)nftw(path, bundle_rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

int bundle_sysroot_prune(const struct store *st)
{
	_cleanup_free_ char *dir = store_path(st->root, BUNDLE_SYSROOT_DIR, "");
	int n = 0;

	if (!dir)
		return -ENOMEM;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		char id[STORE_ID_MAX + 1];
		const char *name = de->d_name;
		bool part = name[0] == '.' && strlen(name) > 6 && strcmp(name + strlen(name) - 5, ".part") == 0;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		size_t idlen = part ? strlen(name) - 6 : strlen(name);
		if (idlen >= sizeof(id))
			continue;
		memcpy(id, name + (part ? 1 : 0), idlen);
		id[idlen] = '\0';
		if (!store_id_valid(id))
			continue;
		_cleanup_free_ char *rec = store_path(st->store_dir, id, ".json"),
				    *lock = store_path(st->spool_dir, id, ".lock"), *p = store_path(dir, name, "");
		if (!rec || !lock || !p)
			continue;
		/* An import at work holds the id's lock: its part, and its
		 * sysroot renamed into place just before its record is
		 * published, are not leftovers. */
		bool busy = access(lock, F_OK) == 0 && !store_lock_abandoned(st, id);
		bool gone = !busy && (part || (access(rec, F_OK) < 0 && errno == ENOENT));
		if (gone) {
			bundle_rm_tree(p);
			n++;
		}
	}
	(void)closedir(d);
	return n;
}

/* The record: strict JSON, one object, nothing but white space after it. */
static int bundle_parse_record(const char *buf, size_t len, json_object **ret)
{
	if (memchr(buf, '\0', len))
		return -EBADMSG;
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
	size_t off = o ? json_tokener_get_parse_end(tok) : 0;
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EBADMSG;
	}
	for (; off < len; off++)
		if (!strchr(" \t\r\n", buf[off])) {
			json_object_put(o);
			return -EBADMSG;
		}
	*ret = o;
	return 0;
}

/* Create REL (a checked name) under dirfd, its directories 0755 and the
 * file 0644, every step O_NOFOLLOW and the file O_EXCL: a name that walks
 * through a file or meets one it made before is refused (-EEXIST,
 * -ENOTDIR). The directory tree is import's own, so nothing else is in it. */
static int bundle_create_under(int dirfd, const char *rel, int *ret_fd)
{
	_cleanup_close_ int d = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	char comp[BUNDLE_NAME_MAX + 1];

	if (d < 0)
		return -errno;
	for (const char *p = rel;;) {
		const char *e = strchrnul(p, '/');
		snprintf(comp, sizeof(comp), "%.*s", (int)(e - p), p);
		if (!*e) {
			int fd = openat(d, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (fd < 0)
				return -errno;
			if (fchmod(fd, 0644) < 0) {
				int k = -errno;
				(void)close(fd);
				return k;
			}
			*ret_fd = fd;
			return 0;
		}
		bool made = mkdirat(d, comp, 0755) == 0;
		if (!made && errno != EEXIST)
			return -errno;
		int nd = openat(d, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nd < 0)
			return -errno;
		if (made && fchmod(nd, 0755) < 0) {
			int k = -errno;
			(void)close(nd);
			return k;
		}
		(void)close(d);
		d = nd;
		p = e + 1;
	}
}

#define BUNDLE_SET_WHY(w)              \
	do {                           \
		if (why)               \
			*why = (w);    \
	} while (0)

/* The first member, record.json: read, parsed and validated, its id free. */
static int bundle_import_record(struct bundle_reader *br, json_object **ret, struct bundle_import_info *info,
				const char **why)
{
	struct bundle_member m;
	const char *w = NULL;
	int r = bundle_next(br, &m, &w);

	if (r <= 0) {
		BUNDLE_SET_WHY(r == 0 ? "an empty archive" : w);
		return -EBADMSG;
	}
	if (strcmp(m.name, "record.json") != 0) {
		BUNDLE_SET_WHY("the first member is not record.json");
		return -EBADMSG;
	}
	if (m.size > BUNDLE_RECORD_MAX) {
		BUNDLE_SET_WHY("record.json is larger than BUNDLE_RECORD_MAX");
		return -EBADMSG;
	}
	_cleanup_free_ char *buf = malloc((size_t)m.size + 1);
	size_t got = 0;
	if (!buf)
		return -ENOMEM;
	while (got < m.size) {
		ssize_t n = bundle_read(br, buf + got, (size_t)m.size - got);
		if (n <= 0) {
			BUNDLE_SET_WHY("the bundle ends inside record.json, or its zstd data is corrupt");
			return -EBADMSG;
		}
		got += (size_t)n;
	}
	json_object *rec = NULL;
	if (bundle_parse_record(buf, got, &rec) < 0) {
		BUNDLE_SET_WHY("record.json is not one JSON object");
		return -EBADMSG;
	}
	const char *vw = NULL;
	if (record_validate(rec, &vw) < 0) {
		json_object_put(rec);
		BUNDLE_SET_WHY(vw ? vw : "record.json is not a valid crash record");
		return -EBADMSG;
	}
	const char *id = record_str(rec, "id", "");
	if (!store_id_valid(id) || strlen(id) > STORE_ID_MAX) {
		json_object_put(rec);
		BUNDLE_SET_WHY("the record's id is not a valid id");
		return -EBADMSG;
	}
	snprintf(info->id, sizeof(info->id), "%s", id);
	*ret = rec;
	return 0;
}

/* The record made this store's (as fleet fetch does). */
static int bundle_import_fix(const struct store *st, json_object *rec, const struct bundle_import_info *info,
			     uint64_t core_bytes, const char *from_file, const char *sysroot)
{
	_cleanup_free_ char *mini_path = store_path(st->store_dir, info->id, ".mini"),
			    *core_path = store_path(st->store_dir, info->id, ".core.zst"), *from = NULL;
	json_object *core = record_obj(rec, "core"), *mini = record_obj(rec, "minicore");

	if (!mini_path || !core_path ||
	    asprintf(&from, "%s/%s", record_str(rec, "hostname", "?"), info->id) < 0)
		return -ENOMEM;
	if (mini)
		json_object_object_add(mini, "path", info->mini ? json_object_new_string(mini_path) : NULL);
	if (core && info->core) {
		json_object_object_add(core, "path", json_object_new_string(core_path));
		json_object_object_add(core, "stored_size", json_object_new_int64((int64_t)core_bytes));
	} else if (core) {
		const char *s = record_str(core, "status", "");
		json_object_object_add(core, "path", NULL);
		json_object_object_add(core, "stored_size", json_object_new_int64(0));
		if (strcmp(s, "stored") == 0 || strcmp(s, "truncated") == 0) {
			json_object_object_add(core, "status", json_object_new_string("deleted"));
			json_object_object_add(core, "reason",
					       json_object_new_string("not in the bundle (mortem export --no-core)"));
		}
	}
	json_object *im = json_object_new_object();
	if (!im)
		return -ENOMEM;
	json_object_object_add(im, "from", json_object_new_string(from));
	json_object_object_add(im, "file", from_file ? json_object_new_string(from_file) : NULL);
	json_object_object_add(im, "imported_usec", json_object_new_int64(now_usec()));
	json_object_object_add(im, "sysroot", sysroot ? json_object_new_string(sysroot) : NULL);
	json_object_object_add(im, "sysroot_files", json_object_new_int64((int64_t)info->files));
	json_object_object_add(rec, "import", im);
	return 0;
}

/* A member other than the record: where it goes, under which cap. */
static int bundle_import_member(const struct store *st, struct bundle_reader *br, const struct bundle_member *m,
				json_object *rec, int sysfd, struct bundle_import_info *info, uint64_t *core_bytes,
				const char **why)
{
	_cleanup_close_ int fd = -1;
	const char *id = info->id;
	int r;

	if (strcmp(m->name, "mini") == 0 || strcmp(m->name, "core.zst") == 0) {
		bool is_core = m->name[0] == 'c';
		uint64_t cap = is_core ? (uint64_t)record_i64(record_obj(rec, "core"), "stored_size", 0) +
						 BUNDLE_CORE_SLACK :
					 BUNDLE_MINI_MAX;
		if (is_core ? info->core : info->mini) {
			BUNDLE_SET_WHY("a member twice");
			return -EBADMSG;
		}
		const char *cs = record_str(record_obj(rec, "core"), "status", "");
		if (is_core && strcmp(cs, "stored") != 0 && strcmp(cs, "truncated") != 0) {
			BUNDLE_SET_WHY("a core.zst for a record whose core is not stored");
			return -EBADMSG;
		}
		if (m->size > cap) {
			BUNDLE_SET_WHY(is_core ? "core.zst is larger than the record's core.stored_size allows" :
						 "mini is larger than BUNDLE_MINI_MAX");
			return -EBADMSG;
		}
		r = store_tmp_open(st, id, is_core ? ".core.zst" : ".mini", &fd);
		if (r >= 0)
			r = bundle_copy(br, fd, cap);
		if (r >= 0 && fsync(fd) < 0)
			r = -errno;
		if (r == -EBADMSG)
			BUNDLE_SET_WHY("the bundle ends inside a member, or its zstd data is corrupt");
		if (r < 0)
			return r;
		if (is_core) {
			info->core = true;
			*core_bytes = m->size;
		} else {
			info->mini = true;
		}
		return 0;
	}
	if (strcmp(m->name, "README.txt") == 0 || strcmp(m->name, "open.sh") == 0) {
		if (m->size > BUNDLE_TEXT_MAX) {
			BUNDLE_SET_WHY("README.txt or open.sh is larger than BUNDLE_TEXT_MAX");
			return -EBADMSG;
		}
		return 0; /* for people; skipped by bundle_next */
	}
	if (strncmp(m->name, "sysroot/", 8) == 0) {
		r = bundle_create_under(sysfd, m->name + 8, &fd);
		if (r == -EEXIST || r == -ENOTDIR || r == -ELOOP) {
			BUNDLE_SET_WHY("a sysroot member twice, or a file where a directory must be");
			return -EBADMSG;
		}
		if (r >= 0)
			r = bundle_copy(br, fd, BUNDLE_MODULE_MAX);
		if (r == -EBADMSG)
			BUNDLE_SET_WHY("the bundle ends inside a member, or its zstd data is corrupt");
		if (r >= 0)
			info->files++;
		return r;
	}
	BUNDLE_SET_WHY("an unexpected member (record.json, mini, core.zst, README.txt, open.sh, sysroot/...)");
	return -EBADMSG;
}

int bundle_import(const struct store *st, int fd, const char *from_file, const struct bundle_caps *caps,
		  struct bundle_import_info *info, const char **why)
{
	struct bundle_reader *br = NULL;
	_cleanup_json_ json_object *rec = NULL;
	_cleanup_free_ char *sysdir = NULL, *part = NULL, *final = NULL, *rec_path = NULL, *pname = NULL;
	_cleanup_close_ int lock = -1, sysfd = -1, rfd = -1;
	uint64_t core_bytes = 0;
	bool locked = false;
	int r;

	memset(info, 0, sizeof(*info));
	r = bundle_reader_new(fd, caps, &br);
	if (r < 0)
		return r;
	r = bundle_import_record(br, &rec, info, why);
	if (r < 0)
		goto out;
	if (!(rec_path = store_path(st->store_dir, info->id, ".json")) ||
	    !(sysdir = store_path(st->root, BUNDLE_SYSROOT_DIR, "")) || asprintf(&pname, ".%s.part", info->id) < 0 ||
	    !(part = store_path(sysdir, pname, "")) || !(final = store_path(sysdir, info->id, ""))) {
		r = -ENOMEM;
		goto out;
	}
	if (access(rec_path, F_OK) == 0) {
		r = -EEXIST;
		goto out;
	}
	r = store_mkdirs(st);
	if (r >= 0)
		r = store_lock(st, info->id, &lock);
	if (r < 0)
		goto out;
	locked = true;
	if (access(rec_path, F_OK) == 0) { /* published while we waited */
		r = -EEXIST;
		goto out;
	}
	(void)bundle_sysroot_prune(st);
	/* ROOT/sysroot 0700: only root reaches it; inside, 0755/0644, so that
	 * the analysis user, handed the directory's fd, can read the modules. */
	if (mkdir(sysdir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		goto out;
	}
	bundle_rm_tree(part);
	bundle_rm_tree(final); /* a leftover of a crash removed since */
	if (mkdir(part, 0755) < 0 || (sysfd = open(part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fchmod(sysfd, 0755) < 0) {
		r = -errno;
		goto out;
	}
	for (;;) {
		struct bundle_member m;
		const char *w = NULL;
		r = bundle_next(br, &m, &w);
		if (r < 0)
			BUNDLE_SET_WHY(w);
		if (r <= 0)
			break;
		r = bundle_import_member(st, br, &m, rec, sysfd, info, &core_bytes, why);
		if (r < 0)
			break;
	}
	if (r == 0)
		r = bundle_reader_end(br, why);
	if (r < 0)
		goto out;
	if (info->mini)
		r = store_publish(st, info->id, ".mini");
	if (r >= 0 && info->core)
		r = store_publish(st, info->id, ".core.zst");
	if (r >= 0)
		r = bundle_import_fix(st, rec, info, core_bytes, from_file, info->files ? final : NULL);
	if (r >= 0 && info->files && rename(part, final) < 0)
		r = -errno;
	if (r >= 0)
		r = store_tmp_open(st, info->id, ".json", &rfd);
	if (r >= 0)
		r = record_write_fd(rec, rfd);
	if (r >= 0)
		r = store_publish(st, info->id, ".json");
	if (r < 0) {
		if (info->files)
			bundle_rm_tree(final);
		goto out;
	}
	(void)fsync_dir(st->store_dir);
	{
		sqlite3 *db = NULL;
		/* The record is published: an index that cannot take the row
		 * now gets it at the next rebuild (mortem reindex). */
		if (index_open(st->index_path, &db) >= 0) {
			(void)index_insert(db, rec, rec_path);
			index_close(db);
		}
	}
out:
	if (part)
		bundle_rm_tree(part);
	/* As a collector ends (or fails): temp files, unpublished store files
	 * and the lock file go. */
	if (locked)
		store_discard(st, info->id);
	bundle_reader_free(br);
	return r;
}
