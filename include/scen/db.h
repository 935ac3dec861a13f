/* db.h — the storage interface: the one module that speaks SQL, on either
 * backend (a SQLite file, or a PostgreSQL database named by a libpq URI;
 * db_int.h), with the schema and its migrations, the connection, and every
 * statement, prepared once and reused. */
#ifndef SCEN_DB_H
#define SCEN_DB_H

#include <stddef.h>
#include <stdint.h>

#include "scen/config.h"
#include "scen/error.h"
#include "scen/index.h"
#include "scen/request.h"
#include "scen/util.h"

struct scen_db;

enum { SCEN_DB_READONLY = 1 };

/* Files above this size skip the quick_check at open (it reads every
 * page: about 0.2 s for 100 MB from the page cache). */
#define SCEN_DB_QUICK_CHECK_MAX (256L * 1024 * 1024)

/* scen's mark in the SQLite header (PRAGMA application_id): "scen". */
#define SCEN_DB_APPLICATION_ID 0x7363656e

/*
 * Opens (creating it 0600 when missing, unless read-only) and migrates the
 * database. On error prints why, naming the file, as it finds it, and
 * returns NULL with err (when not NULL) of kind SCEN_ERR_IO (I/O),
 * SCEN_ERR_DAMAGED (the quick check failed), SCEN_ERR_NOT_SCEN (a SQLite
 * file that is not scen's) or SCEN_ERR_CONFIG (a schema from a newer
 * scen), its message empty: said already.
 *
 * A file is scen's when its application_id is SCEN_DB_APPLICATION_ID, or
 * (made before the mark) when its user_version is set and it holds scen's
 * templates, scenarios and servings tables; a read-write open marks it
 * then. A file without tables or mark (also 0 bytes) is initialised; any
 * other is refused before anything is written to it or beside it.
 *
 * A read-write open checks the file's structure first (PRAGMA
 * quick_check, for files up to SCEN_DB_QUICK_CHECK_MAX bytes). It does
 * not replay the spool: the command's start-up does (scen_spool_start).
 *
 * A read-only open creates no file when the process may not write both
 * the database and its folder: it reads the -wal and -shm files that a
 * writer keeps there, and when there are none, the file as it stands
 * (SQLite's immutable mode, which takes no locks: a writer that starts
 * during such a read is not guarded against).
 *
 * Testing aids, in a test build only (compiled with SCEN_TEST_HOOKS, as
 * make check does; see the Makefile), read at a read-write open:
 * SCEN_DB_MAX_PAGES=N caps the database at N pages (PRAGMA
 * max_page_count; never below its size), so that it fills up;
 * SCEN_DB_FAIL_AFTER=N makes every scen_db_commit after the first N fail
 * as if the database had turned read-only; SCEN_DB_FAIL_FILE=F, every
 * one while the file F exists (a test decides when).
 */
struct scen_db *scen_db_open(const char *path, int flags,
			     struct scen_error *err);
void scen_db_close(struct scen_db *db);
int scen_db_schema_version(void);
const char *scen_db_path(const struct scen_db *db);
/* Where servings wait when the database cannot take them (spool.h),
 * malloc'd: "<file>.spool" beside a SQLite file; for PostgreSQL, on this
 * host's disk: "scen-<16 hex digits>.spool" in the working directory, the
 * digits a hash of the URI (without password). */
char *scen_db_spool_path(const struct scen_db *db);
/* The pool fill's lock, held until close: one scen-pool-fill a database
 * (SQLite: flock(2) on "<file>.pool-fill.lock"; PostgreSQL: a
 * session-level advisory lock). SCEN_OK when taken, SCEN_ERR_TEMPFAIL
 * when another run holds it, SCEN_ERR_IO (all reported in e). */
enum scen_err scen_db_pool_lock(struct scen_db *db, struct scen_error *e);

/* Write transactions: BEGIN IMMEDIATE ... COMMIT. Counters added with
 * scen_db_count are written at commit. Negative on error (reported). */
int scen_db_begin(struct scen_db *db);
int scen_db_commit(struct scen_db *db);
void scen_db_rollback(struct scen_db *db);
/* For a process that cannot write: BEGIN IMMEDIATE when it can (to take
 * its turn among the writers), else a plain BEGIN (one read snapshot),
 * without messages. Returns 1 when a transaction is open (end it with
 * scen_db_rollback), 0 when none could be. */
int scen_db_begin_quiet(struct scen_db *db);
/* A database server that could not be reached: the next begin tries it
 * again at once. Between begins, the tries are spaced out (a quarter
 * second, doubling to 5 s); a caller that spaces out its own calls
 * says so with this. */
void scen_db_retry_now(struct scen_db *db);

/* Why writing failed since the last scen_db_begin: 0 when it did not, or
 * when for another reason than these. Sticky until the next begin. */
enum scen_db_trouble {
	SCEN_DB_OK,
	SCEN_DB_FULL,		/* SQLITE_FULL: the disk or max_page_count */
	SCEN_DB_READ_ONLY,	/* SQLITE_READONLY */
	SCEN_DB_WRITE_ERROR,	/* SQLITE_IOERR while writing */
	SCEN_DB_UNREACHABLE,	/* the connection to the server is lost */
	SCEN_DB_UNKNOWN_COMMIT,	/* lost during COMMIT, and the server could
				 * not tell whether it committed */
};
enum scen_db_trouble scen_db_write_trouble(const struct scen_db *db);
/* "database full", "database read-only", "database write error",
 * "database unreachable", "database commit unknown". */
const char *scen_db_trouble_name(enum scen_db_trouble t);

/* Adds n to the counter name in the current hour (kept in memory until
 * the next commit). */
void scen_db_count(struct scen_db *db, const char *name, long n);
/* Hands the counters not yet written to fn (name, its length, n) and
 * forgets them: for a process that spools instead of committing. */
void scen_db_take_counts(struct scen_db *db,
			 void (*fn)(void *ctx, const char *name, size_t len,
				    long n),
			 void *ctx);
/* Records a notable event (auth failure, breaker change, queue trouble). */
int scen_db_event(struct scen_db *db, const char *kind, const char *account,
		  const char *detail);

/* Records the template versions of cfg (their full text, for export). */
int scen_db_register_templates(struct scen_db *db,
			       const struct scen_config *cfg);

/* Whether a template version of the experiment and template (either
 * NULL: any) was ever registered: 1, 0, or -1 on error (reported). */
int scen_db_template_known(struct scen_db *db, const char *experiment,
			   const char *template_name);

/* Loads every servable scenario of cfg's current template versions. */
int scen_db_load_index(struct scen_db *db, const struct scen_config *cfg,
		       struct scen_index *ix);
/* Brings ix up to date with scenarios and servings that other processes
 * committed since the last call (call inside a write transaction). */
int scen_db_catch_up(struct scen_db *db, const struct scen_config *cfg,
		     struct scen_index *ix);
/* Loads what the session was served, once. */
int scen_db_session_load(struct scen_db *db, const char *session,
			 struct scen_session *s);
/* The same for n sessions at once (names distinct), in one query: each
 * ss[i] gets what names[i] was served and is marked loaded. */
int scen_db_sessions_load(struct scen_db *db, const char *const *names,
			  struct scen_session **ss, size_t n);

struct scen_scenario {
	int64_t rowid;		/* set by insert */
	char sid[24];		/* "sc-" + 16 hex, set by insert */
	const struct scen_request *rq;	/* experiment, template, factors */
	const char *text;
	const char *model;
	const char *account;
	const char *origin;	/* "fresh" or "pool" */
	const char *finish_reason;
	long prompt_tokens, completion_tokens;
	double created_at;
	int64_t job;		/* 0 when none */
	const char *batch_id;	/* made by a line of a provider's batch: */
	const char *custom_id;	/* its id and the line's (else NULL) */
};
/* Stores a valid scenario. Returns 0, or 1 when the job already stored
 * one (then rowid and sid are those of the stored one), or -1. */
int scen_db_insert_scenario(struct scen_db *db, struct scen_scenario *s);
/* The row ids of the scenarios the last write transaction stored: after
 * its rollback, what memory must forget (until the next begin). */
const int64_t *scen_db_tx_scenarios(const struct scen_db *db, size_t *n);

struct scen_scenario_row {
	char sid[24];
	char *text;		/* malloc'd */
	char model[128];
	char account[64];
	double created_at;
	char origin[8];
	uint16_t levels[SCEN_MAX_FACTORS];	/* as parsed for t */
	long position;
};
/*
 * Reads a scenario of template t. The row must prove sound: of t's
 * version, its factors and position giving its stored key, and its text
 * matching the checksum stored with it (text_hash: XXH3-64 of the text
 * seeded with the XXH3-64 of the key; NULL only on rows the database
 * could not hash). Returns SCEN_OK, SCEN_ERR_IO on a read error, or
 * SCEN_ERR_DAMAGED when
 * a check fails (both reported, naming the scenario); on error out->text
 * is NULL.
 */
enum scen_err scen_db_scenario_get(struct scen_db *db, int64_t rowid,
				   const struct scen_template *t,
				   struct scen_scenario_row *out);

struct scen_serving {
	const struct scen_request *rq;
	const char *tier;
	double similarity;
	int64_t scenario;
	const char *account;	/* the account that generated it */
	double latency_ms;
	double served_at;
	int forced_fresh;
};
/* Records a serving and counts one more serving of the scenario (the
 * count is written at commit). */
int scen_db_insert_serving(struct scen_db *db, const struct scen_serving *s);

/* One serving as a spool holds it (spool.h): its scenario named by sid,
 * the strings borrowed. */
struct scen_spooled {
	const char *request_id;
	const char *session;
	const char *experiment, *template_name, *version;
	const char *factors;		/* canonical JSON object, as text */
	int has_position;
	long position;
	const char *tier;
	double similarity;
	const char *scenario_sid;	/* what a replay goes by */
	int64_t scenario;		/* its row id when spooled */
	const char *account;		/* NULL when none */
	double latency_ms, served_at;
	int forced_fresh;
};
/* Replaying a spool (spool.c), in a write transaction. Each record's uid
 * is kept in spool_replayed, so a record is added once however often it
 * is replayed: *added is 1 when it was added now, 0 when before. Returns
 * SCEN_OK, SCEN_ERR_IO (reported), or for a serving SCEN_ERR_DAMAGED when
 * its scenario is not in the database. */
enum scen_err scen_db_replay_serving(struct scen_db *db, const char *uid,
				     const struct scen_spooled *r,
				     int *added);
enum scen_err scen_db_replay_count(struct scen_db *db, const char *uid,
				   int64_t hour, const char *name, long n,
				   int *added);


/* The shared state of one account (or "*provider", the provider-wide
 * breaker), read and written inside write transactions. */
struct scen_acct_state {
	double cooldown_until;	/* 429: no calls before */
	double set_aside_until;	/* a spent day: no calls before */
	char breaker[12];	/* closed, open, probing */
	long failures;		/* consecutive */
	double opened_at;	/* when opened, or when the probe started */
	int has_day, has_tok;	/* the provider's own figures, when seen */
	long day_remaining;
	double day_seen_at, day_reset_at;
	long tok_remaining;
	double tok_seen_at, tok_reset_at;
	/* limits the provider stated (x-ratelimit-limit-* headers, 429
	 * messages); 0 when unknown. The lower of these and the config's
	 * holds. */
	long lim_rpm, lim_rpd, lim_tpm;
	/* The provider's last verdict on the account's key: "accepted" or
	 * "refused" ("" when none is recorded), for the key whose
	 * fingerprint is key_fp (scen_quota_key_fp: never the key), and
	 * when. A verdict holds only for that key: a replaced key is judged
	 * anew. */
	char key_fp[20];
	char key_verdict[12];
	double key_verdict_at;
};
int scen_db_account_get(struct scen_db *db, const char *name,
			struct scen_acct_state *st);
int scen_db_account_put(struct scen_db *db, const char *name,
			const struct scen_acct_state *st);
/* The accounts table's columns that scen_db_account_decode reads, in its
 * order, for a SELECT (db_report.c's too). */
#define SCEN_DB_ACCOUNT_COLUMNS "cooldown_until, set_aside_until, breaker," \
	" failures, opened_at, day_remaining, day_seen_at, day_reset_at," \
	" tok_remaining, tok_seen_at, tok_reset_at, lim_rpm, lim_rpd," \
	" lim_tpm, key_fp, key_verdict, key_verdict_at"
/* Reads an account row into a: the SCEN_DB_ACCOUNT_COLUMNS of st's current
 * row, from column col on. */
struct db_stmt;
void scen_db_account_decode(struct db_stmt *st, int col,
			    struct scen_acct_state *a);

/* Calls of one account in the ledger (429s excluded: they cost nothing). */
struct scen_usage {
	long minute, hour, day;	/* calls in the last 60 s, 3600 s, this day */
	long tokens_minute;	/* tokens reserved or used in the last 60 s */
	double oldest_minute, oldest_hour, oldest_day;	/* 0 when none */
	long since_day_seen;	/* calls after day_seen_at */
	long tokens_since_tok_seen;
};
int scen_db_usage(struct scen_db *db, const char *account, double now,
		  double day_start, double day_seen_at, double tok_seen_at,
		  struct scen_usage *u);
/* Reserves a call in the ledger; returns its row id or -1. */
int64_t scen_db_call_reserve(struct scen_db *db, const char *account,
			     double now, long tokens, int64_t job);
/* Settles a call: its HTTP status (0 none) and the tokens it used (-1:
 * keep the reserved estimate). */
int scen_db_call_settle(struct scen_db *db, int64_t call, long status,
			long tokens, double now);

/* Jobs (the durable generation queue). */
struct scen_job_row {
	int64_t rowid;
	char jid[24];
	char state[12];
	char *session;		/* malloc'd, may be NULL */
	char *request_id;	/* malloc'd, may be NULL */
	char *experiment, *template_name, *version, *factors;	/* malloc'd */
	long position;
	int has_position;
	char origin[8];
	int64_t scenario;	/* 0 when none */
	char *error;		/* malloc'd, may be NULL */
	double created_at;
	long owner_pid;
};
void scen_job_row_release(struct scen_job_row *r);
/* Inserts a queued job for rq; sets rowid and jid. */
int scen_db_job_insert(struct scen_db *db, const struct scen_request *rq,
		       const char *origin, double now, int64_t *rowid,
		       char *jid, size_t jidsz);
/* Moves a job to state, with the account, attempts, error and scenario
 * (NULL/0 leave them as they are). */
int scen_db_job_update(struct scen_db *db, int64_t rowid, const char *state,
		       double now, const char *account, int attempts,
		       const char *error, int64_t scenario);
/* The job with that public id; 1 found, 0 not, -1 error. */
int scen_db_job_get(struct scen_db *db, const char *jid,
		    struct scen_job_row *out);

/*
 * Owners. A job names the process that works it: its host (scen_host_id)
 * and pid. Every process with jobs of its own writes its heartbeat (the
 * owners table) at most every SCEN_OWNER_BEAT_S seconds, in its write
 * turns. A job's owner is gone when it is a process of this host that is
 * no longer alive, or when its heartbeat is older than stale_before (real
 * time; see SCEN_OWNER_STALE_S) or missing. Jobs written before owners had
 * hosts (schema 3) go by their pid alone.
 */
#define SCEN_OWNER_BEAT_S 1.0
#define SCEN_OWNER_STALE_S 30.0
/* Writes this process's heartbeat, at real time now (in a write
 * transaction); with prune, forgets owners silent for a day. */
int scen_db_owner_beat(struct scen_db *db, double now, int prune);
/* Calls fn for every queued or running job whose owner is gone, after
 * making this process its owner. */
int scen_db_jobs_adopt(struct scen_db *db, double stale_before,
		       void (*fn)(void *ctx, const struct scen_job_row *),
		       void *ctx);
/* Makes this process the owner of job rowid, queued again. */
int scen_db_job_take(struct scen_db *db, int64_t rowid);
/* The oldest queued or running job for rq's template version and key, of
 * that origin, that another process owns (its claim on the combination:
 * jobs_key). 1 found (rowid and jid set), 0 none, -1 error (reported). */
int scen_db_job_claimed(struct scen_db *db, const struct scen_request *rq,
			const char *origin, int64_t *rowid, char *jid,
			size_t jidsz);
/* What a job another process owns has come to. */
struct scen_job_poll {
	char state[12];		/* queued, running, done, failed, cancelled */
	int64_t scenario;	/* 0 when none */
	int owner_gone;		/* open, and its owner is gone */
};
/* 1 found, 0 no such job, -1 error (reported). */
int scen_db_job_poll(struct scen_db *db, int64_t rowid, double stale_before,
		     struct scen_job_poll *out);

#endif
