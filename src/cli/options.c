/*
 * options.c - the option table, strict value parsing, and --help text.
 */
#include "options.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "trainer/experiment.h"
#include "trainer/verify.h"

#define ALL_RUNS (CLI_TRAIN | CLI_EXPERIMENT)

struct opt {
	const char *name;  /* long name without "--" */
	const char *arg;   /* value placeholder, or NULL for a flag */
	unsigned modes;    /* CLI_* bits */
	int (*set)(cli_options *o, const char *name, const char *value, tr_error *err);
	const char *def;   /* default, as shown by --help */
	const char *help;
};

/* ---- value parsers: strict, with the option's name in every message ---- */

/* An integer in [min, max]; `why` (may be "") is added to the out-of-range message. */
static int parse_long_why(const char *name, const char *v, long min, long max,
			  const char *why, long *out, tr_error *err)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(v, &end, 10);
	if (end == v || *end != '\0')
		return tr_fail(err, TR_ERR_USAGE, "--%s '%s': not an integer", name, v);
	if (errno == ERANGE || x < min || x > max)
		return tr_fail(err, TR_ERR_USAGE, "--%s '%s': must be between %ld and %ld%s",
			       name, v, min, max, why);
	*out = (long)x;
	return TR_OK;
}

static int parse_long(const char *name, const char *v, long min, long max, long *out,
		      tr_error *err)
{
	return parse_long_why(name, v, min, max, "", out, err);
}

static int parse_double(const char *name, const char *v, double min, double max,
			bool min_open, double *out, tr_error *err)
{
	char *end;
	double x;

	errno = 0;
	x = strtod(v, &end);
	if (end == v || *end != '\0')
		return tr_fail(err, TR_ERR_USAGE, "--%s '%s': not a number", name, v);
	if (errno == ERANGE && isfinite(x) && fabs(x) <= DBL_MIN)
		return tr_fail(err, TR_ERR_USAGE, "--%s '%s': too close to zero to be represented "
			       "(below %g); use %s", name, v, DBL_MIN,
			       min_open ? "a larger value" : "0 or a larger value");
	if (!isfinite(x) || errno == ERANGE)
		return tr_fail(err, TR_ERR_USAGE, "--%s '%s': must be a finite number", name, v);
	if (x < min || x > max || (min_open && x == min))
		return tr_fail(err, TR_ERR_USAGE, "--%s '%s': must be %s %g and at most %g",
			       name, v, min_open ? "greater than" : "at least", min, max);
	*out = x;
	return TR_OK;
}

static int copy_str(const char *name, const char *v, char *dst, size_t cap, tr_error *err)
{
	if (!*v)
		return tr_fail(err, TR_ERR_USAGE, "--%s: empty value", name);
	if (strlen(v) >= cap)
		return tr_fail(err, TR_ERR_USAGE, "--%s: value longer than %zu characters",
			       name, cap - 1);
	memcpy(dst, v, strlen(v) + 1);
	return TR_OK;
}

/* ---- setters, one per option ---- */

static int set_device(cli_options *o, const char *n, const char *v, tr_error *err)
{
	return copy_str(n, v, o->device, sizeof(o->device), err);
}

static int set_threads(cli_options *o, const char *n, const char *v, tr_error *err)
{
	long x;
	int rc = parse_long(n, v, 0, 1024, &x, err);

	o->threads = (int)x;
	return rc;
}

static int set_data(cli_options *o, const char *n, const char *v, tr_error *err)
{
	return copy_str(n, v, o->data_dir, sizeof(o->data_dir), err);
}

static int set_val_size(cli_options *o, const char *n, const char *v, tr_error *err)
{
	long x;
	int rc = parse_long(n, v, 0, 100000000, &x, err);

	o->val_size = (size_t)x;
	return rc;
}

static int set_layers(cli_options *o, const char *n, const char *v, tr_error *err)
{
	return tr_layout_parse(v, &o->cfg.layout, err);
}

static int set_init(cli_options *o, const char *n, const char *v, tr_error *err)
{
	return tr_init_parse(v, &o->cfg.init, err);
}

static int set_seed(cli_options *o, const char *n, const char *v, tr_error *err)
{
	long x;
	int rc = parse_long_why(n, v, 0, CLI_SEED_MAX, " (2^53, the largest integer that "
				"summary.json records exactly)", &x, err);

	if (rc == TR_OK)
		o->cfg.seed = (uint64_t)x;
	return rc;
}

static int set_lr(cli_options *o, const char *n, const char *v, tr_error *err)
{
	return parse_double(n, v, 0.0, 1e3, true, &o->cfg.lr, err);
}

static int set_l2(cli_options *o, const char *n, const char *v, tr_error *err)
{
	return parse_double(n, v, 0.0, 1e3, false, &o->cfg.l2, err);
}

static int set_l2_scope(cli_options *o, const char *n, const char *v, tr_error *err)
{
	if (!strcmp(v, "all"))
		o->cfg.l2_scope = TR_L2_ALL;
	else if (!strcmp(v, "weights"))
		o->cfg.l2_scope = TR_L2_WEIGHTS;
	else
		return tr_fail(err, TR_ERR_USAGE, "--%s '%s': use all or weights", n, v);
	return TR_OK;
}

static int set_batch(cli_options *o, const char *n, const char *v, tr_error *err)
{
	long x;
	int rc = parse_long(n, v, 1, 65536, &x, err);

	o->cfg.batch = (size_t)x;
	return rc;
}

static int set_iters(cli_options *o, const char *n, const char *v, tr_error *err)
{
	return parse_long(n, v, 1, 1000000000L, &o->cfg.iters, err);
}

static int set_eval_every(cli_options *o, const char *n, const char *v, tr_error *err)
{
	return parse_long(n, v, 1, 1000000000L, &o->cfg.eval_every, err);
}

static int set_no_shuffle(cli_options *o, const char *n, const char *v, tr_error *err)
{
	o->cfg.shuffle = false;
	return TR_OK;
}

static int set_out(cli_options *o, const char *n, const char *v, tr_error *err)
{
	return copy_str(n, v, o->out_dir, sizeof(o->out_dir), err);
}

static int set_force(cli_options *o, const char *n, const char *v, tr_error *err)
{
	o->force = true;
	return TR_OK;
}

static int set_init_weights(cli_options *o, const char *n, const char *v, tr_error *err)
{
	return copy_str(n, v, o->init_weights, sizeof(o->init_weights), err);
}

int cli_parse_checkpoint_every(const char *v, cli_checkpoint_every *out, tr_error *err)
{
	static const struct { char unit; long seconds; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 },
	};
	cli_checkpoint_every c = { .kind = CLI_CKPT_ITERS };
	size_t len = strlen(v), i;
	char digits[24];
	tr_error e;

	if (!strcmp(v, "off")) {
		c.kind = CLI_CKPT_OFF;
	} else if (len > 0 && len < sizeof(digits) && strchr("smh", v[len - 1])) {
		memcpy(digits, v, len - 1);
		digits[len - 1] = '\0';
		for (i = 0; units[i].unit != v[len - 1]; i++)
			;
		c.kind = CLI_CKPT_SECONDS;
		if (!*digits || parse_long("checkpoint-every", digits, 1,
					   1000000000L / units[i].seconds, &c.every, &e))
			goto bad;
		c.every *= units[i].seconds;
	} else if (parse_long("checkpoint-every", v, 1, 1000000000L, &c.every, &e)) {
		goto bad;
	}
	if (len >= sizeof(c.text))
		goto bad;
	memcpy(c.text, v, len + 1);
	*out = c;
	return TR_OK;
bad:
	return tr_fail(err, TR_ERR_USAGE, "--checkpoint-every '%s': use a number of iterations "
		       "(1 to 1000000000), a duration of training such as 30s, 5m or 1h, or off",
		       v);
}

static int set_checkpoint_every(cli_options *o, const char *n, const char *v, tr_error *err)
{
	return cli_parse_checkpoint_every(v, &o->checkpoint_every, err);
}

static int set_resume(cli_options *o, const char *n, const char *v, tr_error *err)
{
	return copy_str(n, v, o->resume, sizeof(o->resume), err);
}

static int set_quiet(cli_options *o, const char *n, const char *v, tr_error *err)
{
	o->quiet = true;
	return TR_OK;
}

static int set_list_devices(cli_options *o, const char *n, const char *v, tr_error *err)
{
	o->list_devices = true;
	return TR_OK;
}

static int set_help(cli_options *o, const char *n, const char *v, tr_error *err)
{
	o->help = true;
	return TR_OK;
}

static int set_version(cli_options *o, const char *n, const char *v, tr_error *err)
{
	o->version = true;
	return TR_OK;
}

static int set_preset(cli_options *o, const char *n, const char *v, tr_error *err)
{
	int rc = tr_exp_preset_check(v, err);

	return rc ? rc : copy_str(n, v, o->preset, sizeof(o->preset), err);
}

/* --seeds N (that many seeds, from --seed on) or --seeds 1,2,5 (exactly those). */
static int set_seeds(cli_options *o, const char *n, const char *v, tr_error *err)
{
	char item[32];
	const char *p = v;
	size_t k;
	long x;
	int rc;

	o->n_seeds = 0;
	o->seeds_count = strchr(v, ',') == NULL;
	if (o->seeds_count) {
		if ((rc = parse_long(n, v, 1, TR_EXP_MAX_SEEDS, &x, err)))
			return rc;
		o->n_seeds = (size_t)x;
		return TR_OK;
	}
	for (;;) {
		size_t len = strcspn(p, ",");

		if (len == 0 || len >= sizeof(item))
			return tr_fail(err, TR_ERR_USAGE, "--%s '%s': a count, or seeds separated "
				       "by commas (1,2,5)", n, v);
		if (o->n_seeds == TR_EXP_MAX_SEEDS)
			return tr_fail(err, TR_ERR_USAGE, "--%s '%s': at most %d seeds", n, v,
				       TR_EXP_MAX_SEEDS);
		memcpy(item, p, len);
		item[len] = '\0';
		if ((rc = parse_long_why(n, item, 0, CLI_SEED_MAX, " (2^53, the largest integer "
					 "that summary.json records exactly)", &x, err)))
			return rc;
		for (k = 0; k < o->n_seeds; k++)
			if (o->seeds[k] == (uint64_t)x)
				return tr_fail(err, TR_ERR_USAGE, "--%s '%s': seed %ld twice", n, v, x);
		o->seeds[o->n_seeds++] = (uint64_t)x;
		if (!p[len])
			break;
		p += len + 1;
	}
	return TR_OK;
}

static int set_jobs(cli_options *o, const char *n, const char *v, tr_error *err)
{
	long x;
	int rc = parse_long(n, v, 1, 16, &x, err);

	o->jobs = (int)x;
	return rc;
}

static int set_emit_jobs(cli_options *o, const char *n, const char *v, tr_error *err)
{
	return copy_str(n, v, o->emit_jobs, sizeof(o->emit_jobs), err);
}

static int set_backends(cli_options *o, const char *n, const char *v, tr_error *err)
{
	return copy_str(n, v, o->backends, sizeof(o->backends), err);
}

static int set_json(cli_options *o, const char *n, const char *v, tr_error *err)
{
	o->json = true;
	return TR_OK;
}

static int set_json_path(cli_options *o, const char *n, const char *v, tr_error *err)
{
	return copy_str(n, v, o->json_path, sizeof(o->json_path), err);
}

static int set_ops(cli_options *o, const char *n, const char *v, tr_error *err)
{
	int rc = strcmp(v, "list") ? tr_verify_ops_check(v, err) : TR_OK;

	return rc ? rc : copy_str(n, v, o->ops, sizeof(o->ops), err);
}

static int set_quick(cli_options *o, const char *n, const char *v, tr_error *err)
{
	o->quick = true;
	return TR_OK;
}

static int set_candidates(cli_options *o, const char *n, const char *v, tr_error *err)
{
	long x;
	int rc = parse_long(n, v, 1, 1000, &x, err);

	o->candidates = (int)x;
	return rc;
}

static const struct opt options[] = {
	{ "device", "NAME", ALL_RUNS | CLI_BENCH | CLI_TUNE, set_device, "auto",
	  "auto (an OpenCL GPU, else cpu), cpu, cpu-ref, gpu:N, cl:N (see --list-devices)" },
	{ "device", "NAME", CLI_VERIFY, set_device, "auto",
	  "the device to check: auto, cpu, gpu:N, cl:N, or all (every device but cpu-ref)" },
	{ "threads", "N", ALL_RUNS | CLI_BENCH | CLI_VERIFY, set_threads, "0",
	  "CPU threads for the cpu backend; 0 = all cores" },
	{ "data", "DIR", ALL_RUNS | CLI_BENCH, set_data, "data/mnist",
	  "directory with the four IDX files, plain or .gz ($TRAINER_DATA_DIR also works)" },
	{ "val-size", "N", ALL_RUNS, set_val_size, "5000",
	  "validation = the first N training images; training = the rest" },
	{ "layers", "LIST", ALL_RUNS | CLI_BENCH | CLI_TUNE | CLI_VERIFY, set_layers, "784,1500,1000,500,10",
	  "layer sizes: input, hidden ReLU layers..., classes" },
	{ "init", "NAME", ALL_RUNS, set_init, "uniform01",
	  "initialisation: uniform01 (the seed's [0,1)), he, xavier" },
	{ "seed", "N", ALL_RUNS, set_seed, "1",
	  "seed of the PRNG for initialisation and shuffling" },
	{ "lr", "X", ALL_RUNS, set_lr, "0.005", "Adam learning rate" },
	{ "l2", "LAMBDA", ALL_RUNS, set_l2, "0.0005",
	  "L2 regularisation strength; 0 turns it off" },
	{ "l2-scope", "SCOPE", ALL_RUNS, set_l2_scope, "all",
	  "what L2 covers: all (weights and biases, as the seed) or weights" },
	{ "batch", "N", ALL_RUNS | CLI_BENCH | CLI_TUNE | CLI_VERIFY, set_batch, "64",
	  "batch size" },
	{ "iters", "N", ALL_RUNS | CLI_BENCH, set_iters, "30000", "training iterations" },
	{ "eval-every", "N", ALL_RUNS, set_eval_every, "100",
	  "evaluate (metrics.csv row) every N iterations" },
	{ "no-shuffle", NULL, ALL_RUNS, set_no_shuffle, "off",
	  "batch k = training examples (k*B + j) mod N, for exact reproduction" },
	{ "out", "DIR", ALL_RUNS, set_out, "runs/run-<date>-<time>",
	  "output directory (must not exist or be empty, unless --force)" },
	{ "force", NULL, ALL_RUNS, set_force, "off",
	  "write into an existing non-empty output directory" },
	{ "init-weights", "DIR", CLI_TRAIN, set_init_weights, "none",
	  "start from w1.npy..wL.npy, b1.npy..bL.npy in DIR instead of --init" },
	{ "checkpoint-every", "WHEN", ALL_RUNS, set_checkpoint_every, "5m",
	  "write checkpoint.bin every N iterations (500), every so much training time "
	  "(30s, 5m, 1h), or off; also at the end of the run and on Ctrl-C (unless off)" },
	{ "resume", "RUN_DIR", CLI_TRAIN, set_resume, "none",
	  "continue the run in RUN_DIR from its checkpoint.bin (its settings are kept)" },
	{ "preset", "NAME", CLI_EXPERIMENT, set_preset, "seed",
	  "seed (lr 0.0001, 0.005 with L2; 0.005 without), full (+ lr 0.05, 0.00005), "
	  "quick (seed's runs, 2000 iterations); it sets the runs' lr and lambda, --iters and "
	  "--eval-every, and any option given applies to every run (docs/EXPERIMENT.md)" },
	{ "seeds", "N|LIST", CLI_EXPERIMENT, set_seeds, "1",
	  "train every configuration with N seeds (--seed, --seed + 1, ...) or with the "
	  "seeds listed (1,2,5); the report gives their mean, spread and agreement" },
	{ "jobs", "N", CLI_EXPERIMENT, set_jobs, "1",
	  "runs at once (on cpu, without --threads, the cores are shared among them)" },
	{ "emit-jobs", "FILE", CLI_EXPERIMENT, set_emit_jobs, "none",
	  "write one shell command per run to FILE (for GNU parallel, Slurm) and exit" },
	{ "backends", "LIST", CLI_BENCH, set_backends, "every device but cpu-ref",
	  "devices to measure, e.g. cpu,cpu-ref,cl:0 (cpu-ref runs 3 steps unless --iters)" },
	{ "json", NULL, CLI_BENCH, set_json, "off", "print the results as JSON" },
	{ "json", "FILE", CLI_VERIFY, set_json_path, "none",
	  "also write the report as JSON to FILE (atomically)" },
	{ "quick", NULL, CLI_VERIFY, set_quick, "off",
	  "small shapes only and a shorter trajectory (seconds)" },
	{ "ops", "LIST", CLI_VERIFY, set_ops, "all",
	  "only these checks, e.g. softmax_xent,adam_l2, or all but some: -gemm,-trajectory; "
	  "'list' prints their names" },
	{ "candidates", "N", CLI_TUNE, set_candidates, "2",
	  "try at most N parameter sets per CLBlast kernel (a quick tune)" },
	{ "quiet", NULL, ALL_RUNS | CLI_BENCH | CLI_TUNE, set_quiet, "off", "no progress output" },
	{ "quiet", NULL, CLI_VERIFY, set_quiet, "off",
	  "print only the failed checks and the verdict" },
	{ "list-devices", NULL, CLI_TRAIN, set_list_devices, NULL,
	  "list the devices and backends this build can use, then exit" },
	{ "help", NULL, ~0u, set_help, NULL, "show this help and exit" },
	{ "version", NULL, CLI_TRAIN, set_version, NULL, "show the version and exit" },
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

void cli_options_default(cli_options *o)
{
	memset(o, 0, sizeof(*o));
	tr_train_config_default(&o->cfg);
	snprintf(o->device, sizeof(o->device), "auto");
	o->val_size = 5000;
	snprintf(o->preset, sizeof(o->preset), "seed");
	o->jobs = 1;
	o->checkpoint_every.kind = CLI_CKPT_SECONDS;
	o->checkpoint_every.every = 300;
	snprintf(o->checkpoint_every.text, sizeof(o->checkpoint_every.text), "5m");
}

/* The option of that name for a subcommand in `modes`, else the first of that name
 * (an option may have one entry per subcommand, with its own value and help). */
static const struct opt *find(const char *name, size_t len, unsigned modes)
{
	const struct opt *any = NULL;
	size_t i;

	for (i = 0; i < N_OPTIONS; i++) {
		if (strlen(options[i].name) != len || strncmp(options[i].name, name, len))
			continue;
		if (options[i].modes & modes)
			return &options[i];
		if (!any)
			any = &options[i];
	}
	return any;
}

bool cli_given(const cli_options *o, const char *name)
{
	size_t i;

	for (i = 0; i < N_OPTIONS; i++)
		if (!strcmp(options[i].name, name) && o->given[i])
			return true;
	return false;
}

int cli_parse(int argc, char **argv, int first, unsigned mode, cli_options *o,
	      tr_error *err)
{
	int i;

	for (i = first; i < argc; i++) {
		const char *a = argv[i], *eq, *value = NULL;
		const struct opt *op;
		size_t len;
		int rc;

		if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
			return tr_fail(err, TR_ERR_USAGE,
				       "unexpected argument '%s'; options start with -- (see --help)", a);
		a += 2;
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a) : strlen(a);
		op = find(a, len, mode);
		if (!op || !(op->modes & mode))
			return tr_fail(err, TR_ERR_USAGE, "unknown option '--%.*s'%s (see --help)",
				       (int)len, a, op ? " for this command" : "");
		if (op->arg) {
			if (eq)
				value = eq + 1;
			else if (i + 1 < argc)
				value = argv[++i];
			else
				return tr_fail(err, TR_ERR_USAGE, "--%s needs a value (%s)",
					       op->name, op->arg);
		} else if (eq) {
			return tr_fail(err, TR_ERR_USAGE, "--%s takes no value", op->name);
		}
		rc = op->set(o, op->name, value, err);
		if (rc)
			return rc;
		o->given[op - options] = 1;
	}
	return TR_OK;
}

void cli_print_options(FILE *f, unsigned mode)
{
	size_t i;

	for (i = 0; i < N_OPTIONS; i++) {
		const struct opt *op = &options[i];
		char left[64];

		if (!(op->modes & mode))
			continue;
		snprintf(left, sizeof(left), "--%s%s%s", op->name, op->arg ? " " : "",
			 op->arg ? op->arg : "");
		fprintf(f, "  %-24s %s", left, op->help);
		if (op->def)
			fprintf(f, " [default: %s]", op->def);
		fputc('\n', f);
	}
}

static bool has_mnist(const char *dir)
{
	char probe[CLI_PATH_MAX + 64];
	struct stat st;

	snprintf(probe, sizeof(probe), "%s/train-images-idx3-ubyte", dir);
	if (stat(probe, &st) == 0)
		return true;
	snprintf(probe, sizeof(probe), "%s/train-images-idx3-ubyte.gz", dir);
	return stat(probe, &st) == 0;
}

void cli_default_out_dir(const char *kind, char *buf, size_t cap)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	snprintf(buf, cap, "runs/%s-%s", kind, stamp);
}

void cli_default_data_dir(const cli_options *o, char *buf, size_t cap)
{
	const char *env = getenv("TRAINER_DATA_DIR");

	if (o->data_dir[0])
		snprintf(buf, cap, "%s", o->data_dir);
	else if (env && *env)
		snprintf(buf, cap, "%s", env);
	else if (has_mnist("data/mnist") || !has_mnist(TRAINER_SOURCE_DIR "/data/mnist"))
		snprintf(buf, cap, "data/mnist");
	else
		snprintf(buf, cap, "%s", TRAINER_SOURCE_DIR "/data/mnist");
}
