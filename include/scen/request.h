/* request.h — one JSONL request line (scen-serve-stdin(1)): parsing,
 * checking against the config, and its canonical keys. */
#ifndef SCEN_REQUEST_H
#define SCEN_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "scen/config.h"
#include "scen/util.h"

/* Longest request line accepted, newline excluded. */
#define SCEN_MAX_LINE (1024 * 1024)
#define SCEN_MAX_FACTORS 64

enum scen_op { SCEN_OP_GET, SCEN_OP_STATUS, SCEN_OP_CANCEL };

struct scen_request {
	char *id;		/* echoed; the line number when absent
				   (NULL on a bad line without one) */
	char *session;		/* NULL when absent */
	enum scen_op op;
	char *job;		/* status/cancel */
	const struct scen_experiment *exp;
	const struct scen_template *tpl;
	uint16_t levels[SCEN_MAX_FACTORS];	/* level index per t->factors[i] */
	long position;		/* meaningful when tpl->position.declared */
	uint8_t key[16];	/* XXH3-128 canonical key: exact cell */
	uint64_t bucket;	/* hash of the hard part: experiment, version,
				   hard factors, hard position */
	long lineno;
};

/* A bad line's answer: a stable snake_case code and a message. */
struct scen_req_error {
	const char *code;
	char message[512];
};

enum {
	SCEN_REQ_NEED_SESSION = 1,	/* session is required */
	SCEN_REQ_NO_FAST = 2,		/* read with jansson alone (tests) */
};

/*
 * Parses line (len bytes, no newline; may hold NUL bytes) into rq. On
 * success returns 0, rq->id set to the request's id or else the line
 * number; on a bad line returns -1 with err filled and rq->id the
 * request's id when it could be read, else NULL.
 */
int scen_request_parse(const struct scen_config *cfg, const char *line,
		       size_t len, long lineno, int flags,
		       struct scen_request *rq, struct scen_req_error *err);
void scen_request_release(struct scen_request *rq);

/* Fills rq->key and rq->bucket from exp, tpl, levels and position. */
void scen_request_keys(struct scen_request *rq);
/* Canonical JSON of the factors: {"age":"older","gender":"female"}. */
void scen_request_factors_json(const struct scen_request *rq,
			       struct strbuf *sb);

#endif
