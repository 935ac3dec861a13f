/* db_int.h — what the files of the storage layer share, and nothing else
 * includes: the connection's state (struct scen_db), the statements by
 * name, the backend interface (struct db_backend) that SQLite
 * (store_sqlite.c) and PostgreSQL (store_pg*.c) implement, and the helpers
 * that prepare, run and bind statements on either.
 *
 * db.c holds the connection (open, transactions, counters, events);
 * db_schema.c every SQL text as SQLite reads it, db_schema_pg.c what
 * PostgreSQL reads differently; db_scenarios.c, db_jobs.c, db_quota.c,
 * db_pool.c and db_report.c the rows of their tables. None of these
 * includes sqlite3.h or libpq-fe.h: only the store_ files do. */
#ifndef SCEN_DB_INT_H
#define SCEN_DB_INT_H

#include <stdint.h>

#include "scen/db.h"
#include "scen/hash.h"

/* The statements, by name; their SQL is in db_schema.c (and, where
 * PostgreSQL reads it differently, in db_schema_pg.c). */
enum stmt_id {
	ST_COUNTER,
	ST_EVENT,
	ST_TEMPLATE,
	ST_TEMPLATE_KNOWN,
	ST_MAX_SCN,
	ST_MAX_SERVING,
	ST_LOAD,
	ST_NEW_SCN,
	ST_NEW_SERVINGS,
	ST_SESSIONS,
	ST_INSERT_SCN,
	ST_SCN_BY_JOB,
	ST_GET_SCN,
	ST_INSERT_SERVING,
	ST_SERVED,
	ST_ACCT_INIT,
	ST_ACCT_GET,
	ST_ACCT_PUT,
	ST_USAGE,
	ST_CALL_RESERVE,
	ST_CALL_SETTLE,
	ST_JOB_INSERT,
	ST_JOB_UPDATE,
	ST_JOB_GET,
	ST_JOBS_OPEN,
	ST_JOB_OWN,
	ST_JOB_CLAIMED,
	ST_JOB_POLL,
	ST_OWNER_BEAT,
	ST_OWNERS_PRUNE,
	ST_SCN_BY_SID,
	ST_SPOOL_MARK,
	/* db_report.c */
	RS_COUNTERS,
	RS_JOBS,
	RS_QUEUE,
	RS_ACCOUNT,
	RS_USAGE,
	RS_POOL,
	RS_TOTALS,
	RS_FRESH_BY_TPL,
	RS_USE_SERVINGS,
	RS_USE_SCENARIOS,
	RS_USE_TABLE,
	RS_USE_INSERT,
	RS_BATCHES,
	RS_BATCH_LINES,
	RS_BATCH_KEYS,
	RS_BATCHES_LATE,
	RS_POOL_SERVED,
	/* db_pool.c */
	PS_ENTRIES,
	PS_OPEN_JOBS,
	PS_OWNED,
	PS_DEMAND,
	PS_BATCH_PENDING,
	PS_BATCH_UNMADE,
	/* db_batch.c */
	BS_INSERT,
	BS_LINE_INSERT,
	BS_LINE_RETRIED,
	BS_UNRETRY,
	BS_UPDATE,
	BS_OPEN,
	BS_LINE_GET,
	BS_LINE_SETTLE,
	BS_LINES_REST,
	BS_LINES_OF,
	BS_KEY_GET,
	BS_KEY_PUT,
	/* db_report.c: the --verify checks */
	CK_INTEGRITY,
	CK_FOREIGN_KEYS,
	CK_SERVE_COUNTS,
	CK_TIER_COUNTERS,
	CK_ANSWER_COUNTERS,
	CK_TEMPLATE_VERSIONS,
	CK_SAME_EXPERIMENT,
	CK_NO_REPEAT,
	CK_MAX_SERVES,
	CK_JOBS_DONE,
	/* dbcopy.c: after a copy, the identity of table ?1 continues from
	 * ?2 (PostgreSQL's sequences; a no-op on SQLite) */
	ST_COPY_SEQUENCE,
	ST_COUNT
};

/* A table of the schema, for what handles every table (dbcopy.c). */
struct db_table {
	const char *name;
	const char *key;	/* its primary key's columns, to read the rows
				 * in a stable order */
	int identity;		/* its key is an INTEGER PRIMARY KEY id (on
				 * PostgreSQL an identity, whose sequence a
				 * copy moves on: ST_COPY_SEQUENCE) */
};

/* A value's type in a result column. */
enum db_type { DB_NULL, DB_INTEGER, DB_FLOAT, DB_TEXT, DB_BLOB };

/* What scen_db_begin and friends ask of a backend. */
enum db_tx {
	DB_TX_WRITE,	/* a write transaction: writers take turns (SQLite
			 * BEGIN IMMEDIATE; PostgreSQL a transaction-level
			 * advisory lock), so that a turn sees everything
			 * committed before it and row ids grow in commit
			 * order */
	DB_TX_QUIET,	/* a write turn when one can be had, else a read
			 * snapshot; no messages */
	DB_TX_READ,	/* one read snapshot (reports) */
};

/* Statement step results (negative: an error, reported). */
enum { DB_DONE = 0, DB_ROW = 1 };

/* A prepared statement of either backend: the backend's own struct
 * starts with this one. */
struct db_stmt {
	struct scen_db *db;
	const char *sql;	/* as given to prepare */
};

/*
 * A storage backend. Statement texts use SQLite's parameters (?1, ?2 ...
 * or ?); PostgreSQL's prepare turns them into $1, $2 .... Bound strings and
 * blobs are borrowed until the next step or reset of the statement; a
 * column's text or blob stays valid until the next step, reset or
 * finalize. Results of step: DB_ROW, DB_DONE, or -1 with errmsg set (the
 * backend notes db->trouble when a write failed for a reason
 * scen_db_write_trouble names).
 */
struct db_backend {
	const char *name;		/* "SQLite", "PostgreSQL" */
	const char *const *stmt_sql;	/* by enum stmt_id */
	/* Connects to target (db->path already holds how messages name it),
	 * checks it is scen's, migrates it (unless read-only) and sets
	 * db->conn. Reports what went wrong (naming db->path) and returns
	 * SCEN_OK or the error's kind (see scen_db_open). */
	enum scen_err (*open)(struct scen_db *db, const char *target,
			      int flags);
	void (*close)(struct scen_db *db);
	const char *(*errmsg)(struct scen_db *db);
	/* NULL on error (errmsg tells) */
	struct db_stmt *(*prepare)(struct scen_db *db, const char *sql,
				   int persistent);
	void (*finalize)(struct db_stmt *st);
	/* SQL text without parameters, maybe several statements; 0 or -1 */
	int (*exec)(struct scen_db *db, const char *sql);
	/* 0 (or 1 for DB_TX_QUIET when a transaction is open, 0 when none
	 * could be) or -1 */
	int (*begin)(struct scen_db *db, enum db_tx how);
	int (*commit)(struct scen_db *db);
	void (*rollback)(struct scen_db *db);
	void (*bind_int64)(struct db_stmt *st, int i, int64_t v);
	void (*bind_double)(struct db_stmt *st, int i, double v);
	void (*bind_text)(struct db_stmt *st, int i, const char *s, int n);
	void (*bind_blob)(struct db_stmt *st, int i, const void *p, int n);
	void (*bind_null)(struct db_stmt *st, int i);
	int (*step)(struct db_stmt *st);
	void (*reset)(struct db_stmt *st);
	/* Optional (NULL: db_run steps and resets): runs st, its rows not
	 * wanted, and leaves it reset; 0 or -1 (errmsg tells). PostgreSQL
	 * queues it inside a write transaction (libpq's pipeline mode: no
	 * round trip of its own) and returns 0 at once; the queue is sent
	 * and its results read before anything that needs an answer (a
	 * step, exec, begin, commit, rollback, finalize). A queued
	 * statement's error therefore surfaces there: that step or commit
	 * fails with it (errmsg names the queued statement; db->trouble
	 * noted as for a step), and the transaction, aborted on the server,
	 * can only be rolled back: nothing it wrote is kept, as when the
	 * statement fails at once. */
	int (*run)(struct db_stmt *st);
	int (*column_count)(struct db_stmt *st);
	enum db_type (*column_type)(struct db_stmt *st, int i);
	int64_t (*column_int64)(struct db_stmt *st, int i);
	double (*column_double)(struct db_stmt *st, int i);
	const char *(*column_text)(struct db_stmt *st, int i);
	const void *(*column_blob)(struct db_stmt *st, int i);
	int (*column_bytes)(struct db_stmt *st, int i);
	/* the name of result column i, valid while st is */
	const char *(*column_name)(struct db_stmt *st, int i);
	/* what an INSERT that gives the identity columns their values says
	 * between its column list and VALUES ("" when nothing: SQLite;
	 * PostgreSQL: "OVERRIDING SYSTEM VALUE") */
	const char *insert_ids;
	/* The pool fill's lock: see scen_db_pool_lock. Released by close. */
	enum scen_err (*pool_lock)(struct scen_db *db, struct scen_error *e);
	/* A lost connection: the next begin tries to reconnect, whenever
	 * the last try was (NULL: nothing to reconnect). */
	void (*retry_now)(struct scen_db *db);
};

extern const struct db_backend db_sqlite;
extern const struct db_backend db_pg;

/* db_schema.c: migration i takes schema version i to i + 1 (never edit
 * a shipped one); the statements' SQL by id, as SQLite reads it. */
extern const char *const db_migrations[];
/* db_schema.c: for a read-only open of an older schema i, what makes it
 * read as the last one (temporary views), or NULL. */
extern const char *const db_read_as_last[];
extern const char *const db_stmt_sql[ST_COUNT];
/* db_schema.c: every table of the schema, each after the tables it
 * REFERENCES; ends with a NULL name (test_dbcopy holds it to the tables
 * the migrations create). */
extern const struct db_table db_tables[];
/* db_schema.c: what scen-db-copy runs on each table of db_tables, its
 * name in place of the first %s: its row count; its rows, ordered by its
 * key (the second %s); the insert of a row (the column names, what the
 * backend says before VALUES, the parameters). */
extern const char db_copy_count_sql[], db_copy_read_sql[],
	db_copy_insert_sql[];
/* db_schema_pg.c: the same for PostgreSQL (its first migration creates
 * schema 3 whole, as PostgreSQL came with it; later ones follow
 * SQLite's numbering), its statements where they differ (else NULL:
 * SQLite's text). */
extern const char *const db_pg_migrations[];
extern const char *const db_pg_stmt_sql[ST_COUNT];

struct scen_db {
	const struct db_backend *be;
	void *conn;			/* the backend's connection */
	char *path;			/* how messages name the database: the
					 * file, or the URI without password */
	int readonly;
	struct db_stmt *st[ST_COUNT];
	int64_t seen_scn, seen_serving;	/* catch-up marks */
	struct scen_map counts;		/* name -> pending n */
	struct scen_map served;		/* scenario row id -> pending n */
	struct strbuf sb;
	int in_tx;
	int wrote_servings;		/* in this transaction */
	/* the scenarios the last write transaction stored (kept after its
	 * rollback, until the next begin: scen_db_tx_scenarios) */
	int64_t *tx_scn;
	size_t ntx_scn, captx_scn;
	int damaged;			/* the last error: a damaged file */
	enum scen_db_trouble trouble;	/* since the last begin */
	int lost_told;			/* the server's loss was reported:
					 * its errors go unsaid until a begin
					 * succeeds again (db_fail) */
	long commits;
	long fail_after;		/* test builds: SCEN_DB_FAIL_AFTER */
};

/* The calls of the backend, by the names SQLite gave them. */
static inline void db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	st->db->be->bind_int64(st, i, v);
}
static inline void db_bind_double(struct db_stmt *st, int i, double v)
{
	st->db->be->bind_double(st, i, v);
}
/* n < 0: up to the NUL */
static inline void db_bind_text(struct db_stmt *st, int i, const char *s,
				int n)
{
	st->db->be->bind_text(st, i, s, n);
}
static inline void db_bind_blob(struct db_stmt *st, int i, const void *p,
				int n)
{
	st->db->be->bind_blob(st, i, p, n);
}
static inline void db_bind_null(struct db_stmt *st, int i)
{
	st->db->be->bind_null(st, i);
}
static inline int db_step(struct db_stmt *st)
{
	return st->db->be->step(st);
}
static inline void db_reset(struct db_stmt *st)
{
	st->db->be->reset(st);
}
static inline enum db_type db_column_type(struct db_stmt *st, int i)
{
	return st->db->be->column_type(st, i);
}
static inline int64_t db_column_int64(struct db_stmt *st, int i)
{
	return st->db->be->column_int64(st, i);
}
static inline double db_column_double(struct db_stmt *st, int i)
{
	return st->db->be->column_double(st, i);
}
static inline const char *db_column_text(struct db_stmt *st, int i)
{
	return st->db->be->column_text(st, i);
}
static inline const void *db_column_blob(struct db_stmt *st, int i)
{
	return st->db->be->column_blob(st, i);
}
static inline int db_column_bytes(struct db_stmt *st, int i)
{
	return st->db->be->column_bytes(st, i);
}
static inline const char *db_column_name(struct db_stmt *st, int i)
{
	return st->db->be->column_name(st, i);
}
static inline int db_column_count(struct db_stmt *st)
{
	return st->db->be->column_count(st);
}
static inline void db_finalize(struct db_stmt *st)
{
	if (st)
		st->db->be->finalize(st);
}
static inline const char *db_errmsg(struct scen_db *db)
{
	return db->be->errmsg(db);
}

/* Reports "path: what: the backend's message"; returns -1. While the
 * database cannot be reached, only the first error is reported (each
 * statement would fail alike until the server is back), as are those of
 * db_stmt, db_prepare and db_next. */
int db_fail(struct scen_db *db, const char *what);
/* The SQL text of id as db's backend reads it. */
const char *db_sql(const struct scen_db *db, enum stmt_id id);
/* The statement id, prepared at its first use; NULL on error (reported). */
struct db_stmt *db_stmt(struct scen_db *db, enum stmt_id id);
/* Prepares SQL text (SQLite's dialect; see struct db_backend) for a
 * one-off use: finalize it with db_finalize. NULL on error (reported). */
struct db_stmt *db_prepare(struct scen_db *db, const char *sql);
/* Steps a statement that returns no rows (or ignores them) and resets it;
 * 0, or -1 reporting the failing statement (and noting why a write
 * failed: scen_db_write_trouble). Through the backend's run when it has
 * one: on PostgreSQL, inside a write transaction, an error then
 * surfaces at the next step or at the commit instead, which fails (see
 * struct db_backend), so a turn is still all written or not at all. */
int db_run(struct scen_db *db, struct db_stmt *st);
/* Steps st (reporting an error): DB_ROW, DB_DONE or -1. */
int db_next(struct db_stmt *st);
/* Runs SQL text (no parameters); 0 or -1 (reported). */
int db_exec(struct scen_db *db, const char *sql);
/* The first column of the first row of the statement id (prepared at its
 * first use), or -1. */
int64_t db_int(struct scen_db *db, enum stmt_id id);
/* Runs an insert whose statement ends RETURNING id: its id, or -1. */
int64_t db_insert_id(struct scen_db *db, struct db_stmt *st);
/* Binds s, or NULL when s is NULL. */
void db_bind_text_or_null(struct db_stmt *st, int i, const char *s);
/* Binds v, or NULL when has is 0 (a row id of 0 is none). */
void db_bind_int64_if(struct db_stmt *st, int i, int has, int64_t v);
/* Binds NULL to columns from to last. */
void db_bind_nulls(struct db_stmt *st, int from, int last);
/* Binds rq's experiment, template, version, key, factors (as JSON, in
 * db->sb) and position (NULL when the template declares none) to the
 * parameters from first on. */
void db_bind_request(struct scen_db *db, struct db_stmt *st, int first,
		     const struct scen_request *rq);
/* The checksum stored with each text: XXH3-64 of the text seeded with the
 * XXH3-64 of the key (see scen_db_scenario_get). */
int64_t db_text_hash(const void *key, size_t klen, const void *text,
		     size_t n);

#endif
