/* test_error.c — unit tests of src/error.c: every kind maps to the exit
 * status scen(7) and the man pages promise, a message is said once, and an
 * error already reported is not said again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "scen/error.h"
#include "capture.h"

static void test_exit_statuses(void **state)
{
	static const struct {
		enum scen_err kind;
		int status;
		const char *name;
	} want[] = {
		{SCEN_OK, 0, "ok"},
		{SCEN_ERR_USAGE, 64, "usage"},
		{SCEN_ERR_DATA, 65, "data"},
		{SCEN_ERR_NOT_SCEN, 65, "not_scen"},
		{SCEN_ERR_UNAVAILABLE, 69, "unavailable"},
		{SCEN_ERR_SOFTWARE, 70, "software"},
		{SCEN_ERR_IO, 74, "io"},
		{SCEN_ERR_DAMAGED, 74, "damaged"},
		{SCEN_ERR_TEMPFAIL, 75, "tempfail"},
		{SCEN_ERR_CONFIG, 78, "config"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(scen_err_exit(want[i].kind), want[i].status);
		assert_string_equal(scen_err_name(want[i].kind), want[i].name);
	}
	/* a kind out of range is a bug, never a success */
	assert_int_equal(scen_err_exit((enum scen_err)99), 70);
}

static void test_fail_and_report(void **state)
{
	struct scen_error e = {0};
	char *said;

	assert_int_equal(scen_fail(&e, SCEN_ERR_IO, "cannot read '%s'", "x.db"),
			 SCEN_ERR_IO);
	assert_int_equal(e.kind, SCEN_ERR_IO);
	capture_start();
	assert_int_equal(scen_err_report(&e), 74);
	said = capture_end();
	assert_non_null(strstr(said, "cannot read 'x.db'"));
	/* one line, said once */
	assert_ptr_equal(strchr(said, '\n'), said + strlen(said) - 1);
	free(said);

	/* already reported (empty message): the status alone */
	struct scen_error quiet = {.kind = SCEN_ERR_CONFIG};
	capture_start();
	assert_int_equal(scen_err_report(&quiet), 78);
	said = capture_end();
	assert_string_equal(said, "");
	free(said);

	/* scen_failed: a message said before is not kept to say again */
	assert_int_equal(scen_failed(&e, SCEN_ERR_DAMAGED), SCEN_ERR_DAMAGED);
	assert_int_equal(e.kind, SCEN_ERR_DAMAGED);
	capture_start();
	assert_int_equal(scen_err_report(&e), 74);
	said = capture_end();
	assert_string_equal(said, "");
	free(said);

	/* no struct to fill: the kind is still returned */
	assert_int_equal(scen_fail(NULL, SCEN_ERR_TEMPFAIL, "busy"),
			 SCEN_ERR_TEMPFAIL);
}

static void test_long_message_cut(void **state)
{
	struct scen_error e;
	char big[2000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	scen_fail(&e, SCEN_ERR_DATA, "%s", big);
	assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_statuses),
		cmocka_unit_test(test_fail_and_report),
		cmocka_unit_test(test_long_message_cut),
	};
	scen_set_progname("test_error");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
