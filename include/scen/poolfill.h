/* poolfill.h — scen-pool-fill: plans what the pre-generated pool lacks
 * (the declared design, most requested combinations first), budgets a share
 * of each account's day, and generates in batches through the engine. */
#ifndef SCEN_POOLFILL_H
#define SCEN_POOLFILL_H

#include <stdio.h>

#include "scen/config.h"
#include "scen/db.h"
#include "scen/error.h"

struct scen_pool_opts {
	const char *experiment;	/* NULL: every experiment */
	const char *tpl;	/* NULL: every template */
	long days;		/* demand window in days (default 14) */
	int until_min;		/* --until as minutes after local midnight,
				   -1 when not given */
	long max_calls;		/* -1: no limit */
	int dry_run;		/* print the plan, call nothing */
	int collect;		/* only collect batches: no new call */
	int mode;		/* enum scen_pool_mode, -1: pool.mode */
	int progress;		/* 1: a progress bar on stderr (a terminal);
				   0: a plain log line a minute */
	FILE *out;		/* the plan and the summary */
};

/* Parses "HH:MM" (00:00 to 23:59) into minutes after midnight; -1 when it
 * is not one. */
int scen_pool_parse_until(const char *s);

/*
 * Runs one pool fill (or prints its plan with dry_run) for the config's
 * templates narrowed by o. Holds flock(2) on "<database>.pool-fill.lock"
 * while it works. Returns SCEN_OK when the pool is full or the run stopped
 * cleanly at a limit (budget, --max-calls, --until, the end of the quota
 * day, a signal). Else fills e and returns: SCEN_ERR_USAGE when
 * --experiment or --template names nothing; SCEN_ERR_DATA when a design is
 * too large; SCEN_ERR_UNAVAILABLE when entries were needed but the
 * provider or every account was unavailable, so nothing could be made
 * (said with the summary: e's message is empty); SCEN_ERR_IO on a
 * database error (said where it was found: empty) or when the lock cannot
 * be taken; SCEN_ERR_TEMPFAIL when another run holds the lock.
 */
enum scen_err scen_pool_fill(const struct scen_config *cfg,
			     struct scen_db *db,
			     const struct scen_pool_opts *o,
			     struct scen_error *e);

#endif
