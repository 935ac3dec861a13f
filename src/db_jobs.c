/* db_jobs.c — the jobs table (db.h): the durable generation queue, each
 * job owned by the process that works it and adopted from one that
 * died. */
#include "scen/db_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int scen_db_job_insert(struct scen_db *db, const struct scen_request *rq,
		       const char *origin, double now, int64_t *rowid,
		       char *jid, size_t jidsz)
{
	struct db_stmt *st = db_stmt(db, ST_JOB_INSERT);
	if (!st)
		return -1;
	snprintf(jid, jidsz, "j-%016llx", (unsigned long long)scen_random64());
	db_bind_text(st, 1, jid, -1);
	db_bind_text_or_null(st, 2, rq->session);
	db_bind_text_or_null(st, 3, rq->id);
	db_bind_request(db, st, 4, rq);
	db_bind_text(st, 10, origin, -1);
	db_bind_double(st, 11, now);
	db_bind_int64(st, 12, (int64_t)getpid());
	db_bind_text(st, 13, scen_host_id(), -1);
	if ((*rowid = db_insert_id(db, st)) < 0)
		return -1;
	return 0;
}

int scen_db_job_update(struct scen_db *db, int64_t rowid, const char *state,
		       double now, const char *account, int attempts,
		       const char *error, int64_t scenario)
{
	struct db_stmt *st = db_stmt(db, ST_JOB_UPDATE);
	if (!st)
		return -1;
	db_bind_int64(st, 1, rowid);
	db_bind_text(st, 2, state, -1);
	db_bind_double(st, 3, now);
	db_bind_text_or_null(st, 4, account);
	db_bind_int64(st, 5, attempts);
	db_bind_text_or_null(st, 6, error);
	db_bind_int64_if(st, 7, scenario != 0, scenario);
	return db_run(db, st);
}

static char *col_dup(struct db_stmt *st, int i)
{
	const char *s = db_column_text(st, i);
	return s ? xstrdup(s) : NULL;
}

static void job_row(struct db_stmt *st, struct scen_job_row *r)
{
	memset(r, 0, sizeof *r);
	r->rowid = db_column_int64(st, 0);
	snprintf(r->jid, sizeof r->jid, "%s", db_column_text(st, 1));
	snprintf(r->state, sizeof r->state, "%s", db_column_text(st, 2));
	r->session = col_dup(st, 3);
	r->request_id = col_dup(st, 4);
	r->experiment = col_dup(st, 5);
	r->template_name = col_dup(st, 6);
	r->version = col_dup(st, 7);
	r->factors = col_dup(st, 8);
	r->has_position = db_column_type(st, 9) != DB_NULL;
	r->position = (long)db_column_int64(st, 9);
	snprintf(r->origin, sizeof r->origin, "%s",
		 db_column_text(st, 10));
	r->scenario = db_column_int64(st, 11);
	r->error = col_dup(st, 12);
	r->created_at = db_column_double(st, 13);
	r->owner_pid = (long)db_column_int64(st, 14);
}

void scen_job_row_release(struct scen_job_row *r)
{
	free(r->session);
	free(r->request_id);
	free(r->experiment);
	free(r->template_name);
	free(r->version);
	free(r->factors);
	free(r->error);
	memset(r, 0, sizeof *r);
}

int scen_db_job_get(struct scen_db *db, const char *jid,
		    struct scen_job_row *out)
{
	struct db_stmt *st = db_stmt(db, ST_JOB_GET);
	if (!st)
		return -1;
	db_bind_text(st, 1, jid, -1);
	int r = db_step(st);
	if (r == DB_ROW)
		job_row(st, out);
	db_reset(st);
	if (r != DB_ROW && r != DB_DONE)
		return db_fail(db, "reading a job");
	return r == DB_ROW;
}

/* Whether the owner of an open job is gone (db.h): its host, pid and last
 * heartbeat (NULL when none) are columns col, col + 1 and col + 2 of st's
 * row. */
static int owner_gone(struct db_stmt *st, int col, double stale_before)
{
	const char *host = db_column_text(st, col);
	long pid = (long)db_column_int64(st, col + 1);
	int here = !host || !strcmp(host, scen_host_id());
	if (here && pid == (long)getpid())
		return 0;
	if (here && pid > 0 && kill((pid_t)pid, 0) < 0 && errno != EPERM)
		return 1;	/* it died */
	if (!host)
		return pid <= 0;	/* schema 3's: by its pid alone */
	return db_column_type(st, col + 2) == DB_NULL ||
	       db_column_double(st, col + 2) < stale_before;
}

int scen_db_job_take(struct scen_db *db, int64_t rowid)
{
	struct db_stmt *own = db_stmt(db, ST_JOB_OWN);
	if (!own)
		return -1;
	db_bind_int64(own, 1, rowid);
	db_bind_int64(own, 2, (int64_t)getpid());
	db_bind_text(own, 3, scen_host_id(), -1);
	return db_run(db, own);
}

int scen_db_jobs_adopt(struct scen_db *db, double stale_before,
		       void (*fn)(void *ctx, const struct scen_job_row *),
		       void *ctx)
{
	struct db_stmt *st = db_stmt(db, ST_JOBS_OPEN);
	if (!st)
		return -1;
	struct scen_job_row *rows = NULL;
	size_t n = 0, cap = 0;
	int r;
	while ((r = db_step(st)) == DB_ROW) {
		if (!owner_gone(st, 15, stale_before))
			continue;	/* its owner is alive and at it */
		XGROW(rows, n + 1, cap);
		job_row(st, &rows[n++]);
	}
	db_reset(st);
	int rc = r == DB_DONE ? 0 : db_fail(db, "reading open jobs");
	for (size_t i = 0; i < n; i++) {
		if (!rc) {
			rc = scen_db_job_take(db, rows[i].rowid);
			if (!rc)
				fn(ctx, &rows[i]);
		}
		scen_job_row_release(&rows[i]);
	}
	free(rows);
	return rc;
}

int scen_db_job_claimed(struct scen_db *db, const struct scen_request *rq,
			const char *origin, int64_t *rowid, char *jid,
			size_t jidsz)
{
	struct db_stmt *st = db_stmt(db, ST_JOB_CLAIMED);
	if (!st)
		return -1;
	db_bind_text(st, 1, rq->tpl->version_hex, -1);
	db_bind_blob(st, 2, rq->key, 16);
	db_bind_text(st, 3, origin, -1);
	db_bind_int64(st, 4, (int64_t)getpid());
	db_bind_text(st, 5, scen_host_id(), -1);
	int r = db_step(st);
	if (r == DB_ROW) {
		*rowid = db_column_int64(st, 0);
		snprintf(jid, jidsz, "%s", db_column_text(st, 1));
	}
	db_reset(st);
	if (r != DB_ROW && r != DB_DONE)
		return db_fail(db, "looking for a job of the same request");
	return r == DB_ROW;
}

int scen_db_job_poll(struct scen_db *db, int64_t rowid, double stale_before,
		     struct scen_job_poll *out)
{
	struct db_stmt *st = db_stmt(db, ST_JOB_POLL);
	if (!st)
		return -1;
	db_bind_int64(st, 1, rowid);
	int r = db_step(st);
	if (r == DB_ROW) {
		snprintf(out->state, sizeof out->state, "%s",
			 db_column_text(st, 0));
		out->scenario = db_column_int64(st, 1);
		out->owner_gone = (!strcmp(out->state, "queued") ||
				   !strcmp(out->state, "running")) &&
				  owner_gone(st, 2, stale_before);
	}
	db_reset(st);
	if (r != DB_ROW && r != DB_DONE)
		return db_fail(db, "reading a job of another process");
	return r == DB_ROW;
}

int scen_db_owner_beat(struct scen_db *db, double now, int prune)
{
	struct db_stmt *st = db_stmt(db, ST_OWNER_BEAT);
	if (!st)
		return -1;
	db_bind_text(st, 1, scen_host_id(), -1);
	db_bind_int64(st, 2, (int64_t)getpid());
	db_bind_double(st, 3, now);
	if (db_run(db, st) < 0)
		return -1;
	if (!prune)
		return 0;
	struct db_stmt *pr = db_stmt(db, ST_OWNERS_PRUNE);
	if (!pr)
		return -1;
	db_bind_double(pr, 1, now - 86400);
	return db_run(db, pr);
}
