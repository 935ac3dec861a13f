/* test_validate.c — unit tests of the research-integrity check of a
 * generated text (src/validate.c, SPEC §4): empty, truncated, length in
 * characters (not bytes), and reject phrases compared case-insensitively,
 * typographic apostrophes included. */
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
#include "scen/util.h"
#include "scen/validate.h"

static struct scen_config *load_validate(const char *validate)
{
	char *text = xasprintf(
		"provider:\n"
		"  base_url: http://127.0.0.1:9/v1\n"
		"  model: m\n"
		"  accounts: [{name: a, api_key_env: SCEN_TEST_KEY_A}]\n"
		"experiments:\n"
		"  e:\n"
		"    templates:\n"
		"      t:\n"
		"        prompt: p\n"
		"        factors: {}\n"
		"        validate: %s\n", validate);
	struct scen_config *cfg;
	int fd = dup(2);
	FILE *devnull = fopen("/dev/null", "w");

	fflush(stderr);
	dup2(fileno(devnull), 2);
	cfg = scen_config_parse("v.yaml", text, strlen(text), 0);
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	fclose(devnull);
	if (!cfg)
		fail_msg("config does not load:\n%s", text);
	free(text);
	return cfg;
}

/* lcfg: 5 to 10 characters, no phrases; rcfg: 1 to 1000 characters and
 * three reject phrases, one with capitals in the config. */
static struct scen_config *lcfg, *rcfg;
static const struct scen_template *lt, *rt;

static int setup(void **state)
{
	lcfg = load_validate("{min_chars: 5, max_chars: 10}");
	lt = &lcfg->experiments[0].templates[0];
	rcfg = load_validate("{min_chars: 1, max_chars: 1000, reject: "
			     "[\"As an AI\", \"i can't\", \"cannot\"]}");
	rt = &rcfg->experiments[0].templates[0];
	return 0;
}

static int teardown(void **state)
{
	scen_config_free(lcfg);
	scen_config_free(rcfg);
	return 0;
}

#define VALID(s) do { \
	const char *why_ = scen_validate(tp, (s), "stop"); \
	if (why_) \
		fail_msg("'%s' refused as %s", (s), why_); \
} while (0)

#define INVALID(s, fr, reason) do { \
	const char *why_ = scen_validate(tp, (s), (fr)); \
	if (!why_ || strcmp(why_, (reason))) \
		fail_msg("'%s' (%s): %s, want %s", (s) ? (s) : "(null)", \
			 (fr) ? (fr) : "(null)", why_ ? why_ : "valid", \
			 (reason)); \
} while (0)

static void test_valid_text(void **state)
{
	const struct scen_template *tp = lt;

	VALID("hello");
	VALID("0123456789");
	VALID("a b c d e");
}

static void test_empty(void **state)
{
	const struct scen_template *tp = lt;

	INVALID(NULL, "stop", "empty");
	INVALID("", "stop", "empty");
	/* empty wins over a bad finish reason */
	INVALID("", "length", "empty");
	INVALID(NULL, NULL, "empty");
}

static void test_whitespace_only_is_empty(void **state)
{
	const struct scen_template *tp = lt;

	INVALID(" ", "stop", "empty");
	INVALID("      ", "stop", "empty");
	INVALID(" \t\n\r\v\f ", "stop", "empty");
	INVALID("\n\n\n\n\n\n", "stop", "empty");
	/* text surrounded by space is not empty */
	VALID("  hello  ");
}

static void test_finish_reason_other_than_stop(void **state)
{
	const struct scen_template *tp = lt;

	INVALID("hello", "length", "truncated");
	INVALID("hello", "content_filter", "truncated");
	INVALID("hello", "", "truncated");
	INVALID("hello", NULL, "truncated");
	INVALID("hello", "STOP", "truncated");
	INVALID("hello", "stop ", "truncated");
}

static void test_too_short_and_too_long(void **state)
{
	const struct scen_template *tp = lt;

	INVALID("abcd", "stop", "too_short");
	INVALID("a", "stop", "too_short");
	VALID("abcde");
	VALID("abcdefghij");
	INVALID("abcdefghijk", "stop", "too_long");
	INVALID("abcdefghijklmnopqrstuvwxyz", "stop", "too_long");
}

/* Bounds count characters (UTF-8 code points), not bytes. */
static void test_length_in_characters_not_bytes(void **state)
{
	const struct scen_template *tp = lt;

	/* 5 characters, 10 bytes: long enough */
	VALID("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	/* 4 characters, 16 bytes (emoji): too short */
	INVALID("\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
		"\xf0\x9f\x98\x80", "stop", "too_short");
	/* 10 characters, 30 bytes (CJK): not too long */
	VALID("\xe4\xb8\x80\xe4\xb8\x80\xe4\xb8\x80\xe4\xb8\x80\xe4\xb8\x80"
	      "\xe4\xb8\x80\xe4\xb8\x80\xe4\xb8\x80\xe4\xb8\x80\xe4\xb8\x80");
	/* 11 characters: too long */
	INVALID("\xe4\xb8\x80\xe4\xb8\x80\xe4\xb8\x80\xe4\xb8\x80\xe4\xb8\x80"
		"\xe4\xb8\x80\xe4\xb8\x80\xe4\xb8\x80\xe4\xb8\x80\xe4\xb8\x80"
		"x", "stop", "too_long");
	/* "caf\u00e9s" and friends */
	VALID("caf\xc3\xa9s");
	INVALID("caf\xc3\xa9", "stop", "too_short");
}

static void test_utf8_chars(void **state)
{
	assert_int_equal(scen_utf8_chars(""), 0);
	assert_int_equal(scen_utf8_chars("abc"), 3);
	assert_int_equal(scen_utf8_chars("\xc3\xa9"), 1);
	assert_int_equal(scen_utf8_chars("\xe2\x80\x99"), 1);
	assert_int_equal(scen_utf8_chars("\xf0\x9f\x98\x80!"), 2);
	assert_int_equal(scen_utf8_chars("a\xc3\xa9\xe4\xb8\x80\xf0\x9f\x98"
					 "\x80"), 4);
}

static void test_reject_phrase_case_insensitive(void **state)
{
	const struct scen_template *tp = rt;

	INVALID("As an AI, no.", "stop", "refusal");
	INVALID("as an ai ok", "stop", "refusal");
	INVALID("AS AN AI!!", "stop", "refusal");
	INVALID("aS aN Ai..", "stop", "refusal");
	INVALID("I CANNOT", "stop", "refusal");
	INVALID("I Can't.", "stop", "refusal");
	/* a phrase inside a word still counts (substring match) */
	INVALID("xcannotx", "stop", "refusal");
	/* near misses are fine */
	VALID("as a AI");
	VALID("I can do");
	VALID("I cant.");
}

/* "I can’t" with a typographic apostrophe (U+2019, or U+2018) is the
 * phrase "i can't". */
static void test_reject_typographic_apostrophe_in_text(void **state)
{
	const struct scen_template *tp = rt;

	INVALID("I can\xe2\x80\x99t.", "stop", "refusal");
	INVALID("i CAN\xe2\x80\x98T", "stop", "refusal");
	/* other characters of the same lead bytes do not count */
	VALID("I can\xe2\x80\x9ct.");	/* U+201C left double quote */
}

/* The order of checks: empty, truncated, length, then phrases. */
static void test_reasons_in_order(void **state)
{
	const struct scen_template *tp = rt;

	INVALID("cannot", "length", "truncated");
	INVALID("  ", "length", "empty");
	tp = lt;
	INVALID("abc", "length", "truncated");
	INVALID("As an AI, I cannot write it", "stop", "too_long");
}

/* A reject phrase written with a typographic apostrophe in the config
 * (as researchers paste it from a document) rejects the text with either
 * apostrophe. */
static void test_reject_typographic_apostrophe_in_config(void **state)
{
	struct scen_config *c2 = load_validate(
		"{min_chars: 1, max_chars: 100, reject: "
		"[\"i can\xe2\x80\x99t\"]}");
	const struct scen_template *t2 = &c2->experiments[0].templates[0];
	const char *why;

	why = scen_validate(t2, "Sorry, I can\xe2\x80\x99t write that.", "stop");
	if (!why || strcmp(why, "refusal"))
		fail_msg("text with the config's own phrase (U+2019) %s",
			 why ? why : "accepted");
	why = scen_validate(t2, "Sorry, I can't write that.", "stop");
	if (!why || strcmp(why, "refusal"))
		fail_msg("text with ASCII apostrophe %s", why ? why : "accepted");
	scen_config_free(c2);
}

/* Case-insensitive beyond ASCII: "DÉSOLÉ" contains the phrase "désolé". */
static void test_reject_case_insensitive_non_ascii(void **state)
{
	struct scen_config *c2 = load_validate(
		"{min_chars: 1, max_chars: 100, reject: "
		"[\"d\xc3\xa9sol\xc3\xa9\"]}");
	const struct scen_template *t2 = &c2->experiments[0].templates[0];
	const char *why;

	why = scen_validate(t2, "D\xc3\xa9sol\xc3\xa9, non.", "stop");
	assert_non_null(why);
	why = scen_validate(t2, "D\xc3\x89SOL\xc3\x89, NON.", "stop");
	if (!why || strcmp(why, "refusal"))
		fail_msg("'D\xc3\x89SOL\xc3\x89' does not match the reject phrase "
			 "'d\xc3\xa9sol\xc3\xa9': %s", why ? why : "accepted");
	scen_config_free(c2);
}

/* Default bounds: 1 to 100000 characters, no phrases. */
static void test_defaults(void **state)
{
	struct scen_config *c2 = load_validate("{}");
	const struct scen_template *t2 = &c2->experiments[0].templates[0];
	char *big = xmalloc(100002);

	assert_null(scen_validate(t2, "x", "stop"));
	assert_null(scen_validate(t2, "As an AI", "stop"));
	memset(big, 'a', 100000);
	big[100000] = 0;
	assert_null(scen_validate(t2, big, "stop"));
	big[100000] = 'a';
	big[100001] = 0;
	assert_string_equal(scen_validate(t2, big, "stop"), "too_long");
	free(big);
	scen_config_free(c2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_text),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_whitespace_only_is_empty),
		cmocka_unit_test(test_finish_reason_other_than_stop),
		cmocka_unit_test(test_too_short_and_too_long),
		cmocka_unit_test(test_length_in_characters_not_bytes),
		cmocka_unit_test(test_utf8_chars),
		cmocka_unit_test(test_reject_phrase_case_insensitive),
		cmocka_unit_test(test_reject_typographic_apostrophe_in_text),
		cmocka_unit_test(test_reasons_in_order),
		cmocka_unit_test(test_reject_typographic_apostrophe_in_config),
		cmocka_unit_test(test_reject_case_insensitive_non_ascii),
		cmocka_unit_test(test_defaults),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
