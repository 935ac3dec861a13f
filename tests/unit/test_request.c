/* test_request.c — unit tests of request lines (src/request.c, SPEC §2):
 * every error code, the id echo, and the canonical key and bucket that
 * decide which stored scenarios a request may be served. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scen/config.h"
#include "scen/request.h"
#include "scen/util.h"

#define MINI_PROVIDER \
	"provider:\n" \
	"  base_url: http://127.0.0.1:9/v1\n" \
	"  model: m\n" \
	"  accounts: [{name: a, api_key_env: SCEN_TEST_KEY_A}]\n"

/* Two experiments; "hiring" has hard gender and age, a soft tone and a
 * soft position; "hardpos" has a hard position; "plain" no factors. */
#define TWO_EXPERIMENTS \
	MINI_PROVIDER \
	"experiments:\n" \
	"  trust-2026:\n" \
	"    system: \"You write scenarios.\"\n" \
	"    templates:\n" \
	"      hiring:\n" \
	"        prompt: \"A {age} {gender} candidate, {tone}, scene " \
	"{position}.\"\n" \
	"        factors:\n" \
	"          gender: {levels: [female, male]}\n" \
	"          age: {levels: [25, 40, older, true]}\n" \
	"          tone: {levels: [neutral, warm, cold], weight: 1}\n" \
	"        position: {min: 1, max: 10, weight: 1}\n" \
	"      hardpos:\n" \
	"        prompt: \"Scene {position} for {gender}.\"\n" \
	"        factors:\n" \
	"          gender: {levels: [female, male]}\n" \
	"        position: {min: 1, max: 3}\n" \
	"      plain:\n" \
	"        prompt: \"Just a scenario.\"\n" \
	"        factors: {}\n" \
	"  other:\n" \
	"    system: \"You write scenarios.\"\n" \
	"    templates:\n" \
	"      hiring:\n" \
	"        prompt: \"A {age} {gender} candidate, {tone}, scene " \
	"{position}.\"\n" \
	"        factors:\n" \
	"          gender: {levels: [female, male]}\n" \
	"          age: {levels: [25, 40, older, true]}\n" \
	"          tone: {levels: [neutral, warm, cold], weight: 1}\n" \
	"        position: {min: 1, max: 10, weight: 1}\n"

static struct scen_config *cfg2;	/* TWO_EXPERIMENTS */
static struct scen_config *cfg1;	/* trust-2026 alone */

static struct scen_config *load(const char *text)
{
	struct scen_config *cfg;
	int fd = dup(2);
	FILE *devnull = fopen("/dev/null", "w");

	/* the parser's warnings are not this test's business */
	fflush(stderr);
	dup2(fileno(devnull), 2);
	cfg = scen_config_parse("test.yaml", text, strlen(text), 0);
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	fclose(devnull);
	if (!cfg)
		fail_msg("test config does not load:\n%s", text);
	return cfg;
}

static int setup(void **state)
{
	char *one;
	const char *cut;

	cfg2 = load(TWO_EXPERIMENTS);
	cut = strstr(TWO_EXPERIMENTS, "  other:\n");
	one = xstrndup(TWO_EXPERIMENTS, (size_t)(cut - TWO_EXPERIMENTS));
	cfg1 = load(one);
	free(one);
	return 0;
}

static int teardown(void **state)
{
	scen_config_free(cfg1);
	scen_config_free(cfg2);
	return 0;
}

struct parsed {
	struct scen_request rq;
	struct scen_req_error err;
	int rc;
};

static struct parsed parse_flags(const struct scen_config *cfg,
				 const char *line, long lineno, int flags)
{
	struct parsed p;

	memset(&p, 0, sizeof p);
	p.rc = scen_request_parse(cfg, line, strlen(line), lineno, flags,
				  &p.rq, &p.err);
	return p;
}

static struct parsed parse(const struct scen_config *cfg, const char *line)
{
	return parse_flags(cfg, line, 7, 0);
}

/* Asserts that line is refused with code, and that the message holds
 * needle (when not NULL). */
#define REFUSED(cfg, line, want_code, needle) do { \
	struct parsed p_ = parse((cfg), (line)); \
	if (p_.rc != -1) \
		fail_msg("accepted: %s", (line)); \
	if (strcmp(p_.err.code, (want_code))) \
		fail_msg("%s: code %s, want %s (%s)", (line), p_.err.code, \
			 (want_code), p_.err.message); \
	if ((needle) && !strstr(p_.err.message, (needle) ? (needle) : "")) \
		fail_msg("%s: message '%s' lacks '%s'", (line), \
			 p_.err.message, (needle) ? (needle) : ""); \
	scen_request_release(&p_.rq); \
} while (0)

#define HIRING "\"experiment\":\"trust-2026\",\"template\":\"hiring\""
#define FACTORS "\"factors\":{\"gender\":\"female\",\"age\":\"older\"," \
	"\"tone\":\"warm\"}"

static void test_parses_a_full_request(void **state)
{
	struct parsed p = parse(cfg2, "{\"id\":\"r-17\",\"session\":\"p-0042\","
				HIRING "," FACTORS ",\"position\":3}");

	assert_int_equal(p.rc, 0);
	assert_string_equal(p.rq.id, "r-17");
	assert_string_equal(p.rq.session, "p-0042");
	assert_int_equal(p.rq.op, SCEN_OP_GET);
	assert_string_equal(p.rq.exp->name, "trust-2026");
	assert_string_equal(p.rq.tpl->name, "hiring");
	/* factors sorted by name: age, gender, tone */
	assert_string_equal(p.rq.tpl->factors[0].name,
			    "age");
	assert_int_equal(p.rq.levels[0], 2);	/* older */
	assert_int_equal(p.rq.levels[1], 0);	/* female */
	assert_int_equal(p.rq.levels[2], 1);	/* warm */
	assert_int_equal(p.rq.position, 3);
	assert_int_equal(p.rq.lineno, 7);
	assert_true(p.rq.bucket != 0);
	scen_request_release(&p.rq);
	scen_request_release(&p.rq);	/* twice is harmless */
}

static void test_factors_json_is_canonical(void **state)
{
	struct parsed p = parse(cfg2, "{" HIRING ",\"factors\":{\"tone\":"
				"\"cold\",\"age\":25,\"gender\":\"male\"},"
				"\"position\":1}");
	struct strbuf sb;

	assert_int_equal(p.rc, 0);
	sb_init(&sb);
	scen_request_factors_json(&p.rq, &sb);
	assert_string_equal(sb.buf, "{\"age\":\"25\",\"gender\":\"male\","
			    "\"tone\":\"cold\"}");
	sb_release(&sb);
	scen_request_release(&p.rq);
}

static void test_id_string_integer_or_line_number(void **state)
{
	struct parsed p;

	p = parse(cfg2, "{\"id\":\"abc\"," HIRING "," FACTORS
		  ",\"position\":3}");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.rq.id, "abc");
	scen_request_release(&p.rq);

	p = parse(cfg2, "{\"id\":42," HIRING "," FACTORS ",\"position\":3}");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.rq.id, "42");
	scen_request_release(&p.rq);

	p = parse(cfg2, "{\"id\":-5," HIRING "," FACTORS ",\"position\":3}");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.rq.id, "-5");
	scen_request_release(&p.rq);

	p = parse_flags(cfg2, "{" HIRING "," FACTORS ",\"position\":3}", 1234,
			0);
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.rq.id, "1234");
	scen_request_release(&p.rq);

	/* An empty string is an id like any other. */
	p = parse(cfg2, "{\"id\":\"\"," HIRING "," FACTORS ",\"position\":3}");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.rq.id, "");
	scen_request_release(&p.rq);
}

/* A bad line still echoes its id when the id could be read, else the
 * line number. */
static void test_id_echoed_on_errors(void **state)
{
	struct parsed p;

	p = parse_flags(cfg2, "{\"id\":\"r-9\"," HIRING ",\"factors\":{}}", 3,
			0);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.rq.id, "r-9");
	scen_request_release(&p.rq);

	p = parse_flags(cfg2, "{\"id\":77,\"template\":\"x\"}", 3, 0);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.rq.id, "77");
	scen_request_release(&p.rq);

	/* a bad line without an id has none (not its line number) */
	p = parse_flags(cfg2, "{\"template\":\"x\"}", 4, 0);
	assert_int_equal(p.rc, -1);
	assert_null(p.rq.id);
	scen_request_release(&p.rq);

	p = parse_flags(cfg2, "{\"id\":\"r-9\",", 12, 0);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.err.code, "invalid_json");
	assert_null(p.rq.id);	/* answered with id null and the line */
	scen_request_release(&p.rq);

	p = parse_flags(cfg2, "{\"id\":1.5," HIRING "," FACTORS
			",\"position\":3}", 5, 0);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.err.code, "invalid_request");
	assert_null(p.rq.id);
	scen_request_release(&p.rq);

	p = parse_flags(cfg2, "{\"id\":{\"a\":1}}", 6, 0);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.err.code, "invalid_request");
	assert_null(p.rq.id);
	scen_request_release(&p.rq);
}

static void test_invalid_json(void **state)
{
	static const char nul_line[] = "{\"template\":\"plain\"}\0{}";
	struct parsed p;

	REFUSED(cfg2, "", "invalid_json", NULL);
	REFUSED(cfg2, "{\"template\":", "invalid_json", "column");
	REFUSED(cfg2, "not json", "invalid_json", NULL);
	REFUSED(cfg2, "[1,2]", "invalid_json", "object");
	REFUSED(cfg2, "\"hello\"", "invalid_json", NULL);
	REFUSED(cfg2, "42", "invalid_json", NULL);
	REFUSED(cfg2, "{\"id\":\"a\",\"id\":\"b\"}", "invalid_json", NULL);
	REFUSED(cfg2, "{} {}", "invalid_json", NULL);
	REFUSED(cfg2, "{\"template\":\"\xff\"}", "invalid_json", NULL);
	/* a NUL byte inside the line (len covers it) */
	memset(&p, 0, sizeof p);
	p.rc = scen_request_parse(cfg2, nul_line, sizeof nul_line - 1, 3, 0,
				  &p.rq, &p.err);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.err.code, "invalid_json");
	assert_null(p.rq.id);
	scen_request_release(&p.rq);
}

static void test_invalid_request(void **state)
{
	REFUSED(cfg2, "{" HIRING "," FACTORS ",\"position\":3,\"sesion\":"
		"\"p\"}", "invalid_request", "did you mean 'session'");
	REFUSED(cfg2, "{" HIRING "," FACTORS ",\"position\":3,\"session\":"
		"7}", "invalid_request", "'session'");
	REFUSED(cfg2, "{" HIRING "," FACTORS ",\"position\":3,\"session\":"
		"\"\"}", "invalid_request", "'session'");
	REFUSED(cfg2, "{" HIRING "," FACTORS ",\"position\":3,\"op\":"
		"\"delete\"}", "invalid_request", "op");
	REFUSED(cfg2, "{" HIRING "," FACTORS ",\"position\":3,\"op\":1}",
		"invalid_request", "'op'");
	REFUSED(cfg2, "{\"experiment\":5,\"template\":\"hiring\"}",
		"invalid_request", "'experiment'");
	REFUSED(cfg2, "{\"experiment\":\"trust-2026\",\"template\":[1]}",
		"invalid_request", "'template'");
	REFUSED(cfg2, "{" HIRING ",\"factors\":[1,2],\"position\":3}",
		"invalid_request", "'factors'");
	REFUSED(cfg2, "{" HIRING "," FACTORS ",\"position\":3.5}",
		"invalid_request", "'position'");
	REFUSED(cfg2, "{" HIRING "," FACTORS ",\"position\":\"3\"}",
		"invalid_request", "'position'");
	REFUSED(cfg2, "{\"experiment\":\"trust-2026\",\"template\":\"plain\","
		"\"position\":2}", "invalid_request", "declares no position");
	REFUSED(cfg2, "{\"op\":\"status\",\"job\":5,\"session\":\"p\"}",
		"invalid_request", "'job'");
}

static void test_unknown_experiment(void **state)
{
	REFUSED(cfg2, "{\"experiment\":\"trust-2025\",\"template\":\"hiring\"}",
		"unknown_experiment", "did you mean 'trust-2026'");
	REFUSED(cfg2, "{\"experiment\":\"zzzzzzzzzz\",\"template\":\"hiring\"}",
		"unknown_experiment", "'zzzzzzzzzz' is not declared");
	REFUSED(cfg1, "{\"experiment\":\"other\",\"template\":\"hiring\"}",
		"unknown_experiment", NULL);
}

static void test_unknown_template(void **state)
{
	REFUSED(cfg2, "{\"experiment\":\"trust-2026\",\"template\":\"hirng\"}",
		"unknown_template", "template 'hirng' is not declared in "
		"experiment 'trust-2026' (did you mean 'hiring'?)");
	REFUSED(cfg2, "{\"experiment\":\"other\",\"template\":\"plain\"}",
		"unknown_template", NULL);
}

static void test_unknown_factor(void **state)
{
	REFUSED(cfg2, "{" HIRING ",\"factors\":{\"gender\":\"female\","
		"\"age\":\"older\",\"tone\":\"warm\",\"mood\":\"calm\"},"
		"\"position\":3}", "unknown_factor", "'mood'");
	REFUSED(cfg2, "{" HIRING ",\"factors\":{\"gendr\":\"female\","
		"\"age\":\"older\",\"tone\":\"warm\"},\"position\":3}",
		"unknown_factor", "did you mean 'gender'");
	REFUSED(cfg2, "{\"experiment\":\"trust-2026\",\"template\":\"plain\","
		"\"factors\":{\"x\":1}}", "unknown_factor", NULL);
}

static void test_bad_level(void **state)
{
	REFUSED(cfg2, "{" HIRING ",\"factors\":{\"gender\":\"femal\","
		"\"age\":\"older\",\"tone\":\"warm\"},\"position\":3}",
		"bad_level", "did you mean 'female'");
	REFUSED(cfg2, "{" HIRING ",\"factors\":{\"gender\":\"Female\","
		"\"age\":\"older\",\"tone\":\"warm\"},\"position\":3}",
		"bad_level", NULL);
	REFUSED(cfg2, "{" HIRING ",\"factors\":{\"gender\":[\"female\"],"
		"\"age\":\"older\",\"tone\":\"warm\"},\"position\":3}",
		"bad_level", "'gender'");
	REFUSED(cfg2, "{" HIRING ",\"factors\":{\"gender\":null,"
		"\"age\":\"older\",\"tone\":\"warm\"},\"position\":3}",
		"bad_level", NULL);
	REFUSED(cfg2, "{" HIRING ",\"factors\":{\"gender\":\"female\","
		"\"age\":26,\"tone\":\"warm\"},\"position\":3}",
		"bad_level", NULL);
	REFUSED(cfg2, "{" HIRING ",\"factors\":{\"gender\":\"female\","
		"\"age\":25.5,\"tone\":\"warm\"},\"position\":3}",
		"bad_level", NULL);
	REFUSED(cfg2, "{" HIRING ",\"factors\":{\"gender\":\"female\","
		"\"age\":false,\"tone\":\"warm\"},\"position\":3}",
		"bad_level", NULL);
}

/* A string with an escaped NUL is refused: "female\u0000x" must never be
 * taken for the level "female", nor "trust-2026\u0000x" for trust-2026. */
static void test_nul_escapes_refused(void **state)
{
	REFUSED(cfg2, "{" HIRING ",\"factors\":{\"gender\":\"female\\u0000x\","
		"\"age\":\"older\",\"tone\":\"warm\"},\"position\":3}",
		"invalid_json", NULL);
	REFUSED(cfg2, "{\"experiment\":\"trust-2026\\u0000x\","
		"\"template\":\"plain\"}", "invalid_json", NULL);
	REFUSED(cfg2, "{\"experiment\":\"trust-2026\","
		"\"template\":\"plain\",\"session\":\"a\\u0000b\"}",
		"invalid_json", NULL);
}

static void test_missing_field(void **state)
{
	struct parsed p;

	REFUSED(cfg2, "{\"template\":\"hiring\"," FACTORS ",\"position\":3}",
		"missing_field", "'experiment'");
	REFUSED(cfg2, "{\"experiment\":\"trust-2026\"}", "missing_field",
		"'template'");
	REFUSED(cfg2, "{" HIRING ",\"position\":3}", "missing_field",
		"'factors'");
	REFUSED(cfg2, "{" HIRING ",\"factors\":{\"gender\":\"female\","
		"\"tone\":\"warm\"},\"position\":3}", "missing_field", "'age'");
	REFUSED(cfg2, "{" HIRING "," FACTORS "}", "missing_field",
		"'position'");
	REFUSED(cfg2, "{" HIRING "," FACTORS ",\"position\":null}",
		"invalid_request", "'position'");
	REFUSED(cfg2, "{\"op\":\"status\",\"session\":\"p\"}", "missing_field",
		"'job'");
	REFUSED(cfg2, "{\"op\":\"cancel\",\"job\":\"j-1\"}", "missing_field",
		"'session'");

	/* session is required only when the caller says so */
	p = parse_flags(cfg2, "{" HIRING "," FACTORS ",\"position\":3}", 1,
			SCEN_REQ_NEED_SESSION);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.err.code, "missing_field");
	assert_non_null(strstr(p.err.message, "'session'"));
	scen_request_release(&p.rq);
	p = parse_flags(cfg2, "{\"session\":\"s\"," HIRING "," FACTORS
			",\"position\":3}", 1, SCEN_REQ_NEED_SESSION);
	assert_int_equal(p.rc, 0);
	scen_request_release(&p.rq);
}

static void test_bad_position(void **state)
{
	REFUSED(cfg2, "{" HIRING "," FACTORS ",\"position\":0}",
		"bad_position", "outside 1..10");
	REFUSED(cfg2, "{" HIRING "," FACTORS ",\"position\":11}",
		"bad_position", NULL);
	REFUSED(cfg2, "{" HIRING "," FACTORS ",\"position\":-3}",
		"bad_position", NULL);
	REFUSED(cfg2, "{" HIRING "," FACTORS
		",\"position\":99999999999999999}", "bad_position", NULL);
}

/* The experiment may be left out only when the config declares one. */
static void test_experiment_default_with_one(void **state)
{
	struct parsed p = parse(cfg1, "{\"template\":\"hiring\"," FACTORS
				",\"position\":3}");

	assert_int_equal(p.rc, 0);
	assert_string_equal(p.rq.exp->name, "trust-2026");
	scen_request_release(&p.rq);
}

static void test_template_without_factors(void **state)
{
	struct parsed p;

	p = parse(cfg2, "{\"experiment\":\"trust-2026\",\"template\":"
		  "\"plain\"}");
	assert_int_equal(p.rc, 0);
	scen_request_release(&p.rq);
	p = parse(cfg2, "{\"experiment\":\"trust-2026\",\"template\":"
		  "\"plain\",\"factors\":{}}");
	assert_int_equal(p.rc, 0);
	scen_request_release(&p.rq);
}

static void test_ops(void **state)
{
	struct parsed p;

	p = parse(cfg2, "{\"op\":\"status\",\"job\":\"j-1\",\"session\":"
		  "\"p\"}");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.rq.op, SCEN_OP_STATUS);
	assert_string_equal(p.rq.job, "j-1");
	assert_string_equal(p.rq.session, "p");
	scen_request_release(&p.rq);
	p = parse(cfg2, "{\"op\":\"cancel\",\"job\":\"j-2\",\"session\":"
		  "\"p\",\"id\":\"c\"}");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.rq.op, SCEN_OP_CANCEL);
	assert_string_equal(p.rq.id, "c");
	scen_request_release(&p.rq);
	p = parse(cfg2, "{\"op\":\"get\"," HIRING "," FACTORS
		  ",\"position\":3}");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.rq.op, SCEN_OP_GET);
	scen_request_release(&p.rq);
}

/* Parses line (which must be valid) and copies its key and bucket. */
static void keys_of(const struct scen_config *cfg, const char *line,
		    uint8_t key[16], uint64_t *bucket)
{
	struct parsed p = parse(cfg, line);

	if (p.rc)
		fail_msg("%s: %s %s", line, p.err.code, p.err.message);
	memcpy(key, p.rq.key, 16);
	*bucket = p.rq.bucket;
	scen_request_release(&p.rq);
}

#define LINE(exp, gender, age, tone, pos) \
	"{\"experiment\":\"" exp "\",\"template\":\"hiring\",\"factors\":" \
	"{\"gender\":" gender ",\"age\":" age ",\"tone\":" tone "}," \
	"\"position\":" pos "}"

static void test_key_independent_of_factor_order(void **state)
{
	uint8_t k1[16], k2[16], k3[16];
	uint64_t b1, b2, b3;

	keys_of(cfg2, LINE("trust-2026", "\"female\"", "\"older\"",
			   "\"warm\"", "3"), k1, &b1);
	keys_of(cfg2, "{\"position\":3,\"factors\":{\"tone\":\"warm\","
		"\"age\":\"older\",\"gender\":\"female\"},\"template\":"
		"\"hiring\",\"experiment\":\"trust-2026\"}", k2, &b2);
	keys_of(cfg2, "{\"factors\":{\"age\":\"older\",\"tone\":\"warm\","
		"\"gender\":\"female\"},\"id\":\"x\",\"session\":\"s\","
		"\"experiment\":\"trust-2026\",\"template\":\"hiring\","
		"\"position\":3}", k3, &b3);
	assert_memory_equal(k1, k2, 16);
	assert_memory_equal(k1, k3, 16);
	assert_int_equal(b1, b2);
	assert_int_equal(b1, b3);
}

/* 25, "25" and 25.0 name one level; so do true and "true". */
static void test_number_levels_are_one_level(void **state)
{
	uint8_t k1[16], k2[16], k3[16], k4[16];
	uint64_t b1, b2, b3, b4;

	keys_of(cfg2, LINE("trust-2026", "\"male\"", "25", "\"cold\"", "1"),
		k1, &b1);
	keys_of(cfg2, LINE("trust-2026", "\"male\"", "\"25\"", "\"cold\"",
			   "1"), k2, &b2);
	keys_of(cfg2, LINE("trust-2026", "\"male\"", "25.0", "\"cold\"", "1"),
		k3, &b3);
	keys_of(cfg2, LINE("trust-2026", "\"male\"", "2.5e1", "\"cold\"",
			   "1"), k4, &b4);
	assert_memory_equal(k1, k2, 16);
	assert_memory_equal(k1, k3, 16);
	assert_memory_equal(k1, k4, 16);
	assert_int_equal(b1, b2);
	assert_int_equal(b1, b3);
	keys_of(cfg2, LINE("trust-2026", "\"male\"", "true", "\"cold\"", "1"),
		k1, &b1);
	keys_of(cfg2, LINE("trust-2026", "\"male\"", "\"true\"", "\"cold\"",
			   "1"), k2, &b2);
	assert_memory_equal(k1, k2, 16);
	/* "25" and "40" differ */
	keys_of(cfg2, LINE("trust-2026", "\"male\"", "40", "\"cold\"", "1"),
		k3, &b3);
	assert_memory_not_equal(k1, k3, 16);
}

/* The fast reader (plain lines) and jansson (everything else) give the
 * same answer to every line: same ok or error, same message, same key. */
static void test_both_readers_agree(void **state)
{
	static const char *const lines[] = {
		LINE("trust-2026", "\"female\"", "\"older\"", "\"warm\"", "3"),
		" {\t\"experiment\" : \"trust-2026\" ,\"template\":\"hiring\","
		"\"factors\":{ \"gender\" :\"male\", \"age\":40,\"tone\":"
		"\"cold\" } , \"position\" : 10 , \"id\": -0 }\r",
		LINE("trust-2026", "\"female\"", "\"older\"", "\"warm\"", "03"),
		LINE("trust-2026", "\"female\"", "\"older\"", "\"warm\"", "-3"),
		LINE("trust-2026", "\"female\"", "\"older\"", "\"warm\"",
		     "1234567890123456789"),
		LINE("trust-2026", "\"female\"", "\"older\"", "\"warm\"", "3.0"),
		LINE("trust-2026", "\"female\"", "\"older\"", "\"warm\"", "null"),
		LINE("trust-2026", "\"female\"", "25", "\"warm\"", "3"),
		LINE("trust-2026", "\"female\"", "true", "\"warm\"", "3"),
		LINE("trust-2026", "\"fem\\u0061le\"", "\"older\"", "\"warm\"",
		     "3"),
		LINE("trust-2026", "\"femme\"", "\"older\"", "\"warm\"", "3"),
		LINE("trust-2026", "\"f\xc3\xa9male\"", "\"older\"", "\"warm\"",
		     "3"),
		LINE("trust-2026", "{}", "\"older\"", "\"warm\"", "3"),
		LINE("trust-2026", "[1]", "\"older\"", "\"warm\"", "3"),
		LINE("nope", "\"female\"", "\"older\"", "\"warm\"", "3"),
		LINE("trust-2026", "\"female\"", "\"older\"", "\"warm\"", "3")
		" trailing",
		"{\"id\":1,\"id\":2}",
		"{\"experiment\":\"trust-2026\",\"template\":\"hiring\","
		"\"factors\":{\"gender\":\"female\",\"gender\":\"male\"}}",
		"{\"experiment\":\"trust-2026\",\"template\":\"hiring\","
		"\"factors\":{\"gender\":\"female\",\"age\":\"older\","
		"\"tone\":\"warm\",\"mood\":\"x\"},\"position\":2}",
		"{\"experiment\":\"trust-2026\",\"template\":\"plain\"}",
		"{\"experiment\":\"trust-2026\",\"template\":\"plain\","
		"\"factors\":null}",
		"{\"id\":\"s\",\"op\":\"status\",\"job\":\"j-1\","
		"\"session\":\"p\"}",
		"{\"id\":\"s\",\"op\":\"status\",\"job\":7,\"session\":\"p\"}",
		"{\"id\":\"s\",\"session\":\"\"}",
		"{\"id\":\"s\",\"sesion\":\"p\"}",
		"{\"id\":\"s\",\"session\":\"p\",\"op\":\"get\","
		"\"template\":\"plain\",\"experiment\":\"trust-2026\"}",
		"{}", "[]", "{", "", "{\"id\":\"a\x01\"}", "{\"id\":\"\"}",
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		struct parsed a = parse_flags(cfg2, lines[i], 3, 0);
		struct parsed b = parse_flags(cfg2, lines[i], 3,
					      SCEN_REQ_NO_FAST);
		if (a.rc != b.rc)
			fail_msg("%s: fast %d, jansson %d", lines[i], a.rc,
				 b.rc);
		if (a.rq.id || b.rq.id)
			assert_string_equal(a.rq.id ? a.rq.id : "(null)",
					    b.rq.id ? b.rq.id : "(null)");
		if (a.rc) {
			assert_string_equal(a.err.code, b.err.code);
			assert_string_equal(a.err.message, b.err.message);
		} else {
			assert_int_equal(a.rq.op, b.rq.op);
			assert_memory_equal(a.rq.key, b.rq.key, 16);
			assert_int_equal(a.rq.bucket, b.rq.bucket);
		}
		scen_request_release(&a.rq);
		scen_request_release(&b.rq);
	}
	/* an escaped level is the same level as the plain one */
	uint8_t k1[16], k2[16];
	uint64_t b1, b2;
	keys_of(cfg2, lines[0], k1, &b1);
	keys_of(cfg2, lines[9], k2, &b2);
	assert_memory_equal(k1, k2, 16);
}

static void test_different_experiment_different_key(void **state)
{
	uint8_t k1[16], k2[16];
	uint64_t b1, b2;

	keys_of(cfg2, LINE("trust-2026", "\"female\"", "40", "\"warm\"", "3"),
		k1, &b1);
	keys_of(cfg2, LINE("other", "\"female\"", "40", "\"warm\"", "3"), k2,
		&b2);
	assert_memory_not_equal(k1, k2, 16);
	assert_true(b1 != b2);
}

static void test_different_version_different_key(void **state)
{
	char *text = xstrdup(TWO_EXPERIMENTS);
	char *p = strstr(text, "You write scenarios.");
	struct scen_config *cfg3;
	uint8_t k1[16], k2[16];
	uint64_t b1, b2;

	/* same names and factors, another system text: another version */
	p[0] = 'W';
	cfg3 = load(text);
	assert_string_not_equal(cfg3->experiments[1].templates[0].version_hex,
				cfg2->experiments[1].templates[0].version_hex);
	keys_of(cfg2, LINE("trust-2026", "\"female\"", "40", "\"warm\"", "3"),
		k1, &b1);
	keys_of(cfg3, LINE("trust-2026", "\"female\"", "40", "\"warm\"", "3"),
		k2, &b2);
	assert_memory_not_equal(k1, k2, 16);
	assert_true(b1 != b2);
	scen_config_free(cfg3);

	/* and the same config loaded twice gives the same keys */
	cfg3 = load(TWO_EXPERIMENTS);
	keys_of(cfg3, LINE("trust-2026", "\"female\"", "40", "\"warm\"", "3"),
		k2, &b2);
	assert_memory_equal(k1, k2, 16);
	assert_int_equal(b1, b2);
	scen_config_free(cfg3);
	free(text);
}

static void test_position_changes_key_not_soft_bucket(void **state)
{
	uint8_t k1[16], k2[16];
	uint64_t b1, b2;

	keys_of(cfg2, LINE("trust-2026", "\"female\"", "40", "\"warm\"", "3"),
		k1, &b1);
	keys_of(cfg2, LINE("trust-2026", "\"female\"", "40", "\"warm\"", "4"),
		k2, &b2);
	assert_memory_not_equal(k1, k2, 16);
	assert_int_equal(b1, b2);	/* a soft position */
}

static void test_soft_factor_changes_key_not_bucket(void **state)
{
	uint8_t k1[16], k2[16];
	uint64_t b1, b2;

	keys_of(cfg2, LINE("trust-2026", "\"female\"", "40", "\"warm\"", "3"),
		k1, &b1);
	keys_of(cfg2, LINE("trust-2026", "\"female\"", "40", "\"cold\"", "9"),
		k2, &b2);
	assert_memory_not_equal(k1, k2, 16);
	assert_int_equal(b1, b2);
}

static void test_hard_factor_changes_bucket(void **state)
{
	uint8_t k1[16], k2[16];
	uint64_t b1, b2;

	keys_of(cfg2, LINE("trust-2026", "\"female\"", "40", "\"warm\"", "3"),
		k1, &b1);
	keys_of(cfg2, LINE("trust-2026", "\"male\"", "40", "\"warm\"", "3"),
		k2, &b2);
	assert_memory_not_equal(k1, k2, 16);
	assert_true(b1 != b2);
	keys_of(cfg2, LINE("trust-2026", "\"female\"", "25", "\"warm\"", "3"),
		k2, &b2);
	assert_true(b1 != b2);
}

static void test_hard_position_changes_bucket(void **state)
{
	uint8_t k1[16], k2[16];
	uint64_t b1, b2;

	keys_of(cfg2, "{\"experiment\":\"trust-2026\",\"template\":\"hardpos\","
		"\"factors\":{\"gender\":\"male\"},\"position\":1}", k1, &b1);
	keys_of(cfg2, "{\"experiment\":\"trust-2026\",\"template\":\"hardpos\","
		"\"factors\":{\"gender\":\"male\"},\"position\":2}", k2, &b2);
	assert_memory_not_equal(k1, k2, 16);
	assert_true(b1 != b2);
}

/* Templates of one experiment never share keys or buckets. */
static void test_different_template_different_bucket(void **state)
{
	uint8_t k1[16], k2[16];
	uint64_t b1, b2;

	keys_of(cfg2, "{\"experiment\":\"trust-2026\",\"template\":\"plain\"}",
		k1, &b1);
	keys_of(cfg2, "{\"experiment\":\"trust-2026\",\"template\":\"hardpos\","
		"\"factors\":{\"gender\":\"male\"},\"position\":1}", k2, &b2);
	assert_memory_not_equal(k1, k2, 16);
	assert_true(b1 != b2);
}

/* scen_request_keys on a hand-filled request equals the parsed one, and
 * no two of the 4*2*3*10 cells of "hiring" share a key. */
static void test_keys_of_all_cells_distinct(void **state)
{
	const struct scen_experiment *e = scen_config_experiment(cfg2,
								 "trust-2026");
	const struct scen_template *t = scen_experiment_template(e, "hiring");
	uint8_t (*keys)[16] = xcalloc(240, 16);
	uint64_t buckets[240];
	size_t n = 0;

	for (uint16_t a = 0; a < 4; a++)
		for (uint16_t g = 0; g < 2; g++)
			for (uint16_t to = 0; to < 3; to++)
				for (long pos = 1; pos <= 10; pos++) {
					struct scen_request rq;

					memset(&rq, 0, sizeof rq);
					rq.exp = e;
					rq.tpl = t;
					rq.levels[0] = a;
					rq.levels[1] = g;
					rq.levels[2] = to;
					rq.position = pos;
					scen_request_keys(&rq);
					memcpy(keys[n], rq.key, 16);
					buckets[n] = rq.bucket;
					n++;
				}
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			assert_memory_not_equal(keys[i], keys[j], 16);
			/* same bucket exactly when age and gender agree */
			int same_hard = i / 30 == j / 30;

			assert_int_equal(buckets[i] == buckets[j], same_hard);
		}
	free(keys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parses_a_full_request),
		cmocka_unit_test(test_factors_json_is_canonical),
		cmocka_unit_test(test_id_string_integer_or_line_number),
		cmocka_unit_test(test_id_echoed_on_errors),
		cmocka_unit_test(test_invalid_json),
		cmocka_unit_test(test_invalid_request),
		cmocka_unit_test(test_unknown_experiment),
		cmocka_unit_test(test_unknown_template),
		cmocka_unit_test(test_unknown_factor),
		cmocka_unit_test(test_bad_level),
		cmocka_unit_test(test_nul_escapes_refused),
		cmocka_unit_test(test_missing_field),
		cmocka_unit_test(test_bad_position),
		cmocka_unit_test(test_experiment_default_with_one),
		cmocka_unit_test(test_template_without_factors),
		cmocka_unit_test(test_ops),
		cmocka_unit_test(test_key_independent_of_factor_order),
		cmocka_unit_test(test_number_levels_are_one_level),
		cmocka_unit_test(test_both_readers_agree),
		cmocka_unit_test(test_different_experiment_different_key),
		cmocka_unit_test(test_different_version_different_key),
		cmocka_unit_test(test_position_changes_key_not_soft_bucket),
		cmocka_unit_test(test_soft_factor_changes_key_not_bucket),
		cmocka_unit_test(test_hard_factor_changes_bucket),
		cmocka_unit_test(test_hard_position_changes_bucket),
		cmocka_unit_test(test_different_template_different_bucket),
		cmocka_unit_test(test_keys_of_all_cells_distinct),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
