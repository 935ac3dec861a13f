/* serve_protocol.c — the request side of scen-serve-stdin(1): reading
 * request lines, the ops get, status and cancel, and the requests whose
 * turn could not be recorded, answered again. */
#include "scen/serve_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK 65536

/* ---- status and cancel ---------------------------------------------- */

static void not_found(struct server *s, struct pend *p)
{
	char msg[128];
	snprintf(msg, sizeof msg, "no job '%.40s' for this session",
		 p->rq.job);
	serve_answer_error(s, p, "not_found", msg);
}

/* The stored row of the job p asks about: 1 with r filled (release it),
 * or 0 when p is answered (no such job; the database cannot be read
 * while serving from memory) or parked (the turn failed). */
static int stored_job(struct server *s, struct pend *p,
		      struct scen_job_row *r)
{
	int found = scen_db_job_get(s->db, p->rq.job, r);
	if (found < 0 && s->degraded) {
		serve_answer_unavailable(s, p, 60);
	} else if (found < 0) {
		s->failed = SCEN_ERR_IO;
		serve_park(s, p);
	} else if (!found) {
		not_found(s, p);
	}
	return found > 0;
}

/* A status poll of a job done: the poll delivers the scenario, as the
 * job's own request (the poll's own is kept, to be asked again if need
 * be). */
static void deliver_done(struct server *s, struct pend *p,
			 const struct scen_job_row *r)
{
	struct scen_request rq;
	if (scen_job_row_request(s->cfg, r, &rq) < 0) {
		serve_answer_error(s, p, "not_found",
				   "the job's template has changed since");
		return;
	}
	free(rq.id);
	rq.id = xstrdup(p->rq.id);
	p->asked = p->rq;
	p->has_asked = 1;
	p->rq = rq;
	struct scen_session *ss = serve_session_of(s, p);
	int had = ss && scen_session_has(ss, r->scenario);
	int rc = !serve_history_known(ss) ||
		 scen_session_has(&s->bad, r->scenario) ? 1
		: serve_scenario(s, p, SCEN_TIER_FRESH, r->scenario, 1.0, !had);
	if (rc < 0)
		serve_park(s, p);
	else if (rc == 1)
		serve_answer_unavailable(s, p, 60);
}

/* Whether the stored job r is p's session's to ask about: it made the
 * job, or shared its call and was served from it. When not (or when that
 * session's history is not known), p is answered. */
static int stored_job_mine(struct server *s, struct pend *p,
			   const struct scen_job_row *r)
{
	if (r->session && !strcmp(r->session, p->rq.session))
		return 1;
	struct scen_session *ss = r->scenario ? serve_session_of(s, p) : NULL;
	if (r->scenario && !serve_history_known(ss))
		serve_answer_unavailable(s, p, 60);
	else if (!ss || !scen_session_has(ss, r->scenario))
		not_found(s, p);
	else
		return 1;
	return 0;
}

/* Answers a status poll of p's session's stored job r by its state. */
static void answer_stored(struct server *s, struct pend *p,
			  const struct scen_job_row *r)
{
	if (!strcmp(r->state, "done") && r->scenario)
		deliver_done(s, p, r);
	else if (!strcmp(r->state, "failed"))
		serve_answer_job_failed(s, p, r->jid);
	else if (!strcmp(r->state, "cancelled"))
		serve_answer_error(s, p, "cancelled", "the job was cancelled");
	else
		serve_answer_job(s, p, "generating", r->jid, r->state);
}

/* op status for a job that is not running here: from the database. */
static void status_stored(struct server *s, struct pend *p)
{
	struct scen_job_row r;
	if (!stored_job(s, p, &r))
		return;
	if (stored_job_mine(s, p, &r))
		answer_stored(s, p, &r);
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
	if (!j)
		status_stored(s, p);
	else if (!asked(j, p->rq.session))
		not_found(s, p);
	else
		serve_answer_job(s, p, "generating", j->jid,
				 scen_job_state_name(j->state));
}

/* Cancels job j, running here, for p's session: its own waiting requests
 * end; other sessions sharing the call keep it. 0, or -1 when p is
 * answered already. */
static int cancel_running(struct server *s, struct pend *p,
			  struct scen_job *j)
{
	if (!asked(j, p->rq.session)) {
		not_found(s, p);
		return -1;
	}
	struct pend *w = j->waiters, *next;
	int others = 0;
	for (; w; w = next) {
		next = w->next_waiter;
		if (strcmp(w->rq.session ? w->rq.session : "",
			   p->rq.session)) {
			others++;
			continue;
		}
		serve_unwait(s, w);
		serve_answer_error(s, w, "cancelled",
				   "the job was cancelled by its session");
	}
	if (!others)
		scen_engine_cancel(s->e, j, s->now);
	return 0;
}

/* Cancels a job not running here (queued by another process, or ended),
 * when p's session made it; *state is what it is now. 0, or -1 when p
 * is answered already. */
static int cancel_stored(struct server *s, struct pend *p,
			 const char **state)
{
	struct scen_job_row r;
	if (!stored_job(s, p, &r))
		return -1;
	if (!r.session || strcmp(r.session, p->rq.session)) {
		scen_job_row_release(&r);
		not_found(s, p);
		return -1;
	}
	*state = !strcmp(r.state, "done") ? "done"
		: !strcmp(r.state, "failed") ? "failed" : "cancelled";
	int open = !strcmp(r.state, "queued") || !strcmp(r.state, "running");
	int64_t rowid = r.rowid;
	scen_job_row_release(&r);
	if (open && s->degraded) {
		/* the cancel cannot be written */
		serve_answer_unavailable(s, p, 60);
		return -1;
	}
	if (open)
		scen_db_job_update(s->db, rowid, "cancelled", s->now, NULL, 0,
				   "cancelled", 0);
	return 0;
}

static void op_cancel(struct server *s, struct pend *p)
{
	struct scen_job *j = s->e ? scen_engine_find(s->e, p->rq.job) : NULL;
	const char *state = "cancelled";
	if (j ? cancel_running(s, p, j) : cancel_stored(s, p, &state))
		return;
	serve_answer_job(s, p, "ok", p->rq.job, state);
}

/* ---- input ----------------------------------------------------------- */

/* A new request read now, in input order. */
static struct pend *new_pend(struct server *s)
{
	struct pend *p = xcalloc(1, sizeof *p);
	p->seq = s->seq++;
	p->t0 = scen_mono();
	s->st->lines++;
	serve_reserve_slot(s, p->seq);
	return p;
}

/* Starts answering p, its line read. */
static void start(struct server *s, struct pend *p)
{
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
	/* scen-gen: each variant is its own request with the same id */
	for (long i = 1; s->o->gen && i < s->o->count; i++) {
		struct pend *q = xcalloc(1, sizeof *q);
		*q = *p;
		q->rq.id = xstrdup(p->rq.id);
		q->rq.session = p->rq.session ? xstrdup(p->rq.session) : NULL;
		q->seq = s->seq++;
		serve_reserve_slot(s, q->seq);
		serve_advance(s, q);
	}
	serve_advance(s, p);
}

/* p, its line read, is answered once the turn's lines are taken
 * (start_taken). */
static void take(struct server *s, struct pend *p)
{
	XGROW(s->taken, s->ntaken + 1, s->captaken);
	s->taken[s->ntaken++] = p;
}

static void take_line(struct server *s, const char *line, size_t len)
{
	s->lineno++;
	if (len && line[len - 1] == '\r')
		len--;
	size_t k = 0;
	while (k < len && (line[k] == ' ' || line[k] == '\t'))
		k++;
	if (k == len)	/* blank lines are not requests */
		return;
	struct pend *p = new_pend(s);
	struct scen_req_error err;
	int flags = s->o->gen ? 0 : SCEN_REQ_NEED_SESSION;
	if (scen_request_parse(s->cfg, line, len, s->lineno, flags, &p->rq,
			       &err) < 0) {
		scen_debug("%s:%ld: %s: %s", s->o->in_name, s->lineno,
			   err.code, err.message);
		p->kind = PEND_BAD;
		p->err_code = err.code;
		p->err_msg = xstrdup(err.message);
	} else if (p->rq.op != SCEN_OP_GET) {
		/* its kind known before it starts: a failed turn answers it
		 * again by its kind (serve_redo_all) */
		p->kind = p->rq.op == SCEN_OP_STATUS ? PEND_STATUS
						     : PEND_CANCEL;
	}
	take(s, p);
}

/* The sessions of the lines taken that are not yet known: read in one
 * query, not one a request (a round trip each on a server). */
static void load_sessions(struct server *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->ntaken; i++) {
		struct pend *p = s->taken[i];
		if (p->kind == PEND_BAD || p->rq.op != SCEN_OP_GET ||
		    !p->rq.session)
			continue;
		struct scen_session *ss = scen_index_session(s->ix,
							     p->rq.session);
		if (ss->loaded)
			continue;
		ss->loaded = -1;	/* asked once */
		if (n == s->capload) {
			s->capload = s->capload ? 2 * s->capload : 64;
			s->load_names = xrealloc(s->load_names, s->capload *
						 sizeof *s->load_names);
			s->load_ss = xrealloc(s->load_ss, s->capload *
					      sizeof *s->load_ss);
		}
		s->load_names[n] = p->rq.session;
		s->load_ss[n++] = ss;
	}
	if (n && scen_db_sessions_load(s->db, s->load_names, s->load_ss, n) <
		     0) {
		for (size_t i = 0; i < n; i++)
			s->load_ss[i]->loaded = 0;
		if (!s->degraded)
			s->failed = SCEN_ERR_IO;
	}
}

/* Answers the lines taken, in their order; once the turn failed, the
 * rest wait to be answered again (see enter_degraded in serve.c). */
static void start_taken(struct server *s)
{
	load_sessions(s);
	for (size_t i = 0; i < s->ntaken; i++) {
		struct pend *p = s->taken[i];
		if (p->kind == PEND_BAD)
			serve_answer_error(s, p, p->err_code, p->err_msg);
		else if (s->failed)
			serve_push_redo(s, p);
		else
			start(s, p);
	}
	s->ntaken = 0;
}

static void too_long(struct server *s)
{
	s->lineno++;
	struct pend *p = new_pend(s);
	p->rq.lineno = s->lineno;	/* no id: its line number says which */
	p->kind = PEND_BAD;
	p->err_code = "line_too_long";
	p->err_msg = xasprintf("line %ld is longer than %d bytes", s->lineno,
			       SCEN_MAX_LINE);
	take(s, p);
}

int serve_take_lines(struct server *s, int max)
{
	size_t start = s->ioff;
	int n = 0, partial = 0;
	while (n < max) {
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
	s->ioff = rest ? start : 0;
	s->ilen = rest ? s->ilen : 0;
	start_taken(s);
	return n;
}

int serve_has_line(const struct server *s)
{
	size_t n = s->ilen - s->ioff;
	return n && (memchr(s->ibuf + s->ioff, '\n', n) || s->eof ||
		     n > SCEN_MAX_LINE);
}

/* Moves what is left to read to the start of the buffer, once it is no
 * longer than what was read before it: each byte is moved a bounded
 * number of times, however much input waits. */
static void compact_input(struct server *s)
{
	size_t rest = s->ilen - s->ioff;
	if (!s->ioff || rest > s->ioff)
		return;
	memmove(s->ibuf, s->ibuf + s->ioff, rest);
	s->ilen = rest;
	s->ioff = 0;
}

void serve_read_input(struct server *s)
{
	if (s->eof)
		return;
	compact_input(s);
	for (int k = 0; k < 16; k++) {
		XGROW(s->ibuf, s->ilen + READ_CHUNK, s->icap);
		ssize_t n = read(s->o->in_fd, s->ibuf + s->ilen, READ_CHUNK);
		if (n > 0) {
			s->ilen += (size_t)n;
			if (s->ilen - s->ioff > 4 * (size_t)SCEN_MAX_LINE)
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

void serve_free_pend(struct pend *p)
{
	scen_request_release(&p->rq);
	if (p->has_asked)
		scen_request_release(&p->asked);
	free(p->err_msg);
	free(p);
}

void serve_free_done(struct server *s)
{
	struct pend *p = s->done, *next;
	for (; p; p = next) {
		next = p->next_done;
		serve_free_pend(p);
	}
	s->done = NULL;
}

void serve_push_redo(struct server *s, struct pend *p)
{
	p->next_done = s->redo;
	s->redo = p;
}

/*
 * Takes back what a turn answered when the turn cannot be recorded: its
 * lines are dropped (none was written: answers go out after the record)
 * and its requests wait to be answered again. The turn's effects on
 * memory are not undone here: see enter_degraded in serve.c.
 */
void serve_retract(struct server *s, const struct scen_serve_stats *st0)
{
	long lines = s->st->lines;
	*s->st = *st0;
	s->st->lines = lines;
	sb_reset(&s->out);
	struct pend *p = s->done, *next;
	for (; p; p = next) {
		next = p->next_done;
		serve_drop_answer(s, p->seq);
		serve_push_redo(s, p);
	}
	s->done = NULL;
}

static int by_seq(const void *a, const void *b)
{
	const struct pend *x = *(const struct pend *const *)a;
	const struct pend *y = *(const struct pend *const *)b;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* p as it was read: the state of its walk forgotten. */
static void reset_walk(struct pend *p)
{
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
}

/* Answers the requests of s->redo again, in input order, from the start
 * of their walk. */
void serve_redo_all(struct server *s)
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
		reset_walk(p);
		switch (p->kind) {
		case PEND_BAD:
			serve_answer_error(s, p, p->err_code, p->err_msg);
			break;
		case PEND_STATUS:
			op_status(s, p);
			break;
		case PEND_CANCEL:
			op_cancel(s, p);
			break;
		case PEND_GET:
			serve_advance(s, p);
			break;
		}
	}
	free(v);
}
