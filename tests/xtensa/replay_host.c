/*
 * The host build of the replay (replay.h): the recording from a file,
 * the wire bytes to stdout, the figures to stderr.
 * usage: replay_host RECORDING > wire.bin
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "appcore/region.h"
#include "replay.h"

static _Alignas(64) uint8_t region[AC_REGION_DEFAULT_SIZE];

static void
out(const uint8_t *p, size_t n)
{
	fwrite(p, 1, n, stdout);
}

static uint32_t
no_cycles(void)
{
	return 0;
}

static uint32_t
no_insns(uint32_t delta)
{
	return delta;
}

int
main(int argc, char **argv)
{
	struct replay_result r;
	FILE *f;
	uint8_t *rec;
	long len;

	if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL) {
		fprintf(stderr, "usage: replay_host RECORDING\n");
		return 2;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	if (len <= 0 || (rec = malloc((size_t)len)) == NULL ||
	    fread(rec, 1, (size_t)len, f) != (size_t)len)
		return 2;
	fclose(f);
	replay_run(rec, (size_t)len, region, sizeof(region), out,
	    &(struct replay_clock){ no_cycles, no_insns }, &r);
	fprintf(stderr, "host: error %d steps %" PRIu32 " polls %" PRIu32
	    " samples %" PRIu64 " bytes %" PRIu64 "\n", r.error, r.steps,
	    r.polls, r.samples, r.bytes);
	free(rec);
	return r.error != 0;
}
