/* config.c — loads scen.yaml (scen.yaml(5)) with libyaml's document API,
 * checks every key and value with FILE:LINE:COLUMN diagnostics, computes
 * the template versions and renders prompts. */
#include "scen/config.h"
#include "scen/util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
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

/* ---- Diagnostics and node access ---- */

/* One load: the document being read and where messages point. */
struct ctx {
	const char *name;
	yaml_document_t *doc;
	struct scen_config *cfg;
	yaml_node_t **key_nodes;	/* each account's api_key_env node */
	char **scratch;		/* names built for messages, freed at the end */
	size_t nscratch, capscratch;
};

/* A formatted string that lives as long as the load. */
static const char *str(struct ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

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

static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

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

	for (size_t i = 0; is_plain(n) && i < sizeof nulls / sizeof *nulls; i++)
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

static size_t seq_len(const yaml_node_t *s)
{
	return (size_t)(s->data.sequence.items.top -
			s->data.sequence.items.start);
}

static yaml_node_t *seq_at(struct ctx *c, const yaml_node_t *s, size_t i)
{
	return nd(c, s->data.sequence.items.start[i]);
}

static int need(struct ctx *c, const yaml_node_t *n, yaml_node_type_t t,
		const char *what)
{
	const char *want = t == YAML_MAPPING_NODE ? "a mapping" :
			   t == YAML_SEQUENCE_NODE ? "a list" : "a scalar";

	if (n->type == t && !is_null(n))
		return 0;
	return fail(c, n, "%s must be %s, not %s", what, want, kind(n));
}

static int is_word(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

/* Factor names are identifiers so that "{name}" is unambiguous; other
 * names (experiments, templates, accounts) may also hold digits first and
 * dots, but never spaces or anything a shell or a CSV would trip on. */
static int valid_name(const char *s, int ident)
{
	if (!*s || (ident && (*s == '-' || (*s >= '0' && *s <= '9'))))
		return 0;
	for (; *s; s++)
		if (!is_word((unsigned char)*s) && (ident || *s != '.'))
			return 0;
	return 1;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Optimal string alignment distance, for did-you-mean hints. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b), w = m + 1, r;
	size_t *d = xmalloc((n + 1) * w * sizeof *d);

	for (size_t i = 0; i <= n; i++)
		for (size_t j = 0; j <= m; j++) {
			size_t v;

			if (!i || !j) {
				d[i * w + j] = i + j;
				continue;
			}
			v = d[(i - 1) * w + j - 1] + (a[i - 1] != b[j - 1]);
			v = min_size(v, d[(i - 1) * w + j] + 1);
			v = min_size(v, d[i * w + j - 1] + 1);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1])
				v = min_size(v, d[(i - 2) * w + j - 2] + 1);
			d[i * w + j] = v;
		}
	r = d[n * w + m];
	free(d);
	return r;
}

/* Writes " (did you mean 'x'?)" into hint when a candidate is close. */
static void did_you_mean(char *hint, size_t size, const char *s,
			 const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1;

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(s, cands[i]);
		size_t len = strlen(s) > strlen(cands[i]) ? strlen(s) :
			     strlen(cands[i]);

		if (d < bestd && d * 3 <= len) {
			best = cands[i];
			bestd = d;
		}
	}
	hint[0] = 0;
	if (best)
		snprintf(hint, size, " (did you mean '%s'?)", best);
}

/* The key node of pair i of map: a non-empty scalar not seen before. */
static yaml_node_t *key_at(struct ctx *c, yaml_node_t *map, size_t i,
			   const char *where)
{
	yaml_node_pair_t *pairs = map->data.mapping.pairs.start;
	yaml_node_t *k = nd(c, pairs[i].key);

	if (k->type != YAML_SCALAR_NODE || is_null(k)) {
		fail(c, k, "a key in %s must be a name, not %s", where,
		     kind(k));
		return NULL;
	}
	for (size_t j = 0; j < i; j++) {
		yaml_node_t *o = nd(c, pairs[j].key);

		if (o->type == YAML_SCALAR_NODE &&
		    strcmp(sval(o), sval(k)) == 0) {
			fail(c, k, "duplicate key '%s' in %s", sval(k), where);
			return NULL;
		}
	}
	return k;
}

static yaml_node_t *val_at(struct ctx *c, yaml_node_t *map, size_t i)
{
	return nd(c, map->data.mapping.pairs.start[i].value);
}

/* Checks that every key of map is one of keys (NULL-terminated). */
static int check_keys(struct ctx *c, yaml_node_t *map, const char *where,
		      const char *const *keys)
{
	size_t nkeys = 0;

	while (keys[nkeys])
		nkeys++;
	for (size_t i = 0; i < map_len(map); i++) {
		yaml_node_t *k = key_at(c, map, i, where);
		char hint[128];
		size_t j;

		if (!k)
			return -1;
		for (j = 0; j < nkeys; j++)
			if (strcmp(sval(k), keys[j]) == 0)
				break;
		if (j < nkeys)
			continue;
		did_you_mean(hint, sizeof hint, sval(k), keys, nkeys);
		return fail(c, k, "unknown key '%s' in %s%s", sval(k), where,
			    hint);
	}
	return 0;
}

/* The value of key in map, or NULL when absent. */
static yaml_node_t *get(struct ctx *c, yaml_node_t *map, const char *key)
{
	for (size_t i = 0; i < map_len(map); i++) {
		yaml_node_t *k = nd(c, map->data.mapping.pairs.start[i].key);

		if (k->type == YAML_SCALAR_NODE && strcmp(sval(k), key) == 0)
			return val_at(c, map, i);
	}
	return NULL;
}

/* ---- Typed values ---- */

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

/* Quoted scalars are strings, never numbers. */
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

enum range { R_NONNEG, R_POS, R_UNIT, R_UNIT0, R_TEMP };

static const struct {
	double lo, hi;
	int open;	/* lo excluded */
	const char *text;
} ranges[] = {
	[R_NONNEG] = {0, INFINITY, 0, "a number >= 0"},
	[R_POS] = {0, INFINITY, 1, "a number > 0"},
	[R_UNIT] = {0, 1, 1, "a number in (0, 1]"},
	[R_UNIT0] = {0, 1, 0, "a number in [0, 1]"},
	[R_TEMP] = {0, 2, 0, "a number in [0, 2]"},
};

static int num_node(struct ctx *c, const yaml_node_t *v, const char *what,
		    double *out, enum range r)
{
	double d;

	if (parse_num(v, &d) < 0 || d < ranges[r].lo || d > ranges[r].hi ||
	    (ranges[r].open && d == ranges[r].lo))
		return fail(c, v, "%s must be %s", what, ranges[r].text);
	*out = d;
	return 0;
}

/* Optional number: *out keeps its default when key is absent. */
static int get_num(struct ctx *c, yaml_node_t *map, const char *where,
		   const char *key, double *out, enum range r)
{
	yaml_node_t *v = get(c, map, key);

	if (!v)
		return 0;
	return num_node(c, v, str(c, "'%s' in %s", key, where), out, r);
}

static int get_long(struct ctx *c, yaml_node_t *map, const char *where,
		    const char *key, long *out, long min, int required)
{
	yaml_node_t *v = get(c, map, key);
	long l;

	if (!v && required)
		return fail(c, map, "missing '%s' in %s", key, where);
	if (!v)
		return 0;
	if (parse_long(v, &l) < 0 || l < min)
		return fail(c, v, "'%s' in %s must be an integer >= %ld", key,
			    where, min);
	*out = l;
	return 0;
}

static int get_int(struct ctx *c, yaml_node_t *map, const char *where,
		   const char *key, int *out, int min)
{
	long l = *out;

	if (get_long(c, map, where, key, &l, min, 0) < 0)
		return -1;
	if (l > 1000000)
		return fail(c, get(c, map, key), "'%s' in %s is too large",
			    key, where);
	*out = (int)l;
	return 0;
}

static int get_bool(struct ctx *c, yaml_node_t *map, const char *where,
		    const char *key, int *out)
{
	static const char *const words[] = {
		"false", "true", "no", "yes", "off", "on",
		"False", "True", "No", "Yes", "Off", "On",
	};
	yaml_node_t *v = get(c, map, key);

	for (size_t i = 0; v && is_plain(v) && i < 12; i++)
		if (strcmp(sval(v), words[i]) == 0) {
			*out = (int)(i % 2);
			return 0;
		}
	if (!v)
		return 0;
	return fail(c, v, "'%s' in %s must be true or false", key, where);
}

/*
 * A string. def == NULL: required and non-empty; def == "": optional and
 * may be empty; otherwise optional and non-empty.
 */
static int get_str(struct ctx *c, yaml_node_t *map, const char *where,
		   const char *key, char **out, const char *def)
{
	yaml_node_t *v = get(c, map, key);

	if (!v && !def)
		return fail(c, map, "missing '%s' in %s", key, where);
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

/* A mapping under key, named inner in messages, with only the keys listed;
 * *out is NULL (and no error) when it is absent and optional. */
static int section(struct ctx *c, yaml_node_t *map, const char *where,
		   const char *key, const char *inner,
		   const char *const *keys, yaml_node_t **out, int required)
{
	*out = get(c, map, key);
	if (!*out && required)
		return fail(c, map, "missing '%s' in %s", key, where);
	if (!*out)
		return 0;
	if (need(c, *out, YAML_MAPPING_NODE,
		 str(c, "'%s' in %s", key, where)) < 0)
		return -1;
	return check_keys(c, *out, inner, keys);
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
	const char **names = xcalloc(t->nfactors, sizeof *names);
	char hint[128], *name = xstrndup(s, len);

	for (size_t j = 0; j < t->nfactors; j++)
		names[j] = t->factors[j].name;
	did_you_mean(hint, sizeof hint, name, names, t->nfactors);
	if (is_position(s, len))
		fail(c, n, "placeholder '{position}' in %s, but template '%s' "
		     "declares no position", what, t->name);
	else
		fail(c, n, "placeholder '{%s}' in %s names no factor of "
		     "template '%s'%s", name, what, t->name, hint);
	free(names);
	free(name);
	return -1;
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

/* ---- Sections ---- */

static int parse_accounts(struct ctx *c, yaml_node_t *prov)
{
	static const char *const keys[] = {
		"name", "api_key_env", "rpm", "rph", "rpd", "tpm", NULL
	};
	static const char *const limits[] = {"rpm", "rph", "rpd", "tpm"};
	struct scen_config *cfg = c->cfg;
	yaml_node_t *seq = get(c, prov, "accounts");
	size_t n;

	if (!seq)
		return fail(c, prov, "missing 'accounts' in provider");
	if (need(c, seq, YAML_SEQUENCE_NODE, "'accounts' in provider") < 0)
		return -1;
	n = seq_len(seq);
	if (!n)
		return fail(c, seq, "'accounts' in provider must list at "
			    "least one account");
	cfg->provider.accounts = xcalloc(n, sizeof *cfg->provider.accounts);
	cfg->provider.naccounts = n;
	c->key_nodes = xcalloc(n, sizeof *c->key_nodes);
	for (size_t i = 0; i < n; i++) {
		struct scen_account *a = &cfg->provider.accounts[i];
		yaml_node_t *m = seq_at(c, seq, i), *env;
		long *lim[] = {&a->rpm, &a->rph, &a->rpd, &a->tpm};
		const char *where;

		if (need(c, m, YAML_MAPPING_NODE, "an account") < 0 ||
		    check_keys(c, m, "an account", keys) < 0 ||
		    get_str(c, m, "an account", "name", &a->name, NULL) < 0)
			return -1;
		if (!valid_name(a->name, 0))
			return fail(c, get(c, m, "name"), "account name '%s' "
				    "may hold only letters, digits, '_', '-' "
				    "and '.'", a->name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->provider.accounts[j].name, a->name))
				return fail(c, get(c, m, "name"), "duplicate "
					    "account name '%s'", a->name);
		where = str(c, "account '%s'", a->name);
		if (get_str(c, m, where, "api_key_env", &a->api_key_env,
			    NULL) < 0)
			return -1;
		env = get(c, m, "api_key_env");
		/* The value is never echoed: it might be the key itself. */
		if (!valid_name(a->api_key_env, 1) ||
		    strchr(a->api_key_env, '-'))
			return fail(c, env, "'api_key_env' in %s must be the "
				    "name of an environment variable (letters, "
				    "digits and '_'), not the key itself",
				    where);
		c->key_nodes[i] = env;
		for (size_t j = 0; j < 4; j++)
			if (get_long(c, m, where, limits[j], lim[j], 0, 0) < 0)
				return -1;
	}
	return 0;
}

static int parse_reset(struct ctx *c, yaml_node_t *prov)
{
	yaml_node_t *v = get(c, prov, "day_resets_at");
	const char *s;
	size_t n;

	if (!v)
		return 0;
	s = v->type == YAML_SCALAR_NODE ? sval(v) : "";
	n = strlen(s);
	if ((n == 5 || (n == 6 && s[5] == 'Z')) && s[2] == ':' &&
	    s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' &&
	    s[3] >= '0' && s[3] <= '5' && s[4] >= '0' && s[4] <= '9') {
		int h = (s[0] - '0') * 10 + (s[1] - '0');
		int m = (s[3] - '0') * 10 + (s[4] - '0');

		if (h < 24) {
			c->cfg->provider.day_resets_min = h * 60 + m;
			return 0;
		}
	}
	return fail(c, v, "'day_resets_at' in provider must be a UTC time "
		    "\"HH:MM\" or \"HH:MMZ\"");
}

static int parse_provider(struct ctx *c, yaml_node_t *root)
{
	static const char *const keys[] = {
		"base_url", "model", "timeout_s", "deadline_s",
		"max_concurrency", "temperature", "max_tokens", "accounts",
		"day_resets_at", "breaker", NULL
	};
	static const char *const bkeys[] = {"failures", "cooldown_s", NULL};
	struct scen_config *cfg = c->cfg;
	const char *w = "provider";
	yaml_node_t *p, *b;
	char *url;
	size_t n;

	if (section(c, root, "the config", "provider", w, keys, &p, 1) < 0 ||
	    get_str(c, p, w, "base_url", &cfg->provider.base_url, NULL) < 0)
		return -1;
	url = cfg->provider.base_url;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return fail(c, get(c, p, "base_url"), "'base_url' in provider "
			    "must start with http:// or https://");
	n = strlen(url);
	while (n > 8 && url[n - 1] == '/')
		url[--n] = 0;
	if (get_str(c, p, w, "model", &cfg->provider.model, NULL) < 0 ||
	    get_num(c, p, w, "timeout_s", &cfg->provider.timeout_s,
		    R_POS) < 0 ||
	    get_num(c, p, w, "deadline_s", &cfg->provider.deadline_s,
		    R_POS) < 0 ||
	    get_int(c, p, w, "max_concurrency",
		    &cfg->provider.max_concurrency, 1) < 0 ||
	    get_num(c, p, w, "temperature", &cfg->provider.temperature,
		    R_TEMP) < 0 ||
	    get_long(c, p, w, "max_tokens", &cfg->provider.max_tokens, 1,
		     0) < 0 ||
	    parse_accounts(c, p) < 0 || parse_reset(c, p) < 0 ||
	    section(c, p, w, "breaker", "provider.breaker", bkeys,
		    &b, 0) < 0)
		return -1;
	if (!b)
		return 0;
	w = "provider.breaker";
	if (get_int(c, b, w, "failures", &cfg->provider.breaker_failures,
		    1) < 0 ||
	    get_num(c, b, w, "cooldown_s", &cfg->provider.breaker_cooldown_s,
		    R_POS) < 0)
		return -1;
	return 0;
}

static int parse_cache(struct ctx *c, yaml_node_t *root)
{
	static const char *const keys[] = {
		"strict", "relaxed", "max_serves", "no_repeat_per_session",
		"hit_rate_band", NULL
	};
	struct scen_config *cfg = c->cfg;
	const char *w = "cache";
	yaml_node_t *m, *band, *rel;

	if (section(c, root, "the config", "cache", w, keys, &m, 0) < 0)
		return -1;
	if (!m)
		return 0;
	if (get_num(c, m, w, "strict", &cfg->cache.strict, R_UNIT) < 0 ||
	    get_num(c, m, w, "relaxed", &cfg->cache.relaxed, R_UNIT) < 0 ||
	    get_long(c, m, w, "max_serves", &cfg->cache.max_serves, 1,
		     0) < 0 ||
	    get_bool(c, m, w, "no_repeat_per_session",
		     &cfg->cache.no_repeat_per_session) < 0)
		return -1;
	if (cfg->cache.relaxed > cfg->cache.strict) {
		rel = get(c, m, "relaxed");
		return fail(c, rel ? rel : get(c, m, "strict"), "'relaxed' "
			    "(%g) in cache must not exceed 'strict' (%g)",
			    cfg->cache.relaxed, cfg->cache.strict);
	}
	band = get(c, m, "hit_rate_band");
	if (!band)
		return 0;
	if (band->type != YAML_SEQUENCE_NODE || seq_len(band) != 2)
		return fail(c, band, "'hit_rate_band' in cache must be a list "
			    "[low, high]");
	if (num_node(c, seq_at(c, band, 0), "the low end of 'hit_rate_band'",
		     &cfg->cache.band_lo, R_UNIT0) < 0 ||
	    num_node(c, seq_at(c, band, 1), "the high end of 'hit_rate_band'",
		     &cfg->cache.band_hi, R_UNIT0) < 0)
		return -1;
	if (cfg->cache.band_lo > cfg->cache.band_hi)
		return fail(c, seq_at(c, band, 1), "'hit_rate_band' in cache "
			    "must be [low, high] with low <= high");
	return 0;
}

static int parse_fallback(struct ctx *c, yaml_node_t *root)
{
	struct scen_config *cfg = c->cfg;
	yaml_node_t *seq = get(c, root, "fallback");
	int seen[SCEN_TIER_COUNT] = {0};

	if (!seq)
		return 0;
	if (need(c, seq, YAML_SEQUENCE_NODE, "'fallback'") < 0)
		return -1;
	if (!seq_len(seq))
		return fail(c, seq, "'fallback' must list at least one tier");
	cfg->nfallback = 0;
	for (size_t i = 0; i < seq_len(seq); i++) {
		yaml_node_t *v = seq_at(c, seq, i);
		int t = v->type == YAML_SCALAR_NODE ?
			scen_tier_from_name(sval(v)) : -1;
		char hint[128] = "";

		if (t < 0 && v->type == YAML_SCALAR_NODE)
			did_you_mean(hint, sizeof hint, sval(v), tier_names,
				     SCEN_TIER_COUNT);
		if (t < 0)
			return fail(c, v, "'fallback' entries must be tiers "
				    "(cache, fresh, pool, relaxed)%s", hint);
		if (seen[t]++)
			return fail(c, v, "tier '%s' appears twice in "
				    "'fallback'", tier_names[t]);
		cfg->fallback[cfg->nfallback++] = (enum scen_tier)t;
	}
	return 0;
}

static int parse_pool_alerts(struct ctx *c, yaml_node_t *root)
{
	static const char *const pkeys[] = {
		"variants", "max_age_days", "quota_share", NULL
	};
	static const char *const akeys[] = {
		"key_usage", "hit_rate_min", "queue_wait_s", "error_rate",
		"pool_min", NULL
	};
	struct scen_config *cfg = c->cfg;
	yaml_node_t *p, *a;

	if (section(c, root, "the config", "pool", "pool", pkeys, &p, 0) < 0 ||
	    (p && (get_long(c, p, "pool", "variants", &cfg->pool.variants, 1,
			    0) < 0 ||
		   get_num(c, p, "pool", "max_age_days",
			   &cfg->pool.max_age_days, R_POS) < 0 ||
		   get_num(c, p, "pool", "quota_share",
			   &cfg->pool.quota_share, R_UNIT) < 0)))
		return -1;
	if (section(c, root, "the config", "alerts", "alerts", akeys, &a,
		    0) < 0 ||
	    (a && (get_num(c, a, "alerts", "key_usage",
			   &cfg->alerts.key_usage, R_UNIT) < 0 ||
		   get_num(c, a, "alerts", "hit_rate_min",
			   &cfg->alerts.hit_rate_min, R_UNIT0) < 0 ||
		   get_num(c, a, "alerts", "queue_wait_s",
			   &cfg->alerts.queue_wait_s, R_POS) < 0 ||
		   get_num(c, a, "alerts", "error_rate",
			   &cfg->alerts.error_rate, R_UNIT0) < 0 ||
		   get_long(c, a, "alerts", "pool_min", &cfg->alerts.pool_min,
			    0, 0) < 0)))
		return -1;
	return 0;
}

/* ---- Experiments ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_factor(const void *a, const void *b)
{
	return strcmp(((const struct scen_factor *)a)->name,
		      ((const struct scen_factor *)b)->name);
}

static int cmp_template(const void *a, const void *b)
{
	return strcmp(((const struct scen_template *)a)->name,
		      ((const struct scen_template *)b)->name);
}

static int cmp_experiment(const void *a, const void *b)
{
	return strcmp(((const struct scen_experiment *)a)->name,
		      ((const struct scen_experiment *)b)->name);
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
	static const char *const keys[] = {"levels", "weight", NULL};
	yaml_node_t *seq, *w;
	const char *where = str(c, "factor '%s' of template '%s'", f->name,
				tname), *what;

	if (need(c, v, YAML_MAPPING_NODE, where) < 0 ||
	    check_keys(c, v, where, keys) < 0)
		return -1;
	seq = get(c, v, "levels");
	if (!seq)
		return fail(c, v, "missing 'levels' in %s", where);
	what = str(c, "'levels' in %s", where);
	if (need(c, seq, YAML_SEQUENCE_NODE, what) < 0)
		return -1;
	if (!seq_len(seq))
		return fail(c, seq, "%s must list at least one level", what);
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
	w = get(c, v, "weight");
	if (!w)
		return 0;
	f->soft = 1;
	what = str(c, "'weight' in %s", where);
	return num_node(c, w, what, &f->weight, R_NONNEG);
}

static int parse_factors(struct ctx *c, yaml_node_t *v, const char *where,
			 struct scen_template *t)
{
	yaml_node_t *m = get(c, v, "factors");
	const char *what;

	if (!m)
		return fail(c, v, "missing 'factors' in %s (write 'factors: "
			    "{}' for none)", where);
	what = str(c, "'factors' in %s", where);
	if (m->type != YAML_MAPPING_NODE)
		return fail(c, m, "%s must be a mapping, not %s", what,
			    kind(m));
	t->nfactors = map_len(m);
	t->factors = xcalloc(t->nfactors, sizeof *t->factors);
	for (size_t i = 0; i < t->nfactors; i++) {
		yaml_node_t *k = key_at(c, m, i, what);

		if (!k)
			return -1;
		if (!valid_name(sval(k), 1) || strcmp(sval(k), "position") == 0)
			return fail(c, k, "bad factor name '%s' in %s: a "
				    "factor name is a letter or '_' then "
				    "letters, digits, '_' or '-', and not "
				    "'position'", sval(k), where);
		t->factors[i].name = xstrdup(sval(k));
		if (parse_factor(c, val_at(c, m, i), &t->factors[i],
				 t->name) < 0)
			return -1;
	}
	qsort(t->factors, t->nfactors, sizeof *t->factors, cmp_factor);
	return 0;
}

static int parse_position(struct ctx *c, yaml_node_t *v, const char *tname,
			  struct scen_position *p)
{
	static const char *const keys[] = {"min", "max", "weight", NULL};
	const char *inner = str(c, "position of template '%s'", tname);
	yaml_node_t *m;

	if (section(c, v, str(c, "template '%s'", tname), "position", inner,
		    keys, &m, 0) < 0)
		return -1;
	if (!m)
		return 0;
	if (get_long(c, m, inner, "min", &p->min, LONG_MIN, 1) < 0 ||
	    get_long(c, m, inner, "max", &p->max, LONG_MIN, 1) < 0)
		return -1;
	if (p->min > p->max)
		return fail(c, get(c, m, "max"), "'max' (%ld) in %s is less "
			    "than 'min' (%ld)", p->max, inner, p->min);
	p->declared = 1;
	p->soft = get(c, m, "weight") != NULL;
	return get_num(c, m, inner, "weight", &p->weight, R_NONNEG);
}

static int parse_validate(struct ctx *c, yaml_node_t *v, const char *tname,
			  struct scen_validate *val)
{
	static const char *const keys[] = {
		"min_chars", "max_chars", "reject", NULL
	};
	const char *where = str(c, "validate of template '%s'", tname);
	yaml_node_t *m, *seq, *bad;

	val->min_chars = 1;
	val->max_chars = 100000;
	if (section(c, v, str(c, "template '%s'", tname), "validate", where,
		    keys, &m, 0) < 0)
		return -1;
	if (!m)
		return 0;
	if (get_long(c, m, where, "min_chars", &val->min_chars, 0, 0) < 0 ||
	    get_long(c, m, where, "max_chars", &val->max_chars, 1, 0) < 0)
		return -1;
	if (val->max_chars < val->min_chars) {
		bad = get(c, m, "max_chars");
		return fail(c, bad ? bad : get(c, m, "min_chars"),
			    "'max_chars' (%ld) in %s is less than 'min_chars' "
			    "(%ld)",
			    val->max_chars, where, val->min_chars);
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
	qsort(val->reject, val->nreject, sizeof *val->reject, cmp_str);
	return 0;
}

static int parse_template(struct ctx *c, yaml_node_t *v,
			  struct scen_template *t)
{
	static const char *const keys[] = {
		"prompt", "factors", "position", "validate", NULL
	};
	const char *where = str(c, "template '%s'", t->name);

	if (need(c, v, YAML_MAPPING_NODE, where) < 0 ||
	    check_keys(c, v, where, keys) < 0 ||
	    get_str(c, v, where, "prompt", &t->prompt, NULL) < 0 ||
	    parse_factors(c, v, where, t) < 0 ||
	    parse_position(c, v, t->name, &t->position) < 0 ||
	    parse_validate(c, v, t->name, &t->validate) < 0)
		return -1;
	return check_text(c, get(c, v, "prompt"), t->prompt, t, 1,
			  str(c, "the prompt of template '%s'", t->name));
}

/* The keys of a mapping of names (experiments, templates) as names. */
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
	static const char *const keys[] = {"system", "templates", NULL};
	const char *where = str(c, "experiment '%s'", e->name), *what;
	yaml_node_t *m;

	if (need(c, v, YAML_MAPPING_NODE, where) < 0 ||
	    check_keys(c, v, where, keys) < 0 ||
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
		e->templates[i].name = xstrdup(sval(nd(c,
			m->data.mapping.pairs.start[i].key)));
		if (parse_template(c, val_at(c, m, i), &e->templates[i]) < 0)
			return -1;
	}
	qsort(e->templates, e->ntemplates, sizeof *e->templates,
	      cmp_template);
	if (!get(c, v, "system"))
		return 0;
	what = str(c, "the system text of %s", where);
	return check_text(c, get(c, v, "system"), e->system, e->templates,
			  e->ntemplates, what);
}

static int parse_experiments(struct ctx *c, yaml_node_t *root)
{
	struct scen_config *cfg = c->cfg;
	yaml_node_t *m = get(c, root, "experiments");

	if (!m)
		return fail(c, root, "missing 'experiments' in the config");
	if (check_names(c, m, "'experiments'") < 0)
		return -1;
	cfg->nexperiments = map_len(m);
	cfg->experiments = xcalloc(cfg->nexperiments, sizeof *cfg->experiments);
	for (size_t i = 0; i < cfg->nexperiments; i++) {
		cfg->experiments[i].name = xstrdup(sval(nd(c,
			m->data.mapping.pairs.start[i].key)));
		if (parse_experiment(c, val_at(c, m, i),
				     &cfg->experiments[i]) < 0)
			return -1;
	}
	return 0;
}

/* ---- The whole file ---- */

static void set_defaults(struct scen_config *cfg)
{
	cfg->provider.timeout_s = 20;
	cfg->provider.deadline_s = 8;
	cfg->provider.max_concurrency = 8;
	cfg->provider.temperature = 0.9;
	cfg->provider.max_tokens = 600;
	cfg->provider.breaker_failures = 5;
	cfg->provider.breaker_cooldown_s = 60;
	cfg->cache.strict = 0.95;
	cfg->cache.relaxed = 0.75;
	cfg->cache.max_serves = 50;
	cfg->cache.no_repeat_per_session = 1;
	cfg->cache.band_lo = 0.60;
	cfg->cache.band_hi = 0.70;
	for (int i = 0; i < SCEN_TIER_COUNT; i++)
		cfg->fallback[i] = (enum scen_tier)i;
	cfg->nfallback = SCEN_TIER_COUNT;
	cfg->pool.variants = 3;
	cfg->pool.max_age_days = 7;
	cfg->pool.quota_share = 0.5;
	cfg->alerts.key_usage = 0.90;
	cfg->alerts.hit_rate_min = 0.50;
	cfg->alerts.queue_wait_s = 10;
	cfg->alerts.error_rate = 0.05;
	cfg->alerts.pool_min = 100;
}

static int parse_root(struct ctx *c)
{
	static const char *const keys[] = {
		"database", "provider", "cache", "fallback", "pool", "alerts",
		"experiments", NULL
	};
	struct scen_config *cfg = c->cfg;
	yaml_node_t *root = yaml_document_get_root_node(c->doc);
	const char *slash = strrchr(c->name, '/');
	char *db = NULL;

	if (!root)
		return scen_error("%s:1:1: the config is empty", c->name);
	if (root->type != YAML_MAPPING_NODE)
		return fail(c, root, "the config must be a mapping (database:, "
			    "provider:, experiments:, ...), not %s",
			    kind(root));
	if (check_keys(c, root, "the config", keys) < 0 ||
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
	    parse_fallback(c, root) < 0 || parse_pool_alerts(c, root) < 0 ||
	    parse_experiments(c, root) < 0)
		return -1;
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
	set_defaults(cfg);
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
	rc = parse_root(&c);
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
		      sizeof *cfg->experiments, cmp_experiment);
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
		       sizeof key, cmp_experiment);
}

struct scen_template *scen_experiment_template(const struct scen_experiment *e,
					       const char *name)
{
	struct scen_template key = {.name = (char *)name};

	if (!name || !e->ntemplates)
		return NULL;
	return bsearch(&key, e->templates, e->ntemplates, sizeof key,
		       cmp_template);
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
