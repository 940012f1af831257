/*
 * opencl_tune.c - CLBlast's GEMM parameters for the device at hand: the search
 * (`trainer tune`), the cache on disk, and applying it when a backend opens.
 *
 * What CLBlast lets us set. CLBlastOverrideParameters replaces, for one device and
 * one kernel name, the parameter set CLBlast's database would give: "XgemmDirect"
 * (one kernel, no copies), "Xgemm" (the indirect kernel, with pad/transpose copies
 * around it) and "GemmRoutine" (XGEMM_MIN_INDIRECT_SIZE: a GEMM runs the direct
 * kernel when m*n*k < that^3). The setting holds for every later call, whatever the
 * shape, and CLBlast builds one OpenCL program per combination of the three (its
 * program cache is keyed by all of their values).
 *
 * How per-shape results map onto that. The search times every candidate on every
 * shape the network uses and keeps the per-shape table in the cache. What is APPLIED
 * is one combination for the device: one XgemmDirect set, one Xgemm set, and the
 * switch-over size, chosen together to minimise the step's GEMM time (each shape
 * weighted by how often it runs). The switch-over gives each shape the better of the
 * two kernels as far as a threshold on m*n*k can. We do not re-override per call: each
 * change costs a database rebuild in CLBlast, and each new combination a program build
 * (tens of seconds on PoCL when its kernel cache is cold), at start-up or mid-run.
 *
 * The cache: one JSON file per device, named after a hash of its key (platform name
 * and version, device name, driver version, CLBlast version), under
 * $XDG_CACHE_HOME/trainer/ (default ~/.cache/trainer/). $TRAINER_CLBLAST_CACHE names
 * another file, or turns the cache off when "off". A file that cannot be parsed, has
 * another format, belongs to another key (a driver or CLBlast upgrade) or holds values
 * CLBlast refuses is ignored: the backend keeps CLBlast's defaults and says why in
 * be->warning, which the caller shows. The library prints nothing.
 */
#include "opencl_impl.h"

#include <cjson/cJSON.h>
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

#define STR_(x) #x
#define STR(x) STR_(x)
#define CLBLAST_VERSION_TEXT                                                      \
	STR(CLBLAST_VERSION_MAJOR) "." STR(CLBLAST_VERSION_MINOR) "." STR(         \
		CLBLAST_VERSION_PATCH)

#define CACHE_FORMAT "trainer-clblast-tuning-1"
#define CACHE_ENV "TRAINER_CLBLAST_CACHE"

#define N_DIRECT 10
#define N_INDIRECT 16
#define DEFAULT_CANDIDATES 2
#define TIMED_RUNS 3
/* XGEMM_MIN_INDIRECT_SIZE that makes every GEMM direct (m*n*k < 2^60) or indirect. */
#define ALL_DIRECT ((size_t)1 << 20)
#define ALL_INDIRECT ((size_t)1)
/* A candidate's result must match the reference product to this NMSE. float32 sums
 * of k <= a few thousand products of numbers in [-1, 1] are off by ~1e-6 relative. */
#define MAX_NMSE 1e-8

static const char *const direct_names[N_DIRECT] = {
	"KWID", "MDIMAD", "MDIMCD", "NDIMBD", "NDIMCD", "PADA", "PADB", "VWMD", "VWND", "WGD",
};
/* CLBlast 1.5's Xgemm; releases before 1.5 lack the first two (see apply_set). */
static const char *const indirect_names[N_INDIRECT] = {
	"GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB", "NDIMC", "NWG",
	"SA", "SB", "STRM", "STRN", "VWM", "VWN",
};
static const char *const routine_names[1] = { "XGEMM_MIN_INDIRECT_SIZE" };

/*
 * The candidates, most promising first for each device type; --candidates N takes the
 * first N (2 by default: each new set costs a program build, 20-150 s on PoCL).
 * CPUs (PoCL): wide vectors and 64-wide tiles did best on the AVX-512 machine this was
 * written on: 8x8 threads for A^T B and A B^T, 4x4 threads (16x16 outputs each) for
 * A B (25-70 GFLOP/s on the lab's shapes against 4-10 with the defaults); the indirect
 * kernel with 128-wide tiles was best on the 1000-row validation chunk. GPUs: the sets CLBlast's database
 * holds for common GPU families, which are reasonable starting points.
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

/* What the backend overrides: any of the three may be left to CLBlast. */
struct gemm_set {
	bool have_direct, have_indirect;
	size_t direct[N_DIRECT];
	size_t indirect[N_INDIRECT];
	size_t min_indirect; /* 0: leave CLBlast's */
	/* XgemmDirect per transposition (index trans_a + 2 trans_b: NN, TN, NT, TT), when
	 * they differ; direct is then by_trans[0]. */
	bool by_trans;
	size_t direct_t[4][N_DIRECT];
};

static const char *const trans_names[4] = { "NN", "TN", "NT", "TT" };

static int trans_class(bool ta, bool tb)
{
	return (ta ? 1 : 0) + (tb ? 2 : 0);
}

/* ---- applying ---- */

static int override(cl_device_id dev, const char *kernel, const char *const *names,
		    size_t n, const size_t *values)
{
	return CLBlastOverrideParameters(dev, kernel, CLBlastPrecisionSingle, n,
					 (const char **)names, values);
}

/* Hand the set to CLBlast; returns a CLBlastStatusCode (and which kernel in *what).
 * The GEMMs' temporary sizes depend on the parameters: they are asked again. */
static int apply_set(struct tr_cl *cl, const struct gemm_set *s, const char **what)
{
	cl_device_id dev = cl->device;
	int st = CLBlastSuccess;

	tr_cl_forget_temp_sizes(cl);
	if (s->have_direct) {
		*what = "XgemmDirect";
		st = override(dev, "XgemmDirect", direct_names, N_DIRECT, s->direct);
	}
	if (st == CLBlastSuccess && s->have_indirect) {
		*what = "Xgemm";
		st = override(dev, "Xgemm", indirect_names, N_INDIRECT, s->indirect);
		if (st == CLBlastMissingOverrideParameter) /* before 1.5: no GEMMK, KREG */
			st = override(dev, "Xgemm", indirect_names + 2, N_INDIRECT - 2,
				      s->indirect + 2);
	}
	if (st == CLBlastSuccess && s->min_indirect) {
		*what = "GemmRoutine";
		st = override(dev, "GemmRoutine", routine_names, 1, &s->min_indirect);
	}
	return st;
}

/* "WGD=64 MDIMCD=8 ..." for messages. */
static void format_params(const char *const *names, const size_t *v, size_t n, char *buf,
			  size_t cap)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%s=%zu", i ? " " : "", names[i],
					v[i]);
}

/* ---- the cache file ---- */

struct cache_key {
	char platform[256];
	char device[256];
	char driver[128];
	char clblast[32];
};

static void key_of(cl_platform_id platform, cl_device_id device, struct cache_key *k)
{
	char name[120], version[120];

	tr_cl_platform_str(platform, CL_PLATFORM_NAME, name, sizeof(name));
	tr_cl_platform_str(platform, CL_PLATFORM_VERSION, version, sizeof(version));
	snprintf(k->platform, sizeof(k->platform), "%s / %s", name, version);
	tr_cl_device_str(device, CL_DEVICE_NAME, k->device, sizeof(k->device));
	tr_cl_device_str(device, CL_DRIVER_VERSION, k->driver, sizeof(k->driver));
	snprintf(k->clblast, sizeof(k->clblast), "%s", CLBLAST_VERSION_TEXT);
}

static uint64_t fnv1a(const char *s, uint64_t h)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h ^ 0xff; /* separates the fields */
}

/* The cache file for this device into buf; false when the cache is turned off. */
static bool cache_path(const struct cache_key *k, char *buf, size_t cap)
{
	const char *env = getenv(CACHE_ENV), *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	uint64_t h = 0xcbf29ce484222325ULL;

	if (env && !strcmp(env, "off"))
		return false;
	if (env && *env) {
		snprintf(buf, cap, "%s", env);
		return true;
	}
	h = fnv1a(k->platform, h);
	h = fnv1a(k->device, h);
	h = fnv1a(k->driver, h);
	h = fnv1a(k->clblast, h);
	if (xdg && *xdg)
		snprintf(buf, cap, "%s/trainer/clblast-%016llx.json", xdg, (unsigned long long)h);
	else if (home && *home)
		snprintf(buf, cap, "%s/.cache/trainer/clblast-%016llx.json", home,
			 (unsigned long long)h);
	else
		return false;
	return true;
}

static char *read_text(const char *path, bool *missing)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	long len;

	*missing = f == NULL;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && len < (1L << 24) &&
	    fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)len + 1)) != NULL) {
		if (fread(text, 1, (size_t)len, f) == (size_t)len) {
			text[len] = '\0';
		} else {
			free(text);
			text = NULL;
		}
	}
	fclose(f);
	return text;
}

/* Parameters named `names` from object o into v; false unless all are there, each an
 * integer in [0, 4096]. */
static bool params_from_json(const cJSON *o, const char *const *names, size_t n, size_t *v)
{
	size_t i;

	if (!cJSON_IsObject(o))
		return false;
	for (i = 0; i < n; i++) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, names[i]);

		if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble > 4096 ||
		    x->valuedouble != floor(x->valuedouble))
			return false;
		v[i] = (size_t)x->valuedouble;
	}
	return true;
}

static cJSON *params_to_json(const char *const *names, const size_t *v, size_t n)
{
	cJSON *o = cJSON_CreateObject();
	size_t i;

	for (i = 0; o && i < n; i++)
		cJSON_AddNumberToObject(o, names[i], (double)v[i]);
	return o;
}

static bool key_matches(const cJSON *key, const struct cache_key *k, const char **field)
{
	static const char *const fields[] = { "platform", "device", "driver", "clblast" };
	const char *mine[] = { k->platform, k->device, k->driver, k->clblast };
	size_t i;

	for (i = 0; i < 4; i++) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(key, fields[i]);

		if (!cJSON_IsString(x) || strcmp(x->valuestring, mine[i]) != 0) {
			*field = fields[i];
			return false;
		}
	}
	return true;
}

/* The optional per-transposition sets: absent or null, or an object with NN, TN, NT
 * (and optionally TT) sets; the others default to the main XgemmDirect set. */
static bool parse_by_trans(const cJSON *o, struct gemm_set *s)
{
	int c;

	if (!o || cJSON_IsNull(o))
		return true;
	if (!cJSON_IsObject(o) || !s->have_direct)
		return false;
	for (c = 0; c < 4; c++) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, trans_names[c]);

		memcpy(s->direct_t[c], s->direct, sizeof(s->direct));
		if (x && !params_from_json(x, direct_names, N_DIRECT, s->direct_t[c]))
			return false;
	}
	s->by_trans = true;
	memcpy(s->direct, s->direct_t[0], sizeof(s->direct));
	return true;
}

/* Parse the cache text into s; on failure *why says what is wrong. */
static bool parse_cache(const char *text, const struct cache_key *k, struct gemm_set *s,
			char *why, size_t cap)
{
	cJSON *root = cJSON_Parse(text);
	const cJSON *fmt, *key, *d, *i, *t;
	const char *field = "";
	bool ok = false;

	memset(s, 0, sizeof(*s));
	fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
	key = cJSON_GetObjectItemCaseSensitive(root, "key");
	d = cJSON_GetObjectItemCaseSensitive(root, "XgemmDirect");
	i = cJSON_GetObjectItemCaseSensitive(root, "Xgemm");
	t = cJSON_GetObjectItemCaseSensitive(root, "XGEMM_MIN_INDIRECT_SIZE");
	if (!root)
		snprintf(why, cap, "not valid JSON");
	else if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, CACHE_FORMAT) != 0)
		snprintf(why, cap, "not a tuning cache of this format (expected \"%s\")",
			 CACHE_FORMAT);
	else if (!cJSON_IsObject(key))
		snprintf(why, cap, "no device key");
	else if (!key_matches(key, k, &field))
		snprintf(why, cap, "stale: written for another %s", field);
	else if (!cJSON_IsNull(d) &&
		 !(s->have_direct = params_from_json(d, direct_names, N_DIRECT, s->direct)))
		snprintf(why, cap, "bad or missing XgemmDirect parameters");
	else if (!cJSON_IsNull(i) && !(s->have_indirect = params_from_json(
					       i, indirect_names, N_INDIRECT, s->indirect)))
		snprintf(why, cap, "bad or missing Xgemm parameters");
	else if (!cJSON_IsNull(t) && !(cJSON_IsNumber(t) && t->valuedouble >= 1 &&
				       t->valuedouble <= (double)ALL_DIRECT))
		snprintf(why, cap, "bad XGEMM_MIN_INDIRECT_SIZE");
	else if (!parse_by_trans(cJSON_GetObjectItemCaseSensitive(root, "XgemmDirect_by_transpose"),
				 s))
		snprintf(why, cap, "bad XgemmDirect_by_transpose");
	else
		ok = true;
	if (ok && cJSON_IsNumber(t))
		s->min_indirect = (size_t)t->valuedouble;
	cJSON_Delete(root);
	return ok;
}

/* The one-line summary of an applied set, for be->tuning. */
static void describe_set(tr_backend *be, const struct gemm_set *s, const char *path)
{
	if (!s->have_direct && !s->have_indirect && !s->min_indirect)
		snprintf(be->tuning, sizeof(be->tuning),
			 "CLBlast: tuned (CLBlast's defaults were best; cache %.180s)", path);
	else
		snprintf(be->tuning, sizeof(be->tuning),
			 "CLBlast: tuned parameters (%s%s%s; cache %.170s)",
			 s->by_trans ? "XgemmDirect per transposition" :
			 s->have_direct ? "XgemmDirect" : "",
			 s->have_indirect ? (s->have_direct ? ", Xgemm" : "Xgemm") : "",
			 s->min_indirect ? ", switch-over" : "", path);
}

/* Hand per-transposition sets to tr_cl_gemm (apply_set has put the NN one in force). */
static void install_by_trans(struct tr_cl *cl, const struct gemm_set *s)
{
	cl->gemm_by_trans = s->by_trans;
	memcpy(cl->gemm_direct, s->direct_t, sizeof(cl->gemm_direct));
	cl->gemm_trans_now = 0;
}

int tr_cl_gemm_select(struct tr_cl *cl, bool ta, bool tb)
{
	int c = trans_class(ta, tb), st;

	if (!cl->gemm_by_trans || c == cl->gemm_trans_now)
		return CLBlastSuccess;
	if (!memcmp(cl->gemm_direct[c], cl->gemm_direct[cl->gemm_trans_now],
		    sizeof(cl->gemm_direct[c]))) {
		cl->gemm_trans_now = c; /* the same set: nothing to change */
		return CLBlastSuccess;
	}
	st = override(cl->device, "XgemmDirect", direct_names, N_DIRECT, cl->gemm_direct[c]);
	if (st == CLBlastSuccess)
		cl->gemm_trans_now = c;
	return st;
}

void tr_cl_tuning_at_open(tr_backend *be, bool skip)
{
	struct tr_cl *cl = tr_cl_of(be);
	struct cache_key k;
	struct gemm_set s;
	char path[1024], why[256];
	const char *what = "";
	bool missing;
	char *text;
	int st;

	key_of(cl->platform, cl->device, &k);
	if (skip) {
		snprintf(be->tuning, sizeof(be->tuning), "CLBlast: defaults (tuning cache not used)");
		return;
	}
	if (!cache_path(&k, path, sizeof(path))) {
		snprintf(be->tuning, sizeof(be->tuning),
			 "CLBlast: defaults (tuning cache off: " CACHE_ENV "=off)");
		return;
	}
	text = read_text(path, &missing);
	if (!text) {
		snprintf(be->tuning, sizeof(be->tuning),
			 "CLBlast: defaults (no tuning cache for this device; run trainer tune)");
		if (!missing)
			snprintf(be->warning, sizeof(be->warning),
				 "cannot read the CLBlast tuning cache %.400s; using CLBlast's "
				 "defaults", path);
		return;
	}
	if (!parse_cache(text, &k, &s, why, sizeof(why))) {
		free(text);
		snprintf(be->tuning, sizeof(be->tuning), "CLBlast: defaults (tuning cache ignored)");
		snprintf(be->warning, sizeof(be->warning),
			 "ignoring the CLBlast tuning cache %.260s: %.100s; using CLBlast's "
			 "defaults (run trainer tune to rebuild it)", path, why);
		return;
	}
	free(text);
	st = apply_set(cl, &s, &what);
	if (st != CLBlastSuccess) {
		snprintf(be->tuning, sizeof(be->tuning), "CLBlast: defaults (tuning cache ignored)");
		snprintf(be->warning, sizeof(be->warning),
			 "ignoring the CLBlast tuning cache %.300s: CLBlast refused its %s "
			 "parameters (%s); run trainer tune to rebuild it", path, what,
			 tr_clblast_errname(st));
		return;
	}
	install_by_trans(cl, &s);
	describe_set(be, &s, path);
}

void tr_cl_tuning_status(cl_platform_id platform, cl_device_id device, char *buf,
			 size_t cap)
{
	struct cache_key k;
	struct gemm_set s;
	char path[1024], why[256];
	bool missing;
	char *text;

	key_of(platform, device, &k);
	if (!cache_path(&k, path, sizeof(path))) {
		snprintf(buf, cap, "tuning cache off");
		return;
	}
	text = read_text(path, &missing);
	if (!text)
		snprintf(buf, cap, missing ? "not tuned (no cache %s; run trainer tune)" :
			 "tuning cache unreadable: %s", path);
	else if (!parse_cache(text, &k, &s, why, sizeof(why)))
		snprintf(buf, cap, "tuning cache ignored (%s): %s", why, path);
	else
		snprintf(buf, cap, "tuned: %s", path);
	free(text);
}

/* ---- the search ---- */

struct shape_result {
	double def_ms;            /* CLBlast's defaults */
	double *direct_ms;        /* per direct candidate; INFINITY = failed */
	double *indirect_ms;      /* per indirect candidate */
	double tuned_ms;          /* the applied combination */
};

struct tuner {
	tr_backend *be;
	struct tr_cl *cl;
	const tr_tune_options *o;
	cl_mem a, b, c;
	float *host_a, *host_b, *host_c;
	float **ref;              /* reference product per shape */
	struct shape_result *res;
	const size_t (*direct)[N_DIRECT];
	const size_t (*indirect)[N_INDIRECT];
	size_t n_direct, n_indirect;
	const struct gemm_set *chosen; /* while measuring the choice: switch per shape */
};

static void say(const struct tuner *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(const struct tuner *t, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!t->o->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	t->o->progress(t->o->user, line);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

static double flop(const tr_tune_shape *s)
{
	return 2.0 * (double)s->m * (double)s->n * (double)s->k;
}

/* ref = op(A) op(B) in double, rounded to float. */
static void reference(const tr_tune_shape *s, const float *A, const float *B, float *C,
		      double *acc)
{
	size_t i, j, p, m = s->m, n = s->n, k = s->k;

	for (i = 0; i < m; i++) {
		if (s->trans_b) {
			for (j = 0; j < n; j++) {
				double sum = 0.0;

				for (p = 0; p < k; p++)
					sum += (double)(s->trans_a ? A[p * m + i] : A[i * k + p]) *
					       B[j * k + p];
				acc[j] = sum;
			}
		} else {
			for (j = 0; j < n; j++)
				acc[j] = 0.0;
			for (p = 0; p < k; p++) {
				double a = s->trans_a ? A[p * m + i] : A[i * k + p];
				const float *row = B + p * n;

				for (j = 0; j < n; j++)
					acc[j] += a * row[j];
			}
		}
		for (j = 0; j < n; j++)
			C[i * n + j] = (float)acc[j];
	}
}

static int run_gemm(struct tuner *t, const tr_tune_shape *s, int *clblast_status)
{
	cl_event ev = NULL;
	int st;

	st = CLBlastSgemm(CLBlastLayoutRowMajor,
			  s->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
			  s->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, s->m, s->n, s->k,
			  1.0f, t->a, 0, s->trans_a ? s->m : s->k, t->b, 0,
			  s->trans_b ? s->k : s->n, 0.0f, t->c, 0, s->n, &t->cl->queue, &ev);
	if (ev)
		clReleaseEvent(ev);
	*clblast_status = st;
	if (st != CLBlastSuccess)
		return TR_ERR_DEVICE;
	return clFinish(t->cl->queue) == CL_SUCCESS ? TR_OK : TR_ERR_DEVICE;
}

/* Run shape si once on a C filled with NaN, compare with the reference, then time it.
 * Returns the best of TIMED_RUNS in ms, or INFINITY when it fails or is wrong (*why). */
static double measure(struct tuner *t, size_t si, const char **why)
{
	const tr_tune_shape *s = &t->o->shapes[si];
	size_t i, n = s->m * s->n;
	float nan_ = NAN;
	double num = 0.0, den = 0.0, best = INFINITY;
	int st = 0, r;

	*why = NULL;
	if (t->chosen && (st = tr_cl_gemm_select(t->cl, s->trans_a, s->trans_b)) != 0) {
		*why = tr_clblast_errname(st);
		return INFINITY;
	}
	if (clEnqueueFillBuffer(t->cl->queue, t->c, &nan_, sizeof(nan_), 0, n * sizeof(float),
				0, NULL, NULL) != CL_SUCCESS ||
	    run_gemm(t, s, &st) != TR_OK) {
		*why = st ? tr_clblast_errname(st) : "OpenCL error";
		return INFINITY;
	}
	if (clEnqueueReadBuffer(t->cl->queue, t->c, CL_TRUE, 0, n * sizeof(float), t->host_c,
				0, NULL, NULL) != CL_SUCCESS) {
		*why = "cannot read the result";
		return INFINITY;
	}
	for (i = 0; i < n; i++) {
		double d = (double)t->host_c[i] - t->ref[si][i];

		num += d * d;
		den += (double)t->ref[si][i] * t->ref[si][i];
	}
	if (!(num <= MAX_NMSE * den)) { /* NaN included */
		*why = "wrong result";
		return INFINITY;
	}
	for (r = 0; r < TIMED_RUNS; r++) {
		double t0 = now_ms(), ms;

		if (run_gemm(t, s, &st) != TR_OK) {
			*why = st ? tr_clblast_errname(st) : "OpenCL error";
			return INFINITY;
		}
		ms = now_ms() - t0;
		if (ms < best)
			best = ms;
	}
	return best;
}

/* Weighted GEMM time per step of the shapes, with ms[s] each. */
static double weighted(const struct tuner *t, const double *ms, size_t stride)
{
	double sum = 0.0;
	size_t s;

	for (s = 0; s < t->o->n_shapes; s++)
		sum += t->o->shapes[s].weight * ms[s * stride];
	return sum;
}

/* Measure every shape with the parameters now in force into ms[s * stride]; returns
 * the weighted sum (INFINITY if any shape failed). */
static double measure_all(struct tuner *t, double *ms, size_t stride, const char *label)
{
	const char *why = NULL;
	double t0 = now_ms(), w;
	size_t s;

	for (s = 0; s < t->o->n_shapes; s++) {
		ms[s * stride] = measure(t, s, &why);
		if (!isfinite(ms[s * stride])) {
			say(t, "  %s: %s on %s (%zux%zux%zu): skipped", label, why,
			    t->o->shapes[s].what, t->o->shapes[s].m, t->o->shapes[s].n,
			    t->o->shapes[s].k);
			for (; s < t->o->n_shapes; s++)
				ms[s * stride] = INFINITY;
			return INFINITY;
		}
	}
	w = weighted(t, ms, stride);
	say(t, "  %s: %.2f ms of GEMMs per step (%.0f s with program builds)", label, w,
	    (now_ms() - t0) * 1e-3);
	return w;
}

static int alloc_buf(struct tuner *t, size_t n, cl_mem *out, tr_error *err)
{
	cl_int rc;

	*out = clCreateBuffer(t->cl->context, CL_MEM_READ_WRITE, n * sizeof(float), NULL, &rc);
	if (rc != CL_SUCCESS) {
		*out = NULL;
		return tr_cl_fail(err, "clCreateBuffer", "tuning buffers", rc);
	}
	return TR_OK;
}

static int tuner_setup(struct tuner *t, tr_error *err)
{
	const tr_tune_options *o = t->o;
	size_t na = 1, nb = 1, nc = 1, s, i, maxn = 1;
	double *acc;
	tr_prng rng;
	int rc;

	for (s = 0; s < o->n_shapes; s++) {
		const tr_tune_shape *x = &o->shapes[s];

		if (x->m * x->k > na)
			na = x->m * x->k;
		if (x->k * x->n > nb)
			nb = x->k * x->n;
		if (x->m * x->n > nc)
			nc = x->m * x->n;
		if (x->n > maxn)
			maxn = x->n;
	}
	t->host_a = malloc(na * sizeof(float));
	t->host_b = malloc(nb * sizeof(float));
	t->host_c = malloc(nc * sizeof(float));
	t->ref = calloc(o->n_shapes, sizeof(*t->ref));
	t->res = calloc(o->n_shapes, sizeof(*t->res));
	acc = malloc(maxn * sizeof(double));
	if (!t->host_a || !t->host_b || !t->host_c || !t->ref || !t->res || !acc) {
		free(acc);
		return tr_fail(err, TR_ERR_INTERNAL, "tune: out of host memory");
	}
	tr_prng_seed(&rng, 12345);
	for (i = 0; i < na; i++)
		t->host_a[i] = 2.0f * tr_prng_uniform(&rng) - 1.0f;
	for (i = 0; i < nb; i++)
		t->host_b[i] = 2.0f * tr_prng_uniform(&rng) - 1.0f;
	for (s = 0; s < o->n_shapes; s++) {
		const tr_tune_shape *x = &o->shapes[s];

		t->ref[s] = malloc(x->m * x->n * sizeof(float));
		t->res[s].direct_ms = malloc((t->n_direct + 1) * sizeof(double));
		t->res[s].indirect_ms = malloc((t->n_indirect + 1) * sizeof(double));
		if (!t->ref[s] || !t->res[s].direct_ms || !t->res[s].indirect_ms) {
			free(acc);
			return tr_fail(err, TR_ERR_INTERNAL, "tune: out of host memory");
		}
		reference(x, t->host_a, t->host_b, t->ref[s], acc);
	}
	free(acc);
	if ((rc = alloc_buf(t, na, &t->a, err)) || (rc = alloc_buf(t, nb, &t->b, err)) ||
	    (rc = alloc_buf(t, nc, &t->c, err)))
		return rc;
	if (clEnqueueWriteBuffer(t->cl->queue, t->a, CL_TRUE, 0, na * sizeof(float), t->host_a,
				 0, NULL, NULL) != CL_SUCCESS ||
	    clEnqueueWriteBuffer(t->cl->queue, t->b, CL_TRUE, 0, nb * sizeof(float), t->host_b,
				 0, NULL, NULL) != CL_SUCCESS)
		return tr_fail(err, TR_ERR_DEVICE, "tune: cannot upload the test matrices");
	return TR_OK;
}

static void tuner_free(struct tuner *t)
{
	size_t s;

	if (t->a)
		clReleaseMemObject(t->a);
	if (t->b)
		clReleaseMemObject(t->b);
	if (t->c)
		clReleaseMemObject(t->c);
	for (s = 0; t->ref && s < t->o->n_shapes; s++)
		free(t->ref[s]);
	for (s = 0; t->res && s < t->o->n_shapes; s++) {
		free(t->res[s].direct_ms);
		free(t->res[s].indirect_ms);
	}
	free(t->ref);
	free(t->res);
	free(t->host_a);
	free(t->host_b);
	free(t->host_c);
}

/* Smallest XGEMM_MIN_INDIRECT_SIZE T with T^3 > mnk: shapes up to mnk run direct. */
static size_t threshold_above(double mnk)
{
	size_t T = (size_t)floor(cbrt(mnk));

	while ((double)T * T * T <= mnk)
		T++;
	return T;
}

/* The best combination: a direct set per transposition class d[c] (indices), an
 * indirect set i (index, or n_indirect for "CLBlast's"), switch-over T. Returns its
 * weighted time. A class with no direct shape takes the NN class's set. */
static double choose(const struct tuner *t, size_t best_d[4], size_t *best_i, size_t *best_T)
{
	const tr_tune_options *o = t->o;
	double best = INFINITY;
	size_t i, s, c, d;
	int k;

	for (i = 0; i <= t->n_indirect; i++) {
		/* thresholds: all indirect, or direct up to each shape's size */
		for (c = 0; c <= o->n_shapes; c++) {
			double lim = c < o->n_shapes ?
				     (double)o->shapes[c].m * o->shapes[c].n * o->shapes[c].k : -1.0;
			size_t T = c < o->n_shapes ? threshold_above(lim) : ALL_INDIRECT, sel[4];
			bool used[4] = { false, false, false, false };
			double sum = 0.0;

			if (i == t->n_indirect && c == o->n_shapes)
				continue; /* no indirect measurements to use */
			for (s = 0; s < o->n_shapes; s++) {
				const tr_tune_shape *x = &o->shapes[s];

				if ((double)x->m * x->n * x->k < (double)T * T * T)
					used[trans_class(x->trans_a, x->trans_b)] = true;
				else
					sum += x->weight * (i == t->n_indirect ? INFINITY :
							    t->res[s].indirect_ms[i]);
			}
			for (k = 0; k < 4; k++) {
				double bk = INFINITY;

				sel[k] = 0;
				for (d = 0; used[k] && d < t->n_direct; d++) {
					double sd = 0.0;

					for (s = 0; s < o->n_shapes; s++) {
						const tr_tune_shape *x = &o->shapes[s];

						if (trans_class(x->trans_a, x->trans_b) == k &&
						    (double)x->m * x->n * x->k < (double)T * T * T)
							sd += x->weight * t->res[s].direct_ms[d];
					}
					if (sd < bk) {
						bk = sd;
						sel[k] = d;
					}
				}
				if (used[k])
					sum += bk;
			}
			if (sum < best) {
				best = sum;
				for (k = 0; k < 4; k++)
					best_d[k] = used[k] ? sel[k] : (used[0] ? sel[0] : sel[k]);
				*best_i = i;
				*best_T = T;
			}
		}
	}
	return best;
}

static cJSON *cache_json(const struct tuner *t, const struct cache_key *k,
			 const struct gemm_set *s, double w_def, double w_tuned)
{
	cJSON *root = cJSON_CreateObject(), *key, *shapes;
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	size_t i, c;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(root, "format", CACHE_FORMAT);
	key = cJSON_AddObjectToObject(root, "key");
	cJSON_AddStringToObject(key, "platform", k->platform);
	cJSON_AddStringToObject(key, "device", k->device);
	cJSON_AddStringToObject(key, "driver", k->driver);
	cJSON_AddStringToObject(key, "clblast", k->clblast);
	cJSON_AddStringToObject(root, "created", stamp);
	cJSON_AddStringToObject(root, "applies",
				"one XgemmDirect set per transposition, one Xgemm set and the "
				"switch-over size, chosen for the weighted sum over the shapes "
				"(docs/PERFORMANCE.md)");
	if (s->have_direct)
		cJSON_AddItemToObject(root, "XgemmDirect",
				      params_to_json(direct_names, s->direct, N_DIRECT));
	else
		cJSON_AddNullToObject(root, "XgemmDirect");
	if (s->have_indirect)
		cJSON_AddItemToObject(root, "Xgemm",
				      params_to_json(indirect_names, s->indirect, N_INDIRECT));
	else
		cJSON_AddNullToObject(root, "Xgemm");
	if (s->by_trans) {
		cJSON *bt = cJSON_AddObjectToObject(root, "XgemmDirect_by_transpose");
		int tc;

		for (tc = 0; tc < 3; tc++)
			cJSON_AddItemToObject(bt, trans_names[tc], params_to_json(
				direct_names, s->direct_t[tc], N_DIRECT));
	}
	if (s->min_indirect)
		cJSON_AddNumberToObject(root, "XGEMM_MIN_INDIRECT_SIZE", (double)s->min_indirect);
	else
		cJSON_AddNullToObject(root, "XGEMM_MIN_INDIRECT_SIZE");
	cJSON_AddNumberToObject(root, "step_gemm_ms_default", w_def);
	cJSON_AddNumberToObject(root, "step_gemm_ms_tuned", w_tuned);
	shapes = cJSON_AddArrayToObject(root, "shapes");
	for (i = 0; i < t->o->n_shapes; i++) {
		const tr_tune_shape *x = &t->o->shapes[i];
		const struct shape_result *r = &t->res[i];
		cJSON *o = cJSON_CreateObject(), *arr;
		size_t best_d = 0, best_i = 0;

		cJSON_AddStringToObject(o, "what", x->what);
		cJSON_AddBoolToObject(o, "trans_a", x->trans_a);
		cJSON_AddBoolToObject(o, "trans_b", x->trans_b);
		cJSON_AddNumberToObject(o, "m", (double)x->m);
		cJSON_AddNumberToObject(o, "n", (double)x->n);
		cJSON_AddNumberToObject(o, "k", (double)x->k);
		cJSON_AddNumberToObject(o, "weight", x->weight);
		cJSON_AddNumberToObject(o, "default_ms", r->def_ms);
		cJSON_AddNumberToObject(o, "tuned_ms", r->tuned_ms);
		arr = cJSON_AddArrayToObject(o, "direct_ms");
		for (c = 0; c < t->n_direct; c++) {
			cJSON_AddItemToArray(arr, isfinite(r->direct_ms[c]) ?
					     cJSON_CreateNumber(r->direct_ms[c]) : cJSON_CreateNull());
			if (r->direct_ms[c] < r->direct_ms[best_d])
				best_d = c;
		}
		arr = cJSON_AddArrayToObject(o, "indirect_ms");
		for (c = 0; c < t->n_indirect; c++) {
			cJSON_AddItemToArray(arr, isfinite(r->indirect_ms[c]) ?
					     cJSON_CreateNumber(r->indirect_ms[c]) :
					     cJSON_CreateNull());
			if (r->indirect_ms[c] < r->indirect_ms[best_i])
				best_i = c;
		}
		/* the best set for this shape alone, of each kernel */
		if (t->n_direct && isfinite(r->direct_ms[best_d]))
			cJSON_AddItemToObject(o, "best_direct", params_to_json(
				direct_names, t->direct[best_d], N_DIRECT));
		if (t->n_indirect && isfinite(r->indirect_ms[best_i]))
			cJSON_AddItemToObject(o, "best_indirect", params_to_json(
				indirect_names, t->indirect[best_i], N_INDIRECT));
		cJSON_AddItemToArray(shapes, o);
	}
	return root;
}

static int save_cache(const struct tuner *t, const struct cache_key *k,
		      const struct gemm_set *s, double w_def, double w_tuned, const char *path,
		      tr_error *err)
{
	cJSON *root = cache_json(t, k, s, w_def, w_tuned);
	char *text = root ? cJSON_Print(root) : NULL;
	char dir[1024], *slash;
	int rc;

	cJSON_Delete(root);
	if (!text)
		return tr_fail(err, TR_ERR_INTERNAL, "tune: out of host memory");
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	rc = TR_OK;
	if (slash && slash != dir) {
		*slash = '\0';
		rc = tr_mkdir_p(dir, err);
	}
	if (rc == TR_OK)
		rc = tr_write_file_atomic(path, text, strlen(text), err);
	free(text);
	if (rc)
		tr_error_prefix(err, "writing the tuning cache");
	return rc;
}

static void pick_pools(struct tuner *t)
{
	int max = t->o->max_candidates > 0 ? t->o->max_candidates : DEFAULT_CANDIDATES;
	cl_device_type type = CL_DEVICE_TYPE_CPU;
	bool cpu;

	clGetDeviceInfo(t->cl->device, CL_DEVICE_TYPE, sizeof(type), &type, NULL);
	cpu = (type & CL_DEVICE_TYPE_GPU) == 0;
	t->direct = cpu ? direct_cpu : direct_gpu;
	t->indirect = cpu ? indirect_cpu : indirect_gpu;
	t->n_direct = cpu ? COUNT(direct_cpu) : COUNT(direct_gpu);
	t->n_indirect = cpu ? COUNT(indirect_cpu) : COUNT(indirect_gpu);
	if (t->n_direct > (size_t)max)
		t->n_direct = (size_t)max;
	if (t->n_indirect > (size_t)max)
		t->n_indirect = (size_t)max;
}

/* Try every candidate of one kernel: ms[s][c] for shape s and candidate c. */
static void try_candidates(struct tuner *t, bool direct)
{
	size_t n = direct ? t->n_direct : t->n_indirect, c, s;
	char params[256], label[64];
	const char *what = "";

	for (c = 0; c < n; c++) {
		struct gemm_set set;
		double tmp[64];
		size_t ns = t->o->n_shapes;
		double *col = ns <= 64 ? tmp : malloc(ns * sizeof(double));
		int st;

		memset(&set, 0, sizeof(set));
		if (direct) {
			set.have_direct = true;
			memcpy(set.direct, t->direct[c], sizeof(set.direct));
			set.min_indirect = ALL_DIRECT;
			format_params(direct_names, set.direct, N_DIRECT, params, sizeof(params));
		} else {
			set.have_indirect = true;
			memcpy(set.indirect, t->indirect[c], sizeof(set.indirect));
			set.min_indirect = ALL_INDIRECT;
			format_params(indirect_names, set.indirect, N_INDIRECT, params,
				      sizeof(params));
		}
		snprintf(label, sizeof(label), "%s %zu/%zu", direct ? "XgemmDirect" : "Xgemm",
			 c + 1, n);
		say(t, "%s: %s", label, params);
		st = col ? apply_set(t->cl, &set, &what) : CLBlastSuccess;
		if (!col || st != CLBlastSuccess) {
			if (col)
				say(t, "  %s: CLBlast refused it (%s): skipped", label,
				    tr_clblast_errname(st));
			for (s = 0; s < ns; s++)
				(direct ? t->res[s].direct_ms : t->res[s].indirect_ms)[c] = INFINITY;
		} else {
			measure_all(t, col, 1, label);
			for (s = 0; s < ns; s++)
				(direct ? t->res[s].direct_ms : t->res[s].indirect_ms)[c] = col[s];
		}
		if (col != tmp)
			free(col);
	}
}

int tr_cl_tune(tr_backend *be, const tr_tune_options *o, tr_error *err)
{
	struct tuner t;
	struct cache_key k;
	struct gemm_set best;
	size_t d[4] = { 0, 0, 0, 0 }, i = 0, T = 0, s;
	int c;
	double w_def, w_best, w_tuned, *col = NULL;
	char path[1024];
	const char *what = "";
	int rc, st;

	memset(&t, 0, sizeof(t));
	memset(&best, 0, sizeof(best));
	t.be = be;
	t.cl = tr_cl_of(be);
	t.o = o;
	key_of(t.cl->platform, t.cl->device, &k);
	if (!cache_path(&k, path, sizeof(path)))
		return tr_fail(err, TR_ERR_USAGE, "tune: the tuning cache is turned off ("
			       CACHE_ENV "=off): nowhere to keep the result");
	pick_pools(&t);
	if ((rc = tuner_setup(&t, err)))
		goto out;
	col = malloc(o->n_shapes * sizeof(double));
	if (!col) {
		rc = tr_fail(err, TR_ERR_INTERNAL, "tune: out of host memory");
		goto out;
	}
	say(&t, "%zu shapes, %zu XgemmDirect and %zu Xgemm candidates; each new parameter "
	    "set builds an OpenCL program (slow on PoCL the first time)", o->n_shapes,
	    t.n_direct, t.n_indirect);
	say(&t, "CLBlast's defaults:");
	w_def = measure_all(&t, col, 1, "defaults");
	for (s = 0; s < o->n_shapes; s++)
		t.res[s].def_ms = col[s];
	try_candidates(&t, true);
	try_candidates(&t, false);
	w_best = choose(&t, d, &i, &T);
	if (!isfinite(w_best) || !(w_best < w_def)) {
		/* Nothing beat the defaults. They cannot be restored in this process, but a
		 * cache with no overrides keeps them in every later one. */
		say(&t, "no candidate beat CLBlast's defaults (%.2f ms per step)", w_def);
		w_tuned = w_def;
		for (s = 0; s < o->n_shapes; s++)
			t.res[s].tuned_ms = t.res[s].def_ms;
	} else {
		best.have_direct = true;
		memcpy(best.direct, t.direct[d[0]], sizeof(best.direct));
		for (c = 0; c < 4; c++) {
			memcpy(best.direct_t[c], t.direct[d[c]], sizeof(best.direct_t[c]));
			if (d[c] != d[0])
				best.by_trans = true;
		}
		if (i < t.n_indirect) {
			best.have_indirect = true;
			memcpy(best.indirect, t.indirect[i], sizeof(best.indirect));
		}
		best.min_indirect = T;
		st = apply_set(t.cl, &best, &what);
		if (st != CLBlastSuccess) {
			rc = tr_fail(err, TR_ERR_DEVICE, "tune: CLBlast refused the chosen %s "
				     "parameters: %s", what, tr_clblast_errname(st));
			goto out;
		}
		install_by_trans(t.cl, &best);
		t.chosen = &best;
		say(&t, "the combination (check and final timing; it builds its programs once):");
		w_tuned = measure_all(&t, col, 1, "chosen");
		t.chosen = NULL;
		if (!isfinite(w_tuned)) {
			rc = tr_fail(err, TR_ERR_DEVICE, "tune: the chosen combination failed its "
				     "check; nothing saved");
			goto out;
		}
		for (s = 0; s < o->n_shapes; s++)
			t.res[s].tuned_ms = col[s];
	}
	for (s = 0; s < o->n_shapes; s++) {
		const tr_tune_shape *x = &o->shapes[s];

		say(&t, "%-20s %5zux%-5zux%-5zu %s%s  %9.3f ms -> %9.3f ms  (%5.1f -> %5.1f "
		    "GFLOP/s)", x->what, x->m, x->n, x->k, x->trans_a ? "T" : "N",
		    x->trans_b ? "T" : "N", t.res[s].def_ms, t.res[s].tuned_ms,
		    flop(x) / (t.res[s].def_ms * 1e6), flop(x) / (t.res[s].tuned_ms * 1e6));
	}
	say(&t, "GEMMs per training step (weighted): %.2f ms with CLBlast's defaults, %.2f ms "
	    "tuned (%.2fx)", w_def, w_tuned, w_def / w_tuned);
	rc = save_cache(&t, &k, &best, w_def, w_tuned, path, err);
	if (rc == TR_OK) {
		describe_set(be, &best, path);
		say(&t, "saved %s", path);
	}
out:
	free(col);
	tuner_free(&t);
	return rc;
}
