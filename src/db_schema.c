/* db_schema.c — every SQL text of the storage layer in one place, as
 * SQLite reads it: the schema's migrations and the statements that are
 * prepared once (db_stmt) for every db_ file. PostgreSQL reads them too,
 * its parameters renamed, except where db_schema_pg.c gives its own text.
 * (The pragmas that set up a SQLite connection and tell its file scen's
 * are store_sqlite.c's own.) */
#include "scen/db_int.h"

/* Each entry migrates user_version i to i + 1. Never edit a shipped one. */
const char *const db_migrations[] = {
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
	/* 4: several hosts on one database (scen-serve-stdin(1),
	 * CONCURRENCY): a job names its owner's host as well as its pid,
	 * each owner's heartbeat tells whether it is still at work, and the
	 * open jobs of a combination are found by its key, so that a
	 * combination asked of several processes at once costs one call */
	"ALTER TABLE jobs ADD COLUMN owner_host TEXT;"
	"CREATE TABLE owners("
	" host TEXT NOT NULL, pid INTEGER NOT NULL, seen_at REAL NOT NULL,"
	" PRIMARY KEY (host, pid)) WITHOUT ROWID;"
	"CREATE INDEX jobs_key ON jobs(version, key)"
	" WHERE state IN ('queued', 'running');",
	/* 5: pool entries made through the provider's Batch API
	 * (scen-pool-fill(1), BATCHES): each batch and each of its lines is
	 * recorded before it is sent; a scenario made from a line names its
	 * batch and custom_id, stored once (scenarios_custom); the
	 * provider's verdict on each key's access to batches */
	"ALTER TABLE scenarios ADD COLUMN batch_id TEXT;"
	"ALTER TABLE scenarios ADD COLUMN custom_id TEXT;"
	"CREATE UNIQUE INDEX scenarios_custom ON scenarios(custom_id)"
	" WHERE custom_id IS NOT NULL;"
	"CREATE TABLE batches("
	" id INTEGER PRIMARY KEY,"
	" bid TEXT NOT NULL UNIQUE,"
	" account TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state = 'planned' OR state = 'uploaded'"
	"  OR state = 'submitted' OR state = 'ended'),"
	" file_id TEXT, batch_id TEXT UNIQUE, status TEXT,"
	" lines INTEGER NOT NULL, window_s REAL NOT NULL,"
	" created_at REAL NOT NULL, submitted_at REAL, checked_at REAL,"
	" ended_at REAL, error TEXT);"
	"CREATE INDEX batches_open ON batches(state)"
	" WHERE state <> 'ended';"
	"CREATE TABLE batch_lines("
	" id INTEGER PRIMARY KEY,"
	" batch INTEGER NOT NULL REFERENCES batches(id),"
	" custom_id TEXT NOT NULL UNIQUE,"
	" experiment TEXT NOT NULL, template TEXT NOT NULL,"
	" version TEXT NOT NULL, key BLOB NOT NULL,"
	" factors TEXT NOT NULL, position INTEGER,"
	" attempt INTEGER NOT NULL,"
	" state TEXT NOT NULL CHECK (state = 'pending' OR state = 'done'"
	"  OR state = 'rejected' OR state = 'failed' OR state = 'expired'),"
	" error TEXT, scenario INTEGER REFERENCES scenarios(id),"
	" retried INTEGER NOT NULL DEFAULT 0, settled_at REAL,"
	" retry_of INTEGER REFERENCES batch_lines(id));"
	"CREATE INDEX batch_lines_batch ON batch_lines(batch);"
	"CREATE INDEX batch_lines_open ON batch_lines(version, key)"
	" WHERE state <> 'done' AND retried = 0;"
	"CREATE TABLE batch_keys("
	" account TEXT PRIMARY KEY, key_fp TEXT NOT NULL,"
	" verdict TEXT NOT NULL"
	"  CHECK (verdict = 'accepted' OR verdict = 'refused'),"
	" detail TEXT, at REAL NOT NULL);",
};

/* schema 3's jobs as schema 4 has them (a reader asks nothing of the
 * owners table) */
#define READ_JOBS_AS_4 "CREATE TEMP VIEW jobs AS SELECT *," \
	" NULL AS owner_host FROM main.jobs;"
/* schema 4 as 5: no batches yet (empty tables of their own) */
#define READ_AS_5 "CREATE TEMP VIEW scenarios AS SELECT *," \
	" NULL AS batch_id, NULL AS custom_id FROM main.scenarios;" \
	"CREATE TEMP TABLE batches(id INTEGER PRIMARY KEY, bid, account," \
	" state, file_id, batch_id, status, lines, window_s, created_at," \
	" submitted_at, checked_at, ended_at, error);" \
	"CREATE TEMP TABLE batch_lines(id INTEGER PRIMARY KEY, batch," \
	" custom_id, experiment, template, version, key, factors, position," \
	" attempt, state, error, scenario, retried, settled_at, retry_of);" \
	"CREATE TEMP TABLE batch_keys(account PRIMARY KEY, key_fp, verdict," \
	" detail, at);"

/* For a reader that may not migrate: SQL that makes schema i read as the
 * last one, in temporary views that shadow its tables, or NULL when it
 * cannot (schema 1 has no text checksums to check texts by). */
const char *const db_read_as_last[] = {
	NULL,
	NULL,
	/* 2: no verdicts on keys yet */
	"CREATE TEMP VIEW accounts AS SELECT *, NULL AS key_fp,"
	" NULL AS key_verdict, NULL AS key_verdict_at FROM main.accounts;"
	READ_JOBS_AS_4 READ_AS_5,
	/* 3: no owners' hosts */
	READ_JOBS_AS_4 READ_AS_5,
	/* 4: no batches */
	READ_AS_5,
	NULL,
};

/* the columns of a job row, as db_jobs.c reads them */
#define JOB_COLUMNS "id, jid, state, session, request_id, experiment," \
	" template, version, factors, position, origin, scenario, error," \
	" created_at, owner_pid"

/* a job's owner's last heartbeat, NULL when it has none */
#define OWNER_SEEN "(SELECT seen_at FROM owners" \
	" WHERE host = jobs.owner_host AND pid = jobs.owner_pid)"

const char *const db_stmt_sql[ST_COUNT] = {
	[ST_COUNTER] = "INSERT INTO counters(hour, name, n) VALUES (?1, ?2, ?3)"
		" ON CONFLICT(hour, name) DO UPDATE"
		" SET n = counters.n + excluded.n",
	[ST_EVENT] = "INSERT INTO events(at, kind, account, detail)"
		" VALUES (?1, ?2, ?3, ?4)",
	[ST_TEMPLATE] = "INSERT INTO templates(version, experiment,"
		" template, system, prompt, model, temperature, max_tokens,"
		" validate, factors, position, registered_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
		" ON CONFLICT DO NOTHING",
	/* NULL: any experiment, any template */
	[ST_TEMPLATE_KNOWN] = "SELECT EXISTS (SELECT 1 FROM templates"
		" WHERE (CAST(?1 AS TEXT) IS NULL OR experiment = ?1)"
		" AND (CAST(?2 AS TEXT) IS NULL OR template = ?2))",
	[ST_MAX_SCN] = "SELECT coalesce(max(id), 0) FROM scenarios",
	[ST_MAX_SERVING] = "SELECT coalesce(max(id), 0) FROM servings",
	[ST_LOAD] = "SELECT id, key, factors, position, serves, origin,"
		" created_at FROM scenarios WHERE version = ?1"
		" AND quarantined = 0",
	[ST_NEW_SCN] = "SELECT id, key, factors, position, serves, origin,"
		" created_at, version FROM scenarios WHERE id > ?1"
		" AND quarantined = 0 ORDER BY id",
	[ST_NEW_SERVINGS] = "SELECT id, session, scenario FROM servings"
		" WHERE id > ?1 ORDER BY id",
	/* ?1: a JSON array of sessions */
	[ST_SESSIONS] = "SELECT session, scenario FROM servings"
		" WHERE session IN (SELECT value FROM json_each(?1))",
	[ST_INSERT_SCN] = "INSERT INTO scenarios(sid, experiment, template,"
		" version, key, factors, position, text, model, account,"
		" prompt_hash, origin, finish_reason, prompt_tokens,"
		" completion_tokens, created_at, job, text_hash, batch_id,"
		" custom_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
		" ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20) RETURNING id",
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
	[ST_ACCT_INIT] = "INSERT INTO accounts(name) VALUES (?1)"
		" ON CONFLICT DO NOTHING",
	[ST_ACCT_GET] = "SELECT " SCEN_DB_ACCOUNT_COLUMNS
		" FROM accounts WHERE name = ?1",
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
		" FROM calls WHERE account = ?1 AND status <> 429 AND at > ?6",
	[ST_CALL_RESERVE] = "INSERT INTO calls(account, at, tokens, job)"
		" VALUES (?1, ?2, ?3, ?4) RETURNING id",
	[ST_JOB_INSERT] = "INSERT INTO jobs(jid, state, session, request_id,"
		" experiment, template, version, key, factors, position, origin,"
		" created_at, owner_pid, owner_host) VALUES (?1, 'queued', ?2,"
		" ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) RETURNING id",
	[ST_JOB_UPDATE] = "UPDATE jobs SET"
		" state = CASE WHEN state = 'cancelled' THEN state ELSE ?2 END,"
		" started_at = CASE WHEN ?2 = 'running'"
		"  THEN coalesce(started_at, ?3) ELSE started_at END,"
		" finished_at = CASE WHEN ?2 IN ('done', 'failed', 'cancelled')"
		"  THEN ?3 ELSE finished_at END,"
		" account = coalesce(?4, account),"
		" attempts = CASE WHEN attempts > ?5 THEN attempts ELSE ?5 END,"
		" error = coalesce(?6, error),"
		" scenario = coalesce(?7, scenario) WHERE id = ?1",
	[ST_JOB_GET] = "SELECT " JOB_COLUMNS " FROM jobs WHERE jid = ?1",
	/* with the owner's host, pid and heartbeat (NULL: none) */
	[ST_JOBS_OPEN] = "SELECT " JOB_COLUMNS ", owner_host, owner_pid, "
		OWNER_SEEN
		" FROM jobs WHERE state IN ('queued', 'running') ORDER BY id",
	[ST_JOB_OWN] = "UPDATE jobs SET owner_pid = ?2, owner_host = ?3,"
		" state = 'queued' WHERE id = ?1",
	/* jobs_key: the oldest open job of the combination that another
	 * process works (scen_db_job_claimed) */
	[ST_JOB_CLAIMED] = "SELECT id, jid FROM jobs WHERE version = ?1"
		" AND key = ?2 AND state IN ('queued', 'running')"
		" AND origin = ?3 AND NOT (coalesce(owner_pid, 0) = ?4"
		" AND coalesce(owner_host, '') = ?5) ORDER BY id LIMIT 1",
	[ST_JOB_POLL] = "SELECT state, coalesce(scenario, 0), owner_host,"
		" owner_pid, " OWNER_SEEN " FROM jobs WHERE id = ?1",
	[ST_OWNER_BEAT] = "INSERT INTO owners(host, pid, seen_at)"
		" VALUES (?1, ?2, ?3) ON CONFLICT(host, pid)"
		" DO UPDATE SET seen_at = excluded.seen_at",
	[ST_OWNERS_PRUNE] = "DELETE FROM owners WHERE seen_at < ?1",
	/* a settled call counts from when its answer came: the provider
	 * counted it on arrival, which was no later */
	[ST_CALL_SETTLE] = "UPDATE calls SET status = ?2,"
		" at = CASE WHEN at > ?4 THEN at ELSE ?4 END,"
		" tokens = CASE WHEN ?3 < 0 THEN tokens ELSE ?3 END WHERE id = ?1",
	[ST_SCN_BY_SID] = "SELECT id FROM scenarios WHERE sid = ?1",
	/* a row when the uid is new */
	[ST_SPOOL_MARK] = "INSERT INTO spool_replayed(uid, at) VALUES (?1, ?2)"
		" ON CONFLICT(uid) DO NOTHING RETURNING uid",

	/* ---- scen-cache-stats and scen-export (db_report.c) ---- */
	/* the primary key (hour, name) makes this a range */
	[RS_COUNTERS] = "SELECT hour, name, n FROM counters"
		" WHERE hour >= ?1 AND hour <= ?2 ORDER BY hour, name",
	/* jobs_created */
	[RS_JOBS] = "SELECT created_at, coalesce(started_at, 0),"
		" coalesce(finished_at, 0), state, origin FROM jobs"
		" WHERE created_at >= ?1",
	/* jobs_open (partial index) */
	[RS_QUEUE] = "SELECT count(*) FILTER (WHERE state = 'queued'),"
		" count(*) FILTER (WHERE state = 'running'),"
		" coalesce(min(created_at) FILTER (WHERE state = 'queued'), 0)"
		" FROM jobs WHERE state IN ('queued', 'running')",
	[RS_ACCOUNT] = "SELECT " SCEN_DB_ACCOUNT_COLUMNS
		" FROM accounts WHERE name = ?1",
	/* calls_account_at; the same rules as quota.c's budget */
	[RS_USAGE] = "SELECT"
		" count(*) FILTER (WHERE status <> 429 AND at > ?2 - 60),"
		" count(*) FILTER (WHERE status <> 429 AND at > ?2 - 3600),"
		" count(*) FILTER (WHERE status <> 429 AND at >= ?3),"
		" count(*) FILTER (WHERE status = 429 AND at >= ?3),"
		" coalesce(sum(tokens) FILTER (WHERE status <> 429"
		"  AND at > ?2 - 60), 0)"
		" FROM calls WHERE account = ?1 AND at >= ?4",
	/* the pool rows only, through scenarios_created: likelihood() tells
	 * the planner that few rows are pool rows (with ANALYZE statistics
	 * it assumes half, and scans every scenario); the group keys are
	 * expressions so that scenarios_version does not look cheaper for
	 * their order */
	[RS_POOL] = "SELECT version, experiment, template,"
		" count(*) FILTER (WHERE created_at >= ?1),"
		" count(*) FILTER (WHERE created_at < ?1),"
		" coalesce(min(created_at) FILTER (WHERE created_at >= ?1), 0),"
		" coalesce(max(created_at) FILTER (WHERE created_at >= ?1), 0)"
		" FROM scenarios WHERE likelihood(origin = 'pool', 0.01)"
		" AND serves = 0 AND quarantined = 0"
		" GROUP BY +version, +experiment, +template"
		" ORDER BY experiment, template, version",
	/* scen never deletes rows: the highest row id is the count, found
	 * in the b-tree without reading 10 million rows */
	[RS_TOTALS] = "SELECT (SELECT coalesce(max(id), 0) FROM scenarios),"
		" (SELECT coalesce(max(id), 0) FROM servings),"
		" (SELECT count(*) FROM templates)",
	/* servings_time */
	[RS_FRESH_BY_TPL] = "SELECT experiment, template, count(*)"
		" FROM servings WHERE served_at >= ?1 AND tier = 'fresh'"
		" GROUP BY experiment, template",
	/* what the export of templates counts of their use (db_report.c
	 * version_use), in a temporary table */
	[RS_USE_SERVINGS] = "SELECT version, served_at FROM servings",
	[RS_USE_SCENARIOS] = "SELECT version, created_at FROM scenarios",
	[RS_USE_TABLE] = "CREATE TEMP TABLE IF NOT EXISTS"
		" scen_version_use(version TEXT PRIMARY KEY,"
		" servings, first_used, last_used, scenarios,"
		" first_generated, last_generated);"
		"DELETE FROM temp.scen_version_use",
	[RS_USE_INSERT] = "INSERT INTO temp.scen_version_use"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	/* the batches of scen-pool-fill(1), all time: open, completed,
	 * expired, failed or cancelled; the open ones' oldest intent */
	[RS_BATCHES] = "SELECT count(*) FILTER (WHERE state <> 'ended'),"
		" count(*) FILTER (WHERE state = 'ended'"
		"  AND status = 'completed'),"
		" count(*) FILTER (WHERE state = 'ended' AND status = 'expired'),"
		" count(*) FILTER (WHERE state = 'ended'"
		"  AND coalesce(status, '') <> 'completed'"
		"  AND coalesce(status, '') <> 'expired'"
		"  AND batch_id IS NOT NULL),"
		" coalesce(min(created_at) FILTER (WHERE state <> 'ended'), 0)"
		" FROM batches",
	/* their lines: pending, done, failed (rejected, failed, expired),
	 * and the failed ones not retried at the cap ?1 (pool.batch_attempts);
	 * lines of a batch dropped unsent (no batch id) count only while
	 * pending */
	[RS_BATCH_LINES] = "SELECT count(*) FILTER (WHERE state = 'pending'),"
		" count(*) FILTER (WHERE state = 'done'),"
		" count(*) FILTER (WHERE state <> 'pending' AND state <> 'done'),"
		" count(*) FILTER (WHERE state <> 'pending' AND state <> 'done'"
		"  AND retried = 0 AND attempt >= ?1)"
		" FROM batch_lines WHERE state = 'pending' OR batch IN"
		" (SELECT id FROM batches WHERE batch_id IS NOT NULL)",
	/* refusals still held (scen-pool-fill asks again after a week) */
	[RS_BATCH_KEYS] = "SELECT account FROM batch_keys"
		" WHERE verdict = 'refused' AND at >= ?1 ORDER BY account",
	/* batches_open: the open batches past their completion window at
	 * ?1, with how long they have been open */
	[RS_BATCHES_LATE] = "SELECT bid, coalesce(batch_id, ''), state,"
		" coalesce(status, ''), window_s,"
		" ?1 - coalesce(submitted_at, created_at) FROM batches"
		" WHERE state <> 'ended'"
		" AND coalesce(submitted_at, created_at) + window_s < ?1"
		" ORDER BY id",
	/* servings_time: pool servings since ?1 (the pool's runway) */
	[RS_POOL_SERVED] = "SELECT count(*) FROM servings"
		" WHERE served_at >= ?1 AND tier = 'pool'",

	/* ---- scen-pool-fill's plan (db_pool.c) ---- */
	[PS_ENTRIES] = "SELECT key, count(*) FILTER (WHERE created_at >= ?2),"
		" count(*) FILTER (WHERE created_at < ?2)"
		" FROM scenarios WHERE version = ?1 AND origin = 'pool'"
		" AND serves = 0 AND quarantined = 0 GROUP BY key",
	[PS_OPEN_JOBS] = "SELECT key, count(*) FROM jobs"
		" WHERE state IN ('queued', 'running') AND origin = 'pool'"
		" AND version = ?1 GROUP BY key",
	[PS_OWNED] = "SELECT jid FROM jobs"
		" WHERE state IN ('queued', 'running') AND owner_pid = ?1"
		" ORDER BY id",
	[PS_DEMAND] = "SELECT factors, position, sum(n) FROM ("
		" SELECT factors, position, count(*) AS n FROM servings"
		"  WHERE served_at >= ?3 AND experiment = ?1 AND template = ?2"
		"  AND tier <> 'fresh' GROUP BY factors, position"
		" UNION ALL"
		" SELECT factors, position, count(*) AS n FROM jobs"
		"  WHERE created_at >= ?3 AND experiment = ?1 AND template = ?2"
		"  AND origin = 'fresh' AND session IS NOT NULL"
		"  GROUP BY factors, position) AS d"
		" GROUP BY factors, position",
	/* batch_lines_open */
	[PS_BATCH_PENDING] = "SELECT key, count(*) FROM batch_lines"
		" WHERE version = ?1 AND state <> 'done' AND retried = 0"
		" AND state = 'pending' GROUP BY key",
	[PS_BATCH_UNMADE] = "SELECT key, id, attempt FROM batch_lines"
		" WHERE version = ?1 AND state <> 'done' AND retried = 0"
		" AND state <> 'pending' ORDER BY id",

	/* ---- scen-pool-fill's batches (db_batch.c) ---- */
	[BS_INSERT] = "INSERT INTO batches(bid, account, state, lines,"
		" window_s, created_at) VALUES (?1, ?2, 'planned', ?3, ?4, ?5)"
		" RETURNING id",
	[BS_LINE_INSERT] = "INSERT INTO batch_lines(batch, custom_id,"
		" experiment, template, version, key, factors, position,"
		" attempt, state, retry_of) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
		" ?8, ?9, 'pending', ?10)",
	/* the lines a batch dropped unsent was to plan again are to be
	 * planned again, at the attempt they had */
	[BS_UNRETRY] = "UPDATE batch_lines SET retried = 0 WHERE id IN"
		" (SELECT retry_of FROM batch_lines WHERE batch = ?1"
		" AND state = 'pending' AND retry_of IS NOT NULL)",
	[BS_LINE_RETRIED] = "UPDATE batch_lines SET retried = 1 WHERE id = ?1",
	[BS_UPDATE] = "UPDATE batches SET state = ?2,"
		" file_id = coalesce(CAST(?3 AS TEXT), file_id),"
		" batch_id = coalesce(CAST(?4 AS TEXT), batch_id),"
		" status = coalesce(CAST(?5 AS TEXT), status),"
		" error = coalesce(CAST(?6 AS TEXT), error),"
		" submitted_at = CASE WHEN CAST(?4 AS TEXT) IS NOT NULL"
		"  AND submitted_at IS NULL THEN ?7 ELSE submitted_at END,"
		" ended_at = CASE WHEN CAST(?2 AS TEXT) = 'ended' THEN ?7"
		"  ELSE ended_at END,"
		" checked_at = ?7 WHERE id = ?1",
	[BS_OPEN] = "SELECT id, bid, account, state, file_id, batch_id,"
		" status, lines, window_s, created_at, submitted_at"
		" FROM batches WHERE state <> 'ended' ORDER BY id",
	[BS_LINE_GET] = "SELECT id, batch, state, attempt, experiment,"
		" template, version, factors, position FROM batch_lines"
		" WHERE custom_id = ?1",
	[BS_LINE_SETTLE] = "UPDATE batch_lines SET state = ?2, error = ?3,"
		" scenario = ?4, settled_at = ?5 WHERE id = ?1"
		" AND state = 'pending'",
	[BS_LINES_REST] = "UPDATE batch_lines SET state = ?2, error = ?3,"
		" settled_at = ?4, retried = ?5 WHERE batch = ?1"
		" AND state = 'pending'",
	[BS_LINES_OF] = "SELECT id, custom_id, experiment, template, version,"
		" factors, position FROM batch_lines WHERE batch = ?1"
		" ORDER BY id",
	[BS_KEY_GET] = "SELECT key_fp, verdict, detail, at FROM batch_keys"
		" WHERE account = ?1",
	[BS_KEY_PUT] = "INSERT INTO batch_keys(account, key_fp, verdict,"
		" detail, at) VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT(account) DO UPDATE SET key_fp = excluded.key_fp,"
		" verdict = excluded.verdict, detail = excluded.detail,"
		" at = excluded.at",

	/* ---- scen-cache-stats --verify (db_report.c): each selects its
	 * problems, one row each, the first column saying what is wrong;
	 * ?1 is max_serves ---- */
	[CK_INTEGRITY] =
		"SELECT integrity_check FROM pragma_integrity_check"
		" WHERE integrity_check <> 'ok'",
	[CK_FOREIGN_KEYS] =
		"SELECT \"table\" || ' row ' || rowid || ': no ' || parent"
		" || ' row it refers to' FROM pragma_foreign_key_check",
	[CK_SERVE_COUNTS] =
		"WITH c(scenario, n) AS (SELECT scenario, count(*) FROM servings"
		"  GROUP BY scenario)"
		" SELECT s.sid || ': serves ' || s.serves || ', servings '"
		" || coalesce(c.n, 0) FROM scenarios s"
		" LEFT JOIN c ON c.scenario = s.id"
		" WHERE coalesce(c.n, 0) <> s.serves",
	[CK_TIER_COUNTERS] =
		"WITH a(tier, n) AS (SELECT tier, count(*) FROM servings"
		"  GROUP BY tier),"
		" b(tier, n) AS (SELECT substr(name, 6), sum(n) FROM counters"
		"  WHERE name LIKE 'tier.%' GROUP BY name),"
		" t(tier) AS (SELECT tier FROM a UNION SELECT tier FROM b)"
		" SELECT 'tier ' || t.tier || ': counters ' || coalesce(b.n, 0)"
		" || ', servings ' || coalesce(a.n, 0)"
		" FROM t LEFT JOIN a USING (tier) LEFT JOIN b USING (tier)"
		" WHERE coalesce(a.n, 0) <> coalesce(b.n, 0)",
	[CK_ANSWER_COUNTERS] =
		"SELECT 'answer.ok ' || o || ', tiers ' || t FROM (SELECT"
		" coalesce(sum(n) FILTER (WHERE name = 'answer.ok'), 0) AS o,"
		" coalesce(sum(n) FILTER (WHERE name LIKE 'tier.%'), 0) AS t"
		" FROM counters) AS c WHERE o <> t",
	[CK_TEMPLATE_VERSIONS] =
		"SELECT tbl || ' of version ' || version || ' have no template row'"
		" FROM (SELECT DISTINCT 'servings' AS tbl, version FROM servings"
		"  UNION SELECT DISTINCT 'scenarios', version FROM scenarios) AS u"
		" WHERE version NOT IN (SELECT version FROM templates)",
	[CK_SAME_EXPERIMENT] =
		"SELECT 'serving ' || v.id || ' (' || v.experiment || '/'"
		" || v.template || ') got ' || s.sid || ' of ' || s.experiment"
		" || '/' || s.template FROM servings v JOIN scenarios s"
		" ON s.id = v.scenario WHERE v.experiment <> s.experiment"
		" OR v.template <> s.template",
	[CK_NO_REPEAT] =
		"SELECT 'session ' || v.session || ' got ' || s.sid || ' '"
		" || v.n || ' times' FROM (SELECT session, scenario, count(*) AS n"
		" FROM servings GROUP BY session, scenario HAVING count(*) > 1) v"
		" JOIN scenarios s ON s.id = v.scenario",
	[CK_MAX_SERVES] =
		"SELECT sid || ' served ' || serves || ' times (max ' || ?1 || ')'"
		" FROM scenarios WHERE serves > ?1",
	[CK_JOBS_DONE] =
		"SELECT 'job ' || jid || ' is done without a scenario' FROM jobs"
		" WHERE state = 'done' AND scenario IS NULL",

	/* ---- scen-db-copy (dbcopy.c) ---- */
	/* SQLite's INTEGER PRIMARY KEY continues after the highest id by
	 * itself: nothing to do, the parameters taken all the same */
	[ST_COPY_SEQUENCE] = "SELECT ?1, ?2",
};

/* servings and jobs refer to scenarios (scenarios.job is a plain
 * number): scenarios first */
const struct db_table db_tables[] = {
	{"templates", "version", 0},
	{"scenarios", "id", 1},
	{"servings", "id", 1},
	{"jobs", "id", 1},
	{"calls", "id", 1},
	{"accounts", "name", 0},
	{"counters", "hour, name", 0},
	{"events", "id", 1},
	{"spool_replayed", "uid", 0},
	{"owners", "host, pid", 0},
	{"batches", "id", 1},
	{"batch_lines", "id", 1},
	{"batch_keys", "account", 0},
	{NULL, NULL, 0},
};

const char db_copy_count_sql[] = "SELECT count(*) FROM %s";
const char db_copy_read_sql[] = "SELECT * FROM %s ORDER BY %s";
const char db_copy_insert_sql[] = "INSERT INTO %s(%s) %s VALUES (%s)";


int scen_db_schema_version(void)
{
	return (int)(sizeof db_migrations / sizeof db_migrations[0]);
}
