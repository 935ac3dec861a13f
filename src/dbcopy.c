/* dbcopy.c — every table of one scen database copied into an empty other
 * (dbcopy.h, scen-db-copy(1)), through the backend interface alone
 * (db_int.h), so that either side may be SQLite or PostgreSQL: the tables
 * as db_schema.c lists them, each row's columns by name, each value with
 * its type. */
#include "scen/dbcopy.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "scen/db_int.h"

struct copy {
	struct scen_db *from, *to;
	int64_t *rows;		/* copied, by db_tables index */
	struct strbuf sql;	/* the insert's text, while it is prepared */
	struct strbuf cols, params;
};

/* The rows of table in db, or -1 (reported). */
static int64_t count_rows(struct scen_db *db, const char *table)
{
	struct strbuf sql;
	sb_init(&sql);
	sb_addf(&sql, db_copy_count_sql, table);
	struct db_stmt *st = db_prepare(db, sql.buf);
	int64_t n = -1;
	if (st && db_next(st) == DB_ROW)
		n = db_column_int64(st, 0);
	db_finalize(st);
	sb_release(&sql);
	return n;
}

/* SCEN_OK when to holds no row at all; else SCEN_ERR_DATA naming the
 * tables that hold some. */
static enum scen_err refuse_rows(struct copy *c, struct scen_error *e)
{
	struct strbuf held;
	enum scen_err rc = SCEN_OK;
	sb_init(&held);
	for (const struct db_table *t = db_tables; t->name && !rc; t++) {
		int64_t n = count_rows(c->to, t->name);
		if (n < 0)
			rc = scen_failed(e, SCEN_ERR_IO);
		else if (n > 0)
			sb_addf(&held, "%s%s: %" PRId64, held.len ? ", " : "",
				t->name, n);
	}
	if (!rc && held.len)
		rc = scen_fail(e, SCEN_ERR_DATA, "%s: holds rows already (%s); "
			       "scen-db-copy copies into an empty database "
			       "only: nothing copied", scen_db_path(c->to),
			       held.buf);
	sb_release(&held);
	return rc;
}

/* Binds the value of column col of the row src is on to parameter i of
 * dst, with its type. */
static void bind_column(struct db_stmt *dst, int i, struct db_stmt *src,
			int col)
{
	const void *p;

	switch (db_column_type(src, col)) {
	case DB_INTEGER:
		db_bind_int64(dst, i, db_column_int64(src, col));
		break;
	case DB_FLOAT:
		db_bind_double(dst, i, db_column_double(src, col));
		break;
	case DB_TEXT:
		p = db_column_text(src, col);
		db_bind_text(dst, i, p, db_column_bytes(src, col));
		break;
	case DB_BLOB:
		p = db_column_blob(src, col);	/* NULL when empty */
		db_bind_blob(dst, i, p ? p : "", db_column_bytes(src, col));
		break;
	default:
		db_bind_null(dst, i);
	}
}

/* The insert into t of a row with src's columns, by name, and which of
 * them is the identity (-1: none); NULL on error (reported). Its text is
 * c->sql's until it is finalized. */
static struct db_stmt *insert_for(struct copy *c, const struct db_table *t,
				  struct db_stmt *src, int *id_col)
{
	*id_col = -1;
	sb_reset(&c->cols);
	sb_reset(&c->params);
	sb_reset(&c->sql);
	for (int i = 0; i < db_column_count(src); i++) {
		const char *name = db_column_name(src, i);
		if (t->identity && !strcmp(name, "id"))
			*id_col = i;
		sb_addf(&c->cols, "%s\"%s\"", i ? ", " : "", name);
		sb_addf(&c->params, "%s?%d", i ? ", " : "", i + 1);
	}
	sb_addf(&c->sql, db_copy_insert_sql, t->name, c->cols.buf,
		c->to->be->insert_ids, c->params.buf);
	return db_prepare(c->to, c->sql.buf);
}

/* Inserts the row src is on with ins; notes its id in *max_id. */
static int copy_row(struct db_stmt *ins, struct db_stmt *src, int id_col,
		    int64_t *max_id)
{
	for (int i = 0; i < db_column_count(src); i++)
		bind_column(ins, i + 1, src, i);
	if (id_col >= 0 && db_column_int64(src, id_col) > *max_id)
		*max_id = db_column_int64(src, id_col);
	return db_run(ins->db, ins);
}

/* After the copy of t, new rows of to take ids after max_id. */
static int move_identity(struct scen_db *to, const struct db_table *t,
			 int64_t max_id)
{
	struct db_stmt *st = db_stmt(to, ST_COPY_SEQUENCE);
	if (!st)
		return -1;
	db_bind_text(st, 1, t->name, -1);
	db_bind_int64(st, 2, max_id + 1);
	return db_run(to, st);
}

/* Copies the rows of t (their number in *n); 0 or -1 (reported). */
static int copy_table(struct copy *c, const struct db_table *t, int64_t *n)
{
	struct strbuf read;
	sb_init(&read);
	sb_addf(&read, db_copy_read_sql, t->name, t->key);
	struct db_stmt *src = db_prepare(c->from, read.buf), *ins = NULL;
	int64_t max_id = 0;
	int id_col = -1, rc = src ? DB_ROW : -1;
	*n = 0;
	while (rc == DB_ROW && (rc = db_next(src)) == DB_ROW) {
		if (!ins && !(ins = insert_for(c, t, src, &id_col)))
			rc = -1;
		else if (copy_row(ins, src, id_col, &max_id) < 0)
			rc = -1;
		else
			(*n)++;
	}
	db_finalize(ins);
	db_finalize(src);
	sb_release(&read);
	if (rc == DB_DONE && t->identity)
		rc = move_identity(c->to, t, max_id);
	return rc < 0 ? -1 : 0;
}

/* SCEN_OK when every table holds as many rows on both sides as were
 * copied; else SCEN_ERR_SOFTWARE naming the tables that differ. */
static enum scen_err check_counts(struct copy *c, struct scen_error *e)
{
	struct strbuf diff;
	enum scen_err rc = SCEN_OK;
	sb_init(&diff);
	for (size_t i = 0; db_tables[i].name && !rc; i++) {
		const char *name = db_tables[i].name;
		int64_t a = count_rows(c->from, name);
		int64_t b = count_rows(c->to, name);
		if (a < 0 || b < 0)
			rc = scen_failed(e, SCEN_ERR_IO);
		else if (a != b || b != c->rows[i])
			sb_addf(&diff, "%s%s: %" PRId64 " in %s, %" PRId64
				" copied, %" PRId64 " in %s",
				diff.len ? "; " : "", name, a,
				scen_db_path(c->from), c->rows[i], b,
				scen_db_path(c->to));
	}
	if (!rc && diff.len)
		rc = scen_fail(e, SCEN_ERR_SOFTWARE, "the row counts differ "
			       "after the copy (%s): nothing copied",
			       diff.buf);
	sb_release(&diff);
	return rc;
}

/* Inside the transactions: the check, the copy, the counts. */
static enum scen_err copy_all(struct copy *c, struct scen_error *e)
{
	enum scen_err rc = refuse_rows(c, e);
	for (size_t i = 0; !rc && db_tables[i].name; i++)
		if (copy_table(c, &db_tables[i], &c->rows[i]) < 0)
			rc = scen_failed(e, SCEN_ERR_IO);
	return rc ? rc : check_counts(c, e);
}

enum scen_err scen_db_copy(struct scen_db *from, struct scen_db *to,
			   FILE *out, struct scen_error *e)
{
	struct copy c = {.from = from, .to = to};
	size_t n = 0;
	enum scen_err rc;

	while (db_tables[n].name)
		n++;
	c.rows = xcalloc(n, sizeof *c.rows);
	sb_init(&c.sql);
	sb_init(&c.cols);
	sb_init(&c.params);
	if (from->be->begin(from, DB_TX_READ) < 0) {
		db_fail(from, "cannot begin a read");
		rc = scen_failed(e, SCEN_ERR_IO);
	} else if (scen_db_begin(to) < 0)
		rc = scen_failed(e, SCEN_ERR_IO);
	else if (!(rc = copy_all(&c, e)) && scen_db_commit(to) < 0)
		rc = scen_failed(e, SCEN_ERR_IO);	/* rolled back */
	if (rc)
		scen_db_rollback(to);
	from->be->rollback(from);
	for (size_t i = 0; !rc && i < n; i++)
		fprintf(out, "%-15s %" PRId64 "\n", db_tables[i].name,
			c.rows[i]);
	free(c.rows);
	sb_release(&c.sql);
	sb_release(&c.cols);
	sb_release(&c.params);
	return rc;
}
