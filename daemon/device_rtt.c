/*
 * Core 1's SEGGER RTT up-buffers on the host (docs/rtt.md): the agent's
 * RTT messages become log lines tagged with their channel ("rtt0
 * Terminal").  A text channel's bytes are cut into lines at '\n' (a line
 * longer than RTT_LINE_MAX is cut there; a partial line is stored after
 * RTT_IDLE_US without more bytes, or when the link goes); a binary
 * channel (defmt) is stored as it came, its bytes in logs.data and as hex
 * in the text.  The control block's discovery and refusals are events.
 * Memory: one RTT_LINE_MAX buffer per channel, allocated with the first
 * RTT message of a board.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appcored.h"
#include "jsonv.h"
#include "store.h"

#define RTT_LINE_MAX	240u
#define RTT_IDLE_US	500000u

struct rtt_chan {
	char label[48];			/* "rtt0 Terminal" */
	char line[RTT_LINE_MAX + 1];
	uint32_t len;
	uint64_t last_t;		/* wall time of the line's last bytes */
};

struct dev_rtt {
	struct rtt_chan ch[AC_RTT_MAX_BUFFERS];
};

static struct dev_rtt *
rtt_of(struct device *dev)
{
	if (dev->rtt == NULL)
		dev->rtt = calloc(1, sizeof(*dev->rtt));
	return dev->rtt;
}

void
device_rtt_free(struct device *dev)
{
	free(dev->rtt);
	dev->rtt = NULL;
}

static void
label_channel(struct rtt_chan *c, unsigned ch, const char *name)
{
	snprintf(c->label, sizeof(c->label), name[0] != '\0' ? "rtt%u %s" :
	    "rtt%u", ch, name);
}

/* One line into the logs table and onto the live stream. */
static void
publish_line(struct device *dev, uint64_t t, const char *label,
    const char *text, const uint8_t *data, size_t len)
{
	json_object *o = json_object_new_object();

	store_rtt_line(dev->d->store, dev->id, dev->boot, t, dev->generation,
	    label, text, data, len);
	json_object_object_add(o, "level", jv_string("info"));
	json_object_object_add(o, "channel", jv_string(label));
	json_object_object_add(o, "text", jv_string(text));
	if (data != NULL)
		json_object_object_add(o, "binary", json_object_new_boolean(1));
	device_publish(dev, "log", t, o);
}

static void
flush_line(struct device *dev, struct rtt_chan *c)
{
	while (c->len > 0 && (c->line[c->len - 1] == '\r' ||
	    c->line[c->len - 1] == '\n'))
		c->len--;
	c->line[c->len] = '\0';
	publish_line(dev, c->last_t, c->label, c->line, NULL, 0);
	c->len = 0;
}

static void
text_bytes(struct device *dev, struct rtt_chan *c, uint64_t t,
    const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		c->last_t = t;
		if (p[i] == '\n') {
			flush_line(dev, c);
			continue;
		}
		if (c->len == RTT_LINE_MAX)
			flush_line(dev, c);
		c->line[c->len++] = (char)p[i];
	}
}

static void
binary_bytes(struct device *dev, struct rtt_chan *c, uint64_t t,
    const uint8_t *p, size_t n)
{
	char hex[3 * AC_RTT_CHUNK + 1];
	size_t k = 0;

	if (c->len > 0)
		flush_line(dev, c);	/* text before it stays in order */
	for (size_t i = 0; i < n && k + 4 <= sizeof(hex); i++)
		k += (size_t)snprintf(hex + k, sizeof(hex) - k, i > 0 ?
		    " %02x" : "%02x", p[i]);
	publish_line(dev, t, c->label, hex, p, n);
}

static void
told(struct device *dev, const struct ac_msg_rtt *m, uint64_t t)
{
	char detail[160];

	switch (m->kind) {
	case AC_RTT_FOUND:
		snprintf(detail, sizeof(detail), "RTT control block at "
		    "0x%08" PRIx32 ", %" PRIu32 " up-buffers", m->addr, m->size);
		device_event(dev, t, "rtt-found", 1, detail);
		break;
	case AC_RTT_CHANNEL:
		label_channel(&dev->rtt->ch[m->channel], m->channel, m->name);
		break;
	case AC_RTT_REFUSED:
		snprintf(detail, sizeof(detail), "RTT control block refused, "
		    "not followed: %s (up-buffer %u, address 0x%08" PRIx32
		    ", size %" PRIu32 ")", ac_rtt_why_name(m->why), m->channel,
		    m->addr, m->size);
		device_event(dev, t, "rtt-refused", 1, detail);
		break;
	default:
		break;
	}
}

void
device_rtt(struct device *dev, const struct ac_msg_rtt *m)
{
	struct dev_rtt *r;
	struct rtt_chan *c;
	uint64_t t;

	if (!dev->have_boot || (r = rtt_of(dev)) == NULL)
		return;
	t = (uint64_t)device_wall(dev, m->t_us);
	if (m->kind != AC_RTT_DATA) {
		told(dev, m, t);
		return;
	}
	c = &r->ch[m->channel];
	if (c->label[0] == '\0')
		label_channel(c, m->channel, "");
	if (m->flags & AC_RTT_BINARY)
		binary_bytes(dev, c, t, m->data, m->len);
	else
		text_bytes(dev, c, t, m->data, m->len);
}

/* Partial lines: stored after RTT_IDLE_US, or all of them (idle_us 0). */
void
device_rtt_flush(struct device *dev, uint64_t now, uint64_t idle_us)
{
	if (dev->rtt == NULL)
		return;
	for (unsigned i = 0; i < AC_RTT_MAX_BUFFERS; i++) {
		struct rtt_chan *c = &dev->rtt->ch[i];

		if (c->len > 0 && now >= c->last_t + idle_us)
			flush_line(dev, c);
	}
}

void
device_rtt_tick(struct device *dev, uint64_t now)
{
	device_rtt_flush(dev, now, RTT_IDLE_US);
}
