/*
 * The Xtensa build of the replay (replay.h), run by QEMU: the recording
 * linked into the image (recording.S), the wire bytes to the host's
 * stdout and the figures to its stderr through semihosting, the cycles
 * of each ac_agent_poll from CCOUNT (exact instructions under -icount:
 * ../shared/notes/xtensa-qemu.md).
 */
#include <stdint.h>
#include <string.h>

#include "appcore/region.h"
#include "replay.h"
#include "semihost.h"

extern const uint8_t recording[], recording_end[];
extern uint32_t xt_div64_calls, xt_div32_calls, xt_mul64_calls;

static _Alignas(64) uint8_t region[AC_REGION_DEFAULT_SIZE];
static uint8_t outbuf[4096];
static size_t outlen;
static int out_failed;

static void
out_flush(void)
{
	if (outlen > 0 && sh_write_all(1, outbuf, outlen) < 0)
		out_failed = 1;
	outlen = 0;
}

static void
out(const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t k = sizeof(outbuf) - outlen < n ? sizeof(outbuf) -
		    outlen : n;

		memcpy(outbuf + outlen, p, k);
		outlen += k;
		p += k;
		n -= k;
		if (outlen == sizeof(outbuf))
			out_flush();
	}
}

/* Decimal without printf. */
static char *
put_u64(char *s, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*s++ = tmp[--n];
	return s;
}

static char *
put_field(char *s, const char *name, uint64_t v)
{
	size_t n = strlen(name);

	memcpy(s, name, n);
	s += n;
	*s++ = ' ';
	s = put_u64(s, v);
	*s++ = ' ';
	return s;
}

/* Under -icount shift=6 CCOUNT advances 64/25 per instruction. */
static uint32_t
icount_insns(uint32_t delta)
{
	return (uint32_t)(((uint64_t)delta * 25 + 32) / 64);
}

int main(void);

int
main(void)
{
	struct replay_result r;
	char line[256], *s = line;

	replay_run(recording, (size_t)(recording_end - recording), region,
	    sizeof(region), out, &(struct replay_clock){ xt_ccount,
	    icount_insns }, &r);
	out_flush();
	s = put_field(s, "xtensa: error", (uint64_t)r.error);
	s = put_field(s, "steps", r.steps);
	s = put_field(s, "polls", r.polls);
	s = put_field(s, "samples", r.samples);
	s = put_field(s, "bytes", r.bytes);
	s = put_field(s, "insns", r.insns);
	s = put_field(s, "overhead", r.overhead);
	s = put_field(s, "div64", xt_div64_calls);
	s = put_field(s, "div32", xt_div32_calls);
	s = put_field(s, "mul64", xt_mul64_calls);
	s[-1] = '\n';
	(void)sh_write_all(2, line, (size_t)(s - line));
	if (r.error != 0 || out_failed)
		return 1;
	replay_naive(recording, (size_t)(recording_end - recording), region,
	    sizeof(region), &(struct replay_clock){ xt_ccount, icount_insns },
	    &r);
	s = put_field(line, "naive: error", (uint64_t)r.error);
	s = put_field(s, "samples", r.samples);
	s = put_field(s, "bytes", r.bytes);
	s = put_field(s, "insns", r.insns);
	s[-1] = '\n';
	(void)sh_write_all(2, line, (size_t)(s - line));
	return r.error != 0;
}
