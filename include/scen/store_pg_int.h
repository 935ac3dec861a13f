/* store_pg_int.h — what the two files of the PostgreSQL backend share
 * (db_int.h's struct db_backend over libpq), in three layers:
 * store_pg_conn.c the exchange with the server (errors, results, the
 * pipeline of queued statements), store_pg_stmt.c the statements
 * (parameters, prepare, bind, step, columns) on it, store_pg.c the
 * connection's life (open, schema, transactions, reconnecting, the pool
 * fill's lock) and the backend. Nothing else includes it. */
#ifndef SCEN_STORE_PG_INT_H
#define SCEN_STORE_PG_INT_H

#include <libpq-fe.h>

#include "scen/db_int.h"

/* Advisory lock keys ("scen" and a number): the writers' turn (and the
 * migration's, which is a write), and the pool fill's. */
#define PG_KEY_WRITE "126870740664321"	/* 0x7363656e0001 */
#define PG_KEY_POOL "126870740664322"	/* 0x7363656e0002 */
#define PG_POOL_LOCK "SELECT pg_try_advisory_lock(" PG_KEY_POOL ")"
#define PG_WRITE_LOCK "SELECT pg_advisory_xact_lock(" PG_KEY_WRITE ")"

/* Type oids (pg_type.dat), as the server sends them. */
enum {
	OID_BOOL = 16, OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21,
	OID_INT4 = 23, OID_TEXT = 25, OID_OID = 26, OID_FLOAT4 = 700,
	OID_FLOAT8 = 701, OID_NUMERIC = 1700,
};

/* Reconnecting: begin tries at most once per interval, from the first
 * to the last, doubling. */
#define PG_RETRY_FIRST 0.25
#define PG_RETRY_LAST 5.0
/* A COMMIT whose answer was lost: reconnect for this long, from 0.1 s
 * between tries, doubling. */
#define PG_COMMIT_PATIENCE 30.0
/* Statements queued in a write transaction (pg_run) are sent and their
 * results read at the latest when this many are waiting. */
#define PG_QUEUE_MAX 4096

struct pg_stmt;

struct pg_conn {
	PGconn *c;
	char *password;		/* the target's, to keep out of messages */
	struct strbuf msg;	/* the last error, one line */
	struct pg_stmt *stmts;	/* the persistent ones: re-prepared after a
				 * reconnect */
	long names;		/* prepared statements named so far */
	double retry_at, backoff;	/* reconnecting (monotonic clock) */
	long long txid;		/* of the open write transaction, or 0 */
	int pool_locked;
	int lock_lost;		/* not taken again after a reconnect */
	/* the statements pg_run queued (in pipeline mode), by their SQL
	 * text (a queued statement is not finalized before settle) */
	const char **queued;
	size_t nqueued, capqueued;
};

/* A column's bytea, decoded for the current row. */
struct pg_blob {
	unsigned char *p;
	size_t len, cap;
	int row;		/* of the decoded value, -1 none */
};

struct pg_stmt {
	struct db_stmt base;
	char *sql;		/* with $N parameters */
	int persistent, prepared;
	char name[32];
	int nparams;
	const char **values;
	int *lengths, *formats;
	Oid *types, *prep_types;	/* as bound; as prepared */
	char (*num)[32];		/* numbers as text */
	PGresult *res;
	int row, nrows, ncols;
	struct pg_blob *blobs;	/* by column, ncols of them */
	int nblobs;
	struct pg_stmt *next, **pprev;	/* in the persistent list */
};

static inline struct pg_conn *conn_of(struct scen_db *db)
{
	return db->conn;
}

/* store_pg_conn.c: sets the last error (one line, the password masked);
 * notes a failed result (or the connection's error) as the last error
 * and db->trouble; whether *res is a success (else cleared); sends what
 * is queued and reads its results (the last one in *last when wanted),
 * leaving pipeline mode; runs SQL text without parameters: its last
 * result, or NULL (noted); the same, 0 or -1; the last error. */
void pg_set_msg(struct pg_conn *pc, const char *s);
void pg_note_failure(struct scen_db *db, const PGresult *res);
int pg_res_ok(struct scen_db *db, PGresult **res);
int pg_settle_keep(struct scen_db *db, PGresult **last);
int pg_settle(struct scen_db *db);
PGresult *pg_run_sql(struct scen_db *db, const char *sql);
int pg_exec(struct scen_db *db, const char *sql);
const char *pg_errmsg(struct scen_db *db);

/* store_pg_stmt.c: the statements' side of struct db_backend. */
void pg_clear_result(struct pg_stmt *st);
struct db_stmt *pg_prepare(struct scen_db *db, const char *sql,
			   int persistent);
void pg_finalize(struct db_stmt *s);
void pg_bind_int64(struct db_stmt *s, int i, int64_t v);
void pg_bind_double(struct db_stmt *s, int i, double v);
void pg_bind_text(struct db_stmt *s, int i, const char *p, int n);
void pg_bind_blob(struct db_stmt *s, int i, const void *p, int n);
void pg_bind_null(struct db_stmt *s, int i);
int pg_step(struct db_stmt *s);
void pg_reset(struct db_stmt *s);
int pg_run(struct db_stmt *s);
int pg_column_count(struct db_stmt *s);
enum db_type pg_column_type(struct db_stmt *s, int i);
int64_t pg_column_int64(struct db_stmt *s, int i);
double pg_column_double(struct db_stmt *s, int i);
const char *pg_column_text(struct db_stmt *s, int i);
const void *pg_column_blob(struct db_stmt *s, int i);
int pg_column_bytes(struct db_stmt *s, int i);
const char *pg_column_name(struct db_stmt *st, int i);

#endif
