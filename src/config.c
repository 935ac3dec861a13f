/* config.c — loads scen.yaml (scen.yaml(5)) with libyaml's document API,
 * checks every key and value with FILE:LINE:COLUMN diagnostics, computes
 * the template versions and renders prompts. */
#include "scen/config.h"
#include "scen/request.h"
#include "scen/util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <yaml.h>

static const char *const tier_names[SCEN_TIER_COUNT] = {
	"cache", "fresh", "pool", "relaxed"
};

const char *scen_tier_name(enum scen_tier t)
{
	return (unsigned)t < SCEN_TIER_COUNT ? tier_names[t] : "?";
}

int scen_tier_from_name(const char *name)
{
	for (int i = 0; name && i < SCEN_TIER_COUNT; i++)
		if (strcmp(name, tier_names[i]) == 0)
			return i;
	return -1;
}

const char *scen_config_path(const char *explicit_path)
{
	const char *env = getenv("SCEN_CONFIG");

	if (explicit_path)
		return explicit_path;
	return env && *env ? env : "scen.yaml";
}

/* What a config may grow to once YAML aliases are expanded (or 4 times
 * its size, when larger): bounds the work and memory of a load. */
#define CONFIG_MAX_EXPANDED (64 * 1024)

/* ---- Diagnostics and nodes ---- */

/* One load: the document being read and where messages point. */
struct ctx {
	const char *name;
	yaml_document_t *doc;
	struct scen_config *cfg;
	yaml_node_t **key_nodes;	/* each account's api_key_env node */
	char **scratch;		/* strings built for messages */
	size_t nscratch, capscratch;
};

/* A formatted string that lives as long as the load. */
__attribute__((format(printf, 2, 3)))
static const char *str(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = xstrdup("?");
	va_end(ap);
	XGROW(c->scratch, c->nscratch + 1, c->capscratch);
	c->scratch[c->nscratch++] = s;
	return s;
}

/* Reports "FILE:LINE:COLUMN: message" at node n; returns -1. */
__attribute__((format(printf, 3, 4)))
static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return scen_error("%s:%zu:%zu: %s", c->name, n->start_mark.line + 1,
			  n->start_mark.column + 1, msg);
}

static yaml_node_t *nd(struct ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static int is_plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	       n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static int is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

	for (size_t i = 0; is_plain(n) && i < 5; i++)
		if (strcmp(sval(n), nulls[i]) == 0)
			return 1;
	return 0;
}

static const char *kind(const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	return is_null(n) ? "nothing" : "a scalar";
}

static size_t map_len(const yaml_node_t *m)
{
	return (size_t)(m->data.mapping.pairs.top -
			m->data.mapping.pairs.start);
}

static yaml_node_t *key_of(struct ctx *c, const yaml_node_t *m, size_t i)
{
	return nd(c, m->data.mapping.pairs.start[i].key);
}

static yaml_node_t *val_of(struct ctx *c, const yaml_node_t *m, size_t i)
{
	return nd(c, m->data.mapping.pairs.start[i].value);
}

static size_t seq_len(const yaml_node_t *s)
{
	return (size_t)(s->data.sequence.items.top -
			s->data.sequence.items.start);
}

static yaml_node_t *seq_at(struct ctx *c, const yaml_node_t *s, size_t i)
{
	return nd(c, s->data.sequence.items.start[i]);
}

/* The value of key in mapping m, or NULL when absent. */
static yaml_node_t *get(struct ctx *c, const yaml_node_t *m, const char *key)
{
	for (size_t i = 0; i < map_len(m); i++) {
		yaml_node_t *k = key_of(c, m, i);

		if (k->type == YAML_SCALAR_NODE && strcmp(sval(k), key) == 0)
			return val_of(c, m, i);
	}
	return NULL;
}

static int need(struct ctx *c, const yaml_node_t *n, yaml_node_type_t t,
		const char *what)
{
	if (n->type == t)
		return 0;
	return fail(c, n, "%s must be %s, not %s", what,
		    t == YAML_MAPPING_NODE ? "a mapping" : "a list", kind(n));
}

static int is_word(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

/* Factor names are identifiers so that "{name}" is unambiguous; other
 * names (experiments, templates, accounts) may also start with a digit
 * and hold dots, but never spaces or anything a shell or CSV trips on. */
static int valid_name(const char *s, int ident)
{
	if (!*s || (ident && (*s == '-' || (*s >= '0' && *s <= '9'))))
		return 0;
	for (; *s; s++)
		if (!is_word((unsigned char)*s) && (ident || *s != '.'))
			return 0;
	return 1;
}

/* " (did you mean 'x'?)" when a candidate is close to s, else "". */
static const char *hint(struct ctx *c, const char *s,
			const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1;

	for (size_t i = 0; i < n; i++) {
		size_t d = scen_edit_distance(s, cands[i]);
		size_t len = strlen(s) > strlen(cands[i]) ? strlen(s) :
			     strlen(cands[i]);

		if (d < bestd && d * 3 <= len) {
			best = cands[i];
			bestd = d;
		}
	}
	return best ? str(c, " (did you mean '%s'?)", best) : "";
}

/* The key of pair i of m: a scalar not seen before in m. */
static yaml_node_t *key_at(struct ctx *c, yaml_node_t *m, size_t i,
			   const char *where)
{
	yaml_node_t *k = key_of(c, m, i);

	if (k->type != YAML_SCALAR_NODE || is_null(k)) {
		fail(c, k, "a key in %s must be a name, not %s", where,
		     kind(k));
		return NULL;
	}
	for (size_t j = 0; j < i; j++) {
		yaml_node_t *o = key_of(c, m, j);

		if (o->type == YAML_SCALAR_NODE &&
		    strcmp(sval(o), sval(k)) == 0) {
			fail(c, k, "duplicate key '%s' in %s", sval(k), where);
			return NULL;
		}
	}
	return k;
}

/* ---- Scalars ---- */

/* A YAML core-schema decimal: [-+]? (digits [. digits*] | . digits)
 * [e [-+]? digits]; *integral when it has neither point nor exponent. */
static int is_decimal(const char *s, int *integral)
{
	size_t digits = 0;

	*integral = 1;
	if (*s == '-' || *s == '+')
		s++;
	for (; *s >= '0' && *s <= '9'; s++)
		digits++;
	if (*s == '.') {
		*integral = 0;
		for (s++; *s >= '0' && *s <= '9'; s++)
			digits++;
	}
	if (!digits)
		return 0;
	if (*s == 'e' || *s == 'E') {
		*integral = 0;
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == 0;
}

/* Numbers are plain scalars: a quoted "25" is a string. */
static int parse_num(const yaml_node_t *n, double *out)
{
	int integral;

	if (!is_plain(n) || !is_decimal(sval(n), &integral))
		return -1;
	*out = strtod(sval(n), NULL);
	return isfinite(*out) ? 0 : -1;
}

static int parse_long(const yaml_node_t *n, long *out)
{
	int integral;

	if (!is_plain(n) || !is_decimal(sval(n), &integral) || !integral)
		return -1;
	errno = 0;
	*out = strtol(sval(n), NULL, 10);
	return errno ? -1 : 0;
}

static int parse_bool(const yaml_node_t *n, long *out)
{
	static const char *const words[] = {
		"false", "true", "no", "yes", "off", "on",
		"False", "True", "No", "Yes", "Off", "On",
	};

	for (size_t i = 0; is_plain(n) && i < 12; i++)
		if (strcmp(sval(n), words[i]) == 0) {
			*out = (long)(i % 2);
			return 0;
		}
	return -1;
}

/*
 * A string. def == NULL: required and non-empty; def == "": optional and
 * may be empty; otherwise optional and non-empty.
 */
static int get_str(struct ctx *c, yaml_node_t *m, const char *where,
		   const char *key, char **out, const char *def)
{
	yaml_node_t *v = get(c, m, key);

	if (!v && !def)
		return fail(c, m, "missing '%s' in %s", key, where);
	if (!v) {
		*out = xstrdup(def);
		return 0;
	}
	if (v->type != YAML_SCALAR_NODE || (is_null(v) && (!def || *def)))
		return fail(c, v, "'%s' in %s must be a string, not %s", key,
			    where, kind(v));
	if (!*sval(v) && (!def || *def))
		return fail(c, v, "'%s' in %s must not be empty", key, where);
	*out = xstrdup(sval(v));
	return 0;
}

/* ---- The schema ---- */

enum ftype { F_OTHER, F_NUM, F_LONG, F_INT, F_BOOL };

/* A key of a mapping. Numbers and booleans are read into base + off by
 * read_map(), checked against [lo, hi] (lo excluded when open), and
 * default to def; F_OTHER keys are read by hand. */
struct field {
	const char *key;
	enum ftype type;
	double def, lo, hi;
	int open;
	size_t off;
};

#define INF HUGE_VAL
#define CFG(m) offsetof(struct scen_config, m)

static const struct field top_fields[] = {
	{.key = "database"}, {.key = "provider"}, {.key = "cache"},
	{.key = "fallback"}, {.key = "pool"}, {.key = "alerts"},
	{.key = "experiments"}, {0}
};

static const struct field provider_fields[] = {
	{.key = "base_url"}, {.key = "model"},
	{"timeout_s", F_NUM, 20, 0, INF, 1, CFG(provider.timeout_s)},
	{"deadline_s", F_NUM, 8, 0, INF, 1, CFG(provider.deadline_s)},
	{"max_concurrency", F_INT, 8, 1, 10000, 0,
	 CFG(provider.max_concurrency)},
	{"temperature", F_NUM, 0.9, 0, 2, 0, CFG(provider.temperature)},
	{"max_tokens", F_LONG, 600, 1, INF, 0, CFG(provider.max_tokens)},
	{.key = "accounts"}, {.key = "day_resets_at"}, {.key = "breaker"},
	{0}
};

static const struct field breaker_fields[] = {
	{"failures", F_INT, 5, 1, 10000, 0, CFG(provider.breaker_failures)},
	{"cooldown_s", F_NUM, 60, 0, INF, 1, CFG(provider.breaker_cooldown_s)},
	{0}
};

static const struct field account_fields[] = {
	{.key = "name"}, {.key = "api_key_env"},
	{"rpm", F_LONG, 0, 0, INF, 0, offsetof(struct scen_account, rpm)},
	{"rph", F_LONG, 0, 0, INF, 0, offsetof(struct scen_account, rph)},
	{"rpd", F_LONG, 0, 0, INF, 0, offsetof(struct scen_account, rpd)},
	{"tpm", F_LONG, 0, 0, INF, 0, offsetof(struct scen_account, tpm)},
	{0}
};

static const struct field cache_fields[] = {
	{"strict", F_NUM, 0.95, 0, 1, 1, CFG(cache.strict)},
	{"relaxed", F_NUM, 0.75, 0, 1, 1, CFG(cache.relaxed)},
	{"max_serves", F_LONG, 50, 1, INF, 0, CFG(cache.max_serves)},
	{"no_repeat_per_session", F_BOOL, 1, 0, 1, 0,
	 CFG(cache.no_repeat_per_session)},
	{.key = "hit_rate_band"}, {0}
};

static const struct field pool_fields[] = {
	{"variants", F_LONG, 3, 1, INF, 0, CFG(pool.variants)},
	{"max_age_days", F_NUM, 7, 0, INF, 1, CFG(pool.max_age_days)},
	{"quota_share", F_NUM, 0.5, 0, 1, 1, CFG(pool.quota_share)},
	{0}
};

static const struct field alerts_fields[] = {
	{"key_usage", F_NUM, 0.90, 0, 1, 1, CFG(alerts.key_usage)},
	{"hit_rate_min", F_NUM, 0.50, 0, 1, 0, CFG(alerts.hit_rate_min)},
	{"queue_wait_s", F_NUM, 10, 0, INF, 1, CFG(alerts.queue_wait_s)},
	{"error_rate", F_NUM, 0.05, 0, 1, 0, CFG(alerts.error_rate)},
	{"pool_min", F_LONG, 100, 0, INF, 0, CFG(alerts.pool_min)},
	{0}
};

static const struct field experiment_fields[] = {
	{.key = "system"}, {.key = "templates"}, {0}
};

static const struct field template_fields[] = {
	{.key = "prompt"}, {.key = "factors"}, {.key = "position"},
	{.key = "validate"}, {0}
};

static const struct field factor_fields[] = {
	{.key = "levels"},
	{"weight", F_NUM, 0, 0, INF, 0, offsetof(struct scen_factor, weight)},
	{0}
};

static const struct field position_fields[] = {
	{"min", F_LONG, 0, -INF, INF, 0, offsetof(struct scen_position, min)},
	{"max", F_LONG, 0, -INF, INF, 0, offsetof(struct scen_position, max)},
	{"weight", F_NUM, 0, 0, INF, 0,
	 offsetof(struct scen_position, weight)},
	{0}
};

static const struct field validate_fields[] = {
	{"min_chars", F_LONG, 1, 0, INF, 0,
	 offsetof(struct scen_validate, min_chars)},
	{"max_chars", F_LONG, 100000, 1, INF, 0,
	 offsetof(struct scen_validate, max_chars)},
	{.key = "reject"}, {0}
};

/* What a field accepts, for messages. */
static const char *describe(struct ctx *c, const struct field *f)
{
	const char *what = f->type == F_NUM ? "a number" : "an integer";

	if (f->type == F_BOOL)
		return "true or false";
	if (isinf(f->lo))
		return what;
	if (isinf(f->hi))
		return str(c, "%s %s %g", what, f->open ? ">" : ">=", f->lo);
	return str(c, "%s in %c%g, %g]", what, f->open ? '(' : '[', f->lo,
		   f->hi);
}

static void set_defaults(void *base, const struct field *fields)
{
	for (const struct field *f = fields; f->key; f++) {
		char *p = (char *)base + f->off;

		if (f->type == F_NUM)
			*(double *)p = f->def;
		else if (f->type == F_LONG)
			*(long *)p = (long)f->def;
		else if (f->type != F_OTHER)
			*(int *)p = (int)f->def;
	}
}

static int read_field(struct ctx *c, const yaml_node_t *v, const char *where,
		      const struct field *f, void *base)
{
	char *p = (char *)base + f->off;
	double d = 0;
	long l = 0;
	int rc;

	if (f->type == F_NUM)
		rc = parse_num(v, &d);
	else if (f->type == F_BOOL)
		rc = parse_bool(v, &l);
	else
		rc = parse_long(v, &l);
	if (f->type != F_NUM)
		d = (double)l;
	if (rc < 0 || d < f->lo || d > f->hi || (f->open && d == f->lo))
		return fail(c, v, "'%s' in %s must be %s", f->key, where,
			    describe(c, f));
	if (f->type == F_NUM)
		*(double *)p = d;
	else if (f->type == F_LONG)
		*(long *)p = l;
	else
		*(int *)p = (int)l;
	return 0;
}

/* Checks that m (named what) is a mapping of the keys of fields only,
 * then reads its numbers and booleans into base (defaults first). */
static int read_map(struct ctx *c, yaml_node_t *m, const char *what,
		    const struct field *fields, void *base)
{
	const char *names[16];
	size_t n = 0;

	set_defaults(base, fields);
	if (need(c, m, YAML_MAPPING_NODE, what) < 0)
		return -1;
	for (const struct field *f = fields; f->key && n < 16; f++)
		names[n++] = f->key;
	for (size_t i = 0; i < map_len(m); i++) {
		yaml_node_t *k = key_at(c, m, i, what);
		size_t j = 0;

		if (!k)
			return -1;
		while (j < n && strcmp(sval(k), names[j]) != 0)
			j++;
		if (j == n)
			return fail(c, k, "unknown key '%s' in %s%s", sval(k),
				    what, hint(c, sval(k), names, n));
		if (fields[j].type != F_OTHER &&
		    read_field(c, val_of(c, m, i), what, &fields[j], base) < 0)
			return -1;
	}
	return 0;
}

/* read_map() on the value of key in m, if present (*out is NULL if not). */
static int section(struct ctx *c, yaml_node_t *m, const char *key,
		   const char *what, const struct field *fields, void *base,
		   yaml_node_t **out)
{
	*out = get(c, m, key);
	if (!*out) {
		set_defaults(base, fields);
		return 0;
	}
	return read_map(c, *out, what, fields, base);
}

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
		for (q = p + 1; is_word((unsigned char)*q); q++)
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
static int undeclared(struct ctx *c, const yaml_node_t *n,
		      const struct scen_template *t, const char *s, size_t len,
		      const char *what)
{
	const char *name = str(c, "%.*s", (int)len, s), *h, **names;

	if (is_position(s, len))
		return fail(c, n, "placeholder '{position}' in %s, but template "
			    "'%s' declares no position", what, t->name);
	names = xcalloc(t->nfactors, sizeof *names);
	for (size_t j = 0; j < t->nfactors; j++)
		names[j] = t->factors[j].name;
	h = hint(c, name, names, t->nfactors);
	free(names);
	return fail(c, n, "placeholder '{%s}' in %s names no factor of "
		    "template '%s'%s", name, what, t->name, h);
}

/* Checks the placeholders of text (node n) against every template of ts. */
static int check_text(struct ctx *c, const yaml_node_t *n, const char *text,
		      const struct scen_template *ts, size_t nts,
		      const char *what)
{
	const char *p = text, *s;
	size_t len;

	for (;;) {
		enum tok k = next_tok(&p, &s, &len);

		if (k == TOK_END)
			return 0;
		if (k == TOK_LONE)
			return fail(c, n, "lone '%c' in %s (write '%c%c' for a "
				    "literal brace)", *s, what, *s, *s);
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

/* The key name of mapping m, else m itself. */
static yaml_node_t *key_named(struct ctx *c, yaml_node_t *m, const char *name)
{
	for (size_t i = 0; m && m->type == YAML_MAPPING_NODE &&
	     i < map_len(m); i++) {
		yaml_node_t *k = key_of(c, m, i);

		if (k->type == YAML_SCALAR_NODE && strcmp(sval(k), name) == 0)
			return k;
	}
	return m;
}

/*
 * Every factor and the position that template t (node v) declares must
 * reach the model, through its prompt or the system text of experiment e:
 * else scenarios would differ in something the model never saw
 * (scen.yaml(5)). The error points at the declaration.
 */
static int check_used(struct ctx *c, yaml_node_t *v,
		      const struct scen_template *t,
		      const struct scen_experiment *e)
{
	for (size_t i = 0; i <= t->nfactors; i++) {
		const char *name = i < t->nfactors ? t->factors[i].name :
				   "position";
		yaml_node_t *at = i < t->nfactors ?
			key_named(c, get(c, v, "factors"), name) :
			key_named(c, v, name);

		if ((i == t->nfactors && !t->position.declared) ||
		    uses(t->prompt, name) || uses(e->system, name))
			continue;
		return fail(c, at, "%s of template '%s' is not used: neither "
			    "its prompt nor the system text of experiment "
			    "'%s' holds '{%s}', so the model would never see "
			    "it", i < t->nfactors ? str(c, "factor '%s'", name)
			    : "the position", t->name, e->name, name);
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

/* ---- Provider, cache, fallback ---- */

static int parse_account(struct ctx *c, yaml_node_t *m, size_t i)
{
	struct scen_config *cfg = c->cfg;
	struct scen_account *a = &cfg->provider.accounts[i];
	yaml_node_t *name = m->type == YAML_MAPPING_NODE ?
			    get(c, m, "name") : NULL;
	const char *where = name && name->type == YAML_SCALAR_NODE ?
			    str(c, "account '%s'", sval(name)) :
			    str(c, "account %zu", i + 1);

	if (read_map(c, m, where, account_fields, a) < 0 ||
	    get_str(c, m, where, "name", &a->name, NULL) < 0)
		return -1;
	if (!valid_name(a->name, 0))
		return fail(c, name, "account name '%s' may hold only letters, "
			    "digits, '_', '-' and '.'", a->name);
	for (size_t j = 0; j < i; j++)
		if (strcmp(cfg->provider.accounts[j].name, a->name) == 0)
			return fail(c, name, "duplicate account name '%s'",
				    a->name);
	if (get_str(c, m, where, "api_key_env", &a->api_key_env, NULL) < 0)
		return -1;
	c->key_nodes[i] = get(c, m, "api_key_env");
	/* The value is never echoed: it might be the key itself. */
	if (!valid_name(a->api_key_env, 1) || strchr(a->api_key_env, '-'))
		return fail(c, c->key_nodes[i], "'api_key_env' in %s must be "
			    "the name of an environment variable (letters, "
			    "digits and '_'), not the key itself", where);
	return 0;
}

/* "HH:MM" or "HH:MMZ", UTC. */
static int parse_reset(struct ctx *c, yaml_node_t *prov)
{
	yaml_node_t *v = get(c, prov, "day_resets_at");
	const char *s = v && v->type == YAML_SCALAR_NODE ? sval(v) : "";
	size_t n = strlen(s);

	if (!v)
		return 0;
	if ((n == 5 || (n == 6 && s[5] == 'Z')) && s[2] == ':' &&
	    s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' &&
	    s[3] >= '0' && s[3] <= '5' && s[4] >= '0' && s[4] <= '9' &&
	    (s[0] - '0') * 10 + (s[1] - '0') < 24) {
		c->cfg->provider.day_resets_min =
			((s[0] - '0') * 10 + (s[1] - '0')) * 60 +
			(s[3] - '0') * 10 + (s[4] - '0');
		return 0;
	}
	return fail(c, v, "'day_resets_at' in provider must be a UTC time "
		    "\"HH:MM\" or \"HH:MMZ\"");
}

static int parse_provider(struct ctx *c, yaml_node_t *root)
{
	struct scen_config *cfg = c->cfg;
	yaml_node_t *p = get(c, root, "provider"), *seq, *b;
	char *url;
	size_t n;

	if (!p)
		return fail(c, root, "missing 'provider' in the config");
	if (read_map(c, p, "provider", provider_fields, cfg) < 0 ||
	    get_str(c, p, "provider", "base_url", &cfg->provider.base_url,
		    NULL) < 0)
		return -1;
	url = cfg->provider.base_url;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return fail(c, get(c, p, "base_url"), "'base_url' in provider "
			    "must start with http:// or https://");
	n = strlen(url);
	while (n > 8 && url[n - 1] == '/')
		url[--n] = 0;
	if (get_str(c, p, "provider", "model", &cfg->provider.model,
		    NULL) < 0 || parse_reset(c, p) < 0 ||
	    section(c, p, "breaker", "provider.breaker", breaker_fields, cfg,
		    &b) < 0)
		return -1;
	seq = get(c, p, "accounts");
	if (!seq)
		return fail(c, p, "missing 'accounts' in provider");
	if (need(c, seq, YAML_SEQUENCE_NODE, "'accounts' in provider") < 0)
		return -1;
	n = seq_len(seq);
	if (!n)
		return fail(c, seq, "'accounts' in provider must list at "
			    "least one account");
	cfg->provider.accounts = xcalloc(n, sizeof *cfg->provider.accounts);
	cfg->provider.naccounts = n;
	c->key_nodes = xcalloc(n, sizeof *c->key_nodes);
	for (size_t i = 0; i < n; i++)
		if (parse_account(c, seq_at(c, seq, i), i) < 0)
			return -1;
	return 0;
}

static int parse_cache(struct ctx *c, yaml_node_t *root)
{
	struct scen_config *cfg = c->cfg;
	yaml_node_t *m, *band, *v;

	if (section(c, root, "cache", "cache", cache_fields, cfg, &m) < 0)
		return -1;
	if (cfg->cache.relaxed > cfg->cache.strict) {
		v = get(c, m, "relaxed");
		return fail(c, v ? v : get(c, m, "strict"), "'relaxed' (%g) in "
			    "cache must not exceed 'strict' (%g)",
			    cfg->cache.relaxed, cfg->cache.strict);
	}
	cfg->cache.band_lo = 0.60;
	cfg->cache.band_hi = 0.70;
	band = m ? get(c, m, "hit_rate_band") : NULL;
	if (!band)
		return 0;
	if (band->type != YAML_SEQUENCE_NODE || seq_len(band) != 2)
		return fail(c, band, "'hit_rate_band' in cache must be a list "
			    "[low, high]");
	for (size_t i = 0; i < 2; i++) {
		double *d = i ? &cfg->cache.band_hi : &cfg->cache.band_lo;

		v = seq_at(c, band, i);
		if (parse_num(v, d) < 0 || *d < 0 || *d > 1)
			return fail(c, v, "'hit_rate_band' in cache must hold "
				    "numbers in [0, 1]");
	}
	if (cfg->cache.band_lo > cfg->cache.band_hi)
		return fail(c, v, "'hit_rate_band' in cache must be [low, "
			    "high] with low <= high");
	return 0;
}

static int parse_fallback(struct ctx *c, yaml_node_t *root)
{
	struct scen_config *cfg = c->cfg;
	yaml_node_t *seq = get(c, root, "fallback");
	int seen[SCEN_TIER_COUNT] = {0};

	for (int i = 0; i < SCEN_TIER_COUNT; i++)
		cfg->fallback[i] = (enum scen_tier)i;
	cfg->nfallback = SCEN_TIER_COUNT;
	if (!seq)
		return 0;
	if (need(c, seq, YAML_SEQUENCE_NODE, "'fallback'") < 0)
		return -1;
	if (!seq_len(seq))
		return fail(c, seq, "'fallback' must list at least one tier");
	cfg->nfallback = 0;
	/* Four tiers at most: a fifth entry is always a repeat. */
	for (size_t i = 0; i < seq_len(seq); i++) {
		yaml_node_t *v = seq_at(c, seq, i);
		int t = v->type == YAML_SCALAR_NODE ?
			scen_tier_from_name(sval(v)) : -1;

		if (t < 0)
			return fail(c, v, "'fallback' entries must be tiers "
				    "(cache, fresh, pool, relaxed)%s",
				    v->type == YAML_SCALAR_NODE ?
				    hint(c, sval(v), tier_names,
					 SCEN_TIER_COUNT) : "");
		if (seen[t]++)
			return fail(c, v, "tier '%s' appears twice in "
				    "'fallback'", tier_names[t]);
		cfg->fallback[cfg->nfallback++] = (enum scen_tier)t;
	}
	return 0;
}

/* ---- Experiments ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Factors, templates and experiments all start with their name, and a
 * pointer to a struct points to its first member (C17 6.7.2.1). */
static int cmp_named(const void *a, const void *b)
{
	return cmp_str(a, b);
}

/* A level in canonical form: plain numbers as "%ld" or "%.15g", so that
 * 25, 25.0 and "25" are one level; anything else as written. */
static char *canon_level(const yaml_node_t *n)
{
	double d;

	if (parse_num(n, &d) < 0)
		return xstrdup(sval(n));
	if (d == floor(d) && fabs(d) < 1e15)
		return xasprintf("%ld", (long)d);
	return xasprintf("%.15g", d);
}

static int parse_factor(struct ctx *c, yaml_node_t *v, struct scen_factor *f,
			const char *tname)
{
	const char *where = str(c, "factor '%s' of template '%s'", f->name,
				tname), *what;
	yaml_node_t *seq;

	if (read_map(c, v, where, factor_fields, f) < 0)
		return -1;
	f->soft = get(c, v, "weight") != NULL;
	seq = get(c, v, "levels");
	if (!seq)
		return fail(c, v, "missing 'levels' in %s", where);
	what = str(c, "'levels' in %s", where);
	if (need(c, seq, YAML_SEQUENCE_NODE, what) < 0)
		return -1;
	if (!seq_len(seq))
		return fail(c, seq, "%s must list at least one level", what);
	/* a request holds a level as a 16-bit index */
	if (seq_len(seq) > 65535)
		return fail(c, seq, "%s lists %zu levels, more than 65535",
			    what, seq_len(seq));
	f->nlevels = seq_len(seq);
	f->levels = xcalloc(f->nlevels, sizeof *f->levels);
	for (size_t i = 0; i < f->nlevels; i++) {
		yaml_node_t *l = seq_at(c, seq, i);

		if (l->type != YAML_SCALAR_NODE || is_null(l) || !*sval(l))
			return fail(c, l, "a level of %s must be a non-empty "
				    "string or a number, not %s", where,
				    l->type == YAML_SCALAR_NODE && !is_null(l) ?
				    "an empty string" : kind(l));
		f->levels[i] = canon_level(l);
		for (size_t j = 0; j < i; j++)
			if (strcmp(f->levels[j], f->levels[i]) == 0)
				return fail(c, l, "duplicate level '%s' in %s",
					    f->levels[i], where);
	}
	return 0;
}

static int parse_factors(struct ctx *c, yaml_node_t *v, const char *where,
			 struct scen_template *t)
{
	yaml_node_t *m = get(c, v, "factors");
	const char *what = str(c, "'factors' in %s", where);

	if (!m)
		return fail(c, v, "missing 'factors' in %s (write 'factors: "
			    "{}' for none)", where);
	if (need(c, m, YAML_MAPPING_NODE, what) < 0)
		return -1;
	/* A request holds one level index per factor, SCEN_MAX_FACTORS. */
	if (map_len(m) > SCEN_MAX_FACTORS)
		return fail(c, m, "%s declares %zu factors, more than %d", what,
			    map_len(m), SCEN_MAX_FACTORS);
	t->nfactors = map_len(m);
	t->factors = xcalloc(t->nfactors, sizeof *t->factors);
	for (size_t i = 0; i < t->nfactors; i++) {
		yaml_node_t *k = key_at(c, m, i, what);

		if (!k)
			return -1;
		if (strcmp(sval(k), "position") == 0)
			return fail(c, k, "'position' is not a factor name in "
				    "%s: declare 'position: {min, max}' beside "
				    "'factors'", where);
		if (!valid_name(sval(k), 1))
			return fail(c, k, "bad factor name '%s' in %s: a "
				    "letter or '_', then letters, digits, '_' "
				    "or '-'", sval(k), where);
		t->factors[i].name = xstrdup(sval(k));
		if (parse_factor(c, val_of(c, m, i), &t->factors[i],
				 t->name) < 0)
			return -1;
	}
	qsort(t->factors, t->nfactors, sizeof *t->factors, cmp_named);
	return 0;
}

static int parse_position(struct ctx *c, yaml_node_t *v,
			  struct scen_template *t)
{
	struct scen_position *p = &t->position;
	const char *where = str(c, "position of template '%s'", t->name);
	yaml_node_t *m;

	if (section(c, v, "position", where, position_fields, p, &m) < 0)
		return -1;
	if (!m)
		return 0;
	if (!get(c, m, "min") || !get(c, m, "max"))
		return fail(c, m, "%s needs 'min' and 'max'", where);
	if (p->min > p->max)
		return fail(c, get(c, m, "max"), "'max' (%ld) in %s is less "
			    "than 'min' (%ld)", p->max, where, p->min);
	/* Closeness and pool designs compute max - min as a long. */
	if (p->min < 0 && p->max > LONG_MAX + p->min)
		return fail(c, get(c, m, "max"), "%s is too wide: 'max' - "
			    "'min' must be at most %ld", where, LONG_MAX);
	p->declared = 1;
	p->soft = get(c, m, "weight") != NULL;
	return 0;
}

static int parse_validate(struct ctx *c, yaml_node_t *v,
			  struct scen_template *t)
{
	struct scen_validate *val = &t->validate;
	const char *where = str(c, "validate of template '%s'", t->name);
	yaml_node_t *m, *seq, *bad;

	if (section(c, v, "validate", where, validate_fields, val, &m) < 0)
		return -1;
	if (!m)
		return 0;
	if (val->max_chars < val->min_chars) {
		bad = get(c, m, "max_chars");
		return fail(c, bad ? bad : get(c, m, "min_chars"),
			    "'max_chars' (%ld) in %s is less than "
			    "'min_chars' (%ld)", val->max_chars, where,
			    val->min_chars);
	}
	seq = get(c, m, "reject");
	if (!seq)
		return 0;
	if (need(c, seq, YAML_SEQUENCE_NODE,
		 str(c, "'reject' in %s", where)) < 0)
		return -1;
	val->nreject = seq_len(seq);
	val->reject = xcalloc(val->nreject, sizeof *val->reject);
	for (size_t i = 0; i < val->nreject; i++) {
		yaml_node_t *r = seq_at(c, seq, i);

		if (r->type != YAML_SCALAR_NODE || !*sval(r))
			return fail(c, r, "a 'reject' phrase in %s must be a "
				    "non-empty string", where);
		val->reject[i] = xstrdup(sval(r));
		for (char *s = val->reject[i]; *s; s++)
			if (*s >= 'A' && *s <= 'Z')
				*s = (char)(*s - 'A' + 'a');
	}
	/* Order does not matter to validation, so not to the version. */
	qsort(val->reject, val->nreject, sizeof *val->reject, cmp_str);
	return 0;
}

/* Similarity divides by the sum of the soft weights: it must be finite. */
static int check_weights(struct ctx *c, yaml_node_t *v,
			 const struct scen_template *t)
{
	double sum = t->position.soft ? t->position.weight : 0;

	for (size_t i = 0; i < t->nfactors; i++)
		if (t->factors[i].soft)
			sum += t->factors[i].weight;
	if (isfinite(sum))
		return 0;
	return fail(c, v, "the weights of template '%s' add up to more than "
		    "a number can hold", t->name);
}

static int parse_template(struct ctx *c, yaml_node_t *v,
			  struct scen_template *t)
{
	const char *where = str(c, "template '%s'", t->name);

	if (read_map(c, v, where, template_fields, t) < 0 ||
	    get_str(c, v, where, "prompt", &t->prompt, NULL) < 0 ||
	    parse_factors(c, v, where, t) < 0 ||
	    parse_position(c, v, t) < 0 || parse_validate(c, v, t) < 0 ||
	    check_weights(c, v, t) < 0)
		return -1;
	return check_text(c, get(c, v, "prompt"), t->prompt, t, 1,
			  str(c, "the prompt of template '%s'", t->name));
}

/* A non-empty mapping whose keys are names (experiments, templates). */
static int check_names(struct ctx *c, yaml_node_t *m, const char *what)
{
	if (m->type != YAML_MAPPING_NODE || !map_len(m))
		return fail(c, m, "%s must be a mapping with at least one "
			    "entry, not %s", what, m->type ==
			    YAML_MAPPING_NODE ? "an empty one" : kind(m));
	for (size_t i = 0; i < map_len(m); i++) {
		yaml_node_t *k = key_at(c, m, i, what);

		if (!k)
			return -1;
		if (!valid_name(sval(k), 0))
			return fail(c, k, "bad name '%s' in %s: names may hold "
				    "only letters, digits, '_', '-' and '.'",
				    sval(k), what);
	}
	return 0;
}

static int parse_experiment(struct ctx *c, yaml_node_t *v,
			    struct scen_experiment *e)
{
	const char *where = str(c, "experiment '%s'", e->name), *what;
	yaml_node_t *m, *sys;

	if (read_map(c, v, where, experiment_fields, e) < 0 ||
	    get_str(c, v, where, "system", &e->system, "") < 0)
		return -1;
	m = get(c, v, "templates");
	if (!m)
		return fail(c, v, "missing 'templates' in %s", where);
	what = str(c, "'templates' in %s", where);
	if (check_names(c, m, what) < 0)
		return -1;
	e->ntemplates = map_len(m);
	e->templates = xcalloc(e->ntemplates, sizeof *e->templates);
	for (size_t i = 0; i < e->ntemplates; i++) {
		e->templates[i].name = xstrdup(sval(key_of(c, m, i)));
		if (parse_template(c, val_of(c, m, i), &e->templates[i]) < 0)
			return -1;
	}
	qsort(e->templates, e->ntemplates, sizeof *e->templates, cmp_named);
	sys = get(c, v, "system");
	if (sys && check_text(c, sys, e->system, e->templates, e->ntemplates,
			      str(c, "the system text of %s", where)) < 0)
		return -1;
	for (size_t i = 0; i < e->ntemplates; i++)
		if (check_used(c, get(c, m, e->templates[i].name),
			       &e->templates[i], e) < 0)
			return -1;
	return 0;
}

static int parse_root(struct ctx *c)
{
	struct scen_config *cfg = c->cfg;
	yaml_node_t *root = yaml_document_get_root_node(c->doc), *m;
	const char *slash = strrchr(c->name, '/');
	char *db = NULL;

	if (!root)
		return scen_error("%s:1:1: the config is empty", c->name);
	if (read_map(c, root, "the config", top_fields, cfg) < 0 ||
	    get_str(c, root, "the config", "database", &db, "scen.db") < 0)
		return -1;
	/* Relative to the config's folder, so that every command finds the
	 * same database whatever its working directory. */
	if (db[0] != '/' && slash) {
		cfg->database = xasprintf("%.*s/%s", (int)(slash - c->name),
					  c->name, db);
		free(db);
	} else {
		cfg->database = db;
	}
	if (parse_provider(c, root) < 0 || parse_cache(c, root) < 0 ||
	    parse_fallback(c, root) < 0 ||
	    section(c, root, "pool", "pool", pool_fields, cfg, &m) < 0 ||
	    section(c, root, "alerts", "alerts", alerts_fields, cfg, &m) < 0)
		return -1;
	m = get(c, root, "experiments");
	if (!m)
		return fail(c, root, "missing 'experiments' in the config");
	if (check_names(c, m, "'experiments'") < 0)
		return -1;
	cfg->nexperiments = map_len(m);
	cfg->experiments = xcalloc(cfg->nexperiments, sizeof *cfg->experiments);
	for (size_t i = 0; i < cfg->nexperiments; i++) {
		cfg->experiments[i].name = xstrdup(sval(key_of(c, m, i)));
		if (parse_experiment(c, val_of(c, m, i),
				     &cfg->experiments[i]) < 0)
			return -1;
	}
	return 0;
}

static void put_field(struct strbuf *sb, const char *s)
{
	size_t n = strlen(s);

	sb_addf(sb, "%zu:", n);
	sb_add(sb, s, n);
}

/* XXH3-128 over a length-prefixed serialization of what shapes output. */
static void template_version(const struct scen_config *cfg,
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

/* Reads each account's key; the values are never printed. */
static int read_keys(struct ctx *c, int require_keys)
{
	struct scen_config *cfg = c->cfg;
	size_t have = 0;

	for (size_t i = 0; i < cfg->provider.naccounts; i++) {
		struct scen_account *a = &cfg->provider.accounts[i];
		const char *v = getenv(a->api_key_env);

		if (v && *v) {
			a->key = xstrdup(v);
			have++;
		}
	}
	for (size_t i = 0; require_keys && i < cfg->provider.naccounts; i++) {
		struct scen_account *a = &cfg->provider.accounts[i];
		const yaml_node_t *n = c->key_nodes[i];
		const char *why = getenv(a->api_key_env) ? "is empty" :
				  "is not set";

		if (a->key)
			continue;
		if (!have)
			fail(c, n, "no API key: environment variable %s %s "
			     "(account %s)", a->api_key_env, why, a->name);
		else
			scen_warn("%s:%zu:%zu: environment variable %s %s: "
				  "account %s will not be used", c->name,
				  n->start_mark.line + 1,
				  n->start_mark.column + 1, a->api_key_env,
				  why, a->name);
	}
	return !require_keys || have ? 0 : -1;
}

/*
 * Aliases let a small file name one node many times ("billion laughs"):
 * the size of node id with every alias expanded (a scalar counts its
 * bytes), at least limit when larger; memo[id] holds it once known. An
 * anchor on an ancestor makes a cycle, which counts as limit. Nothing
 * below depth 64 is counted (the schema reads far less deep), and *cut
 * says so, for such a size is not kept in memo.
 */
static size_t expanded_size(yaml_document_t *doc, int id, size_t *memo,
			    size_t limit, int depth, int *cut)
{
	yaml_node_t *n = yaml_document_get_node(doc, id);
	size_t size = 1;
	int sub = 0;

	if (!n || depth > 64) {
		*cut = 1;
		return 1;
	}
	if (memo[id])
		return memo[id];
	memo[id] = limit;
	if (n->type == YAML_SCALAR_NODE)
		size += n->data.scalar.length;
	for (yaml_node_item_t *i = n->type == YAML_SEQUENCE_NODE ?
	     n->data.sequence.items.start : NULL;
	     i && i < n->data.sequence.items.top && size < limit; i++)
		size += expanded_size(doc, *i, memo, limit, depth + 1, &sub);
	for (yaml_node_pair_t *p = n->type == YAML_MAPPING_NODE ?
	     n->data.mapping.pairs.start : NULL;
	     p && p < n->data.mapping.pairs.top && size < limit; p++) {
		size += expanded_size(doc, p->key, memo, limit, depth + 1,
				      &sub);
		size += expanded_size(doc, p->value, memo, limit, depth + 1,
				      &sub);
	}
	memo[id] = sub ? 0 : size;
	*cut |= sub;
	return size;
}

/* Refuses a document that aliases make much larger than it is written. */
static int check_expansion(struct ctx *c, size_t len)
{
	yaml_document_t *doc = c->doc;
	size_t nodes = (size_t)(doc->nodes.top - doc->nodes.start);
	size_t limit = len > CONFIG_MAX_EXPANDED / 4 ? 4 * len :
		       CONFIG_MAX_EXPANDED;
	size_t *memo = xcalloc(nodes + 1, sizeof *memo);
	int cut = 0;
	size_t size = nodes ? expanded_size(doc, 1, memo, limit, 0, &cut) : 0;

	free(memo);
	if (size < limit)
		return 0;
	return scen_error("%s:1:1: the config is too large once its aliases "
			  "are expanded (more than %zu bytes)", c->name, limit);
}

static void syntax_error(const char *name, const yaml_parser_t *p,
			 const char *text, size_t len)
{
	size_t line = p->problem_mark.line, col = p->problem_mark.column;
	const char *problem = p->problem ? p->problem : "cannot parse";

	if (p->error == YAML_READER_ERROR) {
		line = col = 0;
		for (size_t i = 0; i < p->problem_offset && i < len; i++) {
			col++;
			if (text[i] == '\n') {
				line++;
				col = 0;
			}
		}
	}
	if (p->context)
		scen_error("%s:%zu:%zu: YAML syntax error: %s %s", name,
			   line + 1, col + 1, problem, p->context);
	else
		scen_error("%s:%zu:%zu: YAML syntax error: %s", name, line + 1,
			   col + 1, problem);
}

struct scen_config *scen_config_parse(const char *name, const char *text,
				      size_t len, int require_keys)
{
	struct scen_config *cfg = xcalloc(1, sizeof *cfg);
	yaml_parser_t parser;
	yaml_document_t doc, more;
	struct ctx c = {.name = name, .doc = &doc, .cfg = cfg};
	int rc;

	cfg->path = xstrdup(name);
	if (!yaml_parser_initialize(&parser)) {
		scen_error("%s: cannot initialize the YAML parser", name);
		scen_config_free(cfg);
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
				     len);
	if (!yaml_parser_load(&parser, &doc)) {
		syntax_error(name, &parser, text, len);
		yaml_parser_delete(&parser);
		scen_config_free(cfg);
		return NULL;
	}
	rc = check_expansion(&c, len) < 0 ? -1 : parse_root(&c);
	if (rc == 0 && !yaml_parser_load(&parser, &more)) {
		syntax_error(name, &parser, text, len);
		rc = -1;
	} else if (rc == 0) {
		yaml_node_t *r = yaml_document_get_root_node(&more);

		if (r)
			rc = fail(&c, r, "a config holds one YAML document, "
				  "not several");
		yaml_document_delete(&more);
	}
	if (rc == 0) {
		qsort(cfg->experiments, cfg->nexperiments,
		      sizeof *cfg->experiments, cmp_named);
		for (size_t i = 0; i < cfg->nexperiments; i++) {
			struct scen_experiment *e = &cfg->experiments[i];

			for (size_t j = 0; j < e->ntemplates; j++) {
				e->templates[j].experiment = e;
				template_version(cfg, e, &e->templates[j]);
			}
		}
		rc = read_keys(&c, require_keys);
	}
	free(c.key_nodes);
	for (size_t i = 0; i < c.nscratch; i++)
		free(c.scratch[i]);
	free(c.scratch);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (rc < 0) {
		scen_config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct scen_config *scen_config_load(const char *path, int require_keys)
{
	struct scen_config *cfg;
	struct strbuf sb;
	char buf[8192];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f) {
		scen_error("%s: cannot read: %s", path, strerror(errno));
		return NULL;
	}
	sb_init(&sb);
	do {
		n = fread(buf, 1, sizeof buf, f);
		sb_add(&sb, buf, n);
	} while (n == sizeof buf);
	if (ferror(f)) {
		scen_error("%s: cannot read: %s", path, strerror(errno));
		fclose(f);
		sb_release(&sb);
		return NULL;
	}
	fclose(f);
	cfg = scen_config_parse(path, sb.buf, sb.len, require_keys);
	sb_release(&sb);
	return cfg;
}

static void free_template(struct scen_template *t)
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

void scen_config_free(struct scen_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nexperiments; i++) {
		struct scen_experiment *e = &cfg->experiments[i];

		for (size_t j = 0; j < e->ntemplates; j++)
			free_template(&e->templates[j]);
		free(e->templates);
		free(e->name);
		free(e->system);
	}
	free(cfg->experiments);
	for (size_t i = 0; i < cfg->provider.naccounts; i++) {
		struct scen_account *a = &cfg->provider.accounts[i];

		if (a->key)	/* wipe the secret before giving it back */
			explicit_bzero(a->key, strlen(a->key));
		free(a->key);
		free(a->name);
		free(a->api_key_env);
	}
	free(cfg->provider.accounts);
	free(cfg->provider.base_url);
	free(cfg->provider.model);
	free(cfg->database);
	free(cfg->path);
	free(cfg);
}

/* ---- Lookups ---- */

struct scen_experiment *scen_config_experiment(const struct scen_config *cfg,
					       const char *name)
{
	struct scen_experiment key = {.name = (char *)name};

	if (!name || !cfg->nexperiments)
		return NULL;
	return bsearch(&key, cfg->experiments, cfg->nexperiments,
		       sizeof key, cmp_named);
}

struct scen_template *scen_experiment_template(const struct scen_experiment *e,
					       const char *name)
{
	struct scen_template key = {.name = (char *)name};

	if (!name || !e->ntemplates)
		return NULL;
	return bsearch(&key, e->templates, e->ntemplates, sizeof key,
		       cmp_named);
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
