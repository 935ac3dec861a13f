/* test_provider.c — unit tests of the parsers for what Groq answers
 * (src/provider.c, SPEC §5): Go-style durations, x-ratelimit-* and
 * retry-after header lines, "Please try again in ..." in 429 messages,
 * completion bodies, and the request body scen sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scen/config.h"
#include "scen/provider.h"
#include "scen/util.h"

#define assert_near(a, b, eps) do { \
	double a_ = (a), b_ = (b); \
	if (!(fabs(a_ - b_) <= (eps))) \
		fail_msg("%s = %.17g, want %.17g", #a, a_, b_); \
} while (0)

static double dur(const char *s)
{
	return scen_parse_duration(s, strlen(s));
}

#define DUR(s, want) do { \
	double d_ = dur(s); \
	if (fabs(d_ - (want)) > 1e-9) \
		fail_msg("duration \"%s\" = %.17g, want %.17g", (s), d_, \
			 (double)(want)); \
} while (0)

static void test_duration_go_forms(void **state)
{
	DUR("940ms", 0.94);
	DUR("7.66s", 7.66);
	DUR("2m59.56s", 179.56);
	DUR("1h2m3s", 3723);
	DUR("1h", 3600);
	DUR("0s", 0);
	DUR("9m38.016s", 578.016);
	DUR("2.5s", 2.5);
	DUR("1m", 60);
	DUR("1h0m0s", 3600);
	DUR("24h", 86400);
	DUR("1m0.5s", 60.5);
	DUR("500us", 0.0005);
	DUR("100ns", 1e-7);
	DUR("0.5ms", 0.0005);
	DUR("1h30m", 5400);
	DUR("2m", 120);
	DUR("10s", 10);
}

/* Plain numbers are seconds (retry-after: 12). */
static void test_duration_plain_seconds(void **state)
{
	DUR("1.5", 1.5);
	DUR("12", 12);
	DUR("0", 0);
	DUR("0.5", 0.5);
	DUR("86400", 86400);
}

/* Surrounding blanks and a line end are tolerated. */
static void test_duration_blanks(void **state)
{
	DUR(" 7.66s", 7.66);
	DUR("7.66s ", 7.66);
	DUR("7.66s\r\n", 7.66);
	DUR("  12 \r\n", 12);
}

static void test_duration_bad(void **state)
{
	static const char *const bad[] = {
		"", " ", "\r\n", "abc", "1x", "m", "s", "ms", "h1", "1.2.3s",
		".s", ".", "1s2", "1m30", "-1s", "+1s", "1 s", "1m 2s", "1e3s",
		"1S", "1M", "s1", "1hh", "1..5s", "--", "1,5s", "0x10",
		/* waits beyond belief (more than 1e9 s) */
		"99999999999999999999999999999h", "2000000000",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		double d = dur(bad[i]);

		if (d != -1)
			fail_msg("\"%s\" parsed as %g, want -1", bad[i], d);
	}
	/* n bounds the input: "12s" cut to "12" is seconds, to "1" is 1 */
	assert_near(scen_parse_duration("12s", 2), 12, 0);
	assert_near(scen_parse_duration("7.66sXYZ", 5), 7.66, 1e-12);
	assert_near(scen_parse_duration("1m", 0), -1, 0);
	/* a very long number is not read past its buffer */
	assert_near(dur("123456789012345678901234567890123456789s"), -1, 0);
}

static struct scen_ratelimit headers(const char *const *lines, size_t n)
{
	struct scen_ratelimit rl;

	memset(&rl, 0, sizeof rl);
	for (size_t i = 0; i < n; i++)
		scen_ratelimit_header(&rl, lines[i], strlen(lines[i]));
	return rl;
}

/* A Groq 200 answer's headers, as curl hands them over (with CRLF). */
static void test_headers_groq_200(void **state)
{
	static const char *const lines[] = {
		"HTTP/2 200\r\n",
		"date: Sat, 28 Nov 2026 03:12:09 GMT\r\n",
		"content-type: application/json\r\n",
		"x-ratelimit-limit-requests: 14400\r\n",
		"x-ratelimit-limit-tokens: 6000\r\n",
		"x-ratelimit-remaining-requests: 14370\r\n",
		"x-ratelimit-remaining-tokens: 5772\r\n",
		"x-ratelimit-reset-requests: 2m59.56s\r\n",
		"x-ratelimit-reset-tokens: 2.28s\r\n",
		"\r\n",
	};
	struct scen_ratelimit rl = headers(lines, sizeof lines / sizeof *lines);

	assert_true(rl.has_req);
	assert_true(rl.has_tok);
	assert_false(rl.has_retry);
	assert_int_equal(rl.limit_req, 14400);
	assert_int_equal(rl.remaining_req, 14370);
	assert_near(rl.reset_req_s, 179.56, 1e-9);
	assert_int_equal(rl.limit_tok, 6000);
	assert_int_equal(rl.remaining_tok, 5772);
	assert_near(rl.reset_tok_s, 2.28, 1e-9);
}

/* Header names are case-insensitive; blanks after the colon and at the
 * end, and a bare LF, are tolerated. */
static void test_headers_odd_case_and_spaces(void **state)
{
	static const char *const lines[] = {
		"X-RateLimit-Remaining-Requests:0\r\n",
		"X-RATELIMIT-RESET-REQUESTS:    10s   \r\n",
		"x-RateLimit-Remaining-Tokens: \t 12\n",
		"X-Ratelimit-Reset-Tokens: 940ms",
		"Retry-After:  7 \r\n",
	};
	struct scen_ratelimit rl = headers(lines, sizeof lines / sizeof *lines);

	assert_true(rl.has_req);
	assert_int_equal(rl.remaining_req, 0);
	assert_near(rl.reset_req_s, 10, 1e-12);
	assert_true(rl.has_tok);
	assert_int_equal(rl.remaining_tok, 12);
	assert_near(rl.reset_tok_s, 0.94, 1e-12);
	assert_true(rl.has_retry);
	assert_near(rl.retry_after_s, 7, 0);
}

/* Optional whitespace around a header value is blanks or tabs (RFC 9110
 * OWS), at either end. */
static void test_headers_trailing_tab(void **state)
{
	static const char *const lines[] = {
		"x-ratelimit-remaining-requests:\t5\t\r\n",
		"x-ratelimit-reset-requests: 10s\t\r\n",
	};
	struct scen_ratelimit rl = headers(lines, sizeof lines / sizeof *lines);

	assert_true(rl.has_req);
	assert_int_equal(rl.remaining_req, 5);
	assert_near(rl.reset_req_s, 10, 1e-12);
}

static void test_headers_retry_after(void **state)
{
	static const char *const a[] = {"retry-after: 2\r\n"};
	static const char *const b[] = {"retry-after: 0.5\r\n"};
	static const char *const c[] = {
		"retry-after: Wed, 21 Oct 2026 07:28:00 GMT\r\n"
	};
	struct scen_ratelimit rl;

	rl = headers(a, 1);
	assert_true(rl.has_retry);
	assert_near(rl.retry_after_s, 2, 0);
	rl = headers(b, 1);
	assert_near(rl.retry_after_s, 0.5, 0);
	/* an HTTP date is not understood: ignored, not misread */
	rl = headers(c, 1);
	assert_false(rl.has_retry);
}

/* Other headers, and names that only start like a rate-limit header, do
 * not touch the figures; neither do values that are not numbers. */
static void test_headers_ignored(void **state)
{
	static const char *const lines[] = {
		"content-length: 512\r\n",
		"x-ratelimit-remaining-requests-extra: 3\r\n",
		"x-ratelimit-remaining-requestsx: 3\r\n",
		"xx-ratelimit-remaining-requests: 3\r\n",
		"x-ratelimit-remaining-tokens: lots\r\n",
		"x-ratelimit-remaining-tokens: -5\r\n",
		"x-ratelimit-remaining-tokens:\r\n",
		"x-ratelimit-reset-tokens: soon\r\n",
		"retry-after: never\r\n",
		"x-ratelimit-remaining-requests\r\n",
		"HTTP/1.1 429 Too Many Requests\r\n",
		"",
	};
	struct scen_ratelimit rl = headers(lines, sizeof lines / sizeof *lines);

	assert_false(rl.has_req);
	assert_false(rl.has_tok);
	assert_false(rl.has_retry);
	assert_int_equal(rl.remaining_req, 0);
	assert_int_equal(rl.remaining_tok, 0);
	assert_near(rl.reset_tok_s, 0, 0);
}

/* A Groq 429 answer's headers. */
static void test_headers_groq_429(void **state)
{
	static const char *const lines[] = {
		"HTTP/2 429\r\n",
		"retry-after: 578\r\n",
		"x-ratelimit-limit-requests: 14400\r\n",
		"x-ratelimit-remaining-requests: 0\r\n",
		"x-ratelimit-reset-requests: 9m38.016s\r\n",
	};
	struct scen_ratelimit rl = headers(lines, sizeof lines / sizeof *lines);

	assert_true(rl.has_retry);
	assert_near(rl.retry_after_s, 578, 0);
	assert_true(rl.has_req);
	assert_int_equal(rl.remaining_req, 0);
	assert_near(rl.reset_req_s, 578.016, 1e-9);
}

static const char rpd_message[] =
	"Rate limit reached for model `llama-3.1-8b-instant` in organization "
	"`org_x` on requests per day (RPD): Limit 14400, Used 14400, "
	"Requested 1. Please try again in 9m38.016s. Visit "
	"https://console.groq.com/docs/rate-limits for more information.";

static const char tpm_message[] =
	"Rate limit reached for model `llama-3.1-8b-instant` in organization "
	"`org_x` on tokens per minute (TPM): Limit 6000, Used 5812, "
	"Requested 602. Please try again in 2.5s. Visit "
	"https://console.groq.com/docs/rate-limits for more information.";

static void test_try_again_groq_rpd_message(void **state)
{
	assert_near(scen_parse_try_again(rpd_message), 578.016, 1e-9);
}

static void test_try_again_groq_tpm_message(void **state)
{
	assert_near(scen_parse_try_again(tpm_message), 2.5, 1e-12);
}

static void test_try_again_forms(void **state)
{
	assert_near(scen_parse_try_again("Please try again in 20ms."), 0.02,
		    1e-12);
	assert_near(scen_parse_try_again("please TRY AGAIN IN 1m0.5s"), 60.5,
		    1e-12);
	assert_near(scen_parse_try_again("try again in 1h2m3s, thanks"), 3723,
		    1e-9);
	assert_near(scen_parse_try_again("Please try again in 7.66s"), 7.66,
		    1e-12);
	/* no duration, or none there at all */
	assert_near(scen_parse_try_again("Please try again later."), -1, 0);
	assert_near(scen_parse_try_again("Rate limit reached."), -1, 0);
	assert_near(scen_parse_try_again("try again in "), -1, 0);
	assert_near(scen_parse_try_again(""), -1, 0);
	assert_near(scen_parse_try_again(NULL), -1, 0);
}

static struct scen_completion completion(const char *body, int want_rc)
{
	struct scen_completion c;
	int rc;

	memset(&c, 0x5a, sizeof c);	/* the parser must set everything */
	rc = scen_parse_completion(body, strlen(body), &c);
	if (rc != want_rc)
		fail_msg("parse returned %d, want %d, for %s", rc, want_rc,
			 body);
	return c;
}

static void test_completion_normal(void **state)
{
	struct scen_completion c = completion(
		"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\","
		"\"created\":1795835529,\"model\":\"llama-3.1-8b-instant\","
		"\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
		"\"content\":\"Maria, 58, applies \\u2014 \\\"senior\\\".\\n\"},"
		"\"logprobs\":null,\"finish_reason\":\"stop\"}],"
		"\"usage\":{\"queue_time\":0.01,\"prompt_tokens\":57,"
		"\"prompt_time\":0.002,\"completion_tokens\":161,"
		"\"completion_time\":0.2,\"total_tokens\":218},"
		"\"system_fingerprint\":\"fp_1\",\"x_groq\":{\"id\":\"req_1\"}}",
		0);

	assert_non_null(c.content);
	assert_string_equal(c.content,
			    "Maria, 58, applies \xe2\x80\x94 \"senior\".\n");
	assert_string_equal(c.finish_reason, "stop");
	assert_int_equal(c.prompt_tokens, 57);
	assert_int_equal(c.completion_tokens, 161);
	assert_null(c.error_message);
	scen_completion_release(&c);
	assert_null(c.content);
	scen_completion_release(&c);	/* twice is harmless */
}

static void test_completion_finish_reason_length(void **state)
{
	struct scen_completion c = completion(
		"{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":"
		"\"Maria was\"},\"finish_reason\":\"length\"}],\"usage\":"
		"{\"prompt_tokens\":5,\"completion_tokens\":600}}", 0);

	assert_string_equal(c.content, "Maria was");
	assert_string_equal(c.finish_reason, "length");
	assert_int_equal(c.completion_tokens, 600);
	scen_completion_release(&c);
}

static void test_completion_content_null(void **state)
{
	struct scen_completion c = completion(
		"{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":"
		"null},\"finish_reason\":\"stop\"}]}", 0);

	assert_null(c.content);
	assert_string_equal(c.finish_reason, "stop");
	assert_int_equal(c.prompt_tokens, 0);
	assert_null(c.error_message);
	scen_completion_release(&c);

	/* no content key, no finish_reason: nothing set, no crash */
	c = completion("{\"choices\":[{\"message\":{\"role\":\"assistant\"}}]}",
		       0);
	assert_null(c.content);
	assert_string_equal(c.finish_reason, "");
	scen_completion_release(&c);
}

static void test_completion_error_body(void **state)
{
	struct scen_completion c = completion(
		"{\"error\":{\"message\":\"Rate limit reached for model "
		"`llama-3.1-8b-instant` ... Please try again in 2.5s.\","
		"\"type\":\"tokens\",\"code\":\"rate_limit_exceeded\"}}", 0);

	assert_null(c.content);
	assert_non_null(c.error_message);
	assert_non_null(strstr(c.error_message, "try again in 2.5s"));
	assert_near(scen_parse_try_again(c.error_message), 2.5, 1e-12);
	scen_completion_release(&c);
	assert_null(c.error_message);

	c = completion("{\"error\":{\"message\":\"Invalid API Key\","
		       "\"type\":\"invalid_request_error\","
		       "\"code\":\"invalid_api_key\"}}", 0);
	assert_string_equal(c.error_message, "Invalid API Key");
	scen_completion_release(&c);
}

static void test_completion_not_a_completion(void **state)
{
	struct scen_completion c;

	c = completion("{\"id\":\"x\",\"object\":\"chat.completion\"}", -1);
	assert_null(c.content);
	assert_null(c.error_message);
	c = completion("{\"choices\":[]}", -1);
	assert_null(c.content);
	c = completion("{\"choices\":{}}", -1);
	c = completion("{\"choices\":[\"text\"]}", -1);
	c = completion("{\"choices\":[{\"message\":{\"content\":42},"
		       "\"finish_reason\":\"stop\"}]}", -1);
	assert_null(c.content);
	c = completion("<html><body>502 Bad Gateway</body></html>", -1);
	c = completion("", -1);
	c = completion("[1,2,3]", -1);
	c = completion("\"just a string\"", -1);
	c = completion("{\"choices\":[{\"message\":{\"content\":\"trunc", -1);
	assert_null(c.content);
}

/* No NUL reaches a completion's text (a stored text is a C string, and a
 * NUL would cut it short): an escaped or raw NUL makes the body invalid,
 * which the caller counts as an error and stores nothing. */
static void test_completion_nul(void **state)
{
	static const char raw[] = "{\"choices\":[{\"message\":{\"content\":"
		"\"Maria\0 was\"},\"finish_reason\":\"stop\"}]}";
	struct scen_completion c;

	c = completion("{\"choices\":[{\"message\":{\"content\":"
		       "\"Maria\\u0000 was hired.\"},\"finish_reason\":"
		       "\"stop\"}]}", -1);
	assert_null(c.content);
	c = completion("{\"choices\":[{\"message\":{\"content\":"
		       "\"ok\"},\"finish_reason\":\"st\\u0000op\"}]}", -1);
	assert_null(c.content);
	c = completion("{\"error\":{\"message\":\"slow\\u0000 down\"}}", -1);
	assert_null(c.error_message);
	memset(&c, 0x5a, sizeof c);
	assert_int_equal(scen_parse_completion(raw, sizeof raw - 1, &c), -1);
	assert_null(c.content);
}

/* A long finish_reason is cut to the buffer, never overflows it. */
static void test_completion_long_finish_reason(void **state)
{
	char body[256];
	struct scen_completion c;

	snprintf(body, sizeof body, "{\"choices\":[{\"message\":{\"content\":"
		 "\"x\"},\"finish_reason\":\"%s\"}]}",
		 "a_very_long_finish_reason_that_goes_on_and_on_and_on");
	c = completion(body, 0);
	assert_true(strlen(c.finish_reason) < sizeof c.finish_reason);
	assert_true(strcmp(c.finish_reason, "stop") != 0);
	scen_completion_release(&c);
}

static struct scen_config *mini_config(const char *model, double temp)
{
	char *text = xasprintf(
		"provider:\n"
		"  base_url: http://127.0.0.1:9/v1\n"
		"  model: \"%s\"\n"
		"  temperature: %g\n"
		"  max_tokens: 321\n"
		"  accounts: [{name: a, api_key_env: SCEN_TEST_KEY_A}]\n"
		"experiments:\n"
		"  e: {templates: {t: {prompt: p, factors: {}}}}\n",
		model, temp);
	struct scen_config *cfg;
	int fd = dup(2);
	FILE *devnull = fopen("/dev/null", "w");

	fflush(stderr);
	dup2(fileno(devnull), 2);
	cfg = scen_config_parse("p.yaml", text, strlen(text), 0);
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	fclose(devnull);
	if (!cfg)
		fail_msg("config does not load:\n%s", text);
	free(text);
	return cfg;
}

/* The request body is valid JSON carrying the model, the messages (the
 * system one only when there is a system text), temperature and
 * max_tokens, with the prompts' quotes, newlines and UTF-8 intact. */
static void test_completion_body(void **state)
{
	struct scen_config *cfg = mini_config("llama-3.1-8b-instant", 0.9);
	const char *sys = "You write \"short\" scenarios.\n\tBe \\ brief.";
	const char *user = "A 58-year-old \xe2\x80\x94 caf\xc3\xa9 owner.";
	struct strbuf sb;
	json_error_t err;
	json_t *o, *msgs;

	sb_init(&sb);
	scen_completion_body(&sb, cfg, sys, user);
	o = json_loadb(sb.buf, sb.len, 0, &err);
	if (!o)
		fail_msg("not JSON (%s): %s", err.text, sb.buf);
	assert_string_equal(json_string_value(json_object_get(o, "model")),
			    "llama-3.1-8b-instant");
	assert_true(fabs(json_number_value(json_object_get(o, "temperature")) -
			 0.9) < 1e-12);
	assert_int_equal(json_integer_value(json_object_get(o, "max_tokens")),
			 321);
	msgs = json_object_get(o, "messages");
	assert_int_equal(json_array_size(msgs), 2);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(msgs, 0), "role")), "system");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(msgs, 0), "content")), sys);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(msgs, 1), "role")), "user");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(msgs, 1), "content")), user);
	json_decref(o);

	/* no system text: one message */
	sb_reset(&sb);
	scen_completion_body(&sb, cfg, "", "Hi");
	o = json_loadb(sb.buf, sb.len, 0, &err);
	assert_non_null(o);
	msgs = json_object_get(o, "messages");
	assert_int_equal(json_array_size(msgs), 1);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(msgs, 0), "role")), "user");
	json_decref(o);
	sb_reset(&sb);
	scen_completion_body(&sb, cfg, NULL, "Hi");
	o = json_loadb(sb.buf, sb.len, 0, &err);
	assert_non_null(o);
	assert_int_equal(json_array_size(json_object_get(o, "messages")), 1);
	json_decref(o);
	sb_release(&sb);
	scen_config_free(cfg);

	/* temperature 0 and 2 survive as numbers */
	cfg = mini_config("m\\\"x", 0);
	sb_init(&sb);
	scen_completion_body(&sb, cfg, "s", "u");
	o = json_loadb(sb.buf, sb.len, 0, &err);
	if (!o)
		fail_msg("not JSON (%s): %s", err.text, sb.buf);
	assert_string_equal(json_string_value(json_object_get(o, "model")),
			    "m\"x");
	assert_true(json_number_value(json_object_get(o, "temperature")) == 0);
	json_decref(o);
	sb_release(&sb);
	scen_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_go_forms),
		cmocka_unit_test(test_duration_plain_seconds),
		cmocka_unit_test(test_duration_blanks),
		cmocka_unit_test(test_duration_bad),
		cmocka_unit_test(test_headers_groq_200),
		cmocka_unit_test(test_headers_odd_case_and_spaces),
		cmocka_unit_test(test_headers_trailing_tab),
		cmocka_unit_test(test_headers_retry_after),
		cmocka_unit_test(test_headers_ignored),
		cmocka_unit_test(test_headers_groq_429),
		cmocka_unit_test(test_try_again_groq_rpd_message),
		cmocka_unit_test(test_try_again_groq_tpm_message),
		cmocka_unit_test(test_try_again_forms),
		cmocka_unit_test(test_completion_normal),
		cmocka_unit_test(test_completion_finish_reason_length),
		cmocka_unit_test(test_completion_content_null),
		cmocka_unit_test(test_completion_error_body),
		cmocka_unit_test(test_completion_not_a_completion),
		cmocka_unit_test(test_completion_long_finish_reason),
		cmocka_unit_test(test_completion_nul),
		cmocka_unit_test(test_completion_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
