/* store_pg_stmt.c — the statements of the PostgreSQL backend
 * (store_pg_int.h): SQLite's parameters turned into PostgreSQL's,
 * prepared at their first step with the types bound, run or queued in
 * the pipeline of a write transaction, their rows read as text (bytea
 * decoded). */
#include "scen/store_pg_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

struct db_stmt *pg_prepare(struct scen_db *db, const char *sql,
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

void pg_clear_result(struct pg_stmt *st)
{
	PQclear(st->res);
	st->res = NULL;
	st->row = -1;
	st->nrows = st->ncols = 0;
}

void pg_finalize(struct db_stmt *s)
{
	struct pg_stmt *st = (struct pg_stmt *)s;
	struct pg_conn *pc = conn_of(s->db);
	/* its SQL text is named in the queue; an error there aborts the
	 * transaction, which the commit then tells */
	pg_settle(s->db);
	pg_clear_result(st);
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

void pg_bind_int64(struct db_stmt *s, int i, int64_t v)
{
	struct pg_stmt *st = (struct pg_stmt *)s;
	int k = param(s, i);
	if (k < 0)
		return;
	snprintf(st->num[k], sizeof st->num[k], "%" PRId64, v);
	set_param(s, i, OID_INT8, st->num[k], 0, 0);
}

void pg_bind_double(struct db_stmt *s, int i, double v)
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
void pg_bind_text(struct db_stmt *s, int i, const char *p, int n)
{
	set_param(s, i, OID_TEXT, p, n < 0 ? (int)strlen(p) : n, 1);
}

void pg_bind_blob(struct db_stmt *s, int i, const void *p, int n)
{
	set_param(s, i, OID_BYTEA, n ? p : "", n, 1);
}

void pg_bind_null(struct db_stmt *s, int i)
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
	if (pg_settle(db) < 0)
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
	if (!pg_res_ok(db, &res))
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
		pg_note_failure(db, NULL);
		return -1;
	}
	int sent = st->persistent
		? PQsendQueryPrepared(pc->c, st->name, st->nparams, st->values,
				      st->lengths, st->formats, 0)
		: PQsendQueryParams(pc->c, st->sql, st->nparams, st->types,
				    st->values, st->lengths, st->formats, 0);
	if (!sent) {
		pg_note_failure(db, NULL);
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
		if (send_queued(st) < 0 || pg_settle_keep(db, &st->res) < 0)
			return -1;
	} else if (st->persistent) {
		st->res = PQexecPrepared(c, st->name, st->nparams, st->values,
					 st->lengths, st->formats, 0);
	} else {
		st->res = PQexecParams(c, st->sql, st->nparams, st->types,
				       st->values, st->lengths, st->formats, 0);
	}
	if (!pg_res_ok(db, &st->res))
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
int pg_step(struct db_stmt *s)
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

void pg_reset(struct db_stmt *s)
{
	pg_clear_result((struct pg_stmt *)s);
}

/* Queues st for its answer to be read later (settle), in a write
 * transaction; elsewhere (no transaction to fail, or a read) it runs at
 * once. See struct db_backend. */
int pg_run(struct db_stmt *s)
{
	struct pg_stmt *st = (struct pg_stmt *)s;
	struct scen_db *db = s->db;
	struct pg_conn *pc = conn_of(db);
	if (!pc->txid || PQstatus(pc->c) != CONNECTION_OK) {
		int rc = pg_step(s);
		pg_reset(s);
		return rc < 0 ? -1 : 0;
	}
	if ((pc->nqueued >= PG_QUEUE_MAX && pg_settle(db) < 0) ||
	    (st->persistent && ensure_prepared(st) < 0))
		return -1;
	return send_queued(st);
}

int pg_column_count(struct db_stmt *s)
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

enum db_type pg_column_type(struct db_stmt *s, int i)
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

int64_t pg_column_int64(struct db_stmt *s, int i)
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

double pg_column_double(struct db_stmt *s, int i)
{
	const char *v = value((struct pg_stmt *)s, i);
	if (!v)
		return 0;
	if (*v == 't' || *v == 'f')
		return *v == 't';
	return strtod(v, NULL);
}

const char *pg_column_text(struct db_stmt *s, int i)
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

const void *pg_column_blob(struct db_stmt *s, int i)
{
	struct pg_stmt *st = (struct pg_stmt *)s;
	struct pg_blob *b = blob(st, i);
	return b ? (const void *)b->p : (const void *)value(st, i);
}

int pg_column_bytes(struct db_stmt *s, int i)
{
	struct pg_stmt *st = (struct pg_stmt *)s;
	struct pg_blob *b = blob(st, i);
	if (b)
		return (int)b->len;
	return value(st, i) ? PQgetlength(st->res, st->row, i) : 0;
}

const char *pg_column_name(struct db_stmt *st, int i)
{
	struct pg_stmt *p = (struct pg_stmt *)st;
	return p->res ? PQfname(p->res, i) : NULL;
}

