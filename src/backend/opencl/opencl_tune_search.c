/*
 * opencl_tune_search.c - `trainer tune`: CLBlast's GEMM parameters searched for the
 * network's shapes on the device at hand (see opencl_tune.h for what can be set).
 *
 * The search, every candidate checked against a double-precision product first:
 *  1. CLBlast's own sets (XgemmDirect, Xgemm, the switch-over size) are read back
 *     before anything is overridden, and every shape is timed with them: the
 *     defaults, and the bar no shape may end up slower than.
 *  2. Each XgemmDirect set (CLBlast's included) times every shape on the direct
 *     kernel alone, each Xgemm candidate on the indirect kernel alone (CLBlast's Xgemm
 *     too where program builds are cheap, on GPUs).
 *  3. The choice: an Xgemm set, a switch-over size, and an XgemmDirect set per
 *     transposition (NN, TN, NT), minimising the weighted GEMM time of a training
 *     step, among the combinations where NO transposition is predicted slower than
 *     with the defaults (its shapes' weighted time, beyond measuring noise): per
 *     transposition, whichever is faster, defaults included. The defaults always
 *     qualify. On a CPU device, where a new program costs a minute or two, only
 *     combinations whose programs steps 1 and 2 built are considered (all shapes
 *     direct, all indirect, or the defaults' routing with CLBlast's sets).
 *  4. The check: the choice and the defaults are timed again side by side; a
 *     transposition found slower gets CLBlast's set back.
 * The cache keeps the chosen sets, the defaults and the per-shape table.
 */
#include "opencl_tune.h"

#include <clblast_c.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trainer/formats.h"
#include "trainer/fs.h"
#include "trainer/prng.h"

#define DEFAULT_CANDIDATES 1

/*
 * The candidates, most promising first for each device type; --candidates N takes the
 * first N (1 by default: each new set costs a program build, 60-120 s on PoCL with a
 * cold kernel cache on a 2-core machine), besides CLBlast's own sets, which are always
 * candidates.
 * CPUs (PoCL): wide vectors and 64-wide tiles did best on the AVX-512 machine this was
 * written on: 8x8 threads for A^T B and A B^T, 4x4 threads (16x16 outputs each) for
 * A B (25-70 GFLOP/s on the lab's shapes against 4-10 with the defaults); the indirect
 * kernel with 128-wide tiles was best on the 1000-row validation chunk. GPUs: the sets
 * CLBlast's database holds for common GPU families, which are reasonable starting
 * points.
 */
static const size_t direct_cpu[][N_DIRECT] = {
	/* KWID MDIMAD MDIMCD NDIMBD NDIMCD PADA PADB VWMD VWND WGD */
	{ 2, 8, 8, 8, 8, 1, 1, 8, 8, 64 },
	{ 2, 4, 4, 8, 8, 1, 1, 8, 8, 64 },
	{ 4, 8, 8, 8, 8, 0, 0, 8, 8, 64 },
	{ 16, 8, 8, 8, 8, 0, 0, 1, 8, 64 },
	{ 8, 16, 16, 16, 16, 0, 0, 1, 1, 64 },
	{ 2, 8, 8, 8, 8, 1, 1, 4, 4, 32 },
	{ 2, 8, 8, 16, 16, 1, 1, 4, 2, 32 },
};
static const size_t direct_gpu[][N_DIRECT] = {
	{ 2, 8, 8, 16, 16, 1, 1, 4, 2, 32 },
	{ 2, 16, 16, 8, 8, 1, 1, 1, 1, 16 },
	{ 2, 8, 8, 32, 32, 1, 1, 2, 1, 32 },
	{ 16, 8, 8, 16, 16, 1, 1, 1, 1, 32 },
	{ 2, 8, 8, 8, 8, 1, 1, 4, 4, 32 },
	{ 2, 8, 8, 8, 8, 1, 1, 8, 8, 64 },
};
static const size_t indirect_cpu[][N_INDIRECT] = {
	/* GEMMK KREG KWG KWI MDIMA MDIMC MWG NDIMB NDIMC NWG SA SB STRM STRN VWM VWN */
	{ 0, 1, 16, 2, 8, 8, 128, 8, 8, 128, 1, 1, 1, 0, 1, 8 },
	{ 0, 1, 32, 8, 32, 32, 64, 32, 16, 64, 1, 1, 1, 0, 2, 2 },
	{ 0, 1, 32, 2, 8, 8, 32, 8, 8, 64, 0, 0, 0, 0, 4, 4 },
	{ 0, 1, 32, 2, 16, 16, 64, 8, 8, 64, 1, 1, 0, 0, 4, 4 },
};
static const size_t indirect_gpu[][N_INDIRECT] = {
	{ 0, 1, 32, 2, 16, 16, 64, 8, 8, 64, 1, 1, 0, 0, 4, 4 },
	{ 0, 1, 16, 2, 16, 16, 64, 16, 8, 128, 1, 1, 1, 0, 4, 8 },
	{ 0, 1, 32, 2, 8, 8, 32, 16, 16, 32, 1, 1, 0, 0, 4, 2 },
	{ 0, 1, 32, 2, 8, 8, 32, 8, 8, 64, 0, 0, 0, 0, 4, 4 },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* CLBlast's own sets as candidate 0 of each kernel, then up to max of the device
 * type's pool (those equal to CLBlast's left out). Must run before any override. */
static int pick_sets(struct tuner *t, tr_error *err)
{
	int max = t->o->max_candidates > 0 ? t->o->max_candidates : DEFAULT_CANDIDATES;
	cl_device_type type = CL_DEVICE_TYPE_CPU;
	const size_t (*dpool)[N_DIRECT], (*ipool)[N_INDIRECT];
	size_t nd, ni, i, T;
	int st;

	clGetDeviceInfo(t->cl->device, CL_DEVICE_TYPE, sizeof(type), &type, NULL);
	if (type & CL_DEVICE_TYPE_GPU) {
		dpool = direct_gpu, nd = COUNT(direct_gpu);
		ipool = indirect_gpu, ni = COUNT(indirect_gpu);
	} else {
		dpool = direct_cpu, nd = COUNT(direct_cpu);
		ipool = indirect_cpu, ni = COUNT(indirect_cpu);
	}
	t->direct = calloc(nd + 1, sizeof(*t->direct));
	t->indirect = calloc(ni + 1, sizeof(*t->indirect));
	if (!t->direct || !t->indirect)
		return tr_fail(err, TR_ERR_INTERNAL, "tune: out of host memory");
	st = tr_clblast_original(t->cl->device, "XgemmDirect", N_DIRECT, tr_tune_direct_names,
				 t->direct[0]);
	if (st == 0)
		st = tr_clblast_original(t->cl->device, "Xgemm", N_INDIRECT,
					 tr_tune_indirect_names, t->indirect[0]);
	if (st == 0)
		st = tr_clblast_original(t->cl->device, "GemmRoutine", 1, tr_tune_routine_names,
					 &T);
	if (st != 0)
		return tr_fail(err, TR_ERR_DEVICE, "tune: cannot read CLBlast's own GEMM "
			       "parameters for %s: %s (%d); this tuner needs CLBlast 1.5 or later",
			       t->be->device_name, tr_clblast_errname(st), st);
	t->def_threshold = T;
	t->n_direct = t->n_indirect = 1;
	for (i = 0; i < nd && t->n_direct <= (size_t)max; i++)
		if (memcmp(dpool[i], t->direct[0], sizeof(t->direct[0])) != 0)
			memcpy(t->direct[t->n_direct++], dpool[i], sizeof(t->direct[0]));
	for (i = 0; i < ni && t->n_indirect <= (size_t)max; i++)
		if (memcmp(ipool[i], t->indirect[0], sizeof(t->indirect[0])) != 0)
			memcpy(t->indirect[t->n_indirect++], ipool[i], sizeof(t->indirect[0]));
	return TR_OK;
}

/* The set that runs direct set d, indirect set i and switch-over T (the same XgemmDirect
 * set for every transposition when d4 is NULL, else d4[class]). */
static void make_set(const struct tuner *t, const size_t *d4, size_t d, size_t i, size_t T,
		     struct gemm_set *s)
{
	int c;

	memset(s, 0, sizeof(*s));
	s->have_direct = s->have_indirect = true;
	memcpy(s->indirect, t->indirect[i], sizeof(s->indirect));
	s->min_indirect = T;
	for (c = 0; c < 4; c++) {
		memcpy(s->direct_t[c], t->direct[d4 ? d4[c] : d], sizeof(s->direct_t[c]));
		if (d4 && d4[c] != d4[0])
			s->by_trans = true;
	}
	memcpy(s->direct, s->direct_t[0], sizeof(s->direct));
}

/* Apply a set; on refusal say so. Returns true when it is in force. */
static bool apply(struct tuner *t, const struct gemm_set *s, const char *label)
{
	const char *what = "";
	int st = tr_tune_apply(t->cl, s, &what);

	if (st != CLBlastSuccess)
		tr_tune_say(t, "  %s: CLBlast refused its %s parameters (%s): skipped", label, what,
		    tr_clblast_errname(st));
	return st == CLBlastSuccess;
}

/* The time left, from the sets still to build, said after each step. */
static void say_eta(const struct tuner *t, size_t sets_left)
{
	double elapsed = (tr_tune_now_ms() - t->t0) * 1e-3, left = t->per_set_s * (double)sets_left;

	tr_tune_say(t, "  (%.0f s so far; about %.0f s to go for %zu more parameter set%s and the "
	    "check)", elapsed, left + 0.5 * t->per_set_s, sets_left, sets_left == 1 ? "" : "s");
}

/* Time every shape with each candidate of one kernel, that kernel alone in use
 * (candidate 0, CLBlast's, was timed with the defaults). */
static void try_candidates(struct tuner *t, bool direct, size_t *sets_left)
{
	size_t n = direct ? t->n_direct : t->n_indirect, c, s, ns = t->o->n_shapes;
	char params[256], label[64];
	double *col = malloc(ns * sizeof(double)), secs = 0.0;
	struct gemm_set set;

	/* CLBlast's set (0) on every shape too, for the direct kernel: the choice may
	 * route every shape there with it for some transposition; for the indirect
	 * kernel only where builds are cheap. */
	for (c = direct || t->cheap_builds ? 0 : 1; col && c < n; c++) {
		/* the other kernel keeps CLBlast's set, so that a choice of this set with
		 * the switch-over at "all direct" (or "all indirect") reuses this program */
		make_set(t, NULL, direct ? c : 0, direct ? 0 : c,
			 direct ? ALL_DIRECT : ALL_INDIRECT, &set);
		if (direct)
			tr_tune_format_params(tr_tune_direct_names, set.direct, N_DIRECT, params,
					      sizeof(params));
		else
			tr_tune_format_params(tr_tune_indirect_names, set.indirect, N_INDIRECT,
					      params, sizeof(params));
		if (c == 0)
			snprintf(label, sizeof(label), "%s, CLBlast's set",
				 direct ? "XgemmDirect" : "Xgemm");
		else
			snprintf(label, sizeof(label), "%s %zu/%zu",
				 direct ? "XgemmDirect" : "Xgemm", c, n - 1);
		tr_tune_say(t, "%s: %s", label, params);
		if (apply(t, &set, label)) {
			tr_tune_measure_all(t, col, label, &secs);
			for (s = 0; s < ns; s++) {
				double *ms = direct ? t->res[s].direct_ms : t->res[s].indirect_ms;

				/* set 0 keeps what the defaults measured where they ran it */
				if (c > 0 || !isfinite(ms[0]))
					ms[c] = col[s];
			}
			/* the slowest build so far is the guess for the next ones */
			if (c > 0 && secs > t->per_set_s)
				t->per_set_s = secs;
		}
		if (--*sets_left > 0)
			say_eta(t, *sets_left);
	}
	free(col);
}

/* Time the choice and the defaults side by side, twice, best of each (step 4);
 * *regressed says whether some shape was slower with the choice. */
static bool check(struct tuner *t, const struct gemm_set *chosen, const struct gemm_set *defs,
		  double *tuned, double *def, bool *regressed)
{
	size_t s, ns = t->o->n_shapes;
	double *col = malloc(ns * sizeof(double)), secs;
	struct tr_tune_table tab = tr_tune_table_of(t);
	int round, k;

	if (!col)
		return false;
	for (s = 0; s < ns; s++)
		tuned[s] = def[s] = INFINITY;
	for (round = 0; round < 2; round++) {
		t->chosen = chosen;
		if (!apply(t, chosen, "the choice"))
			break;
		tr_tune_measure_all(t, col, round ? "the choice, again" : "the choice", &secs);
		for (s = 0; s < ns; s++)
			tuned[s] = col[s] < tuned[s] ? col[s] : tuned[s];
		t->chosen = NULL;
		if (!apply(t, defs, "CLBlast's sets"))
			break;
		tr_tune_measure_all(t, col, round ? "CLBlast's sets, again" : "CLBlast's sets", &secs);
		for (s = 0; s < ns; s++)
			def[s] = col[s] < def[s] ? col[s] : def[s];
	}
	t->chosen = NULL;
	free(col);
	for (s = 0; s < ns; s++)
		if (!isfinite(tuned[s]))
			return false;
	*regressed = false;
	for (k = 0; k < 4; k++)
		if (!tr_tune_within(tr_tune_class_sum(&tab, k, tuned), tr_tune_class_sum(&tab, k, def)))
			*regressed = true;
	return true;
}

/* Give CLBlast's sets back to every transposition found slower than with the defaults:
 * its XgemmDirect set and, if some of its shapes ran indirect, the Xgemm set. Returns
 * how many changes were made. */
static int revert_regressions(struct tuner *t, struct tr_tune_choice *ch, const double *tuned,
			      const double *def)
{
	const tr_tune_options *o = t->o;
	struct tr_tune_table tab = tr_tune_table_of(t);
	size_t s;
	int k, n = 0;

	for (k = 0; k < 4; k++) {
		double mine = tr_tune_class_sum(&tab, k, tuned), theirs = tr_tune_class_sum(&tab, k, def);
		bool any_indirect = false;

		if (tr_tune_within(mine, theirs))
			continue;
		for (s = 0; s < o->n_shapes; s++)
			if (tr_tune_trans_class(o->shapes[s].trans_a, o->shapes[s].trans_b) == k &&
			    !tr_tune_runs_direct(&o->shapes[s], ch->T))
				any_indirect = true;
		tr_tune_say(t, "  %s: %.3f ms tuned, %.3f ms with CLBlast's sets (weighted): it gets "
		    "CLBlast's set%s back", tr_tune_trans_names[k], mine, theirs,
		    any_indirect && ch->i ? "s" : "");
		if (ch->d[k] != 0) {
			ch->d[k] = 0;
			n++;
		}
		if (any_indirect && ch->i != 0) {
			ch->i = 0;
			n++;
		}
	}
	return n;
}

/* Step 1: CLBlast's defaults, as they route each shape: candidate 0 of that kernel. */
static double measure_defaults(struct tuner *t)
{
	size_t s, ns = t->o->n_shapes;
	double *col = malloc(ns * sizeof(double)), secs = 0.0, w;

	if (!col)
		return INFINITY;
	tr_tune_say(t, "CLBlast's defaults:");
	w = tr_tune_measure_all(t, col, "defaults", &secs);
	for (s = 0; s < ns; s++) {
		struct shape_result *r = &t->res[s];

		r->def_ms = col[s];
		r->def_direct = tr_tune_runs_direct(&t->o->shapes[s], t->def_threshold);
		(r->def_direct ? r->direct_ms : r->indirect_ms)[0] = col[s];
	}
	/* Candidates build bigger kernels than the defaults' (wider vectors and tiles):
	 * about four times as long on PoCL. */
	t->per_set_s = 4.0 * secs;
	free(col);
	return w;
}

int tr_cl_tune(tr_backend *be, const tr_tune_options *o, tr_error *err)
{
	struct tuner t;
	struct cache_key k;
	struct gemm_set best, defs;
	struct tr_tune_choice ch;
	double w_def, w_tuned, *tuned = NULL, *def = NULL;
	size_t s, sets_left;
	bool regressed = false;
	char path[1024];
	cl_device_type type = CL_DEVICE_TYPE_CPU;
	int rc, round;

	memset(&t, 0, sizeof(t));
	t.be = be;
	t.cl = tr_cl_of(be);
	t.o = o;
	t.t0 = tr_tune_now_ms();
	tr_tune_key_of(t.cl->platform, t.cl->device, &k);
	if (!tr_tune_cache_path(&k, path, sizeof(path)))
		return tr_fail(err, TR_ERR_USAGE, "tune: the tuning cache is turned off ("
			       TR_TUNE_CACHE_ENV "=off): nowhere to keep the result");
	if ((rc = pick_sets(&t, err)) || (rc = tr_tune_setup(&t, err)))
		goto out;
	tuned = malloc(o->n_shapes * sizeof(double));
	def = malloc(o->n_shapes * sizeof(double));
	if (!tuned || !def) {
		rc = tr_fail(err, TR_ERR_INTERNAL, "tune: out of host memory");
		goto out;
	}
	clGetDeviceInfo(t.cl->device, CL_DEVICE_TYPE, sizeof(type), &type, NULL);
	t.cheap_builds = (type & CL_DEVICE_TYPE_GPU) != 0;
	sets_left = t.n_direct + (t.n_indirect - (t.cheap_builds ? 0 : 1));
	tr_tune_say(&t, "%zu shapes; %zu XgemmDirect and %zu Xgemm candidates besides CLBlast's own "
	    "sets. Each parameter set builds an OpenCL program: %s, so this takes about "
	    "%d to %d minutes (the estimate is refined as it goes)", o->n_shapes,
	    t.n_direct - 1, t.n_indirect - 1,
	    t.cheap_builds ? "seconds each on a GPU" :
	    "up to 2 minutes each on a CPU device (PoCL) the first time, seconds once PoCL "
	    "has cached it", 1, t.cheap_builds ? 3 : (int)(sets_left + 2));
	w_def = measure_defaults(&t);
	if (!isfinite(w_def)) {
		rc = tr_fail(err, TR_ERR_DEVICE, "tune: GEMMs with CLBlast's own parameters fail "
			     "on %s; nothing to compare candidates with", be->device_name);
		goto out;
	}
	say_eta(&t, sets_left);
	try_candidates(&t, true, &sets_left);
	try_candidates(&t, false, &sets_left);
	make_set(&t, NULL, 0, 0, t.def_threshold, &defs);
	{
		struct tr_tune_table tab = tr_tune_table_of(&t);

		tr_tune_choose(&tab, &ch);
	}
	tr_tune_say(&t, "the choice and CLBlast's sets, timed side by side:");
	for (round = 0; round < 2; round++) {
		make_set(&t, ch.d, 0, ch.i, ch.T, &best);
		if (!check(&t, &best, &defs, tuned, def, &regressed)) {
			rc = tr_fail(err, TR_ERR_DEVICE, "tune: the chosen parameters failed their "
				     "check on %s; nothing saved", be->device_name);
			goto out;
		}
		if (!regressed || round == 1 || revert_regressions(&t, &ch, tuned, def) == 0)
			break;
	}
	for (s = 0; s < o->n_shapes; s++) {
		t.res[s].tuned_ms = tuned[s];
		t.res[s].check_def_ms = def[s];
		t.res[s].tuned_direct = tr_tune_runs_direct(&o->shapes[s], ch.T);
	}
	w_def = tr_tune_weighted(&t, def);
	w_tuned = tr_tune_weighted(&t, tuned);
	tr_tune_report(&t, w_def, w_tuned, def, tuned);
	if (regressed)
		tr_tune_say(&t, "note: some transposition is still slower than with the defaults after "
		    "giving CLBlast's sets back; timings on this machine are noisy (other "
		    "processes?): run trainer tune again when it is quiet");
	/* The choice stays in force in this backend (tr_backend_tune's contract). */
	if (!apply(&t, &best, "the choice")) {
		rc = tr_fail(err, TR_ERR_DEVICE, "tune: CLBlast refused the chosen parameters");
		goto out;
	}
	t.cl->tuned = true; /* a network created next keeps the switch-over chosen */
	rc = tr_tune_save(&t, &k, &best, &defs, &ch, w_def, w_tuned, path, err);
	if (rc == TR_OK) {
		tr_tune_describe(be, &best, path);
		tr_tune_say(&t, "saved %s (%.0f s in all)", path, (tr_tune_now_ms() - t.t0) * 1e-3);
	}
out:
	free(tuned);
	free(def);
	tr_tune_free(&t);
	return rc;
}
