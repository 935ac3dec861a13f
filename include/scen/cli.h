/* cli.h — what every command shares: its options as a table (parsed, and
 * --help made, from it), the common options, opening the config and the
 * database, --version. */
#ifndef SCEN_CLI_H
#define SCEN_CLI_H

#include <stdio.h>

#include "scen/config.h"
#include "scen/db.h"
#include "scen/error.h"

/*
 * One option of a command: a row of its table. The parser, --help's usage
 * and option list, and so the man page's SYNOPSIS and OPTIONS (checked by
 * tests/e2e/t0120-options-man.sh) all come from the rows.
 */
struct scen_cli_opt {
	const char *name;	/* the long name, without "--" */
	char shrt;		/* the short letter, or 0 */
	const char *arg;	/* the argument's name; NULL for a switch */
	const char *help;	/* for --help, which wraps it */
	int id;			/* passed to the command's set() */
	int flags;		/* how it shows in the usage: SCEN_CLI_* */
};

enum {
	SCEN_CLI_OR = 1,	/* in the previous row's brackets, after a |:
				   [--check | --json] */
	SCEN_CLI_IN = 2,	/* nested in the previous row's brackets:
				   [--template name [--position n]] */
	SCEN_CLI_MANY = 4,	/* may repeat: [--factor name=level ...] */
	SCEN_CLI_NO_USAGE = 8,	/* in the option list only (--help) */
};

struct scen_cli_cmd {
	const char *about;	/* what the command does, for --help */
	const char *quiet;	/* what -q silences; NULL: "no warnings" */
	const struct scen_cli_opt *opts;	/* ends with a NULL name */
	/* Takes the value of option id (arg, NULL for a switch) into ctx.
	 * Returns SCEN_OK, or an error made with scen_cli_bad. */
	enum scen_err (*set)(void *ctx, int id, const char *arg,
			     struct scen_error *e);
};

/* The common options' values. */
struct scen_cli {
	const char *config;	/* -c */
	const char *db;		/* --db */
	int done;		/* --help or --version was answered */
};

/*
 * Parses argv against cmd's table and the common options (-c, --db, -q,
 * -v, --help, --version), giving each of cmd's options to cmd->set with
 * ctx; sets the program name from argv[0]. Long options take "--name
 * value" or "--name=value" and may be abbreviated to a unique prefix;
 * short ones may be grouped ("-qv", "-n5"); "--" ends the options; no
 * command takes an argument.
 *
 * Returns SCEN_OK, with cli->done set when --help or --version has been
 * answered on standard output (nothing else to do). Else SCEN_ERR_USAGE,
 * e holding one line that names the first bad option, argument or value,
 * with a hint and a pointer to --help; the rest of argv is still given to
 * set() so that a command can see its mode (scen-cache-stats --check
 * answers UNKNOWN). SCEN_ERR_IO when --help or --version could not be
 * written (already said).
 */
enum scen_err scen_cli_parse(struct scen_cli *cli,
			     const struct scen_cli_cmd *cmd, int argc,
			     char **argv, void *ctx, struct scen_error *e);
/* Sets e to a usage error: the message, then " (see PROG --help)";
 * returns SCEN_ERR_USAGE. */
enum scen_err scen_cli_bad(struct scen_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Writes cmd's --help text (wrapped at 80 columns) to f. */
void scen_cli_help(const struct scen_cli_cmd *cmd, FILE *f);
void scen_cli_version(void);

enum {
	SCEN_CLI_KEYS = 1,	/* API keys are needed */
	SCEN_CLI_READONLY = 2,	/* open the database read-only */
	SCEN_CLI_NO_DB = 4,
};
/* Loads the config and opens the database (unless SCEN_CLI_NO_DB), then
 * replays its spool, or when read-only warns of one (scen_spool_start).
 * Returns SCEN_OK, or the kind of failure in e (its details are already
 * reported: e's message is empty), with nothing left open. */
enum scen_err scen_cli_open(const struct scen_cli *cli, int flags,
			    struct scen_config **cfg, struct scen_db **db,
			    struct scen_error *e);
/* Closes db, frees cfg (either may be NULL) and closes standard output;
 * SCEN_ERR_IO when what was written there did not all get out (said,
 * unless reported: the command has already said why it failed). */
enum scen_err scen_cli_close(struct scen_config *cfg, struct scen_db *db,
			     int reported);

#endif
