/* table.c — scen-cache-stats's text table (scen-cache-stats(1)): a column
 * per window for every metric of the table that the table shows, then the
 * accounts, the queue and the pool now, the alerts and the advice. */
#include "stats_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A label column, then a column per window, each with a space before it
 * so that even the widest figure stays apart from its neighbour. */
#define LABEL_W 30
#define COL_W 14

void stats_fmt_pct(char *buf, size_t n, double x)
{
	if (isnan(x))
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.1f%%", 100 * x);
}

void stats_fmt_s(char *buf, size_t n, double x)
{
	if (isnan(x))
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.2fs", x);
}

void stats_fmt_cell(char *buf, size_t n, const struct stats_metric *m,
		    double x)
{
	if (m->unit == U_RATIO)
		stats_fmt_pct(buf, n, x);
	else if (m->unit == U_SECONDS)
		stats_fmt_s(buf, n, x);
	else if (isnan(x))
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%ld", (long)x);
}

int stats_columns(const struct stats *s, const struct stats_metric *m)
{
	return m->scope == SC_WINDOW ? s->nwin : 1;
}

const void *stats_column(const struct stats *s, const struct stats_metric *m,
			 int i)
{
	return m->scope == SC_WINDOW ? (const void *)&s->w[i] : NULL;
}

void stats_fmt_column(char *buf, size_t n, const struct stats *s,
		      const struct stats_metric *m, int i, const char *l)
{
	const void *subject = stats_column(s, m, i);
	if (m->unit == U_TEXT)
		snprintf(buf, n, "%s", m->text(s, subject));
	else
		stats_fmt_cell(buf, n, m, stats_read(m, s, subject, l, NULL));
}

void stats_fmt_runway(char *buf, size_t n, const struct stats *s)
{
	if (isinf(s->pool_runway))
		snprintf(buf, n, "- (no pool servings in the last 7 days)");
	else
		snprintf(buf, n, "%.1f days (%ld pool servings in the last 7 "
			 "days)", s->pool_runway, s->pool_served_week);
}

void stats_acct_state(char *buf, size_t n, const struct acct *a,
		      int key_note)
{
	char t[24];
	if (a->key_refused) {
		scen_iso8601(a->st.key_verdict_at, t);
		snprintf(buf, n, "key refused by the provider at %s", t);
	} else if (a->set_aside) {
		scen_iso8601(a->st.set_aside_until, t);
		snprintf(buf, n, "set aside until %s", t);
	} else if (a->cooling) {
		scen_iso8601(a->st.cooldown_until, t);
		snprintf(buf, n, "cooling down until %s", t);
	} else {
		snprintf(buf, n, "%s", key_note && !a->cfg->key
			 ? "ready (no key here)" : "ready");
	}
}

static void row_start(struct strbuf *sb, int indent, const char *label)
{
	sb_addf(sb, "%*s%-*.*s", indent, "", LABEL_W - indent,
		LABEL_W - indent - 1, label);
}

/* One row: label, then m's figure of label value l in each window (or
 * once, for a figure of now). */
static void table_row(struct strbuf *sb, const struct stats *s,
		      const struct stats_metric *m, const char *label,
		      const char *l)
{
	char buf[256], pct[16];
	row_start(sb, m->indent, label);
	for (int i = 0; i < stats_columns(s, m); i++) {
		if (m->share) {
			double x = stats_read(m, s, &s->w[i], l, NULL);
			stats_fmt_pct(pct, sizeof pct,
				      stats_ratio((long)x,
						  stats_answered(&s->w[i])));
			snprintf(buf, sizeof buf, "%ld (%s)", (long)x, pct);
		} else {
			stats_fmt_column(buf, sizeof buf, s, m, i, l);
		}
		sb_addf(sb, " %*s", COL_W, buf);
	}
	sb_addc(sb, '\n');
}

static void table_metric(struct strbuf *sb, const struct stats *s,
			 const struct stats_metric *m)
{
	if (m->section)
		sb_addf(sb, "\n%s\n", m->section);
	if (!m->labels) {
		table_row(sb, s, m, m->label, NULL);
		return;
	}
	size_t n;
	struct stats_label *v = stats_label_values(s, m->labels,
						   &s->w[s->widest], &n);
	char label[64];
	for (size_t k = 0; k < n; k++) {
		if (!stats_label_in(&v[k], FMT_TABLE))
			continue;
		snprintf(label, sizeof label, m->label,
			 v[k].text ? v[k].text : v[k].value);
		table_row(sb, s, m, label, v[k].value);
	}
	free(v);
}

static void table_accounts(struct strbuf *sb, const struct stats *s)
{
	char t[24];
	scen_iso8601(s->day_start, t);
	sb_addf(sb, "\nAccounts (now; the quota day began %s)\n", t);
	sb_addf(sb, "  %-12s %10s %10s %12s %6s %4s %-7s %s\n", "account",
		"minute/rpm", "hour/rph", "today/rpd", "use", "429",
		"breaker", "state");
	for (size_t i = 0; i < s->nacct; i++) {
		const struct acct *a = &s->acct[i];
		long used[3] = {a->u.minute, a->u.hour, a->u.day};
		long lim[3] = {a->cfg->rpm, a->cfg->rph, a->cfg->rpd};
		char p[3][32], use[16], state[64];
		for (int k = 0; k < 3; k++) {
			if (lim[k])
				snprintf(p[k], sizeof p[k], "%ld/%ld",
					 used[k], lim[k]);
			else
				snprintf(p[k], sizeof p[k], "%ld/-", used[k]);
		}
		stats_fmt_pct(use, sizeof use, a->day_use);
		stats_acct_state(state, sizeof state, a, 1);
		sb_addf(sb, "  %-12s %10s %10s %12s %6s %4ld %-7s %s\n",
			a->cfg->name, p[0], p[1], p[2], use, a->u.refused_day,
			a->st.breaker, state);
	}
	sb_addf(sb, "  provider breaker: %s%s\n", s->provider.breaker,
		s->provider_open ? " (no calls are made)" : "");
}

static void table_queue_pool(struct strbuf *sb, const struct stats *s)
{
	char buf[128];
	long depth = s->queue.queued + s->queue.running;
	sb_addf(sb, "\nQueue (now): %ld jobs (%ld queued, %ld running)",
		depth, s->queue.queued, s->queue.running);
	if (s->queue.oldest_queued > 0) {
		stats_fmt_s(buf, sizeof buf, s->now - s->queue.oldest_queued);
		sb_addf(sb, "; the oldest has waited %s", buf);
	}
	sb_addc(sb, '\n');

	sb_addf(sb, "\nPool (unserved, retired after %g days)\n",
		s->cfg->pool.max_age_days);
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
	stats_fmt_runway(buf, sizeof buf, s);
	sb_addf(sb, "  runway at the last 7 days' use: %s\n", buf);
}

/* The metrics of scope that the table shows. */
static void table_scope(struct strbuf *sb, const struct stats *s,
			enum stats_scope scope)
{
	size_t n;
	const struct stats_metric **m = stats_metrics_in(FMT_TABLE, scope,
							 &n);
	for (size_t i = 0; i < n; i++)
		table_metric(sb, s, m[i]);
	free(m);
}

void stats_table(struct strbuf *sb, const struct stats *s)
{
	char t[24];
	scen_iso8601(s->now, t);
	sb_addf(sb, "scen-cache-stats: %s at %s\n", s->dbpath, t);
	if (s->nwin > W_SINCE) {
		scen_iso8601(s->w[W_SINCE].from, t);
		sb_addf(sb, "(since: from %s)\n", t);
	}
	sb_addf(sb, "\n%-*s", LABEL_W, "");
	for (int i = 0; i < s->nwin; i++)
		sb_addf(sb, " %*s", COL_W, stats_win_title[i]);
	sb_addc(sb, '\n');

	table_scope(sb, s, SC_WINDOW);
	table_accounts(sb, s);
	table_queue_pool(sb, s);
	table_scope(sb, s, SC_NOW);
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
