/* export.c — scen-export: the rows of db_report.c's export statements
 * written as JSONL or CSV (RFC 4180), one row at a time. */
#include "scen/export.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void scen_csv_field(struct strbuf *sb, const char *s, size_t n)
{
	if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\r', n) &&
	    !memchr(s, '\n', n)) {
		sb_add(sb, s, n);
		return;
	}
	sb_grow(sb, n + 2);
	sb_addc(sb, '"');
	const char *p = s, *end = s + n;
	while (p < end) {
		const char *q = memchr(p, '"', (size_t)(end - p));
		if (!q) {
			sb_add(sb, p, (size_t)(end - p));
			break;
		}
		sb_add(sb, p, (size_t)(q - p) + 1);
		sb_addc(sb, '"');	/* the quote, doubled */
		p = q + 1;
	}
	sb_addc(sb, '"');
}

void scen_export_number(struct strbuf *sb, double d)
{
	if (!isfinite(d)) {
		sb_adds(sb, "null");
		return;
	}
	char buf[40];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	sb_adds(sb, buf);
}

void scen_export_time(struct strbuf *sb, double t)
{
	long long ms = llround(t * 1000);
	time_t s = (time_t)(ms / 1000);
	long frac = (long)(ms % 1000);
	if (frac < 0) {
		frac += 1000;
		s--;
	}
	struct tm tm;
	char buf[32];
	gmtime_r(&s, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	sb_addf(sb, "%s.%03ldZ", buf, frac);
}

/* Appends the value of column i as CSV (csv) or JSON text. */
static void add_value(struct strbuf *sb, struct scen_rows *rows, size_t i,
		      enum scen_col_kind kind, int csv)
{
	size_t len;
	const char *s;
	if (scen_rows_null(rows, i)) {
		if (!csv)
			sb_adds(sb, "null");
		return;
	}
	switch (kind) {
	case SCEN_COL_TEXT:
		s = scen_rows_text(rows, i, &len);
		if (csv)
			scen_csv_field(sb, s, len);
		else
			sb_add_json_str(sb, s, len);
		break;
	case SCEN_COL_JSON:
		s = scen_rows_text(rows, i, &len);
		if (csv)
			scen_csv_field(sb, s, len);
		else
			sb_add(sb, s, len);
		break;
	case SCEN_COL_INT:
		sb_addf(sb, "%lld", (long long)scen_rows_int(rows, i));
		break;
	case SCEN_COL_NUM:
		scen_export_number(sb, scen_rows_num(rows, i));
		break;
	case SCEN_COL_MS:
		scen_export_number(sb, round(scen_rows_num(rows, i) * 1000) /
				       1000);
		break;
	case SCEN_COL_TIME:
		if (!csv)
			sb_addc(sb, '"');
		scen_export_time(sb, scen_rows_num(rows, i));
		if (!csv)
			sb_addc(sb, '"');
		break;
	case SCEN_COL_BOOL:
		sb_adds(sb, scen_rows_int(rows, i) ? "true" : "false");
		break;
	}
}

int scen_export(const struct scen_config *cfg, struct scen_db *db,
		const struct scen_export_opts *o)
{
	size_t ncols;
	const struct scen_column *cols = scen_export_columns(o->what, &ncols);
	struct scen_report *r = scen_report_new(db);
	struct scen_rows *rows = scen_report_rows(r, o->what, &o->filter);
	struct strbuf sb;
	long n = 0;
	int rc = 0;
	(void)cfg;
	if (!rows) {
		scen_report_free(r);
		return SCEN_EX_IOERR;
	}
	sb_init(&sb);
	if (o->csv) {
		for (size_t i = 0; i < ncols; i++) {
			if (i)
				sb_addc(&sb, ',');
			sb_adds(&sb, cols[i].name);
		}
		sb_adds(&sb, "\r\n");
	}
	for (;;) {
		int more = scen_rows_next(rows);
		if (more < 0) {
			rc = SCEN_EX_IOERR;
			break;
		}
		if (!more)
			break;
		if (!o->csv)
			sb_addc(&sb, '{');
		for (size_t i = 0; i < ncols; i++) {
			if (i)
				sb_addc(&sb, ',');
			if (!o->csv) {
				sb_addc(&sb, '"');
				sb_adds(&sb, cols[i].name);
				sb_adds(&sb, "\":");
			}
			add_value(&sb, rows, i, cols[i].kind, o->csv);
		}
		sb_adds(&sb, o->csv ? "\r\n" : "}\n");
		n++;
		/* a row at a time: memory stays that of the longest row */
		if (fwrite(sb.buf, 1, sb.len, o->out) != sb.len) {
			rc = SCEN_EX_IOERR;
			break;
		}
		sb_reset(&sb);
	}
	if (!rc && sb.len && fwrite(sb.buf, 1, sb.len, o->out) != sb.len)
		rc = SCEN_EX_IOERR;	/* the CSV header of no rows */
	if (fflush(o->out) != 0 || ferror(o->out))
		rc = SCEN_EX_IOERR;
	if (rc == SCEN_EX_IOERR && ferror(o->out))
		scen_error("cannot write the export: %s", strerror(errno));
	if (o->rows_written)
		*o->rows_written = n;
	sb_release(&sb);
	scen_rows_free(rows);
	scen_report_free(r);
	return rc;
}
