/* scen-gen — generate fresh scenarios now, store and print them
 * (scen-gen(1)). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "scen/cli.h"
#include "scen/request.h"
#include "scen/serve.h"

enum { COUNT, POOL, EXPERIMENT, TEMPLATE, FACTOR, POSITION };

static const struct scen_cli_opt opts[] = {
	{"count", 'n', "count", "scenarios per request (default 1)", COUNT, 0},
	{"pool", 0, NULL, "store them as pre-generated pool entries", POOL, 0},
	{"experiment", 0, "name", "the experiment (when several are "
	 "declared)", EXPERIMENT, 0},
	{"template", 0, "name", "generate for this template instead of "
	 "reading standard input", TEMPLATE, 0},
	{"factor", 0, "name=level", "a factor's level (repeat for each)",
	 FACTOR, SCEN_CLI_IN | SCEN_CLI_MANY},
	{"position", 0, "n", "the position", POSITION, SCEN_CLI_IN},
	{0},
};

struct args {
	struct scen_serve_opts o;
	const char *exp, *tpl, *position;
	const char *factors[SCEN_MAX_FACTORS];
	int nfactors;
};

/* An integer from min to max, the whole of s. */
static int integer(const char *s, long min, long max, long *v)
{
	char *end;

	*v = strtol(s, &end, 10);
	return *s && !*end && *v >= min && *v <= max;
}

static enum scen_err set(void *ctx, int id, const char *arg,
			 struct scen_error *e)
{
	struct args *a = ctx;
	long v;

	switch (id) {
	case COUNT:
		if (!integer(arg, 1, 1000, &a->o.count))
			return scen_cli_bad(e, "-n '%s': expected 1 to 1000",
					    arg);
		break;
	case POOL:
		a->o.pool = 1;
		break;
	case EXPERIMENT:
		a->exp = arg;
		break;
	case TEMPLATE:
		a->tpl = arg;
		break;
	case FACTOR:
		if (a->nfactors == SCEN_MAX_FACTORS)
			return scen_cli_bad(e, "more than %d --factor options",
					    SCEN_MAX_FACTORS);
		if (!strchr(arg, '=') || arg[0] == '=')
			return scen_cli_bad(e, "--factor '%s': expected "
					    "name=level", arg);
		a->factors[a->nfactors++] = arg;
		break;
	case POSITION:
		if (!integer(arg, LONG_MIN, LONG_MAX, &v))
			return scen_cli_bad(e, "--position '%s': expected an "
					    "integer", arg);
		a->position = arg;
		break;
	}
	return SCEN_OK;
}

static const struct scen_cli_cmd cmd = {
	.about = "Generates fresh scenarios (no cache read) for the request "
		 "lines on standard input, or for the one request the flags "
		 "describe; stores them and prints them as JSONL.",
	.opts = opts,
	.set = set,
};

/* Serves the one request the flags describe instead of standard input. */
static enum scen_err flags_request(struct args *a, struct scen_error *e)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_adds(&sb, "{\"id\":\"gen\"");
	if (a->exp) {
		sb_adds(&sb, ",\"experiment\":");
		sb_add_json_str(&sb, a->exp, strlen(a->exp));
	}
	sb_adds(&sb, ",\"template\":");
	sb_add_json_str(&sb, a->tpl, strlen(a->tpl));
	sb_adds(&sb, ",\"factors\":{");
	for (int i = 0; i < a->nfactors; i++) {
		const char *f = a->factors[i], *eq = strchr(f, '=');
		if (i)
			sb_addc(&sb, ',');
		sb_add_json_str(&sb, f, (size_t)(eq - f));
		sb_addc(&sb, ':');
		sb_add_json_str(&sb, eq + 1, strlen(eq + 1));
	}
	sb_addc(&sb, '}');
	if (a->position)
		sb_addf(&sb, ",\"position\":%ld",
			strtol(a->position, NULL, 10));
	sb_adds(&sb, "}\n");
	/* a file in memory, not a pipe: a request of any length is
	 * written whole before it is read */
	int fd = memfd_create("scen-gen-request", MFD_CLOEXEC);
	int ok = fd >= 0 && write(fd, sb.buf, sb.len) == (ssize_t)sb.len &&
		 lseek(fd, 0, SEEK_SET) == 0;
	sb_release(&sb);
	if (!ok) {
		if (fd >= 0)
			close(fd);
		return scen_fail(e, SCEN_ERR_SOFTWARE, "cannot hold the "
				 "request: %s", strerror(errno));
	}
	a->o.in_fd = fd;
	a->o.in_name = "the flags";
	return SCEN_OK;
}

/* The flags that describe one request need its template. */
static enum scen_err template_given(const struct args *a,
				    struct scen_error *e)
{
	if (!a->tpl && (a->exp || a->nfactors || a->position))
		return scen_cli_bad(e, "--experiment, --factor and "
				    "--position need --template");
	return SCEN_OK;
}

int main(int argc, char **argv)
{
	struct scen_cli cli = {0};
	struct args a = {.o = {
		.in_fd = STDIN_FILENO, .in_name = "stdin", .out = stdout,
		.gen = 1, .count = 1,
	}};
	struct scen_config *cfg;
	struct scen_db *db;
	struct scen_error e;

	if (scen_cli_parse(&cli, &cmd, argc, argv, &a, &e) || cli.done ||
	    template_given(&a, &e) || (a.tpl && flags_request(&a, &e)) ||
	    scen_cli_open(&cli, SCEN_CLI_KEYS, &cfg, &db, &e))
		return scen_err_report(&e);
	struct scen_serve_stats st;
	int rc = scen_serve(cfg, db, &a.o, &st, &e) ? scen_err_report(&e) : 0;
	if (!rc && st.ok == 0 && st.unavailable > 0) {
		scen_fail(&e, SCEN_ERR_UNAVAILABLE, "nothing could be "
			  "generated (%ld unavailable)", st.unavailable);
		rc = scen_err_report(&e);
	} else if (!rc && a.tpl && st.errors) {
		/* the answer line says why */
		rc = scen_err_exit(SCEN_ERR_DATA);
	}
	/* scen_serve reports its failed writes */
	enum scen_err closed = scen_cli_close(cfg, db, rc != 0);
	return rc ? rc : scen_err_exit(closed);
}
