/*
 * For tests that put a channel between the agent and a host: takes what
 * the agent queued and hands it on one whole frame (delimiter included)
 * at a time; an unfinished frame waits in the caller's buffer.
 */
#ifndef APPCORE_TEST_AGENT_FRAMES_H
#define APPCORE_TEST_AGENT_FRAMES_H

#include <string.h>

#include "appcore/agent.h"

struct frame_buf {
	uint8_t b[16384];
	size_t len;
};

static inline void
agent_frames(struct ac_agent *a, struct frame_buf *fb,
    void (*frame)(const uint8_t *p, size_t n))
{
	const uint8_t *p;
	size_t n;

	while ((p = ac_agent_tx_peek(a, &n)) != NULL) {
		if (n > sizeof(fb->b) - fb->len)
			n = sizeof(fb->b) - fb->len;
		memcpy(fb->b + fb->len, p, n);
		fb->len += n;
		ac_agent_tx_consume(a, n);
		for (;;) {
			uint8_t *end = memchr(fb->b, 0, fb->len);
			size_t k;

			if (end == NULL)
				break;
			k = (size_t)(end - fb->b) + 1;
			frame(fb->b, k);
			memmove(fb->b, fb->b + k, fb->len - k);
			fb->len -= k;
		}
	}
}

#endif
