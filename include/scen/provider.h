/* provider.h — the HTTP client for OpenAI-compatible chat completions
 * (libcurl multi interface), and the parsers for what Groq answers: the
 * completion body, x-ratelimit-* headers, retry-after and 429 messages. */
#ifndef SCEN_PROVIDER_H
#define SCEN_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "scen/config.h"
#include "scen/util.h"

/* What the rate-limit headers of one answer said (has_* = present). */
struct scen_ratelimit {
	int has_req, has_tok, has_retry;
	long limit_req, remaining_req;	/* per day, on Groq */
	double reset_req_s;
	long limit_tok, remaining_tok;	/* per minute, on Groq */
	double reset_tok_s;
	double retry_after_s;
};

/* Go-style duration ("940ms", "7.66s", "2m59.56s", "1h2m3s") or plain
 * seconds ("12", "0.5") to seconds; -1 when not one. */
double scen_parse_duration(const char *s, size_t n);
/* Reads one header line into rl when it is a rate-limit header; a status
 * line ("HTTP/...": a redirect's, a 100-continue's) empties rl. */
void scen_ratelimit_header(struct scen_ratelimit *rl, const char *line,
			   size_t n);
/* "... Please try again in 9m38.016s. ..." -> 578.016; -1 when absent. */
double scen_parse_try_again(const char *msg);

struct scen_completion {
	char *content;		/* malloc'd; NULL when absent */
	char finish_reason[32];
	long prompt_tokens, completion_tokens;
	char *error_message;	/* error.message of an error body, malloc'd */
};
/* Parses a chat completion (or error) body; -1 when it is not one. */
int scen_parse_completion(const char *body, size_t n,
			  struct scen_completion *out);
void scen_completion_release(struct scen_completion *c);

/* The request body for a rendered system and user prompt. */
void scen_completion_body(struct strbuf *sb, const struct scen_config *cfg,
			  const char *system, const char *user);

/* One call in flight. */
struct scen_call {
	void *owner;		/* NULL once its job is cancelled */
	int acct;		/* the account it was made on */
	int64_t ledger;		/* its row in the usage ledger */
	long status;		/* HTTP status, 0 when none */
	int curl_code;		/* CURLcode */
	char errbuf[256];	/* curl's words, never the key */
	struct strbuf body;	/* the answer */
	struct scen_ratelimit rl;
	double started;		/* scen_mono() */
	double elapsed_ms;
	void *easy_;
	void *headers_;
	struct strbuf req_;
};

struct scen_http;
struct scen_http *scen_http_new(void);
void scen_http_free(struct scen_http *h);
/* Starts POST url with body and the key as a bearer token. */
struct scen_call *scen_http_start(struct scen_http *h, const char *url,
				  const char *key, const char *body,
				  double timeout_s, void *owner);
/* Waits up to timeout_ms for network activity or fd readable (fd < 0:
 * none); *fd_ready says whether fd is readable. */
int scen_http_wait(struct scen_http *h, int fd, int timeout_ms,
		   int *fd_ready);
/* Progresses transfers; returns one finished call or NULL. The caller
 * frees it with scen_call_free. */
struct scen_call *scen_http_done(struct scen_http *h);
void scen_call_free(struct scen_call *c);

#endif
