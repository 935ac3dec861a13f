/* rowcache.h — scenarios read back sound from the database, kept in memory
 * within a byte budget, so that serving one again reads nothing: a hit
 * costs no query for its text. Stored scenarios are never changed or
 * deleted, so a kept row stays true; a row found damaged is dropped. */
#ifndef SCEN_ROWCACHE_H
#define SCEN_ROWCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "scen/db.h"
#include "scen/hash.h"

/* the budget of scen-serve-stdin: texts, their JSON form and bookkeeping */
#define SCEN_ROWCACHE_BYTES ((size_t)32 << 20)

struct scen_cached {
	struct scen_scenario_row row;	/* row.text owned */
	char *text_json;		/* the text as a JSON string, quoted */
	size_t text_json_len;
	char *model_json;		/* row.model as a JSON string */
	size_t model_json_len;
	char created_iso[24];		/* row.created_at, scen_iso8601 */
	int64_t rowid;
	size_t bytes;
	uint8_t ref;			/* served since the hand last passed */
};

struct scen_rowcache {
	struct scen_map map;		/* rowid -> entry index */
	struct scen_cached *e;		/* n slots; a hole has text NULL */
	size_t n, cap, hand, bytes, budget;
	size_t *holes, nholes, capholes;
	uint64_t evicted;		/* rows evicted to make room */
};

void scen_rowcache_init(struct scen_rowcache *c, size_t budget);
void scen_rowcache_release(struct scen_rowcache *c);
/* The row kept under rowid, or NULL. */
const struct scen_cached *scen_rowcache_get(struct scen_rowcache *c,
					    int64_t rowid);
/* Keeps r under rowid, taking its text; makes room by evicting rows not
 * served since the clock hand last passed them. Returns the entry (valid
 * until the next put or drop). */
const struct scen_cached *scen_rowcache_put(struct scen_rowcache *c,
					    int64_t rowid,
					    struct scen_scenario_row *r);
void scen_rowcache_drop(struct scen_rowcache *c, int64_t rowid);
/* How many rows are kept. */
size_t scen_rowcache_count(const struct scen_rowcache *c);

#endif
