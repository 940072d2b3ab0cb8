/* The lost files of a /proc capture (capture/proc.h): the executable mappings
 * of files the analysis user could not open by their path, found in the maps
 * text the capture read and opened through /proc/PID/map_files. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "capture/proc.h"
#include "capture/proc_ctx.h"

/* Every count here is one the crashing process chooses, so each has a cap and
 * the scan as a whole runs under the capture's budget. */
#define PROC_FILES_PATHS_MAX 512 /* distinct executable paths judged per crash */
#define PROC_FILES_DEPTH_MAX 64  /* directories above a mapped file walked to judge it */
#define PROC_FILES_DIRS_MAX  64  /* directories whose judgement is remembered */

/* Scan maps[0..len) (whole lines; changed in place) and open up to max lost
 * files into out, their count in *ret_n. Records "map_files" {"lines",
 * "paths","opened","too_deep"}; a cap or the budget reached is recorded under
 * "truncated" (and "errors") as "map_files". maps_cut: the maps text itself was
 * cut at item_max, so the lines after it were not looked at either. */
void proc_maps_open_lost(struct proc_ctx *c, char *maps, size_t len, bool maps_cut, struct proc_file *out,
			 size_t max, size_t *ret_n);

/* One line of maps (NUL-terminated, changed in place): true for an executable
 * mapping of a file, with *range its "START-END" (as map_files names it) and
 * *path its path (as shown, " (deleted)" included), both pointing into line;
 * false for any other line. */
bool proc_maps_line(char *line, char **range, char **path);
