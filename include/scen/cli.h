/* cli.h — what every command shares: the common options, opening the
 * config and the database, --version. */
#ifndef SCEN_CLI_H
#define SCEN_CLI_H

#include <stdio.h>

#include "scen/config.h"
#include "scen/db.h"

/* Long options every command takes (getopt_long values >= 1000 are free
 * for commands). */
enum {
	SCEN_OPT_DB = 900,
	SCEN_OPT_HELP,
	SCEN_OPT_VERSION,
};
#define SCEN_COMMON_LONGOPTS \
	{"config", required_argument, NULL, 'c'}, \
	{"db", required_argument, NULL, SCEN_OPT_DB}, \
	{"help", no_argument, NULL, SCEN_OPT_HELP}, \
	{"quiet", no_argument, NULL, 'q'}, \
	{"verbose", no_argument, NULL, 'v'}, \
	{"version", no_argument, NULL, SCEN_OPT_VERSION}

struct scen_cli {
	const char *config;	/* -c */
	const char *db;		/* --db */
};

/* Handles a common option; returns 1 when it was one, or an exit status
 * + 2 (2 + 0 for --help/--version done) when the command must end.
 * usage prints the command's --help text. */
int scen_cli_option(struct scen_cli *cli, int opt, const char *arg,
		    void (*usage)(FILE *));
void scen_cli_version(void);

enum {
	SCEN_CLI_KEYS = 1,	/* API keys are needed */
	SCEN_CLI_READONLY = 2,	/* open the database read-only */
	SCEN_CLI_NO_DB = 4,
};
/* Loads the config and opens the database; returns 0 or an exit status. */
int scen_cli_open(const struct scen_cli *cli, int flags,
		  struct scen_config **cfg, struct scen_db **db);

#endif
