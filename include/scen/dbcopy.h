/* dbcopy.h — moving a study from one database to another (scen-db-copy(1)):
 * SQLite to PostgreSQL, back, or file to file. */
#ifndef SCEN_DBCOPY_H
#define SCEN_DBCOPY_H

#include <stdio.h>

#include "scen/db.h"
#include "scen/error.h"

/*
 * Copies every table of the schema from from (open read-only is enough)
 * into to (open read-write, at the current schema), rows with their ids
 * and values as they are (types kept; blobs byte for byte), each table
 * after those it refers to.
 *
 * from is read in one read snapshot, so that a writer still at work
 * cannot make the copy disagree with itself; to is written in one write
 * transaction, which also moves PostgreSQL's identity sequences past the
 * copied ids. Before that transaction commits, the rows of every table
 * are counted on both sides.
 *
 * Returns SCEN_OK, having written one line per table to out, "NAME ROWS"
 * (the name padded to a column). Else, with nothing written to to:
 * SCEN_ERR_DATA when to holds rows already (in any table: a copy goes
 * into an empty database only; e names the tables and their rows);
 * SCEN_ERR_SOFTWARE when the counts differ after the copy (e names the
 * tables); SCEN_ERR_IO when reading or writing failed (reported as found,
 * e's message empty).
 */
enum scen_err scen_db_copy(struct scen_db *from, struct scen_db *to,
			   FILE *out, struct scen_error *e);

#endif
