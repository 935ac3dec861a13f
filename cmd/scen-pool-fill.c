/* scen-pool-fill — fill the pre-generated pool within a time window and a
 * quota share (scen-pool-fill(1)). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "scen/cli.h"
#include "scen/poolfill.h"

enum {
	OPT_DAYS = 1000,
	OPT_DRY_RUN,
	OPT_EXPERIMENT,
	OPT_MAX_CALLS,
	OPT_TEMPLATE,
	OPT_UNTIL,
};

static void usage(FILE *f)
{
	fputs("usage: scen-pool-fill [-qv] [-c file] [--db file] "
	      "[--days n] [--dry-run]\n"
	      "       [--experiment name] [--max-calls n] "
	      "[--template name]\n"
	      "       [--until HH:MM]\n"
	      "\n"
	      "Fills the pre-generated pool: pool.variants unserved entries "
	      "for every\n"
	      "combination of the declared design, most requested first, "
	      "within a share\n"
	      "of each account's remaining day (pool.quota_share).\n"
	      "\n"
	      "  -c, --config file     the config (default $SCEN_CONFIG, then "
	      "./scen.yaml)\n"
	      "      --db file         the database (overrides database:)\n"
	      "      --days n          count demand over the last n days "
	      "(default 14)\n"
	      "      --dry-run         print the plan and the budget; call "
	      "nothing\n"
	      "      --experiment name only this experiment\n"
	      "      --max-calls n     make at most n provider calls\n"
	      "      --template name   only templates of this name\n"
	      "      --until HH:MM     stop starting calls at this local "
	      "time\n"
	      "  -q, --quiet           no progress, no summary, no warnings\n"
	      "  -v, --verbose         more detail on standard error\n"
	      "      --help            this text\n"
	      "      --version         the version\n", f);
}

/* A non-negative integer option value no greater than max; -1 if not. */
static long number(const char *opt, const char *s, long max)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 0 || v > max) {
		scen_error("%s '%s': expected an integer from 0 to %ld", opt,
			   s, max);
		return -1;
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		SCEN_COMMON_LONGOPTS,
		{"days", required_argument, NULL, OPT_DAYS},
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"experiment", required_argument, NULL, OPT_EXPERIMENT},
		{"max-calls", required_argument, NULL, OPT_MAX_CALLS},
		{"template", required_argument, NULL, OPT_TEMPLATE},
		{"until", required_argument, NULL, OPT_UNTIL},
		{NULL, 0, NULL, 0},
	};
	struct scen_cli cli = {0};
	struct scen_pool_opts o = {
		.days = 14, .until_min = -1, .max_calls = -1, .out = stdout,
	};
	int c;
	scen_set_progname(argv[0]);
	while ((c = getopt_long(argc, argv, "c:qv", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DAYS:
			o.days = number("--days", optarg, 3650);
			if (o.days < 1) {
				if (!o.days)
					scen_error("--days must be at least 1");
				return SCEN_EX_USAGE;
			}
			break;
		case OPT_DRY_RUN:
			o.dry_run = 1;
			break;
		case OPT_EXPERIMENT:
			o.experiment = optarg;
			break;
		case OPT_MAX_CALLS:
			o.max_calls = number("--max-calls", optarg, 100000000);
			if (o.max_calls < 0)
				return SCEN_EX_USAGE;
			break;
		case OPT_TEMPLATE:
			o.tpl = optarg;
			break;
		case OPT_UNTIL:
			o.until_min = scen_pool_parse_until(optarg);
			if (o.until_min < 0) {
				scen_error("--until '%s': expected a local "
					   "time HH:MM, 00:00 to 23:59",
					   optarg);
				return SCEN_EX_USAGE;
			}
			break;
		default: {
			int r = scen_cli_option(&cli, c, optarg, usage);
			if (r >= 2)
				return r - 2;
		}
		}
	}
	if (optind < argc) {
		scen_error("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return SCEN_EX_USAGE;
	}
	o.progress = isatty(STDERR_FILENO);
	struct scen_config *cfg;
	struct scen_db *db = NULL;
	/* a dry run makes no calls: it needs no keys, and it only reads */
	int rc = scen_cli_open(&cli, o.dry_run ? SCEN_CLI_NO_DB
					       : SCEN_CLI_KEYS, &cfg, &db);
	if (rc)
		return rc;
	if (o.dry_run) {
		int ro = access(cfg->database, F_OK) == 0;
		db = scen_db_open(cfg->database, ro ? SCEN_DB_READONLY : 0,
				  &rc);
		if (!db) {
			scen_config_free(cfg);
			return rc;
		}
	}
	struct scen_error e;
	rc = scen_pool_fill(cfg, db, &o, &e) ? scen_err_report(&e) : 0;
	scen_db_close(db);
	scen_config_free(cfg);
	if (scen_close_stdout(0) && !rc)
		rc = SCEN_EX_IOERR;
	return rc;
}
