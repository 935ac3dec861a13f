/* db_batch.h — the rows of scen-pool-fill's batches (scen-pool-fill(1),
 * BATCHES): a batch and its lines are recorded before anything is sent,
 * each step at the provider is recorded as it happens, and each line is
 * settled once, in the transaction that stores its scenario. The writes
 * are made inside write transactions (scen_db_begin). */
#ifndef SCEN_DB_BATCH_H
#define SCEN_DB_BATCH_H

#include <stdint.h>

#include "scen/db.h"
#include "scen/request.h"

/* A batch's local id: "bt-" and 16 hex digits; what its metadata
 * "scen_batch" carries and its lines' custom_ids begin with. */
#define SCEN_BATCH_BID_SIZE 20

/* A batch not yet ended, as recorded. Strings are "" when NULL. */
struct scen_batch_row {
	int64_t rowid;
	char bid[SCEN_BATCH_BID_SIZE];
	char account[64];
	char state[12];		/* planned, uploaded, submitted */
	char file_id[128], batch_id[128], status[24];
	long lines;
	double window_s, created_at, submitted_at;
};

/* Records a new batch (state planned) for account, of lines lines; sets
 * *rowid. 0 or -1 (reported). */
int scen_db_batch_insert(struct scen_db *db, const char *bid,
			 const char *account, long lines, double window_s,
			 double now, int64_t *rowid);
/* Records one line of batch: the entry rq, its attempt (1, 2, ...), and
 * the line it plans again (0: none). */
int scen_db_batch_line_insert(struct scen_db *db, int64_t batch,
			      const char *custom_id,
			      const struct scen_request *rq, int attempt,
			      int64_t retry_of);
/* A line that did not make an entry has been planned again. */
int scen_db_batch_line_retried(struct scen_db *db, int64_t line);
/* Moves a batch on: state, and the provider's file id, batch id, status
 * and error where not NULL (else kept); now is when it was looked at
 * (and, with a first batch id, when it was submitted; with state ended,
 * when it ended). */
int scen_db_batch_update(struct scen_db *db, int64_t rowid,
			 const char *state, const char *file_id,
			 const char *batch_id, const char *status,
			 const char *error, double now);
/* Calls fn for each batch not ended, oldest first. 0 or -1. */
int scen_db_batches_open(struct scen_db *db,
			 void (*fn)(void *ctx, const struct scen_batch_row *b),
			 void *ctx);

/* A line, as the collection of its batch needs it. */
struct scen_batch_line_row {
	int64_t rowid, batch;
	char state[12];		/* pending, done, rejected, failed, expired */
	int attempt;
	struct scen_job_row req;	/* experiment, template, version,
					 * factors, position (for
					 * scen_job_row_request); release
					 * with scen_job_row_release */
};
/* The line of that custom_id: 1 found, 0 none, -1 error. */
int scen_db_batch_line_get(struct scen_db *db, const char *custom_id,
			   struct scen_batch_line_row *out);
/* Settles a pending line: state done (with its scenario), rejected,
 * failed or expired, with error (NULL for done). */
int scen_db_batch_line_settle(struct scen_db *db, int64_t line,
			      const char *state, const char *error,
			      int64_t scenario, double now);
/* Settles every line of batch still pending as state, with error; with
 * superseded, as lines never to be planned again (nothing was sent: the
 * plan of a later run covers them), and the lines they were to plan again
 * are to be planned again as they were (their attempts kept). */
int scen_db_batch_lines_settle_rest(struct scen_db *db, int64_t batch,
				    const char *state, const char *error,
				    int superseded, double now);
/* Calls fn with each line of batch, in order: its custom_id and its
 * request's columns (req: experiment, template, version, factors,
 * position; borrowed for the call). 0 or -1. */
int scen_db_batch_lines(struct scen_db *db, int64_t batch,
			void (*fn)(void *ctx, const char *custom_id,
				   const struct scen_job_row *req),
			void *ctx);

/* A key the provider refused batches is asked again after this many
 * days (a plan may change). */
#define SCEN_BATCH_REFUSAL_DAYS 7

/* The provider's verdict on an account's key for batches. */
struct scen_batch_key {
	char key_fp[20];	/* scen_quota_key_fp */
	char verdict[12];	/* accepted, refused */
	char detail[256];	/* why refused: the provider's words */
	double at;
};
/* 1 found, 0 none, -1 error. */
int scen_db_batch_key_get(struct scen_db *db, const char *account,
			  struct scen_batch_key *out);
int scen_db_batch_key_put(struct scen_db *db, const char *account,
			  const struct scen_batch_key *k);

#endif
