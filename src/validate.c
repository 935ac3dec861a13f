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

/* A copy of s lower-cased (ASCII and the Latin-1 letters À..Þ), with
 * typographic apostrophes (U+2018, U+2019) made plain, so "I can’t"
 * matches a reject phrase "i can't" and the other way round. */
static char *fold(const char *s)
{
	size_t len = strlen(s), j = 0;
	char *out = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0xE2 && i + 2 < len &&
		    (unsigned char)s[i + 1] == 0x80 &&
		    ((unsigned char)s[i + 2] == 0x98 ||
		     (unsigned char)s[i + 2] == 0x99)) {
			out[j++] = '\'';
			i += 2;
			continue;
		}
		if (c == 0xC3 && i + 1 < len &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9E &&
		    (unsigned char)s[i + 1] != 0x97) {	/* not × */
			out[j++] = (char)c;
			out[j++] = (char)((unsigned char)s[++i] + 0x20);
			continue;
		}
		out[j++] = (char)tolower(c);
	}
	out[j] = 0;
	return out;
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
		char *low = fold(content);
		const char *why = NULL;
		for (size_t i = 0; i < t->validate.nreject && !why; i++) {
			char *phrase = fold(t->validate.reject[i]);
			if (strstr(low, phrase))
				why = "refusal";
			free(phrase);
		}
		free(low);
		if (why)
			return why;
	}
	return NULL;
}
