/* scen-gen — generate fresh scenarios now, store and print them
 * (scen-gen(1)). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scen/cli.h"
#include "scen/request.h"
#include "scen/serve.h"

enum {
	OPT_EXPERIMENT = 1000, OPT_TEMPLATE, OPT_FACTOR, OPT_POSITION,
	OPT_POOL,
};

static void usage(FILE *f)
{
	fputs("usage: scen-gen [-qv] [-c file] [--db file] [-n count] [--pool]\n"
	      "       [--experiment name] [--template name "
	      "[--factor name=level ...]\n"
	      "       [--position n]]\n"
	      "\n"
	      "Generates fresh scenarios (no cache read) for the request "
	      "lines on\n"
	      "standard input, or for the one request the flags describe; "
	      "stores them\n"
	      "and prints them as JSONL.\n"
	      "\n"
	      "  -c, --config file       the config (default $SCEN_CONFIG, "
	      "then ./scen.yaml)\n"
	      "      --db file           the database (overrides database:)\n"
	      "  -n, --count n           scenarios per request (default 1)\n"
	      "      --pool              store them as pre-generated pool "
	      "entries\n"
	      "      --experiment name   the experiment (when several are "
	      "declared)\n"
	      "      --template name     generate for this template instead "
	      "of reading\n"
	      "                          standard input\n"
	      "      --factor name=level a factor's level (repeat for "
	      "each)\n"
	      "      --position n        the position\n"
	      "  -q, --quiet             no warnings\n"
	      "  -v, --verbose           more detail on standard error\n"
	      "      --help              this text\n"
	      "      --version           the version\n", f);
}

/* Builds the request line the flags describe. */
static int flags_request(struct strbuf *sb, const char *exp, const char *tpl,
			 char **factors, int nfactors, const char *position)
{
	sb_adds(sb, "{\"id\":\"gen\"");
	if (exp) {
		sb_adds(sb, ",\"experiment\":");
		sb_add_json_str(sb, exp, strlen(exp));
	}
	sb_adds(sb, ",\"template\":");
	sb_add_json_str(sb, tpl, strlen(tpl));
	sb_adds(sb, ",\"factors\":{");
	for (int i = 0; i < nfactors; i++) {
		char *eq = strchr(factors[i], '=');
		if (!eq || eq == factors[i]) {
			scen_error("--factor '%s': expected name=level",
				   factors[i]);
			return -1;
		}
		if (i)
			sb_addc(sb, ',');
		sb_add_json_str(sb, factors[i], (size_t)(eq - factors[i]));
		sb_addc(sb, ':');
		sb_add_json_str(sb, eq + 1, strlen(eq + 1));
	}
	sb_addc(sb, '}');
	if (position) {
		char *end;
		long p = strtol(position, &end, 10);
		if (!*position || *end) {
			scen_error("--position '%s': expected an integer",
				   position);
			return -1;
		}
		sb_addf(sb, ",\"position\":%ld", p);
	}
	sb_adds(sb, "}\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		SCEN_COMMON_LONGOPTS,
		{"count", required_argument, NULL, 'n'},
		{"experiment", required_argument, NULL, OPT_EXPERIMENT},
		{"factor", required_argument, NULL, OPT_FACTOR},
		{"pool", no_argument, NULL, OPT_POOL},
		{"position", required_argument, NULL, OPT_POSITION},
		{"template", required_argument, NULL, OPT_TEMPLATE},
		{NULL, 0, NULL, 0},
	};
	struct scen_cli cli = {0};
	struct scen_serve_opts o = {
		.in_fd = STDIN_FILENO, .in_name = "stdin", .out = stdout,
		.gen = 1, .count = 1,
	};
	const char *exp = NULL, *tpl = NULL, *position = NULL;
	char *factors[SCEN_MAX_FACTORS];
	int nfactors = 0, c;
	scen_set_progname(argv[0]);
	while ((c = getopt_long(argc, argv, "c:n:qv", longopts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'n':
			o.count = strtol(optarg, &end, 10);
			if (*end || o.count < 1 || o.count > 1000) {
				scen_error("-n '%s': expected 1 to 1000",
					   optarg);
				return SCEN_EX_USAGE;
			}
			break;
		case OPT_EXPERIMENT:
			exp = optarg;
			break;
		case OPT_TEMPLATE:
			tpl = optarg;
			break;
		case OPT_FACTOR:
			if (nfactors == SCEN_MAX_FACTORS) {
				scen_error("more than %d --factor options",
					   SCEN_MAX_FACTORS);
				return SCEN_EX_USAGE;
			}
			factors[nfactors++] = optarg;
			break;
		case OPT_POSITION:
			position = optarg;
			break;
		case OPT_POOL:
			o.pool = 1;
			break;
		default: {
			int r = scen_cli_option(&cli, c, optarg, usage);
			if (r >= 2)
				return r - 2;
		}
		}
	}
	if (optind < argc || (!tpl && (exp || nfactors || position))) {
		if (optind < argc)
			scen_error("unexpected argument '%s'", argv[optind]);
		else
			scen_error("--experiment, --factor and --position "
				   "need --template");
		usage(stderr);
		return SCEN_EX_USAGE;
	}
	struct strbuf line;
	sb_init(&line);
	if (tpl) {
		int fds[2];
		if (flags_request(&line, exp, tpl, factors, nfactors,
				  position) < 0) {
			sb_release(&line);
			return SCEN_EX_USAGE;
		}
		if (pipe(fds) < 0 ||
		    write(fds[1], line.buf, line.len) != (ssize_t)line.len) {
			scen_error("cannot make a pipe");
			return SCEN_EX_SOFTWARE;
		}
		close(fds[1]);
		o.in_fd = fds[0];
		o.in_name = "the flags";
	}
	sb_release(&line);
	struct scen_config *cfg;
	struct scen_db *db;
	int rc = scen_cli_open(&cli, SCEN_CLI_KEYS, &cfg, &db);
	if (rc)
		return rc;
	struct scen_serve_stats st;
	struct scen_error err;
	rc = scen_serve(cfg, db, &o, &st, &err) ? scen_err_report(&err) : 0;
	if (!rc && st.ok == 0 && st.unavailable > 0) {
		scen_error("nothing could be generated (%ld unavailable)",
			   st.unavailable);
		rc = SCEN_EX_UNAVAILABLE;
	}
	if (!rc && tpl && st.errors)
		rc = SCEN_EX_DATAERR;
	scen_db_close(db);
	scen_config_free(cfg);
	/* scen_serve reports its failed writes */
	if (scen_close_stdout(rc != 0) && !rc)
		rc = SCEN_EX_IOERR;
	return rc;
}
