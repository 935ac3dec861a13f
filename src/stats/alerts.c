/* alerts.c — scen-cache-stats's alerts (the thresholds of `alerts:` in
 * scen.yaml(5)), the advice of the scaling triggers, and --check's one
 * line with performance data (scen-cache-stats(1)). */
#include "stats_int.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "scen/hash.h"

/* The seed's scaling triggers. */
#define QUEUE_DEPTH_ADVICE 100
#define LIMIT_HOURS_ADVICE 3

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

static void alert_key_usage(struct stats *s)
{
	const struct scen_config *cfg = s->cfg;
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
}

/* The last hour's hit rate, queue wait, failed calls and unavailable
 * answers against their thresholds. */
static void alert_hour(struct stats *s)
{
	const struct scen_config *cfg = s->cfg;
	const struct window *h = &s->w[W_HOUR];
	struct alert *a;
	long answered = stats_answered(h);
	double hr = stats_hit_rate(h);
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

	long calls = stats_calls(h), failed = stats_call_failures(h);
	double er = stats_ratio(failed, calls);
	if (calls >= MIN_SAMPLE && er > cfg->alerts.error_rate) {
		a = alert_add(s, "error_rate", NULL, SCEN_LEVEL_WARNING, er,
			      cfg->alerts.error_rate);
		snprintf(a->message, sizeof a->message,
			 "%.1f%% of provider calls failed over the last hour "
			 "(%ld of %ld) — above %.1f%%", 100 * er, failed,
			 calls, 100 * cfg->alerts.error_rate);
	}
	long unav = stats_unavailable(h);
	double ur = stats_ratio(unav, answered + unav);
	if (answered + unav >= MIN_SAMPLE && ur > cfg->alerts.error_rate) {
		a = alert_add(s, "unavailable", NULL, SCEN_LEVEL_CRITICAL, ur,
			      cfg->alerts.error_rate);
		snprintf(a->message, sizeof a->message,
			 "%.1f%% of requests were answered unavailable over "
			 "the last hour (%ld of %ld) — above %.1f%%",
			 100 * ur, unav, answered + unav,
			 100 * cfg->alerts.error_rate);
	}
}

static void account_warning(struct stats *s, const char *name,
			    const struct acct *ac, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A WARNING about one account. */
static void account_warning(struct stats *s, const char *name,
			    const struct acct *ac, const char *fmt, ...)
{
	struct alert *a = alert_add(s, name, ac->cfg->name,
				    SCEN_LEVEL_WARNING, 1, 0);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->message, sizeof a->message, fmt, ap);
	va_end(ap);
}

static void alert_pool_breakers(struct stats *s)
{
	const struct scen_config *cfg = s->cfg;
	struct alert *a;
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
		const struct acct *ac = &s->acct[i];
		if (ac->breaker_open)
			account_warning(s, "breaker", ac, "the circuit breaker "
					"of account %s is open after %ld "
					"failures", ac->cfg->name,
					ac->st.failures);
		if (ac->key_refused)
			account_warning(s, "key_refused", ac, "the provider "
					"refused the key of account %s (%s): "
					"no calls are made on it until it is "
					"replaced", ac->cfg->name,
					ac->cfg->api_key_env);
	}
}

/* An open batch past its completion window: the provider should have
 * ended it by now (scen-pool-fill(1), BATCHES). */
static void alert_batches(struct stats *s)
{
	for (size_t i = 0; i < s->nlate; i++) {
		const struct late_batch *b = &s->late[i];
		struct alert *a = alert_add(s, "batch_overdue", b->bid,
					    SCEN_LEVEL_WARNING, b->open_s,
					    b->window_s);
		snprintf(a->message, sizeof a->message,
			 "batch %s (provider batch %s) is open %.1f h past "
			 "its completion window of %g h (%s%s%s)", b->bid,
			 b->batch_id[0] ? b->batch_id : "none yet",
			 (b->open_s - b->window_s) / 3600, b->window_s / 3600,
			 b->state, b->status[0] ? ", status " : "",
			 b->status);
	}
}

void stats_judge_alerts(struct stats *s)
{
	alert_key_usage(s);
	alert_hour(s);
	alert_pool_breakers(s);
	alert_batches(s);
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

static void on_fresh(void *ctx, const char *e, const char *t, int64_t n)
{
	struct stats *s = ctx;
	char name[256];
	snprintf(name, sizeof name, "%s/%s", e, t);
	*scen_map_put(&s->misses, name, strlen(name) + 1, NULL) += (uint64_t)n;
}

/* The hit rate of the last day below the band's floor: where the misses
 * are. */
static int advise_hit_rate(struct stats *s, struct scen_report *r)
{
	const struct scen_config *cfg = s->cfg;
	const struct window *d = &s->w[W_DAY];
	double hr = stats_hit_rate(d);
	if (stats_answered(d) >= MIN_SAMPLE && hr < cfg->cache.band_lo) {
		if (scen_report_fresh_by_template(r, d->from, on_fresh, s) < 0)
			return -1;
		size_t n;
		const char **un = stats_prefixed(d, "miss.", &n);
		for (size_t i = 0; i < n; i++)
			*scen_map_put(&s->misses, un[i] + 5,
				      strlen(un[i] + 5) + 1, NULL) +=
				(uint64_t)stats_cnt(d, un[i]);
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
	return 0;
}

int stats_give_advice(struct stats *s, struct scen_report *r)
{
	const struct window *d = &s->w[W_DAY];
	if (advise_hit_rate(s, r) < 0)
		return -1;
	/* limits hit regularly: hours of the last day with refusals */
	long hours = 0;
	int64_t from = s->now_hour - 23;
	for (size_t i = 0; i < s->nhours; i++)
		if (s->first_hour + (int64_t)i >= from && s->hours[i].limited)
			hours++;
	if (hours >= LIMIT_HOURS_ADVICE) {
		long refused = stats_cnt(d, "call.429");
		long deferred = stats_cnt(d, "fresh.no_budget") +
				stats_cnt(d, "queue.no_budget");
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


/* ---- --check -------------------------------------------------------- */

/* --check's performance data of the last hour, as monitoring plugins give
 * it: read from the metric table (the window metric of that JSON key and
 * label), left out when there is no figure. */
static const struct perf {
	const char *name, *metric, *label, *fmt;
	size_t threshold;	/* offset of the alert's threshold in cfg */
} perf[] = {
	{"hit_rate", "hit_rate", NULL, "%.4f;%g;;0;1",
	 offsetof(struct scen_config, alerts.hit_rate_min)},
	{"call_error_rate", "call_error_rate", NULL, "%.4f;%g;;0;1",
	 offsetof(struct scen_config, alerts.error_rate)},
	{"queue_wait_p95", "wait_s", "p95", "%.3fs;%g",
	 offsetof(struct scen_config, alerts.queue_wait_s)},
};

void stats_check(struct strbuf *sb, const struct stats *s)
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
	sb_adds(sb, " |");
	for (size_t i = 0; i < sizeof perf / sizeof perf[0]; i++) {
		const struct stats_metric *m = stats_metric_keyed(perf[i].metric);
		double x = stats_read(m, s, h, perf[i].label, NULL);
		double t = *(const double *)(const void *)
			((const char *)s->cfg + perf[i].threshold);
		if (isnan(x))
			continue;
		sb_addf(sb, " %s=", perf[i].name);
		sb_addf(sb, perf[i].fmt, x, t);
	}
	sb_addf(sb, " queue_depth=%ld pool=%ld;%ld;;0", s->queue.queued +
		s->queue.running, s->pool_available, s->cfg->alerts.pool_min);
	sb_addc(sb, '\n');
	for (size_t i = 0; i < s->nalerts; i++)
		sb_addf(sb, "%s %s: %s\n", scen_level_name(s->alerts[i].level),
			s->alerts[i].name, s->alerts[i].message);
}
