/* batch_api.h — the provider's Batch API (OpenAI-compatible, as Groq
 * serves it under provider.base_url): upload a JSONL input file, create a
 * batch, look at one, list them, download a file's content. Blocking
 * calls, one at a time (a night's fill makes a handful), each tried up to
 * three times on 429, 5xx and transport errors; none of them touches the
 * online quota. Also the two line formats: the input line scen writes,
 * and the output / error line the provider answers. */
#ifndef SCEN_BATCH_API_H
#define SCEN_BATCH_API_H

#include <stddef.h>

#include "scen/config.h"
#include "scen/util.h"

enum scen_batch_rc {
	SCEN_BATCH_OK,
	/* the key may not use batches: 403, or 404 / 400 answered to the
	 * upload or the creation in the provider's words for a plan
	 * without batches (not_available_for_plan) or an endpoint that is
	 * not there; remembered (scen-pool-fill(1), BATCHES) */
	SCEN_BATCH_REFUSED,
	SCEN_BATCH_NOT_FOUND,	/* 404 for a batch or file id */
	SCEN_BATCH_FAILED,	/* 401, 429, 5xx, a transport error or a
				 * malformed answer, after the tries: try
				 * again on a later run */
	SCEN_BATCH_BAD,		/* another 4xx: the provider rejects what
				 * was sent (detail says why) */
};

/* A batch as the provider describes it. Strings are "" when absent. */
struct scen_batch_info {
	char id[128];
	char status[24];	/* validating, in_progress, finalizing,
				 * completed, expired, failed, cancelling,
				 * cancelled */
	char input_file_id[128], output_file_id[128], error_file_id[128];
	char scen_batch[64];	/* metadata "scen_batch": scen's local id */
	long total, completed, failed;	/* request_counts */
	double created_at, expires_at;	/* Unix time, 0 when absent */
	char errors[256];	/* a failed batch's first error message */
};

struct scen_batch_api;

/* For the account's key (never stored here beyond the call); timeout_s
 * bounds each call but uploads and downloads, which get ten times as
 * long. */
struct scen_batch_api *scen_batch_api_new(const struct scen_config *cfg);
void scen_batch_api_free(struct scen_batch_api *a);

/*
 * Each call takes the account's API key and, on anything but
 * SCEN_BATCH_OK, writes why to detail (dsz bytes): "HTTP 403
 * not_available_for_plan: The batch API is not available on your current
 * plan" (status, error code, message), or curl's words; never the key.
 * After the last of the tries the words end in " (3 tries)". Ids are
 * URL-escaped into the path. A 404 is NOT_FOUND but to the upload and the
 * creation (REFUSED); the same words of a plan in a 400 to another call
 * are BAD.
 */
/* POST {base_url}/files, multipart: purpose=batch, file=data (n bytes)
 * named filename; the new file's id into file_id (idsz bytes). */
enum scen_batch_rc scen_batch_upload(struct scen_batch_api *a,
				     const char *key, const char *filename,
				     const char *data, size_t n,
				     char *file_id, size_t idsz,
				     char *detail, size_t dsz);
/* POST {base_url}/batches, tried once (again only after a 429: a lost
 * answer may hide a batch made, which the caller looks for before
 * creating it again): input_file_id, endpoint
 * "/v1/chat/completions", completion_window (e.g. "24h"), metadata
 * {"scen_batch": scen_batch}; the new batch into out. A scen_batch that
 * would not fit struct scen_batch_info (over 63 bytes) is BAD, unsent. */
enum scen_batch_rc scen_batch_create(struct scen_batch_api *a,
				     const char *key, const char *file_id,
				     const char *window,
				     const char *scen_batch,
				     struct scen_batch_info *out,
				     char *detail, size_t dsz);
/* GET {base_url}/batches/{id}. */
enum scen_batch_rc scen_batch_get(struct scen_batch_api *a, const char *key,
				  const char *id, struct scen_batch_info *out,
				  char *detail, size_t dsz);
/* GET {base_url}/batches?limit=100[&after=...], newest first, page after
 * page: fn is called for each batch until it returns non-zero (stop) or
 * the list ends. */
enum scen_batch_rc scen_batch_list(struct scen_batch_api *a, const char *key,
				   int (*fn)(void *ctx,
					     const struct scen_batch_info *b),
				   void *ctx, char *detail, size_t dsz);
/* GET {base_url}/files/{id}/content, appended to out. */
enum scen_batch_rc scen_batch_content(struct scen_batch_api *a,
				      const char *key, const char *file_id,
				      struct strbuf *out, char *detail,
				      size_t dsz);

/* Appends one input line (with its newline): {"custom_id": custom_id,
 * "method": "POST", "url": "/v1/chat/completions", "body": body}, body
 * being the JSON text of the request an online call sends (its line ends,
 * whitespace between tokens in valid JSON, become blanks). custom_id is
 * escaped as a JSON string; it must be at most 127 bytes, or its answer's
 * line will not parse (below). */
void scen_batch_input_line(struct strbuf *sb, const char *custom_id,
			   const char *body);

/* One line of an output or error file. */
struct scen_batch_line {
	char custom_id[128];
	long status;		/* response.status_code; 0 when no response */
	char *body;		/* response.body as JSON text, malloc'd; NULL
				 * when none */
	char error[64];		/* error.code ("batch_expired", ...), else
				 * "" */
	char message[256];	/* error.message, else "" */
};
/* Parses one line (n bytes, no newline needed); -1 when it is not a JSON
 * object with a non-empty string custom_id of at most 127 bytes (a longer
 * one is refused, not cut: cut, it could name another line). body is
 * response.body re-serialised as compact JSON text, for
 * scen_parse_completion; error and message are cut to fit. On -1, out
 * holds nothing to release. */
int scen_batch_line_parse(const char *s, size_t n, struct scen_batch_line *out);
/* Frees body (NULL after; twice is harmless). */
void scen_batch_line_release(struct scen_batch_line *l);

#endif
