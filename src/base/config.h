/* mortem.conf: INI file plus drop-ins in <file>.d/NAME.conf applied in name order.
 * Every key has a default; a bad value is reported (file, line, key) and the key
 * keeps its default, so the collector never loses a crash to a typo. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_PATH SYSCONFDIR "/mortem/mortem.conf"
#define CONFIG_DEFAULT_SOCKET_DIR "/run/mortem"
#define CONFIG_REDACT_MAX 64 /* RedactEnvironment= patterns */
#define CONFIG_REDACT_DEFAULT_N 11
/* The default of RedactEnvironment=, and what a caller that passes no list at
 * all (NULL) gets: redact rather than leak. An explicit empty list (non-NULL,
 * n == 0) turns redaction off. */
extern const char *const config_redact_default[CONFIG_REDACT_DEFAULT_N];
/* The default of RedactArguments=: globs on a command line's option names. */
#define CONFIG_REDACT_ARGS_DEFAULT_N 10
extern const char *const config_redact_args_default[CONFIG_REDACT_ARGS_DEFAULT_N];
#define CONFIG_DEFAULT_QUOTA_CAP (UINT64_C(4) << 30) /* the "max 4G" of MaxUse=, KeepFree= defaults */

/* A size, or a share of the store's file system ("10% max 4G"); all 0 = no limit. */
struct config_quota {
	uint64_t bytes;    /* used when percent is 0 */
	unsigned percent;  /* 1..100: that share of the file system's size */
	uint64_t cap;      /* with a percent: at most this many bytes; 0 = no bound */
};

/* RateLimit=N/INTERVAL; burst 0 = no limit. */
struct config_rate {
	unsigned burst;        /* full cores ... */
	uint64_t interval_sec; /* ... per this many seconds (> 0 when burst > 0) */
};

struct mortem_config {
	/* [Store] */
	char *store_path;          /* Path=, default LOCALSTATEDIR/lib/mortem */
	int compress_level;        /* CompressLevel=, inline while the process is held; default -1 (zstd fast) */
	int compress_threads;      /* CompressThreads=, zstd workers inline; default 1 */
	int recompress_level;      /* RecompressLevel=, after release; 0 = keep the inline frame; default 3 */
	int recompress_inline;     /* RecompressInline=, 0/1: recompress an inline core when idle; default 1 */
	uint64_t minicore_max;     /* MiniCoreMax=, total bytes of the minicore; default 32M, at most 256M */
	uint64_t minicore_stack_max; /* MiniCoreStackMax=, bytes per thread stack; default 1M */
	/* [Policy] */
	uint64_t max_core_size;    /* MaxCoreSize=, default 32G */
	struct config_quota max_use;   /* MaxUse=, default 10% capped at 4G */
	struct config_quota keep_free; /* KeepFree=, default 15% capped at 4G */
	uint64_t max_age_sec;      /* MaxAge=, cores older are deleted; 0 = never; default 14d */
	uint64_t record_max_age_sec; /* RecordMaxAge=, records (and minicores) likewise; default 90d */
	int keep_per_signature;    /* KeepPerSignature=, full cores per crash signature; 0 = all; default 3 */
	struct config_rate rate_limit; /* RateLimit=, full cores per executable or unit; default 5/10min */
	int max_concurrent;        /* MaxConcurrent=, collectors past the release at once; 0 = CPUs */
	bool honor_core_limit;     /* HonorCoreLimit=, the crashed process's RLIMIT_CORE decides; default yes */
	/* [Collect] */
	char *redact[CONFIG_REDACT_MAX]; /* RedactEnvironment=, glob patterns on env keys, case-insensitive */
	size_t n_redact;
	char *redact_args[CONFIG_REDACT_MAX]; /* RedactArguments=, globs on option names, case-insensitive */
	size_t n_redact_args;
	uint64_t proc_item_max;    /* ProcItemMax=, cap per /proc item; default 256K */
	int journal_lines;         /* JournalLines=, the unit's last journal lines kept; default 50, 0 = off */
	uint64_t capture_budget_ms; /* CaptureBudget=, time for the /proc capture while the process is held; default 50ms, 0 = none */
	/* [Analysis] */
	int analysis_timeout_sec;  /* Timeout=, seconds of wall clock for the sandboxed unwind; default 60 */
	uint64_t analysis_max_memory; /* MaxMemory=, its address-space limit; default 1G */
	char *debuginfod_urls;     /* DebuginfodURLs=, space-separated http(s) URLs; NULL (default) = no debuginfod */
	int debuginfod_timeout_sec; /* DebuginfodTimeout=, DEBUGINFOD_TIMEOUT of the analysis; default 30 */
	/* [Daemon] (mortemd) */
	char *socket_dir;          /* SocketDirectory=, mortemd's sockets; default /run/mortem */
	uint64_t pool_size;        /* PoolSize=, the pre-faulted buffer pool; 0 (default) = min(10% of RAM, 2G) */
	uint64_t handoff_timeout_ms; /* HandoffTimeout=, how long mortem-collect waits for mortemd; default 1s */
	uint64_t stall_timeout_sec; /* StallTimeout=, a core that sends nothing for this long is cut; default 30s */
	uint64_t park_after_sec;   /* ParkAfter=, a stop parks what is still queued after this long; default 10s */
	uint64_t spill_max;        /* SpillMax=, raw bytes parked on disk at once when the pool is full; 0 = none (inline); default 8G */
	/* [Upload] (mortem upload, mortem fleet) */
	char *upload_endpoint;     /* Endpoint=, one http(s)://host[:port]; NULL (default) = upload off */
	char *upload_bucket;       /* Bucket=, default "mortem" */
	char *upload_region;       /* Region=, SigV4's region; default "us-east-1" */
	char *upload_prefix;       /* Prefix=, before every object key; NULL (default) = none */
	char *upload_credentials;  /* CredentialsFile=, default SYSCONFDIR/mortem/upload-credentials */
	int upload_cores;          /* Cores=, enum config_upload_cores; default first */
	uint64_t upload_max_queue; /* MaxQueue=, bytes of cores waiting; 0 = no limit; default 4G */
};

/* Cores=: which full cores `mortem upload` sends (records and minicores always go). */
enum config_upload_cores {
	CONFIG_UPLOAD_CORES_NONE,
	CONFIG_UPLOAD_CORES_FIRST, /* the first of each signature per host per UTC day */
	CONFIG_UPLOAD_CORES_ALL,
};
#define CONFIG_UPLOAD_NAME_MAX 256 /* Bucket=, Region=, Prefix= */

/* Called once per problem: "FILE:LINE: key 'K': message". */
typedef void (*config_warn_fn)(void *userdata, const char *msg);

/* Defaults; 0, or -ENOMEM (then nothing is left allocated). */
int config_init(struct mortem_config *c);
/* Load path and then path.d/ *.conf. A missing main file is not an error when
 * path is the default. Returns 0, or -EINVAL when some value was rejected (the
 * others are applied), or another negative errno when a file cannot be read. */
int config_load(struct mortem_config *c, const char *path, config_warn_fn warn, void *userdata);
void config_free(struct mortem_config *c);
