/*
 * checkpoint.c - saving and restoring a run's whole state (see checkpoint.h).
 */
#include "trainer/checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trainer/crc.h"

#define MAGIC "TRCKPT01"
#define MAX_FILE_BYTES ((size_t)16 << 30) /* far above any network this tool allows */
/* Numbers per metrics row: version 1 had 6 (iter, train_loss, train_acc, val_loss,
 * val_acc, seconds), version 2 added the loss's parts (train_ce, val_ce, l2_term) for
 * 9; version 3 stores the count, so that rows may grow (extra numbers are skipped). */
#define ROW_FIELDS_V1 6
#define ROW_FIELDS 9
#define MAX_ROW_FIELDS 64
#define HEAD_BYTES 512 /* more than the part before the batch order, for any version */

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE float and double");

/* ---- snapshots ---- */

/* (Re)allocate *p for n elements of size sz, keeping it when it already has *have. */
static int reserve(void **p, size_t *have, size_t n, size_t sz)
{
	void *q;

	if (*p && *have >= n)
		return 0;
	q = realloc(*p, (n ? n : 1) * sz);
	if (!q)
		return -1;
	*p = q;
	*have = n;
	return 0;
}

int tr_checkpoint_snapshot(tr_trainer *t, size_t val_size, const char *path,
			   tr_checkpoint *c, tr_error *err)
{
	size_t n = t->cfg.layout.n_params, i;
	size_t have_params = c->params ? c->cfg.layout.n_params : 0;
	size_t have_perm = c->batcher.perm ? c->batcher.n : 0, have_rows = c->n_metrics;
	float *state;
	int rc;

	/* One block for the three arrays: params, then m, then v. */
	state = c->params;
	if (!state || have_params < n) {
		state = realloc(c->params, 3 * n * sizeof(float));
		if (!state)
			return tr_fail(err, TR_ERR_INTERNAL, "out of host memory for a checkpoint "
				       "of %s (%zu MiB)", path, (3 * n * sizeof(float)) >> 20);
		c->params = state;
	}
	c->adam_m = state + n;
	c->adam_v = state + 2 * n;
	if (reserve((void **)&c->batcher.perm, &have_perm, t->batcher.n, sizeof(uint32_t)) ||
	    reserve((void **)&c->metrics, &have_rows, t->n_metrics, sizeof(tr_metric_row)))
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory for a checkpoint of %s",
			       path);
	c->version = TR_CHECKPOINT_VERSION;
	c->cfg = t->cfg;
	c->val_size = val_size;
	c->train_count = t->data->train.count;
	c->data_crc = t->data->crc;
	c->step = t->step;
	c->seconds = tr_trainer_seconds(t);
	c->diverged_at = t->diverged_at;
	{
		uint32_t *perm = c->batcher.perm;

		c->batcher = t->batcher;
		c->batcher.perm = perm;
		memcpy(perm, t->batcher.perm, t->batcher.n * sizeof(uint32_t));
	}
	if (t->n_metrics)
		memcpy(c->metrics, t->metrics, t->n_metrics * sizeof(tr_metric_row));
	c->n_metrics = t->n_metrics;
	rc = tr_net_get_state(t->net, c->params, c->adam_m, c->adam_v, err);
	if (rc)
		return rc;
	/* Divergence is seen at evaluations; a checkpoint taken between two of them must
	 * not replace a good one with non-finite parameters. (Adam's v may overflow to inf
	 * in a healthy run, so only the parameters are checked.) */
	for (i = 0; i < n; i++)
		if (!isfinite(c->params[i]))
			return tr_fail(err, TR_ERR_DIVERGED, "training diverged: the parameters are "
				       "not finite after iteration %ld; %s is not overwritten (the "
				       "previous checkpoint is kept); try a smaller --lr or another "
				       "--init", t->step, path);
	return TR_OK;
}

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

static void put_header(struct wbuf *w, const tr_checkpoint *ck)
{
	const tr_train_config *c = &ck->cfg;
	const tr_batcher *b = &ck->batcher;
	size_t i;

	put(w, MAGIC, 8);
	put_u32(w, TR_CHECKPOINT_VERSION);
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
	put_u64(w, ck->val_size);
	put_u64(w, ck->train_count);
	put_u32(w, ck->data_crc);
	put_u32(w, ROW_FIELDS);
	put_i64(w, ck->step);
	put_f64(w, ck->seconds);
	put_i64(w, ck->diverged_at);
	put_u64(w, b->n);
	put_u64(w, b->batch);
	put_u64(w, b->cursor);
	put_u64(w, b->epoch);
	for (i = 0; i < 4; i++)
		put_u64(w, b->prng.s[i]);
	put(w, b->perm, b->n * sizeof(uint32_t));
	put_u64(w, ck->n_metrics);
	for (i = 0; i < ck->n_metrics; i++) {
		const tr_metric_row *r = &ck->metrics[i];

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

static int write_crc(tr_atomic_file *af, uint32_t *crc, const void *p, size_t n,
		     tr_error *err)
{
	*crc = tr_crc32(*crc, p, n);
	return tr_atomic_write(af, p, n, err);
}

uint32_t tr_checkpoint_labels_crc(const tr_split *train)
{
	return tr_crc32(tr_crc32_init(), train->labels, train->count);
}

int tr_checkpoint_write(const char *path, const tr_checkpoint *c, tr_error *err)
{
	size_t n = c->cfg.layout.n_params;
	struct wbuf w = { 0 };
	tr_atomic_file af;
	uint32_t crc = tr_crc32_init();
	int rc;

	put_header(&w, c);
	if (w.oom) {
		rc = tr_fail(err, TR_ERR_INTERNAL, "out of host memory writing %s", path);
		goto out_free;
	}
	rc = tr_atomic_open(&af, path, err);
	if (rc)
		goto out_free;
	if ((rc = write_crc(&af, &crc, w.p, w.len, err)) ||
	    (rc = write_crc(&af, &crc, c->params, 3 * n * sizeof(float), err)))
		goto out_free; /* tr_atomic_write already removed the temporary */
	if ((rc = tr_atomic_write(&af, &crc, 4, err)))
		goto out_free;
	rc = tr_atomic_commit(&af, err);
out_free:
	free(w.p);
	return rc;
}

int tr_checkpoint_save(const char *path, tr_trainer *t, size_t val_size, tr_error *err)
{
	tr_checkpoint c;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = tr_checkpoint_snapshot(t, val_size, path, &c, err);
	if (!rc)
		rc = tr_checkpoint_write(path, &c, err);
	tr_checkpoint_free(&c);
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

static int parse_preamble(struct rbuf *r, const char *name, uint32_t *version,
			  tr_error *err)
{
	char magic[8];
	int rc;

	get(r, magic, 8);
	if (memcmp(magic, MAGIC, 8) != 0)
		BAD("%s: not a trainer checkpoint (bad magic)", name);
	*version = get_u32(r);
	if (*version < 1 || *version > TR_CHECKPOINT_VERSION)
		BAD("%s: checkpoint version %u; this trainer reads versions 1 to %d", name,
		    *version, TR_CHECKPOINT_VERSION);
	return TR_OK;
out_bad:
	return rc;
}

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

/* The run's state after the configuration; *fields: values per metrics row. */
static int parse_run_state(struct rbuf *r, const char *name, tr_checkpoint *c,
			   uint32_t *fields, tr_error *err)
{
	int rc;

	c->val_size = (size_t)get_u64(r);
	c->train_count = (size_t)get_u64(r);
	c->data_crc = get_u32(r);
	*fields = get_u32(r); /* version 3; 0 before */
	if (c->version < 3)
		*fields = c->version < 2 ? ROW_FIELDS_V1 : ROW_FIELDS;
	c->step = (long)get_i64(r);
	c->seconds = get_f64(r);
	c->diverged_at = (long)get_i64(r);
	if (r->short_read)
		TRUNCATED();
	if (c->train_count == 0 || c->train_count > UINT32_MAX || c->step < 0 ||
	    c->step > c->cfg.iters || !(c->seconds >= 0) || !isfinite(c->seconds) ||
	    c->diverged_at < 0 || *fields < ROW_FIELDS_V1 || *fields > MAX_ROW_FIELDS)
		BAD("%s: corrupt checkpoint: invalid run state", name);
	return TR_OK;
out_bad:
	return rc;
}

/* The batcher's fixed fields, up to its permutation. */
static int parse_batcher_head(struct rbuf *r, const char *name, tr_checkpoint *c,
			      tr_error *err)
{
	tr_batcher *b = &c->batcher;
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
	return TR_OK;
out_bad:
	return rc;
}

static int parse_perm(struct rbuf *r, const char *name, tr_checkpoint *c, tr_error *err)
{
	tr_batcher *b = &c->batcher;
	unsigned char *seen = NULL;
	size_t i;
	int rc;

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

static int parse_metrics(struct rbuf *r, const char *name, tr_checkpoint *c,
			 uint32_t fields, tr_error *err)
{
	uint64_t n_metrics = get_u64(r);
	size_t i, k;
	int rc;

	if (r->short_read)
		TRUNCATED();
	if (n_metrics > (uint64_t)c->step + 1 || n_metrics > r->left / (8 * fields))
		BAD("%s: corrupt checkpoint: %llu metrics rows", name,
		    (unsigned long long)n_metrics);
	c->n_metrics = (size_t)n_metrics;
	c->metrics = malloc((c->n_metrics ? c->n_metrics : 1) * sizeof(*c->metrics));
	if (!c->metrics)
		BAD("%s: out of host memory", name);
	for (i = 0; i < c->n_metrics; i++) {
		tr_metric_row *m = &c->metrics[i];

		m->iter = (long)get_i64(r);
		m->train_loss = get_f64(r);
		m->train_acc = get_f64(r);
		m->val_loss = get_f64(r);
		m->val_acc = get_f64(r);
		m->seconds = get_f64(r);
		m->train_ce = m->val_ce = m->l2_term = NAN; /* unknown in version 1 */
		if (fields >= ROW_FIELDS) {
			m->train_ce = get_f64(r);
			m->val_ce = get_f64(r);
			m->l2_term = get_f64(r);
		}
		for (k = fields < ROW_FIELDS ? fields : ROW_FIELDS; k < fields; k++)
			get_f64(r); /* written by a later version: not known here */
	}
	return TR_OK;
out_bad:
	return rc;
}

int tr_checkpoint_parse(const void *buf, size_t len, const char *name, tr_checkpoint *c,
			tr_error *err)
{
	struct rbuf r = { buf, len, false };
	uint64_t n_params;
	uint32_t stored_crc, fields;
	size_t n;
	int rc;

	memset(c, 0, sizeof(*c));
	if (len < 12 + 4)
		BAD("%s: not a trainer checkpoint (too short: %zu bytes)", name, len);
	memcpy(&stored_crc, (const unsigned char *)buf + len - 4, 4);
	r.left = len - 4;
	if ((rc = parse_preamble(&r, name, &c->version, err)))
		goto out_bad;
	if (tr_crc32(tr_crc32_init(), buf, len - 4) != stored_crc)
		BAD("%s: checkpoint is corrupt (CRC mismatch)", name);
	if ((rc = parse_config(&r, name, c, err)) ||
	    (rc = parse_run_state(&r, name, c, &fields, err)) ||
	    (rc = parse_batcher_head(&r, name, c, err)) ||
	    (rc = parse_perm(&r, name, c, err)) ||
	    (rc = parse_metrics(&r, name, c, fields, err)))
		goto out_bad;
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
	c->params = malloc(3 * n * sizeof(float));
	if (!c->params)
		BAD("%s: out of host memory (%zu MiB for the parameters and Adam moments)", name,
		    (3 * n * sizeof(float)) >> 20);
	c->adam_m = c->params + n;
	c->adam_v = c->params + 2 * n;
	get(&r, c->params, 3 * n * sizeof(float));
	return TR_OK;

out_bad:
	tr_checkpoint_free(c);
	return rc;
}

/* The size the file must have, from its first bytes: the header up to the batch order
 * (head), then the metrics row count read at its offset. A damaged header is reported
 * as tr_checkpoint_parse would; nothing large is read or allocated. */
static int declared_size(int fd, const unsigned char *head, size_t head_len,
			 long long size, const char *name, unsigned long long *want,
			 tr_error *err)
{
	struct rbuf r = { head, head_len, false };
	tr_checkpoint c;
	unsigned long long perm_off, rows, n;
	unsigned char rows_le[8];
	uint32_t fields;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((rc = parse_preamble(&r, name, &c.version, err)) ||
	    (rc = parse_config(&r, name, &c, err)) ||
	    (rc = parse_run_state(&r, name, &c, &fields, err)) ||
	    (rc = parse_batcher_head(&r, name, &c, err)))
		return rc;
	perm_off = head_len - r.left;
	n = c.cfg.layout.n_params;
	if (perm_off + 4ull * c.batcher.n + 8 > (unsigned long long)size ||
	    pread(fd, rows_le, 8, (off_t)(perm_off + 4ull * c.batcher.n)) != 8)
		return tr_fail(err, TR_ERR_INPUT, "%s: truncated checkpoint (the file ends "
			       "early)", name);
	memcpy(&rows, rows_le, 8);
	if (rows > (unsigned long long)c.step + 1)
		return tr_fail(err, TR_ERR_INPUT, "%s: corrupt checkpoint: %llu metrics rows",
			       name, rows);
	*want = perm_off + 4ull * c.batcher.n + 8 + rows * 8ull * fields + 8 + 12ull * n + 4;
	return TR_OK;
}

int tr_checkpoint_load(const char *path, tr_checkpoint *out, tr_error *err)
{
	unsigned char head[HEAD_BYTES];
	unsigned long long want = 0;
	long long size;
	ssize_t got;
	char *buf;
	size_t len;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	rc = tr_input_open(path, "a checkpoint file", NULL, &fd, &size, err);
	if (rc)
		return rc;
	got = pread(fd, head, sizeof(head), 0);
	if (got >= 16) {
		rc = declared_size(fd, head, (size_t)got, size, path, &want, err);
		if (!rc && want != (unsigned long long)size)
			rc = tr_fail(err, TR_ERR_INPUT, "%s: the file has %lld bytes, but its header "
				     "describes a checkpoint of %llu bytes: it is damaged (cut short "
				     "or with bytes added); use an intact copy", path, size, want);
	}
	close(fd);
	if (rc)
		return rc;
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
	free(c->params); /* adam_m and adam_v are in the same block */
	memset(c, 0, sizeof(*c));
}

int tr_trainer_restore(tr_trainer *t, tr_checkpoint *c, tr_error *err)
{
	bool same = c->version >= 3 ? c->data_crc == t->data->crc :
		    c->data_crc == tr_checkpoint_labels_crc(&t->data->train);
	int rc;

	if (c->train_count != t->data->train.count || !same)
		return tr_fail(err, TR_ERR_INPUT,
			       "the checkpoint was made with other data than %s holds (%zu "
			       "training examples there, %zu in the checkpoint%s): resume with "
			       "the --data and --val-size the run was trained on", t->data->dir,
			       t->data->train.count, c->train_count,
			       c->train_count == t->data->train.count ?
			       ", but other images or labels" : "");
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
