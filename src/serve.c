/* serve.c — the serving loop. Each turn reads what input is there, takes
 * in ended calls, and then, in one write transaction, answers what can be
 * answered: walking each request through the fallback tiers, handing
 * misses to the generation queue, recording servings. Answers go out only
 * after the commit (group commit keeps throughput high). When the database
 * can no longer be written, the loop serves from memory and records to a
 * spool instead (spool.h). */
#include "scen/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scen/engine.h"
#include "scen/index.h"
#include "scen/quota.h"
#include "scen/request.h"
#include "scen/rowcache.h"
#include "scen/spool.h"

#define BATCH_LINES 2048	/* new requests per transaction, at most */
#define READ_CHUNK 65536
#define VARIETY_WINDOW 200	/* answers in the rolling hit rate */

enum pend_kind {
	PEND_GET,
	PEND_STATUS,
	PEND_CANCEL,
	PEND_BAD,		/* a bad line: its error is known */
};

/* A request between reading and its final answer, and until the answer
 * is recorded (a turn that cannot be recorded answers it again). */
struct pend {
	struct scen_request rq;
	enum pend_kind kind;
	const char *err_code;	/* PEND_BAD */
	char *err_msg;
	struct scen_request asked;	/* a status poll's own request, while
					   rq is its job's (has_asked) */
	int has_asked;
	struct pend *next_done;	/* answered this turn, or to answer again */
	uint64_t seq;		/* input order */
	double t0;		/* scen_mono() when read */
	double deadline;	/* virtual time; for the fresh tier */
	size_t tier_pos;	/* in cfg->fallback */
	int forced;		/* variety: a would-be hit sent to fresh */
	int rewalk;		/* walking again, after the fresh tier: no
				   more generation, no forcing */
	int rounds;		/* jobs this request has waited for */
	int told_generating;
	int noted;		/* counted in the variety window */
	double retry_at;
	struct scen_job *job;	/* waiting for it */
	struct pend *next_waiter;
	struct pend *next, *prev;	/* in the waiting list */
	int waiting;
};

struct out_slot {
	char *line;		/* final answer, when known */
};

struct server {
	const struct scen_config *cfg;
	const struct scen_serve_opts *o;
	struct scen_serve_stats *st;
	struct scen_db *db;
	struct scen_index *ix;
	struct scen_quota *q;
	struct scen_engine *e;
	double now;
	/* input */
	char *ibuf;
	size_t ilen, icap;
	int eof, skipping;
	long lineno;
	uint64_t seq;
	/* output: immediate lines, and final lines in order when ordered */
	struct strbuf out;
	struct out_slot *slots;
	size_t nslots, capslots;
	uint64_t slot_base;
	/* the tiers walked: the config's fallback, or fresh alone (scen-gen) */
	enum scen_tier tiers[SCEN_TIER_COUNT];
	size_t ntiers;
	/* requests waiting for a job */
	struct pend *waiting;
	long nwaiting;
	/* variety: the last answers, 1 for a hit */
	uint8_t window[VARIETY_WINDOW];
	int wpos, wcount, whits;
	struct strbuf line;
	int failed;
	/* requests answered this turn (freed once recorded), and those to
	 * answer again (a turn that could not be recorded) */
	struct pend *done, *redo;
	/* scenarios that could not be read back sound: never served */
	struct scen_session bad, excl;
	/* when the database cannot be written (see enter_degraded) */
	struct scen_spool *sp;
	enum scen_db_trouble degraded;
	int need_rebuild;
	int norecord;		/* this turn records nothing: no servings */
	int unrecorded;		/* some turn could record nothing */
	int warned_catch_up;
	struct strbuf factors;
	/* scenarios read back sound, so a hit reads nothing */
	struct scen_rowcache rows;
};

static volatile sig_atomic_t signals;

static void on_signal(int sig)
{
	(void)sig;
	if (++signals >= 2)
		_exit(128 + sig);
}

/* ---- output ---------------------------------------------------------- */

static void emit_final(struct server *s, uint64_t seq, struct strbuf *line)
{
	if (!s->o->ordered) {
		sb_add(&s->out, line->buf, line->len);
		return;
	}
	size_t i = (size_t)(seq - s->slot_base);
	XGROW(s->slots, i + 1, s->capslots);
	while (s->nslots <= i)
		s->slots[s->nslots++].line = NULL;
	s->slots[i].line = xstrndup(line->buf, line->len);
}

/* Ordered mode: moves the answered prefix to the output. */
static void release_ordered(struct server *s)
{
	size_t k = 0;
	while (k < s->nslots && s->slots[k].line) {
		sb_adds(&s->out, s->slots[k].line);
		free(s->slots[k].line);
		k++;
	}
	if (!k)
		return;
	memmove(s->slots, s->slots + k, (s->nslots - k) * sizeof *s->slots);
	s->nslots -= k;
	s->slot_base += k;
}

/* Reserves an output slot for a request read now (ordered mode). */
static void reserve_slot(struct server *s, uint64_t seq)
{
	if (!s->o->ordered)
		return;
	size_t i = (size_t)(seq - s->slot_base);
	XGROW(s->slots, i + 1, s->capslots);
	while (s->nslots <= i)
		s->slots[s->nslots++].line = NULL;
}

/* An answer to rq starts with its id; a bad line whose id could not be
 * read is answered with id null and its line number, which no request's
 * id can be mistaken for (scen-serve-stdin(1), STANDARDS). */
static void line_start(struct server *s, const struct scen_request *rq,
		       const char *status)
{
	struct strbuf *l = &s->line;
	sb_reset(l);
	sb_adds(l, "{\"id\":");
	if (rq->id)
		sb_add_json_str(l, rq->id, strlen(rq->id));
	else
		sb_addf(l, "null,\"line\":%ld", rq->lineno);
	sb_adds(l, ",\"status\":\"");
	sb_adds(l, status);
	sb_addc(l, '"');
}

static void line_str(struct server *s, const char *key, const char *val)
{
	sb_adds(&s->line, ",\"");
	sb_adds(&s->line, key);
	sb_adds(&s->line, "\":");
	sb_add_json_str(&s->line, val, strlen(val));
}

static void line_end(struct server *s)
{
	sb_adds(&s->line, "}\n");
}

static void answer_error(struct server *s, const struct pend *p,
			 const char *code, const char *msg)
{
	line_start(s, &p->rq, "error");
	line_str(s, "error", code);
	line_str(s, "message", msg);
	line_end(s);
	emit_final(s, p->seq, &s->line);
	s->st->errors++;
	char name[64];
	snprintf(name, sizeof name, "error.%s", code);
	scen_db_count(s->db, name, 1);
}

static void variety_note(struct server *s, int hit)
{
	if (s->wcount == VARIETY_WINDOW)
		s->whits -= s->window[s->wpos];
	else
		s->wcount++;
	s->window[s->wpos] = (uint8_t)hit;
	s->whits += hit;
	s->wpos = (s->wpos + 1) % VARIETY_WINDOW;
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

static void free_pend(struct pend *p)
{
	scen_request_release(&p->rq);
	if (p->has_asked)
		scen_request_release(&p->asked);
	free(p->err_msg);
	free(p);
}

/* p has its final answer: it is freed when the turn is recorded. */
static void finish_pend(struct server *s, struct pend *p)
{
	p->next_done = s->done;
	s->done = p;
}

/* The turn failed while p was being answered: p goes with the turn's
 * answered requests, to be answered again if the run goes on. */
static void park(struct server *s, struct pend *p)
{
	finish_pend(s, p);
}

static void free_done(struct server *s)
{
	struct pend *p = s->done, *next;
	for (; p; p = next) {
		next = p->next_done;
		free_pend(p);
	}
	s->done = NULL;
}

static void answer_unavailable(struct server *s, struct pend *p)
{
	double ra = p->retry_at;
	double rec = scen_quota_recovery(s->q, s->now);
	if (!(ra > s->now) || (rec > s->now && rec < ra))
		ra = rec;
	long secs = isfinite(ra) && ra > s->now ? (long)ceil(ra - s->now) : 60;
	if (secs < 1)
		secs = 1;
	line_start(s, &p->rq, "unavailable");
	sb_addf(&s->line, ",\"retry_after_s\":%ld", secs);
	line_str(s, "message", "Try again in a few minutes");
	line_end(s);
	emit_final(s, p->seq, &s->line);
	s->st->unavailable++;
	scen_db_count(s->db, "answer.unavailable", 1);
	char name[160];
	snprintf(name, sizeof name, "miss.%s/%s", p->rq.exp->name,
		 p->rq.tpl->name);
	scen_db_count(s->db, name, 1);
	variety_decided(s, p, 0);
	finish_pend(s, p);
}

/* A request that the database cannot serve now (it cannot be read, or
 * what it asks cannot be written). */
static void answer_db_unavailable(struct server *s, struct pend *p)
{
	line_start(s, &p->rq, "unavailable");
	sb_adds(&s->line, ",\"retry_after_s\":60");
	line_str(s, "message", "Try again in a few minutes");
	line_end(s);
	emit_final(s, p->seq, &s->line);
	s->st->unavailable++;
	scen_db_count(s->db, "answer.unavailable", 1);
	finish_pend(s, p);
}

/* The session's record, loaded once. When it cannot be read, the turn
 * fails; serving from memory, the session's record stays unloaded and
 * nothing stored is served to it (its history is unknown). */
static struct scen_session *session_of(struct server *s, struct pend *p)
{
	if (!p->rq.session)
		return NULL;
	struct scen_session *ss = scen_index_session(s->ix, p->rq.session);
	if (!ss->loaded && scen_db_session_load(s->db, p->rq.session, ss) < 0
	    && !s->degraded)
		s->failed = SCEN_EX_IOERR;
	return ss;
}

/* Whether the scenarios the session was served are known (see
 * session_of). */
static int history_known(const struct scen_session *ss)
{
	return !ss || ss->loaded;
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
static void spool_serving(struct server *s, struct pend *p,
			  enum scen_tier tier, double sim,
			  const struct scen_scenario_row *r, int64_t rowid)
{
	sb_reset(&s->factors);
	scen_request_factors_json(&p->rq, &s->factors);
	struct scen_spooled sv = {
		.request_id = p->rq.id,
		.session = p->rq.session ? p->rq.session : "",
		.experiment = p->rq.exp->name,
		.template_name = p->rq.tpl->name,
		.version = p->rq.tpl->version_hex,
		.factors = s->factors.buf,
		.has_position = p->rq.tpl->position.declared,
		.position = p->rq.position,
		.tier = scen_tier_name(tier),
		.similarity = sim,
		.scenario_sid = r->sid,
		.scenario = rowid,
		.account = r->account[0] ? r->account : NULL,
		.latency_ms = (scen_mono() - p->t0) * 1000,
		.served_at = s->now,
		.forced_fresh = p->forced,
	};
	scen_spool_add(s->sp, &sv);
}

/*
 * Answers p with a stored scenario; records the serving unless this is
 * a repeated delivery of one already recorded (record = 0). Returns 0
 * when p is answered, -1 when the turn failed, and 1 when the scenario
 * cannot be read back sound (damaged, or unreadable while serving from
 * memory): it is set aside and p is not answered.
 */
static int serve_scenario(struct server *s, struct pend *p,
			  enum scen_tier tier, int64_t rowid, double sim,
			  int record)
{
	record = record && !s->o->gen;
	if (record && s->norecord) {
		answer_db_unavailable(s, p);
		return 0;
	}
	const struct scen_cached *c = scen_rowcache_get(&s->rows, rowid);
	if (!c) {
		struct scen_scenario_row rd;
		int g = scen_db_scenario_get(s->db, rowid, p->rq.tpl, &rd);
		if (g < 0) {
			if (g == SCEN_DB_DAMAGED || s->degraded) {
				set_aside(s, rowid);
				return 1;
			}
			s->failed = SCEN_EX_IOERR;
			return -1;
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
		return 1;
	}
	if (record) {
		if (s->degraded) {
			spool_serving(s, p, tier, sim, r, rowid);
		} else {
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
			if (scen_db_insert_serving(s->db, &sv) < 0) {
				s->failed = SCEN_EX_IOERR;
				return -1;
			}
		}
		scen_index_served(s->ix, rowid);
		struct scen_session *ss = session_of(s, p);
		if (ss)
			scen_session_add(ss, rowid);
		variety_decided(s, p, tier != SCEN_TIER_FRESH);
	}
	char ts[24];
	scen_iso8601(r->created_at, ts);
	line_start(s, &p->rq, "ok");
	line_str(s, "tier", scen_tier_name(tier));
	line_str(s, "scenario_id", r->sid);
	sb_adds(&s->line, ",\"similarity\":");
	sb_add_json_double(&s->line, floor(sim * 10000 + 0.5) / 10000);
	sb_adds(&s->line, ",\"text\":");
	sb_add(&s->line, c->text_json, c->text_json_len);
	line_str(s, "experiment", p->rq.exp->name);
	line_str(s, "template", p->rq.tpl->name);
	line_str(s, "model", r->model);
	line_str(s, "generated_at", ts);
	line_end(s);
	emit_final(s, p->seq, &s->line);
	s->st->ok++;
	s->st->by_tier[tier]++;
	static const char *const tier_counter[SCEN_TIER_COUNT] = {
		"tier.cache", "tier.fresh", "tier.pool", "tier.relaxed",
	};
	/* counted as servings are: not scen-gen's, not a repeat delivery */
	if (record) {
		scen_db_count(s->db, tier_counter[tier], 1);
		scen_db_count(s->db, "answer.ok", 1);
	}
	finish_pend(s, p);
	return 0;
}

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
		line_start(s, &p->rq, "generating");
		line_str(s, "job", j->jid);
		line_end(s);
		sb_add(&s->out, s->line.buf, s->line.len);
	}
}

static void unwait(struct server *s, struct pend *p)
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
		p->job = NULL;
	}
}

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

/* Walks p through the tiers from p->tier_pos until it is answered or
 * waits for a job. */
static void advance(struct server *s, struct pend *p)
{
	const struct scen_config *cfg = s->cfg;
	while (p->tier_pos < s->ntiers && !s->failed) {
		enum scen_tier tier = s->tiers[p->tier_pos];
		if (tier == SCEN_TIER_FRESH && p->rewalk)
			goto next;
		if (tier == SCEN_TIER_FRESH && s->degraded) {
			/* no call can be recorded in the quota ledger */
			scen_db_count(s->db, "fresh.db_trouble", 1);
			goto next;
		}
		if (tier == SCEN_TIER_FRESH) {
			if (!p->deadline)
				p->deadline = s->now + cfg->provider.deadline_s;
			if (p->rounds >= 3 || s->now >= p->deadline)
				goto next;
			if (!scen_quota_open(s->q, s->now)) {
				p->retry_at = scen_quota_recovery(s->q, s->now);
				scen_db_count(s->db, "fresh.no_budget", 1);
				goto next;
			}
			struct scen_job *j = s->o->gen || p->rounds
				? NULL : scen_engine_inflight(s->e, p->rq.key);
			if (j && variety_force(s)) {
				/* sharing the call would be a hit: variety
				 * asks for a new variant instead */
				p->forced = 1;
				j = NULL;
				scen_db_count(s->db, "variety.forced", 1);
			}
			variety_decided(s, p, j != NULL);
			if (!j)
				j = scen_engine_submit(s->e, &p->rq,
						       s->o->pool ? "pool"
								  : "fresh",
						       s->now, p->deadline);
			wait_for(s, p, j);
			return;
		}
		struct scen_pick pk;
		struct scen_session *ss = session_of(s, p);
		if (!history_known(ss))
			goto next;
		if (pick(s, p, tier, ss, &pk)) {
			size_t f = fresh_pos(s, p->tier_pos + 1);
			if (tier == SCEN_TIER_CACHE && !p->rewalk &&
			    f != (size_t)-1 && variety_force(s)) {
				p->forced = 1;
				p->tier_pos = f;
				scen_db_count(s->db, "variety.forced", 1);
				continue;
			}
			int r = serve_scenario(s, p, tier_of(cfg, tier, &pk),
					       pk.rowid, pk.similarity, 1);
			if (r == 1)
				continue;	/* set aside: another one */
			if (r < 0)
				park(s, p);
			return;
		}
next:
		skip_tier(s, p);
	}
	if (s->failed) {
		park(s, p);	/* the transaction is abandoned */
		return;
	}
	answer_unavailable(s, p);
}

static void next_tier(struct server *s, struct pend *p)
{
	skip_tier(s, p);
	advance(s, p);
}

/* A job ended: answer or move on each request that waited for it. */
static void job_ended(struct server *s, struct scen_job *j)
{
	struct pend *p = j->waiters, *next;
	int first = 1;
	j->waiters = NULL;
	for (; p; p = next) {
		next = p->next_waiter;
		p->job = NULL;
		unwait(s, p);
		if (s->failed) {
			park(s, p);
			continue;
		}
		if (j->state != SCEN_JOB_DONE) {
			p->retry_at = j->retry_at;
			next_tier(s, p);
			continue;
		}
		int r;
		if (s->o->gen) {
			r = serve_scenario(s, p, SCEN_TIER_FRESH, j->scenario,
					   1.0, 1);
			if (r < 0)
				park(s, p);
			else if (r == 1)
				next_tier(s, p);
			continue;
		}
		struct scen_session *ss = session_of(s, p);
		if (s->failed) {
			park(s, p);
			continue;
		}
		/* the new scenario, unless this session has it already or it
		 * is spent (single-flight shared it widely) */
		if ((!ss || !s->cfg->cache.no_repeat_per_session ||
		     !scen_session_has(ss, j->scenario)) &&
		    scen_index_servable(s->ix, j->scenario) &&
		    !scen_session_has(&s->bad, j->scenario)) {
			r = serve_scenario(s, p, first ? SCEN_TIER_FRESH
						       : SCEN_TIER_CACHE,
					   j->scenario, 1.0, 1);
			if (r < 0)
				park(s, p);
			if (r <= 0) {
				first = 0;
				continue;
			}
		}
		/* wait for (or make) another variant while there is time */
		advance(s, p);
	}
	scen_job_free(j);
}

static void expire_deadlines(struct server *s)
{
	struct pend *p = s->waiting, *next;
	for (; p; p = next) {
		next = p->next;
		if (p->deadline > s->now)
			continue;
		/* the job goes on and its scenario is stored for later */
		unwait(s, p);
		p->retry_at = s->now + 1;
		scen_db_count(s->db, "fresh.deadline", 1);
		next_tier(s, p);
	}
}

/* ---- status and cancel ---------------------------------------------- */

static void answer_job_state(struct server *s, struct pend *p,
			     const char *jid, const char *state)
{
	line_start(s, &p->rq, "generating");
	line_str(s, "job", jid);
	line_str(s, "state", state);
	line_end(s);
	emit_final(s, p->seq, &s->line);
}

static void not_found(struct server *s, struct pend *p)
{
	char msg[128];
	snprintf(msg, sizeof msg, "no job '%.40s' for this session",
		 p->rq.job);
	answer_error(s, p, "not_found", msg);
	finish_pend(s, p);
}

/* op status for a job that is not running here: from the database. */
static void status_stored(struct server *s, struct pend *p)
{
	struct scen_job_row r;
	int found = scen_db_job_get(s->db, p->rq.job, &r);
	if (found < 0) {
		if (s->degraded) {
			answer_db_unavailable(s, p);
		} else {
			s->failed = SCEN_EX_IOERR;
			park(s, p);
		}
		return;
	}
	int mine = found && r.session && !strcmp(r.session, p->rq.session);
	if (found && !mine && r.scenario) {
		/* a session that shared the job's call was served from it */
		struct scen_session *ss = session_of(s, p);
		if (!history_known(ss)) {
			scen_job_row_release(&r);
			answer_db_unavailable(s, p);
			return;
		}
		mine = ss && scen_session_has(ss, r.scenario);
	}
	if (!mine) {
		if (found)
			scen_job_row_release(&r);
		not_found(s, p);
		return;
	}
	if (!strcmp(r.state, "done") && r.scenario) {
		struct scen_request rq;
		if (scen_job_row_request(s->cfg, &r, &rq) < 0) {
			answer_error(s, p, "not_found",
				     "the job's template has changed since");
			scen_job_row_release(&r);
			finish_pend(s, p);
			return;
		}
		/* the poll delivers the scenario: as the job's own request
		 * (its own is kept, to be asked again if need be) */
		free(rq.id);
		rq.id = xstrdup(p->rq.id);
		p->asked = p->rq;
		p->has_asked = 1;
		p->rq = rq;
		struct scen_session *ss = session_of(s, p);
		int had = ss && scen_session_has(ss, r.scenario);
		int rc = !history_known(ss) ||
			 scen_session_has(&s->bad, r.scenario) ? 1
			: serve_scenario(s, p, SCEN_TIER_FRESH, r.scenario,
					 1.0, !had);
		if (rc < 0)
			park(s, p);
		else if (rc == 1)
			answer_db_unavailable(s, p);
	} else if (!strcmp(r.state, "failed")) {
		line_start(s, &p->rq, "unavailable");
		sb_adds(&s->line, ",\"retry_after_s\":60");
		line_str(s, "job", r.jid);
		line_str(s, "message", "Try again in a few minutes");
		line_end(s);
		emit_final(s, p->seq, &s->line);
		finish_pend(s, p);
	} else if (!strcmp(r.state, "cancelled")) {
		answer_error(s, p, "cancelled",
			     "the job was cancelled");
		finish_pend(s, p);
	} else {
		answer_job_state(s, p, r.jid, r.state);
		finish_pend(s, p);
	}
	scen_job_row_release(&r);
}

/* Whether session asked for job j: made it or waits for it. */
static int asked(const struct scen_job *j, const char *session)
{
	if (j->rq.session && !strcmp(j->rq.session, session))
		return 1;
	for (const struct pend *w = j->waiters; w; w = w->next_waiter)
		if (w->rq.session && !strcmp(w->rq.session, session))
			return 1;
	return 0;
}

static void op_status(struct server *s, struct pend *p)
{
	struct scen_job *j = s->e ? scen_engine_find(s->e, p->rq.job) : NULL;
	if (!j) {
		status_stored(s, p);
		return;
	}
	if (!asked(j, p->rq.session)) {
		not_found(s, p);
		return;
	}
	answer_job_state(s, p, j->jid, scen_job_state_name(j->state));
	finish_pend(s, p);
}

static void op_cancel(struct server *s, struct pend *p)
{
	struct scen_job *j = s->e ? scen_engine_find(s->e, p->rq.job) : NULL;
	struct scen_job_row r;
	const char *state = "cancelled";
	if (j) {
		if (!asked(j, p->rq.session)) {
			not_found(s, p);
			return;
		}
		/* the session's own waiting requests end; other sessions
		 * sharing the call keep it */
		struct pend *w = j->waiters, *next;
		int others = 0;
		for (; w; w = next) {
			next = w->next_waiter;
			if (strcmp(w->rq.session ? w->rq.session : "",
				   p->rq.session)) {
				others++;
				continue;
			}
			unwait(s, w);
			answer_error(s, w, "cancelled",
				     "the job was cancelled by its session");
			finish_pend(s, w);
		}
		if (!others)
			scen_engine_cancel(s->e, j, s->now);
	} else {
		int found = scen_db_job_get(s->db, p->rq.job, &r);
		if (found < 0) {
			if (s->degraded) {
				answer_db_unavailable(s, p);
			} else {
				s->failed = SCEN_EX_IOERR;
				park(s, p);
			}
			return;
		}
		if (!found || !r.session || strcmp(r.session, p->rq.session)) {
			if (found)
				scen_job_row_release(&r);
			not_found(s, p);
			return;
		}
		state = !strcmp(r.state, "done") ? "done"
			: !strcmp(r.state, "failed") ? "failed" : "cancelled";
		int open = !strcmp(r.state, "queued") ||
			   !strcmp(r.state, "running");
		int64_t rowid = r.rowid;
		scen_job_row_release(&r);
		if (open && s->degraded) {
			/* the cancel cannot be written */
			answer_db_unavailable(s, p);
			return;
		}
		if (open)
			scen_db_job_update(s->db, rowid, "cancelled", s->now,
					   NULL, 0, "cancelled", 0);
	}
	line_start(s, &p->rq, "ok");
	line_str(s, "job", p->rq.job);
	line_str(s, "state", state);
	line_end(s);
	emit_final(s, p->seq, &s->line);
	finish_pend(s, p);
}

/* ---- input ----------------------------------------------------------- */

static void take_line(struct server *s, const char *line, size_t len)
{
	struct scen_req_error err;
	struct pend *p = xcalloc(1, sizeof *p);
	s->lineno++;
	if (len && line[len - 1] == '\r')
		len--;
	size_t k = 0;
	while (k < len && (line[k] == ' ' || line[k] == '\t'))
		k++;
	if (k == len) {	/* blank lines are not requests */
		free(p);
		return;
	}
	p->seq = s->seq++;
	p->t0 = scen_mono();
	s->st->lines++;
	reserve_slot(s, p->seq);
	int flags = s->o->gen ? 0 : SCEN_REQ_NEED_SESSION;
	if (scen_request_parse(s->cfg, line, len, s->lineno, flags, &p->rq,
			       &err) < 0) {
		scen_debug("%s:%ld: %s: %s", s->o->in_name, s->lineno,
			   err.code, err.message);
		p->kind = PEND_BAD;
		p->err_code = err.code;
		p->err_msg = xstrdup(err.message);
		answer_error(s, p, err.code, err.message);
		finish_pend(s, p);
		return;
	}
	if (p->rq.op == SCEN_OP_STATUS) {
		p->kind = PEND_STATUS;
		op_status(s, p);
		return;
	}
	if (p->rq.op == SCEN_OP_CANCEL) {
		p->kind = PEND_CANCEL;
		op_cancel(s, p);
		return;
	}
	if (s->o->gen) {
		/* each variant is its own request with the same id */
		for (long i = 1; i < s->o->count; i++) {
			struct pend *q = xcalloc(1, sizeof *q);
			*q = *p;
			q->rq.id = xstrdup(p->rq.id);
			q->rq.session = p->rq.session ? xstrdup(p->rq.session)
						      : NULL;
			q->seq = s->seq++;
			reserve_slot(s, q->seq);
			advance(s, q);
		}
	}
	advance(s, p);
}

static void too_long(struct server *s)
{
	struct pend *p = xcalloc(1, sizeof *p);
	p->seq = s->seq++;
	s->lineno++;
	s->st->lines++;
	reserve_slot(s, p->seq);
	p->kind = PEND_BAD;
	p->err_code = "line_too_long";
	p->err_msg = xasprintf("line %ld is longer than %d bytes", s->lineno,
			       SCEN_MAX_LINE);
	p->rq.lineno = s->lineno;	/* no id: its line number says which */
	answer_error(s, p, p->err_code, p->err_msg);
	finish_pend(s, p);
}

/* Answers up to max complete lines of the input buffer. */
static int take_lines(struct server *s, int max)
{
	size_t start = 0;
	int n = 0, partial = 0;
	while (n < max && !s->failed) {
		char *nl = memchr(s->ibuf + start, '\n', s->ilen - start);
		if (!nl) {
			partial = 1;
			break;
		}
		size_t len = (size_t)(nl - (s->ibuf + start));
		if (s->skipping)
			s->skipping = 0;	/* the rest of a long line */
		else if (len > SCEN_MAX_LINE)
			too_long(s);
		else
			take_line(s, s->ibuf + start, len);
		start += len + 1;
		n++;
	}
	size_t rest = s->ilen - start;
	if (partial && s->skipping) {
		start = s->ilen;	/* still inside a long line */
		rest = 0;
	} else if (partial && rest > SCEN_MAX_LINE) {
		/* no newline in sight: answer now, drop the rest of it */
		too_long(s);
		s->skipping = 1;
		start = s->ilen;
		rest = 0;
		n++;
	} else if (partial && s->eof && rest) {
		take_line(s, s->ibuf + start, rest);	/* no final newline */
		start = s->ilen;
		rest = 0;
		n++;
	}
	memmove(s->ibuf, s->ibuf + start, rest);
	s->ilen = rest;
	return n;
}

static int has_line(const struct server *s)
{
	return s->ilen && (memchr(s->ibuf, '\n', s->ilen) || s->eof ||
			   s->ilen > SCEN_MAX_LINE);
}

static void read_input(struct server *s)
{
	if (s->eof)
		return;
	for (int k = 0; k < 16; k++) {
		XGROW(s->ibuf, s->ilen + READ_CHUNK, s->icap);
		ssize_t n = read(s->o->in_fd, s->ibuf + s->ilen, READ_CHUNK);
		if (n > 0) {
			s->ilen += (size_t)n;
			if (s->ilen > 4 * (size_t)SCEN_MAX_LINE)
				return;	/* enough to chew on */
			continue;
		}
		if (n == 0)
			s->eof = 1;
		else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			 errno != EINTR) {
			scen_error("%s: read error: %s", s->o->in_name,
				   strerror(errno));
			s->eof = 1;
		}
		return;
	}
}

/* ---- answering again ------------------------------------------------- */

static int by_seq(const void *a, const void *b)
{
	const struct pend *x = *(const struct pend *const *)a;
	const struct pend *y = *(const struct pend *const *)b;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static void push_redo(struct server *s, struct pend *p)
{
	p->next_done = s->redo;
	s->redo = p;
}

/*
 * Takes back what a turn answered when the turn cannot be recorded: its
 * lines are dropped (none was written: answers go out after the record)
 * and its requests wait to be answered again. The turn's effects on
 * memory are not undone here: see enter_degraded.
 */
static void retract(struct server *s, const struct scen_serve_stats *st0)
{
	long lines = s->st->lines;
	*s->st = *st0;
	s->st->lines = lines;
	sb_reset(&s->out);
	struct pend *p = s->done, *next;
	for (; p; p = next) {
		next = p->next_done;
		size_t i = (size_t)(p->seq - s->slot_base);
		if (s->o->ordered && i < s->nslots) {
			free(s->slots[i].line);
			s->slots[i].line = NULL;
		}
		push_redo(s, p);
	}
	s->done = NULL;
}

/* Answers the requests of s->redo again, in input order, from the start
 * of their walk. */
static void redo_all(struct server *s)
{
	size_t n = 0;
	for (struct pend *p = s->redo; p; p = p->next_done)
		n++;
	if (!n)
		return;
	struct pend **v = xmalloc(n * sizeof *v);
	n = 0;
	for (struct pend *p = s->redo; p; p = p->next_done)
		v[n++] = p;
	s->redo = NULL;
	qsort(v, n, sizeof *v, by_seq);
	for (size_t i = 0; i < n; i++) {
		struct pend *p = v[i];
		if (p->has_asked) {
			scen_request_release(&p->rq);
			p->rq = p->asked;
			p->has_asked = 0;
		}
		p->tier_pos = 0;
		p->forced = p->rewalk = p->rounds = p->noted = 0;
		p->deadline = p->retry_at = 0;
		p->job = NULL;
		p->next_waiter = p->next = p->next_done = NULL;
		switch (p->kind) {
		case PEND_BAD:
			answer_error(s, p, p->err_code,
				     p->err_msg);
			finish_pend(s, p);
			break;
		case PEND_STATUS:
			op_status(s, p);
			break;
		case PEND_CANCEL:
			op_cancel(s, p);
			break;
		case PEND_GET:
			advance(s, p);
			break;
		}
	}
	free(v);
}

/* ---- serving from memory --------------------------------------------- */

/* A serving another process spooled: counted like one caught up from the
 * database. Sessions not yet loaded get it too (loading adds to it). */
static void apply_spooled(void *ctx, const char *session, int64_t scenario)
{
	struct server *s = ctx;
	scen_index_served(s->ix, scenario);
	scen_session_add(scen_index_session(s->ix, session), scenario);
}

static void spool_catch_up(struct server *s)
{
	if (!s->o->gen)
		scen_spool_read(s->sp, apply_spooled, s);
}

/* The index from what the database holds, plus the spool. */
static int rebuild_index(struct server *s)
{
	scen_index_free(s->ix);
	s->ix = scen_index_new(s->cfg);
	if (scen_db_load_index(s->db, s->cfg, s->ix) < 0)
		return -1;
	scen_spool_rewind(s->sp);
	s->need_rebuild = 0;
	return 0;
}

/*
 * The database cannot be written (full, read-only, write errors): the
 * rest of the run serves from memory and spools its servings (spool.h).
 *
 * Nothing of the failed turn was committed or written out, but the turn
 * changed memory as it went: the index counted servings and sessions, and
 * the engine added the scenarios it stored, which the rollback took back
 * (their row ids may even be reused). Rather than defer or undo each of
 * these changes (a turn's later requests must see its earlier servings),
 * the index is rebuilt from what the database holds, plus the spool, and
 * every request the turn answered is answered again from there (as if it
 * had just been read). Requests waiting for a generation are too: no call
 * can be recorded in the quota ledger any more, so the fresh tier is off.
 * The engine is dropped with its calls in flight; its jobs stay queued in
 * the database, and the next process adopts them.
 */
static void enter_degraded(struct server *s, enum scen_db_trouble why,
			   const struct scen_serve_stats *st0)
{
	retract(s, st0);
	while (s->waiting) {
		struct pend *p = s->waiting;
		unwait(s, p);
		push_redo(s, p);
	}
	struct scen_job *j;
	while ((j = scen_engine_finished(s->e)))
		scen_job_free(j);
	scen_engine_free(s->e);
	s->e = NULL;
	s->failed = 0;
	s->degraded = why;
	s->need_rebuild = 1;
	scen_warn("%s: serving from memory, servings spooled to %s",
		  scen_db_trouble_name(why), scen_spool_path(s->sp));
}

/* A turn (or the setup) failed with rc: serving from memory when the
 * database cannot be written, else rc. */
static int turn_failed(struct server *s, const struct scen_serve_stats *st0,
		       int rc)
{
	enum scen_db_trouble why = scen_db_write_trouble(s->db);
	if (!why || s->o->gen)
		return rc;
	enter_degraded(s, why, st0);
	return 0;
}

static void spool_count(void *ctx, const char *name, size_t len, long n)
{
	struct server *s = ctx;
	scen_spool_add_count(s->sp, (int64_t)(s->now / 3600), name, len, n);
}

static int write_out(struct server *s);

/*
 * A turn serving from memory: the spool takes the place of the commit.
 * It still takes the database's write lock when it can (taking its turn
 * among the other processes, and catching up with what they committed),
 * but writes nothing there. The batch of servings is fsync'd before the
 * answers go out. When the spool cannot be written either, the turn is
 * answered again recording nothing: unavailable where a serving would be.
 */
static int turn_degraded(struct server *s)
{
	struct scen_serve_stats st0 = *s->st;
	s->now = scen_now();
	int tx = scen_db_begin_quiet(s->db);
	int spooling = scen_spool_lock(s->sp) == 0;
	if (s->need_rebuild && rebuild_index(s) < 0) {
		scen_spool_unlock(s->sp);
		scen_db_rollback(s->db);
		return SCEN_EX_IOERR;
	}
	if (tx && scen_db_catch_up(s->db, s->cfg, s->ix) < 0 &&
	    !s->warned_catch_up++)
		scen_warn("not catching up with other processes' servings");
	spool_catch_up(s);
	s->norecord = !spooling;
	redo_all(s);
	take_lines(s, BATCH_LINES);
	if (spooling) {
		scen_db_take_counts(s->db, spool_count, s);
		if (scen_spool_commit(s->sp) < 0) {
			retract(s, &st0);
			if (rebuild_index(s) < 0) {
				scen_spool_unlock(s->sp);
				scen_db_rollback(s->db);
				return SCEN_EX_IOERR;
			}
			spool_catch_up(s);
			s->norecord = 1;
			redo_all(s);
		}
	}
	if (s->norecord && !s->unrecorded++)
		scen_error("neither the database nor %s can be written: "
			   "answering unavailable where a serving would be",
			   scen_spool_path(s->sp));
	s->norecord = 0;
	scen_spool_unlock(s->sp);
	/* writes nothing; drops the counters not spooled */
	scen_db_rollback(s->db);
	free_done(s);
	return write_out(s);
}

/* ---- the loop -------------------------------------------------------- */

static void handle_finished(struct server *s)
{
	struct scen_job *j;
	while ((j = scen_engine_finished(s->e)))
		job_ended(s, j);
}

static double next_deadline(const struct server *s)
{
	double t = INFINITY;
	for (const struct pend *p = s->waiting; p; p = p->next)
		if (p->deadline < t)
			t = p->deadline;
	return t;
}

static int write_out(struct server *s)
{
	if (s->o->ordered)
		release_ordered(s);
	if (s->out.len) {
		if (fwrite(s->out.buf, 1, s->out.len, s->o->out) != s->out.len ||
		    fflush(s->o->out) != 0) {
			scen_error("error writing the answers: %s",
				   strerror(errno));
			return SCEN_EX_IOERR;
		}
		sb_reset(&s->out);
	}
	return 0;
}

/* One transaction: everything that can be answered now is. */
static int turn(struct server *s)
{
	struct scen_serve_stats st0 = *s->st;
	s->now = scen_now();
	if (scen_db_begin(s->db) < 0)
		return turn_failed(s, &st0, SCEN_EX_IOERR);
	if (scen_db_catch_up(s->db, s->cfg, s->ix) < 0)
		s->failed = SCEN_EX_IOERR;
	spool_catch_up(s);
	scen_engine_step(s->e, s->now);
	handle_finished(s);
	take_lines(s, BATCH_LINES);
	expire_deadlines(s);
	for (int k = 0; k < 8; k++) {
		scen_engine_step(s->e, s->now);
		if (!scen_engine_finished_count(s->e))
			break;
		handle_finished(s);
	}
	if (s->failed) {
		scen_db_rollback(s->db);
		return turn_failed(s, &st0, s->failed);
	}
	if (scen_db_commit(s->db) < 0)
		return turn_failed(s, &st0, SCEN_EX_IOERR);
	free_done(s);
	int rc = write_out(s);
	if (rc)
		return rc;
	scen_engine_launch(s->e);
	return 0;
}

static int setup(struct server *s)
{
	struct scen_serve_stats st0 = *s->st;
	if (scen_db_begin(s->db) < 0)
		return turn_failed(s, &st0, SCEN_EX_IOERR);
	if (scen_db_register_templates(s->db, s->cfg) < 0 ||
	    scen_db_load_index(s->db, s->cfg, s->ix) < 0 ||
	    scen_engine_adopt(s->e, scen_now()) < 0) {
		scen_db_rollback(s->db);
		return turn_failed(s, &st0, SCEN_EX_IOERR);
	}
	/* servings spooled by a process still running, or that could not
	 * be replayed yet */
	spool_catch_up(s);
	if (scen_db_commit(s->db) < 0)
		return turn_failed(s, &st0, SCEN_EX_IOERR);
	scen_debug("%zu stored scenarios loaded", scen_index_count(s->ix));
	return 0;
}

/* Serving from memory: waits for input (there are no calls). */
static void wait_input(struct server *s, int timeout_ms)
{
	struct pollfd pfd = {.fd = s->o->in_fd, .events = POLLIN};
	poll(&pfd, 1, timeout_ms);
}

int scen_serve(const struct scen_config *cfg, struct scen_db *db,
	       const struct scen_serve_opts *o, struct scen_serve_stats *st)
{
	struct server s;
	memset(&s, 0, sizeof s);
	memset(st, 0, sizeof *st);
	s.cfg = cfg;
	s.o = o;
	s.st = st;
	s.db = db;
	s.ix = scen_index_new(cfg);
	s.q = scen_quota_new(cfg, db);
	s.e = scen_engine_new(cfg, db, s.q, s.ix);
	s.sp = scen_spool_new(scen_db_path(db));
	if (o->gen) {
		s.tiers[0] = SCEN_TIER_FRESH;	/* never a cache read */
		s.ntiers = 1;
	} else {
		memcpy(s.tiers, cfg->fallback, sizeof s.tiers);
		s.ntiers = cfg->nfallback;
	}
	sb_init(&s.out);
	sb_init(&s.line);
	sb_init(&s.factors);
	scen_rowcache_init(&s.rows, SCEN_ROWCACHE_BYTES);

	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	int fl = fcntl(o->in_fd, F_GETFL);
	if (fl >= 0)
		fcntl(o->in_fd, F_SETFL, fl | O_NONBLOCK);

	int rc = setup(&s);
	while (!rc) {
		if (signals && !s.eof) {
			scen_info("signal: finishing the jobs in flight");
			s.eof = 1;
		}
		if (s.degraded) {
			if (!has_line(&s) && !s.redo && !s.eof)
				wait_input(&s, 200);
			if (!s.eof)
				read_input(&s);
			if (has_line(&s) || s.redo)
				rc = turn_degraded(&s);
			if (!rc && s.eof && !has_line(&s) && !s.redo)
				break;
			continue;
		}
		double now = scen_now();
		double wake = next_deadline(&s);
		double t = scen_engine_next_try(s.e);
		if (t < wake)
			wake = t;
		int timeout = has_line(&s) ? 0 : 200;
		if (isfinite(wake)) {
			double ms = scen_real_ms(wake - now);
			if (ms < timeout)
				timeout = ms < 0 ? 0 : (int)ms + 1;
		}
		int ready = 0;
		if (timeout > 0 || scen_engine_inflight_calls(s.e))
			scen_engine_wait(s.e, s.eof ? -1 : o->in_fd,
					 timeout, &ready);
		if (!s.eof)
			read_input(&s);
		int ended = scen_engine_collect(s.e);
		now = scen_now();
		if (has_line(&s) || ended || next_deadline(&s) <= now ||
		    scen_engine_next_try(s.e) <= now)
			rc = turn(&s);
		if (!rc && !s.degraded && s.eof && !has_line(&s) &&
		    !s.nwaiting && !scen_engine_pending(s.e) &&
		    !scen_engine_inflight_calls(s.e))
			break;
	}
	if (rc)
		scen_error("stopping: answers not yet committed are not "
			   "written");
	long spooled = scen_spool_written(s.sp);
	if (spooled)
		scen_warn("%ld serving%s in %s; the next scen-serve-stdin, "
			  "scen-gen or scen-pool-fill adds %s to the "
			  "database", spooled, spooled == 1 ? " is" : "s are",
			  scen_spool_path(s.sp), spooled == 1 ? "it" : "them");
	if (!rc && s.unrecorded)
		rc = SCEN_EX_IOERR;
	while (s.waiting) {
		struct pend *p = s.waiting;
		unwait(&s, p);
		free_pend(p);
	}
	free_done(&s);
	s.done = s.redo;
	free_done(&s);
	for (size_t i = 0; i < s.nslots; i++)
		free(s.slots[i].line);
	free(s.slots);
	scen_engine_free(s.e);
	scen_quota_free(s.q);
	scen_index_free(s.ix);
	scen_spool_free(s.sp);
	free(s.bad.served);
	free(s.excl.served);
	sb_release(&s.out);
	sb_release(&s.line);
	sb_release(&s.factors);
	scen_rowcache_release(&s.rows);
	free(s.ibuf);
	return rc;
}
