/* rowcache.c — a byte-bounded map from scenario row ids to rows read back
 * sound, with CLOCK eviction (one reference bit per row). */
#include "scen/rowcache.h"

#include <stdlib.h>
#include <string.h>

#include "scen/util.h"

void scen_rowcache_init(struct scen_rowcache *c, size_t budget)
{
	memset(c, 0, sizeof *c);
	scen_map_init(&c->map);
	c->budget = budget;
}

static void free_entry(struct scen_cached *e)
{
	free(e->row.text);
	free(e->text_json);
	free(e->model_json);
}

void scen_rowcache_release(struct scen_rowcache *c)
{
	for (size_t i = 0; i < c->n; i++)
		free_entry(&c->e[i]);
	free(c->e);
	free(c->holes);
	scen_map_release(&c->map);
	memset(c, 0, sizeof *c);
}

const struct scen_cached *scen_rowcache_get(struct scen_rowcache *c,
					    int64_t rowid)
{
	uint64_t *v = scen_map_get(&c->map, &rowid, sizeof rowid);
	if (!v)
		return NULL;
	struct scen_cached *e = &c->e[*v];
	e->ref = 1;
	return e;
}

/* Frees entry i, leaving a hole (text NULL) for the next put. */
static void remove_at(struct scen_rowcache *c, size_t i)
{
	struct scen_cached *e = &c->e[i];
	scen_map_del(&c->map, &e->rowid, sizeof e->rowid);
	c->bytes -= e->bytes;
	free_entry(e);
	memset(e, 0, sizeof *e);
	XGROW(c->holes, c->nholes + 1, c->capholes);
	c->holes[c->nholes++] = i;
}

/* CLOCK: the first row the hand finds not served since it last passed
 * goes (the rows it passes lose their mark). A new row takes the hole,
 * just behind the hand: it has a full turn before it can go. */
static void evict_one(struct scen_rowcache *c)
{
	for (;;) {
		size_t i = c->hand;
		struct scen_cached *e = &c->e[i];
		c->hand = (c->hand + 1) % c->n;
		if (!e->row.text)
			continue;
		if (e->ref) {
			e->ref = 0;
			continue;
		}
		remove_at(c, i);
		c->evicted++;
		return;
	}
}

const struct scen_cached *scen_rowcache_put(struct scen_rowcache *c,
					    int64_t rowid,
					    struct scen_scenario_row *r)
{
	scen_rowcache_drop(c, rowid);
	struct strbuf js, mj;
	sb_init(&js);
	sb_init(&mj);
	size_t tlen = strlen(r->text);
	sb_add_json_str(&js, r->text, tlen);
	sb_add_json_str(&mj, r->model, strlen(r->model));
	size_t bytes = sizeof(struct scen_cached) + tlen + 1 + js.len + 1 +
		       mj.len + 1 + 2 * sizeof(struct scen_map_slot);
	while (c->bytes && c->bytes + bytes > c->budget)
		evict_one(c);
	size_t i;
	if (c->nholes) {
		i = c->holes[--c->nholes];
	} else {
		XGROW(c->e, c->n + 1, c->cap);
		i = c->n++;
	}
	struct scen_cached *e = &c->e[i];
	e->row = *r;
	r->text = NULL;
	e->text_json_len = js.len;
	e->text_json = js.buf;	/* the buffers are the entry's now */
	e->model_json_len = mj.len;
	e->model_json = mj.buf;
	scen_iso8601(r->created_at, e->created_iso);
	e->rowid = rowid;
	e->bytes = bytes;
	e->ref = 0;
	*scen_map_put(&c->map, &rowid, sizeof rowid, NULL) = i;
	c->bytes += bytes;
	return e;
}

void scen_rowcache_drop(struct scen_rowcache *c, int64_t rowid)
{
	uint64_t *v = scen_map_get(&c->map, &rowid, sizeof rowid);
	if (v)
		remove_at(c, *v);
}

size_t scen_rowcache_count(const struct scen_rowcache *c)
{
	return c->n - c->nholes;
}
