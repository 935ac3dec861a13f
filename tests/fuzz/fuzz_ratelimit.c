/* fuzz_ratelimit.c — libFuzzer target for the rate-limit header reader
 * (scen_ratelimit_header) and Go-style durations (scen_parse_duration). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen/provider.h"

static void die(const char *what)
{
	fprintf(stderr, "fuzz_ratelimit: invariant broken: %s\n", what);
	abort();
}

static void check_duration(double d)
{
	if (!(d == -1 || (d >= 0 && isfinite(d))))
		die("a duration neither -1 nor finite and >= 0");
}

/* What a header can leave in rl: counts >= 0, durations finite >= 0. */
static void check_rl(const struct scen_ratelimit *rl)
{
	if (rl->limit_req < 0 || rl->remaining_req < 0 ||
	    rl->limit_tok < 0 || rl->remaining_tok < 0)
		die("a negative count");
	if (!(rl->reset_req_s >= 0 && isfinite(rl->reset_req_s)) ||
	    !(rl->reset_tok_s >= 0 && isfinite(rl->reset_tok_s)) ||
	    !(rl->retry_after_s >= 0 && isfinite(rl->retry_after_s)))
		die("a negative or non-finite duration");
	if ((rl->has_req & ~1) || (rl->has_tok & ~1) || (rl->has_retry & ~1))
		die("a has_* flag neither 0 nor 1");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scen_ratelimit rl;
	const char *p = (const char *)data, *end = p + size;

	/* As libcurl hands them over: one line at a time, each with its
	 * line ending, not NUL-terminated (each line is copied to a buffer of
	 * its exact size, so a read past it shows). */
	memset(&rl, 0, sizeof rl);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		char *line = malloc(n ? n : 1);

		memcpy(line, p, n);
		scen_ratelimit_header(&rl, line, n);
		free(line);
		check_rl(&rl);
		p += n;
	}
	check_duration(scen_parse_duration((const char *)data, size));
	return 0;
}
