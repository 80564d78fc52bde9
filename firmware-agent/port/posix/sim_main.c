/*
 * appcore-sim: a simulated ESP32-S3 board for demos and tests.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static atomic_int quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

int
main(int argc, char **argv)
{
	static struct sim_board board;
	struct sim_opts o;
	struct sigaction sa;
	char err[256];
	int rc;

	if ((rc = sim_parse_args(&o, argc, argv, stdout, err,
	    sizeof(err))) != 0) {
		if (rc > 0)
			return 0;
		fprintf(stderr, "appcore-sim: %s\n", err);
		sim_usage(stderr);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	if (sim_board_init(&board, &o, &quit) < 0) {
		fprintf(stderr, "appcore-sim: %s: %s\n",
		    errno == EINVAL ? "bad options" : "cannot start",
		    strerror(errno));
		return 1;
	}
	printf("appcore-sim: link %s %s\n",
	    board.link.kind == SIM_LINK_PTY ? "pty" : "tcp", board.link.name);
	if (!o.quiet)
		printf("appcore-sim: %u counters at %u Hz, device %s%s%s\n",
		    o.counters, o.rate_hz, o.device_id,
		    o.truth_path ? ", truth " : "",
		    o.truth_path ? o.truth_path : "");
	fflush(stdout);
	if (sim_board_run(&board) < 0) {
		fprintf(stderr, "appcore-sim: %s\n", strerror(errno));
		sim_board_free(&board);
		return 1;
	}
	sim_board_free(&board);
	return 0;
}
