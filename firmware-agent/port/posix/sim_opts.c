/*
 * appcore-sim's options, shared by appcore-sim and appcored --demo
 * --sim-args.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

void
sim_usage(FILE *f)
{
	fprintf(f,
"usage: appcore-sim [options]\n"
"A simulated ESP32-S3: a bare-metal audio workload on \"core 1\" and the\n"
"appcore agent on \"core 0\", speaking the appcore wire protocol.\n"
"\n"
"  --link pty|tcp:PORT    the link: a pty (its path is printed) or a TCP\n"
"                         listen socket on 127.0.0.1 (PORT 0 picks one)\n"
"  --rate HZ              sample rate, 1..1000 (default 100)\n"
"  --counters N           counters core 1 publishes, 1..%u (default 64)\n"
"  --panic-after S        core 1 panics S seconds after start\n"
"  --panic-each-run       --panic-after counts from every start of core 1\n"
"  --hang-after S         core 1 stops its heartbeat after S seconds\n"
"  --corrupt-after S      core 1 scribbles over the region header\n"
"  --hang-timeout MS      heartbeat silence that means hung (default 1000)\n"
"  --batch-ms MS          longest a sample waits for its frame (default 10)\n"
"  --truth FILE           write every sample produced: index t_us values...\n"
"  --duration S           exit after S seconds\n"
"  --device-id ID         device id, 1..16 bytes (default sim-0)\n"
"  --image FILE           report FILE's SHA-256 as the core-1 image hash\n"
"  --crash-store FILE     keep an undelivered crash in FILE across runs (the\n"
"                         board's flash partition); created when missing\n"
"  --slots DIR            core-1 image slots A/B and their record, as files in\n"
"                         DIR (the board's flash; updates: docs/updates.md)\n"
"  --slot-size BYTES      size of each slot (default 1048576)\n"
"  --restart POLICY       after a crash is safe: never (default), always,\n"
"                         or N = at most N restarts of core 1 per hour\n"
"  --dump-truth FILE      write the region as frozen for each crash dump\n"
"  --core1 rust           core 1 runs the workload written in Rust (the\n"
"                         appcore-core1 crate; Rust panics are recorded)\n"
"  --core1 xtensa[:ELF]   core 0 and core 1 as real Xtensa code under QEMU\n"
"                         (two LX106 CPUs; default ELF: the bundled demo);\n"
"                         --panic-after takes --fault illegal|unaligned|bus\n"
"  --no-rtt               the agent looks for no SEGGER RTT control block\n"
"  --no-samples-ref       answer samples-ref as an older agent would (no\n"
"                         references: a host waits for the next key frame)\n"
"  --region-size BYTES    shared region size (default %u)\n"
"  --seed N               workload random seed (default 1)\n"
"  --quiet                print only the link line\n"
"  --help, --version\n", AC_MAX_COUNTERS, AC_REGION_DEFAULT_SIZE);
}

static int
parse_num(const char *opt, const char *s, double lo, double hi, double *out,
    char *err, size_t errlen)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		snprintf(err, errlen, "--%s: '%s' is not a number in [%g, %g]",
		    opt, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

int
sim_parse_args(struct sim_opts *o_, int argc, char **argv, FILE *out,
    char *err, size_t errlen)
{
	static const struct option longopts[] = {
		{ "link", required_argument, NULL, 'l' },
		{ "rate", required_argument, NULL, 'r' },
		{ "counters", required_argument, NULL, 'n' },
		{ "panic-after", required_argument, NULL, 'P' },
		{ "hang-after", required_argument, NULL, 'H' },
		{ "corrupt-after", required_argument, NULL, 'C' },
		{ "hang-timeout", required_argument, NULL, 'T' },
		{ "batch-ms", required_argument, NULL, 'B' },
		{ "truth", required_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "device-id", required_argument, NULL, 'i' },
		{ "image", required_argument, NULL, 'I' },
		{ "region-size", required_argument, NULL, 'R' },
		{ "seed", required_argument, NULL, 's' },
		{ "crash-store", required_argument, NULL, 'S' },
		{ "panic-each-run", no_argument, NULL, 'E' },
		{ "restart", required_argument, NULL, 'X' },
		{ "dump-truth", required_argument, NULL, 'D' },
		{ "no-samples-ref", no_argument, NULL, 'N' },
		{ "no-rtt", no_argument, NULL, 'O' },
		{ "core1", required_argument, NULL, 'K' },
		{ "slots", required_argument, NULL, 'L' },
		{ "slot-size", required_argument, NULL, 'Z' },
		{ "fault", required_argument, NULL, 'F' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct sim_opts o;
	double v;
	int ch;

	sim_opts_defaults(&o);
	optind = 1;	/* may be called more than once in one process */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		const char *name = longopts[0].name;

		for (const struct option *lo = longopts; lo->name; lo++)
			if (lo->val == ch)
				name = lo->name;
		switch (ch) {
		case 'l': o.link = optarg; break;
		case 't': o.truth_path = optarg; break;
		case 'i': o.device_id = optarg; break;
		case 'I': o.image_path = optarg; break;
		case 'S': o.store_path = optarg; break;
		case 'L': o.slots_dir = optarg; break;
		case 'D': o.dump_truth_path = optarg; break;
		case 'X':
			if (strcmp(optarg, "never") == 0)
				o.restart = AC_RESTART_NEVER;
			else if (strcmp(optarg, "always") == 0)
				o.restart = AC_RESTART_ALWAYS;
			else if (parse_num(name, optarg, 1, AC_RESTART_MAX, &v,
			    err, errlen) == 0) {
				o.restart = AC_RESTART_LIMIT;
				o.restart_max = (uint32_t)v;
			} else {
				snprintf(err, errlen, "--restart: '%s' is not "
				    "never, always or 1..%u", optarg,
				    AC_RESTART_MAX);
				return -1;
			}
			break;
		case 'q': o.quiet = true; break;
		case 'K':
			if (strcmp(optarg, "host") != 0 &&
			    strcmp(optarg, "rust") != 0 &&
			    strcmp(optarg, "xtensa") != 0 &&
			    strncmp(optarg, "xtensa:", 7) != 0) {
				snprintf(err, errlen, "--core1: '%s' is none "
				    "of host, rust, xtensa, xtensa:FILE.elf",
				    optarg);
				return -1;
			}
#ifndef APPCORE_HAVE_RUST
			if (strcmp(optarg, "rust") == 0) {
				snprintf(err, errlen, "--core1 rust: this "
				    "appcore-sim was built without cargo");
				return -1;
			}
#endif
			o.core1 = strcmp(optarg, "host") == 0 ? NULL : optarg;
			break;
		case 'F':
			if (strcmp(optarg, "illegal") != 0 &&
			    strcmp(optarg, "unaligned") != 0 &&
			    strcmp(optarg, "bus") != 0) {
				snprintf(err, errlen, "--fault: '%s' is none of "
				    "illegal, unaligned, bus", optarg);
				return -1;
			}
			o.fault = optarg;
			break;
		case 'N': o.no_samples_ref = true; break;
		case 'O': o.no_rtt = true; break;
		case 'E': o.panic_each_run = true; break;
		case 'h': sim_usage(out); return 1;
		case 'V': fprintf(out, "appcore-sim %s\n", AC_AGENT_VERSION);
			return 1;
		case 'r': case 'n': case 'T': case 'B': case 'R': case 's':
		case 'P': case 'H': case 'C': case 'd': case 'Z': {
			static const struct {
				int ch; double lo, hi;
			} lim[] = {
				{ 'r', AC_RATE_MIN, AC_RATE_MAX },
				{ 'n', 1, AC_MAX_COUNTERS },
				{ 'T', 1, 3600000 }, { 'B', 1, 1000 },
				{ 'R', AC_REGION_MIN_SIZE, 1 << 24 },
				{ 's', 0, 4294967295.0 },
				{ 'P', 0, 1e7 }, { 'H', 0, 1e7 }, { 'C', 0, 1e7 },
				{ 'd', 0, 1e7 },
				{ 'Z', AC_SLOT_SECTOR, AC_IMAGE_MAX },
			};
			size_t k = 0;

			while (lim[k].ch != ch)
				k++;
			if (parse_num(name, optarg, lim[k].lo, lim[k].hi, &v,
			    err, errlen) < 0)
				return -1;
			switch (ch) {
			case 'r': o.rate_hz = (uint32_t)v; break;
			case 'n': o.counters = (uint32_t)v; break;
			case 'T': o.hang_timeout_ms = (uint32_t)v; break;
			case 'B': o.batch_ms = (uint32_t)v; break;
			case 'R': o.region_size = (uint32_t)v & ~3u; break;
			case 's': o.seed = (uint64_t)v; break;
			case 'P': o.panic_after = v; break;
			case 'H': o.hang_after = v; break;
			case 'C': o.corrupt_after = v; break;
			case 'd': o.duration = v; break;
			case 'Z': o.slot_size = (uint32_t)v /
			    AC_SLOT_SECTOR * AC_SLOT_SECTOR; break;
			}
			break;
		}
		default:
			snprintf(err, errlen, "unknown option or missing value: "
			    "'%s'", argv[optind - 1]);
			return -1;
		}
	}
	if (optind != argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (strcmp(o.link, "pty") != 0 && strncmp(o.link, "tcp:", 4) != 0 &&
	    strncmp(o.link, "fd:", 3) != 0) {
		snprintf(err, errlen, "--link: '%s' is neither pty nor tcp:PORT",
		    o.link);
		return -1;
	}
	if (strlen(o.device_id) < 1 || strlen(o.device_id) > AC_DEVICE_ID_MAX) {
		snprintf(err, errlen, "--device-id: 1 to %u bytes",
		    AC_DEVICE_ID_MAX);
		return -1;
	}

	*o_ = o;
	return 0;
}
