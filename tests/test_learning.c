/*
 * test_learning.c - the trainer learns: a 784-128-10 network, He initialisation,
 * lr 0.001, reaches at least 0.90 validation accuracy on real MNIST within 300
 * iterations (it gets there in about 200 on every backend we have run).
 * Each metrics row's loss is the sum of its parts (cross-entropy + the L2 term), and
 * the last row's L2 term is lambda * sum(w^2) / 2 of the final parameters.
 * Runs on the fast CPU backend when built, else on the reference.
 * Without MNIST the test is skipped, unless TRAINER_REQUIRE_DATA=1 (CI).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "trainer/trainer.h"

static bool near(double a, double b)
{
	return fabs(a - b) <= 1e-9 * fmax(1.0, fabs(b));
}

/* train_loss = train_ce + l2_term, val_loss = val_ce + l2_term, and the last l2_term
 * is lambda * sum(params^2) / 2 (the L2 scope is "all": weights and biases). */
static void check_loss_parts(tr_trainer *t)
{
	const tr_metric_row *last = &t->metrics[t->n_metrics - 1];
	size_t i, n = t->cfg.layout.n_params;
	float *p = malloc(n * sizeof(float));
	double ss = 0;
	tr_error err;

	for (i = 0; i < t->n_metrics; i++) {
		const tr_metric_row *r = &t->metrics[i];

		CHECK(near(r->train_ce + r->l2_term, r->train_loss), "iter %ld: train ce %.9g + "
		      "l2 %.9g != train loss %.9g", r->iter, r->train_ce, r->l2_term, r->train_loss);
		CHECK(near(r->val_ce + r->l2_term, r->val_loss), "iter %ld: val ce %.9g + l2 "
		      "%.9g != val loss %.9g", r->iter, r->val_ce, r->l2_term, r->val_loss);
		CHECK(r->l2_term > 0 && r->val_ce > 0 && r->train_ce > 0,
		      "iter %ld: the parts must be positive", r->iter);
	}
	CHECK(p && tr_net_get_state(t->net, p, NULL, NULL, &err) == TR_OK, "download");
	for (i = 0; p && i < n; i++)
		ss += (double)p[i] * p[i];
	CHECK(fabs(last->l2_term - t->cfg.l2 * 0.5 * ss) <= 1e-5 * last->l2_term,
	      "l2_term %.9g, lambda * sum(w^2) / 2 = %.9g", last->l2_term, t->cfg.l2 * 0.5 * ss);
	free(p);
}

int main(void)
{
	const char *dir = test_data_dir();
	const char *req = getenv("TRAINER_REQUIRE_DATA");
	tr_train_config cfg;
	tr_dataset data;
	tr_backend *be;
	tr_trainer *t;
	tr_error err;
	double best = 0.0;
	size_t i;

	if (!dir) {
		if (req && !strcmp(req, "1")) {
			CHECK(0, "MNIST required (TRAINER_REQUIRE_DATA=1) but missing");
			return test_finish();
		}
		return TEST_SKIP;
	}
	tr_train_config_default(&cfg);
	if (tr_layout_parse("784,128,10", &cfg.layout, &err) ||
	    tr_dataset_load(dir, 5000, &data, &err) ||
	    (tr_backend_open("cpu", NULL, &be, &err) &&
	     tr_backend_open("cpu-ref", NULL, &be, &err))) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return 1;
	}
	cfg.init = TR_INIT_HE;
	cfg.lr = 0.001;
	cfg.iters = 300;
	cfg.eval_every = 50;
	if (tr_trainer_create(&cfg, &data, be, NULL, &t, &err) ||
	    tr_trainer_run(t, NULL, &err)) {
		CHECK(0, "training failed: %s", err.msg);
		return test_finish();
	}
	for (i = 0; i < t->n_metrics; i++) {
		printf("iter %ld: train loss %.4f, val loss %.4f, val acc %.4f\n",
		       t->metrics[i].iter, t->metrics[i].train_loss, t->metrics[i].val_loss,
		       t->metrics[i].val_acc);
		if (t->metrics[i].val_acc > best)
			best = t->metrics[i].val_acc;
	}
	CHECK(t->n_metrics == 6, "6 evaluations in 300 iterations, got %zu", t->n_metrics);
	CHECK(best >= 0.90, "best validation accuracy %.4f < 0.90 (%s)", best,
	      tr_backend_name(be));
	CHECK(t->metrics[t->n_metrics - 1].val_loss < t->metrics[0].val_loss,
	      "validation loss should fall");
	check_loss_parts(t);
	tr_trainer_free(t);
	tr_backend_free(be);
	tr_dataset_free(&data);
	return test_finish();
}
