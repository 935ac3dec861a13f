/* cli.c — the options and start-up every command shares. */
#include "scen/cli.h"

#include <stdio.h>
#include <stdlib.h>

#include "scen/util.h"

int scen_cli_option(struct scen_cli *cli, int opt, const char *arg,
		    void (*usage)(FILE *))
{
	switch (opt) {
	case 'c':
		cli->config = arg;
		return 1;
	case SCEN_OPT_DB:
		cli->db = arg;
		return 1;
	case 'q':
		scen_verbosity = -1;
		return 1;
	case 'v':
		scen_verbosity++;
		return 1;
	case SCEN_OPT_HELP:
		usage(stdout);
		return 2 + (scen_close_stdout(0) ? SCEN_EX_IOERR : 0);
	case SCEN_OPT_VERSION:
		scen_cli_version();
		return 2 + (scen_close_stdout(0) ? SCEN_EX_IOERR : 0);
	case '?':
	default:
		usage(stderr);
		return 2 + SCEN_EX_USAGE;
	}
}

void scen_cli_version(void)
{
	printf("%s (scen) %s\n", scen_progname(), SCEN_VERSION);
}

int scen_cli_open(const struct scen_cli *cli, int flags,
		  struct scen_config **cfg, struct scen_db **db)
{
	*cfg = scen_config_load(scen_config_path(cli->config),
				flags & SCEN_CLI_KEYS);
	if (!*cfg)
		return SCEN_EX_CONFIG;
	if (cli->db) {
		free((*cfg)->database);
		(*cfg)->database = xstrdup(cli->db);
	}
	if (flags & SCEN_CLI_NO_DB)
		return 0;
	int code;
	*db = scen_db_open((*cfg)->database,
			   flags & SCEN_CLI_READONLY ? SCEN_DB_READONLY : 0,
			   &code);
	if (!*db) {
		scen_config_free(*cfg);
		*cfg = NULL;
		return code;
	}
	return 0;
}
