/* test_util.c — unit tests of src/util.c: string buffers, JSON string
 * escaping (checked by parsing the output with jansson), numbers in JSON,
 * ISO 8601 times, and SCEN_CLOCK_SCALE (set before the clock's first
 * reading, in main). */
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
#include <time.h>
#include <unistd.h>

#include "scen/util.h"

#define CLOCK_SCALE 1000

static uint64_t rng_state = 0xfeedfacecafebeefULL;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

static void test_strbuf_basics(void **state)
{
	struct strbuf sb;

	sb_init(&sb);
	assert_non_null(sb.buf);
	assert_string_equal(sb.buf, "");
	assert_int_equal(sb.len, 0);
	sb_adds(&sb, "abc");
	sb_addc(&sb, 'd');
	sb_add(&sb, "efgh", 2);
	assert_string_equal(sb.buf, "abcdef");
	assert_int_equal(sb.len, 6);
	sb_add(&sb, "x\0y", 3);	/* NUL bytes are data */
	assert_int_equal(sb.len, 9);
	assert_memory_equal(sb.buf + 6, "x\0y", 3);
	assert_int_equal(sb.buf[9], 0);
	sb_reset(&sb);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.buf, "");
	sb_release(&sb);
	assert_null(sb.buf);
}

static void test_strbuf_grows(void **state)
{
	struct strbuf sb;
	char want[20001];

	sb_init(&sb);
	for (int i = 0; i < 20000; i++) {
		sb_addc(&sb, (char)('a' + i % 26));
		want[i] = (char)('a' + i % 26);
		assert_true(sb.cap > sb.len);
	}
	want[20000] = 0;
	assert_string_equal(sb.buf, want);
	sb_release(&sb);

	/* sb_addf longer than what is left, and than the first buffer */
	sb_init(&sb);
	sb_adds(&sb, "head:");
	sb_addf(&sb, "%s|%d|%.3f", want + 19000, 42, 0.5);
	assert_int_equal(sb.len, 5 + 1000 + 9);
	assert_memory_equal(sb.buf, "head:", 5);
	assert_memory_equal(sb.buf + 5, want + 19000, 1000);
	assert_string_equal(sb.buf + 1005, "|42|0.500");
	for (int i = 0; i < 500; i++)
		sb_addf(&sb, "%d,", i);
	assert_int_equal(sb.buf[sb.len], 0);
	assert_int_equal(strlen(sb.buf), sb.len);
	sb_release(&sb);
}

/* The JSON literal for s[0..n), parsed back by jansson (NUL allowed);
 * returns the decoded string (malloc'd) and its length. */
static char *roundtrip(const char *s, size_t n, size_t *outn, char **lit)
{
	struct strbuf sb;
	json_error_t err;
	json_t *v;
	char *out;

	sb_init(&sb);
	sb_adds(&sb, "prefix");	/* appends to what is there */
	sb_add_json_str(&sb, s, n);
	assert_memory_equal(sb.buf, "prefix", 6);
	assert_int_equal(strlen(sb.buf), sb.len);
	v = json_loadb(sb.buf + 6, sb.len - 6,
		       JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (!v || !json_is_string(v))
		fail_msg("not a JSON string (%s): %s", err.text, sb.buf + 6);
	*outn = json_string_length(v);
	out = xmalloc(*outn + 1);
	memcpy(out, json_string_value(v), *outn + 1);
	json_decref(v);
	if (lit)
		*lit = xstrdup(sb.buf + 6);
	sb_release(&sb);
	return out;
}

static void same_after_roundtrip(const char *s, size_t n)
{
	size_t m;
	char *lit, *out = roundtrip(s, n, &m, &lit);

	if (m != n || memcmp(out, s, n))
		fail_msg("%s decodes to something else", lit);
	/* no raw control character in the literal */
	for (const char *p = lit; *p; p++)
		if ((unsigned char)*p < 0x20)
			fail_msg("raw control byte 0x%02x in %s",
				 (unsigned char)*p, lit);
	free(out);
	free(lit);
}

static void test_json_str_escapes(void **state)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_add_json_str(&sb, "a\"b\\c\n\r\t\b\f", 10);
	assert_string_equal(sb.buf, "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\"");
	sb_reset(&sb);
	sb_add_json_str(&sb, "\x01\x1f\x7f", 3);
	assert_string_equal(sb.buf, "\"\\u0001\\u001f\x7f\"");
	sb_reset(&sb);
	sb_add_json_str(&sb, "", 0);
	assert_string_equal(sb.buf, "\"\"");
	sb_reset(&sb);
	sb_add_json_str(&sb, "x\0y", 3);
	assert_string_equal(sb.buf, "\"x\\u0000y\"");
	sb_reset(&sb);
	sb_add_json_str(&sb, "</script>", 9);
	assert_non_null(strstr(sb.buf, "script"));
	sb_release(&sb);
}

/* Every control character, quote and backslash survives the trip. */
static void test_json_str_all_ascii_roundtrip(void **state)
{
	char all[128];

	for (int i = 0; i < 128; i++)
		all[i] = (char)i;
	same_after_roundtrip(all, 128);
	for (int i = 0; i < 128; i++)
		same_after_roundtrip(all + i, 1);
	same_after_roundtrip("\"\"\\\\\"", 5);
}

/* Valid UTF-8 is kept byte for byte (not escaped). */
static void test_json_str_keeps_utf8(void **state)
{
	static const char *const texts[] = {
		"caf\xc3\xa9",
		"\xe2\x80\x94 \xe2\x80\x99 \xe2\x80\x9c",
		"\xf0\x9f\x98\x80 emoji",
		"\xe4\xb8\xad\xe6\x96\x87",
		"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf",
		"\xe2\x80\xa8 line separator",
	};

	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		struct strbuf sb;
		size_t n = strlen(texts[i]);

		same_after_roundtrip(texts[i], n);
		sb_init(&sb);
		sb_add_json_str(&sb, texts[i], n);
		assert_int_equal(sb.len, n + 2);
		assert_memory_equal(sb.buf + 1, texts[i], n);
		sb_release(&sb);
	}
}

/* Bytes that are not UTF-8 become U+FFFD; the output is valid JSON and
 * the valid parts around them are kept. */
static void test_json_str_replaces_invalid_bytes(void **state)
{
	static const struct {
		const char *in;
		size_t n;
	} cases[] = {
		{"a\xff" "b", 3},
		{"\x80", 1},			/* lone continuation byte */
		{"\xc0\xaf", 2},		/* overlong '/' */
		{"\xe0\x80\xaf", 3},		/* overlong */
		{"\xed\xa0\x80", 3},		/* surrogate U+D800 */
		{"\xf4\x90\x80\x80", 4},	/* above U+10FFFF */
		{"\xf5\x80\x80\x80", 4},
		{"\xf8\x88\x80\x80\x80", 5},	/* 5-byte form */
		{"end\xe2\x82", 5},		/* cut short at the end */
		{"\xe2\x82" "x", 3},		/* cut short before ASCII */
		{"\xc3", 1},
		{"\xfe\xfe\xff\xff", 4},
	};
	static const char fffd[] = "\xef\xbf\xbd";

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		size_t m;
		char *lit;
		char *out = roundtrip(cases[i].in, cases[i].n, &m, &lit);

		if (!strstr(out, fffd))
			fail_msg("case %zu: no U+FFFD in %s", i, lit);
		free(out);
		free(lit);
	}
	/* the ASCII around is kept, one U+FFFD per bad byte here */
	{
		size_t m;
		char *out = roundtrip("a\xff" "b", 3, &m, NULL);

		assert_string_equal(out, "a\xef\xbf\xbd" "b");
		free(out);
		out = roundtrip("\xe2\x82" "x\xc3\xa9", 5, &m, NULL);
		assert_non_null(strstr(out, "x\xc3\xa9"));
		free(out);
	}
}

/* Whether s[0..n) is valid UTF-8 (no overlongs, surrogates, or code
 * points above U+10FFFF). */
static int valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], cp, len, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			min = 0x80;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			min = 0x800;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			min = 0x10000;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* Random byte strings, biased towards UTF-8-looking bytes: the output
 * always parses; valid input comes back unchanged; invalid input comes
 * back as valid UTF-8 with its ASCII bytes in order. */
static void test_json_str_random_bytes(void **state)
{
	static const unsigned char pool[] = {
		'a', 'z', ' ', '"', '\\', '\n', 0, 0x1f, 0x7f, 0x80, 0xbf,
		0xc0, 0xc2, 0xc3, 0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4,
		0xf5, 0xff, 0xa9, 0x82, 0x9f, 0x98,
	};
	int valid = 0, invalid = 0;

	for (int trial = 0; trial < 20000; trial++) {
		unsigned char in[24];
		size_t n = (size_t)(rnd() % sizeof in), m;
		char *out;

		for (size_t i = 0; i < n; i++)
			in[i] = rnd() % 2 ? pool[rnd() % sizeof pool]
					  : (unsigned char)rnd();
		out = roundtrip((const char *)in, n, &m, NULL);
		if (valid_utf8(in, n)) {
			valid++;
			assert_int_equal(m, n);
			assert_memory_equal(out, in, n);
		} else {
			size_t k = 0;

			invalid++;
			/* ASCII bytes of the input appear in order */
			for (size_t i = 0; i < n; i++) {
				if (in[i] >= 0x80)
					continue;
				while (k < m && (unsigned char)out[k] != in[i])
					k++;
				if (k == m)
					fail_msg("trial %d: ASCII byte 0x%02x "
						 "lost", trial, in[i]);
				k++;
			}
		}
		free(out);
	}
	assert_true(valid > 100 && invalid > 100);
}

static void test_json_double(void **state)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_add_json_double(&sb, 1);
	assert_string_equal(sb.buf, "1.0");
	sb_reset(&sb);
	sb_add_json_double(&sb, 0.5);
	assert_string_equal(sb.buf, "0.5");
	sb_reset(&sb);
	sb_add_json_double(&sb, (1 + (1 - 1.0 / 9)) / 2);
	assert_string_equal(sb.buf, "0.944444444444444");
	sb_reset(&sb);
	sb_add_json_double(&sb, NAN);
	assert_string_equal(sb.buf, "null");
	sb_reset(&sb);
	sb_add_json_double(&sb, INFINITY);
	assert_string_equal(sb.buf, "null");
	sb_reset(&sb);
	sb_add_json_double(&sb, -3);
	assert_string_equal(sb.buf, "-3.0");
	sb_reset(&sb);
	/* every output parses as a JSON number */
	for (int i = 0; i < 2000; i++) {
		double d = (double)(int64_t)rnd() /
			   (double)(1ULL << (rnd() % 63));
		json_t *v;

		sb_reset(&sb);
		sb_add_json_double(&sb, d);
		v = json_loads(sb.buf, JSON_DECODE_ANY, NULL);
		if (!v || !json_is_number(v))
			fail_msg("%g written as %s", d, sb.buf);
		json_decref(v);
	}
	sb_release(&sb);
}

static void test_iso8601_known(void **state)
{
	char buf[32];

	scen_iso8601(0, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	scen_iso8601(1795835529.0, buf);
	assert_string_equal(buf, "2026-11-28T03:12:09Z");
	/* fractions are cut, not rounded up into the next second */
	scen_iso8601(1795835529.999, buf);
	assert_string_equal(buf, "2026-11-28T03:12:09Z");
	scen_iso8601(951782400.0, buf);	/* a leap day */
	assert_string_equal(buf, "2000-02-29T00:00:00Z");
	assert_true(scen_parse_iso8601("2026-11-28T03:12:09Z") == 1795835529.0);
	assert_true(scen_parse_iso8601("2026-11-28") == 1795824000.0);
	assert_true(scen_parse_iso8601("1970-01-01T00:00:00Z") == 0);
	assert_true(scen_parse_iso8601("2000-02-29") == 951782400.0);
}

static void test_iso8601_round_trip(void **state)
{
	char buf[32];

	for (int i = 0; i < 20000; i++) {
		double t = (double)(rnd() % 4102444800ULL);	/* to 2100 */

		scen_iso8601(t, buf);
		assert_int_equal(strlen(buf), 20);
		if (scen_parse_iso8601(buf) != t)
			fail_msg("%s parsed as %.0f, want %.0f", buf,
				 scen_parse_iso8601(buf), t);
		/* the date alone is that day's midnight */
		buf[10] = 0;
		assert_true(scen_parse_iso8601(buf) ==
			    t - fmod(t, 86400.0));
	}
}

static void test_iso8601_bad(void **state)
{
	static const char *const bad[] = {
		"", "2026", "2026-11", "2026-13-01", "2026-00-10",
		"2026-11-00", "2026-11-32", "2026-11-28T24:00:00Z",
		"2026-11-28T03:60:00Z", "2026-11-28T03:12Z", "2026-11-28T",
		"2026-11-28X", "2026-11-28T03:12:09Zjunk", "yesterday",
		"28/11/2026", "2026-11-28T03:12:09+02:00",
	};

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (scen_parse_iso8601(bad[i]) != -1)
			fail_msg("\"%s\" parsed as %.0f", bad[i],
				 scen_parse_iso8601(bad[i]));
}

/* A date that does not exist is an error, not the next month's day. */
static void test_iso8601_impossible_dates(void **state)
{
	static const char *const bad[] = {
		"2026-02-31", "2026-02-29", "2026-04-31",
		"2026-02-30T00:00:00Z",
	};

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (scen_parse_iso8601(bad[i]) != -1)
			fail_msg("\"%s\" parsed as %.0f (%s)", bad[i],
				 scen_parse_iso8601(bad[i]), "not a date");
	assert_true(scen_parse_iso8601("2024-02-29") > 0);
}

static double real_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* SCEN_CLOCK_SCALE=1000 (set in main before any reading): virtual time
 * runs 1000 times faster than real time from SCEN_CLOCK_EPOCH. */
static void test_clock_scale(void **state)
{
	double epoch = atof(getenv("SCEN_CLOCK_EPOCH"));
	double r0, v0, r1, v1;
	struct timespec ts = {0, 30 * 1000 * 1000};

	assert_true(scen_clock_scale() == CLOCK_SCALE);
	r0 = real_time();
	v0 = scen_now();
	nanosleep(&ts, NULL);
	r1 = real_time();
	v1 = scen_now();
	/* 30 ms of real time are about 30 s of virtual time */
	assert_true(v1 - v0 >= 25);
	assert_true(fabs((v1 - v0) - (r1 - r0) * CLOCK_SCALE) < 5);
	/* anchored at the epoch */
	assert_true(fabs(v1 - (epoch + (r1 - epoch) * CLOCK_SCALE)) < 5);
	/* virtual seconds to real milliseconds */
	assert_true(fabs(scen_real_ms(60) - 60) < 1e-9);
	assert_true(fabs(scen_real_ms(0.5) - 0.5) < 1e-9);
	/* monotonic time is real time */
	double m0 = scen_mono();

	nanosleep(&ts, NULL);
	assert_true(scen_mono() - m0 < 5);
}

static void test_random64(void **state)
{
	uint64_t a = scen_random64(), b = scen_random64(), c = scen_random64();

	assert_false(a == b && b == c);
}

static void test_xstrndup_and_xasprintf(void **state)
{
	char *s = xstrndup("abcdef", 3), *t;

	assert_string_equal(s, "abc");
	free(s);
	s = xstrndup("", 0);
	assert_string_equal(s, "");
	free(s);
	t = xasprintf("%s-%05d-%c", "x", 42, 'z');
	assert_string_equal(t, "x-00042-z");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clock_scale),
		cmocka_unit_test(test_strbuf_basics),
		cmocka_unit_test(test_strbuf_grows),
		cmocka_unit_test(test_json_str_escapes),
		cmocka_unit_test(test_json_str_all_ascii_roundtrip),
		cmocka_unit_test(test_json_str_keeps_utf8),
		cmocka_unit_test(test_json_str_replaces_invalid_bytes),
		cmocka_unit_test(test_json_str_random_bytes),
		cmocka_unit_test(test_json_double),
		cmocka_unit_test(test_iso8601_known),
		cmocka_unit_test(test_iso8601_round_trip),
		cmocka_unit_test(test_iso8601_bad),
		cmocka_unit_test(test_iso8601_impossible_dates),
		cmocka_unit_test(test_random64),
		cmocka_unit_test(test_xstrndup_and_xasprintf),
	};
	char epoch[32];

	/* The clock reads these once, at its first reading: before any. */
	snprintf(epoch, sizeof epoch, "%.3f", real_time() - 100);
	setenv("SCEN_CLOCK_SCALE", "1000", 1);
	setenv("SCEN_CLOCK_EPOCH", epoch, 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
