/*
 * trainer.c - the training loop shared by every backend (see trainer.h).
 */
#include "trainer/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trainer/clock.h"

/* The shuffling stream is seeded from the run's seed, apart from the init stream. */
#define SHUFFLE_SEED_SALT 0x53485546464c45ULL /* "SHUFFLE" */

void tr_train_config_default(tr_train_config *cfg)
{
	static const size_t lab[] = { 784, 1500, 1000, 500, 10 };

	memset(cfg, 0, sizeof(*cfg));
	tr_layout_init(&cfg->layout, lab, 5, NULL);
	cfg->init = TR_INIT_UNIFORM01;
	cfg->seed = 1;
	cfg->lr = 0.005;
	cfg->l2 = 0.0005;
	cfg->l2_scope = TR_L2_ALL;
	cfg->batch = 64;
	cfg->iters = 30000;
	cfg->eval_every = 100;
	cfg->shuffle = true;
	cfg->eval_chunk = 1000;
}

double tr_trainer_seconds(const tr_trainer *t)
{
	return t->seconds_before + (tr_now_seconds() - t->t_start);
}

/* The training file (validation and training splits) and the test file, handed to
 * the backend once: on a device they are copied there, as bytes. */
static int hand_over_data(tr_trainer *t, tr_error *err)
{
	const tr_dataset *d = t->data;
	tr_examples_info test_info;
	size_t train_bytes;
	int rc;

	rc = tr_backend_examples_create(t->be, d->train_images.data, d->train_labels.data,
					d->train_images.count, d->train.image_size,
					"training images", &t->ex_train_file, &t->data_info);
	if (rc == TR_OK)
		rc = tr_backend_examples_create(t->be, d->test_images.data,
						d->test_labels.data, d->test_images.count,
						d->test.image_size, "test images",
						&t->ex_test_file, &test_info);
	if (rc != TR_OK) {
		const tr_error *e = tr_backend_last_error(t->be);

		tr_fail(err, e->status ? e->status : TR_ERR_DEVICE, "%s", e->msg);
		return tr_error_prefix(err, "loading the data set onto the device");
	}
	train_bytes = t->data_info.bytes;
	if (t->data_info.on_device && !test_info.on_device)
		t->data_info = test_info;
	t->data_info.bytes = train_bytes + test_info.bytes;
	return TR_OK;
}

int tr_trainer_create(const tr_train_config *cfg, const tr_dataset *data, tr_backend *be,
		      const float *init_params, tr_trainer **out, tr_error *err)
{
	const tr_layout *lay = &cfg->layout;
	size_t classes = lay->sizes[lay->n_layers];
	float *params = NULL;
	tr_trainer *t;
	int rc;

	*out = NULL;
	if (lay->sizes[0] != data->train.image_size)
		return tr_fail(err, TR_ERR_USAGE,
			       "--layers: the input size %zu does not match the data's images "
			       "(%zu pixels in %s); use --layers %zu,...",
			       lay->sizes[0], data->train.image_size, data->dir,
			       data->train.image_size);
	if (classes != TR_N_CLASSES)
		return tr_fail(err, TR_ERR_USAGE,
			       "--layers: the output size %zu does not match the data's %d classes",
			       classes, TR_N_CLASSES);
	if (cfg->batch == 0 || cfg->eval_chunk == 0 || cfg->eval_every <= 0)
		return tr_fail(err, TR_ERR_USAGE, "batch, eval chunk and --eval-every must be positive");
	if (data->train.count == 0)
		return tr_fail(err, TR_ERR_USAGE, "no training examples left after --val-size");
	t = calloc(1, sizeof(*t));
	if (!t)
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	t->cfg = *cfg;
	t->data = data;
	t->be = be;
	t->idx = malloc(cfg->batch * sizeof(uint32_t));
	if (!t->idx) {
		rc = tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
		goto out_free;
	}
	rc = tr_batcher_init(&t->batcher, data->train.count, cfg->batch, cfg->shuffle,
			     cfg->seed ^ SHUFFLE_SEED_SALT, err);
	if (rc)
		goto out_free;
	rc = tr_net_create(be, lay, cfg->batch, cfg->eval_chunk, &t->net, err);
	if (rc)
		goto out_free;
	if ((rc = hand_over_data(t, err)))
		goto out_free;
	if (!init_params) {
		params = malloc(lay->n_params * sizeof(float));
		if (!params) {
			rc = tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
			goto out_free;
		}
		tr_init_params(lay, cfg->init, cfg->seed, params);
	}
	rc = tr_net_set_state(t->net, init_params ? init_params : params, NULL, NULL, err);
	free(params);
	if (rc)
		goto out_free;
	t->t_start = tr_now_seconds();
	*out = t;
	return TR_OK;

out_free:
	tr_trainer_free(t);
	return rc;
}

void tr_trainer_free(tr_trainer *t)
{
	if (!t)
		return;
	tr_backend_examples_free(t->be, t->ex_train_file);
	tr_backend_examples_free(t->be, t->ex_test_file);
	tr_net_free(t->net);
	tr_batcher_free(&t->batcher);
	free(t->metrics);
	free(t->idx);
	free(t);
}

void tr_trainer_data_note(const tr_trainer *t, char *buf, size_t cap)
{
	const tr_examples_info *in = &t->data_info;

	if (in->on_device || !in->why[0])
		snprintf(buf, cap, "%s", "");
	else
		snprintf(buf, cap, "the data set (%.1f MB) stays in host memory: %s; each batch "
			 "is staged through pinned memory instead (slower)",
			 (double)in->bytes / 1e6, in->why);
}

void tr_trainer_split_source(const tr_trainer *t, const tr_split *s, const tr_examples **ex,
			     size_t *base)
{
	*ex = s->file == TR_FILE_TEST ? t->ex_test_file : t->ex_train_file;
	*base = s->first;
}

int tr_trainer_step(tr_trainer *t, tr_error *err)
{
	size_t B = t->cfg.batch, base;
	const tr_examples *ex;
	int rc;

	tr_batcher_next(&t->batcher, t->idx);
	tr_trainer_split_source(t, &t->data->train, &ex, &base);
	rc = tr_net_gather(t->net, ex, base, t->idx, 0, B, err);
	if (rc)
		return rc;
	rc = tr_net_train_step(t->net, t->step + 1, t->cfg.lr, t->cfg.l2, t->cfg.l2_scope,
			       err);
	if (rc)
		return tr_error_prefix(err, "iteration %ld", t->step + 1);
	t->step++;
	return TR_OK;
}

/* Loss of the network's current parameters: mean CE + lambda * sum(w^2) / 2. */
static double total_loss(const tr_trainer *t, double ce_sum, double rows, double sumsq)
{
	return ce_sum / rows + t->cfg.l2 * 0.5 * sumsq;
}

/* Cross-entropy summed over split s into the LOSS slot and its correct predictions
 * into the CORRECT slot, chunk by chunk, the images gathered on the device. */
static int measure_split(tr_trainer *t, const tr_split *s, tr_error *err)
{
	size_t first, chunk = t->cfg.eval_chunk, base;
	const tr_examples *ex;
	int rc;

	tr_trainer_split_source(t, s, &ex, &base);
	for (first = 0; first < s->count; first += chunk) {
		size_t rows = s->count - first < chunk ? s->count - first : chunk;

		if ((rc = tr_net_gather(t->net, ex, base, NULL, first, rows, err)) ||
		    (rc = tr_net_forward(t->net, rows, err)) ||
		    (rc = tr_net_loss(t->net, rows, false, first > 0, err)))
			return rc;
	}
	return TR_OK;
}

int tr_trainer_evaluate(tr_trainer *t, const tr_split *s, double *loss, double *acc,
			tr_error *err)
{
	double slots[TR_N_SLOTS];
	int rc;

	if (s->count == 0) {
		*loss = *acc = NAN;
		return TR_OK;
	}
	if ((rc = measure_split(t, s, err)) ||
	    (rc = tr_net_l2_sumsq(t->net, t->cfg.l2_scope, err)) ||
	    (rc = tr_net_read_slots(t->net, slots, err)))
		return rc;
	*loss = total_loss(t, slots[TR_SLOT_LOSS], (double)s->count, slots[TR_SLOT_SUMSQ]);
	*acc = slots[TR_SLOT_CORRECT] / (double)s->count;
	return TR_OK;
}

int tr_trainer_log_point(tr_trainer *t, tr_metric_row *row, tr_error *err)
{
	size_t B = t->cfg.batch;
	const tr_split *val = &t->data->val;
	double slots[TR_N_SLOTS];
	int rc;

	/* The batch just trained on is still loaded: measure it after the update, with
	 * the L2 term of the parameters as they are now (one sum of squares serves both
	 * this and the validation loss), then read the three slots at once. */
	if ((rc = tr_net_forward(t->net, B, err)) ||
	    (rc = tr_net_loss(t->net, B, false, false, err)) ||
	    (rc = tr_net_l2_sumsq(t->net, t->cfg.l2_scope, err)) ||
	    (rc = tr_net_read_slots(t->net, slots, err)))
		return rc;
	row->iter = t->step;
	row->train_loss = total_loss(t, slots[TR_SLOT_LOSS], (double)B, slots[TR_SLOT_SUMSQ]);
	row->train_acc = slots[TR_SLOT_CORRECT] / (double)B;
	/* The loss in its parts (metrics.csv's last three columns). The parameters are the
	 * same for both losses, so val_loss - l2_term is the validation cross-entropy
	 * exactly up to double rounding. */
	row->l2_term = total_loss(t, 0.0, 1.0, slots[TR_SLOT_SUMSQ]);
	row->train_ce = slots[TR_SLOT_LOSS] / (double)B;
	row->val_loss = row->val_acc = row->val_ce = NAN;
	if (val->count > 0) {
		double sumsq = slots[TR_SLOT_SUMSQ];

		if ((rc = measure_split(t, val, err)) ||
		    (rc = tr_net_read_slots(t->net, slots, err)))
			return rc;
		row->val_loss = total_loss(t, slots[TR_SLOT_LOSS], (double)val->count, sumsq);
		row->val_acc = slots[TR_SLOT_CORRECT] / (double)val->count;
		row->val_ce = row->val_loss - row->l2_term;
	}
	row->seconds = tr_trainer_seconds(t);
	if (t->n_metrics == t->cap_metrics) {
		size_t cap = t->cap_metrics ? 2 * t->cap_metrics : 64;
		tr_metric_row *m = realloc(t->metrics, cap * sizeof(*m));

		if (!m)
			return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
		t->metrics = m;
		t->cap_metrics = cap;
	}
	t->metrics[t->n_metrics++] = *row;
	return TR_OK;
}

static bool row_finite(const tr_trainer *t, const tr_metric_row *r)
{
	return isfinite(r->train_loss) && (t->data->val.count == 0 || isfinite(r->val_loss));
}

/* "1.5", "nan", "inf": a loss for a message, without printf's "-nan". */
static void format_loss(char *buf, size_t cap, double v)
{
	if (isnan(v))
		snprintf(buf, cap, "nan");
	else
		snprintf(buf, cap, "%g", v);
}

/* The error for a non-finite loss seen at the evaluation after t->step; the last
 * finite evaluation was after iteration prev, so it happened in between. */
static int diverged(const tr_trainer *t, long prev, const tr_metric_row *row,
		    tr_error *err)
{
	char when[96], tl[32], vl[32];

	if (prev + 1 == t->step)
		snprintf(when, sizeof(when), "at iteration %ld", t->step);
	else
		snprintf(when, sizeof(when), "between iterations %ld and %ld", prev + 1,
			 t->step);
	format_loss(tl, sizeof(tl), row->train_loss);
	format_loss(vl, sizeof(vl), row->val_loss);
	return tr_fail(err, TR_ERR_DIVERGED,
		       "training diverged: the loss became non-finite %s (train loss %s, "
		       "validation loss %s); try a smaller --lr or another --init", when, tl,
		       vl);
}

int tr_trainer_run(tr_trainer *t, const tr_train_hooks *hooks, tr_error *err)
{
	tr_train_hooks none = { 0 };
	tr_metric_row row;
	int rc;

	if (!hooks)
		hooks = &none;
	while (t->step < t->cfg.iters) {
		if ((rc = tr_trainer_step(t, err)))
			return rc;
		if (t->step % t->cfg.eval_every == 0 || t->step == t->cfg.iters) {
			long prev = t->n_metrics ? t->metrics[t->n_metrics - 1].iter : 0;

			if ((rc = tr_trainer_log_point(t, &row, err)))
				return rc;
			if (!row_finite(t, &row))
				t->diverged_at = t->step;
			if (hooks->on_eval && (rc = hooks->on_eval(hooks->user, t, &row, err)))
				return rc;
			if (t->diverged_at)
				return diverged(t, prev, &row, err);
		}
		if (hooks->after_step && (rc = hooks->after_step(hooks->user, t, err)))
			return rc;
	}
	return TR_OK;
}
