/*
 * What agent.c and agent_image.c share inside the agent's portable core;
 * nothing outside firmware-agent/core includes this.
 */
#ifndef APPCORE_AGENT_INTERNAL_H
#define APPCORE_AGENT_INTERNAL_H

#include "appcore/agent.h"

/* Usage: agent_msg_send(a, TYPE, ac_x_encode(agent_msg_begin(a), &m)). */
struct ac_wr *agent_msg_begin(struct ac_agent *);
int agent_msg_send(struct ac_agent *, uint8_t type, int encoded);
void agent_reply(struct ac_agent *, uint32_t req_id, uint8_t cmd,
    uint8_t status, uint64_t value);
void agent_send_hello(struct ac_agent *, uint64_t now);
void agent_flush_samples(struct ac_agent *);
/* The crash of this core-1 run is in the store, or delivered. */
bool agent_crash_safe(const struct ac_agent *);
/* A crash dump is being frozen or is on its way to a host. */
bool agent_dump_busy(const struct ac_agent *);

/* ---- agent_image.c ---- */

/* Reads the slot record; a reset during a trial rolls back here. */
void agent_image_init(struct ac_agent *);
/* IMAGE_OFFER and IMAGE_DATA frames from the host. */
void agent_image_rx(struct ac_agent *, const struct ac_frame *);
/* The image-* commands. */
void agent_image_cmd(struct ac_agent *, const struct ac_msg_cmd *,
    uint64_t now);
/* Verifies, watches a trial, sends what is due; returns the time it next
 * wants to run (UINT64_MAX: nothing to do). */
uint64_t agent_image_poll(struct ac_agent *, uint64_t now);
/* A trial is running: crashes roll back instead of restarting. */
bool agent_image_on_trial(const struct ac_agent *);

/* ---- agent_rtt.c ---- */

/* RTT on when the configuration names a core-1 range. */
void agent_rtt_init(struct ac_agent *);
/* A host said hello: it learns the control block and channels again. */
void agent_rtt_hello(struct ac_agent *);
/* Searches for the control block, or streams its up-buffers. */
void agent_rtt_poll(struct ac_agent *, uint64_t now);

#endif /* APPCORE_AGENT_INTERNAL_H */
