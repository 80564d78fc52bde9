/*
 * appcore-sim --core1 xtensa: the board as real Xtensa code under QEMU
 * (docs/emulated-board.md).  QEMU runs two LX106 CPUs on one memory: the
 * agent's portable core on CPU 0, the core-1 program on CPU 1
 * (firmware-agent/port/qemu-xtensa).  This side opens the link as for the
 * in-process board (a pty, or the fd appcored --demo gives) and hands it
 * to the guest, whose semihosting reads and writes it; the guest's ground
 * truth comes back as binary records on a pipe and is written as the
 * simulator's truth log.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"
#include "sim_sha256.h"

#ifndef APPCORE_QEMU_BOARD_ELF
#define APPCORE_QEMU_BOARD_ELF "/usr/local/share/appcore/appcore-board-xtensa.elf"
#endif

#define GUEST_LINK_FD	3
#define GUEST_TRUTH_FD	4
#define GUEST_CTL_FD	5
#define GUEST_HWREQ_FD	6		/* core 0 asks for RUNSTALL/RESET */
#define GUEST_HWANS_FD	7
#define GUEST_SLOT_FD	8		/* slot A, B, record 0, 1: 8..11 */
#define GUEST_FDS	9
#define REC_SAMPLE	0x31544341u	/* "ACT1" */
#define REC_CLOCK	0x31434341u	/* "ACC1" */

bool
sim_core1_is_xtensa(const struct sim_opts *o)
{
	return o->core1 != NULL && strncmp(o->core1, "xtensa", 6) == 0;
}

static const char *
board_elf(const struct sim_opts *o)
{
	if (o->core1[6] == ':' && o->core1[7] != '\0')
		return o->core1 + 7;
	if (getenv("APPCORE_QEMU_BOARD_ELF") != NULL)
		return getenv("APPCORE_QEMU_BOARD_ELF");
	return APPCORE_QEMU_BOARD_ELF;
}

const char *
sim_image_file(const struct sim_opts *o)
{
	return sim_core1_is_xtensa(o) ? board_elf(o) : o->image_path;
}

static uint64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The guest's arguments, as -semihosting-config wants them. */
static void
semihosting_config(const struct sim_board *b, uint64_t boot, char *out,
    size_t cap)
{
	const struct sim_opts *o = &b->opts;
	uint8_t sha[32];
	int n;

	n = snprintf(out, cap, "enable=on,arg=link=%d,arg=ctl=%d,"
	    "arg=counters=%u,arg=rate=%u,arg=device=%s,arg=boot=%" PRIx64
	    ",arg=seed=%" PRIu64, GUEST_LINK_FD, GUEST_CTL_FD, o->counters,
	    o->rate_hz, o->device_id, boot, o->seed);
	if (b->truth != NULL && (size_t)n < cap)
		n += snprintf(out + n, cap - (size_t)n, ",arg=truth=%d",
		    GUEST_TRUTH_FD);
	if (b->qemu.gdb_path[0] != '\0' && (size_t)n < cap)
		n += snprintf(out + n, cap - (size_t)n, ",arg=hwreq=%d,"
		    "arg=hwans=%d,arg=restart=%s", GUEST_HWREQ_FD,
		    GUEST_HWANS_FD, o->restart == AC_RESTART_NEVER ? "never" :
		    "always");
	/* The image hash the agent reports: the ELF's, so that crashes name
	 * it (appcorectl elf add). */
	if (sim_sha256_file(board_elf(o), sha) == 0 && (size_t)n + 72 < cap) {
		n += snprintf(out + n, cap - (size_t)n, ",arg=image=");
		for (int i = 0; i < 32; i++)
			n += snprintf(out + n, cap - (size_t)n, "%02x", sha[i]);
	}
	if (o->panic_after >= 0 && (size_t)n < cap)
		n += snprintf(out + n, cap - (size_t)n, ",arg=panic=%u,"
		    "arg=fault=%s", (unsigned)(o->panic_after * 1000),
		    o->fault != NULL ? o->fault : "illegal");
	if (o->hang_after >= 0 && (size_t)n < cap)
		n += snprintf(out + n, cap - (size_t)n, ",arg=hang=%u",
		    (unsigned)(o->hang_after * 1000));
	if (o->no_rtt && (size_t)n < cap)
		n += snprintf(out + n, cap - (size_t)n, ",arg=rtt=0");
	if (b->slots.slot_fd[0] >= 0 && (size_t)n < cap)
		snprintf(out + n, cap - (size_t)n, ",arg=slota=%d,arg=slotb=%d,"
		    "arg=rec0=%d,arg=rec1=%d,arg=slotsize=%u", GUEST_SLOT_FD,
		    GUEST_SLOT_FD + 1, GUEST_SLOT_FD + 2, GUEST_SLOT_FD + 3,
		    o->slot_size);
}

/* QEMU's command line.  APPCORE_QEMU_EXTRA_ARGS (space-separated) adds
 * to it: tests pass "-gdb tcp:...  -S" to watch the guest from QEMU. */
static char **
qemu_argv(const char *elf, const char *semi, const char *gdb)
{
	static char *argv[48];
	static const char *const fixed[] = { "qemu-system-xtensa", "-M",
	    "sim", "-cpu", "lx106", "-smp", "2", "-accel", "tcg,thread=multi",
	    "-nographic", "-monitor", "none", "-semihosting-config" };
	const char *extra = getenv("APPCORE_QEMU_EXTRA_ARGS");
	char *copy = extra != NULL ? strdup(extra) : NULL, *save = NULL;
	int n = 0;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		argv[n++] = (char *)fixed[i];
	argv[n++] = (char *)semi;
	if (gdb[0] != '\0') {
		argv[n++] = (char *)"-gdb";
		argv[n++] = (char *)gdb;
	}
	for (char *tok = copy != NULL ? strtok_r(copy, " ", &save) : NULL;
	    tok != NULL && n < 44; tok = strtok_r(NULL, " ", &save))
		argv[n++] = tok;
	argv[n++] = (char *)"-kernel";
	argv[n++] = (char *)elf;
	argv[n] = NULL;
	return argv;
}

/* In the child: the link, the truth pipe and the stop pipe at fixed
 * numbers, open across exec, then QEMU.  Each is first copied above the
 * targets, so placing one never clobbers another. */
static void
exec_qemu(const char *elf, const char *semi, const char *gdb,
    const int from[GUEST_FDS])
{
	static const int to[GUEST_FDS] = { GUEST_LINK_FD, GUEST_TRUTH_FD,
	    GUEST_CTL_FD, GUEST_HWREQ_FD, GUEST_HWANS_FD, GUEST_SLOT_FD,
	    GUEST_SLOT_FD + 1, GUEST_SLOT_FD + 2, GUEST_SLOT_FD + 3 };
	int high[GUEST_FDS];

	for (int i = 0; i < GUEST_FDS; i++)
		high[i] = from[i] >= 0 ? fcntl(from[i], F_DUPFD_CLOEXEC, 20) :
		    -1;
	for (int i = 0; i < GUEST_FDS; i++)
		if (high[i] >= 0 && dup2(high[i], to[i]) < 0)
			_exit(127);
	/* Two vCPUs, each a host thread: core 0 spins between samples and
	 * must not starve core 1 (round-robin TCG switches every 100 ms). */
	execvp("qemu-system-xtensa", qemu_argv(elf, semi, gdb));
	_exit(127);
}

int
sim_qemu_start(struct sim_board *b)
{
	const char *elf = board_elf(&b->opts);
	char semi[1024], gdb[160] = "";
	int tp[2] = { -1, -1 }, cp[2], rq[2] = { -1, -1 }, an[2] = { -1, -1 };
	int fl;
	uint64_t boot;
	pid_t pid;

	b->qemu.truth_fd = -1;
	if (access(elf, R_OK) != 0) {
		fprintf(stderr, "appcore-sim: %s: %s (the Xtensa board "
		    "program; --core1 xtensa:FILE)\n", elf, strerror(errno));
		return -1;
	}
	if (b->link.kind != SIM_LINK_PTY && b->link.kind != SIM_LINK_FD) {
		errno = ENOTSUP;
		fprintf(stderr, "appcore-sim: --core1 xtensa takes a pty or "
		    "fd link\n");
		return -1;
	}
	if (b->truth != NULL && pipe2(tp, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(cp, O_CLOEXEC) < 0)
		return -1;
	/* QEMU's gdbstub plays RUNSTALL, RESETING and ASSIST_DEBUG for core
	 * 1, unless a test holds the gdbstub itself. */
	if (getenv("APPCORE_QEMU_EXTRA_ARGS") == NULL ||
	    strstr(getenv("APPCORE_QEMU_EXTRA_ARGS"), "-gdb") == NULL) {
		snprintf(b->qemu.gdb_path, sizeof(b->qemu.gdb_path),
		    "/tmp/appcore-sim-%d.gdb", (int)getpid());
		(void)unlink(b->qemu.gdb_path);
		snprintf(gdb, sizeof(gdb), "unix:%s,server=on,wait=off",
		    b->qemu.gdb_path);
		if (pipe2(rq, O_CLOEXEC) < 0 || pipe2(an, O_CLOEXEC) < 0)
			return -1;
	}
	/* The guest never waits on the link: a full one drops frames, as a
	 * USB-Serial-JTAG with no host does. */
	fl = fcntl(b->link.fd, F_GETFL);
	(void)fcntl(b->link.fd, F_SETFL, fl | O_NONBLOCK);
	boot = (uint64_t)wall_us() ^ (uint64_t)getpid() << 40;
	semihosting_config(b, boot, semi, sizeof(semi));
	if ((pid = fork()) < 0) {
		close(tp[0]);
		close(tp[1]);
		close(cp[0]);
		close(cp[1]);
		return -1;
	}
	if (pid == 0)
		exec_qemu(elf, semi, gdb, (const int[GUEST_FDS]){ b->link.fd,
		    tp[1], cp[0], rq[1], an[0], b->slots.slot_fd[0],
		    b->slots.slot_fd[1], b->slots.rec_fd[0],
		    b->slots.rec_fd[1] });
	if (tp[1] >= 0)
		close(tp[1]);
	close(cp[0]);
	if (rq[1] >= 0) {
		close(rq[1]);
		close(an[0]);
	}
	b->qemu.hwreq_fd = rq[0];
	b->qemu.hwans_fd = an[1];
	b->qemu.pid = (int)pid;
	b->qemu.truth_fd = tp[0];
	b->qemu.ctl_fd = cp[1];
	return 0;
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* The guest's device time 0 in wall time: the least (arrival - device
 * time) over its clock records, each sent as it was taken. */
static void
write_clock(struct sim_board *b, uint64_t dev_us)
{
	uint64_t wall0 = wall_us() - dev_us;
	char path[4096];
	FILE *f;

	if (b->qemu.wall0_us != 0 && wall0 >= b->qemu.wall0_us)
		return;
	b->qemu.wall0_us = wall0;
	snprintf(path, sizeof(path), "%s.clock", b->opts.truth_path);
	if ((f = fopen(path, "w")) != NULL) {
		fprintf(f, "%" PRIu64 "\n", b->qemu.wall0_us);
		fclose(f);
	}
}

/* One record at p (len bytes there); its size, or 0 if incomplete. */
static size_t
one_record(struct sim_board *b, const uint8_t *p, size_t len)
{
	uint32_t n;
	size_t need;

	if (len < 12)
		return 0;
	if (le32(p) == REC_CLOCK) {
		write_clock(b, le32(p + 4) | (uint64_t)le32(p + 8) << 32);
		return 12;
	}
	if (len < 24)
		return 0;
	n = le32(p + 4);
	if (le32(p) != REC_SAMPLE || n > AC_MAX_COUNTERS)
		return SIZE_MAX;		/* lost sync: give up */
	need = 24 + 4u * n;
	if (len < need)
		return 0;
	fprintf(b->truth, "%" PRIu64 " %" PRIu64, le32(p + 8) |
	    (uint64_t)le32(p + 12) << 32, le32(p + 16) |
	    (uint64_t)le32(p + 20) << 32);
	for (uint32_t i = 0; i < n; i++)
		fprintf(b->truth, " %" PRIu32, le32(p + 24 + 4 * i));
	fputc('\n', b->truth);
	return need;
}

/* Reads what the guest wrote; -1 at its end or on bad records. */
static int
pump_truth(struct sim_board *b)
{
	struct sim_qemu *q = &b->qemu;
	ssize_t r = read(q->truth_fd, q->buf + q->len, sizeof(q->buf) - q->len);
	size_t off = 0, used;

	if (r <= 0)
		return r == 0 || errno != EAGAIN ? -1 : 0;
	q->len += (size_t)r;
	while ((used = one_record(b, q->buf + off, q->len - off)) != 0) {
		if (used == SIZE_MAX)
			return -1;
		off += used;
	}
	memmove(q->buf, q->buf + off, q->len - off);
	q->len -= off;
	return 0;
}

/* Core 1 stalled where it is (RUNSTALL), its PC and SP read (the
 * ASSIST_DEBUG record): QEMU stops the guest, then runs CPU 0 alone. */
static int
hw_stall(struct sim_qemu *q, uint8_t ans[9])
{
	uint32_t regs[SIM_GDB_NREGS];

	if (sim_gdb_stop(q->gdb_fd) < 0 || sim_gdb_regs(q->gdb_fd, 2, regs,
	    SIM_GDB_NREGS) <= SIM_GDB_PS)
		return -1;
	(void)sim_gdb_run(q->gdb_fd, 1);
	ans[0] = 'k';
	memcpy(ans + 1, &regs[SIM_GDB_PC], 4);
	memcpy(ans + 5, &regs[SIM_GDB_A1], 4);
	fprintf(stderr, "appcore-sim: core 1 stalled at pc 0x%08x sp 0x%08x "
	    "(QEMU)\n", regs[SIM_GDB_PC], regs[SIM_GDB_A1]);
	return 0;
}

/* Core 1 reset (RESETING): from entry, with a fresh stack and PS. */
static int
hw_restart(struct sim_qemu *q, uint32_t entry, uint32_t stack)
{
	uint32_t regs[SIM_GDB_NREGS];
	int n;

	if (sim_gdb_stop(q->gdb_fd) < 0 || (n = sim_gdb_regs(q->gdb_fd, 2,
	    regs, SIM_GDB_NREGS)) <= SIM_GDB_PS)
		return -1;
	regs[SIM_GDB_A0] = 0;
	regs[SIM_GDB_A1] = stack;
	regs[SIM_GDB_PC] = entry;
	regs[SIM_GDB_PS] = 0x20;	/* user mode, level 0, as at start */
	if (sim_gdb_set_regs(q->gdb_fd, 2, regs, n) < 0)
		return -1;
	(void)sim_gdb_run(q->gdb_fd, 0);
	fprintf(stderr, "appcore-sim: core 1 reset to 0x%08x (QEMU)\n",
	    entry);
	return 0;
}

/* What core 0 asked of core 1's hardware: 's' or 'r' + entry + stack. */
static void
hw_serve(struct sim_qemu *q)
{
	uint8_t req[9], ans[9] = { 'e' };
	uint32_t entry, stack;
	size_t len = 1;

	if (read(q->hwreq_fd, req, 1) != 1) {
		close(q->hwreq_fd);
		q->hwreq_fd = -1;
		return;
	}
	if (q->gdb_fd < 0)
		q->gdb_fd = sim_gdb_connect(q->gdb_path);
	if (q->gdb_fd >= 0 && req[0] == 's' && hw_stall(q, ans) == 0)
		len = 9;
	else if (q->gdb_fd >= 0 && req[0] == 'r' &&
	    read(q->hwreq_fd, req + 1, 8) == 8) {
		memcpy(&entry, req + 1, 4);
		memcpy(&stack, req + 5, 4);
		if (hw_restart(q, entry, stack) == 0)
			ans[0] = 'k';
	}
	if (req[0] == 's' && len == 1)
		len = 9;		/* a refusal the same size */
	(void)!write(q->hwans_fd, ans, len);
}

int
sim_qemu_run(struct sim_board *b)
{
	struct sim_qemu *q = &b->qemu;
	uint64_t end = b->opts.duration >= 0 ? wall_us() +
	    (uint64_t)(b->opts.duration * 1e6) : UINT64_MAX;
	int status;

	while (!*b->stop && wall_us() < end) {
		struct pollfd p[2] = { { q->truth_fd, POLLIN, 0 },
		    { q->hwreq_fd, POLLIN, 0 } };

		if (waitpid(q->pid, &status, WNOHANG) == q->pid) {
			q->pid = 0;
			fprintf(stderr, "appcore-sim: QEMU exited (%d)\n",
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			break;
		}
		if (poll(p, 2, 100) <= 0)
			continue;
		if ((p[0].revents & (POLLIN | POLLHUP)) && pump_truth(b) < 0) {
			close(q->truth_fd);
			q->truth_fd = -1;
		}
		if (p[1].revents & (POLLIN | POLLHUP))
			hw_serve(q);
	}
	sim_qemu_stop(b);
	return 0;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Whether QEMU exited within ms (pumping its truth meanwhile). */
static bool
exited_within(int pid, int ms, struct sim_board *b)
{
	for (int waited = 0; waited < ms; waited += 10) {
		struct pollfd p = { b->qemu.truth_fd, POLLIN, 0 };

		if (waitpid(pid, NULL, WNOHANG) == pid)
			return true;
		if (b->qemu.truth_fd >= 0 && poll(&p, 1, 10) > 0)
			(void)pump_truth(b);
		else if (b->qemu.truth_fd < 0)
			(void)poll(NULL, 0, 10);
	}
	return false;
}

void
sim_qemu_stop(struct sim_board *b)
{
	struct sim_qemu *q = &b->qemu;

	if (q->pid > 0) {
		/* A clean stop first: the guest sends what it holds. */
		if (q->ctl_fd < 0 || write(q->ctl_fd, "q", 1) != 1 ||
		    !exited_within(q->pid, 2000, b))
			kill(q->pid, SIGTERM);
		(void)waitpid(q->pid, NULL, 0);
		q->pid = 0;
	}
	if (q->ctl_fd >= 0)
		close(q->ctl_fd);
	q->ctl_fd = -1;
	close_fd(&q->hwreq_fd);
	close_fd(&q->hwans_fd);
	close_fd(&q->gdb_fd);
	if (q->gdb_path[0] != '\0')
		(void)unlink(q->gdb_path);
	if (q->truth_fd >= 0) {
		while (pump_truth(b) == 0 && q->len < sizeof(q->buf))
			;
		close(q->truth_fd);
		q->truth_fd = -1;
	}
	if (b->truth != NULL)
		fflush(b->truth);
}
