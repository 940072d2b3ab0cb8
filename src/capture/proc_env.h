/* The environment item of a /proc capture (proc_env_key_is_secret, its
 * redaction policy, is public in capture/proc.h). */
#pragma once

#include "capture/proc_ctx.h"

void proc_env_capture(struct proc_ctx *c, const char *item);
