/*
 * opencl_tune_cache.c - the tuning cache on disk, and applying a parameter set to
 * CLBlast and to tr_cl_gemm (see opencl_tune.h for what can be set).
 *
 * The cache: one JSON file per device, named after a hash of its key (platform name
 * and version, device name, driver version, CLBlast version), under
 * $XDG_CACHE_HOME/trainer/ (default ~/.cache/trainer/). $TRAINER_CLBLAST_CACHE names
 * another file, or turns the cache off when "off". A file that cannot be parsed, has
 * another format, belongs to another key (a driver or CLBlast upgrade) or holds values
 * CLBlast refuses is ignored: the backend keeps CLBlast's defaults and says why in
 * be->warning, which the caller shows. The library prints nothing.
 */
#include "opencl_tune.h"

#include <clblast_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const tr_tune_direct_names[N_DIRECT] = {
	"KWID", "MDIMAD", "MDIMCD", "NDIMBD", "NDIMCD", "PADA", "PADB", "VWMD", "VWND", "WGD",
};
/* CLBlast 1.5's Xgemm; releases before 1.5 lack the first two (see apply_to_clblast). */
const char *const tr_tune_indirect_names[N_INDIRECT] = {
	"GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB", "NDIMC", "NWG",
	"SA", "SB", "STRM", "STRN", "VWM", "VWN",
};
const char *const tr_tune_routine_names[1] = { "XGEMM_MIN_INDIRECT_SIZE" };
const char *const tr_tune_trans_names[4] = { "NN", "TN", "NT", "TT" };

/* ---- applying ---- */

static int override(cl_device_id dev, const char *kernel, const char *const *names,
		    size_t n, const size_t *values)
{
	return tr_clblast_override(dev, kernel, n, names, values);
}

/* Hand the set to CLBlast; returns a CLBlastStatusCode (and which kernel in *what).
 * The GEMMs' temporary sizes depend on the parameters: they are asked again. */
static int apply_to_clblast(struct tr_cl *cl, const struct gemm_set *s, const char **what)
{
	cl_device_id dev = cl->device;
	int st = CLBlastSuccess;

	tr_cl_forget_temp_sizes(cl);
	if (s->have_direct) {
		*what = "XgemmDirect";
		st = override(dev, "XgemmDirect", tr_tune_direct_names, N_DIRECT, s->direct);
	}
	if (st == CLBlastSuccess && s->have_indirect) {
		*what = "Xgemm";
		st = override(dev, "Xgemm", tr_tune_indirect_names, N_INDIRECT, s->indirect);
		if (st == CLBlastMissingOverrideParameter) /* before 1.5: no GEMMK, KREG */
			st = override(dev, "Xgemm", tr_tune_indirect_names + 2, N_INDIRECT - 2,
				      s->indirect + 2);
	}
	if (st == CLBlastSuccess && s->min_indirect) {
		*what = "GemmRoutine";
		st = override(dev, "GemmRoutine", tr_tune_routine_names, 1, &s->min_indirect);
	}
	return st;
}


/* Hand per-transposition sets to tr_cl_gemm (the NN one, s->direct, is in force). */
static void install_by_trans(struct tr_cl *cl, const struct gemm_set *s)
{
	cl->gemm_by_trans = s->by_trans;
	memcpy(cl->gemm_direct, s->direct_t, sizeof(cl->gemm_direct));
	cl->gemm_trans_now = 0;
}

int tr_tune_apply(struct tr_cl *cl, const struct gemm_set *s, const char **what)
{
	int st = apply_to_clblast(cl, s, what);

	if (st == CLBlastSuccess)
		install_by_trans(cl, s);
	return st;
}

int tr_cl_gemm_select(struct tr_cl *cl, bool ta, bool tb)
{
	int c = tr_tune_trans_class(ta, tb), st;

	if (!cl->gemm_by_trans || c == cl->gemm_trans_now)
		return CLBlastSuccess;
	if (!memcmp(cl->gemm_direct[c], cl->gemm_direct[cl->gemm_trans_now],
		    sizeof(cl->gemm_direct[c]))) {
		cl->gemm_trans_now = c; /* the same set: nothing to change */
		return CLBlastSuccess;
	}
	st = override(cl->device, "XgemmDirect", tr_tune_direct_names, N_DIRECT, cl->gemm_direct[c]);
	if (st == CLBlastSuccess)
		cl->gemm_trans_now = c;
	return st;
}

void tr_tune_format_params(const char *const *names, const size_t *v, size_t n, char *buf,
			  size_t cap)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%s=%zu", i ? " " : "", names[i],
					v[i]);
}


/* ---- the cache file ---- */

void tr_tune_key_of(cl_platform_id platform, cl_device_id device, struct cache_key *k)
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

bool tr_tune_cache_path(const struct cache_key *k, char *buf, size_t cap)
{
	const char *env = getenv(TR_TUNE_CACHE_ENV), *xdg = getenv("XDG_CACHE_HOME");
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

cJSON *tr_tune_params_json(const char *const *names, const size_t *v, size_t n)
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
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, tr_tune_trans_names[c]);

		memcpy(s->direct_t[c], s->direct, sizeof(s->direct));
		if (x && !params_from_json(x, tr_tune_direct_names, N_DIRECT, s->direct_t[c]))
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
	else if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, TR_TUNE_CACHE_FORMAT) != 0)
		snprintf(why, cap, "not a tuning cache of this format (expected \"%s\")",
			 TR_TUNE_CACHE_FORMAT);
	else if (!cJSON_IsObject(key))
		snprintf(why, cap, "no device key");
	else if (!key_matches(key, k, &field))
		snprintf(why, cap, "stale: written for another %s", field);
	else if (!cJSON_IsNull(d) &&
		 !(s->have_direct = params_from_json(d, tr_tune_direct_names, N_DIRECT, s->direct)))
		snprintf(why, cap, "bad or missing XgemmDirect parameters");
	else if (!cJSON_IsNull(i) && !(s->have_indirect = params_from_json(
					       i, tr_tune_indirect_names, N_INDIRECT, s->indirect)))
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

void tr_tune_describe(tr_backend *be, const struct gemm_set *s, const char *path)
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

	tr_tune_key_of(cl->platform, cl->device, &k);
	if (skip) {
		snprintf(be->tuning, sizeof(be->tuning), "CLBlast: defaults (tuning cache not used)");
		return;
	}
	if (!tr_tune_cache_path(&k, path, sizeof(path))) {
		snprintf(be->tuning, sizeof(be->tuning),
			 "CLBlast: defaults (tuning cache off: " TR_TUNE_CACHE_ENV "=off)");
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
	st = tr_tune_apply(cl, &s, &what);
	if (st != CLBlastSuccess) {
		snprintf(be->tuning, sizeof(be->tuning), "CLBlast: defaults (tuning cache ignored)");
		snprintf(be->warning, sizeof(be->warning),
			 "ignoring the CLBlast tuning cache %.300s: CLBlast refused its %s "
			 "parameters (%s); run trainer tune to rebuild it", path, what,
			 tr_clblast_errname(st));
		return;
	}
	cl->tuned = true;
	tr_tune_describe(be, &s, path);
}

void tr_cl_tuning_status(cl_platform_id platform, cl_device_id device, char *buf,
			 size_t cap)
{
	struct cache_key k;
	struct gemm_set s;
	char path[1024], why[256];
	bool missing;
	char *text;

	tr_tune_key_of(platform, device, &k);
	if (!tr_tune_cache_path(&k, path, sizeof(path))) {
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


int tr_cl_expect_gemms(tr_backend *be, const tr_tune_shape *shapes, size_t n)
{
	struct tr_cl *cl = tr_cl_of(be);
	size_t i, T0 = 0, need = 0;
	double mnk;

	if (cl->tuned)
		return TR_OK; /* the cache's switch-over was measured: keep it */
	for (i = 0; i < n; i++) {
		mnk = (double)shapes[i].m * (double)shapes[i].n * (double)shapes[i].k;
		if (tr_tune_threshold_above(mnk) > need)
			need = tr_tune_threshold_above(mnk);
	}
	/* Where CLBlast's own switch-over already sends them all direct (NVIDIA's, PoCL's
	 * for the lab's network), or cannot be read, nothing changes. */
	if (tr_clblast_original(cl->device, "GemmRoutine", 1, tr_tune_routine_names, &T0) != 0 ||
	    T0 >= need)
		return TR_OK;
	if (override(cl->device, "GemmRoutine", tr_tune_routine_names, 1, &need) !=
	    CLBlastSuccess)
		return TR_OK; /* CLBlast's routing still works, with more launches */
	tr_cl_forget_temp_sizes(cl);
	snprintf(be->tuning, sizeof(be->tuning), "CLBlast: defaults, the training step's GEMMs "
		 "on the direct kernel (switch-over %zu -> %zu; no tuning cache: run trainer "
		 "tune)", T0, need);
	return TR_OK;
}
