/* mortem: list, read, export and debug stored crashes (coredumpctl-style).
 *
 * Exit statuses (documented in mortem(1)):
 *   0 success (list: also no crash at all without a MATCH, as an empty
 *   table is an answer), 1 failure, 2 usage error, 3 no crash matches
 *   (coredumpctl says 1 then: mortem keeps "none" apart from "broken"), 4 ambiguous id
 *   prefix (rm: a MATCH that fits several crashes, without --all), 5 the crash
 *   has no stored core (analyze: no minicore), 6 the crash is still being
 *   processed (stacks, dump, debug, analyze). vacuum: 1 also when the store
 *   stays over its limits; analyze: 1 also when the new analysis failed. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/config.h"
#include "cli/cli.h"
#include "cli/doctor.h"
#include "cli/enable.h"
#include "cli/export.h"
#include "cli/term.h"
#include "cli/fleet_cmd.h"
#include "base/parse.h"
#include "store/store.h"
#include "base/util.h"

static void cli_config_warn(void *userdata, const char *msg)
{
	cli_err("%s", msg);
}

static void cli_usage(FILE *f)
{
	fputs("usage: mortem [OPTIONS] [COMMAND] [MATCH] [FIELD=VALUE...]\n"
	      "       mortem [OPTIONS] rm MATCH...\n"
	      "\n"
	      "Commands:\n"
	      "  list [MATCH]      list crashes, oldest first (also with no command)\n"
	      "  info [MATCH]      everything known about each crash that matches (none: the newest)\n"
	      "  stacks [MATCH]    the crashing thread's stack, then the others folded\n"
	      "  dump [MATCH]      write the original core to standard output or -o FILE\n"
	      "  debug [MATCH]     open the core in gdb\n"
	      "  analyze MATCH     run the analysis of a crash again, from its minicore (root)\n"
	      "  reindex           rebuild the index from the records\n"
	      "  enable            hand the kernel's core dumps to mortem-collect (root)\n"
	      "  disable           put back the core handler that enable replaced (root)\n"
	      "  handover socket|pipe  socket mode: the kernel to mortemd or its fallback (root)\n"
	      "  doctor            check that crashes will be caught, and say why not\n"
	      "  vacuum            delete what the retention limits of mortem.conf say must go (root)\n"
	      "  disk-usage        what the store takes, by executable and by signature\n"
	      "  rm MATCH...       remove crashes: core, minicore, record (root)\n"
	      "  upload [MATCH]    send the queue (MATCH, --all: queued first) to [Upload]'s bucket (root)\n"
	      "  fleet list        crashes of every host in the object store (-S, -U, --host, --group)\n"
	      "  fleet info ID     one crash's record from the object store\n"
	      "  fleet fetch ID    download a crash into the local store (info, stacks, dump work on it)\n"
	      "  export MATCH      one crash, its core and the modules it loaded, as one file (-o FILE)\n"
	      "  import FILE       a crash exported elsewhere into the store (root)\n"
	      "  metrics           counts of the store's crashes in the Prometheus text format\n"
	      "\n"
	      "Options:\n"
	      "  -c, --config FILE   configuration file (also MORTEM_CONFIG)\n"
	      "      --json[=MODE]   JSON output (list, info, doctor, vacuum, disk-usage, analyze):\n"
	      "                      pretty (--json alone), short (one line) or off\n"
	      "  -F, --field FIELD   list: print FIELD of each crash, one per line\n"
	      "  -1                  only the newest crash that matches\n"
	      "  -S, --since TIME    only crashes at or after TIME\n"
	      "  -U, --until TIME    only crashes at or before TIME\n"
	      "  -r, --reverse       newest first\n"
	      "  -n N                only the newest N crashes\n"
	      "      --no-pager      do not pipe the output into a pager\n"
	      "      --no-legend     list: no column headings\n"
	      "  -q, --quiet         do not say that nothing matches\n"
	      "  -o, --output FILE   where dump writes the core, export the bundle\n"
	      "      --no-core       export: leave the core out (a bundle to share)\n"
	      "      --textfile DIR  metrics: write DIR/mortem.prom atomically (node_exporter)\n"
	      "      --all           stacks: every thread on its own; rm: every crash a MATCH fits\n"
	      "      --group         list, fleet list: one line per crash signature\n"
	      "      --host HOST     fleet: only the crashes HOST uploaded\n"
	      "      --container NAME  list: the crashes in container NAME (also MATCH container=NAME)\n"
	      "      --dry-run       vacuum: say what would go, delete nothing\n"
	      "      --debugger CMD  debugger for debug (default gdb)\n"
	      "  -A, --debugger-arguments ARGS  debug: words for the debugger, before the program\n"
	      "      --force         enable: replace another core handler\n"
	      "      --runtime       enable: the running kernel only, no sysctl.d drop-in\n"
	      "      --collector PATH  enable: the collector to point the kernel at (pipe mode; in\n"
	      "                        socket mode the one to fall back on while mortemd is down)\n"
	      "      --mode MODE     enable: auto (default: the socket if mortemd listens), socket or pipe\n"
	      "  -h, --help          this help\n"
	      "      --version       the version\n"
	      "\n"
	      "MATCH: an id or unique id prefix, a PID, a command name, or an executable path.\n"
	      "FIELD=VALUE: pid=, uid=, gid=, comm=, exe=, unit=, signal=, signature=, hostname=, id=\n"
	      "  or coredumpctl's COREDUMP_PID=, COREDUMP_EXE=...; one field's values are ORed,\n"
	      "  different fields ANDed.\n"
	      "TIME: as systemd.time(7): YYYY-MM-DD [HH:MM[:SS]], HH:MM, @EPOCH, now, today,\n"
	      "  yesterday, tomorrow, -1h, +2h, \"1 hour ago\", \"3h left\".\n",
	      f);
}

int main(int argc, char **argv)
{
	struct cli c = { .config_path = NULL };
	int opt, r;
	uint64_t u;

	/* What mortem creates as root (a rebuilt index, a dumped core) is not for
	 * other users to read: crashes hold their memory (mortem(1), FILES). */
	umask(077);

	enum {
		OPT_JSON = 0x100, OPT_DEBUGGER, OPT_ALL, OPT_FORCE, OPT_RUNTIME, OPT_COLLECTOR, OPT_MODE, OPT_GROUP,
		OPT_DRY_RUN, OPT_NO_PAGER, OPT_NO_LEGEND, OPT_VERSION, OPT_HOST, OPT_CONTAINER,
		OPT_NO_CORE, OPT_TEXTFILE,
	};
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "json", optional_argument, NULL, OPT_JSON },
		{ "since", required_argument, NULL, 'S' },  { "until", required_argument, NULL, 'U' },
		{ "reverse", no_argument, NULL, 'r' },      { "output", required_argument, NULL, 'o' },
		{ "debugger", required_argument, NULL, OPT_DEBUGGER }, { "help", no_argument, NULL, 'h' },
		{ "debugger-arguments", required_argument, NULL, 'A' }, { "field", required_argument, NULL, 'F' },
		{ "quiet", no_argument, NULL, 'q' },        { "no-pager", no_argument, NULL, OPT_NO_PAGER },
		{ "no-legend", no_argument, NULL, OPT_NO_LEGEND }, { "version", no_argument, NULL, OPT_VERSION },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "force", no_argument, NULL, OPT_FORCE },  { "runtime", no_argument, NULL, OPT_RUNTIME },
		{ "collector", required_argument, NULL, OPT_COLLECTOR }, { "mode", required_argument, NULL, OPT_MODE },
		{ "group", no_argument, NULL, OPT_GROUP },  { "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "host", required_argument, NULL, OPT_HOST }, { "container", required_argument, NULL, OPT_CONTAINER },
		{ "no-core", no_argument, NULL, OPT_NO_CORE }, { "textfile", required_argument, NULL, OPT_TEXTFILE },
		{ NULL, 0, NULL, 0 },
	};
	bool one = false;
	while ((opt = getopt_long(argc, argv, "c:S:U:rn:o:hA:F:q1", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': c.config_path = optarg; break;
		case OPT_JSON:
			if (!optarg || strcmp(optarg, "pretty") == 0)
				c.json = true, c.json_short = false;
			else if (strcmp(optarg, "short") == 0)
				c.json = true, c.json_short = true;
			else if (strcmp(optarg, "off") == 0)
				c.json = false, c.json_short = false;
			else {
				cli_err("invalid mode '%s' for --json: short, pretty or off", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'S': c.since = optarg; break;
		case 'U': c.until = optarg; break;
		case 'r': c.reverse = true; break;
		case 'o': c.output = optarg; break;
		case OPT_DEBUGGER: c.debugger = optarg; break;
		case 'A': c.debugger_args = optarg; break;
		case 'F': c.field = optarg; break;
		case 'q': c.quiet = true; break;
		case '1': one = true; break;
		case OPT_NO_PAGER: c.no_pager = true; break;
		case OPT_NO_LEGEND: c.no_legend = true; break;
		case OPT_VERSION: printf("mortem %s\n", MORTEM_VERSION); return 0;
		case OPT_ALL: c.all = true; break;
		case OPT_FORCE: c.force = true; break;
		case OPT_RUNTIME: c.runtime = true; break;
		case OPT_COLLECTOR: c.collector = optarg; break;
		case OPT_MODE:
			if (strcmp(optarg, "auto") == 0)
				c.mode = ENABLE_MODE_AUTO;
			else if (strcmp(optarg, "socket") == 0)
				c.mode = ENABLE_MODE_SOCKET;
			else if (strcmp(optarg, "pipe") == 0)
				c.mode = ENABLE_MODE_PIPE;
			else {
				cli_err("invalid mode '%s' for --mode: auto, socket or pipe", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_GROUP: c.group = true; break;
		case OPT_DRY_RUN: c.dry_run = true; break;
		case OPT_HOST: c.host = optarg; break;
		case OPT_CONTAINER: c.container = optarg; break;
		case OPT_NO_CORE: c.no_core = true; break;
		case OPT_TEXTFILE: c.textfile = optarg; break;
		case 'n':
			if (parse_u64(optarg, &u) < 0 || u == 0 || u > SIZE_MAX) {
				cli_err("invalid count '%s' for -n", optarg);
				return EXIT_USAGE;
			}
			c.limit = (size_t)u;
			break;
		case 'h': cli_usage(stdout); return 0;
		default: cli_usage(stderr); return EXIT_USAGE;
		}
	}
	if (one)
		c.limit = 1; /* -1: coredumpctl's "the most recent only" */
	/* No verb is list, as in coredumpctl; so is a first FIELD=VALUE. */
	const char *verb = optind < argc && !match_is_term(argv[optind]) ? argv[optind++] : "list";
	bool is_rm = strcmp(verb, "rm") == 0, is_vacuum = strcmp(verb, "vacuum") == 0;
	bool is_analyze = strcmp(verb, "analyze") == 0, is_list = strcmp(verb, "list") == 0;
	bool is_upload = strcmp(verb, "upload") == 0, is_fleet = strcmp(verb, "fleet") == 0;
	bool is_import = strcmp(verb, "import") == 0;
	bool takes_terms = is_list || is_analyze || strcmp(verb, "info") == 0 || strcmp(verb, "stacks") == 0 ||
			   strcmp(verb, "dump") == 0 || strcmp(verb, "debug") == 0 ||
			   strcmp(verb, "export") == 0;
	const char *match = NULL;
	bool has_args = optind < argc;
	c.matches = argv + optind;
	c.n_matches = (size_t)(argc - optind);
	if (takes_terms) {
		_cleanup_free_ struct match_term *terms = calloc(c.n_matches ? c.n_matches : 1, sizeof(*terms));
		if (!terms) {
			cli_err("out of memory");
			return EXIT_FAILURE;
		}
		for (int i = optind; i < argc; i++) {
			const char *why = NULL;
			/* container=NAME is --container NAME: judged on each record */
			if (strncmp(argv[i], CLI_MATCH_CONTAINER, strlen(CLI_MATCH_CONTAINER)) == 0) {
				c.container = argv[i] + strlen(CLI_MATCH_CONTAINER);
				continue;
			}
			if (!match_is_term(argv[i])) {
				if (match) {
					cli_err("too many arguments: one MATCH at most (FIELD=VALUE for more)");
					return EXIT_USAGE;
				}
				match = argv[i];
			} else if (match_parse(argv[i], &terms[c.n_terms++], &why) < 0) {
				cli_err("invalid match '%s': %s (fields: %s)", argv[i], why, match_field_names());
				return EXIT_USAGE;
			}
		}
		c.terms = TAKE_PTR(terms);
	} else {
		match = has_args ? argv[optind] : NULL;
		if (c.n_matches > 1 && !is_rm && !is_fleet) {
			cli_err("too many arguments: one MATCH at most");
			return EXIT_USAGE;
		}
	}
	if (c.field && !is_list) {
		cli_err("-F goes with list");
		return EXIT_USAGE;
	}
	c.columns = term_columns();
	if (!c.config_path)
		c.config_path = getenv("MORTEM_CONFIG") ? getenv("MORTEM_CONFIG") : CONFIG_DEFAULT_PATH;

	bool is_enable = strcmp(verb, "enable") == 0, is_disable = strcmp(verb, "disable") == 0;
	bool is_handover = strcmp(verb, "handover") == 0;
	if (is_handover && (!match || (strcmp(match, "socket") != 0 && strcmp(match, "pipe") != 0))) {
		cli_err("handover takes 'socket' or 'pipe'");
		return EXIT_USAGE;
	}
	if ((is_enable || is_disable || is_vacuum || strcmp(verb, "doctor") == 0 ||
	     strcmp(verb, "disk-usage") == 0 || strcmp(verb, "metrics") == 0) && match) {
		cli_err("%s takes no argument", verb);
		return EXIT_USAGE;
	}
	if (is_import && !match) {
		cli_err("import needs a FILE (a bundle of mortem export; '-': standard input)");
		return EXIT_USAGE;
	}
	if (is_analyze && !match && c.n_terms == 0) {
		cli_err("analyze needs a MATCH: an id, a PID, a command name or an executable");
		return EXIT_USAGE;
	}
	/* Before the config: a non-root user is told so, not about an unreadable file. */
	if ((is_enable || is_disable || is_handover || is_rm || is_analyze || is_upload || is_import || (is_vacuum && !c.dry_run)) &&
	    geteuid() != 0) {
		fprintf(stderr, "mortem %s: must be root%s\n", verb,
			is_vacuum ? " (--dry-run only needs to read the store)" : "");
		return EXIT_FAILURE;
	}
	/* doctor loads the configuration itself, to report its problems. */
	if (strcmp(verb, "doctor") == 0)
		return doctor_main(c.config_path, c.json);

	if (config_init(&c.cfg) < 0) {
		cli_err("out of memory");
		return EXIT_FAILURE;
	}
	r = config_load(&c.cfg, c.config_path, cli_config_warn, NULL);
	if (r < 0 && r != -EINVAL) {
		cli_err("cannot read config %s: %s", c.config_path, strerror(-r));
		config_free(&c.cfg);
		return EXIT_FAILURE;
	}
	if (store_init(&c.st, c.cfg.store_path) < 0) {
		cli_err("bad store path '%s'", c.cfg.store_path);
		config_free(&c.cfg);
		return EXIT_FAILURE;
	}

	/* They need the whole index, root's unless someone opened it up (a copy
	 * of a store): not a user's view of it (store/access.h). */
	bool is_reindex = strcmp(verb, "reindex") == 0;
	if ((is_vacuum || is_reindex) && geteuid() != 0 && access(c.st.index_path, is_reindex ? W_OK : R_OK) < 0 &&
	    errno == EACCES) {
		fprintf(stderr, "mortem %s: needs root (the index holds every user's crashes; 'mortem list' shows yours)\n",
			verb);
		r = EXIT_FAILURE;
	} else if (is_list)
		r = list_crashes(&c, match);
	else if (strcmp(verb, "info") == 0)
		r = inspect_info(&c, match);
	else if (strcmp(verb, "stacks") == 0)
		r = inspect_stacks(&c, match);
	else if (strcmp(verb, "dump") == 0)
		r = inspect_dump(&c, match);
	else if (strcmp(verb, "debug") == 0)
		r = inspect_debug(&c, match);
	else if (is_analyze)
		r = inspect_analyze(&c, match);
	else if (strcmp(verb, "export") == 0)
		r = export_crash(&c, match);
	else if (is_import)
		r = export_import(&c, match);
	else if (strcmp(verb, "metrics") == 0)
		r = metrics_main(&c);
	else if (is_vacuum)
		r = manage_vacuum(&c);
	else if (strcmp(verb, "disk-usage") == 0)
		r = manage_disk_usage(&c);
	else if (is_rm)
		r = manage_rm(&c);
	else if (is_upload)
		r = fleet_cmd_upload(&c, match);
	else if (is_fleet)
		r = fleet_cmd_main(&c, c.matches, c.n_matches);
	else if (strcmp(verb, "reindex") == 0)
		r = match ? (cli_err("reindex takes no MATCH"), EXIT_USAGE) : manage_reindex(&c);
	else if (is_enable || is_disable || is_handover) {
		struct enable_opts eo = {
			.root = c.st.root,
			.collector = c.collector,
			.config = strcmp(c.config_path, CONFIG_DEFAULT_PATH) != 0 ? c.config_path : NULL,
			.socket_dir = c.cfg.socket_dir,
			.mode = c.mode,
			.force = c.force,
			.runtime = c.runtime,
		};
		r = is_enable ? enable_on(&eo) : is_disable ? enable_off(&eo) : enable_handover(&eo, strcmp(match, "socket") == 0);
	}
	else {
		cli_err("unknown command '%s'", verb);
		cli_usage(stderr);
		r = EXIT_USAGE;
	}
	term_pager_close();
	store_free(&c.st);
	config_free(&c.cfg);
	free(c.terms);
	return r;
}
