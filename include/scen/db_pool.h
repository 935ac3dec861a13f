/* db_pool.h — the SQL of scen-pool-fill: what the pool holds per exact
 * key, which pool jobs are still open, and how often each combination of
 * factor levels was asked for. Statements prepared once on the connection
 * of db.h and reused. */
#ifndef SCEN_DB_POOL_H
#define SCEN_DB_POOL_H

#include <stdint.h>

#include "scen/db.h"

struct scen_db_pool;

/* Never NULL; statements are prepared on first use. */
struct scen_db_pool *scen_db_pool_new(struct scen_db *db);
/* Accepts NULL. Call it before scen_db_close (its statements live on the
 * connection). */
void scen_db_pool_free(struct scen_db_pool *p);

/*
 * Pool entries of one template version, per exact key (16 bytes): valid
 * (every stored scenario is), unserved and not quarantined; live ones were
 * made at or after min_created, retired ones before it (the serving index
 * no longer serves those; they stay in the table for export). fn is called
 * once per key. Returns 0, or -1 after reporting the failing statement.
 */
typedef void scen_pool_entries_fn(void *ctx, const uint8_t *key, long live,
				  long retired);
int scen_db_pool_entries(struct scen_db_pool *p, const char *version,
			 double min_created, scen_pool_entries_fn *fn,
			 void *ctx);

/* Queued or running pool jobs of one template version, per exact key,
 * whatever process owns them. */
typedef void scen_pool_key_fn(void *ctx, const uint8_t *key, long n);
int scen_db_pool_open_jobs(struct scen_db_pool *p, const char *version,
			   scen_pool_key_fn *fn, void *ctx);

/* Lines of open batches (pending) of one template version, per key. */
int scen_db_pool_batch_pending(struct scen_db_pool *p, const char *version,
			       scen_pool_key_fn *fn, void *ctx);
/* Batch lines of one template version that made no entry (rejected,
 * failed, expired) and were not planned again: each with its row id and
 * attempt, oldest first. */
typedef void scen_pool_unmade_fn(void *ctx, const uint8_t *key,
				 int64_t line, int attempt);
int scen_db_pool_batch_unmade(struct scen_db_pool *p, const char *version,
			      scen_pool_unmade_fn *fn, void *ctx);

/* Queued or running jobs owned by process pid (any origin): their public
 * ids, oldest first. */
typedef void scen_pool_jid_fn(void *ctx, const char *jid);
int scen_db_pool_owned_jobs(struct scen_db_pool *p, long pid,
			    scen_pool_jid_fn *fn, void *ctx);

/*
 * Demand for the combinations of one template (any version) since `since`:
 * every request answered from storage counts once through its serving
 * (tiers cache, pool, relaxed), every request that needed generation once
 * through its job (origin fresh, made for a session). factors is the
 * canonical JSON of scen_request_factors_json; has_position is 0 when the
 * rows carry none.
 */
typedef void scen_pool_demand_fn(void *ctx, const char *factors,
				 int has_position, long position, long n);
int scen_db_pool_demand(struct scen_db_pool *p, const char *experiment,
			const char *tpl, double since,
			scen_pool_demand_fn *fn, void *ctx);

#endif
