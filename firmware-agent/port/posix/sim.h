/*
 * appcore-sim: the agent core on Linux with a thread playing core 1.
 * One file per concern: sim_core1.c (the workload), sim_link.c (pty or
 * TCP), sim_board.c (agent loop), sim_main.c (options).
 */
#ifndef APPCORE_SIM_H
#define APPCORE_SIM_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "appcore/agent.h"

#define SIM_BLOCK_US		1000u	/* core 1 processes 1 ms blocks */
#define SIM_FRAMES_PER_BLOCK	48u	/* 48 kHz audio */
#define SIM_NEVER		(-1.0)

struct sim_opts {
	const char *link;		/* "pty" or "tcp:PORT" */
	uint32_t rate_hz;
	uint32_t counters;
	uint32_t region_size;
	uint32_t hang_timeout_ms;
	uint32_t batch_ms;
	double panic_after;		/* seconds, or SIM_NEVER */
	bool panic_each_run;
	double hang_after;
	double corrupt_after;
	double duration;
	const char *truth_path;
	const char *device_id;
	const char *image_path;
	const char *store_path;		/* the crash store, or NULL */
	const char *slots_dir;		/* core-1 image slots, or NULL */
	uint32_t slot_size;
	const char *dump_truth_path;
	bool no_samples_ref;		/* the benchmark's baseline */
	bool no_rtt;			/* the agent looks for no RTT block */
	const char *core1;		/* NULL: in-process C; "rust";
					 * "xtensa[:ELF]" */
	const char *fault;		/* xtensa: illegal, unaligned or bus */
	uint8_t restart;		/* enum ac_restart_policy */
	uint32_t restart_max;
	uint64_t seed;
	bool quiet;
};

void sim_opts_defaults(struct sim_opts *);
/* Parses appcore-sim's options (sim_opts.c).  Returns 0, 1 when --help
 * or --version was answered on out, or -1 with err set (exit 2). */
int sim_parse_args(struct sim_opts *, int argc, char **argv, FILE *out,
    char *err, size_t errlen);
void sim_usage(FILE *);

/* ---- sim_core1.c ---- */

/* The audio workload core 1 runs, one 1 ms block per step. */
struct sim_workload {
	uint64_t rng;
	uint32_t counters, nch;
	int32_t peak[AC_MAX_COUNTERS];
	uint32_t fill, fill_min, fill_max, load_max;
	uint64_t block;
};

struct ac_region;
/* Registers the counters and says so in the log; state RUNNING. */
void sim_workload_init(struct sim_workload *, struct ac_region *,
    uint32_t counters, uint64_t seed, int run);
/* One block at t seconds since start. */
void sim_workload_step(struct sim_workload *, struct ac_region *, double t);

#define SIM_HANG_PC	0x42003a10u	/* "codec_wait_ready" */

/* What the image in core 1's slot does (sim_slots.c). */
enum sim_behaviour {
	SIM_OK = 0,		/* the audio workload */
	SIM_PANIC,		/* panics 50 ms after it starts */
	SIM_HANG,		/* its heartbeat stops after 300 ms */
	SIM_NO_HEARTBEAT,	/* runs, never beats */
	SIM_SILENT,		/* never writes its region */
	SIM_BEHAVIOUR_COUNT
};
const char *sim_behaviour_name(int);

struct sim_core1 {
	void *mem;			/* the shared region */
	uint32_t size;
	uint32_t counters;
	uint64_t seed;
	uint64_t t0_ns;			/* sim start, for the injections */
	double panic_at, hang_at, corrupt_at;	/* one-shot, seconds */
	bool panic_each_run;		/* panic_at after every start */
	pthread_t th;
	bool running;
	atomic_bool stop;
	atomic_int runs;		/* core-1 starts so far */
	/* What ASSIST_DEBUG's PC/SP record would hold: where the simulated
	 * core 1 is (set at each stage of the workload and where it hangs). */
	_Atomic uint32_t pc, sp;
	atomic_bool stalled;		/* core1_stall: the agent stopped it */
	int behaviour;			/* enum sim_behaviour, per start */
	bool rust;			/* the Rust workload (--core1 rust) */
	uint32_t core1_addr;		/* the region's address for core 1 */
};

int sim_core1_start(struct sim_core1 *);
void sim_core1_stop(struct sim_core1 *);
/* Names and kinds of the workload's counters, for tests and docs. */
void sim_counter_name(uint32_t idx, char *name, size_t cap);
uint64_t sim_now_ns(void);

/* ---- sim_link.c ---- */

struct sim_link {
	int kind;			/* SIM_LINK_PTY or SIM_LINK_TCP */
	int fd;				/* pty master or connected client, or -1 */
	int listen_fd;			/* TCP only */
	int slave_fd;			/* pty: held open so the master never hangs up */
	char name[256];			/* pty path or host:port */
	uint64_t bytes_discarded;	/* sent while no host was connected */
};

enum { SIM_LINK_PTY = 1, SIM_LINK_TCP = 2, SIM_LINK_FD = 3 };

int sim_link_open(struct sim_link *, const char *spec);
void sim_link_close(struct sim_link *);

/* ---- sim_board.c ---- */

/* Core 1 (and the agent) as Xtensa code under QEMU (sim_qemu.c). */
struct sim_qemu {
	int pid;			/* QEMU, or 0 */
	int truth_fd;			/* its records, or -1 */
	int ctl_fd;			/* a byte here: stop cleanly */
	int hwreq_fd, hwans_fd;		/* core 0's RUNSTALL/RESET asks */
	char gdb_path[108];		/* QEMU's gdbstub, or "" */
	int gdb_fd;			/* connected, or -1 */
	uint8_t buf[1 << 16];
	size_t len;
	uint64_t wall0_us;		/* wall time of device time 0 */
};

struct sim_slots {
	int slot_fd[2];			/* slot-a.bin, slot-b.bin */
	int rec_fd[2];			/* record-0, record-1 */
	/* The last switch, until the new run's first heartbeat. */
	uint64_t stopped_ns;		/* core 1 stopped, or 0 */
	uint32_t switch_gen;		/* the run before */
	uint8_t switch_slot;
	bool hb_seen;			/* the new run's region is there */
	uint32_t hb0;			/* its first heartbeat count */
};

struct sim_board {
	struct sim_opts opts;
	struct sim_slots slots;
	struct sim_qemu qemu;
	struct sim_core1 core1;
	struct sim_link link;
	struct ac_port port;
	struct ac_agent agent;
	FILE *truth;
	int store_fd;			/* the crash store file, or -1 */
	FILE *dump_truth;
	uint8_t dump_state;		/* last seen, for --dump-truth */
	uint64_t t0_ns;
	atomic_int *stop;		/* set by a signal or another thread */
};

int sim_board_init(struct sim_board *, const struct sim_opts *,
    atomic_int *stop);
/* Runs until *stop or the duration ends; then drains and closes. */
int sim_board_run(struct sim_board *);
void sim_board_free(struct sim_board *);

/* ---- sim_slots.c: --slots DIR ---- */

int sim_slots_open(struct sim_board *);
void sim_slots_boot(struct sim_board *);
/* From the board's loop: says when a new image first beats. */
void sim_slots_watch(struct sim_board *);
void sim_slots_close(struct sim_board *);

/* ---- sim_gdb.c: QEMU's gdbstub, for core 1's hardware controls ---- */

#define SIM_GDB_NREGS	50	/* what 'g' gives for lx106 */
#define SIM_GDB_A0	0
#define SIM_GDB_A1	1
#define SIM_GDB_PC	16
#define SIM_GDB_PS	21
int sim_gdb_connect(const char *path);
/* Stops the whole guest (all CPUs). */
int sim_gdb_stop(int fd);
int sim_gdb_regs(int fd, int thread, uint32_t *regs, int max);
int sim_gdb_set_regs(int fd, int thread, const uint32_t *regs, int n);
/* The guest runs: only that thread (CPU index + 1), or all (0). */
int sim_gdb_run(int fd, int only_thread);

/* ---- sim_qemu.c ---- */

bool sim_core1_is_xtensa(const struct sim_opts *);
/* The file whose SHA-256 the board reports as its core-1 image (the
 * Xtensa board's ELF, or --image); NULL when none. */
const char *sim_image_file(const struct sim_opts *);
/* The link is open and the truth file too: start QEMU on the board's
 * Xtensa program, handing it the link. */
int sim_qemu_start(struct sim_board *);
/* Until *stop, the duration, or QEMU's exit: the ground truth to its
 * file.  Then QEMU is stopped. */
int sim_qemu_run(struct sim_board *);
void sim_qemu_stop(struct sim_board *);

#endif /* APPCORE_SIM_H */
