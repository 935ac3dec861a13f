/* test_quota.c — unit tests of spending the free tier (src/quota.c, SPEC
 * §5) on a temporary database, with times chosen by the test: round-robin,
 * rpm/rph/rpd/tpm from the config, 429 cool-downs and spent days, the
 * circuit breaker, refused keys, the provider's headers, caps, and the
 * quota day. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "capture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scen/config.h"
#include "scen/db.h"
#include "scen/provider.h"
#include "scen/quota.h"
#include "scen/util.h"

/* 2027-01-15T10:00:00Z: a Friday morning, far from a day boundary. */
#define T 1800007200.0

#define assert_near(a, b, eps) do { \
	double a_ = (a), b_ = (b); \
	if (!(fabs(a_ - b_) <= (eps))) \
		fail_msg("%s = %.17g, want %.17g", #a, a_, b_); \
} while (0)


static char tmpdir[64];
static int ndb;

static int setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/scen-test-quota-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	setenv("SCEN_TQ_KEY_A", "gsk_test_a", 1);
	setenv("SCEN_TQ_KEY_B", "gsk_test_b", 1);
	setenv("SCEN_TQ_KEY_C", "gsk_test_c", 1);
	unsetenv("SCEN_TQ_KEY_NONE");
	scen_verbosity = -1;	/* breaker and set-aside notices */
	return 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);

	free(cmd);
	return rc == 0 ? 0 : -1;
}

struct fx {
	struct scen_config *cfg;
	struct scen_db *db;
	struct scen_quota *q;
	char *path;
	int64_t call;	/* the last reserved call */
};

/* Until the provider has taken an account's key once, only one call at a
 * time goes out on it. Most tests start from proven keys: each account
 * made a call two days before T, outside every window they look at. */
#define P (T - 2 * 86400.0)

static void prove(struct fx *f)
{
	for (size_t k = 0; k < 2 * f->cfg->provider.naccounts; k++) {
		double ra;
		int64_t call;
		int a;

		assert_int_equal(scen_db_begin(f->db), 0);
		a = scen_quota_reserve(f->q, P + (double)k, 1, 0, 0, &call,
				       &ra);
		if (a >= 0)
			scen_quota_settle(f->q, a, call, SCEN_OUT_OK, NULL,
					  NULL, 1, P + (double)k);
		assert_int_equal(scen_db_commit(f->db), 0);
	}
}

/* A fixture with the accounts (YAML flow items, one per string, NULL
 * ended) and extra provider lines. */
static struct fx *fx_new_unproven(const char *const *accounts,
				    const char *extra)
{
	struct fx *f = xcalloc(1, sizeof *f);
	struct strbuf sb;
	char *err;
	struct scen_error oe;

	sb_init(&sb);
	sb_adds(&sb, "provider:\n"
		"  base_url: http://127.0.0.1:9/v1\n"
		"  model: m\n"
		"  timeout_s: 20\n"
		"  deadline_s: 8\n"
		"  breaker: {failures: 5, cooldown_s: 60}\n");
	if (extra)
		sb_adds(&sb, extra);
	sb_adds(&sb, "  accounts:\n");
	for (size_t i = 0; accounts[i]; i++)
		sb_addf(&sb, "    - %s\n", accounts[i]);
	sb_adds(&sb, "experiments:\n"
		"  e: {templates: {t: {prompt: p, factors: {}}}}\n");
	capture_start();
	f->cfg = scen_config_parse("quota.yaml", sb.buf, sb.len, 1);
	err = capture_end();
	if (!f->cfg)
		fail_msg("config does not load: %s\n%s", err, sb.buf);
	free(err);
	sb_release(&sb);
	f->path = xasprintf("%s/q%d.db", tmpdir, ndb++);
	capture_start();
	f->db = scen_db_open(f->path, 0, &oe);
	err = capture_end();
	if (!f->db)
		fail_msg("cannot open %s: %s", f->path, err);
	free(err);
	f->q = scen_quota_new(f->cfg, f->db);
	return f;
}

static struct fx *fx_new(const char *const *accounts, const char *extra)
{
	struct fx *f = fx_new_unproven(accounts, extra);

	prove(f);
	return f;
}

/* Another process on the same database and config. */
static struct fx *fx_twin(const struct fx *f)
{
	struct fx *g = xcalloc(1, sizeof *g);
	char *err;
	struct scen_error oe;

	g->cfg = f->cfg;
	g->path = xstrdup(f->path);
	capture_start();
	g->db = scen_db_open(g->path, 0, &oe);
	err = capture_end();
	assert_non_null(g->db);
	free(err);
	g->q = scen_quota_new(g->cfg, g->db);
	prove(g);
	return g;
}

static void fx_free(struct fx *f, int owns_cfg)
{
	scen_quota_free(f->q);
	scen_db_close(f->db);
	if (owns_cfg)
		scen_config_free(f->cfg);
	free(f->path);
	free(f);
}

/* Reserves a call at now; returns the account or -1 (retry_at set). */
static int reserve_avoid(struct fx *f, double now, long tokens,
			 uint64_t avoid, double *retry_at)
{
	double ra = -1;
	int64_t call = -1;
	int acct;

	assert_int_equal(scen_db_begin(f->db), 0);
	acct = scen_quota_reserve(f->q, now, tokens, avoid, 0, &call, &ra);
	assert_int_equal(scen_db_commit(f->db), 0);
	if (acct >= 0) {
		assert_true(call > 0);
		f->call = call;
	}
	if (retry_at)
		*retry_at = ra;
	return acct;
}

static int reserve(struct fx *f, double now, double *retry_at)
{
	return reserve_avoid(f, now, 100, 0, retry_at);
}

/* Asserts that nothing can be reserved at now, and that the earliest
 * recovery is want_retry. */
#define REFUSED_UNTIL(f, now, want_retry) do { \
	double ra_; \
	int a_ = reserve((f), (now), &ra_); \
	if (a_ >= 0) \
		fail_msg("reserved account %d at T%+g", a_, (now) - T); \
	if (fabs(ra_ - (want_retry)) > 1e-6) \
		fail_msg("retry_at T%+.3f, want T%+.3f", ra_ - T, \
			 (want_retry) - T); \
} while (0)

static void settle(struct fx *f, int acct, enum scen_outcome o,
		   const struct scen_call *c, const char *msg, double now)
{
	assert_int_equal(scen_db_begin(f->db), 0);
	scen_quota_settle(f->q, acct, f->call, o, c, msg, 120, now);
	assert_int_equal(scen_db_commit(f->db), 0);
}

static struct scen_call answer(long status)
{
	struct scen_call c;

	memset(&c, 0, sizeof c);
	c.status = status;
	return c;
}

static struct scen_acct_state state_of(struct fx *f, const char *name)
{
	struct scen_acct_state a;

	assert_int_equal(scen_db_begin(f->db), 0);
	assert_int_equal(scen_db_account_get(f->db, name, &a), 0);
	assert_int_equal(scen_db_commit(f->db), 0);
	return a;
}

static const char *const ONE[] = {
	"{name: a, api_key_env: SCEN_TQ_KEY_A}", NULL
};
static const char *const TWO[] = {
	"{name: a, api_key_env: SCEN_TQ_KEY_A}",
	"{name: b, api_key_env: SCEN_TQ_KEY_B}", NULL
};
static const char *const THREE[] = {
	"{name: a, api_key_env: SCEN_TQ_KEY_A}",
	"{name: b, api_key_env: SCEN_TQ_KEY_B}",
	"{name: c, api_key_env: SCEN_TQ_KEY_C}", NULL
};

static void test_round_robin_alternates(void **state)
{
	struct fx *f = fx_new(THREE, NULL);
	int prev = -1, count[3] = {0};

	for (int i = 0; i < 30; i++) {
		int a = reserve(f, T + i, NULL);

		assert_true(a >= 0 && a < 3);
		if (prev >= 0)
			assert_int_equal(a, (prev + 1) % 3);
		prev = a;
		count[a]++;
		settle(f, a, SCEN_OUT_OK, NULL, NULL, T + i);
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(count[i], 10);
		assert_int_equal(scen_quota_reserved(f->q, i), 10 + 2);
	}
	fx_free(f, 1);

	f = fx_new(TWO, NULL);
	prev = reserve(f, T, NULL);
	for (int i = 1; i < 10; i++) {
		int a = reserve(f, T + i, NULL);

		assert_int_equal(a, 1 - prev);
		prev = a;
	}
	fx_free(f, 1);
}

/* An account whose key variable is unset is never used. */
static void test_account_without_key_skipped(void **state)
{
	static const char *const acc[] = {
		"{name: a, api_key_env: SCEN_TQ_KEY_NONE}",
		"{name: b, api_key_env: SCEN_TQ_KEY_B}", NULL
	};
	struct fx *f = fx_new(acc, NULL);

	for (int i = 0; i < 6; i++)
		assert_int_equal(reserve(f, T + i, NULL), 1);
	fx_free(f, 1);
}

/* rpm N allows exactly N calls in any 60 s; the next is refused until
 * the oldest of them is 60.25 s old (a quarter second of margin), a
 * settled call counting from its answer's time. */
static void test_rpm_allows_exactly_n(void **state)
{
	static const char *const acc[] = {
		"{name: a, api_key_env: SCEN_TQ_KEY_A, rpm: 3}", NULL
	};
	struct fx *f = fx_new(acc, NULL);

	assert_int_equal(reserve(f, T, NULL), 0);
	settle(f, 0, SCEN_OUT_OK, NULL, NULL, T + 1);
	assert_int_equal(reserve(f, T + 10, NULL), 0);
	assert_int_equal(reserve(f, T + 20, NULL), 0);
	REFUSED_UNTIL(f, T + 30, T + 61.25);
	REFUSED_UNTIL(f, T + 59.5, T + 61.25);
	assert_int_equal(reserve(f, T + 61.25, NULL), 0);
	REFUSED_UNTIL(f, T + 62, T + 70.25);
	assert_int_equal(reserve(f, T + 70.25, NULL), 0);
	fx_free(f, 1);
}

static void test_rpm_per_account(void **state)
{
	static const char *const acc[] = {
		"{name: a, api_key_env: SCEN_TQ_KEY_A, rpm: 2}",
		"{name: b, api_key_env: SCEN_TQ_KEY_B, rpm: 2}", NULL
	};
	struct fx *f = fx_new(acc, NULL);
	int n[2] = {0};

	for (int i = 0; i < 4; i++) {
		int a = reserve(f, T + i, NULL);

		assert_true(a >= 0);
		n[a]++;
	}
	assert_int_equal(n[0], 2);
	assert_int_equal(n[1], 2);
	REFUSED_UNTIL(f, T + 5, T + 60.25);
	assert_true(reserve(f, T + 60.25, NULL) >= 0);
	fx_free(f, 1);
}

static void test_rph_and_rpd(void **state)
{
	static const char *const rph[] = {
		"{name: a, api_key_env: SCEN_TQ_KEY_A, rph: 2}", NULL
	};
	static const char *const rpd[] = {
		"{name: a, api_key_env: SCEN_TQ_KEY_A, rpd: 2}", NULL
	};
	struct fx *f = fx_new(rph, NULL);

	assert_int_equal(reserve(f, T, NULL), 0);
	assert_int_equal(reserve(f, T + 100, NULL), 0);
	REFUSED_UNTIL(f, T + 200, T + 3600.25);
	assert_int_equal(reserve(f, T + 3600.25, NULL), 0);
	fx_free(f, 1);

	/* rpd: until the quota day resets (06:00Z here) */
	f = fx_new(rpd, "  day_resets_at: \"06:00Z\"\n");
	assert_int_equal(reserve(f, T, NULL), 0);		/* 10:00Z */
	assert_int_equal(reserve(f, T + 3600, NULL), 0);
	REFUSED_UNTIL(f, T + 7200, T + 20 * 3600);	/* next 06:00Z */
	assert_int_equal(reserve(f, T + 20 * 3600, NULL), 0);
	fx_free(f, 1);
}

static void test_tpm(void **state)
{
	static const char *const acc[] = {
		"{name: a, api_key_env: SCEN_TQ_KEY_A, tpm: 1000}", NULL
	};
	struct fx *f = fx_new(acc, NULL);
	double ra;

	assert_int_equal(reserve_avoid(f, T, 600, 0, NULL), 0);
	/* the call out holds its estimate: tried again soon */
	assert_int_equal(reserve_avoid(f, T + 1, 600, 0, &ra), -1);
	assert_near(ra, T + 2, 1e-6);
	/* settled at the 120 tokens it used: room again */
	settle(f, 0, SCEN_OUT_OK, NULL, NULL, T + 1.5);
	assert_int_equal(reserve_avoid(f, T + 3, 600, 0, NULL), 0);
	settle(f, 0, SCEN_OUT_OK, NULL, NULL, T + 3.5);
	/* 240 used: 800 more must wait for the older call's minute */
	assert_int_equal(reserve_avoid(f, T + 4, 800, 0, &ra), -1);
	assert_near(ra, T + 61.75, 1e-6);
	fx_free(f, 1);

	f = fx_new(acc, NULL);
	assert_int_equal(reserve_avoid(f, T, 600, 0, NULL), 0);
	assert_int_equal(reserve_avoid(f, T + 1, 400, 0, NULL), 0);
	assert_int_equal(reserve_avoid(f, T + 2, 1, 0, &ra), -1);
	assert_int_equal(reserve_avoid(f, T + 60.5, 600, 0, NULL), 0);
	fx_free(f, 1);
}

/* A 429 with retry-after cools the account down: reserve skips it until
 * then, and uses the other. */
static void test_429_retry_after_cools_account(void **state)
{
	struct fx *f = fx_new(TWO, NULL);
	struct scen_call c = answer(429);
	int x = reserve(f, T, NULL), seen = 0;

	c.rl.has_retry = 1;
	c.rl.retry_after_s = 5;
	settle(f, x, SCEN_OUT_429, &c, "Rate limit reached", T);
	assert_near(state_of(f, f->cfg->provider.accounts[x].name)
		    .cooldown_until, T + 5, 1e-6);
	for (int i = 1; i < 5; i++)
		assert_int_equal(reserve(f, T + i, NULL), 1 - x);
	for (int i = 0; i < 2; i++)
		seen |= reserve(f, T + 5 + i, NULL) == x;
	assert_true(seen);
	fx_free(f, 1);

	/* alone, the account answers when it recovers */
	f = fx_new(ONE, NULL);
	reserve(f, T, NULL);
	settle(f, 0, SCEN_OUT_429, &c, NULL, T);
	REFUSED_UNTIL(f, T + 1, T + 5);
	assert_false(scen_quota_open(f->q, T + 1));
	assert_near(scen_quota_recovery(f->q, T + 1), T + 5, 1e-6);
	assert_int_equal(reserve(f, T + 5, NULL), 0);
	fx_free(f, 1);
}

/* The per-minute token 429 says "Please try again in 2.5s.": a short
 * cool-down, not a spent day. */
static void test_429_tpm_message_cools_briefly(void **state)
{
	static const char tpm[] =
		"Rate limit reached for model `llama-3.1-8b-instant` in "
		"organization `org_x` on tokens per minute (TPM): Limit 6000, "
		"Used 5812, Requested 602. Please try again in 2.5s. Visit "
		"https://console.groq.com/docs/rate-limits for more "
		"information.";
	struct fx *f = fx_new(ONE, NULL);
	struct scen_call c = answer(429);
	struct scen_acct_state a;

	reserve(f, T, NULL);
	settle(f, 0, SCEN_OUT_429, &c, tpm, T);
	a = state_of(f, "a");
	assert_near(a.cooldown_until, T + 2.5, 1e-6);
	assert_true(a.set_aside_until <= T);
	REFUSED_UNTIL(f, T + 1, T + 2.5);
	assert_int_equal(reserve(f, T + 2.5, NULL), 0);
	fx_free(f, 1);
}

/* A 429 whose message says the day is spent sets the account aside
 * until now + the wait the message gives. */
static void test_429_per_day_sets_aside(void **state)
{
	static const char rpd[] =
		"Rate limit reached for model `llama-3.1-8b-instant` in "
		"organization `org_x` on requests per day (RPD): Limit 14400, "
		"Used 14400, Requested 1. Please try again in 9m38.016s. Visit "
		"https://console.groq.com/docs/rate-limits for more "
		"information.";
	struct fx *f = fx_new(TWO, NULL);
	struct scen_call c = answer(429);
	int x = reserve(f, T, NULL);

	settle(f, x, SCEN_OUT_429, &c, rpd, T);
	assert_near(state_of(f, f->cfg->provider.accounts[x].name)
		    .set_aside_until, T + 578.016, 1e-6);
	for (int i = 1; i < 20; i++)
		assert_int_equal(reserve(f, T + i * 25, NULL), 1 - x);
	fx_free(f, 1);

	f = fx_new(ONE, NULL);
	reserve(f, T, NULL);
	settle(f, 0, SCEN_OUT_429, &c, rpd, T);
	REFUSED_UNTIL(f, T + 1, T + 578.016);
	REFUSED_UNTIL(f, T + 578, T + 578.016);
	assert_int_equal(reserve(f, T + 578.02, NULL), 0);
	fx_free(f, 1);

	/* a retry-after header longer than the message's wait wins */
	f = fx_new(ONE, NULL);
	reserve(f, T, NULL);
	c.rl.has_retry = 1;
	c.rl.retry_after_s = 900;
	settle(f, 0, SCEN_OUT_429, &c, rpd, T);
	REFUSED_UNTIL(f, T + 600, T + 900);
	fx_free(f, 1);
}

/* A wait longer than deadline_s is treated as a spent budget too. */
static void test_429_long_wait_sets_aside(void **state)
{
	struct fx *f = fx_new(ONE, NULL);
	struct scen_call c = answer(429);

	c.rl.has_retry = 1;
	c.rl.retry_after_s = 300;
	reserve(f, T, NULL);
	settle(f, 0, SCEN_OUT_429, &c, "Rate limit reached", T);
	assert_near(state_of(f, "a").set_aside_until, T + 300, 1e-6);
	REFUSED_UNTIL(f, T + 100, T + 300);
	fx_free(f, 1);
}

/* A 429 is not a call that counts against rpm. */
static void test_429_costs_no_budget(void **state)
{
	static const char *const acc[] = {
		"{name: a, api_key_env: SCEN_TQ_KEY_A, rpm: 2}", NULL
	};
	struct fx *f = fx_new(acc, NULL);
	struct scen_call c = answer(429);

	c.rl.has_retry = 1;
	c.rl.retry_after_s = 1;
	assert_int_equal(reserve(f, T, NULL), 0);
	settle(f, 0, SCEN_OUT_429, &c, NULL, T);
	assert_int_equal(reserve(f, T + 1, NULL), 0);
	assert_int_equal(reserve(f, T + 2, NULL), 0);
	REFUSED_UNTIL(f, T + 3, T + 61.25);
	fx_free(f, 1);
}

/* Five consecutive 5xx open the breaker: no reservation until
 * cooldown_s has passed, then exactly one probe. */
static void test_breaker_opens_after_five_failures(void **state)
{
	struct fx *f = fx_new(ONE, NULL);
	struct scen_call c = answer(503);

	for (int i = 0; i < 5; i++) {
		assert_int_equal(reserve(f, T + i, NULL), 0);
		settle(f, 0, SCEN_OUT_SERVER, &c, NULL, T + i);
	}
	REFUSED_UNTIL(f, T + 5, T + 4 + 60);
	assert_false(scen_quota_open(f->q, T + 5));
	REFUSED_UNTIL(f, T + 63.9, T + 64);
	/* after the cool-down: one probe, and only one */
	assert_int_equal(reserve(f, T + 64, NULL), 0);
	assert_int_equal(reserve(f, T + 65, NULL), -1);
	assert_int_equal(reserve(f, T + 66, NULL), -1);
	fx_free(f, 1);
}

static void test_breaker_needs_consecutive_failures(void **state)
{
	struct fx *f = fx_new(ONE, NULL);
	struct scen_call c = answer(502);
	double t = T;

	for (int i = 0; i < 4; i++, t++) {
		assert_int_equal(reserve(f, t, NULL), 0);
		settle(f, 0, SCEN_OUT_SERVER, &c, NULL, t);
	}
	assert_int_equal(reserve(f, t, NULL), 0);
	settle(f, 0, SCEN_OUT_OK, NULL, NULL, t++);
	for (int i = 0; i < 4; i++, t++) {
		assert_int_equal(reserve(f, t, NULL), 0);
		settle(f, 0, SCEN_OUT_TIMEOUT, NULL, NULL, t);
	}
	assert_int_equal(reserve(f, t, NULL), 0);
	assert_string_equal(state_of(f, "a").breaker, "closed");
	fx_free(f, 1);
}

/* A successful probe closes the breaker: calls flow again at once. */
static void test_breaker_probe_success_closes(void **state)
{
	struct fx *f = fx_new(ONE, NULL);
	struct scen_call c = answer(500);

	for (int i = 0; i < 5; i++) {
		reserve(f, T + i, NULL);
		settle(f, 0, SCEN_OUT_SERVER, &c, NULL, T + i);
	}
	assert_int_equal(reserve(f, T + 64, NULL), 0);	/* the probe */
	settle(f, 0, SCEN_OUT_OK, NULL, NULL, T + 65);
	assert_string_equal(state_of(f, "a").breaker, "closed");
	assert_int_equal(reserve(f, T + 65, NULL), 0);
	assert_int_equal(reserve(f, T + 66, NULL), 0);
	assert_true(scen_quota_open(f->q, T + 66));
	fx_free(f, 1);
}

/* The same when another request asked for a call while the probe was
 * out (it was refused, as it should be): once the probe succeeds, the
 * next call goes through, not only after the probe's timeout. */
static void test_breaker_probe_success_closes_after_refused_call(void **state)
{
	struct fx *f = fx_new(ONE, NULL);
	struct scen_call c = answer(500);
	double ra;

	for (int i = 0; i < 5; i++) {
		reserve(f, T + i, NULL);
		settle(f, 0, SCEN_OUT_SERVER, &c, NULL, T + i);
	}
	assert_int_equal(reserve(f, T + 64, NULL), 0);	/* the probe */
	assert_int_equal(reserve(f, T + 64.5, &ra), -1);	/* waits */
	settle(f, 0, SCEN_OUT_OK, NULL, NULL, T + 65);
	assert_string_equal(state_of(f, "a").breaker, "closed");
	assert_string_equal(state_of(f, "*provider").breaker, "closed");
	if (reserve(f, T + 65, &ra) < 0)
		fail_msg("breaker closed at T+65, but reserve refuses until "
			 "T%+.0f", ra - T);
	assert_true(scen_quota_open(f->q, T + 66));
	fx_free(f, 1);
}

static void test_breaker_probe_failure_reopens(void **state)
{
	struct fx *f = fx_new(ONE, NULL);
	struct scen_call c = answer(500);

	for (int i = 0; i < 5; i++) {
		reserve(f, T + i, NULL);
		settle(f, 0, SCEN_OUT_SERVER, &c, NULL, T + i);
	}
	assert_int_equal(reserve(f, T + 64, NULL), 0);
	settle(f, 0, SCEN_OUT_SERVER, &c, NULL, T + 65);
	REFUSED_UNTIL(f, T + 66, T + 65 + 60);
	assert_int_equal(reserve(f, T + 125, NULL), 0);
	fx_free(f, 1);
}

/* A refused key (401) disables the account for the run. */
static void test_401_disables_account(void **state)
{
	struct fx *f = fx_new(TWO, NULL);
	struct scen_call c = answer(401);
	int x = reserve(f, T, NULL);
	char *err;

	capture_start();
	settle(f, x, SCEN_OUT_AUTH, &c, "Invalid API Key", T);
	err = capture_end();
	assert_non_null(strstr(err, f->cfg->provider.accounts[x].name));
	assert_null(strstr(err, "gsk_test"));	/* never the key */
	free(err);
	for (int i = 1; i < 10; i++)
		assert_int_equal(reserve(f, T + i * 100, NULL), 1 - x);
	fx_free(f, 1);

	f = fx_new(ONE, NULL);
	c = answer(403);
	reserve(f, T, NULL);
	capture_start();
	settle(f, 0, SCEN_OUT_AUTH, &c, NULL, T);
	free(capture_end());
	REFUSED_UNTIL(f, T + 1, INFINITY);
	REFUSED_UNTIL(f, T + 86400 * 3, INFINITY);
	assert_false(scen_quota_open(f->q, T + 10));
	fx_free(f, 1);
}

/* The provider's probe goes on a key the provider took (remembered in
 * the database), never on one it has not judged: from a random start,
 * many times over. A probe refused all the same (401) is given back at
 * once, and the next call probes. */
static void test_probe_on_accepted_key(void **state)
{
	struct scen_call c = answer(401);

	for (int k = 0; k < 16; k++) {
		struct fx *f = fx_new_unproven(TWO, NULL);
		/* a: taken (one call); b: never tried */
		assert_int_equal(reserve_avoid(f, P, 100, 2, NULL), 0);
		settle(f, 0, SCEN_OUT_OK, NULL, NULL, P);
		struct scen_acct_state p = state_of(f, "*provider");
		snprintf(p.breaker, sizeof p.breaker, "open");
		p.opened_at = T - 60;
		assert_int_equal(scen_db_begin(f->db), 0);
		assert_int_equal(scen_db_account_put(f->db, "*provider", &p),
				 0);
		assert_int_equal(scen_db_commit(f->db), 0);
		/* another process, after the outage */
		scen_quota_free(f->q);
		f->q = scen_quota_new(f->cfg, f->db);
		assert_int_equal(reserve(f, T + 1, NULL), 0);
		capture_start();
		settle(f, 0, SCEN_OUT_AUTH, &c, NULL, T + 1);
		free(capture_end());
		/* given back: b probes now, not at T + 1 + 20 + 60 */
		assert_int_equal(reserve(f, T + 1, NULL), 1);
		fx_free(f, 1);
	}
}

/* A 403 sets the account aside for this run but is not remembered: it may
 * be about a model, an organisation or a proxy, not the key. */
static void test_forbidden_not_remembered(void **state)
{
	struct fx *f = fx_new(TWO, NULL);
	struct scen_call c = answer(403);

	reserve_avoid(f, T, 100, 1, NULL);
	struct scen_acct_state before = state_of(f, "b");
	capture_start();
	settle(f, 1, SCEN_OUT_AUTH, &c, NULL, T);
	free(capture_end());
	struct scen_acct_state after = state_of(f, "b");
	assert_string_equal(after.key_verdict, before.key_verdict);
	assert_string_not_equal(after.key_verdict, "refused");
	fx_free(f, 1);
}

/* A refused key is remembered: another process (a new quota on the same
 * database) makes no call on it; its fingerprint, not the key, is kept. */
static void test_refusal_remembered(void **state)
{
	struct fx *f = fx_new(TWO, NULL);
	struct scen_call c = answer(401);
	char fp[SCEN_KEY_FP_SIZE];
	char *err;

	reserve_avoid(f, T, 100, 1, NULL);
	capture_start();
	settle(f, 1, SCEN_OUT_AUTH, &c, NULL, T);
	free(capture_end());
	struct scen_acct_state b = state_of(f, "b");
	assert_string_equal(b.key_verdict, "refused");
	scen_quota_key_fp(f->cfg->provider.base_url, "gsk_test_b", fp);
	assert_string_equal(b.key_fp, fp);
	assert_int_equal(strlen(fp), 16);
	assert_null(strstr(fp, "gsk"));
	assert_true(scen_quota_key_refused(f->cfg, &f->cfg->provider.accounts[1],
					   &b));
	assert_false(scen_quota_key_refused(f->cfg,
					    &f->cfg->provider.accounts[0], &b));
	/* the same key at another base_url is another fingerprint: a
	 * corrected base_url tries the key again */
	char other[SCEN_KEY_FP_SIZE];
	scen_quota_key_fp("https://other.example/v1", "gsk_test_b", other);
	assert_string_not_equal(other, fp);
	scen_quota_free(f->q);
	f->q = scen_quota_new(f->cfg, f->db);
	scen_verbosity = 0;	/* the warning */
	capture_start();
	for (int i = 1; i < 10; i++)
		assert_int_equal(reserve(f, T + i * 100, NULL), 0);
	err = capture_end();
	scen_verbosity = -1;
	assert_non_null(strstr(err, "account b: the provider refused this "
				    "key before"));
	free(err);
	fx_free(f, 1);
}

/* x-ratelimit-remaining-requests: 0 with reset 10s: nothing on that
 * account for 10 s. */
static void test_headers_remaining_zero_block_until_reset(void **state)
{
	struct fx *f = fx_new(ONE, NULL);
	struct scen_call c = answer(200);

	c.rl.has_req = 1;
	c.rl.limit_req = 14400;
	c.rl.remaining_req = 0;
	c.rl.reset_req_s = 10;
	reserve(f, T, NULL);
	settle(f, 0, SCEN_OUT_OK, &c, NULL, T + 1);
	REFUSED_UNTIL(f, T + 2, T + 11);
	REFUSED_UNTIL(f, T + 10.9, T + 11);
	assert_int_equal(reserve(f, T + 11, NULL), 0);
	fx_free(f, 1);

	/* with two accounts, the other one takes the calls meanwhile */
	f = fx_new(TWO, NULL);
	int x = reserve(f, T, NULL);

	settle(f, x, SCEN_OUT_OK, &c, NULL, T);
	for (int i = 1; i < 10; i++)
		assert_int_equal(reserve(f, T + i, NULL), 1 - x);
	fx_free(f, 1);
}

/* remaining 2: two more calls, then wait for the reset. */
static void test_headers_remaining_n_allows_n(void **state)
{
	struct fx *f = fx_new(ONE, NULL);
	struct scen_call c = answer(200);

	c.rl.has_req = 1;
	c.rl.remaining_req = 2;
	c.rl.reset_req_s = 30;
	reserve(f, T, NULL);
	settle(f, 0, SCEN_OUT_OK, &c, NULL, T);
	assert_int_equal(reserve(f, T + 1, NULL), 0);
	assert_int_equal(reserve(f, T + 2, NULL), 0);
	REFUSED_UNTIL(f, T + 3, T + 30);
	assert_int_equal(reserve(f, T + 30, NULL), 0);
	fx_free(f, 1);
}

/* x-ratelimit-remaining-tokens: a call larger than what is left waits
 * for the token reset; a small one goes. */
static void test_headers_token_budget(void **state)
{
	struct fx *f = fx_new(ONE, NULL);
	struct scen_call c = answer(200);
	double ra;

	c.rl.has_tok = 1;
	c.rl.remaining_tok = 150;
	c.rl.reset_tok_s = 7.66;
	reserve(f, T, NULL);
	settle(f, 0, SCEN_OUT_OK, &c, NULL, T);
	assert_int_equal(reserve_avoid(f, T + 1, 200, 0, &ra), -1);
	assert_near(ra, T + 7.66, 1e-6);
	fx_free(f, 1);

	f = fx_new(ONE, NULL);
	reserve(f, T, NULL);
	settle(f, 0, SCEN_OUT_OK, &c, NULL, T);
	assert_int_equal(reserve_avoid(f, T + 1, 100, 0, NULL), 0);
	assert_int_equal(reserve_avoid(f, T + 2, 100, 0, &ra), -1);
	assert_int_equal(reserve_avoid(f, T + 7.66, 100, 0, NULL), 0);
	fx_free(f, 1);
}

/* scen_quota_set_cap bounds what this process reserves on an account. */
static void test_cap_limits_reservations(void **state)
{
	struct fx *f = fx_new(TWO, NULL);
	int n[2] = {0};
	long r0 = scen_quota_reserved(f->q, 0);
	long r1 = scen_quota_reserved(f->q, 1);

	scen_quota_set_cap(f->q, 0, r0 + 2);
	for (int i = 0; i < 10; i++) {
		int a = reserve(f, T + i, NULL);

		assert_true(a >= 0);
		n[a]++;
	}
	assert_int_equal(n[0], 2);
	assert_int_equal(n[1], 8);
	assert_int_equal(scen_quota_reserved(f->q, 0), r0 + 2);
	assert_int_equal(scen_quota_reserved(f->q, 1), r1 + 8);
	scen_quota_set_cap(f->q, 1, r1 + 8);	/* spent too */
	assert_int_equal(reserve(f, T + 20, NULL), -1);
	assert_false(scen_quota_open(f->q, T + 20));
	scen_quota_set_cap(f->q, 0, -1);	/* no cap again */
	assert_int_equal(reserve(f, T + 21, NULL), 0);
	fx_free(f, 1);

	f = fx_new_unproven(ONE, NULL);
	scen_quota_set_cap(f->q, 0, 0);
	assert_int_equal(reserve(f, T, NULL), -1);
	fx_free(f, 1);
}

/* A key not yet taken by the provider: one call at a time on it, so a
 * wrong key costs one 401, not a volley; once taken, calls overlap. */
static void test_unproven_key_one_call_at_a_time(void **state)
{
	struct fx *f = fx_new_unproven(ONE, NULL);
	double ra;

	assert_int_equal(reserve(f, T, NULL), 0);
	assert_int_equal(reserve(f, T, &ra), -1);
	assert_true(ra > T && ra < T + 1);
	settle(f, 0, SCEN_OUT_OK, NULL, NULL, T + 1);
	assert_int_equal(reserve(f, T + 1, NULL), 0);
	assert_int_equal(reserve(f, T + 1, NULL), 0);
	assert_int_equal(reserve(f, T + 1, NULL), 0);
	fx_free(f, 1);

	/* a timeout proves nothing: still one at a time */
	f = fx_new_unproven(ONE, NULL);
	assert_int_equal(reserve(f, T, NULL), 0);
	settle(f, 0, SCEN_OUT_TIMEOUT, NULL, NULL, T + 20);
	assert_int_equal(reserve(f, T + 21, NULL), 0);
	assert_int_equal(reserve(f, T + 21, NULL), -1);
	fx_free(f, 1);

	/* the other account takes the calls meanwhile */
	f = fx_new_unproven(TWO, NULL);
	int x = reserve(f, T, NULL);

	assert_true(x >= 0);
	assert_int_equal(reserve(f, T, NULL), 1 - x);
	assert_int_equal(reserve(f, T, NULL), -1);
	fx_free(f, 1);
}

/* Accounts in the avoid mask are used only when no other has budget. */
static void test_avoid_mask(void **state)
{
	static const char *const acc[] = {
		"{name: a, api_key_env: SCEN_TQ_KEY_A}",
		"{name: b, api_key_env: SCEN_TQ_KEY_B, rpm: 3}", NULL
	};
	struct fx *f = fx_new(acc, NULL);

	for (int i = 0; i < 3; i++)
		assert_int_equal(reserve_avoid(f, T + i, 1, 1, NULL), 1);
	/* b is out of budget: a, avoided, is still better than nothing */
	assert_int_equal(reserve_avoid(f, T + 3, 1, 1, NULL), 0);
	assert_int_equal(reserve_avoid(f, T + 4, 1, 2, NULL), 0);
	fx_free(f, 1);
}

/* Two processes on one database share the budget (SPEC §5). */
static void test_processes_share_budget(void **state)
{
	static const char *const acc[] = {
		"{name: a, api_key_env: SCEN_TQ_KEY_A, rpm: 3}", NULL
	};
	struct fx *f = fx_new(acc, NULL), *g = fx_twin(f);
	double ra;

	assert_int_equal(reserve(f, T, NULL), 0);
	assert_int_equal(reserve(g, T + 1, NULL), 0);
	assert_int_equal(reserve(f, T + 2, NULL), 0);
	assert_int_equal(reserve(g, T + 3, &ra), -1);
	assert_near(ra, T + 60.25, 1e-6);
	assert_int_equal(reserve(f, T + 4, NULL), -1);

	/* a 429 seen by one process cools the account for the other */
	struct scen_call c = answer(429);

	c.rl.has_retry = 1;
	c.rl.retry_after_s = 5;
	assert_int_equal(reserve(f, T + 100, NULL), 0);
	settle(f, 0, SCEN_OUT_429, &c, NULL, T + 100);
	REFUSED_UNTIL(g, T + 101, T + 105);
	fx_free(g, 0);
	fx_free(f, 1);
}

static void test_day_start(void **state)
{
	struct fx *f = fx_new(ONE, NULL);
	const double d = 1795824000;	/* 2026-11-28T00:00:00Z */

	assert_int_equal(f->cfg->provider.day_resets_min, 0);
	assert_near(scen_quota_day_start(f->cfg, d + 11529), d, 0);
	assert_near(scen_quota_day_start(f->cfg, d), d, 0);
	assert_near(scen_quota_day_start(f->cfg, d - 0.5), d - 86400, 0);
	assert_near(scen_quota_day_start(f->cfg, d + 86399.9), d, 0);
	fx_free(f, 1);

	f = fx_new(ONE, "  day_resets_at: \"07:30Z\"\n");
	assert_int_equal(f->cfg->provider.day_resets_min, 450);
	/* 03:12 is still the day that began yesterday at 07:30 */
	assert_near(scen_quota_day_start(f->cfg, d + 11529),
		    d - 86400 + 27000, 0);
	assert_near(scen_quota_day_start(f->cfg, d + 27000), d + 27000, 0);
	assert_near(scen_quota_day_start(f->cfg, d + 26999), d - 86400 + 27000,
		    0);
	assert_near(scen_quota_day_start(f->cfg, d + 86399), d + 27000, 0);
	fx_free(f, 1);

	f = fx_new(ONE, "  day_resets_at: \"23:59Z\"\n");
	assert_near(scen_quota_day_start(f->cfg, d + 86340), d + 86340, 0);
	assert_near(scen_quota_day_start(f->cfg, d + 60), d - 60, 0);
	fx_free(f, 1);
}

static void test_outcomes(void **state)
{
	assert_string_equal(scen_outcome_name(SCEN_OUT_OK), "ok");
	assert_string_equal(scen_outcome_name(SCEN_OUT_429), "429");
	assert_true(scen_outcome_retryable(SCEN_OUT_429));
	assert_true(scen_outcome_retryable(SCEN_OUT_SERVER));
	assert_true(scen_outcome_retryable(SCEN_OUT_TIMEOUT));
	assert_true(scen_outcome_retryable(SCEN_OUT_CONNECT));
	assert_false(scen_outcome_retryable(SCEN_OUT_OK));
	assert_false(scen_outcome_retryable(SCEN_OUT_BAD_REQUEST));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_robin_alternates),
		cmocka_unit_test(test_account_without_key_skipped),
		cmocka_unit_test(test_rpm_allows_exactly_n),
		cmocka_unit_test(test_rpm_per_account),
		cmocka_unit_test(test_rph_and_rpd),
		cmocka_unit_test(test_tpm),
		cmocka_unit_test(test_429_retry_after_cools_account),
		cmocka_unit_test(test_429_tpm_message_cools_briefly),
		cmocka_unit_test(test_429_per_day_sets_aside),
		cmocka_unit_test(test_429_long_wait_sets_aside),
		cmocka_unit_test(test_429_costs_no_budget),
		cmocka_unit_test(test_breaker_opens_after_five_failures),
		cmocka_unit_test(test_breaker_needs_consecutive_failures),
		cmocka_unit_test(test_breaker_probe_success_closes),
		cmocka_unit_test(
			test_breaker_probe_success_closes_after_refused_call),
		cmocka_unit_test(test_breaker_probe_failure_reopens),
		cmocka_unit_test(test_401_disables_account),
		cmocka_unit_test(test_probe_on_accepted_key),
		cmocka_unit_test(test_refusal_remembered),
		cmocka_unit_test(test_forbidden_not_remembered),
		cmocka_unit_test(test_headers_remaining_zero_block_until_reset),
		cmocka_unit_test(test_headers_remaining_n_allows_n),
		cmocka_unit_test(test_headers_token_budget),
		cmocka_unit_test(test_cap_limits_reservations),
		cmocka_unit_test(test_unproven_key_one_call_at_a_time),
		cmocka_unit_test(test_avoid_mask),
		cmocka_unit_test(test_processes_share_budget),
		cmocka_unit_test(test_day_start),
		cmocka_unit_test(test_outcomes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
