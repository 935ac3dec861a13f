/* store_pg.c — the PostgreSQL backend of the storage layer (db_int.h:
 * struct db_backend) over libpq: a database named by a libpq URI, shared
 * by the hosts of a study. This file holds the connection's life (the
 * open and the schema, transactions, reconnecting, the pool fill's lock)
 * and the backend; store_pg_conn.c the exchange with the server,
 * store_pg_stmt.c the statements. They are the only files that include
 * libpq-fe.h (through store_pg_int.h). */
#include "scen/store_pg_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double monotonic(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The password in a URI (malloc'd, as written), or NULL: the userinfo's
 * after its ':', or a password= parameter. */
static char *uri_password(const char *uri)
{
	const char *a = strstr(uri, "://");
	if (!a)
		return NULL;
	a += 3;
	size_t alen = strcspn(a, "/?#");
	const char *at = memchr(a, '@', alen);
	const char *colon = at ? memchr(a, ':', (size_t)(at - a)) : NULL;
	if (colon && at > colon + 1)
		return xstrndup(colon + 1, (size_t)(at - colon - 1));
	const char *q = strstr(uri, "password=");
	if (q && (q[-1] == '?' || q[-1] == '&') && q[9] && q[9] != '&')
		return xstrndup(q + 9, strcspn(q + 9, "&#"));
	return NULL;
}

/* Connection */

/* Reconnects (PQreset); on success every prepared statement is gone with
 * the old session, and so is the pool fill's lock: taken again. */
/* What scen reads must not hang on the server's or the role's settings:
 * bytea as hex (keys), doubles exact (times). */
static int session_settings(struct scen_db *db)
{
	return pg_exec(db, "SET bytea_output = 'hex';"
		       " SET extra_float_digits = 3");
}

static int reconnect(struct scen_db *db)
{
	struct pg_conn *pc = conn_of(db);
	PQreset(pc->c);
	if (PQstatus(pc->c) != CONNECTION_OK) {
		pg_set_msg(pc, PQerrorMessage(pc->c));
		return -1;
	}
	if (session_settings(db) < 0)
		return -1;
	for (struct pg_stmt *st = pc->stmts; st; st = st->next) {
		pg_clear_result(st);
		st->prepared = 0;
	}
	pc->nqueued = 0;	/* the reset left pipeline mode */
	pc->backoff = PG_RETRY_FIRST;
	pc->retry_at = 0;
	if (pc->pool_locked) {
		PGresult *res = pg_run_sql(db, PG_POOL_LOCK);
		pc->lock_lost = !res || strcmp(PQgetvalue(res, 0, 0), "t");
		PQclear(res);
	}
	return pc->lock_lost ? -1 : 0;
}

/* A lost connection, when the interval since the last try has passed:
 * one reconnect. 0 when connected, -1 at once when not (trouble noted,
 * errmsg telling the last try's error). */
static int reachable(struct scen_db *db)
{
	struct pg_conn *pc = conn_of(db);
	if (pc->lock_lost) {
		/* another run may fill now: this one stops */
		pg_set_msg(pc, "the pool fill's lock was lost with the "
			   "connection, and another run may hold it now");
		db->trouble = SCEN_DB_UNREACHABLE;
		return -1;
	}
	if (PQstatus(pc->c) == CONNECTION_OK)
		return 0;
	double now = monotonic();
	if (now >= pc->retry_at) {
		if (reconnect(db) == 0)
			return 0;
		pc->retry_at = now + pc->backoff;
		pc->backoff = pc->backoff * 2 < PG_RETRY_LAST
			? pc->backoff * 2 : PG_RETRY_LAST;
	}
	db->trouble = SCEN_DB_UNREACHABLE;
	return -1;
}

static void pg_retry_now(struct scen_db *db)
{
	conn_of(db)->retry_at = 0;
}

/* Opens the transaction how asks for. A write waits for its turn among
 * the writers and keeps its transaction id (for a commit whose answer is
 * lost); READ COMMITTED whatever the server's default, so that each
 * statement after the lock sees what the turns before committed; a
 * writer that stops answering mid-turn (a process stopped, a network
 * partition) loses its session, and the writers' lock, after a minute
 * idle (its turns last milliseconds). A read is one snapshot, not READ
 * ONLY: the export fills a temporary table. */
static int begin_once(struct scen_db *db, enum db_tx how)
{
	struct pg_conn *pc = conn_of(db);
	PGresult *res = pg_run_sql(db, how == DB_TX_READ
			    ? "BEGIN ISOLATION LEVEL REPEATABLE READ"
			    : "BEGIN ISOLATION LEVEL READ COMMITTED; "
			      "SET LOCAL idle_in_transaction_session_timeout"
			      " = '60s'; " PG_WRITE_LOCK ", txid_current()");
	if (!res) {
		if (PQtransactionStatus(pc->c) != PQTRANS_IDLE)
			PQclear(PQexec(pc->c, "ROLLBACK"));
		return -1;
	}
	pc->txid = how == DB_TX_READ ? 0
		: strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return 0;
}

/*
 * Writers take turns under a transaction-level advisory lock, as SQLite's
 * BEGIN IMMEDIATE makes them: a turn sees everything committed before it,
 * and row ids grow in commit order (catch-up reads by row id). A
 * connection lost since the last transaction is tried again once (a
 * server restart between two turns goes unnoticed); while the server
 * stays away, begin fails at once (see reachable).
 */
static int pg_begin(struct scen_db *db, enum db_tx how)
{
	int quiet = how == DB_TX_QUIET;
	for (int tries = 0; tries < 2; tries++) {
		if (reachable(db) < 0)
			return quiet ? 0 : -1;
		if (begin_once(db, how) == 0) {
			db->trouble = SCEN_DB_OK;	/* a lost try before */
			return quiet ? 1 : 0;
		}
		if (PQstatus(conn_of(db)->c) == CONNECTION_OK)
			break;
	}
	/* a process that may not write still gets a snapshot */
	if (quiet)
		return PQstatus(conn_of(db)->c) == CONNECTION_OK &&
			begin_once(db, DB_TX_READ) == 0;
	return -1;
}

/*
 * A COMMIT whose answer is lost with the connection may or may not have
 * committed. Reconnect (for up to PG_COMMIT_PATIENCE seconds) and ask the
 * server what became of the transaction (txid_status): committed is a
 * success; anything else, or no server, a failure (db->trouble:
 * unreachable). Nothing is written twice: the caller spools or retries
 * only what failed.
 */
static int commit_outcome(struct scen_db *db)
{
	struct pg_conn *pc = conn_of(db);
	double end = monotonic() + PG_COMMIT_PATIENCE;
	PGresult *res = NULL;
	for (double wait = 0.1; reconnect(db) < 0; wait *= 2) {
		if (monotonic() + wait > end)
			goto unknown;
		usleep((useconds_t)(wait * 1e6));
	}
	char txid[24];
	snprintf(txid, sizeof txid, "%lld", pc->txid);
	const char *v[1] = {txid};
	res = PQexecParams(pc->c, "SELECT txid_status($1)", 1, NULL, v, NULL,
			   NULL, 0);
	if (!pg_res_ok(db, &res))
		goto unknown;
	const char *status = PQgetvalue(res, 0, 0);
	int committed = !strcmp(status, "committed");
	int aborted = !strcmp(status, "aborted");
	PQclear(res);
	if (committed)
		return 0;
	if (aborted) {
		pg_set_msg(pc, "the connection was lost during COMMIT, and the "
			   "transaction with it");
		return -1;
	}
unknown:
	/* neither answered again nor recorded twice: the run stops
	 * (scen(7), Several hosts) */
	snprintf(txid, sizeof txid, "%lld", pc->txid);
	sb_reset(&pc->msg);
	sb_addf(&pc->msg, "the connection was lost during COMMIT and whether "
		"transaction %s committed cannot be told now (SELECT "
		"txid_status(%s) will)", txid, txid);
	db->trouble = SCEN_DB_UNKNOWN_COMMIT;
	return -1;
}

static int pg_commit(struct scen_db *db)
{
	struct pg_conn *pc = conn_of(db);
	/* a queued statement that failed, or a connection lost before the
	 * COMMIT was sent: not committed, nothing to ask the server */
	if (pg_settle(db) < 0) {
		pc->txid = 0;
		return -1;
	}
	PGresult *res = PQexec(pc->c, "COMMIT");
	int ok = pg_res_ok(db, &res);
	/* a transaction that an error aborted answers COMMIT with ROLLBACK */
	if (ok && strcmp(PQcmdStatus(res), "COMMIT")) {
		pg_set_msg(pc, "the transaction was rolled back by an earlier "
			"error");
		ok = 0;
	}
	PQclear(res);
	if (!ok && pc->txid && PQstatus(pc->c) == CONNECTION_BAD)
		ok = commit_outcome(db) == 0;
	pc->txid = 0;
	return ok ? 0 : -1;
}

static void pg_rollback(struct scen_db *db)
{
	struct pg_conn *pc = conn_of(db);
	pc->txid = 0;
	pg_settle(db);	/* what failed in the queue, noted: the turn's why */
	if (PQstatus(pc->c) == CONNECTION_OK &&
	    PQtransactionStatus(pc->c) != PQTRANS_IDLE)
		PQclear(PQexec(pc->c, "ROLLBACK"));
}

/* The pool fill's lock: a session-level advisory lock, held until the
 * connection closes (taken again after a reconnect). */
static enum scen_err pg_pool_lock(struct scen_db *db, struct scen_error *e)
{
	struct pg_conn *pc = conn_of(db);
	PGresult *res = pg_run_sql(db, PG_POOL_LOCK);
	if (!res)
		return scen_fail(e, SCEN_ERR_IO, "%s: cannot take the pool "
				 "fill's lock: %s", db->path, pc->msg.buf);
	pc->pool_locked = !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	if (!pc->pool_locked)
		return scen_fail(e, SCEN_ERR_TEMPFAIL, "another scen-pool-fill "
				 "is filling %s (it holds the database's "
				 "advisory lock); not starting a second run",
				 db->path);
	return SCEN_OK;
}

/* Open: is it scen's, and its schema */

/* The first value of sql's first row, or NULL (noted): malloc'd. */
static char *sql_value(struct scen_db *db, const char *sql)
{
	PGresult *res = pg_run_sql(db, sql);
	if (!res)
		return NULL;
	char *v = xstrdup(PQntuples(res) && !PQgetisnull(res, 0, 0)
			  ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return v;
}

/* The database's schema version: 0 when it holds no tables; -1 on error,
 * -2 when it is not scen's (both reported). */
static long schema_version(struct scen_db *db)
{
	char *v = sql_value(db, "SELECT CASE WHEN to_regclass('scen_meta')"
			    " IS NULL THEN (SELECT count(*) FROM pg_tables"
			    " WHERE schemaname = current_schema())::text"
			    " ELSE 'scen' END");
	if (v && !strcmp(v, "scen")) {
		free(v);
		v = sql_value(db, "SELECT (SELECT value FROM scen_meta"
			      " WHERE key = 'application') || ':' ||"
			      " (SELECT value FROM scen_meta"
			      " WHERE key = 'schema_version')");
		if (v && !strncmp(v, "scen:", 5)) {
			long n = strtol(v + 5, NULL, 10);
			free(v);
			return n;
		}
	} else if (v && !strcmp(v, "0")) {
		free(v);
		return 0;
	}
	if (!v)
		return scen_error("%s: cannot read the schema: %s", db->path,
				  pg_errmsg(db));
	free(v);
	scen_error("%s: not a scen database (it holds tables, not scen's); "
		   "left as it is", db->path);
	return -2;
}

static int migrations(void)
{
	int n = 0;
	while (db_pg_migrations[n])
		n++;
	return n;
}

/* Takes the schema to the last version, in one transaction under the
 * writers' lock: two hosts creating the database at once take turns,
 * and the second finds it made. */
static enum scen_err migrate(struct scen_db *db, int last)
{
	if (pg_exec(db, "BEGIN; " PG_WRITE_LOCK) < 0) {
		scen_error("%s: cannot migrate: %s", db->path, pg_errmsg(db));
		return SCEN_ERR_IO;
	}
	long v = schema_version(db);
	if (v < 0) {
		pg_rollback(db);
		return v == -2 ? SCEN_ERR_NOT_SCEN : SCEN_ERR_IO;
	}
	int rc = 0;
	for (; v < last && !rc; v++)
		rc = pg_exec(db, db_pg_migrations[v]);
	char version[16];
	snprintf(version, sizeof version, "%d", last);
	const char *param[1] = {version};
	PGresult *res = rc ? NULL : PQexecParams(conn_of(db)->c,
		"INSERT INTO scen_meta VALUES ('application', 'scen'),"
		" ('schema_version', $1) ON CONFLICT (key)"
		" DO UPDATE SET value = excluded.value", 1, NULL, param, NULL,
		NULL, 0);
	if (!rc && pg_res_ok(db, &res) && pg_exec(db, "COMMIT") == 0) {
		PQclear(res);
		return SCEN_OK;
	}
	PQclear(res);
	scen_error("%s: cannot migrate: %s", db->path, pg_errmsg(db));
	pg_rollback(db);
	return SCEN_ERR_IO;
}

static void notice(void *arg, const char *message)
{
	scen_debug("%s: %s", (const char *)arg, message);
}

/* Checks the database is scen's and its schema current (see
 * scen_db_open: the same rules as SQLite's, told by scen_meta). */
static enum scen_err set_up(struct scen_db *db, int readonly)
{
	int last = scen_db_schema_version();
	if (migrations() != last) {
		scen_error("%s: this scen's PostgreSQL schema has %d "
			   "migrations, its SQLite one %d", db->path,
			   migrations(), last);
		return SCEN_ERR_SOFTWARE;
	}
	long v = schema_version(db);
	if (v < 0)
		return v == -2 ? SCEN_ERR_NOT_SCEN : SCEN_ERR_IO;
	if (v > last) {
		scen_error("%s: schema version %ld is newer than this scen "
			   "understands (%d); use a newer scen", db->path, v,
			   last);
		return SCEN_ERR_CONFIG;
	}
	if (v == last)
		return SCEN_OK;
	if (readonly) {
		scen_error("%s: schema version %ld needs migrating; run "
			   "scen-serve-stdin or scen-gen once", db->path, v);
		return SCEN_ERR_IO;
	}
	return migrate(db, last);
}

static enum scen_err pg_open(struct scen_db *db, const char *target,
			     int flags)
{
	struct pg_conn *pc = xcalloc(1, sizeof *pc);
	sb_init(&pc->msg);
	pc->password = uri_password(target);
	pc->backoff = PG_RETRY_FIRST;
	db->conn = pc;
	pc->c = PQconnectdb(target);
	if (PQstatus(pc->c) != CONNECTION_OK) {
		pg_set_msg(pc, PQerrorMessage(pc->c));
		scen_error("%s: cannot connect: %s", db->path, pc->msg.buf);
		return SCEN_ERR_UNAVAILABLE;
	}
	PQsetNoticeProcessor(pc->c, notice, db->path);
	if (session_settings(db) < 0) {
		scen_error("%s: cannot set up the session: %s", db->path,
			   pg_errmsg(db));
		return SCEN_ERR_IO;
	}
	if (PQsetClientEncoding(pc->c, "UTF8") != 0) {
		scen_error("%s: cannot set the client encoding to UTF8: %s",
			   db->path, pg_errmsg(db));
		return SCEN_ERR_IO;
	}
	return set_up(db, flags & SCEN_DB_READONLY);
}

static void pg_close(struct scen_db *db)
{
	struct pg_conn *pc = conn_of(db);
	if (!pc)
		return;
	while (pc->stmts)
		pg_finalize(&pc->stmts->base);
	PQfinish(pc->c);
	free(pc->queued);
	sb_release(&pc->msg);
	free(pc->password);
	free(pc);
	db->conn = NULL;
}

const struct db_backend db_pg = {
	.name = "PostgreSQL",
	.stmt_sql = db_pg_stmt_sql,
	.open = pg_open,
	.close = pg_close,
	.errmsg = pg_errmsg,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.exec = pg_exec,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.bind_int64 = pg_bind_int64,
	.bind_double = pg_bind_double,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.reset = pg_reset,
	.run = pg_run,
	.column_count = pg_column_count,
	.column_type = pg_column_type,
	.column_int64 = pg_column_int64,
	.column_double = pg_column_double,
	.column_text = pg_column_text,
	.column_blob = pg_column_blob,
	.column_bytes = pg_column_bytes,
	.pool_lock = pg_pool_lock,
	.retry_now = pg_retry_now,
	.column_name = pg_column_name,
	.insert_ids = "",
};
