/* db.c — the storage layer's connection, whichever the backend (db_int.h):
 * the open that picks SQLite or PostgreSQL by the name given,
 * transactions and why a write failed, the counters kept until commit,
 * events; and the helpers that run the statements of db_schema.c for every
 * db_ file. */
#include "scen/db_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

const char *scen_db_path(const struct scen_db *db)
{
	return db->path;
}

char *scen_db_spool_path(const struct scen_db *db)
{
	if (db->be == &db_sqlite)
		return xasprintf("%s.spool", db->path);
	return xasprintf("scen-%016llx.spool", (unsigned long long)
			 XXH3_64bits(db->path, strlen(db->path)));
}

/* Whether an error is to be told: not again while the server stays
 * unreachable (see db_fail). */
static int db_tell(struct scen_db *db)
{
	if (db->trouble != SCEN_DB_UNREACHABLE)
		return 1;
	return !db->lost_told++;
}

int db_fail(struct scen_db *db, const char *what)
{
	if (!db_tell(db))
		return -1;
	return scen_error("%s: %s: %s", db->path, what, db_errmsg(db));
}

const char *db_sql(const struct scen_db *db, enum stmt_id id)
{
	const char *sql = db->be->stmt_sql[id];
	return sql ? sql : db_stmt_sql[id];
}

struct db_stmt *db_stmt(struct scen_db *db, enum stmt_id id)
{
	if (!db->st[id]) {
		const char *sql = db_sql(db, id);
		db->st[id] = db->be->prepare(db, sql, 1);
		if (!db->st[id]) {
			if (db_tell(db))
				scen_error("%s: cannot prepare \"%s\": %s",
					   db->path, sql, db_errmsg(db));
			return NULL;
		}
	}
	return db->st[id];
}

struct db_stmt *db_prepare(struct scen_db *db, const char *sql)
{
	struct db_stmt *st = db->be->prepare(db, sql, 0);
	if (!st && db_tell(db))
		scen_error("%s: cannot prepare \"%.80s\": %s", db->path, sql,
			   db_errmsg(db));
	return st;
}

int db_next(struct db_stmt *st)
{
	int rc = db_step(st);
	if (rc < 0 && db_tell(st->db))
		scen_error("%s: \"%.80s\": %s", st->db->path, st->sql,
			   db_errmsg(st->db));
	return rc;
}

int db_run(struct scen_db *db, struct db_stmt *st)
{
	if (!db->be->run) {
		int rc = db_next(st);
		db_reset(st);
		return rc < 0 ? -1 : 0;
	}
	if (db->be->run(st) < 0)
		return scen_error("%s: \"%.80s\": %s", db->path, st->sql,
				  db_errmsg(db));
	return 0;
}

int db_exec(struct scen_db *db, const char *sql)
{
	if (db->be->exec(db, sql) < 0) {
		scen_error("%s: \"%.60s\": %s", db->path, sql, db_errmsg(db));
		return -1;
	}
	return 0;
}

int64_t db_int(struct scen_db *db, enum stmt_id id)
{
	struct db_stmt *st = db_stmt(db, id);
	int64_t v = -1;
	if (!st)
		return -1;
	if (db_next(st) == DB_ROW)
		v = db_column_int64(st, 0);
	db_reset(st);
	return v;
}

int64_t db_insert_id(struct scen_db *db, struct db_stmt *st)
{
	int rc = db_next(st);
	int64_t id = rc == DB_ROW ? db_column_int64(st, 0) : -1;
	db_reset(st);
	if (rc == DB_DONE)
		scen_error("%s: \"%.80s\": no row id returned", db->path,
			   st->sql);
	return id;
}

void db_bind_text_or_null(struct db_stmt *st, int i, const char *s)
{
	if (s)
		db_bind_text(st, i, s, -1);
	else
		db_bind_null(st, i);
}

void db_bind_int64_if(struct db_stmt *st, int i, int has, int64_t v)
{
	if (has)
		db_bind_int64(st, i, v);
	else
		db_bind_null(st, i);
}

void db_bind_nulls(struct db_stmt *st, int from, int last)
{
	for (int i = from; i <= last; i++)
		db_bind_null(st, i);
}

void db_bind_request(struct scen_db *db, struct db_stmt *st, int first,
		     const struct scen_request *rq)
{
	struct strbuf *sb = &db->sb;
	sb_reset(sb);
	scen_request_factors_json(rq, sb);
	db_bind_text(st, first, rq->exp->name, -1);
	db_bind_text(st, first + 1, rq->tpl->name, -1);
	db_bind_text(st, first + 2, rq->tpl->version_hex, -1);
	db_bind_blob(st, first + 3, rq->key, 16);
	db_bind_text(st, first + 4, sb->buf, (int)sb->len);
	if (rq->tpl->position.declared)
		db_bind_int64(st, first + 5, rq->position);
	else
		db_bind_null(st, first + 5);
}

int64_t db_text_hash(const void *key, size_t klen, const void *text,
		     size_t n)
{
	return (int64_t)XXH3_64bits_withSeed(text, n, XXH3_64bits(key, klen));
}
/* How messages name target: the file, or the URI without its password
 * (user:password@, password=...), which never appears in any output. */
static char *display_name(const char *target)
{
	if (!strstr(target, "://"))
		return xstrdup(target);
	struct strbuf sb;
	sb_init(&sb);
	const char *p = strstr(target, "://") + 3;
	sb_add(&sb, target, (size_t)(p - target));
	const char *at = strchr(p, '@'), *slash = strchr(p, '/');
	if (at && (!slash || at < slash)) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		sb_add(&sb, p, (size_t)((colon ? colon : at) - p));
		p = at;
	}
	/* the query: every parameter but password */
	const char *q = strchr(p, '?');
	sb_add(&sb, p, q ? (size_t)(q - p) : strlen(p));
	char sep = '?';
	while (q && *q) {
		const char *name = q + 1, *end = strchr(name, '&');
		size_t n = end ? (size_t)(end - name) : strlen(name);
		if (n && strncmp(name, "password=", 9)) {
			sb_addc(&sb, sep);
			sb_add(&sb, name, n);
			sep = '&';
		}
		q = end;
	}
	return sb.buf;	/* sb's buffer, handed over */
}

struct scen_db *scen_db_open(const char *target, int flags,
			     struct scen_error *err)
{
	/* a mistyped scheme or a libpq connection string is no file name,
	 * and its password is not to be printed as one */
	if (!scen_is_db_uri(target) &&
	    (strstr(target, "://") || strstr(target, "password="))) {
		char *name = display_name(target);
		scen_error("%s: neither a file nor a postgresql:// URI",
			   strstr(name, "password=") ? "the database" : name);
		free(name);
		scen_failed(err, SCEN_ERR_CONFIG);
		return NULL;
	}
	struct scen_db *db = xcalloc(1, sizeof *db);
	db->be = scen_is_db_uri(target) ? &db_pg : &db_sqlite;
	db->path = display_name(target);
	db->readonly = flags & SCEN_DB_READONLY;
	sb_init(&db->sb);
	scen_map_init(&db->counts);
	scen_map_init(&db->served);
	db->fail_after = -1;
	enum scen_err rc = db->be->open(db, target, flags);
	if (rc) {
		scen_failed(err, rc);
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
		db_finalize(db->st[i]);
	db->be->close(db);
	scen_map_release(&db->counts);
	scen_map_release(&db->served);
	sb_release(&db->sb);
	free(db->tx_scn);
	free(db->path);
	free(db);
}

enum scen_err scen_db_pool_lock(struct scen_db *db, struct scen_error *e)
{
	return db->be->pool_lock(db, e);
}

/* A commit that SCEN_DB_FAIL_AFTER or SCEN_DB_FAIL_FILE fails (test
 * builds, see db.h): -1 (reported), else 0. */
static int test_commit_fails(struct scen_db *db)
{
#ifdef SCEN_TEST_HOOKS
	const char *file = getenv("SCEN_DB_FAIL_FILE");
	int by_file = file && *file && access(file, F_OK) == 0;
	if (!by_file && (db->fail_after < 0 || db->commits < db->fail_after))
		return 0;
	scen_error("%s: \"COMMIT\": attempt to write a readonly database "
		   "(%s)", db->path, by_file ? "SCEN_DB_FAIL_FILE"
		   : "SCEN_DB_FAIL_AFTER");
	if (!db->trouble)
		db->trouble = SCEN_DB_READ_ONLY;
	return -1;
#else
	return 0;
#endif
}

int scen_db_begin(struct scen_db *db)
{
	db->trouble = SCEN_DB_OK;
	db->wrote_servings = 0;
	db->ntx_scn = 0;
	if (db->be->begin(db, DB_TX_WRITE) < 0)
		return db_fail(db, "cannot begin a write transaction");
	db->in_tx = 1;
	db->lost_told = 0;
	return 0;
}

int scen_db_begin_quiet(struct scen_db *db)
{
	db->trouble = SCEN_DB_OK;
	db->wrote_servings = 0;
	db->ntx_scn = 0;
	if (db->be->begin(db, DB_TX_QUIET) <= 0)
		return 0;
	db->in_tx = 1;
	db->lost_told = 0;
	return 1;
}

void scen_db_retry_now(struct scen_db *db)
{
	if (db->be->retry_now)
		db->be->retry_now(db);
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
	case SCEN_DB_UNREACHABLE:
		return "database unreachable";
	case SCEN_DB_UNKNOWN_COMMIT:
		return "database commit unknown";
	default:
		return "database writable";
	}
}

static int flush_counts(struct scen_db *db)
{
	if (!db->counts.len)
		return 0;
	struct db_stmt *st = db_stmt(db, ST_COUNTER);
	if (!st)
		return -1;
	int64_t hour = (int64_t)(scen_now() / 3600);
	int rc = 0;
	for (size_t i = 0; i < db->counts.cap; i++) {
		struct scen_map_slot *s = &db->counts.slots[i];
		if (!s->hash || !s->value)
			continue;
		db_bind_int64(st, 1, hour);
		db_bind_text(st, 2, s->key, (int)s->klen);
		db_bind_int64(st, 3, (int64_t)s->value);
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
	struct db_stmt *st = db_stmt(db, ST_SERVED);
	if (!st)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < db->served.cap; i++) {
		struct scen_map_slot *s = &db->served.slots[i];
		if (!s->hash)
			continue;
		int64_t id;
		memcpy(&id, s->key, sizeof id);
		db_bind_int64(st, 1, id);
		db_bind_int64(st, 2, (int64_t)s->value);
		if (db_run(db, st) < 0)
			rc = -1;
	}
	scen_map_release(&db->served);
	scen_map_init(&db->served);
	return rc;
}

/* The servings this transaction wrote are this process's own: catch-up
 * (scen_db_catch_up) starts after them. Writers take turns, so the
 * highest id is the last of them. */
static int catch_up_own(struct scen_db *db, int64_t *seen)
{
	*seen = db->seen_serving;
	if (db->wrote_servings && (*seen = db_int(db, ST_MAX_SERVING)) < 0)
		return -1;
	return 0;
}

int scen_db_commit(struct scen_db *db)
{
	int64_t seen;
	if (test_commit_fails(db) < 0 || flush_counts(db) < 0 ||
	    flush_served(db) < 0 || catch_up_own(db, &seen) < 0 ||
	    (db->be->commit(db) < 0 && db_fail(db, "\"COMMIT\"") < 0)) {
		scen_db_rollback(db);
		return -1;
	}
	db->in_tx = 0;
	db->seen_serving = seen;
	db->commits++;
	return 0;
}

void scen_db_rollback(struct scen_db *db)
{
	db->be->rollback(db);
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
	struct db_stmt *st = db_stmt(db, ST_EVENT);
	if (!st)
		return -1;
	db_bind_double(st, 1, scen_now());
	db_bind_text(st, 2, kind, -1);
	db_bind_text_or_null(st, 3, account);
	db_bind_text_or_null(st, 4, detail);
	return db_run(db, st);
}
