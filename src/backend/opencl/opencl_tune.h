/*
 * opencl_tune.h - CLBlast's GEMM parameters for the device at hand, shared by the two
 * halves of tuning (private to this folder):
 *   opencl_tune_cache.c   the cache on disk, and applying it when a backend opens
 *   opencl_tune_search.c  the search (`trainer tune`): its steps
 *   opencl_tune_measure.c timing and checking the GEMMs for it
 *   opencl_tune_choice.c  the choice, from the times measured
 *   opencl_tune_report.c  the cache it writes and the summary it prints
 *   clblast_defaults.cpp  CLBlast's own parameters for the device (C++-only API)
 *
 * What CLBlast lets us set. CLBlastOverrideParameters replaces, for one device and
 * one kernel name, the parameter set CLBlast's database would give: "XgemmDirect"
 * (one kernel, no copies), "Xgemm" (the indirect kernel, with pad/transpose copies
 * around it) and "GemmRoutine" (XGEMM_MIN_INDIRECT_SIZE: a GEMM runs the direct
 * kernel when m*n*k < that^3). The setting holds for every later call, whatever the
 * shape, and CLBlast builds one OpenCL program per combination of the three (its
 * program cache is keyed by all of their values): tens of seconds on PoCL when its own
 * kernel cache is cold, nothing when the combination was built before in the process.
 *
 * What is applied: one Xgemm set, the switch-over size, and one XgemmDirect set per
 * transposition (tr_cl_gemm_select switches sets when a GEMM's transposition differs
 * from the previous one's: the programs of every set are built once, then cached).
 * CLBlast's own sets are candidates like any other (retrieved before anything is
 * overridden), so that a transposition the candidates do not speed up keeps them.
 */
#ifndef TRAINER_OPENCL_TUNE_H
#define TRAINER_OPENCL_TUNE_H

#include <cjson/cJSON.h>

#include "clblast_params.h"
#include "opencl_impl.h"

#define TR_TUNE_CACHE_FORMAT "trainer-clblast-tuning-1"
#define TR_TUNE_CACHE_ENV "TRAINER_CLBLAST_CACHE"

#define N_DIRECT 10
#define N_INDIRECT 16
/* XGEMM_MIN_INDIRECT_SIZE that makes every GEMM direct (m*n*k < 2^60) or indirect. */
#define ALL_DIRECT ((size_t)1 << 20)
#define ALL_INDIRECT ((size_t)1)

/* Parameter names in CLBlast 1.5's order (the order of the value arrays below). */
extern const char *const tr_tune_direct_names[N_DIRECT];
extern const char *const tr_tune_indirect_names[N_INDIRECT]; /* 1.5's Xgemm */
extern const char *const tr_tune_routine_names[1];
extern const char *const tr_tune_trans_names[4]; /* "NN", "TN", "NT", "TT" */

/* What the backend overrides: any of the three may be left to CLBlast. */
struct gemm_set {
	bool have_direct, have_indirect;
	size_t direct[N_DIRECT];
	size_t indirect[N_INDIRECT];
	size_t min_indirect; /* 0: leave CLBlast's */
	/* XgemmDirect per transposition (index trans_a + 2 trans_b: NN, TN, NT, TT), when
	 * they differ; direct is then direct_t[0]. */
	bool by_trans;
	size_t direct_t[4][N_DIRECT];
};

/* The device a cache file belongs to. */
struct cache_key {
	char platform[256];
	char device[256];
	char driver[128];
	char clblast[32];
};

/* 0 NN, 1 TN, 2 NT, 3 TT. */
static inline int tr_tune_trans_class(bool ta, bool tb)
{
	return (ta ? 1 : 0) + (tb ? 2 : 0);
}

/* ---- opencl_tune_choice.c: step 3 of the search, on a table of measurements ---- */

/* What the search measured of one shape. */
struct shape_result {
	double def_ms;            /* CLBlast's defaults, as they route the shape */
	bool def_direct;          /* ... to the direct kernel */
	double *direct_ms;        /* per XgemmDirect set, [0] = CLBlast's; INFINITY =
				   * failed or not measured */
	double *indirect_ms;      /* per Xgemm set, likewise */
	double tuned_ms;          /* the applied combination */
	double check_def_ms;      /* the defaults, timed again beside it */
	bool tuned_direct;        /* the combination routes it to the direct kernel */
};

/* Everything the choice is made from. */
struct tr_tune_table {
	const tr_tune_shape *shapes;
	size_t n_shapes;
	const struct shape_result *res; /* one per shape */
	size_t n_direct, n_indirect;    /* sets of each kernel, CLBlast's (0) included */
	size_t def_threshold;           /* CLBlast's XGEMM_MIN_INDIRECT_SIZE */
	bool cheap_builds;              /* any switch-over size may be chosen (GPUs) */
};

/* A combination, as indices into the sets. */
struct tr_tune_choice {
	size_t d[4];     /* XgemmDirect set per transposition class */
	size_t i;        /* Xgemm set */
	size_t T;        /* XGEMM_MIN_INDIRECT_SIZE */
	double weighted; /* its predicted GEMM time per training step */
};

/* The fastest combination (weighted over the shapes) that keeps every transposition
 * within its time with CLBlast's defaults (tr_tune_within); the defaults themselves
 * when nothing else qualifies. Without cheap_builds only combinations whose programs
 * the search built are considered: every shape direct with CLBlast's Xgemm, every shape
 * indirect, or the defaults. */
void tr_tune_choose(const struct tr_tune_table *tab, struct tr_tune_choice *best);
/* Is `ms` no slower than `def`, beyond timing noise (5% + 10 us)? */
bool tr_tune_within(double ms, double def);
/* The smallest XGEMM_MIN_INDIRECT_SIZE T with T^3 > mnk: GEMMs of up to mnk
 * multiply-adds run on the direct kernel. */
size_t tr_tune_threshold_above(double mnk);
/* Does switch-over size T route shape s to the direct kernel? */
bool tr_tune_runs_direct(const tr_tune_shape *s, size_t T);
/* Does the network have a GEMM of transposition class k? */
bool tr_tune_class_used(const struct tr_tune_table *tab, int k);
/* The weighted time of class k's shapes, with ms[s] each (the defaults' when NULL). */
double tr_tune_class_sum(const struct tr_tune_table *tab, int k, const double *ms);

/* ---- the search's state (opencl_tune_search.c, _measure.c, _report.c) ---- */

struct tuner {
	tr_backend *be;
	struct tr_cl *cl;
	const tr_tune_options *o;
	cl_mem a, b, c;
	float *host_a, *host_b, *host_c;
	float **ref;              /* reference product per shape */
	struct shape_result *res;
	size_t (*direct)[N_DIRECT];     /* [0] CLBlast's, then the candidates */
	size_t (*indirect)[N_INDIRECT];
	size_t n_direct, n_indirect;    /* sets, CLBlast's included */
	size_t def_threshold;           /* CLBlast's XGEMM_MIN_INDIRECT_SIZE */
	double t0;                      /* when the search started (ms) */
	double per_set_s;               /* estimated seconds per new parameter set */
	bool cheap_builds;              /* a GPU: programs build in seconds */
	const struct gemm_set *chosen;  /* while measuring a combination: switch per shape */
};


/* A line of progress or of the summary, to tr_tune_options.progress. */
void tr_tune_say(const struct tuner *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
double tr_tune_now_ms(void);
double tr_tune_flop(const tr_tune_shape *s);
/* Weighted GEMM time per step of the shapes, with ms[s] each. */
double tr_tune_weighted(const struct tuner *t, const double *ms);
/* Check and time every shape with the parameters now in force into ms[]; returns the
 * weighted sum (INFINITY if any shape failed; said with `label`), the seconds it took
 * in *secs. With t->chosen set, each GEMM first puts its transposition's set in force. */
double tr_tune_measure_all(struct tuner *t, double *ms, const char *label, double *secs);
/* Test matrices, reference products and result tables (t->n_direct and n_indirect
 * set); tr_tune_free undoes it (and frees the sets). */
int tr_tune_setup(struct tuner *t, tr_error *err);
void tr_tune_free(struct tuner *t);
/* The measurements as the choice sees them. */
struct tr_tune_table tr_tune_table_of(const struct tuner *t);
/* Write the tuning cache for the chosen sets s (CLBlast's: defs; ch: the indices). */
int tr_tune_save(const struct tuner *t, const struct cache_key *k, const struct gemm_set *s,
		 const struct gemm_set *defs, const struct tr_tune_choice *ch, double w_def,
		 double w_tuned, const char *path, tr_error *err);
/* The per-shape table and the summary lines (def and tuned: the check's times). */
void tr_tune_report(const struct tuner *t, double w_def, double w_tuned, const double *def,
		    const double *tuned);

/* ---- opencl_tune_cache.c ---- */

void tr_tune_key_of(cl_platform_id platform, cl_device_id device, struct cache_key *k);
/* The cache file for this device into buf; false when the cache is turned off. */
bool tr_tune_cache_path(const struct cache_key *k, char *buf, size_t cap);
/* Hand the set to CLBlast and to tr_cl_gemm (per-transposition sets); returns a
 * CLBlastStatusCode (and which kernel was refused in *what). */
int tr_tune_apply(struct tr_cl *cl, const struct gemm_set *s, const char **what);
/* The one-line summary of an applied set, for be->tuning. */
void tr_tune_describe(tr_backend *be, const struct gemm_set *s, const char *path);
cJSON *tr_tune_params_json(const char *const *names, const size_t *v, size_t n);
/* "WGD=64 MDIMCD=8 ..." for messages. */
void tr_tune_format_params(const char *const *names, const size_t *v, size_t n,
			   char *buf, size_t cap);

#endif /* TRAINER_OPENCL_TUNE_H */
