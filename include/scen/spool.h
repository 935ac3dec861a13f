/* spool.h — the journal of servings that scen-serve-stdin could not write
 * to its database (a full disk, a database turned read-only):
 * "<database>.spool", JSON lines, each batch fsync'd before the answers it
 * backs are written, replayed into the database by the next command that
 * starts to write it (scen_spool_start). */
#ifndef SCEN_SPOOL_H
#define SCEN_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "scen/db.h"

/* struct scen_spooled, one serving as spooled: see db.h. */

struct scen_spool;

/* The spool of the database at db_path; opens nothing yet. */
struct scen_spool *scen_spool_new(const struct scen_db *db);
/* Closes the spool, releasing its locks; accepts NULL. */
void scen_spool_free(struct scen_spool *sp);
const char *scen_spool_path(const struct scen_spool *sp);

/*
 * Writing, one batch per turn:
 *   scen_spool_lock    opens the spool (creating it 0600) as a writer, and
 *                      takes the batch lock that writers take in turn
 *   scen_spool_read    (optional) takes in what other writers appended
 *   scen_spool_add...  queue records
 *   scen_spool_commit  appends the batch with one write and fsyncs it
 *   scen_spool_unlock  releases the batch lock, dropping what was queued
 *                      and not committed
 * lock and commit return 0, or -1 (reported, naming the file). A commit
 * that fails leaves nothing of its batch in the file.
 *
 * A writer holds a shared lock on the spool for as long as it is open, so
 * that no replay takes the file from under it (the replay waits for the
 * next start).
 */
int scen_spool_lock(struct scen_spool *sp);
void scen_spool_add(struct scen_spool *sp, const struct scen_spooled *r);
/* A counter increment (see scen_db_count) of the hour since the epoch. */
void scen_spool_add_count(struct scen_spool *sp, int64_t hour,
			  const char *name, size_t len, long n);
int scen_spool_commit(struct scen_spool *sp);
void scen_spool_unlock(struct scen_spool *sp);
/* Servings that this spool handle committed. */
long scen_spool_written(const struct scen_spool *sp);

/*
 * Reading: calls fn for each serving appended to the spool since the last
 * call (everything after scen_spool_rewind, or when the file was
 * replaced). A writer calls it under its batch lock; anyone else gets a
 * shared lock for the read. Returns the number of servings (0 when there
 * is no spool), or -1 (reported).
 */
long scen_spool_read(struct scen_spool *sp,
		     void (*fn)(void *ctx, const char *session,
				int64_t scenario),
		     void *ctx);
void scen_spool_rewind(struct scen_spool *sp);

/*
 * Replays the spool of db into it in one transaction (the servings, their
 * scenarios' serve counts, the counters), then removes it. A replay cut
 * short after its commit adds nothing the second time (each record's uid
 * is kept in the database). A spool that a running writer holds, or that
 * cannot be replayed now (the database still cannot be written), is kept
 * for a later start, with a warning. Lines that cannot be read are kept
 * in "<spool>.rejected". Returns the servings added, or -1 when the spool
 * was kept.
 */
long scen_spool_replay(struct scen_db *db);

/*
 * What a command does with the spool at its start, right after it opened
 * db: a read-write open replays it (scen_spool_replay); a read-only one
 * only warns that it waits for the next writer. Opening the database does
 * neither (scen_db_open): its start-up owns the spool.
 */
void scen_spool_start(struct scen_db *db, int readonly);

#endif
