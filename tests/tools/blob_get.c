/* Writes one blob of an appcored blob store to stdout: blob_get GDBM KEY */
#include <stdio.h>
#include <stdlib.h>

#include "blobs.h"

int
main(int argc, char **argv)
{
	uint8_t key[BLOB_KEY_LEN];
	char err[256], note[256];
	struct blobs *b;
	void *p;
	size_t n;

	if (argc != 3 || blob_key_parse(argv[2], key) < 0) {
		fprintf(stderr, "usage: blob_get GDBM HEXKEY\n");
		return 2;
	}
	if ((b = blobs_open(argv[1], err, sizeof(err), note, sizeof(note))) ==
	    NULL) {
		fprintf(stderr, "blob_get: %s\n", err);
		return 1;
	}
	if (blobs_get(b, key, &p, &n) < 0) {
		perror("blob_get");
		blobs_close(b);
		return 1;
	}
	fwrite(p, 1, n, stdout);
	free(p);
	blobs_close(b);
	return 0;
}
