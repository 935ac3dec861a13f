/* test_db.c — unit tests of opening the database (src/db.c): a fresh file
 * is created 0600 in WAL mode at the current schema version, data
 * survives a reopen, and what is not a scen database of a known version
 * is refused with the right exit status and a message, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "capture.h"

#include <fcntl.h>
#include <sqlite3.h>

#include "scen/db_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scen/db.h"
#include "scen/util.h"


static char tmpdir[64];

static int setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/scen-test-db-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);

	free(cmd);
	return rc == 0 ? 0 : -1;
}

/* A new path in the temporary folder (malloc'd). */
static char *path_for(const char *name)
{
	char *p = xasprintf("%s/%s", tmpdir, name);

	unlink(p);
	return p;
}

/* Deterministic test data, so a failure can be replayed. */
static uint64_t rng_state = 0xdb5eed01ULL;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

static int64_t query_int(struct scen_db *db, const char *sql)
{
	struct db_stmt *st = db_prepare(db, sql);
	int64_t v = -1;

	assert_non_null(st);
	if (db_step(st) == DB_ROW)
		v = db_column_int64(st, 0);
	db_finalize(st);
	return v;
}

static char *query_text(struct scen_db *db, const char *sql)
{
	struct db_stmt *st = db_prepare(db, sql);
	char *v = NULL;

	assert_non_null(st);
	if (db_step(st) == DB_ROW)
		v = xstrdup(db_column_text(st, 0));
	db_finalize(st);
	return v;
}

/* Opens path, the messages caught in *err and the kind of failure (or
 * SCEN_OK) in *kind. */
static struct scen_db *open_quiet(const char *path, int flags,
				  enum scen_err *kind, char **err)
{
	struct scen_db *db;
	struct scen_error e = {.kind = SCEN_ERR_SOFTWARE};

	capture_start();
	db = scen_db_open(path, flags, &e);
	*err = capture_end();
	*kind = e.kind;
	/* details are said as they are found: the message stays empty */
	assert_string_equal(e.msg, "");
	return db;
}

/* path opens read-write with nothing said, at the last schema, marked as
 * scen's. */
static void assert_opens_current(const char *path)
{
	enum scen_err kind;
	char *err;
	struct scen_db *db = open_quiet(path, 0, &kind, &err);

	assert_non_null(db);
	assert_int_equal(kind, SCEN_OK);
	assert_string_equal(err, "");
	assert_int_equal(query_int(db, "PRAGMA application_id"),
			 SCEN_DB_APPLICATION_ID);
	assert_int_equal(query_int(db, "PRAGMA user_version"),
			 scen_db_schema_version());
	scen_db_close(db);
	free(err);
}

static void test_fresh_database(void **state)
{
	char *path = path_for("fresh.db"), *err, *mode;
	struct scen_db *db;
	struct stat st;
	enum scen_err kind = SCEN_ERR_SOFTWARE;
	mode_t old = umask(0);	/* the mode must not depend on the umask */

	db = open_quiet(path, 0, &kind, &err);
	umask(old);
	assert_non_null(db);
	assert_int_equal(kind, SCEN_OK);
	assert_string_equal(err, "");
	assert_string_equal(scen_db_path(db), path);
	assert_true(scen_db_schema_version() >= 1);
	assert_int_equal(query_int(db, "PRAGMA user_version"),
			 scen_db_schema_version());
	mode = query_text(db, "PRAGMA journal_mode");
	assert_string_equal(mode, "wal");
	free(mode);
	assert_int_equal(query_int(db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* the tables of the schema are there */
	assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_schema "
				   "WHERE type = 'table' AND name IN "
				   "('scenarios', 'servings', 'jobs', 'calls',"
				   " 'accounts', 'templates')"), 6);
	scen_db_close(db);
	scen_db_close(NULL);
	free(err);
	free(path);
}

/* The write-ahead log holds the same data: it is 0600 too. */
static void test_wal_file_private(void **state)
{
	char *path = path_for("wal.db"), *wal = xasprintf("%s-wal", path);
	char *err;
	struct scen_db *db;
	struct scen_acct_state a;
	struct stat st;
	enum scen_err kind;
	mode_t old = umask(0);

	db = open_quiet(path, 0, &kind, &err);
	assert_non_null(db);
	assert_int_equal(scen_db_begin(db), 0);
	assert_int_equal(scen_db_account_get(db, "groq-a", &a), 0);
	assert_int_equal(scen_db_commit(db), 0);
	umask(old);
	if (stat(wal, &st) == 0)
		assert_int_equal(st.st_mode & 07777, 0600);
	scen_db_close(db);
	free(err);
	free(wal);
	free(path);
}

static void test_reopen_keeps_data(void **state)
{
	char *path = path_for("keep.db"), *err;
	struct scen_db *db;
	struct scen_acct_state a, b;
	enum scen_err kind;

	db = open_quiet(path, 0, &kind, &err);
	assert_non_null(db);
	free(err);
	assert_int_equal(scen_db_begin(db), 0);
	assert_int_equal(scen_db_account_get(db, "groq-a", &a), 0);
	assert_string_equal(a.breaker, "closed");
	a.cooldown_until = 1800000123.5;
	a.failures = 3;
	snprintf(a.breaker, sizeof a.breaker, "open");
	a.opened_at = 1800000100;
	a.has_day = 1;
	a.day_remaining = 14000;
	a.day_seen_at = 1800000000;
	a.day_reset_at = 1800000600;
	assert_string_equal(a.key_verdict, "");
	snprintf(a.key_fp, sizeof a.key_fp, "0123456789abcdef");
	snprintf(a.key_verdict, sizeof a.key_verdict, "refused");
	a.key_verdict_at = 1800000050;
	assert_int_equal(scen_db_account_put(db, "groq-a", &a), 0);
	assert_int_equal(scen_db_event(db, "auth_failed", "groq-a", "x"), 0);
	scen_db_count(db, "call.ok", 2);
	scen_db_count(db, "call.ok", 3);
	assert_true(scen_db_call_reserve(db, "groq-a", 1800000000, 100, 0) >
		    0);
	assert_int_equal(scen_db_commit(db), 0);
	scen_db_close(db);

	db = open_quiet(path, 0, &kind, &err);
	assert_non_null(db);
	assert_int_equal(kind, SCEN_OK);
	assert_string_equal(err, "");
	free(err);
	assert_int_equal(scen_db_account_get(db, "groq-a", &b), 0);
	assert_true(b.cooldown_until == 1800000123.5);
	assert_int_equal(b.failures, 3);
	assert_string_equal(b.breaker, "open");
	assert_true(b.has_day);
	assert_int_equal(b.day_remaining, 14000);
	assert_true(b.day_reset_at == 1800000600);
	assert_false(b.has_tok);
	assert_string_equal(b.key_fp, "0123456789abcdef");
	assert_string_equal(b.key_verdict, "refused");
	assert_true(b.key_verdict_at == 1800000050);
	assert_int_equal(query_int(db, "SELECT count(*) FROM events WHERE "
				   "kind = 'auth_failed'"), 1);
	assert_int_equal(query_int(db, "SELECT sum(n) FROM counters WHERE "
				   "name = 'call.ok'"), 5);
	assert_int_equal(query_int(db, "SELECT count(*) FROM calls"), 1);
	assert_int_equal(query_int(db, "PRAGMA user_version"),
			 scen_db_schema_version());
	scen_db_close(db);

	/* read-only sees the same */
	db = open_quiet(path, SCEN_DB_READONLY, &kind, &err);
	assert_non_null(db);
	assert_int_equal(kind, SCEN_OK);
	assert_int_equal(scen_db_account_get(db, "groq-a", &b), 0);
	assert_int_equal(b.failures, 3);
	assert_int_equal(query_int(db, "SELECT count(*) FROM calls"), 1);
	scen_db_close(db);
	free(err);
	free(path);
}

/* A rolled back transaction leaves nothing, counters included. */
static void test_rollback_keeps_nothing(void **state)
{
	char *path = path_for("rollback.db"), *err;
	struct scen_db *db;
	enum scen_err kind;

	db = open_quiet(path, 0, &kind, &err);
	assert_non_null(db);
	assert_int_equal(scen_db_begin(db), 0);
	scen_db_count(db, "call.ok", 7);
	assert_true(scen_db_call_reserve(db, "a", 1800000000, 1, 0) > 0);
	scen_db_rollback(db);
	assert_int_equal(scen_db_begin(db), 0);
	assert_int_equal(scen_db_commit(db), 0);
	assert_int_equal(query_int(db, "SELECT count(*) FROM calls"), 0);
	assert_int_equal(query_int(db, "SELECT count(*) FROM counters"), 0);
	scen_db_close(db);
	free(err);
	free(path);
}

/* A database written by a newer scen (user_version above ours) is
 * refused with exit status 78 and a message naming the file; it is not
 * changed. */
static void test_newer_schema_refused(void **state)
{
	char *path = path_for("newer.db"), *err, *sql;
	struct scen_db *db;
	sqlite3 *h;
	enum scen_err kind = SCEN_OK;
	int newer = scen_db_schema_version() + 1;

	db = open_quiet(path, 0, &kind, &err);
	assert_non_null(db);
	scen_db_close(db);
	free(err);
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	sql = xasprintf("PRAGMA user_version = %d", newer);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	free(sql);

	db = open_quiet(path, 0, &kind, &err);
	assert_null(db);
	assert_int_equal(kind, SCEN_ERR_CONFIG);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "newer"));
	free(err);
	db = open_quiet(path, SCEN_DB_READONLY, &kind, &err);
	assert_null(db);
	assert_int_equal(kind, SCEN_ERR_CONFIG);
	assert_non_null(strstr(err, path));
	free(err);

	/* still at the newer version */
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), newer);
	sqlite3_finalize(st);
	sqlite3_close(h);
	free(path);
}

/* Runs sql on path with a plain connection (no scen in between). */
static void plain_exec(const char *path, const char *sql)
{
	sqlite3 *h;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
}

/* The bytes of a file (malloc'd), its length in *n. */
static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf = xcalloc(1, 1 << 20);

	assert_non_null(f);
	*n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

/* Another program's SQLite database (tables, but not scen's, or scen's
 * table names under another application_id) is refused with 65, read-write
 * or read-only, and left byte for byte as it was, with no file beside. */
static void test_foreign_database_refused(void **state)
{
	static const char *const setups[] = {
		"CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);"
		"INSERT INTO notes(body) VALUES ('keep me');",
		"PRAGMA journal_mode = WAL; CREATE TABLE t(x);"
		"PRAGMA user_version = 7;",
		"PRAGMA application_id = 1234; PRAGMA user_version = 2;"
		"CREATE TABLE templates(x); CREATE TABLE scenarios(x);"
		"CREATE TABLE servings(x);",
	};
	char *path = path_for("foreign.db"), *err;
	char *beside[] = {
		xasprintf("%s-wal", path), xasprintf("%s-shm", path),
		xasprintf("%s-journal", path), xasprintf("%s.spool", path),
	};
	enum scen_err kind;

	for (size_t i = 0; i < sizeof setups / sizeof *setups; i++) {
		size_t n0, n1;
		unlink(path);
		plain_exec(path, setups[i]);
		char *before = slurp(path, &n0);
		for (int ro = 0; ro <= SCEN_DB_READONLY; ro++) {
			kind = SCEN_OK;
			assert_null(open_quiet(path, ro, &kind, &err));
			assert_int_equal(kind, SCEN_ERR_NOT_SCEN);
			assert_non_null(strstr(err, path));
			assert_non_null(strstr(err, "not a scen database"));
			free(err);
		}
		char *after = slurp(path, &n1);
		assert_int_equal(n0, n1);
		assert_memory_equal(before, after, n0);
		for (size_t k = 0; k < 4; k++)
			assert_int_not_equal(access(beside[k], F_OK), 0);
		free(before);
		free(after);
	}
	for (size_t k = 0; k < 4; k++)
		free(beside[k]);
	free(path);
}

/* A SQLite file without tables (made by sqlite3 with only a setting) is
 * scen's to initialise, and gets scen's mark. */
static void test_empty_sqlite_initialised(void **state)
{
	char *path = path_for("blank.db");

	plain_exec(path, "PRAGMA page_size = 8192; VACUUM;");
	assert_opens_current(path);
	free(path);
}

/* Databases from before the mark (schema 1 to 3, application_id 0) are
 * known by their tables: read-only opens read them as they are (schema 2
 * as the last; schema 1 needs migrating), the next read-write open
 * migrates and marks them. */
static void test_unmarked_scen_database(void **state)
{
	char *path = path_for("old.db"), *err;
	struct scen_db *db;
	enum scen_err kind;

	for (int v = 1; v <= 5; v++) {
		unlink(path);
		db = open_quiet(path, 0, &kind, &err);
		assert_non_null(db);
		free(err);
		scen_db_close(db);
		/* back to schema v as it shipped, without the mark */
		plain_exec(path, "PRAGMA application_id = 0;");
		if (v < 5)
			plain_exec(path,
				   "DROP TABLE batch_keys; DROP TABLE batch_lines;"
				   "DROP TABLE batches; DROP INDEX scenarios_custom;"
				   "ALTER TABLE scenarios DROP COLUMN custom_id;"
				   "ALTER TABLE scenarios DROP COLUMN batch_id;"
				   "PRAGMA user_version = 4;");
		if (v < 4)
			plain_exec(path,
				   "DROP INDEX jobs_key; DROP TABLE owners;"
				   "ALTER TABLE jobs DROP COLUMN owner_host;"
				   "PRAGMA user_version = 3;");
		if (v < 3)
			plain_exec(path,
				   "ALTER TABLE accounts DROP COLUMN key_fp;"
				   "ALTER TABLE accounts DROP COLUMN key_verdict;"
				   "ALTER TABLE accounts DROP COLUMN "
				   "key_verdict_at;"
				   "PRAGMA user_version = 2;");
		if (v < 2)
			plain_exec(path,
				   "ALTER TABLE scenarios DROP COLUMN text_hash;"
				   "DROP TABLE spool_replayed;"
				   "PRAGMA user_version = 1;");
		db = open_quiet(path, SCEN_DB_READONLY, &kind, &err);
		if (v < 2) {	/* needs migrating first */
			assert_null(db);
			assert_int_equal(kind, SCEN_ERR_IO);
		} else {	/* read as it is (schema 2 as the last) */
			assert_non_null(db);
			assert_int_equal(query_int(db, "PRAGMA application_id"),
					 0);
			assert_int_equal(query_int(db, "SELECT count(*) FROM "
						   "accounts WHERE key_verdict "
						   "IS NULL"),
					 query_int(db, "SELECT count(*) FROM "
						   "main.accounts"));
			assert_int_equal(query_int(db, "SELECT count(*) FROM "
						   "jobs WHERE owner_host "
						   "IS NULL"),
					 query_int(db, "SELECT count(*) FROM "
						   "main.jobs"));
			scen_db_close(db);
		}
		free(err);
		assert_opens_current(path);
	}
	free(path);
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static int same_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "rb");
	char *buf = xmalloc(n + 1);
	size_t got;
	int same;

	assert_non_null(f);
	got = fread(buf, 1, n + 1, f);
	fclose(f);
	same = got == n && memcmp(buf, p, n) == 0;
	free(buf);
	return same;
}

/* Refuses path (read-write and read-only) with 74, a message naming it,
 * and the file unchanged. */
static void refuse_74(const char *path, const void *content, size_t n)
{
	char *err;
	struct scen_db *db;
	enum scen_err kind;

	for (int ro = 0; ro < 2; ro++) {
		kind = SCEN_OK;
		db = open_quiet(path, ro ? SCEN_DB_READONLY : 0, &kind, &err);
		if (db)
			fail_msg("%s opened (%s)", path, ro ? "ro" : "rw");
		assert_int_equal(kind, SCEN_ERR_IO);
		if (!strstr(err, path))
			fail_msg("message does not name the file: %s", err);
		free(err);
		if (content && !same_file(path, content, n))
			fail_msg("%s was changed", path);
	}
}

static void test_random_bytes_refused(void **state)
{
	char *path = path_for("random.db");
	unsigned char buf[8192];

	for (int trial = 0; trial < 20; trial++) {
		size_t n = 100 + (size_t)(rnd() % (sizeof buf - 100));

		for (size_t i = 0; i < n; i += 8) {
			uint64_t r = rnd();

			memcpy(buf + i, &r, n - i < 8 ? n - i : 8);
		}
		write_file(path, buf, n);
		refuse_74(path, buf, n);
	}
	free(path);
}

static void test_text_file_refused(void **state)
{
	char *path = path_for("scen.yaml");
	static const char text[] =
		"database: scen.db\nprovider:\n  model: m\n"
		"# a config given where the database was expected\n";

	write_file(path, text, sizeof text - 1);
	refuse_74(path, text, sizeof text - 1);
	free(path);
}

/* The SQLite magic followed by garbage: a corrupt database. */
static void test_corrupt_header_refused(void **state)
{
	char *path = path_for("corrupt.db");
	unsigned char buf[4096];

	for (int trial = 0; trial < 20; trial++) {
		for (size_t i = 0; i < sizeof buf; i += 8) {
			uint64_t r = rnd();

			memcpy(buf + i, &r, 8);
		}
		memcpy(buf, "SQLite format 3", 16);
		write_file(path, buf, sizeof buf);
		refuse_74(path, buf, sizeof buf);
	}
	free(path);
}

/* A real database cut short (as by a full disk) is refused, not
 * crashed on. */
static void test_truncated_database_refused(void **state)
{
	char *path = path_for("cut.db"), *err;
	struct scen_db *db;
	struct stat st;
	enum scen_err kind;

	db = open_quiet(path, 0, &kind, &err);
	assert_non_null(db);
	free(err);
	scen_db_close(db);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 4096);
	assert_int_equal(truncate(path, 3000), 0);
	db = open_quiet(path, 0, &kind, &err);
	if (db) {
		/* SQLite may open it; reading the schema must then fail */
		scen_db_close(db);
		fail_msg("a database cut to 3000 bytes opened");
	}
	assert_int_equal(kind, SCEN_ERR_IO);
	free(err);
	free(path);
}

/* Damaged pages (an index root overwritten): a read-write open checks the
 * structure and refuses the file as damaged, naming it; a read-only open
 * does not check (its reads meet the damage). */
static void test_damaged_pages_refused(void **state)
{
	char *path = path_for("damaged.db"), *err;
	struct scen_db *db;
	enum scen_err kind;
	sqlite3 *h;
	sqlite3_stmt *st;
	int root, size;

	db = open_quiet(path, 0, &kind, &err);
	assert_non_null(db);
	free(err);
	scen_db_close(db);
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT rootpage, (SELECT "
					    "page_size FROM pragma_page_size)"
					    " FROM sqlite_schema WHERE name ="
					    " 'servings_time'", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	root = sqlite3_column_int(st, 0);
	size = sqlite3_column_int(st, 1);
	sqlite3_finalize(st);
	sqlite3_close(h);
	int fd = open(path, O_WRONLY);
	unsigned char junk[65];
	memset(junk, 0xff, sizeof junk);
	junk[0] = 0x0d;	/* a table leaf where an index page was */
	assert_int_equal(pwrite(fd, junk, sizeof junk,
				(off_t)(root - 1) * size), sizeof junk);
	close(fd);

	db = open_quiet(path, 0, &kind, &err);
	assert_null(db);
	assert_int_equal(kind, SCEN_ERR_DAMAGED);
	assert_int_equal(scen_err_exit(kind), 74);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "the database is damaged"));
	free(err);
	db = open_quiet(path, SCEN_DB_READONLY, &kind, &err);
	assert_non_null(db);
	assert_int_equal(kind, SCEN_OK);
	scen_db_close(db);
	free(err);
	free(path);
}

static void test_missing_file_read_only(void **state)
{
	char *path = path_for("missing.db"), *err;
	struct scen_db *db;
	enum scen_err kind = SCEN_OK;

	db = open_quiet(path, SCEN_DB_READONLY, &kind, &err);
	assert_null(db);
	assert_int_equal(kind, SCEN_ERR_IO);
	assert_non_null(strstr(err, path));
	assert_int_equal(access(path, F_OK), -1);	/* not created */
	free(err);
	free(path);
}

static void test_missing_folder(void **state)
{
	char *path = xasprintf("%s/no/such/folder/scen.db", tmpdir), *err;
	struct scen_db *db;
	enum scen_err kind = SCEN_OK;

	db = open_quiet(path, 0, &kind, &err);
	assert_null(db);
	assert_int_equal(kind, SCEN_ERR_IO);
	assert_non_null(strstr(err, path));
	free(err);
	free(path);
}

static void test_folder_as_database(void **state)
{
	char *err;
	struct scen_db *db;
	enum scen_err kind = SCEN_OK;

	db = open_quiet(tmpdir, 0, &kind, &err);
	assert_null(db);
	assert_int_equal(kind, SCEN_ERR_IO);
	assert_non_null(strstr(err, tmpdir));
	free(err);
}

/* An empty file (as touch(1) leaves) is a new database; read-only, it
 * cannot be migrated and is refused. */
static void test_empty_file(void **state)
{
	char *path = path_for("empty.db"), *err;
	struct scen_db *db;
	enum scen_err kind = SCEN_OK;

	write_file(path, "", 0);
	db = open_quiet(path, SCEN_DB_READONLY, &kind, &err);
	assert_null(db);
	assert_int_equal(kind, SCEN_ERR_IO);
	assert_non_null(strstr(err, path));
	free(err);
	assert_opens_current(path);
	free(path);
}

/* Two connections to one file share it (several scen-serve-stdin). */
static void test_two_connections(void **state)
{
	char *path = path_for("two.db"), *err;
	struct scen_db *a, *b;
	enum scen_err kind;

	a = open_quiet(path, 0, &kind, &err);
	free(err);
	b = open_quiet(path, 0, &kind, &err);
	free(err);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(scen_db_begin(a), 0);
	assert_true(scen_db_call_reserve(a, "x", 1800000000, 5, 0) > 0);
	assert_int_equal(scen_db_commit(a), 0);
	assert_int_equal(query_int(b, "SELECT count(*) FROM calls"), 1);
	scen_db_close(a);
	scen_db_close(b);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_database),
		cmocka_unit_test(test_wal_file_private),
		cmocka_unit_test(test_reopen_keeps_data),
		cmocka_unit_test(test_rollback_keeps_nothing),
		cmocka_unit_test(test_newer_schema_refused),
		cmocka_unit_test(test_random_bytes_refused),
		cmocka_unit_test(test_text_file_refused),
		cmocka_unit_test(test_corrupt_header_refused),
		cmocka_unit_test(test_truncated_database_refused),
		cmocka_unit_test(test_damaged_pages_refused),
		cmocka_unit_test(test_missing_file_read_only),
		cmocka_unit_test(test_missing_folder),
		cmocka_unit_test(test_folder_as_database),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_two_connections),
		cmocka_unit_test(test_foreign_database_refused),
		cmocka_unit_test(test_empty_sqlite_initialised),
		cmocka_unit_test(test_unmarked_scen_database),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
