/*
 * experiment_plan.c - what an experiment will do: the preset with the user's options
 * and paths, one job per run, what each run directory already holds, the experiment's
 * marker file (experiment.json), and --emit-jobs (experiment_impl.h).
 */
#include "experiment_impl.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trainer/dir_lock.h"
#include "trainer/fs.h"

static int absolute(const char *path, char *buf, size_t cap, const char *flag, tr_error *err)
{
	char cwd[PATH_MAX];

	if (path[0] == '/') {
		snprintf(buf, cap, "%s", path);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return tr_fail(err, TR_ERR_OUTPUT, "cannot tell the current directory: %s",
				       strerror(errno));
		if ((size_t)snprintf(buf, cap, "%s/%s", cwd, path) >= cap)
			return tr_fail(err, TR_ERR_USAGE, "%s: path too long", flag);
	}
	return TR_OK;
}

/* The seeds: --seeds LIST, or --seeds N from --seed on, or --seed alone. */
static int plan_seeds(const cli_options *o, struct exp_plan *p, tr_error *err)
{
	size_t k;

	if (o->n_seeds && !o->seeds_count) {
		if (cli_given(o, "seed"))
			return tr_fail(err, TR_ERR_USAGE, "--seed and --seeds with a list: give "
				       "the seeds in the list only (or --seed S --seeds N for N "
				       "seeds from S on)");
		memcpy(p->seeds, o->seeds, o->n_seeds * sizeof(p->seeds[0]));
		p->n_seeds = o->n_seeds;
		return TR_OK;
	}
	p->n_seeds = o->n_seeds ? o->n_seeds : 1;
	if (o->cfg.seed + p->n_seeds - 1 > (uint64_t)CLI_SEED_MAX)
		return tr_fail(err, TR_ERR_USAGE, "--seed %llu --seeds %zu: the seeds would go past "
			       "%lld (2^53, the largest that summary.json records exactly)",
			       (unsigned long long)o->cfg.seed, p->n_seeds, CLI_SEED_MAX);
	for (k = 0; k < p->n_seeds; k++)
		p->seeds[k] = o->cfg.seed + k;
	return TR_OK;
}

int exp_make_plan(const cli_options *o, struct exp_plan *p, tr_error *err)
{
	tr_exp_run configs[TR_EXP_MAX_CONFIGS], *runs = NULL;
	char out[CLI_PATH_MAX], data[CLI_PATH_MAX];
	double l2 = cli_given(o, "l2") ? o->cfg.l2 : TR_EXP_LAMBDA;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	ssize_t len;
	size_t i;
	int rc;

	memset(p, 0, sizeof(*p));
	p->preset = tr_exp_preset_find(o->preset);
	if (!p->preset)
		return tr_exp_preset_check(o->preset, err);
	p->cfg = o->cfg;
	if (!cli_given(o, "iters"))
		p->cfg.iters = p->preset->iters;
	if (!cli_given(o, "eval-every"))
		p->cfg.eval_every = p->preset->eval_every;
	p->threads = o->threads;
	if (!cli_given(o, "threads") && o->jobs > 1)
		p->threads = cores > o->jobs ? (int)(cores / o->jobs) : 1;
	if (o->out_dir[0])
		snprintf(out, sizeof(out), "%s", o->out_dir);
	else
		cli_default_out_dir("experiment", out, sizeof(out));
	cli_default_data_dir(o, data, sizeof(data));
	if ((rc = absolute(out, p->out, sizeof(p->out), "--out", err)) ||
	    (rc = absolute(data, p->data, sizeof(p->data), "--data", err)) ||
	    (rc = plan_seeds(o, p, err)))
		return rc;
	len = readlink(EXP_SELF_EXE, p->exe, sizeof(p->exe) - 1);
	if (len <= 0)
		return tr_fail(err, TR_ERR_INTERNAL, "cannot find this executable (%s): %s",
			       EXP_SELF_EXE, strerror(errno));
	p->exe[len] = '\0';
	p->n_configs = tr_exp_preset_runs(p->preset, cli_given(o, "lr") ? o->cfg.lr : 0, l2,
					  configs);
	runs = malloc(TR_EXP_MAX_RUNS * sizeof(*runs));
	if (!runs)
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	p->n_jobs = tr_exp_with_seeds(configs, p->n_configs, p->seeds, p->n_seeds, runs);
	for (i = 0; i < p->n_jobs; i++) {
		struct exp_job *j = &p->jobs[i];

		j->run = runs[i];
		j->code = -1;
		if (snprintf(j->dir, sizeof(j->dir), "%s/%s", p->out, runs[i].name) >=
		    (int)sizeof(j->dir) ||
		    snprintf(j->log, sizeof(j->log), "%s/logs/%s.log", p->out, runs[i].name) >=
		    (int)sizeof(j->log)) {
			free(runs);
			return tr_fail(err, TR_ERR_USAGE, "--out %s: path too long", p->out);
		}
	}
	free(runs);
	return TR_OK;
}

int exp_emit_jobs(struct exp_plan *p, const cli_options *o, tr_error *err)
{
	tr_atomic_file af;
	char line[EXP_ARG_MEM * 2];
	size_t i;
	int rc;

	if ((rc = tr_atomic_open(&af, o->emit_jobs, err)))
		return tr_error_prefix(err, "--emit-jobs");
	for (i = 0; i < p->n_jobs; i++) {
		struct exp_job *j = &p->jobs[i];

		j->action = o->force ? TR_EXP_RERUN : TR_EXP_NEW;
		exp_job_args(p, o, j);
		if (j->args.overflow) {
			tr_atomic_abort(&af);
			return tr_fail(err, TR_ERR_USAGE, "command line too long for a job file");
		}
		if ((rc = exp_shell_line(&j->args, line, sizeof(line), err))) {
			tr_atomic_abort(&af);
			return rc;
		}
		fprintf(af.fp, "%s\n", line);
	}
	if ((rc = tr_atomic_commit(&af, err)))
		return rc;
	if (!o->quiet) {
		printf("wrote %zu command%s to %s (one run each; run them in any order, e.g. "
		       "with GNU parallel or a Slurm array)\n", p->n_jobs, p->n_jobs == 1 ? "" : "s",
		       o->emit_jobs);
		printf("then: %s report %s\n", p->exe, p->out);
	}
	return TR_OK;
}

int exp_check_out_dir(const struct exp_plan *p, const cli_options *o, tr_error *err)
{
	char marker[PATH_MAX + 32];
	struct stat st;

	if (stat(p->out, &st) != 0)
		return TR_OK;
	if (!S_ISDIR(st.st_mode))
		return tr_fail(err, TR_ERR_USAGE, "--out %s: exists and is not a directory", p->out);
	snprintf(marker, sizeof(marker), "%s/experiment.json", p->out);
	if (o->force || stat(marker, &st) == 0)
		return TR_OK;
	/* Not ours: the output-directory check of `trainer train` says what to do. */
	return tr_check_output_dir(p->out, false, "--out", err);
}

int exp_decide_actions(struct exp_plan *p, const cli_options *o, tr_error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < p->n_jobs; i++) {
		struct exp_job *j = &p->jobs[i];
		tr_train_config want = p->cfg;
		pid_t holder;

		/* A trainer still at work there (say, of an experiment that was killed):
		 * never share a run directory with it. */
		if (tr_dir_lock_held(j->dir, &holder))
			return tr_fail(err, TR_ERR_USAGE, "%s is in use by another trainer "
				       "(process %ld), perhaps a run of an earlier experiment that "
				       "is still going: wait until it ends or stop it (kill %ld)",
				       j->dir, (long)holder, (long)holder);
		want.lr = j->run.lr;
		want.l2 = j->run.l2;
		want.seed = j->run.seed;
		rc = tr_exp_run_state_read(j->dir, &want, o->val_size, &j->before, err);
		if (rc && !o->force)
			return tr_error_prefix(err, "%s (use --force to train it again)", j->run.name);
		tr_error_clear(err);
		j->action = tr_exp_decide(&j->before, p->cfg.iters, o->force);
		if (j->action == TR_EXP_CONFLICT) {
			char why[256];

			if (j->before.mismatch[0])
				snprintf(why, sizeof(why), "%s", j->before.mismatch);
			else
				snprintf(why, sizeof(why), "%ld iterations done, here %ld",
					 j->before.iterations_done, p->cfg.iters);
			return tr_fail(err, TR_ERR_USAGE,
				       "%s holds a run with other settings (%s): choose another "
				       "--out, or pass --force to train every run again", j->dir, why);
		}
		exp_job_args(p, o, j);
		if (j->args.overflow)
			return tr_fail(err, TR_ERR_USAGE, "%s: command line too long", j->run.name);
	}
	return TR_OK;
}

int exp_write_marker(const struct exp_plan *p, const cli_options *o, tr_error *err)
{
	cJSON *root = cJSON_CreateObject(), *runs, *seeds;
	char path[PATH_MAX + 32], line[EXP_ARG_MEM * 2], config[TR_EXP_NAME_MAX];
	size_t i;
	int rc = TR_OK;

	if (!root)
		return tr_fail(err, TR_ERR_INTERNAL, "out of host memory");
	cJSON_AddStringToObject(root, "trainer_version", TRAINER_VERSION);
	cJSON_AddStringToObject(root, "preset", p->preset->name);
	tr_json_add_integer(root, "iters", p->cfg.iters);
	cJSON_AddNumberToObject(root, "jobs", o->jobs);
	seeds = cJSON_AddArrayToObject(root, "seeds");
	for (i = 0; i < p->n_seeds; i++)
		cJSON_AddItemToArray(seeds, tr_json_integer(p->seeds[i]));
	runs = cJSON_AddArrayToObject(root, "runs");
	for (i = 0; i < p->n_jobs && !rc; i++) {
		const struct exp_job *j = &p->jobs[i];
		cJSON *r = cJSON_CreateObject();

		tr_exp_config_name(j->run.name, config, sizeof(config));
		cJSON_AddStringToObject(r, "name", j->run.name);
		cJSON_AddStringToObject(r, "config", config);
		tr_json_add_integer(r, "seed", j->run.seed);
		cJSON_AddNumberToObject(r, "lr", j->run.lr);
		cJSON_AddNumberToObject(r, "l2", j->run.l2);
		cJSON_AddStringToObject(r, "action", tr_exp_action_name(j->action));
		if (!(rc = exp_shell_line(&j->args, line, sizeof(line), err)))
			cJSON_AddStringToObject(r, "command", line);
		cJSON_AddItemToArray(runs, r);
	}
	snprintf(path, sizeof(path), "%s/experiment.json", p->out);
	if (!rc)
		rc = tr_json_write(path, root, err);
	cJSON_Delete(root);
	return rc;
}
