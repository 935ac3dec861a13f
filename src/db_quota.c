/* db_quota.c — the state the accounts share (db.h): each account's row
 * (cool-downs, breaker, the provider's figures and limits, its key's
 * verdict) and the ledger of calls that budgets count. */
#include "scen/db_int.h"

#include <stdio.h>
#include <string.h>

/* Copies column i into buf (n bytes, truncating); "" when NULL. */
static void col_str(struct db_stmt *st, int i, char *buf, size_t n)
{
	const char *s = db_column_text(st, i);
	snprintf(buf, n, "%s", s ? s : "");
}

void scen_db_account_decode(struct db_stmt *st, int col,
			    struct scen_acct_state *a)
{
	memset(a, 0, sizeof *a);
	a->cooldown_until = db_column_double(st, col);
	a->set_aside_until = db_column_double(st, col + 1);
	col_str(st, col + 2, a->breaker, sizeof a->breaker);
	a->failures = (long)db_column_int64(st, col + 3);
	a->opened_at = db_column_double(st, col + 4);
	a->has_day = db_column_type(st, col + 5) != DB_NULL;
	a->day_remaining = (long)db_column_int64(st, col + 5);
	a->day_seen_at = db_column_double(st, col + 6);
	a->day_reset_at = db_column_double(st, col + 7);
	a->has_tok = db_column_type(st, col + 8) != DB_NULL;
	a->tok_remaining = (long)db_column_int64(st, col + 8);
	a->tok_seen_at = db_column_double(st, col + 9);
	a->tok_reset_at = db_column_double(st, col + 10);
	a->lim_rpm = (long)db_column_int64(st, col + 11);
	a->lim_rpd = (long)db_column_int64(st, col + 12);
	a->lim_tpm = (long)db_column_int64(st, col + 13);
	/* a verdict holds only with the key it was given for */
	if (db_column_type(st, col + 14) == DB_NULL ||
	    db_column_type(st, col + 15) == DB_NULL)
		return;
	col_str(st, col + 14, a->key_fp, sizeof a->key_fp);
	col_str(st, col + 15, a->key_verdict, sizeof a->key_verdict);
	a->key_verdict_at = db_column_double(st, col + 16);
}

int scen_db_account_get(struct scen_db *db, const char *name,
			struct scen_acct_state *a)
{
	struct db_stmt *init = db_stmt(db, ST_ACCT_INIT);
	struct db_stmt *st = db_stmt(db, ST_ACCT_GET);
	if (!init || !st)
		return -1;
	memset(a, 0, sizeof *a);
	snprintf(a->breaker, sizeof a->breaker, "closed");
	/* read-only connections cannot create the row: defaults then */
	if (!db->readonly) {
		db_bind_text(init, 1, name, -1);
		if (db_run(db, init) < 0)
			return -1;
	}
	db_bind_text(st, 1, name, -1);
	int r = db_step(st);
	if (r == DB_ROW)
		scen_db_account_decode(st, 0, a);
	db_reset(st);
	if (r != DB_ROW && r != DB_DONE)
		return db_fail(db, "reading an account");
	return 0;
}

int scen_db_account_put(struct scen_db *db, const char *name,
			const struct scen_acct_state *a)
{
	struct db_stmt *st = db_stmt(db, ST_ACCT_PUT);
	if (!st)
		return -1;
	db_bind_text(st, 1, name, -1);
	db_bind_double(st, 2, a->cooldown_until);
	db_bind_double(st, 3, a->set_aside_until);
	db_bind_text(st, 4, a->breaker, -1);
	db_bind_int64(st, 5, a->failures);
	db_bind_double(st, 6, a->opened_at);
	db_bind_int64(st, 7, a->day_remaining);
	db_bind_double(st, 8, a->day_seen_at);
	db_bind_double(st, 9, a->day_reset_at);
	db_bind_int64(st, 10, a->tok_remaining);
	db_bind_double(st, 11, a->tok_seen_at);
	db_bind_double(st, 12, a->tok_reset_at);
	db_bind_int64(st, 13, a->lim_rpm);
	db_bind_int64(st, 14, a->lim_rpd);
	db_bind_int64(st, 15, a->lim_tpm);
	db_bind_text(st, 16, a->key_fp, -1);
	db_bind_text(st, 17, a->key_verdict, -1);
	db_bind_double(st, 18, a->key_verdict_at);
	/* figures not seen, a verdict not given: NULL */
	if (!a->has_day)
		db_bind_nulls(st, 7, 9);
	if (!a->has_tok)
		db_bind_nulls(st, 10, 12);
	if (!a->key_verdict[0])
		db_bind_nulls(st, 16, 18);
	return db_run(db, st);
}

int scen_db_usage(struct scen_db *db, const char *account, double now,
		  double day_start, double day_seen_at, double tok_seen_at,
		  struct scen_usage *u)
{
	struct db_stmt *st = db_stmt(db, ST_USAGE);
	if (!st)
		return -1;
	db_bind_text(st, 1, account, -1);
	db_bind_double(st, 2, now);
	db_bind_double(st, 3, day_start);
	db_bind_double(st, 4, day_seen_at);
	db_bind_double(st, 5, tok_seen_at);
	/* the oldest call any of the windows reads (an index range) */
	double from = now - 3601;
	if (day_start < from)
		from = day_start;
	if (day_seen_at < from)
		from = day_seen_at;
	if (tok_seen_at < from)
		from = tok_seen_at;
	db_bind_double(st, 6, from - 1);
	int r = db_step(st);
	memset(u, 0, sizeof *u);
	if (r == DB_ROW) {
		u->minute = (long)db_column_int64(st, 0);
		u->hour = (long)db_column_int64(st, 1);
		u->day = (long)db_column_int64(st, 2);
		u->tokens_minute = (long)db_column_int64(st, 3);
		u->oldest_minute = db_column_double(st, 4);
		u->oldest_hour = db_column_double(st, 5);
		u->oldest_day = db_column_double(st, 6);
		u->since_day_seen = (long)db_column_int64(st, 7);
		u->tokens_since_tok_seen = (long)db_column_int64(st, 8);
	}
	db_reset(st);
	if (r != DB_ROW)
		return db_fail(db, "reading the usage ledger");
	return 0;
}

int64_t scen_db_call_reserve(struct scen_db *db, const char *account,
			     double now, long tokens, int64_t job)
{
	struct db_stmt *st = db_stmt(db, ST_CALL_RESERVE);
	if (!st)
		return -1;
	db_bind_text(st, 1, account, -1);
	db_bind_double(st, 2, now);
	db_bind_int64(st, 3, tokens);
	db_bind_int64_if(st, 4, job != 0, job);
	return db_insert_id(db, st);
}

int scen_db_call_settle(struct scen_db *db, int64_t call, long status,
			long tokens, double now)
{
	struct db_stmt *st = db_stmt(db, ST_CALL_SETTLE);
	if (!st)
		return -1;
	db_bind_int64(st, 1, call);
	db_bind_int64(st, 2, status);
	db_bind_int64(st, 3, tokens);
	db_bind_double(st, 4, now);
	return db_run(db, st);
}
