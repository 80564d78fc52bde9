/*
 * Core-1 ELF images as files (imagefile.h).
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "digest.h"
#include "hex.h"
#include "imagefile.h"
#include "symbols.h"

#define IMAGE_FILE_MAX	(64u << 20)

static int
image_path(char *out, size_t n, const char *state_dir, const char *sha_hex,
    const char *suffix)
{
	if (strlen(sha_hex) != 64 || strspn(sha_hex, "0123456789abcdef") !=
	    64) {
		errno = EINVAL;
		return -1;
	}
	return snprintf(out, n, "%s/images/%s%s", state_dir, sha_hex,
	    suffix) < (int)n ? 0 : -1;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int
image_file_put(const char *state_dir, const char *sha_hex, const void *p,
    size_t n)
{
	return image_file_put_as(state_dir, sha_hex, ".elf", p, n);
}

int
image_file_put_as(const char *state_dir, const char *sha_hex,
    const char *suffix, const void *p, size_t n)
{
	char dir[600], tmp[700], path[700];
	int fd, saved;

	snprintf(dir, sizeof(dir), "%s/images", state_dir);
	if ((mkdir(dir, 0750) < 0 && errno != EEXIST) ||
	    image_path(path, sizeof(path), state_dir, sha_hex, suffix) < 0 ||
	    image_path(tmp, sizeof(tmp), state_dir, sha_hex, ".tmp") < 0)
		return -1;
	if (access(path, F_OK) == 0)
		return 0;		/* content-addressed: already there */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0640)) < 0)
		return -1;
	if (write_all(fd, p, n) < 0 || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	/* The new name reaches the disk too. */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return 0;
}

int
image_file_get(const char *state_dir, const char *sha_hex, void **p,
    size_t *n)
{
	return image_file_get_as(state_dir, sha_hex, ".elf", p, n);
}

void
image_file_remove(const char *state_dir, const char *sha_hex,
    const char *suffix)
{
	char path[700];

	if (image_path(path, sizeof(path), state_dir, sha_hex, suffix) == 0)
		(void)unlink(path);
}

int
image_file_get_as(const char *state_dir, const char *sha_hex,
    const char *suffix, void **p, size_t *n)
{
	char path[700], check[65];
	uint8_t md[32];
	struct stat st;
	void *buf;
	ssize_t r;
	int fd;

	if (image_path(path, sizeof(path), state_dir, sha_hex, suffix) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_size < 0 ||
	    (uint64_t)st.st_size > IMAGE_FILE_MAX ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	r = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (r != st.st_size) {
		free(buf);
		errno = EIO;
		return -1;
	}
	sha256(buf, (size_t)r, md);
	hex_encode(check, md, 32);
	if (strcmp(check, sha_hex) != 0) {
		free(buf);
		errno = EBADMSG;
		return -1;
	}
	*p = buf;
	*n = (size_t)r;
	return 0;
}

int
image_row_put(sqlite3 *db, const char *sha_hex, const char *name,
    size_t size, uint64_t now_us, const struct sym_info *info)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, "INSERT INTO images VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6, ?7) ON CONFLICT (sha256) DO UPDATE SET name = "
	    "excluded.name", -1, &st, NULL)) != SQLITE_OK)
		return rc;
	sqlite3_bind_text(st, 1, sha_hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)size);
	sqlite3_bind_int64(st, 4, (int64_t)now_us);
	sqlite3_bind_int64(st, 5, info->functions);
	sqlite3_bind_int(st, 6, info->dwarf);
	sqlite3_bind_int64(st, 7, info->entry);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc;
}
