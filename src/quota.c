/* quota.c — which account makes the next call, and what each answer
 * teaches about the budget. State shared between processes lives in the
 * database (ledger and accounts rows); a memo of when an account will have
 * budget again keeps the common case free of queries. */
#include "scen/quota.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <xxhash.h>

#include "scen/util.h"

#define PROVIDER "*provider"
/* While another call probes the provider, a job asks again this often
 * (and at once when a call of this process ends, see engine.c). */
#define PROBE_POLL_S 0.5
/* Mixed into key fingerprints: a fingerprint found elsewhere tells
 * nothing about scen's. */
#define KEY_FP_SALT 0x73636e6b65796670ULL

struct scen_quota {
	const struct scen_config *cfg;
	struct scen_db *db;
	size_t n, cursor;
	int *disabled;		/* 401/403 this run, or remembered */
	double *avail_at;	/* no budget before this (memo) */
	long *cap;		/* calls this process may still make, or -1 */
	long *reserved;		/* calls this process reserved */
	int *proven;		/* the provider took its key (remembered) */
	int *out;		/* its calls in flight */
	char (*fp)[SCEN_KEY_FP_SIZE];	/* its key's fingerprint */
	int64_t *probe;		/* the call probing its breaker, or 0 */
	int recalled;		/* the keys' verdicts were read */
	int64_t provider_probe;	/* the call probing the provider, or 0 */
	double provider_at;	/* provider breaker open until (memo) */
};

static const char *const outcome_names[] = {
	[SCEN_OUT_OK] = "ok",
	[SCEN_OUT_INVALID] = "invalid",
	[SCEN_OUT_MALFORMED] = "malformed",
	[SCEN_OUT_429] = "429",
	[SCEN_OUT_SERVER] = "5xx",
	[SCEN_OUT_TIMEOUT] = "timeout",
	[SCEN_OUT_CONNECT] = "connect",
	[SCEN_OUT_AUTH] = "auth",
	[SCEN_OUT_BAD_REQUEST] = "400",
};

const char *scen_outcome_name(enum scen_outcome o)
{
	return outcome_names[o];
}

int scen_outcome_retryable(enum scen_outcome o)
{
	return o == SCEN_OUT_429 || o == SCEN_OUT_SERVER ||
	       o == SCEN_OUT_TIMEOUT || o == SCEN_OUT_CONNECT ||
	       o == SCEN_OUT_AUTH;
}

struct scen_quota *scen_quota_new(const struct scen_config *cfg,
				  struct scen_db *db)
{
	struct scen_quota *q = xcalloc(1, sizeof *q);
	q->cfg = cfg;
	q->db = db;
	q->n = cfg->provider.naccounts;
	q->disabled = xcalloc(q->n, sizeof(int));
	q->avail_at = xcalloc(q->n, sizeof(double));
	q->cap = xcalloc(q->n, sizeof(long));
	q->reserved = xcalloc(q->n, sizeof(long));
	q->proven = xcalloc(q->n, sizeof(int));
	q->out = xcalloc(q->n, sizeof(int));
	q->fp = xcalloc(q->n, sizeof *q->fp);
	q->probe = xcalloc(q->n, sizeof(int64_t));
	for (size_t i = 0; i < q->n; i++) {
		q->cap[i] = -1;
		if (cfg->provider.accounts[i].key)
			scen_quota_key_fp(cfg->provider.base_url,
					  cfg->provider.accounts[i].key,
					  q->fp[i]);
	}
	q->cursor = (size_t)(scen_random64() % (q->n ? q->n : 1));
	return q;
}

void scen_quota_free(struct scen_quota *q)
{
	if (!q)
		return;
	free(q->disabled);
	free(q->avail_at);
	free(q->cap);
	free(q->reserved);
	free(q->proven);
	free(q->out);
	free(q->fp);
	free(q->probe);
	free(q);
}

void scen_quota_key_fp(const char *base_url, const char *key, char *out)
{
	/* 64 bits of a salted hash: enough to tell a replaced key from the
	 * refused one, far too few to hold (or give back) a key */
	XXH64_hash_t url = XXH3_64bits_withSeed(base_url, strlen(base_url),
						KEY_FP_SALT);
	XXH64_hash_t h = XXH3_64bits_withSeed(key, strlen(key), url);
	snprintf(out, SCEN_KEY_FP_SIZE, "%016llx", (unsigned long long)h);
}

int scen_quota_key_refused(const struct scen_config *cfg,
			   const struct scen_account *ac,
			   const struct scen_acct_state *st)
{
	char fp[SCEN_KEY_FP_SIZE];
	if (strcmp(st->key_verdict, "refused"))
		return 0;
	if (!ac->key)
		return 1;
	scen_quota_key_fp(cfg->provider.base_url, ac->key, fp);
	return !strcmp(fp, st->key_fp);
}

double scen_quota_day_start(const struct scen_config *cfg, double now)
{
	double off = cfg->provider.day_resets_min * 60.0;
	return floor((now - off) / 86400.0) * 86400.0 + off;
}

static double min2(double a, double b)
{
	return a < b ? a : b;
}

/* Whether a breaker lets a call through now; when it does not, *free_at
 * says when it may. An open breaker past its cool-down lets one probe
 * through (and *changed asks the caller to store the new state). */
static int breaker_gate(const struct scen_config *cfg, struct scen_acct_state *a,
			double now, double *free_at, int *changed)
{
	double cool = cfg->provider.breaker_cooldown_s;
	*changed = 0;
	if (!strcmp(a->breaker, "closed"))
		return 1;
	if (!strcmp(a->breaker, "open")) {
		if (now >= a->opened_at + cool) {
			snprintf(a->breaker, sizeof a->breaker, "probing");
			a->opened_at = now;
			*changed = 1;
			return 1;
		}
		*free_at = a->opened_at + cool;
		return 0;
	}
	/* probing: one call is out; a lost probe is replaced in time */
	double stale = cfg->provider.timeout_s + cool;
	if (now >= a->opened_at + stale) {
		a->opened_at = now;
		*changed = 1;
		return 1;
	}
	*free_at = a->opened_at + stale;
	return 0;
}

/* The lower of a configured limit and one the provider stated (0: none). */
static long lower(long configured, long stated)
{
	if (!stated)
		return configured;
	return configured && configured < stated ? configured : stated;
}

/* When account i has budget for a call of `tokens` (now when it has). */
static double budget_at(const struct scen_quota *q,
			const struct scen_account *cfg_ac,
			const struct scen_acct_state *a,
			const struct scen_usage *u, double now, long tokens,
			int out)
{
	struct scen_account eff = *cfg_ac, *ac = &eff;
	eff.rpm = lower(cfg_ac->rpm, a->lim_rpm);
	eff.rpd = lower(cfg_ac->rpd, a->lim_rpd);
	eff.tpm = lower(cfg_ac->tpm, a->lim_tpm);
	double t = now;
	if (a->cooldown_until > t)
		t = a->cooldown_until;
	if (a->set_aside_until > t)
		t = a->set_aside_until;
	/* the ledger's windows are a quarter second longer than the
	 * provider's (see db.c), and so is the wait for one to free up */
	if (ac->rpm && u->minute >= ac->rpm && u->oldest_minute + 60.25 > t)
		t = u->oldest_minute + 60.25;
	if (ac->rph && u->hour >= ac->rph && u->oldest_hour + 3600.25 > t)
		t = u->oldest_hour + 3600.25;
	if (ac->rpd && u->day >= ac->rpd) {
		double next = scen_quota_day_start(q->cfg, now) + 86400;
		if (next > t)
			t = next;
	}
	if (ac->tpm && u->tokens_minute > 0 &&
	    u->tokens_minute + tokens > ac->tpm) {
		/* calls out hold their estimate until they settle, which
		 * frees tokens long before the window does */
		double free = out > 0 ? now + 1 : u->oldest_minute + 60.25;
		if (free > t)
			t = free;
	}
	if (a->has_day && now < a->day_reset_at &&
	    u->since_day_seen >= a->day_remaining && a->day_reset_at > t)
		t = a->day_reset_at;
	if (a->has_tok && now < a->tok_reset_at &&
	    u->tokens_since_tok_seen + tokens > a->tok_remaining &&
	    a->tok_reset_at > t)
		t = a->tok_reset_at;
	return t;
}

/* Whether this process may use account i at all now. Until the provider
 * has taken an account's key once, one call at a time goes out on it, so
 * a wrong key costs one 401, not a volley. */
static int usable(const struct scen_quota *q, size_t i)
{
	return q->cfg->provider.accounts[i].key && !q->disabled[i] &&
	       (q->cap[i] < 0 || q->reserved[i] < q->cap[i]);
}

static int on_probation(const struct scen_quota *q, size_t i)
{
	return !q->proven[i] && q->out[i] > 0;
}

void scen_quota_set_cap(struct scen_quota *q, int acct, long calls)
{
	q->cap[acct] = calls;
}

long scen_quota_reserved(const struct scen_quota *q, int acct)
{
	return q->reserved[acct];
}

/* What the database remembers of account i's key, when it is the key
 * configured now: taken by the provider (no probation), or refused (not
 * used; a replaced key has another fingerprint and is tried). */
static void recall_verdict(struct scen_quota *q, size_t i,
			   const struct scen_acct_state *a)
{
	if (!a->key_verdict[0] || strcmp(a->key_fp, q->fp[i]))
		return;
	if (!strcmp(a->key_verdict, "accepted")) {
		q->proven[i] = 1;
	} else if (!q->disabled[i]) {
		q->disabled[i] = 1;
		scen_warn("account %s: the provider refused this key before; "
			  "not using it until it is replaced",
			  q->cfg->provider.accounts[i].name);
	}
}

/* Reads the verdicts on every account's key, once, before the first
 * reservation (so a probe knows which keys were taken). */
static int recall_verdicts(struct scen_quota *q)
{
	struct scen_acct_state a;
	for (size_t i = 0; i < q->n && !q->recalled; i++) {
		const struct scen_account *ac = &q->cfg->provider.accounts[i];
		if (!ac->key)
			continue;
		if (scen_db_account_get(q->db, ac->name, &a) < 0)
			return -1;
		recall_verdict(q, i, &a);
	}
	q->recalled = 1;
	return 0;
}

/* Whether some account this process may use has a key the provider
 * took. */
static int some_proven(const struct scen_quota *q)
{
	for (size_t i = 0; i < q->n; i++)
		if (usable(q, i) && q->proven[i])
			return 1;
	return 0;
}

/* The provider's breaker: whether a call may go out now, and whether it
 * is the probe (*probe). While another call probes, a job waits for its
 * verdict (within the job's deadline) rather than fail at once. */
static int provider_gate(struct scen_quota *q, struct scen_acct_state *prov,
			 double now, int *probe, double *retry_at)
{
	double pfree = INFINITY;
	if (breaker_gate(q->cfg, prov, now, &pfree, probe))
		return 1;
	if (!strcmp(prov->breaker, "probing")) {
		*retry_at = min2(pfree, now + PROBE_POLL_S);
	} else {
		q->provider_at = pfree;
		*retry_at = pfree;
	}
	return 0;
}

/* The next account, round-robin, that may take a call of `tokens` now
 * (only those whose key the provider took when proven_only); its state
 * in *a, *probe set when the call probes its breaker. -1 when none, with
 * *retry_at the earliest moment one may (left alone on errors). */
static int pick(struct scen_quota *q, double now, long tokens,
		uint64_t avoid, int proven_only, struct scen_acct_state *a,
		int *probe, double *retry_at)
{
	const struct scen_config *cfg = q->cfg;
	double best = INFINITY;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < q->n; k++) {
			size_t i = (q->cursor + k) % q->n;
			const struct scen_account *ac =
				&cfg->provider.accounts[i];
			int avoided = i < 64 && (avoid >> i & 1);
			if (avoided != pass || !usable(q, i) ||
			    (proven_only && !q->proven[i]))
				continue;
			if (on_probation(q, i)) {
				/* tried again when its first call is back */
				best = min2(best, now + 0.05);
				continue;
			}
			if (q->avail_at[i] > now) {
				best = min2(best, q->avail_at[i]);
				continue;
			}
			struct scen_usage u;
			if (scen_db_account_get(q->db, ac->name, a) < 0 ||
			    scen_db_usage(q->db, ac->name, now,
					  scen_quota_day_start(cfg, now),
					  a->day_seen_at, a->tok_seen_at,
					  &u) < 0)
				return -1;
			recall_verdict(q, i, a);	/* another process's */
			if (q->disabled[i])
				continue;
			double t = budget_at(q, ac, a, &u, now, tokens,
					     q->out[i]);
			double bfree = INFINITY;
			*probe = 0;
			if (t <= now &&
			    !breaker_gate(cfg, a, now, &bfree, probe))
				t = bfree;
			if (t > now) {
				q->avail_at[i] = t;
				best = min2(best, t);
				continue;
			}
			q->cursor = i + 1;
			return (int)i;
		}
	}
	*retry_at = best;
	return -1;
}

int scen_quota_reserve(struct scen_quota *q, double now, long tokens,
		       uint64_t avoid, int64_t job, int64_t *call,
		       double *retry_at)
{
	struct scen_acct_state prov, a;
	int prov_probe, probe;

	*retry_at = INFINITY;
	if (q->provider_at > now) {
		*retry_at = q->provider_at;
		return -1;
	}
	if (recall_verdicts(q) < 0 ||
	    scen_db_account_get(q->db, PROVIDER, &prov) < 0 ||
	    !provider_gate(q, &prov, now, &prov_probe, retry_at))
		return -1;
	/* the provider's probe goes on a key it took: a refused key would
	 * say nothing of the provider's health */
	int i = pick(q, now, tokens, avoid, prov_probe && some_proven(q), &a,
		     &probe, retry_at);
	if (i < 0)
		return -1;
	const char *name = q->cfg->provider.accounts[i].name;
	if (probe)
		scen_db_account_put(q->db, name, &a);
	if (prov_probe)
		scen_db_account_put(q->db, PROVIDER, &prov);
	*call = scen_db_call_reserve(q->db, name, now, tokens, job);
	if (*call < 0)
		return -1;
	if (probe)
		q->probe[i] = *call;
	if (prov_probe)
		q->provider_probe = *call;
	q->reserved[i]++;
	q->out[i]++;
	return i;
}

/* Counts a failure against a breaker; opens it at the threshold. */
static void breaker_fail(struct scen_quota *q, struct scen_acct_state *a,
			 const char *name, double now)
{
	a->failures++;
	if (strcmp(a->breaker, "open") &&
	    (!strcmp(a->breaker, "probing") ||
	     a->failures >= q->cfg->provider.breaker_failures)) {
		snprintf(a->breaker, sizeof a->breaker, "open");
		a->opened_at = now;
		scen_db_event(q->db, "breaker_open", name, NULL);
		scen_db_count(q->db, "breaker.open", 1);
		scen_warn("circuit breaker opened for %s after %ld failures",
			  name, a->failures);
	} else if (!strcmp(a->breaker, "open")) {
		a->opened_at = now;
	}
}

static void breaker_ok(struct scen_quota *q, struct scen_acct_state *a,
		       const char *name)
{
	if (strcmp(a->breaker, "closed")) {
		scen_db_event(q->db, "breaker_closed", name, NULL);
		scen_info("circuit breaker closed again for %s", name);
	}
	snprintf(a->breaker, sizeof a->breaker, "closed");
	a->failures = 0;
}

/* A probe whose answer says nothing of the service's health (a refused
 * key, a 429) is given back at once: the next call probes, instead of
 * every call waiting timeout_s + cooldown_s for a probe thought lost. */
static void probe_return(struct scen_quota *q, struct scen_acct_state *b,
			 double now)
{
	if (strcmp(b->breaker, "probing"))
		return;
	snprintf(b->breaker, sizeof b->breaker, "open");
	b->opened_at = now - q->cfg->provider.breaker_cooldown_s;
}

/* What an answer says of the account's key: refused (401) or taken (the
 * provider answered past authentication); a 5xx or no answer says
 * nothing, and neither does a 403, which may be about a model, an
 * organisation or a proxy rather than the key (the account is still set
 * aside for this run). The verdict is stored with the key's fingerprint. */
static void judge_key(struct scen_quota *q, int acct,
		      struct scen_acct_state *a, enum scen_outcome o,
		      long status, double now)
{
	const char *v = o == SCEN_OUT_AUTH ? "refused" : "accepted";
	if (o == SCEN_OUT_SERVER || o == SCEN_OUT_TIMEOUT ||
	    o == SCEN_OUT_CONNECT || (o == SCEN_OUT_AUTH && status != 401))
		return;
	if (o != SCEN_OUT_AUTH)
		q->proven[acct] = 1;
	if (!strcmp(a->key_verdict, v) && !strcmp(a->key_fp, q->fp[acct]))
		return;
	snprintf(a->key_fp, sizeof a->key_fp, "%s", q->fp[acct]);
	snprintf(a->key_verdict, sizeof a->key_verdict, "%s", v);
	a->key_verdict_at = now;
}

/* "... on requests per minute (RPM): Limit 30, Used 30, ..." -> the RPM
 * limit, for kind "RPM"; 0 when the message does not say. */
static long stated_limit(const char *msg, const char *kind)
{
	char pat[16];
	snprintf(pat, sizeof pat, "(%s): Limit ", kind);
	const char *p = msg ? strstr(msg, pat) : NULL;
	if (!p)
		return 0;
	long v = strtol(p + strlen(pat), NULL, 10);
	return v > 0 ? v : 0;
}

static int day_spent_message(const char *msg)
{
	return msg && (strcasestr(msg, "per day") || strstr(msg, "(RPD)") ||
		       strstr(msg, "(TPD)"));
}

/* What the provider's headers and 429 message say of the account's
 * limits and what remains of them. */
static void learn_limits(struct scen_acct_state *a, enum scen_outcome o,
			 const struct scen_call *c, const char *error_message,
			 double now)
{
	const struct scen_ratelimit *rl = c ? &c->rl : NULL;
	if (rl && rl->limit_req > 0 && rl->has_req)
		a->lim_rpd = rl->limit_req;
	if (rl && rl->limit_tok > 0 && rl->has_tok)
		a->lim_tpm = rl->limit_tok;
	if (o == SCEN_OUT_429 && stated_limit(error_message, "RPM"))
		a->lim_rpm = stated_limit(error_message, "RPM");
	if (rl && rl->has_req) {
		a->has_day = 1;
		a->day_remaining = rl->remaining_req;
		a->day_seen_at = now;
		a->day_reset_at = now + fmax(rl->reset_req_s, 0.5);
	}
	if (rl && rl->has_tok) {
		a->has_tok = 1;
		a->tok_remaining = rl->remaining_tok;
		a->tok_seen_at = now;
		a->tok_reset_at = now + fmax(rl->reset_tok_s, 0.5);
	}
}

/* A 429: the account cools down for the advised time, or is set aside
 * when its day is spent or the wait is past a request's deadline. */
static void rate_limited(struct scen_quota *q, int acct,
			 struct scen_acct_state *a, const struct scen_call *c,
			 const char *error_message, double now)
{
	const struct scen_config *cfg = q->cfg;
	const struct scen_account *ac = &cfg->provider.accounts[acct];
	const struct scen_ratelimit *rl = c ? &c->rl : NULL;
	double wait = rl && rl->has_retry ? rl->retry_after_s : -1;
	double said = scen_parse_try_again(error_message);
	if (said > wait)
		wait = said;
	int hinted = wait >= 0;
	if (!hinted)
		wait = 10;	/* no hint: a short cool-down */
	if (day_spent_message(error_message) ||
	    (hinted && wait > cfg->provider.deadline_s)) {
		a->set_aside_until = now + wait;
		scen_db_event(q->db, "set_aside", ac->name,
			      error_message);
		scen_db_count(q->db, "account.set_aside", 1);
		scen_info("account %s set aside for %.0f s (%s)",
			  ac->name, wait, "its budget is spent");
	} else {
		a->cooldown_until = now + wait;
	}
	q->avail_at[acct] = now + wait;
}

void scen_quota_settle(struct scen_quota *q, int acct, int64_t call,
		       enum scen_outcome o, const struct scen_call *c,
		       const char *error_message, long tokens, double now)
{
	const struct scen_config *cfg = q->cfg;
	const struct scen_account *ac = &cfg->provider.accounts[acct];
	struct scen_acct_state a, prov;
	char name[160];

	if (scen_db_account_get(q->db, ac->name, &a) < 0 ||
	    scen_db_account_get(q->db, PROVIDER, &prov) < 0)
		return;
	long status = c ? c->status : 0;
	int probed = call == q->provider_probe;
	int acct_probed = call == q->probe[acct];
	if (probed)
		q->provider_probe = 0;
	if (acct_probed)
		q->probe[acct] = 0;
	if (q->out[acct] > 0)
		q->out[acct]--;
	judge_key(q, acct, &a, o, status, now);
	if (o == SCEN_OUT_429)
		scen_db_call_settle(q->db, call, 429, 0, now);
	else
		scen_db_call_settle(q->db, call, status, tokens, now);
	snprintf(name, sizeof name, "call.%s", scen_outcome_name(o));
	scen_db_count(q->db, name, 1);
	snprintf(name, sizeof name, "account.%s.%s", ac->name,
		 scen_outcome_name(o));
	scen_db_count(q->db, name, 1);

	learn_limits(&a, o, c, error_message, now);
	q->avail_at[acct] = 0;
	switch (o) {
	case SCEN_OUT_OK:
	case SCEN_OUT_INVALID:
	case SCEN_OUT_MALFORMED:
	case SCEN_OUT_BAD_REQUEST:
		breaker_ok(q, &a, ac->name);
		breaker_ok(q, &prov, "the provider");
		q->provider_at = 0;
		break;
	case SCEN_OUT_429:
		rate_limited(q, acct, &a, c, error_message, now);
		break;
	case SCEN_OUT_SERVER:
	case SCEN_OUT_TIMEOUT:
	case SCEN_OUT_CONNECT:
		breaker_fail(q, &a, ac->name, now);
		breaker_fail(q, &prov, "the provider", now);
		if (!strcmp(prov.breaker, "open"))
			q->provider_at = prov.opened_at +
					 cfg->provider.breaker_cooldown_s;
		break;
	case SCEN_OUT_AUTH:
		if (!q->disabled[acct]) {
			q->disabled[acct] = 1;
			scen_error("account %s: the provider refused its key "
				   "(HTTP %ld); not using it %s", ac->name,
				   status, status == 401 ? "again until it is "
				   "replaced" : "in this run");
			scen_db_event(q->db, "auth_failed", ac->name,
				      "key refused; not used until replaced");
		}
		break;
	}
	if (o == SCEN_OUT_AUTH || o == SCEN_OUT_429) {
		if (probed)
			probe_return(q, &prov, now);
		if (acct_probed)
			probe_return(q, &a, now);
		q->provider_at = 0;
	}
	scen_db_account_put(q->db, ac->name, &a);
	scen_db_account_put(q->db, PROVIDER, &prov);
}

int scen_quota_open(const struct scen_quota *q, double now)
{
	if (q->provider_at > now)
		return 0;
	for (size_t i = 0; i < q->n; i++)
		if (usable(q, i) && q->avail_at[i] <= now)
			return 1;
	return 0;
}

double scen_quota_recovery(const struct scen_quota *q, double now)
{
	double t = INFINITY;
	for (size_t i = 0; i < q->n; i++)
		if (usable(q, i))
			t = min2(t, q->avail_at[i] > now ? q->avail_at[i] : now);
	if (q->provider_at > t)
		t = q->provider_at;
	return t;
}
