/* scen-serve-stdin — request lines in, answers out (scen-serve-stdin(1)). */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "scen/cli.h"
#include "scen/serve.h"

enum { OPT_ASYNC = 1000, OPT_ORDERED };

static void usage(FILE *f)
{
	fputs("usage: scen-serve-stdin [-qv] [-c file] [--db file] [--async] "
	      "[--ordered]\n"
	      "\n"
	      "Reads JSONL requests on standard input and writes one final "
	      "answer per\n"
	      "request on standard output, walking the fallback tiers "
	      "(cache, fresh,\n"
	      "pool, relaxed) of scen.yaml.\n"
	      "\n"
	      "  -c, --config file  the config (default $SCEN_CONFIG, then "
	      "./scen.yaml)\n"
	      "      --db file      the database (overrides database:)\n"
	      "      --async        answer \"generating\" at once when a "
	      "request needs\n"
	      "                     generation; the final answer follows\n"
	      "      --ordered      final answers in input order\n"
	      "  -q, --quiet        no warnings\n"
	      "  -v, --verbose      more detail on standard error\n"
	      "      --help         this text\n"
	      "      --version      the version\n", f);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		SCEN_COMMON_LONGOPTS,
		{"async", no_argument, NULL, OPT_ASYNC},
		{"ordered", no_argument, NULL, OPT_ORDERED},
		{NULL, 0, NULL, 0},
	};
	struct scen_cli cli = {0};
	struct scen_serve_opts o = {
		.in_fd = STDIN_FILENO, .in_name = "stdin", .out = stdout,
		.count = 1,
	};
	int c;
	scen_set_progname(argv[0]);
	while ((c = getopt_long(argc, argv, "c:qv", longopts, NULL)) != -1) {
		if (c == OPT_ASYNC)
			o.async = 1;
		else if (c == OPT_ORDERED)
			o.ordered = 1;
		else {
			int r = scen_cli_option(&cli, c, optarg, usage);
			if (r >= 2)
				return r - 2;
		}
	}
	if (optind < argc) {
		scen_error("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return SCEN_EX_USAGE;
	}
	struct scen_config *cfg;
	struct scen_db *db;
	int rc = scen_cli_open(&cli, SCEN_CLI_KEYS, &cfg, &db);
	if (rc)
		return rc;
	struct scen_serve_stats st;
	struct scen_error err;
	rc = scen_serve(cfg, db, &o, &st, &err) ? scen_err_report(&err) : 0;
	scen_debug("%ld requests: %ld ok, %ld unavailable, %ld errors",
		   st.lines, st.ok, st.unavailable, st.errors);
	scen_db_close(db);
	scen_config_free(cfg);
	/* scen_serve reports its failed writes */
	if (scen_close_stdout(rc != 0) && !rc)
		rc = SCEN_EX_IOERR;
	return rc;
}
