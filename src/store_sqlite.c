/* store_sqlite.c — the SQLite backend of the storage layer (db_int.h): a
 * file opened only when it proves scen's, its structure checked, WAL, its
 * schema migrated; statements as SQLite's own; write turns as BEGIN
 * IMMEDIATE; the pool fill's lock as flock(2) on a file beside it. */
#include "scen/db_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct sq_conn {
	sqlite3 *h;
	int lock_fd;		/* the pool fill's lock, or -1 */
};

struct sq_stmt {
	struct db_stmt base;
	sqlite3_stmt *s;
};

static inline sqlite3 *H(const struct scen_db *db)
{
	return ((struct sq_conn *)db->conn)->h;
}

static inline sqlite3_stmt *S(struct db_stmt *st)
{
	return ((struct sq_stmt *)st)->s;
}

/* Notes kind in err for a failure already reported; returns rc. */
static int said(struct scen_error *err, enum scen_err kind, int rc)
{
	scen_failed(err, kind);
	return rc;
}

static int sq_fail(struct scen_db *db, const char *what)
{
	return scen_error("%s: %s: %s", db->path, what, sqlite3_errmsg(H(db)));
}

/* The first column of the first row of sql (prepared for this once), or
 * -1: for the pragmas and schema reads of the open. */
static int64_t sq_int(struct scen_db *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	if (sqlite3_prepare_v2(H(db), sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
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

static int check_owner(struct scen_db *db, struct scen_error *err);
static int migrate(struct scen_db *db, int readonly, struct scen_error *err);
static int test_hooks(struct scen_db *db);

/* Switches to WAL. The switch takes an exclusive lock that the busy
 * handler does not wait for, so two processes creating the database at
 * once retry here. */
static int set_wal(struct scen_db *db)
{
	for (int i = 0; i < 200; i++) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(H(db), "PRAGMA journal_mode = WAL", -1,
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
	return sq_fail(db, "cannot switch to WAL mode");
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
	if (sqlite3_prepare_v2(H(db), "PRAGMA quick_check(1)", -1, &q,
			       NULL) != SQLITE_OK)
		return sq_fail(db, "cannot check the database");
	int r = sqlite3_step(q);
	const char *res = r == SQLITE_ROW
		? (const char *)sqlite3_column_text(q, 0) : NULL;
	int rc = 0;
	if (!res || strcmp(res, "ok")) {
		/* one line: SQLite's report may hold newlines */
		char *why = xstrdup(res ? res : sqlite3_errmsg(H(db)));
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
	struct sq_conn *c = db->conn;
	sqlite3_close(c->h);
	c->h = NULL;
	char *name = immutable ? immutable_uri(path) : xstrdup(path);
	int oflags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	oflags |= immutable ? SQLITE_OPEN_URI : 0;
	/* scen reads none of SQLite's memory figures: without them, an
	 * allocation takes no global mutex (6 % of a cache hit) */
	static int configured;
	if (!configured++)
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	int rc = sqlite3_open_v2(name, &c->h, oflags | SQLITE_OPEN_NOMUTEX,
				 NULL);
	free(name);
	if (rc != SQLITE_OK)
		return sq_fail(db, "cannot open");
	sqlite3_busy_timeout(H(db), 10000);
	sqlite3_extended_result_codes(H(db), 1);
	if (sqlite3_create_function(H(db), "scen_text_hash", 2,
				    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				    sql_text_hash, NULL, NULL) != SQLITE_OK)
		return sq_fail(db, "cannot register scen_text_hash");
	return 0;
}

/* A quick read tells a non-database file before anything changes. */
static int readable(struct scen_db *db)
{
	if (sq_int(db, "SELECT count(*) FROM sqlite_schema") < 0)
		return scen_error("%s: not a usable SQLite database: %s",
				  db->path, sqlite3_errmsg(H(db)));
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
	sqlite3_db_config(H(db), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (check_owner(db, err) < 0)
		return -1;
	sqlite3_db_config(H(db), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);
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

/* Whether the file is scen's to use (see scen_db_open): read before
 * anything is written, so that another program's database is refused
 * untouched. */
static int check_owner(struct scen_db *db, struct scen_error *err)
{
	int64_t app = sq_int(db, "PRAGMA application_id");
	int64_t v = sq_int(db, "PRAGMA user_version");
	int64_t n = sq_int(db, "SELECT count(*) FROM sqlite_schema");
	int64_t ours = sq_int(db, "SELECT count(*) FROM sqlite_schema"
			       " WHERE type = 'table' AND name IN"
			       " ('templates', 'scenarios', 'servings')");
	if (app < 0 || v < 0 || n < 0 || ours < 0)
		return said(err, SCEN_ERR_IO,
			    sq_fail(db, "cannot read the schema"));
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
	return sq_int(db, "PRAGMA application_id") == SCEN_DB_APPLICATION_ID;
}

static int migrate(struct scen_db *db, int readonly, struct scen_error *err)
{
	int last = scen_db_schema_version();
	int64_t v = sq_int(db, "PRAGMA user_version");
	if (v < 0)
		return said(err, SCEN_ERR_IO,
			    scen_error("%s: not a scen database (%s)", db->path,
				       sqlite3_errmsg(H(db))));
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
	for (v = sq_int(db, "PRAGMA user_version"); v < last && !rc; v++)
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
		if (sq_int(db, sql) < 0)
			return sq_fail(db, "cannot set max_page_count");
	}
	db->fail_after = env_long("SCEN_DB_FAIL_AFTER");
	return 0;
}
#else
static int test_hooks(struct scen_db *db)
{
	return 0;
}
#endif

/* ---- the backend ------------------------------------------------------ */

static enum scen_err sq_open(struct scen_db *db, const char *target,
			     int flags)
{
	struct scen_error err = {SCEN_ERR_IO, ""};
	struct sq_conn *c = xcalloc(1, sizeof *c);
	c->lock_fd = -1;
	db->conn = c;
	int readonly = flags & SCEN_DB_READONLY;
	if (open_for(db, readonly, &err) < 0 || set_up(db, readonly, &err) < 0)
		return err.kind ? err.kind : SCEN_ERR_IO;
	db->readonly = sqlite3_db_readonly(H(db), "main") == 1;
	return SCEN_OK;
}

static void sq_close(struct scen_db *db)
{
	struct sq_conn *c = db->conn;
	if (!c)
		return;
	if (c->h)
		sqlite3_close(c->h);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	free(c);
	db->conn = NULL;
}

static const char *sq_errmsg(struct scen_db *db)
{
	return sqlite3_errmsg(H(db));
}

static struct db_stmt *sq_prepare(struct scen_db *db, const char *sql,
				  int persistent)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v3(H(db), sql, -1,
			       persistent ? SQLITE_PREPARE_PERSISTENT : 0, &s,
			       NULL) != SQLITE_OK)
		return NULL;
	struct sq_stmt *st = xcalloc(1, sizeof *st);
	st->base.db = db;
	st->base.sql = sqlite3_sql(s);	/* the caller's may not outlive it */
	st->s = s;
	return &st->base;
}

static void sq_finalize(struct db_stmt *st)
{
	sqlite3_finalize(S(st));
	free(st);
}

static int sq_exec(struct scen_db *db, const char *sql)
{
	if (sqlite3_exec(H(db), sql, NULL, NULL, NULL) != SQLITE_OK) {
		note_write_failure(db, sqlite3_extended_errcode(H(db)));
		return -1;
	}
	return 0;
}

static int sq_begin(struct scen_db *db, enum db_tx how)
{
	switch (how) {
	case DB_TX_WRITE:
		return sq_exec(db, "BEGIN IMMEDIATE");
	case DB_TX_QUIET:
		return sqlite3_exec(H(db), "BEGIN IMMEDIATE", NULL, NULL,
				    NULL) == SQLITE_OK ||
		       sqlite3_exec(H(db), "BEGIN", NULL, NULL, NULL) ==
			       SQLITE_OK;
	default:
		return sq_exec(db, "BEGIN");
	}
}

static int sq_commit(struct scen_db *db)
{
	return sq_exec(db, "COMMIT");
}

static void sq_rollback(struct scen_db *db)
{
	if (!sqlite3_get_autocommit(H(db)))
		sqlite3_exec(H(db), "ROLLBACK", NULL, NULL, NULL);
}

static void sq_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(S(st), i, v);
}

static void sq_bind_double(struct db_stmt *st, int i, double v)
{
	sqlite3_bind_double(S(st), i, v);
}

static void sq_bind_text(struct db_stmt *st, int i, const char *s, int n)
{
	sqlite3_bind_text(S(st), i, s, n, SQLITE_STATIC);
}

static void sq_bind_blob(struct db_stmt *st, int i, const void *p, int n)
{
	sqlite3_bind_blob(S(st), i, p, n, SQLITE_STATIC);
}

static void sq_bind_null(struct db_stmt *st, int i)
{
	sqlite3_bind_null(S(st), i);
}

static int sq_step(struct db_stmt *st)
{
	struct scen_db *db = st->db;
	int write = !sqlite3_stmt_readonly(S(st));
	/* SQLITE_FULL and SQLITE_IOERR may roll the whole transaction back;
	 * a write after that would commit on its own, outside the turn it
	 * belongs to */
	if (write && db->in_tx && sqlite3_get_autocommit(H(db))) {
		scen_error("%s: \"%.80s\": not run: an earlier error rolled "
			   "the transaction back", db->path, st->sql);
		return -1;
	}
	int rc = sqlite3_step(S(st));
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	rc = sqlite3_extended_errcode(H(db));
	db->damaged = (rc & 0xff) == SQLITE_CORRUPT;
	if (write)
		note_write_failure(db, rc);
	return -1;
}

static void sq_reset(struct db_stmt *st)
{
	sqlite3_reset(S(st));
}

static int sq_column_count(struct db_stmt *st)
{
	return sqlite3_column_count(S(st));
}

static enum db_type sq_column_type(struct db_stmt *st, int i)
{
	switch (sqlite3_column_type(S(st), i)) {
	case SQLITE_INTEGER:
		return DB_INTEGER;
	case SQLITE_FLOAT:
		return DB_FLOAT;
	case SQLITE_TEXT:
		return DB_TEXT;
	case SQLITE_BLOB:
		return DB_BLOB;
	default:
		return DB_NULL;
	}
}

static int64_t sq_column_int64(struct db_stmt *st, int i)
{
	return sqlite3_column_int64(S(st), i);
}

static double sq_column_double(struct db_stmt *st, int i)
{
	return sqlite3_column_double(S(st), i);
}

static const char *sq_column_text(struct db_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(S(st), i);
}

static const void *sq_column_blob(struct db_stmt *st, int i)
{
	return sqlite3_column_blob(S(st), i);
}

static int sq_column_bytes(struct db_stmt *st, int i)
{
	return sqlite3_column_bytes(S(st), i);
}

static const char *sq_column_name(struct db_stmt *st, int i)
{
	return sqlite3_column_name(S(st), i);
}

/* flock(2) on "<file>.pool-fill.lock", kept open until close. */
static enum scen_err sq_pool_lock(struct scen_db *db, struct scen_error *e)
{
	struct sq_conn *c = db->conn;
	char *path = xasprintf("%s.pool-fill.lock", db->path);
	enum scen_err rc = SCEN_OK;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		rc = scen_fail(e, SCEN_ERR_IO, "%s: cannot open: %s", path,
			       strerror(errno));
	else if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		rc = errno == EWOULDBLOCK
			? scen_fail(e, SCEN_ERR_TEMPFAIL, "another "
				    "scen-pool-fill is filling %s (%s is "
				    "locked); not starting a second run",
				    db->path, path)
			: scen_fail(e, SCEN_ERR_IO, "%s: cannot lock: %s",
				    path, strerror(errno));
	if (rc && fd >= 0)
		close(fd);
	else if (!rc)
		c->lock_fd = fd;
	free(path);
	return rc;
}

const struct db_backend db_sqlite = {
	.name = "SQLite",
	.stmt_sql = db_stmt_sql,
	.open = sq_open,
	.close = sq_close,
	.errmsg = sq_errmsg,
	.prepare = sq_prepare,
	.finalize = sq_finalize,
	.exec = sq_exec,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.bind_int64 = sq_bind_int64,
	.bind_double = sq_bind_double,
	.bind_text = sq_bind_text,
	.bind_blob = sq_bind_blob,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.reset = sq_reset,
	.column_count = sq_column_count,
	.column_type = sq_column_type,
	.column_int64 = sq_column_int64,
	.column_double = sq_column_double,
	.column_text = sq_column_text,
	.column_blob = sq_column_blob,
	.column_bytes = sq_column_bytes,
	.column_name = sq_column_name,
	.insert_ids = "",
	.pool_lock = sq_pool_lock,
};
