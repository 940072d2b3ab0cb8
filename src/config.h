/* mortem.conf: INI file plus drop-ins in <file>.d/NAME.conf applied in name order.
 * Every key has a default; a bad value is reported (file, line, key) and the key
 * keeps its default, so the collector never loses a crash to a typo. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_PATH SYSCONFDIR "/mortem/mortem.conf"
#define CONFIG_REDACT_MAX 64 /* RedactEnvironment= patterns */

struct mortem_config {
	/* [Store] */
	char *store_path;          /* Path=, default LOCALSTATEDIR/lib/mortem */
	int compress_level;        /* CompressLevel=, inline while the process is held; default -1 (zstd fast) */
	int compress_threads;      /* CompressThreads=, zstd workers inline; default 1 */
	int recompress_level;      /* RecompressLevel=, after release; 0 = keep the inline frame; default 3 */
	uint64_t minicore_max;     /* MiniCoreMax=, total bytes of the minicore; default 32M, at most 256M */
	uint64_t minicore_stack_max; /* MiniCoreStackMax=, bytes per thread stack; default 1M */
	/* [Policy] */
	uint64_t max_core_size;    /* MaxCoreSize=, default 32G */
	/* [Collect] */
	char *redact[CONFIG_REDACT_MAX]; /* RedactEnvironment=, glob patterns on env keys, case-insensitive */
	size_t n_redact;
	uint64_t proc_item_max;    /* ProcItemMax=, cap per /proc item; default 256K */
	/* [Analysis] */
	int analysis_timeout_sec;  /* Timeout=, seconds of wall clock for the sandboxed unwind; default 60 */
	uint64_t analysis_max_memory; /* MaxMemory=, its address-space limit; default 1G */
	char *debuginfod_urls;     /* DebuginfodURLs=, space-separated http(s) URLs; NULL (default) = no debuginfod */
	int debuginfod_timeout_sec; /* DebuginfodTimeout=, DEBUGINFOD_TIMEOUT of the analysis; default 30 */
};

/* Called once per problem: "FILE:LINE: key 'K': message". */
typedef void (*config_warn_fn)(void *userdata, const char *msg);

/* Defaults; 0, or -ENOMEM (then nothing is left allocated). */
int config_init(struct mortem_config *c);
/* Load path and then path.d/ *.conf. A missing main file is not an error when
 * path is the default. Returns 0, or -EINVAL when some value was rejected (the
 * others are applied), or another negative errno when a file cannot be read. */
int config_load(struct mortem_config *c, const char *path, config_warn_fn warn, void *userdata);
void config_free(struct mortem_config *c);
