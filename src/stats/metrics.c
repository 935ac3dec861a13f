/* metrics.c — the metric table of scen-cache-stats (scen-cache-stats(1)):
 * what each figure is (name, help, type, unit, labels), how it is read,
 * and where the table, JSON, Prometheus and HTML formats show it. A new
 * metric is one row of stats_metrics. */
#include "stats_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NL(a) (sizeof a / sizeof a[0])
#define ONLY(f) (1u << (f))

/* ---- label values ---------------------------------------------------- */

static const struct stats_label outcome_v[] = {
	{.value = "ok"},
	{.value = "invalid", .text = "invalid output"},
	{.value = "malformed"},
	{.value = "429"},
	{.value = "5xx"},
	{.value = "timeout"},
	{.value = "connect"},
	{.value = "auth"},
	{.value = "400"},
};
const struct stats_labels stats_call_outcomes = {
	"outcome", outcome_v, NL(outcome_v), NULL, 0
};

static const struct stats_label request_v[] = {
	{.value = "answered"}, {.value = "unavailable"},
	{.value = "bad_input", .text = "bad input lines"},
};
static const struct stats_labels requests_l = {
	"outcome", request_v, NL(request_v), NULL, 0
};

static const struct stats_label tier_v[] = {
	{.value = "cache"},
	{.value = "fresh"},
	{.value = "pool"},
	{.value = "relaxed"},
};
static const struct stats_labels tiers_l = {
	"tier", tier_v, NL(tier_v), NULL, 0
};

static const struct stats_label reason_v[] = {
	{.value = "empty"},
	{.value = "truncated"},
	{.value = "too_short"},
	{.value = "too_long"},
	{.value = "refusal"},
};
static const struct stats_labels reasons_l = {
	"reason", reason_v, NL(reason_v), NULL, 0
};

static const struct stats_labels codes_l = {"code", NULL, 0, "error.", 0};
static const struct stats_labels misses_l = {NULL, NULL, 0, "miss.", 0};

static const struct stats_label budget_v[] = {
	{.value = "fresh.no_budget", .key = "fresh_no_budget",
	 .text = "no budget (request)"},
	{.value = "queue.no_budget", .key = "queue_no_budget",
	 .text = "no budget (job)"},
	{.value = "fresh.deadline", .key = "fresh_deadline",
	 .text = "deadline passed"},
	{.value = "account.set_aside", .key = "accounts_set_aside",
	 .text = "accounts set aside"},
	{.value = "breaker.open", .key = "breakers_opened",
	 .text = "breakers opened"},
};
static const struct stats_labels budget_l = {
	"event", budget_v, NL(budget_v), NULL, 0
};

static const struct stats_label state_v[] = {
	{.value = "submitted"},
	{.value = "done"},
	{.value = "failed"},
	{.value = "cancelled"},
};
static const struct stats_labels states_l = {
	"state", state_v, NL(state_v), NULL, 0
};

static const struct stats_label batch_v[] = {
	{.value = "open"},
	{.value = "completed"},
	{.value = "expired"},
	{.value = "failed", .text = "failed or cancelled"},
};
static const struct stats_labels batches_l = {
	"state", batch_v, NL(batch_v), NULL, 0
};

static const struct stats_label line_v[] = {
	{.value = "pending"}, {.value = "done"}, {.value = "failed"},
};
static const struct stats_labels lines_l = {
	"state", line_v, NL(line_v), NULL, 0
};

/* a distribution: JSON gives its size too */
static const struct stats_label dist_v[] = {
	{.value = "n", .only = ONLY(FMT_JSON), .count = 1},
	{.value = "p50"},
	{.value = "p95"},
	{.value = "max"},
};
static const struct stats_labels dist_l = {
	"stat", dist_v, NL(dist_v), NULL, 0
};

static const struct stats_label stored_v[] = {
	{.value = "stored.fresh", .key = "fresh", .text = "fresh"},
	{.value = "stored.pool", .key = "pool", .text = "pool"},
};
static const struct stats_labels stored_l = {
	NULL, stored_v, NL(stored_v), NULL, 0
};

static const struct stats_labels accounts_l = {NULL, NULL, 0, NULL, 1};

static const struct stats_label period_v[] = {
	{.value = "minute"}, {.value = "hour"}, {.value = "day"},
};
static const struct stats_labels periods_l = {
	"period", period_v, NL(period_v), NULL, 0
};

static const struct stats_label limit_v[] = {
	{.value = "rpm"}, {.value = "rph"}, {.value = "rpd"}, {.value = "tpm"},
};
static const struct stats_labels limits_l = {
	NULL, limit_v, NL(limit_v), NULL, 0
};

static const struct stats_label queued_v[] = {
	{.value = "queued"}, {.value = "running"},
};
static const struct stats_labels queued_l = {
	"state", queued_v, NL(queued_v), NULL, 0
};

/* ---- readers: windows -------------------------------------------------- */

#define WIN(subject) ((const struct window *)(subject))

static double counter(const struct window *w, const char *prefix,
		      const char *label)
{
	char name[256];
	snprintf(name, sizeof name, "%s%s", prefix, label);
	return (double)stats_cnt(w, name);
}

static long sum_prefixed(const struct window *w, const char *prefix)
{
	size_t n;
	const char **v = stats_prefixed(w, prefix, &n);
	long t = 0;
	for (size_t i = 0; i < n; i++)
		t += stats_cnt(w, v[i]);
	free(v);
	return t;
}

static double r_from(const struct stats *s, const void *w, const char *l,
		     const char *sub)
{
	return WIN(w)->from;
}

static double r_to(const struct stats *s, const void *w, const char *l,
		   const char *sub)
{
	return WIN(w)->to;
}

static double r_outcome(const struct stats *s, const void *w, const char *l,
			const char *sub)
{
	if (!strcmp(l, "answered"))
		return (double)stats_answered(WIN(w));
	if (!strcmp(l, "unavailable"))
		return (double)stats_unavailable(WIN(w));
	return (double)sum_prefixed(WIN(w), "error.");
}

static double r_requests(const struct stats *s, const void *w,
			 const char *l, const char *sub)
{
	double n = 0;
	for (size_t i = 0; i < NL(request_v); i++)
		n += r_outcome(s, w, request_v[i].value, NULL);
	return n;
}

static double r_completed(const struct stats *s, const void *w,
			  const char *l, const char *sub)
{
	long a = stats_answered(WIN(w));
	return stats_ratio(a, a + stats_unavailable(WIN(w)));
}

static double r_hit_rate(const struct stats *s, const void *w,
			 const char *l, const char *sub)
{
	return stats_hit_rate(WIN(w));
}

static double r_tier_share(const struct stats *s, const void *w,
			   const char *l, const char *sub)
{
	return stats_ratio((long)counter(WIN(w), "tier.", l),
			   stats_answered(WIN(w)));
}

static double r_calls(const struct stats *s, const void *w, const char *l,
		      const char *sub)
{
	return (double)stats_calls(WIN(w));
}

static double r_call_error_rate(const struct stats *s, const void *w,
				const char *l, const char *sub)
{
	return stats_ratio(stats_call_failures(WIN(w)), stats_calls(WIN(w)));
}

static double dist_stat(const struct dist *d, const char *l)
{
	return !strcmp(l, "n") ? (double)d->n
	     : !strcmp(l, "p50") ? d->p50
	     : !strcmp(l, "p95") ? d->p95 : d->max;
}

static double r_wait(const struct stats *s, const void *w, const char *l,
		     const char *sub)
{
	return dist_stat(&WIN(w)->wait, l);
}

static double r_proc(const struct stats *s, const void *w, const char *l,
		     const char *sub)
{
	return dist_stat(&WIN(w)->proc, l);
}

static double r_stored(const struct stats *s, const void *w, const char *l,
		       const char *sub)
{
	return counter(WIN(w), "stored.fresh", "") +
	       counter(WIN(w), "stored.pool", "");
}

static double r_account_call(const struct stats *s, const void *w,
			     const char *l, const char *sub)
{
	char name[256];
	snprintf(name, sizeof name, "account.%s.%s", l, sub);
	return (double)stats_cnt(WIN(w), name);
}

/* ---- readers: accounts ------------------------------------------------- */

#define ACCT(subject) ((const struct acct *)(subject))

static const char *t_name(const struct stats *s, const void *a)
{
	return ACCT(a)->cfg->name;
}

static const char *t_breaker(const struct stats *s, const void *a)
{
	return ACCT(a)->st.breaker;
}

/* the configured limit of a period (or of tokens), 0 when none */
static long limit_of(const struct acct *a, const char *l)
{
	return !strcmp(l, "rpm") || !strcmp(l, "minute") ? a->cfg->rpm
	     : !strcmp(l, "rph") || !strcmp(l, "hour") ? a->cfg->rph
	     : !strcmp(l, "rpd") || !strcmp(l, "day") ? a->cfg->rpd
	     : a->cfg->tpm;
}

static double r_limits(const struct stats *s, const void *a, const char *l,
		       const char *sub)
{
	return (double)limit_of(ACCT(a), l);
}

static double r_limit_set(const struct stats *s, const void *a,
			  const char *l, const char *sub)
{
	long v = limit_of(ACCT(a), l);
	return v > 0 ? (double)v : NAN;
}

static double r_used(const struct stats *s, const void *a, const char *l,
		     const char *sub)
{
	const struct scen_report_usage *u = &ACCT(a)->u;
	return (double)(!strcmp(l, "minute") ? u->minute
			: !strcmp(l, "hour") ? u->hour : u->day);
}

static double r_tokens_minute(const struct stats *s, const void *a,
			      const char *l, const char *sub)
{
	return (double)ACCT(a)->u.tokens_minute;
}

static double r_refused(const struct stats *s, const void *a, const char *l,
			const char *sub)
{
	return (double)ACCT(a)->u.refused_day;
}

static double r_day_use(const struct stats *s, const void *a, const char *l,
			const char *sub)
{
	return ACCT(a)->day_use;
}

static double r_failures(const struct stats *s, const void *a,
			 const char *l, const char *sub)
{
	return (double)ACCT(a)->st.failures;
}

static double r_cooldown(const struct stats *s, const void *a,
			 const char *l, const char *sub)
{
	return ACCT(a)->cooling ? ACCT(a)->st.cooldown_until : 0;
}

static double r_set_aside_until(const struct stats *s, const void *a,
				const char *l, const char *sub)
{
	return ACCT(a)->set_aside ? ACCT(a)->st.set_aside_until : 0;
}

static double r_day_remaining(const struct stats *s, const void *a,
			      const char *l, const char *sub)
{
	return ACCT(a)->st.has_day ? (double)ACCT(a)->st.day_remaining : NAN;
}

static double r_has_key(const struct stats *s, const void *a, const char *l,
			const char *sub)
{
	return ACCT(a)->cfg->key != NULL;
}

static double r_key_refused(const struct stats *s, const void *a,
			    const char *l, const char *sub)
{
	return ACCT(a)->key_refused;
}

static double r_breaker_open(const struct stats *s, const void *a,
			     const char *l, const char *sub)
{
	return ACCT(a)->breaker_open;
}

static double r_set_aside(const struct stats *s, const void *a,
			  const char *l, const char *sub)
{
	return ACCT(a)->set_aside;
}

static double r_batch_key_refused(const struct stats *s, const void *a,
				  const char *l, const char *sub)
{
	return ACCT(a)->batch_key_refused;
}

/* ---- readers: the pool, alerts and the rest, now ----------------------- */

#define POOL(subject) ((const struct pool_tpl *)(subject))

/* the current template versions only */
static double r_pool_available(const struct stats *s, const void *p,
			       const char *l, const char *sub)
{
	return POOL(p)->current ? (double)POOL(p)->available : NAN;
}

static double r_pool_retired(const struct stats *s, const void *p,
			     const char *l, const char *sub)
{
	return POOL(p)->current ? (double)POOL(p)->retired : NAN;
}

static double r_pool_oldest(const struct stats *s, const void *p,
			    const char *l, const char *sub)
{
	return POOL(p)->current && POOL(p)->available
		? s->now - POOL(p)->oldest : NAN;
}

static double r_pool_runway(const struct stats *s, const void *x,
			    const char *l, const char *sub)
{
	return s->pool_runway;
}

/* ---- readers: batches, all time and now -------------------------------- */

static double r_batches(const struct stats *s, const void *x,
			const char *l, const char *sub)
{
	const struct scen_report_batches *b = &s->batches;
	return (double)(!strcmp(l, "open") ? b->open
			: !strcmp(l, "completed") ? b->completed
			: !strcmp(l, "expired") ? b->expired : b->failed);
}

static double r_batch_lines(const struct stats *s, const void *x,
			    const char *l, const char *sub)
{
	const struct scen_report_batches *b = &s->batches;
	return (double)(!strcmp(l, "pending") ? b->lines_pending
			: !strcmp(l, "done") ? b->lines_done
			: b->lines_failed);
}

static double r_batch_capped(const struct stats *s, const void *x,
			     const char *l, const char *sub)
{
	return (double)s->batches.lines_capped;
}

static double r_batch_oldest(const struct stats *s, const void *x,
			     const char *l, const char *sub)
{
	return s->batches.oldest_open > 0
		? s->now - s->batches.oldest_open : NAN;
}

static double r_batch_keys_refused(const struct stats *s, const void *x,
				   const char *l, const char *sub)
{
	return (double)s->batch_keys_refused;
}

static const char *t_batch_refused(const struct stats *s, const void *x)
{
	return s->batch_refused_names.len ? s->batch_refused_names.buf : "-";
}

static double r_alert(const struct stats *s, const void *a, const char *l,
		      const char *sub)
{
	return (double)((const struct alert *)a)->level;
}

static double r_queue_now(const struct stats *s, const void *x,
			  const char *l, const char *sub)
{
	return (double)(!strcmp(l, "queued") ? s->queue.queued
			: s->queue.running);
}

static double r_provider_open(const struct stats *s, const void *x,
			      const char *l, const char *sub)
{
	return s->provider_open;
}

static double r_scenarios(const struct stats *s, const void *x,
			  const char *l, const char *sub)
{
	return (double)s->totals.scenarios;
}

static double r_servings(const struct stats *s, const void *x,
			 const char *l, const char *sub)
{
	return (double)s->totals.servings;
}

static double r_status(const struct stats *s, const void *x, const char *l,
		       const char *sub)
{
	return (double)s->level;
}

static double r_now(const struct stats *s, const void *x, const char *l,
		    const char *sub)
{
	return s->now;
}

/* ---- the table ----------------------------------------------------------- */

/* at: {table, JSON, Prometheus, HTML} */
const struct stats_metric stats_metrics[] = {
	/* each window */
	{.unit = U_TIME, .read = r_from, .at = {0, 10}, .json = "from"},
	{.unit = U_TIME, .read = r_to, .at = {0, 20}, .json = "to"},
	{.read = r_requests, .at = {10, 30, 0, 10}, .section = "Requests",
	 .label = "requests", .indent = 2, .json = "requests",
	 .html = "requests"},
	{"scen_requests", "Requests in the window, by outcome.", "gauge",
	 .labels = &requests_l, .read = r_outcome, .at = {20, 40, 10, 20},
	 .label = "%s", .indent = 2, .html = "%s"},
	{"scen_completed_ratio", "Share of answerable requests answered ok "
	 "(not unavailable).", "gauge", U_RATIO, .read = r_completed,
	 .at = {30, 50, 40, 30}, .label = "completed (of answerable)",
	 .indent = 2, .json = "completed_rate", .html = "completed"},
	/* the name before Prometheus's unit suffix, for one release */
	{"scen_hit_rate", "Deprecated: scen_hit_rate_ratio under its former "
	 "name, gone in the next release.", "gauge", U_RATIO,
	 .read = r_hit_rate, .at = {0, 0, 30}},
	{"scen_hit_rate_ratio", "Share of answers not freshly generated "
	 "(cache, pool, relaxed).", "gauge", U_RATIO, .read = r_hit_rate,
	 .at = {40, 60, 35, 40}, .label = "hit rate", .indent = 2,
	 .json = "hit_rate", .html = "hit rate"},
	{"scen_answers", "Answered requests in the window, by tier.", "gauge",
	 .labels = &tiers_l, .counter = "tier.", .at = {50, 70, 20, 100},
	 .section = "Tiers (share of answered)", .label = "%s", .indent = 2,
	 .share = 1, .json = "tiers", .html = "tier %s"},
	{.unit = U_RATIO, .labels = &tiers_l, .read = r_tier_share,
	 .at = {0, 80}, .json = "tier_shares"},
	{.counter = "variety.forced", .at = {60, 90}, .label = "hits regenerated "
	 "(variety)", .indent = 2, .json = "variety_forced"},
	{.read = r_calls, .at = {70, 100, 0, 70}, .section = "Provider calls",
	 .label = "calls", .indent = 2, .json = "calls_total",
	 .html = "provider calls"},
	{"scen_calls", "Provider calls in the window, by outcome.", "gauge",
	 .labels = &stats_call_outcomes, .counter = "call.",
	 .at = {80, 110, 50}, .label = "%s", .indent = 4, .json = "calls"},
	{.unit = U_RATIO, .read = r_call_error_rate, .at = {90, 120, 0, 80},
	 .label = "error rate", .indent = 2, .json = "call_error_rate",
	 .html = "call error rate"},
	{"scen_invalid_outputs", "Provider answers not fit to serve, by "
	 "reason.", "gauge", .labels = &reasons_l, .counter = "invalid.",
	 .at = {100, 130, 60}, .section = "Errors by type",
	 .label = "invalid output: %s", .indent = 2,
	 .json = "invalid_output"},
	{"scen_bad_input", "Request lines answered with an error, by code.",
	 "gauge", .labels = &codes_l, .counter = "error.", .at = {110, 140, 70},
	 .label = "bad input: %s", .indent = 2, .json = "bad_input_by_code"},
	{"scen_budget_events", "Requests without budget, deadlines passed, "
	 "accounts set aside and breakers opened.", "gauge",
	 .labels = &budget_l, .counter = "", .at = {120, 160, 80},
	 .label = "%s", .indent = 2, .json = "budget"},
	{.labels = &misses_l, .counter = "miss.", .at = {130, 150},
	 .label = "unavailable: %.40s", .indent = 2,
	 .json = "unavailable_by_template"},
	{"scen_queue_jobs", "Fresh generation jobs in the window, by what "
	 "befell them.", "gauge", .labels = &states_l, .counter = "queue.",
	 .at = {140, 170, 90},
	 .section = "Queue (jobs; wait and processing of fresh jobs)",
	 .label = "%s", .indent = 2, .json_in = "queue"},
	{"scen_queue_wait_seconds", "Queue wait of fresh jobs (nearest-rank "
	 "quantiles).", "gauge", U_SECONDS, .labels = &dist_l,
	 .read = r_wait, .at = {150, 180, 100, 110}, .label = "wait %s",
	 .indent = 2, .json = "wait_s", .json_in = "queue",
	 .html = "queue wait %s"},
	{"scen_queue_processing_seconds", "Processing time of fresh jobs "
	 "(nearest-rank quantiles).", "gauge", U_SECONDS, .labels = &dist_l,
	 .read = r_proc, .at = {160, 190, 110}, .label = "processing %s",
	 .indent = 2, .json = "processing_s", .json_in = "queue"},
	{.labels = &stored_l, .counter = "", .at = {170, 200},
	 .section = "Scenarios stored", .label = "%s", .indent = 2,
	 .json = "stored"},
	{.read = r_stored, .at = {180, 0, 0, 90}, .label = "total",
	 .indent = 2, .html = "scenarios stored"},
	{.labels = &accounts_l, .sub = &stats_call_outcomes,
	 .read = r_account_call, .at = {0, 210}, .json = "accounts"},

	/* now */
	{"scen_queue_depth", "Open jobs now, by state.", "gauge",
	 .scope = SC_NOW, .labels = &queued_l, .read = r_queue_now,
	 .at = {0, 0, 120}},

	/* each account, now */
	{.unit = U_TEXT, .scope = SC_ACCOUNT, .text = t_name, .at = {0, 10},
	 .json = "name"},
	{.scope = SC_ACCOUNT, .labels = &limits_l, .read = r_limits,
	 .at = {0, 20}, .json = "limits"},
	{"scen_account_calls", "Calls in the usage ledger (429s excluded): "
	 "last minute, last hour, this quota day.", "gauge",
	 .scope = SC_ACCOUNT, .labels = &periods_l, .read = r_used,
	 .at = {0, 30, 130}, .json = "calls"},
	{"scen_account_limit", "Configured request limits (rpm, rph, rpd); "
	 "absent when unlimited.", "gauge", .scope = SC_ACCOUNT,
	 .labels = &periods_l, .read = r_limit_set, .at = {0, 0, 140}},
	{.scope = SC_ACCOUNT, .read = r_tokens_minute, .at = {0, 40},
	 .json = "tokens_minute"},
	{"scen_account_day_usage_ratio", "Share of the daily request limit "
	 "used (1 when set aside).", "gauge", U_RATIO, SC_ACCOUNT,
	 .read = r_day_use, .at = {0, 60, 150}, .json = "day_usage"},
	{"scen_account_rate_limited_today", "Calls answered 429 this quota "
	 "day.", "gauge", .scope = SC_ACCOUNT, .read = r_refused,
	 .at = {0, 50, 160}, .json = "refused_429_today"},
	{.unit = U_TEXT, .scope = SC_ACCOUNT, .text = t_breaker,
	 .at = {0, 70}, .json = "breaker"},
	{.scope = SC_ACCOUNT, .read = r_failures, .at = {0, 80},
	 .json = "breaker_failures"},
	{.unit = U_TIME, .scope = SC_ACCOUNT, .read = r_cooldown,
	 .at = {0, 90}, .json = "cooldown_until"},
	{.unit = U_TIME, .scope = SC_ACCOUNT, .read = r_set_aside_until,
	 .at = {0, 100}, .json = "set_aside_until"},
	{.scope = SC_ACCOUNT, .read = r_day_remaining, .at = {0, 110},
	 .json = "provider_day_remaining"},
	{.unit = U_BOOL, .scope = SC_ACCOUNT, .read = r_has_key,
	 .at = {0, 120}, .json = "has_key"},
	{"scen_account_key_refused", "1 when the provider refused the "
	 "account's key and it has not been replaced since.", "gauge",
	 U_BOOL, SC_ACCOUNT, .read = r_key_refused, .at = {0, 125, 185},
	 .json = "key_refused"},
	{"scen_account_batch_key_refused", "1 when the provider refused the "
	 "account's key for batches (scen-pool-fill's batch mode).", "gauge",
	 U_BOOL, SC_ACCOUNT, .read = r_batch_key_refused,
	 .at = {0, 127, 186}, .json = "batch_key_refused"},
	{"scen_account_breaker_open", "1 when the account's circuit breaker "
	 "is open.", "gauge", U_BOOL, SC_ACCOUNT, .read = r_breaker_open,
	 .at = {0, 0, 170}},
	{"scen_account_set_aside", "1 while the account is set aside until "
	 "its day resets.", "gauge", U_BOOL, SC_ACCOUNT,
	 .read = r_set_aside, .at = {0, 0, 180}},

	/* the provider, the pool, the totals and the alerts, now */
	{"scen_provider_breaker_open", "1 when the provider-wide circuit "
	 "breaker is open.", "gauge", U_BOOL, SC_NOW,
	 .read = r_provider_open, .at = {0, 0, 190}},
	{"scen_pool_available", "Unserved pool scenarios younger than "
	 "pool.max_age_days, current template versions.", "gauge",
	 .scope = SC_POOL, .read = r_pool_available, .at = {0, 0, 200}},
	{"scen_pool_retired", "Unserved pool scenarios older than "
	 "pool.max_age_days.", "gauge", .scope = SC_POOL,
	 .read = r_pool_retired, .at = {0, 0, 210}},
	{"scen_pool_oldest_age_seconds", "Age of the oldest available pool "
	 "scenario.", "gauge", U_SECONDS, SC_POOL, .read = r_pool_oldest,
	 .at = {0, 0, 220}},
	{"scen_pool_runway_days", "Days the available pool lasts at the "
	 "last 7 days' pace of pool servings; +Inf without any.", "gauge",
	 .scope = SC_NOW, .read = r_pool_runway, .at = {0, 0, 222}},

	/* the batches of scen-pool-fill: all time, and the open ones now
	 * (JSON: the object batches) */
	{"scen_batches", "Batches of scen-pool-fill, all time: open now, "
	 "completed, expired, failed (failed or cancelled).", "gauge",
	 .scope = SC_NOW, .labels = &batches_l, .read = r_batches,
	 .at = {10, 10, 224, 10}, .section = "Batches (all time; open now)",
	 .label = "%s", .indent = 2, .html = "batches %s"},
	{"scen_batch_lines", "Batch lines, all time: pending, done, failed "
	 "(rejected, failed or expired).", "gauge", .scope = SC_NOW,
	 .labels = &lines_l, .read = r_batch_lines, .at = {20, 20, 225, 20},
	 .label = "lines %s", .indent = 2, .json = "lines",
	 .html = "lines %s"},
	{"scen_batch_lines_capped", "Failed batch lines not retried at "
	 "pool.batch_attempts: pool entries given up.", "gauge",
	 .scope = SC_NOW, .read = r_batch_capped, .at = {30, 30, 226, 30},
	 .label = "lines at the attempt cap", .indent = 2,
	 .json = "lines_capped", .html = "lines at the attempt cap"},
	{"scen_batch_oldest_open_age_seconds", "Age of the oldest open "
	 "batch, from when it was planned.", "gauge", U_SECONDS, SC_NOW,
	 .read = r_batch_oldest, .at = {40, 40, 227, 40},
	 .label = "oldest open batch age", .indent = 2,
	 .json = "oldest_open_age_s", .html = "oldest open batch age"},
	{"scen_batch_keys_refused", "Accounts whose key the provider refused "
	 "for batches.", "gauge", .scope = SC_NOW,
	 .read = r_batch_keys_refused, .at = {50, 50, 228, 50},
	 .label = "keys refused for batches", .indent = 2,
	 .json = "keys_refused", .html = "keys refused for batches"},
	{.unit = U_TEXT, .scope = SC_NOW, .text = t_batch_refused,
	 .at = {60, 0, 0, 60}, .label = "their accounts", .indent = 4,
	 .html = "their accounts"},

	{"scen_scenarios_stored_total", "Scenarios stored, all time.",
	 "counter", .scope = SC_NOW, .read = r_scenarios, .at = {0, 0, 230}},
	{"scen_servings_total", "Servings recorded, all time.", "counter",
	 .scope = SC_NOW, .read = r_servings, .at = {0, 0, 240}},
	{"scen_alert", "1 for each alert that holds (level 1 warning, 2 "
	 "critical).", "gauge", .scope = SC_ALERT, .read = r_alert,
	 .at = {0, 0, 250}},
	{"scen_status", "Overall level: 0 OK, 1 WARNING, 2 CRITICAL.",
	 "gauge", .scope = SC_NOW, .read = r_status, .at = {0, 0, 260}},
	{"scen_stats_timestamp_seconds", "When these figures were taken.",
	 "gauge", U_TIME, SC_NOW, .read = r_now, .at = {0, 0, 270}},
};
const size_t stats_nmetrics = NL(stats_metrics);

/* ---- looking the table up ------------------------------------------------ */

/* by the place in format *f, then by the table's order */
static int cmp_at(const void *a, const void *b, void *f)
{
	const struct stats_metric *x = *(const struct stats_metric *const *)a;
	const struct stats_metric *y = *(const struct stats_metric *const *)b;
	int k = *(const enum stats_fmt *)f;
	if (x->at[k] != y->at[k])
		return x->at[k] < y->at[k] ? -1 : 1;
	return x < y ? -1 : x > y;
}

const struct stats_metric **stats_metrics_in(enum stats_fmt f,
					     enum stats_scope scope,
					     size_t *n)
{
	const struct stats_metric **v = xmalloc(stats_nmetrics * sizeof *v);
	*n = 0;
	for (size_t i = 0; i < stats_nmetrics; i++)
		if (stats_metrics[i].at[f] &&
		    (scope == SC_ANY || stats_metrics[i].scope == scope))
			v[(*n)++] = &stats_metrics[i];
	qsort_r(v, *n, sizeof *v, cmp_at, &f);
	return v;
}

int stats_label_in(const struct stats_label *l, enum stats_fmt f)
{
	return !l->only || (l->only & ONLY(f));
}

struct stats_label *stats_label_values(const struct stats *s,
				       const struct stats_labels *ls,
				       const struct window *w, size_t *n)
{
	struct stats_label *v;
	if (ls->list) {
		v = xmalloc(ls->n * sizeof *v);
		memcpy(v, ls->list, ls->n * sizeof *v);
		*n = ls->n;
	} else if (ls->accounts) {
		v = xcalloc(s->nacct + 1, sizeof *v);
		for (size_t i = 0; i < s->nacct; i++)
			v[i].value = s->acct[i].cfg->name;
		*n = s->nacct;
	} else {
		const char **names = stats_prefixed(w, ls->prefix, n);
		size_t plen = strlen(ls->prefix);
		v = xcalloc(*n + 1, sizeof *v);
		for (size_t i = 0; i < *n; i++)
			v[i].value = names[i] + plen;
		free(names);
	}
	return v;
}

double stats_read(const struct stats_metric *m, const struct stats *s,
		  const void *subject, const char *label, const char *sub)
{
	if (m->read)
		return m->read(s, subject, label, sub);
	return counter(WIN(subject), m->counter, label ? label : "");
}

const struct stats_metric *stats_metric_keyed(const char *key)
{
	for (size_t i = 0; i < stats_nmetrics; i++)
		if (stats_metrics[i].scope == SC_WINDOW &&
		    stats_metrics[i].json && !strcmp(stats_metrics[i].json, key))
			return &stats_metrics[i];
	abort();	/* a key of this file's own table */
}
