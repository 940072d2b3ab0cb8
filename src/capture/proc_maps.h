#pragma once

#include <stddef.h>
#include <sys/types.h>

/* The files a dying process has mapped that the unprivileged analysis could
 * not open by their path: deleted (an upgrade replaced the binary while it
 * ran) or not readable by others (a 0700 service binary, a program in a 0700
 * home directory). They are opened now, through /proc/PID/map_files (root
 * with CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE), so that the analysis unwinds
 * and names frames from the very file the process ran, handed to it as a
 * descriptor. */
#define PROC_FILES_MAX 16     /* files kept per crash */
#define PROC_MAPS_LINES_MAX 65536

struct proc_file {
	char *path; /* as the process mapped it, " (deleted)" cut off */
	int fd;     /* O_RDONLY */
};

/* Open up to max such files of pid into out (paths are heap strings); returns
 * how many. What cannot be opened (no capability, gone) is skipped: the
 * analysis then looks the file up by its path, as without this. None is
 * opened past half of RLIMIT_NOFILE. */
size_t proc_files_open_lost(pid_t pid, struct proc_file *out, size_t max);
void proc_files_close(struct proc_file *f, size_t n);
