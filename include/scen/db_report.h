/* db_report.h — the read side of the database module: every statement
 * behind scen-cache-stats and scen-export, prepared once on the connection
 * that db.c opened and run with bound parameters only. */
#ifndef SCEN_DB_REPORT_H
#define SCEN_DB_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "scen/db.h"

struct scen_report;

/* The read-side statements of db (which must outlive the result). */
struct scen_report *scen_report_new(struct scen_db *db);
/* Finalizes the statements; accepts NULL. */
void scen_report_free(struct scen_report *r);

/* A read transaction, so that every figure comes from one snapshot while
 * other processes write (WAL). Negative on error (reported). */
int scen_report_begin(struct scen_report *r);
void scen_report_end(struct scen_report *r);

/*
 * Parses a --since/--until argument: ISO 8601 ("2026-11-28",
 * "2026-11-28T03:12:09Z") or a span back from now ("90s", "30m", "12h",
 * "7d", "2w"). Sets *t (epoch seconds) and returns 0, or -1 when arg is
 * neither.
 */
int scen_report_parse_time(const char *arg, double now, double *t);

/* ---- figures ------------------------------------------------------ */

/* Calls fn for every hourly counter of hours from_hour..to_hour (hours
 * since the epoch, inclusive), in (hour, name) order. */
typedef void scen_counter_fn(void *ctx, int64_t hour, const char *name,
			     int64_t n);
int scen_report_counters(struct scen_report *r, int64_t from_hour,
			 int64_t to_hour, scen_counter_fn *fn, void *ctx);

/* One job's times; started_at and finished_at are 0 when not (yet). */
struct scen_job_times {
	double created_at, started_at, finished_at;
	const char *state;	/* valid during the callback */
	const char *origin;	/* "fresh" or "pool" */
};
/* Calls fn for every job created at or after since, in no set order. */
int scen_report_jobs(struct scen_report *r, double since,
		     void (*fn)(void *ctx, const struct scen_job_times *),
		     void *ctx);

/* The open jobs, now. */
struct scen_queue_now {
	long queued, running;
	double oldest_queued;	/* created_at of the oldest queued; 0 none */
};
int scen_report_queue(struct scen_report *r, struct scen_queue_now *q);

/* An account's shared state (db.h's struct; defaults when the account has
 * no row yet), its key's verdict included: key_verdict "refused" says the
 * provider refused the key whose fingerprint is key_fp, at key_verdict_at
 * (scen_quota_key_refused tells whether that is the key configured now).
 * Returns 1 when a row exists, 0 when not, -1 on error. */
int scen_report_account(struct scen_report *r, const char *name,
			struct scen_acct_state *st);

/* An account's calls in the usage ledger. Calls answered 429 cost nothing
 * and are counted apart; reserved calls not yet settled count as calls. */
struct scen_report_usage {
	long minute, hour, day;	/* last 60 s, last 3600 s, since day_start */
	long refused_day;	/* answered 429 since day_start */
	long tokens_minute;
};
int scen_report_usage(struct scen_report *r, const char *account,
		      double now, double day_start,
		      struct scen_report_usage *u);

/* The unserved pool of one template version. */
struct scen_pool_row {
	const char *version, *experiment, *template_name; /* during fn */
	long available;		/* created at or after the cutoff */
	long retired;		/* older: retired, awaiting regeneration */
	double oldest, newest;	/* created_at of the available; 0 none */
};
int scen_report_pool(struct scen_report *r, double cutoff,
		     void (*fn)(void *ctx, const struct scen_pool_row *),
		     void *ctx);

/* Rows stored, all time (scenarios and servings: the highest row id,
 * which is their count as scen never deletes them). */
struct scen_report_totals {
	int64_t scenarios, servings, templates;
};
int scen_report_totals(struct scen_report *r, struct scen_report_totals *t);

/* Pool servings since a moment (what the pool's runway is judged by). */
int scen_report_pool_served(struct scen_report *r, double since, long *n);

/* The batches of scen-pool-fill(1) (BATCHES), all time. */
struct scen_report_batches {
	long open;		/* planned, uploaded or submitted */
	long completed, expired;	/* ended with that provider status */
	long failed;		/* ended otherwise: failed, cancelled */
	double oldest_open;	/* created_at of the oldest open; 0 none */
	long lines_pending, lines_done;
	long lines_failed;	/* rejected, failed or expired */
	long lines_capped;	/* failed, not retried, at attempt
				   attempts or beyond: given up */
};
int scen_report_batches(struct scen_report *r, int attempts,
			struct scen_report_batches *b);
/* Calls fn with the name of each account whose key the provider refused
 * for batches (batch_keys) at since or later, by name. */
int scen_report_batch_keys_refused(struct scen_report *r, double since,
				   void (*fn)(void *ctx, const char *account),
				   void *ctx);

/* An open batch past its completion window (strings valid during fn). */
struct scen_batch_late {
	const char *bid;	/* scen's own id */
	const char *batch_id;	/* the provider's, "" before submission */
	const char *state, *status;	/* status "" when none yet */
	double window_s;	/* its completion window */
	double open_s;		/* since it was submitted (or planned) */
};
/* Calls fn for every open batch whose completion window, counted from
 * its submission (or its intent, before), ended before now; in the order
 * they were planned. */
int scen_report_batches_late(struct scen_report *r, double now,
			     void (*fn)(void *ctx,
					const struct scen_batch_late *),
			     void *ctx);

/* Fresh servings per experiment and template since a moment (where the
 * cache misses are). */
int scen_report_fresh_by_template(struct scen_report *r, double since,
				  void (*fn)(void *ctx, const char *experiment,
					     const char *template_name,
					     int64_t n),
				  void *ctx);

/* ---- --verify ----------------------------------------------------- */

struct scen_verify_opts {
	long max_serves;	/* 0: not checked */
	int no_repeat;		/* check that no session got a repeat */
};
/*
 * Runs the consistency checks. For each check calls fn once with its name,
 * what it checks, the number of problems found (0 when it passed) and up
 * to a few lines of detail (NULL when none). Returns the total number of
 * problems, or -1 when a check could not run (reported).
 */
long scen_report_verify(struct scen_report *r,
			const struct scen_verify_opts *o,
			void (*fn)(void *ctx, const char *name,
				   const char *what, long problems,
				   const char *detail),
			void *ctx);

/* ---- export ------------------------------------------------------- */

enum scen_export_what {
	SCEN_EXPORT_SERVINGS,
	SCEN_EXPORT_SCENARIOS,
	SCEN_EXPORT_TEMPLATES,
};

/* How a column is written. */
enum scen_col_kind {
	SCEN_COL_TEXT,
	SCEN_COL_INT,
	SCEN_COL_NUM,		/* a real number */
	SCEN_COL_MS,		/* milliseconds, rounded to the microsecond */
	SCEN_COL_TIME,		/* epoch seconds, written as ISO 8601 UTC */
	SCEN_COL_BOOL,
	SCEN_COL_JSON,		/* JSON text, embedded as it is in JSONL */
};

struct scen_column {
	const char *name;
	const char *sql;	/* the expression selected */
	enum scen_col_kind kind;
};

/* The export's columns, in their documented (stable) order. */
const struct scen_column *scen_export_columns(enum scen_export_what what,
					      size_t *n);

/* Filters; NULL strings and NaN times mean "not given". */
struct scen_export_filter {
	const char *experiment, *template_name, *tier, *session;
	double since, until;	/* since <= t < until */
};

/* A running export: one statement stepped row by row (constant memory). */
struct scen_rows;
/* NULL on error (reported). */
struct scen_rows *scen_report_rows(struct scen_report *r,
				   enum scen_export_what what,
				   const struct scen_export_filter *f);
/* 1 when a row is ready, 0 at the end, -1 on error (reported). */
int scen_rows_next(struct scen_rows *rows);
/* The current row's column i: whether it is NULL, and its value. Text is
 * valid until the next scen_rows_next. */
int scen_rows_null(struct scen_rows *rows, size_t i);
const char *scen_rows_text(struct scen_rows *rows, size_t i, size_t *len);
int64_t scen_rows_int(struct scen_rows *rows, size_t i);
double scen_rows_num(struct scen_rows *rows, size_t i);
/* Accepts NULL. */
void scen_rows_free(struct scen_rows *rows);

#endif
