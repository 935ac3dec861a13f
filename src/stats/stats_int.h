/* stats_int.h — inside scen-cache-stats (scen-cache-stats(1)): the figures
 * collected in one read snapshot (collect.c), the metric table that says
 * what each figure is and where each format shows it (metrics.c), and one
 * renderer per format (table.c, json.c, prometheus.c, html.c, alerts.c for
 * --check). A new metric is one row of the table in metrics.c. */
#ifndef SCEN_STATS_INT_H
#define SCEN_STATS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "scen/db_report.h"
#include "scen/stats.h"

enum { W_HOUR, W_DAY, W_WEEK, W_SINCE, W_MAX };
extern const char *const stats_win_key[W_MAX];	/* "hour", ... "since" */
extern const char *const stats_win_title[W_MAX];	/* "last hour", ... */

/* A rate is judged (alerts, advice) only over at least this many events,
 * so that one failure in three requests does not page anyone. */
#define MIN_SAMPLE 10

struct dist {
	long n;
	double p50, p95, max;	/* NaN when n is 0 */
};

struct window {
	double from, to;
	int64_t from_hour;	/* the first hourly counter bucket counted */
	struct scen_map c;	/* counter name (with its NUL) -> n */
	struct dist wait, proc;
};

/* One hour of the charts' series. */
struct hour_row {
	long tiers[SCEN_TIER_COUNT];
	long unavailable;
	long limited;		/* 429s and requests without budget */
	struct dist wait;
};

struct acct {
	const struct scen_account *cfg;
	struct scen_acct_state st;
	struct scen_report_usage u;
	double day_use;		/* share of rpd used today; NaN without rpd */
	int set_aside, cooling, breaker_open;
	int key_refused;	/* the provider refused the key configured
				   now (scen_quota_key_refused) */
	int batch_key_refused;	/* batch_keys holds a refusal for it */
};

/* An open batch past its completion window (scen_report_batches_late). */
struct late_batch {
	char bid[64], batch_id[96], state[16], status[16];
	double window_s, open_s;
};

struct pool_tpl {
	char *experiment, *template_name;
	long available, retired;
	double oldest, newest;
	int current;		/* the config's version of the template */
};

struct alert {
	char name[32];
	char subject[80];	/* the account, or "" */
	enum scen_level level;
	double figure, threshold;
	char message[320];
};

struct stats {
	const struct scen_config *cfg;
	const char *dbpath;
	double now, day_start;
	int64_t now_hour;
	struct window w[W_MAX];
	int nwin, widest;
	struct hour_row *hours;	/* the week, oldest hour first */
	int64_t first_hour;
	size_t nhours;
	struct acct *acct;
	size_t nacct;
	struct scen_acct_state provider;
	int provider_open;
	struct scen_queue_now queue;
	struct pool_tpl *pool;
	size_t npool, cappool;
	long pool_available, pool_retired, pool_stale;
	struct scen_report_totals totals;
	/* pool servings over the last 7 days, and the days the available
	 * pool lasts at that pace (INFINITY without use) */
	long pool_served_week;
	double pool_runway;
	struct scen_report_batches batches;
	long batch_keys_refused;
	struct strbuf batch_refused_names;	/* "a, b"; empty: none */
	struct late_batch *late;
	size_t nlate, caplate;
	struct alert *alerts;
	size_t nalerts, capalerts;
	char **advice;
	size_t nadvice, capadvice;
	enum scen_level level;
	/* fresh jobs since the widest window's start */
	double *jcreated, *jwait, *jproc;
	size_t njobs, capjobs;
	/* misses per template over the day, for the advice */
	struct scen_map misses;
};

/* ---- collect.c: the figures ------------------------------------------ */

/* Reads every figure in one snapshot; s->cfg, now, nwin (and the since
 * window's from) set. Negative on error (reported). */
int stats_collect(struct stats *s, struct scen_report *r);
void stats_release(struct stats *s);

/* The hourly counter name of w, 0 when absent. */
long stats_cnt(const struct window *w, const char *name);
/* The counter names of w that start with prefix, sorted; the array is
 * malloc'd, the names belong to w. */
const char **stats_prefixed(const struct window *w, const char *prefix,
			    size_t *n);
double stats_ratio(long a, long b);	/* a / b, NaN when b is 0 */
long stats_tier(const struct window *w, enum scen_tier t);
long stats_answered(const struct window *w);
long stats_unavailable(const struct window *w);
double stats_hit_rate(const struct window *w);
long stats_calls(const struct window *w);
long stats_call_failures(const struct window *w);

/* ---- metrics.c: the metric table ------------------------------------- */

/* The formats a metric can be shown in. */
enum stats_fmt { FMT_TABLE, FMT_JSON, FMT_PROM, FMT_HTML, FMT_COUNT };

/* What a metric's values are, which says how each format writes them. */
enum stats_unit {
	U_COUNT,	/* a whole number */
	U_RATIO,	/* a share, 0 to 1 (the table: a percentage) */
	U_SECONDS,	/* a duration */
	U_TIME,		/* epoch seconds (JSON: ISO 8601, null when 0) */
	U_BOOL,		/* 0 or 1 (JSON: false or true) */
	U_TEXT,		/* a string (the metric's text reader) */
};

/* What one metric is measured of: its values come once per subject. */
enum stats_scope {
	SC_ANY = -1,	/* stats_metrics_in: every scope */
	SC_WINDOW,	/* each window (hour, day, week, since) */
	SC_ACCOUNT,	/* each configured account, now */
	SC_POOL,	/* each template's pool, now */
	SC_ALERT,	/* each alert that holds */
	SC_NOW,		/* once */
};

/* One value of a label. */
struct stats_label {
	const char *value;	/* the reader's argument, the Prometheus value */
	const char *key;	/* the JSON key; NULL: value */
	const char *text;	/* the table's and HTML's row label; NULL: value */
	unsigned only;		/* the formats (1 << FMT_x) showing it; 0: all */
	int count;		/* a count though the metric's unit is not */
};

/* The values of a label: a fixed list, or (list NULL) every counter of a
 * window named prefix..., the label being the rest of the name. JSON
 * lists each window's own such counters; the other formats those of the
 * widest window, so that every window has the same rows. */
struct stats_labels {
	const char *name;	/* the Prometheus label */
	const struct stats_label *list;
	size_t n;
	const char *prefix;
	int accounts;		/* list NULL: the configured accounts' names */
};

struct stats_metric {
	/* what it is */
	const char *name;	/* the Prometheus name; NULL when not there */
	const char *help;	/* Prometheus HELP */
	const char *type;	/* Prometheus TYPE: "gauge" or "counter" */
	enum stats_unit unit;
	enum stats_scope scope;
	const struct stats_labels *labels;	/* NULL: one value */
	/* how to read it: subject is the scope's (window, acct, pool_tpl,
	 * alert; NULL for SC_NOW), label the label's value or NULL, sub the
	 * sub-label's (JSON's accounts of a window) or NULL. NaN: no value
	 * (Prometheus leaves it out, JSON writes null, the table "-"). */
	double (*read)(const struct stats *s, const void *subject,
		       const char *label, const char *sub);
	const char *(*text)(const struct stats *s, const void *subject);
	/* or, read NULL: the window's hourly counter named counter + label */
	const char *counter;
	/* where each format shows it: its place in that format's order
	 * (rows of one place keep the table's order); 0: not shown */
	int at[FMT_COUNT];
	/* the table: the section this row opens, the row label (with
	 * labels a printf format of each label's text), its indent, and
	 * whether a count comes with its share of the answers */
	const char *section;
	const char *label;
	int indent;
	int share;
	/* JSON: the key (with labels, of an object of them; NULL: each
	 * label is a key of its own), and the object it is put in (rows
	 * next to each other with the same one share it) */
	const char *json;
	const char *json_in;
	/* JSON: a second label, each value of label an object of them */
	const struct stats_labels *sub;
	/* HTML: the figures table's row label (a format as in the table) */
	const char *html;
};

extern const struct stats_metric stats_metrics[];
/* The outcomes of a provider call (call.<outcome> counters). */
extern const struct stats_labels stats_call_outcomes;
extern const size_t stats_nmetrics;

/* The metrics of scope shown in format f, in f's order: a malloc'd array
 * of n pointers into stats_metrics. */
const struct stats_metric **stats_metrics_in(enum stats_fmt f,
					     enum stats_scope scope,
					     size_t *n);
/* m's value of subject and label (and sub-label): its reader's or its
 * counter's. */
double stats_read(const struct stats_metric *m, const struct stats *s,
		  const void *subject, const char *label, const char *sub);
/* Whether label value l of m is shown in format f. */
int stats_label_in(const struct stats_label *l, enum stats_fmt f);
/* The values of ls for window w (see struct stats_labels; w may be NULL
 * for a fixed list): a malloc'd array of n; dynamic values point into w's
 * counter names or the config. */
struct stats_label *stats_label_values(const struct stats *s,
				       const struct stats_labels *ls,
				       const struct window *w, size_t *n);
/* The window metric of that JSON key (for --check's figures); it must
 * exist. */
const struct stats_metric *stats_metric_keyed(const char *key);

/* ---- the formats ---------------------------------------------------- */

void stats_fmt_pct(char *buf, size_t n, double x);	/* "12.3%" or "-" */
void stats_fmt_s(char *buf, size_t n, double x);	/* "1.25s" or "-" */
/* A window figure as the table and HTML write it ("-" when NaN). */
void stats_fmt_cell(char *buf, size_t n, const struct stats_metric *m,
		    double x);
/* The table's and HTML's columns of m: a window's metric one per window,
 * another one; the subject of column i. */
int stats_columns(const struct stats *s, const struct stats_metric *m);
const void *stats_column(const struct stats *s, const struct stats_metric *m,
			 int i);
/* m's figure of label l in column i, as the table and HTML write it. */
void stats_fmt_column(char *buf, size_t n, const struct stats *s,
		      const struct stats_metric *m, int i, const char *l);
/* The pool's runway as the table and HTML write it: "12.3 days (N pool
 * servings in the last 7 days)", or that there were none. */
void stats_fmt_runway(char *buf, size_t n, const struct stats *s);

/* An account's state now: set aside, cooling down or ready (with
 * key_note, "(no key here)" when its key is not set). */
void stats_acct_state(char *buf, size_t n, const struct acct *a,
		      int key_note);

void stats_table(struct strbuf *sb, const struct stats *s);
void stats_json(struct strbuf *sb, const struct stats *s);
void stats_prometheus(struct strbuf *sb, const struct stats *s);
void stats_html(struct strbuf *sb, const struct stats *s);

/* alerts.c: judges the alerts of `alerts:` and the scaling advice; --check */
void stats_judge_alerts(struct stats *s);
int stats_give_advice(struct stats *s, struct scen_report *r);
void stats_check(struct strbuf *sb, const struct stats *s);

#endif
