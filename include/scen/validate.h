/* validate.h — the research-integrity check of one generated text
 * (scen(7), Research integrity): never store as servable what fails it. */
#ifndef SCEN_VALIDATE_H
#define SCEN_VALIDATE_H

#include "scen/config.h"

/*
 * NULL when content may be stored and served; else the reason, one of
 * "empty", "truncated" (finish_reason other than stop), "too_short",
 * "too_long", "refusal" (contains a reject phrase, case-insensitively).
 */
const char *scen_validate(const struct scen_template *t, const char *content,
			  const char *finish_reason);
/* Characters (UTF-8 code points) in s. */
long scen_utf8_chars(const char *s);

#endif
