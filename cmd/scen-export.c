/* scen-export — servings, scenarios and template versions with their full
 * provenance, as JSONL or CSV (scen-export(1)). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scen/cli.h"
#include "scen/export.h"

enum {
	OPT_EXPERIMENT = 1000,
	OPT_FORMAT,
	OPT_SESSION,
	OPT_SINCE,
	OPT_TEMPLATE,
	OPT_TIER,
	OPT_UNTIL,
	OPT_WHAT,
};

static void usage(FILE *f)
{
	fputs("usage: scen-export [-qv] [-c file] [--db file] "
	      "[--experiment name]\n"
	      "       [--format jsonl | csv] [--session id] [--since time] "
	      "[--template name]\n"
	      "       [--tier tier] [--until time] "
	      "[--what servings | scenarios | templates]\n"
	      "\n"
	      "Writes servings (the default), scenarios or template versions "
	      "with their\n"
	      "full provenance on standard output, one row at a time.\n"
	      "\n"
	      "  -c, --config file        the config (default $SCEN_CONFIG, "
	      "then ./scen.yaml)\n"
	      "      --db file            the database (overrides "
	      "database:)\n"
	      "      --experiment name    only this experiment\n"
	      "      --format jsonl|csv   JSON lines (default) or CSV "
	      "(RFC 4180)\n"
	      "      --session id         only servings to this session\n"
	      "      --since time         only rows from time on (ISO 8601, "
	      "or 30m, 12h, 7d)\n"
	      "      --template name      only this template\n"
	      "      --tier tier          only servings of this tier (cache, "
	      "fresh, pool,\n"
	      "                           relaxed)\n"
	      "      --until time         only rows before time\n"
	      "      --what servings|scenarios|templates\n"
	      "                           what to export (default "
	      "servings)\n"
	      "  -q, --quiet              no warnings\n"
	      "  -v, --verbose            more detail on standard error\n"
	      "      --help               this text\n"
	      "      --version            the version\n", f);
}

static int bad(const char *fmt, const char *arg)
{
	scen_error(fmt, arg);
	usage(stderr);
	return SCEN_EX_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		SCEN_COMMON_LONGOPTS,
		{"experiment", required_argument, NULL, OPT_EXPERIMENT},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"session", required_argument, NULL, OPT_SESSION},
		{"since", required_argument, NULL, OPT_SINCE},
		{"template", required_argument, NULL, OPT_TEMPLATE},
		{"tier", required_argument, NULL, OPT_TIER},
		{"until", required_argument, NULL, OPT_UNTIL},
		{"what", required_argument, NULL, OPT_WHAT},
		{NULL, 0, NULL, 0},
	};
	struct scen_cli cli = {0};
	struct scen_export_opts o = {
		.what = SCEN_EXPORT_SERVINGS,
		.filter = {.since = NAN, .until = NAN},
		.out = stdout,
	};
	double now = scen_now();
	int c;
	scen_set_progname(argv[0]);
	for (;;) {
		c = getopt_long(argc, argv, "c:qv", longopts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case OPT_EXPERIMENT:
			o.filter.experiment = optarg;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "jsonl"))
				o.csv = 0;
			else if (!strcmp(optarg, "csv"))
				o.csv = 1;
			else
				return bad("--format '%s': expected jsonl or "
					   "csv", optarg);
			break;
		case OPT_SESSION:
			o.filter.session = optarg;
			break;
		case OPT_SINCE:
			if (scen_report_parse_time(optarg, now,
						   &o.filter.since) < 0)
				return bad("--since '%s': expected ISO 8601 or "
					   "a span such as 12h", optarg);
			break;
		case OPT_TEMPLATE:
			o.filter.template_name = optarg;
			break;
		case OPT_TIER:
			if (scen_tier_from_name(optarg) < 0)
				return bad("--tier '%s': expected cache, "
					   "fresh, pool or relaxed", optarg);
			o.filter.tier = optarg;
			break;
		case OPT_UNTIL:
			if (scen_report_parse_time(optarg, now,
						   &o.filter.until) < 0)
				return bad("--until '%s': expected ISO 8601 or "
					   "a span such as 12h", optarg);
			break;
		case OPT_WHAT:
			if (!strcmp(optarg, "servings"))
				o.what = SCEN_EXPORT_SERVINGS;
			else if (!strcmp(optarg, "scenarios"))
				o.what = SCEN_EXPORT_SCENARIOS;
			else if (!strcmp(optarg, "templates"))
				o.what = SCEN_EXPORT_TEMPLATES;
			else
				return bad("--what '%s': expected servings, "
					   "scenarios or templates", optarg);
			break;
		default: {
			int r = scen_cli_option(&cli, c, optarg, usage);
			if (r >= 2)
				return r - 2;
		}
		}
	}
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	if (o.what != SCEN_EXPORT_SERVINGS &&
	    (o.filter.tier || o.filter.session))
		return bad("%s: --tier and --session select servings only",
			   o.what == SCEN_EXPORT_SCENARIOS ? "scenarios"
							   : "templates");
	if (o.what == SCEN_EXPORT_TEMPLATES &&
	    (!isnan(o.filter.since) || !isnan(o.filter.until)))
		return bad("%s: --since and --until select servings and "
			   "scenarios only", "templates");
	struct scen_config *cfg;
	struct scen_db *db;
	int rc = scen_cli_open(&cli, SCEN_CLI_READONLY, &cfg, &db);
	if (rc)
		return rc;
	struct scen_error e;
	rc = scen_export(cfg, db, &o, &e) ? scen_err_report(&e) : 0;
	scen_db_close(db);
	scen_config_free(cfg);
	/* scen_export reports its failed writes */
	if (scen_close_stdout(rc != 0) && !rc)
		rc = SCEN_EX_IOERR;
	return rc;
}
