/* cli.c — the options and start-up every command shares: argv parsed
 * against the command's option table, and --help made from the table. */
#include "scen/cli.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen/spool.h"
#include "scen/util.h"

enum {
	C_CONFIG = -1, C_DB = -2, C_QUIET = -3, C_VERBOSE = -4, C_HELP = -5,
	C_VERSION = -6,
};
/* The common options: these first in --help, the tail last. */
static const struct scen_cli_opt head[] = {
	{"config", 'c', "file",
	 "the config (default $SCEN_CONFIG, then ./scen.yaml)", C_CONFIG, 0},
	{"db", 0, "file", "the database (overrides database:)", C_DB, 0},
	{0},
};
static const struct scen_cli_opt tail[] = {
	{"quiet", 'q', NULL, "no warnings", C_QUIET, 0},
	{"verbose", 'v', NULL, "more detail on standard error", C_VERBOSE, 0},
	{"help", 0, NULL, "this text", C_HELP, SCEN_CLI_NO_USAGE},
	{"version", 0, NULL, "the version", C_VERSION, SCEN_CLI_NO_USAGE},
	{0},
};

#define MAX_OPTS 64
#define WIDTH 79	/* the longest line of --help */
#define SPEC_MAX 24	/* an option longer puts its help on the next line */

/* Every option of cmd, in --help's order; NULL-terminated. */
static void every_opt(const struct scen_cli_cmd *cmd,
		      const struct scen_cli_opt **all)
{
	const struct scen_cli_opt *tables[] = {head, cmd->opts, tail};
	size_t n = 0;

	for (size_t i = 0; i < 3; i++)
		for (const struct scen_cli_opt *o = tables[i]; o->name; o++) {
			assert(n < MAX_OPTS);
			all[n++] = o;
		}
	all[n] = NULL;
}

struct parse {
	struct scen_cli *cli;
	const struct scen_cli_cmd *cmd;
	void *ctx;
	const struct scen_cli_opt *all[MAX_OPTS + 1];
	struct scen_error *e;	/* the caller's until the first error */
	struct scen_error later;	/* then this: later errors go unsaid */
};

enum scen_err scen_cli_bad(struct scen_error *e, const char *fmt, ...)
{
	char msg[sizeof e->msg];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return scen_fail(e, SCEN_ERR_USAGE, "%s (see %s --help)", msg,
			 scen_progname());
}

/* "unknown option '--formt' (did you mean '--format'? see P --help)" */
static enum scen_err hinted(struct parse *p, const char *what,
			    const char *opt, size_t len, const char *hint)
{
	if (!hint)
		return scen_cli_bad(p->e, "%s '%.*s'", what, (int)len, opt);
	return scen_fail(p->e, SCEN_ERR_USAGE,
			 "%s '%.*s' (did you mean %s? see %s --help)", what,
			 (int)len, opt, hint, scen_progname());
}

/* The long name closest to word (len bytes), when it is close. */
static const char *nearest(const struct parse *p, const char *word,
			   size_t len)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1;
	char *w = xstrndup(word, len);

	for (const struct scen_cli_opt *const *q = p->all; *q; q++) {
		size_t d = scen_edit_distance(w, (*q)->name);
		size_t n = strlen((*q)->name);

		if (d < bestd && d * 3 <= (len > n ? len : n)) {
			best = (*q)->name;
			bestd = d;
		}
	}
	free(w);
	return best;
}

static enum scen_err unknown(struct parse *p, const char *opt, size_t len,
			     const char *word, size_t wlen)
{
	const char *near = wlen ? nearest(p, word, wlen) : NULL;
	char hint[80];

	if (near)
		snprintf(hint, sizeof hint, "'--%s'", near);
	return hinted(p, "unknown option", opt, len, near ? hint : NULL);
}

/* Gives option o its value: the common ones here, the command's to its
 * set(). --help and --version after an error are not answered. */
static enum scen_err take(struct parse *p, const struct scen_cli_opt *o,
			  const char *arg)
{
	switch (o->id) {
	case C_CONFIG:
		p->cli->config = arg;
		return SCEN_OK;
	case C_DB:
		p->cli->db = arg;
		return SCEN_OK;
	case C_QUIET:
		scen_verbosity = -1;
		return SCEN_OK;
	case C_VERBOSE:
		scen_verbosity++;
		return SCEN_OK;
	case C_HELP:
	case C_VERSION:
		if (p->e == &p->later)
			return SCEN_OK;
		if (o->id == C_HELP)
			scen_cli_help(p->cmd, stdout);
		else
			scen_cli_version();
		p->cli->done = 1;
		/* scen_close_stdout says why */
		return scen_close_stdout(0) ?
		       scen_failed(p->e, SCEN_ERR_IO) : SCEN_OK;
	}
	return p->cmd->set(p->ctx, o->id, arg, p->e);
}

/* The value of o from "=value", else from the next argument. */
static enum scen_err take_arg(struct parse *p, const struct scen_cli_opt *o,
			      const char *eq, int argc, char **argv, int *i)
{
	if (!o->arg && eq)
		return scen_cli_bad(p->e, "option '--%s' takes no argument",
				    o->name);
	if (!o->arg || eq)
		return take(p, o, eq ? eq + 1 : NULL);
	if (*i == argc)
		return scen_cli_bad(p->e, "option '--%s' needs an argument: "
				    "%s", o->name, o->arg);
	return take(p, o, argv[(*i)++]);
}

/* "--name", "--name=value" or "--name value"; name may be a unique
 * prefix of the option's. */
static enum scen_err long_opt(struct parse *p, int argc, char **argv, int *i)
{
	const char *a = argv[(*i)++], *name = a + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct scen_cli_opt *o = NULL;
	struct strbuf all;
	int n = 0;

	sb_init(&all);
	for (const struct scen_cli_opt *const *q = p->all; *q && len; q++) {
		if (strncmp((*q)->name, name, len))
			continue;
		o = *q;
		if (!o->name[len]) {	/* the whole name */
			n = 1;
			break;
		}
		sb_addf(&all, "%s'--%s'", n++ ? " or " : "", o->name);
	}
	enum scen_err r = SCEN_OK;
	if (!len)	/* "--=x" */
		r = scen_cli_bad(p->e, "unknown option '%s'", a);
	else if (!o)
		r = unknown(p, a, len + 2, name, len);
	else if (n > 1)
		r = hinted(p, "ambiguous option", a, len + 2, all.buf);
	sb_release(&all);
	return r ? r : take_arg(p, o, eq, argc, argv, i);
}

/* "-qv", "-c file", "-cfile", "-n5". */
static enum scen_err short_opts(struct parse *p, int argc, char **argv,
				int *i)
{
	const char *a = argv[(*i)++];

	for (const char *s = a + 1; *s; s++) {
		const struct scen_cli_opt *o = NULL;
		for (const struct scen_cli_opt *const *q = p->all; *q; q++)
			if ((*q)->shrt == *s)
				o = *q;
		if (!o && s == a + 1 && a[2] && nearest(p, s, strlen(s)))
			/* "-format": a long option with one dash */
			return unknown(p, a, strlen(a), s, strlen(s));
		if (!o)
			return unknown(p, (char[]){'-', *s}, 2, NULL, 0);
		if (o->arg && !s[1] && *i == argc)
			return scen_cli_bad(p->e, "option '-%c' needs an "
					    "argument: %s", *s, o->arg);
		if (o->arg)
			return take(p, o, s[1] ? s + 1 : argv[(*i)++]);
		enum scen_err r = take(p, o, NULL);
		if (r)
			return r;
	}
	return SCEN_OK;
}

enum scen_err scen_cli_parse(struct scen_cli *cli,
			     const struct scen_cli_cmd *cmd, int argc,
			     char **argv, void *ctx, struct scen_error *e)
{
	struct parse p = {.cli = cli, .cmd = cmd, .ctx = ctx, .e = e};
	enum scen_err first = SCEN_OK;
	const char *stray = NULL;
	int i = 1, options = 1;

	scen_set_progname(argv[0]);
	every_opt(cmd, p.all);
	scen_failed(e, SCEN_OK);
	while (i < argc && !cli->done) {
		const char *a = argv[i];
		enum scen_err r = SCEN_OK;

		if (!options || a[0] != '-' || !a[1]) {
			if (!stray)
				stray = a;
			i++;
		} else if (!strcmp(a, "--")) {
			options = 0;
			i++;
		} else if (a[1] == '-') {
			r = long_opt(&p, argc, argv, &i);
		} else {
			r = short_opts(&p, argc, argv, &i);
		}
		if (r && !first) {
			first = r;
			p.e = &p.later;
		}
	}
	if (!first && stray && !cli->done)
		first = scen_cli_bad(e, "unexpected argument '%s'", stray);
	return first;
}

/* Writes w (len bytes) after a space, or on a new line indented by indent
 * when the line would pass WIDTH; nothing before it at indent. */
static void put_word(FILE *f, const char *w, size_t len, size_t *col,
		     size_t indent)
{
	if (*col > indent && *col + 1 + len > WIDTH) {
		fprintf(f, "\n%*s", (int)indent, "");
		*col = indent;
	} else if (*col > indent) {
		fputc(' ', f);
		(*col)++;
	}
	fwrite(w, 1, len, f);
	*col += len;
}

/* Writes the words of s from col, wrapped, and ends the line. */
static void put_text(FILE *f, const char *s, size_t col, size_t indent)
{
	while (*s) {
		size_t n = strcspn(s, " ");
		if (n)
			put_word(f, s, n, &col, indent);
		s += n;
		s += strspn(s, " ");
	}
	fputc('\n', f);
}

/* The usage: "[-qv]" (every short switch), then each option in order,
 * grouped as its flags say: the man page's SYNOPSIS, rendered. */
static void usage(FILE *f, const struct scen_cli_opt *const *all)
{
	size_t col = strlen("usage: ") + strlen(scen_progname());
	const size_t indent = strlen("usage: ");
	struct strbuf item;

	fprintf(f, "usage: %s", scen_progname());
	sb_init(&item);
	for (const struct scen_cli_opt *const *q = all; *q; q++)
		if ((*q)->shrt && !(*q)->arg)
			sb_addf(&item, "%s%c", item.len ? "" : "[-",
				(*q)->shrt);
	if (item.len)
		sb_addc(&item, ']');
	for (const struct scen_cli_opt *const *q = all; *q; q++) {
		const struct scen_cli_opt *o = *q;
		int inside = o->flags & (SCEN_CLI_OR | SCEN_CLI_IN);

		if ((o->shrt && !o->arg) || (o->flags & SCEN_CLI_NO_USAGE))
			continue;
		if (inside && item.len) {
			item.buf[--item.len] = 0;	/* reopen "[...]" */
		} else {
			if (item.len)
				put_word(f, item.buf, item.len, &col, indent);
			sb_reset(&item);
		}
		sb_adds(&item, !inside ? "[" :
			       o->flags & SCEN_CLI_OR ? " | " : " [");
		if (o->shrt)
			sb_addf(&item, "-%c", o->shrt);
		else
			sb_addf(&item, "--%s", o->name);
		if (o->arg)
			sb_addf(&item, " %s", o->arg);
		sb_adds(&item, o->flags & SCEN_CLI_MANY ? " ...]" : "]");
		if (o->flags & SCEN_CLI_IN)
			sb_addc(&item, ']');
	}
	if (item.len)
		put_word(f, item.buf, item.len, &col, indent);
	fputc('\n', f);
	sb_release(&item);
}

/* "-c, --config file" or "    --db file" */
static void list_spec(struct strbuf *sb, const struct scen_cli_opt *o)
{
	sb_reset(sb);
	if (o->shrt)
		sb_addf(sb, "-%c, --%s", o->shrt, o->name);
	else
		sb_addf(sb, "    --%s", o->name);
	if (o->arg)
		sb_addf(sb, " %s", o->arg);
}

/* One option a line, its help in a column (on the next line when the
 * option is longer than SPEC_MAX). */
static void option_list(FILE *f, const struct scen_cli_cmd *cmd,
			const struct scen_cli_opt *const *all)
{
	struct strbuf sb;
	size_t w = 0;

	sb_init(&sb);
	for (const struct scen_cli_opt *const *q = all; *q; q++) {
		list_spec(&sb, *q);
		if (sb.len <= SPEC_MAX && sb.len > w)
			w = sb.len;
	}
	for (const struct scen_cli_opt *const *q = all; *q; q++) {
		const char *help = (*q)->help;
		if ((*q)->id == C_QUIET && cmd->quiet)
			help = cmd->quiet;
		list_spec(&sb, *q);
		if (sb.len > w)
			fprintf(f, "  %s\n%*s", sb.buf, (int)(w + 4), "");
		else
			fprintf(f, "  %-*s  ", (int)w, sb.buf);
		put_text(f, help, w + 4, w + 4);
	}
	sb_release(&sb);
}

void scen_cli_help(const struct scen_cli_cmd *cmd, FILE *f)
{
	const struct scen_cli_opt *all[MAX_OPTS + 1];

	every_opt(cmd, all);
	usage(f, all);
	fputc('\n', f);
	put_text(f, cmd->about, 0, 0);
	fputc('\n', f);
	option_list(f, cmd, all);
}

void scen_cli_version(void)
{
	printf("%s (scen) %s\n", scen_progname(), SCEN_VERSION);
}

enum scen_err scen_cli_open(const struct scen_cli *cli, int flags,
			    struct scen_config **cfg, struct scen_db **db,
			    struct scen_error *e)
{
	*cfg = scen_config_load(scen_config_path(cli->config),
				(flags & SCEN_CLI_KEYS ? SCEN_CONFIG_KEYS : 0) |
				(flags & SCEN_CLI_READONLY ? SCEN_CONFIG_READER
				 : 0));
	if (!*cfg)	/* each error said with its line */
		return scen_failed(e, SCEN_ERR_CONFIG);
	if (cli->db) {
		free((*cfg)->database);
		(*cfg)->database = xstrdup(cli->db);
	}
	if (flags & SCEN_CLI_NO_DB)
		return SCEN_OK;
	int ro = flags & SCEN_CLI_READONLY;
	struct scen_error oe;
	*db = scen_db_open((*cfg)->database, ro ? SCEN_DB_READONLY : 0, &oe);
	if (!*db) {	/* said */
		scen_config_free(*cfg);
		*cfg = NULL;
		return scen_failed(e, oe.kind);
	}
	scen_spool_start(*db, ro);
	return SCEN_OK;
}

enum scen_err scen_cli_close(struct scen_config *cfg, struct scen_db *db,
			     int reported)
{
	scen_db_close(db);
	scen_config_free(cfg);
	return scen_close_stdout(reported) ? SCEN_ERR_IO : SCEN_OK;
}
