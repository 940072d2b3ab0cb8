/* fleet_cmd.h: the verbs beyond one host: `mortem upload` (the queue to the
 * bucket) and `mortem fleet list|info|fetch` (the bucket as a fleet view).
 * They return an exit status (cli.h). */
#pragma once

#include "cli/cli.h"

int fleet_cmd_upload(struct cli *c, const char *match);
/* argv: the words after "fleet" (sub-verb, then an ID for info and fetch). */
int fleet_cmd_main(struct cli *c, char **argv, size_t argc);
