/* store_pg.c — placeholder until the PostgreSQL backend lands. */
#include "scen/db_int.h"

static enum scen_err pg_open(struct scen_db *db, const char *target,
			     int flags)
{
	scen_error("%s: PostgreSQL is not supported by this build", db->path);
	return SCEN_ERR_CONFIG;
}

static void pg_close(struct scen_db *db)
{
}

const struct db_backend db_pg = {
	.name = "PostgreSQL",
	.stmt_sql = db_pg_stmt_sql,
	.open = pg_open,
	.close = pg_close,
};
