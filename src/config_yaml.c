/* config_yaml.c — the YAML document layer of the config loader: reads a
 * document with libyaml into nodes, names, numbers and field tables, and
 * points at FILE:LINE:COLUMN for whatever it refuses (config_int.h). */
#include "scen/config_int.h"
#include "scen/util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* What a config may grow to once YAML aliases are expanded (or 4 times
 * its size, when larger): bounds the work and memory of a load. */
#define CONFIG_MAX_EXPANDED (64 * 1024)

/* ---- Diagnostics ---- */

const char *cfg_str(struct cfg_ctx *c, const char *fmt, ...)
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

static int say(struct cfg_ctx *c, int warn, const yaml_node_t *n,
	       const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (warn) {
		scen_warn("%s:%zu:%zu: %s", c->name, n->start_mark.line + 1,
			  n->start_mark.column + 1, msg);
		return 0;
	}
	return scen_error("%s:%zu:%zu: %s", c->name, n->start_mark.line + 1,
			  n->start_mark.column + 1, msg);
}

int cfg_fail(struct cfg_ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = say(c, 0, n, fmt, ap);
	va_end(ap);
	return rc;
}

void cfg_warn(struct cfg_ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say(c, 1, n, fmt, ap);
	va_end(ap);
}

/* ---- Nodes ---- */

static yaml_node_t *nd(struct cfg_ctx *c, int id)
{
	return yaml_document_get_node(&c->doc, id);
}

const char *cfg_sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static int is_plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	       n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

int cfg_is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

	for (size_t i = 0; is_plain(n) && i < 5; i++)
		if (strcmp(cfg_sval(n), nulls[i]) == 0)
			return 1;
	return 0;
}

const char *cfg_kind(const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	return cfg_is_null(n) ? "nothing" : "a scalar";
}

size_t cfg_map_len(const yaml_node_t *m)
{
	return (size_t)(m->data.mapping.pairs.top -
			m->data.mapping.pairs.start);
}

yaml_node_t *cfg_key_of(struct cfg_ctx *c, const yaml_node_t *m, size_t i)
{
	return nd(c, m->data.mapping.pairs.start[i].key);
}

yaml_node_t *cfg_val_of(struct cfg_ctx *c, const yaml_node_t *m, size_t i)
{
	return nd(c, m->data.mapping.pairs.start[i].value);
}

size_t cfg_seq_len(const yaml_node_t *s)
{
	return (size_t)(s->data.sequence.items.top -
			s->data.sequence.items.start);
}

yaml_node_t *cfg_seq_at(struct cfg_ctx *c, const yaml_node_t *s, size_t i)
{
	return nd(c, s->data.sequence.items.start[i]);
}

/* The index of the pair of m whose key is name, or -1. */
static long pair_named(struct cfg_ctx *c, const yaml_node_t *m,
		       const char *name)
{
	for (size_t i = 0; i < cfg_map_len(m); i++) {
		yaml_node_t *k = cfg_key_of(c, m, i);

		if (k->type == YAML_SCALAR_NODE &&
		    strcmp(cfg_sval(k), name) == 0)
			return (long)i;
	}
	return -1;
}

yaml_node_t *cfg_get(struct cfg_ctx *c, const yaml_node_t *m,
		     const char *key)
{
	long i = pair_named(c, m, key);

	return i < 0 ? NULL : cfg_val_of(c, m, (size_t)i);
}

yaml_node_t *cfg_key_named(struct cfg_ctx *c, yaml_node_t *m,
			   const char *name)
{
	long i = m && m->type == YAML_MAPPING_NODE ? pair_named(c, m, name) :
		 -1;

	return i < 0 ? m : cfg_key_of(c, m, (size_t)i);
}

yaml_node_t *cfg_key_at(struct cfg_ctx *c, yaml_node_t *m, size_t i,
			const char *where)
{
	yaml_node_t *k = cfg_key_of(c, m, i);

	if (k->type != YAML_SCALAR_NODE || cfg_is_null(k)) {
		cfg_fail(c, k, "a key in %s must be a name, not %s", where,
			 cfg_kind(k));
		return NULL;
	}
	for (size_t j = 0; j < i; j++) {
		yaml_node_t *o = cfg_key_of(c, m, j);

		if (o->type == YAML_SCALAR_NODE &&
		    strcmp(cfg_sval(o), cfg_sval(k)) == 0) {
			cfg_fail(c, k, "duplicate key '%s' in %s", cfg_sval(k),
				 where);
			return NULL;
		}
	}
	return k;
}

int cfg_need(struct cfg_ctx *c, const yaml_node_t *n, yaml_node_type_t t,
	     const char *what)
{
	if (n->type == t)
		return 0;
	return cfg_fail(c, n, "%s must be %s, not %s", what,
			t == YAML_MAPPING_NODE ? "a mapping" : "a list",
			cfg_kind(n));
}

/* ---- Names ---- */

int cfg_is_word(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

/* No name holds spaces or anything a shell or CSV trips on. */
int cfg_valid_name(const char *s, int ident)
{
	if (!*s || (ident && (*s == '-' || (*s >= '0' && *s <= '9'))))
		return 0;
	for (; *s; s++)
		if (!cfg_is_word((unsigned char)*s) && (ident || *s != '.'))
			return 0;
	return 1;
}

/* Close: within a third of the longer name's length in edits. */
const char *cfg_hint(struct cfg_ctx *c, const char *s,
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
	return best ? cfg_str(c, " (did you mean '%s'?)", best) : "";
}

int cfg_cmp_named(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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

int cfg_parse_num(const yaml_node_t *n, double *out)
{
	int integral;

	if (!is_plain(n) || !is_decimal(cfg_sval(n), &integral))
		return -1;
	*out = strtod(cfg_sval(n), NULL);
	return isfinite(*out) ? 0 : -1;
}

static int parse_long(const yaml_node_t *n, long *out)
{
	int integral;

	if (!is_plain(n) || !is_decimal(cfg_sval(n), &integral) || !integral)
		return -1;
	errno = 0;
	*out = strtol(cfg_sval(n), NULL, 10);
	return errno ? -1 : 0;
}

static int parse_bool(const yaml_node_t *n, long *out)
{
	static const char *const words[] = {
		"false", "true", "no", "yes", "off", "on",
		"False", "True", "No", "Yes", "Off", "On",
	};

	for (size_t i = 0; is_plain(n) && i < 12; i++)
		if (strcmp(cfg_sval(n), words[i]) == 0) {
			*out = (long)(i % 2);
			return 0;
		}
	return -1;
}

int cfg_get_str(struct cfg_ctx *c, yaml_node_t *m, const char *where,
		const char *key, char **out, const char *def)
{
	yaml_node_t *v = cfg_get(c, m, key);

	if (!v && !def)
		return cfg_fail(c, m, "missing '%s' in %s", key, where);
	if (!v) {
		*out = xstrdup(def);
		return 0;
	}
	if (v->type != YAML_SCALAR_NODE || (cfg_is_null(v) && (!def || *def)))
		return cfg_fail(c, v, "'%s' in %s must be a string, not %s",
				key, where, cfg_kind(v));
	if (!*cfg_sval(v) && (!def || *def))
		return cfg_fail(c, v, "'%s' in %s must not be empty", key,
				where);
	*out = xstrdup(cfg_sval(v));
	return 0;
}

/* ---- Field tables ---- */

/* What a field accepts, for messages. */
static const char *describe(struct cfg_ctx *c, const struct cfg_field *f)
{
	const char *what = f->type == F_NUM ? "a number" : "an integer";

	if (f->type == F_BOOL)
		return "true or false";
	if (isinf(f->lo))
		return what;
	if (isinf(f->hi))
		return cfg_str(c, "%s %s %g", what, f->open ? ">" : ">=",
			       f->lo);
	return cfg_str(c, "%s in %c%g, %g]", what, f->open ? '(' : '[', f->lo,
		       f->hi);
}

static void set_defaults(void *base, const struct cfg_field *fields)
{
	for (const struct cfg_field *f = fields; f->key; f++) {
		char *p = (char *)base + f->off;

		if (f->type == F_NUM)
			*(double *)p = f->def;
		else if (f->type == F_LONG)
			*(long *)p = (long)f->def;
		else if (f->type != F_OTHER)
			*(int *)p = (int)f->def;
	}
}

static int read_field(struct cfg_ctx *c, const yaml_node_t *v,
		      const char *where, const struct cfg_field *f, void *base)
{
	char *p = (char *)base + f->off;
	double d = 0;
	long l = 0;
	int rc;

	if (f->type == F_NUM)
		rc = cfg_parse_num(v, &d);
	else if (f->type == F_BOOL)
		rc = parse_bool(v, &l);
	else
		rc = parse_long(v, &l);
	if (f->type != F_NUM)
		d = (double)l;
	if (rc < 0 || d < f->lo || d > f->hi || (f->open && d == f->lo))
		return cfg_fail(c, v, "'%s' in %s must be %s", f->key, where,
				describe(c, f));
	if (f->type == F_NUM)
		*(double *)p = d;
	else if (f->type == F_LONG)
		*(long *)p = l;
	else
		*(int *)p = (int)l;
	return 0;
}

int cfg_read_map(struct cfg_ctx *c, yaml_node_t *m, const char *what,
		 const struct cfg_field *fields, void *base)
{
	const char *names[16];
	size_t n = 0;

	set_defaults(base, fields);
	if (cfg_need(c, m, YAML_MAPPING_NODE, what) < 0)
		return -1;
	for (const struct cfg_field *f = fields; f->key && n < 16; f++)
		names[n++] = f->key;
	for (size_t i = 0; i < cfg_map_len(m); i++) {
		yaml_node_t *k = cfg_key_at(c, m, i, what);
		size_t j = 0;

		if (!k)
			return -1;
		while (j < n && strcmp(cfg_sval(k), names[j]) != 0)
			j++;
		if (j == n)
			return cfg_fail(c, k, "unknown key '%s' in %s%s",
					cfg_sval(k), what,
					cfg_hint(c, cfg_sval(k), names, n));
		if (fields[j].type != F_OTHER &&
		    read_field(c, cfg_val_of(c, m, i), what, &fields[j],
			       base) < 0)
			return -1;
	}
	return 0;
}

int cfg_section(struct cfg_ctx *c, yaml_node_t *m, const char *key,
		const char *what, const struct cfg_field *fields, void *base,
		yaml_node_t **out)
{
	*out = cfg_get(c, m, key);
	if (!*out) {
		set_defaults(base, fields);
		return 0;
	}
	return cfg_read_map(c, *out, what, fields, base);
}

/* ---- Documents ---- */

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
static int check_expansion(struct cfg_ctx *c, size_t len)
{
	yaml_document_t *doc = &c->doc;
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

/* Reports the parser's error; a reader error (bad UTF-8) has only a byte
 * offset, from which the line and column are counted. */
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

int cfg_open(struct cfg_ctx *c, const char *name, const char *text,
	     size_t len)
{
	c->name = name;
	c->text = text;
	c->len = len;
	if (!yaml_parser_initialize(&c->parser))
		return scen_error("%s: cannot initialize the YAML parser",
				  name);
	c->opened = 1;
	yaml_parser_set_input_string(&c->parser, (const unsigned char *)text,
				     len);
	if (!yaml_parser_load(&c->parser, &c->doc)) {
		syntax_error(name, &c->parser, text, len);
		return -1;
	}
	c->loaded = 1;
	return check_expansion(c, len);
}

int cfg_end(struct cfg_ctx *c)
{
	yaml_document_t more;
	yaml_node_t *r;
	int rc = 0;

	if (!yaml_parser_load(&c->parser, &more)) {
		syntax_error(c->name, &c->parser, c->text, c->len);
		return -1;
	}
	r = yaml_document_get_root_node(&more);
	if (r)
		rc = cfg_fail(c, r, "a config holds one YAML document, not "
			      "several");
	yaml_document_delete(&more);
	return rc;
}

void cfg_close(struct cfg_ctx *c)
{
	free(c->key_nodes);
	for (size_t i = 0; i < c->nscratch; i++)
		free(c->scratch[i]);
	free(c->scratch);
	if (c->loaded)
		yaml_document_delete(&c->doc);
	if (c->opened)
		yaml_parser_delete(&c->parser);
}
