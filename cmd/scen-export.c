/* scen-export — servings, scenarios and template versions with their full
 * provenance, as JSONL or CSV (scen-export(1)). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scen/cli.h"
#include "scen/export.h"

enum { EXPERIMENT, FORMAT, SESSION, SINCE, TEMPLATE, TIER, UNTIL, WHAT };

static const struct scen_cli_opt opts[] = {
	{"experiment", 0, "name", "only this experiment", EXPERIMENT, 0},
	{"format", 0, "jsonl | csv", "JSON lines (default) or CSV (RFC 4180)",
	 FORMAT, 0},
	{"session", 0, "id", "only servings to this session", SESSION, 0},
	{"since", 0, "time", "only rows from time on (ISO 8601, or 30m, 12h, "
	 "7d)", SINCE, 0},
	{"template", 0, "name", "only this template", TEMPLATE, 0},
	{"tier", 0, "tier", "only servings of this tier (cache, fresh, pool, "
	 "relaxed)", TIER, 0},
	{"until", 0, "time", "only rows before time", UNTIL, 0},
	{"what", 0, "servings | scenarios | templates",
	 "what to export (default servings)", WHAT, 0},
	{0},
};

struct args {
	struct scen_export_opts o;
	double now;	/* the one "now" of relative times */
};

/* The index of arg in names (NULL-terminated), or -1. */
static int pick(const char *arg, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(arg, names[i]))
			return i;
	return -1;
}

static enum scen_err set(void *ctx, int id, const char *arg,
			 struct scen_error *e)
{
	static const char *const formats[] = {"jsonl", "csv", NULL};
	static const char *const whats[] = {
		[SCEN_EXPORT_SERVINGS] = "servings",
		[SCEN_EXPORT_SCENARIOS] = "scenarios",
		[SCEN_EXPORT_TEMPLATES] = "templates", NULL,
	};
	struct args *a = ctx;
	struct scen_export_filter *f = &a->o.filter;
	int i;

	switch (id) {
	case EXPERIMENT:
		f->experiment = arg;
		break;
	case FORMAT:
		if ((a->o.csv = pick(arg, formats)) < 0)
			return scen_cli_bad(e, "--format '%s': expected jsonl "
					    "or csv", arg);
		break;
	case SESSION:
		f->session = arg;
		break;
	case SINCE:
	case UNTIL:
		if (scen_report_parse_time(arg, a->now, id == SINCE ?
					   &f->since : &f->until) < 0)
			return scen_cli_bad(e, "--%s '%s': expected ISO 8601 "
					    "or a span such as 12h",
					    id == SINCE ? "since" : "until",
					    arg);
		break;
	case TEMPLATE:
		f->template_name = arg;
		break;
	case TIER:
		if (scen_tier_from_name(arg) < 0)
			return scen_cli_bad(e, "--tier '%s': expected cache, "
					    "fresh, pool or relaxed", arg);
		f->tier = arg;
		break;
	case WHAT:
		if ((i = pick(arg, whats)) < 0)
			return scen_cli_bad(e, "--what '%s': expected "
					    "servings, scenarios or "
					    "templates", arg);
		a->o.what = (enum scen_export_what)i;
		break;
	}
	return SCEN_OK;
}

static const struct scen_cli_cmd cmd = {
	.about = "Writes servings (the default), scenarios or template "
		 "versions with their full provenance on standard output, one "
		 "row at a time.",
	.opts = opts,
	.set = set,
};

/* The filters that select servings or their times must apply to what. */
static enum scen_err filters_apply(const struct scen_export_opts *o,
				   struct scen_error *e)
{
	if (o->what != SCEN_EXPORT_SERVINGS &&
	    (o->filter.tier || o->filter.session))
		return scen_cli_bad(e, "%s: --tier and --session select "
				    "servings only",
				    o->what == SCEN_EXPORT_SCENARIOS ?
				    "scenarios" : "templates");
	if (o->what == SCEN_EXPORT_TEMPLATES &&
	    (!isnan(o->filter.since) || !isnan(o->filter.until)))
		return scen_cli_bad(e, "templates: --since and --until select "
				    "servings and scenarios only");
	return SCEN_OK;
}

int main(int argc, char **argv)
{
	struct scen_cli cli = {0};
	struct args a = {
		.o = {
			.what = SCEN_EXPORT_SERVINGS,
			.filter = {.since = NAN, .until = NAN},
			.out = stdout,
		},
		.now = scen_now(),
	};
	struct scen_config *cfg;
	struct scen_db *db;
	struct scen_error e;

	if (scen_cli_parse(&cli, &cmd, argc, argv, &a, &e) || cli.done ||
	    filters_apply(&a.o, &e) ||
	    scen_cli_open(&cli, SCEN_CLI_READONLY, &cfg, &db, &e))
		return scen_err_report(&e);
	int rc = scen_export(cfg, db, &a.o, &e) ? scen_err_report(&e) : 0;
	/* scen_export reports its failed writes */
	enum scen_err closed = scen_cli_close(cfg, db, rc != 0);
	return rc ? rc : scen_err_exit(closed);
}
