/* command.c — scen-cache-stats (scen-cache-stats(1)): reads the figures,
 * judges the alerts and the advice, and writes the format asked for and
 * the HTML page; or --verify. */
#include "stats_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct verify_ctx {
	struct strbuf *sb;
};

static void on_check(void *ctx, const char *name, const char *what,
		     long problems, const char *detail)
{
	struct verify_ctx *v = ctx;
	if (!problems) {
		sb_addf(v->sb, "ok    %-18s %s\n", name, what);
		return;
	}
	sb_addf(v->sb, "FAIL  %-18s %s: %ld problem%s\n", name, what,
		problems, problems == 1 ? "" : "s");
	for (const char *p = detail; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		sb_addf(v->sb, "        %.*s\n", (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

/* The figures or the checks could not be read or written: --check says
 * UNKNOWN; the failure was said where it was found. */
static enum scen_err unknown(enum scen_level *level, struct scen_error *e)
{
	*level = SCEN_LEVEL_UNKNOWN;
	return scen_failed(e, SCEN_ERR_IO);
}

static int write_all(FILE *f, const struct strbuf *sb)
{
	return fwrite(sb->buf, 1, sb->len, f) == sb->len && fflush(f) == 0
		? 0 : -1;
}

/* Writes the report to out; a failure is said here, once. */
static enum scen_err write_report(FILE *out, const struct strbuf *sb,
				  enum scen_level *level,
				  struct scen_error *e)
{
	if (!sb->len || write_all(out, sb) == 0)
		return SCEN_OK;
	scen_error("cannot write: %s", strerror(errno));
	return unknown(level, e);
}

/* --verify into sb; as scen_cache_stats. */
static enum scen_err verify(const struct scen_config *cfg, struct scen_db *db,
			    const struct scen_stats_opts *o, struct strbuf *sb,
			    enum scen_level *level, struct scen_error *e)
{
	struct scen_report *r = scen_report_new(db);
	struct verify_ctx v = {sb};
	struct scen_verify_opts vo = {
		.max_serves = cfg->cache.max_serves,
		.no_repeat = cfg->cache.no_repeat_per_session,
	};
	int check_mode = o->format == SCEN_STATS_CHECK;
	if (!check_mode)
		sb_addf(sb, "scen-cache-stats: verifying %s\n",
			scen_db_path(db));
	struct strbuf lines;
	sb_init(&lines);
	v.sb = &lines;
	long problems = -1;
	if (scen_report_begin(r) == 0) {
		problems = scen_report_verify(r, &vo, on_check, &v);
		scen_report_end(r);
	}
	scen_report_free(r);
	enum scen_err rc = SCEN_OK;
	*level = problems ? SCEN_LEVEL_CRITICAL : SCEN_LEVEL_OK;
	if (problems < 0)
		rc = unknown(level, e);
	else if (problems)	/* the report says which */
		rc = scen_failed(e, SCEN_ERR_DATA);
	if (check_mode && problems < 0)
		sb_adds(sb, "SCEN UNKNOWN - the checks could not run\n");
	else if (check_mode)
		sb_addf(sb, "SCEN %s - verify: %ld problem%s\n",
			scen_level_name(*level), problems,
			problems == 1 ? "" : "s");
	sb_add(sb, lines.buf, lines.len);
	if (!check_mode && problems >= 0)
		sb_addf(sb, "%ld problem%s found\n", problems,
			problems == 1 ? "" : "s");
	sb_release(&lines);
	return rc;
}

/* ---- the command ---------------------------------------------------- */


static int write_html(const struct stats *s, const char *path, FILE *out)
{
	struct strbuf sb;
	sb_init(&sb);
	stats_html(&sb, s);
	int rc = 0;
	if (!strcmp(path, "-")) {
		if (write_all(out, &sb) < 0)
			rc = scen_error("cannot write the report: %s",
					strerror(errno));
	} else {
		FILE *f = fopen(path, "w");
		if (!f) {
			rc = scen_error("%s: cannot create: %s", path,
					strerror(errno));
		} else {
			if (write_all(f, &sb) < 0)
				rc = scen_error("%s: cannot write: %s", path,
						strerror(errno));
			if (fclose(f) != 0 && !rc)
				rc = scen_error("%s: cannot write: %s", path,
						strerror(errno));
		}
	}
	sb_release(&sb);
	return rc;
}

/* Reads the figures into s in one snapshot, judges the alerts and gives
 * the advice; 0, or -1 (reported). */
static int read_figures(struct stats *s, struct scen_db *db,
			const struct scen_stats_opts *o)
{
	s->dbpath = scen_db_path(db);
	s->now = scen_now();
	s->nwin = isnan(o->since) ? W_SINCE : W_MAX;
	for (int i = 0; i < W_MAX; i++)
		scen_map_init(&s->w[i].c);
	scen_map_init(&s->misses);
	if (s->nwin == W_MAX) {
		s->w[W_SINCE].from = o->since;
		s->w[W_SINCE].to = s->now;
	}
	s->widest = W_WEEK;

	struct scen_report *r = scen_report_new(db);
	int ok = scen_report_begin(r) == 0 && stats_collect(s, r) == 0;
	if (ok) {
		stats_judge_alerts(s);
		ok = stats_give_advice(s, r) == 0;
	}
	scen_report_end(r);
	scen_report_free(r);
	return ok ? 0 : -1;
}

/* The figures in the format o asks, and the HTML page; as
 * scen_cache_stats. */
static enum scen_err figures(const struct scen_config *cfg,
			     struct scen_db *db,
			     const struct scen_stats_opts *o,
			     enum scen_level *level, struct scen_error *e)
{
	struct stats s;
	memset(&s, 0, sizeof s);
	s.cfg = cfg;
	if (read_figures(&s, db, o) < 0) {
		if (o->format == SCEN_STATS_CHECK)
			fputs("SCEN UNKNOWN - the figures could not be read\n",
			      o->out);
		stats_release(&s);
		return unknown(level, e);
	}
	struct strbuf sb;
	sb_init(&sb);
	switch (o->format) {
	case SCEN_STATS_TABLE:
		stats_table(&sb, &s);
		break;
	case SCEN_STATS_JSON:
		stats_json(&sb, &s);
		break;
	case SCEN_STATS_PROMETHEUS:
		stats_prometheus(&sb, &s);
		break;
	case SCEN_STATS_CHECK:
		stats_check(&sb, &s);
		break;
	case SCEN_STATS_NONE:
		break;
	}
	enum scen_err rc = SCEN_OK;
	*level = s.level;
	if (o->html && write_html(&s, o->html, o->out) < 0)
		rc = unknown(level, e);
	if (write_report(o->out, &sb, level, e))
		rc = SCEN_ERR_IO;
	stats_release(&s);
	sb_release(&sb);
	return rc;
}

enum scen_err scen_cache_stats(const struct scen_config *cfg,
			       struct scen_db *db,
			       const struct scen_stats_opts *o,
			       enum scen_level *level, struct scen_error *e)
{
	if (!o->verify)
		return figures(cfg, db, o, level, e);
	struct strbuf sb;
	sb_init(&sb);
	enum scen_err rc = verify(cfg, db, o, &sb, level, e);
	/* what it found is lost with the report: that is said, and is
	 * UNKNOWN under --check */
	enum scen_err w = write_report(o->out, &sb, level, e);
	if (!rc)
		rc = w;
	sb_release(&sb);
	return rc;
}
