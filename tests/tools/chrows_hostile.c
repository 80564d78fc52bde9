/*
 * For tests/integration/clickhouse_test.py: N event rows whose board,
 * kind and detail hold every byte 1..255 (tab, newline, CR and backslash
 * often), written by daemon/chrows.c as appcored sends them, on stdout;
 * the hex of each row's three strings, one row per line, in HEXFILE.
 * The test inserts the rows into a real ClickHouse and reads the strings
 * back: ClickHouse's parser is the judge of the escaping.
 *
 * usage: chrows_hostile N HEXFILE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chrows.h"

static unsigned long long rng = 0x9e3779b97f4a7c15ull;

static unsigned
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 32);
}

static void
hostile(char *s, size_t max)
{
	static const char special[] = "\t\n\r\\'\"";
	size_t n = 1 + next() % (max - 1);

	for (size_t i = 0; i < n; i++)
		s[i] = next() % 3 == 0 ? special[next() % 6] :
		    (char)(1 + next() % 255);
	s[n] = '\0';
}

static void
put_hex(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		fprintf(f, "%02X", (unsigned char)*s);
}

int
main(int argc, char **argv)
{
	struct chrows r = { 0 };
	struct ch_batch b;
	char board[48], kind[48], detail[300];
	FILE *hex;
	int n;

	if (argc != 3 || (n = atoi(argv[1])) <= 0 ||
	    (hex = fopen(argv[2], "w")) == NULL) {
		fprintf(stderr, "usage: chrows_hostile N HEXFILE\n");
		return 2;
	}
	for (int i = 0; i < n; i++) {
		hostile(board, sizeof(board));
		hostile(kind, sizeof(kind));
		hostile(detail, sizeof(detail));
		chrows_event(&r, board, "boot", i, kind, (unsigned)i, detail,
		    0);
		put_hex(hex, board);
		fputc('\t', hex);
		put_hex(hex, kind);
		fputc('\t', hex);
		put_hex(hex, detail);
		fputc('\n', hex);
	}
	if (!chrows_take(&r, CH_EVENTS, &b) ||
	    fwrite(b.text.data, 1, b.text.len, stdout) != b.text.len ||
	    fclose(hex) != 0)
		return 1;
	tsv_free(&b.text);
	return 0;
}
