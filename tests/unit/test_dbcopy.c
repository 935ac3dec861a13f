/* test_dbcopy.c — unit tests of scen_db_copy (src/dbcopy.c): db_tables is
 * the schema's tables, with their keys; a copy keeps every row of every
 * table, each value with its type (empty and binary blobs, NULLs, the
 * extremes of integers, reals); a count that differs after the copy keeps
 * nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "capture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen/db_int.h"
#include "scen/dbcopy.h"
#include "scen/util.h"

static char tmpdir[64];

static int setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/scen-test-dbcopy-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

/* A fresh database name in the temporary folder, opened (malloc'd). */
static struct scen_db *open_new(const char *name, int flags)
{
	char *p = xasprintf("%s/%s", tmpdir, name);
	struct scen_db *db = scen_db_open(p, flags, NULL);
	assert_non_null(db);
	free(p);
	return db;
}

/* The text of the first column of sql's rows, joined by ", ". */
static char *rows_text(struct scen_db *db, const char *sql, const char *arg)
{
	struct db_stmt *st = db_prepare(db, sql);
	struct strbuf sb;
	sb_init(&sb);
	assert_non_null(st);
	if (arg)
		db_bind_text(st, 1, arg, -1);
	while (db_step(st) == DB_ROW)
		sb_addf(&sb, "%s%s", sb.len ? ", " : "",
			db_column_text(st, 0) ? db_column_text(st, 0) : "");
	db_finalize(st);
	return sb.len ? sb.buf : xstrdup("");
}

static void test_tables_are_the_schema(void **state)
{
	struct scen_db *db = open_new("schema.db", 0);
	char *created = rows_text(db, "SELECT name FROM sqlite_schema"
				  " WHERE type = 'table' AND name NOT LIKE"
				  " 'sqlite_%' ORDER BY name", NULL);
	struct strbuf listed;
	sb_init(&listed);
	sb_adds(&listed, "[");
	for (const struct db_table *t = db_tables; t->name; t++) {
		sb_addf(&listed, "%s\"%s\"", t == db_tables ? "" : ",",
			t->name);
		char *key = rows_text(db, "SELECT name FROM pragma_table_info(?1)"
				      " WHERE pk > 0 ORDER BY pk", t->name);
		assert_string_equal(key, t->key);
		free(key);
		char *id = rows_text(db, "SELECT count(*) FROM"
				     " pragma_table_info(?1) WHERE name = 'id'"
				     " AND pk = 1 AND type = 'INTEGER'", t->name);
		assert_string_equal(id, t->identity ? "1" : "0");
		free(id);
	}
	sb_addc(&listed, ']');
	/* sorted as SQLite sorts them */
	char *names = rows_text(db, "SELECT value FROM json_each(?1)"
				" ORDER BY value", listed.buf);
	assert_string_equal(names, created);
	free(names);
	free(created);
	sb_release(&listed);
	scen_db_close(db);
}

/* A row in every table, with what a copy could lose: binary and empty
 * blobs, NULLs, integers at their extremes, reals that are whole numbers
 * or not, text beyond ASCII. */
static const char fill_sql[] =
	"INSERT INTO templates VALUES ('v1', 'e', 't', 'sys', 'pr\xc3\xa9', 'm',"
	" 0.7, 600, '{}', '{}', NULL, 1.0), ('v0', 'e', 't2', 's', 'p', 'm',"
	" 1e300, 1, '{}', '{}', '{\"min\":1}', 2.5);"
	"INSERT INTO scenarios(id, sid, experiment, template, version, key,"
	" factors, position, text, model, account, prompt_hash, origin,"
	" created_at, serves, job, text_hash) VALUES"
	" (7, 'sc-1', 'e', 't', 'v1', X'00ff00800a0d', '{}', NULL, 'a', 'm',"
	" NULL, 'h', 'pool', 1000000000.125, 2, 5, -9223372036854775808),"
	" (42, 'sc-2', 'e', 't', 'v1', X'', '{}', 3, 'b', 'm', 'a', 'h',"
	" 'fresh', 3.0, 0, NULL, 9223372036854775807);"
	"INSERT INTO servings(id, request_id, session, experiment, template,"
	" version, factors, tier, similarity, scenario, latency_ms, served_at)"
	" VALUES (3, 'r', 's', 'e', 't', 'v1', '{}', 'cache', 0.5, 42, 1.25,"
	" 2.5), (9, 'r2', 's', 'e', 't', 'v1', '{}', 'pool', 1.0, 7, 0, 3);"
	"INSERT INTO jobs(id, jid, state, experiment, template, version, key,"
	" factors, origin, created_at, scenario) VALUES (5, 'j-1', 'done', 'e',"
	" 't', 'v1', X'0102030000', '{}', 'pool', 3.0, 7);"
	"INSERT INTO calls(id, account, at, tokens, job) VALUES"
	" (9, 'a', 4.0, 100, 5);"
	"INSERT INTO accounts(name, key_verdict) VALUES ('a', 'refused');"
	"INSERT INTO counters VALUES (5, 'tier.cache', 3), (5, 'answer.ok', 3);"
	"INSERT INTO events(id, at, kind) VALUES (11, 5.0, 'x');"
	"INSERT INTO spool_replayed VALUES ('u1', 6.0);"
	"INSERT INTO owners VALUES ('h1', 42, 7.5);"
	"INSERT INTO batches(id, bid, account, state, batch_id, lines, window_s,"
	" created_at) VALUES (3, 'bt-1', 'a', 'ended', 'batch_x', 1, 86400.0,"
	" 8.25);"
	"INSERT INTO batch_lines(id, batch, custom_id, experiment, template,"
	" version, key, factors, attempt, state, scenario) VALUES (4, 3,"
	" 'bt-1-0', 'e', 't', 'v1', x'0f', '{}', 1, 'done', 7);"
	"INSERT INTO batch_keys VALUES ('a', 'fp', 'refused', 'HTTP 403', 9.5);";

/* Every row of every table of a and b, in key order, value for value and
 * type for type. */
static void assert_same_rows(struct scen_db *a, struct scen_db *b)
{
	for (const struct db_table *t = db_tables; t->name; t++) {
		char *sql = xasprintf(db_copy_read_sql, t->name, t->key);
		struct db_stmt *x = db_prepare(a, sql), *y = db_prepare(b, sql);
		int rx, ry, rows = 0;
		while ((rx = db_step(x)) == DB_ROW) {
			ry = db_step(y);
			assert_int_equal(ry, DB_ROW);
			rows++;
			for (int i = 0; i < db_column_count(x); i++) {
				enum db_type ty = db_column_type(x, i);
				assert_int_equal(db_column_type(y, i), ty);
				const void *p = db_column_blob(x, i);
				const void *q = db_column_blob(y, i);
				int n = db_column_bytes(x, i);
				assert_int_equal(db_column_bytes(y, i), n);
				assert_true(!n || !memcmp(p, q, (size_t)n));
				if (ty == DB_FLOAT)
					assert_true(db_column_double(x, i) ==
						    db_column_double(y, i));
			}
		}
		assert_int_equal(rx, DB_DONE);
		assert_int_equal(db_step(y), DB_DONE);
		/* the fill leaves no table empty: a new table needs a row */
		assert_true(rows > 0);
		db_finalize(x);
		db_finalize(y);
		free(sql);
	}
}

static void test_copy_keeps_values(void **state)
{
	struct scen_db *src = open_new("src.db", 0);
	assert_int_equal(db_exec(src, fill_sql), 0);
	scen_db_close(src);
	src = open_new("src.db", SCEN_DB_READONLY);
	struct scen_db *dst = open_new("dst.db", 0);
	struct scen_error e;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_int_equal(scen_db_copy(src, dst, f, &e), SCEN_OK);
	fclose(f);
	assert_non_null(strstr(out, "scenarios       2\n"));
	assert_non_null(strstr(out, "counters        2\n"));
	assert_same_rows(src, dst);
	/* new rows continue after the copied ids */
	assert_int_equal(scen_db_begin(dst), 0);
	assert_int_equal(scen_db_event(dst, "after", NULL, NULL), 0);
	assert_int_equal(scen_db_commit(dst), 0);
	char *ids = rows_text(dst, "SELECT id FROM events ORDER BY id", NULL);
	assert_string_equal(ids, "11, 12");
	free(ids);
	free(out);
	scen_db_close(src);
	scen_db_close(dst);
}

static void test_count_differs_keeps_nothing(void **state)
{
	struct scen_db *src = open_new("src2.db", 0);
	assert_int_equal(db_exec(src, fill_sql), 0);
	struct scen_db *dst = open_new("dst2.db", 0);
	/* a target that loses a row as it is written */
	assert_int_equal(db_exec(dst, "CREATE TRIGGER lose AFTER INSERT ON"
				 " events BEGIN DELETE FROM events"
				 " WHERE id = new.id; END"), 0);
	struct scen_error e;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	capture_start();
	enum scen_err rc = scen_db_copy(src, dst, f, &e);
	free(capture_end());
	fclose(f);
	assert_int_equal(rc, SCEN_ERR_SOFTWARE);
	assert_non_null(strstr(e.msg, "events: 1 in "));
	assert_non_null(strstr(e.msg, ", 1 copied, 0 in "));
	assert_string_equal(out, "");
	char *n = rows_text(dst, "SELECT count(*) FROM scenarios", NULL);
	assert_string_equal(n, "0");
	free(n);
	/* and a target with rows is refused, naming them */
	assert_int_equal(scen_db_copy(dst, src, stdout, &e), SCEN_ERR_DATA);
	assert_non_null(strstr(e.msg, "(templates: 2, scenarios: 2, servings:"
			       " 2, jobs: 1, calls: 1, accounts: 1,"
			       " counters: 2, events: 1, spool_replayed: 1, owners: 1, batches: 1, batch_lines: 1, batch_keys: 1)"));
	free(out);
	scen_db_close(src);
	scen_db_close(dst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_are_the_schema),
		cmocka_unit_test(test_copy_keeps_values),
		cmocka_unit_test(test_count_differs_keeps_nothing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
