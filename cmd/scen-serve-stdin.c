/* scen-serve-stdin — request lines in, answers out (scen-serve-stdin(1)). */
#include <stdio.h>
#include <unistd.h>

#include "scen/cli.h"
#include "scen/serve.h"

enum { ASYNC, ORDERED };

static const struct scen_cli_opt opts[] = {
	{"async", 0, NULL, "answer \"generating\" at once when a request "
	 "needs generation; the final answer follows", ASYNC, 0},
	{"ordered", 0, NULL, "final answers in input order", ORDERED, 0},
	{0},
};

static enum scen_err set(void *ctx, int id, const char *arg,
			 struct scen_error *e)
{
	struct scen_serve_opts *o = ctx;

	if (id == ASYNC)
		o->async = 1;
	else
		o->ordered = 1;
	return SCEN_OK;
}

static const struct scen_cli_cmd cmd = {
	.about = "Reads JSONL requests on standard input and writes one final "
		 "answer per request on standard output, walking the fallback "
		 "tiers (cache, fresh, pool, relaxed) of scen.yaml.",
	.opts = opts,
	.set = set,
};

int main(int argc, char **argv)
{
	struct scen_cli cli = {0};
	struct scen_serve_opts o = {
		.in_fd = STDIN_FILENO, .in_name = "stdin", .out = stdout,
		.count = 1,
	};
	struct scen_config *cfg;
	struct scen_db *db;
	struct scen_error e;

	if (scen_cli_parse(&cli, &cmd, argc, argv, &o, &e) || cli.done ||
	    scen_cli_open(&cli, SCEN_CLI_KEYS, &cfg, &db, &e))
		return scen_err_report(&e);
	struct scen_serve_stats st;
	int rc = scen_serve(cfg, db, &o, &st, &e) ? scen_err_report(&e) : 0;
	scen_debug("%ld requests: %ld ok, %ld unavailable, %ld errors",
		   st.lines, st.ok, st.unavailable, st.errors);
	/* scen_serve reports its failed writes */
	enum scen_err closed = scen_cli_close(cfg, db, rc != 0);
	return rc ? rc : scen_err_exit(closed);
}
