/*
 * printf() and format() for the query API's connections: SQLite's own,
 * but with widths and precisions bounded, so that one call cannot run
 * for seconds where no deadline reaches (a width of 2^31).
 */
#ifndef APPCORE_SQLPRINTF_H
#define APPCORE_SQLPRINTF_H

struct sqlite3;

/* The widest width or precision admitted. */
#define SQLPRINTF_WIDTH_MAX	100

/* Replaces printf and format on db; SQLITE_OK or SQLite's error. */
int sqlprintf_register(struct sqlite3 *db);

#endif
