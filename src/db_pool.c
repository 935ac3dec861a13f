/* db_pool.c — the read-side SQL of scen-pool-fill (db_pool.h): pool entries
 * and open pool jobs per key, jobs owned by a process, demand per
 * combination. Bound parameters only; statements prepared once. */
#include "scen/db_pool.h"

#include "scen/db_int.h"

#include <stdlib.h>

#include "scen/util.h"


struct scen_db_pool {
	struct scen_db *db;
};

struct scen_db_pool *scen_db_pool_new(struct scen_db *db)
{
	struct scen_db_pool *p = xcalloc(1, sizeof *p);
	p->db = db;
	return p;
}

void scen_db_pool_free(struct scen_db_pool *p)
{
	free(p);
}

static struct db_stmt *stmt(struct scen_db_pool *p, enum stmt_id id)
{
	return db_stmt(p->db, id);
}

/* Ends a row loop: resets the statement and reports a failed step. */
static int finish(struct scen_db_pool *p, struct db_stmt *st, int r)
{
	int rc = 0;
	if (r != DB_DONE)
		rc = scen_error("%s: \"%.80s\": %s", scen_db_path(p->db),
				st->sql, db_errmsg(p->db));
	db_reset(st);
	return rc;
}

/* Column 0 as an exact key, or NULL when it is not one (16 bytes). */
static const uint8_t *key_of(struct db_stmt *st)
{
	const uint8_t *key = db_column_blob(st, 0);
	return db_column_bytes(st, 0) == 16 ? key : NULL;
}

static long column_long(struct db_stmt *st, int i)
{
	return (long)db_column_int64(st, i);
}

int scen_db_pool_entries(struct scen_db_pool *p, const char *version,
			 double min_created, scen_pool_entries_fn *fn,
			 void *ctx)
{
	struct db_stmt *st = stmt(p, PS_ENTRIES);
	if (!st)
		return -1;
	db_bind_text(st, 1, version, -1);
	db_bind_double(st, 2, min_created);
	int r;
	while ((r = db_step(st)) == DB_ROW) {
		const uint8_t *key = key_of(st);
		if (key)
			fn(ctx, key, column_long(st, 1), column_long(st, 2));
	}
	return finish(p, st, r);
}

/* Calls fn with each key and count of statement id, for version. */
static int key_counts(struct scen_db_pool *p, enum stmt_id id,
		      const char *version, scen_pool_key_fn *fn, void *ctx)
{
	struct db_stmt *st = stmt(p, id);
	if (!st)
		return -1;
	db_bind_text(st, 1, version, -1);
	int r;
	while ((r = db_step(st)) == DB_ROW) {
		const uint8_t *key = key_of(st);
		if (key)
			fn(ctx, key, column_long(st, 1));
	}
	return finish(p, st, r);
}

int scen_db_pool_open_jobs(struct scen_db_pool *p, const char *version,
			   scen_pool_key_fn *fn, void *ctx)
{
	return key_counts(p, PS_OPEN_JOBS, version, fn, ctx);
}

int scen_db_pool_batch_pending(struct scen_db_pool *p, const char *version,
			       scen_pool_key_fn *fn, void *ctx)
{
	return key_counts(p, PS_BATCH_PENDING, version, fn, ctx);
}

int scen_db_pool_batch_unmade(struct scen_db_pool *p, const char *version,
			      scen_pool_unmade_fn *fn, void *ctx)
{
	struct db_stmt *st = stmt(p, PS_BATCH_UNMADE);
	if (!st)
		return -1;
	db_bind_text(st, 1, version, -1);
	int r;
	while ((r = db_step(st)) == DB_ROW) {
		const uint8_t *key = key_of(st);
		if (key)
			fn(ctx, key, db_column_int64(st, 1),
			   (int)db_column_int64(st, 2));
	}
	return finish(p, st, r);
}

int scen_db_pool_owned_jobs(struct scen_db_pool *p, long pid,
			    scen_pool_jid_fn *fn, void *ctx)
{
	struct db_stmt *st = stmt(p, PS_OWNED);
	if (!st)
		return -1;
	db_bind_int64(st, 1, pid);
	int r;
	while ((r = db_step(st)) == DB_ROW)
		fn(ctx, db_column_text(st, 0));
	return finish(p, st, r);
}

int scen_db_pool_demand(struct scen_db_pool *p, const char *experiment,
			const char *tpl, double since,
			scen_pool_demand_fn *fn, void *ctx)
{
	struct db_stmt *st = stmt(p, PS_DEMAND);
	if (!st)
		return -1;
	db_bind_text(st, 1, experiment, -1);
	db_bind_text(st, 2, tpl, -1);
	db_bind_double(st, 3, since);
	int r;
	while ((r = db_step(st)) == DB_ROW) {
		const char *f = db_column_text(st, 0);
		if (!f)
			continue;
		fn(ctx, f, db_column_type(st, 1) != DB_NULL,
		   column_long(st, 1), column_long(st, 2));
	}
	return finish(p, st, r);
}
