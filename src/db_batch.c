/* db_batch.c — the rows of scen-pool-fill's batches and their lines, and
 * the keys' verdicts on batches (db_batch.h). */
#include "scen/db_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen/db_int.h"

int scen_db_batch_insert(struct scen_db *db, const char *bid,
			 const char *account, long lines, double window_s,
			 double now, int64_t *rowid)
{
	struct db_stmt *st = db_stmt(db, BS_INSERT);
	if (!st)
		return -1;
	db_bind_text(st, 1, bid, -1);
	db_bind_text(st, 2, account, -1);
	db_bind_int64(st, 3, lines);
	db_bind_double(st, 4, window_s);
	db_bind_double(st, 5, now);
	*rowid = db_insert_id(db, st);
	return *rowid < 0 ? -1 : 0;
}

int scen_db_batch_line_insert(struct scen_db *db, int64_t batch,
			      const char *custom_id,
			      const struct scen_request *rq, int attempt,
			      int64_t retry_of)
{
	struct db_stmt *st = db_stmt(db, BS_LINE_INSERT);
	if (!st)
		return -1;
	db_bind_int64(st, 1, batch);
	db_bind_text(st, 2, custom_id, -1);
	db_bind_request(db, st, 3, rq);
	db_bind_int64(st, 9, attempt);
	db_bind_int64_if(st, 10, retry_of != 0, retry_of);
	return db_run(db, st);
}

int scen_db_batch_line_retried(struct scen_db *db, int64_t line)
{
	struct db_stmt *st = db_stmt(db, BS_LINE_RETRIED);
	if (!st)
		return -1;
	db_bind_int64(st, 1, line);
	return db_run(db, st);
}

int scen_db_batch_update(struct scen_db *db, int64_t rowid,
			 const char *state, const char *file_id,
			 const char *batch_id, const char *status,
			 const char *error, double now)
{
	struct db_stmt *st = db_stmt(db, BS_UPDATE);
	if (!st)
		return -1;
	db_bind_int64(st, 1, rowid);
	db_bind_text(st, 2, state, -1);
	db_bind_text_or_null(st, 3, file_id);
	db_bind_text_or_null(st, 4, batch_id);
	db_bind_text_or_null(st, 5, status);
	db_bind_text_or_null(st, 6, error);
	db_bind_double(st, 7, now);
	return db_run(db, st);
}

/* Column i into buf (n bytes, "" when NULL). */
static void col_str(struct db_stmt *st, int i, char *buf, size_t n)
{
	const char *s = db_column_text(st, i);
	snprintf(buf, n, "%s", s ? s : "");
}

/* The request columns of a line, from column first on (experiment,
 * template, version, factors, position), borrowed from st's row. */
static void line_request(struct db_stmt *st, int first,
			 struct scen_job_row *q)
{
	q->experiment = (char *)db_column_text(st, first);
	q->template_name = (char *)db_column_text(st, first + 1);
	q->version = (char *)db_column_text(st, first + 2);
	q->factors = (char *)db_column_text(st, first + 3);
	q->has_position = db_column_type(st, first + 4) != DB_NULL;
	q->position = (long)db_column_int64(st, first + 4);
}

/* Ends a row loop: resets st and reports a failed step. */
static int done(struct scen_db *db, struct db_stmt *st, int r)
{
	db_reset(st);
	return r == DB_DONE ? 0 : db_fail(db, st->sql);
}

int scen_db_batches_open(struct scen_db *db,
			 void (*fn)(void *ctx, const struct scen_batch_row *b),
			 void *ctx)
{
	struct db_stmt *st = db_stmt(db, BS_OPEN);
	if (!st)
		return -1;
	int r;
	while ((r = db_step(st)) == DB_ROW) {
		struct scen_batch_row b;
		memset(&b, 0, sizeof b);
		b.rowid = db_column_int64(st, 0);
		col_str(st, 1, b.bid, sizeof b.bid);
		col_str(st, 2, b.account, sizeof b.account);
		col_str(st, 3, b.state, sizeof b.state);
		col_str(st, 4, b.file_id, sizeof b.file_id);
		col_str(st, 5, b.batch_id, sizeof b.batch_id);
		col_str(st, 6, b.status, sizeof b.status);
		b.lines = (long)db_column_int64(st, 7);
		b.window_s = db_column_double(st, 8);
		b.created_at = db_column_double(st, 9);
		b.submitted_at = db_column_double(st, 10);
		fn(ctx, &b);
	}
	return done(db, st, r);
}

int scen_db_batch_line_get(struct scen_db *db, const char *custom_id,
			   struct scen_batch_line_row *out)
{
	struct db_stmt *st = db_stmt(db, BS_LINE_GET);
	if (!st)
		return -1;
	memset(out, 0, sizeof *out);
	db_bind_text(st, 1, custom_id, -1);
	int r = db_step(st);
	if (r == DB_ROW) {
		out->rowid = db_column_int64(st, 0);
		out->batch = db_column_int64(st, 1);
		col_str(st, 2, out->state, sizeof out->state);
		out->attempt = (int)db_column_int64(st, 3);
		struct scen_job_row *q = &out->req;
		q->rowid = out->rowid;
		line_request(st, 4, q);
		q->experiment = xstrdup(q->experiment);
		q->template_name = xstrdup(q->template_name);
		q->version = xstrdup(q->version);
		q->factors = xstrdup(q->factors);
		db_reset(st);
		return 1;
	}
	return done(db, st, r) < 0 ? -1 : 0;
}

int scen_db_batch_line_settle(struct scen_db *db, int64_t line,
			      const char *state, const char *error,
			      int64_t scenario, double now)
{
	struct db_stmt *st = db_stmt(db, BS_LINE_SETTLE);
	if (!st)
		return -1;
	db_bind_int64(st, 1, line);
	db_bind_text(st, 2, state, -1);
	db_bind_text_or_null(st, 3, error);
	db_bind_int64_if(st, 4, scenario != 0, scenario);
	db_bind_double(st, 5, now);
	return db_run(db, st);
}

int scen_db_batch_lines_settle_rest(struct scen_db *db, int64_t batch,
				    const char *state, const char *error,
				    int superseded, double now)
{
	if (superseded) {
		struct db_stmt *u = db_stmt(db, BS_UNRETRY);
		if (!u)
			return -1;
		db_bind_int64(u, 1, batch);
		if (db_run(db, u) < 0)
			return -1;
	}
	struct db_stmt *st = db_stmt(db, BS_LINES_REST);
	if (!st)
		return -1;
	db_bind_int64(st, 1, batch);
	db_bind_text(st, 2, state, -1);
	db_bind_text_or_null(st, 3, error);
	db_bind_double(st, 4, now);
	db_bind_int64(st, 5, superseded != 0);
	return db_run(db, st);
}

int scen_db_batch_lines(struct scen_db *db, int64_t batch,
			void (*fn)(void *ctx, const char *custom_id,
				   const struct scen_job_row *req),
			void *ctx)
{
	struct db_stmt *st = db_stmt(db, BS_LINES_OF);
	if (!st)
		return -1;
	db_bind_int64(st, 1, batch);
	int r;
	while ((r = db_step(st)) == DB_ROW) {
		struct scen_job_row q;
		memset(&q, 0, sizeof q);
		q.rowid = db_column_int64(st, 0);
		line_request(st, 2, &q);
		fn(ctx, db_column_text(st, 1), &q);
	}
	return done(db, st, r);
}

int scen_db_batch_key_get(struct scen_db *db, const char *account,
			  struct scen_batch_key *out)
{
	struct db_stmt *st = db_stmt(db, BS_KEY_GET);
	if (!st)
		return -1;
	memset(out, 0, sizeof *out);
	db_bind_text(st, 1, account, -1);
	int r = db_step(st);
	if (r == DB_ROW) {
		col_str(st, 0, out->key_fp, sizeof out->key_fp);
		col_str(st, 1, out->verdict, sizeof out->verdict);
		col_str(st, 2, out->detail, sizeof out->detail);
		out->at = db_column_double(st, 3);
		db_reset(st);
		return 1;
	}
	return done(db, st, r) < 0 ? -1 : 0;
}

int scen_db_batch_key_put(struct scen_db *db, const char *account,
			  const struct scen_batch_key *k)
{
	struct db_stmt *st = db_stmt(db, BS_KEY_PUT);
	if (!st)
		return -1;
	db_bind_text(st, 1, account, -1);
	db_bind_text(st, 2, k->key_fp, -1);
	db_bind_text(st, 3, k->verdict, -1);
	db_bind_text_or_null(st, 4, k->detail[0] ? k->detail : NULL);
	db_bind_double(st, 5, k->at);
	return db_run(db, st);
}
