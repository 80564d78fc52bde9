/*
 * The `samples` virtual table over sample_blocks (daemon/samples_vtab.c):
 * module "appcore_samples", registered on every connection of appcored;
 * also the loadable extension appcore_samples for the sqlite3 shell.
 */
#ifndef APPCORE_SAMPLES_VTAB_H
#define APPCORE_SAMPLES_VTAB_H

struct sqlite3;

/* SQLITE_OK or an SQLite error code. */
int samples_vtab_register(struct sqlite3 *db);

#endif
