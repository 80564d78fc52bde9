/*
 * appcored: the appcore daemon.  Finds boards, keeps a session with each
 * agent and stores what they say (SQLite rows, gdbm blobs).  See
 * appcored(8) and docs/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <systemd/sd-daemon.h>

#include "appcored.h"
#include "blobs.h"
#include "chexport.h"
#include "chtee.h"
#include "http.h"
#include "hex.h"
#include "imagefile.h"
#include "log.h"
#include "sim.h"
#include "store.h"
#include "symbols.h"
#include "wallclock.h"

#define MAX_POLL		256

/* Set by signal handlers, which may run on any thread: atomics, which
 * C11 allows in a handler when lock-free. */
static atomic_int quit, reload;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else
		quit = 1;
}

/* Blocks or unblocks, in the calling thread, the signals main handles. */
static void
threads_signals(int how)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	(void)pthread_sigmask(how, &set, NULL);
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: appcored [options]\n"
"       appcored --demo [--state-dir DIR] [--sim-args \"...\"]\n"
"The appcore daemon: reads ESP32-S3 core-1 agents over serial or TCP and\n"
"stores their telemetry in STATE_DIR/appcore.db (SQLite) and blobs.gdbm.\n"
"\n"
"  -c, --config FILE        configuration (default " CONFIG_DEFAULT_PATH ")\n"
"  -s, --state-dir DIR      where the database lives (/var/lib/appcored)\n"
"  -p, --port PATH|GLOB|tcp://HOST:PORT\n"
"                           an agent link; repeatable, replaces the\n"
"                           configuration's ports\n"
"      --no-autodetect      do not open Espressif USB-Serial-JTAG (303a:1001)\n"
"                           ports by themselves\n"
"      --baud N             serial baud rate (921600)\n"
"      --framing 8N1        serial data bits, parity, stop bits\n"
"      --rate HZ            ask every agent for this sample rate\n"
"      --raw-window DUR     keep raw samples this long (24h)\n"
"      --budget SIZE        database size budget (2G)\n"
"      --snapshot-interval DUR  shared-region snapshots (5m; 0: none)\n"
"      --listen ADDR:PORT   HTTP address (127.0.0.1:8080)\n"
"      --socket PATH        the same HTTP service on a unix socket too\n"
"      --user NAME          drop to this user when started as root\n"
"  -o, --option SECTION.KEY=VALUE\n"
"                           any key of appcored.conf, e.g.\n"
"                           -o storage.partition=5m -o daemon.log_level=info\n"
"      --demo               run the built-in simulator; no config, no root\n"
"      --sim-args \"ARGS\"    appcore-sim options for --demo\n"
"  -f, --foreground         accepted; appcored never forks\n"
"  -v, --verbose            more logging (twice: debug)\n"
"      --check-config       check the configuration and exit\n"
"  -h, --help, -V, --version\n");
}

/* ---- the simulator in a thread (--demo) ---- */

struct demo {
	pthread_t th;
	struct sim_board board;
	atomic_int stop;
	bool running;
};

static void *
demo_main(void *arg)
{
	struct demo *dm = arg;

	if (sim_board_run(&dm->board) < 0)
		log_warn("demo simulator stopped");
	/* A board that stops is a link that ends, as with a real one. */
	sim_link_close(&dm->board.link);
	return NULL;
}

/* The simulated core 1's ELF: the build's, else the installed one. */
static const char *
demo_core1_elf(void)
{
#ifdef APPCORE_DEMO_CORE1_ELF
	if (access(APPCORE_DEMO_CORE1_ELF, R_OK) == 0)
		return APPCORE_DEMO_CORE1_ELF;
#endif
	if (access(APPCORE_DEMO_CORE1_INSTALLED, R_OK) == 0)
		return APPCORE_DEMO_CORE1_INSTALLED;
	return NULL;
}

/* The whole file, malloc'd; NULL (errno set) when it cannot be read or
 * is over max bytes. */
static void *
file_read_all(const char *path, size_t max, size_t *n)
{
	FILE *f = fopen(path, "rb");
	void *p = NULL;
	long len;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 &&
	    (size_t)len <= max && fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)len)) != NULL &&
	    fread(p, 1, (size_t)len, f) == (size_t)len)
		*n = (size_t)len;
	else {
		free(p);
		p = NULL;
		errno = errno ? errno : EFBIG;
	}
	fclose(f);
	return p;
}

/*
 * The demo board's core-1 ELF, registered as if uploaded: the demo's
 * crashes are named from the first one, with no step by the user.
 * path NULL: none was built.
 */
static void
demo_register_image(struct daemon *d, const char *path)
{
	struct sym_info info;
	struct symtab *sym;
	uint8_t key[BLOB_KEY_LEN];
	char hex[BLOB_HEX_LEN], why[160];
	const char *base;
	size_t n = 0;
	void *p;

	if (path == NULL) {
		log_notice("demo: no core-1 ELF built; crashes show addresses "
		    "only");
		return;
	}
	if ((p = file_read_all(path, 64u << 20, &n)) == NULL) {
		log_warn("demo: %s", path);
		return;
	}
	if ((sym = sym_open(p, n, &info, why, sizeof(why))) == NULL) {
		log_warnx("demo: %s: %s", path, why);
		free(p);
		return;
	}
	sym_close(sym);
	blob_sha256(p, n, key);
	blob_key_hex(key, hex);
	base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	if (image_file_put(d->cfg.state_dir, hex, p, n) < 0)
		log_warn("demo: keeping %s", path);
	else if (image_row_put(store_db(d->store), hex, base, n,
	    now_wall_us(), &info) != SQLITE_DONE)
		log_warnx("demo: %s: %s", path, sqlite3_errmsg(store_db(
		    d->store)));
	else
		log_info("demo: core-1 image %s (%s) registered", hex, base);
	free(p);
}

static int
demo_start(struct demo *dm, struct daemon *d, const char *sim_args)
{
	char *argv[64], *copy, *tok, *save = NULL, link[32], err[256];
	struct sim_opts o;
	int argc = 0, sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) < 0)
		fatal("socketpair");
	snprintf(link, sizeof(link), "--link=fd:%d", sv[1]);
	argv[argc++] = (char *)"appcore-sim";
	copy = strdup(sim_args != NULL ? sim_args : "");
	for (tok = strtok_r(copy, " \t", &save); tok != NULL && argc < 60;
	    tok = strtok_r(NULL, " \t", &save))
		argv[argc++] = tok;
	argv[argc++] = link;
	argv[argc] = NULL;
	rc = sim_parse_args(&o, argc, argv, stdout, err, sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "appcored: --sim-args: %s\n", err);
		free(copy);
		return -1;
	}
	o.quiet = true;
	/* The image appcored picks itself is registered; one given in
	 * --sim-args is the user's to upload (as for a real board). */
	if (!sim_core1_is_xtensa(&o) && o.image_path == NULL)
		demo_register_image(d, o.image_path = demo_core1_elf());
	else if (sim_core1_is_xtensa(&o) && strcmp(o.core1, "xtensa") == 0)
		demo_register_image(d, sim_image_file(&o));
	if (sim_board_init(&dm->board, &o, &dm->stop) < 0) {
		fprintf(stderr, "appcored: demo simulator: %s\n",
		    strerror(errno));
		free(copy);
		return -1;
	}
	free(copy);
	if (pthread_create(&dm->th, NULL, demo_main, dm) != 0)
		fatalx("cannot start the demo simulator");
	dm->running = true;
	{
		struct link *l = link_add(d, LINK_FD, ORIGIN_DEMO, "demo");

		l->fd = sv[0];
		l->backoff_ms = 0;
		l->opened_at = now_wall_us();
		l->hello_asked = l->opened_at;
		l->next_snapshot = l->opened_at + 2000000;
		link_cmd(l, AC_CMD_HELLO, 0, 0);
	}
	return 0;
}

static void
demo_stop(struct demo *dm)
{
	if (!dm->running)
		return;
	dm->stop = 1;
	pthread_join(dm->th, NULL);
	sim_board_free(&dm->board);
	dm->running = false;
}

/* ---- setup ---- */

/* The API's bearer token: made once, kept in the state directory, 0600. */
static void
load_token(struct daemon *d)
{
	char path[600];
	uint8_t raw[32];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/api-token", d->cfg.state_dir);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%64s", d->token) == 1 && strlen(d->token) == 64) {
			fclose(f);
			return;
		}
		fclose(f);
		log_warnx("%s is not a token; making a new one", path);
	}
	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) < 0 ||
	    read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw))
		fatal("/dev/urandom");
	close(fd);
	hex_encode(d->token, raw, 32);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0 || fchmod(fd, 0600) < 0 ||
	    write(fd, d->token, 64) != 64 || write(fd, "\n", 1) != 1)
		fatal("%s", path);
	close(fd);
	log_notice("API token written to %s", path);
}

static void
pick_web_root(struct daemon *d)
{
	struct stat st;

	if (d->cfg.web_root[0] != '\0')
		snprintf(d->web_root, sizeof(d->web_root), "%s",
		    d->cfg.web_root);
	else if (!d->demo && stat(APPCORE_WEB_INSTALLED "/index.html",
	    &st) == 0)
		snprintf(d->web_root, sizeof(d->web_root), "%s",
		    APPCORE_WEB_INSTALLED);
	else if (stat(APPCORE_WEB_SOURCE "/index.html", &st) == 0)
		snprintf(d->web_root, sizeof(d->web_root), "%s",
		    APPCORE_WEB_SOURCE);
	else
		snprintf(d->web_root, sizeof(d->web_root), "%s",
		    APPCORE_WEB_INSTALLED);
}

static void
make_state_dir(const char *dir)
{
	char path[sizeof(((struct config *)0)->state_dir)];

	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			fatal("%s", path);
		*p = '/';
	}
	if (mkdir(path, 0750) < 0 && errno != EEXIST)
		fatal("%s", path);
}

static int
lock_state_dir(const char *dir)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/appcored.lock", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0)
		fatal("%s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			fatalx("another appcored is using %s", dir);
		fatal("%s", path);
	}
	return fd;
}

static void
drop_privileges(const struct config *c)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return;
	if ((pw = getpwnam(c->user)) == NULL)
		fatalx("user '%s' does not exist (systemd-sysusers creates "
		    "it; or set [daemon] user)", c->user);
	if (pw->pw_uid == 0) {
		log_warnx("running as root: [daemon] user is %s", c->user);
		return;
	}
	if (chown(c->state_dir, pw->pw_uid, pw->pw_gid) < 0)
		fatal("chown %s", c->state_dir);
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 ||
	    setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		fatal("cannot drop privileges to %s", c->user);
	if (setuid(0) == 0)
		fatalx("could regain root after dropping privileges");
	log_info("running as %s", c->user);
}

/* Explicit ports get a link each; globs are found by link_scan. */
static void
add_config_links(struct daemon *d)
{
	for (int i = 0; i < d->cfg.nports; i++) {
		const char *p = d->cfg.ports[i];
		bool have = false;

		if (strpbrk(p, "*?[") != NULL)
			continue;
		for (struct link *l = d->links; l != NULL; l = l->next)
			have |= strcmp(l->spec, p) == 0;
		if (!have)
			link_add(d, strncmp(p, "tcp://", 6) == 0 ? LINK_TCP :
			    LINK_SERIAL, ORIGIN_CONFIG, p);
	}
}

/* ---- command line ---- */

enum {
	OPT_NO_AUTODETECT = 256, OPT_BAUD, OPT_FRAMING, OPT_RATE,
	OPT_RAW_WINDOW, OPT_BUDGET, OPT_SNAPSHOT, OPT_LISTEN, OPT_USER,
	OPT_DEMO, OPT_SIM_ARGS, OPT_CHECK, OPT_SOCKET
};

#define GETOPT_SHORT	"c:s:p:o:fvhV"

static const struct option longopts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "state-dir", required_argument, NULL, 's' },
	{ "port", required_argument, NULL, 'p' },
	{ "option", required_argument, NULL, 'o' },
	{ "no-autodetect", no_argument, NULL, OPT_NO_AUTODETECT },
	{ "baud", required_argument, NULL, OPT_BAUD },
	{ "framing", required_argument, NULL, OPT_FRAMING },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "raw-window", required_argument, NULL, OPT_RAW_WINDOW },
	{ "budget", required_argument, NULL, OPT_BUDGET },
	{ "snapshot-interval", required_argument, NULL, OPT_SNAPSHOT },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "user", required_argument, NULL, OPT_USER },
	{ "demo", no_argument, NULL, OPT_DEMO },
	{ "sim-args", required_argument, NULL, OPT_SIM_ARGS },
	{ "foreground", no_argument, NULL, 'f' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "check-config", no_argument, NULL, OPT_CHECK },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

struct args {
	const char *config;
	bool demo, check;
	const char *sim_args;
	int verbose;
};

/* First pass: what decides how the configuration is read. */
static void
scan_args(int argc, char **argv, struct args *a)
{
	int ch;

	memset(a, 0, sizeof(*a));
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, GETOPT_SHORT, longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c': a->config = optarg; break;
		case OPT_DEMO: a->demo = true; break;
		case OPT_SIM_ARGS: a->sim_args = optarg; break;
		case OPT_CHECK: a->check = true; break;
		case 'v': a->verbose++; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("appcored %s\n", APPCORE_VERSION); exit(0);
		case '?':
			fprintf(stderr, "appcored: unknown option or missing "
			    "value: '%s'\n", argv[optind - 1]);
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "appcored: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		exit(2);
	}
}

/* Second pass, after the file: options override it.  0 or -1. */
static int
apply_args(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
	bool ports_replaced = false;
	char e[256];
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, GETOPT_SHORT, longopts,
	    NULL)) != -1) {
		const char *sec = NULL, *key = NULL, *val = optarg;

		switch (ch) {
		case 's': sec = "daemon"; key = "state_dir"; break;
		case 'p':
			if (!ports_replaced) {
				config_free(c);
				ports_replaced = true;
			}
			sec = "link"; key = "port"; break;
		case OPT_NO_AUTODETECT: c->autodetect = false; break;
		case OPT_BAUD: sec = "link"; key = "baud"; break;
		case OPT_FRAMING: sec = "link"; key = "framing"; break;
		case OPT_RATE: sec = "link"; key = "rate"; break;
		case OPT_RAW_WINDOW: sec = "storage"; key = "raw_window"; break;
		case OPT_BUDGET: sec = "storage"; key = "budget"; break;
		case OPT_SNAPSHOT:
			sec = "storage"; key = "snapshot_interval"; break;
		case OPT_LISTEN: sec = "http"; key = "listen"; break;
		case OPT_SOCKET: sec = "http"; key = "socket"; break;
		case OPT_USER: sec = "daemon"; key = "user"; break;
		case 'o': {
			/* Any key of the file: -o storage.partition=5m */
			static char buf[512];
			char *dot, *eq;

			snprintf(buf, sizeof(buf), "%s", optarg);
			dot = strchr(buf, '.');
			eq = strchr(buf, '=');
			if (dot == NULL || eq == NULL || eq < dot) {
				snprintf(err, errlen, "-o: '%s' is not "
				    "SECTION.KEY=VALUE", optarg);
				return -1;
			}
			*dot = *eq = '\0';
			if (strcmp(buf, "link") == 0 &&
			    strcmp(dot + 1, "port") == 0 && !ports_replaced) {
				config_free(c);
				ports_replaced = true;
			}
			if (config_set(c, buf, dot + 1, eq + 1, e,
			    sizeof(e)) < 0) {
				snprintf(err, errlen, "-o %s: %s", optarg, e);
				return -1;
			}
			break;
		}
		default: break;
		}
		if (sec != NULL && config_set(c, sec, key, val, e,
		    sizeof(e)) < 0) {
			snprintf(err, errlen, "--%s: %s", key, e);
			return -1;
		}
	}
	return 0;
}

static int
load_config(struct config *c, const struct args *a, int argc, char **argv,
    char *err, size_t errlen)
{
	config_defaults(c);
	if (a->demo) {
		const char *xdg = getenv("XDG_STATE_HOME"), *home =
		    getenv("HOME");

		if (xdg != NULL && xdg[0] == '/')
			snprintf(c->state_dir, sizeof(c->state_dir),
			    "%s/appcored-demo", xdg);
		else if (home != NULL && home[0] == '/')
			snprintf(c->state_dir, sizeof(c->state_dir),
			    "%s/.local/state/appcored-demo", home);
		else
			snprintf(c->state_dir, sizeof(c->state_dir),
			    "/tmp/appcored-demo-%u", (unsigned)getuid());
		c->autodetect = false;
		c->snapshot_us = 60ull * 1000000;
	}
	if ((a->config != NULL || !a->demo) && config_load(c, a->config ?
	    a->config : CONFIG_DEFAULT_PATH, a->config != NULL, err,
	    errlen) < 0)
		return -1;
	if (apply_args(c, argc, argv, err, errlen) < 0)
		return -1;
	c->verbosity += a->verbose;
	return 0;
}

/* ---- the loop ---- */

static void
status(struct daemon *d, uint64_t now, uint64_t *last_samples,
    uint64_t *last_t)
{
	const struct store_stats *st = store_stats(d->store);
	unsigned up = 0, known = 0;
	double rate = 0;

	for (struct device *dev = d->devices; dev != NULL; dev = dev->next) {
		known++;
		up += dev->link != NULL;
	}
	if (now > *last_t)
		rate = (double)(d->samples_total - *last_samples) * 1e6 /
		    (double)(now - *last_t);
	*last_samples = d->samples_total;
	*last_t = now;
	sd_notifyf(0, "STATUS=%u of %u devices connected, %.0f samples/s, "
	    "database %.1f MB%s", up, known, rate,
	    (double)st->db_bytes / 1e6, st->paused ?
	    ", WRITES PAUSED (disk full?)" : "");
}

/* Whether the [http] settings differ: the HTTP threads keep theirs. */
static bool
http_settings_differ(const struct config *a, const struct config *b)
{
	bool hosts = a->nhosts != b->nhosts;

	for (int i = 0; i < a->nhosts && !hosts; i++)
		hosts = strcmp(a->hosts[i], b->hosts[i]) != 0;
	return hosts || strcmp(a->listen, b->listen) != 0 ||
	    strcmp(a->socket, b->socket) != 0 ||
	    strcmp(a->web_root, b->web_root) != 0 ||
	    a->stream_lag != b->stream_lag ||
	    a->query_memory != b->query_memory ||
	    a->query_timeout_us != b->query_timeout_us;
}

static void
do_reload(struct daemon *d, const struct args *a, int argc, char **argv)
{
	struct config nc;
	char err[512];

	sd_notify(0, "RELOADING=1");
	if (load_config(&nc, a, argc, argv, err, sizeof(err)) < 0) {
		log_warnx("reload: %s; keeping the running configuration", err);
		config_free(&nc);
		sd_notify(0, "READY=1");
		return;
	}
	if (strcmp(nc.state_dir, d->cfg.state_dir) != 0)
		log_warnx("reload: state_dir changes need a restart");
	if (http_settings_differ(&nc, &d->cfg))
		log_warnx("reload: [http] changes need a restart");
	snprintf(nc.state_dir, sizeof(nc.state_dir), "%s", d->cfg.state_dir);
	config_free(&d->cfg);
	d->cfg = nc;
	log_init("appcored", d->cfg.verbosity);
	store_set_cfg(d->store, &d->cfg.store);
	/* Configured links no longer configured go; new ones come. */
	for (struct link *l = d->links, *next; l != NULL; l = next) {
		bool keep = l->origin != ORIGIN_CONFIG;

		next = l->next;
		for (int i = 0; i < d->cfg.nports && !keep; i++)
			keep = strcmp(d->cfg.ports[i], l->spec) == 0;
		if (!keep) {
			log_notice("%s: removed from the configuration",
			    l->spec);
			link_free(l);
		}
	}
	add_config_links(d);
	/* The agents get the rate and restart policy now in force. */
	for (struct link *l = d->links; l != NULL; l = l->next)
		l->rate_asked = l->policy_asked = false;
	d->next_scan = 0;
	log_notice("configuration reloaded");
	sd_notify(0, "READY=1");
}

/* What a control command does, in words, for its event. */
static void
control_text(const struct command *c, const struct device *dev, char *buf,
    size_t n)
{
	switch (c->cmd) {
	case AC_CMD_RESTART_CORE1:
		snprintf(buf, n, "restart core 1");
		break;
	case AC_CMD_SNAPSHOT:
		snprintf(buf, n, "take a snapshot of the region");
		break;
	case AC_CMD_SET_RATE:
		snprintf(buf, n, "set the sample rate to %u Hz (was %u Hz)",
		    c->arg0, dev->have_boot ? dev->hello.rate_hz : 0);
		break;
	case AC_CMD_SET_RESTART:
		if (c->arg0 == AC_RESTART_LIMIT)
			snprintf(buf, n, "set the restart policy to at most %u "
			    "restarts an hour", c->arg1);
		else
			snprintf(buf, n, "set the restart policy to %s",
			    c->arg0 == AC_RESTART_NEVER ? "never" : "always");
		break;
	default:
		snprintf(buf, n, "%s", ac_cmd_name(c->cmd));
	}
}

/* A control command as an event: what, and who asked. */
static void
control_event(struct device *dev, const struct command *c, bool sent)
{
	char what[96], detail[256];

	control_text(c, dev, what, sizeof(what));
	snprintf(detail, sizeof(detail), "%s, asked by %s through the API%s",
	    what, c->who[0] ? c->who : "an unknown client",
	    sent ? "" : ": not sent, the board is not connected");
	device_event(dev, now_wall_us(), "control", 1, detail);
}

/* Lets go of a port for c->arg0 seconds (flashing), or takes it back
 * (0): the link closes now and opens again when the hold ends. */
static void
port_command(struct daemon *d, const struct command *c)
{
	uint64_t now = now_wall_us();
	uint64_t until = c->arg0 ? now + (uint64_t)c->arg0 * 1000000 : 0;
	char why[400];
	struct link *l;

	for (l = d->links; l != NULL; l = l->next)
		if (strcmp(l->spec, c->port) == 0)
			break;
	if (port_hold(d, c->port, until, now) < 0) {
		log_warnx("API: %s: %d ports are held already", c->port,
		    PORT_HOLDS_MAX);
		return;
	}
	if (c->arg0)
		snprintf(why, sizeof(why), "let go of for %u s (flashing), "
		    "asked by %s", c->arg0, c->who);
	else
		snprintf(why, sizeof(why), "taken back, asked by %s", c->who);
	log_notice("%s: %s", c->port, why);
	if (l != NULL && l->dev != NULL)
		device_event(l->dev, now, c->arg0 ? "port-released" :
		    "port-reclaimed", 1, why);
	else
		store_event(d->store, 0, 0, now, c->arg0 ? "port-released" :
		    "port-reclaimed", 1, c->port);
	if (l == NULL)
		return;			/* held before it shows up */
	if (c->arg0 && l->fd >= 0)
		link_close(l, now, "let go of for flashing");
	l->next_try = c->arg0 ? until : now;
}

/* Control commands the API queued: to the device's link. */
static void
run_commands(struct daemon *d)
{
	struct command c;

	while (bridge_next_command(d->bridge, &c)) {
		struct device *dev;

		if (c.port[0] != '\0') {
			port_command(d, &c);
			continue;
		}
		if (c.update != 0) {
			update_begin(d, c.update, c.who);
			continue;
		}

		for (dev = d->devices; dev != NULL; dev = dev->next)
			if (dev->id == c.device)
				break;
		if (dev == NULL || dev->link == NULL) {
			log_info("API: %s for device %" PRId64 ": not connected",
			    ac_cmd_name(c.cmd), c.device);
			if (dev != NULL && c.cmd != AC_CMD_READ_MEM)
				control_event(dev, &c, false);
			if (c.cmd == AC_CMD_READ_MEM)
				bridge_read_done(d->bridge, c.read_id, 503);
			continue;
		}
		if (c.cmd == AC_CMD_READ_MEM) {
			struct link *l = dev->link;

			if (!bridge_read_alive(d->bridge, c.read_id))
				continue;	/* the client gave up */
			/* A read that timed out or whose client went is
			 * over for the link too. */
			if (l->read_id != 0 &&
			    !bridge_read_alive(d->bridge, l->read_id))
				l->read_id = 0;
			if (l->read_id != 0) {
				bridge_read_done(d->bridge, c.read_id, 409);
				continue;
			}
			if ((l->read_req = link_cmd(l, c.cmd, c.arg0,
			    c.arg1)) == 0) {
				bridge_read_done(d->bridge, c.read_id, 503);
				continue;
			}
			l->read_id = c.read_id;
			continue;
		}
		log_notice("%s: %s: %s (from the API, %s)", dev->link->spec,
		    dev->name, ac_cmd_name(c.cmd), c.who);
		control_event(dev, &c, true);
		if (c.cmd == AC_CMD_SNAPSHOT)
			dev->link->next_snapshot = 0;	/* with the next tick */
		else
			link_cmd(dev->link, c.cmd, c.arg0, c.arg1);
	}
}

/* [clickhouse]: the forwarder, fed by the store's tee (docs/fleet.md). */
static void
start_clickhouse(struct daemon *d)
{
	struct store_tee tee;
	char err[200];

	if (d->cfg.clickhouse.url[0] == '\0')
		return;
	if ((d->chx = chx_start(&d->cfg.clickhouse, err, sizeof(err))) ==
	    NULL)
		fatalx("%s", err);
	if ((d->chtee = chtee_new(store_db(d->store), chx_rows(d->chx))) == NULL)
		fatalx("clickhouse: out of memory");
	chtee_bind(d->chtee, &tee);
	store_set_tee(d->store, &tee);
	log_notice("clickhouse: forwarding raw history to %s, database %s",
	    d->cfg.clickhouse.url, d->cfg.clickhouse.database);
}

static void
stop_clickhouse(struct daemon *d)
{
	if (d->chx == NULL)
		return;
	store_set_tee(d->store, NULL);
	chtee_free(d->chtee);
	chx_stop(d->chx, 5000);
	d->chx = NULL;
	d->chtee = NULL;
}

static void
copy_export_stats(struct daemon *d)
{
	struct chx_stats st;

	if (d->chx == NULL)
		return;
	chx_get_stats(d->chx, &st);
	pthread_mutex_lock(&d->live->mu);
	d->live->export = (struct live_export){ true, st.rows_sent,
	    st.rows_dropped, st.inserts, st.failures, st.queued_bytes,
	    st.queued_rows };
	pthread_mutex_unlock(&d->live->mu);
}

static void
copy_store_stats(struct daemon *d)
{
	const struct store_stats *st = store_stats(d->store);
	uint64_t tracked = 0;

	for (struct device *dev = d->devices; dev != NULL; dev = dev->next)
		tracked++;
	pthread_mutex_lock(&d->live->mu);
	d->live->store = (struct store_copy){ st->samples_written, st->commits,
	    st->commit_failures, st->samples_lost, st->queued, st->db_bytes,
	    st->file_bytes, st->raw_blocks, st->paused, st->rows_lost,
	    d->gc.removed, tracked, d->devices_forgotten };
	pthread_mutex_unlock(&d->live->mu);
}

static int
run(struct daemon *d, const struct args *a, int argc, char **argv)
{
	struct pollfd pfd[MAX_POLL];
	struct link *pl[MAX_POLL];
	uint64_t watchdog_us = 0, next_watchdog = 0, next_status = 0,
	    last_samples = 0, last_t = now_wall_us(), next_keepalive = 0,
	    next_gc = 0;
	bool paused = false;

	if (sd_watchdog_enabled(0, &watchdog_us) <= 0)
		watchdog_us = 0;
	sd_notify(0, "READY=1");
	while (!atomic_load(&quit)) {
		uint64_t now = now_wall_us(), next = now + 1000000;
		int n = 0, timeout;

		if (atomic_exchange(&reload, 0)) {
			do_reload(d, a, argc, argv);
		}
		link_scan(d, now);
		for (struct link *l = d->links; l != NULL; l = l->next) {
			uint64_t held = l->fd < 0 ? port_held_until(d, l->spec,
			    now) : 0;

			if (held > l->next_try)
				l->next_try = held;	/* let go: flashing */
			if (l->fd < 0 && l->kind != LINK_FD &&
			    now >= l->next_try)
				(void)link_open(l, now);
			if (l->fd < 0) {
				if (l->kind != LINK_FD && l->next_try < next)
					next = l->next_try;
				continue;
			}
			device_tick(d, l, now);
			if (n < MAX_POLL) {
				pfd[n].fd = l->fd;
				pfd[n].events = POLLIN | (l->connecting ||
				    l->txlen ? POLLOUT : 0);
				pfd[n].revents = 0;
				pl[n++] = l;
			}
		}
		if (d->chx != NULL) {
			uint64_t c = chx_tick(d->chx, now);

			next = c < next ? c : next;
		}
		{
			uint64_t s = store_tick(d->store, now);
			const struct store_stats *st = store_stats(d->store);

			next = s < next ? s : next;
			if (st->paused != paused) {
				paused = st->paused;
				if (paused)
					log_warnx("database writes failing (%s); "
					    "holding %" PRIu64 " rows in memory "
					    "and retrying", st->last_error,
					    st->queued);
				else
					log_notice("database writes resumed");
				store_event(d->store, 0, 0, now, paused ?
				    "writes-paused" : "writes-resumed", 1,
				    paused ? st->last_error : "");
			}
		}
		if (watchdog_us != 0 && now >= next_watchdog) {
			sd_notify(0, "WATCHDOG=1");
			next_watchdog = now + watchdog_us / 2;
		}
		if (now >= next_status) {
			status(d, now, &last_samples, &last_t);
			next_status = now + 2000000;
		}
		if (now >= next_gc) {
			size_t gone = blobgc_run(&d->gc, d->blobs, d->store);

			if (gone > 0)
				log_info("%zu blobs nobody refers to removed",
				    gone);
			next_gc = now + BLOBGC_INTERVAL_US;
		}
		copy_store_stats(d);
		copy_export_stats(d);
		bridge_read_timeouts(d->bridge, now);
		if (now >= next_keepalive) {
			bridge_keepalive(d->bridge);
			next_keepalive = now + 15000000;
		}
		if (n < MAX_POLL) {
			pfd[n].fd = bridge_fd(d->bridge);
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			pl[n++] = NULL;
		}
		timeout = next > now ? (int)((next - now + 999) / 1000) : 0;
		if (timeout > 1000)
			timeout = 1000;
		if (poll(pfd, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		now = now_wall_us();
		for (int i = 0; i < n; i++) {
			struct link *l = pl[i];

			if (l == NULL) {	/* the bridge: HTTP's asks */
				if (pfd[i].revents & POLLIN) {
					run_commands(d);
					bridge_serve_blobs(d->bridge, d->blobs);
				}
				continue;
			}
			if (pfd[i].revents == 0 || l->fd != pfd[i].fd)
				continue;
			if (pfd[i].revents & POLLOUT) {
				if (l->connecting)
					link_read(l, now);
				else
					link_write(l);
			}
			if (l->fd >= 0 && (pfd[i].revents & POLLIN))
				link_read(l, now);
			/* Unplug (or a pty master's close) shows up as HUP or
			 * ERR, with POLLIN too; what could be read was read. */
			if (l->fd >= 0 && (pfd[i].revents &
			    (POLLHUP | POLLERR | POLLNVAL)))
				link_close(l, now, pfd[i].revents & POLLHUP ?
				    "hang-up" : "error on the port");
		}
	}
	sd_notify(0, "STOPPING=1");
	return 0;
}

int
main(int argc, char **argv)
{
	static struct daemon d;
	static struct demo dm;
	struct args a;
	struct sigaction sa;
	char err[512], note[512], path[512];
	int lockfd;

	scan_args(argc, argv, &a);
	log_init("appcored", a.verbose);
	if (load_config(&d.cfg, &a, argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "appcored: %s\n", err);
		return 2;
	}
	if (a.check) {
		printf("appcored: configuration ok\n");
		return 0;
	}
	log_init("appcored", d.cfg.verbosity);
	d.demo = a.demo;
	d.config_path = a.config;
	d.quit = &quit;
	d.started = now_wall_us();
	if ((d.bridge = bridge_new()) == NULL)
		fatal("bridge");
	d.live = bridge_live(d.bridge);
	d.live->started = d.started;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	make_state_dir(d.cfg.state_dir);
	if (!d.demo)
		drop_privileges(&d.cfg);
	lockfd = lock_state_dir(d.cfg.state_dir);
	snprintf(path, sizeof(path), "%s/appcore.db", d.cfg.state_dir);
	/* Opening may migrate the database (schema 9 converts raw
	 * partitions: about 2.3 million samples a second): systemd waits. */
	sd_notify(0, "EXTEND_TIMEOUT_USEC=600000000\nSTATUS=opening the "
	    "database (a migration may take minutes)");
	if ((d.store = store_open(path, &d.cfg.store, err, sizeof(err))) ==
	    NULL)
		fatalx("%s", err);
	snprintf(path, sizeof(path), "%s/blobs.gdbm", d.cfg.state_dir);
	if ((d.blobs = blobs_open(path, err, sizeof(err), note,
	    sizeof(note))) == NULL)
		fatalx("%s", err);
	if (note[0] != '\0') {
		log_warnx("%s", note);
		store_event(d.store, 0, 0, now_wall_us(), "blobs-recovered", 1,
		    note);
	}
	device_prune_partial_dumps(&d);
	start_clickhouse(&d);
	store_event(d.store, 0, 0, now_wall_us(), "daemon-start", 1,
	    APPCORE_VERSION);
	(void)store_commit(d.store, now_wall_us());	/* the HTTP reader */
	load_token(&d);
	pick_web_root(&d);
	/* The threads started here (HTTP, the demo board) inherit blocked
	 * signals: SIGTERM, SIGINT and SIGHUP reach the main thread only. */
	threads_signals(SIG_BLOCK);
	if ((d.http = http_start(&d.cfg, d.bridge, d.token, d.web_root, err,
	    sizeof(err))) == NULL)
		fatalx("http: %s", err);
	add_config_links(&d);
	if (d.demo) {
		if (demo_start(&dm, &d, a.sim_args) < 0)
			return 2;
		printf("appcored: demo: simulator running, database %s/"
		    "appcore.db\n", d.cfg.state_dir);
	}
	threads_signals(SIG_UNBLOCK);
	{
		char host[128];

		snprintf(host, sizeof(host), "%s", d.cfg.listen);
		*strrchr(host, ':') = '\0';
		printf("appcored: dashboard on http://%s:%u/\n", host[0] ?
		    host : "127.0.0.1", http_port(d.http));
		fflush(stdout);
		log_info("web root %s", d.web_root);
	}
	log_notice("appcored %s: state in %s, %d configured port(s)%s",
	    APPCORE_VERSION, d.cfg.state_dir, d.cfg.nports,
	    d.cfg.autodetect ? ", auto-detecting 303a:1001" : "");

	run(&d, &a, argc, argv);

	log_notice("stopping");
	http_stop(d.http);		/* the bridge refuses reads from now */
	d.http = NULL;
	demo_stop(&dm);
	for (struct link *l = d.links, *next; l != NULL; l = next) {
		next = l->next;
		link_free(l);
	}
	store_event(d.store, 0, 0, now_wall_us(), "daemon-stop", 1, "");
	stop_clickhouse(&d);
	store_close(d.store, 5000);
	blobs_close(d.blobs);
	blobgc_free(&d.gc);
	while (d.devices != NULL) {
		struct device *next = d.devices->next;

		device_free(d.devices);
		d.devices = next;
	}
	config_free(&d.cfg);
	bridge_free(d.bridge);
	close(lockfd);
	return 0;
}
