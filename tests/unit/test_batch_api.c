/* test_batch_api.c — unit tests of the Batch API client (src/batch_api.c):
 * the input line scen writes, the output and error lines the provider
 * answers, and the calls themselves against tests/lib/fake-provider.py,
 * which the HTTP group starts on 127.0.0.1 (an ephemeral port), and a
 * canned server for the answers the fake never gives (404 and 400 refusals,
 * 5xx and 429 retries). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scen/batch_api.h"
#include "scen/config.h"
#include "scen/provider.h"
#include "scen/util.h"

#define BODY_1 "{\"model\":\"m\",\"messages\":[{\"role\":\"user\"," \
	"\"content\":\"say \\\"hi\\\"\\nnow\"}]}"
/* the same request, pretty-printed over several lines */
#define BODY_2 "{\n  \"model\": \"m\",\r\n  \"messages\": [\n" \
	"    {\"role\": \"user\", \"content\": \"two\\nlines\"}\n  ]\n}\n"

/* ---- the line formats ---- */

static json_t *line_json(const char *s, size_t n)
{
	json_error_t err;
	json_t *o = json_loadb(s, n, 0, &err);
	if (!o)
		fail_msg("not JSON: %s: %.*s", err.text, (int)n, s);
	return o;
}

/* The string at a dotted path ("body.messages.0.content"), or NULL. */
static const char *str_at(json_t *v, const char *path)
{
	while (v && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		char name[64];
		snprintf(name, sizeof name, "%.*s", (int)n, path);
		v = json_is_array(v)
			? json_array_get(v, strtoul(name, NULL, 10))
			: json_object_get(v, name);
		path += n + (dot != NULL);
	}
	return json_is_string(v) ? json_string_value(v) : NULL;
}

#define assert_prefix(s, prefix) do { \
	const char *s_ = (s), *p_ = (prefix); \
	if (strncmp(s_, p_, strlen(p_))) \
		fail_msg("\"%s\" does not begin with \"%s\"", s_, p_); \
} while (0)

/* Each input line is one line of JSON holding the id and body as given,
 * whatever quotes and line ends they hold. */
static void test_input_line_escapes(void **state)
{
	struct strbuf sb;
	sb_init(&sb);
	scen_batch_input_line(&sb, "c\"1\nx\\y", BODY_1);
	scen_batch_input_line(&sb, "c2", BODY_2);
	char *nl = memchr(sb.buf, '\n', sb.len);
	assert_non_null(nl);
	assert_int_equal(sb.buf[sb.len - 1], '\n');
	assert_null(memchr(nl + 1, '\n', (size_t)(sb.buf + sb.len - nl - 2)));
	assert_null(memchr(sb.buf, '\r', sb.len));

	json_t *a = line_json(sb.buf, (size_t)(nl - sb.buf));
	assert_string_equal(str_at(a, "custom_id"), "c\"1\nx\\y");
	assert_string_equal(str_at(a, "method"), "POST");
	assert_string_equal(str_at(a, "url"), "/v1/chat/completions");
	assert_string_equal(str_at(a, "body.model"), "m");
	assert_string_equal(str_at(a, "body.messages.0.content"),
			    "say \"hi\"\nnow");
	json_t *b = line_json(nl + 1, (size_t)(sb.buf + sb.len - nl - 1));
	assert_string_equal(str_at(b, "custom_id"), "c2");
	assert_string_equal(str_at(b, "body.messages.0.content"),
			    "two\nlines");
	assert_int_equal(json_object_size(b), 4);
	json_decref(a);
	json_decref(b);
	sb_release(&sb);
}

static int parse(const char *s, struct scen_batch_line *l)
{
	return scen_batch_line_parse(s, strlen(s), l);
}

/* An answered line: its status, and a body the online parser reads. */
static void test_line_output(void **state)
{
	const char *s = "{\"id\":\"batch_req_1\",\"custom_id\":\"k:7\","
		"\"response\":{\"status_code\":200,\"request_id\":\"req_1\","
		"\"body\":{\"id\":\"chatcmpl-1\","
		"\"object\":\"chat.completion\","
		"\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
		"\"content\":\"Once \\\"upon\\\"\\na time\"},"
		"\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,"
		"\"completion_tokens\":34}}},\"error\":null}\n";
	struct scen_batch_line l;
	/* without its newline, and with it */
	assert_int_equal(scen_batch_line_parse(s, strlen(s) - 1, &l), 0);
	scen_batch_line_release(&l);
	assert_int_equal(parse(s, &l), 0);
	assert_string_equal(l.custom_id, "k:7");
	assert_int_equal(l.status, 200);
	assert_string_equal(l.error, "");
	assert_string_equal(l.message, "");
	assert_non_null(l.body);
	assert_null(strchr(l.body, '\n'));	/* compact */
	struct scen_completion c;
	assert_int_equal(scen_parse_completion(l.body, strlen(l.body), &c), 0);
	assert_string_equal(c.content, "Once \"upon\"\na time");
	assert_string_equal(c.finish_reason, "stop");
	assert_int_equal(c.prompt_tokens, 12);
	assert_int_equal(c.completion_tokens, 34);
	scen_completion_release(&c);
	scen_batch_line_release(&l);
	assert_null(l.body);
	scen_batch_line_release(&l);	/* twice is harmless */
}

/* A line the batch never ran: no response, the error's code. */
static void test_line_expired(void **state)
{
	struct scen_batch_line l;
	assert_int_equal(parse("{\"id\":\"batch_req_2\",\"custom_id\":\"k:8\","
			       "\"response\":null,\"error\":{\"code\":"
			       "\"batch_expired\",\"message\":\"This request "
			       "could not be executed before the completion "
			       "window expired.\"}}", &l), 0);
	assert_string_equal(l.custom_id, "k:8");
	assert_int_equal(l.status, 0);
	assert_null(l.body);
	assert_string_equal(l.error, "batch_expired");
	assert_true(strstr(l.message, "completion window expired") != NULL);
	scen_batch_line_release(&l);
}

/* A line that failed on the provider: its status and error body. */
static void test_line_server_error(void **state)
{
	struct scen_batch_line l;
	assert_int_equal(parse("{\"id\":\"batch_req_3\",\"custom_id\":\"k:9\","
			       "\"response\":{\"status_code\":500,"
			       "\"request_id\":\"req_3\",\"body\":{\"error\":"
			       "{\"message\":\"Internal Server Error\","
			       "\"type\":\"internal_server_error\"}}},"
			       "\"error\":{\"code\":\"internal_server_error\","
			       "\"message\":\"Internal Server Error\"}}", &l),
			 0);
	assert_int_equal(l.status, 500);
	assert_string_equal(l.error, "internal_server_error");
	assert_string_equal(l.message, "Internal Server Error");
	assert_non_null(l.body);
	struct scen_completion c;
	assert_int_equal(scen_parse_completion(l.body, strlen(l.body), &c), 0);
	assert_null(c.content);
	assert_string_equal(c.error_message, "Internal Server Error");
	scen_completion_release(&c);
	scen_batch_line_release(&l);
}

static void test_line_garbage(void **state)
{
	static const char *bad[] = {
		"", "   ", "not json", "[1,2]", "\"custom_id\"", "null",
		"{\"id\":\"x\",\"response\":null}", "{\"custom_id\":5}",
		"{\"custom_id\":\"\"}", "{\"custom_id\":null}",
		"{\"custom_id\":\"a\",\"response\":{\"status_code\":200,",
		"{\"custom_id\":\"a\"} {\"custom_id\":\"b\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct scen_batch_line l;
		memset(&l, 0x5a, sizeof l);
		if (parse(bad[i], &l) != -1)
			fail_msg("line accepted: %s", bad[i]);
		assert_null(l.body);
		assert_string_equal(l.custom_id, "");
		scen_batch_line_release(&l);
	}
}

/* A custom_id must fit whole: cut, it could name another line. */
static void test_line_long_custom_id(void **state)
{
	struct scen_batch_line l;
	char id[200], line[300];
	memset(id, 'x', sizeof id);
	id[127] = 0;
	snprintf(line, sizeof line, "{\"custom_id\":\"%s\",\"response\":null}",
		 id);
	assert_int_equal(parse(line, &l), 0);
	assert_string_equal(l.custom_id, id);
	scen_batch_line_release(&l);
	id[127] = 'x';
	id[128] = 0;
	snprintf(line, sizeof line, "{\"custom_id\":\"%s\",\"response\":null}",
		 id);
	assert_int_equal(parse(line, &l), -1);
	assert_null(l.body);
}

/* ---- the calls, against the fake provider ---- */

static pid_t fake_pid;
static char fake_base[128], fake_root[96], tmpdir[64];
static char key0[64], key1[64];
static struct scen_config cfg;

static int fake_up(void **state)
{
	unsetenv("SCEN_CLOCK_SCALE");	/* virtual seconds are real ones */
	unsetenv("SCEN_CLOCK_EPOCH");
	snprintf(tmpdir, sizeof tmpdir, "/tmp/scen-batch-api.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	char port_file[128], keys[160], script[4096];
	snprintf(port_file, sizeof port_file, "%s/port", tmpdir);
	snprintf(key0, sizeof key0, "test-key-zero-%d", (int)getpid());
	snprintf(key1, sizeof key1, "test-key-one-%d", (int)getpid());
	snprintf(keys, sizeof keys, "%s,%s", key0, key1);
	const char *top = getenv("SCEN_TOP");
	snprintf(script, sizeof script, "%s/tests/lib/fake-provider.py",
		 top && *top ? top : ".");
	fake_pid = fork();
	if (fake_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);	/* never outlive us */
		execlp("python3", "python3", script, "--port-file", port_file,
		       "--keys", keys, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(port_file, "r");
		int port = 0;
		if (f && fscanf(f, "%d", &port) == 1 && port > 0) {
			fclose(f);
			snprintf(fake_root, sizeof fake_root,
				 "http://127.0.0.1:%d", port);
			snprintf(fake_base, sizeof fake_base, "%s/openai/v1",
				 fake_root);
			cfg.provider.base_url = fake_base;
			cfg.provider.timeout_s = 5;
			return 0;
		}
		if (f)
			fclose(f);
		usleep(25000);
	}
	fprintf(stderr, "fake provider did not start (%s)\n", script);
	return -1;
}

static int fake_down(void **state)
{
	if (fake_pid > 0) {
		kill(fake_pid, SIGTERM);
		waitpid(fake_pid, NULL, 0);
	}
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
	return size * n;
}

/* POST to the fake's control endpoints (/_reset, /_control). */
static void fake_post(const char *path, const char *json)
{
	char url[256];
	snprintf(url, sizeof url, "%s%s", fake_root, path);
	CURL *e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, json ? json : "");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	long status = 0;
	assert_int_equal(curl_easy_perform(e), CURLE_OK);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	assert_int_equal(status, 200);
}

static int fresh(void **state)
{
	fake_post("/_reset", NULL);
	*state = scen_batch_api_new(&cfg);
	return 0;
}

static int done(void **state)
{
	scen_batch_api_free(*state);
	return 0;
}

#define NLINES 4

/* An input file of NLINES requests, custom ids "L0".. */
static void input_file(struct strbuf *sb)
{
	for (int i = 0; i < NLINES; i++) {
		char id[16];
		snprintf(id, sizeof id, "L%d", i);
		scen_batch_input_line(sb, id, i % 2 ? BODY_1 : BODY_2);
	}
}

#define OK(call) do { \
	enum scen_batch_rc rc_ = (call); \
	if (rc_ != SCEN_BATCH_OK) \
		fail_msg("%s: rc %d, %s", #call, (int)rc_, detail); \
} while (0)

/* Uploads the input file and creates a batch of it named scen_batch. */
static void upload_create(struct scen_batch_api *a, const char *scen_batch,
			  struct scen_batch_info *b)
{
	struct strbuf in;
	char fid[128], detail[256] = "";
	sb_init(&in);
	input_file(&in);
	OK(scen_batch_upload(a, key0, "in.jsonl", in.buf, in.len, fid,
			     sizeof fid, detail, sizeof detail));
	assert_memory_equal(fid, "file_", 5);
	OK(scen_batch_create(a, key0, fid, "24h", scen_batch, b, detail,
			     sizeof detail));
	assert_string_equal(b->input_file_id, fid);
	sb_release(&in);
}

/* Calls fn on each line of a file's content; returns how many. */
static int each_line(struct scen_batch_api *a, const char *fid,
		     void (*fn)(const struct scen_batch_line *))
{
	struct strbuf c;
	char detail[256] = "";
	int n = 0;
	sb_init(&c);
	sb_addlit(&c, "kept");	/* content is appended */
	OK(scen_batch_content(a, key0, fid, &c, detail, sizeof detail));
	assert_memory_equal(c.buf, "kept", 4);
	for (char *p = c.buf + 4, *e; *p; p = e + 1) {
		e = strchr(p, '\n');
		assert_non_null(e);
		struct scen_batch_line l;
		assert_int_equal(scen_batch_line_parse(p, (size_t)(e - p), &l),
				 0);
		fn(&l);
		scen_batch_line_release(&l);
		n++;
	}
	sb_release(&c);
	return n;
}

static void answered(const struct scen_batch_line *l)
{
	struct scen_completion c;
	assert_int_equal(l->status, 200);
	assert_memory_equal(l->custom_id, "L", 1);
	assert_int_equal(scen_parse_completion(l->body, strlen(l->body), &c),
			 0);
	assert_true(strstr(c.content, "Scenario #") != NULL);
	scen_completion_release(&c);
}

/* upload -> create -> get (ended) -> content: every line answered. */
static void test_api_round_trip(void **state)
{
	struct scen_batch_api *a = *state;
	struct scen_batch_info b, g;
	char detail[256] = "";
	upload_create(a, "night-1", &b);
	assert_memory_equal(b.id, "batch_", 6);
	assert_string_equal(b.status, "validating");
	assert_string_equal(b.scen_batch, "night-1");
	assert_int_equal(b.total, NLINES);
	assert_true(b.created_at > 1.6e9);
	assert_true(b.expires_at >= b.created_at + 86400);
	OK(scen_batch_get(a, key0, b.id, &g, detail, sizeof detail));
	assert_string_equal(g.id, b.id);
	assert_string_equal(g.status, "completed");
	assert_int_equal(g.completed, NLINES);
	assert_int_equal(g.failed, 0);
	assert_string_equal(g.error_file_id, "");
	assert_memory_equal(g.output_file_id, "file_", 5);
	assert_int_equal(each_line(a, g.output_file_id, answered), NLINES);
}

static int seen_500, seen_expired;

static void failed_line(const struct scen_batch_line *l)
{
	if (l->status == 500) {
		assert_string_equal(l->error, "internal_server_error");
		assert_non_null(l->body);
		seen_500++;
	} else {
		assert_int_equal(l->status, 0);
		assert_null(l->body);
		assert_string_equal(l->error, "batch_expired");
		seen_expired++;
	}
}

/* An expired batch: half its lines answered (one of them a 500), the
 * rest in the error file; the counts say so. */
static void test_api_expired_and_errors(void **state)
{
	struct scen_batch_api *a = *state;
	struct scen_batch_info b, g;
	char detail[256] = "";
	fake_post("/_control", "{\"batch\": {\"expire_after\": 0.5, "
		  "\"error_share\": 0.5}}");
	upload_create(a, "night-2", &b);
	OK(scen_batch_get(a, key0, b.id, &g, detail, sizeof detail));
	assert_string_equal(g.status, "expired");
	assert_int_equal(g.completed, 1);
	assert_int_equal(g.failed, 3);
	assert_int_equal(g.total, 4);
	assert_int_equal(each_line(a, g.output_file_id, answered), 1);
	seen_500 = seen_expired = 0;
	assert_int_equal(each_line(a, g.error_file_id, failed_line), 3);
	assert_int_equal(seen_500, 1);
	assert_int_equal(seen_expired, 2);
}

/* A batch that failed validation carries the provider's words. */
static void test_api_failed_batch(void **state)
{
	struct scen_batch_api *a = *state;
	struct scen_batch_info b, g;
	char detail[256] = "";
	fake_post("/_control",
		  "{\"batch\": {\"fail\": \"line 3: bad model\"}}");
	upload_create(a, "night-3", &b);
	OK(scen_batch_get(a, key0, b.id, &g, detail, sizeof detail));
	assert_string_equal(g.status, "failed");
	assert_string_equal(g.errors, "line 3: bad model");
	assert_string_equal(g.output_file_id, "");
}

struct seen {
	int n, stop_at;
	char first[128], last[128];
	int found;		/* the batch named "wanted" */
};

static int count_batch(void *ctx, const struct scen_batch_info *b)
{
	struct seen *s = ctx;
	if (!s->n)
		snprintf(s->first, sizeof s->first, "%s", b->scen_batch);
	snprintf(s->last, sizeof s->last, "%s", b->scen_batch);
	s->found += !strcmp(b->scen_batch, "wanted");
	return ++s->n == s->stop_at;
}

/* 102 batches: two pages of the list, newest first, every one seen
 * once; a callback that says stop ends it. */
static void test_api_list_pages(void **state)
{
	struct scen_batch_api *a = *state;
	struct scen_batch_info b;
	struct strbuf in;
	char fid[128], name[32], detail[256] = "";
	sb_init(&in);
	input_file(&in);
	OK(scen_batch_upload(a, key0, "in.jsonl", in.buf, in.len, fid,
			     sizeof fid, detail, sizeof detail));
	sb_release(&in);
	for (int i = 0; i < 102; i++) {
		snprintf(name, sizeof name, i == 40 ? "wanted" : "n%d", i);
		OK(scen_batch_create(a, key0, fid, "24h", name, &b, detail,
				     sizeof detail));
	}
	struct seen s = {0};
	OK(scen_batch_list(a, key0, count_batch, &s, detail, sizeof detail));
	assert_int_equal(s.n, 102);
	assert_int_equal(s.found, 1);
	assert_string_equal(s.first, "n101");
	assert_string_equal(s.last, "n0");
	struct seen t = {.stop_at = 3};
	OK(scen_batch_list(a, key0, count_batch, &t, detail, sizeof detail));
	assert_int_equal(t.n, 3);
	assert_string_equal(t.last, "n99");
	/* another key sees none of them */
	struct seen u = {0};
	OK(scen_batch_list(a, key1, count_batch, &u, detail, sizeof detail));
	assert_int_equal(u.n, 0);
}

/* A key without batches: every call refused, in the provider's words. */
static void test_api_refused(void **state)
{
	struct scen_batch_api *a = *state;
	struct scen_batch_info b;
	char fid[128], detail[256] = "";
	fake_post("/_control", "{\"batch\": {\"refuse_keys\": [\"0\"]}}");
	assert_int_equal(scen_batch_upload(a, key0, "in.jsonl", BODY_1,
					   strlen(BODY_1), fid, sizeof fid,
					   detail, sizeof detail),
			 SCEN_BATCH_REFUSED);
	assert_prefix(detail, "HTTP 403 not_available_for_plan: The batch "
		      "API is not available on your current plan");
	assert_null(strstr(detail, key0));
	detail[0] = 0;
	assert_int_equal(scen_batch_create(a, key0, "file_x", "24h", "n", &b,
					   detail, sizeof detail),
			 SCEN_BATCH_REFUSED);
	assert_true(strstr(detail, "not_available_for_plan") != NULL);
	detail[0] = 0;
	assert_int_equal(scen_batch_get(a, key0, "batch_x", &b, detail,
					sizeof detail), SCEN_BATCH_REFUSED);
	assert_true(strstr(detail, "HTTP 403") != NULL);
}

/* Unknown ids are NOT_FOUND; what the provider rejects is BAD, with its
 * reason; a wrong key FAILED, and the key is never in the words. */
static void test_api_not_found_bad_unauthorised(void **state)
{
	struct scen_batch_api *a = *state;
	struct scen_batch_info b;
	struct strbuf c;
	char fid[128], detail[256] = "";
	sb_init(&c);
	assert_int_equal(scen_batch_get(a, key0, "batch_nope", &b, detail,
					sizeof detail), SCEN_BATCH_NOT_FOUND);
	assert_prefix(detail, "HTTP 404: batch 'batch_nope' not found");
	assert_int_equal(scen_batch_content(a, key0, "file_nope", &c, detail,
					    sizeof detail),
			 SCEN_BATCH_NOT_FOUND);
	assert_int_equal(c.len, 0);
	assert_int_equal(scen_batch_create(a, key0, "file_nope", "24h", "n",
					   &b, detail, sizeof detail),
			 SCEN_BATCH_BAD);
	assert_true(strstr(detail, "HTTP 400: 'input_file_id'") != NULL);
	assert_int_equal(scen_batch_upload(a, key0, "in.jsonl", "{}\n", 3,
					   fid, sizeof fid, detail,
					   sizeof detail), SCEN_BATCH_BAD);
	assert_true(strstr(detail, "invalid batch input file: line 1") != NULL);
	const char *wrong = "not-a-key-secret-1234";
	assert_int_equal(scen_batch_get(a, wrong, "batch_nope", &b, detail,
					sizeof detail), SCEN_BATCH_FAILED);
	assert_string_equal(detail,
			    "HTTP 401 invalid_api_key: Invalid API Key");
	sb_release(&c);
}

/* Nobody listening: FAILED in curl's words after the tries. */
static void test_api_unreachable(void **state)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof sa;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);	/* a port just free: refused */
	char url[64], detail[256] = "";
	snprintf(url, sizeof url, "http://127.0.0.1:%d/openai/v1",
		 ntohs(sa.sin_port));
	struct scen_config c = cfg;
	c.provider.base_url = url;
	struct scen_batch_api *a = scen_batch_api_new(&c);
	struct scen_batch_info b;
	assert_int_equal(scen_batch_get(a, key0, "batch_x", &b, detail,
					sizeof detail), SCEN_BATCH_FAILED);
	assert_true(strstr(detail, "onnect") != NULL);
	assert_true(strstr(detail, "(3 tries)") != NULL);
	scen_batch_api_free(a);
}

/* ---- answers the fake does not give, from a canned server ---- */

/* Serves the answers of a script, one per connection, on 127.0.0.1. */
struct canned {
	int fd, served;
	const char *const *answers;	/* status line, headers, body */
	pthread_t thread;
	char url[64];
};

/* Reads a request whole (headers and Content-Length bytes of body). */
static void read_request(int c)
{
	char buf[65536];
	size_t n = 0;
	char *end = NULL;
	while (n < sizeof buf - 1 && !end) {
		ssize_t k = read(c, buf + n, sizeof buf - 1 - n);
		if (k <= 0)
			return;
		n += (size_t)k;
		buf[n] = 0;
		end = strstr(buf, "\r\n\r\n");
	}
	const char *cl = strcasestr(buf, "content-length:");
	size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;
	size_t have = end ? n - (size_t)(end + 4 - buf) : 0;
	while (have < want) {
		ssize_t k = read(c, buf, sizeof buf);
		if (k <= 0)
			return;
		have += (size_t)k;
	}
}

static void *canned_serve(void *arg)
{
	struct canned *cs = arg;
	for (const char *const *a = cs->answers; *a; a++) {
		int c = accept(cs->fd, NULL, NULL);
		if (c < 0)
			break;
		read_request(c);
		cs->served++;
		const char *body = strstr(*a, "\r\n\r\n");
		char *r = xasprintf("%.*s\r\nContent-Length: %zu\r\n"
				    "Connection: close\r\n\r\n%s",
				    (int)(body - *a), *a, strlen(body + 4),
				    body + 4);
		if (write(c, r, strlen(r)) < 0)
			cs->served = -100;
		free(r);
		close(c);
	}
	return NULL;
}

static void canned_start(struct canned *cs, const char *const *answers)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof sa;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(cs, 0, sizeof *cs);
	cs->answers = answers;
	cs->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(cs->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(cs->fd, 8), 0);
	assert_int_equal(getsockname(cs->fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(cs->url, sizeof cs->url, "http://127.0.0.1:%d/openai/v1",
		 ntohs(sa.sin_port));
	assert_int_equal(pthread_create(&cs->thread, NULL, canned_serve, cs),
			 0);
}

/* Waits for the script's end; returns how many requests came. */
static int canned_end(struct canned *cs)
{
	pthread_join(cs->thread, NULL);
	close(cs->fd);
	return cs->served;
}

static struct scen_batch_api *api_at(const char *url)
{
	struct scen_config c = {0};
	c.provider.base_url = (char *)url;
	c.provider.timeout_s = 5;
	return scen_batch_api_new(&c);
}

#define JSON_HEAD "Content-Type: application/json"
#define BATCH_OBJ "{\"id\":\"batch_1\",\"object\":\"batch\"," \
	"\"status\":\"in_progress\",\"input_file_id\":\"file_1\"," \
	"\"output_file_id\":null,\"metadata\":{\"scen_batch\":\"b7\"}," \
	"\"request_counts\":{\"total\":9,\"completed\":2,\"failed\":1}}"
#define PLAN_400 "HTTP/1.1 400 Bad Request\r\n" JSON_HEAD "\r\n\r\n" \
	"{\"error\":{\"message\":\"The batch API is not available on " \
	"your current plan.\",\"type\":\"invalid_request_error\"}}"

/* 404 to the upload (no such endpoint) and 400 in the words of a plan
 * without batches to the creation: refused; the same 400 to a look at a
 * batch is only BAD, and so is any other 400, tried once. */
static void test_canned_refusals(void **state)
{
	static const char *const answers[] = {
		"HTTP/1.1 404 Not Found\r\n" JSON_HEAD "\r\n\r\n"
		"{\"error\":{\"message\":\"Unknown request URL\"}}",
		PLAN_400,
		"HTTP/1.1 400 Bad Request\r\n" JSON_HEAD "\r\n\r\n"
		"{\"error\":{\"code\":\"not_available_for_plan\","
		"\"message\":\"no\"}}",
		PLAN_400,
		"HTTP/1.1 400 Bad Request\r\n" JSON_HEAD "\r\n\r\n"
		"{\"error\":{\"message\":\"'completion_window' bad\"}}",
		NULL,
	};
	struct canned cs;
	canned_start(&cs, answers);
	struct scen_batch_api *a = api_at(cs.url);
	struct scen_batch_info b;
	char fid[64], detail[256];
	assert_int_equal(scen_batch_upload(a, key0, "in.jsonl", BODY_1,
					   strlen(BODY_1), fid, sizeof fid,
					   detail, sizeof detail),
			 SCEN_BATCH_REFUSED);
	assert_string_equal(detail, "HTTP 404: Unknown request URL");
	assert_int_equal(scen_batch_create(a, key0, "file_1", "24h", "n", &b,
					   detail, sizeof detail),
			 SCEN_BATCH_REFUSED);
	assert_prefix(detail, "HTTP 400: The batch API is not available");
	assert_int_equal(scen_batch_create(a, key0, "file_1", "24h", "n", &b,
					   detail, sizeof detail),
			 SCEN_BATCH_REFUSED);
	assert_string_equal(detail, "HTTP 400 not_available_for_plan: no");
	assert_int_equal(scen_batch_get(a, key0, "batch_1", &b, detail,
					sizeof detail), SCEN_BATCH_BAD);
	assert_int_equal(scen_batch_create(a, key0, "file_1", "1h", "n", &b,
					   detail, sizeof detail),
			 SCEN_BATCH_BAD);
	assert_string_equal(detail, "HTTP 400: 'completion_window' bad");
	scen_batch_api_free(a);
	assert_int_equal(canned_end(&cs), 5);
}

/* A 429 that says when is tried again then (not at once); three 5xx
 * are FAILED with the last one's words; a 200 that is no batch FAILED. */
static void test_canned_retries(void **state)
{
	static const char *const answers[] = {
		"HTTP/1.1 429 Too Many Requests\r\nretry-after: 2\r\n"
		JSON_HEAD "\r\n\r\n{\"error\":{\"message\":\"slow down\"}}",
		"HTTP/1.1 200 OK\r\n" JSON_HEAD "\r\n\r\n" BATCH_OBJ,
		"HTTP/1.1 503 Service Unavailable\r\n\r\nbusy",
		"HTTP/1.1 500 Internal Server Error\r\n\r\n",
		"HTTP/1.1 500 Internal Server Error\r\n" JSON_HEAD "\r\n\r\n"
		"{\"error\":{\"message\":\"oops\",\"code\":\"internal\"}}",
		"HTTP/1.1 200 OK\r\n" JSON_HEAD "\r\n\r\n{\"data\":[]}",
		NULL,
	};
	struct canned cs;
	canned_start(&cs, answers);
	struct scen_batch_api *a = api_at(cs.url);
	struct scen_batch_info b;
	char detail[256] = "";
	double t0 = scen_mono();
	OK(scen_batch_get(a, key0, "batch_1", &b, detail, sizeof detail));
	assert_true(scen_mono() - t0 >= 1.95);
	assert_string_equal(b.id, "batch_1");
	assert_string_equal(b.status, "in_progress");
	assert_string_equal(b.scen_batch, "b7");
	assert_string_equal(b.output_file_id, "");
	assert_int_equal(b.total, 9);
	assert_int_equal(b.completed, 2);
	assert_int_equal(b.failed, 1);
	assert_int_equal(scen_batch_get(a, key0, "batch_1", &b, detail,
					sizeof detail), SCEN_BATCH_FAILED);
	assert_string_equal(detail, "HTTP 500 internal: oops (3 tries)");
	assert_int_equal(scen_batch_get(a, key0, "batch_1", &b, detail,
					sizeof detail), SCEN_BATCH_FAILED);
	assert_prefix(detail, "malformed answer");
	scen_batch_api_free(a);
	assert_int_equal(canned_end(&cs), 6);
}

int main(void)
{
	const struct CMUnitTest lines[] = {
		cmocka_unit_test(test_input_line_escapes),
		cmocka_unit_test(test_line_output),
		cmocka_unit_test(test_line_expired),
		cmocka_unit_test(test_line_server_error),
		cmocka_unit_test(test_line_garbage),
		cmocka_unit_test(test_line_long_custom_id),
	};
	const struct CMUnitTest api[] = {
		cmocka_unit_test_setup_teardown(test_api_round_trip, fresh,
						done),
		cmocka_unit_test_setup_teardown(test_api_expired_and_errors,
						fresh, done),
		cmocka_unit_test_setup_teardown(test_api_failed_batch, fresh,
						done),
		cmocka_unit_test_setup_teardown(test_api_list_pages, fresh,
						done),
		cmocka_unit_test_setup_teardown(test_api_refused, fresh, done),
		cmocka_unit_test_setup_teardown(
			test_api_not_found_bad_unauthorised, fresh, done),
		cmocka_unit_test(test_api_unreachable),
		cmocka_unit_test(test_canned_refusals),
		cmocka_unit_test(test_canned_retries),
	};
	int failed = cmocka_run_group_tests_name("batch lines", lines, NULL,
						 NULL);
	failed += cmocka_run_group_tests_name("batch api", api, fake_up,
					      fake_down);
	return failed ? 1 : 0;
}
