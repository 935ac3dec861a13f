/* provider.c — the one place that speaks HTTP: libcurl's multi interface
 * for chat-completion calls, and the parsers for Groq's answers. */
#include "scen/provider.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

double scen_parse_duration(const char *s, size_t n)
{
	double total = 0;
	size_t i = 0;
	int any = 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	while (n > i && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
			 s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	if (i == n)
		return -1;
	while (i < n) {
		char num[32];
		size_t k = 0;
		while (i < n && k < sizeof num - 1 &&
		       (isdigit((unsigned char)s[i]) || s[i] == '.'))
			num[k++] = s[i++];
		num[k] = 0;
		if (!k || !strcmp(num, "."))
			return -1;
		char *end;
		double v = strtod(num, &end);
		if (*end)
			return -1;
		if (i == n) {	/* a bare number: seconds */
			if (any || v > 1e9)
				return -1;
			return v;
		}
		double unit;
		if (n - i >= 2 && s[i] == 'm' && s[i + 1] == 's') {
			unit = 0.001;
			i += 2;
		} else if (n - i >= 2 && s[i] == 'u' && s[i + 1] == 's') {
			unit = 1e-6;
			i += 2;
		} else if (n - i >= 2 && s[i] == 'n' && s[i + 1] == 's') {
			unit = 1e-9;
			i += 2;
		} else if (s[i] == 'h') {
			unit = 3600;
			i++;
		} else if (s[i] == 'm') {
			unit = 60;
			i++;
		} else if (s[i] == 's') {
			unit = 1;
			i++;
		} else {
			return -1;
		}
		total += v * unit;
		any = 1;
	}
	/* no wait worth honouring is longer than a few years */
	return total <= 1e9 ? total : -1;
}

static int header_is(const char *line, size_t n, const char *name,
		     const char **val, size_t *vlen)
{
	size_t k = strlen(name);
	if (n <= k || strncasecmp(line, name, k) || line[k] != ':')
		return 0;
	const char *v = line + k + 1;
	const char *e = line + n;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' ||
			 e[-1] == '\t'))
		e--;
	*val = v;
	*vlen = (size_t)(e - v);
	return 1;
}

static long header_long(const char *v, size_t n)
{
	char buf[32];
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, v, n);
	buf[n] = 0;
	char *end;
	long x = strtol(buf, &end, 10);
	return *end || x < 0 ? -1 : x;
}

void scen_ratelimit_header(struct scen_ratelimit *rl, const char *line,
			   size_t n)
{
	const char *v;
	size_t vn;
	long x;
	double d;
	/* a new status line (redirect or 100-continue) resets what was read */
	if (n > 5 && !strncmp(line, "HTTP/", 5))
		memset(rl, 0, sizeof *rl);
	else if (header_is(line, n, "x-ratelimit-limit-requests", &v, &vn)) {
		if ((x = header_long(v, vn)) >= 0)
			rl->limit_req = x;
	} else if (header_is(line, n, "x-ratelimit-remaining-requests", &v,
			     &vn)) {
		if ((x = header_long(v, vn)) >= 0) {
			rl->remaining_req = x;
			rl->has_req = 1;
		}
	} else if (header_is(line, n, "x-ratelimit-reset-requests", &v, &vn)) {
		if ((d = scen_parse_duration(v, vn)) >= 0)
			rl->reset_req_s = d;
	} else if (header_is(line, n, "x-ratelimit-limit-tokens", &v, &vn)) {
		if ((x = header_long(v, vn)) >= 0)
			rl->limit_tok = x;
	} else if (header_is(line, n, "x-ratelimit-remaining-tokens", &v,
			     &vn)) {
		if ((x = header_long(v, vn)) >= 0) {
			rl->remaining_tok = x;
			rl->has_tok = 1;
		}
	} else if (header_is(line, n, "x-ratelimit-reset-tokens", &v, &vn)) {
		if ((d = scen_parse_duration(v, vn)) >= 0)
			rl->reset_tok_s = d;
	} else if (header_is(line, n, "retry-after", &v, &vn)) {
		if ((d = scen_parse_duration(v, vn)) >= 0) {
			rl->retry_after_s = d;
			rl->has_retry = 1;
		}
	}
}

double scen_parse_try_again(const char *msg)
{
	static const char key[] = "try again in ";
	const char *p = msg ? strcasestr(msg, key) : NULL;
	if (!p)
		return -1;
	p += sizeof key - 1;
	size_t n = 0;
	while (p[n] && (isalnum((unsigned char)p[n]) || p[n] == '.'))
		n++;
	/* a sentence's full stop is not part of the duration */
	while (n && p[n - 1] == '.')
		n--;
	return scen_parse_duration(p, n);
}

int scen_parse_completion(const char *body, size_t n,
			  struct scen_completion *out)
{
	memset(out, 0, sizeof *out);
	json_t *o = json_loadb(body, n, 0, NULL);
	if (!o)
		return -1;
	int rc = -1;
	if (!json_is_object(o))
		goto out;
	json_t *err = json_object_get(o, "error");
	if (json_is_object(err)) {
		json_t *m = json_object_get(err, "message");
		if (json_is_string(m))
			out->error_message = xstrdup(json_string_value(m));
		rc = 0;
		goto out;
	}
	json_t *ch = json_object_get(o, "choices");
	json_t *c0 = json_is_array(ch) ? json_array_get(ch, 0) : NULL;
	if (!json_is_object(c0))
		goto out;
	json_t *msg = json_object_get(c0, "message");
	json_t *content = json_is_object(msg) ? json_object_get(msg, "content")
					       : NULL;
	if (json_is_string(content))
		out->content = xstrndup(json_string_value(content),
					json_string_length(content));
	else if (content && !json_is_null(content))
		goto out;
	json_t *fr = json_object_get(c0, "finish_reason");
	if (json_is_string(fr))
		snprintf(out->finish_reason, sizeof out->finish_reason, "%s",
			 json_string_value(fr));
	json_t *u = json_object_get(o, "usage");
	if (json_is_object(u)) {
		json_t *pt = json_object_get(u, "prompt_tokens");
		json_t *ct = json_object_get(u, "completion_tokens");
		/* counts only: negative or absurd ones are not believed */
		if (json_is_integer(pt) && json_integer_value(pt) >= 0 &&
		    json_integer_value(pt) < 100000000)
			out->prompt_tokens = (long)json_integer_value(pt);
		if (json_is_integer(ct) && json_integer_value(ct) >= 0 &&
		    json_integer_value(ct) < 100000000)
			out->completion_tokens = (long)json_integer_value(ct);
	}
	rc = 0;
out:
	json_decref(o);
	if (rc < 0)
		scen_completion_release(out);
	return rc;
}

void scen_completion_release(struct scen_completion *c)
{
	free(c->content);
	free(c->error_message);
	c->content = c->error_message = NULL;
}

void scen_completion_body(struct strbuf *sb, const struct scen_config *cfg,
			  const char *system, const char *user)
{
	sb_adds(sb, "{\"model\":");
	sb_add_json_str(sb, cfg->provider.model, strlen(cfg->provider.model));
	sb_adds(sb, ",\"messages\":[");
	if (system && *system) {
		sb_adds(sb, "{\"role\":\"system\",\"content\":");
		sb_add_json_str(sb, system, strlen(system));
		sb_adds(sb, "},");
	}
	sb_adds(sb, "{\"role\":\"user\",\"content\":");
	sb_add_json_str(sb, user, strlen(user));
	sb_addf(sb, "}],\"temperature\":%.17g,\"max_tokens\":%ld}",
		cfg->provider.temperature, cfg->provider.max_tokens);
}

struct scen_http {
	CURLM *multi;
};

static int curl_ready;

struct scen_http *scen_http_new(void)
{
	if (!curl_ready) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl_ready = 1;
	}
	struct scen_http *h = xcalloc(1, sizeof *h);
	h->multi = curl_multi_init();
	if (!h->multi) {
		scen_error("cannot initialise libcurl");
		abort();
	}
	return h;
}

void scen_http_free(struct scen_http *h)
{
	if (!h)
		return;
	curl_multi_cleanup(h->multi);
	free(h);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct scen_call *c = ud;
	/* an answer larger than any scenario is a broken one */
	if (c->body.len + size * n > 8 * 1024 * 1024)
		return 0;
	sb_add(&c->body, p, size * n);
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct scen_call *c = ud;
	scen_ratelimit_header(&c->rl, p, size * n);
	return size * n;
}

struct scen_call *scen_http_start(struct scen_http *h, const char *url,
				  const char *key, const char *body,
				  double timeout_s, void *owner)
{
	struct scen_call *c = xcalloc(1, sizeof *c);
	CURL *e = curl_easy_init();
	if (!e) {
		scen_error("cannot initialise a libcurl handle");
		abort();
	}
	c->owner = owner;
	c->easy_ = e;
	sb_init(&c->body);
	sb_init(&c->req_);
	sb_adds(&c->req_, body);
	struct strbuf auth;
	sb_init(&auth);
	sb_adds(&auth, "Authorization: Bearer ");
	sb_adds(&auth, key ? key : "");
	struct curl_slist *hd = curl_slist_append(NULL, auth.buf);
	/* wipe our copy: the key lives only in the config and curl's list */
	memset(auth.buf, 0, auth.len);
	sb_release(&auth);
	hd = curl_slist_append(hd, "Content-Type: application/json");
	hd = curl_slist_append(hd, "Expect:");
	c->headers_ = hd;
	double real_ms = scen_real_ms(timeout_s);
	long ms = real_ms < 1e9 ? (long)ceil(real_ms) : 1000000000L;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->req_.buf);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)c->req_.len);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 ms > 0 && ms < 10000 ? ms : 10000);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "scen/" SCEN_VERSION);
	curl_easy_setopt(e, CURLOPT_PRIVATE, c);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	c->started = scen_mono();
	curl_multi_add_handle(h->multi, e);
	return c;
}

int scen_http_wait(struct scen_http *h, int fd, int timeout_ms,
		   int *fd_ready)
{
	struct curl_waitfd wfd = {.fd = fd, .events = CURL_WAIT_POLLIN};
	int n = 0;
	if (timeout_ms < 0)
		timeout_ms = 0;
	CURLMcode mc = curl_multi_poll(h->multi, fd >= 0 ? &wfd : NULL,
				       fd >= 0 ? 1 : 0, timeout_ms, &n);
	if (fd_ready)
		*fd_ready = fd >= 0 && (wfd.revents & CURL_WAIT_POLLIN);
	return mc == CURLM_OK ? 0 : -1;
}

struct scen_call *scen_http_done(struct scen_http *h)
{
	int running, left;
	curl_multi_perform(h->multi, &running);
	CURLMsg *m = curl_multi_info_read(h->multi, &left);
	while (m && m->msg != CURLMSG_DONE)
		m = curl_multi_info_read(h->multi, &left);
	if (!m)
		return NULL;
	struct scen_call *c;
	curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
	c->curl_code = m->data.result;
	curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &c->status);
	if (c->curl_code != CURLE_OK && !c->errbuf[0])
		snprintf(c->errbuf, sizeof c->errbuf, "%s",
			 curl_easy_strerror(m->data.result));
	c->elapsed_ms = (scen_mono() - c->started) * 1000;
	curl_multi_remove_handle(h->multi, m->easy_handle);
	return c;
}

void scen_call_free(struct scen_call *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->easy_);
	curl_slist_free_all(c->headers_);
	sb_release(&c->body);
	sb_release(&c->req_);
	free(c);
}
