/* stats.h — scen-cache-stats: the figures of the last hour, day and week
 * (scen-cache-stats(1)), the alerts of `alerts:` and the advice of the
 * scaling triggers, written as a table, JSON, Prometheus text, a
 * monitoring check or a self-contained HTML page; and --verify. The
 * module is src/stats/ (its inside: src/stats/stats_int.h). */
#ifndef SCEN_STATS_H
#define SCEN_STATS_H

#include <stddef.h>
#include <stdio.h>

#include "scen/config.h"
#include "scen/db.h"
#include "scen/error.h"
#include "scen/util.h"

/* Monitoring plugin levels; also the exit status of --check (0 to 3, not
 * sysexits(3)). */
enum scen_level {
	SCEN_LEVEL_OK = 0,
	SCEN_LEVEL_WARNING = 1,
	SCEN_LEVEL_CRITICAL = 2,
	SCEN_LEVEL_UNKNOWN = 3,
};
const char *scen_level_name(enum scen_level l);

enum scen_stats_format {
	SCEN_STATS_TABLE,
	SCEN_STATS_JSON,
	SCEN_STATS_PROMETHEUS,
	SCEN_STATS_CHECK,
	SCEN_STATS_NONE,	/* only --html */
};

struct scen_stats_opts {
	enum scen_stats_format format;
	const char *html;	/* --html FILE ("-": stdout), or NULL */
	double since;		/* --since: a fourth window; NaN if not given */
	int verify;		/* --verify instead of figures */
	FILE *out;
};

/*
 * Collects the figures in one read snapshot and writes them as o asks (or
 * runs --verify). Sets *level to what --check reports, whatever the
 * format: the highest level of the alerts (with --verify, CRITICAL when a
 * problem was found), or SCEN_LEVEL_UNKNOWN when the figures or the checks
 * could not be read or written. Returns SCEN_OK, or fills e and returns
 * SCEN_ERR_DATA when --verify found a problem (its report says which),
 * SCEN_ERR_IO when the database or the output fails; the failure was said
 * where it was found, so e's message is empty. Under --check the command
 * exits with *level (the monitoring convention, scen-cache-stats(1)),
 * else with the status of the error's kind.
 */
enum scen_err scen_cache_stats(const struct scen_config *cfg,
			       struct scen_db *db,
			       const struct scen_stats_opts *o,
			       enum scen_level *level, struct scen_error *e);

/* The p-quantile (0 < p <= 1) of v by the nearest-rank method; sorts v.
 * NaN when n is 0. */
double scen_percentile(double *v, size_t n, double p);
/* Appends s as a Prometheus label value (without the quotes): backslash,
 * double quote and newline escaped. */
void scen_prom_label(struct strbuf *sb, const char *s);
/* Appends s with &, <, >, " and ' escaped for HTML. */
void scen_html_escape(struct strbuf *sb, const char *s);

#endif
