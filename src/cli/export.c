/* export.c: `mortem export MATCH -o FILE` and `mortem import FILE`, a crash
 * taken to another machine as one file (store/bundle.h).
 *
 * Policy for export: the bundle holds what the store holds (the record and
 * minicore, already redacted at collection, and the core as it was stored,
 * the evidence: --no-core leaves it out, for a bundle to share), plus the
 * modules the crash loaded, as they are on this host, but only a file whose
 * build-id is the one the analysis saw: a library upgraded since the crash
 * is another file, and is named missing in README.txt rather than shipped as
 * if it were the one. Every file is streamed; nothing is read whole. */
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/text.h"
#include "base/util.h"
#include "cli/cli.h"
#include "cli/export.h"
#include "store/bundle.h"
#include "store/record.h"
#include "store/store.h"

#define EXPORT_ZSTD_LEVEL 3      /* the bundle's own compression; core.zst inside is already compressed */
#define EXPORT_BUILD_ID_MAX 64   /* bytes of a build-id compared */
#define EXPORT_MISSING_MAX 64    /* modules named missing in README.txt; the rest counted */

struct export_state {
	struct bundle_writer *w;
	char **names; /* members added under sysroot/ (no file twice) */
	size_t n_names;
	size_t modules, debug_files, missing;
	FILE *missing_text; /* README.txt's list of the modules left out */
	char *missing_buf;
	size_t missing_len;
};

/* The build-id of the ELF file at fd as lower-case hex, or "" (none, not ELF). */
static void export_build_id(int fd, char *hex, size_t len)
{
	hex[0] = '\0';
	if (elf_version(EV_CURRENT) == EV_NONE)
		return;
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	const void *id = NULL;
	ssize_t n = e ? dwelf_elf_gnu_build_id(e, &id) : -1;
	if (n > 0 && n <= EXPORT_BUILD_ID_MAX && (size_t)n * 2 < len)
		for (ssize_t i = 0; i < n; i++)
			snprintf(hex + 2 * i, 3, "%02x", ((const unsigned char *)id)[i]);
	if (e)
		elf_end(e);
}

static bool export_seen(struct export_state *s, const char *name)
{
	for (size_t i = 0; i < s->n_names; i++)
		if (strcmp(s->names[i], name) == 0)
			return true;
	return false;
}

/* Add path (absolute) as sysroot/<path> when it is a regular file whose
 * build-id is want. 1 added, 0 not (*why), < 0 a write error. */
static int export_add_file(struct export_state *s, const char *path, const char *want, const char **why)
{
	_cleanup_free_ char *name = NULL;
	char have[2 * EXPORT_BUILD_ID_MAX + 1];
	struct stat sb;
	const char *nw;

	if (asprintf(&name, "sysroot%s", path) < 0)
		return -ENOMEM;
	if (export_seen(s, name))
		return 0;
	if (bundle_name_check(name, &nw) < 0 || strlen(name) > BUNDLE_NAME_MAX) {
		*why = "a path a bundle cannot hold";
		return 0;
	}
	if (s->n_names >= BUNDLE_MEMBERS_MAX - 8) {
		*why = "BUNDLE_MEMBERS_MAX reached";
		return 0;
	}
	/* O_NONBLOCK: a fifo put at that path since does not hang us. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		*why = "not on this host";
		return 0;
	}
	export_build_id(fd, have, sizeof(have));
	if (strcmp(have, want) != 0) {
		*why = "another build on this host (build-id differs)";
		return 0;
	}
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	int r = bundle_add_fd(s->w, name, fd, (uint64_t)sb.st_size, 0644);
	if (r < 0)
		return r;
	char **grown = realloc(s->names, (s->n_names + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	s->names = grown;
	s->names[s->n_names++] = TAKE_PTR(name);
	return 1;
}

/* Every module of the record found here with its build-id, and its debug
 * file from the build-id tree when installed. */
static int export_modules(struct export_state *s, json_object *rec)
{
	json_object *mods = NULL;
	if (!json_object_object_get_ex(rec, "modules", &mods) || !json_object_is_type(mods, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(mods); i++) {
		json_object *m = json_object_array_get_idx(mods, i);
		const char *path = record_str(m, "path", NULL), *bid = record_str(m, "build_id", NULL), *why = NULL;
		if (!path || path[0] != '/' || !bid || strlen(bid) < 4 || strlen(bid) > 2 * EXPORT_BUILD_ID_MAX ||
		    strspn(bid, "0123456789abcdef") != strlen(bid))
			continue; /* the vdso, an anonymous or id-less module: nothing to find */
		int r = export_add_file(s, path, bid, &why);
		if (r < 0)
			return r;
		if (r == 0 && why) {
			s->missing++;
			if (s->missing <= EXPORT_MISSING_MAX) {
				_cleanup_free_ char *e = text_escape(path);
				fprintf(s->missing_text, "  %s (%s): %s\n", e ? e : "?", bid, why);
			}
			continue;
		}
		if (r > 0)
			s->modules++;
		_cleanup_free_ char *dbg = NULL;
		if (asprintf(&dbg, "/usr/lib/debug/.build-id/%.2s/%s.debug", bid, bid + 2) < 0)
			return -ENOMEM;
		why = NULL;
		r = export_add_file(s, dbg, bid, &why);
		if (r < 0)
			return r;
		if (r > 0)
			s->debug_files++;
	}
	return 0;
}

/* A string for a POSIX shell, single-quoted ('\'' for a quote). */
static char *export_shell_quote(const char *s)
{
	size_t n = 2;
	for (const char *p = s; *p; p++)
		n += *p == '\'' ? 4 : 1;
	char *q = malloc(n + 1), *o = q;
	if (!q)
		return NULL;
	*o++ = '\'';
	for (const char *p = s; *p; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return q;
}

static int export_texts(struct export_state *s, json_object *rec, bool core)
{
	const char *exe = record_str(rec, "exe", ""), *id = record_str(rec, "id", "?");
	_cleanup_free_ char *readme = NULL, *opensh = NULL, *qexe = NULL, *sexe = NULL, *eid = text_escape(id),
			    *eexe = text_escape(exe), *ehost = text_escape(record_str(rec, "hostname", "?"));
	int r;

	if (!eid || !eexe || !ehost || asprintf(&sexe, "./sysroot%s", exe) < 0)
		return -ENOMEM;
	if (!(qexe = export_shell_quote(sexe)))
		return -ENOMEM;
	fflush(s->missing_text);
	r = asprintf(&readme,
		     "A crash exported by mortem (mortem export), to open on another machine.\n"
		     "\n"
		     "  crash       %s\n"
		     "  host        %s\n"
		     "  executable  %s\n"
		     "\n"
		     "record.json  the crash record (environment secrets redacted at collection)\n"
		     "mini         the minicore: notes, thread stacks, module headers (gdb opens it)\n"
		     "%s"
		     "sysroot/     %zu module(s) the crash loaded, as they are on %s with the same\n"
		     "             build-id, and %zu debug file(s) under sysroot/usr/lib/debug\n"
		     "\n"
		     "Into another machine's store (root): mortem import THIS-FILE; then mortem\n"
		     "info, stacks, debug and analyze work on it, with these modules.\n"
		     "By hand: tar --zstd -xf THIS-FILE, then sh open.sh (gdb, with\n"
		     "  set sysroot ./sysroot\n"
		     "  set debug-file-directory ./sysroot/usr/lib/debug\n"
		     "  core-file core), or gdb -c mini for the stacks only.\n"
		     "\n"
		     "%s"
		     "%s%s",
		     eid, ehost, eexe,
		     core ? "core.zst     the core as stored: all the process's memory, secrets included;\n"
			    "             a bundle made with --no-core leaves it out, to share\n" :
			    "             (no core: exported with --no-core, or none was stored)\n",
		     s->modules, ehost, s->debug_files,
		     s->missing ? "Modules left out (not on the exporting host with the build-id the crash had):\n" : "",
		     s->missing_buf ? s->missing_buf : "",
		     s->missing > EXPORT_MISSING_MAX ? "  ... and more\n" : "");
	if (r < 0)
		return -ENOMEM;
	r = asprintf(&opensh,
		     "#!/bin/sh\n"
		     "# Open this crash in gdb: run from the directory the bundle was unpacked in.\n"
		     "set -e\n"
		     "cd \"$(dirname \"$0\")\"\n"
		     "core=core.zst\n"
		     "if [ -f core.zst ]; then\n"
		     "\t[ -f core ] || zstd -q -d -o core core.zst\n"
		     "\tcore=core\n"
		     "else\n"
		     "\tcore=mini\n"
		     "fi\n"
		     "exe=%s\n"
		     "[ -f \"$exe\" ] || exe=\n"
		     "exec gdb -iex 'set sysroot ./sysroot' \\\n"
		     "\t-iex 'set debug-file-directory ./sysroot/usr/lib/debug:/usr/lib/debug' \\\n"
		     "\t${exe:+\"$exe\"} -ex \"core-file $core\" \"$@\"\n",
		     qexe);
	if (r < 0)
		return -ENOMEM;
	r = bundle_add_buf(s->w, "README.txt", readme, strlen(readme), 0644);
	if (r >= 0)
		r = bundle_add_buf(s->w, "open.sh", opensh, strlen(opensh), 0755);
	return r;
}

/* A store file of the crash as a member; missing: 0 (said by the caller). */
static int export_store_file(struct export_state *s, const struct cli *c, const char *id, const char *suffix,
			     const char *name, bool *ret_added)
{
	_cleanup_free_ char *p = store_path(c->st.store_dir, id, suffix);
	struct stat sb;

	*ret_added = false;
	if (!p)
		return -ENOMEM;
	_cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return 0;
	int r = bundle_add_fd(s->w, name, fd, (uint64_t)sb.st_size, 0644);
	*ret_added = r >= 0;
	return r;
}

static int export_write(struct cli *c, const char *id, json_object *rec, int out, bool *ret_core)
{
	struct export_state s = { 0 };
	bool mini = false, core = false;
	int r;

	s.missing_text = open_memstream(&s.missing_buf, &s.missing_len);
	if (!s.missing_text)
		return -ENOMEM;
	r = bundle_writer_new(out, EXPORT_ZSTD_LEVEL, &s.w);
	if (r >= 0) {
		const char *js = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
		r = js ? bundle_add_buf(s.w, "record.json", js, strlen(js), 0644) : -ENOMEM;
	}
	if (r >= 0)
		r = export_store_file(&s, c, id, ".mini", "mini", &mini);
	if (r >= 0 && !c->no_core)
		r = export_store_file(&s, c, id, ".core.zst", "core.zst", &core);
	if (r >= 0)
		r = export_modules(&s, rec);
	if (r >= 0)
		r = export_texts(&s, rec, core);
	if (r >= 0)
		r = bundle_writer_finish(s.w);
	bundle_writer_free(s.w);
	fclose(s.missing_text);
	free(s.missing_buf);
	for (size_t i = 0; i < s.n_names; i++)
		free(s.names[i]);
	free(s.names);
	if (r >= 0) {
		_cleanup_free_ char *e = text_escape(id);
		fprintf(stderr, "exported %s: record, %s, %s, %zu module(s), %zu debug file(s)", e ? e : "?",
			mini ? "minicore" : "no minicore",
			core ? "core" : c->no_core ? "no core (--no-core)" : "no core (none stored)", s.modules,
			s.debug_files);
		if (s.missing)
			fprintf(stderr, "; %zu module(s) not on this host with the crash's build-id (README.txt)",
				s.missing);
		fputc('\n', stderr);
		*ret_core = core;
	}
	return r;
}

int export_crash(struct cli *c, const char *match)
{
	struct index_row *rows = NULL;
	size_t n = 0;
	json_object *rec = NULL;
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	bool to_stdout = !c->output || strcmp(c->output, "-") == 0, core = false;
	int r;

	if (!match && c->n_terms == 0) {
		cli_err("export needs a MATCH: an id, a PID, a command name or an executable");
		return EXIT_USAGE;
	}
	if (to_stdout && isatty(STDOUT_FILENO)) {
		cli_err("refusing to write a bundle to a terminal: use -o FILE or redirect standard output");
		return EXIT_USAGE;
	}
	r = cli_pick(c, match, &rows, &n);
	if (r != 0)
		return r;
	_cleanup_free_ char *id = strdup(rows[0].id);
	r = record_load(rows[0].record_path, &rec);
	index_rows_free(rows, n);
	if (!id) {
		json_object_put(rec);
		cli_err("out of memory");
		return EXIT_FAILURE;
	}
	if (r < 0) {
		cli_err("cannot read the record of %s: %s", id, strerror(-r));
		return EXIT_FAILURE;
	}
	if (!to_stdout) {
		/* Next to FILE, renamed over it when complete: a bundle cut by
		 * an error or a full disk is never left under its name. */
		if (asprintf(&tmp, "%s.XXXXXX", c->output) < 0 || (fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
			cli_err("cannot create a file next to %s: %m", c->output);
			json_object_put(rec);
			return EXIT_FAILURE;
		}
	}
	r = export_write(c, id, rec, to_stdout ? STDOUT_FILENO : fd, &core);
	json_object_put(rec);
	if (r >= 0 && !to_stdout && (fsync(fd) < 0 || rename(tmp, c->output) < 0))
		r = -errno;
	if (r < 0) {
		if (tmp)
			(void)unlink(tmp);
		cli_err("cannot export %s: %s", id, strerror(-r));
		return EXIT_FAILURE;
	}
	return 0;
}

int export_import(struct cli *c, const char *file)
{
	struct bundle_import_info info;
	const char *why = NULL;
	_cleanup_close_ int fd = -1;
	bool from_stdin = strcmp(file, "-") == 0;

	fd = from_stdin ? dup(STDIN_FILENO) : open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		cli_err("cannot open %s: %m", file);
		return EXIT_FAILURE;
	}
	int r = bundle_import(&c->st, fd, from_stdin ? NULL : file, NULL, &info, &why);
	if (r == -EEXIST) {
		cli_err("crash %s is already in the store (mortem info %s); nothing imported", info.id, info.id);
		return EXIT_FAILURE;
	}
	if (r == -EBADMSG) {
		cli_err("refusing %s: %s; nothing imported", file, why ? why : "not a mortem bundle");
		return EXIT_FAILURE;
	}
	if (r < 0) {
		cli_err("cannot import %s: %s", file, strerror(-r));
		return EXIT_FAILURE;
	}
	_cleanup_free_ char *e = text_escape(info.id);
	printf("imported %s: %s, %s, %zu file(s) in its sysroot\n", e ? e : "?", info.mini ? "minicore" : "no minicore",
	       info.core ? "core" : "no core", info.files);
	return 0;
}
