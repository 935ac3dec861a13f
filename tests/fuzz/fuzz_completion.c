/* fuzz_completion.c — libFuzzer target for the provider-response parser
 * (scen_parse_completion) and for the 429 message reader
 * (scen_parse_try_again). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen/provider.h"
#include "scen/util.h"

static void die(const char *what)
{
	fprintf(stderr, "fuzz_completion: invariant broken: %s\n", what);
	abort();
}

static void check_duration(double d)
{
	if (!(d == -1 || (d >= 0 && isfinite(d))))
		die("a duration neither -1 nor finite and >= 0");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scen_completion c;
	char *text;
	int rc;

	/* Poison, as a caller's stack would be: the parser sets everything. */
	memset(&c, 0x5a, sizeof c);
	rc = scen_parse_completion((const char *)data, size, &c);
	if (rc != 0 && rc != -1)
		die("return value neither 0 nor -1");
	if (!memchr(c.finish_reason, 0, sizeof c.finish_reason))
		die("finish_reason not NUL-terminated");
	if (rc < 0 && (c.content || c.error_message))
		die("a refused body left strings behind");
	if (c.content)
		(void)strlen(c.content);
	if (c.error_message)
		check_duration(scen_parse_try_again(c.error_message));
	scen_completion_release(&c);
	if (c.content || c.error_message)
		die("release left pointers behind");
	scen_completion_release(&c);	/* twice is harmless */

	text = xstrndup((const char *)data, size);
	check_duration(scen_parse_try_again(text));
	free(text);
	return 0;
}
