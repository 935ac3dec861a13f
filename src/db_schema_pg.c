/* db_schema_pg.c — placeholder until the PostgreSQL backend lands. */
#include "scen/db_int.h"

const char *const db_pg_stmt_sql[ST_COUNT];
