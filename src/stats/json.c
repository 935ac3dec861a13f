/* json.c — scen-cache-stats --json (scen-cache-stats(1)): one object; each
 * window's and each account's figures are the metrics of the table that
 * JSON shows, the rest is the state now, the alerts and the advice. */
#include "stats_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* A value as its unit says (a label's count always a whole number). */
static void jvalue(struct strbuf *sb, enum stats_unit unit, double x)
{
	switch (unit) {
	case U_RATIO:
		jnum(sb, x);
		break;
	case U_SECONDS:
		jsec(sb, x);
		break;
	case U_TIME:
		jtime(sb, x);
		break;
	case U_BOOL:
		sb_adds(sb, x != 0 ? "true" : "false");
		break;
	default:
		if (isnan(x))
			sb_adds(sb, "null");
		else
			sb_addf(sb, "%ld", (long)x);
	}
}

/* The values of m's label l: one, or an object of its sub-labels. */
static void jlabel(struct strbuf *sb, const struct stats *s,
		   const struct stats_metric *m, const void *subject,
		   const struct stats_label *l)
{
	if (!m->sub) {
		jvalue(sb, l->count ? U_COUNT : m->unit,
		       stats_read(m, s, subject, l->value, NULL));
		return;
	}
	int first = 1;
	sb_addc(sb, '{');
	for (size_t k = 0; k < m->sub->n; k++) {
		const struct stats_label *sl = &m->sub->list[k];
		jkey(sb, &first, sl->key ? sl->key : sl->value);
		jvalue(sb, m->unit, stats_read(m, s, subject, l->value, sl->value));
	}
	sb_addc(sb, '}');
}

/* m's figures of subject (w: the window, for dynamic labels) as keys of
 * the object being written. */
static void jmetric(struct strbuf *sb, const struct stats *s,
		    const struct stats_metric *m, const void *subject,
		    const struct window *w, int *first)
{
	if (m->unit == U_TEXT || !m->labels) {
		jkey(sb, first, m->json);
		if (m->unit == U_TEXT)
			jstr(sb, m->text(s, subject));
		else
			jvalue(sb, m->unit, stats_read(m, s, subject, NULL, NULL));
		return;
	}
	int inner = 1, *f = m->json ? &inner : first;
	if (m->json) {
		jkey(sb, first, m->json);
		sb_addc(sb, '{');
	}
	size_t n;
	struct stats_label *v = stats_label_values(s, m->labels, w, &n);
	for (size_t k = 0; k < n; k++) {
		if (!stats_label_in(&v[k], FMT_JSON))
			continue;
		jkey(sb, f, v[k].key ? v[k].key : v[k].value);
		jlabel(sb, s, m, subject, &v[k]);
	}
	free(v);
	if (m->json)
		sb_addc(sb, '}');
}

/* One object of the metrics of scope for subject; rows with the same
 * json_in next to each other share an object of that key. */
static void jobject(struct strbuf *sb, const struct stats *s,
		    enum stats_scope scope, const void *subject,
		    const struct window *w)
{
	size_t n;
	const struct stats_metric **m = stats_metrics_in(FMT_JSON, scope, &n);
	const char *in = NULL;
	int first = 1, inner = 1;
	sb_addc(sb, '{');
	for (size_t i = 0; i < n; i++) {
		const char *want = m[i]->json_in;
		if (in && (!want || strcmp(in, want)))
			sb_addc(sb, '}');
		if (want && (!in || strcmp(in, want))) {
			jkey(sb, &first, want);
			sb_addc(sb, '{');
			inner = 1;
		}
		in = want;
		jmetric(sb, s, m[i], subject, w, in ? &inner : &first);
	}
	if (in)
		sb_addc(sb, '}');
	sb_addc(sb, '}');
	free(m);
}

static void json_now(struct strbuf *sb, const struct stats *s, int *first)
{
	jkey(sb, first, "provider");
	sb_adds(sb, "{\"breaker\":");
	jstr(sb, s->provider.breaker);
	sb_adds(sb, ",\"open\":");
	sb_adds(sb, s->provider_open ? "true" : "false");
	sb_addc(sb, '}');

	jkey(sb, first, "queue");
	sb_addf(sb, "{\"depth\":%ld,\"queued\":%ld,\"running\":%ld,"
		"\"oldest_queued_s\":", s->queue.queued + s->queue.running,
		s->queue.queued, s->queue.running);
	jsec(sb, s->queue.oldest_queued > 0
		 ? s->now - s->queue.oldest_queued : NAN);
	sb_addc(sb, '}');

	jkey(sb, first, "pool");
	sb_addf(sb, "{\"available\":%ld,\"retired\":%ld,"
		"\"old_versions\":%ld,\"min\":%ld,\"max_age_days\":",
		s->pool_available, s->pool_retired, s->pool_stale,
		s->cfg->alerts.pool_min);
	jnum(sb, s->cfg->pool.max_age_days);
	/* the runway: null (unbounded) without pool servings */
	sb_addf(sb, ",\"served_7d\":%ld,\"runway_days\":",
		s->pool_served_week);
	jnum(sb, s->pool_runway);
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
		sb_addf(sb, ",\"available\":%ld,\"retired\":%ld",
			p->available, p->retired);
		jkey(sb, &f, "oldest_age_s");
		jsec(sb, p->available ? s->now - p->oldest : NAN);
		jkey(sb, &f, "newest_age_s");
		jsec(sb, p->available ? s->now - p->newest : NAN);
		sb_addc(sb, '}');
	}
	sb_adds(sb, "]}");

	/* the metrics of now that JSON shows: the batches */
	jkey(sb, first, "batches");
	jobject(sb, s, SC_NOW, NULL, NULL);

	jkey(sb, first, "totals");
	sb_addf(sb, "{\"scenarios\":%lld,\"servings\":%lld,"
		"\"template_versions\":%lld}",
		(long long)s->totals.scenarios, (long long)s->totals.servings,
		(long long)s->totals.templates);
}

static void json_alerts(struct strbuf *sb, const struct stats *s,
			int *first)
{
	jkey(sb, first, "alerts");
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
	jkey(sb, first, "advice");
	sb_addc(sb, '[');
	for (size_t i = 0; i < s->nadvice; i++) {
		if (i)
			sb_addc(sb, ',');
		jstr(sb, s->advice[i]);
	}
	sb_addc(sb, ']');
}

void stats_json(struct strbuf *sb, const struct stats *s)
{
	int first = 1, f2 = 1;
	sb_addc(sb, '{');
	jkey(sb, &first, "generated_at");
	jtime(sb, s->now);
	jkey(sb, &first, "database");
	jstr(sb, s->dbpath);
	jkey(sb, &first, "status");
	jstr(sb, scen_level_name(s->level));
	jkey(sb, &first, "windows");
	sb_addc(sb, '{');
	for (int i = 0; i < s->nwin; i++) {
		jkey(sb, &f2, stats_win_key[i]);
		jobject(sb, s, SC_WINDOW, &s->w[i], &s->w[i]);
	}
	sb_addc(sb, '}');
	jkey(sb, &first, "quota_day_start");
	jtime(sb, s->day_start);
	jkey(sb, &first, "accounts");
	sb_addc(sb, '[');
	for (size_t i = 0; i < s->nacct; i++) {
		if (i)
			sb_addc(sb, ',');
		jobject(sb, s, SC_ACCOUNT, &s->acct[i], NULL);
	}
	sb_addc(sb, ']');
	json_now(sb, s, &first);
	json_alerts(sb, s, &first);
	sb_adds(sb, "}\n");
}
