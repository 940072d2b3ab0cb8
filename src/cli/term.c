/* term.c: the pager and the terminal's width (term.h). The pager is
 * coredumpctl's: only when standard output is a terminal, never with
 * --no-pager, $MORTEM_PAGER over $PAGER, LESS set to systemd's defaults
 * (quit when one screen, raw colours, chop long lines, no init) unless
 * $MORTEM_LESS says otherwise. */
#include "cli/term.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/parse.h"
#include "base/text.h"
#include "base/util.h"

#define TERM_COLUMNS_MAX 4096 /* a $COLUMNS beyond this is a mistake, not a terminal */

static pid_t term_pager_pid = -1;

size_t term_columns(void)
{
	struct winsize ws;
	uint64_t u;
	const char *e = getenv("COLUMNS");

	if (!isatty(STDOUT_FILENO))
		return 0;
	if (e && parse_u64(e, &u) == 0 && u > 0 && u <= TERM_COLUMNS_MAX)
		return (size_t)u;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

int term_pager_open(bool disabled)
{
	int fds[2];
	const char *pager = getenv("MORTEM_PAGER");

	if (disabled || term_pager_pid > 0 || !isatty(STDOUT_FILENO))
		return 0;
	if (!pager)
		pager = getenv("PAGER");
	if (pager && (!*pager || strcmp(pager, "cat") == 0))
		return 0;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return 0; /* no pager is no failure: the output goes straight out */
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return 0;
	}
	if (pid == 0) {
		const char *less = getenv("MORTEM_LESS");
		if (dup2(fds[0], STDIN_FILENO) < 0)
			_exit(EXIT_FAILURE);
		(void)setenv("LESS", less ? less : TERM_LESS_DEFAULT, 1);
		if (pager)
			execl("/bin/sh", "sh", "-c", pager, (char *)NULL);
		else {
			execlp("less", "less", (char *)NULL);
			execlp("more", "more", (char *)NULL);
		}
		/* No pager to run: pass the output through, as if there were none. */
		char buf[4096];
		ssize_t n;
		while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
			if (write(STDOUT_FILENO, buf, (size_t)n) != n)
				break;
		_exit(pager ? 127 : 0);
	}
	if (dup2(fds[1], STDOUT_FILENO) < 0) {
		close(fds[0]);
		close(fds[1]);
		(void)kill(pid, SIGTERM);
		(void)waitpid(pid, NULL, 0);
		return 0;
	}
	close(fds[0]);
	close(fds[1]);
	/* A reader who quits the pager early ends the listing: a write then gets
	 * EPIPE and mortem stops quietly, as coredumpctl does. */
	(void)signal(SIGPIPE, SIG_DFL);
	term_pager_pid = pid;
	return 1;
}

void term_pager_close(void)
{
	if (term_pager_pid <= 0)
		return;
	fflush(stdout);
	(void)close(STDOUT_FILENO);
	/* While the reader still looks, ^C belongs to the pager. */
	(void)signal(SIGINT, SIG_IGN);
	while (waitpid(term_pager_pid, NULL, 0) < 0 && errno == EINTR)
		;
	term_pager_pid = -1;
}

char *term_ellipsize(const char *s, size_t width, size_t *ret_cols)
{
	size_t n = s ? strlen(s) : 0, k = 0, i, j, head = 0, tail = 0;
	size_t total = text_width(s ? s : "");

	if (!s)
		s = "";
	if (total <= width) {
		char *e = text_escape(s);
		if (e && ret_cols)
			*ret_cols = total;
		return e;
	}
	_cleanup_free_ size_t *off = calloc(n + 1, sizeof(*off)), *w = calloc(n + 1, sizeof(*w));
	if (!off || !w)
		return NULL;
	for (size_t p = 0; p < n; k++) {
		bool printable;
		size_t l = text_char(s + p, &printable);
		off[k] = p;
		w[k] = printable ? 1 : 4 * l; /* "\xHH" per byte (text.h) */
		p += l;
	}
	off[k] = n;
	size_t avail = width > 0 ? width - 1 : 0; /* "…" takes one */
	for (i = 0; i < k && head + w[i] <= avail - avail / 2; i++)
		head += w[i];
	for (j = k; j > i && tail + w[j - 1] <= avail / 2; j--)
		tail += w[j - 1];
	_cleanup_free_ char *h = strndup(s, off[i]);
	_cleanup_free_ char *eh = h ? text_escape(h) : NULL, *et = text_escape(s + off[j]);
	char *out = NULL;
	if (!eh || !et || asprintf(&out, "%s…%s", eh, et) < 0)
		return NULL;
	if (ret_cols)
		*ret_cols = head + 1 + tail;
	return out;
}

void term_put_column(FILE *f, const char *s, size_t width, size_t min_width)
{
	size_t cols = 0;
	_cleanup_free_ char *e = width > 0 ? term_ellipsize(s, width, &cols) : text_escape(s);
	if (width == 0) {
		cols = text_width(s ? s : "");
		width = min_width;
	}
	fputs(e ? e : "?", f);
	for (; cols < width; cols++)
		fputc(' ', f);
}
