/* export.h: the verbs that take a crash to another machine (export.c) and
 * count the store's crashes for monitoring (metrics.c). Each returns an exit
 * status (cli.h). */
#pragma once

#include "cli/cli.h"

/* mortem export MATCH -o FILE [--no-core]: one bundle (store/bundle.h). */
int export_crash(struct cli *c, const char *match);
/* mortem import FILE ('-': standard input), root. */
int export_import(struct cli *c, const char *file);
/* mortem metrics [--textfile DIR]: the Prometheus text format. */
int metrics_main(struct cli *c);
