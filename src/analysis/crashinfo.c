/* What the notes of a (mini)core say, for the record: the signal with its fault
 * address placed in the address space, each thread's registers, and from those
 * plus the unwound stacks the slogan and the signature. Runs in the sandboxed
 * analysis child: the notes are the crashed process's own bytes. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis/crashinfo.h"
#include "core/elfcore.h"
#include "core/minicore.h"
#include "core/siginfo.h"
#include "base/util.h"
#include "analysis/verdict.h"

static json_object *crashinfo_hex(uint64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "0x%" PRIx64, v);
	return json_object_new_string(b);
}

/* The layout note the collector adds to a minicore: every original PT_LOAD. */
struct crashinfo_layout {
	struct elfcore_load *loads;
	size_t n;
};

static int crashinfo_layout_cb(void *userdata, const struct elfcore_note *n)
{
	struct crashinfo_layout *l = userdata;
	if (n->type != MINICORE_NT_LAYOUT || strcmp(n->name, MINICORE_NOTE_NAME) != 0 || l->loads)
		return 0;
	size_t count = n->descsz / 24;
	if (count == 0 || count > ELFCORE_PHNUM_MAX)
		return 0;
	l->loads = calloc(count, sizeof(*l->loads));
	if (!l->loads)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		uint64_t e[3];
		memcpy(e, n->desc + i * 24, sizeof(e));
		l->loads[i] = (struct elfcore_load){ .vaddr = e[0], .memsz = e[1], .flags = (uint32_t)e[2] };
	}
	l->n = count;
	return 1;
}

/* siginfo_place's regions in the words of verdict_slogan. */
static void crashinfo_verdict_region(const struct siginfo_place *pl, struct verdict_siginfo *vs, char *name,
				     size_t len)
{
	vs->region_thread = -1;
	if (!strcmp(pl->region, "stack-guard")) {
		vs->region = "below-stack";
		vs->region_thread = (int)pl->thread + 1;
	} else if (!strcmp(pl->region, "module") && pl->path) {
		const char *slash = strrchr(pl->path, '/');
		snprintf(name, len, "%s", slash ? slash + 1 : pl->path);
		vs->region = name;
	} else if (!strcmp(pl->region, "mapping")) {
		vs->region = "an anonymous mapping";
	} else {
		vs->region = "unmapped";
	}
}

static void crashinfo_registers(const struct elfcore_info *info, json_object *threads)
{
	size_t nnames = 0;
	const char *const *names = elfcore_reg_names(info->machine, &nnames);
	size_t n = threads ? json_object_array_length(threads) : 0;

	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(threads, i), *tid;
		if (!json_object_object_get_ex(t, "tid", &tid))
			continue;
		for (size_t k = 0; k < info->nthreads; k++) {
			const struct elfcore_thread *et = &info->threads[k];
			if (et->tid != json_object_get_int(tid))
				continue;
			json_object *regs = json_object_new_object();
			for (size_t r = 0; r < et->nregs && r < nnames; r++)
				json_object_object_add(regs, et->regs[r].name ? et->regs[r].name : names[r],
						       crashinfo_hex(et->regs[r].value));
			json_object_object_add(t, "registers", regs);
			break;
		}
	}
}

int crashinfo_add(int core_fd, json_object *out)
{
	struct stat sb;
	_cleanup_free_ unsigned char *buf = NULL;
	struct elfcore_info *info = NULL;
	struct crashinfo_layout lay = { 0 };
	const char *why = NULL;
	json_object *threads = NULL, *si = json_object_new_object();
	struct verdict_siginfo vs = { .region_thread = -1 };
	char name[256], slogan[VERDICT_SLOGAN_MAX], sig[17];
	int r;

	if (fstat(core_fd, &sb) < 0)
		return -errno;
	if (sb.st_size <= 0 || (uint64_t)sb.st_size > CRASHINFO_CORE_MAX)
		return -EFBIG;
	buf = malloc((size_t)sb.st_size);
	if (!buf)
		return -ENOMEM;
	for (size_t off = 0; off < (size_t)sb.st_size;) {
		ssize_t n = pread(core_fd, buf + off, (size_t)sb.st_size - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t)n;
	}
	r = elfcore_parse_why(buf, (size_t)sb.st_size, &info, &why);
	if (r < 0) {
		json_object_object_add(out, "notes_error", json_object_new_string(why ? why : strerror(-r)));
		json_object_put(si);
		return 0;
	}
	(void)json_object_object_get_ex(out, "threads", &threads);
	crashinfo_registers(info, threads);

	/* NT_SIGINFO when the core has it, else what NT_PRSTATUS says. */
	const struct elfcore_siginfo *s = info->has_siginfo ? &info->siginfo : NULL;
	vs.signo = s ? s->signo : info->nthreads ? info->threads[0].si_signo ? info->threads[0].si_signo
							     : info->threads[0].cursig : 0;
	int code = s ? s->code : info->nthreads ? info->threads[0].si_code : 0;
	vs.code_name = siginfo_code_name(vs.signo, code);
	vs.has_addr = s && s->has_addr;
	vs.addr = s ? s->addr : 0;
	json_object_object_add(si, "signo", json_object_new_int(vs.signo));
	json_object_object_add(si, "code", json_object_new_int(code));
	json_object_object_add(si, "code_name", vs.code_name ? json_object_new_string(vs.code_name) : NULL);
	json_object_object_add(si, "errno", json_object_new_int(s ? s->errno_ : 0));
	json_object_object_add(si, "addr", vs.has_addr ? crashinfo_hex(vs.addr) : NULL);
	bool sent = s && s->has_sender && siginfo_sent_by_process(vs.signo, code);
	json_object_object_add(si, "sender_pid", sent ? json_object_new_int(s->pid) : NULL);
	json_object_object_add(si, "sender_uid", sent ? json_object_new_int64(s->uid) : NULL);
	/* Both sides in the process's namespaces (verdict.h): the sender is
	 * the process itself whatever its pid is on the host. */
	vs.has_sender = sent;
	vs.sender_pid = sent ? s->pid : 0;
	vs.sender_uid = sent ? s->uid : 0;
	vs.has_self = info->has_prpsinfo;
	vs.self_pid = info->prpsinfo.pid;
	vs.self_uid = info->prpsinfo.uid;
	if (sent)
		json_object_object_add(si, "sender_self", json_object_new_boolean(verdict_sent_by_self(&vs)));
	if (s && s->has_syscall)
		json_object_object_add(si, "syscall", json_object_new_int(s->syscall));

	if (vs.has_addr) {
		/* Place the address in the original layout when the minicore has it:
		 * the minicore itself maps only the pieces it kept. */
		uint64_t *sps = calloc(info->nthreads ? info->nthreads : 1, sizeof(*sps));
		struct siginfo_place pl;
		bool capped;
		if (!sps) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < info->nthreads; i++)
			sps[i] = info->threads[i].sp;
		(void)elfcore_notes_foreach(buf, (size_t)sb.st_size, crashinfo_layout_cb, &lay, &capped);
		struct elfcore_load *own = info->loads;
		size_t nown = info->nloads;
		if (lay.loads) {
			info->loads = lay.loads;
			info->nloads = lay.n;
		}
		r = siginfo_place(vs.addr, info, sps, info->nthreads, &pl);
		info->loads = own;
		info->nloads = nown;
		free(sps);
		if (r >= 0) {
			json_object_object_add(si, "fault_region", json_object_new_string(pl.region));
			if (pl.path) {
				json_object_object_add(si, "fault_module", json_object_new_string(pl.path));
				json_object_object_add(si, "fault_offset", crashinfo_hex(pl.offset));
			}
			if (!strcmp(pl.region, "stack-guard"))
				json_object_object_add(si, "fault_thread", json_object_new_int((int)pl.thread + 1));
			crashinfo_verdict_region(&pl, &vs, name, sizeof(name));
		}
	}
	if (!json_object_object_get_ex(si, "fault_region", NULL))
		json_object_object_add(si, "fault_region", NULL);
	/* Inside siginfo: the record's top-level keys are a fixed set. */
	char kind[64];
	verdict_kind(&vs, kind, sizeof(kind));
	json_object_object_add(si, "signature_kind", json_object_new_string(kind));
	json_object_object_add(out, "siginfo", json_object_get(si));

	verdict_slogan(&vs, threads, slogan, sizeof(slogan));
	json_object_object_add(out, "slogan", json_object_new_string(slogan));
	json_object_object_add(out, "signature",
			       verdict_signature(&vs, threads, sig) >= 0 ? json_object_new_string(sig) : NULL);

	if (info->threads_capped || info->notes_capped || info->files_capped)
		json_object_object_add(out, "notes_capped", json_object_new_boolean(true));
	r = 0;
out:
	free(lay.loads);
	json_object_put(si);
	elfcore_info_free(info);
	return r;
}
