/*
 * test_learning.c - the trainer learns: a 784-128-10 network, He initialisation,
 * lr 0.001, reaches at least 0.90 validation accuracy on real MNIST within 300
 * iterations (it gets there in about 200 on every backend we have run).
 * Runs on the fast CPU backend when built, else on the reference.
 * Without MNIST the test is skipped, unless TRAINER_REQUIRE_DATA=1 (CI).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "trainer/trainer.h"

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
	tr_trainer_free(t);
	tr_backend_free(be);
	tr_dataset_free(&data);
	return test_finish();
}
