/*
 * The C side of libappcore_core1_host.a (firmware-agent/rust/
 * appcore-core1-host): the Rust crate appcore-core1 behind core1.h's own
 * signatures, for the conformance tests, and the Rust audio workload that
 * appcore-sim runs as core 1 (--core1 rust).
 */
#ifndef APPCORE_CORE1_HOST_H
#define APPCORE_CORE1_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "appcore/core1.h"
#include "appcore/rtt_write.h"

/* core1.h's API, written by the Rust crate. */
void *acr_core1_init(void *base, uint32_t size);
int acr_counter_register(void *base, uint32_t idx, const char *name,
    const char *unit, uint32_t kind, uint8_t flags);
void acr_counter_add(void *base, uint32_t idx, uint32_t delta);
void acr_counter_set(void *base, uint32_t idx, uint32_t value);
void acr_heartbeat(void *base);
void acr_set_running(void *base);
void acr_log(void *base, uint32_t level, uint32_t stamp, const char *text);
void acr_panic_record(void *base, const struct ac_panic_info *pi);

/* rtt_write.h's writer, through the crate (appcore_core1::Rtt). */
int acr_rtt_init(void *area, uint32_t area_addr, uint32_t area_size,
    const struct ac_rtt_chan *up, uint32_t nup);
uint32_t acr_rtt_write(void *area, uint32_t area_addr, uint32_t area_size,
    uint32_t ch, const void *p, uint32_t n);

/* The workload.  state: acr_workload_size() bytes or more, 8-aligned;
 * mem: the region, core1_addr its address for core 1 (its RTT control
 * block goes at the start of the user area).  After a Rust panic
 * (recorded in the region by the panic handler) the thread calls park,
 * which must not return. */
size_t acr_workload_size(void);
int acr_workload_init(void *state, size_t cap, void *mem, uint32_t size,
    uint32_t core1_addr, uint32_t counters, uint64_t seed, int run,
    void (*park)(void));
void acr_workload_step(void *state, double t);
_Noreturn void acr_workload_panic(void *state);
void acr_workload_hang(void *state);

#endif /* APPCORE_CORE1_HOST_H */
