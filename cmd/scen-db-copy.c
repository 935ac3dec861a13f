/* scen-db-copy — moves a study from one database to another: SQLite to
 * PostgreSQL, back, or file to file (scen-db-copy(1)). */
#include <stdio.h>

#include "scen/cli.h"
#include "scen/dbcopy.h"
#include "scen/spool.h"

enum { FROM, TO };

static const struct scen_cli_opt opts[] = {
	{"from", 0, "source", "the database to copy: a SQLite file or a "
	 "postgresql:// URI (default: the config's database:)", FROM, 0},
	{"to", 0, "target", "the database to copy into, new or empty: a "
	 "SQLite file or a postgresql:// URI", TO, 0},
	{0},
};

struct args {
	const char *from, *to;
};

static enum scen_err set(void *ctx, int id, const char *arg,
			 struct scen_error *e)
{
	struct args *a = ctx;

	if (id == FROM)
		a->from = arg;
	else
		a->to = arg;
	return SCEN_OK;
}

static const struct scen_cli_cmd cmd = {
	.about = "Copies every table of a scen database, rows and ids as they "
		 "are, into a new or empty one, in one transaction; then "
		 "prints the rows of each table, counted on both sides.",
	.opts = opts,
	.set = set,
};

/* The source: --from, else the config's database (database:, or --db). */
static enum scen_err source(const struct scen_cli *cli, const struct args *a,
			    struct scen_config **cfg, const char **src,
			    struct scen_error *e)
{
	struct scen_db *none = NULL;

	if (!a->to)
		return scen_cli_bad(e, "--to is needed: the database to copy "
				    "into");
	if (a->from && cli->db)
		return scen_cli_bad(e, "--from and --db both name the "
				    "source: give one");
	*src = a->from;
	if (a->from)
		return SCEN_OK;
	enum scen_err rc = scen_cli_open(cli, SCEN_CLI_READONLY |
					 SCEN_CLI_NO_DB, cfg, &none, e);
	if (!rc)
		*src = (*cfg)->database;
	return rc;
}

int main(int argc, char **argv)
{
	struct scen_cli cli = {0};
	struct args a = {0};
	struct scen_config *cfg = NULL;
	struct scen_db *from = NULL, *to = NULL;
	struct scen_error e;
	const char *src = NULL;

	if (scen_cli_parse(&cli, &cmd, argc, argv, &a, &e) || cli.done ||
	    source(&cli, &a, &cfg, &src, &e))
		return scen_err_report(&e);
	/* each open names its database in what it says */
	if ((from = scen_db_open(src, SCEN_DB_READONLY, &e))) {
		/* servings spooled beside it are not in it yet: warned */
		scen_spool_start(from, 1);
		to = scen_db_open(a.to, 0, &e);
	}
	int rc = 0;
	if (!from || !to)
		rc = scen_err_exit(e.kind);
	else if (scen_db_copy(from, to, stdout, &e))
		rc = scen_err_report(&e);
	scen_db_close(from);
	enum scen_err closed = scen_cli_close(cfg, to, rc != 0);
	return rc ? rc : scen_err_exit(closed);
}
