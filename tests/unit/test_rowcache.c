/* test_rowcache.c — unit tests of the in-memory rows behind cache hits
 * (src/rowcache.c): what is kept comes back as stored, the byte budget
 * holds, rows served recently outlive the others, a dropped row is gone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen/rowcache.h"
#include "scen/util.h"

static struct scen_scenario_row row(int64_t id, size_t textlen)
{
	struct scen_scenario_row r;
	memset(&r, 0, sizeof r);
	snprintf(r.sid, sizeof r.sid, "sc-%016llx", (unsigned long long)id);
	r.text = xmalloc(textlen + 1);
	memset(r.text, 'a' + (int)(id % 26), textlen);
	r.text[textlen] = 0;
	snprintf(r.model, sizeof r.model, "m");
	r.created_at = (double)id;
	r.position = id;
	return r;
}

static void test_kept_rows_come_back(void **state)
{
	struct scen_rowcache c;
	scen_rowcache_init(&c, 1 << 20);
	for (int64_t id = 1; id <= 100; id++) {
		struct scen_scenario_row r = row(id, 50);
		const struct scen_cached *e = scen_rowcache_put(&c, id, &r);
		assert_null(r.text);	/* taken */
		assert_int_equal(e->rowid, id);
	}
	for (int64_t id = 1; id <= 100; id++) {
		const struct scen_cached *e = scen_rowcache_get(&c, id);
		assert_non_null(e);
		assert_int_equal(e->row.position, id);
		assert_int_equal(strlen(e->row.text), 50);
		assert_int_equal(e->row.text[0], 'a' + (int)(id % 26));
		/* the JSON form is the text, quoted */
		assert_int_equal(e->text_json_len, 52);
		assert_int_equal(e->text_json[0], '"');
		assert_memory_equal(e->text_json + 1, e->row.text, 50);
	}
	assert_null(scen_rowcache_get(&c, 101));
	scen_rowcache_release(&c);
}

static void test_texts_escaped_once(void **state)
{
	struct scen_rowcache c;
	scen_rowcache_init(&c, 1 << 20);
	struct scen_scenario_row r = row(1, 0);
	free(r.text);
	r.text = xstrdup("She said \"no\".\nThen\tleft.");
	snprintf(r.model, sizeof r.model, "org/\"m\"");
	r.created_at = 1795000000.75;
	const struct scen_cached *e = scen_rowcache_put(&c, 1, &r);
	assert_string_equal(e->text_json,
			    "\"She said \\\"no\\\".\\nThen\\tleft.\"");
	/* and the model and the time, as an answer line writes them */
	assert_string_equal(e->model_json, "\"org/\\\"m\\\"\"");
	assert_int_equal(e->model_json_len, strlen(e->model_json));
	assert_string_equal(e->created_iso, "2026-11-18T11:06:40Z");
	scen_rowcache_release(&c);
}

static void test_budget_holds(void **state)
{
	size_t budget = 64 * 1024;
	struct scen_rowcache c;
	scen_rowcache_init(&c, budget);
	for (int64_t id = 1; id <= 5000; id++) {
		struct scen_scenario_row r = row(id, 600);
		scen_rowcache_put(&c, id, &r);
		assert_true(c.bytes <= budget);
	}
	assert_true(scen_rowcache_count(&c) > 10);
	assert_true(c.evicted > 4000);
	assert_int_equal(scen_rowcache_count(&c) + c.evicted, 5000);
	/* the newest is kept */
	assert_non_null(scen_rowcache_get(&c, 5000));
	scen_rowcache_release(&c);
}

static void test_served_rows_outlive_others(void **state)
{
	struct scen_rowcache c;
	scen_rowcache_init(&c, 32 * 1024);
	for (int64_t id = 1; id <= 10; id++) {
		struct scen_scenario_row r = row(id, 600);
		scen_rowcache_put(&c, id, &r);
	}
	assert_int_equal(c.evicted, 0);
	/* row 1 is served over and over while new rows come in */
	for (int64_t id = 11; id <= 200; id++) {
		assert_non_null(scen_rowcache_get(&c, 1));
		struct scen_scenario_row r = row(id, 600);
		scen_rowcache_put(&c, id, &r);
	}
	assert_true(c.evicted > 150);
	assert_non_null(scen_rowcache_get(&c, 1));
	assert_null(scen_rowcache_get(&c, 2));
	/* and the newest rows are there too */
	assert_non_null(scen_rowcache_get(&c, 200));
	assert_non_null(scen_rowcache_get(&c, 199));
	scen_rowcache_release(&c);
}

static void test_drop(void **state)
{
	struct scen_rowcache c;
	scen_rowcache_init(&c, 1 << 20);
	for (int64_t id = 1; id <= 3; id++) {
		struct scen_scenario_row r = row(id, 10);
		scen_rowcache_put(&c, id, &r);
	}
	size_t bytes = c.bytes;
	scen_rowcache_drop(&c, 1);
	scen_rowcache_drop(&c, 99);	/* not kept: nothing happens */
	assert_null(scen_rowcache_get(&c, 1));
	assert_int_equal(scen_rowcache_count(&c), 2);
	assert_true(c.bytes < bytes);
	/* the others are still found */
	assert_int_equal(scen_rowcache_get(&c, 3)->row.position, 3);
	assert_int_equal(scen_rowcache_get(&c, 2)->row.position, 2);
	/* a second put of one row replaces it */
	struct scen_scenario_row r = row(2, 20);
	scen_rowcache_put(&c, 2, &r);
	assert_int_equal(strlen(scen_rowcache_get(&c, 2)->row.text), 20);
	assert_int_equal(scen_rowcache_count(&c), 2);
	scen_rowcache_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_rows_come_back),
		cmocka_unit_test(test_texts_escaped_once),
		cmocka_unit_test(test_budget_holds),
		cmocka_unit_test(test_served_rows_outlive_others),
		cmocka_unit_test(test_drop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
