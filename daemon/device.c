/*
 * What a session says, turned into rows and live state.  A device is known
 * by its agent's device id and outlives links (unplug, re-enumeration) and
 * boots.
 *
 * Clock: the agent stamps everything with its own microseconds since boot.
 * Wall time = device time + offset.  The offset is anchored at the HELLO
 * that starts a boot (host receive time minus the agent's uptime) and is
 * kept while the link drops and returns.  Each sample bounds the offset
 * from above (it cannot arrive before it was taken), so the smallest
 * "receive time - device time" over 10 s is the best estimate; when it
 * differs from the anchor by more than 20 ms (crystal drift, a late
 * first HELLO) the anchor moves, and the clock table records it.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "appcored.h"
#include "hex.h"
#include "jsonv.h"
#include "le.h"
#include "log.h"
#include "xfer.h"

#define DRIFT_WINDOW_US		10000000
#define DRIFT_MAX_US		20000
#define FUTURE_MAX_US		5000

static void settle_clock(struct device *, uint64_t now);

/* The anchor in force at device time device_us (the clock table's rule);
 * older than every anchor kept: the oldest. */
int64_t
device_wall(const struct device *dev, uint64_t device_us)
{
	uint32_t n = dev->nanchor < DEV_ANCHORS ? dev->nanchor : DEV_ANCHORS;

	for (uint32_t k = 0; k < n; k++) {
		const struct clock_anchor *a =
		    &dev->anchor[(dev->nanchor - 1 - k) % DEV_ANCHORS];

		if (a->from_us <= device_us || k == n - 1)
			return (int64_t)device_us + a->offset_us;
	}
	return (int64_t)device_us + dev->offset_us;
}

static void
anchor_push(struct device *dev, uint64_t from_us, int64_t offset)
{
	dev->anchor[dev->nanchor++ % DEV_ANCHORS] =
	    (struct clock_anchor){ from_us, offset };
	dev->offset_us = offset;
}

struct device *
device_find(struct daemon *d, const char *key)
{
	for (struct device *dev = d->devices; dev != NULL; dev = dev->next)
		if (strcmp(dev->key, key) == 0)
			return dev;
	return NULL;
}

/* ---- the boards tracked in memory ---- */

void
device_free(struct device *dev)
{
	dumprx_reset(&dev->dump);
	update_free(dev->upd);
	if (dev->part_fd >= 0)
		close(dev->part_fd);
	free(dev->pending);
	free(dev->pending_vals);
	device_rtt_free(dev);
	free(dev);
}

/* The board unlinked longest ago, or NULL when every one is linked. */
static struct device *
device_evictable(struct daemon *d)
{
	struct device *victim = NULL;

	for (struct device *dev = d->devices; dev != NULL; dev = dev->next)
		if (dev->link == NULL && (victim == NULL ||
		    dev->last_seen < victim->last_seen))
			victim = dev;
	return victim;
}

/* A board is forgotten in memory (its rows stay in the database). */
static void
device_forget(struct daemon *d, struct device *victim)
{
	for (struct device **pp = &d->devices; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == victim) {
			*pp = victim->next;
			break;
		}
	pthread_mutex_lock(&d->live->mu);
	live_device_remove(d->live, victim->id);
	pthread_mutex_unlock(&d->live->mu);
	d->devices_forgotten++;
	device_free(victim);
}

/* A board seen for the first time: at most DEVICES_MAX are tracked, so a
 * link that claims a new device id with every hello costs nothing more;
 * the one unlinked longest ago makes room. */
static struct device *
device_new(struct daemon *d, const char *key, const char *name)
{
	struct device *dev;
	int n = 0;

	for (dev = d->devices; dev != NULL; dev = dev->next)
		n++;
	if (n >= DEVICES_MAX) {
		if ((dev = device_evictable(d)) == NULL)
			return NULL;
		device_forget(d, dev);
	}
	if ((dev = calloc(1, sizeof(*dev))) == NULL)
		fatal("device");
	dev->d = d;
	dev->part_fd = -1;
	snprintf(dev->key, sizeof(dev->key), "%s", key);
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->next = d->devices;
	d->devices = dev;
	return dev;
}

/* To the live stream: {"device": id, "t": ..., ...}; o is consumed. */
void
device_publish(struct device *dev, const char *type, uint64_t t,
    json_object *o)
{
	json_object *e = json_object_new_object();

	json_object_object_add(e, "device", json_object_new_int64(dev->id));
	json_object_object_add(e, "t", json_object_new_int64((int64_t)t));
	json_object_object_foreach(o, k, v)
		json_object_object_add(e, k, json_object_get(v));
	json_object_put(o);
	pthread_mutex_lock(&dev->d->live->mu);
	live_publish(dev->d->live, type, json_object_to_json_string_ext(e,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	pthread_mutex_unlock(&dev->d->live->mu);
	json_object_put(e);
}

void
device_event(struct device *dev, uint64_t t, const char *kind,
    uint64_t count, const char *detail)
{
	struct daemon *d = dev->d;
	json_object *o = json_object_new_object();

	store_event(d->store, dev->id > 0 ? dev->id : 0,
	    dev->have_boot ? dev->boot : 0, t, kind, count, detail);
	json_object_object_add(o, "kind", jv_string(kind));
	json_object_object_add(o, "count", json_object_new_int64((int64_t)count));
	json_object_object_add(o, "detail", jv_string(detail));
	device_publish(dev, "event", t, o);
}

/* With the live mutex held. */
struct live_device *
device_live(struct device *dev)
{
	struct live_device *ld = live_device_get(dev->d->live, dev->id);

	if (ld != NULL && ld->name[0] == '\0') {
		snprintf(ld->name, sizeof(ld->name), "%s", dev->name);
		snprintf(ld->key, sizeof(ld->key), "%s", dev->key);
	}
	return ld;
}

/*
 * Whether this crash is stored: the agent sends a panicked or hung core
 * 1's record again to every host that says hello, with its first time.
 * One panic per core-1 run; hangs by kind and time (clock mappings of two
 * daemon runs differ by far less than a second).
 */
static bool
crash_known(struct daemon *d, int64_t device, int64_t boot,
    const struct ac_msg_crash *m, int64_t t)
{
	return store_crash_known(d->store, device, boot, m->generation,
	    m->reason == AC_PANIC_HANG ? "hang" : "panic", t);
}

/* The last clock anchor of another boot seen before (a crash offered
 * after a reset). */
static bool
last_anchor(struct daemon *d, int64_t boot, int64_t *offset)
{
	struct store_anchor a;

	if (store_clock_anchors(d->store, boot, &a, 1) < 1)
		return false;
	*offset = a.offset_us;
	return true;
}

/* The newest clock anchors of a boot seen before (a daemon restart),
 * oldest first into the ring. */
static bool
load_anchors(struct device *dev)
{
	struct store_anchor a[DEV_ANCHORS];
	int n = store_clock_anchors(dev->d->store, dev->boot, a, DEV_ANCHORS);

	while (n > 0) {
		n--;
		anchor_push(dev, a[n].from_us, a[n].offset_us);
	}
	return dev->nanchor > 0;
}

/* ---- sample accounting of a boot ---- */

static void
account_load(struct device *dev)
{
	dev->produced = dev->stored = dev->dup = 0;
	memset(dev->idx_stored, 0, sizeof(dev->idx_stored));
	(void)store_boot_account_get(dev->d->store, dev->boot, &dev->produced,
	    &dev->stored, &dev->dup);
	/* What came before a daemon restart is not known index by index:
	 * nothing under the newest known index is stored again. */
	dev->next_index = dev->produced;
	dev->lost_told = dev->produced - dev->stored;
}

static void
account_write(struct device *dev)
{
	if (!dev->account_dirty || !dev->have_boot)
		return;
	store_boot_account(dev->d->store, dev->boot, dev->produced,
	    dev->stored, dev->dup);
	dev->account_dirty = false;
}

/* Tells the samples lost (or found again) since the last time. */
static void
account_tell(struct device *dev, uint64_t now, const char *why)
{
	uint64_t lost = dev->produced - dev->stored;
	char detail[200];

	if (lost > dev->lost_told) {
		snprintf(detail, sizeof(detail), "%" PRIu64 " samples of boot "
		    "%016" PRIx64 " not stored (%s); %" PRIu64 " produced, %"
		    PRIu64 " stored", lost - dev->lost_told,
		    dev->hello.boot_id, why, dev->produced, dev->stored);
		device_event(dev, now, "samples-lost", lost - dev->lost_told, detail);
	} else if (lost < dev->lost_told) {
		snprintf(detail, sizeof(detail), "%" PRIu64 " samples counted "
		    "lost arrived late and were stored", dev->lost_told - lost);
		device_event(dev, now, "samples-recovered", dev->lost_told - lost,
		    detail);
	}
	dev->lost_told = lost;
	account_write(dev);
}

/* The boot is over for this link (link down, a new boot): what the agent
 * said it produced and we never saw is lost. */
static void
account_close(struct device *dev, uint64_t now, const char *why)
{
	if (!dev->have_boot)
		return;
	if (dev->agent.t_us != 0 && dev->agent.samples > dev->produced) {
		dev->produced = dev->agent.samples;
		dev->account_dirty = true;
	}
	account_tell(dev, now, why);
}

enum idx_class { IDX_NEW, IDX_LATE, IDX_DUP };

static enum idx_class
idx_classify(const struct device *dev, uint64_t index)
{
	uint64_t k = index % DEV_IDX_WINDOW;

	if (index >= dev->next_index)
		return IDX_NEW;
	if (dev->next_index - index > DEV_IDX_WINDOW)
		return IDX_DUP;		/* too old to know: never twice */
	return (dev->idx_stored[k >> 3] >> (k & 7)) & 1u ? IDX_DUP : IDX_LATE;
}

static void
idx_mark(struct device *dev, uint64_t index)
{
	uint64_t k;

	/* Indices skipped on the way are not stored (yet). */
	for (uint64_t i = dev->next_index; i < index &&
	    i < dev->next_index + DEV_IDX_WINDOW; i++) {
		k = i % DEV_IDX_WINDOW;
		dev->idx_stored[k >> 3] &= (uint8_t)~(1u << (k & 7));
	}
	k = index % DEV_IDX_WINDOW;
	dev->idx_stored[k >> 3] |= (uint8_t)(1u << (k & 7));
	if (index >= dev->next_index)
		dev->next_index = index + 1;
}

/*
 * Every change of the offset is a clock row, so wall times map back to
 * device times exactly; events are summarised, one per window at most
 * (reading a backlog moves the anchor a little with every frame).
 */
static void
set_anchor(struct device *dev, uint64_t from_us, int64_t offset,
    uint64_t now, const char *why)
{
	char detail[160];

	if (dev->have_boot && dev->boot > 0) {
		(void)store_clock(dev->d->store, dev->boot, from_us, offset);
		dev->anchor_moves++;
		dev->anchor_moved_us += offset - dev->offset_us;
		if (now >= dev->next_clock_event) {
			snprintf(detail, sizeof(detail), "%s: anchor moved "
			    "%+" PRId64 " us in %u step(s), at device time %"
			    PRIu64, why, dev->anchor_moved_us,
			    dev->anchor_moves, from_us);
			device_event(dev, now, "clock", dev->anchor_moves, detail);
			dev->anchor_moves = 0;
			dev->anchor_moved_us = 0;
			dev->next_clock_event = now + DRIFT_WINDOW_US;
		}
	}
	anchor_push(dev, from_us, offset);
}

static void
on_hello(void *arg, struct session *s)
{
	struct link *l = arg;
	struct daemon *d = l->d;
	const struct ac_msg_hello *h = &s->hello;
	uint64_t now = now_wall_us();
	struct device *dev;
	char key[sizeof(dev->key)], name[sizeof(dev->name)];
	bool printable = true, new_boot = false, need_snapshot_t;
	int64_t offset, snapshot_t;

	hex_encode(key, h->device_id, h->device_id_len);
	for (int i = 0; i < h->device_id_len; i++)
		printable &= isprint(h->device_id[i]) && h->device_id[i] != ' ';
	if (printable)
		snprintf(name, sizeof(name), "%.*s", (int)h->device_id_len,
		    (const char *)h->device_id);
	else
		snprintf(name, sizeof(name), "%s", key);
	if ((dev = device_find(d, key)) == NULL &&
	    (dev = device_new(d, key, name)) == NULL) {
		log_warnx("%s: %s: %d boards are tracked and all are linked; "
		    "this one is not", l->spec, name, DEVICES_MAX);
		return;
	}
	if (dev->link != NULL && dev->link != l) {
		log_notice("%s: %s moved here from %s", l->spec, dev->name,
		    dev->link->spec);
		dev->link->dev = NULL;
	}
	if (l->dev != NULL && l->dev != dev) {
		/* Another board on this link now: the one before is
		 * unlinked. */
		log_notice("%s: %s answers here now, not %s", l->spec,
		    dev->name, l->dev->name);
		device_link_lost(l, now, "another board answered on its link");
	}
	if (dev->link != l) {
		device_event(dev, now, "link-up", 1, l->spec);
		dev->gap_check = true;
	}
	dev->link = l;
	l->dev = dev;
	l->hello_asked = 0;
	l->backoff_ms = 0;
	/* The row is written once; a hello again only updates when and where
	 * the device was seen, with the next commit. */
	if (dev->id > 0)
		store_seen(d->store, dev->id, 0, now, l->spec);
	else
		dev->id = store_device(d->store, dev->key, dev->name, l->spec,
		    now);
	if (dev->id < 0) {
		log_warnx("%s: %s: cannot record the device: %s", l->spec,
		    dev->name, store_stats(d->store)->last_error);
		return;
	}
	if (!dev->have_boot || dev->hello.boot_id != h->boot_id) {
		new_boot = true;
		settle_clock(dev, now);
		account_close(dev, now, "the board restarted");
		dev->have_boot = false;
		memset(&dev->agent, 0, sizeof(dev->agent));
		offset = (int64_t)now - (int64_t)h->uptime_us;
		dev->boot = store_boot(d->store, dev->id, h, (uint64_t)offset,
		    now);
		if (dev->boot < 0) {
			log_warnx("%s: %s: cannot record the boot: %s",
			    l->spec, dev->name,
			    store_stats(d->store)->last_error);
			return;
		}
		dev->have_boot = true;
		dev->hello = *h;
		dev->ncols = 0;
		dev->last_t = 0;
		dev->nanchor = 0;
		memset(dev->counter_id, 0, sizeof(dev->counter_id));
		account_load(dev);
		if (load_anchors(dev)) {
			log_notice("%s: %s: boot %016" PRIx64 " again",
			    l->spec, dev->name, h->boot_id);
		} else {
			char detail[160];

			/* Tentative until the clock settles. */
			anchor_push(dev, 0, offset);
			dev->settling = true;
			dev->settle_est = offset;
			dev->settle_until = now + DEV_SETTLE_US;
			dev->npending = 0;
			snprintf(detail, sizeof(detail), "boot %016" PRIx64
			    ", agent %s, protocol %u, layout %u", h->boot_id,
			    h->agent_version, h->proto_version,
			    h->layout_version);
			device_event(dev, now, "boot", 1, detail);
			log_notice("%s: %s: new boot %016" PRIx64 ", agent %s, "
			    "%u Hz, %u counters", l->spec, dev->name,
			    h->boot_id, h->agent_version, h->rate_hz,
			    h->counters_used);
		}
		dev->min_est_us = INT64_MAX;
		dev->est_window_end = now + DRIFT_WINDOW_US;
	} else if (dev->settling &&
	    (int64_t)now - (int64_t)h->uptime_us < dev->settle_est) {
		dev->settle_est = (int64_t)now - (int64_t)h->uptime_us;
	}
	dev->hello = *h;
	dev->state = h->core1_state;
	dev->generation = h->generation;
	/* The newest snapshot's time, read with no lock held. */
	pthread_mutex_lock(&d->live->mu);
	{
		struct live_device *ld = device_live(dev);

		need_snapshot_t = ld != NULL && ld->last_snapshot_t == 0;
	}
	pthread_mutex_unlock(&d->live->mu);
	snapshot_t = need_snapshot_t ? store_last_snapshot(d->store, dev->id) :
	    0;
	pthread_mutex_lock(&d->live->mu);
	{
		struct live_device *ld = device_live(dev);

		if (ld != NULL && ld->last_snapshot_t == 0)
			ld->last_snapshot_t = (uint64_t)snapshot_t;
		if (ld != NULL) {
			ld->connected = true;
			snprintf(ld->link, sizeof(ld->link), "%s", l->spec);
			ld->boot_id = h->boot_id;
			snprintf(ld->agent_version, sizeof(ld->agent_version),
			    "%s", h->agent_version);
			ld->rate_hz = h->rate_hz;
			ld->region_base = h->region_base;
			ld->region_size = h->region_size;
			ld->state = h->core1_state;
			ld->generation = h->generation;
		}
	}
	pthread_mutex_unlock(&d->live->mu);
	update_hello(dev, new_boot, now);
}

/* Data resumes after the link or the daemon was away: say how long. */
static void
check_gap(struct device *dev, int64_t t, uint64_t now)
{
	int64_t last = dev->newest_t;
	int64_t interval = 1000000 / (dev->hello.rate_hz ? dev->hello.rate_hz :
	    1);
	char detail[160];

	dev->gap_check = false;
	if (last == 0 || t - last <= 2 * interval)
		return;
	snprintf(detail, sizeof(detail), "no samples for %.3f s (link or "
	    "daemon down)", (double)(t - last) / 1e6);
	store_event(dev->d->store, dev->id, dev->boot, now, "gap",
	    (uint64_t)((t - last) / interval - 1), detail);
	log_notice("%s: %s", dev->name, detail);
}

/* The counters row of column i: the one registered last when the
 * descriptor is the same (a board that restarts keeps its counters). */
static int64_t
counter_row(struct device *dev, uint32_t i, const struct ac_counter_info *c,
    uint64_t now)
{
	struct ac_counter_info *r = &dev->reg[i];

	if (dev->reg_id[i] > 0 && r->kind == c->kind && r->flags == c->flags &&
	    strcmp(r->name, c->name) == 0 && strcmp(r->unit, c->unit) == 0)
		return dev->reg_id[i];
	dev->reg_id[i] = store_counter(dev->d->store, dev->id, i, c, now);
	*r = *c;
	return dev->reg_id[i];
}

static void
on_desc(void *arg, struct session *s)
{
	struct link *l = arg;
	struct device *dev = l->dev;
	uint64_t now = now_wall_us();

	if (dev == NULL || !dev->have_boot)
		return;
	dev->counters_pending = false;
	for (uint32_t i = 0; i < s->ndesc; i++) {
		dev->is_signed[i] = (s->ctr[i].flags & AC_FLAG_SIGNED) != 0;
		if (s->ctr[i].kind == AC_KIND_UNUSED) {
			dev->counter_id[i] = 0;
			continue;
		}
		dev->counter_id[i] = counter_row(dev, i, &s->ctr[i], now);
		if (dev->counter_id[i] < 0) {
			dev->counter_id[i] = 0;
			dev->counters_pending = true;
		}
	}
	dev->ncols = s->ndesc;
	if (dev->newest_t == 0 && dev->ncols > 0 && dev->counter_id[0] > 0)
		dev->newest_t = store_last_sample(l->d->store,
		    dev->counter_id[0]);
	pthread_mutex_lock(&l->d->live->mu);
	{
		struct live_device *ld = device_live(dev);

		for (uint32_t i = 0; ld != NULL && i < s->ndesc; i++) {
			struct live_counter *c = &ld->c[i];

			memset(c, 0, sizeof(*c));
			snprintf(c->name, sizeof(c->name), "%s", s->ctr[i].name);
			snprintf(c->unit, sizeof(c->unit), "%s", s->ctr[i].unit);
			c->kind = s->ctr[i].kind;
			c->flags = s->ctr[i].flags;
			c->id = dev->counter_id[i];
		}
		if (ld != NULL)
			ld->ncols = s->ndesc;
	}
	pthread_mutex_unlock(&l->d->live->mu);
	log_info("%s: %s: %u counters", l->spec, dev->name, s->ndesc);
}

/*
 * A new anchor never maps this sample at or before the newest wall time
 * stored: wall times keep the order of device times, and every stored
 * time is its device time plus the anchor in force (the clock table).
 */
static int64_t
anchor_floor(const struct device *dev, uint64_t device_us, int64_t offset)
{
	if (dev->last_t != 0 && (int64_t)device_us + offset <= dev->last_t)
		return dev->last_t + 1 - (int64_t)device_us;
	return offset;
}

static void
track_clock(struct device *dev, uint64_t device_us, uint64_t now)
{
	int64_t est = (int64_t)now - (int64_t)device_us, lower;

	if (est < dev->min_est_us)
		dev->min_est_us = est;
	if (est < dev->offset_us - FUTURE_MAX_US &&
	    (lower = anchor_floor(dev, device_us, est)) < dev->offset_us) {
		/* A sample from the future: the anchor is late. */
		set_anchor(dev, device_us, lower, now, "sample ahead of wall "
		    "time");
		dev->min_est_us = INT64_MAX;
		dev->est_window_end = now + DRIFT_WINDOW_US;
	} else if (now >= dev->est_window_end) {
		if (dev->min_est_us != INT64_MAX &&
		    dev->min_est_us - dev->offset_us > DRIFT_MAX_US)
			set_anchor(dev, device_us, dev->min_est_us, now,
			    "drift");
		dev->min_est_us = INT64_MAX;
		dev->est_window_end = now + DRIFT_WINDOW_US;
	}
}

/* Live values and rates; the stream gets the latest values at most every
 * LIVE_DISPLAY_US per device (display rate; storage has them all). */
static void
live_sample(struct device *dev, uint64_t t, const uint32_t *vals, uint32_t n,
    uint64_t now)
{
	struct live *lv = dev->d->live;
	struct live_device *ld;
	json_object *o, *arr;

	pthread_mutex_lock(&lv->mu);
	if ((ld = device_live(dev)) == NULL || ld->ncols != n) {
		pthread_mutex_unlock(&lv->mu);
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct live_counter *c = &ld->c[i];

		c->value = (c->flags & AC_FLAG_SIGNED) ? (int32_t)vals[i] :
		    (int64_t)vals[i];
		if (c->kind != AC_KIND_COUNTER)
			continue;	/* a gauge has no rate */
		c->total = c->have_raw ? c->total + (uint32_t)(vals[i] -
		    c->last_raw) : vals[i];
		c->last_raw = vals[i];
		c->have_raw = true;
		if (c->rate_t == 0) {
			c->rate_t = t;
			c->rate_base = (int64_t)vals[i];
		} else if (t - c->rate_t >= 1000000) {
			/* Counters wrap at 32 bits: the change is modular. */
			c->rate = (double)(uint32_t)(vals[i] -
			    (uint32_t)c->rate_base) * 1e6 /
			    (double)(t - c->rate_t);
			c->rate_t = t;
			c->rate_base = (int64_t)vals[i];
		}
	}
	ld->last_sample_t = t;
	ld->samples++;
	if (now < ld->next_display) {
		pthread_mutex_unlock(&lv->mu);
		return;
	}
	ld->next_display = now + LIVE_DISPLAY_US;
	pthread_mutex_unlock(&lv->mu);
	o = json_object_new_object();
	arr = json_object_new_array_ext((int)n);
	for (uint32_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_int64(
		    dev->is_signed[i] ? (int32_t)vals[i] : (int64_t)vals[i]));
	json_object_object_add(o, "values", arr);
	device_publish(dev, "sample", t, o);
}

static void
store_values(struct device *dev, int64_t t, const uint32_t *vals, uint32_t n)
{
	int64_t ctr[AC_MAX_COUNTERS], val[AC_MAX_COUNTERS];
	uint32_t k = 0;

	for (uint32_t i = 0; i < n && i < AC_MAX_COUNTERS; i++)
		if (dev->counter_id[i] > 0) {
			ctr[k] = dev->counter_id[i];
			val[k++] = dev->is_signed[i] ?
			    (int64_t)(int32_t)vals[i] : (int64_t)vals[i];
		}
	store_row(dev->d->store, (uint64_t)t, ctr, val, k, now_wall_us());
}

/* Stores a sample whose (boot, index) is new or fills a gap. */
/*
 * Whether a late sample's wall time t lies where a later anchor has
 * begun: after the anchor moved back (a sample from the future), device
 * times on both sides of the move map onto the same stretch of wall
 * time, and a sample that fills an older gap there could take the time
 * of one stored since.  Such a sample is not stored (it stays counted
 * lost), so no wall time ever holds two samples of a counter.
 */
static bool
late_time_taken(const struct device *dev, uint64_t device_us, int64_t t)
{
	uint32_t n = dev->nanchor < DEV_ANCHORS ? dev->nanchor : DEV_ANCHORS;

	for (uint32_t k = 0; k < n; k++) {
		const struct clock_anchor *a =
		    &dev->anchor[(dev->nanchor - 1 - k) % DEV_ANCHORS];

		if (a->from_us <= device_us)
			break;		/* this one and older: in force */
		if (t >= (int64_t)a->from_us + a->offset_us)
			return true;
	}
	return false;
}

static void
keep_sample(struct device *dev, enum idx_class cls, uint64_t index,
    uint64_t t_us, const uint32_t *vals, uint32_t n, uint64_t now)
{
	int64_t t;

	if (cls == IDX_NEW) {
		track_clock(dev, t_us, now);
		t = device_wall(dev, t_us);
		if (dev->gap_check)
			check_gap(dev, t, now);
		dev->last_t = t;
		dev->newest_t = t;
	} else {
		t = device_wall(dev, t_us);
		if (late_time_taken(dev, t_us, t)) {
			log_info("%s: a late sample (index %" PRIu64 ") not "
			    "stored: a later clock anchor maps its time to "
			    "another sample", dev->name, index);
			return;		/* lost: produced, not stored */
		}
	}
	store_values(dev, t, vals, n);
	idx_mark(dev, index);
	dev->stored++;
	if (dev->produced < dev->next_index)
		dev->produced = dev->next_index;
	dev->account_dirty = true;
	dev->d->samples_total++;
	dev->last_seen = now;
	if (cls == IDX_NEW) {
		memcpy(dev->vals, vals, n * sizeof(*vals));
		dev->samples++;
		live_sample(dev, (uint64_t)t, vals, n, now);
	}
}

static void
pending_free(struct device *dev)
{
	free(dev->pending);
	free(dev->pending_vals);
	dev->pending = NULL;
	dev->pending_vals = NULL;
	dev->npending = dev->cappending = 0;
}

/*
 * The clock of a new boot is settled: its anchor is the least "arrival -
 * device time" seen (the HELLO that answered this host, and every sample
 * meanwhile), and the samples held until now are stored with it.
 */
static void
settle_clock(struct device *dev, uint64_t now)
{
	char detail[160];
	int64_t moved;

	if (!dev->settling)
		return;
	dev->settling = false;
	moved = dev->settle_est - dev->offset_us;
	dev->nanchor = 0;
	anchor_push(dev, 0, dev->settle_est);
	(void)store_clock(dev->d->store, dev->boot, 0, dev->settle_est);
	store_boot_started(dev->d->store, dev->boot, dev->settle_est);
	if (moved != 0) {
		snprintf(detail, sizeof(detail), "clock settled %+" PRId64
		    " us from the first HELLO's (a backlog of %u samples)",
		    moved, dev->npending);
		device_event(dev, now, "clock", 1, detail);
	}
	for (uint32_t i = 0; i < dev->npending; i++) {
		const struct pending_sample *p = &dev->pending[i];

		if (idx_classify(dev, p->index) != IDX_NEW ||
		    p->ncols != dev->ncols)
			continue;	/* the counters changed meanwhile */
		keep_sample(dev, IDX_NEW, p->index, p->t_us,
		    dev->pending_vals + (size_t)i * AC_MAX_COUNTERS,
		    dev->ncols, now);
	}
	pending_free(dev);
}

/* While the clock settles, new samples wait (a bounded number). */
static bool
hold_sample(struct device *dev, uint64_t index, uint64_t t_us,
    const uint32_t *vals, uint32_t n, uint64_t now)
{
	int64_t est = (int64_t)now - (int64_t)t_us;

	if (est < dev->settle_est)
		dev->settle_est = est;
	if (dev->npending == dev->cappending) {
		uint32_t cap = dev->cappending ? 2 * dev->cappending : 64;
		struct pending_sample *p;
		uint32_t *v;

		if (cap > DEV_PENDING_MAX)
			return false;
		if ((p = realloc(dev->pending, cap * sizeof(*p))) == NULL)
			return false;
		dev->pending = p;
		if ((v = realloc(dev->pending_vals, (size_t)cap *
		    AC_MAX_COUNTERS * sizeof(*v))) == NULL)
			return false;
		dev->pending_vals = v;
		dev->cappending = cap;
	}
	dev->pending[dev->npending] = (struct pending_sample){ index, t_us, n };
	memcpy(dev->pending_vals + (size_t)dev->npending * AC_MAX_COUNTERS,
	    vals, n * sizeof(*vals));
	dev->npending++;
	return true;
}

/*
 * A sample is stored only when its (boot, index) is new and its counters
 * are known; its time is its device time through the anchor in force.
 * A late sample (it fills an earlier gap) takes the anchor of its own
 * time and leaves the live state alone.
 */
static void
on_sample(void *arg, uint64_t index, uint64_t t_us, const uint32_t *vals,
    uint32_t n)
{
	struct link *l = arg;
	struct device *dev = l->dev;
	enum idx_class cls;
	uint64_t now;

	if (dev == NULL || !dev->have_boot)
		return;
	if ((cls = idx_classify(dev, index)) == IDX_DUP) {
		dev->dup++;
		dev->account_dirty = true;
		return;
	}
	if (!l->s.desc_complete || dev->counters_pending || n != dev->ncols)
		return;		/* counted lost: produced, not stored */
	now = now_wall_us();
	if (dev->settling) {
		if (cls == IDX_NEW && hold_sample(dev, index, t_us, vals, n,
		    now))
			return;
		settle_clock(dev, now);
		cls = idx_classify(dev, index);
		if (cls == IDX_DUP)
			return;
	}
	keep_sample(dev, cls, index, t_us, vals, n, now);
}

static void
on_produced(void *arg, uint64_t end)
{
	struct link *l = arg;
	struct device *dev = l->dev;

	if (dev != NULL && dev->have_boot && end > dev->produced) {
		dev->produced = end;
		dev->account_dirty = true;
	}
}

static void
on_duplicates(void *arg, uint64_t n)
{
	struct link *l = arg;
	struct device *dev = l->dev;

	if (dev != NULL && dev->have_boot) {
		dev->dup += n;
		dev->account_dirty = true;
	}
}

static uint32_t
on_ask(void *arg, uint8_t cmd, uint32_t arg0, uint32_t arg1)
{
	return link_cmd(arg, cmd, arg0, arg1);
}

static void
on_log(void *arg, const struct ac_msg_log *m)
{
	struct link *l = arg;
	struct device *dev = l->dev;
	uint64_t t;

	if (dev == NULL || !dev->have_boot)
		return;
	t = (uint64_t)device_wall(dev, m->t_us);
	store_log(l->d->store, dev->id, dev->boot, t, dev->generation, m);
	{
		static const char *const lv[] = { "?", "error", "warn", "info",
		    "debug" };
		json_object *o = json_object_new_object();

		json_object_object_add(o, "level", jv_string(
		    m->level <= 4 ? lv[m->level] : "?"));
		json_object_object_add(o, "text", jv_string(m->text));
		device_publish(dev, "log", t, o);
	}
	if (m->lost_before > 0)
		device_event(dev, t, "log-lost", m->lost_before,
		    "core-1 log records lost before this one");
}

static void
on_rtt(void *arg, const struct ac_msg_rtt *m)
{
	struct link *l = arg;

	if (l->dev != NULL)
		device_rtt(l->dev, m);
}

static void
on_state(void *arg, const struct ac_msg_state *m)
{
	struct link *l = arg;
	struct device *dev = l->dev;
	uint64_t t;

	if (dev == NULL || !dev->have_boot)
		return;
	t = (uint64_t)device_wall(dev, m->t_us);
	store_state(l->d->store, dev->id, dev->boot, t, m);
	dev->state = m->state;
	dev->generation = m->generation;
	dev->heartbeat = m->heartbeat;
	pthread_mutex_lock(&l->d->live->mu);
	{
		struct live_device *ld = device_live(dev);

		if (ld != NULL) {
			ld->state = m->state;
			ld->generation = m->generation;
		}
	}
	pthread_mutex_unlock(&l->d->live->mu);
	{
		json_object *o = json_object_new_object();

		json_object_object_add(o, "state", jv_string(
		    ac_state_name(m->state)));
		json_object_object_add(o, "prev", jv_string(
		    ac_state_name(m->prev)));
		json_object_object_add(o, "detail",
		    json_object_new_int64(m->detail));
		device_publish(dev, "state", t, o);
	}
	if (m->state == AC_STATE_PANICKED || m->state == AC_STATE_HUNG ||
	    m->state == AC_STATE_CORRUPT) {
		log_warnx("%s: %s: core 1 %s -> %s", l->spec, dev->name,
		    ac_state_name(m->prev), ac_state_name(m->state));
		/* Panics and hangs bring their own dump; a scribbled
		 * region is kept as a snapshot, as it is now. */
		if (m->state == AC_STATE_CORRUPT)
			l->next_snapshot = 0;
	} else
		log_info("%s: %s: core 1 %s -> %s", l->spec, dev->name,
		    ac_state_name(m->prev), ac_state_name(m->state));
}

/* Stores a crash not stored before, with its event and stream message. */
static void
record_crash(struct link *l, struct device *dev, int64_t boot, uint64_t t,
    const struct ac_msg_crash *m, const uint8_t image_hash[32],
    const char *note)
{
	char hash[65], detail[240];

	if (crash_known(l->d, dev->id, boot, m, (int64_t)t)) {
		log_debug("%s: %s: crash of run %u already stored", l->spec,
		    dev->name, m->generation);
		return;
	}
	hex_encode(hash, image_hash, 32);
	store_crash(l->d->store, dev->id, boot, t, m, hash);
	snprintf(detail, sizeof(detail), "%s:%u %s (pc 0x%08x)%s", m->file,
	    m->line, m->msg, m->pc, note);
	device_event(dev, t, "crash", 1, detail);
	log_warnx("%s: %s: core 1 crashed: %s", l->spec, dev->name, detail);
	/* Readers must find the crash the stream is about to announce. */
	(void)store_commit(l->d->store, now_wall_us());
	{
		json_object *o = json_object_new_object();

		json_object_object_add(o, "reason",
		    json_object_new_int64(m->reason));
		json_object_object_add(o, "message", jv_string(
		    m->msg));
		json_object_object_add(o, "file", jv_string(
		    m->file));
		json_object_object_add(o, "line", json_object_new_int64(m->line));
		json_object_object_add(o, "pc", json_object_new_int64(m->pc));
		device_publish(dev, "crash", t, o);
	}
}

static void
on_crash(void *arg, const struct ac_msg_crash *m)
{
	struct link *l = arg;
	struct device *dev = l->dev;

	if (dev == NULL || !dev->have_boot)
		return;
	record_crash(l, dev, dev->boot, (uint64_t)device_wall(dev, m->t_us),
	    m, dev->hello.image_hash, "");
}

/*
 * The boot a dump's crash happened in: this one, or one before a reset
 * (the crash waited in the board's crash store).  Its time maps through
 * that boot's clock when this daemon saw it, else it is the arrival time.
 */
static int64_t
dump_boot(struct link *l, struct device *dev,
    const struct ac_msg_dump_info *m, uint64_t *t, bool *t_known)
{
	struct ac_msg_hello h = dev->hello;
	int64_t boot, offset, first_seen;

	*t_known = true;
	if (m->boot_id == dev->hello.boot_id) {
		*t = (uint64_t)device_wall(dev, m->crash.t_us);
		return dev->boot;
	}
	h.boot_id = m->boot_id;
	memcpy(h.image_hash, m->image_hash, sizeof(h.image_hash));
	h.region_base = m->region_base;
	h.region_size = m->total;
	h.rate_hz = 0;
	boot = store_boot(l->d->store, dev->id, &h, 0, now_wall_us());
	if (boot > 0 && last_anchor(l->d, boot, &offset)) {
		*t = (uint64_t)((int64_t)m->crash.t_us + offset);
		return boot;
	}
	/* Unknown clock: the time this daemon first heard of that boot,
	 * which the boot row keeps, so offers after a daemon restart map to
	 * the same time and find the same crash. */
	*t_known = false;
	first_seen = boot > 0 ? store_boot_first_seen(l->d->store, boot) : 0;
	*t = first_seen > 0 ? (uint64_t)first_seen : now_wall_us();
	return boot;
}

/* Whether this dump is already stored (its AC_DUMP_DONE was lost). */
static bool
dump_known(struct daemon *d, int64_t device, const uint8_t sha[32])
{
	char hex[65];

	hex_encode(hex, sha, 32);
	return store_dump_known(d->store, device, hex);
}

/*
 * Partial dumps on disk, STATE_DIR/partial-dumps/DEVICE-BOOT-ID.part: a
 * header ("ACDP" "0001", the DUMP_INFO payload's length, u32 LE, and the
 * payload) and the bytes received so far, appended in order, so a dump
 * cut off by a daemon restart resumes where it stopped.  Removed when the
 * dump is stored or dropped.  Best effort: a write that fails only costs
 * the next run a resend.
 */
#define PART_MAGIC	"ACDP0001"
#define PART_HDR	12

static void
part_path(const struct device *dev, const struct ac_msg_dump_info *m,
    char *out, size_t n)
{
	snprintf(out, n, "%s/partial-dumps/%s-%016" PRIx64 "-%08x.part",
	    dev->d->cfg.state_dir, dev->key, m->boot_id, m->dump_id);
}

static void
part_close(struct device *dev)
{
	if (dev->part_fd >= 0)
		close(dev->part_fd);
	dev->part_fd = -1;
}

static void
part_drop(struct device *dev, const struct ac_msg_dump_info *m)
{
	char path[PATH_MAX];

	part_close(dev);
	part_path(dev, m, path, sizeof(path));
	(void)unlink(path);
}

/* Partial dumps untouched this long belong to boards that never came
 * back to finish them; removed at start. */
#define PART_MAX_AGE	(30 * 24 * 3600)

void
device_prune_partial_dumps(struct daemon *d)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *e;
	struct stat st;
	time_t now = time(NULL);
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/partial-dumps", d->cfg.state_dir);
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((e = readdir(dp)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n < 6 || strcmp(e->d_name + n - 5, ".part") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    now - st.st_mtime > PART_MAX_AGE && unlink(path) == 0)
			log_notice("removed %s: a crash dump never finished "
			    "in 30 days", path);
	}
	closedir(dp);
}

/* (Re)writes the file: header and the bytes here so far. */
static void
part_start(struct device *dev)
{
	const struct dumprx *x = &dev->dump;
	uint8_t hdr[PART_HDR + AC_WIRE_MAX_PAYLOAD];
	char path[PATH_MAX];
	struct ac_wr w;

	part_close(dev);
	snprintf(path, sizeof(path), "%s/partial-dumps", dev->d->cfg.state_dir);
	if (mkdir(path, 0750) < 0 && errno != EEXIST)
		return;
	ac_wr_init(&w, hdr + PART_HDR, AC_WIRE_MAX_PAYLOAD);
	if (ac_dump_info_encode(&w, &x->info) < 0)
		return;
	memcpy(hdr, PART_MAGIC, 8);
	le32_put(hdr + 8, (uint32_t)w.len);
	part_path(dev, &x->info, path, sizeof(path));
	if ((dev->part_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0640)) < 0)
		return;
	if (write(dev->part_fd, hdr, PART_HDR + w.len) !=
	    (ssize_t)(PART_HDR + w.len) || (x->got > 0 &&
	    write(dev->part_fd, x->buf, x->got) != (ssize_t)x->got))
		part_drop(dev, &x->info);
}

static void
part_append(struct device *dev, const uint8_t *p, uint32_t n)
{
	if (dev->part_fd >= 0 && write(dev->part_fd, p, n) != (ssize_t)n)
		part_drop(dev, &dev->dump.info);
}

/* What an earlier run received of this dump, into dev->dump; true when
 * there was some. */
static bool
part_load(struct device *dev, const struct ac_msg_dump_info *m)
{
	struct ac_msg_dump_info info;
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	struct ac_rd r;
	struct stat st;
	uint32_t len;
	bool ok = false;
	int fd;

	part_path(dev, m, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	if (fstat(fd, &st) == 0 && st.st_size >= PART_HDR &&
	    st.st_size <= PART_HDR + AC_WIRE_MAX_PAYLOAD + (off_t)m->total &&
	    (buf = malloc((size_t)st.st_size)) != NULL &&
	    read(fd, buf, (size_t)st.st_size) == st.st_size &&
	    memcmp(buf, PART_MAGIC, 8) == 0) {
		len = le32_get(buf + 8);
		ac_rd_init(&r, buf + PART_HDR, len <= AC_WIRE_MAX_PAYLOAD &&
		    PART_HDR + len <= (size_t)st.st_size ? len : 0);
		ok = ac_dump_info_decode(&r, &info) == 0 &&
		    dumprx_same(&info, m) && dumprx_load(&dev->dump, m, buf +
		    PART_HDR + len, (uint32_t)(st.st_size - PART_HDR - len)) == 0;
	}
	free(buf);
	close(fd);
	if (!ok) {
		(void)unlink(path);	/* not this dump, or damaged */
		return false;
	}
	if ((dev->part_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
		part_start(dev);
	return true;
}

/* A verified dump: into gdbm, onto its crash row, then AC_DUMP_DONE. */
static void
dump_store(struct link *l, struct device *dev)
{
	struct dumprx *x = &dev->dump;
	uint8_t key[BLOB_KEY_LEN];
	char hex[BLOB_HEX_LEN], detail[200];
	uint64_t now = now_wall_us();
	int rc;

	rc = blobs_put(l->d->blobs, x->buf, x->info.total, key);
	if (rc < 0) {
		/* Not acknowledged: the agent keeps it and offers it again. */
		log_warn("%s: %s: crash dump not stored", l->spec, dev->name);
		device_event(dev, now, "crash-dump-failed", 1,
		    "the blob store refused it; the agent will offer it again");
		return;
	}
	blob_key_hex(key, hex);
	store_crash_dump(l->d->store, dev->id, dev->dump_boot, dev->dump_t,
	    &x->info.crash, hex, x->info.total);
	snprintf(detail, sizeof(detail), "%u bytes in %.3f s, sha256 %.16s, "
	    "%" PRIu64 " chunk CRC errors, %" PRIu64 " gaps, %" PRIu64
	    " resumes%s", x->info.total, (double)(now - dev->dump_started) /
	    1e6, hex, x->crc_errors, x->gaps, x->resumes, x->loaded ?
	    " (went on from bytes an earlier daemon run had)" : "");
	device_event(dev, now, "crash-dump", 1, detail);
	(void)store_commit(l->d->store, now);
	log_notice("%s: %s: crash dump: %s", l->spec, dev->name, detail);
	{
		json_object *o = json_object_new_object();

		json_object_object_add(o, "size",
		    json_object_new_int64(x->info.total));
		json_object_object_add(o, "sha256", jv_string(hex));
		json_object_object_add(o, "crash_t",
		    json_object_new_int64((int64_t)dev->dump_t));
		device_publish(dev, "crash-dump", now, o);
	}
	link_cmd(l, AC_CMD_DUMP_ACK, x->info.dump_id, AC_DUMP_DONE);
	part_drop(dev, &x->info);
	dumprx_reset(x);
}

static void
on_dump_info(void *arg, const struct ac_msg_dump_info *m)
{
	struct link *l = arg;
	struct device *dev = l->dev;
	uint64_t t;
	uint32_t ack;
	bool t_known;
	int64_t boot;
	int rc;

	if (dev == NULL || !dev->have_boot || dev->id <= 0)
		return;
	/* Stored already (its DONE was lost): so is its crash. */
	if (dump_known(l->d, dev->id, m->sha256)) {
		part_drop(dev, m);
		link_cmd(l, AC_CMD_DUMP_ACK, m->dump_id, AC_DUMP_DONE);
		return;
	}
	if ((boot = dump_boot(l, dev, m, &t, &t_known)) <= 0)
		return;
	/* Its CRASH may never have come (a reset came first). */
	record_crash(l, dev, boot, t, &m->crash, m->image_hash, t_known ? "" :
	    " [delivered after a board reset; time is arrival]");
	if (!dev->dump.active || !dumprx_same(&dev->dump.info, m)) {
		/* Another dump than the one here: the agent gave that one
		 * up.  Perhaps an earlier run of ours had part of this. */
		if (dev->dump.active)
			part_drop(dev, &dev->dump.info);
		dumprx_reset(&dev->dump);
		dev->dump_started = now_wall_us();
		if (part_load(dev, m))
			log_info("%s: %s: crash dump %u: %u of %u bytes from "
			    "before a restart", l->spec, dev->name, m->dump_id,
			    dev->dump.got, m->total);
	}
	if ((rc = dumprx_offer(&dev->dump, m, &ack)) < 0) {
		log_warn("%s: %s: crash dump of %u bytes", l->spec, dev->name,
		    m->total);
		return;
	}
	if (dev->part_fd < 0)
		part_start(dev);
	dev->dump_boot = boot;
	dev->dump_t = t;
	if (rc == DRX_COMPLETE)
		dump_store(l, dev);
	else
		link_cmd(l, AC_CMD_DUMP_ACK, m->dump_id, ack);
}

static void
on_dump_data(void *arg, const struct ac_msg_dump_data *m)
{
	struct link *l = arg;
	struct device *dev = l->dev;
	uint32_t ack;

	uint32_t before;
	enum dumprx_res rc;

	if (dev == NULL)
		return;
	before = dev->dump.got;
	rc = dumprx_data(&dev->dump, m, &ack);
	if (dev->dump.got == before + m->len && m->len > 0)
		part_append(dev, m->data, m->len);
	else if (dev->dump.got < before)	/* starting over */
		part_start(dev);
	switch (rc) {
	case DRX_NONE:
		break;
	case DRX_ACK:
		link_cmd(l, AC_CMD_DUMP_ACK, m->dump_id, ack);
		break;
	case DRX_COMPLETE:
		dump_store(l, dev);
		break;
	case DRX_FAILED:
		device_event(dev, now_wall_us(), "crash-dump-failed", 1,
		    "its SHA-256 did not match, three times; dropped");
		log_warnx("%s: %s: crash dump dropped: SHA-256 mismatch",
		    l->spec, dev->name);
		link_cmd(l, AC_CMD_DUMP_ACK, m->dump_id, AC_DUMP_DONE);
		part_drop(dev, &dev->dump.info);
		dumprx_reset(&dev->dump);
		break;
	}
}

static void
on_mem(void *arg, const struct ac_msg_mem *m)
{
	struct link *l = arg;
	struct device *dev = l->dev;
	struct mem_xfer *x = &l->xfer;
	uint8_t key[BLOB_KEY_LEN];
	char hex[BLOB_HEX_LEN];
	int rc;

	if (dev == NULL || !dev->have_boot)
		return;
	if (m->kind == AC_MEM_READ) {
		if (l->read_id != 0 && m->req_id == l->read_req &&
		    bridge_read_chunk(l->d->bridge, l->read_id, m, (uint64_t)
		    device_wall(dev, m->t_us)) != 0)
			l->read_id = 0;
		return;
	}
	if (m->offset == m->start && (!x->active || m->req_id != x->req_id)) {
		/* A transfer begins. */
		free(x->buf);
		*x = (struct mem_xfer){ true, m->req_id, m->kind, m->start,
		    m->total, 0, m->t_us, malloc(m->total ? m->total : 1) };
		if (x->buf == NULL)
			x->active = false;
	}
	if (!x->active || m->req_id != x->req_id)
		return;
	switch (xfer_place(&(struct xfer_span){ x->start, x->total, x->got },
	    m->start, m->total, m->offset, m->len)) {
	case XFER_NEXT:
		break;
	case XFER_DUP:
		return;
	default:
		device_event(dev, now_wall_us(), "snapshot-incomplete", 1,
		    "a memory chunk was lost or does not belong to the "
		    "transfer; transfer abandoned");
		x->active = false;
		free(x->buf);
		x->buf = NULL;
		return;
	}
	memcpy(x->buf + x->got, m->data, m->len);
	x->got += m->len;
	if (x->got < x->total)
		return;
	x->active = false;
	rc = blobs_put(l->d->blobs, x->buf, x->total, key);
	if (rc < 0) {
		log_warn("%s: %s: snapshot not stored", l->spec, dev->name);
		device_event(dev, now_wall_us(), "snapshot-failed", 1,
		    "the blob store refused it");
	} else {
		blob_key_hex(key, hex);
		store_snapshot(l->d->store, dev->id, dev->boot,
		    (uint64_t)device_wall(dev, x->t_us),
		    dev->hello.region_base + x->start, x->total, hex);
		/* Readers find it once the stream or the live state says so. */
		(void)store_commit(l->d->store, now_wall_us());
		pthread_mutex_lock(&l->d->live->mu);
		{
			struct live_device *ld = device_live(dev);

			if (ld != NULL)
				ld->last_snapshot_t =
				    (uint64_t)device_wall(dev, x->t_us);
		}
		pthread_mutex_unlock(&l->d->live->mu);
		log_info("%s: %s: snapshot of %u bytes, %.16s", l->spec,
		    dev->name, x->total, hex);
	}
	free(x->buf);
	x->buf = NULL;
}

static void
on_reply(void *arg, const struct ac_msg_reply *m)
{
	struct link *l = arg;

	/* The answer to this host's HELLO follows any backlog on the link;
	 * the agent's own queue may still hold some: a little longer. */
	if (m->cmd == AC_CMD_HELLO && l->dev != NULL && l->dev->settling) {
		uint64_t until = now_wall_us() + DEV_SETTLE_AFTER_US;

		if (until < l->dev->settle_until)
			l->dev->settle_until = until;
	}

	if (m->status != AC_ST_OK)
		log_info("%s: %s: %s", l->spec, ac_cmd_name(m->cmd),
		    ac_status_name(m->status));
	if (m->cmd == AC_CMD_SET_RATE && m->status == AC_ST_OK &&
	    l->dev != NULL)
		l->dev->hello.rate_hz = (uint32_t)m->value;
	if (m->cmd == AC_CMD_SET_RESTART && m->status == AC_ST_OK &&
	    l->dev != NULL) {
		char what[64];
		unsigned pol = (unsigned)(m->value & 0xff);

		if (pol == AC_RESTART_LIMIT)
			snprintf(what, sizeof(what), "at most %u an hour",
			    (unsigned)(m->value >> 8 & 0xff));
		else
			snprintf(what, sizeof(what), "%s", pol ==
			    AC_RESTART_ALWAYS ? "always" : "never");
		device_event(l->dev, now_wall_us(), "restart-policy", 1, what);
		log_info("%s: %s: core 1 restarts after a crash: %s", l->spec,
		    l->dev->name, what);
	}
	if (m->cmd == AC_CMD_READ_MEM && l->read_id != 0 &&
	    m->req_id == l->read_req && m->status != AC_ST_OK) {
		/* busy: the agent is sending a snapshot; out of range: the
		 * region is smaller than the API thought. */
		bridge_read_done(l->d->bridge, l->read_id, m->status == AC_ST_BUSY ?
		    409 : 400);
		l->read_id = 0;
	}
}

static void
loss_event(struct device *dev, uint64_t now, const char *kind,
    uint64_t before, uint64_t after, const char *what)
{
	if (after > before)
		device_event(dev, now, kind, after - before, what);
}

static void
on_stats(void *arg, const struct ac_msg_stats *m)
{
	struct link *l = arg;
	struct device *dev = l->dev;
	uint64_t now = now_wall_us();

	if (dev == NULL || !dev->have_boot)
		return;
	/* The agent's own losses, as deltas since its last report. */
	if (dev->agent.t_us != 0 && m->samples >= dev->agent.samples) {
		loss_event(dev, now, "agent-samples-dropped",
		    dev->agent.samples_dropped, m->samples_dropped,
		    "the agent's transmit queue was full");
		loss_event(dev, now, "agent-log-lost", dev->agent.log_lost,
		    m->log_lost, "core-1 log records lost in the agent");
	}
	dev->agent = *m;
	dev->agent_hb = m->heartbeat;
	store_link_stats(l->d->store, dev->id, dev->boot,
	    (uint64_t)device_wall(dev, m->t_us), m);
}

/*
 * Link trouble (CRC and framing errors, gaps, replays, requests) is told
 * once a second per kind, with a count: a wrong baud rate makes hundreds
 * a second.  Version errors go at once.
 */
static void
on_event(void *arg, enum session_event e, uint64_t n, const char *why)
{
	struct link *l = arg;
	struct link_trouble *tr;

	switch (e) {
	case SE_NEW_BOOT:
	case SE_SAMPLES_LOST:	/* the boot's accounting tells these */
		return;
	case SE_LATE:
		/* Reordered: the gap it was counted in, if not told yet,
		 * was no loss. */
		tr = &l->trouble[SE_SEQ_GAP];
		tr->count -= tr->count >= n ? n : tr->count;
		return;
	case SE_VERSION:
	case SE_ASKED:
		/* Told at once, each with its reason (HELLO is asked for at
		 * most five times a second). */
		if (e == SE_VERSION)
			log_warnx("%s: %s", l->spec, why);
		else
			log_info("%s: %s", l->spec, why);
		if (l->dev != NULL)
			device_event(l->dev, now_wall_us(), session_event_name(e), n,
			    why);
		else
			store_event(l->d->store, 0, 0, now_wall_us(),
			    session_event_name(e), n, why);
		return;
	case SE_SEQ_GAP:
		log_info("%s: %s", l->spec, why);
		break;
	default:
		log_debug("%s: %s: %s", l->spec, session_event_name(e), why);
		break;
	}
	if ((unsigned)e >= SE_COUNT)
		return;
	tr = &l->trouble[e];
	if (tr->count == 0)
		tr->since = now_wall_us();
	tr->count += n;
	snprintf(tr->detail, sizeof(tr->detail), "%s", why);
}

/*
 * Tells the trouble counted since the last time.  A sequence gap waits
 * until it is REORDER_GRACE_US old (unless all): a frame that arrives
 * late within that time cancels it (on_event, SE_LATE), so frames that
 * were only reordered are not told as lost, however the once-a-second
 * tick falls between them.
 */
#define REORDER_GRACE_US	1000000u

static void
trouble_tell(struct link *l, uint64_t now, bool all)
{
	char detail[200];

	for (unsigned e = 0; e < SE_COUNT; e++) {
		struct link_trouble *tr = &l->trouble[e];

		if (tr->count == 0 || (!all && e == SE_SEQ_GAP &&
		    now < tr->since + REORDER_GRACE_US))
			continue;
		snprintf(detail, sizeof(detail), "%s%s", tr->detail,
		    tr->count > 1 ? " (and more like it)" : "");
		if (l->dev != NULL)
			device_event(l->dev, now, session_event_name(e), tr->count,
			    detail);
		else
			store_event(l->d->store, 0, 0, now,
			    session_event_name(e), tr->count, detail);
		tr->count = 0;
	}
}

static void
on_image_status(void *arg, const struct ac_msg_image_status *m)
{
	update_status(arg, m);
}

const struct session_cb device_session_cb = {
	.hello = on_hello, .desc = on_desc, .sample = on_sample,
	.log = on_log, .state = on_state, .crash = on_crash, .mem = on_mem,
	.dump_info = on_dump_info, .dump_data = on_dump_data,
	.reply = on_reply, .stats = on_stats, .event = on_event,
	.image_status = on_image_status, .rtt = on_rtt,
	.produced = on_produced, .duplicates = on_duplicates, .ask = on_ask,
};

void
device_link_lost(struct link *l, uint64_t now, const char *why)
{
	struct device *dev = l->dev;

	trouble_tell(l, now, true);
	if (dev == NULL)
		return;
	settle_clock(dev, now);
	device_rtt_flush(dev, now, 0);
	account_close(dev, now, "not received before the link went down");
	device_event(dev, now, "link-down", 1, why);
	dev->link = NULL;
	l->dev = NULL;
	pthread_mutex_lock(&l->d->live->mu);
	{
		struct live_device *ld = device_live(dev);

		if (ld != NULL)
			ld->connected = false;
	}
	pthread_mutex_unlock(&l->d->live->mu);
}

/* The link's health as the API shows it, with the live mutex held. */
static void
health_update(struct live_device *ld, const struct link *l,
    const struct device *dev)
{
	const struct session_stats *st = &l->s.st;

	ld->health.rx_bytes = l->rx_bytes;
	ld->health.frames = st->frames;
	ld->health.crc_errors = st->crc_errors;
	ld->health.framing_errors = st->framing_errors;
	ld->health.seq_gaps = st->seq_gaps;
	ld->health.frames_lost = st->frames_lost;
	ld->health.samples_lost = dev->produced - dev->stored;
	ld->health.malformed = st->malformed;
	ld->health.samples_produced = dev->produced;
	ld->health.samples_stored = dev->stored;
	ld->health.samples_dup = dev->dup;
	ld->health.frames_dup = st->frames_dup;
	ld->health.frames_stale = st->frames_stale;
	ld->health.frames_late = st->frames_late;
	ld->health.samples_recovered = st->samples_recovered;
	ld->health.samples_unattributed = st->samples_unattributed;
	ld->health.asked_hello = st->asked_hello;
	ld->health.asked_ref = st->asked_ref;
}

void
device_tick(struct daemon *d, struct link *l, uint64_t now)
{
	struct device *dev = l->dev;

	if (l->fd < 0 || l->connecting)
		return;
	session_tick(&l->s, now);
	if (dev != NULL && dev->settling && now >= dev->settle_until)
		settle_clock(dev, now);
	if (now >= l->next_trouble) {
		trouble_tell(l, now, false);
		l->next_trouble = now + 1000000;
		if (dev != NULL && !l->s.ref_pending && !dev->settling)
			account_tell(dev, now, "damaged or missing frames");
	}
	if (l->hello_asked != 0 && now - l->hello_asked > 1000000) {
		link_cmd(l, AC_CMD_HELLO, 0, 0);
		l->hello_asked = now;
	}
	if (dev == NULL)
		return;
	if (d->cfg.rate_hz != 0 && dev->hello.rate_hz != d->cfg.rate_hz &&
	    !l->rate_asked) {
		link_cmd(l, AC_CMD_SET_RATE, d->cfg.rate_hz, 0);
		l->rate_asked = true;
	}
	if (d->cfg.restart_policy >= 0 && !l->policy_asked) {
		link_cmd(l, AC_CMD_SET_RESTART, (uint32_t)d->cfg.restart_policy,
		    d->cfg.restart_max);
		l->policy_asked = true;
	}
	if (d->cfg.snapshot_us != 0 && now >= l->next_snapshot &&
	    !l->xfer.active) {
		link_cmd(l, AC_CMD_SNAPSHOT, 0, 0);
		l->next_snapshot = now + d->cfg.snapshot_us;
	}
	if (dev->counters_pending)
		on_desc(l, &l->s);
	update_tick(l, now);
	device_rtt_tick(dev, now);
	if (now >= dev->next_seen_update && dev->id > 0) {
		struct live_device *ld;

		store_seen(d->store, dev->id, dev->boot, now, l->spec);
		dev->next_seen_update = now + 1000000;
		pthread_mutex_lock(&d->live->mu);
		if ((ld = device_live(dev)) != NULL) {
			health_update(ld, l, dev);
			ld->health.agent = dev->agent;
			/* A restarted core 1 counts again from 0. */
			if (ld->hb_t != 0 && dev->agent_hb >= ld->hb_base)
				ld->heartbeat_rate = (double)(dev->agent_hb -
				    ld->hb_base) * 1e6 / (double)(now - ld->hb_t);
			else if (ld->hb_t != 0)
				ld->heartbeat_rate = 0;
			ld->hb_base = dev->agent_hb;
			ld->hb_t = now;
			ld->heartbeat = dev->agent_hb;
			ld->rate_hz = dev->hello.rate_hz;
		}
		pthread_mutex_unlock(&d->live->mu);
	}
}
