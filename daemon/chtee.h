/*
 * The store's tee to the ClickHouse forwarder: store ids (counters,
 * devices, boots) turned into the names ClickHouse rows carry, through a
 * bounded cache in front of the database.  Ingest thread only.
 */
#ifndef APPCORE_CHTEE_H
#define APPCORE_CHTEE_H

#include <sqlite3.h>

struct chrows;
struct store_tee;
struct chtee;

/* Names are looked up in db (the store's connection). */
struct chtee *chtee_new(sqlite3 *db, struct chrows *);
void chtee_free(struct chtee *);
/* Fills tee with callbacks that add the rows to the chrows. */
void chtee_bind(struct chtee *, struct store_tee *tee);

#endif
