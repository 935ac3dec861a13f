/* poolfill_batch.c — scen-pool-fill's batches (scen-pool-fill(1),
 * BATCHES): what the plan needs goes out as the lines of batches of the
 * provider's Batch API. A batch and its lines are recorded before anything
 * is sent; each step at the provider (the file uploaded, the batch
 * created) is recorded as it happens, and a step a killed run did not
 * record is found again at the provider (its metadata names the batch);
 * a batch that ended is collected in one transaction, each line judged as
 * an online answer is judged and stored once. */
#include "scen/poolfill.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scen/batch_api.h"
#include "scen/db_batch.h"
#include "scen/poolfill_int.h"

#define CLOCK_SLACK_S 3600.0	/* the provider's clock against ours */

/* What a step at the provider came to. */
enum step {
	STEP_OK,
	STEP_LATER,	/* the provider failed: the next run goes on */
	STEP_REFUSED,	/* the key may not use batches */
	STEP_IO,	/* the database failed (said) */
	STEP_DROPPED,	/* ended unsent: its templates changed, or the
			 * provider rejects its input file */
};

/* ---- the plan: lines to plan again ------------------------------------ */

static void on_unmade(void *vctx, const uint8_t *key, int64_t line,
		      int attempt)
{
	struct fill *f = vctx;
	struct combo *c = scen_pool_combo(f, key);
	if (!c)
		return;
	if (attempt >= f->cfg->pool.batch_attempts) {
		c->capped++;
		return;
	}
	XGROW(f->unmade, f->nunmade + 1, f->capunmade);
	f->unmade[f->nunmade++] = (struct unmade){
		(uint32_t)(c - f->combos), attempt, line,
	};
}

static int by_combo(const void *a, const void *b)
{
	const struct unmade *x = a, *y = b;
	if (x->combo != y->combo)
		return x->combo < y->combo ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

int scen_pool_batch_plan(struct fill *f)
{
	f->nunmade = 0;
	for (size_t i = 0; i < f->ncombos; i++)
		f->combos[i].capped = f->combos[i].nunmade = 0;
	for (size_t i = 0; i < f->ntpls; i++)
		if (scen_db_pool_batch_unmade(f->dp,
					      f->tpls[i].tpl->version_hex,
					      on_unmade, f) < 0)
			return -1;
	if (f->nunmade)
		qsort(f->unmade, f->nunmade, sizeof *f->unmade, by_combo);
	for (size_t i = 0; i < f->nunmade; i++) {
		struct combo *c = &f->combos[f->unmade[i].combo];
		if (!c->nunmade++)
			c->unmade = i;
	}
	return 0;
}

/* Lines c needs in a batch: what it lacks, less what is past the cap. */
static long lines_for(const struct fill *f, const struct combo *c)
{
	long n = scen_pool_short(f, c) - c->capped;
	return n > 0 ? n : 0;
}

/* ---- records ---------------------------------------------------------- */

/* Moves b on in its own transaction (b's copy too); 0 or -1. */
static int record(struct fill *f, struct scen_batch_row *b,
		  const char *state, const char *file_id,
		  const char *batch_id, const char *status,
		  const char *error)
{
	double now = scen_now();
	if (scen_db_begin(f->db) < 0)
		return -1;
	if (scen_db_batch_update(f->db, b->rowid, state, file_id, batch_id,
				 status, error, now) < 0) {
		scen_db_rollback(f->db);
		return -1;
	}
	if (scen_db_commit(f->db) < 0)
		return -1;
	snprintf(b->state, sizeof b->state, "%s", state);
	if (file_id)
		snprintf(b->file_id, sizeof b->file_id, "%s", file_id);
	if (batch_id) {
		snprintf(b->batch_id, sizeof b->batch_id, "%s", batch_id);
		if (!b->submitted_at)
			b->submitted_at = now;
	}
	if (status)
		snprintf(b->status, sizeof b->status, "%s", status);
	return 0;
}

static const struct scen_account *account_named(const struct fill *f,
						const char *name)
{
	for (size_t i = 0; i < f->cfg->provider.naccounts; i++)
		if (!strcmp(f->cfg->provider.accounts[i].name, name))
			return &f->cfg->provider.accounts[i];
	return NULL;
}

/* ---- the provider's verdict on a key ---------------------------------- */

static void fmt_day(char *buf, size_t n, double t)
{
	time_t s = (time_t)t;
	struct tm tm;
	if (!localtime_r(&s, &tm) || !strftime(buf, n, "%Y-%m-%d", &tm))
		snprintf(buf, n, "?");
}

/* Records the provider's verdict on ac's key; 0 or -1. */
static int put_verdict(struct fill *f, const struct scen_account *ac,
		       const char *verdict, const char *detail)
{
	struct scen_batch_key k;
	memset(&k, 0, sizeof k);
	scen_quota_key_fp(f->cfg->provider.base_url, ac->key, k.key_fp);
	snprintf(k.verdict, sizeof k.verdict, "%s", verdict);
	snprintf(k.detail, sizeof k.detail, "%s", detail ? detail : "");
	k.at = scen_now();
	if (scen_db_begin(f->db) < 0)
		return -1;
	if (scen_db_batch_key_put(f->db, ac->name, &k) < 0) {
		scen_db_rollback(f->db);
		return -1;
	}
	return scen_db_commit(f->db);
}

/*
 * Whether ac may be sent batches: 1 yes (and *known when the provider
 * accepted this key before), 0 no with why (a key missing or refused, or
 * the provider's refusal of batches for it, remembered for
 * SCEN_BATCH_REFUSAL_DAYS), -1 on a database error.
 */
static int usable(struct fill *f, const struct scen_account *ac,
		  double now, int *known, char *why, size_t n)
{
	*known = 0;
	if (!ac->key) {
		snprintf(why, n, "no key (%s unset)", ac->api_key_env);
		return 0;
	}
	struct scen_acct_state st;
	if (scen_db_account_get(f->db, ac->name, &st) == 0 &&
	    scen_quota_key_refused(f->cfg, ac, &st)) {
		snprintf(why, n, "its key was refused");
		return 0;
	}
	struct scen_batch_key k;
	int r = scen_db_batch_key_get(f->db, ac->name, &k);
	if (r < 0)
		return -1;
	char fp[SCEN_KEY_FP_SIZE];
	scen_quota_key_fp(f->cfg->provider.base_url, ac->key, fp);
	if (!r || strcmp(k.key_fp, fp))
		return 1;
	*known = !strcmp(k.verdict, "accepted");
	if (!strcmp(k.verdict, "refused") &&
	    now - k.at < SCEN_BATCH_REFUSAL_DAYS * 86400.0) {
		char day[32];
		fmt_day(day, sizeof day, k.at);
		snprintf(why, n, "%s (remembered since %s)", k.detail, day);
		return 0;
	}
	return 1;
}

static int stop_at_first(void *ctx, const struct scen_batch_info *b)
{
	return 1;
}

/* Asks the provider whether ac's key may use batches (a listing: it
 * costs nothing and creates nothing), and remembers a refusal. */
static enum step probe(struct fill *f, struct scen_batch_api *api,
		       const struct scen_account *ac, char *why, size_t n)
{
	enum scen_batch_rc rc = scen_batch_list(api, ac->key, stop_at_first,
						NULL, why, n);
	if (rc == SCEN_BATCH_REFUSED)
		return put_verdict(f, ac, "refused", why) < 0 ? STEP_IO
							      : STEP_REFUSED;
	if (rc != SCEN_BATCH_OK)
		return STEP_LATER;
	return put_verdict(f, ac, "accepted", NULL) < 0 ? STEP_IO : STEP_OK;
}

/* Ends a batch none of whose lines will be read: its pending lines
 * failed ("batch_" and status); superseded when nothing of it was sent
 * (their entries planned anew, the lines they retried as they were),
 * else each counts as an attempt. 0 or -1. */
static int end_unread(struct fill *f, struct scen_batch_row *b,
		      int superseded, const char *status, const char *why)
{
	double now = scen_now();
	char err[32];
	snprintf(err, sizeof err, "batch_%s", status);
	if (scen_db_begin(f->db) < 0)
		return -1;
	if (scen_db_batch_lines_settle_rest(f->db, b->rowid, "failed", err,
					    superseded, now) < 0 ||
	    scen_db_batch_update(f->db, b->rowid, "ended", NULL, NULL,
				 status, why, now) < 0) {
		scen_db_rollback(f->db);
		return -1;
	}
	return scen_db_commit(f->db);
}

/* A batch stopped before it was sent (status refused: the key's refusal;
 * stale: no line of it is of a current template; rejected: the provider
 * rejects its file or its creation; orphaned: its account is gone). */
static int drop(struct fill *f, struct scen_batch_row *b, const char *status,
		const char *why)
{
	return end_unread(f, b, 1, status, why);
}

/* ---- sending a batch on: planned -> uploaded -> submitted ------------- */

struct input {
	struct fill *f;
	struct strbuf file, body;
	long lines, stale;
};

static void on_line(void *vctx, const char *custom_id,
		    const struct scen_job_row *req)
{
	struct input *in = vctx;
	struct scen_request rq;
	if (scen_job_row_request(in->f->cfg, req, &rq) < 0) {
		in->stale++;	/* its template changed since */
		return;
	}
	sb_reset(&in->body);
	scen_request_body(in->f->cfg, &rq, &in->body);
	scen_batch_input_line(&in->file, custom_id, in->body.buf);
	scen_request_release(&rq);
	in->lines++;
}

static enum step upload(struct fill *f, struct scen_batch_api *api,
			struct scen_batch_row *b, const char *key,
			char *why, size_t n)
{
	struct input in = {.f = f};
	sb_init(&in.file);
	sb_init(&in.body);
	int r = scen_db_batch_lines(f->db, b->rowid, on_line, &in);
	enum step s = r < 0 ? STEP_IO : STEP_OK;
	char name[64], fid[128];
	snprintf(name, sizeof name, "scen-%s.jsonl", b->bid);
	if (!s && !in.lines) {
		scen_warn("batch %s: no line of it is of a current template; "
			  "dropped", b->bid);
		s = drop(f, b, "stale", "templates changed") < 0 ? STEP_IO
								 : STEP_DROPPED;
	}
	if (!s) {
		enum scen_batch_rc rc = scen_batch_upload(
			api, key, name, in.file.buf, in.file.len, fid,
			sizeof fid, why, n);
		s = rc == SCEN_BATCH_OK ? STEP_OK
		  : rc == SCEN_BATCH_REFUSED ? STEP_REFUSED : STEP_LATER;
		if (rc == SCEN_BATCH_BAD) {
			/* sent again it would be rejected again */
			scen_warn("batch %s: the provider rejects its input "
				  "file of %zu bytes (%s); dropped (a file "
				  "too large for the provider: lower "
				  "pool.batch_lines)", b->bid, in.file.len,
				  why);
			s = drop(f, b, "rejected", why) < 0 ? STEP_IO
							    : STEP_DROPPED;
		}
	}
	sb_release(&in.file);
	sb_release(&in.body);
	if (s)
		return s;
	scen_kill_point("upload");
	return record(f, b, "uploaded", fid, NULL, NULL, NULL) < 0 ? STEP_IO
								   : STEP_OK;
}

static enum step create(struct fill *f, struct scen_batch_api *api,
			struct scen_batch_row *b, const char *key,
			char *why, size_t n)
{
	struct scen_batch_info info;
	char window[16];
	snprintf(window, sizeof window, "%dh", f->cfg->pool.batch_window_h);
	enum scen_batch_rc rc = scen_batch_create(api, key, b->file_id,
						  window, b->bid, &info, why,
						  n);
	if (rc == SCEN_BATCH_REFUSED)
		return STEP_REFUSED;
	if (rc == SCEN_BATCH_BAD) {
		/* made again it would be rejected again (or its file is
		 * gone): the next plan covers its lines */
		scen_warn("batch %s: the provider rejects its creation (%s); "
			  "dropped", b->bid, why);
		return drop(f, b, "rejected", why) < 0 ? STEP_IO
						       : STEP_DROPPED;
	}
	if (rc != SCEN_BATCH_OK)
		return STEP_LATER;
	scen_kill_point("create");
	return record(f, b, "submitted", NULL, info.id, info.status, NULL) < 0
		? STEP_IO : STEP_OK;
}

struct finding {
	const struct scen_batch_row *b;
	struct scen_batch_info found;
	int hit;
};

static int match(void *vctx, const struct scen_batch_info *info)
{
	struct finding *fd = vctx;
	if (!strcmp(info->scen_batch, fd->b->bid) ||
	    (fd->b->file_id[0] &&
	     !strcmp(info->input_file_id, fd->b->file_id))) {
		fd->found = *info;
		fd->hit = 1;
		return 1;
	}
	/* newest first: one made before the batch was recorded is not it */
	return info->created_at > 0 &&
	       info->created_at < fd->b->created_at - CLOCK_SLACK_S;
}

/*
 * A batch recorded as uploaded may have been created by a run killed
 * before it recorded the batch's id: the provider's list of the key's
 * batches is searched for it (its metadata scen_batch, or its input
 * file) before it is created, so that it is never created twice.
 */
static enum step find_created(struct fill *f, struct scen_batch_api *api,
			      struct scen_batch_row *b, const char *key,
			      int *found, char *why, size_t n)
{
	struct finding fd = {.b = b};
	*found = 0;
	enum scen_batch_rc rc = scen_batch_list(api, key, match, &fd, why, n);
	if (rc == SCEN_BATCH_REFUSED)
		return STEP_REFUSED;
	if (rc != SCEN_BATCH_OK)
		return STEP_LATER;
	if (!fd.hit)
		return STEP_OK;
	*found = 1;
	scen_info("batch %s: found at the provider as %s (created by a run "
		  "that stopped before recording it)", b->bid, fd.found.id);
	return record(f, b, "submitted", NULL, fd.found.id, fd.found.status,
		      NULL) < 0 ? STEP_IO : STEP_OK;
}

/* Sends b on from where it stands to submitted. */
static enum step send_on(struct fill *f, struct scen_batch_api *api,
			 struct scen_batch_row *b, const char *key,
			 char *why, size_t n)
{
	enum step s;
	if (!strcmp(b->state, "uploaded")) {
		int found;
		s = find_created(f, api, b, key, &found, why, n);
		if (s == STEP_REFUSED)	/* it may exist: never dropped */
			return STEP_LATER;
		if (s || found)
			return s;
		return create(f, api, b, key, why, n);
	}
	s = upload(f, api, b, key, why, n);
	return s ? s : create(f, api, b, key, why, n);
}

/* ---- collecting ------------------------------------------------------- */

/* Lines settled per transaction while collecting: a study's serving
 * waits for the writers' turn no longer than a few of them take. */
#define COLLECT_CHUNK 500

struct collecting {
	struct fill *f;
	const struct scen_batch_row *b;
	long seen;		/* lines read */
	long settled;		/* lines settled now */
	long already;		/* settled by an earlier, interrupted run */
	long in_tx;		/* settled in the open transaction */
	long half;
	int failed;		/* a database error */
};

static const char *line_state(const struct scen_batch_line *l)
{
	return !strcmp(l->error, "batch_expired") ? "expired" : "failed";
}

/* Stores a valid answer as a pool entry; its scenario's id, or -1. */
static int64_t store(struct collecting *cx, const struct scen_request *rq,
		     const struct scen_completion *comp, const char *cid)
{
	struct fill *f = cx->f;
	struct scen_scenario s = {
		.rq = rq,
		.text = comp->content,
		.model = f->cfg->provider.model,
		.account = cx->b->account,
		.origin = "pool",
		.finish_reason = comp->finish_reason,
		.prompt_tokens = comp->prompt_tokens,
		.completion_tokens = comp->completion_tokens,
		.created_at = scen_now(),
		.batch_id = cx->b->batch_id,
		.custom_id = cid,
	};
	if (scen_db_insert_scenario(f->db, &s) < 0)
		return -1;
	scen_db_count(f->db, "stored.pool", 1);
	return s.rowid;
}

/* Settles a pending line as state (done with its scenario, rejected,
 * failed or expired) with error, and counts it for the run, the
 * template of key (NULL: none) and the batch's account. */
static int settle(struct collecting *cx, const struct scen_batch_line_row *row,
		  const uint8_t *key, const char *state, const char *error,
		  int64_t scenario)
{
	struct fill *f = cx->f;
	struct batch_tally *t = &f->bt;
	int done = !strcmp(state, "done"), rejected = !strcmp(state, "rejected");
	long *n = done ? &t->made : rejected ? &t->rejected
		: !strcmp(state, "expired") ? &t->expired : &t->failed;
	(*n)++;
	scen_pool_tally(f, key, cx->b->account,
			done ? MADE : rejected ? REJECTED : FAILED);
	return scen_db_batch_line_settle(f->db, row->rowid, state, error,
					 scenario, scen_now());
}

/* Judges one answered line as an online answer is judged (valid: stored;
 * not fit to serve: rejected; else failed) and settles it. */
static int judge(struct collecting *cx, const struct scen_batch_line_row *row,
		 const struct scen_batch_line *l)
{
	struct fill *f = cx->f;
	struct scen_request rq;
	if (scen_job_row_request(f->cfg, &row->req, &rq) < 0)
		return settle(cx, row, NULL, "failed", "template_changed", 0);
	struct scen_completion comp;
	const char *invalid;
	enum scen_outcome o = scen_answer_classify(
		rq.tpl, l->status, l->body, l->body ? strlen(l->body) : 0,
		&comp, &invalid);
	int rc;
	if (o == SCEN_OUT_OK) {
		int64_t id = store(cx, &rq, &comp, l->custom_id);
		rc = id < 0 ? -1 : settle(cx, row, rq.key, "done", NULL, id);
	} else if (o == SCEN_OUT_INVALID) {
		char name[48];
		snprintf(name, sizeof name, "invalid.%s", invalid);
		scen_db_count(f->db, name, 1);
		rc = settle(cx, row, rq.key, "rejected", invalid, 0);
	} else {
		rc = settle(cx, row, rq.key, "failed", scen_outcome_name(o), 0);
	}
	scen_completion_release(&comp);
	scen_request_release(&rq);
	return rc;
}

/* One line of an output or error file. */
static void settle_line(struct collecting *cx, const char *s, size_t n)
{
	struct fill *f = cx->f;
	struct scen_batch_line l;
	struct scen_batch_line_row row;
	if (scen_batch_line_parse(s, n, &l) < 0) {
		scen_warn("batch %s: a line of its results is not one "
			  "(ignored): %.*s", cx->b->batch_id,
			  (int)(n < 60 ? n : 60), s);
		return;
	}
	int r = scen_db_batch_line_get(f->db, l.custom_id, &row);
	int settles = r > 0 && row.batch == cx->b->rowid &&
		      !strcmp(row.state, "pending");
	if (r < 0)
		cx->failed = 1;
	else if (!r || row.batch != cx->b->rowid)
		scen_warn("batch %s: custom_id %s is none of its lines "
			  "(ignored)", cx->b->batch_id, l.custom_id);
	else if (!settles)
		cx->already++;
	else if (l.error[0] || !l.body || l.status != 200) {
		char err[80];
		if (l.error[0])
			snprintf(err, sizeof err, "%s", l.error);
		else if (l.status)
			snprintf(err, sizeof err, "http_%ld", l.status);
		else
			snprintf(err, sizeof err, "no_response");
		if (settle(cx, &row, NULL, line_state(&l), err, 0) < 0)
			cx->failed = 1;
	} else if (judge(cx, &row, &l) < 0) {
		cx->failed = 1;
	}
	if (r > 0)
		scen_job_row_release(&row.req);
	scen_batch_line_release(&l);
	cx->settled += settles;
	if (settles && ++cx->in_tx >= COLLECT_CHUNK && !cx->failed) {
		cx->in_tx = 0;
		if (scen_db_commit(f->db) < 0 || scen_db_begin(f->db) < 0)
			cx->failed = 1;
	}
	if (++cx->seen == cx->half)
		scen_kill_point("collect");
}

static void settle_file(struct collecting *cx, const struct strbuf *sb)
{
	const char *p = sb->buf, *end = sb->buf + sb->len;
	while (p < end && !cx->failed) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		if (e > p)
			settle_line(cx, p, (size_t)(e - p));
		p = e + 1;
	}
}

static int terminal(const char *status)
{
	return !strcmp(status, "completed") || !strcmp(status, "expired") ||
	       !strcmp(status, "failed") || !strcmp(status, "cancelled");
}

/* The output and error files of an ended batch into out and err. */
static enum step download(struct scen_batch_api *api, const char *key,
			  const struct scen_batch_info *info,
			  struct strbuf *out, struct strbuf *err, char *why,
			  size_t n)
{
	const char *ids[2] = {info->output_file_id, info->error_file_id};
	struct strbuf *sbs[2] = {out, err};
	for (int i = 0; i < 2; i++)
		if (ids[i][0] && scen_batch_content(api, key, ids[i], sbs[i],
						    why, n) != SCEN_BATCH_OK)
			return STEP_LATER;
	return STEP_OK;
}

/*
 * Every line of an ended batch settled, its entries stored, in
 * transactions of COLLECT_CHUNK lines: each line is stored and settled in
 * the same one, and only while pending, so a run killed in between leaves
 * lines either settled with their entry or pending, and the next run
 * reads the files again and settles the rest. Lines no file answers are
 * expired (an expired batch) or failed; the last transaction ends the
 * batch.
 */
static enum step settle_batch(struct fill *f, const struct scen_batch_row *b,
			      const struct scen_batch_info *info,
			      const struct strbuf *out,
			      const struct strbuf *err)
{
	struct collecting cx = {.f = f, .b = b, .half = (b->lines + 1) / 2};
	struct batch_tally before = f->bt;
	int expired = !strcmp(info->status, "expired");
	if (scen_db_begin(f->db) < 0)
		return STEP_IO;
	settle_file(&cx, out);
	settle_file(&cx, err);
	long rest = b->lines - cx.settled - cx.already;
	const char *why = expired ? "batch_expired"
			: info->errors[0] ? info->errors : info->status;
	double now = scen_now();
	if (cx.failed ||
	    scen_db_batch_lines_settle_rest(f->db, b->rowid,
					    expired ? "expired" : "failed",
					    why, 0, now) < 0 ||
	    scen_db_batch_update(f->db, b->rowid, "ended", NULL, NULL,
				 info->status, info->errors[0] ? info->errors
				 : NULL, now) < 0) {
		scen_db_rollback(f->db);
		return STEP_IO;
	}
	scen_db_count(f->db, "batch.collected", 1);
	if (scen_db_commit(f->db) < 0)
		return STEP_IO;
	if (rest > 0) {
		*(expired ? &f->bt.expired : &f->bt.failed) += rest;
		for (long i = 0; i < rest; i++)
			scen_pool_tally(f, NULL, b->account, FAILED);
	}
	f->bt.collected++;
	scen_info("batch %s (%s): %s; %ld entries made, %ld rejected, %ld "
		  "failed, %ld expired", b->bid, b->batch_id, info->status,
		  f->bt.made - before.made, f->bt.rejected - before.rejected,
		  f->bt.failed - before.failed,
		  f->bt.expired - before.expired);
	return STEP_OK;
}

/* Looks at a submitted batch and collects it when it ended. */
static enum step collect_one(struct fill *f, struct scen_batch_api *api,
			     struct scen_batch_row *b, const char *key,
			     char *why, size_t n)
{
	struct scen_batch_info info;
	enum scen_batch_rc rc = scen_batch_get(api, key, b->batch_id, &info,
					       why, n);
	if (rc == SCEN_BATCH_NOT_FOUND) {
		/* the provider lost it: nothing will come of its lines */
		memset(&info, 0, sizeof info);
		snprintf(info.status, sizeof info.status, "failed");
		snprintf(info.errors, sizeof info.errors,
			 "batch_not_found");
		struct strbuf none;
		sb_init(&none);
		enum step s = settle_batch(f, b, &info, &none, &none);
		sb_release(&none);
		return s;
	}
	if (rc != SCEN_BATCH_OK)
		return STEP_LATER;
	if (!terminal(info.status)) {
		f->bt.open++;
		return strcmp(info.status, b->status) &&
		       record(f, b, "submitted", NULL, NULL, info.status,
			      NULL) < 0 ? STEP_IO : STEP_OK;
	}
	struct strbuf out, err;
	sb_init(&out);
	sb_init(&err);
	enum step s = download(api, key, &info, &out, &err, why, n);
	if (!s)
		s = settle_batch(f, b, &info, &out, &err);
	sb_release(&out);
	sb_release(&err);
	return s;
}

struct open_list {
	struct scen_batch_row *v;
	size_t n, cap;
};

static void on_open(void *vctx, const struct scen_batch_row *b)
{
	struct open_list *l = vctx;
	XGROW(l->v, l->n + 1, l->cap);
	l->v[l->n++] = *b;
}

/*
 * A batch whose account is gone from the config, or has no key: one never
 * sent is dropped (its entries planned anew); one that may be at the
 * provider waits for its account until its completion window has passed
 * (an hour's slack for the clocks), and then ends, its lines failed.
 */
static enum step orphan(struct fill *f, struct scen_batch_row *b,
			const char *what)
{
	char why[128];
	snprintf(why, sizeof why, "account %s %s", b->account, what);
	double since = b->submitted_at > 0 ? b->submitted_at : b->created_at;
	if (!strcmp(b->state, "planned")) {
		scen_warn("batch %s: %s; dropped (none of it was sent)",
			  b->bid, why);
		return drop(f, b, "orphaned", why) < 0 ? STEP_IO : STEP_OK;
	}
	if (scen_now() > since + b->window_s + CLOCK_SLACK_S) {
		scen_warn("batch %s: %s, and its completion window is past; "
			  "its lines count as failed", b->bid, why);
		return end_unread(f, b, 0, "orphaned", why) < 0 ? STEP_IO
								: STEP_OK;
	}
	scen_warn("batch %s: %s; left open until its completion window "
		  "has passed", b->bid, why);
	f->bt.open++;
	return STEP_OK;
}

/* Sends on or collects one open batch: a step the provider failed is
 * said and left to the next run. */
static enum step advance(struct fill *f, struct scen_batch_api *api,
			 struct scen_batch_row *b)
{
	char why[320] = "";
	const struct scen_account *ac = account_named(f, b->account);
	if (!ac || !ac->key)
		return orphan(f, b, ac ? "has no key" : "is gone");
	enum step s;
	if (!strcmp(b->state, "submitted")) {
		s = collect_one(f, api, b, ac->key, why, sizeof why);
	} else {
		s = send_on(f, api, b, ac->key, why, sizeof why);
		if (s == STEP_REFUSED)
			return drop(f, b, "refused", why) < 0 ||
			       put_verdict(f, ac, "refused", why) < 0
				? STEP_IO : STEP_OK;
		if (s == STEP_DROPPED)
			return STEP_OK;
		if (!s) {
			f->bt.resumed++;
			f->bt.open++;
		}
	}
	if (s == STEP_LATER) {
		scen_warn("batch %s: %s; the next run tries again", b->bid,
			  why);
		f->bt.open++;
	}
	return s;
}

/* The plan again, from what the database holds now. */
static int replan(struct fill *f, double now)
{
	if (scen_db_begin(f->db) < 0)
		return -1;
	if (scen_pool_plan_pool(f, now) < 0 || scen_pool_batch_plan(f) < 0) {
		scen_db_rollback(f->db);
		return -1;
	}
	return scen_db_commit(f->db);
}

int scen_pool_batch_collect(struct fill *f, double now)
{
	struct open_list l = {0};
	if (scen_db_batches_open(f->db, on_open, &l) < 0)
		return -1;
	int rc = 0;
	if (l.n) {
		struct scen_batch_api *api = scen_batch_api_new(f->cfg);
		for (size_t i = 0; i < l.n && !rc; i++)
			rc = advance(f, api, &l.v[i]) == STEP_IO ? -1 : 0;
		scen_batch_api_free(api);
		if (!rc)	/* lines settled, or dropped */
			rc = replan(f, now);
	}
	free(l.v);
	return rc;
}

/* ---- submitting ------------------------------------------------------- */

/* Lines the next batch may hold: pool.batch_lines, within --max-calls. */
static long batch_room(const struct fill *f)
{
	long room = f->cfg->pool.batch_lines;
	if (f->o->max_calls >= 0 && f->o->max_calls - f->bt.lines < room)
		room = f->o->max_calls - f->bt.lines;
	return room > 0 ? room : 0;
}

/* Writes the lines of batch b (in a transaction): the combinations in
 * fill order, each given what it lacks, lines to plan again first. */
static int write_lines(struct fill *f, int64_t batch, const char *bid,
		       long room)
{
	long k = 0;
	char cid[64];
	for (size_t r = 0; r < f->ncombos && k < room; r++) {
		struct combo *c = &f->combos[f->order[r]];
		long want = lines_for(f, c);
		struct scen_request rq;
		if (!want)
			continue;
		scen_pool_combo_request(c, &rq);
		for (long i = 0; i < want && k < room; i++, k++) {
			int attempt = 1;
			int64_t retry_of = 0;
			if (c->nunmade) {
				struct unmade *u = &f->unmade[c->unmade++];
				c->nunmade--;
				attempt = u->attempt + 1;
				retry_of = u->line;
				if (scen_db_batch_line_retried(f->db,
							       u->line) < 0)
					return -1;
			}
			snprintf(cid, sizeof cid, "%s-%ld", bid, k);
			if (scen_db_batch_line_insert(f->db, batch, cid, &rq,
						      attempt, retry_of) < 0)
				return -1;
			c->pending++;
		}
	}
	return 0;
}

/* Records the intent of a new batch for ac: 1 with b set, 0 when nothing
 * is needed, -1 on a database error. */
static int plan_batch(struct fill *f, const struct scen_account *ac,
		      struct scen_batch_row *b)
{
	long room = batch_room(f), n = 0;
	for (size_t i = 0; i < f->ncombos && n < room; i++)
		n += lines_for(f, &f->combos[i]);
	if (n > room)
		n = room;
	if (!n)
		return 0;
	double now = scen_now();
	memset(b, 0, sizeof *b);
	snprintf(b->bid, sizeof b->bid, "bt-%016llx",
		 (unsigned long long)scen_random64());
	snprintf(b->account, sizeof b->account, "%s", ac->name);
	snprintf(b->state, sizeof b->state, "planned");
	b->lines = n;
	b->window_s = f->cfg->pool.batch_window_h * 3600.0;
	b->created_at = now;
	if (scen_db_begin(f->db) < 0)
		return -1;
	if (scen_db_batch_insert(f->db, b->bid, ac->name, n, b->window_s,
				 now, &b->rowid) < 0 ||
	    write_lines(f, b->rowid, b->bid, n) < 0) {
		scen_db_rollback(f->db);
		return -1;
	}
	scen_db_count(f->db, "batch.lines", n);
	return scen_db_commit(f->db) < 0 ? -1 : 1;
}

/* Batches for ac until nothing is needed. */
static enum step submit_for(struct fill *f, struct scen_batch_api *api,
			    const struct scen_account *ac, char *why,
			    size_t n)
{
	for (;;) {
		struct scen_batch_row b;
		int r = plan_batch(f, ac, &b);
		if (r <= 0)
			return r < 0 ? STEP_IO : STEP_OK;
		scen_kill_point("intent");
		enum step s = send_on(f, api, &b, ac->key, why, n);
		if (s == STEP_REFUSED) {
			if (drop(f, &b, "refused", why) < 0 ||
			    put_verdict(f, ac, "refused", why) < 0)
				return STEP_IO;
			return replan(f, scen_now()) < 0 ? STEP_IO
							 : STEP_REFUSED;
		}
		if (s == STEP_LATER) {
			scen_warn("batch %s: %s; the next run sends it on",
				  b.bid, why);
			f->bt.open++;
		}
		if (s)
			return s;
		f->bt.submitted++;
		f->bt.lines += b.lines;
		f->bt.open++;
		scen_info("batch %s: %ld lines submitted as %s on account %s",
			  b.bid, b.lines, b.batch_id, ac->name);
	}
}

/* Tries each account in turn until one takes batches; why gathers the
 * refusals. */
static enum step submit_all(struct fill *f, struct scen_batch_api *api,
			    struct strbuf *why)
{
	long failed = 0;
	char prev[320] = "";
	for (size_t i = 0; i < f->cfg->provider.naccounts; i++) {
		const struct scen_account *ac = &f->cfg->provider.accounts[i];
		char w[320] = "";
		int known;
		int u = usable(f, ac, scen_now(), &known, w, sizeof w);
		enum step s = u < 0 ? STEP_IO : u ? STEP_OK : STEP_REFUSED;
		if (u > 0 && !known)
			s = probe(f, api, ac, w, sizeof w);
		if (!s) {
			/* a step that failed once a batch is recorded is
			 * said, and left to the next run */
			s = submit_for(f, api, ac, w, sizeof w);
			if (s != STEP_REFUSED)
				return s == STEP_LATER || s == STEP_DROPPED
					? STEP_OK : s;
		}
		if (s == STEP_IO)
			return s;
		failed += s == STEP_LATER;
		sb_addf(why, "%saccount %s: %s", why->len ? "; " : "",
			ac->name, strcmp(w, prev) ? w : "the same");
		snprintf(prev, sizeof prev, "%s", w);
	}
	return failed ? STEP_LATER : STEP_REFUSED;
}

enum scen_err scen_pool_batch_submit(struct fill *f, double now,
				     struct scen_error *e)
{
	struct strbuf why;
	sb_init(&why);
	struct scen_batch_api *api = scen_batch_api_new(f->cfg);
	enum step s = submit_all(f, api, &why);
	scen_batch_api_free(api);
	enum scen_err rc = SCEN_OK;
	/* no account took a batch: every one refused, or the Batch API
	 * failed for some (not remembered: the next run asks again) */
	const char *what = s == STEP_REFUSED
		? "the provider refuses batches for every account"
		: "no account could be sent a batch";
	if (s == STEP_IO) {
		rc = scen_failed(e, SCEN_ERR_IO);
	} else if (s && f->mode == SCEN_POOL_BATCH) {
		rc = scen_fail(e, SCEN_ERR_UNAVAILABLE, "pool.mode batch: %s; "
			       "%s (%s)", what, s == STEP_REFUSED
			       ? "set pool.mode to auto or online"
			       : "the next run tries again", why.buf);
	} else if (s) {
		scen_warn("pool.mode auto: %s (%s); filling online within the "
			  "quota share", what, why.buf);
		f->online = 1;
	}
	sb_release(&why);
	return rc;
}

/* ---- output ----------------------------------------------------------- */

const char *scen_pool_batch_result(const struct fill *f, long left)
{
	if (f->bt.submitted)
		return "submitted: the entries come as the batches end";
	if (f->bt.open)
		return "waiting: batches are still at the provider";
	return left ? "incomplete: entries past the attempt cap, or none "
		      "could be planned" : "complete";
}

void scen_pool_batch_print(const struct fill *f)
{
	FILE *out = f->o->out;
	const struct batch_tally *t = &f->bt;
	fprintf(out, "mode: %s%s\n", scen_pool_mode_name(f->mode),
		f->mode == SCEN_POOL_AUTO
			? (f->online ? " (online: batches refused)"
				     : " (batches)") : "");
	fprintf(out, "batches submitted: %ld (%ld lines)\n", t->submitted,
		t->lines);
	if (t->resumed)
		fprintf(out, "batches sent on: %ld\n", t->resumed);
	fprintf(out, "batches collected: %ld (%ld made, %ld rejected, "
		"%ld failed, %ld expired)\n", t->collected, t->made,
		t->rejected, t->failed, t->expired);
	fprintf(out, "batches open: %ld\n", t->open);
}
