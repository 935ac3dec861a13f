/* poolfill_window.c — how much scen-pool-fill may take: a share of each
 * account's remaining quota day, --max-calls, and the time until --until or
 * the end of the quota day (scen-pool-fill(1), Budget, Time; scen.yaml(5),
 * pool). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scen/poolfill_int.h"

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

/* ---- time ------------------------------------------------------------- */

void scen_pool_window_open(struct fill *f, double now)
{
	f->until = f->o->until_min >= 0 ? next_local(now, f->o->until_min)
					: INFINITY;
	/* the budget is a share of this quota day: the run ends with it */
	double day_end = scen_quota_day_start(f->cfg, now) + 86400;
	f->horizon = f->until < day_end ? f->until : day_end;
}

enum stop scen_pool_window_stop(const struct fill *f, double now)
{
	if (now < f->horizon)
		return STOP_NONE;
	return f->horizon >= f->until ? STOP_UNTIL : STOP_DAY;
}

void scen_pool_fmt_until(const struct fill *f, char *buf, size_t n,
			 const char *fmt)
{
	time_t u = (time_t)f->until;
	struct tm tm;
	localtime_r(&u, &tm);
	strftime(buf, n, fmt, &tm);
}

/* ---- the budget when the run begins ----------------------------------- */

/* What a's day leaves: the limit less the ledger's calls, or the
 * provider's own figure when it is current and lower; -1 unlimited. */
static long day_left(const struct scen_acct_state *st,
		     const struct scen_usage *u, long rpd, double now)
{
	long left = -1;
	if (rpd > 0)
		left = rpd > u->day ? rpd - u->day : 0;
	if (st->has_day && now < st->day_reset_at) {
		long r = st->day_remaining - u->since_day_seen;
		if (r < 0)
			r = 0;
		if (left < 0 || r < left)
			left = r;
	}
	return left;
}

/* Account i's day and its share of it (scen.yaml(5), pool quota_share). */
static int read_account(struct fill *f, size_t i, double now,
			double day_start)
{
	const struct scen_account *ac = &f->cfg->provider.accounts[i];
	struct acct *a = &f->acct[i];
	struct scen_acct_state st;
	struct scen_usage u;
	if (scen_db_account_get(f->db, ac->name, &st) < 0 ||
	    scen_db_usage(f->db, ac->name, now, day_start, st.day_seen_at,
			  st.tok_seen_at, &u) < 0)
		return -1;
	/* the day's limit: the config's, or the provider's stated one when
	 * lower (as the quota module counts it) */
	long rpd = ac->rpd;
	if (st.lim_rpd > 0 && (!rpd || st.lim_rpd < rpd))
		rpd = st.lim_rpd;
	a->has_key = ac->key != NULL;
	a->used_day = u.day;
	a->rpd = rpd;
	a->remaining = day_left(&st, &u, rpd, now);
	if (!a->has_key)
		a->share_cap = 0;
	else if (a->remaining < 0)
		a->share_cap = -1;
	else
		a->share_cap = (long)floor(f->cfg->pool.quota_share *
					   (double)a->remaining + 1e-9);
	return 0;
}

int scen_pool_window_budget(struct fill *f, double now)
{
	double day_start = scen_quota_day_start(f->cfg, now);
	f->budget = 0;
	for (size_t i = 0; i < f->nacct; i++) {
		if (read_account(f, i, now, day_start) < 0)
			return -1;
		long cap = f->acct[i].share_cap;
		f->budget = ladd(f->budget, cap < 0 ? UNLIMITED : cap);
	}
	if (f->o->max_calls >= 0)
		f->budget = lmin(f->budget, f->o->max_calls);
	return 0;
}

void scen_pool_fmt_calls(char *buf, size_t n, long v)
{
	if (v >= UNLIMITED)
		snprintf(buf, n, "unlimited");
	else
		snprintf(buf, n, "%ld", v);
}

void scen_pool_window_print(struct fill *f)
{
	FILE *out = f->o->out;
	char b[32];
	scen_pool_fmt_calls(b, sizeof b, f->budget);
	fprintf(out, "budget: %s calls\n", b);
	for (size_t i = 0; i < f->nacct; i++) {
		const struct acct *a = &f->acct[i];
		const char *name = f->cfg->provider.accounts[i].name;
		if (!a->has_key)
			fprintf(out, "account %s: no key\n", name);
		else if (a->share_cap < 0)
			fprintf(out, "account %s: no cap (no day limit "
				"known), %ld calls today\n", name,
				a->used_day);
		else
			fprintf(out, "account %s: %ld calls (%g of %ld left "
				"today)\n", name, a->share_cap,
				f->cfg->pool.quota_share, a->remaining);
	}
	if (f->o->max_calls >= 0)
		fprintf(out, "max calls: %ld\n", f->o->max_calls);
	if (f->o->until_min >= 0) {
		char hm[32];
		scen_pool_fmt_until(f, hm, sizeof hm, "%Y-%m-%d %H:%M");
		fprintf(out, "until: %s\n", hm);
	}
}

/* ---- the budget while running ----------------------------------------- */

long scen_pool_calls(const struct fill *f)
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

/* The shares and --max-calls. */
long scen_pool_calls_left(const struct fill *f)
{
	long s = 0;
	for (size_t i = 0; i < f->nacct; i++)
		s = ladd(s, room(f, i));
	if (f->o->max_calls >= 0) {
		long r = f->o->max_calls - scen_pool_calls(f);
		s = lmin(s, r > 0 ? r : 0);
	}
	return s;
}

enum stop scen_pool_spent(const struct fill *f)
{
	return f->o->max_calls >= 0 && scen_pool_calls(f) >= f->o->max_calls
	       ? STOP_MAX_CALLS : STOP_BUDGET;
}

/* Shares r calls out into give[]: evenly between the accounts with room,
 * as far as each has; with fewer calls than accounts, one each, starting
 * at the one whose turn it is. */
static void share_out(struct fill *f, long r, long *give)
{
	size_t n = f->nacct, active = 0;
	for (size_t i = 0; i < n; i++)
		active += room(f, i) > 0;
	while (r > 0 && active) {
		long each = r / (long)active;
		if (each == 0) {
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
}

/*
 * Each account may reach its share; when --max-calls leaves fewer calls
 * than the shares do, those are split between the accounts (the odd ones
 * rotating), so that one step, which may reserve on several accounts,
 * never exceeds the total.
 */
void scen_pool_apply_caps(struct fill *f)
{
	size_t n = f->nacct;
	long total = 0;
	for (size_t i = 0; i < n; i++)
		total = ladd(total, room(f, i));
	long r = f->o->max_calls < 0 ? UNLIMITED
				     : f->o->max_calls - scen_pool_calls(f);
	if (r < 0 || f->stop)
		r = 0;	/* stopping: no new call, not even a retry */
	if (r >= total) {
		for (size_t i = 0; i < n; i++)
			scen_quota_set_cap(f->q, (int)i, f->acct[i].has_key
					   ? f->acct[i].share_cap : 0);
		return;
	}
	long *give = xcalloc(n ? n : 1, sizeof(long));
	share_out(f, r, give);
	for (size_t i = 0; i < n; i++)
		scen_quota_set_cap(f->q, (int)i,
				   scen_quota_reserved(f->q, (int)i) + give[i]);
	free(give);
}
