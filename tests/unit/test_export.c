/* test_export.c — unit tests of scen-export's formats (src/export.c):
 * RFC 4180 fields, texts a spreadsheet would run as formulas, numbers in
 * their shortest exact form, and ISO 8601 times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scen/export.h"
#include "scen/util.h"

static void csv(struct strbuf *sb, const char *s)
{
	sb_reset(sb);
	scen_csv_field(sb, s, strlen(s));
}

static void test_csv_field(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	csv(&sb, "plain text");
	assert_string_equal(sb.buf, "plain text");
	csv(&sb, "");
	assert_string_equal(sb.buf, "");
	csv(&sb, "a,b");
	assert_string_equal(sb.buf, "\"a,b\"");
	csv(&sb, "say \"hi\"");
	assert_string_equal(sb.buf, "\"say \"\"hi\"\"\"");
	csv(&sb, "\"");
	assert_string_equal(sb.buf, "\"\"\"\"");
	csv(&sb, "line\nbreak");
	assert_string_equal(sb.buf, "\"line\nbreak\"");
	csv(&sb, "cr\ronly");
	assert_string_equal(sb.buf, "\"cr\ronly\"");
	csv(&sb, " spaces and\ttabs ");
	assert_string_equal(sb.buf, " spaces and\ttabs ");
	/* a NUL inside the field is copied, not an end */
	sb_reset(&sb);
	scen_csv_field(&sb, "a\0,b", 4);
	assert_int_equal(sb.len, 6);
	assert_memory_equal(sb.buf, "\"a\0,b\"", 6);
	sb_release(&sb);
}

/* scen_csv_text: a leading =, +, -, @, tab or CR gets a ' (inside the
 * quotes when the field needs them); anything else is scen_csv_field's. */
static void csv_text(struct strbuf *sb, const char *s)
{
	sb_reset(sb);
	scen_csv_text(sb, s, strlen(s));
}

static void test_csv_text(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	csv_text(&sb, "=HYPERLINK(\"http://x\")");
	assert_string_equal(sb.buf, "\"'=HYPERLINK(\"\"http://x\"\")\"");
	csv_text(&sb, "+1");
	assert_string_equal(sb.buf, "'+1");
	csv_text(&sb, "-2+3");
	assert_string_equal(sb.buf, "'-2+3");
	csv_text(&sb, "@SUM(A1:A2)");
	assert_string_equal(sb.buf, "'@SUM(A1:A2)");
	csv_text(&sb, "\t=1");
	assert_string_equal(sb.buf, "'\t=1");
	csv_text(&sb, "\r=1,2");
	assert_string_equal(sb.buf, "\"'\r=1,2\"");
	/* not at the start, or not one of them: as it is */
	csv_text(&sb, "a=1");
	assert_string_equal(sb.buf, "a=1");
	csv_text(&sb, "'quoted'");
	assert_string_equal(sb.buf, "'quoted'");
	/* after blanks and line breaks that a spreadsheet may trim, and in
	 * full width */
	csv_text(&sb, " =1");
	assert_string_equal(sb.buf, "' =1");
	csv_text(&sb, "\n=2+2");
	assert_string_equal(sb.buf, "\"'\n=2+2\"");
	csv_text(&sb, "\xef\xbc\x9d" "3+3");
	assert_string_equal(sb.buf, "'\xef\xbc\x9d" "3+3");
	csv_text(&sb, "\xef\xbc\xa0" "x");
	assert_string_equal(sb.buf, "'\xef\xbc\xa0" "x");
	csv_text(&sb, " a");
	assert_string_equal(sb.buf, " a");
	csv_text(&sb, "\xef\xbc\x91");	/* U+FF11, a full-width 1 */
	assert_string_equal(sb.buf, "\xef\xbc\x91");
	csv_text(&sb, "");
	assert_string_equal(sb.buf, "");
	csv_text(&sb, "{\"a\":1}");
	assert_string_equal(sb.buf, "\"{\"\"a\"\":1}\"");
	/* a leading NUL is no formula */
	sb_reset(&sb);
	scen_csv_text(&sb, "\0=", 2);
	assert_int_equal(sb.len, 2);
	sb_release(&sb);
}

static void num(struct strbuf *sb, double d, const char *want)
{
	sb_reset(sb);
	scen_export_number(sb, d);
	assert_string_equal(sb->buf, want);
	if (isfinite(d))
		assert_true(strtod(sb->buf, NULL) == d);
}

static void test_number(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	num(&sb, 1, "1");
	num(&sb, 0, "0");
	num(&sb, -3, "-3");
	num(&sb, 0.9, "0.9");
	num(&sb, 0.1 + 0.2, "0.30000000000000004");
	num(&sb, 17.0 / 18.0, "0.9444444444444444");
	num(&sb, 1764300000.25, "1764300000.25");
	num(&sb, 1e300, "1e+300");
	num(&sb, NAN, "null");
	num(&sb, INFINITY, "null");
	sb_release(&sb);
}

static void tm_is(struct strbuf *sb, double t, const char *want)
{
	sb_reset(sb);
	scen_export_time(sb, t);
	assert_string_equal(sb->buf, want);
}

static void test_time(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	tm_is(&sb, 0, "1970-01-01T00:00:00.000Z");
	tm_is(&sb, 1795835529.123, "2026-11-28T03:12:09.123Z");
	/* the same second again, then the next: the cached date moves */
	tm_is(&sb, 1795835529.5, "2026-11-28T03:12:09.500Z");
	tm_is(&sb, 1795835529.9996, "2026-11-28T03:12:10.000Z");
	tm_is(&sb, 1795910399.999, "2026-11-28T23:59:59.999Z");
	tm_is(&sb, 1795910400, "2026-11-29T00:00:00.000Z");
	tm_is(&sb, 951782400, "2000-02-29T00:00:00.000Z");
	sb_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_field),
		cmocka_unit_test(test_csv_text),
		cmocka_unit_test(test_number),
		cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
