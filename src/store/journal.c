/* journald when its socket is there, else /dev/kmsg. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "store/journal.h"
#include "store/record.h"
#include "base/text.h"
#include "base/util.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static bool journal_available(void)
{
	struct stat sb;
	return stat(JOURNAL_SOCKET, &sb) == 0 && S_ISSOCK(sb.st_mode);
}

/* /dev/kmsg takes one record per write; "<N>" sets the priority. */
static int journal_kmsg(int priority, const char *msg)
{
	char line[1024];
	int fd = open("/dev/kmsg", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	int n = snprintf(line, sizeof(line), "<%d>mortem: %s\n", priority, msg);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	int r = write_all(fd, line, (size_t)n);
	(void)close(fd);
	return r;
}

int journal_log(int priority, const char *msg)
{
	if (journal_available()) {
		int r = sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", priority, "SYSLOG_IDENTIFIER=mortem", NULL);
		if (r >= 0)
			return 0;
	}
	return journal_kmsg(priority, msg);
}

void journal_format(json_object *rec, const char *extra, char *msg, size_t len)
{
	json_object *core = record_obj(rec, "core");
	const char *verdict = record_str(rec, "slogan", NULL);
	char comm[64], slogan[384], more[256];

	/* The message is one line a person reads (journalctl, or the kernel's
	 * log): the crashed process chose its name and, through its symbols,
	 * the verdict; escaped as on every other line (base/text.h). The
	 * COREDUMP_* fields stay exact. */
	text_escape_buf(record_str(rec, "comm", "?"), comm, sizeof(comm));
	text_escape_buf(extra, more, sizeof(more));
	text_escape_buf(verdict ? verdict : record_str(rec, "signal_name", "unknown signal"), slogan, sizeof(slogan));
	snprintf(msg, len, "process %lld (%s) of user %lld dumped core: %s%s%s [core %s]%s%s%s",
		 (long long)record_i64(rec, "pid", 0), comm,
		 (long long)record_i64(rec, "uid", 0),
		 slogan, extra ? "; " : "",
		 extra ? more : "", core ? record_str(core, "status", "?") : "?",
		 /* an unstored crash has no entry to point at */
		 extra ? "" : " (mortem info ", extra ? "" : record_str(rec, "id", "?"), extra ? "" : ")");
}

int journal_announce(json_object *rec, const char *extra)
{
	char msg[768];

	journal_format(rec, extra, msg, sizeof(msg));
	if (!journal_available())
		return journal_kmsg(2, msg);
	int r = sd_journal_send("MESSAGE=%s", msg, "MESSAGE_ID=" JOURNAL_MESSAGE_ID, "PRIORITY=2",
				"SYSLOG_IDENTIFIER=mortem", "MORTEM_ID=%s", record_str(rec, "id", ""),
				"COREDUMP_PID=%lld", (long long)record_i64(rec, "pid", 0),
				"COREDUMP_UID=%lld", (long long)record_i64(rec, "uid", 0),
				"COREDUMP_GID=%lld", (long long)record_i64(rec, "gid", 0),
				"COREDUMP_SIGNAL=%lld", (long long)record_i64(rec, "signal", 0),
				"COREDUMP_SIGNAL_NAME=%s", record_str(rec, "signal_name", ""),
				"COREDUMP_EXE=%s", record_str(rec, "exe", ""), "COREDUMP_COMM=%s",
				record_str(rec, "comm", ""), "COREDUMP_UNIT=%s", record_str(rec, "unit", ""),
				"COREDUMP_HOSTNAME=%s", record_str(rec, "hostname", ""), NULL);
	return r < 0 ? journal_kmsg(2, msg) : 0;
}
