/* Unwinding with libdwfl, after elfutils src/stack.c: dwfl_begin →
 * dwfl_core_file_report → dwfl_report_end → dwfl_core_file_attach →
 * dwfl_getthreads → dwfl_thread_getframes, then each pc symbolized with the
 * module's symbol table, line table and inline scopes. Every count the core
 * controls is capped, and reaching a cap is written into the output. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "base/json.h"
#include "analysis/unwind.h"
#include "base/util.h"

#define UNWIND_BUILD_ID_MAX 64   /* bytes of a build-id shown (SHA-1 is 20) */
#define PRSTATUS_PID_OFF    32   /* pr_pid in struct elf_prstatus, 64-bit Linux */
#define UNWIND_FILES_MAX    65536 /* NT_FILE entries used to name modules */

/* libdwfl's find_elf callback has no user pointer: the root it searches is
 * thread-local, set for the length of one unwind_core_fd call. */
static __thread int unwind_root_fd = -1;
static __thread const struct proc_file *unwind_files;
static __thread size_t unwind_nfiles;
/* Module paths with " (deleted)" cut off, alive until unwind_core_fd returns
 * (frames point at them). */
static __thread char **unwind_paths;
static __thread size_t unwind_npaths;
static __thread bool unwind_local_only;
static __thread char unwind_err[256];

const char *unwind_last_error(void)
{
	return unwind_err[0] ? unwind_err : "no error";
}

static int unwind_fail(int r, const char *what, const char *detail)
{
	snprintf(unwind_err, sizeof(unwind_err), "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
	return r;
}

static void dwfl_endp(Dwfl **d)
{
	if (*d)
		dwfl_end(*d);
}
static void elf_endp(Elf **e)
{
	if (*e)
		elf_end(*e);
}
#define _cleanup_dwfl_ __attribute__((cleanup(dwfl_endp)))
#define _cleanup_elf_  __attribute__((cleanup(elf_endp)))

/* A file the analysis opens by a path that the crashed process (or whoever
 * owns its root) chose may be anything: a FIFO would hold a plain open until
 * a writer came (fifo_open waits), a device would do worse. So every such
 * open is O_NONBLOCK (an open of a FIFO for reading returns at once), then
 * refused unless fstat says a regular file, then blocking again for the reads
 * libelf makes. fd is consumed. */
static int unwind_regular(int fd)
{
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -UNWIND_ENOTREG;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || ((fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int unwind_open_regular(int root, const char *path)
{
	const int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	long fd;

	if (root < 0) {
		fd = open(path, flags);
	} else {
		/* symlinks and ".." resolved inside root, as the process saw it */
		struct open_how how = { .flags = flags, .resolve = RESOLVE_IN_ROOT };
		fd = syscall(SYS_openat2, root, path, &how, sizeof(how));
	}
	return unwind_regular(fd < 0 ? -errno : (int)fd);
}

const char *unwind_open_strerror(int r)
{
	return r == -UNWIND_ENOTREG ? "not a regular file" : strerror(-r);
}

static int unwind_find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			   char **file_name, Elf **elfp)
{
	/* libdwfl checks the build-id of what we return and rejects a mismatch. */
	if (modname && modname[0] == '/') {
		/* The file the process ran, opened while it lived, if it is
		 * gone from its path or not for us to read (NT_FILE names a
		 * deleted one "PATH (deleted)"). */
		bool deleted;
		size_t len = path_undeleted_len(modname, &deleted);
		for (size_t i = 0; i < unwind_nfiles; i++) {
			const char *p = unwind_files[i].path;
			if (!p || strlen(p) != len || strncmp(p, modname, len) != 0)
				continue;
			int fd = unwind_regular(fcntl(unwind_files[i].fd, F_DUPFD_CLOEXEC, 0));
			if (fd >= 0) {
				*file_name = strndup(modname, len);
				*elfp = NULL;
				return fd;
			}
		}
		int fd = unwind_open_regular(unwind_root_fd, modname);
		if (fd >= 0) {
			*file_name = strdup(modname);
			*elfp = NULL;
			return fd;
		}
	}
	if (unwind_local_only)
		return -1;
	/* /usr/lib/debug/.build-id (root's), then debuginfod (its cache is
	 * the analysis user's own): no path the crash chose. */
	return dwfl_build_id_find_elf(mod, userdata, modname, base, file_name, elfp);
}

/* The build-id of the file at fd is the module's (or the module has none to
 * compare). */
static bool unwind_same_build_id(Dwfl_Module *mod, int fd)
{
	const unsigned char *want;
	GElf_Addr vaddr;
	int wlen = dwfl_module_build_id(mod, &want, &vaddr);
	if (wlen <= 0)
		return true;
	_cleanup_elf_ Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	const void *have;
	ssize_t hlen = e ? dwelf_elf_gnu_build_id(e, &have) : -1;
	return hlen == wlen && memcmp(have, want, (size_t)wlen) == 0;
}

/* .gnu_debuglink, where GDB and elfutils look for it: next to the file, in
 * its .debug/, and under /usr/lib/debug/ + its directory, all beneath the
 * process's root and opened as above. libdwfl's own search would open these
 * paths (chosen by the crash) with a blocking open. */
static int unwind_find_debuglink(Dwfl_Module *mod, const char *file_name, const char *link, char **found)
{
	if (!file_name || file_name[0] != '/' || !link || !link[0] || strchr(link, '/'))
		return -1;
	int dirlen = (int)(strrchr(file_name, '/') - file_name);
	for (int i = 0; i < 3; i++) {
		char *path = NULL;
		int n = i == 0 ? asprintf(&path, "%.*s/%s", dirlen, file_name, link) :
			i == 1 ? asprintf(&path, "%.*s/.debug/%s", dirlen, file_name, link) :
				 asprintf(&path, "/usr/lib/debug%.*s/%s", dirlen, file_name, link);
		if (n < 0)
			return -1;
		if (strcmp(path, file_name) == 0) { /* the module itself */
			free(path);
			continue;
		}
		int fd = unwind_open_regular(unwind_root_fd, path);
		if (fd >= 0 && unwind_same_build_id(mod, fd)) {
			*found = path;
			return fd;
		}
		if (fd >= 0)
			close(fd);
		free(path);
	}
	return -1;
}

static int unwind_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
				 const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
				 char **debuginfo_file_name)
{
	/* The build-id tree (/usr/lib/debug/.build-id, root's own) covers the
	 * distributions' debug packages; then .gnu_debuglink, opened here;
	 * then, when it is on, debuginfod. The standard search is asked with
	 * no file name and no debuglink, so that it opens no path of the
	 * crash's choosing: it tries the build-id tree and debuginfod only. */
	int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file, debuglink_crc,
					      debuginfo_file_name);
	if (fd >= 0)
		return fd;
	/* libdwfl gives no file name for a main file it opened itself (from
	 * NT_FILE): the path unwind_modules found is in userdata, else the
	 * module's name may be one */
	const char *path = file_name ? file_name : userdata && *userdata ? (const char *)*userdata : modname;
	fd = unwind_find_debuglink(mod, path, debuglink_file, debuginfo_file_name);
	if (fd >= 0 || unwind_local_only)
		return fd;
	return dwfl_standard_find_debuginfo(mod, userdata, modname, base, NULL, NULL, 0, debuginfo_file_name);
}

/* Absolute only: libdwfl's build-id lookups stay in root's /usr/lib/debug,
 * and its path search (relative entries: the module's own directory) is
 * never asked (unwind_find_debuginfo). */
static char unwind_debuginfo_dir[] = "/usr/lib/debug";
static char *unwind_debuginfo_path = unwind_debuginfo_dir;
static const Dwfl_Callbacks unwind_callbacks = {
	.find_elf = unwind_find_elf,
	.find_debuginfo = unwind_find_debuginfo,
	.debuginfo_path = &unwind_debuginfo_path,
};

static json_object *unwind_hex(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

static json_object *unwind_str(const char *s)
{
	return s ? json_object_new_string_len(s, (int)strnlen(s, UNWIND_NAME_MAX)) : NULL;
}

static json_object *unwind_build_id(Dwfl_Module *mod)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &bits, &vaddr);
	if (n <= 0)
		return NULL;
	if (n > UNWIND_BUILD_ID_MAX)
		n = UNWIND_BUILD_ID_MAX;
	char hex[2 * UNWIND_BUILD_ID_MAX + 1];
	for (int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", bits[i]);
	return json_object_new_string_len(hex, 2 * n);
}

/* A mapped file as NT_FILE names it: the path the crashed process used. */
struct unwind_file {
	uint64_t start, end;
	const char *path;       /* points into the core's note data */
};

/* What the core's notes say beyond what libdwfl exposes. */
struct unwind_notes {
	pid_t first_tid;        /* first NT_PRSTATUS: the dumping thread */
	uint64_t at_entry;      /* AT_ENTRY: inside the main executable */
	uint64_t at_vdso;       /* AT_SYSINFO_EHDR: the vDSO's ELF header */
	struct unwind_file *files; /* sorted by start */
	size_t nfiles;
};

static int unwind_file_cmp(const void *a, const void *b)
{
	const struct unwind_file *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* NT_FILE: count, page size, count × (start, end, file offset), then count
 * NUL-terminated paths. */
static void unwind_read_nt_file(const unsigned char *desc, size_t len, struct unwind_notes *n)
{
	uint64_t count;

	if (n->files || len < 16)
		return;
	memcpy(&count, desc, sizeof(count));
	if (count > UNWIND_FILES_MAX || (len - 16) / 24 < count)
		return;
	n->files = calloc(count ? count : 1, sizeof(*n->files));
	if (!n->files)
		return;
	const char *p = (const char *)desc + 16 + 24 * count, *end = (const char *)desc + len;
	for (uint64_t i = 0; i < count && p < end; i++) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		if (!nul)
			break;
		uint64_t se[2];
		memcpy(se, desc + 16 + 24 * i, sizeof(se));
		n->files[n->nfiles++] = (struct unwind_file){ se[0], se[1], p };
		p = nul + 1;
	}
	qsort(n->files, n->nfiles, sizeof(*n->files), unwind_file_cmp);
}

/* The path of the file mapped at addr, or NULL. */
static const char *unwind_file_at(const struct unwind_notes *n, uint64_t addr)
{
	size_t lo = 0, hi = n->nfiles;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (n->files[mid].end <= addr)
			lo = mid + 1;
		else if (n->files[mid].start > addr)
			hi = mid;
		else
			return n->files[mid].path;
	}
	return NULL;
}

static void unwind_read_notes(Elf *core, struct unwind_notes *n)
{
	size_t phnum;

	*n = (struct unwind_notes){ 0 };
	if (elf_getphdrnum(core, &phnum) != 0)
		return;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(core, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		Elf_Data *d = elf_getdata_rawchunk(core, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
		if (!d)
			continue;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;
		while (off < d->d_size && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			const unsigned char *desc = (const unsigned char *)d->d_buf + desc_off;
			if (nh.n_type == NT_PRSTATUS && n->first_tid == 0 &&
			    nh.n_descsz >= PRSTATUS_PID_OFF + sizeof(int32_t)) {
				int32_t tid;
				memcpy(&tid, desc + PRSTATUS_PID_OFF, sizeof(tid));
				n->first_tid = tid;
			} else if (nh.n_type == NT_AUXV) {
				for (size_t a = 0; nh.n_descsz - a >= 2 * sizeof(uint64_t); a += 2 * sizeof(uint64_t)) {
					uint64_t kv[2];
					memcpy(kv, desc + a, sizeof(kv));
					if (kv[0] == AT_ENTRY)
						n->at_entry = kv[1];
					else if (kv[0] == AT_SYSINFO_EHDR)
						n->at_vdso = kv[1];
				}
			} else if (nh.n_type == NT_FILE) {
				unwind_read_nt_file(desc, nh.n_descsz, n);
			}
		}
	}
}

/* ---- modules ---- */

struct unwind_mod {
	Dwfl_Module *mod;
	Dwarf_Addr start, end;
};

struct unwind_mods {
	struct unwind_mod *v;
	size_t n;
	bool truncated;
};

static int unwind_module_cb(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start, void *arg)
{
	struct unwind_mods *m = arg;
	Dwarf_Addr low, high;

	if (m->n >= UNWIND_MODULES_MAX) {
		m->truncated = true;
		return DWARF_CB_ABORT;
	}
	(void)dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	m->v[m->n++] = (struct unwind_mod){ mod, low, high };
	return DWARF_CB_OK;
}

static int unwind_mod_cmp(const void *a, const void *b)
{
	const struct unwind_mod *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* The kernel names a file that was removed or replaced after it was mapped
 * "PATH (deleted)". The module is PATH all the same (an upgraded binary is the
 * usual case): cut the suffix, so that on_disk compares with what is at PATH
 * now and the signature does not change with the upgrade. */
static const char *unwind_clean_path(const char *path, bool *deleted)
{
	*deleted = false;
	if (!path)
		return path;
	size_t n = path_undeleted_len(path, deleted);
	if (!*deleted)
		return path;
	*deleted = false;
	char **np = realloc(unwind_paths, (unwind_npaths + 1) * sizeof(*np));
	if (!np)
		return path;
	unwind_paths = np;
	char *c = strndup(path, n);
	if (!c)
		return path;
	unwind_paths[unwind_npaths++] = c;
	*deleted = true;
	return c;
}

/* Compare the build-id in the core with the file the crashed process had
 * mapped, as it is on disk now: "match", "mismatch", "missing" or
 * "unreadable" (there, but not for the analysis user, or not a regular file:
 * *open_error says why); NULL when there is nothing to compare. */
static const char *unwind_on_disk(Dwfl_Module *mod, const char *path, int *open_error)
{
	const unsigned char *want;
	GElf_Addr vaddr;
	int wlen = dwfl_module_build_id(mod, &want, &vaddr);

	if (!path || path[0] != '/')
		return NULL;
	_cleanup_close_ int fd = unwind_open_regular(unwind_root_fd, path);
	if (fd < 0) {
		*open_error = fd;
		return fd == -EACCES || fd == -EPERM || fd == -UNWIND_ENOTREG ? "unreadable" : "missing";
	}
	if (wlen <= 0)
		return NULL;
	_cleanup_elf_ Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return "mismatch"; /* there, but not an ELF file */
	const void *have;
	ssize_t hlen = dwelf_elf_gnu_build_id(e, &have);
	return hlen == wlen && memcmp(have, want, (size_t)wlen) == 0 ? "match" : "mismatch";
}

static int unwind_modules(Dwfl *dwfl, const struct unwind_notes *notes, json_object *out)
{
	struct unwind_mods m = { 0 };
	bool vdso_seen = false;

	m.v = calloc(UNWIND_MODULES_MAX, sizeof(*m.v));
	if (!m.v)
		return -ENOMEM;
	if (dwfl_getmodules(dwfl, unwind_module_cb, &m, 0) < 0 && !m.truncated) {
		free(m.v);
		return unwind_fail(-EBADMSG, "listing modules", dwfl_errmsg(-1));
	}
	qsort(m.v, m.n, sizeof(*m.v), unwind_mod_cmp);

	json_object *arr = json_object_new_array_ext((int)m.n);
	if (!arr) {
		free(m.v);
		return -ENOMEM;
	}
	json_object_object_add(out, "modules", arr);
	for (size_t i = 0; i < m.n; i++) {
		Dwfl_Module *mod = m.v[i].mod;
		void **userdata;
		const char *mainfile = NULL;
		const char *name = dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, &mainfile, NULL);
		/* Name it as the crashed process did (NT_FILE); libdwfl names modules
		 * from the link map by basename. Frames find the name in userdata. */
		const char *path = unwind_file_at(notes, m.v[i].start);
		if (!path && mainfile && mainfile[0] == '/' && unwind_root_fd < 0)
			path = mainfile;
		if (!path)
			path = name;
		bool deleted = false;
		path = unwind_clean_path(path, &deleted);
		*userdata = (void *)path;
		const char *kind = "library";
		if (notes->at_vdso && m.v[i].start == notes->at_vdso) {
			kind = "vdso";
			vdso_seen = true;
		} else if (notes->at_entry >= m.v[i].start && notes->at_entry < m.v[i].end) {
			kind = "executable";
		}
		json_object *j = json_object_new_object();
		if (!j) {
			free(m.v);
			return -ENOMEM;
		}
		json_object_array_add(arr, j);
		json_object_object_add(j, "path", unwind_str(path));
		json_object_object_add(j, "build_id", unwind_build_id(mod));
		json_object_object_add(j, "start", unwind_hex(m.v[i].start));
		json_object_object_add(j, "end", unwind_hex(m.v[i].end));
		json_object_object_add(j, "kind", json_object_new_string(kind));
		int oerr = 0;
		const char *od = strcmp(kind, "vdso") ? unwind_on_disk(mod, path, &oerr) : NULL;
		json_object_object_add(j, "on_disk", od ? json_object_new_string(od) : NULL);
		if (od && !strcmp(od, "unreadable"))
			json_object_object_add(j, "open_error", json_object_new_string(unwind_open_strerror(oerr)));
		if (deleted)
			json_object_object_add(j, "deleted", json_object_new_boolean(true));
	}
	json_object_object_add(out, "modules_truncated", json_object_new_boolean(m.truncated));
	json_object_object_add(out, "vdso", notes->at_vdso ? unwind_hex(notes->at_vdso) : NULL);
	json_object_object_add(out, "vdso_in_core", json_object_new_boolean(vdso_seen));
	free(m.v);
	return 0;
}

/* ---- threads and frames ---- */

struct unwind_ctx {
	Dwfl *dwfl;
	const struct unwind_opts *o;
	json_object *threads;   /* array being filled */
	size_t nthreads;
	size_t total_frames;
	bool threads_truncated, frames_truncated;
	int error;              /* negative errno that stops the walk */
};

struct unwind_thread {
	struct unwind_ctx *c;
	json_object *frames;
	size_t n;
	bool truncated;
};

/* Room for one more frame? Records the cap that was reached. */
static bool unwind_room(struct unwind_thread *t)
{
	if (t->n >= UNWIND_FRAMES_MAX) {
		t->truncated = true;
		return false;
	}
	if (t->c->total_frames >= UNWIND_TOTAL_FRAMES_MAX) {
		t->truncated = true;
		t->c->frames_truncated = true;
		return false;
	}
	return true;
}

struct unwind_frame {
	Dwarf_Addr pc;
	Dwfl_Module *mod;
	const char *modname;
	Dwarf_Addr mod_start;
	const char *function;
	bool has_offset;
	uint64_t offset;
	const char *file;
	int line;
	bool inlined;
};

static int unwind_emit(struct unwind_thread *t, const struct unwind_frame *f)
{
	json_object *j = json_object_new_object();
	if (!j)
		return -ENOMEM;
	json_object_object_add(j, "pc", unwind_hex(f->pc));
	json_object_object_add(j, "module", unwind_str(f->modname));
	json_object_object_add(j, "build_id", f->mod ? unwind_build_id(f->mod) : NULL);
	json_object_object_add(j, "function", unwind_str(f->function));
	json_object_object_add(j, "offset", f->has_offset ? json_object_new_int64((int64_t)f->offset) : NULL);
	json_object_object_add(j, "module_offset",
			       f->mod ? json_object_new_int64((int64_t)(f->pc - f->mod_start)) : NULL);
	json_object_object_add(j, "file", unwind_str(f->file));
	json_object_object_add(j, "line", f->line > 0 ? json_object_new_int(f->line) : NULL);
	json_object_object_add(j, "inlined", json_object_new_boolean(f->inlined));
	json_object_array_add(t->frames, j);
	t->n++;
	t->c->total_frames++;
	return 0;
}

static const char *unwind_die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
	return name;
}

/* Where the inlined instance die was called from. */
static const char *unwind_call_site(Dwarf_Die *cudie, Dwarf_Die *die, int *line)
{
	Dwarf_Files *files;
	Dwarf_Attribute attr;
	Dwarf_Word val;

	*line = 0;
	if (dwarf_getsrcfiles(cudie, &files, NULL) != 0 ||
	    dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &val) != 0)
		return NULL;
	const char *file = dwarf_filesrc(files, val, NULL, NULL);
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &val) == 0 && val <= INT32_MAX)
		*line = (int)val;
	return file;
}

/* The frames at one pc: the inlined calls innermost first (as eu-stack -i),
 * then the function they were inlined into; without inline scopes, one. */
static int unwind_symbolize(struct unwind_thread *t, Dwarf_Addr pc, bool isactivation)
{
	/* A return address points after the call: look up the call itself. */
	Dwarf_Addr adj = pc - (isactivation ? 0 : 1);
	struct unwind_frame f = { .pc = pc };
	GElf_Off off;
	GElf_Sym sym;
	int r;

	f.mod = dwfl_addrmodule(t->c->dwfl, adj);
	if (f.mod) {
		void **userdata;
		f.modname = dwfl_module_info(f.mod, &userdata, &f.mod_start, NULL, NULL, NULL, NULL, NULL);
		if (*userdata)
			f.modname = *userdata; /* the path unwind_modules found */
		f.function = dwfl_module_addrinfo(f.mod, adj, &off, &sym, NULL, NULL, NULL);
		if (f.function) {
			f.has_offset = true;
			f.offset = pc - (adj - off);
		}
		Dwfl_Line *l = dwfl_module_getsrc(f.mod, adj);
		if (l)
			f.file = dwfl_lineinfo(l, NULL, &f.line, NULL, NULL, NULL);
	}

	Dwarf_Addr bias;
	Dwarf_Die *cudie = f.mod ? dwfl_module_addrdie(f.mod, adj, &bias) : NULL;
	Dwarf_Die *scopes = NULL;
	int nscopes = cudie ? dwarf_getscopes(cudie, adj - bias, &scopes) : 0;
	if (nscopes <= 0 || dwarf_tag(&scopes[0]) != DW_TAG_inlined_subroutine) {
		free(scopes);
		return unwind_emit(t, &f);
	}

	Dwarf_Die *chain = NULL;
	int nchain = dwarf_getscopes_die(&scopes[0], &chain);
	free(scopes);
	if (nchain <= 0) {
		free(chain);
		return unwind_emit(t, &f);
	}
	/* chain[0]: the innermost inlined body, where pc is; its source position
	 * is the line table's. Each outer scope's position is the call site of
	 * the scope inside it. */
	struct unwind_frame in = f;
	in.function = unwind_die_name(&chain[0]);
	in.has_offset = false;
	in.inlined = true;
	Dwarf_Die *last = &chain[0];
	r = 0;
	for (int i = 1; i < nchain && r == 0; i++) {
		int tag = dwarf_tag(&chain[i]);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_entry_point && tag != DW_TAG_subprogram)
			continue;
		if (!unwind_room(t))
			break;
		r = unwind_emit(t, &in);
		in = f;
		in.file = unwind_call_site(cudie, last, &in.line);
		if (tag == DW_TAG_subprogram) {
			/* the real function: keep the symbol table's name and offset */
			if (!in.function)
				in.function = unwind_die_name(&chain[i]);
			in.inlined = false;
			in.mod = f.mod;
			last = NULL;
			break;
		}
		in.function = unwind_die_name(&chain[i]);
		in.has_offset = false;
		in.inlined = true;
		last = &chain[i];
	}
	if (r == 0 && unwind_room(t))
		r = unwind_emit(t, &in);
	free(chain);
	return r;
}

static int unwind_frame_cb(Dwfl_Frame *state, void *arg)
{
	struct unwind_thread *t = arg;
	Dwarf_Addr pc;
	bool isactivation;

	if (!unwind_room(t))
		return DWARF_CB_ABORT;
	if (!dwfl_frame_pc(state, &pc, &isactivation))
		return -1; /* the walk ends with libdwfl's error */
	int r = unwind_symbolize(t, pc, isactivation);
	if (r < 0) {
		t->c->error = r;
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

static const char *unwind_thread_name(const struct unwind_opts *o, pid_t tid)
{
	if (!o->thread_names || !json_object_is_type(o->thread_names, json_type_array))
		return NULL;
	size_t n = json_object_array_length(o->thread_names);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(o->thread_names, i), *v;
		if (json_object_object_get_ex(e, "tid", &v) && json_object_get_int64(v) == tid &&
		    json_object_object_get_ex(e, "comm", &v) && json_object_is_type(v, json_type_string))
			return json_object_get_string(v);
	}
	return NULL;
}

static int unwind_thread_cb(Dwfl_Thread *thread, void *arg)
{
	struct unwind_ctx *c = arg;
	pid_t tid = dwfl_thread_tid(thread);

	if (c->nthreads >= UNWIND_THREADS_MAX) {
		c->threads_truncated = true;
		return DWARF_CB_ABORT;
	}
	json_object *j = json_object_new_object();
	json_object *frames = json_object_new_array();
	if (!j || !frames) {
		json_object_put(j);
		json_object_put(frames);
		c->error = -ENOMEM;
		return DWARF_CB_ABORT;
	}
	json_object_array_add(c->threads, j);
	c->nthreads++;
	json_object_object_add(j, "tid", json_object_new_int(tid));
	json_object_object_add(j, "name", unwind_str(unwind_thread_name(c->o, tid)));
	json_object_object_add(j, "crashed", json_object_new_boolean(false));
	json_object_object_add(j, "frames", frames);

	struct unwind_thread t = { .c = c, .frames = frames };
	int r = dwfl_thread_getframes(thread, unwind_frame_cb, &t);
	/* Many walks end in an error past the outermost frame (no CFI for
	 * _start or clone): kept, for the stacks that end too early. */
	const char *err = r < 0 ? dwfl_errmsg(-1) : NULL;
	json_object_object_add(j, "truncated", json_object_new_boolean(t.truncated));
	json_object_object_add(j, "error", unwind_str(err));
	return c->error < 0 ? DWARF_CB_ABORT : DWARF_CB_OK;
}

static int unwind_threads(Dwfl *dwfl, Elf *core, const struct unwind_opts *o, const struct unwind_notes *notes,
			  json_object *out)
{
	struct unwind_ctx c = { .dwfl = dwfl, .o = o };
	_cleanup_json_ json_object *all = json_object_new_array();
	const char *err = NULL;

	if (!all)
		return -ENOMEM;
	c.threads = all;
	if (dwfl_core_file_attach(dwfl, core) < 0)
		err = dwfl_errmsg(-1);
	else if (dwfl_getthreads(dwfl, unwind_thread_cb, &c) < 0 && !c.threads_truncated && c.error == 0)
		err = dwfl_errmsg(-1);
	if (c.error < 0)
		return c.error;

	/* The crashing thread first, the others in the core's order. */
	pid_t crashed = o->crashed_tid > 0 ? o->crashed_tid : notes->first_tid;
	json_object *arr = json_object_new_array_ext((int)c.nthreads);
	if (!arr)
		return -ENOMEM;
	json_object_object_add(out, "threads", arr);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < c.nthreads; i++) {
			json_object *t = json_object_array_get_idx(all, i), *v;
			bool is = json_object_object_get_ex(t, "tid", &v) && json_object_get_int(v) == crashed;
			if (is != (pass == 0))
				continue;
			if (is)
				json_object_object_add(t, "crashed", json_object_new_boolean(true));
			json_object_array_add(arr, json_object_get(t));
		}
	json_object_object_add(out, "threads_truncated", json_object_new_boolean(c.threads_truncated));
	json_object_object_add(out, "frames_truncated", json_object_new_boolean(c.frames_truncated));
	json_object_object_add(out, "threads_error", unwind_str(err));
	return 0;
}

static int unwind_core_elf(int fd, const struct unwind_opts *o, json_object **ret)
{
	(void)elf_version(EV_CURRENT);
	_cleanup_elf_ Elf *core = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;
	if (!core || elf_kind(core) != ELF_K_ELF || !gelf_getehdr(core, &eh) || eh.e_type != ET_CORE)
		return unwind_fail(-EBADMSG, "not an ELF core", core ? NULL : elf_errmsg(-1));
	struct unwind_notes notes;
	unwind_read_notes(core, &notes);
	_cleanup_free_ struct unwind_file *files = notes.files;

	/* Declared after core so that it is cleaned up first: dwfl uses core. */
	_cleanup_dwfl_ Dwfl *dwfl = dwfl_begin(&unwind_callbacks);
	if (!dwfl)
		return unwind_fail(-ENOMEM, "dwfl_begin", dwfl_errmsg(-1));
	dwfl_report_begin(dwfl);
	if (dwfl_core_file_report(dwfl, core, NULL) < 0)
		return unwind_fail(-EBADMSG, "reading the core's modules", dwfl_errmsg(-1));
	if (dwfl_report_end(dwfl, NULL, NULL) != 0)
		return unwind_fail(-EBADMSG, "dwfl_report_end", dwfl_errmsg(-1));

	_cleanup_json_ json_object *out = json_object_new_object();
	if (!out)
		return -ENOMEM;
	int r = unwind_modules(dwfl, &notes, out);
	if (r < 0)
		return r;
	r = unwind_threads(dwfl, core, o, &notes, out);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(out);
	return 0;
}

int unwind_core_fd(int fd, const struct unwind_opts *o, json_object **ret)
{
	static const struct unwind_opts defaults = { .sysroot_fd = -1 };
	_cleanup_close_ int root = -1;

	if (!o)
		o = &defaults;
	unwind_err[0] = '\0';
	if (o->sysroot_fd >= 0) {
		unwind_root_fd = o->sysroot_fd;
	} else if (o->sysroot && o->sysroot[0] && strcmp(o->sysroot, "/") != 0) {
		root = open(o->sysroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root < 0)
			return unwind_fail(-errno, "opening sysroot", o->sysroot);
		unwind_root_fd = root;
	} else {
		unwind_root_fd = -1;
	}
	unwind_local_only = o->no_debuginfod;
	unwind_files = o->files;
	unwind_nfiles = o->files ? o->n_files : 0;
	int r = unwind_core_elf(fd, o, ret);
	unwind_files = NULL;
	unwind_nfiles = 0;
	for (size_t i = 0; i < unwind_npaths; i++)
		free(unwind_paths[i]);
	free(unwind_paths);
	unwind_paths = NULL;
	unwind_npaths = 0;
	unwind_root_fd = -1;
	unwind_local_only = false;
	return r;
}

int unwind_core(const char *core_path, const struct unwind_opts *o, json_object **ret)
{
	_cleanup_close_ int fd = unwind_open_regular(-1, core_path);
	if (fd < 0)
		return unwind_fail(fd, "opening core", core_path);
	return unwind_core_fd(fd, o, ret);
}
