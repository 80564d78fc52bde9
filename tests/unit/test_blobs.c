/* gdbm blobs: content keys, verification, damage recovery. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blobs.h"
#include "check.h"

int
main(void)
{
	char dir[64] = "/tmp/appcore-blobs-XXXXXX", path[128], err[256],
	    note[512], hex[BLOB_HEX_LEN], cmd[160];
	uint8_t k1[BLOB_KEY_LEN], k2[BLOB_KEY_LEN], k3[BLOB_KEY_LEN], back[32];
	static uint8_t big[200000];
	struct blobs *b;
	void *p = NULL;
	size_t n;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/blobs.gdbm", dir);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + i / 251);
	b = blobs_open(path, err, sizeof(err), note, sizeof(note));
	CHECK(b != NULL && note[0] == '\0', "create %s", path);
	if (b == NULL)
		return check_done();
	CHECK(blobs_put(b, "hello", 5, k1) == 0, "put");
	blob_key_hex(k1, hex);
	CHECK(strcmp(hex, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e7304"
	    "3362938b9824") == 0, "the key is the SHA-256 of the content");
	CHECK(blob_key_parse(hex, back) == 0 && memcmp(back, k1, 32) == 0 &&
	    blob_key_parse("zz", back) < 0, "hex keys parse back, junk does not");
	CHECK(blobs_put(b, "hello", 5, k2) == 0 && memcmp(k1, k2, 32) == 0 &&
	    blobs_count(b) == 1, "the same content is stored once");
	CHECK(blobs_put(b, big, sizeof(big), k3) == 0 &&
	    blobs_get(b, k3, &p, &n) == 0 && n == sizeof(big) &&
	    memcmp(p, big, n) == 0, "a 200 kB blob round trip");
	free(p);
	memset(back, 0x11, sizeof(back));
	CHECK(blobs_get(b, back, &p, &n) < 0 && errno == ENOENT &&
	    !blobs_has(b, back), "a missing key: ENOENT");
	blobs_close(b);

	b = blobs_open(path, err, sizeof(err), note, sizeof(note));
	CHECK(b != NULL && blobs_has(b, k1) && blobs_has(b, k3) &&
	    blobs_count(b) == 2, "reopened: both blobs there");
	blobs_close(b);

	/* Damage: garbage over the header. */
	{
		int fd = open(path, O_WRONLY);
		char junk[512];

		memset(junk, 0x5a, sizeof(junk));
		if (fd < 0 || pwrite(fd, junk, sizeof(junk), 0) != 512)
			return 1;
		close(fd);
	}
	b = blobs_open(path, err, sizeof(err), note, sizeof(note));
	CHECK(b != NULL && note[0] != '\0', "a damaged file is dealt with: "
	    "%s", b != NULL ? note : err);
	CHECK(b != NULL && blobs_put(b, "after", 5, k2) == 0 &&
	    blobs_get(b, k2, &p, &n) == 0 && n == 5,
	    "and the store works again");
	if (b != NULL)
		free(p);
	blobs_close(b);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
