/* util.c — allocation wrappers, string buffers, diagnostics and the clock. */
#include "scen/util.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const char *progname = "scen";
int scen_verbosity;

static void oom(void)
{
	fprintf(stderr, "%s: out of memory\n", progname);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom();
	return q;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		oom();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		oom();
	va_end(ap);
	return p;
}

void sb_init(struct strbuf *sb)
{
	sb->cap = 64;
	sb->len = 0;
	sb->buf = xmalloc(sb->cap);
	sb->buf[0] = 0;
}

void sb_release(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->cap = 0;
}

void sb_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->buf[0] = 0;
}

void sb_grow(struct strbuf *sb, size_t extra)
{
	if (sb->len + extra + 1 <= sb->cap)
		return;
	size_t c = sb->cap ? sb->cap : 64;
	while (c < sb->len + extra + 1)
		c *= 2;
	sb->buf = xrealloc(sb->buf, c);
	sb->cap = c;
}

void sb_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sb->cap - sb->len) {
		sb_grow(sb, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
	}
	sb->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned min;
	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xE0) == 0xC0) {
		len = 2;
		min = 0x80;
	} else if ((p[0] & 0xF0) == 0xE0) {
		len = 3;
		min = 0x800;
	} else if ((p[0] & 0xF8) == 0xF0) {
		len = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	unsigned cp = p[0] & (0x7F >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

void sb_add_json_str(struct strbuf *sb, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	sb_grow(sb, n + 2);
	sb->buf[sb->len++] = '"';
	size_t start = 0;
	for (size_t i = 0; i < n;) {
		/* the common case: runs of plain ASCII */
		while (i < n && u[i] >= 0x20 && u[i] < 0x80 && u[i] != '"' &&
		       u[i] != '\\')
			i++;
		if (i == n)
			break;
		unsigned char c = u[i];
		if (c >= 0x80) {
			size_t k = utf8_seq(u + i, n - i);
			if (k) {
				i += k;
				continue;
			}
		}
		sb_add(sb, s + start, i - start);
		i++;
		start = i;
		char esc[2] = {'\\', 0};
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			if (c >= 0x80) {	/* not UTF-8: U+FFFD */
				sb_add(sb, "\\ufffd", 6);
				continue;
			}
			sb_add(sb, "\\u00", 4);
			sb_addc(sb, hex[c >> 4]);
			sb_addc(sb, hex[c & 15]);
			continue;
		}
		sb_add(sb, esc, 2);
	}
	sb_add(sb, s + start, n - start);
	sb_addc(sb, '"');
}

void sb_add_json_double(struct strbuf *sb, double d)
{
	if (!isfinite(d)) {
		sb_adds(sb, "null");
		return;
	}
	if (d == floor(d) && fabs(d) < 1e15) {
		sb_addf(sb, "%.1f", d);
		return;
	}
	sb_addf(sb, "%.15g", d);
}

void scen_set_progname(const char *argv0)
{
	const char *s = strrchr(argv0, '/');
	progname = s ? s + 1 : argv0;
}

const char *scen_progname(void)
{
	return progname;
}

static void vmsg(const char *kind, const char *fmt, va_list ap)
{
	char buf[4096];
	vsnprintf(buf, sizeof buf, fmt, ap);
	if (kind)
		fprintf(stderr, "%s: %s: %s\n", progname, kind, buf);
	else
		fprintf(stderr, "%s: %s\n", progname, buf);
}

int scen_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(NULL, fmt, ap);
	va_end(ap);
	return -1;
}

void scen_warn(const char *fmt, ...)
{
	if (scen_verbosity < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vmsg("warning", fmt, ap);
	va_end(ap);
}

void scen_info(const char *fmt, ...)
{
	if (scen_verbosity < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vmsg(NULL, fmt, ap);
	va_end(ap);
}

void scen_debug(const char *fmt, ...)
{
	if (scen_verbosity < 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	vmsg(NULL, fmt, ap);
	va_end(ap);
}

static double real_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double clock_scale = -1, clock_epoch;

/* The clock's test hooks (util.h), in a test build only: an installed
 * scen keeps real time, whatever its environment says. */
static void clock_init(void)
{
	clock_scale = 1;
	clock_epoch = 0;
#ifdef SCEN_TEST_HOOKS
	const char *s = getenv("SCEN_CLOCK_SCALE");
	const char *e = getenv("SCEN_CLOCK_EPOCH");
	if (s && *s) {
		char *end;
		double k = strtod(s, &end);
		if (*end == 0 && k > 0 && k <= 1e6)
			clock_scale = k;
	}
	if (clock_scale != 1)
		clock_epoch = e && *e ? strtod(e, NULL) : real_now();
#endif
}

double scen_real_now(void)
{
	return real_now();
}

void scen_kill_point(const char *point)
{
#ifdef SCEN_TEST_HOOKS
	const char *at = getenv("SCEN_KILL_AT");
	if (at && !strcmp(at, point))
		raise(SIGKILL);
#else
	(void)point;
#endif
}

const char *scen_host_id(void)
{
	static char id[320];
	if (id[0])
		return id;
#ifdef SCEN_TEST_HOOKS
	const char *t = getenv("SCEN_HOST");
	if (t && *t) {
		snprintf(id, sizeof id, "%s", t);
		return id;
	}
#endif
	char name[256] = "";
	if (gethostname(name, sizeof name - 1) < 0 || !name[0])
		snprintf(name, sizeof name, "localhost");
	char boot[64] = "";
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	if (f) {
		if (!fgets(boot, sizeof boot, f))
			boot[0] = 0;
		boot[strcspn(boot, "\n")] = 0;
		fclose(f);
	}
	snprintf(id, sizeof id, "%s%s%s", name, boot[0] ? "/" : "", boot);
	return id;
}

double scen_clock_scale(void)
{
	if (clock_scale < 0)
		clock_init();
	return clock_scale;
}

double scen_now(void)
{
	double k = scen_clock_scale();
	double t = real_now();
	if (k == 1)
		return t;
	return clock_epoch + (t - clock_epoch) * k;
}

double scen_real_ms(double virtual_s)
{
	return virtual_s * 1000.0 / scen_clock_scale();
}

double scen_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void scen_iso8601(double t, char *buf)
{
	time_t s = (time_t)floor(t);
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

double scen_parse_iso8601(const char *s)
{
	struct tm tm = {0};
	int n = 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &n) != 3)
		return -1;
	if (s[n] == 'T' || s[n] == ' ') {
		int m = 0;
		if (sscanf(s + n + 1, "%2d:%2d:%2d%n", &tm.tm_hour, &tm.tm_min,
			   &tm.tm_sec, &m) != 3)
			return -1;
		n += 1 + m;
		if (s[n] == 'Z')
			n++;
	}
	if (s[n] != 0)
		return -1;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	struct tm check = tm;
	time_t t = timegm(&check);
	/* timegm normalises 2026-02-31 to March: refuse what it moved */
	if (check.tm_mday != tm.tm_mday || check.tm_mon != tm.tm_mon)
		return -1;
	return (double)t;
}

int scen_close_stdout(int reported)
{
	int seen = ferror(stdout);	/* a write failed before */

	errno = 0;
	if (fclose(stdout) == 0 && !seen)
		return 0;
	if (seen && reported)
		return -1;
	/* after a failed write only its errno would tell, and it is gone */
	return scen_error("cannot write standard output: %s",
			  strerror(errno && !seen ? errno : EIO));
}

uint64_t scen_random64(void)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof r, 0) != sizeof r) {
		r = (uint64_t)real_now() * 6364136223846793005ULL ^
		    (uint64_t)getpid();
	}
	return r;
}

size_t scen_edit_distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b), w = m + 1, r;
	if (n > 64 || m > 64)
		return (size_t)-1 / 2;	/* no hint is worth that much work */
	size_t d[65 * 65];

	for (size_t i = 0; i <= n; i++)
		for (size_t j = 0; j <= m; j++) {
			size_t v, x;

			if (!i || !j) {
				d[i * w + j] = i + j;
				continue;
			}
			v = d[(i - 1) * w + j - 1] + (a[i - 1] != b[j - 1]);
			x = d[(i - 1) * w + j] + 1;
			v = x < v ? x : v;
			x = d[i * w + j - 1] + 1;
			v = x < v ? x : v;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1]) {
				x = d[(i - 2) * w + j - 2] + 1;
				v = x < v ? x : v;
			}
			d[i * w + j] = v;
		}
	r = d[n * w + m];
	return r;
}

int scen_is_db_uri(const char *target)
{
	return !strncmp(target, "postgresql://", 13) ||
	       !strncmp(target, "postgres://", 11);
}
