/* error.c — the one error type: kinds, messages, and the one mapping of a
 * kind to an exit status (sysexits(3)). */
#include "scen/error.h"

#include <stdarg.h>
#include <stdio.h>

#include "scen/util.h"

static const struct {
	const char *name;
	int exit_status;
} kinds[] = {
	[SCEN_OK] = {"ok", SCEN_EX_OK},
	[SCEN_ERR_USAGE] = {"usage", SCEN_EX_USAGE},
	[SCEN_ERR_DATA] = {"data", SCEN_EX_DATAERR},
	[SCEN_ERR_NOT_SCEN] = {"not_scen", SCEN_EX_DATAERR},
	[SCEN_ERR_UNAVAILABLE] = {"unavailable", SCEN_EX_UNAVAILABLE},
	[SCEN_ERR_SOFTWARE] = {"software", SCEN_EX_SOFTWARE},
	[SCEN_ERR_IO] = {"io", SCEN_EX_IOERR},
	[SCEN_ERR_DAMAGED] = {"damaged", SCEN_EX_IOERR},
	[SCEN_ERR_TEMPFAIL] = {"tempfail", SCEN_EX_TEMPFAIL},
	[SCEN_ERR_CONFIG] = {"config", SCEN_EX_CONFIG},
};

enum scen_err scen_fail(struct scen_error *e, enum scen_err kind,
			const char *fmt, ...)
{
	if (!e)
		return kind;
	e->kind = kind;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return kind;
}

enum scen_err scen_failed(struct scen_error *e, enum scen_err kind)
{
	if (e) {
		e->kind = kind;
		e->msg[0] = 0;
	}
	return kind;
}

static int known(enum scen_err kind)
{
	return (unsigned)kind < sizeof(kinds) / sizeof(kinds[0]);
}

const char *scen_err_name(enum scen_err kind)
{
	return known(kind) ? kinds[kind].name : "software";
}

int scen_err_exit(enum scen_err kind)
{
	return known(kind) ? kinds[kind].exit_status : SCEN_EX_SOFTWARE;
}

int scen_err_report(const struct scen_error *e)
{
	if (e->kind != SCEN_OK && e->msg[0])
		scen_error("%s", e->msg);
	return scen_err_exit(e->kind);
}
