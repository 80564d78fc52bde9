/*
 * One simulated board: the core-1 thread, and the agent driven from the
 * calling thread the way the ESP-IDF port drives it from its task.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"
#include "sim_sha256.h"

#define DRAIN_NS	2000000000u	/* on exit, wait this long for the host */

void
sim_opts_defaults(struct sim_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->link = "pty";
	o->rate_hz = 100;
	o->counters = 64;
	o->region_size = AC_REGION_DEFAULT_SIZE;
	o->hang_timeout_ms = 1000;
	o->batch_ms = 10;
	o->panic_after = o->hang_after = o->corrupt_after = SIM_NEVER;
	o->duration = SIM_NEVER;
	o->device_id = "sim-0";
	o->seed = 1;
	o->slot_size = 1u << 20;
}

/*
 * Beside the truth log, TRUTH.clock: the wall time (Unix us) of device
 * time 0, read from the simulator's own clocks, so tests check the times
 * the host stored against a clock that is not the host's.
 */
static int
write_truth_clock(const char *truth_path, uint64_t t0_ns)
{
	struct timespec rt;
	char path[4096];
	FILE *f;
	uint64_t dev_us, wall_us;
	int rc;

	clock_gettime(CLOCK_REALTIME, &rt);
	dev_us = (sim_now_ns() - t0_ns) / 1000u;
	wall_us = (uint64_t)rt.tv_sec * 1000000u + (uint64_t)rt.tv_nsec / 1000u;
	snprintf(path, sizeof(path), "%s.clock", truth_path);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "%" PRIu64 "\n", wall_us - dev_us);
	rc = fclose(f);
	return rc == 0 ? 0 : -1;
}

static uint64_t
port_now_us(void *ctx)
{
	struct sim_board *b = ctx;

	return (sim_now_ns() - b->t0_ns) / 1000u;
}

static int
port_core1_restart(void *ctx)
{
	struct sim_board *b = ctx;

	sim_core1_stop(&b->core1);
	return sim_core1_start(&b->core1);
}

/* The simulated ASSIST_DEBUG record: where core 1 was; it is already
 * parked when hung, and stays so until a restart. */
static int
port_core1_stall(void *ctx, uint32_t *pc, uint32_t *sp)
{
	struct sim_board *b = ctx;

	atomic_store(&b->core1.stalled, true);
	*pc = atomic_load(&b->core1.pc);
	*sp = atomic_load(&b->core1.sp);
	return *pc != 0 ? 0 : -ENODATA;
}

/* The crash store: a file standing in for the board's flash partition. */
#define SIM_STORE_SIZE(b)	(AC_STORE_DATA + (b)->opts.region_size)

static int
port_store_read(void *ctx, uint32_t off, void *buf, uint32_t n)
{
	struct sim_board *b = ctx;
	ssize_t r = pread(b->store_fd, buf, n, off);

	if (r == (ssize_t)n)
		return 0;
	return r < 0 ? -errno : -ENODATA;
}

static int
port_store_write(void *ctx, uint32_t off, const void *buf, uint32_t n)
{
	struct sim_board *b = ctx;
	ssize_t w = pwrite(b->store_fd, buf, n, off);

	if (w != (ssize_t)n)
		return w < 0 ? -errno : -ENOSPC;
	/* A header completes a crash: on the platter before it counts. */
	return off == 0 || off == AC_STORE_HDR ? (fdatasync(b->store_fd) < 0 ?
	    -errno : 0) : 0;
}

static int
port_store_clear(void *ctx)
{
	struct sim_board *b = ctx;
	static const uint8_t zero[AC_STORE_HDR];

	if (pwrite(b->store_fd, zero, sizeof(zero), 0) != (ssize_t)sizeof(zero))
		return -errno;
	return fdatasync(b->store_fd) < 0 ? -errno : 0;
}

static void
port_on_sample(void *ctx, uint64_t index, uint64_t t_us, const uint32_t *v,
    uint32_t n)
{
	struct sim_board *b = ctx;

	fprintf(b->truth, "%" PRIu64 " %" PRIu64, index, t_us);
	for (uint32_t i = 0; i < n; i++)
		fprintf(b->truth, " %" PRIu32, v[i]);
	fputc('\n', b->truth);
}

static uint64_t
boot_id(void)
{
	uint64_t id = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &id, sizeof(id)) != (ssize_t)sizeof(id))
			id = 0;
		close(fd);
	}
	return id != 0 ? id : sim_now_ns() ^ (uint64_t)getpid() << 32;
}

/* Both cores under QEMU: only the link and the truth log live here. */
static int
board_init_xtensa(struct sim_board *b)
{
	const struct sim_opts *o = &b->opts;
	int e;

	if (o->truth_path != NULL) {
		if ((b->truth = fopen(o->truth_path, "w")) == NULL)
			return -1;
		setvbuf(b->truth, NULL, _IOFBF, 1 << 20);
	}
	/* The slot files, opened here, are the guest's to read and write
	 * (semihosting): the agent runs in the guest. */
	if (o->slots_dir != NULL && sim_slots_open(b) < 0) {
		e = errno;
		sim_board_free(b);
		errno = e;
		return -1;
	}
	if (sim_link_open(&b->link, o->link) == 0 && sim_qemu_start(b) == 0)
		return 0;
	e = errno;
	sim_board_free(b);
	errno = e;
	return -1;
}

int
sim_board_init(struct sim_board *b, const struct sim_opts *o,
    atomic_int *stop)
{
	struct ac_agent_cfg cfg;
	size_t idlen = strlen(o->device_id);
	void *mem;

	memset(b, 0, sizeof(*b));
	b->opts = *o;
	b->stop = stop;
	b->store_fd = -1;
	for (int i = 0; i < 2; i++)
		b->slots.slot_fd[i] = b->slots.rec_fd[i] = -1;
	b->link.fd = b->link.listen_fd = b->link.slave_fd = -1;
	b->qemu.truth_fd = b->qemu.ctl_fd = b->qemu.gdb_fd = -1;
	b->qemu.hwreq_fd = b->qemu.hwans_fd = -1;
	if (idlen < 1 || idlen > AC_DEVICE_ID_MAX || o->counters < 1 ||
	    o->counters > AC_MAX_COUNTERS) {
		errno = EINVAL;
		return -1;
	}
	if (sim_core1_is_xtensa(o))
		return board_init_xtensa(b);
	ac_agent_cfg_defaults(&cfg);
	cfg.rate_hz = o->rate_hz;
	cfg.hang_timeout_ms = o->hang_timeout_ms;
	cfg.batch_us = o->batch_ms * 1000u;
	memcpy(cfg.device_id, o->device_id, idlen);
	cfg.device_id_len = (uint8_t)idlen;
	cfg.boot_id = boot_id();
	cfg.restart = o->restart;
	cfg.restart_max = o->restart_max;
	cfg.no_samples_ref = o->no_samples_ref;
	if (o->image_path != NULL) {
		if (sim_sha256_file(o->image_path, cfg.image_hash) < 0)
			return -1;
	} else
		sim_sha256((const uint8_t *)"appcore-sim audio workload v1", 29,
		    cfg.image_hash);
	if ((mem = aligned_alloc(64, o->region_size)) == NULL)
		return -1;
	memset(mem, 0, o->region_size);
	/* RTT (docs/rtt.md): core 1's RAM past the region's fixed part. */
	cfg.rtt_mem = (uint8_t *)mem + AC_REGION_MIN_SIZE;
	cfg.rtt_addr = cfg.region_base + AC_REGION_MIN_SIZE;
	cfg.rtt_size = o->no_rtt ? 0 : (o->region_size - AC_REGION_MIN_SIZE) &
	    ~3u;
	if (o->truth_path != NULL) {
		if ((b->truth = fopen(o->truth_path, "w")) == NULL) {
			free(mem);
			return -1;
		}
		setvbuf(b->truth, NULL, _IOFBF, 1 << 20);
	}
	b->t0_ns = sim_now_ns();
	if ((o->truth_path != NULL && write_truth_clock(o->truth_path,
	    b->t0_ns) < 0) ||
	    (o->store_path != NULL && (b->store_fd = open(o->store_path,
	    O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) ||
	    (o->dump_truth_path != NULL && (b->dump_truth =
	    fopen(o->dump_truth_path, "w")) == NULL) ||
	    sim_link_open(&b->link, o->link) < 0) {
		int e = errno;

		if (b->truth != NULL)
			fclose(b->truth);
		if (b->dump_truth != NULL)
			fclose(b->dump_truth);
		if (b->store_fd >= 0)
			close(b->store_fd);
		free(mem);
		errno = e;
		return -1;
	}
	b->core1 = (struct sim_core1){
		.mem = mem, .size = o->region_size, .counters = o->counters,
		.seed = o->seed, .t0_ns = b->t0_ns,
		.panic_at = o->panic_after, .hang_at = o->hang_after,
		.panic_each_run = o->panic_each_run,
		.corrupt_at = o->corrupt_after,
		.rust = o->core1 != NULL && strcmp(o->core1, "rust") == 0,
		.core1_addr = cfg.region_base,
	};
	b->port = (struct ac_port){
		.ctx = b, .now_us = port_now_us,
		.core1_restart = port_core1_restart,
		.core1_stall = port_core1_stall,
		.on_sample = b->truth != NULL ? port_on_sample : NULL,
	};
	if (b->store_fd >= 0) {
		b->port.store_size = SIM_STORE_SIZE(b);
		b->port.store_read = port_store_read;
		b->port.store_write = port_store_write;
		b->port.store_clear = port_store_clear;
	}
	if (o->slots_dir != NULL && sim_slots_open(b) < 0) {
		int e = errno;

		sim_board_free(b);
		errno = e;
		return -1;
	}
	if (ac_agent_init(&b->agent, &cfg, &b->port, mem, o->region_size) < 0) {
		sim_board_free(b);
		errno = EINVAL;
		return -1;
	}
	sim_slots_boot(b);
	return 0;
}

/* Writes what the link takes now; returns false when it is backed up. */
static bool
link_send(struct sim_board *b)
{
	const uint8_t *p;
	size_t n;

	while ((p = ac_agent_tx_peek(&b->agent, &n)) != NULL) {
		ssize_t w;

		if (b->link.fd < 0) {	/* TCP with no host: the wire is open */
			b->link.bytes_discarded += n;
			ac_agent_tx_consume(&b->agent, n);
			continue;
		}
		w = write(b->link.fd, p, n);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		if (w < 0) {		/* the host went away */
			if (b->link.kind != SIM_LINK_PTY) {
				close(b->link.fd);
				b->link.fd = -1;
			}
			return false;
		}
		ac_agent_tx_consume(&b->agent, (size_t)w);
	}
	return true;
}

static void
link_recv(struct sim_board *b)
{
	uint8_t buf[512];
	ssize_t n;

	while ((n = read(b->link.fd, buf, sizeof(buf))) > 0)
		ac_agent_rx(&b->agent, buf, (size_t)n);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		if (b->link.kind != SIM_LINK_PTY) {
			close(b->link.fd);
			b->link.fd = -1;
		}
	}
}

static void
link_accept(struct sim_board *b)
{
	int fd = accept4(b->link.listen_fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (b->link.fd >= 0) {
		close(fd);	/* one host at a time */
		return;
	}
	b->link.fd = fd;
}

static void
wait_io(struct sim_board *b, uint64_t deadline_us, bool want_out)
{
	struct pollfd pfd[2];
	nfds_t n = 0;
	uint64_t now = port_now_us(b);
	uint64_t wait = deadline_us > now ? deadline_us - now : 0;
	struct timespec ts = { (time_t)(wait / 1000000u),
	    (long)(wait % 1000000u) * 1000 };

	if (b->link.fd >= 0) {
		pfd[n].fd = b->link.fd;
		pfd[n++].events = POLLIN | (want_out ? POLLOUT : 0);
	}
	if (b->link.listen_fd >= 0) {
		pfd[n].fd = b->link.listen_fd;
		pfd[n++].events = POLLIN;
	}
	if (ppoll(pfd, n, &ts, NULL) <= 0)
		return;
	for (nfds_t i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (pfd[i].fd == b->link.listen_fd)
			link_accept(b);
		else if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
			link_recv(b);
	}
}

/*
 * --dump-truth: the region as the agent froze it, written when the agent
 * finishes freezing a crash of this run (core 1 is stopped then), one
 * line per dump: "dump_id sha256-hex size" then the bytes' file offset.
 */
static void
note_dump(struct sim_board *b)
{
	const struct ac_dump *d = &b->agent.dump;
	uint8_t was = b->dump_state;

	b->dump_state = d->state;
	if (b->dump_truth == NULL || was != 1 || d->state == 1 || !d->current)
		return;		/* 1: freezing (agent.c's DUMP_SAVING) */
	fprintf(b->dump_truth, "%u ", d->info.dump_id);
	for (int i = 0; i < 32; i++)
		fprintf(b->dump_truth, "%02x", d->info.sha256[i]);
	fprintf(b->dump_truth, " %u\n", d->info.total);
	fwrite(b->core1.mem, 1, d->info.total, b->dump_truth);
	fflush(b->dump_truth);
}

/*
 * A pty forgets unread input when the master closes: wait until the host
 * has read what is queued on its side.  Bytes reach that queue a little
 * after write() returns, so it must read empty a few times in a row.
 */
static void
pty_drain(struct sim_board *b, uint64_t until_ns, bool agent)
{
	for (int empty = 0; b->link.kind == SIM_LINK_PTY && empty < 5 &&
	    sim_now_ns() < until_ns;) {
		int queued = 0;

		if (agent)
			wait_io(b, port_now_us(b) + 10000, false);
		else
			(void)poll(NULL, 0, 10);
		if (ioctl(b->link.slave_fd, FIONREAD, &queued) < 0)
			break;
		empty = queued == 0 ? empty + 1 : 0;
	}
}

int
sim_board_run(struct sim_board *b)
{
	uint64_t end_ns = b->opts.duration >= 0 ?
	    b->t0_ns + (uint64_t)(b->opts.duration * 1e9) : UINT64_MAX;
	uint64_t drain_end;

	if (b->qemu.pid > 0) {
		int rc = sim_qemu_run(b);

		pty_drain(b, sim_now_ns() + DRAIN_NS, false);
		return rc;
	}
	if (sim_core1_start(&b->core1) < 0)
		return -1;
	while (!*b->stop && sim_now_ns() < end_ns) {
		uint64_t deadline = ac_agent_poll(&b->agent);
		bool sent;

		note_dump(b);
		sim_slots_watch(b);
		sent = link_send(b);

		wait_io(b, deadline, !sent);
	}
	sim_core1_stop(&b->core1);
	ac_agent_flush(&b->agent);
	drain_end = sim_now_ns() + DRAIN_NS;
	while (!link_send(b) && sim_now_ns() < drain_end)
		wait_io(b, port_now_us(b) + 10000, true);
	pty_drain(b, drain_end, true);
	return 0;
}

void
sim_board_free(struct sim_board *b)
{
	sim_qemu_stop(b);
	sim_core1_stop(&b->core1);
	sim_link_close(&b->link);
	if (b->truth != NULL)
		fclose(b->truth);
	b->truth = NULL;
	if (b->dump_truth != NULL)
		fclose(b->dump_truth);
	b->dump_truth = NULL;
	if (b->store_fd >= 0)
		close(b->store_fd);
	b->store_fd = -1;
	sim_slots_close(b);
	free(b->core1.mem);
	b->core1.mem = NULL;
}
