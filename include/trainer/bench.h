/*
 * bench.h - measuring the training step on one backend (`trainer bench`).
 *
 * The benchmark runs the trainer's own code path (tr_net_* on random data and the
 * lab's initialisation) and measures, on the same backend in the same run:
 *   - the step as training runs it: upload of the batch, forward, loss, backward,
 *     update, with one synchronisation at its end (median, min, max over `iters`
 *     steps after `warmup`), and the same steps queued back to back (pipelined);
 *   - the step split into forward (upload + forward + loss), backward and update, with
 *     a synchronisation between the phases (only in this mode);
 *   - two bounds: the step's GEMMs alone (same shapes, same library) and one update
 *     pass over all parameters alone; and the step's other ops alone (bias + ReLU,
 *     ReLU backward, bias gradients, softmax cross-entropy);
 *   - validation throughput: forward + loss over `val_images` images in chunks of
 *     `eval_rows`, as tr_trainer_evaluate does;
 *   - where the backend counts them (OpenCL), what one training step costs in kernel
 *     launches (CLBlast's included), bytes sent from host to device, blocking waits and
 *     buffer creations, over the steps queued back to back.
 * The images are bytes handed to the backend once and gathered by index each step, as
 * the trainer does (on the device for OpenCL). Nothing here prints; the CLI formats
 * the result.
 */
#ifndef TRAINER_BENCH_H
#define TRAINER_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trainer/backend.h"
#include "trainer/error.h"
#include "trainer/model.h"

typedef struct tr_bench_config {
	tr_layout layout;
	size_t batch;       /* rows of a training batch */
	size_t eval_rows;   /* validation chunk (the trainer's eval_chunk) */
	size_t val_images;  /* images of one validation pass */
	long iters;         /* timed steps of each measurement */
	long warmup;        /* untimed steps before the first measurement */
	long val_reps;      /* timed validation passes */
	uint64_t seed;
} tr_bench_config;

/* The lab's network and batch, the trainer's evaluation chunk, 200 steps. */
void tr_bench_config_default(tr_bench_config *cfg);

typedef struct tr_bench_stat {
	double median, min, max; /* milliseconds */
} tr_bench_stat;

typedef struct tr_bench_result {
	tr_bench_stat step;        /* un-split step, synchronised once at its end */
	double step_pipelined;     /* mean ms of the same steps without that sync */
	tr_bench_stat forward;     /* split mode: upload + forward + loss */
	tr_bench_stat backward;    /* split mode: backward GEMMs, bias grads, ReLU */
	tr_bench_stat update;      /* split mode: Adam + L2 over all parameters */
	tr_bench_stat split_step;  /* split mode: the three phases together */
	tr_bench_stat gemms;       /* bound: the step's GEMMs alone */
	tr_bench_stat update_alone;/* bound: one update pass alone */
	tr_bench_stat other_ops;   /* the step's non-GEMM, non-update ops alone */
	double first_step_ms;      /* network set-up + the first step (lazy program builds) */
	double val_ms;             /* median ms of one validation pass */
	double val_images_per_s;
	double gemm_flop;          /* floating-point operations of the step's GEMMs */
	double update_bytes;       /* bytes one update pass moves (4 reads, 3 writes) */
	double other_bytes;        /* bytes the other ops move (reads + writes) */
	size_t n_params;
	size_t n_gemm_calls;       /* GEMM calls per step */
	bool data_on_device;       /* the examples live on the device (else staged) */
	bool have_counters;        /* the backend counts (OpenCL): the figures below */
	bool libraries_counted;    /* CLBlast's calls are in the counts */
	double launches_per_step;
	double h2d_bytes_per_step;
	double syncs_per_step;
	double allocs_per_step;
	double launches_per_eval;  /* one validation pass, its read-back included */
	double syncs_per_eval;
} tr_bench_result;

/* One GEMM of the training step or of validation, as network.c calls it
 * (row-major, dense: lda = trans_a ? m : k, ldb = trans_b ? k : n, ldc = n). */
typedef struct tr_bench_gemm {
	bool trans_a, trans_b;
	size_t m, n, k;
	size_t layer;    /* index of the weight matrix, 0-based */
	int kind;        /* TR_GEMM_* below */
} tr_bench_gemm;

enum { TR_GEMM_FORWARD, TR_GEMM_WEIGHT_GRAD, TR_GEMM_INPUT_GRAD, TR_GEMM_VALIDATION };

/* "forward", "weight gradient", "input gradient", "validation". */
const char *tr_bench_gemm_kind_name(int kind);

/* The GEMMs of one training step (batch rows) followed by those of one validation
 * chunk (eval_rows; left out when eval_rows is 0) into out (cap entries). Returns how
 * many there are (which may exceed cap: only cap are written). */
size_t tr_bench_gemm_shapes(const tr_layout *lay, size_t batch, size_t eval_rows,
			    tr_bench_gemm *out, size_t cap);

/* Milliseconds on the monotonic clock (for timing around the calls above). */
double tr_bench_now_ms(void);

/* Run every measurement on be. Allocates its own network; be must be open. */
int tr_bench_run(tr_backend *be, const tr_bench_config *cfg, tr_bench_result *res,
		 tr_error *err);

#endif /* TRAINER_BENCH_H */
