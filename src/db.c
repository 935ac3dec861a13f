/* db.c — the connection of the db module (db_int.h): the open (is the
 * file scen's, its structure sound, its schema current), transactions and
 * why a write failed, the counters kept until commit, events; and the
 * helpers that run the statements of db_schema.c for every db_ file. */
#include "scen/db_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

/* Notes kind in err for a failure already reported; returns rc. */
static int said(struct scen_error *err, enum scen_err kind, int rc)
{
	scen_failed(err, kind);
	return rc;
}

const char *scen_db_path(const struct scen_db *db)
{
	return db->path;
}

sqlite3 *scen_db_handle(struct scen_db *db)
{
	return db->h;
}

int db_fail(struct scen_db *db, const char *what)
{
	return scen_error("%s: %s: %s", db->path, what, sqlite3_errmsg(db->h));
}

sqlite3_stmt *db_stmt(struct scen_db *db, enum stmt_id id)
{
	if (!db->st[id]) {
		if (sqlite3_prepare_v3(db->h, db_stmt_sql[id], -1,
				       SQLITE_PREPARE_PERSISTENT, &db->st[id],
				       NULL) != SQLITE_OK) {
			scen_error("%s: cannot prepare \"%s\": %s", db->path,
				   db_stmt_sql[id], sqlite3_errmsg(db->h));
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

int db_run(struct scen_db *db, sqlite3_stmt *st)
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

int db_exec(struct scen_db *db, const char *sql)
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

/* The first column of the first row of sql (prepared for this once), or
 * -1: for the pragmas and schema reads of the open. */
static int64_t sql_int(struct scen_db *db, const char *sql)
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

int64_t db_int(struct scen_db *db, enum stmt_id id)
{
	sqlite3_stmt *st = db_stmt(db, id);
	int64_t v = -1;
	if (!st)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

void db_bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

void db_bind_int64_if(sqlite3_stmt *st, int i, int has, int64_t v)
{
	if (has)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

void db_bind_nulls(sqlite3_stmt *st, int from, int last)
{
	for (int i = from; i <= last; i++)
		sqlite3_bind_null(st, i);
}

void db_bind_request(struct scen_db *db, sqlite3_stmt *st, int first,
		     const struct scen_request *rq)
{
	struct strbuf *sb = &db->sb;
	sb_reset(sb);
	scen_request_factors_json(rq, sb);
	sqlite3_bind_text(st, first, rq->exp->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, first + 1, rq->tpl->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, first + 2, rq->tpl->version_hex, -1,
			  SQLITE_STATIC);
	sqlite3_bind_blob(st, first + 3, rq->key, 16, SQLITE_STATIC);
	sqlite3_bind_text(st, first + 4, sb->buf, (int)sb->len, SQLITE_STATIC);
	if (rq->tpl->position.declared)
		sqlite3_bind_int64(st, first + 5, rq->position);
	else
		sqlite3_bind_null(st, first + 5);
}

int64_t db_text_hash(const void *key, size_t klen, const void *text,
		     size_t n)
{
	return (int64_t)XXH3_64bits_withSeed(text, n, XXH3_64bits(key, klen));
}
/* Whether the file is scen's to use (see scen_db_open): read before
 * anything is written, so that another program's database is refused
 * untouched. */
static int check_owner(struct scen_db *db, struct scen_error *err)
{
	int64_t app = sql_int(db, "PRAGMA application_id");
	int64_t v = sql_int(db, "PRAGMA user_version");
	int64_t n = sql_int(db, "SELECT count(*) FROM sqlite_schema");
	int64_t ours = sql_int(db, "SELECT count(*) FROM sqlite_schema"
			       " WHERE type = 'table' AND name IN"
			       " ('templates', 'scenarios', 'servings')");
	if (app < 0 || v < 0 || n < 0 || ours < 0)
		return said(err, SCEN_ERR_IO,
			    db_fail(db, "cannot read the schema"));
	if (app == SCEN_DB_APPLICATION_ID ||
	    (app == 0 && ((n == 0 && v == 0) || (v > 0 && ours == 3))))
		return 0;
	if (app)
		return said(err, SCEN_ERR_NOT_SCEN, scen_error("%s: not a scen database (application_id "
				  "0x%08llx, another program's); left as it "
				  "is", db->path, (long long)(uint32_t)app));
	return said(err, SCEN_ERR_NOT_SCEN,
		    scen_error("%s: not a scen database (it holds tables, "
			       "not scen's); left as it is", db->path));
}

static int marked(struct scen_db *db)
{
	return sql_int(db, "PRAGMA application_id") == SCEN_DB_APPLICATION_ID;
}

static int migrate(struct scen_db *db, int readonly, struct scen_error *err)
{
	int last = scen_db_schema_version();
	int64_t v = sql_int(db, "PRAGMA user_version");
	if (v < 0)
		return said(err, SCEN_ERR_IO,
			    scen_error("%s: not a scen database (%s)", db->path,
				       sqlite3_errmsg(db->h)));
	if (v > last)
		return said(err, SCEN_ERR_CONFIG,
			    scen_error("%s: schema version %lld is newer than "
				       "this scen understands (%d); use a "
				       "newer scen", db->path, (long long)v,
				       last));
	/* a database of this schema made before the mark is marked by
	 * the next read-write open */
	if (v == last && (readonly || marked(db)))
		return 0;
	/* a reader that may not migrate an older schema reads it as the
	 * last one when it can (an archived study on read-only media) */
	if (readonly && v > 0 && db_read_as_last[v])
		return db_exec(db, db_read_as_last[v]) < 0
			? said(err, SCEN_ERR_IO, -1) : 0;
	if (readonly)
		return said(err, SCEN_ERR_IO,
			    scen_error("%s: schema version %lld needs "
				       "migrating; run scen-serve-stdin or "
				       "scen-gen once", db->path,
				       (long long)v));
	if (db_exec(db, "BEGIN IMMEDIATE") < 0)
		return said(err, SCEN_ERR_IO, -1);
	int rc = 0;
	for (v = sql_int(db, "PRAGMA user_version"); v < last && !rc; v++)
		rc = db_exec(db, db_migrations[v]);
	char sql[96];
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d;"
		 "PRAGMA application_id = %d", last, SCEN_DB_APPLICATION_ID);
	if (rc < 0 || db_exec(db, sql) < 0 || db_exec(db, "COMMIT") < 0) {
		db_exec(db, "ROLLBACK");
		return said(err, SCEN_ERR_IO, -1);
	}
	return 0;
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
	sqlite3_result_int64(ctx, db_text_hash(key ? key : "", klen,
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

#ifdef SCEN_TEST_HOOKS
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

/* The testing aids of db.h, in a test build only. */
static int test_hooks(struct scen_db *db)
{
	long pages = env_long("SCEN_DB_MAX_PAGES");
	if (pages >= 0) {
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA max_page_count = %ld",
			 pages);
		if (sql_int(db, sql) < 0)
			return db_fail(db, "cannot set max_page_count");
	}
	db->fail_after = env_long("SCEN_DB_FAIL_AFTER");
	return 0;
}

/* A commit that SCEN_DB_FAIL_AFTER fails: -1 (reported), else 0. */
static int test_commit_fails(struct scen_db *db)
{
	if (db->fail_after < 0 || db->commits < db->fail_after)
		return 0;
	scen_error("%s: \"COMMIT\": attempt to write a readonly database "
		   "(SCEN_DB_FAIL_AFTER=%ld)", db->path, db->fail_after);
	note_write_failure(db, SQLITE_READONLY);
	return -1;
}
#else
static int test_hooks(struct scen_db *db)
{
	return 0;
}

static int test_commit_fails(struct scen_db *db)
{
	return 0;
}
#endif

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

/* A quick read tells a non-database file before anything changes. */
static int readable(struct scen_db *db)
{
	if (sql_int(db, "SELECT count(*) FROM sqlite_schema") < 0)
		return scen_error("%s: not a usable SQLite database: %s",
				  db->path, sqlite3_errmsg(db->h));
	return 0;
}

static int has_content(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_size > 0;
}

/*
 * Whose the file is, told before anything could change it: first from the
 * file as it is on disk, read as immutable (no lock, no journal rolled
 * back, no -wal read or checkpointed), so that another program's database
 * is refused untouched; then, on the connection that will be used, once
 * more for what only a -wal holds, with no checkpoint at its close until
 * the file proves scen's.
 *
 * A read-only open (see scen_db_open) creates nothing until the file
 * proves scen's, and nothing at all when the process may not write beside
 * it: a -shm made by a reader that may not write the database would stop
 * its owner's writers. So it reads the -wal and -shm a writer keeps there
 * (SQLite reads a -shm it may not write as such), and when there are none,
 * the file alone (immutable); a reader that may write beside it then
 * reopens it the usual way, which guards its reads against writers.
 */
static int open_for(struct scen_db *db, int readonly,
		    struct scen_error *err)
{
	int alone = readonly && !exists_beside(db->path, "-wal") &&
		    !exists_beside(db->path, "-shm") &&
		    !exists_beside(db->path, "-journal");
	if (alone || has_content(db->path)) {
		if (open_handle(db, 1, 1) < 0 || readable(db) < 0 ||
		    check_owner(db, err) < 0)
			return -1;
		if (alone && !may_write_beside(db->path))
			return 0;
	}
	if (open_handle(db, readonly, 0) < 0 || readable(db) < 0)
		return -1;
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (check_owner(db, err) < 0)
		return -1;
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);
	return 0;
}

/* Sets up the connection that open_for made: WAL and the quick check for
 * a writer, the cache, foreign keys, the schema. */
static int set_up(struct scen_db *db, int readonly, struct scen_error *err)
{
	/* a process that writes checks the pages it will write into; one
	 * that only reads meets damage as read errors (and --verify is
	 * there to report it) */
	if (!readonly && quick_check(db) < 0)
		return said(err, SCEN_ERR_DAMAGED, -1);
	if (!readonly && (set_wal(db) < 0 ||
			  db_exec(db, "PRAGMA synchronous = NORMAL") < 0))
		return -1;
	/* 64 MiB of page cache: large databases stay at memory speed */
	if (db_exec(db, "PRAGMA cache_size = -65536") < 0 ||
	    db_exec(db, "PRAGMA foreign_keys = ON") < 0)
		return -1;
	if (migrate(db, readonly, err) < 0)
		return -1;
	return readonly ? 0 : test_hooks(db);
}

struct scen_db *scen_db_open(const char *path, int flags,
			     struct scen_error *err)
{
	int readonly = flags & SCEN_DB_READONLY;
	struct scen_db *db = xcalloc(1, sizeof *db);
	db->path = xstrdup(path);
	sb_init(&db->sb);
	scen_map_init(&db->counts);
	scen_map_init(&db->served);
	db->fail_after = -1;
	/* the kind when a step below names none: I/O */
	scen_failed(err, SCEN_ERR_IO);
	if (open_for(db, readonly, err) < 0 || set_up(db, readonly, err) < 0) {
		scen_db_close(db);
		return NULL;
	}
	scen_failed(err, SCEN_OK);
	return db;
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
	if (test_commit_fails(db) < 0 || flush_counts(db) < 0 ||
	    flush_served(db) < 0 || db_exec(db, "COMMIT") < 0) {
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

int scen_db_event(struct scen_db *db, const char *kind, const char *account,
		  const char *detail)
{
	sqlite3_stmt *st = db_stmt(db, ST_EVENT);
	if (!st)
		return -1;
	sqlite3_bind_double(st, 1, scen_now());
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	db_bind_text_or_null(st, 3, account);
	db_bind_text_or_null(st, 4, detail);
	return db_run(db, st);
}
