/* error.h — the one error type of the library: what kind of failure ended
 * a call, and its message; mapped to an exit status in one place, at the
 * command's edge (scen_err_exit). */
#ifndef SCEN_ERROR_H
#define SCEN_ERROR_H

#include <stddef.h>

/*
 * Kinds of failure, as a command must tell them apart. A library function
 * that can fail in more than one of these ways returns an enum scen_err
 * (SCEN_OK, 0, on success) and fills a struct scen_error when given one.
 * Functions that fail in one way only keep returning 0 or -1.
 */
enum scen_err {
	SCEN_OK = 0,
	SCEN_ERR_USAGE,		/* a bad option or argument (64) */
	SCEN_ERR_DATA,		/* an input unusable as a whole (65) */
	SCEN_ERR_NOT_SCEN,	/* a database that is not scen's (65) */
	SCEN_ERR_UNAVAILABLE,	/* a needed service: every account spent,
				   the provider down (69) */
	SCEN_ERR_SOFTWARE,	/* a bug: an invariant broken (70) */
	SCEN_ERR_IO,		/* reading or writing failed (74) */
	SCEN_ERR_DAMAGED,	/* a damaged database or row (74) */
	SCEN_ERR_TEMPFAIL,	/* busy: try again later, e.g. a lock (75) */
	SCEN_ERR_CONFIG,	/* the config, or a schema newer than this
				   scen (78) */
};

/*
 * The failure that ended a call. msg is the one line to show (without the
 * program name); it is empty when the details were already reported on
 * standard error as they were found (every error of a config file, each
 * with its line and column), so that nothing is said twice.
 */
struct scen_error {
	enum scen_err kind;
	char msg[512];
};

/* Sets e (when not NULL) to kind and the formatted message; returns
 * kind, so that "return scen_fail(e, SCEN_ERR_IO, ...);" reads well. */
enum scen_err scen_fail(struct scen_error *e, enum scen_err kind,
			const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Sets e (when not NULL) to kind with an empty message: the failure was
 * reported on standard error as it was found. Returns kind. */
enum scen_err scen_failed(struct scen_error *e, enum scen_err kind);
/* The stable word of a kind: "usage", "data", "io", ... */
const char *scen_err_name(enum scen_err kind);
/* The exit status of a kind (sysexits(3)): the one place that maps
 * them. */
int scen_err_exit(enum scen_err kind);
/* At a command's edge: prints e's message, if any, through scen_error
 * and returns the exit status of its kind (0 for SCEN_OK). */
int scen_err_report(const struct scen_error *e);

#endif
