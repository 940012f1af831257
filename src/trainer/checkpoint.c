/*
 * checkpoint.c - saving and restoring a run's whole state (see checkpoint.h).
 */
#include "trainer/checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAGIC "TRCKPT01"
/* Version 2 added the loss's parts to the metrics rows (9 numbers a row, 6 before);
 * version 1 files still load, with the parts NaN. */
#define VERSION 2
#define ROW_FIELDS(version) ((version) >= 2 ? 9 : 6)
#define MAX_FILE_BYTES ((size_t)16 << 30) /* far above any network this tool allows */

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE float and double");

/* ---- writing: a growing header buffer, then the big arrays, CRC over all ---- */

struct wbuf {
	unsigned char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct wbuf *w, const void *src, size_t n)
{
	if (w->oom)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 4096;
		unsigned char *p;

		while (cap < w->len + n)
			cap *= 2;
		p = realloc(w->p, cap);
		if (!p) {
			w->oom = true;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put_u32(struct wbuf *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(struct wbuf *w, uint64_t v) { put(w, &v, 8); }
static void put_i64(struct wbuf *w, int64_t v) { put(w, &v, 8); }
static void put_f64(struct wbuf *w, double v) { put(w, &v, 8); }

static void put_header(struct wbuf *w, const tr_trainer *t, size_t val_size)
{
	const tr_train_config *c = &t->cfg;
	const tr_batcher *b = &t->batcher;
	size_t i;

	put(w, MAGIC, 8);
	put_u32(w, VERSION);
	put_u32(w, (uint32_t)(c->layout.n_layers + 1));
	for (i = 0; i <= c->layout.n_layers; i++)
		put_u64(w, c->layout.sizes[i]);
	put_u32(w, (uint32_t)c->init);
	put_u32(w, (uint32_t)c->l2_scope);
	put_u32(w, c->shuffle);
	put_u32(w, 0);
	put_u64(w, c->seed);
	put_f64(w, c->lr);
	put_f64(w, c->l2);
	put_u64(w, c->batch);
	put_i64(w, c->iters);
	put_i64(w, c->eval_every);
	put_u64(w, c->eval_chunk);
	put_u64(w, val_size);
	put_u64(w, t->data->train.count);
	put_u32(w, tr_checkpoint_data_crc(&t->data->train));
	put_u32(w, 0);
	put_i64(w, t->step);
	put_f64(w, tr_trainer_seconds(t));
	put_i64(w, t->diverged_at);
	put_u64(w, b->n);
	put_u64(w, b->batch);
	put_u64(w, b->cursor);
	put_u64(w, b->epoch);
	for (i = 0; i < 4; i++)
		put_u64(w, b->prng.s[i]);
	put(w, b->perm, b->n * sizeof(uint32_t));
	put_u64(w, t->n_metrics);
	for (i = 0; i < t->n_metrics; i++) {
		const tr_metric_row *r = &t->metrics[i];

		put_i64(w, r->iter);
		put_f64(w, r->train_loss);
		put_f64(w, r->train_acc);
		put_f64(w, r->val_loss);
		put_f64(w, r->val_acc);
		put_f64(w, r->seconds);
		put_f64(w, r->train_ce);
		put_f64(w, r->val_ce);
		put_f64(w, r->l2_term);
	}
	put_u64(w, c->layout.n_params);
}

/* zlib's crc32 over any length (it takes a uInt length, so go in pieces). */
static uLong crc_update(uLong crc, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n > 0) {
		size_t k = n > (1u << 30) ? (1u << 30) : n;

		crc = crc32(crc, b, (uInt)k);
		b += k;
		n -= k;
	}
	return crc;
}

static int write_crc(tr_atomic_file *af, uLong *crc, const void *p, size_t n,
		     tr_error *err)
{
	*crc = crc_update(*crc, p, n);
	return tr_atomic_write(af, p, n, err);
}

uint32_t tr_checkpoint_data_crc(const tr_split *train)
{
	return (uint32_t)crc_update(crc32(0L, Z_NULL, 0), train->labels, train->count);
}

int tr_checkpoint_save(const char *path, tr_trainer *t, size_t val_size, tr_error *err)
{
	size_t n = t->cfg.layout.n_params;
	float *state = malloc(3 * n * sizeof(float));
	struct wbuf w = { 0 };
	tr_atomic_file af;
	uLong crc = crc32(0L, Z_NULL, 0);
	uint32_t crc32v;
	size_t i;
	int rc;

	if (state)
		put_header(&w, t, val_size);
	if (!state || w.oom) {
		rc = tr_fail(err, TR_ERR_INTERNAL, "out of host memory writing %s", path);
		goto out_free;
	}
	rc = tr_net_get_state(t->net, state, state + n, state + 2 * n, err);
	if (rc)
		goto out_free;
	/* Divergence is seen at evaluations; a checkpoint taken between two of them must
	 * not replace a good one with non-finite parameters. (Adam's v may overflow to inf
	 * in a healthy run, so only the parameters are checked.) */
	for (i = 0; i < n; i++) {
		if (!isfinite(state[i])) {
			rc = tr_fail(err, TR_ERR_DIVERGED, "training diverged: the parameters are "
				     "not finite after iteration %ld; %s is not overwritten (the "
				     "previous checkpoint is kept); try a smaller --lr or another "
				     "--init", t->step, path);
			goto out_free;
		}
	}
	rc = tr_atomic_open(&af, path, err);
	if (rc)
		goto out_free;
	if ((rc = write_crc(&af, &crc, w.p, w.len, err)) ||
	    (rc = write_crc(&af, &crc, state, 3 * n * sizeof(float), err)))
		goto out_free; /* tr_atomic_write already removed the temporary */
	crc32v = (uint32_t)crc;
	if ((rc = tr_atomic_write(&af, &crc32v, 4, err)))
		goto out_free;
	rc = tr_atomic_commit(&af, err);
out_free:
	free(w.p);
	free(state);
	return rc;
}

/* ---- reading: every field bounds-checked ---- */

struct rbuf {
	const unsigned char *p;
	size_t left;
	bool short_read;
};

static void get(struct rbuf *r, void *dst, size_t n)
{
	if (r->short_read || n > r->left) {
		r->short_read = true;
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
}

static uint32_t get_u32(struct rbuf *r) { uint32_t v; get(r, &v, 4); return v; }
static uint64_t get_u64(struct rbuf *r) { uint64_t v; get(r, &v, 8); return v; }
static int64_t get_i64(struct rbuf *r) { int64_t v; get(r, &v, 8); return v; }
static double get_f64(struct rbuf *r) { double v; get(r, &v, 8); return v; }

#define BAD(...) do { rc = tr_fail(err, TR_ERR_INPUT, __VA_ARGS__); goto out_bad; } while (0)
#define TRUNCATED() BAD("%s: truncated checkpoint (the file ends early)", name)

static int parse_config(struct rbuf *r, const char *name, tr_checkpoint *c, tr_error *err)
{
	tr_train_config *cfg = &c->cfg;
	size_t sizes[TR_MAX_LAYERS + 1], i;
	uint32_t n_sizes, init, scope, shuffle;
	int rc;

	n_sizes = get_u32(r);
	if (r->short_read)
		TRUNCATED();
	if (n_sizes < 2 || n_sizes > TR_MAX_LAYERS + 1)
		BAD("%s: corrupt checkpoint: %u layer sizes", name, n_sizes);
	for (i = 0; i < n_sizes; i++)
		sizes[i] = (size_t)get_u64(r);
	tr_train_config_default(cfg);
	if (!r->short_read && tr_layout_init(&cfg->layout, sizes, n_sizes, err) != TR_OK)
		BAD("%s: corrupt checkpoint: bad layer sizes", name);
	init = get_u32(r);
	scope = get_u32(r);
	shuffle = get_u32(r);
	get_u32(r);
	cfg->seed = get_u64(r);
	cfg->lr = get_f64(r);
	cfg->l2 = get_f64(r);
	cfg->batch = (size_t)get_u64(r);
	cfg->iters = (long)get_i64(r);
	cfg->eval_every = (long)get_i64(r);
	cfg->eval_chunk = (size_t)get_u64(r);
	if (r->short_read)
		TRUNCATED();
	if (init > TR_INIT_XAVIER || scope > TR_L2_WEIGHTS || shuffle > 1 ||
	    !(cfg->lr > 0) || !isfinite(cfg->lr) || !(cfg->l2 >= 0) || !isfinite(cfg->l2) ||
	    cfg->batch == 0 || cfg->batch > 65536 || cfg->iters <= 0 || cfg->eval_every <= 0 ||
	    cfg->eval_chunk == 0 || cfg->eval_chunk > 1000000)
		BAD("%s: corrupt checkpoint: invalid training settings", name);
	cfg->init = (enum tr_init)init;
	cfg->l2_scope = (enum tr_l2_scope)scope;
	cfg->shuffle = shuffle != 0;
	return TR_OK;
out_bad:
	return rc;
}

static int parse_batcher(struct rbuf *r, const char *name, tr_checkpoint *c, tr_error *err)
{
	tr_batcher *b = &c->batcher;
	unsigned char *seen = NULL;
	size_t i;
	int rc;

	b->n = (size_t)get_u64(r);
	b->batch = (size_t)get_u64(r);
	b->cursor = (size_t)get_u64(r);
	b->epoch = get_u64(r);
	for (i = 0; i < 4; i++)
		b->prng.s[i] = get_u64(r);
	b->shuffle = c->cfg.shuffle;
	if (r->short_read)
		TRUNCATED();
	if (b->n != c->train_count || b->batch != c->cfg.batch || b->cursor > b->n)
		BAD("%s: corrupt checkpoint: batcher state does not fit the data", name);
	if (b->n > r->left / sizeof(uint32_t))
		TRUNCATED();
	b->perm = malloc(b->n * sizeof(uint32_t));
	seen = calloc(b->n, 1);
	if (!b->perm || !seen)
		BAD("%s: out of host memory", name);
	get(r, b->perm, b->n * sizeof(uint32_t));
	for (i = 0; i < b->n; i++) {
		if (b->perm[i] >= b->n || seen[b->perm[i]])
			BAD("%s: corrupt checkpoint: the batch order is not a permutation", name);
		seen[b->perm[i]] = 1;
	}
	free(seen);
	return TR_OK;
out_bad:
	free(seen);
	return rc;
}

int tr_checkpoint_parse(const void *buf, size_t len, const char *name, tr_checkpoint *c,
			tr_error *err)
{
	struct rbuf r = { buf, len, false };
	char magic[8];
	uint64_t n_metrics, n_params;
	uint32_t version, stored_crc;
	size_t i, n;
	int rc;

	memset(c, 0, sizeof(*c));
	if (len < 12 + 4)
		BAD("%s: not a trainer checkpoint (too short: %zu bytes)", name, len);
	memcpy(&stored_crc, (const unsigned char *)buf + len - 4, 4);
	r.left = len - 4;
	get(&r, magic, 8);
	if (memcmp(magic, MAGIC, 8) != 0)
		BAD("%s: not a trainer checkpoint (bad magic)", name);
	version = get_u32(&r);
	if (version < 1 || version > VERSION)
		BAD("%s: checkpoint version %u; this trainer reads versions 1 to %d", name,
		    version, VERSION);
	if ((uint32_t)crc_update(crc32(0L, Z_NULL, 0), buf, len - 4) != stored_crc)
		BAD("%s: checkpoint is corrupt (CRC mismatch)", name);
	if ((rc = parse_config(&r, name, c, err)))
		goto out_bad;
	c->val_size = (size_t)get_u64(&r);
	c->train_count = (size_t)get_u64(&r);
	c->data_crc = get_u32(&r);
	get_u32(&r);
	c->step = (long)get_i64(&r);
	c->seconds = get_f64(&r);
	c->diverged_at = (long)get_i64(&r);
	if (r.short_read)
		TRUNCATED();
	if (c->train_count == 0 || c->train_count > UINT32_MAX || c->step < 0 ||
	    c->step > c->cfg.iters || !(c->seconds >= 0) || !isfinite(c->seconds) ||
	    c->diverged_at < 0)
		BAD("%s: corrupt checkpoint: invalid run state", name);
	if ((rc = parse_batcher(&r, name, c, err)))
		goto out_bad;
	n_metrics = get_u64(&r);
	if (r.short_read)
		TRUNCATED();
	if (n_metrics > (uint64_t)c->step + 1 || n_metrics > r.left / (8 * ROW_FIELDS(version)))
		BAD("%s: corrupt checkpoint: %llu metrics rows", name,
		    (unsigned long long)n_metrics);
	c->n_metrics = (size_t)n_metrics;
	c->metrics = malloc((c->n_metrics ? c->n_metrics : 1) * sizeof(*c->metrics));
	if (!c->metrics)
		BAD("%s: out of host memory", name);
	for (i = 0; i < c->n_metrics; i++) {
		tr_metric_row *m = &c->metrics[i];

		m->iter = (long)get_i64(&r);
		m->train_loss = get_f64(&r);
		m->train_acc = get_f64(&r);
		m->val_loss = get_f64(&r);
		m->val_acc = get_f64(&r);
		m->seconds = get_f64(&r);
		m->train_ce = m->val_ce = m->l2_term = NAN;
		if (version >= 2) {
			m->train_ce = get_f64(&r);
			m->val_ce = get_f64(&r);
			m->l2_term = get_f64(&r);
		}
	}
	n_params = get_u64(&r);
	if (r.short_read)
		TRUNCATED();
	n = c->cfg.layout.n_params;
	if (n_params != n)
		BAD("%s: corrupt checkpoint: %llu parameters where the layers need %zu", name,
		    (unsigned long long)n_params, n);
	if (r.left != 3 * n * sizeof(float))
		BAD("%s: checkpoint has %zu bytes of parameters, expected %zu (truncated or "
		    "corrupt)", name, r.left, 3 * n * sizeof(float));
	c->params = malloc(n * sizeof(float));
	c->adam_m = malloc(n * sizeof(float));
	c->adam_v = malloc(n * sizeof(float));
	if (!c->params || !c->adam_m || !c->adam_v)
		BAD("%s: out of host memory", name);
	get(&r, c->params, n * sizeof(float));
	get(&r, c->adam_m, n * sizeof(float));
	get(&r, c->adam_v, n * sizeof(float));
	return TR_OK;

out_bad:
	tr_checkpoint_free(c);
	return rc;
}

int tr_checkpoint_load(const char *path, tr_checkpoint *out, tr_error *err)
{
	char *buf;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = tr_input_read_all(path, "a checkpoint file", MAX_FILE_BYTES, &buf, &len, err);
	if (rc)
		return rc;
	rc = tr_checkpoint_parse(buf, len, path, out, err);
	free(buf);
	return rc;
}

void tr_checkpoint_free(tr_checkpoint *c)
{
	if (!c)
		return;
	tr_batcher_free(&c->batcher);
	free(c->metrics);
	free(c->params);
	free(c->adam_m);
	free(c->adam_v);
	memset(c, 0, sizeof(*c));
}

int tr_trainer_restore(tr_trainer *t, tr_checkpoint *c, tr_error *err)
{
	int rc;

	if (c->train_count != t->data->train.count ||
	    c->data_crc != tr_checkpoint_data_crc(&t->data->train))
		return tr_fail(err, TR_ERR_INPUT,
			       "the checkpoint was made with other training data (%zu examples) "
			       "than %s gives (%zu examples, or other labels): resume with the "
			       "same --data and --val-size", c->train_count, t->data->dir,
			       t->data->train.count);
	rc = tr_net_set_state(t->net, c->params, c->adam_m, c->adam_v, err);
	if (rc)
		return rc;
	tr_batcher_free(&t->batcher);
	t->batcher = c->batcher;
	memset(&c->batcher, 0, sizeof(c->batcher));
	free(t->metrics);
	t->metrics = c->metrics;
	t->n_metrics = t->cap_metrics = c->n_metrics;
	c->metrics = NULL;
	c->n_metrics = 0;
	t->step = c->step;
	t->seconds_before = c->seconds;
	t->diverged_at = c->diverged_at;
	return TR_OK;
}
