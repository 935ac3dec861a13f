/* request.c — parses and checks one request line against the config, and
 * computes its canonical keys. A bad line is described, never fatal. */
#include "scen/request.h"

#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

static int fail(struct scen_req_error *err, const char *code,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct scen_req_error *err, const char *code,
		const char *fmt, ...)
{
	va_list ap;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return -1;
}

/* Writes " (did you mean 'x'?)" when one name is close, else "". */
static void suggest(char *buf, size_t n, const char *name,
		    const char *const *names, size_t count, size_t stride)
{
	const char *best = NULL;
	size_t bestd = 3;
	for (size_t i = 0; i < count; i++) {
		const char *c = *(const char *const *)((const char *)names +
						       i * stride);
		size_t d = scen_edit_distance(name, c);
		if (d < bestd) {
			bestd = d;
			best = c;
		}
	}
	if (best)
		snprintf(buf, n, " (did you mean '%s'?)", best);
	else
		buf[0] = 0;
}

/*
 * A request line is read into fields (struct line) by one of two readers:
 * fast_read, for the plain lines a study's backend sends (printable ASCII
 * strings without escapes, integers, the factors object), and jansson for
 * everything else; fast_read gives up (-1) on anything outside its subset,
 * including every syntax error, so what a line means and every error
 * message come from the same checks below whichever reader read it. The
 * fuzz target fuzz_request holds the two readers to the same answers.
 */
enum vtype { V_NONE, V_STR, V_INT, V_REAL, V_BOOL, V_NULL, V_OBJ, V_ARR };

struct val {
	enum vtype t;
	const char *s;		/* V_STR: NUL-terminated, n bytes */
	size_t n;
	long long i;		/* V_INT, V_BOOL */
	double d;		/* V_REAL */
};

struct factor_val {
	const char *name;
	struct val v;
};

struct line {
	struct val id, session, experiment, template, factors, position, op,
		job;
	const char *unknown;	/* the first field not of the protocol */
	size_t nf;
	/* the factors in line order (f[0..nf) only is ever set or read:
	 * clear_line leaves the rest); more than SCEN_MAX_FACTORS can only
	 * mean an unknown one among the first SCEN_MAX_FACTORS + 1 */
	struct factor_val f[SCEN_MAX_FACTORS + 1];
};

/* Everything but f, which is set as it is read. */
static void clear_line(struct line *l)
{
	memset(l, 0, offsetof(struct line, f));
}

static const char *const fields[] = {
	"id", "session", "experiment", "template", "factors", "position",
	"op", "job",
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static struct val *field_of(struct line *l, size_t i)
{
	struct val *v[NFIELDS] = {
		&l->id, &l->session, &l->experiment, &l->template,
		&l->factors, &l->position, &l->op, &l->job,
	};
	return v[i];
}

static size_t field_index(const char *name, size_t n)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (strlen(fields[i]) == n && !memcmp(name, fields[i], n))
			return i;
	return NFIELDS;
}

/* ---- fast_read: the plain subset, in place in a scratch copy */

struct cursor {
	char *p, *end;
};

/* The loops below keep the cursor in locals: a char read may alias
 * c->p, which would otherwise be stored and read again at every byte. */
static void skip_ws(struct cursor *c)
{
	char *p = c->p;
	while (p < c->end && (*p == ' ' || *p == '\t' || *p == '\n' ||
			      *p == '\r'))
		p++;
	c->p = p;
}

/* A string of printable ASCII without escapes; NUL-terminated in place. */
static int fast_string(struct cursor *c, const char **s, size_t *n)
{
	char *p = c->p, *end = c->end;
	if (p >= end || *p != '"')
		return -1;
	char *b = ++p;
	while (p < end && *p != '"') {
		unsigned char ch = (unsigned char)*p;
		if (ch < 0x20 || ch > 0x7e || ch == '\\')
			return -1;
		p++;
	}
	if (p >= end)
		return -1;
	*p = 0;
	c->p = p + 1;
	*s = b;
	*n = (size_t)(p - b);
	return 0;
}

/* A value: a plain string or an integer of at most 18 digits. */
static int fast_scalar(struct cursor *c, struct val *v)
{
	if (c->p < c->end && *c->p == '"') {
		v->t = V_STR;
		return fast_string(c, &v->s, &v->n);
	}
	int neg = c->p < c->end && *c->p == '-';
	if (neg)
		c->p++;
	char *b = c->p;
	long long x = 0;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		if (c->p - b == 18)
			return -1;	/* long: jansson's */
		x = x * 10 + (*c->p++ - '0');
	}
	size_t digits = (size_t)(c->p - b);
	if (!digits || (*b == '0' && digits > 1))
		return -1;
	/* a fraction or an exponent is jansson's to read */
	if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E'))
		return -1;
	v->t = V_INT;
	v->i = neg ? -x : x;
	return 0;
}

static int fast_factors(struct cursor *c, struct line *l)
{
	c->p++;		/* '{' */
	skip_ws(c);
	if (c->p < c->end && *c->p == '}') {
		c->p++;
		return 0;
	}
	for (;;) {
		if (l->nf == 16)	/* many: jansson's */
			return -1;
		struct factor_val *f = &l->f[l->nf];
		size_t n;
		skip_ws(c);
		if (fast_string(c, &f->name, &n) < 0)
			return -1;
		for (size_t i = 0; i < l->nf; i++)
			if (!strcmp(l->f[i].name, f->name))
				return -1;	/* a duplicate: an error */
		skip_ws(c);
		if (c->p >= c->end || *c->p++ != ':')
			return -1;
		skip_ws(c);
		if (fast_scalar(c, &f->v) < 0)
			return -1;
		l->nf++;
		skip_ws(c);
		if (c->p >= c->end)
			return -1;
		if (*c->p == '}') {
			c->p++;
			return 0;
		}
		if (*c->p++ != ',')
			return -1;
	}
}

static int fast_read(char *buf, size_t len, struct line *l)
{
	struct cursor c = {buf, buf + len};
	unsigned seen = 0;
	skip_ws(&c);
	if (c.p >= c.end || *c.p++ != '{')
		return -1;
	skip_ws(&c);
	if (c.p < c.end && *c.p == '}') {
		c.p++;
		goto end;
	}
	for (;;) {
		const char *name;
		size_t n;
		skip_ws(&c);
		if (fast_string(&c, &name, &n) < 0)
			return -1;
		size_t i = field_index(name, n);
		if (i == NFIELDS || (seen & (1u << i)))
			return -1;	/* unknown or repeated: jansson's */
		seen |= 1u << i;
		skip_ws(&c);
		if (c.p >= c.end || *c.p++ != ':')
			return -1;
		skip_ws(&c);
		struct val *v = field_of(l, i);
		if (c.p < c.end && *c.p == '{') {
			if (v != &l->factors || fast_factors(&c, l) < 0)
				return -1;
			v->t = V_OBJ;
		} else if (fast_scalar(&c, v) < 0) {
			return -1;
		}
		skip_ws(&c);
		if (c.p >= c.end)
			return -1;
		if (*c.p == '}') {
			c.p++;
			break;
		}
		if (*c.p++ != ',')
			return -1;
	}
end:
	skip_ws(&c);
	return c.p == c.end ? 0 : -1;
}

/* ---- the jansson reader: any valid JSON */

static void from_json(json_t *j, struct val *v)
{
	switch (json_typeof(j)) {
	case JSON_STRING:
		v->t = V_STR;
		v->s = json_string_value(j);
		v->n = json_string_length(j);
		break;
	case JSON_INTEGER:
		v->t = V_INT;
		v->i = json_integer_value(j);
		break;
	case JSON_REAL:
		v->t = V_REAL;
		v->d = json_real_value(j);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		v->t = V_BOOL;
		v->i = json_is_true(j);
		break;
	case JSON_NULL:
		v->t = V_NULL;
		break;
	case JSON_OBJECT:
		v->t = V_OBJ;
		break;
	case JSON_ARRAY:
		v->t = V_ARR;
		break;
	}
}

static void json_read(json_t *o, struct line *l)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		size_t i = field_index(key, strlen(key));
		if (i == NFIELDS) {
			if (!l->unknown)
				l->unknown = key;
			continue;
		}
		from_json(v, field_of(l, i));
	}
	json_t *jf = json_object_get(o, "factors");
	if (!json_is_object(jf))
		return;
	json_object_foreach(jf, key, v) {
		if (l->nf == SCEN_MAX_FACTORS + 1)
			break;
		l->f[l->nf].name = key;
		from_json(v, &l->f[l->nf].v);
		l->nf++;
	}
}

/* ---- the checks */

/* Canonical string of a scalar level value, or -1 when not a scalar. */
static int level_string(const struct val *v, char *buf, size_t n)
{
	switch (v->t) {
	case V_STR:
		if (v->n >= n)
			return -1;
		memcpy(buf, v->s, v->n + 1);
		return 0;
	case V_INT:
		snprintf(buf, n, "%lld", v->i);
		return 0;
	case V_REAL:
		if (v->d == floor(v->d) && fabs(v->d) < 1e15)
			snprintf(buf, n, "%lld", (long long)v->d);
		else
			snprintf(buf, n, "%.15g", v->d);
		return 0;
	case V_BOOL:
		snprintf(buf, n, "%s", v->i ? "true" : "false");
		return 0;
	default:
		return -1;
	}
}

static char *id_string(const struct val *v)
{
	if (v->t == V_STR)
		return xstrndup(v->s, v->n);
	if (v->t == V_INT)
		return xasprintf("%lld", v->i);
	return NULL;
}

static int check_factors(const struct scen_template *t, const struct line *l,
			 struct scen_request *rq, struct scen_req_error *err)
{
	int seen[SCEN_MAX_FACTORS] = {0};
	char hint[96], lvl[256];

	if (l->factors.t != V_NONE && l->factors.t != V_OBJ)
		return fail(err, "invalid_request",
			    "'factors' must be an object");
	for (size_t k = 0; k < l->nf; k++) {
		const char *name = l->f[k].name;
		const struct val *v = &l->f[k].v;
		int fi = scen_template_factor(t, name);
		if (fi < 0) {
			suggest(hint, sizeof hint, name,
				(const char *const *)&t->factors[0].name,
				t->nfactors, sizeof(t->factors[0]));
			return fail(err, "unknown_factor",
				    "factor '%.64s' is not declared in template "
				    "'%s'%s", name, t->name, hint);
		}
		const struct scen_factor *f = &t->factors[fi];
		if (level_string(v, lvl, sizeof lvl) < 0)
			return fail(err, "bad_level",
				    v->t == V_STR
				    ? "the value of factor '%s' is longer than "
				      "any level"
				    : "factor '%s' must be a string, number or "
				      "boolean", f->name);
		int li = scen_factor_level(f, lvl);
		if (li < 0) {
			suggest(hint, sizeof hint, lvl,
				(const char *const *)f->levels, f->nlevels,
				sizeof(char *));
			return fail(err, "bad_level",
				    "'%.64s' is not a level of factor '%s'%s",
				    lvl, f->name, hint);
		}
		seen[fi] = 1;
		rq->levels[fi] = (uint16_t)li;
	}
	for (size_t i = 0; i < t->nfactors; i++)
		if (!seen[i])
			return fail(err, "missing_field",
				    "factor '%s' of template '%s' is missing",
				    t->factors[i].name, t->name);
	return 0;
}

static int check_get(const struct scen_config *cfg, const struct line *l,
		     struct scen_request *rq, struct scen_req_error *err)
{
	char hint[96];

	if (l->experiment.t != V_NONE && l->experiment.t != V_STR)
		return fail(err, "invalid_request",
			    "'experiment' must be a string");
	if (l->experiment.t == V_NONE) {
		if (cfg->nexperiments != 1)
			return fail(err, "missing_field",
				    "'experiment' is required: the config "
				    "declares %zu experiments",
				    cfg->nexperiments);
		rq->exp = &cfg->experiments[0];
	} else {
		const char *name = l->experiment.s;
		rq->exp = scen_config_experiment(cfg, name);
		if (!rq->exp) {
			suggest(hint, sizeof hint, name,
				(const char *const *)&cfg->experiments[0].name,
				cfg->nexperiments,
				sizeof(cfg->experiments[0]));
			return fail(err, "unknown_experiment",
				    "experiment '%.64s' is not declared%s",
				    name, hint);
		}
	}
	if (l->template.t == V_NONE)
		return fail(err, "missing_field", "'template' is required");
	if (l->template.t != V_STR)
		return fail(err, "invalid_request",
			    "'template' must be a string");
	rq->tpl = scen_experiment_template(rq->exp, l->template.s);
	if (!rq->tpl) {
		suggest(hint, sizeof hint, l->template.s,
			(const char *const *)&rq->exp->templates[0].name,
			rq->exp->ntemplates, sizeof(rq->exp->templates[0]));
		return fail(err, "unknown_template",
			    "template '%.64s' is not declared in experiment "
			    "'%s'%s", l->template.s, rq->exp->name, hint);
	}
	const struct scen_template *t = rq->tpl;
	if (l->factors.t == V_NONE && t->nfactors)
		return fail(err, "missing_field",
			    "'factors' is required by template '%s'", t->name);
	if (check_factors(t, l, rq, err) < 0)
		return -1;
	const struct val *pos = &l->position;
	if (t->position.declared) {
		if (pos->t == V_NONE)
			return fail(err, "missing_field",
				    "'position' is required by template '%s'",
				    t->name);
		if (pos->t != V_INT)
			return fail(err, "invalid_request",
				    "'position' must be an integer");
		if (pos->i < t->position.min || pos->i > t->position.max)
			return fail(err, "bad_position",
				    "position %lld is outside %ld..%ld of "
				    "template '%s'", pos->i,
				    t->position.min, t->position.max, t->name);
		rq->position = (long)pos->i;
	} else if (pos->t != V_NONE && pos->t != V_NULL) {
		return fail(err, "invalid_request",
			    "template '%s' declares no position", t->name);
	}
	scen_request_keys(rq);
	return 0;
}

static int check_fields(const struct scen_config *cfg, const struct line *l,
			int flags, struct scen_request *rq,
			struct scen_req_error *err)
{
	rq->id = l->id.t != V_NONE ? id_string(&l->id) : NULL;
	if (!rq->id && l->id.t != V_NONE)
		return fail(err, "invalid_request",
			    "'id' must be a string or an integer");
	if (l->unknown) {
		char hint[96];
		suggest(hint, sizeof hint, l->unknown,
			(const char *const *)fields, NFIELDS, sizeof(char *));
		return fail(err, "invalid_request", "unknown field '%.64s'%s",
			    l->unknown, hint);
	}
	const struct val *js = &l->session;
	if (js->t != V_NONE && js->t != V_STR)
		return fail(err, "invalid_request",
			    "'session' must be a string");
	if (js->t == V_STR && js->n == 0)
		return fail(err, "invalid_request",
			    "'session' must not be empty");
	if (js->t == V_STR)
		rq->session = xstrndup(js->s, js->n);
	if (l->op.t != V_NONE && l->op.t != V_STR)
		return fail(err, "invalid_request", "'op' must be a string");
	const char *op = l->op.t == V_STR ? l->op.s : "get";
	if (!strcmp(op, "get"))
		rq->op = SCEN_OP_GET;
	else if (!strcmp(op, "status"))
		rq->op = SCEN_OP_STATUS;
	else if (!strcmp(op, "cancel"))
		rq->op = SCEN_OP_CANCEL;
	else
		return fail(err, "invalid_request",
			    "op '%.32s' is not one of get, status, cancel",
			    op);
	if (rq->op != SCEN_OP_GET) {
		if (l->job.t == V_NONE || !rq->session)
			return fail(err, "missing_field", "op '%s' needs 'job' "
				    "and 'session'", op);
		if (l->job.t != V_STR)
			return fail(err, "invalid_request",
				    "'job' must be a string");
		rq->job = xstrdup(l->job.s);
		return 0;
	}
	if ((flags & SCEN_REQ_NEED_SESSION) && !rq->session)
		return fail(err, "missing_field", "'session' is required");
	return check_get(cfg, l, rq, err);
}

/* A request without an id is known by its line number; a bad line whose
 * id could not be read keeps none (it is answered with id null). */
static int check_line(const struct scen_config *cfg, const struct line *l,
		      int flags, struct scen_request *rq,
		      struct scen_req_error *err)
{
	int rc = check_fields(cfg, l, flags, rq, err);
	if (!rc && !rq->id)
		rq->id = xasprintf("%ld", rq->lineno);
	return rc;
}

int scen_request_parse(const struct scen_config *cfg, const char *line,
		       size_t len, long lineno, int flags,
		       struct scen_request *rq, struct scen_req_error *err)
{
	/* one scratch copy, reused: requests are read one at a time */
	static char *scratch;
	static size_t cap;
	struct line l;
	memset(rq, 0, sizeof *rq);
	clear_line(&l);
	rq->lineno = lineno;
	if (!(flags & SCEN_REQ_NO_FAST) && len < 4096) {
		if (cap < len + 1) {
			cap = 4096;
			scratch = xrealloc(scratch, cap);
		}
		memcpy(scratch, line, len);
		if (fast_read(scratch, len, &l) == 0)
			return check_line(cfg, &l, flags, rq, err);
		clear_line(&l);
	}
	json_error_t jerr;
	/* never JSON_ALLOW_NUL: a \u0000 is refused, so that no field (a C
	 * string) is cut short or stored with a NUL */
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return fail(err, "invalid_json", "column %d: %s",
			    jerr.column, jerr.text);
	int rc;
	if (!json_is_object(o)) {
		rc = fail(err, "invalid_json",
			  "a request must be a JSON object");
	} else {
		json_read(o, &l);
		rc = check_line(cfg, &l, flags, rq, err);
	}
	json_decref(o);
	return rc;
}

void scen_request_release(struct scen_request *rq)
{
	free(rq->id);
	free(rq->session);
	free(rq->job);
	rq->id = rq->session = rq->job = NULL;
}

/* Appends a length-prefixed field, so no two inputs collide by
 * concatenation. */
static void add_field(struct strbuf *sb, const void *p, size_t n)
{
	uint32_t len = (uint32_t)n;
	sb_add(sb, &len, sizeof len);
	sb_add(sb, p, n);
}

void scen_request_keys(struct scen_request *rq)
{
	const struct scen_template *t = rq->tpl;
	/* one buffer per thread would do; requests are handled one at a
	 * time, so a static pair is reused */
	static struct strbuf all, hard;
	if (!all.buf) {
		sb_init(&all);
		sb_init(&hard);
	}
	sb_reset(&all);
	add_field(&all, rq->exp->name, strlen(rq->exp->name));
	add_field(&all, t->name, strlen(t->name));
	add_field(&all, t->version, 16);
	sb_reset(&hard);
	sb_add(&hard, all.buf, all.len);
	for (size_t i = 0; i < t->nfactors; i++) {
		const struct scen_factor *f = &t->factors[i];
		const char *lv = f->levels[rq->levels[i]];
		add_field(&all, f->name, strlen(f->name));
		add_field(&all, lv, strlen(lv));
		if (!f->soft) {
			add_field(&hard, f->name, strlen(f->name));
			add_field(&hard, lv, strlen(lv));
		}
	}
	if (t->position.declared) {
		int64_t p = rq->position;
		add_field(&all, &p, sizeof p);
		if (!t->position.soft)
			add_field(&hard, &p, sizeof p);
	}
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, XXH3_128bits(all.buf, all.len));
	memcpy(rq->key, c.digest, 16);
	uint64_t h = XXH3_64bits(hard.buf, hard.len);
	rq->bucket = h ? h : 1;
}

void scen_request_factors_json(const struct scen_request *rq,
			       struct strbuf *sb)
{
	const struct scen_template *t = rq->tpl;
	sb_addc(sb, '{');
	for (size_t i = 0; i < t->nfactors; i++) {
		const char *lv = t->factors[i].levels[rq->levels[i]];
		if (i)
			sb_addc(sb, ',');
		sb_add_json_str(sb, t->factors[i].name,
				strlen(t->factors[i].name));
		sb_addc(sb, ':');
		sb_add_json_str(sb, lv, strlen(lv));
	}
	sb_addc(sb, '}');
}
