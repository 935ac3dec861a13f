/* stats.c — scen-cache-stats: collects the figures of SPEC §6 in one read
 * snapshot (hourly counters, the jobs and calls ledgers, account states,
 * the pool), judges the alerts and the scaling advice, and writes them as
 * a table, JSON, Prometheus text, a monitoring check or an HTML page. */
#include "scen/stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scen/db_report.h"
#include "scen/hash.h"
#include "scen/quota.h"

enum { W_HOUR, W_DAY, W_WEEK, W_SINCE, W_MAX };
static const char *const win_key[W_MAX] = {"hour", "day", "week", "since"};
static const char *const win_title[W_MAX] = {
	"last hour", "last day", "last week", "since"
};
static const double win_span[W_SINCE] = {3600, 86400, 7 * 86400};

/* A rate is judged (alerts, advice) only over at least this many events,
 * so that one failure in three requests does not page anyone. */
#define MIN_SAMPLE 10
/* The seed's scaling triggers. */
#define QUEUE_DEPTH_ADVICE 100
#define LIMIT_HOURS_ADVICE 3

static const char *const call_outcomes[] = {
	"ok", "invalid", "malformed", "429", "5xx", "timeout", "connect",
	"auth", "400",
};
#define NOUTCOMES (sizeof call_outcomes / sizeof call_outcomes[0])
static const char *const invalid_reasons[] = {
	"empty", "truncated", "too_short", "too_long", "refusal",
};
#define NREASONS (sizeof invalid_reasons / sizeof invalid_reasons[0])
static const char *const queue_states[] = {
	"submitted", "done", "failed", "cancelled",
};
#define NQSTATES (sizeof queue_states / sizeof queue_states[0])

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

void scen_prom_label(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			sb_adds(sb, "\\\\");
		else if (*s == '"')
			sb_adds(sb, "\\\"");
		else if (*s == '\n')
			sb_adds(sb, "\\n");
		else
			sb_addc(sb, *s);
	}
}

void scen_html_escape(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': sb_adds(sb, "&amp;"); break;
		case '<': sb_adds(sb, "&lt;"); break;
		case '>': sb_adds(sb, "&gt;"); break;
		case '"': sb_adds(sb, "&quot;"); break;
		case '\'': sb_adds(sb, "&#39;"); break;
		default: sb_addc(sb, *s);
		}
	}
}

static long cnt(const struct window *w, const char *name)
{
	uint64_t *v = scen_map_get(&w->c, name, strlen(name) + 1);
	return v ? (long)*v : 0;
}

static long cntf(const struct window *w, const char *fmt, const char *a,
		 const char *b)
{
	char name[256];
	snprintf(name, sizeof name, fmt, a, b);
	return cnt(w, name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The counter names of w that start with prefix, sorted; the array is
 * malloc'd, the names belong to w. */
static const char **prefixed(const struct window *w, const char *prefix,
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

static long sum_prefixed(const struct window *w, const char *prefix)
{
	size_t n;
	const char **v = prefixed(w, prefix, &n);
	long t = 0;
	for (size_t i = 0; i < n; i++)
		t += cnt(w, v[i]);
	free(v);
	return t;
}

static long w_tier(const struct window *w, enum scen_tier t)
{
	char name[32];
	snprintf(name, sizeof name, "tier.%s", scen_tier_name(t));
	return cnt(w, name);
}

static long w_answered(const struct window *w)
{
	long n = 0;
	for (int t = 0; t < SCEN_TIER_COUNT; t++)
		n += w_tier(w, (enum scen_tier)t);
	return n;
}

static long w_unavailable(const struct window *w)
{
	return cnt(w, "answer.unavailable");
}

static long w_bad_input(const struct window *w)
{
	return sum_prefixed(w, "error.");
}

static long w_requests(const struct window *w)
{
	return w_answered(w) + w_unavailable(w) + w_bad_input(w);
}

static double ratio(long a, long b)
{
	return b > 0 ? (double)a / (double)b : NAN;
}

static long w_hits(const struct window *w)
{
	return w_answered(w) - w_tier(w, SCEN_TIER_FRESH);
}

static double w_hit_rate(const struct window *w)
{
	return ratio(w_hits(w), w_answered(w));
}

static double w_completed(const struct window *w)
{
	return ratio(w_answered(w), w_answered(w) + w_unavailable(w));
}

static long w_calls(const struct window *w)
{
	long n = 0;
	for (size_t i = 0; i < NOUTCOMES; i++)
		n += cntf(w, "call.%s%s", call_outcomes[i], "");
	return n;
}

static long w_call_failures(const struct window *w)
{
	return w_calls(w) - cnt(w, "call.ok");
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

static void on_fresh(void *ctx, const char *e, const char *t, int64_t n)
{
	struct stats *s = ctx;
	char name[256];
	snprintf(name, sizeof name, "%s/%s", e, t);
	*scen_map_put(&s->misses, name, strlen(name) + 1, NULL) += (uint64_t)n;
}

static int collect(struct stats *s, struct scen_report *r)
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
		a->day_use = a->cfg->rpd > 0
			? (double)a->u.day / (double)a->cfg->rpd : NAN;
		/* the provider said the day is spent: the ledger may not
		 * know of calls made elsewhere with the same organization */
		if (a->set_aside)
			a->day_use = 1;
	}
	if (scen_report_account(r, "*provider", &s->provider) < 0)
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
	    scen_report_totals(r, &s->totals) < 0)
		return -1;
	return 0;
}

/* ---- alerts and advice ---------------------------------------------- */

static struct alert *alert_add(struct stats *s, const char *name,
			       const char *subject, enum scen_level level,
			       double figure, double threshold)
{
	XGROW(s->alerts, s->nalerts + 1, s->capalerts);
	struct alert *a = &s->alerts[s->nalerts++];
	memset(a, 0, sizeof *a);
	snprintf(a->name, sizeof a->name, "%s", name);
	snprintf(a->subject, sizeof a->subject, "%s", subject ? subject : "");
	a->level = level;
	a->figure = figure;
	a->threshold = threshold;
	if (level > s->level)
		s->level = level;
	return a;
}

static int pool_in_fallback(const struct scen_config *cfg)
{
	for (size_t i = 0; i < cfg->nfallback; i++)
		if (cfg->fallback[i] == SCEN_TIER_POOL)
			return 1;
	return 0;
}

static void judge_alerts(struct stats *s)
{
	const struct scen_config *cfg = s->cfg;
	const struct window *h = &s->w[W_HOUR];
	struct alert *a;

	/* key usage: each account against its daily limit; every account
	 * at once is the whole budget, critical */
	long used = 0, limit = 0;
	int counted = 0;
	for (size_t i = 0; i < s->nacct; i++) {
		const struct acct *ac = &s->acct[i];
		if (isnan(ac->day_use))
			continue;
		if (ac->cfg->rpd > 0) {
			counted++;
			used += ac->set_aside ? ac->cfg->rpd : ac->u.day;
			limit += ac->cfg->rpd;
		}
		if (ac->day_use <= cfg->alerts.key_usage)
			continue;
		a = alert_add(s, "key_usage", ac->cfg->name,
			      SCEN_LEVEL_WARNING, ac->day_use,
			      cfg->alerts.key_usage);
		if (ac->set_aside) {
			char t[24];
			scen_iso8601(ac->st.set_aside_until, t);
			snprintf(a->message, sizeof a->message,
				 "account %s is set aside until %s: the "
				 "provider says its daily budget is spent (%ld "
				 "calls today)", ac->cfg->name, t, ac->u.day);
		} else {
			snprintf(a->message, sizeof a->message,
				 "account %s used %.1f%% of its daily limit "
				 "(%ld of %ld calls)", ac->cfg->name,
				 100 * ac->day_use, ac->u.day, ac->cfg->rpd);
		}
	}
	/* every account has a daily limit: together they are the budget */
	if (counted && (size_t)counted == s->nacct &&
	    (double)used / (double)limit > cfg->alerts.key_usage) {
		a = alert_add(s, "key_usage_total", NULL, SCEN_LEVEL_CRITICAL,
			      (double)used / (double)limit,
			      cfg->alerts.key_usage);
		snprintf(a->message, sizeof a->message,
			 "all accounts together used %.1f%% of their daily "
			 "limits (%ld of %ld calls)",
			 100.0 * (double)used / (double)limit, used, limit);
	}

	long answered = w_answered(h);
	double hr = w_hit_rate(h);
	if (answered >= MIN_SAMPLE && hr < cfg->alerts.hit_rate_min) {
		a = alert_add(s, "hit_rate", NULL, SCEN_LEVEL_WARNING, hr,
			      cfg->alerts.hit_rate_min);
		snprintf(a->message, sizeof a->message,
			 "hit rate %.1f%% over the last hour (%ld answers) "
			 "is below %.1f%%", 100 * hr, answered,
			 100 * cfg->alerts.hit_rate_min);
	}

	const struct dist *wt = &h->wait;
	if (wt->n && wt->p95 > cfg->alerts.queue_wait_s) {
		int crit = wt->p50 > cfg->alerts.queue_wait_s;
		a = alert_add(s, "queue_wait", NULL,
			      crit ? SCEN_LEVEL_CRITICAL : SCEN_LEVEL_WARNING,
			      crit ? wt->p50 : wt->p95,
			      cfg->alerts.queue_wait_s);
		snprintf(a->message, sizeof a->message,
			 "queue wait over the last hour: %s %.1f s is above "
			 "%.1f s (%ld jobs; p50 %.1f s, p95 %.1f s)",
			 crit ? "p50" : "p95", crit ? wt->p50 : wt->p95,
			 cfg->alerts.queue_wait_s, wt->n, wt->p50, wt->p95);
	}

	long calls = w_calls(h), failed = w_call_failures(h);
	double er = ratio(failed, calls);
	if (calls >= MIN_SAMPLE && er > cfg->alerts.error_rate) {
		a = alert_add(s, "error_rate", NULL, SCEN_LEVEL_WARNING, er,
			      cfg->alerts.error_rate);
		snprintf(a->message, sizeof a->message,
			 "%.1f%% of provider calls failed over the last hour "
			 "(%ld of %ld) — above %.1f%%", 100 * er, failed,
			 calls, 100 * cfg->alerts.error_rate);
	}
	long unav = w_unavailable(h);
	double ur = ratio(unav, answered + unav);
	if (answered + unav >= MIN_SAMPLE && ur > cfg->alerts.error_rate) {
		a = alert_add(s, "unavailable", NULL, SCEN_LEVEL_CRITICAL, ur,
			      cfg->alerts.error_rate);
		snprintf(a->message, sizeof a->message,
			 "%.1f%% of requests were answered unavailable over "
			 "the last hour (%ld of %ld) — above %.1f%%",
			 100 * ur, unav, answered + unav,
			 100 * cfg->alerts.error_rate);
	}

	if (cfg->alerts.pool_min > 0 && pool_in_fallback(cfg) &&
	    s->pool_available < cfg->alerts.pool_min) {
		a = alert_add(s, "pool", NULL, SCEN_LEVEL_WARNING,
			      (double)s->pool_available,
			      (double)cfg->alerts.pool_min);
		snprintf(a->message, sizeof a->message,
			 "the pool holds %ld unserved scenarios of the "
			 "current templates, fewer than %ld",
			 s->pool_available, cfg->alerts.pool_min);
	}

	if (s->provider_open) {
		a = alert_add(s, "breaker", "*provider", SCEN_LEVEL_CRITICAL,
			      1, 0);
		snprintf(a->message, sizeof a->message,
			 "the provider's circuit breaker is open: no calls "
			 "are made");
	}
	for (size_t i = 0; i < s->nacct; i++) {
		if (!s->acct[i].breaker_open)
			continue;
		a = alert_add(s, "breaker", s->acct[i].cfg->name,
			      SCEN_LEVEL_WARNING, 1, 0);
		snprintf(a->message, sizeof a->message,
			 "the circuit breaker of account %s is open after %ld "
			 "failures", s->acct[i].cfg->name,
			 s->acct[i].st.failures);
	}
}

static void advise(struct stats *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void advise(struct stats *s, const char *fmt, ...)
{
	va_list ap;
	char *p;
	va_start(ap, fmt);
	int n = vasprintf(&p, fmt, ap);
	if (n < 0)
		p = xstrdup(fmt);
	va_end(ap);
	XGROW(s->advice, s->nadvice + 1, s->capadvice);
	s->advice[s->nadvice++] = p;
}

struct miss {
	const char *name;
	long n;
};

static int cmp_miss(const void *a, const void *b)
{
	const struct miss *x = a, *y = b;
	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->name, y->name);
}

static int give_advice(struct stats *s, struct scen_report *r)
{
	const struct scen_config *cfg = s->cfg;
	const struct window *d = &s->w[W_DAY];

	/* hit rate below the band's floor: say where the misses are */
	double hr = w_hit_rate(d);
	if (w_answered(d) >= MIN_SAMPLE && hr < cfg->cache.band_lo) {
		if (scen_report_fresh_by_template(r, d->from, on_fresh, s) < 0)
			return -1;
		size_t n;
		const char **un = prefixed(d, "miss.", &n);
		for (size_t i = 0; i < n; i++)
			*scen_map_put(&s->misses, un[i] + 5,
				      strlen(un[i] + 5) + 1, NULL) +=
				(uint64_t)cnt(d, un[i]);
		free(un);
		struct miss *m = xcalloc(s->misses.len + 1, sizeof *m);
		size_t k = 0;
		for (size_t i = 0; i < s->misses.cap; i++)
			if (s->misses.slots[i].hash)
				m[k++] = (struct miss){
					s->misses.slots[i].key,
					(long)s->misses.slots[i].value};
		qsort(m, k, sizeof *m, cmp_miss);
		struct strbuf top;
		sb_init(&top);
		for (size_t i = 0; i < k && i < 3; i++)
			sb_addf(&top, "%s%s (%ld)", i ? ", " : "", m[i].name,
				m[i].n);
		advise(s, "The hit rate over the last day, %.1f%%, is below "
		       "the band's floor %.1f%%: improve the similarity "
		       "settings (cache.relaxed, factor and position weights) "
		       "or the pool coverage (pool.variants, scen-pool-fill). "
		       "Most misses: %s.", 100 * hr, 100 * cfg->cache.band_lo,
		       k ? top.buf : "none recorded");
		sb_release(&top);
		free(m);
	}

	/* limits hit regularly: hours of the last day with refusals */
	long hours = 0;
	int64_t from = s->now_hour - 23;
	for (size_t i = 0; i < s->nhours; i++)
		if (s->first_hour + (int64_t)i >= from && s->hours[i].limited)
			hours++;
	if (hours >= LIMIT_HOURS_ADVICE) {
		long refused = cnt(d, "call.429");
		long deferred = cnt(d, "fresh.no_budget") +
				cnt(d, "queue.no_budget");
		long rpd = 0, nrpd = 0;
		for (size_t i = 0; i < s->nacct; i++)
			if (s->acct[i].cfg->rpd > 0) {
				rpd += s->acct[i].cfg->rpd;
				nrpd++;
			}
		char more[96] = "";
		if (nrpd) {
			double per = (double)rpd / (double)nrpd;
			long k = (long)ceil((double)(refused + deferred) /
					    per);
			snprintf(more, sizeof more, " (about %ld more at %.0f "
				 "calls a day each)", k > 0 ? k : 1, per);
		}
		advise(s, "API limits were hit in %ld of the last 24 hours: "
		       "%ld calls were refused (429) and %ld requests found "
		       "no account with budget. Add accounts%s.", hours,
		       refused, deferred, more);
	}

	long depth = s->queue.queued + s->queue.running;
	if (depth > QUEUE_DEPTH_ADVICE)
		advise(s, "The queue holds %ld jobs, more than %d: consider a "
		       "paid tier or fewer fresh generations (a larger "
		       "pool, a wider relaxed match).", depth,
		       QUEUE_DEPTH_ADVICE);
	return 0;
}

/* ---- the table ------------------------------------------------------ */

/* A label column, then a column per window, each with a space before it
 * so that even the widest figure stays apart from its neighbour. */
#define LABEL_W 30
#define COL_W 14

static void fmt_pct(char *buf, size_t n, double x)
{
	if (isnan(x))
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.1f%%", 100 * x);
}

static void fmt_s(char *buf, size_t n, double x)
{
	if (isnan(x))
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.2fs", x);
}

static void row_start(struct strbuf *sb, int indent, const char *label)
{
	sb_addf(sb, "%*s%-*.*s", indent, "", LABEL_W - indent,
		LABEL_W - indent - 1, label);
}

static void row_num(struct strbuf *sb, const struct stats *s, int indent,
		    const char *label, long (*fn)(const struct window *))
{
	row_start(sb, indent, label);
	for (int i = 0; i < s->nwin; i++)
		sb_addf(sb, " %*ld", COL_W, fn(&s->w[i]));
	sb_addc(sb, '\n');
}

static void row_cnt(struct strbuf *sb, const struct stats *s, int indent,
		    const char *label, const char *name)
{
	row_start(sb, indent, label);
	for (int i = 0; i < s->nwin; i++)
		sb_addf(sb, " %*ld", COL_W, cnt(&s->w[i], name));
	sb_addc(sb, '\n');
}

static void row_pct(struct strbuf *sb, const struct stats *s, int indent,
		    const char *label, double (*fn)(const struct window *))
{
	char buf[32];
	row_start(sb, indent, label);
	for (int i = 0; i < s->nwin; i++) {
		fmt_pct(buf, sizeof buf, fn(&s->w[i]));
		sb_addf(sb, " %*s", COL_W, buf);
	}
	sb_addc(sb, '\n');
}

static double w_call_error_rate(const struct window *w)
{
	return ratio(w_call_failures(w), w_calls(w));
}

static long w_stored(const struct window *w)
{
	return cnt(w, "stored.fresh") + cnt(w, "stored.pool");
}

static void row_dist(struct strbuf *sb, const struct stats *s,
		     const char *label, int proc, int which)
{
	char buf[32];
	row_start(sb, 2, label);
	for (int i = 0; i < s->nwin; i++) {
		const struct dist *d = proc ? &s->w[i].proc : &s->w[i].wait;
		double x = which == 0 ? d->p50 : which == 1 ? d->p95 : d->max;
		fmt_s(buf, sizeof buf, x);
		sb_addf(sb, " %*s", COL_W, buf);
	}
	sb_addc(sb, '\n');
}

static void section(struct strbuf *sb, const char *title)
{
	sb_addf(sb, "\n%s\n", title);
}

static void table(struct strbuf *sb, const struct stats *s)
{
	const struct scen_config *cfg = s->cfg;
	const struct window *wide = &s->w[s->widest];
	char t[24], buf[64];
	size_t n;
	const char **names;

	scen_iso8601(s->now, t);
	sb_addf(sb, "scen-cache-stats: %s at %s\n", s->dbpath, t);
	if (s->nwin > W_SINCE) {
		scen_iso8601(s->w[W_SINCE].from, t);
		sb_addf(sb, "(since: from %s)\n", t);
	}
	sb_addf(sb, "\n%-*s", LABEL_W, "");
	for (int i = 0; i < s->nwin; i++)
		sb_addf(sb, " %*s", COL_W, win_title[i]);
	sb_addc(sb, '\n');

	section(sb, "Requests");
	row_num(sb, s, 2, "requests", w_requests);
	row_num(sb, s, 2, "answered", w_answered);
	row_num(sb, s, 2, "unavailable", w_unavailable);
	row_num(sb, s, 2, "bad input lines", w_bad_input);
	row_pct(sb, s, 2, "completed (of answerable)", w_completed);
	row_pct(sb, s, 2, "hit rate", w_hit_rate);

	section(sb, "Tiers (share of answered)");
	for (int k = 0; k < SCEN_TIER_COUNT; k++) {
		row_start(sb, 2, scen_tier_name((enum scen_tier)k));
		for (int i = 0; i < s->nwin; i++) {
			long v = w_tier(&s->w[i], (enum scen_tier)k);
			char pct[16];
			fmt_pct(pct, sizeof pct,
				ratio(v, w_answered(&s->w[i])));
			snprintf(buf, sizeof buf, "%ld (%s)", v, pct);
			sb_addf(sb, " %*s", COL_W, buf);
		}
		sb_addc(sb, '\n');
	}
	row_cnt(sb, s, 2, "hits regenerated (variety)", "variety.forced");

	section(sb, "Provider calls");
	row_num(sb, s, 2, "calls", w_calls);
	for (size_t k = 0; k < NOUTCOMES; k++) {
		char name[32];
		snprintf(name, sizeof name, "call.%s", call_outcomes[k]);
		snprintf(buf, sizeof buf, "%s%s", call_outcomes[k],
			 !strcmp(call_outcomes[k], "invalid")
			 ? " output" : "");
		row_cnt(sb, s, 4, buf, name);
	}
	row_pct(sb, s, 2, "error rate", w_call_error_rate);

	section(sb, "Errors by type");
	for (size_t k = 0; k < NREASONS; k++) {
		char name[32];
		snprintf(name, sizeof name, "invalid.%s", invalid_reasons[k]);
		snprintf(buf, sizeof buf, "invalid output: %s",
			 invalid_reasons[k]);
		row_cnt(sb, s, 2, buf, name);
	}
	names = prefixed(wide, "error.", &n);
	for (size_t k = 0; k < n; k++) {
		snprintf(buf, sizeof buf, "bad input: %s", names[k] + 6);
		row_cnt(sb, s, 2, buf, names[k]);
	}
	free(names);
	row_cnt(sb, s, 2, "no budget (request)", "fresh.no_budget");
	row_cnt(sb, s, 2, "no budget (job)", "queue.no_budget");
	row_cnt(sb, s, 2, "deadline passed", "fresh.deadline");
	row_cnt(sb, s, 2, "accounts set aside", "account.set_aside");
	row_cnt(sb, s, 2, "breakers opened", "breaker.open");
	names = prefixed(wide, "miss.", &n);
	for (size_t k = 0; k < n; k++) {
		snprintf(buf, sizeof buf, "unavailable: %.40s", names[k] + 5);
		row_cnt(sb, s, 2, buf, names[k]);
	}
	free(names);

	section(sb, "Queue (jobs; wait and processing of fresh jobs)");
	for (size_t k = 0; k < NQSTATES; k++) {
		char name[32];
		snprintf(name, sizeof name, "queue.%s", queue_states[k]);
		row_cnt(sb, s, 2, queue_states[k], name);
	}
	row_dist(sb, s, "wait p50", 0, 0);
	row_dist(sb, s, "wait p95", 0, 1);
	row_dist(sb, s, "wait max", 0, 2);
	row_dist(sb, s, "processing p50", 1, 0);
	row_dist(sb, s, "processing p95", 1, 1);
	row_dist(sb, s, "processing max", 1, 2);

	section(sb, "Scenarios stored");
	row_cnt(sb, s, 2, "fresh", "stored.fresh");
	row_cnt(sb, s, 2, "pool", "stored.pool");
	row_num(sb, s, 2, "total", w_stored);

	/* now */
	scen_iso8601(s->day_start, t);
	sb_addf(sb, "\nAccounts (now; the quota day began %s)\n", t);
	sb_addf(sb, "  %-12s %10s %10s %12s %6s %4s %-7s %s\n", "account",
		"minute/rpm", "hour/rph", "today/rpd", "use", "429",
		"breaker", "state");
	for (size_t i = 0; i < s->nacct; i++) {
		const struct acct *a = &s->acct[i];
		char m[32], h[32], d[32], use[16], state[64];
		snprintf(m, sizeof m, "%ld/%ld", a->u.minute, a->cfg->rpm);
		snprintf(h, sizeof h, "%ld/%ld", a->u.hour, a->cfg->rph);
		snprintf(d, sizeof d, "%ld/%ld", a->u.day, a->cfg->rpd);
		if (!a->cfg->rpm)
			snprintf(m, sizeof m, "%ld/-", a->u.minute);
		if (!a->cfg->rph)
			snprintf(h, sizeof h, "%ld/-", a->u.hour);
		if (!a->cfg->rpd)
			snprintf(d, sizeof d, "%ld/-", a->u.day);
		fmt_pct(use, sizeof use, a->day_use);
		if (a->set_aside) {
			scen_iso8601(a->st.set_aside_until, t);
			snprintf(state, sizeof state, "set aside until %s", t);
		} else if (a->cooling) {
			scen_iso8601(a->st.cooldown_until, t);
			snprintf(state, sizeof state, "cooling down until %s",
				 t);
		} else {
			snprintf(state, sizeof state, "%s",
				 a->cfg->key ? "ready" : "ready (no key here)");
		}
		sb_addf(sb, "  %-12s %10s %10s %12s %6s %4ld %-7s %s\n",
			a->cfg->name, m, h, d, use, a->u.refused_day,
			a->st.breaker, state);
	}
	sb_addf(sb, "  provider breaker: %s%s\n", s->provider.breaker,
		s->provider_open ? " (no calls are made)" : "");

	long depth = s->queue.queued + s->queue.running;
	sb_addf(sb, "\nQueue (now): %ld jobs (%ld queued, %ld running)",
		depth, s->queue.queued, s->queue.running);
	if (s->queue.oldest_queued > 0) {
		fmt_s(buf, sizeof buf, s->now - s->queue.oldest_queued);
		sb_addf(sb, "; the oldest has waited %s", buf);
	}
	sb_addc(sb, '\n');

	sb_addf(sb, "\nPool (unserved, retired after %g days)\n",
		cfg->pool.max_age_days);
	sb_addf(sb, "  %-30s %9s %9s %10s %10s\n", "experiment/template",
		"available", "retired", "oldest age", "newest age");
	for (size_t i = 0; i < s->npool; i++) {
		const struct pool_tpl *p = &s->pool[i];
		char name[160], old[24] = "-", neww[24] = "-";
		snprintf(name, sizeof name, "%s/%s%s", p->experiment,
			 p->template_name, p->current ? "" : " (old version)");
		if (p->available) {
			snprintf(old, sizeof old, "%.1fh",
				 (s->now - p->oldest) / 3600);
			snprintf(neww, sizeof neww, "%.1fh",
				 (s->now - p->newest) / 3600);
		}
		sb_addf(sb, "  %-30s %9ld %9ld %10s %10s\n", name,
			p->available, p->retired, old, neww);
	}
	sb_addf(sb, "  total available for the current templates: %ld\n",
		s->pool_available);

	sb_addf(sb, "\nStored (all time): %lld scenarios, %lld servings, "
		"%lld template versions\n", (long long)s->totals.scenarios,
		(long long)s->totals.servings,
		(long long)s->totals.templates);

	sb_addf(sb, "\nAlerts:%s\n", s->nalerts ? "" : " none");
	for (size_t i = 0; i < s->nalerts; i++)
		sb_addf(sb, "  %-8s %s: %s\n",
			scen_level_name(s->alerts[i].level),
			s->alerts[i].name, s->alerts[i].message);
	if (s->nadvice) {
		sb_adds(sb, "\nAdvice:\n");
		for (size_t i = 0; i < s->nadvice; i++)
			sb_addf(sb, "  - %s\n", s->advice[i]);
	}
}

/* ---- JSON ----------------------------------------------------------- */

static void jkey(struct strbuf *sb, int *first, const char *k)
{
	if (!*first)
		sb_addc(sb, ',');
	*first = 0;
	sb_add_json_str(sb, k, strlen(k));
	sb_addc(sb, ':');
}

static void jnum(struct strbuf *sb, double x)
{
	if (isnan(x) || isinf(x))
		sb_adds(sb, "null");
	else
		sb_addf(sb, "%.6g", x);
}

static void jsec(struct strbuf *sb, double x)
{
	if (isnan(x) || isinf(x))
		sb_adds(sb, "null");
	else
		sb_addf(sb, "%.3f", x);
}

static void jtime(struct strbuf *sb, double t)
{
	char buf[24];
	if (t <= 0) {
		sb_adds(sb, "null");
		return;
	}
	scen_iso8601(t, buf);
	sb_add_json_str(sb, buf, strlen(buf));
}

static void jstr(struct strbuf *sb, const char *s)
{
	sb_add_json_str(sb, s, strlen(s));
}

static void jdist(struct strbuf *sb, const struct dist *d)
{
	sb_addf(sb, "{\"n\":%ld,\"p50\":", d->n);
	jsec(sb, d->p50);
	sb_adds(sb, ",\"p95\":");
	jsec(sb, d->p95);
	sb_adds(sb, ",\"max\":");
	jsec(sb, d->max);
	sb_addc(sb, '}');
}

/* {"<suffix>": n, ...} of the counters named prefix + each of keys (all
 * keys), or of every counter with the prefix (keys NULL). */
static void jcounts(struct strbuf *sb, const struct window *w,
		    const char *prefix, const char *const *keys, size_t nk)
{
	int first = 1;
	char name[256];
	sb_addc(sb, '{');
	if (keys) {
		for (size_t i = 0; i < nk; i++) {
			snprintf(name, sizeof name, "%s%s", prefix, keys[i]);
			jkey(sb, &first, keys[i]);
			sb_addf(sb, "%ld", cnt(w, name));
		}
	} else {
		size_t n;
		const char **v = prefixed(w, prefix, &n);
		for (size_t i = 0; i < n; i++) {
			jkey(sb, &first, v[i] + strlen(prefix));
			sb_addf(sb, "%ld", cnt(w, v[i]));
		}
		free(v);
	}
	sb_addc(sb, '}');
}

static void json_window(struct strbuf *sb, const struct stats *s,
			const struct window *w)
{
	int first = 1;
	long answered = w_answered(w);
	sb_addc(sb, '{');
	jkey(sb, &first, "from");
	jtime(sb, w->from);
	jkey(sb, &first, "to");
	jtime(sb, w->to);
	jkey(sb, &first, "requests");
	sb_addf(sb, "%ld", w_requests(w));
	jkey(sb, &first, "answered");
	sb_addf(sb, "%ld", answered);
	jkey(sb, &first, "unavailable");
	sb_addf(sb, "%ld", w_unavailable(w));
	jkey(sb, &first, "bad_input");
	sb_addf(sb, "%ld", w_bad_input(w));
	jkey(sb, &first, "completed_rate");
	jnum(sb, w_completed(w));
	jkey(sb, &first, "hit_rate");
	jnum(sb, w_hit_rate(w));
	jkey(sb, &first, "tiers");
	sb_addc(sb, '{');
	int f2 = 1;
	for (int t = 0; t < SCEN_TIER_COUNT; t++) {
		jkey(sb, &f2, scen_tier_name((enum scen_tier)t));
		sb_addf(sb, "%ld", w_tier(w, (enum scen_tier)t));
	}
	sb_addc(sb, '}');
	jkey(sb, &first, "tier_shares");
	sb_addc(sb, '{');
	f2 = 1;
	for (int t = 0; t < SCEN_TIER_COUNT; t++) {
		jkey(sb, &f2, scen_tier_name((enum scen_tier)t));
		jnum(sb, ratio(w_tier(w, (enum scen_tier)t), answered));
	}
	sb_addc(sb, '}');
	jkey(sb, &first, "variety_forced");
	sb_addf(sb, "%ld", cnt(w, "variety.forced"));
	jkey(sb, &first, "calls_total");
	sb_addf(sb, "%ld", w_calls(w));
	jkey(sb, &first, "calls");
	jcounts(sb, w, "call.", call_outcomes, NOUTCOMES);
	jkey(sb, &first, "call_error_rate");
	jnum(sb, w_call_error_rate(w));
	jkey(sb, &first, "invalid_output");
	jcounts(sb, w, "invalid.", invalid_reasons, NREASONS);
	jkey(sb, &first, "bad_input_by_code");
	jcounts(sb, w, "error.", NULL, 0);
	jkey(sb, &first, "unavailable_by_template");
	jcounts(sb, w, "miss.", NULL, 0);
	jkey(sb, &first, "budget");
	sb_addf(sb, "{\"fresh_no_budget\":%ld,\"queue_no_budget\":%ld,"
		"\"fresh_deadline\":%ld,\"accounts_set_aside\":%ld,"
		"\"breakers_opened\":%ld}", cnt(w, "fresh.no_budget"),
		cnt(w, "queue.no_budget"), cnt(w, "fresh.deadline"),
		cnt(w, "account.set_aside"), cnt(w, "breaker.open"));
	jkey(sb, &first, "queue");
	sb_addc(sb, '{');
	f2 = 1;
	for (size_t k = 0; k < NQSTATES; k++) {
		jkey(sb, &f2, queue_states[k]);
		sb_addf(sb, "%ld", cntf(w, "queue.%s%s", queue_states[k], ""));
	}
	jkey(sb, &f2, "wait_s");
	jdist(sb, &w->wait);
	jkey(sb, &f2, "processing_s");
	jdist(sb, &w->proc);
	sb_addc(sb, '}');
	jkey(sb, &first, "stored");
	sb_addf(sb, "{\"fresh\":%ld,\"pool\":%ld}", cnt(w, "stored.fresh"),
		cnt(w, "stored.pool"));
	jkey(sb, &first, "accounts");
	sb_addc(sb, '{');
	f2 = 1;
	for (size_t i = 0; i < s->nacct; i++) {
		char prefix[128];
		snprintf(prefix, sizeof prefix, "account.%s.",
			 s->acct[i].cfg->name);
		jkey(sb, &f2, s->acct[i].cfg->name);
		jcounts(sb, w, prefix, call_outcomes, NOUTCOMES);
	}
	sb_addc(sb, '}');
	sb_addc(sb, '}');
}

static void json(struct strbuf *sb, const struct stats *s)
{
	const struct scen_config *cfg = s->cfg;
	int first = 1, f2;
	sb_addc(sb, '{');
	jkey(sb, &first, "generated_at");
	jtime(sb, s->now);
	jkey(sb, &first, "database");
	jstr(sb, s->dbpath);
	jkey(sb, &first, "status");
	jstr(sb, scen_level_name(s->level));
	jkey(sb, &first, "windows");
	sb_addc(sb, '{');
	f2 = 1;
	for (int i = 0; i < s->nwin; i++) {
		jkey(sb, &f2, win_key[i]);
		json_window(sb, s, &s->w[i]);
	}
	sb_addc(sb, '}');

	jkey(sb, &first, "quota_day_start");
	jtime(sb, s->day_start);
	jkey(sb, &first, "accounts");
	sb_addc(sb, '[');
	for (size_t i = 0; i < s->nacct; i++) {
		const struct acct *a = &s->acct[i];
		int f = 1;
		sb_adds(sb, i ? ",{" : "{");
		jkey(sb, &f, "name");
		jstr(sb, a->cfg->name);
		jkey(sb, &f, "limits");
		sb_addf(sb, "{\"rpm\":%ld,\"rph\":%ld,\"rpd\":%ld,\"tpm\":%ld}",
			a->cfg->rpm, a->cfg->rph, a->cfg->rpd, a->cfg->tpm);
		jkey(sb, &f, "calls");
		sb_addf(sb, "{\"minute\":%ld,\"hour\":%ld,\"day\":%ld}",
			a->u.minute, a->u.hour, a->u.day);
		jkey(sb, &f, "tokens_minute");
		sb_addf(sb, "%ld", a->u.tokens_minute);
		jkey(sb, &f, "refused_429_today");
		sb_addf(sb, "%ld", a->u.refused_day);
		jkey(sb, &f, "day_usage");
		jnum(sb, a->day_use);
		jkey(sb, &f, "breaker");
		jstr(sb, a->st.breaker);
		jkey(sb, &f, "breaker_failures");
		sb_addf(sb, "%ld", a->st.failures);
		jkey(sb, &f, "cooldown_until");
		jtime(sb, a->cooling ? a->st.cooldown_until : 0);
		jkey(sb, &f, "set_aside_until");
		jtime(sb, a->set_aside ? a->st.set_aside_until : 0);
		jkey(sb, &f, "provider_day_remaining");
		if (a->st.has_day)
			sb_addf(sb, "%ld", a->st.day_remaining);
		else
			sb_adds(sb, "null");
		jkey(sb, &f, "has_key");
		sb_adds(sb, a->cfg->key ? "true" : "false");
		sb_addc(sb, '}');
	}
	sb_addc(sb, ']');
	jkey(sb, &first, "provider");
	sb_adds(sb, "{\"breaker\":");
	jstr(sb, s->provider.breaker);
	sb_adds(sb, ",\"open\":");
	sb_adds(sb, s->provider_open ? "true" : "false");
	sb_addc(sb, '}');

	jkey(sb, &first, "queue");
	sb_addf(sb, "{\"depth\":%ld,\"queued\":%ld,\"running\":%ld,"
		"\"oldest_queued_s\":", s->queue.queued + s->queue.running,
		s->queue.queued, s->queue.running);
	jsec(sb, s->queue.oldest_queued > 0
		 ? s->now - s->queue.oldest_queued : NAN);
	sb_addc(sb, '}');

	jkey(sb, &first, "pool");
	sb_addf(sb, "{\"available\":%ld,\"retired\":%ld,"
		"\"old_versions\":%ld,\"min\":%ld,\"max_age_days\":",
		s->pool_available, s->pool_retired, s->pool_stale,
		cfg->alerts.pool_min);
	jnum(sb, cfg->pool.max_age_days);
	sb_adds(sb, ",\"templates\":[");
	for (size_t i = 0; i < s->npool; i++) {
		const struct pool_tpl *p = &s->pool[i];
		int f = 1;
		sb_adds(sb, i ? ",{" : "{");
		jkey(sb, &f, "experiment");
		jstr(sb, p->experiment);
		jkey(sb, &f, "template");
		jstr(sb, p->template_name);
		jkey(sb, &f, "current");
		sb_adds(sb, p->current ? "true" : "false");
		jkey(sb, &f, "available");
		sb_addf(sb, "%ld", p->available);
		jkey(sb, &f, "retired");
		sb_addf(sb, "%ld", p->retired);
		jkey(sb, &f, "oldest_age_s");
		jsec(sb, p->available ? s->now - p->oldest : NAN);
		jkey(sb, &f, "newest_age_s");
		jsec(sb, p->available ? s->now - p->newest : NAN);
		sb_addc(sb, '}');
	}
	sb_adds(sb, "]}");

	jkey(sb, &first, "totals");
	sb_addf(sb, "{\"scenarios\":%lld,\"servings\":%lld,"
		"\"template_versions\":%lld}",
		(long long)s->totals.scenarios, (long long)s->totals.servings,
		(long long)s->totals.templates);

	jkey(sb, &first, "alerts");
	sb_addc(sb, '[');
	for (size_t i = 0; i < s->nalerts; i++) {
		const struct alert *a = &s->alerts[i];
		int f = 1;
		sb_adds(sb, i ? ",{" : "{");
		jkey(sb, &f, "name");
		jstr(sb, a->name);
		jkey(sb, &f, "level");
		jstr(sb, scen_level_name(a->level));
		jkey(sb, &f, "subject");
		if (a->subject[0])
			jstr(sb, a->subject);
		else
			sb_adds(sb, "null");
		jkey(sb, &f, "figure");
		jnum(sb, a->figure);
		jkey(sb, &f, "threshold");
		jnum(sb, a->threshold);
		jkey(sb, &f, "message");
		jstr(sb, a->message);
		sb_addc(sb, '}');
	}
	sb_addc(sb, ']');
	jkey(sb, &first, "advice");
	sb_addc(sb, '[');
	for (size_t i = 0; i < s->nadvice; i++) {
		if (i)
			sb_addc(sb, ',');
		jstr(sb, s->advice[i]);
	}
	sb_adds(sb, "]}\n");
}

/* ---- Prometheus ----------------------------------------------------- */

static void prom_head(struct strbuf *sb, const char *name, const char *type,
		      const char *help)
{
	sb_addf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{k1="v1",k2="v2"} value; k2 may be NULL. NaN values are left out. */
static void prom(struct strbuf *sb, const char *name, const char *k1,
		 const char *v1, const char *k2, const char *v2, double x)
{
	if (isnan(x))
		return;
	sb_adds(sb, name);
	if (k1) {
		sb_addf(sb, "{%s=\"", k1);
		scen_prom_label(sb, v1);
		if (k2) {
			sb_addf(sb, "\",%s=\"", k2);
			scen_prom_label(sb, v2);
		}
		sb_adds(sb, "\"}");
	}
	if (x == floor(x) && fabs(x) < 1e15)
		sb_addf(sb, " %.0f\n", x);
	else
		sb_addf(sb, " %.6g\n", x);
}

static void prom_windows(struct strbuf *sb, const struct stats *s,
			 const char *name, const char *type, const char *help,
			 const char *k2, const char *const *v2, size_t n2,
			 double (*fn)(const struct window *, const char *))
{
	prom_head(sb, name, type, help);
	for (int i = 0; i < s->nwin; i++)
		for (size_t k = 0; k < (n2 ? n2 : 1); k++) {
			const char *v = n2 ? v2[k] : NULL;
			prom(sb, name, "window", win_key[i], k2, v,
			     fn(&s->w[i], v));
		}
}

static double pw_requests(const struct window *w, const char *k)
{
	if (!strcmp(k, "answered"))
		return (double)w_answered(w);
	if (!strcmp(k, "unavailable"))
		return (double)w_unavailable(w);
	return (double)w_bad_input(w);
}

static double pw_tier(const struct window *w, const char *k)
{
	return (double)w_tier(w, (enum scen_tier)scen_tier_from_name(k));
}

static double pw_hit(const struct window *w, const char *k)
{
	return w_hit_rate(w);
}

static double pw_completed(const struct window *w, const char *k)
{
	return w_completed(w);
}

static double pw_call(const struct window *w, const char *k)
{
	return (double)cntf(w, "call.%s%s", k, "");
}

static double pw_invalid(const struct window *w, const char *k)
{
	return (double)cntf(w, "invalid.%s%s", k, "");
}

static double pw_queue(const struct window *w, const char *k)
{
	return (double)cntf(w, "queue.%s%s", k, "");
}

static double pw_wait(const struct window *w, const char *k)
{
	return !strcmp(k, "p50") ? w->wait.p50
	     : !strcmp(k, "p95") ? w->wait.p95 : w->wait.max;
}

static double pw_proc(const struct window *w, const char *k)
{
	return !strcmp(k, "p50") ? w->proc.p50
	     : !strcmp(k, "p95") ? w->proc.p95 : w->proc.max;
}

static double pw_budget(const struct window *w, const char *k)
{
	return (double)cnt(w, k);
}

static void prometheus(struct strbuf *sb, const struct stats *s)
{
	static const char *const req_outcomes[] = {
		"answered", "unavailable", "bad_input"
	};
	static const char *const tiers[] = {
		"cache", "fresh", "pool", "relaxed"
	};
	static const char *const stats3[] = {"p50", "p95", "max"};
	static const char *const budget[] = {
		"fresh.no_budget", "queue.no_budget", "fresh.deadline",
		"account.set_aside", "breaker.open"
	};
	const struct window *wide = &s->w[s->widest];

	prom_windows(sb, s, "scen_requests", "gauge",
		     "Requests in the window, by outcome.", "outcome",
		     req_outcomes, 3, pw_requests);
	prom_windows(sb, s, "scen_answers", "gauge",
		     "Answered requests in the window, by tier.", "tier",
		     tiers, 4, pw_tier);
	prom_windows(sb, s, "scen_hit_rate", "gauge",
		     "Share of answers not freshly generated (cache, pool, "
		     "relaxed).", NULL, NULL, 0, pw_hit);
	prom_windows(sb, s, "scen_completed_ratio", "gauge",
		     "Share of answerable requests answered ok (not "
		     "unavailable).", NULL, NULL, 0, pw_completed);
	prom_windows(sb, s, "scen_calls", "gauge",
		     "Provider calls in the window, by outcome.", "outcome",
		     call_outcomes, NOUTCOMES, pw_call);
	prom_windows(sb, s, "scen_invalid_outputs", "gauge",
		     "Provider answers not fit to serve, by reason.",
		     "reason", invalid_reasons, NREASONS, pw_invalid);
	prom_head(sb, "scen_bad_input", "gauge",
		  "Request lines answered with an error, by code.");
	size_t n;
	const char **codes = prefixed(wide, "error.", &n);
	for (int i = 0; i < s->nwin; i++)
		for (size_t k = 0; k < n; k++)
			prom(sb, "scen_bad_input", "window", win_key[i], "code",
			     codes[k] + 6, (double)cnt(&s->w[i], codes[k]));
	free(codes);
	prom_windows(sb, s, "scen_budget_events", "gauge",
		     "Requests without budget, deadlines passed, accounts "
		     "set aside and breakers opened.", "event", budget, 5,
		     pw_budget);
	prom_windows(sb, s, "scen_queue_jobs", "gauge",
		     "Fresh generation jobs in the window, by what befell "
		     "them.", "state", queue_states, NQSTATES, pw_queue);
	prom_windows(sb, s, "scen_queue_wait_seconds", "gauge",
		     "Queue wait of fresh jobs (nearest-rank quantiles).",
		     "stat", stats3, 3, pw_wait);
	prom_windows(sb, s, "scen_queue_processing_seconds", "gauge",
		     "Processing time of fresh jobs (nearest-rank "
		     "quantiles).", "stat", stats3, 3, pw_proc);

	prom_head(sb, "scen_queue_depth", "gauge", "Open jobs now, by state.");
	prom(sb, "scen_queue_depth", "state", "queued", NULL, NULL,
	     (double)s->queue.queued);
	prom(sb, "scen_queue_depth", "state", "running", NULL, NULL,
	     (double)s->queue.running);

	static const char *const periods[] = {"minute", "hour", "day"};
	prom_head(sb, "scen_account_calls", "gauge",
		  "Calls in the usage ledger (429s excluded): last minute, "
		  "last hour, this quota day.");
	for (size_t i = 0; i < s->nacct; i++) {
		const struct acct *a = &s->acct[i];
		long v[3] = {a->u.minute, a->u.hour, a->u.day};
		for (int k = 0; k < 3; k++)
			prom(sb, "scen_account_calls", "account", a->cfg->name,
			     "period", periods[k], (double)v[k]);
	}
	prom_head(sb, "scen_account_limit", "gauge",
		  "Configured request limits (rpm, rph, rpd); absent when "
		  "unlimited.");
	for (size_t i = 0; i < s->nacct; i++) {
		const struct acct *a = &s->acct[i];
		long v[3] = {a->cfg->rpm, a->cfg->rph, a->cfg->rpd};
		for (int k = 0; k < 3; k++)
			if (v[k] > 0)
				prom(sb, "scen_account_limit", "account",
				     a->cfg->name, "period", periods[k],
				     (double)v[k]);
	}
	prom_head(sb, "scen_account_day_usage_ratio", "gauge",
		  "Share of the daily request limit used (1 when set aside).");
	for (size_t i = 0; i < s->nacct; i++)
		prom(sb, "scen_account_day_usage_ratio", "account",
		     s->acct[i].cfg->name, NULL, NULL, s->acct[i].day_use);
	prom_head(sb, "scen_account_rate_limited_today", "gauge",
		  "Calls answered 429 this quota day.");
	for (size_t i = 0; i < s->nacct; i++)
		prom(sb, "scen_account_rate_limited_today", "account",
		     s->acct[i].cfg->name, NULL, NULL,
		     (double)s->acct[i].u.refused_day);
	prom_head(sb, "scen_account_breaker_open", "gauge",
		  "1 when the account's circuit breaker is open.");
	for (size_t i = 0; i < s->nacct; i++)
		prom(sb, "scen_account_breaker_open", "account",
		     s->acct[i].cfg->name, NULL, NULL,
		     s->acct[i].breaker_open);
	prom_head(sb, "scen_account_set_aside", "gauge",
		  "1 while the account is set aside until its day resets.");
	for (size_t i = 0; i < s->nacct; i++)
		prom(sb, "scen_account_set_aside", "account",
		     s->acct[i].cfg->name, NULL, NULL, s->acct[i].set_aside);
	prom_head(sb, "scen_provider_breaker_open", "gauge",
		  "1 when the provider-wide circuit breaker is open.");
	prom(sb, "scen_provider_breaker_open", NULL, NULL, NULL, NULL,
	     s->provider_open);

	prom_head(sb, "scen_pool_available", "gauge",
		  "Unserved pool scenarios younger than pool.max_age_days, "
		  "current template versions.");
	for (size_t i = 0; i < s->npool; i++)
		if (s->pool[i].current)
			prom(sb, "scen_pool_available", "experiment",
			     s->pool[i].experiment, "template",
			     s->pool[i].template_name,
			     (double)s->pool[i].available);
	prom_head(sb, "scen_pool_retired", "gauge",
		  "Unserved pool scenarios older than pool.max_age_days.");
	for (size_t i = 0; i < s->npool; i++)
		if (s->pool[i].current)
			prom(sb, "scen_pool_retired", "experiment",
			     s->pool[i].experiment, "template",
			     s->pool[i].template_name,
			     (double)s->pool[i].retired);
	prom_head(sb, "scen_pool_oldest_age_seconds", "gauge",
		  "Age of the oldest available pool scenario.");
	for (size_t i = 0; i < s->npool; i++)
		if (s->pool[i].current && s->pool[i].available)
			prom(sb, "scen_pool_oldest_age_seconds", "experiment",
			     s->pool[i].experiment, "template",
			     s->pool[i].template_name,
			     s->now - s->pool[i].oldest);

	prom_head(sb, "scen_scenarios_stored_total", "counter",
		  "Scenarios stored, all time.");
	prom(sb, "scen_scenarios_stored_total", NULL, NULL, NULL, NULL,
	     (double)s->totals.scenarios);
	prom_head(sb, "scen_servings_total", "counter",
		  "Servings recorded, all time.");
	prom(sb, "scen_servings_total", NULL, NULL, NULL, NULL,
	     (double)s->totals.servings);

	prom_head(sb, "scen_alert", "gauge",
		  "1 for each alert that holds (level 1 warning, 2 "
		  "critical).");
	for (size_t i = 0; i < s->nalerts; i++)
		prom(sb, "scen_alert", "name", s->alerts[i].name, "subject",
		     s->alerts[i].subject, (double)s->alerts[i].level);
	prom_head(sb, "scen_status", "gauge",
		  "Overall level: 0 OK, 1 WARNING, 2 CRITICAL.");
	prom(sb, "scen_status", NULL, NULL, NULL, NULL, (double)s->level);
	prom_head(sb, "scen_stats_timestamp_seconds", "gauge",
		  "When these figures were taken.");
	sb_addf(sb, "scen_stats_timestamp_seconds %.3f\n", s->now);
}

/* ---- --check -------------------------------------------------------- */

static void check(struct strbuf *sb, const struct stats *s)
{
	const struct window *h = &s->w[W_HOUR];
	sb_addf(sb, "SCEN %s - ", scen_level_name(s->level));
	if (!s->nalerts) {
		sb_adds(sb, "no alerts");
	} else {
		sb_addf(sb, "%zu alert%s:", s->nalerts,
			s->nalerts == 1 ? "" : "s");
		for (size_t i = 0; i < s->nalerts; i++)
			sb_addf(sb, " %s%s%s", s->alerts[i].name,
				s->alerts[i].subject[0] ? "/" : "",
				s->alerts[i].subject);
	}
	/* performance data, as monitoring plugins give it */
	double hr = w_hit_rate(h), er = w_call_error_rate(h);
	sb_adds(sb, " |");
	if (!isnan(hr))
		sb_addf(sb, " hit_rate=%.4f;%g;;0;1", hr,
			s->cfg->alerts.hit_rate_min);
	if (!isnan(er))
		sb_addf(sb, " call_error_rate=%.4f;%g;;0;1", er,
			s->cfg->alerts.error_rate);
	if (h->wait.n)
		sb_addf(sb, " queue_wait_p95=%.3fs;%g", h->wait.p95,
			s->cfg->alerts.queue_wait_s);
	sb_addf(sb, " queue_depth=%ld pool=%ld;%ld;;0", s->queue.queued +
		s->queue.running, s->pool_available, s->cfg->alerts.pool_min);
	sb_addc(sb, '\n');
	for (size_t i = 0; i < s->nalerts; i++)
		sb_addf(sb, "%s %s: %s\n", scen_level_name(s->alerts[i].level),
			s->alerts[i].name, s->alerts[i].message);
}

/* ---- HTML ----------------------------------------------------------- */

static const char *const tier_color[SCEN_TIER_COUNT] = {
	"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1"
};
#define UNAVAIL_COLOR "#e15759"

/* Plot geometry of every chart: W x H, with margins for the axes. */
#define CW 860
#define CH 240
#define ML 56
#define MR 16
#define MT 14
#define MB 34

static double px(size_t i, size_t n)
{
	return ML + (CW - ML - MR) * ((double)i + 0.5) / (double)(n ? n : 1);
}

static double py(double v, double max)
{
	return MT + (CH - MT - MB) * (1 - (max > 0 ? v / max : 0));
}

static void svg_open(struct strbuf *sb, const char *label)
{
	sb_addf(sb, "<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
		"role=\"img\" aria-label=\"", CW, CH, CW, CH);
	scen_html_escape(sb, label);
	sb_adds(sb, "\">\n");
}

/* Axes, horizontal grid lines at 0, max/2 and max labelled by fmt, and a
 * label at each day's start. */
static void svg_axes(struct strbuf *sb, const struct stats *s, double max,
		     int pct, const char *unit)
{
	for (int k = 0; k <= 2; k++) {
		double v = max * k / 2;
		double y = py(v, max);
		sb_addf(sb, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
			"class=\"grid\"/>", ML, y, CW - MR, y);
		if (pct)
			sb_addf(sb, "<text x=\"%d\" y=\"%.1f\" class=\"yl\">"
				"%.0f%%</text>\n", ML - 6, y + 4, v * 100);
		else if (v >= 100)
			sb_addf(sb, "<text x=\"%d\" y=\"%.1f\" class=\"yl\">"
				"%.0f%s</text>\n", ML - 6, y + 4, v, unit);
		else
			sb_addf(sb, "<text x=\"%d\" y=\"%.1f\" class=\"yl\">"
				"%.3g%s</text>\n", ML - 6, y + 4, v, unit);
	}
	for (size_t i = 0; i < s->nhours; i++) {
		int64_t hour = s->first_hour + (int64_t)i;
		if (hour % 24)
			continue;
		char t[24];
		scen_iso8601((double)hour * 3600, t);
		double x = px(i, s->nhours) - (CW - ML - MR) / 2.0 /
			   (double)s->nhours;
		sb_addf(sb, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
			"y2=\"%d\" class=\"day\"/><text x=\"%.1f\" y=\"%d\" "
			"class=\"xl\">%.5s</text>\n", x, MT, x, CH - MB, x,
			CH - MB + 16, t + 5);
	}
	sb_addf(sb, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
		"class=\"axis\"/>\n", ML, CH - MB, CW - MR, CH - MB);
}

static void legend(struct strbuf *sb, const char *const *names,
		   const char *const *colors, size_t n)
{
	sb_adds(sb, "<p class=\"legend\">");
	for (size_t i = 0; i < n; i++) {
		sb_addf(sb, "<span><i style=\"background:%s\"></i>", colors[i]);
		scen_html_escape(sb, names[i]);
		sb_adds(sb, "</span> ");
	}
	sb_adds(sb, "</p>\n");
}

static void chart_tiers(struct strbuf *sb, const struct stats *s)
{
	double max = 1;
	for (size_t i = 0; i < s->nhours; i++) {
		long t = s->hours[i].unavailable;
		for (int k = 0; k < SCEN_TIER_COUNT; k++)
			t += s->hours[i].tiers[k];
		if (t > max)
			max = (double)t;
	}
	svg_open(sb, "answers per hour over the last week, stacked by tier");
	svg_axes(sb, s, max, 0, "");
	double bw = (CW - ML - MR) / (double)s->nhours * 0.8;
	for (size_t i = 0; i < s->nhours; i++) {
		const struct hour_row *h = &s->hours[i];
		double base = 0;
		char t[24];
		scen_iso8601((double)(s->first_hour + (int64_t)i) * 3600, t);
		for (int k = 0; k <= SCEN_TIER_COUNT; k++) {
			long v = k < SCEN_TIER_COUNT ? h->tiers[k]
						     : h->unavailable;
			if (!v)
				continue;
			double y0 = py(base, max), y1 = py(base + (double)v,
							   max);
			sb_addf(sb, "<rect x=\"%.1f\" y=\"%.1f\" "
				"width=\"%.2f\" height=\"%.1f\" fill=\"%s\">"
				"<title>%.13s:00Z %s %ld</title></rect>",
				px(i, s->nhours) - bw / 2, y1, bw, y0 - y1,
				k < SCEN_TIER_COUNT ? tier_color[k]
						    : UNAVAIL_COLOR, t,
				k < SCEN_TIER_COUNT
				? scen_tier_name((enum scen_tier)k)
				: "unavailable", v);
			base += (double)v;
		}
	}
	sb_adds(sb, "\n</svg>\n");
	static const char *const names[] = {
		"cache", "fresh", "pool", "relaxed", "unavailable"
	};
	static const char *const colors[] = {
		"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", UNAVAIL_COLOR
	};
	legend(sb, names, colors, 5);
}

static void chart_hit_rate(struct strbuf *sb, const struct stats *s)
{
	const struct scen_config *cfg = s->cfg;
	svg_open(sb, "hit rate per hour against the band");
	double y_hi = py(cfg->cache.band_hi, 1), y_lo = py(cfg->cache.band_lo,
							     1);
	sb_addf(sb, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" "
		"class=\"band\"><title>band %.0f%% to %.0f%%</title></rect>\n",
		ML, y_hi, CW - ML - MR, y_lo - y_hi, 100 * cfg->cache.band_lo,
		100 * cfg->cache.band_hi);
	svg_axes(sb, s, 1, 1, "");
	double ym = py(cfg->alerts.hit_rate_min, 1);
	sb_addf(sb, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
		"class=\"limit\"><title>alert below %.0f%%</title></line>\n",
		ML, ym, CW - MR, ym, 100 * cfg->alerts.hit_rate_min);
	sb_adds(sb, "<polyline class=\"line\" points=\"");
	size_t pts = 0;
	for (size_t i = 0; i < s->nhours; i++) {
		long ans = 0;
		for (int k = 0; k < SCEN_TIER_COUNT; k++)
			ans += s->hours[i].tiers[k];
		if (!ans)
			continue;
		double hr = (double)(ans - s->hours[i].tiers[SCEN_TIER_FRESH]) /
			    (double)ans;
		sb_addf(sb, "%.1f,%.1f ", px(i, s->nhours), py(hr, 1));
		pts++;
	}
	sb_adds(sb, "\"/>\n");
	for (size_t i = 0; i < s->nhours; i++) {
		long ans = 0;
		for (int k = 0; k < SCEN_TIER_COUNT; k++)
			ans += s->hours[i].tiers[k];
		if (!ans)
			continue;
		double hr = (double)(ans - s->hours[i].tiers[SCEN_TIER_FRESH]) /
			    (double)ans;
		char t[24];
		scen_iso8601((double)(s->first_hour + (int64_t)i) * 3600, t);
		sb_addf(sb, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" "
			"class=\"dot\"><title>%.13s:00Z %.1f%% of %ld"
			"</title></circle>", px(i, s->nhours), py(hr, 1), t,
			100 * hr, ans);
	}
	if (!pts)
		sb_addf(sb, "<text x=\"%d\" y=\"%d\" class=\"none\">no answers "
			"in the last week</text>", CW / 2, CH / 2);
	sb_adds(sb, "\n</svg>\n");
	static const char *const names[] = {
		"hit rate per hour", "band (hit_rate_band)",
		"alert (hit_rate_min)"
	};
	static const char *const colors[] = {"#4e79a7", "#d4ecd4", "#e15759"};
	legend(sb, names, colors, 3);
}

static void chart_accounts(struct strbuf *sb, const struct stats *s)
{
	static const char *const periods[] = {
		"this minute / rpm", "last hour / rph", "today / rpd"
	};
	size_t rows = s->nacct * 3;
	int rh = 22, top = 10, lw = 250;
	int height = top + (int)rows * rh + 30;
	int width = CW, bar = width - lw - 90;
	sb_addf(sb, "<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
		"role=\"img\" aria-label=\"per-account usage against limits"
		"\">\n", width, height, width, height);
	/* 100 % and the alert share */
	double x100 = lw + bar / 1.2, xa = lw + bar / 1.2 *
					  s->cfg->alerts.key_usage;
	for (size_t i = 0; i < s->nacct; i++) {
		const struct acct *a = &s->acct[i];
		long used[3] = {a->u.minute, a->u.hour, a->u.day};
		long lim[3] = {a->cfg->rpm, a->cfg->rph, a->cfg->rpd};
		for (int k = 0; k < 3; k++) {
			int y = top + (int)(i * 3 + (size_t)k) * rh;
			sb_addf(sb, "<text x=\"%d\" y=\"%d\" class=\"al\">",
				lw - 8, y + 15);
			scen_html_escape(sb, a->cfg->name);
			sb_addf(sb, " %s</text>", periods[k]);
			double share = lim[k] > 0
				? (double)used[k] / (double)lim[k] : NAN;
			if (k == 2 && a->set_aside)
				share = 1;
			double w = isnan(share) ? 0 : fmin(share, 1.2) / 1.2 *
							bar;
			const char *color = isnan(share) ? "#bbb"
				: share >= 1 ? UNAVAIL_COLOR
				: share > s->cfg->alerts.key_usage ? "#f28e2b"
				: "#4e79a7";
			sb_addf(sb, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" "
				"height=\"%d\" fill=\"%s\"/>", lw, y + 3,
				w > 0 ? w : 1, rh - 6, color);
			if (lim[k] > 0)
				sb_addf(sb, "<text x=\"%.1f\" y=\"%d\" "
					"class=\"v\">%ld of %ld (%.1f%%)"
					"</text>\n", lw + w + 6, y + 15,
					used[k], lim[k], 100 * share);
			else
				sb_addf(sb, "<text x=\"%.1f\" y=\"%d\" "
					"class=\"v\">%ld (no limit)</text>\n",
					lw + w + 6, y + 15, used[k]);
		}
	}
	int bottom = top + (int)rows * rh;
	sb_addf(sb, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		"class=\"limit\"/><text x=\"%.1f\" y=\"%d\" class=\"xl\">"
		"limit</text>", x100, top, x100, bottom, x100, bottom + 16);
	sb_addf(sb, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		"class=\"warn\"/><text x=\"%.1f\" y=\"%d\" class=\"xl\">"
		"%.0f%%</text>\n", xa, top, xa, bottom, xa, bottom + 16,
		100 * s->cfg->alerts.key_usage);
	if (!s->nacct)
		sb_addf(sb, "<text x=\"%d\" y=\"20\" class=\"none\">no "
			"accounts</text>", width / 2);
	sb_adds(sb, "</svg>\n");
}

static void chart_wait(struct strbuf *sb, const struct stats *s)
{
	double max = s->cfg->alerts.queue_wait_s * 1.25;
	for (size_t i = 0; i < s->nhours; i++)
		if (s->hours[i].wait.n && s->hours[i].wait.p95 > max)
			max = s->hours[i].wait.p95;
	svg_open(sb, "queue wait per hour, p50 and p95");
	svg_axes(sb, s, max, 0, "s");
	double yl = py(s->cfg->alerts.queue_wait_s, max);
	sb_addf(sb, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
		"class=\"limit\"><title>alert above %.1f s</title></line>\n",
		ML, yl, CW - MR, yl, s->cfg->alerts.queue_wait_s);
	size_t pts = 0;
	for (int q = 0; q < 2; q++) {
		sb_addf(sb, "<polyline class=\"%s\" points=\"",
			q ? "line95" : "line");
		for (size_t i = 0; i < s->nhours; i++) {
			const struct dist *d = &s->hours[i].wait;
			if (!d->n)
				continue;
			sb_addf(sb, "%.1f,%.1f ", px(i, s->nhours),
				py(q ? d->p95 : d->p50, max));
			pts++;
		}
		sb_adds(sb, "\"/>\n");
	}
	for (size_t i = 0; i < s->nhours; i++) {
		const struct dist *d = &s->hours[i].wait;
		if (!d->n)
			continue;
		char t[24];
		scen_iso8601((double)(s->first_hour + (int64_t)i) * 3600, t);
		sb_addf(sb, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" "
			"class=\"dot95\"><title>%.13s:00Z p50 %.2f s, p95 "
			"%.2f s, max %.2f s, %ld jobs</title></circle>",
			px(i, s->nhours), py(d->p95, max), t, d->p50, d->p95,
			d->max, d->n);
	}
	if (!pts)
		sb_addf(sb, "<text x=\"%d\" y=\"%d\" class=\"none\">no fresh "
			"jobs in the last week</text>", CW / 2, CH / 2);
	sb_adds(sb, "\n</svg>\n");
	static const char *const names[] = {
		"p50", "p95", "alert (queue_wait_s)"
	};
	static const char *const colors[] = {"#4e79a7", "#f28e2b", "#e15759"};
	legend(sb, names, colors, 3);
}

static void html_cell(struct strbuf *sb, const char *tag, const char *s)
{
	sb_addf(sb, "<%s>", tag);
	scen_html_escape(sb, s);
	sb_addf(sb, "</%s>", tag);
}

static void html(struct strbuf *sb, const struct stats *s)
{
	char t[24], buf[96];
	scen_iso8601(s->now, t);
	sb_adds(sb, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
		"<meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width\">\n"
		"<title>scen cache stats ");
	sb_adds(sb, t);
	sb_adds(sb, "</title>\n<style>\n"
		"body{font:14px/1.4 system-ui,sans-serif;margin:24px;"
		"color:#222;max-width:920px}\n"
		"h1{font-size:20px}h2{font-size:16px;margin-top:28px;"
		"border-bottom:1px solid #ddd}\n"
		"table{border-collapse:collapse;margin:8px 0}"
		"td,th{padding:2px 10px;text-align:right;"
		"border-bottom:1px solid #eee}"
		"td:first-child,th:first-child{text-align:left}\n"
		".status{display:inline-block;padding:4px 12px;"
		"border-radius:4px;color:#fff;font-weight:bold}\n"
		".status.OK{background:#59a14f}"
		".status.WARNING{background:#f28e2b}"
		".status.CRITICAL{background:#e15759}\n"
		"li.WARNING{color:#a65d00}li.CRITICAL{color:#b00}\n"
		"svg{display:block;background:#fafafa;border:1px solid #eee}\n"
		"svg text{font:11px sans-serif;fill:#444}\n"
		".yl{text-anchor:end}.xl{text-anchor:middle}"
		".al{text-anchor:end}.none{text-anchor:middle;fill:#999}\n"
		".grid{stroke:#e4e4e4}.day{stroke:#ccc;stroke-dasharray:2 3}"
		".axis{stroke:#888}\n"
		".band{fill:#d4ecd4}.limit{stroke:#e15759;stroke-width:1.5;"
		"stroke-dasharray:6 4}.warn{stroke:#f28e2b;"
		"stroke-dasharray:3 3}\n"
		".line{fill:none;stroke:#4e79a7;stroke-width:1.5}"
		".line95{fill:none;stroke:#f28e2b;stroke-width:1.5}"
		".dot{fill:#4e79a7}.dot95{fill:#f28e2b}\n"
		".legend span{margin-right:14px}.legend i{display:"
		"inline-block;width:10px;height:10px;margin-right:4px}\n"
		"</style>\n</head>\n<body>\n<h1>scen cache stats</h1>\n<p>");
	scen_html_escape(sb, s->dbpath);
	sb_addf(sb, " at %s &nbsp; <span class=\"status %s\">%s</span></p>\n",
		t, scen_level_name(s->level), scen_level_name(s->level));

	sb_adds(sb, "<h2>Alerts</h2>\n");
	if (!s->nalerts)
		sb_adds(sb, "<p>None.</p>\n");
	else
		sb_adds(sb, "<ul class=\"alerts\">\n");
	for (size_t i = 0; i < s->nalerts; i++) {
		sb_addf(sb, "<li class=\"%s\"><b>%s %s</b>: ",
			scen_level_name(s->alerts[i].level),
			scen_level_name(s->alerts[i].level),
			s->alerts[i].name);
		scen_html_escape(sb, s->alerts[i].message);
		sb_adds(sb, "</li>\n");
	}
	if (s->nalerts)
		sb_adds(sb, "</ul>\n");
	if (s->nadvice) {
		sb_adds(sb, "<h2>Advice</h2>\n<ul class=\"advice\">\n");
		for (size_t i = 0; i < s->nadvice; i++) {
			sb_adds(sb, "<li>");
			scen_html_escape(sb, s->advice[i]);
			sb_adds(sb, "</li>\n");
		}
		sb_adds(sb, "</ul>\n");
	}

	sb_adds(sb, "<h2>Figures</h2>\n<table class=\"figures\">\n<tr><th>"
		"</th>");
	for (int i = 0; i < s->nwin; i++) {
		if (i == W_SINCE) {
			scen_iso8601(s->w[i].from, t);
			snprintf(buf, sizeof buf, "since %s", t);
			html_cell(sb, "th", buf);
		} else {
			html_cell(sb, "th", win_title[i]);
		}
	}
	sb_adds(sb, "</tr>\n");
	struct {
		const char *label;
		long (*n)(const struct window *);
		double (*r)(const struct window *);
	} rows[] = {
		{"requests", w_requests, NULL},
		{"answered", w_answered, NULL},
		{"unavailable", w_unavailable, NULL},
		{"bad input lines", w_bad_input, NULL},
		{"completed", NULL, w_completed},
		{"hit rate", NULL, w_hit_rate},
		{"provider calls", w_calls, NULL},
		{"call error rate", NULL, w_call_error_rate},
		{"scenarios stored", w_stored, NULL},
	};
	for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
		sb_adds(sb, "<tr>");
		html_cell(sb, "td", rows[k].label);
		for (int i = 0; i < s->nwin; i++) {
			if (rows[k].n)
				snprintf(buf, sizeof buf, "%ld",
					 rows[k].n(&s->w[i]));
			else
				fmt_pct(buf, sizeof buf, rows[k].r(&s->w[i]));
			html_cell(sb, "td", buf);
		}
		sb_adds(sb, "</tr>\n");
	}
	for (int k = 0; k < SCEN_TIER_COUNT; k++) {
		sb_adds(sb, "<tr>");
		snprintf(buf, sizeof buf, "tier %s",
			 scen_tier_name((enum scen_tier)k));
		html_cell(sb, "td", buf);
		for (int i = 0; i < s->nwin; i++) {
			snprintf(buf, sizeof buf, "%ld",
				 w_tier(&s->w[i], (enum scen_tier)k));
			html_cell(sb, "td", buf);
		}
		sb_adds(sb, "</tr>\n");
	}
	const char *dl[] = {"queue wait p50", "queue wait p95",
			    "queue wait max"};
	for (int k = 0; k < 3; k++) {
		sb_adds(sb, "<tr>");
		html_cell(sb, "td", dl[k]);
		for (int i = 0; i < s->nwin; i++) {
			const struct dist *d = &s->w[i].wait;
			fmt_s(buf, sizeof buf,
			      k == 0 ? d->p50 : k == 1 ? d->p95 : d->max);
			html_cell(sb, "td", buf);
		}
		sb_adds(sb, "</tr>\n");
	}
	sb_adds(sb, "</table>\n");

	sb_adds(sb, "<h2>Answers per hour by tier (last week)</h2>\n");
	chart_tiers(sb, s);
	sb_adds(sb, "<h2>Hit rate against its band</h2>\n");
	chart_hit_rate(sb, s);
	sb_adds(sb, "<h2>Accounts: usage against limits</h2>\n");
	chart_accounts(sb, s);
	sb_adds(sb, "<table class=\"accounts\">\n<tr><th>account</th>"
		"<th>429 today</th><th>breaker</th><th>state</th></tr>\n");
	for (size_t i = 0; i < s->nacct; i++) {
		const struct acct *a = &s->acct[i];
		sb_adds(sb, "<tr>");
		html_cell(sb, "td", a->cfg->name);
		snprintf(buf, sizeof buf, "%ld", a->u.refused_day);
		html_cell(sb, "td", buf);
		html_cell(sb, "td", a->st.breaker);
		if (a->set_aside) {
			scen_iso8601(a->st.set_aside_until, t);
			snprintf(buf, sizeof buf, "set aside until %s", t);
		} else if (a->cooling) {
			scen_iso8601(a->st.cooldown_until, t);
			snprintf(buf, sizeof buf, "cooling down until %s", t);
		} else {
			snprintf(buf, sizeof buf, "ready");
		}
		html_cell(sb, "td", buf);
		sb_adds(sb, "</tr>\n");
	}
	sb_addf(sb, "<tr><td>the provider</td><td></td><td>%s</td><td>%s"
		"</td></tr>\n</table>\n", s->provider.breaker,
		s->provider_open ? "no calls are made" : "");
	sb_adds(sb, "<h2>Queue wait of fresh jobs</h2>\n");
	chart_wait(sb, s);
	sb_addf(sb, "<p>Now: %ld queued, %ld running.</p>\n",
		s->queue.queued, s->queue.running);

	sb_adds(sb, "<h2>Pool</h2>\n<table class=\"pool\">\n<tr><th>"
		"experiment/template</th><th>available</th><th>retired</th>"
		"<th>oldest age</th></tr>\n");
	for (size_t i = 0; i < s->npool; i++) {
		const struct pool_tpl *p = &s->pool[i];
		sb_adds(sb, "<tr>");
		snprintf(buf, sizeof buf, "%s/%s%s", p->experiment,
			 p->template_name, p->current ? "" : " (old version)");
		html_cell(sb, "td", buf);
		snprintf(buf, sizeof buf, "%ld", p->available);
		html_cell(sb, "td", buf);
		snprintf(buf, sizeof buf, "%ld", p->retired);
		html_cell(sb, "td", buf);
		if (p->available)
			snprintf(buf, sizeof buf, "%.1f h",
				 (s->now - p->oldest) / 3600);
		else
			snprintf(buf, sizeof buf, "-");
		html_cell(sb, "td", buf);
		sb_adds(sb, "</tr>\n");
	}
	sb_addf(sb, "</table>\n<p>Stored, all time: %lld scenarios, %lld "
		"servings, %lld template versions.</p>\n</body>\n</html>\n",
		(long long)s->totals.scenarios, (long long)s->totals.servings,
		(long long)s->totals.templates);
}

/* ---- --verify ------------------------------------------------------- */

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

static int verify(const struct scen_config *cfg, struct scen_db *db,
		  const struct scen_stats_opts *o, struct strbuf *sb)
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
	int rc;
	if (problems < 0) {
		rc = check_mode ? SCEN_LEVEL_UNKNOWN : SCEN_EX_IOERR;
		if (check_mode)
			sb_adds(sb,
				"SCEN UNKNOWN - the checks could not run\n");
	} else if (check_mode) {
		rc = problems ? SCEN_LEVEL_CRITICAL : SCEN_LEVEL_OK;
		sb_addf(sb, "SCEN %s - verify: %ld problem%s\n",
			scen_level_name((enum scen_level)rc), problems,
			problems == 1 ? "" : "s");
	} else {
		rc = problems ? SCEN_EX_DATAERR : 0;
	}
	sb_add(sb, lines.buf, lines.len);
	if (!check_mode && problems >= 0)
		sb_addf(sb, "%ld problem%s found\n", problems,
			problems == 1 ? "" : "s");
	sb_release(&lines);
	return rc;
}

/* ---- the command ---------------------------------------------------- */

static void stats_release(struct stats *s)
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
	for (size_t i = 0; i < s->nadvice; i++)
		free(s->advice[i]);
	free(s->advice);
	free(s->jcreated);
	free(s->jwait);
	free(s->jproc);
}

static int write_all(FILE *f, const struct strbuf *sb)
{
	return fwrite(sb->buf, 1, sb->len, f) == sb->len && fflush(f) == 0
		? 0 : -1;
}

static int write_html(const struct stats *s, const char *path, FILE *out)
{
	struct strbuf sb;
	sb_init(&sb);
	html(&sb, s);
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

int scen_cache_stats(const struct scen_config *cfg, struct scen_db *db,
		     const struct scen_stats_opts *o)
{
	int check_mode = o->format == SCEN_STATS_CHECK;
	struct strbuf sb;
	int rc = 0;
	sb_init(&sb);
	if (o->verify) {
		rc = verify(cfg, db, o, &sb);
		if (write_all(o->out, &sb) < 0 && !rc)
			rc = check_mode ? SCEN_LEVEL_UNKNOWN : SCEN_EX_IOERR;
		sb_release(&sb);
		return rc;
	}

	struct stats s;
	memset(&s, 0, sizeof s);
	s.cfg = cfg;
	s.dbpath = scen_db_path(db);
	s.now = scen_now();
	s.nwin = isnan(o->since) ? W_SINCE : W_MAX;
	for (int i = 0; i < W_MAX; i++)
		scen_map_init(&s.w[i].c);
	scen_map_init(&s.misses);
	if (s.nwin == W_MAX) {
		s.w[W_SINCE].from = o->since;
		s.w[W_SINCE].to = s.now;
	}
	s.widest = W_WEEK;

	struct scen_report *r = scen_report_new(db);
	int ok = scen_report_begin(r) == 0 && collect(&s, r) == 0;
	if (ok) {
		judge_alerts(&s);
		ok = give_advice(&s, r) == 0;
	}
	scen_report_end(r);
	scen_report_free(r);
	if (!ok) {
		if (check_mode)
			fputs("SCEN UNKNOWN - the figures could not be read\n",
			      o->out);
		stats_release(&s);
		sb_release(&sb);
		return check_mode ? SCEN_LEVEL_UNKNOWN : SCEN_EX_IOERR;
	}

	switch (o->format) {
	case SCEN_STATS_TABLE:
		table(&sb, &s);
		break;
	case SCEN_STATS_JSON:
		json(&sb, &s);
		break;
	case SCEN_STATS_PROMETHEUS:
		prometheus(&sb, &s);
		break;
	case SCEN_STATS_CHECK:
		check(&sb, &s);
		rc = (int)s.level;
		break;
	case SCEN_STATS_NONE:
		break;
	}
	if (o->html && write_html(&s, o->html, o->out) < 0)
		rc = check_mode ? SCEN_LEVEL_UNKNOWN : SCEN_EX_IOERR;
	if (sb.len && write_all(o->out, &sb) < 0) {
		scen_error("cannot write: %s", strerror(errno));
		rc = check_mode ? SCEN_LEVEL_UNKNOWN : SCEN_EX_IOERR;
	}
	stats_release(&s);
	sb_release(&sb);
	return rc;
}
