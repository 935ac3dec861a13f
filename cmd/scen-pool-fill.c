/* scen-pool-fill — fill the pre-generated pool within a time window and a
 * quota share (scen-pool-fill(1)). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "scen/cli.h"
#include "scen/poolfill.h"
#include "scen/spool.h"

enum { COLLECT, DAYS, DRY_RUN, EXPERIMENT, MAX_CALLS, MODE, TEMPLATE,
	UNTIL };

static const struct scen_cli_opt opts[] = {
	{"collect", 0, NULL, "only collect the batches that ended; no new "
	 "call", COLLECT, 0},
	{"days", 0, "n", "count demand over the last n days (default 14)",
	 DAYS, 0},
	{"dry-run", 0, NULL, "print the plan and the budget; call nothing",
	 DRY_RUN, 0},
	{"experiment", 0, "name", "only this experiment", EXPERIMENT, 0},
	{"max-calls", 0, "n", "make at most n provider calls (batch lines)",
	 MAX_CALLS, 0},
	{"mode", 0, "mode", "online, batch or auto (default: pool.mode)",
	 MODE, 0},
	{"template", 0, "name", "only templates of this name", TEMPLATE, 0},
	{"until", 0, "HH:MM", "stop starting calls at this local time", UNTIL,
	 0},
	{0},
};

/* Option name's value s, an integer from min to max, into *v. */
static enum scen_err number(const char *name, const char *s, long min,
			    long max, long *v, struct scen_error *e)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (!*s || *end || n < min || n > max)
		return scen_cli_bad(e, "--%s '%s': expected an integer from "
				    "%ld to %ld", name, s, min, max);
	*v = n;
	return SCEN_OK;
}

static enum scen_err set(void *ctx, int id, const char *arg,
			 struct scen_error *e)
{
	struct scen_pool_opts *o = ctx;

	switch (id) {
	case COLLECT:
		o->collect = 1;
		break;
	case MODE:
		o->mode = scen_pool_mode_from_name(arg);
		if (o->mode < 0)
			return scen_cli_bad(e, "--mode '%s': expected online, "
					    "batch or auto", arg);
		break;
	case DAYS:
		return number("days", arg, 1, 3650, &o->days, e);
	case DRY_RUN:
		o->dry_run = 1;
		break;
	case EXPERIMENT:
		o->experiment = arg;
		break;
	case MAX_CALLS:
		return number("max-calls", arg, 0, 100000000, &o->max_calls,
			      e);
	case TEMPLATE:
		o->tpl = arg;
		break;
	case UNTIL:
		o->until_min = scen_pool_parse_until(arg);
		if (o->until_min < 0)
			return scen_cli_bad(e, "--until '%s': expected a local "
					    "time HH:MM, 00:00 to 23:59", arg);
		break;
	}
	return SCEN_OK;
}

static const struct scen_cli_cmd cmd = {
	.about = "Fills the pre-generated pool: pool.variants unserved "
		 "entries for every combination of the declared design, most "
		 "requested first: online within a share of each account's "
		 "remaining day (pool.quota_share), or through the provider's "
		 "Batch API (pool.mode, --mode: a run submits, a later one "
		 "collects).",
	.quiet = "no progress, no summary, no warnings",
	.opts = opts,
	.set = set,
};

int main(int argc, char **argv)
{
	struct scen_cli cli = {0};
	struct scen_pool_opts o = {
		.days = 14, .until_min = -1, .max_calls = -1, .mode = -1,
		.out = stdout,
	};
	struct scen_config *cfg;
	struct scen_db *db = NULL;
	struct scen_error e;

	/* a dry run makes no calls: it needs no keys, and it only reads */
	if (scen_cli_parse(&cli, &cmd, argc, argv, &o, &e) || cli.done ||
	    scen_cli_open(&cli, o.dry_run ? SCEN_CLI_NO_DB : SCEN_CLI_KEYS,
			  &cfg, &db, &e))
		return scen_err_report(&e);
	int rc;
	if (o.dry_run) {
		/* reads only what exists: a server's database, or a file */
		int ro = scen_is_db_uri(cfg->database) ||
			 access(cfg->database, F_OK) == 0;
		db = scen_db_open(cfg->database, ro ? SCEN_DB_READONLY : 0,
				  &e);
		if (!db) {
			scen_config_free(cfg);
			return scen_err_report(&e);
		}
		scen_spool_start(db, ro);
	}
	o.progress = isatty(STDERR_FILENO);
	rc = scen_pool_fill(cfg, db, &o, &e) ? scen_err_report(&e) : 0;
	enum scen_err closed = scen_cli_close(cfg, db, 0);
	return rc ? rc : scen_err_exit(closed);
}
