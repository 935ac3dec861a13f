/* store_pg_conn.c — the PostgreSQL backend's exchange with the server
 * (store_pg_int.h): the last error, one line and without the password;
 * results judged and noted as trouble; the pipeline of queued statements
 * sent and its results read; SQL text run. */
#include "scen/store_pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sets the last error to s (a libpq message): one line, no trailing
 * newline, the password (should a message ever echo the URI) masked. */
void pg_set_msg(struct pg_conn *pc, const char *s)
{
	struct strbuf *m = &pc->msg;
	sb_reset(m);
	for (const char *c = s ? s : "unknown error"; *c; c++) {
		size_t pl = pc->password ? strlen(pc->password) : 0;
		if (pl && !strncmp(c, pc->password, pl)) {
			sb_adds(m, "***");
			c += pl - 1;
		} else if (*c == '\n' || *c == '\t') {
			if (m->len && m->buf[m->len - 1] != ' ')
				sb_addc(m, ' ');
		} else {
			sb_addc(m, *c);
		}
	}
	while (m->len && m->buf[m->len - 1] == ' ')
		m->buf[--m->len] = '\0';
}

/* Notes why a statement failed (db_int.h: the first trouble since begin
 * counts) and keeps its message; res may be NULL. */
void pg_note_failure(struct scen_db *db, const PGresult *res)
{
	struct pg_conn *pc = conn_of(db);
	const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
			    : NULL;
	pg_set_msg(pc, m ? m : PQerrorMessage(pc->c));
	if (db->trouble)
		return;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
				: NULL;
	/* libpq's own error (no SQLSTATE: "server closed the connection
	 * unexpectedly" when a write met the dead socket) or the server's
	 * shutdown (57P..) may leave the status OK until the next read:
	 * read now, so that a lost connection is known as lost */
	if (PQstatus(pc->c) == CONNECTION_OK &&
	    (!state || !strncmp(state, "57P", 3) || !strncmp(state, "08", 2)))
		PQconsumeInput(pc->c);
	if (PQstatus(pc->c) == CONNECTION_BAD)
		db->trouble = SCEN_DB_UNREACHABLE;
	else if (state && !strcmp(state, "53100"))
		db->trouble = SCEN_DB_FULL;
	else if (state && !strcmp(state, "25006"))
		db->trouble = SCEN_DB_READ_ONLY;
}

/* Whether res is a success (else notes why, and clears it). */
int pg_res_ok(struct scen_db *db, PGresult **res)
{
	ExecStatusType s = *res ? PQresultStatus(*res) : PGRES_FATAL_ERROR;
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ||
	    s == PGRES_EMPTY_QUERY)
		return 1;
	pg_note_failure(db, *res);
	PQclear(*res);
	*res = NULL;
	return 0;
}

/* Reads what the queued statements answered, up to the pipeline's sync,
 * keeping the last one's result in *last when last is not NULL: 0, or -1
 * when one failed (the first failure noted, errmsg naming it when it is
 * not the last) or the connection broke. */
static int pg_drain(struct scen_db *db, PGresult **last)
{
	struct pg_conn *pc = conn_of(db);
	size_t k = 0;
	int rc = 0, nulls = 0;
	for (;;) {
		PGresult *res = PQgetResult(pc->c);
		if (!res) {
			/* one NULL ends each statement's results; two: nothing
			 * more will come (the connection is lost) */
			if (++nulls > 1 || PQstatus(pc->c) == CONNECTION_BAD)
				break;
			continue;
		}
		nulls = 0;
		ExecStatusType s = PQresultStatus(res);
		if (s == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			return rc;
		}
		int keep = last && k + 1 == pc->nqueued;
		if (s != PGRES_PIPELINE_ABORTED && !pg_res_ok(db, &res) && !rc) {
			if (!keep)
				sb_addf(&pc->msg, " (in \"%.60s\", run before)",
					k < pc->nqueued ? pc->queued[k] : "?");
			rc = -1;
		}
		k++;
		if (keep && res && !rc)
			*last = res;
		else
			PQclear(res);
	}
	if (!rc)
		pg_note_failure(db, NULL);
	return -1;
}

/* Sends the statements queued (pg_run, and a step after them) and reads
 * their results, leaving pipeline mode; the last one's result in *last
 * when last is not NULL. 0, or -1 (noted) when one failed or the
 * connection did. Every synchronous call first settles. */
int pg_settle_keep(struct scen_db *db, PGresult **last)
{
	struct pg_conn *pc = conn_of(db);
	if (PQpipelineStatus(pc->c) == PQ_PIPELINE_OFF)
		return 0;
	int rc = -1;
	if (PQpipelineSync(pc->c) == 1)
		rc = pg_drain(db, last);
	else
		pg_note_failure(db, NULL);
	pc->nqueued = 0;
	if (!PQexitPipelineMode(pc->c) && !rc) {
		pg_note_failure(db, NULL);
		rc = -1;
	}
	return rc;
}

int pg_settle(struct scen_db *db)
{
	return pg_settle_keep(db, NULL);
}

/* Runs sql (no parameters, maybe several statements): the last result,
 * or NULL (noted). */
PGresult *pg_run_sql(struct scen_db *db, const char *sql)
{
	if (pg_settle(db) < 0)
		return NULL;
	PGresult *res = PQexec(conn_of(db)->c, sql);
	return pg_res_ok(db, &res) ? res : NULL;
}

int pg_exec(struct scen_db *db, const char *sql)
{
	PGresult *res = pg_run_sql(db, sql);
	PQclear(res);
	return res ? 0 : -1;
}

const char *pg_errmsg(struct scen_db *db)
{
	struct pg_conn *pc = conn_of(db);
	if (!pc->msg.len)
		pg_set_msg(pc, PQerrorMessage(pc->c));
	return pc->msg.buf;
}
