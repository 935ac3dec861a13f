/* scen-cache-stats — figures, alerts and advice for admins and monitoring
 * (scen-cache-stats(1)). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scen/cli.h"
#include "scen/db_report.h"
#include "scen/stats.h"

enum {
	OPT_CHECK = 1000,
	OPT_HTML,
	OPT_JSON,
	OPT_PROMETHEUS,
	OPT_SINCE,
	OPT_VERIFY,
};

static void usage(FILE *f)
{
	fputs("usage: scen-cache-stats [-qv] [-c file] [--db file]\n"
	      "       [--check | --json | --prometheus] [--html file] "
	      "[--since time]\n"
	      "       [--verify]\n"
	      "\n"
	      "Reports the last hour, day and week of a scen database: "
	      "tiers, hit rate,\n"
	      "accounts against their limits, the queue, errors and the "
	      "pool; the alerts\n"
	      "of scen.yaml and advice. Reads the database only.\n"
	      "\n"
	      "  -c, --config file  the config (default $SCEN_CONFIG, then "
	      "./scen.yaml)\n"
	      "      --check        one line per alert; exit 0 OK, 1 "
	      "WARNING, 2 CRITICAL,\n"
	      "                     3 UNKNOWN\n"
	      "      --db file      the database (overrides database:)\n"
	      "      --html file    write a self-contained HTML report with "
	      "charts (- for\n"
	      "                     standard output)\n"
	      "      --json         the figures as one JSON object\n"
	      "      --prometheus   the figures in the Prometheus text "
	      "format\n"
	      "      --since time   add a window from time (ISO 8601, or "
	      "30m, 12h, 7d)\n"
	      "      --verify       check the database's integrity and "
	      "consistency\n"
	      "  -q, --quiet        no warnings\n"
	      "  -v, --verbose      more detail on standard error\n"
	      "      --help         this text\n"
	      "      --version      the version\n", f);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		SCEN_COMMON_LONGOPTS,
		{"check", no_argument, NULL, OPT_CHECK},
		{"html", required_argument, NULL, OPT_HTML},
		{"json", no_argument, NULL, OPT_JSON},
		{"prometheus", no_argument, NULL, OPT_PROMETHEUS},
		{"since", required_argument, NULL, OPT_SINCE},
		{"verify", no_argument, NULL, OPT_VERIFY},
		{NULL, 0, NULL, 0},
	};
	struct scen_cli cli = {0};
	struct scen_stats_opts o = {
		.format = SCEN_STATS_TABLE, .since = NAN, .out = stdout,
	};
	int formats = 0, bad = 0, c;
	scen_set_progname(argv[0]);
	for (;;) {
		c = getopt_long(argc, argv, "c:qv", longopts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case OPT_CHECK:
			o.format = SCEN_STATS_CHECK;
			formats++;
			break;
		case OPT_HTML:
			o.html = optarg;
			break;
		case OPT_JSON:
			o.format = SCEN_STATS_JSON;
			formats++;
			break;
		case OPT_PROMETHEUS:
			o.format = SCEN_STATS_PROMETHEUS;
			formats++;
			break;
		case OPT_SINCE:
			if (scen_report_parse_time(optarg, scen_now(),
						   &o.since) < 0) {
				scen_error("--since '%s': expected ISO 8601 or "
					   "a span such as 12h", optarg);
				bad = 1;
			}
			break;
		case OPT_VERIFY:
			o.verify = 1;
			break;
		case '?':
			bad = 1;	/* getopt said why */
			break;
		default: {
			int r = scen_cli_option(&cli, c, optarg, usage);
			if (r >= 2)
				return r - 2;
		}
		}
	}
	int check = o.format == SCEN_STATS_CHECK;
	if (!bad && optind < argc) {
		scen_error("unexpected argument '%s'", argv[optind]);
		bad = 1;
	}
	if (!bad && formats > 1) {
		scen_error("--check, --json and --prometheus exclude each "
			   "other");
		bad = 1;
	}
	if (!bad && o.verify && (o.html || (formats && !check))) {
		scen_error("--verify takes only --check");
		bad = 1;
	}
	if (!bad && o.html && !strcmp(o.html, "-") && formats) {
		scen_error("--html - writes standard output: it excludes "
			   "--check, --json and --prometheus");
		bad = 1;
	}
	if (bad) {
		usage(stderr);
		/* a monitoring check that cannot run is UNKNOWN */
		return check ? SCEN_LEVEL_UNKNOWN : SCEN_EX_USAGE;
	}
	if (o.html && !formats)
		o.format = SCEN_STATS_NONE;
	struct scen_config *cfg;
	struct scen_db *db;
	int rc = scen_cli_open(&cli, SCEN_CLI_READONLY, &cfg, &db);
	if (rc) {
		if (!check)
			return rc;
		printf("SCEN UNKNOWN - cannot read the config or the "
		       "database (exit %d)\n", rc);
		scen_close_stdout(0);
		return SCEN_LEVEL_UNKNOWN;
	}
	enum scen_level level;
	struct scen_error e;
	rc = scen_cache_stats(cfg, db, &o, &level, &e) ? scen_err_report(&e)
							: 0;
	if (check)
		rc = (int)level;
	scen_db_close(db);
	scen_config_free(cfg);
	/* scen_cache_stats reports its failed writes */
	if (scen_close_stdout(rc != 0) && !rc)
		rc = check ? SCEN_LEVEL_UNKNOWN : SCEN_EX_IOERR;
	return rc;
}
