/* html.c — scen-cache-stats --html (scen-cache-stats(1)): one
 * self-contained page, with the alerts and advice, the figures of the
 * metric table that HTML shows, and four charts as inline SVG. */
#include "stats_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* The hit rate of an hour of the charts, and its answers. */
static double hour_hit_rate(const struct hour_row *h, long *ans)
{
	*ans = 0;
	for (int k = 0; k < SCEN_TIER_COUNT; k++)
		*ans += h->tiers[k];
	return stats_ratio(*ans - h->tiers[SCEN_TIER_FRESH], *ans);
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
	long ans;
	for (size_t i = 0; i < s->nhours; i++) {
		double hr = hour_hit_rate(&s->hours[i], &ans);
		if (!ans)
			continue;
		sb_addf(sb, "%.1f,%.1f ", px(i, s->nhours), py(hr, 1));
		pts++;
	}
	sb_adds(sb, "\"/>\n");
	for (size_t i = 0; i < s->nhours; i++) {
		double hr = hour_hit_rate(&s->hours[i], &ans);
		if (!ans)
			continue;
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

static void html_head(struct strbuf *sb, const struct stats *s)
{
	char t[24];
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
}

static void html_alerts(struct strbuf *sb, const struct stats *s)
{
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
}

/* A row of the figures: label, then m's figure of l in each window (or
 * once, for a figure of now). */
static void html_row(struct strbuf *sb, const struct stats *s,
		     const struct stats_metric *m, const char *label,
		     const char *l)
{
	char buf[256];
	sb_adds(sb, "<tr>");
	html_cell(sb, "td", label);
	for (int i = 0; i < stats_columns(s, m); i++) {
		stats_fmt_column(buf, sizeof buf, s, m, i, l);
		html_cell(sb, "td", buf);
	}
	sb_adds(sb, "</tr>\n");
}

/* The rows of the metrics of scope that HTML shows. */
static void html_metrics(struct strbuf *sb, const struct stats *s,
			 enum stats_scope scope)
{
	char buf[96];
	size_t n, nl;
	const struct stats_metric **m = stats_metrics_in(FMT_HTML, scope, &n);
	for (size_t i = 0; i < n; i++) {
		if (!m[i]->labels) {
			html_row(sb, s, m[i], m[i]->html, NULL);
			continue;
		}
		struct stats_label *v = stats_label_values(
			s, m[i]->labels, &s->w[s->widest], &nl);
		for (size_t k = 0; k < nl; k++) {
			if (!stats_label_in(&v[k], FMT_HTML))
				continue;
			snprintf(buf, sizeof buf, m[i]->html,
				 v[k].text ? v[k].text : v[k].value);
			html_row(sb, s, m[i], buf, v[k].value);
		}
		free(v);
	}
	free(m);
}

static void html_figures(struct strbuf *sb, const struct stats *s)
{
	char t[24], buf[96];
	sb_adds(sb, "<h2>Figures</h2>\n<table class=\"figures\">\n<tr><th>"
		"</th>");
	for (int i = 0; i < s->nwin; i++) {
		if (i == W_SINCE) {
			scen_iso8601(s->w[i].from, t);
			snprintf(buf, sizeof buf, "since %s", t);
			html_cell(sb, "th", buf);
		} else {
			html_cell(sb, "th", stats_win_title[i]);
		}
	}
	sb_adds(sb, "</tr>\n");
	html_metrics(sb, s, SC_WINDOW);
	sb_adds(sb, "</table>\n");
}

static void html_accounts(struct strbuf *sb, const struct stats *s)
{
	char buf[96];
	sb_adds(sb, "<table class=\"accounts\">\n<tr><th>account</th>"
		"<th>429 today</th><th>breaker</th><th>state</th></tr>\n");
	for (size_t i = 0; i < s->nacct; i++) {
		const struct acct *a = &s->acct[i];
		sb_adds(sb, "<tr>");
		html_cell(sb, "td", a->cfg->name);
		snprintf(buf, sizeof buf, "%ld", a->u.refused_day);
		html_cell(sb, "td", buf);
		html_cell(sb, "td", a->st.breaker);
		stats_acct_state(buf, sizeof buf, a, 0);
		html_cell(sb, "td", buf);
		sb_adds(sb, "</tr>\n");
	}
	sb_addf(sb, "<tr><td>the provider</td><td></td><td>%s</td><td>%s"
		"</td></tr>\n</table>\n", s->provider.breaker,
		s->provider_open ? "no calls are made" : "");
}

static void html_pool(struct strbuf *sb, const struct stats *s)
{
	char buf[96];
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
}

void stats_html(struct strbuf *sb, const struct stats *s)
{
	html_head(sb, s);
	html_alerts(sb, s);
	html_figures(sb, s);
	sb_adds(sb, "<h2>Answers per hour by tier (last week)</h2>\n");
	chart_tiers(sb, s);
	sb_adds(sb, "<h2>Hit rate against its band</h2>\n");
	chart_hit_rate(sb, s);
	sb_adds(sb, "<h2>Accounts: usage against limits</h2>\n");
	chart_accounts(sb, s);
	html_accounts(sb, s);
	sb_adds(sb, "<h2>Queue wait of fresh jobs</h2>\n");
	chart_wait(sb, s);
	sb_addf(sb, "<p>Now: %ld queued, %ld running.</p>\n",
		s->queue.queued, s->queue.running);
	html_pool(sb, s);
	char runway[128];
	stats_fmt_runway(runway, sizeof runway, s);
	sb_adds(sb, "</table>\n<p>Runway at the last 7 days' use: ");
	scen_html_escape(sb, runway);
	sb_adds(sb, ".</p>\n<h2>Batches (all time; open now)</h2>\n"
		"<table class=\"batches\">\n");
	html_metrics(sb, s, SC_NOW);
	sb_addf(sb, "</table>\n<p>Stored, all time: %lld scenarios, %lld "
		"servings, %lld template versions.</p>\n</body>\n</html>\n",
		(long long)s->totals.scenarios, (long long)s->totals.servings,
		(long long)s->totals.templates);
}
