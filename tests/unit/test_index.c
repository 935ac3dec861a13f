/* test_index.c — unit tests of the in-memory index (src/index.c): a
 * property test of scen_index_pick against a brute-force reference over
 * thousands of random scenarios and requests, and the rules of SPEC §4 one
 * by one: hard factors, thresholds per tier, no repeat per session,
 * max_serves, least served first, pool age, pool entries once served. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scen/config.h"
#include "scen/index.h"
#include "scen/request.h"
#include "scen/util.h"

#define NOW 1800000000.0
#define DAY 86400.0

static struct scen_config *load(const char *text)
{
	struct scen_config *cfg;
	int fd = dup(2);
	FILE *devnull = fopen("/dev/null", "w");

	fflush(stderr);
	dup2(fileno(devnull), 2);
	cfg = scen_config_parse("index.yaml", text, strlen(text), 0);
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	fclose(devnull);
	if (!cfg)
		fail_msg("test config does not load:\n%s", text);
	return cfg;
}

/* Template t: hard g and a, soft tone (w 1, four levels) and mood (w 2),
 * a soft position 1..9 (w 1), so that a bucket holds 72 cells and every
 * similarity is a multiple of 1/32. Template u of the same experiment and
 * template t of experiment f have the same factors. */
static struct scen_config *make_cfg(const char *cache)
{
	char *text = xasprintf(
		"provider:\n"
		"  base_url: http://127.0.0.1:9/v1\n"
		"  model: m\n"
		"  accounts: [{name: a, api_key_env: SCEN_TEST_KEY_A}]\n"
		"cache: %s\n"
		"pool: {max_age_days: 7}\n"
		"experiments:\n"
		"  e:\n"
		"    templates:\n"
		"      t:\n"
		"        prompt: \"{g} {a} {tone} {mood} {position}\"\n"
		"        factors:\n"
		"          g: {levels: [f, m]}\n"
		"          a: {levels: [y, o]}\n"
		"          tone: {levels: [n, w, c, x], weight: 1}\n"
		"          mood: {levels: [h, s], weight: 2}\n"
		"        position: {min: 1, max: 9, weight: 1}\n"
		"      u:\n"
		"        prompt: \"U {g} {a} {tone} {mood} {position}\"\n"
		"        factors:\n"
		"          g: {levels: [f, m]}\n"
		"          a: {levels: [y, o]}\n"
		"          tone: {levels: [n, w, c, x], weight: 1}\n"
		"          mood: {levels: [h, s], weight: 2}\n"
		"        position: {min: 1, max: 9, weight: 1}\n"
		"  f:\n"
		"    templates:\n"
		"      t:\n"
		"        prompt: \"{g} {a} {tone} {mood} {position}\"\n"
		"        factors:\n"
		"          g: {levels: [f, m]}\n"
		"          a: {levels: [y, o]}\n"
		"          tone: {levels: [n, w, c, x], weight: 1}\n"
		"          mood: {levels: [h, s], weight: 2}\n"
		"        position: {min: 1, max: 9, weight: 1}\n",
		cache);
	struct scen_config *cfg = load(text);

	free(text);
	return cfg;
}

/* factor indices in the sorted order: a, g, mood, tone */
enum { F_A, F_G, F_MOOD, F_TONE, NF };

static uint64_t rng_state = 0x1dea5eedULL;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

static double rnd01(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

struct sc {
	int64_t rowid;
	const struct scen_experiment *exp;
	const struct scen_template *tpl;
	uint16_t levels[NF];
	long pos;
	uint8_t key[16];
	uint64_t bucket;
	uint32_t serves;
	int pool;		/* made by the pool and still unserved */
	double created;
};

static const struct scen_template *tpl_of(const struct scen_config *cfg,
					  const char *e, const char *t)
{
	const struct scen_experiment *x = scen_config_experiment(cfg, e);

	assert_non_null(x);
	assert_non_null(scen_experiment_template(x, t));
	return scen_experiment_template(x, t);
}

static void fill_request(struct scen_request *rq,
			 const struct scen_template *t, const uint16_t *levels,
			 long pos)
{
	memset(rq, 0, sizeof *rq);
	rq->exp = t->experiment;
	rq->tpl = t;
	memcpy(rq->levels, levels, t->nfactors * sizeof *levels);
	rq->position = pos;
	scen_request_keys(rq);
}

/* Adds a scenario to ix and returns its record in sc. */
static void add(struct scen_index *ix, struct sc *s, int64_t rowid,
		const struct scen_template *t, const uint16_t *levels,
		long pos, uint32_t serves, int pool, double created)
{
	struct scen_request rq;
	struct scen_stored st;

	fill_request(&rq, t, levels, pos);
	s->rowid = rowid;
	s->exp = t->experiment;
	s->tpl = t;
	memset(s->levels, 0, sizeof s->levels);
	memcpy(s->levels, levels, t->nfactors * sizeof *levels);
	s->pos = pos;
	memcpy(s->key, rq.key, 16);
	s->bucket = rq.bucket;
	s->serves = serves;
	s->pool = pool && serves == 0;
	s->created = created;
	memset(&st, 0, sizeof st);
	st.rowid = rowid;
	st.tpl = t;
	st.levels = s->levels;
	st.position = pos;
	st.key = s->key;
	st.bucket = s->bucket;
	st.serves = serves;
	st.pool = pool;
	st.created_at = created;
	scen_index_add(ix, &st);
}

/* ---- the property test ---- */

enum { NSESS = 16 };

struct world {
	struct scen_config *cfg;
	struct scen_index *ix;
	struct sc *sc;
	size_t n;
	struct scen_session *sess[NSESS];
	unsigned char *served;	/* [NSESS][n] */
};

static int ref_eligible(const struct world *w, const struct sc *s,
			const struct scen_request *rq, enum scen_tier tier,
			int si, double thr, double *sim)
{
	const struct scen_config *cfg = w->cfg;
	double min_created = NOW - cfg->pool.max_age_days * DAY;

	if (s->tpl != rq->tpl)
		return 0;
	*sim = scen_similarity(rq->tpl, rq->levels, rq->position, s->levels,
			       s->pos);
	if (*sim + 1e-12 < thr || *sim <= 0)
		return 0;
	if (s->serves >= (uint32_t)cfg->cache.max_serves)
		return 0;
	if (si >= 0 && cfg->cache.no_repeat_per_session &&
	    w->served[(size_t)si * w->n + (size_t)(s - w->sc)])
		return 0;
	switch (tier) {
	case SCEN_TIER_CACHE:
		return !s->pool;
	case SCEN_TIER_POOL:
		return s->pool && s->created >= min_created;
	default:
		return !s->pool || s->created >= min_created;
	}
}

static struct sc *find_sc(const struct world *w, int64_t rowid)
{
	/* row ids are 1000 + index, plus 2^40 for every fifth */
	int64_t i = rowid - 1000;
	if (i >= (int64_t)1 << 40)
		i -= (int64_t)1 << 40;
	if (i < 0 || (size_t)i >= w->n || w->sc[i].rowid != rowid)
		return NULL;
	return &w->sc[i];
}

static void build_world(struct world *w, const char *cache, size_t n,
			double cell_share, double pool_share)
{
	const struct scen_template *ts[3];
	uint8_t used[2][2][4][2][9];

	memset(w, 0, sizeof *w);
	w->cfg = make_cfg(cache);
	w->ix = scen_index_new(w->cfg);
	w->n = n;
	w->sc = xcalloc(n, sizeof *w->sc);
	w->served = xcalloc(NSESS * n, 1);
	ts[0] = tpl_of(w->cfg, "e", "t");
	ts[1] = tpl_of(w->cfg, "e", "u");
	ts[2] = tpl_of(w->cfg, "f", "t");
	/* only some cells are stored, so that many requests have no exact
	 * cell and some none above the thresholds */
	for (size_t i = 0; i < sizeof used; i++)
		((uint8_t *)used)[i] = rnd01() < cell_share;
	for (size_t i = 0; i < n; i++) {
		uint16_t lv[NF];
		long pos;
		const struct scen_template *t = ts[rnd() % 10 < 8 ? 0 :
						   1 + rnd() % 2];
		uint32_t max = (uint32_t)w->cfg->cache.max_serves, serves;
		int pool = rnd01() < pool_share;

		do {
			lv[F_G] = (uint16_t)(rnd() % 2);
			lv[F_A] = (uint16_t)(rnd() % 2);
			lv[F_TONE] = (uint16_t)(rnd() % 4);
			lv[F_MOOD] = (uint16_t)(rnd() % 2);
			pos = 1 + (long)(rnd() % 9);
		} while (!used[lv[F_G]][lv[F_A]][lv[F_TONE]][lv[F_MOOD]]
			 [pos - 1]);
		/* serves: mostly low, some spent, some in between */
		switch (rnd() % 4) {
		case 0: serves = 0; break;
		case 1: serves = (uint32_t)(rnd() % 3); break;
		case 2: serves = (uint32_t)(rnd() % (max + 3)); break;
		default: serves = max > 3 ? max - 1 - (uint32_t)(rnd() % 3)
				   : 0; break;
		}
		if (pool && rnd() % 3)
			serves = 0;
		/* row ids as a database gives them, and every fifth far
		 * off (kept apart from the dense ones) */
		int64_t rowid = 1000 + (int64_t)i +
				(i % 5 == 4 ? (int64_t)1 << 40 : 0);
		add(w->ix, &w->sc[i], rowid, t, lv, pos, serves, pool,
		    NOW - rnd01() * 14 * DAY);
	}
	assert_int_equal(scen_index_count(w->ix), n);
	for (int s = 0; s < NSESS; s++) {
		char name[16];

		snprintf(name, sizeof name, "p-%d", s);
		w->sess[s] = scen_index_session(w->ix, name);
		for (size_t i = 0; i < n; i++)
			if (rnd() % 20 == 0) {
				scen_session_add(w->sess[s], w->sc[i].rowid);
				w->served[(size_t)s * n + i] = 1;
			}
	}
}

static void free_world(struct world *w)
{
	scen_index_free(w->ix);
	scen_config_free(w->cfg);
	free(w->sc);
	free(w->served);
}

static const char *tier_s(enum scen_tier t)
{
	return scen_tier_name(t);
}

/* One request, one tier: the pick against the reference. */
static void check_pick(struct world *w, const struct scen_request *rq,
		       enum scen_tier tier, int si, int *picked_any)
{
	const struct scen_config *cfg = w->cfg;
	double thr = tier == SCEN_TIER_RELAXED ? cfg->cache.relaxed
					       : cfg->cache.strict;
	double best = -1;
	uint32_t best_serves = UINT32_MAX;
	struct scen_pick pk;
	int got;

	for (size_t i = 0; i < w->n; i++) {
		double sim;

		if (!ref_eligible(w, &w->sc[i], rq, tier, si, thr, &sim))
			continue;
		if (sim > best + 1e-12) {
			best = sim;
			best_serves = w->sc[i].serves;
		} else if (fabs(sim - best) <= 1e-12 &&
			   w->sc[i].serves < best_serves) {
			best_serves = w->sc[i].serves;
		}
	}
	memset(&pk, 0, sizeof pk);
	got = scen_index_pick(w->ix, rq, tier, si >= 0 ? w->sess[si] : NULL,
			      NOW, &pk);
	if (best < 0) {
		if (got)
			fail_msg("%s: picked %lld (sim %g) but nothing is "
				 "eligible", tier_s(tier), (long long)pk.rowid,
				 pk.similarity);
		return;
	}
	if (!got)
		fail_msg("%s: no pick, but a scenario of similarity %g and %u "
			 "serves is eligible", tier_s(tier), best, best_serves);
	struct sc *s = find_sc(w, pk.rowid);
	double sim;

	if (!s)
		fail_msg("%s: picked unknown row %lld", tier_s(tier),
			 (long long)pk.rowid);
	if (!ref_eligible(w, s, rq, tier, si, thr, &sim))
		fail_msg("%s: picked %lld (tpl %s/%s, sim %g, serves %u, pool "
			 "%d, age %.1f d, in session %d) which is not eligible",
			 tier_s(tier), (long long)s->rowid, s->exp->name,
			 s->tpl->name, sim, s->serves, s->pool,
			 (NOW - s->created) / DAY,
			 si >= 0 ? w->served[(size_t)si * w->n +
					     (size_t)(s - w->sc)] : -1);
	/* hard factors always equal */
	assert_int_equal(s->levels[F_G], rq->levels[F_G]);
	assert_int_equal(s->levels[F_A], rq->levels[F_A]);
	if (fabs(pk.similarity - sim) > 1e-12)
		fail_msg("%s: reported similarity %.17g, actual %.17g",
			 tier_s(tier), pk.similarity, sim);
	if (fabs(sim - best) > 1e-12)
		fail_msg("%s: picked similarity %g, best eligible is %g",
			 tier_s(tier), sim, best);
	if (s->serves != best_serves)
		fail_msg("%s: picked a scenario served %u times at similarity "
			 "%g; one served %u times is eligible", tier_s(tier),
			 s->serves, sim, best_serves);
	assert_int_equal(pk.serves, s->serves);
	assert_int_equal(!!pk.pool, s->pool);
	(*picked_any)++;
}

static void run_property(const char *cache, size_t n, double cell_share,
			 double pool_share, int nreq)
{
	struct world w;
	const struct scen_template *t;
	int picks = 0, none = 0;

	build_world(&w, cache, n, cell_share, pool_share);
	t = tpl_of(w.cfg, "e", "t");
	for (int r = 0; r < nreq; r++) {
		struct scen_request rq;
		uint16_t lv[NF];
		int si = rnd() % 8 ? (int)(rnd() % NSESS) : -1;
		enum scen_tier tiers[3] = {SCEN_TIER_CACHE, SCEN_TIER_POOL,
					   SCEN_TIER_RELAXED};
		enum scen_tier tier = tiers[rnd() % 3];
		struct scen_pick pk;
		int before = picks;

		lv[F_G] = (uint16_t)(rnd() % 2);
		lv[F_A] = (uint16_t)(rnd() % 2);
		lv[F_TONE] = (uint16_t)(rnd() % 4);
		lv[F_MOOD] = (uint16_t)(rnd() % 2);
		fill_request(&rq, t, lv, 1 + (long)(rnd() % 9));
		check_pick(&w, &rq, tier, si, &picks);
		if (picks == before) {
			none++;
			continue;
		}
		/* serve the pick half of the time: counts, lists and the
		 * session change as they would in scen-serve-stdin */
		if (rnd() % 2 &&
		    scen_index_pick(w.ix, &rq, tier, si >= 0 ? w.sess[si] : NULL,
				    NOW, &pk)) {
			struct sc *s = find_sc(&w, pk.rowid);

			scen_index_served(w.ix, pk.rowid);
			s->serves++;
			s->pool = 0;
			assert_int_equal(scen_index_servable(w.ix, pk.rowid),
					 s->serves <
					 (uint32_t)w.cfg->cache.max_serves);
			if (si >= 0) {
				scen_session_add(w.sess[si], pk.rowid);
				w.served[(size_t)si * w.n +
					 (size_t)(s - w.sc)] = 1;
			}
		}
	}
	/* the run exercised both outcomes */
	assert_true(picks > 0);
	assert_true(none > 0);
	free_world(&w);
}

static void test_property_small_max_serves(void **state)
{
	const char *cache = "{strict: 0.9, relaxed: 0.6, max_serves: 3}";

	run_property(cache, 50, 0.2, 0.3, 3000);
	run_property(cache, 400, 0.3, 0.3, 3000);
	run_property(cache, 3000, 0.15, 0.4, 3000);
}

/* max_serves above 32: counts beyond the exact lists (the overflow list
 * whose least served is found by a scan). */
static void test_property_large_max_serves(void **state)
{
	const char *cache = "{strict: 0.9, relaxed: 0.6, max_serves: 40}";

	run_property(cache, 300, 0.3, 0.3, 3000);
	run_property(cache, 3000, 0.5, 0.3, 3000);
	run_property(cache, 5000, 0.05, 0.2, 3000);
}

static void test_property_default_thresholds(void **state)
{
	run_property("{max_serves: 5}", 3000, 0.3, 0.3, 3000);
	run_property("{strict: 0.75, relaxed: 0.3, max_serves: 2}", 2000, 0.1,
		     0.3, 3000);
}

static void test_property_repeat_allowed(void **state)
{
	run_property("{strict: 0.9, relaxed: 0.6, max_serves: 4, "
		     "no_repeat_per_session: false}", 1000, 0.2, 0.3, 3000);
}

/* With an empty session, no pool entries and nothing spent, every stored
 * scenario is eligible: the pick's similarity is the brute-force best
 * when that best reaches the tier's threshold, and there is no pick when
 * it does not. */
static void test_pick_equals_brute_force_best(void **state)
{
	int above_all = 0, below_all = 0;

	for (int round = 0; round < 4; round++) {
		struct scen_config *cfg = make_cfg(
			"{strict: 0.9, relaxed: 0.6, max_serves: 50}");
		struct scen_index *ix = scen_index_new(cfg);
		const struct scen_template *t = tpl_of(cfg, "e", "t");
		const struct scen_template *u = tpl_of(cfg, "e", "u");
		struct scen_session *empty = scen_index_session(ix, "new");
		size_t n = round == 0 ? 20 : round == 1 ? 200 : 2000;
		struct sc *sc = xcalloc(n, sizeof *sc);
		int above = 0, below = 0;

		for (size_t i = 0; i < n; i++) {
			uint16_t lv[NF];

			lv[F_G] = (uint16_t)(rnd() % 2);
			lv[F_A] = (uint16_t)(rnd() % 2);
			lv[F_TONE] = (uint16_t)(rnd() % 4);
			lv[F_MOOD] = (uint16_t)(rnd() % 2);
			add(ix, &sc[i], (int64_t)i + 1, i % 7 ? t : u, lv,
			    1 + (long)(rnd() % 9), (uint32_t)(rnd() % 49), 0,
			    NOW - DAY);
		}
		for (int r = 0; r < 3000; r++) {
			struct scen_request rq;
			uint16_t lv[NF];
			enum scen_tier tier = r % 2 ? SCEN_TIER_CACHE
						    : SCEN_TIER_RELAXED;
			double thr = tier == SCEN_TIER_CACHE ? cfg->cache.strict
							     : cfg->cache.relaxed;
			double best, mine = -1;
			struct scen_pick pk;

			lv[F_G] = (uint16_t)(rnd() % 2);
			lv[F_A] = (uint16_t)(rnd() % 2);
			lv[F_TONE] = (uint16_t)(rnd() % 4);
			lv[F_MOOD] = (uint16_t)(rnd() % 2);
			fill_request(&rq, t, lv, 1 + (long)(rnd() % 9));
			best = scen_index_best_brute(ix, &rq);
			for (size_t i = 0; i < n; i++) {
				double s;

				if (sc[i].tpl != t)
					continue;
				s = scen_similarity(t, rq.levels, rq.position,
						    sc[i].levels, sc[i].pos);
				if (s > 0 && s > mine)
					mine = s;
			}
			assert_true(fabs(best - mine) < 1e-12);
			int got = scen_index_pick(ix, &rq, tier, empty, NOW,
						  &pk);
			if (best + 1e-12 >= thr) {
				above++;
				if (!got)
					fail_msg("no pick; best is %g", best);
				if (fabs(pk.similarity - best) > 1e-12)
					fail_msg("picked %g, best is %g",
						 pk.similarity, best);
			} else {
				below++;
				if (got)
					fail_msg("picked %g below %g (best %g)",
						 pk.similarity, thr, best);
			}
		}
		above_all += above;
		below_all += below;
		free(sc);
		scen_index_free(ix);
		scen_config_free(cfg);
	}
	assert_true(above_all > 0 && below_all > 0);
}

/* ---- the rules one by one ---- */

static const uint16_t FEMALE_YOUNG_N_H[NF] = {0, 0, 0, 0};

static struct scen_request request(const struct scen_template *t,
				   const uint16_t *lv, long pos)
{
	struct scen_request rq;

	fill_request(&rq, t, lv, pos);
	return rq;
}

static void test_empty_index_picks_nothing(void **state)
{
	struct scen_config *cfg = make_cfg("{}");
	struct scen_index *ix = scen_index_new(cfg);
	struct scen_request rq = request(tpl_of(cfg, "e", "t"),
					 FEMALE_YOUNG_N_H, 5);
	struct scen_pick pk;

	assert_int_equal(scen_index_count(ix), 0);
	assert_int_equal(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW,
					 &pk), 0);
	assert_int_equal(scen_index_pick(ix, &rq, SCEN_TIER_RELAXED, NULL, NOW,
					 &pk), 0);
	assert_true(scen_index_best_brute(ix, &rq) < 0);
	scen_index_served(ix, 12345);	/* unknown: a no-op */
	assert_false(scen_index_servable(ix, 12345));
	scen_index_free(ix);
	scen_index_free(NULL);
	scen_config_free(cfg);
}

static void test_add_twice_is_ignored(void **state)
{
	struct scen_config *cfg = make_cfg("{max_serves: 2}");
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = tpl_of(cfg, "e", "t");
	struct sc a, b;
	struct scen_request rq = request(t, FEMALE_YOUNG_N_H, 5);
	struct scen_pick pk;

	add(ix, &a, 7, t, FEMALE_YOUNG_N_H, 5, 0, 0, NOW);
	add(ix, &b, 7, t, FEMALE_YOUNG_N_H, 5, 1, 0, NOW);
	assert_int_equal(scen_index_count(ix), 1);
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW, &pk));
	assert_int_equal(pk.serves, 0);	/* the first one's count */
	assert_true(scen_index_servable(ix, 7));
	scen_index_served(ix, 7);
	assert_true(scen_index_servable(ix, 7));
	scen_index_served(ix, 7);
	assert_false(scen_index_servable(ix, 7));
	/* the same for a row id far beyond the others */
	int64_t far = (int64_t)1 << 50;
	add(ix, &a, far, t, FEMALE_YOUNG_N_H, 5, 0, 0, NOW);
	add(ix, &b, far, t, FEMALE_YOUNG_N_H, 5, 1, 0, NOW);
	assert_int_equal(scen_index_count(ix), 2);
	scen_index_served(ix, far);
	assert_true(scen_index_servable(ix, far));
	scen_index_served(ix, far);
	assert_false(scen_index_servable(ix, far));
	assert_false(scen_index_servable(ix, far + 1));
	scen_index_free(ix);
	scen_config_free(cfg);
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* A database with row ids far apart (rows imported, or written by
 * something else) costs memory by the rows held, not by the ids. */
static void test_sparse_row_ids_cost_little_memory(void **state)
{
	struct scen_config *cfg = make_cfg("{max_serves: 2}");
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = tpl_of(cfg, "e", "t");
	struct sc a;
	int64_t ids[] = {1, 2, 900000000, 3000000000LL, 2000000, 1999999,
			 (int64_t)1 << 62};
	long before = rss_kb();
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		add(ix, &a, ids[i], t, FEMALE_YOUNG_N_H, 5, 0, 0, NOW);
	assert_true(rss_kb() - before < 32 * 1024);
	assert_int_equal(scen_index_count(ix), 7);
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		assert_true(scen_index_servable(ix, ids[i]));
		scen_index_served(ix, ids[i]);
		scen_index_served(ix, ids[i]);
		assert_false(scen_index_servable(ix, ids[i]));
	}
	assert_false(scen_index_servable(ix, 3));
	scen_index_free(ix);
	scen_config_free(cfg);
}

static void test_exact_match_similarity_one(void **state)
{
	struct scen_config *cfg = make_cfg("{}");
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = tpl_of(cfg, "e", "t");
	struct sc a;
	struct scen_request rq = request(t, FEMALE_YOUNG_N_H, 5);
	struct scen_pick pk;

	add(ix, &a, 1, t, FEMALE_YOUNG_N_H, 5, 3, 0, NOW);
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW, &pk));
	assert_int_equal(pk.rowid, 1);
	assert_true(pk.similarity == 1.0);
	assert_int_equal(pk.serves, 3);
	assert_false(pk.pool);
	scen_index_free(ix);
	scen_config_free(cfg);
}

/* The thresholds come from the config: strict for cache and pool,
 * relaxed for relaxed; a similarity equal to the threshold is enough. */
static void test_tier_thresholds_from_config(void **state)
{
	struct scen_config *cfg = make_cfg("{strict: 0.95, relaxed: 0.75}");
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = tpl_of(cfg, "e", "t");
	struct sc a;
	struct scen_request rq = request(t, FEMALE_YOUNG_N_H, 5);
	struct scen_pick pk;

	/* tone, mood equal; position 2 apart of 8: (1 + 2 + 6/8) / 4 */
	add(ix, &a, 1, t, FEMALE_YOUNG_N_H, 7, 0, 0, NOW);
	assert_false(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW,
				     &pk));
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_RELAXED, NULL, NOW,
				    &pk));
	assert_true(fabs(pk.similarity - 0.9375) < 1e-12);
	scen_index_free(ix);
	scen_config_free(cfg);

	/* strict exactly at that similarity: now a cache hit */
	cfg = make_cfg("{strict: 0.9375, relaxed: 0.9}");
	ix = scen_index_new(cfg);
	t = tpl_of(cfg, "e", "t");
	add(ix, &a, 1, t, FEMALE_YOUNG_N_H, 7, 0, 0, NOW);
	rq = request(t, FEMALE_YOUNG_N_H, 5);
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW, &pk));
	/* 3 apart: 0.90625, below strict, above relaxed */
	rq = request(t, FEMALE_YOUNG_N_H, 4);
	assert_false(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW,
				     &pk));
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_RELAXED, NULL, NOW,
				    &pk));
	/* 4 apart: 0.875, below both */
	rq = request(t, FEMALE_YOUNG_N_H, 3);
	assert_false(scen_index_pick(ix, &rq, SCEN_TIER_RELAXED, NULL, NOW,
				     &pk));
	scen_index_free(ix);
	scen_config_free(cfg);
}

/* A hard factor never differs, even with a relaxed threshold of 0. */
static void test_hard_factors_never_cross(void **state)
{
	struct scen_config *cfg = make_cfg("{strict: 0.01, relaxed: 0.01}");
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = tpl_of(cfg, "e", "t");
	uint16_t male[NF] = {0, 1, 0, 0}, old[NF] = {1, 0, 0, 0};
	struct sc a, b;
	struct scen_request rq = request(t, FEMALE_YOUNG_N_H, 5);
	struct scen_pick pk;

	add(ix, &a, 1, t, male, 5, 0, 0, NOW);
	add(ix, &b, 2, t, old, 5, 0, 0, NOW);
	for (int tier = 0; tier < SCEN_TIER_COUNT; tier++)
		if (tier != SCEN_TIER_FRESH)
			assert_false(scen_index_pick(ix, &rq, tier, NULL, NOW,
						     &pk));
	scen_index_free(ix);
	scen_config_free(cfg);
}

/* Never a scenario of another template or another experiment, even with
 * the same factor names and levels. */
static void test_templates_and_experiments_never_cross(void **state)
{
	struct scen_config *cfg = make_cfg("{strict: 0.01, relaxed: 0.01}");
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = tpl_of(cfg, "e", "t");
	struct sc a, b;
	struct scen_request rq = request(t, FEMALE_YOUNG_N_H, 5);
	struct scen_pick pk;

	add(ix, &a, 1, tpl_of(cfg, "e", "u"), FEMALE_YOUNG_N_H, 5, 0, 0, NOW);
	add(ix, &b, 2, tpl_of(cfg, "f", "t"), FEMALE_YOUNG_N_H, 5, 0, 0, NOW);
	assert_false(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW,
				     &pk));
	assert_false(scen_index_pick(ix, &rq, SCEN_TIER_RELAXED, NULL, NOW,
				     &pk));
	assert_true(scen_index_best_brute(ix, &rq) < 0);
	scen_index_free(ix);
	scen_config_free(cfg);
}

static void test_least_served_first_in_cell(void **state)
{
	struct scen_config *cfg = make_cfg("{max_serves: 50}");
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = tpl_of(cfg, "e", "t");
	struct sc s[5];
	static const uint32_t serves[5] = {4, 40, 1, 2, 35};
	struct scen_request rq = request(t, FEMALE_YOUNG_N_H, 5);
	struct scen_pick pk;

	for (int i = 0; i < 5; i++)
		add(ix, &s[i], 10 + i, t, FEMALE_YOUNG_N_H, 5, serves[i], 0,
		    NOW);
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW, &pk));
	assert_int_equal(pk.rowid, 12);
	assert_int_equal(pk.serves, 1);
	/* serving it twice more makes row 13 (2 serves) the least served */
	scen_index_served(ix, 12);
	scen_index_served(ix, 12);
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW, &pk));
	assert_int_equal(pk.rowid, 13);
	scen_index_free(ix);
	scen_config_free(cfg);
}

/* Above 32 serves, counts are kept in one list: the least served there
 * is still found. */
static void test_least_served_first_above_32(void **state)
{
	struct scen_config *cfg = make_cfg("{max_serves: 100}");
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = tpl_of(cfg, "e", "t");
	struct sc s[4];
	static const uint32_t serves[4] = {90, 45, 33, 60};
	struct scen_request rq = request(t, FEMALE_YOUNG_N_H, 5);
	struct scen_pick pk;

	for (int i = 0; i < 4; i++)
		add(ix, &s[i], 10 + i, t, FEMALE_YOUNG_N_H, 5, serves[i], 0,
		    NOW);
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW, &pk));
	assert_int_equal(pk.rowid, 12);
	for (int i = 0; i < 13; i++)
		scen_index_served(ix, 12);	/* 46 now */
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW, &pk));
	assert_int_equal(pk.rowid, 11);
	assert_int_equal(pk.serves, 45);
	scen_index_free(ix);
	scen_config_free(cfg);
}

/* Among cells of equal similarity, the least served scenario wins. */
static void test_least_served_first_across_cells(void **state)
{
	struct scen_config *cfg = make_cfg("{strict: 0.5, relaxed: 0.5, "
					   "max_serves: 50}");
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = tpl_of(cfg, "e", "t");
	uint16_t warm[NF] = {0, 0, 0, 1}, cold[NF] = {0, 0, 0, 2};
	struct sc a, b, c;
	struct scen_request rq = request(t, FEMALE_YOUNG_N_H, 5);
	struct scen_pick pk;

	add(ix, &a, 1, t, warm, 5, 7, 0, NOW);
	add(ix, &b, 2, t, cold, 5, 2, 0, NOW);
	add(ix, &c, 3, t, warm, 5, 5, 0, NOW);
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW, &pk));
	assert_int_equal(pk.rowid, 2);
	assert_true(fabs(pk.similarity - 0.75) < 1e-12);
	/* higher similarity beats fewer serves: position 4 is 1 apart */
	struct sc d;
	uint16_t near[NF] = {0, 0, 0, 0};

	add(ix, &d, 4, t, near, 4, 30, 0, NOW);
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW, &pk));
	assert_int_equal(pk.rowid, 4);
	scen_index_free(ix);
	scen_config_free(cfg);
}

/* Equal similarity includes the exact cell: a factor of weight 0 may vary
 * freely, so a scenario that differs only there has similarity 1 too, and
 * the least served of the two should be picked. */
static void test_least_served_first_exact_cell_ties(void **state)
{
	static const char text[] =
		"provider:\n"
		"  base_url: http://127.0.0.1:9/v1\n"
		"  model: m\n"
		"  accounts: [{name: a, api_key_env: SCEN_TEST_KEY_A}]\n"
		"cache: {max_serves: 50}\n"
		"experiments:\n"
		"  e:\n"
		"    templates:\n"
		"      t:\n"
		"        prompt: \"{name} {tone}\"\n"
		"        factors:\n"
		"          name: {levels: [anna, beth], weight: 0}\n"
		"          tone: {levels: [warm, cold], weight: 1}\n";
	struct scen_config *cfg = load(text);
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = &cfg->experiments[0].templates[0];
	uint16_t anna[2] = {0, 0}, beth[2] = {1, 0};	/* name, tone */
	struct sc a, b;
	struct scen_request rq = request(t, anna, 0);
	struct scen_pick pk;

	add(ix, &a, 1, t, anna, 0, 9, 0, NOW);	/* the exact cell */
	add(ix, &b, 2, t, beth, 0, 0, 0, NOW);
	assert_true(scen_similarity(t, anna, 0, beth, 0) == 1.0);
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW, &pk));
	assert_true(pk.similarity == 1.0);
	if (pk.rowid != 2)
		fail_msg("picked row %lld served %u times; row 2 has the same "
			 "similarity 1 and was served 0 times",
			 (long long)pk.rowid, pk.serves);
	scen_index_free(ix);
	scen_config_free(cfg);
}

/* Similarities that are equal as numbers but summed differently (0.1 +
 * 0.2 against 0.3) are still a tie for the least-served rule. */
static void test_least_served_first_rounding_ties(void **state)
{
	static const char text[] =
		"provider:\n"
		"  base_url: http://127.0.0.1:9/v1\n"
		"  model: m\n"
		"  accounts: [{name: a, api_key_env: SCEN_TEST_KEY_A}]\n"
		"cache: {strict: 0.5, relaxed: 0.5, max_serves: 50}\n"
		"experiments:\n"
		"  e:\n"
		"    templates:\n"
		"      t:\n"
		"        prompt: \"{x} {y} {z}\"\n"
		"        factors:\n"
		"          x: {levels: [a, b], weight: 0.1}\n"
		"          y: {levels: [a, b], weight: 0.2}\n"
		"          z: {levels: [a, b], weight: 0.3}\n";
	struct scen_config *cfg = load(text);
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = &cfg->experiments[0].templates[0];
	uint16_t want[3] = {0, 0, 0}, xy[3] = {0, 0, 1}, z[3] = {1, 1, 0};
	struct sc a, b;
	struct scen_request rq = request(t, want, 0);
	struct scen_pick pk;

	add(ix, &a, 1, t, xy, 0, 6, 0, NOW);	/* (0.1 + 0.2) / 0.6 */
	add(ix, &b, 2, t, z, 0, 0, 0, NOW);	/* 0.3 / 0.6 */
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW, &pk));
	if (pk.rowid != 2)
		fail_msg("picked row %lld (similarity %.17g, served %u times); "
			 "row 2 has similarity %.17g and 0 serves",
			 (long long)pk.rowid, pk.similarity, pk.serves,
			 scen_similarity(t, want, 0, z, 0));
	scen_index_free(ix);
	scen_config_free(cfg);
}

static void test_session_never_served_twice(void **state)
{
	struct scen_config *cfg = make_cfg("{max_serves: 50}");
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = tpl_of(cfg, "e", "t");
	struct sc s[3];
	struct scen_request rq = request(t, FEMALE_YOUNG_N_H, 5);
	struct scen_session *p1 = scen_index_session(ix, "p-1");
	struct scen_pick pk;

	assert_ptr_equal(scen_index_session(ix, "p-1"), p1);
	assert_ptr_not_equal(scen_index_session(ix, "p-2"), p1);
	for (int i = 0; i < 3; i++)
		add(ix, &s[i], 1 + i, t, FEMALE_YOUNG_N_H, 5, (uint32_t)i, 0,
		    NOW);
	for (int i = 0; i < 3; i++) {
		assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, p1, NOW,
					    &pk));
		assert_false(scen_session_has(p1, pk.rowid));
		scen_session_add(p1, pk.rowid);
		scen_index_served(ix, pk.rowid);
	}
	assert_int_equal(p1->n, 3);
	assert_false(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, p1, NOW, &pk));
	assert_false(scen_index_pick(ix, &rq, SCEN_TIER_RELAXED, p1, NOW,
				     &pk));
	/* another session still gets them */
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE,
				    scen_index_session(ix, "p-2"), NOW, &pk));
	scen_session_add(p1, 1);	/* adding twice keeps one */
	assert_int_equal(p1->n, 3);
	scen_index_free(ix);
	scen_config_free(cfg);
}

static void test_session_repeat_allowed_when_configured(void **state)
{
	struct scen_config *cfg = make_cfg("{no_repeat_per_session: false}");
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = tpl_of(cfg, "e", "t");
	struct sc a;
	struct scen_request rq = request(t, FEMALE_YOUNG_N_H, 5);
	struct scen_session *p1 = scen_index_session(ix, "p-1");
	struct scen_pick pk;

	add(ix, &a, 1, t, FEMALE_YOUNG_N_H, 5, 0, 0, NOW);
	scen_session_add(p1, 1);
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, p1, NOW, &pk));
	assert_int_equal(pk.rowid, 1);
	scen_index_free(ix);
	scen_config_free(cfg);
}

static void test_spent_scenarios_never_picked(void **state)
{
	struct scen_config *cfg = make_cfg("{max_serves: 2}");
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = tpl_of(cfg, "e", "t");
	struct sc a, b;
	struct scen_request rq = request(t, FEMALE_YOUNG_N_H, 5);
	struct scen_pick pk;

	add(ix, &a, 1, t, FEMALE_YOUNG_N_H, 5, 2, 0, NOW);	/* spent */
	add(ix, &b, 2, t, FEMALE_YOUNG_N_H, 5, 1, 0, NOW);
	assert_false(scen_index_servable(ix, 1));
	assert_true(scen_index_servable(ix, 2));
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW, &pk));
	assert_int_equal(pk.rowid, 2);
	scen_index_served(ix, 2);
	assert_false(scen_index_servable(ix, 2));
	assert_false(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW,
				     &pk));
	assert_false(scen_index_pick(ix, &rq, SCEN_TIER_RELAXED, NULL, NOW,
				     &pk));
	scen_index_free(ix);
	scen_config_free(cfg);
}

/* max_serves 1: a pool entry, once served, is spent. */
static void test_max_serves_one(void **state)
{
	struct scen_config *cfg = make_cfg("{max_serves: 1}");
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = tpl_of(cfg, "e", "t");
	struct sc a, b;
	struct scen_request rq = request(t, FEMALE_YOUNG_N_H, 5);
	struct scen_pick pk;

	add(ix, &a, 1, t, FEMALE_YOUNG_N_H, 5, 0, 1, NOW);
	add(ix, &b, 2, t, FEMALE_YOUNG_N_H, 5, 0, 0, NOW);
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_POOL, NULL, NOW, &pk));
	assert_int_equal(pk.rowid, 1);
	scen_index_served(ix, 1);
	assert_false(scen_index_servable(ix, 1));
	assert_false(scen_index_pick(ix, &rq, SCEN_TIER_POOL, NULL, NOW, &pk));
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW, &pk));
	assert_int_equal(pk.rowid, 2);
	scen_index_served(ix, 2);
	assert_false(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW,
				     &pk));
	assert_false(scen_index_pick(ix, &rq, SCEN_TIER_RELAXED, NULL, NOW,
				     &pk));
	scen_index_free(ix);
	scen_config_free(cfg);
}

/* An unserved pool entry older than pool.max_age_days is retired: no
 * tier picks it while it is unserved. */
static void test_old_pool_entry_never_picked_unserved(void **state)
{
	struct scen_config *cfg = make_cfg("{strict: 0.9, relaxed: 0.1}");
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = tpl_of(cfg, "e", "t");
	struct sc old, young;
	struct scen_request rq = request(t, FEMALE_YOUNG_N_H, 5);
	struct scen_pick pk;

	add(ix, &old, 1, t, FEMALE_YOUNG_N_H, 5, 0, 1, NOW - 8 * DAY);
	for (int tier = 0; tier < SCEN_TIER_COUNT; tier++)
		if (tier != SCEN_TIER_FRESH)
			assert_false(scen_index_pick(ix, &rq, tier, NULL, NOW,
						     &pk));
	/* the same entry, 6 days old, is a pool and relaxed candidate */
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_POOL, NULL,
				    NOW - 2 * DAY, &pk));
	add(ix, &young, 2, t, FEMALE_YOUNG_N_H, 5, 0, 1, NOW - 6 * DAY);
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_POOL, NULL, NOW, &pk));
	assert_int_equal(pk.rowid, 2);
	assert_true(pk.pool);
	assert_int_equal(pk.serves, 0);
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_RELAXED, NULL, NOW,
				    &pk));
	assert_int_equal(pk.rowid, 2);
	/* an unserved pool entry is not a cache hit */
	assert_false(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW,
				     &pk));
	/* the age limit holds for similar cells too */
	uint16_t warm[NF] = {0, 0, 0, 1};
	struct scen_request rq2 = request(t, warm, 5);

	assert_true(scen_index_pick(ix, &rq2, SCEN_TIER_RELAXED, NULL, NOW,
				    &pk));
	assert_int_equal(pk.rowid, 2);
	scen_index_free(ix);
	scen_config_free(cfg);
}

/* A pool entry once served is no longer a pool entry: a cache candidate
 * (not a pool one) like any served scenario. */
static void test_served_pool_entry_is_cache_candidate(void **state)
{
	struct scen_config *cfg = make_cfg("{max_serves: 5}");
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = tpl_of(cfg, "e", "t");
	struct sc a;
	struct scen_request rq = request(t, FEMALE_YOUNG_N_H, 5);
	struct scen_pick pk;

	add(ix, &a, 1, t, FEMALE_YOUNG_N_H, 5, 0, 1, NOW - 3 * DAY);
	assert_false(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW,
				     &pk));
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_POOL, NULL, NOW, &pk));
	scen_index_served(ix, 1);
	assert_false(scen_index_pick(ix, &rq, SCEN_TIER_POOL, NULL, NOW, &pk));
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW, &pk));
	assert_int_equal(pk.rowid, 1);
	assert_int_equal(pk.serves, 1);
	assert_false(pk.pool);
	/* served, its age no longer matters */
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL,
				    NOW + 30 * DAY, &pk));
	scen_index_free(ix);
	scen_config_free(cfg);

	/* a pool entry loaded with serves > 0 is a cache candidate too */
	cfg = make_cfg("{max_serves: 5}");
	ix = scen_index_new(cfg);
	t = tpl_of(cfg, "e", "t");
	add(ix, &a, 1, t, FEMALE_YOUNG_N_H, 5, 2, 1, NOW - 30 * DAY);
	rq = request(t, FEMALE_YOUNG_N_H, 5);
	assert_true(scen_index_pick(ix, &rq, SCEN_TIER_CACHE, NULL, NOW, &pk));
	assert_false(scen_index_pick(ix, &rq, SCEN_TIER_POOL, NULL, NOW, &pk));
	scen_index_free(ix);
	scen_config_free(cfg);
}

/* The pool tier takes only unserved pool entries, at the strict
 * threshold. */
static void test_pool_tier_strict_and_unserved_only(void **state)
{
	struct scen_config *cfg = make_cfg("{strict: 0.95, relaxed: 0.5}");
	struct scen_index *ix = scen_index_new(cfg);
	const struct scen_template *t = tpl_of(cfg, "e", "t");
	uint16_t warm[NF] = {0, 0, 0, 1};
	struct sc a, b;
	struct scen_request rq = request(t, FEMALE_YOUNG_N_H, 5);
	struct scen_pick pk;

	add(ix, &a, 1, t, FEMALE_YOUNG_N_H, 5, 0, 0, NOW);	/* fresh */
	add(ix, &b, 2, t, warm, 5, 0, 1, NOW);	/* pool, sim 0.75 */
	assert_false(scen_index_pick(ix, &rq, SCEN_TIER_POOL, NULL, NOW, &pk));
	struct scen_request rq2 = request(t, warm, 5);

	assert_true(scen_index_pick(ix, &rq2, SCEN_TIER_POOL, NULL, NOW,
				    &pk));
	assert_int_equal(pk.rowid, 2);
	scen_index_free(ix);
	scen_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_index_picks_nothing),
		cmocka_unit_test(test_add_twice_is_ignored),
		cmocka_unit_test(test_sparse_row_ids_cost_little_memory),
		cmocka_unit_test(test_exact_match_similarity_one),
		cmocka_unit_test(test_tier_thresholds_from_config),
		cmocka_unit_test(test_hard_factors_never_cross),
		cmocka_unit_test(test_templates_and_experiments_never_cross),
		cmocka_unit_test(test_least_served_first_in_cell),
		cmocka_unit_test(test_least_served_first_above_32),
		cmocka_unit_test(test_least_served_first_across_cells),
		cmocka_unit_test(test_least_served_first_exact_cell_ties),
		cmocka_unit_test(test_least_served_first_rounding_ties),
		cmocka_unit_test(test_session_never_served_twice),
		cmocka_unit_test(test_session_repeat_allowed_when_configured),
		cmocka_unit_test(test_spent_scenarios_never_picked),
		cmocka_unit_test(test_max_serves_one),
		cmocka_unit_test(test_old_pool_entry_never_picked_unserved),
		cmocka_unit_test(test_served_pool_entry_is_cache_candidate),
		cmocka_unit_test(test_pool_tier_strict_and_unserved_only),
		cmocka_unit_test(test_pick_equals_brute_force_best),
		cmocka_unit_test(test_property_small_max_serves),
		cmocka_unit_test(test_property_large_max_serves),
		cmocka_unit_test(test_property_default_thresholds),
		cmocka_unit_test(test_property_repeat_allowed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
