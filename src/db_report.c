/* db_report.c — the read-side SQL of scen: the figures of scen-cache-stats,
 * its --verify checks, and the row streams of scen-export. Statements are
 * prepared once (report_stmt) and reused with bind/step/reset. */
#include "scen/db_report.h"

#include "scen/db_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen/hash.h"


struct scen_report {
	struct scen_db *db;
	int in_tx;
};

struct scen_report *scen_report_new(struct scen_db *db)
{
	struct scen_report *r = xcalloc(1, sizeof *r);
	r->db = db;
	return r;
}

void scen_report_free(struct scen_report *r)
{
	if (!r)
		return;
	if (r->in_tx)
		scen_report_end(r);
	free(r);
}

static int report_fail(struct scen_report *r, struct db_stmt *st)
{
	return scen_error("%s: \"%.80s\": %s", scen_db_path(r->db),
			  st->sql, db_errmsg(r->db));
}

static struct db_stmt *report_stmt(struct scen_report *r, enum stmt_id id)
{
	return db_stmt(r->db, id);
}

int scen_report_begin(struct scen_report *r)
{
	if (r->in_tx)
		return 0;
	if (r->db->be->begin(r->db, DB_TX_READ) < 0)
		return db_fail(r->db, "cannot begin reading");
	r->in_tx = 1;
	return 0;
}

void scen_report_end(struct scen_report *r)
{
	if (!r->in_tx)
		return;
	/* a read transaction has nothing to lose: ended without a word */
	r->db->be->rollback(r->db);
	r->in_tx = 0;
}

int scen_report_parse_time(const char *arg, double now, double *t)
{
	double iso = scen_parse_iso8601(arg);
	if (iso >= 0) {
		*t = iso;
		return 0;
	}
	char *end;
	if (!isdigit((unsigned char)arg[0]))
		return -1;
	double n = strtod(arg, &end);
	double unit;
	switch (*end) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return -1;
	}
	if (end[1] || !isfinite(n))
		return -1;
	*t = now - n * unit;
	return 0;
}

/* Ends a row loop: resets st and reports a step that failed. */
static int loop_end(struct scen_report *r, struct db_stmt *st, int rc)
{
	db_reset(st);
	if (rc != DB_DONE && rc != DB_ROW)
		return report_fail(r, st);
	return 0;
}

/* Steps st: whether a row is ready (*rc says why not). */
static int step_row(struct db_stmt *st, int *rc)
{
	*rc = db_step(st);
	return *rc == DB_ROW;
}

static const char *col_text(struct db_stmt *st, int i)
{
	const char *s = db_column_text(st, i);
	return s ? s : "";
}

int scen_report_counters(struct scen_report *r, int64_t from_hour,
			 int64_t to_hour, scen_counter_fn *fn, void *ctx)
{
	struct db_stmt *st = report_stmt(r, RS_COUNTERS);
	if (!st)
		return -1;
	db_bind_int64(st, 1, from_hour);
	db_bind_int64(st, 2, to_hour);
	int rc;
	while (step_row(st, &rc))
		fn(ctx, db_column_int64(st, 0), col_text(st, 1),
		   db_column_int64(st, 2));
	return loop_end(r, st, rc);
}

int scen_report_jobs(struct scen_report *r, double since,
		     void (*fn)(void *ctx, const struct scen_job_times *),
		     void *ctx)
{
	struct db_stmt *st = report_stmt(r, RS_JOBS);
	if (!st)
		return -1;
	db_bind_double(st, 1, since);
	int rc;
	while (step_row(st, &rc)) {
		struct scen_job_times j = {
			.created_at = db_column_double(st, 0),
			.started_at = db_column_double(st, 1),
			.finished_at = db_column_double(st, 2),
			.state = col_text(st, 3),
			.origin = col_text(st, 4),
		};
		fn(ctx, &j);
	}
	return loop_end(r, st, rc);
}

int scen_report_queue(struct scen_report *r, struct scen_queue_now *q)
{
	struct db_stmt *st = report_stmt(r, RS_QUEUE);
	if (!st)
		return -1;
	memset(q, 0, sizeof *q);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		q->queued = (long)db_column_int64(st, 0);
		q->running = (long)db_column_int64(st, 1);
		q->oldest_queued = db_column_double(st, 2);
	}
	return loop_end(r, st, rc);
}

int scen_report_account(struct scen_report *r, const char *name,
			struct scen_acct_state *a)
{
	struct db_stmt *st = report_stmt(r, RS_ACCOUNT);
	if (!st)
		return -1;
	memset(a, 0, sizeof *a);
	snprintf(a->breaker, sizeof a->breaker, "closed");
	db_bind_text(st, 1, name, -1);
	int rc = db_step(st);
	int found = rc == DB_ROW;
	if (found)
		scen_db_account_decode(st, 0, a);
	if (loop_end(r, st, rc) < 0)
		return -1;
	return found;
}

int scen_report_usage(struct scen_report *r, const char *account,
		      double now, double day_start,
		      struct scen_report_usage *u)
{
	struct db_stmt *st = report_stmt(r, RS_USAGE);
	if (!st)
		return -1;
	memset(u, 0, sizeof *u);
	db_bind_text(st, 1, account, -1);
	db_bind_double(st, 2, now);
	db_bind_double(st, 3, day_start);
	/* the oldest call the windows read (an index range) */
	db_bind_double(st, 4, day_start < now - 3600 ? day_start : now - 3600);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		u->minute = (long)db_column_int64(st, 0);
		u->hour = (long)db_column_int64(st, 1);
		u->day = (long)db_column_int64(st, 2);
		u->refused_day = (long)db_column_int64(st, 3);
		u->tokens_minute = (long)db_column_int64(st, 4);
	}
	return loop_end(r, st, rc);
}

int scen_report_pool(struct scen_report *r, double cutoff,
		     void (*fn)(void *ctx, const struct scen_pool_row *),
		     void *ctx)
{
	struct db_stmt *st = report_stmt(r, RS_POOL);
	if (!st)
		return -1;
	db_bind_double(st, 1, cutoff);
	int rc;
	while (step_row(st, &rc)) {
		struct scen_pool_row p = {
			.version = col_text(st, 0),
			.experiment = col_text(st, 1),
			.template_name = col_text(st, 2),
			.available = (long)db_column_int64(st, 3),
			.retired = (long)db_column_int64(st, 4),
			.oldest = db_column_double(st, 5),
			.newest = db_column_double(st, 6),
		};
		fn(ctx, &p);
	}
	return loop_end(r, st, rc);
}

int scen_report_totals(struct scen_report *r, struct scen_report_totals *t)
{
	struct db_stmt *st = report_stmt(r, RS_TOTALS);
	if (!st)
		return -1;
	memset(t, 0, sizeof *t);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		t->scenarios = db_column_int64(st, 0);
		t->servings = db_column_int64(st, 1);
		t->templates = db_column_int64(st, 2);
	}
	return loop_end(r, st, rc);
}

int scen_report_pool_served(struct scen_report *r, double since, long *n)
{
	struct db_stmt *st = report_stmt(r, RS_POOL_SERVED);
	if (!st)
		return -1;
	db_bind_double(st, 1, since);
	int rc = db_step(st);
	*n = rc == DB_ROW ? (long)db_column_int64(st, 0) : 0;
	return loop_end(r, st, rc);
}

/* Column i of st's row and the next ones into the n longs of v. */
static void col_longs(struct db_stmt *st, int i, long *const *v, size_t n)
{
	for (size_t k = 0; k < n; k++)
		*v[k] = (long)db_column_int64(st, i + (int)k);
}

int scen_report_batches(struct scen_report *r, int attempts,
			struct scen_report_batches *b)
{
	struct db_stmt *st = report_stmt(r, RS_BATCHES);
	struct db_stmt *lt = report_stmt(r, RS_BATCH_LINES);
	if (!st || !lt)
		return -1;
	memset(b, 0, sizeof *b);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		long *v[] = {&b->open, &b->completed, &b->expired, &b->failed};
		col_longs(st, 0, v, 4);
		b->oldest_open = db_column_double(st, 4);
	}
	if (loop_end(r, st, rc) < 0)
		return -1;
	db_bind_int64(lt, 1, attempts);
	rc = db_step(lt);
	if (rc == DB_ROW) {
		long *v[] = {&b->lines_pending, &b->lines_done,
			     &b->lines_failed, &b->lines_capped};
		col_longs(lt, 0, v, 4);
	}
	return loop_end(r, lt, rc);
}

int scen_report_batch_keys_refused(struct scen_report *r, double since,
				   void (*fn)(void *ctx, const char *account),
				   void *ctx)
{
	struct db_stmt *st = report_stmt(r, RS_BATCH_KEYS);
	if (!st)
		return -1;
	db_bind_double(st, 1, since);
	int rc;
	while (step_row(st, &rc))
		fn(ctx, col_text(st, 0));
	return loop_end(r, st, rc);
}

int scen_report_batches_late(struct scen_report *r, double now,
			     void (*fn)(void *ctx,
					const struct scen_batch_late *),
			     void *ctx)
{
	struct db_stmt *st = report_stmt(r, RS_BATCHES_LATE);
	if (!st)
		return -1;
	db_bind_double(st, 1, now);
	int rc;
	while (step_row(st, &rc)) {
		struct scen_batch_late b = {
			.bid = col_text(st, 0),
			.batch_id = col_text(st, 1),
			.state = col_text(st, 2),
			.status = col_text(st, 3),
			.window_s = db_column_double(st, 4),
			.open_s = db_column_double(st, 5),
		};
		fn(ctx, &b);
	}
	return loop_end(r, st, rc);
}

int scen_report_fresh_by_template(struct scen_report *r, double since,
				  void (*fn)(void *ctx, const char *experiment,
					     const char *template_name,
					     int64_t n),
				  void *ctx)
{
	struct db_stmt *st = report_stmt(r, RS_FRESH_BY_TPL);
	if (!st)
		return -1;
	db_bind_double(st, 1, since);
	int rc;
	while (step_row(st, &rc))
		fn(ctx, col_text(st, 0), col_text(st, 1),
		   db_column_int64(st, 2));
	return loop_end(r, st, rc);
}

/* ---- --verify ------------------------------------------------------- */

/*
 * Each check selects its problems, one row each; the first column says
 * what is wrong (it is printed), and ?1/?2 are max_serves and no_repeat.
 * Checks with a "skip" flag run only when their option is set.
 */
enum { NEED_MAX_SERVES = 1, NEED_NO_REPEAT = 2 };
static const struct {
	const char *name, *what;
	int need;
	enum stmt_id id;
} checks[] = {
	{"integrity", "SQLite integrity check (pages, rows and indexes)", 0, CK_INTEGRITY},
	{"foreign_keys", "every serving and job names a stored scenario", 0, CK_FOREIGN_KEYS},
	{"serve_counts", "each scenario's serve count equals its servings", 0, CK_SERVE_COUNTS},
	{"tier_counters", "the hourly tier counters add up to the servings", 0, CK_TIER_COUNTERS},
	{"answer_counters", "answer.ok adds up to the tier counters", 0, CK_ANSWER_COUNTERS},
	{"template_versions", "every stored version has its template text", 0, CK_TEMPLATE_VERSIONS},
	{"same_experiment", "no scenario served across experiments or"
	 " templates", 0, CK_SAME_EXPERIMENT},
	{"no_repeat", "no session got the same scenario twice", NEED_NO_REPEAT, CK_NO_REPEAT},
	{"max_serves", "no scenario served more than cache.max_serves times", NEED_MAX_SERVES, CK_MAX_SERVES},
	{"jobs_done", "every finished job names the scenario it stored", 0, CK_JOBS_DONE},
};

enum { VERIFY_DETAIL_LINES = 5 };

long scen_report_verify(struct scen_report *r,
			const struct scen_verify_opts *o,
			void (*fn)(void *ctx, const char *name,
				   const char *what, long problems,
				   const char *detail),
			void *ctx)
{
	long total = 0;
	struct strbuf detail;
	sb_init(&detail);
	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
		int need = checks[i].need;
		if (((need & NEED_MAX_SERVES) && o->max_serves <= 0) ||
		    ((need & NEED_NO_REPEAT) && !o->no_repeat))
			continue;
		struct db_stmt *st = db_stmt(r->db, checks[i].id);
		if (!st) {
			total = -1;
			break;
		}
		if (need & NEED_MAX_SERVES)
			db_bind_int64(st, 1, o->max_serves);
		long n = 0;
		int rc;
		sb_reset(&detail);
		r->db->damaged = 0;
		while (step_row(st, &rc)) {
			if (n++ < VERIFY_DETAIL_LINES) {
				sb_adds(&detail, col_text(st, 0));
				sb_addc(&detail, '\n');
			}
		}
		if (rc != DB_DONE && r->db->damaged) {
			/* a damaged file is what --verify is for: a problem
			 * to report, not a reason to stop */
			if (n++ < VERIFY_DETAIL_LINES)
				sb_addf(&detail, "%s\n", db_errmsg(r->db));
		} else if (rc != DB_DONE) {
			report_fail(r, st);
			db_reset(st);
			total = -1;
			break;
		}
		db_reset(st);
		if (n > VERIFY_DETAIL_LINES)
			sb_addf(&detail, "... and %ld more\n",
				n - VERIFY_DETAIL_LINES);
		fn(ctx, checks[i].name, checks[i].what, n,
		   n ? detail.buf : NULL);
		total += n;
	}
	sb_release(&detail);
	return total;
}

/* ---- export --------------------------------------------------------- */

/* Servings: v = servings, s = scenarios. The order is documented in
 * scen-export(1): append, never reorder. */
static const struct scen_column servings_cols[] = {
	{"serving", "v.id", SCEN_COL_INT},
	{"request_id", "v.request_id", SCEN_COL_TEXT},
	{"session", "v.session", SCEN_COL_TEXT},
	{"experiment", "v.experiment", SCEN_COL_TEXT},
	{"template", "v.template", SCEN_COL_TEXT},
	{"version", "v.version", SCEN_COL_TEXT},
	{"factors", "v.factors", SCEN_COL_JSON},
	{"position", "v.position", SCEN_COL_INT},
	{"tier", "v.tier", SCEN_COL_TEXT},
	{"similarity", "v.similarity", SCEN_COL_NUM},
	{"scenario_id", "s.sid", SCEN_COL_TEXT},
	{"scenario_factors", "s.factors", SCEN_COL_JSON},
	{"scenario_position", "s.position", SCEN_COL_INT},
	{"text", "s.text", SCEN_COL_TEXT},
	{"model", "s.model", SCEN_COL_TEXT},
	{"account", "s.account", SCEN_COL_TEXT},
	{"origin", "s.origin", SCEN_COL_TEXT},
	{"batch_id", "s.batch_id", SCEN_COL_TEXT},
	{"generated_at", "s.created_at", SCEN_COL_TIME},
	{"served_at", "v.served_at", SCEN_COL_TIME},
	{"latency_ms", "v.latency_ms", SCEN_COL_MS},
	{"forced_fresh", "v.forced_fresh", SCEN_COL_BOOL},
};

/* Scenarios: s = scenarios, j = jobs. */
static const struct scen_column scenarios_cols[] = {
	{"scenario_id", "s.sid", SCEN_COL_TEXT},
	{"experiment", "s.experiment", SCEN_COL_TEXT},
	{"template", "s.template", SCEN_COL_TEXT},
	{"version", "s.version", SCEN_COL_TEXT},
	{"factors", "s.factors", SCEN_COL_JSON},
	{"position", "s.position", SCEN_COL_INT},
	{"text", "s.text", SCEN_COL_TEXT},
	{"model", "s.model", SCEN_COL_TEXT},
	{"account", "s.account", SCEN_COL_TEXT},
	{"origin", "s.origin", SCEN_COL_TEXT},
	{"finish_reason", "s.finish_reason", SCEN_COL_TEXT},
	{"prompt_tokens", "s.prompt_tokens", SCEN_COL_INT},
	{"completion_tokens", "s.completion_tokens", SCEN_COL_INT},
	{"generated_at", "s.created_at", SCEN_COL_TIME},
	{"serves", "s.serves", SCEN_COL_INT},
	{"quarantined", "s.quarantined", SCEN_COL_BOOL},
	{"job", "j.jid", SCEN_COL_TEXT},
	{"batch_id", "s.batch_id", SCEN_COL_TEXT},
	{"custom_id", "s.custom_id", SCEN_COL_TEXT},
};

/* Templates: t = templates, u = their use (see version_use). */
static const struct scen_column templates_cols[] = {
	{"version", "t.version", SCEN_COL_TEXT},
	{"experiment", "t.experiment", SCEN_COL_TEXT},
	{"template", "t.template", SCEN_COL_TEXT},
	{"system", "t.system", SCEN_COL_TEXT},
	{"prompt", "t.prompt", SCEN_COL_TEXT},
	{"model", "t.model", SCEN_COL_TEXT},
	{"temperature", "t.temperature", SCEN_COL_NUM},
	{"max_tokens", "t.max_tokens", SCEN_COL_INT},
	{"validate", "t.validate", SCEN_COL_JSON},
	{"factors", "t.factors", SCEN_COL_JSON},
	{"position", "t.position", SCEN_COL_JSON},
	{"registered_at", "t.registered_at", SCEN_COL_TIME},
	{"scenarios", "coalesce(u.scenarios, 0)", SCEN_COL_INT},
	{"first_generated", "u.first_generated", SCEN_COL_TIME},
	{"last_generated", "u.last_generated", SCEN_COL_TIME},
	{"servings", "coalesce(u.servings, 0)", SCEN_COL_INT},
	{"first_used", "u.first_used", SCEN_COL_TIME},
	{"last_used", "u.last_used", SCEN_COL_TIME},
};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

const struct scen_column *scen_export_columns(enum scen_export_what what,
					      size_t *n)
{
	switch (what) {
	case SCEN_EXPORT_SCENARIOS:
		*n = NCOLS(scenarios_cols);
		return scenarios_cols;
	case SCEN_EXPORT_TEMPLATES:
		*n = NCOLS(templates_cols);
		return templates_cols;
	case SCEN_EXPORT_SERVINGS:
	default:
		*n = NCOLS(servings_cols);
		return servings_cols;
	}
}

struct scen_rows {
	struct scen_report *r;
	struct db_stmt *st;
};

/* One version's use, counted in version_use. */
struct use {
	int64_t n[2];		/* servings, scenarios */
	double first[2], last[2];
};

/* Adds the rows of sql (version, time) to the uses of kind k. */
static int count_use(struct scen_report *r, enum stmt_id id, int k,
		     struct scen_map *ix, struct use **u, size_t *nu,
		     size_t *cap)
{
	struct db_stmt *st = db_stmt(r->db, id);
	if (!st)
		return -1;
	int rc;
	while (step_row(st, &rc)) {
		const char *v = col_text(st, 0);
		double t = db_column_double(st, 1);
		int created;
		uint64_t *slot = scen_map_put(ix, v, strlen(v) + 1, &created);
		if (created) {
			XGROW(*u, *nu + 1, *cap);
			memset(&(*u)[*nu], 0, sizeof **u);
			*slot = (*nu)++;
		}
		struct use *x = &(*u)[*slot];
		if (!x->n[k]++ || t < x->first[k])
			x->first[k] = t;
		if (x->n[k] == 1 || t > x->last[k])
			x->last[k] = t;
	}
	return loop_end(r, st, rc);
}

/*
 * Fills temp.scen_version_use with each template version's servings and
 * scenarios, their count and first and last time. GROUP BY over millions
 * of servings would sort them all (hundreds of MB and half a minute at 10
 * million); one pass adding up into a map of the few versions costs a
 * plain scan and no memory. A TEMP table leaves the database untouched.
 */
static int version_use(struct scen_report *r)
{
	struct scen_map ix;
	struct use *u = NULL;
	size_t nu = 0, cap = 0;
	int rc;
	scen_map_init(&ix);
	rc = count_use(r, RS_USE_SERVINGS, 0, &ix, &u, &nu, &cap);
	if (!rc)
		rc = count_use(r, RS_USE_SCENARIOS, 1, &ix, &u, &nu, &cap);
	struct db_stmt *ins = NULL;
	if (!rc && (db_exec(r->db, db_sql(r->db, RS_USE_TABLE)) < 0 ||
		    !(ins = db_stmt(r->db, RS_USE_INSERT))))
		rc = -1;
	for (size_t i = 0; !rc && i < ix.cap; i++) {
		const struct scen_map_slot *sl = &ix.slots[i];
		if (!sl->hash)
			continue;
		const struct use *x = &u[sl->value];
		db_bind_text(ins, 1, sl->key, -1);
		for (int k = 0; k < 2; k++) {
			db_bind_int64(ins, 2 + 3 * k, x->n[k]);
			if (x->n[k]) {
				db_bind_double(ins, 3 + 3 * k,
						    x->first[k]);
				db_bind_double(ins, 4 + 3 * k,
						    x->last[k]);
			} else {
				db_bind_null(ins, 3 + 3 * k);
				db_bind_null(ins, 4 + 3 * k);
			}
		}
		rc = db_run(r->db, ins);
	}
	free(u);
	scen_map_release(&ix);
	return rc;
}

/* What rows of each kind are read from, and in which order. */
static const struct rows_shape {
	const char *from;
	const char *time_col;	/* what --since and --until filter; NULL:
				   nothing */
	const char *pfx;	/* of the experiment, template, tier and
				   session columns */
	const char *order;
} shapes[] = {
	[SCEN_EXPORT_SERVINGS] = {
		" FROM servings v JOIN scenarios s ON s.id = v.scenario",
		"v.served_at", "v.",
		/* servings_time gives this order without sorting */
		" ORDER BY v.served_at, v.id"},
	[SCEN_EXPORT_SCENARIOS] = {
		" FROM scenarios s LEFT JOIN jobs j ON j.id = s.job",
		"s.created_at", "s.", " ORDER BY s.id"},
	[SCEN_EXPORT_TEMPLATES] = {
		" FROM templates t LEFT JOIN scen_version_use u"
		" ON u.version = t.version",
		NULL, "t.",
		" ORDER BY t.experiment, t.template, t.registered_at,"
		" t.version"},
};

/* One filter: in the text as "<pfx><col> <op> ?<n>" when given (n counting
 * the filters given, from 1: no parameter is left out, which PostgreSQL
 * could not type), its value bound. */
struct cond {
	int given;
	const char *pfx, *col, *op;
	const char *text;	/* or, when NULL, num */
	double num;
};
enum { NCONDS = 6 };

static void conditions(const struct rows_shape *sh,
		       enum scen_export_what what,
		       const struct scen_export_filter *f, struct cond *c)
{
	int servings = what == SCEN_EXPORT_SERVINGS;
	const struct cond all[NCONDS] = {
		{sh->time_col && !isnan(f->since), "", sh->time_col, ">=",
		 NULL, f->since},
		{sh->time_col && !isnan(f->until), "", sh->time_col, "<",
		 NULL, f->until},
		{f->experiment != NULL, sh->pfx, "experiment", "=",
		 f->experiment, 0},
		{f->template_name != NULL, sh->pfx, "template", "=",
		 f->template_name, 0},
		{f->tier && servings, sh->pfx, "tier", "=", f->tier, 0},
		{f->session && servings, sh->pfx, "session", "=", f->session,
		 0},
	};
	memcpy(c, all, sizeof all);
}

/* The SELECT of rows of one kind. Only the clauses of the filters given
 * are in the text, so that the planner can use servings_time and
 * servings_session; values are always bound. */
static void rows_sql(struct strbuf *sql, enum scen_export_what what,
		     const struct cond *c)
{
	size_t ncols;
	const struct scen_column *cols = scen_export_columns(what, &ncols);
	sb_adds(sql, "SELECT ");
	for (size_t i = 0; i < ncols; i++) {
		if (i)
			sb_adds(sql, ", ");
		sb_adds(sql, cols[i].sql);
	}
	sb_adds(sql, shapes[what].from);
	int n = 0;
	for (int i = 0; i < NCONDS; i++) {
		if (!c[i].given)
			continue;
		sb_adds(sql, n ? " AND " : " WHERE ");
		sb_addf(sql, "%s%s %s ?%d", c[i].pfx, c[i].col, c[i].op, ++n);
	}
	sb_adds(sql, shapes[what].order);
}

struct scen_rows *scen_report_rows(struct scen_report *r,
				   enum scen_export_what what,
				   const struct scen_export_filter *f)
{
	struct cond c[NCONDS];
	struct strbuf sql;
	if (what == SCEN_EXPORT_TEMPLATES && version_use(r) < 0)
		return NULL;
	conditions(&shapes[what], what, f, c);
	sb_init(&sql);
	rows_sql(&sql, what, c);
	struct scen_rows *rows = xcalloc(1, sizeof *rows);
	rows->r = r;
	if (!(rows->st = db_prepare(r->db, sql.buf))) {
		sb_release(&sql);
		free(rows);
		return NULL;
	}
	sb_release(&sql);
	for (int i = 0, n = 0; i < NCONDS; i++) {
		if (!c[i].given)
			continue;
		if (c[i].text)
			db_bind_text(rows->st, ++n, c[i].text, -1);
		else
			db_bind_double(rows->st, ++n, c[i].num);
	}
	return rows;
}

int scen_rows_next(struct scen_rows *rows)
{
	int rc = db_step(rows->st);
	if (rc == DB_ROW)
		return 1;
	if (rc == DB_DONE)
		return 0;
	return report_fail(rows->r, rows->st);
}

int scen_rows_null(struct scen_rows *rows, size_t i)
{
	return db_column_type(rows->st, (int)i) == DB_NULL;
}

const char *scen_rows_text(struct scen_rows *rows, size_t i, size_t *len)
{
	const char *s = db_column_text(rows->st, (int)i);
	*len = s ? (size_t)db_column_bytes(rows->st, (int)i) : 0;
	return s ? s : "";
}

int64_t scen_rows_int(struct scen_rows *rows, size_t i)
{
	return db_column_int64(rows->st, (int)i);
}

double scen_rows_num(struct scen_rows *rows, size_t i)
{
	return db_column_double(rows->st, (int)i);
}

void scen_rows_free(struct scen_rows *rows)
{
	if (!rows)
		return;
	db_finalize(rows->st);
	free(rows);
}
