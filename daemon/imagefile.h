/*
 * Uploaded core-1 ELF images as files, STATE_DIR/images/<sha256>.elf:
 * written under a temporary name, synced and renamed, so a reader sees a
 * whole file or none and no lock is held while 64 MiB reach the disk
 * (they used to go into gdbm under the mutex the ingest thread needs).
 * Images uploaded before are still read from the blob store.
 */
#ifndef APPCORE_IMAGEFILE_H
#define APPCORE_IMAGEFILE_H

#include <stddef.h>
#include <stdint.h>

struct sqlite3;
struct sym_info;

/* 0, or -1 with errno. */
int image_file_put(const char *state_dir, const char *sha_hex, const void *p,
    size_t n);
/* *p is malloc'd; -1 with errno ENOENT when there is none, EBADMSG when
 * the file no longer hashes to its name. */
int image_file_get(const char *state_dir, const char *sha_hex, void **p,
    size_t *n);

/* The same for another kind of file beside them, named by suffix (a
 * core-1 update's image, ".img", until the ingest thread has it). */
int image_file_put_as(const char *state_dir, const char *sha_hex,
    const char *suffix, const void *p, size_t n);
int image_file_get_as(const char *state_dir, const char *sha_hex,
    const char *suffix, void **p, size_t *n);
void image_file_remove(const char *state_dir, const char *sha_hex,
    const char *suffix);

/* The image's row in the images table (a new name for a known image
 * replaces the old); SQLITE_DONE, or the SQLite error. */
int image_row_put(struct sqlite3 *db, const char *sha_hex, const char *name,
    size_t size, uint64_t now_us, const struct sym_info *);

#endif
