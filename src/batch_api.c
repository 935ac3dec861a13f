/* batch_api.c — the provider's Batch API over libcurl's easy interface
 * (blocking, one handle reused), and the input / output line formats;
 * the online calls are src/provider.c's (scen-pool-fill(1), BATCHES). */
#include "scen/batch_api.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "scen/provider.h"

#define TRIES 3
#define MAX_JSON_ANSWER (8u << 20)	/* no batch object is near this */
#define MAX_CONTENT (1024u << 20)	/* an output file of a night's fill */
#define MAX_RETRY_AFTER_S 5.0
#define MAX_PAGES 1000

struct scen_batch_api {
	CURL *curl;
	char *base;		/* provider.base_url, no trailing slash */
	double timeout_s;
	struct strbuf body;	/* the last answer */
	size_t limit;		/* how much of it is believed */
	struct scen_ratelimit rl;	/* its retry-after */
	char errbuf[CURL_ERROR_SIZE];
};

/* One call: what is sent and how its errors read. */
struct req {
	const char *path;	/* after base_url, escaped */
	const char *json;	/* a POST's JSON body, or NULL */
	const char *filename;	/* an upload's: multipart when set */
	const char *data;
	size_t n;
	double timeout_s;
	size_t limit;
	int refusable;		/* upload, create: 404 / plan words refuse */
	int once;		/* not to be repeated but after a 429 (the
				 * creation: a lost answer may hide a batch
				 * made; the caller looks for it) */
};

struct scen_batch_api *scen_batch_api_new(const struct scen_config *cfg)
{
	struct scen_batch_api *a = xcalloc(1, sizeof *a);
	curl_global_init(CURL_GLOBAL_DEFAULT);	/* counted: freed below */
	a->curl = curl_easy_init();
	if (!a->curl) {
		scen_error("cannot initialise a libcurl handle");
		abort();
	}
	a->base = xstrdup(cfg->provider.base_url ? cfg->provider.base_url
						  : "");
	size_t n = strlen(a->base);
	while (n && a->base[n - 1] == '/')
		a->base[--n] = 0;
	a->timeout_s = cfg->provider.timeout_s > 0 ? cfg->provider.timeout_s
						   : 20;
	sb_init(&a->body);
	return a;
}

void scen_batch_api_free(struct scen_batch_api *a)
{
	if (!a)
		return;
	curl_easy_cleanup(a->curl);
	curl_global_cleanup();
	sb_release(&a->body);
	free(a->base);
	free(a);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct scen_batch_api *a = ud;
	if (a->body.len + size * n > a->limit)
		return 0;	/* curl: "Failure writing output" */
	sb_add(&a->body, p, size * n);
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct scen_batch_api *a = ud;
	scen_ratelimit_header(&a->rl, p, size * n);
	return size * n;
}

static long real_ms(double virtual_s)
{
	double ms = scen_real_ms(virtual_s);
	return ms < 1 ? 1 : ms < 1e9 ? (long)ceil(ms) : 1000000000L;
}

/* One try: the answer's body in a->body, its status in *status (0 when
 * none came); curl's code returned. */
static CURLcode try_once(struct scen_batch_api *a, const char *key,
			 const struct req *r, const char *url, long *status)
{
	CURL *e = a->curl;
	curl_easy_reset(e);	/* keeps the connection */
	sb_reset(&a->body);
	memset(&a->rl, 0, sizeof a->rl);
	a->errbuf[0] = 0;
	a->limit = r->limit;
	struct strbuf auth;
	sb_init(&auth);
	sb_adds(&auth, "Authorization: Bearer ");
	sb_adds(&auth, key ? key : "");
	struct curl_slist *hd = curl_slist_append(NULL, auth.buf);
	memset(auth.buf, 0, auth.len);	/* the key stays in the config */
	sb_release(&auth);
	if (r->json)
		hd = curl_slist_append(hd, "Content-Type: application/json");
	hd = curl_slist_append(hd, "Expect:");
	curl_mime *mime = NULL;
	if (r->filename) {
		mime = curl_mime_init(e);
		curl_mimepart *p = curl_mime_addpart(mime);
		curl_mime_name(p, "purpose");
		curl_mime_data(p, "batch", CURL_ZERO_TERMINATED);
		p = curl_mime_addpart(mime);
		curl_mime_name(p, "file");
		curl_mime_filename(p, r->filename);
		curl_mime_data(p, r->data, r->n);
		curl_easy_setopt(e, CURLOPT_MIMEPOST, mime);
	} else if (r->json) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->json);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
				 (long)strlen(r->json));
	}
	long ms = real_ms(r->timeout_s);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, a->errbuf);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms < 10000 ? ms : 10000);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "scen/" SCEN_VERSION);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	CURLcode cc = curl_easy_perform(e);
	*status = 0;
	if (cc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	else if (!a->errbuf[0])
		snprintf(a->errbuf, sizeof a->errbuf, "%s",
			 curl_easy_strerror(cc));
	/* the handle keeps pointers to both until the next reset */
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(e, CURLOPT_MIMEPOST, NULL);
	for (struct curl_slist *l = hd; l; l = l->next)
		memset(l->data, 0, strlen(l->data));
	curl_slist_free_all(hd);
	curl_mime_free(mime);
	return cc;
}

/* error.code and error.message of an answer {"error": {...}}, "" else. */
static void error_words(const struct strbuf *body, char *code, size_t csz,
			char *msg, size_t msz)
{
	code[0] = msg[0] = 0;
	json_t *o = json_loadb(body->buf, body->len, 0, NULL);
	json_t *err = json_is_object(o) ? json_object_get(o, "error") : NULL;
	json_t *c = json_is_object(err) ? json_object_get(err, "code") : NULL;
	json_t *m = json_is_object(err) ? json_object_get(err, "message")
					: NULL;
	if (json_is_string(c))
		snprintf(code, csz, "%s", json_string_value(c));
	if (json_is_string(m))
		snprintf(msg, msz, "%s", json_string_value(m));
	else if (json_is_string(err))
		snprintf(msg, msz, "%s", json_string_value(err));
	json_decref(o);
}

/* Whether the provider says the plan has no batches. */
static int plan_refuses(const char *code, const char *msg)
{
	return !strcmp(code, "not_available_for_plan") ||
	       (strcasestr(msg, "not available") && strcasestr(msg, "plan") &&
		strcasestr(msg, "batch"));
}

/* What an HTTP status means (as batch_api.h says); detail written unless
 * OK. *retry: worth another try. */
static enum scen_batch_rc classify(const struct scen_batch_api *a,
				   const struct req *r, long status,
				   int *retry, char *detail, size_t dsz)
{
	*retry = 0;
	if (status >= 200 && status < 300)
		return SCEN_BATCH_OK;
	char code[64], msg[512];
	error_words(&a->body, code, sizeof code, msg, sizeof msg);
	snprintf(detail, dsz, "HTTP %ld%s%s%s%s", status, *code ? " " : "",
		 code, *msg ? ": " : "", msg);
	if (status == 403)
		return SCEN_BATCH_REFUSED;
	if (r->refusable && (status == 404 ||
			     (status == 400 && plan_refuses(code, msg))))
		return SCEN_BATCH_REFUSED;
	if (status == 404)
		return SCEN_BATCH_NOT_FOUND;
	if (status == 429 || status >= 500) {
		*retry = 1;
		return SCEN_BATCH_FAILED;
	}
	if (status >= 400 && status != 401)
		return SCEN_BATCH_BAD;
	return SCEN_BATCH_FAILED;	/* 401, or a status we do not expect */
}

static void pause_s(double virtual_s)
{
	long ms = real_ms(virtual_s);
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0)
		;
}

/* Makes the call, up to TRIES times; on OK the answer is in a->body. */
static enum scen_batch_rc call(struct scen_batch_api *a, const char *key,
			       const struct req *r, char *detail, size_t dsz)
{
	char *url = xasprintf("%s%s", a->base, r->path);
	enum scen_batch_rc rc = SCEN_BATCH_FAILED;
	int retry = 1, t;
	for (t = 1; t <= TRIES && retry; t++) {
		if (t > 1)	/* retry-after (capped), else a short backoff */
			pause_s(a->rl.has_retry
				? fmin(a->rl.retry_after_s, MAX_RETRY_AFTER_S)
				: 0.5 * (t - 1));
		long status;
		if (try_once(a, key, r, url, &status) != CURLE_OK) {
			snprintf(detail, dsz, "%s", a->errbuf);
			rc = SCEN_BATCH_FAILED;
			retry = !r->once;
			continue;
		}
		rc = classify(a, r, status, &retry, detail, dsz);
		if (r->once && status != 429)
			retry = 0;
	}
	if (retry && t > TRIES) {
		size_t k = strlen(detail);
		if (k + 1 < dsz)
			snprintf(detail + k, dsz - k, " (%d tries)", TRIES);
	}
	free(url);
	return rc;
}

/* Copies a string member into dst; -1 when it does not fit or is not a
 * string (absent or null: ""). */
static int member(json_t *o, const char *name, char *dst, size_t dsz)
{
	json_t *v = json_object_get(o, name);
	dst[0] = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= dsz)
		return -1;
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static long count(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	return json_is_integer(v) ? (long)json_integer_value(v) : 0;
}

/* A batch object into out; -1 when it is not one. */
static int info_from(json_t *b, struct scen_batch_info *out)
{
	memset(out, 0, sizeof *out);
	if (!json_is_object(b) ||
	    member(b, "id", out->id, sizeof out->id) || !out->id[0] ||
	    member(b, "status", out->status, sizeof out->status) ||
	    member(b, "input_file_id", out->input_file_id,
		   sizeof out->input_file_id) ||
	    member(b, "output_file_id", out->output_file_id,
		   sizeof out->output_file_id) ||
	    member(b, "error_file_id", out->error_file_id,
		   sizeof out->error_file_id))
		return -1;
	/* someone else's metadata that does not fit is not scen's */
	json_t *meta = json_object_get(b, "metadata");
	if (json_is_object(meta) &&
	    member(meta, "scen_batch", out->scen_batch, sizeof out->scen_batch))
		out->scen_batch[0] = 0;
	json_t *rc = json_object_get(b, "request_counts");
	out->total = count(rc, "total");
	out->completed = count(rc, "completed");
	out->failed = count(rc, "failed");
	out->created_at = json_number_value(json_object_get(b, "created_at"));
	out->expires_at = json_number_value(json_object_get(b, "expires_at"));
	json_t *errs = json_object_get(b, "errors");
	json_t *e0 = json_array_get(json_object_get(errs, "data"), 0);
	json_t *m = json_object_get(e0, "message");
	if (json_is_string(m))
		snprintf(out->errors, sizeof out->errors, "%s",
			 json_string_value(m));
	return 0;
}

/* The answer as a JSON object, or NULL with FAILED's detail. */
static json_t *answer_object(struct scen_batch_api *a, char *detail,
			     size_t dsz)
{
	json_t *o = json_loadb(a->body.buf, a->body.len, 0, NULL);
	if (json_is_object(o))
		return o;
	json_decref(o);
	snprintf(detail, dsz, "malformed answer: not a JSON object");
	return NULL;
}

/* A call whose answer is a batch object, put into out. */
static enum scen_batch_rc batch_call(struct scen_batch_api *a,
				     const char *key, const struct req *r,
				     struct scen_batch_info *out,
				     char *detail, size_t dsz)
{
	enum scen_batch_rc rc = call(a, key, r, detail, dsz);
	if (rc != SCEN_BATCH_OK)
		return rc;
	json_t *o = answer_object(a, detail, dsz);
	if (!o)
		return SCEN_BATCH_FAILED;
	if (info_from(o, out)) {
		snprintf(detail, dsz, "malformed answer: not a batch object");
		rc = SCEN_BATCH_FAILED;
	}
	json_decref(o);
	return rc;
}

static struct req plain(const struct scen_batch_api *a, const char *path)
{
	return (struct req){.path = path, .timeout_s = a->timeout_s,
			    .limit = MAX_JSON_ANSWER};
}

enum scen_batch_rc scen_batch_upload(struct scen_batch_api *a,
				     const char *key, const char *filename,
				     const char *data, size_t n,
				     char *file_id, size_t idsz,
				     char *detail, size_t dsz)
{
	struct req r = plain(a, "/files");
	r.timeout_s = 10 * a->timeout_s;	/* as long as a download */
	r.filename = filename && *filename ? filename : "batch.jsonl";
	r.data = data;
	r.n = n;
	r.refusable = 1;
	file_id[0] = 0;
	enum scen_batch_rc rc = call(a, key, &r, detail, dsz);
	if (rc != SCEN_BATCH_OK)
		return rc;
	json_t *o = answer_object(a, detail, dsz);
	if (!o)
		return SCEN_BATCH_FAILED;
	if (member(o, "id", file_id, idsz) || !file_id[0]) {
		file_id[0] = 0;
		snprintf(detail, dsz, "malformed answer: no file id");
		rc = SCEN_BATCH_FAILED;
	}
	json_decref(o);
	return rc;
}

enum scen_batch_rc scen_batch_create(struct scen_batch_api *a,
				     const char *key, const char *file_id,
				     const char *window,
				     const char *scen_batch,
				     struct scen_batch_info *out,
				     char *detail, size_t dsz)
{
	memset(out, 0, sizeof *out);
	if (strlen(scen_batch) >= sizeof out->scen_batch) {
		snprintf(detail, dsz, "scen_batch \"%.20s...\" is longer than"
			 " %zu bytes", scen_batch, sizeof out->scen_batch - 1);
		return SCEN_BATCH_BAD;
	}
	json_t *o = json_pack("{s:s, s:s, s:s, s:{s:s}}", "input_file_id",
			      file_id, "endpoint", "/v1/chat/completions",
			      "completion_window", window, "metadata",
			      "scen_batch", scen_batch);
	if (!o) {
		snprintf(detail, dsz, "file id, window or scen_batch is not"
			 " UTF-8");
		return SCEN_BATCH_BAD;
	}
	char *json = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	struct req r = plain(a, "/batches");
	r.json = json;
	r.refusable = 1;
	r.once = 1;
	enum scen_batch_rc rc = batch_call(a, key, &r, out, detail, dsz);
	free(json);
	return rc;
}

/* base-relative path: fmt with one escaped id */
static char *path_with(struct scen_batch_api *a, const char *fmt,
		       const char *id)
{
	char *esc = curl_easy_escape(a->curl, id, 0);
	char *p = xasprintf(fmt, esc ? esc : "");
	curl_free(esc);
	return p;
}

enum scen_batch_rc scen_batch_get(struct scen_batch_api *a, const char *key,
				  const char *id, struct scen_batch_info *out,
				  char *detail, size_t dsz)
{
	memset(out, 0, sizeof *out);
	char *path = path_with(a, "/batches/%s", id);
	struct req r = plain(a, path);
	enum scen_batch_rc rc = batch_call(a, key, &r, out, detail, dsz);
	free(path);
	return rc;
}

/* One page of the list: fn over its batches; *after becomes the next
 * page's cursor, "" when none. 1 when fn stopped, 0 else, -1 malformed. */
static int list_page(json_t *o,
		     int (*fn)(void *, const struct scen_batch_info *),
		     void *ctx, char *after, size_t asz)
{
	json_t *data = json_object_get(o, "data"), *b;
	size_t i;
	if (!json_is_array(data))
		return -1;
	json_array_foreach(data, i, b) {
		struct scen_batch_info info;
		if (info_from(b, &info))
			return -1;
		if (fn(ctx, &info))
			return 1;
	}
	char prev[sizeof((struct scen_batch_info *)0)->id];
	snprintf(prev, sizeof prev, "%s", after);
	if (member(o, "last_id", after, asz))
		return -1;
	/* has_more without a cursor that moves on would loop for ever */
	if (!json_is_true(json_object_get(o, "has_more")) ||
	    json_array_size(data) == 0)
		after[0] = 0;
	else if (!after[0] || !strcmp(after, prev))
		return -1;
	return 0;
}

enum scen_batch_rc scen_batch_list(struct scen_batch_api *a, const char *key,
				   int (*fn)(void *ctx,
					     const struct scen_batch_info *b),
				   void *ctx, char *detail, size_t dsz)
{
	char after[sizeof((struct scen_batch_info *)0)->id] = "";
	for (int page = 0; page < MAX_PAGES; page++) {
		char *path = *after
			? path_with(a, "/batches?limit=100&after=%s", after)
			: xstrdup("/batches?limit=100");
		struct req r = plain(a, path);
		enum scen_batch_rc rc = call(a, key, &r, detail, dsz);
		free(path);
		if (rc != SCEN_BATCH_OK)
			return rc;
		json_t *o = answer_object(a, detail, dsz);
		if (!o)
			return SCEN_BATCH_FAILED;
		int k = list_page(o, fn, ctx, after, sizeof after);
		json_decref(o);
		if (k < 0) {
			snprintf(detail, dsz, "malformed answer: not a list"
				 " of batches (page %d)", page + 1);
			return SCEN_BATCH_FAILED;
		}
		if (k > 0 || !*after)
			return SCEN_BATCH_OK;
	}
	snprintf(detail, dsz, "more than %d pages of batches", MAX_PAGES);
	return SCEN_BATCH_FAILED;
}

enum scen_batch_rc scen_batch_content(struct scen_batch_api *a,
				      const char *key, const char *file_id,
				      struct strbuf *out, char *detail,
				      size_t dsz)
{
	char *path = path_with(a, "/files/%s/content", file_id);
	struct req r = plain(a, path);
	r.timeout_s = 10 * a->timeout_s;
	r.limit = MAX_CONTENT;
	enum scen_batch_rc rc = call(a, key, &r, detail, dsz);
	free(path);
	if (rc == SCEN_BATCH_OK)
		sb_add(out, a->body.buf, a->body.len);
	/* a file may be large: not kept beyond the call */
	sb_release(&a->body);
	sb_init(&a->body);
	return rc;
}

void scen_batch_input_line(struct strbuf *sb, const char *custom_id,
			   const char *body)
{
	sb_addlit(sb, "{\"custom_id\":");
	sb_add_json_str(sb, custom_id, strlen(custom_id));
	sb_addlit(sb, ",\"method\":\"POST\",\"url\":\"/v1/chat/completions\","
		  "\"body\":");
	/* a line end in valid JSON text is whitespace between tokens (within
	 * a string it is escaped): a blank keeps the line one line */
	size_t start = sb->len;
	sb_adds(sb, body);
	for (size_t i = start; i < sb->len; i++)
		if (sb->buf[i] == '\n' || sb->buf[i] == '\r')
			sb->buf[i] = ' ';
	sb_addlit(sb, "}\n");
}

int scen_batch_line_parse(const char *s, size_t n, struct scen_batch_line *out)
{
	memset(out, 0, sizeof *out);
	json_t *o = json_loadb(s, n, 0, NULL);
	if (!json_is_object(o) ||
	    member(o, "custom_id", out->custom_id, sizeof out->custom_id) ||
	    !out->custom_id[0]) {
		json_decref(o);
		out->custom_id[0] = 0;
		return -1;
	}
	json_t *resp = json_object_get(o, "response");
	if (json_is_object(resp)) {
		json_t *st = json_object_get(resp, "status_code");
		out->status = json_is_integer(st) ? (long)json_integer_value(st)
						  : 0;
		json_t *body = json_object_get(resp, "body");
		if (body && !json_is_null(body))
			out->body = json_dumps(body, JSON_COMPACT |
						     JSON_ENCODE_ANY);
	}
	json_t *err = json_object_get(o, "error");
	json_t *code = json_object_get(err, "code");
	json_t *msg = json_object_get(err, "message");
	if (json_is_string(code))
		snprintf(out->error, sizeof out->error, "%s",
			 json_string_value(code));
	if (json_is_string(msg))
		snprintf(out->message, sizeof out->message, "%s",
			 json_string_value(msg));
	json_decref(o);
	return 0;
}

void scen_batch_line_release(struct scen_batch_line *l)
{
	free(l->body);
	l->body = NULL;
}
