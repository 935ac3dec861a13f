/* serve.h — the streaming filter behind scen-serve-stdin and scen-gen:
 * request lines in, one final answer per request out, each answer written
 * only after what it reports is committed (scen-serve-stdin(1), scen(7)). */
#ifndef SCEN_SERVE_H
#define SCEN_SERVE_H

#include <stdio.h>

#include "scen/config.h"
#include "scen/db.h"
#include "scen/error.h"

struct scen_serve_opts {
	int async;		/* answer "generating" at once */
	int ordered;		/* final answers in input order */
	int gen;		/* scen-gen: fresh only, no servings, no
				   session needed, no sharing of calls */
	long count;		/* scen-gen: scenarios per request */
	int pool;		/* scen-gen: store as pool entries */
	int in_fd;
	const char *in_name;	/* for messages: "stdin" */
	FILE *out;
};

struct scen_serve_stats {
	long lines;		/* requests read */
	long ok, unavailable, errors;
	long by_tier[SCEN_TIER_COUNT];
};

/*
 * Runs until end of input (or SIGINT/SIGTERM) and every job has ended.
 * Returns SCEN_OK, or SCEN_ERR_IO when the output or the database failed
 * (err, when not NULL, says so; its message is empty when the details
 * were reported as they happened).
 */
enum scen_err scen_serve(const struct scen_config *cfg, struct scen_db *db,
			 const struct scen_serve_opts *o,
			 struct scen_serve_stats *st, struct scen_error *err);

#endif
