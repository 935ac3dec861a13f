/* validate.c — decides whether a generated text is fit to serve. */
#include "scen/validate.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "scen/util.h"

long scen_utf8_chars(const char *s)
{
	long n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

const char *scen_validate(const struct scen_template *t, const char *content,
			  const char *finish_reason)
{
	if (!content)
		return "empty";
	const char *p = content;
	while (*p && isspace((unsigned char)*p))
		p++;
	if (!*p)
		return "empty";
	if (!finish_reason || strcmp(finish_reason, "stop"))
		return "truncated";
	long n = scen_utf8_chars(content);
	if (n < t->validate.min_chars)
		return "too_short";
	if (n > t->validate.max_chars)
		return "too_long";
	if (t->validate.nreject) {
		size_t len = strlen(content);
		char *low = xmalloc(len + 1);
		for (size_t i = 0; i <= len; i++)
			low[i] = (char)tolower((unsigned char)content[i]);
		/* typographic apostrophes count as plain ones */
		for (size_t i = 0, j = 0; i <= len; i++) {
			if (i + 2 < len + 1 &&
			    (unsigned char)low[i] == 0xE2 &&
			    (unsigned char)low[i + 1] == 0x80 &&
			    ((unsigned char)low[i + 2] == 0x98 ||
			     (unsigned char)low[i + 2] == 0x99)) {
				low[j++] = '\'';
				i += 2;
				continue;
			}
			low[j++] = low[i];
		}
		const char *why = NULL;
		for (size_t i = 0; i < t->validate.nreject && !why; i++)
			if (strstr(low, t->validate.reject[i]))
				why = "refusal";
		free(low);
		if (why)
			return why;
	}
	return NULL;
}
