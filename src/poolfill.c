/* poolfill.c — scen-pool-fill: the plan (the declared design, what the pool
 * holds, demand), the budget (a share of each account's remaining day and
 * --max-calls), the batch loop through the engine, progress and summary. */
#include "scen/poolfill.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "scen/db_pool.h"
#include "scen/engine.h"
#include "scen/hash.h"
#include "scen/index.h"
#include "scen/quota.h"
#include "scen/request.h"

#define MAX_COMBOS 1000000	/* combinations in one run */
#define PROVIDER_STREAK 3	/* jobs failed by the provider in a row,
				   or calls ended without an answer */
#define PROVIDER_ROW "*provider"	/* the provider-wide breaker (db.h) */
#define LOG_EVERY_S 60.0	/* plain progress lines */
#define DRAW_EVERY_S 0.25	/* progress bar redraws, real seconds */
#define WAIT_MS 200		/* longest sleep of the loop */
#define UNLIMITED LONG_MAX

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
};

/* Figures of one template. */
struct tstat {
	const struct scen_template *tpl;
	size_t first, n;	/* its combinations in f->combos */
	long live, retired, pending, needed;
	long made, rejected, failed;
};

struct acct {
	int has_key;
	long rpd;		/* its day's limit, 0 none */
	long used_day;		/* calls in the ledger this quota day */
	long remaining;		/* of the day; -1 when unlimited */
	long share_cap;		/* calls this run may make; -1 no cap */
	long made, rejected, failed;
};

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

struct fill {
	const struct scen_config *cfg;
	const struct scen_pool_opts *o;
	struct scen_db *db;
	struct scen_db_pool *dp;
	struct scen_quota *q;
	struct scen_index *ix;
	struct scen_engine *e;
	struct combo *combos;
	size_t ncombos, capcombos;
	uint32_t *order;	/* combination indices in fill order */
	size_t hint;		/* no combination before it needs a job */
	struct scen_map by_key;	/* key -> combination index */
	struct tstat *tpls;
	size_t ntpls, captpls;
	struct acct *acct;
	size_t nacct;
	struct scen_map tracked;	/* job pointer -> 1: jobs of this run */
	size_t ntracked;
	long target;		/* pool.variants */
	long needed;		/* entries short when the run began */
	long budget;		/* calls allowed when it began */
	long made, rejected, failed, not_made;
	int streak;		/* jobs the provider failed since an answer */
	double last_ok;		/* virtual time of the last answer */
	long calls_at_ok;	/* calls made by then */
	int breaker_open;	/* the provider's breaker, at the last turn */
	double horizon;		/* virtual time: stop submitting */
	double until;		/* --until as virtual time, or INFINITY */
	/* the clock of the quota (scen_now), so that rates compare with
	 * the limits, and a scaled test clock scales the log too */
	double start, next_log;
	double last_draw;	/* real (scen_mono): screen refreshes */
	int drawn;
	unsigned rot;		/* rotates who gets the last calls */
	enum stop stop;
};

static volatile sig_atomic_t signals;

static void on_signal(int sig)
{
	if (++signals >= 2)
		_exit(128 + sig);
}

int scen_pool_parse_until(const char *s)
{
	if (strlen(s) != 5 || s[2] != ':')
		return -1;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0');
	int m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return -1;
	return h * 60 + m;
}

/* The next moment after now at which the local clock shows minutes. */
static double next_local(double now, int minutes)
{
	time_t t = (time_t)floor(now);
	struct tm tm;
	localtime_r(&t, &tm);
	for (int day = 0; day < 3; day++) {
		struct tm u = tm;
		u.tm_mday += day;
		u.tm_hour = minutes / 60;
		u.tm_min = minutes % 60;
		u.tm_sec = 0;
		u.tm_isdst = -1;
		time_t v = mktime(&u);
		if (v != (time_t)-1 && (double)v > now)
			return (double)v;
	}
	return now + 86400;
}

static long lmin(long a, long b)
{
	return a < b ? a : b;
}

/* a + b, saturating at UNLIMITED. */
static long ladd(long a, long b)
{
	return a >= UNLIMITED - b ? UNLIMITED : a + b;
}

/* ---- the design ------------------------------------------------------ */

static void combo_request(const struct combo *c, struct scen_request *rq)
{
	memset(rq, 0, sizeof *rq);
	rq->exp = c->tpl->experiment;
	rq->tpl = c->tpl;
	memcpy(rq->levels, c->levels, c->tpl->nfactors * sizeof(uint16_t));
	rq->position = c->position;
	scen_request_keys(rq);
}

/* Combinations of t, or 0 when more than limit. */
static size_t design_size(const struct scen_template *t, size_t limit)
{
	size_t n = 1;
	for (size_t i = 0; i < t->nfactors; i++) {
		n *= t->factors[i].nlevels;
		if (n > limit)
			return 0;
	}
	if (t->position.declared) {
		size_t np = (size_t)(t->position.max - t->position.min) + 1;
		if (np > limit || n > limit / np)
			return 0;
		n *= np;
	}
	return n;
}

/* Adds every combination of t, in declared order: levels as declared,
 * the last factor fastest, then positions ascending fastest of all. */
static int add_template(struct fill *f, const struct scen_template *t)
{
	size_t n = design_size(t, MAX_COMBOS - f->ncombos);
	if (!n) {
		scen_error("template %s/%s: the design has more than %d "
			   "combinations; narrow it with --template",
			   t->experiment->name, t->name, MAX_COMBOS);
		return -1;
	}
	XGROW(f->tpls, f->ntpls + 1, f->captpls);
	struct tstat *ts = &f->tpls[f->ntpls];
	memset(ts, 0, sizeof *ts);
	ts->tpl = t;
	ts->first = f->ncombos;
	ts->n = n;
	XGROW(f->combos, f->ncombos + n, f->capcombos);
	uint16_t idx[SCEN_MAX_FACTORS] = {0};
	long pos = t->position.declared ? t->position.min : 0;
	for (size_t k = 0; k < n; k++) {
		struct combo *c = &f->combos[f->ncombos];
		struct scen_request rq;
		memset(c, 0, sizeof *c);
		c->tpl = t;
		c->ts = (uint32_t)f->ntpls;
		c->levels = xmalloc((t->nfactors ? t->nfactors : 1) *
				    sizeof(uint16_t));
		memcpy(c->levels, idx, t->nfactors * sizeof(uint16_t));
		c->position = pos;
		combo_request(c, &rq);
		memcpy(c->key, rq.key, 16);
		*scen_map_put(&f->by_key, c->key, 16, NULL) = f->ncombos;
		f->ncombos++;
		if (t->position.declared && pos < t->position.max) {
			pos++;
			continue;
		}
		pos = t->position.declared ? t->position.min : 0;
		for (size_t i = t->nfactors; i-- > 0;) {
			if (++idx[i] < t->factors[i].nlevels)
				break;
			idx[i] = 0;
		}
	}
	f->ntpls++;
	return 0;
}

/* The templates o names; 0, or an exit status. */
static int select_design(struct fill *f)
{
	const struct scen_config *cfg = f->cfg;
	const struct scen_pool_opts *o = f->o;
	if (o->experiment && !scen_config_experiment(cfg, o->experiment)) {
		scen_error("--experiment '%s': no such experiment in %s",
			   o->experiment, cfg->path);
		return SCEN_EX_USAGE;
	}
	for (size_t i = 0; i < cfg->nexperiments; i++) {
		const struct scen_experiment *e = &cfg->experiments[i];
		if (o->experiment && strcmp(e->name, o->experiment))
			continue;
		for (size_t j = 0; j < e->ntemplates; j++) {
			const struct scen_template *t = &e->templates[j];
			if (o->tpl && strcmp(t->name, o->tpl))
				continue;
			if (add_template(f, t) < 0)
				return SCEN_EX_DATAERR;
		}
	}
	if (!f->ntpls) {
		scen_error("--template '%s': no such template%s%s in %s",
			   o->tpl ? o->tpl : "", o->experiment
			   ? " in experiment " : "", o->experiment
			   ? o->experiment : "", cfg->path);
		return SCEN_EX_USAGE;
	}
	return 0;
}

static struct combo *combo_of(struct fill *f, const uint8_t *key)
{
	uint64_t *v = scen_map_get(&f->by_key, key, 16);
	return v ? &f->combos[*v] : NULL;
}

static long need(const struct fill *f, const struct combo *c)
{
	if (c->given_up)
		return 0;
	long n = f->target - c->live - c->made - c->pending;
	return n > 0 ? n : 0;
}

/* ---- what the database says ------------------------------------------ */

struct demand_ctx {
	struct fill *f;
	struct scen_map cells;	/* "factors\037position" -> combo index */
	struct strbuf sb;
};

static void demand_key(struct strbuf *sb, const char *factors,
		       int has_position, long position)
{
	sb_reset(sb);
	sb_adds(sb, factors);
	if (has_position)
		sb_addf(sb, "\037%ld", position);
	else
		sb_adds(sb, "\037-");
}

static void on_demand(void *vctx, const char *factors, int has_position,
		      long position, long n)
{
	struct demand_ctx *d = vctx;
	demand_key(&d->sb, factors, has_position, position);
	uint64_t *v = scen_map_get(&d->cells, d->sb.buf, d->sb.len);
	if (v)
		d->f->combos[*v].demand += n;
}

/* Requests per combination over the last o->days days. */
static int read_demand(struct fill *f, double now)
{
	double since = now - (double)f->o->days * 86400.0;
	struct demand_ctx d = {.f = f};
	struct strbuf fj;
	int rc = 0;
	sb_init(&d.sb);
	sb_init(&fj);
	for (size_t i = 0; i < f->ntpls && !rc; i++) {
		struct tstat *ts = &f->tpls[i];
		const struct scen_template *t = ts->tpl;
		scen_map_init(&d.cells);
		for (size_t k = ts->first; k < ts->first + ts->n; k++) {
			struct scen_request rq;
			combo_request(&f->combos[k], &rq);
			sb_reset(&fj);
			scen_request_factors_json(&rq, &fj);
			demand_key(&d.sb, fj.buf, t->position.declared,
				   rq.position);
			*scen_map_put(&d.cells, d.sb.buf, d.sb.len, NULL) = k;
		}
		rc = scen_db_pool_demand(f->dp, t->experiment->name, t->name,
					 since, on_demand, &d);
		scen_map_release(&d.cells);
	}
	sb_release(&d.sb);
	sb_release(&fj);
	return rc;
}

static void on_entries(void *vctx, const uint8_t *key, long live,
		       long retired)
{
	struct fill *f = vctx;
	struct combo *c = combo_of(f, key);
	if (c) {
		c->live += live;
		c->retired += retired;
	}
}

static void on_open_job(void *vctx, const uint8_t *key, long n)
{
	struct fill *f = vctx;
	struct combo *c = combo_of(f, key);
	if (c)
		c->pending += n;
}

/* Pool entries and open pool jobs per combination; the shortfall. */
static int read_pool(struct fill *f, double now)
{
	double min_created = now - f->cfg->pool.max_age_days * 86400.0;
	for (size_t i = 0; i < f->ntpls; i++) {
		const char *v = f->tpls[i].tpl->version_hex;
		if (scen_db_pool_entries(f->dp, v, min_created, on_entries,
					 f) < 0 ||
		    scen_db_pool_open_jobs(f->dp, v, on_open_job, f) < 0)
			return -1;
	}
	f->needed = 0;
	for (size_t i = 0; i < f->ntpls; i++) {
		struct tstat *ts = &f->tpls[i];
		ts->live = ts->retired = ts->pending = ts->needed = 0;
		for (size_t k = ts->first; k < ts->first + ts->n; k++) {
			const struct combo *c = &f->combos[k];
			ts->live += c->live;
			ts->retired += c->retired;
			ts->pending += c->pending;
			ts->needed += need(f, c);
		}
		f->needed += ts->needed;
	}
	return 0;
}

/* Each account's share of what is left of its day (SPEC §3 pool:). */
static int read_budget(struct fill *f, double now)
{
	const struct scen_config *cfg = f->cfg;
	double day_start = scen_quota_day_start(cfg, now);
	f->budget = 0;
	for (size_t i = 0; i < f->nacct; i++) {
		const struct scen_account *ac = &cfg->provider.accounts[i];
		struct acct *a = &f->acct[i];
		struct scen_acct_state st;
		struct scen_usage u;
		if (scen_db_account_get(f->db, ac->name, &st) < 0 ||
		    scen_db_usage(f->db, ac->name, now, day_start,
				  st.day_seen_at, st.tok_seen_at, &u) < 0)
			return -1;
		/* the day's limit: the config's, or the provider's stated
		 * one when lower (as the quota module counts it) */
		long rpd = ac->rpd;
		if (st.lim_rpd > 0 && (!rpd || st.lim_rpd < rpd))
			rpd = st.lim_rpd;
		a->has_key = ac->key != NULL;
		a->used_day = u.day;
		a->rpd = rpd;
		a->remaining = -1;
		if (rpd > 0)
			a->remaining = rpd > u.day ? rpd - u.day : 0;
		if (st.has_day && now < st.day_reset_at) {
			/* the provider's own figure, when it is current */
			long r = st.day_remaining - u.since_day_seen;
			if (r < 0)
				r = 0;
			if (a->remaining < 0 || r < a->remaining)
				a->remaining = r;
		}
		if (!a->has_key)
			a->share_cap = 0;
		else if (a->remaining < 0)
			a->share_cap = -1;
		else
			a->share_cap = (long)floor(cfg->pool.quota_share *
						   (double)a->remaining + 1e-9);
		f->budget = ladd(f->budget, a->share_cap < 0 ? UNLIMITED
							     : a->share_cap);
	}
	if (f->o->max_calls >= 0)
		f->budget = lmin(f->budget, f->o->max_calls);
	return 0;
}

/* Most requested first; ties (and the never requested) in declared
 * order. */
static struct fill *sort_fill;

static int by_demand(const void *a, const void *b)
{
	const struct combo *x = &sort_fill->combos[*(const uint32_t *)a];
	const struct combo *y = &sort_fill->combos[*(const uint32_t *)b];
	if (x->demand != y->demand)
		return x->demand > y->demand ? -1 : 1;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	return (i > j) - (i < j);
}

static void make_order(struct fill *f)
{
	f->order = xmalloc((f->ncombos ? f->ncombos : 1) * sizeof(uint32_t));
	for (size_t i = 0; i < f->ncombos; i++)
		f->order[i] = (uint32_t)i;
	sort_fill = f;
	qsort(f->order, f->ncombos, sizeof(uint32_t), by_demand);
	sort_fill = NULL;
	for (size_t r = 0; r < f->ncombos; r++)
		f->combos[f->order[r]].rank = (uint32_t)r;
	f->hint = 0;
}

/* ---- budget while running -------------------------------------------- */

static long reserved_total(const struct fill *f)
{
	long n = 0;
	for (size_t i = 0; i < f->nacct; i++)
		n += scen_quota_reserved(f->q, (int)i);
	return n;
}

/* Calls an account may still make under its share (UNLIMITED: no cap). */
static long room(const struct fill *f, size_t i)
{
	const struct acct *a = &f->acct[i];
	if (!a->has_key)
		return 0;
	if (a->share_cap < 0)
		return UNLIMITED;
	long r = a->share_cap - scen_quota_reserved(f->q, (int)i);
	return r > 0 ? r : 0;
}

/* Calls this run may still make: the shares, and --max-calls. */
static long calls_left(const struct fill *f)
{
	long s = 0;
	for (size_t i = 0; i < f->nacct; i++)
		s = ladd(s, room(f, i));
	if (f->o->max_calls >= 0) {
		long r = f->o->max_calls - reserved_total(f);
		s = lmin(s, r > 0 ? r : 0);
	}
	return s;
}

/*
 * Sets the quota caps before each engine step. Each account may reach its
 * share; when --max-calls leaves fewer calls than the shares do, those are
 * split between the accounts (the odd ones rotating), so that one step,
 * which may reserve on several accounts, never exceeds the total.
 */
static void apply_caps(struct fill *f)
{
	size_t n = f->nacct;
	long total = 0;
	for (size_t i = 0; i < n; i++)
		total = ladd(total, room(f, i));
	long r = f->o->max_calls < 0 ? UNLIMITED
				     : f->o->max_calls - reserved_total(f);
	if (r < 0 || f->stop)
		r = 0;	/* stopping: no new call, not even a retry */
	if (r >= total) {
		for (size_t i = 0; i < n; i++)
			scen_quota_set_cap(f->q, (int)i, f->acct[i].has_key
					   ? f->acct[i].share_cap : 0);
		return;
	}
	long *give = xcalloc(n ? n : 1, sizeof(long));
	size_t active = 0;
	for (size_t i = 0; i < n; i++)
		active += room(f, i) > 0;
	while (r > 0 && active) {
		long each = r / (long)active;
		if (each == 0) {
			/* fewer calls than accounts: one each, rotating */
			for (size_t k = 0; k < n && r > 0; k++) {
				size_t i = (f->rot + k) % n;
				if (room(f, i) > give[i]) {
					give[i]++;
					r--;
				}
			}
			break;
		}
		active = 0;
		for (size_t i = 0; i < n; i++) {
			long g = lmin(each, room(f, i) - give[i]);
			if (g <= 0)
				continue;
			give[i] += g;
			r -= g;
			active += room(f, i) > give[i];
		}
	}
	f->rot++;
	for (size_t i = 0; i < n; i++)
		scen_quota_set_cap(f->q, (int)i,
				   scen_quota_reserved(f->q, (int)i) + give[i]);
	free(give);
}

/* ---- jobs ------------------------------------------------------------ */

static void track(struct fill *f, struct scen_job *j)
{
	int created;
	*scen_map_put(&f->tracked, &j, sizeof j, &created) = 1;
	if (created)
		f->ntracked++;
}

static void untrack(struct fill *f, struct scen_job *j)
{
	if (scen_map_get(&f->tracked, &j, sizeof j)) {
		scen_map_del(&f->tracked, &j, sizeof j);
		f->ntracked--;
	}
}

/* Tracked jobs not yet given a call: they will each need one. */
static long unreserved(const struct fill *f)
{
	long n = 0;
	for (size_t i = 0; i < f->tracked.cap; i++) {
		const struct scen_map_slot *s = &f->tracked.slots[i];
		if (!s->hash)
			continue;
		const struct scen_job *j;
		memcpy(&j, s->key, sizeof j);
		n += j->state == SCEN_JOB_QUEUED && !j->attempts;
	}
	return n;
}

static void set_stop(struct fill *f, enum stop why)
{
	if (!f->stop)
		f->stop = why;
}

static int rejected_reason(const char *e)
{
	static const char *const words[] = {
		"empty", "truncated", "too_short", "too_long", "refusal",
	};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (!strcmp(e, words[i]))
			return 1;
	return 0;
}

/* A combination whose outputs keep failing validation is left for this
 * run: its calls would only feed the rejects. */
static void give_up(struct combo *c)
{
	struct scen_request rq;
	struct strbuf sb;
	c->given_up = 1;
	combo_request(c, &rq);
	sb_init(&sb);
	scen_request_factors_json(&rq, &sb);
	if (c->tpl->position.declared)
		sb_addf(&sb, " position %ld", c->position);
	scen_warn("%s/%s %s: %ld outputs failed validation; leaving this "
		  "combination for this run", c->tpl->experiment->name,
		  c->tpl->name, sb.buf, c->rejected);
	sb_release(&sb);
}

static void reopen(struct fill *f, struct combo *c)
{
	if (c && c->rank < f->hint)
		f->hint = c->rank;
}

/* A job of this run ended. */
static void job_ended(struct fill *f, struct scen_job *j)
{
	untrack(f, j);
	int pool = j->origin && !strcmp(j->origin, "pool");
	struct combo *c = pool ? combo_of(f, j->rq.key) : NULL;
	struct tstat *ts = c ? &f->tpls[c->ts] : NULL;
	struct acct *a = j->acct >= 0 ? &f->acct[j->acct] : NULL;
	const char *err = j->error ? j->error : "";
	if (c && c->pending > 0)
		c->pending--;
	if (j->state == SCEN_JOB_DONE ||
	    (j->state == SCEN_JOB_FAILED && rejected_reason(err))) {
		/* the provider answered */
		f->streak = 0;
		f->last_ok = scen_now();
		f->calls_at_ok = reserved_total(f);
	}
	if (j->state == SCEN_JOB_DONE) {
		if (!pool)
			goto out;
		f->made++;
		if (c)
			c->made++;
		if (ts)
			ts->made++;
		if (a)
			a->made++;
	} else if (j->state == SCEN_JOB_FAILED && !strcmp(err, "no_budget")) {
		/* a pool job waits until the horizon: no account can take
		 * its call before then (an adopted fresh job waits only
		 * deadline_s, which says nothing about the night) */
		if (!pool)
			goto out;
		f->not_made++;
		if (calls_left(f) <= 0)
			set_stop(f, f->o->max_calls >= 0 &&
				 reserved_total(f) >= f->o->max_calls
				 ? STOP_MAX_CALLS : STOP_BUDGET);
		else
			set_stop(f, STOP_NO_ACCOUNT);
		reopen(f, c);
	} else if (j->state == SCEN_JOB_FAILED && rejected_reason(err)) {
		if (!pool)
			goto out;
		f->rejected++;
		if (ts)
			ts->rejected++;
		if (a)
			a->rejected++;
		if (c && ++c->rejected > 2 * f->target)
			give_up(c);
		reopen(f, c);
	} else if (j->state == SCEN_JOB_FAILED && !strcmp(err,
							  "store_failed")) {
		set_stop(f, STOP_IO);
	} else if (j->state == SCEN_JOB_FAILED &&
		   strcmp(err, "template_changed")) {
		/* the provider failed it, after the engine's retries (429s
		 * only say it is busy: the quota waits those out) */
		if (strcmp(err, "429"))
			f->streak++;
		if (pool) {
			f->failed++;
			if (ts)
				ts->failed++;
			if (a)
				a->failed++;
		}
		if (f->streak >= PROVIDER_STREAK)
			set_stop(f, STOP_PROVIDER);
		reopen(f, c);
	}
out:
	scen_job_free(j);
}

static void handle_finished(struct fill *f)
{
	struct scen_job *j;
	while ((j = scen_engine_finished(f->e)))
		job_ended(f, j);
}

/* Skips the combinations that need nothing; the next one's rank. */
static size_t advance(struct fill *f)
{
	while (f->hint < f->ncombos &&
	       !need(f, &f->combos[f->order[f->hint]]))
		f->hint++;
	return f->hint;
}

static size_t window(const struct fill *f)
{
	return 2 * (size_t)(f->cfg->provider.max_concurrency > 0
			    ? f->cfg->provider.max_concurrency : 1);
}

static int can_submit(struct fill *f)
{
	return !f->stop && f->ntracked < window(f) &&
	       advance(f) < f->ncombos && unreserved(f) < calls_left(f);
}

/* Keeps about two jobs per concurrent call queued: a process that dies
 * leaves few, and each new job sees the latest shortfall. */
static void submit_more(struct fill *f, double now)
{
	long left = calls_left(f);
	long unres = unreserved(f);
	while (f->ntracked < window(f) && unres < left &&
	       advance(f) < f->ncombos) {
		struct combo *c = &f->combos[f->order[f->hint]];
		struct scen_request rq;
		combo_request(c, &rq);
		struct scen_job *j = scen_engine_submit(f->e, &rq, "pool", now,
							f->horizon);
		track(f, j);
		c->pending++;
		unres++;
	}
}

/* Stopping: jobs that have not made their call are cancelled; calls out
 * finish. */
static void cancel_queued(struct fill *f, double now)
{
	struct scen_job **v = xmalloc((f->ntracked ? f->ntracked : 1) *
				      sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < f->tracked.cap; i++) {
		const struct scen_map_slot *s = &f->tracked.slots[i];
		if (!s->hash)
			continue;
		struct scen_job *j;
		memcpy(&j, s->key, sizeof j);
		if (j->state == SCEN_JOB_QUEUED && !j->launch)
			v[n++] = j;
	}
	for (size_t i = 0; i < n; i++)
		scen_engine_cancel(f->e, v[i], now);
	free(v);
}

static int has_queued(const struct fill *f)
{
	for (size_t i = 0; i < f->tracked.cap; i++) {
		const struct scen_map_slot *s = &f->tracked.slots[i];
		if (!s->hash)
			continue;
		const struct scen_job *j;
		memcpy(&j, s->key, sizeof j);
		if (j->state == SCEN_JOB_QUEUED && !j->launch)
			return 1;
	}
	return 0;
}

/*
 * Whether the provider is down: its breaker is open and calls have kept
 * ending without an answer for two breaker cool-downs (the breaker already
 * holds calls back; this ends the run instead of probing all night). 429s
 * do not open the breaker: a busy provider is waited for.
 */
static int provider_down(const struct fill *f, double now)
{
	if (!f->breaker_open)
		return 0;
	double span = 2 * f->cfg->provider.breaker_cooldown_s;
	if (span < 2 * f->cfg->provider.timeout_s)
		span = 2 * f->cfg->provider.timeout_s;
	long ended = reserved_total(f) - f->calls_at_ok -
		     scen_engine_inflight_calls(f->e);
	return now - f->last_ok >= span && ended >= PROVIDER_STREAK;
}

static void step(struct fill *f, double now)
{
	apply_caps(f);
	scen_engine_step(f->e, now);
	handle_finished(f);
}

static void read_breaker(struct fill *f)
{
	struct scen_acct_state st;
	if (scen_db_account_get(f->db, PROVIDER_ROW, &st) == 0)
		f->breaker_open = strcmp(st.breaker, "closed") != 0;
}

static void check_horizon(struct fill *f, double now)
{
	if (now >= f->horizon)
		set_stop(f, f->horizon >= f->until ? STOP_UNTIL : STOP_DAY);
}

/* One write transaction: settle what ended, submit or cancel, reserve. */
static int turn(struct fill *f)
{
	double now = scen_now();
	check_horizon(f, now);
	if (scen_db_begin(f->db) < 0)
		return -1;
	if (f->stop)
		cancel_queued(f, now);
	step(f, now);
	read_breaker(f);
	for (int k = 0; k < 4; k++) {
		if (f->stop)
			cancel_queued(f, now);
		else
			submit_more(f, now);
		step(f, now);
		if (f->stop ? !has_queued(f) : !can_submit(f))
			break;
	}
	handle_finished(f);
	if (f->stop == STOP_IO) {
		scen_db_rollback(f->db);
		return -1;
	}
	if (scen_db_commit(f->db) < 0)
		return -1;
	scen_engine_launch(f->e);
	return 0;
}

/* ---- adopting what a dead run left ------------------------------------ */

static void on_owned(void *vctx, const char *jid)
{
	struct fill *f = vctx;
	struct scen_job *j = scen_engine_find(f->e, jid);
	if (!j)
		return;
	/* a pool job waits for budget as long as this run's own do */
	if (j->origin && !strcmp(j->origin, "pool"))
		j->give_up_at = f->horizon;
	track(f, j);
}

/* In the setup transaction: jobs of processes that died are adopted and
 * finish here; pool ones count toward their combination's target. */
static int adopt(struct fill *f, double now)
{
	int n = scen_engine_adopt(f->e, now);
	if (n < 0)
		return -1;
	if (n && scen_db_pool_owned_jobs(f->dp, (long)getpid(), on_owned,
					 f) < 0)
		return -1;
	return 0;
}

/* ---- output ---------------------------------------------------------- */

static void fmt_duration(char *buf, size_t n, double s)
{
	long t = s > 0 && s < 1e9 ? (long)(s + 0.5) : 0;
	if (t >= 3600)
		snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
	else if (t >= 60)
		snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, n, "%lds", t);
}

static void fmt_calls(char *buf, size_t n, long v)
{
	if (v >= UNLIMITED)
		snprintf(buf, n, "unlimited");
	else
		snprintf(buf, n, "%ld", v);
}

/* Entries this run set out to make: the shortfall, within the budget. */
static long planned(const struct fill *f)
{
	return f->budget < f->needed ? f->budget : f->needed;
}

static void progress(struct fill *f, int final)
{
	const struct scen_pool_opts *o = f->o;
	double t = scen_now(), real = scen_mono();
	if (scen_verbosity < 0)
		return;
	double elapsed = t - f->start;
	long calls = reserved_total(f);
	long total = planned(f);
	double rate = elapsed > 0 ? calls / elapsed * 60 : 0;
	char eta[32], left[32];
	fmt_calls(left, sizeof left, calls_left(f));
	if (f->made > 0 && total > f->made)
		fmt_duration(eta, sizeof eta,
			     (double)(total - f->made) * elapsed / f->made);
	else
		snprintf(eta, sizeof eta, "%s", f->made ? "0s" : "?");
	if (o->progress) {
		if (final) {
			if (f->drawn)
				fputs("\r\033[K", stderr);
			f->drawn = 0;
			return;
		}
		if (real - f->last_draw < DRAW_EVERY_S)
			return;
		f->last_draw = real;
		char bar[21];
		int fill = total > 0 ? (int)(20 * f->made / total) : 20;
		if (fill > 20)
			fill = 20;
		for (int i = 0; i < 20; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[20] = 0;
		fprintf(stderr, "\r[%s] %ld/%ld entries  %.1f calls/min  "
			"ETA %s  budget %s calls\033[K", bar, f->made, total,
			rate, eta, left);
		fflush(stderr);
		f->drawn = 1;
		return;
	}
	if (final || t < f->next_log)
		return;
	f->next_log = t + LOG_EVERY_S;
	scen_info("progress: %ld of %ld entries made, %ld rejected, %ld "
		  "calls (%.1f a minute), %s calls left in the budget, "
		  "about %s to go", f->made, total, f->rejected, calls, rate,
		  left, eta);
}

static const char *stop_words(const struct fill *f, char *buf, size_t n)
{
	char hm[32];
	time_t u = (time_t)f->until;
	struct tm tm;
	switch (f->stop) {
	case STOP_NONE:
	case STOP_DONE:
		for (size_t i = 0; i < f->ncombos; i++)
			if (f->combos[i].given_up)
				return "incomplete: outputs kept failing "
				       "validation";
		return "complete";
	case STOP_BUDGET:
		return "stopped: the quota share of this run is spent";
	case STOP_MAX_CALLS:
		snprintf(buf, n, "stopped: --max-calls %ld reached",
			 f->o->max_calls);
		return buf;
	case STOP_UNTIL:
		localtime_r(&u, &tm);
		strftime(hm, sizeof hm, "%H:%M", &tm);
		snprintf(buf, n, "stopped: --until %s reached", hm);
		return buf;
	case STOP_DAY:
		return "stopped: the quota day ended";
	case STOP_SIGNAL:
		return "stopped: interrupted by a signal";
	case STOP_NO_ACCOUNT:
		return "stopped: no account can take a call in time";
	case STOP_PROVIDER:
		return "stopped: the provider keeps failing";
	case STOP_IO:
		return "stopped: database error";
	}
	return "stopped";
}

/* Entries still short, and in how many combinations. */
static long left_entries(const struct fill *f, long *ncombos)
{
	long n = 0, k = 0;
	for (size_t i = 0; i < f->ncombos; i++) {
		const struct combo *c = &f->combos[i];
		long s = f->target - c->live - c->made - c->pending;
		if (s > 0) {
			n += s;
			k++;
		}
	}
	*ncombos = k;
	return n;
}

static void print_summary(struct fill *f)
{
	FILE *out = f->o->out;
	char buf[96];
	long combos, left = left_entries(f, &combos);
	long pending = 0;
	for (size_t i = 0; i < f->ncombos; i++)
		pending += f->combos[i].pending;
	fprintf(out, "result: %s\n", stop_words(f, buf, sizeof buf));
	fprintf(out, "needed: %ld\n", f->needed);
	fprintf(out, "made: %ld\n", f->made);
	fprintf(out, "rejected: %ld\n", f->rejected);
	fprintf(out, "failed: %ld\n", f->failed);
	fprintf(out, "left: %ld in %ld combination%s\n", left, combos,
		combos == 1 ? "" : "s");
	if (pending)
		fprintf(out, "pending elsewhere: %ld\n", pending);
	fprintf(out, "calls: %ld\n", reserved_total(f));
	for (size_t i = 0; i < f->nacct; i++) {
		const struct acct *a = &f->acct[i];
		fprintf(out, "account %s: %ld calls, %ld made, %ld rejected, "
			"%ld failed\n", f->cfg->provider.accounts[i].name,
			scen_quota_reserved(f->q, (int)i), a->made,
			a->rejected, a->failed);
	}
	for (size_t i = 0; i < f->ntpls; i++) {
		const struct tstat *ts = &f->tpls[i];
		long tl = 0;
		for (size_t k = ts->first; k < ts->first + ts->n; k++) {
			const struct combo *c = &f->combos[k];
			long s = f->target - c->live - c->made - c->pending;
			tl += s > 0 ? s : 0;
		}
		fprintf(out, "template %s/%s: %ld made, %ld rejected, "
			"%ld failed, %ld left\n", ts->tpl->experiment->name,
			ts->tpl->name, ts->made, ts->rejected, ts->failed,
			tl);
	}
	fprintf(out, "time: %.1f s\n", scen_now() - f->start);
}

static void print_plan(struct fill *f)
{
	FILE *out = f->o->out;
	const struct scen_config *cfg = f->cfg;
	long short_combos = 0;
	for (size_t i = 0; i < f->ncombos; i++)
		short_combos += need(f, &f->combos[i]) > 0;
	fprintf(out, "plan: %ld variant%s per combination, entries older "
		"than %g days retired\n", f->target,
		f->target == 1 ? "" : "s", cfg->pool.max_age_days);
	for (size_t i = 0; i < f->ntpls; i++) {
		const struct tstat *ts = &f->tpls[i];
		fprintf(out, "template %s/%s: %zu combinations, %ld live, "
			"%ld retired, %ld pending, %ld needed\n",
			ts->tpl->experiment->name, ts->tpl->name, ts->n,
			ts->live, ts->retired, ts->pending, ts->needed);
	}
	fprintf(out, "combinations: %zu (%ld short)\n", f->ncombos,
		short_combos);
	fprintf(out, "calls needed: %ld\n", f->needed);
	char b[32];
	fmt_calls(b, sizeof b, f->budget);
	fprintf(out, "budget: %s calls\n", b);
	for (size_t i = 0; i < f->nacct; i++) {
		const struct acct *a = &f->acct[i];
		const char *name = cfg->provider.accounts[i].name;
		if (!a->has_key)
			fprintf(out, "account %s: no key\n", name);
		else if (a->share_cap < 0)
			fprintf(out, "account %s: no cap (no day limit "
				"known), %ld calls today\n", name,
				a->used_day);
		else
			fprintf(out, "account %s: %ld calls (%g of %ld left "
				"today)\n", name, a->share_cap,
				cfg->pool.quota_share, a->remaining);
	}
	if (f->o->max_calls >= 0)
		fprintf(out, "max calls: %ld\n", f->o->max_calls);
	if (f->o->until_min >= 0) {
		char hm[32];
		time_t u = (time_t)f->until;
		struct tm tm;
		localtime_r(&u, &tm);
		strftime(hm, sizeof hm, "%Y-%m-%d %H:%M", &tm);
		fprintf(out, "until: %s\n", hm);
	}
	fprintf(out, "order: %s\n", f->needed > f->budget
		? "most requested first (the design does not fit the budget)"
		: "most requested first, then declared order");
	if (scen_verbosity < 1)
		return;
	struct strbuf sb;
	sb_init(&sb);
	for (size_t r = 0; r < f->ncombos; r++) {
		const struct combo *c = &f->combos[f->order[r]];
		long n = need(f, c);
		if (!n)
			continue;
		struct scen_request rq;
		combo_request(c, &rq);
		sb_reset(&sb);
		scen_request_factors_json(&rq, &sb);
		fprintf(out, "  %s/%s %s", c->tpl->experiment->name,
			c->tpl->name, sb.buf);
		if (c->tpl->position.declared)
			fprintf(out, " position %ld", c->position);
		fprintf(out, ": %ld requested, %ld needed\n", c->demand, n);
	}
	sb_release(&sb);
}

/* ---- the run ----------------------------------------------------------- */

/* flock(2) on "<database>.pool-fill.lock"; -1 and *busy when held. */
static int take_lock(const char *database, int *busy)
{
	char *path = xasprintf("%s.pool-fill.lock", database);
	*busy = 0;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		scen_error("%s: cannot open: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			*busy = 1;
			scen_error("another scen-pool-fill is filling %s "
				   "(%s is locked); not starting a second run",
				   database, path);
		} else {
			scen_error("%s: cannot lock: %s", path,
				   strerror(errno));
		}
		close(fd);
		free(path);
		return -1;
	}
	free(path);
	return fd;
}

static int setup(struct fill *f, double now)
{
	if (scen_db_begin(f->db) < 0)
		return -1;
	if (scen_db_register_templates(f->db, f->cfg) < 0 ||
	    adopt(f, now) < 0 || read_pool(f, now) < 0 ||
	    read_budget(f, now) < 0) {
		scen_db_rollback(f->db);
		return -1;
	}
	return scen_db_commit(f->db);
}

static int wait_ms(struct fill *f, double now)
{
	int ms = WAIT_MS;
	double t = scen_engine_next_try(f->e);
	if (isfinite(t) && scen_engine_inflight_calls(f->e) <
	    f->cfg->provider.max_concurrency) {
		double d = scen_real_ms(t - now);
		if (d < ms)
			ms = d < 0 ? 0 : (int)d + 1;
	}
	if (!f->stop && isfinite(f->horizon)) {
		double d = scen_real_ms(f->horizon - now);
		if (d < ms)
			ms = d < 0 ? 0 : (int)d + 1;
	}
	return ms;
}

static void run(struct fill *f)
{
	int first = 1;
	for (;;) {
		double now = scen_now();
		if (signals)
			set_stop(f, STOP_SIGNAL);
		if (provider_down(f, now))
			set_stop(f, STOP_PROVIDER);
		check_horizon(f, now);
		int ms = first ? 0 : wait_ms(f, now);
		if (ms > 0 || scen_engine_inflight_calls(f->e))
			scen_engine_wait(f->e, -1, ms, NULL);
		int ended = scen_engine_collect(f->e);
		now = scen_now();
		double next = scen_engine_next_try(f->e);
		int busy = scen_engine_inflight_calls(f->e) >=
			   f->cfg->provider.max_concurrency;
		if (first || ended || (next <= now && !busy) ||
		    (f->stop ? has_queued(f) : can_submit(f))) {
			if (turn(f) < 0) {
				f->stop = STOP_IO;
				break;
			}
		}
		first = 0;
		if (!f->stop && !f->ntracked &&
		    !scen_engine_pending(f->e)) {
			if (advance(f) >= f->ncombos)
				set_stop(f, STOP_DONE);
			else if (calls_left(f) <= 0)
				set_stop(f, f->o->max_calls >= 0 &&
					 reserved_total(f) >= f->o->max_calls
					 ? STOP_MAX_CALLS : STOP_BUDGET);
		}
		progress(f, 0);
		if (f->stop && !scen_engine_pending(f->e) &&
		    !scen_engine_inflight_calls(f->e))
			break;
	}
	progress(f, 1);
}

static void fill_release(struct fill *f)
{
	scen_engine_free(f->e);
	scen_quota_free(f->q);
	scen_index_free(f->ix);
	scen_db_pool_free(f->dp);
	for (size_t i = 0; i < f->ncombos; i++)
		free(f->combos[i].levels);
	free(f->combos);
	free(f->order);
	free(f->tpls);
	free(f->acct);
	scen_map_release(&f->by_key);
	scen_map_release(&f->tracked);
}

static int exit_status(const struct fill *f)
{
	if (f->stop == STOP_IO)
		return SCEN_EX_IOERR;
	if ((f->stop == STOP_PROVIDER || f->stop == STOP_NO_ACCOUNT) &&
	    !f->made && f->needed > 0)
		return SCEN_EX_UNAVAILABLE;
	return SCEN_EX_OK;
}

static void say_result(struct fill *f)
{
	char buf[96];
	long combos, left = left_entries(f, &combos);
	if (!left) {
		scen_info("done: %ld entries made, the pool is full", f->made);
		return;
	}
	const char *w = stop_words(f, buf, sizeof buf);
	if (f->stop == STOP_DONE)
		w = "done";
	if (exit_status(f) == SCEN_EX_UNAVAILABLE)
		scen_error("%s; nothing could be made: %ld entries left in "
			   "%ld combinations", w, left, combos);
	else
		scen_info("%s: %ld entries made, %ld left in %ld "
			  "combinations", w, f->made, left, combos);
}

int scen_pool_fill(const struct scen_config *cfg, struct scen_db *db,
		   const struct scen_pool_opts *o)
{
	struct fill f;
	memset(&f, 0, sizeof f);
	f.cfg = cfg;
	f.o = o;
	f.db = db;
	f.target = cfg->pool.variants;
	f.nacct = cfg->provider.naccounts;
	f.acct = xcalloc(f.nacct ? f.nacct : 1, sizeof *f.acct);
	f.dp = scen_db_pool_new(db);
	scen_map_init(&f.by_key);
	scen_map_init(&f.tracked);
	f.start = scen_now();
	f.last_ok = scen_now();
	f.next_log = f.start + LOG_EVERY_S;
	double now = scen_now();
	f.until = o->until_min >= 0 ? next_local(now, o->until_min)
				    : INFINITY;
	/* the budget is a share of this quota day: the run ends with it */
	double day_end = scen_quota_day_start(cfg, now) + 86400;
	f.horizon = f.until < day_end ? f.until : day_end;
	int lock = -1, rc = select_design(&f);
	if (rc)
		goto out;
	if (read_demand(&f, now) < 0) {
		rc = SCEN_EX_IOERR;
		goto out;
	}
	make_order(&f);
	if (o->dry_run) {
		if (read_pool(&f, now) < 0 || read_budget(&f, now) < 0) {
			rc = SCEN_EX_IOERR;
			goto out;
		}
		print_plan(&f);
		goto out;
	}
	int busy;
	lock = take_lock(scen_db_path(db), &busy);
	if (lock < 0) {
		rc = busy ? SCEN_EX_TEMPFAIL : SCEN_EX_IOERR;
		goto out;
	}
	f.ix = scen_index_new(cfg);
	f.q = scen_quota_new(cfg, db);
	f.e = scen_engine_new(cfg, db, f.q, f.ix);
	if (setup(&f, now) < 0) {
		rc = SCEN_EX_IOERR;
		goto out;
	}
	char b[32];
	fmt_calls(b, sizeof b, f.budget);
	scen_info("plan: %ld entries short in %zu combinations; budget %s "
		  "calls", f.needed, f.ncombos, b);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	run(&f);
	rc = exit_status(&f);
	say_result(&f);
	if (scen_verbosity >= 0)
		print_summary(&f);
out:
	fill_release(&f);
	if (lock >= 0)
		close(lock);
	return rc;
}
