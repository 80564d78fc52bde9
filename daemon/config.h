/*
 * appcored's configuration: /etc/appcored/appcored.conf (INI, parsed by
 * libinih) and command-line options, which override the file.  See
 * appcored.conf(5).
 */
#ifndef APPCORE_CONFIG_H
#define APPCORE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "chexport.h"
#include "store.h"

#define CONFIG_DEFAULT_PATH	"/etc/appcored/appcored.conf"
#define CONFIG_MAX_PORTS	64
#define CONFIG_MAX_HOSTS	8

struct config {
	char state_dir[256];
	char user[64];			/* drop to this user when root */
	int verbosity;			/* 0 notice, 1 info, 2 debug */

	char *ports[CONFIG_MAX_PORTS];	/* paths, globs, tcp://host:port */
	int nports;
	bool autodetect;		/* Espressif 303a:1001 */
	int baud;
	int data_bits;			/* framing, e.g. 8N1 */
	char parity;			/* 'N', 'E', 'O' */
	int stop_bits;
	uint32_t rate_hz;		/* 0: leave the agent's rate */
	int restart_policy;		/* -1: the agent's; enum ac_restart_policy */
	uint32_t restart_max;		/* per hour, with AC_RESTART_LIMIT */

	struct store_cfg store;
	uint64_t snapshot_us;		/* 0: no periodic snapshots */

	char listen[128];		/* ADDR:PORT */
	char web_root[256];		/* "": the installed dashboard */
	char socket[108];		/* "": no unix socket */
	uint32_t stream_lag;		/* events a stream client may trail */
	char hosts[CONFIG_MAX_HOSTS][128];	/* Host names besides loopback */
	int nhosts;
	uint64_t query_memory;		/* bytes one /query statement may use */
	uint64_t query_timeout_us;	/* and its time */

	struct chx_cfg clickhouse;	/* [clickhouse]: url "" is off */
};

void config_defaults(struct config *);
void config_free(struct config *);
/* Reads path into c.  Returns 0, or -1 with err naming file and line. */
int config_load(struct config *c, const char *path, bool must_exist,
    char *err, size_t errlen);
/* Sets one option as "section", "key", "value"; 0 or -1 with err. */
int config_set(struct config *c, const char *section, const char *key,
    const char *value, char *err, size_t errlen);

int parse_duration(const char *s, uint64_t *us);
int parse_size(const char *s, uint64_t *bytes);

#endif
