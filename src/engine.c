/* engine.c — the generation queue. A job is written to the database before
 * any call is made; each attempt reserves budget in the quota ledger, goes
 * out through the HTTP client, and its answer is settled, validated and,
 * when fit, stored exactly once (scenarios.job is unique). */
#include "scen/engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen/hash.h"
#include "scen/validate.h"

#define MAX_ATTEMPTS 3		/* calls per job for 5xx, timeouts */
#define BACKOFF_BASE_S 0.25
#define BACKOFF_CAP_S 4.0

/* A call reserved in a transaction, started after its commit. Its job may
 * be cancelled meanwhile (j NULL): the call still goes out and is settled,
 * since the ledger holds its reservation. */
struct launch {
	struct scen_job *j;
	int acct;
	int64_t call;
	char *body;
};

struct scen_engine {
	const struct scen_config *cfg;
	struct scen_db *db;
	struct scen_quota *q;
	struct scen_index *ix;
	struct scen_http *http;
	char *url;
	struct scen_job *head, *tail;	/* queued and running, oldest first */
	struct scen_map by_key;		/* key -> newest active job */
	struct scen_map by_jid;		/* jid -> active job */
	struct scen_call **done;	/* collected, not yet settled */
	size_t ndone, capdone;
	struct scen_job **finished;
	size_t nfinished, capfinished, nextfinished;
	struct launch *launching;	/* reserved, to start after commit */
	size_t nlaunching, caplaunching;
	double next_try;		/* earliest not_before of queued jobs */
	int pending, calls;
	int nforeign;			/* foreign jobs among the pending */
	double next_poll;		/* virtual time their rows are read */
	double beat_at;			/* real time of the last heartbeat */
	long beats;
	int warned_queue;
	struct strbuf body;
};

static const char *const state_names[] = {
	"queued", "running", "done", "failed", "cancelled",
};

const char *scen_job_state_name(enum scen_job_state s)
{
	return state_names[s];
}

struct scen_engine *scen_engine_new(const struct scen_config *cfg,
				    struct scen_db *db, struct scen_quota *q,
				    struct scen_index *ix)
{
	struct scen_engine *e = xcalloc(1, sizeof *e);
	e->cfg = cfg;
	e->db = db;
	e->q = q;
	e->ix = ix;
	e->http = scen_http_new();
	e->url = xasprintf("%s/chat/completions", cfg->provider.base_url);
	scen_map_init(&e->by_key);
	scen_map_init(&e->by_jid);
	sb_init(&e->body);
	e->next_try = INFINITY;
	return e;
}

void scen_job_free(struct scen_job *j)
{
	if (!j)
		return;
	scen_request_release(&j->rq);
	free(j);
}

void scen_engine_free(struct scen_engine *e)
{
	if (!e)
		return;
	/* a call collected but not yet settled is its job's still: freed
	 * once (a turn that failed at its begin drops the engine then) */
	for (size_t i = 0; i < e->ndone; i++) {
		struct scen_job *j = e->done[i]->owner;
		if (j)
			j->http = NULL;
		scen_call_free(e->done[i]);
	}
	for (size_t i = 0; i < e->nlaunching; i++)
		free(e->launching[i].body);
	struct scen_job *j = e->head, *n;
	for (; j; j = n) {
		n = j->next;
		if (j->http)
			scen_call_free(j->http);
		scen_job_free(j);
	}
	scen_http_free(e->http);
	scen_map_release(&e->by_key);
	scen_map_release(&e->by_jid);
	free(e->done);
	free(e->finished);
	free(e->launching);
	free(e->url);
	sb_release(&e->body);
	free(e);
}

static void copy_request(struct scen_request *dst,
			 const struct scen_request *src)
{
	*dst = *src;
	dst->id = src->id ? xstrdup(src->id) : NULL;
	dst->session = src->session ? xstrdup(src->session) : NULL;
	dst->job = NULL;
}

static void add_active(struct scen_engine *e, struct scen_job *j)
{
	j->prev = e->tail;
	j->next = NULL;
	if (e->tail)
		e->tail->next = j;
	else
		e->head = j;
	e->tail = j;
	int created;
	uint64_t *v = scen_map_put(&e->by_key, j->rq.key, 16, &created);
	j->key_prev = created ? NULL : (struct scen_job *)*v;
	*v = (uint64_t)j;
	*scen_map_put(&e->by_jid, j->jid, strlen(j->jid), NULL) = (uint64_t)j;
	e->pending++;
	if (j->not_before < e->next_try)
		e->next_try = j->not_before;
}

static void remove_active(struct scen_engine *e, struct scen_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else if (e->head == j)
		e->head = j->next;
	else
		return;	/* not in the list */
	if (j->next)
		j->next->prev = j->prev;
	else
		e->tail = j->prev;
	j->prev = j->next = NULL;
	uint64_t *v = scen_map_get(&e->by_key, j->rq.key, 16);
	if (v && *v == (uint64_t)j) {
		if (j->key_prev)
			*v = (uint64_t)j->key_prev;
		else
			scen_map_del(&e->by_key, j->rq.key, 16);
	} else if (v) {
		struct scen_job *o = (struct scen_job *)*v;
		while (o && o->key_prev != j)
			o = o->key_prev;
		if (o)
			o->key_prev = j->key_prev;
	}
	j->key_prev = NULL;
	scen_map_del(&e->by_jid, j->jid, strlen(j->jid));
	e->pending--;
}

/* This process's heartbeat (db.h, owners), at most every
 * SCEN_OWNER_BEAT_S: written before its jobs, and while it has some. */
static void beat(struct scen_engine *e)
{
	double t = scen_real_now();
	if (t - e->beat_at < SCEN_OWNER_BEAT_S)
		return;
	if (scen_db_owner_beat(e->db, t, e->beats == 0) == 0) {
		e->beat_at = t;
		e->beats++;
	}
}

/* Real time before which an owner's heartbeat is too old: a busy
 * scen-pool-fill takes a turn only when a call ends, so never less than
 * twice the calls' timeout. */
static double stale_before(const struct scen_engine *e)
{
	double bound = 2 * e->cfg->provider.timeout_s;
	if (bound < SCEN_OWNER_STALE_S)
		bound = SCEN_OWNER_STALE_S;
	return scen_real_now() - bound;
}

static struct scen_job *new_job(const struct scen_request *rq,
				const char *origin, double now,
				double give_up_at)
{
	struct scen_job *j = xcalloc(1, sizeof *j);
	copy_request(&j->rq, rq);
	j->origin = origin;
	j->state = SCEN_JOB_QUEUED;
	j->not_before = now;
	j->give_up_at = give_up_at;
	j->queued_mono = scen_mono();
	j->acct = -1;
	return j;
}

struct scen_job *scen_engine_claimed(struct scen_engine *e,
				     const struct scen_request *rq,
				     const char *origin, double now,
				     double give_up_at)
{
	int64_t rowid;
	char jid[24];
	if (scen_db_job_claimed(e->db, rq, origin, &rowid, jid,
				sizeof jid) != 1)
		return NULL;
	struct scen_job *j = new_job(rq, origin, INFINITY, give_up_at);
	j->rowid = rowid;
	memcpy(j->jid, jid, sizeof j->jid);
	j->foreign = 1;
	add_active(e, j);
	if (!e->nforeign++)
		e->next_poll = now + SCEN_ENGINE_POLL_S * scen_clock_scale();
	scen_db_count(e->db, "queue.joined", 1);
	return j;
}

struct scen_job *scen_engine_submit(struct scen_engine *e,
				    const struct scen_request *rq,
				    const char *origin, double now,
				    double give_up_at)
{
	struct scen_job *j = new_job(rq, origin, now, give_up_at);
	beat(e);
	if (scen_db_job_insert(e->db, rq, origin, now, &j->rowid, j->jid,
			       sizeof j->jid) < 0) {
		/* the queue table failed: call directly, say so */
		j->rowid = 0;
		snprintf(j->jid, sizeof j->jid, "j-%016llx",
			 (unsigned long long)scen_random64());
		scen_db_count(e->db, "queue.failure", 1);
		scen_db_event(e->db, "queue_failure", NULL,
			      "jobs table not writable; direct call");
		if (!e->warned_queue)
			scen_warn("the jobs table cannot be written; calling "
				  "the provider directly (still through the "
				  "quota ledger)");
		e->warned_queue = 1;
	}
	scen_db_count(e->db, "queue.submitted", 1);
	add_active(e, j);
	return j;
}

struct scen_job *scen_engine_inflight(struct scen_engine *e,
				      const uint8_t *key)
{
	uint64_t *v = scen_map_get(&e->by_key, key, 16);
	return v ? (struct scen_job *)*v : NULL;
}

struct scen_job *scen_engine_find(struct scen_engine *e, const char *jid)
{
	uint64_t *v = scen_map_get(&e->by_jid, jid, strlen(jid));
	return v ? (struct scen_job *)*v : NULL;
}

/* Takes j out of the active set and hands it to scen_engine_finished. */
static void finish(struct scen_engine *e, struct scen_job *j,
		   enum scen_job_state state, const char *error, double now)
{
	j->state = state;
	j->error = error;
	remove_active(e, j);
	const char *acct = j->acct >= 0
		? e->cfg->provider.accounts[j->acct].name : NULL;
	if (j->foreign) {
		e->nforeign--;	/* its row is its owner's */
	} else {
		if (j->rowid)
			scen_db_job_update(e->db, j->rowid, state_names[state],
					   now, acct, j->attempts, error,
					   j->scenario);
		char name[64];
		snprintf(name, sizeof name, "queue.%s", state_names[state]);
		scen_db_count(e->db, name, 1);
	}
	XGROW(e->finished, e->nfinished + 1, e->capfinished);
	e->finished[e->nfinished++] = j;
}

void scen_engine_cancel(struct scen_engine *e, struct scen_job *j,
			double now)
{
	if (j->state != SCEN_JOB_QUEUED && j->state != SCEN_JOB_RUNNING)
		return;
	if (j->http) {
		/* the call ends on its own and is settled with the quota; its
		 * answer is dropped */
		j->http->owner = NULL;
		j->http = NULL;
	}
	if (j->launch) {
		/* reserved this turn: it still goes out, without its job */
		for (size_t i = 0; i < e->nlaunching; i++)
			if (e->launching[i].j == j)
				e->launching[i].j = NULL;
		j->launch = 0;
	}
	finish(e, j, SCEN_JOB_CANCELLED, "cancelled", now);
}

struct adopt_ctx {
	struct scen_engine *e;
	double now;
	int n;
};

int scen_job_row_request(const struct scen_config *cfg,
			 const struct scen_job_row *r, struct scen_request *rq)
{
	struct strbuf line;
	struct scen_req_error err;
	sb_init(&line);
	/* through the one parser, so it is checked against today's config
	 * like any other request */
	sb_adds(&line, "{\"experiment\":");
	sb_add_json_str(&line, r->experiment, strlen(r->experiment));
	sb_adds(&line, ",\"template\":");
	sb_add_json_str(&line, r->template_name, strlen(r->template_name));
	sb_addf(&line, ",\"factors\":%s", r->factors);
	if (r->has_position)
		sb_addf(&line, ",\"position\":%ld", r->position);
	if (r->session) {
		sb_adds(&line, ",\"session\":");
		sb_add_json_str(&line, r->session, strlen(r->session));
	}
	if (r->request_id) {
		sb_adds(&line, ",\"id\":");
		sb_add_json_str(&line, r->request_id, strlen(r->request_id));
	}
	sb_addc(&line, '}');
	int rc = scen_request_parse(cfg, line.buf, line.len, 0, 0, rq, &err);
	sb_release(&line);
	if (rc == 0 && strcmp(rq->tpl->version_hex, r->version))
		rc = -1;
	if (rc < 0)
		scen_request_release(rq);
	return rc;
}

static void adopt_one(void *vctx, const struct scen_job_row *r)
{
	struct adopt_ctx *ctx = vctx;
	struct scen_engine *e = ctx->e;
	struct scen_request rq;
	if (scen_job_row_request(e->cfg, r, &rq) < 0) {
		scen_db_job_update(e->db, r->rowid, "failed", ctx->now, NULL, 0,
				   "template_changed", 0);
		return;
	}
	struct scen_job *j = xcalloc(1, sizeof *j);
	j->rq = rq;
	j->rowid = r->rowid;
	snprintf(j->jid, sizeof j->jid, "%s", r->jid);
	j->origin = !strcmp(r->origin, "pool") ? "pool" : "fresh";
	j->state = SCEN_JOB_QUEUED;
	j->not_before = ctx->now;
	j->give_up_at = ctx->now + e->cfg->provider.deadline_s;
	j->queued_mono = scen_mono();
	j->acct = -1;
	add_active(e, j);
	ctx->n++;
}

int scen_engine_adopt(struct scen_engine *e, double now)
{
	struct adopt_ctx ctx = {e, now, 0};
	beat(e);
	if (scen_db_jobs_adopt(e->db, stale_before(e), adopt_one, &ctx) < 0)
		return -1;
	if (ctx.n)
		scen_info("resuming %d job%s left by a process that is gone",
			  ctx.n, ctx.n == 1 ? "" : "s");
	return ctx.n;
}

int scen_engine_wait(struct scen_engine *e, int fd, int timeout_ms,
		     int *fd_ready)
{
	return scen_http_wait(e->http, fd, timeout_ms, fd_ready);
}

int scen_engine_collect(struct scen_engine *e)
{
	int n = 0;
	struct scen_call *c;
	while ((c = scen_http_done(e->http))) {
		e->calls--;
		XGROW(e->done, e->ndone + 1, e->capdone);
		e->done[e->ndone++] = c;
		n++;
	}
	return n;
}

enum scen_outcome scen_answer_classify(const struct scen_template *t,
				       long status, const char *body,
				       size_t n, struct scen_completion *comp,
				       const char **invalid)
{
	*invalid = NULL;
	memset(comp, 0, sizeof *comp);
	int parsed = body ? scen_parse_completion(body, n, comp) : -1;
	if (status == 429)
		return SCEN_OUT_429;
	if (status == 401 || status == 403)
		return SCEN_OUT_AUTH;
	if (status >= 500 || status < 200 || status >= 300) {
		if (status >= 400 && status < 500)
			return SCEN_OUT_BAD_REQUEST;
		return SCEN_OUT_SERVER;
	}
	if (parsed < 0 || comp->error_message)
		return SCEN_OUT_MALFORMED;
	*invalid = t ? scen_validate(t, comp->content, comp->finish_reason)
		     : NULL;
	return *invalid ? SCEN_OUT_INVALID : SCEN_OUT_OK;
}

/* What the answer to a call was. */
static enum scen_outcome classify(const struct scen_template *t,
				  const struct scen_call *c,
				  struct scen_completion *comp,
				  const char **invalid)
{
	if (c->curl_code != 0) {
		*invalid = NULL;
		memset(comp, 0, sizeof *comp);
		return c->curl_code == 28 /* CURLE_OPERATION_TIMEDOUT */
			? SCEN_OUT_TIMEOUT : SCEN_OUT_CONNECT;
	}
	return scen_answer_classify(t, c->status, c->body.buf, c->body.len,
				    comp, invalid);
}

/* rq's system and user prompts, rendered (malloc'd). */
static void render(const struct scen_request *rq, char **sys, char **user)
{
	const struct scen_template *t = rq->tpl;
	int lv[SCEN_MAX_FACTORS];
	for (size_t f = 0; f < t->nfactors; f++)
		lv[f] = rq->levels[f];
	*sys = scen_render(t->experiment->system, t, lv, rq->position);
	*user = scen_render(t->prompt, t, lv, rq->position);
}

void scen_request_body(const struct scen_config *cfg,
		       const struct scen_request *rq, struct strbuf *sb)
{
	char *sys, *user;
	render(rq, &sys, &user);
	scen_completion_body(sb, cfg, sys, user);
	free(sys);
	free(user);
}

static double backoff(int attempt)
{
	double d = BACKOFF_BASE_S * pow(2, attempt > 0 ? attempt - 1 : 0);
	if (d > BACKOFF_CAP_S)
		d = BACKOFF_CAP_S;
	/* full jitter in [d/2, d) keeps processes from retrying in step */
	double r = (double)(scen_random64() >> 11) / 9007199254740992.0;
	return d / 2 + r * d / 2;
}

static void store(struct scen_engine *e, struct scen_job *j,
		  const struct scen_completion *comp, double now)
{
	const struct scen_account *ac = &e->cfg->provider.accounts[j->acct];
	struct scen_scenario s = {
		.rq = &j->rq,
		.text = comp->content,
		.model = e->cfg->provider.model,
		.account = ac->name,
		.origin = j->origin,
		.finish_reason = comp->finish_reason,
		.prompt_tokens = comp->prompt_tokens,
		.completion_tokens = comp->completion_tokens,
		.created_at = now,
		.job = j->rowid,
	};
	int r = scen_db_insert_scenario(e->db, &s);
	if (r < 0) {
		j->retry_at = now + 60;
		finish(e, j, SCEN_JOB_FAILED, "store_failed", now);
		return;
	}
	j->scenario = s.rowid;
	memcpy(j->sid, s.sid, sizeof j->sid);
	if (r == 0) {
		struct scen_stored st = {
			.rowid = s.rowid,
			.tpl = j->rq.tpl,
			.levels = j->rq.levels,
			.position = j->rq.position,
			.key = j->rq.key,
			.bucket = j->rq.bucket,
			.serves = 0,
			.pool = !strcmp(j->origin, "pool"),
			.created_at = now,
		};
		scen_index_add(e->ix, &st);
		scen_db_count(e->db, !strcmp(j->origin, "pool")
				     ? "stored.pool" : "stored.fresh", 1);
	}
	finish(e, j, SCEN_JOB_DONE, NULL, now);
}

static void settle(struct scen_engine *e, struct scen_call *c, double now)
{
	struct scen_job *j = c->owner;
	struct scen_completion comp;
	const char *invalid;
	enum scen_outcome o = classify(j ? j->rq.tpl : NULL, c, &comp,
				       &invalid);
	long tokens = comp.prompt_tokens + comp.completion_tokens;
	/* no usage reported: the call still cost a request; its tokens
	 * stay as reserved */
	scen_quota_settle(e->q, c->acct, c->ledger, o, c, comp.error_message,
			  tokens > 0 ? tokens : -1, now);
	if (!j) {	/* cancelled meanwhile */
		scen_completion_release(&comp);
		return;
	}
	j->http = NULL;
	scen_debug("job %s: %s on %s (HTTP %ld%s%s) in %.0f ms", j->jid,
		   scen_outcome_name(o),
		   e->cfg->provider.accounts[j->acct].name, c->status,
		   c->errbuf[0] ? ", " : "", c->errbuf, c->elapsed_ms);
	if (o == SCEN_OUT_OK) {
		store(e, j, &comp, now);
	} else if (o == SCEN_OUT_INVALID) {
		char name[48];
		snprintf(name, sizeof name, "invalid.%s", invalid);
		scen_db_count(e->db, name, 1);
		j->retry_at = now + 5;
		finish(e, j, SCEN_JOB_FAILED, invalid, now);
	} else if (scen_outcome_retryable(o)) {
		if (o == SCEN_OUT_429)
			j->rate_limited++;
		else
			j->tried |= (uint64_t)1 << (j->acct & 63);
		int more = o == SCEN_OUT_429
			? j->rate_limited <= (int)e->cfg->provider.naccounts
			: j->attempts - j->rate_limited < MAX_ATTEMPTS;
		if (more) {
			j->state = SCEN_JOB_QUEUED;
			j->not_before = o == SCEN_OUT_429 || o == SCEN_OUT_AUTH
				? now : now + backoff(j->attempts);
			if (j->not_before < e->next_try)
				e->next_try = j->not_before;
			if (j->rowid)
				scen_db_job_update(e->db, j->rowid, "queued",
						   now, NULL, j->attempts,
						   NULL, 0);
		} else {
			j->retry_at = scen_quota_recovery(e->q, now);
			finish(e, j, SCEN_JOB_FAILED, scen_outcome_name(o),
			       now);
		}
	} else {
		j->retry_at = now + 30;
		finish(e, j, SCEN_JOB_FAILED, scen_outcome_name(o), now);
	}
	scen_completion_release(&comp);
}

/* Estimated tokens of a call: the prompt (4 characters a token) plus the
 * most the answer may take; settled to what was used when it ends. */
static long estimate_tokens(const struct scen_engine *e, const char *sys,
			    const char *user)
{
	return (long)((strlen(sys) + strlen(user)) / 4) + 16 +
	       e->cfg->provider.max_tokens;
}

/* A job the quota has no call for before `until`: it waits for that
 * moment when it may, and fails with no_budget when that is past its
 * give-up time. */
static void wait_for_budget(struct scen_engine *e, struct scen_job *j,
			    double until, double now)
{
	if (until <= j->give_up_at) {
		j->not_before = until;
		j->quota_wait = 1;
		if (until < e->next_try)
			e->next_try = until;
		return;
	}
	j->retry_at = until;
	scen_db_count(e->db, "queue.no_budget", 1);
	finish(e, j, SCEN_JOB_FAILED, "no_budget", now);
}

/* Reserves a call for j in the quota and, when one is had, readies its
 * body for the launch after commit. Returns 1 reserved, or 0 with
 * *retry_at the moment the quota may have one. */
static int reserve_call(struct scen_engine *e, struct scen_job *j,
			double now, double *retry_at)
{
	char *sys, *user;
	render(&j->rq, &sys, &user);
	int a = scen_quota_reserve(e->q, now, estimate_tokens(e, sys, user),
				   j->tried, j->rowid, &j->call, retry_at);
	if (a >= 0) {
		sb_reset(&e->body);
		scen_completion_body(&e->body, e->cfg, sys, user);
	}
	free(sys);
	free(user);
	if (a < 0)
		return 0;
	j->acct = a;
	j->quota_wait = 0;
	j->attempts++;
	j->state = SCEN_JOB_RUNNING;
	j->launch = 1;
	XGROW(e->launching, e->nlaunching + 1, e->caplaunching);
	e->launching[e->nlaunching++] = (struct launch){
		j, a, j->call, xstrdup(e->body.buf),
	};
	if (!j->started_mono)
		j->started_mono = scen_mono();
	if (j->rowid)
		scen_db_job_update(e->db, j->rowid, "running", now,
				   e->cfg->provider.accounts[a].name,
				   j->attempts, NULL, 0);
	e->calls++;
	return 1;
}

static void dispatch(struct scen_engine *e, double now)
{
	int room = e->cfg->provider.max_concurrency - e->calls;
	/* when budget is out, every job waits for the same moment: one
	 * reservation attempt tells it, the others are not tried */
	double blocked = 0;
	e->next_try = INFINITY;
	struct scen_job *j = e->head, *next;
	for (; j; j = next) {
		next = j->next;
		if (j->state != SCEN_JOB_QUEUED || j->launch || j->foreign)
			continue;
		if (j->not_before > now || room <= 0) {
			if (j->not_before < e->next_try)
				e->next_try = j->not_before > now ? j->not_before
								   : now;
			continue;
		}
		if (blocked > now && !j->tried) {
			wait_for_budget(e, j, blocked, now);
			continue;
		}
		double retry_at;
		if (reserve_call(e, j, now, &retry_at)) {
			room--;
			continue;
		}
		if (!j->tried)
			blocked = retry_at;
		wait_for_budget(e, j, retry_at, now);
	}
}

/* A call's end may bring what jobs wait for in the quota (a probe's
 * verdict, a new key's first answer, tokens held by an estimate): they
 * ask again now rather than at the moment the quota guessed. */
static void wake_quota_waiters(struct scen_engine *e, double now)
{
	for (struct scen_job *j = e->head; j; j = j->next)
		if (j->state == SCEN_JOB_QUEUED && j->quota_wait && !j->foreign &&
		    j->not_before > now)
			j->not_before = now;
}

/* A foreign job whose owner is gone: this process takes it over, and
 * its waiters with it. */
static void take_over(struct scen_engine *e, struct scen_job *j, double now)
{
	if (scen_db_job_take(e->db, j->rowid) < 0)
		return;
	scen_info("resuming job %s: the process working it is gone", j->jid);
	scen_db_count(e->db, "queue.taken_over", 1);
	j->foreign = 0;
	e->nforeign--;
	j->state = SCEN_JOB_QUEUED;
	j->not_before = now;
	if (now < e->next_try)
		e->next_try = now;
}

/* Reads the row of a foreign job: it ends as its row did. */
static void poll_one(struct scen_engine *e, struct scen_job *j, double now,
		     double stale)
{
	struct scen_job_poll pl;
	int r = scen_db_job_poll(e->db, j->rowid, stale, &pl);
	if (r < 0)
		return;		/* reported: read again at the next poll */
	if (r == 0 || !strcmp(pl.state, "failed") ||
	    !strcmp(pl.state, "cancelled") ||
	    (!strcmp(pl.state, "done") && !pl.scenario)) {
		j->retry_at = now + 5;
		finish(e, j, SCEN_JOB_FAILED, "failed_elsewhere", now);
	} else if (!strcmp(pl.state, "done")) {
		j->scenario = pl.scenario;
		finish(e, j, SCEN_JOB_DONE, NULL, now);
	} else if (pl.owner_gone) {
		take_over(e, j, now);
	} else {
		j->state = !strcmp(pl.state, "running") ? SCEN_JOB_RUNNING
							: SCEN_JOB_QUEUED;
	}
}

static void poll_foreign(struct scen_engine *e, double now)
{
	if (!e->nforeign || now < e->next_poll)
		return;
	e->next_poll = now + SCEN_ENGINE_POLL_S * scen_clock_scale();
	double stale = stale_before(e);
	struct scen_job *j = e->head, *next;
	for (; j; j = next) {
		next = j->next;
		if (j->foreign)
			poll_one(e, j, now, stale);
	}
}

int scen_engine_step(struct scen_engine *e, double now)
{
	if (e->pending > e->nforeign)
		beat(e);
	poll_foreign(e, now);
	for (size_t i = 0; i < e->ndone; i++) {
		settle(e, e->done[i], now);
		scen_call_free(e->done[i]);
	}
	if (e->ndone)
		wake_quota_waiters(e, now);
	e->ndone = 0;
	dispatch(e, now);
	return 0;
}

size_t scen_engine_finished_count(const struct scen_engine *e)
{
	return e->nfinished - e->nextfinished;
}

struct scen_job *scen_engine_finished(struct scen_engine *e)
{
	if (e->nextfinished < e->nfinished)
		return e->finished[e->nextfinished++];
	e->nfinished = e->nextfinished = 0;
	return NULL;
}

void scen_engine_launch(struct scen_engine *e)
{
	for (size_t i = 0; i < e->nlaunching; i++) {
		struct launch *l = &e->launching[i];
		const struct scen_account *ac =
			&e->cfg->provider.accounts[l->acct];
		struct scen_call *c = scen_http_start(e->http, e->url, ac->key,
						      l->body,
						      e->cfg->provider.timeout_s,
						      l->j);
		c->acct = l->acct;
		c->ledger = l->call;
		free(l->body);
		if (l->j) {
			l->j->http = c;
			l->j->launch = 0;
		}
	}
	e->nlaunching = 0;
}

int scen_engine_pending(const struct scen_engine *e)
{
	return e->pending;
}

int scen_engine_inflight_calls(const struct scen_engine *e)
{
	return e->calls;
}

double scen_engine_next_try(const struct scen_engine *e)
{
	/* with every slot taken, only a call's end makes room, and that
	 * wakes the loop by itself */
	double t = e->calls >= e->cfg->provider.max_concurrency
		? INFINITY : e->next_try;
	if (e->nforeign && e->next_poll < t)
		t = e->next_poll;
	if (e->pending > e->nforeign) {
		double due = e->beat_at + SCEN_OWNER_BEAT_S - scen_real_now();
		double beat_at = scen_now() + due * scen_clock_scale();
		if (beat_at < t)
			t = beat_at;
	}
	return t;
}
