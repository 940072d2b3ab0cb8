/* mortem-collect: the program the kernel runs once per crash.
 *
 *   core_pattern = |/usr/libexec/mortem/mortem-collect %P %u %g %s %t %c %h %d %F
 *
 * The order is fixed: make stdio safe, stop being dumpable, parse argv, hand the
 * crash to mortemd when it runs (handoff.h), else the pipeline here (capture,
 * drain, release, everything slow). It never exits before
 * the core has been read or its pipe closed: the process must not be held. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "collect/collect.h"
#include "collect/collect_spill.h"
#include "base/config.h"
#include "collect/handoff.h"
#include "store/journal.h"
#include "base/util.h"

/* The kernel gives us the core on fd 0 and nothing trustworthy on 1 and 2: put
 * /dev/null there so that no later open() lands on them and gets written to. */
static void collect_fix_stdio(void)
{
	for (int fd = 1; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int n = open("/dev/null", O_RDWR);
		if (n >= 0 && n != fd) {
			(void)dup2(n, fd);
			(void)close(n);
		}
	}
}

static void collect_config_warn(void *userdata, const char *msg)
{
	char line[600];
	snprintf(line, sizeof(line), "config: %s (using the default)", msg);
	journal_log(4, line);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mortem-collect [-c CONFIG] %%P %%u %%g %%s %%t %%c %%h [%%d [%%F]]\n"
		   "Run by the kernel through kernel.core_pattern; reads the core on standard input.\n");
}

int main(int argc, char **argv)
{
	const char *config_path = CONFIG_DEFAULT_PATH;
	struct mortem_config cfg;
	struct crash_args a;
	struct collect_outcome out;
	int opt;

	collect_fix_stdio();
	(void)prctl(PR_SET_DUMPABLE, 0);
	umask(077);

	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* '+': stop at the first positional argument; a hostname may start with '-'. */
	while ((opt = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			/* Still take the core: a bad option must not lose a crash. */
			break;
		}
	}
	crash_args_parse(argc - optind, (const char *const *)argv + optind, &a);

	/* Out of memory here still drains the core (the store path is then unset). */
	if (config_init(&cfg) < 0)
		journal_log(3, "out of memory reading the configuration");
	else
		(void)config_load(&cfg, config_path, collect_config_warn, NULL);

	/* mortemd running: it takes the pipe and captures while the kernel still
	 * holds the process; we are done. Not there, or no answer in time: the
	 * whole job here, nothing lost. */
	_cleanup_free_ char *refused = NULL;
	int hr = cfg.socket_dir ? handoff_send(cfg.socket_dir, argc - optind, (const char *const *)argv + optind,
					       STDIN_FILENO, a.pidfd, (unsigned)cfg.handoff_timeout_ms, &refused)
				: -ENOENT;
	if (hr == 0) {
		config_free(&cfg);
		return 0;
	}
	/* mortemd there but silent (a storm, a stop, a hang): the crash is ours,
	 * and the record and the log say why, so a fall-back is never silent.
	 * No mortemd at all (no socket, refused connection) is the plain pipe
	 * mode and says nothing. */
	if (!refused && hr != -ENOENT && hr != -ECONNREFUSED) {
		char why[128];
		if (hr == -ETIMEDOUT)
			snprintf(why, sizeof(why), "timeout after %u ms", (unsigned)cfg.handoff_timeout_ms);
		else
			snprintf(why, sizeof(why), "failed: %s", strerror(-hr));
		refused = strdup(why); /* NULL (out of memory): the record just lacks it */
	}
	/* A listener we cannot trust gets nothing: said in the log and the record. */
	if (refused) {
		char line[600];
		snprintf(line, sizeof(line), "hand-off to %s/%s %s; collecting here", cfg.socket_dir, HANDOFF_SOCKET,
			 refused);
		journal_log(4, line);
	}
	struct collect_source src = { .fd = STDIN_FILENO, .spill_fd = -1, .held_usec = -1, .pool_fd = -1,
				      .spill_min = COLLECT_SPILL_MIN, .handoff = refused };
	int r = collect_run(&cfg, &a, NULL, &src, &out);
	config_free(&cfg);
	return r < 0 ? 1 : 0;
}
