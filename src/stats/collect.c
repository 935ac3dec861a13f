/* collect.c — scen-cache-stats's figures (scen-cache-stats(1)), read in one
 * snapshot: the hourly counters of each window, the fresh jobs' waits, the
 * accounts, the queue and the pool. */
#include "stats_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scen/db_batch.h"
#include "scen/hash.h"
#include "scen/quota.h"

const char *const stats_win_key[W_MAX] = {"hour", "day", "week", "since"};
const char *const stats_win_title[W_MAX] = {
	"last hour", "last day", "last week", "since"
};
static const double win_span[W_SINCE] = {3600, 86400, 7 * 86400};

const char *scen_level_name(enum scen_level l)
{
	static const char *const names[] = {
		"OK", "WARNING", "CRITICAL", "UNKNOWN"
	};
	return l <= SCEN_LEVEL_UNKNOWN ? names[l] : "UNKNOWN";
}

/* ---- small helpers ---------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The nearest-rank index of the p-quantile among n values. */
static size_t rank_index(size_t n, double p)
{
	double rank = ceil(p * (double)n);
	size_t i = rank < 1 ? 0 : (size_t)rank - 1;
	return i < n ? i : n - 1;
}

double scen_percentile(double *v, size_t n, double p)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof *v, cmp_double);
	return v[rank_index(n, p)];
}

/* Moves the k-th smallest of v[0..n) to v[k], smaller ones before it and
 * larger ones after (quickselect: linear on average, where sorting the
 * week's hundreds of thousands of jobs is not). */
static double select_k(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		/* the median of three as the pivot, at hi */
		if (v[mid] < v[lo]) {
			double t = v[mid]; v[mid] = v[lo]; v[lo] = t;
		}
		if (v[hi] < v[lo]) {
			double t = v[hi]; v[hi] = v[lo]; v[lo] = t;
		}
		if (v[mid] < v[hi]) {
			double t = v[mid]; v[mid] = v[hi]; v[hi] = t;
		}
		double pivot = v[hi];
		size_t store = lo;
		for (size_t i = lo; i < hi; i++)
			if (v[i] < pivot) {
				double t = v[i]; v[i] = v[store]; v[store] = t;
				store++;
			}
		double t = v[store]; v[store] = v[hi]; v[hi] = t;
		if (store == k)
			break;
		if (store < k)
			lo = store + 1;
		else
			hi = store - 1;
	}
	return v[k];
}

/* p50, p95 and max of v (reordered). */
static void dist_of(struct dist *d, double *v, size_t n)
{
	d->n = (long)n;
	if (!n) {
		d->p50 = d->p95 = d->max = NAN;
		return;
	}
	d->max = v[0];
	for (size_t i = 1; i < n; i++)
		if (v[i] > d->max)
			d->max = v[i];
	size_t k95 = rank_index(n, 0.95);
	d->p95 = select_k(v, n, k95);
	/* everything before k95 is no larger: p50 is among them */
	d->p50 = select_k(v, k95 + 1, rank_index(n, 0.5));
}

long stats_cnt(const struct window *w, const char *name)
{
	uint64_t *v = scen_map_get(&w->c, name, strlen(name) + 1);
	return v ? (long)*v : 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **stats_prefixed(const struct window *w, const char *prefix,
			    size_t *n)
{
	const char **v = NULL;
	size_t cap = 0, plen = strlen(prefix);
	*n = 0;
	for (size_t i = 0; i < w->c.cap; i++) {
		const struct scen_map_slot *sl = &w->c.slots[i];
		if (!sl->hash || strncmp(sl->key, prefix, plen))
			continue;
		XGROW(v, *n + 1, cap);
		v[(*n)++] = sl->key;
	}
	if (*n)
		qsort(v, *n, sizeof *v, cmp_str);
	return v;
}

long stats_tier(const struct window *w, enum scen_tier t)
{
	char name[32];
	snprintf(name, sizeof name, "tier.%s", scen_tier_name(t));
	return stats_cnt(w, name);
}

long stats_answered(const struct window *w)
{
	long n = 0;
	for (int t = 0; t < SCEN_TIER_COUNT; t++)
		n += stats_tier(w, (enum scen_tier)t);
	return n;
}

long stats_unavailable(const struct window *w)
{
	return stats_cnt(w, "answer.unavailable");
}

double stats_ratio(long a, long b)
{
	return b > 0 ? (double)a / (double)b : NAN;
}

static long hits(const struct window *w)
{
	return stats_answered(w) - stats_tier(w, SCEN_TIER_FRESH);
}

double stats_hit_rate(const struct window *w)
{
	return stats_ratio(hits(w), stats_answered(w));
}

long stats_calls(const struct window *w)
{
	long n = 0;
	char name[64];
	for (size_t i = 0; i < stats_call_outcomes.n; i++) {
		snprintf(name, sizeof name, "call.%s",
			 stats_call_outcomes.list[i].value);
		n += stats_cnt(w, name);
	}
	return n;
}

long stats_call_failures(const struct window *w)
{
	return stats_calls(w) - stats_cnt(w, "call.ok");
}

/* Requests that met a spent budget: refused calls and requests for which
 * no account had budget. */
static int limit_counter(const char *name)
{
	return !strcmp(name, "call.429") || !strcmp(name, "fresh.no_budget") ||
	       !strcmp(name, "queue.no_budget") ||
	       !strcmp(name, "account.set_aside");
}

/* ---- collecting --------------------------------------------------------- */

static void on_counter(void *ctx, int64_t hour, const char *name, int64_t n)
{
	struct stats *s = ctx;
	size_t len = strlen(name) + 1;
	for (int i = 0; i < s->nwin; i++)
		if (hour >= s->w[i].from_hour)
			*scen_map_put(&s->w[i].c, name, len, NULL) +=
				(uint64_t)n;
	if (hour < s->first_hour || hour >= s->first_hour + (int64_t)s->nhours)
		return;
	struct hour_row *h = &s->hours[hour - s->first_hour];
	if (!strncmp(name, "tier.", 5)) {
		int t = scen_tier_from_name(name + 5);
		if (t >= 0)
			h->tiers[t] += (long)n;
	} else if (!strcmp(name, "answer.unavailable")) {
		h->unavailable += (long)n;
	}
	if (limit_counter(name))
		h->limited += (long)n;
}

static void on_job(void *ctx, const struct scen_job_times *j)
{
	struct stats *s = ctx;
	/* queue wait is what a participant waits for: fresh jobs only (a
	 * night's pool fill queues by design) */
	if (strcmp(j->origin, "fresh"))
		return;
	if (s->njobs == s->capjobs) {
		size_t c = s->capjobs ? 2 * s->capjobs : 1024;
		s->jcreated = xrealloc(s->jcreated, c * sizeof(double));
		s->jwait = xrealloc(s->jwait, c * sizeof(double));
		s->jproc = xrealloc(s->jproc, c * sizeof(double));
		s->capjobs = c;
	}
	/* a job that never started waited until it ended, or is waiting */
	double until = j->started_at > 0 ? j->started_at
		     : j->finished_at > 0 ? j->finished_at : s->now;
	s->jcreated[s->njobs] = j->created_at;
	s->jwait[s->njobs] = until > j->created_at ? until - j->created_at : 0;
	s->jproc[s->njobs] = j->started_at > 0 && j->finished_at > 0
		? j->finished_at - j->started_at : NAN;
	s->njobs++;
}

/* The wait and processing time distributions of the jobs created at or
 * after from. */
static void job_dists(const struct stats *s, double from, struct dist *wait,
		      struct dist *proc)
{
	double *v = xmalloc((s->njobs ? s->njobs : 1) * sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < s->njobs; i++)
		if (s->jcreated[i] >= from)
			v[n++] = s->jwait[i];
	dist_of(wait, v, n);
	n = 0;
	for (size_t i = 0; i < s->njobs; i++)
		if (s->jcreated[i] >= from && !isnan(s->jproc[i]))
			v[n++] = s->jproc[i];
	dist_of(proc, v, n);
	free(v);
}

/* The wait distribution of each hour of the charts: the jobs bucketed by
 * hour (a counting sort), then each bucket's quantiles. */
static void hour_dists(struct stats *s)
{
	size_t *start = xcalloc(s->nhours + 1, sizeof *start);
	double *v = xmalloc((s->njobs ? s->njobs : 1) * sizeof *v);
	for (size_t i = 0; i < s->njobs; i++) {
		int64_t h = (int64_t)floor(s->jcreated[i] / 3600) -
			    s->first_hour;
		if (h >= 0 && h < (int64_t)s->nhours)
			start[h + 1]++;
	}
	for (size_t h = 0; h < s->nhours; h++)
		start[h + 1] += start[h];
	size_t *fill = xmalloc((s->nhours + 1) * sizeof *fill);
	memcpy(fill, start, (s->nhours + 1) * sizeof *fill);
	for (size_t i = 0; i < s->njobs; i++) {
		int64_t h = (int64_t)floor(s->jcreated[i] / 3600) -
			    s->first_hour;
		if (h >= 0 && h < (int64_t)s->nhours)
			v[fill[h]++] = s->jwait[i];
	}
	for (size_t h = 0; h < s->nhours; h++)
		dist_of(&s->hours[h].wait, v + start[h],
			start[h + 1] - start[h]);
	free(fill);
	free(v);
	free(start);
}

static struct pool_tpl *pool_entry(struct stats *s, const char *e,
				   const char *t, int current)
{
	for (size_t i = 0; i < s->npool; i++)
		if (s->pool[i].current == current &&
		    !strcmp(s->pool[i].experiment, e) &&
		    !strcmp(s->pool[i].template_name, t))
			return &s->pool[i];
	XGROW(s->pool, s->npool + 1, s->cappool);
	struct pool_tpl *p = &s->pool[s->npool++];
	memset(p, 0, sizeof *p);
	p->experiment = xstrdup(e);
	p->template_name = xstrdup(t);
	p->current = current;
	return p;
}

static int is_current(const struct scen_config *cfg, const char *version)
{
	for (size_t i = 0; i < cfg->nexperiments; i++) {
		const struct scen_experiment *e = &cfg->experiments[i];
		for (size_t j = 0; j < e->ntemplates; j++)
			if (!strcmp(e->templates[j].version_hex, version))
				return 1;
	}
	return 0;
}

static void on_pool(void *ctx, const struct scen_pool_row *r)
{
	struct stats *s = ctx;
	int cur = is_current(s->cfg, r->version);
	struct pool_tpl *p = pool_entry(s, r->experiment, r->template_name,
					cur);
	p->available += r->available;
	p->retired += r->retired;
	if (r->available) {
		if (!p->oldest || r->oldest < p->oldest)
			p->oldest = r->oldest;
		if (r->newest > p->newest)
			p->newest = r->newest;
	}
	if (cur) {
		s->pool_available += r->available;
		s->pool_retired += r->retired;
	} else {
		s->pool_stale += r->available + r->retired;
	}
}

static void on_batch_key(void *ctx, const char *account)
{
	struct stats *s = ctx;
	if (s->batch_keys_refused++)
		sb_adds(&s->batch_refused_names, ", ");
	sb_adds(&s->batch_refused_names, account);
	for (size_t i = 0; i < s->nacct; i++)
		if (!strcmp(s->acct[i].cfg->name, account))
			s->acct[i].batch_key_refused = 1;
}

static void on_late(void *ctx, const struct scen_batch_late *b)
{
	struct stats *s = ctx;
	XGROW(s->late, s->nlate + 1, s->caplate);
	struct late_batch *l = &s->late[s->nlate++];
	snprintf(l->bid, sizeof l->bid, "%s", b->bid);
	snprintf(l->batch_id, sizeof l->batch_id, "%s", b->batch_id);
	snprintf(l->state, sizeof l->state, "%s", b->state);
	snprintf(l->status, sizeof l->status, "%s", b->status);
	l->window_s = b->window_s;
	l->open_s = b->open_s;
}

/* The batches (all time, the open ones now) and the pool's runway: the
 * days the available pool lasts at the last 7 days' pace of pool
 * servings (scen-cache-stats(1)). */
static int collect_batches(struct stats *s, struct scen_report *r)
{
	sb_init(&s->batch_refused_names);
	if (scen_report_batches(r, s->cfg->pool.batch_attempts,
				&s->batches) < 0 ||
	    scen_report_batch_keys_refused(r, s->now -
					   SCEN_BATCH_REFUSAL_DAYS * 86400.0,
					   on_batch_key, s) < 0 ||
	    scen_report_batches_late(r, s->now, on_late, s) < 0 ||
	    scen_report_pool_served(r, s->now - 7 * 86400,
				    &s->pool_served_week) < 0)
		return -1;
	s->pool_runway = s->pool_served_week > 0
		? (double)s->pool_available /
		  ((double)s->pool_served_week / 7) : INFINITY;
	return 0;
}

/* Each configured account's state and usage now. */
static int collect_accounts(struct stats *s, struct scen_report *r)
{
	const struct scen_config *cfg = s->cfg;
	s->nacct = cfg->provider.naccounts;
	s->acct = xcalloc(s->nacct ? s->nacct : 1, sizeof *s->acct);
	for (size_t i = 0; i < s->nacct; i++) {
		struct acct *a = &s->acct[i];
		a->cfg = &cfg->provider.accounts[i];
		if (scen_report_account(r, a->cfg->name, &a->st) < 0 ||
		    scen_report_usage(r, a->cfg->name, s->now, s->day_start,
				      &a->u) < 0)
			return -1;
		a->set_aside = a->st.set_aside_until > s->now;
		a->cooling = a->st.cooldown_until > s->now;
		a->breaker_open = !strcmp(a->st.breaker, "open") &&
			a->st.opened_at + cfg->provider.breaker_cooldown_s >
			s->now;
		a->key_refused = scen_quota_key_refused(cfg, a->cfg, &a->st);
		a->day_use = a->cfg->rpd > 0
			? (double)a->u.day / (double)a->cfg->rpd : NAN;
		/* the provider said the day is spent: the ledger may not
		 * know of calls made elsewhere with the same organization */
		if (a->set_aside)
			a->day_use = 1;
	}
	return 0;
}

int stats_collect(struct stats *s, struct scen_report *r)
{
	const struct scen_config *cfg = s->cfg;
	double earliest = s->now;
	for (int i = 0; i < s->nwin; i++) {
		struct window *w = &s->w[i];
		if (i < W_SINCE) {
			w->from = s->now - win_span[i];
			w->to = s->now;
		}
		w->from_hour = (int64_t)floor(w->from / 3600);
		if (w->from < earliest) {
			earliest = w->from;
			s->widest = i;
		}
	}
	s->now_hour = (int64_t)floor(s->now / 3600);
	s->first_hour = s->w[W_WEEK].from_hour;
	s->nhours = (size_t)(s->now_hour - s->first_hour + 1);
	s->hours = xcalloc(s->nhours, sizeof *s->hours);

	if (scen_report_counters(r, s->w[s->widest].from_hour, s->now_hour,
				 on_counter, s) < 0 ||
	    scen_report_jobs(r, earliest, on_job, s) < 0)
		return -1;
	for (int i = 0; i < s->nwin; i++)
		job_dists(s, s->w[i].from, &s->w[i].wait, &s->w[i].proc);
	hour_dists(s);

	s->day_start = scen_quota_day_start(cfg, s->now);
	if (collect_accounts(s, r) < 0 ||
	    scen_report_account(r, "*provider", &s->provider) < 0)
		return -1;
	s->provider_open = !strcmp(s->provider.breaker, "open") &&
		s->provider.opened_at + cfg->provider.breaker_cooldown_s >
		s->now;

	if (scen_report_queue(r, &s->queue) < 0)
		return -1;
	/* every declared template has a pool line, even an empty one */
	for (size_t i = 0; i < cfg->nexperiments; i++)
		for (size_t j = 0; j < cfg->experiments[i].ntemplates; j++)
			pool_entry(s, cfg->experiments[i].name,
				   cfg->experiments[i].templates[j].name, 1);
	double cutoff = s->now - cfg->pool.max_age_days * 86400;
	if (scen_report_pool(r, cutoff, on_pool, s) < 0 ||
	    scen_report_totals(r, &s->totals) < 0 ||
	    collect_batches(s, r) < 0)
		return -1;
	return 0;
}

void stats_release(struct stats *s)
{
	for (int i = 0; i < W_MAX; i++)
		scen_map_release(&s->w[i].c);
	scen_map_release(&s->misses);
	free(s->hours);
	free(s->acct);
	for (size_t i = 0; i < s->npool; i++) {
		free(s->pool[i].experiment);
		free(s->pool[i].template_name);
	}
	free(s->pool);
	free(s->alerts);
	free(s->late);
	sb_release(&s->batch_refused_names);
	for (size_t i = 0; i < s->nadvice; i++)
		free(s->advice[i]);
	free(s->advice);
	free(s->jcreated);
	free(s->jwait);
	free(s->jproc);
}
