/*
 * /api/v1/crashes and /api/v1/images: crash reports, dumps, core-1
 * ELF images and their symbols (docs/api.md, docs/crash-dumps.md).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <microhttpd.h>
#include <sqlite3.h>

#include "api_internal.h"
#include "appcore/region.h"
#include "http.h"
#include "coredump.h"
#include "exccause.h"
#include "hex.h"
#include "imagefile.h"
#include "jsonv.h"
#include "le.h"
#include "log.h"
#include "symbols.h"

/* An exception's cause by name and its address, where the cause loads
 * one; null for other crashes (EXCCAUSE then holds nothing of theirs). */
static void
exception_json(json_object *o, sqlite3_stmt *st)
{
	const char *reason = (const char *)sqlite3_column_text(st, 4);
	uint32_t cause = (uint32_t)sqlite3_column_int64(st, 15);
	bool exc = reason != NULL && strcmp(reason, "exception") == 0;

	json_object_object_add(o, "exccause", exc ?
	    json_object_new_int64(cause) : NULL);
	json_object_object_add(o, "exccause_name", exc ?
	    jv_string(exccause_name(cause)) : NULL);
	json_object_object_add(o, "excvaddr", exc && exccause_has_vaddr(cause) ?
	    json_object_new_int64(sqlite3_column_int64(st, 16)) : NULL);
	json_object_object_add(o, "ps",
	    json_object_new_int64(sqlite3_column_int64(st, 17)));
}

static json_object *
crash_json(sqlite3_stmt *st, bool full)
{
	json_object *o = json_object_new_object();

	add_col(o, "id", st, 0);
	add_col(o, "device", st, 1);
	add_col(o, "t", st, 2);
	add_col(o, "kind", st, 3);
	add_col(o, "reason", st, 4);
	add_col(o, "message", st, 5);
	add_col(o, "file", st, 6);
	add_col(o, "line", st, 7);
	add_col(o, "pc", st, 8);
	add_col(o, "sp", st, 9);
	add_col(o, "dump_sha256", st, 13);	/* null until it is here */
	add_col(o, "dump_size", st, 14);
	exception_json(o, st);
	if (full) {
		json_object *bt = json_object_new_array();
		const char *s = (const char *)sqlite3_column_text(st, 10);
		char *copy = strdup(s != NULL ? s : ""), *tok, *save = NULL;

		for (tok = strtok_r(copy, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save))
			json_object_array_add(bt, json_object_new_int64(
			    strtoll(tok, NULL, 16)));
		free(copy);
		json_object_object_add(o, "backtrace", bt);
		add_col(o, "generation", st, 11);
		add_col(o, "image_hash", st, 12);
	}
	return o;
}

#define CRASH_COLUMNS "id, device_id, t, kind, reason, message, file, " \
	"line, pc, sp, backtrace, generation, image_hash, dump_key, dump_size, " \
	"exccause, excvaddr, ps"

void
get_crashes(struct http *h, struct MHD_Connection *c, struct api_reply *a)
{
	int64_t dev, limit;
	json_object *o, *arr;
	sqlite3_stmt *st;

	if (query_i64(c, "device", 0, INT64_MAX, 0, &dev, a) < 0 ||
	    query_i64(c, "limit", 1, LIST_MAX, 100, &limit, a) < 0)
		return;
	if (sqlite3_prepare_v2(http_db(h), "SELECT " CRASH_COLUMNS " FROM "
	    "crashes WHERE ?1 = 0 OR device_id = ?1 ORDER BY t DESC LIMIT ?2",
	    -1, &st, NULL) != SQLITE_OK) {
		api_error(a, 500, "database", "%s", sqlite3_errmsg(http_db(h)));
		return;
	}
	sqlite3_bind_int64(st, 1, dev);
	sqlite3_bind_int64(st, 2, limit);
	arr = json_object_new_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_object_array_add(arr, crash_json(st, false));
	sqlite3_finalize(st);
	o = json_object_new_object();
	json_object_object_add(o, "crashes", arr);
	api_json(a, 200, o);
}

/* One crash row as JSON (with its device and time); NULL after answering
 * 404 or 500. */
static json_object *
load_crash(struct http *h, int64_t id, int64_t *dev, int64_t *t,
    struct api_reply *a)
{
	json_object *o = NULL;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(http_db(h), "SELECT " CRASH_COLUMNS " FROM "
	    "crashes WHERE id = ?", -1, &st, NULL) != SQLITE_OK) {
		api_error(a, 500, "database", "%s", sqlite3_errmsg(http_db(h)));
		return NULL;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		o = crash_json(st, true);
		*dev = sqlite3_column_int64(st, 1);
		*t = sqlite3_column_int64(st, 2);
	} else
		api_error(a, 404, "not_found", "no crash %" PRId64, id);
	sqlite3_finalize(st);
	return o;
}

void
get_crash(struct http *h, int64_t id, struct api_reply *a)
{
	int64_t dev, t;
	json_object *o = load_crash(h, id, &dev, &t, a);

	if (o != NULL)
		api_json(a, 200, o);
}

/*
 * GET /api/v1/crashes/{id}/report: the crash with what led to it - core
 * 1's state changes in the minute before, every counter over the 10 s
 * before (100 ms buckets from the raw samples) and the shared region's
 * bytes that differ between the last snapshot before the crash and the
 * dump.
 */
#define REPORT_WINDOW_US	10000000
#define REPORT_STEP_US		100000
#define REPORT_STATES_US	60000000
#define DIFF_RANGES_MAX		64
#define DIFF_SHOW_MAX		64	/* bytes of each side per range */
#define DIFF_JOIN		8	/* ranges closer than this merge */

static void
add_hex(json_object *o, const char *k, const uint8_t *p, size_t n)
{
	char hex[2 * DIFF_SHOW_MAX + 1];

	if (n > DIFF_SHOW_MAX)
		n = DIFF_SHOW_MAX;
	hex_encode(hex, p, n);
	json_object_object_add(o, k, jv_string(hex));
}

/* The blob of a snapshot row (key in column col); NULL when none. */
/* SAR at the fault, from the panic record in the dump (the region as
 * core 1 left it; the crash message does not carry it); 0 if not there. */
static uint32_t
dump_sar(const uint8_t *p, size_t n)
{
	size_t off = offsetof(struct ac_region, panic) +
	    offsetof(struct ac_panic_record, sar);

	return n >= off + 4 && le32_get(p) == AC_REGION_MAGIC ?
	    le32_get(p + off) : 0;
}

static void *
snapshot_blob(struct http *h, sqlite3_stmt *st, int col, size_t *n)
{
	uint8_t key[BLOB_KEY_LEN];
	const char *hex = (const char *)sqlite3_column_text(st, col);
	void *p = NULL;
	int rc;

	if (hex == NULL || blob_key_parse(hex, key) < 0)
		return NULL;
	rc = bridge_blob_get(http_bridge(h), key, &p, n);
	return rc < 0 ? NULL : p;
}

static json_object *
region_diff(struct http *h, int64_t id, int64_t dev, int64_t t)
{
	json_object *o = json_object_new_object(), *ranges;
	sqlite3_stmt *st;
	uint8_t *before = NULL, *after = NULL;
	size_t nb = 0, na = 0, changed = 0, nr = 0;
	int64_t tb = 0, ta = 0, base = 0;

	if (sqlite3_prepare_v2(http_db(h), "SELECT "
	    "(SELECT blob_key FROM snapshots WHERE device_id = ?1 AND t < ?2 "
	    "ORDER BY t DESC LIMIT 1), "
	    "(SELECT t FROM snapshots WHERE device_id = ?1 AND t < ?2 "
	    "ORDER BY t DESC LIMIT 1), c.dump_key, c.t, b.region_base "
	    "FROM crashes c JOIN boots b ON b.id = c.boot_id WHERE c.id = ?3",
	    -1, &st, NULL) != SQLITE_OK)
		return o;
	sqlite3_bind_int64(st, 1, dev);
	sqlite3_bind_int64(st, 2, t);
	sqlite3_bind_int64(st, 3, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		before = snapshot_blob(h, st, 0, &nb);
		tb = sqlite3_column_int64(st, 1);
		after = snapshot_blob(h, st, 2, &na);
		ta = sqlite3_column_int64(st, 3);
		base = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	if (before == NULL || after == NULL || nb != na) {
		json_object_object_add(o, "available",
		    json_object_new_boolean(false));
		json_object_object_add(o, "why", jv_string(
		    after == NULL ? "the crash dump is not here (yet)" :
		    before == NULL ?
		    "no snapshot before the crash" : "the region changed size"));
		free(before);
		free(after);
		return o;
	}
	ranges = json_object_new_array();
	for (size_t i = 0; i < na;) {
		size_t start, end, same = 0;

		if (before[i] == after[i]) {
			i++;
			continue;
		}
		start = end = i;
		while (i < na && same < DIFF_JOIN) {
			if (before[i] != after[i]) {
				changed++;
				end = i + 1;
				same = 0;
			} else
				same++;
			i++;
		}
		if (++nr <= DIFF_RANGES_MAX) {
			json_object *r = json_object_new_object();

			json_object_object_add(r, "offset",
			    json_object_new_int64((int64_t)start));
			json_object_object_add(r, "address",
			    json_object_new_int64(base + (int64_t)start));
			json_object_object_add(r, "length",
			    json_object_new_int64((int64_t)(end - start)));
			add_hex(r, "before", before + start, end - start);
			add_hex(r, "after", after + start, end - start);
			json_object_array_add(ranges, r);
		}
	}
	json_object_object_add(o, "available", json_object_new_boolean(true));
	json_object_object_add(o, "before_t", json_object_new_int64(tb));
	json_object_object_add(o, "after_t", json_object_new_int64(ta));
	json_object_object_add(o, "region_base", json_object_new_int64(base));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)na));
	json_object_object_add(o, "changed_bytes",
	    json_object_new_int64((int64_t)changed));
	json_object_object_add(o, "range_count",
	    json_object_new_int64((int64_t)nr));
	json_object_object_add(o, "ranges", ranges);
	free(before);
	free(after);
	return o;
}

static json_object *
report_counters(struct http *h, int64_t dev, int64_t t)
{
	json_object *arr = json_object_new_array();
	sqlite3_stmt *st, *sm;

	if (sqlite3_prepare_v2(http_db(h), "SELECT id, idx, name, unit, kind "
	    "FROM counters c WHERE device_id = ?1 AND id = (SELECT max(id) "
	    "FROM counters WHERE device_id = ?1 AND idx = c.idx AND "
	    "first_seen <= ?2) ORDER BY idx", -1, &st, NULL) != SQLITE_OK)
		return arr;
	if (sqlite3_prepare_v2(http_db(h), RAW_BUCKETS_SQL, -1, &sm,
	    NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return arr;
	}
	sqlite3_bind_int64(st, 1, dev);
	sqlite3_bind_int64(st, 2, t);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_object *k = json_object_new_object(), *pts;

		add_col(k, "index", st, 1);
		add_col(k, "name", st, 2);
		add_col(k, "unit", st, 3);
		add_col(k, "kind", st, 4);
		sqlite3_reset(sm);
		sqlite3_bind_int64(sm, 1, sqlite3_column_int64(st, 0));
		sqlite3_bind_int64(sm, 2, t - REPORT_WINDOW_US);
		sqlite3_bind_int64(sm, 3, t + 1);	/* the crash's own t too */
		sqlite3_bind_int64(sm, 4, REPORT_STEP_US);
		pts = bucket_points(sm, INT_MAX);
		json_object_object_add(k, "points", pts);
		json_object_array_add(arr, k);
	}
	sqlite3_finalize(sm);
	sqlite3_finalize(st);
	return arr;
}

/* ---- core-1 ELF images: /api/v1/images ---- */

static json_object *
image_json(sqlite3_stmt *st)
{
	json_object *o = json_object_new_object();

	add_col(o, "sha256", st, 0);
	add_col(o, "name", st, 1);
	add_col(o, "size", st, 2);
	add_col(o, "uploaded", st, 3);
	add_col(o, "functions", st, 4);
	json_object_object_add(o, "dwarf",
	    json_object_new_boolean(sqlite3_column_int(st, 5) != 0));
	add_col(o, "entry", st, 6);
	add_col(o, "crashes", st, 7);
	return o;
}

#define IMAGE_COLUMNS "sha256, name, size, uploaded, functions, dwarf, " \
	"entry, (SELECT count(*) FROM crashes WHERE image_hash = sha256)"

void
get_images(struct http *h, struct api_reply *a)
{
	json_object *o = json_object_new_object(), *arr;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(http_db(h), "SELECT " IMAGE_COLUMNS " FROM "
	    "images ORDER BY uploaded DESC", -1, &st, NULL) != SQLITE_OK) {
		json_object_put(o);
		api_error(a, 500, "database", "%s", sqlite3_errmsg(http_db(h)));
		return;
	}
	arr = json_object_new_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_object_array_add(arr, image_json(st));
	sqlite3_finalize(st);
	json_object_object_add(o, "images", arr);
	api_json(a, 200, o);
}

/*
 * POST /api/v1/images?name=FILE[&crash=ID]: a core-1 ELF.  It must be a
 * 32-bit little-endian Xtensa executable with a symbol table; with crash,
 * it must also be the very image that crash ran (its SHA-256 is the image
 * hash the agent reported), or it is refused.  Stored as a file named by
 * its SHA-256 (imagefile.h), listed in the images table.
 */
void
post_image(struct http *h, struct MHD_Connection *c, const char *body,
    size_t len, struct api_reply *a)
{
	const char *name = MHD_lookup_connection_value(c,
	    MHD_GET_ARGUMENT_KIND, "name");
	struct sym_info info;
	struct symtab *sym;
	uint8_t key[BLOB_KEY_LEN];
	char hex[BLOB_HEX_LEN], why[200];
	int64_t crash = 0;
	sqlite3_stmt *st;
	int rc;

	if (query_i64(c, "crash", 1, INT64_MAX, 0, &crash, a) < 0)
		return;
	if (name == NULL || name[0] == '\0')
		name = "core1.elf";
	if (strlen(name) > 200) {
		api_error(a, 400, "bad_parameter", "name: at most 200 bytes");
		return;
	}
	if (len == 0) {
		api_error(a, 400, "empty_body", "send the ELF file as the "
		    "request body");
		return;
	}
	if ((sym = sym_open(body, len, &info, why, sizeof(why))) == NULL) {
		api_error(a, 422, "bad_elf", "not a usable core-1 ELF: %s", why);
		return;
	}
	sym_close(sym);
	blob_sha256(body, len, key);
	blob_key_hex(key, hex);
	if (crash != 0) {
		int64_t cdev, ct;
		json_object *cr = load_crash(h, crash, &cdev, &ct, a), *ih;
		const char *want = NULL;
		bool same;

		if (cr == NULL)
			return;		/* answered: 404, or 500 */
		if (json_object_object_get_ex(cr, "image_hash", &ih))
			want = json_object_get_string(ih);
		same = want != NULL && strcmp(want, hex) == 0;
		if (!same)
			api_error(a, 409, "image_mismatch", "this ELF (SHA-256 "
			    "%.16s...) is not the image crash %" PRId64 " ran "
			    "(%.16s...); refused", hex, crash,
			    want != NULL ? want : "none");
		json_object_put(cr);
		if (!same)
			return;
	}
	rc = image_file_put(http_cfg(h)->state_dir, hex, body, len);
	if (rc < 0) {
		api_error(a, 507, "storage", "the blob store refused it: %s",
		    strerror(errno));
		return;
	}
	if (http_db_rw(h) == NULL) {
		api_error(a, 503, "database", "the database cannot be written "
		    "now");
		return;
	}
	rc = image_row_put(http_db_rw(h), hex, name, len, now_wall_us(), &info);
	if (rc != SQLITE_DONE) {
		api_error(a, 503, "database", "%s",
		    sqlite3_errmsg(http_db_rw(h)));
		return;
	}
	log_notice("api: core-1 image %s (%s, %zu bytes, %u functions%s)",
	    hex, name, len, info.functions, info.dwarf ? ", DWARF" : "");
	if (sqlite3_prepare_v2(http_db(h), "SELECT " IMAGE_COLUMNS " FROM "
	    "images WHERE sha256 = ?", -1, &st, NULL) != SQLITE_OK) {
		api_error(a, 500, "database", "%s", sqlite3_errmsg(http_db(h)));
		return;
	}
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		api_json(a, 201, image_json(st));
	else
		api_error(a, 500, "database", "the image row is not there");
	sqlite3_finalize(st);
}

/*
 * A windowed-ABI return address, as a stack walk finds it in a caller's
 * a0, carries the call size in bits 31:30 where ESP32-S3 code addresses
 * have 01; the call instruction ends 3 bytes before it.  Such a
 * backtrace entry is named at its call (ESP-IDF's
 * esp_cpu_process_stack_pc); plain code addresses are named as they are.
 */
static uint32_t
call_site(uint32_t addr)
{
	return (addr & 0x80000000u) ?
	    ((addr & 0x3fffffffu) | 0x40000000u) - 3 : addr;
}

/* How a backtrace entry is named: the faulting PC as it is; a caller's
 * return address at its call (windowed: from its bits 31:30; call0, as
 * the image's .xtensa.info says: the call0/callx0 3 bytes before it). */
enum frame_kind { FRAME_PC, FRAME_ENTRY, FRAME_CALL0_CALLER };

static json_object *
frame_json(struct symtab *sym, uint32_t addr, enum frame_kind kind)
{
	json_object *o = json_object_new_object();
	struct sym_loc loc;

	json_object_object_add(o, "address", json_object_new_int64(addr));
	if (kind != FRAME_PC && call_site(addr) != addr) {
		addr = call_site(addr);
		json_object_object_add(o, "call", json_object_new_int64(addr));
	} else if (kind == FRAME_CALL0_CALLER && addr >= 3) {
		addr -= 3;
		json_object_object_add(o, "call", json_object_new_int64(addr));
	}
	if (sym == NULL)
		return o;
	sym_lookup(sym, addr, &loc);
	if (loc.found) {
		json_object_object_add(o, "function",
		    jv_string(loc.function));
		json_object_object_add(o, "offset",
		    json_object_new_int64(loc.offset));
	}
	if (loc.have_line) {
		json_object_object_add(o, "file",
		    jv_string(loc.file));
		json_object_object_add(o, "line", json_object_new_int(loc.line));
	}
	return o;
}

/*
 * The crash's PC and backtrace named with the uploaded ELF whose SHA-256
 * is the crash's image hash - that one only; without it, addresses.
 */
static json_object *
report_symbols(struct http *h, json_object *crash)
{
	json_object *o = json_object_new_object(), *jv, *bt, *frames;
	const char *hash = NULL;
	struct symtab *sym = NULL;
	struct sym_info info;
	uint8_t key[BLOB_KEY_LEN];
	char why[200] = "", name[256] = "";
	void *elf = NULL;
	size_t n = 0;
	sqlite3_stmt *st;

	if (json_object_object_get_ex(crash, "image_hash", &jv))
		hash = json_object_get_string(jv);
	if (hash == NULL || blob_key_parse(hash, key) < 0)
		snprintf(why, sizeof(why), "the crash names no image hash");
	else if (sqlite3_prepare_v2(http_db(h), "SELECT name FROM images "
	    "WHERE sha256 = ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			snprintf(name, sizeof(name), "%s",
			    (const char *)sqlite3_column_text(st, 0));
		else
			snprintf(why, sizeof(why), "no core-1 ELF with SHA-256 "
			    "%.16s... was uploaded (appcorectl elf add FILE)",
			    hash);
		sqlite3_finalize(st);
	}
	if (why[0] == '\0') {
		int rc;

		rc = image_file_get(http_cfg(h)->state_dir, hash, &elf, &n);
		if (rc < 0 && errno == ENOENT)	/* uploaded before */
			rc = bridge_blob_get(http_bridge(h), key, &elf, &n);
		if (rc < 0)
			snprintf(why, sizeof(why), "the image is not in the "
			    "blob store");
		else	/* NULL with why set when it will not do */
			sym = sym_open(elf, n, &info, why, sizeof(why));
	}
	json_object_object_add(o, "available",
	    json_object_new_boolean(sym != NULL));
	if (sym == NULL)
		json_object_object_add(o, "why", jv_string(why));
	else {
		json_object_object_add(o, "image", jv_string(name));
		json_object_object_add(o, "dwarf",
		    json_object_new_boolean(info.dwarf));
	}
	if (json_object_object_get_ex(crash, "pc", &jv))
		json_object_object_add(o, "pc", frame_json(sym,
		    (uint32_t)json_object_get_int64(jv), FRAME_PC));
	frames = json_object_new_array();
	if (json_object_object_get_ex(crash, "backtrace", &bt))
		for (size_t i = 0; i < json_object_array_length(bt); i++)
			json_object_array_add(frames, frame_json(sym, (uint32_t)
			    json_object_get_int64(json_object_array_get_idx(bt,
			    i)), i > 0 && sym != NULL && info.call0 ?
			    FRAME_CALL0_CALLER : FRAME_ENTRY));
	json_object_object_add(o, "backtrace", frames);
	sym_close(sym);
	free(elf);
	return o;
}

void
get_crash_report(struct http *h, int64_t id, struct api_reply *a)
{
	json_object *o, *crash, *states;
	sqlite3_stmt *st;
	int64_t dev, t;

	if ((crash = load_crash(h, id, &dev, &t, a)) == NULL)
		return;
	states = json_object_new_array();
	if (sqlite3_prepare_v2(http_db(h), "SELECT t, state, prev, heartbeat "
	    "FROM states WHERE device_id = ?1 AND t >= ?2 AND t <= ?3 ORDER BY "
	    "t LIMIT 100", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, dev);
		sqlite3_bind_int64(st, 2, t - REPORT_STATES_US);
		sqlite3_bind_int64(st, 3, t + 1000000);
		while (sqlite3_step(st) == SQLITE_ROW) {
			json_object *r = json_object_new_object();

			add_col(r, "t", st, 0);
			add_col(r, "state", st, 1);
			add_col(r, "prev", st, 2);
			add_col(r, "heartbeat", st, 3);
			json_object_array_add(states, r);
		}
		sqlite3_finalize(st);
	}
	o = json_object_new_object();
	json_object_object_add(o, "crash", crash);
	json_object_object_add(o, "states", states);
	json_object_object_add(o, "window_us",
	    json_object_new_int64(REPORT_WINDOW_US));
	json_object_object_add(o, "step_us", json_object_new_int64(REPORT_STEP_US));
	json_object_object_add(o, "counters", report_counters(h, dev, t));
	json_object_object_add(o, "region_diff", region_diff(h, id, dev, t));
	json_object_object_add(o, "symbols", report_symbols(h, crash));
	api_json(a, 200, o);
}

/*
 * The dump of a crash: the shared region (which holds core 1's stack) as
 * the agent froze it and sent it (verified by its SHA-256).  format=raw (the bytes), elf (an
 * ELF core file for Xtensa GDB) or json (a report of registers and
 * regions).
 */
void
get_crash_dump(struct http *h, struct MHD_Connection *c, int64_t id,
    struct api_reply *a)
{
	const char *fmt = MHD_lookup_connection_value(c,
	    MHD_GET_ARGUMENT_KIND, "format");
	struct core_regs regs;
	struct core_region rg;
	uint8_t key[BLOB_KEY_LEN];
	char hexkey[BLOB_HEX_LEN] = "";
	sqlite3_stmt *st;
	uint32_t base = 0, sp = 0;
	void *p;
	size_t n;
	int rc;
	bool crash = false;

	if (fmt == NULL)
		fmt = "raw";
	if (strcmp(fmt, "raw") && strcmp(fmt, "elf") && strcmp(fmt, "json")) {
		api_error(a, 400, "bad_parameter", "format: '%.20s' is not raw, "
		    "elf or json", fmt);
		return;
	}
	memset(&regs, 0, sizeof(regs));
	if (sqlite3_prepare_v2(http_db(h), "SELECT c.pc, c.sp, c.ps, c.ar, "
	    "c.dump_key, b.region_base FROM crashes c JOIN boots b ON "
	    "b.id = c.boot_id WHERE c.id = ?", -1, &st, NULL) != SQLITE_OK) {
		api_error(a, 500, "database", "%s", sqlite3_errmsg(http_db(h)));
		return;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const uint8_t *ar = sqlite3_column_blob(st, 3);

		crash = true;
		regs.pc = (uint32_t)sqlite3_column_int64(st, 0);
		sp = (uint32_t)sqlite3_column_int64(st, 1);
		regs.ps = (uint32_t)sqlite3_column_int64(st, 2);
		if (ar != NULL && sqlite3_column_bytes(st, 3) == 64)
			for (int i = 0; i < 16; i++)
				regs.ar[i] = le32_get(ar + 4 * i);
		if (sqlite3_column_text(st, 4) != NULL)
			snprintf(hexkey, sizeof(hexkey), "%s",
			    (const char *)sqlite3_column_text(st, 4));
		base = (uint32_t)sqlite3_column_int64(st, 5);
	}
	sqlite3_finalize(st);
	if (!crash) {
		api_error(a, 404, "not_found", "no crash %" PRId64, id);
		return;
	}
	if (blob_key_parse(hexkey, key) < 0) {
		api_error(a, 404, "not_found", "the dump of crash %" PRId64
		    " is not here (yet)", id);
		return;
	}
	rc = bridge_blob_get(http_bridge(h), key, &p, &n);
	if (rc < 0) {
		blob_failed(a, "dump", hexkey);
		return;
	}
	/* The faulting window is window 0: a0..a15 are ar[0..15]. */
	regs.ar[1] = sp != 0 ? sp : regs.ar[1];
	regs.sar = dump_sar(p, n);
	regs.windowstart = 1;
	regs.signal = 6;			/* SIGABRT: a panic */
	a->status = 200;
	a->filename_id = id;
	if (strcmp(fmt, "raw") == 0) {
		a->body = p;
		a->len = n;
		a->type = "application/octet-stream";
		a->filename_ext = "region.bin";
	} else if (strcmp(fmt, "elf") == 0) {
		rg = (struct core_region){ base, p, (uint32_t)n };
		a->body = (char *)coredump_elf(&regs, &rg, 1, &a->len);
		free(p);
		a->type = "application/x-elf";	/* an ELF core file */
		a->filename_ext = "core.elf";
		if (a->body == NULL)
			api_error(a, 500, "out_of_memory", "no memory");
	} else {
		json_object *o = json_object_new_object(), *arr, *rgo, *rga;
		char *sha = hexkey;

		json_object_object_add(o, "crash", json_object_new_int64(id));
		json_object_object_add(o, "pc", json_object_new_int64(regs.pc));
		json_object_object_add(o, "ps", json_object_new_int64(regs.ps));
		json_object_object_add(o, "sar", json_object_new_int64(regs.sar));
		json_object_object_add(o, "sp", json_object_new_int64(sp));
		arr = json_object_new_array();
		for (int i = 0; i < 16; i++)
			json_object_array_add(arr,
			    json_object_new_int64(regs.ar[i]));
		json_object_object_add(o, "a", arr);
		rga = json_object_new_array();
		rgo = json_object_new_object();
		json_object_object_add(rgo, "address",
		    json_object_new_int64(base));
		json_object_object_add(rgo, "size",
		    json_object_new_int64((int64_t)n));
		json_object_object_add(rgo, "sha256",
		    jv_string(sha));
		json_object_array_add(rga, rgo);
		json_object_object_add(o, "regions", rga);
		free(p);
		a->filename_id = 0;
		api_json(a, 200, o);
	}
}
