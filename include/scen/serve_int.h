/* serve_int.h — what the four files of the serving filter share: the
 * server, a request pending its answer, and what each file offers the
 * others. Only src/serve*.c include it; it is no part of the library's
 * interface (its names carry serve_, not scen_). */
#ifndef SCEN_SERVE_INT_H
#define SCEN_SERVE_INT_H

#include <stdint.h>

#include "scen/engine.h"
#include "scen/error.h"
#include "scen/index.h"
#include "scen/quota.h"
#include "scen/request.h"
#include "scen/rowcache.h"
#include "scen/serve.h"
#include "scen/spool.h"
#include "scen/util.h"

#define SERVE_VARIETY_WINDOW 200	/* answers in the rolling hit rate */

enum pend_kind {
	PEND_GET,
	PEND_STATUS,
	PEND_CANCEL,
	PEND_BAD,		/* a bad line: its error is known */
};

/*
 * A request between reading and its final answer, and until the answer is
 * recorded: a turn that cannot be recorded answers it again from the start
 * of its walk (serve_redo_all), so everything below the kind is state of
 * the walk, reset then. At any time a pend is in exactly one place: being
 * walked, waiting for a job (waiting list and the job's waiters), or
 * answered (s->done, freed after the commit; or s->redo).
 */
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
	size_t tier_pos;	/* in s->tiers */
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

/*
 * One run of scen_serve. Everything a turn changes in memory is either
 * undone by answering again (the pends, the output) or rebuilt from the
 * database (the index: see enter_degraded in serve.c).
 */
struct server {
	const struct scen_config *cfg;
	const struct scen_serve_opts *o;
	struct scen_serve_stats *st;
	struct scen_db *db;
	struct scen_index *ix;
	struct scen_quota *q;
	struct scen_engine *e;	/* NULL once serving from memory */
	double now;
	/* input */
	char *ibuf;		/* unread input: ibuf[ioff..ilen) */
	size_t ioff, ilen, icap;
	int eof, skipping;
	long lineno;
	uint64_t seq;
	/* output: answers of the turn, written after its commit; in ordered
	 * mode final answers wait in their slot for those read before */
	struct strbuf out;
	struct out_slot *slots;
	size_t nslots, capslots;
	uint64_t slot_base;
	struct strbuf line;	/* the answer being written */
	/* the tiers walked: the config's fallback, or fresh alone (scen-gen) */
	enum scen_tier tiers[SCEN_TIER_COUNT];
	size_t ntiers;
	/* requests waiting for a job */
	struct pend *waiting;
	long nwaiting;
	/* variety: the last answers, 1 for a hit */
	uint8_t window[SERVE_VARIETY_WINDOW];
	int wpos, wcount, whits;
	/* the turn cannot be committed: its transaction is abandoned */
	enum scen_err failed;
	struct scen_error err;	/* what ended the run */
	/* requests answered this turn (freed once recorded), and those to
	 * answer again (a turn that could not be recorded) */
	struct pend *done, *redo;
	/* lines taken this turn, parsed, to start once their sessions are
	 * read (serve_take_lines), and those sessions */
	struct pend **taken;
	size_t ntaken, captaken;
	const char **load_names;
	struct scen_session **load_ss;
	size_t capload;
	/* scenarios that could not be read back sound: never served */
	struct scen_session bad, excl;
	/* when the database cannot be written (see enter_degraded) */
	struct scen_spool *sp;
	enum scen_db_trouble degraded;
	double recover_at, recover_wait;	/* try_recover, monotonic s */
	int need_rebuild;
	int norecord;		/* this turn records nothing: no servings */
	int unrecorded;		/* some turn could record nothing */
	int warned_catch_up;
	struct strbuf factors;
	/* scenarios read back sound, so a hit reads nothing */
	struct scen_rowcache rows;
};

/* p has its final answer: it is freed when the turn is recorded. */
static inline void serve_finish(struct server *s, struct pend *p)
{
	p->next_done = s->done;
	s->done = p;
}

/* The turn failed while p was being answered: p goes with the turn's
 * answered requests, to be answered again if the run goes on. */
static inline void serve_park(struct server *s, struct pend *p)
{
	serve_finish(s, p);
}

/* ---- serve_protocol.c: request lines, ops, answering again ----------- */

/* Reads what standard input has now, without blocking. */
void serve_read_input(struct server *s);
/* Whether a complete line (or the end of input) waits. */
int serve_has_line(const struct server *s);
/* Answers, or starts walking, up to max lines; returns how many. */
int serve_take_lines(struct server *s, int max);
void serve_free_pend(struct pend *p);
/* Frees s->done: the turn is recorded. */
void serve_free_done(struct server *s);
void serve_push_redo(struct server *s, struct pend *p);
/* Takes back what the turn answered (nothing of it was written) and
 * keeps its requests in s->redo; the stats go back to st0. */
void serve_retract(struct server *s, const struct scen_serve_stats *st0);
/* Answers s->redo again, in input order. */
void serve_redo_all(struct server *s);

/* ---- serve_tiers.c: the fallback walk, variety, servings ------------- */

/* Walks p through the tiers from p->tier_pos until it is answered or
 * waits for a job. */
void serve_advance(struct server *s, struct pend *p);
/*
 * Answers p with stored scenario rowid; records the serving unless this
 * is a repeated delivery of one already recorded (record = 0). Returns 0
 * when p is answered, -1 when the turn failed, and 1 when the scenario
 * cannot be read back sound: it is set aside and p is not answered.
 */
int serve_scenario(struct server *s, struct pend *p, enum scen_tier tier,
		   int64_t rowid, double sim, int record);
/* The session's record, loaded once; NULL without a session. */
struct scen_session *serve_session_of(struct server *s, struct pend *p);
/* Takes p off the waiting list and its job's waiters. */
void serve_unwait(struct server *s, struct pend *p);
/* A job ended: answers or moves on each request that waited for it. */
void serve_job_ended(struct server *s, struct scen_job *j);
/* Sends requests whose deadline passed on to the next tier. */
void serve_expire_deadlines(struct server *s);

/* Whether the scenarios the session was served are known (serving from
 * memory, a session whose record cannot be read is served nothing
 * stored). */
static inline int serve_history_known(const struct scen_session *ss)
{
	return !ss || ss->loaded;
}

/* ---- serve_output.c: answer lines, and writing them after the commit - */

/* Ordered mode: keeps a slot for a request read now. */
void serve_reserve_slot(struct server *s, uint64_t seq);
/* Drops the answer kept for seq (a turn taken back). */
void serve_drop_answer(struct server *s, uint64_t seq);
/* The answers below finish p (serve_finish). */
void serve_answer_ok(struct server *s, struct pend *p, enum scen_tier tier,
		     double sim, const struct scen_cached *c, int counted);
void serve_answer_error(struct server *s, struct pend *p, const char *code,
			const char *msg);
/* Counted as unavailable; retry after secs. */
void serve_answer_unavailable(struct server *s, struct pend *p, long secs);
/* A failed job asked about: unavailable, not counted. */
void serve_answer_job_failed(struct server *s, struct pend *p,
			     const char *jid);
/* status ("generating", "ok") with the job and its state. */
void serve_answer_job(struct server *s, struct pend *p, const char *status,
		      const char *jid, const char *state);
/* Async mode: the immediate "generating" line (not a final answer). */
void serve_tell_generating(struct server *s, struct pend *p,
			   const char *jid);
/* Writes what the turn's commit covers. A failure fills s->err and
 * returns SCEN_ERR_IO. */
enum scen_err serve_write_out(struct server *s);

#endif
