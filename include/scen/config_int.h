/* config_int.h — internal to the config loader (src/config.c,
 * config_yaml.c, template.c): the YAML layer that the scen.yaml(5) schema
 * and the templates are read through, and what the schema asks of templates.
 * Not part of the library's interface: its cfg_ names serve these files. */
#ifndef SCEN_CONFIG_INT_H
#define SCEN_CONFIG_INT_H

#include <math.h>
#include <stddef.h>
#include <yaml.h>

#include "scen/config.h"

/* ---- The YAML layer (config_yaml.c) ---- */

/*
 * One load: the document being read, where messages point, and the config
 * being filled. Zero it, set cfg, then cfg_open(); cfg_close() always,
 * whatever cfg_open() returned.
 */
struct cfg_ctx {
	const char *name;	/* the file, as messages name it */
	const char *text;	/* what is read, len bytes */
	size_t len;
	yaml_parser_t parser;
	yaml_document_t doc;
	int opened, loaded;	/* parser and doc hold something to free */
	struct scen_config *cfg;
	/* loaded for a command that only reads (no keys asked for): what
	 * only generation needs is warned about, not refused, so that a
	 * study's data stays readable */
	int reading;
	/* each account's api_key_env node: set by config.c, freed by
	 * cfg_close() */
	yaml_node_t **key_nodes;
	char **scratch;		/* strings built for messages */
	size_t nscratch, capscratch;
};

/* Reads the first YAML document of text (name is used in messages) and
 * refuses one that aliases make much larger than it is written. Returns 0,
 * or -1 after reporting "NAME:LINE:COLUMN: ...". */
int cfg_open(struct cfg_ctx *c, const char *name, const char *text,
	     size_t len);
/* After the first document was read: -1 after reporting when another
 * document follows (a config holds one), else 0. */
int cfg_end(struct cfg_ctx *c);
/* Releases the parser, the document and the strings of cfg_str(), not
 * c->cfg. */
void cfg_close(struct cfg_ctx *c);

/* A formatted string that lives until cfg_close(). */
const char *cfg_str(struct cfg_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Reports "FILE:LINE:COLUMN: message" at node n; returns -1. */
int cfg_fail(struct cfg_ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same as a warning (scen_warn), for what only generation refuses. */
void cfg_warn(struct cfg_ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Nodes. sval: the text of a scalar node. */
const char *cfg_sval(const yaml_node_t *n);
/* A plain null: "", "~", null, Null or NULL. */
int cfg_is_null(const yaml_node_t *n);
/* "a mapping", "a list", "nothing" or "a scalar", for messages. */
const char *cfg_kind(const yaml_node_t *n);
size_t cfg_map_len(const yaml_node_t *m);
yaml_node_t *cfg_key_of(struct cfg_ctx *c, const yaml_node_t *m, size_t i);
yaml_node_t *cfg_val_of(struct cfg_ctx *c, const yaml_node_t *m, size_t i);
size_t cfg_seq_len(const yaml_node_t *s);
yaml_node_t *cfg_seq_at(struct cfg_ctx *c, const yaml_node_t *s, size_t i);
/* The value of key in mapping m, or NULL when absent. */
yaml_node_t *cfg_get(struct cfg_ctx *c, const yaml_node_t *m,
		     const char *key);
/* The key node name of mapping m, else m itself (where to point). */
yaml_node_t *cfg_key_named(struct cfg_ctx *c, yaml_node_t *m,
			   const char *name);
/* The key of pair i of m (named where): a scalar not seen before in m;
 * NULL after reporting. */
yaml_node_t *cfg_key_at(struct cfg_ctx *c, yaml_node_t *m, size_t i,
			const char *where);
/* 0 when n is of type t (a mapping or a list), else -1 after reporting
 * "WHAT must be ...". */
int cfg_need(struct cfg_ctx *c, const yaml_node_t *n, yaml_node_type_t t,
	     const char *what);

/* Values. A number is a plain scalar (a quoted "25" is a string), finite;
 * 0, or -1 without reporting. */
int cfg_parse_num(const yaml_node_t *n, double *out);
/*
 * The string of key in mapping m (named where) into *out (malloc'd).
 * def == NULL: required and non-empty; def == "": optional and may be
 * empty; otherwise optional, non-empty, def when absent. 0, or -1 after
 * reporting.
 */
int cfg_get_str(struct cfg_ctx *c, yaml_node_t *m, const char *where,
		const char *key, char **out, const char *def);

/* Names. A letter, digit, '_' or '-': what a {placeholder} holds. */
int cfg_is_word(int ch);
/* ident: an identifier (a factor's name, so that "{name}" is
 * unambiguous); else a name that may also start with a digit and hold
 * dots (experiments, templates, accounts), never spaces. */
int cfg_valid_name(const char *s, int ident);
/* " (did you mean 'x'?)" when one of cands is close to s, else "". */
const char *cfg_hint(struct cfg_ctx *c, const char *s,
		     const char *const *cands, size_t n);
/* qsort/bsearch order of an array of strings, or of factors, templates or
 * experiments: each starts with its name, and a pointer to a struct
 * points to its first member (C17 6.7.2.1). */
int cfg_cmp_named(const void *a, const void *b);

/* ---- Field tables (config_yaml.c reads them) ---- */

enum cfg_ftype { F_OTHER, F_NUM, F_LONG, F_INT, F_BOOL };

/* A key of a mapping. Numbers and booleans are read into base + off by
 * cfg_read_map(), checked against [lo, hi] (lo excluded when open), and
 * default to def; F_OTHER keys are read by hand. A table ends with {0}. */
struct cfg_field {
	const char *key;
	enum cfg_ftype type;
	double def, lo, hi;
	int open;
	size_t off;
};

#define INF HUGE_VAL

/* Checks that m (named what) is a mapping of the keys of fields only (at
 * most 16), then reads its numbers and booleans into base (defaults
 * first). 0, or -1 after reporting. */
int cfg_read_map(struct cfg_ctx *c, yaml_node_t *m, const char *what,
		 const struct cfg_field *fields, void *base);
/* cfg_read_map() on the value of key in m, if present; else the defaults
 * and *out NULL. */
int cfg_section(struct cfg_ctx *c, yaml_node_t *m, const char *key,
		const char *what, const struct cfg_field *fields, void *base,
		yaml_node_t **out);

/* ---- Templates (template.c), for the schema of config.c ---- */

/* Reads template t (node v; t->name set) of the experiment being read:
 * prompt, factors, position, validate. 0, or -1 after reporting. */
int cfg_template_parse(struct cfg_ctx *c, yaml_node_t *v,
		       struct scen_template *t);
/* Checks the placeholders of text (node n, named what in messages)
 * against every template of ts: each names a declared factor or position
 * of each. 0, or -1 after reporting. */
int cfg_check_text(struct cfg_ctx *c, const yaml_node_t *n,
		   const char *text, const struct scen_template *ts,
		   size_t nts, const char *what);
/* Each factor and the position that t (node v) declares appears in its
 * prompt or in the system text of e. 0, or -1 after reporting. */
int cfg_check_used(struct cfg_ctx *c, yaml_node_t *v,
		   const struct scen_template *t,
		   const struct scen_experiment *e);
/* Sets t->version and t->version_hex (scen.yaml(5), Template versions). */
void cfg_template_version(const struct scen_config *cfg,
			  const struct scen_experiment *e,
			  struct scen_template *t);
/* Frees what t holds, not t. */
void cfg_template_release(struct scen_template *t);

#endif
