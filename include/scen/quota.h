/* quota.h — spending the free tier: accounts, the shared usage ledger,
 * round-robin rotation, cool-downs, and circuit breakers (scen(7), Quota). */
#ifndef SCEN_QUOTA_H
#define SCEN_QUOTA_H

#include <stdint.h>

#include "scen/config.h"
#include "scen/db.h"
#include "scen/provider.h"

/* How one call ended. */
enum scen_outcome {
	SCEN_OUT_OK,		/* a valid scenario */
	SCEN_OUT_INVALID,	/* answered, but not fit to serve */
	SCEN_OUT_MALFORMED,	/* 200 with a body that is not a completion */
	SCEN_OUT_429,
	SCEN_OUT_SERVER,	/* 5xx */
	SCEN_OUT_TIMEOUT,
	SCEN_OUT_CONNECT,	/* refused, reset, DNS */
	SCEN_OUT_AUTH,		/* 401, 403 */
	SCEN_OUT_BAD_REQUEST,	/* other 4xx */
};
const char *scen_outcome_name(enum scen_outcome o);
/* Whether another attempt (on another account) may succeed. */
int scen_outcome_retryable(enum scen_outcome o);

struct scen_quota;

struct scen_quota *scen_quota_new(const struct scen_config *cfg,
				  struct scen_db *db);
void scen_quota_free(struct scen_quota *q);

/* Size of a key's fingerprint: 16 hex digits and a NUL. */
#define SCEN_KEY_FP_SIZE 17
/* Writes the fingerprint of key at base_url to out (SCEN_KEY_FP_SIZE
 * bytes): XXH3-64 of the key seeded with a salted hash of the provider's
 * base_url, in hex. It tells one key from another, and a key at a
 * corrected base_url from the one refused at the wrong one, without the
 * key being stored or recoverable. */
void scen_quota_key_fp(const char *base_url, const char *key, char *out);
/* Whether st records the provider's refusal of ac's key as configured now
 * (or of some key, when ac has none in this environment). */
int scen_quota_key_refused(const struct scen_config *cfg,
			   const struct scen_account *ac,
			   const struct scen_acct_state *st);

/* The start of the quota day containing now (day_resets_at). */
double scen_quota_day_start(const struct scen_config *cfg, double now);

/*
 * Inside a write transaction: picks the next account, round-robin, that has
 * a key, is not disabled, cooling down or set aside, whose breaker (and the
 * provider's) lets a call through, and whose rpm, rph, rpd and tpm budget
 * (and what the provider last said) has room for a call of `tokens`; then
 * reserves the call in the ledger. Accounts in avoid (a bit mask) are tried
 * only when no other has budget. Returns the account index and sets *call;
 * or returns -1 and sets *retry_at to the earliest moment one may recover.
 */
int scen_quota_reserve(struct scen_quota *q, double now, long tokens,
		       uint64_t avoid, int64_t job, int64_t *call,
		       double *retry_at);

/* Inside a write transaction: settles a reserved call with what the
 * provider answered (tokens used, or -1 when it did not say), correcting
 * the ledger and the account's state. */
void scen_quota_settle(struct scen_quota *q, int acct, int64_t call,
		       enum scen_outcome o, const struct scen_call *c,
		       const char *error_message, long tokens, double now);

/* Caps the calls this process may still reserve on account acct (-1: no
 * cap, the default); scen-pool-fill's share of the day. */
void scen_quota_set_cap(struct scen_quota *q, int acct, long calls);
/* Calls reserved by this process on acct. */
long scen_quota_reserved(const struct scen_quota *q, int acct);

/* Whether some account could take a call now (cheap, from memory). */
int scen_quota_open(const struct scen_quota *q, double now);
/* Earliest moment an account or a breaker recovers (from memory). */
double scen_quota_recovery(const struct scen_quota *q, double now);

#endif
