/* engine.h — the generation queue: durable jobs, each made into provider
 * calls through the quota, retried, validated and stored once. Used by
 * scen-serve-stdin, scen-gen and scen-pool-fill alike. */
#ifndef SCEN_ENGINE_H
#define SCEN_ENGINE_H

#include <stdint.h>

#include "scen/config.h"
#include "scen/db.h"
#include "scen/index.h"
#include "scen/provider.h"
#include "scen/quota.h"
#include "scen/request.h"

enum scen_job_state {
	SCEN_JOB_QUEUED,
	SCEN_JOB_RUNNING,
	SCEN_JOB_DONE,
	SCEN_JOB_FAILED,
	SCEN_JOB_CANCELLED,
};
const char *scen_job_state_name(enum scen_job_state s);

struct scen_job {
	int64_t rowid;		/* 0 when the jobs table could not be written */
	char jid[24];
	struct scen_request rq;	/* owned copy */
	const char *origin;	/* "fresh" or "pool" */
	enum scen_job_state state;
	int attempts;		/* calls made */
	int rate_limited;	/* 429s met */
	double not_before;	/* no call before (virtual time) */
	int quota_wait;		/* not_before is the quota's: a call's end
				 * may bring it forward */
	double give_up_at;	/* fail when no budget before this */
	double queued_mono, started_mono;
	int acct;		/* account of the current or last call */
	int64_t call;
	uint64_t tried;		/* accounts that failed it (bit mask) */
	struct scen_call *http;
	int launch;		/* reserved: start after commit */
	int64_t scenario;	/* when done */
	char sid[24];
	const char *error;	/* when failed: a stable word */
	double retry_at;	/* when failed: earliest recovery */
	int foreign;		/* another process's job (its claim on the
				 * key): no call is made here, its row is
				 * polled until it ends */
	void *waiters;		/* the caller's */
	struct scen_job *prev, *next;	/* the active list, oldest first */
	struct scen_job *key_prev;	/* an older active job, same key */
};

struct scen_engine;

struct scen_engine *scen_engine_new(const struct scen_config *cfg,
				    struct scen_db *db, struct scen_quota *q,
				    struct scen_index *ix);
void scen_engine_free(struct scen_engine *e);

/* In a write transaction: a new queued job for rq (persisted first). */
struct scen_job *scen_engine_submit(struct scen_engine *e,
				    const struct scen_request *rq,
				    const char *origin, double now,
				    double give_up_at);
/* A queued or running job for the same exact key, or NULL. */
struct scen_job *scen_engine_inflight(struct scen_engine *e,
				      const uint8_t *key);
/*
 * In a write transaction: the open job another process (of this host or
 * another) works for rq's template version and key, of that origin, as a
 * foreign job to wait for, or NULL when there is none. A foreign job makes
 * no call: each step (at most every SCEN_ENGINE_POLL_S of real time) reads
 * its row, and it ends as its row does, with its scenario (which the
 * database's catch-up brings into the index); when its owner is gone
 * (scen_db_job_poll) this process takes it over and it goes on as its own
 * job, waiters and all. Cancelling a foreign job lets it go: its row and
 * its owner are not touched. See scen-serve-stdin(1), CONCURRENCY.
 */
struct scen_job *scen_engine_claimed(struct scen_engine *e,
				     const struct scen_request *rq,
				     const char *origin, double now,
				     double give_up_at);
#define SCEN_ENGINE_POLL_S 0.05
/* An unfinished job by public id, or NULL. */
struct scen_job *scen_engine_find(struct scen_engine *e, const char *jid);
/* In a write transaction: cancels a job (its call, if out, still ends but
 * nothing is stored). */
void scen_engine_cancel(struct scen_engine *e, struct scen_job *j,
			double now);
/* In a write transaction: adopts jobs left queued or running by a process
 * that is gone (died, or silent on another host: scen_db_jobs_adopt), so
 * they finish here. Returns how many. */
int scen_engine_adopt(struct scen_engine *e, double now);

/* Outside transactions: waits for calls or fd (see scen_http_wait). */
int scen_engine_wait(struct scen_engine *e, int fd, int timeout_ms,
		     int *fd_ready);
/* Outside transactions: takes in the calls that ended. Returns how many. */
int scen_engine_collect(struct scen_engine *e);
/* In a write transaction: settles collected calls (storing valid
 * scenarios) and reserves calls for queued jobs. Jobs that ended are then
 * returned one by one by scen_engine_finished. */
int scen_engine_step(struct scen_engine *e, double now);
struct scen_job *scen_engine_finished(struct scen_engine *e);
size_t scen_engine_finished_count(const struct scen_engine *e);
/* After commit: starts the calls reserved by the last step. */
void scen_engine_launch(struct scen_engine *e);

/* Jobs not yet ended, and calls out. */
int scen_engine_pending(const struct scen_engine *e);
int scen_engine_inflight_calls(const struct scen_engine *e);
/* Earliest virtual time a queued job may be tried, a foreign job polled,
 * or this process's heartbeat is due while it has jobs (INFINITY: none). */
double scen_engine_next_try(const struct scen_engine *e);
void scen_job_free(struct scen_job *j);
/* What an answer (HTTP status, body of n bytes, NULL: none) to the
 * request of template t says, as every call's is judged: comp is filled
 * (release it), *invalid is the validation's reason when SCEN_OUT_INVALID
 * (scen_validate). The pool fill's batch lines are judged by it too. */
enum scen_outcome scen_answer_classify(const struct scen_template *t,
				       long status, const char *body,
				       size_t n, struct scen_completion *comp,
				       const char **invalid);
/* Appends the JSON body of the chat request an online call sends for rq
 * (its prompts rendered). */
void scen_request_body(const struct scen_config *cfg,
		       const struct scen_request *rq, struct strbuf *sb);
/* The request a stored job was made for, checked against cfg; -1 when its
 * template is gone or its version changed. */
int scen_job_row_request(const struct scen_config *cfg,
			 const struct scen_job_row *r, struct scen_request *rq);

#endif
