/* db_int.h — what the files of the db module share, and nothing else
 * includes: the connection's state (struct scen_db), the statements by
 * name, and the helpers that prepare, run and bind them. db.c holds the
 * connection (open, transactions, counters, events); db_schema.c every
 * SQL text of the module; db_scenarios.c, db_jobs.c and db_quota.c the
 * rows of their tables. */
#ifndef SCEN_DB_INT_H
#define SCEN_DB_INT_H

#include <sqlite3.h>
#include <stdint.h>

#include "scen/db.h"
#include "scen/hash.h"

/* The prepared statements, by name; their SQL is in db_schema.c. */
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
	ST_SESSION,
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
	ST_SCN_BY_SID,
	ST_SPOOL_MARK,
	ST_COUNT
};

/* db_schema.c: migration i takes user_version i to i + 1 (never edit a
 * shipped one); the statements' SQL by id. */
extern const char *const db_migrations[];
/* db_schema.c: for a read-only open of an older schema i, what makes it
 * read as the last one (temporary views), or NULL. */
extern const char *const db_read_as_last[];
extern const char *const db_stmt_sql[ST_COUNT];

struct scen_db {
	sqlite3 *h;
	char *path;
	sqlite3_stmt *st[ST_COUNT];
	int64_t seen_scn, seen_serving;	/* catch-up marks */
	struct scen_map counts;		/* name -> pending n */
	struct scen_map served;		/* scenario row id -> pending n */
	struct strbuf sb;
	int in_tx;
	enum scen_db_trouble trouble;	/* since the last begin */
	long commits;
	long fail_after;		/* test builds: SCEN_DB_FAIL_AFTER */
};

/* Reports "path: what: SQLite's message"; returns -1. */
int db_fail(struct scen_db *db, const char *what);
/* The statement id, prepared at its first use; NULL on error (reported). */
sqlite3_stmt *db_stmt(struct scen_db *db, enum stmt_id id);
/* Steps a statement that returns no rows (or ignores them) and resets it;
 * 0, or -1 reporting the failing statement (and noting why a write
 * failed: scen_db_write_trouble). */
int db_run(struct scen_db *db, sqlite3_stmt *st);
/* Runs SQL text (no parameters); 0 or -1 (reported). */
int db_exec(struct scen_db *db, const char *sql);
/* The first column of the first row of the statement id (prepared at its
 * first use), or -1. */
int64_t db_int(struct scen_db *db, enum stmt_id id);
/* Binds s, or NULL when s is NULL. */
void db_bind_text_or_null(sqlite3_stmt *st, int i, const char *s);
/* Binds v, or NULL when has is 0 (a row id of 0 is none). */
void db_bind_int64_if(sqlite3_stmt *st, int i, int has, int64_t v);
/* Binds NULL to columns from to last. */
void db_bind_nulls(sqlite3_stmt *st, int from, int last);
/* Binds rq's experiment, template, version, key, factors (as JSON, in
 * db->sb) and position (NULL when the template declares none) to the
 * parameters from first on. */
void db_bind_request(struct scen_db *db, sqlite3_stmt *st, int first,
		     const struct scen_request *rq);
/* The checksum stored with each text: XXH3-64 of the text seeded with the
 * XXH3-64 of the key (see scen_db_scenario_get). */
int64_t db_text_hash(const void *key, size_t klen, const void *text,
		     size_t n);

#endif
