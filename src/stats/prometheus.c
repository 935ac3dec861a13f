/* prometheus.c — scen-cache-stats --prometheus (scen-cache-stats(1)): every
 * metric of the table that has a Prometheus name, in the text exposition
 * format, a series per subject (window, account, pool template, alert)
 * and label value. */
#include "stats_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* name{k="v",...} value: nkv label pairs in kv. NaN values are left out;
 * times keep their milliseconds. */
static void prom(struct strbuf *sb, const struct stats_metric *m,
		 const char *const *kv, size_t nkv, double x)
{
	if (isnan(x))
		return;
	sb_adds(sb, m->name);
	for (size_t i = 0; i < nkv; i++) {
		sb_addf(sb, "%c%s=\"", i ? ',' : '{', kv[2 * i]);
		scen_prom_label(sb, kv[2 * i + 1]);
		sb_addc(sb, '"');
	}
	if (nkv)
		sb_addc(sb, '}');
	if (isinf(x))	/* the exposition format's infinities */
		sb_adds(sb, x > 0 ? " +Inf\n" : " -Inf\n");
	else if (m->unit == U_TIME)
		sb_addf(sb, " %.3f\n", x);
	else if (x == floor(x) && fabs(x) < 1e15)
		sb_addf(sb, " %.0f\n", x);
	else
		sb_addf(sb, " %.6g\n", x);
}

static size_t nsubjects(const struct stats *s, enum stats_scope scope)
{
	switch (scope) {
	case SC_WINDOW:
		return (size_t)s->nwin;
	case SC_ACCOUNT:
		return s->nacct;
	case SC_POOL:
		return s->npool;
	case SC_ALERT:
		return s->nalerts;
	default:
		return 1;
	}
}

/* The i-th subject of scope, and its labels into kv; returns how many
 * label pairs. */
static size_t subject(const struct stats *s, enum stats_scope scope,
		      size_t i, const void **subj, const char **kv)
{
	switch (scope) {
	case SC_WINDOW:
		*subj = &s->w[i];
		kv[0] = "window", kv[1] = stats_win_key[i];
		return 1;
	case SC_ACCOUNT:
		*subj = &s->acct[i];
		kv[0] = "account", kv[1] = s->acct[i].cfg->name;
		return 1;
	case SC_POOL:
		*subj = &s->pool[i];
		kv[0] = "experiment", kv[1] = s->pool[i].experiment;
		kv[2] = "template", kv[3] = s->pool[i].template_name;
		return 2;
	case SC_ALERT:
		*subj = &s->alerts[i];
		kv[0] = "name", kv[1] = s->alerts[i].name;
		kv[2] = "subject", kv[3] = s->alerts[i].subject;
		return 2;
	default:
		*subj = NULL;
		return 0;
	}
}

static void prom_metric(struct strbuf *sb, const struct stats *s,
			const struct stats_metric *m)
{
	sb_addf(sb, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help,
		m->name, m->type);
	size_t nl = 1;
	struct stats_label *v = NULL;
	if (m->labels)
		v = stats_label_values(s, m->labels, &s->w[s->widest], &nl);
	for (size_t i = 0; i < nsubjects(s, m->scope); i++) {
		const char *kv[6];
		const void *subj;
		size_t nkv = subject(s, m->scope, i, &subj, kv);
		for (size_t k = 0; k < nl; k++) {
			if (!v) {
				prom(sb, m, kv, nkv,
				     stats_read(m, s, subj, NULL, NULL));
				continue;
			}
			if (!stats_label_in(&v[k], FMT_PROM))
				continue;
			kv[2 * nkv] = m->labels->name;
			kv[2 * nkv + 1] = v[k].value;
			prom(sb, m, kv, nkv + 1,
			     stats_read(m, s, subj, v[k].value, NULL));
		}
	}
	free(v);
}

void stats_prometheus(struct strbuf *sb, const struct stats *s)
{
	size_t n;
	const struct stats_metric **m = stats_metrics_in(FMT_PROM, SC_ANY, &n);
	for (size_t i = 0; i < n; i++)
		prom_metric(sb, s, m[i]);
	free(m);
}
