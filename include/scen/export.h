/* export.h — scen-export: servings, scenarios or template versions with
 * their full provenance, streamed row by row as JSONL or CSV (RFC 4180). */
#ifndef SCEN_EXPORT_H
#define SCEN_EXPORT_H

#include <stdio.h>

#include "scen/config.h"
#include "scen/db.h"
#include "scen/db_report.h"
#include "scen/error.h"
#include "scen/util.h"

struct scen_export_opts {
	enum scen_export_what what;
	int csv;		/* else JSONL */
	struct scen_export_filter filter;
	FILE *out;
	long *rows_written;	/* when not NULL, set to the rows written */
};

/*
 * Writes the rows the options select, in constant memory. Returns SCEN_OK,
 * or fills e and returns: SCEN_ERR_USAGE when the filter names an
 * experiment or template that neither cfg nor the database knows (one
 * known but with no rows yet is no error); SCEN_ERR_IO when the database
 * (its message already said, e's empty) or the output fails. In CSV, text
 * fields go through scen_csv_text.
 */
enum scen_err scen_export(const struct scen_config *cfg, struct scen_db *db,
			  const struct scen_export_opts *o,
			  struct scen_error *e);

/* Appends one CSV field (RFC 4180): quoted when it holds a comma, a double
 * quote, CR or LF, with its double quotes doubled. */
void scen_csv_field(struct strbuf *sb, const char *s, size_t n);
/* As scen_csv_field, for a text a spreadsheet must not run: one that
 * starts with =, +, -, @, a tab or a CR gets a ' before it
 * (scen-export(1)). */
void scen_csv_text(struct strbuf *sb, const char *s, size_t n);
/* Appends d in the shortest form that reads back as the same double
 * (integers without a fraction); "null" when not finite. */
void scen_export_number(struct strbuf *sb, double d);
/* Appends t (epoch seconds) as ISO 8601 UTC with milliseconds,
 * "2026-11-28T03:12:09.123Z". */
void scen_export_time(struct strbuf *sb, double t);

#endif
