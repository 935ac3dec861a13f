/* request.c — parses and checks one request line against the config, and
 * computes its canonical keys. A bad line is described, never fatal. */
#include "scen/request.h"

#include <jansson.h>
#include <math.h>
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

/* Canonical string of a scalar level value, or -1 when not a scalar. */
static int level_string(json_t *v, char *buf, size_t n)
{
	if (json_is_string(v)) {
		size_t len = json_string_length(v);
		if (len >= n)
			return -1;
		memcpy(buf, json_string_value(v), len + 1);
		return 0;
	}
	if (json_is_integer(v)) {
		snprintf(buf, n, "%lld", (long long)json_integer_value(v));
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d == floor(d) && fabs(d) < 1e15)
			snprintf(buf, n, "%lld", (long long)d);
		else
			snprintf(buf, n, "%.15g", d);
		return 0;
	}
	if (json_is_boolean(v)) {
		snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
		return 0;
	}
	return -1;
}

static char *id_string(json_t *v)
{
	if (json_is_string(v))
		return xstrndup(json_string_value(v), json_string_length(v));
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	return NULL;
}

static int check_factors(const struct scen_template *t, json_t *factors,
			 struct scen_request *rq, struct scen_req_error *err)
{
	const char *name;
	json_t *v;
	int seen[SCEN_MAX_FACTORS] = {0};
	char hint[96], lvl[256];

	if (factors && !json_is_object(factors))
		return fail(err, "invalid_request",
			    "'factors' must be an object");
	json_object_foreach(factors, name, v) {
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
				    json_is_string(v)
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

static int check_get(const struct scen_config *cfg, json_t *o,
		     struct scen_request *rq, struct scen_req_error *err)
{
	json_t *jexp = json_object_get(o, "experiment");
	json_t *jtpl = json_object_get(o, "template");
	json_t *jpos = json_object_get(o, "position");
	char hint[96];

	if (jexp && !json_is_string(jexp))
		return fail(err, "invalid_request",
			    "'experiment' must be a string");
	if (!jexp) {
		if (cfg->nexperiments != 1)
			return fail(err, "missing_field",
				    "'experiment' is required: the config "
				    "declares %zu experiments",
				    cfg->nexperiments);
		rq->exp = &cfg->experiments[0];
	} else {
		const char *name = json_string_value(jexp);
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
	if (!jtpl)
		return fail(err, "missing_field", "'template' is required");
	if (!json_is_string(jtpl))
		return fail(err, "invalid_request",
			    "'template' must be a string");
	rq->tpl = scen_experiment_template(rq->exp, json_string_value(jtpl));
	if (!rq->tpl) {
		suggest(hint, sizeof hint, json_string_value(jtpl),
			(const char *const *)&rq->exp->templates[0].name,
			rq->exp->ntemplates, sizeof(rq->exp->templates[0]));
		return fail(err, "unknown_template",
			    "template '%.64s' is not declared in experiment "
			    "'%s'%s", json_string_value(jtpl), rq->exp->name,
			    hint);
	}
	const struct scen_template *t = rq->tpl;
	json_t *jf = json_object_get(o, "factors");
	if (!jf && t->nfactors)
		return fail(err, "missing_field",
			    "'factors' is required by template '%s'", t->name);
	if (check_factors(t, jf, rq, err) < 0)
		return -1;
	if (t->position.declared) {
		if (!jpos)
			return fail(err, "missing_field",
				    "'position' is required by template '%s'",
				    t->name);
		if (!json_is_integer(jpos))
			return fail(err, "invalid_request",
				    "'position' must be an integer");
		json_int_t p = json_integer_value(jpos);
		if (p < t->position.min || p > t->position.max)
			return fail(err, "bad_position",
				    "position %lld is outside %ld..%ld of "
				    "template '%s'", (long long)p,
				    t->position.min, t->position.max, t->name);
		rq->position = (long)p;
	} else if (jpos && !json_is_null(jpos)) {
		return fail(err, "invalid_request",
			    "template '%s' declares no position", t->name);
	}
	scen_request_keys(rq);
	return 0;
}

static const char *const fields[] = {
	"id", "session", "experiment", "template", "factors", "position",
	"op", "job",
};

int scen_request_parse(const struct scen_config *cfg, const char *line,
		       size_t len, long lineno, int flags,
		       struct scen_request *rq, struct scen_req_error *err)
{
	json_error_t jerr;
	memset(rq, 0, sizeof *rq);
	rq->lineno = lineno;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	int rc = -1;

	if (!o) {
		rq->id = xasprintf("%ld", lineno);
		return fail(err, "invalid_json", "column %d: %s",
			    jerr.column, jerr.text);
	}
	if (!json_is_object(o)) {
		rq->id = xasprintf("%ld", lineno);
		fail(err, "invalid_json", "a request must be a JSON object");
		goto out;
	}
	json_t *jid = json_object_get(o, "id");
	rq->id = jid ? id_string(jid) : NULL;
	if (!rq->id) {
		rq->id = xasprintf("%ld", lineno);
		if (jid) {
			fail(err, "invalid_request",
			     "'id' must be a string or an integer");
			goto out;
		}
	}
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		size_t i, n = sizeof fields / sizeof fields[0];
		for (i = 0; i < n; i++)
			if (!strcmp(key, fields[i]))
				break;
		if (i == n) {
			char hint[96];
			suggest(hint, sizeof hint, key,
				(const char *const *)fields, n, sizeof(char *));
			fail(err, "invalid_request", "unknown field '%.64s'%s",
			     key, hint);
			goto out;
		}
	}
	json_t *js = json_object_get(o, "session");
	if (js && !json_is_string(js)) {
		fail(err, "invalid_request", "'session' must be a string");
		goto out;
	}
	if (js && json_string_length(js) == 0) {
		fail(err, "invalid_request", "'session' must not be empty");
		goto out;
	}
	if (js)
		rq->session = xstrndup(json_string_value(js),
				       json_string_length(js));
	json_t *jop = json_object_get(o, "op");
	if (jop && !json_is_string(jop)) {
		fail(err, "invalid_request", "'op' must be a string");
		goto out;
	}
	const char *op = jop ? json_string_value(jop) : "get";
	if (!strcmp(op, "get"))
		rq->op = SCEN_OP_GET;
	else if (!strcmp(op, "status"))
		rq->op = SCEN_OP_STATUS;
	else if (!strcmp(op, "cancel"))
		rq->op = SCEN_OP_CANCEL;
	else {
		fail(err, "invalid_request",
		     "op '%.32s' is not one of get, status, cancel", op);
		goto out;
	}
	if (rq->op != SCEN_OP_GET) {
		json_t *jj = json_object_get(o, "job");
		if (!jj || !rq->session) {
			fail(err, "missing_field", "op '%s' needs 'job' and "
			     "'session'", op);
			goto out;
		}
		if (!json_is_string(jj)) {
			fail(err, "invalid_request", "'job' must be a string");
			goto out;
		}
		rq->job = xstrdup(json_string_value(jj));
		rc = 0;
		goto out;
	}
	if ((flags & SCEN_REQ_NEED_SESSION) && !rq->session) {
		fail(err, "missing_field", "'session' is required");
		goto out;
	}
	rc = check_get(cfg, o, rq, err);
out:
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
