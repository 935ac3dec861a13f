/* index.c — in-memory index of servable scenarios. A bucket holds the cells
 * that share the hard part of a request (experiment, template version, hard
 * factors, hard position); a cell holds the scenarios of one exact request
 * key, in lists by serving count so the least served is found at once. */
#include "scen/index.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scen/util.h"

double scen_similarity(const struct scen_template *t, const uint16_t *a,
		       long apos, const uint16_t *b, long bpos)
{
	double num = 0, den = 0;
	for (size_t i = 0; i < t->nfactors; i++) {
		const struct scen_factor *f = &t->factors[i];
		int eq = a[i] == b[i];
		if (!f->soft) {
			if (!eq)
				return 0;
			continue;
		}
		den += f->weight;
		if (eq)
			num += f->weight;
	}
	const struct scen_position *p = &t->position;
	if (p->declared) {
		if (!p->soft) {
			if (apos != bpos)
				return 0;
		} else {
			double range = (double)(p->max - p->min);
			double d = labs(apos - bpos);
			double close = range > 0 ? 1 - d / range : 1;
			if (close < 0)
				close = 0;
			den += p->weight;
			num += p->weight * close;
		}
	}
	if (den <= 0)
		return 1;
	double s = num / den;
	return s > 1 ? 1 : s;
}

int scen_session_has(const struct scen_session *s, int64_t rowid)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (s->served[i] == rowid)
			return 1;
	return 0;
}

void scen_session_add(struct scen_session *s, int64_t rowid)
{
	if (scen_session_has(s, rowid))
		return;
	XGROW(s->served, s->n + 1, s->cap);
	s->served[s->n++] = rowid;
}

struct list {
	uint32_t *v;
	uint32_t n, cap;
};

/* A cell's lists: lists[k] for k < K holds the scenarios served k times,
 * then one list for those served K times or more (but fewer than
 * max_serves, where the least served is found by a scan), one for the
 * spent, one for unserved pool entries. K = min(max_serves, 32) keeps the
 * lists few whatever max_serves is. */
#define MAX_EXACT 32

struct cell {
	const struct scen_template *tpl;
	uint16_t *levels;
	long position;
	struct list *lists;
};

struct scn {
	int64_t rowid;
	uint32_t cell;
	uint32_t slot;		/* index in its list */
	uint32_t serves;
	uint32_t created;	/* epoch seconds */
	uint8_t pool;		/* origin pool and still unserved */
};

struct bucket {
	uint32_t *cells;
	uint32_t n, cap;
};

struct scen_index {
	const struct scen_config *cfg;
	uint32_t k;		/* lists of exact serving counts */
	uint32_t max_serves;
	uint32_t nlists;	/* k + 3: overflow, spent, pool */
	struct scn *scns;
	size_t nscns, capscns;
	struct cell *cells;
	size_t ncells, capcells;
	struct bucket *buckets;
	size_t nbuckets, capbuckets;
	/* rowid -> scn index + 1: row ids are dense (scenarios are never
	 * deleted), so a table indexed by rowid; ids far beyond the rows
	 * held (a database written by something else) go to a map */
	uint32_t *by_rowid;
	size_t caprowid;
	struct scen_map far_rowid;
	struct scen_map by_key;		/* key -> cell index */
	struct scen_map by_bucket;	/* bucket hash -> bucket index */
	struct scen_map by_session;	/* session -> struct scen_session * */
};

struct scen_index *scen_index_new(const struct scen_config *cfg)
{
	struct scen_index *ix = xcalloc(1, sizeof *ix);
	ix->cfg = cfg;
	ix->max_serves = (uint32_t)cfg->cache.max_serves;
	ix->k = ix->max_serves < MAX_EXACT ? ix->max_serves : MAX_EXACT;
	ix->nlists = ix->k + 3;
	scen_map_init(&ix->far_rowid);
	scen_map_init(&ix->by_key);
	scen_map_init(&ix->by_bucket);
	scen_map_init(&ix->by_session);
	return ix;
}

void scen_index_free(struct scen_index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->ncells; i++) {
		for (uint32_t k = 0; k < ix->nlists; k++)
			free(ix->cells[i].lists[k].v);
		free(ix->cells[i].lists);
		free(ix->cells[i].levels);
	}
	for (size_t i = 0; i < ix->nbuckets; i++)
		free(ix->buckets[i].cells);
	for (size_t i = 0; i < ix->by_session.cap; i++) {
		struct scen_map_slot *sl = &ix->by_session.slots[i];
		if (!sl->hash)
			continue;
		struct scen_session *s = (struct scen_session *)sl->value;
		free(s->served);
		free(s);
	}
	free(ix->by_rowid);
	scen_map_release(&ix->far_rowid);
	scen_map_release(&ix->by_key);
	scen_map_release(&ix->by_bucket);
	scen_map_release(&ix->by_session);
	free(ix->scns);
	free(ix->cells);
	free(ix->buckets);
	free(ix);
}

struct scen_session *scen_index_session(struct scen_index *ix,
					const char *session)
{
	int created;
	uint64_t *v = scen_map_put(&ix->by_session, session, strlen(session),
				   &created);
	if (created)
		*v = (uint64_t)xcalloc(1, sizeof(struct scen_session));
	return (struct scen_session *)*v;
}

static void list_push(struct scen_index *ix, uint32_t si, uint32_t k)
{
	struct scn *s = &ix->scns[si];
	struct list *l = &ix->cells[s->cell].lists[k];
	XGROW(l->v, l->n + 1, l->cap);
	s->slot = l->n;
	l->v[l->n++] = si;
}

static void list_remove(struct scen_index *ix, uint32_t si, uint32_t k)
{
	struct scn *s = &ix->scns[si];
	struct list *l = &ix->cells[s->cell].lists[k];
	uint32_t last = l->v[--l->n];
	l->v[s->slot] = last;
	ix->scns[last].slot = s->slot;
}

#define L_OVERFLOW(ix) ((ix)->k)
#define L_SPENT(ix) ((ix)->k + 1)
#define L_POOL(ix) ((ix)->k + 2)

static uint32_t list_of(const struct scen_index *ix, const struct scn *s)
{
	if (s->pool)
		return L_POOL(ix);
	if (s->serves >= ix->max_serves)
		return L_SPENT(ix);
	return s->serves < ix->k ? s->serves : L_OVERFLOW(ix);
}

static uint32_t cell_for(struct scen_index *ix, const struct scen_stored *st)
{
	int created;
	uint64_t *v = scen_map_put(&ix->by_key, st->key, 16, &created);
	if (!created)
		return (uint32_t)*v;
	XGROW(ix->cells, ix->ncells + 1, ix->capcells);
	uint32_t ci = (uint32_t)ix->ncells++;
	*v = ci;
	struct cell *c = &ix->cells[ci];
	c->tpl = st->tpl;
	size_t nf = st->tpl->nfactors;
	c->levels = xmalloc((nf ? nf : 1) * sizeof(uint16_t));
	memcpy(c->levels, st->levels, nf * sizeof(uint16_t));
	c->position = st->position;
	c->lists = xcalloc(ix->nlists, sizeof(struct list));

	uint64_t *b = scen_map_put(&ix->by_bucket, &st->bucket,
				   sizeof st->bucket, &created);
	if (created) {
		XGROW(ix->buckets, ix->nbuckets + 1, ix->capbuckets);
		memset(&ix->buckets[ix->nbuckets], 0, sizeof(struct bucket));
		*b = ix->nbuckets++;
	}
	struct bucket *bk = &ix->buckets[*b];
	XGROW(bk->cells, bk->n + 1, bk->cap);
	bk->cells[bk->n++] = ci;
	return ci;
}

/* The scn of rowid, or -1. */
static int64_t scn_of(const struct scen_index *ix, int64_t rowid)
{
	if (rowid >= 0 && (uint64_t)rowid < ix->caprowid &&
	    ix->by_rowid[rowid])
		return (int64_t)ix->by_rowid[rowid] - 1;
	if (!ix->far_rowid.len)
		return -1;
	uint64_t *v = scen_map_get(&ix->far_rowid, &rowid, sizeof rowid);
	return v ? (int64_t)*v : -1;
}

/* Records rowid -> si; 0 when rowid is already held. */
static int set_scn(struct scen_index *ix, int64_t rowid, uint32_t si)
{
	if (scn_of(ix, rowid) >= 0)
		return 0;
	/* the table stays within twice the rows held (and a million) */
	size_t limit = 2 * ix->nscns + ((size_t)1 << 20);
	if (rowid >= 0 && (uint64_t)rowid >= ix->caprowid &&
	    (uint64_t)rowid < limit) {
		size_t cap = ix->caprowid ? ix->caprowid : 1024;
		while (cap <= (size_t)rowid)
			cap *= 2;
		if (cap > limit)
			cap = limit;
		ix->by_rowid = xrealloc(ix->by_rowid,
					cap * sizeof *ix->by_rowid);
		memset(ix->by_rowid + ix->caprowid, 0,
		       (cap - ix->caprowid) * sizeof *ix->by_rowid);
		ix->caprowid = cap;
	}
	if (rowid >= 0 && (uint64_t)rowid < ix->caprowid)
		ix->by_rowid[rowid] = si + 1;
	else
		*scen_map_put(&ix->far_rowid, &rowid, sizeof rowid, NULL) = si;
	return 1;
}

static void add_scn(struct scen_index *ix, uint32_t ci, int64_t rowid,
		    uint32_t serves, int pool, double created_at)
{
	if (!set_scn(ix, rowid, (uint32_t)ix->nscns))
		return;
	XGROW(ix->scns, ix->nscns + 1, ix->capscns);
	uint32_t si = (uint32_t)ix->nscns++;
	struct scn *s = &ix->scns[si];
	s->rowid = rowid;
	s->cell = ci;
	s->serves = serves;
	s->created = (uint32_t)created_at;
	s->pool = pool && serves == 0;
	list_push(ix, si, list_of(ix, s));
}

void scen_index_add(struct scen_index *ix, const struct scen_stored *st)
{
	add_scn(ix, cell_for(ix, st), st->rowid, st->serves, st->pool,
		st->created_at);
}

int scen_index_add_to_cell(struct scen_index *ix, const uint8_t *key,
			   int64_t rowid, uint32_t serves, int pool,
			   double created_at)
{
	uint64_t *c = scen_map_get(&ix->by_key, key, 16);
	if (!c)
		return 0;
	add_scn(ix, (uint32_t)*c, rowid, serves, pool, created_at);
	return 1;
}

/* One more serving of rowid's scenario, or (spend) no more at all: it
 * moves to the list of its new count. */
static void relist(struct scen_index *ix, int64_t rowid, int spend)
{
	int64_t v = scn_of(ix, rowid);
	if (v < 0)
		return;
	uint32_t si = (uint32_t)v;
	struct scn *s = &ix->scns[si];
	uint32_t from = list_of(ix, s);
	s->serves = spend ? ix->max_serves : s->serves + 1;
	s->pool = 0;
	uint32_t to = list_of(ix, s);
	if (from != to) {
		list_remove(ix, si, from);
		list_push(ix, si, to);
	}
}

void scen_index_served(struct scen_index *ix, int64_t rowid)
{
	relist(ix, rowid, 0);
}

void scen_index_forget(struct scen_index *ix, int64_t rowid)
{
	relist(ix, rowid, 1);	/* spent: never picked */
}

int scen_index_servable(const struct scen_index *ix, int64_t rowid)
{
	int64_t v = scn_of(ix, rowid);
	return v >= 0 && ix->scns[v].serves < ix->max_serves;
}

size_t scen_index_count(const struct scen_index *ix)
{
	return ix->nscns;
}

/* Best candidate of one list: the least served the session has not seen
 * (lists of exact counts: the first such). */
static int from_list(const struct scen_index *ix, const struct list *l,
		     const struct scen_session *sess, double min_created,
		     int exact, uint32_t *out)
{
	uint32_t best = UINT32_MAX;
	for (uint32_t i = 0; i < l->n; i++) {
		const struct scn *s = &ix->scns[l->v[i]];
		if (s->pool && s->created < min_created)
			continue;	/* retired: too old to serve unserved */
		if (sess && scen_session_has(sess, s->rowid))
			continue;
		if (best == UINT32_MAX || s->serves < ix->scns[best].serves)
			best = l->v[i];
		if (exact)
			break;
	}
	if (best == UINT32_MAX)
		return 0;
	*out = best;
	return 1;
}

/* Least-served eligible scenario of cell c for tier; serves in *served. */
static int from_cell(const struct scen_index *ix, const struct cell *c,
		     enum scen_tier tier, const struct scen_session *sess,
		     double min_created, uint32_t *out, uint32_t *served)
{
	if (tier != SCEN_TIER_CACHE &&
	    from_list(ix, &c->lists[L_POOL(ix)], sess, min_created, 1, out)) {
		*served = 0;
		return 1;
	}
	if (tier == SCEN_TIER_POOL)
		return 0;
	for (uint32_t k = 0; k <= L_OVERFLOW(ix); k++) {
		if (from_list(ix, &c->lists[k], sess, min_created,
			      k < L_OVERFLOW(ix), out)) {
			*served = ix->scns[*out].serves;
			return 1;
		}
	}
	return 0;
}

struct cand {
	uint32_t cell;
	double sim;
};

static int by_sim_desc(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	return (x->sim < y->sim) - (x->sim > y->sim);
}

/* Whether some soft dimension of t has weight 0. */
static int zero_weight(const struct scen_template *t)
{
	for (size_t i = 0; i < t->nfactors; i++)
		if (t->factors[i].soft && t->factors[i].weight <= 0)
			return 1;
	return t->position.declared && t->position.soft &&
	       t->position.weight <= 0;
}

int scen_index_pick(struct scen_index *ix, const struct scen_request *rq,
		    enum scen_tier tier, const struct scen_session *sess,
		    double now, struct scen_pick *out)
{
	const struct scen_config *cfg = ix->cfg;
	double threshold = tier == SCEN_TIER_RELAXED ? cfg->cache.relaxed
						     : cfg->cache.strict;
	double min_created = now - cfg->pool.max_age_days * 86400.0;
	if (!cfg->cache.no_repeat_per_session)
		sess = NULL;
	uint64_t *b = scen_map_get(&ix->by_bucket, &rq->bucket,
				   sizeof rq->bucket);
	if (!b)
		return 0;
	uint32_t si, served;
	/* The exact cell first: similarity 1 is the best there is (unless a
	 * weight-0 dimension lets other cells tie with it). */
	uint64_t *exact = zero_weight(rq->tpl) ? NULL
			: scen_map_get(&ix->by_key, rq->key, 16);
	if (exact && from_cell(ix, &ix->cells[*exact], tier, sess,
			       min_created, &si, &served))
		goto found_exact;
	const struct bucket *bk = &ix->buckets[*b];
	struct cand stackc[64], *c = stackc;
	if (bk->n > 64)
		c = xmalloc(bk->n * sizeof *c);
	size_t n = 0;
	for (uint32_t i = 0; i < bk->n; i++) {
		const struct cell *cl = &ix->cells[bk->cells[i]];
		if (cl->tpl != rq->tpl)
			continue;	/* a bucket-hash collision */
		double sim = scen_similarity(rq->tpl, rq->levels, rq->position,
					     cl->levels, cl->position);
		if (sim + 1e-12 >= threshold) {
			c[n].cell = bk->cells[i];
			c[n].sim = sim;
			n++;
		}
	}
	qsort(c, n, sizeof *c, by_sim_desc);
	int found = 0;
	for (size_t i = 0; i < n && !found;) {
		/* among equally similar cells, the least served wins */
		size_t j = i;
		uint32_t best_served = UINT32_MAX;
		for (; j < n && c[i].sim - c[j].sim < 1e-9; j++) {
			uint32_t s1, sv;
			if (from_cell(ix, &ix->cells[c[j].cell], tier, sess,
				      min_created, &s1, &sv) &&
			    sv < best_served) {
				best_served = sv;
				si = s1;
				served = sv;
				out->similarity = c[j].sim;
				found = 1;
			}
		}
		i = j;
	}
	if (c != stackc)
		free(c);
	if (!found)
		return 0;
	goto fill;
found_exact:
	out->similarity = 1.0;
fill:
	out->rowid = ix->scns[si].rowid;
	out->serves = served;
	out->pool = ix->scns[si].pool;
	return 1;
}

double scen_index_best_brute(const struct scen_index *ix,
			     const struct scen_request *rq)
{
	double best = -1;
	for (size_t i = 0; i < ix->ncells; i++) {
		const struct cell *c = &ix->cells[i];
		if (c->tpl != rq->tpl)
			continue;
		double s = scen_similarity(rq->tpl, rq->levels, rq->position,
					   c->levels, c->position);
		if (s > 0 && s > best)
			best = s;
	}
	return best;
}
