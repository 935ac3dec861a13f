/* fuzz_request.c — libFuzzer target for the request-line parser
 * (scen_request_parse): arbitrary bytes against a fixed config, with the
 * parser's contract checked on every answer, and its fast reader held to
 * jansson's answers on every line. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen/config.h"
#include "scen/request.h"
#include "scen/util.h"

/* Hard and soft factors, numeric and boolean-looking levels, a soft and a
 * hard position, a template with no factors, and two experiments (so that
 * 'experiment' is required). */
static const char config_yaml[] =
	"provider:\n"
	"  base_url: http://127.0.0.1:9/v1\n"
	"  model: llama-3.1-8b-instant\n"
	"  accounts:\n"
	"    - {name: a, api_key_env: SCEN_FUZZ_KEY, rpm: 30}\n"
	"experiments:\n"
	"  trust-2026:\n"
	"    system: \"You write short scenarios.\"\n"
	"    templates:\n"
	"      hiring:\n"
	"        prompt: \"A {age} {gender} candidate, {tone} tone, "
	"scene {position} {{of}} 10.\"\n"
	"        factors:\n"
	"          gender: {levels: [female, male]}\n"
	"          age: {levels: [younger, older]}\n"
	"          tone: {levels: [neutral, warm, cold], weight: 1}\n"
	"        position: {min: 1, max: 10, weight: 1}\n"
	"      loan:\n"
	"        prompt: \"A loan of {amount} (approved: {approved}) "
	"at {position}.\"\n"
	"        factors:\n"
	"          amount: {levels: [25, 2.5, 1000000, -3, 1e3], "
	"weight: 0.5}\n"
	"          approved: {levels: [true, false, \"yes\"]}\n"
	"        position: {min: -5, max: 5}\n"
	"  pilot:\n"
	"    templates:\n"
	"      intro:\n"
	"        prompt: \"Say hello.\"\n"
	"        factors: {}\n"
	"      hiring:\n"
	"        prompt: \"A {gender} candidate.\"\n"
	"        factors:\n"
	"          gender: {levels: [female, male, \"non-binary\"]}\n";

static struct scen_config *cfg;

/* What scen_request_parse may answer (request.h, SPEC §2). */
static const char *const codes[] = {
	"invalid_json", "invalid_request", "unknown_experiment",
	"unknown_template", "unknown_factor", "bad_level", "missing_field",
	"bad_position",
};

static void die(const char *what)
{
	fprintf(stderr, "fuzz_request: invariant broken: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	scen_set_progname("fuzz_request");
	cfg = scen_config_parse("fuzz.yaml", config_yaml,
				sizeof config_yaml - 1, 0);
	if (!cfg)
		die("the fixed config does not load");
	return 0;
}

static void check_ok(const struct scen_request *rq)
{
	const struct scen_template *t = rq->tpl;

	if (!rq->id)
		die("ok without an id");
	if (rq->op != SCEN_OP_GET) {
		if (rq->op != SCEN_OP_STATUS && rq->op != SCEN_OP_CANCEL)
			die("op out of range");
		if (!rq->job || !rq->session)
			die("status/cancel without job and session");
		return;
	}
	if (!rq->exp || !t)
		die("get without experiment or template");
	if (t->experiment != rq->exp)
		die("template of another experiment");
	if (rq->exp < cfg->experiments ||
	    rq->exp >= cfg->experiments + cfg->nexperiments)
		die("experiment outside the config");
	if (t < rq->exp->templates ||
	    t >= rq->exp->templates + rq->exp->ntemplates)
		die("template outside its experiment");
	if (t->nfactors > SCEN_MAX_FACTORS)
		die("more factors than a request holds");
	for (size_t i = 0; i < t->nfactors; i++)
		if (rq->levels[i] >= t->factors[i].nlevels)
			die("level index out of range");
	if (t->position.declared && (rq->position < t->position.min ||
				     rq->position > t->position.max))
		die("position out of range");
	if (!rq->bucket)
		die("bucket not computed");

	/* What the engine does next with a good request. */
	struct strbuf sb;
	int lv[SCEN_MAX_FACTORS];
	sb_init(&sb);
	scen_request_factors_json(rq, &sb);
	if (sb.len < 2 || sb.buf[0] != '{' || sb.buf[sb.len - 1] != '}')
		die("factors JSON is not an object");
	sb_release(&sb);
	for (size_t i = 0; i < t->nfactors; i++)
		lv[i] = rq->levels[i];
	char *p = scen_render(t->prompt, t, lv, rq->position);
	/* Every placeholder was declared, so none survives rendering. */
	if (strstr(p, "{gender}") || strstr(p, "{amount}") ||
	    strstr(p, "{position}"))
		die("a placeholder survived rendering");
	free(p);
}

static void check_err(const struct scen_request *rq,
		      const struct scen_req_error *err)
{
	size_t i, n = sizeof codes / sizeof codes[0];

	/* rq->id is NULL when the line's id could not be read */
	if (!err->code)
		die("error without a code");
	for (i = 0; i < n; i++)
		if (strcmp(err->code, codes[i]) == 0)
			break;
	if (i == n)
		die("undocumented error code");
	if (!memchr(err->message, 0, sizeof err->message))
		die("message not NUL-terminated");
	if (!err->message[0])
		die("empty message");
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void same(const struct scen_request *a, int rca,
		 const struct scen_req_error *ea, const struct scen_request *b,
		 int rcb, const struct scen_req_error *eb)
{
	if (rca != rcb)
		die("the fast reader and jansson disagree on ok");
	if (!same_str(a->id, b->id) || !same_str(a->session, b->session) ||
	    !same_str(a->job, b->job))
		die("the fast reader and jansson read other ids or sessions");
	if (rca) {
		if (strcmp(ea->code, eb->code) || strcmp(ea->message,
							 eb->message))
			die("the fast reader and jansson give other errors");
		return;
	}
	if (a->op != b->op || a->exp != b->exp || a->tpl != b->tpl ||
	    memcmp(a->levels, b->levels, sizeof a->levels) ||
	    a->position != b->position || memcmp(a->key, b->key, 16) ||
	    a->bucket != b->bucket)
		die("the fast reader and jansson read other requests");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scen_request rq, rq2;
	struct scen_req_error err, err2;
	int rc, rc2;

	if (size > SCEN_MAX_LINE)	/* serve answers line_too_long */
		return 0;
	/* A sentinel, so that an unterminated message shows. */
	memset(&err, 'x', sizeof err);
	err.code = NULL;
	rc = scen_request_parse(cfg, (const char *)data, size, 42, 0, &rq,
				&err);
	if (rc == 0)
		check_ok(&rq);
	else if (rc == -1)
		check_err(&rq, &err);
	else
		die("return value neither 0 nor -1");

	/* Requiring a session only ever turns an ok into missing_field. */
	memset(&err2, 'x', sizeof err2);
	err2.code = NULL;
	rc2 = scen_request_parse(cfg, (const char *)data, size, 42,
				 SCEN_REQ_NEED_SESSION, &rq2, &err2);
	if (rc2 == 0) {
		check_ok(&rq2);
		if (rc != 0)
			die("ok with a session required, bad without");
		if (rq2.op == SCEN_OP_GET &&
		    memcmp(rq.key, rq2.key, sizeof rq.key) != 0)
			die("the same line gave two keys");
	} else {
		check_err(&rq2, &err2);
		if (rc == 0 && (rq.session ||
				strcmp(err2.code, "missing_field") != 0))
			die("a session requirement changed another answer");
	}
	scen_request_release(&rq2);

	/* The fast reader and jansson give the same answer, field by field
	 * (request.c: the fast reader only ever declines). */
	memset(&err2, 'x', sizeof err2);
	err2.code = NULL;
	rc2 = scen_request_parse(cfg, (const char *)data, size, 42,
				 SCEN_REQ_NO_FAST, &rq2, &err2);
	same(&rq, rc, &err, &rq2, rc2, &err2);
	scen_request_release(&rq);
	scen_request_release(&rq2);
	return 0;
}
