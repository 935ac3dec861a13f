/* template.c — a template of scen.yaml(5): its factors, position and
 * validation rules as read from the config, its {placeholders} (checked at
 * load, rendered per request) and its version hash. */
#include "scen/config_int.h"
#include "scen/request.h"
#include "scen/util.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <yaml.h>

static const struct cfg_field template_fields[] = {
	{.key = "prompt"}, {.key = "factors"}, {.key = "position"},
	{.key = "validate"}, {0}
};

static const struct cfg_field factor_fields[] = {
	{.key = "levels"},
	{"weight", F_NUM, 0, 0, INF, 0, offsetof(struct scen_factor, weight)},
	{0}
};

static const struct cfg_field position_fields[] = {
	{"min", F_LONG, 0, -INF, INF, 0, offsetof(struct scen_position, min)},
	{"max", F_LONG, 0, -INF, INF, 0, offsetof(struct scen_position, max)},
	{"weight", F_NUM, 0, 0, INF, 0,
	 offsetof(struct scen_position, weight)},
	{0}
};

static const struct cfg_field validate_fields[] = {
	{"min_chars", F_LONG, 1, 0, INF, 0,
	 offsetof(struct scen_validate, min_chars)},
	{"max_chars", F_LONG, 100000, 1, INF, 0,
	 offsetof(struct scen_validate, max_chars)},
	{.key = "reject"}, {0}
};

/* ---- Placeholders ---- */

enum tok { TOK_END, TOK_TEXT, TOK_LBRACE, TOK_RBRACE, TOK_NAME, TOK_LONE };

/* Splits text into runs of plain text, "{{", "}}", "{name}" and lone
 * braces; *s and *n give the token (a name without its braces). */
static enum tok next_tok(const char **pp, const char **s, size_t *n)
{
	const char *p = *pp, *q;

	*s = p;
	*n = 1;
	if (*p == 0)
		return TOK_END;
	if ((*p == '{' || *p == '}') && p[1] == *p) {
		*pp = p + 2;
		return *p == '{' ? TOK_LBRACE : TOK_RBRACE;
	}
	if (*p == '{') {
		for (q = p + 1; cfg_is_word((unsigned char)*q); q++)
			;
		if (q > p + 1 && *q == '}') {
			*s = p + 1;
			*n = (size_t)(q - p - 1);
			*pp = q + 1;
			return TOK_NAME;
		}
	}
	if (*p == '{' || *p == '}') {
		*pp = p + 1;
		return TOK_LONE;
	}
	q = p + strcspn(p, "{}");
	*n = (size_t)(q - p);
	*pp = q;
	return TOK_TEXT;
}

static int is_position(const char *s, size_t n)
{
	return n == 8 && memcmp(s, "position", 8) == 0;
}

static int factor_index(const struct scen_template *t, const char *s,
			size_t n)
{
	for (size_t i = 0; i < t->nfactors; i++)
		if (strlen(t->factors[i].name) == n &&
		    memcmp(t->factors[i].name, s, n) == 0)
			return (int)i;
	return -1;
}

/* Reports placeholder {s} of text what (node n), which t does not declare. */
static int undeclared(struct cfg_ctx *c, const yaml_node_t *n,
		      const struct scen_template *t, const char *s, size_t len,
		      const char *what)
{
	const char *name = cfg_str(c, "%.*s", (int)len, s), *h, **names;

	if (is_position(s, len))
		return cfg_fail(c, n, "placeholder '{position}' in %s, but "
				"template '%s' declares no position", what,
				t->name);
	names = xcalloc(t->nfactors, sizeof *names);
	for (size_t j = 0; j < t->nfactors; j++)
		names[j] = t->factors[j].name;
	h = cfg_hint(c, name, names, t->nfactors);
	free(names);
	return cfg_fail(c, n, "placeholder '{%s}' in %s names no factor of "
			"template '%s'%s", name, what, t->name, h);
}

int cfg_check_text(struct cfg_ctx *c, const yaml_node_t *n,
		   const char *text, const struct scen_template *ts,
		   size_t nts, const char *what)
{
	const char *p = text, *s;
	size_t len;

	for (;;) {
		enum tok k = next_tok(&p, &s, &len);

		if (k == TOK_END)
			return 0;
		if (k == TOK_LONE)
			return cfg_fail(c, n, "lone '%c' in %s (write '%c%c' "
					"for a literal brace)", *s, what, *s,
					*s);
		for (size_t i = 0; k == TOK_NAME && i < nts; i++)
			if (!(is_position(s, len) ? ts[i].position.declared :
			      factor_index(&ts[i], s, len) >= 0))
				return undeclared(c, n, &ts[i], s, len, what);
	}
}

/* Whether text holds the placeholder {name} ("{{name}}" is a literal). */
static int uses(const char *text, const char *name)
{
	const char *p = text, *s;
	size_t len, n = strlen(name);
	enum tok k;

	while ((k = next_tok(&p, &s, &len)) != TOK_END)
		if (k == TOK_NAME && len == n && memcmp(s, name, n) == 0)
			return 1;
	return 0;
}

/*
 * What is declared must reach the model: else scenarios would differ in
 * something the model never saw (scen.yaml(5)). The error points at the
 * declaration; a command that only reads warns instead.
 */
int cfg_check_used(struct cfg_ctx *c, yaml_node_t *v,
		   const struct scen_template *t,
		   const struct scen_experiment *e)
{
	for (size_t i = 0; i <= t->nfactors; i++) {
		const char *name = i < t->nfactors ? t->factors[i].name :
				   "position";
		yaml_node_t *at = i < t->nfactors ?
			cfg_key_named(c, cfg_get(c, v, "factors"), name) :
			cfg_key_named(c, v, name);

		if ((i == t->nfactors && !t->position.declared) ||
		    uses(t->prompt, name) || uses(e->system, name))
			continue;
		const char *what = i < t->nfactors ?
			cfg_str(c, "factor '%s'", name) : "the position";
		if (c->reading) {
			cfg_warn(c, at, "%s of template '%s' is not used "
				 "(generating would refuse this config)",
				 what, t->name);
			continue;
		}
		return cfg_fail(c, at, "%s of template '%s' is not used: "
				"neither its prompt nor the system text of "
				"experiment '%s' holds '{%s}', so the model "
				"would never see it", what, t->name, e->name,
				name);
	}
	return 0;
}

char *scen_render(const char *text, const struct scen_template *t,
		  const int *level_idx, long position)
{
	struct strbuf sb;
	const char *p = text, *s;
	size_t n;

	sb_init(&sb);
	for (;;) {
		enum tok k = next_tok(&p, &s, &n);
		int i;

		if (k == TOK_END)
			break;
		if (k == TOK_LBRACE || k == TOK_RBRACE) {
			sb_addc(&sb, k == TOK_LBRACE ? '{' : '}');
			continue;
		}
		if (k != TOK_NAME) {
			sb_add(&sb, s, n);
			continue;
		}
		if (is_position(s, n)) {
			sb_addf(&sb, "%ld", position);
			continue;
		}
		i = factor_index(t, s, n);
		if (i >= 0 && level_idx && level_idx[i] >= 0 &&
		    (size_t)level_idx[i] < t->factors[i].nlevels)
			sb_adds(&sb, t->factors[i].levels[level_idx[i]]);
		else	/* undeclared (never after validation): kept as is */
			sb_add(&sb, s - 1, n + 2);
	}
	return sb.buf;
}

/* ---- Factors, position, validation ---- */

/* A level in canonical form: plain numbers as "%ld" or "%.15g", so that
 * 25, 25.0 and "25" are one level; anything else as written. */
static char *canon_level(const yaml_node_t *n)
{
	double d;

	if (cfg_parse_num(n, &d) < 0)
		return xstrdup(cfg_sval(n));
	if (d == floor(d) && fabs(d) < 1e15)
		return xasprintf("%ld", (long)d);
	return xasprintf("%.15g", d);
}

/* The levels of factor f (list seq, named what; f in where): non-empty,
 * distinct once canonical. */
static int parse_levels(struct cfg_ctx *c, yaml_node_t *seq,
			struct scen_factor *f, const char *what,
			const char *where)
{
	if (cfg_need(c, seq, YAML_SEQUENCE_NODE, what) < 0)
		return -1;
	if (!cfg_seq_len(seq))
		return cfg_fail(c, seq, "%s must list at least one level",
				what);
	/* a request holds a level as a 16-bit index */
	if (cfg_seq_len(seq) > 65535)
		return cfg_fail(c, seq, "%s lists %zu levels, more than 65535",
				what, cfg_seq_len(seq));
	f->nlevels = cfg_seq_len(seq);
	f->levels = xcalloc(f->nlevels, sizeof *f->levels);
	for (size_t i = 0; i < f->nlevels; i++) {
		yaml_node_t *l = cfg_seq_at(c, seq, i);

		if (l->type != YAML_SCALAR_NODE || cfg_is_null(l) ||
		    !*cfg_sval(l))
			return cfg_fail(c, l, "a level of %s must be a "
					"non-empty string or a number, not %s",
					where, l->type == YAML_SCALAR_NODE &&
					!cfg_is_null(l) ? "an empty string" :
					cfg_kind(l));
		f->levels[i] = canon_level(l);
		for (size_t j = 0; j < i; j++)
			if (strcmp(f->levels[j], f->levels[i]) == 0)
				return cfg_fail(c, l, "duplicate level '%s' "
						"in %s", f->levels[i], where);
	}
	return 0;
}

static int parse_factor(struct cfg_ctx *c, yaml_node_t *v,
			struct scen_factor *f, const char *tname)
{
	const char *where = cfg_str(c, "factor '%s' of template '%s'",
				    f->name, tname);
	yaml_node_t *seq;

	if (cfg_read_map(c, v, where, factor_fields, f) < 0)
		return -1;
	f->soft = cfg_get(c, v, "weight") != NULL;
	seq = cfg_get(c, v, "levels");
	if (!seq)
		return cfg_fail(c, v, "missing 'levels' in %s", where);
	return parse_levels(c, seq, f, cfg_str(c, "'levels' in %s", where),
			    where);
}

static int parse_factors(struct cfg_ctx *c, yaml_node_t *v,
			 const char *where, struct scen_template *t)
{
	yaml_node_t *m = cfg_get(c, v, "factors");
	const char *what = cfg_str(c, "'factors' in %s", where);

	if (!m)
		return cfg_fail(c, v, "missing 'factors' in %s (write "
				"'factors: {}' for none)", where);
	if (cfg_need(c, m, YAML_MAPPING_NODE, what) < 0)
		return -1;
	/* A request holds one level index per factor, SCEN_MAX_FACTORS. */
	if (cfg_map_len(m) > SCEN_MAX_FACTORS)
		return cfg_fail(c, m, "%s declares %zu factors, more than %d",
				what, cfg_map_len(m), SCEN_MAX_FACTORS);
	t->nfactors = cfg_map_len(m);
	t->factors = xcalloc(t->nfactors, sizeof *t->factors);
	for (size_t i = 0; i < t->nfactors; i++) {
		yaml_node_t *k = cfg_key_at(c, m, i, what);

		if (!k)
			return -1;
		if (strcmp(cfg_sval(k), "position") == 0)
			return cfg_fail(c, k, "'position' is not a factor name "
					"in %s: declare 'position: {min, max}' "
					"beside 'factors'", where);
		if (!cfg_valid_name(cfg_sval(k), 1))
			return cfg_fail(c, k, "bad factor name '%s' in %s: a "
					"letter or '_', then letters, digits, "
					"'_' or '-'", cfg_sval(k), where);
		t->factors[i].name = xstrdup(cfg_sval(k));
		if (parse_factor(c, cfg_val_of(c, m, i), &t->factors[i],
				 t->name) < 0)
			return -1;
	}
	qsort(t->factors, t->nfactors, sizeof *t->factors, cfg_cmp_named);
	return 0;
}

static int parse_position(struct cfg_ctx *c, yaml_node_t *v,
			  struct scen_template *t)
{
	struct scen_position *p = &t->position;
	const char *where = cfg_str(c, "position of template '%s'", t->name);
	yaml_node_t *m;

	if (cfg_section(c, v, "position", where, position_fields, p, &m) < 0)
		return -1;
	if (!m)
		return 0;
	if (!cfg_get(c, m, "min") || !cfg_get(c, m, "max"))
		return cfg_fail(c, m, "%s needs 'min' and 'max'", where);
	if (p->min > p->max)
		return cfg_fail(c, cfg_get(c, m, "max"), "'max' (%ld) in %s is "
				"less than 'min' (%ld)", p->max, where, p->min);
	/* Closeness and pool designs compute max - min as a long. */
	if (p->min < 0 && p->max > LONG_MAX + p->min)
		return cfg_fail(c, cfg_get(c, m, "max"), "%s is too wide: "
				"'max' - 'min' must be at most %ld", where,
				LONG_MAX);
	p->declared = 1;
	p->soft = cfg_get(c, m, "weight") != NULL;
	return 0;
}

static int parse_validate(struct cfg_ctx *c, yaml_node_t *v,
			  struct scen_template *t)
{
	struct scen_validate *val = &t->validate;
	const char *where = cfg_str(c, "validate of template '%s'", t->name);
	yaml_node_t *m, *seq, *bad;

	if (cfg_section(c, v, "validate", where, validate_fields, val, &m) < 0)
		return -1;
	if (!m)
		return 0;
	if (val->max_chars < val->min_chars) {
		bad = cfg_get(c, m, "max_chars");
		return cfg_fail(c, bad ? bad : cfg_get(c, m, "min_chars"),
				"'max_chars' (%ld) in %s is less than "
				"'min_chars' (%ld)", val->max_chars, where,
				val->min_chars);
	}
	seq = cfg_get(c, m, "reject");
	if (!seq)
		return 0;
	if (cfg_need(c, seq, YAML_SEQUENCE_NODE,
		     cfg_str(c, "'reject' in %s", where)) < 0)
		return -1;
	val->nreject = cfg_seq_len(seq);
	val->reject = xcalloc(val->nreject, sizeof *val->reject);
	for (size_t i = 0; i < val->nreject; i++) {
		yaml_node_t *r = cfg_seq_at(c, seq, i);

		if (r->type != YAML_SCALAR_NODE || !*cfg_sval(r))
			return cfg_fail(c, r, "a 'reject' phrase in %s must be "
					"a non-empty string", where);
		val->reject[i] = xstrdup(cfg_sval(r));
		for (char *s = val->reject[i]; *s; s++)
			if (*s >= 'A' && *s <= 'Z')
				*s = (char)(*s - 'A' + 'a');
	}
	/* Order does not matter to validation, so not to the version. */
	qsort(val->reject, val->nreject, sizeof *val->reject, cfg_cmp_named);
	return 0;
}

/* Similarity divides by the sum of the soft weights: it must be finite. */
static int check_weights(struct cfg_ctx *c, yaml_node_t *v,
			 const struct scen_template *t)
{
	double sum = t->position.soft ? t->position.weight : 0;

	for (size_t i = 0; i < t->nfactors; i++)
		if (t->factors[i].soft)
			sum += t->factors[i].weight;
	if (isfinite(sum))
		return 0;
	return cfg_fail(c, v, "the weights of template '%s' add up to more "
			"than a number can hold", t->name);
}

int cfg_template_parse(struct cfg_ctx *c, yaml_node_t *v,
		       struct scen_template *t)
{
	const char *where = cfg_str(c, "template '%s'", t->name);

	if (cfg_read_map(c, v, where, template_fields, t) < 0 ||
	    cfg_get_str(c, v, where, "prompt", &t->prompt, NULL) < 0 ||
	    parse_factors(c, v, where, t) < 0 ||
	    parse_position(c, v, t) < 0 || parse_validate(c, v, t) < 0 ||
	    check_weights(c, v, t) < 0)
		return -1;
	return cfg_check_text(c, cfg_get(c, v, "prompt"), t->prompt, t, 1,
			      cfg_str(c, "the prompt of template '%s'",
				      t->name));
}

/* ---- Version ---- */

static void put_field(struct strbuf *sb, const char *s)
{
	size_t n = strlen(s);

	sb_addf(sb, "%zu:", n);
	sb_add(sb, s, n);
}

/* XXH3-128 over a length-prefixed serialization of what shapes output.
 * Any change here changes every version, and a stored scenario is only
 * served to its own version: keep the bytes as they are. */
void cfg_template_version(const struct scen_config *cfg,
			  const struct scen_experiment *e,
			  struct scen_template *t)
{
	static const char hex[] = "0123456789abcdef";
	struct strbuf sb;
	char num[64];
	XXH128_canonical_t canon;

	sb_init(&sb);
	put_field(&sb, "scen-template-v1");
	put_field(&sb, e->system);
	put_field(&sb, t->prompt);
	put_field(&sb, cfg->provider.model);
	snprintf(num, sizeof num, "%.17g", cfg->provider.temperature);
	put_field(&sb, num);
	snprintf(num, sizeof num, "%ld %ld %ld %zu", cfg->provider.max_tokens,
		 t->validate.min_chars, t->validate.max_chars,
		 t->validate.nreject);
	put_field(&sb, num);
	for (size_t i = 0; i < t->validate.nreject; i++)
		put_field(&sb, t->validate.reject[i]);
	XXH128_canonicalFromHash(&canon, XXH3_128bits(sb.buf, sb.len));
	memcpy(t->version, canon.digest, sizeof t->version);
	for (size_t i = 0; i < sizeof t->version; i++) {
		t->version_hex[2 * i] = hex[t->version[i] >> 4];
		t->version_hex[2 * i + 1] = hex[t->version[i] & 15];
	}
	t->version_hex[32] = 0;
	sb_release(&sb);
}

/* ---- Lifetime and lookups ---- */

void cfg_template_release(struct scen_template *t)
{
	for (size_t i = 0; i < t->nfactors; i++) {
		for (size_t j = 0; j < t->factors[i].nlevels; j++)
			free(t->factors[i].levels[j]);
		free(t->factors[i].levels);
		free(t->factors[i].name);
	}
	for (size_t i = 0; i < t->validate.nreject; i++)
		free(t->validate.reject[i]);
	free(t->validate.reject);
	free(t->factors);
	free(t->name);
	free(t->prompt);
}

int scen_template_factor(const struct scen_template *t, const char *name)
{
	return name ? factor_index(t, name, strlen(name)) : -1;
}

int scen_factor_level(const struct scen_factor *f, const char *level)
{
	for (size_t i = 0; level && i < f->nlevels; i++)
		if (strcmp(f->levels[i], level) == 0)
			return (int)i;
	return -1;
}
