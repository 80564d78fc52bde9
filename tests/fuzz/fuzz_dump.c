/*
 * Fuzz target for crash-dump reassembly (daemon/dumprx.c): the input is
 * a sequence of records, each [op][len lo][len hi][len bytes]:
 *   0: a DUMP_INFO payload, decoded, then offered;
 *   1: a DUMP_DATA payload, decoded, then fed;
 *   2: DUMP_DATA without its CRC field: the target fills in the right
 *      CRC, so chunks get past the check and fill the dump;
 *   3: the dump offered again with the SHA-256 of what is there, so a
 *      complete transfer verifies (resume and completion paths).
 * Invariants (docs/security.md): bytes held never exceed the dump; every
 * answer is an offset within it, AC_DUMP_RESEND with one, or none; a
 * dump is declared complete only when its bytes hash to its SHA-256.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "dumprx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_ack(const struct dumprx *x, int rc, uint32_t ack)
{
	if (rc == DRX_ACK && (ack & ~AC_DUMP_RESEND) > x->info.total)
		abort();
	if (x->active && (x->got > x->info.total || x->buf == NULL))
		abort();
	if (rc == DRX_COMPLETE) {
		uint8_t md[32];

		if (!x->active || x->got != x->info.total)
			abort();
		SHA256(x->buf, x->info.total, md);
		if (memcmp(md, x->info.sha256, 32) != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	static struct dumprx x;
	uint8_t buf[AC_WIRE_MAX_PAYLOAD + 16];

	dumprx_reset(&x);
	while (n >= 3) {
		uint8_t op = p[0];
		size_t len = (size_t)p[1] | (size_t)p[2] << 8;
		struct ac_rd r;
		uint32_t ack = 0;
		int rc = DRX_NONE;

		p += 3;
		n -= 3;
		if (len > n)
			len = n;
		if (len > AC_WIRE_MAX_PAYLOAD)
			len = AC_WIRE_MAX_PAYLOAD;
		switch (op % 4) {
		case 0: {
			struct ac_msg_dump_info m;

			ac_rd_init(&r, p, len);
			if (ac_dump_info_decode(&r, &m) == 0) {
				if (m.total > 64 * 1024)	/* keep it quick */
					m.total = m.total % (64 * 1024) + 1;
				rc = dumprx_offer(&x, &m, &ack);
			}
			break;
		}
		case 1:
		case 2: {
			struct ac_msg_dump_data m;

			memcpy(buf, p, len);
			ac_rd_init(&r, buf, len);
			if (ac_dump_data_decode(&r, &m) == 0) {
				if (op % 4 == 2)
					m.crc = ac_crc32c(0, m.data, m.len);
				rc = dumprx_data(&x, &m, &ack);
			}
			break;
		}
		case 3:
			if (x.active && x.got == x.info.total) {
				struct ac_msg_dump_info m = x.info;

				SHA256(x.buf, x.info.total, m.sha256);
				x.info = m;	/* as if offered with it */
				rc = dumprx_offer(&x, &m, &ack);
			}
			break;
		}
		if (rc < 0)
			rc = DRX_NONE;
		check_ack(&x, rc, ack);
		if (rc == DRX_COMPLETE || rc == DRX_FAILED)
			dumprx_reset(&x);
		p += len;
		n -= len;
	}
	dumprx_reset(&x);
	return 0;
}
