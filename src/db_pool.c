/* db_pool.c — the read-side SQL of scen-pool-fill (db_pool.h): pool entries
 * and open pool jobs per key, jobs owned by a process, demand per
 * combination. Bound parameters only; statements prepared once. */
#include "scen/db_pool.h"

#include <sqlite3.h>
#include <stdlib.h>

#include "scen/util.h"

enum pool_stmt {
	PS_ENTRIES,
	PS_OPEN_JOBS,
	PS_OWNED,
	PS_DEMAND,
	PS_COUNT
};

static const char *const pool_sql[PS_COUNT] = {
	[PS_ENTRIES] = "SELECT key, sum(created_at >= ?2), sum(created_at < ?2)"
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
		"  GROUP BY factors, position)"
		" GROUP BY factors, position",
};

struct scen_db_pool {
	struct scen_db *db;
	sqlite3 *h;
	sqlite3_stmt *st[PS_COUNT];
};

struct scen_db_pool *scen_db_pool_new(struct scen_db *db)
{
	struct scen_db_pool *p = xcalloc(1, sizeof *p);
	p->db = db;
	p->h = scen_db_handle(db);
	return p;
}

void scen_db_pool_free(struct scen_db_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < PS_COUNT; i++)
		sqlite3_finalize(p->st[i]);
	free(p);
}

static sqlite3_stmt *stmt(struct scen_db_pool *p, enum pool_stmt id)
{
	if (p->st[id])
		return p->st[id];
	if (sqlite3_prepare_v3(p->h, pool_sql[id], -1,
			       SQLITE_PREPARE_PERSISTENT, &p->st[id],
			       NULL) != SQLITE_OK) {
		scen_error("%s: cannot prepare \"%s\": %s",
			   scen_db_path(p->db), pool_sql[id],
			   sqlite3_errmsg(p->h));
		p->st[id] = NULL;
		return NULL;
	}
	return p->st[id];
}

/* Ends a row loop: resets the statement and reports a failed step. */
static int finish(struct scen_db_pool *p, sqlite3_stmt *st, int r)
{
	int rc = 0;
	if (r != SQLITE_DONE)
		rc = scen_error("%s: \"%.80s\": %s", scen_db_path(p->db),
				sqlite3_sql(st), sqlite3_errmsg(p->h));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* Column 0 as an exact key, or NULL when it is not one (16 bytes). */
static const uint8_t *key_of(sqlite3_stmt *st)
{
	const uint8_t *key = sqlite3_column_blob(st, 0);
	return sqlite3_column_bytes(st, 0) == 16 ? key : NULL;
}

static long column_long(sqlite3_stmt *st, int i)
{
	return (long)sqlite3_column_int64(st, i);
}

int scen_db_pool_entries(struct scen_db_pool *p, const char *version,
			 double min_created, scen_pool_entries_fn *fn,
			 void *ctx)
{
	sqlite3_stmt *st = stmt(p, PS_ENTRIES);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, version, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, min_created);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *key = key_of(st);
		if (key)
			fn(ctx, key, column_long(st, 1), column_long(st, 2));
	}
	return finish(p, st, r);
}

int scen_db_pool_open_jobs(struct scen_db_pool *p, const char *version,
			   scen_pool_key_fn *fn, void *ctx)
{
	sqlite3_stmt *st = stmt(p, PS_OPEN_JOBS);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, version, -1, SQLITE_STATIC);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *key = key_of(st);
		if (key)
			fn(ctx, key, column_long(st, 1));
	}
	return finish(p, st, r);
}

int scen_db_pool_owned_jobs(struct scen_db_pool *p, long pid,
			    scen_pool_jid_fn *fn, void *ctx)
{
	sqlite3_stmt *st = stmt(p, PS_OWNED);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, pid);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		fn(ctx, (const char *)sqlite3_column_text(st, 0));
	return finish(p, st, r);
}

int scen_db_pool_demand(struct scen_db_pool *p, const char *experiment,
			const char *tpl, double since,
			scen_pool_demand_fn *fn, void *ctx)
{
	sqlite3_stmt *st = stmt(p, PS_DEMAND);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, experiment, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tpl, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, since);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *f = (const char *)sqlite3_column_text(st, 0);
		if (!f)
			continue;
		fn(ctx, f, sqlite3_column_type(st, 1) != SQLITE_NULL,
		   column_long(st, 1), column_long(st, 2));
	}
	return finish(p, st, r);
}
