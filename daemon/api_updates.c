/*
 * Core-1 image updates in the API (docs/updates.md, docs/api.md):
 *
 *   POST /api/v1/devices/{id}/core1/update   the image or its ELF
 *   GET  /api/v1/devices/{id}/core1          slots and the update in hand
 *   GET  /api/v1/devices/{id}/updates        the device's updates
 *   GET  /api/v1/updates/{id}                one update
 *
 * HTTP checks the image (core1img.c) before anything reaches the board,
 * keeps it as a file and writes the updates row; the ingest thread takes
 * both from there by the update's id (bridge.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "api_internal.h"
#include "bridge.h"
#include "core1img.h"
#include "hex.h"
#include "http.h"
#include "imagefile.h"
#include "jsonv.h"
#include "log.h"
#include "symbols.h"
#include "wallclock.h"

#define UPDATE_COLUMNS "id, device_id, image_key, elf_hash, name, size, " \
	"entry, trial_ms, requested, state, have, error, finished"

static json_object *
update_json(sqlite3_stmt *st)
{
	static const char *const names[] = { "id", "device", "image_sha256",
	    "elf_sha256", "name", "size", "entry", "trial_ms", "requested",
	    "state", "have", "error", "finished" };
	json_object *o = json_object_new_object();

	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		add_col(o, names[i], st, i);
	return o;
}

/* The live progress of an update still in hand, over the row's. */
static void
add_live(struct http *h, json_object *o, int64_t dev, int64_t id)
{
	struct live *l = bridge_live(http_bridge(h));
	struct live_device *d;
	struct live_update u = { 0 };

	pthread_mutex_lock(&l->mu);
	if ((d = live_device_find(l, dev)) != NULL && d->update.id == id)
		u = d->update;
	pthread_mutex_unlock(&l->mu);
	if (u.id == 0)
		return;
	json_object_object_add(o, "state", jv_string(u.state));
	json_object_object_add(o, "have", json_object_new_int64(u.have));
	json_object_object_add(o, "sent", json_object_new_int64(
	    (int64_t)u.sent));
	if (u.finished != 0)
		json_object_object_add(o, "finished", json_object_new_int64(
		    (int64_t)u.finished));
	if (u.error[0] != '\0')
		json_object_object_add(o, "error", jv_string(u.error));
}

static json_object *
load_update(struct http *h, int64_t id, struct api_reply *a)
{
	sqlite3_stmt *st;
	json_object *o = NULL, *dev;

	if (sqlite3_prepare_v2(http_db(h), "SELECT " UPDATE_COLUMNS " FROM "
	    "updates WHERE id = ?", -1, &st, NULL) != SQLITE_OK) {
		api_error(a, 500, "database", "%s", sqlite3_errmsg(http_db(h)));
		return NULL;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		o = update_json(st);
	else
		api_error(a, 404, "not_found", "no update %" PRId64, id);
	sqlite3_finalize(st);
	if (o != NULL && json_object_object_get_ex(o, "device", &dev))
		add_live(h, o, json_object_get_int64(dev), id);
	return o;
}

void
get_update(struct http *h, int64_t id, struct api_reply *a)
{
	json_object *o = load_update(h, id, a);

	if (o != NULL)
		api_json(a, 200, o);
}

void
get_device_updates(struct http *h, int64_t dev, struct api_reply *a)
{
	json_object *o, *arr;
	sqlite3_stmt *st;

	if (!device_exists(h, dev)) {
		api_error(a, 404, "not_found", "no device %" PRId64, dev);
		return;
	}
	if (sqlite3_prepare_v2(http_db(h), "SELECT " UPDATE_COLUMNS " FROM "
	    "updates WHERE device_id = ? ORDER BY id DESC LIMIT 100", -1, &st,
	    NULL) != SQLITE_OK) {
		api_error(a, 500, "database", "%s", sqlite3_errmsg(http_db(h)));
		return;
	}
	sqlite3_bind_int64(st, 1, dev);
	arr = json_object_new_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_object_array_add(arr, update_json(st));
	sqlite3_finalize(st);
	o = json_object_new_object();
	json_object_object_add(o, "updates", arr);
	api_json(a, 200, o);
}

static json_object *
hash_json(const uint8_t h[32])
{
	char hex[65];

	hex_encode(hex, h, 32);
	return jv_string(hex);
}

static json_object *
slots_json(const struct ac_msg_image_status *m)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "slot_size",
	    json_object_new_int64(m->slot_size));
	json_object_object_add(o, "base", json_object_new_int64(m->base));
	json_object_object_add(o, "active", jv_string(m->active ? "b" : "a"));
	json_object_object_add(o, "previous", m->previous > 1 ? NULL :
	    jv_string(m->previous ? "b" : "a"));
	json_object_object_add(o, "active_image", hash_json(m->active_hash));
	json_object_object_add(o, "state",
	    jv_string(ac_image_state_name(m->state)));
	json_object_object_add(o, "error", m->error == AC_IMGE_NONE ? NULL :
	    jv_string(ac_image_error_name(m->error)));
	json_object_object_add(o, "attempts",
	    json_object_new_int64(m->attempts));
	json_object_object_add(o, "trial_left_ms",
	    json_object_new_int64(m->trial_left_ms));
	return o;
}

void
get_core1(struct http *h, int64_t dev, struct api_reply *a)
{
	struct live *l = bridge_live(http_bridge(h));
	struct live_device *d;
	struct ac_msg_image_status slots;
	struct live_update u = { 0 };
	bool have = false;
	json_object *o;

	if (!device_exists(h, dev)) {
		api_error(a, 404, "not_found", "no device %" PRId64, dev);
		return;
	}
	pthread_mutex_lock(&l->mu);
	if ((d = live_device_find(l, dev)) != NULL) {
		have = d->have_slots;
		slots = d->slots;
		u = d->update;
	}
	pthread_mutex_unlock(&l->mu);
	o = json_object_new_object();
	json_object_object_add(o, "device", json_object_new_int64(dev));
	json_object_object_add(o, "slots", have ? slots_json(&slots) : NULL);
	if (u.id != 0) {
		json_object *uo = load_update(h, u.id, a);

		if (uo == NULL) {
			json_object_put(o);
			return;
		}
		json_object_object_add(o, "update", uo);
	} else
		json_object_object_add(o, "update", NULL);
	api_json(a, 200, o);
}

/* ---- POST ---- */

/* The board's slot address and size as its agent last said (0: not yet
 * known; the agent checks the size itself then). */
static void
board_slots(struct http *h, int64_t dev, uint32_t *base, uint32_t *size)
{
	struct live *l = bridge_live(http_bridge(h));
	struct live_device *d;

	*base = AC_IMAGE_BASE;
	*size = 0;
	pthread_mutex_lock(&l->mu);
	if ((d = live_device_find(l, dev)) != NULL && d->have_slots) {
		*base = d->slots.base;
		*size = d->slots.slot_size;
	}
	pthread_mutex_unlock(&l->mu);
}

/* An ELF body is kept as an image of its own (symbols for the crashes of
 * the new image); false with a answered when it cannot be. */
static bool
keep_elf(struct http *h, const char *body, size_t len, const char *name,
    const struct core1img *im, struct api_reply *a)
{
	struct sym_info info;
	struct symtab *sym;
	char hex[65], why[200];

	if ((sym = sym_open(body, len, &info, why, sizeof(why))) == NULL) {
		api_error(a, 422, "bad_elf", "not a usable core-1 ELF: %s", why);
		return false;
	}
	sym_close(sym);
	hex_encode(hex, im->elf_hash, 32);
	if (image_file_put(http_cfg(h)->state_dir, hex, body, len) < 0 ||
	    image_row_put(http_db_rw(h), hex, name, len, now_wall_us(),
	    &info) != SQLITE_DONE) {
		api_error(a, 507, "storage", "the ELF could not be kept");
		return false;
	}
	return true;
}

static int64_t
insert_update(struct http *h, int64_t dev, const struct core1img *im,
    const char *name, int64_t trial_ms, struct api_reply *a)
{
	char key[65], elf[65];
	sqlite3_stmt *st;
	int64_t id = 0;

	hex_encode(key, im->sha256, 32);
	hex_encode(elf, im->elf_hash, 32);
	if (sqlite3_prepare_v2(http_db_rw(h), "INSERT INTO updates (device_id, "
	    "image_key, elf_hash, name, size, entry, trial_ms, requested, "
	    "state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued')", -1, &st,
	    NULL) != SQLITE_OK) {
		api_error(a, 503, "database", "%s",
		    sqlite3_errmsg(http_db_rw(h)));
		return 0;
	}
	sqlite3_bind_int64(st, 1, dev);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, elf, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, im->size);
	sqlite3_bind_int64(st, 6, im->entry);
	sqlite3_bind_int64(st, 7, trial_ms);
	sqlite3_bind_int64(st, 8, (int64_t)now_wall_us());
	if (sqlite3_step(st) == SQLITE_DONE)
		id = sqlite3_last_insert_rowid(http_db_rw(h));
	else
		api_error(a, 503, "database", "%s",
		    sqlite3_errmsg(http_db_rw(h)));
	sqlite3_finalize(st);
	return id;
}

/* ?sha256=HEX: the body must hash to it (a file damaged on its way). */
static bool
sha_matches(struct MHD_Connection *c, const char *body, size_t len,
    struct api_reply *a)
{
	const char *want = MHD_lookup_connection_value(c,
	    MHD_GET_ARGUMENT_KIND, "sha256");
	uint8_t md[32];
	char hex[65];

	if (want == NULL)
		return true;
	blob_sha256(body, len, md);
	hex_encode(hex, md, 32);
	if (strcasecmp(want, hex) == 0)
		return true;
	api_error(a, 400, "sha256_mismatch", "the body's SHA-256 is %s, not "
	    "%.64s as given: the file changed on its way", hex, want);
	return false;
}

/*
 * POST /devices/{id}/core1/update?confirm_after=S&name=N&sha256=H with
 * the image (core1_image.py) or the core-1 ELF as the body.
 */
void
post_update(struct http *h, struct MHD_Connection *c, int64_t dev,
    const char *body, size_t len, struct api_reply *a)
{
	const char *name = MHD_lookup_connection_value(c,
	    MHD_GET_ARGUMENT_KIND, "name"), *code;
	struct command cmd = { .device = dev };
	struct core1img im;
	uint32_t base, slot_size;
	int64_t confirm_s, id;
	char why[300];
	json_object *o;

	if (query_i64(c, "confirm_after", 1, AC_TRIAL_MS_MAX / 1000,
	    AC_TRIAL_MS_DEFAULT / 1000, &confirm_s, a) < 0)
		return;
	if (name == NULL || name[0] == '\0')
		name = "core1";
	if (strlen(name) > 200) {
		api_error(a, 400, "bad_parameter", "name: at most 200 bytes");
		return;
	}
	if (!device_exists(h, dev)) {
		api_error(a, 404, "not_found", "no device %" PRId64, dev);
		return;
	}
	if (len == 0) {
		api_error(a, 400, "empty_body", "send the core-1 image or its "
		    "ELF as the request body");
		return;
	}
	if (!sha_matches(c, body, len, a))
		return;
	board_slots(h, dev, &base, &slot_size);
	if (core1img_parse((const uint8_t *)body, len, base, slot_size, &im,
	    &code, why, sizeof(why)) < 0) {
		api_error(a, 422, code, "%s", why);
		return;
	}
	if (http_db_rw(h) == NULL) {
		core1img_free(&im);
		api_error(a, 503, "database", "the database cannot be written "
		    "now");
		return;
	}
	if ((im.from_elf && !keep_elf(h, body, len, name, &im, a))) {
		core1img_free(&im);
		return;
	}
	{
		char key[65];

		hex_encode(key, im.sha256, 32);
		if (image_file_put_as(http_cfg(h)->state_dir, key, ".img",
		    im.bytes, im.size) < 0) {
			core1img_free(&im);
			api_error(a, 507, "storage", "the image could not be "
			    "kept: %s", strerror(errno));
			return;
		}
	}
	id = insert_update(h, dev, &im, name, confirm_s * 1000, a);
	core1img_free(&im);
	if (id == 0)
		return;
	cmd.update = id;
	http_client_name(c, cmd.who, sizeof(cmd.who));
	if (!bridge_command(http_bridge(h), &cmd)) {
		(void)sqlite3_exec(http_db_rw(h), "UPDATE updates SET state = "
		    "'failed', error = 'appcored was too busy', finished = "
		    "requested WHERE state = 'queued' AND id = last_insert_rowid()",
		    NULL, NULL, NULL);
		api_error(a, 503, "busy", "too many commands queued");
		return;
	}
	log_notice("api: core-1 update %" PRId64 " for device %" PRId64
	    " (%s, %zu bytes)", id, dev, name, len);
	if ((o = load_update(h, id, a)) != NULL)
		api_json(a, 202, o);
}
