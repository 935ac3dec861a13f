/* spool.c — the journal of servings that could not be written to the
 * database: "<database>.spool", JSON lines appended in fsync'd batches
 * under file locks, and its replay into the database. */
#include "scen/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scen/db.h"
#include "scen/util.h"

/*
 * Locks (open file description locks, one byte each, so that they belong
 * to the open file and not to the process):
 *   byte 0, shared: held by every writer for as long as it has the spool
 *           open; exclusive: taken, without waiting, by a replay. So a
 *           spool is never replayed (and removed) under a running writer.
 *   byte 1, exclusive: a writer's batch (read what others appended, then
 *           append); shared: a reader's read.
 * A writer that opened a spool that a replay then removed finds the path
 * gone or another file there, and opens again.
 */
enum { LOCK_LIFE = 0, LOCK_BATCH = 1 };

struct scen_spool {
	char *path;
	int fd;			/* -1: not open */
	int writer;		/* opened to append, holding LOCK_LIFE */
	int locked;		/* holding LOCK_BATCH */
	dev_t dev;
	ino_t ino;
	off_t off;		/* read up to here */
	struct strbuf batch;	/* queued records */
	long batch_servings, written;
	int errors;		/* reported; later ones only with -v */
};

/* Reports a spool error once per handle (a writer meets the same trouble
 * at every turn); returns -1. */
static int spool_error(struct scen_spool *sp, const char *fmt, ...)
		       __attribute__((format(printf, 2, 3)));
static int spool_error(struct scen_spool *sp, const char *fmt, ...)
		       {
		       char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (sp->errors++)
		scen_debug("%s", buf);
	else
		scen_error("%s", buf);
	return -1;
}

static int lock_byte(int fd, int wait, short type, off_t which)
{
	struct flock fl;
	memset(&fl, 0, sizeof fl);
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = which;
	fl.l_len = 1;
	int r;
	do
		r = fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
	while (r < 0 && errno == EINTR && wait);
	return r;
}

/* Makes a file's creation or removal durable: fsync of its folder. */
static void sync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/* Whether fd is still the file at path. */
static int still_there(int fd, const char *path, struct stat *st)
{
	struct stat p;
	if (fstat(fd, st) < 0 || stat(path, &p) < 0)
		return 0;
	return p.st_dev == st->st_dev && p.st_ino == st->st_ino;
}

struct scen_spool *scen_spool_new(const struct scen_db *db)
{
	struct scen_spool *sp = xcalloc(1, sizeof *sp);
	sp->path = scen_db_spool_path(db);
	sp->fd = -1;
	sb_init(&sp->batch);
	return sp;
}

static void close_fd(struct scen_spool *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);	/* and its locks with it */
	sp->fd = -1;
	sp->writer = 0;
	sp->locked = 0;
	sp->off = 0;
}

void scen_spool_free(struct scen_spool *sp)
{
	if (!sp)
		return;
	close_fd(sp);
	sb_release(&sp->batch);
	free(sp->path);
	free(sp);
}

const char *scen_spool_path(const struct scen_spool *sp)
{
	return sp->path;
}

long scen_spool_written(const struct scen_spool *sp)
{
	return sp->written;
}

/* Opens the spool to append, creating it, and takes LOCK_LIFE. */
static int open_writer(struct scen_spool *sp)
{
	for (int tries = 0; tries < 10; tries++) {
		int created = 1;
		int fd = open(sp->path,
			      O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC,
			      0600);
		if (fd < 0 && errno == EEXIST) {
			created = 0;
			fd = open(sp->path, O_RDWR | O_APPEND | O_CLOEXEC);
		}
		if (fd < 0) {
			if (errno == ENOENT)
				continue;	/* removed meanwhile */
			return spool_error(sp, "%s: cannot open the spool: %s",
					   sp->path, strerror(errno));
		}
		if (created) {
			fchmod(fd, 0600);	/* whatever the umask */
			sync_dir(sp->path);
		}
		if (lock_byte(fd, 1, F_RDLCK, LOCK_LIFE) < 0) {
			int e = errno;
			close(fd);
			return spool_error(sp, "%s: cannot lock the spool: %s",
					   sp->path, strerror(e));
		}
		struct stat st;
		if (!still_there(fd, sp->path, &st)) {
			close(fd);	/* replayed while we waited */
			continue;
		}
		close_fd(sp);
		sp->fd = fd;
		sp->writer = 1;
		sp->dev = st.st_dev;
		sp->ino = st.st_ino;
		return 0;
	}
	return spool_error(sp, "%s: the spool keeps being replaced; not opened",
			   sp->path);
}

/* A writer that died in the middle of a batch leaves a last line without
 * its newline; its answers were never written (they wait for the fsync),
 * so it is cut off before anything is appended after it. */
static void drop_torn_tail(struct scen_spool *sp)
{
	struct stat st;
	char buf[4096];
	if (fstat(sp->fd, &st) < 0 || st.st_size == 0)
		return;
	if (pread(sp->fd, buf, 1, st.st_size - 1) != 1 || buf[0] == '\n')
		return;
	off_t end = st.st_size, keep = 0;
	while (end > 0) {
		size_t n = end > (off_t)sizeof buf ? sizeof buf : (size_t)end;
		if (pread(sp->fd, buf, n, end - (off_t)n) != (ssize_t)n)
			return;
		size_t i = n;
		while (i > 0 && buf[i - 1] != '\n')
			i--;
		if (i) {
			keep = end - (off_t)n + (off_t)i;
			break;
		}
		end -= (off_t)n;
	}
	if (ftruncate(sp->fd, keep) < 0)
		return;
	if (sp->off > keep)
		sp->off = keep;
	scen_warn("%s: dropped an incomplete last record (%lld bytes) left "
		  "by a process that died while writing it; its answers "
		  "were never written", sp->path,
		  (long long)(st.st_size - keep));
}

int scen_spool_lock(struct scen_spool *sp)
{
	struct stat st;
	if (sp->fd >= 0 && (!sp->writer || !still_there(sp->fd, sp->path,
							 &st)))
		close_fd(sp);	/* a reader's, or removed by hand */
	if (sp->fd < 0 && open_writer(sp) < 0)
		return -1;
	if (lock_byte(sp->fd, 1, F_WRLCK, LOCK_BATCH) < 0)
		return spool_error(sp, "%s: cannot lock the spool: %s",
				   sp->path, strerror(errno));
	sp->locked = 1;
	drop_torn_tail(sp);
	return 0;
}

void scen_spool_unlock(struct scen_spool *sp)
{
	if (sp->locked)
		lock_byte(sp->fd, 0, F_UNLCK, LOCK_BATCH);
	sp->locked = 0;
	sb_reset(&sp->batch);
	sp->batch_servings = 0;
}

void scen_spool_rewind(struct scen_spool *sp)
{
	sp->off = 0;
}

static void add_str(struct strbuf *sb, const char *key, const char *val)
{
	sb_addf(sb, ",\"%s\":", key);
	if (val)
		sb_add_json_str(sb, val, strlen(val));
	else
		sb_adds(sb, "null");
}

static void add_uid(struct strbuf *sb, const char *type)
{
	sb_addf(sb, "{\"type\":\"%s\",\"uid\":\"sp-%016llx%016llx\","
		"\"pid\":%ld", type, (unsigned long long)scen_random64(),
		(unsigned long long)scen_random64(), (long)getpid());
}

void scen_spool_add(struct scen_spool *sp, const struct scen_spooled *r)
{
	struct strbuf *sb = &sp->batch;
	add_uid(sb, "serving");
	add_str(sb, "request_id", r->request_id);
	add_str(sb, "session", r->session);
	add_str(sb, "experiment", r->experiment);
	add_str(sb, "template", r->template_name);
	add_str(sb, "version", r->version);
	add_str(sb, "factors", r->factors);
	if (r->has_position)
		sb_addf(sb, ",\"position\":%ld", r->position);
	else
		sb_adds(sb, ",\"position\":null");
	add_str(sb, "tier", r->tier);
	/* %.17g: the numbers come back exactly */
	sb_addf(sb, ",\"similarity\":%.17g", r->similarity);
	add_str(sb, "scenario_id", r->scenario_sid);
	sb_addf(sb, ",\"scenario\":%lld", (long long)r->scenario);
	add_str(sb, "account", r->account);
	sb_addf(sb, ",\"latency_ms\":%.17g,\"served_at\":%.17g,"
		"\"forced_fresh\":%d}\n", r->latency_ms, r->served_at,
		r->forced_fresh ? 1 : 0);
	sp->batch_servings++;
}

void scen_spool_add_count(struct scen_spool *sp, int64_t hour,
			  const char *name, size_t len, long n)
{
	struct strbuf *sb = &sp->batch;
	add_uid(sb, "count");
	sb_addf(sb, ",\"hour\":%lld,\"name\":", (long long)hour);
	sb_add_json_str(sb, name, len);
	sb_addf(sb, ",\"n\":%ld}\n", n);
}

int scen_spool_commit(struct scen_spool *sp)
{
	if (!sp->batch.len)
		return 0;
	struct stat st;
	if (!sp->locked || fstat(sp->fd, &st) < 0)
		return spool_error(sp, "%s: the spool is not open", sp->path);
	off_t before = st.st_size;
	size_t done = 0;
	int e = 0;
	while (done < sp->batch.len) {
		ssize_t n = write(sp->fd, sp->batch.buf + done,
				  sp->batch.len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : ENOSPC;
			break;
		}
		done += (size_t)n;
	}
	if (!e && fdatasync(sp->fd) < 0)
		e = errno;
	if (e) {
		/* take the batch back out: its answers are not written */
		if (ftruncate(sp->fd, before) == 0)
			fdatasync(sp->fd);
		sb_reset(&sp->batch);
		sp->batch_servings = 0;
		return spool_error(sp, "%s: cannot write the spool: %s",
				   sp->path, strerror(e));
	}
	if (sp->off == before)
		sp->off = before + (off_t)sp->batch.len;
	sp->written += sp->batch_servings;
	sb_reset(&sp->batch);
	sp->batch_servings = 0;
	return 0;
}

/* ---- reading --------------------------------------------------------- */

/*
 * Calls fn for each complete line of fd from off on (without its newline;
 * a last line without one is left: a batch torn by a crash, or being
 * written). Reads in chunks, so a large spool takes little memory. Stops
 * when fn returns nonzero. Returns the offset after the last line read,
 * or -1 on a read error (errno set).
 */
static off_t each_line(int fd, off_t off,
		       int (*fn)(void *ctx, const char *line, size_t len),
		       void *ctx)
{
	struct strbuf sb;
	sb_init(&sb);
	off_t at = off;		/* file offset of sb.buf[0] */
	for (;;) {
		sb_grow(&sb, 65536);
		ssize_t n = pread(fd, sb.buf + sb.len, 65536,
				  at + (off_t)sb.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sb_release(&sb);
			return -1;
		}
		if (n == 0)
			break;
		sb.len += (size_t)n;
		size_t start = 0;
		char *nl;
		while ((nl = memchr(sb.buf + start, '\n', sb.len - start))) {
			size_t len = (size_t)(nl - sb.buf) - start;
			int stop = fn(ctx, sb.buf + start, len);
			start += len + 1;
			if (stop) {
				sb_release(&sb);
				return at + (off_t)start;
			}
		}
		memmove(sb.buf, sb.buf + start, sb.len - start);
		sb.len -= start;
		at += (off_t)start;
	}
	sb_release(&sb);
	return at;
}

/* Opens the spool to read when there is one (following a replacement). */
static int open_reader(struct scen_spool *sp)
{
	struct stat st;
	if (stat(sp->path, &st) < 0) {
		if (errno != ENOENT)
			return spool_error(sp, "%s: %s", sp->path,
					   strerror(errno));
		close_fd(sp);	/* replayed */
		return 0;
	}
	if (sp->fd >= 0 && (st.st_dev != sp->dev || st.st_ino != sp->ino))
		close_fd(sp);
	if (sp->fd >= 0)
		return 1;
	int fd = open(sp->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return spool_error(sp, "%s: cannot open the spool: %s",
				   sp->path, strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		return spool_error(sp, "%s: %s", sp->path, strerror(errno));
	}
	sp->fd = fd;
	sp->dev = st.st_dev;
	sp->ino = st.st_ino;
	sp->off = 0;
	return 1;
}

struct read_ctx {
	void (*fn)(void *ctx, const char *session, int64_t scenario);
	void *ctx;
	long n;
};

static int read_line(void *vctx, const char *line, size_t len)
{
	struct read_ctx *rc = vctx;
	json_t *o = json_loadb(line, len, 0, NULL);
	const char *type = json_string_value(json_object_get(o, "type"));
	const char *sess = json_string_value(json_object_get(o, "session"));
	json_t *scn = json_object_get(o, "scenario");
	if (type && !strcmp(type, "serving") && sess && json_is_integer(scn)) {
		rc->fn(rc->ctx, sess, (int64_t)json_integer_value(scn));
		rc->n++;
	}
	json_decref(o);
	return 0;
}

long scen_spool_read(struct scen_spool *sp,
		     void (*fn)(void *ctx, const char *session,
				int64_t scenario),
		     void *ctx)
{
	int held = sp->writer && sp->locked;
	if (!held) {
		if (sp->writer)
			return spool_error(sp, "%s: read outside a batch",
					   sp->path);
		int r = open_reader(sp);
		if (r <= 0)
			return r;
		struct stat st;
		if (fstat(sp->fd, &st) < 0 || st.st_size <= sp->off)
			return 0;
		if (lock_byte(sp->fd, 1, F_RDLCK, LOCK_BATCH) < 0)
			return spool_error(sp, "%s: cannot lock the spool: %s",
					   sp->path, strerror(errno));
	}
	/* complete lines only: a writer's batch is whole under the lock,
	 * and a torn one is cut off by the next writer */
	struct read_ctx rc = {fn, ctx, 0};
	off_t end = each_line(sp->fd, sp->off, read_line, &rc);
	long n = rc.n;
	if (end < 0)
		n = spool_error(sp, "%s: cannot read the spool: %s", sp->path,
				strerror(errno));
	else
		sp->off = end;
	if (!held)
		lock_byte(sp->fd, 0, F_UNLCK, LOCK_BATCH);
	return n;
}

/* ---- replay ---------------------------------------------------------- */

static const char *str_of(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A serving record into r; -1 when a field is missing or wrong. */
static int parse_serving(json_t *o, struct scen_spooled *r)
{
	memset(r, 0, sizeof *r);
	r->request_id = str_of(o, "request_id");
	r->session = str_of(o, "session");
	r->experiment = str_of(o, "experiment");
	r->template_name = str_of(o, "template");
	r->version = str_of(o, "version");
	r->factors = str_of(o, "factors");
	r->tier = str_of(o, "tier");
	r->scenario_sid = str_of(o, "scenario_id");
	r->account = str_of(o, "account");
	json_t *pos = json_object_get(o, "position");
	json_t *sim = json_object_get(o, "similarity");
	json_t *lat = json_object_get(o, "latency_ms");
	json_t *at = json_object_get(o, "served_at");
	if (!r->request_id || !r->session || !r->experiment ||
	    !r->template_name || !r->version || !r->factors || !r->tier ||
	    !r->scenario_sid || !json_is_number(sim) || !json_is_number(lat) ||
	    !json_is_number(at) || (pos && !json_is_null(pos) &&
				    !json_is_integer(pos)))
		return -1;
	if (strcmp(r->tier, "cache") && strcmp(r->tier, "fresh") &&
	    strcmp(r->tier, "pool") && strcmp(r->tier, "relaxed"))
		return -1;
	r->has_position = json_is_integer(pos);
	r->position = r->has_position ? (long)json_integer_value(pos) : 0;
	r->similarity = json_number_value(sim);
	r->latency_ms = json_number_value(lat);
	r->served_at = json_number_value(at);
	r->forced_fresh = json_is_true(json_object_get(o, "forced_fresh")) ||
		json_integer_value(json_object_get(o, "forced_fresh")) != 0;
	return 0;
}

/* Replays one line; *added 1 when it was added now. SCEN_OK,
 * SCEN_ERR_IO, or SCEN_ERR_DAMAGED for a line that cannot be used. */
static enum scen_err replay_line(struct scen_db *db, const char *line,
				 size_t len, long *servings, long *counts,
				 int *added)
{
	json_t *o = json_loadb(line, len, 0, NULL);
	const char *type = str_of(o, "type");
	const char *uid = str_of(o, "uid");
	enum scen_err rc = SCEN_ERR_DAMAGED;
	*added = 0;
	if (!o || !type || !uid) {
		json_decref(o);
		return rc;
	}
	if (!strcmp(type, "serving")) {
		struct scen_spooled r;
		if (parse_serving(o, &r) == 0)
			rc = scen_db_replay_serving(db, uid, &r, added);
		*servings += *added;
	} else if (!strcmp(type, "count")) {
		const char *name = str_of(o, "name");
		json_t *hour = json_object_get(o, "hour");
		json_t *n = json_object_get(o, "n");
		if (name && json_is_integer(hour) && json_is_integer(n))
			rc = scen_db_replay_count(db, uid,
						  json_integer_value(hour),
						  name,
						  (long)json_integer_value(n),
						  added);
		*counts += *added;
	}
	json_decref(o);
	return rc;
}

/* Keeps lines a replay could not use in "<spool>.rejected". */
static int keep_rejected(const char *spool, const struct strbuf *lines)
{
	char *path = xasprintf("%s.rejected", spool);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	int rc = 0;
	if (fd < 0 || write(fd, lines->buf, lines->len) !=
			      (ssize_t)lines->len || fsync(fd) < 0)
		rc = scen_error("%s: cannot keep the spool lines that could "
				"not be replayed: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (!rc)
		scen_warn("%s: kept the spool lines that could not be "
			  "replayed (damaged, or of scenarios no longer "
			  "stored)", path);
	free(path);
	return rc;
}

struct replay {
	struct scen_db *db;
	const char *path;
	long lineno, servings, counts, seen;
	struct strbuf rejected;
	int rc;
};

static int replay_one(void *vctx, const char *line, size_t len)
{
	struct replay *r = vctx;
	r->lineno++;
	int added;
	enum scen_err k = replay_line(r->db, line, len, &r->servings,
				      &r->counts, &added);
	if (k == SCEN_OK) {
		r->seen += !added;
	} else if (k == SCEN_ERR_DAMAGED) {
		scen_warn("%s:%ld: not replayed: not a spool record, or its "
			  "scenario is not in the database", r->path,
			  r->lineno);
		sb_add(&r->rejected, line, len);
		sb_addc(&r->rejected, '\n');
	} else {
		r->rc = -1;
		return 1;
	}
	return 0;
}

/* Replays the content of an open, locked spool; 0 or -1. */
static int replay_file(struct replay *r, int fd)
{
	if (scen_db_begin(r->db) < 0)
		return -1;
	if (each_line(fd, 0, replay_one, r) < 0)
		r->rc = scen_error("%s: cannot read the spool: %s", r->path,
				   strerror(errno));
	if (!r->rc && r->servings) {
		char detail[160];
		snprintf(detail, sizeof detail, "%ld servings from %s",
			 r->servings, r->path);
		r->rc = scen_db_event(r->db, "spool_replayed", NULL, detail);
	}
	/* the rejected lines are kept before the spool can go */
	if (!r->rc && r->rejected.len &&
	    keep_rejected(r->path, &r->rejected) < 0)
		r->rc = -1;
	if (r->rc) {
		scen_db_rollback(r->db);
		return -1;
	}
	return scen_db_commit(r->db);
}

long scen_spool_replay(struct scen_db *db)
{
	char *path = scen_db_spool_path(db);
	struct replay r = {.db = db, .path = path};
	long rc = -1;
	int fd = -1;
	sb_init(&r.rejected);
	for (int tries = 0; tries < 10 && fd < 0; tries++) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				rc = 0;
			else
				scen_warn("%s: cannot open the spool to replay "
					  "it: %s", path, strerror(errno));
			goto out;
		}
		if (lock_byte(fd, 0, F_WRLCK, LOCK_LIFE) < 0) {
			if (errno == EAGAIN || errno == EACCES)
				scen_info("%s: in use by another process (a "
					  "scen-serve-stdin serving from "
					  "memory, or a replay); left to it",
					  path);
			else
				scen_warn("%s: cannot lock the spool: %s", path,
					  strerror(errno));
			close(fd);
			fd = -1;
			goto out;
		}
		struct stat st;
		if (!still_there(fd, path, &st)) {
			close(fd);	/* another replay took it */
			fd = -1;
			if (access(path, F_OK) != 0) {
				rc = 0;
				goto out;
			}
		}
	}
	if (fd < 0)
		goto out;
	if (replay_file(&r, fd) < 0) {
		scen_warn("%s: kept: its servings could not be added to the "
			  "database now; the next start tries again", path);
		goto out;
	}
	/* committed: a crash from here on replays it again, adding
	 * nothing (every uid is in spool_replayed) */
	if (unlink(path) < 0)
		scen_warn("%s: replayed, but cannot be removed: %s", path,
			  strerror(errno));
	else
		sync_dir(path);
	if (r.servings || r.counts || r.seen)
		scen_info("%s: %ld spooled serving%s added to the database%s",
			  path, r.servings, r.servings == 1 ? "" : "s",
			  r.seen ? " (the rest were added before)" : "");
	rc = r.servings;
out:
	if (fd >= 0)
		close(fd);
	sb_release(&r.rejected);
	free(path);
	return rc;
}

void scen_spool_start(struct scen_db *db, int readonly)
{
	if (!readonly) {
		scen_spool_replay(db);
		return;
	}
	char *spool = scen_db_spool_path(db);
	if (access(spool, F_OK) == 0)
		scen_warn("%s holds servings not yet in the database (spooled "
			  "while it could not be written); the next "
			  "scen-serve-stdin, scen-gen or scen-pool-fill adds "
			  "them", spool);
	free(spool);
}
