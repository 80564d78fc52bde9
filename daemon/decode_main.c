/*
 * appcore-decode: attaches to an agent link (a serial device, a pty or
 * tcp:HOST:PORT), asks for HELLO, and prints what the agent says.  A
 * diagnostic for "what is on this wire", and the reference host used by the
 * simulator's lossless test: --samples writes the decoded samples in the
 * simulator's --truth format.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "hex.h"
#include "session.h"

static volatile sig_atomic_t quit;

struct decode {
	struct session s;
	FILE *samples;
	FILE *raw;
	bool print;
	bool quiet;
	struct ac_msg_stats agent;	/* the last STATS */
	bool have_agent_stats;
	uint32_t last_vals[AC_MAX_COUNTERS];
	uint32_t ncols;
	uint64_t last_t;
};

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int
open_link(const char *spec)
{
	struct addrinfo hints, *res, *ai;
	struct termios tio;
	char host[256], *port;
	int fd = -1, rc;

	if (strncmp(spec, "tcp:", 4) != 0) {
		if ((fd = open(spec, O_RDWR | O_NOCTTY | O_NONBLOCK |
		    O_CLOEXEC)) < 0)
			return -1;
		if (tcgetattr(fd, &tio) == 0) {
			cfmakeraw(&tio);
			cfsetspeed(&tio, B921600);
			tcsetattr(fd, TCSANOW, &tio);
		}
		return fd;
	}
	snprintf(host, sizeof(host), "%s", spec + 4);
	if ((port = strrchr(host, ':')) == NULL) {
		errno = EINVAL;
		return -1;
	}
	*port++ = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "appcore-decode: %s: %s\n", spec,
		    gai_strerror(rc));
		errno = EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static void
on_hello(void *arg, struct session *s)
{
	struct decode *d = arg;
	const struct ac_msg_hello *h = &s->hello;
	char hash[65];

	if (d->quiet)
		return;
	hex_encode(hash, h->image_hash, 32);
	printf("HELLO device %.*s agent %s protocol %u layout %u boot %016"
	    PRIx64 " rate %u Hz counters %u core1 %s gen %u image %s\n",
	    (int)h->device_id_len, (const char *)h->device_id,
	    h->agent_version, h->proto_version, h->layout_version, h->boot_id,
	    h->rate_hz, h->counters_used, ac_state_name(h->core1_state),
	    h->generation, hash);
}

static void
on_desc(void *arg, struct session *s)
{
	struct decode *d = arg;

	if (!d->print)
		return;
	for (uint32_t i = 0; i < s->ndesc; i++)
		printf("DESC %3u %-24s %-8s %s%s\n", i, s->ctr[i].name,
		    s->ctr[i].unit, s->ctr[i].kind == AC_KIND_COUNTER ?
		    "counter" : s->ctr[i].kind == AC_KIND_GAUGE ? "gauge" :
		    "unused", s->ctr[i].flags & AC_FLAG_SIGNED ? " signed" : "");
}

static void
on_sample(void *arg, uint64_t index, uint64_t t_us, const uint32_t *v,
    uint32_t n)
{
	struct decode *d = arg;

	if (d->samples != NULL) {
		fprintf(d->samples, "%" PRIu64 " %" PRIu64, index, t_us);
		for (uint32_t i = 0; i < n; i++)
			fprintf(d->samples, " %" PRIu32, v[i]);
		fputc('\n', d->samples);
	}
	memcpy(d->last_vals, v, n * sizeof(*v));
	d->ncols = n;
	d->last_t = t_us;
}

static void
on_log(void *arg, const struct ac_msg_log *m)
{
	struct decode *d = arg;
	static const char *const lv = "?EWID";

	if (!d->quiet)
		printf("LOG %10.3f %c #%u %s%s\n", (double)m->t_us / 1e6,
		    lv[m->level], m->record, m->text,
		    m->lost_before ? " (after lost records)" : "");
}

static void
on_state(void *arg, const struct ac_msg_state *m)
{
	struct decode *d = arg;

	if (!d->quiet)
		printf("STATE %10.3f %s -> %s gen %u heartbeat %u detail %u\n",
		    (double)m->t_us / 1e6, ac_state_name(m->prev),
		    ac_state_name(m->state), m->generation, m->heartbeat,
		    m->detail);
}

static void
on_crash(void *arg, const struct ac_msg_crash *m)
{
	struct decode *d = arg;

	if (d->quiet)
		return;
	printf("CRASH %10.3f reason %u pc 0x%08x sp 0x%08x %s:%u \"%s\" bt",
	    (double)m->t_us / 1e6, m->reason, m->pc, m->sp, m->file, m->line,
	    m->msg);
	for (uint32_t i = 0; i < m->bt_count; i++)
		printf(" 0x%08x", m->bt[i]);
	putchar('\n');
}

static void
on_mem(void *arg, const struct ac_msg_mem *m)
{
	struct decode *d = arg;

	if (d->print)
		printf("MEM req %u offset %u len %u of %u\n", m->req_id,
		    m->offset, m->len, m->total);
}

static void
on_reply(void *arg, const struct ac_msg_reply *m)
{
	struct decode *d = arg;

	if (d->print)
		printf("REPLY req %u %s %s value %" PRIu64 "\n", m->req_id,
		    ac_cmd_name(m->cmd), ac_status_name(m->status), m->value);
}

static void
on_stats(void *arg, const struct ac_msg_stats *m)
{
	struct decode *d = arg;

	d->agent = *m;
	d->have_agent_stats = true;
	if (d->print)
		printf("STATS samples %" PRIu64 " dropped %" PRIu64 " frames %"
		    PRIu64 " dropped %" PRIu64 " overruns %" PRIu64 "\n",
		    m->samples, m->samples_dropped, m->frames_sent,
		    m->frames_dropped, m->sampler_overruns);
}

static void
on_event(void *arg, enum session_event e, uint64_t n, const char *why)
{
	struct decode *d = arg;

	if (e == SE_VERSION)
		fprintf(stderr, "appcore-decode: %s\n", why);
	else if (!d->quiet)
		printf("EVENT %s %" PRIu64 " %s\n", session_event_name(e), n,
		    why);
}

static const struct session_cb callbacks = {
	.hello = on_hello, .desc = on_desc, .sample = on_sample,
	.log = on_log, .state = on_state, .crash = on_crash, .mem = on_mem,
	.reply = on_reply, .stats = on_stats, .event = on_event,
};

static void
send_cmd(struct decode *d, int fd, uint8_t cmd, uint32_t arg0)
{
	struct ac_msg_cmd c = { .cmd = cmd, .arg0 = arg0 };
	uint8_t buf[64];
	size_t n = session_cmd(&d->s, &c, buf, sizeof(buf));

	if (n > 0 && write(fd, buf, n) != (ssize_t)n)
		fprintf(stderr, "appcore-decode: write: %s\n", strerror(errno));
}

static void
live_line(struct decode *d)
{
	printf("t %9.3f s  samples %-8" PRIu64, (double)d->last_t / 1e6,
	    d->s.st.samples);
	for (uint32_t i = 0; i < d->ncols && i < 6; i++)
		printf("  %s=%" PRIu32, d->s.ctr[i].name, d->last_vals[i]);
	putchar('\n');
	fflush(stdout);
}

static void
summary(const struct decode *d)
{
	const struct session_stats *st = &d->s.st;

	printf("summary: frames %" PRIu64 " crc_errors %" PRIu64
	    " framing_errors %" PRIu64 " seq_gaps %" PRIu64 " frames_lost %"
	    PRIu64 " samples %" PRIu64 " samples_lost %" PRIu64 " malformed %"
	    PRIu64 " version_errors %" PRIu64 " bytes %" PRIu64 "\n",
	    st->frames, st->crc_errors, st->framing_errors, st->seq_gaps,
	    st->frames_lost, st->samples, st->samples_lost, st->malformed,
	    st->version_errors, d->s.df.st.bytes);
	if (d->have_agent_stats)
		printf("agent: samples %" PRIu64 " samples_dropped %" PRIu64
		    " frames_sent %" PRIu64 " frames_dropped %" PRIu64
		    " sampler_overruns %" PRIu64 " log_lost %" PRIu64
		    " txq_high_water %u\n", d->agent.samples,
		    d->agent.samples_dropped, d->agent.frames_sent,
		    d->agent.frames_dropped, d->agent.sampler_overruns,
		    d->agent.log_lost, d->agent.txq_high_water);
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: appcore-decode [options] DEVICE|tcp:HOST:PORT\n"
"Attaches to an appcore agent link and prints what it says.\n"
"  --print            every message\n"
"  --quiet            only the summary at the end\n"
"  --samples FILE     decoded samples: index t_us values...\n"
"  --raw FILE         every byte received, as received\n"
"  --duration S       stop after S seconds (default: until the link ends)\n"
"  --help\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "print", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "samples", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "raw", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct decode d;
	struct sigaction sa;
	uint64_t start, end = UINT64_MAX, last_live, hello_sent;
	double dur;
	char *ep;
	int ch, fd;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p': d.print = true; break;
		case 'q': d.quiet = true; break;
		case 's':
			if ((d.samples = fopen(optarg, "w")) == NULL) {
				fprintf(stderr, "appcore-decode: %s: %s\n",
				    optarg, strerror(errno));
				return 1;
			}
			setvbuf(d.samples, NULL, _IOFBF, 1 << 20);
			break;
		case 'r':
			if ((d.raw = fopen(optarg, "wb")) == NULL) {
				fprintf(stderr, "appcore-decode: %s: %s\n",
				    optarg, strerror(errno));
				return 1;
			}
			break;
		case 'd':
			dur = strtod(optarg, &ep);
			if (*ep != '\0' || dur <= 0) {
				fprintf(stderr, "appcore-decode: --duration: "
				    "'%s' is not a positive number\n", optarg);
				return 2;
			}
			end = (uint64_t)(dur * 1000);
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if ((fd = open_link(argv[optind])) < 0) {
		fprintf(stderr, "appcore-decode: %s: %s\n", argv[optind],
		    strerror(errno));
		return 1;
	}
	session_init(&d.s, &callbacks, &d);
	start = last_live = hello_sent = now_ms();
	if (end != UINT64_MAX)
		end += start;
	send_cmd(&d, fd, AC_CMD_HELLO, 0);
	while (!quit && now_ms() < end) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint8_t buf[4096];
		ssize_t n;

		if (poll(&pfd, 1, 200) < 0 && errno != EINTR)
			break;
		if (pfd.revents & POLLIN) {
			while ((n = read(fd, buf, sizeof(buf))) > 0) {
				if (d.raw != NULL)
					fwrite(buf, 1, (size_t)n, d.raw);
				session_feed(&d.s, buf, (size_t)n);
			}
			if (n == 0 || (n < 0 && errno != EAGAIN &&
			    errno != EINTR))
				break;
		} else if (pfd.revents & (POLLHUP | POLLERR))
			break;
		if (!d.s.have_hello && now_ms() - hello_sent >= 1000) {
			send_cmd(&d, fd, AC_CMD_HELLO, 0);
			hello_sent = now_ms();
		}
		if (!d.quiet && !d.print && now_ms() - last_live >= 1000) {
			live_line(&d);
			last_live = now_ms();
		}
	}
	close(fd);
	if (d.raw != NULL && fclose(d.raw) != 0) {
		fprintf(stderr, "appcore-decode: raw: %s\n", strerror(errno));
		return 1;
	}
	if (d.samples != NULL && fclose(d.samples) != 0) {
		fprintf(stderr, "appcore-decode: samples: %s\n",
		    strerror(errno));
		return 1;
	}
	summary(&d);
	return d.s.st.version_errors > 0 ? 3 : 0;
}
