/* scen-cache-stats — figures, alerts and advice for admins and monitoring
 * (scen-cache-stats(1)). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scen/cli.h"
#include "scen/db_report.h"
#include "scen/stats.h"

enum { CHECK, JSON, PROMETHEUS, HTML, SINCE, VERIFY };

static const struct scen_cli_opt opts[] = {
	{"check", 0, NULL, "one line per alert; exit 0 OK, 1 WARNING, "
	 "2 CRITICAL, 3 UNKNOWN", CHECK, 0},
	{"json", 0, NULL, "the figures as one JSON object", JSON, SCEN_CLI_OR},
	{"prometheus", 0, NULL, "the figures in the Prometheus text format",
	 PROMETHEUS, SCEN_CLI_OR},
	{"html", 0, "file", "write a self-contained HTML report with charts "
	 "(- for standard output)", HTML, 0},
	{"since", 0, "time", "add a window from time (ISO 8601, or 30m, 12h, "
	 "7d)", SINCE, 0},
	{"verify", 0, NULL, "check the database's integrity and consistency",
	 VERIFY, 0},
	{0},
};

struct args {
	struct scen_stats_opts o;
	int formats;	/* --check, --json and --prometheus given */
};

static enum scen_err set(void *ctx, int id, const char *arg,
			 struct scen_error *e)
{
	static const enum scen_stats_format format[] = {
		[CHECK] = SCEN_STATS_CHECK, [JSON] = SCEN_STATS_JSON,
		[PROMETHEUS] = SCEN_STATS_PROMETHEUS,
	};
	struct args *a = ctx;

	switch (id) {
	case CHECK:
	case JSON:
	case PROMETHEUS:
		a->o.format = format[id];
		a->formats++;
		break;
	case HTML:
		a->o.html = arg;
		break;
	case SINCE:
		if (scen_report_parse_time(arg, scen_now(), &a->o.since) < 0)
			return scen_cli_bad(e, "--since '%s': expected ISO "
					    "8601 or a span such as 12h", arg);
		break;
	case VERIFY:
		a->o.verify = 1;
		break;
	}
	return SCEN_OK;
}

static const struct scen_cli_cmd cmd = {
	.about = "Reports the last hour, day and week of a scen database: "
		 "tiers, hit rate, accounts against their limits, the queue, "
		 "errors and the pool; the alerts of scen.yaml and advice. "
		 "Reads the database only.",
	.opts = opts,
	.set = set,
};

/* The options that exclude each other. */
static enum scen_err combine(struct args *a, struct scen_error *e)
{
	const struct scen_stats_opts *o = &a->o;
	int check = o->format == SCEN_STATS_CHECK;

	if (a->formats > 1)
		return scen_cli_bad(e, "--check, --json and --prometheus "
				    "exclude each other");
	if (o->verify && (o->html || (a->formats && !check)))
		return scen_cli_bad(e, "--verify takes only --check");
	if (o->html && !strcmp(o->html, "-") && a->formats)
		return scen_cli_bad(e, "--html - writes standard output: it "
				    "excludes --check, --json and "
				    "--prometheus");
	if (o->html && !a->formats)
		a->o.format = SCEN_STATS_NONE;
	return SCEN_OK;
}

int main(int argc, char **argv)
{
	struct scen_cli cli = {0};
	struct args a = {
		.o = {.format = SCEN_STATS_TABLE, .since = NAN, .out = stdout},
	};
	struct scen_config *cfg;
	struct scen_db *db;
	struct scen_error e;

	if (scen_cli_parse(&cli, &cmd, argc, argv, &a, &e) || cli.done ||
	    combine(&a, &e)) {
		int rc = scen_err_report(&e);
		/* a monitoring check that cannot run is UNKNOWN */
		return rc && a.o.format == SCEN_STATS_CHECK ?
		       SCEN_LEVEL_UNKNOWN : rc;
	}
	int check = a.o.format == SCEN_STATS_CHECK;
	if (scen_cli_open(&cli, SCEN_CLI_READONLY, &cfg, &db, &e)) {
		int rc = scen_err_report(&e);
		if (!check)
			return rc;
		printf("SCEN UNKNOWN - cannot read the config or the "
		       "database (exit %d)\n", rc);
		scen_close_stdout(0);
		return SCEN_LEVEL_UNKNOWN;
	}
	enum scen_level level;
	int rc = scen_cache_stats(cfg, db, &a.o, &level, &e)
		 ? scen_err_report(&e) : 0;
	if (check)
		rc = (int)level;
	/* scen_cache_stats reports its failed writes */
	if (scen_cli_close(cfg, db, rc != 0) && !rc)
		rc = check ? SCEN_LEVEL_UNKNOWN : scen_err_exit(SCEN_ERR_IO);
	return rc;
}
