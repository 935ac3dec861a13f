/* serve_tiers.c — what a request is answered with: the walk down the
 * fallback tiers (cache, fresh, pool, relaxed), variety, the waits for a
 * generation, and the serving recorded for each answer (scen(7), TIERS). */
#include "scen/serve_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- variety --------------------------------------------------------- */

static void variety_note(struct server *s, int hit)
{
	if (s->wcount == SERVE_VARIETY_WINDOW)
		s->whits -= s->window[s->wpos];
	else
		s->wcount++;
	s->window[s->wpos] = (uint8_t)hit;
	s->whits += hit;
	s->wpos = (s->wpos + 1) % SERVE_VARIETY_WINDOW;
}

/* Whether a would-be hit should be generated fresh instead: the rolling
 * hit rate is above the middle of the band and quota allows. */
static int variety_force(struct server *s)
{
	const struct scen_config *cfg = s->cfg;
	if (s->wcount < 20 || cfg->cache.band_hi >= 1 || s->degraded)
		return 0;
	double mid = (cfg->cache.band_lo + cfg->cache.band_hi) / 2;
	return (double)s->whits / s->wcount > mid &&
	       scen_quota_open(s->q, s->now);
}

/* Counts p's outcome in the rolling hit rate once, when it is decided:
 * a request sent to generation counts as a miss at once, so a burst of
 * requests read together does not overshoot the band. */
static void variety_decided(struct server *s, struct pend *p, int hit)
{
	if (p->noted || s->o->gen)
		return;
	p->noted = 1;
	variety_note(s, hit);
}

/* ---- stored scenarios ------------------------------------------------ */

/* The session's record, loaded once. When it cannot be read, the turn
 * fails; serving from memory, the session's record stays unloaded and
 * nothing stored is served to it (its history is unknown). */
struct scen_session *serve_session_of(struct server *s, struct pend *p)
{
	if (!p->rq.session)
		return NULL;
	struct scen_session *ss = scen_index_session(s->ix, p->rq.session);
	if (!ss->loaded && scen_db_session_load(s->db, p->rq.session, ss) < 0
	    && !s->degraded)
		s->failed = SCEN_ERR_IO;
	return ss;
}

/* Never again serves a scenario that could not be read back sound. */
static void set_aside(struct server *s, int64_t rowid)
{
	scen_session_add(&s->bad, rowid);
	scen_rowcache_drop(&s->rows, rowid);
	scen_db_count(s->db, "scenario.unreadable", 1);
}

/* scen_index_pick, but never a scenario set aside. The index skips what
 * the session was served; set-aside scenarios are added to that list
 * (when the config keeps the list: otherwise the tier is skipped). */
static int pick(struct server *s, struct pend *p, enum scen_tier tier,
		const struct scen_session *ss, struct scen_pick *pk)
{
	const struct scen_session *excl = ss;
	if (s->bad.n && s->cfg->cache.no_repeat_per_session) {
		uint32_t n = (ss ? ss->n : 0) + s->bad.n;
		XGROW(s->excl.served, n, s->excl.cap);
		s->excl.n = 0;
		if (ss && ss->n)
			memcpy(s->excl.served, ss->served,
			       ss->n * sizeof *ss->served);
		s->excl.n = ss ? ss->n : 0;
		memcpy(s->excl.served + s->excl.n, s->bad.served,
		       s->bad.n * sizeof *s->bad.served);
		s->excl.n = n;
		excl = &s->excl;
	}
	if (!scen_index_pick(s->ix, &p->rq, tier, excl, s->now, pk))
		return 0;
	return !scen_session_has(&s->bad, pk->rowid);
}

/* Serving from memory: the serving goes to the spool's batch. */
static void spool_serving(struct server *s, const struct scen_serving *sv,
			  const char *sid)
{
	const struct scen_request *rq = sv->rq;
	sb_reset(&s->factors);
	scen_request_factors_json(rq, &s->factors);
	struct scen_spooled sp = {
		.request_id = rq->id,
		.session = rq->session ? rq->session : "",
		.experiment = rq->exp->name,
		.template_name = rq->tpl->name,
		.version = rq->tpl->version_hex,
		.factors = s->factors.buf,
		.has_position = rq->tpl->position.declared,
		.position = rq->position,
		.tier = sv->tier,
		.similarity = sv->similarity,
		.scenario_sid = sid,
		.scenario = sv->scenario,
		.account = sv->account,
		.latency_ms = sv->latency_ms,
		.served_at = sv->served_at,
		.forced_fresh = sv->forced_fresh,
	};
	scen_spool_add(s->sp, &sp);
}

/* Records p's serving of rowid (in the database, or the spool when
 * serving from memory). Negative when the turn failed. */
static int record_serving(struct server *s, struct pend *p,
			  enum scen_tier tier, double sim,
			  const struct scen_scenario_row *r, int64_t rowid)
{
	struct scen_serving sv = {
		.rq = &p->rq,
		.tier = scen_tier_name(tier),
		.similarity = sim,
		.scenario = rowid,
		.account = r->account[0] ? r->account : NULL,
		.latency_ms = (scen_mono() - p->t0) * 1000,
		.served_at = s->now,
		.forced_fresh = p->forced,
	};
	if (s->degraded) {
		spool_serving(s, &sv, r->sid);
	} else if (scen_db_insert_serving(s->db, &sv) < 0) {
		s->failed = SCEN_ERR_IO;
		return -1;
	}
	scen_index_served(s->ix, rowid);
	struct scen_session *ss = serve_session_of(s, p);
	if (ss)
		scen_session_add(ss, rowid);
	variety_decided(s, p, tier != SCEN_TIER_FRESH);
	return 0;
}

/* Scenario rowid read back sound for p (kept in the row cache), or NULL
 * with *rc set as serve_scenario returns it. */
static const struct scen_cached *sound_row(struct server *s, struct pend *p,
					   int64_t rowid, double sim, int *rc)
{
	const struct scen_cached *c = scen_rowcache_get(&s->rows, rowid);
	if (!c) {
		struct scen_scenario_row rd;
		enum scen_err g = scen_db_scenario_get(s->db, rowid, p->rq.tpl,
						       &rd);
		if (g && (g == SCEN_ERR_DAMAGED || s->degraded)) {
			set_aside(s, rowid);
			*rc = 1;
			return NULL;
		}
		if (g) {
			s->failed = g;
			*rc = -1;
			return NULL;
		}
		c = scen_rowcache_put(&s->rows, rowid, &rd);
	}
	const struct scen_scenario_row *r = &c->row;
	if (fabs(scen_similarity(p->rq.tpl, p->rq.levels, p->rq.position,
				 r->levels, r->position) - sim) > 1e-9) {
		scen_error("%s: scenario %s (row %lld) is not what the index "
			   "holds for it; it is not served",
			   scen_db_path(s->db), r->sid, (long long)rowid);
		set_aside(s, rowid);
		*rc = 1;
		return NULL;
	}
	return c;
}

int serve_scenario(struct server *s, struct pend *p, enum scen_tier tier,
		   int64_t rowid, double sim, int record)
{
	record = record && !s->o->gen;
	if (record && s->norecord) {
		serve_answer_unavailable(s, p, 60);
		return 0;
	}
	int rc = 0;
	const struct scen_cached *c = sound_row(s, p, rowid, sim, &rc);
	if (!c)
		return rc;
	if (record && record_serving(s, p, tier, sim, &c->row, rowid) < 0)
		return -1;
	serve_answer_ok(s, p, tier, sim, c, record);
	return 0;
}

/* ---- waiting for a job ----------------------------------------------- */

static void wait_for(struct server *s, struct pend *p, struct scen_job *j)
{
	p->job = j;
	p->rounds++;
	/* waiters in arrival order: the first one's request made the job */
	struct pend **pp = (struct pend **)&j->waiters;
	while (*pp)
		pp = &(*pp)->next_waiter;
	p->next_waiter = NULL;
	*pp = p;
	p->prev = NULL;
	p->next = s->waiting;
	if (s->waiting)
		s->waiting->prev = p;
	s->waiting = p;
	p->waiting = 1;
	s->nwaiting++;
	if (s->o->async && !p->told_generating) {
		p->told_generating = 1;
		serve_tell_generating(s, p, j->jid);
	}
}

void serve_unwait(struct server *s, struct pend *p)
{
	if (p->waiting) {
		if (p->prev)
			p->prev->next = p->next;
		else
			s->waiting = p->next;
		if (p->next)
			p->next->prev = p->prev;
		p->prev = p->next = NULL;
		p->waiting = 0;
		s->nwaiting--;
	}
	if (p->job) {
		struct pend **w = (struct pend **)&p->job->waiters;
		while (*w && *w != p)
			w = &(*w)->next_waiter;
		if (*w)
			*w = p->next_waiter;
		/* another process's job no one here waits for any more: let
		 * it go (its owner, or whoever asks next, sees it through),
		 * rather than poll it, or take it over for no one, before
		 * this process may end */
		if (p->job->foreign && !p->job->waiters)
			scen_engine_cancel(s->e, p->job, s->now);
		p->job = NULL;
	}
}

/* ---- the walk -------------------------------------------------------- */

/* What a tier did with a request. */
enum walk {
	WALK_NEXT,		/* nothing: on to the next tier */
	WALK_AGAIN,		/* look again from p->tier_pos */
	WALK_DONE,		/* answered, parked, or waiting for a job */
};

static size_t fresh_pos(const struct server *s, size_t from)
{
	for (size_t i = from; i < s->ntiers; i++)
		if (s->tiers[i] == SCEN_TIER_FRESH)
			return i;
	return (size_t)-1;
}

/*
 * Moves p past a tier that gave nothing. A request leaving the fresh tier
 * without a scenario of its own, after variety sent it there instead of a
 * hit or after it waited for a generation, walks the tiers again from the
 * first, the fresh one left out: the hit it was sent away from, or what
 * was stored while it waited (by this process or, caught up at the start
 * of this turn, by another), is served before anything worse, and before
 * it is answered unavailable.
 */
static void skip_tier(struct server *s, struct pend *p)
{
	if (s->tiers[p->tier_pos] == SCEN_TIER_FRESH && !p->rewalk &&
	    (p->forced || p->rounds)) {
		p->forced = 0;
		p->rewalk = 1;
		p->tier_pos = 0;
	} else {
		p->tier_pos++;
	}
}

/* The tier an answer is labelled with (and recorded under): what it is,
 * whatever tier found it. A relaxed pick as similar as the strict
 * threshold asks is a cache hit, or a pool one when it is an unserved
 * pool entry: relaxed is for answers below it (scen(7), TIERS). */
static enum scen_tier tier_of(const struct scen_config *cfg,
			      enum scen_tier walked,
			      const struct scen_pick *pk)
{
	if (walked != SCEN_TIER_RELAXED ||
	    pk->similarity + 1e-12 < cfg->cache.strict)
		return walked;
	return pk->pool ? SCEN_TIER_POOL : SCEN_TIER_CACHE;
}

/* The fresh tier: p waits for a new job, or one in flight for its key. */
static enum walk try_fresh(struct server *s, struct pend *p)
{
	if (p->rewalk)
		return WALK_NEXT;
	if (s->degraded) {
		/* no call can be recorded in the quota ledger */
		scen_db_count(s->db, "fresh.db_trouble", 1);
		return WALK_NEXT;
	}
	if (!p->deadline)
		p->deadline = s->now + s->cfg->provider.deadline_s;
	if (p->rounds >= 3 || s->now >= p->deadline)
		return WALK_NEXT;
	if (!scen_quota_open(s->q, s->now)) {
		p->retry_at = scen_quota_recovery(s->q, s->now);
		scen_db_count(s->db, "fresh.no_budget", 1);
		return WALK_NEXT;
	}
	const char *origin = s->o->pool ? "pool" : "fresh";
	struct scen_job *j = NULL;
	if (!s->o->gen && !p->rounds) {
		/* single flight: a job of this process for the key, else
		 * one another process (of any host) works (its claim) */
		j = scen_engine_inflight(s->e, p->rq.key);
		if (!j)
			j = scen_engine_claimed(s->e, &p->rq, origin, s->now,
						p->deadline);
	}
	if (j && variety_force(s)) {
		/* sharing the call would be a hit: variety asks for a new
		 * variant instead */
		p->forced = 1;
		if (j->foreign && !j->waiters)
			scen_engine_cancel(s->e, j, s->now);	/* let go */
		j = NULL;
		scen_db_count(s->db, "variety.forced", 1);
	}
	variety_decided(s, p, j != NULL);
	if (!j)
		j = scen_engine_submit(s->e, &p->rq, origin, s->now,
				       p->deadline);
	wait_for(s, p, j);
	return WALK_DONE;
}

/* A tier of stored scenarios (cache, pool, relaxed). */
static enum walk try_stored(struct server *s, struct pend *p,
			    enum scen_tier tier)
{
	struct scen_pick pk;
	struct scen_session *ss = serve_session_of(s, p);
	if (!serve_history_known(ss) || !pick(s, p, tier, ss, &pk))
		return WALK_NEXT;
	size_t f = fresh_pos(s, p->tier_pos + 1);
	if (tier == SCEN_TIER_CACHE && !p->rewalk && f != (size_t)-1 &&
	    variety_force(s)) {
		p->forced = 1;
		p->tier_pos = f;
		scen_db_count(s->db, "variety.forced", 1);
		return WALK_AGAIN;
	}
	int r = serve_scenario(s, p, tier_of(s->cfg, tier, &pk), pk.rowid,
			       pk.similarity, 1);
	if (r == 1)
		return WALK_AGAIN;	/* set aside: another one */
	if (r < 0)
		serve_park(s, p);
	return WALK_DONE;
}

/* Every tier gave nothing: unavailable, with when to try again. */
static void walk_ended(struct server *s, struct pend *p)
{
	double ra = p->retry_at;
	double rec = scen_quota_recovery(s->q, s->now);
	if (!(ra > s->now) || (rec > s->now && rec < ra))
		ra = rec;
	long secs = isfinite(ra) && ra > s->now ? (long)ceil(ra - s->now) : 60;
	char name[160];
	snprintf(name, sizeof name, "miss.%s/%s", p->rq.exp->name,
		 p->rq.tpl->name);
	scen_db_count(s->db, name, 1);
	variety_decided(s, p, 0);
	serve_answer_unavailable(s, p, secs < 1 ? 1 : secs);
}

void serve_advance(struct server *s, struct pend *p)
{
	while (p->tier_pos < s->ntiers && !s->failed) {
		enum scen_tier tier = s->tiers[p->tier_pos];
		enum walk w = tier == SCEN_TIER_FRESH ? try_fresh(s, p)
						      : try_stored(s, p, tier);
		if (w == WALK_DONE)
			return;
		if (w == WALK_NEXT)
			skip_tier(s, p);
	}
	if (s->failed)
		serve_park(s, p);	/* the transaction is abandoned */
	else
		walk_ended(s, p);
}

static void next_tier(struct server *s, struct pend *p)
{
	skip_tier(s, p);
	serve_advance(s, p);
}

/* The scenario job j made, for p: answered (0), the turn failed (-1), or
 * not for p (1): this session has it already, or it is spent
 * (single-flight shared it widely), or set aside. It is fresh for the
 * request that made the job (the first waiter), a hit for the others
 * (all of them when another process made it: a foreign job). */
static int serve_made(struct server *s, struct pend *p,
		      const struct scen_job *j, int first)
{
	enum scen_tier tier = first || s->o->gen ? SCEN_TIER_FRESH
						 : SCEN_TIER_CACHE;
	if (s->o->gen)
		return serve_scenario(s, p, tier, j->scenario, 1.0, 1);
	struct scen_session *ss = serve_session_of(s, p);
	if (s->failed)
		return -1;
	if ((ss && s->cfg->cache.no_repeat_per_session &&
	     scen_session_has(ss, j->scenario)) ||
	    !scen_index_servable(s->ix, j->scenario) ||
	    scen_session_has(&s->bad, j->scenario))
		return 1;
	return serve_scenario(s, p, tier, j->scenario, 1.0, 1);
}

void serve_job_ended(struct server *s, struct scen_job *j)
{
	struct pend *p = j->waiters, *next;
	int first = !j->foreign;
	j->waiters = NULL;
	for (; p; p = next) {
		next = p->next_waiter;
		p->job = NULL;
		serve_unwait(s, p);
		if (s->failed) {
			serve_park(s, p);
			continue;
		}
		if (j->state != SCEN_JOB_DONE) {
			p->retry_at = j->retry_at;
			next_tier(s, p);
			continue;
		}
		int r = serve_made(s, p, j, first);
		if (r < 0)
			serve_park(s, p);
		else if (r == 0)
			first = 0;
		else if (s->o->gen)
			next_tier(s, p);
		else	/* wait for (or make) another variant while there
			   is time */
			serve_advance(s, p);
	}
	scen_job_free(j);
}

void serve_expire_deadlines(struct server *s)
{
	struct pend *p = s->waiting, *next;
	for (; p; p = next) {
		next = p->next;
		if (p->deadline > s->now)
			continue;
		/* the job goes on and its scenario is stored for later */
		serve_unwait(s, p);
		p->retry_at = s->now + 1;
		scen_db_count(s->db, "fresh.deadline", 1);
		next_tier(s, p);
	}
}
