/* util.h — allocation that never fails, growable buffers, diagnostics and
 * the clock every module reads. */
#ifndef SCEN_UTIL_H
#define SCEN_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Exit statuses (sysexits(3)) used by every command. */
enum {
	SCEN_EX_OK = 0,
	SCEN_EX_USAGE = 64,
	SCEN_EX_DATAERR = 65,
	SCEN_EX_UNAVAILABLE = 69,
	SCEN_EX_SOFTWARE = 70,
	SCEN_EX_IOERR = 74,
	SCEN_EX_TEMPFAIL = 75,
	SCEN_EX_CONFIG = 78,
};

/* Allocation failure is fatal: callers never check for NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow *arr (of *cap elements of size elsize) so that it holds at least n. */
#define XGROW(arr, n, cap) do { \
	if ((size_t)(n) > (cap)) { \
		size_t c_ = (cap) ? (cap) * 2 : 8; \
		while (c_ < (size_t)(n)) c_ *= 2; \
		(arr) = xrealloc((arr), c_ * sizeof(*(arr))); \
		(cap) = c_; \
	} \
} while (0)

/* A growable byte buffer, always NUL-terminated (buf is never NULL after
 * sb_init). */
struct strbuf {
	char *buf;
	size_t len, cap;
};
void sb_init(struct strbuf *sb);
void sb_release(struct strbuf *sb);
void sb_reset(struct strbuf *sb);
void sb_grow(struct strbuf *sb, size_t extra);
/* The appends below are inline: answer lines are made of many of them. */
static inline void sb_add(struct strbuf *sb, const void *p, size_t n)
{
	if (sb->len + n + 1 > sb->cap)
		sb_grow(sb, n);
	memcpy(sb->buf + sb->len, p, n);
	sb->len += n;
	sb->buf[sb->len] = 0;
}
static inline void sb_adds(struct strbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}
/* A string literal, its length known when compiled. */
#define sb_addlit(sb, lit) sb_add((sb), "" lit, sizeof(lit) - 1)
static inline void sb_addc(struct strbuf *sb, char c)
{
	if (sb->len + 2 > sb->cap)
		sb_grow(sb, 1);
	sb->buf[sb->len++] = c;
	sb->buf[sb->len] = 0;
}
void sb_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal (with quotes), escaping as RFC 8259
 * requires; bytes are copied as they are (the caller passes UTF-8). */
void sb_add_json_str(struct strbuf *sb, const char *s, size_t n);
void sb_add_json_double(struct strbuf *sb, double d);

/* Diagnostics go to stderr prefixed with the program name. */
void scen_set_progname(const char *argv0);
const char *scen_progname(void);
extern int scen_verbosity; /* -1 quiet, 0 normal, 1+ verbose */
int scen_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void scen_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void scen_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void scen_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The clock. Every module reads time through scen_now() (seconds since the
 * epoch, fractional). In a test build (compiled with SCEN_TEST_HOOKS, as
 * the tests and benchmarks are; see the Makefile), SCEN_CLOCK_SCALE=K
 * makes time run K times faster from SCEN_CLOCK_EPOCH (a real epoch
 * second, the same for every process of a test), so that minutes of quota
 * windows pass in seconds; the fake provider reads the same variables.
 * Other builds read neither.
 */
double scen_now(void);
double scen_clock_scale(void);
/* Real milliseconds for a span of virtual seconds. */
double scen_real_ms(double virtual_s);
/* Real time (seconds since the epoch), whatever SCEN_CLOCK_SCALE says:
 * for what other processes must judge alike, such as heartbeats. */
double scen_real_now(void);
/*
 * This host as other processes sharing a database tell it apart: its
 * name (gethostname) and, when readable, its boot id
 * (/proc/sys/kernel/random/boot_id), as "name/boot-id": a process id is
 * only meaningful on the host and boot that gave it. In a test build,
 * SCEN_HOST=NAME stands for the whole of it.
 */
const char *scen_host_id(void);
/* In a test build, SCEN_KILL_AT=POINT kills the process (SIGKILL) when it
 * reaches the point of that name (scen-pool-fill's batches: intent,
 * upload, create, collect), so that a test can show what a kill there
 * leaves; elsewhere nothing. */
void scen_kill_point(const char *point);
/* Monotonic real time in seconds, for latencies. */
double scen_mono(void);

/* Whether a database setting names a PostgreSQL database (a libpq URI:
 * postgresql://... or postgres://...) rather than a SQLite file. */
int scen_is_db_uri(const char *target);
/* ISO 8601 UTC, "2026-11-28T03:12:09Z" (buf of at least 21 bytes). */
void scen_iso8601(double t, char *buf);
/* Parses ISO 8601 "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DD"; -1 on error. */
double scen_parse_iso8601(const char *s);

/*
 * Closes stdout; returns -1 when what was written to it did not all get
 * out, and says so in one line ("cannot write standard output: ..."),
 * unless reported: the command's writer has already said why a write
 * failed (it checks its writes and failed), so that a failure is told once.
 */
int scen_close_stdout(int reported);

/* Optimal string alignment distance between two names, for "did you
 * mean" hints; huge for names longer than 64 bytes. */
size_t scen_edit_distance(const char *a, const char *b);

/* 64 random bits (getrandom). */
uint64_t scen_random64(void);

#endif
