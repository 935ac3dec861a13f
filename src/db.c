/* db.c — all SQL of scen: schema migrations, the connection, and the
 * statements, prepared once (db_stmt) and reused with bind/step/reset. */
#include "scen/db.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>
#include <xxhash.h>

#include "scen/hash.h"
#include "scen/spool.h"

/* Each entry migrates user_version i to i + 1. Never edit a shipped one. */
static const char *const migrations[] = {
	/* 1: the first schema */
	"CREATE TABLE templates("
	" version TEXT PRIMARY KEY,"
	" experiment TEXT NOT NULL, template TEXT NOT NULL,"
	" system TEXT NOT NULL, prompt TEXT NOT NULL, model TEXT NOT NULL,"
	" temperature REAL NOT NULL, max_tokens INTEGER NOT NULL,"
	" validate TEXT NOT NULL, factors TEXT NOT NULL, position TEXT,"
	" registered_at REAL NOT NULL);"
	"CREATE TABLE scenarios("
	" id INTEGER PRIMARY KEY,"
	" sid TEXT NOT NULL UNIQUE,"
	" experiment TEXT NOT NULL, template TEXT NOT NULL,"
	" version TEXT NOT NULL, key BLOB NOT NULL,"
	" factors TEXT NOT NULL, position INTEGER,"
	" text TEXT NOT NULL, model TEXT NOT NULL, account TEXT,"
	" prompt_hash TEXT NOT NULL,"
	" origin TEXT NOT NULL CHECK (origin = 'fresh' OR origin = 'pool'),"
	" finish_reason TEXT, prompt_tokens INTEGER,"
	" completion_tokens INTEGER,"
	" created_at REAL NOT NULL,"
	" serves INTEGER NOT NULL DEFAULT 0,"
	" quarantined INTEGER NOT NULL DEFAULT 0,"
	" job INTEGER);"
	/* covering: the index loads at start-up without touching texts */
	"CREATE INDEX scenarios_version ON scenarios(version, quarantined,"
	" key, factors, position, serves, origin, created_at);"
	"CREATE UNIQUE INDEX scenarios_job ON scenarios(job)"
	" WHERE job IS NOT NULL;"
	"CREATE TABLE servings("
	" id INTEGER PRIMARY KEY,"
	" request_id TEXT NOT NULL, session TEXT NOT NULL,"
	" experiment TEXT NOT NULL, template TEXT NOT NULL,"
	" version TEXT NOT NULL, factors TEXT NOT NULL, position INTEGER,"
	/* OR, not IN: an IN list costs a temporary table per insert */
	" tier TEXT NOT NULL CHECK (tier = 'cache' OR tier = 'fresh'"
	"  OR tier = 'pool' OR tier = 'relaxed'),"
	" similarity REAL NOT NULL,"
	" scenario INTEGER NOT NULL REFERENCES scenarios(id),"
	" account TEXT, latency_ms REAL NOT NULL,"
	" served_at REAL NOT NULL,"
	" forced_fresh INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX servings_session ON servings(session);"
	"CREATE INDEX servings_time ON servings(served_at);"
	"CREATE TABLE jobs("
	" id INTEGER PRIMARY KEY,"
	" jid TEXT NOT NULL UNIQUE,"
	" state TEXT NOT NULL CHECK (state = 'queued' OR state = 'running'"
	"  OR state = 'done' OR state = 'failed' OR state = 'cancelled'),"
	" session TEXT, request_id TEXT,"
	" experiment TEXT NOT NULL, template TEXT NOT NULL,"
	" version TEXT NOT NULL, key BLOB NOT NULL,"
	" factors TEXT NOT NULL, position INTEGER,"
	" origin TEXT NOT NULL,"
	" created_at REAL NOT NULL, started_at REAL, finished_at REAL,"
	" attempts INTEGER NOT NULL DEFAULT 0, account TEXT, error TEXT,"
	" scenario INTEGER REFERENCES scenarios(id),"
	" owner_pid INTEGER);"
	"CREATE INDEX jobs_open ON jobs(state)"
	" WHERE state IN ('queued', 'running');"
	"CREATE INDEX jobs_created ON jobs(created_at);"
	"CREATE INDEX scenarios_created ON scenarios(origin, created_at);"
	"CREATE TABLE calls("
	" id INTEGER PRIMARY KEY,"
	" account TEXT NOT NULL, at REAL NOT NULL,"
	" tokens INTEGER NOT NULL, status INTEGER NOT NULL DEFAULT 0,"
	" job INTEGER);"
	"CREATE INDEX calls_account_at ON calls(account, at);"
	"CREATE TABLE accounts("
	" name TEXT PRIMARY KEY,"
	" cooldown_until REAL NOT NULL DEFAULT 0,"
	" set_aside_until REAL NOT NULL DEFAULT 0,"
	" breaker TEXT NOT NULL DEFAULT 'closed',"
	" failures INTEGER NOT NULL DEFAULT 0,"
	" opened_at REAL NOT NULL DEFAULT 0,"
	" day_remaining INTEGER, day_seen_at REAL, day_reset_at REAL,"
	" tok_remaining INTEGER, tok_seen_at REAL, tok_reset_at REAL,"
	" lim_rpm INTEGER NOT NULL DEFAULT 0, lim_rpd INTEGER NOT NULL DEFAULT 0,"
	" lim_tpm INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE counters("
	" hour INTEGER NOT NULL, name TEXT NOT NULL,"
	" n INTEGER NOT NULL, PRIMARY KEY (hour, name)) WITHOUT ROWID;"
	"CREATE TABLE events("
	" id INTEGER PRIMARY KEY, at REAL NOT NULL, kind TEXT NOT NULL,"
	" account TEXT, detail TEXT);"
	"CREATE INDEX events_at ON events(at);",
	/* 2: a checksum binding each text to its key, so that a damaged
	 * row is never served (rows stored before are hashed now); the
	 * uids of replayed spool records */
	"ALTER TABLE scenarios ADD COLUMN text_hash INTEGER;"
	"UPDATE scenarios SET text_hash = scen_text_hash(key, text);"
	"CREATE TABLE spool_replayed("
	" uid TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;",
	/* 3: the provider's verdict on each account's key, tied to the key's
	 * fingerprint (never the key), so that a refusal outlives the run */
	"ALTER TABLE accounts ADD COLUMN key_fp TEXT;"
	"ALTER TABLE accounts ADD COLUMN key_verdict TEXT"
	" CHECK (key_verdict = 'accepted' OR key_verdict = 'refused');"
	"ALTER TABLE accounts ADD COLUMN key_verdict_at REAL;",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

enum stmt_id {
	ST_COUNTER,
	ST_EVENT,
	ST_TEMPLATE,
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

static const char *const stmt_sql[ST_COUNT] = {
	[ST_COUNTER] = "INSERT INTO counters(hour, name, n) VALUES (?1, ?2, ?3)"
		" ON CONFLICT(hour, name) DO UPDATE SET n = n + excluded.n",
	[ST_EVENT] = "INSERT INTO events(at, kind, account, detail)"
		" VALUES (?1, ?2, ?3, ?4)",
	[ST_TEMPLATE] = "INSERT OR IGNORE INTO templates(version, experiment,"
		" template, system, prompt, model, temperature, max_tokens,"
		" validate, factors, position, registered_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[ST_LOAD] = "SELECT id, key, factors, position, serves, origin,"
		" created_at FROM scenarios WHERE version = ?1"
		" AND quarantined = 0",
	[ST_NEW_SCN] = "SELECT id, key, factors, position, serves, origin,"
		" created_at, version FROM scenarios WHERE id > ?1"
		" AND quarantined = 0 ORDER BY id",
	[ST_NEW_SERVINGS] = "SELECT id, session, scenario FROM servings"
		" WHERE id > ?1 ORDER BY id",
	[ST_SESSION] = "SELECT scenario FROM servings WHERE session = ?1",
	[ST_INSERT_SCN] = "INSERT INTO scenarios(sid, experiment, template,"
		" version, key, factors, position, text, model, account,"
		" prompt_hash, origin, finish_reason, prompt_tokens,"
		" completion_tokens, created_at, job, text_hash) VALUES (?1,"
		" ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
		" ?16, ?17, ?18)",
	[ST_SCN_BY_JOB] = "SELECT id, sid FROM scenarios WHERE job = ?1",
	[ST_GET_SCN] = "SELECT sid, text, model, account, created_at, origin,"
		" version, key, factors, position, text_hash"
		" FROM scenarios WHERE id = ?1",
	[ST_INSERT_SERVING] = "INSERT INTO servings(request_id, session,"
		" experiment, template, version, factors, position, tier,"
		" similarity, scenario, account, latency_ms, served_at,"
		" forced_fresh) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
		" ?10, ?11, ?12, ?13, ?14)",
	[ST_SERVED] = "UPDATE scenarios SET serves = serves + ?2 WHERE id = ?1",
	[ST_ACCT_INIT] = "INSERT OR IGNORE INTO accounts(name) VALUES (?1)",
	[ST_ACCT_GET] = "SELECT cooldown_until, set_aside_until, breaker,"
		" failures, opened_at, day_remaining, day_seen_at,"
		" day_reset_at, tok_remaining, tok_seen_at, tok_reset_at,"
		" lim_rpm, lim_rpd, lim_tpm, key_fp, key_verdict,"
		" key_verdict_at FROM accounts WHERE name = ?1",
	[ST_ACCT_PUT] = "UPDATE accounts SET cooldown_until = ?2,"
		" set_aside_until = ?3, breaker = ?4, failures = ?5,"
		" opened_at = ?6, day_remaining = ?7, day_seen_at = ?8,"
		" day_reset_at = ?9, tok_remaining = ?10, tok_seen_at = ?11,"
		" tok_reset_at = ?12, lim_rpm = ?13, lim_rpd = ?14, lim_tpm = ?15,"
		" key_fp = ?16, key_verdict = ?17, key_verdict_at = ?18"
		" WHERE name = ?1",
	/* windows of 60.25 s and 3600.25 s: a quarter second of margin
	 * for clocks and delivery (settled calls count from their answer's
	 * time, see ST_CALL_SETTLE) */
	[ST_USAGE] = "SELECT count(*) FILTER (WHERE at > ?2 - 60.25),"
		" count(*) FILTER (WHERE at > ?2 - 3600.25),"
		" count(*) FILTER (WHERE at >= ?3),"
		" coalesce(sum(tokens) FILTER (WHERE at > ?2 - 60.25), 0),"
		" min(at) FILTER (WHERE at > ?2 - 60.25),"
		" min(at) FILTER (WHERE at > ?2 - 3600.25),"
		" min(at) FILTER (WHERE at >= ?3),"
		" count(*) FILTER (WHERE at > ?4),"
		" coalesce(sum(tokens) FILTER (WHERE at > ?5), 0)"
		" FROM calls WHERE account = ?1 AND status <> 429"
		" AND at > min(?2 - 3601, ?3, ?4, ?5) - 1",
	[ST_CALL_RESERVE] = "INSERT INTO calls(account, at, tokens, job)"
		" VALUES (?1, ?2, ?3, ?4)",
	[ST_JOB_INSERT] = "INSERT INTO jobs(jid, state, session, request_id,"
		" experiment, template, version, key, factors, position, origin,"
		" created_at, owner_pid) VALUES (?1, 'queued', ?2, ?3, ?4, ?5,"
		" ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[ST_JOB_UPDATE] = "UPDATE jobs SET"
		" state = CASE WHEN state = 'cancelled' THEN state ELSE ?2 END,"
		" started_at = CASE WHEN ?2 = 'running'"
		"  THEN coalesce(started_at, ?3) ELSE started_at END,"
		" finished_at = CASE WHEN ?2 IN ('done', 'failed', 'cancelled')"
		"  THEN ?3 ELSE finished_at END,"
		" account = coalesce(?4, account),"
		" attempts = max(attempts, ?5),"
		" error = coalesce(?6, error),"
		" scenario = coalesce(?7, scenario) WHERE id = ?1",
	[ST_JOB_GET] = "SELECT id, jid, state, session, request_id,"
		" experiment, template, version, factors, position, origin,"
		" scenario, error, created_at, owner_pid FROM jobs WHERE jid = ?1",
	[ST_JOBS_OPEN] = "SELECT id, jid, state, session, request_id,"
		" experiment, template, version, factors, position, origin,"
		" scenario, error, created_at, owner_pid FROM jobs"
		" WHERE state IN ('queued', 'running') ORDER BY id",
	[ST_JOB_OWN] = "UPDATE jobs SET owner_pid = ?2, state = 'queued'"
		" WHERE id = ?1",
	/* a settled call counts from when its answer came: the provider
	 * counted it on arrival, which was no later */
	[ST_CALL_SETTLE] = "UPDATE calls SET status = ?2, at = max(at, ?4),"
		" tokens = CASE WHEN ?3 < 0 THEN tokens ELSE ?3 END WHERE id = ?1",
	[ST_SCN_BY_SID] = "SELECT id FROM scenarios WHERE sid = ?1",
	[ST_SPOOL_MARK] = "INSERT INTO spool_replayed(uid, at) VALUES (?1, ?2)"
		" ON CONFLICT(uid) DO NOTHING",
};

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
	long fail_after;		/* SCEN_DB_FAIL_AFTER, or -1 */
};

int scen_db_schema_version(void)
{
	return NMIGRATIONS;
}

const char *scen_db_path(const struct scen_db *db)
{
	return db->path;
}

sqlite3 *scen_db_handle(struct scen_db *db)
{
	return db->h;
}

static int db_fail(struct scen_db *db, const char *what)
{
	return scen_error("%s: %s: %s", db->path, what, sqlite3_errmsg(db->h));
}

static sqlite3_stmt *db_stmt(struct scen_db *db, enum stmt_id id)
{
	if (!db->st[id]) {
		if (sqlite3_prepare_v3(db->h, stmt_sql[id], -1,
				       SQLITE_PREPARE_PERSISTENT, &db->st[id],
				       NULL) != SQLITE_OK) {
			scen_error("%s: cannot prepare \"%s\": %s", db->path,
				   stmt_sql[id], sqlite3_errmsg(db->h));
			return NULL;
		}
	}
	return db->st[id];
}

/* Notes why a write failed (the first reason since the last begin). */
static void note_write_failure(struct scen_db *db, int rc)
{
	if (db->trouble)
		return;
	switch (rc & 0xff) {
	case SQLITE_FULL:
		db->trouble = SCEN_DB_FULL;
		break;
	case SQLITE_READONLY:
		db->trouble = SCEN_DB_READ_ONLY;
		break;
	case SQLITE_IOERR:
		if (rc != SQLITE_IOERR_READ && rc != SQLITE_IOERR_SHORT_READ)
			db->trouble = SCEN_DB_WRITE_ERROR;
		break;
	}
}

/* Steps a statement that returns no rows (or ignores them) and resets it;
 * reports the failing statement. */
static int db_run(struct scen_db *db, sqlite3_stmt *st)
{
	int write = !sqlite3_stmt_readonly(st);
	/* SQLITE_FULL and SQLITE_IOERR may roll the whole transaction back;
	 * a write after that would commit on its own, outside the turn it
	 * belongs to */
	if (write && db->in_tx && sqlite3_get_autocommit(db->h)) {
		scen_error("%s: \"%.80s\": not run: an earlier error rolled "
			   "the transaction back", db->path, sqlite3_sql(st));
		return -1;
	}
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		rc = sqlite3_extended_errcode(db->h);
		scen_error("%s: \"%.80s\": %s", db->path, sqlite3_sql(st),
			   sqlite3_errmsg(db->h));
		sqlite3_reset(st);
		if (write)
			note_write_failure(db, rc);
		return -1;
	}
	sqlite3_reset(st);
	return 0;
}

static int db_exec(struct scen_db *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		note_write_failure(db, sqlite3_extended_errcode(db->h));
		scen_error("%s: \"%.60s\": %s", db->path, sql,
			   msg ? msg : sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int64_t db_int(struct scen_db *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Whether the file is scen's to use (see scen_db_open): read before
 * anything is written, so that another program's database is refused
 * untouched. */
static int check_owner(struct scen_db *db, int *exit_code)
{
	int64_t app = db_int(db, "PRAGMA application_id");
	int64_t v = db_int(db, "PRAGMA user_version");
	int64_t n = db_int(db, "SELECT count(*) FROM sqlite_schema");
	int64_t ours = db_int(db, "SELECT count(*) FROM sqlite_schema"
			      " WHERE type = 'table' AND name IN"
			      " ('templates', 'scenarios', 'servings')");
	if (app < 0 || v < 0 || n < 0 || ours < 0) {
		*exit_code = SCEN_EX_IOERR;
		return db_fail(db, "cannot read the schema");
	}
	if (app == SCEN_DB_APPLICATION_ID ||
	    (app == 0 && ((n == 0 && v == 0) || (v > 0 && ours == 3))))
		return 0;
	*exit_code = SCEN_EX_DATAERR;
	if (app)
		return scen_error("%s: not a scen database (application_id "
				  "0x%08llx, another program's); left as it "
				  "is", db->path, (long long)(uint32_t)app);
	return scen_error("%s: not a scen database (it holds tables, not "
			  "scen's); left as it is", db->path);
}

static int marked(struct scen_db *db)
{
	return db_int(db, "PRAGMA application_id") == SCEN_DB_APPLICATION_ID;
}

static int migrate(struct scen_db *db, int readonly, int *exit_code)
{
	int64_t v = db_int(db, "PRAGMA user_version");
	if (v < 0) {
		*exit_code = SCEN_EX_IOERR;
		return scen_error("%s: not a scen database (%s)", db->path,
				  sqlite3_errmsg(db->h));
	}
	if (v > NMIGRATIONS) {
		*exit_code = SCEN_EX_CONFIG;
		return scen_error("%s: schema version %lld is newer than this "
				  "scen understands (%d); use a newer scen",
				  db->path, (long long)v, NMIGRATIONS);
	}
	/* a database of this schema made before the mark is marked by
	 * the next read-write open */
	if (v == NMIGRATIONS && (readonly || marked(db)))
		return 0;
	if (readonly) {
		*exit_code = SCEN_EX_IOERR;
		return scen_error("%s: schema version %lld needs migrating; "
				  "run scen-serve-stdin or scen-gen once",
				  db->path, (long long)v);
	}
	if (db_exec(db, "BEGIN IMMEDIATE") < 0)
		goto io;
	v = db_int(db, "PRAGMA user_version");
	for (; v < NMIGRATIONS; v++) {
		if (db_exec(db, migrations[v]) < 0) {
			db_exec(db, "ROLLBACK");
			goto io;
		}
	}
	char sql[96];
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d;"
		 "PRAGMA application_id = %d", NMIGRATIONS,
		 SCEN_DB_APPLICATION_ID);
	if (db_exec(db, sql) < 0 || db_exec(db, "COMMIT") < 0) {
		db_exec(db, "ROLLBACK");
		goto io;
	}
	return 0;
io:
	*exit_code = SCEN_EX_IOERR;
	return -1;
}

/* Switches to WAL. The switch takes an exclusive lock that the busy
 * handler does not wait for, so two processes creating the database at
 * once retry here. */
static int set_wal(struct scen_db *db)
{
	for (int i = 0; i < 200; i++) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db->h, "PRAGMA journal_mode = WAL", -1,
				       &st, NULL) != SQLITE_OK)
			break;
		int r = sqlite3_step(st);
		const char *mode = r == SQLITE_ROW
			? (const char *)sqlite3_column_text(st, 0) : NULL;
		int wal = mode && !strcmp(mode, "wal");
		sqlite3_finalize(st);
		if (wal)
			return 0;
		if ((r & 0xff) != SQLITE_BUSY && (r & 0xff) != SQLITE_LOCKED)
			break;
		usleep(50000);
	}
	return db_fail(db, "cannot switch to WAL mode");
}

static int64_t text_hash(const void *key, size_t klen, const void *text,
			 size_t n)
{
	return (int64_t)XXH3_64bits_withSeed(text, n, XXH3_64bits(key, klen));
}

/* SQL scen_text_hash(key, text): the checksum stored with each text (for
 * the migration that hashes rows stored before it, and for checks). */
static void sql_text_hash(sqlite3_context *ctx, int argc, sqlite3_value **v)
{
	(void)argc;
	if (sqlite3_value_type(v[0]) == SQLITE_NULL ||
	    sqlite3_value_type(v[1]) == SQLITE_NULL) {
		sqlite3_result_null(ctx);
		return;
	}
	const void *key = sqlite3_value_blob(v[0]);
	size_t klen = (size_t)sqlite3_value_bytes(v[0]);
	const void *text = sqlite3_value_text(v[1]);
	size_t n = (size_t)sqlite3_value_bytes(v[1]);
	sqlite3_result_int64(ctx, text_hash(key ? key : "", klen,
					    text ? text : "", n));
}

/* The structure of every page (not the texts: their checksums are
 * checked when read). A file too large for this at each start is checked
 * by its reads, and by scen-cache-stats --verify. */
static int quick_check(struct scen_db *db)
{
	struct stat st;
	if (stat(db->path, &st) == 0 && st.st_size > SCEN_DB_QUICK_CHECK_MAX) {
		scen_debug("%s: %lld bytes: no quick_check at open", db->path,
			   (long long)st.st_size);
		return 0;
	}
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(db->h, "PRAGMA quick_check(1)", -1, &q,
			       NULL) != SQLITE_OK)
		return db_fail(db, "cannot check the database");
	int r = sqlite3_step(q);
	const char *res = r == SQLITE_ROW
		? (const char *)sqlite3_column_text(q, 0) : NULL;
	int rc = 0;
	if (!res || strcmp(res, "ok")) {
		/* one line: SQLite's report may hold newlines */
		char *why = xstrdup(res ? res : sqlite3_errmsg(db->h));
		for (char *c = why; *c; c++)
			if (*c == '\n')
				*c = ' ';
		rc = scen_error("%s: the database is damaged (%s); "
				"scen-cache-stats --verify tells more; "
				"restore it from a copy", db->path, why);
		free(why);
	}
	sqlite3_finalize(q);
	return rc;
}

/* A number from the environment, or -1 when unset or not one. */
static long env_long(const char *name)
{
	const char *v = getenv(name);
	char *end;
	if (!v || !*v)
		return -1;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || n < 0) {
		scen_warn("%s=%s is not a number; ignored", name, v);
		return -1;
	}
	return n;
}

/* The testing aids of db.h. */
static int test_hooks(struct scen_db *db)
{
	long pages = env_long("SCEN_DB_MAX_PAGES");
	if (pages >= 0) {
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA max_page_count = %ld",
			 pages);
		if (db_int(db, sql) < 0)
			return db_fail(db, "cannot set max_page_count");
	}
	db->fail_after = env_long("SCEN_DB_FAIL_AFTER");
	return 0;
}

/* Whether this process may write path and create files beside it. */
static int may_write_beside(const char *path)
{
	char *copy = xstrdup(path);
	int ok = access(path, W_OK) == 0 && access(dirname(copy), W_OK) == 0;
	free(copy);
	return ok;
}

static int exists_beside(const char *path, const char *suffix)
{
	char *p = xasprintf("%s%s", path, suffix);
	int yes = access(p, F_OK) == 0;
	free(p);
	return yes;
}

/* A file:...?immutable=1 URI for path (malloc'd): SQLite reads the file
 * alone, without locks, and creates nothing beside it. */
static char *immutable_uri(const char *path)
{
	struct strbuf sb;
	sb_init(&sb);
	/* "file:///abs" or "file:rel": an empty authority before a path
	 * that starts with "//" */
	sb_adds(&sb, path[0] == '/' ? "file://" : "file:");
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		if (strchr("/._~-", *c) || (*c >= '0' && *c <= '9') ||
		    ((*c | 0x20) >= 'a' && (*c | 0x20) <= 'z'))
			sb_addc(&sb, (char)*c);
		else
			sb_addf(&sb, "%%%02X", *c);
	}
	sb_adds(&sb, "?immutable=1");
	return sb.buf;	/* sb's buffer, handed over */
}

/* Opens the connection: read-write (creating the file 0600 when
 * missing), read-only, or read-only as an immutable file. */
static int open_handle(struct scen_db *db, int readonly, int immutable)
{
	const char *path = db->path;
	if (!readonly) {
		/* create it 0600 ourselves: SQLite would use the umask */
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return scen_error("%s: cannot open: %s", path,
					  strerror(errno));
		close(fd);
	} else if (access(path, R_OK) != 0) {
		return scen_error("%s: cannot open: %s", path,
				  strerror(errno));
	}
	sqlite3_close(db->h);
	db->h = NULL;
	char *name = immutable ? immutable_uri(path) : xstrdup(path);
	int oflags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	oflags |= immutable ? SQLITE_OPEN_URI : 0;
	int rc = sqlite3_open_v2(name, &db->h, oflags | SQLITE_OPEN_NOMUTEX,
				 NULL);
	free(name);
	if (rc != SQLITE_OK)
		return db_fail(db, "cannot open");
	sqlite3_busy_timeout(db->h, 10000);
	sqlite3_extended_result_codes(db->h, 1);
	if (sqlite3_create_function(db->h, "scen_text_hash", 2,
				    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				    sql_text_hash, NULL, NULL) != SQLITE_OK)
		return db_fail(db, "cannot register scen_text_hash");
	return 0;
}

/*
 * A read-only open (see scen_db_open) creates nothing until the file
 * proves scen's, and nothing at all when the process may not write beside
 * it: a -shm made by a reader that may not write the database would stop
 * its owner's writers. So it reads the -wal and -shm a writer keeps there
 * (SQLite reads a -shm it may not write as such), and when there are none,
 * the file alone (immutable); a reader that may write beside it then
 * reopens it the usual way, which guards its reads against writers.
 */
static int open_for(struct scen_db *db, int readonly, int *exit_code)
{
	int alone = readonly && !exists_beside(db->path, "-wal") &&
		    !exists_beside(db->path, "-shm") &&
		    !exists_beside(db->path, "-journal");
	if (open_handle(db, readonly, alone) < 0)
		return -1;
	/* A quick read tells a non-database file before anything changes. */
	if (db_int(db, "SELECT count(*) FROM sqlite_schema") < 0)
		return scen_error("%s: not a usable SQLite database: %s",
				  db->path, sqlite3_errmsg(db->h));
	if (check_owner(db, exit_code) < 0)
		return -1;
	*exit_code = SCEN_EX_IOERR;
	if (alone && may_write_beside(db->path))
		return open_handle(db, readonly, 0);
	return 0;
}

struct scen_db *scen_db_open(const char *path, int flags, int *exit_code)
{
	int readonly = flags & SCEN_DB_READONLY;
	struct scen_db *db = xcalloc(1, sizeof *db);
	db->path = xstrdup(path);
	sb_init(&db->sb);
	scen_map_init(&db->counts);
	scen_map_init(&db->served);
	*exit_code = SCEN_EX_IOERR;

	db->fail_after = -1;
	if (open_for(db, readonly, exit_code) < 0)
		goto fail;
	/* a process that writes checks the pages it will write into; one
	 * that only reads meets damage as read errors (and --verify is
	 * there to report it) */
	if (!readonly && quick_check(db) < 0)
		goto fail;
	if (!readonly && (set_wal(db) < 0 ||
			  db_exec(db, "PRAGMA synchronous = NORMAL") < 0))
		goto fail;
	/* 64 MiB of page cache: large databases stay at memory speed */
	if (db_exec(db, "PRAGMA cache_size = -65536") < 0)
		goto fail;
	if (db_exec(db, "PRAGMA foreign_keys = ON") < 0)
		goto fail;
	if (migrate(db, readonly, exit_code) < 0)
		goto fail;
	*exit_code = SCEN_EX_IOERR;
	if (!readonly && test_hooks(db) < 0)
		goto fail;
	if (readonly) {
		char *spool = xasprintf("%s.spool", path);
		if (access(spool, F_OK) == 0)
			scen_warn("%s holds servings not yet in the database "
				  "(spooled while it could not be written); "
				  "the next scen-serve-stdin, scen-gen or "
				  "scen-pool-fill adds them", spool);
		free(spool);
	} else {
		scen_spool_replay(db);
	}
	*exit_code = 0;
	return db;
fail:
	scen_db_close(db);
	return NULL;
}

void scen_db_close(struct scen_db *db)
{
	if (!db)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(db->st[i]);
	if (db->h)
		sqlite3_close(db->h);
	scen_map_release(&db->counts);
	scen_map_release(&db->served);
	sb_release(&db->sb);
	free(db->path);
	free(db);
}

int scen_db_begin(struct scen_db *db)
{
	db->trouble = SCEN_DB_OK;
	if (db_exec(db, "BEGIN IMMEDIATE") < 0)
		return -1;
	db->in_tx = 1;
	return 0;
}

int scen_db_begin_quiet(struct scen_db *db)
{
	db->trouble = SCEN_DB_OK;
	if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
		    SQLITE_OK &&
	    sqlite3_exec(db->h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return 0;
	db->in_tx = 1;
	return 1;
}

enum scen_db_trouble scen_db_write_trouble(const struct scen_db *db)
{
	return db->trouble;
}

const char *scen_db_trouble_name(enum scen_db_trouble t)
{
	switch (t) {
	case SCEN_DB_FULL:
		return "database full";
	case SCEN_DB_READ_ONLY:
		return "database read-only";
	case SCEN_DB_WRITE_ERROR:
		return "database write error";
	default:
		return "database writable";
	}
}

static int flush_counts(struct scen_db *db)
{
	if (!db->counts.len)
		return 0;
	sqlite3_stmt *st = db_stmt(db, ST_COUNTER);
	if (!st)
		return -1;
	int64_t hour = (int64_t)(scen_now() / 3600);
	int rc = 0;
	for (size_t i = 0; i < db->counts.cap; i++) {
		struct scen_map_slot *s = &db->counts.slots[i];
		if (!s->hash || !s->value)
			continue;
		sqlite3_bind_int64(st, 1, hour);
		sqlite3_bind_text(st, 2, s->key, (int)s->klen, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (int64_t)s->value);
		if (db_run(db, st) < 0)
			rc = -1;
		s->value = 0;
	}
	return rc;
}

/* Writes the serving counts of the scenarios served in this transaction:
 * one update per scenario, not per serving (the rows hold the texts). */
static int flush_served(struct scen_db *db)
{
	if (!db->served.len)
		return 0;
	sqlite3_stmt *st = db_stmt(db, ST_SERVED);
	if (!st)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < db->served.cap; i++) {
		struct scen_map_slot *s = &db->served.slots[i];
		if (!s->hash)
			continue;
		int64_t id;
		memcpy(&id, s->key, sizeof id);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (int64_t)s->value);
		if (db_run(db, st) < 0)
			rc = -1;
	}
	scen_map_release(&db->served);
	scen_map_init(&db->served);
	return rc;
}

int scen_db_commit(struct scen_db *db)
{
	if (db->fail_after >= 0 && db->commits >= db->fail_after) {
		scen_error("%s: \"COMMIT\": attempt to write a readonly "
			   "database (SCEN_DB_FAIL_AFTER=%ld)", db->path,
			   db->fail_after);
		note_write_failure(db, SQLITE_READONLY);
		scen_db_rollback(db);
		return -1;
	}
	if (flush_counts(db) < 0 || flush_served(db) < 0 ||
	    db_exec(db, "COMMIT") < 0) {
		scen_db_rollback(db);
		return -1;
	}
	db->in_tx = 0;
	db->commits++;
	return 0;
}

void scen_db_rollback(struct scen_db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	for (size_t i = 0; i < db->counts.cap; i++)
		db->counts.slots[i].value = 0;
	scen_map_release(&db->served);
	scen_map_init(&db->served);
	db->in_tx = 0;
}

void scen_db_count(struct scen_db *db, const char *name, long n)
{
	*scen_map_put(&db->counts, name, strlen(name), NULL) += (uint64_t)n;
}

void scen_db_take_counts(struct scen_db *db,
			 void (*fn)(void *ctx, const char *name, size_t len,
				    long n),
			 void *ctx)
{
	for (size_t i = 0; i < db->counts.cap; i++) {
		struct scen_map_slot *s = &db->counts.slots[i];
		if (!s->hash || !s->value)
			continue;
		fn(ctx, s->key, s->klen, (long)s->value);
		s->value = 0;
	}
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

int scen_db_event(struct scen_db *db, const char *kind, const char *account,
		  const char *detail)
{
	sqlite3_stmt *st = db_stmt(db, ST_EVENT);
	if (!st)
		return -1;
	sqlite3_bind_double(st, 1, scen_now());
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	bind_text_or_null(st, 3, account);
	bind_text_or_null(st, 4, detail);
	return db_run(db, st);
}

static void json_strs(struct strbuf *sb, char **v, size_t n)
{
	sb_addc(sb, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_addc(sb, ',');
		sb_add_json_str(sb, v[i], strlen(v[i]));
	}
	sb_addc(sb, ']');
}

int scen_db_register_templates(struct scen_db *db,
			       const struct scen_config *cfg)
{
	sqlite3_stmt *st = db_stmt(db, ST_TEMPLATE);
	struct strbuf v, f, p;
	if (!st)
		return -1;
	sb_init(&v);
	sb_init(&f);
	sb_init(&p);
	int rc = 0;
	for (size_t i = 0; i < cfg->nexperiments && !rc; i++) {
		const struct scen_experiment *e = &cfg->experiments[i];
		for (size_t j = 0; j < e->ntemplates && !rc; j++) {
			const struct scen_template *t = &e->templates[j];
			sb_reset(&v);
			sb_addf(&v, "{\"min_chars\":%ld,\"max_chars\":%ld,"
				"\"reject\":", t->validate.min_chars,
				t->validate.max_chars);
			json_strs(&v, t->validate.reject, t->validate.nreject);
			sb_addc(&v, '}');
			sb_reset(&f);
			sb_addc(&f, '{');
			for (size_t k = 0; k < t->nfactors; k++) {
				const struct scen_factor *fa = &t->factors[k];
				if (k)
					sb_addc(&f, ',');
				sb_add_json_str(&f, fa->name,
						strlen(fa->name));
				sb_adds(&f, ":{\"levels\":");
				json_strs(&f, fa->levels, fa->nlevels);
				if (fa->soft) {
					sb_adds(&f, ",\"weight\":");
					sb_add_json_double(&f, fa->weight);
				}
				sb_addc(&f, '}');
			}
			sb_addc(&f, '}');
			sb_reset(&p);
			if (t->position.declared) {
				sb_addf(&p, "{\"min\":%ld,\"max\":%ld",
					t->position.min, t->position.max);
				if (t->position.soft) {
					sb_adds(&p, ",\"weight\":");
					sb_add_json_double(&p,
							   t->position.weight);
				}
				sb_addc(&p, '}');
			}
			sqlite3_bind_text(st, 1, t->version_hex, -1,
					  SQLITE_STATIC);
			sqlite3_bind_text(st, 2, e->name, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, t->name, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, e->system, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 5, t->prompt, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 6, cfg->provider.model, -1,
					  SQLITE_STATIC);
			sqlite3_bind_double(st, 7, cfg->provider.temperature);
			sqlite3_bind_int64(st, 8, cfg->provider.max_tokens);
			sqlite3_bind_text(st, 9, v.buf, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 10, f.buf, -1, SQLITE_STATIC);
			if (p.len)
				sqlite3_bind_text(st, 11, p.buf, -1,
						  SQLITE_STATIC);
			else
				sqlite3_bind_null(st, 11);
			sqlite3_bind_double(st, 12, scen_now());
			rc = db_run(db, st);
		}
	}
	sb_release(&v);
	sb_release(&f);
	sb_release(&p);
	return rc;
}

int scen_db_template_known(struct scen_db *db, const char *experiment,
			   const char *template_name)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->h, "SELECT 1 FROM templates"
			       " WHERE (?1 IS NULL OR experiment = ?1)"
			       " AND (?2 IS NULL OR template = ?2) LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, "cannot read the templates");
	sqlite3_bind_text(st, 1, experiment, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, template_name, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return db_fail(db, "cannot read the templates");
	return r == SQLITE_ROW;
}

static int parse_levels_json(const struct scen_template *t, const char *json,
			     uint16_t *levels)
{
	json_t *o = json_loads(json, 0, NULL);
	int rc = o && json_is_object(o) ? 0 : -1;
	for (size_t i = 0; i < t->nfactors && !rc; i++) {
		json_t *v = json_object_get(o, t->factors[i].name);
		int li = json_is_string(v)
			? scen_factor_level(&t->factors[i], json_string_value(v))
			: -1;
		if (li < 0)
			rc = -1;
		else
			levels[i] = (uint16_t)li;
	}
	json_decref(o);
	return rc;
}

/* Level indices of a stored factors object for template t; -1 when a
 * factor or level is no longer declared (the row cannot match). */
static int parse_levels(const struct scen_template *t, const char *json,
			uint16_t *levels)
{
	/* The stored form is the canonical {"name":"level",...} written by
	 * scen_request_factors_json, sorted by name like t->factors. Without
	 * escapes it is read in place; with them, by the JSON parser. */
	if (strchr(json, '\\'))
		return parse_levels_json(t, json, levels);
	const char *p = json;
	for (size_t i = 0; i < t->nfactors; i++) {
		const char *k = strchr(p, '"');
		if (!k)
			return -1;
		const char *ke = strchr(k + 1, '"');
		if (!ke)
			return -1;
		const char *vs = strchr(ke + 1, '"');
		if (!vs)
			return -1;
		/* levels never hold quotes or backslashes in practice; when
		 * one does, the row is matched by key only (exact tier) */
		const char *ve = strchr(vs + 1, '"');
		if (!ve)
			return -1;
		const struct scen_factor *f = &t->factors[i];
		if ((size_t)(ke - k - 1) != strlen(f->name) ||
		    memcmp(k + 1, f->name, (size_t)(ke - k - 1)))
			return -1;
		char lv[256];
		size_t n = (size_t)(ve - vs - 1);
		if (n >= sizeof lv)
			return -1;
		memcpy(lv, vs + 1, n);
		lv[n] = 0;
		int li = scen_factor_level(f, lv);
		if (li < 0)
			return -1;
		levels[i] = (uint16_t)li;
		p = ve + 1;
	}
	return 0;
}

/* Adds one row of ST_LOAD/ST_NEW_SCN (columns id, key, factors, position,
 * serves, origin, created_at) of template t to ix. */
static void add_row(sqlite3_stmt *st, const struct scen_template *t,
		    struct scen_index *ix)
{
	if (sqlite3_column_bytes(st, 1) != 16)
		return;
	const uint8_t *key = sqlite3_column_blob(st, 1);
	int64_t rowid = sqlite3_column_int64(st, 0);
	uint32_t serves = (uint32_t)sqlite3_column_int64(st, 4);
	int pool = !strcmp((const char *)sqlite3_column_text(st, 5), "pool");
	double created = sqlite3_column_double(st, 6);
	if (scen_index_add_to_cell(ix, key, rowid, serves, pool, created))
		return;
	/* the first row of its cell: read its factors, check its key */
	struct scen_request rq;
	memset(&rq, 0, sizeof rq);
	rq.exp = t->experiment;
	rq.tpl = t;
	const char *factors = (const char *)sqlite3_column_text(st, 2);
	if (!factors || parse_levels(t, factors, rq.levels) < 0)
		return;
	rq.position = (long)sqlite3_column_int64(st, 3);
	scen_request_keys(&rq);
	if (memcmp(key, rq.key, 16) != 0)
		return;	/* stored under another key: not ours to serve */
	struct scen_stored s = {
		.rowid = rowid,
		.tpl = t,
		.levels = rq.levels,
		.position = rq.position,
		.key = rq.key,
		.bucket = rq.bucket,
		.serves = serves,
		.pool = pool,
		.created_at = created,
	};
	scen_index_add(ix, &s);
}

int scen_db_load_index(struct scen_db *db, const struct scen_config *cfg,
		       struct scen_index *ix)
{
	sqlite3_stmt *st = db_stmt(db, ST_LOAD);
	if (!st)
		return -1;
	/* the marks first: rows committed while loading are caught up */
	db->seen_scn = db_int(db, "SELECT coalesce(max(id), 0) FROM scenarios");
	db->seen_serving =
		db_int(db, "SELECT coalesce(max(id), 0) FROM servings");
	int rc = 0;
	for (size_t i = 0; i < cfg->nexperiments; i++) {
		const struct scen_experiment *e = &cfg->experiments[i];
		for (size_t j = 0; j < e->ntemplates; j++) {
			const struct scen_template *t = &e->templates[j];
			sqlite3_bind_text(st, 1, t->version_hex, -1,
					  SQLITE_STATIC);
			int r;
			while ((r = sqlite3_step(st)) == SQLITE_ROW) {
				if (sqlite3_column_int64(st, 0) <= db->seen_scn)
					add_row(st, t, ix);
			}
			if (r != SQLITE_DONE)
				rc = db_fail(db, "loading scenarios");
			sqlite3_reset(st);
		}
	}
	return rc;
}

/* The template of cfg whose version is hex, or NULL. */
static const struct scen_template *template_of(const struct scen_config *cfg,
					       const char *hex)
{
	for (size_t i = 0; i < cfg->nexperiments; i++) {
		const struct scen_experiment *e = &cfg->experiments[i];
		for (size_t j = 0; j < e->ntemplates; j++)
			if (!strcmp(e->templates[j].version_hex, hex))
				return &e->templates[j];
	}
	return NULL;
}

/*
 * Servings first, then scenarios: a new scenario's serves column already
 * counts every serving committed with it, so the servings read here are
 * applied only to the scenarios the index held before (scen_index_served
 * ignores the others). Taken the other way round, a scenario stored and
 * served by another process since the last call was counted twice, and
 * could look spent to this one.
 */
int scen_db_catch_up(struct scen_db *db, const struct scen_config *cfg,
		     struct scen_index *ix)
{
	sqlite3_stmt *st = db_stmt(db, ST_NEW_SERVINGS);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, db->seen_serving);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		db->seen_serving = sqlite3_column_int64(st, 0);
		int64_t scn = sqlite3_column_int64(st, 2);
		scen_index_served(ix, scn);
		const char *sess = (const char *)sqlite3_column_text(st, 1);
		struct scen_session *s = scen_index_session(ix, sess);
		if (s->loaded)
			scen_session_add(s, scn);
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return db_fail(db, "reading new servings");
	st = db_stmt(db, ST_NEW_SCN);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, db->seen_scn);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		db->seen_scn = sqlite3_column_int64(st, 0);
		const struct scen_template *t =
			template_of(cfg, (const char *)sqlite3_column_text(st, 7));
		if (t)
			add_row(st, t, ix);
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return db_fail(db, "reading new scenarios");
	return 0;
}

int scen_db_session_load(struct scen_db *db, const char *session,
			 struct scen_session *s)
{
	if (s->loaded)
		return 0;
	sqlite3_stmt *st = db_stmt(db, ST_SESSION);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, session, -1, SQLITE_STATIC);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		scen_session_add(s, sqlite3_column_int64(st, 0));
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return db_fail(db, "reading a session");
	s->loaded = 1;
	return 0;
}

int scen_db_insert_scenario(struct scen_db *db, struct scen_scenario *s)
{
	const struct scen_request *rq = s->rq;
	if (s->job) {
		sqlite3_stmt *q = db_stmt(db, ST_SCN_BY_JOB);
		if (!q)
			return -1;
		sqlite3_bind_int64(q, 1, s->job);
		if (sqlite3_step(q) == SQLITE_ROW) {
			s->rowid = sqlite3_column_int64(q, 0);
			snprintf(s->sid, sizeof s->sid, "%s",
				 (const char *)sqlite3_column_text(q, 1));
			sqlite3_reset(q);
			return 1;
		}
		sqlite3_reset(q);
	}
	sqlite3_stmt *st = db_stmt(db, ST_INSERT_SCN);
	if (!st)
		return -1;
	snprintf(s->sid, sizeof s->sid, "sc-%016llx",
		 (unsigned long long)scen_random64());
	struct strbuf *sb = &db->sb;
	sb_reset(sb);
	scen_request_factors_json(rq, sb);
	char ph[17];
	snprintf(ph, sizeof ph, "%016llx",
		 (unsigned long long)scen_hash64(rq->key, 16));
	sqlite3_bind_text(st, 1, s->sid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rq->exp->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rq->tpl->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, rq->tpl->version_hex, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, rq->key, 16, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, sb->buf, (int)sb->len, SQLITE_STATIC);
	if (rq->tpl->position.declared)
		sqlite3_bind_int64(st, 7, rq->position);
	else
		sqlite3_bind_null(st, 7);
	sqlite3_bind_text(st, 8, s->text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, s->model, -1, SQLITE_STATIC);
	bind_text_or_null(st, 10, s->account);
	sqlite3_bind_text(st, 11, ph, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, s->origin, -1, SQLITE_STATIC);
	bind_text_or_null(st, 13, s->finish_reason);
	sqlite3_bind_int64(st, 14, s->prompt_tokens);
	sqlite3_bind_int64(st, 15, s->completion_tokens);
	sqlite3_bind_double(st, 16, s->created_at);
	if (s->job)
		sqlite3_bind_int64(st, 17, s->job);
	else
		sqlite3_bind_null(st, 17);
	sqlite3_bind_int64(st, 18, text_hash(rq->key, 16, s->text,
					     strlen(s->text)));
	if (db_run(db, st) < 0)
		return -1;
	s->rowid = sqlite3_last_insert_rowid(db->h);
	db->seen_scn = s->rowid;
	return 0;
}

/* Copies column i into buf (n bytes, truncating, NUL-terminated). */
static void col_copy(sqlite3_stmt *st, int i, char *buf, size_t n)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	size_t len = s ? (size_t)sqlite3_column_bytes(st, i) : 0;
	if (len >= n)
		len = n - 1;
	if (len)
		memcpy(buf, s, len);
	buf[len] = 0;
}

/* Why row st (of ST_GET_SCN) is not a sound scenario of template t, or
 * NULL when it is; fills out's levels and position. */
static const char *row_damage(sqlite3_stmt *st, const struct scen_template *t,
			      struct scen_scenario_row *out)
{
	const char *version = (const char *)sqlite3_column_text(st, 6);
	if (!version || strcmp(version, t->version_hex))
		return "not of the template version it is indexed under";
	const uint8_t *key = sqlite3_column_blob(st, 7);
	if (!key || sqlite3_column_bytes(st, 7) != 16)
		return "its key is damaged";
	const char *text = (const char *)sqlite3_column_text(st, 1);
	if (!text)
		return "its text is missing";
	if (sqlite3_column_type(st, 10) != SQLITE_NULL &&
	    sqlite3_column_int64(st, 10) !=
		    text_hash(key, 16, text,
			      (size_t)sqlite3_column_bytes(st, 1)))
		return "its text does not match its checksum";
	struct scen_request rq;
	memset(&rq, 0, sizeof rq);
	rq.exp = t->experiment;
	rq.tpl = t;
	const char *factors = (const char *)sqlite3_column_text(st, 8);
	if (!factors || parse_levels(t, factors, rq.levels) < 0)
		return "its factors are not the template's";
	rq.position = (long)sqlite3_column_int64(st, 9);
	scen_request_keys(&rq);
	if (memcmp(rq.key, key, 16))
		return "its factors do not give its key";
	memcpy(out->levels, rq.levels, sizeof out->levels);
	out->position = rq.position;
	return NULL;
}

int scen_db_scenario_get(struct scen_db *db, int64_t rowid,
			 const struct scen_template *t,
			 struct scen_scenario_row *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = db_stmt(db, ST_GET_SCN);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, rowid);
	int r = sqlite3_step(st);
	if (r != SQLITE_ROW) {
		sqlite3_reset(st);
		if (r == SQLITE_DONE) {
			scen_error("%s: scenario %lld is missing", db->path,
				   (long long)rowid);
			return SCEN_DB_DAMAGED;
		}
		return db_fail(db, "reading a scenario");
	}
	col_copy(st, 0, out->sid, sizeof out->sid);
	const char *why = row_damage(st, t, out);
	if (why) {
		scen_error("%s: scenario %s (row %lld) is damaged: %s; it is "
			   "not served", db->path, out->sid,
			   (long long)rowid, why);
		sqlite3_reset(st);
		return SCEN_DB_DAMAGED;
	}
	out->text = xstrndup((const char *)sqlite3_column_text(st, 1),
			     (size_t)sqlite3_column_bytes(st, 1));
	col_copy(st, 2, out->model, sizeof out->model);
	col_copy(st, 3, out->account, sizeof out->account);
	out->created_at = sqlite3_column_double(st, 4);
	col_copy(st, 5, out->origin, sizeof out->origin);
	sqlite3_reset(st);
	return 0;
}

int scen_db_insert_serving(struct scen_db *db, const struct scen_serving *s)
{
	const struct scen_request *rq = s->rq;
	sqlite3_stmt *st = db_stmt(db, ST_INSERT_SERVING);
	if (!st)
		return -1;
	struct strbuf *sb = &db->sb;
	sb_reset(sb);
	scen_request_factors_json(rq, sb);
	sqlite3_bind_text(st, 1, rq->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rq->session ? rq->session : "", -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rq->exp->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, rq->tpl->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, rq->tpl->version_hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, sb->buf, (int)sb->len, SQLITE_STATIC);
	if (rq->tpl->position.declared)
		sqlite3_bind_int64(st, 7, rq->position);
	else
		sqlite3_bind_null(st, 7);
	sqlite3_bind_text(st, 8, s->tier, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 9, s->similarity);
	sqlite3_bind_int64(st, 10, s->scenario);
	bind_text_or_null(st, 11, s->account);
	sqlite3_bind_double(st, 12, s->latency_ms);
	sqlite3_bind_double(st, 13, s->served_at);
	sqlite3_bind_int(st, 14, s->forced_fresh);
	if (db_run(db, st) < 0)
		return -1;
	db->seen_serving = sqlite3_last_insert_rowid(db->h);
	*scen_map_put(&db->served, &s->scenario, sizeof s->scenario, NULL) += 1;
	return 0;
}

/* Marks uid replayed: 1 when new, 0 when it was, -1 on error. */
static int spool_mark(struct scen_db *db, const char *uid)
{
	sqlite3_stmt *st = db_stmt(db, ST_SPOOL_MARK);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, uid, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, scen_now());
	if (db_run(db, st) < 0)
		return -1;
	return sqlite3_changes(db->h) > 0;
}

int scen_db_replay_serving(struct scen_db *db, const char *uid,
			   const struct scen_spooled *r)
{
	sqlite3_stmt *q = db_stmt(db, ST_SCN_BY_SID);
	sqlite3_stmt *st = db_stmt(db, ST_INSERT_SERVING);
	sqlite3_stmt *up = db_stmt(db, ST_SERVED);
	if (!q || !st || !up)
		return -1;
	sqlite3_bind_text(q, 1, r->scenario_sid, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	int64_t scn = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(db, "finding a spooled serving's scenario");
	if (!scn)
		return SCEN_DB_DAMAGED;
	int fresh = spool_mark(db, uid);
	if (fresh <= 0)
		return fresh;
	sqlite3_bind_text(st, 1, r->request_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->session, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->experiment, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->template_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->version, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->factors, -1, SQLITE_STATIC);
	if (r->has_position)
		sqlite3_bind_int64(st, 7, r->position);
	else
		sqlite3_bind_null(st, 7);
	sqlite3_bind_text(st, 8, r->tier, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 9, r->similarity);
	sqlite3_bind_int64(st, 10, scn);
	bind_text_or_null(st, 11, r->account);
	sqlite3_bind_double(st, 12, r->latency_ms);
	sqlite3_bind_double(st, 13, r->served_at);
	sqlite3_bind_int(st, 14, r->forced_fresh);
	if (db_run(db, st) < 0)
		return -1;
	db->seen_serving = sqlite3_last_insert_rowid(db->h);
	sqlite3_bind_int64(up, 1, scn);
	sqlite3_bind_int64(up, 2, 1);
	if (db_run(db, up) < 0)
		return -1;
	return 1;
}

int scen_db_replay_count(struct scen_db *db, const char *uid, int64_t hour,
			 const char *name, long n)
{
	sqlite3_stmt *st = db_stmt(db, ST_COUNTER);
	if (!st)
		return -1;
	int fresh = spool_mark(db, uid);
	if (fresh <= 0)
		return fresh;
	sqlite3_bind_int64(st, 1, hour);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, n);
	return db_run(db, st) < 0 ? -1 : 1;
}

void scen_db_col_key_verdict(sqlite3_stmt *st, int col,
			     struct scen_acct_state *a)
{
	const unsigned char *fp = sqlite3_column_text(st, col);
	const unsigned char *v = sqlite3_column_text(st, col + 1);
	a->key_fp[0] = a->key_verdict[0] = 0;
	a->key_verdict_at = 0;
	if (!fp || !v)
		return;
	snprintf(a->key_fp, sizeof a->key_fp, "%s", (const char *)fp);
	snprintf(a->key_verdict, sizeof a->key_verdict, "%s", (const char *)v);
	a->key_verdict_at = sqlite3_column_double(st, col + 2);
}

int scen_db_account_get(struct scen_db *db, const char *name,
			struct scen_acct_state *a)
{
	sqlite3_stmt *init = db_stmt(db, ST_ACCT_INIT);
	sqlite3_stmt *st = db_stmt(db, ST_ACCT_GET);
	if (!init || !st)
		return -1;
	memset(a, 0, sizeof *a);
	snprintf(a->breaker, sizeof a->breaker, "closed");
	/* read-only connections cannot create the row: defaults then */
	if (!sqlite3_db_readonly(db->h, "main")) {
		sqlite3_bind_text(init, 1, name, -1, SQLITE_STATIC);
		if (db_run(db, init) < 0)
			return -1;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		a->cooldown_until = sqlite3_column_double(st, 0);
		a->set_aside_until = sqlite3_column_double(st, 1);
		snprintf(a->breaker, sizeof a->breaker, "%s",
			 sqlite3_column_text(st, 2));
		a->failures = (long)sqlite3_column_int64(st, 3);
		a->opened_at = sqlite3_column_double(st, 4);
		a->has_day = sqlite3_column_type(st, 5) != SQLITE_NULL;
		a->day_remaining = (long)sqlite3_column_int64(st, 5);
		a->day_seen_at = sqlite3_column_double(st, 6);
		a->day_reset_at = sqlite3_column_double(st, 7);
		a->has_tok = sqlite3_column_type(st, 8) != SQLITE_NULL;
		a->tok_remaining = (long)sqlite3_column_int64(st, 8);
		a->tok_seen_at = sqlite3_column_double(st, 9);
		a->tok_reset_at = sqlite3_column_double(st, 10);
		a->lim_rpm = (long)sqlite3_column_int64(st, 11);
		a->lim_rpd = (long)sqlite3_column_int64(st, 12);
		a->lim_tpm = (long)sqlite3_column_int64(st, 13);
		scen_db_col_key_verdict(st, 14, a);
	}
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return db_fail(db, "reading an account");
	return 0;
}

int scen_db_account_put(struct scen_db *db, const char *name,
			const struct scen_acct_state *a)
{
	sqlite3_stmt *st = db_stmt(db, ST_ACCT_PUT);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, a->cooldown_until);
	sqlite3_bind_double(st, 3, a->set_aside_until);
	sqlite3_bind_text(st, 4, a->breaker, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, a->failures);
	sqlite3_bind_double(st, 6, a->opened_at);
	if (a->has_day) {
		sqlite3_bind_int64(st, 7, a->day_remaining);
		sqlite3_bind_double(st, 8, a->day_seen_at);
		sqlite3_bind_double(st, 9, a->day_reset_at);
	} else {
		for (int i = 7; i <= 9; i++)
			sqlite3_bind_null(st, i);
	}
	if (a->has_tok) {
		sqlite3_bind_int64(st, 10, a->tok_remaining);
		sqlite3_bind_double(st, 11, a->tok_seen_at);
		sqlite3_bind_double(st, 12, a->tok_reset_at);
	} else {
		for (int i = 10; i <= 12; i++)
			sqlite3_bind_null(st, i);
	}
	sqlite3_bind_int64(st, 13, a->lim_rpm);
	sqlite3_bind_int64(st, 14, a->lim_rpd);
	sqlite3_bind_int64(st, 15, a->lim_tpm);
	if (a->key_verdict[0]) {
		sqlite3_bind_text(st, 16, a->key_fp, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 17, a->key_verdict, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 18, a->key_verdict_at);
	} else {
		for (int i = 16; i <= 18; i++)
			sqlite3_bind_null(st, i);
	}
	return db_run(db, st);
}

int scen_db_usage(struct scen_db *db, const char *account, double now,
		  double day_start, double day_seen_at, double tok_seen_at,
		  struct scen_usage *u)
{
	sqlite3_stmt *st = db_stmt(db, ST_USAGE);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, now);
	sqlite3_bind_double(st, 3, day_start);
	sqlite3_bind_double(st, 4, day_seen_at);
	sqlite3_bind_double(st, 5, tok_seen_at);
	int r = sqlite3_step(st);
	memset(u, 0, sizeof *u);
	if (r == SQLITE_ROW) {
		u->minute = (long)sqlite3_column_int64(st, 0);
		u->hour = (long)sqlite3_column_int64(st, 1);
		u->day = (long)sqlite3_column_int64(st, 2);
		u->tokens_minute = (long)sqlite3_column_int64(st, 3);
		u->oldest_minute = sqlite3_column_double(st, 4);
		u->oldest_hour = sqlite3_column_double(st, 5);
		u->oldest_day = sqlite3_column_double(st, 6);
		u->since_day_seen = (long)sqlite3_column_int64(st, 7);
		u->tokens_since_tok_seen = (long)sqlite3_column_int64(st, 8);
	}
	sqlite3_reset(st);
	if (r != SQLITE_ROW)
		return db_fail(db, "reading the usage ledger");
	return 0;
}

int64_t scen_db_call_reserve(struct scen_db *db, const char *account,
			     double now, long tokens, int64_t job)
{
	sqlite3_stmt *st = db_stmt(db, ST_CALL_RESERVE);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, now);
	sqlite3_bind_int64(st, 3, tokens);
	if (job)
		sqlite3_bind_int64(st, 4, job);
	else
		sqlite3_bind_null(st, 4);
	if (db_run(db, st) < 0)
		return -1;
	return sqlite3_last_insert_rowid(db->h);
}

int scen_db_call_settle(struct scen_db *db, int64_t call, long status,
			long tokens, double now)
{
	sqlite3_stmt *st = db_stmt(db, ST_CALL_SETTLE);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, call);
	sqlite3_bind_int64(st, 2, status);
	sqlite3_bind_int64(st, 3, tokens);
	sqlite3_bind_double(st, 4, now);
	return db_run(db, st);
}

int scen_db_job_insert(struct scen_db *db, const struct scen_request *rq,
		       const char *origin, double now, int64_t *rowid,
		       char *jid, size_t jidsz)
{
	sqlite3_stmt *st = db_stmt(db, ST_JOB_INSERT);
	if (!st)
		return -1;
	snprintf(jid, jidsz, "j-%016llx", (unsigned long long)scen_random64());
	struct strbuf *sb = &db->sb;
	sb_reset(sb);
	scen_request_factors_json(rq, sb);
	sqlite3_bind_text(st, 1, jid, -1, SQLITE_STATIC);
	bind_text_or_null(st, 2, rq->session);
	bind_text_or_null(st, 3, rq->id);
	sqlite3_bind_text(st, 4, rq->exp->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, rq->tpl->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, rq->tpl->version_hex, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, rq->key, 16, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, sb->buf, (int)sb->len, SQLITE_STATIC);
	if (rq->tpl->position.declared)
		sqlite3_bind_int64(st, 9, rq->position);
	else
		sqlite3_bind_null(st, 9);
	sqlite3_bind_text(st, 10, origin, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 11, now);
	sqlite3_bind_int64(st, 12, (int64_t)getpid());
	if (db_run(db, st) < 0)
		return -1;
	*rowid = sqlite3_last_insert_rowid(db->h);
	return 0;
}

int scen_db_job_update(struct scen_db *db, int64_t rowid, const char *state,
		       double now, const char *account, int attempts,
		       const char *error, int64_t scenario)
{
	sqlite3_stmt *st = db_stmt(db, ST_JOB_UPDATE);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, rowid);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, now);
	bind_text_or_null(st, 4, account);
	sqlite3_bind_int(st, 5, attempts);
	bind_text_or_null(st, 6, error);
	if (scenario)
		sqlite3_bind_int64(st, 7, scenario);
	else
		sqlite3_bind_null(st, 7);
	return db_run(db, st);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? xstrdup(s) : NULL;
}

static void job_row(sqlite3_stmt *st, struct scen_job_row *r)
{
	memset(r, 0, sizeof *r);
	r->rowid = sqlite3_column_int64(st, 0);
	snprintf(r->jid, sizeof r->jid, "%s", sqlite3_column_text(st, 1));
	snprintf(r->state, sizeof r->state, "%s", sqlite3_column_text(st, 2));
	r->session = col_dup(st, 3);
	r->request_id = col_dup(st, 4);
	r->experiment = col_dup(st, 5);
	r->template_name = col_dup(st, 6);
	r->version = col_dup(st, 7);
	r->factors = col_dup(st, 8);
	r->has_position = sqlite3_column_type(st, 9) != SQLITE_NULL;
	r->position = (long)sqlite3_column_int64(st, 9);
	snprintf(r->origin, sizeof r->origin, "%s",
		 sqlite3_column_text(st, 10));
	r->scenario = sqlite3_column_int64(st, 11);
	r->error = col_dup(st, 12);
	r->created_at = sqlite3_column_double(st, 13);
	r->owner_pid = (long)sqlite3_column_int64(st, 14);
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
	sqlite3_stmt *st = db_stmt(db, ST_JOB_GET);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, jid, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		job_row(st, out);
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return db_fail(db, "reading a job");
	return r == SQLITE_ROW;
}

int scen_db_jobs_adopt(struct scen_db *db,
		       void (*fn)(void *ctx, const struct scen_job_row *),
		       void *ctx)
{
	sqlite3_stmt *st = db_stmt(db, ST_JOBS_OPEN);
	sqlite3_stmt *own = db_stmt(db, ST_JOB_OWN);
	if (!st || !own)
		return -1;
	struct scen_job_row *rows = NULL;
	size_t n = 0, cap = 0;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		long pid = (long)sqlite3_column_int64(st, 14);
		if (pid == (long)getpid() ||
		    (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM)))
			continue;	/* its owner is alive and at it */
		XGROW(rows, n + 1, cap);
		job_row(st, &rows[n++]);
	}
	sqlite3_reset(st);
	int rc = r == SQLITE_DONE ? 0 : db_fail(db, "reading open jobs");
	for (size_t i = 0; i < n; i++) {
		if (!rc) {
			sqlite3_bind_int64(own, 1, rows[i].rowid);
			sqlite3_bind_int64(own, 2, (int64_t)getpid());
			rc = db_run(db, own);
			if (!rc)
				fn(ctx, &rows[i]);
		}
		scen_job_row_release(&rows[i]);
	}
	free(rows);
	return rc;
}
