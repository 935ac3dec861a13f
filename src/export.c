/* export.c — scen-export: the rows of db_report.c's export statements
 * written as JSONL or CSV (RFC 4180), one row at a time. */
#include "scen/export.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A field of n bytes from s, quoted when it must be, after prefix (0
 * for none). */
static void csv_field(struct strbuf *sb, char prefix, const char *s,
		      size_t n)
{
	int quote = memchr(s, ',', n) || memchr(s, '"', n) ||
		    memchr(s, '\r', n) || memchr(s, '\n', n);
	sb_grow(sb, n + 3);
	if (quote)
		sb_addc(sb, '"');
	if (prefix)
		sb_addc(sb, prefix);
	const char *p = s, *end = s + n;
	while (quote && p < end) {
		const char *q = memchr(p, '"', (size_t)(end - p));
		if (!q)
			break;
		sb_add(sb, p, (size_t)(q - p) + 1);
		sb_addc(sb, '"');	/* the quote, doubled */
		p = q + 1;
	}
	sb_add(sb, p, (size_t)(end - p));
	if (quote)
		sb_addc(sb, '"');
}

void scen_csv_field(struct strbuf *sb, const char *s, size_t n)
{
	csv_field(sb, 0, s, n);
}

/* Whether a spreadsheet could read s as a formula: it starts with a tab
 * or a CR (OWASP's list), or, after any blanks and line breaks (which
 * some spreadsheets trim), with =, +, - or @, in ASCII or full width
 * (U+FF1D, U+FF0B, U+FF0D, U+FF20, which some convert). */
static int formula_like(const char *s, size_t n)
{
	size_t i = 0;
	if (n && (s[0] == '\t' || s[0] == '\r'))
		return 1;
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
			 s[i] == '\n'))
		i++;
	if (i < n && s[i] && strchr("=+-@", s[i]))
		return 1;
	static const char wide[][4] = {
		"\xef\xbc\x9d", "\xef\xbc\x8b", "\xef\xbc\x8d", "\xef\xbc\xa0",
	};
	for (size_t k = 0; k < sizeof wide / sizeof wide[0]; k++)
		if (n - i >= 3 && !memcmp(s + i, wide[k], 3))
			return 1;
	return 0;
}

void scen_csv_text(struct strbuf *sb, const char *s, size_t n)
{
	csv_field(sb, formula_like(s, n) ? '\'' : 0, s, n);
}

void scen_export_number(struct strbuf *sb, double d)
{
	if (!isfinite(d)) {
		sb_adds(sb, "null");
		return;
	}
	if (d == floor(d) && fabs(d) < 1e15) {
		sb_addf(sb, "%lld", (long long)d);
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

/* Milliseconds rounded to the microsecond: the same text as
 * scen_export_number(round(ms * 1000) / 1000), without printf's cost. */
static void add_ms(struct strbuf *sb, double ms)
{
	double us = round(ms * 1000);
	if (!isfinite(us) || fabs(us) >= 1e15) {
		scen_export_number(sb, us / 1000);
		return;
	}
	long long v = (long long)us;
	if (v < 0) {
		sb_addc(sb, '-');
		v = -v;
	}
	sb_addf(sb, "%lld", v / 1000);
	int frac = (int)(v % 1000);
	if (!frac)
		return;
	char f[5] = {
		'.', (char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
		(char)('0' + frac % 10), 0
	};
	int n = 4;
	while (f[n - 1] == '0')
		n--;
	sb_add(sb, f, (size_t)n);
}

static void digits(char *p, long v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void scen_export_time(struct strbuf *sb, double t)
{
	/* consecutive rows are usually in the same second: the calendar
	 * part is worked out once per second */
	static long long last_s = -1;
	static char date[20];
	long long ms = llround(t * 1000);
	long long s = ms / 1000;
	long frac = (long)(ms % 1000);
	if (frac < 0) {
		frac += 1000;
		s--;
	}
	if (s != last_s) {
		time_t ts = (time_t)s;
		struct tm tm;
		gmtime_r(&ts, &tm);
		digits(date, tm.tm_year + 1900L, 4);
		date[4] = '-';
		digits(date + 5, tm.tm_mon + 1, 2);
		date[7] = '-';
		digits(date + 8, tm.tm_mday, 2);
		date[10] = 'T';
		digits(date + 11, tm.tm_hour, 2);
		date[13] = ':';
		digits(date + 14, tm.tm_min, 2);
		date[16] = ':';
		digits(date + 17, tm.tm_sec, 2);
		last_s = s;
	}
	char buf[25];
	memcpy(buf, date, 19);
	buf[19] = '.';
	digits(buf + 20, frac, 3);
	buf[23] = 'Z';
	sb_add(sb, buf, 24);
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
			scen_csv_text(sb, s, len);
		else
			sb_add_json_str(sb, s, len);
		break;
	case SCEN_COL_JSON:
		s = scen_rows_text(rows, i, &len);
		if (csv)
			scen_csv_text(sb, s, len);
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
		add_ms(sb, scen_rows_num(rows, i));
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

/* Whether cfg declares the experiment (any when NULL) with the template
 * (any when NULL). */
static int declared(const struct scen_config *cfg, const char *experiment,
		    const char *template_name)
{
	for (size_t i = 0; i < cfg->nexperiments; i++) {
		const struct scen_experiment *e = &cfg->experiments[i];
		if ((!experiment || !strcmp(e->name, experiment)) &&
		    (!template_name ||
		     scen_experiment_template(e, template_name)))
			return 1;
	}
	return 0;
}

/* Whether the config or the database knows the experiment with the
 * template (either NULL: any): 1, 0, or -1 on a read error (reported). */
static int known(const struct scen_config *cfg, struct scen_db *db,
		 const char *experiment, const char *template_name)
{
	if (declared(cfg, experiment, template_name))
		return 1;
	return scen_db_template_known(db, experiment, template_name);
}

/* An experiment or template that neither the config nor the database
 * knows is a mistyped name, not an empty result: SCEN_OK, SCEN_ERR_USAGE
 * naming it, or SCEN_ERR_IO when the database cannot be read (reported
 * there). */
static enum scen_err check_names(const struct scen_config *cfg,
				 struct scen_db *db,
				 const struct scen_export_filter *f,
				 struct scen_error *err)
{
	const char *e = f->experiment, *t = f->template_name;
	if (!e && !t)
		return SCEN_OK;
	int k = known(cfg, db, e, t);
	if (k == 0 && e && t) {	/* which of the two is unknown */
		int ke = known(cfg, db, e, NULL);
		k = ke == 1 ? -2 : ke;
	}
	if (k == 1)
		return SCEN_OK;
	if (k == -1)
		return scen_failed(err, SCEN_ERR_IO);
	if (k == 0 && e)
		return scen_fail(err, SCEN_ERR_USAGE, "--experiment '%s': no "
				 "such experiment in %s or the config", e,
				 scen_db_path(db));
	return scen_fail(err, SCEN_ERR_USAGE, "--template '%s': no such "
			 "template%s%s in %s or the config", t,
			 e ? " of experiment " : "", e ? e : "",
			 scen_db_path(db));
}

/* Writes the rows to o->out, a row at a time; 0, or -1 when the database
 * (reported there) or the output fails. */
static int write_rows(struct scen_rows *rows, const struct scen_export_opts *o,
		      long *n)
{
	size_t ncols;
	const struct scen_column *cols = scen_export_columns(o->what, &ncols);
	struct strbuf sb;
	int rc = 0;
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
		if (more <= 0) {
			rc = more;
			break;
		}
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
		++*n;
		/* a row at a time: memory stays that of the longest row */
		if (fwrite(sb.buf, 1, sb.len, o->out) != sb.len) {
			rc = -1;
			break;
		}
		sb_reset(&sb);
	}
	if (!rc && sb.len && fwrite(sb.buf, 1, sb.len, o->out) != sb.len)
		rc = -1;	/* the CSV header of no rows */
	sb_release(&sb);
	return rc;
}

enum scen_err scen_export(const struct scen_config *cfg, struct scen_db *db,
			  const struct scen_export_opts *o,
			  struct scen_error *e)
{
	enum scen_err rc = check_names(cfg, db, &o->filter, e);
	if (rc)
		return rc;
	struct scen_report *r = scen_report_new(db);
	/* one snapshot, also for the version counts of --what templates */
	struct scen_rows *rows = scen_report_begin(r) < 0 ? NULL
		: scen_report_rows(r, o->what, &o->filter);
	long n = 0;
	if (!rows) {
		scen_report_free(r);
		return scen_failed(e, SCEN_ERR_IO);
	}
	int failed = write_rows(rows, o, &n);
	if (fflush(o->out) != 0 || ferror(o->out))
		rc = scen_fail(e, SCEN_ERR_IO, "cannot write the export: %s",
			       strerror(errno));
	else if (failed)
		rc = scen_failed(e, SCEN_ERR_IO);
	if (o->rows_written)
		*o->rows_written = n;
	scen_rows_free(rows);
	scen_report_end(r);
	scen_report_free(r);
	return rc;
}
