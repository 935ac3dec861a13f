/* poolfill.c — scen-pool-fill's run: takes the lock, drives the engine in
 * batches until the plan is made or the window closes, settles each job,
 * and reports progress and the summary (scen-pool-fill(1), Batches,
 * interruptions and reruns, Failures, One run at a time, Output). */
#include "scen/poolfill.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "scen/poolfill_int.h"

#define PROVIDER_STREAK 3	/* jobs failed by the provider in a row,
				   or calls ended without an answer */
#define PROVIDER_ROW "*provider"	/* the provider-wide breaker (db.h) */
#define LOG_EVERY_S 60.0	/* plain progress lines */
#define DRAW_EVERY_S 0.25	/* progress bar redraws, real seconds */
#define WAIT_MS 200		/* longest sleep of the loop */

static volatile sig_atomic_t signals;

static void on_signal(int sig)
{
	if (++signals >= 2)
		_exit(128 + sig);
}

static void set_stop(struct fill *f, enum stop why)
{
	if (!f->stop)
		f->stop = why;
}

/* ---- the jobs of this run --------------------------------------------- */

static void track(struct fill *f, struct scen_job *j)
{
	*scen_map_put(&f->tracked, &j, sizeof j, NULL) = 1;
}

/* The job in slot i of f->tracked, or NULL when the slot is empty. */
static struct scen_job *tracked_at(const struct fill *f, size_t i)
{
	const struct scen_map_slot *s = &f->tracked.slots[i];
	struct scen_job *j = NULL;
	if (s->hash)
		memcpy(&j, s->key, sizeof j);
	return j;
}

/* Queued and not to be launched after this commit: it made no call yet
 * and is given none. */
static int waiting(const struct scen_job *j)
{
	return j && j->state == SCEN_JOB_QUEUED && !j->launch;
}

/* Tracked jobs not yet given a call: they will each need one. */
static long unreserved(const struct fill *f)
{
	long n = 0;
	for (size_t i = 0; i < f->tracked.cap; i++) {
		const struct scen_job *j = tracked_at(f, i);
		n += j && j->state == SCEN_JOB_QUEUED && !j->attempts;
	}
	return n;
}

static int has_queued(const struct fill *f)
{
	for (size_t i = 0; i < f->tracked.cap; i++)
		if (waiting(tracked_at(f, i)))
			return 1;
	return 0;
}

/* Stopping: jobs that have not made their call are cancelled; calls out
 * finish. */
static void cancel_queued(struct fill *f, double now)
{
	struct scen_job **v = xmalloc((f->tracked.len ? f->tracked.len : 1) *
				      sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < f->tracked.cap; i++) {
		struct scen_job *j = tracked_at(f, i);
		if (waiting(j))
			v[n++] = j;
	}
	for (size_t i = 0; i < n; i++)
		scen_engine_cancel(f->e, v[i], now);
	free(v);
}

/* Jobs kept queued: about two per concurrent call. */
static size_t queue_depth(const struct fill *f)
{
	return 2 * (size_t)(f->cfg->provider.max_concurrency > 0
			    ? f->cfg->provider.max_concurrency : 1);
}

static int can_submit(struct fill *f)
{
	return !f->stop && f->tracked.len < queue_depth(f) &&
	       scen_pool_next(f) < f->ncombos &&
	       unreserved(f) < scen_pool_calls_left(f);
}

/* Keeps about two jobs per concurrent call queued: a process that dies
 * leaves few, and each new job sees the latest shortfall. */
static void submit_more(struct fill *f, double now)
{
	long left = scen_pool_calls_left(f);
	long unres = unreserved(f);
	while (f->tracked.len < queue_depth(f) && unres < left &&
	       scen_pool_next(f) < f->ncombos) {
		struct combo *c = &f->combos[f->order[f->hint]];
		struct scen_request rq;
		scen_pool_combo_request(c, &rq);
		struct scen_job *j = scen_engine_submit(f->e, &rq, "pool", now,
							f->horizon);
		track(f, j);
		c->pending++;
		unres++;
	}
}

/* ---- how a job ended (scen-pool-fill(1), Failures) ------------------- */

enum outcome {
	ENDED_OTHER,		/* cancelled, or its template changed */
	ENDED_MADE,
	ENDED_NO_BUDGET,	/* no account could take its call in time */
	ENDED_REJECTED,		/* the output failed validation */
	ENDED_STORE_FAILED,
	ENDED_PROVIDER,		/* failed by the provider, after retries */
};

static int rejected_reason(const char *e)
{
	static const char *const words[] = {
		"empty", "truncated", "too_short", "too_long", "refusal",
	};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (!strcmp(e, words[i]))
			return 1;
	return 0;
}

static enum outcome outcome_of(const struct scen_job *j)
{
	const char *err = j->error ? j->error : "";
	if (j->state == SCEN_JOB_DONE)
		return ENDED_MADE;
	if (j->state != SCEN_JOB_FAILED || !strcmp(err, "template_changed"))
		return ENDED_OTHER;
	if (!strcmp(err, "no_budget"))
		return ENDED_NO_BUDGET;
	if (rejected_reason(err))
		return ENDED_REJECTED;
	if (!strcmp(err, "store_failed"))
		return ENDED_STORE_FAILED;
	return ENDED_PROVIDER;
}

/* The provider answered: its streak of failures is over. */
static void answered(struct fill *f)
{
	f->streak = 0;
	f->last_ok = scen_now();
	f->calls_at_ok = scen_pool_calls(f);
}

/* A combination whose outputs keep failing validation is left for this
 * run: its calls would only feed the rejects. */
static void give_up(struct combo *c)
{
	struct strbuf sb;
	c->given_up = 1;
	sb_init(&sb);
	scen_pool_combo_words(c, &sb);
	scen_warn("%s/%s %s: %ld outputs failed validation; leaving this "
		  "combination for this run", c->tpl->experiment->name,
		  c->tpl->name, sb.buf, c->rejected);
	sb_release(&sb);
}

/* A pool job waited until the horizon: no account could take its call
 * before then (an adopted fresh job waits only deadline_s, which says
 * nothing about the night). */
static void not_made(struct fill *f, struct combo *c)
{
	f->not_made++;
	set_stop(f, scen_pool_calls_left(f) <= 0 ? scen_pool_spent(f)
						 : STOP_NO_ACCOUNT);
	scen_pool_reopen(f, c);
}

static void made(struct fill *f, struct combo *c, struct acct *a)
{
	if (c)
		c->made++;
	scen_pool_count(f, c, a, MADE);
}

static void rejected(struct fill *f, struct combo *c, struct acct *a)
{
	scen_pool_count(f, c, a, REJECTED);
	if (c && ++c->rejected > 2 * f->target)
		give_up(c);
	scen_pool_reopen(f, c);
}

/* 429s only say the provider is busy: the quota waits those out. */
static void provider_failed(struct fill *f, const struct scen_job *j,
			    int pool, struct combo *c, struct acct *a)
{
	if (!j->error || strcmp(j->error, "429"))
		f->streak++;
	if (pool)
		scen_pool_count(f, c, a, FAILED);
	if (f->streak >= PROVIDER_STREAK)
		set_stop(f, STOP_PROVIDER);
	scen_pool_reopen(f, c);
}

/* A job of this run ended: fresh jobs it adopted count only toward the
 * provider's health and a store failure. */
static void job_ended(struct fill *f, struct scen_job *j)
{
	scen_map_del(&f->tracked, &j, sizeof j);
	int pool = j->origin && !strcmp(j->origin, "pool");
	struct combo *c = pool ? scen_pool_combo(f, j->rq.key) : NULL;
	struct acct *a = j->acct >= 0 ? &f->acct[j->acct] : NULL;
	if (c && c->pending > 0)
		c->pending--;
	switch (outcome_of(j)) {
	case ENDED_MADE:
		answered(f);
		if (pool)
			made(f, c, a);
		break;
	case ENDED_REJECTED:
		answered(f);
		if (pool)
			rejected(f, c, a);
		break;
	case ENDED_NO_BUDGET:
		if (pool)
			not_made(f, c);
		break;
	case ENDED_STORE_FAILED:
		set_stop(f, STOP_IO);
		break;
	case ENDED_PROVIDER:
		provider_failed(f, j, pool, c, a);
		break;
	case ENDED_OTHER:
		break;
	}
	scen_job_free(j);
}

/* ---- one turn --------------------------------------------------------- */

static void handle_finished(struct fill *f)
{
	struct scen_job *j;
	while ((j = scen_engine_finished(f->e)))
		job_ended(f, j);
}

static void step(struct fill *f, double now)
{
	scen_pool_apply_caps(f);
	scen_engine_step(f->e, now);
	handle_finished(f);
}

static void read_breaker(struct fill *f)
{
	struct scen_acct_state st;
	if (scen_db_account_get(f->db, PROVIDER_ROW, &st) == 0)
		f->breaker_open = strcmp(st.breaker, "closed") != 0;
}

/* One write transaction: settle what ended, submit or cancel, reserve. */
static int turn(struct fill *f)
{
	double now = scen_now();
	set_stop(f, scen_pool_window_stop(f, now));
	if (scen_db_begin(f->db) < 0)
		return -1;
	if (f->stop)
		cancel_queued(f, now);
	step(f, now);
	read_breaker(f);
	for (int k = 0; k < 4; k++) {
		if (f->stop)
			cancel_queued(f, now);
		else
			submit_more(f, now);
		step(f, now);
		if (f->stop ? !has_queued(f) : !can_submit(f))
			break;
	}
	handle_finished(f);
	if (f->stop == STOP_IO) {
		scen_db_rollback(f->db);
		return -1;
	}
	if (scen_db_commit(f->db) < 0)
		return -1;
	scen_engine_launch(f->e);
	return 0;
}

/* ---- adopting what a dead run left ------------------------------------ */

static void on_owned(void *vctx, const char *jid)
{
	struct fill *f = vctx;
	struct scen_job *j = scen_engine_find(f->e, jid);
	if (!j)
		return;
	/* a pool job waits for budget as long as this run's own do */
	if (j->origin && !strcmp(j->origin, "pool"))
		j->give_up_at = f->horizon;
	track(f, j);
}

/* In the setup transaction: jobs of processes that died are adopted and
 * finish here; pool ones count toward their combination's target. */
static int adopt(struct fill *f, double now)
{
	int n = scen_engine_adopt(f->e, now);
	if (n < 0)
		return -1;
	if (n && scen_db_pool_owned_jobs(f->dp, (long)getpid(), on_owned,
					 f) < 0)
		return -1;
	return 0;
}

/* ---- output (scen-pool-fill(1), Output) ------------------------------ */

static void fmt_duration(char *buf, size_t n, double s)
{
	long t = s > 0 && s < 1e9 ? (long)(s + 0.5) : 0;
	if (t >= 3600)
		snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
	else if (t >= 60)
		snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, n, "%lds", t);
}

/* Entries this run set out to make: the shortfall, within the budget. */
static long planned(const struct fill *f)
{
	return f->budget < f->needed ? f->budget : f->needed;
}

/* The progress bar on a terminal, redrawn at most every DRAW_EVERY_S. */
static void draw_bar(struct fill *f, long total, double rate,
		     const char *eta, const char *left)
{
	double real = scen_mono();
	if (real - f->last_draw < DRAW_EVERY_S)
		return;
	f->last_draw = real;
	char bar[21];
	long made = f->tally[MADE];
	int fill = total > 0 ? (int)(20 * made / total) : 20;
	if (fill > 20)
		fill = 20;
	for (int i = 0; i < 20; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[20] = 0;
	fprintf(stderr, "\r[%s] %ld/%ld entries  %.1f calls/min  "
		"ETA %s  budget %s calls\033[K", bar, made, total, rate, eta,
		left);
	fflush(stderr);
	f->drawn = 1;
}

/* The bar (o->progress) or a log line a minute; final clears the bar. */
static void progress(struct fill *f, int final)
{
	double t = scen_now();
	if (scen_verbosity < 0)
		return;
	double elapsed = t - f->start;
	long calls = scen_pool_calls(f), made = f->tally[MADE];
	long total = planned(f);
	double rate = elapsed > 0 ? calls / elapsed * 60 : 0;
	char eta[32], left[32];
	scen_pool_fmt_calls(left, sizeof left, scen_pool_calls_left(f));
	if (made > 0 && total > made)
		fmt_duration(eta, sizeof eta,
			     (double)(total - made) * elapsed / made);
	else
		snprintf(eta, sizeof eta, "%s", made ? "0s" : "?");
	if (f->o->progress && final) {
		if (f->drawn)
			fputs("\r\033[K", stderr);
		f->drawn = 0;
	} else if (f->o->progress) {
		draw_bar(f, total, rate, eta, left);
	} else if (!final && t >= f->next_log) {
		f->next_log = t + LOG_EVERY_S;
		scen_info("progress: %ld of %ld entries made, %ld rejected, "
			  "%ld calls (%.1f a minute), %s calls left in the "
			  "budget, about %s to go", made, total,
			  f->tally[REJECTED], calls, rate, left, eta);
	}
}

static const char *stop_words(const struct fill *f, char *buf, size_t n)
{
	char hm[32];
	switch (f->stop) {
	case STOP_NONE:
	case STOP_DONE:
		for (size_t i = 0; i < f->ncombos; i++)
			if (f->combos[i].given_up)
				return "incomplete: outputs kept failing "
				       "validation";
		return "complete";
	case STOP_BUDGET:
		return "stopped: the quota share of this run is spent";
	case STOP_MAX_CALLS:
		snprintf(buf, n, "stopped: --max-calls %ld reached",
			 f->o->max_calls);
		return buf;
	case STOP_UNTIL:
		scen_pool_fmt_until(f, hm, sizeof hm, "%H:%M");
		snprintf(buf, n, "stopped: --until %s reached", hm);
		return buf;
	case STOP_DAY:
		return "stopped: the quota day ended";
	case STOP_SIGNAL:
		return "stopped: interrupted by a signal";
	case STOP_NO_ACCOUNT:
		return "stopped: no account can take a call in time";
	case STOP_PROVIDER:
		return "stopped: the provider keeps failing";
	case STOP_IO:
		return "stopped: database error";
	}
	return "stopped";
}

/* Entries still short, and in how many combinations. */
static long left_entries(const struct fill *f, long *ncombos)
{
	long n = 0, k = 0;
	for (size_t i = 0; i < f->ncombos; i++) {
		long s = scen_pool_short(f, &f->combos[i]);
		n += s;
		k += s > 0;
	}
	*ncombos = k;
	return n;
}

/* The lines per account and per template of the summary. */
static void print_tallies(struct fill *f)
{
	FILE *out = f->o->out;
	for (size_t i = 0; i < f->nacct; i++) {
		const struct acct *a = &f->acct[i];
		fprintf(out, "account %s: %ld calls, %ld made, %ld rejected, "
			"%ld failed\n", f->cfg->provider.accounts[i].name,
			scen_quota_reserved(f->q, (int)i), a->tally[MADE],
			a->tally[REJECTED], a->tally[FAILED]);
	}
	for (size_t i = 0; i < f->ntpls; i++) {
		const struct tstat *ts = &f->tpls[i];
		long tl = 0;
		for (size_t k = ts->first; k < ts->first + ts->n; k++)
			tl += scen_pool_short(f, &f->combos[k]);
		fprintf(out, "template %s/%s: %ld made, %ld rejected, "
			"%ld failed, %ld left\n", ts->tpl->experiment->name,
			ts->tpl->name, ts->tally[MADE], ts->tally[REJECTED],
			ts->tally[FAILED], tl);
	}
}

static void print_summary(struct fill *f)
{
	FILE *out = f->o->out;
	char buf[96];
	long combos, left = left_entries(f, &combos);
	long pending = 0;
	for (size_t i = 0; i < f->ncombos; i++)
		pending += f->combos[i].pending;
	fprintf(out, "result: %s\n", f->online ? stop_words(f, buf, sizeof buf)
					     : scen_pool_batch_result(f, left));
	fprintf(out, "needed: %ld\n", f->needed);
	fprintf(out, "made: %ld\n", f->tally[MADE]);
	fprintf(out, "rejected: %ld\n", f->tally[REJECTED]);
	fprintf(out, "failed: %ld\n", f->tally[FAILED]);
	fprintf(out, "left: %ld in %ld combination%s\n", left, combos,
		combos == 1 ? "" : "s");
	if (pending)
		fprintf(out, "pending elsewhere: %ld\n", pending);
	fprintf(out, "calls: %ld\n", scen_pool_calls(f));
	if (f->mode != SCEN_POOL_ONLINE || f->bt.collected || f->bt.open)
		scen_pool_batch_print(f);
	print_tallies(f);
	fprintf(out, "time: %.1f s\n", scen_now() - f->start);
}

/* How the run ended, as the command tells it: SCEN_ERR_IO on a database
 * error, SCEN_ERR_UNAVAILABLE when entries were needed and the provider or
 * every account let none be made, else SCEN_OK (a clean stop). */
static enum scen_err ended_as(const struct fill *f)
{
	if (f->stop == STOP_IO)
		return SCEN_ERR_IO;
	if ((f->stop == STOP_PROVIDER || f->stop == STOP_NO_ACCOUNT) &&
	    !f->tally[MADE] && f->needed > 0)
		return SCEN_ERR_UNAVAILABLE;
	return SCEN_OK;
}

static void say_result(struct fill *f)
{
	char buf[96];
	if (!f->online) {
		scen_info("batches: %ld submitted (%ld lines), %ld collected "
			  "(%ld entries made), %ld open", f->bt.submitted,
			  f->bt.lines, f->bt.collected, f->bt.made,
			  f->bt.open);
		return;
	}
	long combos, left = left_entries(f, &combos);
	if (!left) {
		scen_info("done: %ld entries made, the pool is full",
			  f->tally[MADE]);
		return;
	}
	const char *w = stop_words(f, buf, sizeof buf);
	if (f->stop == STOP_DONE)
		w = "done";
	if (ended_as(f) == SCEN_ERR_UNAVAILABLE)
		scen_error("%s; nothing could be made: %ld entries left in "
			   "%ld combinations", w, left, combos);
	else
		scen_info("%s: %ld entries made, %ld left in %ld "
			  "combinations", w, f->tally[MADE], left, combos);
}

/* ---- the run ----------------------------------------------------------- */

static int setup(struct fill *f, double now)
{
	if (scen_db_begin(f->db) < 0)
		return -1;
	/* jobs of dead processes are adopted by a run that goes online
	 * (a run of batches would leave them waiting) */
	if (scen_db_register_templates(f->db, f->cfg) < 0 ||
	    (f->online && adopt(f, now) < 0) ||
	    scen_pool_plan_pool(f, now) < 0 ||
	    scen_pool_batch_plan(f) < 0 ||
	    scen_pool_window_budget(f, now) < 0) {
		scen_db_rollback(f->db);
		return -1;
	}
	return scen_db_commit(f->db);
}

/* ms, or less when the delay from now to virtual time t is shorter. */
static int sooner(int ms, double now, double t)
{
	double d = scen_real_ms(t - now);
	if (d < ms)
		ms = d < 0 ? 0 : (int)d + 1;
	return ms;
}

static int wait_ms(struct fill *f, double now)
{
	int ms = WAIT_MS;
	double t = scen_engine_next_try(f->e);
	if (isfinite(t) && scen_engine_inflight_calls(f->e) <
	    f->cfg->provider.max_concurrency)
		ms = sooner(ms, now, t);
	if (!f->stop && isfinite(f->horizon))
		ms = sooner(ms, now, f->horizon);
	return ms;
}

/*
 * Whether the provider is down: its breaker is open and calls have kept
 * ending without an answer for two breaker cool-downs (the breaker already
 * holds calls back; this ends the run instead of probing all night). 429s
 * do not open the breaker: a busy provider is waited for.
 */
static int provider_down(const struct fill *f, double now)
{
	if (!f->breaker_open)
		return 0;
	double span = 2 * f->cfg->provider.breaker_cooldown_s;
	if (span < 2 * f->cfg->provider.timeout_s)
		span = 2 * f->cfg->provider.timeout_s;
	long ended = scen_pool_calls(f) - f->calls_at_ok -
		     scen_engine_inflight_calls(f->e);
	return now - f->last_ok >= span && ended >= PROVIDER_STREAK;
}

/* Whether a turn has work: the first, a call ended, a retry is due with a
 * free slot, or jobs to submit (to cancel when stopping). */
static int turn_due(struct fill *f, int first, int ended)
{
	double now = scen_now();
	double next = scen_engine_next_try(f->e);
	int busy = scen_engine_inflight_calls(f->e) >=
		   f->cfg->provider.max_concurrency;
	return first || ended || (next <= now && !busy) ||
	       (f->stop ? has_queued(f) : can_submit(f));
}

static void run(struct fill *f)
{
	for (int first = 1;; first = 0) {
		double now = scen_now();
		if (signals)
			set_stop(f, STOP_SIGNAL);
		if (provider_down(f, now))
			set_stop(f, STOP_PROVIDER);
		set_stop(f, scen_pool_window_stop(f, now));
		int ms = first ? 0 : wait_ms(f, now);
		if (ms > 0 || scen_engine_inflight_calls(f->e))
			scen_engine_wait(f->e, -1, ms, NULL);
		int ended = scen_engine_collect(f->e);
		if (turn_due(f, first, ended) && turn(f) < 0) {
			f->stop = STOP_IO;
			break;
		}
		if (!f->stop && !f->tracked.len &&
		    !scen_engine_pending(f->e)) {
			if (scen_pool_next(f) >= f->ncombos)
				set_stop(f, STOP_DONE);
			else if (scen_pool_calls_left(f) <= 0)
				set_stop(f, scen_pool_spent(f));
		}
		progress(f, 0);
		if (f->stop && !scen_engine_pending(f->e) &&
		    !scen_engine_inflight_calls(f->e))
			break;
	}
	progress(f, 1);
}

/* The online run: calls within the budget until the plan is made or the
 * window closes; how it ended. */
static enum scen_err fill_online(struct fill *f, struct scen_error *e)
{
	char b[32];
	scen_pool_fmt_calls(b, sizeof b, f->budget);
	scen_info("plan: %ld entries short in %zu combinations; budget %s "
		  "calls", f->needed, f->ncombos, b);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	run(f);
	enum scen_err rc = ended_as(f);
	if (rc)		/* said with the summary: no message of its own */
		scen_failed(e, rc);
	return rc;
}

/* Takes the lock and the engine, adopts, budgets, collects the batches
 * that ended, then submits batches or runs online (pool.mode); how it
 * ended (as scen_pool_fill). */
static enum scen_err fill_pool(struct fill *f, double now,
			       struct scen_error *e)
{
	enum scen_err rc = scen_db_pool_lock(f->db, e);
	if (rc)
		return rc;
	f->ix = scen_index_new(f->cfg);
	f->q = scen_quota_new(f->cfg, f->db);
	f->e = scen_engine_new(f->cfg, f->db, f->q, f->ix);
	f->online = f->mode == SCEN_POOL_ONLINE && !f->o->collect;
	if (setup(f, now) < 0 || scen_pool_batch_collect(f, now) < 0)
		return scen_failed(e, SCEN_ERR_IO);
	if (f->mode != SCEN_POOL_ONLINE && !f->o->collect) {
		rc = scen_pool_batch_submit(f, now, e);
		if (rc)
			return rc;
	}
	if (f->online)
		rc = fill_online(f, e);
	say_result(f);
	if (scen_verbosity >= 0)
		print_summary(f);
	return rc;
}

static long capped_lines(const struct fill *f)
{
	long n = 0;
	for (size_t i = 0; i < f->ncombos; i++)
		n += f->combos[i].capped;
	return n;
}

/* --dry-run: the plan, and no call; SCEN_OK or SCEN_ERR_IO (reported). */
static enum scen_err dry_run(struct fill *f, double now,
			     struct scen_error *e)
{
	if (scen_pool_plan_pool(f, now) < 0 || scen_pool_batch_plan(f) < 0 ||
	    scen_pool_window_budget(f, now) < 0)
		return scen_failed(e, SCEN_ERR_IO);
	scen_pool_plan_print(f);
	if (f->mode != SCEN_POOL_ONLINE)
		fprintf(f->o->out, "mode: %s (batch lines past the attempt "
			"cap: %ld)\n", scen_pool_mode_name(f->mode),
			capped_lines(f));
	scen_pool_window_print(f);
	scen_pool_plan_print_order(f);
	return SCEN_OK;
}

static void fill_release(struct fill *f)
{
	scen_engine_free(f->e);
	scen_quota_free(f->q);
	scen_index_free(f->ix);
	scen_db_pool_free(f->dp);
	for (size_t i = 0; i < f->ncombos; i++)
		free(f->combos[i].levels);
	free(f->combos);
	free(f->order);
	free(f->tpls);
	free(f->acct);
	free(f->unmade);
	scen_map_release(&f->by_key);
	scen_map_release(&f->tracked);
}

enum scen_err scen_pool_fill(const struct scen_config *cfg,
			     struct scen_db *db,
			     const struct scen_pool_opts *o,
			     struct scen_error *e)
{
	struct fill f;
	memset(&f, 0, sizeof f);
	f.cfg = cfg;
	f.o = o;
	f.db = db;
	f.target = cfg->pool.variants;
	f.nacct = cfg->provider.naccounts;
	f.acct = xcalloc(f.nacct ? f.nacct : 1, sizeof *f.acct);
	f.dp = scen_db_pool_new(db);
	scen_map_init(&f.by_key);
	scen_map_init(&f.tracked);
	f.mode = o->mode >= 0 ? (enum scen_pool_mode)o->mode : cfg->pool.mode;
	f.start = scen_now();
	f.last_ok = scen_now();
	f.next_log = f.start + LOG_EVERY_S;
	double now = scen_now();
	scen_pool_window_open(&f, now);
	enum scen_err rc = scen_pool_plan_design(&f, e);
	if (!rc && scen_pool_plan_demand(&f, now) < 0)
		rc = scen_failed(e, SCEN_ERR_IO);
	if (!rc) {
		scen_pool_plan_order(&f);
		rc = o->dry_run ? dry_run(&f, now, e) : fill_pool(&f, now, e);
	}
	fill_release(&f);
	return rc;
}
