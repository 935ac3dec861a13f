/* index.h — the in-memory index of servable scenarios and the similarity
 * of scen(7): buckets by hard factors, cells by exact key, and per cell the
 * scenarios grouped by how often they were served. */
#ifndef SCEN_INDEX_H
#define SCEN_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "scen/config.h"
#include "scen/hash.h"
#include "scen/request.h"

/*
 * Similarity of two factor/position choices of template t (scen(7)): 0 when
 * a hard factor (or a hard position) differs, else the weighted share of
 * equal soft factors plus the position closeness; 1 when nothing is soft.
 */
double scen_similarity(const struct scen_template *t, const uint16_t *a,
		       long apos, const uint16_t *b, long bpos);

/* What one session has been served (scenario row ids), loaded lazily. */
struct scen_session {
	int64_t *served;
	uint32_t n, cap;
	int loaded;
};
int scen_session_has(const struct scen_session *s, int64_t rowid);
void scen_session_add(struct scen_session *s, int64_t rowid);

struct scen_index;

struct scen_index *scen_index_new(const struct scen_config *cfg);
void scen_index_free(struct scen_index *ix);

/* The session's record (created empty and not loaded when new). */
struct scen_session *scen_index_session(struct scen_index *ix,
					const char *session);

struct scen_stored {
	int64_t rowid;
	const struct scen_template *tpl;
	const uint16_t *levels;
	long position;
	const uint8_t *key;	/* 16 bytes */
	uint64_t bucket;
	uint32_t serves;
	int pool;		/* made by scen-pool-fill */
	double created_at;
};
/* Adds a stored, valid scenario (ignored when its row id is known). */
void scen_index_add(struct scen_index *ix, const struct scen_stored *s);
/* Adds a stored scenario whose exact key already has a cell (loading
 * needs to parse only one row per cell); returns 0 when the key is new:
 * then call scen_index_add. */
int scen_index_add_to_cell(struct scen_index *ix, const uint8_t *key,
			   int64_t rowid, uint32_t serves, int pool,
			   double created_at);
/* Records one more serving of the scenario with that row id (no-op when
 * unknown: another template version). */
void scen_index_served(struct scen_index *ix, int64_t rowid);
/* Never picks the scenario with that row id again (a row whose
 * transaction was rolled back). */
void scen_index_forget(struct scen_index *ix, int64_t rowid);
/* Whether the scenario is known and served fewer than max_serves times. */
int scen_index_servable(const struct scen_index *ix, int64_t rowid);
size_t scen_index_count(const struct scen_index *ix);

struct scen_pick {
	int64_t rowid;
	double similarity;
	uint32_t serves;	/* before this serving */
	int pool;
};

/*
 * Best candidate for rq in tier (cache, pool or relaxed) with similarity >=
 * threshold: highest similarity, then least served. Never one the session
 * was served (when the config says so), never one served max_serves times,
 * never an unserved pool entry older than pool.max_age_days. Returns 1 and
 * fills out, or 0.
 */
int scen_index_pick(struct scen_index *ix, const struct scen_request *rq,
		    enum scen_tier tier, const struct scen_session *s,
		    double now, struct scen_pick *out);

/* The best similarity among every stored scenario for rq, by brute force
 * over all cells of the template (for tests): -1 when none. */
double scen_index_best_brute(const struct scen_index *ix,
			     const struct scen_request *rq);

#endif
