/* store_pg.c — the PostgreSQL backend of the storage layer (db_int.h:
 * struct db_backend) over libpq: a database named by a libpq URI, shared
 * by the hosts of a study. The only file that includes libpq-fe.h. */
#include "scen/db_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

/* Advisory lock keys ("scen" and a number): the writers' turn (and the
 * migration's, which is a write), and the pool fill's. */
#define PG_KEY_WRITE "126870740664321"	/* 0x7363656e0001 */
#define PG_KEY_POOL "126870740664322"	/* 0x7363656e0002 */
#define PG_POOL_LOCK "SELECT pg_try_advisory_lock(" PG_KEY_POOL ")"
#define PG_WRITE_LOCK "SELECT pg_advisory_xact_lock(" PG_KEY_WRITE ")"

/* Type oids (pg_type.dat), as the server sends them. */
enum {
	OID_BOOL = 16, OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21,
	OID_INT4 = 23, OID_TEXT = 25, OID_OID = 26, OID_FLOAT4 = 700,
	OID_FLOAT8 = 701, OID_NUMERIC = 1700,
};

/* Reconnecting: begin tries at most once per interval, from the first
 * to the last, doubling. */
#define PG_RETRY_FIRST 0.25
#define PG_RETRY_LAST 5.0
/* A COMMIT whose answer was lost: reconnect for this long, from 0.1 s
 * between tries, doubling. */
#define PG_COMMIT_PATIENCE 30.0
/* Statements queued in a write transaction (pg_run) are sent and their
 * results read at the latest when this many are waiting. */
#define PG_QUEUE_MAX 4096

struct pg_stmt;

struct pg_conn {
	PGconn *c;
	char *password;		/* the target's, to keep out of messages */
	struct strbuf msg;	/* the last error, one line */
	struct pg_stmt *stmts;	/* the persistent ones: re-prepared after a
				 * reconnect */
	long names;		/* prepared statements named so far */
	double retry_at, backoff;	/* reconnecting (monotonic clock) */
	long long txid;		/* of the open write transaction, or 0 */
	int pool_locked;
	/* the statements pg_run queued (in pipeline mode), by their SQL
	 * text (a queued statement is not finalized before settle) */
	const char **queued;
	size_t nqueued, capqueued;
};

/* A column's bytea, decoded for the current row. */
struct pg_blob {
	unsigned char *p;
	size_t len, cap;
	int row;		/* of the decoded value, -1 none */
};

struct pg_stmt {
	struct db_stmt base;
	char *sql;		/* with $N parameters */
	int persistent, prepared;
	char name[32];
	int nparams;
	const char **values;
	int *lengths, *formats;
	Oid *types, *prep_types;	/* as bound; as prepared */
	char (*num)[32];		/* numbers as text */
	PGresult *res;
	int row, nrows, ncols;
	struct pg_blob *blobs;	/* by column, ncols of them */
	int nblobs;
	struct pg_stmt *next, **pprev;	/* in the persistent list */
};

static struct pg_conn *conn_of(struct scen_db *db)
{
	return db->conn;
}

static double monotonic(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sets the last error to s (a libpq message): one line, no trailing
 * newline, the password (should a message ever echo the URI) masked. */
static void set_msg(struct pg_conn *pc, const char *s)
{
	struct strbuf *m = &pc->msg;
	sb_reset(m);
	for (const char *c = s ? s : "unknown error"; *c; c++) {
		size_t pl = pc->password ? strlen(pc->password) : 0;
		if (pl && !strncmp(c, pc->password, pl)) {
			sb_adds(m, "***");
			c += pl - 1;
		} else if (*c == '\n' || *c == '\t') {
			if (m->len && m->buf[m->len - 1] != ' ')
				sb_addc(m, ' ');
		} else {
			sb_addc(m, *c);
		}
	}
	while (m->len && m->buf[m->len - 1] == ' ')
		m->buf[--m->len] = '\0';
}

/* The password in a URI (malloc'd, as written), or NULL: the userinfo's
 * after its ':', or a password= parameter. */
static char *uri_password(const char *uri)
{
	const char *a = strstr(uri, "://");
	if (!a)
		return NULL;
	a += 3;
	size_t alen = strcspn(a, "/?#");
	const char *at = memchr(a, '@', alen);
	const char *colon = at ? memchr(a, ':', (size_t)(at - a)) : NULL;
	if (colon && at > colon + 1)
		return xstrndup(colon + 1, (size_t)(at - colon - 1));
	const char *q = strstr(uri, "password=");
	if (q && (q[-1] == '?' || q[-1] == '&') && q[9] && q[9] != '&')
		return xstrndup(q + 9, strcspn(q + 9, "&#"));
	return NULL;
}

/* Notes why a statement failed (db_int.h: the first trouble since begin
 * counts) and keeps its message; res may be NULL. */
static void note_failure(struct scen_db *db, const PGresult *res)
{
	struct pg_conn *pc = conn_of(db);
	const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
			    : NULL;
	set_msg(pc, m ? m : PQerrorMessage(pc->c));
	if (db->trouble)
		return;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
				: NULL;
	/* libpq's own error (no SQLSTATE: "server closed the connection
	 * unexpectedly" when a write met the dead socket) or the server's
	 * shutdown (57P..) may leave the status OK until the next read:
	 * read now, so that a lost connection is known as lost */
	if (PQstatus(pc->c) == CONNECTION_OK &&
	    (!state || !strncmp(state, "57P", 3) || !strncmp(state, "08", 2)))
		PQconsumeInput(pc->c);
	if (PQstatus(pc->c) == CONNECTION_BAD)
		db->trouble = SCEN_DB_UNREACHABLE;
	else if (state && !strcmp(state, "53100"))
		db->trouble = SCEN_DB_FULL;
	else if (state && !strcmp(state, "25006"))
		db->trouble = SCEN_DB_READ_ONLY;
}

/* Whether res is a success (else notes why, and clears it). */
static int res_ok(struct scen_db *db, PGresult **res)
{
	ExecStatusType s = *res ? PQresultStatus(*res) : PGRES_FATAL_ERROR;
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ||
	    s == PGRES_EMPTY_QUERY)
		return 1;
	note_failure(db, *res);
	PQclear(*res);
	*res = NULL;
	return 0;
}

/* Reads what the queued statements answered, up to the pipeline's sync,
 * keeping the last one's result in *last when last is not NULL: 0, or -1
 * when one failed (the first failure noted, errmsg naming it when it is
 * not the last) or the connection broke. */
static int drain(struct scen_db *db, PGresult **last)
{
	struct pg_conn *pc = conn_of(db);
	size_t k = 0;
	int rc = 0, nulls = 0;
	for (;;) {
		PGresult *res = PQgetResult(pc->c);
		if (!res) {
			/* one NULL ends each statement's results; two: nothing
			 * more will come (the connection is lost) */
			if (++nulls > 1 || PQstatus(pc->c) == CONNECTION_BAD)
				break;
			continue;
		}
		nulls = 0;
		ExecStatusType s = PQresultStatus(res);
		if (s == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			return rc;
		}
		int keep = last && k + 1 == pc->nqueued;
		if (s != PGRES_PIPELINE_ABORTED && !res_ok(db, &res) && !rc) {
			if (!keep)
				sb_addf(&pc->msg, " (in \"%.60s\", run before)",
					k < pc->nqueued ? pc->queued[k] : "?");
			rc = -1;
		}
		k++;
		if (keep && res && !rc)
			*last = res;
		else
			PQclear(res);
	}
	if (!rc)
		note_failure(db, NULL);
	return -1;
}

/* Sends the statements queued (pg_run, and a step after them) and reads
 * their results, leaving pipeline mode; the last one's result in *last
 * when last is not NULL. 0, or -1 (noted) when one failed or the
 * connection did. Every synchronous call first settles. */
static int settle_keep(struct scen_db *db, PGresult **last)
{
	struct pg_conn *pc = conn_of(db);
	if (PQpipelineStatus(pc->c) == PQ_PIPELINE_OFF)
		return 0;
	int rc = -1;
	if (PQpipelineSync(pc->c) == 1)
		rc = drain(db, last);
	else
		note_failure(db, NULL);
	pc->nqueued = 0;
	if (!PQexitPipelineMode(pc->c) && !rc) {
		note_failure(db, NULL);
		rc = -1;
	}
	return rc;
}

static int settle(struct scen_db *db)
{
	return settle_keep(db, NULL);
}

/* Runs sql (no parameters, maybe several statements): the last result,
 * or NULL (noted). */
static PGresult *run(struct scen_db *db, const char *sql)
{
	if (settle(db) < 0)
		return NULL;
	PGresult *res = PQexec(conn_of(db)->c, sql);
	return res_ok(db, &res) ? res : NULL;
}

static int pg_exec(struct scen_db *db, const char *sql)
{
	PGresult *res = run(db, sql);
	PQclear(res);
	return res ? 0 : -1;
}

static const char *pg_errmsg(struct scen_db *db)
{
	struct pg_conn *pc = conn_of(db);
	if (!pc->msg.len)
		set_msg(pc, PQerrorMessage(pc->c));
	return pc->msg.buf;
}

/* Statements */

/* SQLite's parameters as PostgreSQL's: ?N is $N, a bare ? the next
 * number after the largest so far; quoted strings and names are left as
 * they are. Sets *n to the largest number. */
static char *translate(const char *sql, int *n)
{
	struct strbuf sb;
	sb_init(&sb);
	char quote = 0;
	int max = 0;
	for (const char *c = sql; *c; c++) {
		if (quote) {
			quote = *c == quote ? 0 : quote;
		} else if (*c == '\'' || *c == '"') {
			quote = *c;
		} else if (*c == '?') {
			char *end;
			long k = strtol(c + 1, &end, 10);
			if (end == c + 1)
				k = max + 1;
			max = k > max ? (int)k : max;
			sb_addf(&sb, "$%ld", k);
			c = end - 1;
			continue;
		}
		sb_addc(&sb, *c);
	}
	*n = max;
	return sb.buf;
}

static struct db_stmt *pg_prepare(struct scen_db *db, const char *sql,
				  int persistent)
{
	struct pg_conn *pc = conn_of(db);
	struct pg_stmt *st = xcalloc(1, sizeof *st);
	st->base.db = db;
	st->sql = translate(sql, &st->nparams);
	st->base.sql = st->sql;	/* the caller's text may not outlive it */
	st->persistent = persistent;
	int n = st->nparams ? st->nparams : 1;
	st->values = xcalloc((size_t)n, sizeof *st->values);
	st->lengths = xcalloc((size_t)n, sizeof *st->lengths);
	st->formats = xcalloc((size_t)n, sizeof *st->formats);
	st->types = xcalloc((size_t)n, sizeof *st->types);
	st->prep_types = xcalloc((size_t)n, sizeof *st->prep_types);
	st->num = xcalloc((size_t)n, sizeof *st->num);
	st->row = -1;
	if (persistent) {
		snprintf(st->name, sizeof st->name, "scen_%ld", ++pc->names);
		st->next = pc->stmts;
		if (st->next)
			st->next->pprev = &st->next;
		st->pprev = &pc->stmts;
		pc->stmts = st;
	}
	return &st->base;
}

static void clear_result(struct pg_stmt *st)
{
	PQclear(st->res);
	st->res = NULL;
	st->row = -1;
	st->nrows = st->ncols = 0;
}

static void pg_finalize(struct db_stmt *s)
{
	struct pg_stmt *st = (struct pg_stmt *)s;
	struct pg_conn *pc = conn_of(s->db);
	/* its SQL text is named in the queue; an error there aborts the
	 * transaction, which the commit then tells */
	settle(s->db);
	clear_result(st);
	if (st->persistent) {
		*st->pprev = st->next;
		if (st->next)
			st->next->pprev = st->pprev;
	}
	/* a statement left prepared on a connection that goes on would
	 * keep its name and plan: let the server forget it */
	if (st->prepared && PQstatus(pc->c) == CONNECTION_OK &&
	    PQtransactionStatus(pc->c) == PQTRANS_IDLE) {
		char sql[48];
		snprintf(sql, sizeof sql, "DEALLOCATE %s", st->name);
		PQclear(PQexec(pc->c, sql));
	}
	for (int i = 0; i < st->nblobs; i++)
		free(st->blobs[i].p);
	free(st->blobs);
	free(st->values);
	free(st->lengths);
	free(st->formats);
	free(st->types);
	free(st->prep_types);
	free(st->num);
	free(st->sql);
	free(st);
}

/* Parameter i (1-based) as bound, or NULL when out of range. */
static int param(struct db_stmt *s, int i)
{
	struct pg_stmt *st = (struct pg_stmt *)s;
	return i >= 1 && i <= st->nparams ? i - 1 : -1;
}

static void set_param(struct db_stmt *s, int i, Oid type, const void *v,
		      int len, int binary)
{
	struct pg_stmt *st = (struct pg_stmt *)s;
	int k = param(s, i);
	if (k < 0)
		return;
	st->types[k] = type;
	st->values[k] = v;
	st->lengths[k] = len;
	st->formats[k] = binary;
}

static void pg_bind_int64(struct db_stmt *s, int i, int64_t v)
{
	struct pg_stmt *st = (struct pg_stmt *)s;
	int k = param(s, i);
	if (k < 0)
		return;
	snprintf(st->num[k], sizeof st->num[k], "%" PRId64, v);
	set_param(s, i, OID_INT8, st->num[k], 0, 0);
}

static void pg_bind_double(struct db_stmt *s, int i, double v)
{
	struct pg_stmt *st = (struct pg_stmt *)s;
	int k = param(s, i);
	if (k < 0)
		return;
	snprintf(st->num[k], sizeof st->num[k], "%.17g", v);
	set_param(s, i, OID_FLOAT8, st->num[k], 0, 0);
}

/* Text goes in binary form (its bytes as they are, with their length):
 * a length-limited string need not end in a NUL. */
static void pg_bind_text(struct db_stmt *s, int i, const char *p, int n)
{
	set_param(s, i, OID_TEXT, p, n < 0 ? (int)strlen(p) : n, 1);
}

static void pg_bind_blob(struct db_stmt *s, int i, const void *p, int n)
{
	set_param(s, i, OID_BYTEA, n ? p : "", n, 1);
}

static void pg_bind_null(struct db_stmt *s, int i)
{
	set_param(s, i, 0, NULL, 0, 0);
}

/* A persistent statement is prepared at its first step, with the types
 * bound then (a NULL's type left to the server), and again when a later
 * step binds a value of another type where the first had one. */
static int ensure_prepared(struct pg_stmt *st)
{
	struct scen_db *db = st->base.db;
	struct pg_conn *pc = conn_of(db);
	int same = st->prepared;
	for (int k = 0; k < st->nparams; k++) {
		if (st->types[k] && st->types[k] != st->prep_types[k]) {
			st->prep_types[k] = st->types[k];
			same = 0;
		}
	}
	if (same)
		return 0;
	if (settle(db) < 0)
		return -1;
	if (st->prepared) {
		char sql[48];
		snprintf(sql, sizeof sql, "DEALLOCATE %s", st->name);
		if (pg_exec(db, sql) < 0)
			return -1;
		st->prepared = 0;
	}
	PGresult *res = PQprepare(pc->c, st->name, st->sql, st->nparams,
				  st->prep_types);
	if (!res_ok(db, &res))
		return -1;
	PQclear(res);
	st->prepared = 1;
	return 0;
}

/* Sends st in pipeline mode (entering it), its SQL text noted for
 * messages: 0, or -1 (noted). */
static int send_queued(struct pg_stmt *st)
{
	struct scen_db *db = st->base.db;
	struct pg_conn *pc = conn_of(db);
	if (PQpipelineStatus(pc->c) == PQ_PIPELINE_OFF &&
	    !PQenterPipelineMode(pc->c)) {
		note_failure(db, NULL);
		return -1;
	}
	int sent = st->persistent
		? PQsendQueryPrepared(pc->c, st->name, st->nparams, st->values,
				      st->lengths, st->formats, 0)
		: PQsendQueryParams(pc->c, st->sql, st->nparams, st->types,
				    st->values, st->lengths, st->formats, 0);
	if (!sent) {
		note_failure(db, NULL);
		return -1;
	}
	XGROW(pc->queued, pc->nqueued + 1, pc->capqueued);
	pc->queued[pc->nqueued++] = st->sql;
	return 0;
}

/* Runs st, keeping its rows. After statements queued (pg_run) it goes
 * with them: one round trip for all. */
static int execute(struct pg_stmt *st)
{
	struct scen_db *db = st->base.db;
	PGconn *c = conn_of(db)->c;
	if (st->persistent && ensure_prepared(st) < 0)
		return -1;
	if (PQpipelineStatus(c) != PQ_PIPELINE_OFF) {
		if (send_queued(st) < 0 || settle_keep(db, &st->res) < 0)
			return -1;
	} else if (st->persistent) {
		st->res = PQexecPrepared(c, st->name, st->nparams, st->values,
					 st->lengths, st->formats, 0);
	} else {
		st->res = PQexecParams(c, st->sql, st->nparams, st->types,
				       st->values, st->lengths, st->formats, 0);
	}
	if (!res_ok(db, &st->res))
		return -1;
	st->nrows = PQntuples(st->res);
	st->ncols = PQnfields(st->res);
	if (st->ncols > st->nblobs) {
		st->blobs = xrealloc(st->blobs,
				     (size_t)st->ncols * sizeof *st->blobs);
		memset(st->blobs + st->nblobs, 0,
		       (size_t)(st->ncols - st->nblobs) * sizeof *st->blobs);
		st->nblobs = st->ncols;
	}
	for (int i = 0; i < st->ncols; i++)
		st->blobs[i].row = -1;
	return 0;
}

/* The first step runs the statement and keeps its rows; each step walks
 * one on. */
static int pg_step(struct db_stmt *s)
{
	struct pg_stmt *st = (struct pg_stmt *)s;
	if (!st->res && execute(st) < 0)
		return -1;
	if (st->row + 1 < st->nrows) {
		st->row++;
		return DB_ROW;
	}
	st->row = st->nrows;
	return DB_DONE;
}

static void pg_reset(struct db_stmt *s)
{
	clear_result((struct pg_stmt *)s);
}

/* Queues st for its answer to be read later (settle), in a write
 * transaction; elsewhere (no transaction to fail, or a read) it runs at
 * once. See struct db_backend. */
static int pg_run(struct db_stmt *s)
{
	struct pg_stmt *st = (struct pg_stmt *)s;
	struct scen_db *db = s->db;
	struct pg_conn *pc = conn_of(db);
	if (!pc->txid || PQstatus(pc->c) != CONNECTION_OK) {
		int rc = pg_step(s);
		pg_reset(s);
		return rc < 0 ? -1 : 0;
	}
	if ((pc->nqueued >= PG_QUEUE_MAX && settle(db) < 0) ||
	    (st->persistent && ensure_prepared(st) < 0))
		return -1;
	return send_queued(st);
}

static int pg_column_count(struct db_stmt *s)
{
	return ((struct pg_stmt *)s)->ncols;
}

/* The current row's value of column i, or NULL when NULL or none. */
static const char *value(struct pg_stmt *st, int i)
{
	if (!st->res || st->row < 0 || st->row >= st->nrows || i < 0 ||
	    i >= st->ncols || PQgetisnull(st->res, st->row, i))
		return NULL;
	return PQgetvalue(st->res, st->row, i);
}

static enum db_type pg_column_type(struct db_stmt *s, int i)
{
	struct pg_stmt *st = (struct pg_stmt *)s;
	const char *v = value(st, i);
	if (!v)
		return DB_NULL;
	switch (PQftype(st->res, i)) {
	case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID:
	case OID_BOOL:
		return DB_INTEGER;
	case OID_FLOAT4: case OID_FLOAT8:
		return DB_FLOAT;
	case OID_NUMERIC:
		return strchr(v, '.') ? DB_FLOAT : DB_INTEGER;
	case OID_BYTEA:
		return DB_BLOB;
	default:
		return DB_TEXT;
	}
}

static int64_t pg_column_int64(struct db_stmt *s, int i)
{
	const char *v = value((struct pg_stmt *)s, i);
	if (!v)
		return 0;
	if (*v == 't' || *v == 'f')
		return *v == 't';
	if (strpbrk(v, ".eE"))
		return (int64_t)strtod(v, NULL);
	return strtoll(v, NULL, 10);
}

static double pg_column_double(struct db_stmt *s, int i)
{
	const char *v = value((struct pg_stmt *)s, i);
	if (!v)
		return 0;
	if (*v == 't' || *v == 'f')
		return *v == 't';
	return strtod(v, NULL);
}

static const char *pg_column_text(struct db_stmt *s, int i)
{
	return value((struct pg_stmt *)s, i);
}

static int hexval(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Column i's bytea, decoded from the server's \x... text once a row. */
static struct pg_blob *blob(struct pg_stmt *st, int i)
{
	const char *v = value(st, i);
	if (!v || PQftype(st->res, i) != OID_BYTEA || v[0] != '\\' ||
	    v[1] != 'x')
		return NULL;
	struct pg_blob *b = &st->blobs[i];
	if (b->row == st->row)
		return b;
	size_t n = (size_t)PQgetlength(st->res, st->row, i) / 2 - 1;
	XGROW(b->p, n ? n : 1, b->cap);
	for (size_t k = 0; k < n; k++)
		b->p[k] = (unsigned char)(hexval(v[2 + 2 * k]) << 4 |
					  hexval(v[3 + 2 * k]));
	b->len = n;
	b->row = st->row;
	return b;
}

static const void *pg_column_blob(struct db_stmt *s, int i)
{
	struct pg_stmt *st = (struct pg_stmt *)s;
	struct pg_blob *b = blob(st, i);
	return b ? (const void *)b->p : (const void *)value(st, i);
}

static int pg_column_bytes(struct db_stmt *s, int i)
{
	struct pg_stmt *st = (struct pg_stmt *)s;
	struct pg_blob *b = blob(st, i);
	if (b)
		return (int)b->len;
	return value(st, i) ? PQgetlength(st->res, st->row, i) : 0;
}

/* Connection */

/* Reconnects (PQreset); on success every prepared statement is gone with
 * the old session, and so is the pool fill's lock: taken again. */
static int reconnect(struct scen_db *db)
{
	struct pg_conn *pc = conn_of(db);
	PQreset(pc->c);
	if (PQstatus(pc->c) != CONNECTION_OK) {
		set_msg(pc, PQerrorMessage(pc->c));
		return -1;
	}
	for (struct pg_stmt *st = pc->stmts; st; st = st->next) {
		clear_result(st);
		st->prepared = 0;
	}
	pc->nqueued = 0;	/* the reset left pipeline mode */
	pc->backoff = PG_RETRY_FIRST;
	pc->retry_at = 0;
	if (pc->pool_locked) {
		PGresult *res = run(db, PG_POOL_LOCK);
		if (!res || strcmp(PQgetvalue(res, 0, 0), "t"))
			scen_warn("%s: the pool fill's lock was lost with the "
				  "connection", db->path);
		PQclear(res);
	}
	return 0;
}

/* A lost connection, when the interval since the last try has passed:
 * one reconnect. 0 when connected, -1 at once when not (trouble noted,
 * errmsg telling the last try's error). */
static int reachable(struct scen_db *db)
{
	struct pg_conn *pc = conn_of(db);
	if (PQstatus(pc->c) == CONNECTION_OK)
		return 0;
	double now = monotonic();
	if (now >= pc->retry_at) {
		if (reconnect(db) == 0)
			return 0;
		pc->retry_at = now + pc->backoff;
		pc->backoff = pc->backoff * 2 < PG_RETRY_LAST
			? pc->backoff * 2 : PG_RETRY_LAST;
	}
	db->trouble = SCEN_DB_UNREACHABLE;
	return -1;
}

static void pg_retry_now(struct scen_db *db)
{
	conn_of(db)->retry_at = 0;
}

/* Opens the transaction how asks for. A write waits for its turn among
 * the writers and keeps its transaction id (for a commit whose answer is
 * lost); READ COMMITTED whatever the server's default, so that each
 * statement after the lock sees what the turns before committed. A read
 * is one snapshot, not READ ONLY: the export fills a temporary table. */
static int begin_once(struct scen_db *db, enum db_tx how)
{
	struct pg_conn *pc = conn_of(db);
	PGresult *res = run(db, how == DB_TX_READ
			    ? "BEGIN ISOLATION LEVEL REPEATABLE READ"
			    : "BEGIN ISOLATION LEVEL READ COMMITTED; "
			      PG_WRITE_LOCK ", txid_current()");
	if (!res) {
		if (PQtransactionStatus(pc->c) != PQTRANS_IDLE)
			PQclear(PQexec(pc->c, "ROLLBACK"));
		return -1;
	}
	pc->txid = how == DB_TX_READ ? 0
		: strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return 0;
}

/*
 * Writers take turns under a transaction-level advisory lock, as SQLite's
 * BEGIN IMMEDIATE makes them: a turn sees everything committed before it,
 * and row ids grow in commit order (catch-up reads by row id). A
 * connection lost since the last transaction is tried again once (a
 * server restart between two turns goes unnoticed); while the server
 * stays away, begin fails at once (see reachable).
 */
static int pg_begin(struct scen_db *db, enum db_tx how)
{
	int quiet = how == DB_TX_QUIET;
	for (int tries = 0; tries < 2; tries++) {
		if (reachable(db) < 0)
			return quiet ? 0 : -1;
		if (begin_once(db, how) == 0) {
			db->trouble = SCEN_DB_OK;	/* a lost try before */
			return quiet ? 1 : 0;
		}
		if (PQstatus(conn_of(db)->c) == CONNECTION_OK)
			break;
	}
	/* a process that may not write still gets a snapshot */
	if (quiet)
		return PQstatus(conn_of(db)->c) == CONNECTION_OK &&
			begin_once(db, DB_TX_READ) == 0;
	return -1;
}

/*
 * A COMMIT whose answer is lost with the connection may or may not have
 * committed. Reconnect (for up to PG_COMMIT_PATIENCE seconds) and ask the
 * server what became of the transaction (txid_status): committed is a
 * success; anything else, or no server, a failure (db->trouble:
 * unreachable). Nothing is written twice: the caller spools or retries
 * only what failed.
 */
static int commit_outcome(struct scen_db *db)
{
	struct pg_conn *pc = conn_of(db);
	double end = monotonic() + PG_COMMIT_PATIENCE;
	for (double wait = 0.1; reconnect(db) < 0; wait *= 2) {
		if (monotonic() + wait > end)
			return -1;
		usleep((useconds_t)(wait * 1e6));
	}
	char txid[24];
	snprintf(txid, sizeof txid, "%lld", pc->txid);
	const char *v[1] = {txid};
	PGresult *res = PQexecParams(pc->c, "SELECT txid_status($1)", 1, NULL,
				     v, NULL, NULL, 0);
	if (!res_ok(db, &res))
		res = NULL;
	int committed = res && !strcmp(PQgetvalue(res, 0, 0), "committed");
	PQclear(res);
	if (!committed)
		set_msg(pc, "the connection was lost during COMMIT, and the "
			"transaction with it");
	return committed ? 0 : -1;
}

static int pg_commit(struct scen_db *db)
{
	struct pg_conn *pc = conn_of(db);
	/* a queued statement that failed, or a connection lost before the
	 * COMMIT was sent: not committed, nothing to ask the server */
	if (settle(db) < 0) {
		pc->txid = 0;
		return -1;
	}
	PGresult *res = PQexec(pc->c, "COMMIT");
	int ok = res_ok(db, &res);
	/* a transaction that an error aborted answers COMMIT with ROLLBACK */
	if (ok && strcmp(PQcmdStatus(res), "COMMIT")) {
		set_msg(pc, "the transaction was rolled back by an earlier "
			"error");
		ok = 0;
	}
	PQclear(res);
	if (!ok && pc->txid && PQstatus(pc->c) == CONNECTION_BAD)
		ok = commit_outcome(db) == 0;
	pc->txid = 0;
	return ok ? 0 : -1;
}

static void pg_rollback(struct scen_db *db)
{
	struct pg_conn *pc = conn_of(db);
	pc->txid = 0;
	settle(db);	/* what failed in the queue, noted: the turn's why */
	if (PQstatus(pc->c) == CONNECTION_OK &&
	    PQtransactionStatus(pc->c) != PQTRANS_IDLE)
		PQclear(PQexec(pc->c, "ROLLBACK"));
}

/* The pool fill's lock: a session-level advisory lock, held until the
 * connection closes (taken again after a reconnect). */
static enum scen_err pg_pool_lock(struct scen_db *db, struct scen_error *e)
{
	struct pg_conn *pc = conn_of(db);
	PGresult *res = run(db, PG_POOL_LOCK);
	if (!res)
		return scen_fail(e, SCEN_ERR_IO, "%s: cannot take the pool "
				 "fill's lock: %s", db->path, pc->msg.buf);
	pc->pool_locked = !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	if (!pc->pool_locked)
		return scen_fail(e, SCEN_ERR_TEMPFAIL, "another scen-pool-fill "
				 "is filling %s (it holds the database's "
				 "advisory lock); not starting a second run",
				 db->path);
	return SCEN_OK;
}

/* Open: is it scen's, and its schema */

/* The first value of sql's first row, or NULL (noted): malloc'd. */
static char *sql_value(struct scen_db *db, const char *sql)
{
	PGresult *res = run(db, sql);
	if (!res)
		return NULL;
	char *v = xstrdup(PQntuples(res) && !PQgetisnull(res, 0, 0)
			  ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return v;
}

/* The database's schema version: 0 when it holds no tables; -1 on error,
 * -2 when it is not scen's (both reported). */
static long schema_version(struct scen_db *db)
{
	char *v = sql_value(db, "SELECT CASE WHEN to_regclass('scen_meta')"
			    " IS NULL THEN (SELECT count(*) FROM pg_tables"
			    " WHERE schemaname = current_schema())::text"
			    " ELSE 'scen' END");
	if (v && !strcmp(v, "scen")) {
		free(v);
		v = sql_value(db, "SELECT (SELECT value FROM scen_meta"
			      " WHERE key = 'application') || ':' ||"
			      " (SELECT value FROM scen_meta"
			      " WHERE key = 'schema_version')");
		if (v && !strncmp(v, "scen:", 5)) {
			long n = strtol(v + 5, NULL, 10);
			free(v);
			return n;
		}
	} else if (v && !strcmp(v, "0")) {
		free(v);
		return 0;
	}
	if (!v)
		return scen_error("%s: cannot read the schema: %s", db->path,
				  pg_errmsg(db));
	free(v);
	scen_error("%s: not a scen database (it holds tables, not scen's); "
		   "left as it is", db->path);
	return -2;
}

static int migrations(void)
{
	int n = 0;
	while (db_pg_migrations[n])
		n++;
	return n;
}

/* Takes the schema to the last version, in one transaction under the
 * writers' lock: two hosts creating the database at once take turns,
 * and the second finds it made. */
static enum scen_err migrate(struct scen_db *db, int last)
{
	if (pg_exec(db, "BEGIN; " PG_WRITE_LOCK) < 0) {
		scen_error("%s: cannot migrate: %s", db->path, pg_errmsg(db));
		return SCEN_ERR_IO;
	}
	long v = schema_version(db);
	if (v < 0) {
		pg_rollback(db);
		return v == -2 ? SCEN_ERR_NOT_SCEN : SCEN_ERR_IO;
	}
	int rc = 0;
	for (; v < last && !rc; v++)
		rc = pg_exec(db, db_pg_migrations[v]);
	char version[16];
	snprintf(version, sizeof version, "%d", last);
	const char *param[1] = {version};
	PGresult *res = rc ? NULL : PQexecParams(conn_of(db)->c,
		"INSERT INTO scen_meta VALUES ('application', 'scen'),"
		" ('schema_version', $1) ON CONFLICT (key)"
		" DO UPDATE SET value = excluded.value", 1, NULL, param, NULL,
		NULL, 0);
	if (!rc && res_ok(db, &res) && pg_exec(db, "COMMIT") == 0) {
		PQclear(res);
		return SCEN_OK;
	}
	PQclear(res);
	scen_error("%s: cannot migrate: %s", db->path, pg_errmsg(db));
	pg_rollback(db);
	return SCEN_ERR_IO;
}

static void notice(void *arg, const char *message)
{
	scen_debug("%s: %s", (const char *)arg, message);
}

/* Checks the database is scen's and its schema current (see
 * scen_db_open: the same rules as SQLite's, told by scen_meta). */
static enum scen_err set_up(struct scen_db *db, int readonly)
{
	int last = scen_db_schema_version();
	if (migrations() != last) {
		scen_error("%s: this scen's PostgreSQL schema has %d "
			   "migrations, its SQLite one %d", db->path,
			   migrations(), last);
		return SCEN_ERR_SOFTWARE;
	}
	long v = schema_version(db);
	if (v < 0)
		return v == -2 ? SCEN_ERR_NOT_SCEN : SCEN_ERR_IO;
	if (v > last) {
		scen_error("%s: schema version %ld is newer than this scen "
			   "understands (%d); use a newer scen", db->path, v,
			   last);
		return SCEN_ERR_CONFIG;
	}
	if (v == last)
		return SCEN_OK;
	if (readonly) {
		scen_error("%s: schema version %ld needs migrating; run "
			   "scen-serve-stdin or scen-gen once", db->path, v);
		return SCEN_ERR_IO;
	}
	return migrate(db, last);
}

static enum scen_err pg_open(struct scen_db *db, const char *target,
			     int flags)
{
	struct pg_conn *pc = xcalloc(1, sizeof *pc);
	sb_init(&pc->msg);
	pc->password = uri_password(target);
	pc->backoff = PG_RETRY_FIRST;
	db->conn = pc;
	pc->c = PQconnectdb(target);
	if (PQstatus(pc->c) != CONNECTION_OK) {
		set_msg(pc, PQerrorMessage(pc->c));
		scen_error("%s: cannot connect: %s", db->path, pc->msg.buf);
		return SCEN_ERR_UNAVAILABLE;
	}
	PQsetNoticeProcessor(pc->c, notice, db->path);
	if (PQsetClientEncoding(pc->c, "UTF8") != 0) {
		scen_error("%s: cannot set the client encoding to UTF8: %s",
			   db->path, pg_errmsg(db));
		return SCEN_ERR_IO;
	}
	return set_up(db, flags & SCEN_DB_READONLY);
}

static void pg_close(struct scen_db *db)
{
	struct pg_conn *pc = conn_of(db);
	if (!pc)
		return;
	while (pc->stmts)
		pg_finalize(&pc->stmts->base);
	PQfinish(pc->c);
	free(pc->queued);
	sb_release(&pc->msg);
	free(pc->password);
	free(pc);
	db->conn = NULL;
}

static const char *pg_column_name(struct db_stmt *st, int i)
{
	struct pg_stmt *p = (struct pg_stmt *)st;
	return p->res ? PQfname(p->res, i) : NULL;
}

const struct db_backend db_pg = {
	.name = "PostgreSQL",
	.stmt_sql = db_pg_stmt_sql,
	.open = pg_open,
	.close = pg_close,
	.errmsg = pg_errmsg,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.exec = pg_exec,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.bind_int64 = pg_bind_int64,
	.bind_double = pg_bind_double,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.reset = pg_reset,
	.run = pg_run,
	.column_count = pg_column_count,
	.column_type = pg_column_type,
	.column_int64 = pg_column_int64,
	.column_double = pg_column_double,
	.column_text = pg_column_text,
	.column_blob = pg_column_blob,
	.column_bytes = pg_column_bytes,
	.pool_lock = pg_pool_lock,
	.retry_now = pg_retry_now,
	.column_name = pg_column_name,
	.insert_ids = "",
};
