/* db.h — the one module that speaks SQL: the schema and its migrations,
 * the connection (WAL, busy timeout, foreign keys), and every statement,
 * prepared once and reused. */
#ifndef SCEN_DB_H
#define SCEN_DB_H

#include <stddef.h>
#include <stdint.h>

#include "scen/config.h"
#include "scen/index.h"
#include "scen/request.h"
#include "scen/util.h"

struct scen_db;

enum { SCEN_DB_READONLY = 1 };

/*
 * Opens (creating it 0600 when missing, unless read-only) and migrates the
 * database. On error prints why, naming the file, and returns NULL with
 * *exit_code set (74 for I/O and corruption, 78 for a schema from a newer
 * scen).
 */
struct scen_db *scen_db_open(const char *path, int flags, int *exit_code);
void scen_db_close(struct scen_db *db);
int scen_db_schema_version(void);
const char *scen_db_path(const struct scen_db *db);
/* The connection, for the read-side statements of db_report.c. */
struct sqlite3;
struct sqlite3 *scen_db_handle(struct scen_db *db);

/* Write transactions: BEGIN IMMEDIATE ... COMMIT. Counters added with
 * scen_db_count are written at commit. Negative on error (reported). */
int scen_db_begin(struct scen_db *db);
int scen_db_commit(struct scen_db *db);
void scen_db_rollback(struct scen_db *db);

/* Adds n to the counter name in the current hour (kept in memory until
 * the next commit). */
void scen_db_count(struct scen_db *db, const char *name, long n);
/* Records a notable event (auth failure, breaker change, queue trouble). */
int scen_db_event(struct scen_db *db, const char *kind, const char *account,
		  const char *detail);

/* Records the template versions of cfg (their full text, for export). */
int scen_db_register_templates(struct scen_db *db,
			       const struct scen_config *cfg);

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
};
/* Stores a valid scenario. Returns 0, or 1 when the job already stored
 * one (then rowid and sid are those of the stored one), or -1. */
int scen_db_insert_scenario(struct scen_db *db, struct scen_scenario *s);

struct scen_scenario_row {
	char sid[24];
	char *text;		/* malloc'd */
	char model[128];
	char account[64];
	double created_at;
	char origin[8];
};
int scen_db_scenario_get(struct scen_db *db, int64_t rowid,
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
};
int scen_db_account_get(struct scen_db *db, const char *name,
			struct scen_acct_state *st);
int scen_db_account_put(struct scen_db *db, const char *name,
			const struct scen_acct_state *st);

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
/* Calls fn for every queued or running job whose owner process is gone
 * (not alive on this host), after making this process its owner. */
int scen_db_jobs_adopt(struct scen_db *db,
		       void (*fn)(void *ctx, const struct scen_job_row *),
		       void *ctx);

#endif
