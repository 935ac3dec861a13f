/* test_stats.c — unit tests of the small contracts behind
 * scen-cache-stats: nearest-rank quantiles, Prometheus label and HTML
 * escaping, and the --since and --until argument forms (scen-export's
 * too). scen-export's formats are in test_export.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scen/db_report.h"
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
		cmocka_unit_test(test_parse_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
