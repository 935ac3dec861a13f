/* poolfill_int.h — what the files of scen-pool-fill share, and nothing else
 * includes: the run's state (struct fill) and the calls between its four
 * parts. poolfill_plan.c knows what the design needs and keeps the tallies
 * (scen-pool-fill(1), What is filled, Order); poolfill_window.c how much
 * time and how many calls the run may take (Budget, Time); poolfill.c
 * drives the engine and reports (Failures, Output); poolfill_batch.c
 * makes the entries through the provider's batches instead (BATCHES). The
 * plan and the window do not call each other nor the others; the run
 * calls all three, the batches the plan. */
#ifndef SCEN_POOLFILL_INT_H
#define SCEN_POOLFILL_INT_H

#include <limits.h>
#include <stdint.h>

#include "scen/db_pool.h"
#include "scen/engine.h"
#include "scen/hash.h"
#include "scen/poolfill.h"
#include "scen/quota.h"
#include "scen/request.h"

#define UNLIMITED LONG_MAX	/* calls: no cap */

/* What became of a pool job of this run, as the summary counts it. */
enum tally {
	MADE,		/* stored as a pool entry */
	REJECTED,	/* the output failed validation */
	FAILED,		/* the provider failed it */
	NTALLY
};

/* One combination of the declared design. */
struct combo {
	const struct scen_template *tpl;
	uint16_t *levels;	/* tpl->nfactors level indices */
	long position;		/* when tpl->position.declared */
	uint8_t key[16];
	uint32_t rank;		/* place in the fill order */
	uint32_t ts;		/* its template's index in f->tpls */
	long demand;		/* requests over --days */
	long live, retired;	/* pool entries when the run began */
	long pending;		/* open jobs for it, here or elsewhere */
	long made, rejected;	/* this run */
	int given_up;		/* rejected too often this run */
	long capped;		/* batch lines past pool.batch_attempts */
	size_t unmade, nunmade;	/* its batch lines to plan again: in
				   f->unmade from unmade on */
};

/* A batch line that made no entry and may be planned again. */
struct unmade {
	uint32_t combo;
	int attempt;
	int64_t line;
};

/* What the batches of this run came to (poolfill_batch.c). */
struct batch_tally {
	long submitted, lines;		/* new batches, their lines */
	long resumed;			/* batches a dead run left, sent on */
	long collected;			/* batches ended and read */
	long made, rejected, failed, expired;	/* their lines */
	long open;			/* batches still at the provider */
};

/* Figures of one template. */
struct tstat {
	const struct scen_template *tpl;
	size_t first, n;	/* its combinations in f->combos */
	long live, retired, pending, needed;
	long tally[NTALLY];	/* this run */
};

struct acct {
	int has_key;
	long rpd;		/* its day's limit, 0 none */
	long used_day;		/* calls in the ledger this quota day */
	long remaining;		/* of the day; -1 when unlimited */
	long share_cap;		/* calls this run may make; -1 no cap */
	long tally[NTALLY];	/* this run */
};

/* Why the run stops (the first reason found stays). */
enum stop {
	STOP_NONE,
	STOP_DONE,
	STOP_BUDGET,
	STOP_MAX_CALLS,
	STOP_UNTIL,
	STOP_DAY,
	STOP_SIGNAL,
	STOP_NO_ACCOUNT,
	STOP_PROVIDER,
	STOP_IO,
};

/* One run. The plan fills the design, demand and order fields; the window
 * the budget, accounts and times; the run the rest. */
struct fill {
	const struct scen_config *cfg;
	const struct scen_pool_opts *o;
	struct scen_db *db;
	struct scen_db_pool *dp;
	struct scen_quota *q;
	struct scen_index *ix;
	struct scen_engine *e;
	/* the plan */
	struct combo *combos;
	size_t ncombos, capcombos;
	uint32_t *order;	/* combination indices in fill order */
	size_t hint;		/* no combination before it needs a job */
	struct scen_map by_key;	/* key -> combination index */
	struct tstat *tpls;
	size_t ntpls, captpls;
	long target;		/* pool.variants */
	long needed;		/* entries short when the run began */
	/* the window */
	struct acct *acct;
	size_t nacct;
	long budget;		/* calls allowed when it began */
	double horizon;		/* virtual time: stop submitting */
	double until;		/* --until as virtual time, or INFINITY */
	unsigned rot;		/* rotates who gets the last calls */
	/* the run */
	struct scen_map tracked;	/* job pointer -> 1: jobs of this run */
	size_t ntracked;
	long tally[NTALLY];
	long not_made;		/* pool jobs no account could take */
	int streak;		/* jobs the provider failed since an answer */
	double last_ok;		/* virtual time of the last answer */
	long calls_at_ok;	/* calls made by then */
	int breaker_open;	/* the provider's breaker, at the last turn */
	/* the clock of the quota (scen_now), so that rates compare with
	 * the limits, and a scaled test clock scales the log too */
	double start, next_log;
	double last_draw;	/* real (scen_mono): screen refreshes */
	int drawn;
	enum stop stop;
	/* batches */
	enum scen_pool_mode mode;	/* o->mode, else pool.mode */
	struct unmade *unmade;	/* sorted by combination */
	size_t nunmade, capunmade;
	struct batch_tally bt;
	int online;		/* the online run goes ahead */
};

/* ---- the plan (poolfill_plan.c) --------------------------------------- */

/* Adds every combination of the templates that f->o names, in declared
 * order. SCEN_OK, or fills e and returns SCEN_ERR_USAGE (--experiment or
 * --template names nothing) or SCEN_ERR_DATA (a design too large). */
enum scen_err scen_pool_plan_design(struct fill *f, struct scen_error *e);
/* Requests per combination over the last f->o->days days; 0 or -1. */
int scen_pool_plan_demand(struct fill *f, double now);
/* Sets the fill order: most requested first, ties in declared order. */
void scen_pool_plan_order(struct fill *f);
/* Pool entries and open pool jobs per combination, the shortfall per
 * template and in all (f->needed); 0 or -1. */
int scen_pool_plan_pool(struct fill *f, double now);
/* Prints the design's part of the plan (the head of --dry-run), and the
 * order with, at -v, every combination short. */
void scen_pool_plan_print(struct fill *f);
void scen_pool_plan_print_order(struct fill *f);

/* Entries c lacks of the target, counting this run's and open jobs. */
long scen_pool_short(const struct fill *f, const struct combo *c);
/* The combination of an exact key, or NULL when not in the design. */
struct combo *scen_pool_combo(struct fill *f, const uint8_t *key);
/* The request that makes one entry of c. */
void scen_pool_combo_request(const struct combo *c, struct scen_request *rq);
/* Appends c's factors as canonical JSON, and " position N" when declared. */
void scen_pool_combo_words(const struct combo *c, struct strbuf *sb);
/* Counts what became of a pool job or batch line: for the run, the
 * template of c and account a (either may be NULL). */
void scen_pool_count(struct fill *f, const struct combo *c, struct acct *a,
		     enum tally k);
/* The same by the entry's exact key (NULL: no template) and account name
 * (NULL: none). */
void scen_pool_tally(struct fill *f, const uint8_t *key, const char *account,
		     enum tally k);
/* The rank of the next combination that needs a job (f->ncombos: none);
 * skips those that need nothing. */
size_t scen_pool_next(struct fill *f);
/* c (NULL accepted) may need a job again: the walk looks from its rank. */
void scen_pool_reopen(struct fill *f, const struct combo *c);

/* ---- batches (poolfill_batch.c) -------------------------------------- */

/* In a transaction: the batch lines of f's templates that made no entry
 * and were not planned again, per combination (c->unmade, c->capped). */
int scen_pool_batch_plan(struct fill *f);
/* Sends on what batches of earlier runs left (recorded but not yet
 * submitted), and collects those that ended; each step in its own
 * transaction. 0, or -1 on a database error (said). */
int scen_pool_batch_collect(struct fill *f, double now);
/* Submits what the plan needs as batches (the batch and auto modes).
 * SCEN_OK; SCEN_ERR_UNAVAILABLE when every account's key is refused
 * batches (said in e in batch mode; in auto mode said once, and
 * f->online set); SCEN_ERR_IO (said). */
enum scen_err scen_pool_batch_submit(struct fill *f, double now,
				     struct scen_error *e);
/* The summary's lines of the batches. */
void scen_pool_batch_print(const struct fill *f);
/* The summary's result of a run that did not go online, left entries
 * short. */
const char *scen_pool_batch_result(const struct fill *f, long left);


/* ---- the window (poolfill_window.c) ----------------------------------- */

/* Sets --until and the horizon: the end of the quota day, or --until when
 * sooner. */
void scen_pool_window_open(struct fill *f, double now);
/* STOP_UNTIL or STOP_DAY once now reaches the horizon, else STOP_NONE. */
enum stop scen_pool_window_stop(const struct fill *f, double now);
/* Each account's share of what is left of its day, and the budget; in a
 * transaction; 0 or -1. */
int scen_pool_window_budget(struct fill *f, double now);
/* Prints the window's part of the plan: budget, accounts, limits. */
void scen_pool_window_print(struct fill *f);
/* Calls this run has reserved on the quota so far. */
long scen_pool_calls(const struct fill *f);
/* Calls this run may still make (UNLIMITED: no cap). */
long scen_pool_calls_left(const struct fill *f);
/* Why no call is left: STOP_MAX_CALLS or STOP_BUDGET. */
enum stop scen_pool_spent(const struct fill *f);
/* Sets the quota caps before each engine step. */
void scen_pool_apply_caps(struct fill *f);
/* A call count, or "unlimited". */
void scen_pool_fmt_calls(char *buf, size_t n, long v);
/* --until in local time, formatted by strftime(3) fmt. */
void scen_pool_fmt_until(const struct fill *f, char *buf, size_t n,
			 const char *fmt);

#endif
