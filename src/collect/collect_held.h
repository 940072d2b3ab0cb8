/* Where the hold of a crashing process starts, for a collector the kernel
 * spawned (core_pattern's pipe): the kernel forks it once the dump begins, and
 * everything from that fork (exec, dynamic linking, waiting for a CPU in a
 * storm) is time the process is held. See mortem-collect(8), "HELD TIME". */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* This process is the kernel's usermode helper (a child of kthreadd). */
bool collect_held_spawned_by_kernel(void);
/* How long ago the kernel forked this process, in usec; -1 when unknown. */
int64_t collect_held_since_fork_usec(void);
