/* poolfill_plan.c — what scen-pool-fill sets out to make: the declared
 * design, what the pool holds of it, the demand over --days and the fill
 * order (scen-pool-fill(1), What is filled, Order). */
#include <stdlib.h>
#include <string.h>

#include "scen/poolfill_int.h"

#define MAX_COMBOS 1000000	/* combinations in one run */

/* ---- the design ------------------------------------------------------ */

void scen_pool_combo_request(const struct combo *c, struct scen_request *rq)
{
	memset(rq, 0, sizeof *rq);
	rq->exp = c->tpl->experiment;
	rq->tpl = c->tpl;
	memcpy(rq->levels, c->levels, c->tpl->nfactors * sizeof(uint16_t));
	rq->position = c->position;
	scen_request_keys(rq);
}

void scen_pool_combo_words(const struct combo *c, struct strbuf *sb)
{
	struct scen_request rq;
	scen_pool_combo_request(c, &rq);
	scen_request_factors_json(&rq, sb);
	if (c->tpl->position.declared)
		sb_addf(sb, " position %ld", c->position);
}

/* Combinations of t, or 0 when more than limit. */
static size_t design_size(const struct scen_template *t, size_t limit)
{
	size_t n = 1;
	for (size_t i = 0; i < t->nfactors; i++) {
		n *= t->factors[i].nlevels;
		if (n > limit)
			return 0;
	}
	if (t->position.declared) {
		size_t np = (size_t)(t->position.max - t->position.min) + 1;
		if (np > limit || n > limit / np)
			return 0;
		n *= np;
	}
	return n;
}

/* The combination after idx and *pos in declared order: positions
 * ascending fastest, then the last factor's levels. */
static void next_combo(const struct scen_template *t, uint16_t *idx,
		       long *pos)
{
	if (t->position.declared && *pos < t->position.max) {
		++*pos;
		return;
	}
	*pos = t->position.declared ? t->position.min : 0;
	for (size_t i = t->nfactors; i-- > 0;) {
		if (++idx[i] < t->factors[i].nlevels)
			break;
		idx[i] = 0;
	}
}

/* Adds every combination of t, in declared order: levels as declared,
 * the last factor fastest, then positions ascending fastest of all;
 * SCEN_OK, or SCEN_ERR_DATA when the design is too large. */
static enum scen_err add_template(struct fill *f, const struct scen_template *t,
				  struct scen_error *e)
{
	size_t n = design_size(t, MAX_COMBOS - f->ncombos);
	if (!n)
		return scen_fail(e, SCEN_ERR_DATA, "template %s/%s: the design "
				 "has more than %d combinations; narrow it "
				 "with --template", t->experiment->name,
				 t->name, MAX_COMBOS);
	XGROW(f->tpls, f->ntpls + 1, f->captpls);
	struct tstat *ts = &f->tpls[f->ntpls];
	memset(ts, 0, sizeof *ts);
	ts->tpl = t;
	ts->first = f->ncombos;
	ts->n = n;
	XGROW(f->combos, f->ncombos + n, f->capcombos);
	uint16_t idx[SCEN_MAX_FACTORS] = {0};
	long pos = t->position.declared ? t->position.min : 0;
	for (size_t k = 0; k < n; k++) {
		struct combo *c = &f->combos[f->ncombos];
		struct scen_request rq;
		memset(c, 0, sizeof *c);
		c->tpl = t;
		c->ts = (uint32_t)f->ntpls;
		c->levels = xmalloc((t->nfactors ? t->nfactors : 1) *
				    sizeof(uint16_t));
		memcpy(c->levels, idx, t->nfactors * sizeof(uint16_t));
		c->position = pos;
		scen_pool_combo_request(c, &rq);
		memcpy(c->key, rq.key, 16);
		*scen_map_put(&f->by_key, c->key, 16, NULL) = f->ncombos;
		f->ncombos++;
		next_combo(t, idx, &pos);
	}
	f->ntpls++;
	return SCEN_OK;
}

enum scen_err scen_pool_plan_design(struct fill *f, struct scen_error *err)
{
	const struct scen_config *cfg = f->cfg;
	const struct scen_pool_opts *o = f->o;
	if (o->experiment && !scen_config_experiment(cfg, o->experiment))
		return scen_fail(err, SCEN_ERR_USAGE, "--experiment '%s': no "
				 "such experiment in %s", o->experiment,
				 cfg->path);
	for (size_t i = 0; i < cfg->nexperiments; i++) {
		const struct scen_experiment *e = &cfg->experiments[i];
		if (o->experiment && strcmp(e->name, o->experiment))
			continue;
		for (size_t j = 0; j < e->ntemplates; j++) {
			const struct scen_template *t = &e->templates[j];
			if (o->tpl && strcmp(t->name, o->tpl))
				continue;
			enum scen_err k = add_template(f, t, err);
			if (k)
				return k;
		}
	}
	if (!f->ntpls)
		return scen_fail(err, SCEN_ERR_USAGE, "--template '%s': no "
				 "such template%s%s in %s", o->tpl ? o->tpl
				 : "", o->experiment ? " in experiment " : "",
				 o->experiment ? o->experiment : "",
				 cfg->path);
	return SCEN_OK;
}

struct combo *scen_pool_combo(struct fill *f, const uint8_t *key)
{
	uint64_t *v = scen_map_get(&f->by_key, key, 16);
	return v ? &f->combos[*v] : NULL;
}

long scen_pool_short(const struct fill *f, const struct combo *c)
{
	long n = f->target - c->live - c->made - c->pending;
	return n > 0 ? n : 0;
}

/* Entries c still needs from this run: none once given up. */
static long need(const struct fill *f, const struct combo *c)
{
	return c->given_up ? 0 : scen_pool_short(f, c);
}

/* ---- what the database says ------------------------------------------ */

struct demand_ctx {
	struct fill *f;
	struct scen_map cells;	/* "factors\037position" -> combo index */
	struct strbuf sb;
};

static void demand_key(struct strbuf *sb, const char *factors,
		       int has_position, long position)
{
	sb_reset(sb);
	sb_adds(sb, factors);
	if (has_position)
		sb_addf(sb, "\037%ld", position);
	else
		sb_adds(sb, "\037-");
}

static void on_demand(void *vctx, const char *factors, int has_position,
		      long position, long n)
{
	struct demand_ctx *d = vctx;
	demand_key(&d->sb, factors, has_position, position);
	uint64_t *v = scen_map_get(&d->cells, d->sb.buf, d->sb.len);
	if (v)
		d->f->combos[*v].demand += n;
}

/* Maps the demand key of each combination of ts to its index. */
static void demand_cells(struct demand_ctx *d, const struct tstat *ts,
			 struct strbuf *fj)
{
	struct fill *f = d->f;
	for (size_t k = ts->first; k < ts->first + ts->n; k++) {
		struct scen_request rq;
		scen_pool_combo_request(&f->combos[k], &rq);
		sb_reset(fj);
		scen_request_factors_json(&rq, fj);
		demand_key(&d->sb, fj->buf, ts->tpl->position.declared,
			   rq.position);
		*scen_map_put(&d->cells, d->sb.buf, d->sb.len, NULL) = k;
	}
}

int scen_pool_plan_demand(struct fill *f, double now)
{
	double since = now - (double)f->o->days * 86400.0;
	struct demand_ctx d = {.f = f};
	struct strbuf fj;
	int rc = 0;
	sb_init(&d.sb);
	sb_init(&fj);
	for (size_t i = 0; i < f->ntpls && !rc; i++) {
		const struct scen_template *t = f->tpls[i].tpl;
		scen_map_init(&d.cells);
		demand_cells(&d, &f->tpls[i], &fj);
		rc = scen_db_pool_demand(f->dp, t->experiment->name, t->name,
					 since, on_demand, &d);
		scen_map_release(&d.cells);
	}
	sb_release(&d.sb);
	sb_release(&fj);
	return rc;
}

static void on_entries(void *vctx, const uint8_t *key, long live,
		       long retired)
{
	struct fill *f = vctx;
	struct combo *c = scen_pool_combo(f, key);
	if (c) {
		c->live += live;
		c->retired += retired;
	}
}

static void on_open_job(void *vctx, const uint8_t *key, long n)
{
	struct fill *f = vctx;
	struct combo *c = scen_pool_combo(f, key);
	if (c)
		c->pending += n;
}

int scen_pool_plan_pool(struct fill *f, double now)
{
	double min_created = now - f->cfg->pool.max_age_days * 86400.0;
	for (size_t i = 0; i < f->ncombos; i++)
		f->combos[i].live = f->combos[i].retired =
			f->combos[i].pending = 0;
	for (size_t i = 0; i < f->ntpls; i++) {
		const char *v = f->tpls[i].tpl->version_hex;
		/* lines of open batches are pending as open jobs are */
		if (scen_db_pool_entries(f->dp, v, min_created, on_entries,
					 f) < 0 ||
		    scen_db_pool_open_jobs(f->dp, v, on_open_job, f) < 0 ||
		    scen_db_pool_batch_pending(f->dp, v, on_open_job, f) < 0)
			return -1;
	}
	f->needed = 0;
	for (size_t i = 0; i < f->ntpls; i++) {
		struct tstat *ts = &f->tpls[i];
		ts->live = ts->retired = ts->pending = ts->needed = 0;
		for (size_t k = ts->first; k < ts->first + ts->n; k++) {
			const struct combo *c = &f->combos[k];
			ts->live += c->live;
			ts->retired += c->retired;
			ts->pending += c->pending;
			ts->needed += need(f, c);
		}
		f->needed += ts->needed;
	}
	return 0;
}

/* ---- the order ------------------------------------------------------- */

/* Most requested first; ties (and the never requested) in declared
 * order. */
static struct fill *sort_fill;

static int by_demand(const void *a, const void *b)
{
	const struct combo *x = &sort_fill->combos[*(const uint32_t *)a];
	const struct combo *y = &sort_fill->combos[*(const uint32_t *)b];
	if (x->demand != y->demand)
		return x->demand > y->demand ? -1 : 1;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	return (i > j) - (i < j);
}

void scen_pool_plan_order(struct fill *f)
{
	f->order = xmalloc((f->ncombos ? f->ncombos : 1) * sizeof(uint32_t));
	for (size_t i = 0; i < f->ncombos; i++)
		f->order[i] = (uint32_t)i;
	sort_fill = f;
	qsort(f->order, f->ncombos, sizeof(uint32_t), by_demand);
	sort_fill = NULL;
	for (size_t r = 0; r < f->ncombos; r++)
		f->combos[f->order[r]].rank = (uint32_t)r;
	f->hint = 0;
}

size_t scen_pool_next(struct fill *f)
{
	while (f->hint < f->ncombos &&
	       !need(f, &f->combos[f->order[f->hint]]))
		f->hint++;
	return f->hint;
}

void scen_pool_reopen(struct fill *f, const struct combo *c)
{
	if (c && c->rank < f->hint)
		f->hint = c->rank;
}

/* ---- the tallies ----------------------------------------------------- */

void scen_pool_count(struct fill *f, const struct combo *c, struct acct *a,
		     enum tally k)
{
	f->tally[k]++;
	if (c)
		f->tpls[c->ts].tally[k]++;
	if (a)
		a->tally[k]++;
}

void scen_pool_tally(struct fill *f, const uint8_t *key, const char *account,
		     enum tally k)
{
	struct acct *a = NULL;
	for (size_t i = 0; account && i < f->nacct; i++)
		if (!strcmp(f->cfg->provider.accounts[i].name, account))
			a = &f->acct[i];
	scen_pool_count(f, key ? scen_pool_combo(f, key) : NULL, a, k);
}

/* ---- the plan, printed ----------------------------------------------- */

void scen_pool_plan_print(struct fill *f)
{
	FILE *out = f->o->out;
	long short_combos = 0;
	for (size_t i = 0; i < f->ncombos; i++)
		short_combos += need(f, &f->combos[i]) > 0;
	fprintf(out, "plan: %ld variant%s per combination, entries older "
		"than %g days retired\n", f->target,
		f->target == 1 ? "" : "s", f->cfg->pool.max_age_days);
	for (size_t i = 0; i < f->ntpls; i++) {
		const struct tstat *ts = &f->tpls[i];
		fprintf(out, "template %s/%s: %zu combinations, %ld live, "
			"%ld retired, %ld pending, %ld needed\n",
			ts->tpl->experiment->name, ts->tpl->name, ts->n,
			ts->live, ts->retired, ts->pending, ts->needed);
	}
	fprintf(out, "combinations: %zu (%ld short)\n", f->ncombos,
		short_combos);
	fprintf(out, "calls needed: %ld\n", f->needed);
}

void scen_pool_plan_print_order(struct fill *f)
{
	FILE *out = f->o->out;
	fprintf(out, "order: %s\n", f->needed > f->budget
		? "most requested first (the design does not fit the budget)"
		: "most requested first, then declared order");
	if (scen_verbosity < 1)
		return;
	struct strbuf sb;
	sb_init(&sb);
	for (size_t r = 0; r < f->ncombos; r++) {
		const struct combo *c = &f->combos[f->order[r]];
		long n = need(f, c);
		if (!n)
			continue;
		sb_reset(&sb);
		scen_pool_combo_words(c, &sb);
		fprintf(out, "  %s/%s %s: %ld requested, %ld needed\n",
			c->tpl->experiment->name, c->tpl->name, sb.buf,
			c->demand, n);
	}
	sb_release(&sb);
}
