/* serve.c — the serving loop of scen-serve-stdin(1) and scen-gen(1): turns,
 * each one write transaction committed before its answers go out; the
 * engine's calls stepped between them; serving from memory when the
 * database can no longer be written; signals. */
#include "scen/serve.h"

#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scen/serve_int.h"

#define BATCH_LINES 4096	/* new requests per transaction, at most */

static volatile sig_atomic_t signals;

static void on_signal(int sig)
{
	(void)sig;
	if (++signals >= 2)
		_exit(128 + sig);
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

/* The index from what the database holds, plus the spool; the old one
 * stays when the database cannot be read. */
static int rebuild_index(struct server *s)
{
	struct scen_index *ix = scen_index_new(s->cfg);
	if (scen_db_load_index(s->db, s->cfg, ix) < 0) {
		scen_index_free(ix);
		return -1;
	}
	scen_index_free(s->ix);
	s->ix = ix;
	scen_spool_rewind(s->sp);
	s->need_rebuild = 0;
	return 0;
}

/*
 * The database cannot be written (full, read-only, write errors) or
 * reached (the server is gone): the run serves from memory and spools its
 * servings (spool.h), until the end for a database that cannot be
 * written, until it is back for one that cannot be reached (try_recover).
 *
 * Nothing of the failed turn was committed or written out, but the turn
 * changed memory as it went: the index counted servings and sessions, and
 * the engine added the scenarios it stored, which the rollback took back
 * (their row ids may even be reused). Rather than defer or undo each of
 * these changes (a turn's later requests must see its earlier servings),
 * the index is rebuilt from what the database holds, plus the spool, and
 * every request the turn answered is answered again from there (as if it
 * had just been read). A database that cannot be reached cannot be read
 * either: then the index stays, less the scenarios the turn stored, and
 * the turn's servings stay counted (the answers again avoid what they
 * gave: never a repeat, at worst a scenario set aside). Requests waiting for a generation are too: no call
 * can be recorded in the quota ledger any more, so the fresh tier is off.
 * The engine is dropped with its calls in flight; its jobs stay queued in
 * the database, and the next process adopts them.
 */
static void enter_degraded(struct server *s, enum scen_db_trouble why,
			   const struct scen_serve_stats *st0)
{
	serve_retract(s, st0);
	while (s->waiting) {
		struct pend *p = s->waiting;
		serve_unwait(s, p);
		serve_push_redo(s, p);
	}
	struct scen_job *j;
	while ((j = scen_engine_finished(s->e)))
		scen_job_free(j);
	scen_engine_free(s->e);
	s->e = NULL;
	s->failed = SCEN_OK;
	s->degraded = why;
	if (why == SCEN_DB_UNREACHABLE) {
		size_t n;
		const int64_t *ids = scen_db_tx_scenarios(s->db, &n);
		for (size_t i = 0; i < n; i++)
			scen_index_forget(s->ix, ids[i]);
	} else {
		s->need_rebuild = 1;
	}
	scen_warn("%s: serving from memory, servings spooled to %s",
		  scen_db_trouble_name(why), scen_spool_path(s->sp));
}

/* A turn (or the setup) failed with rc: serving from memory when the
 * database cannot be written, else rc. */
static enum scen_err turn_failed(struct server *s,
				 const struct scen_serve_stats *st0,
				 enum scen_err rc)
{
	enum scen_db_trouble why = scen_db_write_trouble(s->db);
	/* a turn that may have been committed is not answered again: its
	 * servings would be recorded twice */
	if (!why || s->o->gen || why == SCEN_DB_UNKNOWN_COMMIT)
		return rc;
	enter_degraded(s, why, st0);
	return SCEN_OK;
}

static void spool_count(void *ctx, const char *name, size_t len, long n)
{
	struct server *s = ctx;
	scen_spool_add_count(s->sp, (int64_t)(s->now / 3600), name, len, n);
}

/* Serving from memory, the index is rebuilt when the database cannot be
 * read either: the run ends. */
static enum scen_err rebuild_failed(struct server *s)
{
	scen_spool_unlock(s->sp);
	scen_db_rollback(s->db);
	return SCEN_ERR_IO;
}

/*
 * A turn serving from memory: the spool takes the place of the commit.
 * It still takes the database's write lock when it can (taking its turn
 * among the other processes, and catching up with what they committed),
 * but writes nothing there. The batch of servings is fsync'd before the
 * answers go out. When the spool cannot be written either, the turn is
 * answered again recording nothing: unavailable where a serving would be.
 */
static enum scen_err turn_degraded(struct server *s)
{
	struct scen_serve_stats st0 = *s->st;
	s->now = scen_now();
	int tx = scen_db_begin_quiet(s->db);
	if (tx && s->degraded == SCEN_DB_UNREACHABLE)
		s->recover_at = 0;	/* the server is back: at the next step */
	int spooling = scen_spool_lock(s->sp) == 0;
	if (s->need_rebuild && rebuild_index(s) < 0)
		return rebuild_failed(s);
	if (tx && scen_db_catch_up(s->db, s->cfg, s->ix) < 0 &&
	    !s->warned_catch_up++)
		scen_warn("not catching up with other processes' servings");
	spool_catch_up(s);
	s->norecord = !spooling;
	serve_redo_all(s);
	serve_take_lines(s, BATCH_LINES);
	if (spooling) {
		scen_db_take_counts(s->db, spool_count, s);
		if (scen_spool_commit(s->sp) < 0) {
			serve_retract(s, &st0);
			if (rebuild_index(s) < 0)
				return rebuild_failed(s);
			spool_catch_up(s);
			s->norecord = 1;
			serve_redo_all(s);
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
	serve_free_done(s);
	return serve_write_out(s);
}

/*
 * Serving from memory because the database could not be reached: once in
 * a while (a quarter second, doubling to 5 s) it is tried again; when it
 * answers, the spool is replayed into it (this process's servings and any
 * other's on this host), the index is rebuilt from it, the engine starts
 * again (adopting the jobs left queued) and turns commit as before.
 */
static void try_recover(struct server *s)
{
	double now = scen_mono();
	if (s->degraded != SCEN_DB_UNREACHABLE || now < s->recover_at)
		return;
	s->recover_wait = s->recover_wait ? s->recover_wait * 2 : 0.25;
	if (s->recover_wait > 5)
		s->recover_wait = 5;
	s->recover_at = now + s->recover_wait;
	scen_db_retry_now(s->db);	/* spaced out here */
	if (!scen_db_begin_quiet(s->db))
		return;
	scen_db_rollback(s->db);
	scen_spool_free(s->sp);
	long replayed = scen_spool_replay(s->db);
	s->sp = scen_spool_new(s->db);
	if (replayed < 0)
		return;
	if (scen_db_begin(s->db) < 0)
		return;
	if (rebuild_index(s) < 0) {
		scen_db_rollback(s->db);
		return;
	}
	s->e = scen_engine_new(s->cfg, s->db, s->q, s->ix);
	if (scen_engine_adopt(s->e, scen_now()) < 0 ||
	    scen_db_commit(s->db) < 0) {
		scen_db_rollback(s->db);
		scen_engine_free(s->e);
		s->e = NULL;
		return;
	}
	scen_info("%s is back: %ld spooled serving%s added, serving as "
		  "before", scen_db_path(s->db), replayed,
		  replayed == 1 ? "" : "s");
	s->degraded = SCEN_DB_OK;
	s->recover_wait = 0;
}

/* ---- turns ----------------------------------------------------------- */

static void handle_finished(struct server *s)
{
	struct scen_job *j;
	while ((j = scen_engine_finished(s->e)))
		serve_job_ended(s, j);
}

static double next_deadline(const struct server *s)
{
	double t = INFINITY;
	for (const struct pend *p = s->waiting; p; p = p->next)
		if (p->deadline < t)
			t = p->deadline;
	return t;
}

/* One transaction: everything that can be answered now is. */
static enum scen_err turn(struct server *s)
{
	struct scen_serve_stats st0 = *s->st;
	s->now = scen_now();
	if (scen_db_begin(s->db) < 0)
		return turn_failed(s, &st0, SCEN_ERR_IO);
	if (scen_db_catch_up(s->db, s->cfg, s->ix) < 0)
		s->failed = SCEN_ERR_IO;
	spool_catch_up(s);
	/* requests of a turn that failed, when the database came back
	 * before a turn from memory answered them (try_recover) */
	serve_redo_all(s);
	scen_engine_step(s->e, s->now);
	handle_finished(s);
	serve_take_lines(s, BATCH_LINES);
	serve_expire_deadlines(s);
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
		return turn_failed(s, &st0, SCEN_ERR_IO);
	serve_free_done(s);
	enum scen_err rc = serve_write_out(s);
	if (!rc)
		scen_engine_launch(s->e);
	return rc;
}

static enum scen_err setup(struct server *s)
{
	struct scen_serve_stats st0 = *s->st;
	if (scen_db_begin(s->db) < 0)
		return turn_failed(s, &st0, SCEN_ERR_IO);
	if (scen_db_register_templates(s->db, s->cfg) < 0 ||
	    scen_db_load_index(s->db, s->cfg, s->ix) < 0 ||
	    scen_engine_adopt(s->e, scen_now()) < 0) {
		scen_db_rollback(s->db);
		return turn_failed(s, &st0, SCEN_ERR_IO);
	}
	/* servings spooled by a process still running, or that could not
	 * be replayed yet */
	spool_catch_up(s);
	if (scen_db_commit(s->db) < 0)
		return turn_failed(s, &st0, SCEN_ERR_IO);
	scen_debug("%zu stored scenarios loaded", scen_index_count(s->ix));
	return SCEN_OK;
}

/* ---- the loop -------------------------------------------------------- */

/* Serving from memory: waits for input (there are no calls), and answers
 * it. 1 when the run is over. */
static int step_degraded(struct server *s, enum scen_err *rc)
{
	try_recover(s);
	if (!s->degraded)
		return 0;
	if (!serve_has_line(s) && !s->redo && !s->eof) {
		struct pollfd pfd = {.fd = s->o->in_fd, .events = POLLIN};
		poll(&pfd, 1, 200);
	}
	serve_read_input(s);
	if (serve_has_line(s) || s->redo)
		*rc = turn_degraded(s);
	if (*rc || !s->eof || serve_has_line(s) || s->redo)
		return 0;
	/* the end: one last try, not to leave the servings spooled when
	 * the server is back */
	if (scen_spool_written(s->sp)) {
		s->recover_at = 0;
		try_recover(s);
	}
	return s->degraded != SCEN_DB_OK;
}

/* Waits for input, an ended call, or the next deadline or retry, then
 * takes a turn if there is anything to do. 1 when the run is over. */
static int step(struct server *s, enum scen_err *rc)
{
	double now = scen_now();
	double wake = next_deadline(s);
	double t = scen_engine_next_try(s->e);
	if (t < wake)
		wake = t;
	int timeout = serve_has_line(s) || s->redo ? 0 : 200;
	if (isfinite(wake)) {
		double ms = scen_real_ms(wake - now);
		if (ms < timeout)
			timeout = ms < 0 ? 0 : (int)ms + 1;
	}
	int ready = 0;
	if (timeout > 0 || scen_engine_inflight_calls(s->e))
		scen_engine_wait(s->e, s->eof ? -1 : s->o->in_fd, timeout,
				 &ready);
	serve_read_input(s);
	int ended = scen_engine_collect(s->e);
	now = scen_now();
	if (serve_has_line(s) || s->redo || ended || next_deadline(s) <= now ||
	    scen_engine_next_try(s->e) <= now)
		*rc = turn(s);
	return !*rc && !s->degraded && s->eof && !serve_has_line(s) &&
	       !s->redo && !s->nwaiting && !scen_engine_pending(s->e) &&
	       !scen_engine_inflight_calls(s->e);
}

static void server_init(struct server *s, const struct scen_config *cfg,
			struct scen_db *db, const struct scen_serve_opts *o,
			struct scen_serve_stats *st)
{
	memset(s, 0, sizeof *s);
	memset(st, 0, sizeof *st);
	s->cfg = cfg;
	s->o = o;
	s->st = st;
	s->db = db;
	s->ix = scen_index_new(cfg);
	s->q = scen_quota_new(cfg, db);
	s->e = scen_engine_new(cfg, db, s->q, s->ix);
	s->sp = scen_spool_new(db);
	if (o->gen) {
		s->tiers[0] = SCEN_TIER_FRESH;	/* never a cache read */
		s->ntiers = 1;
	} else {
		memcpy(s->tiers, cfg->fallback, sizeof s->tiers);
		s->ntiers = cfg->nfallback;
	}
	sb_init(&s->out);
	sb_init(&s->line);
	sb_init(&s->factors);
	scen_rowcache_init(&s->rows, SCEN_ROWCACHE_BYTES);
}

static void server_release(struct server *s)
{
	while (s->waiting) {
		struct pend *p = s->waiting;
		serve_unwait(s, p);
		serve_free_pend(p);
	}
	serve_free_done(s);
	s->done = s->redo;
	serve_free_done(s);
	for (size_t i = 0; i < s->nslots; i++)
		free(s->slots[i].line);
	free(s->slots);
	free(s->taken);
	free(s->load_names);
	free(s->load_ss);
	scen_engine_free(s->e);
	scen_quota_free(s->q);
	scen_index_free(s->ix);
	scen_spool_free(s->sp);
	free(s->bad.served);
	free(s->excl.served);
	sb_release(&s->out);
	sb_release(&s->line);
	sb_release(&s->factors);
	scen_rowcache_release(&s->rows);
	free(s->ibuf);
}

/* SIGINT and SIGTERM end the input (a second one, the process); input
 * is read without blocking. */
static void catch_signals(int in_fd)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	int fl = fcntl(in_fd, F_GETFL);
	if (fl >= 0)
		fcntl(in_fd, F_SETFL, fl | O_NONBLOCK);
}

/* What ended the run, told once: the failed write said it; a database
 * that failed said why as it happened, this says what became of the
 * answers. */
static void run_ended(struct server *s, enum scen_err rc,
		      struct scen_error *err)
{
	if (rc && !s->err.kind)
		scen_fail(&s->err, rc, "stopping: answers not yet committed "
			  "are not written");
	long spooled = scen_spool_written(s->sp);
	if (spooled)
		scen_warn("%ld serving%s in %s; the next scen-serve-stdin, "
			  "scen-gen or scen-pool-fill adds %s to the "
			  "database", spooled, spooled == 1 ? " is" : "s are",
			  scen_spool_path(s->sp), spooled == 1 ? "it" : "them");
	/* said when it happened (turn_degraded) */
	if (!rc && s->unrecorded)
		s->err.kind = SCEN_ERR_IO;
	if (err)
		*err = s->err;
}

enum scen_err scen_serve(const struct scen_config *cfg, struct scen_db *db,
			 const struct scen_serve_opts *o,
			 struct scen_serve_stats *st, struct scen_error *err)
{
	struct server s;
	server_init(&s, cfg, db, o, st);
	catch_signals(o->in_fd);
	enum scen_err rc = setup(&s);
	while (!rc) {
		if (signals && !s.eof) {
			scen_info("signal: finishing the jobs in flight");
			s.eof = 1;
		}
		if (s.degraded ? step_degraded(&s, &rc) : step(&s, &rc))
			break;
	}
	run_ended(&s, rc, err);
	rc = s.err.kind;
	server_release(&s);
	return rc;
}
