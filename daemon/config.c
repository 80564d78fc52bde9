#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "live.h"

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/appcored");
	snprintf(c->user, sizeof(c->user), "appcored");
	c->autodetect = true;
	c->baud = 921600;
	c->data_bits = 8;
	c->parity = 'N';
	c->stop_bits = 1;
	c->restart_policy = -1;
	store_cfg_defaults(&c->store);
	c->snapshot_us = 300ull * 1000000;
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8080");
	c->stream_lag = 2000;
	c->query_memory = 16 << 20;
	c->query_timeout_us = 2000000;
	chx_cfg_defaults(&c->clickhouse);
}

void
config_free(struct config *c)
{
	for (int i = 0; i < c->nports; i++)
		free(c->ports[i]);
	c->nports = 0;
}

/* "250ms", "10s", "15m", "24h", "90d"; a bare number is seconds. */
int
parse_duration(const char *s, uint64_t *us)
{
	static const struct { const char *unit; uint64_t mul; } units[] = {
		{ "ms", 1000 }, { "s", 1000000 }, { "", 1000000 },
		{ "m", 60000000 }, { "min", 60000000 }, { "h", 3600000000ull },
		{ "d", 86400000000ull },
	};
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *s == '-')
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0) {
			if (v > UINT64_MAX / units[i].mul)
				return -1;
			*us = v * units[i].mul;
			return 0;
		}
	return -1;
}

/* "appcore.lan, 192.168.1.5": the Host names the API answers to besides
 * loopback ones. */
static int
parse_hosts(struct config *c, const char *v)
{
	const char *p = v;

	c->nhosts = 0;
	while (*p != '\0') {
		size_t n;

		p += strspn(p, " ,");
		if (*p == '\0')
			break;
		n = strcspn(p, " ,");
		if (c->nhosts == CONFIG_MAX_HOSTS || n >= sizeof(c->hosts[0]))
			return -1;
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)p[i]) &&
			    strchr(".-:[]", p[i]) == NULL)
				return -1;
		memcpy(c->hosts[c->nhosts], p, n);
		c->hosts[c->nhosts++][n] = '\0';
		p += n;
	}
	return 0;
}

/* "500M", "2G", "64K", bytes when bare; K = 1024. */
int
parse_size(const char *s, uint64_t *bytes)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *s == '-')
		return -1;
	if (strcasecmp(end, "K") == 0 || strcasecmp(end, "KiB") == 0)
		mul = 1ull << 10;
	else if (strcasecmp(end, "M") == 0 || strcasecmp(end, "MiB") == 0)
		mul = 1ull << 20;
	else if (strcasecmp(end, "G") == 0 || strcasecmp(end, "GiB") == 0)
		mul = 1ull << 30;
	else if (*end != '\0')
		return -1;
	if (v > UINT64_MAX / mul)
		return -1;
	*bytes = v * mul;
	return 0;
}

static int
parse_bool(const char *s, bool *b)
{
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") ||
	    !strcmp(s, "1") || !strcasecmp(s, "on"))
		*b = true;
	else if (!strcasecmp(s, "no") || !strcasecmp(s, "false") ||
	    !strcmp(s, "0") || !strcasecmp(s, "off"))
		*b = false;
	else
		return -1;
	return 0;
}

static int
parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

#define BAD(...) do {							\
	snprintf(err, errlen, __VA_ARGS__);				\
	return -1;							\
} while (0)

/* A name ClickHouse takes unquoted: letters, digits, '_'. */
static bool
plain_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || isdigit((unsigned char)s[0]))
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

static int
clickhouse_set(struct chx_cfg *x, const char *key, const char *v, char *err,
    size_t errlen)
{
	uint64_t u;

	if (strcmp(key, "url") == 0) {
		if (v[0] != '\0' && strncmp(v, "http://", 7) != 0 &&
		    strncmp(v, "https://", 8) != 0)
			BAD("url: '%s' is not http://HOST:PORT/ (or empty: "
			    "off)", v);
		if (strlen(v) >= sizeof(x->url) || strpbrk(v, "?# \t") != NULL)
			BAD("url: '%s' is longer than %zu bytes or has a query, "
			    "fragment or space", v, sizeof(x->url) - 1);
		snprintf(x->url, sizeof(x->url), "%s", v);
	} else if (strcmp(key, "database") == 0) {
		if (!plain_name(v, sizeof(x->database) - 1))
			BAD("database: '%s' is not a name of letters, digits "
			    "and '_'", v);
		snprintf(x->database, sizeof(x->database), "%s", v);
	} else if (strcmp(key, "user") == 0) {
		if (strlen(v) >= sizeof(x->user))
			BAD("user: longer than %zu bytes", sizeof(x->user) - 1);
		snprintf(x->user, sizeof(x->user), "%s", v);
	} else if (strcmp(key, "password") == 0) {
		if (strlen(v) >= sizeof(x->password))
			BAD("password: longer than %zu bytes",
			    sizeof(x->password) - 1);
		snprintf(x->password, sizeof(x->password), "%s", v);
	} else if (strcmp(key, "batch_interval") == 0) {
		if (parse_duration(v, &u) < 0 || u < 100000 || u > 60000000)
			BAD("batch_interval: '%s' is not a duration in "
			    "100ms..60s", v);
		x->batch_ms = (uint32_t)(u / 1000);
	} else if (strcmp(key, "queue") == 0) {
		if (parse_size(v, &u) < 0 || u < (1u << 20) || u > (16ull << 30))
			BAD("queue: '%s' is not a size in 1M..16G", v);
		x->queue_bytes = u;
	} else if (strcmp(key, "create_tables") == 0) {
		if (parse_bool(v, &x->create_tables) < 0)
			BAD("create_tables: '%s' is not yes or no", v);
	} else
		BAD("unknown key '%s' in [clickhouse]", key);
	return 0;
}

int
config_set(struct config *c, const char *section, const char *key,
    const char *v, char *err, size_t errlen)
{
	uint64_t u;
	long l;

	if (strcmp(section, "daemon") == 0) {
		if (strcmp(key, "state_dir") == 0) {
			if (v[0] != '/' && v[0] != '.')
				BAD("state_dir: '%s' is not a path", v);
			snprintf(c->state_dir, sizeof(c->state_dir), "%s", v);
		} else if (strcmp(key, "user") == 0)
			snprintf(c->user, sizeof(c->user), "%s", v);
		else if (strcmp(key, "log_level") == 0) {
			if (!strcmp(v, "notice"))
				c->verbosity = 0;
			else if (!strcmp(v, "info"))
				c->verbosity = 1;
			else if (!strcmp(v, "debug"))
				c->verbosity = 2;
			else
				BAD("log_level: '%s' is not notice, info or "
				    "debug", v);
		} else
			BAD("unknown key '%s' in [daemon]", key);
	} else if (strcmp(section, "link") == 0) {
		if (strcmp(key, "port") == 0) {
			if (c->nports == CONFIG_MAX_PORTS)
				BAD("more than %d ports", CONFIG_MAX_PORTS);
			if (v[0] != '/' && strncmp(v, "tcp://", 6) != 0)
				BAD("port: '%s' is neither a device path nor "
				    "tcp://HOST:PORT", v);
			c->ports[c->nports++] = strdup(v);
		} else if (strcmp(key, "autodetect") == 0) {
			if (parse_bool(v, &c->autodetect) < 0)
				BAD("autodetect: '%s' is not yes or no", v);
		} else if (strcmp(key, "baud") == 0) {
			if (parse_int(v, 50, 12000000, &l) < 0)
				BAD("baud: '%s' is not a rate in 50..12000000",
				    v);
			c->baud = (int)l;
		} else if (strcmp(key, "framing") == 0) {
			if (strlen(v) != 3 || v[0] < '5' || v[0] > '8' ||
			    !strchr("NEO", v[1]) || (v[2] != '1' && v[2] != '2'))
				BAD("framing: '%s' is not like 8N1", v);
			c->data_bits = v[0] - '0';
			c->parity = v[1];
			c->stop_bits = v[2] - '0';
		} else if (strcmp(key, "rate") == 0) {
			if (parse_int(v, 0, AC_RATE_MAX, &l) < 0)
				BAD("rate: '%s' is not 0 (the agent's) or "
				    "1..1000 Hz", v);
			c->rate_hz = (uint32_t)l;
		} else if (strcmp(key, "restart_policy") == 0) {
			c->restart_max = 0;
			if (strcmp(v, "agent") == 0)
				c->restart_policy = -1;
			else if (strcmp(v, "never") == 0)
				c->restart_policy = AC_RESTART_NEVER;
			else if (strcmp(v, "always") == 0)
				c->restart_policy = AC_RESTART_ALWAYS;
			else if (parse_int(v, 1, AC_RESTART_MAX, &l) == 0) {
				c->restart_policy = AC_RESTART_LIMIT;
				c->restart_max = (uint32_t)l;
			} else
				BAD("restart_policy: '%s' is not agent, never, "
				    "always or 1..%u (restarts per hour)", v,
				    AC_RESTART_MAX);
		} else
			BAD("unknown key '%s' in [link]", key);
	} else if (strcmp(section, "storage") == 0) {
		struct store_cfg *s = &c->store;

		if (strcmp(key, "budget") == 0) {
			if (parse_size(v, &u) < 0 || u < (16u << 20))
				BAD("budget: '%s' is not a size of at least "
				    "16M (e.g. 500M, 2G)", v);
			s->budget_bytes = u;
		} else if (strcmp(key, "commit_interval") == 0) {
			if (parse_duration(v, &u) < 0 || u < 10000 ||
			    u > 250000)
				BAD("commit_interval: '%s' is not a duration "
				    "from 10ms to 250ms", v);
			s->commit_ms = (uint32_t)(u / 1000);
		} else if (strcmp(key, "snapshot_interval") == 0) {
			if (parse_duration(v, &u) < 0 ||
			    (u != 0 && u < 1000000))
				BAD("snapshot_interval: '%s' is not 0 or a "
				    "duration of at least 1s", v);
			c->snapshot_us = u;
		} else {
			uint64_t *dst = !strcmp(key, "raw_window") ?
			    &s->raw_window_us : !strcmp(key, "partition") ?
			    &s->partition_us : !strcmp(key, "rollup_1s_window") ?
			    &s->rollup_1s_window_us :
			    !strcmp(key, "rollup_1m_window") ?
			    &s->rollup_1m_window_us :
			    !strcmp(key, "history_window") ?
			    &s->history_window_us :
			    !strcmp(key, "snapshot_window") ?
			    &s->snapshot_window_us : NULL;

			if (dst == NULL)
				BAD("unknown key '%s' in [storage]", key);
			if (parse_duration(v, &u) < 0 || u < 10000000)
				BAD("%s: '%s' is not a duration of at least "
				    "10s (e.g. 90s, 10m, 24h, 7d)", key, v);
			*dst = u;
		}
	} else if (strcmp(section, "http") == 0) {
		if (strcmp(key, "listen") == 0) {
			if (strchr(v, ':') == NULL && v[0] != '/')
				BAD("listen: '%s' is not ADDR:PORT or a unix "
				    "socket path", v);
			snprintf(c->listen, sizeof(c->listen), "%s", v);
		} else if (strcmp(key, "stream_lag") == 0) {
			if (parse_int(v, 16, LIVE_RING, &l) < 0)
				BAD("stream_lag: '%s' is not a number of events in "
				    "16..%d", v, LIVE_RING);
			c->stream_lag = (uint32_t)l;
		} else if (strcmp(key, "hosts") == 0) {
			if (parse_hosts(c, v) < 0)
				BAD("hosts: '%s' is not up to %d names of at "
				    "most 127 letters, digits, '.', '-' and "
				    "':[]', separated by commas", v,
				    CONFIG_MAX_HOSTS);
		} else if (strcmp(key, "query_memory") == 0) {
			uint64_t bytes;

			if (parse_size(v, &bytes) < 0 || bytes < (1 << 20) ||
			    bytes > (1ull << 30))
				BAD("query_memory: '%s' is not a size in 1M..1G",
				    v);
			c->query_memory = bytes;
		} else if (strcmp(key, "query_timeout") == 0) {
			uint64_t us;

			if (parse_duration(v, &us) < 0 || us < 100000 ||
			    us > 60000000)
				BAD("query_timeout: '%s' is not a duration in "
				    "100ms..60s", v);
			c->query_timeout_us = us;
		} else if (strcmp(key, "socket") == 0) {
			if (v[0] != '/' || strlen(v) >= sizeof(c->socket))
				BAD("socket: '%s' is not an absolute path of at "
				    "most %zu bytes", v, sizeof(c->socket) - 1);
			snprintf(c->socket, sizeof(c->socket), "%s", v);
		} else if (strcmp(key, "web_root") == 0) {
			if (v[0] != '/')
				BAD("web_root: '%s' is not an absolute path", v);
			snprintf(c->web_root, sizeof(c->web_root), "%s", v);
		} else
			BAD("unknown key '%s' in [http]", key);
	} else if (strcmp(section, "clickhouse") == 0)
		return clickhouse_set(&c->clickhouse, key, v, err, errlen);
	else
		BAD("unknown section [%s]", section);
	return 0;
}

struct load_ctx {
	struct config *c;
	char err[256];
};

static int
handler(void *user, const char *section, const char *key, const char *v)
{
	struct load_ctx *ctx = user;

	if (ctx->err[0] != '\0')
		return 0;
	return config_set(ctx->c, section, key, v, ctx->err,
	    sizeof(ctx->err)) == 0;
}

int
config_load(struct config *c, const char *path, bool must_exist, char *err,
    size_t errlen)
{
	struct load_ctx ctx = { c, "" };
	FILE *f = fopen(path, "r");
	int rc;

	if (f == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = ini_parse_file(f, handler, &ctx);
	fclose(f);
	if (rc == 0)
		return 0;
	if (rc > 0)
		snprintf(err, errlen, "%s:%d: %s", path, rc, ctx.err[0] ?
		    ctx.err : "syntax error (expected [section] or key = "
		    "value)");
	else
		snprintf(err, errlen, "%s: cannot be read", path);
	return -1;
}
