/* test_stats.c — unit tests of the small contracts behind scen-cache-stats
 * and scen-export: nearest-rank quantiles, Prometheus label and HTML
 * escaping, RFC 4180 fields, number and time formats, and the --since
 * and --until argument forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scen/db_report.h"
#include "scen/export.h"
#include "scen/stats.h"
#include "scen/util.h"

static void test_percentile(void **state)
{
	(void)state;
	double v[20];
	for (int i = 0; i < 20; i++)
		v[i] = 20 - i;	/* 20 .. 1, unsorted */
	assert_true(scen_percentile(v, 20, 0.5) == 10);
	assert_true(scen_percentile(v, 20, 0.95) == 19);
	assert_true(scen_percentile(v, 20, 1.0) == 20);
	assert_true(scen_percentile(v, 20, 0.01) == 1);
	double one = 7;
	assert_true(scen_percentile(&one, 1, 0.5) == 7);
	assert_true(scen_percentile(&one, 1, 0.95) == 7);
	double two[] = {3, 1};
	assert_true(scen_percentile(two, 2, 0.5) == 1);
	assert_true(scen_percentile(two, 2, 0.95) == 3);
	assert_true(isnan(scen_percentile(NULL, 0, 0.5)));
}

static void test_levels(void **state)
{
	(void)state;
	assert_string_equal(scen_level_name(SCEN_LEVEL_OK), "OK");
	assert_string_equal(scen_level_name(SCEN_LEVEL_WARNING), "WARNING");
	assert_string_equal(scen_level_name(SCEN_LEVEL_CRITICAL), "CRITICAL");
	assert_string_equal(scen_level_name(SCEN_LEVEL_UNKNOWN), "UNKNOWN");
}

static void test_prom_label(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	scen_prom_label(&sb, "a\"b\\c\nd e");
	assert_string_equal(sb.buf, "a\\\"b\\\\c\\nd e");
	sb_reset(&sb);
	scen_prom_label(&sb, "plain-name_1.2");
	assert_string_equal(sb.buf, "plain-name_1.2");
	sb_release(&sb);
}

static void test_html_escape(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	scen_html_escape(&sb, "<b>\"Tom\" & 'Jerry'</b>");
	assert_string_equal(sb.buf,
			    "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;"
			    "&lt;/b&gt;");
	sb_release(&sb);
}

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

static void test_parse_time(void **state)
{
	(void)state;
	double now = 1795835529, t;
	assert_int_equal(scen_report_parse_time("90s", now, &t), 0);
	assert_true(t == now - 90);
	assert_int_equal(scen_report_parse_time("30m", now, &t), 0);
	assert_true(t == now - 1800);
	assert_int_equal(scen_report_parse_time("12h", now, &t), 0);
	assert_true(t == now - 43200);
	assert_int_equal(scen_report_parse_time("7d", now, &t), 0);
	assert_true(t == now - 7 * 86400);
	assert_int_equal(scen_report_parse_time("2w", now, &t), 0);
	assert_true(t == now - 14 * 86400);
	assert_int_equal(scen_report_parse_time("1.5h", now, &t), 0);
	assert_true(t == now - 5400);
	assert_int_equal(scen_report_parse_time("2026-11-28", now, &t), 0);
	assert_true(t == 1795824000);
	assert_int_equal(scen_report_parse_time("2026-11-28T03:12:09Z", now,
						 &t), 0);
	assert_true(t == 1795835529);
	const char *bad[] = {
		"", "yesterday", "7", "7y", "7dd", "-3h", "h", "2026-13-01",
		"2026-11-28T25:00:00Z", "2026-11-28 junk",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(scen_report_parse_time(bad[i], now, &t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentile),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_prom_label),
		cmocka_unit_test(test_html_escape),
		cmocka_unit_test(test_csv_field),
		cmocka_unit_test(test_number),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_parse_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
