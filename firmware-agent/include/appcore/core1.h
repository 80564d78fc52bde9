/*
 * The core-1 side of the contract: how bare-metal code on core 1 publishes
 * counters, heartbeat, state, logs and a panic record.  Header only, no
 * allocation, no locks, nothing that waits for core 0.
 *
 * Every function here must be called from one execution context on core 1
 * (the main loop); the region has a single writer.  A Rust no_std crate that
 * mirrors these functions must keep the same store order.
 */
#ifndef APPCORE_CORE1_H
#define APPCORE_CORE1_H

#include "region.h"

static inline void
ac__put_bytes(char *dst, size_t cap, const char *src, size_t *lenp)
{
	size_t i = 0;

	if (src != NULL)
		for (; i < cap && src[i] != '\0'; i++)
			AC_STORE(&dst[i], src[i]);
	if (lenp != NULL)
		*lenp = i;
	for (size_t j = i; j < cap; j++)
		AC_STORE(&dst[j], (char)0);
}

/*
 * Lays out a fresh region at `base` and returns it, or NULL when `size` is
 * too small or `base` is not 4-byte aligned.  The generation survives a
 * core-1 restart so the agent can tell runs apart; magic is stored last.
 */
static inline struct ac_region *
ac_core1_init(void *base, uint32_t size)
{
	struct ac_region *r = (struct ac_region *)base;
	uint32_t gen = 1;

	if (base == NULL || ((uintptr_t)base & 3u) != 0 ||
	    size < AC_REGION_MIN_SIZE)
		return NULL;
	if (AC_LOAD(&r->hdr.magic) == AC_REGION_MAGIC)
		gen = AC_LOAD(&r->hdr.generation) + 1;
	AC_STORE(&r->hdr.magic, 0u);
	AC_FENCE_REL();
	for (uint32_t i = 1; i < AC_REGION_MIN_SIZE / 4; i++)
		AC_STORE(&((uint32_t *)base)[i], 0u);
	AC_STORE(&r->hdr.layout_version, (uint16_t)AC_LAYOUT_VERSION);
	AC_STORE(&r->hdr.header_size, (uint16_t)sizeof(struct ac_header));
	AC_STORE(&r->hdr.region_size, size);
	AC_STORE(&r->hdr.generation, gen);
	AC_STORE(&r->hdr.core1_off, (uint32_t)offsetof(struct ac_region, core1));
	AC_STORE(&r->hdr.counters_off,
	    (uint32_t)offsetof(struct ac_region, counters));
	AC_STORE(&r->hdr.desc_off, (uint32_t)offsetof(struct ac_region, desc));
	AC_STORE(&r->hdr.panic_off, (uint32_t)offsetof(struct ac_region, panic));
	AC_STORE(&r->hdr.log_off, (uint32_t)offsetof(struct ac_region, log));
	AC_STORE(&r->hdr.user_off, AC_REGION_MIN_SIZE);
	AC_STORE(&r->hdr.user_size, size - AC_REGION_MIN_SIZE);
	AC_STORE(&r->hdr.max_counters, (uint16_t)AC_MAX_COUNTERS);
	AC_STORE(&r->hdr.log_slots, (uint16_t)AC_LOG_SLOTS);
	AC_STORE(&r->core1.state, (uint32_t)AC_STATE_BOOTING);
	AC_FENCE_REL();
	AC_STORE(&r->hdr.magic, AC_REGION_MAGIC);
	return r;
}

/* Returns 0, or -1 when idx, kind, flags or name is out of range.
 * flags: AC_FLAG_SIGNED for a gauge that goes below zero. */
static inline int
ac_counter_register(struct ac_region *r, uint32_t idx, const char *name,
    const char *unit, enum ac_counter_kind kind, uint8_t flags)
{
	struct ac_counter_desc *d;
	uint32_t seq;

	if (idx >= AC_MAX_COUNTERS || name == NULL || name[0] == '\0' ||
	    (kind != AC_KIND_COUNTER && kind != AC_KIND_GAUGE) ||
	    (flags & ~AC_FLAGS_KNOWN) != 0)
		return -1;
	d = &r->desc[idx];
	seq = AC_LOAD(&r->core1.desc_seq);
	AC_STORE(&r->core1.desc_seq, seq + 1);
	AC_FENCE_REL();
	ac__put_bytes(d->name, AC_NAME_LEN - 1, name, NULL);
	AC_STORE(&d->name[AC_NAME_LEN - 1], (char)0);
	ac__put_bytes(d->unit, AC_UNIT_LEN - 1, unit, NULL);
	AC_STORE(&d->unit[AC_UNIT_LEN - 1], (char)0);
	AC_STORE(&d->kind, (uint8_t)kind);
	AC_STORE(&d->flags, flags);
	AC_STORE(&r->counters[idx], 0u);
	if (idx + 1 > AC_LOAD(&r->core1.counters_used))
		AC_STORE(&r->core1.counters_used, idx + 1);
	AC_FENCE_REL();
	AC_STORE(&r->core1.desc_seq, seq + 2);
	return 0;
}

/* Single writer, so load + store is an atomic add as far as readers see. */
static inline void
ac_counter_add(struct ac_region *r, uint32_t idx, uint32_t delta)
{
	if (idx < AC_MAX_COUNTERS)
		AC_STORE(&r->counters[idx], AC_LOAD(&r->counters[idx]) + delta);
}

static inline void
ac_counter_set(struct ac_region *r, uint32_t idx, uint32_t value)
{
	if (idx < AC_MAX_COUNTERS)
		AC_STORE(&r->counters[idx], value);
}

static inline void
ac_heartbeat(struct ac_region *r)
{
	AC_STORE(&r->core1.heartbeat, AC_LOAD(&r->core1.heartbeat) + 1);
}

/* Core 1 may only claim BOOTING and RUNNING; PANICKED comes from ac_panic. */
static inline void
ac_set_running(struct ac_region *r)
{
	AC_FENCE_REL();
	AC_STORE(&r->core1.state, (uint32_t)AC_STATE_RUNNING);
}

static inline void
ac_log(struct ac_region *r, enum ac_log_level level, uint32_t stamp,
    const char *text)
{
	uint32_t n = AC_LOAD(&r->core1.log_head);
	struct ac_log_slot *s = &r->log[n & (AC_LOG_SLOTS - 1)];
	size_t len;

	AC_STORE(&s->seq, 2 * n + 1);
	AC_FENCE_REL();
	AC_STORE(&s->stamp, stamp);
	AC_STORE(&s->level, (uint8_t)level);
	ac__put_bytes(s->text, AC_LOG_TEXT_LEN, text, &len);
	AC_STORE(&s->len, (uint8_t)len);
	AC_FENCE_REL();
	AC_STORE(&s->seq, 2 * n + 2);
	AC_STORE(&r->core1.log_head, n + 1);
}

struct ac_panic_info {
	enum ac_panic_reason reason;
	const char *file;
	uint32_t line;
	const char *msg;
	uint32_t pc, sp, ps, exccause, excvaddr, sar;
	const uint32_t *ar;	/* 16 words, or NULL */
	const uint32_t *bt;	/* bt_count words, or NULL */
	uint32_t bt_count;
};

/*
 * Publishes the panic record and sets state PANICKED.  The caller then stops
 * touching the region (spins, or waits for core 0 to reset it) so that the
 * agent captures what core 1 saw.
 */
static inline void
ac_panic_record(struct ac_region *r, const struct ac_panic_info *pi)
{
	struct ac_panic_record *p = &r->panic;
	uint32_t seq = AC_LOAD(&p->seq);
	uint32_t nbt = pi->bt != NULL ? pi->bt_count : 0;

	if (nbt > AC_BT_MAX)
		nbt = AC_BT_MAX;
	if (seq & 1u)
		seq++;
	AC_STORE(&p->seq, seq + 1);
	AC_FENCE_REL();
	AC_STORE(&p->reason, (uint32_t)pi->reason);
	AC_STORE(&p->pc, pi->pc);
	AC_STORE(&p->sp, pi->sp);
	AC_STORE(&p->ps, pi->ps);
	AC_STORE(&p->exccause, pi->exccause);
	AC_STORE(&p->excvaddr, pi->excvaddr);
	AC_STORE(&p->sar, pi->sar);
	AC_STORE(&p->line, pi->line);
	AC_STORE(&p->bt_count, nbt);
	for (uint32_t i = 0; i < 16; i++)
		AC_STORE(&p->ar[i], pi->ar != NULL ? pi->ar[i] : 0u);
	for (uint32_t i = 0; i < AC_BT_MAX; i++)
		AC_STORE(&p->bt[i], i < nbt ? pi->bt[i] : 0u);
	ac__put_bytes(p->file, AC_PANIC_FILE_LEN - 1, pi->file, NULL);
	AC_STORE(&p->file[AC_PANIC_FILE_LEN - 1], (char)0);
	ac__put_bytes(p->msg, AC_PANIC_MSG_LEN - 1, pi->msg, NULL);
	AC_STORE(&p->msg[AC_PANIC_MSG_LEN - 1], (char)0);
	AC_FENCE_REL();
	AC_STORE(&p->seq, seq + 2);
	AC_STORE(&r->core1.state, (uint32_t)AC_STATE_PANICKED);
}

#endif /* APPCORE_CORE1_H */
