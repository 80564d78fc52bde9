/*
 * The `samples` virtual table (docs/storage.md, "Asking the raw samples"):
 * the rows (counter_id, t, value) of every block in sample_blocks, decoded
 * as they are read.  A condition on counter_id (=, IN, a join) reads only
 * the blocks of that counter's column sets and decodes only its column; a
 * range of t reads only the blocks that overlap it.  Those conditions are
 * then done here, exactly as SQLite would compare (an INTEGER column:
 * numeric affinity for the other side, a fraction rounded the right way,
 * NULL matching nothing, a text above every number), so SQLite need not
 * look at the rows again.
 *
 * Built into appcored (samples_vtab_register on every connection) and, with
 * APPCORE_SQLITE_EXTENSION, as the loadable extension appcore_samples for
 * the sqlite3 shell (.load).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef APPCORE_SQLITE_EXTENSION
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1
#else
#include <sqlite3.h>
#endif

#include "blocks.h"
#include "samples_vtab.h"

enum {
	COL_COUNTER, COL_T, COL_VALUE
};

/* idxNum: which conditions xFilter's arguments carry, in this order. */
enum {
	F_COUNTER = 1, F_LO = 2, F_LO_STRICT = 4, F_HI = 8, F_HI_STRICT = 16,
	F_T_EQ = 32
};

struct svtab {
	sqlite3_vtab base;
	sqlite3 *db;
	char *schema;
};

struct scur {
	sqlite3_vtab_cursor base;
	sqlite3_stmt *st;		/* the blocks to read */
	bool none;			/* the conditions match no row */
	bool one;			/* one counter: `counter` */
	int64_t counter, lo, hi;
	int64_t block_id;
	uint32_t nrows, ncols, row, col;
	int64_t ctr[BLOCK_MAX_COLS];
	int64_t t[BLOCK_MAX_ROWS];
	int64_t *v;			/* BLOCK_MAX_COLS x BLOCK_MAX_ROWS */
	int64_t rowid;
	bool eof;
};

/* ---- the table ---- */

static int
sv_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
    sqlite3_vtab **out, char **err)
{
	struct svtab *vt;
	int rc;

	(void)aux;
	(void)argc;
	rc = sqlite3_declare_vtab(db, "CREATE TABLE x (counter_id INTEGER, "
	    "t INTEGER, value INTEGER)");
	if (rc != SQLITE_OK)
		return rc;
	if ((vt = sqlite3_malloc(sizeof(*vt))) == NULL)
		return SQLITE_NOMEM;
	memset(vt, 0, sizeof(*vt));
	vt->db = db;
	if ((vt->schema = sqlite3_mprintf("%s", argv[1])) == NULL) {
		sqlite3_free(vt);
		return SQLITE_NOMEM;
	}
	(void)err;
	*out = &vt->base;
	return SQLITE_OK;
}

static int
sv_disconnect(sqlite3_vtab *v)
{
	struct svtab *vt = (struct svtab *)v;

	sqlite3_free(vt->schema);
	sqlite3_free(vt);
	return SQLITE_OK;
}

/* The first usable constraint on column col with one of ops. */
static int
usable(const sqlite3_index_info *ii, int col, int op)
{
	for (int i = 0; i < ii->nConstraint; i++)
		if (ii->aConstraint[i].usable &&
		    ii->aConstraint[i].iColumn == col &&
		    ii->aConstraint[i].op == op)
			return i;
	return -1;
}

static int
sv_best_index(sqlite3_vtab *v, sqlite3_index_info *ii)
{
	static const struct {
		int col, op, flag;
	} uses[] = {
		{ COL_COUNTER, SQLITE_INDEX_CONSTRAINT_EQ, F_COUNTER },
		{ COL_T, SQLITE_INDEX_CONSTRAINT_EQ, F_T_EQ },
		{ COL_T, SQLITE_INDEX_CONSTRAINT_GE, F_LO },
		{ COL_T, SQLITE_INDEX_CONSTRAINT_GT, F_LO_STRICT },
		{ COL_T, SQLITE_INDEX_CONSTRAINT_LE, F_HI },
		{ COL_T, SQLITE_INDEX_CONSTRAINT_LT, F_HI_STRICT },
	};
	int argn = 0, flags = 0;
	double cost = 1e9;

	(void)v;
	for (size_t k = 0; k < sizeof(uses) / sizeof(uses[0]); k++) {
		int i = usable(ii, uses[k].col, uses[k].op);

		if (i < 0 || (uses[k].flag != F_COUNTER && (flags & F_T_EQ)) ||
		    ((uses[k].flag & (F_LO | F_LO_STRICT)) &&
		    (flags & (F_LO | F_LO_STRICT))) ||
		    ((uses[k].flag & (F_HI | F_HI_STRICT)) &&
		    (flags & (F_HI | F_HI_STRICT))))
			continue;
		flags |= uses[k].flag;
		ii->aConstraintUsage[i].argvIndex = ++argn;
		ii->aConstraintUsage[i].omit = 1;
	}
	if (flags & F_COUNTER)
		cost /= 1000;
	if (flags & (F_T_EQ | F_LO | F_LO_STRICT))
		cost /= 100;
	if (flags & (F_T_EQ | F_HI | F_HI_STRICT))
		cost /= 10;
	ii->idxNum = flags;
	ii->estimatedCost = cost;
	ii->estimatedRows = (sqlite3_int64)(cost / 10) + 1;
	return SQLITE_OK;
}

/* ---- reading ---- */

static int
sv_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
	struct scur *c = sqlite3_malloc(sizeof(*c));

	(void)v;
	if (c == NULL)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof(*c));
	c->v = sqlite3_malloc64((sqlite3_uint64)BLOCK_MAX_COLS *
	    BLOCK_MAX_ROWS * sizeof(*c->v));
	if (c->v == NULL) {
		sqlite3_free(c);
		return SQLITE_NOMEM;
	}
	*out = &c->base;
	return SQLITE_OK;
}

static int
sv_close(sqlite3_vtab_cursor *cur)
{
	struct scur *c = (struct scur *)cur;

	sqlite3_finalize(c->st);
	sqlite3_free(c->v);
	sqlite3_free(c);
	return SQLITE_OK;
}

#define TWO63	9223372036854775808.0	/* 2^63, exact as a double */

/*
 * The comparisons of an INTEGER column with an argument, as SQLite makes
 * them: the argument takes numeric affinity; an integer compares exactly,
 * a real by its value (so t >= 2.5 is t >= 3), NULL matches nothing, a
 * text or blob is above every number.  Each narrows [lo, hi] or sets
 * `none`.
 */
static void
at_least(struct scur *c, sqlite3_value *a, bool strict)
{
	double d;
	int64_t x;

	switch (sqlite3_value_numeric_type(a)) {
	case SQLITE_INTEGER:
		x = sqlite3_value_int64(a);
		if (strict && x == INT64_MAX)
			c->none = true;
		else if (strict ? x + 1 > c->lo : x > c->lo)
			c->lo = strict ? x + 1 : x;
		return;
	case SQLITE_FLOAT:
		d = sqlite3_value_double(a);
		d = strict ? floor(d) + 1 : ceil(d);
		if (d >= TWO63)
			c->none = true;
		else if (d > -TWO63 && (int64_t)d > c->lo)
			c->lo = (int64_t)d;
		return;
	default:			/* NULL, a text, a blob */
		c->none = true;
	}
}

static void
at_most(struct scur *c, sqlite3_value *a, bool strict)
{
	double d;
	int64_t x;

	switch (sqlite3_value_numeric_type(a)) {
	case SQLITE_INTEGER:
		x = sqlite3_value_int64(a);
		if (strict && x == INT64_MIN)
			c->none = true;
		else if (strict ? x - 1 < c->hi : x < c->hi)
			c->hi = strict ? x - 1 : x;
		return;
	case SQLITE_FLOAT:
		d = sqlite3_value_double(a);
		d = strict ? ceil(d) - 1 : floor(d);
		if (d < -TWO63)
			c->none = true;
		else if (d < TWO63 && (int64_t)d < c->hi)
			c->hi = (int64_t)d;
		return;
	case SQLITE_NULL:
		c->none = true;
		return;
	default:			/* every number is below a text */
		return;
	}
}

/* column = a: true with *out when a can equal an integer. */
static bool
equal_to(sqlite3_value *a, int64_t *out)
{
	double d;

	switch (sqlite3_value_numeric_type(a)) {
	case SQLITE_INTEGER:
		*out = sqlite3_value_int64(a);
		return true;
	case SQLITE_FLOAT:
		d = sqlite3_value_double(a);
		if (d != floor(d) || d < -TWO63 || d >= TWO63)
			return false;
		*out = (int64_t)d;
		return true;
	default:
		return false;
	}
}

/* The inclusive bounds of t, and the counter, from xFilter's arguments. */
static void
read_args(struct scur *c, int flags, sqlite3_value **argv)
{
	int64_t x;
	int k = 0;

	c->none = c->one = false;
	c->lo = INT64_MIN;
	c->hi = INT64_MAX;
	if (flags & F_COUNTER) {
		c->one = true;
		c->none |= !equal_to(argv[k++], &c->counter);
	}
	if (flags & F_T_EQ) {
		if (equal_to(argv[k++], &x))
			c->lo = c->hi = x;
		else
			c->none = true;
	}
	if (flags & (F_LO | F_LO_STRICT))
		at_least(c, argv[k++], (flags & F_LO_STRICT) != 0);
	if (flags & (F_HI | F_HI_STRICT))
		at_most(c, argv[k++], (flags & F_HI_STRICT) != 0);
	if (c->lo > c->hi)
		c->none = true;
}

static int
fail(struct scur *c, int rc, char *msg)
{
	sqlite3_vtab *vt = c->base.pVtab;

	sqlite3_free(vt->zErrMsg);
	vt->zErrMsg = msg;
	return rc;
}

/* Decodes the block in the statement's current row. */
static int
load_block(struct scur *c)
{
	const void *p = sqlite3_column_blob(c->st, 1);
	int n = sqlite3_column_bytes(c->st, 1);
	struct block_view bv;
	const char *why = "";
	int col = -1;

	c->block_id = sqlite3_column_int64(c->st, 0);
	if (block_open(&bv, p, (size_t)n, &why) < 0 ||
	    block_times(&bv, c->t, &why) < 0)
		goto bad;
	c->nrows = bv.nrows;
	if (c->one) {
		if ((col = block_find(&bv, c->counter)) < 0) {
			why = "its column set does not name its counter";
			goto bad;
		}
		c->ncols = 1;
		c->ctr[0] = c->counter;
		return block_column(&bv, (uint32_t)col, c->v, &why) < 0 ?
		    fail(c, SQLITE_CORRUPT, sqlite3_mprintf("appcore: sample "
		    "block %lld is malformed: %s", (long long)c->block_id,
		    why)) : SQLITE_OK;
	}
	c->ncols = bv.ncols;
	memcpy(c->ctr, bv.counters, bv.ncols * sizeof(*c->ctr));
	for (uint32_t k = 0; k < bv.ncols; k++)
		if (block_column(&bv, k, c->v + (size_t)k * BLOCK_MAX_ROWS,
		    &why) < 0)
			goto bad;
	return SQLITE_OK;
bad:
	return fail(c, SQLITE_CORRUPT, sqlite3_mprintf("appcore: sample block "
	    "%lld is malformed: %s", (long long)c->block_id, why));
}

/* Moves to the next (row, column) of the blocks within [lo, hi]. */
static int
advance(struct scur *c, bool first)
{
	for (;;) {
		if (!first && ++c->col < c->ncols &&
		    c->t[c->row] >= c->lo && c->t[c->row] <= c->hi)
			return SQLITE_OK;
		if (!first) {
			c->col = 0;
			c->row++;
		}
		first = false;
		while (c->row < c->nrows && (c->t[c->row] < c->lo ||
		    c->t[c->row] > c->hi))
			c->row++;
		if (c->row < c->nrows && c->ncols > 0)
			return SQLITE_OK;
		switch (sqlite3_step(c->st)) {
		case SQLITE_ROW:
			break;
		case SQLITE_DONE:
			c->eof = true;
			return SQLITE_OK;
		default:
			return fail(c, SQLITE_ERROR, sqlite3_mprintf("%s",
			    sqlite3_errmsg(((struct svtab *)
			    c->base.pVtab)->db)));
		}
		c->row = c->col = c->nrows = c->ncols = 0;
		if (load_block(c) != SQLITE_OK)
			return SQLITE_CORRUPT;
		first = true;
	}
}

static int
prepare_blocks(struct scur *c)
{
	struct svtab *vt = (struct svtab *)c->base.pVtab;
	char *sql;
	int rc;

	sql = c->one ? sqlite3_mprintf("SELECT b.id, b.data FROM "
	    "\"%w\".group_counters g JOIN \"%w\".sample_blocks b ON "
	    "b.group_id = g.group_id AND b.t_min BETWEEN ?2 AND ?3 WHERE "
	    "g.counter_id = ?1 AND b.t_max >= ?4", vt->schema, vt->schema) :
	    sqlite3_mprintf("SELECT id, data FROM \"%w\".sample_blocks WHERE "
	    "t_min BETWEEN ?2 AND ?3 AND t_max >= ?4", vt->schema);
	if (sql == NULL)
		return SQLITE_NOMEM;
	sqlite3_finalize(c->st);
	c->st = NULL;
	rc = sqlite3_prepare_v2(vt->db, sql, -1, &c->st, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return fail(c, rc, sqlite3_mprintf("appcore samples: %s",
		    sqlite3_errmsg(vt->db)));
	if (c->one)
		sqlite3_bind_int64(c->st, 1, c->counter);
	/* A block spans at most BLOCK_SPAN_US: one that ends at lo or later
	 * began no earlier than lo - BLOCK_SPAN_US. */
	sqlite3_bind_int64(c->st, 2, c->lo < INT64_MIN + BLOCK_SPAN_US ?
	    INT64_MIN : c->lo - BLOCK_SPAN_US);
	sqlite3_bind_int64(c->st, 3, c->hi);
	sqlite3_bind_int64(c->st, 4, c->lo);
	return SQLITE_OK;
}

static int
sv_filter(sqlite3_vtab_cursor *cur, int flags, const char *idx_str,
    int argc, sqlite3_value **argv)
{
	struct scur *c = (struct scur *)cur;
	int rc;

	(void)idx_str;
	(void)argc;
	read_args(c, flags, argv);
	c->eof = c->none;
	c->row = c->col = c->nrows = c->ncols = 0;
	c->rowid = 0;
	if (c->none)
		return SQLITE_OK;
	if ((rc = prepare_blocks(c)) != SQLITE_OK)
		return rc;
	return advance(c, true);
}

static int
sv_next(sqlite3_vtab_cursor *cur)
{
	struct scur *c = (struct scur *)cur;

	c->rowid++;
	return advance(c, false);
}

static int
sv_eof(sqlite3_vtab_cursor *cur)
{
	return ((struct scur *)cur)->eof;
}

static int
sv_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	struct scur *c = (struct scur *)cur;

	switch (col) {
	case COL_COUNTER:
		sqlite3_result_int64(ctx, c->ctr[c->col]);
		break;
	case COL_T:
		sqlite3_result_int64(ctx, c->t[c->row]);
		break;
	default:
		sqlite3_result_int64(ctx,
		    c->v[(size_t)c->col * BLOCK_MAX_ROWS + c->row]);
	}
	return SQLITE_OK;
}

static int
sv_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *out)
{
	*out = ((struct scur *)cur)->rowid;
	return SQLITE_OK;
}

static const sqlite3_module samples_module = {
	.iVersion = 1,
	.xCreate = sv_connect,
	.xConnect = sv_connect,
	.xBestIndex = sv_best_index,
	.xDisconnect = sv_disconnect,
	.xDestroy = sv_disconnect,
	.xOpen = sv_open,
	.xClose = sv_close,
	.xFilter = sv_filter,
	.xNext = sv_next,
	.xEof = sv_eof,
	.xColumn = sv_column,
	.xRowid = sv_rowid,
};

int
samples_vtab_register(sqlite3 *db)
{
	return sqlite3_create_module_v2(db, "appcore_samples", &samples_module,
	    NULL, NULL);
}

#ifdef APPCORE_SQLITE_EXTENSION
int sqlite3_appcoresamples_init(sqlite3 *, char **,
    const sqlite3_api_routines *);

int
sqlite3_appcoresamples_init(sqlite3 *db, char **err,
    const sqlite3_api_routines *api)
{
	SQLITE_EXTENSION_INIT2(api);
	(void)err;
	return samples_vtab_register(db);
}
#endif
